//! Presence events end to end: a watch through each adapter against the emulator's subscribe
//! long-poll — a scripted scenario arrives complete and in order, interval mode with deltas,
//! and with the emulator's subscribe faults (drop mid-poll, duplicate, region change, 5xx
//! bursts) no event is lost or doubled. One definition, run for both adapters.

use std::time::{Duration, Instant};

use presence_emulator::{BackgroundEmulator, EmulatorBuilder, FaultRule, Operation};
use presence_proto::{
    Client, Config, PresenceAction, PresenceEvent, RosterItem, RosterSnapshot, WatchHandle,
    WatchItem, WatchOptions,
};

#[path = "support/adapters.rs"]
mod adapters;
use adapters::{Adapter, Blocking, Tokio};

/// Emulator "seconds" of 10 ms, holds of 300 ms, a 10 ms expiry sweep.
fn emulator(configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> BackgroundEmulator {
    configure(
        EmulatorBuilder::new()
            .timeout_unit(Duration::from_millis(10))
            .subscribe_hold_secs(30)
            .sweep_interval(Duration::from_millis(10)),
    )
    .start_in_background()
    .expect("emulator")
}

fn config(origin: &str, user: &str) -> Config {
    Config::builder("demo", user)
        .origin(origin)
        .build()
        .expect("config")
}

/// The actors act through the blocking adapter; the watcher is the adapter under test.
fn actor(origin: &str, user: &str) -> presence_blocking::Client {
    presence_blocking::Client::new(config(origin, user)).expect("client")
}

/// A watch as the adapter under test, with short backoffs and a fixed jitter seed.
fn watch<A: Adapter>(
    adapter: &A,
    origin: &str,
    channels: &[&str],
    options: WatchOptions,
) -> WatchHandle<A::Flavour> {
    let client = Client::<A::Flavour>::new(config(origin, "watcher")).expect("client");
    let builder = client.watch().channels(channels.iter().copied()).options(
        options
            .jitter_seed(1)
            .min_backoff(Duration::from_millis(20)),
    );
    adapter.start_watch(builder).expect("watch")
}

/// A live roster (observer) as the adapter under test.
fn roster<A: Adapter>(
    adapter: &A,
    origin: &str,
    channels: &[&str],
) -> WatchHandle<A::Flavour, RosterItem> {
    let client = Client::<A::Flavour>::new(config(origin, "watcher")).expect("client");
    let builder = client.roster().channels(channels.iter().copied()).options(
        WatchOptions::new()
            .observe(true)
            .jitter_seed(1)
            .min_backoff(Duration::from_millis(20)),
    );
    adapter.start_watch(builder).expect("roster")
}

/// Reads items until `done` holds for the events so far; every event read, in order.
fn events_until<A: Adapter>(
    adapter: &A,
    watch: &mut WatchHandle<A::Flavour>,
    within: Duration,
    mut done: impl FnMut(&[PresenceEvent]) -> bool,
) -> Vec<PresenceEvent> {
    let deadline = Instant::now() + within;
    let mut events = Vec::new();
    while !done(&events) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "[{}] timed out; events so far: {events:#?}",
            A::NAME
        );
        match adapter.next_item(watch, left) {
            Some(WatchItem::Event(event)) => events.push(event),
            Some(WatchItem::Stopped { error }) => panic!("[{}] stopped: {error:?}", A::NAME),
            Some(_) | None => {}
        }
    }
    events
}

fn connected<A: Adapter>(adapter: &A, watch: &mut WatchHandle<A::Flavour>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match adapter.next_item(watch, left) {
            Some(WatchItem::Connected { .. }) => return,
            Some(_) => {}
            None => panic!("[{}] never connected", A::NAME),
        }
    }
}

fn summary(events: &[PresenceEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.action_name(),
                e.uuid().unwrap_or("-"),
                e.occupancy.unwrap_or(99)
            )
        })
        .collect()
}

