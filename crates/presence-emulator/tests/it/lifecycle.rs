//! Starting and stopping: async handle, background handle, drop.

use std::net::TcpStream;
use std::time::Duration;

use presence_emulator::{EmulatorBuilder, ManualClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{ACK, eventually};

async fn get_async(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .expect("in time")
        .expect("read");
    out
}

#[tokio::test]
async fn async_start_serves_and_shutdown_closes_the_port() {
    let clock = ManualClock::new();
    let emu = EmulatorBuilder::new()
        .clock(clock.clone())
        .start()
        .await
        .expect("start");
    let addr = emu.local_addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(emu.origin(), format!("http://{addr}"));
    assert_eq!(emu.host_port(), addr.to_string());
    let reply = get_async(
        addr,
        "/v2/presence/sub-key/k/channel/c/heartbeat?uuid=u&heartbeat=20",
    )
    .await;
    assert!(reply.ends_with(ACK), "{reply}");
    assert_eq!(emu.occupants("k", "c"), ["u"]);
    clock.advance(Duration::from_secs(20));
    assert!(emu.occupants("k", "c").is_empty());
    emu.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_async_handle_stops_the_server() {
    let emu = EmulatorBuilder::new().start().await.expect("start");
    let addr = emu.local_addr();
    drop(emu);
    let mut closed = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "port still open after drop");
}

#[test]
fn background_emulator_stops_on_shutdown_and_on_drop() {
    let a = EmulatorBuilder::new().start_in_background().expect("start");
    let addr = a.local_addr();
    assert!(TcpStream::connect(addr).is_ok());
    a.shutdown();
    assert!(TcpStream::connect(addr).is_err());
    let b = EmulatorBuilder::new().start_in_background().expect("start");
    let addr = b.local_addr();
    drop(b);
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn background_emulator_can_start_inside_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let emu = rt
        .block_on(async { EmulatorBuilder::new().start_in_background() })
        .expect("start");
    let addr = emu.local_addr();
    eventually("serving", || TcpStream::connect(addr).is_ok());
    emu.shutdown();
}

#[test]
fn binding_a_busy_port_is_an_error_not_a_panic() {
    let first = EmulatorBuilder::new().start_in_background().expect("start");
    let err = EmulatorBuilder::new()
        .listen(first.local_addr())
        .start_in_background();
    assert!(err.is_err());
}

/// Starts the binary with `args` (plus a free port); returns it and its address.
fn spawn_binary(args: &[&str]) -> (std::process::Child, std::net::SocketAddr) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_presence-emulator"))
        .args(["--listen", "127.0.0.1:0", "--log", "warn"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("presence-emulator listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, addr)
}

#[test]
fn the_binary_takes_faults_grants_and_keyset_switches() {
    let file = std::env::temp_dir().join(format!(
        "presence-emulator-faults-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &file,
        r#"[{"path":"/channel/flaky","forever":true,"action":{"type":"respond","status":503,"body":"down"}}]"#,
    )
    .expect("write rule file");
    let path = file.to_string_lossy().to_string();
    let (mut child, addr) = spawn_binary(&[
        "--faults",
        &path,
        "--grant",
        "tok=channel:*:r",
        "--no-global-here-now",
    ]);
    let get = |p: &str| crate::common::get_at(addr, p, &[]);
    assert_eq!(
        get("/v2/presence/sub-key/k/channel/flaky?uuid=u&auth=tok").status,
        503
    );
    assert_eq!(
        get("/v2/presence/sub-key/k/channel/ok?uuid=u&auth=tok").status,
        200
    );
    assert_eq!(
        get("/v2/presence/sub-key/k/channel/ok?uuid=u&auth=nope").status,
        403
    );
    assert_eq!(get("/v2/presence/sub-key/k?uuid=u").status, 402);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(file);
}

#[cfg(unix)]
#[test]
fn the_binary_serves_and_exits_cleanly_on_ctrl_c() {
    use std::process::Command;

    let (mut child, addr) = spawn_binary(&["--manual-clock"]);
    let r = crate::common::get_at(
        addr,
        "/v2/presence/sub-key/k/channel/c/heartbeat?uuid=u",
        &[],
    );
    assert_eq!(r.body, ACK);
    let r = crate::common::send_at(addr, "POST", "/_emulator/clock", r#"{"advance_ms":1000}"#);
    assert_eq!(
        r.status, 200,
        "--manual-clock makes the clock endpoint work"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut exited = None;
    for _ in 0..500 {
        if let Some(s) = child.try_wait().expect("wait") {
            exited = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let Some(exit) = exited else {
        let _ = child.kill();
        panic!("the binary did not exit after SIGINT");
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn the_binary_documents_every_option() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_presence-emulator"))
        .arg("--help")
        .output()
        .expect("run --help");
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--manual-clock",
        "--timeout-unit-ms",
        "--min-presence-timeout",
        "--max-presence-timeout",
        "--no-admin",
        "--no-global-here-now",
        "--presence-disabled",
        "--secret-key",
        "--publish-key",
        "--grant",
        "--faults",
        "--log",
    ] {
        assert!(help.contains(option), "{option} missing from --help");
    }
}
