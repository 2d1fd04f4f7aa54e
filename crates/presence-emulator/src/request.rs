//! Strict request parsing: the route from the raw path, the query parameters, channel and
//! group lists and names.
//!
//! Channel lists in the path are split on literal `,` *before* each name is
//! percent-decoded, so a `%2C` inside a name survives; the single character `,` means "no
//! channels". A `channel-group` value is decoded first and then split on `,`, so both a
//! literal `,` and `%2C` separate groups.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::operation::Operation;
use crate::response::Reply;
use crate::url::{DecodeError, decode, split_ascii, split_once_ascii};

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
    Subscribe { channels: &'a str },
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
            Route::Subscribe { .. } => Operation::Subscribe,
        }
    }

    /// Whether this route answers errors in the Presence shape (as opposed to channel
    /// registration).
    pub(crate) fn is_presence(self) -> bool {
        self.operation() != Operation::ChannelGroup
    }
}

/// Routes a raw path; `None` means no such endpoint (404).
pub(crate) fn route(path: &str) -> Option<Target<'_>> {
    // Fixed prefixes first, then the few remaining segments into a fixed array: no
    // allocation, and absurdly deep paths are simply unknown.
    if let Some(rest) = path.strip_prefix("/v2/presence/") {
        let (sub_key, tail) = keyed(rest)?;
        let route = match tail {
            None => Route::GlobalHereNow,
            Some(tail) => match Segments::<5>::split(tail)?.as_slice() {
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
            },
        };
        return Some(Target { sub_key, route });
    }
    if let Some(rest) = path.strip_prefix("/v2/subscribe/") {
        // `/v2/subscribe/{sk}/{channels}/{callback}`; the callback segment is legacy (`0`).
        return match Segments::<3>::split(rest)?.as_slice() {
            [sub_key, channels, _callback] if !sub_key.is_empty() && !channels.is_empty() => {
                Some(Target {
                    sub_key,
                    route: Route::Subscribe { channels },
                })
            }
            _ => None,
        };
    }
    if let Some(rest) = path.strip_prefix("/v1/channel-registration/") {
        let (sub_key, tail) = keyed(rest)?;
        let route = match Segments::<4>::split(tail?)?.as_slice() {
            ["channel-group"] => Route::GroupList,
            ["channel-group", group] => Route::Group { group },
            ["channel-group", group, "remove"] => Route::GroupDelete { group },
            _ => return None,
        };
        return Some(Target { sub_key, route });
    }
    None
}

/// `sub-key/{sk}[/tail]` → (`sk`, `tail`).
fn keyed(rest: &str) -> Option<(&str, Option<&str>)> {
    let (key, rest) = split_once_ascii(rest, b'/')?;
    if !is_sub_key(key) {
        return None;
    }
    Some(match split_once_ascii(rest, b'/') {
        Some((sub_key, tail)) => (sub_key, Some(tail)),
        None => (rest, None),
    })
}

/// At most `N` `/`-separated segments of a path, without allocating.
struct Segments<'a, const N: usize> {
    parts: [&'a str; N],
    len: usize,
}

impl<'a, const N: usize> Segments<'a, N> {
    /// The segments of `s`; `None` when there are more than `N`.
    fn split(s: &'a str) -> Option<Self> {
        let mut parts = [""; N];
        let mut len = 0;
        for part in split_ascii(s, b'/') {
            *parts.get_mut(len)? = part;
            len += 1;
        }
        Some(Self { parts, len })
    }

    fn as_slice(&self) -> &[&'a str] {
        self.parts.get(..self.len).unwrap_or(&[])
    }
}

fn is_sub_key(segment: &str) -> bool {
    segment == "sub-key" || segment == "sub_key"
}

/// One decoded `name=value` query pair.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Pairs kept inline before the query spills to the heap (SDK requests send 2 to 6).
const INLINE_PAIRS: usize = 8;

/// Decoded query parameters, in the order sent.
///
/// Every parameter name may appear at most once (names compared after percent-decoding,
/// `channel_group` counting as `channel-group`): a repeated parameter is a 400, whatever the
/// values, so that no handler has to pick between two values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    inline: [Pair<'a>; INLINE_PAIRS],
    len: usize,
    spilled: Vec<Pair<'a>>,
}

impl<'a> Query<'a> {
    /// Parses a raw query string (`a=1&b=2`; a bare `ee` counts as `ee=`; `+` is a space).
    pub(crate) fn parse(raw: &'a str) -> Result<Self, BadRequest> {
        let mut query = Self::default();
        for piece in split_ascii(raw, b'&').filter(|p| !p.is_empty()) {
            let (k, v) = split_once_ascii(piece, b'=').unwrap_or((piece, ""));
            let key = decode(k, true).map_err(|e| bad(&e, "a query parameter name"))?;
            let value =
                decode(v, true).map_err(|e| bad(&e, &format!("query parameter `{key}`")))?;
            query.push((key, value));
        }
        query.check_duplicates()?;
        Ok(query)
    }

