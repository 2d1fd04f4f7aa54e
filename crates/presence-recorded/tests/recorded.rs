//! Regression suite over the recorded corpus in `../shared/fixtures` (read in place).
//!
//! For every presence exchange (`/v2/presence/` in the path) of every file listed in
//! `PROVENANCE.tsv`:
//! * the operation is picked from the recorded path and query and rebuilt with `presence-proto`;
//! * the recorded reply is parsed and compared with an expectation computed independently from
//!   the body with `serde_json::Value` (values for genuine replies, the `ErrorKind` for error
//!   replies, a typed error for hand-edited garbage);
//! * the request the core builds from the same inputs is compared with the recorded request
//!   (path modulo `sub_key`/encoding/order, and the operation parameters).
//!
//! Run `cargo test -p presence-recorded -- --nocapture` to see the report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use presence_proto::{
    Config, Error, ErrorKind, GetState, GetStateResult, Heartbeat, HereNow, HereNowResult, Leave,
    Operation, SetState, SetStateResult, Stamp, WhereNow, WhereNowResult,
};
use presence_recorded::{
    EXCLUDED, Exchange, IndexEntry, Response, fixtures_dir, percent_decode, read_index,
    read_provenance, read_recording, split_url,
};
use serde_json::Value;

/// Minimum share of the corpus' presence exchanges that must be checked.
const MIN_CHECKED_PERCENT: usize = 95;

/// Used when a recorded request carries no `uuid` (the reply does not depend on it).
const FALLBACK_USER_ID: &str = "recorded-client";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    HereNow,
    WhereNow,
    Heartbeat,
    Leave,
    SetState,
    GetState,
}

/// A recorded presence request, decoded.
#[derive(Debug)]
struct Call {
    /// Operation name as in INDEX.md (`here_now_single`, `heartbeat`, …).
    op: &'static str,
    kind: Kind,
    /// Raw recorded path.
    path: String,
    subscribe_key: String,
    /// Decoded channel names in recorded order (the `,` placeholder gives none).
    channels: Vec<String>,
    /// Decoded group names (from `channel-group`, or Ruby 2014's `channel_group`).
    groups: Vec<String>,
    /// Decoded path uuid (where_now, get/set_state).
    target: Option<String>,
    /// Decoded query pairs (first occurrence of each key).
    query: BTreeMap<String, String>,
}

impl Call {
    fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    fn unique_channels(&self) -> BTreeSet<&str> {
        self.channels.iter().map(String::as_str).collect()
    }
}

