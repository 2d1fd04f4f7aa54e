//! The exact request of every operation and option: method, path, full sorted query string
//! (hand-written), headers. Query keys sort bytewise: `add < auth < channel-group <
//! disable_uuids < heartbeat < limit < offset < pnsdk < remove < requestid < state < timestamp <
//! uuid`, then `signature` is appended last.

use presence_proto::{
    AddChannelsToGroup, Config, DeleteGroup, GetState, Heartbeat, HereNow, Leave,
    ListGroupChannels, Operation, RemoveChannelsFromGroup, SetState, Stamp, WhereNow, sign_v2,
};
use serde_json::json;

use crate::common::{ORIGIN, TS, assert_request, assert_request_at, build, config};

const ODD: &str = "odd ch/?#&%+ ü";
const ODD_ENC: &str = "odd%20ch%2F%3F%23%26%25%2B%20%C3%BC";

// ---------------------------------------------------------------------------------------------
// here_now

#[test]
fn here_now_one_channel() {
    let req = build(&HereNow::new().channels(["lobby"]));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn here_now_channels_sorted_and_deduplicated_joined_by_literal_comma() {
    let req = build(&HereNow::new().channels(["b", "a", "c"]).channels(["a"]));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/a,b,c",
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn here_now_groups_only_uses_comma_segment() {
    let req = build(&HereNow::new().groups(["g2", "g1"]));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/,",
        "channel-group=g1%2Cg2&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn here_now_channels_and_groups() {
    let req = build(&HereNow::new().channels(["lobby"]).groups(["team"]));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "channel-group=team&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn here_now_global_has_no_channel_segment() {
    let op = HereNow::new();
    assert!(op.is_global());
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test",
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert!(!HereNow::new().groups(["g"]).is_global());
    assert!(!HereNow::new().channels(["c"]).is_global());
}

#[test]
fn here_now_global_with_options() {
    let op = HereNow::new().include_state(true).limit(10).offset(20);
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test",
        "limit=10&offset=20&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&state=1&uuid=alice",
    );
}

#[test]
fn here_now_include_state_sends_state_1() {
    let req = build(&HereNow::new().channels(["lobby"]).include_state(true));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&state=1&uuid=alice",
    );
    // `false` (the default) sends nothing.
    let req = build(&HereNow::new().channels(["lobby"]).include_state(false));
    assert!(!req.uri().query().unwrap().contains("state="));
}

#[test]
fn here_now_without_user_ids_sends_disable_uuids_1() {
    let req = build(&HereNow::new().channels(["lobby"]).include_user_ids(false));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "disable_uuids=1&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    let req = build(&HereNow::new().channels(["lobby"]).include_user_ids(true));
    assert!(!req.uri().query().unwrap().contains("disable_uuids"));
}

#[test]
fn here_now_limit_values() {
    for (limit, expected) in [(0, "limit=0"), (50, "limit=50"), (1000, "limit=1000")] {
        let req = build(&HereNow::new().channels(["lobby"]).limit(limit));
        assert_request(
            &req,
            "/v2/presence/sub-key/sub-c-test/channel/lobby",
            &format!("{expected}&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice"),
        );
    }
}

#[test]
fn here_now_offset_only_when_positive() {
    let req = build(&HereNow::new().channels(["lobby"]).offset(0));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    let req = build(&HereNow::new().channels(["lobby"]).limit(3).offset(3));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "limit=3&offset=3&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn here_now_every_option_at_once() {
    let op = HereNow::new()
        .channels(["b", "a"])
        .groups(["g"])
        .include_state(true)
        .include_user_ids(false)
        .limit(7)
        .offset(14);
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/a,b",
        "channel-group=g&disable_uuids=1&limit=7&offset=14&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&state=1&uuid=alice",
    );
}

