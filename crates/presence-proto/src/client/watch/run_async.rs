//! A watch on an async driver: the driving task keeps its requests in hand, so a superseded
//! long-poll is dropped (cancelled) at once rather than left to run out.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;

use super::builder::WatchBuilder;
use super::handle::{DriverSide, Input, Link, WatchHandle, apply};
use super::kind::WatchKind;
use crate::client::driver::{Async, AsyncDriver};
use crate::client::handle::Client;
use crate::error::Error;
use crate::watch::WatchToken;

/// A reply, type-erased for the inbox.
type Reply = Result<Box<dyn std::any::Any + Send>, Error>;

/// A request of the driving task, in flight: its token, whether it is a long-poll, the send.
type InFlight = (
    WatchToken,
    bool,
    Pin<Box<dyn Future<Output = Reply> + Send>>,
);

impl<D: AsyncDriver, I: WatchKind> WatchBuilder<Async<D>, I> {
    /// Spawns the driving task (with the driver's `spawn`); the handshake leaves at once.
    /// Fails, sending nothing, on bad names or a state that does not serialise.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let mut watch = client.watch().channels(["lobby"]).start()?;
    /// let first = watch.next_item().await; // Connected { .. }
    /// # let _ = first;
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<WatchHandle<Async<D>, I>, Error> {
        let (client, machine) = self.into_machine()?;
        let link = Link::new();
        let Async(driver) = client.driver();
        driver.spawn(drive::<D, I>(client.clone(), machine, link.driver_side()));
        Ok(WatchHandle { client, link })
    }
}

impl<D: AsyncDriver, I: WatchKind> WatchHandle<Async<D>, I> {
    /// The next item; `None` once the watch has ended and every item was read. Cancel safe.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(mut watch: presence_proto::WatchHandle<presence_proto::Async<D>>) {
    /// while let Some(item) = watch.next_item().await {
    ///     println!("{item:?}");
    /// }
    /// # }
    /// ```
    pub async fn next_item(&mut self) -> Option<I> {
        poll_fn(|cx| self.link.items.poll_recv(cx)).await
    }

    /// Stops (with the leave, in present mode unless suppressed) and waits for the end.
    /// Returns the error that ended the watch, or the leave's, if any.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(watch: presence_proto::WatchHandle<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// watch.shutdown().await?;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(self) -> Result<(), Error> {
        self.stop();
        let mut outcome = Ok(());
        while let Some(item) = poll_fn(|cx| self.link.items.poll_recv(cx)).await {
            if let Some(error) = item.failure() {
                outcome = Err(error);
            }
        }
        outcome
    }
}

#[cfg(feature = "stream")]
impl<D: AsyncDriver, I: WatchKind> futures_core::Stream for WatchHandle<Async<D>, I> {
    type Item = I;

    fn poll_next(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Option<I>> {
        self.link.items.poll_recv(cx)
    }
}

/// The driving task: send what is due (dropping superseded polls), forward items, wait for
/// an input, a reply or the backoff timer.
// Written out (not `async fn`) to state, and have the compiler check, that the task is
// `Send + 'static` for every driver.
#[allow(clippy::manual_async_fn)]
fn drive<D: AsyncDriver, I: WatchKind>(
    client: Client<Async<D>>,
    mut machine: I::Machine,
    side: DriverSide<I>,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        let Async(driver) = client.driver();
        let mut in_flight: Vec<InFlight> = Vec::new();
        let mut now = driver.now();
        loop {
            while let Some((token, request)) = I::poll_transmit(&mut machine, now) {
                let is_poll = I::is_poll(&request);
                if is_poll {
                    // A new poll supersedes the one in flight: cancel it.
                    in_flight.retain(|(_, poll, _)| !poll);
                }
                let client = client.clone();
                let future = Box::pin(async move {
                    let reply = client.execute(&request).await;
                    reply.map(|reply| Box::new(reply) as Box<dyn std::any::Any + Send>)
                });
                in_flight.push((token, is_poll, future));
            }
            while let Some(item) = I::poll_item(&mut machine) {
                side.items.push(item);
            }
            if I::is_stopped(&machine) {
                // Leaves are answered by then; a poll still out is dropped (cancelled).
                return; // `side` closes the items: the handle's waits end
            }
            let deadline = I::poll_timeout(&machine);
            let timer = async {
                match deadline {
                    Some(at) => driver.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let mut timer = pin!(timer);
            let input = poll_fn(|cx| {
                if let Poll::Ready(input) = side.inbox.poll_recv(cx) {
                    return Poll::Ready(input);
                }
                for i in 0..in_flight.len() {
                    if let Some((token, _, future)) = in_flight.get_mut(i) {
                        if let Poll::Ready(result) = future.as_mut().poll(cx) {
                            let token = *token;
                            drop(in_flight.swap_remove(i));
                            return Poll::Ready(Some(Input::Response(token, result)));
                        }
                    }
                }
                timer.as_mut().poll(cx).map(|()| None)
            })
            .await;
            now = driver.now();
            match input {
                Some(input) => {
                    apply::<I>(&mut machine, input, now);
                    while let Some(input) = side.inbox.try_recv() {
                        apply::<I>(&mut machine, input, now);
                    }
                }
                None => now = deadline.map_or(now, |at| now.max(at)),
            }
        }
    }
}
