//! End-to-end tests of `presence-tokio` against the embedded emulator (and, for transport
//! corner cases the emulator cannot produce, a few raw TCP servers on 127.0.0.1:0).
//!
//! * `scenario_table`: the whole cross-adapter table (`presence_workspace::scenarios`), driven
//!   through the fluent builders with every option.
//! * `scenario_table_via_execute`: the non-timing part of the table again, through the generic
//!   `execute_with` (`Call::dispatch`), as other adapters drive it.
//! * The rest: what only an async client has (concurrency, cancellation, task lifetimes) and
//!   transport details (stale pooled connections, chunked bodies, redirects, TLS, logging).

use std::future::IntoFuture as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use presence_emulator::{EmulatorBuilder, FaultRule};
use presence_tokio::{Client, Config, Error, ErrorKind, RetryPolicy};
use presence_workspace::scenarios::{self, Call, ClientOptions, Driver, Execute, Group, Outcome};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Drivers for the scenario table.

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

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
        runtime().block_on(async move {
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
                    Outcome::HereNow(b.await?)
                }
                Call::WhereNow(c) => {
                    let mut b = client.where_now();
                    if let Some(u) = &c.user_id {
                        b = b.user_id(u.clone());
                    }
                    Outcome::WhereNow(b.await?)
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
                    b.await?;
                    Outcome::Done
                }
                Call::Leave(c) => {
                    client
                        .leave()
                        .channels(c.channels.iter().cloned())
                        .groups(c.groups.iter().cloned())
                        .await?;
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
                    Outcome::SetState(b.state(&c.state).await?)
                }
                Call::GetState(c) => {
                    let mut b = client
                        .get_state()
                        .channels(c.channels.iter().cloned())
                        .groups(c.groups.iter().cloned());
                    if let Some(u) = &c.user_id {
                        b = b.user_id(u.clone());
                    }
                    Outcome::GetState(b.await?)
                }
                Call::AddChannelsToGroup { group, channels } => {
                    client
                        .add_channels_to_group(group.clone(), channels.iter().cloned())
                        .await?;
                    Outcome::Done
                }
                Call::RemoveChannelsFromGroup { group, channels } => {
                    client
                        .remove_channels_from_group(group.clone(), channels.iter().cloned())
                        .await?;
                    Outcome::Done
                }
                Call::ListGroupChannels { group } => {
                    Outcome::GroupChannels(client.list_group_channels(group.clone()).await?)
                }
                Call::DeleteGroup { group } => {
                    client.delete_group(group.clone()).await?;
                    Outcome::Done
                }
            })
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
    fn execute<O: presence_tokio::Operation>(&mut self, op: &O) -> Result<O::Output, Error> {
        runtime().block_on(self.client.execute_with(self.config, op))
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
// Async-only behaviour, against the emulator.

fn config(origin: &str, user: &str) -> Config {
    Config::builder("sub-c-tokio", user)
        .origin(origin)
        .build()
        .expect("config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_calls_all_succeed() {
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.with_config(config(&emulator.origin(), &format!("user-{i}")));
        tasks.spawn(async move {
            client.heartbeat().channels(["crowd"]).await?;
            client.here_now().channels(["crowd"]).await
        });
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        let here = joined.expect("task").expect("call");
        assert!(here.total_occupancy >= 1);
        ok += 1;
    }
    assert_eq!(ok, 200);
    let here = client
        .here_now()
        .channels(["crowd"])
        .await
        .expect("here_now");
    assert_eq!(here.total_occupancy, 200);
    assert_eq!(emulator.stats().requests_total, 401);
}

#[tokio::test]
async fn stale_pooled_connection_is_resent_once_at_once() {
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    client.heartbeat().channels(["a"]).await.expect("warm-up");
    // The server drops the (reused, keep-alive) connection as the next request arrives.
    emulator.faults().push(FaultRule::drop_connection());
    let before = emulator.stats().requests_total;
    let started = Instant::now();
    let here = client.here_now().channels(["a"]).await.expect("re-sent");
    assert_eq!(here.total_occupancy, 1);
    assert_eq!(emulator.stats().requests_total - before, 2);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "re-sent without a delay"
    );

    // Only once: a server that keeps dropping gives a network error after two tries.
    emulator
        .faults()
        .push(FaultRule::drop_connection().forever());
    let before = emulator.stats().requests_total;
    let err = client
        .here_now()
        .channels(["a"])
        .await
        .expect_err("dropped");
    assert_eq!(err.kind(), ErrorKind::Network);
    assert_eq!(emulator.stats().requests_total - before, 2);

    // A fresh connection dropped is not re-sent (it is not a stale keep-alive connection).
    emulator.faults().clear();
    let fresh = Client::new(config(&emulator.origin(), "alice")).expect("client");
    emulator.faults().push(FaultRule::drop_connection());
    let before = emulator.stats().requests_total;
    let err = fresh.where_now().await.expect_err("dropped");
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
    assert_eq!(emulator.stats().requests_total - before, 1);
}

