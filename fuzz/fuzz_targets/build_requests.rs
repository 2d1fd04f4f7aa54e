//! Request building on arbitrary names, user ids and state: either a typed error before
//! sending, or a request whose path segments and query values decode to exactly the inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_proto::{Config, GetState, Heartbeat, Operation, SetState, Stamp, WhereNow};

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('=').map(decode))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{0}');
    let channel = parts.next().unwrap_or_default().to_owned();
    let user = parts.next().unwrap_or("u").to_owned();
    let group = parts.next().unwrap_or("g").to_owned();
    let Ok(config) = Config::builder("sub-c", user.clone())
        .auth_token("tok")
        .build()
    else {
        return;
    };
    let stamp = Stamp::new(1_700_000_000, "id");

    if let Ok(req) = Heartbeat::new()
        .channels([channel.clone()])
        .groups([group.clone()])
        .to_request(&config, &stamp)
    {
        let path = req.uri().path();
        let segment = path
            .strip_prefix("/v2/presence/sub-key/sub-c/channel/")
            .unwrap();
        let segment = segment.strip_suffix("/heartbeat").unwrap();
        assert!(!segment.contains('/'));
        assert_eq!(decode(segment), channel);
        let query = req.uri().query().unwrap();
        assert_eq!(
            query_value(query, "channel-group").as_deref(),
            Some(group.as_str())
        );
        assert_eq!(query_value(query, "uuid").as_deref(), Some(user.as_str()));
        assert_eq!(query_value(query, "auth").as_deref(), Some("tok"));
        assert_eq!(query.matches("auth=").count(), 1);
    }
    if let Ok(req) = WhereNow::new()
        .user_id(channel.clone())
        .to_request(&config, &stamp)
    {
        let segment = req
            .uri()
            .path()
            .strip_prefix("/v2/presence/sub-key/sub-c/uuid/")
            .unwrap();
        assert_eq!(decode(segment), channel);
    }
    let state = serde_json_state(&group);
    if let Ok(req) = SetState::new()
        .channels([channel.clone()])
        .state(state.clone())
        .to_request(&config, &stamp)
    {
        let query = req.uri().query().unwrap();
        let sent = query_value(query, "state").unwrap();
        assert_eq!(sent, state_json(&state));
    }
    let _ = GetState::new()
        .channels([channel])
        .groups([group])
        .to_request(&config, &stamp);
});

fn serde_json_state(value: &str) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([("k".to_owned(), value.to_owned())])
}

fn state_json(state: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(state).unwrap()
}
