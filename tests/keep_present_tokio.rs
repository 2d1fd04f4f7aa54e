//! End-to-end tests of `presence-tokio`'s keep-present handles (`Client::keep_present`,
//! `Client::keep_present_many`) against the embedded emulator, in short real time: the
//! emulator's `timeout_unit` and the sessions' `time_unit` are both 25 ms, so a presence timeout
//! of 20 lasts 500 ms and heartbeats follow every 9 units = 225 ms.
//!
//! Timing assertions are lower bounds, or upper bounds far from the edge (e.g. "gone well
//! before the presence timeout could have passed").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use presence_emulator::{
    AccessManager, EmulatorBuilder, EmulatorHandle, FaultRule, KeysetOptions, Operation,
    Permissions,
};
use presence_tokio::{
    Client, Config, ErrorKind, KeepPresent, KeepPresentMany, Member, SessionEvent, SessionId,
    SessionOptions,
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

async fn emulator() -> EmulatorHandle {
    emulator_with(EmulatorBuilder::new()).await
}

async fn emulator_with(builder: EmulatorBuilder) -> EmulatorHandle {
    builder
        .timeout_unit(UNIT)
        .sweep_interval(UNIT)
        .start()
        .await
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

async fn occupants(client: &Client, channel: &str) -> Vec<String> {
    let here = client
        .here_now()
        .channels([channel])
        .include_state(true)
        .await
        .expect("here now");
    here.channel(channel)
        .map(|c| c.occupants.iter().map(|u| u.user_id.clone()).collect())
        .unwrap_or_default()
}

async fn occupancy(client: &Client, channel: &str) -> u64 {
    client
        .here_now()
        .channels([channel])
        .include_user_ids(false)
        .await
        .expect("here now")
        .total_occupancy
}

/// Reads events until one matches `done`, returning every event read (the match last).
async fn events_until(
    session: &mut KeepPresent,
    within: Duration,
    mut done: impl FnMut(&SessionEvent) -> bool,
) -> Vec<SessionEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, session.next_event()).await {
            Ok(Some(event)) => {
                let stop = done(&event);
                seen.push(event);
                if stop {
                    return seen;
                }
            }
            Ok(None) => panic!("session ended; events so far: {seen:#?}"),
            Err(elapsed) => {
                panic!("{elapsed}: no matching event within {within:?}; events so far: {seen:#?}")
            }
        }
    }
}

async fn joined(session: &mut KeepPresent) {
    events_until(session, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Joined { .. })
    })
    .await;
}

/// Watches here now on `channel` for `user` until stopped: how many looks, and when the user
/// was missing.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Vec<Duration>)>,
}

impl Sampler {
    fn start(client: Client, channel: &'static str, user: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let (mut looks, mut missing) = (0, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                looks += 1;
                if !occupants(&client, channel).await.iter().any(|u| u == user) {
                    missing.push(started.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (looks, missing)
        });
        Self { stop, task }
    }

    async fn finish(self) -> (usize, Vec<Duration>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("sampler")
    }
}

