//! End-to-end tests of `presence-blocking`'s keep-present handles (`Client::keep_present`,
//! `Client::keep_present_many`) against the emulator started with `start_in_background()`, in
//! short real time: the emulator's `timeout_unit` and the sessions' `time_unit` are both 25 ms,
//! so a presence timeout of 20 lasts 500 ms and heartbeats follow every 9 units = 225 ms.
//!
//! Timing assertions are lower bounds, or upper bounds far from the edge (e.g. "gone well
//! before the presence timeout could have passed").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use presence_blocking::{
    Client, Config, ErrorKind, KeepPresent, KeepPresentMany, Member, SessionEvent, SessionId,
    SessionOptions,
};
use presence_emulator::{
    AccessManager, BackgroundEmulator, EmulatorBuilder, FaultRule, KeysetOptions, Operation,
    Permissions,
};

const UNIT: Duration = Duration::from_millis(25);
/// 20 units: the presence timeout (500 ms).
const TIMEOUT_SECS: u32 = 20;
/// The heartbeat interval that follows: (20 / 2 − 1) units.
const INTERVAL: Duration = Duration::from_millis(225);
const SUB_KEY: &str = "demo";

fn options() -> SessionOptions {
    SessionOptions::new()
        .presence_timeout(TIMEOUT_SECS)
        .time_unit(UNIT)
}

fn emulator() -> BackgroundEmulator {
    emulator_with(EmulatorBuilder::new())
}

fn emulator_with(builder: EmulatorBuilder) -> BackgroundEmulator {
    builder
        .timeout_unit(UNIT)
        .sweep_interval(UNIT)
        .start_in_background()
        .expect("emulator")
}

fn config(origin: &str, user: &str) -> Config {
    Config::builder(SUB_KEY, user)
        .origin(origin)
        .build()
        .expect("config")
}

/// The client that keeps users present. A short request timeout turns a stalled reply into a
/// failed heartbeat well within the presence timeout.
fn session_client(origin: &str, user: &str) -> Client {
    Client::builder(config(origin, user))
        .request_timeout(Duration::from_millis(120))
        .build()
        .expect("client")
}

/// The client that looks (here now) with patience, so that checks never fail spuriously.
fn observer(origin: &str) -> Client {
    Client::builder(config(origin, "observer"))
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn occupants(client: &Client, channel: &str) -> Vec<String> {
    let here = client
        .here_now()
        .channels([channel])
        .call()
        .expect("here now");
    here.channel(channel)
        .map(|c| c.occupants.iter().map(|u| u.user_id.clone()).collect())
        .unwrap_or_default()
}

fn state_of(client: &Client, channel: &str) -> Option<serde_json::Value> {
    let here = client
        .here_now()
        .channels([channel])
        .include_state(true)
        .call()
        .expect("here now");
    here.channel(channel)
        .and_then(|c| c.occupants.first())
        .and_then(|u| u.state.clone())
}

/// Reads events until one matches `done`, returning every event read (the match last).
fn events_until(
    session: &KeepPresent,
    within: Duration,
    mut done: impl FnMut(&SessionEvent) -> bool,
) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match session.events().recv_timeout(left) {
            Ok(event) => {
                let stop = done(&event);
                seen.push(event);
                if stop {
                    return seen;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("session ended; events so far: {seen:#?}")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("no matching event within {within:?}; events so far: {seen:#?}")
            }
        }
    }
}

/// Waits (briefly) for the driving thread to end: it ends just after its last event.
fn wait_finished(session: &KeepPresent) {
    let waited = Instant::now();
    while !session.is_finished() {
        assert!(
            waited.elapsed() < Duration::from_secs(2),
            "thread still running"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn joined(session: &KeepPresent) {
    events_until(session, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Joined { .. })
    });
}

/// Watches here now on `channel` for `user` from a thread until stopped: how many looks, and
/// when the user was missing.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(usize, Vec<Duration>)>,
}

impl Sampler {
    fn start(client: Client, channel: &'static str, user: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let (mut looks, mut missing) = (0, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                looks += 1;
                if !occupants(&client, channel).iter().any(|u| u == user) {
                    missing.push(started.elapsed());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (looks, missing)
        });
        Self { stop, thread }
    }

    fn finish(self) -> (usize, Vec<Duration>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler")
    }
}

fn occupancy(client: &Client, channel: &str) -> u64 {
    client
        .here_now()
        .channels([channel])
        .include_user_ids(false)
        .call()
        .expect("here now")
        .total_occupancy
}

