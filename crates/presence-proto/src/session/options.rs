//! Timing options of a presence session.

use std::time::Duration;

use crate::ops::heartbeat::DEFAULT_PRESENCE_TIMEOUT;

/// Smallest presence timeout the service honours; lower values are raised to it.
pub const MIN_PRESENCE_TIMEOUT: u32 = 20;

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

    /// First retry delay after a failed heartbeat, in seconds of [`SessionOptions::time_unit`]
    /// (default 1). Later retries double it, never waiting past half the time left.
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

    /// The first retry delay (min backoff × time unit, as set).
    pub(crate) fn first_backoff(&self) -> Duration {
        let unit_secs = self.time_unit.as_secs_f64();
        self.min_backoff
            .mul_f64(unit_secs)
            .max(Duration::from_millis(1))
    }
}
