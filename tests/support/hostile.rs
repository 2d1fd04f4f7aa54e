//! A deliberately hostile presence "service" on raw TCP (127.0.0.1, port 0), one mode per
//! misbehaviour: hang, drip, 500 forever, 429 with a huge `Retry-After`, gzip bomb,
//! escape-laden error message, and join-then-fault (the first heartbeat is accepted, later ones
//! get the fault). Leaves are always acknowledged, so runs can end cleanly.
//!
//! No HTTP library: the server reads request heads by hand and writes replies byte by byte,
//! exactly as a broken proxy or a malicious origin would. It records every request (when, which
//! operation) for assertions such as "attempts per presence window".
//!
//! Shared by the root `tests/hostile.rs` and `crates/presence-cli/tests/hostile.rs` (through
//! `#[path]`); not every user calls every item.
#![allow(dead_code, clippy::unchecked_time_subtraction)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The message a hostile 500 carries: an OSC window-title change ended by BEL, a clear-screen
/// CSI, a CR LF and a forged status line.
pub(crate) const ESCAPE_MESSAGE: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\npresence: ok, all fine\u{9b}31m\u{7}";

/// What the server does with a heartbeat (or with every request, for [`Mode::Ok`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Mode {
    /// 200 with the service's acknowledgement.
    Ok,
    /// Reads the request and never answers (holds the connection until the peer gives up).
    Hang,
    /// Sends a 200 head announcing a large body, then one byte every `every`.
    Drip { every: Duration },
    /// 500 with the service's JSON error, forever.
    ServerError,
    /// 429 with this `Retry-After` value (verbatim, e.g. `999999` or an HTTP-date).
    TooMany { retry_after: String },
    /// 200 `Content-Encoding: gzip` whose body inflates to `inflated` bytes of spaces.
    GzipBomb { inflated: usize },
    /// 500 whose JSON `message` is [`ESCAPE_MESSAGE`] (and whose 403 channel list would be too).
    EscapeMessage,
    /// 403 from Access Manager: an error that cannot heal.
    Forbidden,
}

/// One request as received.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    /// When its head was complete.
    pub(crate) at: Instant,
    /// `heartbeat`, `leave` or `other`.
    pub(crate) operation: &'static str,
    /// The request target (path and query).
    pub(crate) target: String,
}

#[derive(Debug)]
struct Plan {
    /// Mode for heartbeats after the first.
    heartbeat: Mode,
    /// Whether the first heartbeat is accepted whatever `heartbeat` says (join-then-fault).
    join_ok: bool,
    heartbeats_seen: u64,
    seen: Vec<Seen>,
    /// The gzip bomb, compressed once at start (compressing is slow in debug builds).
    bomb: Arc<Vec<u8>>,
}

