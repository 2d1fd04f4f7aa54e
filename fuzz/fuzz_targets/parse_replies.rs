//! Every response parser of presence-proto on arbitrary status, headers and body: never a
//! panic, and an error is always typed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence_proto::{
    AddChannelsToGroup, DeleteGroup, GetState, Heartbeat, HereNow, Leave, ListGroupChannels,
    Operation, RemoveChannelsFromGroup, SetState, WhereNow,
};

fn reply(status: u16, gzip: bool, retry_after: bool, body: &[u8]) -> http::Response<&[u8]> {
    let mut builder = http::Response::builder().status(status);
    if gzip {
        builder = builder.header("content-encoding", "gzip");
    }
    if retry_after {
        builder = builder.header("retry-after", "3");
    }
    builder
        .body(body)
        .unwrap_or_else(|_| http::Response::new(body))
}

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, status_lo, flags], body)) = data.split_first_chunk::<3>() else {
        return;
    };
    let status = 100 + u16::from(status_lo) * 2 + u16::from(flags & 1);
    let gzip = flags & 2 != 0;
    let retry_after = flags & 4 != 0;
    let r = || reply(status, gzip, retry_after, body);
    let _ = match selector % 14 {
        0 => HereNow::new().channels(["a"]).parse(r()).map(|_| ()),
        1 => HereNow::new().channels(["a", "b"]).parse(r()).map(|_| ()),
        2 => HereNow::new().groups(["g"]).parse(r()).map(|_| ()),
        3 => HereNow::new().parse(r()).map(|_| ()),
        4 => WhereNow::new().parse(r()).map(|_| ()),
        5 => Heartbeat::new().channels(["a"]).parse(r()),
        6 => Leave::new().channels(["a"]).parse(r()),
        7 => SetState::new().channels(["a"]).parse(r()).map(|_| ()),
        8 => GetState::new().channels(["a"]).parse(r()).map(|_| ()),
        9 => GetState::new()
            .channels(["a", "b"])
            .groups(["g"])
            .parse(r())
            .map(|_| ()),
        10 => AddChannelsToGroup::new("g", ["a"]).parse(r()),
        11 => RemoveChannelsFromGroup::new("g", ["a"]).parse(r()),
        12 => ListGroupChannels::new("g").parse(r()).map(|_| ()),
        _ => DeleteGroup::new("g").parse(r()),
    }
    .map_err(|e| {
        // Every error classifies and displays without panicking.
        let _ = (e.kind(), e.is_retryable(), e.to_string(), e.status());
    });
});
