//! Generic, strict URL decoding (and the strict encoder used by the signature).
//!
//! Written independently of the client crates on purpose: the emulator must not share a
//! decoding bug with the client it tests.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except `A-Z a-z 0-9 - _ .` is escaped (the set PubNub signs with).
const STRICT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Why a URL component could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Percent-decodes `raw`. With `plus_is_space` (query values), `+` decodes to a space as
/// in HTML forms; in paths `+` stays a `+`.
pub(crate) fn decode(raw: &str, plus_is_space: bool) -> Result<Cow<'_, str>, DecodeError> {
    if !raw
        .bytes()
        .any(|b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| hex(*c));
                let lo = bytes.get(i + 2).and_then(|c| hex(*c));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(DecodeError::BadEscape),
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| DecodeError::NotUtf8)
}

/// Splits `s` on the ASCII byte `sep`, like `s.split(sep as char)`.
///
/// The pieces of a request URL are short, and a plain byte loop beats the general string
/// searcher (which sets up `memchr` for every piece) by a wide margin on them.
pub(crate) fn split_ascii(s: &str, sep: u8) -> SplitAscii<'_> {
    debug_assert!(sep.is_ascii());
    SplitAscii { rest: Some(s), sep }
}

/// Splits `s` at the first `sep` (an ASCII byte), like `s.split_once(sep as char)`.
pub(crate) fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The iterator of [`split_ascii`].
pub(crate) struct SplitAscii<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitAscii<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        // `sep` is ASCII, so both sides of it are character boundaries.
        if let Some(i) = s.bytes().position(|b| b == self.sep) {
            self.rest = s.get(i + 1..);
            s.get(..i)
        } else {
            self.rest = None;
            Some(s)
        }
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes `s` leaving only `A-Z a-z 0-9 - _ .` (uppercase hex).
pub(crate) fn encode_strict(s: &str) -> String {
    utf8_percent_encode(s, STRICT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(decode("a%2Cb", false).as_deref(), Ok("a,b"));
        assert_eq!(decode("a+b", false).as_deref(), Ok("a+b"));
        assert_eq!(decode("a+b", true).as_deref(), Ok("a b"));
        assert_eq!(decode("%C3%BC", false).as_deref(), Ok("ü"));
        assert_eq!(decode("%c3%bc", false).as_deref(), Ok("ü"));
        assert_eq!(decode("plain", false).as_deref(), Ok("plain"));
    }

    #[test]
    fn rejects_bad_input() {
        for (raw, err) in [
            ("%", DecodeError::BadEscape),
            ("%4", DecodeError::BadEscape),
            ("%zz", DecodeError::BadEscape),
            ("%FF", DecodeError::NotUtf8),
            ("%C3", DecodeError::NotUtf8),
        ] {
            assert_eq!(decode(raw, true), Err(err));
        }
    }

    #[test]
    fn ascii_splitting_matches_str_split() {
        for s in [
            "",
            "a",
            "/",
            "//",
            "/v2/presence/sub-key/k",
            "a&b=c&&",
            "ü/é/",
            "x,",
        ] {
            for sep in [b'/', b'&', b','] {
                let ours: Vec<&str> = split_ascii(s, sep).collect();
                let std: Vec<&str> = s.split(char::from(sep)).collect();
                assert_eq!(ours, std, "{s:?} on {}", char::from(sep));
                assert_eq!(split_once_ascii(s, sep), s.split_once(char::from(sep)));
            }
        }
    }

    #[test]
    fn strict_encoding() {
        assert_eq!(
            encode_strict("a-b_c.d~e f,g/ü"),
            "a-b_c.d%7Ee%20f%2Cg%2F%C3%BC"
        );
    }
}
