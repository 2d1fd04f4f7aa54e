//! `presence`: every PubNub Presence REST operation from the shell (see the README).
#![forbid(unsafe_code)]

mod args;
mod exit;
mod failure;
mod keep;
mod report;
mod run;
mod table;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::args::Cli;
use crate::failure::Failure;
use crate::report::Report;

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    // Known before parsing, so that even usage errors come out as JSON when asked.
    let json = raw.iter().any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e, json),
    };
    if cli.global.verbose {
        init_logging();
    }
    let secrets = [
        cli.global.secret_key.clone().unwrap_or_default(),
        cli.global.auth_key.clone().unwrap_or_default(),
    ];
    let json = cli.global.json;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let outcome = run::client(&cli.global)
        .and_then(|client| run::command(&client, cli.command, json, &secrets));
    match outcome {
        Ok(Report::Streamed) => ExitCode::from(exit::OK),
        Ok(report) => {
            let text = if json {
                format!("{}\n", report.json())
            } else {
                report.table()
            };
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::from(exit::OK),
                Err(_) => ExitCode::from(exit::OTHER),
            }
        }
        Err(failure) => report_failure(&failure.scrub(&secrets), json),
    }
}

/// Help and version go to stdout (exit 0); usage errors to stderr (exit 2).
fn clap_error(error: &clap::Error, json: bool) -> ExitCode {
    if !error.use_stderr() {
        let _ = error.print();
        return ExitCode::from(exit::OK);
    }
    if json {
        let message = error.render().to_string();
        let first = message
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        return report_failure(&Failure::usage(first), true);
    }
    let _ = error.print();
    ExitCode::from(exit::USAGE)
}

fn report_failure(failure: &Failure, json: bool) -> ExitCode {
    let _ = std::io::stderr().write_all(failure.render(json).as_bytes());
    ExitCode::from(failure.code)
}

/// `--verbose`: this program's and the client's debug events to stderr. The client logs the
/// path only, never the query (where the auth token and signature travel); ureq's own logging
/// stays at warnings.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::new("warn,presence_blocking=debug");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
