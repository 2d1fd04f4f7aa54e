//! `presence` against a hostile server (the workspace's `tests/support/hostile.rs`: raw TCP on
//! 127.0.0.1): keep-present reports the loss of presence when it happens, never hammers a
//! failing service, survives garbage replies, and nothing a server sends reaches the terminal
//! raw. Black box: the built binary, its stdout, stderr and exit code.
//!
//! Runs are short through the hidden `PRESENCE_CLI_TIME_UNIT_MS=50`: the 20-"second" presence
//! timeout lasts 1 s, heartbeats follow every 450 ms, retries are at least 50 ms apart.

#![allow(clippy::unchecked_time_subtraction)]

#[path = "../../../tests/support/hostile.rs"]
mod hostile;

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hostile::{Hostile, Mode};
use serde_json::Value;

/// One unit of the presence timeout.
const UNIT_MS: u64 = 50;
/// The presence timeout (20 units).
const WINDOW: Duration = Duration::from_millis(20 * UNIT_MS);

fn presence(server: &Hostile, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_presence"));
    for var in ["PUBNUB_PUBLISH_KEY", "PUBNUB_SECRET_KEY", "PUBNUB_AUTH_KEY"] {
        cmd.env_remove(var);
    }
    cmd.env("PUBNUB_SUBSCRIBE_KEY", "sub-c-hostile")
        .env("PUBNUB_USER_ID", "alice")
        .env("PUBNUB_ORIGIN", server.origin())
        .env("PRESENCE_CLI_TIME_UNIT_MS", UNIT_MS.to_string())
        .args(["--request-timeout", "0.3"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Finished {
    /// The stdout JSON lines.
    fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\n{}", self.stdout))
            })
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["event"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

/// Waits (at most 20 s, then kills it) for `child` to exit.
fn finish(mut child: Child) -> Finished {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("presence did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    Finished {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// No ESC, BEL, CR or other control byte (C0 but the line feed, DEL, C1) in `text`.
fn assert_terminal_safe(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} carries {bad:?}: {text:?}");
}

#[test]
fn a_hang_after_the_join_prints_presence_lost_then_recovered() {
    let server = Hostile::join_then(Mode::Hang);
    let child = presence(
        &server,
        &[
            "keep-present",
            "lobby",
            "--timeout",
            "20",
            "--json",
            "--for",
            "3",
        ],
    )
    .spawn()
    .expect("spawn");
    std::thread::sleep(Duration::from_millis(1800));
    server.set(Mode::Ok);
    let run = finish(child);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let names = run.names();
    assert_eq!(
        names.first().map(String::as_str),
        Some("joined"),
        "{names:?}"
    );
    let recovered = names
        .iter()
        .position(|n| n == "recovered")
        .unwrap_or_else(|| panic!("{names:?}"));
    assert!(
        names[1..recovered].iter().all(|n| matches!(
            n.as_str(),
            "heartbeat_failed" | "presence_at_risk" | "presence_lost"
        )),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "presence_lost").count(),
        1,
        "{names:?}"
    );
    let events = run.events();
    let lost = events
        .iter()
        .find(|e| e["event"] == "presence_lost")
        .expect("lost");
    assert!(
        lost["lost_for_ms"].as_u64().expect("lost_for_ms") < 1000,
        "{lost}"
    );
    assert_eq!(
        events[recovered]["presence_lost"], true,
        "{}",
        events[recovered]
    );
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "heartbeat_failed")
            .all(|e| e["error"]["kind"] == "timeout")
    );
    // Every at-risk report came while the deadline was ahead.
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "presence_at_risk")
            .all(|e| e["deadline_in_ms"].as_i64().expect("deadline_in_ms") >= 0)
    );
    assert_eq!(names[names.len() - 2..], ["left", "stopped"], "{names:?}");
}

