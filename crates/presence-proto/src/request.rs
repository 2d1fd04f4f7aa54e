//! Composition of the full request from an operation's path and parameters: the only place
//! that adds the keyset-wide parameters, encodes query values and signs.

use std::borrow::Cow;

use crate::config::Config;
use crate::encode::encode_into;
use crate::error::Error;
use crate::sign::sign_v2;
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
        mut self,
        config: &Config,
        stamp: &Stamp,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        self.query
            .push(("uuid", Cow::Owned(config.user_id().to_owned())));
        self.query
            .push(("pnsdk", Cow::Owned(config.pnsdk().to_owned())));
        if !stamp.request_id().is_empty() {
            self.query
                .push(("requestid", Cow::Owned(stamp.request_id().to_owned())));
        }
        if let Some(token) = config.auth_token() {
            self.query
                .push(("auth", Cow::Owned(token.expose().to_owned())));
        }
        if config.secret_key().is_some() {
            self.query
                .push(("timestamp", Cow::Owned(stamp.timestamp().to_string())));
        }
        // Sorted by key (byte order) so the wire query is exactly the signed string.
        self.query
            .sort_by(|a, b| a.0.cmp(b.0).then_with(|| a.1.cmp(&b.1)));

        let mut query = String::with_capacity(128);
        for (i, (key, value)) in self.query.iter().enumerate() {
            if i > 0 {
                query.push('&');
            }
            query.push_str(key);
            query.push('=');
            encode_into(&mut query, value);
        }
        if let Some(secret) = config.secret_key() {
            let signature = sign_v2(
                secret.expose(),
                config.publish_key().unwrap_or(""),
                &self.path,
                &query,
            );
            query.push_str("&signature=");
            query.push_str(&signature);
        }

        let mut url =
            String::with_capacity(config.origin().len() + self.path.len() + query.len() + 1);
        url.push_str(config.origin());
        url.push_str(&self.path);
        url.push('?');
        url.push_str(&query);
        if url.len() > MAX_URL_BYTES {
            return Err(Error::UrlTooLong {
                length: url.len(),
                max: MAX_URL_BYTES,
            });
        }
        http::Request::get(url)
            .header(http::header::ACCEPT_ENCODING, "gzip")
            .body(Vec::new())
            // Every byte of the URL came from the encoder, so this should not fail; if it does,
            // report the argument rather than panic. The URL itself may hold secrets: not shown.
            .map_err(|e| Error::argument("request", format!("could not build the request: {e}")))
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
