//! End-to-end tests of keep-present (`Client::keep_present`, `Client::keep_present_many`)
//! against the emulator, defined once and run through both adapters.
//!
//! The table ([`keep_table!`] below) has one row per behaviour: its name, the service's setup
//! and faults, the script (plain synchronous code, generic over [`Adapter`]) and the expected
//! end as the emulator counts it. Each row becomes one test per adapter,
//! `tokio_adapter::<name>` and `blocking_adapter::<name>`. Where a row legitimately differs
//! per adapter — what dropping a handle does, and how many users the many-users row keeps
//! present — it says so per adapter ([`PerAdapter`]).
//!
//! After every script the harness also checks, for both adapters, that nothing more is sent
//! once every handle is gone (no heartbeat or leave in the next two intervals), and for tokio
//! that no task outlives the handles and clients.
//!
//! Real time, but short: the emulator's `timeout_unit` and the sessions' `time_unit` are both
//! 25 ms, so a presence timeout of 20 lasts 500 ms and heartbeats follow every 9 units =
//! 225 ms. Timing assertions are lower bounds, or upper bounds far from the edge (e.g. "gone
//! well before the presence timeout could have passed").

#[path = "support/adapters.rs"]
mod adapters;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adapters::{Adapter, PerAdapter};
use presence_emulator::{
    AccessManager, BackgroundEmulator, EmulatorBuilder, FaultRule, KeysetOptions, Operation,
    Permissions, Stats,
};
use presence_proto::{
    Client, Config, ConfigBuilder, ErrorKind, KeepPresent, KeepPresentBuilder, KeepPresentMany,
    KeepPresentManyBuilder, Member, SessionEvent, SessionId, SessionOptions,
};
use serde_json::json;

const UNIT: Duration = Duration::from_millis(25);
/// The heartbeat interval at a presence timeout of 20 units: (20 / 2 − 1) units.
const INTERVAL: Duration = Duration::from_millis(225);
/// A presence timeout (in units) heartbeats bridge short outages within: 500 ms.
const SHORT: u32 = 20;
/// A presence timeout (in units) long enough (7.5 s) that only a leave empties a channel fast.
const LONG: u32 = 300;
const SUB_KEY: &str = "demo";

// =============================================================================================
// The table.

/// Declares the table and one test per row and adapter.
macro_rules! keep_table {
    ($($name:ident => $row:expr;)*) => {
        /// Every row, for adapter `A`.
        fn table<A: Adapter>() -> Vec<KeepScenario<A>> {
            vec![$($row.named(stringify!($name))),*]
        }
        /// The table through `presence_tokio`.
        mod tokio_adapter {
            $(
                #[test]
                fn $name() {
                    super::run::<super::adapters::Tokio>(stringify!($name));
                }
            )*
        }
        /// The table through `presence_blocking`.
        mod blocking_adapter {
            $(
                #[test]
                fn $name() {
                    super::run::<super::adapters::Blocking>(stringify!($name));
                }
            )*
        }
    };
}

