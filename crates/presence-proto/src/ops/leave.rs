//! leave: announce that the caller left channels/groups, at once.

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{AckBody, decode};
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
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds channels.
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        names::extend(&mut self.channels, channels);
        self
    }

    /// Adds channel groups.
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        names::extend(&mut self.groups, groups);
        self
    }
}

impl Operation for Leave {
    type Output = ();
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

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        decode::<AckBody>(&response).map(|_| ())
    }
}
