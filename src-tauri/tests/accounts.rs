//! Settings › Accounts on the mock runtime, with the engine for real against the in-process fake
//! Twitch: the client id checked by the engine's rule (a field error, nothing stored on a
//! refusal), sign-in refused without one (naming the field), "Sign in with Twitch" answering the
//! device code and opening Twitch's page (a recorder program instead of a browser), "open the
//! page again" only while a sign-in waits, the code entered → signed in, sign-out. The tokens
//! stay in the secret store: never in the settings store, never in an answer to the UI.
//! YouTube against the in-process fake YouTube: the Google OAuth client's id and secret checked
//! by the engine's rules (field errors), saved and applied at once (not set up → signed out),
//! the secret never sent back to the window; the consent page opened, the loopback redirect
//! completed → signed in as the fake channel.
//! Unix only: the recorder standing in for the browser is a shell script.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_platforms::twitch::Route;
use fake_platforms::{FakeTwitch, FakeYouTube, TwitchOptions, YouTubeOptions};
use streampai::accounts::{AccountErrorKind, AccountPlatform, AccountState};
use streampai::config::IngestBackend;
use streampai::secrets::{MemorySecrets, SecretName, SecretStore, SharedSecrets};
use streampai::Config;
use streampai_desktop::boot::Boot;
use streampai_desktop::commands::accounts as cmd;
use streampai_desktop::error::UiError;
use streampai_desktop::settings::MemoryPersist;
use streampai_desktop::setup;
use streampai_desktop::shell::{QuitPolicy, Shell};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, Manager};

const CLIENT_ID: &str = "shelltestclientid000000000001";

fn block<F: std::future::Future>(f: F) -> F::Output {
    tauri::async_runtime::block_on(f)
}

fn wait_until<T: std::fmt::Debug>(what: &str, mut cond: impl FnMut() -> bool, show: impl Fn() -> T) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}; seen: {:?}", show());
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Rig {
    app: App<MockRuntime>,
    fake: FakeTwitch,
    youtube: FakeYouTube,
    secrets: Arc<MemorySecrets>,
    opened: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn shell(&self) -> tauri::State<'_, Shell> {
        self.app.state::<Shell>()
    }
    fn twitch(&self) -> streampai::accounts::AccountStatus {
        self.shell().engine.accounts_status().twitch
    }
    fn youtube(&self) -> streampai::accounts::AccountStatus {
        self.shell().engine.accounts_status().youtube
    }
    fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(&self.opened).unwrap_or_default().lines().map(str::to_string).collect()
    }
}

