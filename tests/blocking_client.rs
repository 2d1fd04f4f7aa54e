//! End-to-end tests of `presence-blocking` against the emulator (started with
//! `start_in_background()`), plus a few raw `std::net` servers for transport corner cases the
//! emulator cannot produce.
//!
//! * `scenario_table`: the whole cross-adapter table (`presence_workspace::scenarios`, the same
//!   one `tests/tokio_client.rs` runs), driven through the fluent builders with every option.
//! * `scenario_table_via_execute`: the non-timing part again, through `execute_with`.
//! * The rest: threads, identity per call, pool options, and transport details (request ids,
//!   chunked and gzip bodies, stalls, redirects, TLS, logging).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use presence_blocking::{Client, Config, Error, ErrorKind, RetryPolicy};
use presence_emulator::{EmulatorBuilder, FaultRule};
use presence_workspace::scenarios::{self, Call, ClientOptions, Driver, Execute, Group, Outcome};

// ---------------------------------------------------------------------------------------------
// Drivers for the scenario table.

fn client_for(options: &ClientOptions) -> Client {
    let config = Config::builder("unused", "unused").build().expect("config");
    let mut builder = Client::builder(config).retry_policy(options.retry_policy);
    if let Some(t) = options.request_timeout {
        builder = builder.request_timeout(t);
    }
    if let Some(n) = options.max_body_size {
        builder = builder.max_body_size(n);
    }
    builder.build().expect("client")
}

/// Runs each call through the fluent builders, setting every option the call carries.
struct BuilderDriver(Client);

impl Driver for BuilderDriver {
    fn call(&self, config: &Config, call: &Call) -> Result<Outcome, Error> {
        let client = self.0.with_config(config.clone());
        Ok(match call {
            Call::HereNow(c) => {
                let mut b = client
                    .here_now()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(v) = c.include_user_ids {
                    b = b.include_user_ids(v);
                }
                if let Some(v) = c.include_state {
                    b = b.include_state(v);
                }
                if let Some(v) = c.limit {
                    b = b.limit(v);
                }
                if let Some(v) = c.offset {
                    b = b.offset(v);
                }
                Outcome::HereNow(b.call()?)
            }
            Call::WhereNow(c) => {
                let mut b = client.where_now();
                if let Some(u) = &c.user_id {
                    b = b.user_id(u.clone());
                }
                Outcome::WhereNow(b.call()?)
            }
            Call::Heartbeat(c) => {
                let mut b = client
                    .heartbeat()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(t) = c.presence_timeout {
                    b = b.presence_timeout(t);
                }
                for (name, value) in &c.state {
                    // Half through `state` (serialised here), half as a ready value.
                    b = if name.len() % 2 == 0 {
                        b.state(name.clone(), value)
                    } else {
                        b.state_value(name.clone(), value.clone())
                    };
                }
                b.call()?;
                Outcome::Done
            }
            Call::Leave(c) => {
                client
                    .leave()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned())
                    .call()?;
                Outcome::Done
            }
            Call::SetState(c) => {
                let mut b = client
                    .set_state()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(u) = &c.user_id {
                    b = b.user_id(u.clone());
                }
                // A borrowed state value, as users pass `&my_struct`.
                Outcome::SetState(b.state(&c.state).call()?)
            }
            Call::GetState(c) => {
                let mut b = client
                    .get_state()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(u) = &c.user_id {
                    b = b.user_id(u.clone());
                }
                Outcome::GetState(b.call()?)
            }
            Call::AddChannelsToGroup { group, channels } => {
                client
                    .add_channels_to_group(group.clone(), channels.iter().cloned())
                    .call()?;
                Outcome::Done
            }
            Call::RemoveChannelsFromGroup { group, channels } => {
                client
                    .remove_channels_from_group(group.clone(), channels.iter().cloned())
                    .call()?;
                Outcome::Done
            }
            Call::ListGroupChannels { group } => {
                Outcome::GroupChannels(client.list_group_channels(group.clone()).call()?)
            }
            Call::DeleteGroup { group } => {
                client.delete_group(group.clone()).call()?;
                Outcome::Done
            }
        })
    }
}

