//! leave: announce that the caller left channels/groups, at once.

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{Flag, Status, decode, envelope, lenient_status};
use crate::stamp::Stamp;

/// Removes the caller from channels and groups immediately (their state there is deleted).
///
/// ```
/// use presence_proto::{Config, Leave, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let req = Leave::new().groups(["g1", "g2"]).to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v2/presence/sub-key/demo/channel/,/leave");
/// assert!(req.uri().query().unwrap().starts_with("channel-group=g1%2Cg2&"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Leave {
    channels: Names,
    groups: Names,
}

impl Leave {
    /// An empty leave; add channels or groups.
    ///
    /// ```
    /// let op = presence_proto::Leave::new().channels(["lobby"]);
    /// # let _ = op;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds channels.
    ///
    /// ```
    /// let op = presence_proto::Leave::new().channels(["lobby", "kitchen"]);
    /// # let _ = op;
    /// ```
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups.
    ///
    /// ```
    /// let op = presence_proto::Leave::new().groups(["friends"]);
    /// # let _ = op;
    /// ```
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }
}

/// The result of [`Leave`]: the service's acknowledgement.
///
/// ```
/// use presence_proto::{Leave, LeaveResult, Operation};
/// let body = br#"{"status": 200, "action": "leave", "message": "OK", "service": "Presence"}"#;
/// let left = Leave::new().channels(["lobby"]).parse(http::Response::new(&body[..]))?;
/// assert_eq!(left.action.as_deref(), Some("leave"));
/// assert_eq!(serde_json::to_string(&left)?, r#"{"action":"leave"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LeaveResult {
    /// The reply's `action` (`"leave"` from the service), when it sent one as a string.
    pub action: Option<String>,
}

#[derive(serde::Deserialize)]
struct LeaveBody {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
    /// Read leniently: a non-string `action` is dropped, never an error.
    #[serde(default)]
    action: Option<serde_json::Value>,
}
envelope!(LeaveBody);

impl Operation for Leave {
    type Output = LeaveResult;
    const NAME: &'static str = "leave";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        names::require_any(&self.channels, &self.groups)?;
        let mut parts = Parts::presence(config);
        parts.literal("/channel/");
        names::channel_segment(&mut parts.path, &self.channels);
        parts.literal("/leave");
        if let Some(groups) = names::group_value(&self.groups) {
            parts.param("channel-group", groups);
        }
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<LeaveResult, Error> {
        let body: LeaveBody = decode(&response)?;
        let action = match body.action {
            Some(serde_json::Value::String(action)) => Some(action),
            _ => None,
        };
        Ok(LeaveResult { action })
    }
}
