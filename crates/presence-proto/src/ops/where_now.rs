//! where_now: the channels a user is present on.

use serde::Deserialize;

use crate::config::Config;
use crate::error::Error;
use crate::names;
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{Flag, Status, decode, envelope, lenient_status, shape_error};
use crate::stamp::Stamp;

/// The channels a user is present on (default: the caller's own user id).
///
/// ```
/// use presence_proto::{Config, Operation, Stamp, WhereNow};
/// let config = Config::builder("demo", "alice").build()?;
/// let req = WhereNow::new().user_id("bob/1").to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/presence/sub-key/demo/uuid/bob%2F1");
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct WhereNow {
    user_id: Option<String>,
}

impl WhereNow {
    /// where_now for the caller's own user id.
    ///
    /// ```
    /// let mine = presence_proto::WhereNow::new();
    /// # let _ = mine;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks about another user id.
    ///
    /// ```
    /// let bobs = presence_proto::WhereNow::new().user_id("bob");
    /// # let _ = bobs;
    /// ```
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }
}

/// The result of [`WhereNow`].
///
/// ```
/// use presence_proto::{Operation, WhereNow};
/// let body = br#"{"status":200,"payload":{"channels":["lobby"]}}"#;
/// let result = WhereNow::new().parse(http::Response::new(&body[..]))?;
/// assert_eq!(result.channels, ["lobby"]);
/// assert_eq!(serde_json::to_string(&result)?, r#"{"channels":["lobby"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WhereNowResult {
    /// Channels the user is present on, sorted.
    pub channels: Vec<String>,
}

impl Operation for WhereNow {
    type Output = WhereNowResult;
    const NAME: &'static str = "where_now";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        let user_id = self.user_id.as_deref().unwrap_or(config.user_id());
        names::validate_user_id("user_id", user_id)?;
        let mut parts = Parts::presence(config);
        parts.literal("/uuid");
        parts.segment(user_id);
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<WhereNowResult, Error> {
        let body: Body = decode(&response)?;
        let Some(payload) = body.payload else {
            return Err(shape_error(&response, "where_now reply has no `payload`"));
        };
        let mut channels = payload.channels;
        channels.sort();
        Ok(WhereNowResult { channels })
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
    payload: Option<Payload>,
}
envelope!(Body);

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    channels: Vec<String>,
}
