//! Fault injection: a script of rules that make matching requests misbehave.
//!
//! Rules are checked in the order they were pushed; the first one that matches a request
//! (path pattern and/or operation) and fires (next N matches, or a seeded random fraction)
//! shapes its reply. A faulted request does not change any state, unless the rule is
//! [`pass_through`](FaultRule::pass_through) (or has no action at all, only a delay or a
//! `Retry-After` header): then the request is applied first and its reply is corrupted
//! afterwards. Body faults on a request that is not passed through send the reply the
//! request *would* have got, computed without applying it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::HeaderValue;
use serde::Deserialize;
use serde_json::Value;

use crate::body::{EmuBody, Step};
use crate::json;
use crate::operation::Operation;
use crate::response::{CT_PRESENCE, Reply, Wire};

/// Padding beyond this size is refused (keeps a typo from eating the machine's memory).
pub const MAX_PAD_BYTES: usize = 64 * 1024 * 1024;

/// What a fault does to the reply.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultAction {
    /// The normal reply (only the rule's delay and `Retry-After` apply).
    None,
    /// Replace the reply with this status and body (any status, including 200 carrying an
    /// error body). `content_type` defaults to the Presence one.
    Respond {
        /// HTTP status code.
        status: u16,
        /// Body text, sent as is.
        body: String,
        /// `Content-Type`, e.g. `text/html` for a proxy error page.
        content_type: Option<String>,
    },
    /// Close the connection without sending a response.
    Drop,
    /// Announce the whole body in `Content-Length`, send only `send_bytes` of it (default:
    /// half) and close the connection.
    Truncate {
        /// Bytes of the body actually sent.
        send_bytes: Option<usize>,
    },
    /// Send the headers and `after_bytes` of the body (default: half), wait `duration`,
    /// then send the rest.
    Stall {
        /// Bytes sent before the pause.
        after_bytes: Option<usize>,
        /// How long to pause (real time).
        duration: Duration,
    },
    /// Send the reply with its JSON cut in half (valid HTTP, broken JSON).
    InvalidJson,
    /// Pad the JSON body with trailing spaces to `to_bytes` bytes (before gzip).
    Pad {
        /// Total body size after padding.
        to_bytes: usize,
    },
    /// Subscribe only: the next reply carrying events sends its last event twice (same
    /// `p.t`), as seen live. Other operations answer normally.
    DuplicateEvent,
    /// Subscribe only: the reply switches to region `region` and moves its cursor back
    /// before its last event, so the next poll delivers that event again (a region change
    /// as recorded live). Other operations answer normally.
    RegionChange {
        /// The new region (`t.r`).
        region: u32,
    },
}

/// One fault rule. Build it from an action, then narrow it down.
///
/// ```
/// use std::time::Duration;
/// use presence_emulator::{FaultRule, Operation};
///
/// // The next two heartbeats get a 503 with `Retry-After: 1`.
/// let rule = FaultRule::respond(503, r#"{"error":true,"status":503}"#)
///     .operation(Operation::Heartbeat)
///     .times(2)
///     .retry_after(1);
/// // Every here_now on channel "slow" waits 2 s before the headers.
/// let slow = FaultRule::delay(Duration::from_secs(2)).path("/channel/slow").forever();
/// # let _ = (rule, slow);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    path: Option<String>,
    operation: Option<Operation>,
    times: Option<u64>,
    probability: Option<(f64, u64)>,
    forever: bool,
    delay: Duration,
    retry_after: Option<u64>,
    pass_through: bool,
    action: FaultAction,
}

impl FaultRule {
    /// A rule applying `action` to the next matching request.
    pub fn new(action: FaultAction) -> Self {
        Self {
            path: None,
            operation: None,
            times: None,
            probability: None,
            forever: false,
            delay: Duration::ZERO,
            retry_after: None,
            pass_through: false,
            action,
        }
    }

    /// Reply with `status` and `body` instead.
    pub fn respond(status: u16, body: impl Into<String>) -> Self {
        Self::new(FaultAction::Respond {
            status,
            body: body.into(),
            content_type: None,
        })
    }

    /// Close the connection without a response.
    pub fn drop_connection() -> Self {
        Self::new(FaultAction::Drop)
    }

    /// Send only `send_bytes` of the announced body, then close.
    pub fn truncate(send_bytes: usize) -> Self {
        Self::new(FaultAction::Truncate {
            send_bytes: Some(send_bytes),
        })
    }