// ---------------------------------------------------------------------------------------------
// One user.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stays_present_across_twenty_intervals() {
    let emulator = emulator().await;
    let origin = emulator.origin();
    let client = session_client(&origin, "alice");
    let look = observer(&origin);
    let mut alice = client
        .keep_present()
        .channels(["room"])
        .state("room", &serde_json::json!({"mood": "steady"}))
        .options(options())
        .start()
        .expect("start");
    joined(&mut alice).await;

    let sampler = Sampler::start(look.clone(), "room", "alice");
    let started = Instant::now();
    tokio::time::sleep(INTERVAL * 20).await;
    let (looks, missing) = sampler.finish().await;
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
    let here = look
        .here_now()
        .channels(["room"])
        .include_state(true)
        .await
        .expect("here now");
    let user = &here.channel("room").expect("room").occupants[0];
    assert_eq!(user.state, Some(serde_json::json!({"mood": "steady"})));

    alice.shutdown().await.expect("leave");
    assert_eq!(emulator.stats().timed_out, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_outages_leave_no_gap_and_report_failure_then_recovery() {
    let emulator = emulator().await;
    let origin = emulator.origin();
    let client = session_client(&origin, "bob");
    let mut bob = client
        .keep_present()
        .channels(["hall"])
        .options(options())
        .start()
        .expect("start");
    joined(&mut bob).await;
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
        tokio::time::sleep(INTERVAL).await;
        emulator.faults().push(rule.operation(Operation::Heartbeat));
        let events = events_until(&mut bob, Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Recovered { .. })
        })
        .await;
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
    tokio::time::sleep(INTERVAL).await;
    let (looks, missing) = sampler.finish().await;
    assert!(looks >= 20, "only {looks} looks");
    assert!(missing.is_empty(), "bob was missing at {missing:?}");
    let stats = emulator.stats();
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert!(stats.faults_applied >= 3, "{stats:?}");
    bob.shutdown().await.expect("leave");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_loses_presence_then_recovery_restores_it() {
    let emulator = emulator().await;
    let origin = emulator.origin();
    let look = observer(&origin);
    let mut carol = session_client(&origin, "carol")
        .keep_present()
        .channels(["deck"])
        .options(options())
        .start()
        .expect("start");
    joined(&mut carol).await;

    let outage = FaultRule::respond(503, r#"{"error":true,"status":503}"#)
        .operation(Operation::Heartbeat)
        .forever();
    emulator.faults().push(outage);
    let outage_started = Instant::now();
    let events = events_until(&mut carol, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::PresenceAtRisk { .. })
    })
    .await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::HeartbeatFailed { .. })),
        "{events:#?}"
    );

    // The service times carol out: no heartbeat got through for the whole timeout.
    let gone_after = loop {
        if !occupants(&look, "deck").await.iter().any(|u| u == "carol") {
            break outage_started.elapsed();
        }
        assert!(
            outage_started.elapsed() < Duration::from_secs(5),
            "carol never timed out"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The last heartbeat that got through was at most one interval before the outage.
    assert!(
        gone_after >= Duration::from_millis(200),
        "gone after {gone_after:?}"
    );
    assert_eq!(emulator.stats().timed_out, 1);

    // Still down a while longer, then the service comes back: the next retry joins again.
    tokio::time::sleep(INTERVAL * 2).await;
    emulator.faults().clear();
    let events = events_until(&mut carol, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Recovered { .. })
    })
    .await;
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
    assert_eq!(occupants(&look, "deck").await, ["carol"]);
    carol.shutdown().await.expect("leave");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_at_once() {
    let emulator = emulator().await;
    let origin = emulator.origin();
    let look = observer(&origin);
    // A long presence timeout (300 units = 7.5 s): only a leave can empty the channel fast.
    let mut dave = session_client(&origin, "dave")
        .keep_present()
        .channels(["porch", "yard"])
        .options(options().presence_timeout(300))
        .start()
        .expect("start");
    joined(&mut dave).await;
    assert_eq!(occupants(&look, "porch").await, ["dave"]);

    let started = Instant::now();
    dave.shutdown().await.expect("the leave was acknowledged");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(occupants(&look, "porch").await.is_empty());
    assert!(occupants(&look, "yard").await.is_empty());
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (2, 0), "{stats:?}");
    assert_eq!(stats.requests.get("leave"), Some(&1), "one leave for both");
}

