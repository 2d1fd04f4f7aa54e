//! `watch` and `roster`: presence events as they happen, and the live roster, through
//! `presence-blocking`'s watch (the core's `Watch` / `LiveRoster` machines) until Ctrl-C or
//! `--for`. Every server string is escaped in human output; `--json` prints one object per line.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use clap::Args;
use presence_blocking::Client;
use presence_blocking::proto::{
    PresenceAction, PresenceEvent, RosterItem, RosterSnapshot, WatchItem, WatchOptions,
};
use serde_json::{Map, Value, json};

use crate::escape::{Printable, escape};
use crate::failure::Failure;
use crate::interrupt::{on_ctrl_c, run_for};

/// `watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// Channel names.
    #[arg(value_name = "CHANNEL", required_unless_present = "groups")]
    pub(crate) channels: Vec<String>,

    /// Channel group names (repeatable): events of every member channel.
    #[arg(long = "group", value_name = "GROUP")]
    pub(crate) groups: Vec<String>,

    /// Events only: present nowhere, and no leave at the end.
    #[arg(long)]
    pub(crate) observe: bool,

    /// Stop (and leave) after this many seconds instead of at Ctrl-C.
    #[arg(long = "for", value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
}

/// `roster`.
#[derive(Debug, Args)]
pub(crate) struct RosterArgs {
    /// Channel names.
    #[arg(value_name = "CHANNEL", required = true)]
    pub(crate) channels: Vec<String>,

    /// Stop after this many seconds instead of at Ctrl-C.
    #[arg(long = "for", value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
}

/// How often the loop looks for the `--for` deadline.
const TICK: Duration = Duration::from_millis(50);

