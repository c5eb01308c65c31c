//! YouTube sign-in and live chat events against the fake YouTube (loopback only): the browser
//! sign-in end to end (the test GETs the consent URL and follows the fake's redirect into the
//! engine's loopback listener), a wrong `state` refused, the PKCE verifier checked, refresh on
//! 401, a revoked sign-in → `signed_out` without a retry storm, each chat event kind → exactly
//! one alert across page boundaries and a duplicate delivery, `quotaExceeded` → words in the
//! status and no more polling, and the broadcast title update.

mod support;

use std::sync::Arc;
use std::time::Duration;

use fake_platforms::youtube::{Fault, Route};
use fake_platforms::{FakeYouTube, YouTubeOptions};
use streampai::accounts::youtube_api::BroadcastUpdateError;
use streampai::accounts::{AccountErrorKind, AccountPlatform, AccountState, EventsState};
use streampai::alerts::{Alert, AlertKind};
use streampai::config::Config;
use streampai::secrets::{MemorySecrets, SecretName, SecretStore};
use streampai::stream_info::{PushErrorKind, StreamInfoInput};
use streampai::{Engine, SessionKind};
use support::{wait_until, wait_until_async, youtube_authorize_url as authorize_url};

const LONG: Duration = Duration::from_secs(20);

async fn fake_with(tweak: impl FnOnce(&mut YouTubeOptions)) -> FakeYouTube {
    let mut o = YouTubeOptions { polling_interval_millis: 200, page_size: 2, ..Default::default() };
    tweak(&mut o);
    FakeYouTube::start(o).await
}

fn config(fake: &FakeYouTube) -> Config {
    let mut c = support::with_youtube(support::config("user-1"), fake);
    c.presence.cleanup_timeout_ms = 300;
    c
}

fn youtube(e: &Engine) -> streampai::accounts::AccountStatus {
    e.accounts_status().youtube
}

