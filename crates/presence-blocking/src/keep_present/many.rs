//! Many users kept present by one thread and a small pool of request threads:
//! [`KeepPresentManyBuilder`], [`Member`] and the [`KeepPresentMany`] handle.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use presence_proto::{
    Config, Error, PresenceSession, PresenceSessions, SessionEvent, SessionId, SessionOptions,
    SessionRequest,
};
use serde::Serialize;

use super::{Command, Start, seeded};
use crate::Client;

/// Default number of request threads of a [`KeepPresentMany`], which is also the most
/// requests it has in flight at once: 8.
///
/// ```
/// assert_eq!(presence_blocking::keep_present::DEFAULT_MAX_IN_FLIGHT, 8);
/// ```
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// Most inputs (commands, answers) handled in one go before the timer gets a turn.
const INPUT_BATCH: usize = 1024;

/// Extra time a dropped handle waits beyond its requests' timeouts.
const DROP_MARGIN: Duration = Duration::from_millis(250);

impl Client {
    /// Starts keeping many users present from one thread and one timer, with a small pool of
    /// threads sending the requests: add [`Member`]s to the handle that
    /// [`start`](KeepPresentManyBuilder::start) returns.
    ///
    /// Members' requests share this client's pool, options and (unless a member brings its
    /// own [`Config`]) keyset.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// use presence_blocking::keep_present::Member;
    /// let many = client.keep_present_many().presence_timeout(120).start()?;
    /// for i in 0..1000 {
    ///     many.add(Member::new(format!("user-{i}")).channels(["lobby"]))?;
    /// }
    /// many.shutdown(); // a thousand leaves
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
/// number of request threads.
///
/// ```
/// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
/// let many = client.keep_present_many().presence_timeout(60).max_in_flight(16).start()?;
/// # drop(many);
/// # Ok(()) }
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
    /// # fn demo(client: presence_blocking::Client) {
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
    /// # fn demo(client: presence_blocking::Client) {
    /// use std::time::Duration;
    /// use presence_blocking::SessionOptions;
    /// let options = SessionOptions::new().presence_timeout(20).time_unit(Duration::from_millis(50));
    /// let builder = client.keep_present_many().options(options);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// The number of request threads, so at most this many requests in flight at once
    /// (default [`DEFAULT_MAX_IN_FLIGHT`], minimum 1). Work that falls due beyond it waits,
    /// earliest first, for a free thread. Size it so that `users × request time / interval`
    /// stays well below it.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) {
    /// let builder = client.keep_present_many().max_in_flight(32);
    /// # drop(builder);
    /// # }
    /// ```
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests.max(1);
        self
    }

    /// Spawns the driving thread and the request threads.
    ///
    /// Fails only if a thread could not be spawned
    /// ([`ErrorKind::Network`](crate::ErrorKind::Network) with the OS error).
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// let many = client.keep_present_many().start()?;
    /// assert!(many.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<KeepPresentMany, Error> {
        let (input, input_rx) = mpsc::channel();
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let mut workers = Vec::with_capacity(self.max_in_flight);
        for n in 0..self.max_in_flight {
            let client = self.client.clone();
            let job_rx = Arc::clone(&job_rx);
            let done = input.clone();
            let worker = std::thread::Builder::new()
                .name(format!("presence-keep-present-{n}"))
                .spawn(move || work(&client, &job_rx, &done))
                .map_err(|e| Error::network("spawn keep-present thread", e))?;
            workers.push(worker);
        }
        let (event_tx, events) = mpsc::channel();
        let running = Arc::new(AtomicUsize::new(0));
        let driver = Driver {
            sessions: PresenceSessions::new(),
            events: event_tx,
            running: Arc::clone(&running),
            closing: false,
        };
        let max_in_flight = self.max_in_flight;
        let thread = std::thread::Builder::new()
            .name("presence-keep-present-many".to_owned())
            .spawn(move || drive(driver, max_in_flight, &input_rx, jobs, workers));
        // On failure the job sender is dropped with the closure: the workers end.
        let thread = thread.map_err(|e| Error::network("spawn keep-present thread", e))?;
        Ok(KeepPresentMany {
            request_timeout: self.client.shared.limits.request_timeout,
            client: self.client,
            options: self.options,
            max_in_flight,
            input,
            events,
            running,
            thread: Some(thread),
        })
    }
}

