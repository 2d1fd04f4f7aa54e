//! Secrets never leak (in the spirit of str0m's `tests/pii.rs`).
//!
//! A secret key and an auth token with distinctive values are configured, and every operation
//! (here now incl. global, where now, heartbeat, leave, set/get state, the four channel-group
//! calls) runs through BOTH adapters against the emulator, which enforces that secret key (so
//! the calls really succeed) and Access Manager. Besides the successes, every error kind is
//! produced: bad request (a 400 fault and the emulator's own 400s), access denied (Access
//! Manager and a wrong signature), not enabled (402), not found / too many requests / server
//! (fault rules with `Retry-After`), timeout (a delay fault and a short request timeout),
//! network (a dropped connection), decode (invalid JSON), too large (a URL over 32 KiB, a body
//! over `max_body_size`) and invalid input. Retries run too (their log lines carry the error).
//!
//! A global `tracing` subscriber (one custom [`Layer`], everything at TRACE, with the `log`
//! bridge that `try_init` installs, so records of `log`-based dependencies such as ureq and
//! rustls are captured too) records every span, span update and event. Then no secret may
//! appear:
//!
//! * in any captured record — split into records emitted through `tracing` (the crates' own
//!   logging and anything else that uses `tracing`) and records bridged from the `log` crate
//!   (third-party dependencies), checked by separate tests so a leak is attributed precisely;
//! * in the `Debug` (plain and `{:#?}`) or `Display` of configs, config builders, secrets,
//!   clients, client builders, request builders, results and errors;
//! * anywhere in an error's `source()` chain (each link's `Debug` and `Display`).
//!
//! The capture must not be empty and must show every operation (its `op` and a path), and
//! `leak_detector_catches_planted_secrets` proves the capture and the checks can fail.
//!
//! All tests share the one global subscriber, so they are serialised with a lock; each adapter
//! runs the plan once and its tests read the cached report.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::future::IntoFuture as _;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use presence_emulator::{
    AccessManager, BackgroundEmulator, EmulatorBuilder, FaultAction, FaultRule, KeysetOptions,
    Permissions,
};
use presence_proto::{Config, Error, ErrorKind, Operation, RetryPolicy};
use presence_workspace::scenarios::{
    Call, ClientOptions, GetStateCall, HeartbeatCall, HereNowCall, LeaveCall, Outcome,
    SetStateCall, WhereNowCall,
};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The secret key the emulator enforces and the client signs with.
const SECRET_KEY: &str = "sec-c-S3CR3T-do-not-log";
/// The Access Manager token the client sends as `auth`.
const AUTH_TOKEN: &str = "auth-T0K3N-do-not-log";
/// A wrong secret key (for the signature-mismatch step): a secret all the same.
const WRONG_SECRET_KEY: &str = "sec-c-WR0NG-S3CR3T-do-not-log";
/// Everything that must never show up. Only characters the encoder leaves raw, so a
/// percent-encoded copy would be caught as well.
const SECRETS: [&str; 3] = [SECRET_KEY, AUTH_TOKEN, WRONG_SECRET_KEY];

const PUB_KEY: &str = "pub-c-secrets";
const SUB_KEY: &str = "sub-c-secrets";
const SUB_PRESENCE_OFF: &str = "sub-c-secrets-presence-off";
const SUB_GLOBAL_OFF: &str = "sub-c-secrets-global-off";

/// Every operation name (`Operation::NAME`) the logs must show.
const OPERATIONS: [&str; 10] = [
    "here_now",
    "where_now",
    "heartbeat",
    "leave",
    "set_state",
    "get_state",
    "add_channels_to_group",
    "remove_channels_from_group",
    "list_group_channels",
    "delete_group",
];

// =============================================================================================
// Capture: one global subscriber with one layer that keeps every record as text.

/// Where a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Emitted through `tracing` (spans, span updates, events).
    Tracing,
    /// A `log` record bridged by `tracing-log` (third-party crates logging through `log`).
    LogBridge,
}

/// One captured span, span update or event, fully formatted.
#[derive(Clone, Debug)]
struct Captured {
    origin: Origin,
    /// The record's target (for bridged records, the `log` target).
    target: String,
    level: tracing::Level,
    /// Span scope, span name, message and every field.
    text: String,
}

static RECORDS: Mutex<Vec<Captured>> = Mutex::new(Vec::new());

fn records() -> MutexGuard<'static, Vec<Captured>> {
    RECORDS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Formats every field of a span or event: `message` as is, the rest as ` name=value`.
