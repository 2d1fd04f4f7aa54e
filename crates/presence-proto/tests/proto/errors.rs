//! Error replies: the recorded error shapes (E400, E402, E403, E404x) and every failure the
//! spec names (404, 414, 429 + Retry-After, 5xx with HTML, 503 inside a 200, truncated JSON,
//! HTML in a 200, empty body, bad gzip, gzip bombs), each with kind, status, message, excerpt
//! and retryability.

use std::time::Duration;

use presence_proto::{
    AddChannelsToGroup, ApiError, EXCERPT_LIMIT, Error, ErrorKind, GetState, Heartbeat, HereNow,
    Leave, ListGroupChannels, MAX_INFLATED_BYTES, Operation, RetryPolicy, SetState, WhereNow,
};
use serde_json::json;

use crate::common::{LIVE_HEADERS, assert_excerpt_bounded, excerpt_of, gzip, reply, reply_with};

macro_rules! fx {
    ($name:literal) => {
        &include_bytes!(concat!("../fixtures/", $name))[..]
    };
}

/// The API error inside `error`; panics on any other variant.
#[track_caller]
fn api_of(error: &Error) -> &ApiError {
    match error.api() {
        Some(api) => {
            assert_excerpt_bounded(error);
            api
        }
        None => panic!("expected an API error, got {error:?}"),
    }
}

/// Parses and expects an error.
#[track_caller]
fn fail<O: Operation>(op: &O, response: http::Response<&[u8]>) -> Error
where
    O::Output: std::fmt::Debug,
{
    let error = op.parse(response).unwrap_err();
    assert_excerpt_bounded(&error);
    error
}

/// Asserts a decode error's status, reason, excerpt and non-retryability.
#[track_caller]
fn assert_decode(error: &Error, status: u16, reason: &str, excerpt: &str) {
    match error {
        Error::Decode {
            status: s,
            reason: r,
            excerpt: e,
            ..
        } => {
            assert_eq!(*s, status);
            assert_eq!(r, reason);
            assert_eq!(e, excerpt);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.status(), Some(status));
    assert!(!error.is_retryable());
    assert!(error.api().is_none());
    assert_eq!(
        error.to_string(),
        format!("undecodable reply (HTTP {status}): {reason}")
    );
}

// ---------------------------------------------------------------------------------------------
// E400: HTTP 200, body status 400

#[test]
fn e400_in_http_200_is_a_bad_request() {
    let ops_set = SetState::new().groups(["empty"]).state(json!({"a": 1}));
    let ops_get = GetState::new().groups(["empty"]);
    for body in [fx!("e400_spaced.json"), fx!("e400_compact.json")] {
        for error in [
            fail(&ops_set, reply_with(200, LIVE_HEADERS, body)),
            fail(&ops_get, reply_with(200, LIVE_HEADERS, body)),
        ] {
            assert_eq!(error.kind(), ErrorKind::BadRequest);
            assert_eq!(error.status(), Some(400));
            assert!(!error.is_retryable());
            let api = api_of(&error);
            assert_eq!(api.status, 400);
            assert_eq!(api.http_status, 200);
            assert_eq!(api.message.as_deref(), Some("No valid channels specified"));
            assert_eq!(api.service.as_deref(), Some("Presence"));
            assert!(api.channels.is_empty() && api.groups.is_empty());
            assert_eq!(api.retry_after, None);
            assert_eq!(api.excerpt.as_bytes(), body);
            assert_eq!(
                error.to_string(),
                "service rejected the request with status 400 (HTTP 200): No valid channels specified"
            );
        }
    }
}

#[test]
fn http_400_limit_message() {
    let body = br#"{"error":true,"message":"Cannot return more than 1000 uuids at a time","service":"Presence","status":400}"#;
    let error = fail(&HereNow::new(), reply(400, body));
    assert_eq!(error.kind(), ErrorKind::BadRequest);
    let api = api_of(&error);
    assert_eq!((api.status, api.http_status), (400, 400));
    assert_eq!(
        api.message.as_deref(),
        Some("Cannot return more than 1000 uuids at a time")
    );
    assert_eq!(
        error.to_string(),
        "service rejected the request with status 400: Cannot return more than 1000 uuids at a time"
    );
}

// ---------------------------------------------------------------------------------------------
// E402: presence (global here now) not enabled; "error": 1

#[test]
fn e402_not_enabled() {
    const MESSAGE: &str = "This feature is not turned on for this account. Contact \
                           support@pubnub.com to activate this feature.";
    for body in [fx!("e402_spaced.json"), fx!("e402_compact.json")] {
        let error = fail(&HereNow::new(), reply_with(402, LIVE_HEADERS, body));
        assert_eq!(error.kind(), ErrorKind::NotEnabled);
        assert_eq!(error.status(), Some(402));
        assert!(!error.is_retryable());
        let api = api_of(&error);
        assert_eq!((api.status, api.http_status), (402, 402));
        assert_eq!(api.message.as_deref(), Some(MESSAGE));
        assert_eq!(api.service.as_deref(), Some("Presence"));
        assert_eq!(api.excerpt.as_bytes(), body);

        // The same body inside an HTTP 200: the body's status counts.
        let error = fail(&HereNow::new(), reply(200, body));
        assert_eq!(error.kind(), ErrorKind::NotEnabled);
        let api = api_of(&error);
        assert_eq!((api.status, api.http_status), (402, 200));
    }
}

// ---------------------------------------------------------------------------------------------
// E403: Access Manager

const PAM_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/javascript; charset=UTF-8"),
    ("server", "openresty"),
];

