//! The YouTube pieces under supervision: a crashed `YouTubeAccount` still completes the browser
//! sign-in it was waiting for (its stash and the listener outlive it), a killed `YouTubeEvents`
//! comes back and goes on reading the chat.

use std::sync::Arc;
use std::time::Duration;

use super::support::youtube_authorize_url as authorize_url;
use super::support::*;
use fake_platforms::youtube::Route;
use fake_platforms::{FakeYouTube, YouTubeOptions};
use streampai::accounts::{AccountState, EventsState};
use streampai::alerts::AlertKind;
use streampai::secrets::MemorySecrets;
use streampai::SessionKind;

const LONG: Duration = Duration::from_secs(20);

async fn rig() -> (FakeYouTube, streampai::Engine) {
    let fake =
        FakeYouTube::start(YouTubeOptions { polling_interval_millis: 200, ..Default::default() }).await;
    let e = engine(with_youtube(config("user-1"), &fake), Arc::new(MemorySecrets::new()));
    (fake, e)
}

#[tokio::test]
async fn a_restarted_account_actor_still_completes_the_browser_sign_in() {
    let (_fake, e) = rig().await;
    let url = authorize_url(&e).await;
    e.user().youtube_account().unwrap().inject_panic().await;
    wait_until("YouTubeAccount restarted", LONG, || {
        e.debug_tree()
            .engine
            .iter()
            .any(|c| c.id == "YouTubeAccount" && c.restarts == 1 && c.state == "running")
    })
    .await;
    assert_eq!(e.accounts_status().youtube.state, AccountState::Pending);
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("Signed in to YouTube"), "{page}");
    wait_until("signed in", LONG, || e.accounts_status().youtube.state == AccountState::SignedIn).await;
    e.shutdown().await;
}

#[tokio::test]
async fn a_killed_youtube_events_child_comes_back_and_reads_on() {
    let (fake, e) = rig().await;
    fake.start_broadcast("Live", true);
    e.join("window-1", SessionKind::Window, None);
    reqwest::get(&authorize_url(&e).await).await.unwrap();
    let connected = || e.accounts_status().youtube.events.state == EventsState::Connected;
    wait_until("reading the chat", LONG, connected).await;
    assert!(e.user().tree_children().iter().any(|c| c.id == "YouTubeEvents"), "a child of the user's tree");
    let donations = || {
        let e = &e;
        async move {
            let v = e.alerts().view().await.unwrap();
            v.current.into_iter().chain(v.queued).filter(|a| a.kind == AlertKind::Donation).count()
        }
    };
    fake.push_chat("superChatEvent", "Before").unwrap();
    wait_until_async("the first Super Chat", LONG, || async { donations().await == 1 }).await;
    let lookups = fake.request_count(Route::ListBroadcasts);
    e.user().tree.kill_child("YouTubeEvents").await.unwrap();
    fake.push_chat("superChatEvent", "After").unwrap();
    wait_until_async("the second Super Chat", LONG, || async { donations().await == 2 }).await;
    assert_eq!(fake.request_count(Route::ListBroadcasts), lookups, "the chat cursor outlived the restart");
    e.shutdown().await;
}
