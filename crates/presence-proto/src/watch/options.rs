//! [`WatchOptions`]: what a watch subscribes as, and how it backs off.

use std::time::Duration;

/// How a [`Watch`](super::Watch) behaves.
///
/// ```
/// use std::time::Duration;
/// use presence_proto::WatchOptions;
/// let options = WatchOptions::new().observe(true).max_backoff(Duration::from_secs(30));
/// assert!(options.is_observer());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct WatchOptions {
    pub(crate) observe: bool,
    pub(crate) presence_timeout: u32,
    pub(crate) suppress_leave: bool,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) gap_after: Duration,
    pub(crate) jitter_seed: u64,
    pub(crate) dedupe_capacity: usize,
    pub(crate) time_unit: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            observe: false,
            presence_timeout: crate::DEFAULT_PRESENCE_TIMEOUT,
            suppress_leave: false,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(32),
            gap_after: Duration::from_secs(120),
            jitter_seed: 0x5eed,
            dedupe_capacity: 1024,
            time_unit: Duration::from_secs(1),
        }
    }
}

impl WatchOptions {
    /// The defaults: present mode (the watcher is present on what it watches, kept so by its
    /// own polls), presence timeout 300 s, a leave on stop, backoff 1 s doubling to 32 s, a
    /// gap reported after 120 s without a reply, the last 1,024 events remembered for
    /// de-duplication.
    ///
    /// ```
    /// assert!(!presence_proto::WatchOptions::new().is_observer());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Observer mode: watch the `-pnpres` companions only; the watcher is present nowhere
    /// and sends no leave.
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().observe(true);
    /// # drop(options);
    /// ```
    pub fn observe(mut self, observe: bool) -> Self {
        self.observe = observe;
        self
    }

    /// The presence timeout the polls announce in present mode (seconds, default 300): each
    /// poll counts as a heartbeat, so a watcher needs no separate heartbeat loop.
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().presence_timeout(60);
    /// # drop(options);
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.presence_timeout = seconds.max(1);
        self
    }

    /// No leave when the watch stops (the service times the user out instead), as the
    /// Python and Kotlin SDKs' `suppress_leave_events`.
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().suppress_leave(true);
    /// # drop(options);
    /// ```
    pub fn suppress_leave(mut self, suppress: bool) -> Self {
        self.suppress_leave = suppress;
        self
    }

    /// First wait after a failed poll (default 1 s); it doubles per failure.
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().min_backoff(std::time::Duration::from_millis(100));
    /// # drop(options);
    /// ```
    pub fn min_backoff(mut self, delay: Duration) -> Self {
        self.min_backoff = delay;
        self
    }

    /// Longest wait between failed polls (default 32 s); also the ceiling of `Retry-After`.
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().max_backoff(std::time::Duration::from_secs(10));
    /// # drop(options);
    /// ```
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// After this long without a good reply, events may have been dropped from the service's
    /// buffer: a [`WatchItem::Gap`](super::WatchItem::Gap) is reported on reconnecting
    /// (default 120 s).
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().gap_after(std::time::Duration::from_secs(60));
    /// # drop(options);
    /// ```
    pub fn gap_after(mut self, after: Duration) -> Self {
        self.gap_after = after;
        self
    }

    /// The seed of the backoff jitter (drivers draw one at random; fix it for reproducible
    /// tests).
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().jitter_seed(7);
    /// # drop(options);
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// The length of a "second" of the presence timeout (default 1 s), so tests against an
    /// emulator with a short time unit run in milliseconds.
    ///
    /// ```
    /// let options = presence_proto::WatchOptions::new().time_unit(std::time::Duration::from_millis(10));
    /// # drop(options);
    /// ```
    pub fn time_unit(mut self, unit: Duration) -> Self {
        self.time_unit = unit;
        self
    }

    /// How often a present-mode watch makes sure a heartbeat goes out: `timeout / 2 − 1`
    /// time units (at least one). A long-poll held by the service does not count, so a
    /// presence timeout shorter than the hold time still keeps the watcher present.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        let units = (self.presence_timeout / 2).saturating_sub(1).max(1);
        self.time_unit.saturating_mul(units)
    }

    /// Whether this is an observer.
    ///
    /// ```
    /// assert!(presence_proto::WatchOptions::new().observe(true).is_observer());
    /// ```
    pub fn is_observer(&self) -> bool {
        self.observe
    }
}
