//! Issue 19: the `presence` binary completes calls over TLS to the emulator serving a
//! self-signed certificate, trusted with `--cacert` or `PRESENCE_CACERT`; without it the
//! certificate is refused.

use std::process::Command;

use presence_emulator::{EmulatorBuilder, TlsIdentity};

fn presence(origin: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_presence"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PUBNUB_")
            || name.starts_with("PRESENCE_")
            || name.ends_with("_PROXY")
            || name.ends_with("_proxy")
        {
            cmd.env_remove(name);
        }
    }
    cmd.env("PUBNUB_SUBSCRIBE_KEY", "sub-c-cli")
        .env("PUBNUB_USER_ID", "alice")
        .env("PUBNUB_ORIGIN", origin);
    cmd
}

#[test]
fn cacert_flag_and_env_trust_the_emulators_certificate() {
    let identity = TlsIdentity::self_signed(["localhost", "127.0.0.1"]).expect("cert");
    let dir = std::env::temp_dir().join(format!("presence-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca = dir.join("emulator-ca.pem");
    std::fs::write(&ca, identity.certificate_pem()).expect("write ca");
    let emulator = EmulatorBuilder::new()
        .tls(identity)
        .start_in_background()
        .expect("emulator");
    let origin = emulator.origin();
    assert!(origin.starts_with("https://"));

    let out = presence(&origin)
        .args(["heartbeat", "lobby", "--cacert"])
        .arg(&ca)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = presence(&origin)
        .env("PRESENCE_CACERT", &ca)
        .args(["here-now", "lobby", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice"));

    // Without the CA: refused, and the message says why.
    let out = presence(&origin)
        .args(["here-now", "lobby"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown CA"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
