//! The per-attempt inputs the core leaves to drivers: the clock and request ids.

use std::time::{SystemTime, UNIX_EPOCH};

use presence_proto::Stamp;

/// A fresh stamp: the current Unix time and a new request id.
pub(crate) fn fresh() -> Stamp {
    Stamp::new(unix_now(), request_id())
}

/// Unix time in seconds (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random (version 4) request id. Request ids need uniqueness, not unpredictability, so the
/// fast thread-local generator is used rather than the OS's.
fn request_id() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_v4_and_fresh() {
        let id = request_id();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(fresh().request_id(), fresh().request_id());
        assert!(fresh().timestamp() > 1_600_000_000);
    }
}
