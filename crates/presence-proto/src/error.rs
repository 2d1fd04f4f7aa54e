//! The crate's one error type, its [`ErrorKind`] categories and retryability.

use std::time::Duration;

/// Longest body excerpt (in bytes) kept in an error.
///
/// ```
/// assert_eq!(presence_proto::EXCERPT_LIMIT, 256);
/// ```
pub const EXCERPT_LIMIT: usize = 256;

/// Everything that can go wrong building a request, moving it, or reading the reply.
///
/// Match on [`Error::kind`] for the category; the variants carry the details. Adapters build the
/// transport variants with [`Error::timeout`] and [`Error::network`], so callers match one type
/// across the core and every driver.
///
/// `Display` is safe to print on a terminal: control characters in server-provided text
/// (messages, channel names, decode reasons) are escaped with [`escape_control`]. `Debug`
/// and the fields keep the raw text.
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
    #[error("invalid configuration: {field}: {}", Printable(.reason))]
    InvalidConfig {
        /// The configuration field at fault.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// An operation argument was rejected before anything was sent.
    #[error("invalid argument: {field}: {}", Printable(.reason))]
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
    #[error("undecodable reply (HTTP {status}): {}", Printable(.reason))]
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
    /// The background task or thread that drives a session or watch has ended (its runtime
    /// shut down, or it stopped after an error already reported). Not retryable.
    #[error("the background driver has ended")]
    Closed,
    /// The server's TLS certificate was refused: [`CertificateProblem`] says why. Nothing was
    /// sent; not retryable (the same certificate would be refused again).
    ///
    /// ```
    /// use presence_proto::{CertificateProblem, Error, ErrorKind};
    /// let err = Error::certificate(CertificateProblem::Expired, std::io::Error::other("expired"));
    /// assert_eq!(err.kind(), ErrorKind::Certificate);
    /// assert!(!err.is_retryable());
    /// assert_eq!(err.to_string(), "TLS certificate refused: the certificate has expired");
    /// ```
    #[error("TLS certificate refused: {problem}")]
    Certificate {
        /// Why it was refused.
        problem: CertificateProblem,
        /// The TLS library's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

/// Why a server's TLS certificate was refused ([`Error::Certificate`]).
///
/// ```
/// use presence_proto::CertificateProblem;
/// assert_eq!(CertificateProblem::NameMismatch.to_string(), "the certificate is not valid for the server's name");
/// ```
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// Issued by a CA that is not trusted (self-signed, a private CA not added with
    /// `add_root_certificate`).
    UnknownIssuer,
    /// Valid, but for another name than the origin's host.
    NameMismatch,
    /// Past its validity period.
    Expired,
    /// Before its validity period.
    NotYetValid,
    /// Revoked by its issuer.
    Revoked,
    /// Refused for another reason (bad signature, wrong usage, unreadable).
    Other,
}

impl CertificateProblem {
    /// The problem a rustls `CertificateError` names, from its `Debug` form (both adapters use
    /// rustls; its variant names are stable): `UnknownIssuer`, `NotValidForName…`, `Expired…`,
    /// `NotValidYet…`, `Revoked`, anything else [`Other`](Self::Other).
    ///
    /// ```
    /// use presence_proto::CertificateProblem;
    /// assert_eq!(CertificateProblem::from_verifier("ExpiredContext { time: .. }"), CertificateProblem::Expired);
    /// assert_eq!(CertificateProblem::from_verifier("BadSignature"), CertificateProblem::Other);
    /// ```
    pub fn from_verifier(name: &str) -> Self {
        if name.starts_with("UnknownIssuer") {
            Self::UnknownIssuer
        } else if name.starts_with("NotValidForName") {
            Self::NameMismatch
        } else if name.starts_with("Expired") {
            Self::Expired
        } else if name.starts_with("NotValidYet") {
            Self::NotYetValid
        } else if name.starts_with("Revoked") {
            Self::Revoked
        } else {
            Self::Other
        }
    }
}

/// The first error of type `T` in `error`'s chain, stepping into `io::Error`s too (whose
/// `source()` skips the error they wrap): how drivers find a TLS or HTTP cause under layers
/// of wrapping.
///
/// ```
/// let inner = std::fmt::Error;
/// let wrapped = std::io::Error::other(inner);
/// assert!(presence_proto::find_in_chain::<std::fmt::Error>(&wrapped).is_some());
/// ```
pub fn find_in_chain<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

impl std::fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::UnknownIssuer => "the certificate's issuer is not trusted (unknown CA)",
            Self::NameMismatch => "the certificate is not valid for the server's name",
            Self::Expired => "the certificate has expired",
            Self::NotYetValid => "the certificate is not valid yet",
            Self::Revoked => "the certificate has been revoked",
            Self::Other => "the certificate is invalid",
        })
    }
}

