//! Request signing, version 2 (spec §4).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// Computes the v2 signature over an already-encoded path and sorted, encoded query.
///
/// The signed string is `GET\n{publish_key}\n{path}\n{query}\n` (empty body), MACed with
/// HMAC-SHA256 under the secret key, base64url without padding, prefixed with `v2.`.
///
/// ```
/// let sig = presence_proto::sign_v2(
///     "mySecretKey",
///     "myPublishKey",
///     "/v2/auth/audit/sub-key/mySubscribeKey",
///     "channel=ch1&pnsdk=PubNub-JS-Nodejs%2FsuchJavascript&timestamp=1317427200&uuid=myUUID",
/// );
/// assert_eq!(sig, "v2.I7AFqanrAAtwVfvLHyKECTWw7UcZmwbRnwENpXdGB9E");
/// ```
pub fn sign_v2(secret_key: &str, publish_key: &str, path: &str, encoded_query: &str) -> String {
    let mut out = String::with_capacity(SIGNATURE_LEN);
    push_signature(
        &mut out,
        mac_v2(secret_key, publish_key, path, encoded_query).as_ref(),
    );
    out
}

/// Length of a v2 signature: `v2.` and 43 base64url characters.
pub(crate) const SIGNATURE_LEN: usize = 3 + 43;

/// The HMAC-SHA256 of the v2 string to sign (see [`sign_v2`]).
#[allow(clippy::unnecessary_wraps)] // kept for its callers (it once wrapped a fallible MAC)
pub(crate) fn mac_v2(
    secret_key: &str,
    publish_key: &str,
    path: &str,
    encoded_query: &str,
) -> Option<[u8; 32]> {
    Some(hmac_sha256(
        secret_key.as_bytes(),
        [
            "GET",
            "\n",
            publish_key,
            "\n",
            path,
            "\n",
            encoded_query,
            "\n",
        ],
    ))
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`: the few lines of the
/// construction over sha2, instead of one more crate in every user's tree.
pub(crate) fn hmac_sha256<'a>(key: &[u8], parts: impl IntoIterator<Item = &'a str>) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest: [u8; 32] = Sha256::digest(key).into();
        for (b, k) in block.iter_mut().zip(digest) {
            *b = k;
        }
    } else {
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part.as_bytes());
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Appends `v2.` and the base64url (unpadded) MAC to `out`.
pub(crate) fn push_signature(out: &mut String, mac: Option<&[u8; 32]>) {
    out.push_str("v2.");
    if let Some(mac) = mac {
        URL_SAFE_NO_PAD.encode_string(mac, out);
    }
}

#[cfg(test)]
mod hmac_tests {
    /// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
    #[test]
    fn rfc_4231_vectors() {
        let hex = |bytes: [u8; 32]| {
            bytes.iter().fold(String::new(), |mut out, b| {
                use std::fmt::Write as _;
                let _ = write!(out, "{b:02x}");
                out
            })
        };
        assert_eq!(
            hex(super::hmac_sha256(&[0x0b; 20], ["Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(super::hmac_sha256(
                b"Jefe",
                ["what do ya want ", "for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(super::hmac_sha256(
                &[0xaa; 131],
                ["Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
