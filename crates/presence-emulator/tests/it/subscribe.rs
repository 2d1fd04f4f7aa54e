//! The subscribe long-poll with `-pnpres` presence events (§12 of the protocol spec).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use presence_emulator::{AccessManager, EmulatorBuilder, KeysetOptions, Permissions};
use serde_json::{Value, json};

use crate::common::{CT, Emu, eventually, p};

/// An emulator whose "seconds" last 10 ms of the manual clock and whose holds last 300 ms
/// of real time; the server's timer ticks every 10 ms.
pub(crate) fn fast(configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> Emu {
    Emu::with(|b| {
        configure(
            b.timeout_unit(Duration::from_millis(10))
                .subscribe_hold_secs(30)
                .sweep_interval(Duration::from_millis(10)),
        )
    })
}

/// `GET /v2/subscribe/sk/{channels}/0?uuid={uuid}&{query}`, expecting 200; the JSON.
pub(crate) fn sub(emu: &Emu, channels: &str, uuid: &str, query: &str) -> Value {
    let r = emu.get(&format!(
        "/v2/subscribe/sk/{channels}/0?uuid={uuid}&{query}"
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(CT));
    assert_compact(&r.body);
    r.json()
}

/// The handshake: the cursor (`t.t`).
pub(crate) fn handshake(emu: &Emu, channels: &str, uuid: &str, query: &str) -> String {
    let v = sub(emu, channels, uuid, &format!("tt=0&{query}"));
    assert_eq!(v["m"], json!([]), "handshake delivers nothing");
    tt_of(&v)
}

/// A long-poll from `cursor`: the reply.
pub(crate) fn poll(emu: &Emu, channels: &str, uuid: &str, cursor: &str, query: &str) -> Value {
    sub(emu, channels, uuid, &format!("tt={cursor}&tr=12&{query}"))
}

/// The cursor of a reply, checked to be a 17-digit string.
pub(crate) fn tt_of(v: &Value) -> String {
    let tt = v["t"]["t"].as_str().expect("t.t is a string").to_owned();
    assert_eq!(tt.len(), 17, "{tt}");
    assert!(tt.bytes().all(|b| b.is_ascii_digit()), "{tt}");
    assert!(v["t"]["r"].is_u64(), "{v}");
    tt
}

/// The payloads (`d`) of a reply's envelopes.
pub(crate) fn payloads(v: &Value) -> Vec<Value> {
    v["m"]
        .as_array()
        .expect("m is an array")
        .iter()
        .map(|e| e["d"].clone())
        .collect()
}

/// `d` without the timestamp (which follows the clock).
fn strip(mut d: Value) -> Value {
    assert!(d["timestamp"].is_u64(), "{d}");
    if let Some(m) = d.as_object_mut() {
        m.remove("timestamp");
    }
    d
}

fn events(v: &Value) -> Vec<Value> {
    payloads(v).into_iter().map(strip).collect()
}

/// No whitespace outside strings.
pub(crate) fn assert_compact(body: &str) {
    let mut in_str = false;
    let mut escaped = false;
    for c in body.chars() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        } else {
            assert!(!c.is_whitespace(), "not compact: {body}");
        }
    }
}

