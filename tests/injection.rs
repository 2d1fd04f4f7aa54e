//! Hostile names and values never turn into a different request.
//!
//! One row per hostile input (path traversal, query and parameter injection, fragments,
//! percent-escapes, `+`, `,`, spaces, CRLF, NUL, huge names, bidi overrides, emoji, combining
//! characters, JSON-breaking strings, …). Each input is tried in five roles, through BOTH
//! adapters, against an emulator that enforces signatures (so the bytes signed are the bytes
//! received) and Access Manager with grants on the exact names only (so an altered channel or
//! group name is refused with a 403 naming it):
//!
//! * `channel`: a channel in the path (heartbeat with state keyed by it, here now, where now,
//!   get/set state, leave);
//! * `member`: a channel inside a group (`add=` / `remove=` values, then resolved by heartbeat
//!   and here now on the group);
//! * `group`: a channel group (its registration path segment and the `channel-group` value of
//!   heartbeat, here now, get state and leave, and a heartbeat state keyed by it);
//! * `user id`: the caller's `uuid` and the target user of where now / get state / set state;
//! * `state`: a JSON string value and a JSON key of set state and heartbeat state.
//!
//! Each (input, role) either
//!
//! * round-trips: the emulator's own view — `occupants(sub_key, channel)`, global here now
//!   (every channel of a keyset, named by the emulator), where now, the group listing, get
//!   state — holds exactly the same string, and nothing else (each check runs on a fresh
//!   subscribe key, so a channel `a,b` split in two, or an extra parameter, would show);
//! * or is refused by the client before sending with `InvalidInput` or `TooLarge` (the
//!   emulator's `requests_total` does not move, for every operation that takes that role);
//! * or reaches the emulator unchanged and is refused by it: only names over its 92-byte limit,
//!   with `BadRequest`.
//!
//! What each row must do is written in the table; every failure of every row and adapter is
//! reported at once, with a summary of how many inputs round-tripped or were refused where.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};

use presence_emulator::{
    AccessManager, BackgroundEmulator, EmulatorBuilder, KeysetOptions, Permissions,
};
use presence_proto::{
    AddChannelsToGroup, Config, DeleteGroup, Error, ErrorKind, GetState, Heartbeat, HereNow, Leave,
    ListGroupChannels, Operation, RemoveChannelsFromGroup, SetState, WhereNow,
};
use serde_json::{Value, json};

const SECRET_KEY: &str = "inj-secret";
const PUB_KEY: &str = "inj-pub";
const AUTH_TOKEN: &str = "inj-token";
/// The caller of most checks.
const USER: &str = "inj-user";
/// A second user, to target another user id.
const OBSERVER: &str = "inj-observer";
/// The channel of the user id and state roles.
const ROOM: &str = "inj-room";
/// The group of the member role.
const GROUP: &str = "inj-group";
/// The channel put into the group of the group role.
const MEMBER: &str = "inj-member";
/// The emulator's name limit, in UTF-8 bytes.
const MAX_NAME_BYTES: usize = 92;

// =============================================================================================
// The table.

/// Where a hostile input is put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Channel,
    Member,
    Group,
    UserId,
    State,
}

const ROLES: [Role; 5] = [
    Role::Channel,
    Role::Member,
    Role::Group,
    Role::UserId,
    Role::State,
];

impl Role {
    fn index(self) -> usize {
        self as usize
    }
}

/// What must happen to an input in a role (and what did happen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Reached the emulator as exactly the same string, everywhere it was used.
    RoundTrip,
    /// Refused by the client with this kind, nothing sent.
    Client(ErrorKind),
    /// Reached the emulator, which refused it with this kind.
    Emulator(ErrorKind),
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RoundTrip => f.write_str("round trip"),
            Self::Client(k) => write!(f, "refused by the client ({k:?})"),
            Self::Emulator(k) => write!(f, "refused by the emulator ({k:?})"),
        }
    }
}

struct Row {
    name: &'static str,
    input: String,
    fates: [Fate; 5],
}

impl Row {
    /// A row that round-trips in every role.
    fn new(name: &'static str, input: impl Into<String>) -> Self {
        Self {
            name,
            input: input.into(),
            fates: [Fate::RoundTrip; 5],
        }
    }

