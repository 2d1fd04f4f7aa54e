//! `presence-emulator`: run the local PubNub Presence server from the command line.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use presence_emulator::{
    AccessManager, EmulatorBuilder, FaultRule, KeysetOptions, ManualClock, Permissions, TlsIdentity,
};
use tracing_subscriber::EnvFilter;

/// A local, in-memory PubNub Presence REST server (here now, where now, heartbeat, leave,
/// state, channel groups, presence events over subscribe). Point an SDK at it with ssl off and origin set to the listen
/// address. Any subscribe key works.
#[derive(Parser, Debug)]
#[command(name = "presence-emulator", version, about, long_about = None)]
struct Cli {
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(
        long,
        default_value = "127.0.0.1:8090",
        env = "PRESENCE_EMULATOR_LISTEN"
    )]
    listen: SocketAddr,

    /// Use a manual clock that only moves through `POST /_emulator/clock`.
    #[arg(long)]
    manual_clock: bool,

    /// Real duration of one second of `heartbeat=N`, in milliseconds (speeds up timeouts).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    timeout_unit_ms: u64,

    /// Smallest accepted presence timeout in seconds (smaller values are raised to it).
    #[arg(long, default_value_t = 1, value_name = "SECS")]
    min_presence_timeout: u32,

    /// Largest accepted presence timeout in seconds (larger values are lowered to it).
    #[arg(long, default_value_t = 86_400, value_name = "SECS")]
    max_presence_timeout: u32,

    /// Turn the admin API (`/_emulator/...`) off.
    #[arg(long)]
    no_admin: bool,

    /// Answer 402 to global here now (as on keysets where it is not enabled).
    #[arg(long)]
    no_global_here_now: bool,

    /// Answer 402 to every presence call (presence not enabled on the keyset).
    #[arg(long)]
    presence_disabled: bool,

    /// Require v2 request signatures made with this secret key.
    #[arg(
        long,
        env = "PRESENCE_EMULATOR_SECRET_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    secret_key: Option<String>,

    /// Publish key that goes into signed strings (with --secret-key).
    #[arg(long, value_name = "KEY")]
    publish_key: Option<String>,

    /// Enforce Access Manager with this grant; repeatable. Format
    /// `AUTH=channel:NAME:PERMS` or `AUTH=group:NAME:PERMS`, PERMS from `r`, `w`, `m`,
    /// NAME `*` for all. Example: `--grant alice=channel:lobby:r`.
    #[arg(long, value_name = "GRANT")]
    grant: Vec<String>,

    /// Load fault rules (a JSON rule or array of rules, format in the README) at start.
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,

    /// Close connections that take longer than this to send a request head (and new
    /// connections that send no complete head within it), in milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    header_read_timeout_ms: u64,

    /// Close keep-alive connections idle for this long, in seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    idle_timeout_secs: u64,

    /// Above this occupancy a channel is in interval mode (no single join/leave/timeout
    /// events, one `interval` event per --presence-interval instead).
    #[arg(long, default_value_t = 20, value_name = "N")]
    announce_max: usize,

    /// Seconds (of --timeout-unit-ms) between interval events.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    presence_interval: u32,

    /// Interval events carry `join`/`leave`/`timeout` arrays of the changes since the last.
    #[arg(long)]
    presence_deltas: bool,

    /// Interval payloads longer than this get `"here_now_refresh":true` instead of arrays.
    #[arg(long, default_value_t = 30_000, value_name = "BYTES")]
    here_now_refresh_bytes: usize,

    /// Seconds (of --timeout-unit-ms) a subscribe long-poll is held when nothing arrives.
    #[arg(long, default_value_t = 280, value_name = "SECS")]
    subscribe_hold_secs: u32,

    /// Log filter (tracing `EnvFilter` syntax); `RUST_LOG` wins when set.
    #[arg(long, default_value = "info", value_name = "FILTER")]
    log: String,

    /// When to colour the log: auto (on a terminal; honours NO_COLOR and CLICOLOR_FORCE),
    /// always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: Color,

    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,

    /// Serve HTTPS with a self-signed certificate made at start (for localhost and
    /// 127.0.0.1); its PEM is printed, or written to --tls-cert-out. Clients trust it with
    /// `--cacert` / `add_root_certificate`.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,

    /// Where to write the self-signed certificate (PEM) instead of printing it.
    #[arg(long, value_name = "FILE", requires = "tls_self_signed")]
    tls_cert_out: Option<std::path::PathBuf>,
}

