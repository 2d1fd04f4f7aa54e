//! Strict request parsing: the route from the raw path, the query parameters, channel and
//! group lists and names.
//!
//! Channel lists in the path are split on literal `,` *before* each name is
//! percent-decoded, so a `%2C` inside a name survives; the single character `,` means "no
//! channels". A `channel-group` value is decoded first and then split on `,`, so both a
//! literal `,` and `%2C` separate groups.

use std::borrow::Cow;

use crate::operation::Operation;
use crate::response::Reply;
use crate::url::{DecodeError, decode};

/// URLs (path and query) longer than this answer 414.
pub(crate) const MAX_URL_BYTES: usize = 32 * 1024;
/// Channel, group and uuid names longer than this (in UTF-8 bytes) answer 400.
pub(crate) const MAX_NAME_BYTES: usize = 92;
/// At most this many channels named in one request.
pub(crate) const MAX_CHANNELS_PER_REQUEST: usize = 1000;
/// At most this many channel groups named in one request.
pub(crate) const MAX_GROUPS_PER_REQUEST: usize = 100;

/// A request the emulator refuses before doing anything: HTTP status and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadRequest {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl BadRequest {
    /// A 400 with `message`.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }

    /// The same error as a channel-registry reply.
    pub(crate) fn registry(self) -> Reply {
        Reply::registry_error(self.status, &self.message)
    }
}

impl From<BadRequest> for Reply {
    fn from(e: BadRequest) -> Self {
        Reply::presence_error(e.status, &e.message)
    }
}

