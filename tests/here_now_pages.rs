//! here_now over every page (`pages()` / `all_pages()`) through both adapters against the
//! emulator: a channel of 2,500 users read 1,000 at a time gives every user exactly once.

use std::collections::HashSet;

use presence_emulator::{BackgroundEmulator, EmulatorBuilder};
use presence_proto::{Config, HereNowResult};

const USERS: usize = 2_500;
const CHANNEL: &str = "arena";

fn config(origin: &str, user: &str) -> Config {
    Config::builder("sub-c-pages", user)
        .origin(origin)
        .build()
        .expect("config")
}

/// An emulator with `USERS` users present on `CHANNEL` (and two on `side`).
fn crowded() -> BackgroundEmulator {
    let emulator = EmulatorBuilder::new()
        .start_in_background()
        .expect("emulator");
    let origin = emulator.origin();
    let client = presence_blocking::Client::new(config(&origin, "seeder")).expect("client");
    std::thread::scope(|scope| {
        for t in 0..10 {
            let (client, origin) = (&client, &origin);
            scope.spawn(move || {
                for i in (t..USERS).step_by(10) {
                    let me = client.with_config(config(origin, &format!("user-{i:04}")));
                    me.heartbeat()
                        .channels([CHANNEL])
                        .call()
                        .expect("heartbeat");
                    if i < 2 {
                        me.heartbeat().channels(["side"]).call().expect("heartbeat");
                    }
                }
            });
        }
    });
    emulator
}

/// Every user of `CHANNEL` exactly once, and `side` complete too.
fn assert_everyone_once(result: &HereNowResult) {
    let arena = result.channel(CHANNEL).expect("arena listed");
    assert_eq!(arena.occupancy, USERS as u64);
    let ids: Vec<&str> = arena.occupants.iter().map(|u| u.user_id.as_str()).collect();
    assert_eq!(ids.len(), USERS, "every user listed");
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), USERS, "no user twice");
    for i in 0..USERS {
        assert!(
            unique.contains(format!("user-{i:04}").as_str()),
            "user-{i:04}"
        );
    }
    assert_eq!(result.channel("side").expect("side").occupants.len(), 2);
}

#[test]
fn all_pages_lists_every_user_once_through_both_adapters() {
    let emulator = crowded();
    let origin = emulator.origin();

    // Blocking: `all_pages()` and the page iterator.
    let blocking = presence_blocking::Client::new(config(&origin, "reader")).expect("client");
    let all = blocking
        .here_now()
        .channels([CHANNEL, "side"])
        .limit(1000)
        .all_pages()
        .expect("all pages");
    assert_eq!(all.pages, 3, "1000 + 1000 + 500");
    assert!(!all.occupancy_changed);
    assert_eq!(all.first_total_occupancy, (USERS + 2) as u64);
    assert_everyone_once(&all.result);

    let mut pages = blocking.here_now().channels([CHANNEL]).limit(1000).pages();
    let sizes: Vec<usize> = (&mut pages)
        .map(|page| {
            page.expect("page")
                .channels
                .iter()
                .map(|c| c.occupants.len())
                .sum()
        })
        .collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(pages.merged().result.channels[0].occupants.len(), USERS);

    // Tokio: `all_pages().await` and the page stream.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = presence_tokio::Client::new(config(&origin, "reader")).expect("client");
        let all = client
            .here_now()
            .channels([CHANNEL, "side"])
            .limit(1000)
            .all_pages()
            .await
            .expect("all pages");
        assert_eq!(all.pages, 3);
        assert_everyone_once(&all.result);

        let mut pages = client.here_now().channels([CHANNEL]).limit(1000).pages();
        let mut sizes = Vec::new();
        while let Some(page) = pages.next().await {
            sizes.push(page.expect("page").channels[0].occupants.len());
        }
        assert_eq!(sizes, [1000, 1000, 500]);
    });
}

#[test]
fn a_failed_page_ends_the_pages_with_its_error() {
    let client =
        presence_blocking::Client::new(config("http://127.0.0.1:9", "reader")).expect("client");
    // Refused before sending: a limit over 1000.
    let mut pages = client.here_now().channels([CHANNEL]).limit(5000).pages();
    let error = pages.next().expect("one item").expect_err("invalid limit");
    assert_eq!(error.kind(), presence_proto::ErrorKind::InvalidInput);
    assert!(pages.next().is_none(), "nothing after an error");
    let bad = client
        .here_now()
        .channels([CHANNEL])
        .limit(5000)
        .all_pages();
    assert_eq!(
        bad.expect_err("limit over 1000").kind(),
        presence_proto::ErrorKind::InvalidInput
    );
}
