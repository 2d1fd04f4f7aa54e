//! A custom driver: implements `presence_proto::BlockingDriver` over `std::net::TcpStream`
//! with no HTTP library, and gets the whole client for it — every call builder, the options
//! and their defaults, retries and keep-present — from the core. The whole job of an adapter in
//! ~170 lines, to keep the Sans-IO core honest for custom runtimes.
//!
//! ```sh
//! cargo run --example custom_driver
//! ```
//!
//! For each call the core builds and signs the request; the driver writes the request line,
//! `Host` and the core's headers, reads the status line, the headers and a `Content-Length`
//! or chunked body, and hands them back; the core classifies, inflates gzip and parses.
//! Plain `http://` only: TLS is out of scope here.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use presence_emulator::{EmulatorBuilder, FaultRule};
use presence_proto::{
    Blocking, BlockingDriver, Client, ClientOptions, Config, Environment, Error, Limits,
    RetryPolicy, SendError, SessionEvent, http,
};

/// A minimal blocking driver: one connection per request, read/write timeouts.
#[derive(Debug, Default)]
struct Tcp {
    requests_sent: AtomicU64,
    seed: AtomicU64,
}

impl Environment for Tcp {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_time(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Not cryptographic, and it need not be: request ids and jitter only.
    fn random(&self) -> u64 {
        let x = self
            .seed
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(self.unix_time());
        let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^ (x >> 27)
    }
}

impl BlockingDriver for Tcp {
    type Body = Vec<u8>;

    fn connect(_options: &ClientOptions) -> Result<Self, Error> {
        Ok(Self::default())
    }

    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<http::Response<Vec<u8>>, SendError> {
        self.requests_sent.fetch_add(1, Ordering::Relaxed);
        let (status, headers, body) = exchange(&request, limits.timeout, limits.max_body_size)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    Error::timeout(limits.timeout)
                }
                _ => Error::network("send", e),
            })?;
        let mut reply = http::Response::builder().status(status);
        for (name, value) in &headers {
            reply = reply.header(name.as_str(), value.as_str());
        }
        Ok(reply
            .body(body)
            .map_err(|e| Error::network("read headers", e))?)
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        std::thread::spawn(job);
    }
}

/// Status, headers (lower-cased names) and body of one response.
type RawResponse = (u16, Vec<(String, String)>, Vec<u8>);

/// Writes one request and reads one response: status, headers (lower-cased names), body.
fn exchange(
    request: &http::Request<Vec<u8>>,
    timeout: Duration,
    max_body: usize,
) -> std::io::Result<RawResponse> {
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
            if body.len() + size > max_body {
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
        if length > max_body {
            return Err(bad("body too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?; // fails on a truncated body
    } else {
        reader.take(max_body as u64 + 1).read_to_end(&mut body)?;
    }
    Ok((status, headers, body))
}

fn main() -> Result<(), Box<dyn StdError>> {
    let emulator = EmulatorBuilder::new().start_in_background()?;
    println!("emulator at {}\n", emulator.origin());
    let config = Config::builder("demo", "alice")
        .origin(emulator.origin())
        .build()?;
    // The same client type the adapters alias, over this driver.
    let alice: Client<Blocking<Tcp>> = Client::builder(config.clone())
        .request_timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::linear(Duration::from_millis(200), 2))
        .build()?;
    let bob = alice.with_config(config.to_builder().user_id("bob").build()?);

    println!("== heartbeats with state (alice, bob)");
    alice
        .heartbeat()
        .channels(["lobby"])
        .state("lobby", &serde_json::json!({"mood": "happy"}))
        .call()?;
    bob.heartbeat().channels(["lobby", "kitchen"]).call()?;

    println!("== here now (with state)");
    let here = alice
        .here_now()
        .channels(["lobby"])
        .include_state(true)
        .call()?;
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
    let where_now = alice.where_now().user_id("bob").call()?;
    println!("   {:?}", where_now.channels);

    println!("== set and get state");
    let state = serde_json::json!({"mood": "curious", "big": "x".repeat(1500)});
    bob.set_state().channels(["lobby"]).state(&state).call()?;
    // A reply over 1 KiB comes back gzipped: the core inflates it, the driver does nothing.
    let got = alice
        .get_state()
        .channels(["lobby"])
        .user_id("bob")
        .call()?;
    let mood = got.state("lobby").and_then(|s| s.get("mood"));
    println!(
        "   bob's mood: {}",
        mood.map_or_else(String::new, ToString::to_string)
    );

    println!("== a 503, retried by the core's policy");
    emulator
        .faults()
        .push(FaultRule::respond(503, r#"{"status":503,"error":true}"#));
    let here = alice.here_now().channels(["lobby"]).call()?;
    println!("   after the retry: {} present", here.total_occupancy);

    println!("== keep-present on this driver: heartbeats on a thread of its own");
    let carol = alice.with_config(config.to_builder().user_id("carol").build()?);
    let session = carol.keep_present().channels(["lobby"]).start()?;
    if let Some(SessionEvent::Joined { channels, .. }) =
        session.next_event_timeout(Duration::from_secs(5))
    {
        println!("   carol joined {channels:?}");
    }
    session.shutdown()?;

    println!("== leave");
    alice.leave().channels(["lobby"]).call()?;
    bob.leave().channels(["lobby", "kitchen"]).call()?;
    let here = alice.here_now().channels(["lobby"]).call()?;
    println!("   {} present on lobby", here.total_occupancy);

    let Blocking(driver) = alice.driver();
    println!(
        "\n{} requests sent by hand",
        driver.requests_sent.load(Ordering::Relaxed)
    );
    emulator.shutdown();
    Ok(())
}