/// Runs `watch` until Ctrl-C, `--for` or an error that cannot heal (non-zero exit).
pub(crate) fn watch(client: &Client, args: WatchArgs, json: bool) -> Result<(), Failure> {
    let run_for = args.duration.map(run_for).transpose()?;
    let options = WatchOptions::new().observe(args.observe);
    let watch = client
        .watch()
        .channels(args.channels.iter().cloned())
        .groups(args.groups.iter().cloned())
        .options(options)
        .start()
        .map_err(|e| Failure::from_error(&e))?;
    let stopper = watch.stopper();
    on_ctrl_c(move || stopper.stop())?;
    let deadline = run_for.map(|d| Instant::now() + d);
    let mut failure = None;
    let mut stdout = std::io::stdout().lock();
    loop {
        if deadline.is_some_and(|at| at <= Instant::now()) {
            watch.stop();
        }
        let Some(item) = watch.next_item_timeout(TICK) else {
            if watch.is_finished() {
                break;
            }
            continue;
        };
        match item {
            WatchItem::Event(event) => {
                let line = if json {
                    event_json(&event).to_string()
                } else {
                    event_line(&event)
                };
                if writeln!(stdout, "{line}")
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    watch.stop(); // nobody reads any more
                }
            }
            WatchItem::Retrying {
                error,
                next_attempt_at,
                ..
            } => eprintln!(
                "presence: network trouble, retrying in {:.1} s: {}",
                next_attempt_at
                    .saturating_duration_since(Instant::now())
                    .as_secs_f64(),
                error
            ),
            WatchItem::Recovered { failures } => {
                eprintln!("presence: reconnected after {failures} failed polls");
            }
            WatchItem::Gap { reason } => {
                eprintln!("presence: events may have been missed ({reason:?})");
            }
            WatchItem::LeaveFailed { error } => eprintln!("presence: leave failed: {error}"),
            WatchItem::Stopped { error: Some(error) } => {
                failure = Some(Failure::from_error(&error));
            }
            _ => {}
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Runs `roster`: a redrawn table on a terminal, else (or with `--json`) one JSON line per
/// update `{"channel","occupancy","uuids":[sorted]}`.
pub(crate) fn roster(client: &Client, args: RosterArgs, json: bool) -> Result<(), Failure> {
    let run_for = args.duration.map(run_for).transpose()?;
    let roster = client
        .roster()
        .channels(args.channels.iter().cloned())
        .start()
        .map_err(|e| Failure::from_error(&e))?;
    let stopper = roster.stopper();
    on_ctrl_c(move || stopper.stop())?;
    let table = !json && std::io::stdout().is_terminal();
    let deadline = run_for.map(|d| Instant::now() + d);
    let mut latest = std::collections::BTreeMap::<String, RosterSnapshot>::default();
    let mut failure = None;
    let mut stdout = std::io::stdout().lock();
    loop {
        if deadline.is_some_and(|at| at <= Instant::now()) {
            roster.stop();
        }
        let Some(item) = roster.next_item_timeout(TICK) else {
            if roster.is_finished() {
                break;
            }
            continue;
        };
        match item {
            RosterItem::Snapshot(snapshot) => {
                let written = if table {
                    latest.insert(snapshot.channel.clone(), snapshot);
                    write!(stdout, "{}", render_table(&latest))
                } else {
                    let line = json!({
                        "channel": snapshot.channel,
                        "occupancy": snapshot.occupancy,
                        "uuids": snapshot.uuids,
                    });
                    writeln!(stdout, "{line}")
                };
                if written.and_then(|()| stdout.flush()).is_err() {
                    roster.stop();
                }
            }
            RosterItem::Watch(WatchItem::Retrying { error, .. }) => {
                eprintln!("presence: network trouble, retrying: {error}");
            }
            RosterItem::Watch(WatchItem::Stopped { error: Some(error) }) => {
                failure = Some(Failure::from_error(&error));
            }
            RosterItem::RefreshFailed(error) => {
                eprintln!("presence: here_now refresh failed (asked again later): {error}");
            }
            _ => {}
        }
    }
    failure.map_or(Ok(()), Err)
}

/// The whole table, drawn from the top of a cleared screen.
fn render_table(latest: &std::collections::BTreeMap<String, RosterSnapshot>) -> String {
    let mut out = String::from("\x1b[H\x1b[2J");
    for snapshot in latest.values() {
        let occupancy = snapshot
            .occupancy
            .map_or_else(|| "?".to_owned(), |n| n.to_string());
        let _ = writeln!(out, "{} ({occupancy} present)", escape(&snapshot.channel));
        for uuid in &snapshot.uuids {
            let _ = writeln!(out, "  {}", escape(uuid));
        }
    }
    out
}

/// `HH:MM:SS` (UTC) of a Unix time in seconds.
fn clock(unix: u64) -> String {
    let day = unix % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// `12:03:04 lobby join alice (2 present)`, every server string escaped.
fn event_line(event: &PresenceEvent) -> String {
    let when = event.timestamp.map_or_else(|| "--:--:--".to_owned(), clock);
    let present = event
        .occupancy
        .map_or_else(String::new, |n| format!(" ({n} present)"));
    let what = match &event.action {
        PresenceAction::StateChange { uuid, state } => {
            format!(
                "state-change {} {}",
                Printable(uuid),
                escape(&state.to_string())
            )
        }
        PresenceAction::Interval {
            join,
            leave,
            timeout,
            here_now_refresh,
        } => {
            let mut text = "interval".to_owned();
            for (sign, list) in [("+", join), ("-", leave), ("~", timeout)] {
                if !list.is_empty() {
                    let _ = write!(text, " {sign}[{}]", escape(&list.join(", ")));
                }
            }
            if *here_now_refresh {
                text.push_str(" (here_now refresh needed)");
            }
            text
        }
        _ => match event.uuid() {
            Some(uuid) => format!("{} {}", escape(event.action_name()), Printable(uuid)),
            None => escape(event.action_name()).to_string(),
        },
    };
    format!("{when} {} {what}{present}", escape(&event.channel))
}

/// One JSON object per event: `channel`, `action`, `uuid`, `occupancy`, `timetoken`,
/// `timestamp`, `state`, and the interval fields; absent ones left out.
fn event_json(event: &PresenceEvent) -> Value {
    let mut map = Map::new();
    map.insert("channel".into(), event.channel.clone().into());
    if let Some(group) = &event.subscription {
        map.insert("subscription".into(), group.clone().into());
    }
    map.insert("action".into(), event.action_name().into());
    if let Some(uuid) = event.uuid() {
        map.insert("uuid".into(), uuid.into());
    }
    if let Some(occupancy) = event.occupancy {
        map.insert("occupancy".into(), occupancy.into());
    }
    map.insert("timetoken".into(), event.timetoken.into());
    if let Some(timestamp) = event.timestamp {
        map.insert("timestamp".into(), timestamp.into());
    }
    if let Some(state) = event.state_value() {
        map.insert("state".into(), state.clone());
    }
    if let PresenceAction::Interval {
        join,
        leave,
        timeout,
        here_now_refresh,
    } = &event.action
    {
        for (key, list) in [("join", join), ("leave", leave), ("timeout", timeout)] {
            if !list.is_empty() {
                map.insert(key.into(), list.clone().into());
            }
        }
        if *here_now_refresh {
            map.insert("here_now_refresh".into(), true.into());
        }
    }
    Value::Object(map)
}
