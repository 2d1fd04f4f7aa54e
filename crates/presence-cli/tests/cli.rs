//! End-to-end tests of the `presence` binary (crate `presence-cli`) against the emulator
//! (started with `start_in_background()`): every subcommand, `--json` output parsed and
//! checked, each error family's exit code, and bad input rejected with nothing sent.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use presence_emulator::{BackgroundEmulator, EmulatorBuilder, FaultRule, KeysetOptions};
use serde_json::{Value, json};

const SECRET: &str = "sec-c-TOPSECRET";
const AUTH: &str = "auth-TOKEN-XYZ";

/// Path of the `presence` binary (built by cargo for this integration test).
fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_presence"))
}

/// A `presence` command with the keys in the environment and no other PUBNUB_* variables.
fn presence(emulator: &BackgroundEmulator) -> Command {
    let mut cmd = bare();
    cmd.env("PUBNUB_SUBSCRIBE_KEY", "sub-c-cli")
        .env("PUBNUB_USER_ID", "alice")
        .env("PUBNUB_ORIGIN", emulator.origin());
    cmd
}

/// A `presence` command with no PUBNUB_* variables at all.
fn bare() -> Command {
    let mut cmd = Command::new(binary());
    for var in [
        "PUBNUB_SUBSCRIBE_KEY",
        "PUBNUB_PUBLISH_KEY",
        "PUBNUB_SECRET_KEY",
        "PUBNUB_AUTH_KEY",
        "PUBNUB_USER_ID",
        "PUBNUB_ORIGIN",
    ] {
        cmd.env_remove(var);
    }
    cmd.timeout(Duration::from_secs(30));
    cmd
}