/// The running server; stops (and unblocks hung connections) when dropped.
pub(crate) struct Hostile {
    addr: std::net::SocketAddr,
    plan: Arc<Mutex<Plan>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

fn lock(plan: &Mutex<Plan>) -> MutexGuard<'_, Plan> {
    plan.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hostile {
    /// Every heartbeat (the first included) gets `mode`.
    pub(crate) fn start(mode: Mode) -> Self {
        Self::with(mode, false)
    }

    /// The first heartbeat (the join) is accepted; later heartbeats get `mode`.
    pub(crate) fn join_then(mode: Mode) -> Self {
        Self::with(mode, true)
    }

    fn with(mode: Mode, join_ok: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let bomb = match &mode {
            Mode::GzipBomb { inflated } => gzip_bomb(*inflated),
            _ => Vec::new(),
        };
        let plan = Arc::new(Mutex::new(Plan {
            heartbeat: mode,
            join_ok,
            heartbeats_seen: 0,
            seen: Vec::new(),
            bomb: Arc::new(bomb),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (plan, stop) = (Arc::clone(&plan), Arc::clone(&stop));
            std::thread::spawn(move || accept(&listener, &plan, &stop))
        };
        Self {
            addr,
            plan,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the heartbeat mode (e.g. back to [`Mode::Ok`]: the service heals).
    pub(crate) fn set(&self, mode: Mode) {
        lock(&self.plan).heartbeat = mode;
    }

    /// Every request received so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        lock(&self.plan).seen.clone()
    }

    /// When each heartbeat arrived.
    pub(crate) fn heartbeats(&self) -> Vec<Instant> {
        lock(&self.plan)
            .seen
            .iter()
            .filter(|s| s.operation == "heartbeat")
            .map(|s| s.at)
            .collect()
    }

    /// The most heartbeats that arrived within any span of `window`.
    pub(crate) fn most_heartbeats_in(&self, window: Duration) -> usize {
        let times = self.heartbeats();
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept(listener: &TcpListener, plan: &Arc<Mutex<Plan>>, stop: &Arc<AtomicBool>) {
    let mut connections = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (plan, stop) = (Arc::clone(plan), Arc::clone(stop));
                connections.push(std::thread::spawn(move || serve(stream, &plan, &stop)));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Serves requests on one keep-alive connection until the peer closes it or the server stops.
fn serve(mut stream: TcpStream, plan: &Mutex<Plan>, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    loop {
        let Some(target) = read_head(&mut stream, &mut buffer, stop) else {
            return;
        };
        let operation = if target.contains("/heartbeat") {
            "heartbeat"
        } else if target.contains("/leave") {
            "leave"
        } else {
            "other"
        };
        let (mode, bomb) = {
            let mut plan = lock(plan);
            let bomb = Arc::clone(&plan.bomb);
            plan.seen.push(Seen {
                at: Instant::now(),
                operation,
                target: target.clone(),
            });
            let mode = if operation == "heartbeat" {
                plan.heartbeats_seen += 1;
                if plan.join_ok && plan.heartbeats_seen == 1 {
                    Mode::Ok
                } else {
                    plan.heartbeat.clone()
                }
            } else {
                Mode::Ok
            };
            (mode, bomb)
        };
        if !answer(&mut stream, &mode, &bomb, stop) {
            return;
        }
    }
}

/// Reads one request head; returns its target, or `None` when the peer closed or we stop.
fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>, stop: &AtomicBool) -> Option<String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            let target = head.split(' ').nth(1).unwrap_or("").to_owned();
            return Some(target);
        }
        if stop.load(Ordering::SeqCst) || buffer.len() > 1 << 20 {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
}

fn reply(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> bool {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok()
}

/// Answers one request in `mode`; `false` when the connection is done.
fn answer(stream: &mut TcpStream, mode: &Mode, bomb: &[u8], stop: &AtomicBool) -> bool {
    match mode {
        Mode::Ok => reply(
            stream,
            "200 OK",
            &[],
            br#"{"status": 200, "message": "OK", "service": "Presence"}"#,
        ),
        Mode::ServerError => reply(
            stream,
            "500 Internal Server Error",
            &[],
            br#"{"status": 500, "error": true, "message": "Internal Server Error", "service": "Presence"}"#,
        ),
        Mode::TooMany { retry_after } => reply(
            stream,
            "429 Too Many Requests",
            &[("Retry-After", retry_after.clone())],
            br#"{"status": 429, "error": true, "message": "Too many requests", "service": "Balancer"}"#,
        ),
        Mode::EscapeMessage => {
            let body = serde_json::json!({
                "status": 500,
                "error": true,
                "message": ESCAPE_MESSAGE,
                "service": "Presence",
            })
            .to_string();
            reply(stream, "500 Internal Server Error", &[], body.as_bytes())
        }
        Mode::Forbidden => reply(
            stream,
            "403 Forbidden",
            &[],
            br#"{"status": 403, "error": true, "message": "Forbidden", "service": "Access Manager", "payload": {"channels": ["lobby"]}}"#,
        ),
        Mode::GzipBomb { .. } => reply(
            stream,
            "200 OK",
            &[("Content-Encoding", "gzip".to_owned())],
            bomb,
        ),
        Mode::Hang => {
            // Never answer; wait for the peer to give up (or the server to stop).
            hold(stream, stop);
            false
        }
        Mode::Drip { every } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"status\": 200, ";
            if stream.write_all(head.as_bytes()).is_err() {
                return false;
            }
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(*every);
                if stream.write_all(b" ").is_err() {
                    break;
                }
            }
            false
        }
    }
}

/// Keeps a connection open without answering until the peer closes it or the server stops.
fn hold(stream: &mut TcpStream, stop: &AtomicBool) {
    let mut sink = [0u8; 1024];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// A gzip member whose body inflates to `inflated` spaces (about 1000:1).
pub(crate) fn gzip_bomb(inflated: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![b' '; 64 * 1024];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(block.len());
        encoder.write_all(&block[..n]).expect("gzip");
        left -= n;
    }
    encoder.finish().expect("gzip")
}
