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
    let retry_after = retry_after(headers);
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

/// The `Retry-After` delay of a reply: delta-seconds (`120`), or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, also the obsolete RFC 850 and asctime forms).
///
/// The core reads no clock, so a date is turned into a delay against the reply's own `Date`
/// header (the server's clock on both sides, immune to skew with ours): a date at or before
/// `Date` is a delay of zero. Without a usable `Date` header the delay is unknown (`None`), as
/// for garbage: the retry policy or the session's own schedule decides.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(value)?;
    let date = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| http_date(v.trim()))?;
    Some(Duration::from_secs(at.saturating_sub(date)))
}

/// Seconds since the Unix epoch of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 or
/// asctime; `None` for anything else.
pub(crate) fn http_date(text: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if text.len() > 64 {
        return None;
    }
    let mut month = None;
    let mut time = None;
    let mut numbers = Vec::with_capacity(2);
    let mut zone_ok = true;
    for (i, token) in text
        .split([' ', ',', '-'])
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        if token.contains(':') {
            let mut parts = token.split(':').map(|p| {
                (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse::<u64>().ok())
                    .flatten()
            });
            let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
            if parts.next().is_some() || h > 23 || m > 59 || s > 60 || time.is_some() {
                return None;
            }
            time = Some(h * 3600 + m * 60 + s.min(59));
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            numbers.push(token);
        } else if i == 0 {
            // The weekday: not checked against the date (as most parsers do).
        } else if let Some(m) = MONTHS.iter().position(|m| token.eq_ignore_ascii_case(m)) {
            if month.is_some() {
                return None;
            }
            month = Some(m as u64 + 1);
        } else {
            zone_ok &= token.eq_ignore_ascii_case("GMT") || token.eq_ignore_ascii_case("UTC");
        }
    }
    let (month, time) = (month?, time?);
    if !zone_ok || numbers.len() != 2 {
        return None;
    }
    let day_text = numbers.first()?;
    let year_text = numbers.get(1)?;
    let day: u64 = day_text.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: u64 = match year_text.len() {
        // RFC 850's two-digit year: 70–99 are the 1900s, the rest this century.
        2 => year_text
            .parse::<u64>()
            .ok()
            .map(|y| if y >= 70 { 1900 + y } else { 2000 + y })?,
        4 => year_text.parse().ok().filter(|y| *y >= 1970)?,
        _ => return None,
    };
    let days = days_from_civil(year, month, day)?;
    Some(days * 86_400 + time)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm), checking the
/// day against the month's length.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let length = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > length {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_all_three_forms() {
        let expected = Some(784_111_777); // 1994-11-06 08:49:37 UTC
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(http_date("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599)
        );
        for bad in [
            "",
            "soon",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 2027 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT 12",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 19940 08:49:37 GMT",
        ] {
            assert_eq!(http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_dates_count_from_the_replys_date() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = http::HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, http::HeaderValue::from_str(v).unwrap());
            }
            map
        };
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "Wed, 21 Oct 2015 07:30:00 GMT"),
                ("date", date)
            ])),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT"),
                ("date", date)
            ])),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:30:00 GMT"
            )])),
            None,
            "no Date: unknown"
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "999999")])),
            Some(Duration::from_secs(999_999))
        );
    }
}
