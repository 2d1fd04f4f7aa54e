//! Retry policy: a pure decision of whether and when to send a failed request again.

use std::time::Duration;

use crate::error::Error;

/// When to retry a failed call. A plain value: drivers ask it after each failure.
///
/// Only 408, 429, 5xx, timeouts and network errors are retried, never another 4xx. A
/// `Retry-After` from the service (seconds, or an HTTP-date against the reply's `Date`)
/// replaces the computed delay up to the policy's own longest wait
/// ([`RetryPolicy::max_delay`]); a reply asking for longer is not waited for: the call fails at
/// once with that error (a 429 whose [`Error::retry_after`] tells the caller when to come
/// back). The default is [`RetryPolicy::None`], as in every official SDK for presence calls.
///
/// ```
/// use std::time::Duration;
/// use presence_proto::{Error, RetryPolicy};
/// let policy = RetryPolicy::exponential(Duration::from_millis(100), Duration::from_secs(2), 5);
/// let timeout = Error::timeout(Duration::from_secs(10));
/// assert_eq!(policy.next_delay(0, &timeout, Duration::ZERO), Some(Duration::from_millis(100)));
/// assert_eq!(policy.next_delay(3, &timeout, Duration::ZERO), Some(Duration::from_millis(800)));
/// assert_eq!(policy.next_delay(5, &timeout, Duration::ZERO), None); // retries used up
/// ```
///
/// See the crate README ("One-shot retry policy") for a worked table.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub enum RetryPolicy {
    /// Never retry.
    #[default]
    None,
    /// Retry up to `max_retries` times, waiting `delay` (+ jitter) each time.
    Linear {
        /// Wait between attempts.
        delay: Duration,
        /// Retries after the first attempt.
        max_retries: u32,
    },
    /// Retry up to `max_retries` times, waiting `min · 2^n` capped at `max` (+ jitter).
    Exponential {
        /// First wait.
        min: Duration,
        /// Longest wait.
        max: Duration,
        /// Retries after the first attempt.
        max_retries: u32,
    },
}

impl RetryPolicy {
    /// A linear policy.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = presence_proto::RetryPolicy::linear(Duration::from_secs(2), 3);
    /// assert_eq!(policy.max_retries(), 3);
    /// ```
    pub fn linear(delay: Duration, max_retries: u32) -> Self {
        Self::Linear { delay, max_retries }
    }

    /// An exponential policy.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = presence_proto::RetryPolicy::exponential(Duration::from_millis(500), Duration::from_secs(30), 5);
    /// assert_eq!(policy.max_retries(), 5);
    /// ```
    pub fn exponential(min: Duration, max: Duration, max_retries: u32) -> Self {
        Self::Exponential {
            min,
            max,
            max_retries,
        }
    }

    /// The most retries this policy makes.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(presence_proto::RetryPolicy::linear(Duration::from_secs(1), 2).max_retries(), 2);
    /// ```
    pub fn max_retries(&self) -> u32 {
        match self {
            Self::None => 0,
            Self::Linear { max_retries, .. } | Self::Exponential { max_retries, .. } => {
                *max_retries
            }
        }
    }

    /// The longest wait this policy accepts before a retry: `delay` (linear) or `max`
    /// (exponential); `None` for [`RetryPolicy::None`]. A `Retry-After` above it ends the call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_proto::RetryPolicy;
    /// let policy = RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 4);
    /// assert_eq!(policy.max_delay(), Some(Duration::from_secs(30)));
    /// ```
    pub fn max_delay(&self) -> Option<Duration> {
        match *self {
            Self::None => None,
            Self::Linear { delay, .. } => Some(delay),
            Self::Exponential { max, .. } => Some(max),
        }
    }

