//! Session timing for `keep-present`, including a hidden time unit for black-box tests.
//!
//! `PRESENCE_CLI_TIME_UNIT_MS=<ms>` (undocumented in `--help`, meant for tests only) makes one
//! "second" of the presence timeout, the heartbeat interval and the retry schedule last that
//! many milliseconds, so a `--timeout 20` run can be observed through an outage in about a
//! second. Set against a real service it only makes heartbeats more frequent (the service still
//! counts real seconds), never less: values above 1000 are refused.

use std::time::Duration;

use presence_blocking::SessionOptions;

use crate::failure::Failure;

/// The hidden environment variable.
pub(crate) const TIME_UNIT_ENV: &str = "PRESENCE_CLI_TIME_UNIT_MS";

/// The keep-present options for `--timeout` (and the hidden time unit, if set).
pub(crate) fn session_options(timeout: Option<u32>) -> Result<SessionOptions, Failure> {
    let mut options = SessionOptions::new();
    if let Some(seconds) = timeout {
        options = options.presence_timeout(seconds);
    }
    match std::env::var(TIME_UNIT_ENV) {
        Err(_) => Ok(options),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(ms @ 1..=1000) => Ok(options.time_unit(Duration::from_millis(ms))),
            _ => Err(Failure::usage(format!(
                "{TIME_UNIT_ENV} must be a whole number of milliseconds from 1 to 1000"
            ))),
        },
    }
}
