//! `presence`: every PubNub Presence REST operation from the shell (see the README).
#![forbid(unsafe_code)]

mod args;
mod color;
mod completions;
mod escape;
mod exit;
mod failure;
mod interrupt;
mod keep;
mod profiles;
mod report;
mod run;
mod state_arg;
mod table;
mod timing;
mod watch;

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

use crate::args::{Cli, ColorChoice, Command};
use crate::failure::Failure;
use crate::report::Report;

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    // Known before parsing, so that even usage errors come out as JSON when asked.
    let json = raw.iter().any(|a| a == "--json");
    let color = color::from_raw_args(&raw);
    let parsed = Cli::command()
        .color(color::for_clap(color))
        .try_get_matches_from(&raw)
        .and_then(|mut matches| Cli::from_arg_matches_mut(&mut matches));
    let mut cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e, json),
    };
    if cli.global.verbose {
        init_logging(cli.global.color);
    }
    // Commands that need no keys.
    match &cli.command {
        Command::Profiles | Command::Completions(_) => {
            return finish(run::command_without_client(cli.command), json, &[]);
        }
        _ => {}
    }
    if let Err(failure) = profiles::apply(&mut cli.global) {
        return report_failure(&failure, json);
    }
    let secrets = [
        cli.global.secret_key.clone().unwrap_or_default(),
        cli.global.auth_key.clone().unwrap_or_default(),
    ];
    let json = cli.global.json;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let outcome = run::client(&cli.global)
        .and_then(|client| run::command(&client, cli.command, json, &secrets));
    finish(outcome, json, &secrets)
}

/// Prints the report (or the failure) and picks the exit code.
fn finish(outcome: Result<Report, Failure>, json: bool, secrets: &[&str]) -> ExitCode {
    match outcome {
        Ok(Report::Streamed) => ExitCode::from(exit::OK),
        Ok(report) => {
            // Streamed: a large here now is never rendered whole in memory.
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            match report
                .write(json, &mut stdout)
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::from(exit::OK),
                Err(_) => ExitCode::from(exit::OTHER),
            }
        }
        Err(failure) => report_failure(&failure.scrub(secrets), json),
    }
}

/// Help and version go to stdout (exit 0); usage errors to stderr (exit 2).
fn clap_error(error: &clap::Error, json: bool) -> ExitCode {
    if !error.use_stderr() {
        let _ = error.print();
        return ExitCode::from(exit::OK);
    }
    if json {
        // The whole text (what is missing or wrong, the usage line, the hint), without the
        // leading `error: ` and without styling.
        let message = error.render().to_string();
        let message = message.trim().trim_start_matches("error: ");
        return report_failure(&Failure::usage(message), true);
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
/// stays at warnings. Coloured as `--color` says (by default only on a terminal).
fn init_logging(color: ColorChoice) {
    let filter =
        tracing_subscriber::EnvFilter::new("warn,presence_proto=debug,presence_blocking=debug");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color::stderr(color))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
