//! The crate's one error type, its [`ErrorKind`] categories and retryability.

use std::time::Duration;

/// Longest body excerpt (in bytes) kept in an error.
pub const EXCERPT_LIMIT: usize = 256;

/// Everything that can go wrong building a request, moving it, or reading the reply.
///
/// Match on [`Error::kind`] for the category; the variants carry the details. Adapters build the
/// transport variants with [`Error::timeout`] and [`Error::network`], so callers match one type
/// across the core and every driver.
///
/// ```
/// use presence_proto::{ErrorKind, HereNow, Operation};
/// let body = br#"{"status": 402, "error": 1, "message": "not on", "service": "Presence"}"#;
/// let reply = http::Response::builder().status(402).body(&body[..])?;
/// let err = HereNow::new().parse(reply).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotEnabled);
/// assert!(!err.is_retryable());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value was rejected by [`crate::ConfigBuilder::build`].
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The configuration field at fault.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// An operation argument was rejected before anything was sent.
    #[error("invalid argument: {field}: {reason}")]
    InvalidArgument {
        /// The argument at fault (`channels`, `groups`, `limit`, …).
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// State could not be serialised to JSON (or was not a JSON object where one is required).
    #[error("state could not be serialised as a JSON object")]
    StateSerialize(#[source] Option<serde_json::Error>),
    /// The request URL would exceed the service's limit (414 would follow); nothing was sent.
    #[error("request URL of {length} bytes exceeds the {max}-byte limit")]
    UrlTooLong {
        /// Length of the URL that would have been sent.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// The service answered with an error status (in the HTTP status or in the body).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The reply could not be understood (not JSON, truncated, unexpected shape).
    #[error("undecodable reply (HTTP {status}): {reason}")]
    Decode {
        /// HTTP status of the reply.
        status: u16,
        /// What was wrong.
        reason: String,
        /// First bytes of the body (lossy UTF-8, at most [`EXCERPT_LIMIT`] bytes).
        excerpt: String,
        /// The JSON error, when there was one.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The reply body was larger than the configured cap (checked while reading or inflating).
    #[error("reply body exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// No complete reply arrived in time. The request may have reached the service.
    #[error("request timed out after {after:?}")]
    Timeout {
        /// The deadline that passed.
        after: Duration,
    },
    /// Connecting, sending or receiving failed. The request may have reached the service.
    #[error("network error: {context}")]
    Network {
        /// What was being done (`connect`, `send`, `read body`, …).
        context: &'static str,
        /// The transport's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

/// What the service said when it rejected a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The effective status: the body's `status` when it reports an error, else the HTTP status.
    pub status: u16,
    /// The HTTP status line's code (200 for an error carried in a 200 body).
    pub http_status: u16,
    /// The service's `message`, when present.
    pub message: Option<String>,
    /// The service's `service` field (`Presence`, `Access Manager`, …).
    pub service: Option<String>,
    /// Channels named by an Access Manager 403 (`payload.channels`).
    pub channels: Vec<String>,
    /// Channel groups named by an Access Manager 403, leading `:` stripped.
    pub groups: Vec<String>,
    /// The `Retry-After` delay, when the reply carried one in seconds.
    pub retry_after: Option<Duration>,
    /// First bytes of the body (lossy UTF-8, at most [`EXCERPT_LIMIT`] bytes).
    pub excerpt: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service rejected the request with status {}",
            self.status
        )?;
        if self.http_status != self.status {
            write!(f, " (HTTP {})", self.http_status)?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if !self.channels.is_empty() {
            write!(f, "; channels: {}", self.channels.join(", "))?;
        }
        if !self.groups.is_empty() {
            write!(f, "; channel groups: {}", self.groups.join(", "))?;
        }
        Ok(())
    }
}

/// The category of an [`Error`], for callers that branch on what happened.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Rejected before sending: bad configuration or argument.
    InvalidInput,
    /// The service said 400 (also an HTTP 200 whose body says 400).
    BadRequest,
    /// 401/403: Access Manager refused, or the signature did not match.
    AccessDenied,
    /// 402: the feature is not enabled for the keyset.
    NotEnabled,
    /// 404.
    NotFound,
    /// 413/414, a URL over the limit, or a reply over the body cap.
    TooLarge,
    /// 429.
    TooManyRequests,
    /// 5xx (or another unexpected status).
    Server,
    /// No reply in time.
    Timeout,
    /// Connection, TLS or I/O failure.
    Network,
    /// The reply could not be understood.
    Decode,
}

impl Error {
    /// The category of this error.
    ///
    /// ```
    /// use presence_proto::{Error, ErrorKind};
    /// let err = Error::timeout(std::time::Duration::from_secs(10));
    /// assert_eq!(err.kind(), ErrorKind::Timeout);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidConfig { .. } | Self::InvalidArgument { .. } | Self::StateSerialize(_) => {
                ErrorKind::InvalidInput
            }
            Self::UrlTooLong { .. } | Self::BodyTooLarge { .. } => ErrorKind::TooLarge,
            Self::Api(api) => kind_for_status(api.status),
            Self::Decode { .. } => ErrorKind::Decode,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Network { .. } => ErrorKind::Network,
        }
    }

    /// Whether sending the same request again may succeed: 408, 429, 5xx, timeouts and network
    /// errors.
    ///
    /// ```
    /// use presence_proto::Error;
    /// assert!(Error::timeout(std::time::Duration::from_secs(1)).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api(api) => matches!(api.status, 408 | 429 | 500..=599),
            Self::Timeout { .. } | Self::Network { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status behind this error, when a reply was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service's rejection details, for [`Error::Api`].
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The `Retry-After` the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|api| api.retry_after)
    }

    /// A timeout error, for drivers whose deadline passed.
    pub fn timeout(after: Duration) -> Self {
        Self::Timeout { after }
    }

    /// A network error, for drivers whose transport failed.
    ///
    /// ```
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
    /// let err = presence_proto::Error::network("read body", io);
    /// assert_eq!(err.kind(), presence_proto::ErrorKind::Network);
    /// ```
    pub fn network(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Network {
            context,
            source: source.into(),
        }
    }

    pub(crate) fn argument(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn decode(
        status: u16,
        reason: impl Into<String>,
        body: &[u8],
        source: Option<serde_json::Error>,
    ) -> Self {
        Self::Decode {
            status,
            reason: reason.into(),
            excerpt: excerpt(body),
            source,
        }
    }
}

fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::AccessDenied,
        402 => ErrorKind::NotEnabled,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        413 | 414 => ErrorKind::TooLarge,
        429 => ErrorKind::TooManyRequests,
        400..=499 => ErrorKind::BadRequest,
        _ => ErrorKind::Server,
    }
}

/// A lossy UTF-8 prefix of `body`, at most [`EXCERPT_LIMIT`] bytes, never splitting a character.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = body.get(..EXCERPT_LIMIT).unwrap_or(body);
    let mut text = String::from_utf8_lossy(cut).into_owned();
    // A multi-byte character cut in half shows as U+FFFD at the end; fine, but keep the byte bound.
    while text.len() > EXCERPT_LIMIT {
        text.pop();
    }
    text
}
