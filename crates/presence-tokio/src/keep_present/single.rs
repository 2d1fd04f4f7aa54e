//! One user kept present by one task: [`KeepPresentBuilder`] and the [`KeepPresent`] handle.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::future::BoxFuture;
use presence_proto::{Config, Error, PresenceSession, SessionEvent, SessionOptions};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Command, Start, Timer, maybe, seeded, send};
use crate::Client;

impl Client {
    /// Starts keeping this client's user present: set channels, groups, state and timing on the
    /// returned builder, then [`start`](KeepPresentBuilder::start) it.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let alice = client.keep_present().channels(["lobby"]).presence_timeout(120).start()?;
    /// // … alice stays in `lobby`, a heartbeat every 59 s …
    /// alice.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub fn keep_present(&self) -> KeepPresentBuilder {
        KeepPresentBuilder {
            client: self.clone(),
            config: None,
            start: Start::default(),
            options: SessionOptions::new(),
            jitter_seed: None,
        }
    }
}

/// Builder returned by [`Client::keep_present`]: what to join and how often to heartbeat.
///
/// ```
/// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
/// use presence_tokio::SessionOptions;
/// let session = client
///     .keep_present()
///     .channels(["lobby", "kitchen"])
///     .groups(["friends"])
///     .state("lobby", &serde_json::json!({"mood": "happy"}))
///     .options(SessionOptions::new().presence_timeout(60))
///     .start()?;
/// # drop(session);
/// # Ok(()) }
/// ```
#[must_use = "nothing is sent until `start` is called"]
pub struct KeepPresentBuilder {
    client: Client,
    config: Option<Config>,
    start: Start,
    options: SessionOptions,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for KeepPresentBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresentBuilder")
            .field("config", &self.config)
            .field("channels", &self.start.channels)
            .field("groups", &self.start.groups)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl KeepPresentBuilder {
    /// Channels to join at start (added to any given before).
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client.keep_present().channels(["a", "b"]).channels(["c"]);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn channels<I, S>(mut self, channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.start
            .channels
            .extend(channels.into_iter().map(Into::into));
        self
    }

    /// Channel groups to join at start (added to any given before).
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client.keep_present().groups(["friends"]);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.start.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// State carried by every heartbeat for one channel or group. A value that does not
    /// serialise makes [`start`](Self::start) fail.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// #[derive(serde::Serialize)]
    /// struct Mood<'a> { mood: &'a str }
    /// let builder = client.keep_present().channels(["lobby"]).state("lobby", &Mood { mood: "happy" });
    /// # drop(builder);
    /// # }
    /// ```
    pub fn state<T: Serialize + ?Sized>(mut self, name: impl Into<String>, state: &T) -> Self {
        self.start.state(name, state);
        self
    }

    /// An already-built JSON state for one channel or group.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client
    ///     .keep_present()
    ///     .channels(["lobby"])
    ///     .state_value("lobby", serde_json::json!({"mood": "happy"}));
    /// # drop(builder);
    /// # }
    /// ```
    pub fn state_value(mut self, name: impl Into<String>, state: serde_json::Value) -> Self {
        self.start.state.push((name.into(), state));
        self
    }

    /// The presence timeout in seconds (default 300, minimum 20); heartbeats follow every
    /// `timeout / 2 − 1` seconds.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client.keep_present().channels(["lobby"]).presence_timeout(60);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.options = self.options.presence_timeout(seconds);
        self
    }

