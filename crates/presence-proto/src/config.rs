//! The keyset and identity a request is made with, built through a validating builder.

use std::fmt;

use crate::error::Error;

/// Default origin of the live service.
///
/// ```
/// assert_eq!(presence_proto::DEFAULT_ORIGIN, "https://ps.pndsn.com");
/// ```
pub const DEFAULT_ORIGIN: &str = "https://ps.pndsn.com";

pub use crate::names::MAX_USER_ID_BYTES;

/// SDK identifier sent as `pnsdk`.
///
/// ```
/// assert!(presence_proto::SDK_NAME.starts_with("PubNub-Rust-Presence/"));
/// ```
pub const SDK_NAME: &str = concat!("PubNub-Rust-Presence/", env!("CARGO_PKG_VERSION"));

/// A secret string (secret key or auth token): never shown by `Debug` or `Display`.
///
/// ```
/// let s = presence_proto::Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "[redacted]");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, Eq, PartialEq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    ///
    /// ```
    /// let secret = presence_proto::Secret::new("sec-c-123");
    /// assert_eq!(secret.to_string(), "[redacted]");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it must go on the wire or into a MAC.
    ///
    /// ```
    /// let secret = presence_proto::Secret::new("sec-c-123");
    /// assert_eq!(secret.expose(), "sec-c-123");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A keyset plus the caller's identity: everything keyset-wide that goes into a request.
///
/// Passed to [`crate::Operation::to_request`] on every call, so one process can use several
/// keysets or user ids side by side.
///
/// ```
/// use presence_proto::Config;
/// let config = Config::builder("sub-c-123", "alice")
///     .secret_key("sec-c-xyz")
///     .origin("http://127.0.0.1:8090")
///     .build()?;
/// assert_eq!(config.user_id(), "alice");
/// assert!(!format!("{config:?}").contains("sec-c-xyz"));
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone)]
pub struct Config {
    subscribe_key: String,
    publish_key: Option<String>,
    secret_key: Option<Secret>,
    auth_token: Option<Secret>,
    user_id: String,
    origin: String,
    pnsdk: String,
}

