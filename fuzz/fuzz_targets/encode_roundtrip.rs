//! The one percent-encoder: output is only `A-Z a-z 0-9 - _ .` and `%XX` (uppercase), and
//! decoding it gives the input back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let encoded = presence_proto::encode(&input);
    let bytes = encoded.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = &bytes[i + 1..i + 3];
            assert!(
                hex.iter()
                    .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h))
            );
            i += 3;
        } else {
            assert!(
                b.is_ascii_alphanumeric() || b"-_.".contains(&b),
                "raw byte {b:#x}"
            );
            i += 1;
        }
    }
    let decoded = percent_encoding::percent_decode_str(&encoded)
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, input);
});