/// Runs each call through `Client::execute_with` via `Call::dispatch`.
struct ExecuteDriver(Client);

struct Exec<'a> {
    client: &'a Client,
    config: &'a Config,
}

impl Execute for Exec<'_> {
    fn execute<O: presence_blocking::Operation>(&mut self, op: &O) -> Result<O::Output, Error> {
        self.client.execute_with(self.config, op)
    }
}

impl Driver for ExecuteDriver {
    fn call(&self, config: &Config, call: &Call) -> Result<Outcome, Error> {
        call.dispatch(&mut Exec {
            client: &self.0,
            config,
        })
    }
}

fn report(failures: &[scenarios::Failure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn scenario_table() {
    let table = scenarios::all();
    assert!(
        table.len() >= 30,
        "table has only {} scenarios",
        table.len()
    );
    let failures = scenarios::run_all(&table, |o: &ClientOptions| BuilderDriver(client_for(o)));
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        report(&failures)
    );
}

#[test]
fn scenario_table_via_execute() {
    let table = scenarios::all();
    let quick = table.iter().filter(|s| s.group != Group::Faults);
    let failures = scenarios::run_all(quick, |o: &ClientOptions| ExecuteDriver(client_for(o)));
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        report(&failures)
    );
}

// ---------------------------------------------------------------------------------------------
// Blocking behaviour, against the emulator.

fn config(origin: &str, user: &str) -> Config {
    Config::builder("sub-c-blocking", user)
        .origin(origin)
        .build()
        .expect("config")
}

#[test]
fn sixteen_threads_share_one_client() {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let client = client.clone();
            let origin = emulator.origin();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let me = client.with_config(config(&origin, &format!("user-{t}-{i}")));
                    me.heartbeat().channels(["crowd"]).call()?;
                    let here = me.here_now().channels(["crowd"]).call()?;
                    assert!(here.total_occupancy >= 1);
                }
                Ok::<(), Error>(())
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("calls");
    }
    let here = client
        .here_now()
        .channels(["crowd"])
        .call()
        .expect("here_now");
    assert_eq!(here.total_occupancy, 160);
    assert_eq!(emulator.stats().requests_total, 321);
}

#[test]
fn builders_take_structs_and_move_to_threads() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Profile {
        name: String,
        age: u32,
    }
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    let me = Profile {
        name: "Alice".into(),
        age: 30,
    };
    client
        .heartbeat()
        .channels(["lobby"])
        .state("lobby", &me)
        .call()
        .expect("heartbeat");
    let stored = client
        .set_state()
        .channels(["lobby"])
        .state(&me)
        .call()
        .expect("set_state");
    assert_eq!(stored.state_as::<Profile>().expect("decode"), me);

    let pending = client.here_now().channels(["lobby"]).include_state(true);
    let here = std::thread::spawn(move || pending.call())
        .join()
        .expect("join")
        .expect("here_now");
    let alice = &here.channels[0].occupants[0];
    assert_eq!(alice.state_as::<Profile>().expect("decode"), Some(me));

    let err = client
        .set_state()
        .channels(["lobby"])
        .state(42)
        .call()
        .expect_err("not an object");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A heartbeat state that does not serialise is reported by `call()`, nothing sent.
    let before = emulator.stats().requests_total;
    let bad = std::collections::BTreeMap::from([((1, 2), "tuple keys are not JSON")]);
    let err = client
        .heartbeat()
        .channels(["lobby"])
        .state("lobby", &bad)
        .call()
        .expect_err("unserialisable");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(emulator.stats().requests_total, before);
}

