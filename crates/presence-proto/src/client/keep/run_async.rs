//! Keep-present on an async driver: the driving task (a short loop around [`Machine`]), and
//! the waiting half of the handles.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::Poll;

use super::builders::{KeepPresentBuilder, KeepPresentManyBuilder};
use super::handles::{DriverSide, KeepPresent, KeepPresentMany, Link};
use super::in_flight::InFlight;
use super::machine::{INPUT_BATCH, Input, Machine};
use crate::client::driver::{Async, AsyncDriver};
use crate::client::handle::Client;
use crate::error::Error;
use crate::session::{SessionEvent, SessionId};

impl<D: AsyncDriver> KeepPresentBuilder<Async<D>> {
    /// Spawns the driving task (with the driver's `spawn`): the first heartbeat leaves at once
    /// if anything was joined. Fails, sending nothing, when a state value did not serialise.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let mut session = client.keep_present().channels(["lobby"]).start()?;
    /// let first = session.next_event().await; // Joined { channels: ["lobby"], .. }
    /// # let _ = first;
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<KeepPresent<Async<D>>, Error> {
        let (client, session) = self.into_session()?;
        let config = Arc::clone(session.config());
        let link = Link::new();
        let id = SessionId::from_raw(0);
        let mut machine = Machine::solo();
        machine.handle(Input::Add(id, Box::new(session)), client.driver().0.now());
        let side = link.driver_side();
        let Async(driver) = client.driver();
        driver.spawn(drive(client.clone(), machine, side));
        Ok(KeepPresent {
            client,
            config,
            id,
            link,
        })
    }
}

impl<D: AsyncDriver> KeepPresentManyBuilder<Async<D>> {
    /// Spawns the one driving task (with the driver's `spawn`).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) {
    /// let many = client.keep_present_many().start();
    /// assert!(many.is_empty());
    /// # }
    /// ```
    pub fn start(self) -> KeepPresentMany<Async<D>> {
        let link = Link::new();
        let machine = Machine::new(self.max_in_flight);
        let Async(driver) = self.client.driver();
        driver.spawn(drive(self.client.clone(), machine, link.driver_side()));
        KeepPresentMany {
            client: self.client,
            options: self.options,
            link,
            next_id: AtomicU64::new(0),
        }
    }
}

impl<D: AsyncDriver> KeepPresent<Async<D>> {
    /// The next event; `None` once the session has stopped and every event was read.
    /// Cancel safe.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(mut session: presence_proto::KeepPresent<presence_proto::Async<D>>) {
    /// if let Some(event) = session.next_event().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub async fn next_event(&mut self) -> Option<SessionEvent> {
        poll_fn(|cx| self.link.events.poll_recv(cx))
            .await
            .map(|(_, event)| event)
    }

    /// Leaves everything joined (one leave) and waits until the driver has ended.
    ///
    /// Returns the leave's error if it failed (the service then times the user out), or the
    /// error that had already stopped the session if its [`SessionEvent::Stopped`] was not
    /// read. Events not read yet are discarded.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(session: presence_proto::KeepPresent<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// session.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(self) -> Result<(), Error> {
        self.request_shutdown();
        let mut outcome = Ok(());
        while let Some((_, event)) = poll_fn(|cx| self.link.events.poll_recv(cx)).await {
            Self::outcome(&mut outcome, event);
        }
        outcome
    }
}

impl<D: AsyncDriver> KeepPresentMany<Async<D>> {
    /// The next event of any user; `None` once the driver has ended. Cancel safe.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(mut many: presence_proto::KeepPresentMany<presence_proto::Async<D>>) {
    /// while let Some((id, event)) = many.next_event().await {
    ///     println!("{id:?}: {event:?}");
    /// }
    /// # }
    /// ```
    pub async fn next_event(&mut self) -> Option<(SessionId, SessionEvent)> {
        poll_fn(|cx| self.link.events.poll_recv(cx)).await
    }

    /// Makes every user leave and waits until the driver has ended.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(many: presence_proto::KeepPresentMany<presence_proto::Async<D>>) {
    /// many.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(self) {
        let _ = self.link.inbox.push(Input::Close);
        while poll_fn(|cx| self.link.events.poll_recv(cx)).await.is_some() {}
    }
}

#[cfg(feature = "stream")]
impl<D: AsyncDriver> futures_core::Stream for KeepPresent<Async<D>> {
    type Item = SessionEvent;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<SessionEvent>> {
        self.link
            .events
            .poll_recv(cx)
            .map(|e| e.map(|(_, event)| event))
    }
}

#[cfg(feature = "stream")]
impl<D: AsyncDriver> futures_core::Stream for KeepPresentMany<Async<D>> {
    type Item = (SessionId, SessionEvent);

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        self.link.events.poll_recv(cx)
    }
}

/// The driving task: send what is due, forward events, wait for an input or the timer.
// Written out (not `async fn`) to state, and have the compiler check, that the task is
// `Send + 'static` for every driver.
#[allow(clippy::manual_async_fn)]
fn drive<D: AsyncDriver>(
    client: Client<Async<D>>,
    mut machine: Machine,
    side: DriverSide,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        let Async(driver) = client.driver();
        // Requests are polled inside this task: no task per heartbeat.
        let mut in_flight = InFlight::new();
        let mut inputs = Vec::with_capacity(INPUT_BATCH);
        let mut now = driver.now();
        loop {
            while let Some(transmit) = machine.poll_transmit(now) {
                let client = client.clone();
                in_flight.push(async move {
                    let result = client
                        .execute_with(&transmit.config, &transmit.request)
                        .await;
                    (transmit.id, result)
                });
            }
            while let Some(event) = machine.poll_event() {
                side.counts.note(&event.1);
                side.events.push(event);
            }
            if machine.is_done() && in_flight.len() == 0 {
                return; // `side` closes the events: the handle's waits end
            }
            let deadline = machine.poll_timeout();
            let timer = async {
                match deadline {
                    Some(at) => driver.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let mut timer = pin!(timer);
            // Commands and responses, as many as are ready (up to a batch), else the timer.
            let fired = poll_fn(|cx| {
                while inputs.len() < INPUT_BATCH {
                    match side.inbox.poll_recv(cx) {
                        Poll::Ready(Some(input)) => inputs.push(input),
                        Poll::Ready(None) | Poll::Pending => break,
                    }
                }
                while inputs.len() < INPUT_BATCH {
                    match in_flight.poll_next(cx) {
                        Poll::Ready((id, result)) => inputs.push(Input::Response(id, result)),
                        Poll::Pending => break,
                    }
                }
                if inputs.is_empty() {
                    timer.as_mut().poll(cx).map(|()| true)
                } else {
                    Poll::Ready(false)
                }
            })
            .await;
            now = driver.now();
            if fired {
                // The timer fired (a timer may wake a little early: due work must be due).
                now = deadline.map_or(now, |at| now.max(at));
            }
            for input in inputs.drain(..) {
                machine.handle(input, now);
            }
        }
    }
}
