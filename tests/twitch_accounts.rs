//! Twitch sign-in and events against the fake Twitch (loopback only): the device code flow
//! (pending → approved, `slow_down`, expiry, refusal), tokens only in the secret store and
//! rotated there, a revoked sign-in → `signed_out` without a retry storm, EventSub events →
//! exactly one alert each across a `session_reconnect` and duplicate deliveries, a lapsed
//! keepalive → reconnect + resubscribe, and the contract's JSON.

mod support;

use std::sync::Arc;
use std::time::Duration;

use fake_platforms::twitch::{Fault, Route};
use fake_platforms::{FakeTwitch, TwitchOptions};
use serde_json::Value;
use streampai::accounts::{AccountErrorKind, AccountPlatform, AccountState, EventsState};
use streampai::alerts::{Alert, AlertKind};
use streampai::config::Config;
use streampai::secrets::{MemorySecrets, SecretName, SecretStore};
use streampai::{Engine, SessionKind};
use support::{wait_until, wait_until_async, Control};

const LONG: Duration = Duration::from_secs(20);

/// A fake with a 1 s poll interval and a 5 s EventSub keepalive (long enough that a loaded
/// machine never lapses it by accident; the tests about lapses shorten it).
async fn start_fake() -> FakeTwitch {
    fake_with(|_| {}).await
}

async fn fake_with(tweak: impl FnOnce(&mut TwitchOptions)) -> FakeTwitch {
    let mut o =
        TwitchOptions { device_interval_secs: 1, keepalive_timeout_secs: 5, ..TwitchOptions::default() };
    tweak(&mut o);
    FakeTwitch::start(o).await
}

fn config(fake: &FakeTwitch) -> Config {
    support::with_twitch(support::config("user-1"), fake)
}

fn engine(fake: &FakeTwitch, secrets: Arc<MemorySecrets>) -> Engine {
    support::engine(config(fake), secrets)
}

fn twitch(e: &Engine) -> streampai::accounts::AccountStatus {
    e.accounts_status().twitch
}

async fn wait_state(e: &Engine, state: AccountState) {
    wait_until(&format!("Twitch {state:?}"), LONG, || twitch(e).state == state).await;
}

/// Sign in through the engine and approve at the fake.
async fn signed_in(fake: &FakeTwitch, e: &Engine) {
    let prompt = e.sign_in(AccountPlatform::Twitch).await.expect("sign-in starts");
    fake.approve(&prompt.user_code).unwrap();
    wait_state(e, AccountState::SignedIn).await;
}

/// Every alert the desk holds now (on screen, queued, held).
async fn alerts(e: &Engine) -> Vec<Alert> {
    let v = e.alerts().view().await.unwrap();
    v.current.into_iter().chain(v.queued).chain(v.held).collect()
}

async fn events_connected(fake: &FakeTwitch, e: &Engine, session_not: Option<&str>) -> String {
    wait_until("EventSub connected with six subscriptions", LONG, || {
        let s = twitch(e).events;
        let sessions = fake.sessions();
        s.state == EventsState::Connected
            && s.subscriptions == 6
            && sessions.len() == 1
            && Some(sessions[0].as_str()) != session_not
            && fake
                .subscriptions()
                .iter()
                .filter(|x| x.status == "enabled" && x.session_id == sessions[0])
                .count()
                == 6
    })
    .await;
    fake.sessions()[0].clone()
}

#[tokio::test]
async fn sign_in_goes_pending_then_signed_in_with_the_tokens_in_the_secret_store() {
    let fake = start_fake().await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = engine(&fake, secrets.clone());
    wait_until("signed out at start", LONG, || twitch(&e).state == AccountState::SignedOut).await;
    assert_eq!(twitch(&e).error, None, "configured: no error before signing in");

    let prompt = e.sign_in(AccountPlatform::Twitch).await.unwrap();
    assert_eq!(prompt.user_code.len(), 8);
    assert!(prompt.verification_uri.contains(&prompt.user_code));
    assert!(prompt.expires_in > 1700);
    let st = twitch(&e);
    assert_eq!(st.state, AccountState::Pending);
    assert_eq!(st.user_code.as_deref(), Some(prompt.user_code.as_str()));
    // Asking again while pending gives the same code (no second device request).
    assert_eq!(e.sign_in(AccountPlatform::Twitch).await.unwrap().user_code, prompt.user_code);
    assert_eq!(fake.request_count(Route::Device), 1);
    // Still pending after a few polls.
    wait_until("two pending polls", LONG, || fake.request_count(Route::TokenDeviceCode) >= 2).await;
    assert_eq!(twitch(&e).state, AccountState::Pending);

    fake.approve(&prompt.user_code).unwrap();
    wait_state(&e, AccountState::SignedIn).await;
    let st = twitch(&e);
    assert_eq!(st.login.as_deref(), Some("streampai_tester"));
    assert_eq!((st.user_code, st.error), (None, None));
    let (access, refresh) = fake.live_tokens();
    let stored = secrets.get(&SecretName::TwitchTokens).unwrap().expect("the sign-in is stored");
    assert!(stored.expose().contains(&access[0]) && stored.expose().contains(&refresh[0]));
    assert_eq!(fake.slow_downs(), 0, "never polled faster than the interval");
    e.shutdown().await;
}