/// What a path asks for, with its raw (still encoded) segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    GlobalHereNow,
    HereNow { channels: &'a str },
    Heartbeat { channels: &'a str },
    Leave { channels: &'a str },
    GetState { channels: &'a str, uuid: &'a str },
    SetState { channels: &'a str, uuid: &'a str },
    WhereNow { uuid: &'a str },
    Group { group: &'a str },
    GroupDelete { group: &'a str },
    GroupList,
}

/// A routed path: the raw subscribe key and the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub(crate) sub_key: &'a str,
    pub(crate) route: Route<'a>,
}

impl Route<'_> {
    /// The operation this route performs.
    pub(crate) fn operation(self) -> Operation {
        match self {
            Route::GlobalHereNow | Route::HereNow { .. } => Operation::HereNow,
            Route::Heartbeat { .. } => Operation::Heartbeat,
            Route::Leave { .. } => Operation::Leave,
            Route::GetState { .. } => Operation::GetState,
            Route::SetState { .. } => Operation::SetState,
            Route::WhereNow { .. } => Operation::WhereNow,
            Route::Group { .. } | Route::GroupDelete { .. } | Route::GroupList => {
                Operation::ChannelGroup
            }
        }
    }

    /// Whether this is a `/v2/presence` route (as opposed to channel registration).
    pub(crate) fn is_presence(self) -> bool {
        self.operation() != Operation::ChannelGroup
    }
}

/// Routes a raw path; `None` means no such endpoint (404).
pub(crate) fn route(path: &str) -> Option<Target<'_>> {
    // Split into a fixed array: no allocation, and absurdly deep paths are simply unknown.
    let mut buf = [""; 10];
    let mut n = 0;
    for part in path.split('/') {
        *buf.get_mut(n)? = part;
        n += 1;
    }
    match buf.get(..n)? {
        ["", "v2", "presence", key, sk, rest @ ..] if is_sub_key(key) => {
            let route = match rest {
                [] => Route::GlobalHereNow,
                ["channel", chs] => Route::HereNow { channels: chs },
                ["channel", chs, "heartbeat"] => Route::Heartbeat { channels: chs },
                ["channel", chs, "leave"] => Route::Leave { channels: chs },
                ["channel", chs, "uuid", uuid] => Route::GetState {
                    channels: chs,
                    uuid,
                },
                ["channel", chs, "uuid", uuid, "data"] => Route::SetState {
                    channels: chs,
                    uuid,
                },
                ["uuid", uuid] => Route::WhereNow { uuid },
                _ => return None,
            };
            Some(Target { sub_key: sk, route })
        }
        [
            "",
            "v1",
            "channel-registration",
            key,
            sk,
            "channel-group",
            rest @ ..,
        ] if is_sub_key(key) => {
            let route = match rest {
                [] => Route::GroupList,
                [group] => Route::Group { group },
                [group, "remove"] => Route::GroupDelete { group },
                _ => return None,
            };
            Some(Target { sub_key: sk, route })
        }
        _ => None,
    }
}

fn is_sub_key(segment: &str) -> bool {
    segment == "sub-key" || segment == "sub_key"
}

/// Decoded query parameters, in the order sent; every key at most once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Parses a raw query string (`a=1&b=2`; a bare `ee` counts as `ee=`; `+` is a space).
    pub(crate) fn parse(raw: &'a str) -> Result<Self, BadRequest> {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(8);
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            let key = decode(k, true).map_err(|e| bad(&e, "a query parameter name"))?;
            let value =
                decode(v, true).map_err(|e| bad(&e, &format!("query parameter `{key}`")))?;
            if pairs.iter().any(|(existing, _)| *existing == key) {
                return Err(BadRequest::new(format!(
                    "Duplicate query parameter `{key}`"
                )));
            }
            pairs.push((key, value));
        }
        Ok(Self { pairs })
    }

    /// The decoded value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Whether `key` is set to a true value (`1` or `true`).
    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true"))
    }

    /// All pairs, borrowed.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        self.pairs.iter().map(|(k, v)| (&**k, &**v)).collect()
    }

    /// The channel groups named by `channel-group` (or the legacy `channel_group`), with
    /// empty names dropped and duplicates removed.
    pub(crate) fn groups(&self) -> Result<Vec<String>, BadRequest> {
        let Some(raw) = self
            .get("channel-group")
            .or_else(|| self.get("channel_group"))
        else {
            return Ok(Vec::new());
        };
        let mut out: Vec<String> = Vec::new();
        for name in raw.split(',').filter(|n| !n.is_empty()) {
            check_name(name, "channel group")?;
            if !out.iter().any(|g| g == name) {
                out.push(name.to_owned());
            }
        }
        if out.len() > MAX_GROUPS_PER_REQUEST {
            return Err(BadRequest::new("Too many channel groups"));
        }
        Ok(out)
    }

    /// The caller's `uuid`, required on every call.
    pub(crate) fn caller(&self) -> Result<&str, BadRequest> {
        match self.get("uuid") {
            Some(u) if !u.trim().is_empty() => {
                check_name(u, "uuid")?;
                Ok(u)
            }
            _ => Err(BadRequest::new("Missing uuid")),
        }
    }
}

