//! Fluent request builders that end in a blocking `.call()`: thin wrappers around the core's
//! operation values.
//!
//! A [`RequestBuilder`] holds a client handle and one `presence_proto` operation; its setters
//! forward to the operation's own, and [`RequestBuilder::call`] calls [`Client::execute`]. No
//! protocol logic lives here, and adding an operation needs only a constructor on [`Client`]
//! and its setters.

use std::marker::PhantomData;

use presence_proto::{
    AddChannelsToGroup, DeleteGroup, Error, GetState, Heartbeat, HereNow, Leave, ListGroupChannels,
    Operation, RemoveChannelsFromGroup, SetState, WhereNow,
};
use serde::Serialize;

use crate::Client;

/// An operation waiting to be sent: set options, then `.call()` it.
///
/// `'a` bounds what the operation borrows (only [`SetStateBuilder`] with a borrowed state
/// value borrows anything); builders from [`Client`] are `'static` and can be moved to other
/// threads.
///
/// ```no_run
/// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
/// let pending = client.here_now().channels(["lobby"]).include_state(true);
/// let here = std::thread::spawn(move || pending.call()).join().expect("thread panicked")?;
/// # let _ = here;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is called"]
pub struct RequestBuilder<'a, O> {
    client: Client,
    op: O,
    /// An input error found while building (e.g. state that does not serialise), reported by
    /// [`RequestBuilder::call`] so that the chain stays fluent.
    deferred: Option<Error>,
    _borrows: PhantomData<&'a ()>,
}

/// Builder returned by [`Client::here_now`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::HereNowBuilder = client.here_now().channels(["lobby"]);
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type HereNowBuilder = RequestBuilder<'static, HereNow>;
/// Builder returned by [`Client::where_now`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::WhereNowBuilder = client.where_now().user_id("bob");
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type WhereNowBuilder = RequestBuilder<'static, WhereNow>;
/// Builder returned by [`Client::heartbeat`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::HeartbeatBuilder = client.heartbeat().channels(["lobby"]);
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type HeartbeatBuilder = RequestBuilder<'static, Heartbeat>;
/// Builder returned by [`Client::leave`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::LeaveBuilder = client.leave().channels(["lobby"]);
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type LeaveBuilder = RequestBuilder<'static, Leave>;
/// Builder returned by [`Client::set_state`] (`T`: the state value once set).
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::SetStateBuilder = client.set_state().channels(["lobby"]).state(serde_json::json!({"a": 1}));
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type SetStateBuilder<'a, T = serde_json::Value> = RequestBuilder<'a, SetState<T>>;
/// Builder returned by [`Client::get_state`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::GetStateBuilder = client.get_state().channels(["lobby"]);
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type GetStateBuilder = RequestBuilder<'static, GetState>;
/// Builder returned by [`Client::add_channels_to_group`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::AddChannelsToGroupBuilder = client.add_channels_to_group("g", ["a"]);
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type AddChannelsToGroupBuilder = RequestBuilder<'static, AddChannelsToGroup>;
/// Builder returned by [`Client::remove_channels_from_group`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::RemoveChannelsFromGroupBuilder = client.remove_channels_from_group("g", ["a"]);
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type RemoveChannelsFromGroupBuilder = RequestBuilder<'static, RemoveChannelsFromGroup>;
/// Builder returned by [`Client::list_group_channels`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::ListGroupChannelsBuilder = client.list_group_channels("g");
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type ListGroupChannelsBuilder = RequestBuilder<'static, ListGroupChannels>;
/// Builder returned by [`Client::delete_group`].
///
/// ```
/// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
/// let pending: presence_blocking::DeleteGroupBuilder = client.delete_group("g");
/// # drop(pending);
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub type DeleteGroupBuilder = RequestBuilder<'static, DeleteGroup>;

impl<O> RequestBuilder<'_, O> {
    /// Wraps any operation value, for operations without a dedicated constructor.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use presence_blocking::{RequestBuilder, proto::WhereNow};
    /// let here = RequestBuilder::new(&client, WhereNow::new().user_id("bob")).call()?;
    /// # let _ = here;
    /// # Ok(()) }
    /// ```
    pub fn new(client: &Client, op: O) -> Self {
        Self {
            client: client.clone(),
            op,
            deferred: None,
            _borrows: PhantomData,
        }
    }

    /// The operation as built so far.
    ///
    /// ```
    /// # let client = presence_blocking::Client::new(presence_blocking::Config::builder("k", "u").build()?)?;
    /// let pending = client.here_now().channels(["lobby"]);
    /// assert!(!pending.operation().is_global());
    /// # Ok::<(), presence_blocking::Error>(())
    /// ```
    pub fn operation(&self) -> &O {
        &self.op
    }

    /// Applies `f` to the operation (for setters this builder does not mirror).
    fn map(self, f: impl FnOnce(O) -> O) -> Self {
        Self {
            op: f(self.op),
            ..self
        }
    }
}