/// What the service said when it rejected a request.
///
/// ```
/// use presence_proto::{HereNow, Operation};
/// let reply = http::Response::builder().status(400).body(&br#"{"status":400,"error":true,"message":"Invalid","service":"Presence"}"#[..])?;
/// let err = HereNow::new().channels(["x"]).parse(reply).unwrap_err();
/// let api = err.api().unwrap();
/// assert_eq!((api.status, api.message.as_deref()), (400, Some("Invalid")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
            write!(f, ": {}", Printable(message))?;
        }
        for (label, names) in [
            ("channels", &self.channels),
            ("channel groups", &self.groups),
        ] {
            if !names.is_empty() {
                write!(f, "; {label}: ")?;
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Printable(name))?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `c` must not reach a terminal raw: C0 controls (including ESC, BEL, CR, LF, TAB),
/// DEL, C1 controls (U+0080–U+009F, e.g. CSI), and the Unicode bidirectional overrides and
/// isolates that reorder what follows them (U+200E/F, U+202A–U+202E, U+2066–U+2069).
fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character escaped, ready for a terminal: `\n`, `\r`, `\t`, and
/// `\u{…}` for the rest (ESC is `\u{1b}`); borrowed when there is nothing to escape.
///
/// Covers C0, DEL and C1 controls and the bidirectional overrides; printable text, including
/// any non-ASCII letters, is unchanged.
///
/// ```
/// use presence_proto::escape_control;
/// assert_eq!(escape_control("lobby"), "lobby");
/// assert_eq!(
///     escape_control("\u{1b}]0;pwned\u{7}\u{1b}[2J\npresence: ok"),
///     "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\npresence: ok"
/// );
/// assert_eq!(escape_control("caf\u{e9} \u{9b}31m"), "caf\u{e9} \\u{9b}31m");
/// ```
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(must_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(Printable(text).to_string())
}

/// Displays a string with its control characters escaped (see [`escape_control`]), without
/// allocating.
///
/// ```
/// use presence_proto::Printable;
/// let message = "busy\r\npresence: ok, all fine";
/// assert_eq!(format!("error: {}", Printable(message)), "error: busy\\r\\npresence: ok, all fine");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Printable<'a>(pub &'a str);

impl std::fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| must_escape(*c)) {
            f.write_str(rest.get(..at).unwrap_or_default())?;
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = rest.get(at + c.len_utf8()..).unwrap_or_default();
        }
        f.write_str(rest)
    }
}

/// The category of an [`Error`], for callers that branch on what happened.
///
/// `Display` and serde use the same stable snake_case names (`invalid_input`, `access_denied`,
/// …), the ones the `presence` CLI prints and puts in its `--json` errors.
///
/// ```
/// use presence_proto::ErrorKind;
/// assert_eq!(ErrorKind::AccessDenied.to_string(), "access_denied");
/// assert_eq!(serde_json::to_string(&ErrorKind::TooManyRequests)?, r#""too_many_requests""#);
/// let back: ErrorKind = serde_json::from_str(r#""not_enabled""#)?;
/// assert_eq!(back, ErrorKind::NotEnabled);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The background driver (task or thread) is gone.
    Closed,
    /// The server's TLS certificate was refused (see [`CertificateProblem`]).
    Certificate,
}

impl ErrorKind {
    /// The kind's stable snake_case name, as `Display` and serde write it.
    ///
    /// ```
    /// assert_eq!(presence_proto::ErrorKind::InvalidInput.as_str(), "invalid_input");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::BadRequest => "bad_request",
            Self::AccessDenied => "access_denied",
            Self::NotEnabled => "not_enabled",
            Self::NotFound => "not_found",
            Self::TooLarge => "too_large",
            Self::TooManyRequests => "too_many_requests",
            Self::Server => "server",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::Decode => "decode",
            Self::Closed => "closed",
            Self::Certificate => "certificate",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error serialises as `{"kind": …, "message": …, "status": …}`: its [`ErrorKind`] name,
/// [`Error::full_message`] and the HTTP status (or `null`). It does not deserialise (the
/// source chain cannot be rebuilt).
///
/// ```
/// let err = presence_proto::Error::timeout(std::time::Duration::from_secs(2));
/// assert_eq!(
///     serde_json::to_string(&err)?,
///     r#"{"kind":"timeout","message":"request timed out after 2s","status":null}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("Error", 3)?;
        s.serialize_field("kind", &self.kind())?;
        s.serialize_field("message", &self.full_message())?;
        s.serialize_field("status", &self.status())?;
        s.end()
    }
}

