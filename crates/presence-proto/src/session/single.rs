//! One user's presence: heartbeats, retries, leaves and shutdown.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::event::SessionEvent;
use super::jitter::Jitter;
use super::options::{MAX_ATTEMPTS_PER_WINDOW, MIN_PRESENCE_TIMEOUT, SessionOptions};
use super::request::SessionRequest;
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::names::Names;
use crate::ops::heartbeat::Heartbeat;
use crate::ops::leave::Leave;

/// One user's presence on a set of channels and groups, kept alive by heartbeats.
///
/// See the [module docs](crate::session) for the drive contract.
#[derive(Debug)]
pub struct PresenceSession {
    config: Arc<Config>,
    options: SessionOptions,
    channels: Names,
    groups: Names,
    state: BTreeMap<String, serde_json::Value>,
    pending_join: (Names, Names),
    pending_leave: (Names, Names),
    heartbeat_due_now: bool,
    next_heartbeat_at: Option<Instant>,
    in_flight: Option<InFlight>,
    last_ok_sent_at: Option<Instant>,
    failures: u32,
    at_risk_reported: bool,
    lost_reported: bool,
    /// When the last heartbeats were sent (at most [`MAX_ATTEMPTS_PER_WINDOW`]), for the
    /// per-window attempt budget.
    recent_attempts: VecDeque<Instant>,
    shutting_down: bool,
    stopped: bool,
    events: VecDeque<SessionEvent>,
    jitter: Jitter,
}

#[derive(Debug)]
enum InFlight {
    Heartbeat {
        sent_at: Instant,
        joining: (Names, Names),
    },
    Leave {
        channels: Names,
        groups: Names,
    },
}