/// A program that writes down each address it is asked to open (instead of a browser).
fn recorder(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join("opened.txt");
    let script = dir.join("browser.sh");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

fn rig() -> Rig {
    let fake = block(FakeTwitch::start(TwitchOptions {
        client_ids: vec![CLIENT_ID.into()],
        device_interval_secs: 1,
        ..TwitchOptions::default()
    }));
    let youtube = block(FakeYouTube::start(YouTubeOptions::default()));
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_user("desk");
    config.control.listen = "127.0.0.1:0".into();
    config.ingest = Some(IngestBackend::Local);
    config.local.listen = "127.0.0.1:0".into();
    config.storage.dir = Some(dir.path().to_path_buf());
    config.obs.enabled = false;
    config.twitch.auth_url = fake.auth_url();
    config.twitch.api_url = fake.api_url();
    config.twitch.eventsub_url = fake.eventsub_url();
    config.youtube.auth_url = youtube.auth_url();
    config.youtube.token_url = youtube.token_url();
    config.youtube.api_url = youtube.api_url();
    let secrets = Arc::new(MemorySecrets::new());
    let shared: SharedSecrets = secrets.clone();
    let boot = Boot { data_dir: dir.path().to_path_buf(), seed: None };
    let mut shell =
        setup::start_shell(config, shared, boot, Box::<MemoryPersist>::default(), QuitPolicy::test(true));
    let (script, opened) = recorder(dir.path());
    shell.browser = Some(script.into());
    let app = mock_builder().build(mock_context(noop_assets())).expect("mock app");
    tauri_specta::Builder::<MockRuntime>::new()
        .events(tauri_specta::collect_events![streampai_desktop::bridge::EngineEvent])
        .mount_events(app.handle());
    setup::install(app.handle(), shell, false);
    Rig { app, fake, youtube, secrets, opened, _dir: dir }
}

fn field<T: std::fmt::Debug>(r: Result<T, UiError>) -> String {
    match r {
        Err(UiError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// Signed out because the platform's client is not set up.
fn not_configured(s: &streampai::accounts::AccountStatus) -> bool {
    s.state == AccountState::SignedOut
        && s.error.as_ref().map(|e| e.kind) == Some(AccountErrorKind::NotConfigured)
}

#[test]
fn sign_in_with_twitch_from_settings_accounts() {
    let rig = rig();
    let twitch = AccountPlatform::Twitch;

    // No client id yet: the view says so, sign-in names the field to fill in.
    // (The account publishes its first status once its actor runs.)
    wait_until("not configured", || not_configured(&rig.twitch()), || rig.twitch());
    let view = block(cmd::get_accounts(rig.shell())).unwrap();
    assert_eq!(view.twitch_client_id, "");
    assert!(not_configured(&view.status.twitch), "{:?}", view.status.twitch);
    assert_eq!(field(block(cmd::account_sign_in(rig.shell(), twitch))), "twitch_client_id");
    assert!(rig.opened().is_empty(), "nothing opened");

    // A client id the engine's rule refuses: a field error, nothing changed or stored.
    assert_eq!(field(block(cmd::save_twitch_client_id(rig.shell(), "my app/id".into()))), "twitch_client_id");
    assert_eq!(rig.shell().engine.config().twitch.client_id, None);
    assert!(rig.shell().stored().config.is_none());

    let view = block(cmd::save_twitch_client_id(rig.shell(), format!(" {CLIENT_ID} "))).unwrap();
    assert_eq!(view.twitch_client_id, CLIENT_ID);
    assert_eq!(rig.shell().stored().config.unwrap().twitch.client_id.as_deref(), Some(CLIENT_ID));

    // Sign in: the code to enter, Twitch's page opened (the engine's address, as given).
    let answer = block(cmd::account_sign_in(rig.shell(), twitch)).unwrap();
    assert_eq!(answer.open_error, None);
    let prompt = answer.prompt.clone().expect("a device code");
    let code = prompt.user_code.clone();
    assert!(prompt.verification_uri.contains(&code), "{answer:?}");
    assert_eq!(answer.page, prompt.verification_uri);
    wait_until("the page opened", || rig.opened() == vec![prompt.verification_uri.clone()], || rig.opened());
    let pending = rig.twitch();
    assert_eq!((pending.state, pending.user_code.as_deref()), (AccountState::Pending, Some(code.as_str())));
    // Asked again while waiting: the same code; the page opens again on request.
    assert_eq!(
        block(cmd::account_sign_in(rig.shell(), twitch)).unwrap().prompt.map(|p| p.user_code),
        Some(code.clone())
    );
    block(cmd::open_sign_in_page(rig.shell(), twitch)).unwrap();
    wait_until("opened three times", || rig.opened().len() == 3, || rig.opened());
    assert!(rig.opened().iter().all(|u| *u == prompt.verification_uri));

    // The code is entered on Twitch's page (the fake): signed in.
    rig.fake.approve(&code).unwrap();
    wait_until("signed in", || rig.twitch().state == AccountState::SignedIn, || rig.twitch());
    let view = block(cmd::get_accounts(rig.shell())).unwrap();
    assert_eq!(view.status.twitch.login.as_deref(), Some("streampai_tester"));
    assert_eq!(view.status.twitch.user_code, None);
    // The tokens live in the secret store only.
    let tokens = rig.secrets.get(&SecretName::TwitchTokens).unwrap().expect("the sign-in is stored");
    let stored = format!("{:?}", rig.shell().stored());
    let answered = serde_json::to_string(&view).unwrap();
    let tokens: serde_json::Value = serde_json::from_str(tokens.expose()).unwrap();
    for key in ["access_token", "refresh_token"] {
        let token = tokens[key].as_str().filter(|t| !t.is_empty()).expect(key);
        assert!(!stored.contains(token) && !answered.contains(token), "the {key} left the secret store");
    }
    assert_eq!(
        field(block(cmd::open_sign_in_page(rig.shell(), twitch))),
        "sign_in",
        "no page to open once signed in"
    );

    // Sign out: revoked at Twitch, deleted here.
    let view = block(cmd::account_sign_out(rig.shell(), twitch)).unwrap();
    assert_eq!((view.status.twitch.state, view.status.twitch.login), (AccountState::SignedOut, None));
    assert!(rig.secrets.get(&SecretName::TwitchTokens).unwrap().is_none());
    assert!(rig.fake.requests().get(&Route::Revoke).is_some_and(|n| *n >= 1), "revoked at Twitch");
}

#[test]
fn the_youtube_client_form_sets_up_youtube_sign_in() {
    let rig = rig();
    let (id, secret) = (rig.youtube.client_id(), rig.youtube.client_secret());
    let youtube = AccountPlatform::Youtube;
    wait_until("YouTube not set up", || not_configured(&rig.youtube()), || rig.youtube());
    let view = block(cmd::get_accounts(rig.shell())).unwrap();
    assert_eq!((view.youtube_client_id.as_str(), view.youtube_client_secret_set), ("", false));
    assert_eq!(field(block(cmd::account_sign_in(rig.shell(), youtube))), "youtube_client_id");

    // Refused by the engine's rules, each naming its field: nothing applied or stored.
    let save =
        |id: &str, secret: &str| block(cmd::save_youtube_client(rig.shell(), id.into(), secret.into()));
    assert_eq!(field(save("my client id", &secret)), "youtube_client_id");
    assert_eq!(field(save(&id, "")), "youtube_client_secret");
    assert_eq!(field(save(&id, "GOCSPX with spaces")), "youtube_client_secret");
    assert_eq!(rig.shell().engine.config().youtube.client_id, None);
    assert!(rig.shell().stored().config.is_none());

    // Saved: in force and in the settings store; the window gets the id back, not the secret.
    let view = save(&format!(" {id} "), &format!("{secret} ")).unwrap();
    assert_eq!((view.youtube_client_id.as_str(), view.youtube_client_secret_set), (id.as_str(), true));
    assert!(!serde_json::to_string(&view).unwrap().contains(&secret), "the secret went back to the window");
    let in_force = rig.shell().engine.config().youtube.clone();
    assert_eq!((in_force.client_id(), in_force.client_secret()), (Some(id.as_str()), Some(secret.as_str())));
    let stored = rig.shell().stored().config.unwrap().youtube;
    assert_eq!((stored.client_id(), stored.client_secret()), (Some(id.as_str()), Some(secret.as_str())));
    // The card goes from "not set up" to "not signed in" at once: it reads the saved client from
    // the view (the engine's own status keeps its `not_configured` until the next attempt).
    assert_eq!(view.status.youtube.state, AccountState::SignedOut);
    // Saving the id alone keeps the saved secret.
    save(&id, "").unwrap();
    assert_eq!(rig.shell().engine.config().youtube.client_secret(), Some(secret.as_str()));

    // Sign in: Google's consent page opened; the fake approves at once and redirects to the
    // engine's loopback listener (here: followed by this test, as the browser would).
    let answer = block(cmd::account_sign_in(rig.shell(), youtube)).unwrap();
    assert_eq!((answer.prompt.as_ref(), answer.open_error.as_ref()), (None, None));
    assert!(answer.page.starts_with(&rig.youtube.auth_url()), "{answer:?}");
    wait_until("the page opened", || rig.opened() == vec![answer.page.clone()], || rig.opened());
    assert_eq!(rig.youtube().state, AccountState::Pending);
    let done = block(reqwest::get(&answer.page)).unwrap();
    assert!(done.status().is_success(), "{:?}", done.status());
    wait_until("signed in", || rig.youtube().state == AccountState::SignedIn, || rig.youtube());
    assert_eq!(rig.youtube().login.as_deref(), Some("Streampai Tester"));
    assert!(rig.secrets.get(&SecretName::YoutubeTokens).unwrap().is_some());

    // Both empty: the client is removed (and with it YouTube sign-in).
    block(cmd::account_sign_out(rig.shell(), youtube)).unwrap();
    let view = save(" ", "").unwrap();
    assert_eq!((view.youtube_client_id.as_str(), view.youtube_client_secret_set), ("", false));
    assert_eq!(rig.shell().stored().config.unwrap().youtube.client_secret, None);
    assert_eq!(field(block(cmd::account_sign_in(rig.shell(), youtube))), "youtube_client_id");
    wait_until("not set up again", || not_configured(&rig.youtube()), || rig.youtube());
}

/// The dashboard's Stream info card's commands: field errors name the field, the category search
/// needs a Twitch sign-in, and Save pushes the title and the picked category to Twitch (the fake's
/// channel has them) and answers each platform's result.
#[test]
fn stream_info_commands_save_and_push_to_twitch() {
    use streampai::stream_info::{PushErrorKind, StreamInfoInput};
    use streampai::EngineError;
    use streampai_desktop::commands::stream_info as info;
    let rig = rig();
    let input = |title: &str, category: Option<(&str, &str)>| StreamInfoInput {
        title: Some(title.into()),
        twitch_category_id: category.map(|c| c.0.into()),
        twitch_category_name: category.map(|c| c.1.into()),
        youtube_description: None,
    };

    assert_eq!(block(info::get_stream_info(rig.shell())).unwrap().info, None);
    assert_eq!(field(block(info::save_stream_info(rig.shell(), input("  ", None)))), "title");
    assert_eq!(
        field(block(info::save_stream_info(rig.shell(), input("ok", Some(("abc", "x")))))),
        "twitch_category_id"
    );
    assert_eq!(field(block(info::search_twitch_categories(rig.shell(), " ".into()))), "q");
    match block(info::search_twitch_categories(rig.shell(), "mine".into())) {
        Err(UiError::Engine { error: EngineError::NotSignedIn { .. } }) => {}
        other => panic!("expected not_signed_in, got {other:?}"),
    }
    // Saved even with no platform signed in; each platform says so.
    let report = block(info::save_stream_info(rig.shell(), input("First title", None))).unwrap();
    assert_eq!(report.results.twitch.error.map(|e| e.kind), Some(PushErrorKind::NotSignedIn));
    assert_eq!(block(info::get_stream_info(rig.shell())).unwrap().info.unwrap().title, "First title");

    // Signed in to Twitch: search, pick, save → Twitch's channel has both.
    block(cmd::save_twitch_client_id(rig.shell(), CLIENT_ID.into())).unwrap();
    let code =
        block(cmd::account_sign_in(rig.shell(), AccountPlatform::Twitch)).unwrap().prompt.unwrap().user_code;
    rig.fake.approve(&code).unwrap();
    wait_until("signed in", || rig.twitch().state == AccountState::SignedIn, || rig.twitch());
    let found = block(info::search_twitch_categories(rig.shell(), "mine".into())).unwrap();
    assert_eq!(
        found.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect::<Vec<_>>(),
        [("27471", "Minecraft")]
    );
    let report =
        block(info::save_stream_info(rig.shell(), input("Building a castle", Some(("27471", "Minecraft")))))
            .unwrap();
    assert!(report.results.twitch.ok, "{report:?}");
    let channel = rig.fake.state().channel_info();
    assert_eq!((channel.title.as_str(), channel.game_id.as_str()), ("Building a castle", "27471"));
    let view = block(info::get_stream_info(rig.shell())).unwrap();
    assert_eq!(view.last_push, Some(report));
    assert_eq!(view.info.unwrap().twitch_category_name.as_deref(), Some("Minecraft"));
}
