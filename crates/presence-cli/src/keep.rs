//! `keep-present`: stays present through `presence-blocking`'s keep-present thread until
//! Ctrl-C (or `--for`), printing the session's events as they come, then leaves.

use std::io::Write as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use presence_blocking::proto::{Heartbeat, Stamp};
use presence_blocking::{Client, Error, Operation as _, SessionEvent};
use serde_json::Value;

use crate::args::{KeepPresentArgs, Targets};
use crate::escape::{Printable, escape};
use crate::exit;
use crate::failure::Failure;
use crate::interrupt::{on_ctrl_c, run_for};
use crate::state_arg::state_object;

/// How often the wait for events looks for Ctrl-C and the `--for` deadline.
const TICK: Duration = Duration::from_millis(50);

/// Runs `keep-present` to the end: `Ok` once the final leave was acknowledged.
pub(crate) fn run(
    client: &Client,
    args: KeepPresentArgs,
    json: bool,
    secrets: &[&str],
) -> Result<(), Failure> {
    // Everything that can be wrong with the input is checked before anything is sent.
    let state = args.state.as_deref().map(state_object).transpose()?;
    let run_for = args.duration.map(run_for).transpose()?;
    let Targets { channels, groups } = args.targets;
    let options = crate::timing::session_options(args.timeout)?;
    let mut builder = client
        .keep_present()
        .channels(channels.iter().cloned())
        .groups(groups.iter().cloned())
        .options(options.clone());
    let mut first = Heartbeat::new()
        .channels(channels.iter().cloned())
        .groups(groups.iter().cloned())
        .presence_timeout(options.timeout_secs());
    if let Some(state) = state {
        for name in channels.iter().chain(&groups) {
            builder = builder.state_value(name.clone(), state.clone());
            first = first.state_value(name.clone(), state.clone());
        }
    }
    // The first heartbeat, built but not sent: bad names (empty, too long) fail here, as in
    // the other subcommands, rather than as a stop event once running.
    first
        .to_request(client.config(), &Stamp::new(0, ""))
        .map_err(|e| Failure::from_error(&e))?;

    // The signal handler first, so that a Ctrl-C right after the first heartbeat is not lost.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    on_ctrl_c(move || {
        let _ = stop_tx.send(());
    })?;

    let session = builder.start().map_err(|e| Failure::from_error(&e))?;
    let mut printer = Printer::new(json, secrets);
    if !json {
        let names: Vec<&str> = channels
            .iter()
            .map(String::as_str)
            .chain(groups.iter().map(|g| g.as_str()))
            .collect();
        eprintln!(
            "presence: keeping {} present on {} (timeout {} s, a heartbeat every {} s); {}",
            Printable(session.config().user_id()),
            escape(&names.join(", ")),
            options.timeout_secs(),
            options.interval().as_secs(),
            run_for.map_or_else(
                || "Ctrl-C to leave".to_owned(),
                |d| format!("leaving after {} s", d.as_secs_f64())
            ),
        );
    }
    let deadline = run_for.map(|d| Instant::now() + d);
    let mut outcome = Outcome::default();

    // Until Ctrl-C, the deadline, or a stop by an error that cannot heal.
    loop {
        if stop_rx.try_recv().is_ok() {
            break;
        }
        let wait = match deadline {
            Some(at) if at <= Instant::now() => break,
            Some(at) => TICK.min(at - Instant::now()),
            None => TICK,
        };
        match session.next_event_timeout(wait) {
            Some(event) => {
                outcome.note(&event);
                if printer.print(&event).is_err() {
                    // Nobody reads the events any more (stdout closed): leave, exit 1.
                    outcome.output_failed = true;
                    break;
                }
            }
            None if session.is_finished() => break,
            None => {}
        }
    }

    // One leave for everything; print it (and the end) as it comes.
    session.request_shutdown();
    while let Some(event) = session.next_event() {
        outcome.note(&event);
        if !outcome.output_failed && printer.print(&event).is_err() {
            outcome.output_failed = true;
        }
    }
    drop(session);
    outcome.into_result()
}

/// `--for`: a positive number of seconds.
/// How the run ended, from the events seen.
#[derive(Default)]
struct Outcome {
    /// The error that stopped the session, or that failed the final leave.
    failure: Option<Failure>,
    output_failed: bool,
}

