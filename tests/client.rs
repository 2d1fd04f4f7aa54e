//! End-to-end tests of the client (`presence_proto::Client<F>`) through both adapters,
//! against the embedded emulator and, for transport corner cases the emulator cannot produce,
//! a few raw `std::net` servers on 127.0.0.1:0.
//!
//! * Defined once, run through both adapters (`tokio_adapter::<name>` and
//!   `blocking_adapter::<name>`, see [`for_each_adapter!`]): the whole cross-adapter scenario
//!   table (`presence_workspace::scenarios`) through the fluent builders with every option and
//!   again through `execute_with`, then threads, identity per call, options, and transport
//!   details (request ids, gzip and chunked bodies, stalls, redirects, keep-alive, TLS,
//!   logging).
//! * `tokio_only`: what only the async adapter has — many calls on one runtime, builders as
//!   spawned tasks, cancellation by dropping a future, the re-send of a request that met a
//!   stale pooled connection (only the hyper driver reports stale connections), and a
//!   user-supplied hyper client.

#[path = "support/adapters.rs"]
mod adapters;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters::{Adapter, PerAdapter};
use presence_emulator::{BackgroundEmulator, EmulatorBuilder, FaultRule};
use presence_proto::{Client, Config, Error, ErrorKind, RetryPolicy};
use presence_workspace::scenarios::{self, ClientOptions, Driver, Execute, Group, Outcome};

/// Defines each listed test once per adapter: `tokio_adapter::<name>` and
/// `blocking_adapter::<name>` both run `<name>::<Adapter>` inside `Adapter::run`.
macro_rules! for_each_adapter {
    ($($name:ident),* $(,)?) => {
        /// The tests through `presence_tokio`.
        mod tokio_adapter {
            $(
                #[test]
                fn $name() {
                    use super::adapters::Adapter as _;
                    super::adapters::Tokio::run(super::$name);
                }
            )*
        }
        /// The same tests through `presence_blocking`.
        mod blocking_adapter {
            $(
                #[test]
                fn $name() {
                    use super::adapters::Adapter as _;
                    super::adapters::Blocking::run(super::$name);
                }
            )*
        }
    };
}

for_each_adapter!(
    scenario_table,
    scenario_table_via_execute,
    sixteen_threads_share_one_client,
    builders_take_structs_and_move_to_threads,
    with_config_and_execute_with_change_identity_per_call,
    options_are_validated_and_pool_options_work,
    truncated_and_dropped_replies_are_typed_network_errors,
    https_goes_through_rustls_and_failures_are_typed,
    each_attempt_gets_its_own_request_id_and_a_current_timestamp,
    gzip_is_left_to_the_core_and_the_transport_adds_no_headers,
    chunked_bodies_are_joined_and_capped_while_reading,
    a_body_that_stalls_or_drips_hits_the_request_timeout,
    redirects_are_not_followed,
    keep_alive_is_used_and_can_be_turned_off,
    logs_carry_the_operation_but_never_secrets_or_signed_urls,
);

// =============================================================================================
// The scenario table.

fn client_for<A: Adapter>(options: &ClientOptions) -> Client<A::Flavour> {
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
struct BuilderDriver<'a, A: Adapter> {
    adapter: &'a A,
    client: Client<A::Flavour>,
}