#[derive(Default)]
struct FieldText {
    text: String,
    log_target: Option<String>,
}

impl Visit for FieldText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "log.target" {
            self.log_target = Some(value.to_owned());
        }
        self.record_debug(field, &value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Unlike the default (Display only), keep the whole chain, Debug and Display.
        let _ = write!(self.text, " {}={value} / {value:?}", field.name());
        let mut source = value.source();
        while let Some(s) = source {
            let _ = write!(self.text, " <- {s} / {s:?}");
            source = s.source();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, " {value:?}");
        } else {
            let _ = write!(self.text, " {}={value:?}", field.name());
        }
    }
}

/// A span's fields so far (updated by `record`), kept in the span's extensions.
struct SpanFields(String);

struct CaptureLayer;

impl CaptureLayer {
    fn push(meta: &tracing::Metadata<'_>, fields: &FieldText, text: String) {
        let (origin, target) = match (&fields.log_target, meta.target()) {
            (Some(target), "log") => (Origin::LogBridge, target.clone()),
            _ => (Origin::Tracing, meta.target().to_owned()),
        };
        records().push(Captured {
            origin,
            target,
            level: *meta.level(),
            text,
        });
    }
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = FieldText::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(SpanFields(fields.text.clone()));
        }
        let meta = attrs.metadata();
        let text = format!("new span {}{{{}}}", meta.name(), fields.text);
        Self::push(meta, &fields, text);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut fields = FieldText::default();
        values.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        if let Some(SpanFields(text)) = span.extensions_mut().get_mut::<SpanFields>() {
            text.push_str(&fields.text);
        }
        let text = format!("record on span {}:{}", span.name(), fields.text);
        Self::push(span.metadata(), &fields, text);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = FieldText::default();
        event.record(&mut fields);
        let mut text = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let span_fields = extensions.get::<SpanFields>().map_or("", |f| f.0.as_str());
                let _ = write!(text, "{}{{{span_fields}}}: ", span.name());
            }
        }
        text.push_str(&fields.text);
        Self::push(event.metadata(), &fields, text);
    }
}

/// Installs the global subscriber (once) and serialises the tests of this binary. The
/// capture is emptied for the caller.
fn exclusive_capture() -> MutexGuard<'static, ()> {
    static INIT: OnceLock<()> = OnceLock::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    INIT.get_or_init(|| {
        // `try_init` also installs the `log` → `tracing` bridge (tracing-log), so records of
        // dependencies that log through `log` (ureq, rustls) are captured like a typical
        // application's `tracing_subscriber::fmt().init()` would see them.
        // Everything at TRACE, except ureq capped at DEBUG as presence-blocking's README
        // requires: at TRACE, ureq itself logs full request URLs (auth token and signature
        // included) and no library can stop that; at DEBUG it masks them (`/******`).
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::TRACE)
            .with_target("ureq", tracing::Level::DEBUG);
        tracing_subscriber::registry()
            .with(filter)
            .with(CaptureLayer)
            .try_init()
            .expect("the global subscriber is installed once");
    });
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    records().clear();
    guard
}

// =============================================================================================
// The checks: every string any value or record can be turned into.

/// Collects every place a secret was found.
#[derive(Default)]
struct Inspector {
    leaks: Vec<String>,
    /// How many strings were checked.
    checked: usize,
    /// How many `source()` links were walked (so the chain walk is known to be exercised).
    sources_walked: usize,
}

/// A short excerpt of `text` around `secret`.
fn around(text: &str, secret: &str) -> String {
    let at = text.find(secret).unwrap_or(0);
    let mut start = at.saturating_sub(160);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + secret.len() + 160).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("…{}…", &text[start..end])
}

impl Inspector {
    fn text(&mut self, what: &str, text: &str) {
        self.checked += 1;
        for secret in SECRETS {
            if text.contains(secret) {
                self.leaks
                    .push(format!("{secret:?} in {what}: {}", around(text, secret)));
            }
        }
    }

    fn debug<T: fmt::Debug + ?Sized>(&mut self, what: &str, value: &T) {
        self.text(&format!("{what} (Debug)"), &format!("{value:?}"));
        self.text(&format!("{what} (Debug {{:#?}})"), &format!("{value:#?}"));
    }

    fn display<T: fmt::Display + ?Sized>(&mut self, what: &str, value: &T) {
        self.text(&format!("{what} (Display)"), &format!("{value}"));
    }

