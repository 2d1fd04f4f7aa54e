//! Keep-present on a blocking driver: the driving thread (a short loop around [`Machine`]),
//! its request workers, and the waiting half of the handles.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::builders::{KeepPresentBuilder, KeepPresentManyBuilder};
use super::handles::{DriverSide, DropWait, KeepPresent, KeepPresentMany, Link};
use super::machine::{INPUT_BATCH, Input, Machine, Transmit};
use super::mailbox::{Mailbox, Received};
use crate::client::driver::{Blocking, BlockingDriver};
use crate::client::handle::Client;
use crate::error::Error;
use crate::session::{SessionEvent, SessionId};

impl<D: BlockingDriver> KeepPresentBuilder<Blocking<D>> {
    /// Starts the driving thread (with the driver's `spawn`): the first heartbeat leaves at
    /// once if anything was joined. Fails, sending nothing, when a state value did not
    /// serialise.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// let session = client.keep_present().channels(["lobby"]).start()?;
    /// let first = session.next_event(); // Joined { channels: ["lobby"], .. }
    /// # let _ = first;
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<KeepPresent<Blocking<D>>, Error> {
        let (client, session) = self.into_session()?;
        let config = Arc::clone(session.config());
        let link = Link::new();
        let id = SessionId::from_raw(0);
        let mut machine = Machine::solo();
        machine.handle(Input::Add(id, Box::new(session)), client.driver().0.now());
        spawn_driver(client.clone(), machine, link.driver_side(), 1);
        let link = link.wait_on_drop(&client);
        Ok(KeepPresent {
            client,
            config,
            id,
            link,
        })
    }
}

impl<D: BlockingDriver> KeepPresentManyBuilder<Blocking<D>> {
    /// Starts the driving thread; requests run on up to `max_in_flight` worker threads,
    /// started as needed.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) {
    /// let many = client.keep_present_many().max_in_flight(16).start();
    /// assert!(many.is_empty());
    /// # }
    /// ```
    pub fn start(self) -> KeepPresentMany<Blocking<D>> {
        let link = Link::new();
        let machine = Machine::new(self.max_in_flight);
        spawn_driver(
            self.client.clone(),
            machine,
            link.driver_side(),
            self.max_in_flight,
        );
        let link = link.wait_on_drop(&self.client);
        KeepPresentMany {
            client: self.client,
            options: self.options,
            link,
            next_id: AtomicU64::new(0),
        }
    }
}

impl<D: BlockingDriver> KeepPresent<Blocking<D>> {
    /// The next event, waiting as long as it takes; `None` once the session has stopped and
    /// every event was read.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(session: presence_proto::KeepPresent<presence_proto::Blocking<D>>) {
    /// if let Some(event) = session.next_event() {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn next_event(&self) -> Option<SessionEvent> {
        self.wait(None)
    }

    /// The next event, waiting at most `timeout`; `None` if none came (or the session ended).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(session: presence_proto::KeepPresent<presence_proto::Blocking<D>>) {
    /// use std::time::Duration;
    /// while let Some(event) = session.next_event_timeout(Duration::from_secs(1)) {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn next_event_timeout(&self, timeout: Duration) -> Option<SessionEvent> {
        let now = self.client.driver().0.now();
        self.wait(Some(now + timeout))
    }

    /// The events as they come, until the session ends (a blocking iterator).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(session: presence_proto::KeepPresent<presence_proto::Blocking<D>>) {
    /// for event in session.events() {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> impl Iterator<Item = SessionEvent> + '_ {
        std::iter::from_fn(|| self.next_event())
    }

    /// Leaves everything joined (one leave) and waits until the driver has ended.
    ///
    /// Returns the leave's error if it failed (the service then times the user out), or the
    /// error that had already stopped the session if its [`SessionEvent::Stopped`] was not
    /// read. Events not read yet are discarded.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(session: presence_proto::KeepPresent<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// session.shutdown()?;
    /// # Ok(()) }
    /// ```
    pub fn shutdown(self) -> Result<(), Error> {
        self.request_shutdown();
        let mut outcome = Ok(());
        while let Some(event) = self.next_event() {
            Self::outcome(&mut outcome, event);
        }
        outcome
    }

    fn wait(&self, deadline: Option<Instant>) -> Option<SessionEvent> {
        match self
            .link
            .events
            .recv_blocking(deadline, &|| self.client.driver().0.now())
        {
            Received::Item((_, event)) => Some(event),
            Received::Closed | Received::TimedOut => None,
        }
    }
}

