//! [`Call`]: one fluent builder for every operation and driver. Its setters forward to the
//! operation's own; it is awaited (async drivers) or ended with
//! `.call()` (blocking drivers). Adding an operation means a
//! constructor on [`Client`] and its setters here, nothing in any adapter.

use std::marker::PhantomData;

use serde::Serialize;

use super::handle::Client;
use crate::error::Error;
use crate::ops::channel_group::{
    AddChannelsToGroup, DeleteGroup, ListGroupChannels, RemoveChannelsFromGroup,
};
use crate::ops::get_state::GetState;
use crate::ops::heartbeat::Heartbeat;
use crate::ops::here_now::HereNow;
use crate::ops::leave::Leave;
use crate::ops::set_state::SetState;
use crate::ops::where_now::WhereNow;

/// An operation waiting to be sent: set options, then `.await` it (async drivers) or end it
/// with `.call()` (blocking drivers).
///
/// `'a` bounds what the operation borrows (only a [`SetState`] with a borrowed state value
/// borrows anything); calls made by [`Client`] are `'static` and can be spawned.
///
/// ```
/// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
/// let pending = client.here_now().channels(["lobby"]).include_state(true);
/// let here = pending.await?;
/// # let _ = here;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited or `.call()`ed"]
pub struct Call<'a, F, O> {
    pub(crate) client: Client<F>,
    pub(crate) op: O,
    /// An input error found while building (e.g. state that does not serialise), reported when
    /// the call is sent so that the chain stays fluent.
    pub(crate) deferred: Option<Error>,
    pub(crate) _borrows: PhantomData<&'a ()>,
}

impl<F, O> Call<'_, F, O> {
    /// Wraps any operation value, for operations without a dedicated constructor.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::{Call, WhereNow};
    /// let here = Call::new(&client, WhereNow::new().user_id("bob")).await?;
    /// # let _ = here;
    /// # Ok(()) }
    /// ```
    pub fn new(client: &Client<F>, op: O) -> Self {
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
    /// # fn demo<F>(client: presence_proto::Client<F>) {
    /// let pending = client.here_now().channels(["lobby"]);
    /// assert!(!pending.operation().is_global());
    /// # }
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

impl<F, O: std::fmt::Debug> std::fmt::Debug for Call<'_, F, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("op", &self.op)
            .field("config", self.client.config())
            .finish_non_exhaustive()
    }
}

impl<F> Client<F> {
    /// Who is present on channels and/or channel groups (or, with neither, on the whole
    /// keyset: "global here now").
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let here = client.here_now().channels(["a", "b"]).include_state(true).await?;
    /// for channel in &here.channels {
    ///     println!("{}: {} present", channel.name, channel.occupancy);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn here_now(&self) -> Call<'static, F, HereNow> {
        Call::new(self, HereNow::new())
    }

    /// The channels a user is present on (default: this client's user id).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let mine = client.where_now().await?;
    /// let bobs = client.where_now().user_id("bob").await?;
    /// # let _ = (mine, bobs);
    /// # Ok(()) }
    /// ```
    pub fn where_now(&self) -> Call<'static, F, WhereNow> {
        Call::new(self, WhereNow::new())
    }

    /// Announces this client's user on channels/groups (default presence timeout 300 s),
    /// optionally carrying state per channel or group.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// client
    ///     .heartbeat()
    ///     .channels(["lobby"])
    ///     .presence_timeout(60)
    ///     .state("lobby", &serde_json::json!({"mood": "happy"}))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn heartbeat(&self) -> Call<'static, F, Heartbeat> {
        Call::new(self, Heartbeat::new())
    }

    /// Removes this client's user from channels/groups at once (its state there is deleted).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// client.leave().channels(["lobby"]).groups(["friends"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn leave(&self) -> Call<'static, F, Leave> {
        Call::new(self, Leave::new())
    }

    /// Stores a user's state (any value serialising to a JSON object) on channels/groups.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Mood { mood: String }
    /// let mine = Mood { mood: "busy".into() };
    /// let stored = client.set_state().channels(["lobby"]).state(&mine).await?;
    /// println!("stored {}", stored.state);
    /// # Ok(()) }
    /// ```
    pub fn set_state(&self) -> Call<'static, F, SetState> {
        Call::new(self, SetState::new())
    }

    /// Reads a user's state on channels/groups (default: this client's user id).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let state = client.get_state().channels(["lobby"]).user_id("bob").await?;
    /// println!("bob: {:?}", state.state("lobby"));
    /// # Ok(()) }
    /// ```
    pub fn get_state(&self) -> Call<'static, F, GetState> {
        Call::new(self, GetState::new())
    }

    /// Adds channels to a channel group (creating it).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// client.add_channels_to_group("friends", ["alice-room", "bob-room"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn add_channels_to_group<I, S>(
        &self,
        group: impl Into<String>,
        channels: I,
    ) -> Call<'static, F, AddChannelsToGroup>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Call::new(self, AddChannelsToGroup::new(group, channels))
    }

    /// Removes channels from a channel group.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// client.remove_channels_from_group("friends", ["bob-room"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn remove_channels_from_group<I, S>(
        &self,
        group: impl Into<String>,
        channels: I,
    ) -> Call<'static, F, RemoveChannelsFromGroup>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Call::new(self, RemoveChannelsFromGroup::new(group, channels))
    }

    /// Lists the channels of a channel group.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let listed = client.list_group_channels("friends").await?;
    /// println!("{:?}", listed.channels);
    /// # Ok(()) }
    /// ```
    pub fn list_group_channels(
        &self,
        group: impl Into<String>,
    ) -> Call<'static, F, ListGroupChannels> {
        Call::new(self, ListGroupChannels::new(group))
    }

    /// Deletes a channel group.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// client.delete_group("friends").await?;
    /// # Ok(()) }
    /// ```
    pub fn delete_group(&self, group: impl Into<String>) -> Call<'static, F, DeleteGroup> {
        Call::new(self, DeleteGroup::new(group))
    }
}

