//! Where the emulator reads the time from.
//!
//! Presence expiry and signature timestamps are computed from a [`Clock`]. The default
//! [`SystemClock`] follows the wall clock; a [`ManualClock`] only moves when a test moves it,
//! so expiry tests take no real time.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// A source of "now" for the emulator.
///
/// Implement it to drive the emulator from your own notion of time. The two provided
/// clocks are [`SystemClock`] (the default) and [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Moves the clock forward by `by`, if this clock can be moved.
    ///
    /// Returns `false` (the default) for clocks that cannot be moved; the admin endpoint
    /// `POST /_emulator/clock` then answers 409.
    fn try_advance(&self, by: Duration) -> bool {
        let _ = by;
        false
    }

    /// Sets the clock to `to`, if this clock can be set. Returns `false` by default.
    fn try_set(&self, to: SystemTime) -> bool {
        let _ = to;
        false
    }
}

/// The wall clock, read once at creation and then advanced with a monotonic timer, so a
/// system clock step never makes presence entries jump.
///
/// ```
/// use presence_emulator::{Clock, SystemClock};
/// let clock = SystemClock::new();
/// assert!(clock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    base_wall: SystemTime,
    base_mono: Instant,
}

impl SystemClock {
    /// A clock that follows the system time from now on.
    pub fn new() -> Self {
        Self {
            base_wall: SystemTime::now(),
            base_mono: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        self.base_wall + self.base_mono.elapsed()
    }
}

/// A clock that only moves when told to. Cheap to clone; all clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use presence_emulator::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(300));
/// assert_eq!(clock.now(), start + Duration::from_secs(300));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A manual clock starting at the current system time (whole seconds), so that signed
    /// requests with real timestamps still verify until the clock is moved far away.
    pub fn new() -> Self {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// A manual clock starting at `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.checked_add(by).unwrap_or(*now);
    }

    /// Sets the clock to `to` (it may go backwards).
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// The clock's current time.
    pub fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        ManualClock::now(self)
    }

    fn try_advance(&self, by: Duration) -> bool {
        self.advance(by);
        true
    }

    fn try_set(&self, to: SystemTime) -> bool {
        self.set(to);
        true
    }
}

/// Seconds since the Unix epoch (0 before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::starting_at(SystemTime::UNIX_EPOCH);
        let b = a.clone();
        a.advance(Duration::from_millis(1500));
        assert_eq!(
            b.now(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(1500)
        );
        assert!(b.try_set(SystemTime::UNIX_EPOCH));
        assert_eq!(unix_secs(a.now()), 0);
    }

    #[test]
    fn system_clock_cannot_be_moved() {
        let c = SystemClock::new();
        assert!(!c.try_advance(Duration::from_secs(1)));
        assert!(!c.try_set(SystemTime::UNIX_EPOCH));
    }
}