impl<A: Adapter> Driver for BuilderDriver<'_, A> {
    fn call(&self, config: &Config, call: &scenarios::Call) -> Result<Outcome, Error> {
        use scenarios::Call as C;
        let a = self.adapter;
        let client = self.client.with_config(config.clone());
        Ok(match call {
            C::HereNow(c) => {
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
                Outcome::HereNow(a.call(b)?)
            }
            C::WhereNow(c) => {
                let mut b = client.where_now();
                if let Some(u) = &c.user_id {
                    b = b.user_id(u.clone());
                }
                Outcome::WhereNow(a.call(b)?)
            }
            C::Heartbeat(c) => {
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
                a.call(b)?;
                Outcome::Done
            }
            C::Leave(c) => {
                a.call(
                    client
                        .leave()
                        .channels(c.channels.iter().cloned())
                        .groups(c.groups.iter().cloned()),
                )?;
                Outcome::Done
            }
            C::SetState(c) => {
                let mut b = client
                    .set_state()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(u) = &c.user_id {
                    b = b.user_id(u.clone());
                }
                // A borrowed state value, as users pass `&my_struct`.
                Outcome::SetState(a.call(b.state(&c.state))?)
            }
            C::GetState(c) => {
                let mut b = client
                    .get_state()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(u) = &c.user_id {
                    b = b.user_id(u.clone());
                }
                Outcome::GetState(a.call(b)?)
            }
            C::AddChannelsToGroup { group, channels } => {
                a.call(client.add_channels_to_group(group.clone(), channels.iter().cloned()))?;
                Outcome::Done
            }
            C::RemoveChannelsFromGroup { group, channels } => {
                a.call(client.remove_channels_from_group(group.clone(), channels.iter().cloned()))?;
                Outcome::Done
            }
            C::ListGroupChannels { group } => {
                Outcome::GroupChannels(a.call(client.list_group_channels(group.clone()))?)
            }
            C::DeleteGroup { group } => {
                a.call(client.delete_group(group.clone()))?;
                Outcome::Done
            }
        })
    }
}

/// Runs each call through `Client::execute_with` via `Call::dispatch`.
struct ExecuteDriver<'a, A: Adapter> {
    adapter: &'a A,
    client: Client<A::Flavour>,
}

struct Exec<'a, A: Adapter> {
    adapter: &'a A,
    client: &'a Client<A::Flavour>,
    config: &'a Config,
}

impl<A: Adapter> Execute for Exec<'_, A> {
    fn execute<O: presence_proto::Operation>(&mut self, op: &O) -> Result<O::Output, Error> {
        self.adapter.execute_with(self.client, self.config, op)
    }
}