    fn push(&mut self, pair: Pair<'a>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = pair,
            None => self.spilled.push(pair),
        }
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &Pair<'a>> {
        self.inline.iter().take(self.len).chain(&self.spilled)
    }

    /// Refuses a parameter given twice (`channel_group` is the legacy spelling of
    /// `channel-group`, so giving both is giving it twice).
    fn check_duplicates(&self) -> Result<(), BadRequest> {
        fn canonical(k: &str) -> &str {
            if k == "channel_group" {
                "channel-group"
            } else {
                k
            }
        }
        let duplicate = if self.len <= 16 {
            self.iter().enumerate().find_map(|(i, (k, _))| {
                let k = canonical(k);
                self.iter()
                    .take(i)
                    .any(|(prev, _)| canonical(prev) == k)
                    .then_some(k)
            })
        } else {
            let mut seen = HashSet::with_capacity(self.len);
            self.iter()
                .map(|(k, _)| canonical(k))
                .find(|k| !seen.insert(*k))
        };
        match duplicate {
            Some(key) => Err(BadRequest::new(format!(
                "Duplicate query parameter `{key}`"
            ))),
            None => Ok(()),
        }
    }

    /// The decoded value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// Whether `key` is set to a true value (`1` or `true`).
    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true"))
    }

    /// All pairs, borrowed.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        self.iter().map(|(k, v)| (&**k, &**v)).collect()
    }

    /// The channel groups named by `channel-group` (or the legacy `channel_group`), with
    /// empty names dropped and duplicates removed.
    pub(crate) fn groups(&self) -> Result<Vec<&str>, BadRequest> {
        let Some(raw) = self
            .get("channel-group")
            .or_else(|| self.get("channel_group"))
        else {
            return Ok(Vec::new());
        };
        let mut out: Vec<&str> = Vec::new();
        for name in split_ascii(raw, b',').filter(|n| !n.is_empty()) {
            check_name(name, "channel group")?;
            out.push(name);
        }
        dedup(&mut out);
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

/// Names decoded from a request: borrowed from the URL unless they had escapes.
pub(crate) type Names<'a> = Vec<Cow<'a, str>>;

/// Splits a raw path channel list on literal `,` and decodes each name; `,` alone is the
/// empty list. Duplicates are dropped (first occurrence kept); more than
/// [`MAX_CHANNELS_PER_REQUEST`] distinct names is a 400.
pub(crate) fn channel_list(raw: &str) -> Result<Names<'_>, BadRequest> {
    if raw == "," {
        return Ok(Vec::new());
    }
    let mut out: Names<'_> = Vec::new();
    for piece in split_ascii(raw, b',') {
        let name = decode(piece, false).map_err(|e| bad(&e, "a channel name"))?;
        check_name(&name, "channel")?;
        out.push(name);
    }
    dedup(&mut out);
    if out.len() > MAX_CHANNELS_PER_REQUEST {
        return Err(BadRequest::new("Too many channels"));
    }
    Ok(out)
}

/// Decodes one raw path segment (a uuid, a group or a subscribe key) and checks its length.
pub(crate) fn segment<'a>(raw: &'a str, what: &str) -> Result<Cow<'a, str>, BadRequest> {
    let name = decode(raw, false).map_err(|e| bad(&e, what))?;
    check_name(&name, what)?;
    Ok(name)
}

/// A comma list in a query value (`add=`/`remove=`), already decoded: split on `,`.
pub(crate) fn value_list(value: &str, what: &str) -> Result<Vec<String>, BadRequest> {
    let mut out: Vec<&str> = Vec::new();
    for name in split_ascii(value, b',').filter(|n| !n.is_empty()) {
        check_name(name, what)?;
        out.push(name);
    }
    dedup(&mut out);
    Ok(out.into_iter().map(str::to_owned).collect())
}