    /// The error, its API details, and every link of its `source()` chain.
    fn error(&mut self, what: &str, error: &Error) {
        self.debug(what, error);
        self.display(what, error);
        self.debug(&format!("{what}: kind"), &error.kind());
        if let Some(api) = error.api() {
            self.debug(&format!("{what}: api()"), api);
            self.display(&format!("{what}: api()"), api);
        }
        let mut source = std::error::Error::source(error);
        let mut depth = 1;
        while let Some(link) = source {
            self.sources_walked += 1;
            let name = format!("{what}: source #{depth}");
            self.debug(&name, link);
            self.display(&name, link);
            source = link.source();
            depth += 1;
        }
    }

    fn records(&mut self, records: &[Captured]) {
        for r in records {
            let what = format!("a {:?} record ({} {})", r.origin, r.level, r.target);
            self.text(&what, &r.text);
        }
    }
}

// =============================================================================================
// The plan: the same steps through each adapter.

/// Which keyset and secret a step runs with.
#[derive(Clone, Copy, Debug)]
enum Identity {
    /// The enforced secret key and the granted auth token.
    Signed,
    /// A wrong secret key: the emulator answers 403 "Signature does not match".
    WrongSecret,
    /// A keyset with presence disabled (402).
    PresenceOff,
    /// A keyset with global here now disabled (402).
    GlobalHereNowOff,
}

/// What a step does.
#[derive(Clone, Debug)]
enum Action {
    /// A call through the adapter's fluent builders.
    Call(Call),
    /// A heartbeat whose state does not serialise (an error deferred by the fluent builder).
    UnserialisableHeartbeatState,
}

#[derive(Clone, Debug)]
struct Step {
    label: &'static str,
    action: Action,
    identity: Identity,
    options: ClientOptions,
    faults: Vec<FaultRule>,
    expect: Result<(), ErrorKind>,
}

impl Step {
    fn ok(label: &'static str, call: Call) -> Self {
        Self::new(label, Action::Call(call), Ok(()))
    }

    fn err(label: &'static str, call: Call, kind: ErrorKind) -> Self {
        Self::new(label, Action::Call(call), Err(kind))
    }

    fn new(label: &'static str, action: Action, expect: Result<(), ErrorKind>) -> Self {
        Self {
            label,
            action,
            identity: Identity::Signed,
            options: ClientOptions::default(),
            faults: Vec::new(),
            expect,
        }
    }

    fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
}

