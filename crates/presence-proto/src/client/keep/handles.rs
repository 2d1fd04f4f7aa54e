//! The keep-present handles, defined once: [`KeepPresent`] (one user) and [`KeepPresentMany`]
//! (any number behind one driver). Their commands are the same for every driver; waiting for
//! events is flavour-specific (see `run_async` / `run_blocking`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

use super::builders::{Identity, Member, seeded};
use super::machine::Input;
use super::mailbox::{Mailbox, Received};
use crate::client::driver::Flavour;
use crate::client::handle::Client;
use crate::config::Config;
use crate::error::Error;
use crate::session::{SessionCommand, SessionEvent, SessionId, SessionOptions};

/// What a driver shares with its handle: its inbox, its events and its progress.
pub(crate) struct Link {
    pub(crate) inbox: Mailbox<Input>,
    pub(crate) events: Mailbox<(SessionId, SessionEvent)>,
    pub(crate) counts: Arc<Counts>,
    pub(crate) finished: Arc<AtomicBool>,
    /// Blocking handles wait (bounded) for the driver to end when dropped.
    pub(crate) drop_wait: Option<DropWait>,
}

/// How long a dropped blocking handle waits for its driver, on the driver's clock.
pub(crate) struct DropWait {
    pub(crate) limit: std::time::Duration,
    pub(crate) now: Box<dyn Fn() -> std::time::Instant + Send + Sync>,
}

/// Users added by the handle and stopped in the driver: `len` is the difference, right after
/// `add` returns and before any `Stopped` is read.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    added: AtomicUsize,
    stopped: AtomicUsize,
}

impl Counts {
    pub(crate) fn running(&self) -> usize {
        let stopped = self.stopped.load(Ordering::Acquire);
        self.added.load(Ordering::Acquire).saturating_sub(stopped)
    }

