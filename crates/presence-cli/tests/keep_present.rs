//! End-to-end tests of `presence keep-present` against the emulator (started with
//! `start_in_background()`): it joins at once, stays, prints its events (table or JSON lines),
//! and leaves at the end of `--for` or on SIGINT; errors that cannot heal end it with their
//! exit code.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use presence_emulator::{BackgroundEmulator, EmulatorBuilder, FaultRule, Operation};
use serde_json::{Value, json};

const SUB_KEY: &str = "sub-c-cli";

fn emulator() -> BackgroundEmulator {
    EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator")
}

/// The `presence` binary with the keys in the environment (and no other PUBNUB_* variables),
/// its stdout and stderr piped.
fn presence(emulator: &BackgroundEmulator, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_presence"));
    for var in ["PUBNUB_PUBLISH_KEY", "PUBNUB_SECRET_KEY", "PUBNUB_AUTH_KEY"] {
        cmd.env_remove(var);
    }
    cmd.env("PUBNUB_SUBSCRIBE_KEY", SUB_KEY)
        .env("PUBNUB_USER_ID", "alice")
        .env("PUBNUB_ORIGIN", emulator.origin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A finished run: exit code and output.
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
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n{}", self.stdout))
            })
            .collect()
    }
}

/// Waits (at most 20 s, then kills it) for `child` to exit; `already` is stdout read before.
fn finish(mut child: Child, stdout: Option<BufReader<ChildStdout>>, already: &str) -> Finished {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("presence keep-present did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = already.to_owned();
    match stdout {
        Some(mut reader) => reader.read_to_string(&mut out),
        None => child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out),
    }
    .expect("read stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    Finished {
        code: status.code(),
        stdout: out,
        stderr,
    }
}

/// Waits until `user` is (or is not) on `channel`.
fn wait_for(emulator: &BackgroundEmulator, channel: &str, user: &str, present: bool) {
    let started = Instant::now();
    while emulator
        .occupants(SUB_KEY, channel)
        .iter()
        .any(|u| u == user)
        != present
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{user} present on {channel}: never {present}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn for_one_second_joins_with_state_then_leaves() {
    let emu = emulator();
    let started = Instant::now();
    let child = presence(
        &emu,
        &[
            "keep-present",
            "lobby",
            "hall",
            "--state",
            r#"{"mood":"happy"}"#,
            "--timeout",
            "60",
            "--for",
            "1",
            "--json",
        ],
    )
    .spawn()
    .expect("spawn presence");

    // Present (with the state) while it runs.
    wait_for(&emu, "lobby", "alice", true);
    assert!(started.elapsed() < Duration::from_secs(1), "joined late");
    assert_eq!(emu.occupants(SUB_KEY, "hall"), ["alice"]);
    let here = presence(&emu, &["here-now", "lobby", "--state", "--json"])
        .output()
        .expect("here-now");
    let here: Value = serde_json::from_slice(&here.stdout).expect("here-now JSON");
    assert_eq!(
        here["channels"][0]["occupants"][0],
        json!({"user_id": "alice", "state": {"mood": "happy"}})
    );

    let run = finish(child, None, "");
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    // Gone at once (a leave), long before the 60 s timeout; nothing timed out.
    assert!(emu.occupants(SUB_KEY, "lobby").is_empty());
    assert!(emu.occupants(SUB_KEY, "hall").is_empty());
    let stats = emu.stats();
    assert_eq!((stats.left, stats.timed_out), (2, 0), "{stats:?}");
    assert_eq!(stats.requests.get("leave"), Some(&1), "{stats:?}");

    let events = run.events();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(names, ["joined", "left", "stopped"], "{}", run.stdout);
    assert_eq!(events[0]["channels"], json!(["hall", "lobby"]));
    assert_eq!(events[0]["groups"], json!([]));
    assert_eq!(events[1]["channels"], json!(["hall", "lobby"]));
    assert_eq!(events[1]["error"], Value::Null);
    assert_eq!(events[2]["error"], Value::Null);
    let left_at = events[1]["elapsed_ms"].as_u64().expect("elapsed_ms");
    assert!(left_at >= 1000, "left after {left_at} ms");
    // JSON mode keeps stderr for errors.
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn table_lines_report_an_outage_and_the_recovery() {
    let emu = emulator();
    // The first heartbeat meets a 503: one failure, a retry (after ≈ 0.5–1 s), then joined.
    emu.faults().push(
        FaultRule::respond(503, r#"{"error":true,"status":503,"message":"busy"}"#)
            .operation(Operation::Heartbeat)
            .times(1),
    );
    let child = presence(
        &emu,
        &["keep-present", "lobby", "--timeout", "20", "--for", "2.5"],
    )
    .spawn()
    .expect("spawn presence");
    let run = finish(child, None, "");
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stderr
            .contains("keeping alice present on lobby (timeout 20 s, a heartbeat every 9 s)"),
        "{}",
        run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0], "     TIME  EVENT             DETAILS",
        "{}",
        run.stdout
    );
    let events: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).expect("event column"))
        .collect();
    assert_eq!(
        events,
        ["heartbeat_failed", "recovered", "joined", "left", "stopped"],
        "{}",
        run.stdout
    );
    assert!(
        lines[1].contains("failures=1 retry_in=") && lines[1].contains("error=[server]"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].ends_with("joined            channels=lobby"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].ends_with("left              channels=lobby"),
        "{}",
        lines[4]
    );
    assert!(emu.occupants(SUB_KEY, "lobby").is_empty());
    assert_eq!(emu.stats().left, 1);
}

