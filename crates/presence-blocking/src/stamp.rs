//! The per-attempt inputs the core leaves to drivers: the clock, request ids and jitter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Random extra wait added to a retry delay: uniform in `0..=min(1 s, base / 2)`.
pub(crate) fn jitter(base: Duration) -> Duration {
    let cap = (base / 2).min(Duration::from_secs(1));
    let cap_nanos = cap.as_nanos() as u64;
    if cap_nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(fastrand::u64(0..=cap_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_bounded() {
        for _ in 0..1000 {
            assert!(jitter(Duration::from_millis(100)) <= Duration::from_millis(50));
            assert!(jitter(Duration::from_secs(10)) <= Duration::from_secs(1));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn request_ids_are_v4_and_fresh() {
        let id = request_id();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(fresh().request_id(), fresh().request_id());
        assert!(fresh().timestamp() > 1_600_000_000);
    }
}
