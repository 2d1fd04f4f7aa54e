//! Shared helpers: the test keyset, request assertions and reply construction.

use std::io::Write as _;

use presence_proto::{Config, EXCERPT_LIMIT, Error, Operation, Stamp};

/// Origin of every test configuration (an emulator-style local origin).
pub(crate) const ORIGIN: &str = "http://127.0.0.1:8090";
/// The Unix time every test stamp carries.
pub(crate) const TS: u64 = 1_700_000_000;

/// Keyset `sub-c-test`, caller `alice`, local origin, no secret, no auth.
pub(crate) fn config() -> Config {
    Config::builder("sub-c-test", "alice")
        .origin(ORIGIN)
        .build()
        .unwrap()
}

/// A stamp with request id `req-1`.
pub(crate) fn stamp() -> Stamp {
    Stamp::new(TS, "req-1")
}

/// Builds `op` with [`config`] and [`stamp`], which must succeed.
#[track_caller]
pub(crate) fn build<O: Operation>(op: &O) -> http::Request<Vec<u8>> {
    op.to_request(&config(), &stamp()).unwrap()
}

/// Builds `op` with [`config`] and [`stamp`], which must fail.
#[track_caller]
pub(crate) fn build_err<O: Operation>(op: &O) -> Error {
    match op.to_request(&config(), &stamp()) {
        Ok(req) => panic!("built {} although it should fail", req.uri()),
        Err(e) => e,
    }
}

/// Asserts the whole request: `GET`, exact URL from [`ORIGIN`], exactly one header
/// (`accept-encoding: gzip`) and no body.
#[track_caller]
pub(crate) fn assert_request(req: &http::Request<Vec<u8>>, path: &str, query: &str) {
    assert_request_at(req, ORIGIN, path, query);
}

/// [`assert_request`] for another origin.
#[track_caller]
pub(crate) fn assert_request_at(
    req: &http::Request<Vec<u8>>,
    origin: &str,
    path: &str,
    query: &str,
) {
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.uri().path(), path);
    assert_eq!(req.uri().query(), Some(query));
    assert_eq!(req.uri().to_string(), format!("{origin}{path}?{query}"));
    assert_eq!(req.headers().len(), 1, "headers: {:?}", req.headers());
    assert_eq!(
        req.headers()
            .get(http::header::ACCEPT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    assert!(req.body().is_empty());
}

/// A reply with `status`, no headers and `body`.
pub(crate) fn reply(status: u16, body: &[u8]) -> http::Response<&[u8]> {
    reply_with(status, &[], body)
}

/// A reply with `status`, `headers` and `body`.
pub(crate) fn reply_with<'a>(
    status: u16,
    headers: &[(&str, &str)],
    body: &'a [u8],
) -> http::Response<&'a [u8]> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

/// The header set the live service sends with JSON (quoted charset, as recorded).
pub(crate) const LIVE_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/javascript; charset=\"UTF-8\""),
    ("server", "Pubnub Presence"),
];

/// Gzip-compresses `body` (as the service does for larger replies).
pub(crate) fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

/// The excerpt an error carries (API or decode errors), if any.
pub(crate) fn excerpt_of(error: &Error) -> Option<&str> {
    match error {
        Error::Api(api) => Some(&api.excerpt),
        Error::Decode { excerpt, .. } => Some(excerpt),
        _ => None,
    }
}

/// Asserts the excerpt bound: at most [`EXCERPT_LIMIT`] bytes.
#[track_caller]
pub(crate) fn assert_excerpt_bounded(error: &Error) {
    if let Some(excerpt) = excerpt_of(error) {
        assert!(
            excerpt.len() <= EXCERPT_LIMIT,
            "excerpt of {} bytes",
            excerpt.len()
        );
    }
}