keep_table! {
    // -- One user. ----------------------------------------------------------------------------
    stays_present_across_twenty_intervals =>
        KeepScenario::new(stays_present_across_twenty_intervals).ends(Some(1), 0);
    short_outages_leave_no_gap_and_report_failure_then_recovery =>
        KeepScenario::new(short_outages_leave_no_gap)
            // Each outage is shorter than timeout − interval (275 ms): the retries bridge it.
            .outage(
                "503s",
                FaultRule::respond(503, r#"{"error":true,"status":503,"message":"busy"}"#)
                    .times(3),
                ErrorKind::Server,
            )
            .outage(
                "dropped connections",
                FaultRule::drop_connection().times(3),
                ErrorKind::Network,
            )
            .outage(
                "a stalled reply",
                FaultRule::stall(0, Duration::from_millis(400)).times(1),
                ErrorKind::Timeout,
            )
            .ends(Some(1), 0);
    a_long_outage_loses_presence_then_recovery_restores_it =>
        KeepScenario::new(a_long_outage_loses_presence)
            .outage(
                "503s until cleared",
                FaultRule::respond(503, r#"{"error":true,"status":503}"#).forever(),
                ErrorKind::Server,
            )
            .ends(Some(1), 1);
    shutdown_leaves_at_once =>
        KeepScenario::new(shutdown_leaves_at_once).presence_timeout(LONG).ends(Some(2), 0);
    request_shutdown_reports_the_leave_then_the_end =>
        KeepScenario::new(request_shutdown_reports_the_leave_then_the_end)
            .presence_timeout(LONG)
            .ends(Some(1), 0);
    dropping_the_handle_leaves =>
        KeepScenario::new(dropping_the_handle_leaves)
            .presence_timeout(LONG)
            .on_drop(OnDrop::LeavesInTheBackground, OnDrop::WaitsForTheLeave)
            .ends(Some(1), 0);
    dropping_the_handle_waits_at_most_twice_the_request_timeout =>
        KeepScenario::new(dropping_the_handle_with_a_stalled_leave)
            .presence_timeout(LONG)
            .on_drop(OnDrop::LeavesInTheBackground, OnDrop::WaitsForTheLeave)
            // Far longer than the session client's 120 ms request timeout.
            .injects_fault(
                Operation::Leave,
                FaultRule::stall(0, Duration::from_secs(5)).times(1),
            )
            // The stalled leave never took effect: nobody left (and the 7.5 s timeout is ahead).
            .ends(Some(0), 0);
    access_denied_stops_with_the_error =>
        KeepScenario::new(access_denied_stops_with_the_error)
            .presence_timeout(LONG)
            .grants(|| {
                AccessManager::new().grant_channel("frank-token", "open", Permissions::READ)
            })
            // No leave after a 403: frank stays on "open" until the service times him out.
            .ends(Some(0), 0);
    an_unread_stop_error_is_returned_by_shutdown =>
        KeepScenario::new(an_unread_stop_error_is_returned_by_shutdown)
            .starts_with_fault(
                Operation::Heartbeat,
                FaultRule::respond(403, r#"{"error":true,"status":403,"message":"Forbidden"}"#)
                    .forever(),
            )
            .ends(Some(0), 0);
    a_state_that_does_not_serialise_fails_start_and_sends_nothing =>
        KeepScenario::new(a_state_that_does_not_serialise_fails_start).ends(Some(1), 0);
    commands_apply_while_a_request_is_in_flight =>
        KeepScenario::new(commands_apply_while_a_request_is_in_flight)
            // The first heartbeat takes 300 ms to be answered.
            .starts_with_fault(
                Operation::Heartbeat,
                FaultRule::delay(Duration::from_millis(300)).times(1),
            )
            // b on its own, then a and c at shutdown.
            .ends(Some(3), 0);
    // -- Many users. --------------------------------------------------------------------------
    many_users_stay_present_then_all_leave =>
        KeepScenario::new(many_users_stay_present_then_all_leave)
            // As many as each adapter's suite has always kept present at this pace: the
            // blocking adapter runs a worker thread per request in flight.
            .users(200, 100)
            .ends(None, 0); // `left` is checked by the script
    many_users_respect_the_in_flight_cap =>
        KeepScenario::new(many_users_respect_the_in_flight_cap)
            .presence_timeout(LONG)
            // Every heartbeat takes at least 40 ms to be answered.
            .starts_with_fault(
                Operation::Heartbeat,
                FaultRule::delay(Duration::from_millis(40)).forever(),
            )
            .ends(Some(10), 0);
    dropping_the_many_handle_makes_everyone_leave =>
        KeepScenario::new(dropping_the_many_handle_makes_everyone_leave)
            .presence_timeout(LONG)
            .on_drop(OnDrop::LeavesInTheBackground, OnDrop::WaitsForTheLeave)
            .ends(Some(20), 0);
    handles_move_to_other_threads =>
        KeepScenario::new(handles_move_to_other_threads).presence_timeout(LONG).ends(Some(2), 0);
}

/// One behaviour: the service's setup, the script, and the end the emulator must count.
struct KeepScenario<A: Adapter> {
    name: &'static str,
    /// The sessions' presence timeout, in units.
    presence_timeout: u32,
    /// Access Manager grants of the keyset (`None`: an open keyset).
    grants: Option<fn() -> AccessManager>,
    /// Fault rules the emulator starts with.
    faults: Vec<FaultRule>,
    /// Outages the script injects, one at a time, with how the session must report each.
    outages: Vec<Outage>,
    /// How many users a many-users row keeps present, per adapter.
    users: PerAdapter<usize>,
    /// What dropping a handle does, per adapter (rows that drop one).
    on_drop: Option<PerAdapter<OnDrop>>,
    /// (user, channel) pairs that left explicitly by the end (`None`: not checked).
    left: Option<u64>,
    /// (user, channel) pairs that timed out by the end.
    timed_out: u64,
    script: fn(&Cx<'_, A>),
}

/// A fault the script injects while sessions run.
struct Outage {
    name: &'static str,
    rule: FaultRule,
    /// The kind of the `HeartbeatFailed` errors it causes (`None`: not a heartbeat fault).
    reported_as: Option<ErrorKind>,
}

/// What dropping a keep-present handle does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum OnDrop {
    /// `drop` returns at once; the leave follows in the background, then the task ends.
    LeavesInTheBackground,
    /// `drop` returns once the leave is answered, or after at most twice the request timeout.
    WaitsForTheLeave,
}

impl<A: Adapter> KeepScenario<A> {
    fn new(script: fn(&Cx<'_, A>)) -> Self {
        Self {
            name: "",
            presence_timeout: SHORT,
            grants: None,
            faults: Vec::new(),
            outages: Vec::new(),
            users: PerAdapter::same(0),
            on_drop: None,
            left: Some(0),
            timed_out: 0,
            script,
        }
    }

    fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    fn presence_timeout(mut self, units: u32) -> Self {
        self.presence_timeout = units;
        self
    }

    fn grants(mut self, grants: fn() -> AccessManager) -> Self {
        self.grants = Some(grants);
        self
    }

    /// A fault on one operation, on from the start.
    fn starts_with_fault(mut self, operation: Operation, rule: FaultRule) -> Self {
        self.faults.push(rule.operation(operation));
        self
    }

    /// A fault on one operation, injected by the script (not a heartbeat outage).
    fn injects_fault(mut self, operation: Operation, rule: FaultRule) -> Self {
        self.outages.push(Outage {
            name: "fault",
            rule: rule.operation(operation),
            reported_as: None,
        });
        self
    }

    /// A heartbeat outage the script injects.
    fn outage(mut self, name: &'static str, rule: FaultRule, reported_as: ErrorKind) -> Self {
        self.outages.push(Outage {
            name,
            rule: rule.operation(Operation::Heartbeat),
            reported_as: Some(reported_as),
        });
        self
    }

    fn users(mut self, tokio: usize, blocking: usize) -> Self {
        self.users = PerAdapter { tokio, blocking };
        self
    }

    fn on_drop(mut self, tokio: OnDrop, blocking: OnDrop) -> Self {
        self.on_drop = Some(PerAdapter { tokio, blocking });
        self
    }

    fn ends(mut self, left: Option<u64>, timed_out: u64) -> Self {
        self.left = left;
        self.timed_out = timed_out;
        self
    }
}

// =============================================================================================
// The harness.

/// Runs the row `name` through adapter `A` against a fresh emulator.
fn run<A: Adapter>(name: &str) {
    A::run(|adapter| {
        let row = table::<A>()
            .into_iter()
            .find(|row| row.name == name)
            .expect("a row of that name");
        let mut builder = EmulatorBuilder::new()
            .timeout_unit(UNIT)
            .sweep_interval(UNIT);
        if let Some(grants) = row.grants {
            builder = builder.keyset(SUB_KEY, KeysetOptions::new().access_manager(grants()));
        }
        for rule in &row.faults {
            builder = builder.fault(rule.clone());
        }
        let emulator = builder.start_in_background().expect("emulator");
        let origin = emulator.origin();
        let cx = Cx {
            adapter,
            row: &row,
            look: client::<A>(&origin, "observer", Duration::from_secs(5)),
            origin,
            emulator,
        };
        (row.script)(&cx);

        // Once every handle is gone nothing more is sent.
        let sent = |stats: &Stats| {
            ["heartbeat", "leave"]
                .iter()
                .map(|op| stats.requests.get(*op).copied().unwrap_or(0))
                .sum::<u64>()
        };
        let before = cx.emulator.stats();
        std::thread::sleep(INTERVAL * 2);
        let after = cx.emulator.stats();
        let what = format!("{} ({}): {after:?}", row.name, A::NAME);
        assert_eq!(sent(&after), sent(&before), "sent after the end: {what}");
        // The end, as the emulator counted it.
        if let Some(left) = row.left {
            assert_eq!(after.left, left, "left: {what}");
        }
        assert_eq!(after.timed_out, row.timed_out, "timed out: {what}");

        // No task outlives the handles and clients (tokio).
        let Cx { look, emulator, .. } = cx;
        drop(look);
        if adapter.alive_tasks().is_some() {
            wait_until(Duration::from_secs(3), "every task ended", || {
                adapter.alive_tasks() == Some(0)
            });
        }
        drop(emulator);
    });
}

/// What a script works with: the adapter, its row, the emulator and an observer client.
struct Cx<'a, A: Adapter> {
    adapter: &'a A,
    row: &'a KeepScenario<A>,
    emulator: BackgroundEmulator,
    origin: String,
    /// Looks (here now) with patience, so that checks never fail spuriously.
    look: Client<A::Flavour>,
}

fn config(origin: &str, user: &str) -> ConfigBuilder {
    Config::builder(SUB_KEY, user).origin(origin)
}

fn client<A: Adapter>(origin: &str, user: &str, timeout: Duration) -> Client<A::Flavour> {
    Client::builder(config(origin, user).build().expect("config"))
        .request_timeout(timeout)
        .build()
        .expect("client")
}

fn occupants<A: Adapter>(adapter: &A, look: &Client<A::Flavour>, channel: &str) -> Vec<String> {
    let here = adapter
        .call(look.here_now().channels([channel]))
        .expect("here now");
    here.channel(channel)
        .map(|c| c.occupants.iter().map(|u| u.user_id.clone()).collect())
        .unwrap_or_default()
}

/// Waits (polling) until `done`, failing after `within`.
fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (briefly) for a session's driver to end: it ends just after its last event.
fn wait_finished<F>(session: &KeepPresent<F>) {
    wait_until(Duration::from_secs(2), "the driver ended", || {
        session.is_finished()
    });
}

/// Sets a flag when dropped (also on a panic), so that a sampler thread always stops.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl<A: Adapter> Cx<'_, A> {
    fn options(&self) -> SessionOptions {
        SessionOptions::new()
            .presence_timeout(self.row.presence_timeout)
            .time_unit(UNIT)
    }

    /// The client that keeps users present. A short request timeout turns a stalled reply
    /// into a failed heartbeat well within the presence timeout.
    fn session_client(&self, user: &str) -> Client<A::Flavour> {
        client::<A>(&self.origin, user, Duration::from_millis(120))
    }

    /// A client with a patient request timeout (2 s).
    fn patient_client(&self, user: &str) -> Client<A::Flavour> {
        client::<A>(&self.origin, user, Duration::from_secs(2))
    }

    /// Starts one user with the row's session options.
    fn start(&self, builder: KeepPresentBuilder<A::Flavour>) -> KeepPresent<A::Flavour> {
        self.adapter
            .start(builder.options(self.options()))
            .expect("start")
    }

    /// Starts a many-users handle with the row's session options.
    fn start_many(
        &self,
        builder: KeepPresentManyBuilder<A::Flavour>,
    ) -> KeepPresentMany<A::Flavour> {
        self.adapter.start_many(builder.options(self.options()))
    }

    fn outage(&self, index: usize) -> &Outage {
        &self.row.outages[index]
    }

    fn inject(&self, outage: &Outage) {
        self.emulator.faults().push(outage.rule.clone());
    }

    fn on_drop(&self) -> OnDrop {
        *A::pick(
            self.row
                .on_drop
                .as_ref()
                .expect("the row says what a drop does"),
        )
    }

    fn occupants(&self, channel: &str) -> Vec<String> {
        occupants(self.adapter, &self.look, channel)
    }

    fn occupancy(&self, channel: &str) -> u64 {
        self.adapter
            .call(
                self.look
                    .here_now()
                    .channels([channel])
                    .include_user_ids(false),
            )
            .expect("here now")
            .total_occupancy
    }

    /// The state of the first user on `channel`.
    fn state_of(&self, channel: &str) -> Option<serde_json::Value> {
        let here = self
            .adapter
            .call(self.look.here_now().channels([channel]).include_state(true))
            .expect("here now");
        here.channel(channel)
            .and_then(|c| c.occupants.first())
            .and_then(|u| u.state.clone())
    }

    fn heartbeats(&self) -> u64 {
        let stats = self.emulator.stats();
        stats.requests.get("heartbeat").copied().unwrap_or(0)
    }

    /// Runs `body` while a thread watches here now on `channel` for `user`: how many looks,
    /// when the user was missing, and what `body` returned.
    fn watch<R>(
        &self,
        channel: &str,
        user: &str,
        body: impl FnOnce() -> R,
    ) -> (usize, Vec<Duration>, R) {
        let stop = AtomicBool::new(false);
        let (adapter, look) = (self.adapter, &self.look);
        std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                let started = Instant::now();
                let (mut looks, mut missing) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    looks += 1;
                    if !occupants(adapter, look, channel).iter().any(|u| u == user) {
                        missing.push(started.elapsed());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                (looks, missing)
            });
            let result = {
                let _stop = StopOnDrop(&stop);
                body()
            };
            let (looks, missing) = sampler.join().expect("sampler");
            (looks, missing, result)
        })
    }

    /// Reads events until one matches `done`, returning every event read (the match last).
    fn events_until(
        &self,
        session: &mut KeepPresent<A::Flavour>,
        within: Duration,
        mut done: impl FnMut(&SessionEvent) -> bool,
    ) -> Vec<SessionEvent> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.adapter.next_event_timeout(session, left) {
                Some(event) => {
                    let stop = done(&event);
                    seen.push(event);
                    if stop {
                        return seen;
                    }
                }
                None if session.is_finished() => {
                    panic!("session ended; events so far: {seen:#?}")
                }
                None => panic!("no matching event within {within:?}; events so far: {seen:#?}"),
            }
        }
    }

    fn joined(&self, session: &mut KeepPresent<A::Flavour>) {
        self.events_until(session, Duration::from_secs(5), |e| {
            matches!(e, SessionEvent::Joined { .. })
        });
    }

    /// Reads events until `count` users have joined; returns their ids.
    fn wait_joined(&self, many: &mut KeepPresentMany<A::Flavour>, count: usize) -> Vec<SessionId> {
        let mut ids = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while ids.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.adapter.many_next_event_timeout(many, left) {
                Some((id, SessionEvent::Joined { .. })) => ids.push(id),
                Some(_) => {}
                None => panic!("only {} of {count} joined", ids.len()),
            }
        }
        ids
    }
}

