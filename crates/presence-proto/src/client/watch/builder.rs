//! [`WatchBuilder`]: what to watch and how, defined once for every driver.

use serde::Serialize;

use super::kind::{WatchCommand, WatchKind};
use crate::client::driver::Flavour;
use crate::client::handle::Client;
use crate::config::Config;
use crate::error::Error;
use crate::watch::{RosterItem, WatchItem, WatchOptions};

impl<F> Client<F> {
    /// Watches presence events (join, leave, timeout, state-change, interval) of channels and
    /// groups over the subscribe long-poll; `start` it for a stream (async) or an iterator
    /// (blocking) of [`WatchItem`](crate::WatchItem)s.
    ///
    /// By default the watcher is present on what it watches (each poll counts as a
    /// heartbeat: no separate heartbeat loop) and leaves when stopped; see
    /// [`observe`](WatchBuilder::observe) and [`suppress_leave`](WatchBuilder::suppress_leave).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::WatchItem;
    /// let mut watch = client.watch().channels(["lobby"]).start()?;
    /// while let Some(item) = watch.next_item().await {
    ///     if let WatchItem::Event(event) = item {
    ///         println!("{} {} {:?}", event.channel, event.action_name(), event.uuid());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(&self) -> WatchBuilder<F> {
        self.watch_as()
    }

    /// A live roster of channels: a watch whose events keep a
    /// [`Roster`](crate::Roster) current, starting from a here_now snapshot and reconciled
    /// with a fresh here_now after `here_now_refresh` or a gap. `start` it for a stream or
    /// iterator of [`RosterItem`]s (changes, and a snapshot of each channel after each batch).
    /// Observer by default (present nowhere); `.observe(false)` to be present too.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::RosterItem;
    /// let mut roster = client.roster().channels(["lobby"]).start()?;
    /// while let Some(item) = roster.next_item().await {
    ///     if let RosterItem::Snapshot(snapshot) = item {
    ///         println!("{}: {} present {:?}", snapshot.channel, snapshot.occupancy.unwrap_or(0), snapshot.uuids);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn roster(&self) -> WatchBuilder<F, RosterItem> {
        let builder = self.watch_as();
        WatchBuilder {
            options: builder.options.observe(true),
            ..builder
        }
    }

    fn watch_as<I>(&self) -> WatchBuilder<F, I> {
        WatchBuilder {
            client: self.clone(),
            config: None,
            channels: Vec::new(),
            groups: Vec::new(),
            state: Vec::new(),
            deferred: None,
            options: WatchOptions::new(),
            jitter_seed: None,
            _items: std::marker::PhantomData,
        }
    }
}

/// Builder returned by [`Client::watch`].
///
/// ```
/// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
/// let builder = client
///     .watch()
///     .channels(["lobby"])
///     .groups(["friends"])
///     .observe(true);
/// # drop(builder);
/// # }
/// ```
#[must_use = "nothing is watched until `start` is called"]
#[derive(Debug)]
pub struct WatchBuilder<F, I = WatchItem> {
    pub(crate) client: Client<F>,
    config: Option<Config>,
    channels: Vec<String>,
    groups: Vec<String>,
    state: Vec<(String, serde_json::Value)>,
    deferred: Option<Error>,
    options: WatchOptions,
    jitter_seed: Option<u64>,
    _items: std::marker::PhantomData<fn() -> I>,
}

impl<F: Flavour, I: WatchKind> WatchBuilder<F, I> {
    /// Channels to watch (added to any given before).
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().channels(["a", "b"]);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn channels<C: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: C) -> Self {
        self.channels.extend(channels.into_iter().map(Into::into));
        self
    }

    /// Channel groups to watch: events of every member channel (added to any given before).
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().groups(["friends"]);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn groups<G: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: G) -> Self {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// Observer mode: events only, present nowhere, no leave (default `false`).
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().channels(["lobby"]).observe(true);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn observe(mut self, observe: bool) -> Self {
        self.options = self.options.observe(observe);
        self
    }

    /// No leave when the watch stops (present mode): the service times the user out.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().channels(["lobby"]).suppress_leave(true);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn suppress_leave(mut self, suppress: bool) -> Self {
        self.options = self.options.suppress_leave(suppress);
        self
    }

    /// The presence timeout the polls announce (present mode; default 300 s).
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().channels(["lobby"]).presence_timeout(60);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.options = self.options.presence_timeout(seconds);
        self
    }

    /// State the polls carry for one channel or group (present mode). A value that does not
    /// serialise makes `start` fail.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().channels(["lobby"]).state("lobby", &serde_json::json!({"mood": "happy"}));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn state<T: Serialize + ?Sized>(mut self, name: impl Into<String>, state: &T) -> Self {
        match serde_json::to_value(state) {
            Ok(value) => self.state.push((name.into(), value)),
            Err(e) => {
                self.deferred.get_or_insert(Error::StateSerialize(Some(e)));
            }
        }
        self
    }

    /// All options at once (replacing observe, suppress_leave and presence_timeout set
    /// before). The jitter seed is drawn from the driver unless
    /// [`jitter_seed`](Self::jitter_seed) is set.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// use std::time::Duration;
    /// let options = presence_proto::WatchOptions::new().max_backoff(Duration::from_secs(10));
    /// let builder = client.watch().channels(["lobby"]).options(options);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: WatchOptions) -> Self {
        self.options = options;
        self
    }

    /// A fixed seed for the backoff jitter, for reproducible runs.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) {
    /// let builder = client.watch().channels(["lobby"]).jitter_seed(3);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Watches as another user (or keyset, or auth token), over this client's driver.
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(client: presence_proto::Client<F>) -> Result<(), presence_proto::Error> {
    /// let watcher = client.config().to_builder().user_id("watcher").build()?;
    /// let builder = client.watch().config(watcher).channels(["lobby"]);
    /// # drop(builder);
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The machine to run and who runs it; fails before anything is sent on bad input.
    pub(crate) fn into_machine(self) -> Result<(Client<F>, I::Machine), Error> {
        if let Some(error) = self.deferred {
            return Err(error);
        }
        let seed = self
            .jitter_seed
            .unwrap_or_else(|| self.client.driver().environment().random());
        let client = match self.config {
            Some(config) => self.client.with_config(config),
            None => self.client,
        };
        // Check the names now: a watch that could never send its first poll fails at once.
        crate::ops::subscribe::Subscribe::new()
            .channels(self.channels.iter().cloned())
            .groups(self.groups.iter().cloned())
            .check()?;
        let mut machine = I::machine(self.options.jitter_seed(seed));
        for (name, value) in self.state {
            I::command(&mut machine, WatchCommand::SetState(name, value));
        }
        I::command(&mut machine, WatchCommand::Add(self.channels, self.groups));
        Ok((client, machine))
    }
}
