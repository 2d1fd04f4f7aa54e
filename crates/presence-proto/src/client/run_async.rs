//! The async call surface: `Client<Async<D>>::execute` and `.await` on a [`Call`]. The one
//! retry loop of async drivers; the driver only moves bytes and sleeps.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use tracing::Instrument as _;

use super::attempt::{self, Attempts, Next};
use super::call::Call;
use super::driver::{Async, AsyncDriver, Limits, SendError};
use super::handle::Client;
use crate::config::Config;
use crate::error::Error;
use crate::ops::Operation;

impl<D: AsyncDriver> Client<Async<D>> {
    /// Sends any [`Operation`] with this client's configuration and returns its typed output.
    ///
    /// Every call builder ends here. Each attempt gets a fresh request id and timestamp;
    /// failed attempts are retried as the [`RetryPolicy`](crate::RetryPolicy) says (plus one
    /// immediate re-send when a pooled keep-alive connection turns out to have been closed by
    /// the server). Dropping the future cancels the request.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::HereNow;
    /// let op = HereNow::new().channels(["lobby"]).include_state(true);
    /// let here = client.execute(&op).await?;
    /// println!("{} present", here.total_occupancy);
    /// # Ok(()) }
    /// ```
    pub async fn execute<O: Operation>(&self, op: &O) -> Result<O::Output, Error> {
        self.execute_with(&self.config, op).await
    }

    /// Sends an [`Operation`] with another configuration (keyset, user id, auth token) for this
    /// call only, over the same driver.
    ///
    /// ```
    /// # async fn demo<D: presence_proto::AsyncDriver>(client: presence_proto::Client<presence_proto::Async<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::WhereNow;
    /// let as_bob = client.config().to_builder().user_id("bob").build()?;
    /// let where_bob = client.execute_with(&as_bob, &WhereNow::new()).await?;
    /// println!("bob is on {:?}", where_bob.channels);
    /// # Ok(()) }
    /// ```
    pub async fn execute_with<O: Operation>(
        &self,
        config: &Config,
        op: &O,
    ) -> Result<O::Output, Error> {
        let Async(driver) = &self.shared.flavour;
        let mut attempts = Attempts::new(self.shared.options.get_retry_policy());
        loop {
            let number = attempts.begin();
            let failure = match self.attempt(config, op, number).await {
                Ok(output) => return Ok(output),
                Err(failure) => failure,
            };
            match attempts.next(failure, O::NAME, driver.random_fraction()) {
                Next::Resend => {}
                Next::Wait(delay) => driver.sleep_until(driver.now() + delay).await,
                Next::Fail(error) => return Err(error),
            }
        }
    }

    async fn attempt<O: Operation>(
        &self,
        config: &Config,
        op: &O,
        number: u32,
    ) -> Result<O::Output, SendError> {
        let Async(driver) = &self.shared.flavour;
        let options = &self.shared.options;
        let request = attempt::prepare(op, config, options, driver)?;
        let span = attempt::span(O::NAME, &request, number);
        let limits = Limits::new(
            op.timeout(options.get_request_timeout()),
            options.get_max_body_size(),
        );
        let started = driver.now();
        let result = driver.send(request, limits).instrument(span.clone()).await;
        attempt::finish(op, &span, started, driver, result)
    }
}

impl<'a, D, O> IntoFuture for Call<'a, Async<D>, O>
where
    D: AsyncDriver,
    O: Operation + Send + Sync + 'a,
    O::Output: Send,
{
    type Output = Result<O::Output, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(error) = self.deferred {
                return Err(error);
            }
            self.client.execute(&self.op).await
        })
    }
}