fn scripted_scenario<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| b);
    let origin = emulator.origin();
    let mut watch = watch(
        adapter,
        &origin,
        &["lobby"],
        WatchOptions::new().observe(true),
    );
    connected(adapter, &mut watch);

    let alice = actor(&origin, "alice");
    alice.heartbeat().channels(["lobby"]).call().expect("join");
    alice
        .set_state()
        .channels(["lobby"])
        .state(serde_json::json!({"mood": "busy"}))
        .call()
        .expect("state");
    alice.leave().channels(["lobby"]).call().expect("leave");
    // Bob joins with a 20-"second" (200 ms) timeout and goes silent.
    actor(&origin, "bob")
        .heartbeat()
        .channels(["lobby"])
        .presence_timeout(20)
        .call()
        .expect("bob");
    let events = events_until(adapter, &mut watch, Duration::from_secs(10), |e| {
        e.len() >= 5
    });
    assert_eq!(
        summary(&events),
        [
            "join alice 1",
            "state-change alice 1",
            "leave alice 0",
            "join bob 1",
            "timeout bob 0"
        ],
        "[{}]",
        A::NAME
    );
    assert_eq!(
        events[1].state_value().map(|s| s["mood"].clone()),
        Some("busy".into())
    );
    assert!(events.windows(2).all(|w| w[0].timetoken < w[1].timetoken));
    adapter.watch_shutdown(watch).expect("shutdown");
}

fn present_mode_keeps_the_watcher_present_and_leaves_on_stop<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| b);
    let origin = emulator.origin();
    let mut watch = watch(
        adapter,
        &origin,
        &["lobby"],
        WatchOptions::new()
            .presence_timeout(20)
            .time_unit(Duration::from_millis(10)),
    );
    connected(adapter, &mut watch);
    // Its own join arrives on the first long-poll (§12.4).
    let events = events_until(adapter, &mut watch, Duration::from_secs(5), |e| {
        !e.is_empty()
    });
    assert_eq!(summary(&events), ["join watcher 1"], "[{}]", A::NAME);
    // Polls keep it present well past its 200 ms timeout: no timeout event, still listed.
    std::thread::sleep(Duration::from_millis(600));
    let here = actor(&origin, "look")
        .here_now()
        .channels(["lobby"])
        .call()
        .expect("here");
    assert_eq!(here.total_occupancy, 1, "[{}]", A::NAME);
    while let Some(item) = watch.try_next_item() {
        assert!(
            !matches!(item, WatchItem::Event(_)),
            "[{}] {item:?}",
            A::NAME
        );
    }
    adapter.watch_shutdown(watch).expect("shutdown");
    let here = actor(&origin, "look")
        .here_now()
        .channels(["lobby"])
        .call()
        .expect("here");
    assert_eq!(here.total_occupancy, 0, "[{}] left on shutdown", A::NAME);
}

fn interval_mode_with_deltas<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| {
        b.announce_max(2)
            .presence_interval(20)
            .presence_deltas(true)
    });
    let origin = emulator.origin();
    let mut watch = watch(
        adapter,
        &origin,
        &["arena"],
        WatchOptions::new().observe(true),
    );
    connected(adapter, &mut watch);
    for user in ["u1", "u2", "u3"] {
        actor(&origin, user)
            .heartbeat()
            .channels(["arena"])
            .call()
            .expect("join");
    }
    let events = events_until(adapter, &mut watch, Duration::from_secs(10), |e| {
        e.iter()
            .any(|e| matches!(e.action, PresenceAction::Interval { .. }))
    });
    let interval = events.last().expect("interval");
    assert_eq!(interval.occupancy, Some(3), "[{}] {events:#?}", A::NAME);
    let PresenceAction::Interval { join, .. } = &interval.action else {
        unreachable!()
    };
    assert_eq!(join, &["u3"], "[{}]", A::NAME);
    adapter.watch_shutdown(watch).expect("shutdown");
}