#[test]
fn constant_500s_never_exceed_eight_attempts_per_window() {
    let server = Hostile::join_then(Mode::ServerError);
    let run = finish(
        presence(
            &server,
            &[
                "keep-present",
                "lobby",
                "--timeout",
                "20",
                "--json",
                "--for",
                "4",
            ],
        )
        .spawn()
        .expect("spawn"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // Arrival times, so a hair of slack for connection set-up.
    let most = server.most_heartbeats_in(WINDOW - Duration::from_millis(20));
    assert!(most <= 8, "{most} heartbeats in one presence window");
    assert!(server.heartbeats().len() >= 8, "it kept trying");
    let names = run.names();
    assert_eq!(
        names.iter().filter(|n| *n == "presence_lost").count(),
        1,
        "{names:?}"
    );
    assert!(!names.contains(&"recovered".to_owned()));
    assert_eq!(names[names.len() - 2..], ["left", "stopped"]);
}

#[test]
fn a_huge_retry_after_waits_one_presence_timeout() {
    let server = Hostile::join_then(Mode::TooMany {
        retry_after: "999999".to_owned(),
    });
    let run = finish(
        presence(
            &server,
            &[
                "keep-present",
                "lobby",
                "--timeout",
                "20",
                "--json",
                "--for",
                "3",
            ],
        )
        .spawn()
        .expect("spawn"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let beats = server.heartbeats();
    // The join, the first 429 after one interval, then one attempt per presence timeout.
    assert!((3..=5).contains(&beats.len()), "{} heartbeats", beats.len());
    for pair in beats[1..].windows(2) {
        assert!(pair[1] - pair[0] >= WINDOW - Duration::from_millis(20));
    }
    let names = run.names();
    assert_eq!(
        names[..4],
        [
            "joined",
            "heartbeat_failed",
            "presence_at_risk",
            "presence_lost"
        ],
        "{names:?}"
    );
    let failed = &run.events()[1];
    assert_eq!(failed["error"]["kind"], "too_many_requests");
    assert!(failed["retry_in_ms"].as_u64().unwrap() <= 1000, "{failed}");
}

#[test]
fn a_gzip_bomb_does_not_end_the_session() {
    let server = Hostile::join_then(Mode::GzipBomb { inflated: 17 << 20 });
    let child = presence(
        &server,
        &[
            "keep-present",
            "lobby",
            "--timeout",
            "20",
            "--json",
            "--for",
            "2",
        ],
    )
    .spawn()
    .expect("spawn");
    std::thread::sleep(Duration::from_millis(900));
    server.set(Mode::Ok);
    let run = finish(child);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events();
    let failures: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "heartbeat_failed")
        .collect();
    assert!(!failures.is_empty(), "{}", run.stdout);
    assert!(
        failures.iter().all(|e| e["error"]["kind"] == "too_large"),
        "{}",
        run.stdout
    );
    assert!(
        run.names().contains(&"recovered".to_owned()),
        "{}",
        run.stdout
    );
}

#[test]
fn an_escape_laden_message_never_reaches_the_terminal_raw() {
    let server = Hostile::join_then(Mode::EscapeMessage);
    let run = finish(
        presence(
            &server,
            &[
                "keep-present",
                "lob\u{1b}[2Jby",
                "--timeout",
                "20",
                "--for",
                "1.5",
            ],
        )
        .spawn()
        .expect("spawn"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_terminal_safe("stdout", &run.stdout);
    assert_terminal_safe("stderr", &run.stderr);
    assert!(
        run.stdout
            .contains(r"\u{1b}]0;pwned\u{7}\u{1b}[2J\r\npresence: ok, all fine"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("heartbeat_failed"), "{}", run.stdout);
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("presence: ok")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_one_shot_error_line_is_escaped_and_json_stays_json() {
    let server = Hostile::start(Mode::EscapeMessage);
    let run = finish(
        presence(&server, &["heartbeat", "lobby"])
            .spawn()
            .expect("spawn"),
    );
    assert_eq!(run.code, Some(6), "{}", run.stderr);
    assert_terminal_safe("stderr", &run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(
        run.stderr.starts_with("presence: error [server]: "),
        "{}",
        run.stderr
    );

    let run = finish(
        presence(&server, &["heartbeat", "lobby", "--json"])
            .spawn()
            .expect("spawn"),
    );
    assert_eq!(run.code, Some(6), "{}", run.stderr);
    let error: Value = serde_json::from_str(run.stderr.trim()).expect("stderr is JSON");
    assert_eq!(error["error"]["kind"], "server");
    assert!(
        !run.stderr.contains('\u{1b}'),
        "JSON escapes the C0 controls"
    );
}

#[test]
fn a_refusal_that_cannot_heal_ends_with_its_exit_code() {
    let server = Hostile::join_then(Mode::Forbidden);
    let run = finish(
        presence(
            &server,
            &["keep-present", "lobby", "--timeout", "20", "--json"],
        )
        .spawn()
        .expect("spawn"),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let names = run.names();
    assert_eq!(names, ["joined", "stopped"], "{}", run.stdout);
    assert_eq!(server.heartbeats().len(), 2, "no retry after a 403");
}

#[test]
fn a_dripping_reply_is_a_timeout_not_a_stall() {
    let server = Hostile::join_then(Mode::Drip {
        every: Duration::from_millis(40),
    });
    let run = finish(
        presence(
            &server,
            &[
                "keep-present",
                "lobby",
                "--timeout",
                "20",
                "--json",
                "--for",
                "2",
            ],
        )
        .spawn()
        .expect("spawn"),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events();
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "heartbeat_failed")
            .all(|e| e["error"]["kind"] == "timeout")
    );
    assert!(
        run.names().contains(&"presence_lost".to_owned()),
        "{}",
        run.stdout
    );
}
