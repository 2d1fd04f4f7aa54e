//! Exit codes: one per family of [`ErrorKind`], documented in `--help` and the README.

use presence_blocking::ErrorKind;

/// Success.
pub(crate) const OK: u8 = 0;
/// Anything not covered below (e.g. stdout closed).
pub(crate) const OTHER: u8 = 1;
/// Bad command line or invalid input; nothing was sent.
pub(crate) const USAGE: u8 = 2;
/// Access denied (401/403).
pub(crate) const ACCESS_DENIED: u8 = 3;
/// Bad request (400 and other 4xx) or not found (404).
pub(crate) const BAD_REQUEST: u8 = 4;
/// Network failure or timeout.
pub(crate) const NETWORK: u8 = 5;
/// Server error (5xx) or too many requests (429).
pub(crate) const SERVER: u8 = 6;
/// Undecodable reply.
pub(crate) const DECODE: u8 = 7;
/// Feature not enabled for the keyset (402), or too large (URL, body).
pub(crate) const NOT_ENABLED: u8 = 8;

/// The table shown at the end of `--help`.
pub(crate) const HELP: &str = "\
Exit codes:
  0  success
  1  other failure (e.g. output could not be written)
  2  usage error or invalid input (bad flag, bad JSON, empty name); nothing was sent
  3  access denied (HTTP 401/403)
  4  bad request or not found (HTTP 400/404 and other 4xx)
  5  network failure or timeout
  6  server error or too many requests (HTTP 5xx/429)
  7  the reply could not be decoded
  8  presence not enabled for the keyset (HTTP 402), or request/reply too large

Environment:
  PUBNUB_SUBSCRIBE_KEY, PUBNUB_PUBLISH_KEY, PUBNUB_SECRET_KEY, PUBNUB_AUTH_KEY,
  PUBNUB_USER_ID, PUBNUB_ORIGIN stand in for the matching flags.
  PRESENCE_PROFILE selects a profile (see `presence profiles --help`); PRESENCE_CONFIG names
  the profiles file. NO_COLOR and CLICOLOR_FORCE steer --color auto.";

/// The exit code for an error of `kind`.
pub(crate) fn code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput => USAGE,
        ErrorKind::AccessDenied => ACCESS_DENIED,
        ErrorKind::BadRequest | ErrorKind::NotFound => BAD_REQUEST,
        ErrorKind::Network | ErrorKind::Timeout => NETWORK,
        ErrorKind::Server | ErrorKind::TooManyRequests => SERVER,
        ErrorKind::Decode => DECODE,
        ErrorKind::NotEnabled | ErrorKind::TooLarge => NOT_ENABLED,
        _ => OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_documented_code() {
        let kinds = [
            (ErrorKind::InvalidInput, 2),
            (ErrorKind::AccessDenied, 3),
            (ErrorKind::BadRequest, 4),
            (ErrorKind::NotFound, 4),
            (ErrorKind::Network, 5),
            (ErrorKind::Timeout, 5),
            (ErrorKind::Server, 6),
            (ErrorKind::TooManyRequests, 6),
            (ErrorKind::Decode, 7),
            (ErrorKind::NotEnabled, 8),
            (ErrorKind::TooLarge, 8),
        ];
        for (kind, expected) in kinds {
            assert_eq!(code(kind), expected, "{kind:?}");
            assert!(
                HELP.contains(&format!("  {expected}  ")),
                "{expected} undocumented"
            );
            assert_ne!(kind.to_string(), "other");
        }
    }
}
