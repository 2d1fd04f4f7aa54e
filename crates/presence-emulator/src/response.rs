//! Reply bodies in the live service's shapes, and their encoding on the wire.

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::body::EmuBody;
use crate::json;

/// `Content-Type` of Presence replies (the quoted charset is what the live service sends).
pub(crate) const CT_PRESENCE: &str = "text/javascript; charset=\"UTF-8\"";
/// `Content-Type` of Access Manager replies (unquoted charset, as recorded).
pub(crate) const CT_ACCESS: &str = "text/javascript; charset=UTF-8";
/// `Content-Type` of the emulator's own admin replies.
pub(crate) const CT_JSON: &str = "application/json";

/// The heartbeat acknowledgement.
pub(crate) const HEARTBEAT_ACK: &str = r#"{"message":"OK","service":"Presence","status":200}"#;
/// The leave acknowledgement.
pub(crate) const LEAVE_ACK: &str =
    r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#;
/// The channel-registry acknowledgement.
pub(crate) const REGISTRY_ACK: &str =
    r#"{"error":false,"message":"OK","service":"channel-registry","status":200}"#;

const NOT_ENABLED: &str = "This feature is not turned on for this account. Contact support@pubnub.com to activate this feature.";

/// A reply before it is put on the wire: HTTP status, body text, content type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The body; the fixed acknowledgements are `'static` and go out without a copy.
    pub(crate) body: Cow<'static, str>,
    pub(crate) content_type: HeaderValue,
}

impl Reply {
    /// HTTP `status` with `value` as a compact sorted JSON Presence body.
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            body: Cow::Owned(json::to_string(value)),
            content_type: HeaderValue::from_static(CT_PRESENCE),
        }
    }

    /// HTTP 200 with an already serialised Presence JSON body.
    pub(crate) fn ok_text(body: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            content_type: HeaderValue::from_static(CT_PRESENCE),
        }
    }

    /// HTTP 200 with `value`.
    pub(crate) fn ok(value: &Value) -> Self {
        Self::json(200, value)
    }

    /// `{"error":true,"message":…,"service":"Presence","status":N}` with HTTP `status`.
    pub(crate) fn presence_error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            &json!({"error": true, "message": message, "service": "Presence", "status": status}),
        )
    }

    /// `{"error":true,"message":…,"service":"channel-registry","status":N}`.
    pub(crate) fn registry_error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            &json!({"error": true, "message": message, "service": "channel-registry", "status": status}),
        )
    }

    /// HTTP 200 carrying the body status 400 "No valid channels specified" (E400).
    pub(crate) fn no_valid_channels() -> Self {
        Self::json(
            200,
            &json!({"message": "No valid channels specified", "service": "Presence", "status": 400}),
        )
    }

    /// HTTP 402 "feature is not turned on" with `"error": 1` (E402).
    pub(crate) fn not_enabled() -> Self {
        Self::json(
            402,
            &json!({"error": 1, "message": NOT_ENABLED, "service": "Presence", "status": 402}),
        )
    }

    /// HTTP 403 Access Manager "Forbidden" naming the refused channels and groups (groups
    /// with a leading `:` as the service writes them). Ends with a newline, as recorded.
    pub(crate) fn forbidden(channels: &[String], groups: &[String]) -> Self {
        let mut payload = serde_json::Map::new();
        if !channels.is_empty() || groups.is_empty() {
            payload.insert("channels".into(), json!(channels));
        }
        if !groups.is_empty() {
            let marked: Vec<String> = groups.iter().map(|g| format!(":{g}")).collect();
            payload.insert("channel-groups".into(), json!(marked));
        }
        Self::access_manager(&json!({
            "error": true, "message": "Forbidden", "payload": payload,
            "service": "Access Manager", "status": 403
        }))
    }

    /// HTTP 403 Access Manager "Signature does not match".
    pub(crate) fn signature_mismatch() -> Self {
        Self::access_manager(&json!({
            "error": true, "message": "Signature does not match",
            "service": "Access Manager", "status": 403
        }))
    }

    fn access_manager(value: &Value) -> Self {
        let mut body = json::to_string(value);
        body.push('\n');
        Self {
            status: 403,
            body: Cow::Owned(body),
            content_type: HeaderValue::from_static(CT_ACCESS),
        }
    }

    /// An admin (`/_emulator`) reply.
    pub(crate) fn admin(status: u16, value: &Value) -> Self {
        Self {
            status,
            body: Cow::Owned(json::to_string(value)),
            content_type: HeaderValue::from_static(CT_JSON),
        }
    }

    /// An admin error reply.
    pub(crate) fn admin_error(status: u16, message: &str) -> Self {
        Self::admin(
            status,
            &json!({"error": true, "message": message, "service": "emulator", "status": status}),
        )
    }
}

