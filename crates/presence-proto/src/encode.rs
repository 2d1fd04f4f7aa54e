//! The one percent-encoder used for every path segment, query value and signature input.

/// `RAW[b]` is true for each byte `b` that stays raw: only `A-Z a-z 0-9 - _ .` (the strict set
/// of spec §0.1 and §4).
///
/// `~` is escaped too: the service verifies signatures over values re-encoded with this set, so
/// sending exactly what was signed avoids canonicalisation mismatches.
#[allow(clippy::indexing_slicing)] // `b < 128` indexes a 256-entry table, at compile time
const RAW: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0u8;
    while b < 128 {
        table[b as usize] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        b += 1;
    }
    table
};

/// Whether `byte` stays raw.
fn is_unreserved(byte: u8) -> bool {
    // Always in bounds (256 entries); `get` keeps the lint set happy and compiles to a load.
    RAW.get(usize::from(byte)).copied().unwrap_or(false)
}

/// Uppercase hex digit of the low nibble of `n`.
const fn hex(n: u8) -> char {
    let n = n & 0xf;
    (if n < 10 { b'0' + n } else { b'A' + n - 10 }) as char
}

/// Percent-encodes `input` as UTF-8, leaving only `A-Z a-z 0-9 - _ .` raw (uppercase hex).
///
/// ```
/// assert_eq!(presence_proto::encode("odd ch/?#&%+ ü"), "odd%20ch%2F%3F%23%26%25%2B%20%C3%BC");
/// assert_eq!(presence_proto::encode("a,b~"), "a%2Cb%7E");
/// ```
pub fn encode(input: &str) -> String {
    let mut out = String::with_capacity(encoded_len(input));
    encode_into(&mut out, input);
    out
}

/// The length of `encode(input)`, without encoding.
pub(crate) fn encoded_len(input: &str) -> usize {
    input
        .bytes()
        .map(|b| if is_unreserved(b) { 1 } else { 3 })
        .sum()
}

/// Appends the encoding of `input` to `out` (no intermediate allocation).
pub(crate) fn encode_into(out: &mut String, input: &str) {
    // Runs of raw bytes are copied whole. A run starts after an escaped byte at an ASCII byte
    // and ends before one that follows an ASCII byte, so both ends are char boundaries.
    let mut start = 0;
    for (i, byte) in input.bytes().enumerate() {
        if !is_unreserved(byte) {
            if start < i {
                out.push_str(input.get(start..i).unwrap_or_default());
            }
            out.push('%');
            out.push(hex(byte >> 4));
            out.push(hex(byte));
            start = i + 1;
        }
    }
    if start < input.len() {
        out.push_str(input.get(start..).unwrap_or_default());
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
    fn encoded_len_is_exact() {
        for s in ["", "abc", "a b", "odd ch/?#&%+ ü", "é/~", "日本"] {
            assert_eq!(encoded_len(s), encode(s).len(), "{s:?}");
        }
    }

    #[test]
    fn uppercase_hex_and_utf8() {
        assert_eq!(encode("é/"), "%C3%A9%2F");
        assert_eq!(encode(" "), "%20");
        assert_eq!(encode("+"), "%2B");
    }
}
