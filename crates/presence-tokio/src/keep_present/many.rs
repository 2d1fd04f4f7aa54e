//! Many users kept present by one task: [`KeepPresentManyBuilder`], [`Member`] and the
//! [`KeepPresentMany`] handle.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt as _};
use presence_proto::{
    Config, Error, PresenceSession, PresenceSessions, SessionEvent, SessionId, SessionOptions,
};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Command, Start, Timer, seeded, send, task_gone};
use crate::Client;

/// Default cap on the requests a [`KeepPresentMany`] has in flight at once: 256.
///
/// ```
/// assert_eq!(presence_tokio::DEFAULT_MAX_IN_FLIGHT, 256);
/// ```
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Most commands applied in one go before in-flight responses get a turn.
const COMMAND_BATCH: usize = 1024;

impl Client {
    /// Starts keeping many users present from one task and one timer: add [`Member`]s to the
    /// returned handle once it is [started](KeepPresentManyBuilder::start).
    ///
    /// Members' requests share this client's pool, options and (unless a member brings its
    /// own [`Config`]) keyset.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) -> Result<(), presence_tokio::Error> {
    /// use presence_tokio::Member;
    /// let many = client.keep_present_many().presence_timeout(120).start();
    /// for i in 0..1000 {
    ///     many.add(Member::new(format!("user-{i}")).channels(["lobby"])).await?;
    /// }
    /// many.shutdown().await; // a thousand leaves
    /// # Ok(()) }
    /// ```
    pub fn keep_present_many(&self) -> KeepPresentManyBuilder {
        KeepPresentManyBuilder {
            client: self.clone(),
            options: SessionOptions::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Builder returned by [`Client::keep_present_many`]: default timing of the members, and the
/// cap on requests in flight.
///
/// ```
/// # async fn demo(client: presence_tokio::Client) {
/// let many = client.keep_present_many().presence_timeout(60).max_in_flight(64).start();
/// # drop(many);
/// # }
/// ```
#[derive(Debug)]
#[must_use = "nothing runs until `start` is called"]
pub struct KeepPresentManyBuilder {
    client: Client,
    options: SessionOptions,
    max_in_flight: usize,
}

impl KeepPresentManyBuilder {
    /// Presence timeout in seconds for members without options of their own (default 300).
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client.keep_present_many().presence_timeout(60);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn presence_timeout(mut self, seconds: u32) -> Self {
        self.options = self.options.presence_timeout(seconds);
        self
    }

    /// Timing options for members without options of their own (replacing any
    /// [`presence_timeout`](Self::presence_timeout) set before). Each member's jitter seed is
    /// drawn from `fastrand` unless the member sets one.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// use std::time::Duration;
    /// use presence_tokio::SessionOptions;
    /// let options = SessionOptions::new().presence_timeout(20).time_unit(Duration::from_millis(50));
    /// let builder = client.keep_present_many().options(options);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// At most this many requests in flight at once (default [`DEFAULT_MAX_IN_FLIGHT`],
    /// minimum 1). Work that falls due beyond it waits, earliest first, for a free slot.
    ///
    /// ```
    /// # fn demo(client: presence_tokio::Client) {
    /// let builder = client.keep_present_many().max_in_flight(32);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests.max(1);
        self
    }

    /// Spawns the one driving task.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) {
    /// let many = client.keep_present_many().start();
    /// assert!(many.is_empty());
    /// # }
    /// ```
    pub fn start(self) -> KeepPresentMany {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let running = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(drive(
            self.client.clone(),
            self.max_in_flight,
            command_rx,
            event_tx,
            Arc::clone(&running),
        ));
        KeepPresentMany {
            client: self.client,
            options: self.options,
            commands,
            events,
            running,
            task,
        }
    }
}

/// Who is the user
#[derive(Debug)]
enum Identity {
    UserId(String),
    Config(Config),
}

/// A user to add to a [`KeepPresentMany`]: who, where, with what state and timing.
///
/// ```
/// use presence_tokio::{Member, SessionOptions};
/// let member = Member::new("user-1")
///     .channels(["lobby"])
///     .groups(["friends"])
///     .state("lobby", &serde_json::json!({"mood": "happy"}))
///     .options(SessionOptions::new().presence_timeout(60));
/// # drop(member);
/// ```
#[derive(Debug)]
#[must_use = "a member does nothing until added"]
pub struct Member {
    identity: Identity,
    start: Start,
    options: Option<SessionOptions>,
    jitter_seed: Option<u64>,
}

impl Member {
    /// A user of the handle's client keyset, with this user id.
    ///
    /// ```
    /// let member = presence_tokio::Member::new("user-1").channels(["lobby"]);
    /// # drop(member);
    /// ```
    pub fn new(user_id: impl Into<String>) -> Self {
        Self::with_identity(Identity::UserId(user_id.into()))
    }

    /// A user with a configuration of its own (keyset, user id, auth token).
    ///
    /// ```
    /// use presence_tokio::{Config, Member};
    /// let config = Config::builder("sub-c-other", "user-1").auth_token("token-1").build()?;
    /// let member = Member::with_config(config).channels(["lobby"]);
    /// # drop(member);
    /// # Ok::<(), presence_tokio::Error>(())
    /// ```
    pub fn with_config(config: Config) -> Self {
        Self::with_identity(Identity::Config(config))
    }

    fn with_identity(identity: Identity) -> Self {
        Self {
            identity,
            start: Start::default(),
            options: None,
            jitter_seed: None,
        }
    }

    /// Channels to join (added to any given before).
    ///
    /// ```
    /// let member = presence_tokio::Member::new("user-1").channels(["a", "b"]);
    /// # drop(member);
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

    /// Channel groups to join (added to any given before).
    ///
    /// ```
    /// let member = presence_tokio::Member::new("user-1").groups(["friends"]);
    /// # drop(member);
    /// ```
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.start.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// State carried for one channel or group. A value that does not serialise makes
    /// [`KeepPresentMany::add`] fail.
    ///
    /// ```
    /// let member = presence_tokio::Member::new("user-1")
    ///     .channels(["lobby"])
    ///     .state("lobby", &serde_json::json!({"mood": "happy"}));
    /// # drop(member);
    /// ```
    pub fn state<T: Serialize + ?Sized>(mut self, name: impl Into<String>, state: &T) -> Self {
        self.start.state(name, state);
        self
    }

    /// An already-built JSON state for one channel or group.
    ///
    /// ```
    /// let member = presence_tokio::Member::new("user-1")
    ///     .channels(["lobby"])
    ///     .state_value("lobby", serde_json::json!({"mood": "happy"}));
    /// # drop(member);
    /// ```
    pub fn state_value(mut self, name: impl Into<String>, state: serde_json::Value) -> Self {
        self.start.state.push((name.into(), state));
        self
    }

    /// Timing of this member (default: the handle's).
    ///
    /// ```
    /// use presence_tokio::{Member, SessionOptions};
    /// let member = Member::new("user-1").options(SessionOptions::new().presence_timeout(30));
    /// # drop(member);
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// A fixed retry-jitter seed (default: drawn from `fastrand`).
    ///
    /// ```
    /// let member = presence_tokio::Member::new("user-1").jitter_seed(7);
    /// # drop(member);
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }
}

/// A command for the driving task.
#[derive(Debug)]
enum ManyCommand {
    Add {
        session: Box<PresenceSession>,
        reply: oneshot::Sender<SessionId>,
    },
    Update(SessionId, Command),
    ShutdownAll,
    Close,
}

/// Many users kept present by one task and one timer; from [`Client::keep_present_many`].
///
/// Each user is a [`PresenceSession`] inside one [`PresenceSessions`]; their requests run
/// concurrently inside the same task (at most
/// [`max_in_flight`](KeepPresentManyBuilder::max_in_flight) at once), so ten thousand users
/// cost one task and a couple of KiB each. Commands name a user by the [`SessionId`] that
/// [`add`](Self::add) returned; commands for users that have stopped are ignored. Events
/// come tagged with the id, from [`next_event`](Self::next_event) or the [`Stream`]
/// implementation; they queue up until read.
///
/// [`shutdown`](Self::shutdown) makes every user leave and waits; dropping the handle does
/// the same in the background, after which the task ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = presence_emulator::EmulatorBuilder::new().start().await?;
/// use presence_tokio::{Client, Config, Member, SessionEvent};
///
/// # let origin = emulator.origin();
/// let client = Client::new(Config::builder("demo", "admin").origin(origin).build()?)?;
/// let mut many = client.keep_present_many().presence_timeout(60).start();
/// let mut ids = Vec::new();
/// for i in 0..10 {
///     ids.push(many.add(Member::new(format!("user-{i}")).channels(["lobby"])).await?);
/// }
/// let mut joined = 0;
/// while joined < 10 {
///     if let Some((_id, SessionEvent::Joined { .. })) = many.next_event().await {
///         joined += 1;
///     }
/// }
/// assert_eq!(client.here_now().channels(["lobby"]).await?.total_occupancy, 10);
/// many.remove(ids[0]); // user-0 leaves
/// many.shutdown().await; // the other nine leave
/// assert_eq!(client.here_now().channels(["lobby"]).await?.total_occupancy, 0);
/// # Ok(()) }
/// ```
pub struct KeepPresentMany {
    client: Client,
    options: SessionOptions,
    commands: mpsc::UnboundedSender<ManyCommand>,
    events: mpsc::UnboundedReceiver<(SessionId, SessionEvent)>,
    running: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl fmt::Debug for KeepPresentMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresentMany")
            .field("running", &self.len())
            .field("finished", &self.task.is_finished())
            .finish_non_exhaustive()
    }
}