    /// Send `after_bytes` of the body, pause for `duration`, then send the rest.
    pub fn stall(after_bytes: usize, duration: Duration) -> Self {
        Self::new(FaultAction::Stall {
            after_bytes: Some(after_bytes),
            duration,
        })
    }

    /// Send a body whose JSON is cut in half.
    pub fn invalid_json() -> Self {
        Self::new(FaultAction::InvalidJson)
    }

    /// Pad the body to `to_bytes` bytes.
    pub fn pad_to(to_bytes: usize) -> Self {
        Self::new(FaultAction::Pad { to_bytes })
    }

    /// Subscribe: send the last event of the next reply twice (same `p.t`).
    pub fn duplicate_event() -> Self {
        Self::new(FaultAction::DuplicateEvent)
    }

    /// Subscribe: switch the reply to `region` with its cursor moved back, so that its last
    /// event is delivered again by the next poll.
    pub fn region_change(region: u32) -> Self {
        Self::new(FaultAction::RegionChange { region })
    }

    /// Wait `delay` before the headers, then answer normally (state changes as usual).
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultAction::None).with_delay(delay)
    }

    /// Only requests whose path and query (as sent) match `pattern`: a substring, or, when
    /// it contains `*`, a glob over the whole path and query (`*` matches anything).
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.path = Some(pattern.into());
        self
    }

    /// Only requests of this operation.
    pub fn operation(mut self, op: Operation) -> Self {
        self.operation = Some(op);
        self
    }

    /// Apply to the next `n` matching requests (default 1). With
    /// [`probability`](Self::probability), fire at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self.forever = false;
        self
    }

    /// Apply to every matching request until the script is cleared.
    pub fn forever(mut self) -> Self {
        self.forever = true;
        self.times = None;
        self
    }

    /// Fire on a random fraction `p` (0.0..=1.0) of matching requests, drawn from a
    /// generator seeded with `seed` (so runs repeat). Without [`times`](Self::times) the
    /// rule stays armed forever.
    pub fn probability(mut self, p: f64, seed: u64) -> Self {
        self.probability = Some((p.clamp(0.0, 1.0), seed));
        self
    }

    /// Wait `delay` (real time) before sending the headers.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Add a `Retry-After: secs` header.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Apply the request to the state first, then corrupt its reply.
    pub fn pass_through(mut self, yes: bool) -> Self {
        self.pass_through = yes;
        self
    }

    /// The action.
    pub fn action(&self) -> &FaultAction {
        &self.action
    }

    /// Parses the JSON rule format documented in the crate README.
    ///
    /// ```
    /// use presence_emulator::FaultRule;
    /// let rule = FaultRule::from_json(
    ///     r#"{"operation":"here_now","times":2,"retry_after":3,
    ///         "action":{"type":"respond","status":429,"body":"slow down"}}"#,
    /// )?;
    /// # let _ = rule;
    /// # Ok::<(), presence_emulator::FaultRuleError>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self, FaultRuleError> {
        let wire: RuleJson =
            serde_json::from_str(text).map_err(|e| FaultRuleError(e.to_string()))?;
        wire.into_rule()
    }

    /// Whether the handler runs for this fault.
    pub(crate) fn runs_handler(&self) -> bool {
        self.pass_through
            || matches!(
                self.action,
                FaultAction::None
                    | FaultAction::DuplicateEvent
                    | FaultAction::RegionChange { .. }
                    | FaultAction::Truncate { .. }
                    | FaultAction::Stall { .. }
                    | FaultAction::InvalidJson
                    | FaultAction::Pad { .. }
            )
    }

    /// Whether the request may change state.
    pub(crate) fn mutates(&self) -> bool {
        self.pass_through
            || matches!(
                self.action,
                FaultAction::None | FaultAction::DuplicateEvent | FaultAction::RegionChange { .. }
            )
    }

    /// The real-time delay before the headers.
    pub(crate) fn delay_before_headers(&self) -> Duration {
        self.delay
    }

    fn matches(&self, path_and_query: &str, op: Option<Operation>) -> bool {
        let path_ok = self.path.as_deref().is_none_or(|p| {
            if p.contains('*') {
                glob(p.as_bytes(), path_and_query.as_bytes())
            } else {
                path_and_query.contains(p)
            }
        });
        let op_ok = self.operation.is_none_or(|want| op == Some(want));
        path_ok && op_ok
    }
}

