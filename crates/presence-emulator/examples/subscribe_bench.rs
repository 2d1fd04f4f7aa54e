//! Held subscribe long-polls: memory per held poll beside a bare hyper + tokio server that
//! holds the same requests, and fan-out latency from one presence change to the last of N
//! watchers, for both servers measured the same way.
//!
//! `ulimit -n 20000; cargo run --release -p presence-emulator --example subscribe_bench`
//!
//! Each server under test runs in a fresh child process of this example (`--serve floor` or
//! `--serve emu`, a 2-worker tokio runtime), so that its RSS growth is its own (no client
//! sockets, no memory freed by an earlier measurement and reused) and each side has its own
//! descriptor table (10 000 polls need 10 000 descriptors on each side). The clients run in
//! this process, on a 2-worker runtime too, and read replies cheaply (no JSON parsing: the
//! `Content-Length` framing, a byte search for the joined uuid, and the cursor's digits).
//!
//! The floor ("bare hyper") accepts the same connections and requests, counts its held
//! polls, parks each on one shared `tokio::sync::Notify` with a hold `sleep`, and answers
//! the same heartbeat trigger by waking them all with one shared reply body.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use presence_emulator::EmulatorBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, Notify, mpsc};

const HOLD: Duration = Duration::from_secs(3600);
const ROUNDS: usize = 40;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn fd_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(1024)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------
// The servers (child process side).

/// The floor's shared state: one `Notify` for every held poll, the reply the last trigger
/// made, and the number of polls held.
#[derive(Default)]
struct Floor {
    notify: Notify,
    reply: Mutex<Bytes>,
    held: AtomicUsize,
}

enum FloorReq {
    Sizes,
    Trigger(String),
    Handshake,
    Poll,
}

/// A bare hyper + tokio server that holds every subscribe request until the next
/// heartbeat (or `HOLD`), then answers it with the reply body that heartbeat made.
async fn floor_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let floor = Arc::new(Floor::default());
    *floor.reply.lock().expect("lock") =
        Bytes::from_static(br#"{"t":{"t":"17000000000000000","r":12},"m":[]}"#);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let floor = Arc::clone(&floor);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    // Classified here, so that the request (and hyper's read buffer its URI
                    // points into) is dropped before the poll is held.
                    let path = req.uri().path();
                    let query = req.uri().query().unwrap_or("");
                    let kind = if path == "/_emulator/sizes" {
                        FloorReq::Sizes
                    } else if path.ends_with("/heartbeat") {
                        let uuid = query
                            .split('&')
                            .find_map(|kv| kv.strip_prefix("uuid="))
                            .unwrap_or("");
                        FloorReq::Trigger(uuid.to_owned())
                    } else if query.contains("tt=0") {
                        FloorReq::Handshake
                    } else {
                        FloorReq::Poll
                    };
                    drop(req);
                    let floor = Arc::clone(&floor);
                    async move {
                        let body = match kind {
                            FloorReq::Sizes => Bytes::from(format!(
                                "{{\"held_polls\":{}}}",
                                floor.held.load(Ordering::Relaxed)
                            )),
                            FloorReq::Trigger(uuid) => {
                                let body = format!(
                                    "{{\"t\":{{\"t\":\"17000000000000001\",\"r\":12}},\"m\":[{{\"a\":\"2\",\"f\":0,\"p\":{{\"t\":\"17000000000000001\",\"r\":12}},\"k\":\"bench\",\"c\":\"room-pnpres\",\"d\":{{\"action\":\"join\",\"timestamp\":1,\"uuid\":\"{uuid}\",\"occupancy\":1}},\"b\":\"room-pnpres\"}}]}}"
                                );
                                *floor.reply.lock().expect("lock") = Bytes::from(body);
                                floor.notify.notify_waiters();
                                Bytes::from_static(
                                    br#"{"message":"OK","service":"Presence","status":200}"#,
                                )
                            }
                            FloorReq::Handshake => Bytes::from_static(
                                br#"{"t":{"t":"17000000000000000","r":12},"m":[]}"#,
                            ),
                            FloorReq::Poll => {
                                floor.held.fetch_add(1, Ordering::Relaxed);
                                let notified = floor.notify.notified();
                                tokio::select! {
                                    () = notified => {}
                                    () = tokio::time::sleep(HOLD) => {}
                                }
                                floor.held.fetch_sub(1, Ordering::Relaxed);
                                floor.reply.lock().expect("lock").clone()
                            }
                        };
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(body)))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Child mode: serve until stdin closes.
fn serve(kind: &str) {
    let rt = runtime();
    rt.block_on(async {
        let (addr, emu) = if kind == "floor" {
            (floor_server().await, None)
        } else {
            // Every round's join is announced singly (40 users in `room`).
            let emu = EmulatorBuilder::new()
                .subscribe_hold_secs(3600)
                .announce_max(1000)
                .start()
                .await
                .expect("emulator");
            (emu.local_addr(), Some(emu))
        };
        println!("{addr}");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let _ = tx.send(());
        });
        let _ = rx.await;
        drop(emu);
    });
}