// =============================================================================================
// The scripts: one user.

fn stays_present_across_twenty_intervals<A: Adapter>(cx: &Cx<'_, A>) {
    let mut alice = cx.start(
        cx.session_client("alice")
            .keep_present()
            .channels(["room"])
            .state("room", &json!({"mood": "steady"})),
    );
    cx.joined(&mut alice);

    let started = Instant::now();
    let (looks, missing, ()) = cx.watch("room", "alice", || std::thread::sleep(INTERVAL * 20));
    assert!(looks >= 50, "only {looks} looks");
    assert!(missing.is_empty(), "alice was missing at {missing:?}");

    // Heartbeats kept coming at the interval (lower bound: 20 intervals → at least 15) and
    // carried the state.
    let heartbeats = cx.heartbeats();
    assert!(
        heartbeats >= 15,
        "{heartbeats} heartbeats in {:?}",
        started.elapsed()
    );
    assert_eq!(cx.emulator.stats().timed_out, 0);
    assert_eq!(cx.state_of("room"), Some(json!({"mood": "steady"})));
    // Nothing went wrong along the way.
    let events: Vec<_> = std::iter::from_fn(|| alice.try_next_event()).collect();
    assert!(events.is_empty(), "{events:#?}");

    cx.adapter.shutdown(alice).expect("leave");
    assert!(cx.occupants("room").is_empty());
}