/// Who the user is.
#[derive(Debug)]
enum Identity {
    UserId(String),
    Config(Config),
}

/// A user to add to a [`KeepPresentMany`]: who, where, with what state and timing.
///
/// ```
/// use presence_blocking::SessionOptions;
/// use presence_blocking::keep_present::Member;
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
    /// let member = presence_blocking::keep_present::Member::new("user-1").channels(["lobby"]);
    /// # drop(member);
    /// ```
    pub fn new(user_id: impl Into<String>) -> Self {
        Self::with_identity(Identity::UserId(user_id.into()))
    }

    /// A user with a configuration of its own (keyset, user id, auth token).
    ///
    /// ```
    /// use presence_blocking::Config;
    /// use presence_blocking::keep_present::Member;
    /// let config = Config::builder("sub-c-other", "user-1").auth_token("token-1").build()?;
    /// let member = Member::with_config(config).channels(["lobby"]);
    /// # drop(member);
    /// # Ok::<(), presence_blocking::Error>(())
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
    /// let member = presence_blocking::keep_present::Member::new("user-1").channels(["a", "b"]);
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
    /// let member = presence_blocking::keep_present::Member::new("user-1").groups(["friends"]);
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
    /// let member = presence_blocking::keep_present::Member::new("user-1")
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
    /// let member = presence_blocking::keep_present::Member::new("user-1")
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
    /// use presence_blocking::SessionOptions;
    /// use presence_blocking::keep_present::Member;
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
    /// let member = presence_blocking::keep_present::Member::new("user-1").jitter_seed(7);
    /// # drop(member);
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }
}

/// What the driving thread waits for: commands from the handle, answers from the workers.
#[derive(Debug)]
enum Input {
    Add {
        session: Box<PresenceSession>,
        reply: SyncSender<SessionId>,
    },
    Update(SessionId, Command),
    ShutdownAll,
    /// Everyone leaves, then the threads end (the handle is shutting down or dropped).
    Close,
    /// A worker's answer to a request.
    Done(SessionId, Result<(), Error>),
}

/// A request for a worker to send.
struct Job {
    id: SessionId,
    config: Arc<Config>,
    request: SessionRequest,
}

