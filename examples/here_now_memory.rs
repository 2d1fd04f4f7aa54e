//! Peak memory of a large here now reply, per MiB of reply: the core parse, the `presence` CLI
//! (table and `--json`), and both adapters. Each case runs in a fresh child process and reads
//! its peak RSS (`VmHWM` in `/proc/self/status`; for the CLI, polled from `/proc/<pid>/status`
//! until it exits). Linux only.
//!
//! ```sh
//! cargo build --release -p presence-cli          # the CLI case runs target/release/presence
//! cargo run --release --example here_now_memory  # HERE_NOW_USERS=1000000 by default
//! ```
//!
//! The reply lists `HERE_NOW_USERS` tiny user ids (4 characters, 7 bytes each on the wire) on
//! one channel, as a valid single-channel here now body; a raw TCP server in the parent serves
//! it, so the reply is not counted in the adapters' and the CLI's memory.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use presence_proto::{HereNow, Operation as _};

fn users() -> usize {
    std::env::var("HERE_NOW_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// The reply body: `{"status":200,…,"uuids":["0000","0001",…],"occupancy":N}`.
fn body(users: usize) -> Vec<u8> {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(users * 7 + 128);
    out.extend_from_slice(br#"{"status":200,"message":"OK","service":"Presence","uuids":["#);
    for i in 0..users {
        if i > 0 {
            out.push(b',');
        }
        let mut id = [b'0'; 4];
        let mut n = i;
        for slot in id.iter_mut().rev() {
            *slot = DIGITS[n % 36];
            n /= 36;
        }
        out.push(b'"');
        out.extend_from_slice(&id);
        out.push(b'"');
    }
    out.extend_from_slice(format!(r#"],"occupancy":{users}}}"#).as_bytes());
    out
}

fn peak_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn own_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(peak_rss_kib)
        .unwrap_or(0)
}

/// Serves `body` to every request on `listener` (one thread per connection).
fn serve(listener: TcpListener, body: Vec<u8>) {
    let body = std::sync::Arc::new(body);
    for stream in listener.incoming().flatten() {
        let body = std::sync::Arc::clone(&body);
        std::thread::spawn(move || answer(stream, &body));
    }
}

fn answer(mut stream: TcpStream, body: &[u8]) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
    let _ = stream.write_all(body);
}

fn config(origin: &str) -> presence_proto::Config {
    presence_proto::Config::builder("sub-c-bench", "bench")
        .origin(origin)
        .build()
        .expect("config")
}

/// Child side: runs one case and prints its peak RSS in KiB.
fn child(case: &str, origin: &str) {
    let users = users();
    let total = match case {
        "core" => {
            let body = body(users);
            let reply = presence_proto::http::Response::builder()
                .status(200)
                .body(&body[..])
                .expect("reply");
            let result = HereNow::new()
                .channels(["lobby"])
                .parse(reply)
                .expect("parse");
            result.channels.first().map_or(0, |c| c.occupants.len())
        }
        "tokio" => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let client = presence_tokio::Client::builder(config(origin))
                    .build()
                    .expect("client");
                let result = client
                    .here_now()
                    .channels(["lobby"])
                    .await
                    .expect("here now");
                result.channels.first().map_or(0, |c| c.occupants.len())
            })
        }
        "blocking" => {
            let client = presence_blocking::Client::builder(config(origin))
                .build()
                .expect("client");
            let result = client
                .here_now()
                .channels(["lobby"])
                .call()
                .expect("here now");
            result.channels.first().map_or(0, |c| c.occupants.len())
        }
        other => panic!("unknown case {other}"),
    };
    assert_eq!(total, users);
    println!("{}", own_peak_kib());
}

/// Runs the CLI against `origin`, polling its peak RSS until it exits.
fn cli(binary: &std::path::Path, origin: &str, json: bool) -> Option<u64> {
    let mut cmd = Command::new(binary);
    cmd.env("PUBNUB_SUBSCRIBE_KEY", "sub-c-bench")
        .env("PUBNUB_USER_ID", "bench")
        .env("PUBNUB_ORIGIN", origin)
        .args(["here-now", "lobby"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if json {
        cmd.arg("--json");
    }
    let mut child = cmd.spawn().ok()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(peak_rss_kib)
        {
            peak = peak.max(kib);
        }
        if child.try_wait().ok()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Some(peak)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let (Some("--case"), Some(case), Some(origin)) =
        (args.get(1).map(String::as_str), args.get(2), args.get(3))
    {
        child(case, origin);
        return;
    }
    let users = users();
    let body = body(users);
    let mib = body.len() as f64 / (1024.0 * 1024.0);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || serve(listener, body));
    println!("here now of {users} user ids: reply {mib:.2} MiB");
    println!(
        "{:<22} {:>14} {:>16}",
        "case", "peak RSS MiB", "per reply MiB"
    );
    let report = |name: &str, kib: Option<u64>| match kib {
        Some(kib) => {
            let peak = kib as f64 / 1024.0;
            println!("{name:<22} {peak:>14.1} {:>15.1}x", peak / mib);
        }
        None => println!("{name:<22} {:>14} {:>16}", "n/a", "n/a"),
    };
    let me = std::env::current_exe().expect("current exe");
    for case in ["core", "blocking", "tokio"] {
        let out = Command::new(&me)
            .args(["--case", case, &origin])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
        report(case, out);
    }
    let binary = std::env::var_os("PRESENCE_BIN").map_or_else(
        || {
            me.parent()
                .and_then(|examples| examples.parent())
                .map(|dir| dir.join("presence"))
                .unwrap_or_default()
        },
        std::path::PathBuf::from,
    );
    if binary.exists() {
        report("cli (table)", cli(&binary, &origin, false));
        report("cli (--json)", cli(&binary, &origin, true));
    } else {
        println!(
            "cli: {} not found (cargo build --release -p presence-cli, or set PRESENCE_BIN)",
            binary.display()
        );
    }
}
