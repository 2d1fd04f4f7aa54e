//! The request handler without a socket: for fuzzing and for tests of request parsing.

use std::sync::Arc;

use crate::builder::EmulatorBuilder;
use crate::shared::Shared;

/// The emulator's request handling, called directly (no server, no faults, no admin routes).
///
/// Built from an [`EmulatorBuilder`] so keysets and clocks apply; state persists across calls.
/// Meant for fuzzers and parsing tests; servers should use [`EmulatorBuilder::start`].
///
/// ```
/// use presence_emulator::{EmulatorBuilder, InProcess};
/// let service = InProcess::new(EmulatorBuilder::new());
/// let (status, body) = service.answer("/v2/presence/sub-key/demo/uuid/bob", "uuid=alice");
/// assert_eq!(status, 200);
/// assert!(body.contains(r#""channels":[]"#));
/// ```
pub struct InProcess {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").finish_non_exhaustive()
    }
}

impl InProcess {
    /// A handler with the builder's configuration (its listen address is ignored).
    pub fn new(builder: EmulatorBuilder) -> Self {
        Self {
            shared: builder.into_shared(),
        }
    }

    /// Answers `GET {path}?{query}` (both as sent on the wire, still percent-encoded): the HTTP
    /// status and the JSON body.
    pub fn answer(&self, path: &str, query: &str) -> (u16, String) {
        let reply = crate::handlers::answer(&self.shared, true, path, query, false);
        (reply.status, reply.body.into_owned())
    }
}