fn query(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// What the browser shows after following the consent page's redirect.
async fn browse(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.expect("the browser reaches the page");
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn signed_in(e: &Engine) {
    let url = authorize_url(e).await;
    let (status, page) = browse(&url).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in to YouTube"), "{page}");
    wait_until("YouTube signed in", LONG, || youtube(e).state == AccountState::SignedIn).await;
}

async fn alerts(e: &Engine) -> Vec<Alert> {
    let v = e.alerts().view().await.unwrap();
    v.current.into_iter().chain(v.queued).chain(v.held).collect()
}

#[tokio::test]
async fn browser_sign_in_through_the_loopback_listener_keeps_the_tokens_in_the_secret_store() {
    let fake = fake_with(|_| {}).await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = support::engine(config(&fake), secrets.clone());
    wait_until("signed out at start", LONG, || youtube(&e).state == AccountState::SignedOut).await;
    assert_eq!(youtube(&e).error, None, "configured: no error before signing in");

    let url = authorize_url(&e).await;
    assert!(url.starts_with(&fake.auth_url()), "{url}");
    assert_eq!(query(&url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query(&url, "scope").as_deref(), Some("https://www.googleapis.com/auth/youtube"));
    assert_eq!(query(&url, "response_type").as_deref(), Some("code"));
    let redirect = query(&url, "redirect_uri").unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    assert!(query(&url, "state").unwrap().len() >= 32);
    assert!(!url.contains(&fake.client_secret()), "the secret never goes to the browser");
    assert_eq!(youtube(&e).state, AccountState::Pending);
    // One pending sign-in at a time: asking again gives the same page.
    assert_eq!(authorize_url(&e).await, url);

    let (status, page) = browse(&url).await;
    assert_eq!(status, 200);
    assert!(page.contains("Streampai Tester") && page.contains("close this tab"), "{page}");
    wait_until("signed in", LONG, || youtube(&e).state == AccountState::SignedIn).await;
    let st = youtube(&e);
    assert_eq!((st.login.as_deref(), st.error), (Some("Streampai Tester"), None));
    assert_eq!(fake.verifier_failures(), 0);
    let (access, refresh) = fake.live_tokens();
    let stored = secrets.get(&SecretName::YoutubeTokens).unwrap().expect("the sign-in is stored");
    assert!(stored.expose().contains(&access[0]) && stored.expose().contains(&refresh[0]));
    // The listener closed once it answered.
    wait_until_async("the listener closed", LONG, || async {
        reqwest::get(redirect.as_str()).await.is_err()
    })
    .await;

    // Sign-out revokes the grant at Google and deletes the sign-in.
    e.sign_out(AccountPlatform::Youtube).await.unwrap();
    assert_eq!(youtube(&e).state, AccountState::SignedOut);
    assert_eq!(fake.request_count(Route::Revoke), 1);
    assert!(fake.live_tokens().1.is_empty(), "the refresh token is revoked");
    assert_eq!(secrets.get(&SecretName::YoutubeTokens).unwrap(), None);
    e.shutdown().await;
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_a_denial_is_a_worded_signed_out_state() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    let url = authorize_url(&e).await;
    let redirect = query(&url, "redirect_uri").unwrap();
    // A request to the listener without the sign-in's state (another page, a forged link).
    let (status, page) = browse(&format!("{redirect}?code=4/forged&state=not-the-one")).await;
    assert_eq!(status, 400);
    assert!(page.contains("does not belong"), "{page}");
    let (status, _) = browse(&format!("{redirect}?code=4/forged")).await;
    assert_eq!(status, 400);
    assert_eq!(youtube(&e).state, AccountState::Pending, "the sign-in goes on waiting");
    assert_eq!(fake.request_count(Route::TokenCode), 0, "a forged code is never exchanged");

    // The user cancels on Google's page.
    fake.inject_for(Route::Authorize, Fault::Deny, 1);
    let (status, page) = browse(&url).await;
    assert_eq!(status, 200);
    assert!(page.contains("cancelled"), "{page}");
    wait_until("signed out after the denial", LONG, || youtube(&e).state == AccountState::SignedOut).await;
    assert_eq!(youtube(&e).error.map(|x| x.kind), Some(AccountErrorKind::Denied));

    // A fresh sign-in works (a new listener, a new state).
    let again = authorize_url(&e).await;
    assert_ne!(query(&again, "state"), query(&url, "state"));
    signed_in(&e).await;
    e.shutdown().await;
}

#[tokio::test]
async fn the_fake_checks_the_pkce_verifier_the_engine_sends() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    let url = authorize_url(&e).await;
    // Someone swaps the challenge on the way to Google: the code is bound to another verifier.
    let mut tampered = url::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = tampered
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "code_challenge" {
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    let (_, page) = browse(tampered.as_str()).await;
    assert!(page.contains("did not complete"), "{page}");
    wait_until("signed out", LONG, || youtube(&e).state == AccountState::SignedOut).await;
    assert_eq!(fake.verifier_failures(), 1);
    let err = youtube(&e).error.expect("why");
    assert_eq!(err.kind, AccountErrorKind::Refused);
    assert!(err.message.contains("code verifier"), "{}", err.message);
    assert!(fake.live_tokens().0.is_empty(), "no tokens were issued");
    e.shutdown().await;
}

#[tokio::test]
async fn a_refused_token_is_refreshed_and_a_revoked_sign_in_ends_signed_out_without_a_retry_storm() {
    let fake = fake_with(|_| {}).await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = support::engine(config(&fake), secrets.clone());
    signed_in(&e).await;
    let b = fake.start_broadcast("Live", true);
    e.join("window-1", SessionKind::Window, None);
    wait_until("reading the chat", LONG, || youtube(&e).events.state == EventsState::Connected).await;

    // YouTube refuses the access token before its time: one refresh, then reading goes on.
    fake.expire_access_tokens();
    let polls = fake.request_count(Route::ChatMessages);
    wait_until("refreshed and polling again", LONG, || {
        fake.request_count(Route::TokenRefresh) == 1 && fake.request_count(Route::ChatMessages) > polls + 2
    })
    .await;
    assert_eq!(youtube(&e).state, AccountState::SignedIn);

    // The user removes Streampai's access in their Google account.
    fake.revoke_all();
    wait_until("signed out", LONG, || youtube(&e).state == AccountState::SignedOut).await;
    let st = youtube(&e);
    assert_eq!(st.error.as_ref().map(|x| x.kind), Some(AccountErrorKind::Revoked), "{st:?}");
    wait_until("events off", LONG, || youtube(&e).events.state == EventsState::Off).await;
    assert_eq!(secrets.get(&SecretName::YoutubeTokens).unwrap(), None, "the refused sign-in is deleted");
    let total = fake.total_requests();
    assert_eq!(fake.request_count(Route::TokenRefresh), 2, "one refresh attempt after the revocation");
    // Many polling intervals later: nothing more was sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.total_requests(), total, "{:?}", fake.requests());
    assert_eq!(b.title, "Live");
    e.shutdown().await;
}

#[tokio::test]
async fn each_chat_event_kind_becomes_exactly_one_alert_across_pages_and_duplicates() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    fake.start_broadcast("Live", true);
    // From before Streampai read the chat: history, not an alert.
    let old = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let (key, d) = fake_platforms::youtube::example_details("superChatEvent").unwrap();
    fake.push_chat_with("superChatEvent", "Old Donor", Some((key, d)), Some(old)).unwrap();
    signed_in(&e).await;
    e.join("window-1", SessionKind::Window, None);
    wait_until("reading the chat", LONG, || youtube(&e).events.state == EventsState::Connected).await;
    assert_eq!(youtube(&e).events.subscriptions, 1);

    let super_chat = fake.push_chat("superChatEvent", "Donor").unwrap();
    fake.push_chat("textMessageEvent", "Chatter").unwrap();
    fake.push_chat("superStickerEvent", "Sticker Fan").unwrap();
    fake.redeliver(&super_chat).unwrap();
    fake.push_chat("newSponsorEvent", "New Member").unwrap();
    fake.push_chat("memberMilestoneChatEvent", "Loyal Member").unwrap();
    fake.push_chat("membershipGiftingEvent", "Generous").unwrap();
    wait_until_async("five alerts", LONG, || async { alerts(&e).await.len() >= 5 }).await;
    // A few more polls (past every page): still exactly five.
    let polls = fake.request_count(Route::ChatMessages);
    wait_until("more polls", LONG, || fake.request_count(Route::ChatMessages) >= polls + 3).await;
    let all = alerts(&e).await;
    assert_eq!(all.len(), 5, "{all:#?}");
    let by = |from: &str| all.iter().find(|a| a.from == from).unwrap_or_else(|| panic!("{from}: {all:#?}"));
    let sc = by("Donor");
    assert_eq!(
        (sc.kind, sc.amount, sc.currency.as_deref(), sc.message.as_deref()),
        (AlertKind::Donation, Some(5.0), Some("USD"), Some("Love the stream!"))
    );
    let st = by("Sticker Fan");
    assert_eq!((st.kind, st.amount, st.currency.as_deref()), (AlertKind::Donation, Some(2.0), Some("EUR")));
    assert_eq!((by("New Member").kind, by("New Member").amount), (AlertKind::Subscription, None));
    let ms = by("Loyal Member");
    assert_eq!(
        (ms.kind, ms.amount, ms.message.as_deref()),
        (AlertKind::Subscription, Some(6.0), Some("Six months already"))
    );
    assert_eq!((by("Generous").kind, by("Generous").amount), (AlertKind::Subscription, Some(5.0)));
    assert!(all.iter().all(|a| a.platform.as_deref() == Some("youtube")));

    // The chat ends: the reader goes back to looking for a live broadcast.
    fake.end_broadcasts();
    wait_until("looking for a broadcast", LONG, || youtube(&e).events.state == EventsState::Connecting).await;
    e.shutdown().await;
}

#[tokio::test]
async fn quota_exceeded_is_shown_in_words_and_polling_stops() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    fake.start_broadcast("Live", true);
    signed_in(&e).await;
    e.join("window-1", SessionKind::Window, None);
    wait_until("reading the chat", LONG, || youtube(&e).events.state == EventsState::Connected).await;
    // Room for two more polls today.
    fake.set_quota(fake.quota_used() + 10);
    wait_until("the quota words", LONG, || {
        youtube(&e).events.error.is_some_and(|x| x.kind == AccountErrorKind::RateLimited)
    })
    .await;
    let err = youtube(&e).events.error.unwrap();
    assert!(
        err.message.contains("quotaExceeded") && err.message.contains("midnight Pacific"),
        "{}",
        err.message
    );
    assert_eq!(youtube(&e).state, AccountState::SignedIn, "the sign-in itself is fine");
    let polls = fake.request_count(Route::ChatMessages);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.request_count(Route::ChatMessages), polls, "paused until the reset");
    e.shutdown().await;
}