/// A reply as bytes, ready to be framed: status, headers and the (possibly gzipped) body.
#[derive(Debug)]
pub(crate) struct Wire {
    pub(crate) status: StatusCode,
    pub(crate) content_type: HeaderValue,
    pub(crate) gzip: bool,
    pub(crate) retry_after: Option<u64>,
    pub(crate) body: Bytes,
}

impl Wire {
    /// Encodes `reply`, gzipping the body when the client accepts gzip and the body is
    /// longer than `gzip_threshold` bytes.
    pub(crate) fn encode(reply: Reply, accepts_gzip: bool, gzip_threshold: usize) -> Self {
        let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
        let raw = match reply.body {
            Cow::Borrowed(text) => Bytes::from_static(text.as_bytes()),
            Cow::Owned(text) => Bytes::from(text),
        };
        let (gzip, body) = if accepts_gzip && raw.len() > gzip_threshold {
            match gzip_bytes(&raw) {
                Some(z) => (true, Bytes::from(z)),
                None => (false, raw),
            }
        } else {
            (false, raw)
        };
        Self {
            status,
            content_type: reply.content_type,
            gzip,
            retry_after: None,
            body,
        }
    }

    /// Builds the HTTP response around `body` (which decides how the bytes are sent).
    pub(crate) fn into_response(self, body: EmuBody) -> Response<EmuBody> {
        let mut res = Response::new(body);
        *res.status_mut() = self.status;
        // Cloning a ready-made map costs a fraction of inserting (hashing) five headers.
        let h = res.headers_mut();
        *h = common_headers().clone();
        if self.content_type != CT_PRESENCE {
            h.insert(header::CONTENT_TYPE, self.content_type);
        }
        if self.gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The headers of every reply, in the live service's order, with the Presence content type.
fn common_headers() -> &'static HeaderMap {
    static HEADERS: OnceLock<HeaderMap> = OnceLock::new();
    HEADERS.get_or_init(|| {
        let mut h = HeaderMap::with_capacity(8);
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CT_PRESENCE));
        h.insert(header::SERVER, HeaderValue::from_static("Pubnub Presence"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("OPTIONS, GET, POST"),
        );
        h
    })
}

pub(crate) fn gzip_bytes(raw: &[u8]) -> Option<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 4 + 64), Compression::fast());
    enc.write_all(raw).ok()?;
    enc.finish().ok()
}

/// Whether an `Accept-Encoding` header value allows gzip (and does not refuse it with `q=0`).
pub(crate) fn accepts_gzip(value: Option<&HeaderValue>) -> bool {
    let Some(text) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    text.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shapes() {
        assert_eq!(
            Reply::no_valid_channels().body,
            r#"{"message":"No valid channels specified","service":"Presence","status":400}"#
        );
        assert_eq!(Reply::not_enabled().status, 402);
        assert!(Reply::not_enabled().body.starts_with(r#"{"error":1,"#));
        assert_eq!(
            Reply::forbidden(&["demo".into()], &[]).body,
            "{\"error\":true,\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"demo\"]},\"service\":\"Access Manager\",\"status\":403}\n"
        );
        assert_eq!(
            Reply::forbidden(&[], &["g".into()]).body,
            "{\"error\":true,\"message\":\"Forbidden\",\"payload\":{\"channel-groups\":[\":g\"]},\"service\":\"Access Manager\",\"status\":403}\n"
        );
    }

    #[test]
    fn gzip_negotiation() {
        let v = |s: &'static str| Some(HeaderValue::from_static(s));
        assert!(accepts_gzip(v("gzip, deflate").as_ref()));
        assert!(accepts_gzip(v("deflate, GZIP;q=0.5").as_ref()));
        assert!(!accepts_gzip(v("gzip;q=0").as_ref()));
        assert!(!accepts_gzip(v("identity").as_ref()));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn gzips_only_large_bodies() {
        let small = Wire::encode(Reply::presence_error(400, "x"), true, 1024);
        assert!(!small.gzip);
        let big = Reply::presence_error(400, &"y".repeat(2000));
        assert!(Wire::encode(big.clone(), true, 1024).gzip);
        assert!(!Wire::encode(big, false, 1024).gzip);
    }
}
