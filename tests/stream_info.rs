//! "One title everywhere" against the fake Twitch (loopback only): a save is kept and pushed to
//! the fake's channel (title and category read back from the fake), per-platform results in
//! words (not signed in; 401 → one refresh → one retry; Twitch's 400 with its message; 5xx; a
//! timeout) while the save stands, a push on every stream start, the category search, input
//! checks naming the field, the control API's JSON, and a restart keeping the saved info. With
//! the fake YouTube: the push on Start finds no live broadcast; once YouTube shows one live the
//! saved info goes to it (the update alone, once per broadcast, only while the stream runs).

mod support;

use std::sync::Arc;
use std::time::Duration;

use fake_platforms::twitch::{Fault, Route};
use fake_platforms::youtube::{Fault as YtFault, Route as YtRoute};
use fake_platforms::{FakeTwitch, FakeYouTube, TwitchOptions, YouTubeOptions};
use serde_json::{json, Value};
use streampai::accounts::{AccountPlatform, AccountState, EventsState};
use streampai::secrets::MemorySecrets;
use streampai::stream_info::{PushErrorKind, PushTrigger, StreamInfoInput};
use streampai::{Engine, EngineError, EngineOptions, Event, PlatformKind, SessionKind, StateFile};
use support::{wait_until, Control};

const LONG: Duration = Duration::from_secs(20);

async fn start_fake() -> FakeTwitch {
    FakeTwitch::start(TwitchOptions {
        device_interval_secs: 1,
        keepalive_timeout_secs: 5,
        ..Default::default()
    })
    .await
}

fn engine(fake: &FakeTwitch, secrets: Arc<MemorySecrets>) -> Engine {
    support::engine(support::with_twitch(support::config("user-1"), fake), secrets)
}

async fn signed_in(fake: &FakeTwitch, e: &Engine) {
    let prompt = e.sign_in(AccountPlatform::Twitch).await.expect("sign-in starts");
    fake.approve(&prompt.user_code).unwrap();
    wait_until("Twitch signed in", LONG, || e.accounts_status().twitch.state == AccountState::SignedIn).await;
}