    fn fate(mut self, roles: &[Role], fate: Fate) -> Self {
        for role in roles {
            self.fates[role.index()] = fate;
        }
        self
    }

    /// Over the 92-byte name limit: the emulator refuses channel and group names, the client
    /// refuses user ids (same limit, checked before sending); a state value is no name.
    fn over_name_limit(self) -> Self {
        self.fate(
            &[Role::Channel, Role::Member, Role::Group],
            Fate::Emulator(ErrorKind::BadRequest),
        )
        .fate(&[Role::UserId], Fate::Client(ErrorKind::InvalidInput))
    }

    /// Contains `,`: fine in a path channel (sent as `%2C`), refused where names are joined by
    /// `,` in one query value (group names, the channels added to or removed from a group).
    fn has_comma(self) -> Self {
        self.fate(
            &[Role::Member, Role::Group],
            Fate::Client(ErrorKind::InvalidInput),
        )
    }

    /// Empty or whitespace: refused as a name, fine as a state value.
    fn blank(self) -> Self {
        self.fate(
            &[Role::Channel, Role::Member, Role::Group, Role::UserId],
            Fate::Client(ErrorKind::InvalidInput),
        )
    }

    /// `.` or `..`: would be a dot path segment that HTTP stacks collapse, so every name role
    /// refuses it before sending (a state value is no path segment).
    fn dot_segment(self) -> Self {
        self.fate(
            &[Role::Channel, Role::Member, Role::Group, Role::UserId],
            Fate::Client(ErrorKind::InvalidInput),
        )
    }

    /// So long once encoded that every URL carrying it is over 32 KiB.
    fn url_too_long(self) -> Self {
        self.fate(
            &[Role::Channel, Role::Member, Role::Group, Role::State],
            Fate::Client(ErrorKind::TooLarge),
        )
        .fate(&[Role::UserId], Fate::Client(ErrorKind::InvalidInput))
    }
}

