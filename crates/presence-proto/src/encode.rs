//! The one percent-encoder used for every path segment, query value and signature input.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except `A-Z a-z 0-9 - _ .` is escaped (the strict set of spec §0.1 and §4).
///
/// `~` is escaped too: the service verifies signatures over values re-encoded with this set, so
/// sending exactly what was signed avoids canonicalisation mismatches.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Percent-encodes `input` as UTF-8, leaving only `A-Z a-z 0-9 - _ .` raw (uppercase hex).
///
/// ```
/// assert_eq!(presence_proto::encode("odd ch/?#&%+ ü"), "odd%20ch%2F%3F%23%26%25%2B%20%C3%BC");
/// assert_eq!(presence_proto::encode("a,b~"), "a%2Cb%7E");
/// ```
pub fn encode(input: &str) -> String {
    utf8_percent_encode(input, STRICT).to_string()
}

/// Appends the encoding of `input` to `out` (no intermediate allocation).
pub(crate) fn encode_into(out: &mut String, input: &str) {
    for chunk in utf8_percent_encode(input, STRICT) {
        out.push_str(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_set_is_exactly_unreserved_minus_tilde() {
        for b in 0u8..=127 {
            let s = (b as char).to_string();
            let raw = b.is_ascii_alphanumeric() || b"-_.".contains(&b);
            assert_eq!(encode(&s) == s, raw, "byte {b:#x}");
        }
    }

    #[test]
    fn uppercase_hex_and_utf8() {
        assert_eq!(encode("é/"), "%C3%A9%2F");
        assert_eq!(encode(" "), "%20");
        assert_eq!(encode("+"), "%2B");
    }
}
