//! One user's presence: heartbeats, retries, leaves and shutdown.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::event::SessionEvent;
use super::jitter::Jitter;
use super::options::{MIN_PRESENCE_TIMEOUT, SessionOptions};
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
    pub fn poll_request(&mut self, now: Instant) -> Option<SessionRequest> {
        if self.stopped || self.in_flight.is_some() {
            return None;
        }
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
        Some(SessionRequest::Heartbeat(op))
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
    /// `None` while a request is in flight or while there is nothing to keep alive. Commands
    /// may make work due at once: call `poll_request` after each.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped || self.in_flight.is_some() {
            return None;
        }
        self.next_heartbeat_at
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
        let delay = self.retry_delay(&error, now);
        let next_attempt_at = now + delay;
        if let Some(deadline) = self.deadline() {
            // Also once the deadline has passed: a reply to the last attempt before it often
            // arrives after it, and the user must still hear that presence is at risk.
            if next_attempt_at >= deadline && !self.at_risk_reported {
                self.at_risk_reported = true;
                self.events
                    .push_back(SessionEvent::PresenceAtRisk { deadline });
            }
        }
        if !self.channels.is_empty() || !self.groups.is_empty() {
            self.next_heartbeat_at = Some(next_attempt_at);
        }
        self.events.push_back(SessionEvent::HeartbeatFailed {
            error,
            failures: self.failures,
            next_attempt_at,
        });
    }

    /// Exponential backoff from the first delay, capped at the interval and at half the time
    /// left before the deadline (so attempts close in on it), jittered into `[½, 1)` of that,
    /// and never shorter than the service's `Retry-After`.
    fn retry_delay(&mut self, error: &Error, now: Instant) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(30);
        let mut delay = self
            .options
            .first_backoff()
            .saturating_mul(1u32 << doublings)
            .min(self.options.interval());
        if let Some(deadline) = self.deadline() {
            if deadline > now {
                delay = delay.min((deadline - now) / 2);
            }
        }
        let delay = delay
            .mul_f64(self.jitter.factor())
            .max(Duration::from_micros(100));
        error.retry_after().map_or(delay, |after| delay.max(after))
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

/// Whether a heartbeat failure ends the session: the request itself is refused (403, 402, 400,
/// 414, bad input), so sending it again cannot help. Anything else — 5xx, 429, timeouts,
/// network errors, and also undecodable replies or a 404 (a proxy or captive portal answering
/// in the service's place) — is transient for a session that must stay alive for hours.
fn stops_session(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::AccessDenied
            | ErrorKind::NotEnabled
            | ErrorKind::BadRequest
            | ErrorKind::TooLarge
            | ErrorKind::InvalidInput
    )
}