#[test]
fn here_now_odd_channel_and_group_names() {
    let req = build(&HereNow::new().channels([ODD]));
    assert_request(
        &req,
        &format!("/v2/presence/sub-key/sub-c-test/channel/{ODD_ENC}"),
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    let req = build(&HereNow::new().groups([ODD]));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/,",
        "channel-group=odd%20ch%2F%3F%23%26%25%2B%20%C3%BC&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn comma_inside_a_channel_name_is_encoded_not_a_separator() {
    let req = build(&HereNow::new().channels(["a,b", "c"]));
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/a%2Cb,c",
        "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    let req = build(&Leave::new().channels(["x,y"]));
    assert_eq!(
        req.uri().path(),
        "/v2/presence/sub-key/sub-c-test/channel/x%2Cy/leave"
    );
    let req = build(&Heartbeat::new().channels(["x,y"]));
    assert_eq!(
        req.uri().path(),
        "/v2/presence/sub-key/sub-c-test/channel/x%2Cy/heartbeat"
    );
}

// ---------------------------------------------------------------------------------------------
// where_now

#[test]
fn where_now_defaults_to_the_caller() {
    assert_request(
        &build(&WhereNow::new()),
        "/v2/presence/sub-key/sub-c-test/uuid/alice",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn where_now_for_another_user_id_containing_a_slash() {
    // The path names the target; the `uuid` query parameter stays the caller.
    assert_request(
        &build(&WhereNow::new().user_id("bob/2")),
        "/v2/presence/sub-key/sub-c-test/uuid/bob%2F2",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&WhereNow::new().user_id(ODD)),
        &format!("/v2/presence/sub-key/sub-c-test/uuid/{ODD_ENC}"),
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// heartbeat

#[test]
fn heartbeat_default_timeout_is_300() {
    assert_request(
        &build(&Heartbeat::new().channels(["lobby"])),
        "/v2/presence/sub-key/sub-c-test/channel/lobby/heartbeat",
        "heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn heartbeat_custom_timeout() {
    assert_request(
        &build(&Heartbeat::new().channels(["room 1"]).presence_timeout(120)),
        "/v2/presence/sub-key/sub-c-test/channel/room%201/heartbeat",
        "heartbeat=120&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&Heartbeat::new().channels(["lobby"]).presence_timeout(1)),
        "/v2/presence/sub-key/sub-c-test/channel/lobby/heartbeat",
        "heartbeat=1&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn heartbeat_with_groups() {
    assert_request(
        &build(
            &Heartbeat::new()
                .channels(["lobby"])
                .groups(["team-b", "team-a"]),
        ),
        "/v2/presence/sub-key/sub-c-test/channel/lobby/heartbeat",
        "channel-group=team-a%2Cteam-b&heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&Heartbeat::new().groups(["team-a"])),
        "/v2/presence/sub-key/sub-c-test/channel/,/heartbeat",
        "channel-group=team-a&heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn heartbeat_keyed_state_json() {
    // State is keyed by channel / group name, serialised compactly, keys sorted.
    let op = Heartbeat::new()
        .channels(["room 1"])
        .groups(["team"])
        .state("team", &json!({"n": 1}))
        .unwrap()
        .state("room 1", &json!({"mood": "happy"}))
        .unwrap();
    // {"room 1":{"mood":"happy"},"team":{"n":1}}
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/room%201/heartbeat",
        "channel-group=team&heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22room%201%22%3A%7B%22mood%22%3A%22happy%22%7D%2C%22team%22%3A%7B%22n%22%3A1%7D%7D\
         &uuid=alice",
    );
}

#[test]
fn heartbeat_state_value_replaces_and_escapes_quotes_in_names() {
    let op = Heartbeat::new()
        .channels(["a\"b"])
        .state_value("a\"b", json!({"v": 1}))
        .state_value("a\"b", json!({"v": [true]}));
    // {"a\"b":{"v":[true]}}
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/a%22b/heartbeat",
        "heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22a%5C%22b%22%3A%7B%22v%22%3A%5Btrue%5D%7D%7D&uuid=alice",
    );
}

#[test]
fn heartbeat_odd_channel() {
    assert_request(
        &build(&Heartbeat::new().channels([ODD])),
        &format!("/v2/presence/sub-key/sub-c-test/channel/{ODD_ENC}/heartbeat"),
        "heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// leave

#[test]
fn leave_channels() {
    assert_request(
        &build(&Leave::new().channels(["b", "a"])),
        "/v2/presence/sub-key/sub-c-test/channel/a,b/leave",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn leave_groups_only_and_both() {
    assert_request(
        &build(&Leave::new().groups(["g1", "g2"])),
        "/v2/presence/sub-key/sub-c-test/channel/,/leave",
        "channel-group=g1%2Cg2&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&Leave::new().channels(["lobby"]).groups(["g1"])),
        "/v2/presence/sub-key/sub-c-test/channel/lobby/leave",
        "channel-group=g1&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn leave_odd_channel() {
    assert_request(
        &build(&Leave::new().channels([ODD])),
        &format!("/v2/presence/sub-key/sub-c-test/channel/{ODD_ENC}/leave"),
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// set_state

#[test]
fn set_state_for_the_caller() {
    let op = SetState::new()
        .channels(["ch1"])
        .state(json!({"mood": "happy"}));
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/ch1/uuid/alice/data",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22mood%22%3A%22happy%22%7D&uuid=alice",
    );
}

#[test]
fn set_state_keeps_struct_field_order() {
    #[derive(serde::Serialize)]
    struct Profile {
        status: &'static str,
        age: u32,
    }
    let op = SetState::new().channels(["ch1"]).state(Profile {
        status: "online",
        age: 20,
    });
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/ch1/uuid/alice/data",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22status%22%3A%22online%22%2C%22age%22%3A20%7D&uuid=alice",
    );
}

#[test]
fn set_state_user_id_override() {
    let op = SetState::new()
        .channels(["ch1"])
        .user_id("bob/2")
        .state(json!({}));
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/ch1/uuid/bob%2F2/data",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&state=%7B%7D&uuid=alice",
    );
}

#[test]
fn set_state_with_groups() {
    let op = SetState::new()
        .channels(["ch2", "ch1"])
        .groups(["g1"])
        .state(json!({"n": 1}));
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/ch1,ch2/uuid/alice/data",
        "channel-group=g1&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22n%22%3A1%7D&uuid=alice",
    );
    let op = SetState::new().groups(["g1"]).state(json!({"n": 1}));
    assert_request(
        &build(&op),
        "/v2/presence/sub-key/sub-c-test/channel/,/uuid/alice/data",
        "channel-group=g1&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22n%22%3A1%7D&uuid=alice",
    );
}

#[test]
fn set_state_odd_channel() {
    let op = SetState::new().channels([ODD]).state(json!({"k": "a b"}));
    assert_request(
        &build(&op),
        &format!("/v2/presence/sub-key/sub-c-test/channel/{ODD_ENC}/uuid/alice/data"),
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22k%22%3A%22a%20b%22%7D&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// get_state

#[test]
fn get_state_for_the_caller() {
    assert_request(
        &build(&GetState::new().channels(["ch1"])),
        "/v2/presence/sub-key/sub-c-test/channel/ch1/uuid/alice",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn get_state_user_id_override_and_groups() {
    assert_request(
        &build(
            &GetState::new()
                .channels(["ch1", "ch2"])
                .groups(["g1"])
                .user_id("bob/2"),
        ),
        "/v2/presence/sub-key/sub-c-test/channel/ch1,ch2/uuid/bob%2F2",
        "channel-group=g1&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&GetState::new().groups(["g2", "g1"])),
        "/v2/presence/sub-key/sub-c-test/channel/,/uuid/alice",
        "channel-group=g1%2Cg2&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn get_state_odd_channel() {
    assert_request(
        &build(&GetState::new().channels([ODD])),
        &format!("/v2/presence/sub-key/sub-c-test/channel/{ODD_ENC}/uuid/alice"),
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// channel-group registration

#[test]
fn add_channels_to_group() {
    assert_request(
        &build(&AddChannelsToGroup::new("team", ["b", "a", "b"])),
        "/v1/channel-registration/sub-key/sub-c-test/channel-group/team",
        "add=a%2Cb&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn remove_channels_from_group() {
    assert_request(
        &build(&RemoveChannelsFromGroup::new("team", ["c", "a"])),
        "/v1/channel-registration/sub-key/sub-c-test/channel-group/team",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&remove=a%2Cc&requestid=req-1&uuid=alice",
    );
}

#[test]
fn list_group_channels() {
    assert_request(
        &build(&ListGroupChannels::new("team")),
        "/v1/channel-registration/sub-key/sub-c-test/channel-group/team",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn delete_group() {
    assert_request(
        &build(&DeleteGroup::new("team")),
        "/v1/channel-registration/sub-key/sub-c-test/channel-group/team/remove",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn registration_with_odd_names() {
    let path = format!("/v1/channel-registration/sub-key/sub-c-test/channel-group/{ODD_ENC}");
    assert_request(
        &build(&AddChannelsToGroup::new(ODD, [ODD])),
        &path,
        "add=odd%20ch%2F%3F%23%26%25%2B%20%C3%BC&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&RemoveChannelsFromGroup::new(ODD, [ODD])),
        &path,
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&remove=odd%20ch%2F%3F%23%26%25%2B%20%C3%BC&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&ListGroupChannels::new(ODD)),
        &path,
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    assert_request(
        &build(&DeleteGroup::new(ODD)),
        &format!("{path}/remove"),
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// Parameters every call carries

#[test]
fn request_id_absent_when_empty() {
    let cfg = config();
    let none = Stamp::new(TS, "");
    let cases: Vec<(http::Request<Vec<u8>>, &str, &str)> = vec![
        (
            HereNow::new()
                .channels(["lobby"])
                .to_request(&cfg, &none)
                .unwrap(),
            "/v2/presence/sub-key/sub-c-test/channel/lobby",
            "limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=alice",
        ),
        (
            WhereNow::new().to_request(&cfg, &none).unwrap(),
            "/v2/presence/sub-key/sub-c-test/uuid/alice",
            "pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=alice",
        ),
        (
            Heartbeat::new()
                .channels(["c"])
                .to_request(&cfg, &none)
                .unwrap(),
            "/v2/presence/sub-key/sub-c-test/channel/c/heartbeat",
            "heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=alice",
        ),
        (
            DeleteGroup::new("g").to_request(&cfg, &none).unwrap(),
            "/v1/channel-registration/sub-key/sub-c-test/channel-group/g/remove",
            "pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=alice",
        ),
    ];
    for (req, path, query) in &cases {
        assert_request(req, path, query);
    }
}

#[test]
fn request_id_is_encoded() {
    let req = WhereNow::new()
        .to_request(&config(), &Stamp::new(TS, "3f2c 8a9e/1"))
        .unwrap();
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/uuid/alice",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=3f2c%208a9e%2F1&uuid=alice",
    );
}

#[test]
fn auth_token_is_sent_first_and_encoded() {
    let cfg = config()
        .to_builder()
        .auth_token("tok/en+=~")
        .build()
        .unwrap();
    let req = HereNow::new()
        .channels(["lobby"])
        .to_request(&cfg, &Stamp::new(TS, "req-1"))
        .unwrap();
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/channel/lobby",
        "auth=tok%2Fen%2B%3D%7E&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
    let req = AddChannelsToGroup::new("g", ["c"])
        .to_request(&cfg, &Stamp::new(TS, "req-1"))
        .unwrap();
    assert_request(
        &req,
        "/v1/channel-registration/sub-key/sub-c-test/channel-group/g",
        "add=c&auth=tok%2Fen%2B%3D%7E&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn empty_auth_token_and_secret_key_are_ignored() {
    let cfg = config()
        .to_builder()
        .auth_token("")
        .secret_key("")
        .publish_key("")
        .build()
        .unwrap();
    assert!(cfg.auth_token().is_none());
    assert!(cfg.secret_key().is_none());
    assert!(cfg.publish_key().is_none());
    let req = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS, "req-1"))
        .unwrap();
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/uuid/alice",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&uuid=alice",
    );
}

#[test]
fn pnsdk_with_application_suffix() {
    let cfg = config()
        .to_builder()
        .sdk_suffix(" my-app/1.0 ")
        .build()
        .unwrap();
    assert_eq!(cfg.pnsdk(), "PubNub-Rust-Presence/0.1.0 my-app/1.0");
    let req = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS, ""))
        .unwrap();
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/uuid/alice",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0%20my-app%2F1.0&uuid=alice",
    );
    // A blank suffix adds nothing.
    let cfg = config().to_builder().sdk_suffix("  ").build().unwrap();
    assert_eq!(cfg.pnsdk(), "PubNub-Rust-Presence/0.1.0");
}

#[test]
fn caller_user_id_is_encoded_in_query() {
    let cfg = Config::builder("sub-c-test", "al ice/ü")
        .origin(ORIGIN)
        .build()
        .unwrap();
    let req = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS, ""))
        .unwrap();
    assert_request(
        &req,
        "/v2/presence/sub-key/sub-c-test/uuid/al%20ice%2F%C3%BC",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=al%20ice%2F%C3%BC",
    );
}

#[test]
fn subscribe_key_is_encoded_and_origin_normalised() {
    let cfg = Config::builder("sub c/1", "alice")
        .origin("https://example.test:8443/")
        .build()
        .unwrap();
    assert_eq!(cfg.origin(), "https://example.test:8443");
    let req = Leave::new()
        .channels(["c"])
        .to_request(&cfg, &Stamp::new(TS, ""))
        .unwrap();
    assert_request_at(
        &req,
        "https://example.test:8443",
        "/v2/presence/sub-key/sub%20c%2F1/channel/c/leave",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=alice",
    );
}

#[test]
fn default_origin_is_the_live_service() {
    let cfg = Config::builder("sub-c-test", "alice").build().unwrap();
    let req = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS, ""))
        .unwrap();
    assert_request_at(
        &req,
        "https://ps.pndsn.com",
        "/v2/presence/sub-key/sub-c-test/uuid/alice",
        "pnsdk=PubNub-Rust-Presence%2F0.1.0&uuid=alice",
    );
}

// ---------------------------------------------------------------------------------------------
// Signing: `timestamp` joins the sorted parameters, `signature` comes last and is the v2 HMAC of
// exactly the path and query sent.

fn signing_config() -> Config {
    Config::builder("sub-c-test", "alice")
        .origin(ORIGIN)
        .publish_key("pub-c-test")
        .secret_key("sec-c-test")
        .auth_token("tok")
        .build()
        .unwrap()
}

#[track_caller]
fn assert_signed<O: Operation>(op: &O, path: &str, unsigned_query: &str) {
    let req = op
        .to_request(&signing_config(), &Stamp::new(TS, "req-1"))
        .unwrap();
    let signature = sign_v2("sec-c-test", "pub-c-test", path, unsigned_query);
    assert!(signature.starts_with("v2."), "{signature}");
    assert_eq!(signature.len(), 3 + 43, "{signature}"); // 32 bytes, base64url without padding
    assert!(
        signature[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_request(
        &req,
        path,
        &format!("{unsigned_query}&signature={signature}"),
    );
    // The signature is the last parameter and appears once.
    let query = req.uri().query().unwrap();
    assert_eq!(query.matches("signature=").count(), 1);
    assert!(
        query
            .rsplit('&')
            .next()
            .unwrap()
            .starts_with("signature=v2.")
    );
}

#[test]
fn signed_here_now() {
    assert_signed(
        &HereNow::new()
            .channels(["b", "a"])
            .groups(["g"])
            .include_state(true),
        "/v2/presence/sub-key/sub-c-test/channel/a,b",
        "auth=tok&channel-group=g&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&state=1&timestamp=1700000000&uuid=alice",
    );
    assert_signed(
        &HereNow::new(),
        "/v2/presence/sub-key/sub-c-test",
        "auth=tok&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
}

#[test]
fn signed_where_now() {
    assert_signed(
        &WhereNow::new().user_id("bob/2"),
        "/v2/presence/sub-key/sub-c-test/uuid/bob%2F2",
        "auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
}

#[test]
fn signed_heartbeat() {
    let op = Heartbeat::new()
        .channels([ODD])
        .presence_timeout(60)
        .state(ODD, &json!({"a": 1}))
        .unwrap();
    assert_signed(
        &op,
        &format!("/v2/presence/sub-key/sub-c-test/channel/{ODD_ENC}/heartbeat"),
        "auth=tok&heartbeat=60&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22odd%20ch%2F%3F%23%26%25%2B%20%C3%BC%22%3A%7B%22a%22%3A1%7D%7D\
         &timestamp=1700000000&uuid=alice",
    );
}

#[test]
fn signed_leave() {
    assert_signed(
        &Leave::new().groups(["g1", "g2"]),
        "/v2/presence/sub-key/sub-c-test/channel/,/leave",
        "auth=tok&channel-group=g1%2Cg2&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
}

#[test]
fn signed_set_state_and_get_state() {
    assert_signed(
        &SetState::new().channels(["ch1"]).state(json!({"x": "y,z"})),
        "/v2/presence/sub-key/sub-c-test/channel/ch1/uuid/alice/data",
        "auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1\
         &state=%7B%22x%22%3A%22y%2Cz%22%7D&timestamp=1700000000&uuid=alice",
    );
    assert_signed(
        &GetState::new().channels(["ch1"]).user_id("bob"),
        "/v2/presence/sub-key/sub-c-test/channel/ch1/uuid/bob",
        "auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
}

#[test]
fn signed_channel_group_registration() {
    let path = "/v1/channel-registration/sub-key/sub-c-test/channel-group/team";
    assert_signed(
        &AddChannelsToGroup::new("team", ["a", "b"]),
        path,
        "add=a%2Cb&auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
    assert_signed(
        &RemoveChannelsFromGroup::new("team", ["a"]),
        path,
        "auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&remove=a&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
    assert_signed(
        &ListGroupChannels::new("team"),
        path,
        "auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
    assert_signed(
        &DeleteGroup::new("team"),
        &format!("{path}/remove"),
        "auth=tok&pnsdk=PubNub-Rust-Presence%2F0.1.0&requestid=req-1&timestamp=1700000000&uuid=alice",
    );
}

#[test]
fn signing_without_publish_key_signs_an_empty_publish_key() {
    let cfg = Config::builder("sub-c-test", "alice")
        .origin(ORIGIN)
        .secret_key("sec-c-test")
        .build()
        .unwrap();
    let req = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS, ""))
        .unwrap();
    let path = "/v2/presence/sub-key/sub-c-test/uuid/alice";
    let unsigned = "pnsdk=PubNub-Rust-Presence%2F0.1.0&timestamp=1700000000&uuid=alice";
    let signature = sign_v2("sec-c-test", "", path, unsigned);
    assert_ne!(
        signature,
        sign_v2("sec-c-test", "pub-c-test", path, unsigned)
    );
    assert_request(&req, path, &format!("{unsigned}&signature={signature}"));
}

#[test]
fn signature_depends_on_the_timestamp() {
    let cfg = signing_config();
    let a = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS, ""))
        .unwrap();
    let b = WhereNow::new()
        .to_request(&cfg, &Stamp::new(TS + 1, ""))
        .unwrap();
    let sig = |r: &http::Request<Vec<u8>>| {
        r.uri()
            .query()
            .unwrap()
            .rsplit_once("&signature=")
            .unwrap()
            .1
            .to_owned()
    };
    assert_ne!(sig(&a), sig(&b));
    assert!(b.uri().query().unwrap().contains("&timestamp=1700000001&"));
}

#[test]
fn requests_are_deterministic() {
    let cfg = signing_config();
    let op = HereNow::new().channels([ODD, "a,b"]).groups(["g"]);
    let a = op.to_request(&cfg, &Stamp::new(TS, "r")).unwrap();
    let b = op.to_request(&cfg, &Stamp::new(TS, "r")).unwrap();
    assert_eq!(a.uri(), b.uri());
}

#[test]
fn operation_names() {
    assert_eq!(HereNow::NAME, "here_now");
    assert_eq!(WhereNow::NAME, "where_now");
    assert_eq!(Heartbeat::NAME, "heartbeat");
    assert_eq!(Leave::NAME, "leave");
    assert_eq!(<SetState>::NAME, "set_state");
    assert_eq!(GetState::NAME, "get_state");
    assert_eq!(AddChannelsToGroup::NAME, "add_channels_to_group");
    assert_eq!(RemoveChannelsFromGroup::NAME, "remove_channels_from_group");
    assert_eq!(ListGroupChannels::NAME, "list_group_channels");
    assert_eq!(DeleteGroup::NAME, "delete_group");
}

#[test]
fn redacted_uri_hides_auth_and_signature() {
    let req = HereNow::new()
        .channels(["lobby"])
        .to_request(&signing_config(), &Stamp::new(TS, ""))
        .unwrap();
    let shown = presence_proto::redacted_uri(req.uri());
    assert!(!shown.contains("tok&"), "{shown}");
    assert!(!shown.contains("v2."), "{shown}");
    assert_eq!(
        shown,
        format!(
            "{ORIGIN}/v2/presence/sub-key/sub-c-test/channel/lobby?auth=[redacted]&limit=1000\
             &pnsdk=PubNub-Rust-Presence%2F0.1.0&timestamp=1700000000&uuid=alice&signature=[redacted]"
        )
    );
}
