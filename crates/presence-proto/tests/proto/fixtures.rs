//! Every success response shape of the spec (HN0–HN4, HM1–HM5, WN1, ACK, LV0–LV1, SS1,
//! GS0–GS2, channel-registry), in the spaced (≤ 2025-01) and compact sorted-key (live) forms,
//! from the hand-written bodies in `tests/fixtures/`.

use presence_proto::{
    AddChannelsToGroup, DeleteGroup, ErrorKind, GetState, GetStateResult, Heartbeat, HereNow,
    HereNowChannel, HereNowResult, Leave, ListGroupChannels, Operation, RemoveChannelsFromGroup,
    SetState, WhereNow,
};
use serde_json::{Value, json};

use crate::common::{LIVE_HEADERS, gzip, reply, reply_with};

/// The bytes of `tests/fixtures/<name>`.
macro_rules! fx {
    ($name:literal) => {
        &include_bytes!(concat!("../fixtures/", $name))[..]
    };
}

/// Parses `body` as an HTTP 200 with the live service's headers; must succeed.
#[track_caller]
fn ok<O: Operation>(op: &O, body: &[u8]) -> O::Output
where
    O::Output: std::fmt::Debug,
{
    match op.parse(reply_with(200, LIVE_HEADERS, body)) {
        Ok(output) => output,
        Err(e) => panic!("{}: {e:?}", String::from_utf8_lossy(body)),
    }
}

/// `(user id, state)` of each occupant, in reply order.
fn occupants(channel: &HereNowChannel) -> Vec<(&str, Option<&Value>)> {
    channel
        .occupants
        .iter()
        .map(|u| (u.user_id.as_str(), u.state.as_ref()))
        .collect()
}

fn names(result: &HereNowResult) -> Vec<&str> {
    result.channels.iter().map(|c| c.name.as_str()).collect()
}

fn lobby() -> HereNow {
    HereNow::new().channels(["lobby"])
}

// ---------------------------------------------------------------------------------------------
// here_now, single-channel form (named after the one channel asked for)

#[test]
fn hn0_legacy_without_envelope() {
    let result = ok(&lobby(), fx!("hn0_legacy.json"));
    assert_eq!((result.total_channels, result.total_occupancy), (1, 2));
    assert_eq!(names(&result), ["lobby"]);
    let lobby_ch = &result.channels[0];
    assert_eq!(lobby_ch.occupancy, 2);
    assert!(lobby_ch.occupants_listed);
    assert_eq!(occupants(lobby_ch), [("mira", None), ("ode", None)]);

    let result = ok(&lobby(), fx!("hn0_legacy_empty.json"));
    assert_eq!((result.total_channels, result.total_occupancy), (1, 0));
    assert_eq!(result.channels[0].occupancy, 0);
    assert!(result.channels[0].occupants_listed);
    assert!(result.channels[0].occupants.is_empty());
}

#[test]
fn hn1_user_id_strings() {
    for body in [fx!("hn1_spaced.json"), fx!("hn1_compact.json")] {
        let result = ok(&lobby(), body);
        assert_eq!((result.total_channels, result.total_occupancy), (1, 3));
        assert_eq!(names(&result), ["lobby"]);
        let ch = result.channel("lobby").unwrap();
        assert_eq!(ch.occupancy, 3);
        assert!(ch.occupants_listed);
        // Reply order is kept for occupants.
        assert_eq!(
            occupants(ch),
            [("mira", None), ("ode", None), ("lin", None)]
        );
        assert!(result.channel("other").is_none());
    }
    assert_eq!(
        ok(&lobby(), fx!("hn1_spaced.json")),
        ok(&lobby(), fx!("hn1_compact.json"))
    );
}