#[tokio::test]
async fn the_live_broadcast_title_is_updated_keeping_what_youtube_requires() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    assert_eq!(e.set_youtube_broadcast_info("T", None).await.unwrap_err(), BroadcastUpdateError::SignedOut);
    signed_in(&e).await;
    let err = e.set_youtube_broadcast_info("T", None).await.unwrap_err();
    assert_eq!(err, BroadcastUpdateError::NoActiveBroadcast);
    assert!(err.to_string().contains("no YouTube broadcast is live"));
    let b = fake.start_broadcast("Old title", true);
    let updated = e.set_youtube_broadcast_info("New title", None).await.unwrap();
    assert_eq!(updated.title, "New title");
    let now = &fake.broadcasts()[0];
    assert_eq!(
        (now.title.as_str(), now.description.as_str()),
        ("New title", "Fake broadcast"),
        "description kept"
    );
    assert_eq!(now.scheduled_start_time, b.scheduled_start_time);
    e.set_youtube_broadcast_info("Third", Some("A new description")).await.unwrap();
    assert_eq!(fake.broadcasts()[0].description, "A new description");
    // YouTube's own refusal, in words.
    let err = e.set_youtube_broadcast_info(&"x".repeat(101), None).await.unwrap_err();
    assert!(err.to_string().contains("invalidTitle"), "{err}");
    e.shutdown().await;
}

