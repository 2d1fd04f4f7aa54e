//! here_now: both reply forms, state and uuid options, paging, groups, global, gzip.

use serde_json::json;

use crate::common::{CT, Emu, enc, p};

fn users(emu: &Emu, channel: &str, names: &[&str]) {
    for n in names {
        emu.hb(channel, n, "");
    }
}

#[test]
fn single_channel_forms() {
    let emu = Emu::new();
    users(&emu, "c", &["Kim", "Earline", "Glen"]);
    emu.get(&p(
        "/channel/c/uuid/Earline/data?uuid=Earline&state=%7B%22mood%22%3A%5B%22x%22%5D%7D",
    ));

    let r = emu.get(&p("/channel/c?uuid=me"));
    assert_eq!(r.header("content-type"), Some(CT));
    assert_eq!(
        r.body,
        r#"{"message":"OK","occupancy":3,"service":"Presence","status":200,"uuids":["Kim","Earline","Glen"]}"#
    );
    let r = emu.get(&p("/channel/c?uuid=me&state=1"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","occupancy":3,"service":"Presence","status":200,"uuids":[{"uuid":"Kim"},{"state":{"mood":["x"]},"uuid":"Earline"},{"uuid":"Glen"}]}"#
    );
    let expected_count_only = r#"{"message":"OK","occupancy":3,"service":"Presence","status":200}"#;
    assert_eq!(
        emu.get(&p("/channel/c?uuid=me&disable_uuids=1")).body,
        expected_count_only
    );
    assert_eq!(
        emu.get(&p("/channel/c?uuid=me&limit=0")).body,
        expected_count_only
    );
    assert_eq!(
        emu.get(&p("/channel/c?uuid=me&state=0&disable_uuids=0"))
            .json()["uuids"],
        json!(["Kim", "Earline", "Glen"])
    );
    assert_eq!(
        emu.get(&p("/channel/empty?uuid=me")).body,
        r#"{"message":"OK","occupancy":0,"service":"Presence","status":200,"uuids":[]}"#
    );
}

#[test]
fn payload_form_for_several_channels_groups_or_channel_plus_group() {
    let emu = Emu::new();
    users(&emu, "test-channel1", &["Kim"]);
    users(&emu, "test-channel2", &["Earline"]);
    let r = emu.get(&p(
        "/channel/test-channel1,test-channel2,nobody-here?uuid=me",
    ));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"test-channel1":{"occupancy":1,"uuids":["Kim"]},"test-channel2":{"occupancy":1,"uuids":["Earline"]}},"total_channels":2,"total_occupancy":2},"service":"Presence","status":200}"#
    );
    let r = emu.get(&p(
        "/channel/test-channel1,test-channel2?uuid=me&disable_uuids=1",
    ));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"test-channel1":{"occupancy":1},"test-channel2":{"occupancy":1}},"total_channels":2,"total_occupancy":2},"service":"Presence","status":200}"#
    );
    emu.get("/v1/channel-registration/sub-key/sk/channel-group/cg?add=test-channel2&uuid=me");
    // One channel plus a group: still the payload form.
    let r = emu.get(&p(
        "/channel/test-channel1?uuid=me&channel-group=cg&state=1",
    ));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"test-channel1":{"occupancy":1,"uuids":[{"uuid":"Kim"}]},"test-channel2":{"occupancy":1,"uuids":[{"uuid":"Earline"}]}},"total_channels":2,"total_occupancy":2},"service":"Presence","status":200}"#
    );
    let r = emu.get(&p("/channel/,?uuid=me&channel-group=cg"));
    assert_eq!(r.json()["payload"]["total_channels"], json!(1));
    // A group with no members, or nobody present: empty map, zero totals (HM5).
    let r = emu.get(&p("/channel/,?uuid=me&channel-group=no-such-group"));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{},"total_channels":0,"total_occupancy":0},"service":"Presence","status":200}"#
    );
}

#[test]
fn occupants_are_listed_in_join_order() {
    let emu = Emu::new();
    users(&emu, "c", &["b", "a", "c"]);
    emu.get(&p("/channel/c/leave?uuid=a"));
    users(&emu, "c", &["a", "b"]);
    assert_eq!(
        emu.get(&p("/channel/c?uuid=x")).json()["uuids"],
        json!(["b", "c", "a"])
    );
}

