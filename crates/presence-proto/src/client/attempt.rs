//! One attempt and the retry cursor: everything about sending a call that is not moving bytes
//! or sleeping, shared by the async and the blocking runners.

use std::time::{Duration, Instant};

use super::driver::{Environment, SendError};
use super::options::ClientOptions;
use crate::config::Config;
use crate::error::Error;
use crate::ops::Operation;
use crate::retry::RetryPolicy;
use crate::stamp::Stamp;

/// What to do after a failed attempt.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send again at once (a stale pooled connection; happens at most once per call).
    Resend,
    /// Sleep this long, then send again.
    Wait(Duration),
    /// Give up with this error.
    Fail(Error),
}

/// The retry cursor of one call: pure data, advanced after each failed attempt.
#[derive(Debug)]
pub(crate) struct Attempts {
    policy: RetryPolicy,
    retries_done: u32,
    number: u32,
    stale_resent: bool,
}

impl Attempts {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            retries_done: 0,
            number: 0,
            stale_resent: false,
        }
    }

    /// Starts the next attempt; returns its number (1-based).
    pub(crate) fn begin(&mut self) -> u32 {
        self.number += 1;
        self.number
    }

    /// Decides after a failure; `fraction` is the driver's random draw for the jitter.
    pub(crate) fn next(&mut self, failure: SendError, op: &'static str, fraction: f64) -> Next {
        if failure.stale && !self.stale_resent {
            // The server closed an idle keep-alive connection as we reused it: the request
            // never got an answer. Presence calls are idempotent GETs: send again, at once.
            self.stale_resent = true;
            tracing::debug!(
                op,
                attempt = self.number,
                "pooled connection was closed by the server; sending again"
            );
            return Next::Resend;
        }
        let error = failure.error;
        let Some(delay) = self
            .policy
            .delay_with_jitter(self.retries_done, &error, fraction)
        else {
            return Next::Fail(error);
        };
        tracing::info!(
            op,
            attempt = self.number,
            error = %error,
            delay_ms = delay.as_millis() as u64,
            "presence request failed; retrying"
        );
        self.retries_done += 1;
        Next::Wait(delay)
    }
}

/// A request id: a random version-4 UUID in its usual text form, from the driver's random
/// source (request ids need uniqueness, not unpredictability).
pub(crate) fn request_id(env: &dyn Environment) -> String {
    let high = u128::from(env.random());
    let low = u128::from(env.random());
    let mut bits = (high << 64) | low;
    bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
    bits = (bits & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{bits:032x}");
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// Builds one attempt's request: a fresh stamp, the operation's request, `Connection: close`
/// when pooling is off.
pub(crate) fn prepare<O: Operation + ?Sized>(
    op: &O,
    config: &Config,
    options: &ClientOptions,
    env: &dyn Environment,
) -> Result<http::Request<Vec<u8>>, Error> {
    let stamp = Stamp::new(env.unix_time(), request_id(env));
    let mut request = op.to_request(config, &stamp)?;
    if options.closes_connections() {
        request.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    Ok(request)
}

/// The span every attempt runs in. Only the path is logged: the query may hold the auth
/// token and the signature.
pub(crate) fn span(
    op: &'static str,
    request: &http::Request<Vec<u8>>,
    attempt: u32,
) -> tracing::Span {
    tracing::debug_span!(
        "presence_request",
        op,
        path = request.uri().path(),
        attempt,
        status = tracing::field::Empty,
        elapsed_ms = tracing::field::Empty,
    )
}

/// Parses what the driver brought back (inside the attempt's span), logging the outcome.
pub(crate) fn finish<O: Operation + ?Sized, B: AsRef<[u8]>>(
    op: &O,
    span: &tracing::Span,
    started: Instant,
    env: &dyn Environment,
    result: Result<http::Response<B>, SendError>,
) -> Result<O::Output, SendError> {
    let elapsed = env.now().saturating_duration_since(started);
    span.record("elapsed_ms", elapsed.as_millis() as u64);
    let _entered = span.enter();
    let response = match result {
        Ok(response) => response,
        Err(failure) => {
            tracing::debug!(error = %failure.error, "presence request failed");
            return Err(failure);
        }
    };
    span.record("status", response.status().as_u16());
    let (parts, body) = response.into_parts();
    let parsed = op.parse(http::Response::from_parts(parts, body.as_ref()));
    match &parsed {
        Ok(_) => tracing::debug!("presence request succeeded"),
        Err(error) => tracing::debug!(error = %error, "presence request rejected"),
    }
    parsed.map_err(SendError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::sync::atomic::AtomicU64);
    impl Environment for Counter {
        fn now(&self) -> Instant {
            Instant::now()
        }
        fn unix_time(&self) -> u64 {
            0
        }
        fn random(&self) -> u64 {
            self.0
                .fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed)
        }
    }

    #[test]
    fn request_ids_are_v4_uuids_and_fresh() {
        let env = Counter(std::sync::atomic::AtomicU64::new(u64::MAX));
        let a = request_id(&env);
        let b = request_id(&env);
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!(id.len(), 36);
            assert_eq!(id.as_bytes()[14], b'4', "{id}");
            assert!(
                matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
                "{id}"
            );
        }
    }

    #[test]
    fn stale_connections_are_resent_once_then_the_policy_decides() {
        let mut attempts = Attempts::new(RetryPolicy::None);
        let stale = || SendError::stale(Error::network("send", std::io::Error::other("reset")));
        assert!(matches!(attempts.next(stale(), "t", 0.0), Next::Resend));
        assert!(matches!(attempts.next(stale(), "t", 0.0), Next::Fail(_)));
    }

    #[test]
    fn retries_follow_the_policy() {
        let policy = RetryPolicy::linear(Duration::from_secs(2), 1);
        let mut attempts = Attempts::new(policy);
        let timeout = || SendError::from(Error::timeout(Duration::from_secs(1)));
        assert!(
            matches!(attempts.next(timeout(), "t", 0.0), Next::Wait(d) if d == Duration::from_secs(2))
        );
        assert!(matches!(attempts.next(timeout(), "t", 0.0), Next::Fail(_)));
    }
}