    /// All timing options at once (replacing any [`presence_timeout`](Self::presence_timeout)
    /// set before). Their jitter seed is replaced by a random one unless
    /// [`jitter_seed`](Self::jitter_seed) is set.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// use std::time::Duration;
    /// use presence_tokio::SessionOptions;
    /// let options = SessionOptions::new()
    ///     .presence_timeout(60)
    ///     .heartbeat_interval(Duration::from_secs(20))
    ///     .min_backoff(Duration::from_secs(2));
    /// let builder = client.keep_present().channels(["lobby"]).options(options);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// A fixed seed for the retry jitter (default: drawn from `fastrand`), for reproducible
    /// runs.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client.keep_present().channels(["lobby"]).jitter_seed(42);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Keeps another user (or keyset, or auth token) present, over this client's pool.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let bob = client.config().to_builder().user_id("bob").build()?;
    /// let builder = client.keep_present().config(bob).channels(["lobby"]);
    /// # drop(builder);
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Spawns the driving task: the first heartbeat leaves at once if anything was joined.
    ///
    /// Fails (sending nothing) when a state value did not serialise.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let mut session = client.keep_present().channels(["lobby"]).start()?;
    /// let first = session.next_event().await; // Joined { channels: ["lobby"], .. }
    /// # let _ = first;
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<KeepPresent, Error> {
        let config = Arc::new(self.config.unwrap_or_else(|| self.client.config().clone()));
        let session = self
            .start
            .into_session(Arc::clone(&config), seeded(self.options, self.jitter_seed))?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(self.client, session, command_rx, event_tx));
        Ok(KeepPresent {
            config,
            commands,
            events,
            task,
        })
    }
}

/// One user kept present by a background task; from [`Client::keep_present`].
///
/// Commands (`join`, `leave`, `set_state`, …) are queued to the task and applied at once, even
/// while a request is in flight. Events arrive through [`next_event`](Self::next_event) or
/// the [`Stream`] implementation; they queue up until read (a handful per heartbeat interval
/// at most), so read them or drop the handle.
///
/// [`shutdown`](Self::shutdown) sends one leave for everything joined and waits for it.
/// Dropping the handle does the same in the background: the task sends the leave and ends.
/// After a [`SessionEvent::Stopped`] (shutdown, or an error that cannot heal such as 403),
/// the task has ended: commands are ignored and `next_event` returns `None`.
///
/// ```
/// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
/// use presence_tokio::SessionEvent;
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
pub struct KeepPresent {
    config: Arc<Config>,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<SessionEvent>,
    task: JoinHandle<()>,
}

impl fmt::Debug for KeepPresent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresent")
            .field("user_id", &self.config.user_id())
            .field("finished", &self.task.is_finished())
            .finish_non_exhaustive()
    }
}

impl KeepPresent {
    /// The configuration (keyset, user id) heartbeats are sent with.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// assert_eq!(session.config().user_id(), client.config().user_id());
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Joins channels and groups; a heartbeat announcing them leaves at once (or as soon as
    /// the request in flight is answered).
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().start()?;
    /// session.join(["lobby"], ["friends"]);
    /// session.join(["kitchen"], [""; 0]); // channels only
    /// # Ok(()) }
    /// ```
    pub fn join<C, G, S, T>(&self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.command(Command::join(channels, groups));
    }

    /// Leaves channels and groups: one leave is sent for them, heartbeats go on for the rest.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby", "kitchen"]).start()?;
    /// session.leave(["kitchen"], [""; 0]);
    /// # Ok(()) }
    /// ```
    pub fn leave<C, G, S, T>(&self, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.command(Command::leave(channels, groups));
    }

    /// Sets the state heartbeats carry for one channel or group; a heartbeat carries it at
    /// once if that name is joined. Fails only if `state` does not serialise.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.set_state("lobby", &serde_json::json!({"mood": "busy"}))?;
    /// # Ok(()) }
    /// ```
    pub fn set_state<T: Serialize + ?Sized>(
        &self,
        name: impl Into<String>,
        state: &T,
    ) -> Result<(), Error> {
        self.command(Command::set_state(name, state)?);
        Ok(())
    }

    /// Sets an already-built JSON state for one channel or group.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.set_state_value("lobby", serde_json::json!({"mood": "busy"}));
    /// # Ok(()) }
    /// ```
    pub fn set_state_value(&self, name: impl Into<String>, state: serde_json::Value) {
        self.command(Command::SetState(name.into(), state));
    }

    /// Changes the presence timeout (seconds, minimum 20); a heartbeat carries it at once.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.set_presence_timeout(600); // heartbeats every 299 s from now on
    /// # Ok(()) }
    /// ```
    pub fn set_presence_timeout(&self, seconds: u32) {
        self.command(Command::SetPresenceTimeout(seconds));
    }

    /// The next event; `None` once the session has stopped and every event was read.
    ///
    /// Cancel safe: use it in `tokio::select!`.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let mut session = client.keep_present().channels(["lobby"]).start()?;
    /// if let Some(event) = session.next_event().await {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_event(&mut self) -> Option<SessionEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting, without waiting.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let mut session = client.keep_present().channels(["lobby"]).start()?;
    /// while let Some(event) = session.try_next_event() {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_next_event(&mut self) -> Option<SessionEvent> {
        self.events.try_recv().ok()
    }