fn table() -> Vec<Row> {
    vec![
        // Paths.
        Row::new("dot-dot-slash", "../"),
        Row::new("path traversal", "../../v2/presence/sub-key/other"),
        Row::new("dot segment", ".").dot_segment(),
        Row::new("dot-dot segment", "..").dot_segment(),
        Row::new("slashes", "//"),
        Row::new("backslashes", "..\\..\\x"),
        Row::new("matrix parameter", "a;b=c"),
        // Queries.
        Row::new("query injection", "?x=1&auth=other"),
        Row::new("parameter injection", "&uuid=mallory"),
        Row::new("pairs", "a=b&c=d"),
        Row::new("fragment", "#frag"),
        Row::new("lone question mark", "?"),
        // Escapes.
        Row::new("escaped NUL", "%00"),
        Row::new("escaped slash", "%2F"),
        Row::new("escaped percent", "%25"),
        Row::new("double escape", "%252F"),
        Row::new("lone percent", "%"),
        Row::new("bad escape", "%zz%4"),
        Row::new("plus", "+"),
        Row::new("plus and space", "a+b c"),
        Row::new("sub-delims", "~*'()!$"),
        // Separators.
        Row::new("comma inside a name", "a,b").has_comma(),
        Row::new("lone comma", ",").has_comma(),
        Row::new("space", "a b"),
        Row::new("padded", "  padded  "),
        Row::new("tab", "a\tb"),
        // Control characters.
        Row::new("CRLF header injection", "\r\nX-Injected: 1"),
        Row::new("NUL", "nul\0byte"),
        Row::new("escape and bell", "\u{1b}[31m\u{7}"),
        // Unicode.
        Row::new("RTL override", "\u{202E}gnp.exe"),
        Row::new("emoji with ZWJ", "👩\u{200D}👩\u{200D}👧\u{200D}👦🔥"),
        Row::new(
            "combining characters",
            "e\u{301}\u{302}\u{303}Z\u{337}\u{334}",
        ),
        Row::new("line separator", "a\u{2028}b"),
        Row::new("byte order mark", "\u{FEFF}bom"),
        // JSON breakers.
        Row::new("quote and brace", "\"}"),
        Row::new("escaped quote", "\\\""),
        Row::new("nested quotes", r#"{"a":"\"b'\"c\""}"#),
        Row::new("JSON object with a comma", r#"{"a":1,"b":['c']}"#).has_comma(),
        Row::new("closing script", "</script><script>alert(1)</script>"),
        // Sizes.
        Row::new("92 bytes", "x".repeat(92)),
        Row::new("93 bytes", "x".repeat(93)).over_name_limit(),
        Row::new("46 two-byte chars (92 bytes)", "é".repeat(46)),
        Row::new("47 two-byte chars (94 bytes)", "é".repeat(47)).over_name_limit(),
        Row::new("5,000 bytes", "n".repeat(5000)).over_name_limit(),
        Row::new("12,000 bytes, 36,000 encoded", "é".repeat(6000)).url_too_long(),
        // Blank.
        Row::new("empty", "").blank(),
        Row::new("whitespace only", " \t\r\n").blank(),
    ]
}

// =============================================================================================
// Adapters.

/// Sends core operations with an explicit configuration, like every adapter's `execute_with`.
trait Adapter {
    const NAME: &'static str;
    fn send<O: Operation>(&self, config: &Config, op: &O) -> Result<O::Output, Error>;
}

struct Tokio {
    rt: tokio::runtime::Runtime,
    client: presence_tokio::Client,
}

impl Adapter for Tokio {
    const NAME: &'static str = "tokio";
    fn send<O: Operation>(&self, config: &Config, op: &O) -> Result<O::Output, Error> {
        self.rt.block_on(self.client.execute_with(config, op))
    }
}

struct Blocking(presence_blocking::Client);

impl Adapter for Blocking {
    const NAME: &'static str = "blocking";
    fn send<O: Operation>(&self, config: &Config, op: &O) -> Result<O::Output, Error> {
        self.0.execute_with(config, op)
    }
}

/// An emulator that checks signatures and grants the token exactly the table's names (and the
/// helpers), nothing else.
fn emulator(rows: &[Row]) -> BackgroundEmulator {
    let mut grants = AccessManager::new()
        .grant_channel(AUTH_TOKEN, ROOM, Permissions::ALL)
        .grant_channel(AUTH_TOKEN, MEMBER, Permissions::ALL)
        .grant_group(AUTH_TOKEN, GROUP, Permissions::ALL);
    for row in rows {
        grants = grants
            .grant_channel(AUTH_TOKEN, row.input.clone(), Permissions::ALL)
            .grant_group(AUTH_TOKEN, row.input.clone(), Permissions::ALL);
    }
    EmulatorBuilder::new()
        .default_keyset(
            KeysetOptions::new()
                .secret_key(SECRET_KEY)
                .publish_key(PUB_KEY)
                .access_manager(grants),
        )
        .start_in_background()
        .expect("emulator")
}

// =============================================================================================
// One check: an input in one role, on a fresh subscribe key.

struct Probe<'a, A> {
    adapter: &'a A,
    emulator: &'a BackgroundEmulator,
    origin: String,
    sub_key: String,
    problems: Vec<String>,
}

/// What one operation did: its result and how many requests reached the emulator.
struct Sent<T> {
    result: Result<T, Error>,
    requests: u64,
}

impl<A: Adapter> Probe<'_, A> {
    fn config(&self, user_id: &str) -> Result<Config, Error> {
        Config::builder(self.sub_key.clone(), user_id)
            .origin(self.origin.clone())
            .publish_key(PUB_KEY)
            .secret_key(SECRET_KEY)
            .auth_token(AUTH_TOKEN)
            .build()
    }

    fn user(&self, user_id: &str) -> Config {
        self.config(user_id).expect("helper user id")
    }

    fn requests(&self) -> u64 {
        self.emulator.stats().requests_total
    }

    fn send<O: Operation>(&self, config: &Config, op: &O) -> Sent<O::Output> {
        let before = self.requests();
        let result = self.adapter.send(config, op);
        Sent {
            result,
            requests: self.requests() - before,
        }
    }

    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// Sends `op`, which must succeed.
    fn ok<O: Operation>(&mut self, what: &str, config: &Config, op: &O) -> Option<O::Output> {
        match self.adapter.send(config, op) {
            Ok(output) => Some(output),
            Err(e) => {
                self.problem(format!("{what}: {:?} error: {e}", e.kind()));
                None
            }
        }
    }

    fn check(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            self.problem(format!("{what}: {}", detail()));
        }
    }

    /// The first operation of a role decides its fate. A refusal by the client must hold for
    /// every other operation that takes the input in that role (`also`, only sent then), none
    /// sending anything.
    fn first<T>(
        &mut self,
        what: &str,
        sent: Sent<T>,
        also: impl FnOnce(&Self) -> Vec<(&'static str, Sent<()>)>,
    ) -> Option<Fate> {
        match sent.result {
            Ok(_) => {
                self.check(what, sent.requests == 1, || {
                    format!("{} requests reached the emulator", sent.requests)
                });
                None
            }
            Err(e) if sent.requests == 0 => {
                let kind = e.kind();
                if !matches!(kind, ErrorKind::InvalidInput | ErrorKind::TooLarge) {
                    self.problem(format!("{what}: nothing sent, yet a {kind:?} error: {e}"));
                }
                for (other, sent) in also(self) {
                    match &sent.result {
                        Err(e) if e.kind() == kind && sent.requests == 0 => {}
                        Err(e) => self.problem(format!(
                            "{other}: expected the same {kind:?} refusal with nothing sent, got \
                             {:?} ({e}) with {} requests",
                            e.kind(),
                            sent.requests
                        )),
                        Ok(()) => self.problem(format!(
                            "{other}: expected the same {kind:?} refusal, but it was sent and \
                             succeeded"
                        )),
                    }
                }
                Some(Fate::Client(kind))
            }
            Err(e) => {
                self.check(what, sent.requests == 1, || {
                    format!("{} requests reached the emulator", sent.requests)
                });
                Some(Fate::Emulator(e.kind()))
            }
        }
    }

    /// Every channel of the keyset, as the emulator names them, with their occupants.
    fn keyset_view(&mut self, what: &str) -> Vec<(String, Vec<String>)> {
        let observer = self.user(OBSERVER);
        self.ok(what, &observer, &HereNow::new())
            .map(|here| {
                here.channels
                    .into_iter()
                    .map(|c| {
                        let users = c.occupants.into_iter().map(|u| u.user_id).collect();
                        (c.name, users)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn expect_keyset(&mut self, what: &str, expected: &[(&str, &[&str])]) {
        let view = self.keyset_view(what);
        let expected: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(c, users)| {
                (
                    (*c).to_owned(),
                    users.iter().map(|u| (*u).to_owned()).collect(),
                )
            })
            .collect();
        self.check(what, view == expected, || {
            format!("the keyset holds {view:?}, expected {expected:?}")
        });
    }

    fn expect_occupants(&mut self, what: &str, channel: &str, expected: &[&str]) {
        let occupants = self.emulator.occupants(&self.sub_key, channel);
        self.check(what, occupants == expected, || {
            format!("occupants(..) = {occupants:?}, expected {expected:?}")
        });
    }
}

fn unit<T>(sent: Sent<T>) -> Sent<()> {
    Sent {
        result: sent.result.map(|_| ()),
        requests: sent.requests,
    }
}

/// `x` as a channel in the path.
fn channel_role<A: Adapter>(p: &mut Probe<'_, A>, x: &str) -> Fate {
    let me = p.user(USER);
    let joined = json!({"role": "channel"});
    let heartbeat = p.send(
        &me,
        &Heartbeat::new()
            .channels([x])
            .state_value(x, joined.clone()),
    );
    let also = |p: &Probe<'_, A>| {
        vec![
            ("here_now", unit(p.send(&me, &HereNow::new().channels([x])))),
            (
                "get_state",
                unit(p.send(&me, &GetState::new().channels([x]))),
            ),
            (
                "set_state",
                unit(p.send(&me, &SetState::new().channels([x]).state(json!({"a": 1})))),
            ),
            ("leave", unit(p.send(&me, &Leave::new().channels([x])))),
        ]
    };
    if let Some(fate) = p.first("heartbeat", heartbeat, also) {
        if matches!(fate, Fate::Emulator(_)) {
            p.expect_keyset("nothing joined", &[]);
        }
        return fate;
    }
    p.expect_occupants("after heartbeat", x, &[USER]);
    p.expect_keyset("global here_now", &[(x, &[USER][..])]);
    if let Some(here) = p.ok(
        "here_now",
        &me,
        &HereNow::new().channels([x]).include_state(true),
    ) {
        let seen: Vec<_> = here
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.occupants.clone()))
            .collect();
        let ok = here.channels.len() == 1
            && here.channels[0].occupants.len() == 1
            && here.channels[0].occupants[0].user_id == USER
            && here.channels[0].occupants[0].state.as_ref() == Some(&joined);
        p.check("here_now with state (keyed by the name)", ok, || {
            format!("{seen:?}")
        });
    }
    if let Some(at) = p.ok("where_now", &me, &WhereNow::new()) {
        p.check("where_now", at.channels == [x], || {
            format!("{:?}", at.channels)
        });
    }
    if let Some(got) = p.ok("get_state", &me, &GetState::new().channels([x])) {
        let ok = got.channels.len() == 1
            && got.channels[0].channel == x
            && got.channels[0].state == joined;
        p.check("get_state after heartbeat state", ok, || format!("{got:?}"));
    }
    let set = json!({"role": "channel", "set": true});
    p.ok(
        "set_state",
        &me,
        &SetState::new().channels([x]).state(set.clone()),
    );
    if let Some(got) = p.ok("get_state", &me, &GetState::new().channels([x])) {
        p.check(
            "get_state after set_state",
            got.state(x) == Some(&set),
            || format!("{got:?}"),
        );
    }
    p.ok("leave", &me, &Leave::new().channels([x]));
    p.expect_occupants("after leave", x, &[]);
    p.expect_keyset("global here_now after leave", &[]);
    Fate::RoundTrip
}

/// `x` as a channel inside a group.
fn member_role<A: Adapter>(p: &mut Probe<'_, A>, x: &str) -> Fate {
    let me = p.user(USER);
    let add = p.send(&me, &AddChannelsToGroup::new(GROUP, [x]));
    let also = |p: &Probe<'_, A>| {
        vec![(
            "remove_channels_from_group",
            p.send(&me, &RemoveChannelsFromGroup::new(GROUP, [x])),
        )]
    };
    if let Some(fate) = p.first("add_channels_to_group", add, also) {
        if matches!(fate, Fate::Emulator(_)) {
            if let Some(list) = p.ok("list", &me, &ListGroupChannels::new(GROUP)) {
                p.check("nothing added", list.channels.is_empty(), || {
                    format!("{list:?}")
                });
            }
        }
        return fate;
    }
    if let Some(list) = p.ok("list_group_channels", &me, &ListGroupChannels::new(GROUP)) {
        p.check(
            "list_group_channels",
            list.group == GROUP && list.channels == [x],
            || format!("{list:?}"),
        );
    }
    p.ok(
        "heartbeat on the group",
        &me,
        &Heartbeat::new().groups([GROUP]),
    );
    p.expect_occupants("after heartbeat on the group", x, &[USER]);
    p.expect_keyset("global here_now", &[(x, &[USER][..])]);
    if let Some(here) = p.ok(
        "here_now of the group",
        &me,
        &HereNow::new().groups([GROUP]),
    ) {
        let names: Vec<&str> = here.channels.iter().map(|c| c.name.as_str()).collect();
        p.check("here_now of the group", names == [x], || {
            format!("{names:?}")
        });
    }
    if let Some(at) = p.ok("where_now", &me, &WhereNow::new()) {
        p.check("where_now", at.channels == [x], || {
            format!("{:?}", at.channels)
        });
    }
    p.ok(
        "remove_channels_from_group",
        &me,
        &RemoveChannelsFromGroup::new(GROUP, [x]),
    );
    if let Some(list) = p.ok("list after remove", &me, &ListGroupChannels::new(GROUP)) {
        p.check("removed", list.channels.is_empty(), || format!("{list:?}"));
    }
    p.ok("leave", &me, &Leave::new().channels([x]));
    p.ok("delete_group", &me, &DeleteGroup::new(GROUP));
    Fate::RoundTrip
}

