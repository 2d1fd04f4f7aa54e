//! Joining by heartbeat, expiry, leave, state lifetime, where_now, namespaces.

use std::time::Duration;

use crate::common::{ACK, CT, Emu, LEAVE_ACK, p};

#[test]
fn heartbeat_joins_and_acks_with_the_live_shape() {
    let emu = Emu::new();
    let r = emu.get(&p(
        "/channel/lobby/heartbeat?uuid=alice&heartbeat=60&pnsdk=x%2F1",
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, ACK);
    assert_eq!(r.header("content-type"), Some(CT));
    assert_eq!(r.header("server"), Some("Pubnub Presence"));
    assert_eq!(emu.where_now("alice"), ["lobby"]);
    assert_eq!(emu.server.occupants("sk", "lobby"), ["alice"]);
    assert_eq!(emu.server.stats().present, 1);
}

#[test]
fn presence_expires_exactly_at_last_heartbeat_plus_timeout() {
    let emu = Emu::new();
    emu.hb("lobby", "alice", "&heartbeat=60");
    emu.advance_ms(59_999);
    assert_eq!(emu.where_now("alice"), ["lobby"]);
    emu.advance_ms(1);
    assert!(emu.where_now("alice").is_empty());
    let r = emu.get(&p("/channel/lobby?uuid=x"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","occupancy":0,"service":"Presence","status":200,"uuids":[]}"#
    );
    let stats = emu.server.stats();
    assert_eq!((stats.present, stats.timed_out, stats.left), (0, 1, 0));
}

#[test]
fn another_heartbeat_extends_the_deadline() {
    let emu = Emu::new();
    emu.hb("lobby", "alice", "&heartbeat=60");
    emu.advance(50);
    emu.hb("lobby", "alice", "&heartbeat=60");
    emu.advance(50);
    assert_eq!(emu.where_now("alice"), ["lobby"]);
    emu.advance(10);
    assert!(emu.where_now("alice").is_empty());
}

#[test]
fn missing_empty_zero_or_invalid_heartbeat_means_300_seconds() {
    let emu = Emu::new();
    let variants = [
        "",
        "&heartbeat=",
        "&heartbeat=0",
        "&heartbeat=abc",
        "&heartbeat=-5",
    ];
    for (i, v) in variants.iter().enumerate() {
        emu.hb("lobby", &format!("u{i}"), v);
    }
    emu.advance(299);
    assert_eq!(emu.server.occupants("sk", "lobby").len(), variants.len());
    emu.advance(1);
    assert!(emu.server.occupants("sk", "lobby").is_empty());
}

#[test]
fn timeout_bounds_clamp_heartbeat_values() {
    let emu = Emu::with(|b| b.presence_timeout_bounds(20, 100));
    emu.hb("a", "low", "&heartbeat=5");
    emu.hb("a", "high", "&heartbeat=1000");
    emu.advance(19);
    assert_eq!(emu.server.occupants("sk", "a"), ["low", "high"]);
    emu.advance(1);
    assert_eq!(emu.server.occupants("sk", "a"), ["high"]);
    emu.advance(80);
    assert!(emu.server.occupants("sk", "a").is_empty());
}

#[test]
fn timeout_unit_scales_heartbeat_seconds() {
    let emu = Emu::with(|b| b.timeout_unit(Duration::from_millis(50)));
    emu.hb("a", "u", "&heartbeat=20");
    emu.advance_ms(999);
    assert_eq!(emu.where_now("u"), ["a"]);
    emu.advance_ms(1);
    assert!(emu.where_now("u").is_empty());
}

#[test]
fn leave_removes_at_once_and_deletes_state() {
    let emu = Emu::new();
    emu.hb(
        "a,b",
        "alice",
        "&state=%7B%22a%22%3A%7B%22mood%22%3A%22ok%22%7D%7D",
    );
    let r = emu.get(&p("/channel/a/uuid/alice?uuid=alice"));
    assert_eq!(r.json()["payload"], serde_json::json!({"mood": "ok"}));
    let r = emu.get(&p("/channel/a/leave?uuid=alice"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, LEAVE_ACK);
    assert_eq!(emu.where_now("alice"), ["b"]);
    let r = emu.get(&p("/channel/a/uuid/alice?uuid=alice"));
    assert_eq!(
        r.body,
        r#"{"channel":"a","message":"OK","payload":{},"service":"Presence","status":200,"uuid":"alice"}"#
    );
    assert_eq!(emu.server.stats().left, 1);
}

#[test]
fn expiry_deletes_state() {
    let emu = Emu::new();
    emu.hb(
        "a",
        "alice",
        "&heartbeat=10&state=%7B%22a%22%3A%7B%22k%22%3A1%7D%7D",
    );
    assert_eq!(
        emu.get(&p("/channel/a/uuid/alice?uuid=x")).json()["payload"],
        serde_json::json!({"k": 1})
    );
    emu.advance(10);
    assert_eq!(
        emu.get(&p("/channel/a/uuid/alice?uuid=x")).json()["payload"],
        serde_json::json!({})
    );
}

#[test]
fn heartbeat_state_keyed_by_group_applies_to_its_channels_and_channel_keys_win() {
    let emu = Emu::new();
    let r = emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?add=c1,c2&uuid=admin");
    assert_eq!(r.status, 200);
    let state = r#"{"g":{"from":"group"},"c2":{"from":"channel"},"unrelated":{"x":1}}"#;
    emu.hb(
        ",",
        "u",
        &format!("&channel-group=g&state={}", crate::common::enc(state)),
    );
    assert_eq!(emu.where_now("u"), ["c1", "c2"]);
    let r = emu.get(&p("/channel/c1,c2/uuid/u?uuid=u"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"c1":{"from":"group"},"c2":{"from":"channel"}}},"service":"Presence","status":200,"uuid":"u"}"#
    );
    // A later heartbeat without state keeps it; one with `{}` for a channel clears it.
    emu.hb("c1", "u", "");
    emu.hb(
        "c2",
        "u",
        &format!("&state={}", crate::common::enc(r#"{"c2":{}}"#)),
    );
    let r = emu.get(&p("/channel/c1,c2/uuid/u?uuid=u"));
    assert_eq!(
        r.json()["payload"]["channels"],
        serde_json::json!({"c1": {"from": "group"}, "c2": {}})
    );
}

#[test]
fn heartbeat_rejects_bad_state_and_missing_targets() {
    let emu = Emu::new();
    let bad = [
        (
            p("/channel/a/heartbeat?uuid=u&state=%7Bnope"),
            "Invalid JSON in state",
        ),
        (
            p("/channel/a/heartbeat?uuid=u&state=%5B1%5D"),
            "State must be a JSON object",
        ),
        (
            p("/channel/a/heartbeat?uuid=u&state=%7B%22a%22%3A5%7D"),
            "State for `a` must be a JSON object",
        ),
        (
            p("/channel/,/heartbeat?uuid=u"),
            "No channels or channel groups specified",
        ),
        (p("/channel/a/heartbeat"), "Missing uuid"),
        (p("/channel/a/heartbeat?uuid="), "Missing uuid"),
    ];
    for (path, message) in bad {
        let r = emu.get(&path);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(
            r.body,
            format!(r#"{{"error":true,"message":"{message}","service":"Presence","status":400}}"#),
            "{path}"
        );
    }
    assert_eq!(emu.server.stats().present, 0);
}

#[test]
fn where_now_lists_sorted_channels_and_unknown_users_get_an_empty_list() {
    let emu = Emu::new();
    emu.hb("zeta,alpha,mid", "u", "");
    let r = emu.get(&p("/uuid/u?uuid=someone-else"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":["alpha","mid","zeta"]},"service":"Presence","status":200}"#
    );
    let r = emu.get(&p("/uuid/nobody?uuid=x"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":[]},"service":"Presence","status":200}"#
    );
}

#[test]
fn each_subscribe_key_is_its_own_namespace_and_sub_key_spelling_is_accepted() {
    let emu = Emu::new();
    let r = emu.get("/v2/presence/sub_key/one/channel/c/heartbeat?uuid=u");
    assert_eq!(r.body, ACK);
    assert_eq!(emu.server.occupants("one", "c"), ["u"]);
    assert!(emu.server.occupants("two", "c").is_empty());
    let r = emu.get("/v2/presence/sub-key/two/uuid/u?uuid=u");
    assert_eq!(r.json()["payload"]["channels"], serde_json::json!([]));
    let r = emu.get("/v2/presence/sub_key/one/channel/c/leave?uuid=u");
    assert_eq!(r.body, LEAVE_ACK);
    assert!(emu.server.occupants("one", "c").is_empty());
}

#[test]
fn leave_via_group_and_tolerated_empty_group_list() {
    let emu = Emu::new();
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/g?add=c1,c2&uuid=a");
    emu.hb("c3", "u", "&channel-group=g");
    assert_eq!(emu.where_now("u"), ["c1", "c2", "c3"]);
    // Kotlin sends `channel-group=,` on a channel-only leave.
    let r = emu.get(&p("/channel/c3/leave?uuid=u&channel-group=,"));
    assert_eq!(r.body, LEAVE_ACK);
    let r = emu.get(&p("/channel/,/leave?uuid=u&channel-group=g"));
    assert_eq!(r.body, LEAVE_ACK);
    assert!(emu.where_now("u").is_empty());
}