    /// Called by the driver before it forwards an event: a `Stopped` user is no longer
    /// counted by the time anyone reads that event.
    pub(crate) fn note(&self, event: &SessionEvent) {
        if matches!(event, SessionEvent::Stopped { .. }) {
            self.stopped.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Link {
    pub(crate) fn new() -> Self {
        Self {
            inbox: Mailbox::new(),
            events: Mailbox::new(),
            counts: Arc::new(Counts::default()),
            finished: Arc::new(AtomicBool::new(false)),
            drop_wait: None,
        }
    }

    /// The driver's side of the link.
    pub(crate) fn driver_side(&self) -> DriverSide {
        DriverSide {
            inbox: self.inbox.clone(),
            events: self.events.clone(),
            counts: Arc::clone(&self.counts),
            finished: Arc::clone(&self.finished),
        }
    }

    fn send(&self, input: Input) -> Result<(), Error> {
        if self.inbox.push(input) {
            Ok(())
        } else {
            Err(Error::Closed)
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The handle is gone: everyone leaves, then the driver ends. Its events are not wanted.
        let _ = self.inbox.push(Input::Close);
        if let Some(wait) = &self.drop_wait {
            let deadline = (wait.now)() + wait.limit;
            while let Received::Item(_) = self.events.recv_blocking(Some(deadline), &*wait.now) {}
        }
        self.events.close_and_clear();
    }
}

/// The driver's end: closing it (also on a panic or a dropped task) ends the handle's waits.
pub(crate) struct DriverSide {
    pub(crate) inbox: Mailbox<Input>,
    pub(crate) events: Mailbox<(SessionId, SessionEvent)>,
    pub(crate) counts: Arc<Counts>,
    finished: Arc<AtomicBool>,
}

impl Drop for DriverSide {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Release);
        let added = self.counts.added.load(Ordering::Acquire);
        self.counts.stopped.store(added, Ordering::Release);
        self.inbox.close_and_clear();
        self.events.close();
    }
}

/// One user kept present by a background driver; from [`Client::keep_present`].
///
/// Commands (`join`, `leave`, `set_state`, …) are queued to the driver and applied at once,
/// even while a request is in flight. Events ([`SessionEvent`]) queue up until read (a handful
/// per heartbeat interval at most): read them with `next_event` or drop the handle.
///
/// `shutdown` sends one leave for everything joined and waits for it. Dropping the handle
/// does the same in the background. After a [`SessionEvent::Stopped`] (shutdown, or an error
/// that cannot heal such as 403) the driver has ended: commands are ignored and `next_event`
/// returns `None`.
///
/// ```
/// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
/// use presence_proto::SessionEvent;
/// let mut session = client.keep_present().channels(["lobby"]).start()?;
/// session.join(["kitchen"], ["friends"]);
/// while let Some(event) = session.next_event().await {
///     match event {
///         SessionEvent::Joined { channels, groups } => println!("joined {channels:?} {groups:?}"),
///         SessionEvent::HeartbeatFailed { error, .. } => eprintln!("heartbeat failed: {error}"),
///         SessionEvent::Stopped { error } => {
///             eprintln!("stopped: {error:?}");
///             break;
///         }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub struct KeepPresent<F> {
    pub(crate) client: Client<F>,
    pub(crate) config: Arc<Config>,
    pub(crate) id: SessionId,
    pub(crate) link: Link,
}

impl<F> fmt::Debug for KeepPresent<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresent")
            .field("user_id", &self.config.user_id())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<F> KeepPresent<F> {
    /// Joins channel groups only (no channels): [`Self::join`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.join_groups(["friends"]);
    /// # }
    /// ```
    pub fn join_groups<I: IntoIterator<Item = S>, S: Into<String>>(&self, groups: I) {
        self.join(std::iter::empty::<String>(), groups);
    }

    /// Leaves channel groups only (no channels): [`Self::leave`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.leave_groups(["friends"]);
    /// # }
    /// ```
    pub fn leave_groups<I: IntoIterator<Item = S>, S: Into<String>>(&self, groups: I) {
        self.leave(std::iter::empty::<String>(), groups);
    }

    /// The configuration (keyset, user id) heartbeats are sent with.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// println!("keeping {} present", session.config().user_id());
    /// # }
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Joins channels and groups; a heartbeat announcing them leaves at once (or as soon as
    /// the request in flight is answered). For channels only, see [`Self::join_channels`].
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.join(["lobby"], ["friends"]);
    /// # }
    /// ```
    pub fn join<C, G, S, T>(&self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.command(SessionCommand::join(channels, groups));
    }

    /// Joins channels (no groups).
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.join_channels(["kitchen"]);
    /// # }
    /// ```
    pub fn join_channels<C: IntoIterator<Item = S>, S: Into<String>>(&self, channels: C) {
        self.join(channels, std::iter::empty::<String>());
    }

    /// Leaves channels and groups: one leave is sent for them, heartbeats go on for the rest.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.leave(["kitchen"], ["friends"]);
    /// # }
    /// ```
    pub fn leave<C, G, S, T>(&self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.command(SessionCommand::leave(channels, groups));
    }

    /// Leaves channels (no groups).
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.leave_channels(["kitchen"]);
    /// # }
    /// ```
    pub fn leave_channels<C: IntoIterator<Item = S>, S: Into<String>>(&self, channels: C) {
        self.leave(channels, std::iter::empty::<String>());
    }

    /// Sets the state heartbeats carry for one channel or group; a heartbeat carries it at
    /// once if that name is joined. Fails only if `state` does not serialise.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) -> Result<(), presence_proto::Error> {
    /// session.set_state("lobby", &serde_json::json!({"mood": "busy"}))?;
    /// # Ok(()) }
    /// ```
    pub fn set_state<T: Serialize + ?Sized>(
        &self,
        name: impl Into<String>,
        state: &T,
    ) -> Result<(), Error> {
        self.command(SessionCommand::set_state(name, state)?);
        Ok(())
    }

    /// Sets an already-built JSON state for one channel or group.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.set_state_value("lobby", serde_json::json!({"mood": "busy"}));
    /// # }
    /// ```
    pub fn set_state_value(&self, name: impl Into<String>, state: serde_json::Value) {
        self.command(SessionCommand::SetState(name.into(), state));
    }

    /// Changes the presence timeout (seconds, minimum 20); a heartbeat carries it at once.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.set_presence_timeout(600); // heartbeats every 299 s from now on
    /// # }
    /// ```
    pub fn set_presence_timeout(&self, seconds: u32) {
        self.command(SessionCommand::SetPresenceTimeout(seconds));
    }

    /// Asks the driver to leave and stop, without waiting (usable from another thread
    /// through a shared reference); events, ending with [`SessionEvent::Stopped`], follow.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// session.request_shutdown();
    /// # }
    /// ```
    pub fn request_shutdown(&self) {
        self.command(SessionCommand::Shutdown);
    }

    /// The next event if one is waiting, without waiting.
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// while let Some(event) = session.try_next_event() {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn try_next_event(&self) -> Option<SessionEvent> {
        self.link.events.try_recv().map(|(_, event)| event)
    }

    /// Whether the driver has ended (after [`SessionEvent::Stopped`]).
    ///
    /// ```
    /// # fn demo<F>(session: presence_proto::KeepPresent<F>) {
    /// if session.is_finished() {
    ///     println!("stopped");
    /// }
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.link.finished.load(Ordering::Acquire)
    }

