//! The requests a presence session asks its driver to send.

use crate::config::Config;
use crate::error::Error;
use crate::ops::Operation;
use crate::ops::heartbeat::Heartbeat;
use crate::ops::leave::Leave;
use crate::stamp::Stamp;

/// A request from a presence session: send it like any [`Operation`] and hand the result back.
///
/// ```
/// use presence_proto::{Config, Operation, PresenceSession, SessionOptions, Stamp};
/// use std::time::Instant;
/// let config = Config::builder("demo", "alice").build()?;
/// let mut session = PresenceSession::new(config.clone(), SessionOptions::new());
/// session.join(["lobby"], Vec::<String>::new());
/// let request = session.poll_request(Instant::now()).expect("a heartbeat is due");
/// let http_request = request.to_request(&config, &Stamp::new(0, ""))?;
/// assert!(http_request.uri().path().ends_with("/channel/lobby/heartbeat"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SessionRequest {
    /// Keep the user present (carrying its current state).
    Heartbeat(Heartbeat),
    /// Announce that the user left.
    Leave(Leave),
}

impl SessionRequest {
    /// Whether this is a leave.
    pub fn is_leave(&self) -> bool {
        matches!(self, Self::Leave(_))
    }
}

impl Operation for SessionRequest {
    type Output = ();
    const NAME: &'static str = "presence_session";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        match self {
            Self::Heartbeat(op) => op.to_request(config, stamp),
            Self::Leave(op) => op.to_request(config, stamp),
        }
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        match self {
            Self::Heartbeat(op) => op.parse(response),
            Self::Leave(op) => op.parse(response),
        }
    }
}