fn split_names(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Picks the operation from the recorded path and query.
fn classify(url: &str) -> Result<Call, String> {
    let (path, raw_query) = split_url(url);
    let mut query = BTreeMap::new();
    for (k, v) in &raw_query {
        query
            .entry(percent_decode(k))
            .or_insert_with(|| percent_decode(v));
    }
    let segments: Vec<&str> = path.split('/').collect();
    let Some(pos) = segments.iter().position(|s| *s == "presence") else {
        return Err("no `presence` segment".into());
    };
    let rest = segments.get(pos + 1..).unwrap_or_default();
    let (sk, rest) = match rest {
        [ns, sk, rest @ ..] if matches!(*ns, "sub-key" | "sub_key") => (percent_decode(sk), rest),
        _ => return Err(format!("unrecognised presence path {path}")),
    };
    let rest: Vec<&str> = rest.to_vec();
    let groups = query
        .get("channel-group")
        .or_else(|| query.get("channel_group"))
        .map(|g| split_names(g))
        .unwrap_or_default();
    let channels_of = |seg: &str| -> Vec<String> {
        seg.split(',')
            .map(percent_decode)
            .filter(|c| !c.is_empty())
            .collect()
    };
    let mut call = Call {
        op: "",
        kind: Kind::HereNow,
        path: path.clone(),
        subscribe_key: sk,
        channels: Vec::new(),
        groups,
        target: None,
        query,
    };
    match rest.as_slice() {
        [] => call.op = "here_now_global",
        ["channel", ch] => {
            call.channels = channels_of(ch);
            // Named after the wire (INDEX.md does the same): `a,a` is a multi request, and the
            // service answers it in the multi form although the core would send `a` once.
            call.op = match (call.channels.len(), call.groups.is_empty()) {
                (0, _) => "here_now_cg",
                (1, true) => "here_now_single",
                (_, true) => "here_now_multi",
                (_, false) => "here_now_ch+cg",
            };
        }
        ["channel", ch, "heartbeat"] => {
            call.channels = channels_of(ch);
            call.op = "heartbeat";
            call.kind = Kind::Heartbeat;
        }
        ["channel", ch, "leave"] => {
            call.channels = channels_of(ch);
            call.op = "leave";
            call.kind = Kind::Leave;
        }
        ["channel", ch, "uuid", uuid] => {
            call.channels = channels_of(ch);
            call.target = Some(percent_decode(uuid));
            call.op = "get_state";
            call.kind = Kind::GetState;
        }
        ["channel", ch, "uuid", uuid, "data"] => {
            call.channels = channels_of(ch);
            call.target = Some(percent_decode(uuid));
            call.op = "set_state";
            call.kind = Kind::SetState;
        }
        ["uuid", uuid] => {
            call.target = Some(percent_decode(uuid));
            call.op = "where_now";
            call.kind = Kind::WhereNow;
        }
        _ => return Err(format!("unrecognised presence path {path}")),
    }
    Ok(call)
}

/// Parses a recorded `state` query value as JSON (recorders leave `:`/`,` raw, some use `+`).
fn state_json(raw: &str) -> Option<Value> {
    serde_json::from_str(raw)
        .ok()
        .or_else(|| serde_json::from_str(&raw.replace('+', " ")).ok())
}

/// The operation rebuilt from a recorded call.
enum Built {
    HereNow(HereNow),
    WhereNow(WhereNow),
    Heartbeat(Heartbeat),
    Leave(Leave),
    SetState(SetState),
    GetState(GetState),
}

/// Rebuilds the operation; the note says why the request cannot be compared, if it cannot.
fn rebuild(call: &Call) -> (Built, Option<String>) {
    let mut note = None;
    let built = match call.kind {
        Kind::HereNow => {
            let mut op = HereNow::new()
                .channels(call.channels.iter().cloned())
                .groups(call.groups.iter().cloned())
                .include_state(call.param("state") == Some("1"))
                .include_user_ids(call.param("disable_uuids") != Some("1"));
            if let Some(limit) = call.param("limit") {
                match limit.parse() {
                    Ok(limit) => op = op.limit(limit),
                    Err(_) => note = Some(format!("limit {limit:?} is not a number")),
                }
            }
            if let Some(offset) = call.param("offset").and_then(|o| o.parse().ok()) {
                op = op.offset(offset);
            }
            Built::HereNow(op)
        }
        Kind::WhereNow => Built::WhereNow(match &call.target {
            Some(uuid) => WhereNow::new().user_id(uuid.clone()),
            None => WhereNow::new(),
        }),
        Kind::Heartbeat => {
            let mut op = Heartbeat::new()
                .channels(call.channels.iter().cloned())
                .groups(call.groups.iter().cloned());
            // Absent or empty (Ruby): the core's default (300) is compared below.
            if let Some(h) = call.param("heartbeat").filter(|h| !h.is_empty()) {
                match h.parse() {
                    Ok(seconds) => op = op.presence_timeout(seconds),
                    Err(_) => note = Some(format!("heartbeat {h:?} is not a number")),
                }
            }
            if let Some(raw) = call.param("state") {
                match state_json(raw) {
                    Some(Value::Object(map)) => {
                        for (name, state) in map {
                            op = op.state_value(name, state);
                        }
                    }
                    _ => note = Some(format!("heartbeat state {raw:?} is not a JSON object")),
                }
            }
            Built::Heartbeat(op)
        }
        Kind::Leave => Built::Leave(
            Leave::new()
                .channels(call.channels.iter().cloned())
                .groups(call.groups.iter().cloned()),
        ),
        Kind::SetState => {
            let mut op = SetState::new()
                .channels(call.channels.iter().cloned())
                .groups(call.groups.iter().cloned());
            if let Some(uuid) = &call.target {
                op = op.user_id(uuid.clone());
            }
            match call.param("state").map(|raw| (raw, state_json(raw))) {
                Some((_, Some(state))) => op = op.state(state),
                Some((raw, None)) => note = Some(format!("set_state state {raw:?} is not JSON")),
                None => note = Some("set_state request without state".into()),
            }
            Built::SetState(op)
        }
        Kind::GetState => {
            let mut op = GetState::new()
                .channels(call.channels.iter().cloned())
                .groups(call.groups.iter().cloned());
            if let Some(uuid) = &call.target {
                op = op.user_id(uuid.clone());
            }
            Built::GetState(op)
        }
    };
    (built, note)
}

// ---------------------------------------------------------------------------------------------
// Expectations, computed from the body with serde_json::Value only.

/// Occupants as (user id, state) pairs.
type Occupants = Vec<(String, Option<Value>)>;

#[derive(Debug, PartialEq)]
struct ExpChannel {
    name: String,
    occupancy: u64,
    occupants: Option<Occupants>,
}

#[derive(Debug, PartialEq)]
enum Expect {
    Error {
        kind: ErrorKind,
        channels: Vec<String>,
        groups: Vec<String>,
    },
    HereNow {
        total_channels: u64,
        total_occupancy: u64,
        channels: Vec<ExpChannel>,
    },
    WhereNow(Vec<String>),
    Ack,
    SetState(Value),
    GetState {
        uuid: Option<String>,
        channels: Vec<(String, Value)>,
    },
}

fn decode_error() -> Expect {
    Expect::Error {
        kind: ErrorKind::Decode,
        channels: Vec::new(),
        groups: Vec::new(),
    }
}

/// Spec §3: the category of a status.
fn kind_for(status: u64) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::AccessDenied,
        402 => ErrorKind::NotEnabled,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        413 | 414 => ErrorKind::TooLarge,
        429 => ErrorKind::TooManyRequests,
        400..=499 => ErrorKind::BadRequest,
        _ => ErrorKind::Server,
    }
}

fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty() && s != "0" && s != "false",
        Some(Value::Array(_) | Value::Object(_)) => true,
        _ => false,
    }
}

fn gzip_header(resp: &Response) -> bool {
    resp.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-encoding") && v.to_ascii_lowercase().contains("gzip")
    })
}

/// The body the service meant: inflated when it really is gzip (independently of the core).
fn plain_body(resp: &Response) -> Vec<u8> {
    if gzip_header(resp) && resp.body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::MultiGzDecoder::new(resp.body.as_slice())
            .read_to_end(&mut out)
            .is_ok()
        {
            return out;
        }
    }
    resp.body.clone()
}

