//! The per-call values the caller supplies: current time and request id.

/// Per-call inputs the core never makes up itself: the Unix time (for signing) and a request id.
///
/// Drivers create one per attempt, e.g. from `SystemTime::now()` and a random UUID.
///
/// ```
/// let stamp = presence_proto::Stamp::new(1_700_000_000, "3f2c8a9e-0000-4000-8000-000000000001");
/// assert_eq!(stamp.timestamp(), 1_700_000_000);
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Stamp {
    timestamp: u64,
    request_id: String,
}

impl Stamp {
    /// A stamp with the current Unix time in seconds and a request id (empty = none sent).
    ///
    /// ```
    /// let stamp = presence_proto::Stamp::new(1_700_000_000, "req-1");
    /// assert_eq!(stamp.timestamp(), 1_700_000_000);
    /// ```
    pub fn new(timestamp: u64, request_id: impl Into<String>) -> Self {
        Self {
            timestamp,
            request_id: request_id.into(),
        }
    }

    /// Unix time in seconds; sent as `timestamp` when signing.
    ///
    /// ```
    /// assert_eq!(presence_proto::Stamp::new(7, "r").timestamp(), 7);
    /// ```
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The request id sent as `requestid` (omitted when empty).
    ///
    /// ```
    /// assert_eq!(presence_proto::Stamp::new(7, "r").request_id(), "r");
    /// ```
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}
