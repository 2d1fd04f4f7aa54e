//! Per-keyset options (feature flags, signing keys, Access Manager grants) and the
//! emulator-wide configuration they live in.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;

/// Options of one keyset (one subscribe key), mirroring switches of the PubNub Admin Portal.
///
/// Set a default for every subscribe key with
/// [`EmulatorBuilder::default_keyset`](crate::EmulatorBuilder::default_keyset) and override
/// it per key with [`EmulatorBuilder::keyset`](crate::EmulatorBuilder::keyset).
///
/// ```
/// use presence_emulator::{AccessManager, KeysetOptions, Permissions};
///
/// let options = KeysetOptions::new()
///     .global_here_now(false)
///     .secret_key("my-secret")
///     .publish_key("my-pub")
///     .access_manager(AccessManager::new().grant_channel("token-1", "room", Permissions::READ));
/// assert!(options.is_presence_enabled());
/// ```
#[derive(Clone, Default)]
pub struct KeysetOptions {
    presence_disabled: bool,
    global_here_now_disabled: bool,
    secret_key: Option<String>,
    publish_key: Option<String>,
    access_manager: Option<AccessManager>,
}

impl KeysetOptions {
    /// Presence enabled, global here now enabled, no signing, no Access Manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the Presence add-on is enabled. When it is not, every `/v2/presence` call
    /// answers HTTP 402 with the service's "feature is not turned on" body. Default `true`.
    pub fn presence_enabled(mut self, enabled: bool) -> Self {
        self.presence_disabled = !enabled;
        self
    }

    /// Whether "Global Here Now" (`/v2/presence/sub-key/{sk}` without a channel) is
    /// enabled; when it is not, that call answers HTTP 402. Default `true`.
    pub fn global_here_now(mut self, enabled: bool) -> Self {
        self.global_here_now_disabled = !enabled;
        self
    }

    /// Requires every request to carry a valid v2 `signature` and a `timestamp` within
    /// ±60 s of the emulator's clock, computed with this secret key.
    pub fn secret_key(mut self, secret: impl Into<String>) -> Self {
        self.secret_key = Some(secret.into());
        self
    }

    /// The publish key that goes into the signed string (empty when not set).
    pub fn publish_key(mut self, key: impl Into<String>) -> Self {
        self.publish_key = Some(key.into());
        self
    }

    /// Enforces Access Manager grants: requests whose `auth` lacks a grant answer HTTP 403.
    pub fn access_manager(mut self, grants: AccessManager) -> Self {
        self.access_manager = Some(grants);
        self
    }

    /// Whether presence is enabled on this keyset.
    pub fn is_presence_enabled(&self) -> bool {
        !self.presence_disabled
    }

    /// Whether global here now is enabled on this keyset.
    pub fn is_global_here_now_enabled(&self) -> bool {
        !self.global_here_now_disabled
    }

    pub(crate) fn secret(&self) -> Option<&str> {
        self.secret_key.as_deref()
    }

    pub(crate) fn publish(&self) -> &str {
        self.publish_key.as_deref().unwrap_or("")
    }

    pub(crate) fn grants(&self) -> Option<&AccessManager> {
        self.access_manager.as_ref()
    }
}

impl fmt::Debug for KeysetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysetOptions")
            .field("presence_disabled", &self.presence_disabled)
            .field("global_here_now_disabled", &self.global_here_now_disabled)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .field("publish_key", &self.publish_key)
            .field("access_manager", &self.access_manager)
            .finish()
    }
}

/// Permissions an auth token holds on one channel or channel group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Permissions {
    /// Read: here now, heartbeat, leave, get and set state on a channel or group.
    pub read: bool,
    /// Write: not needed by any presence call; kept for completeness.
    pub write: bool,
    /// Manage: add to, remove from, list and delete a channel group.
    pub manage: bool,
}

impl Permissions {
    /// Read only.
    pub const READ: Self = Self {
        read: true,
        write: false,
        manage: false,
    };
    /// Write only.
    pub const WRITE: Self = Self {
        read: false,
        write: true,
        manage: false,
    };
    /// Manage only.
    pub const MANAGE: Self = Self {
        read: false,
        write: false,
        manage: true,
    };
    /// Read, write and manage.
    pub const ALL: Self = Self {
        read: true,
        write: true,
        manage: true,
    };

    /// Parses a compact form such as `"r"`, `"rw"`, `"rwm"` (any order; `-` for none).
    pub fn parse(s: &str) -> Option<Self> {
        let mut p = Self::default();
        for c in s.chars() {
            match c {
                'r' | 'R' => p.read = true,
                'w' | 'W' => p.write = true,
                'm' | 'M' => p.manage = true,
                '-' => {}
                _ => return None,
            }
        }
        Some(p)
    }

    fn union(self, other: Self) -> Self {
        Self {
            read: self.read || other.read,
            write: self.write || other.write,
            manage: self.manage || other.manage,
        }
    }
}

/// The permission a request needs on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    Read,
    Manage,
}

impl Need {
    fn satisfied_by(self, p: Permissions) -> bool {
        match self {
            Need::Read => p.read,
            Need::Manage => p.manage,
        }
    }
}