#[test]
fn hn1_empty_channel_is_listed_and_empty() {
    let result = ok(&lobby(), fx!("hn1_spaced_empty.json"));
    assert_eq!((result.total_channels, result.total_occupancy), (1, 0));
    let ch = &result.channels[0];
    assert_eq!((ch.name.as_str(), ch.occupancy), ("lobby", 0));
    assert!(ch.occupants_listed);
    assert!(ch.occupants.is_empty());
}

#[test]
fn hn2_user_id_objects_without_state() {
    let op = lobby().include_state(true);
    for body in [fx!("hn2_spaced.json"), fx!("hn2_compact.json")] {
        let result = ok(&op, body);
        assert_eq!((result.total_channels, result.total_occupancy), (1, 2));
        let ch = &result.channels[0];
        assert_eq!((ch.name.as_str(), ch.occupancy), ("lobby", 2));
        assert!(ch.occupants_listed);
        assert_eq!(occupants(ch), [("mira", None), ("ode", None)]);
    }
}

#[test]
fn hn3_user_id_objects_with_state() {
    let op = lobby().include_state(true);
    let mood = json!({"mood": ["calm"]});
    for body in [fx!("hn3_spaced.json"), fx!("hn3_compact.json")] {
        let result = ok(&op, body);
        assert_eq!((result.total_channels, result.total_occupancy), (1, 2));
        let ch = &result.channels[0];
        assert_eq!(ch.occupancy, 2);
        assert_eq!(occupants(ch), [("mira", Some(&mood)), ("ode", None)]);

        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Mood {
            mood: Vec<String>,
        }
        let typed: Option<Mood> = ch.occupants[0].state_as().unwrap();
        assert_eq!(
            typed,
            Some(Mood {
                mood: vec!["calm".into()]
            })
        );
        assert_eq!(ch.occupants[1].state_as::<Mood>().unwrap(), None);
        // A state of another shape is a decode error, not a panic.
        let err = ch.occupants[0].state_as::<Vec<u8>>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
    }
}

#[test]
fn hn4_occupancy_only_is_not_an_empty_channel() {
    let op = lobby().include_user_ids(false);
    for body in [fx!("hn4_spaced.json"), fx!("hn4_compact.json")] {
        let result = ok(&op, body);
        assert_eq!((result.total_channels, result.total_occupancy), (1, 3));
        let ch = &result.channels[0];
        assert_eq!((ch.name.as_str(), ch.occupancy), ("lobby", 3));
        assert!(!ch.occupants_listed);
        assert!(ch.occupants.is_empty());
    }
}

#[test]
fn single_form_names_the_odd_channel_asked_for() {
    let op = HereNow::new().channels(["odd ch/?#&%+ ü"]);
    let result = ok(&op, fx!("hn1_compact.json"));
    assert_eq!(names(&result), ["odd ch/?#&%+ ü"]);
}

