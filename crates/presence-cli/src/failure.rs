//! What a failed run reports: kind, exit code and message, on stderr as a line or as JSON,
//! with every secret value scrubbed.

use presence_blocking::Error;
use serde_json::json;

use crate::escape::Printable;
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

    /// An error from the client, with its whole source chain in the message (the same
    /// `kind` and `message` as the error's own `Serialize` form).
    pub(crate) fn from_error(error: &Error) -> Self {
        Self {
            kind: error.kind().as_str(),
            message: error.full_message(),
            code: exit::code(error.kind()),
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
            // The message may quote the server (its `message`, names, a decode excerpt): one
            // line, no terminal control characters.
            format!(
                "presence: error [{}]: {}\n",
                self.kind,
                Printable(&self.message)
            )
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
    fn text_errors_carry_no_terminal_controls() {
        let f = Failure::usage("busy\u{1b}]0;pwned\u{7}\u{1b}[2J\r\npresence: ok, all fine");
        let line = f.render(false);
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(
            !line.trim_end().bytes().any(|b| b < 0x20 || b == 0x7f),
            "{line:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&f.render(true)).unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains('\u{1b}'));
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
