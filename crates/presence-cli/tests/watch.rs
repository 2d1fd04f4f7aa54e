//! `presence watch` and `presence roster`, black-box against the emulator: one JSON object per
//! event (or per roster update) on stdout, the leave at the end (present mode), and a 403 ending
//! the run with a non-zero exit.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use presence_emulator::{BackgroundEmulator, EmulatorBuilder, FaultRule, Operation};
use serde_json::Value;

const SUB_KEY: &str = "sub-c-cli";

fn emulator() -> BackgroundEmulator {
    EmulatorBuilder::new()
        .timeout_unit(Duration::from_millis(10))
        .subscribe_hold_secs(30)
        .sweep_interval(Duration::from_millis(10))
        .start_in_background()
        .expect("emulator")
}

fn presence(emulator: &BackgroundEmulator, user: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_presence"));
    for var in [
        "PUBNUB_PUBLISH_KEY",
        "PUBNUB_SECRET_KEY",
        "PUBNUB_AUTH_KEY",
        "PRESENCE_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PUBNUB_SUBSCRIBE_KEY", SUB_KEY)
        .env("PUBNUB_USER_ID", user)
        .env("PUBNUB_ORIGIN", emulator.origin())
        .env("PRESENCE_CONFIG", "/nonexistent/presence-profiles.toml")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The child's stdout lines, read on a thread of their own.
struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    fn of(child: &mut Child) -> Self {
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// JSON lines until `done` holds for those read by this call (or 10 s pass).
    fn until(&self, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut values = Vec::new();
        while !done(&values) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .0
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("timed out; lines so far: {values:#?}"));
            values.push(
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")),
            );
        }
        values
    }
}

fn actor(emulator: &BackgroundEmulator, user: &str) -> presence_blocking::Client {
    let config = presence_blocking::Config::builder(SUB_KEY, user)
        .origin(emulator.origin())
        .build()
        .expect("config");
    presence_blocking::Client::new(config).expect("client")
}

fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watch_json_prints_each_event_once_in_order() {
    let emulator = emulator();
    let mut child = presence(
        &emulator,
        "watcher",
        &["watch", "lobby", "--observe", "--json", "--for", "3"],
    )
    .spawn()
    .expect("spawn");
    // Give the handshake a moment, then act.
    std::thread::sleep(Duration::from_millis(300));
    let alice = actor(&emulator, "alice");
    alice.heartbeat().channels(["lobby"]).call().expect("join");
    alice
        .set_state()
        .channels(["lobby"])
        .state(serde_json::json!({"mood": "busy"}))
        .call()
        .expect("state");
    alice.leave().channels(["lobby"]).call().expect("leave");
    let lines = Lines::of(&mut child).until(|v| v.len() >= 3);
    let actions: Vec<&str> = lines
        .iter()
        .map(|v| v["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["join", "state-change", "leave"], "{lines:#?}");
    assert_eq!(lines[0]["channel"], "lobby");
    assert_eq!(lines[0]["uuid"], "alice");
    assert_eq!(lines[0]["occupancy"], 1);
    assert!(lines[0]["timetoken"].as_u64().is_some());
    assert_eq!(lines[1]["state"]["mood"], "busy");
    assert_eq!(wait_exit(&mut child), 0);
}

#[test]
fn watch_in_present_mode_joins_and_leaves_at_the_end() {
    let emulator = emulator();
    let mut child = presence(
        &emulator,
        "watcher",
        &["watch", "lobby", "--json", "--for", "1"],
    )
    .spawn()
    .expect("spawn");
    let lines = Lines::of(&mut child).until(|v| !v.is_empty());
    assert_eq!(lines[0]["action"], "join");
    assert_eq!(lines[0]["uuid"], "watcher");
    assert_eq!(wait_exit(&mut child), 0);
    let here = actor(&emulator, "look")
        .here_now()
        .channels(["lobby"])
        .call()
        .expect("here");
    assert_eq!(here.total_occupancy, 0, "left at the end");
}

#[test]
fn watch_ends_with_a_non_zero_exit_on_403() {
    let emulator = emulator();
    emulator.faults().push(
        FaultRule::respond(
            403,
            r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#,
        )
        .operation(Operation::Subscribe)
        .forever(),
    );
    let mut child = presence(&emulator, "watcher", &["watch", "lobby", "--observe"])
        .spawn()
        .expect("spawn");
    let code = wait_exit(&mut child);
    assert_ne!(code, 0);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn roster_json_prints_the_sorted_roster_on_each_change() {
    let emulator = emulator();
    for user in ["bob", "alice"] {
        actor(&emulator, user)
            .heartbeat()
            .channels(["lobby"])
            .presence_timeout(1000)
            .call()
            .expect("join");
    }
    let mut child = presence(
        &emulator,
        "watcher",
        &["roster", "lobby", "--json", "--for", "3"],
    )
    .spawn()
    .expect("spawn");
    let lines = Lines::of(&mut child);
    let first = lines.until(|v| !v.is_empty());
    assert_eq!(first[0]["channel"], "lobby");
    assert_eq!(first[0]["uuids"], serde_json::json!(["alice", "bob"]));
    assert_eq!(first[0]["occupancy"], 2);
    actor(&emulator, "carol")
        .heartbeat()
        .channels(["lobby"])
        .presence_timeout(1000)
        .call()
        .expect("join");
    let more = lines.until(|v| {
        v.last()
            .is_some_and(|l| l["uuids"] == serde_json::json!(["alice", "bob", "carol"]))
    });
    assert_eq!(more.last().expect("a line")["occupancy"], 3);
    assert_eq!(wait_exit(&mut child), 0);
}