#[test]
fn with_config_and_execute_with_change_identity_per_call() {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let alice = Client::new(config(&emulator.origin(), "alice")).expect("client");
    let bob = alice.with_config(config(&emulator.origin(), "bob"));
    bob.heartbeat().channels(["x"]).call().expect("bob");
    alice.heartbeat().channels(["y"]).call().expect("alice");
    let carol = config(&emulator.origin(), "carol");
    alice
        .execute_with(
            &carol,
            &presence_blocking::proto::Heartbeat::new().channels(["x"]),
        )
        .expect("carol");
    let x = alice
        .execute(&presence_blocking::proto::HereNow::new().channels(["x"]))
        .expect("here_now");
    let users: Vec<_> = x.channels[0]
        .occupants
        .iter()
        .map(|u| u.user_id.as_str())
        .collect();
    assert_eq!(users, ["bob", "carol"]);
    assert_eq!(alice.config().user_id(), "alice");
    assert_eq!(bob.config().user_id(), "bob");
}

#[test]
fn options_are_validated_and_pool_options_work() {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let no_keep_alive = Client::builder(config(&emulator.origin(), "alice"))
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(Some(Duration::from_secs(1)))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    for _ in 0..3 {
        no_keep_alive
            .where_now()
            .call()
            .expect("without keep-alive");
    }
    let no_idle_limit = Client::builder(config(&emulator.origin(), "alice"))
        .pool_idle_timeout(None)
        .connect_timeout(None)
        .build()
        .expect("client");
    no_idle_limit.where_now().call().expect("no idle limit");

    for builder in [
        Client::builder(config(&emulator.origin(), "a")).request_timeout(Duration::ZERO),
        Client::builder(config(&emulator.origin(), "a")).connect_timeout(Duration::ZERO),
        Client::builder(config(&emulator.origin(), "a")).max_body_size(0),
    ] {
        let err = builder.build().expect_err("invalid option");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(emulator.stats().requests_total, 4);
}

#[test]
fn failures_on_a_reused_connection_are_typed() {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    client
        .heartbeat()
        .channels(["a"])
        .call()
        .expect("heartbeat");
    emulator.faults().push(FaultRule::truncate(10));
    let err = client
        .here_now()
        .channels(["a"])
        .call()
        .expect_err("truncated");
    assert!(
        matches!(
            err,
            Error::Network {
                context: "read body",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    emulator.faults().push(FaultRule::drop_connection());
    let err = client.where_now().call().expect_err("dropped");
    assert!(
        matches!(
            err,
            Error::Network {
                context: "send",
                ..
            }
        ),
        "{err:?}"
    );
    // And the client keeps working afterwards.
    emulator.faults().clear();
    assert_eq!(
        client
            .here_now()
            .channels(["a"])
            .call()
            .expect("here")
            .total_occupancy,
        1
    );
}

#[test]
fn https_goes_through_rustls_and_failures_are_typed() {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let tls = Config::builder("k", "alice")
        .origin(format!("https://{}", emulator.host_port()))
        .build()
        .expect("config");
    let err = Client::new(tls)
        .expect("client")
        .where_now()
        .call()
        .expect_err("handshake");
    assert_eq!(err.kind(), ErrorKind::Network, "{err:?}");

    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let refused = config(&format!("http://127.0.0.1:{port}"), "alice");
    let err = Client::new(refused)
        .expect("client")
        .where_now()
        .call()
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::Network {
                context: "connect",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// Raw servers, for what the emulator does not do.

/// One request as the raw server saw it.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    head: String,
}

/// Serves keep-alive connections on 127.0.0.1:0, one thread each: for the n-th request
/// `reply(n, head)` writes the answer (returning `false` closes the connection).
fn raw_server(
    reply: impl Fn(usize, &str, &mut TcpStream) -> bool + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let reply = Arc::new(reply);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let reply = Arc::clone(&reply);
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(Seen {
                            line,
                            head: head.clone(),
                        });
                        log.len() - 1
                    };
                    if !reply(n, &head, &mut stream) {
                        return;
                    }
                }
            });
        }
    });
    (origin, seen)
}

fn response(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/javascript\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

const HERE_NOW_BODY: &str =
    r#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["alice"]}"#;

fn query_param<'a>(request_line: &'a str, key: &str) -> Option<&'a str> {
    let target = request_line.split(' ').nth(1)?;
    let query = target.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