    /// The wait before retry number `retries_done + 1`, or `None` to give up (return the
    /// error as it is).
    ///
    /// `retries_done` counts retries already made (0 after the first failure). `jitter` is added
    /// to the delay; the driver draws it (e.g. uniformly from 0..1 s), keeping the core free of
    /// randomness. A `Retry-After` longer than [`Self::max_delay`] gives up at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_proto::{HereNow, Operation, RetryPolicy};
    /// let reply = http::Response::builder().status(429).header("retry-after", "3600").body(&b""[..])?;
    /// let error = HereNow::new().parse(reply).unwrap_err();
    /// let policy = RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 4);
    /// assert_eq!(policy.next_delay(0, &error, Duration::ZERO), None); // not an hour's sleep
    /// assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_delay(
        &self,
        retries_done: u32,
        error: &Error,
        jitter: Duration,
    ) -> Option<Duration> {
        if !error.is_retryable() || retries_done >= self.max_retries() {
            return None;
        }
        let computed = match *self {
            Self::None => return None,
            Self::Linear { delay, .. } => delay,
            Self::Exponential { min, max, .. } => {
                let factor = 1u32.checked_shl(retries_done.min(31)).unwrap_or(u32::MAX);
                min.checked_mul(factor).unwrap_or(max).min(max)
            }
        };
        let base = match error.retry_after() {
            Some(after) if Some(after) > self.max_delay() => return None,
            Some(after) => after,
            None => computed,
        };
        Some(base.saturating_add(jitter))
    }

    /// [`Self::next_delay`] with the jitter every driver should use: up to `min(1 s, delay / 2)`
    /// extra, scaled by `fraction` (the driver's uniform random draw in `0.0..=1.0`; values
    /// outside are clamped).
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_proto::{Error, RetryPolicy};
    /// let policy = RetryPolicy::linear(Duration::from_secs(4), 3);
    /// let err = Error::timeout(Duration::from_secs(10));
    /// assert_eq!(policy.delay_with_jitter(0, &err, 0.0), Some(Duration::from_secs(4)));
    /// assert_eq!(policy.delay_with_jitter(0, &err, 1.0), Some(Duration::from_secs(5)));
    /// ```
    pub fn delay_with_jitter(
        &self,
        retries_done: u32,
        error: &Error,
        fraction: f64,
    ) -> Option<Duration> {
        let base = self.next_delay(retries_done, error, Duration::ZERO)?;
        let cap = (base / 2).min(Duration::from_secs(1));
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        Some(base.saturating_add(cap.mul_f64(fraction)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        Error::Api(Box::new(ApiError {
            status,
            http_status: status,
            message: None,
            service: None,
            channels: vec![],
            groups: vec![],
            retry_after: retry_after.map(Duration::from_secs),
            excerpt: String::new(),
        }))
    }

    #[test]
    fn retries_only_transient_failures() {
        let p = RetryPolicy::linear(Duration::from_secs(1), 3);
        let j = Duration::ZERO;
        for status in [429, 500, 502, 503, 504] {
            assert_eq!(
                p.next_delay(0, &api(status, None), j),
                Some(Duration::from_secs(1)),
                "{status}"
            );
        }
        for status in [400, 402, 403, 404, 414] {
            assert_eq!(p.next_delay(0, &api(status, None), j), None, "{status}");
        }
        assert!(
            p.next_delay(0, &Error::network("x", std::io::Error::other("x")), j)
                .is_some()
        );
        assert!(p.next_delay(0, &Error::argument("f", "r"), j).is_none());
    }

    #[test]
    fn honours_retry_after_and_jitter() {
        let p = RetryPolicy::exponential(Duration::from_secs(2), Duration::from_secs(150), 6);
        let d = p.next_delay(0, &api(429, Some(7)), Duration::from_millis(300));
        assert_eq!(d, Some(Duration::from_millis(7300)));
    }

    #[test]
    fn caps_retry_after_at_the_longest_wait() {
        let p = RetryPolicy::exponential(Duration::from_secs(1), Duration::from_secs(30), 4);
        let j = Duration::ZERO;
        assert_eq!(
            p.next_delay(0, &api(429, Some(30)), j),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p.next_delay(0, &api(429, Some(31)), j), None);
        assert_eq!(p.next_delay(0, &api(503, Some(3600)), j), None);
        assert_eq!(p.delay_with_jitter(0, &api(429, Some(999_999)), 0.5), None);
        let linear = RetryPolicy::linear(Duration::from_secs(2), 3);
        assert_eq!(
            linear.next_delay(0, &api(429, Some(2)), j),
            Some(Duration::from_secs(2))
        );
        assert_eq!(linear.next_delay(0, &api(429, Some(3)), j), None);
        assert_eq!(
            linear.next_delay(0, &api(429, Some(0)), j),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn jitter_is_bounded() {
        let err = api(503, None);
        let short = RetryPolicy::linear(Duration::from_millis(100), 1);
        let long = RetryPolicy::linear(Duration::from_secs(10), 1);
        for i in 0..=1000 {
            let f = f64::from(i) / 1000.0;
            let d = short.delay_with_jitter(0, &err, f).unwrap();
            assert!(
                d >= Duration::from_millis(100) && d <= Duration::from_millis(150),
                "{d:?}"
            );
            let d = long.delay_with_jitter(0, &err, f).unwrap();
            assert!(
                d >= Duration::from_secs(10) && d <= Duration::from_secs(11),
                "{d:?}"
            );
        }
        assert_eq!(short.delay_with_jitter(1, &err, 0.5), None);
        assert_eq!(
            RetryPolicy::linear(Duration::ZERO, 1).delay_with_jitter(0, &err, 1.0),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn exponential_caps_and_counts() {
        let p = RetryPolicy::exponential(Duration::from_secs(2), Duration::from_secs(150), 40);
        let e = api(503, None);
        assert_eq!(
            p.next_delay(1, &e, Duration::ZERO),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            p.next_delay(10, &e, Duration::ZERO),
            Some(Duration::from_secs(150))
        );
        assert_eq!(
            p.next_delay(39, &e, Duration::ZERO),
            Some(Duration::from_secs(150))
        );
        assert_eq!(p.next_delay(40, &e, Duration::ZERO), None);
        assert_eq!(RetryPolicy::None.next_delay(0, &e, Duration::ZERO), None);
    }
}
