//! Request signing, version 2 (spec §4).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

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
pub(crate) fn mac_v2(
    secret_key: &str,
    publish_key: &str,
    path: &str,
    encoded_query: &str,
) -> Option<[u8; 32]> {
    // Hmac accepts keys of any length, so `new_from_slice` cannot fail; fall back defensively.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).ok()?;
    for part in [
        "GET",
        "\n",
        publish_key,
        "\n",
        path,
        "\n",
        encoded_query,
        "\n",
    ] {
        mac.update(part.as_bytes());
    }
    <[u8; 32]>::try_from(mac.finalize().into_bytes().as_slice()).ok()
}

/// Appends `v2.` and the base64url (unpadded) MAC to `out`.
pub(crate) fn push_signature(out: &mut String, mac: Option<&[u8; 32]>) {
    out.push_str("v2.");
    if let Some(mac) = mac {
        URL_SAFE_NO_PAD.encode_string(mac, out);
    }
}