/// Access Manager grants: which `auth` token may do what on which channel or group.
///
/// The name `*` grants on every channel (or every group).
///
/// ```
/// use presence_emulator::{AccessManager, Permissions};
/// let am = AccessManager::new()
///     .grant_channel("alice-token", "room-1", Permissions::READ)
///     .grant_group("admin-token", "*", Permissions::ALL);
/// # let _ = am;
/// ```
#[derive(Clone, Debug, Default)]
pub struct AccessManager {
    channels: HashMap<String, HashMap<String, Permissions>>,
    groups: HashMap<String, HashMap<String, Permissions>>,
}

impl AccessManager {
    /// No grants at all: every request is forbidden.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `perms` on `channel` (or `*` for all channels) to `auth`.
    pub fn grant_channel(
        mut self,
        auth: impl Into<String>,
        channel: impl Into<String>,
        perms: Permissions,
    ) -> Self {
        let slot = self
            .channels
            .entry(channel.into())
            .or_default()
            .entry(auth.into())
            .or_default();
        *slot = slot.union(perms);
        self
    }

    /// Grants `perms` on channel group `group` (or `*` for all groups) to `auth`.
    pub fn grant_group(
        mut self,
        auth: impl Into<String>,
        group: impl Into<String>,
        perms: Permissions,
    ) -> Self {
        let slot = self
            .groups
            .entry(group.into())
            .or_default()
            .entry(auth.into())
            .or_default();
        *slot = slot.union(perms);
        self
    }

    fn allowed(
        table: &HashMap<String, HashMap<String, Permissions>>,
        auth: Option<&str>,
        name: &str,
        need: Need,
    ) -> bool {
        let Some(auth) = auth else { return false };
        [name, "*"].iter().any(|key| {
            table
                .get(*key)
                .and_then(|by_auth| by_auth.get(auth))
                .is_some_and(|p| need.satisfied_by(*p))
        })
    }

    pub(crate) fn channel_allowed(&self, auth: Option<&str>, channel: &str, need: Need) -> bool {
        Self::allowed(&self.channels, auth, channel, need)
    }

    pub(crate) fn group_allowed(&self, auth: Option<&str>, group: &str, need: Need) -> bool {
        Self::allowed(&self.groups, auth, group, need)
    }
}

/// Everything the running server needs to know, fixed at start.
pub(crate) struct Config {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeout_unit: Duration,
    pub(crate) min_timeout: u32,
    pub(crate) max_timeout: u32,
    pub(crate) default_keyset: KeysetOptions,
    pub(crate) keysets: HashMap<String, KeysetOptions>,
    pub(crate) admin_enabled: bool,
    pub(crate) gzip_threshold: usize,
    pub(crate) limits: ConnLimits,
    pub(crate) events: crate::interval::EventOptions,
}

/// Per-connection limits against slow or abusive clients.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnLimits {
    /// A request head (request line and headers) must arrive within this time of its first
    /// byte; a new connection must deliver its first head within this time.
    pub(crate) header_read_timeout: Duration,
    /// A keep-alive connection with no request in progress and nothing received for this
    /// long is closed.
    pub(crate) idle_timeout: Duration,
    /// The largest request head accepted (hyper answers 431 above it).
    pub(crate) max_head_bytes: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_head_bytes: 80 * 1024,
        }
    }
}

impl Config {
    pub(crate) fn keyset(&self, sub_key: &str) -> &KeysetOptions {
        self.keysets.get(sub_key).unwrap_or(&self.default_keyset)
    }

    /// The clock duration of `secs` presence-timeout seconds.
    pub(crate) fn timeout_duration(&self, secs: u32) -> Duration {
        self.timeout_unit.saturating_mul(secs)
    }

    /// `now` plus `secs` presence-timeout seconds, without overflowing on absurd settings.
    pub(crate) fn deadline(&self, now: std::time::SystemTime, secs: u32) -> std::time::SystemTime {
        now.checked_add(self.timeout_duration(secs))
            .or_else(|| now.checked_add(Duration::from_secs(u64::from(u32::MAX))))
            .unwrap_or(now)
    }

    /// `heartbeat=N` → the effective timeout in seconds: 300 when absent, empty, zero or
    /// not a positive integer, then clamped to the configured bounds.
    pub(crate) fn effective_timeout(&self, raw: Option<&str>) -> u32 {
        let parsed = raw
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
            .map_or(crate::DEFAULT_PRESENCE_TIMEOUT, |n| {
                u32::try_from(n).unwrap_or(u32::MAX)
            });
        parsed.clamp(self.min_timeout, self.max_timeout.max(self.min_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse() {
        assert_eq!(Permissions::parse("rwm"), Some(Permissions::ALL));
        assert_eq!(Permissions::parse("r"), Some(Permissions::READ));
        assert_eq!(Permissions::parse("-"), Some(Permissions::default()));
        assert_eq!(Permissions::parse("x"), None);
    }

    #[test]
    fn grants_and_wildcards() {
        let am = AccessManager::new()
            .grant_channel("a", "room", Permissions::READ)
            .grant_group("a", "*", Permissions::MANAGE);
        assert!(am.channel_allowed(Some("a"), "room", Need::Read));
        assert!(!am.channel_allowed(Some("a"), "other", Need::Read));
        assert!(!am.channel_allowed(None, "room", Need::Read));
        assert!(!am.channel_allowed(Some("b"), "room", Need::Read));
        assert!(am.group_allowed(Some("a"), "any", Need::Manage));
        assert!(!am.group_allowed(Some("a"), "any", Need::Read));
    }

    #[test]
    fn debug_redacts_secret() {
        let o = KeysetOptions::new().secret_key("top-secret");
        assert!(!format!("{o:?}").contains("top-secret"));
    }
}
