//! Keeps one user present on channels until Ctrl-C, printing what happens, then leaves.
//!
//! ```sh
//! cargo run --example keep_present -- lobby kitchen
//! cargo run --example keep_present -- --for-seconds 5 --presence-timeout 20 lobby
//! ```
//!
//! Arguments: channel names (default `keep-present-lobby`), `--group NAME` (repeatable),
//! `--presence-timeout SECONDS` (default 60: a heartbeat every 29 s) and `--for-seconds N`
//! (leave after N seconds instead of waiting for Ctrl-C; also `KEEP_PRESENT_FOR_SECONDS`).
//!
//! With no keys set it starts the embedded emulator on a free local port, so it needs no
//! network. Set `PUBNUB_SUBSCRIBE_KEY` (and optionally `PUBNUB_PUBLISH_KEY`,
//! `PUBNUB_SECRET_KEY`, `PUBNUB_AUTH_KEY`, `PUBNUB_USER_ID`, `PUBNUB_ORIGIN`) to stay present
//! on the live service. Keys are never printed.

use std::error::Error;
use std::time::{Duration, Instant};

use presence_tokio::{Client, Config, SessionEvent, SessionOptions};

/// What the command line asked for.
struct Args {
    channels: Vec<String>,
    groups: Vec<String>,
    presence_timeout: u32,
    for_seconds: Option<u64>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        channels: Vec::new(),
        groups: Vec::new(),
        presence_timeout: 60,
        for_seconds: std::env::var("KEEP_PRESENT_FOR_SECONDS")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().parse())
            .transpose()?,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--for-seconds" => args.for_seconds = Some(value("--for-seconds")?.parse()?),
            "--presence-timeout" => args.presence_timeout = value("--presence-timeout")?.parse()?,
            "--group" => args.groups.push(value("--group")?),
            "-h" | "--help" => {
                println!(
                    "usage: keep_present [--for-seconds N] [--presence-timeout S] \
                     [--group G]... [CHANNEL]..."
                );
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}").into()),
            channel => args.channels.push(channel.to_owned()),
        }
    }
    if args.channels.is_empty() && args.groups.is_empty() {
        args.channels.push("keep-present-lobby".to_owned());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());

    // Where to connect: the live service when a subscribe key is set, else a local emulator.
    let (subscribe_key, origin, emulator) = if let Some(key) = env("PUBNUB_SUBSCRIBE_KEY") {
        let origin = env("PUBNUB_ORIGIN")
            .unwrap_or_else(|| presence_tokio::proto::DEFAULT_ORIGIN.to_owned());
        (key, origin, None)
    } else {
        let emulator = presence_emulator::EmulatorBuilder::new().start().await?;
        ("demo".to_owned(), emulator.origin(), Some(emulator))
    };
    println!(
        "Using {} at {origin}",
        if emulator.is_some() {
            "the embedded emulator"
        } else {
            "the PubNub service"
        }
    );

    let user = env("PUBNUB_USER_ID").unwrap_or_else(|| "keep-present-demo".to_owned());
    let mut config = Config::builder(subscribe_key, user.clone())
        .origin(origin)
        .sdk_suffix("keep-present-example");
    if let Some(k) = env("PUBNUB_PUBLISH_KEY") {
        config = config.publish_key(k);
    }
    if let Some(k) = env("PUBNUB_SECRET_KEY") {
        config = config.secret_key(k);
    }
    if let Some(k) = env("PUBNUB_AUTH_KEY") {
        config = config.auth_token(k);
    }
    let client = Client::new(config.build()?)?;

    let options = SessionOptions::new().presence_timeout(args.presence_timeout);
    println!(
        "Keeping {user} present on channels {:?} groups {:?}: presence timeout {} s, a heartbeat \
         every {:?}. {}",
        args.channels,
        args.groups,
        options.timeout_secs(),
        options.interval(),
        match args.for_seconds {
            Some(n) => format!("Leaving after {n} s (or on Ctrl-C)."),
            None => "Ctrl-C to leave.".to_owned(),
        }
    );
    let mut session = client
        .keep_present()
        .channels(args.channels.iter().cloned())
        .groups(args.groups.iter().cloned())
        .options(options)
        .start()?;

    let started = Instant::now();
    let stop = async {
        match args.for_seconds {
            Some(n) => {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(n)) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    let stamp = || format!("[{:>7.2}s]", started.elapsed().as_secs_f64());
    loop {
        tokio::select! {
            event = session.next_event() => {
                let Some(event) = event else { break };
                match event {
                    SessionEvent::Joined { channels, groups } => {
                        println!("{} joined channels {channels:?} groups {groups:?}", stamp());
                        if !channels.is_empty() {
                            let here = client.here_now().channels(channels).await?;
                            for ch in &here.channels {
                                let users: Vec<&str> =
                                    ch.occupants.iter().map(|u| u.user_id.as_str()).collect();
                                println!("{}   here now on {}: {users:?}", stamp(), ch.name);
                            }
                        }
                    }
                    SessionEvent::HeartbeatFailed { error, failures, next_attempt_at } => {
                        let wait = next_attempt_at.saturating_duration_since(Instant::now());
                        println!(
                            "{} heartbeat failed ({failures} in a row): {error}; retrying in {wait:?}",
                            stamp()
                        );
                    }
                    SessionEvent::Recovered { failures, presence_lost } => println!(
                        "{} heartbeats recovered after {failures} failures{}",
                        stamp(),
                        if presence_lost { " (presence had been lost: joined again)" } else { "" }
                    ),
                    SessionEvent::PresenceLost { since } => println!(
                        "{} presence lost: the deadline passed {:?} ago without a heartbeat",
                        stamp(),
                        Instant::now().saturating_duration_since(since)
                    ),
                    SessionEvent::PresenceAtRisk { deadline } => println!(
                        "{} presence at risk: the service times the user out in {:?}",
                        stamp(),
                        deadline.saturating_duration_since(Instant::now())
                    ),
                    SessionEvent::Left { channels, groups, error } => println!(
                        "{} left channels {channels:?} groups {groups:?}{}",
                        stamp(),
                        error.map(|e| format!(" (leave failed: {e})")).unwrap_or_default()
                    ),
                    SessionEvent::Stopped { error: Some(error) } => {
                        println!("{} stopped: {error}", stamp());
                        return Err(error.into());
                    }
                    other => println!("{} {other:?}", stamp()),
                }
            }
            () = &mut stop => break,
        }
    }

    println!("{} leaving…", stamp());
    session.shutdown().await?;
    let here = client
        .here_now()
        .channels(args.channels.iter().cloned())
        .await?;
    println!(
        "{} left; {} present now on {:?}",
        stamp(),
        here.total_occupancy,
        args.channels
    );
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
