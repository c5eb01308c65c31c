//! The Twitch pieces under supervision: a crashed `TwitchAccount` goes on with the sign-in it
//! was waiting for (its stash), a killed `TwitchEvents` reconnects and subscribes again.

use std::sync::Arc;
use std::time::Duration;

use super::support::*;
use fake_platforms::{FakeTwitch, TwitchOptions};
use streampai::accounts::{AccountPlatform, AccountState, EventsState};
use streampai::alerts::AlertKind;
use streampai::secrets::MemorySecrets;
use streampai::SessionKind;

const LONG: Duration = Duration::from_secs(20);

async fn rig() -> (FakeTwitch, streampai::Engine) {
    let fake = FakeTwitch::start(TwitchOptions {
        device_interval_secs: 1,
        keepalive_timeout_secs: 5,
        ..Default::default()
    })
    .await;
    let mut c = config("user-1");
    c.twitch.client_id = Some(fake.client_id());
    c.twitch.auth_url = fake.auth_url();
    c.twitch.api_url = fake.api_url();
    c.twitch.eventsub_url = fake.eventsub_url();
    let e = engine(c, Arc::new(MemorySecrets::new()));
    (fake, e)
}

#[tokio::test]
async fn a_restarted_account_actor_goes_on_polling_the_pending_sign_in() {
    let (fake, e) = rig().await;
    let prompt = e.sign_in(AccountPlatform::Twitch).await.unwrap();
    e.user().twitch_account().unwrap().inject_panic().await;
    wait_until("TwitchAccount restarted", LONG, || {
        e.debug_tree()
            .engine
            .iter()
            .any(|c| c.id == "TwitchAccount" && c.restarts == 1 && c.state == "running")
    })
    .await;
    assert_eq!(e.accounts_status().twitch.state, AccountState::Pending);
    fake.approve(&prompt.user_code).unwrap();
    wait_until("signed in", LONG, || e.accounts_status().twitch.state == AccountState::SignedIn).await;
    e.shutdown().await;
}

#[tokio::test]
async fn a_killed_twitch_events_child_reconnects_and_subscribes_again() {
    let (fake, e) = rig().await;
    e.join("window-1", SessionKind::Window, None);
    let prompt = e.sign_in(AccountPlatform::Twitch).await.unwrap();
    fake.approve(&prompt.user_code).unwrap();
    let connected = |n: usize| {
        let fake = &fake;
        let e = &e;
        move || {
            e.accounts_status().twitch.events.state == EventsState::Connected
                && fake.subscriptions().iter().filter(|s| s.status == "enabled").count() == 6
                && fake.subscriptions().len() == n
        }
    };
    wait_until("connected", LONG, connected(6)).await;
    assert!(e.user().tree_children().iter().any(|c| c.id == "TwitchEvents"), "a child of the user's tree");
    e.user().tree.kill_child("TwitchEvents").await.unwrap();
    wait_until("subscribed again on a new session", LONG, connected(12)).await;
    fake.push_event("channel.follow").unwrap();
    wait_until_async("the follow", LONG, || async {
        e.alerts().view().await.unwrap().current.is_some_and(|a| a.kind == AlertKind::Follow)
            || e.alerts().view().await.unwrap().queued.iter().any(|a| a.kind == AlertKind::Follow)
    })
    .await;
    e.shutdown().await;
}