#[tokio::test]
async fn slow_down_makes_the_engine_poll_five_seconds_slower() {
    let fake = start_fake().await;
    fake.inject_for(Route::TokenDeviceCode, Fault::SlowDown, 1);
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    let prompt = e.sign_in(AccountPlatform::Twitch).await.unwrap();
    fake.approve(&prompt.user_code).unwrap();
    wait_until("signed in after slowing down", Duration::from_secs(30), || {
        twitch(&e).state == AccountState::SignedIn
    })
    .await;
    // Exactly the injected slow_down: had the engine polled sooner than the raised interval
    // (1 + 5 s), the fake would have answered slow_down again.
    assert_eq!(fake.slow_downs(), 1);
    let polls = fake.device_polls();
    assert_eq!(polls.len(), 2, "one slow_down, then the tokens");
    assert!(polls[1] - polls[0] >= Duration::from_secs(6), "gap {:?}", polls[1] - polls[0]);
    e.shutdown().await;
}

#[tokio::test]
async fn an_expired_or_declined_code_is_a_worded_signed_out_state() {
    let fake = fake_with(|o| o.device_expires_in_secs = 2).await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    e.sign_in(AccountPlatform::Twitch).await.unwrap();
    wait_until("the code expires", LONG, || twitch(&e).error.is_some()).await;
    let st = twitch(&e);
    assert_eq!(st.state, AccountState::SignedOut);
    let err = st.error.unwrap();
    assert_eq!(err.kind, AccountErrorKind::Expired);
    assert!(err.message.contains("expired") && err.message.contains("sign in again"), "{}", err.message);
    let polls = fake.request_count(Route::TokenDeviceCode);

    let fake2 = start_fake().await;
    let e2 = engine(&fake2, Arc::new(MemorySecrets::new()));
    let prompt = e2.sign_in(AccountPlatform::Twitch).await.unwrap();
    fake2.deny(&prompt.user_code).unwrap();
    wait_until("declined", LONG, || twitch(&e2).error.is_some()).await;
    assert_eq!(twitch(&e2).error.unwrap().kind, AccountErrorKind::Denied);
    assert_eq!(twitch(&e2).state, AccountState::SignedOut);
    // Nothing polls any more.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(fake.request_count(Route::TokenDeviceCode), polls);
    e.shutdown().await;
    e2.shutdown().await;
}

#[tokio::test]
async fn a_rejected_token_at_start_is_refreshed_and_the_rotated_pair_stored() {
    let fake = start_fake().await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = engine(&fake, secrets.clone());
    signed_in(&fake, &e).await;
    e.shutdown().await;
    let (_, old_refresh) = fake.live_tokens();
    fake.expire_access_tokens();

    // The next start validates (401), refreshes, stores the new pair.
    let validates = fake.request_count(Route::Validate);
    let e = engine(&fake, secrets.clone());
    wait_until("refreshed", LONG, || fake.request_count(Route::TokenRefresh) == 1).await;
    wait_state(&e, AccountState::SignedIn).await;
    assert_eq!(fake.request_count(Route::Validate), validates + 1, "validated once at start");
    let (access, refresh) = fake.live_tokens();
    assert_eq!(refresh.len(), 1, "the old refresh token is spent");
    assert_ne!(refresh, old_refresh);
    let stored = secrets.get(&SecretName::TwitchTokens).unwrap().unwrap();
    assert!(stored.expose().contains(&refresh[0]), "the rotated refresh token is stored");
    assert!(!stored.expose().contains(&old_refresh[0]));
    assert!(access.iter().any(|a| stored.expose().contains(a.as_str())));
    e.shutdown().await;
}

