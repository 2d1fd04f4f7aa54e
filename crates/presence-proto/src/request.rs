//! Composition of the full request from an operation's path and parameters: the only place
//! that adds the keyset-wide parameters, encodes query values and signs.

use std::borrow::Cow;

use crate::config::Config;
use crate::encode::{encode_into, encoded_len};
use crate::error::Error;
use crate::sign::{SIGNATURE_LEN, mac_v2, push_signature};
use crate::stamp::Stamp;

/// Longest request URL the service accepts (it answers 414 beyond; spec §7).
pub const MAX_URL_BYTES: usize = 32 * 1024;

/// The operation-specific part of a request: encoded path and raw (unencoded) query pairs.
#[derive(Debug)]
pub(crate) struct Parts {
    /// Path, already encoded (segments through the one encoder).
    pub(crate) path: String,
    /// Operation parameters, values not yet encoded.
    pub(crate) query: Vec<(&'static str, Cow<'static, str>)>,
}

impl Parts {
    /// Starts a path with `/v2/presence/sub-key/{subscribe_key}`.
    pub(crate) fn presence(config: &Config) -> Self {
        let mut path = String::with_capacity(96);
        path.push_str("/v2/presence/sub-key/");
        encode_into(&mut path, config.subscribe_key());
        Self {
            path,
            query: Vec::new(),
        }
    }

    /// Starts a path with `/v2/subscribe/{subscribe_key}`.
    pub(crate) fn subscribe(config: &Config) -> Self {
        let mut path = String::with_capacity(96);
        path.push_str("/v2/subscribe/");
        encode_into(&mut path, config.subscribe_key());
        Self {
            path,
            query: Vec::new(),
        }
    }

    /// Starts a path with `/v1/channel-registration/sub-key/{subscribe_key}/channel-group/{group}`.
    pub(crate) fn channel_registration(config: &Config, group: &str) -> Self {
        let mut path = String::with_capacity(96);
        path.push_str("/v1/channel-registration/sub-key/");
        encode_into(&mut path, config.subscribe_key());
        path.push_str("/channel-group/");
        encode_into(&mut path, group);
        Self {
            path,
            query: Vec::new(),
        }
    }

    /// Appends `/` and one encoded segment.
    pub(crate) fn segment(&mut self, raw: &str) {
        self.path.push('/');
        encode_into(&mut self.path, raw);
    }

    /// Appends a literal (already safe) path piece such as `/heartbeat`.
    pub(crate) fn literal(&mut self, piece: &'static str) {
        self.path.push_str(piece);
    }

    /// Adds an operation parameter.
    pub(crate) fn param(&mut self, key: &'static str, value: impl Into<Cow<'static, str>>) {
        self.query.push((key, value.into()));
    }

    /// Adds the parameters every call carries, sorts, encodes, signs, and builds the request.
    pub(crate) fn finish(
        self,
        config: &Config,
        stamp: &Stamp,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        let timestamp = config.secret_key().map(|_| stamp.timestamp().to_string());
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(self.query.len() + 5);
        pairs.extend(self.query.iter().map(|(key, value)| (*key, value.as_ref())));
        pairs.push(("uuid", config.user_id()));
        pairs.push(("pnsdk", config.pnsdk()));
        if !stamp.request_id().is_empty() {
            pairs.push(("requestid", stamp.request_id()));
        }
        if let Some(token) = config.auth_token() {
            pairs.push(("auth", token.expose()));
        }
        if let Some(timestamp) = &timestamp {
            pairs.push(("timestamp", timestamp));
        }
        // Sorted by key (byte order) so the wire query is exactly the signed string.
        pairs.sort_unstable();

        // The exact URL length, known before encoding: an over-long URL is refused at once.
        let query_len = pairs
            .iter()
            .map(|(key, value)| key.len() + 1 + encoded_len(value))
            .sum::<usize>()
            + pairs.len().saturating_sub(1);
        let signature_len = match config.secret_key() {
            Some(_) => "&signature=".len() + SIGNATURE_LEN,
            None => 0,
        };
        let length = config.origin().len() + self.path.len() + 1 + query_len + signature_len;
        if length > MAX_URL_BYTES {
            return Err(Error::UrlTooLong {
                length,
                max: MAX_URL_BYTES,
            });
        }

        let mut url = String::with_capacity(length);
        url.push_str(config.origin());
        url.push_str(&self.path);
        url.push('?');
        let query_start = url.len();
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                url.push('&');
            }
            url.push_str(key);
            url.push('=');
            encode_into(&mut url, value);
        }
        if let Some(secret) = config.secret_key() {
            let mac = mac_v2(
                secret.expose(),
                config.publish_key().unwrap_or(""),
                &self.path,
                url.get(query_start..).unwrap_or_default(),
            );
            url.push_str("&signature=");
            push_signature(&mut url, mac.as_ref());
        }
        debug_assert_eq!(url.len(), length);

        // Every byte of the URL came from the encoder, so this should not fail; if it does,
        // report the argument rather than panic. The URL itself may hold secrets: not shown.
        let uri = http::Uri::try_from(url)
            .map_err(|e| Error::argument("request", format!("could not build the request: {e}")))?;
        let mut request = http::Request::new(Vec::new());
        *request.uri_mut() = uri;
        request.headers_mut().insert(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("gzip"),
        );
        Ok(request)
    }
}

/// A printable form of a request URI with `auth` and `signature` values redacted.
///
/// Use this, never the raw URI or `http::Request`'s `Debug`, when logging.
///
/// ```
/// let uri: http::Uri = "https://ps.pndsn.com/v2/presence/sub-key/s?auth=tok&uuid=u&signature=v2.x"
///     .parse()?;
/// assert_eq!(
///     presence_proto::redacted_uri(&uri),
///     "https://ps.pndsn.com/v2/presence/sub-key/s?auth=[redacted]&uuid=u&signature=[redacted]"
/// );
/// # Ok::<(), http::uri::InvalidUri>(())
/// ```
pub fn redacted_uri(uri: &http::Uri) -> String {
    let mut out = String::new();
    if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(authority.as_str());
    }
    out.push_str(uri.path());
    if let Some(query) = uri.query() {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if matches!(key, "auth" | "signature") => {
                    out.push_str(key);
                    out.push_str("=[redacted]");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}
