//! Shared reply handling: inflate, classify HTTP and body status, and decode typed bodies.
//!
//! Every operation's `parse` goes through [`decode`], so the rules of spec §2 live in one place:
//! HTTP status first, then the body's own `status`/`error` fields (an HTTP 200 can carry an
//! error), never the `Content-Type`.

use std::borrow::Cow;
use std::io::Read as _;
use std::time::Duration;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use crate::error::{ApiError, Error, excerpt};

/// Largest inflated body the core accepts from a gzip reply (a bound against gzip bombs).
pub const MAX_INFLATED_BYTES: usize = 16 * 1024 * 1024;

/// The envelope fields every body may carry; implemented by each typed body.
pub(crate) trait Envelope {
    /// The body's `status`, if numeric.
    fn status(&self) -> Option<u16>;
    /// The body's `error` flag (`true` or `1`).
    fn error(&self) -> bool;
}

/// Implements [`Envelope`] for a body struct with `status: Option<Status>` and `error: Flag`.
macro_rules! envelope {
    ($ty:ty) => {
        impl $crate::response::Envelope for $ty {
            fn status(&self) -> Option<u16> {
                self.status.map(|s| s.0)
            }
            fn error(&self) -> bool {
                self.error.0
            }
        }
    };
}
pub(crate) use envelope;

/// Checks the HTTP status and body, then decodes the typed body `T`.
pub(crate) fn decode<T>(response: &http::Response<&[u8]>) -> Result<T, Error>
where
    T: DeserializeOwned + Envelope,
{
    let status = response.status().as_u16();
    let body = inflate(response)?;
    if !response.status().is_success() {
        return Err(api_error(status, &body, response.headers()));
    }
    match serde_json::from_slice::<T>(&body) {
        Ok(typed) => {
            if typed.error() || typed.status().is_some_and(|s| s >= 400) {
                Err(api_error(status, &body, response.headers()))
            } else {
                Ok(typed)
            }
        }
        Err(json_error) => {
            // A success status with a body of another shape may still be an error body
            // (e.g. an Access Manager 403 inside a 200); otherwise it is undecodable.
            if is_error_body(&body) {
                Err(api_error(status, &body, response.headers()))
            } else {
                let reason = if body.iter().all(u8::is_ascii_whitespace) {
                    "empty body".to_owned()
                } else if json_error.is_eof() {
                    "truncated JSON body".to_owned()
                } else if json_error.is_syntax() {
                    "body is not JSON".to_owned()
                } else {
                    format!("unexpected body shape: {json_error}")
                };
                Err(Error::decode(status, reason, &body, Some(json_error)))
            }
        }
    }
}

/// A decode error for a reply that passed [`decode`] but lacks what the operation needs; its
/// excerpt shows the inflated body, not gzip bytes.
pub(crate) fn shape_error(response: &http::Response<&[u8]>, reason: &str) -> Error {
    let raw = *response.body();
    let body = inflate(response).unwrap_or(Cow::Borrowed(raw));
    Error::decode(response.status().as_u16(), reason, &body, None)
}

/// The body, inflated when `Content-Encoding` says gzip.
fn inflate<'a>(response: &http::Response<&'a [u8]>) -> Result<Cow<'a, [u8]>, Error> {
    let body = *response.body();
    let gzip = response
        .headers()
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("gzip"))
        });
    // Some stacks inflate already but keep the header: only inflate real gzip (magic 1f 8b).
    if !gzip || !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(MAX_INFLATED_BYTES));
    let mut reader = flate2::read::MultiGzDecoder::new(body).take(MAX_INFLATED_BYTES as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| {
        Error::decode(
            response.status().as_u16(),
            format!("gzip body could not be inflated: {e}"),
            body,
            None,
        )
    })?;
    if out.len() > MAX_INFLATED_BYTES {
        return Err(Error::BodyTooLarge {
            limit: MAX_INFLATED_BYTES,
        });
    }
    Ok(Cow::Owned(out))
}

/// True when the body is a JSON object that reports an error (`error` truthy or `status` ≥ 400).
fn is_error_body(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            map.get("error").is_some_and(truthy)
                || map
                    .get("status")
                    .and_then(status_of)
                    .is_some_and(|s| s >= 400)
        }
        _ => false,
    }
}

/// Builds the API error from whatever the body says, tolerating any body (HTML, empty, …).
fn api_error(http_status: u16, body: &[u8], headers: &http::HeaderMap) -> Error {
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let object = json.as_ref().and_then(|v| v.as_object());
    let field = |key: &str| object.and_then(|o| o.get(key));
    let body_status = field("status").and_then(status_of).filter(|s| *s >= 400);
    let status = if (200..300).contains(&http_status) || http_status < 100 {
        // An error carried in a success reply: trust the body; `error: true` alone is a 400.
        body_status.unwrap_or(400)
    } else {
        http_status
    };
    let string = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let list = |key: &str| -> Vec<String> {
        field("payload")
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let groups = list("channel-groups")
        .into_iter()
        .map(|g| g.strip_prefix(':').map(str::to_owned).unwrap_or(g))
        .collect();
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Error::Api(Box::new(ApiError {
        status,
        http_status,
        message: string(field("message")).or_else(|| string(field("error_message"))),
        service: string(field("service")),
        channels: list("channels"),
        groups,
        retry_after,
        excerpt: excerpt(body),
    }))
}

fn truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => !s.is_empty() && s != "0" && s != "false",
        _ => false,
    }
}

fn status_of(v: &serde_json::Value) -> Option<u16> {
    match v {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A body `status` field: a number (or numeric string); anything else reads as absent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Status(pub(crate) u16);

/// Deserialises an optional lenient status (for `#[serde(default, deserialize_with)]`).
pub(crate) fn lenient_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Status>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a status code")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(u16::try_from(v).ok().map(Status))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u16::try_from(v).ok().map(Status))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok((v >= 0.0 && v <= f64::from(u16::MAX)).then_some(Status(v as u16)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse().ok().map(Status))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A body `error` field: `true`, a non-zero number or a non-empty string means error.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flag(pub(crate) bool);

impl<'de> serde::Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an error flag")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Flag, E> {
                Ok(Flag(v != 0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Flag, E> {
                Ok(Flag(v != 0))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Flag, E> {
                Ok(Flag(v != 0.0))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                Ok(Flag(!v.is_empty() && v != "0" && v != "false"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Flag, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Flag(true))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Flag, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Flag(true))
            }
        }
        d.deserialize_any(V)
    }
}

/// The common envelope alone, for acknowledgement replies (heartbeat, leave, registration).
#[derive(serde::Deserialize)]
pub(crate) struct AckBody {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
}
envelope!(AckBody);
