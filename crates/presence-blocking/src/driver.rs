//! [`Ureq`]: the blocking driver of the core's client: sends a request with the pooled ureq
//! agent under the attempt's deadline, sleeps the thread, starts threads, reads the clock.

use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use presence_proto::{BlockingDriver, ClientOptions, Environment, Error, Limits, SendError};

use crate::transport::{self, AgentOptions};

/// The ureq driver: `presence_blocking::Client` is `Client<Blocking<Ureq>>`.
///
/// Built from the client options (HTTP/1.1 keep-alive pool; the proxy from the environment or
/// [`ClientBuilder::proxy`](crate::ClientBuilder); rustls with the roots the crate features
/// choose plus [`ClientBuilder::add_root_certificate`](crate::ClientBuilder); no redirects,
/// phase timeouts derived from the request timeout).
///
/// ```
/// use presence_blocking::{Client, Config};
/// let client = Client::new(Config::builder("demo", "alice").build()?)?;
/// println!("{:?}", client.driver());
/// # Ok::<(), presence_blocking::Error>(())
/// ```
pub struct Ureq {
    agent: ureq::Agent,
    request_timeout: Duration,
    connect_timeout: Option<Duration>,
    random_keys: RandomState,
    random_counter: AtomicU64,
}

/// Not ureq's agent: its `Debug` shows the proxy URL (with the user name's first letter).
impl std::fmt::Debug for Ureq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ureq")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Environment for Ureq {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_time(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn random(&self) -> u64 {
        // std's randomly keyed SipHash over a counter: no extra crate.
        let mut hasher = self.random_keys.build_hasher();
        hasher.write_u64(self.random_counter.fetch_add(1, Ordering::Relaxed));
        hasher.finish()
    }
}

impl BlockingDriver for Ureq {
    type Body = Vec<u8>;

    fn connect(options: &ClientOptions) -> Result<Self, Error> {
        let agent = transport::agent(&AgentOptions {
            request_timeout: options.get_request_timeout(),
            connect_timeout: options.get_connect_timeout(),
            idle_timeout: options.get_pool_idle_timeout(),
            max_idle_per_host: options.get_pool_max_idle_per_host(),
            proxy: options.get_proxy(),
            roots: options.get_root_certificates(),
        })?;
        Ok(Self {
            agent,
            request_timeout: options.get_request_timeout(),
            connect_timeout: options.get_connect_timeout(),
            random_keys: RandomState::new(),
            random_counter: AtomicU64::new(0),
        })
    }

    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<http::Response<Vec<u8>>, SendError> {
        if cfg!(not(any(feature = "rustls", feature = "native-roots")))
            && request.uri().scheme_str() == Some("https")
        {
            return Err(Error::InvalidConfig {
                field: "origin",
                reason: "https origin, but presence-blocking was built without TLS (features \
                         `rustls`, `native-roots`)"
                    .to_owned(),
            }
            .into());
        }
        let deadline = Instant::now() + limits.timeout;
        let per_request = limits.timeout != self.request_timeout;
        let limits = transport::Limits {
            request_timeout: limits.timeout,
            connect_timeout: self.connect_timeout,
            max_body_size: limits.max_body_size,
        };
        let reply = transport::exchange(&self.agent, request, deadline, limits, per_request)?;
        Ok(http::Response::from_parts(reply.parts, reply.body))
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn spawn(&self, job: Box<dyn FnOnce() + Send>) {
        std::thread::spawn(job);
    }
}