impl Outcome {
    fn note(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::Stopped { error: Some(error) }
            | SessionEvent::Left {
                error: Some(error), ..
            } => {
                self.failure
                    .get_or_insert_with(|| Failure::from_error(error));
            }
            _ => {}
        }
    }

    fn into_result(self) -> Result<(), Failure> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        if self.output_failed {
            return Err(Failure {
                kind: "other",
                code: exit::OTHER,
                message: "could not write the events to stdout".to_owned(),
                status: None,
            });
        }
        Ok(())
    }
}

/// Prints events: table lines under a header, or JSON lines.
struct Printer<'a> {
    json: bool,
    secrets: &'a [&'a str],
    started: Instant,
    header_done: bool,
}

impl<'a> Printer<'a> {
    fn new(json: bool, secrets: &'a [&'a str]) -> Self {
        Self {
            json,
            secrets,
            started: Instant::now(),
            header_done: false,
        }
    }

    fn print(&mut self, event: &SessionEvent) -> std::io::Result<()> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.started);
        let mut out = std::io::stdout().lock();
        if self.json {
            let mut doc = event_json(event, self.secrets);
            if let Some(map) = doc.as_object_mut() {
                map.insert("elapsed_ms".to_owned(), (elapsed.as_millis() as u64).into());
            }
            writeln!(out, "{doc}")?;
        } else {
            if !self.header_done {
                writeln!(out, "{:>9}  {:<16}  DETAILS", "TIME", "EVENT")?;
                self.header_done = true;
            }
            let (name, details) = event_text(event, now, self.secrets);
            let time = format!("{:.3}s", elapsed.as_secs_f64());
            let line = format!("{time:>9}  {name:<16}  {details}");
            writeln!(out, "{}", line.trim_end())?;
        }
        out.flush()
    }
}

/// The `--json` line of an event (without `elapsed_ms`): the library's own `Serialize` form
/// of [`SessionEvent`], with secrets scrubbed from an error's message.
fn event_json(event: &SessionEvent, secrets: &[&str]) -> Value {
    let mut doc = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Some(Value::String(message)) = doc
        .get_mut("error")
        .and_then(|error| error.get_mut("message"))
    {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            *message = message.replace(secret, "[redacted]");
        }
    }
    doc
}

/// The table line of an event: its name and details.
fn event_text(event: &SessionEvent, now: Instant, secrets: &[&str]) -> (&'static str, String) {
    let error = |e: &Error| {
        let failure = Failure::from_error(e).scrub(secrets);
        format!("error=[{}] {}", failure.kind, Printable(&failure.message))
    };
    let names = |channels: &[String], groups: &[String]| {
        let mut parts = Vec::new();
        if !channels.is_empty() {
            parts.push(format!("channels={}", escape(&channels.join(","))));
        }
        if !groups.is_empty() {
            parts.push(format!("groups={}", escape(&groups.join(","))));
        }
        parts.join(" ")
    };
    match event {
        SessionEvent::Joined { channels, groups } => ("joined", names(channels, groups)),
        SessionEvent::HeartbeatFailed {
            error: e,
            failures,
            next_attempt_at,
        } => (
            "heartbeat_failed",
            format!(
                "failures={failures} retry_in={:.3}s {}",
                next_attempt_at.saturating_duration_since(now).as_secs_f64(),
                error(e)
            ),
        ),
        SessionEvent::Recovered {
            failures,
            presence_lost,
        } => (
            "recovered",
            format!("failures={failures} presence_lost={presence_lost}"),
        ),
        SessionEvent::PresenceAtRisk { deadline } => (
            "presence_at_risk",
            format!(
                "deadline_in={:.3}s",
                signed_millis(*deadline, now) as f64 / 1000.0
            ),
        ),
        SessionEvent::PresenceLost { since } => (
            "presence_lost",
            format!(
                "lost_for={:.3}s",
                now.saturating_duration_since(*since).as_secs_f64()
            ),
        ),
        SessionEvent::Left {
            channels,
            groups,
            error: e,
        } => {
            let mut details = names(channels, groups);
            if let Some(e) = e {
                details = format!("{details} {}", error(e));
            }
            ("left", details)
        }
        SessionEvent::Stopped { error: e } => {
            ("stopped", e.as_ref().map(error).unwrap_or_default())
        }
        other => ("other", escape(&format!("{other:?}")).into_owned()),
    }
}

/// `at − now` in milliseconds, negative once `at` has passed.
fn signed_millis(at: Instant, now: Instant) -> i64 {
    if at >= now {
        at.duration_since(now).as_millis() as i64
    } else {
        -(now.duration_since(at).as_millis() as i64)
    }
}