impl PresenceSession {
    /// Joins channels only (no groups): [`Self::join`] without an empty list for the other kind.
    ///
    /// ```
    /// use presence_proto::{Config, PresenceSession, SessionOptions};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let mut session = PresenceSession::new(config, SessionOptions::default());
    /// session.join_channels(["kitchen"]);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn join_channels<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, channels: I) {
        self.join(channels, std::iter::empty::<String>());
    }

    /// Joins channel groups only (no channels): [`Self::join`] without an empty list for the other kind.
    ///
    /// ```
    /// use presence_proto::{Config, PresenceSession, SessionOptions};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let mut session = PresenceSession::new(config, SessionOptions::default());
    /// session.join_groups(["friends"]);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn join_groups<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, groups: I) {
        self.join(std::iter::empty::<String>(), groups);
    }

    /// Leaves channels only (no groups): [`Self::leave`] without an empty list for the other kind.
    ///
    /// ```
    /// use presence_proto::{Config, PresenceSession, SessionOptions};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let mut session = PresenceSession::new(config, SessionOptions::default());
    /// session.leave_channels(["kitchen"]);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn leave_channels<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, channels: I) {
        self.leave(channels, std::iter::empty::<String>());
    }

    /// Leaves channel groups only (no channels): [`Self::leave`] without an empty list for the other kind.
    ///
    /// ```
    /// use presence_proto::{Config, PresenceSession, SessionOptions};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let mut session = PresenceSession::new(config, SessionOptions::default());
    /// session.leave_groups(["friends"]);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn leave_groups<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, groups: I) {
        self.leave(std::iter::empty::<String>(), groups);
    }

    /// A session for `config`'s user, present nowhere yet.
    pub fn new(config: impl Into<Arc<Config>>, options: SessionOptions) -> Self {
        let jitter = Jitter::new(options.jitter_seed);
        Self {
            config: config.into(),
            options,
            channels: Names::new(),
            groups: Names::new(),
            state: BTreeMap::new(),
            pending_join: (Names::new(), Names::new()),
            pending_leave: (Names::new(), Names::new()),
            heartbeat_due_now: false,
            next_heartbeat_at: None,
            in_flight: None,
            last_ok_sent_at: None,
            failures: 0,
            at_risk_reported: false,
            lost_reported: false,
            recent_attempts: VecDeque::with_capacity(MAX_ATTEMPTS_PER_WINDOW),
            shutting_down: false,
            stopped: false,
            events: VecDeque::new(),
            jitter,
        }
    }

    /// The configuration (keyset and user id) its requests must be sent with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The timing options.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// Channels the user is kept present on.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(String::as_str)
    }

    /// Channel groups the user is kept present on.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(String::as_str)
    }

    /// Whether the session has ended (shut down or stopped by an error).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// When the service will time the user out unless a heartbeat succeeds first.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_ok_sent_at.map(|t| t + self.options.timeout())
    }

    /// Joins channels and groups: a heartbeat is sent at once. Ignored after shutdown.
    pub fn join<C, G, S, T>(&mut self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        if self.shutting_down || self.stopped {
            return;
        }
        for channel in channels.into_iter().map(Into::into) {
            self.pending_leave.0.remove(&channel);
            if self.channels.insert(channel.clone()) {
                self.pending_join.0.insert(channel);
                self.heartbeat_due_now = true;
            }
        }
        for group in groups.into_iter().map(Into::into) {
            self.pending_leave.1.remove(&group);
            if self.groups.insert(group.clone()) {
                self.pending_join.1.insert(group);
                self.heartbeat_due_now = true;
            }
        }
    }

    /// Leaves channels and groups: one leave is sent for them; heartbeats continue on the rest.
    pub fn leave<C, G, S, T>(&mut self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        if self.shutting_down || self.stopped {
            return;
        }
        for channel in channels.into_iter().map(Into::into) {
            if self.channels.remove(&channel) {
                self.pending_join.0.remove(&channel);
                self.state.remove(&channel);
                self.pending_leave.0.insert(channel);
            }
        }
        for group in groups.into_iter().map(Into::into) {
            if self.groups.remove(&group) {
                self.pending_join.1.remove(&group);
                self.state.remove(&group);
                self.pending_leave.1.insert(group);
            }
        }
        if self.channels.is_empty() && self.groups.is_empty() {
            self.next_heartbeat_at = None;
            self.heartbeat_due_now = false;
            // Present nowhere: nothing to lose any more; a later join starts afresh.
            self.last_ok_sent_at = None;
            self.failures = 0;
            self.at_risk_reported = false;
            self.lost_reported = false;
        }
    }

    /// Sets the state carried by heartbeats for one channel or group; sent at once if joined.
    pub fn set_state<T: Serialize + ?Sized>(
        &mut self,
        name: impl Into<String>,
        state: &T,
    ) -> Result<(), Error> {
        let value = serde_json::to_value(state).map_err(|e| Error::StateSerialize(Some(e)))?;
        self.set_state_value(name, value);
        Ok(())
    }

    /// Sets an already-built state for one channel or group.
    pub fn set_state_value(&mut self, name: impl Into<String>, state: serde_json::Value) {
        let name = name.into();
        if self.channels.contains(&name) || self.groups.contains(&name) {
            self.heartbeat_due_now = true;
        }
        self.state.insert(name, state);
    }

    /// Changes the presence timeout (seconds, minimum 20); a heartbeat carries it at once.
    pub fn set_presence_timeout(&mut self, seconds: u32) {
        self.options.timeout_secs = seconds.max(MIN_PRESENCE_TIMEOUT);
        if !self.channels.is_empty() || !self.groups.is_empty() {
            self.heartbeat_due_now = true;
        }
    }

    /// Shuts down: one leave for everything joined, then [`SessionEvent::Stopped`].
    pub fn shutdown(&mut self) {
        if self.shutting_down || self.stopped {
            return;
        }
        self.shutting_down = true;
        self.pending_leave.0.append(&mut self.channels);
        self.pending_leave.1.append(&mut self.groups);
        self.pending_join = (Names::new(), Names::new());
        self.state.clear();
        self.heartbeat_due_now = false;
        self.next_heartbeat_at = None;
        self.finish_shutdown_if_idle();
    }

    /// The next request to send, if one is due at `now`.
    ///
    /// Also notices a presence deadline that has passed (reporting
    /// [`SessionEvent::PresenceLost`]), so call it whenever [`Self::poll_timeout`] has passed,
    /// even if no request is due then.
    pub fn poll_request(&mut self, now: Instant) -> Option<SessionRequest> {
        if self.stopped || self.in_flight.is_some() {
            return None;
        }
        self.note_deadline(now);
        if !self.pending_leave.0.is_empty() || !self.pending_leave.1.is_empty() {
            let (channels, groups) = std::mem::take(&mut self.pending_leave);
            let op = Leave::new()
                .channels(channels.iter().cloned())
                .groups(groups.iter().cloned());
            self.in_flight = Some(InFlight::Leave { channels, groups });
            return Some(SessionRequest::Leave(op));
        }
        if self.shutting_down || (self.channels.is_empty() && self.groups.is_empty()) {
            return None;
        }
        let due = self.heartbeat_due_now || self.next_heartbeat_at.is_some_and(|at| at <= now);
        if !due {
            return None;
        }
        let mut op = Heartbeat::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned())
            .presence_timeout(self.options.timeout_secs);
        for (name, state) in &self.state {
            if self.channels.contains(name) || self.groups.contains(name) {
                op = op.state_value(name.clone(), state.clone());
            }
        }
        self.heartbeat_due_now = false;
        self.next_heartbeat_at = None;
        let joining = std::mem::take(&mut self.pending_join);
        self.in_flight = Some(InFlight::Heartbeat {
            sent_at: now,
            joining,
        });
        if self.recent_attempts.len() >= MAX_ATTEMPTS_PER_WINDOW {
            self.recent_attempts.pop_front();
        }
        self.recent_attempts.push_back(now);
        // While the deadline is ahead, the exchange must end before it (minus a margin).
        let margin = self.options.deadline_margin();
        let shortest = self.options.shortest_request_timeout();
        let timeout = self
            .deadline()
            .filter(|deadline| *deadline > now)
            .map(|deadline| (deadline - now).saturating_sub(margin).max(shortest));
        Some(SessionRequest::Heartbeat { op, timeout })
    }

    /// Feeds back the outcome of the request last returned by [`Self::poll_request`].
    pub fn handle_response(&mut self, result: Result<(), Error>, now: Instant) {
        match self.in_flight.take() {
            None => {}
            Some(InFlight::Leave { channels, groups }) => {
                self.events.push_back(SessionEvent::Left {
                    channels: channels.into_iter().collect(),
                    groups: groups.into_iter().collect(),
                    error: result.err(),
                });
                self.finish_shutdown_if_idle();
            }
            Some(InFlight::Heartbeat { sent_at, joining }) => match result {
                Ok(()) => self.heartbeat_ok(sent_at, joining),
                Err(error) => self.heartbeat_failed(error, joining, now),
            },
        }
    }

    /// When [`Self::poll_request`] should next be called, if nothing else happens first.
    ///
    /// That is the next heartbeat (or retry), or the presence deadline when it comes first and
    /// its passing has not been reported yet, so that [`SessionEvent::PresenceLost`] is
    /// reported the moment it passes. `None` while a request is in flight (its reply, or
    /// [`SessionRequest::timeout`], comes first) or while there is nothing to keep alive.
    /// Commands may make work due at once: call `poll_request` after each.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped || self.in_flight.is_some() {
            return None;
        }
        let lost_at = self.unreported_deadline();
        match (self.next_heartbeat_at, lost_at) {
            (Some(next), Some(lost)) => Some(next.min(lost)),
            (next, lost) => next.or(lost),
        }
    }

    /// The deadline, while its passing is still to be reported (something is joined and the
    /// session is running).
    fn unreported_deadline(&self) -> Option<Instant> {
        if self.lost_reported
            || self.shutting_down
            || (self.channels.is_empty() && self.groups.is_empty())
        {
            return None;
        }
        self.deadline()
    }

    /// Reports [`SessionEvent::PresenceLost`] once the deadline has passed.
    fn note_deadline(&mut self, now: Instant) {
        if let Some(deadline) = self.unreported_deadline() {
            if deadline <= now {
                self.lost_reported = true;
                self.events
                    .push_back(SessionEvent::PresenceLost { since: deadline });
            }
        }
    }

    /// Whether work is due immediately (after a command), regardless of the timer.
    pub(crate) fn has_immediate_work(&self) -> bool {
        !self.stopped
            && self.in_flight.is_none()
            && (!self.pending_leave.0.is_empty()
                || !self.pending_leave.1.is_empty()
                || (self.heartbeat_due_now && !self.shutting_down))
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    fn heartbeat_ok(&mut self, sent_at: Instant, joining: (Names, Names)) {
        if self.failures > 0 {
            let presence_lost = self.deadline().is_some_and(|deadline| sent_at >= deadline);
            self.events.push_back(SessionEvent::Recovered {
                failures: self.failures,
                presence_lost,
            });
        }
        self.failures = 0;
        self.at_risk_reported = false;
        self.lost_reported = false;
        self.last_ok_sent_at = Some(sent_at);
        let channels: Vec<String> = joining
            .0
            .into_iter()
            .filter(|c| self.channels.contains(c))
            .collect();
        let groups: Vec<String> = joining
            .1
            .into_iter()
            .filter(|g| self.groups.contains(g))
            .collect();
        if !channels.is_empty() || !groups.is_empty() {
            self.events
                .push_back(SessionEvent::Joined { channels, groups });
        }
        if !self.shutting_down && (!self.channels.is_empty() || !self.groups.is_empty()) {
            self.next_heartbeat_at = Some(sent_at + self.options.interval());
        }
    }

    fn heartbeat_failed(&mut self, error: Error, joining: (Names, Names), now: Instant) {
        // Names not acknowledged yet stay pending, so the next success reports them.
        self.pending_join
            .0
            .extend(joining.0.into_iter().filter(|c| self.channels.contains(c)));
        self.pending_join
            .1
            .extend(joining.1.into_iter().filter(|g| self.groups.contains(g)));
        if self.shutting_down {
            return;
        }
        if stops_session(&error) {
            self.stop(Some(error));
            return;
        }
        self.failures = self.failures.saturating_add(1);
        // A reply that failed after the deadline (an attempt in flight across it): the loss is
        // reported now, before the failure itself.
        self.note_deadline(now);
        let next_attempt_at = self.next_attempt_at(&error, now);
        if !self.channels.is_empty() || !self.groups.is_empty() {
            self.next_heartbeat_at = Some(next_attempt_at);
        }
        self.events.push_back(SessionEvent::HeartbeatFailed {
            error,
            failures: self.failures,
            next_attempt_at,
        });
        if let Some(deadline) = self.unreported_deadline() {
            if deadline > now && next_attempt_at >= deadline && !self.at_risk_reported {
                self.at_risk_reported = true;
                self.events
                    .push_back(SessionEvent::PresenceAtRisk { deadline });
            }
        }
    }

    /// When to try again after a failure (see the crate README, "Keep-present retry schedule"):
    ///
    /// 1. Full jitter above the floor `F` ([`SessionOptions::retry_floor`]): uniform in
    ///    `[F, max(F, B))`, where `B = F · 2^failures`, at most the interval and, while the
    ///    deadline is ahead, at most half the time left to it (so attempts close in on it).
    /// 2. While the deadline is ahead, at least `left / (attempts left in the window + 1)`,
    ///    so the budget is spread up to the deadline rather than spent at once.
    /// 3. At least the service's `Retry-After`, capped at the presence timeout (the ceiling).
    /// 4. Never more than [`MAX_ATTEMPTS_PER_WINDOW`] heartbeats within one presence timeout.
    fn next_attempt_at(&mut self, error: &Error, now: Instant) -> Instant {
        let floor = self.options.retry_floor();
        let window = self.options.timeout();
        let doublings = self.failures.min(30);
        let mut upper = floor
            .saturating_mul(1u32 << doublings)
            .min(self.options.interval());
        let mut lower = floor;
        if let Some(deadline) = self.deadline().filter(|d| *d > now) {
            let left = deadline - now;
            upper = upper.min(left / 2);
            let since_ok = self
                .recent_attempts
                .iter()
                .filter(|at| Some(**at) >= self.last_ok_sent_at)
                .count();
            let budget = MAX_ATTEMPTS_PER_WINDOW.saturating_sub(since_ok);
            if budget > 0 {
                lower = lower.max(left / (budget as u32 + 1));
            }
        }
        let upper = upper.max(lower);
        let mut delay = lower + upper.saturating_sub(lower).mul_f64(self.jitter.unit());
        if let Some(after) = error.retry_after() {
            delay = delay.max(after.min(window));
        }
        let mut at = now + delay;
        if self.recent_attempts.len() >= MAX_ATTEMPTS_PER_WINDOW {
            if let Some(oldest) = self.recent_attempts.front() {
                at = at.max(*oldest + window);
            }
        }
        at
    }

    fn finish_shutdown_if_idle(&mut self) {
        if self.shutting_down
            && self.in_flight.is_none()
            && self.pending_leave.0.is_empty()
            && self.pending_leave.1.is_empty()
        {
            self.stop(None);
        }
    }

    fn stop(&mut self, error: Option<Error>) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.channels.clear();
        self.groups.clear();
        self.pending_join = (Names::new(), Names::new());
        self.pending_leave = (Names::new(), Names::new());
        self.next_heartbeat_at = None;
        self.events.push_back(SessionEvent::Stopped { error });
    }
}

/// Whether a heartbeat failure ends the session: errors that cannot heal by sending the same
/// request again — the service refused it (401/403 Access Manager, 402 presence not enabled,
/// a 4xx from the service itself such as 400 invalid key), the request is too long (414, or
/// refused before sending), or the input is invalid. Anything else — 5xx, 429, timeouts,
/// network errors, and also undecodable, truncated or oversized replies, a 404 or a 4xx that
/// is not the service's JSON (a proxy or captive portal answering in its place) — is
/// transient for a session that must stay alive for hours.
fn stops_session(error: &Error) -> bool {
    match error {
        Error::BodyTooLarge { .. } | Error::Decode { .. } => false,
        Error::Api(api) => match error.kind() {
            ErrorKind::AccessDenied | ErrorKind::NotEnabled => true,
            ErrorKind::TooLarge => api.status == 414,
            // A 400 (or another 4xx) stops only when the service itself said so.
            ErrorKind::BadRequest => api.service.is_some() || api.message.is_some(),
            _ => false,
        },
        _ => matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::TooLarge),
    }
}