#[tokio::test]
async fn a_revoked_sign_in_ends_signed_out_without_a_retry_storm() {
    // A 1 s keepalive: a connection left open would lapse (and reconnect) within the quiet time.
    let fake = fake_with(|o| o.keepalive_timeout_secs = 1).await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = engine(&fake, secrets.clone());
    e.join("window-1", SessionKind::Window, None);
    signed_in(&fake, &e).await;
    events_connected(&fake, &e, None).await;

    // The user disconnects the app on twitch.tv: tokens die, subscriptions are revoked.
    assert_eq!(fake.revoke_authorization(), 6);
    wait_state(&e, AccountState::SignedOut).await;
    let err = twitch(&e).error.expect("a reason");
    assert_eq!(err.kind, AccountErrorKind::Revoked);
    assert!(err.message.contains("sign in again"), "{}", err.message);
    assert_eq!(secrets.get(&SecretName::TwitchTokens).unwrap(), None, "the dead sign-in is deleted");
    wait_until("events off", LONG, || twitch(&e).events.state == EventsState::Off).await;

    // Quiet from now on: a keepalive lapse (3 s here) or backoff would show as requests.
    let before = fake.requests();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(fake.requests(), before, "no request after signing out");
    assert_eq!(fake.request_count(Route::TokenRefresh), 1, "one refresh attempt, refused");
    assert!(fake.request_count(Route::EventSubConnect) <= 2, "{:?}", fake.requests());
    e.shutdown().await;
}

#[tokio::test]
async fn each_event_kind_becomes_one_alert_across_a_reconnect_and_duplicate_deliveries() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    e.join("window-1", SessionKind::Window, None);
    signed_in(&fake, &e).await;
    let session = events_connected(&fake, &e, None).await;

    let m1 = fake.push_event("channel.follow").unwrap();
    let m2 = fake.push_event("channel.subscribe").unwrap();
    fake.redeliver(&m1).unwrap();
    fake.push_event("channel.subscription.gift").unwrap();
    wait_until_async("three alerts", LONG, || async { alerts(&e).await.len() == 3 }).await;

    // Reconnect: the session moves to the new URL; its subscriptions stay.
    fake.send_reconnect().unwrap();
    wait_until("moved to the reconnect URL", LONG, || {
        fake.delivered()
            .iter()
            .filter(|m| m.message_type == "session_welcome" && m.session_id == session)
            .count()
            == 2
            && fake.sessions() == vec![session.clone()]
    })
    .await;
    // A duplicate of a message from before the move, on the new connection.
    fake.redeliver(&m2).unwrap();
    fake.push_event("channel.subscription.message").unwrap();
    fake.push_event("channel.cheer").unwrap();
    fake.push_event("channel.raid").unwrap();
    wait_until_async("six alerts", LONG, || async { alerts(&e).await.len() >= 6 }).await;

    let all = alerts(&e).await;
    assert_eq!(all.len(), 6, "{all:#?}");
    assert!(all.iter().all(|a| a.platform.as_deref() == Some("twitch")));
    let count = |k: AlertKind| all.iter().filter(|a| a.kind == k).count();
    assert_eq!(
        [
            count(AlertKind::Follow),
            count(AlertKind::Subscription),
            count(AlertKind::Cheer),
            count(AlertKind::Raid)
        ],
        [1, 3, 1, 1]
    );
    let cheer = all.iter().find(|a| a.kind == AlertKind::Cheer).unwrap();
    assert_eq!((cheer.amount, cheer.message.as_deref()), (Some(1000.0), Some("pogchamp")));
    let raid = all.iter().find(|a| a.kind == AlertKind::Raid).unwrap();
    assert_eq!(raid.amount, Some(9001.0));
    let resub = all.iter().find(|a| a.message.as_deref() == Some("Love the stream! FevziGG")).unwrap();
    assert_eq!(resub.amount, Some(15.0));
    assert_eq!(fake.subscriptions().len(), 6, "no new subscription across the reconnect");
    assert_eq!(twitch(&e).events.state, EventsState::Connected);
    e.shutdown().await;
}

#[tokio::test]
async fn a_lapsed_keepalive_reconnects_and_subscribes_again() {
    let fake = fake_with(|o| o.keepalive_timeout_secs = 1).await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    e.join("window-1", SessionKind::Window, None);
    signed_in(&fake, &e).await;
    let first = events_connected(&fake, &e, None).await;

    fake.set_keepalives(false);
    let second = events_connected(&fake, &e, Some(&first)).await;
    fake.set_keepalives(true);
    assert_ne!(first, second);
    let subs = fake.subscriptions();
    assert_eq!(subs.len(), 12, "six again on the new session");
    assert!(subs.iter().filter(|s| s.session_id == first).all(|s| s.status == "websocket_disconnected"));

    fake.push_event("channel.raid").unwrap();
    wait_until_async("the raid after the reconnect", LONG, || async {
        alerts(&e).await.iter().any(|a| a.kind == AlertKind::Raid)
    })
    .await;
    e.shutdown().await;
}