#[cfg(unix)]
#[test]
fn sigint_leaves_and_exits_zero() {
    let emu = emulator();
    let mut child = presence(&emu, &["keep-present", "lobby", "--json"])
        .spawn()
        .expect("spawn presence");
    // Wait for the first event (joined) before interrupting.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read");
    let joined: Value = serde_json::from_str(&first).expect("JSON line");
    assert_eq!(joined["event"], "joined", "{first}");
    assert_eq!(emu.occupants(SUB_KEY, "lobby"), ["alice"]);

    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let run = finish(child, Some(stdout), &first);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(emu.occupants(SUB_KEY, "lobby").is_empty());
    let stats = emu.stats();
    assert_eq!((stats.left, stats.timed_out), (1, 0), "{stats:?}");
    let names: Vec<Value> = run.events().iter().map(|e| e["event"].clone()).collect();
    assert_eq!(names, ["joined", "left", "stopped"], "{}", run.stdout);
}

#[test]
fn access_denied_ends_it_with_exit_code_3() {
    let emu = emulator();
    emu.faults().push(
        FaultRule::respond(
            403,
            r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#,
        )
        .operation(Operation::Heartbeat)
        .forever(),
    );
    let child = presence(&emu, &["keep-present", "lobby", "--json"])
        .spawn()
        .expect("spawn presence");
    let run = finish(child, None, "");
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let error: Value = serde_json::from_str(&run.stderr).expect("JSON error");
    assert_eq!(error["error"]["kind"], "access_denied");
    assert_eq!(error["error"]["status"], 403);
    let events = run.events();
    assert_eq!(events.len(), 1, "{}", run.stdout);
    assert_eq!(events[0]["event"], "stopped");
    assert_eq!(events[0]["error"]["kind"], "access_denied");
    assert_eq!(events[0]["error"]["status"], 403);
    // A 403 is not retried.
    assert_eq!(emu.stats().requests.get("heartbeat"), Some(&1));
}

#[test]
fn bad_input_is_refused_before_sending() {
    let emu = emulator();
    let cases: &[(&[&str], &str)] = &[
        (&["keep-present"], "required"),
        (
            &["keep-present", "lobby", "--for", "0"],
            "--for must be a positive number of seconds",
        ),
        (
            &["keep-present", "lobby", "--for", "soon"],
            "invalid value 'soon'",
        ),
        (
            &["keep-present", "lobby", "--state", "[1]"],
            "--state must be a JSON object",
        ),
        (
            &["keep-present", "lobby", "--group", " "],
            "empty or whitespace group name",
        ),
    ];
    for (args, message) in cases {
        let run = finish(presence(&emu, args).spawn().expect("spawn"), None, "");
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    assert_eq!(emu.stats().requests_total, 0);

    let help = presence(&emu, &["keep-present", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "Ctrl-C",
        "--for <SECONDS>",
        "--timeout <SECONDS>",
        "--json",
        "stopped",
    ] {
        assert!(help.contains(needle), "{needle} not in:\n{help}");
    }
}