fn short_outages_leave_no_gap<A: Adapter>(cx: &Cx<'_, A>) {
    let mut bob = cx.start(cx.session_client("bob").keep_present().channels(["hall"]));
    cx.joined(&mut bob);
    let (looks, missing, ()) = cx.watch("hall", "bob", || {
        for outage in &cx.row.outages {
            // Let a normal interval pass first.
            std::thread::sleep(INTERVAL);
            cx.inject(outage);
            let events = cx.events_until(&mut bob, Duration::from_secs(5), |e| {
                matches!(e, SessionEvent::Recovered { .. })
            });
            let name = outage.name;
            let failures: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    SessionEvent::HeartbeatFailed { error, .. } => Some(error.kind()),
                    _ => None,
                })
                .collect();
            assert!(
                !failures.is_empty() && failures.iter().all(|k| Some(*k) == outage.reported_as),
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
    });
    assert!(looks >= 20, "only {looks} looks");
    assert!(missing.is_empty(), "bob was missing at {missing:?}");
    let stats = cx.emulator.stats();
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert!(stats.faults_applied >= 3, "{stats:?}");
    cx.adapter.shutdown(bob).expect("leave");
}

fn a_long_outage_loses_presence<A: Adapter>(cx: &Cx<'_, A>) {
    let mut carol = cx.start(cx.session_client("carol").keep_present().channels(["deck"]));
    cx.joined(&mut carol);

    let outage = cx.outage(0);
    cx.inject(outage);
    let outage_started = Instant::now();

    // The service times carol out: no heartbeat got through for the whole timeout.
    wait_until(Duration::from_secs(5), "carol timed out", || {
        !cx.occupants("deck").iter().any(|u| u == "carol")
    });
    let gone_after = outage_started.elapsed();
    // The last heartbeat that got through was at most one interval before the outage.
    assert!(
        gone_after >= Duration::from_millis(200),
        "gone after {gone_after:?}"
    );
    assert_eq!(cx.emulator.stats().timed_out, 1);
    // Meanwhile every attempt failed, as the outage's kind.
    let events: Vec<_> = std::iter::from_fn(|| carol.try_next_event()).collect();
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::HeartbeatFailed { error, .. } => Some(error.kind()),
            _ => None,
        })
        .collect();
    assert!(
        failures.len() >= 2 && failures.iter().all(|k| Some(*k) == outage.reported_as),
        "{events:#?}"
    );

    // Still down a while longer, then the service comes back: the next retry joins again.
    std::thread::sleep(INTERVAL * 2);
    cx.emulator.faults().clear();
    let events = cx.events_until(&mut carol, Duration::from_secs(5), |e| {
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
    assert_eq!(cx.occupants("deck"), ["carol"]);
    cx.adapter.shutdown(carol).expect("leave");
    assert!(cx.occupants("deck").is_empty());
}

fn shutdown_leaves_at_once<A: Adapter>(cx: &Cx<'_, A>) {
    let mut dave = cx.start(
        cx.session_client("dave")
            .keep_present()
            .channels(["porch", "yard"]),
    );
    cx.joined(&mut dave);
    assert_eq!(cx.occupants("porch"), ["dave"]);

    let started = Instant::now();
    cx.adapter
        .shutdown(dave)
        .expect("the leave was acknowledged");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(cx.occupants("porch").is_empty());
    assert!(cx.occupants("yard").is_empty());
    let stats = cx.emulator.stats();
    assert_eq!(stats.requests.get("leave"), Some(&1), "one leave for both");
}

fn request_shutdown_reports_the_leave_then_the_end<A: Adapter>(cx: &Cx<'_, A>) {
    let mut hank = cx.start(cx.session_client("hank").keep_present().channels(["den"]));
    cx.joined(&mut hank);
    hank.request_shutdown();
    let events: Vec<_> = std::iter::from_fn(|| cx.adapter.next_event(&mut hank)).collect();
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
    // Commands after the end are ignored; shutting down again only waits for the driver.
    hank.join_channels(["elsewhere"]);
    cx.adapter.shutdown(hank).expect("already left");
    assert!(cx.emulator.occupants(SUB_KEY, "elsewhere").is_empty());
}

fn dropping_the_handle_leaves<A: Adapter>(cx: &Cx<'_, A>) {
    let mut erin = cx.start(cx.session_client("erin").keep_present().channels(["attic"]));
    cx.joined(&mut erin);
    assert_eq!(cx.occupants("attic"), ["erin"]);

    let started = Instant::now();
    drop(erin);
    assert!(started.elapsed() < Duration::from_secs(2));
    match cx.on_drop() {
        // Erin is gone as soon as the drop returns.
        OnDrop::WaitsForTheLeave => assert!(cx.occupants("attic").is_empty()),
        // Far less than the 7.5 s presence timeout: the leave did it.
        OnDrop::LeavesInTheBackground => {
            wait_until(Duration::from_secs(3), "erin left", || {
                cx.occupants("attic").is_empty()
            });
        }
    }
}

fn dropping_the_handle_with_a_stalled_leave<A: Adapter>(cx: &Cx<'_, A>) {
    let mut ivy = cx.start(cx.session_client("ivy").keep_present().channels(["cellar"]));
    cx.joined(&mut ivy);
    cx.inject(cx.outage(0));
    let started = Instant::now();
    drop(ivy);
    let took = started.elapsed();
    // The drop never waits out the stall.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    if cx.on_drop() == OnDrop::WaitsForTheLeave {
        // The leave timed out (≥ 120 ms) before the drop returned.
        assert!(took >= Duration::from_millis(100), "took only {took:?}");
        assert_eq!(cx.emulator.stats().faults_applied, 1);
    }
    wait_until(Duration::from_secs(2), "the leave was sent", || {
        cx.emulator.stats().faults_applied == 1
    });
}