/// `x` as a channel group.
fn group_role<A: Adapter>(p: &mut Probe<'_, A>, x: &str) -> Fate {
    let me = p.user(USER);
    let add = p.send(&me, &AddChannelsToGroup::new(x, [MEMBER]));
    let also = |p: &Probe<'_, A>| {
        vec![
            (
                "list_group_channels",
                unit(p.send(&me, &ListGroupChannels::new(x))),
            ),
            (
                "remove_channels_from_group",
                p.send(&me, &RemoveChannelsFromGroup::new(x, [MEMBER])),
            ),
            ("delete_group", p.send(&me, &DeleteGroup::new(x))),
            ("heartbeat", p.send(&me, &Heartbeat::new().groups([x]))),
            ("here_now", unit(p.send(&me, &HereNow::new().groups([x])))),
            ("get_state", unit(p.send(&me, &GetState::new().groups([x])))),
            ("leave", unit(p.send(&me, &Leave::new().groups([x])))),
        ]
    };
    if let Some(fate) = p.first("add_channels_to_group", add, also) {
        return fate;
    }
    if let Some(list) = p.ok("list_group_channels", &me, &ListGroupChannels::new(x)) {
        p.check(
            "list_group_channels (the group as the emulator names it)",
            list.group == x && list.channels == [MEMBER],
            || format!("{list:?}"),
        );
    }
    let via_group = json!({"role": "group"});
    p.ok(
        "heartbeat on the group, state keyed by the group",
        &me,
        &Heartbeat::new()
            .groups([x])
            .state_value(x, via_group.clone()),
    );
    p.expect_occupants("after heartbeat on the group", MEMBER, &[USER]);
    p.expect_keyset("global here_now", &[(MEMBER, &[USER][..])]);
    if let Some(here) = p.ok(
        "here_now of the group",
        &me,
        &HereNow::new().groups([x]).include_state(true),
    ) {
        let ok = here.channels.len() == 1
            && here.channels[0].name == MEMBER
            && here.channels[0].occupants.len() == 1
            && here.channels[0].occupants[0].state.as_ref() == Some(&via_group);
        p.check("here_now of the group with state", ok, || {
            format!("{here:?}")
        });
    }
    if let Some(got) = p.ok("get_state of the group", &me, &GetState::new().groups([x])) {
        p.check(
            "get_state of the group",
            got.channels.len() == 1 && got.state(MEMBER) == Some(&via_group),
            || format!("{got:?}"),
        );
    }
    p.ok("leave the group", &me, &Leave::new().groups([x]));
    p.expect_occupants("after leaving the group", MEMBER, &[]);
    p.ok("delete_group", &me, &DeleteGroup::new(x));
    if let Some(list) = p.ok("list after delete", &me, &ListGroupChannels::new(x)) {
        p.check("deleted", list.channels.is_empty(), || format!("{list:?}"));
    }
    Fate::RoundTrip
}