#[tokio::test]
async fn truncated_body_is_a_read_body_network_error() {
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    client.heartbeat().channels(["a"]).await.expect("heartbeat");
    emulator.faults().push(FaultRule::truncate(10));
    let err = client
        .here_now()
        .channels(["a"])
        .await
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
}

#[tokio::test]
async fn dropping_the_future_cancels_and_no_task_outlives_the_client() {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let handle = tokio::runtime::Handle::current();
    assert_eq!(handle.metrics().num_alive_tasks(), 0);
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    client.heartbeat().channels(["a"]).await.expect("heartbeat");

    emulator
        .faults()
        .push(FaultRule::delay(Duration::from_secs(5)).forever());
    let started = Instant::now();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(200),
        client.here_now().channels(["a"]).into_future(),
    )
    .await;
    assert!(cancelled.is_err(), "should still have been waiting");
    assert!(started.elapsed() < Duration::from_secs(2));
    emulator.faults().clear();

    // The client is still usable after a cancelled call.
    let here = client
        .here_now()
        .channels(["a"])
        .await
        .expect("after cancel");
    assert_eq!(here.total_occupancy, 1);

    drop(client);
    let deadline = Instant::now() + Duration::from_secs(3);
    while handle.metrics().num_alive_tasks() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        handle.metrics().num_alive_tasks(),
        0,
        "connection or pool tasks outlived the client"
    );
}

