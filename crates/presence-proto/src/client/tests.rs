//! The client surface against scripted drivers: a new operation needs nothing from an
//! adapter, retries follow the policy, stale connections are re-sent once, and keep-present
//! runs on a blocking driver.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::*;
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::ops::Operation;
use crate::retry::RetryPolicy;
use crate::session::{SessionEvent, SessionOptions};
use crate::stamp::Stamp;

/// A blocking driver that answers from a script and records what it was sent.
struct Scripted {
    replies: Mutex<VecDeque<Result<(u16, &'static str), SendError>>>,
    sent: Mutex<Vec<(String, Limits)>>,
    slept: Mutex<Vec<Duration>>,
}

impl Scripted {
    fn client(replies: Vec<Result<(u16, &'static str), SendError>>) -> Client<Blocking<Self>> {
        Self::client_with(replies, ClientOptions::default())
    }

    fn client_with(
        replies: Vec<Result<(u16, &'static str), SendError>>,
        options: ClientOptions,
    ) -> Client<Blocking<Self>> {
        let driver = Self {
            replies: Mutex::new(replies.into()),
            sent: Mutex::new(Vec::new()),
            slept: Mutex::new(Vec::new()),
        };
        let config = Config::builder("demo", "alice").build().unwrap();
        Client::from_parts(config, options, Blocking(driver)).unwrap()
    }
}

impl Environment for Scripted {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn unix_time(&self) -> u64 {
        1_700_000_000
    }
    fn random(&self) -> u64 {
        7
    }
}

const ACK: &str = r#"{"status":200,"message":"OK","service":"Presence"}"#;

impl BlockingDriver for Scripted {
    type Body = &'static [u8];

    fn connect(_: &ClientOptions) -> Result<Self, Error> {
        unreachable!("built with from_parts")
    }

    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<http::Response<Self::Body>, SendError> {
        self.sent
            .lock()
            .unwrap()
            .push((request.uri().path().to_owned(), limits));
        // An exhausted script acknowledges (keep-present's heartbeats and leave).
        let (status, body) = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok((200, ACK)))?;
        Ok(http::Response::builder()
            .status(status)
            .body(body.as_bytes())
            .unwrap())
    }

    fn sleep(&self, duration: Duration) {
        self.slept.lock().unwrap().push(duration);
    }

    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        std::thread::spawn(job);
    }
}

/// An operation the crate does not have, defined here as a user (or a new file in `ops/`)
/// would: it is sent through the client, with retries and every option, and no adapter knows
/// of it.
#[derive(Debug)]
struct Time;

impl Operation for Time {
    type Output = u64;
    const NAME: &'static str = "time";

