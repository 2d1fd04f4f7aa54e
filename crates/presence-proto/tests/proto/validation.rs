//! Input validation: everything rejected before a request exists, with a precise error.

use std::collections::BTreeMap;

use presence_proto::{
    AddChannelsToGroup, Config, DeleteGroup, Error, ErrorKind, GetState, Heartbeat, HereNow, Leave,
    ListGroupChannels, MAX_HERE_NOW_LIMIT, MAX_URL_BYTES, MAX_USER_ID_BYTES, Operation,
    RemoveChannelsFromGroup, SetState, Stamp, WhereNow,
};
use serde_json::json;

use crate::common::{ORIGIN, TS, build, build_err, config};

/// Asserts an `InvalidArgument` for `field`, with the common properties of input errors.
#[track_caller]
fn assert_argument(error: &Error, field: &str) {
    match error {
        Error::InvalidArgument { field: f, reason } => {
            assert_eq!(*f, field, "{error}");
            assert!(!reason.is_empty());
            assert_eq!(
                error.to_string(),
                format!("invalid argument: {field}: {reason}")
            );
        }
        other => panic!("expected InvalidArgument({field}), got {other:?}"),
    }
    assert_input(error);
}

#[track_caller]
fn assert_input(error: &Error) {
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert!(!error.is_retryable());
    assert_eq!(error.status(), None);
    assert!(error.api().is_none());
    assert_eq!(error.retry_after(), None);
}

