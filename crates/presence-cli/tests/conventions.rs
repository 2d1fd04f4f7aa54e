//! Black-box tests of the `presence` binary's conventions: usage errors in `--json` keep their
//! full text, help has a global-options heading and examples, `--color` and the terminal
//! check, `here-now --all`, profiles and shell completions.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use presence_emulator::{BackgroundEmulator, EmulatorBuilder};
use serde_json::Value;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_presence"))
}

/// A `presence` command with no PUBNUB_*, PRESENCE_* or colour variables.
fn bare() -> Command {
    let mut cmd = Command::new(binary());
    for var in [
        "PUBNUB_SUBSCRIBE_KEY",
        "PUBNUB_PUBLISH_KEY",
        "PUBNUB_SECRET_KEY",
        "PUBNUB_AUTH_KEY",
        "PUBNUB_USER_ID",
        "PUBNUB_ORIGIN",
        "PRESENCE_PROFILE",
        "PRESENCE_CONFIG",
        "NO_COLOR",
        "CLICOLOR_FORCE",
    ] {
        cmd.env_remove(var);
    }
    cmd.timeout(Duration::from_secs(60));
    cmd
}

fn presence(emulator: &BackgroundEmulator) -> Command {
    let mut cmd = bare();
    cmd.env("PUBNUB_SUBSCRIBE_KEY", "sub-c-conv")
        .env("PUBNUB_USER_ID", "alice")
        .env("PUBNUB_ORIGIN", emulator.origin());
    cmd
}

