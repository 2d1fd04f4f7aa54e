//! The byte-moving half of the adapter: the pooled hyper-util client (default or user-supplied),
//! connection tagging (to know whether a failed connection was a reused one), body reading with
//! a size cap, and the mapping of transport failures onto [`presence_proto::Error`].

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as _, Incoming};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, Connected, Connection, HttpConnector};
use hyper_util::client::legacy::{Client as HyperClient, ResponseFuture};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use presence_proto::{Error, Proxy, RootCertificates, SendError};
use tokio::net::TcpStream;

/// Boxed error type hyper and its connectors use.
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The connector of the default client: TCP (direct or through the proxy), tagged, then rustls
/// for `https` origins when a TLS feature is on.
#[cfg(any(feature = "rustls", feature = "native-roots"))]
pub(crate) type DefaultConnector = hyper_rustls::HttpsConnector<Connector>;
/// The connector of the default client: TCP (direct or through the proxy), tagged; no TLS.
#[cfg(not(any(feature = "rustls", feature = "native-roots")))]
pub(crate) type DefaultConnector = Connector;

/// Anything that can send a request and hand back hyper's response future.
///
/// Implemented for every hyper-util legacy client whose body type can be built from [`Bytes`]
/// (e.g. `Full<Bytes>`), so the client type does not leak into [`crate::Client`]'s signature.
pub(crate) trait Transport: Send + Sync + 'static {
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture;
}

impl<C, B> Transport for HyperClient<C, B>
where
    C: Connect + Clone + Send + Sync + 'static,
    B: hyper::body::Body + From<Bytes> + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn send(&self, request: http::Request<Bytes>) -> ResponseFuture {
        self.request(request.map(B::from))
    }
}

/// The request body of the default client: the whole body in one frame.
#[derive(Debug)]
pub(crate) struct OneFrame(Option<Bytes>);

impl From<Bytes> for OneFrame {
    fn from(bytes: Bytes) -> Self {
        Self((!bytes.is_empty()).then_some(bytes))
    }
}

impl hyper::body::Body for OneFrame {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.take().map(|data| Ok(hyper::body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// Pool, socket, proxy and TLS settings of the default client.
#[derive(Clone, Debug)]
pub(crate) struct PoolOptions<'a> {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_idle_per_host: usize,
    pub(crate) proxy: Option<Arc<Matcher>>,
    #[cfg_attr(
        not(any(feature = "rustls", feature = "native-roots")),
        allow(dead_code)
    )]
    pub(crate) roots: &'a RootCertificates,
}

/// The proxy matcher for a [`Proxy`] setting: hyper-util's, from the environment
/// (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, and lower-case) or one URL for all.
pub(crate) fn proxy_matcher(proxy: &Proxy) -> Option<Arc<Matcher>> {
    let matcher = match proxy {
        Proxy::None => return None,
        Proxy::Url(url) => Matcher::builder().all(url.expose().to_owned()).build(),
        _ => Matcher::from_env(),
    };
    Some(Arc::new(matcher))
}

/// Builds the default pooled client: HTTP/1.1 keep-alive, the proxy, rustls (ring) with the
/// roots the features choose plus the added ones, `pool_timer` set so idle connections really
/// expire, hyper-util's own retry of requests that were never written left on (it only
/// re-sends requests that did not leave the machine).
pub(crate) fn default_client(
    options: &PoolOptions<'_>,
) -> Result<HyperClient<DefaultConnector, OneFrame>, Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(options.connect_timeout);
    let connector = Connector {
        http,
        proxy: options.proxy.clone(),
    };
    #[cfg(any(feature = "rustls", feature = "native-roots"))]
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(crate::tls::client_config(options.roots)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    #[cfg(not(any(feature = "rustls", feature = "native-roots")))]
    if !options.roots.is_empty() {
        return Err(Error::InvalidConfig {
            field: "root_certificate",
            reason: "presence-tokio was built without TLS (features `rustls`, `native-roots`)"
                .to_owned(),
        });
    }
    let mut builder = HyperClient::builder(TokioExecutor::new());
    builder
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(options.idle_timeout)
        .pool_max_idle_per_host(options.max_idle_per_host);
    Ok(builder.build(connector))
}

// ---------------------------------------------------------------------------------------------
// Connecting: direct or through the proxy, and tagging.

/// Marker stored in every connection's `Connected::extra`: set once a response head arrived on
/// the connection, so a later failure on it is known to be on a *reused* connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnTag(Arc<AtomicBool>);