// ---------------------------------------------------------------------------------------------
// One user.

#[test]
fn stays_present_across_twenty_intervals() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    let alice = session_client(&origin, "alice")
        .keep_present()
        .channels(["room"])
        .state("room", &serde_json::json!({"mood": "steady"}))
        .options(options())
        .start()
        .expect("start");
    joined(&alice);

    let sampler = Sampler::start(look.clone(), "room", "alice");
    let started = Instant::now();
    std::thread::sleep(INTERVAL * 20);
    let (looks, missing) = sampler.finish();
    assert!(looks >= 50, "only {looks} looks");
    assert!(missing.is_empty(), "alice was missing at {missing:?}");

    // Heartbeats kept coming at the interval (lower bound: 20 intervals → at least 15) and
    // carried the state.
    let stats = emulator.stats();
    let heartbeats = stats.requests.get("heartbeat").copied().unwrap_or(0);
    assert!(
        heartbeats >= 15,
        "{heartbeats} heartbeats in {:?}",
        started.elapsed()
    );
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert_eq!(
        state_of(&look, "room"),
        Some(serde_json::json!({"mood": "steady"}))
    );
    // Nothing went wrong along the way.
    let mut events = Vec::new();
    while let Some(event) = alice.try_next_event() {
        events.push(event);
    }
    assert!(events.is_empty(), "{events:#?}");

    alice.shutdown().expect("leave");
    assert_eq!(emulator.stats().timed_out, 0);
    assert!(occupants(&look, "room").is_empty());
}

#[test]
fn short_outages_leave_no_gap_and_report_failure_then_recovery() {
    let emulator = emulator();
    let origin = emulator.origin();
    let bob = session_client(&origin, "bob")
        .keep_present()
        .channels(["hall"])
        .options(options())
        .start()
        .expect("start");
    joined(&bob);
    let sampler = Sampler::start(observer(&origin), "hall", "bob");

    // Each outage is shorter than timeout − interval (275 ms): the retries bridge it.
    let outages: [(&str, FaultRule, ErrorKind); 3] = [
        (
            "503s",
            FaultRule::respond(503, r#"{"error":true,"status":503,"message":"busy"}"#).times(3),
            ErrorKind::Server,
        ),
        (
            "dropped connections",
            FaultRule::drop_connection().times(3),
            ErrorKind::Network,
        ),
        (
            "a stalled reply",
            FaultRule::stall(0, Duration::from_millis(400)).times(1),
            ErrorKind::Timeout,
        ),
    ];
    for (name, rule, kind) in outages {
        // Let a normal interval pass first.
        std::thread::sleep(INTERVAL);
        emulator.faults().push(rule.operation(Operation::Heartbeat));
        let events = events_until(&bob, Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Recovered { .. })
        });
        let failures: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::HeartbeatFailed { error, .. } => Some(error.kind()),
                _ => None,
            })
            .collect();
        assert!(
            !failures.is_empty() && failures.iter().all(|k| *k == kind),
            "{name}: {events:#?}"
        );
        assert!(
            matches!(
                events.last(),
                Some(SessionEvent::Recovered {
                    presence_lost: false,
                    ..
                })
            ),
            "{name}: {events:#?}"
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, SessionEvent::PresenceAtRisk { .. })),
            "{name}: {events:#?}"
        );
    }
    std::thread::sleep(INTERVAL);
    let (looks, missing) = sampler.finish();
    assert!(looks >= 20, "only {looks} looks");
    assert!(missing.is_empty(), "bob was missing at {missing:?}");
    let stats = emulator.stats();
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert!(stats.faults_applied >= 3, "{stats:?}");
    bob.shutdown().expect("leave");
}