/// Splits a raw path channel list on literal `,` and decodes each name; `,` alone is the
/// empty list. Duplicates are dropped (first occurrence kept).
pub(crate) fn channel_list(raw: &str) -> Result<Vec<String>, BadRequest> {
    if raw == "," {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for piece in raw.split(',') {
        let name = decode(piece, false).map_err(|e| bad(&e, "a channel name"))?;
        check_name(&name, "channel")?;
        if !out.iter().any(|c| *c == name) {
            out.push(name.into_owned());
        }
    }
    if out.len() > MAX_CHANNELS_PER_REQUEST {
        return Err(BadRequest::new("Too many channels"));
    }
    Ok(out)
}

/// Decodes one raw path segment (a uuid, a group or a subscribe key) and checks its length.
pub(crate) fn segment(raw: &str, what: &str) -> Result<String, BadRequest> {
    let name = decode(raw, false).map_err(|e| bad(&e, what))?;
    check_name(&name, what)?;
    Ok(name.into_owned())
}

/// A comma list in a query value (`add=`/`remove=`), already decoded: split on `,`.
pub(crate) fn value_list(value: &str, what: &str) -> Result<Vec<String>, BadRequest> {
    let mut out: Vec<String> = Vec::new();
    for name in value.split(',').filter(|n| !n.is_empty()) {
        check_name(name, what)?;
        if !out.iter().any(|c| c == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

fn check_name(name: &str, what: &str) -> Result<(), BadRequest> {
    if name.is_empty() {
        return Err(BadRequest::new(format!("Invalid {what}: empty name")));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(BadRequest::new(format!(
            "Invalid {what}: longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    Ok(())
}

fn bad(e: &DecodeError, what: &str) -> BadRequest {
    let msg = match e {
        DecodeError::BadEscape => format!("Invalid percent-encoding in {what}"),
        DecodeError::NotUtf8 => format!("Invalid UTF-8 in {what}"),
    };
    BadRequest::new(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let t = |p| route(p).map(|t| t.route);
        assert_eq!(t("/v2/presence/sub-key/k"), Some(Route::GlobalHereNow));
        assert_eq!(
            t("/v2/presence/sub_key/k/channel/a,b"),
            Some(Route::HereNow { channels: "a,b" })
        );
        assert_eq!(
            t("/v2/presence/sub-key/k/channel/,/heartbeat"),
            Some(Route::Heartbeat { channels: "," })
        );
        assert_eq!(
            t("/v2/presence/sub-key/k/channel/a/leave"),
            Some(Route::Leave { channels: "a" })
        );
        assert_eq!(
            t("/v2/presence/sub-key/k/channel/a/uuid/u"),
            Some(Route::GetState {
                channels: "a",
                uuid: "u"
            })
        );
        assert_eq!(
            t("/v2/presence/sub-key/k/channel/a/uuid/u/data"),
            Some(Route::SetState {
                channels: "a",
                uuid: "u"
            })
        );
        assert_eq!(
            t("/v2/presence/sub-key/k/uuid/u"),
            Some(Route::WhereNow { uuid: "u" })
        );
        assert_eq!(
            t("/v1/channel-registration/sub-key/k/channel-group/g"),
            Some(Route::Group { group: "g" })
        );
        assert_eq!(
            t("/v1/channel-registration/sub_key/k/channel-group/g/remove"),
            Some(Route::GroupDelete { group: "g" })
        );
        assert_eq!(
            t("/v1/channel-registration/sub-key/k/channel-group"),
            Some(Route::GroupList)
        );
        assert_eq!(t("/v2/presence/subkey/k"), None);
        assert_eq!(t("/v2/presence/sub-key/k/channel/a/other"), None);
        assert_eq!(t("/"), None);
    }

    #[test]
    fn channel_lists() {
        assert_eq!(channel_list(","), Ok(vec![]));
        assert_eq!(
            channel_list("a,b,a"),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            channel_list("a%2Cb,c"),
            Ok(vec!["a,b".to_owned(), "c".to_owned()])
        );
        assert_eq!(channel_list("a+b"), Ok(vec!["a+b".to_owned()]));
        assert!(channel_list("a,").is_err());
        assert!(channel_list("").is_err());
        assert!(channel_list("%zz").is_err());
        assert!(channel_list(&"x".repeat(93)).is_err());
        assert!(channel_list(&"x".repeat(92)).is_ok());
    }

    #[test]
    fn queries() {
        let q = Query::parse("uuid=me&channel-group=a%2Cb,c&ee&state=%7B%22a%22%3A+1%7D")
            .unwrap_or_default();
        assert_eq!(q.get("ee"), Some(""));
        assert_eq!(q.get("state"), Some("{\"a\": 1}"));
        assert_eq!(
            q.groups().ok(),
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert_eq!(q.caller().ok(), Some("me"));
        assert!(Query::parse("a=1&a=2").is_err());
        assert!(Query::parse("a=%").is_err());
        let kt = Query::parse("channel-group=,").unwrap_or_default();
        assert_eq!(kt.groups().ok(), Some(vec![]));
        assert!(Query::parse("").unwrap_or_default().caller().is_err());
        assert!(
            Query::parse("uuid=%20")
                .unwrap_or_default()
                .caller()
                .is_err()
        );
    }
}
