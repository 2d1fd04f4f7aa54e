//! The byte-moving half of the adapter: the pooled ureq agent, one exchange under a deadline,
//! body reading with a size cap, and the mapping of ureq failures onto [`presence_proto::Error`].

use std::io::Read as _;
use std::time::{Duration, Instant};

use presence_proto::{Error, Proxy, RootCertificates};
use ureq::Agent;

/// Connection, pool, proxy and TLS settings of the agent.
#[derive(Clone, Debug)]
pub(crate) struct AgentOptions<'a> {
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_idle_per_host: usize,
    pub(crate) proxy: &'a Proxy,
    pub(crate) roots: &'a RootCertificates,
}

/// Stand-in for "no idle timeout": ureq wants a duration, so use a century.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Read granularity of the body loop: the deadline is checked before every read.
const CHUNK: usize = 16 * 1024;

/// Builds the agent: HTTP/1.1 keep-alive, the proxy (ureq's own: from `ALL_PROXY`,
/// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`, or the one URL set; `CONNECT` for every
/// origin), rustls (ring, the roots the features choose plus the added ones), status codes returned
/// as responses (the core classifies them), no redirects, no automatic `User-Agent`/`Accept`
/// and no transparent decompression (the crate is built without ureq's `gzip` feature; the
/// core asks for gzip and inflates itself).
///
/// Timeouts are per phase, all derived from the request timeout: ureq's `timeout_global` and
/// `timeout_resolve` are deliberately not used, because any resolve budget makes ureq spawn a
/// resolver thread per request. The whole-exchange deadline is kept by [`exchange`].
pub(crate) fn agent(options: &AgentOptions<'_>) -> Result<Agent, Error> {
    let whole = Some(options.request_timeout);
    let connect = match options.connect_timeout {
        Some(c) => Some(c.min(options.request_timeout)),
        None => whole,
    };
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent("")
        .accept("")
        .accept_encoding("")
        .no_delay(true)
        .timeout_connect(connect)
        .timeout_send_request(whole)
        .timeout_recv_response(whole)
        .timeout_recv_body(whole)
        .max_idle_connections(options.max_idle_per_host)
        .max_idle_connections_per_host(options.max_idle_per_host)
        .max_idle_age(options.idle_timeout.unwrap_or(FOREVER))
        .proxy(proxy(options.proxy)?);
    #[cfg(any(feature = "rustls", feature = "native-roots"))]
    let config = config.tls_config(crate::tls::tls_config(options.roots)?);
    #[cfg(not(any(feature = "rustls", feature = "native-roots")))]
    if !options.roots.is_empty() {
        return Err(Error::InvalidConfig {
            field: "root_certificate",
            reason: "presence-blocking was built without TLS (features `rustls`, \
                     `native-roots`)"
                .to_owned(),
        });
    }
    Ok(Agent::new_with_config(config.build()))
}

/// ureq's proxy for a [`Proxy`] setting.
fn proxy(setting: &Proxy) -> Result<Option<ureq::Proxy>, Error> {
    match setting {
        Proxy::None => Ok(None),
        Proxy::Url(url) => ureq::Proxy::new(url.expose()).map(Some).map_err(|_| {
            // Not ureq's message: it may quote the URL, password included.
            Error::InvalidConfig {
                field: "proxy",
                reason: format!("ureq refused the proxy URL {url}"),
            }
        }),
        _ => Ok(ureq::Proxy::try_from_env()),
    }
}

/// What one exchange produced: the reply head and the complete body.
pub(crate) struct Reply {
    pub(crate) parts: http::response::Parts,
    pub(crate) body: Vec<u8>,
}

/// Limits of one exchange.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The request timeout (reported in [`Error::Timeout`]).
    pub(crate) request_timeout: Duration,
    /// The connect timeout, reported when connecting timed out.
    pub(crate) connect_timeout: Option<Duration>,
    /// The body cap.
    pub(crate) max_body_size: usize,
}