#[test]
fn a_long_outage_loses_presence_then_recovery_restores_it() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    let carol = session_client(&origin, "carol")
        .keep_present()
        .channels(["deck"])
        .options(options())
        .start()
        .expect("start");
    joined(&carol);

    let outage = FaultRule::respond(503, r#"{"error":true,"status":503}"#)
        .operation(Operation::Heartbeat)
        .forever();
    emulator.faults().push(outage);
    let outage_started = Instant::now();
    let events = events_until(&carol, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::PresenceAtRisk { .. })
    });
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::HeartbeatFailed { .. })),
        "{events:#?}"
    );

    // The service times carol out: no heartbeat got through for the whole timeout.
    let gone_after = loop {
        if !occupants(&look, "deck").iter().any(|u| u == "carol") {
            break outage_started.elapsed();
        }
        assert!(
            outage_started.elapsed() < Duration::from_secs(5),
            "carol never timed out"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // The last heartbeat that got through was at most one interval before the outage.
    assert!(
        gone_after >= Duration::from_millis(200),
        "gone after {gone_after:?}"
    );
    assert_eq!(emulator.stats().timed_out, 1);

    // Still down a while longer, then the service comes back: the next retry joins again.
    std::thread::sleep(INTERVAL * 2);
    emulator.faults().clear();
    let events = events_until(&carol, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Recovered { .. })
    });
    match events.last() {
        Some(SessionEvent::Recovered {
            presence_lost,
            failures,
        }) => {
            assert!(*presence_lost, "{events:#?}");
            assert!(*failures >= 3, "{events:#?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(occupants(&look, "deck"), ["carol"]);
    carol.shutdown().expect("leave");
    assert!(occupants(&look, "deck").is_empty());
}

#[test]
fn shutdown_leaves_at_once() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    // A long presence timeout (300 units = 7.5 s): only a leave can empty the channel fast.
    let dave = session_client(&origin, "dave")
        .keep_present()
        .channels(["porch", "yard"])
        .options(options().presence_timeout(300))
        .start()
        .expect("start");
    joined(&dave);
    assert_eq!(occupants(&look, "porch"), ["dave"]);

    let started = Instant::now();
    dave.shutdown().expect("the leave was acknowledged");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(occupants(&look, "porch").is_empty());
    assert!(occupants(&look, "yard").is_empty());
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (2, 0), "{stats:?}");
    assert_eq!(stats.requests.get("leave"), Some(&1), "one leave for both");
}

#[test]
fn request_shutdown_reports_the_leave_then_the_end() {
    let emulator = emulator();
    let origin = emulator.origin();
    let hank = session_client(&origin, "hank")
        .keep_present()
        .channels(["den"])
        .groups(Vec::<String>::new())
        .options(options().presence_timeout(300))
        .start()
        .expect("start");
    joined(&hank);
    hank.request_shutdown();
    let mut events = Vec::new();
    while let Some(event) = hank.next_event() {
        events.push(event);
    }
    assert!(
        matches!(
            events.as_slice(),
            [
                SessionEvent::Left { channels, error: None, .. },
                SessionEvent::Stopped { error: None },
            ] if channels == &["den"]
        ),
        "{events:#?}"
    );
    wait_finished(&hank);
    // Commands after the end are ignored; shutting down again only joins the thread.
    hank.join(["elsewhere"], [""; 0]);
    hank.shutdown().expect("already left");
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (1, 0), "{stats:?}");
    assert!(emulator.occupants(SUB_KEY, "elsewhere").is_empty());
}

#[test]
fn dropping_the_handle_leaves_and_ends_the_thread() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    let erin = session_client(&origin, "erin")
        .keep_present()
        .channels(["attic"])
        .options(options().presence_timeout(300))
        .start()
        .expect("start");
    joined(&erin);
    assert_eq!(occupants(&look, "attic"), ["erin"]);

    // The drop waits for the leave: erin is gone as soon as it returns.
    let started = Instant::now();
    drop(erin);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(occupants(&look, "attic").is_empty());
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (1, 0), "{stats:?}");

    // Nothing more is sent.
    let requests = emulator.stats().requests_total;
    std::thread::sleep(INTERVAL * 2);
    assert_eq!(emulator.stats().requests_total, requests);
}