fn error_lists(json: Option<&Value>) -> (Vec<String>, Vec<String>) {
    let list = |key: &str| -> Vec<String> {
        json.and_then(|j| j.get("payload"))
            .and_then(|p| p.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let groups = list("channel-groups")
        .into_iter()
        .map(|g| g.strip_prefix(':').map(str::to_owned).unwrap_or(g))
        .collect();
    (list("channels"), groups)
}

fn occupants(uuids: Option<&Value>) -> Result<Option<Occupants>, ()> {
    let Some(uuids) = uuids else { return Ok(None) };
    let items = uuids.as_array().ok_or(())?;
    items
        .iter()
        .map(|item| match item {
            Value::String(id) => Ok((id.clone(), None)),
            Value::Object(o) => {
                let id = o.get("uuid").and_then(Value::as_str).ok_or(())?;
                let state = o.get("state").filter(|s| !s.is_null()).cloned();
                Ok((id.to_owned(), state))
            }
            _ => Err(()),
        })
        .collect::<Result<Vec<_>, ()>>()
        .map(Some)
}

fn expect(call: &Call, resp: &Response) -> Expect {
    let body = plain_body(resp);
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let (channels, groups) = error_lists(json.as_ref());
    if !(200..300).contains(&resp.status) {
        return Expect::Error {
            kind: kind_for(u64::from(resp.status)),
            channels,
            groups,
        };
    }
    let Some(Value::Object(obj)) = json else {
        return decode_error();
    };
    let body_status = number(obj.get("status"));
    if truthy(obj.get("error")) || body_status.is_some_and(|s| s >= 400) {
        return Expect::Error {
            kind: kind_for(body_status.filter(|s| *s >= 400).unwrap_or(400)),
            channels,
            groups,
        };
    }
    let payload = obj.get("payload");
    match call.kind {
        Kind::Heartbeat | Kind::Leave => Expect::Ack,
        Kind::SetState => match payload {
            Some(p) if !p.is_null() => Expect::SetState(p.clone()),
            _ => decode_error(),
        },
        Kind::WhereNow => match payload.and_then(Value::as_object) {
            Some(p) => match p.get("channels") {
                None => Expect::WhereNow(Vec::new()),
                Some(Value::Array(list)) => {
                    let mut names: Vec<String> = Vec::new();
                    for item in list {
                        match item.as_str() {
                            Some(name) => names.push(name.to_owned()),
                            None => return decode_error(),
                        }
                    }
                    names.sort();
                    Expect::WhereNow(names)
                }
                Some(_) => decode_error(),
            },
            None => decode_error(),
        },
        Kind::GetState => {
            let Some(payload) = payload.filter(|p| !p.is_null()) else {
                return decode_error();
            };
            let uuid = obj.get("uuid").and_then(Value::as_str).map(str::to_owned);
            let single = call.unique_channels().len() == 1 && call.groups.is_empty();
            let mut channels = if let Some(ch) = obj.get("channel").and_then(Value::as_str) {
                vec![(ch.to_owned(), payload.clone())]
            } else if let Some(map) = payload.get("channels").and_then(Value::as_object) {
                map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            } else if let (true, Some(only)) = (single, call.channels.first()) {
                if !payload.is_object() {
                    return decode_error();
                }
                vec![(only.clone(), payload.clone())]
            } else if let Some(map) = payload.as_object() {
                map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            } else {
                return decode_error();
            };
            channels.sort_by(|a, b| a.0.cmp(&b.0));
            Expect::GetState { uuid, channels }
        }
        Kind::HereNow => expect_here_now(call, &obj),
    }
}

fn expect_here_now(call: &Call, obj: &serde_json::Map<String, Value>) -> Expect {
    if let Some(payload) = obj.get("payload").filter(|p| !p.is_null()) {
        let Some(map) = payload.get("channels").and_then(Value::as_object) else {
            return decode_error();
        };
        let mut channels = Vec::new();
        for (name, ch) in map {
            // A JSON integer (the core is not lenient here, and no recording needs it).
            let Some(occupancy) = ch.get("occupancy").and_then(Value::as_u64) else {
                return decode_error();
            };
            let Ok(occupants) = occupants(ch.get("uuids")) else {
                return decode_error();
            };
            channels.push(ExpChannel {
                name: name.clone(),
                occupancy,
                occupants,
            });
        }
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        let total_channels = number(payload.get("total_channels")).unwrap_or(channels.len() as u64);
        let total_occupancy = number(payload.get("total_occupancy"))
            .unwrap_or_else(|| channels.iter().map(|c| c.occupancy).sum());
        return Expect::HereNow {
            total_channels,
            total_occupancy,
            channels,
        };
    }
    let Some(occupancy) = obj.get("occupancy").and_then(Value::as_u64) else {
        return decode_error();
    };
    let unique = call.unique_channels();
    let (1, true, Some(name)) = (unique.len(), call.groups.is_empty(), unique.first()) else {
        return decode_error();
    };
    let Ok(occupants) = occupants(obj.get("uuids")) else {
        return decode_error();
    };
    Expect::HereNow {
        total_channels: 1,
        total_occupancy: occupancy,
        channels: vec![ExpChannel {
            name: (*name).to_owned(),
            occupancy,
            occupants,
        }],
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes (INDEX.md ids), from the body.

fn shape(call: &Call, resp: Option<&Response>) -> &'static str {
    let Some(resp) = resp else { return "T0" };
    let Ok(json) = serde_json::from_slice::<Value>(&plain_body(resp)) else {
        return "BAD";
    };
    let Some(obj) = json.as_object() else {
        return "BAD";
    };
    let status = number(obj.get("status")).filter(|s| *s >= 400).or_else(|| {
        (resp.status >= 400 && truthy(obj.get("error"))).then_some(u64::from(resp.status))
    });
    if let Some(status) = status {
        return match status {
            400 => "E400",
            402 => "E402",
            403 => "E403",
            404 => "E404x",
            _ => "E?",
        };
    }
    let objects = |uuids: Option<&Value>| -> (bool, bool) {
        let list = uuids.and_then(Value::as_array).map(Vec::as_slice);
        let list = list.unwrap_or_default();
        (
            list.iter().any(Value::is_object),
            list.iter().any(|u| u.get("state").is_some()),
        )
    };
    match call.kind {
        Kind::WhereNow => "WN1",
        Kind::Heartbeat => "ACK",
        Kind::Leave if obj.contains_key("status") => "LV1",
        Kind::Leave => "LV0",
        Kind::SetState => "SS1",
        Kind::GetState if obj.get("channel").is_some_and(Value::is_string) => "GS1",
        Kind::GetState
            if json
                .pointer("/payload/channels")
                .is_some_and(Value::is_object) =>
        {
            "GS2"
        }
        Kind::GetState => "GS0",
        Kind::HereNow => match json.pointer("/payload/channels").and_then(Value::as_object) {
            Some(map) if map.is_empty() => "HM5",
            Some(map) => {
                if map.values().any(|c| c.get("uuids").is_none()) {
                    "HM4"
                } else {
                    let flags: Vec<_> = map.values().map(|c| objects(c.get("uuids"))).collect();
                    if flags.iter().any(|f| f.1) {
                        "HM3"
                    } else if flags.iter().any(|f| f.0) {
                        "HM2"
                    } else {
                        "HM1"
                    }
                }
            }
            None if !obj.contains_key("status") => "HN0",
            None if !obj.contains_key("uuids") => "HN4",
            None => match objects(obj.get("uuids")) {
                (_, true) => "HN3",
                (true, false) => "HN2",
                _ => "HN1",
            },
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Running the parser and comparing.

fn reply(resp: &Response, drop_encoding: bool) -> Result<http::Response<&[u8]>, String> {
    let mut builder = http::Response::builder().status(resp.status);
    for (name, value) in &resp.headers {
        if drop_encoding && name.eq_ignore_ascii_case("content-encoding") {
            continue;
        }
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) else {
            continue; // a header http cannot carry is irrelevant to the parser
        };
        builder = builder.header(name, value);
    }
    builder
        .body(resp.body.as_slice())
        .map_err(|e| format!("recorded reply cannot be represented: {e}"))
}

/// Parses with the core (catching panics) and renders the outcome for comparison.
fn run<O: Operation>(
    op: &O,
    reply: http::Response<&[u8]>,
) -> Result<Result<O::Output, Error>, String> {
    catch_unwind(AssertUnwindSafe(|| op.parse(reply))).map_err(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        format!("PANIC in parse: {msg}")
    })
}

fn compare_error(expected: &Expect, err: &Error) -> Result<(), String> {
    let Expect::Error {
        kind,
        channels,
        groups,
    } = expected
    else {
        return Err(format!(
            "expected success, got error {err} ({:?})",
            err.kind()
        ));
    };
    if err.kind() != *kind {
        return Err(format!("expected {kind:?}, got {:?}: {err}", err.kind()));
    }
    if let Some(api) = err.api() {
        if api.channels != *channels || api.groups != *groups {
            return Err(format!(
                "error lists differ: channels {:?} groups {:?}, expected {channels:?} {groups:?}",
                api.channels, api.groups
            ));
        }
    }
    Ok(())
}

fn compare_here_now(expected: &Expect, got: &HereNowResult) -> Result<(), String> {
    let Expect::HereNow {
        total_channels,
        total_occupancy,
        channels,
    } = expected
    else {
        return Err(format!("expected {expected:?}, got success {got:?}"));
    };
    if got.total_channels != *total_channels || got.total_occupancy != *total_occupancy {
        return Err(format!(
            "totals {}/{} != expected {total_channels}/{total_occupancy}",
            got.total_channels, got.total_occupancy
        ));
    }
    let got_channels: Vec<ExpChannel> = got
        .channels
        .iter()
        .map(|c| ExpChannel {
            name: c.name.clone(),
            occupancy: c.occupancy,
            occupants: c.occupants_listed.then(|| {
                c.occupants
                    .iter()
                    .map(|o| (o.user_id.clone(), o.state.clone()))
                    .collect()
            }),
        })
        .collect();
    if got_channels != *channels {
        return Err(format!(
            "channels {got_channels:?} != expected {channels:?}"
        ));
    }
    Ok(())
}

fn compare_where_now(expected: &Expect, got: &WhereNowResult) -> Result<(), String> {
    match expected {
        Expect::WhereNow(channels) if *channels == got.channels => Ok(()),
        _ => Err(format!("expected {expected:?}, got {got:?}")),
    }
}

fn compare_set_state(expected: &Expect, got: &SetStateResult) -> Result<(), String> {
    match expected {
        Expect::SetState(state) if *state == got.state => Ok(()),
        _ => Err(format!("expected {expected:?}, got {got:?}")),
    }
}

fn compare_get_state(expected: &Expect, got: &GetStateResult) -> Result<(), String> {
    let Expect::GetState { uuid, channels } = expected else {
        return Err(format!("expected {expected:?}, got success {got:?}"));
    };
    let got_channels: Vec<(String, Value)> = got
        .channels
        .iter()
        .map(|c| (c.channel.clone(), c.state.clone()))
        .collect();
    if got.user_id != *uuid || got_channels != *channels {
        return Err(format!("expected {expected:?}, got {got:?}"));
    }
    Ok(())
}

fn compare_ack(expected: &Expect) -> Result<(), String> {
    match expected {
        Expect::Ack => Ok(()),
        _ => Err(format!("expected {expected:?}, got success")),
    }
}

/// Parses `reply` with the rebuilt operation and checks it against `expected`; returns a
/// rendering of the outcome (to compare runs with and without `Content-Encoding`).
fn parse_and_compare(
    built: &Built,
    reply: http::Response<&[u8]>,
    expected: &Expect,
) -> Result<String, String> {
    fn check<T: std::fmt::Debug>(
        outcome: Result<Result<T, Error>, String>,
        expected: &Expect,
        compare: impl Fn(&Expect, &T) -> Result<(), String>,
    ) -> Result<String, String> {
        match outcome? {
            Ok(value) => compare(expected, &value).map(|()| format!("ok {value:?}")),
            Err(e) => compare_error(expected, &e).map(|()| match e.api() {
                Some(api) => format!("err {:?} {:?} {:?}", e.kind(), api.channels, api.groups),
                None => format!("err {:?}", e.kind()),
            }),
        }
    }
    match built {
        Built::HereNow(op) => check(run(op, reply), expected, compare_here_now),
        Built::WhereNow(op) => check(run(op, reply), expected, compare_where_now),
        Built::SetState(op) => check(run(op, reply), expected, compare_set_state),
        Built::GetState(op) => check(run(op, reply), expected, compare_get_state),
        Built::Heartbeat(op) => check(run(op, reply), expected, |e, ()| compare_ack(e)),
        Built::Leave(op) => check(run(op, reply), expected, |e, _| compare_ack(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Request building against the recording.

enum RequestCheck {
    Same,
    NotComparable(String),
    Differs(String),
}

fn build_request(
    built: &Built,
    config: &Config,
) -> Result<http::Request<Vec<u8>>, presence_proto::Error> {
    let stamp = Stamp::new(0, "");
    match built {
        Built::HereNow(op) => op.to_request(config, &stamp),
        Built::WhereNow(op) => op.to_request(config, &stamp),
        Built::Heartbeat(op) => op.to_request(config, &stamp),
        Built::Leave(op) => op.to_request(config, &stamp),
        Built::SetState(op) => op.to_request(config, &stamp),
        Built::GetState(op) => op.to_request(config, &stamp),
    }
}

fn name_set(segment: &str) -> BTreeSet<String> {
    segment
        .split(',')
        .map(percent_decode)
        .filter(|s| !s.is_empty())
        .collect()
}

fn compare_paths(recorded: &str, ours: &str) -> Result<(), String> {
    let rec: Vec<&str> = recorded.split('/').collect();
    let our: Vec<&str> = ours.split('/').collect();
    if rec.len() != our.len() {
        return Err(format!("path {ours} vs recorded {recorded}"));
    }
    let mut after_channel = false;
    for (i, (r, o)) in rec.iter().zip(&our).enumerate() {
        let same = if after_channel {
            name_set(r) == name_set(o)
        } else if i == 3 {
            matches!(*r, "sub-key" | "sub_key") && *o == "sub-key"
        } else {
            percent_decode(r) == percent_decode(o)
        };
        if !same {
            return Err(format!("path segment {i}: ours {o:?}, recorded {r:?}"));
        }
        after_channel = *r == "channel";
    }
    Ok(())
}

fn check_request(
    call: &Call,
    built: &Built,
    note: Option<&String>,
    reply_summary: &str,
) -> RequestCheck {
    if let Some(note) = note {
        return RequestCheck::NotComparable(note.clone());
    }
    let user_id = call.param("uuid").unwrap_or(FALLBACK_USER_ID);
    let mut builder = Config::builder(call.subscribe_key.clone(), user_id);
    if let Some(auth) = call.param("auth") {
        builder = builder.auth_token(auth);
    }
    let config = match builder.build() {
        Ok(c) => c,
        Err(e) => return RequestCheck::NotComparable(format!("recorded inputs rejected: {e}")),
    };
    let request = match build_request(built, &config) {
        Ok(r) => r,
        Err(e) => {
            return RequestCheck::NotComparable(format!(
                "core refuses the recorded inputs ({e}); the recording was answered {reply_summary}"
            ));
        }
    };
    let ours_url = request.uri().to_string();
    let (our_path, our_query) = split_url(&ours_url);
    let mut problems = Vec::new();
    if let Err(e) = compare_paths(&call.path, &our_path) {
        problems.push(e);
    }
    let ours: BTreeMap<String, String> = our_query
        .iter()
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let get = |k: &str| ours.get(k).map(String::as_str);
    let expect_param = |problems: &mut Vec<String>, key: &str, want: Option<&str>| {
        if get(key) != want {
            problems.push(format!("{key}: ours {:?}, expected {want:?}", get(key)));
        }
    };
    if let Some(uuid) = call.param("uuid") {
        expect_param(&mut problems, "uuid", Some(uuid));
    }
    if let Some(auth) = call.param("auth").filter(|a| !a.is_empty()) {
        expect_param(&mut problems, "auth", Some(auth));
    }
    let rec_groups: BTreeSet<&str> = call.groups.iter().map(String::as_str).collect();
    let our_groups: BTreeSet<&str> = get("channel-group")
        .map(|g| g.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if rec_groups != our_groups {
        problems.push(format!(
            "channel-group: ours {our_groups:?}, recorded {rec_groups:?}"
        ));
    }
    let flag = |key: &str| (call.param(key) == Some("1")).then_some("1");
    let mut allowed = vec!["uuid", "pnsdk", "auth", "channel-group"];
    match call.kind {
        Kind::HereNow => {
            expect_param(&mut problems, "state", flag("state"));
            expect_param(&mut problems, "disable_uuids", flag("disable_uuids"));
            // Documented choice: `limit` is always sent (default 1000).
            expect_param(
                &mut problems,
                "limit",
                Some(call.param("limit").unwrap_or("1000")),
            );
            let offset = call
                .param("offset")
                .filter(|o| o.parse::<u32>().is_ok_and(|o| o > 0));
            expect_param(&mut problems, "offset", offset);
            allowed.extend(["state", "disable_uuids", "limit", "offset"]);
        }
        Kind::Heartbeat => {
            // Ruby sent `heartbeat=` empty: the service then uses its default, as we send 300.
            let want = call
                .param("heartbeat")
                .filter(|h| !h.is_empty())
                .unwrap_or("300");
            expect_param(&mut problems, "heartbeat", Some(want));
            compare_state(call.param("state"), get("state"), true, &mut problems);
            allowed.extend(["heartbeat", "state"]);
        }
        Kind::SetState => {
            compare_state(call.param("state"), get("state"), false, &mut problems);
            allowed.push("state");
        }
        Kind::Leave | Kind::GetState | Kind::WhereNow => {}
    }
    for key in ours.keys() {
        if !allowed.contains(&key.as_str()) {
            problems.push(format!("unexpected parameter {key}"));
        }
    }
    if problems.is_empty() {
        RequestCheck::Same
    } else {
        RequestCheck::Differs(format!("{} (ours: {ours_url})", problems.join("; ")))
    }
}

/// Compares `state` as JSON values; for heartbeat an empty object counts as absent.
fn compare_state(
    rec: Option<&str>,
    ours: Option<&str>,
    empty_is_none: bool,
    out: &mut Vec<String>,
) {
    let parse = |s: Option<&str>| -> Option<Value> {
        s.and_then(state_json)
            .filter(|v| !(empty_is_none && v.as_object().is_some_and(serde_json::Map::is_empty)))
    };
    let (r, o) = (parse(rec), parse(ours));
    if r != o {
        out.push(format!("state: ours {o:?}, recorded {r:?}"));
    }
}

// ---------------------------------------------------------------------------------------------
// The suite.

#[derive(Default)]
struct Report {
    files_listed: usize,
    files_by_format: BTreeMap<&'static str, usize>,
    companions: usize,
    excluded_listed: Vec<&'static str>,
    presence: usize,
    checked: usize,
    by_op: BTreeMap<&'static str, usize>,
    by_shape: BTreeMap<String, usize>,
    by_outcome: BTreeMap<&'static str, usize>,
    by_flag: BTreeMap<String, usize>,
    shapes_agreeing: usize,
    edited_error: usize,
    edited_intact: usize,
    gzip_header_plain_body: usize,
    gzip_real: usize,
    requests_same: usize,
    requests_not_comparable: Vec<String>,
    skips: Vec<String>,
    notes: Vec<String>,
    failures: Vec<String>,
}

/// INDEX.md rows of a file matching an exchange (same op, same status); the shape decides
/// when several match.
fn index_rows<'a>(
    rows: Option<&'a Vec<IndexEntry>>,
    call: &Call,
    status: Option<u16>,
) -> Vec<&'a IndexEntry> {
    rows.map(|rows| {
        rows.iter()
            .filter(|r| r.op == call.op && r.status == status)
            .collect()
    })
    .unwrap_or_default()
}

fn check_exchange(report: &mut Report, rel: &str, ex: &Exchange, rows: Option<&Vec<IndexEntry>>) {
    let at = format!("{rel}#{}", ex.ordinal);
    report.presence += 1;
    let call = match classify(&ex.url) {
        Ok(call) => call,
        Err(reason) => {
            report.skips.push(format!("{at}: {reason}"));
            return;
        }
    };
    let status = ex.response.as_ref().map(|r| r.status);
    let shape_id = shape(&call, ex.response.as_ref());
    let matching = index_rows(rows, &call, status);
    let flags_row = matching
        .iter()
        .find(|r| r.shape == shape_id)
        .or_else(|| matching.first());
    if rows.is_some() {
        if matching.is_empty() {
            report.failures.push(format!(
                "{at}: {} -> {status:?} not in INDEX.md's row",
                call.op
            ));
        } else if matching.iter().any(|r| r.shape == shape_id) {
            report.shapes_agreeing += 1;
        } else {
            let listed: Vec<&str> = matching.iter().map(|r| r.shape.as_str()).collect();
            report.notes.push(format!(
                "{at}: body shape {shape_id}, INDEX.md lists {listed:?} for {}",
                call.op
            ));
        }
    }
    let edited = flags_row.is_some_and(|r| r.has("EDITED"));
    if let Some(row) = flags_row {
        for flag in &row.flags {
            *report.by_flag.entry(flag.clone()).or_default() += 1;
        }
        let gz_header = ex.response.as_ref().is_some_and(gzip_header);
        if row.has("GZ") != gz_header {
            report.notes.push(format!(
                "{at}: INDEX.md GZ flag {} but Content-Encoding: gzip header {gz_header}",
                row.has("GZ")
            ));
        }
    }
    let Some(resp) = &ex.response else {
        report.skips.push(format!(
            "{at}: {} {}: no HTTP response recorded (request cancelled), nothing to parse",
            call.op, call.path
        ));
        return;
    };
    if ex.method != "GET" {
        report.notes.push(format!(
            "{at}: recorded method {} (presence is GET)",
            ex.method
        ));
    }

    if call.kind == Kind::Heartbeat {
        if let Some(Value::Object(state)) = call.param("state").and_then(state_json) {
            let foreign: Vec<&String> = state
                .keys()
                .filter(|k| !call.channels.contains(k) && !call.groups.contains(k))
                .collect();
            if !foreign.is_empty() {
                report.notes.push(format!(
                    "{at}: heartbeat state keys {foreign:?} name no requested channel or group \
                     (the recorder's own structure); compared as opaque JSON"
                ));
            }
        }
    }
    let (built, note) = rebuild(&call);
    let expected = expect(&call, resp);
    let http_reply = match reply(resp, false) {
        Ok(r) => r,
        Err(reason) => {
            report.skips.push(format!("{at}: {reason}"));
            return;
        }
    };
    let outcome = parse_and_compare(&built, http_reply, &expected);

    // Hand-edited replies: content that cannot be real must be flagged by INDEX.md, and must
    // never come back as a success.
    let plain = plain_body(resp);
    let json = serde_json::from_slice::<Value>(&plain).ok();
    let suspicious = json.is_none()
        || resp.status >= 500
        || json
            .as_ref()
            .and_then(|j| number(j.get("status")))
            .is_some_and(|s| s == 404);
    if suspicious && !edited && rows.is_some() {
        report.failures.push(format!(
            "{at}: content looks hand-edited (HTTP {}, {shape_id}) but INDEX.md does not flag it",
            resp.status
        ));
    }
    if edited {
        if matches!(expected, Expect::Error { .. }) {
            report.edited_error += 1;
        } else {
            report.edited_intact += 1;
        }
    }
    if suspicious && !matches!(expected, Expect::Error { .. }) {
        report.failures.push(format!(
            "{at}: expectation for a hand-edited reply is a success"
        ));
    }

    // Bodies stored inflated under `Content-Encoding: gzip`.
    if gzip_header(resp) {
        if resp.body.starts_with(&[0x1f, 0x8b]) {
            report.gzip_real += 1;
        } else {
            report.gzip_header_plain_body += 1;
            if let (Ok(with), Ok(without)) = (&outcome, reply(resp, true)) {
                match parse_and_compare(&built, without, &expected) {
                    Ok(other) if other == *with => {}
                    other => report.failures.push(format!(
                        "{at}: Content-Encoding: gzip on a plain body changes the outcome: {with} vs {other:?}"
                    )),
                }
            }
        }
    }

    match &outcome {
        Ok(rendered) => {
            report.checked += 1;
            *report.by_op.entry(call.op).or_default() += 1;
            let label = if edited {
                format!("{shape_id} [EDITED]")
            } else {
                shape_id.to_owned()
            };
            *report.by_shape.entry(label).or_default() += 1;
            let class = if rendered.starts_with("ok") {
                "parsed ok, values match the body"
            } else {
                "typed error of the expected kind"
            };
            *report.by_outcome.entry(class).or_default() += 1;
        }
        Err(problem) => report.failures.push(format!(
            "{at}: {} HTTP {} {shape_id}{}: {problem}",
            call.op,
            resp.status,
            if edited { " [EDITED]" } else { "" }
        )),
    }

    if std::env::var_os("RECORDED_VERBOSE").is_some() {
        println!(
            "{at}: {} {shape_id} HTTP {} -> {outcome:?}",
            call.op, resp.status
        );
    }
    let reply_summary = format!("HTTP {} {shape_id}", resp.status);
    match check_request(&call, &built, note.as_ref(), &reply_summary) {
        RequestCheck::Same => report.requests_same += 1,
        RequestCheck::NotComparable(reason) => report
            .requests_not_comparable
            .push(format!("{at}: {reason}")),
        RequestCheck::Differs(diff) => report
            .failures
            .push(format!("{at}: request differs from the recording: {diff}")),
    }
}

fn print_report(report: &Report, root: &std::path::Path) {
    let mut out = String::new();
    let _ = writeln!(out, "== recorded corpus: {}", root.display());
    let _ = writeln!(
        out,
        "files listed in PROVENANCE.tsv: {} (read by format: {}; sepia body files read with their .headers: {})",
        report.files_listed,
        report
            .files_by_format
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        report.companions
    );
    for (file, reason) in EXCLUDED {
        let listed = if report.excluded_listed.contains(file) {
            "listed, not read"
        } else {
            "not listed in PROVENANCE.tsv either"
        };
        let _ = writeln!(out, "excluded: {file} ({listed}): {reason}");
    }
    let pct = if report.presence == 0 {
        0.0
    } else {
        100.0 * report.checked as f64 / report.presence as f64
    };
    let _ = writeln!(
        out,
        "presence exchanges: {}, checked: {} ({pct:.1}%), skipped: {}",
        report.presence,
        report.checked,
        report.skips.len()
    );
    let _ = writeln!(out, "checked by operation:");
    for (op, n) in &report.by_op {
        let _ = writeln!(out, "  {op:<16} {n}");
    }
    let _ = writeln!(
        out,
        "checked by shape (INDEX.md ids, computed from the body; {} agree with their INDEX.md row):",
        report.shapes_agreeing
    );
    for (shape, n) in &report.by_shape {
        let _ = writeln!(out, "  {shape:<14} {n}");
    }
    let _ = writeln!(
        out,
        "INDEX.md flags on the exchanges seen: {}",
        report
            .by_flag
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(out, "outcomes:");
    for (class, n) in &report.by_outcome {
        let _ = writeln!(out, "  {class}: {n}");
    }
    let _ = writeln!(
        out,
        "hand-edited (INDEX.md EDITED): {} gave a typed error; {} kept an intact body and parsed to its values",
        report.edited_error, report.edited_intact
    );
    let _ = writeln!(
        out,
        "Content-Encoding: gzip: {} bodies stored inflated (passed through, same outcome without the header), {} real gzip bodies",
        report.gzip_header_plain_body, report.gzip_real
    );
    let _ = writeln!(
        out,
        "requests rebuilt and matching the recording: {}; not comparable: {}",
        report.requests_same,
        report.requests_not_comparable.len()
    );
    for line in &report.requests_not_comparable {
        let _ = writeln!(out, "  request not compared: {line}");
    }
    for line in &report.skips {
        let _ = writeln!(out, "  skip: {line}");
    }
    for line in &report.notes {
        let _ = writeln!(out, "  note: {line}");
    }
    for line in &report.failures {
        let _ = writeln!(out, "  FAIL: {line}");
    }
    println!("{out}");
}

#[test]
fn recorded_corpus() {
    let root = fixtures_dir();
    if !root.join("PROVENANCE.tsv").is_file() {
        println!(
            "recorded corpus not found at {}: skipped (nothing to check)",
            root.display()
        );
        return;
    }
    let files = read_provenance(&root).expect("PROVENANCE.tsv is readable");
    let index = match read_index(&root) {
        Ok(index) => Some(index),
        Err(e) => {
            println!("INDEX.md unreadable ({e}): EDITED flags come from content only");
            None
        }
    };
    let mut report = Report {
        files_listed: files.len(),
        ..Report::default()
    };
    for rel in &files {
        if let Some((file, reason)) = EXCLUDED.iter().find(|(f, _)| f == rel) {
            report.excluded_listed.push(file);
            report.skips.push(format!("{rel}: excluded: {reason}"));
            continue;
        }
        let recording = match read_recording(&root, rel) {
            Ok(Some(recording)) => recording,
            Ok(None) => {
                report.companions += 1;
                continue;
            }
            Err(e) => {
                report.skips.push(format!("{rel}: unreadable: {e}"));
                continue;
            }
        };
        *report
            .files_by_format
            .entry(recording.format.name())
            .or_default() += 1;
        let rows = index.as_ref().and_then(|i| i.get(rel));
        if index.is_some() && rows.is_none() {
            report.notes.push(format!(
                "{rel}: no INDEX.md row; EDITED judged from content"
            ));
        }
        for ex in &recording.exchanges {
            let (path, _) = split_url(&ex.url);
            if path.contains("/v2/presence/") {
                check_exchange(&mut report, rel, ex, rows);
            }
        }
    }
    print_report(&report, &root);
    assert!(
        report.failures.is_empty(),
        "{} failure(s), see the report above",
        report.failures.len()
    );
    assert!(
        report.checked * 100 >= report.presence * MIN_CHECKED_PERCENT,
        "only {} of {} presence exchanges checked (< {MIN_CHECKED_PERCENT}%)",
        report.checked,
        report.presence
    );
}

/// Every readable presence exchange of the corpus, with its file.
fn presence_exchanges(root: &std::path::Path) -> Vec<(String, Exchange)> {
    let Ok(files) = read_provenance(root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rel in files {
        if EXCLUDED.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        if let Ok(Some(recording)) = read_recording(root, &rel) {
            for ex in recording.exchanges {
                if split_url(&ex.url).0.contains("/v2/presence/") {
                    out.push((rel.clone(), ex));
                }
            }
        }
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

/// Hand-edited variants generated from every genuine recorded success (the corpus' own edits
/// only cover some operations): truncated bodies, HTML, an OK body under a 5xx, an error body in
/// a 200, and the body really gzipped. None may panic or come back as a success.
#[test]
fn recorded_replies_mutated() {
    let root = fixtures_dir();
    if !root.join("PROVENANCE.tsv").is_file() {
        println!("recorded corpus not found at {}: skipped", root.display());
        return;
    }
    const HTML: &[u8] = b"<html><head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>\r\n";
    const ERROR_IN_200: &[u8] =
        br#"{"status": 503, "error": 1, "message": "Service Unavailable", "service": "Presence"}"#;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (rel, ex) in presence_exchanges(&root) {
        let Some(resp) = &ex.response else { continue };
        let Ok(call) = classify(&ex.url) else {
            continue;
        };
        let expected = expect(&call, resp);
        if !(200..300).contains(&resp.status) || matches!(expected, Expect::Error { .. }) {
            continue;
        }
        let (built, _) = rebuild(&call);
        let at = format!("{rel}#{}", ex.ordinal);
        let Ok(base) = reply(resp, false).and_then(|r| parse_and_compare(&built, r, &expected))
        else {
            continue; // reported by `recorded_corpus`
        };
        let plain = plain_body(resp);
        let trimmed_len = plain.trim_ascii_end().len();
        let mut variants: Vec<(&'static str, Response, Option<ErrorKind>)> = Vec::new();
        let mut cuts = vec![trimmed_len.saturating_sub(1), trimmed_len / 2, 1];
        cuts.dedup();
        for cut in cuts.into_iter().filter(|c| *c > 0) {
            let body = plain.get(..cut).unwrap_or_default().to_vec();
            variants.push((
                "truncated body -> Decode",
                Response {
                    body,
                    ..resp.clone()
                },
                Some(ErrorKind::Decode),
            ));
        }
        let with = |status: u16, body: &[u8]| Response {
            status,
            headers: resp.headers.clone(),
            body: body.to_vec(),
        };
        variants.push((
            "HTML in a 200 -> Decode",
            with(200, HTML),
            Some(ErrorKind::Decode),
        ));
        variants.push((
            "HTML in a 502 -> Server",
            with(502, HTML),
            Some(ErrorKind::Server),
        ));
        variants.push((
            "OK body in a 500 -> Server",
            with(500, &plain),
            Some(ErrorKind::Server),
        ));
        variants.push((
            "error body in a 200 -> Server",
            with(200, ERROR_IN_200),
            Some(ErrorKind::Server),
        ));
        let mut zipped = with(resp.status, &gzip(&plain));
        zipped
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-encoding"));
        zipped
            .headers
            .push(("Content-Encoding".into(), "gzip".into()));
        variants.push(("really gzipped -> same result", zipped, None));

        for (label, variant, want) in variants {
            *counts.entry(label).or_default() += 1;
            let exp = expect(&call, &variant);
            let independent = match (&exp, want) {
                (Expect::Error { kind, .. }, Some(want)) => *kind == want,
                (_, None) => exp == expected,
                _ => false,
            };
            if !independent {
                failures.push(format!("{at}: {label}: expectation {exp:?}"));
                continue;
            }
            match reply(&variant, false).and_then(|r| parse_and_compare(&built, r, &exp)) {
                Ok(rendered) if want.is_some() || rendered == base => {}
                other => failures.push(format!("{at}: {label}: {other:?} (unmutated: {base})")),
            }
        }
    }
    println!("== mutated replies (generated from the genuine recorded successes):");
    for (label, n) in &counts {
        println!("  {label}: {n}");
    }
    for f in &failures {
        println!("  FAIL: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} mutated replies mishandled",
        failures.len()
    );
    assert!(!counts.is_empty(), "no genuine success found to mutate");
}

/// The request comparison is not vacuous: recordings rebuilt as recorded compare equal, and an
/// operation differing in any compared aspect is caught (synthetic URLs, not from the corpus).
#[test]
fn request_comparison_catches_differences() {
    let call = |url: &str| classify(url).expect("synthetic URL classifies");
    let verdict = |url: &str, built: &Built| match check_request(&call(url), built, None, "-") {
        RequestCheck::Same => "same",
        RequestCheck::NotComparable(_) => "not comparable",
        RequestCheck::Differs(_) => "differs",
    };
    let base = "https://ps.pndsn.com/v2/presence";
    for url in [
        format!("{base}/sub_key/k/channel/b,a,a/leave?uuid=u&channel_group=g2,g1"),
        format!(
            "{base}/sub-key/k/channel/r%201,x/heartbeat?heartbeat=&uuid=u&state=%7B%22r%201%22:%7B%22m%22:1%7D%7D"
        ),
        format!("{base}/sub-key/k/channel/,?channel-group=g&state=1&disable_uuids=0&uuid=u"),
        format!("{base}/sub-key/k?disable_uuids=1&state=0&uuid=u&auth=t"),
        format!("{base}/sub-key/k/channel/a/uuid/b%2F1/data?state=%7B%22x%22%3A%5B1%5D%7D&uuid=u"),
        format!("{base}/sub-key/k/channel/,/uuid/v?channel-group=g&uuid=u"),
        format!("{base}/sub-key/k/uuid/v?uuid=u"),
    ] {
        assert_eq!(verdict(&url, &rebuild(&call(&url)).0), "same", "{url}");
    }
    let cases: Vec<(String, Built)> = vec![
        (
            format!("{base}/sub-key/k/channel/a/leave?uuid=u&channel-group=g1"),
            Built::Leave(Leave::new().channels(["a"]).groups(["g2"])),
        ),
        (
            format!("{base}/sub-key/k/channel/a,b/leave?uuid=u"),
            Built::Leave(Leave::new().channels(["a"])),
        ),
        (
            format!("{base}/sub-key/k/channel/a/heartbeat?heartbeat=60&uuid=u"),
            Built::Heartbeat(Heartbeat::new().channels(["a"]).presence_timeout(61)),
        ),
        (
            format!(
                "{base}/sub-key/k/channel/a/heartbeat?heartbeat=60&uuid=u&state=%7B%22a%22:1%7D"
            ),
            Built::Heartbeat(
                Heartbeat::new()
                    .channels(["a"])
                    .presence_timeout(60)
                    .state_value("a", Value::from(2)),
            ),
        ),
        (
            format!("{base}/sub-key/k/channel/a?state=1&uuid=u"),
            Built::HereNow(HereNow::new().channels(["a"])),
        ),
        (
            format!("{base}/sub-key/k/channel/a?disable_uuids=1&uuid=u"),
            Built::HereNow(HereNow::new().channels(["a"])),
        ),
        (
            format!("{base}/sub-key/k?uuid=u"),
            Built::HereNow(HereNow::new().channels(["a"])),
        ),
        (
            format!("{base}/sub-key/k/uuid/v?uuid=u"),
            Built::WhereNow(WhereNow::new().user_id("w")),
        ),
        (
            format!("{base}/sub-key/k/channel/a/uuid/u/data?state=%7B%22x%22:1%7D&uuid=u"),
            Built::SetState(
                SetState::new()
                    .channels(["a"])
                    .state(serde_json::json!({"x": 2})),
            ),
        ),
        (
            format!("{base}/sub-key/k/channel/a/uuid/v?uuid=u"),
            Built::GetState(GetState::new().channels(["a"])),
        ),
    ];
    for (url, built) in &cases {
        assert_eq!(verdict(url, built), "differs", "{url}");
    }
}