impl<A: Adapter> Driver for ExecuteDriver<'_, A> {
    fn call(&self, config: &Config, call: &scenarios::Call) -> Result<Outcome, Error> {
        call.dispatch(&mut Exec {
            adapter: self.adapter,
            client: &self.client,
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

fn scenario_table<A: Adapter>(adapter: &A) {
    let table = scenarios::all();
    assert!(
        table.len() >= 30,
        "table has only {} scenarios",
        table.len()
    );
    let failures = scenarios::run_all(&table, |o: &ClientOptions| BuilderDriver {
        adapter,
        client: client_for::<A>(o),
    });
    assert!(
        failures.is_empty(),
        "{} failed through {}:\n{}",
        failures.len(),
        A::NAME,
        report(&failures)
    );
}

fn scenario_table_via_execute<A: Adapter>(adapter: &A) {
    let table = scenarios::all();
    let quick = table.iter().filter(|s| s.group != Group::Faults);
    let failures = scenarios::run_all(quick, |o: &ClientOptions| ExecuteDriver {
        adapter,
        client: client_for::<A>(o),
    });
    assert!(
        failures.is_empty(),
        "{} failed through {}:\n{}",
        failures.len(),
        A::NAME,
        report(&failures)
    );
}

// =============================================================================================
// Against the emulator.

fn emulator() -> BackgroundEmulator {
    EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator")
}

fn config(origin: &str, user: &str) -> Config {
    Config::builder("sub-c-e2e", user)
        .origin(origin)
        .build()
        .expect("config")
}

fn sixteen_threads_share_one_client<A: Adapter>(a: &A) {
    let emulator = emulator();
    let origin = emulator.origin();
    let client = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let (client, origin) = (&client, &origin);
                scope.spawn(move || {
                    for i in 0..10 {
                        let me = client.with_config(config(origin, &format!("user-{t}-{i}")));
                        a.call(me.heartbeat().channels(["crowd"]))?;
                        let here = a.call(me.here_now().channels(["crowd"]))?;
                        assert!(here.total_occupancy >= 1);
                    }
                    Ok::<(), Error>(())
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread").expect("calls");
        }
    });
    let here = a
        .call(client.here_now().channels(["crowd"]))
        .expect("here_now");
    assert_eq!(here.total_occupancy, 160);
    assert_eq!(emulator.stats().requests_total, 321);
}

fn builders_take_structs_and_move_to_threads<A: Adapter>(a: &A) {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Profile {
        name: String,
        age: u32,
    }
    let emulator = emulator();
    let client = Client::<A::Flavour>::new(config(&emulator.origin(), "alice")).expect("client");
    let me = Profile {
        name: "Alice".into(),
        age: 30,
    };
    a.call(client.heartbeat().channels(["lobby"]).state("lobby", &me))
        .expect("heartbeat");
    let stored = a
        .call(client.set_state().channels(["lobby"]).state(&me))
        .expect("set_state");
    assert_eq!(stored.state_as::<Profile>().expect("decode"), me);

    // Builders from the client are 'static and Send: they can be sent from another thread.
    let pending = client.here_now().channels(["lobby"]).include_state(true);
    let here = std::thread::scope(|scope| scope.spawn(|| a.call(pending)).join())
        .expect("join")
        .expect("here_now");
    let alice = &here.channels[0].occupants[0];
    assert_eq!(alice.state_as::<Profile>().expect("decode"), Some(me));

    let got = a
        .call(client.get_state().channels(["lobby"]))
        .expect("get_state");
    assert_eq!(
        got.state_as::<Profile>("lobby").expect("decode"),
        Some(Profile {
            name: "Alice".into(),
            age: 30
        })
    );

    // A state that is not a JSON object is refused before sending.
    let before = emulator.stats().requests_total;
    let err = a
        .call(client.set_state().channels(["lobby"]).state(42))
        .expect_err("not an object");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // A heartbeat state that does not serialise is reported when sent, nothing sent.
    let bad = std::collections::BTreeMap::from([((1, 2), "tuple keys are not JSON")]);
    let err = a
        .call(client.heartbeat().channels(["lobby"]).state("lobby", &bad))
        .expect_err("unserialisable");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(emulator.stats().requests_total, before);
}

fn with_config_and_execute_with_change_identity_per_call<A: Adapter>(a: &A) {
    let emulator = emulator();
    let origin = emulator.origin();
    let alice = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    let bob = alice.with_config(config(&origin, "bob"));
    a.call(bob.heartbeat().channels(["x"])).expect("bob");
    a.call(alice.heartbeat().channels(["y"])).expect("alice");
    let carol = config(&origin, "carol");
    a.execute_with(
        &alice,
        &carol,
        &presence_proto::Heartbeat::new().channels(["x"]),
    )
    .expect("carol");
    let x = a
        .execute(&alice, &presence_proto::HereNow::new().channels(["x"]))
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

fn options_are_validated_and_pool_options_work<A: Adapter>(a: &A) {
    let emulator = emulator();
    let origin = emulator.origin();
    let no_keep_alive = Client::<A::Flavour>::builder(config(&origin, "alice"))
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(Some(Duration::from_secs(1)))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    for _ in 0..3 {
        a.call(no_keep_alive.where_now())
            .expect("with pool_max_idle_per_host(0)");
    }
    let no_idle_limit = Client::<A::Flavour>::builder(config(&origin, "alice"))
        .pool_idle_timeout(None)
        .connect_timeout(None)
        .build()
        .expect("client");
    a.call(no_idle_limit.where_now()).expect("no idle limit");

    for builder in [
        Client::<A::Flavour>::builder(config(&origin, "a")).request_timeout(Duration::ZERO),
        Client::<A::Flavour>::builder(config(&origin, "a")).connect_timeout(Duration::ZERO),
        Client::<A::Flavour>::builder(config(&origin, "a")).max_body_size(0),
    ] {
        let err = builder.build().expect_err("invalid option");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(emulator.stats().requests_total, 4);
}

fn truncated_and_dropped_replies_are_typed_network_errors<A: Adapter>(a: &A) {
    let emulator = emulator();
    let origin = emulator.origin();
    let client = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    a.call(client.heartbeat().channels(["a"]))
        .expect("heartbeat");
    emulator.faults().push(FaultRule::truncate(10));
    let err = a
        .call(client.here_now().channels(["a"]))
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

    // The connection a truncated reply came on is not reused: dropping the next one is a
    // send error, not re-sent.
    emulator.faults().push(FaultRule::drop_connection());
    let before = emulator.stats().requests_total;
    let err = a.call(client.where_now()).expect_err("dropped");
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

    // Nor is a fresh connection dropped re-sent (it is no stale keep-alive connection).
    let fresh = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    emulator.faults().push(FaultRule::drop_connection());
    let before = emulator.stats().requests_total;
    let err = a.call(fresh.where_now()).expect_err("dropped");
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

    // And the clients keep working afterwards.
    emulator.faults().clear();
    for client in [&client, &fresh] {
        let here = a.call(client.here_now().channels(["a"])).expect("here");
        assert_eq!(here.total_occupancy, 1);
    }
}

fn https_goes_through_rustls_and_failures_are_typed<A: Adapter>(a: &A) {
    let emulator = emulator();
    // TLS to a plain-HTTP port: the rustls handshake fails, a network error. Where it is
    // reported differs: hyper-rustls handshakes while connecting, ureq on the first write.
    let handshake = PerAdapter {
        tokio: "connect",
        blocking: "send",
    };
    let tls = Config::builder("k", "alice")
        .origin(format!("https://{}", emulator.host_port()))
        .build()
        .expect("config");
    let err = a
        .call(Client::<A::Flavour>::new(tls).expect("client").where_now())
        .expect_err("handshake");
    assert!(
        matches!(err, Error::Network { context, .. } if context == *A::pick(&handshake)),
        "{err:?}"
    );

    // Nothing listening: connection refused.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let refused = config(&format!("http://127.0.0.1:{port}"), "alice");
    let err = a
        .call(
            Client::<A::Flavour>::new(refused)
                .expect("client")
                .where_now(),
        )
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

fn logs_carry_the_operation_but_never_secrets_or_signed_urls<A: Adapter>(a: &A) {
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
    // The calls run on this thread (tokio: inside `block_on`), where the capture is set.
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
    let client = Client::<A::Flavour>::builder(config)
        .retry_policy(RetryPolicy::linear(Duration::from_millis(10), 1))
        .build()
        .expect("client");
    a.call(client.heartbeat().channels(["a"]))
        .expect("heartbeat");
    emulator
        .faults()
        .push(FaultRule::respond(503, "busy").times(1));
    a.call(client.here_now().channels(["a"])).expect("retried");

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

// =============================================================================================
// Raw servers, for what the emulator does not do.

/// One request as the raw server saw it.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    head: String,
}

/// Serves keep-alive connections on 127.0.0.1:0, one thread each: for the n-th request
/// `reply(n, head, stream)` writes the answer (returning `false` closes the connection).
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

fn each_attempt_gets_its_own_request_id_and_a_current_timestamp<A: Adapter>(a: &A) {
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
    let client = Client::<A::Flavour>::builder(signed)
        .retry_policy(RetryPolicy::linear(Duration::from_millis(10), 1))
        .build()
        .expect("client");
    a.call(client.here_now().channels(["lobby"]))
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

fn gzip_is_left_to_the_core_and_the_transport_adds_no_headers<A: Adapter>(a: &A) {
    let gzipped = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(HERE_NOW_BODY.as_bytes()).expect("gzip");
        enc.finish().expect("gzip")
    };
    let (origin, seen) = raw_server(move |_, _, stream| {
        let bytes = response("200 OK", "Content-Encoding: gzip\r\n", &gzipped);
        stream.write_all(&bytes).is_ok()
    });
    let client = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    let here = a
        .call(client.here_now().channels(["lobby"]))
        .expect("gzip reply");
    assert_eq!(here.channels[0].occupants[0].user_id, "alice");
    let head = seen.lock().unwrap()[0].head.to_ascii_lowercase();
    assert_eq!(head.matches("accept-encoding").count(), 1, "{head}");
    assert!(head.contains("accept-encoding: gzip\r\n"), "{head}");
    assert!(!head.contains("user-agent"), "{head}");
}

fn chunked_bodies_are_joined_and_capped_while_reading<A: Adapter>(a: &A) {
    let (origin, _) = raw_server(|n, _, stream| {
        let mut out =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        if n == 0 {
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
        stream.write_all(&out).is_ok()
    });
    let client = Client::<A::Flavour>::builder(config(&origin, "alice"))
        .max_body_size(16 * 1024)
        .build()
        .expect("client");
    let here = a
        .call(client.here_now().channels(["lobby"]))
        .expect("chunked reply");
    assert_eq!(here.channels[0].occupants[0].user_id, "alice");
    let err = a
        .call(client.here_now().channels(["lobby"]))
        .expect_err("too large");
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 16_384 }),
        "{err:?}"
    );
}

fn a_body_that_stalls_or_drips_hits_the_request_timeout<A: Adapter>(a: &A) {
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
        let client = Client::<A::Flavour>::builder(config(&origin, "alice"))
            .request_timeout(Duration::from_millis(400))
            .build()
            .expect("client");
        let started = Instant::now();
        let err = a
            .call(client.here_now().channels(["lobby"]))
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

fn redirects_are_not_followed<A: Adapter>(a: &A) {
    let (origin, seen) = raw_server(|_, _, stream| {
        let bytes = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n";
        stream.write_all(bytes).is_ok()
    });
    let client = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    let err = a
        .call(client.where_now())
        .expect_err("a redirect is an error");
    assert_eq!(err.status(), Some(302));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

fn keep_alive_is_used_and_can_be_turned_off<A: Adapter>(a: &A) {
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
    let pooled = Client::<A::Flavour>::new(config(&origin, "alice")).expect("client");
    for _ in 0..5 {
        a.call(pooled.where_now()).expect("pooled");
    }
    // Five calls one after the other reuse a pooled connection. hyper's pool takes a
    // connection back asynchronously, after the reply was handed over, so a call made at once
    // may still open a second one; ureq's is back before the call returns.
    let pooled_connections = PerAdapter {
        tokio: 1..=4,
        blocking: 1..=1,
    };
    let opened = *connections.lock().unwrap();
    assert!(
        A::pick(&pooled_connections).contains(&opened),
        "{opened} connections"
    );
    let unpooled = Client::<A::Flavour>::builder(config(&origin, "alice"))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    for _ in 0..3 {
        a.call(unpooled.where_now()).expect("unpooled");
    }
    // Without keep-alive, one connection per call.
    assert_eq!(*connections.lock().unwrap(), opened + 3);
}

// =============================================================================================
// Adapter-specific: presence_tokio only.

/// What only the async adapter has: its own runtime, futures and hyper.
mod tokio_only {
    use std::future::IntoFuture as _;
    use std::time::{Duration, Instant};

    use presence_emulator::{EmulatorBuilder, FaultRule};
    use presence_tokio::{Client, Error, ErrorKind};

    use super::config;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_concurrent_calls_on_one_runtime_and_builders_are_tasks() {
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
        // A builder from the client is 'static: it can be spawned as it is.
        let pending = client.here_now().channels(["crowd"]);
        let here = tokio::spawn(pending.into_future())
            .await
            .expect("join")
            .expect("here_now");
        assert_eq!(here.total_occupancy, 200);
        assert_eq!(emulator.stats().requests_total, 401);
    }

    /// Only the hyper driver reports a stale pooled connection (`SendError::stale`), which the
    /// core re-sends once at once.
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
    async fn a_user_supplied_hyper_client() {
        let emulator = EmulatorBuilder::new().start().await.expect("emulator");
        let hyper: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let custom = Client::builder(config(&emulator.origin(), "alice"))
            .driver(presence_tokio::Async(presence_tokio::Hyper::from_client(
                hyper.clone(),
            )))
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

        // Pool options belong to the client presence-tokio builds, not to a supplied one.
        let err: Error = Client::builder(config(&emulator.origin(), "alice"))
            .driver(presence_tokio::Async(presence_tokio::Hyper::from_client(
                hyper,
            )))
            .pool_max_idle_per_host(4)
            .build()
            .expect_err("conflicting options");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