impl KeepPresentMany {
    /// Adds a user; its first heartbeat leaves as soon as a slot is free.
    ///
    /// The user is added when `add` is called (so many adds can be issued before awaiting
    /// any); the returned future only hands back its id. Fails at once, adding nothing, if the
    /// user id is invalid or a state value does not serialise.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// use presence_tokio::Member;
    /// let pending: Vec<_> = (0..100)
    ///     .map(|i| many.add(Member::new(format!("user-{i}")).channels(["lobby"])))
    ///     .collect();
    /// for id in pending {
    ///     println!("added {:?}", id.await?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn add(
        &self,
        member: Member,
    ) -> impl Future<Output = Result<SessionId, Error>> + Send + 'static {
        let sent = self.send_add(member);
        async move { sent?.await.map_err(|_| task_gone()) }
    }

    fn send_add(&self, member: Member) -> Result<oneshot::Receiver<SessionId>, Error> {
        let config = match member.identity {
            Identity::Config(config) => config,
            Identity::UserId(user_id) => {
                self.client.config().to_builder().user_id(user_id).build()?
            }
        };
        let options = member.options.unwrap_or_else(|| self.options.clone());
        let session = member
            .start
            .into_session(Arc::new(config), seeded(options, member.jitter_seed))?;
        let (reply, id) = oneshot::channel();
        self.commands
            .send(ManyCommand::Add {
                session: Box::new(session),
                reply,
            })
            .map_err(|_| task_gone())?;
        Ok(id)
    }

    /// Joins channels and groups for one user.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// let id = many.add(presence_tokio::Member::new("user-1")).await?;
    /// many.join(id, ["lobby"], ["friends"]);
    /// # Ok(()) }
    /// ```
    pub fn join<C, G, S, T>(&self, id: SessionId, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.update(id, Command::join(channels, groups));
    }

    /// Leaves channels and groups for one user (one leave; heartbeats go on for the rest).
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// let id = many.add(presence_tokio::Member::new("user-1").channels(["a", "b"])).await?;
    /// many.leave(id, ["b"], [""; 0]);
    /// # Ok(()) }
    /// ```
    pub fn leave<C, G, S, T>(&self, id: SessionId, channels: C, groups: G)
    where
        C: IntoIterator<Item = S>,
        G: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.update(id, Command::leave(channels, groups));
    }

    /// Sets one user's state for a channel or group (sent at once if joined). Fails only if
    /// `state` does not serialise.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// let id = many.add(presence_tokio::Member::new("user-1").channels(["lobby"])).await?;
    /// many.set_state(id, "lobby", &serde_json::json!({"mood": "busy"}))?;
    /// # Ok(()) }
    /// ```
    pub fn set_state<T: Serialize + ?Sized>(
        &self,
        id: SessionId,
        name: impl Into<String>,
        state: &T,
    ) -> Result<(), Error> {
        self.update(id, Command::set_state(name, state)?);
        Ok(())
    }

    /// Sets one user's already-built JSON state for a channel or group.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// let id = many.add(presence_tokio::Member::new("user-1").channels(["lobby"])).await?;
    /// many.set_state_value(id, "lobby", serde_json::json!({"mood": "busy"}));
    /// # Ok(()) }
    /// ```
    pub fn set_state_value(
        &self,
        id: SessionId,
        name: impl Into<String>,
        state: serde_json::Value,
    ) {
        self.update(id, Command::SetState(name.into(), state));
    }

    /// Changes one user's presence timeout (seconds, minimum 20).
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// let id = many.add(presence_tokio::Member::new("user-1").channels(["lobby"])).await?;
    /// many.set_presence_timeout(id, 600);
    /// # Ok(()) }
    /// ```
    pub fn set_presence_timeout(&self, id: SessionId, seconds: u32) {
        self.update(id, Command::SetPresenceTimeout(seconds));
    }

    /// Removes one user: it leaves everything (one leave), then stops
    /// ([`SessionEvent::Stopped`]) and its id is forgotten.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// let id = many.add(presence_tokio::Member::new("user-1").channels(["lobby"])).await?;
    /// many.remove(id);
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, id: SessionId) {
        self.update(id, Command::Shutdown);
    }

    /// Removes every user added so far (each sends one leave); the handle stays usable, and
    /// the `Left` and `Stopped` events can still be read.
    ///
    /// ```
    /// # async fn demo(mut many: presence_tokio::KeepPresentMany) {
    /// many.shutdown_all();
    /// while !many.is_empty() {
    ///     let _ = many.next_event().await; // Left, Stopped, …
    /// }
    /// # }
    /// ```
    pub fn shutdown_all(&self) {
        let _ = self.commands.send(ManyCommand::ShutdownAll);
    }

    /// Users running right now (added and not stopped), as last counted by the task.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) -> Result<(), presence_tokio::Error> {
    /// many.add(presence_tokio::Member::new("user-1").channels(["lobby"])).await?;
    /// assert_eq!(many.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Whether no user is running.
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) {
    /// assert!(client.keep_present_many().start().is_empty());
    /// # }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next event of any user; `None` only after the task has ended.
    ///
    /// Cancel safe: use it in `tokio::select!`.
    ///
    /// ```
    /// # async fn demo(mut many: presence_tokio::KeepPresentMany) {
    /// if let Some((id, event)) = many.next_event().await {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub async fn next_event(&mut self) -> Option<(SessionId, SessionEvent)> {
        self.events.recv().await
    }

    /// The next event if one is waiting, without waiting.
    ///
    /// ```
    /// # fn demo(mut many: presence_tokio::KeepPresentMany) {
    /// while let Some((id, event)) = many.try_next_event() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn try_next_event(&mut self) -> Option<(SessionId, SessionEvent)> {
        self.events.try_recv().ok()
    }

    /// Whether the driving task has ended (it only ends after shutdown or a dropped handle,
    /// or if its runtime shut down).
    ///
    /// ```
    /// # async fn demo(client: presence_tokio::Client) {
    /// assert!(!client.keep_present_many().start().is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Makes every user leave, waits for all leaves to be answered (or to fail), and waits for
    /// the task to end. Events not read yet are discarded: to see the `Left` events, call
    /// [`shutdown_all`](Self::shutdown_all) and read them first.
    ///
    /// ```
    /// # async fn demo(many: presence_tokio::KeepPresentMany) {
    /// many.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(self) {
        let Self {
            commands,
            events,
            task,
            ..
        } = self;
        let _ = commands.send(ManyCommand::Close);
        drop(commands);
        drop(events);
        if let Err(e) = task.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }

    fn update(&self, id: SessionId, command: Command) {
        let _ = self.commands.send(ManyCommand::Update(id, command));
    }
}