#[test]
fn limit_and_offset_page_each_channel() {
    let emu = Emu::new();
    users(&emu, "ch1", &["u1", "u2", "u3", "u4", "u5"]);
    users(&emu, "ch2", &["v1", "v2"]);
    let page = |offset: u32| {
        emu.get(&p(&format!(
            "/channel/ch1,ch2?uuid=x&limit=2&offset={offset}"
        )))
        .json()["payload"]
            .clone()
    };
    assert_eq!(
        page(0),
        json!({"channels": {"ch1": {"occupancy": 5, "uuids": ["u1", "u2"]},
                            "ch2": {"occupancy": 2, "uuids": ["v1", "v2"]}},
               "total_channels": 2, "total_occupancy": 7})
    );
    assert_eq!(
        page(2),
        json!({"channels": {"ch1": {"occupancy": 5, "uuids": ["u3", "u4"]}},
               "total_channels": 2, "total_occupancy": 7})
    );
    assert_eq!(
        page(4)["channels"],
        json!({"ch1": {"occupancy": 5, "uuids": ["u5"]}})
    );
    assert_eq!(page(6)["channels"], json!({}));
    let single = emu.get(&p("/channel/ch1?uuid=x&limit=3&offset=1"));
    assert_eq!(single.json()["uuids"], json!(["u2", "u3", "u4"]));
    assert_eq!(single.json()["occupancy"], json!(5));
    assert_eq!(
        emu.get(&p("/channel/ch1?uuid=x&limit=1000")).json()["occupancy"],
        json!(5)
    );
}

#[test]
fn limit_and_offset_out_of_range_answer_400_with_the_service_messages() {
    let emu = Emu::new();
    for (query, message) in [
        ("limit=1001", "Cannot return more than 1000 uuids at a time"),
        ("limit=-1", "Limit must be greater than or equal to 0"),
        ("limit=ten", "Limit must be an integer"),
        ("offset=-2", "Offset must be greater than or equal to 0"),
    ] {
        let r = emu.get(&p(&format!("/channel/c?uuid=x&{query}")));
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(
            r.body,
            format!(r#"{{"error":true,"message":"{message}","service":"Presence","status":400}}"#)
        );
    }
    let r = emu.get(&p("/channel/,?uuid=x"));
    assert_eq!(r.status, 400);
}

#[test]
fn global_here_now_lists_every_occupied_channel_of_the_key() {
    let emu = Emu::new();
    users(&emu, "b", &["u1"]);
    users(&emu, "a", &["u1", "u2"]);
    emu.get("/v2/presence/sub-key/other/channel/z/heartbeat?uuid=elsewhere");
    let r = emu.get("/v2/presence/sub-key/sk?uuid=x&state=1");
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"a":{"occupancy":2,"uuids":[{"uuid":"u1"},{"uuid":"u2"}]},"b":{"occupancy":1,"uuids":[{"uuid":"u1"}]}},"total_channels":2,"total_occupancy":3},"service":"Presence","status":200}"#
    );
    let r = emu.get("/v2/presence/sub-key/nothing?uuid=x");
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{},"total_channels":0,"total_occupancy":0},"service":"Presence","status":200}"#
    );
}

#[test]
fn large_bodies_are_gzipped_for_clients_that_accept_gzip() {
    let emu = Emu::new();
    let names: Vec<String> = (0..40)
        .map(|i| format!("user-with-a-long-name-{i:03}"))
        .collect();
    for n in &names {
        emu.hb("big", n, "");
    }
    let plain = emu.get(&p("/channel/big?uuid=x"));
    assert!(plain.body.len() > 1024);
    assert_eq!(plain.header("content-encoding"), None);
    let zipped = emu.get_h(
        &p("/channel/big?uuid=x"),
        &[("Accept-Encoding", "gzip, deflate")],
    );
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert!(zipped.wire_body.len() < plain.body.len());
    assert_eq!(zipped.body, plain.body);
    let small = emu.get_h(&p("/channel/none?uuid=x"), &[("Accept-Encoding", "gzip")]);
    assert_eq!(small.header("content-encoding"), None);
}

#[test]
fn non_ascii_names_are_escaped_like_the_live_service() {
    let emu = Emu::new();
    emu.hb(&enc("żółw"), &enc("José"), "");
    let r = emu.get(&p(&format!("/channel/{},x?uuid=me", enc("żółw"))));
    assert_eq!(
        r.body,
        r#"{"message":"OK","payload":{"channels":{"\u017c\u00f3\u0142w":{"occupancy":1,"uuids":["Jos\u00e9"]}},"total_channels":1,"total_occupancy":1},"service":"Presence","status":200}"#
    );
}
