//! here_now over every page on the client: `pages()` (a `Stream` for async drivers, an
//! `Iterator` for blocking ones) and `all_pages()` (the merged result). The paging itself is
//! the core's [`HereNowPages`]; this file only sends each page through the client's retry
//! loop.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::call::Call;
use super::driver::{Async, AsyncDriver, Blocking, BlockingDriver};
use super::handle::Client;
use crate::error::Error;
use crate::ops::here_now::{HereNow, HereNowResult};
use crate::ops::here_now_pages::{HereNowAllPages, HereNowPages};

/// The pages of a here_now, one reply at a time: an `Iterator` for blocking drivers, a
/// `futures_core::Stream` (feature `stream`) and [`HereNowPageStream::next`] for async ones.
/// Made by `client.here_now()…pages()`.
///
/// Each item is one page as the service sent it; [`Self::merged`] is everything so far with
/// each user once. After an error the pages end.
///
/// ```
/// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
/// let mut pages = client.here_now().channels(["arena"]).limit(1000).pages();
/// for page in &mut pages {
///     let page = page?;
///     println!("{} more", page.channels.iter().map(|c| c.occupants.len()).sum::<usize>());
/// }
/// let all = pages.merged();
/// println!("{} users over {} pages", all.result.total_occupancy, all.pages);
/// # Ok(()) }
/// ```
#[must_use = "pages are fetched as they are iterated"]
pub struct HereNowPageStream<F> {
    client: Client<F>,
    cursor: HereNowPages,
    deferred: Option<Error>,
    failed: bool,
    #[allow(clippy::type_complexity)]
    in_flight: Option<Pin<Box<dyn Future<Output = Result<HereNowResult, Error>> + Send>>>,
}

impl<F> fmt::Debug for HereNowPageStream<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HereNowPageStream")
            .field("cursor", &self.cursor)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<F> HereNowPageStream<F> {
    fn new(call: Call<'_, F, HereNow>) -> Self {
        Self {
            client: call.client,
            cursor: HereNowPages::new(call.op),
            deferred: call.deferred,
            failed: false,
            in_flight: None,
        }
    }

    /// Everything fetched so far, merged (each user once per channel), with the page count
    /// and the occupancy-consistency note.
    ///
    /// ```
    /// # fn demo<F>(pages: presence_proto::HereNowPageStream<F>) {
    /// let all = pages.merged();
    /// if all.occupancy_changed {
    ///     eprintln!("occupancy moved from {} to {} while paging", all.first_total_occupancy, all.result.total_occupancy);
    /// }
    /// # }
    /// ```
    pub fn merged(self) -> HereNowAllPages {
        self.cursor.finish()
    }

    /// The next page's operation to send, or the end (an error ends the pages too).
    fn next_op(&mut self) -> Option<Result<HereNow, Error>> {
        if let Some(error) = self.deferred.take() {
            self.failed = true;
            return Some(Err(error));
        }
        if self.failed {
            return None;
        }
        self.cursor.next_page().map(Ok)
    }

    fn recorded(&mut self, outcome: Result<HereNowResult, Error>) -> Result<HereNowResult, Error> {
        match outcome {
            Ok(page) => {
                self.cursor.record(page.clone());
                Ok(page)
            }
            Err(error) => {
                self.failed = true;
                Err(error)
            }
        }
    }
}

impl<F> Call<'_, F, HereNow> {
    /// Every page of this here_now, one reply at a time: `offset` walks by `limit` until
    /// each channel's list is shorter than `limit` (the service has no paging cursor). An
    /// `Iterator` for blocking drivers, a `Stream` for async ones; see [`HereNowPageStream`].
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let mut pages = client.here_now().channels(["arena"]).limit(1000).pages();
    /// while let Some(page) = pages.next().await {
    ///     println!("{} channel(s) on this page", page?.channels.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(self) -> HereNowPageStream<F> {
        HereNowPageStream::new(self)
    }
}

impl<D: BlockingDriver> Iterator for HereNowPageStream<Blocking<D>> {
    type Item = Result<HereNowResult, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let op = match self.next_op()? {
            Ok(op) => op,
            Err(error) => return Some(Err(error)),
        };
        let outcome = self.client.execute(&op);
        Some(self.recorded(outcome))
    }
}

impl<D: BlockingDriver> Call<'_, Blocking<D>, HereNow> {
    /// Fetches every page and returns them merged: each channel with every occupant once,
    /// plus the page count and whether total occupancy changed while paging.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// let all = client.here_now().channels(["arena"]).limit(1000).all_pages()?;
    /// println!("{} users in {} pages", all.result.channels[0].occupants.len(), all.pages);
    /// # Ok(()) }
    /// ```
    pub fn all_pages(self) -> Result<HereNowAllPages, Error> {
        let mut pages = self.pages();
        for page in &mut pages {
            page?;
        }
        Ok(pages.merged())
    }
}

impl<D: AsyncDriver> HereNowPageStream<Async<D>> {
    /// The next page, or `None` after the last one (or after an error).
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let mut pages = client.here_now().channels(["arena"]).pages();
    /// let first = pages.next().await.transpose()?;
    /// # let _ = first;
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Result<HereNowResult, Error>> {
        std::future::poll_fn(|cx| self.poll_page(cx)).await
    }

    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<HereNowResult, Error>>> {
        if self.in_flight.is_none() {
            let op = match self.next_op() {
                None => return Poll::Ready(None),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                Some(Ok(op)) => op,
            };
            let client = self.client.clone();
            self.in_flight = Some(Box::pin(async move { client.execute(&op).await }));
        }
        let Some(future) = self.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let outcome = std::task::ready!(future.as_mut().poll(cx));
        self.in_flight = None;
        Poll::Ready(Some(self.recorded(outcome)))
    }
}

#[cfg(feature = "stream")]
impl<D: AsyncDriver> futures_core::Stream for HereNowPageStream<Async<D>> {
    type Item = Result<HereNowResult, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_page(cx)
    }
}

impl<D: AsyncDriver> Call<'_, Async<D>, HereNow> {
    /// Fetches every page and returns them merged: each channel with every occupant once,
    /// plus the page count and whether total occupancy changed while paging.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// let all = client.here_now().channels(["arena"]).limit(1000).all_pages().await?;
    /// println!("{} users in {} pages", all.result.channels[0].occupants.len(), all.pages);
    /// # Ok(()) }
    /// ```
    pub async fn all_pages(self) -> Result<HereNowAllPages, Error> {
        let mut pages = self.pages();
        while let Some(page) = pages.next().await {
            page?;
        }
        Ok(pages.merged())
    }
}