fn access_denied_stops_with_the_error<A: Adapter>(cx: &Cx<'_, A>) {
    let frank = Client::new(
        config(&cx.origin, "frank")
            .auth_token("frank-token")
            .build()
            .expect("config"),
    )
    .expect("client");
    let mut frank = cx.start(frank.keep_present().channels(["open"]));
    cx.joined(&mut frank);

    frank.join_channels(["closed"]);
    let events = cx.events_until(&mut frank, Duration::from_secs(5), |e| {
        matches!(e, SessionEvent::Stopped { .. })
    });
    match events.last() {
        Some(SessionEvent::Stopped { error: Some(error) }) => {
            assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
            assert_eq!(error.api().expect("api error").channels, ["closed"]);
        }
        other => panic!("{other:?}"),
    }
    // Nothing retried a 403: the session is over and its driver ended (the harness checks
    // that no heartbeat follows).
    assert!(cx.adapter.next_event(&mut frank).is_none());
    wait_finished(&frank);
    assert_eq!(cx.adapter.shutdown(frank).ok(), Some(()));
}

fn an_unread_stop_error_is_returned_by_shutdown<A: Adapter>(cx: &Cx<'_, A>) {
    let gail = cx.start(cx.session_client("gail").keep_present().channels(["vault"]));
    wait_until(Duration::from_secs(5), "gail stopped", || {
        gail.is_finished()
    });
    let error = cx.adapter.shutdown(gail).expect_err("the 403");
    assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
}

