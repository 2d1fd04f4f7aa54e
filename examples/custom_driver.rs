//! Drives `presence-proto` by hand over `std::net::TcpStream`, with no HTTP library: the whole
//! job of an adapter in ~150 lines, to keep the Sans-IO core honest for custom runtimes.
//!
//! ```sh
//! cargo run --example custom_driver
//! ```
//!
//! It starts the embedded emulator (blocking API), then for each call: asks the core for the
//! request, writes the request line, `Host` and the core's headers, reads the status line,
//! the headers and a `Content-Length` or chunked body, and hands status + headers + body back
//! to the core to parse. Retries follow the core's `RetryPolicy`; the core inflates gzip.
//! Plain `http://` only: TLS is out of scope here.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use presence_emulator::{EmulatorBuilder, FaultRule};
use presence_proto::http;
use presence_proto::{Config, Error, Heartbeat, HereNow, Leave, Operation, RetryPolicy, Stamp};
use presence_proto::{GetState, SetState, WhereNow};

/// Largest body this driver accepts.
const MAX_BODY: usize = 1024 * 1024;

/// A minimal blocking driver: one connection per request, a read/write timeout, retries.
struct Driver {
    config: Config,
    timeout: Duration,
    retry: RetryPolicy,
    requests_sent: u64,
}

impl Driver {
    /// A driver with a 5 s timeout and up to two retries 200 ms apart.
    fn new(config: Config) -> Self {
        Self {
            config,
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::linear(Duration::from_millis(200), 2),
            requests_sent: 0,
        }
    }

    /// The generic send path: every operation goes through here.
    fn execute<O: Operation>(&mut self, op: &O) -> Result<O::Output, Error> {
        let mut retries = 0;
        loop {
            let error = match self.attempt(op) {
                Ok(output) => return Ok(output),
                Err(error) => error,
            };
            // No randomness needed for a demo: zero jitter.
            let Some(delay) = self.retry.next_delay(retries, &error, Duration::ZERO) else {
                return Err(error);
            };
            println!("   … {} failed ({error}); retrying in {delay:?}", O::NAME);
            std::thread::sleep(delay);
            retries += 1;
        }
    }

    fn attempt<O: Operation>(&mut self, op: &O) -> Result<O::Output, Error> {
        self.requests_sent += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let stamp = Stamp::new(now, format!("custom-{now}-{}", self.requests_sent));
        let request = op.to_request(&self.config, &stamp)?;
        let (status, headers, body) = send(&request, self.timeout).map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                Error::timeout(self.timeout)
            }
            _ => Error::network("send", e),
        })?;
        if body.len() > MAX_BODY {
            return Err(Error::BodyTooLarge { limit: MAX_BODY });
        }
        let mut reply = http::Response::builder().status(status);
        for (name, value) in &headers {
            reply = reply.header(name.as_str(), value.as_str());
        }
        let reply = reply
            .body(&body[..])
            .map_err(|e| Error::network("read headers", e))?;
        op.parse(reply)
    }
}

/// Status, headers (lower-cased names) and body of one response.
type RawResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// Writes one request and reads one response: status, headers (lower-cased names), body.
fn send(request: &http::Request<Vec<u8>>, timeout: Duration) -> std::io::Result<RawResponse> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let uri = request.uri();
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("this driver speaks plain http only"));
    }
    let host = authority.host();
    let port = authority.port_u16().unwrap_or(80);
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());

    let mut stream = TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {authority}\r\n",
        request.method()
    );
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|_| bad("non-text header"))?;
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(request.body())?;

    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the headers"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
            if body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            if size == 0 {
                break; // (trailers, if any, are ignored)
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?; // the CRLF after the chunk
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|_| bad("bad Content-Length"))?;
        if length > MAX_BODY {
            return Err(bad("body too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?; // fails on a truncated body
    } else {
        reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
    }
    Ok((status, headers, body))
}

fn main() -> Result<(), Box<dyn StdError>> {
    let emulator = EmulatorBuilder::new().start_in_background()?;
    println!("emulator at {}\n", emulator.origin());
    let config = Config::builder("demo", "alice")
        .origin(emulator.origin())
        .build()?;
    let mut alice = Driver::new(config.clone());
    let mut bob = Driver::new(config.to_builder().user_id("bob").build()?);

    println!("== heartbeats with state (alice, bob)");
    alice.execute(
        &Heartbeat::new()
            .channels(["lobby"])
            .state("lobby", &serde_json::json!({"mood": "happy"}))?,
    )?;
    bob.execute(&Heartbeat::new().channels(["lobby", "kitchen"]))?;

    println!("== here now (with state)");
    let here = alice.execute(&HereNow::new().channels(["lobby"]).include_state(true))?;
    for channel in &here.channels {
        for user in &channel.occupants {
            let state = user
                .state
                .as_ref()
                .map_or_else(|| "(no state)".to_owned(), ToString::to_string);
            println!("   {} on {}: {state}", user.user_id, channel.name);
        }
    }

    println!("== where now (bob)");
    let where_now = alice.execute(&WhereNow::new().user_id("bob"))?;
    println!("   {:?}", where_now.channels);

    println!("== set and get state");
    let state = serde_json::json!({"mood": "curious", "big": "x".repeat(1500)});
    bob.execute(&SetState::new().channels(["lobby"]).state(&state))?;
    // A reply over 1 KiB comes back gzipped: the core inflates it, the driver does nothing.
    let got = alice.execute(&GetState::new().channels(["lobby"]).user_id("bob"))?;
    let mood = got.state("lobby").and_then(|s| s.get("mood"));
    println!(
        "   bob's mood: {}",
        mood.map_or_else(String::new, ToString::to_string)
    );

    println!("== a 503, retried by the core's policy");
    emulator
        .faults()
        .push(FaultRule::respond(503, r#"{"status":503,"error":true}"#));
    let here = alice.execute(&HereNow::new().channels(["lobby"]))?;
    println!("   after the retry: {} present", here.total_occupancy);

    println!("== leave");
    alice.execute(&Leave::new().channels(["lobby"]))?;
    bob.execute(&Leave::new().channels(["lobby", "kitchen"]))?;
    let here = alice.execute(&HereNow::new().channels(["lobby"]))?;
    println!("   {} present on lobby", here.total_occupancy);

    println!(
        "\n{} requests sent by hand",
        alice.requests_sent + bob.requests_sent
    );
    emulator.shutdown();
    Ok(())
}
