//! Compile-time checks that the public types users share across threads and tasks are
//! `Send + Sync` (and `'static` where they are meant to be stored or spawned), for both
//! adapters and the core. A type losing either bound fails this file's build.

#![allow(dead_code)]

fn assert_send_sync<T: Send + Sync + 'static>() {}
fn assert_send<T: Send + 'static>() {}

#[test]
fn core_types_are_send_and_sync() {
    use presence_proto::*;
    assert_send_sync::<Config>();
    assert_send_sync::<ConfigBuilder>();
    assert_send_sync::<Secret>();
    assert_send_sync::<Error>();
    assert_send_sync::<ErrorKind>();
    assert_send_sync::<ApiError>();
    assert_send_sync::<RetryPolicy>();
    assert_send_sync::<ClientOptions>();
    assert_send_sync::<HereNow>();
    assert_send_sync::<HereNowResult>();
    assert_send_sync::<HereNowChannel>();
    assert_send_sync::<HereNowUser>();
    assert_send_sync::<HereNowPages>();
    assert_send_sync::<HereNowAllPages>();
    assert_send_sync::<WhereNowResult>();
    assert_send_sync::<GetStateResult>();
    assert_send_sync::<SetStateResult>();
    assert_send_sync::<GroupChannels>();
    assert_send_sync::<LeaveResult>();
    assert_send_sync::<PresenceEvent>();
    assert_send_sync::<PresenceAction>();
    assert_send_sync::<SessionEvent>();
    assert_send_sync::<SessionOptions>();
    assert_send_sync::<PresenceSession>();
    assert_send_sync::<Roster>();
    assert_send_sync::<RosterChange>();
    assert_send_sync::<RosterSnapshot>();
    assert_send_sync::<Watch>();
    assert_send_sync::<WatchItem>();
}

#[test]
fn tokio_adapter_types_are_send_and_sync() {
    use presence_tokio::*;
    assert_send_sync::<Client>();
    assert_send_sync::<ClientBuilder>();
    assert_send_sync::<KeepPresent>();
    assert_send_sync::<KeepPresentBuilder>();
    assert_send_sync::<KeepPresentMany>();
    assert_send_sync::<KeepPresentManyBuilder>();
    assert_send_sync::<Config>();
    assert_send_sync::<Error>();
    assert_send_sync::<
        presence_proto::Call<'static, presence_proto::Async<Hyper>, presence_proto::HereNow>,
    >();
    assert_send::<presence_proto::HereNowPageStream<presence_proto::Async<Hyper>>>();
}

#[test]
fn blocking_adapter_types_are_send_and_sync() {
    use presence_blocking::*;
    assert_send_sync::<Client>();
    assert_send_sync::<ClientBuilder>();
    assert_send_sync::<KeepPresent>();
    assert_send_sync::<KeepPresentBuilder>();
    assert_send_sync::<KeepPresentMany>();
    assert_send_sync::<KeepPresentManyBuilder>();
    assert_send_sync::<Config>();
    assert_send_sync::<Error>();
    assert_send_sync::<
        presence_proto::Call<'static, presence_proto::Blocking<Ureq>, presence_proto::HereNow>,
    >();
    assert_send::<presence_proto::HereNowPageStream<presence_proto::Blocking<Ureq>>>();
}