#[test]
fn dropping_the_handle_leaves_in_the_background_and_the_task_ends() {
    let emulator = EmulatorBuilder::new()
        .timeout_unit(UNIT)
        .start_in_background()
        .expect("emulator");
    let origin = emulator.origin();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let look = observer(&origin);
        let client = session_client(&origin, "erin");
        let mut erin = client
            .keep_present()
            .channels(["attic"])
            .options(options().presence_timeout(300))
            .start()
            .expect("start");
        joined(&mut erin).await;
        assert_eq!(occupants(&look, "attic").await, ["erin"]);

        drop(erin);
        drop(client);
        let dropped = Instant::now();
        while !occupants(&look, "attic").await.is_empty() {
            // Far less than the 7.5 s presence timeout: the leave did it.
            assert!(
                dropped.elapsed() < Duration::from_secs(3),
                "erin never left"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stats = emulator.stats();
        assert_eq!((stats.left, stats.timed_out), (1, 0), "{stats:?}");

        // Nothing more is sent, and no task is left once the observer is gone too.
        drop(look);
        let metrics = tokio::runtime::Handle::current().metrics();
        let waited = Instant::now();
        while metrics.num_alive_tasks() > 0 {
            assert!(
                waited.elapsed() < Duration::from_secs(3),
                "{} tasks still alive",
                metrics.num_alive_tasks()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let heartbeats = emulator.stats().requests.get("heartbeat").copied();
        tokio::time::sleep(INTERVAL * 2).await;
        assert_eq!(
            emulator.stats().requests.get("heartbeat").copied(),
            heartbeats
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_stops_with_the_error() {
    let grants = AccessManager::new().grant_channel("frank-token", "open", Permissions::READ);
    let emulator = emulator_with(
        EmulatorBuilder::new().keyset(SUB_KEY, KeysetOptions::new().access_manager(grants)),
    )
    .await;
    let origin = emulator.origin();
    let frank_config = Config::builder(SUB_KEY, "frank")
        .origin(origin.as_str())
        .auth_token("frank-token")
        .build()
        .expect("config");
    let mut frank = Client::new(frank_config)
        .expect("client")
        .keep_present()
        .channels(["open"])
        .options(options())
        .start()
        .expect("start");
    joined(&mut frank).await;

    frank.join(["closed"], [""; 0]);
    let events = events_until(&mut frank, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Stopped { .. })
    })
    .await;
    match events.last() {
        Some(SessionEvent::Stopped { error: Some(error) }) => {
            assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
            assert_eq!(error.api().expect("api error").channels, ["closed"]);
        }
        other => panic!("{other:?}"),
    }
    // Nothing retried a 403: the session is over and its task ended.
    assert!(frank.next_event().await.is_none());
    let waited = Instant::now();
    while !frank.is_finished() {
        assert!(
            waited.elapsed() < Duration::from_secs(2),
            "task still running"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(frank.shutdown().await.ok(), Some(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_apply_while_a_request_is_in_flight() {
    let emulator = emulator().await;
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
    let mut gina = client
        .keep_present()
        .channels(["a", "b"])
        .options(options())
        .start()
        .expect("start");
    // While that heartbeat is in flight: join c, leave b, set state on a.
    tokio::time::sleep(Duration::from_millis(100)).await;
    gina.join(["c"], [""; 0]);
    gina.leave(["b"], [""; 0]);
    gina.set_state("a", &serde_json::json!({"busy": true}))
        .expect("state");

    // The first heartbeat's answer reports a (b was left meanwhile); then one leave for b
    // and a heartbeat announcing c follow at once.
    let (mut joined_c, mut left_b) = (false, false);
    let events = events_until(&mut gina, Duration::from_secs(5), |e| {
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
    })
    .await;
    assert!(
        matches!(events.first(), Some(SessionEvent::Joined { channels, .. }) if channels == &["a"]),
        "{events:#?}"
    );
    assert_eq!(occupants(&look, "a").await, ["gina"]);
    assert!(occupants(&look, "b").await.is_empty());
    assert_eq!(occupants(&look, "c").await, ["gina"]);
    let here = look
        .here_now()
        .channels(["a"])
        .include_state(true)
        .await
        .expect("here now");
    assert_eq!(
        here.channel("a").expect("a").occupants[0].state,
        Some(serde_json::json!({"busy": true}))
    );
    gina.shutdown().await.expect("leave");
    assert!(occupants(&look, "a").await.is_empty());
    assert!(occupants(&look, "c").await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Many users.

async fn wait_joined(many: &mut KeepPresentMany, count: usize) -> Vec<SessionId> {
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ids.len() < count {
        match tokio::time::timeout_at(deadline, many.next_event()).await {
            Ok(Some((id, SessionEvent::Joined { .. }))) => ids.push(id),
            Ok(Some(_)) => {}
            Ok(None) => panic!("task ended"),
            Err(elapsed) => panic!("{elapsed}: only {} of {count} joined", ids.len()),
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_users_stay_present_then_all_leave() {
    let emulator = emulator().await;
    let origin = emulator.origin();
    let look = observer(&origin);
    let client = Client::builder(config(&origin, "pool"))
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let mut many = client.keep_present_many().options(options()).start();
    let pending: Vec<_> = (0..200)
        .map(|i| {
            many.add(
                Member::new(format!("user-{i:03}"))
                    .channels(["crowd"])
                    .state("crowd", &serde_json::json!({"n": i})),
            )
        })
        .collect();
    let mut ids = Vec::new();
    for id in pending {
        ids.push(id.await.expect("added"));
    }
    assert_eq!(many.len(), 200);
    let mut joined_ids = wait_joined(&mut many, 200).await;
    joined_ids.sort();
    ids.sort();
    assert_eq!(joined_ids, ids);

    // Present through several intervals, every look.
    for _ in 0..16 {
        assert_eq!(occupancy(&look, "crowd").await, 200);
        tokio::time::sleep(INTERVAL / 2).await;
    }
    let stats = emulator.stats();
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert!(
        stats.requests.get("heartbeat").copied().unwrap_or(0) >= 200 * 5,
        "{stats:?}"
    );

    // One user leaves alone, then everyone.
    many.remove(ids[0]);
    loop {
        match many.next_event().await {
            Some((id, SessionEvent::Stopped { error: None })) if id == ids[0] => break,
            Some(_) => {}
            None => panic!("task ended"),
        }
    }
    assert_eq!(many.len(), 199);
    assert_eq!(occupancy(&look, "crowd").await, 199);
    many.shutdown().await;
    assert_eq!(occupancy(&look, "crowd").await, 0);
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (200, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_users_respect_the_in_flight_cap() {
    let emulator = emulator().await;
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
    let mut many = client
        .keep_present_many()
        .options(options().presence_timeout(300))
        .max_in_flight(1)
        .start();
    let started = Instant::now();
    for i in 0..10 {
        many.add(Member::new(format!("user-{i}")).channels(["queue"]))
            .await
            .expect("added");
    }
    wait_joined(&mut many, 10).await;
    // One at a time: ten 40 ms heartbeats back to back.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(380), "took only {took:?}");
    assert_eq!(occupancy(&observer(&origin), "queue").await, 10);
    many.shutdown().await;
    assert_eq!(occupancy(&observer(&origin), "queue").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_many_handle_makes_everyone_leave() {
    let emulator = emulator().await;
    let origin = emulator.origin();
    let look = observer(&origin);
    let mut many = session_client(&origin, "pool")
        .keep_present_many()
        .options(options().presence_timeout(300))
        .start();
    for i in 0..20 {
        many.add(
            Member::new(format!("user-{i}"))
                .channels(["bus"])
                .groups(Vec::<String>::new()),
        )
        .await
        .expect("added");
    }
    wait_joined(&mut many, 20).await;
    assert_eq!(occupancy(&look, "bus").await, 20);
    drop(many);
    let dropped = Instant::now();
    while occupancy(&look, "bus").await > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(3),
            "not everyone left"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = emulator.stats();
    assert_eq!((stats.left, stats.timed_out), (20, 0), "{stats:?}");
}