/// `x` as a user id: the caller's, and the target of where now / get state / set state.
fn user_role<A: Adapter>(p: &mut Probe<'_, A>, x: &str) -> Fate {
    let observer = p.user(OBSERVER);
    let me = match p.config(x) {
        Ok(config) => config,
        Err(e) => {
            // Refused as the caller; as a target it must be refused too, with nothing sent.
            let refused = Sent {
                result: Err::<(), _>(e),
                requests: 0,
            };
            let also = |p: &Probe<'_, A>| {
                vec![
                    (
                        "where_now(user_id)",
                        unit(p.send(&observer, &WhereNow::new().user_id(x))),
                    ),
                    (
                        "get_state(user_id)",
                        unit(p.send(&observer, &GetState::new().channels([ROOM]).user_id(x))),
                    ),
                    (
                        "set_state(user_id)",
                        unit(
                            p.send(
                                &observer,
                                &SetState::new()
                                    .channels([ROOM])
                                    .user_id(x)
                                    .state(json!({"a": 1})),
                            ),
                        ),
                    ),
                ]
            };
            return p
                .first("Config::build(user_id)", refused, also)
                .expect("an error with nothing sent is a client refusal");
        }
    };
    let heartbeat = p.send(&me, &Heartbeat::new().channels([ROOM]));
    if let Some(fate) = p.first("heartbeat as the user", heartbeat, |_| Vec::new()) {
        return fate;
    }
    p.expect_occupants("after heartbeat", ROOM, &[x]);
    p.expect_keyset("global here_now", &[(ROOM, &[x][..])]);
    if let Some(here) = p.ok("here_now", &observer, &HereNow::new().channels([ROOM])) {
        let users: Vec<&str> = here
            .channels
            .iter()
            .flat_map(|c| &c.occupants)
            .map(|u| u.user_id.as_str())
            .collect();
        p.check("here_now occupants", users == [x], || format!("{users:?}"));
    }
    if let Some(at) = p.ok("where_now as the user", &me, &WhereNow::new()) {
        p.check("where_now as the user", at.channels == [ROOM], || {
            format!("{:?}", at.channels)
        });
    }
    if let Some(at) = p.ok("where_now(user_id)", &observer, &WhereNow::new().user_id(x)) {
        p.check("where_now(user_id)", at.channels == [ROOM], || {
            format!("{:?}", at.channels)
        });
    }
    let set = json!({"set_by": OBSERVER});
    p.ok(
        "set_state(user_id)",
        &observer,
        &SetState::new()
            .channels([ROOM])
            .user_id(x)
            .state(set.clone()),
    );
    if let Some(got) = p.ok(
        "get_state as the user",
        &me,
        &GetState::new().channels([ROOM]),
    ) {
        p.check(
            "get_state as the user",
            got.user_id.as_deref() == Some(x) && got.state(ROOM) == Some(&set),
            || format!("{got:?}"),
        );
    }
    if let Some(got) = p.ok(
        "get_state(user_id)",
        &observer,
        &GetState::new().channels([ROOM]).user_id(x),
    ) {
        p.check(
            "get_state(user_id)",
            got.user_id.as_deref() == Some(x) && got.state(ROOM) == Some(&set),
            || format!("{got:?}"),
        );
    }
    // The observer's own state is untouched: the target did not fall back to the caller.
    if let Some(got) = p.ok(
        "observer's get_state",
        &observer,
        &GetState::new().channels([ROOM]),
    ) {
        p.check(
            "observer's own state",
            got.state(ROOM) == Some(&json!({})),
            || format!("{got:?}"),
        );
    }
    p.ok("leave as the user", &me, &Leave::new().channels([ROOM]));
    p.expect_occupants("after leave", ROOM, &[]);
    Fate::RoundTrip
}