#[track_caller]
fn assert_config_error(result: Result<Config, Error>, field: &str) {
    match result {
        Err(ref error @ Error::InvalidConfig { field: f, .. }) => {
            assert_eq!(f, field, "{error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid configuration: {field}: "))
            );
            assert_input(error);
        }
        Err(other) => panic!("expected InvalidConfig({field}), got {other:?}"),
        Ok(config) => panic!("configuration accepted: {config:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A channel or group is necessary

#[test]
fn channel_or_group_is_necessary_for_heartbeat() {
    let error = build_err(&Heartbeat::new());
    assert_argument(&error, "channels");
    assert!(
        error
            .to_string()
            .contains("at least one channel or channel group")
    );
}

#[test]
fn channel_or_group_is_necessary_for_leave() {
    assert_argument(&build_err(&Leave::new()), "channels");
}

#[test]
fn channel_or_group_is_necessary_for_set_state() {
    assert_argument(
        &build_err(&SetState::new().state(json!({"a": 1}))),
        "channels",
    );
}

#[test]
fn channel_or_group_is_necessary_for_get_state() {
    assert_argument(&build_err(&GetState::new()), "channels");
}

#[test]
fn channel_or_group_is_not_necessary_for_here_now() {
    // Global here now.
    build(&HereNow::new());
}

#[test]
fn channels_are_necessary_for_group_registration() {
    assert_argument(
        &build_err(&AddChannelsToGroup::new("g", Vec::<String>::new())),
        "channels",
    );
    assert_argument(
        &build_err(&RemoveChannelsFromGroup::new("g", Vec::<String>::new())),
        "channels",
    );
}

// ---------------------------------------------------------------------------------------------
// Names

const BLANKS: [&str; 4] = ["", " ", "\t", " \n "];

#[test]
fn non_blank_channel_names_are_necessary() {
    for blank in BLANKS {
        let ch = ["ok", blank];
        assert_argument(&build_err(&HereNow::new().channels(ch)), "channels");
        assert_argument(&build_err(&Heartbeat::new().channels(ch)), "channels");
        assert_argument(&build_err(&Leave::new().channels(ch)), "channels");
        assert_argument(
            &build_err(&SetState::new().channels(ch).state(json!({}))),
            "channels",
        );
        assert_argument(&build_err(&GetState::new().channels(ch)), "channels");
        assert_argument(&build_err(&AddChannelsToGroup::new("g", ch)), "channels");
        assert_argument(
            &build_err(&RemoveChannelsFromGroup::new("g", ch)),
            "channels",
        );
    }
}

#[test]
fn non_blank_group_names_are_necessary() {
    for blank in BLANKS {
        let gs = ["ok", blank];
        assert_argument(&build_err(&HereNow::new().groups(gs)), "groups");
        assert_argument(
            &build_err(&Heartbeat::new().channels(["c"]).groups(gs)),
            "groups",
        );
        assert_argument(&build_err(&Leave::new().groups(gs)), "groups");
        assert_argument(
            &build_err(&SetState::new().groups(gs).state(json!({}))),
            "groups",
        );
        assert_argument(&build_err(&GetState::new().groups(gs)), "groups");
        assert_argument(&build_err(&AddChannelsToGroup::new(blank, ["c"])), "groups");
        assert_argument(
            &build_err(&RemoveChannelsFromGroup::new(blank, ["c"])),
            "groups",
        );
        assert_argument(&build_err(&ListGroupChannels::new(blank)), "groups");
        assert_argument(&build_err(&DeleteGroup::new(blank)), "groups");
    }
}

#[test]
fn comma_free_group_names_are_necessary() {
    let gs = ["a,b"];
    let errors = [
        build_err(&HereNow::new().groups(gs)),
        build_err(&HereNow::new().channels(["c"]).groups(gs)),
        build_err(&Heartbeat::new().groups(gs)),
        build_err(&Leave::new().groups(gs)),
        build_err(&SetState::new().groups(gs).state(json!({}))),
        build_err(&GetState::new().groups(gs)),
        build_err(&AddChannelsToGroup::new("a,b", ["c"])),
        build_err(&RemoveChannelsFromGroup::new("a,b", ["c"])),
        build_err(&ListGroupChannels::new("a,b")),
        build_err(&DeleteGroup::new(",")),
    ];
    for error in &errors {
        assert_argument(error, "groups");
        assert!(error.to_string().contains("contains ','"), "{error}");
    }
}

#[test]
fn comma_free_channel_names_are_necessary_for_group_registration() {
    // Presence operations encode a `,` inside a channel name (see requests.rs); registration
    // joins its channel list with `,` inside one value, so there it must be refused.
    for error in [
        build_err(&AddChannelsToGroup::new("g", ["ok", "a,b"])),
        build_err(&RemoveChannelsFromGroup::new("g", ["a,b"])),
    ] {
        assert_argument(&error, "channels");
        assert!(error.to_string().contains("contains ','"), "{error}");
    }
}

#[test]
fn valid_target_user_id_is_necessary() {
    let long = "u".repeat(MAX_USER_ID_BYTES + 1);
    for bad in ["", "  ", "\t", long.as_str()] {
        assert_argument(&build_err(&WhereNow::new().user_id(bad)), "user_id");
        assert_argument(
            &build_err(&GetState::new().channels(["c"]).user_id(bad)),
            "user_id",
        );
        assert_argument(
            &build_err(
                &SetState::new()
                    .channels(["c"])
                    .user_id(bad)
                    .state(json!({})),
            ),
            "user_id",
        );
    }
    let longest = "u".repeat(MAX_USER_ID_BYTES);
    build(&WhereNow::new().user_id(longest.as_str()));
    build(&GetState::new().channels(["c"]).user_id(longest.as_str()));
}

// ---------------------------------------------------------------------------------------------
// Operation arguments

#[test]
fn limit_up_to_1000_is_necessary() {
    assert_eq!(MAX_HERE_NOW_LIMIT, 1000);
    build(&HereNow::new().channels(["c"]).limit(1000));
    for limit in [1001, 5000, u32::MAX] {
        let error = build_err(&HereNow::new().channels(["c"]).limit(limit));
        assert_argument(&error, "limit");
        assert_eq!(
            error.to_string(),
            format!("invalid argument: limit: {limit} is over the maximum of 1000")
        );
        // Global here now too.
        assert_argument(&build_err(&HereNow::new().limit(limit)), "limit");
    }
}

#[test]
fn positive_presence_timeout_is_necessary() {
    assert_argument(
        &build_err(&Heartbeat::new().channels(["c"]).presence_timeout(0)),
        "presence_timeout",
    );
}

#[test]
fn state_is_necessary_for_set_state() {
    let error = build_err(&SetState::new().channels(["c"]));
    assert_argument(&error, "state");
}

#[test]
fn object_state_is_necessary_for_set_state() {
    fn not_object<T: serde::Serialize>(state: T) {
        let error = build_err(&SetState::new().channels(["c"]).state(state));
        assert!(matches!(error, Error::StateSerialize(None)), "{error:?}");
        assert_input(&error);
        assert_eq!(
            error.to_string(),
            "state could not be serialised as a JSON object"
        );
    }
    not_object(json!([1, 2]));
    not_object(json!("{not an object}"));
    not_object(json!(42));
    not_object(json!(null));
    not_object(true);
    not_object(vec!["a"]);
    not_object("text");
    not_object(Option::<u8>::None);
}

#[test]
fn serialisable_state_is_necessary() {
    // JSON object keys must be strings: a tuple-keyed map cannot be serialised.
    let mut bad = BTreeMap::new();
    bad.insert((1u8, 2u8), 3u8);
    let error = build_err(&SetState::new().channels(["c"]).state(&bad));
    assert!(matches!(error, Error::StateSerialize(Some(_))), "{error:?}");
    assert_input(&error);
    assert!(std::error::Error::source(&error).is_some());

    let error = Heartbeat::new()
        .channels(["c"])
        .state("c", &bad)
        .unwrap_err();
    assert!(matches!(error, Error::StateSerialize(Some(_))), "{error:?}");
    assert_input(&error);
}

// ---------------------------------------------------------------------------------------------
// URL size: over 32 KiB nothing is built

#[track_caller]
fn assert_too_long(result: Result<http::Request<Vec<u8>>, Error>) -> usize {
    match result {
        Err(ref error @ Error::UrlTooLong { length, max }) => {
            assert_eq!(max, MAX_URL_BYTES);
            assert!(length > max);
            assert_eq!(error.kind(), ErrorKind::TooLarge);
            assert!(!error.is_retryable());
            assert_eq!(error.status(), None);
            assert_eq!(
                error.to_string(),
                format!("request URL of {length} bytes exceeds the 32768-byte limit")
            );
            length
        }
        Err(other) => panic!("expected UrlTooLong, got {other:?}"),
        Ok(req) => panic!("built a {}-byte URL", req.uri().to_string().len()),
    }
}

#[test]
fn url_within_32_kib_is_necessary_exact_boundary() {
    assert_eq!(MAX_URL_BYTES, 32 * 1024);
    let len_with = |n: usize| {
        build(&HereNow::new().channels(["a".repeat(n)]))
            .uri()
            .to_string()
            .len()
    };
    let overhead = len_with(1) - 1;
    let fits = MAX_URL_BYTES - overhead;
    assert_eq!(len_with(fits), MAX_URL_BYTES);
    let length = assert_too_long(
        HereNow::new()
            .channels(["a".repeat(fits + 1)])
            .to_request(&config(), &Stamp::new(TS, "req-1")),
    );
    assert_eq!(length, MAX_URL_BYTES + 1);
}

#[test]
fn url_within_32_kib_is_necessary_for_every_operation() {
    let cfg = config();
    let stamp = Stamp::new(TS, "req-1");
    // ~600 channels of 60 bytes: the "hundreds of channels" 414 of pubnub/swift#91.
    let many: Vec<String> = (0..600).map(|i| format!("{i:060}")).collect();
    let huge = "x".repeat(MAX_URL_BYTES);
    let big_state = json!({ "blob": huge });

    assert_too_long(HereNow::new().channels(&many).to_request(&cfg, &stamp));
    assert_too_long(HereNow::new().groups(&many).to_request(&cfg, &stamp));
    assert_too_long(Heartbeat::new().channels(&many).to_request(&cfg, &stamp));
    assert_too_long(
        Heartbeat::new()
            .channels(["c"])
            .state_value("c", big_state.clone())
            .to_request(&cfg, &stamp),
    );
    assert_too_long(Leave::new().channels(&many).to_request(&cfg, &stamp));
    assert_too_long(
        SetState::new()
            .channels(["c"])
            .state(big_state)
            .to_request(&cfg, &stamp),
    );
    assert_too_long(GetState::new().groups(&many).to_request(&cfg, &stamp));
    assert_too_long(AddChannelsToGroup::new("g", &many).to_request(&cfg, &stamp));
    assert_too_long(RemoveChannelsFromGroup::new("g", &many).to_request(&cfg, &stamp));
    assert_too_long(ListGroupChannels::new(huge.as_str()).to_request(&cfg, &stamp));
    assert_too_long(DeleteGroup::new(huge.as_str()).to_request(&cfg, &stamp));

    // A very long subscribe key makes even where_now too long.
    let long_key = Config::builder(huge.as_str(), "alice")
        .origin(ORIGIN)
        .build()
        .unwrap();
    assert_too_long(WhereNow::new().to_request(&long_key, &stamp));
}

#[test]
fn url_limit_counts_the_signature() {
    // Find the longest channel that fits unsigned, then sign: the 60-odd extra bytes of
    // `timestamp` and `signature` must push it over.
    let signed = config().to_builder().secret_key("s").build().unwrap();
    let stamp = Stamp::new(TS, "req-1");
    let len_with = |n: usize| {
        build(&HereNow::new().channels(["a".repeat(n)]))
            .uri()
            .to_string()
            .len()
    };
    let fits = MAX_URL_BYTES - (len_with(1) - 1);
    assert_too_long(
        HereNow::new()
            .channels(["a".repeat(fits)])
            .to_request(&signed, &stamp),
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn subscribe_key_is_necessary() {
    for bad in ["", " ", "\t\n"] {
        assert_config_error(Config::builder(bad, "alice").build(), "subscribe_key");
    }
    // Also when changed through `to_builder`.
    assert_config_error(
        config().to_builder().subscribe_key("").build(),
        "subscribe_key",
    );
}

#[test]
fn valid_caller_user_id_is_necessary() {
    let long = "u".repeat(MAX_USER_ID_BYTES + 1);
    for bad in ["", " ", "\t", long.as_str()] {
        assert_config_error(Config::builder("sub", bad).build(), "user_id");
    }
    // 46 two-byte characters are 92 bytes, 47 are 94.
    assert!(Config::builder("sub", "é".repeat(46)).build().is_ok());
    assert_config_error(Config::builder("sub", "é".repeat(47)).build(), "user_id");
    assert_config_error(config().to_builder().user_id(" ").build(), "user_id");
}

#[test]
fn http_origin_is_necessary() {
    for bad in [
        "",
        "ps.pndsn.com",
        "ftp://ps.pndsn.com",
        "ws://ps.pndsn.com",
        "https://",
        "http://host/path",
        "http://host?q=1",
        "http://user@host",
        "http://user:pw@host:80",
        "not a url",
    ] {
        assert_config_error(
            Config::builder("sub", "alice").origin(bad).build(),
            "origin",
        );
    }
    for (good, normalised) in [
        ("https://ps.pndsn.com", "https://ps.pndsn.com"),
        ("https://ps.pndsn.com/", "https://ps.pndsn.com"),
        ("http://127.0.0.1:8090", "http://127.0.0.1:8090"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
    ] {
        let cfg = Config::builder("sub", "alice")
            .origin(good)
            .build()
            .unwrap();
        assert_eq!(cfg.origin(), normalised);
    }
}

#[test]
fn config_debug_hides_secrets() {
    let cfg = config()
        .to_builder()
        .secret_key("sec-SEKRIT")
        .auth_token("tok-SEKRIT")
        .build()
        .unwrap();
    let shown = format!("{cfg:?} {:?}", cfg.to_builder());
    assert!(!shown.contains("SEKRIT"), "{shown}");
    assert_eq!(format!("{}", cfg.secret_key().unwrap()), "[redacted]");
    assert_eq!(cfg.secret_key().unwrap().expose(), "sec-SEKRIT");
    assert_eq!(cfg.auth_token().unwrap().expose(), "tok-SEKRIT");
}

#[test]
fn nothing_is_built_from_a_rejected_operation_even_when_signing() {
    let signed = config().to_builder().secret_key("s").build().unwrap();
    let stamp = Stamp::new(TS, "");
    assert!(Heartbeat::new().to_request(&signed, &stamp).is_err());
    assert!(
        HereNow::new()
            .limit(1001)
            .to_request(&signed, &stamp)
            .is_err()
    );
}

#[test]
fn dot_segment_names_are_necessary_to_refuse() {
    // `.` and `..` would go out as literal path segments that HTTP stacks collapse.
    for dots in [".", ".."] {
        assert_argument(&build_err(&HereNow::new().channels([dots])), "channels");
        assert_argument(&build_err(&Leave::new().groups([dots])), "groups");
        assert_argument(&build_err(&WhereNow::new().user_id(dots)), "user_id");
        assert_argument(&build_err(&DeleteGroup::new(dots)), "groups");
        assert!(Config::builder("sub-c", dots).build().is_err());
    }
    // Dots inside a longer name are ordinary characters.
    assert!(
        HereNow::new()
            .channels(["a.b", "..."])
            .to_request(&config(), &Stamp::new(TS, ""))
            .is_ok()
    );
}
