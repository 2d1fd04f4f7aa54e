//! Quickstart: two users come online with state, then here now, where now, get state, leave.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no keys set it starts the embedded emulator on a free local port, so it needs no
//! network. Set `PUBNUB_SUBSCRIBE_KEY` (and optionally `PUBNUB_PUBLISH_KEY`,
//! `PUBNUB_SECRET_KEY`, `PUBNUB_AUTH_KEY`, `PUBNUB_USER_ID`, `PUBNUB_ORIGIN`) to run the same
//! calls against the live service. Keys are never printed.

use std::error::Error;

use presence_tokio::{Client, Config};
use serde::{Deserialize, Serialize};

/// The state each user shares on the channel.
#[derive(Debug, Deserialize, Serialize)]
struct Status {
    mood: String,
    typing: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());

    // Where to connect: the live service when a subscribe key is set, else a local emulator.
    let (subscribe_key, origin, emulator) = if let Some(key) = env("PUBNUB_SUBSCRIBE_KEY") {
        let origin = env("PUBNUB_ORIGIN")
            .unwrap_or_else(|| presence_tokio::proto::DEFAULT_ORIGIN.to_owned());
        (key, origin, None)
    } else {
        let emulator = presence_emulator::EmulatorBuilder::new().start().await?;
        ("demo".to_owned(), emulator.origin(), Some(emulator))
    };
    println!(
        "Using {} at {origin}\n",
        if emulator.is_some() {
            "the embedded emulator"
        } else {
            "the PubNub service"
        }
    );

    let first = env("PUBNUB_USER_ID").unwrap_or_else(|| "alice".to_owned());
    let second = if first == "alice" {
        "bob".to_owned()
    } else {
        format!("{first}-friend")
    };
    let mut config = Config::builder(subscribe_key, first.clone())
        .origin(origin)
        .sdk_suffix("quickstart");
    if let Some(k) = env("PUBNUB_PUBLISH_KEY") {
        config = config.publish_key(k);
    }
    if let Some(k) = env("PUBNUB_SECRET_KEY") {
        config = config.secret_key(k);
    }
    if let Some(k) = env("PUBNUB_AUTH_KEY") {
        config = config.auth_token(k);
    }
    let config = config.build()?;

    // One client per user; both share one connection pool.
    let alice = Client::new(config.clone())?;
    let bob = alice.with_config(config.to_builder().user_id(second.clone()).build()?);
    let channel = "quickstart-lobby";

    println!("== {first} and {second} come online (heartbeat with state)");
    alice
        .heartbeat()
        .channels([channel])
        .state(
            channel,
            &Status {
                mood: "curious".into(),
                typing: false,
            },
        )
        .await?;
    bob.heartbeat()
        .channels([channel, "quickstart-side-room"])
        .state(
            channel,
            &Status {
                mood: "sleepy".into(),
                typing: true,
            },
        )
        .await?;
    println!("   done\n");

    println!("== Here now on {channel:?} (with state)");
    let here = alice
        .here_now()
        .channels([channel])
        .include_state(true)
        .await?;
    for ch in &here.channels {
        println!("   {} — {} present", ch.name, ch.occupancy);
        for user in &ch.occupants {
            match user.state_as::<Status>() {
                Ok(Some(s)) => println!(
                    "     • {:<12} mood: {:<8} typing: {}",
                    user.user_id, s.mood, s.typing
                ),
                _ => println!("     • {:<12} (no state)", user.user_id),
            }
        }
    }
    if emulator.is_none() {
        println!("   (the live service caches here now for about 3 s)");
    }
    println!();

    println!("== Where now for {second}");
    let where_now = alice.where_now().user_id(second.clone()).await?;
    println!("   {second} is on {:?}\n", where_now.channels);

    println!("== {first} updates their state, then reads {second}'s");
    let stored = alice
        .set_state()
        .channels([channel])
        .state(&Status {
            mood: "excited".into(),
            typing: true,
        })
        .await?;
    println!("   stored for {first}: {}", stored.state);
    let theirs = alice
        .get_state()
        .channels([channel])
        .user_id(second.clone())
        .await?;
    if let Some(status) = theirs.state_as::<Status>(channel)? {
        println!("   {second} on {channel}: {status:?}");
    }
    println!();

    println!("== Both leave");
    alice.leave().channels([channel]).await?;
    bob.leave()
        .channels([channel, "quickstart-side-room"])
        .await?;
    let here = alice.here_now().channels([channel]).await?;
    println!(
        "   {channel}: {} present after leaving",
        here.total_occupancy
    );

    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