fn faults_lose_or_double_nothing<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| b);
    let origin = emulator.origin();
    let mut watch = watch(
        adapter,
        &origin,
        &["lobby"],
        WatchOptions::new().observe(true),
    );
    connected(adapter, &mut watch);
    let faults = emulator.faults();
    faults.push(
        FaultRule::duplicate_event()
            .operation(Operation::Subscribe)
            .times(2),
    );
    faults.push(
        FaultRule::region_change(3)
            .operation(Operation::Subscribe)
            .times(1),
    );
    faults.push(
        FaultRule::drop_connection()
            .operation(Operation::Subscribe)
            .times(1),
    );
    faults.push(
        FaultRule::respond(503, r#"{"status":503,"error":true}"#)
            .operation(Operation::Subscribe)
            .times(3),
    );
    let users: Vec<String> = (0..6).map(|i| format!("user-{i}")).collect();
    for user in &users {
        actor(&origin, user)
            .heartbeat()
            .channels(["lobby"])
            .call()
            .expect("join");
        std::thread::sleep(Duration::from_millis(30));
    }
    let events = events_until(adapter, &mut watch, Duration::from_secs(15), |e| {
        e.len() >= users.len()
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut joined: Vec<&str> = events.iter().filter_map(PresenceEvent::uuid).collect();
    while let Some(item) = watch.try_next_item() {
        if let WatchItem::Event(event) = item {
            panic!(
                "[{}] an extra event: {event:?}; before: {joined:?}",
                A::NAME
            );
        }
    }
    joined.sort_unstable();
    assert_eq!(
        joined,
        users.iter().map(String::as_str).collect::<Vec<_>>(),
        "[{}]",
        A::NAME
    );
    adapter.watch_shutdown(watch).expect("shutdown");
}

fn access_denied_ends_the_watch<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| b);
    let origin = emulator.origin();
    emulator.faults().push(
        FaultRule::respond(
            403,
            r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#,
        )
        .operation(Operation::Subscribe)
        .times(1),
    );
    let mut watch = watch(
        adapter,
        &origin,
        &["lobby"],
        WatchOptions::new().observe(true),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match adapter.next_item(
            &mut watch,
            deadline.saturating_duration_since(Instant::now()),
        ) {
            Some(WatchItem::Stopped { error: Some(error) }) => {
                assert_eq!(error.kind(), presence_proto::ErrorKind::AccessDenied);
                break;
            }
            Some(_) => {}
            None => panic!("[{}] no Stopped", A::NAME),
        }
    }
    assert!(
        adapter
            .next_item(&mut watch, Duration::from_secs(2))
            .is_none(),
        "ended"
    );
}

/// Reads roster items until the latest snapshot of `channel` satisfies `done`; that snapshot.
fn snapshot_until<A: Adapter>(
    adapter: &A,
    roster: &mut WatchHandle<A::Flavour, RosterItem>,
    channel: &str,
    within: Duration,
    mut done: impl FnMut(&RosterSnapshot) -> bool,
) -> RosterSnapshot {
    let deadline = Instant::now() + within;
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "[{}] timed out; last snapshot {last:?}",
            A::NAME
        );
        match adapter.next_item(roster, left) {
            Some(RosterItem::Snapshot(snapshot)) if snapshot.channel == channel => {
                if done(&snapshot) {
                    return snapshot;
                }
                last = Some(snapshot);
            }
            Some(RosterItem::Watch(WatchItem::Stopped { error })) => {
                panic!("[{}] stopped: {error:?}", A::NAME)
            }
            Some(_) | None => {}
        }
    }
}

fn here_now_uuids(origin: &str, channel: &str) -> Vec<String> {
    let here = actor(origin, "look")
        .here_now()
        .channels([channel])
        .call()
        .expect("here_now");
    let mut uuids: Vec<String> = here
        .channels
        .iter()
        .flat_map(|c| c.occupants.iter().map(|u| u.user_id.clone()))
        .collect();
    uuids.sort();
    uuids
}

fn roster_starts_from_a_snapshot_and_follows_events<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| b);
    let origin = emulator.origin();
    for user in ["alice", "bob"] {
        actor(&origin, user)
            .heartbeat()
            .channels(["lobby"])
            .call()
            .expect("join");
    }
    let mut roster = roster(adapter, &origin, &["lobby"]);
    let first = snapshot_until(adapter, &mut roster, "lobby", Duration::from_secs(5), |s| {
        s.uuids.len() == 2
    });
    assert_eq!(first.uuids, ["alice", "bob"], "[{}]", A::NAME);
    actor(&origin, "carol")
        .heartbeat()
        .channels(["lobby"])
        .call()
        .expect("join");
    actor(&origin, "alice")
        .leave()
        .channels(["lobby"])
        .call()
        .expect("leave");
    let last = snapshot_until(adapter, &mut roster, "lobby", Duration::from_secs(5), |s| {
        s.uuids == ["bob", "carol"]
    });
    assert_eq!(last.occupancy, Some(2), "[{}]", A::NAME);
    assert_eq!(last.uuids, here_now_uuids(&origin, "lobby"));
}

