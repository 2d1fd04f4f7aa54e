//! Fault rules on the subscribe long-poll: delay, error status, drop mid-poll, duplicate
//! event, region change; a faulted poll is held like any other (woken by events, released
//! at the configured hold).

use std::time::{Duration, Instant};

use presence_emulator::{FaultRule, Operation};
use serde_json::{Value, json};

use crate::common::{Emu, eventually, parse};
use crate::subscribe::{fast, handshake, payloads, poll, raw_poll, tt_of};

/// An emulator with one join of `u` on `a` waiting for the watcher; returns its cursor.
fn with_one_event() -> (Emu, String) {
    let emu = fast(|b| b);
    let cursor = handshake(&emu, "a-pnpres", "w", "");
    emu.hb("a", "u", "");
    (emu, cursor)
}

#[test]
fn delay_then_normal_reply() {
    let (emu, cursor) = with_one_event();
    emu.server
        .faults()
        .push(FaultRule::delay(Duration::from_millis(50)).operation(Operation::Subscribe));
    let v = poll(&emu, "a-pnpres", "w", &cursor, "");
    assert_eq!(payloads(&v).len(), 1);
    assert_eq!(emu.server.stats().faults_applied, 1);
}

#[test]
fn error_status_changes_nothing() {
    let emu = fast(|b| b);
    emu.server
        .faults()
        .push(FaultRule::respond(503, "busy").operation(Operation::Subscribe));
    let r = emu.get("/v2/subscribe/sk/a,a-pnpres/0?uuid=u&tt=0");
    assert_eq!((r.status, r.body.as_str()), (503, "busy"));
    assert!(emu.where_now("u").is_empty());
}

#[test]
fn drop_mid_poll_loses_nothing() {
    let (emu, cursor) = with_one_event();
    emu.server
        .faults()
        .push(FaultRule::drop_connection().operation(Operation::Subscribe));
    let raw = raw_poll(
        &emu,
        &format!("/v2/subscribe/sk/a-pnpres/0?uuid=w&tt={cursor}"),
    );
    assert!(raw.is_empty(), "closed without a response");
    // The client retries with the same cursor and gets the event.
    let v = poll(&emu, "a-pnpres", "w", &cursor, "");
    assert_eq!(payloads(&v)[0]["uuid"], "u");

    // With a delay the poll is held that long, then dropped, even with nothing to send.
    let next = tt_of(&v);
    emu.server.faults().push(
        FaultRule::drop_connection()
            .operation(Operation::Subscribe)
            .with_delay(Duration::from_millis(30)),
    );
    let raw = raw_poll(
        &emu,
        &format!("/v2/subscribe/sk/a-pnpres/0?uuid=w&tt={next}"),
    );
    assert!(raw.is_empty());
}

#[test]
fn duplicate_event_in_one_reply() {
    let (emu, cursor) = with_one_event();
    // Through the admin API, as JSON.
    let r = emu.send(
        "POST",
        "/_emulator/faults",
        r#"{"operation":"subscribe","action":{"type":"duplicate"}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = poll(&emu, "a-pnpres", "w", &cursor, "");
    let m = v["m"].as_array().cloned().unwrap_or_default();
    assert_eq!(m.len(), 2, "{v}");
    assert_eq!(m[0], m[1], "same event, same p.t");
}

#[test]
fn region_change_moves_the_cursor_back_and_redelivers() {
    let (emu, cursor) = with_one_event();
    emu.server.faults().push(FaultRule::region_change(3));
    let v = poll(&emu, "a-pnpres", "w", &cursor, "");
    assert_eq!(v["t"]["r"], json!(3));
    let pt = v["m"][0]["p"]["t"].as_str().unwrap_or_default().to_owned();
    let back = tt_of(&v);
    assert!(back < pt, "cursor {back} moved back before the event {pt}");
    let again = poll(&emu, "a-pnpres", "w", &back, "");
    assert_eq!(again["m"][0]["p"]["t"], Value::from(pt));
    assert_eq!(again["m"][0]["d"], v["m"][0]["d"]);
}

/// An emulator in interval mode on `a` (two users, above `announce_max` 1, with deltas too
/// big to send: `here_now_refresh`), holding polls `hold_secs` of 10 ms; and the cursor of a
/// watcher of `a-pnpres` with nothing waiting for it.
fn interval_mode(hold_secs: u32) -> (Emu, String) {
    let emu = fast(|b| {
        b.subscribe_hold_secs(hold_secs)
            .announce_max(1)
            .presence_interval(2)
            .presence_deltas(true)
            .here_now_refresh_bytes(10)
    });
    emu.hb("a", "u1", "");
    emu.hb("a", "u2", "");
    let cursor = handshake(&emu, "a-pnpres", "w", "");
    (emu, cursor)
}

/// A poll of `a-pnpres` at `cursor` on its own connection: (what came back, how long it took).
fn timed_poll(emu: &Emu, cursor: &str) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let raw = raw_poll(
        emu,
        &format!("/v2/subscribe/sk/a-pnpres/0?uuid=w&tt={cursor}&tr=12"),
    );
    (raw, started.elapsed())
}