impl<O: Operation> RequestBuilder<'_, O> {
    /// Sends the request and blocks until its typed result (or error) is there.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let here = client.here_now().channels(["lobby"]).call()?;
    /// println!("{} present", here.total_occupancy);
    /// # Ok(()) }
    /// ```
    pub fn call(self) -> Result<O::Output, Error> {
        if let Some(error) = self.deferred {
            return Err(error);
        }
        self.client.execute(&self.op)
    }
}

impl<O: std::fmt::Debug> std::fmt::Debug for RequestBuilder<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("op", &self.op)
            .field("config", self.client.config())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Who is present on channels and/or channel groups (or, with neither, on the whole
    /// keyset: "global here now").
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let here = client.here_now().channels(["a", "b"]).include_state(true).call()?;
    /// for channel in &here.channels {
    ///     println!("{}: {} present", channel.name, channel.occupancy);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn here_now(&self) -> HereNowBuilder {
        RequestBuilder::new(self, HereNow::new())
    }

    /// The channels a user is present on (default: this client's user id).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let mine = client.where_now().call()?;
    /// let bobs = client.where_now().user_id("bob").call()?;
    /// # let _ = (mine, bobs);
    /// # Ok(()) }
    /// ```
    pub fn where_now(&self) -> WhereNowBuilder {
        RequestBuilder::new(self, WhereNow::new())
    }

    /// Announces this client's user on channels/groups (default presence timeout 300 s),
    /// optionally carrying state per channel or group.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// client
    ///     .heartbeat()
    ///     .channels(["lobby"])
    ///     .presence_timeout(60)
    ///     .state("lobby", &serde_json::json!({"mood": "happy"}))
    ///     .call()?;
    /// # Ok(()) }
    /// ```
    pub fn heartbeat(&self) -> HeartbeatBuilder {
        RequestBuilder::new(self, Heartbeat::new())
    }

    /// Removes this client's user from channels/groups at once (its state there is deleted).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// client.leave().channels(["lobby"]).groups(["friends"]).call()?;
    /// # Ok(()) }
    /// ```
    pub fn leave(&self) -> LeaveBuilder {
        RequestBuilder::new(self, Leave::new())
    }

    /// Stores a user's state (any value serialising to a JSON object) on channels/groups.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Mood { mood: String }
    /// let mine = Mood { mood: "busy".into() };
    /// let stored = client.set_state().channels(["lobby"]).state(&mine).call()?;
    /// println!("stored {}", stored.state);
    /// # Ok(()) }
    /// ```
    pub fn set_state(&self) -> SetStateBuilder<'static> {
        RequestBuilder::new(self, SetState::new())
    }

    /// Reads a user's state on channels/groups (default: this client's user id).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let state = client.get_state().channels(["lobby"]).user_id("bob").call()?;
    /// println!("bob: {:?}", state.state("lobby"));
    /// # Ok(()) }
    /// ```
    pub fn get_state(&self) -> GetStateBuilder {
        RequestBuilder::new(self, GetState::new())
    }

    /// Adds channels to a channel group (creating it).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// client.add_channels_to_group("friends", ["alice-room", "bob-room"]).call()?;
    /// # Ok(()) }
    /// ```
    pub fn add_channels_to_group<I, S>(
        &self,
        group: impl Into<String>,
        channels: I,
    ) -> AddChannelsToGroupBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequestBuilder::new(self, AddChannelsToGroup::new(group, channels))
    }

    /// Removes channels from a channel group.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// client.remove_channels_from_group("friends", ["bob-room"]).call()?;
    /// # Ok(()) }
    /// ```
    pub fn remove_channels_from_group<I, S>(
        &self,
        group: impl Into<String>,
        channels: I,
    ) -> RemoveChannelsFromGroupBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequestBuilder::new(self, RemoveChannelsFromGroup::new(group, channels))
    }

    /// Lists the channels of a channel group.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let listed = client.list_group_channels("friends").call()?;
    /// println!("{:?}", listed.channels);
    /// # Ok(()) }
    /// ```
    pub fn list_group_channels(&self, group: impl Into<String>) -> ListGroupChannelsBuilder {
        RequestBuilder::new(self, ListGroupChannels::new(group))
    }

    /// Deletes a channel group.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// client.delete_group("friends").call()?;
    /// # Ok(()) }
    /// ```
    pub fn delete_group(&self, group: impl Into<String>) -> DeleteGroupBuilder {
        RequestBuilder::new(self, DeleteGroup::new(group))
    }
}

/// Setters shared by the operations that take channels and groups.
macro_rules! channels_and_groups {
    ($doc_call:literal) => {
        /// Adds channels (duplicates are dropped; order does not matter).
        ///
        /// ```no_run
        /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
        #[doc = concat!("client.", $doc_call, ".channels([\"a\", \"b\"]).call()?;")]
        /// # Ok(()) }
        /// ```
        pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(self, channels: I) -> Self {
            self.map(|op| op.channels(channels))
        }

        /// Adds channel groups.
        ///
        /// ```no_run
        /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
        #[doc = concat!("client.", $doc_call, ".groups([\"friends\"]).call()?;")]
        /// # Ok(()) }
        /// ```
        pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(self, groups: I) -> Self {
            self.map(|op| op.groups(groups))
        }
    };
}