// ---------------------------------------------------------------------------------------
// The clients (this process).

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Server {
    fn start(kind: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args(["--serve", kind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server address");
        let addr = line.trim().parse().expect("address");
        Self { child, addr }
    }

    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Where a reply's body starts and ends in `buf`, once it is complete.
fn framed(buf: &[u8]) -> Option<(usize, usize)> {
    let end = find(buf, b"\r\n\r\n")?;
    let head = &buf[..end];
    let mut len = 0;
    for line in head.split(|&b| b == b'\n') {
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            len = std::str::from_utf8(&line[15..])
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        }
    }
    (buf.len() >= end + 4 + len).then_some((end + 4, end + 4 + len))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one reply into `buf`; returns the body's range.
async fn read_reply(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(usize, usize)> {
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        if s.read_buf(buf).await.ok()? == 0 {
            return None;
        }
        if let Some(range) = framed(buf) {
            return Some(range);
        }
    }
}

/// The cursor (`t.t`) at the start of a subscribe reply body.
fn cursor_of(body: &[u8]) -> String {
    const START: &[u8] = br#"{"t":{"t":""#;
    body.strip_prefix(START)
        .and_then(|rest| rest.iter().position(|&b| b == b'"').map(|n| &rest[..n]))
        .and_then(|d| std::str::from_utf8(d).ok())
        .unwrap_or("0")
        .to_owned()
}

async fn get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let (a, b) = read_reply(&mut s, &mut buf).await.unwrap_or((0, 0));
    buf[a..b].to_vec()
}

async fn held_polls(addr: std::net::SocketAddr) -> usize {
    let body = get(addr, "/_emulator/sizes").await;
    let text = String::from_utf8_lossy(&body);
    text.split("\"held_polls\":")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Waits until the server holds `n` polls.
async fn until_held(addr: std::net::SocketAddr, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while held_polls(addr).await < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The polls of the memory measurement.
#[derive(Clone, Copy)]
enum Mix {
    /// Observers: `room-pnpres` only (present nowhere).
    Observers,
    /// Each poll a distinct user present on its own channel `c{i}` and watching
    /// `room-pnpres`: presence state and one buffered join event per poll.
    Present,
}

/// Bytes per held poll: the server's RSS growth over `n` held polls, in a fresh process.
async fn per_poll(kind: &str, n: usize, mix: Mix) -> f64 {
    let server = Server::start(kind);
    let addr = server.addr;
    // A fresh cursor (and the server's lazy one-time set-up done).
    let hs = get(addr, "/v2/subscribe/bench/room-pnpres/0?uuid=w&tt=0").await;
    let cursor = cursor_of(&hs);
    let _ = held_polls(addr).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss_kib();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let path = match mix {
            Mix::Observers => {
                format!("/v2/subscribe/bench/room-pnpres/0?uuid=w{i}&tt={cursor}&tr=12")
            }
            Mix::Present => format!(
                "/v2/subscribe/bench/c{i},room-pnpres/0?uuid=u{i}&tt={cursor}&tr=12&heartbeat=3600"
            ),
        };
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        conns.push(s);
    }
    until_held(addr, n).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = server.rss_kib();
    let held = held_polls(addr).await;
    assert_eq!(held, n, "{kind}: {held} of {n} polls held");
    drop(conns);
    server.stop();
    (after.saturating_sub(before) * 1024) as f64 / n as f64
}

/// p50 / p99 over rounds of the time from a heartbeat (a join) to the last of `n`
/// watchers receiving it, and how many deliveries were missing or wrong.
async fn fan_out(kind: &str, n: usize) -> (Duration, Duration, usize) {
    let server = Server::start(kind);
    let addr = server.addr;
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant, bool)>();
    let go = Arc::new(Barrier::new(n + 1));
    let done = Arc::new(Barrier::new(n + 1));
    for _ in 0..n {
        let (tx, go, done) = (tx.clone(), Arc::clone(&go), Arc::clone(&done));
        tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            let mut buf = Vec::with_capacity(2048);
            s.write_all(
                b"GET /v2/subscribe/bench/room-pnpres/0?uuid=w&tt=0 HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            .await
            .expect("write");
            let (a, b) = read_reply(&mut s, &mut buf).await.unwrap_or((0, 0));
            let mut cursor = cursor_of(&buf[a..b]);
            for round in 0..ROUNDS {
                let req = format!(
                    "GET /v2/subscribe/bench/room-pnpres/0?uuid=w&tt={cursor}&tr=12 HTTP/1.1\r\nHost: x\r\n\r\n"
                );
                s.write_all(req.as_bytes()).await.expect("write");
                go.wait().await;
                let got = read_reply(&mut s, &mut buf).await;
                let at = Instant::now();
                let ok = got.is_some_and(|(a, b)| {
                    find(&buf[a..b], format!("\"uuid\":\"u{round}\"").as_bytes()).is_some()
                });
                let _ = tx.send((round, at, ok));
                if let Some((a, b)) = got {
                    cursor = cursor_of(&buf[a..b]);
                }
                // The next poll goes out once every watcher has its reply, outside the
                // measured window.
                done.wait().await;
            }
        });
    }
    drop(tx);
    let mut lasts = Vec::new();
    let mut missed = 0;
    for round in 0..ROUNDS {
        go.wait().await;
        until_held(addr, n).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let start = Instant::now();
        let mut hb = TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "GET /v2/presence/sub-key/bench/channel/room/heartbeat?uuid=u{round}&heartbeat=3600 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        hb.write_all(req.as_bytes()).await.expect("write");
        let mut last = start;
        for _ in 0..n {
            let Some((r, at, ok)) = rx.recv().await else {
                break;
            };
            if r != round || !ok {
                missed += 1;
            }
            last = last.max(at);
        }
        lasts.push(last - start);
        done.wait().await;
    }
    lasts.sort();
    let pick = |q: f64| lasts[((lasts.len() as f64 - 1.0) * q).round() as usize];
    server.stop();
    (pick(0.5), pick(0.99), missed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(args.get(i + 1).map_or("emu", String::as_str));
        return;
    }
    let limit = fd_limit();
    let max_polls = limit.saturating_sub(100).min(10_000);
    println!(
        "descriptor limit {limit}: up to {max_polls} held polls per server (one process each)"
    );
    let sizes = [1_000, max_polls];
    let rt = runtime();
    // `--fan-out KIND N`: only that fan-out (for profiling).
    if let Some(i) = args.iter().position(|a| a == "--fan-out") {
        let kind = args.get(i + 1).map_or("emu", String::as_str);
        let n = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(max_polls);
        let (p50, p99, missed) = rt.block_on(fan_out(kind, n));
        println!(
            "{n:>6} watchers ({kind}): p50 {:.1} ms, p99 {:.1} ms, missed {missed}",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
        return;
    }
    rt.block_on(async {
        for (mix, name) in [(Mix::Observers, "observers"), (Mix::Present, "present")] {
            for n in sizes {
                let mut e = f64::MAX;
                let mut f = f64::MAX;
                // Two fresh processes each; the smaller growth of each side.
                for _ in 0..2 {
                    f = f.min(per_poll("floor", n, mix).await);
                    e = e.min(per_poll("emu", n, mix).await);
                }
                println!(
                    "{n:>6} held polls ({name:>9}): emulator {:.2} KiB/poll, bare hyper {:.2} KiB/poll, ratio {:.2}",
                    e / 1024.0,
                    f / 1024.0,
                    e / f
                );
            }
        }
        for kind in ["emu", "floor"] {
            for n in sizes {
                let (p50, p99, missed) = fan_out(kind, n).await;
                let name = if kind == "emu" { "emulator" } else { "bare hyper" };
                println!(
                    "{n:>6} watchers ({name:>10}): change → last watcher p50 {:.1} ms, p99 {:.1} ms, missed {missed} ({ROUNDS} rounds)",
                    p50.as_secs_f64() * 1000.0,
                    p99.as_secs_f64() * 1000.0
                );
            }
        }
    });
}
