//! The one place where server-provided text is made safe for a terminal: every string that
//! came from the network (messages, user ids, channel names, state) goes through here before
//! it is printed in table mode or in an error line. The escaper is presence-proto's, the same
//! one the libraries' error `Display` uses, so a message is never escaped two different ways.
//!
//! `--json` output needs nothing more: serde_json escapes C0 controls, and the rest (DEL, C1)
//! are valid in JSON strings and inert inside them.

use std::borrow::Cow;

pub(crate) use presence_proto::Printable;

/// `text` with control characters escaped (`\n`, `\r`, `\t`, `\u{1b}`, …).
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    presence_proto::escape_control(text)
}

/// The number of characters `text` takes once escaped (for column widths, without
/// allocating).
pub(crate) fn escaped_width(text: &str) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.chars().count();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = std::fmt::Write::write_fmt(&mut count, format_args!("{}", Printable(text)));
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls_and_counts_them() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\npresence: ok, all fine";
        let shown = escape(hostile);
        assert!(!shown.bytes().any(|b| b < 0x20 || b == 0x7f), "{shown:?}");
        assert_eq!(escaped_width(hostile), shown.chars().count());
        assert_eq!(escape("lobby-é"), "lobby-é");
        assert_eq!(escaped_width("lobby-é"), 7);
    }
}