/// `x` as a JSON string value and as a JSON key.
fn state_role<A: Adapter>(p: &mut Probe<'_, A>, x: &str) -> Fate {
    let me = p.user(USER);
    let in_heartbeat = json!({"hb": x});
    let heartbeat = p.send(
        &me,
        &Heartbeat::new()
            .channels([ROOM])
            .state_value(ROOM, in_heartbeat.clone()),
    );
    let also = |p: &Probe<'_, A>| {
        vec![(
            "set_state",
            unit(p.send(
                &me,
                &SetState::new().channels([ROOM]).state(json!({"v": x})),
            )),
        )]
    };
    if let Some(fate) = p.first("heartbeat with the state", heartbeat, also) {
        return fate;
    }
    if let Some(got) = p.ok("get_state", &me, &GetState::new().channels([ROOM])) {
        p.check(
            "heartbeat state as stored",
            got.state(ROOM) == Some(&in_heartbeat),
            || format!("{got:?}"),
        );
    }
    let mut as_key = serde_json::Map::new();
    as_key.insert(x.to_owned(), json!("key"));
    for (what, state) in [
        ("as a value", json!({"v": x, "nested": {"list": [x]}})),
        ("as a key", Value::Object(as_key)),
    ] {
        if let Some(set) = p.ok(
            &format!("set_state {what}"),
            &me,
            &SetState::new().channels([ROOM]).state(state.clone()),
        ) {
            p.check(
                &format!("set_state {what}: echoed"),
                set.state == state,
                || format!("{:?}", set.state),
            );
        }
        if let Some(got) = p.ok(
            &format!("get_state {what}"),
            &me,
            &GetState::new().channels([ROOM]),
        ) {
            p.check(
                &format!("get_state {what}"),
                got.state(ROOM) == Some(&state),
                || format!("{got:?}"),
            );
        }
        if let Some(here) = p.ok(
            &format!("here_now with state {what}"),
            &me,
            &HereNow::new().channels([ROOM]).include_state(true),
        ) {
            let seen = here
                .channels
                .first()
                .and_then(|c| c.occupants.first())
                .and_then(|u| u.state.clone());
            p.check(
                &format!("here_now state {what}"),
                seen.as_ref() == Some(&state),
                || format!("{seen:?}"),
            );
        }
    }
    p.ok("leave", &me, &Leave::new().channels([ROOM]));
    Fate::RoundTrip
}