fn uuid_like(id: &str) -> bool {
    let parts: Vec<_> = id.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts[2].starts_with('4')
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn each_attempt_gets_its_own_request_id_and_a_current_timestamp() {
    let (origin, seen) = raw_server(|n, _, stream| {
        let bytes = if n == 0 {
            response("503 Service Unavailable", "", b"busy")
        } else {
            response("200 OK", "", HERE_NOW_BODY.as_bytes())
        };
        stream.write_all(&bytes).is_ok()
    });
    let signed = Config::builder("k", "alice")
        .origin(origin)
        .secret_key("sec")
        .build()
        .expect("config");
    let client = Client::builder(signed)
        .retry_policy(RetryPolicy::linear(Duration::from_millis(10), 1))
        .build()
        .expect("client");
    client
        .here_now()
        .channels(["lobby"])
        .call()
        .expect("second attempt");
    let lines: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.line.clone())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ids: Vec<_> = lines
        .iter()
        .map(|l| query_param(l, "requestid").expect("requestid"))
        .collect();
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        assert!(uuid_like(id), "{id} is not a v4 uuid");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    for line in &lines {
        let ts: u64 = query_param(line, "timestamp")
            .expect("timestamp")
            .parse()
            .expect("number");
        assert!(ts.abs_diff(now) <= 5, "timestamp {ts} vs now {now}");
        assert!(query_param(line, "signature").is_some());
    }
}

#[test]
fn gzip_is_left_to_the_core_and_ureq_adds_no_headers() {
    let gzipped = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(HERE_NOW_BODY.as_bytes()).expect("gzip");
        enc.finish().expect("gzip")
    };
    let (origin, seen) = raw_server(move |_, _, stream| {
        let bytes = response("200 OK", "Content-Encoding: gzip\r\n", &gzipped);
        stream.write_all(&bytes).is_ok()
    });
    let client = Client::new(config(&origin, "alice")).expect("client");
    let here = client
        .here_now()
        .channels(["lobby"])
        .call()
        .expect("gzip reply");
    assert_eq!(here.channels[0].occupants[0].user_id, "alice");
    let head = seen.lock().unwrap()[0].head.to_ascii_lowercase();
    assert_eq!(head.matches("accept-encoding").count(), 1, "{head}");
    assert!(head.contains("accept-encoding: gzip\r\n"), "{head}");
    assert!(!head.contains("user-agent"), "{head}");
}

#[test]
fn chunked_bodies_are_joined_and_capped_while_reading() {
    let (origin, _) = raw_server(|n, _, stream| {
        let mut out =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        if n == 0 {
            let (a, rest) = HERE_NOW_BODY.split_at(20);
            let (b, c) = rest.split_at(30);
            for part in [a, b, c] {
                write!(out, "{:x}\r\n{part}\r\n", part.len()).unwrap();
            }
        } else {
            // 64 chunks of 1 KiB of spaces, with no Content-Length to check up front.
            for _ in 0..64 {
                write!(out, "400\r\n{}\r\n", " ".repeat(1024)).unwrap();
            }
        }
        out.extend_from_slice(b"0\r\n\r\n");
        stream.write_all(&out).is_ok()
    });
    let client = Client::builder(config(&origin, "alice"))
        .max_body_size(16 * 1024)
        .build()
        .expect("client");
    let here = client
        .here_now()
        .channels(["lobby"])
        .call()
        .expect("chunked reply");
    assert_eq!(here.channels[0].occupants[0].user_id, "alice");
    let err = client
        .here_now()
        .channels(["lobby"])
        .call()
        .expect_err("too large");
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 16_384 }),
        "{err:?}"
    );
}

