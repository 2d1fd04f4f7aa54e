//! What a failed run reports: kind, exit code and message, on stderr as a line or as JSON,
//! with every secret value scrubbed.

use std::error::Error as _;

use presence_blocking::Error;
use serde_json::json;

use crate::exit;

/// A failure to report: its kind name, exit code, message and (for service replies) status.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: &'static str,
    pub(crate) code: u8,
    pub(crate) message: String,
    pub(crate) status: Option<u16>,
}

impl Failure {
    /// A usage error found by this program (bad JSON, missing key, …); nothing was sent.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: "usage",
            code: exit::USAGE,
            message: message.into(),
            status: None,
        }
    }

    /// An error from the client, with its whole source chain in the message.
    pub(crate) fn from_error(error: &Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Self {
            kind: exit::kind_name(error.kind()),
            code: exit::code(error.kind()),
            message,
            status: error.status(),
        }
    }

    /// Replaces every occurrence of each non-empty secret in the message by `[redacted]`.
    pub(crate) fn scrub(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            self.message = self.message.replace(secret, "[redacted]");
        }
        self
    }

    /// The text written to stderr: one line, or one JSON document with `json`.
    pub(crate) fn render(&self, json: bool) -> String {
        if json {
            let mut error = json!({
                "kind": self.kind,
                "exit_code": self.code,
                "message": self.message,
            });
            if let (Some(status), Some(map)) = (self.status, error.as_object_mut()) {
                map.insert("status".to_owned(), status.into());
            }
            format!("{}\n", json!({ "error": error }))
        } else {
            format!("presence: error [{}]: {}\n", self.kind, self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_kind_and_scrubs_secrets() {
        let f = Failure::usage("bad value sec-c-XYZ").scrub(&["sec-c-XYZ", ""]);
        assert_eq!(
            f.render(false),
            "presence: error [usage]: bad value [redacted]\n"
        );
        let v: serde_json::Value = serde_json::from_str(&f.render(true)).unwrap();
        assert_eq!(v["error"]["kind"], "usage");
        assert_eq!(v["error"]["exit_code"], 2);
    }

    #[test]
    fn client_errors_keep_their_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let f = Failure::from_error(&Error::network("connect", io));
        assert_eq!(f.kind, "network");
        assert_eq!(f.code, 5);
        assert_eq!(f.message, "network error: connect: refused");
    }
}