impl HereNowBuilder {
    channels_and_groups!("here_now()");

    /// Whether to list occupants' user ids (default `true`; `false`: occupancy only).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let counts = client.here_now().channels(["lobby"]).include_user_ids(false).call()?;
    /// assert!(!counts.channels.iter().any(|c| c.occupants_listed));
    /// # Ok(()) }
    /// ```
    pub fn include_user_ids(self, include: bool) -> Self {
        self.map(|op| op.include_user_ids(include))
    }

    /// Whether to include each occupant's state (default `false`).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let here = client.here_now().channels(["lobby"]).include_state(true).call()?;
    /// for user in here.channels.iter().flat_map(|c| &c.occupants) {
    ///     println!("{}: {:?}", user.user_id, user.state);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn include_state(self, include: bool) -> Self {
        self.map(|op| op.include_state(include))
    }

    /// Occupants listed per channel, `0..=1000` (default 1000).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let first_page = client.here_now().channels(["lobby"]).limit(50).call()?;
    /// # let _ = first_page;
    /// # Ok(()) }
    /// ```
    pub fn limit(self, limit: u32) -> Self {
        self.map(|op| op.limit(limit))
    }

    /// Zero-based index of the first occupant listed per channel (default 0).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let second_page = client.here_now().channels(["lobby"]).limit(50).offset(50).call()?;
    /// # let _ = second_page;
    /// # Ok(()) }
    /// ```
    pub fn offset(self, offset: u32) -> Self {
        self.map(|op| op.offset(offset))
    }
}

impl WhereNowBuilder {
    /// Asks about another user id (default: this client's).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let bob = client.where_now().user_id("bob").call()?;
    /// # let _ = bob;
    /// # Ok(()) }
    /// ```
    pub fn user_id(self, user_id: impl Into<String>) -> Self {
        self.map(|op| op.user_id(user_id))
    }
}

impl HeartbeatBuilder {
    channels_and_groups!("heartbeat()");

    /// Seconds without a heartbeat after which the service times the user out (default 300).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// client.heartbeat().channels(["lobby"]).presence_timeout(60).call()?;
    /// # Ok(()) }
    /// ```
    pub fn presence_timeout(self, seconds: u32) -> Self {
        self.map(|op| op.presence_timeout(seconds))
    }

    /// Carries state for one channel or group (keyed by its name). A value that does not
    /// serialise is reported by `.call()`.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Mood { mood: &'static str }
    /// client.heartbeat().channels(["lobby"]).state("lobby", &Mood { mood: "happy" }).call()?;
    /// # Ok(()) }
    /// ```
    pub fn state<T: Serialize + ?Sized>(mut self, name: impl Into<String>, state: &T) -> Self {
        match serde_json::to_value(state) {
            Ok(value) => self.map(|op| op.state_value(name, value)),
            Err(e) => {
                self.deferred.get_or_insert(Error::StateSerialize(Some(e)));
                self
            }
        }
    }

    /// Carries an already-built JSON state for one channel or group.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let state = serde_json::json!({"mood": "happy"});
    /// client.heartbeat().channels(["lobby"]).state_value("lobby", state).call()?;
    /// # Ok(()) }
    /// ```
    pub fn state_value(self, name: impl Into<String>, state: serde_json::Value) -> Self {
        self.map(|op| op.state_value(name, state))
    }
}

impl LeaveBuilder {
    channels_and_groups!("leave()");
}

impl GetStateBuilder {
    channels_and_groups!("get_state()");

    /// Reads another user's state (default: this client's).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let bobs = client.get_state().channels(["lobby"]).user_id("bob").call()?;
    /// # let _ = bobs;
    /// # Ok(()) }
    /// ```
    pub fn user_id(self, user_id: impl Into<String>) -> Self {
        self.map(|op| op.user_id(user_id))
    }
}

impl<'a, T> SetStateBuilder<'a, T> {
    channels_and_groups!("set_state().state(serde_json::json!({\"k\": 1}))");

    /// Sets another user's state (default: this client's).
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let state = serde_json::json!({"role": "moderator"});
    /// client.set_state().channels(["lobby"]).user_id("bob").state(state).call()?;
    /// # Ok(()) }
    /// ```
    pub fn user_id(self, user_id: impl Into<String>) -> Self {
        self.map(|op| op.user_id(user_id))
    }

    /// The state to store: any value that serialises to a JSON object, owned or borrowed.
    ///
    /// ```no_run
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Profile { name: String, age: u32 }
    /// let me = Profile { name: "Alice".into(), age: 30 };
    /// client.set_state().channels(["lobby"]).state(&me).call()?;
    /// # Ok(()) }
    /// ```
    pub fn state<'b, U>(self, state: U) -> SetStateBuilder<'b, U>
    where
        U: Serialize + 'b,
        'a: 'b,
    {
        RequestBuilder {
            client: self.client,
            op: self.op.state(state),
            deferred: self.deferred,
            _borrows: PhantomData,
        }
    }
}
