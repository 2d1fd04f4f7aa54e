//! The requests a presence session asks its driver to send.

use std::time::Duration;

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
/// session.join_channels(["lobby"]);
/// let request = session.poll_request(Instant::now()).expect("a heartbeat is due");
/// let http_request = request.to_request(&config, &Stamp::new(0, ""))?;
/// assert!(http_request.uri().path().ends_with("/channel/lobby/heartbeat"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SessionRequest {
    /// Keep the user present (carrying its current state).
    Heartbeat {
        /// The heartbeat to send.
        op: Heartbeat,
        /// Longest the exchange may take; see [`SessionRequest::timeout`].
        timeout: Option<Duration>,
    },
    /// Announce that the user left.
    Leave(Leave),
}

impl SessionRequest {
    /// Whether this is a leave.
    pub fn is_leave(&self) -> bool {
        matches!(self, Self::Leave(_))
    }

    /// The longest this request may take, when the session needs it shorter than the driver's
    /// own request timeout: for a heartbeat sent while the presence deadline is still ahead,
    /// the time left to the deadline minus a margin (the retry floor,
    /// [`crate::SessionOptions::retry_floor`]), but never less than `min(floor / 2, 1 s)` (in
    /// time units). A stuck heartbeat then fails before the deadline instead of eating
    /// the whole presence window, and the session can report the loss on time.
    ///
    /// Drivers use `min(own timeout, this)` for the whole exchange (connect, send, reply) and,
    /// when it is the session's bound that expires, report [`Error::timeout`] as usual.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use presence_proto::{Config, PresenceSession, SessionOptions};
    /// let config = Config::builder("demo", "alice").build()?;
    /// let mut session = PresenceSession::new(config, SessionOptions::new().presence_timeout(20));
    /// session.join_channels(["lobby"]);
    /// let t0 = Instant::now();
    /// let first = session.poll_request(t0).expect("joining heartbeats at once");
    /// assert_eq!(first.timeout(), None); // no deadline yet: the driver's own timeout
    /// session.handle_response(Ok(()), t0);
    /// let second = session.poll_request(t0 + Duration::from_secs(9)).expect("the interval passed");
    /// // 11 s left to the deadline, minus a 1 s margin.
    /// assert_eq!(second.timeout(), Some(Duration::from_secs(10)));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            Self::Heartbeat { timeout, .. } => *timeout,
            Self::Leave(_) => None,
        }
    }

    /// The effective timeout for a driver whose own request timeout is `own`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use presence_proto::{Leave, SessionRequest};
    /// let leave = SessionRequest::Leave(Leave::new().channels(["lobby"]));
    /// assert_eq!(leave.timeout_within(Duration::from_secs(10)), Duration::from_secs(10));
    /// ```
    pub fn timeout_within(&self, own: Duration) -> Duration {
        self.timeout().map_or(own, |t| t.min(own))
    }
}

impl Operation for SessionRequest {
    type Output = ();
    const NAME: &'static str = "presence_session";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        match self {
            Self::Heartbeat { op, .. } => op.to_request(config, stamp),
            Self::Leave(op) => op.to_request(config, stamp),
        }
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        match self {
            Self::Heartbeat { op, .. } => op.parse(response),
            Self::Leave(op) => op.parse(response).map(|_| ()),
        }
    }

    /// A heartbeat's cap (the time left to the presence deadline) on top of the client's own
    /// timeout.
    fn timeout(&self, client_timeout: Duration) -> Duration {
        self.timeout_within(client_timeout)
    }
}