/// A fault rule that could not be parsed or is out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault rule: {0}")]
pub struct FaultRuleError(pub String);

/// The live fault script of a running emulator. Cheap to clone; clones share the script.
///
/// ```
/// # async fn demo() -> std::io::Result<()> {
/// use presence_emulator::{EmulatorBuilder, FaultRule};
/// let emulator = EmulatorBuilder::new().start().await?;
/// emulator.faults().push(FaultRule::drop_connection());
/// assert_eq!(emulator.faults().pending(), 1);
/// emulator.faults().clear();
/// # emulator.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Script>,
}

#[derive(Default)]
struct Script {
    rules: Mutex<Vec<Armed>>,
    /// The number of rules, kept beside the lock so that requests skip the lock (a point of
    /// contention between worker threads) while no rule is armed.
    armed: AtomicUsize,
}

/// The locked rule list; publishes the rule count when released.
struct Rules<'a> {
    guard: MutexGuard<'a, Vec<Armed>>,
    armed: &'a AtomicUsize,
}

impl std::ops::Deref for Rules<'_> {
    type Target = Vec<Armed>;
    fn deref(&self) -> &Vec<Armed> {
        &self.guard
    }
}

impl std::ops::DerefMut for Rules<'_> {
    fn deref_mut(&mut self) -> &mut Vec<Armed> {
        &mut self.guard
    }
}

impl Drop for Rules<'_> {
    fn drop(&mut self) {
        self.armed.store(self.guard.len(), Ordering::Release);
    }
}

struct Armed {
    rule: FaultRule,
    remaining: Option<u64>,
    rng: Option<fastrand::Rng>,
}

impl Faults {
    /// Appends a rule to the script.
    pub fn push(&self, rule: FaultRule) {
        let remaining = match (rule.times, rule.probability, rule.forever) {
            (_, _, true) | (None, Some(_), false) => None,
            (Some(n), _, false) => Some(n),
            (None, None, false) => Some(1),
        };
        let rng = rule
            .probability
            .map(|(_, seed)| fastrand::Rng::with_seed(seed));
        if remaining == Some(0) {
            return;
        }
        self.lock().push(Armed {
            rule,
            remaining,
            rng,
        });
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Number of rules still armed.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Finds the rule that fires for this request, consuming one use of it.
    pub(crate) fn take(&self, path_and_query: &str, op: Option<Operation>) -> Option<FaultRule> {
        if self.inner.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.lock();
        if rules.is_empty() {
            return None;
        }
        let mut fired = None;
        for (i, armed) in rules.iter_mut().enumerate() {
            if !armed.rule.matches(path_and_query, op) {
                continue;
            }
            if let (Some((p, _)), Some(rng)) = (armed.rule.probability, armed.rng.as_mut()) {
                if rng.f64() >= p {
                    continue;
                }
            }
            fired = Some(i);
            break;
        }
        let i = fired?;
        let armed = rules.get_mut(i)?;
        let rule = armed.rule.clone();
        if let Some(left) = armed.remaining.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                rules.remove(i);
            }
        }
        Some(rule)
    }

    fn lock(&self) -> Rules<'_> {
        Rules {
            guard: self
                .inner
                .rules
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            armed: &self.inner.armed,
        }
    }
}

/// What to send for a faulted request.
pub(crate) enum Shaped {
    /// Close the connection without a response.
    Drop,
    /// Send this.
    Send(Wire, EmuBody),
}

