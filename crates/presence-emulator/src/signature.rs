//! PubNub request signatures, version 2 (spec §4), as the emulator verifies them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::url::encode_strict;

/// Allowed distance between a request's `timestamp` and the emulator's clock, in seconds.
pub(crate) const TIMESTAMP_WINDOW_SECS: u64 = 60;

/// Computes the v2 signature of a `GET` request, as a client must send it in `signature=`.
///
/// `path` is the path exactly as sent (already percent-encoded); `params` are the *decoded*
/// query parameters (a `signature` parameter among them is ignored). Values are re-encoded
/// with the strict set (`A-Z a-z 0-9 - _ .` left as is), sorted by key, joined with `&`;
/// the string `GET\n{publish_key}\n{path}\n{query}\n` is signed with HMAC-SHA256 and written
/// as URL-safe base64 without padding, prefixed with `v2.`.
///
/// Useful for signing requests to an emulator started with
/// [`KeysetOptions::secret_key`](crate::KeysetOptions::secret_key).
///
/// ```
/// use presence_emulator::signature_v2;
/// let sig = signature_v2(
///     "mySecretKey",
///     "myPublishKey",
///     "/v2/auth/audit/sub-key/mySubscribeKey",
///     &[
///         ("channel", "ch1"),
///         ("pnsdk", "PubNub-JS-Nodejs/suchJavascript"),
///         ("timestamp", "1317427200"),
///         ("uuid", "myUUID"),
///     ],
/// );
/// assert_eq!(sig, "v2.I7AFqanrAAtwVfvLHyKECTWw7UcZmwbRnwENpXdGB9E");
/// ```
pub fn signature_v2(
    secret_key: &str,
    publish_key: &str,
    path: &str,
    params: &[(&str, &str)],
) -> String {
    let query = canonical_query(params.iter().copied());
    let to_sign = format!("GET\n{publish_key}\n{path}\n{query}\n");
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()) else {
        // HMAC accepts keys of any length; this branch is unreachable in practice.
        return String::new();
    };
    mac.update(to_sign.as_bytes());
    format!("v2.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// `key=value` pairs sorted by key (then value), strictly re-encoded, `signature` left out.
fn canonical_query<'a>(params: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .filter(|(k, _)| *k != "signature")
        .map(|(k, v)| (encode_strict(k), encode_strict(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a request carries a valid signature and a fresh timestamp.
pub(crate) fn verify(
    secret_key: &str,
    publish_key: &str,
    path: &str,
    params: &[(&str, &str)],
    now_unix_secs: u64,
) -> bool {
    let find = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let (Some(given), Some(ts)) = (find("signature"), find("timestamp")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<u64>() else {
        return false;
    };
    if ts.abs_diff(now_unix_secs) > TIMESTAMP_WINDOW_SECS {
        return false;
    }
    let expected = signature_v2(secret_key, publish_key, path, params);
    constant_time_eq(expected.as_bytes(), given.as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNSDK: &str = "PubNub-Rust-Presence/0.1.0";

    #[test]
    fn js_audit_vector() {
        let sig = signature_v2(
            "mySecretKey",
            "myPublishKey",
            "/v2/auth/audit/sub-key/mySubscribeKey",
            &[
                ("uuid", "myUUID"),
                ("timestamp", "1317427200"),
                ("pnsdk", "PubNub-JS-Nodejs/suchJavascript"),
                ("channel", "ch1"),
            ],
        );
        assert_eq!(sig, "v2.I7AFqanrAAtwVfvLHyKECTWw7UcZmwbRnwENpXdGB9E");
    }

    #[test]
    fn js_grant_vector_encodes_commas() {
        let sig = signature_v2(
            "mySecretKey",
            "myPublishKey",
            "/v2/auth/grant/sub-key/mySubscribeKey",
            &[
                ("auth", "key1,key2"),
                ("channel", "ch1,ch2"),
                ("d", "0"),
                ("g", "0"),
                ("j", "0"),
                ("m", "0"),
                ("r", "0"),
                ("u", "0"),
                ("w", "0"),
                ("pnsdk", "PubNub-JS-Nodejs/suchJavascript"),
                ("timestamp", "1317427200"),
                ("uuid", "myUUID"),
            ],
        );
        assert_eq!(sig, "v2.LEJCwKOBTApWy5jcdXPmtN1_N2aaJx0ZN3krPY6oLu8");
    }

    #[test]
    fn presence_here_now_vector() {
        let sig = signature_v2(
            "mySecretKey",
            "myPublishKey",
            "/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2",
            &[
                ("auth", "myAuthKey"),
                ("channel-group", "cg1,cg2"),
                ("limit", "1000"),
                ("pnsdk", PNSDK),
                ("timestamp", "1700000000"),
                ("uuid", "myUUID"),
            ],
        );
        assert_eq!(sig, "v2.RIK0FsjiHXir-6eP2QnCpEXablI9xCv58dsEWYgtGaI");
    }

    #[test]
    fn presence_heartbeat_vector() {
        let sig = signature_v2(
            "mySecretKey",
            "myPublishKey",
            "/v2/presence/sub-key/mySubscribeKey/channel/room%201/heartbeat",
            &[
                ("heartbeat", "300"),
                ("state", r#"{"room 1":{"mood":"happy"}}"#),
                ("pnsdk", PNSDK),
                ("timestamp", "1700000000"),
                ("uuid", "myUUID"),
            ],
        );
        assert_eq!(sig, "v2.DEeChImDbzhz5NdKB99Z1Bs7adIj2sL8UiodY5OoEEY");
    }

    #[test]
    fn presence_set_state_vector() {
        let sig = signature_v2(
            "mySecretKey",
            "myPublishKey",
            "/v2/presence/sub-key/mySubscribeKey/channel/ch1/uuid/myUUID/data",
            &[
                ("state", r#"{"status":"online","age":20}"#),
                ("pnsdk", PNSDK),
                ("timestamp", "1700000000"),
                ("uuid", "myUUID"),
            ],
        );
        assert_eq!(sig, "v2.X5hTqPvt3PCx_C1nsRbBg-agkhUVhaduMgJuZFnxugU");
    }

    #[test]
    fn verify_checks_signature_and_window() {
        let path = "/v2/presence/sub-key/k/channel/c/heartbeat";
        let mut params = vec![("uuid", "u"), ("timestamp", "1000")];
        let sig = signature_v2("s", "p", path, &params);
        params.push(("signature", &sig));
        assert!(verify("s", "p", path, &params, 1000));
        assert!(verify("s", "p", path, &params, 1060));
        assert!(!verify("s", "p", path, &params, 1061));
        assert!(!verify("s", "p", path, &params, 939));
        assert!(!verify("other", "p", path, &params, 1000));
        assert!(!verify("s", "", path, &params, 1000));
        assert!(!verify("s", "p", "/v2/other", &params, 1000));
        assert!(!verify("s", "p", path, &params[..1], 1000));
    }
}