fn emulator() -> BackgroundEmulator {
    EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn stderr_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stderr).unwrap_or_else(|e| {
        panic!(
            "stderr is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `args`, expects exit code `code`, returns the output.
fn run(cmd: &mut Command, args: &[&str], code: i32) -> Output {
    let output = cmd.args(args).output().expect("run presence");
    assert_eq!(
        output.status.code(),
        Some(code),
        "presence {args:?}\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

// ---------------------------------------------------------------------------------------------
// Every subcommand.

#[test]
fn presence_subcommands_table_and_json() {
    let emu = emulator();
    let out = run(
        &mut presence(&emu),
        &[
            "heartbeat",
            "lobby",
            "hall",
            "--state",
            r#"{"mood":"happy"}"#,
            "--timeout",
            "120",
        ],
        0,
    );
    assert_eq!(text(&out.stdout), "ok: heartbeat\n");
    run(
        &mut presence(&emu),
        &["--user-id", "bob", "heartbeat", "lobby"],
        0,
    );
    assert_eq!(emu.occupants("sub-c-cli", "lobby"), ["alice", "bob"]);

    // here-now, table.
    let out = run(&mut presence(&emu), &["here-now", "lobby", "--state"], 0);
    let table = text(&out.stdout);
    assert!(
        table.starts_with("CHANNEL  OCCUPANCY  USER   STATE\n"),
        "{table}"
    );
    assert!(
        table.contains(r#"lobby    2          alice  {"mood":"happy"}"#),
        "{table}"
    );
    assert!(table.contains("lobby    2          bob\n"), "{table}");
    assert!(
        table.ends_with("total: 1 channel(s), 2 occupant(s)\n"),
        "{table}"
    );

    // here-now, JSON.
    let out = run(
        &mut presence(&emu),
        &["here-now", "lobby", "hall", "--state", "--json"],
        0,
    );
    let v = stdout_json(&out);
    assert_eq!(v["total_channels"], 2);
    assert_eq!(v["total_occupancy"], 3);
    let hall = &v["channels"][0];
    assert_eq!(hall["name"], "hall");
    assert_eq!(hall["occupancy"], 1);
    assert_eq!(hall["occupants_listed"], true);
    assert_eq!(
        hall["occupants"],
        json!([{"user_id": "alice", "state": {"mood": "happy"}}])
    );
    assert_eq!(
        v["channels"][1]["occupants"][1],
        json!({"user_id": "bob", "state": null})
    );

    // --no-users, --limit, --offset.
    let out = run(
        &mut presence(&emu),
        &["here-now", "lobby", "--no-users", "--json"],
        0,
    );
    let v = stdout_json(&out);
    assert_eq!(v["channels"][0]["occupancy"], 2);
    assert_eq!(v["channels"][0]["occupants_listed"], false);
    assert_eq!(v["channels"][0]["occupants"], json!([]));
    let out = run(&mut presence(&emu), &["here-now", "lobby", "--no-users"], 0);
    assert!(text(&out.stdout).starts_with("CHANNEL  OCCUPANCY\nlobby    2\n"));
    let out = run(
        &mut presence(&emu),
        &[
            "here-now", "lobby", "--limit", "1", "--offset", "1", "--json",
        ],
        0,
    );
    let v = stdout_json(&out);
    assert_eq!(v["channels"][0]["occupancy"], 2);
    assert_eq!(
        v["channels"][0]["occupants"],
        json!([{"user_id": "bob", "state": null}])
    );
    // Global here now (no channel).
    let out = run(&mut presence(&emu), &["here-now", "--json"], 0);
    assert_eq!(stdout_json(&out)["total_occupancy"], 3);

    // where-now: default user and another one.
    let out = run(&mut presence(&emu), &["where-now", "--json"], 0);
    assert_eq!(
        stdout_json(&out),
        json!({"user_id": "alice", "channels": ["hall", "lobby"]})
    );
    let out = run(&mut presence(&emu), &["where-now", "bob"], 0);
    assert_eq!(text(&out.stdout), "CHANNEL\nlobby\n");
    let out = run(&mut presence(&emu), &["where-now", "nobody"], 0);
    assert_eq!(text(&out.stdout), "nobody is on no channel\n");

    // set-state / get-state, own and another user's.
    let out = run(
        &mut presence(&emu),
        &[
            "set-state",
            "lobby",
            "--state",
            r#"{"status":"away","n":2}"#,
            "--json",
        ],
        0,
    );
    assert_eq!(
        stdout_json(&out),
        json!({"user_id": "alice", "state": {"status": "away", "n": 2}})
    );
    let out = run(
        &mut presence(&emu),
        &[
            "set-state",
            "lobby",
            "--user",
            "bob",
            "--state",
            r#"{"role":"mod"}"#,
        ],
        0,
    );
    assert_eq!(text(&out.stdout), "USER  STATE\nbob   {\"role\":\"mod\"}\n");
    let out = run(&mut presence(&emu), &["get-state", "lobby", "--json"], 0);
    assert_eq!(
        stdout_json(&out),
        json!({"user_id": "alice", "channels": [{"channel": "lobby", "state": {"status": "away", "n": 2}}]})
    );
    let out = run(
        &mut presence(&emu),
        &["get-state", "lobby", "--user", "bob"],
        0,
    );
    assert_eq!(
        text(&out.stdout),
        "CHANNEL  STATE\nlobby    {\"role\":\"mod\"}\n"
    );

    // leave.
    let out = run(&mut presence(&emu), &["leave", "hall", "--json"], 0);
    assert_eq!(
        stdout_json(&out),
        json!({"ok": true, "operation": "leave", "action": "leave"})
    );
    assert!(emu.occupants("sub-c-cli", "hall").is_empty());
}

#[test]
fn groups_subcommands_and_group_options() {
    let emu = emulator();
    let out = run(
        &mut presence(&emu),
        &["groups", "add", "friends", "a", "b", "--json"],
        0,
    );
    assert_eq!(
        stdout_json(&out),
        json!({"ok": true, "operation": "add_channels_to_group"})
    );
    let out = run(&mut presence(&emu), &["groups", "list", "friends"], 0);
    assert_eq!(text(&out.stdout), "CHANNEL\na\nb\n");
    let out = run(
        &mut presence(&emu),
        &["groups", "remove", "friends", "b"],
        0,
    );
    assert_eq!(text(&out.stdout), "ok: remove_channels_from_group\n");
    let out = run(
        &mut presence(&emu),
        &["groups", "list", "friends", "--json"],
        0,
    );
    assert_eq!(
        stdout_json(&out),
        json!({"group": "friends", "channels": ["a"]})
    );

    // The channel-taking subcommands accept --group instead of (or beside) channels.
    run(&mut presence(&emu), &["heartbeat", "--group", "friends"], 0);
    let out = run(
        &mut presence(&emu),
        &["here-now", "--group", "friends", "--json"],
        0,
    );
    let v = stdout_json(&out);
    assert_eq!(v["channels"][0]["name"], "a");
    assert_eq!(v["channels"][0]["occupants"][0]["user_id"], "alice");
    run(
        &mut presence(&emu),
        &["set-state", "--group", "friends", "--state", r#"{"g":1}"#],
        0,
    );
    let out = run(
        &mut presence(&emu),
        &["get-state", "--group", "friends", "--json"],
        0,
    );
    assert_eq!(stdout_json(&out)["channels"][0]["state"], json!({"g": 1}));
    run(&mut presence(&emu), &["leave", "--group", "friends"], 0);
    assert!(emu.occupants("sub-c-cli", "a").is_empty());

    let out = run(
        &mut presence(&emu),
        &["groups", "delete", "friends", "--json"],
        0,
    );
    assert_eq!(
        stdout_json(&out),
        json!({"ok": true, "operation": "delete_group"})
    );
    let out = run(&mut presence(&emu), &["groups", "list", "friends"], 0);
    assert_eq!(text(&out.stdout), "group friends has no channels\n");
}

// ---------------------------------------------------------------------------------------------
// Bad input: clear message, exit 2, nothing sent.

#[test]
fn bad_input_is_refused_before_sending() {
    let emu = emulator();
    let cases: &[(&[&str], &str)] = &[
        (
            &["set-state", "lobby", "--state", "{mood: happy}"],
            "--state is not valid JSON",
        ),
        (
            &["set-state", "lobby", "--state", "[1,2]"],
            "--state must be a JSON object",
        ),
        (
            &["heartbeat", "lobby", "--state", "nope"],
            "--state is not valid JSON",
        ),
        (&["here-now", ""], "empty or whitespace channel name"),
        (&["leave", " "], "empty or whitespace channel name"),
        (
            &["heartbeat", "lobby", "--group", ""],
            "empty or whitespace group name",
        ),
        (&["here-now", "lobby", "--limit", "5000"], "limit"),
        (&["here-now", "--bogus"], "unexpected argument '--bogus'"),
        (&["heartbeat"], "required"),
        (&["set-state", "lobby"], "--state <JSON>"),
        (&["groups", "add", "g"], "required"),
        (&["here-now", "--limit", "many"], "invalid value 'many'"),
        (
            &["heartbeat", "lobby", "--timeout", "-5"],
            "unexpected argument",
        ),
        (&["teleport"], "unrecognized subcommand"),
        (
            &["--request-timeout", "0", "where-now"],
            "--request-timeout",
        ),
    ];
    for (args, message) in cases {
        let out = run(&mut presence(&emu), args, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
    // The same as JSON on stderr.
    let out = run(&mut presence(&emu), &["here-now", "", "--json"], 2);
    let err = stderr_json(&out);
    assert_eq!(err["error"]["kind"], "invalid_input");
    assert_eq!(err["error"]["exit_code"], 2);
    let out = run(&mut presence(&emu), &["--json", "here-now", "--bogus"], 2);
    assert_eq!(stderr_json(&out)["error"]["kind"], "usage");
    let out = run(
        &mut presence(&emu),
        &["set-state", "a", "--state", "{", "--json"],
        2,
    );
    assert_eq!(stderr_json(&out)["error"]["kind"], "usage");

    assert_eq!(emu.stats().requests_total, 0, "{:?}", emu.stats());
}

#[test]
fn missing_keys_are_usage_errors() {
    let out = run(&mut bare(), &["where-now"], 2);
    assert!(
        text(&out.stderr).contains("missing --subscribe-key: pass it or set PUBNUB_SUBSCRIBE_KEY")
    );
    let out = run(&mut bare(), &["--subscribe-key", "k", "where-now"], 2);
    assert!(text(&out.stderr).contains("missing --user-id"));
    let out = run(
        &mut bare(),
        &[
            "--subscribe-key",
            "k",
            "--user-id",
            "u",
            "--origin",
            "ftp://x",
            "where-now",
        ],
        2,
    );
    assert!(
        text(&out.stderr).contains("origin"),
        "{}",
        text(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Service and transport errors: documented exit codes, kind on stderr.

fn expect_failure(cmd: &mut Command, args: &[&str], code: i32, kind: &str) -> Output {
    let out = run(cmd, args, code);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("presence: error [{kind}]: ")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    out
}

#[test]
fn errors_map_to_documented_exit_codes() {
    let emu = emulator();
    let faults = emu.faults();

    faults.push(FaultRule::respond(
        404,
        r#"{"status":404,"error":true,"message":"Not Found"}"#,
    ));
    expect_failure(&mut presence(&emu), &["where-now"], 4, "not_found");
    faults.push(FaultRule::respond(
        400,
        r#"{"status":400,"error":true,"message":"Invalid"}"#,
    ));
    expect_failure(&mut presence(&emu), &["here-now", "a"], 4, "bad_request");
    faults.push(FaultRule::respond(500, "<html>boom</html>"));
    let out = expect_failure(&mut presence(&emu), &["here-now", "a"], 6, "server");
    assert!(text(&out.stderr).contains("500"));
    faults.push(FaultRule::respond(
        429,
        r#"{"status":429,"error":true,"message":"slow down"}"#,
    ));
    expect_failure(&mut presence(&emu), &["leave", "a"], 6, "too_many_requests");
    faults.push(FaultRule::invalid_json());
    expect_failure(&mut presence(&emu), &["here-now", "a"], 7, "decode");
    faults.push(FaultRule::delay(Duration::from_secs(5)));
    expect_failure(
        &mut presence(&emu),
        &["--request-timeout", "0.3", "where-now"],
        5,
        "timeout",
    );
    faults.push(FaultRule::drop_connection());
    expect_failure(&mut presence(&emu), &["where-now"], 5, "network");
    faults.push(FaultRule::respond(
        403,
        r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#,
    ));
    let out = run(&mut presence(&emu), &["where-now", "--json"], 3);
    let err = stderr_json(&out);
    assert_eq!(err["error"]["kind"], "access_denied");
    assert_eq!(err["error"]["exit_code"], 3);
    assert_eq!(err["error"]["status"], 403);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Forbidden")
    );

    // Nothing listening at all.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let out = expect_failure(
        presence(&emu).env("PUBNUB_ORIGIN", format!("http://127.0.0.1:{port}")),
        &["where-now"],
        5,
        "network",
    );
    assert!(
        text(&out.stderr).contains("connect"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn not_enabled_and_too_large_exit_with_8() {
    let emu = EmulatorBuilder::new()
        .default_keyset(KeysetOptions::new().presence_enabled(false))
        .start_in_background()
        .expect("emulator");
    expect_failure(&mut presence(&emu), &["here-now", "a"], 8, "not_enabled");
    let many: Vec<String> = (0..400)
        .map(|i| format!("{i:03}-{}", "c".repeat(96)))
        .collect();
    let mut args = vec!["here-now"];
    args.extend(many.iter().map(String::as_str));
    expect_failure(&mut presence(&emu), &args, 8, "too_large");
    assert_eq!(emu.stats().requests_total, 1);
}

// ---------------------------------------------------------------------------------------------
// Secrets: signed requests work, and the keys never show up.

#[test]
fn secrets_never_appear_in_help_errors_or_logs() {
    let emu = EmulatorBuilder::new()
        .default_keyset(KeysetOptions::new().secret_key(SECRET).publish_key("pub-c"))
        .start_in_background()
        .expect("emulator");
    let with_secrets = || {
        let mut cmd = presence(&emu);
        cmd.env("PUBNUB_SECRET_KEY", SECRET)
            .env("PUBNUB_AUTH_KEY", AUTH)
            .env("PUBNUB_PUBLISH_KEY", "pub-c");
        cmd
    };
    let out = run(&mut with_secrets(), &["--help"], 0);
    let help = text(&out.stdout);
    assert!(
        help.contains("PUBNUB_SECRET_KEY") && help.contains("Exit codes:"),
        "{help}"
    );
    assert!(!help.contains(SECRET) && !help.contains(AUTH), "{help}");
    let out = run(&mut with_secrets(), &["heartbeat", "--help"], 0);
    assert!(!text(&out.stdout).contains(SECRET) && !text(&out.stdout).contains(AUTH));

    // Signed calls are accepted; --verbose logs the path but no key, token or signature.
    let out = run(&mut with_secrets(), &["--verbose", "heartbeat", "lobby"], 0);
    let log = text(&out.stderr);
    assert!(
        log.contains("/v2/presence/sub-key/sub-c-cli/channel/lobby/heartbeat"),
        "{log}"
    );
    for leak in [SECRET, AUTH, "signature", "auth="] {
        assert!(!log.contains(leak), "{leak} in: {log}");
    }

    // A wrong secret: access denied, and the secret is not echoed.
    let out = run(
        &mut with_secrets(),
        &[
            "--secret-key",
            "sec-c-WRONGSECRET",
            "-v",
            "here-now",
            "lobby",
        ],
        3,
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("presence: error [access_denied]"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WRONGSECRET") && !stderr.contains(AUTH),
        "{stderr}"
    );

    // Errors from the transport do not carry them either.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let out = run(
        with_secrets().env("PUBNUB_ORIGIN", format!("http://127.0.0.1:{port}")),
        &["-v", "--json", "where-now"],
        5,
    );
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains(SECRET) && !stderr.contains(AUTH),
        "{stderr}"
    );
}

#[test]
fn flags_override_the_environment() {
    let emu = emulator();
    run(
        &mut presence(&emu),
        &[
            "--subscribe-key",
            "sub-c-other",
            "--user-id",
            "zed",
            "heartbeat",
            "x",
        ],
        0,
    );
    assert_eq!(emu.occupants("sub-c-other", "x"), ["zed"]);
    assert!(emu.occupants("sub-c-cli", "x").is_empty());
    let out = run(&mut presence(&emu), &["--version"], 0);
    assert!(text(&out.stdout).starts_with("presence "));
}
