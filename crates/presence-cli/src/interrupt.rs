//! How the long-running commands (`keep-present`, `watch`, `roster`) end: Ctrl-C (a second
//! one exits at once) or `--for SECONDS`.

use std::time::Duration;

use crate::exit;
use crate::failure::Failure;

/// Exit code after a second Ctrl-C, which does not wait for the leave (128 + SIGINT).
pub(crate) const INTERRUPTED: i32 = 130;

/// Calls `stop` on the first Ctrl-C (SIGINT, SIGTERM, SIGHUP); a second one exits at once.
pub(crate) fn on_ctrl_c(mut stop: impl FnMut() + Send + 'static) -> Result<(), Failure> {
    let mut presses = 0u32;
    ctrlc::set_handler(move || {
        presses += 1;
        if presses > 1 {
            std::process::exit(INTERRUPTED);
        }
        stop();
    })
    .map_err(|e| Failure {
        kind: "other",
        code: exit::OTHER,
        message: format!("cannot handle Ctrl-C: {e}"),
        status: None,
    })
}

/// The `--for` value: a positive number of seconds.
pub(crate) fn run_for(seconds: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::usage("--for must be a positive number of seconds"))
}
