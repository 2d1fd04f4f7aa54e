//! The official SDK scripts (`scripts/*_presence_events.*`) against the emulator binary.
//! Skipped, with the reason printed, when the SDK is not installed: the Python SDK is
//! looked for in `$PRESENCE_PYTHON` (default `python3`), the JS SDK through `$NODE_PATH`.

use std::path::Path;
use std::process::Command;

fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
        .display()
        .to_string()
}

fn works(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().expect("run the script");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
}

#[test]
fn python_sdk_receives_presence_events() {
    let python = std::env::var("PRESENCE_PYTHON").unwrap_or_else(|_| "python3".into());
    if !works(Command::new(&python).args(["-c", "import pubnub"])) {
        println!(
            "skipped: `{python}` has no `pubnub` module (set PRESENCE_PYTHON to a venv's python)"
        );
        return;
    }
    run(
        Command::new(&python).args([
            &script("python_sdk_presence_events.py"),
            "--binary",
            env!("CARGO_BIN_EXE_presence-emulator"),
        ]),
        "python_sdk_presence_events.py",
    );
}

#[test]
fn js_sdk_with_event_engine_receives_presence_events() {
    if !works(Command::new("node").args(["-e", "require('pubnub')"])) {
        println!(
            "skipped: node or its `pubnub` package is missing (set NODE_PATH to a node_modules with pubnub)"
        );
        return;
    }
    run(
        Command::new("node").args([
            &script("js_sdk_presence_events.js"),
            "--binary",
            env!("CARGO_BIN_EXE_presence-emulator"),
        ]),
        "js_sdk_presence_events.js",
    );
}