#[test]
fn dropping_the_handle_waits_at_most_twice_the_request_timeout() {
    let emulator = emulator();
    let origin = emulator.origin();
    let ivy = session_client(&origin, "ivy")
        .keep_present()
        .channels(["cellar"])
        .options(options().presence_timeout(300))
        .start()
        .expect("start");
    joined(&ivy);
    // The leave stalls far longer than the client's 120 ms request timeout.
    emulator.faults().push(
        FaultRule::stall(0, Duration::from_secs(5))
            .operation(Operation::Leave)
            .times(1),
    );
    let started = Instant::now();
    drop(ivy);
    let took = started.elapsed();
    // The leave timed out (≥ 120 ms) and the drop did not wait out the stall.
    assert!(took >= Duration::from_millis(100), "took only {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(emulator.stats().faults_applied, 1);
}

#[test]
fn access_denied_stops_with_the_error() {
    let grants = AccessManager::new().grant_channel("frank-token", "open", Permissions::READ);
    let emulator = emulator_with(
        EmulatorBuilder::new().keyset(SUB_KEY, KeysetOptions::new().access_manager(grants)),
    );
    let origin = emulator.origin();
    let frank_config = Config::builder(SUB_KEY, "frank")
        .origin(origin.as_str())
        .auth_token("frank-token")
        .build()
        .expect("config");
    let frank = Client::new(frank_config)
        .expect("client")
        .keep_present()
        .channels(["open"])
        .options(options())
        .start()
        .expect("start");
    joined(&frank);

    frank.join(["closed"], [""; 0]);
    let events = events_until(&frank, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Stopped { .. })
    });
    match events.last() {
        Some(SessionEvent::Stopped { error: Some(error) }) => {
            assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
            assert_eq!(error.api().expect("api error").channels, ["closed"]);
        }
        other => panic!("{other:?}"),
    }
    // Nothing retried a 403: the session is over and its thread ended.
    assert!(frank.next_event().is_none());
    wait_finished(&frank);
    let heartbeats = emulator.stats().requests.get("heartbeat").copied();
    std::thread::sleep(INTERVAL * 2);
    assert_eq!(
        emulator.stats().requests.get("heartbeat").copied(),
        heartbeats
    );
    assert_eq!(frank.shutdown().ok(), Some(()));
}

#[test]
fn an_unread_stop_error_is_returned_by_shutdown() {
    let emulator = emulator_with(
        EmulatorBuilder::new().fault(
            FaultRule::respond(403, r#"{"error":true,"status":403,"message":"Forbidden"}"#)
                .operation(Operation::Heartbeat)
                .forever(),
        ),
    );
    let origin = emulator.origin();
    let gail = session_client(&origin, "gail")
        .keep_present()
        .channels(["vault"])
        .options(options())
        .start()
        .expect("start");
    let waited = Instant::now();
    while !gail.is_finished() {
        assert!(waited.elapsed() < Duration::from_secs(5), "never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    let error = gail.shutdown().expect_err("the 403");
    assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
}

#[test]
fn commands_sent_during_a_request_apply_when_it_returns() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    // The first heartbeat takes 300 ms to be answered.
    emulator.faults().push(
        FaultRule::delay(Duration::from_millis(300))
            .operation(Operation::Heartbeat)
            .times(1),
    );
    let client = Client::builder(config(&origin, "gina"))
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let started = Instant::now();
    let gina = client
        .keep_present()
        .channels(["a", "b"])
        .options(options())
        .start()
        .expect("start");
    // While that heartbeat is in flight: join c, leave b, set state on a.
    std::thread::sleep(Duration::from_millis(100));
    gina.join(["c"], [""; 0]);
    gina.leave(["b"], [""; 0]);
    gina.set_state("a", &serde_json::json!({"busy": true}))
        .expect("state");

    // The thread was blocked in the first heartbeat: its answer reports a and b. Then the
    // commands apply in order: one leave for b, and a heartbeat announcing c with a's state.
    let (mut joined_c, mut left_b) = (false, false);
    let events = events_until(&gina, Duration::from_secs(5), |e| {
        match e {
            SessionEvent::Joined { channels, .. } if channels.iter().any(|c| c == "c") => {
                joined_c = true;
            }
            SessionEvent::Left {
                channels,
                error: None,
                ..
            } if channels == &["b"] => left_b = true,
            _ => {}
        }
        joined_c && left_b
    });
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        matches!(events.first(), Some(SessionEvent::Joined { channels, .. }) if channels == &["a", "b"]),
        "{events:#?}"
    );
    assert_eq!(occupants(&look, "a"), ["gina"]);
    assert!(occupants(&look, "b").is_empty());
    assert_eq!(occupants(&look, "c"), ["gina"]);
    assert_eq!(
        state_of(&look, "a"),
        Some(serde_json::json!({"busy": true}))
    );
    gina.shutdown().expect("leave");
    assert!(occupants(&look, "a").is_empty());
    assert!(occupants(&look, "c").is_empty());
}

#[test]
fn a_state_that_does_not_serialise_fails_start_and_sends_nothing() {
    struct Unserialisable;
    impl serde::Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    let emulator = emulator();
    let client = session_client(&emulator.origin(), "kim");
    let error = client
        .keep_present()
        .channels(["room"])
        .state("room", &Unserialisable)
        .start()
        .expect_err("bad state");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(emulator.stats().requests_total, 0);
    let session = client
        .keep_present()
        .channels(["room"])
        .start()
        .expect("start");
    let error = session
        .set_state("room", &Unserialisable)
        .expect_err("bad state");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    session.shutdown().expect("leave");
}

// ---------------------------------------------------------------------------------------------
// Many users.

fn wait_joined(many: &KeepPresentMany, count: usize) -> Vec<SessionId> {
    let mut ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ids.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match many.events().recv_timeout(left) {
            Ok((id, SessionEvent::Joined { .. })) => ids.push(id),
            Ok(_) => {}
            Err(e) => panic!("only {} of {count} joined: {e}", ids.len()),
        }
    }
    ids
}

