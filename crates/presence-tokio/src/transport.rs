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
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connect, Connected, Connection, HttpConnector};
use hyper_util::client::legacy::{Client as HyperClient, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use presence_proto::Error;

/// Boxed error type hyper and its connectors use.
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The connector of the default client: plain TCP or rustls (ring, webpki roots), tagged.
pub(crate) type DefaultConnector = Tagging<HttpsConnector<HttpConnector>>;

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

/// Pool and socket settings of the default client.
#[derive(Clone, Debug)]
pub(crate) struct PoolOptions {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_idle_per_host: usize,
}

/// Builds the default pooled client: HTTP/1.1 keep-alive, rustls with ring and the webpki roots,
/// `pool_timer` set so idle connections really expire, hyper-util's own retry of requests that
/// were never written left on (it only re-sends requests that did not leave the machine).
pub(crate) fn default_client(
    options: &PoolOptions,
) -> Result<HyperClient<DefaultConnector, Full<Bytes>>, Error> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(options.connect_timeout);
    let provider = rustls::crypto::ring::default_provider();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| Error::InvalidConfig {
            field: "tls",
            reason: format!("rustls could not be configured: {e}"),
        })?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let mut builder = HyperClient::builder(TokioExecutor::new());
    builder
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(options.idle_timeout)
        .pool_max_idle_per_host(options.max_idle_per_host);
    Ok(builder.build(Tagging(https)))
}

// ---------------------------------------------------------------------------------------------
// Connection tagging.

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

/// A connector wrapper that adds a [`ConnTag`] to every connection it makes.
#[derive(Clone, Debug)]
pub(crate) struct Tagging<C>(C);

impl<C> tower_service::Service<http::Uri> for Tagging<C>
where
    C: tower_service::Service<http::Uri>,
    C::Future: Unpin,
{
    type Response = Tagged<C::Response>;
    type Error = C::Error;
    type Future = TaggingFuture<C::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        TaggingFuture(self.0.call(uri))
    }
}

/// Future of [`Tagging`]: the inner connect, its stream wrapped in [`Tagged`].
#[derive(Debug)]
pub(crate) struct TaggingFuture<F>(F);

impl<F, S, E> Future for TaggingFuture<F>
where
    F: Future<Output = Result<S, E>> + Unpin,
{
    type Output = Result<Tagged<S>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_ok(|stream| Tagged {
            stream,
            tag: ConnTag(Arc::new(AtomicBool::new(false))),
        })
    }
}

/// A connected stream plus its [`ConnTag`].
#[derive(Debug)]
pub(crate) struct Tagged<S> {
    stream: S,
    tag: ConnTag,
}

impl<S: Connection> Connection for Tagged<S> {
    fn connected(&self) -> Connected {
        self.stream.connected().extra(self.tag.clone())
    }
}

impl<S: Read + Unpin> Read for Tagged<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: Write + Unpin> Write for Tagged<S> {
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

/// A failed attempt, with whether it is the "server closed an idle pooled connection" case.
pub(crate) struct Failure {
    pub(crate) error: Error,
    /// The request failed on a connection that had already served a response (or on a
    /// user-supplied client, where that cannot be known) because the server closed it before
    /// answering: safe and sensible to send once more at once.
    pub(crate) stale: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            error,
            stale: false,
        }
    }
}

/// Maps a hyper-util client error (no response head received) to the core's error.
pub(crate) fn send_error(
    error: hyper_util::client::legacy::Error,
    connect_timeout: Option<Duration>,
) -> Failure {
    if error.is_connect() {
        let timed_out = chain_has_io_kind(&error, &[io::ErrorKind::TimedOut]);
        return Failure {
            error: match (timed_out, connect_timeout) {
                (true, Some(after)) => Error::timeout(after),
                _ => Error::network("connect", error),
            },
            stale: false,
        };
    }
    let closed_early = find_in_chain::<hyper::Error>(&error)
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
    let stale = closed_early && connection_reused(&error).unwrap_or(true);
    Failure {
        error: Error::network("send", error),
        stale,
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
    if content_length.is_some_and(|n| n > limit as u64) {
        return Err(Error::BodyTooLarge { limit });
    }
    let mut first: Option<Bytes> = None;
    let mut gathered: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
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

fn find_in_chain<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
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