#[test]
fn a_body_that_stalls_or_drips_hits_the_request_timeout() {
    // Head and half the body at once, then nothing for 5 s.
    let (stall, _) = raw_server(|_, _, stream| {
        let full = response("200 OK", "", HERE_NOW_BODY.as_bytes());
        let _ = stream.write_all(&full[..full.len() - 20]);
        std::thread::sleep(Duration::from_secs(5));
        false
    });
    // Head at once, then the body a byte every 50 ms (about 4 s in all).
    let (drip, _) = raw_server(|_, _, stream| {
        let full = response("200 OK", "", HERE_NOW_BODY.as_bytes());
        let split = full.len() - HERE_NOW_BODY.len();
        let _ = stream.write_all(&full[..split]);
        for byte in &full[split..] {
            std::thread::sleep(Duration::from_millis(50));
            if stream.write_all(std::slice::from_ref(byte)).is_err() {
                return false;
            }
        }
        false
    });
    for origin in [stall, drip] {
        let client = Client::builder(config(&origin, "alice"))
            .request_timeout(Duration::from_millis(400))
            .build()
            .expect("client");
        let started = Instant::now();
        let err = client
            .here_now()
            .channels(["lobby"])
            .call()
            .expect_err("timeout");
        let elapsed = started.elapsed();
        assert!(
            matches!(err, Error::Timeout { after } if after == Duration::from_millis(400)),
            "{err:?}"
        );
        assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    }
}

#[test]
fn redirects_are_not_followed() {
    let (origin, seen) = raw_server(|_, _, stream| {
        let bytes = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n";
        stream.write_all(bytes).is_ok()
    });
    let client = Client::new(config(&origin, "alice")).expect("client");
    let err = client
        .where_now()
        .call()
        .expect_err("a redirect is an error");
    assert_eq!(err.status(), Some(302));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn keep_alive_is_used_and_can_be_turned_off() {
    let connections = Arc::new(Mutex::new(0usize));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            *count.lock().unwrap() += 1;
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut pending = Vec::new();
                loop {
                    let Ok(n) = stream.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let close = String::from_utf8_lossy(&pending[..end])
                            .to_ascii_lowercase()
                            .contains("connection: close");
                        pending.drain(..end + 4);
                        let extra = if close { "Connection: close\r\n" } else { "" };
                        let bytes = response("200 OK", extra, br#"{"status":200,"message":"OK","payload":{"channels":[]},"service":"Presence"}"#);
                        if stream.write_all(&bytes).is_err() || close {
                            return;
                        }
                    }
                }
            });
        }
    });
    let pooled = Client::new(config(&origin, "alice")).expect("client");
    for _ in 0..5 {
        pooled.where_now().call().expect("pooled");
    }
    assert_eq!(*connections.lock().unwrap(), 1);
    let unpooled = Client::builder(config(&origin, "alice"))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    for _ in 0..3 {
        unpooled.where_now().call().expect("unpooled");
    }
    assert_eq!(*connections.lock().unwrap(), 4);
}

#[test]
fn logs_carry_the_operation_but_never_secrets_or_signed_urls() {
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator = EmulatorBuilder::new()
        .default_keyset(
            presence_emulator::KeysetOptions::new()
                .secret_key("TOP-SECRET-KEY")
                .publish_key("pub"),
        )
        .start_in_background()
        .expect("emulator");
    let config = Config::builder("sub-c-logs", "alice")
        .origin(emulator.origin())
        .publish_key("pub")
        .secret_key("TOP-SECRET-KEY")
        .auth_token("SECRET-AUTH-TOKEN")
        .build()
        .expect("config");
    let client = Client::builder(config)
        .retry_policy(RetryPolicy::linear(Duration::from_millis(10), 1))
        .build()
        .expect("client");
    client
        .heartbeat()
        .channels(["a"])
        .call()
        .expect("heartbeat");
    emulator
        .faults()
        .push(FaultRule::respond(503, "busy").times(1));
    client.here_now().channels(["a"]).call().expect("retried");

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).expect("utf-8");
    assert!(text.contains("here_now"), "nothing logged:\n{text}");
    assert!(text.contains("retrying"), "no retry logged:\n{text}");
    for secret in [
        "TOP-SECRET-KEY",
        "SECRET-AUTH-TOKEN",
        "signature",
        "auth=",
        "v2.",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} leaked into the logs:\n{text}"
        );
    }
    let debug = format!("{client:?}");
    assert!(!debug.contains("TOP-SECRET-KEY") && !debug.contains("SECRET-AUTH-TOKEN"));
}