#[test]
fn a_hundred_users_stay_present_then_all_leave() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    let client = Client::builder(config(&origin, "pool"))
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let many = client
        .keep_present_many()
        .options(options())
        .start()
        .expect("start");
    let mut ids: Vec<SessionId> = (0..100)
        .map(|i| {
            many.add(
                Member::new(format!("user-{i:03}"))
                    .channels(["crowd"])
                    .state("crowd", &serde_json::json!({"n": i})),
            )
            .expect("added")
        })
        .collect();
    assert_eq!(many.len(), 100);
    let mut joined_ids = wait_joined(&many, 100);
    joined_ids.sort();
    ids.sort();
    assert_eq!(joined_ids, ids);

    // Present through several intervals, every look.
    for _ in 0..16 {
        assert_eq!(occupancy(&look, "crowd"), 100);
        std::thread::sleep(INTERVAL / 2);
    }
    let stats = emulator.stats();
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert!(
        stats.requests.get("heartbeat").copied().unwrap_or(0) >= 100 * 5,
        "{stats:?}"
    );

    // One user leaves alone, then everyone.
    many.remove(ids[0]);
    loop {
        match many.next_event_timeout(Duration::from_secs(5)) {
            Some((id, SessionEvent::Stopped { error: None })) if id == ids[0] => break,
            Some(_) => {}
            None => panic!("user-000 never stopped"),
        }
    }
    assert_eq!(many.len(), 99);
    assert_eq!(occupancy(&look, "crowd"), 99);
    many.shutdown();
    assert_eq!(occupancy(&look, "crowd"), 0);
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (100, 0), "{stats:?}");
}

#[test]
fn many_users_respect_the_in_flight_cap() {
    let emulator = emulator();
    let origin = emulator.origin();
    // Every heartbeat takes at least 40 ms to be answered.
    emulator.faults().push(
        FaultRule::delay(Duration::from_millis(40))
            .operation(Operation::Heartbeat)
            .forever(),
    );
    let client = Client::builder(config(&origin, "pool"))
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let many = client
        .keep_present_many()
        .options(options().presence_timeout(300))
        .max_in_flight(1)
        .start()
        .expect("start");
    let started = Instant::now();
    for i in 0..10 {
        many.add(Member::new(format!("user-{i}")).channels(["queue"]))
            .expect("added");
    }
    // Commands are applied while requests are in flight: all ten are in at once.
    assert!(started.elapsed() < Duration::from_millis(200));
    wait_joined(&many, 10);
    // One at a time: ten 40 ms heartbeats back to back.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(380), "took only {took:?}");
    assert_eq!(occupancy(&observer(&origin), "queue"), 10);
    many.shutdown();
    assert_eq!(occupancy(&observer(&origin), "queue"), 0);
}

#[test]
fn dropping_the_many_handle_makes_everyone_leave() {
    let emulator = emulator();
    let origin = emulator.origin();
    let look = observer(&origin);
    let many = session_client(&origin, "pool")
        .keep_present_many()
        .options(options().presence_timeout(300))
        .start()
        .expect("start");
    for i in 0..20 {
        many.add(Member::new(format!("user-{i}")).channels(["bus"]))
            .expect("added");
    }
    wait_joined(&many, 20);
    assert_eq!(occupancy(&look, "bus"), 20);
    // The drop waits for the leaves.
    drop(many);
    assert_eq!(occupancy(&look, "bus"), 0);
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (20, 0), "{stats:?}");
    let requests = stats.requests_total;
    std::thread::sleep(INTERVAL * 2);
    assert_eq!(emulator.stats().requests_total, requests);
}

#[test]
fn handles_can_move_to_other_threads() {
    fn send<T: Send>() {}
    send::<KeepPresent>();
    send::<KeepPresentMany>();
}