    fn command(&self, command: SessionCommand) {
        // After `Stopped` the driver is gone and commands have nothing to act on.
        let _ = self.link.send(Input::Update(self.id, command));
    }

    /// Folds the events left until the driver ends into `shutdown`'s result.
    pub(crate) fn outcome(outcome: &mut Result<(), Error>, event: SessionEvent) {
        match event {
            SessionEvent::Left { error, .. } => *outcome = error.map_or(Ok(()), Err),
            SessionEvent::Stopped { error: Some(error) } => *outcome = Err(error),
            _ => {}
        }
    }
}

/// Many users kept present by one background driver and one timer; from
/// [`Client::keep_present_many`].
///
/// Each user is a [`PresenceSession`](crate::PresenceSession) inside one
/// [`PresenceSessions`](crate::PresenceSessions); their requests run concurrently (at most
/// `max_in_flight` at once), so ten thousand users cost one driver and a couple of KiB each.
/// Commands name a user by the [`SessionId`] that [`add`](Self::add) returned; commands for
/// users that have stopped are ignored. Events come tagged with the id and queue up until read.
///
/// `shutdown` makes every user leave and waits; dropping the handle does the same in the
/// background, after which the driver ends.
///
/// ```
/// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
/// use presence_proto::{Member, SessionEvent};
/// let mut many = client.keep_present_many().presence_timeout(60).start();
/// let alice = many.add(Member::new("alice").channels(["lobby"]))?;
/// let _bob = many.add(Member::new("bob").channels(["lobby"]))?;
/// while let Some((id, event)) = many.next_event().await {
///     if let SessionEvent::Joined { .. } = event {
///         println!("{id:?} joined");
///     }
/// #   break;
/// }
/// many.remove(alice); // alice leaves
/// many.shutdown().await; // bob leaves
/// # Ok(()) }
/// ```
pub struct KeepPresentMany<F> {
    pub(crate) client: Client<F>,
    pub(crate) options: SessionOptions,
    pub(crate) link: Link,
    pub(crate) next_id: AtomicU64,
}

impl<F> fmt::Debug for KeepPresentMany<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresentMany")
            .field("running", &self.len())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<F: Flavour> KeepPresentMany<F> {
    /// Adds a user; its first heartbeat leaves as soon as a slot is free. Fails at once,
    /// adding nothing, if the user id is invalid or a state value does not serialise
    /// ([`crate::ErrorKind::InvalidInput`]), or if the driver has ended
    /// ([`crate::ErrorKind::Closed`]).
    ///
    /// ```
    /// # fn demo<F: presence_proto::Flavour>(many: presence_proto::KeepPresentMany<F>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::Member;
    /// for i in 0..100 {
    ///     let id = many.add(Member::new(format!("user-{i}")).channels(["lobby"]))?;
    ///     println!("added {id:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn add(&self, member: Member) -> Result<SessionId, Error> {
        let config = match member.identity {
            Identity::Config(config) => config,
            Identity::UserId(user_id) => {
                self.client.config().to_builder().user_id(user_id).build()?
            }
        };
        let options = member.options.unwrap_or_else(|| self.options.clone());
        let options = seeded(&self.client, options, member.jitter_seed);
        let session = member.start.into_session(Arc::new(config), options)?;
        let id = SessionId::from_raw(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.link.counts.added.fetch_add(1, Ordering::AcqRel);
        if let Err(error) = self.link.send(Input::Add(id, Box::new(session))) {
            self.link.counts.added.fetch_sub(1, Ordering::AcqRel);
            return Err(error);
        }
        Ok(id)
    }
}

