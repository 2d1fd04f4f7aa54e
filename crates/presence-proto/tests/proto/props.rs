//! Properties: parsing never panics on any body/status, errors keep their invariants, gzip is
//! transparent, and the encoder round-trips through `percent_decode_str` with only the strict
//! character set on the wire.

use std::fmt::Debug;

use percent_encoding::percent_decode_str;
use presence_proto::{
    AddChannelsToGroup, DeleteGroup, Error, GetState, Heartbeat, HereNow, Leave, ListGroupChannels,
    Operation, RemoveChannelsFromGroup, SetState, Stamp, WhereNow, encode, sign_v2,
};
use proptest::prelude::*;
use serde_json::Value;

use crate::common::{TS, assert_excerpt_bounded, config, excerpt_of, gzip};

/// Keys the parsers look at, so generated objects reach deep into every shape.
const KEYS: &[&str] = &[
    "status",
    "error",
    "message",
    "error_message",
    "service",
    "payload",
    "channels",
    "channel-groups",
    "channel",
    "group",
    "uuid",
    "uuids",
    "occupancy",
    "state",
    "total_channels",
    "total_occupancy",
    "action",
    "lobby",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z:,]{0,6}",
    ]
}

/// Any JSON value, recursively, biased towards the envelope's field names and status codes.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        prop_oneof![
            Just(0u16),
            Just(1),
            Just(200),
            Just(400),
            Just(403),
            Just(503)
        ]
        .prop_map(Value::from),
        key().prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop_oneof![Just(200u16), Just(204), Just(400), Just(402), Just(403), Just(404),
                         Just(414), Just(429), Just(500), Just(503)],
        2 => 100u16..=999,
    ]
}

fn headers() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    prop::collection::vec(
        prop::sample::select(
            &[
                ("content-encoding", "gzip"),
                ("content-type", "text/html"),
                ("retry-after", "7"),
                ("retry-after", "x"),
            ][..],
        ),
        0..3,
    )
}

/// Checks the invariants of one parse outcome.
fn check<T: Debug>(name: &str, status: u16, result: Result<T, Error>) -> Result<(), TestCaseError> {
    let success = (200..300).contains(&status);
    match result {
        // Only a success status can yield a result.
        Ok(output) => prop_assert!(success, "{name}: HTTP {status} parsed as {output:?}"),
        Err(error) => {
            assert_excerpt_bounded(&error);
            // Display and Debug never panic either.
            let _ = (error.to_string(), format!("{error:?}"));
            match &error {
                Error::Api(api) => {
                    prop_assert_eq!(api.http_status, status, "{}", name);
                    prop_assert_eq!(error.status(), Some(api.status), "{}", name);
                    if success {
                        // An error in a success reply: the body's status (≥ 400) or 400.
                        prop_assert!(api.status >= 400, "{}: status {}", name, api.status);
                    } else {
                        prop_assert_eq!(api.status, status, "{}", name);
                    }
                    prop_assert_eq!(
                        error.is_retryable(),
                        matches!(api.status, 408 | 429 | 500..=599),
                        "{}",
                        name
                    );
                }
                Error::Decode { status: s, .. } => {
                    prop_assert_eq!(*s, status, "{}", name);
                    prop_assert!(!error.is_retryable());
                }
                Error::BodyTooLarge { .. } => {}
                other => prop_assert!(false, "{name}: unexpected error {other:?}"),
            }
        }
    }
    Ok(())
}

/// Parses with every operation (several request shapes for the shape-dependent ones) and
/// returns a comparable summary of each outcome.
fn parse_all(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<String>, TestCaseError> {
    fn one<O: Operation>(
        out: &mut Vec<String>,
        op: &O,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), TestCaseError>
    where
        O::Output: Debug,
    {
        let mut builder = http::Response::builder().status(status);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let response = builder.body(body).unwrap();
        let result = op.parse(response);
        out.push(match &result {
            Ok(output) => format!("ok {output:?}"),
            Err(error) => format!(
                "err {:?} {:?} {:?} {:?}",
                error.kind(),
                error.status(),
                error.retry_after(),
                excerpt_of(error)
            ),
        });
        check(O::NAME, status, result)
    }
    let mut out = Vec::new();
    let o = &mut out;
    one(
        o,
        &HereNow::new().channels(["lobby"]),
        status,
        headers,
        body,
    )?;
    one(
        o,
        &HereNow::new().channels(["a", "b"]),
        status,
        headers,
        body,
    )?;
    one(o, &HereNow::new().groups(["g"]), status, headers, body)?;
    one(o, &HereNow::new(), status, headers, body)?;
    one(o, &WhereNow::new(), status, headers, body)?;
    one(
        o,
        &Heartbeat::new().channels(["lobby"]),
        status,
        headers,
        body,
    )?;
    one(o, &Leave::new().channels(["lobby"]), status, headers, body)?;
    one(
        o,
        &SetState::new()
            .channels(["lobby"])
            .state(serde_json::json!({})),
        status,
        headers,
        body,
    )?;
    one(
        o,
        &GetState::new().channels(["lobby"]),
        status,
        headers,
        body,
    )?;
    one(
        o,
        &GetState::new().channels(["a", "b"]),
        status,
        headers,
        body,
    )?;
    one(o, &GetState::new().groups(["g"]), status, headers, body)?;
    one(
        o,
        &AddChannelsToGroup::new("g", ["a"]),
        status,
        headers,
        body,
    )?;
    one(
        o,
        &RemoveChannelsFromGroup::new("g", ["a"]),
        status,
        headers,
        body,
    )?;
    one(o, &ListGroupChannels::new("g"), status, headers, body)?;
    one(o, &DeleteGroup::new("g"), status, headers, body)?;
    Ok(out)
}

/// Characters the encoder may leave raw.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Asserts `s` holds only `A-Z a-z 0-9 - _ .` and `%XX` with uppercase hex.
fn assert_strict(s: &str) -> Result<(), TestCaseError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            prop_assert!(i + 3 <= bytes.len(), "dangling % in {s:?}");
            let hex = &bytes[i + 1..i + 3];
            prop_assert!(
                hex.iter()
                    .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h)),
                "bad escape in {s:?}"
            );
            i += 3;
        } else {
            prop_assert!(unreserved(bytes[i]), "raw {:?} in {s:?}", bytes[i] as char);
            i += 1;
        }
    }
    Ok(())
}