fn a_state_that_does_not_serialise_fails_start<A: Adapter>(cx: &Cx<'_, A>) {
    struct Unserialisable;
    impl serde::Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    let client = cx.session_client("kim");
    let error = cx
        .adapter
        .start(
            client
                .keep_present()
                .channels(["room"])
                .state("room", &Unserialisable),
        )
        .expect_err("bad state");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    // Nor is a user with such a state added to a many-users handle.
    let many = cx.start_many(client.keep_present_many());
    let error = many
        .add(
            Member::new("lee")
                .channels(["room"])
                .state("room", &Unserialisable),
        )
        .expect_err("bad state");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(many.is_empty());
    cx.adapter.many_shutdown(many);
    assert_eq!(cx.emulator.stats().requests_total, 0);

    let mut session = cx.start(client.keep_present().channels(["room"]));
    cx.joined(&mut session);
    let error = session
        .set_state("room", &Unserialisable)
        .expect_err("bad state");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    cx.adapter.shutdown(session).expect("leave");
}

fn commands_apply_while_a_request_is_in_flight<A: Adapter>(cx: &Cx<'_, A>) {
    let mut gina = cx.start(
        cx.patient_client("gina")
            .keep_present()
            .channels(["a", "b"]),
    );
    // While the first heartbeat is in flight: join c, leave b, set state on a.
    std::thread::sleep(Duration::from_millis(100));
    gina.join_channels(["c"]);
    gina.leave_channels(["b"]);
    gina.set_state("a", &json!({"busy": true})).expect("state");

    // The first heartbeat's answer reports a (b was left meanwhile); then one leave for b
    // and a heartbeat announcing c follow at once.
    let (mut joined_c, mut left_b) = (false, false);
    let events = cx.events_until(&mut gina, Duration::from_secs(5), |e| {
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
    assert!(
        matches!(events.first(), Some(SessionEvent::Joined { channels, .. }) if channels == &["a"]),
        "{events:#?}"
    );
    assert_eq!(cx.occupants("a"), ["gina"]);
    assert!(cx.occupants("b").is_empty());
    assert_eq!(cx.occupants("c"), ["gina"]);
    assert_eq!(cx.state_of("a"), Some(json!({"busy": true})));
    cx.adapter.shutdown(gina).expect("leave");
    assert!(cx.occupants("a").is_empty());
    assert!(cx.occupants("c").is_empty());
}

// =============================================================================================
// The scripts: many users.

fn many_users_stay_present_then_all_leave<A: Adapter>(cx: &Cx<'_, A>) {
    let users = *A::pick(&cx.row.users);
    let mut many = cx.start_many(cx.patient_client("pool").keep_present_many());
    let mut ids: Vec<SessionId> = (0..users)
        .map(|i| {
            many.add(
                Member::new(format!("user-{i:03}"))
                    .channels(["crowd"])
                    .state("crowd", &json!({"n": i})),
            )
            .expect("added")
        })
        .collect();
    assert_eq!(many.len(), users);
    let mut joined = cx.wait_joined(&mut many, users);
    joined.sort();
    ids.sort();
    assert_eq!(joined, ids);

    // Present through several intervals, every look.
    for _ in 0..16 {
        assert_eq!(cx.occupancy("crowd"), users as u64);
        std::thread::sleep(INTERVAL / 2);
    }
    let stats = cx.emulator.stats();
    assert_eq!(stats.timed_out, 0, "{stats:?}");
    assert!(cx.heartbeats() >= users as u64 * 5, "{stats:?}");

    // One user leaves alone, then everyone.
    many.remove(ids[0]);
    loop {
        match cx
            .adapter
            .many_next_event_timeout(&mut many, Duration::from_secs(5))
        {
            Some((id, SessionEvent::Stopped { error: None })) if id == ids[0] => break,
            Some(_) => {}
            None => panic!("{:?} never stopped", ids[0]),
        }
    }
    assert_eq!(many.len(), users - 1);
    assert_eq!(cx.occupancy("crowd"), users as u64 - 1);
    cx.adapter.many_shutdown(many);
    assert_eq!(cx.occupancy("crowd"), 0);
    // Everyone left (the row's end cannot say how many: it differs per adapter).
    assert_eq!(cx.emulator.stats().left, users as u64);
}

fn many_users_respect_the_in_flight_cap<A: Adapter>(cx: &Cx<'_, A>) {
    let mut many = cx.start_many(
        cx.patient_client("pool")
            .keep_present_many()
            .max_in_flight(1),
    );
    let started = Instant::now();
    for i in 0..10 {
        many.add(Member::new(format!("user-{i}")).channels(["queue"]))
            .expect("added");
    }
    // Commands are applied while requests are in flight: all ten are in at once.
    assert!(started.elapsed() < Duration::from_millis(200));
    cx.wait_joined(&mut many, 10);
    // One at a time: ten 40 ms heartbeats back to back.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(380), "took only {took:?}");
    assert_eq!(cx.occupancy("queue"), 10);
    cx.adapter.many_shutdown(many);
    assert_eq!(cx.occupancy("queue"), 0);
}

fn dropping_the_many_handle_makes_everyone_leave<A: Adapter>(cx: &Cx<'_, A>) {
    let mut many = cx.start_many(cx.session_client("pool").keep_present_many());
    for i in 0..20 {
        many.add(Member::new(format!("user-{i}")).channels(["bus"]))
            .expect("added");
    }
    cx.wait_joined(&mut many, 20);
    assert_eq!(cx.occupancy("bus"), 20);
    drop(many);
    match cx.on_drop() {
        OnDrop::WaitsForTheLeave => assert_eq!(cx.occupancy("bus"), 0),
        OnDrop::LeavesInTheBackground => {
            wait_until(Duration::from_secs(3), "everyone left", || {
                cx.occupancy("bus") == 0
            });
        }
    }
}

fn handles_move_to_other_threads<A: Adapter>(cx: &Cx<'_, A>) {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<KeepPresent<A::Flavour>>();
    send::<KeepPresentMany<A::Flavour>>();
    sync::<KeepPresent<A::Flavour>>();
    sync::<KeepPresentMany<A::Flavour>>();

    // Started here; added to from another thread (through a shared reference); read and
    // shut down on yet other threads.
    let mut jo = cx.start(cx.session_client("jo").keep_present().channels(["square"]));
    let mut many = cx.start_many(cx.session_client("pool").keep_present_many());
    let id = std::thread::scope(|scope| {
        let many = &many;
        scope
            .spawn(|| many.add(Member::new("kay").channels(["square"])))
            .join()
            .expect("thread")
            .expect("added")
    });
    std::thread::scope(|scope| {
        scope.spawn(|| {
            cx.joined(&mut jo);
            cx.adapter.shutdown(jo).expect("leave");
        });
        scope.spawn(|| assert_eq!(cx.wait_joined(&mut many, 1), [id]));
    });
    cx.adapter.many_shutdown(many);
    assert!(cx.occupants("square").is_empty());
}
