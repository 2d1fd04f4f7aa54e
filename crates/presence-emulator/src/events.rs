//! Presence changes recorded by the store, and the `-pnpres` event payloads (`d`) and
//! subscribe replies (§12.2 of the protocol spec) built from them.
//!
//! Payload keys are written in the order the live service writes them
//! (`action`, `timestamp`, `uuid`, `occupancy`, then `data`), compactly; timetokens are
//! 17-digit decimal strings.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use crate::json;

/// What happened to a (channel, uuid) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// First heartbeat or subscribe of a user who was not present.
    Join,
    /// Explicit leave of a present user.
    Leave,
    /// A present user's presence expired.
    Timeout,
    /// A present user's state changed.
    State,
}

impl ChangeKind {
    /// The `action` value of the event.
    pub(crate) fn action(self) -> &'static str {
        match self {
            ChangeKind::Join => "join",
            ChangeKind::Leave => "leave",
            ChangeKind::Timeout => "timeout",
            ChangeKind::State => "state-change",
        }
    }
}

/// One presence change, as recorded by the store (published as events afterwards).
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub(crate) sub_key: Arc<str>,
    pub(crate) channel: Arc<str>,
    pub(crate) uuid: Arc<str>,
    pub(crate) kind: ChangeKind,
    /// The channel's occupancy after the change.
    pub(crate) occupancy: usize,
    /// The state carried in `data`: the new state (state change), the user's state (join).
    pub(crate) state: Option<Value>,
}

/// A PubNub timetoken: 100 ns units since the Unix epoch.
pub(crate) fn timetoken(now: SystemTime) -> u64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX))
}

/// Appends a timetoken as a zero-padded 17-digit JSON string (longer when it must be).
pub(crate) fn push_timetoken(out: &mut String, tt: u64) {
    let mut digits = String::with_capacity(20);
    json::push_uint(&mut digits, usize::try_from(tt).unwrap_or(usize::MAX));
    out.push('"');
    for _ in digits.len()..17 {
        out.push('0');
    }
    out.push_str(&digits);
    out.push('"');
}

/// The `d` payload of a join, leave, timeout or state-change event.
pub(crate) fn single_payload(change: &Change, timestamp: u64) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("{\"action\":\"");
    out.push_str(change.kind.action());
    out.push_str("\",\"timestamp\":");
    push_u64(&mut out, timestamp);
    out.push_str(",\"uuid\":");
    json::write_str(&mut out, &change.uuid);
    out.push_str(",\"occupancy\":");
    json::push_uint(&mut out, change.occupancy);
    if let Some(state) = &change.state {
        out.push_str(",\"data\":");
        json::write_value(&mut out, state);
    }
    out.push('}');
    out
}

/// The uuids that joined, left and timed out since the last interval event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Deltas {
    pub(crate) join: Vec<Arc<str>>,
    pub(crate) leave: Vec<Arc<str>>,
    pub(crate) timeout: Vec<Arc<str>>,
}

impl Deltas {
    pub(crate) fn is_empty(&self) -> bool {
        self.join.is_empty() && self.leave.is_empty() && self.timeout.is_empty()
    }

    /// Records a change; a user who joins and leaves within one interval appears in both.
    pub(crate) fn record(&mut self, kind: ChangeKind, uuid: &Arc<str>) {
        let list = match kind {
            ChangeKind::Join => &mut self.join,
            ChangeKind::Leave => &mut self.leave,
            ChangeKind::Timeout => &mut self.timeout,
            ChangeKind::State => return,
        };
        list.push(Arc::clone(uuid));
    }
}

/// The `d` payload of an interval event: occupancy, and with `deltas` the non-empty
/// `join`/`leave`/`timeout` arrays, replaced by `"here_now_refresh":true` when the payload
/// would be longer than `refresh_bytes`.
pub(crate) fn interval_payload(
    timestamp: u64,
    occupancy: usize,
    deltas: Option<&Deltas>,
    refresh_bytes: usize,
) -> String {
    let mut out = String::with_capacity(80);
    out.push_str("{\"action\":\"interval\",\"timestamp\":");
    push_u64(&mut out, timestamp);
    out.push_str(",\"occupancy\":");
    json::push_uint(&mut out, occupancy);
    let bare = out.len();
    if let Some(d) = deltas {
        for (name, list) in [
            ("join", &d.join),
            ("leave", &d.leave),
            ("timeout", &d.timeout),
        ] {
            if list.is_empty() {
                continue;
            }
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":[");
            for (i, uuid) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_str(&mut out, uuid);
            }
            out.push(']');
        }
        // +1 for the closing brace.
        if out.len() + 1 > refresh_bytes {
            out.truncate(bare);
            out.push_str(",\"here_now_refresh\":true");
        }
    }
    out.push('}');
    out
}