#[tokio::test]
async fn builders_take_structs_and_are_spawnable() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Profile {
        name: String,
        age: u32,
    }
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    let client = Client::new(config(&emulator.origin(), "alice")).expect("client");
    let me = Profile {
        name: "Alice".into(),
        age: 30,
    };
    client
        .heartbeat()
        .channels(["lobby"])
        .state("lobby", &me)
        .await
        .expect("heartbeat");
    let stored = client
        .set_state()
        .channels(["lobby"])
        .state(&me)
        .await
        .expect("set_state");
    assert_eq!(stored.state_as::<Profile>().expect("decode"), me);

    // Builders from the client are 'static: they can be spawned.
    let pending = client.here_now().channels(["lobby"]).include_state(true);
    let here = tokio::spawn(pending.into_future())
        .await
        .expect("join")
        .expect("here_now");
    let alice = &here.channels[0].occupants[0];
    assert_eq!(alice.state_as::<Profile>().expect("decode"), Some(me));

    let got = client
        .get_state()
        .channels(["lobby"])
        .await
        .expect("get_state");
    assert_eq!(
        got.state_as::<Profile>("lobby").expect("decode"),
        Some(Profile {
            name: "Alice".into(),
            age: 30
        })
    );

    // A state that is not a JSON object is refused before sending.
    let err = client
        .set_state()
        .channels(["lobby"])
        .state(42)
        .await
        .expect_err("not an object");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn with_config_and_execute_with_change_identity_per_call() {
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    let alice = Client::new(config(&emulator.origin(), "alice")).expect("client");
    let bob = alice.with_config(config(&emulator.origin(), "bob"));
    bob.heartbeat().channels(["x"]).await.expect("bob");
    alice.heartbeat().channels(["y"]).await.expect("alice");
    let carol = config(&emulator.origin(), "carol");
    alice
        .execute_with(
            &carol,
            &presence_tokio::proto::Heartbeat::new().channels(["x"]),
        )
        .await
        .expect("carol");
    let x = alice
        .execute(&presence_tokio::proto::HereNow::new().channels(["x"]))
        .await
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

#[tokio::test]
async fn pool_options_and_a_user_supplied_hyper_client() {
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    let no_keep_alive = Client::builder(config(&emulator.origin(), "alice"))
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(Some(Duration::from_secs(1)))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    for _ in 0..3 {
        no_keep_alive
            .where_now()
            .await
            .expect("with pool_max_idle_per_host(0)");
    }

    let hyper: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let custom = Client::builder(config(&emulator.origin(), "alice"))
        .hyper_client(hyper.clone())
        .build()
        .expect("client");
    custom
        .heartbeat()
        .channels(["a"])
        .await
        .expect("custom client");
    assert_eq!(
        custom
            .here_now()
            .channels(["a"])
            .await
            .expect("here")
            .total_occupancy,
        1
    );

    let err = Client::builder(config(&emulator.origin(), "alice"))
        .hyper_client(hyper)
        .pool_max_idle_per_host(4)
        .build()
        .expect_err("conflicting options");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn https_goes_through_rustls_and_failures_are_typed() {
    let emulator = EmulatorBuilder::new().start().await.expect("emulator");
    // TLS to a plain-HTTP port: the rustls handshake fails while connecting.
    let tls = Config::builder("k", "alice")
        .origin(format!("https://{}", emulator.host_port()))
        .build()
        .expect("config");
    let err = Client::new(tls)
        .expect("client")
        .where_now()
        .await
        .expect_err("handshake");
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

    // Nothing listening: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let refused = config(&format!("http://127.0.0.1:{port}"), "alice");
    let err = Client::new(refused)
        .expect("client")
        .where_now()
        .await
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

/// Serves connections on 127.0.0.1:0: for each request head read, `reply` gives the raw bytes
/// to write (or `None` to close). Returns the origin and the request lines received.
async fn raw_server(
    reply: impl Fn(usize, &str) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reply = Arc::new(reply);
    let count = Arc::new(AtomicUsize::new(0));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let reply = Arc::clone(&reply);
            let count = Arc::clone(&count);
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        buf.drain(..end + 4);
                        let line = head.lines().next().unwrap_or_default().to_owned();
                        log.lock().unwrap().push(line);
                        let i = count.fetch_add(1, Ordering::SeqCst);
                        match reply(i, &head) {
                            Some(bytes) => {
                                if socket.write_all(&bytes).await.is_err() {
                                    return;
                                }
                            }
                            None => return,
                        }
                    }
                }
            });
        }
    });
    (origin, seen)
}

fn response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/javascript\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
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

#[tokio::test]
async fn each_attempt_gets_its_own_request_id_and_a_current_timestamp() {
    let (origin, seen) = raw_server(|i, _| {
        Some(if i == 0 {
            response("503 Service Unavailable", "busy")
        } else {
            response("200 OK", HERE_NOW_BODY)
        })
    })
    .await;
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
        .await
        .expect("second attempt");
    let lines = seen.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ids: Vec<_> = lines
        .iter()
        .map(|l| query_param(l, "requestid").expect("requestid"))
        .collect();
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        let uuid = uuid_like(id);
        assert!(uuid, "{id} is not a v4 uuid");
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

fn uuid_like(id: &str) -> bool {
    let parts: Vec<_> = id.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts[2].starts_with('4')
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn chunked_bodies_are_joined_and_capped_while_reading() {
    let (origin, _) = raw_server(|i, _| {
        let mut out =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        if i == 0 {
            // A valid reply split across three chunks.
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
        Some(out)
    })
    .await;
    let client = Client::builder(config(&origin, "alice"))
        .max_body_size(16 * 1024)
        .build()
        .expect("client");
    let here = client
        .here_now()
        .channels(["lobby"])
        .await
        .expect("chunked reply");
    assert_eq!(here.channels[0].occupants[0].user_id, "alice");
    let err = client
        .here_now()
        .channels(["lobby"])
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 16_384 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (origin, seen) = raw_server(|_, _| {
        Some(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        )
    })
    .await;
    let client = Client::new(config(&origin, "alice")).expect("client");
    let err = client
        .where_now()
        .await
        .expect_err("a redirect is an error");
    assert_eq!(err.status(), Some(302));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn logs_carry_the_operation_but_never_secrets_or_signed_urls() {
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
    client.heartbeat().channels(["a"]).await.expect("heartbeat");
    emulator
        .faults()
        .push(FaultRule::respond(503, "busy").times(1));
    client.here_now().channels(["a"]).await.expect("retried");

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
}
