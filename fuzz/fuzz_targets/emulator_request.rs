//! The emulator's request parsing and handling on arbitrary paths and queries: always an
//! HTTP status and a JSON object body, never a panic.
//!
//! An input is up to 8 requests separated by `\n`, run in order against a fresh service, so
//! stateful paths (heartbeat, then here_now, get_state, leave…) are explored too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_emulator::{EmulatorBuilder, InProcess};

const PREFIXES: [&str; 6] = [
    "/v2/presence/sub-key/demo/channel/",
    "/v2/presence/sub_key/demo/channel/",
    "/v2/presence/sub-key/demo/uuid/",
    "/v1/channel-registration/sub-key/demo/channel-group/",
    "/v2/presence/sub-key/demo",
    "",
];

fuzz_target!(|data: &[u8]| {
    // A fresh service per input: state from earlier inputs would make runs irreproducible.
    let service = InProcess::new(EmulatorBuilder::new());
    for line in data.split(|b| *b == b'\n').take(8) {
        let Some((&selector, rest)) = line.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(rest);
        let (path_tail, query) = text.split_once('?').unwrap_or((&text, "uuid=fuzz"));
        let path = format!(
            "{}{}",
            PREFIXES[usize::from(selector) % PREFIXES.len()],
            path_tail
        );
        let (status, body) = service.answer(&path, query);
        assert!((200..600).contains(&status), "status {status}");
        let json: serde_json::Value =
            serde_json::from_str(&body).expect("the emulator always answers JSON");
        assert!(json.is_object(), "{body}");
    }
});
