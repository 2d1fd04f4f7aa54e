//! Writes JSON the way the live service does: compact, object keys sorted, non-ASCII
//! escaped as `\uXXXX`.
//!
//! Done by hand rather than through `serde_json::to_string` so the output does not depend
//! on whether some other crate in the build enables serde_json's `preserve_order`.

use std::fmt::Write as _;

use serde_json::Value;

/// Serialises `value` compactly with sorted keys and ASCII-only output.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

/// Appends `value` to `out` (see [`to_string`]).
pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Appends the decimal digits of `n` (what `write!(out, "{n}")` does, without the
/// formatting machinery).
pub(crate) fn push_uint(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Appends `s` as a JSON string literal, escaping quotes, backslashes, controls and every
/// non-ASCII character (as UTF-16 `\uXXXX` units).
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers() {
        for n in [0, 7, 10, 99, 100, 1000, 123_456, usize::MAX] {
            let mut out = String::from("x");
            push_uint(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn sorted_compact_ascii() {
        let v = json!({"status": 200, "b": [1, 2.5, null, true], "a": {"z": "ü😀", "y": "q\"\\\n\u{1}"}});
        assert_eq!(
            to_string(&v),
            r#"{"a":{"y":"q\"\\\n\u0001","z":"\u00fc\ud83d\ude00"},"b":[1,2.5,null,true],"status":200}"#
        );
        let back: Value = serde_json::from_str(&to_string(&v)).unwrap_or_default();
        assert_eq!(back, v);
    }
}