#[test]
fn handshake_answers_at_once_with_a_string_timetoken() {
    let emu = fast(|b| b);
    let r = emu.get("/v2/subscribe/sk/lobby-pnpres/0?uuid=w&tt=0");
    assert_eq!(r.status, 200);
    let cursor = tt_of(&r.json());
    assert_eq!(
        r.body,
        format!(r#"{{"t":{{"t":"{cursor}","r":12}},"m":[]}}"#)
    );
    // An absent `tt` is a handshake too (JS, Go).
    let v = sub(&emu, "lobby-pnpres", "w", "");
    assert_eq!(v["m"], json!([]));
    assert!(tt_of(&v) >= cursor);
}

#[test]
fn subscriber_receives_its_own_join_then_repeats_are_silent() {
    let emu = fast(|b| b);
    let cursor = handshake(&emu, "lobby,lobby-pnpres", "alice", "heartbeat=60");
    assert_eq!(emu.server.occupants("sk", "lobby"), ["alice"]);
    let v = poll(&emu, "lobby,lobby-pnpres", "alice", &cursor, "heartbeat=60");
    let m = &v["m"][0];
    assert_eq!(m["c"], "lobby-pnpres");
    assert_eq!(m["b"], "lobby-pnpres");
    assert_eq!(m["k"], "sk");
    assert_eq!(m["f"], 0);
    let pt = m["p"]["t"].as_str().expect("p.t string");
    assert!(
        pt > cursor.as_str(),
        "own join stamped after the handshake cursor"
    );
    assert_eq!(
        events(&v),
        [json!({"action": "join", "uuid": "alice", "occupancy": 1})]
    );
    // A repeat subscribe produces no second join: the poll runs to its hold time.
    let next = tt_of(&v);
    let v = poll(&emu, "lobby,lobby-pnpres", "alice", &next, "heartbeat=60");
    assert_eq!(v["m"], json!([]));
    assert!(tt_of(&v) >= next);
}

#[test]
fn a_heartbeat_just_before_the_handshake_still_delivers_the_own_join() {
    let emu = fast(|b| b);
    // The JS SDK sends its first heartbeat beside its handshake, sometimes first.
    emu.hb("lobby", "alice", "");
    let cursor = handshake(&emu, "lobby,lobby-pnpres", "alice", "");
    let v = poll(&emu, "lobby,lobby-pnpres", "alice", &cursor, "");
    assert_eq!(
        events(&v),
        [json!({"action": "join", "uuid": "alice", "occupancy": 1})]
    );
    // Long after (2 s of timeout units), a new handshake does not replay it.
    emu.advance(1);
    let cursor = handshake(&emu, "lobby,lobby-pnpres", "alice", "");
    let v = poll(&emu, "lobby,lobby-pnpres", "alice", &cursor, "");
    assert_eq!(v["m"], json!([]));
}

#[test]
fn join_leave_timeout_and_state_change() {
    let emu = fast(|b| b);
    let w = "lobby-pnpres";
    let mut cursor = handshake(&emu, w, "watcher", "");
    let mut next = |emu: &Emu| {
        let v = poll(emu, w, "watcher", &cursor, "");
        cursor = tt_of(&v);
        events(&v)
    };
    emu.hb("lobby", "bob", "&heartbeat=60");
    emu.hb("lobby", "bob", "&heartbeat=60");
    assert_eq!(
        next(&emu),
        [json!({"action": "join", "uuid": "bob", "occupancy": 1})]
    );
    emu.get(&p(
        "/channel/lobby/uuid/bob/data?uuid=bob&state=%7B%22mood%22%3A%22ok%22%7D",
    ));
    // The same state by heartbeat changes nothing; a new one is announced.
    emu.hb(
        "lobby",
        "bob",
        "&heartbeat=60&state=%7B%22lobby%22%3A%7B%22mood%22%3A%22ok%22%7D%7D",
    );
    emu.hb(
        "lobby",
        "bob",
        "&heartbeat=60&state=%7B%22lobby%22%3A%7B%22mood%22%3A%22away%22%7D%7D",
    );
    assert_eq!(
        next(&emu),
        [
            json!({"action": "state-change", "uuid": "bob", "occupancy": 1, "data": {"mood": "ok"}}),
            json!({"action": "state-change", "uuid": "bob", "occupancy": 1, "data": {"mood": "away"}}),
        ]
    );
    emu.hb("lobby", "carol", "&heartbeat=10");
    emu.get(&p("/channel/lobby/leave?uuid=bob"));
    emu.get(&p("/channel/lobby/leave?uuid=bob"));
    emu.get(&p("/channel/lobby/leave?uuid=nobody"));
    assert_eq!(
        next(&emu),
        [
            json!({"action": "join", "uuid": "carol", "occupancy": 2}),
            json!({"action": "leave", "uuid": "bob", "occupancy": 1}),
        ]
    );
    // Carol's 10 s pass on the clock; no request arrives: the server's timer sweeps.
    emu.advance(1);
    assert_eq!(
        next(&emu),
        [json!({"action": "timeout", "uuid": "carol", "occupancy": 0})]
    );
    // The observer was never present.
    assert!(emu.where_now("watcher").is_empty());
}

#[test]
fn observer_is_present_nowhere_and_subscribers_are_kept_present() {
    let emu = fast(|b| b);
    handshake(&emu, "a-pnpres,b-pnpres", "obs", "");
    assert!(emu.where_now("obs").is_empty());
    assert_eq!(emu.server.stats().present, 0);
    // A subscriber with state: present with it, like a heartbeat.
    handshake(
        &emu,
        "a,a-pnpres",
        "sam",
        "heartbeat=20&state=%7B%22a%22%3A%7B%22x%22%3A1%7D%7D",
    );
    assert_eq!(emu.where_now("sam"), ["a"]);
    let r = emu.get(&p("/channel/a/uuid/sam?uuid=sam"));
    assert_eq!(r.json()["payload"], json!({"x": 1}));
    // Every subscribe request refreshes presence; without it the user times out.
    emu.advance_ms(150);
    sub(&emu, "a,a-pnpres", "sam", "tt=0&heartbeat=20");
    emu.advance_ms(150);
    assert_eq!(emu.where_now("sam"), ["a"]);
    emu.advance_ms(60);
    assert!(emu.where_now("sam").is_empty());
}

#[test]
fn group_subscribers_get_member_events_with_the_group_in_b() {
    let emu = fast(|b| b);
    let r = emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?add=a,b&uuid=admin");
    assert_eq!(r.status, 200);
    let q = "channel-group=g-pnpres";
    let cursor = handshake(&emu, ",", "w", q);
    emu.hb("b", "u1", "");
    emu.hb("other", "u2", "");
    let v = poll(&emu, ",", "w", &cursor, q);
    assert_eq!(v["m"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["m"][0]["c"], "b-pnpres");
    assert_eq!(v["m"][0]["b"], "g-pnpres");
    assert_eq!(
        events(&v),
        [json!({"action": "join", "uuid": "u1", "occupancy": 1})]
    );
    // Subscribing to the plain group makes the caller present on its channels.
    let cursor = tt_of(&v);
    handshake(&emu, ",", "u3", "channel-group=g");
    assert_eq!(emu.where_now("u3"), ["a", "b"]);
    let v = poll(&emu, ",", "w", &cursor, q);
    let got: Vec<(Value, Value)> = v["m"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["c"].clone(), m["d"]["uuid"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("a-pnpres"), json!("u3")),
            (json!("b-pnpres"), json!("u3"))
        ]
    );
}

#[test]
fn keys_and_channels_are_isolated_and_idle_polls_expire() {
    let emu = fast(|b| b);
    let cursor = handshake(&emu, "a-pnpres", "w", "");
    emu.hb("b", "u", "");
    let r = emu.get("/v2/presence/sub-key/other/channel/a/heartbeat?uuid=u");
    assert_eq!(r.status, 200);
    let v = poll(&emu, "a-pnpres", "w", &cursor, "");
    assert_eq!(
        v["m"],
        json!([]),
        "hold expired with nothing for this subscriber"
    );
    assert!(tt_of(&v) >= cursor);
}

#[test]
fn a_held_poll_wakes_when_the_event_happens() {
    let emu = fast(|b| b.subscribe_hold_secs(1000));
    let cursor = handshake(&emu, "a-pnpres", "w", "");
    std::thread::scope(|s| {
        let waiter = s.spawn(|| poll(&emu, "a-pnpres", "w", &cursor, ""));
        eventually("the poll is held", || emu.server.sizes().held_polls == 1);
        emu.hb("a", "late", "");
        let v = waiter.join().expect("poll thread");
        assert_eq!(
            events(&v),
            [json!({"action": "join", "uuid": "late", "occupancy": 1})]
        );
    });
    assert_eq!(emu.server.sizes().held_polls, 0);
}

#[test]
fn closing_the_connection_releases_the_poll() {
    let emu = fast(|b| b.subscribe_hold_secs(100_000));
    let cursor = handshake(&emu, "a-pnpres", "w", "");
    let mut s = TcpStream::connect(emu.addr()).expect("connect");
    write!(
        s,
        "GET /v2/subscribe/sk/a-pnpres/0?uuid=w&tt={cursor} HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .expect("write");
    eventually("the poll is held", || emu.server.sizes().held_polls == 1);
    drop(s);
    eventually("the poll is released", || {
        emu.server.sizes().held_polls == 0
    });
}

#[test]
fn interval_mode_with_deltas() {
    let emu = fast(|b| b.announce_max(2).presence_interval(2).presence_deltas(true));
    let mut cursor = handshake(&emu, "room-pnpres", "w", "");
    for u in ["u1", "u2", "u3"] {
        emu.hb("room", u, "&heartbeat=100");
    }
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    cursor = tt_of(&v);
    assert_eq!(
        events(&v),
        [
            json!({"action": "join", "uuid": "u1", "occupancy": 1}),
            json!({"action": "join", "uuid": "u2", "occupancy": 2}),
        ],
        "the third join is above announce max"
    );
    emu.advance_ms(20); // one presence interval
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    cursor = tt_of(&v);
    assert_eq!(
        events(&v),
        [json!({"action": "interval", "occupancy": 3, "join": ["u3"]})]
    );
    // Nothing changed: the next interval carries only the occupancy.
    emu.hb("room", "u4", "&heartbeat=100");
    emu.get(&p("/channel/room/leave?uuid=u4"));
    emu.advance_ms(20);
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    cursor = tt_of(&v);
    assert_eq!(
        events(&v),
        [json!({"action": "interval", "occupancy": 3, "join": ["u4"], "leave": ["u4"]})]
    );
    emu.advance_ms(20);
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    cursor = tt_of(&v);
    assert_eq!(events(&v), [json!({"action": "interval", "occupancy": 3})]);
    // Back at announce max: single events resume.
    emu.get(&p("/channel/room/leave?uuid=u1"));
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    assert_eq!(
        events(&v),
        [json!({"action": "leave", "uuid": "u1", "occupancy": 2})]
    );
}

#[test]
fn interval_mode_without_deltas_and_here_now_refresh() {
    let emu = fast(|b| b.announce_max(1).presence_interval(2));
    let cursor = handshake(&emu, "room-pnpres", "w", "");
    emu.hb("room", "u1", "");
    emu.hb("room", "u2", "");
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    assert_eq!(
        events(&v),
        [json!({"action": "join", "uuid": "u1", "occupancy": 1})]
    );
    emu.advance_ms(20);
    let v = poll(&emu, "room-pnpres", "w", &tt_of(&v), "");
    assert_eq!(events(&v), [json!({"action": "interval", "occupancy": 2})]);

    let emu = fast(|b| {
        b.announce_max(1)
            .presence_interval(2)
            .presence_deltas(true)
            .here_now_refresh_bytes(80)
    });
    let cursor = handshake(&emu, "room-pnpres", "w", "");
    for u in ["u1", "a-rather-long-user-id-2", "a-rather-long-user-id-3"] {
        emu.hb("room", u, "");
    }
    let v = poll(&emu, "room-pnpres", "w", &cursor, "");
    assert_eq!(events(&v).len(), 1, "{v}");
    emu.advance_ms(20);
    let v = poll(&emu, "room-pnpres", "w", &tt_of(&v), "");
    assert_eq!(
        events(&v)[0],
        json!({"action": "interval", "occupancy": 3, "here_now_refresh": true})
    );
}

#[test]
fn the_event_buffer_is_bounded() {
    let emu = fast(|b| b.event_buffer(5));
    let cursor = handshake(&emu, "a-pnpres", "w", "");
    for i in 0..10 {
        emu.hb("a", &format!("u{i}"), "");
    }
    assert_eq!(emu.server.sizes().buffered_events, 5);
    // A cursor older than the buffer gets what is left, not an error.
    let v = poll(&emu, "a-pnpres", "w", &cursor, "");
    let uuids: Vec<Value> = payloads(&v).iter().map(|d| d["uuid"].clone()).collect();
    assert_eq!(
        uuids,
        [
            json!("u5"),
            json!("u6"),
            json!("u7"),
            json!("u8"),
            json!("u9")
        ]
    );
}

#[test]
fn access_manager_signatures_and_disabled_presence() {
    let am = AccessManager::new()
        .grant_channel("tok", "a", Permissions::READ)
        .grant_channel("tok", "b", Permissions::READ)
        .grant_channel("tok", "b-pnpres", Permissions::READ);
    let emu = fast(|b| b.keyset("sk", KeysetOptions::new().access_manager(am)));
    let r = emu.get("/v2/subscribe/sk/a,a-pnpres/0?uuid=u&tt=0&auth=tok");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        "{\"error\":true,\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"a-pnpres\"]},\"service\":\"Access Manager\",\"status\":403}\n"
    );
    assert!(
        emu.where_now("u").is_empty(),
        "a refused subscribe joins nothing"
    );
    let r = emu.get("/v2/subscribe/sk/b,b-pnpres/0?uuid=u&tt=0&auth=tok");
    assert_eq!(r.status, 200, "{}", r.body);

    let emu = fast(|b| b.keyset("sk", KeysetOptions::new().secret_key("s")));
    let r = emu.get("/v2/subscribe/sk/a/0?uuid=u&tt=0");
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Signature does not match"), "{}", r.body);

    // Presence disabled: subscribe works, no presence, no events.
    let emu = fast(|b| b.keyset("sk", KeysetOptions::new().presence_enabled(false)));
    let cursor = handshake(&emu, "a,a-pnpres", "u", "");
    assert_eq!(emu.server.stats().present, 0);
    let v = poll(&emu, "a,a-pnpres", "u", &cursor, "");
    assert_eq!(v["m"], json!([]));
}

#[test]
fn bad_requests() {
    let emu = fast(|b| b);
    for (path, message) in [
        ("/v2/subscribe/sk/a/0?tt=0", "Missing uuid"),
        ("/v2/subscribe/sk/a/0?uuid=u&tt=abc", "Invalid timetoken"),
        (
            "/v2/subscribe/sk/,/0?uuid=u",
            "No channels or channel groups specified",
        ),
        (
            "/v2/subscribe/sk/a/0?uuid=u&state=%5B%5D",
            "State must be a JSON object",
        ),
    ] {
        let r = emu.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.json()["message"], message, "{path}");
    }
    // filter-expr and unknown parameters are accepted.
    let r = emu.get("/v2/subscribe/sk/a-pnpres/0?uuid=u&tt=0&filter-expr=a%3D%3D1&pnsdk=x&ee");
    assert_eq!(r.status, 200);
}

/// A raw request on a fresh connection, read until close or `limit` bytes.
pub(crate) fn raw_poll(emu: &Emu, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(emu.addr()).expect("connect");
    s.set_read_timeout(Some(crate::common::READ_TIMEOUT))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}
