//! Channel registration: add, list, remove, delete, list all, limits.

use crate::common::{Emu, enc};

const ACK: &str = r#"{"error":false,"message":"OK","service":"channel-registry","status":200}"#;

fn cg(rest: &str) -> String {
    format!("/v1/channel-registration/sub-key/sk/channel-group/{rest}")
}

#[test]
fn add_list_remove_delete() {
    let emu = Emu::new();
    let r = emu.get(&cg("cg1?add=ch2,ch1&uuid=u"));
    assert_eq!((r.status, r.body.as_str()), (200, ACK));
    let r = emu.get(&cg("cg1?uuid=u"));
    assert_eq!(
        r.body,
        r#"{"error":false,"payload":{"channels":["ch1","ch2"],"group":"cg1"},"service":"channel-registry","status":200}"#
    );
    assert_eq!(emu.get(&cg("cg1?remove=ch1&uuid=u")).body, ACK);
    assert_eq!(
        emu.get(&cg("cg1?uuid=u")).json()["payload"]["channels"],
        serde_json::json!(["ch2"])
    );
    assert_eq!(emu.get(&cg("cg1/remove?uuid=u")).body, ACK);
    assert_eq!(
        emu.get(&cg("cg1?uuid=u")).body,
        r#"{"error":false,"payload":{"channels":[],"group":"cg1"},"service":"channel-registry","status":200}"#
    );
    // The underscore spelling works here too.
    let r = emu.get("/v1/channel-registration/sub_key/sk/channel-group/cg2?add=x&uuid=u");
    assert_eq!(r.body, ACK);
}

#[test]
fn channel_lists_are_decoded_then_split_and_names_keep_reserved_characters() {
    let emu = Emu::new();
    assert_eq!(
        emu.get(&cg(&format!("g?add={}&uuid=u", enc("a,b")))).body,
        ACK
    );
    assert_eq!(
        emu.get(&cg(&format!(
            "g?add={},{}&uuid=u",
            enc("x&y"),
            enc("room 1")
        )))
        .body,
        ACK
    );
    assert_eq!(
        emu.get(&cg("g?uuid=u")).json()["payload"]["channels"],
        serde_json::json!(["a", "b", "room 1", "x&y"])
    );
    let name = "odd group/?#";
    assert_eq!(
        emu.get(&cg(&format!("{}?add=c&uuid=u", enc(name)))).body,
        ACK
    );
    assert_eq!(
        emu.get(&cg(&format!("{}?uuid=u", enc(name)))).json()["payload"]["group"],
        serde_json::json!(name)
    );
}

#[test]
fn list_every_group_of_the_key() {
    let emu = Emu::new();
    emu.get(&cg("b?add=c&uuid=u"));
    emu.get(&cg("a?add=c&uuid=u"));
    let r = emu.get("/v1/channel-registration/sub-key/sk/channel-group?uuid=u");
    assert_eq!(
        r.body,
        r#"{"error":false,"payload":{"groups":["a","b"],"sub_key":"sk"},"service":"channel-registry","status":200}"#
    );
}

#[test]
fn errors_use_the_channel_registry_shape() {
    let emu = Emu::new();
    let r = emu.get(&cg("g?add=&uuid=u"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"No channels given in `add`","service":"channel-registry","status":400}"#
    );
    let r = emu.get(&cg("g%ZZ?uuid=u"));
    assert_eq!(
        r.body,
        r#"{"error":true,"message":"Invalid percent-encoding in channel group","service":"channel-registry","status":400}"#
    );
    let r = emu.get(&cg("g?add=a"));
    assert_eq!(r.json()["message"], "Missing uuid");
    let first: Vec<String> = (0..1500).map(|i| format!("c{i}")).collect();
    assert_eq!(
        emu.get(&cg(&format!("g?add={}&uuid=u", first.join(","))))
            .body,
        ACK
    );
    let more: Vec<String> = (1500..2001).map(|i| format!("c{i}")).collect();
    let r = emu.get(&cg(&format!("g?add={}&uuid=u", more.join(","))));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Channel group would exceed the maximum of 2000 channels"
    );
    assert_eq!(
        emu.get(&cg("g?uuid=u")).json()["payload"]["channels"]
            .as_array()
            .map(Vec::len),
        Some(1500)
    );
}