/// Many users kept present by one thread and one timer; from [`Client::keep_present_many`].
///
/// Each user is a [`PresenceSession`] inside one [`PresenceSessions`], driven by one thread;
/// the requests are sent by [`max_in_flight`](KeepPresentManyBuilder::max_in_flight) request
/// threads, so commands are applied at once even while requests are in flight. Commands name
/// a user by the [`SessionId`] that [`add`](Self::add) returned; commands for users that have
/// stopped are ignored. Events come tagged with the id, from
/// [`next_event`](Self::next_event) and its variants; they queue up until read.
///
/// [`shutdown`](Self::shutdown) makes every user leave and waits; dropping the handle does
/// the same, waiting at most the time the leaves should take (the request timeout for each
/// round of `max_in_flight` leaves, plus one).
///
/// ```no_run
/// use presence_blocking::keep_present::Member;
/// use presence_blocking::{Client, Config, SessionEvent};
///
/// let config = Config::builder("demo", "admin").origin("http://127.0.0.1:8090").build()?;
/// let client = Client::new(config)?;
/// let many = client.keep_present_many().presence_timeout(60).start()?;
/// let mut ids = Vec::new();
/// for i in 0..10 {
///     ids.push(many.add(Member::new(format!("user-{i}")).channels(["lobby"]))?);
/// }
/// let mut joined = 0;
/// while joined < 10 {
///     if let Some((_id, SessionEvent::Joined { .. })) = many.next_event() {
///         joined += 1;
///     }
/// }
/// assert_eq!(client.here_now().channels(["lobby"]).call()?.total_occupancy, 10);
/// many.remove(ids[0]); // user-0 leaves
/// many.shutdown(); // the other nine leave
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub struct KeepPresentMany {
    client: Client,
    options: SessionOptions,
    max_in_flight: usize,
    request_timeout: Duration,
    input: Sender<Input>,
    events: Receiver<(SessionId, SessionEvent)>,
    running: Arc<AtomicUsize>,
    /// `None` once joined (or given up on, when dropping).
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for KeepPresentMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepPresentMany")
            .field("running", &self.len())
            .field("max_in_flight", &self.max_in_flight)
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl KeepPresentMany {
    /// Adds a user and returns its id; its first heartbeat leaves as soon as a request thread
    /// is free.
    ///
    /// Fails, adding nothing, if the user id is invalid or a state value does not serialise
    /// (or if the driving thread has ended, which only a panic there can cause).
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// use presence_blocking::keep_present::Member;
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
        let session = member
            .start
            .into_session(Arc::new(config), seeded(options, member.jitter_seed))?;
        let (reply, id) = mpsc::sync_channel(1);
        self.input
            .send(Input::Add {
                session: Box::new(session),
                reply,
            })
            .map_err(|_| thread_gone())?;
        id.recv().map_err(|_| thread_gone())
    }

    /// Joins channels and groups for one user.
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// let id = many.add(presence_blocking::keep_present::Member::new("user-1"))?;
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
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// let id = many.add(presence_blocking::keep_present::Member::new("user-1").channels(["a", "b"]))?;
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
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// let id = many.add(presence_blocking::keep_present::Member::new("user-1").channels(["lobby"]))?;
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
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// let id = many.add(presence_blocking::keep_present::Member::new("user-1").channels(["lobby"]))?;
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
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// let id = many.add(presence_blocking::keep_present::Member::new("user-1").channels(["lobby"]))?;
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
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// let id = many.add(presence_blocking::keep_present::Member::new("user-1").channels(["lobby"]))?;
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
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) {
    /// many.shutdown_all();
    /// while !many.is_empty() {
    ///     let _ = many.next_event(); // Left, Stopped, …
    /// }
    /// # }
    /// ```
    pub fn shutdown_all(&self) {
        let _ = self.input.send(Input::ShutdownAll);
    }

    /// Users running right now (added and not stopped), as last counted by the thread.
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) -> Result<(), presence_blocking::Error> {
    /// many.add(presence_blocking::keep_present::Member::new("user-1").channels(["lobby"]))?;
    /// assert_eq!(many.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Whether no user is running.
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// assert!(client.keep_present_many().start()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the next event of any user; `None` only after the thread has ended.
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) {
    /// if let Some((id, event)) = many.next_event() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn next_event(&self) -> Option<(SessionId, SessionEvent)> {
        self.events.recv().ok()
    }

    /// Waits at most `timeout` for the next event of any user.
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) {
    /// use std::time::Duration;
    /// while let Some((id, event)) = many.next_event_timeout(Duration::from_secs(1)) {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn next_event_timeout(&self, timeout: Duration) -> Option<(SessionId, SessionEvent)> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The next event if one is waiting, without waiting.
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) {
    /// while let Some((id, event)) = many.try_next_event() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn try_next_event(&self) -> Option<(SessionId, SessionEvent)> {
        self.events.try_recv().ok()
    }

    /// The channel events arrive on (`Disconnected` once the thread has ended and every event
    /// was read).
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) {
    /// for (id, event) in many.events().try_iter() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> &Receiver<(SessionId, SessionEvent)> {
        &self.events
    }

    /// Whether the driving thread has ended (only after shutdown, or a panic there).
    ///
    /// ```
    /// # fn demo(client: presence_blocking::Client) -> Result<(), presence_blocking::Error> {
    /// assert!(!client.keep_present_many().start()?.is_finished());
    /// # Ok(()) }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Makes every user leave, waits for all leaves to be answered (or to fail), and waits for
    /// the threads to end. Events not read yet are discarded: to see the `Left` events, call
    /// [`shutdown_all`](Self::shutdown_all) and read them first.
    ///
    /// # Panics
    ///
    /// Resumes the driving thread's panic, if it panicked.
    ///
    /// ```
    /// # fn demo(many: presence_blocking::keep_present::KeepPresentMany) {
    /// many.shutdown();
    /// # }
    /// ```
    pub fn shutdown(mut self) {
        self.finish(None);
        if let Some(thread) = self.thread.take() {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }

    fn update(&self, id: SessionId, command: Command) {
        let _ = self.input.send(Input::Update(id, command));
    }

    /// Asks the thread to close and reads (discarding) events until it has ended, or until
    /// `limit` has passed (then the thread is left to finish on its own).
    fn finish(&mut self, limit: Option<Duration>) {
        let _ = self.input.send(Input::Close);
        let deadline = limit.map(|limit| Instant::now() + limit);
        loop {
            let received = match deadline {
                None => self
                    .events
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => self
                    .events
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            match received {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!(
                        running = self.len(),
                        "keep-present threads still busy after {:?}; not waiting for them",
                        limit.unwrap_or_default()
                    );
                    self.thread = None;
                    return;
                }
            }
        }
    }
}