/// The rules that still hold the poll (the handler runs): each must answer (or drop) as soon
/// as an event arrives, like an unfaulted poll.
fn holding_rules() -> [(&'static str, FaultRule); 2] {
    [
        ("duplicate", FaultRule::duplicate_event()),
        ("drop", FaultRule::drop_connection()),
    ]
}

/// Checks what a faulted poll got once an event for it arrived.
fn check_woken(name: &str, raw: &[u8], expected: &Value) {
    if name == "drop" {
        assert!(raw.is_empty(), "[{name}] closed without a response");
        return;
    }
    let r = parse(raw);
    assert_eq!(r.status, 200, "[{name}] {}", r.body);
    let v = r.json();
    let m = v["m"].as_array().cloned().unwrap_or_default();
    assert_eq!(m.len(), 2, "[{name}] the event, twice: {v}");
    assert_eq!(m[0], m[1], "[{name}] same event, same p.t");
    let mut d = m[0]["d"].clone();
    d.as_object_mut().map(|o| o.remove("timestamp"));
    assert_eq!(&d, expected, "[{name}]");
}

#[test]
fn a_faulted_poll_wakes_for_an_interval_event() {
    for (name, rule) in holding_rules() {
        // Holds of 10 s: a poll not woken by the event would only come back then.
        let (emu, cursor) = interval_mode(1000);
        emu.server
            .faults()
            .push(rule.operation(Operation::Subscribe));
        let (raw, took) = std::thread::scope(|s| {
            let waiter = s.spawn(|| timed_poll(&emu, &cursor));
            eventually("the poll is held", || emu.server.sizes().held_polls == 1);
            emu.advance_ms(20); // one presence interval: the sweep emits its event
            waiter.join().expect("poll thread")
        });
        assert!(
            took < Duration::from_secs(1),
            "[{name}] the interval event did not wake the poll (answered after {took:?})"
        );
        check_woken(
            name,
            &raw,
            &json!({"action": "interval", "occupancy": 2, "here_now_refresh": true}),
        );
        assert_eq!(emu.server.faults().pending(), 0, "[{name}]");
        // Nothing was lost: the next poll at the same cursor gets the event.
        let v = poll(&emu, "a-pnpres", "w", &cursor, "");
        assert_eq!(payloads(&v).len(), 1, "[{name}] {v}");
        assert_eq!(v["m"][0]["d"]["action"], "interval", "[{name}] {v}");
    }
}

#[test]
fn a_faulted_poll_wakes_for_a_join() {
    for (name, rule) in holding_rules() {
        let emu = fast(|b| b.subscribe_hold_secs(1000));
        let cursor = handshake(&emu, "a-pnpres", "w", "");
        emu.server
            .faults()
            .push(rule.operation(Operation::Subscribe));
        let (raw, took) = std::thread::scope(|s| {
            let waiter = s.spawn(|| timed_poll(&emu, &cursor));
            eventually("the poll is held", || emu.server.sizes().held_polls == 1);
            emu.hb("a", "late", "");
            waiter.join().expect("poll thread")
        });
        assert!(
            took < Duration::from_secs(1),
            "[{name}] the join did not wake the poll (answered after {took:?})"
        );
        check_woken(
            name,
            &raw,
            &json!({"action": "join", "uuid": "late", "occupancy": 1}),
        );
    }
}

#[test]
fn a_faulted_poll_is_never_held_past_the_configured_hold() {
    for (name, rule) in holding_rules() {
        // Holds of 300 ms (the default of 280 "seconds" would be 2.8 s).
        let (emu, cursor) = interval_mode(30);
        emu.server
            .faults()
            .push(rule.operation(Operation::Subscribe));
        let (raw, took) = timed_poll(&emu, &cursor);
        assert!(
            took >= Duration::from_millis(250),
            "[{name}] held for the configured hold, not less: {took:?}"
        );
        assert!(
            took < Duration::from_millis(1500),
            "[{name}] held past the configured 300 ms: {took:?}"
        );
        if name == "drop" {
            assert!(raw.is_empty(), "[{name}] closed without a response");
        } else {
            let r = parse(&raw);
            assert_eq!(r.status, 200, "[{name}] {}", r.body);
            assert_eq!(r.json()["m"], json!([]), "[{name}] nothing happened");
        }
        assert_eq!(emu.server.sizes().held_polls, 0, "[{name}]");
    }
}