impl<F> KeepPresentMany<F> {
    /// Joins channels only (no groups): [`Self::join`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.join_channels(id, ["kitchen"]);
    /// # }
    /// ```
    pub fn join_channels<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        id: crate::SessionId,
        channels: I,
    ) {
        self.join(id, channels, std::iter::empty::<String>());
    }

    /// Joins channel groups only (no channels): [`Self::join`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.join_groups(id, ["friends"]);
    /// # }
    /// ```
    pub fn join_groups<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        id: crate::SessionId,
        groups: I,
    ) {
        self.join(id, std::iter::empty::<String>(), groups);
    }

    /// Leaves channels only (no groups): [`Self::leave`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.leave_channels(id, ["kitchen"]);
    /// # }
    /// ```
    pub fn leave_channels<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        id: crate::SessionId,
        channels: I,
    ) {
        self.leave(id, channels, std::iter::empty::<String>());
    }

    /// Leaves channel groups only (no channels): [`Self::leave`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.leave_groups(id, ["friends"]);
    /// # }
    /// ```
    pub fn leave_groups<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        id: crate::SessionId,
        groups: I,
    ) {
        self.leave(id, std::iter::empty::<String>(), groups);
    }

    /// Joins channels and groups for one user.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.join(id, ["kitchen"], ["friends"]);
    /// # }
    /// ```
    pub fn join<C, G, S, T>(&self, id: SessionId, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.update(id, SessionCommand::join(channels, groups));
    }

    /// Leaves channels and groups for one user.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.leave_channels(id, ["kitchen"]);
    /// # }
    /// ```
    pub fn leave<C, G, S, T>(&self, id: SessionId, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.update(id, SessionCommand::leave(channels, groups));
    }

    /// Sets one user's state for a channel or group. Fails only if `state` does not serialise.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) -> Result<(), presence_proto::Error> {
    /// many.set_state(id, "lobby", &serde_json::json!({"mood": "busy"}))?;
    /// # Ok(()) }
    /// ```
    pub fn set_state<T: Serialize + ?Sized>(
        &self,
        id: SessionId,
        name: impl Into<String>,
        state: &T,
    ) -> Result<(), Error> {
        self.update(id, SessionCommand::set_state(name, state)?);
        Ok(())
    }

    /// Sets one user's already-built JSON state for a channel or group.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.set_state_value(id, "lobby", serde_json::json!({"mood": "busy"}));
    /// # }
    /// ```
    pub fn set_state_value(
        &self,
        id: SessionId,
        name: impl Into<String>,
        state: serde_json::Value,
    ) {
        self.update(id, SessionCommand::SetState(name.into(), state));
    }

    /// Changes one user's presence timeout (seconds, minimum 20).
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.set_presence_timeout(id, 120);
    /// # }
    /// ```
    pub fn set_presence_timeout(&self, id: SessionId, seconds: u32) {
        self.update(id, SessionCommand::SetPresenceTimeout(seconds));
    }

    /// Removes one user: one leave, then its session stops.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>, id: presence_proto::SessionId) {
    /// many.remove(id);
    /// # }
    /// ```
    pub fn remove(&self, id: SessionId) {
        self.update(id, SessionCommand::Shutdown);
    }

    /// Removes every user (each leaves); the handle stays usable for new ones.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>) {
    /// many.shutdown_all();
    /// # }
    /// ```
    pub fn shutdown_all(&self) {
        let _ = self.link.send(Input::ShutdownAll);
    }

    /// Users added and not yet stopped.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>) {
    /// println!("{} users kept present", many.len());
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.link.counts.running()
    }

    /// Whether no user is running.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>) {
    /// if many.is_empty() {
    ///     println!("nobody here");
    /// }
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next event if one is waiting, without waiting.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>) {
    /// while let Some((id, event)) = many.try_next_event() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn try_next_event(&self) -> Option<(SessionId, SessionEvent)> {
        self.link.events.try_recv()
    }

    /// Whether the driver has ended.
    ///
    /// ```
    /// # fn demo<F>(many: presence_proto::KeepPresentMany<F>) {
    /// assert!(!many.is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.link.finished.load(Ordering::Acquire)
    }

    fn update(&self, id: SessionId, command: SessionCommand) {
        let _ = self.link.send(Input::Update(id, command));
    }
}