/// Setters shared by the operations that take channels and groups.
macro_rules! channels_and_groups {
    ($doc_call:literal) => {
        /// Adds channels (duplicates are dropped; order does not matter).
        ///
        /// ```
        /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
        #[doc = concat!("client.", $doc_call, ".channels([\"a\", \"b\"]).await?;")]
        /// # Ok(()) }
        /// ```
        pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(self, channels: I) -> Self {
            self.map(|op| op.channels(channels))
        }

        /// Adds channel groups.
        ///
        /// ```
        /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
        #[doc = concat!("client.", $doc_call, ".groups([\"friends\"]).await?;")]
        /// # Ok(()) }
        /// ```
        pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(self, groups: I) -> Self {
            self.map(|op| op.groups(groups))
        }
    };
}

impl<F> Call<'_, F, HereNow> {
    channels_and_groups!("here_now()");

    /// Whether to list occupants' user ids (default `true`; `false`: occupancy only).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let counts = client.here_now().channels(["lobby"]).include_user_ids(false).await?;
    /// assert!(!counts.channels.iter().any(|c| c.occupants_listed));
    /// # Ok(()) }
    /// ```
    pub fn include_user_ids(self, include: bool) -> Self {
        self.map(|op| op.include_user_ids(include))
    }

    /// Whether to include each occupant's state (default `false`).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let here = client.here_now().channels(["lobby"]).include_state(true).await?;
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
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let first_page = client.here_now().channels(["lobby"]).limit(50).await?;
    /// # let _ = first_page;
    /// # Ok(()) }
    /// ```
    pub fn limit(self, limit: u32) -> Self {
        self.map(|op| op.limit(limit))
    }

    /// Zero-based index of the first occupant listed per channel (default 0).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let second_page = client.here_now().channels(["lobby"]).limit(50).offset(50).await?;
    /// # let _ = second_page;
    /// # Ok(()) }
    /// ```
    pub fn offset(self, offset: u32) -> Self {
        self.map(|op| op.offset(offset))
    }
}

impl<F> Call<'_, F, WhereNow> {
    /// Asks about another user id (default: this client's).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let bob = client.where_now().user_id("bob").await?;
    /// # let _ = bob;
    /// # Ok(()) }
    /// ```
    pub fn user_id(self, user_id: impl Into<String>) -> Self {
        self.map(|op| op.user_id(user_id))
    }
}

impl<F> Call<'_, F, Heartbeat> {
    channels_and_groups!("heartbeat()");

    /// Seconds without a heartbeat after which the service times the user out (default 300).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// client.heartbeat().channels(["lobby"]).presence_timeout(60).await?;
    /// # Ok(()) }
    /// ```
    pub fn presence_timeout(self, seconds: u32) -> Self {
        self.map(|op| op.presence_timeout(seconds))
    }

    /// Carries state for one channel or group (keyed by its name). A value that does not
    /// serialise is reported when the builder is awaited.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Mood { mood: &'static str }
    /// client.heartbeat().channels(["lobby"]).state("lobby", &Mood { mood: "happy" }).await?;
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
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let state = serde_json::json!({"mood": "happy"});
    /// client.heartbeat().channels(["lobby"]).state_value("lobby", state).await?;
    /// # Ok(()) }
    /// ```
    pub fn state_value(self, name: impl Into<String>, state: serde_json::Value) -> Self {
        self.map(|op| op.state_value(name, state))
    }
}

impl<F> Call<'_, F, Leave> {
    channels_and_groups!("leave()");
}

impl<F> Call<'_, F, GetState> {
    channels_and_groups!("get_state()");

    /// Reads another user's state (default: this client's).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let bobs = client.get_state().channels(["lobby"]).user_id("bob").await?;
    /// # let _ = bobs;
    /// # Ok(()) }
    /// ```
    pub fn user_id(self, user_id: impl Into<String>) -> Self {
        self.map(|op| op.user_id(user_id))
    }
}

impl<'a, F, T> Call<'a, F, SetState<T>> {
    channels_and_groups!("set_state().state(serde_json::json!({\"k\": 1}))");

    /// Sets another user's state (default: this client's).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let state = serde_json::json!({"role": "moderator"});
    /// client.set_state().channels(["lobby"]).user_id("bob").state(state).await?;
    /// # Ok(()) }
    /// ```
    pub fn user_id(self, user_id: impl Into<String>) -> Self {
        self.map(|op| op.user_id(user_id))
    }

    /// The state to store: any value that serialises to a JSON object, owned or borrowed.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Profile { name: String, age: u32 }
    /// let me = Profile { name: "Alice".into(), age: 30 };
    /// client.set_state().channels(["lobby"]).state(&me).await?;
    /// # Ok(()) }
    /// ```
    pub fn state<'b, U>(self, state: U) -> Call<'b, F, SetState<U>>
    where
        U: Serialize + 'b,
        'a: 'b,
    {
        Call {
            client: self.client,
            op: self.op.state(state),
            deferred: self.deferred,
            _borrows: PhantomData,
        }
    }
}