fn emulator() -> BackgroundEmulator {
    EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator")
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("presence-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// Usage errors and help.

#[test]
fn json_usage_errors_name_the_missing_argument() {
    let out = bare().args(["heartbeat", "--json"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let doc = json(&out.stderr);
    let message = doc["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("the following required arguments were not provided"),
        "{message}"
    );
    assert!(message.contains("<CHANNEL>"), "argument named: {message}");
    assert_eq!(doc["error"]["kind"], "usage");

    let out = bare()
        .args(["set-state", "lobby", "--json"])
        .output()
        .expect("run");
    let message = json(&out.stderr)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("--state <JSON>"), "{message}");
}

#[test]
fn subcommand_help_has_a_global_heading_and_ends_with_examples() {
    for command in [
        "here-now",
        "where-now",
        "heartbeat",
        "leave",
        "set-state",
        "get-state",
        "groups",
        "keep-present",
        "profiles",
        "completions",
    ] {
        for flag in ["-h", "--help"] {
            let out = bare().args([command, flag]).output().expect("run");
            assert!(out.status.success(), "{command} {flag}");
            let help = String::from_utf8(out.stdout).expect("utf-8");
            let global = help.find("Global options:").expect("global heading");
            let own = help.find("Options:").expect("own options");
            assert!(own < global, "{command}: own options first\n{help}");
            assert!(
                help[global..].contains("--subscribe-key"),
                "{command}: globals under their heading"
            );
            assert!(
                !help[own..global].contains("--subscribe-key"),
                "{command}: globals not mixed in"
            );
            let examples = help.rfind("Examples:").expect("examples");
            let lines: Vec<&str> = help[examples..].lines().skip(1).collect();
            assert!(
                (2..=3).contains(&lines.iter().filter(|l| l.contains("presence")).count()),
                "{command}: 2-3 examples\n{help}"
            );
            assert!(help.trim_end().ends_with(lines.last().unwrap().trim_end()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Colour.

fn has_escape(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
}

#[test]
fn verbose_log_into_a_file_has_no_escape_codes() {
    let emulator = emulator();
    let dir = scratch("color");
    let log = dir.join("stderr.log");
    let file = std::fs::File::create(&log).expect("log file");
    let status = std::process::Command::new(binary())
        .args(["here-now", "lobby", "-v"])
        .env("PUBNUB_SUBSCRIBE_KEY", "sub-c-conv")
        .env("PUBNUB_USER_ID", "alice")
        .env("PUBNUB_ORIGIN", emulator.origin())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stdout(Stdio::null())
        .stderr(file)
        .status()
        .expect("run");
    assert!(status.success());
    let written = std::fs::read(&log).expect("read log");
    assert!(!written.is_empty(), "-v logged something");
    assert!(
        !has_escape(&written),
        "{}",
        String::from_utf8_lossy(&written)
    );
}

#[test]
fn color_always_colours_through_a_pipe_and_never_or_no_color_do_not() {
    let emulator = emulator();
    let run = |args: &[&str], env: &[(&str, &str)]| -> Output {
        let mut cmd = presence(&emulator);
        cmd.args(["here-now", "lobby", "-v"]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run")
    };
    let always = run(&["--color", "always"], &[]);
    assert!(always.status.success());
    assert!(has_escape(&always.stderr), "coloured through a pipe");
    assert!(!has_escape(&always.stdout), "tables are never coloured");
    assert!(!has_escape(
        &run(&["--color=never"], &[("CLICOLOR_FORCE", "1")]).stderr
    ));
    assert!(
        !has_escape(&run(&[], &[]).stderr),
        "auto: a pipe is not a terminal"
    );
    assert!(has_escape(&run(&[], &[("CLICOLOR_FORCE", "1")]).stderr));
    assert!(
        !has_escape(&run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).stderr),
        "NO_COLOR wins"
    );
    // Help follows --color too.
    let help = bare()
        .args(["here-now", "--help", "--color", "always"])
        .output()
        .expect("run");
    assert!(has_escape(&help.stdout));
}

// ---------------------------------------------------------------------------------------------
// here-now --all.

#[test]
fn here_now_all_json_lists_every_user_once() {
    const USERS: usize = 2_500;
    let emulator = emulator();
    let origin = emulator.origin();
    let config = |user: &str| {
        presence_blocking::Config::builder("sub-c-conv", user)
            .origin(origin.as_str())
            .build()
            .expect("config")
    };
    let client = presence_blocking::Client::new(config("seeder")).expect("client");
    std::thread::scope(|scope| {
        for t in 0..10 {
            let (client, config) = (&client, &config);
            scope.spawn(move || {
                for i in (t..USERS).step_by(10) {
                    let me = client.with_config(config(&format!("u{i:04}")));
                    me.heartbeat()
                        .channels(["arena"])
                        .call()
                        .expect("heartbeat");
                }
            });
        }
    });
    let out = presence(&emulator)
        .args(["here-now", "arena", "--all", "--limit", "1000", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["pages"], 3);
    assert_eq!(doc["occupancy_changed"], false);
    assert_eq!(doc["total_occupancy"], USERS);
    let occupants = doc["channels"][0]["occupants"]
        .as_array()
        .expect("occupants");
    let mut ids: Vec<&str> = occupants
        .iter()
        .map(|u| u["user_id"].as_str().expect("user_id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), USERS, "every user exactly once");
    assert_eq!(occupants.len(), USERS);

    // The same document shape as a single page (`here-now --json`), plus the paging fields.
    let one = json(
        &presence(&emulator)
            .args(["here-now", "arena", "--limit", "10", "--json"])
            .output()
            .expect("run")
            .stdout,
    );
    for key in one.as_object().expect("object").keys() {
        assert!(doc.get(key).is_some(), "{key} in --all too");
    }
    let table = presence(&emulator)
        .args(["here-now", "arena", "--all"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("pages: 3"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("arena")).count(),
        USERS
    );
}

// ---------------------------------------------------------------------------------------------
// Profiles.

fn write_profiles(path: &Path, origin: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    std::fs::write(
        path,
        format!(
            r#"
[profiles.dev]
subscribe_key = "sub-c-profile"
publish_key = "pub-c-profile"
secret_key = {{ env = "CONV_TEST_SECRET" }}
auth_key = {{ command = "echo auth-from-command" }}
user_id = "prof-user"
origin = "{origin}"

[profiles.plain]
subscribe_key = "sub-c-plain"
secret_key = "sec-c-PLAINSECRET"
user_id = "plain"
"#
        ),
    )
    .expect("write profiles");
}

#[test]
fn profiles_fill_options_and_flags_override_them() {
    let emulator = emulator();
    let dir = scratch("profiles");
    let file = dir.join("profiles.toml");
    write_profiles(&file, &emulator.origin());

    // The profile's keys, user id and origin: a heartbeat lands as prof-user.
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .env("CONV_TEST_SECRET", "sec-c-FROMENV")
        .args(["--profile", "dev", "heartbeat", "lobby", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .env("PRESENCE_PROFILE", "dev")
        .env("CONV_TEST_SECRET", "sec-c-FROMENV")
        .args(["here-now", "lobby", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["channels"][0]["occupants"][0]["user_id"], "prof-user");

    // A flag (and a PUBNUB_* variable) wins over the profile.
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .env("CONV_TEST_SECRET", "x")
        .env("PUBNUB_USER_ID", "from-env")
        .args(["--profile", "dev", "where-now", "--json"])
        .output()
        .expect("run");
    assert_eq!(json(&out.stdout)["user_id"], "from-env");
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .env("CONV_TEST_SECRET", "x")
        .args([
            "--profile",
            "dev",
            "--user-id",
            "from-flag",
            "where-now",
            "--json",
        ])
        .output()
        .expect("run");
    assert_eq!(json(&out.stdout)["user_id"], "from-flag");

    // A secret naming an unset variable, and an unknown profile: usage errors naming them.
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .args(["--profile", "dev", "where-now", "--json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let message = json(&out.stderr)["error"]["message"].to_string();
    assert!(message.contains("CONV_TEST_SECRET"), "{message}");
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .args(["--profile", "nope", "where-now"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile named nope"));
}

#[test]
fn profiles_are_listed_with_secrets_masked() {
    let dir = scratch("listing");
    let file = dir.join("profiles.toml");
    write_profiles(&file, "http://127.0.0.1:1");
    let out = bare()
        .env("PRESENCE_CONFIG", &file)
        .args(["profiles", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["path"], file.display().to_string());
    let profiles = doc["profiles"].as_array().expect("profiles");
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0]["name"], "dev");
    assert_eq!(profiles[0]["secret_key"], "env:CONV_TEST_SECRET");
    assert_eq!(profiles[0]["auth_key"], "command:echo auth-from-command");
    assert_eq!(profiles[1]["secret_key"], "********");
    assert_eq!(profiles[1]["subscribe_key"], "sub-c-plain");
    let table = bare()
        .env("PRESENCE_CONFIG", &file)
        .arg("profiles")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(!text.contains("PLAINSECRET") && !text.contains("auth-from-command\n"));
    assert!(text.contains("sub-c-profile"), "{text}");
}

#[cfg(target_os = "linux")]
#[test]
fn profiles_file_defaults_to_the_platform_config_dir() {
    let dir = scratch("xdg");
    write_profiles(
        &dir.join("presence").join("profiles.toml"),
        "http://127.0.0.1:1",
    );
    let out = bare()
        .env("XDG_CONFIG_HOME", &dir)
        .args(["profiles", "--json"])
        .output()
        .expect("run");
    let doc = json(&out.stdout);
    assert_eq!(
        doc["path"],
        dir.join("presence/profiles.toml").display().to_string()
    );
    assert_eq!(doc["profiles"].as_array().map(Vec::len), Some(2));
}

// ---------------------------------------------------------------------------------------------
// Completions.

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef presence"),
        ("fish", "complete -c presence"),
    ] {
        let out = bare().args(["completions", shell]).output().expect("run");
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).expect("utf-8");
        assert!(script.contains(marker), "{shell}: {marker}");
        for word in ["here-now", "keep-present", "profiles", "subscribe-key"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let out = bare().args(["completions", "tcsh"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}
