//! [`WatchHandle`]: a running watch, defined once. Its commands are the same for every driver;
//! waiting for items is flavour-specific (see `run_async` / `run_blocking`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::kind::{WatchCommand, WatchKind};
use crate::client::handle::Client;
use crate::client::keep::mailbox::Mailbox;
use crate::error::Error;
use crate::watch::{WatchItem, WatchToken};

/// What reaches a watch's driver: commands from the handle and outcomes of its requests (the
/// reply type-erased, so handles and stoppers do not depend on the machine).
pub(crate) enum Input {
    Command(WatchCommand),
    Response(WatchToken, Result<Box<dyn std::any::Any + Send>, Error>),
}

/// The handle's end of a running watch.
pub(crate) struct Link<I> {
    pub(crate) inbox: Mailbox<Input>,
    pub(crate) items: Mailbox<I>,
    pub(crate) finished: Arc<AtomicBool>,
}

impl<I> Link<I> {
    pub(crate) fn new() -> Self {
        Self {
            inbox: Mailbox::new(),
            items: Mailbox::new(),
            finished: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn driver_side(&self) -> DriverSide<I> {
        DriverSide {
            inbox: self.inbox.clone(),
            items: self.items.clone(),
            finished: Arc::clone(&self.finished),
        }
    }
}

impl<I> Drop for Link<I> {
    fn drop(&mut self) {
        // The handle is gone: stop (with the leave, unless suppressed); items are not wanted.
        let _ = self.inbox.push(Input::Command(WatchCommand::Stop));
        self.items.close_and_clear();
    }
}

/// The driver's end: closing it (also on a panic or a dropped task) ends the handle's waits.
pub(crate) struct DriverSide<I> {
    pub(crate) inbox: Mailbox<Input>,
    pub(crate) items: Mailbox<I>,
    finished: Arc<AtomicBool>,
}

impl<I> Drop for DriverSide<I> {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::Release);
        self.inbox.close_and_clear();
        self.items.close();
    }
}

/// A running watch; from [`Client::watch`]`().start()`.
///
/// Items ([`WatchItem`]: events, gaps, retries, the end) queue up until read — with
/// `next_item` (and, for async drivers, the `Stream` implementation; for blocking drivers, the
/// `Iterator` one). Commands apply at once, even while a long-poll is in flight (it is
/// superseded, keeping the cursor). Dropping the handle stops the watch promptly and sends the
/// leave (present mode, unless suppressed).
///
/// ```
/// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
/// let mut watch = client.watch().channels(["lobby"]).observe(true).start()?;
/// watch.add_channels(["kitchen"]);
/// while let Some(item) = watch.next_item().await {
///     println!("{item:?}");
/// }
/// # Ok(()) }
/// ```
pub struct WatchHandle<F, I = WatchItem> {
    pub(crate) client: Client<F>,
    pub(crate) link: Link<I>,
}