#[test]
fn e403_channels() {
    let body = fx!("e403_channels.json");
    assert!(body.ends_with(b"}\n"));
    let error = fail(
        &Leave::new().channels(["room-a"]),
        reply_with(403, PAM_HEADERS, body),
    );
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert_eq!(error.status(), Some(403));
    assert!(!error.is_retryable());
    let api = api_of(&error);
    assert_eq!((api.status, api.http_status), (403, 403));
    assert_eq!(api.message.as_deref(), Some("Forbidden"));
    assert_eq!(api.service.as_deref(), Some("Access Manager"));
    assert_eq!(api.channels, ["room-a", "room-b"]);
    assert!(api.groups.is_empty());
    assert_eq!(api.excerpt.as_bytes(), body);
    assert_eq!(
        error.to_string(),
        "service rejected the request with status 403: Forbidden; channels: room-a, room-b"
    );
}

#[test]
fn e403_groups_leading_colon_stripped() {
    let error = fail(
        &Leave::new().groups(["team-a"]),
        reply_with(403, PAM_HEADERS, fx!("e403_groups.json")),
    );
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    let api = api_of(&error);
    assert!(api.channels.is_empty());
    assert_eq!(api.groups, ["team-a", "team-b"]);
    assert_eq!(
        error.to_string(),
        "service rejected the request with status 403: Forbidden; channel groups: team-a, team-b"
    );

    let error = fail(&HereNow::new(), reply(403, fx!("e403_compact.json")));
    let api = api_of(&error);
    assert_eq!(api.channels, ["room-a"]);
    assert_eq!(api.groups, ["team-a"]);
}

#[test]
fn e403_gzip_encoded_as_recorded() {
    let packed = gzip(fx!("e403_groups.json"));
    let mut headers = PAM_HEADERS.to_vec();
    headers.push(("content-encoding", "gzip"));
    let error = fail(
        &Leave::new().groups(["team-a"]),
        reply_with(403, &headers, &packed),
    );
    let api = api_of(&error);
    assert_eq!(api.status, 403);
    assert_eq!(api.groups, ["team-a", "team-b"]);
    // The excerpt shows the inflated text, not compressed bytes.
    assert_eq!(api.excerpt.as_bytes(), fx!("e403_groups.json"));
}

#[test]
fn e403_inside_http_200_for_every_operation() {
    // Whether or not the 403 body happens to fit the operation's success shape, it is an error.
    let body = fx!("e403_channels.json");
    let errors = [
        fail(&HereNow::new().channels(["room-a"]), reply(200, body)),
        fail(&HereNow::new(), reply(200, body)),
        fail(&WhereNow::new(), reply(200, body)),
        fail(&Heartbeat::new().channels(["c"]), reply(200, body)),
        fail(&Leave::new().channels(["c"]), reply(200, body)),
        fail(
            &SetState::new().channels(["c"]).state(json!({})),
            reply(200, body),
        ),
        fail(&GetState::new().channels(["c"]), reply(200, body)),
        fail(&AddChannelsToGroup::new("g", ["c"]), reply(200, body)),
        fail(&ListGroupChannels::new("g"), reply(200, body)),
    ];
    for error in &errors {
        assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error:?}");
        let api = api_of(error);
        assert_eq!((api.status, api.http_status), (403, 200));
        assert_eq!(api.channels, ["room-a", "room-b"]);
    }
}

