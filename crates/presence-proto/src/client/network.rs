//! Network settings every driver applies when it builds its connections: the HTTP proxy
//! ([`Proxy`], [`ProxyUrl`]) and extra trusted root certificates ([`RootCertificates`]).

use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// Which HTTP proxy requests go through; set with
/// [`ClientBuilder::proxy`](super::ClientBuilder::proxy) or
/// [`ClientBuilder::no_proxy`](super::ClientBuilder::no_proxy).
///
/// The default, [`Proxy::FromEnv`], follows `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
/// `NO_PROXY` (and their lower-case forms) as the driver's HTTP library reads them. `https://`
/// origins are reached through `CONNECT`.
///
/// ```
/// use presence_proto::{Proxy, ProxyUrl};
/// assert_eq!(Proxy::default(), Proxy::FromEnv);
/// let proxy = Proxy::Url(ProxyUrl::new("http://user:pass@proxy.corp:3128")?);
/// assert!(!format!("{proxy:?}").contains("pass"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub enum Proxy {
    /// From the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, and
    /// lower-case), as the driver's HTTP library reads them.
    #[default]
    FromEnv,
    /// No proxy, whatever the environment says.
    None,
    /// Every request through this proxy (the environment is not read).
    Url(ProxyUrl),
}

/// An HTTP proxy's URL, `http://[user:password@]host[:port]`; the credentials are sent as
/// `Proxy-Authorization: Basic` and never shown by `Debug` or `Display`.
///
/// ```
/// use presence_proto::ProxyUrl;
/// let url = ProxyUrl::new("http://alice:s3cret@127.0.0.1:3128")?;
/// assert_eq!(url.to_string(), "http://[redacted]@127.0.0.1:3128");
/// assert_eq!(url.expose(), "http://alice:s3cret@127.0.0.1:3128");
/// assert!(ProxyUrl::new("ftp://proxy").is_err());
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone, Eq, PartialEq)]
pub struct ProxyUrl {
    url: String,
    /// Byte range of `user:password@` in `url`, when present.
    credentials: Option<(usize, usize)>,
}

impl ProxyUrl {
    /// Checks and wraps a proxy URL: scheme `http`, a host, an optional port and credentials,
    /// nothing else (no path or query).
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        let url = url.into();
        let invalid = |reason: &str| Error::InvalidConfig {
            field: "proxy",
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("the proxy URL must start with http://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (credentials, host_port) = match rest.rfind('@') {
            Some(at) => (
                Some((7, 7 + at + 1)),
                rest.get(at + 1..).unwrap_or_default(),
            ),
            None => (None, rest),
        };
        let host_ok = host_port.parse::<http::uri::Authority>().is_ok_and(|a| {
            !a.host().is_empty() && a.as_str() == host_port && !host_port.contains('@')
        });
        if !host_ok {
            // Do not echo the URL: it may hold a password.
            return Err(invalid(
                "the proxy URL must be http://[user:password@]host[:port] with no path",
            ));
        }
        Ok(Self { url, credentials })
    }

    /// The URL as given, credentials included: for the driver that connects through it.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// Whether the URL carries `user:password@` credentials.
    ///
    /// ```
    /// assert!(presence_proto::ProxyUrl::new("http://u:p@proxy:8080")?.has_credentials());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.credentials {
            Some((start, end)) => write!(
                f,
                "{}[redacted]@{}",
                self.url.get(..start).unwrap_or_default(),
                self.url.get(end..).unwrap_or_default()
            ),
            None => f.write_str(&self.url),
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// Extra root certificates (PEM) trusted besides the adapter's built-in roots; set with
/// [`ClientBuilder::add_root_certificate`](super::ClientBuilder::add_root_certificate).
///
/// ```
/// let options = presence_proto::ClientOptions::default();
/// assert!(options.get_root_certificates().is_empty());
/// ```
#[derive(Clone, Default, Eq, PartialEq)]
pub struct RootCertificates(Vec<Arc<[u8]>>);

impl RootCertificates {
    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The PEM documents, in the order they were added.
    ///
    /// ```
    /// let options = presence_proto::ClientOptions::default().add_root_certificate(b"-----BEGIN CERTIFICATE-----\n...");
    /// assert_eq!(options.get_root_certificates().iter().count(), 1);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.0.iter().map(|pem| &pem[..])
    }

    /// The certificates of every PEM document as DER, in order: what a TLS stack loads. Fails
    /// (invalid input) on a document with no `CERTIFICATE` block or with bad base64 in one.
    ///
    /// ```
    /// use presence_proto::{ClientOptions, ErrorKind};
    /// let options = ClientOptions::default().add_root_certificate(b"not PEM");
    /// assert_eq!(options.get_root_certificates().der().unwrap_err().kind(), ErrorKind::InvalidInput);
    /// let pem = b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
    /// let options = ClientOptions::default().add_root_certificate(pem);
    /// assert_eq!(options.get_root_certificates().der()?, vec![vec![0u8, 1, 2]]);
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn der(&self) -> Result<Vec<Vec<u8>>, Error> {
        use base64::Engine as _;
        let invalid = |reason: String| Error::InvalidConfig {
            field: "root_certificate",
            reason,
        };
        let mut out = Vec::new();
        for pem in &self.0 {
            let text =
                std::str::from_utf8(pem).map_err(|_| invalid("the PEM is not text".to_owned()))?;
            let mut found = 0;
            let mut rest = text;
            while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
                let body = &rest[start + "-----BEGIN CERTIFICATE-----".len()..];
                let Some(end) = body.find("-----END CERTIFICATE-----") else {
                    return Err(invalid("a CERTIFICATE block has no END line".to_owned()));
                };
                let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| invalid(format!("unreadable PEM: {e}")))?;
                out.push(der);
                found += 1;
                rest = &body[end..];
            }
            if found == 0 {
                return Err(invalid("no CERTIFICATE block in the PEM".to_owned()));
            }
        }
        Ok(out)
    }

    pub(crate) fn push(&mut self, pem: &[u8]) {
        self.0.push(Arc::from(pem));
    }
}

impl fmt::Debug for RootCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootCertificates({} PEM)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        for ok in [
            "http://proxy",
            "http://proxy:3128",
            "http://proxy:3128/",
            "http://u:p@127.0.0.1:1",
            "http://[::1]:8080",
        ] {
            assert!(ProxyUrl::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "proxy:3128",
            "https://proxy",
            "socks5://proxy",
            "http://",
            "http://proxy/path",
            "http://u:p@",
            "http://proxy?x",
        ] {
            assert!(ProxyUrl::new(bad).is_err(), "{bad}");
        }
        let err = ProxyUrl::new("http://u:hunter2@/x").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[test]
    fn credentials_are_redacted() {
        let url = ProxyUrl::new("http://alice:p%40ss@proxy:1").unwrap();
        assert_eq!(url.to_string(), "http://[redacted]@proxy:1");
        assert!(!format!("{:?}", Proxy::Url(url)).contains("p%40ss"));
    }
}