/// Dropping the handle makes every user leave and waits for the leaves, at most the request
/// timeout for each round of `max_in_flight` leaves, plus one more (requests in flight);
/// threads still busy then are left to finish on their own.
impl Drop for KeepPresentMany {
    fn drop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        let rounds = self.len().div_ceil(self.max_in_flight).max(1) + 1;
        let limit = self
            .request_timeout
            .saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
            + DROP_MARGIN;
        self.finish(Some(limit));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The error for a handle whose driving thread is gone (it panicked).
fn thread_gone() -> Error {
    Error::InvalidArgument {
        field: "keep_present",
        reason: "the keep-present thread has ended".to_owned(),
    }
}

/// A request thread: sends jobs until the driving thread drops the job queue.
fn work(client: &Client, jobs: &Mutex<Receiver<Job>>, done: &Sender<Input>) {
    loop {
        // Hold the lock only to take a job, never while sending it.
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(Job {
            id,
            config,
            request,
        }) = job
        else {
            return;
        };
        let result = client.execute_with(&config, &request);
        if done.send(Input::Done(id, result)).is_err() {
            return;
        }
    }
}

/// The state of the driving thread besides the requests in flight.
struct Driver {
    sessions: PresenceSessions,
    events: Sender<(SessionId, SessionEvent)>,
    running: Arc<AtomicUsize>,
    /// Shutting everything down, then ending (the handle shut down or was dropped).
    closing: bool,
}

impl Driver {
    /// Applies one input; `true` if it was an answer (a request thread is free again).
    fn apply(&mut self, input: Input) -> bool {
        match input {
            Input::Add { session, reply } => {
                let id = self.sessions.insert(*session);
                if self.closing {
                    self.sessions.update(id, PresenceSession::shutdown);
                }
                self.count();
                let _ = reply.send(id);
            }
            Input::Update(id, command) => {
                self.sessions.update(id, |session| command.apply(session));
            }
            Input::ShutdownAll => self.sessions.shutdown_all(),
            Input::Close => {
                self.closing = true;
                self.sessions.shutdown_all();
            }
            Input::Done(id, result) => {
                self.sessions.handle_response(id, result, Instant::now());
                return true;
            }
        }
        false
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

/// The driving thread: [`PresenceSessions`]' drive contract, with requests handed to the
/// request threads and their answers coming back as inputs, waited for until the one timer.
fn drive(
    mut driver: Driver,
    max_in_flight: usize,
    inputs: &Receiver<Input>,
    jobs: Sender<Job>,
    workers: Vec<JoinHandle<()>>,
) {
    let mut in_flight = 0usize;
    let mut fired: Option<Instant> = None;
    loop {
        let now = fired
            .take()
            .map_or_else(Instant::now, |at| at.max(Instant::now()));
        while in_flight < max_in_flight {
            let Some((id, request)) = driver.sessions.poll_request(now) else {
                break;
            };
            let Some(session) = driver.sessions.get(id) else {
                continue;
            };
            let config = Arc::clone(session.config());
            if jobs
                .send(Job {
                    id,
                    config,
                    request,
                })
                .is_err()
            {
                // Every request thread is gone (they only end with this thread): give up.
                return;
            }
            in_flight += 1;
        }
        driver.forward_events();
        if driver.closing && driver.sessions.is_empty() && in_flight == 0 {
            break;
        }
        // With every request thread busy, due work waits for an answer rather than the timer.
        let deadline = if in_flight < max_in_flight {
            driver.sessions.poll_timeout()
        } else {
            None
        };
        let received = match deadline {
            Some(at) => inputs.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => inputs.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(input) => {
                in_flight -= usize::from(driver.apply(input));
                for _ in 1..INPUT_BATCH {
                    match inputs.try_recv() {
                        Ok(input) => in_flight -= usize::from(driver.apply(input)),
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => fired = deadline,
            // Only if every request thread is gone (they hold senders until this thread ends).
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(jobs);
    for worker in workers {
        let _ = worker.join();
    }
}