fn names<const N: usize>(list: [&str; N]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn json_body(status: u16, message: &str) -> String {
    json!({"status": status, "error": true, "message": message, "service": "Presence"}).to_string()
}

fn here(channels: Vec<String>) -> Call {
    Call::HereNow(HereNowCall {
        channels,
        ..HereNowCall::default()
    })
}

fn plan() -> Vec<Step> {
    use ErrorKind as K;
    let lobby = || here(names(["lobby"]));
    let retrying = ClientOptions {
        retry_policy: RetryPolicy::linear(Duration::from_millis(10), 1),
        ..ClientOptions::default()
    };
    let short_timeout = ClientOptions {
        request_timeout: Some(Duration::from_millis(250)),
        ..ClientOptions::default()
    };
    let small_body = ClientOptions {
        max_body_size: Some(16 * 1024),
        ..ClientOptions::default()
    };
    let long_channels: Vec<String> = (0..400)
        .map(|i| format!("{i:03}-{}", "c".repeat(96)))
        .collect();
    vec![
        // Every operation, succeeding.
        Step::ok(
            "add_channels_to_group",
            Call::AddChannelsToGroup {
                group: "team".into(),
                channels: names(["room-2"]),
            },
        ),
        Step::ok(
            "list_group_channels",
            Call::ListGroupChannels {
                group: "team".into(),
            },
        ),
        Step::ok(
            "heartbeat with state",
            Call::Heartbeat(HeartbeatCall {
                channels: names(["lobby"]),
                groups: names(["team"]),
                presence_timeout: Some(120),
                state: vec![("lobby".into(), json!({"mood": "calm"}))],
            }),
        ),
        Step::ok(
            "here_now of channels and a group, with state",
            Call::HereNow(HereNowCall {
                channels: names(["lobby"]),
                groups: names(["team"]),
                include_state: Some(true),
                limit: Some(10),
                ..HereNowCall::default()
            }),
        ),
        Step::ok("global here_now", Call::HereNow(HereNowCall::default())),
        Step::ok("where_now", Call::WhereNow(WhereNowCall::default())),
        Step::ok(
            "where_now of another user",
            Call::WhereNow(WhereNowCall {
                user_id: Some("bob".into()),
            }),
        ),
        Step::ok(
            "set_state",
            Call::SetState(SetStateCall {
                channels: names(["lobby"]),
                state: json!({"mood": "busy"}),
                ..SetStateCall::default()
            }),
        ),
        Step::ok(
            "get_state",
            Call::GetState(GetStateCall {
                channels: names(["lobby"]),
                ..GetStateCall::default()
            }),
        ),
        Step::ok(
            "remove_channels_from_group",
            Call::RemoveChannelsFromGroup {
                group: "team".into(),
                channels: names(["room-2"]),
            },
        ),
        Step::ok(
            "leave",
            Call::Leave(LeaveCall {
                channels: names(["lobby"]),
                groups: names(["team"]),
            }),
        ),
        Step::ok(
            "delete_group",
            Call::DeleteGroup {
                group: "team".into(),
            },
        ),
        Step::ok("here_now after one 503, retried", lobby())
            .options(retrying.clone())
            .fault(FaultRule::respond(503, json_body(503, "Service Unavailable")).times(1)),
        // Every error kind.
        Step::err("400 from a fault rule", lobby(), K::BadRequest)
            .fault(FaultRule::respond(400, json_body(400, "Invalid Arguments")).retry_after(2)),
        Step::err(
            "400 from the emulator: a channel name over 92 bytes",
            Call::Heartbeat(HeartbeatCall {
                channels: vec!["x".repeat(100)],
                ..HeartbeatCall::default()
            }),
            K::BadRequest,
        ),
        Step::err(
            "400 in an HTTP 200 body: a group without channels",
            Call::SetState(SetStateCall {
                groups: names(["no-such-group"]),
                state: json!({"a": 1}),
                ..SetStateCall::default()
            }),
            K::BadRequest,
        ),
        Step::err(
            "403 from Access Manager",
            here(names(["vault"])),
            K::AccessDenied,
        ),
        Step::err(
            "403 for a wrong signature",
            Call::WhereNow(WhereNowCall::default()),
            K::AccessDenied,
        )
        .identity(Identity::WrongSecret),
        Step::err(
            "402 presence not enabled",
            Call::Heartbeat(HeartbeatCall {
                channels: names(["lobby"]),
                ..HeartbeatCall::default()
            }),
            K::NotEnabled,
        )
        .identity(Identity::PresenceOff),
        Step::err(
            "402 global here now not enabled",
            Call::HereNow(HereNowCall::default()),
            K::NotEnabled,
        )
        .identity(Identity::GlobalHereNowOff),
        Step::err("404 with Retry-After", lobby(), K::NotFound)
            .fault(FaultRule::respond(404, json_body(404, "Not Found")).retry_after(3)),
        Step::err("429 with Retry-After", lobby(), K::TooManyRequests)
            .fault(FaultRule::respond(429, json_body(429, "Too Many Requests")).retry_after(1)),
        Step::err("500 with Retry-After", lobby(), K::Server).fault(
            FaultRule::new(FaultAction::Respond {
                status: 500,
                body: "<html>Internal Server Error</html>".into(),
                content_type: Some("text/html".into()),
            })
            .retry_after(5),
        ),
        Step::err("503 in an HTTP 200 body", lobby(), K::Server).fault(FaultRule::respond(
            200,
            json_body(503, "Service Unavailable"),
        )),
        Step::err(
            "timeout: delay over the request timeout",
            lobby(),
            K::Timeout,
        )
        .options(short_timeout)
        .fault(FaultRule::delay(Duration::from_secs(3))),
        Step::err("network: dropped connection", lobby(), K::Network)
            .fault(FaultRule::drop_connection().forever()),
        Step::err("network: dropped connection, retried", lobby(), K::Network)
            .options(retrying)
            .fault(FaultRule::drop_connection().forever()),
        Step::err("decode: invalid JSON", lobby(), K::Decode).fault(FaultRule::invalid_json()),
        Step::err(
            "too large: URL over 32 KiB",
            here(long_channels),
            K::TooLarge,
        ),
        Step::err("too large: body over max_body_size", lobby(), K::TooLarge)
            .options(small_body)
            .fault(FaultRule::pad_to(64 * 1024)),
        Step::err(
            "invalid input: state is not an object",
            Call::SetState(SetStateCall {
                channels: names(["lobby"]),
                state: json!(42),
                ..SetStateCall::default()
            }),
            K::InvalidInput,
        ),
        Step::err(
            "invalid input: heartbeat without channels",
            Call::Heartbeat(HeartbeatCall::default()),
            K::InvalidInput,
        ),
        Step::new(
            "invalid input: heartbeat state that does not serialise",
            Action::UnserialisableHeartbeatState,
            Err(K::InvalidInput),
        ),
    ]
}

fn emulator() -> BackgroundEmulator {
    let signed = || {
        KeysetOptions::new()
            .secret_key(SECRET_KEY)
            .publish_key(PUB_KEY)
    };
    let grants = AccessManager::new()
        .grant_channel(AUTH_TOKEN, "lobby", Permissions::ALL)
        .grant_channel(AUTH_TOKEN, "room-2", Permissions::ALL)
        .grant_group(AUTH_TOKEN, "*", Permissions::ALL);
    EmulatorBuilder::new()
        // Padded bodies stay large on the wire (no gzip), to go over `max_body_size`.
        .gzip_threshold(usize::MAX)
        .default_keyset(signed().access_manager(grants.clone()))
        .keyset(SUB_PRESENCE_OFF, signed().presence_enabled(false))
        .keyset(
            SUB_GLOBAL_OFF,
            signed().global_here_now(false).access_manager(grants),
        )
        .start_in_background()
        .expect("emulator")
}

/// The configuration of `identity`, its builder inspected on the way.
fn config(origin: &str, identity: Identity, inspect: &mut Inspector) -> Config {
    let (sub_key, secret) = match identity {
        Identity::Signed => (SUB_KEY, SECRET_KEY),
        Identity::WrongSecret => (SUB_KEY, WRONG_SECRET_KEY),
        Identity::PresenceOff => (SUB_PRESENCE_OFF, SECRET_KEY),
        Identity::GlobalHereNowOff => (SUB_GLOBAL_OFF, SECRET_KEY),
    };
    let builder = Config::builder(sub_key, "alice")
        .origin(origin)
        .publish_key(PUB_KEY)
        .secret_key(secret)
        .auth_token(AUTH_TOKEN)
        .sdk_suffix("secrets-test/1.0");
    inspect.debug("ConfigBuilder", &builder);
    let config = builder.build().expect("config");
    inspect.debug("Config", &config);
    inspect.debug("Config::to_builder()", &config.to_builder());
    if let Some(secret) = config.secret_key() {
        inspect.debug("Config::secret_key()", secret);
        inspect.display("Config::secret_key()", secret);
    }
    if let Some(token) = config.auth_token() {
        inspect.debug("Config::auth_token()", token);
        inspect.display("Config::auth_token()", token);
    }
    config
}

/// Runs one call through an adapter's fluent builders, inspecting each builder's `Debug`
/// before it is sent. `|b| send` turns a builder `b` into its `Result`.
macro_rules! fluent {
    ($client:expr, $action:expr, $inspect:expr, |$b:ident| $send:expr) => {{
        let client = $client;
        let inspect: &mut Inspector = $inspect;
        match $action {
            Action::Call(Call::HereNow(c)) => {
                let mut $b = client
                    .here_now()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(v) = c.include_user_ids {
                    $b = $b.include_user_ids(v);
                }
                if let Some(v) = c.include_state {
                    $b = $b.include_state(v);
                }
                if let Some(v) = c.limit {
                    $b = $b.limit(v);
                }
                if let Some(v) = c.offset {
                    $b = $b.offset(v);
                }
                inspect.debug("here_now builder", &$b);
                $send.map(Outcome::HereNow)
            }
            Action::Call(Call::WhereNow(c)) => {
                let mut $b = client.where_now();
                if let Some(u) = &c.user_id {
                    $b = $b.user_id(u.clone());
                }
                inspect.debug("where_now builder", &$b);
                $send.map(Outcome::WhereNow)
            }
            Action::Call(Call::Heartbeat(c)) => {
                let mut $b = client
                    .heartbeat()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(t) = c.presence_timeout {
                    $b = $b.presence_timeout(t);
                }
                for (name, value) in &c.state {
                    $b = $b.state(name.clone(), value);
                }
                inspect.debug("heartbeat builder", &$b);
                $send.map(|()| Outcome::Done)
            }
            Action::Call(Call::Leave(c)) => {
                let $b = client
                    .leave()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                inspect.debug("leave builder", &$b);
                $send.map(|_| Outcome::Done)
            }
            Action::Call(Call::SetState(c)) => {
                let mut builder = client
                    .set_state()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(u) = &c.user_id {
                    builder = builder.user_id(u.clone());
                }
                let $b = builder.state(&c.state);
                inspect.debug("set_state builder", &$b);
                $send.map(Outcome::SetState)
            }
            Action::Call(Call::GetState(c)) => {
                let mut $b = client
                    .get_state()
                    .channels(c.channels.iter().cloned())
                    .groups(c.groups.iter().cloned());
                if let Some(u) = &c.user_id {
                    $b = $b.user_id(u.clone());
                }
                inspect.debug("get_state builder", &$b);
                $send.map(Outcome::GetState)
            }
            Action::Call(Call::AddChannelsToGroup { group, channels }) => {
                let $b = client.add_channels_to_group(group.clone(), channels.iter().cloned());
                inspect.debug("add_channels_to_group builder", &$b);
                $send.map(|()| Outcome::Done)
            }
            Action::Call(Call::RemoveChannelsFromGroup { group, channels }) => {
                let $b = client.remove_channels_from_group(group.clone(), channels.iter().cloned());
                inspect.debug("remove_channels_from_group builder", &$b);
                $send.map(|()| Outcome::Done)
            }
            Action::Call(Call::ListGroupChannels { group }) => {
                let $b = client.list_group_channels(group.clone());
                inspect.debug("list_group_channels builder", &$b);
                $send.map(Outcome::GroupChannels)
            }
            Action::Call(Call::DeleteGroup { group }) => {
                let $b = client.delete_group(group.clone());
                inspect.debug("delete_group builder", &$b);
                $send.map(|()| Outcome::Done)
            }
            Action::UnserialisableHeartbeatState => {
                // Tuple keys are not JSON: `state` fails, and the builder reports it when sent.
                let bad = BTreeMap::from([((1, 2), "tuple keys are not JSON")]);
                let $b = client.heartbeat().channels(["lobby"]).state("lobby", &bad);
                inspect.debug("heartbeat builder with a deferred error", &$b);
                $send.map(|()| Outcome::Done)
            }
        }
    }};
}

/// Sends one step's action with `config` and `options`; inspects what it builds on the way.
type SendFn<'a> =
    dyn FnMut(&Config, &ClientOptions, &Action, &mut Inspector) -> Result<Outcome, Error> + 'a;

/// What running the plan through one adapter produced.
struct Report {
    adapter: &'static str,
    /// Steps that did not end as planned (so the error kinds are known to be exercised).
    problems: Vec<String>,
    /// Secrets found in values: configs, builders, clients, results, errors, chains.
    value_leaks: Vec<String>,
    /// Secrets found in records emitted through `tracing`.
    tracing_leaks: Vec<String>,
    /// Secrets found in records bridged from `log`.
    bridged_leaks: Vec<String>,
    tracing_records: Vec<Captured>,
    bridged_records: Vec<Captured>,
    values_checked: usize,
    sources_walked: usize,
}

fn run_plan(adapter: &'static str, send: &mut SendFn<'_>) -> Report {
    let emulator = emulator();
    let origin = emulator.origin();
    let mut inspect = Inspector::default();
    let mut problems = Vec::new();
    for step in plan() {
        let config = config(&origin, step.identity, &mut inspect);
        for rule in &step.faults {
            emulator.faults().push(rule.clone());
        }
        let result = send(&config, &step.options, &step.action, &mut inspect);
        emulator.faults().clear();
        let what = format!("{adapter} `{}`", step.label);
        match (&result, step.expect) {
            (Ok(outcome), Ok(())) => inspect.debug(&format!("{what}: result"), outcome),
            (Err(error), Err(kind)) if error.kind() == kind => {
                inspect.error(&format!("{what}: error"), error);
            }
            (Ok(outcome), Err(kind)) => {
                problems.push(format!("{what}: expected {kind:?}, got {outcome:?}"));
            }
            (Err(error), expected) => {
                inspect.error(&format!("{what}: error"), error);
                problems.push(format!(
                    "{what}: expected {expected:?}, got {:?}: {error}",
                    error.kind()
                ));
            }
        }
    }
    // The core's own redaction helper, on a signed request with the token.
    let config = config(&origin, Identity::Signed, &mut inspect);
    let op = presence_proto::HereNow::new().channels(["lobby"]);
    inspect.debug("presence_proto::HereNow", &op);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let request = op
        .to_request(&config, &presence_proto::Stamp::new(now, "req-1"))
        .expect("request");
    inspect.text(
        "presence_proto::redacted_uri",
        &presence_proto::redacted_uri(request.uri()),
    );
    drop(emulator);

    let captured = std::mem::take(&mut *records());
    let (tracing_records, bridged_records): (Vec<_>, Vec<_>) = captured
        .into_iter()
        .partition(|r| r.origin == Origin::Tracing);
    let value_leaks = std::mem::take(&mut inspect.leaks);
    inspect.records(&tracing_records);
    let tracing_leaks = std::mem::take(&mut inspect.leaks);
    inspect.records(&bridged_records);
    let bridged_leaks = std::mem::take(&mut inspect.leaks);
    Report {
        adapter,
        problems,
        value_leaks,
        tracing_leaks,
        bridged_leaks,
        tracing_records,
        bridged_records,
        values_checked: inspect.checked,
        sources_walked: inspect.sources_walked,
    }
}

fn client_options<B>(
    mut builder: B,
    options: &ClientOptions,
    request_timeout: fn(B, Duration) -> B,
    max_body_size: fn(B, usize) -> B,
    retry_policy: fn(B, RetryPolicy) -> B,
) -> B {
    builder = retry_policy(builder, options.retry_policy);
    if let Some(t) = options.request_timeout {
        builder = request_timeout(builder, t);
    }
    if let Some(n) = options.max_body_size {
        builder = max_body_size(builder, n);
    }
    builder
}

fn tokio_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let _serial = exclusive_capture();
        // One thread: the client, hyper's connection tasks and the timers all run here.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut send = |config: &Config,
                        options: &ClientOptions,
                        action: &Action,
                        inspect: &mut Inspector|
         -> Result<Outcome, Error> {
            let builder = client_options(
                presence_tokio::Client::builder(config.clone()),
                options,
                presence_tokio::ClientBuilder::request_timeout,
                presence_tokio::ClientBuilder::max_body_size,
                presence_tokio::ClientBuilder::retry_policy,
            );
            inspect.debug("presence_tokio::ClientBuilder", &builder);
            let client = builder.build()?;
            inspect.debug("presence_tokio::Client", &client);
            fluent!(&client, action, inspect, |b| rt.block_on(b.into_future()))
        };
        run_plan("presence-tokio", &mut send)
    })
}