/// Shapes the reply of a faulted request. `reply` is `None` when the handler did not run.
pub(crate) fn shape(
    rule: &FaultRule,
    reply: Option<Reply>,
    accepts_gzip: bool,
    gzip_threshold: usize,
) -> Shaped {
    let fallback = || Reply::presence_error(500, "emulator fault");
    let mut wire = match &rule.action {
        FaultAction::Drop => return Shaped::Drop,
        FaultAction::Respond {
            status,
            body,
            content_type,
        } => {
            let ct = content_type
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok())
                .unwrap_or(HeaderValue::from_static(CT_PRESENCE));
            let reply = Reply {
                status: *status,
                body: body.clone().into(),
                content_type: ct,
            };
            Wire::encode(reply, accepts_gzip, gzip_threshold)
        }
        FaultAction::InvalidJson => {
            let mut reply = reply.unwrap_or_else(fallback);
            let keep = (reply.body.len() / 2).max(1);
            let cut = (0..=keep)
                .rev()
                .find(|i| reply.body.is_char_boundary(*i))
                .unwrap_or(0);
            reply.body.to_mut().truncate(cut);
            Wire::encode(reply, accepts_gzip, gzip_threshold)
        }
        FaultAction::Pad { to_bytes } => {
            let mut reply = reply.unwrap_or_else(fallback);
            let target = (*to_bytes).min(MAX_PAD_BYTES);
            if reply.body.len() < target {
                let pad = target - reply.body.len();
                reply.body.to_mut().extend(std::iter::repeat_n(' ', pad));
            }
            Wire::encode(reply, accepts_gzip, gzip_threshold)
        }
        FaultAction::None
        | FaultAction::DuplicateEvent
        | FaultAction::RegionChange { .. }
        | FaultAction::Truncate { .. }
        | FaultAction::Stall { .. } => {
            Wire::encode(reply.unwrap_or_else(fallback), accepts_gzip, gzip_threshold)
        }
    };
    wire.retry_after = rule.retry_after;
    let full = wire.body.clone();
    let len = full.len();
    let body = match &rule.action {
        FaultAction::Truncate { send_bytes } => {
            let n = send_bytes.unwrap_or(len / 2).min(len.saturating_sub(1));
            // The pause lets hyper flush what was sent before the abort closes the socket.
            EmuBody::scripted(
                vec![
                    Step::Data(full.slice(..n)),
                    Step::Pause(Duration::from_millis(20)),
                    Step::Abort,
                ],
                len as u64,
            )
        }
        FaultAction::Stall {
            after_bytes,
            duration,
        } => {
            let n = after_bytes.unwrap_or(len / 2).min(len);
            EmuBody::scripted(
                vec![
                    Step::Data(full.slice(..n)),
                    Step::Pause(*duration),
                    Step::Data(full.slice(n..)),
                ],
                len as u64,
            )
        }
        _ => EmuBody::full(full),
    };
    Shaped::Send(wire, body)
}

/// `*`-only glob over bytes, anchored at both ends.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if text.get(t) == Some(c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleJson {
    path: Option<String>,
    operation: Option<String>,
    times: Option<u64>,
    forever: Option<bool>,
    probability: Option<f64>,
    seed: Option<u64>,
    delay_ms: Option<u64>,
    retry_after: Option<u64>,
    pass_through: Option<bool>,
    action: Option<ActionJson>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ActionJson {
    None,
    Respond {
        status: u16,
        body: Option<Value>,
        content_type: Option<String>,
    },
    Drop,
    Truncate {
        send_bytes: Option<usize>,
    },
    Stall {
        after_bytes: Option<usize>,
        stall_ms: u64,
    },
    InvalidJson,
    Pad {
        to_bytes: usize,
    },
    Duplicate,
    RegionChange {
        region: Option<u32>,
    },
}