#[tokio::test]
async fn the_saved_stream_info_goes_to_the_live_broadcast_with_a_result_in_words() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    let info = |title: &str, description: &str| StreamInfoInput {
        title: Some(title.into()),
        youtube_description: Some(description.into()),
        ..Default::default()
    };
    let youtube_of = |r: &streampai::stream_info::PushReport| r.results.youtube.clone();

    let r = e.set_stream_info(info("Before sign-in", "d")).await.unwrap();
    assert_eq!(youtube_of(&r).error.map(|e| e.kind), Some(PushErrorKind::NotSignedIn));
    signed_in(&e).await;
    // Signed in, nothing live: YouTube sets titles on a live broadcast; said so, save kept.
    let r = e.set_stream_info(info("Nothing live", "d")).await.unwrap();
    let err = youtube_of(&r).error.expect("no broadcast is an error");
    assert_eq!(err.kind, PushErrorKind::NoBroadcast, "{err:?}");
    assert!(err.message.contains("no YouTube broadcast is live"), "{}", err.message);
    assert_eq!(e.stream_info().info.unwrap().title, "Nothing live");

    fake.start_broadcast("Old title", true);
    let r = e.set_stream_info(info("One title everywhere", "Come hang out")).await.unwrap();
    assert!(r.results.youtube.ok, "{r:?}");
    let now = &fake.broadcasts()[0];
    assert_eq!((now.title.as_str(), now.description.as_str()), ("One title everywhere", "Come hang out"));

    // YouTube's own limits: the save stands, nothing is sent, the result says why.
    let updates = fake.request_count(Route::UpdateBroadcast);
    let r = e.set_stream_info(info("a <b> title", "x")).await.unwrap();
    assert_eq!(r.results.youtube.error.as_ref().map(|e| e.kind), Some(PushErrorKind::Invalid), "{r:?}");
    assert_eq!(fake.request_count(Route::UpdateBroadcast), updates, "nothing sent");
    assert_eq!(fake.broadcasts()[0].title, "One title everywhere");
    assert_eq!(e.stream_info().info.unwrap().title, "a <b> title");
    e.shutdown().await;
}