#[tokio::test]
async fn the_contract_status_sign_in_and_sign_out_over_the_control_api() {
    let fake = start_fake().await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = engine(&fake, secrets.clone());
    let api = Control::start(&e).await;
    wait_until("the account actor published", LONG, || twitch(&e).state == AccountState::SignedOut).await;

    let (status, body) = api.get("/api/v1/status").await;
    assert_eq!(status, 200);
    let t = &body["accounts"]["twitch"];
    assert_eq!(t["state"], "signed_out");
    assert_eq!((&t["login"], &t["error"]), (&Value::Null, &Value::Null));
    assert_eq!(t["events"]["state"], "off");

    let (status, prompt) = api.post("/api/v1/accounts/twitch/sign-in").await;
    assert_eq!(status, 200, "{prompt}");
    let keys: Vec<&str> = prompt.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["expires_in", "user_code", "verification_uri"]);
    assert_eq!(api.get("/api/v1/status").await.1["accounts"]["twitch"]["state"], "pending");
    fake.approve(prompt["user_code"].as_str().unwrap()).unwrap();
    wait_state(&e, AccountState::SignedIn).await;
    let t = api.get("/api/v1/status").await.1["accounts"]["twitch"].clone();
    assert_eq!((t["state"].as_str(), t["login"].as_str()), (Some("signed_in"), Some("streampai_tester")));

    // No [youtube] client in this config: the YouTube sign-in says what to set.
    let (status, body) = api.post("/api/v1/accounts/youtube/sign-in").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (422, Some("not_configured")));
    let (status, body) = api.post("/api/v1/accounts/twitch/sign-out").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("signed_out")));
    assert_eq!(fake.request_count(Route::Revoke), 1);
    assert_eq!(fake.live_tokens().0.len(), 0, "the token is revoked at Twitch");
    assert_eq!(secrets.get(&SecretName::TwitchTokens).unwrap(), None);
    let t = api.get("/api/v1/status").await.1["accounts"]["twitch"].clone();
    assert_eq!((t["state"].as_str(), &t["error"]), (Some("signed_out"), &Value::Null));
    api.stop().await;
    e.shutdown().await;

    // Without a client id: refused, worded, naming the key.
    let mut c = config(&fake);
    c.twitch.client_id = None;
    let e = support::engine(c, Arc::new(MemorySecrets::new()));
    let api = Control::start(&e).await;
    let (status, body) = api.post("/api/v1/accounts/twitch/sign-in").await;
    assert_eq!((status, body["error"]["kind"].as_str()), (422, Some("not_configured")));
    assert!(body["error"]["message"].as_str().unwrap().contains("[twitch] client_id"));
    wait_until("not configured in the status", LONG, || {
        twitch(&e).error.is_some_and(|er| er.kind == AccountErrorKind::NotConfigured)
    })
    .await;
    api.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn setting_the_client_id_after_a_refused_sign_in_clears_not_configured_at_once() {
    let fake = start_fake().await;
    let mut bare = config(&fake);
    bare.twitch.client_id = None;
    let e = support::engine(bare.clone(), Arc::new(MemorySecrets::new()));
    let err = e.sign_in(AccountPlatform::Twitch).await.unwrap_err();
    assert!(err.to_string().contains("[twitch] client_id"), "{err}");
    wait_until("not configured in the status", LONG, || {
        twitch(&e).error.is_some_and(|er| er.kind == AccountErrorKind::NotConfigured)
    })
    .await;

    // The streamer saves a client id (the desktop's apply_config): the status says so as soon
    // as the config is in force, not at the next sign-in.
    e.reconfigure(config(&fake)).await.unwrap();
    let st = twitch(&e);
    assert_eq!((st.state, &st.error), (AccountState::SignedOut, &None), "{st:?}");
    signed_in(&fake, &e).await;
    e.sign_out(AccountPlatform::Twitch).await.unwrap();

    // And the other way: the client id removed, the status says what to set again.
    e.reconfigure(bare).await.unwrap();
    let st = twitch(&e);
    assert_eq!(st.state, AccountState::SignedOut);
    assert_eq!(st.error.map(|er| er.kind), Some(AccountErrorKind::NotConfigured));
    e.shutdown().await;
}

#[tokio::test]
async fn twitch_unreachable_at_start_keeps_the_sign_in_and_says_so() {
    let fake = start_fake().await;
    let secrets = Arc::new(MemorySecrets::new());
    let e = engine(&fake, secrets.clone());
    signed_in(&fake, &e).await;
    e.shutdown().await;
    let cfg = config(&fake);
    fake.shutdown().await;

    let e = support::engine(cfg, secrets.clone());
    wait_until("an error state", LONG, || twitch(&e).state == AccountState::Error).await;
    let st = twitch(&e);
    assert_eq!(st.login.as_deref(), Some("streampai_tester"), "the stored login is shown");
    let err = st.error.unwrap();
    assert!(matches!(err.kind, AccountErrorKind::Unreachable | AccountErrorKind::Timeout), "{err:?}");
    assert!(err.message.contains("Twitch"), "{}", err.message);
    assert!(secrets.get(&SecretName::TwitchTokens).unwrap().is_some(), "the sign-in is kept for later");
    e.shutdown().await;
}