/// Removes repeated names, keeping the first of each, in `O(n)` for long lists (a URL
/// can name thousands).
fn dedup<T: AsRef<str>>(items: &mut Vec<T>) {
    if items.len() <= 16 {
        let mut i = 0;
        while i < items.len() {
            let (before, rest) = items.split_at(i);
            let repeated = rest
                .first()
                .is_some_and(|x| before.iter().any(|b| b.as_ref() == x.as_ref()));
            if repeated {
                items.remove(i);
            } else {
                i += 1;
            }
        }
        return;
    }
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(items.len());
        items.iter().map(|x| seen.insert(x.as_ref())).collect()
    };
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(false));
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
        assert_eq!(
            t("/v2/subscribe/k/a,a-pnpres/0"),
            Some(Route::Subscribe {
                channels: "a,a-pnpres"
            })
        );
        assert_eq!(t("/v2/subscribe/k/a"), None);
        assert_eq!(t("/v2/subscribe/k//0"), None);
        assert_eq!(t("/v2/subscribe/k/a/0/x"), None);
        assert_eq!(t("/v2/presence/subkey/k"), None);
        assert_eq!(t("/v2/presence/sub-key/k/channel/a/other"), None);
        assert_eq!(t("/"), None);
    }

    /// The router before it matched prefixes: one split of the whole path.
    fn route_by_full_split(path: &str) -> Option<Target<'_>> {
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

    #[test]
    fn prefix_router_agrees_with_a_full_split() {
        let pieces = [
            "",
            "v1",
            "v2",
            "presence",
            "channel-registration",
            "sub-key",
            "sub_key",
            "k",
            "channel",
            "a,b",
            ",",
            "heartbeat",
            "leave",
            "uuid",
            "u",
            "data",
            "channel-group",
            "g",
            "remove",
            "x",
        ];
        // A fixed pseudo-random sample of paths: mostly the two real prefixes followed by
        // any pieces, sometimes anything at all.
        let mut rng = fastrand::Rng::with_seed(7);
        let mut checked = 0;
        for _ in 0..100_000 {
            let mut segs: Vec<&str> = match rng.u8(0..4) {
                0 => vec!["", "v2", "presence"],
                1 => vec!["", "v1", "channel-registration"],
                2 => vec![""],
                _ => vec![],
            };
            if rng.bool() {
                segs.push(["sub-key", "sub_key", "x"][rng.usize(..3)]);
                segs.push("k");
                if rng.bool() {
                    segs.push(["channel", "uuid", "channel-group"][rng.usize(..3)]);
                }
            }
            for _ in 0..rng.usize(0..=5) {
                segs.push(pieces[rng.usize(..pieces.len())]);
            }
            let path = segs.join("/");
            assert_eq!(route(&path), route_by_full_split(&path), "{path}");
            checked += usize::from(route(&path).is_some());
        }
        assert!(checked > 1000, "too few routable samples: {checked}");
    }

    #[test]
    fn channel_lists() {
        let list = |raw| {
            channel_list(raw).map(|v| v.into_iter().map(Cow::into_owned).collect::<Vec<String>>())
        };
        assert_eq!(list(","), Ok(vec![]));
        assert_eq!(list("a,b,a"), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(list("a%2Cb,c"), Ok(vec!["a,b".to_owned(), "c".to_owned()]));
        assert_eq!(list("a+b"), Ok(vec!["a+b".to_owned()]));
        assert!(channel_list("a,").is_err());
        assert!(channel_list("").is_err());
        assert!(channel_list("%zz").is_err());
        assert!(channel_list(&"x".repeat(93)).is_err());
        assert!(channel_list(&"x".repeat(92)).is_ok());
    }

    #[test]
    fn dedup_keeps_first_occurrences_short_and_long() {
        let mut short = vec!["b", "a", "b", "c", "a"];
        dedup(&mut short);
        assert_eq!(short, ["b", "a", "c"]);
        let mut long: Vec<String> = (0..100).map(|i| (i % 30).to_string()).collect();
        dedup(&mut long);
        assert_eq!(long, (0..30).map(|i| i.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn too_many_distinct_channels_but_repeats_are_fine() {
        let repeated = vec!["x"; 10_000].join(",");
        assert_eq!(channel_list(&repeated).map(|v| v.len()), Ok(1));
        let distinct: Vec<String> = (0..=MAX_CHANNELS_PER_REQUEST)
            .map(|i| i.to_string())
            .collect();
        assert!(channel_list(&distinct.join(",")).is_err());
    }

    #[test]
    fn queries() {
        let q = Query::parse("uuid=me&channel-group=a%2Cb,c&ee&state=%7B%22a%22%3A+1%7D")
            .unwrap_or_default();
        assert_eq!(q.get("ee"), Some(""));
        assert_eq!(q.get("state"), Some("{\"a\": 1}"));
        assert_eq!(q.groups().ok(), Some(vec!["a", "b", "c"]));
        assert_eq!(q.caller().ok(), Some("me"));
        assert!(Query::parse("a=1&a=2").is_err());
        assert!(Query::parse("a=%").is_err());
        let kt = Query::parse("channel-group=,").unwrap_or_default();
        assert_eq!(kt.groups().ok(), Some(vec![]));
        // Names are compared decoded, and the two spellings of channel-group are one name.
        assert!(Query::parse("uuid=a&%75uid=b").is_err());
        assert!(Query::parse("channel-group=a&channel_group=b").is_err());
        let many: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
        let joined = many.join("&");
        let q = Query::parse(&joined).unwrap_or_default();
        assert_eq!(q.get("k39"), Some("v"));
        assert_eq!(q.pairs().len(), 40);
        assert!(Query::parse(&format!("{}&k7=again", many.join("&"))).is_err());
        assert!(Query::parse("").unwrap_or_default().caller().is_err());
        assert!(
            Query::parse("uuid=%20")
                .unwrap_or_default()
                .caller()
                .is_err()
        );
    }
}