impl ConnTag {
    /// Records that a response arrived on this connection.
    pub(crate) fn mark_answered(&self) {
        // Relaxed is enough: this is a hint, read only after a later request fails.
        if !self.0.load(Ordering::Relaxed) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    fn answered(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether an earlier request was answered on the connection a failed request used:
/// `Some(true)` reused, `Some(false)` fresh, `None` unknown (a user-supplied client).
pub(crate) fn connection_reused(error: &hyper_util::client::legacy::Error) -> Option<bool> {
    let info = error.connect_info()?;
    let mut extensions = http::Extensions::new();
    info.get_extras(&mut extensions);
    extensions.get::<ConnTag>().map(ConnTag::answered)
}

/// The TCP connector: straight to the origin, or to the proxy the matcher names (`CONNECT`
/// through hyper-util's [`Tunnel`] for `https`, request forwarding for `http`). Every
/// connection carries a [`ConnTag`].
#[derive(Clone, Debug)]
pub(crate) struct Connector {
    http: HttpConnector,
    proxy: Option<Arc<Matcher>>,
}

type Connecting = Pin<Box<dyn Future<Output = Result<Tagged, BoxError>> + Send>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = Tagged;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<http::Uri>::poll_ready(&mut self.http, cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let mut http = self.http.clone();
        let intercept = self.proxy.as_ref().and_then(|m| m.intercept(&dst));
        Box::pin(async move {
            let (stream, forwarded) = match intercept {
                None => (http.call(dst).await?, false),
                Some(proxy) if dst.scheme_str() == Some("https") => {
                    let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                    if let Some(auth) = proxy.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    (tunnel.call(dst).await?, false)
                }
                Some(proxy) => (http.call(proxy.uri().clone()).await?, true),
            };
            Ok(Tagged {
                stream,
                tag: ConnTag(Arc::new(AtomicBool::new(false))),
                forwarded,
            })
        })
    }
}

/// A connected stream plus its [`ConnTag`]; `forwarded`: to an HTTP proxy that forwards the
/// requests (sent in absolute form).
#[derive(Debug)]
pub(crate) struct Tagged {
    stream: TokioIo<TcpStream>,
    tag: ConnTag,
    forwarded: bool,
}

impl Connection for Tagged {
    fn connected(&self) -> Connected {
        self.stream
            .connected()
            .extra(self.tag.clone())
            .proxy(self.forwarded)
    }
}

impl Read for Tagged {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl Write for Tagged {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and bodies.

/// Maps a hyper-util client error (no response head received) to the core's error.
pub(crate) fn send_error(
    error: hyper_util::client::legacy::Error,
    connect_timeout: Option<Duration>,
) -> SendError {
    if error.is_connect() {
        #[cfg(any(feature = "rustls", feature = "native-roots"))]
        if let Some(problem) = crate::tls::certificate_problem(&error) {
            return SendError::from(Error::certificate(problem, error));
        }
        let timed_out = chain_has_io_kind(&error, &[io::ErrorKind::TimedOut]);
        return SendError::from(match (timed_out, connect_timeout) {
            (true, Some(after)) => Error::timeout(after),
            _ => Error::network("connect", error),
        });
    }
    let closed_early = presence_proto::find_in_chain::<hyper::Error>(&error)
        .is_some_and(|e| e.is_incomplete_message() || e.is_canceled() || e.is_closed())
        || chain_has_io_kind(
            &error,
            &[
                io::ErrorKind::ConnectionReset,
                io::ErrorKind::ConnectionAborted,
                io::ErrorKind::BrokenPipe,
                io::ErrorKind::UnexpectedEof,
            ],
        );
    let reused = connection_reused(&error).unwrap_or(true);
    let error_value = Error::network("send", error);
    if closed_early && reused {
        SendError::stale(error_value)
    } else {
        SendError::from(error_value)
    }
}

/// Reads the whole body, failing with [`Error::BodyTooLarge`] as soon as it exceeds `limit`.
///
/// A body that arrives in one frame (the common case for small replies) is returned without a
/// copy; otherwise the frames are gathered once into a buffer sized from `Content-Length`.
pub(crate) async fn read_body(
    mut body: Incoming,
    limit: usize,
    content_length: Option<u64>,
) -> Result<Bytes, Error> {
    let mut first: Option<Bytes> = None;
    let mut gathered: Vec<u8> = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| Error::network("read body", e))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: nothing to keep
        };
        if data.is_empty() {
            continue;
        }
        match &first {
            None if gathered.is_empty() => {
                if data.len() > limit {
                    return Err(Error::BodyTooLarge { limit });
                }
                first = Some(data);
            }
            _ => {
                if let Some(head) = first.take() {
                    let hint = content_length.map_or(0, |n| n as usize).min(limit);
                    gathered.reserve(hint.max(head.len() + data.len()));
                    gathered.extend_from_slice(&head);
                }
                if gathered.len() + data.len() > limit {
                    return Err(Error::BodyTooLarge { limit });
                }
                gathered.extend_from_slice(&data);
            }
        }
    }
    Ok(match first {
        Some(bytes) => bytes,
        None => Bytes::from(gathered),
    })
}

fn chain_has_io_kind(error: &(dyn StdError + 'static), kinds: &[io::ErrorKind]) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if kinds.contains(&io.kind()) {
                return true;
            }
        }
        current = e.source();
    }
    false
}
