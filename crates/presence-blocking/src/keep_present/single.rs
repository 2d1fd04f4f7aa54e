//! One user kept present by one thread: [`KeepPresentBuilder`] and the [`KeepPresent`] handle.

use std::fmt;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use presence_proto::{Config, Error, PresenceSession, SessionEvent, SessionOptions};
use serde::Serialize;

use super::{Command, Start, seeded};
use crate::Client;

/// Extra time a dropped handle waits beyond its requests' timeouts (thread wake-up, parsing).
const DROP_MARGIN: Duration = Duration::from_millis(250);

impl Client {
    /// Starts keeping this client's user present: set channels, groups, state and timing on the
    /// returned builder, then [`start`](KeepPresentBuilder::start) it.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let alice = client.keep_present().channels(["lobby"]).presence_timeout(120).start()?;
    /// // … alice stays in `lobby`, a heartbeat every 59 s …
    /// alice.shutdown()?;
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
/// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
/// use presence_blocking::SessionOptions;
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) {
    /// use std::time::Duration;
    /// use presence_blocking::SessionOptions;
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let bob = client.config().to_builder().user_id("bob").build()?;
    /// let builder = client.keep_present().config(bob).channels(["lobby"]);
    /// # drop(builder);
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Spawns the driving thread: the first heartbeat leaves at once if anything was joined.
    ///
    /// Fails (sending nothing) when a state value did not serialise, or when the thread could
    /// not be spawned ([`ErrorKind::Network`](crate::ErrorKind::Network) with the OS error).
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// let first = session.next_event(); // Some(Joined { channels: ["lobby"], .. })
    /// # let _ = first;
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<KeepPresent, Error> {
        let config = Arc::new(self.config.unwrap_or_else(|| self.client.config().clone()));
        let session = self
            .start
            .into_session(Arc::clone(&config), seeded(self.options, self.jitter_seed))?;
        let (commands, command_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let request_timeout = self.client.shared.limits.request_timeout;
        let client = self.client;
        let thread = std::thread::Builder::new()
            .name("presence-keep-present".to_owned())
            .spawn(move || drive(&client, session, &command_rx, &event_tx))
            .map_err(|e| Error::network("spawn keep-present thread", e))?;
        Ok(KeepPresent {
            config,
            commands,
            events,
            thread: Some(thread),
            drop_wait: request_timeout.saturating_mul(2) + DROP_MARGIN,
        })
    }
}

/// One user kept present by a background thread; from [`Client::keep_present`].
///
/// Commands (`join`, `leave`, `set_state`, …) are queued to the thread in order. It applies
/// them at once when idle; while a request is in flight it is blocked in that request, so they
/// are applied when it returns (at most the client's request timeout later).
///
/// Events arrive on a channel: [`next_event`](Self::next_event),
/// [`next_event_timeout`](Self::next_event_timeout), [`try_next_event`](Self::try_next_event),
/// or the [`Receiver`] itself from [`events`](Self::events). They queue up until read (a
/// handful per heartbeat interval at most), so read them or drop the handle.
///
/// [`shutdown`](Self::shutdown) sends one leave for everything joined and waits for it.
/// Dropping the handle does the same, waiting at most twice the client's request timeout.
/// After a [`SessionEvent::Stopped`] (shutdown, or an error that cannot heal such as 403),
/// the thread has ended: commands are ignored and `next_event` returns `None`.
///
/// ```
/// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
/// use presence_blocking::SessionEvent;
/// let session = client.keep_present().channels(["lobby"]).start()?;
/// session.join(["kitchen"], ["friends"]);
/// while let Some(event) = session.next_event() {
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
    commands: Sender<Command>,
    events: Receiver<SessionEvent>,
    /// `None` once joined (or given up on, when dropping).
    thread: Option<JoinHandle<()>>,
    /// How long dropping the handle waits for the thread: the request in flight, then the
    /// leave.
    drop_wait: Duration,
}