fn roster_stays_equal_to_here_now_through_refreshes_and_faults<A: Adapter>(adapter: &A) {
    // Interval mode above 2 users, with deltas too big to send: `here_now_refresh`.
    let emulator = emulator(|b| {
        b.announce_max(2)
            .presence_interval(10)
            .presence_deltas(true)
            .here_now_refresh_bytes(10)
    });
    let origin = emulator.origin();
    let mut roster = roster(adapter, &origin, &["arena"]);
    let faults = emulator.faults();
    faults.push(
        FaultRule::duplicate_event()
            .operation(Operation::Subscribe)
            .times(1),
    );
    faults.push(
        FaultRule::drop_connection()
            .operation(Operation::Subscribe)
            .times(1),
    );
    faults.push(
        FaultRule::respond(503, r#"{"status":503,"error":true}"#)
            .operation(Operation::Subscribe)
            .times(2),
    );
    let users: Vec<String> = (0..8).map(|i| format!("player-{i}")).collect();
    // Present for 10 s (1,000 emulator seconds): nobody times out during the test.
    for user in &users {
        actor(&origin, user)
            .heartbeat()
            .channels(["arena"])
            .presence_timeout(1000)
            .call()
            .expect("join");
    }
    for user in &users[..3] {
        actor(&origin, user)
            .leave()
            .channels(["arena"])
            .call()
            .expect("leave");
    }
    let expected = here_now_uuids(&origin, "arena");
    assert_eq!(expected.len(), 5);
    let last = snapshot_until(
        adapter,
        &mut roster,
        "arena",
        Duration::from_secs(10),
        |s| s.uuids == expected,
    );
    assert_eq!(last.occupancy, Some(5), "[{}]", A::NAME);
}

/// A long-poll held by the service never blocks the client's other calls: they take other
/// pooled connections (a 10 s hold against a 2 s request timeout would fail them otherwise).
#[test]
fn a_held_poll_does_not_block_other_calls_of_the_same_client() {
    let emulator = emulator(|b| b.subscribe_hold_secs(1000));
    let origin = emulator.origin();
    Tokio::run(|tokio| {
        tokio.runtime().block_on(async {
            let client = presence_tokio::Client::builder(config(&origin, "watcher"))
                .request_timeout(Duration::from_secs(2))
                .build()
                .expect("client");
            let mut watches = Vec::new();
            for channel in ["a", "b", "c"] {
                let mut watch = client
                    .watch()
                    .channels([channel])
                    .observe(true)
                    .start()
                    .expect("watch");
                while let Some(item) = watch.next_item().await {
                    if matches!(item, WatchItem::Connected { .. }) {
                        break;
                    }
                }
                watches.push(watch);
            }
            // Three polls are held now; ordinary calls of the same client still go through.
            for _ in 0..5 {
                let here = client
                    .here_now()
                    .channels(["a"])
                    .await
                    .expect("not blocked");
                assert_eq!(here.total_occupancy, 0);
            }
            for watch in watches {
                watch.shutdown().await.expect("shutdown");
            }
        });
    });
    let blocking = presence_blocking::Client::builder(config(&origin, "watcher"))
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let watch = blocking
        .watch()
        .channels(["a"])
        .observe(true)
        .start()
        .expect("watch");
    assert!(matches!(
        watch.next_item_timeout(Duration::from_secs(5)),
        Some(WatchItem::Connected { .. })
    ));
    for _ in 0..5 {
        blocking
            .here_now()
            .channels(["a"])
            .call()
            .expect("not blocked");
    }
    drop(watch);
}

/// Dropping a present-mode watch (no shutdown) stops polling and sends the leave: the
/// watcher is gone from here_now long before its presence timeout (300 emulator seconds).
fn dropping_the_watch_leaves<A: Adapter>(adapter: &A) {
    let emulator = emulator(|b| b);
    let origin = emulator.origin();
    let mut watch = watch(adapter, &origin, &["lobby"], WatchOptions::new());
    connected(adapter, &mut watch);
    events_until(adapter, &mut watch, Duration::from_secs(5), |e| {
        !e.is_empty()
    });
    drop(watch);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let here = actor(&origin, "look")
            .here_now()
            .channels(["lobby"])
            .call()
            .expect("here");
        if here.total_occupancy == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "[{}] still present after the drop",
            A::NAME
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        emulator.stats().left,
        1,
        "[{}] an explicit leave, not a timeout",
        A::NAME
    );
}

macro_rules! for_both_adapters {
    ($($scenario:ident),* $(,)?) => {
        mod tokio_adapter {
            $(#[test] fn $scenario() { <super::Tokio as super::Adapter>::run(super::$scenario); })*
        }
        mod blocking_adapter {
            $(#[test] fn $scenario() { <super::Blocking as super::Adapter>::run(super::$scenario); })*
        }
    };
}

for_both_adapters!(
    scripted_scenario,
    present_mode_keeps_the_watcher_present_and_leaves_on_stop,
    interval_mode_with_deltas,
    faults_lose_or_double_nothing,
    access_denied_ends_the_watch,
    roster_starts_from_a_snapshot_and_follows_events,
    roster_stays_equal_to_here_now_through_refreshes_and_faults,
    dropping_the_watch_leaves,
);