#[test]
fn http_401_is_access_denied() {
    let error = fail(&WhereNow::new(), reply(401, b""));
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert_eq!(error.status(), Some(401));
    assert!(!error.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// 404

#[test]
fn http_404() {
    let body = br#"{"status": 404, "message": "Not Found", "service": "Presence"}"#;
    let error = fail(&HereNow::new().channels(["c"]), reply(404, body));
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.status(), Some(404));
    assert!(!error.is_retryable());
    let api = api_of(&error);
    assert_eq!((api.status, api.http_status), (404, 404));
    assert_eq!(api.message.as_deref(), Some("Not Found"));

    // No body at all.
    let error = fail(&HereNow::new().channels(["c"]), reply(404, b""));
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let api = api_of(&error);
    assert_eq!(api.message, None);
    assert_eq!(api.service, None);
    assert_eq!(api.excerpt, "");
    assert_eq!(
        error.to_string(),
        "service rejected the request with status 404"
    );
}

#[test]
fn e404x_hand_edited_404_in_http_200() {
    let error = fail(
        &Heartbeat::new().channels(["c"]),
        reply(200, fx!("e404_in_200.json")),
    );
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let api = api_of(&error);
    assert_eq!((api.status, api.http_status), (404, 200));
    assert!(!error.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// 414, 429

#[test]
fn http_414_uri_too_long() {
    let body = b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n</html>\r\n";
    let error = fail(
        &Leave::new().channels(["c"]),
        reply_with(414, &[("content-type", "text/html")], body),
    );
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert_eq!(error.status(), Some(414));
    assert!(!error.is_retryable());
    let api = api_of(&error);
    assert_eq!(api.message, None);
    assert_eq!(api.excerpt.as_bytes(), body);
    assert_eq!(
        RetryPolicy::linear(Duration::from_secs(1), 5).next_delay(0, &error, Duration::ZERO),
        None
    );
}

#[test]
fn http_429_with_retry_after() {
    let body = br#"{"status":429,"error":true,"message":"Too Many Requests","service":"Presence"}"#;
    let error = fail(
        &Heartbeat::new().channels(["c"]),
        reply_with(429, &[("retry-after", "7")], body),
    );
    assert_eq!(error.kind(), ErrorKind::TooManyRequests);
    assert_eq!(error.status(), Some(429));
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    let api = api_of(&error);
    assert_eq!(api.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(api.message.as_deref(), Some("Too Many Requests"));

    // The service's delay replaces the policy's; jitter is still added.
    let policy = RetryPolicy::exponential(Duration::from_secs(2), Duration::from_secs(150), 6);
    assert_eq!(
        policy.next_delay(0, &error, Duration::from_millis(250)),
        Some(Duration::from_millis(7250))
    );
    assert_eq!(policy.next_delay(6, &error, Duration::ZERO), None);
    assert_eq!(
        RetryPolicy::None.next_delay(0, &error, Duration::ZERO),
        None
    );
}

#[test]
fn http_429_retry_after_variants() {
    let op = WhereNow::new();
    // Padded seconds are read; an HTTP date without the reply's `Date` (the core reads no
    // clock) or garbage is ignored (the policy decides).
    for (value, expected) in [
        (" 7 ", Some(7)),
        ("0", Some(0)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("-1", None),
        ("soon", None),
    ] {
        let error = fail(&op, reply_with(429, &[("retry-after", value)], b""));
        assert!(error.is_retryable());
        assert_eq!(
            error.retry_after(),
            expected.map(Duration::from_secs),
            "{value:?}"
        );
    }
    // An HTTP date counts from the reply's own `Date`.
    let error = fail(
        &op,
        reply_with(
            429,
            &[
                ("retry-after", "Wed, 21 Oct 2015 08:28:00 GMT"),
                ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ],
            b"",
        ),
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    // …and a policy whose longest wait is shorter fails at once, the 429 intact.
    let policy = RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 4);
    assert_eq!(policy.next_delay(0, &error, Duration::ZERO), None);
    let error = fail(&op, reply(429, b""));
    assert_eq!(error.retry_after(), None);
    let policy = RetryPolicy::linear(Duration::from_secs(3), 2);
    assert_eq!(
        policy.next_delay(1, &error, Duration::ZERO),
        Some(Duration::from_secs(3))
    );
}

// ---------------------------------------------------------------------------------------------
// 5xx

#[test]
fn http_500_with_html_body() {
    let body = fx!("e500.html");
    assert!(body.len() > EXCERPT_LIMIT);
    let error = fail(
        &HereNow::new().channels(["c"]),
        reply_with(500, &[("content-type", "text/html")], body),
    );
    assert_eq!(error.kind(), ErrorKind::Server);
    assert_eq!(error.status(), Some(500));
    assert!(error.is_retryable());
    let api = api_of(&error);
    assert_eq!((api.status, api.http_status), (500, 500));
    assert_eq!(api.message, None);
    assert_eq!(api.service, None);
    assert!(
        api.excerpt
            .starts_with("<html>\r\n<head><title>500 Internal Server Error")
    );
    assert!(api.excerpt.len() <= EXCERPT_LIMIT);
    // A character cut at the limit is dropped, not split: the excerpt is a prefix of the body.
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.starts_with(&api.excerpt));
    assert!(api.excerpt.len() >= EXCERPT_LIMIT - 3);
    assert_eq!(
        error.to_string(),
        "service rejected the request with status 500"
    );
    assert_eq!(
        RetryPolicy::linear(Duration::from_secs(2), 3).next_delay(2, &error, Duration::ZERO),
        Some(Duration::from_secs(2))
    );
}

#[test]
fn every_5xx_is_a_retryable_server_error() {
    for status in [500, 502, 503, 504, 507, 599] {
        let error = fail(&Leave::new().channels(["c"]), reply(status, b"Bad Gateway"));
        assert_eq!(error.kind(), ErrorKind::Server, "{status}");
        assert_eq!(error.status(), Some(status));
        assert!(error.is_retryable(), "{status}");
    }
}

#[test]
fn e503_inside_http_200() {
    let body = fx!("e503_in_200.json");
    for error in [
        fail(&HereNow::new().channels(["c"]), reply(200, body)),
        fail(&WhereNow::new(), reply(200, body)),
        fail(&Heartbeat::new().channels(["c"]), reply(200, body)),
    ] {
        assert_eq!(error.kind(), ErrorKind::Server);
        assert_eq!(error.status(), Some(503));
        assert!(error.is_retryable());
        let api = api_of(&error);
        assert_eq!((api.status, api.http_status), (503, 200));
        assert_eq!(api.message.as_deref(), Some("Service Unavailable"));
        assert_eq!(api.service.as_deref(), Some("Presence"));
        assert_eq!(api.excerpt.as_bytes(), body);
        assert_eq!(
            error.to_string(),
            "service rejected the request with status 503 (HTTP 200): Service Unavailable"
        );
    }
}

#[test]
fn error_flag_without_status_in_http_200_is_a_bad_request() {
    for body in [
        &br#"{"error": true, "message": "nope"}"#[..],
        br#"{"error": 1, "error_message": "nope"}"#,
        br#"{"error": "yes", "message": "nope"}"#,
    ] {
        let error = fail(&Leave::new().channels(["c"]), reply(200, body));
        assert_eq!(error.kind(), ErrorKind::BadRequest);
        let api = api_of(&error);
        assert_eq!((api.status, api.http_status), (400, 200));
        assert_eq!(api.message.as_deref(), Some("nope"));
    }
    // `error: false` / `0` with status 200 is a success.
    for body in [
        &br#"{"error": false, "status": 200}"#[..],
        br#"{"error": 0, "status": "200"}"#,
    ] {
        Leave::new()
            .channels(["c"])
            .parse(reply(200, body))
            .unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Undecodable replies

#[test]
fn truncated_json_in_http_200() {
    let body = fx!("truncated.json");
    let error = fail(&Leave::new().channels(["c"]), reply(200, body));
    assert_decode(&error, 200, "truncated JSON body", "{\"action\": \"leav");
    assert!(std::error::Error::source(&error).is_some());

    let error = fail(&HereNow::new(), reply(200, &fx!("hm3_compact.json")[..60]));
    assert_decode(
        &error,
        200,
        "truncated JSON body",
        std::str::from_utf8(&fx!("hm3_compact.json")[..60]).unwrap(),
    );
}

#[test]
fn html_in_http_200() {
    let body = fx!("portal_200.html");
    let error = fail(
        &HereNow::new().channels(["c"]),
        reply_with(200, &[("content-type", "text/html; charset=utf-8")], body),
    );
    assert_decode(
        &error,
        200,
        "body is not JSON",
        std::str::from_utf8(body).unwrap(),
    );
}

#[test]
fn empty_body_in_http_200() {
    for op_error in [
        fail(&Heartbeat::new().channels(["c"]), reply(200, b"")),
        fail(&HereNow::new(), reply(200, b"")),
        fail(&WhereNow::new(), reply(200, b"  \r\n")),
    ] {
        let excerpt = excerpt_of(&op_error).unwrap().to_owned();
        assert_decode(&op_error, 200, "empty body", &excerpt);
        assert!(excerpt.trim().is_empty());
    }
}

#[test]
fn unexpected_shapes_in_http_200() {
    let error = fail(&HereNow::new(), reply(200, b"[1,2,3]"));
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(
        error
            .to_string()
            .starts_with("undecodable reply (HTTP 200): unexpected body shape: "),
        "{error}"
    );
    assert_eq!(excerpt_of(&error), Some("[1,2,3]"));

    let body = br#"{"status":200,"message":"OK"}"#;
    let text = std::str::from_utf8(body).unwrap();
    assert_decode(
        &fail(&HereNow::new().channels(["c"]), reply(200, body)),
        200,
        "here_now reply has neither `payload` nor `occupancy`",
        text,
    );
    assert_decode(
        &fail(&WhereNow::new(), reply(200, body)),
        200,
        "where_now reply has no `payload`",
        text,
    );
    assert_decode(
        &fail(
            &SetState::new().channels(["c"]).state(json!({})),
            reply(200, body),
        ),
        200,
        "set_state reply has no `payload`",
        text,
    );
    assert_decode(
        &fail(&GetState::new().channels(["c"]), reply(200, body)),
        200,
        "get_state reply has no `payload`",
        text,
    );
    assert_decode(
        &fail(&ListGroupChannels::new("g"), reply(200, body)),
        200,
        "channel group listing has no `payload`",
        text,
    );
    let body = br#"{"status":200,"payload":[1]}"#;
    assert_decode(
        &fail(&GetState::new().channels(["a", "b"]), reply(200, body)),
        200,
        "get_state `payload` is not an object",
        std::str::from_utf8(body).unwrap(),
    );
}

#[test]
fn shape_errors_of_gzip_replies_show_the_inflated_body() {
    let body = br#"{"status":200,"message":"OK"}"#;
    let packed = gzip(body);
    let gz = [("content-encoding", "gzip")];
    let text = std::str::from_utf8(body).unwrap();
    assert_decode(
        &fail(
            &HereNow::new().channels(["c"]),
            reply_with(200, &gz, &packed),
        ),
        200,
        "here_now reply has neither `payload` nor `occupancy`",
        text,
    );
    assert_decode(
        &fail(&WhereNow::new(), reply_with(200, &gz, &packed)),
        200,
        "where_now reply has no `payload`",
        text,
    );
    assert_decode(
        &fail(&ListGroupChannels::new("g"), reply_with(200, &gz, &packed)),
        200,
        "channel group listing has no `payload`",
        text,
    );
    let packed = gzip(fx!("truncated.json"));
    assert_decode(
        &fail(&Leave::new().channels(["c"]), reply_with(200, &gz, &packed)),
        200,
        "truncated JSON body",
        "{\"action\": \"leav",
    );
}

#[test]
fn excerpt_is_bounded_to_256_bytes() {
    // A 403 naming many channels: the excerpt is exactly the first 256 bytes.
    let channels: Vec<String> = (0..100).map(|i| format!("room-{i:03}")).collect();
    let body = serde_json::to_vec(&json!({
        "error": true, "message": "Forbidden", "payload": {"channels": channels},
        "service": "Access Manager", "status": 403
    }))
    .unwrap();
    assert!(body.len() > 1000);
    let error = fail(&HereNow::new(), reply(403, &body));
    let api = api_of(&error);
    assert_eq!(api.channels.len(), 100);
    assert_eq!(api.excerpt.len(), EXCERPT_LIMIT);
    assert_eq!(api.excerpt.as_bytes(), &body[..EXCERPT_LIMIT]);

    // Invalid UTF-8 is replaced, still within the bound.
    let body = vec![0xff_u8; 1000];
    let error = fail(&HereNow::new(), reply(200, &body));
    assert_eq!(error.kind(), ErrorKind::Decode);
    let excerpt = excerpt_of(&error).unwrap();
    assert!(excerpt.len() <= EXCERPT_LIMIT && !excerpt.is_empty());
    assert!(excerpt.chars().all(|c| c == '\u{FFFD}'));
}

// ---------------------------------------------------------------------------------------------
// gzip failures

#[test]
fn corrupt_gzip_is_a_decode_error() {
    let mut packed = gzip(fx!("hm1_compact.json"));
    packed.truncate(packed.len() / 2);
    let error = fail(
        &HereNow::new(),
        reply_with(200, &[("content-encoding", "gzip")], &packed),
    );
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.status(), Some(200));
    assert!(!error.is_retryable());
    assert!(
        error
            .to_string()
            .starts_with("undecodable reply (HTTP 200): gzip body could not be inflated: "),
        "{error}"
    );

    let garbage = [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef];
    let error = fail(
        &Leave::new().channels(["c"]),
        reply_with(503, &[("content-encoding", "gzip")], &garbage),
    );
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.status(), Some(503));
}

#[test]
fn gzip_body_without_content_encoding_is_not_inflated() {
    let packed = gzip(fx!("ack_compact.json"));
    let error = fail(&Heartbeat::new().channels(["c"]), reply(200, &packed));
    assert_eq!(error.kind(), ErrorKind::Decode);
}

#[test]
fn gzip_bomb_is_refused() {
    let bomb = gzip(&vec![b' '; MAX_INFLATED_BYTES + 1]);
    assert!(bomb.len() < 100 * 1024);
    let error = fail(
        &HereNow::new(),
        reply_with(200, &[("content-encoding", "gzip")], &bomb),
    );
    assert!(
        matches!(error, Error::BodyTooLarge { limit } if limit == MAX_INFLATED_BYTES),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert!(!error.is_retryable());
    assert_eq!(error.status(), None);

    // Exactly at the limit is inflated (then judged as JSON: all spaces is an empty body).
    let at_limit = gzip(&vec![b' '; MAX_INFLATED_BYTES]);
    let error = fail(
        &HereNow::new(),
        reply_with(200, &[("content-encoding", "gzip")], &at_limit),
    );
    assert_eq!(error.kind(), ErrorKind::Decode);
}

// ---------------------------------------------------------------------------------------------
// Other statuses

#[test]
fn http_408_is_a_retryable_timeout() {
    let error = fail(&Heartbeat::new().channels(["c"]), reply(408, b""));
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.status(), Some(408));
    assert!(error.is_retryable());
}

#[test]
fn other_statuses() {
    for (status, kind) in [
        (301, ErrorKind::Server),
        (413, ErrorKind::TooLarge),
        (418, ErrorKind::BadRequest),
        (412, ErrorKind::BadRequest),
    ] {
        let error = fail(&Leave::new().channels(["c"]), reply(status, b""));
        assert_eq!(error.kind(), kind, "{status}");
        assert_eq!(error.status(), Some(status));
        assert!(!error.is_retryable(), "{status}");
    }
    // A 2xx other than 200 is judged by its body like a 200.
    Leave::new()
        .channels(["c"])
        .parse(reply(202, fx!("lv1_compact.json")))
        .unwrap();
}

#[test]
fn transport_errors_for_drivers() {
    let timeout = Error::timeout(Duration::from_secs(10));
    assert_eq!(timeout.kind(), ErrorKind::Timeout);
    assert!(timeout.is_retryable());
    assert_eq!(timeout.status(), None);
    assert_eq!(timeout.to_string(), "request timed out after 10s");
    let network = Error::network("connect", std::io::Error::other("refused"));
    assert_eq!(network.kind(), ErrorKind::Network);
    assert!(network.is_retryable());
    assert_eq!(network.to_string(), "network error: connect");
    assert_eq!(
        std::error::Error::source(&network).unwrap().to_string(),
        "refused"
    );
}