impl RuleJson {
    fn into_rule(self) -> Result<FaultRule, FaultRuleError> {
        let err = |m: &str| Err(FaultRuleError(m.to_owned()));
        let action = match self.action.unwrap_or(ActionJson::None) {
            ActionJson::None => FaultAction::None,
            ActionJson::Respond {
                status,
                body,
                content_type,
            } => {
                if http::StatusCode::from_u16(status).is_err() {
                    return err("status must be 100..=999");
                }
                if content_type
                    .as_deref()
                    .is_some_and(|c| HeaderValue::from_str(c).is_err())
                {
                    return err("content_type is not a valid header value");
                }
                let body = match body {
                    None => String::new(),
                    Some(Value::String(s)) => s,
                    Some(other) => json::to_string(&other),
                };
                FaultAction::Respond {
                    status,
                    body,
                    content_type,
                }
            }
            ActionJson::Drop => FaultAction::Drop,
            ActionJson::Truncate { send_bytes } => FaultAction::Truncate { send_bytes },
            ActionJson::Stall {
                after_bytes,
                stall_ms,
            } => FaultAction::Stall {
                after_bytes,
                duration: Duration::from_millis(stall_ms),
            },
            ActionJson::InvalidJson => FaultAction::InvalidJson,
            ActionJson::Duplicate => FaultAction::DuplicateEvent,
            ActionJson::RegionChange { region } => FaultAction::RegionChange {
                region: region.unwrap_or(3),
            },
            ActionJson::Pad { to_bytes } => {
                if to_bytes > MAX_PAD_BYTES {
                    return err("pad to_bytes is larger than 64 MiB");
                }
                FaultAction::Pad { to_bytes }
            }
        };
        let mut rule = FaultRule::new(action);
        if let Some(p) = self.path {
            if p.is_empty() {
                return err("path pattern must not be empty");
            }
            rule = rule.path(p);
        }
        if let Some(op) = self.operation {
            let op = op
                .parse::<Operation>()
                .map_err(|e| FaultRuleError(e.to_string()))?;
            rule = rule.operation(op);
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) {
                return err("probability must be within 0.0..=1.0");
            }
            rule = rule.probability(p, self.seed.unwrap_or(0));
        }
        if let Some(n) = self.times {
            rule = rule.times(n);
        }
        if self.forever == Some(true) {
            rule = rule.forever();
        }
        if let Some(ms) = self.delay_ms {
            rule = rule.with_delay(Duration::from_millis(ms));
        }
        if let Some(secs) = self.retry_after {
            rule = rule.retry_after(secs);
        }
        Ok(rule.pass_through(self.pass_through.unwrap_or(false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(
            b"*/heartbeat*",
            b"/v2/presence/sub-key/k/channel/a/heartbeat?x=1"
        ));
        assert!(glob(b"/v2/*", b"/v2/a"));
        assert!(!glob(b"/v2/*x", b"/v2/a"));
        assert!(glob(b"*", b""));
        assert!(glob(b"a*b*c", b"aXbYbc"));
        assert!(!glob(b"abc", b"abcd"));
    }

    #[test]
    fn times_and_order() {
        let f = Faults::default();
        f.push(FaultRule::drop_connection().path("/a").times(2));
        f.push(FaultRule::invalid_json());
        assert_eq!(
            f.take("/b", None).map(|r| r.action),
            Some(FaultAction::InvalidJson)
        );
        assert_eq!(f.take("/b", None), None);
        assert!(f.take("/a", None).is_some());
        assert!(f.take("/a", None).is_some());
        assert!(f.take("/a", None).is_none());
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn operation_filter_and_forever() {
        let f = Faults::default();
        f.push(
            FaultRule::drop_connection()
                .operation(Operation::Leave)
                .forever(),
        );
        assert!(f.take("/x", Some(Operation::Heartbeat)).is_none());
        assert!(f.take("/x", None).is_none());
        for _ in 0..5 {
            assert!(f.take("/x", Some(Operation::Leave)).is_some());
        }
        assert_eq!(f.pending(), 1);
    }

    #[test]
    fn probability_is_seeded() {
        let run = || {
            let f = Faults::default();
            f.push(FaultRule::drop_connection().probability(0.5, 7));
            (0..100)
                .map(|_| f.take("/", None).is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|h| **h).count();
        assert!((25..75).contains(&hits), "{hits}");
    }

    #[test]
    fn json_rules() {
        let r = FaultRule::from_json(
            r#"{"path":"/channel/x","operation":"heartbeat","times":3,"delay_ms":5,"retry_after":2,
                "pass_through":true,"action":{"type":"respond","status":200,"body":{"status":503}}}"#,
        );
        let expected = FaultRule::respond(200, r#"{"status":503}"#)
            .path("/channel/x")
            .operation(Operation::Heartbeat)
            .times(3)
            .with_delay(Duration::from_millis(5))
            .retry_after(2)
            .pass_through(true);
        assert_eq!(r, Ok(expected));
        assert_eq!(
            FaultRule::from_json(r#"{"action":{"type":"stall","stall_ms":10}}"#).map(|r| r.action),
            Ok(FaultAction::Stall {
                after_bytes: None,
                duration: Duration::from_millis(10)
            })
        );
        assert!(FaultRule::from_json(r#"{"operation":"publish"}"#).is_err());
        assert_eq!(
            FaultRule::from_json(r#"{"operation":"subscribe","action":{"type":"duplicate"}}"#),
            Ok(FaultRule::duplicate_event().operation(Operation::Subscribe))
        );
        assert_eq!(
            FaultRule::from_json(r#"{"action":{"type":"region_change"}}"#),
            Ok(FaultRule::region_change(3))
        );
        assert!(FaultRule::from_json(r#"{"probability":2}"#).is_err());
        assert!(FaultRule::from_json(r#"{"bogus":1}"#).is_err());
        assert!(FaultRule::from_json(r#"{"action":{"type":"respond","status":5}}"#).is_err());
        assert!(FaultRule::from_json("[").is_err());
    }
}