#[test]
fn single_form_for_several_channels_or_groups_is_undecodable() {
    for op in [
        HereNow::new().channels(["a", "b"]),
        HereNow::new().channels(["a"]).groups(["g"]),
        HereNow::new().groups(["g"]),
        HereNow::new(),
    ] {
        let err = op.parse(reply(200, fx!("hn1_compact.json"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert_eq!(err.status(), Some(200));
        assert_eq!(
            err.to_string(),
            "undecodable reply (HTTP 200): single-channel here_now reply to a request for \
             several channels or groups"
        );
        assert!(!err.is_retryable());
    }
}

// ---------------------------------------------------------------------------------------------
// here_now, payload form (channels sorted by name; totals verbatim)

#[test]
fn hm1_user_id_strings() {
    let op = HereNow::new().channels(["room-a", "room-b", "room-c"]);
    let result = ok(&op, fx!("hm1_compact.json"));
    assert_eq!((result.total_channels, result.total_occupancy), (3, 4));
    assert_eq!(names(&result), ["room-a", "room-b", "room-c"]);
    let occ: Vec<u64> = result.channels.iter().map(|c| c.occupancy).collect();
    assert_eq!(occ, [2, 1, 1]);
    assert!(result.channels.iter().all(|c| c.occupants_listed));
    assert_eq!(
        occupants(&result.channels[0]),
        [("mira", None), ("ode", None)]
    );
    assert_eq!(occupants(&result.channels[1]), [("kai", None)]);
    assert_eq!(occupants(&result.channels[2]), [("lin", None)]);

    // The channel + group request of the spaced recording (payload form even for one channel).
    let op = HereNow::new().channels(["room-a"]).groups(["team"]);
    let result = ok(&op, fx!("hm1_spaced.json"));
    assert_eq!((result.total_channels, result.total_occupancy), (2, 3));
    assert_eq!(names(&result), ["room-a", "room-b"]);
    assert_eq!(
        occupants(result.channel("room-a").unwrap()),
        [("mira", None), ("ode", None)]
    );
    assert_eq!(
        occupants(result.channel("room-b").unwrap()),
        [("kai", None)]
    );
}

#[test]
fn payload_form_is_detected_by_body_whatever_was_asked() {
    // Global, group-only and even a one-channel request accept the payload form.
    for op in [
        HereNow::new(),
        HereNow::new().groups(["team"]),
        HereNow::new().channels(["room-a"]),
    ] {
        let result = ok(&op, fx!("hm1_compact.json"));
        assert_eq!(names(&result), ["room-a", "room-b", "room-c"]);
        assert_eq!(result.total_occupancy, 4);
    }
}

#[test]
fn hm2_user_id_objects_without_state() {
    let op = HereNow::new().groups(["team"]).include_state(true);
    let spaced = ok(&op, fx!("hm2_spaced.json"));
    let compact = ok(&op, fx!("hm2_compact.json"));
    assert_eq!(spaced, compact);
    assert_eq!((compact.total_channels, compact.total_occupancy), (2, 3));
    assert_eq!(names(&compact), ["room-a", "room-b"]);
    assert_eq!(
        occupants(&compact.channels[0]),
        [("mira", None), ("ode", None)]
    );
    assert_eq!(occupants(&compact.channels[1]), [("kai", None)]);
    assert_eq!(compact.channels[0].occupancy, 2);
    assert_eq!(compact.channels[1].occupancy, 1);
}

#[test]
fn hm3_mixed_state_objects() {
    let op = HereNow::new().include_state(true);
    let state = json!({"mood": "calm", "tags": [1, "x"]});
    let spaced = ok(&op, fx!("hm3_spaced.json"));
    let compact = ok(&op, fx!("hm3_compact.json"));
    assert_eq!(spaced, compact);
    assert_eq!((compact.total_channels, compact.total_occupancy), (2, 3));
    assert_eq!(names(&compact), ["room-a", "room-b"]);
    assert_eq!(
        occupants(&compact.channels[0]),
        [("mira", Some(&state)), ("ode", None)]
    );
    assert_eq!(occupants(&compact.channels[1]), [("kai", None)]);
}

#[test]
fn hm4_occupancy_only() {
    let op = HereNow::new().groups(["team"]).include_user_ids(false);
    let spaced = ok(&op, fx!("hm4_spaced.json"));
    let compact = ok(&op, fx!("hm4_compact.json"));
    assert_eq!(spaced, compact);
    assert_eq!((compact.total_channels, compact.total_occupancy), (2, 3));
    assert_eq!(names(&compact), ["room-a", "room-b"]);
    for (ch, occupancy) in compact.channels.iter().zip([2, 1]) {
        assert_eq!(ch.occupancy, occupancy);
        assert!(!ch.occupants_listed);
        assert!(ch.occupants.is_empty());
    }
}

#[test]
fn hm5_nobody_present() {
    let op = HereNow::new().groups(["empty-team"]);
    for body in [fx!("hm5_spaced.json"), fx!("hm5_compact.json")] {
        let result = ok(&op, body);
        assert_eq!((result.total_channels, result.total_occupancy), (0, 0));
        assert!(result.channels.is_empty());
    }
}

#[test]
fn payload_totals_are_taken_verbatim_or_summed_when_absent() {
    let op = HereNow::new().channels(["a", "b"]);
    // The JS mock's "too large limit": two channels asked, one in the map, total_channels 1.
    let body = br#"{"message":"OK","payload":{"channels":{"a":{"occupancy":5,"uuids":["x"]}},"total_channels":7,"total_occupancy":9},"service":"Presence","status":200}"#;
    let result = ok(&op, body);
    assert_eq!((result.total_channels, result.total_occupancy), (7, 9));
    assert_eq!(names(&result), ["a"]);
    assert_eq!(result.channels[0].occupancy, 5);

    let body = br#"{"payload":{"channels":{"b":{"occupancy":2},"a":{"occupancy":5}}}}"#;
    let result = ok(&op, body);
    assert_eq!((result.total_channels, result.total_occupancy), (2, 7));
}

#[test]
fn non_ascii_escapes_in_names_and_ids() {
    let op = HereNow::new().channels(["a", "b"]);
    let body = br#"{"payload":{"channels":{"\u017b\u00d3\u0141":{"occupancy":1,"uuids":["\u00fcser"]},"a\"b":{"occupancy":0,"uuids":[]}},"total_channels":2,"total_occupancy":1},"status":200}"#;
    let result = ok(&op, body);
    assert_eq!(names(&result), ["a\"b", "ŻÓŁ"]);
    assert_eq!(occupants(&result.channels[1]), [("üser", None)]);
}

#[test]
fn content_type_is_never_consulted() {
    let op = HereNow::new().include_state(true);
    let expected = ok(&op, fx!("hm3_compact.json"));
    for content_type in [
        "text/html; charset=\"UTF-8\"",
        "text/javascript; charset=UTF-8",
        "application/json",
        "application/octet-stream",
    ] {
        let result = op
            .parse(reply_with(
                200,
                &[("content-type", content_type)],
                fx!("hm3_compact.json"),
            ))
            .unwrap();
        assert_eq!(result, expected, "{content_type}");
    }
    // No content type at all.
    assert_eq!(
        op.parse(reply(200, fx!("hm3_compact.json"))).unwrap(),
        expected
    );
}

// ---------------------------------------------------------------------------------------------
// where_now

#[test]
fn wn1_channels_sorted() {
    let op = WhereNow::new();
    assert!(ok(&op, fx!("wn1_spaced.json")).channels.is_empty());
    assert_eq!(
        ok(&op, fx!("wn1_compact.json")).channels,
        ["room-a", "room-b", "room-c"]
    );
    assert_eq!(
        ok(&WhereNow::new().user_id("bob"), fx!("wn1_compact.json")).channels,
        ["room-a", "room-b", "room-c"]
    );
}

#[test]
fn wn1_missing_channel_list_is_empty() {
    let result = ok(&WhereNow::new(), br#"{"payload":{},"status":200}"#);
    assert!(result.channels.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Acknowledgements: heartbeat, leave, channel-group add/remove/delete

#[test]
fn ack_heartbeat() {
    let op = Heartbeat::new().channels(["lobby"]);
    ok(&op, fx!("ack_spaced.json"));
    ok(&op, fx!("ack_compact.json"));
}

#[test]
fn lv0_lv1_leave() {
    let op = Leave::new().channels(["lobby"]);
    for body in [
        fx!("lv0_legacy.json"),
        fx!("lv1_spaced.json"),
        fx!("lv1_spaced_2025.json"),
        fx!("lv1_compact.json"),
        fx!("ack_compact.json"),
    ] {
        ok(&op, body);
    }
}

#[test]
fn channel_registry_acknowledgements() {
    for body in [fx!("cg_ack_spaced.json"), fx!("cg_ack_compact.json")] {
        ok(&AddChannelsToGroup::new("team", ["room-a"]), body);
        ok(&RemoveChannelsFromGroup::new("team", ["room-a"]), body);
        ok(&DeleteGroup::new("team"), body);
    }
}

#[test]
fn channel_registry_listing_sorted() {
    let op = ListGroupChannels::new("asked");
    for body in [fx!("cg_list_spaced.json"), fx!("cg_list_compact.json")] {
        let listed = ok(&op, body);
        assert_eq!(listed.group, "team");
        assert_eq!(listed.channels, ["room-a", "room-b"]);
    }
    // Without a `group` in the reply, the group asked for.
    let listed = ok(
        &op,
        br#"{"error":false,"payload":{"channels":[]},"status":200}"#,
    );
    assert_eq!(listed.group, "asked");
    assert!(listed.channels.is_empty());
}

// ---------------------------------------------------------------------------------------------
// set_state / get_state

#[test]
fn ss1_stored_state() {
    let op = SetState::new()
        .channels(["lobby"])
        .state(json!({"mood": "calm"}));
    let result = ok(&op, fx!("ss1_spaced.json"));
    assert_eq!(result.state, json!({"mood": "calm"}));

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Mood {
        mood: String,
    }
    assert_eq!(
        result.state_as::<Mood>().unwrap(),
        Mood {
            mood: "calm".into()
        }
    );

    let result = ok(&op, fx!("ss1_compact.json"));
    assert_eq!(result.state, json!({"mood": ["calm", "curious"]}));
    let err = result.state_as::<Mood>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
}

fn states(result: &GetStateResult) -> Vec<(&str, &Value)> {
    result
        .channels
        .iter()
        .map(|c| (c.channel.as_str(), &c.state))
        .collect()
}

#[test]
fn gs0_legacy_single() {
    let result = ok(&GetState::new().channels(["lobby"]), fx!("gs0_legacy.json"));
    assert_eq!(result.user_id, None);
    assert_eq!(states(&result), [("lobby", &json!({"mood": "calm"}))]);
    assert_eq!(result.state("lobby"), Some(&json!({"mood": "calm"})));
    assert_eq!(result.state("other"), None);
}

#[test]
fn gs0_flat_map_for_several_channels() {
    let op = GetState::new().channels(["room-a", "room-b"]);
    let result = ok(
        &op,
        br#"{"status": 200, "payload": {"room-b": {"a": 1}, "room-a": {}}}"#,
    );
    assert_eq!(
        states(&result),
        [("room-a", &json!({})), ("room-b", &json!({"a": 1}))]
    );
}

#[test]
fn gs1_single_channel() {
    let op = GetState::new().channels(["lobby"]);
    let result = ok(&op, fx!("gs1_spaced.json"));
    assert_eq!(result.user_id.as_deref(), Some("mira"));
    assert_eq!(states(&result), [("lobby", &json!({}))]);

    let result = ok(&op, fx!("gs1_compact.json"));
    assert_eq!(result.user_id.as_deref(), Some("mira"));
    assert_eq!(states(&result), [("lobby", &json!({"mood": "calm"}))]);

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Mood {
        mood: String,
    }
    assert_eq!(
        result.state_as::<Mood>("lobby").unwrap(),
        Some(Mood {
            mood: "calm".into()
        })
    );
    assert_eq!(result.state_as::<Mood>("other").unwrap(), None);
}

#[test]
fn gs1_single_form_for_a_group_request_is_keyed_by_the_body_channel() {
    // pubnub/php#20: one group resolving to one channel may come back in the single form.
    let result = ok(&GetState::new().groups(["team"]), fx!("gs1_compact.json"));
    assert_eq!(states(&result), [("lobby", &json!({"mood": "calm"}))]);
}

#[test]
fn gs2_nested_channel_map_sorted() {
    let op = GetState::new().channels(["room-a", "room-b"]);
    let result = ok(&op, fx!("gs2_spaced.json"));
    assert_eq!(result.user_id.as_deref(), Some("mira"));
    assert_eq!(
        states(&result),
        [
            ("room-a", &json!({"mood": "busy"})),
            ("room-b", &json!({"mood": "calm"}))
        ]
    );
    let result = ok(&op, fx!("gs2_compact.json"));
    assert_eq!(
        states(&result),
        [("room-a", &json!({})), ("room-b", &json!({"mood": "calm"}))]
    );
    // Nested form wins even for a one-channel request (group members).
    let result = ok(&GetState::new().channels(["x"]), fx!("gs2_compact.json"));
    assert_eq!(states(&result).len(), 2);
}

// ---------------------------------------------------------------------------------------------
// gzip: every success shape parses identically when the service gzips it

#[test]
fn gzip_encoded_success_bodies_parse_like_plain_ones() {
    #[track_caller]
    fn same<O: Operation>(op: &O, body: &[u8])
    where
        O::Output: std::fmt::Debug + PartialEq,
    {
        let packed = gzip(body);
        assert_ne!(packed, body);
        let plain = op.parse(reply(200, body)).unwrap();
        for encoding in ["gzip", "GZIP", "x-gzip"] {
            let inflated = op
                .parse(reply_with(
                    200,
                    &[("content-encoding", encoding), LIVE_HEADERS[0]],
                    &packed,
                ))
                .unwrap();
            assert_eq!(inflated, plain, "{encoding}");
        }
    }
    same(&lobby(), fx!("hn0_legacy.json"));
    same(&lobby(), fx!("hn1_compact.json"));
    same(&lobby(), fx!("hn3_spaced.json"));
    same(&lobby(), fx!("hn4_compact.json"));
    for body in [
        fx!("hm1_compact.json"),
        fx!("hm2_spaced.json"),
        fx!("hm3_compact.json"),
        fx!("hm4_compact.json"),
        fx!("hm5_spaced.json"),
    ] {
        same(&HereNow::new(), body);
    }
    same(&WhereNow::new(), fx!("wn1_compact.json"));
    same(&Heartbeat::new().channels(["c"]), fx!("ack_compact.json"));
    same(&Leave::new().channels(["c"]), fx!("lv1_spaced.json"));
    same(
        &SetState::new().channels(["c"]).state(json!({})),
        fx!("ss1_compact.json"),
    );
    same(
        &GetState::new().channels(["lobby"]),
        fx!("gs1_compact.json"),
    );
    same(
        &GetState::new().channels(["a", "b"]),
        fx!("gs2_spaced.json"),
    );
    same(&ListGroupChannels::new("team"), fx!("cg_list_compact.json"));
}

#[test]
fn gzip_header_on_an_already_inflated_body_is_tolerated() {
    let op = HereNow::new();
    let expected = op.parse(reply(200, fx!("hm2_compact.json"))).unwrap();
    let result = op
        .parse(reply_with(
            200,
            &[("content-encoding", "gzip")],
            fx!("hm2_compact.json"),
        ))
        .unwrap();
    assert_eq!(result, expected);
}

#[test]
fn a_large_gzip_here_now_reply() {
    // 1 channel × 1000 occupants with state, as the service gzips larger replies.
    let users: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"state":{{"n":{i}}},"uuid":"user-{i:04}"}}"#))
        .collect();
    let body = format!(
        r#"{{"message":"OK","occupancy":1000,"service":"Presence","status":200,"uuids":[{}]}}"#,
        users.join(",")
    );
    let packed = gzip(body.as_bytes());
    assert!(packed.len() * 4 < body.len());
    let result = lobby()
        .include_state(true)
        .parse(reply_with(200, &[("content-encoding", "gzip")], &packed))
        .unwrap();
    let ch = &result.channels[0];
    assert_eq!(ch.occupancy, 1000);
    assert_eq!(ch.occupants.len(), 1000);
    assert_eq!(ch.occupants[999].user_id, "user-0999");
    assert_eq!(ch.occupants[999].state, Some(json!({"n": 999})));
}
