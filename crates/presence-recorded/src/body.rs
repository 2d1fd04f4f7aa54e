//! Decoding of body encodings that recorders use for storage: base64 (YAML `!!binary`, vcrpy
//! pickles, YAHTTPVCR chunks) and vcrpy's Python-pickled body dicts.
//!
//! These are storage encodings of the recorder, not HTTP content encodings: the decoded bytes
//! are what went over the wire (usually already inflated).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{ReadError, err};

/// Decodes standard base64, ignoring line breaks and spaces (YAML `!!binary`, plist `<data>`).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, ReadError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| ReadError(format!("invalid base64: {e}")))
}

/// Extracts the body from a vcrpy `body.pickle`: a Python pickle (protocols 0–5) of a dict
/// `{"string": <str or bytes>}`, without a Python runtime.
///
/// Walks the opcodes that such a dict uses (framing, memo, mark, dict building, the string and
/// bytes pushes) and returns the value pickled after the key `string`.
///
/// ```
/// // pickle.dumps({"string": "hi"}, protocol=2)
/// let pickled = b"\x80\x02}q\x00X\x06\x00\x00\x00stringq\x01X\x02\x00\x00\x00hiq\x02s.";
/// assert_eq!(presence_recorded::pickled_string(pickled).unwrap(), b"hi");
/// ```
pub fn pickled_string(data: &[u8]) -> Result<Vec<u8>, ReadError> {
    let mut pos = 0usize;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], ReadError> {
        let end = pos.checked_add(n).filter(|end| *end <= data.len());
        let Some(end) = end else {
            return err("pickle: truncated");
        };
        let slice = data.get(*pos..end).unwrap_or_default();
        *pos = end;
        Ok(slice)
    };
    let len_le = |bytes: &[u8]| -> usize {
        bytes.iter().rev().fold(0usize, |acc, b| {
            acc.saturating_mul(256).saturating_add(usize::from(*b))
        })
    };
    let line = |pos: &mut usize| -> Result<&[u8], ReadError> {
        let rest = data.get(*pos..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
            return err("pickle: unterminated line");
        };
        let slice = rest.get(..nl).unwrap_or_default();
        *pos += nl + 1;
        Ok(slice)
    };
    // Strings pushed so far, in order; the body is the one right after the key "string".
    let mut pushed: Vec<Vec<u8>> = Vec::new();
    loop {
        let op = *take(&mut pos, 1)?.first().unwrap_or(&b'.');
        // Opcodes that only build the dict or touch the memo: skip their fixed-size argument.
        let skip = match op {
            // EMPTY_DICT, MARK, MEMOIZE, SETITEM, SETITEMS, POP, NONE, DICT
            b'}' | b'(' | 0x94 | b's' | b'u' | b'0' | b'N' | b'd' => Some(0),
            // PROTO, BINPUT, BINGET
            0x80 | b'q' | b'h' => Some(1),
            // LONG_BINPUT, LONG_BINGET
            b'r' | b'j' => Some(4),
            // FRAME
            0x95 => Some(8),
            _ => None,
        };
        if let Some(n) = skip {
            take(&mut pos, n)?;
            continue;
        }
        match op {
            b'.' => break,                        // STOP
            b'p' | b'g' => drop(line(&mut pos)?), // PUT, GET (text protocol)
            0x8c | b'C' | b'U' => {
                // SHORT_BINUNICODE, SHORT_BINBYTES, SHORT_BINSTRING
                let n = usize::from(*take(&mut pos, 1)?.first().unwrap_or(&0));
                pushed.push(take(&mut pos, n)?.to_vec());
            }
            b'X' | b'B' | b'T' => {
                // BINUNICODE, BINBYTES, BINSTRING
                let n = len_le(take(&mut pos, 4)?);
                pushed.push(take(&mut pos, n)?.to_vec());
            }
            0x8d | 0x8e => {
                // BINUNICODE8, BINBYTES8
                let n = len_le(take(&mut pos, 8)?);
                pushed.push(take(&mut pos, n)?.to_vec());
            }
            b'V' => pushed.push(unescape_raw_unicode(line(&mut pos)?)), // UNICODE (protocol 0)
            other => return err(format!("pickle: unsupported opcode {other:#04x}")),
        }
    }
    let mut iter = pushed.into_iter();
    while let Some(item) = iter.next() {
        if item == b"string" {
            return iter
                .next()
                .ok_or_else(|| ReadError("pickle: key `string` without a value".to_owned()));
        }
    }
    err("pickle: no `string` key")
}

/// Protocol-0 `raw-unicode-escape`: `\uXXXX` / `\UXXXXXXXX` escapes, other bytes Latin-1.
fn unescape_raw_unicode(raw: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let width = match (b, raw.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => 0,
        };
        let escaped = (width > 0)
            .then(|| raw.get(i + 2..i + 2 + width))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        if let Some(c) = escaped {
            out.push(c);
            i += 2 + width;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickle_protocols() {
        // pickle.dumps({"string": "{\"a\": 1}"}, protocol=4) (SHORT_BINUNICODE, FRAME, MEMOIZE)
        let p4 = b"\x80\x04\x95\x18\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x06string\x94\x8c\x08{\"a\": 1}\x94s.";
        assert_eq!(pickled_string(p4).unwrap(), b"{\"a\": 1}");
        // pickle.dumps({"string": b"ok"}, protocol=3) (BINBYTES via SHORT_BINBYTES)
        let p3 = b"\x80\x03}q\x00X\x06\x00\x00\x00stringq\x01C\x02okq\x02s.";
        assert_eq!(pickled_string(p3).unwrap(), b"ok");
        // pickle.dumps({"string": "\u00e9\u20ac"}, protocol=0): Latin-1 byte, then an escape
        let p0 = b"(dp0\nVstring\np1\nV\xe9\\u20ac\np2\ns.";
        assert_eq!(pickled_string(p0).unwrap(), "é€".as_bytes());
        // protocol 5, 300-byte BINUNICODE
        let mut p5 =
            b"\x80\x05\x95?\x01\x00\x00\x00\x00\x00\x00}\x94\x8c\x06string\x94X,\x01\x00\x00"
                .to_vec();
        p5.extend([b'x'; 300]);
        p5.extend(b"\x94s.");
        assert_eq!(pickled_string(&p5).unwrap(), [b'x'; 300]);
    }
}