impl Error {
    /// `Display` followed by each `source()` whose text it does not already contain, joined
    /// with `": "` — the whole story on one line (control characters in server text escaped
    /// as in `Display`).
    ///
    /// ```
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let err = presence_proto::Error::network("connect", io);
    /// assert_eq!(err.full_message(), "network error: connect: refused");
    /// ```
    pub fn full_message(&self) -> String {
        use std::error::Error as _;
        let mut message = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        message
    }

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
            Self::Closed => ErrorKind::Closed,
            Self::Certificate { .. } => ErrorKind::Certificate,
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
    ///
    /// ```
    /// use presence_proto::{HereNow, Operation};
    /// let reply = http::Response::builder().status(403).body(&br#"{"status":403,"error":true,"message":"Forbidden"}"#[..])?;
    /// let err = HereNow::new().channels(["x"]).parse(reply).unwrap_err();
    /// assert_eq!(err.status(), Some(403));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service's rejection details, for [`Error::Api`].
    ///
    /// ```
    /// use presence_proto::{HereNow, Operation};
    /// let reply = http::Response::builder().status(403).body(&br#"{"status":403,"error":true,"message":"Forbidden"}"#[..])?;
    /// let err = HereNow::new().channels(["x"]).parse(reply).unwrap_err();
    /// assert_eq!(err.api().and_then(|api| api.message.as_deref()), Some("Forbidden"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The `Retry-After` the service asked for, if any.
    ///
    /// ```
    /// use presence_proto::{HereNow, Operation};
    /// let reply = http::Response::builder().status(429).header("retry-after", "3").body(&b"{}"[..])?;
    /// let err = HereNow::new().channels(["x"]).parse(reply).unwrap_err();
    /// assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(3)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|api| api.retry_after)
    }

    /// A timeout error, for drivers whose deadline passed.
    ///
    /// ```
    /// let err = presence_proto::Error::timeout(std::time::Duration::from_secs(10));
    /// assert!(err.is_retryable());
    /// ```
    pub fn timeout(after: Duration) -> Self {
        Self::Timeout { after }
    }

    /// A refused server certificate, for drivers whose TLS handshake failed verification.
    ///
    /// ```
    /// use presence_proto::{CertificateProblem, Error};
    /// let err = Error::certificate(CertificateProblem::UnknownIssuer, std::io::Error::other("x"));
    /// assert!(matches!(err, Error::Certificate { problem: CertificateProblem::UnknownIssuer, .. }));
    /// ```
    pub fn certificate(
        problem: CertificateProblem,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Certificate {
            problem,
            source: source.into(),
        }
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

#[cfg(test)]
mod escape_tests {
    use super::*;

    const HOSTILE: &str =
        "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\npresence: ok, all fine\u{9b}\u{7f}\u{202e}";

    fn forbidden(text: &str) -> bool {
        text.chars().any(must_escape)
    }

    #[test]
    fn display_escapes_server_text_and_debug_keeps_it() {
        let api = Error::Api(Box::new(ApiError {
            status: 500,
            http_status: 500,
            message: Some(HOSTILE.to_owned()),
            service: Some(HOSTILE.to_owned()),
            channels: vec![HOSTILE.to_owned(), "lobby".to_owned()],
            groups: vec![HOSTILE.to_owned()],
            retry_after: None,
            excerpt: HOSTILE.to_owned(),
        }));
        let shown = api.to_string();
        assert!(!forbidden(&shown), "{shown:?}");
        assert!(shown.contains(
            r"\u{1b}]0;pwned\u{7}\u{1b}[2J\r\npresence: ok, all fine\u{9b}\u{7f}\u{202e}"
        ));
        assert!(shown.contains("; channels: "), "{shown}");
        assert!(
            format!("{api:?}").contains("\\u{1b}"),
            "Debug escapes as Rust strings do"
        );
        let decode = Error::decode(
            200,
            format!("unexpected body shape: {HOSTILE}"),
            HOSTILE.as_bytes(),
            None,
        );
        assert!(!forbidden(&decode.to_string()));
        assert!(!forbidden(
            &Error::argument("channels", HOSTILE).to_string()
        ));
        assert!(!forbidden(&Error::config("user_id", HOSTILE).to_string()));
    }

    #[test]
    fn escaping_is_borrowed_when_clean_and_covers_every_control() {
        assert!(matches!(
            escape_control("plain café"),
            std::borrow::Cow::Borrowed(_)
        ));
        for c in (0u32..0x20)
            .chain([0x7f])
            .chain(0x80..0xa0)
            .filter_map(char::from_u32)
        {
            let text = format!("a{c}b");
            let escaped = escape_control(&text);
            assert!(!forbidden(&escaped), "{c:?}");
            assert!(escaped.starts_with('a') && escaped.ends_with('b'));
        }
    }
}