// =============================================================================================
// Running the table.

/// Counts of how the inputs fared, per role.
#[derive(Default)]
struct Tally {
    round_trip: [usize; 5],
    client: [usize; 5],
    emulator: [usize; 5],
}

fn run_table<A: Adapter>(adapter: &A) {
    let rows = table();
    // The table itself is consistent with the rules above.
    for row in &rows {
        for role in ROLES {
            if let Fate::Emulator(kind) = row.fates[role.index()] {
                assert!(
                    kind == ErrorKind::BadRequest && row.input.len() > MAX_NAME_BYTES,
                    "row {:?}: the emulator refuses only names over {MAX_NAME_BYTES} bytes",
                    row.name
                );
            }
        }
    }
    let emulator = emulator(&rows);
    let origin = emulator.origin();
    static FRESH: AtomicUsize = AtomicUsize::new(0);
    let mut failures: Vec<String> = Vec::new();
    let mut tally = Tally::default();
    for (i, row) in rows.iter().enumerate() {
        for role in ROLES {
            let mut probe = Probe {
                adapter,
                emulator: &emulator,
                origin: origin.clone(),
                sub_key: format!(
                    "inj-{}-{i}-{role:?}-{}",
                    A::NAME,
                    FRESH.fetch_add(1, Ordering::Relaxed)
                ),
                problems: Vec::new(),
            };
            let x = row.input.as_str();
            let fate = match role {
                Role::Channel => channel_role(&mut probe, x),
                Role::Member => member_role(&mut probe, x),
                Role::Group => group_role(&mut probe, x),
                Role::UserId => user_role(&mut probe, x),
                Role::State => state_role(&mut probe, x),
            };
            let expected = row.fates[role.index()];
            let label = format!("[{}] row {i} {:?} ({role:?})", A::NAME, row.name);
            if fate == expected {
                match fate {
                    Fate::RoundTrip => tally.round_trip[role.index()] += 1,
                    Fate::Client(_) => tally.client[role.index()] += 1,
                    Fate::Emulator(_) => tally.emulator[role.index()] += 1,
                }
            } else {
                failures.push(format!("{label}: expected {expected}, got {fate}"));
            }
            failures.extend(probe.problems.into_iter().map(|p| format!("{label}: {p}")));
        }
    }

    let mut summary = format!(
        "{}: {} inputs × {} roles\n  {:<8} {:>10} {:>16} {:>18}\n",
        A::NAME,
        rows.len(),
        ROLES.len(),
        "role",
        "round trip",
        "client refused",
        "emulator refused"
    );
    for role in ROLES {
        let i = role.index();
        let _ = writeln!(
            summary,
            "  {:<8} {:>10} {:>16} {:>18}",
            format!("{role:?}"),
            tally.round_trip[i],
            tally.client[i],
            tally.emulator[i]
        );
    }
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}\n\n{summary}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hostile_inputs_round_trip_or_are_refused_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config::builder("unused", "unused").build().expect("config");
    let client = presence_tokio::Client::new(config).expect("client");
    run_table(&Tokio { rt, client });
}

#[test]
fn hostile_inputs_round_trip_or_are_refused_blocking() {
    let config = Config::builder("unused", "unused").build().expect("config");
    let client = presence_blocking::Client::new(config).expect("client");
    run_table(&Blocking(client));
}