    fn to_request(&self, config: &Config, _: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        let mut request = http::Request::new(Vec::new());
        *request.uri_mut() = format!("{}/time/0", config.origin())
            .parse()
            .map_err(|_| Error::argument("origin", "not a URI"))?;
        Ok(request)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<u64, Error> {
        let text = std::str::from_utf8(response.body()).unwrap_or_default();
        text.trim_matches(['[', ']'])
            .parse()
            .map_err(|_| Error::decode(200, "not a timetoken", response.body(), None))
    }

    fn timeout(&self, _client_timeout: Duration) -> Duration {
        Duration::from_secs(3)
    }
}

#[test]
fn a_new_operation_needs_nothing_from_an_adapter() {
    let client = Scripted::client(vec![Ok((200, "[17000000000000000]")), Ok((200, "[5]"))]);
    assert_eq!(client.execute(&Time).unwrap(), 17_000_000_000_000_000);
    assert_eq!(Call::new(&client, Time).call().unwrap(), 5);
    let Blocking(driver) = client.driver();
    let sent = driver.sent.lock().unwrap();
    assert_eq!(sent[0].0, "/time/0");
    // The operation's own timeout replaces the client's; the body cap is the client's.
    assert_eq!(
        sent[0].1,
        Limits::new(Duration::from_secs(3), DEFAULT_MAX_BODY_SIZE)
    );
}

#[test]
fn builders_send_the_operation_with_the_client_limits() {
    let client = Scripted::client(vec![Ok((
        200,
        r#"{"status":200,"occupancy":0,"uuids":[]}"#,
    ))]);
    let here = client.here_now().channels(["lobby"]).call().unwrap();
    assert_eq!(here.total_occupancy, 0);
    let Blocking(driver) = client.driver();
    let sent = driver.sent.lock().unwrap();
    assert_eq!(sent[0].0, "/v2/presence/sub-key/demo/channel/lobby");
    assert_eq!(sent[0].1.timeout, DEFAULT_REQUEST_TIMEOUT);
}

#[test]
fn retries_follow_the_policy_and_sleep_through_the_driver() {
    let options =
        ClientOptions::default().retry_policy(RetryPolicy::linear(Duration::from_millis(200), 2));
    let busy = r#"{"status":503,"error":true,"message":"busy"}"#;
    let client = Scripted::client_with(
        vec![Ok((503, busy)), Ok((503, busy)), Ok((200, ACK))],
        options,
    );
    client.heartbeat().channels(["lobby"]).call().unwrap();
    let Blocking(driver) = client.driver();
    assert_eq!(driver.sent.lock().unwrap().len(), 3);
    let slept = driver.slept.lock().unwrap();
    assert_eq!(slept.len(), 2);
    assert!(
        slept.iter().all(|d| *d >= Duration::from_millis(200)),
        "{slept:?}"
    );
}

#[test]
fn a_stale_pooled_connection_is_sent_again_once_without_sleeping() {
    let stale = || {
        Err(SendError::stale(Error::network(
            "send",
            std::io::Error::other("reset"),
        )))
    };
    let client = Scripted::client(vec![stale(), Ok((200, ACK))]);
    client.leave().channels(["lobby"]).call().unwrap();
    let client = Scripted::client(vec![stale(), stale()]);
    let err = client.leave().channels(["lobby"]).call().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    let Blocking(driver) = client.driver();
    assert!(driver.slept.lock().unwrap().is_empty());
}

#[test]
fn a_state_that_does_not_serialise_fails_before_sending() {
    struct Bad;
    impl serde::Serialize for Bad {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    let client = Scripted::client(vec![]);
    let err = client
        .heartbeat()
        .channels(["a"])
        .state("a", &Bad)
        .call()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(client.driver().0.sent.lock().unwrap().is_empty());
}

#[test]
fn supplied_drivers_refuse_pool_options() {
    let driver = Blocking(Scripted {
        replies: Mutex::new(VecDeque::new()),
        sent: Mutex::new(Vec::new()),
        slept: Mutex::new(Vec::new()),
    });
    let config = Config::builder("demo", "alice").build().unwrap();
    let err = Client::builder(config)
        .driver(driver)
        .pool_max_idle_per_host(1)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn keep_present_runs_on_a_blocking_driver() {
    let client = Scripted::client(vec![]);
    let session = client
        .keep_present()
        .channels(["lobby"])
        .options(SessionOptions::new().presence_timeout(60))
        .start()
        .unwrap();
    let first = session.next_event_timeout(Duration::from_secs(5));
    assert!(
        matches!(first, Some(SessionEvent::Joined { .. })),
        "{first:?}"
    );
    session.shutdown().unwrap();
    let sent = client.driver().0.sent.lock().unwrap().clone();
    assert!(sent.first().unwrap().0.ends_with("/heartbeat"), "{sent:?}");
    assert!(sent.last().unwrap().0.ends_with("/leave"), "{sent:?}");
}

#[test]
fn keep_present_many_counts_users_at_once_and_ends_with_close() {
    let client = Scripted::client(vec![]);
    let many = client.keep_present_many().max_in_flight(2).start();
    let ids: Vec<_> = (0..5)
        .map(|i| {
            many.add(Member::new(format!("u{i}")).channels(["lobby"]))
                .unwrap()
        })
        .collect();
    assert_eq!(
        many.len(),
        5,
        "counted when added, not when the driver gets to them"
    );
    many.remove(ids[0]);
    let mut stopped = 0;
    while stopped < 1 {
        if let Some((_, SessionEvent::Stopped { .. })) =
            many.next_event_timeout(Duration::from_secs(5))
        {
            stopped += 1;
        }
    }
    assert_eq!(many.len(), 4);
    many.shutdown();
    let leaves = client
        .driver()
        .0
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with("/leave"))
        .count();
    assert_eq!(leaves, 5);
}

/// A driver whose runtime is gone: spawned work is dropped unrun.
struct NoRuntime;

impl Environment for NoRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn unix_time(&self) -> u64 {
        0
    }
    fn random(&self) -> u64 {
        1
    }
}

impl BlockingDriver for NoRuntime {
    type Body = Vec<u8>;

    fn connect(_: &ClientOptions) -> Result<Self, Error> {
        Ok(Self)
    }

    fn send(
        &self,
        _: http::Request<Vec<u8>>,
        _: Limits,
    ) -> Result<http::Response<Vec<u8>>, SendError> {
        Err(Error::timeout(Duration::from_secs(1)).into())
    }

    fn sleep(&self, _: Duration) {}

    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        drop(job);
    }
}

#[test]
fn a_gone_driver_is_reported_as_closed() {
    let config = Config::builder("demo", "alice").build().unwrap();
    let client = Client::<Blocking<NoRuntime>>::new(config).unwrap();
    let many = client.keep_present_many().start();
    let err = many
        .add(Member::new("bob").channels(["lobby"]))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(!err.is_retryable());
    assert!(many.is_finished());
    assert_eq!(
        many.next_event_timeout(Duration::from_millis(10))
            .map(|_| ()),
        None
    );
    let session = client.keep_present().channels(["lobby"]).start().unwrap();
    assert!(session.is_finished());
    assert!(
        session.next_event().is_none(),
        "ends at once rather than hanging"
    );
    let watch = client.watch().channels(["lobby"]).start().unwrap();
    assert!(watch.next_item().is_none());
}