/// Sends `request` and reads the whole reply before `deadline`. `per_request` sets the phase
/// timeouts for this request only (a limit other than the agent's own).
pub(crate) fn exchange(
    agent: &Agent,
    request: http::Request<Vec<u8>>,
    deadline: Instant,
    limits: Limits,
    per_request: bool,
) -> Result<Reply, Error> {
    let result = if per_request {
        let whole = Some(limits.request_timeout);
        let request = agent
            .configure_request(request)
            .timeout_send_request(whole)
            .timeout_recv_response(whole)
            .timeout_recv_body(whole)
            .build();
        agent.run(request)
    } else if request.body().is_empty() {
        agent.run(request.map(|_| ()))
    } else {
        agent.run(request)
    };
    let response = result.map_err(|e| map_error(e, "send", limits))?;
    let (parts, body) = response.into_parts();
    let content_length = presence_proto::Limits::new(limits.request_timeout, limits.max_body_size)
        .declared_length(&parts.headers)?;
    let body = read_body(body, content_length, deadline, limits)?;
    Ok(Reply { parts, body })
}

/// Reads the body in chunks, checking the deadline before each read and the cap after it.
fn read_body(
    body: ureq::Body,
    content_length: Option<u64>,
    deadline: Instant,
    limits: Limits,
) -> Result<Vec<u8>, Error> {
    let limit = limits.max_body_size;
    let mut reader = body.into_reader();
    // One byte over the expected length, so a body that matches `Content-Length` needs no
    // second allocation to see its end.
    let hint = content_length.map_or(CHUNK, |n| (n as usize).saturating_add(1));
    let mut buf: Vec<u8> = Vec::with_capacity(hint.min(limit.saturating_add(1)));
    let mut filled = 0;
    loop {
        if Instant::now() >= deadline {
            return Err(Error::timeout(limits.request_timeout));
        }
        if filled == buf.len() {
            // Use the reserved capacity first, then grow a chunk at a time, never past one
            // byte over the cap (`filled <= limit` here).
            let spare = buf.capacity() - buf.len();
            let grow = if spare > 0 { spare } else { CHUNK };
            buf.resize(filled + grow.min(limit.saturating_add(1) - filled), 0);
        }
        // `filled < buf.len()` after the growth step, so the slice is never empty.
        let Some(spare) = buf.get_mut(filled..) else {
            break;
        };
        let read = match reader.read(spare) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(map_error(ureq::Error::from(e), "read body", limits)),
        };
        filled += read;
        if filled > limit {
            return Err(Error::BodyTooLarge { limit });
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Maps a ureq failure onto the core's error: its timeouts become [`Error::Timeout`] (with the
/// budget that passed), everything else [`Error::Network`].
pub(crate) fn map_error(error: ureq::Error, context: &'static str, limits: Limits) -> Error {
    #[cfg(any(feature = "rustls", feature = "native-roots"))]
    if let Some(problem) = crate::tls::certificate_problem(&error) {
        return Error::certificate(problem, error);
    }
    match error {
        ureq::Error::Timeout(ureq::Timeout::Connect) => {
            Error::timeout(limits.connect_timeout.unwrap_or(limits.request_timeout))
        }
        ureq::Error::Timeout(_) => Error::timeout(limits.request_timeout),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Error::timeout(limits.request_timeout)
        }
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            Error::network("connect", error)
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Error::network("connect", io)
        }
        other => Error::network(context, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use presence_proto::ErrorKind;

    fn limits() -> Limits {
        Limits {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Some(Duration::from_secs(5)),
            max_body_size: 8,
        }
    }

    #[test]
    fn timeouts_report_their_budget() {
        let connect = map_error(
            ureq::Error::Timeout(ureq::Timeout::Connect),
            "send",
            limits(),
        );
        assert!(matches!(connect, Error::Timeout { after } if after == Duration::from_secs(5)));
        let body = map_error(ureq::Error::Timeout(ureq::Timeout::RecvBody), "x", limits());
        assert!(matches!(body, Error::Timeout { after } if after == Duration::from_secs(10)));
    }

    #[test]
    fn transport_failures_are_network_errors() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = map_error(ureq::Error::Io(refused), "send", limits());
        assert!(matches!(
            err,
            Error::Network {
                context: "connect",
                ..
            }
        ));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let err = map_error(ureq::Error::Io(reset), "read body", limits());
        assert!(matches!(
            err,
            Error::Network {
                context: "read body",
                ..
            }
        ));
        assert_eq!(err.kind(), ErrorKind::Network);
    }
}