fn input(title: &str, category: Option<&str>) -> StreamInfoInput {
    StreamInfoInput {
        title: Some(title.into()),
        twitch_category_id: category.map(str::to_string),
        youtube_description: Some("Come hang out".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_save_is_pushed_to_twitch_and_youtube_says_not_signed_in() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    signed_in(&fake, &e).await;
    let mut rx = e.subscribe();

    let report = e.set_stream_info(input("Speedrunning all day", Some("33214"))).await.unwrap();
    assert_eq!(report.trigger, PushTrigger::Save);
    assert!(report.results.twitch.ok, "{report:?}");
    assert_eq!(report.results.twitch.error, None);
    let yt = report.results.youtube.error.clone().expect("YouTube is not signed in");
    assert!(!report.results.youtube.ok);
    assert_eq!(yt.kind, PushErrorKind::NotSignedIn);

    let channel = fake.channel_info();
    assert_eq!(channel.title, "Speedrunning all day");
    assert_eq!((channel.game_id.as_str(), channel.game_name.as_str()), ("33214", "Fortnite"));
    // The PATCH, then a GET for the name of the category saved by id alone.
    assert_eq!(fake.request_count(Route::Channels), 2);

    let view = e.stream_info();
    let info = view.info.expect("saved");
    assert_eq!(info.title, "Speedrunning all day");
    assert_eq!(info.twitch_category_id.as_deref(), Some("33214"));
    assert_eq!(info.twitch_category_name.as_deref(), Some("Fortnite"), "the name learned from Twitch");
    assert_eq!(info.youtube_description.as_deref(), Some("Come hang out"));
    assert!(!view.pushing);
    assert_eq!(view.last_push, Some(report.clone()));
    assert_eq!(e.status().await.stream_info.last_push, Some(report.clone()));

    // The events: saved, pushing, then the results.
    let evs = support::drain(&mut rx);
    let views: Vec<_> = evs
        .iter()
        .filter_map(|ev| if let Event::StreamInfo { info, .. } = ev { Some(info) } else { None })
        .collect();
    assert!(views.iter().any(|v| v.pushing), "a pushing event: {views:?}");
    assert_eq!(views.last().unwrap().last_push, Some(report));
    assert!(!views.last().unwrap().pushing);

    // A title only YouTube refuses is saved and goes to Twitch; a category "0" clears it.
    let long = "a title of more than a hundred characters, which YouTube refuses and Twitch takes without a complaint";
    assert!(long.chars().count() > 100);
    let report = e.set_stream_info(input(long, Some("0"))).await.unwrap();
    assert!(report.results.twitch.ok, "{report:?}");
    assert_eq!(fake.channel_info().title, long);
    assert_eq!(fake.channel_info().game_id, "");
    assert_eq!(e.stream_info().info.unwrap().twitch_category_name, None, "no category, no name");
    e.shutdown().await;
}

#[tokio::test]
async fn not_signed_in_is_a_result_and_the_save_stands() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    let report = e.set_stream_info(input("Offline title", None)).await.unwrap();
    for r in [&report.results.twitch, &report.results.youtube] {
        assert!(!r.ok);
        assert_eq!(r.error.as_ref().unwrap().kind, PushErrorKind::NotSignedIn, "{report:?}");
    }
    assert!(report.results.twitch.error.as_ref().unwrap().message.contains("Twitch"));
    assert_eq!(fake.total_requests(), 0, "nothing sent");
    assert_eq!(e.stream_info().info.unwrap().title, "Offline title");

    // The category search needs a sign-in.
    let err = e.search_categories("fort").await.unwrap_err();
    assert!(matches!(err, EngineError::NotSignedIn { .. }), "{err:?}");
    assert!(err.to_string().contains("sign in to Twitch"), "{err}");
    e.shutdown().await;
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_and_the_push_tried_once_more() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    signed_in(&fake, &e).await;
    // Twitch stops taking the token before the app thinks it ends.
    fake.expire_access_tokens();
    let refreshes = fake.request_count(Route::TokenRefresh);
    let report = e.set_stream_info(input("After a refresh", None)).await.unwrap();
    assert!(report.results.twitch.ok, "{report:?}");
    assert_eq!(fake.request_count(Route::TokenRefresh), refreshes + 1);
    assert_eq!(fake.request_count(Route::Channels), 2, "401, then the retry");
    assert_eq!(fake.channel_info().title, "After a refresh");

    // A 401 that stays: one refresh, one retry, then Twitch's words; no storm.
    let msg = "Missing scope: channel:manage:broadcast";
    fake.inject_for(Route::Channels, Fault::Error { status: 401, message: msg.into() }, 5);
    let refreshes = fake.request_count(Route::TokenRefresh);
    let report = e.set_stream_info(input("Never arrives", None)).await.unwrap();
    let err = report.results.twitch.error.expect("refused");
    assert_eq!(err.kind, PushErrorKind::Unauthorized);
    assert!(err.message.contains(msg) && err.message.contains("sign in to Twitch again"), "{}", err.message);
    assert_eq!(fake.request_count(Route::TokenRefresh), refreshes + 1);
    assert_eq!(fake.request_count(Route::Channels), 4);
    assert_eq!(fake.channel_info().title, "After a refresh");
    assert_eq!(e.stream_info().info.unwrap().title, "Never arrives", "the save stands");
    fake.clear_faults();

    // Access revoked on twitch.tv: the 401's refresh is refused too → not signed in, in words.
    fake.revoke_authorization();
    let report = e.set_stream_info(input("After revocation", None)).await.unwrap();
    let err = report.results.twitch.error.expect("signed out");
    assert_eq!(err.kind, PushErrorKind::NotSignedIn);
    assert!(err.message.contains("no longer accepts"), "{}", err.message);
    assert_eq!(e.accounts_status().twitch.state, AccountState::SignedOut);
    e.shutdown().await;
}

#[tokio::test]
async fn twitch_refusals_and_failures_are_reported_in_words_and_the_save_stands() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    signed_in(&fake, &e).await;
    e.set_stream_info(input("Before", Some("509658"))).await.unwrap();

    // 400 with Twitch's message (the fake knows no such category).
    let report = e.set_stream_info(input("Unknown game", Some("999999"))).await.unwrap();
    let err = report.results.twitch.error.clone().expect("refused");
    assert_eq!(err.kind, PushErrorKind::Refused);
    assert!(
        err.message.contains("HTTP 400") && err.message.contains("The ID in game_id is not valid."),
        "{}",
        err.message
    );
    assert_eq!(fake.channel_info().title, "Before");
    let saved = e.stream_info();
    assert_eq!(saved.info.unwrap().title, "Unknown game");
    assert_eq!(saved.last_push, Some(report));

    // 5xx.
    fake.inject_for(Route::Channels, Fault::Status(503), 1);
    let report = e.set_stream_info(input("Server trouble", None)).await.unwrap();
    let err = report.results.twitch.error.expect("failed");
    assert_eq!(err.kind, PushErrorKind::Server);
    assert!(err.message.contains("503"), "{}", err.message);

    // No answer: the client's 10 s request timeout.
    fake.inject_for(Route::Channels, Fault::Delay(Duration::from_secs(12)), 1);
    let report = e.set_stream_info(input("Slow Twitch", None)).await.unwrap();
    let err = report.results.twitch.error.expect("timed out");
    assert_eq!(err.kind, PushErrorKind::Timeout);
    assert!(err.message.contains("did not answer within 10 s"), "{}", err.message);
    assert_eq!(e.stream_info().info.unwrap().title, "Slow Twitch");
    // The late request changes the fake after all; the next push puts the saved title back.
    e.shutdown().await;
}