fn blocking_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let _serial = exclusive_capture();
        let mut send = |config: &Config,
                        options: &ClientOptions,
                        action: &Action,
                        inspect: &mut Inspector|
         -> Result<Outcome, Error> {
            let builder = client_options(
                presence_blocking::Client::builder(config.clone()),
                options,
                presence_blocking::ClientBuilder::request_timeout,
                presence_blocking::ClientBuilder::max_body_size,
                presence_blocking::ClientBuilder::retry_policy,
            );
            inspect.debug("presence_blocking::ClientBuilder", &builder);
            let client = builder.build()?;
            inspect.debug("presence_blocking::Client", &client);
            fluent!(&client, action, inspect, |b| b.call())
        };
        run_plan("presence-blocking", &mut send)
    })
}

// =============================================================================================
// The tests.

fn list(items: &[String]) -> String {
    items.join("\n  ")
}

/// The checks on values and on records emitted through `tracing`.
fn assert_no_leaks(report: &Report, crate_target: &str) {
    let adapter = report.adapter;
    println!(
        "{adapter}: {} values checked, {} source links walked, {} tracing records, {} bridged \
         log records",
        report.values_checked,
        report.sources_walked,
        report.tracing_records.len(),
        report.bridged_records.len()
    );
    if std::env::var_os("SECRETS_DUMP").is_some() {
        for r in report.tracing_records.iter().chain(&report.bridged_records) {
            println!("  [{:?} {} {}] {}", r.origin, r.level, r.target, r.text);
        }
    }
    assert!(
        report.problems.is_empty(),
        "{adapter}: {} steps did not end as planned (so not every path was exercised):\n  {}",
        report.problems.len(),
        list(&report.problems)
    );
    assert!(
        report.values_checked > 500,
        "{adapter}: only {} strings checked",
        report.values_checked
    );
    assert!(
        report.sources_walked > 0,
        "{adapter}: no error had a source() chain to walk"
    );

    // The capture is not empty, and it shows every operation from the adapter itself.
    let own: Vec<&Captured> = report
        .tracing_records
        .iter()
        .filter(|r| r.target.starts_with(crate_target))
        .collect();
    assert!(
        !own.is_empty(),
        "{adapter}: nothing captured from `{crate_target}` ({} records in all)",
        report.tracing_records.len()
    );
    let missing: Vec<&str> = OPERATIONS
        .iter()
        .copied()
        .filter(|op| {
            !own.iter()
                .any(|r| r.text.contains(&format!("op={op:?}")) && r.text.contains("path="))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{adapter}: the logs do not record {missing:?}"
    );
    for needle in [
        "path=\"/v2/presence/sub-key/sub-c-secrets/channel/lobby\"",
        "path=\"/v1/channel-registration/sub-key/sub-c-secrets/channel-group/team\"",
        "retrying",
        "presence request rejected",
        "presence request failed",
    ] {
        assert!(
            own.iter().any(|r| r.text.contains(needle)),
            "{adapter}: no record contains {needle:?}"
        );
    }

    let mut leaks = report.value_leaks.clone();
    leaks.extend(report.tracing_leaks.iter().cloned());
    assert!(
        leaks.is_empty(),
        "{adapter}: {} leaks of a secret:\n  {}",
        leaks.len(),
        list(&leaks)
    );
}

/// The checks on records bridged from the `log` crate (third-party dependencies).
fn assert_no_bridged_leaks(report: &Report) {
    let adapter = report.adapter;
    let leaking: std::collections::BTreeSet<String> = report
        .bridged_records
        .iter()
        .filter(|r| SECRETS.iter().any(|s| r.text.contains(s)))
        .map(|r| format!("{} {}", r.level, r.target))
        .collect();
    assert!(
        report.bridged_leaks.is_empty(),
        "{adapter}: {} of {} `log` records of dependencies leak a secret (from {leaking:?}):\n  {}",
        report.bridged_leaks.len(),
        report.bridged_records.len(),
        list(&report.bridged_leaks)
    );
}

#[test]
fn tokio_never_leaks_secrets() {
    assert_no_leaks(tokio_report(), "presence_proto");
}

#[test]
fn tokio_dependency_log_records_never_leak_secrets() {
    assert_no_bridged_leaks(tokio_report());
}

#[test]
fn blocking_never_leaks_secrets() {
    assert_no_leaks(blocking_report(), "presence_proto");
}

#[test]
fn blocking_dependency_log_records_never_leak_secrets() {
    let report = blocking_report();
    // ureq logs through `log`: the bridge must have delivered its records, or this checks
    // nothing.
    assert!(
        report
            .bridged_records
            .iter()
            .any(|r| r.target.starts_with("ureq")),
        "no ureq record was captured through the log bridge"
    );
    assert_no_bridged_leaks(report);
}

/// The capture and the checks can fail: secrets planted in each kind of place are all found.
#[test]
fn leak_detector_catches_planted_secrets() {
    /// An error that shows its secret only in its own Debug and Display.
    #[derive(Debug)]
    struct Inner(&'static str);
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "inner failure with {}", self.0)
        }
    }
    impl std::error::Error for Inner {}
    /// A wrapper that hides its source in both Debug and Display: only a chain walk finds it.
    struct Outer(Inner);
    impl fmt::Debug for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Outer")
        }
    }
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failure")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    let captured = {
        let _serial = exclusive_capture();
        tracing::trace!(token = AUTH_TOKEN, "planted event field");
        let span = tracing::debug_span!("planted", key = tracing::field::Empty);
        span.record("key", SECRET_KEY);
        log::trace!(target: "planted_dependency", "GET /x?auth={AUTH_TOKEN}");
        std::mem::take(&mut *records())
    };
    let bridged = captured
        .iter()
        .filter(|r| r.origin == Origin::LogBridge && r.target == "planted_dependency")
        .count();
    assert_eq!(bridged, 1, "the log bridge did not deliver: {captured:#?}");

    // The event field, the span update, the bridged record.
    let mut inspect = Inspector::default();
    inspect.records(&captured);
    assert_eq!(
        inspect.leaks.len(),
        3,
        "{:#?} in {captured:#?}",
        inspect.leaks
    );

    // Only the second link of the chain shows the secret: Debug, {:#?} and Display.
    let mut inspect = Inspector::default();
    let error = Error::network("send", Outer(Inner(WRONG_SECRET_KEY)));
    inspect.error("planted error", &error);
    assert_eq!(inspect.sources_walked, 2);
    assert_eq!(inspect.leaks.len(), 3, "{:#?}", inspect.leaks);
    assert!(
        inspect.leaks.iter().all(|l| l.contains("source #2")),
        "{:#?}",
        inspect.leaks
    );

    // A plain value: Debug and {:#?}.
    let mut inspect = Inspector::default();
    inspect.debug("planted value", &[SECRET_KEY]);
    assert_eq!(inspect.leaks.len(), 2, "{:#?}", inspect.leaks);
}