impl<D: BlockingDriver> KeepPresentMany<Blocking<D>> {
    /// The next event of any user, waiting as long as it takes; `None` once the driver ended.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(many: presence_proto::KeepPresentMany<presence_proto::Blocking<D>>) {
    /// while let Some((id, event)) = many.next_event() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn next_event(&self) -> Option<(SessionId, SessionEvent)> {
        self.wait(None)
    }

    /// The next event of any user, waiting at most `timeout`.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(many: presence_proto::KeepPresentMany<presence_proto::Blocking<D>>) {
    /// let event = many.next_event_timeout(std::time::Duration::from_secs(1));
    /// # let _ = event;
    /// # }
    /// ```
    pub fn next_event_timeout(&self, timeout: Duration) -> Option<(SessionId, SessionEvent)> {
        let now = self.client.driver().0.now();
        self.wait(Some(now + timeout))
    }

    /// The events as they come, until the driver ends (a blocking iterator).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(many: presence_proto::KeepPresentMany<presence_proto::Blocking<D>>) {
    /// for (id, event) in many.events() {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> impl Iterator<Item = (SessionId, SessionEvent)> + '_ {
        std::iter::from_fn(|| self.next_event())
    }

    /// Makes every user leave and waits until the driver has ended.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(many: presence_proto::KeepPresentMany<presence_proto::Blocking<D>>) {
    /// many.shutdown();
    /// # }
    /// ```
    pub fn shutdown(self) {
        let _ = self.link.inbox.push(Input::Close);
        while self.next_event().is_some() {}
    }

    fn wait(&self, deadline: Option<Instant>) -> Option<(SessionId, SessionEvent)> {
        match self
            .link
            .events
            .recv_blocking(deadline, &|| self.client.driver().0.now())
        {
            Received::Item(item) => Some(item),
            Received::Closed | Received::TimedOut => None,
        }
    }
}

/// Starts the driving thread.
fn spawn_driver<D: BlockingDriver>(
    client: Client<Blocking<D>>,
    machine: Machine,
    side: DriverSide,
    max_workers: usize,
) {
    let runner = client.clone();
    client.driver().0.spawn(Box::new(move || {
        drive(&runner, machine, &side, max_workers);
    }));
}

/// The driving thread: send what is due (through the workers), forward events, wait for an
/// input or the timer.
fn drive<D: BlockingDriver>(
    client: &Client<Blocking<D>>,
    mut machine: Machine,
    side: &DriverSide,
    max_workers: usize,
) {
    let Blocking(driver) = client.driver();
    let jobs: Mailbox<Transmit> = Mailbox::new();
    let mut workers = 0;
    let mut busy = 0;
    let mut now = driver.now();
    loop {
        while let Some(transmit) = machine.poll_transmit(now) {
            busy += 1;
            if busy > workers && workers < max_workers {
                workers += 1;
                let client = client.clone();
                let (jobs, inbox) = (jobs.clone(), side.inbox.clone());
                driver.spawn(Box::new(move || work(&client, &jobs, &inbox)));
            }
            jobs.push(transmit);
        }
        while let Some(event) = machine.poll_event() {
            side.counts.note(&event.1);
            side.events.push(event);
        }
        if machine.is_done() {
            break;
        }
        let deadline = machine.poll_timeout();
        let received = side.inbox.recv_blocking(deadline, &|| driver.now());
        now = driver.now();
        match received {
            Received::Item(input) => {
                let mut input = Some(input);
                for _ in 0..INPUT_BATCH {
                    let Some(next) = input.take().or_else(|| side.inbox.try_recv()) else {
                        break;
                    };
                    if matches!(next, Input::Response(..)) {
                        busy -= 1;
                    }
                    machine.handle(next, now);
                }
            }
            // The timer fired: work due at the deadline must be found due.
            Received::TimedOut => now = deadline.map_or(now, |at| now.max(at)),
            Received::Closed => break,
        }
    }
    jobs.close(); // the workers finish what they hold, then end
}

/// A request worker: sends jobs until the queue closes, posting each outcome to the driver.
fn work<D: BlockingDriver>(
    client: &Client<Blocking<D>>,
    jobs: &Mailbox<Transmit>,
    inbox: &Mailbox<Input>,
) {
    let Blocking(driver) = client.driver();
    while let Received::Item(transmit) = jobs.recv_blocking(None, &|| driver.now()) {
        let result = client.execute_with(&transmit.config, &transmit.request);
        inbox.push(Input::Response(transmit.id, result));
    }
}

impl Link {
    /// Dropping a blocking handle waits for the leave it causes: at most twice the request
    /// timeout (a request that may be in flight, then the leave), so a script that ends right
    /// after dropping its handle has really left.
    fn wait_on_drop<D: BlockingDriver>(mut self, client: &Client<Blocking<D>>) -> Self {
        let limit = client.options().get_request_timeout().saturating_mul(2);
        let clock = client.clone();
        self.drop_wait = Some(DropWait {
            limit,
            now: Box::new(move || clock.driver().0.now()),
        });
        self
    }
}