impl fmt::Debug for KeepPresent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresent")
            .field("user_id", &self.config.user_id())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl KeepPresent {
    /// The configuration (keyset, user id) heartbeats are sent with.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
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
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
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
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
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
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
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
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
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
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.set_presence_timeout(600); // heartbeats every 299 s from now on
    /// # Ok(()) }
    /// ```
    pub fn set_presence_timeout(&self, seconds: u32) {
        self.command(Command::SetPresenceTimeout(seconds));
    }

    /// Waits for the next event; `None` once the session has stopped and every event was read.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// if let Some(event) = session.next_event() {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_event(&self) -> Option<SessionEvent> {
        self.events.recv().ok()
    }

    /// Waits at most `timeout` for the next event; `None` if none came (or the session has
    /// stopped and every event was read: see [`is_finished`](Self::is_finished), or use
    /// [`events`](Self::events) to tell the two apart).
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use std::time::Duration;
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// while let Some(event) = session.next_event_timeout(Duration::from_secs(1)) {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_event_timeout(&self, timeout: Duration) -> Option<SessionEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The next event if one is waiting, without waiting.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// while let Some(event) = session.try_next_event() {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_next_event(&self) -> Option<SessionEvent> {
        self.events.try_recv().ok()
    }

    /// The channel events arrive on: for `recv_timeout` that tells a timeout from the end
    /// (`Disconnected` once the thread has ended and every event was read), or for iterating.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use std::sync::mpsc::RecvTimeoutError;
    /// use std::time::Duration;
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// loop {
    ///     match session.events().recv_timeout(Duration::from_millis(100)) {
    ///         Ok(event) => println!("{event:?}"),
    ///         Err(RecvTimeoutError::Timeout) => { /* check for Ctrl-C, a deadline, … */ }
    ///         Err(RecvTimeoutError::Disconnected) => break, // stopped
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> &Receiver<SessionEvent> {
        &self.events
    }

    /// Whether the driving thread has ended (after [`SessionEvent::Stopped`]).
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// assert!(!session.is_finished());
    /// # Ok(()) }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Starts shutting down without waiting: the thread sends one leave for everything joined,
    /// reports [`SessionEvent::Left`] and [`SessionEvent::Stopped`], and ends. Read the events
    /// until [`next_event`](Self::next_event) returns `None` to follow it (as the `presence
    /// keep-present` command does to print them); [`shutdown`](Self::shutdown) or dropping the
    /// handle afterwards only joins the thread.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use presence_blocking::SessionEvent;
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.request_shutdown();
    /// while let Some(event) = session.next_event() {
    ///     if let SessionEvent::Left { error: Some(error), .. } = event {
    ///         eprintln!("the leave failed ({error}); the service will time us out");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn request_shutdown(&self) {
        self.command(Command::Shutdown);
    }

    /// Leaves everything joined (one leave) and waits until the thread has ended.
    ///
    /// Returns the leave's error if it failed (the service then times the user out), or the
    /// error that had already stopped the session if its [`SessionEvent::Stopped`] was not
    /// read. Events not read yet are discarded. Takes at most the request in flight plus the
    /// leave, each bounded by the client's request timeout (and retry policy).
    ///
    /// # Panics
    ///
    /// Resumes the driving thread's panic, if it panicked.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// session.shutdown()?;
    /// # Ok(()) }
    /// ```
    pub fn shutdown(mut self) -> Result<(), Error> {
        let outcome = self.finish(None);
        if let Some(thread) = self.thread.take() {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        outcome
    }

    fn command(&self, command: Command) {
        // After `Stopped` the thread is gone and commands have nothing to act on.
        let _ = self.commands.send(command);
    }

    /// Asks the thread to shut down and reads (discarding) events until it has ended, or until
    /// `limit` has passed. Returns the outcome of the leave (or the stopping error).
    fn finish(&mut self, limit: Option<Duration>) -> Result<(), Error> {
        self.command(Command::Shutdown);
        let deadline = limit.map(|limit| Instant::now() + limit);
        let mut outcome = Ok(());
        loop {
            let event = match deadline {
                None => self
                    .events
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => self
                    .events
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match event {
                Ok(SessionEvent::Left { error, .. }) => outcome = error.map_or(Ok(()), Err),
                Ok(SessionEvent::Stopped { error: Some(error) }) => outcome = Err(error),
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return outcome,
                Err(RecvTimeoutError::Timeout) => {
                    // Still busy (a stalled request, or a retry policy): let it finish alone.
                    tracing::warn!(
                        user_id = self.config.user_id(),
                        "keep-present thread still busy after {:?}; not waiting for it",
                        limit.unwrap_or_default()
                    );
                    self.thread = None;
                    return outcome;
                }
            }
        }
    }
}

/// Dropping the handle shuts the session down: the thread sends the leave and ends. The drop
/// waits for that, at most twice the client's request timeout (a request may be in flight
/// first); a thread still busy then is left to finish on its own.
impl Drop for KeepPresent {
    fn drop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        let _ = self.finish(Some(self.drop_wait));
        if let Some(thread) = self.thread.take() {
            // The thread has ended (its event sender is gone): this returns at once. A panic
            // there is not resumed while dropping.
            let _ = thread.join();
        }
    }
}

/// The driving thread: the session's drive contract, with commands waited for until the next
/// deadline.
fn drive(
    client: &Client,
    mut session: PresenceSession,
    commands: &Receiver<Command>,
    events: &Sender<SessionEvent>,
) {
    let mut commands_open = true;
    // The deadline that fired last: the next `now` is at least that, so that due work is found
    // due even if the wait ended a hair early.
    let mut fired: Option<Instant> = None;
    loop {
        let mut now = fired
            .take()
            .map_or_else(Instant::now, |at| at.max(Instant::now()));
        while let Some(request) = session.poll_request(now) {
            let config = Arc::clone(session.config());
            let result = client.execute_with(&config, &request);
            session.handle_response(result, Instant::now());
            emit(&mut session, events);
            // Commands sent while the request was in flight.
            if commands_open {
                commands_open = apply_waiting(commands, &mut session);
            }
            now = Instant::now();
        }
        emit(&mut session, events);
        if session.is_stopped() {
            return;
        }
        let deadline = session.poll_timeout();
        let received = if commands_open {
            match deadline {
                Some(at) => commands.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => commands.recv().map_err(|_| RecvTimeoutError::Disconnected),
            }
        } else {
            // Shutting down after the handle went away; the leave was due at once, so this is
            // only a safety net: wait for the timer rather than spin.
            let Some(at) = deadline else { return };
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            Err(RecvTimeoutError::Timeout)
        };
        match received {
            Ok(command) => {
                command.apply(&mut session);
                commands_open = apply_waiting(commands, &mut session);
            }
            Err(RecvTimeoutError::Timeout) => fired = deadline,
            Err(RecvTimeoutError::Disconnected) => {
                // The handle is gone without a shutdown: leave, then end.
                commands_open = false;
                session.shutdown();
            }
        }
    }
}

/// Applies every command waiting; `false` (after shutting the session down) if the handle is
/// gone.
fn apply_waiting(commands: &Receiver<Command>, session: &mut PresenceSession) -> bool {
    loop {
        match commands.try_recv() {
            Ok(command) => command.apply(session),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Disconnected) => {
                session.shutdown();
                return false;
            }
        }
    }
}

/// Hands the session's events to the handle (which may be gone: the leave is still sent).
fn emit(session: &mut PresenceSession, events: &Sender<SessionEvent>) {
    while let Some(event) = session.poll_event() {
        let _ = events.send(event);
    }
}