fn push_u64(out: &mut String, n: u64) {
    json::push_uint(out, usize::try_from(n).unwrap_or(usize::MAX));
}

/// One envelope of a subscribe reply, borrowed from the buffered event.
pub(crate) struct Envelope<'a> {
    pub(crate) tt: u64,
    pub(crate) sub_key: &'a str,
    pub(crate) channel: &'a str,
    /// The subscription that matched, without `-pnpres`.
    pub(crate) matched: &'a str,
    pub(crate) payload: &'a str,
}

/// The whole subscribe reply: `{"t":{"t":"…","r":R},"m":[…]}`.
pub(crate) fn reply_body(cursor: u64, region: u32, envelopes: &[Envelope<'_>]) -> String {
    let mut out = String::with_capacity(48 + envelopes.len() * 256);
    out.push_str("{\"t\":{\"t\":");
    push_timetoken(&mut out, cursor);
    out.push_str(",\"r\":");
    json::push_uint(&mut out, region as usize);
    out.push_str("},\"m\":[");
    for (i, e) in envelopes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"a\":\"2\",\"f\":0,\"p\":{\"t\":");
        push_timetoken(&mut out, e.tt);
        out.push_str(",\"r\":");
        json::push_uint(&mut out, region as usize);
        out.push_str("},\"k\":");
        json::write_str(&mut out, e.sub_key);
        out.push_str(",\"c\":");
        write_pnpres(&mut out, e.channel);
        out.push_str(",\"d\":");
        out.push_str(e.payload);
        out.push_str(",\"b\":");
        write_pnpres(&mut out, e.matched);
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// `name` + `-pnpres` as a JSON string.
fn write_pnpres(out: &mut String, name: &str) {
    let mut s = String::with_capacity(name.len() + 7);
    s.push_str(name);
    s.push_str("-pnpres");
    json::write_str(out, &s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: ChangeKind, state: Option<Value>) -> Change {
        Change {
            sub_key: Arc::from("k"),
            channel: Arc::from("ch"),
            uuid: Arc::from("u"),
            kind,
            occupancy: 2,
            state,
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(
            single_payload(&change(ChangeKind::Join, None), 7),
            r#"{"action":"join","timestamp":7,"uuid":"u","occupancy":2}"#
        );
        assert_eq!(
            single_payload(
                &change(ChangeKind::State, Some(serde_json::json!({"b":1,"a":"é"}))),
                7
            ),
            r#"{"action":"state-change","timestamp":7,"uuid":"u","occupancy":2,"data":{"a":"\u00e9","b":1}}"#
        );
        let mut d = Deltas::default();
        d.record(ChangeKind::Join, &Arc::from("x"));
        d.record(ChangeKind::Timeout, &Arc::from("y"));
        assert_eq!(
            interval_payload(9, 3, Some(&d), 30_000),
            r#"{"action":"interval","timestamp":9,"occupancy":3,"join":["x"],"timeout":["y"]}"#
        );
        assert_eq!(
            interval_payload(9, 3, Some(&d), 40),
            r#"{"action":"interval","timestamp":9,"occupancy":3,"here_now_refresh":true}"#
        );
        assert_eq!(
            interval_payload(9, 3, None, 10),
            r#"{"action":"interval","timestamp":9,"occupancy":3}"#
        );
    }

    #[test]
    fn reply_shape() {
        let env = Envelope {
            tt: 5,
            sub_key: "k",
            channel: "ch",
            matched: "g",
            payload: "{}",
        };
        assert_eq!(
            reply_body(17_000_000_000_000_000, 12, &[env]),
            r#"{"t":{"t":"17000000000000000","r":12},"m":[{"a":"2","f":0,"p":{"t":"00000000000000005","r":12},"k":"k","c":"ch-pnpres","d":{},"b":"g-pnpres"}]}"#
        );
    }
}
