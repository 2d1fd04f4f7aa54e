//! A raw HTTP/1.1 client over `std::net::TcpStream` and an emulator wrapper with a manual
//! clock, shared by every test module.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use presence_emulator::{BackgroundEmulator, EmulatorBuilder, ManualClock};
use serde_json::Value;

/// Socket read timeout: no test waits longer than this for a byte.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed HTTP response.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    /// The body as received (gzip not undone).
    pub(crate) wire_body: Vec<u8>,
    /// The body, gunzipped when `Content-Encoding: gzip`, as text.
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// Sends raw bytes, reads until the server closes; returns everything read.
pub(crate) fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A reset after a truncated body still ends the exchange.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read failed: {e}"),
        }
    }
    out
}

/// Parses a whole response (head + body as received, until close).
pub(crate) fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let wire_body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let gz = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "gzip");
    let body = if gz {
        let mut d = flate2::read::GzDecoder::new(&wire_body[..]);
        let mut s = String::new();
        d.read_to_string(&mut s).expect("gunzip");
        s
    } else {
        String::from_utf8_lossy(&wire_body).to_string()
    };
    Resp {
        status,
        headers,
        wire_body,
        body,
    }
}

/// `GET path` with extra headers, `Connection: close`.
pub(crate) fn get_at(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    parse(&raw_exchange(addr, req.as_bytes()))
}

/// A request with any method and an optional body.
pub(crate) fn send_at(addr: SocketAddr, method: &str, path: &str, body: &str) -> Resp {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    parse(&raw_exchange(addr, req.as_bytes()))
}

/// An emulator on a background thread with a manual clock.
pub(crate) struct Emu {
    pub(crate) server: BackgroundEmulator,
    pub(crate) clock: ManualClock,
}

impl Emu {
    pub(crate) fn new() -> Self {
        Self::with(|b| b)
    }

    pub(crate) fn with(configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> Self {
        let clock = ManualClock::new();
        let server = configure(EmulatorBuilder::new().clock(clock.clone()))
            .start_in_background()
            .expect("emulator starts");
        Self { server, clock }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub(crate) fn get(&self, path: &str) -> Resp {
        get_at(self.addr(), path, &[])
    }

    pub(crate) fn get_h(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        get_at(self.addr(), path, headers)
    }

    pub(crate) fn send(&self, method: &str, path: &str, body: &str) -> Resp {
        send_at(self.addr(), method, path, body)
    }

    pub(crate) fn raw(&self, request: &str) -> Vec<u8> {
        raw_exchange(self.addr(), request.as_bytes())
    }

    pub(crate) fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }

    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// heartbeat `uuid` on `channels` (raw path list) with `extra` query, expecting the ACK.
    pub(crate) fn hb(&self, channels: &str, uuid: &str, extra: &str) {
        let r = self.get(&format!(
            "/v2/presence/sub-key/sk/channel/{channels}/heartbeat?uuid={uuid}{extra}"
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body, ACK, "heartbeat reply");
    }

    /// where_now of `uuid` on key `sk`, as the list of channels.
    pub(crate) fn where_now(&self, uuid: &str) -> Vec<String> {
        let r = self.get(&format!("/v2/presence/sub-key/sk/uuid/{uuid}?uuid=probe"));
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_value(r.json()["payload"]["channels"].clone()).expect("channel list")
    }
}

/// The heartbeat ACK.
pub(crate) const ACK: &str = r#"{"message":"OK","service":"Presence","status":200}"#;
/// The leave ACK.
pub(crate) const LEAVE_ACK: &str =
    r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#;
/// The Presence content type.
pub(crate) const CT: &str = "text/javascript; charset=\"UTF-8\"";

/// A presence path on key `sk`.
pub(crate) fn p(rest: &str) -> String {
    format!("/v2/presence/sub-key/sk{rest}")
}

/// Percent-encodes everything but `A-Z a-z 0-9 - _ .` (written here independently of the
/// emulator's encoder).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Waits (bounded) until `f` holds.
pub(crate) fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}
