//! [`Hyper`]: the async driver of the core's client: sends a request over the pooled hyper
//! client under the attempt's deadline, sleeps and spawns on tokio, and reads tokio's clock.

use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::proxy::matcher::Matcher;
use presence_proto::{AsyncDriver, ClientOptions, Environment, Error, Limits, SendError};

use crate::transport::{self, ConnTag, PoolOptions, Transport};

/// The hyper + tokio driver: `presence_tokio::Client` is `Client<Async<Hyper>>`.
///
/// Built from the client options by default (HTTP/1.1 keep-alive pool; the proxy from the
/// environment or [`ClientBuilder::proxy`](crate::ClientBuilder); rustls with the roots the
/// crate features choose plus [`ClientBuilder::add_root_certificate`](crate::ClientBuilder));
/// [`Hyper::from_client`] wraps a hyper-util client of your own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), presence_tokio::Error> {
/// use presence_tokio::{Async, Client, Config, Hyper};
/// let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
///     .build_http::<http_body_util::Full<bytes::Bytes>>();
/// let client = Client::builder(Config::builder("demo", "alice").build()?)
///     .driver(Async(Hyper::from_client(hyper)))
///     .build()?;
/// # drop(client);
/// # Ok(()) }
/// ```
pub struct Hyper {
    transport: Box<dyn Transport>,
    connect_timeout: Option<Duration>,
    /// The proxy rules of the default client (for `Proxy-Authorization` on forwarded `http`).
    proxy: Option<Arc<Matcher>>,
    random: Random,
}

/// Random numbers from std's randomly keyed SipHash over a counter: no extra crate.
#[derive(Debug)]
pub(crate) struct Random {
    keys: RandomState,
    counter: AtomicU64,
}

impl Random {
    pub(crate) fn new() -> Self {
        Self {
            keys: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn next(&self) -> u64 {
        let mut hasher = self.keys.build_hasher();
        hasher.write_u64(self.counter.fetch_add(1, Ordering::Relaxed));
        hasher.finish()
    }
}

impl std::fmt::Debug for Hyper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hyper")
            .field("connect_timeout", &self.connect_timeout)
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl Hyper {
    /// A driver over your own hyper-util client (its connector, pool and TLS settings apply;
    /// the client's request timeout, body cap and retries still do).
    ///
    /// ```
    /// let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
    ///     .build_http::<http_body_util::Full<bytes::Bytes>>();
    /// let driver = presence_tokio::Hyper::from_client(hyper);
    /// # drop(driver);
    /// ```
    pub fn from_client<C, B>(client: HyperClient<C, B>) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
        B: hyper::body::Body + From<Bytes> + Send + Unpin + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        Self {
            transport: Box::new(client),
            connect_timeout: None,
            proxy: None,
            random: Random::new(),
        }
    }
}

impl Environment for Hyper {
    /// tokio's clock, so a paused test clock applies.
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn unix_time(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn random(&self) -> u64 {
        self.random.next()
    }
}

impl Hyper {
    /// Adds `Proxy-Authorization` to an `http` request the proxy forwards (an `https` one
    /// carries it in the `CONNECT`); refuses `https` when built without TLS.
    fn prepare(&self, request: &mut http::Request<Vec<u8>>) -> Option<Error> {
        if cfg!(not(any(feature = "rustls", feature = "native-roots")))
            && request.uri().scheme_str() == Some("https")
        {
            return Some(Error::InvalidConfig {
                field: "origin",
                reason: "https origin, but presence-tokio was built without TLS (features \
                         `rustls`, `native-roots`)"
                    .to_owned(),
            });
        }
        if request.uri().scheme_str() == Some("http") {
            let auth = self
                .proxy
                .as_ref()
                .and_then(|m| m.intercept(request.uri()))
                .and_then(|proxy| proxy.basic_auth().cloned());
            if let Some(auth) = auth {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth);
            }
        }
        None
    }
}

impl AsyncDriver for Hyper {
    type Body = Bytes;

    fn connect(options: &ClientOptions) -> Result<Self, Error> {
        let proxy = transport::proxy_matcher(options.get_proxy());
        let client = transport::default_client(&PoolOptions {
            connect_timeout: options.get_connect_timeout(),
            idle_timeout: options.get_pool_idle_timeout(),
            max_idle_per_host: options.get_pool_max_idle_per_host(),
            proxy: proxy.clone(),
            roots: options.get_root_certificates(),
        })?;
        Ok(Self {
            transport: Box::new(client),
            connect_timeout: options.get_connect_timeout(),
            proxy,
            random: Random::new(),
        })
    }

    fn send(
        &self,
        mut request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> impl Future<Output = Result<http::Response<Bytes>, SendError>> + Send {
        let refused = self.prepare(&mut request);
        let exchange = async move {
            if let Some(error) = refused {
                return Err(error.into());
            }
            let response = self
                .transport
                .send(request.map(Bytes::from))
                .await
                .map_err(|e| transport::send_error(e, self.connect_timeout))?;
            if let Some(tag) = response.extensions().get::<ConnTag>() {
                tag.mark_answered();
            }
            let (parts, body) = response.into_parts();
            let content_length = limits.declared_length(&parts.headers)?;
            let body = transport::read_body(body, limits.max_body_size, content_length).await?;
            Ok(http::Response::from_parts(parts, body))
        };
        async move {
            tokio::time::timeout(limits.timeout, exchange)
                .await
                .unwrap_or_else(|_| Err(Error::timeout(limits.timeout).into()))
        }
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }

    /// # Panics
    ///
    /// Outside a tokio runtime.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }
}
