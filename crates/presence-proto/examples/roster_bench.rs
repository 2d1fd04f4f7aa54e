//! Roster events applied per second: join/leave churn on one channel of ~1,000 users.
//!
//! `cargo run --release -p presence-proto --example roster_bench` (`ROSTER_EVENTS=N` to change
//! the count, default 20 M). Prints, in one run, events/s for [`Roster::apply`] (borrowed
//! events, applied again and again) and [`Roster::apply_owned`] (events taken), with the
//! changes drained after every event as a driver would.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use presence_proto::{
    HereNow, Operation, PresenceEvent, Roster, Subscribe, SubscribeItem, SubscribeReply,
};

const USERS: usize = 1_000;

/// A subscribe reply of `2 * USERS` events: every user leaves, then joins again.
fn churn_reply() -> SubscribeReply {
    let mut body = String::from(r#"{"t":{"t":"17000000000099999","r":1},"m":["#);
    let mut tt = 17_000_000_000_000_000u64;
    for i in 0..USERS {
        for (action, occupancy) in [("leave", USERS - 1), ("join", USERS)] {
            tt += 1;
            if tt > 17_000_000_000_000_001 {
                body.push(',');
            }
            write!(
                body,
                r#"{{"a":"2","f":0,"p":{{"t":"{tt}","r":1}},"k":"demo","c":"lobby-pnpres","d":{{"action":"{action}","timestamp":1700000000,"uuid":"user-{i:04}","occupancy":{occupancy}}},"b":"lobby-pnpres"}}"#
            ).expect("writing to a String");
        }
    }
    body.push_str("]}");
    Subscribe::new()
        .channels(["lobby"])
        .parse(http::Response::new(body.as_bytes()))
        .expect("the churn reply parses")
}

/// The starting roster: a here_now of the `USERS` users.
fn snapshot() -> Roster {
    let uuids: Vec<String> = (0..USERS)
        .map(|i| format!(r#"{{"uuid":"user-{i:04}"}}"#))
        .collect();
    let body = format!(
        r#"{{"occupancy":{USERS},"uuids":[{}],"status":200}}"#,
        uuids.join(",")
    );
    let op = HereNow::new().channels(["lobby"]).include_state(true);
    let result = op
        .parse(http::Response::new(body.as_bytes()))
        .expect("the snapshot parses");
    Roster::from_here_now(&result)
}

/// This thread's CPU time (user + system) in seconds, from `/proc` (Linux; 0 elsewhere): the
/// figure that does not depend on what else the machine runs.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15 (clock ticks, 100 Hz).
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn drain(roster: &mut Roster) -> usize {
    let mut n = 0;
    while let Some(change) = roster.poll_change() {
        black_box(change);
        n += 1;
    }
    n
}

fn main() {
    let total: usize = std::env::var("ROSTER_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000);
    let events: Vec<PresenceEvent> = churn_reply()
        .items
        .into_iter()
        .filter_map(|item| match item {
            SubscribeItem::Presence(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2 * USERS);

    // Borrowed events, cycled: nothing allocated per event.
    let mut roster = snapshot();
    let rounds = total.div_ceil(events.len());
    let mut changes = 0usize;
    let cpu = cpu_seconds();
    let start = Instant::now();
    for _ in 0..rounds {
        for event in &events {
            black_box(roster.apply(black_box(event)));
            changes += drain(&mut roster);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let applied = rounds * events.len();
    assert_eq!(roster.user_count("lobby"), USERS);
    println!(
        "roster apply(&event):      {applied} events in {elapsed:.3} s = {:.2} M events/s wall, {:.2} M events/s per CPU second ({changes} changes drained)",
        applied as f64 / elapsed / 1e6,
        applied as f64 / cpu / 1e6
    );

    // Owned events (cloned beforehand, outside the timing): the event's strings are dropped.
    let mut roster = snapshot();
    let batch_rounds = 100;
    let mut owned_total = 0usize;
    let mut owned_time = 0f64;
    let mut owned_cpu = 0f64;
    for _ in 0..(total / (batch_rounds * events.len())).max(1) {
        let mut batch: Vec<PresenceEvent> = Vec::with_capacity(batch_rounds * events.len());
        for _ in 0..batch_rounds {
            batch.extend(events.iter().cloned());
        }
        owned_total += batch.len();
        let cpu = cpu_seconds();
        let start = Instant::now();
        for event in batch {
            black_box(roster.apply_owned(event));
            drain(&mut roster);
        }
        owned_time += start.elapsed().as_secs_f64();
        owned_cpu += cpu_seconds() - cpu;
    }
    assert_eq!(roster.user_count("lobby"), USERS);
    println!(
        "roster apply_owned(event): {owned_total} events in {owned_time:.3} s = {:.2} M events/s wall, {:.2} M events/s per CPU second (includes freeing each event)",
        owned_total as f64 / owned_time / 1e6,
        owned_total as f64 / owned_cpu / 1e6
    );
}