impl Config {
    /// Starts a builder with the two required values.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice").build()?;
    /// assert_eq!(config.user_id(), "alice");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn builder(subscribe_key: impl Into<String>, user_id: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            subscribe_key: subscribe_key.into(),
            publish_key: None,
            secret_key: None,
            auth_token: None,
            user_id: user_id.into(),
            origin: DEFAULT_ORIGIN.to_owned(),
            sdk_suffix: None,
        }
    }

    /// The subscribe key (path namespace of every call).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .secret_key("sec-c-demo")
    ///     .auth_token("token")
    ///     .origin("http://127.0.0.1:8090")
    ///     .build()?;
    /// assert_eq!(config.subscribe_key(), "sub-c-demo");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn subscribe_key(&self) -> &str {
        &self.subscribe_key
    }

    /// The publish key, if set (part of the signed string).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .secret_key("sec-c-demo")
    ///     .auth_token("token")
    ///     .origin("http://127.0.0.1:8090")
    ///     .build()?;
    /// assert_eq!(config.publish_key(), Some("pub-c-demo"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn publish_key(&self) -> Option<&str> {
        self.publish_key.as_deref()
    }

    /// The secret key, if set (requests are then signed).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .secret_key("sec-c-demo")
    ///     .auth_token("token")
    ///     .origin("http://127.0.0.1:8090")
    ///     .build()?;
    /// assert_eq!(config.secret_key().map(|s| s.expose()), Some("sec-c-demo"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn secret_key(&self) -> Option<&Secret> {
        self.secret_key.as_ref()
    }

    /// The Access Manager token or auth key, if set (sent as `auth`).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .secret_key("sec-c-demo")
    ///     .auth_token("token")
    ///     .origin("http://127.0.0.1:8090")
    ///     .build()?;
    /// assert_eq!(config.auth_token().map(|s| s.expose()), Some("token"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn auth_token(&self) -> Option<&Secret> {
        self.auth_token.as_ref()
    }

    /// The caller's user id (sent as `uuid` on every call).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .secret_key("sec-c-demo")
    ///     .auth_token("token")
    ///     .origin("http://127.0.0.1:8090")
    ///     .build()?;
    /// assert_eq!(config.user_id(), "alice");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The origin, `scheme://host[:port]` without a trailing slash.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .secret_key("sec-c-demo")
    ///     .auth_token("token")
    ///     .origin("http://127.0.0.1:8090")
    ///     .build()?;
    /// assert_eq!(config.origin(), "http://127.0.0.1:8090");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The `pnsdk` value sent with every request.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("demo", "alice").sdk_suffix("my-app/1.0").build()?;
    /// assert!(config.pnsdk().ends_with("my-app/1.0"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn pnsdk(&self) -> &str {
        &self.pnsdk
    }

    /// A builder pre-filled with this configuration, to derive a variant (another user id, say).
    ///
    /// ```
    /// # let config = presence_proto::Config::builder("sub-c", "alice").build()?;
    /// let bob = config.to_builder().user_id("bob").build()?;
    /// assert_eq!(bob.user_id(), "bob");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn to_builder(&self) -> ConfigBuilder {
        let suffix = self
            .pnsdk
            .strip_prefix(SDK_NAME)
            .and_then(|s| s.strip_prefix(' '));
        ConfigBuilder {
            subscribe_key: self.subscribe_key.clone(),
            publish_key: self.publish_key.clone(),
            secret_key: self.secret_key.clone(),
            auth_token: self.auth_token.clone(),
            user_id: self.user_id.clone(),
            origin: self.origin.clone(),
            sdk_suffix: suffix.map(str::to_owned),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("subscribe_key", &self.subscribe_key)
            .field("publish_key", &self.publish_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[redacted]"),
            )
            .field("user_id", &self.user_id)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Builder for [`Config`]; [`ConfigBuilder::build`] validates every value.
///
/// ```
/// use presence_proto::Config;
/// let config = Config::builder("sub-c-demo", "alice")
///     .auth_token("token-from-your-server")
///     .origin("https://ps.pndsn.com")
///     .build()?;
/// # let _ = config;
/// # Ok::<(), presence_proto::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ConfigBuilder {
    subscribe_key: String,
    publish_key: Option<String>,
    secret_key: Option<Secret>,
    auth_token: Option<Secret>,
    user_id: String,
    origin: String,
    sdk_suffix: Option<String>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("subscribe_key", &self.subscribe_key)
            .field("user_id", &self.user_id)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Sets the subscribe key.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .subscribe_key("sub-c-other")
    ///     .build()?;
    /// assert_eq!(config.subscribe_key(), "sub-c-other");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn subscribe_key(mut self, key: impl Into<String>) -> Self {
        self.subscribe_key = key.into();
        self
    }

    /// Sets the publish key (only used inside the signature).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .publish_key("pub-c-demo")
    ///     .build()?;
    /// assert_eq!(config.publish_key(), Some("pub-c-demo"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn publish_key(mut self, key: impl Into<String>) -> Self {
        self.publish_key = Some(key.into());
        self
    }

    /// Sets the secret key: every request is then signed (spec §4). Server-side use only.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .secret_key("sec-c-demo") // requests are signed
    ///     .build()?;
    /// assert!(config.secret_key().is_some());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(Secret::new(key));
        self
    }

    /// Sets the Access Manager token (or legacy auth key), sent as `auth`.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .auth_token("token-from-your-server")
    ///     .build()?;
    /// assert!(config.auth_token().is_some());
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(Secret::new(token));
        self
    }

    /// Sets the caller's user id.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .user_id("bob")
    ///     .build()?;
    /// assert_eq!(config.user_id(), "bob");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Sets the origin: `http://` or `https://` then `host[:port]` (a trailing `/` is allowed).
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .origin("http://127.0.0.1:8090") // e.g. the emulator
    ///     .build()?;
    /// assert_eq!(config.origin(), "http://127.0.0.1:8090");
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Appends ` suffix` to the `pnsdk` value, to identify your application.
    ///
    /// ```
    /// let config = presence_proto::Config::builder("sub-c-demo", "alice")
    ///     .sdk_suffix("my-app/1.0")
    ///     .build()?;
    /// assert!(config.pnsdk().contains("my-app/1.0"));
    /// # Ok::<(), presence_proto::Error>(())
    /// ```
    pub fn sdk_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.sdk_suffix = Some(suffix.into());
        self
    }

    /// Validates and builds the configuration.
    ///
    /// ```
    /// use presence_proto::{Config, ErrorKind};
    /// let err = Config::builder("sub-c", "  ").build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// let err = Config::builder("sub-c", "u").origin("ftp://x").build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn build(self) -> Result<Config, Error> {
        if self.subscribe_key.trim().is_empty() {
            return Err(Error::config("subscribe_key", "must not be empty"));
        }
        crate::names::check_user_id(&self.user_id)
            .map_err(|reason| Error::config("user_id", reason))?;
        let origin = normalize_origin(&self.origin)?;
        let pnsdk = match self.sdk_suffix.as_deref().map(str::trim) {
            Some(suffix) if !suffix.is_empty() => format!("{SDK_NAME} {suffix}"),
            _ => SDK_NAME.to_owned(),
        };
        Ok(Config {
            subscribe_key: self.subscribe_key,
            publish_key: self.publish_key.filter(|k| !k.is_empty()),
            secret_key: self.secret_key.filter(|k| !k.expose().is_empty()),
            auth_token: self.auth_token.filter(|k| !k.expose().is_empty()),
            user_id: self.user_id,
            origin,
            pnsdk,
        })
    }
}