/// Events of all users, as [`KeepPresentMany::next_event`] returns them.
///
/// ```
/// # async fn demo(mut many: presence_tokio::KeepPresentMany) {
/// use futures_util::StreamExt as _;
/// while let Some((id, event)) = many.next().await {
///     println!("{id:?}: {event:?}");
/// }
/// # }
/// ```
impl Stream for KeepPresentMany {
    type Item = (SessionId, SessionEvent);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().events.poll_recv(cx)
    }
}

/// The state of the driving task besides the in-flight requests.
struct Driver {
    sessions: PresenceSessions,
    events: mpsc::UnboundedSender<(SessionId, SessionEvent)>,
    running: Arc<AtomicUsize>,
    /// Shutting everything down, then ending (the handle was dropped or shut down).
    closing: bool,
}

impl Driver {
    fn apply(&mut self, command: ManyCommand) {
        match command {
            ManyCommand::Add { session, reply } => {
                let id = self.sessions.insert(*session);
                if self.closing {
                    self.sessions.update(id, PresenceSession::shutdown);
                }
                self.count();
                // The add future may have been dropped: the user runs anyway.
                let _ = reply.send(id);
            }
            ManyCommand::Update(id, command) => {
                self.sessions.update(id, |session| command.apply(session));
            }
            ManyCommand::ShutdownAll => self.sessions.shutdown_all(),
            ManyCommand::Close => self.close(),
        }
    }

