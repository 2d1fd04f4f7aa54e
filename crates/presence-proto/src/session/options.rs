//! Timing options of a presence session.

use std::time::Duration;

use crate::ops::heartbeat::DEFAULT_PRESENCE_TIMEOUT;

/// Smallest presence timeout the service honours; lower values are raised to it.
pub const MIN_PRESENCE_TIMEOUT: u32 = 20;

/// Most heartbeats a session sends in any span of one presence timeout (the "presence
/// window"), retries included: under a constant failure a 20 s window sees at most 8.
///
/// ```
/// assert_eq!(presence_proto::MAX_ATTEMPTS_PER_WINDOW, 8);
/// ```
pub const MAX_ATTEMPTS_PER_WINDOW: usize = 8;

/// Timing of a [`super::PresenceSession`]: presence timeout, heartbeat interval, retry backoff.
///
/// ```
/// use std::time::Duration;
/// use presence_proto::SessionOptions;
/// let options = SessionOptions::new().presence_timeout(60);
/// assert_eq!(options.interval(), Duration::from_secs(29)); // 60 / 2 − 1
/// assert_eq!(SessionOptions::new().presence_timeout(5).timeout_secs(), 20); // clamped
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SessionOptions {
    pub(crate) timeout_secs: u32,
    pub(crate) interval: Option<Duration>,
    pub(crate) time_unit: Duration,
    pub(crate) min_backoff: Duration,
    pub(crate) jitter_seed: u64,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            timeout_secs: DEFAULT_PRESENCE_TIMEOUT,
            interval: None,
            time_unit: Duration::from_secs(1),
            min_backoff: Duration::from_secs(1),
            jitter_seed: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl SessionOptions {
    /// Defaults: 300 s timeout, heartbeat every 149 s, backoff from 1 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Presence timeout in seconds sent as `heartbeat=` (minimum 20; lower values are raised).
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.timeout_secs = seconds.max(MIN_PRESENCE_TIMEOUT);
        self
    }

    /// Overrides the heartbeat interval (default `timeout / 2 − 1` seconds).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// How long one "second" of the presence timeout lasts (default 1 s).
    ///
    /// Meant for tests against an emulator started with the same unit, so that a 20 s timeout
    /// passes in, say, 20 × 50 ms. Scales the interval, the timeout and the backoff together.
    pub fn time_unit(mut self, unit: Duration) -> Self {
        self.time_unit = unit;
        self
    }

    /// Smallest retry delay after a failed heartbeat, in seconds of
    /// [`SessionOptions::time_unit`] (default 1). The delay actually used is never below
    /// [`SessionOptions::retry_floor`] (`max(1 s, 5 % of the timeout)`), so this can only
    /// raise it.
    pub fn min_backoff(mut self, delay: Duration) -> Self {
        self.min_backoff = delay;
        self
    }

    /// Seed of the jitter sequence. The core draws no randomness: seed it from your RNG.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// The presence timeout in seconds (as sent on the wire).
    pub fn timeout_secs(&self) -> u32 {
        self.timeout_secs
    }

    /// How long the service keeps the user present without a heartbeat (timeout × time unit).
    pub fn timeout(&self) -> Duration {
        self.time_unit.saturating_mul(self.timeout_secs)
    }

    /// The heartbeat interval: the override, else `(timeout / 2 − 1)` × time unit.
    pub fn interval(&self) -> Duration {
        self.interval.unwrap_or_else(|| {
            self.time_unit
                .saturating_mul((self.timeout_secs / 2).saturating_sub(1).max(1))
        })
    }

    /// The least time between two heartbeat attempts after a failure: the larger of 1 s,
    /// 5 % of the presence timeout and [`SessionOptions::min_backoff`], all in time units.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_proto::SessionOptions;
    /// assert_eq!(SessionOptions::new().presence_timeout(20).retry_floor(), Duration::from_secs(1));
    /// assert_eq!(SessionOptions::new().retry_floor(), Duration::from_secs(15)); // 5 % of 300 s
    /// let fast = SessionOptions::new().presence_timeout(20).time_unit(Duration::from_millis(10));
    /// assert_eq!(fast.retry_floor(), Duration::from_millis(10));
    /// ```
    pub fn retry_floor(&self) -> Duration {
        let unit_secs = self.time_unit.as_secs_f64();
        let five_percent = self.timeout().mul_f64(0.05);
        self.min_backoff
            .mul_f64(unit_secs)
            .max(self.time_unit)
            .max(five_percent)
            .max(Duration::from_millis(1))
    }

    /// Margin kept between a heartbeat's request timeout and the presence deadline: the retry
    /// floor, so that a stuck heartbeat fails early enough for one more attempt to be judged.
    pub(crate) fn deadline_margin(&self) -> Duration {
        self.retry_floor()
    }

    /// The shortest request timeout a session asks for: `min(floor / 2, 1 unit)`.
    pub(crate) fn shortest_request_timeout(&self) -> Duration {
        (self.retry_floor() / 2).min(self.time_unit)
    }
}