    /// Whether the driving task has ended (after [`SessionEvent::Stopped`]).
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// assert!(!session.is_finished());
    /// # Ok(()) }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Leaves everything joined (one leave) and waits until the task has ended.
    ///
    /// Returns the leave's error if it failed (the service then times the user out), or the
    /// error that had already stopped the session if its [`SessionEvent::Stopped`] was not
    /// read. Events not read yet are discarded. Takes at most the client's request timeout.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(self) -> Result<(), Error> {
        let Self {
            commands,
            mut events,
            task,
            ..
        } = self;
        // Ignored if the task has already stopped; dropping the sender would do the same.
        let _ = commands.send(Command::Shutdown);
        drop(commands);
        let mut outcome = Ok(());
        while let Some(event) = events.recv().await {
            match event {
                SessionEvent::Left { error, .. } => outcome = error.map_or(Ok(()), Err),
                SessionEvent::Stopped { error: Some(error) } => outcome = Err(error),
                _ => {}
            }
        }
        if let Err(e) = task.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        outcome
    }

    fn command(&self, command: Command) {
        // After `Stopped` the task is gone and commands have nothing to act on.
        let _ = self.commands.send(command);
    }
}

/// Events of the session, as [`KeepPresent::next_event`] returns them.
///
/// ```
/// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
/// use futures_util::StreamExt as _;
/// let mut session = client.keep_present().channels(["lobby"]).start()?;
/// while let Some(event) = session.next().await {
///     println!("{event:?}");
/// }
/// # Ok(()) }
/// ```
impl Stream for KeepPresent {
    type Item = SessionEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.get_mut().events.poll_recv(cx)
    }
}

/// The driving task: the session's drive contract, with commands and responses raced.
async fn drive(
    client: Client,
    mut session: PresenceSession,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SessionEvent>,
) {
    let mut in_flight: Option<BoxFuture<'static, Result<(), Error>>> = None;
    let mut timer = Timer::new();
    let mut commands_open = true;
    loop {
        if in_flight.is_none() {
            if let Some(request) = session.poll_request(timer.now()) {
                let config = Arc::clone(session.config());
                in_flight = Some(Box::pin(send(client.clone(), config, request)));
            }
        }
        while let Some(event) = session.poll_event() {
            // The handle may be gone (dropped): the leave is still sent.
            let _ = events.send(event);
        }
        if session.is_stopped() {
            return;
        }
        timer.arm(session.poll_timeout());
        tokio::select! {
            result = maybe(in_flight.as_mut()), if in_flight.is_some() => {
                in_flight = None;
                session.handle_response(result, super::now());
            }
            command = commands.recv(), if commands_open => {
                if let Some(command) = command {
                    command.apply(&mut session);
                    while let Ok(command) = commands.try_recv() {
                        command.apply(&mut session);
                    }
                } else {
                    // The handle was dropped: leave, then end.
                    commands_open = false;
                    session.shutdown();
                }
            }
            () = timer.wait(), if timer.is_armed() => {}
            else => return,
        }
    }
}
