//! A watch on a blocking driver: a driving thread, and a thread per request in flight. A
//! superseded long-poll cannot be cancelled on a blocking stack: it runs out (at most the
//! service's hold time) and its reply is ignored.

use std::time::{Duration, Instant};

use super::builder::WatchBuilder;
use super::handle::{DriverSide, Input, Link, WatchHandle, apply};
use super::kind::WatchKind;
use crate::client::driver::{Blocking, BlockingDriver};
use crate::client::handle::Client;
use crate::client::keep::mailbox::Received;
use crate::error::Error;

impl<D: BlockingDriver, I: WatchKind> WatchBuilder<Blocking<D>, I> {
    /// Starts the driving thread; the handshake leaves at once. Fails, sending nothing, on bad
    /// names or a state that does not serialise.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// let watch = client.watch().channels(["lobby"]).observe(true).start()?;
    /// for item in &watch {
    ///     println!("{item:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn start(self) -> Result<WatchHandle<Blocking<D>, I>, Error> {
        let (client, machine) = self.into_machine()?;
        let link = Link::new();
        let side = link.driver_side();
        let runner = client.clone();
        client
            .driver()
            .0
            .spawn(Box::new(move || drive::<D, I>(&runner, machine, &side)));
        Ok(WatchHandle { client, link })
    }
}

impl<D: BlockingDriver, I: WatchKind> WatchHandle<Blocking<D>, I> {
    /// The next item, waiting as long as it takes; `None` once the watch has ended.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(watch: presence_proto::WatchHandle<presence_proto::Blocking<D>>) {
    /// while let Some(item) = watch.next_item() {
    ///     println!("{item:?}");
    /// }
    /// # }
    /// ```
    pub fn next_item(&self) -> Option<I> {
        self.wait(None)
    }

    /// The next item, waiting at most `timeout`; `None` if none came (or the watch ended).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(watch: presence_proto::WatchHandle<presence_proto::Blocking<D>>) {
    /// let item = watch.next_item_timeout(std::time::Duration::from_secs(1));
    /// # let _ = item;
    /// # }
    /// ```
    pub fn next_item_timeout(&self, timeout: Duration) -> Option<I> {
        let now = self.client.driver().0.now();
        self.wait(Some(now + timeout))
    }

    /// Stops (with the leave, in present mode unless suppressed) and waits for the end.
    /// Returns the error that ended the watch, or the leave's, if any.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(watch: presence_proto::WatchHandle<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// watch.shutdown()?;
    /// # Ok(()) }
    /// ```
    pub fn shutdown(self) -> Result<(), Error> {
        self.stop();
        let mut outcome = Ok(());
        while let Some(item) = self.next_item() {
            if let Some(error) = item.failure() {
                outcome = Err(error);
            }
        }
        outcome
    }

    /// The items as they come, until the watch ends (a blocking iterator; also
    /// `for item in &watch`).
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(watch: presence_proto::WatchHandle<presence_proto::Blocking<D>>) {
    /// for item in watch.iter() {
    ///     println!("{item:?}");
    /// }
    /// # }
    /// ```
    pub fn iter(&self) -> WatchItems<'_, D, I> {
        WatchItems(self)
    }

    fn wait(&self, deadline: Option<Instant>) -> Option<I> {
        match self
            .link
            .items
            .recv_blocking(deadline, &|| self.client.driver().0.now())
        {
            Received::Item(item) => Some(item),
            Received::Closed | Received::TimedOut => None,
        }
    }
}

/// The items of a blocking watch as they come, until it ends; from iterating over
/// `&WatchHandle` (`for item in &watch`).
///
/// ```
/// # fn demo<D: presence_proto::BlockingDriver>(watch: presence_proto::WatchHandle<presence_proto::Blocking<D>>) {
/// let items: presence_proto::WatchItems<'_, D, presence_proto::WatchItem> = (&watch).into_iter();
/// for item in items.take(3) {
///     println!("{item:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct WatchItems<'a, D, I>(&'a WatchHandle<Blocking<D>, I>);

impl<D: BlockingDriver, I: WatchKind> Iterator for WatchItems<'_, D, I> {
    type Item = I;

    fn next(&mut self) -> Option<I> {
        self.0.next_item()
    }
}

impl<'a, D: BlockingDriver, I: WatchKind> IntoIterator for &'a WatchHandle<Blocking<D>, I> {
    type Item = I;
    type IntoIter = WatchItems<'a, D, I>;

    fn into_iter(self) -> WatchItems<'a, D, I> {
        WatchItems(self)
    }
}

/// The driving thread: send what is due (each request on a thread of its own), forward items,
/// wait for an input, a reply or the backoff timer.
fn drive<D: BlockingDriver, I: WatchKind>(
    client: &Client<Blocking<D>>,
    mut machine: I::Machine,
    side: &DriverSide<I>,
) {
    let Blocking(driver) = client.driver();
    let mut now = driver.now();
    loop {
        while let Some((token, request)) = I::poll_transmit(&mut machine, now) {
            let client = client.clone();
            let inbox = side.inbox.clone();
            driver.spawn(Box::new(move || {
                let result = client.execute(&request);
                let result = result.map(|reply| Box::new(reply) as Box<dyn std::any::Any + Send>);
                inbox.push(Input::Response(token, result));
            }));
        }
        while let Some(item) = I::poll_item(&mut machine) {
            side.items.push(item);
        }
        if I::is_stopped(&machine) {
            return; // leaves are answered by then; a poll still out is ignored
        }
        let deadline = I::poll_timeout(&machine);
        let received = side.inbox.recv_blocking(deadline, &|| driver.now());
        now = driver.now();
        match received {
            Received::Item(input) => {
                let mut input = Some(input);
                while let Some(next) = input.take().or_else(|| side.inbox.try_recv()) {
                    apply::<I>(&mut machine, next, now);
                }
            }
            Received::TimedOut => now = deadline.map_or(now, |at| now.max(at)),
            Received::Closed => return,
        }
    }
}