impl<F, I> fmt::Debug for WatchHandle<F, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchHandle")
            .field("user_id", &self.client.config().user_id())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<F, I> WatchHandle<F, I> {
    /// Watches channels only (no groups): [`Self::add`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.add_channels(["kitchen"]);
    /// # }
    /// ```
    pub fn add_channels<N: IntoIterator<Item = S>, S: Into<String>>(&self, channels: N) {
        self.add(channels, std::iter::empty::<String>());
    }

    /// Watches channel groups only (no channels): [`Self::add`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.add_groups(["friends"]);
    /// # }
    /// ```
    pub fn add_groups<N: IntoIterator<Item = S>, S: Into<String>>(&self, groups: N) {
        self.add(std::iter::empty::<String>(), groups);
    }

    /// Stops watching channels only (no groups): [`Self::remove`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.remove_channels(["kitchen"]);
    /// # }
    /// ```
    pub fn remove_channels<N: IntoIterator<Item = S>, S: Into<String>>(&self, channels: N) {
        self.remove(channels, std::iter::empty::<String>());
    }

    /// Stops watching channel groups only (no channels): [`Self::remove`] without an empty list for the other kind.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.remove_groups(["friends"]);
    /// # }
    /// ```
    pub fn remove_groups<N: IntoIterator<Item = S>, S: Into<String>>(&self, groups: N) {
        self.remove(std::iter::empty::<String>(), groups);
    }

    /// Watches more channels and groups (no leave, the cursor is kept).
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.add(["kitchen"], ["friends"]);
    /// # }
    /// ```
    pub fn add<C, G, S, T>(&self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        let _ = self.link.inbox.push(Input::Command(WatchCommand::Add(
            channels.into_iter().map(Into::into).collect(),
            groups.into_iter().map(Into::into).collect(),
        )));
    }

    /// Stops watching channels and groups (present mode: one leave for them).
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.remove_channels(["kitchen"]);
    /// # }
    /// ```
    pub fn remove<C, G, S, T>(&self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        let _ = self.link.inbox.push(Input::Command(WatchCommand::Remove(
            channels.into_iter().map(Into::into).collect(),
            groups.into_iter().map(Into::into).collect(),
        )));
    }

    /// Sets the state the polls carry for one channel or group (present mode). Fails only if
    /// `state` does not serialise.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) -> Result<(), presence_proto::Error> {
    /// watch.set_state("lobby", &serde_json::json!({"mood": "busy"}))?;
    /// # Ok(()) }
    /// ```
    pub fn set_state<T: Serialize + ?Sized>(
        &self,
        name: impl Into<String>,
        state: &T,
    ) -> Result<(), Error> {
        let value = serde_json::to_value(state).map_err(|e| Error::StateSerialize(Some(e)))?;
        let _ = self
            .link
            .inbox
            .push(Input::Command(WatchCommand::SetState(name.into(), value)));
        Ok(())
    }

    /// Asks the watch to stop (leave unless observing or suppressed), without waiting; items
    /// end with [`WatchItem::Stopped`].
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// watch.stop();
    /// # }
    /// ```
    pub fn stop(&self) {
        let _ = self.link.inbox.push(Input::Command(WatchCommand::Stop));
    }

    /// A handle that can stop the watch from another thread or task (or a Ctrl-C handler).
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// let stopper = watch.stopper();
    /// std::thread::spawn(move || stopper.stop());
    /// # }
    /// ```
    pub fn stopper(&self) -> WatchStopper {
        WatchStopper {
            inbox: self.link.inbox.clone(),
        }
    }

    /// The next item if one is waiting, without waiting.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// while let Some(item) = watch.try_next_item() {
    ///     println!("{item:?}");
    /// }
    /// # }
    /// ```
    pub fn try_next_item(&self) -> Option<I> {
        self.link.items.try_recv()
    }

    /// Whether the watch has ended.
    ///
    /// ```
    /// # fn demo<F>(watch: presence_proto::WatchHandle<F>) {
    /// println!("ended: {}", watch.is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.link.finished.load(Ordering::Acquire)
    }
}

/// Stops a watch from anywhere; from [`WatchHandle::stopper`]. Cheap to clone.
///
/// ```
/// # fn demo(stopper: presence_proto::WatchStopper) {
/// let again = stopper.clone();
/// stopper.stop();
/// again.stop(); // harmless
/// # }
/// ```
#[derive(Clone)]
pub struct WatchStopper {
    inbox: Mailbox<Input>,
}

impl fmt::Debug for WatchStopper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStopper").finish_non_exhaustive()
    }
}

impl WatchStopper {
    /// Asks the watch to stop.
    ///
    /// ```
    /// # fn demo(stopper: presence_proto::WatchStopper) {
    /// stopper.stop();
    /// # }
    /// ```
    pub fn stop(&self) {
        let _ = self.inbox.push(Input::Command(WatchCommand::Stop));
    }
}

/// Applies one input to the machine (the runners' shared step).
pub(crate) fn apply<I: WatchKind>(machine: &mut I::Machine, input: Input, now: std::time::Instant) {
    match input {
        Input::Command(command) => I::command(machine, command),
        Input::Response(token, result) => I::handle_response(machine, token, result, now),
    }
}
