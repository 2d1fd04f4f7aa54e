//! get_state and set_state: single and multi forms, groups, E400, validation.

use serde_json::json;

use crate::common::{Emu, enc, p};

fn set(emu: &Emu, channels: &str, uuid: &str, state: &str, extra: &str) -> crate::common::Resp {
    emu.get(&p(&format!(
        "/channel/{channels}/uuid/{uuid}/data?uuid={uuid}&state={}{extra}",
        enc(state)
    )))
}

#[test]
fn set_state_returns_the_stored_state_and_get_state_single_form() {
    let emu = Emu::new();
    emu.hb("ch", "Serhii", "");
    let r = set(
        &emu,
        "ch",
        "Serhii",
        r#"{"user-state":["users-random-value"]}"#,
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"user-state":["users-random-value"]},"service":"Presence","status":200}"#
    );
    let r = emu.get(&p("/channel/ch/uuid/Serhii?uuid=someone"));
    assert_eq!(
        r.body,
        r#"{"channel":"ch","message":"OK","payload":{"user-state":["users-random-value"]},"service":"Presence","status":200,"uuid":"Serhii"}"#
    );
    let r = emu.get(&p("/channel/other/uuid/Serhii?uuid=someone"));
    assert_eq!(
        r.body,
        r#"{"channel":"other","message":"OK","payload":{},"service":"Presence","status":200,"uuid":"Serhii"}"#
    );
}

#[test]
fn several_channels_share_one_state_and_get_state_multi_form() {
    let emu = Emu::new();
    let r = set(
        &emu,
        "test-channel1,test-channel2",
        "Serhii",
        r#"{"count":5,"name":"Alex"}"#,
        "",
    );
    assert_eq!(r.json()["payload"], json!({"count": 5, "name": "Alex"}));
    let r = emu.get(&p(
        "/channel/test-channel1,test-channel2,none/uuid/Serhii?uuid=Serhii",
    ));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"none":{},"test-channel1":{"count":5,"name":"Alex"},"test-channel2":{"count":5,"name":"Alex"}}},"service":"Presence","status":200,"uuid":"Serhii"}"#
    );
}

#[test]
fn state_through_a_group_and_the_empty_group_answer() {
    let emu = Emu::new();
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/cg?add=a,b&uuid=x");
    let r = set(&emu, ",", "u", r#"{"k":"v"}"#, "&channel-group=cg");
    assert_eq!(r.json()["payload"], json!({"k": "v"}));
    // Any group means the multi form, even when it holds one channel.
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/one?add=a&uuid=x");
    let r = emu.get(&p("/channel/,/uuid/u?uuid=u&channel-group=one"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"a":{"k":"v"}}},"service":"Presence","status":200,"uuid":"u"}"#
    );
    let e400 = r#"{"message":"No valid channels specified","service":"Presence","status":400}"#;
    let r = set(&emu, ",", "u", r#"{"k":"v"}"#, "&channel-group=missing");
    assert_eq!((r.status, r.body.as_str()), (200, e400));
    let r = emu.get(&p("/channel/,/uuid/u?uuid=u&channel-group=missing"));
    assert_eq!((r.status, r.body.as_str()), (200, e400));
}

#[test]
fn state_of_a_user_who_is_not_present_is_kept_for_the_default_timeout() {
    let emu = Emu::new();
    set(&emu, "c", "ghost", r#"{"a":1}"#, "");
    assert!(emu.server.occupants("sk", "c").is_empty());
    assert!(emu.where_now("ghost").is_empty());
    assert_eq!(
        emu.get(&p("/channel/c/uuid/ghost?uuid=x")).json()["payload"],
        json!({"a": 1})
    );
    emu.advance(299);
    assert_eq!(
        emu.get(&p("/channel/c/uuid/ghost?uuid=x")).json()["payload"],
        json!({"a": 1})
    );
    emu.advance(1);
    assert_eq!(
        emu.get(&p("/channel/c/uuid/ghost?uuid=x")).json()["payload"],
        json!({})
    );
    assert_eq!(emu.server.stats().timed_out, 0);
}

#[test]
fn an_empty_object_clears_state_and_the_path_uuid_is_the_target() {
    let emu = Emu::new();
    emu.hb("c", "bob", "");
    let r = emu.get(&p(&format!(
        "/channel/c/uuid/bob/data?uuid=admin&state={}",
        enc(r#"{"x":1}"#)
    )));
    assert_eq!(r.status, 200);
    assert_eq!(
        emu.get(&p("/channel/c?uuid=x&state=1")).json()["uuids"],
        json!([{"uuid": "bob", "state": {"x": 1}}])
    );
    set(&emu, "c", "bob", "{}", "");
    assert_eq!(
        emu.get(&p("/channel/c?uuid=x&state=1")).json()["uuids"],
        json!([{"uuid": "bob"}])
    );
}

#[test]
fn python_style_spaced_state_with_plus_signs_is_accepted() {
    let emu = Emu::new();
    // The Python SDK 4.x sent `state=%7B%22count%22%3A+5%2C+%22name%22%3A+%22Alex%22%7D`.
    let r = emu.get(&p(
        "/channel/c/uuid/u/data?uuid=u&state=%7B%22count%22%3A+5%2C+%22name%22%3A+%22Alex%22%7D",
    ));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"count":5,"name":"Alex"},"service":"Presence","status":200}"#
    );
}

#[test]
fn invalid_state_is_refused_with_400() {
    let emu = Emu::new();
    let cases = [
        (p("/channel/c/uuid/u/data?uuid=u"), "Missing state"),
        (
            p("/channel/c/uuid/u/data?uuid=u&state=%7Bbroken"),
            "Invalid JSON in state",
        ),
        (
            p("/channel/c/uuid/u/data?uuid=u&state=42"),
            "State must be a JSON object",
        ),
        (
            p("/channel/c/uuid/u/data?uuid=u&state=%22s%22"),
            "State must be a JSON object",
        ),
        (
            p(&format!(
                "/channel/c/uuid/u/data?uuid=u&state={}",
                enc(&format!(r#"{{"k":"{}"}}"#, "x".repeat(17 * 1024)))
            )),
            "State is larger than 16384 bytes",
        ),
    ];
    for (path, message) in cases {
        let r = emu.get(&path);
        assert_eq!(r.status, 400, "{message}");
        assert_eq!(
            r.body,
            format!(r#"{{"error":true,"message":"{message}","service":"Presence","status":400}}"#)
        );
    }
    assert_eq!(
        emu.get(&p("/channel/c/uuid/u?uuid=u")).json()["payload"],
        json!({})
    );
}