    fn close(&mut self) {
        self.closing = true;
        self.sessions.shutdown_all();
    }

    fn forward_events(&mut self) {
        // Count first: whoever reads a `Stopped` must find the user already gone from `len`.
        self.count();
        while let Some(event) = self.sessions.poll_event() {
            let _ = self.events.send(event);
        }
    }

    fn count(&self) {
        self.running.store(self.sessions.len(), Ordering::Relaxed);
    }
}

/// The driving task: [`PresenceSessions`]' drive contract, with requests as futures in one
/// `FuturesUnordered`, raced against commands and the one timer.
async fn drive(
    client: Client,
    max_in_flight: usize,
    mut commands: mpsc::UnboundedReceiver<ManyCommand>,
    events: mpsc::UnboundedSender<(SessionId, SessionEvent)>,
    running: Arc<AtomicUsize>,
) {
    let mut driver = Driver {
        sessions: PresenceSessions::new(),
        events,
        running,
        closing: false,
    };
    let mut in_flight = FuturesUnordered::new();
    let mut timer = Timer::new();
    let mut commands_open = true;
    loop {
        let now = timer.now();
        while in_flight.len() < max_in_flight {
            let Some((id, request)) = driver.sessions.poll_request(now) else {
                break;
            };
            if let Some(session) = driver.sessions.get(id) {
                let sent = send(client.clone(), Arc::clone(session.config()), request);
                in_flight.push(async move { (id, sent.await) });
            }
        }
        driver.forward_events();
        if driver.closing && driver.sessions.is_empty() && in_flight.is_empty() {
            return;
        }
        // At the cap, due work waits for a free slot rather than for the timer.
        timer.arm(if in_flight.len() < max_in_flight {
            driver.sessions.poll_timeout()
        } else {
            None
        });
        tokio::select! {
            Some((id, result)) = in_flight.next(), if !in_flight.is_empty() => {
                driver.sessions.handle_response(id, result, super::now());
            }
            command = commands.recv(), if commands_open => {
                if let Some(command) = command {
                    driver.apply(command);
                    for _ in 1..COMMAND_BATCH {
                        let Ok(command) = commands.try_recv() else { break };
                        driver.apply(command);
                    }
                } else {
                    // The handle was dropped: everyone leaves, then the task ends.
                    commands_open = false;
                    driver.close();
                }
            }
            () = timer.wait(), if timer.is_armed() => {}
            else => return,
        }
    }
}