/// 512 cases by default; `PROPTEST_CASES=100000` for a long run (machines without nightly).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_bytes_never_panics(
        status in status(),
        headers in headers(),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        parse_all(status, &headers, &body)?;
    }

    #[test]
    fn parsing_gzip_magic_garbage_never_panics(
        status in status(),
        tail in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut body = vec![0x1f, 0x8b];
        body.extend(tail);
        parse_all(status, &[("content-encoding", "gzip")], &body)?;
    }

    #[test]
    fn parsing_arbitrary_json_never_panics(
        status in status(),
        headers in headers(),
        value in json(),
    ) {
        let body = serde_json::to_vec(&value).unwrap();
        parse_all(status, &headers, &body)?;
        // The spaced form parses the same.
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let a = parse_all(status, &[], &body)?;
        let b = parse_all(status, &[], &pretty)?;
        let ok = |v: &[String]| v.iter().map(|s| s.starts_with("ok ")).collect::<Vec<_>>();
        prop_assert_eq!(ok(&a), ok(&b));
    }

    #[test]
    fn parsing_arbitrary_envelopes_never_panics(
        status in status(),
        envelope in prop::collection::vec((key(), json()), 0..6),
        payload in json(),
    ) {
        // Objects shaped like replies: an envelope plus a `payload` of any JSON.
        let mut map: serde_json::Map<String, Value> = envelope.into_iter().collect();
        map.insert("payload".into(), payload);
        let body = serde_json::to_vec(&Value::Object(map)).unwrap();
        parse_all(status, &[], &body)?;
    }

    #[test]
    fn gzip_is_transparent(status in status(), value in json()) {
        let body = serde_json::to_vec(&value).unwrap();
        let plain = parse_all(status, &[], &body)?;
        let packed = parse_all(status, &[("content-encoding", "gzip")], &gzip(&body))?;
        prop_assert_eq!(plain, packed);
    }

    #[test]
    fn encode_round_trips_and_is_strict(s in any::<String>()) {
        let encoded = encode(&s);
        assert_strict(&encoded)?;
        let decoded = percent_decode_str(&encoded).decode_utf8().unwrap();
        prop_assert_eq!(decoded.as_ref(), s.as_str());
        // Raw exactly when every byte is unreserved; otherwise 3 output bytes per other byte.
        let escaped = s.bytes().filter(|b| !unreserved(*b)).count();
        prop_assert_eq!(encoded.len(), s.len() + 2 * escaped);
        prop_assert_eq!(encoded == s, escaped == 0);
    }

    #[test]
    fn request_paths_and_queries_round_trip(
        channels in prop::collection::btree_set("\\PC{1,12}", 1..5),
        groups in prop::collection::btree_set("[^,]{1,12}", 0..4),
        user in "\\PC{1,20}",
    ) {
        // Blank names and the dot segments `.`/`..` are refused by design (validation tests).
        let usable = |n: &String| !n.trim().is_empty() && n != "." && n != "..";
        let channels: Vec<String> = channels.into_iter().filter(usable).collect();
        let groups: Vec<String> = groups.into_iter().filter(usable).collect();
        prop_assume!(!channels.is_empty() && usable(&user));
        let cfg = config().to_builder().secret_key("sec").auth_token("tok").build().unwrap();
        let op = GetState::new().channels(&channels).groups(&groups).user_id(&user);
        let req = op.to_request(&cfg, &Stamp::new(TS, "r")).unwrap();
        let path = req.uri().path();
        let query = req.uri().query().unwrap();

        // Path: channels joined by a literal `,`, each decoding to one name, sorted; then user.
        let rest = path.strip_prefix("/v2/presence/sub-key/sub-c-test/channel/").unwrap();
        let (list, target) = rest.split_once("/uuid/").unwrap();
        let decoded: Vec<String> = list
            .split(',')
            .map(|c| percent_decode_str(c).decode_utf8().unwrap().into_owned())
            .collect();
        prop_assert_eq!(&decoded, &channels);
        prop_assert_eq!(percent_decode_str(target).decode_utf8().unwrap(), user.as_str());
        for segment in path.split('/') {
            for item in segment.split(',') {
                assert_strict(item)?;
            }
        }

        // Query: strictly encoded values, keys sorted, signature last and correct.
        let (unsigned, signature) = query.rsplit_once("&signature=").unwrap();
        let keys: Vec<&str> = unsigned.split('&').map(|p| p.split_once('=').unwrap().0).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        prop_assert_eq!(&keys, &sorted);
        for pair in unsigned.split('&') {
            assert_strict(pair.split_once('=').unwrap().1)?;
        }
        prop_assert_eq!(signature, sign_v2("sec", "", path, unsigned));
        let group_value = unsigned
            .split('&')
            .find_map(|p| p.strip_prefix("channel-group="))
            .map(|v| percent_decode_str(v).decode_utf8().unwrap().into_owned());
        prop_assert_eq!(group_value, (!groups.is_empty()).then(|| groups.join(",")));
    }
}