#[tokio::test]
async fn the_contract_json_of_sign_in_and_status() {
    let fake = fake_with(|_| {}).await;
    let e = support::engine(config(&fake), Arc::new(MemorySecrets::new()));
    let control = support::Control::start(&e).await;
    let (status, body) = control.post("/api/v1/accounts/youtube/sign-in").await;
    assert_eq!(status, 200, "{body}");
    let url = body["authorize_url"].as_str().expect("authorize_url").to_string();
    assert_eq!(body.as_object().unwrap().len(), 1);
    let (_, st) = control.get("/api/v1/status").await;
    assert_eq!(st["accounts"]["youtube"]["state"], "pending");
    browse(&url).await;
    wait_until("signed in", LONG, || youtube(&e).state == AccountState::SignedIn).await;
    let (_, st) = control.get("/api/v1/status").await;
    assert_eq!(st["accounts"]["youtube"]["state"], "signed_in");
    assert_eq!(st["accounts"]["youtube"]["login"], "Streampai Tester");
    let (status, body) = control.post("/api/v1/accounts/youtube/sign-out").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("signed_out")));
    control.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn without_a_client_sign_in_is_not_configured_and_says_which_keys() {
    let mut c = support::config("user-1");
    c.youtube.client_id = Some("1234-abc.apps.googleusercontent.com".into());
    let e = support::engine(c, Arc::new(MemorySecrets::new()));
    let err = e.start_sign_in(AccountPlatform::Youtube).await.unwrap_err();
    assert!(err.to_string().contains("client_secret"), "{err}");
    wait_until("worded", LONG, || {
        youtube(&e).error.is_some_and(|x| x.kind == AccountErrorKind::NotConfigured)
    })
    .await;
    e.shutdown().await;
}

#[tokio::test]
async fn setting_the_client_after_a_refused_sign_in_clears_not_configured_at_once() {
    let fake = fake_with(|_| {}).await;
    let mut half = config(&fake);
    half.youtube.client_secret = None;
    let e = support::engine(half.clone(), Arc::new(MemorySecrets::new()));
    let err = e.start_sign_in(AccountPlatform::Youtube).await.unwrap_err();
    assert!(err.to_string().contains("client_secret"), "{err}");
    wait_until("worded", LONG, || {
        youtube(&e).error.is_some_and(|x| x.kind == AccountErrorKind::NotConfigured)
    })
    .await;

    // The secret is saved (the desktop's apply_config): the status follows at once.
    e.reconfigure(config(&fake)).await.unwrap();
    let st = youtube(&e);
    assert_eq!((st.state, &st.error), (AccountState::SignedOut, &None), "{st:?}");
    signed_in(&e).await;
    e.sign_out(AccountPlatform::Youtube).await.unwrap();

    // The secret removed again: not configured again.
    e.reconfigure(half).await.unwrap();
    let st = youtube(&e);
    assert_eq!(st.state, AccountState::SignedOut);
    assert_eq!(st.error.map(|x| x.kind), Some(AccountErrorKind::NotConfigured));
    e.shutdown().await;
}