fn normalize_origin(origin: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::config("origin", format!("{origin:?}: {reason}"));
    let trimmed = origin.strip_suffix('/').unwrap_or(origin);
    let uri: http::Uri = trimmed.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(bad("scheme must be http or https")),
    }
    let Some(authority) = uri.authority() else {
        return Err(bad("missing host"));
    };
    if authority.host().is_empty() || authority.as_str().contains('@') {
        return Err(bad("host must be host[:port] without user info"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("must not have a path or query"));
    }
    Ok(format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("https"),
        authority.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let ok = |o: &str| {
            Config::builder("s", "u")
                .origin(o)
                .build()
                .map(|c| c.origin().to_owned())
        };
        assert_eq!(ok("https://ps.pndsn.com").unwrap(), "https://ps.pndsn.com");
        assert_eq!(
            ok("http://127.0.0.1:8090/").unwrap(),
            "http://127.0.0.1:8090"
        );
        assert_eq!(ok("http://[::1]:80").unwrap(), "http://[::1]:80");
        for bad in [
            "",
            "ps.pndsn.com",
            "ftp://h",
            "http://h/p",
            "http://h?x",
            "http://u@h",
            "https://",
        ] {
            assert!(ok(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn user_ids() {
        assert!(Config::builder("s", "").build().is_err());
        assert!(Config::builder("s", " \t").build().is_err());
        assert!(Config::builder("s", "x".repeat(92)).build().is_ok());
        assert!(Config::builder("s", "x".repeat(93)).build().is_err());
        // 46 two-byte characters = 92 bytes; 47 = 94 bytes.
        assert!(Config::builder("s", "é".repeat(46)).build().is_ok());
        assert!(Config::builder("s", "é".repeat(47)).build().is_err());
        assert!(Config::builder(" ", "u").build().is_err());
    }

    #[test]
    fn secrets_redacted() {
        let c = Config::builder("s", "u")
            .secret_key("SEKRIT")
            .auth_token("TOKEN")
            .build()
            .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("SEKRIT") && !dbg.contains("TOKEN"), "{dbg}");
        let b = format!("{:?}", c.to_builder());
        assert!(!b.contains("SEKRIT") && !b.contains("TOKEN"), "{b}");
    }

    #[test]
    fn sdk_suffix_round_trips() {
        let c = Config::builder("s", "u")
            .sdk_suffix("my-app/1.0")
            .build()
            .unwrap();
        assert_eq!(c.pnsdk(), format!("{SDK_NAME} my-app/1.0"));
        assert_eq!(c.to_builder().build().unwrap().pnsdk(), c.pnsdk());
    }
}
