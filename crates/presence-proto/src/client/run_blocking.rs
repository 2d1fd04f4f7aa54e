//! The blocking call surface: `Client<Blocking<D>>::execute` and [`Call::call`]. The one
//! retry loop of blocking drivers; the driver only moves bytes and sleeps.

use super::attempt::{self, Attempts, Next};
use super::call::Call;
use super::driver::{Blocking, BlockingDriver, Limits, SendError};
use super::handle::Client;
use crate::config::Config;
use crate::error::Error;
use crate::ops::Operation;

impl<D: BlockingDriver> Client<Blocking<D>> {
    /// Sends any [`Operation`] with this client's configuration and returns its typed output.
    ///
    /// Every call builder ends here. Each attempt gets a fresh request id and timestamp and
    /// the full request timeout; failed attempts are retried as the
    /// [`RetryPolicy`](crate::RetryPolicy) says, sleeping on this thread meanwhile.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::HereNow;
    /// let op = HereNow::new().channels(["lobby"]).include_state(true);
    /// let here = client.execute(&op)?;
    /// println!("{} present", here.total_occupancy);
    /// # Ok(()) }
    /// ```
    pub fn execute<O: Operation>(&self, op: &O) -> Result<O::Output, Error> {
        self.execute_with(&self.config, op)
    }

    /// Sends an [`Operation`] with another configuration (keyset, user id, auth token) for this
    /// call only, over the same driver.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// use presence_proto::WhereNow;
    /// let as_bob = client.config().to_builder().user_id("bob").build()?;
    /// let where_bob = client.execute_with(&as_bob, &WhereNow::new())?;
    /// println!("bob is on {:?}", where_bob.channels);
    /// # Ok(()) }
    /// ```
    pub fn execute_with<O: Operation>(&self, config: &Config, op: &O) -> Result<O::Output, Error> {
        let Blocking(driver) = &self.shared.flavour;
        let mut attempts = Attempts::new(self.shared.options.get_retry_policy());
        loop {
            let number = attempts.begin();
            let failure = match self.attempt(config, op, number) {
                Ok(output) => return Ok(output),
                Err(failure) => failure,
            };
            match attempts.next(failure, O::NAME, driver.random_fraction()) {
                Next::Resend => {}
                Next::Wait(delay) => driver.sleep(delay),
                Next::Fail(error) => return Err(error),
            }
        }
    }

    fn attempt<O: Operation>(
        &self,
        config: &Config,
        op: &O,
        number: u32,
    ) -> Result<O::Output, SendError> {
        let Blocking(driver) = &self.shared.flavour;
        let options = &self.shared.options;
        let request = attempt::prepare(op, config, options, driver)?;
        let span = attempt::span(O::NAME, &request, number);
        let limits = Limits::new(
            op.timeout(options.get_request_timeout()),
            options.get_max_body_size(),
        );
        let started = driver.now();
        let result = span.in_scope(|| driver.send(request, limits));
        attempt::finish(op, &span, started, driver, result)
    }
}

impl<D: BlockingDriver, O: Operation> Call<'_, Blocking<D>, O> {
    /// Sends the call on this thread and returns its typed result.
    ///
    /// ```
    /// # fn demo<D: presence_proto::BlockingDriver>(client: presence_proto::Client<presence_proto::Blocking<D>>) -> Result<(), presence_proto::Error> {
    /// let here = client.here_now().channels(["lobby"]).call()?;
    /// println!("{} present", here.total_occupancy);
    /// # Ok(()) }
    /// ```
    pub fn call(self) -> Result<O::Output, Error> {
        if let Some(error) = self.deferred {
            return Err(error);
        }
        self.client.execute(&self.op)
    }
}