#[tokio::test]
async fn two_quick_saves_leave_twitch_with_the_second() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    signed_in(&fake, &e).await;
    // The first PATCH is slow to land; the second save comes while it is out.
    fake.inject_for(Route::Channels, Fault::Delay(Duration::from_secs(2)), 1);
    let (first, second) = tokio::join!(e.set_stream_info(input("First", None)), async {
        wait_until("the first PATCH is out", LONG, || fake.request_count(Route::Channels) == 1).await;
        e.set_stream_info(input("Second", None)).await
    });
    assert!(first.unwrap().results.twitch.ok);
    assert!(second.unwrap().results.twitch.ok);
    assert_eq!(fake.channel_info().title, "Second", "the platform ends with the last save");
    assert_eq!(e.stream_info().info.unwrap().title, "Second");
    assert!(!e.stream_info().pushing);
    e.shutdown().await;
}

#[tokio::test]
async fn every_stream_start_pushes_the_saved_info_in_the_background() {
    let cf = support::fake().await;
    let fake = start_fake().await;
    let cfg = support::with_twitch(
        support::cloud_config("user-1", &cf, &[("twitch-main", PlatformKind::Twitch)]),
        &fake,
    );
    let secrets = support::secrets_for(&cfg, Some(&cf));
    let e = support::engine(cfg, secrets);
    // Nothing saved: a start pushes nothing.
    e.start_stream().await.unwrap();
    e.stop_stream().await.unwrap();
    signed_in(&fake, &e).await;
    assert_eq!(fake.request_count(Route::Channels), 0);

    e.set_stream_info(input("Saved while offline", None)).await.unwrap();
    assert_eq!(fake.request_count(Route::Channels), 1);
    e.start_stream().await.unwrap();
    wait_until("the start pushed", LONG, || {
        e.stream_info().last_push.is_some_and(|p| p.trigger == PushTrigger::Start)
    })
    .await;
    assert_eq!(fake.request_count(Route::Channels), 2);
    let last = e.stream_info().last_push.unwrap();
    assert!(last.results.twitch.ok, "{last:?}");
    assert_eq!(last.results.youtube.error.clone().unwrap().kind, PushErrorKind::NotSignedIn);
    assert_eq!(fake.channel_info().title, "Saved while offline");
    e.stop_stream().await.unwrap();

    // A start does not wait for a slow Twitch: it returns while the push is still out.
    fake.inject_for(Route::Channels, Fault::Delay(Duration::from_secs(8)), 1);
    e.start_stream().await.unwrap();
    assert_eq!(e.stream_info().last_push, Some(last.clone()), "the start returned before the push ended");
    wait_until("the second start pushed", LONG, || {
        e.stream_info().last_push.is_some_and(|p| p.at > last.at && p.trigger == PushTrigger::Start)
    })
    .await;
    assert_eq!(fake.request_count(Route::Channels), 3, "one push per start");
    e.stop_stream().await.unwrap();
    e.shutdown().await;
    cf.shutdown().await;
}