/// The TLS identity the flags ask for, if any (writing or printing a self-signed one).
fn tls_identity(cli: &Cli) -> Result<Option<TlsIdentity>, String> {
    if let (Some(cert), Some(key)) = (&cli.tls_cert, &cli.tls_key) {
        return TlsIdentity::from_files(cert, key)
            .map(Some)
            .map_err(|e| format!("cannot use --tls-cert/--tls-key: {e}"));
    }
    if !cli.tls_self_signed {
        return Ok(None);
    }
    let identity = TlsIdentity::self_signed(["localhost", "127.0.0.1", "::1"])
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    match &cli.tls_cert_out {
        Some(path) => std::fs::write(path, identity.certificate_pem())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print!("{}", identity.certificate_pem()),
    }
    Ok(Some(identity))
}

fn parse_grant(am: AccessManager, spec: &str) -> Result<AccessManager, String> {
    let bad = || format!("invalid --grant `{spec}` (expected AUTH=channel|group:NAME:PERMS)");
    let (auth, rest) = spec.split_once('=').ok_or_else(bad)?;
    let (kind, rest) = rest.split_once(':').ok_or_else(bad)?;
    let (name, perms) = rest.rsplit_once(':').ok_or_else(bad)?;
    let perms = Permissions::parse(perms).ok_or_else(bad)?;
    match kind {
        "channel" => Ok(am.grant_channel(auth, name, perms)),
        "group" => Ok(am.grant_group(auth, name, perms)),
        _ => Err(bad()),
    }
}

fn load_faults(path: &PathBuf) -> Result<Vec<FaultRule>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    items
        .iter()
        .map(|v| FaultRule::from_json(&v.to_string()).map_err(|e| e.to_string()))
        .collect()
}

fn builder(cli: &Cli) -> Result<EmulatorBuilder, String> {
    let mut keyset = KeysetOptions::new()
        .presence_enabled(!cli.presence_disabled)
        .global_here_now(!cli.no_global_here_now);
    if let Some(secret) = &cli.secret_key {
        keyset = keyset.secret_key(secret.clone());
    }
    if let Some(pub_key) = &cli.publish_key {
        keyset = keyset.publish_key(pub_key.clone());
    }
    if !cli.grant.is_empty() {
        let am = cli
            .grant
            .iter()
            .try_fold(AccessManager::new(), |am, g| parse_grant(am, g))?;
        keyset = keyset.access_manager(am);
    }
    let mut b = EmulatorBuilder::new()
        .listen(cli.listen)
        .timeout_unit(Duration::from_millis(cli.timeout_unit_ms))
        .presence_timeout_bounds(cli.min_presence_timeout, cli.max_presence_timeout)
        .default_keyset(keyset)
        .admin(!cli.no_admin)
        .header_read_timeout(Duration::from_millis(cli.header_read_timeout_ms))
        .idle_timeout(Duration::from_secs(cli.idle_timeout_secs))
        .announce_max(cli.announce_max)
        .presence_interval(cli.presence_interval)
        .presence_deltas(cli.presence_deltas)
        .here_now_refresh_bytes(cli.here_now_refresh_bytes)
        .subscribe_hold_secs(cli.subscribe_hold_secs);
    if cli.manual_clock {
        b = b.clock(ManualClock::new());
    }
    if let Some(path) = &cli.faults {
        for rule in load_faults(path)? {
            b = b.fault(rule);
        }
    }
    Ok(b)
}

/// `--color`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Color {
    /// Colour when the log goes to a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    Auto,
    /// Always colour, even through a pipe or into a file.
    Always,
    /// Never colour.
    Never,
}

/// Whether the log on stderr is coloured: `NO_COLOR` (set, not empty) wins over
/// `CLICOLOR_FORCE` (set, not `0`), which wins over the terminal check.
fn log_in_color(choice: Color) -> bool {
    use std::io::IsTerminal as _;
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto if set("NO_COLOR").is_some() => false,
        Color::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
        Color::Auto => std::io::stderr().is_terminal(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cli.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(log_in_color(cli.color))
        .with_writer(std::io::stderr)
        .init();
    let builder = match builder(&cli).and_then(|b| {
        Ok(match tls_identity(&cli)? {
            Some(identity) => b.tls(identity),
            None => b,
        })
    }) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("presence-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let emulator = match builder.start().await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("presence-emulator: cannot listen on {}: {e}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("presence-emulator listening on {}", emulator.origin());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("presence-emulator: cannot wait for Ctrl-C: {e}");
    }
    tracing::info!("shutting down");
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse() {
        assert!(parse_grant(AccessManager::new(), "a=channel:room:r").is_ok());
        assert!(parse_grant(AccessManager::new(), "a=group:*:rwm").is_ok());
        assert!(parse_grant(AccessManager::new(), "a=chan:room:r").is_err());
        assert!(parse_grant(AccessManager::new(), "a=channel:room:x").is_err());
        assert!(parse_grant(AccessManager::new(), "nothing").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
