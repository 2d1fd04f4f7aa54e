//! Channel-group registration (spec §11): groups must exist before presence on them means
//! anything.

use serde::Deserialize;

use crate::config::Config;
use crate::error::Error;
use crate::names::{self, Names};
use crate::ops::Operation;
use crate::request::Parts;
use crate::response::{AckBody, Flag, Status, decode, envelope, lenient_status, shape_error};
use crate::stamp::Stamp;

fn validate_group(group: &str) -> Result<(), Error> {
    names::validate(&Names::new(), &Names::from([group.to_owned()]))
}

fn channel_list(channels: &Names) -> Result<String, Error> {
    if channels.is_empty() {
        return Err(Error::argument(
            "channels",
            "at least one channel is required",
        ));
    }
    names::validate(channels, &Names::new())?;
    if let Some(bad) = channels.iter().find(|c| c.contains(',')) {
        return Err(Error::argument(
            "channels",
            format!("channel name {bad:?} contains ','"),
        ));
    }
    Ok(names::group_value(channels).unwrap_or_default())
}

/// Adds channels to a channel group (creating the group).
///
/// ```
/// use presence_proto::{AddChannelsToGroup, Config, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let req = AddChannelsToGroup::new("g1", ["a", "b"]).to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v1/channel-registration/sub-key/demo/channel-group/g1");
/// assert!(req.uri().query().unwrap().starts_with("add=a%2Cb&"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AddChannelsToGroup {
    group: String,
    channels: Names,
}

impl AddChannelsToGroup {
    /// Adds `channels` to `group`.
    ///
    /// ```
    /// let op = presence_proto::AddChannelsToGroup::new("friends", ["alice-room", "bob-room"]);
    /// # let _ = op;
    /// ```
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(
        group: impl Into<String>,
        channels: I,
    ) -> Self {
        let mut set = Names::new();
        names::extend(&mut set, channels);
        Self {
            group: group.into(),
            channels: set,
        }
    }
}

impl Operation for AddChannelsToGroup {
    type Output = ();
    const NAME: &'static str = "add_channels_to_group";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        validate_group(&self.group)?;
        let mut parts = Parts::channel_registration(config, &self.group);
        parts.param("add", channel_list(&self.channels)?);
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        decode::<AckBody>(&response).map(|_| ())
    }
}

/// Removes channels from a channel group.
///
/// ```
/// use presence_proto::{Config, Operation, RemoveChannelsFromGroup, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let req = RemoveChannelsFromGroup::new("g1", ["a"]).to_request(&config, &Stamp::new(0, ""))?;
/// assert!(req.uri().query().unwrap().starts_with("pnsdk=") && req.uri().query().unwrap().contains("remove=a"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RemoveChannelsFromGroup {
    group: String,
    channels: Names,
}

impl RemoveChannelsFromGroup {
    /// Removes `channels` from `group`.
    ///
    /// ```
    /// let op = presence_proto::RemoveChannelsFromGroup::new("friends", ["bob-room"]);
    /// # let _ = op;
    /// ```
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(
        group: impl Into<String>,
        channels: I,
    ) -> Self {
        let mut set = Names::new();
        names::extend(&mut set, channels);
        Self {
            group: group.into(),
            channels: set,
        }
    }
}

impl Operation for RemoveChannelsFromGroup {
    type Output = ();
    const NAME: &'static str = "remove_channels_from_group";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        validate_group(&self.group)?;
        let mut parts = Parts::channel_registration(config, &self.group);
        parts.param("remove", channel_list(&self.channels)?);
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        decode::<AckBody>(&response).map(|_| ())
    }
}

/// Lists the channels of a channel group.
///
/// ```
/// use presence_proto::{Config, ListGroupChannels, Operation, Stamp};
/// let op = ListGroupChannels::new("g1");
/// let body = br#"{"error":false,"payload":{"channels":["b","a"],"group":"g1"},"service":"channel-registry","status":200}"#;
/// let listed = op.parse(http::Response::builder().status(200).body(&body[..])?)?;
/// assert_eq!(listed.channels, ["a", "b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ListGroupChannels {
    group: String,
}

impl ListGroupChannels {
    /// Lists `group`'s channels.
    ///
    /// ```
    /// let op = presence_proto::ListGroupChannels::new("friends");
    /// # let _ = op;
    /// ```
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
        }
    }
}

/// The result of [`ListGroupChannels`].
///
/// ```
/// use presence_proto::{ListGroupChannels, Operation};
/// let body = br#"{"status":200,"payload":{"group":"friends","channels":["a","b"]},"service":"channel-registry","error":false}"#;
/// let listed = ListGroupChannels::new("friends").parse(http::Response::new(&body[..]))?;
/// assert_eq!(serde_json::to_string(&listed)?, r#"{"group":"friends","channels":["a","b"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct GroupChannels {
    /// The group's name.
    pub group: String,
    /// Its channels, sorted.
    pub channels: Vec<String>,
}

impl Operation for ListGroupChannels {
    type Output = GroupChannels;
    const NAME: &'static str = "list_group_channels";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        validate_group(&self.group)?;
        Parts::channel_registration(config, &self.group).finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<GroupChannels, Error> {
        let body: ListBody = decode(&response)?;
        let Some(payload) = body.payload else {
            return Err(shape_error(
                &response,
                "channel group listing has no `payload`",
            ));
        };
        let mut channels = payload.channels;
        channels.sort();
        Ok(GroupChannels {
            group: payload.group.unwrap_or_else(|| self.group.clone()),
            channels,
        })
    }
}

/// Deletes a channel group.
///
/// ```
/// use presence_proto::{Config, DeleteGroup, Operation, Stamp};
/// let config = Config::builder("demo", "alice").build()?;
/// let req = DeleteGroup::new("g1").to_request(&config, &Stamp::new(0, ""))?;
/// assert_eq!(req.uri().path(), "/v1/channel-registration/sub-key/demo/channel-group/g1/remove");
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct DeleteGroup {
    group: String,
}

impl DeleteGroup {
    /// Deletes `group`.
    ///
    /// ```
    /// let op = presence_proto::DeleteGroup::new("friends");
    /// # let _ = op;
    /// ```
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
        }
    }
}

impl Operation for DeleteGroup {
    type Output = ();
    const NAME: &'static str = "delete_group";

    fn to_request(&self, config: &Config, stamp: &Stamp) -> Result<http::Request<Vec<u8>>, Error> {
        validate_group(&self.group)?;
        let mut parts = Parts::channel_registration(config, &self.group);
        parts.literal("/remove");
        parts.finish(config, stamp)
    }

    fn parse(&self, response: http::Response<&[u8]>) -> Result<(), Error> {
        decode::<AckBody>(&response).map(|_| ())
    }
}

#[derive(Deserialize)]
struct ListBody {
    #[serde(default, deserialize_with = "lenient_status")]
    status: Option<Status>,
    #[serde(default)]
    error: Flag,
    payload: Option<ListPayload>,
}
envelope!(ListBody);

#[derive(Deserialize)]
struct ListPayload {
    #[serde(default)]
    channels: Vec<String>,
    group: Option<String>,
}
