//! Signing (spec §4): the five test vectors, and signed requests built end to end.

use presence_proto::{Config, Heartbeat, HereNow, Operation, SetState, Stamp, sign_v2};

#[test]
fn js_audit_vector() {
    let sig = sign_v2(
        "mySecretKey",
        "myPublishKey",
        "/v2/auth/audit/sub-key/mySubscribeKey",
        "channel=ch1&pnsdk=PubNub-JS-Nodejs%2FsuchJavascript&timestamp=1317427200&uuid=myUUID",
    );
    assert_eq!(sig, "v2.I7AFqanrAAtwVfvLHyKECTWw7UcZmwbRnwENpXdGB9E");
}

#[test]
fn js_grant_vector_encodes_commas() {
    let query = "auth=key1%2Ckey2&channel=ch1%2Cch2&d=0&g=0&j=0&m=0&pnsdk=PubNub-JS-Nodejs%2FsuchJavascript&r=0&timestamp=1317427200&u=0&uuid=myUUID&w=0";
    let sig = sign_v2(
        "mySecretKey",
        "myPublishKey",
        "/v2/auth/grant/sub-key/mySubscribeKey",
        query,
    );
    assert_eq!(sig, "v2.LEJCwKOBTApWy5jcdXPmtN1_N2aaJx0ZN3krPY6oLu8");
}

fn signed_config(auth: bool) -> Config {
    let mut b = Config::builder("mySubscribeKey", "myUUID")
        .publish_key("myPublishKey")
        .secret_key("mySecretKey");
    if auth {
        b = b.auth_token("myAuthKey");
    }
    b.build().unwrap()
}

fn signature_of(req: &http::Request<Vec<u8>>) -> String {
    let query = req.uri().query().unwrap();
    let (_, sig) = query.rsplit_once("&signature=").unwrap();
    sig.to_owned()
}

/// The pnsdk value of the spec's presence vectors is that of version 0.1.0 of this crate.
fn vector_pnsdk() -> bool {
    presence_proto::SDK_NAME == "PubNub-Rust-Presence/0.1.0"
}

#[test]
fn here_now_vector() {
    assert!(vector_pnsdk());
    let op = HereNow::new()
        .channels(["ch1", "ch2"])
        .groups(["cg1", "cg2"]);
    let req = op
        .to_request(&signed_config(true), &Stamp::new(1_700_000_000, ""))
        .unwrap();
    assert_eq!(
        req.uri().path(),
        "/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2"
    );
    assert_eq!(
        signature_of(&req),
        "v2.RIK0FsjiHXir-6eP2QnCpEXablI9xCv58dsEWYgtGaI"
    );
    assert_eq!(
        req.uri().query(),
        Some(
            "auth=myAuthKey&channel-group=cg1%2Ccg2&limit=1000&pnsdk=PubNub-Rust-Presence%2F0.1.0\
             &timestamp=1700000000&uuid=myUUID&signature=v2.RIK0FsjiHXir-6eP2QnCpEXablI9xCv58dsEWYgtGaI"
        )
    );
}

#[test]
fn heartbeat_vector() {
    let op = Heartbeat::new()
        .channels(["room 1"])
        .state("room 1", &serde_json::json!({"mood": "happy"}))
        .unwrap();
    let req = op
        .to_request(&signed_config(false), &Stamp::new(1_700_000_000, ""))
        .unwrap();
    assert_eq!(
        req.uri().path(),
        "/v2/presence/sub-key/mySubscribeKey/channel/room%201/heartbeat"
    );
    assert_eq!(
        signature_of(&req),
        "v2.DEeChImDbzhz5NdKB99Z1Bs7adIj2sL8UiodY5OoEEY"
    );
    assert_eq!(
        req.uri().query(),
        Some(
            "heartbeat=300&pnsdk=PubNub-Rust-Presence%2F0.1.0\
             &state=%7B%22room%201%22%3A%7B%22mood%22%3A%22happy%22%7D%7D&timestamp=1700000000\
             &uuid=myUUID&signature=v2.DEeChImDbzhz5NdKB99Z1Bs7adIj2sL8UiodY5OoEEY"
        )
    );
}

#[test]
fn set_state_vector() {
    #[derive(serde::Serialize)]
    struct S {
        status: &'static str,
        age: u32,
    }
    let op = SetState::new().channels(["ch1"]).state(S {
        status: "online",
        age: 20,
    });
    let req = op
        .to_request(&signed_config(false), &Stamp::new(1_700_000_000, ""))
        .unwrap();
    assert_eq!(
        req.uri().path(),
        "/v2/presence/sub-key/mySubscribeKey/channel/ch1/uuid/myUUID/data"
    );
    assert_eq!(
        signature_of(&req),
        "v2.X5hTqPvt3PCx_C1nsRbBg-agkhUVhaduMgJuZFnxugU"
    );
    assert_eq!(
        req.uri().query(),
        Some(
            "pnsdk=PubNub-Rust-Presence%2F0.1.0&state=%7B%22status%22%3A%22online%22%2C%22age%22%3A20%7D\
             &timestamp=1700000000&uuid=myUUID&signature=v2.X5hTqPvt3PCx_C1nsRbBg-agkhUVhaduMgJuZFnxugU"
        )
    );
}