#[tokio::test]
async fn the_control_api_checks_input_and_answers_the_contract() {
    let fake = start_fake().await;
    let e = engine(&fake, Arc::new(MemorySecrets::new()));
    let api = Control::start(&e).await;
    let post = |body: Value| {
        let (http, url, token) = (api.http(), format!("{}/api/v1/stream/info", api.base), api.token.clone());
        async move {
            let res = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };

    let (code, v) = api.get("/api/v1/stream/info").await;
    assert_eq!(code, 200);
    assert_eq!(v, json!({"info": null, "saved_at": null, "pushing": false, "last_push": null}));

    for (body, field) in [
        (json!({"title": "  "}), "title"),
        (json!({}), "title"),
        (json!({"title": "x".repeat(141)}), "title"),
        (json!({"title": "ok", "twitch_category_id": "fortnite"}), "twitch_category_id"),
        (json!({"title": "ok", "youtube_description": "x".repeat(5001)}), "youtube_description"),
    ] {
        let (code, v) = post(body.clone()).await;
        assert_eq!(code, 400, "{body}: {v}");
        assert_eq!(v["error"]["kind"], "invalid_input", "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().starts_with(&format!("{field}: ")), "{v}");
    }
    let (code, v) = post(json!({"title": "ok", "colour": "red"})).await;
    assert_eq!((code, v["error"]["kind"].as_str()), (400, Some("bad_request")), "{v}");
    assert_eq!(e.stream_info().info, None, "nothing refused was saved");

    signed_in(&fake, &e).await;
    let (code, v) = post(json!({"title": "From the API", "twitch_category_id": "27471"})).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["results"]["twitch"], json!({"ok": true}));
    assert_eq!(v["results"]["youtube"]["ok"], false);
    assert_eq!(v["results"]["youtube"]["error"]["kind"], "not_signed_in");
    assert_eq!(v["trigger"], "save");
    assert_eq!(fake.channel_info().game_name, "Minecraft");

    let (_, v) = api.get("/api/v1/stream/info").await;
    assert_eq!(v["info"]["title"], "From the API");
    assert_eq!(v["info"]["twitch_category_id"], "27471");
    assert_eq!(v["last_push"]["results"]["twitch"]["ok"], true);
    assert!(v["saved_at"].is_string() && v["last_push"]["at"].is_string(), "{v}");
    let (_, status) = api.get("/api/v1/status").await;
    assert_eq!(status["stream_info"]["info"]["title"], "From the API");

    let (code, v) = api.get("/api/v1/stream/categories?q=craft").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["categories"][0]["id"], "27471");
    assert_eq!(v["categories"][0]["name"], "Minecraft");
    let (code, v) = api.get("/api/v1/stream/categories?q=%20").await;
    assert_eq!((code, v["error"]["field"].as_str()), (400, Some("q")), "{v}");
    fake.inject_for(Route::SearchCategories, Fault::Status(500), 1);
    let (code, v) = api.get("/api/v1/stream/categories?q=fort").await;
    assert_eq!((code, v["error"]["kind"].as_str()), (502, Some("platform")), "{v}");
    api.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn a_restart_keeps_the_saved_info_and_the_last_results() {
    let fake = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let secrets = Arc::new(MemorySecrets::new());
    let start = || {
        Engine::start(EngineOptions {
            config: support::with_twitch(support::config("user-1"), &fake),
            secrets: secrets.clone(),
            state_file: Some(StateFile::open(&path)),
            db: Some(streampai::Db::open_in_memory().unwrap()),
        })
    };
    let e = start();
    signed_in(&fake, &e).await;
    let input = StreamInfoInput {
        twitch_category_name: Some("Music".into()),
        ..input("Kept across restarts ✓", Some("26936"))
    };
    let report = e.set_stream_info(input).await.unwrap();
    // A push that fails afterwards does not touch the saved text.
    fake.inject_for(Route::Channels, Fault::Status(500), 1);
    assert!(!e.push_stream_info().await.unwrap().results.twitch.ok);
    let view = e.stream_info();
    e.shutdown().await;
    drop(e);

    let e = start();
    let again = e.stream_info();
    assert_eq!(again.info, view.info);
    assert_eq!(again.info.as_ref().unwrap().title, "Kept across restarts ✓");
    assert_eq!(again.info.as_ref().unwrap().twitch_category_name.as_deref(), Some("Music"));
    assert_eq!(again.saved_at, view.saved_at);
    assert_eq!(again.last_push, view.last_push);
    assert_ne!(again.last_push, Some(report));
    e.shutdown().await;
}

/// The latest push's YouTube result kind (`None`: updated).
fn youtube_kind(e: &Engine) -> Option<PushErrorKind> {
    e.stream_info().last_push.and_then(|p| p.results.youtube.error).map(|x| x.kind)
}

#[tokio::test]
async fn the_start_push_reaches_the_youtube_broadcast_once_it_is_live_and_only_once() {
    let cf = support::fake().await;
    let yt = FakeYouTube::start(YouTubeOptions { polling_interval_millis: 200, ..Default::default() }).await;
    let mut cfg = support::with_youtube(
        support::cloud_config("user-1", &cf, &[("youtube-main", PlatformKind::Youtube)]),
        &yt,
    );
    cfg.youtube.broadcast_poll_ms = 1000;
    let secrets = support::secrets_for(&cfg, Some(&cf));
    let e = support::engine(cfg, secrets);
    e.join("window-1", SessionKind::Window, None);
    let url = support::youtube_authorize_url(&e).await;
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    wait_until("YouTube signed in", LONG, || e.accounts_status().youtube.state == AccountState::SignedIn)
        .await;
    let events = || e.accounts_status().youtube.events.state;
    wait_until("looking for a live broadcast", LONG, || events() == EventsState::Connecting).await;

    // Saved while nothing is live; the stream starts before YouTube shows it live.
    let saved = StreamInfoInput {
        title: Some("Going live everywhere".into()),
        youtube_description: Some("Come hang out".into()),
        ..Default::default()
    };
    let report = e.set_stream_info(saved).await.unwrap();
    assert_eq!(youtube_kind(&e), Some(PushErrorKind::NoBroadcast), "{report:?}");
    e.start_stream().await.unwrap();
    wait_until("the start pushed", LONG, || {
        e.stream_info().last_push.is_some_and(|p| p.trigger == PushTrigger::Start)
    })
    .await;
    let at_start = e.stream_info().last_push.unwrap();
    let err = at_start.results.youtube.error.clone().expect("nothing live at Start");
    assert_eq!(err.kind, PushErrorKind::NoBroadcast);
    assert!(err.message.contains("once YouTube shows it live"), "{}", err.message);
    assert_eq!(yt.request_count(YtRoute::UpdateBroadcast), 0);

    // YouTube shows the stream live: the next look finds it and the saved info goes to it.
    let live = yt.start_broadcast("Fake stream", true);
    wait_until("the title on the live broadcast", LONG, || youtube_kind(&e).is_none()).await;
    let b = yt.broadcasts().into_iter().find(|b| b.id == live.id).unwrap();
    assert_eq!((b.title.as_str(), b.description.as_str()), ("Going live everywhere", "Come hang out"));
    assert_eq!(b.scheduled_start_time, live.scheduled_start_time, "what YouTube requires is kept");
    let view = e.stream_info();
    let after = view.last_push.clone().unwrap();
    assert!(after.results.youtube.ok, "{after:?}");
    assert_eq!(after.trigger, PushTrigger::Start, "the Start push, completed");
    assert_eq!(after.results.twitch, at_start.results.twitch, "Twitch's result stands");
    assert!(after.at >= at_start.at);
    assert!(!view.pushing);
    assert_eq!(e.status().await.stream_info.last_push, Some(after.clone()), "what the UI reads");
    assert_eq!(yt.request_count(YtRoute::UpdateBroadcast), 1);

    // The next polls read the chat: no lookup, no second update.
    wait_until("reading the chat", LONG, || events() == EventsState::Connected).await;
    let lists = yt.request_count(YtRoute::ListBroadcasts);
    let polls = yt.request_count(YtRoute::ChatMessages);
    wait_until("three more chat polls", LONG, || yt.request_count(YtRoute::ChatMessages) >= polls + 3).await;
    assert_eq!(yt.request_count(YtRoute::ListBroadcasts), lists);
    assert_eq!(yt.request_count(YtRoute::UpdateBroadcast), 1);

    // The reader loses the chat and finds the same broadcast again: not sent again.
    let gone = YtFault::Error { status: 404, reason: "liveChatNotFound".into(), message: "gone".into() };
    yt.inject_for(YtRoute::ChatMessages, gone, 1);
    wait_until("looked again", LONG, || yt.request_count(YtRoute::ListBroadcasts) > lists).await;
    let polls = yt.request_count(YtRoute::ChatMessages);
    wait_until("reading again", LONG, || yt.request_count(YtRoute::ChatMessages) >= polls + 3).await;
    assert_eq!(yt.request_count(YtRoute::UpdateBroadcast), 1, "once per broadcast");
    assert_eq!(e.stream_info().last_push, Some(after));

    // The stream stops; a broadcast that goes live afterwards is left alone.
    e.stop_stream().await.unwrap();
    yt.end_broadcasts();
    wait_until("the reader saw the chat end", LONG, || events() == EventsState::Connecting).await;
    let r = e.set_stream_info(StreamInfoInput { title: Some("Offline".into()), ..Default::default() }).await;
    assert_eq!(r.unwrap().results.youtube.error.map(|x| x.kind), Some(PushErrorKind::NoBroadcast));
    let other = yt.start_broadcast("Someone else's test", true);
    wait_until("reading the new chat", LONG, || events() == EventsState::Connected).await;
    let polls = yt.request_count(YtRoute::ChatMessages);
    wait_until("more chat polls", LONG, || yt.request_count(YtRoute::ChatMessages) >= polls + 3).await;
    assert_eq!(yt.request_count(YtRoute::UpdateBroadcast), 1, "no stream running: nothing sent");
    let b = yt.broadcasts().into_iter().find(|b| b.id == other.id).unwrap();
    assert_eq!(b.title, "Someone else's test");
    assert_eq!(youtube_kind(&e), Some(PushErrorKind::NoBroadcast));
    e.shutdown().await;
    cf.shutdown().await;
}
