//! One file per operation: its inputs (a plain value with builder setters), its request, its
//! typed output and its reply parser.

pub(crate) mod channel_group;
pub(crate) mod get_state;
pub(crate) mod heartbeat;
pub(crate) mod here_now;
pub(crate) mod here_now_pages;
pub(crate) mod leave;
pub(crate) mod set_state;
pub(crate) mod subscribe;
pub(crate) mod where_now;

use crate::config::Config;
use crate::error::Error;
use crate::stamp::Stamp;

/// A presence API call: builds its request and parses its reply, with no I/O.
///
/// Drivers call [`Operation::to_request`], send the request however they like, then hand the
/// reply (status, headers, body bytes) to [`Operation::parse`]. `parse` takes `&self` because
/// the reply's shape depends on what was asked (a single-channel here_now reply does not name
/// its channel).
///
/// ```
/// use presence_proto::{Config, HereNow, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let op = HereNow::new().channels(["lobby"]);
/// let request = op.to_request(&config, &Stamp::new(1_700_000_000, ""))?;
/// assert_eq!(request.uri().path(), "/v2/presence/sub-key/demo/channel/lobby");
///
/// let body = br#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["bob"]}"#;
/// let reply = http::Response::builder().status(200).body(&body[..])?;
/// let result = op.parse(reply)?;
/// assert_eq!(result.channels[0].name, "lobby");
/// assert_eq!(result.channels[0].occupants[0].user_id, "bob");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Operation {
    /// The typed result of a successful call.
    type Output;

    /// Short operation name for logs and metrics (`here_now`, `heartbeat`, …).
    const NAME: &'static str;

    /// Builds the full request (URL with every parameter, signed when a secret key is set).
    ///
    /// Fails with an [`crate::ErrorKind::InvalidInput`] or [`crate::ErrorKind::TooLarge`] error
    /// before anything is sent.
    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error>;

    /// Parses the reply: classifies errors (HTTP and body status) and decodes the typed output.
    fn parse(&self, response: http::Response<&[u8]>) -> Result<Self::Output, Error>;

    /// How long one attempt may take, given the client's request timeout: by default that
    /// timeout; a long-poll needs longer, a heartbeat racing its presence deadline less.
    ///
    /// ```
    /// use std::time::Duration;
    /// use presence_proto::{HereNow, Operation, Subscribe};
    /// let own = Duration::from_secs(10);
    /// assert_eq!(HereNow::new().timeout(own), own);
    /// assert_eq!(Subscribe::new().timeout(own), Duration::from_secs(310));
    /// ```
    fn timeout(&self, client_timeout: std::time::Duration) -> std::time::Duration {
        client_timeout
    }
}

/// Implements [`serde_json::Value`]-to-`T` conversion for state accessors.
pub(crate) fn state_as<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, Error> {
    T::deserialize(value).map_err(|e| Error::Decode {
        status: 200,
        reason: format!("state does not match the requested type: {e}"),
        excerpt: crate::error::excerpt(value.to_string().as_bytes()),
        source: Some(e),
    })
}
