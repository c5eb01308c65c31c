//! Shell tests on Tauri's mock runtime (no display): tray actions, windows as presence sessions,
//! settings and platform commands, the Cloudflare connection test, quit while live.
//! The engine runs for real against the in-process fake Cloudflare.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_cloudflare::{FakeCloudflare, FakeOptions};
use streampai::config::PlatformConfig;
use streampai::secrets::{MemorySecrets, SecretName, SecretStore, SharedSecrets};
use streampai::Config;
use streampai::ConnectionProblem;
use streampai::PlatformKind;
use streampai::{InputStatus, PlatformStatus, StreamPhase};
use streampai_desktop::boot::Boot;
use streampai_desktop::commands::{settings as cmd, stream as stream_cmd};
use streampai_desktop::error::UiError;
use streampai_desktop::platform_edit::PlatformInput;
use streampai_desktop::settings::MemoryPersist;
use streampai_desktop::shell::{QuitPolicy, Shell};
use streampai_desktop::tray::actions::{self, platform_id};
use streampai_desktop::tray::model::TrayIconState;
use streampai_desktop::{setup, tray, windows};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, Manager, WindowEvent};

const CONTROL_TOKEN: &str = "test-control-token";

struct Rig {
    app: App<MockRuntime>,
    fake: FakeCloudflare,
    secrets: Arc<MemorySecrets>,
    _dir: tempfile::TempDir,
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tauri::async_runtime::block_on(f)
}

/// Waits (real time) until `cond` holds; panics with `what` after 10 s.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rig(quit: QuitPolicy) -> Rig {
    rig_with(quit, |_| {})
}

/// A rig whose config `tweak` changes first (e.g. the `[alerts]` rules).
fn rig_with(quit: QuitPolicy, tweak: impl FnOnce(&mut Config)) -> Rig {
    let fake = block(FakeCloudflare::start(FakeOptions::default()));
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_user("desk");
    config.control.listen = "127.0.0.1:0".into();
    config.cloudflare.account_id = Some(fake.account_id().into());
    config.cloudflare.api_base = fake.base_url();
    config.cloudflare.poll_interval_ms = 200;
    config.presence.cleanup_timeout_ms = 300;
    config.stream.retry_initial_ms = 50;
    config.storage.dir = Some(dir.path().to_path_buf());
    // Never drive an OBS that happens to run on this machine.
    config.obs.enabled = false;
    for (name, kind) in [("tw", PlatformKind::Twitch), ("yt", PlatformKind::Youtube)] {
        config.platforms.push(PlatformConfig { name: name.into(), kind, url: None, enabled: true });
    }
    tweak(&mut config);
    let secrets = Arc::new(
        MemorySecrets::new()
            .with(SecretName::CloudflareApiToken, fake.token())
            .with(SecretName::ControlToken, CONTROL_TOKEN)
            .with(SecretName::StreamKey("tw".into()), "tw-key-123")
            .with(SecretName::StreamKey("yt".into()), "yt-key-456"),
    );
    let shared: SharedSecrets = secrets.clone();
    let boot = Boot { data_dir: dir.path().to_path_buf(), seed: None };
    let shell = setup::start_shell(config, shared, boot, Box::<MemoryPersist>::default(), quit);
    let app = mock_builder().build(mock_context(noop_assets())).expect("mock app");
    // The event bridge emits typed events (as in the app), so the mock app knows them too.
    tauri_specta::Builder::<MockRuntime>::new()
        .events(tauri_specta::collect_events![streampai_desktop::bridge::EngineEvent])
        .mount_events(app.handle());
    setup::install(app.handle(), shell, false);
    Rig { app, fake, secrets, _dir: dir }
}

impl Rig {
    fn shell(&self) -> tauri::State<'_, Shell> {
        self.app.state::<Shell>()
    }
    fn run(&self, id: &str) {
        if let Some(task) = actions::handle(self.app.handle(), id) {
            block(task).expect("action task");
        }
    }
    fn status(&self) -> streampai::Status {
        block(self.shell().engine.status())
    }
    fn outputs(&self) -> usize {
        self.fake.live_inputs().iter().map(|i| self.fake.outputs(&i.uid).len()).sum()
    }
    fn presence_ids(&self) -> Vec<String> {
        self.status().presence.into_iter().map(|s| s.id).collect()
    }
}

#[test]
fn tray_start_toggle_stop_and_the_tray_follows() {
    let rig = rig(QuitPolicy::test(true));
    rig.run(actions::START);
    wait_until("both platforms live", || {
        let s = rig.status();
        s.stream.state == StreamPhase::Live
            && s.stream.platforms.values().all(|p| p.status == PlatformStatus::Live)
    });
    assert_eq!(rig.outputs(), 2, "one Cloudflare output per platform");
    let m = tray::model::model(&rig.status(), chrono::Utc::now());
    assert!(m.status_line.starts_with("live · 2/2 platforms · "), "{}", m.status_line);
    assert!(m.can_stop && !m.can_start);
    wait_until("first poll", || rig.status().input != InputStatus::Unknown);
    let m = tray::model::model(&rig.status(), chrono::Utc::now());
    assert_eq!(m.icon, TrayIconState::Trouble, "live while OBS sends nothing");
    let uid = rig.fake.live_inputs()[0].uid.clone();
    rig.fake.set_connected(&uid, true).unwrap();
    wait_until("OBS traffic", || rig.status().input == InputStatus::ReceivingTraffic);
    assert_eq!(tray::model::model(&rig.status(), chrono::Utc::now()).icon, TrayIconState::Live);

    // A platform checkbox while live: off deletes its output, the other stays.
    rig.run(&platform_id("yt"));
    wait_until("yt disabled", || rig.status().stream.platforms["yt"].status == PlatformStatus::Disabled);
    wait_until("one output left", || rig.outputs() == 1);
    let stored = rig.shell().stored().config.unwrap();
    assert!(!stored.platforms.iter().find(|p| p.name == "yt").unwrap().enabled, "the toggle is saved");
    rig.run(&platform_id("yt"));
    wait_until("yt back", || rig.outputs() == 2);

    rig.run(actions::STOP);
    let s = rig.status();
    assert_eq!(s.stream.state, StreamPhase::Offline);
    assert_eq!(s.stream.uuid, None);
    assert_eq!(rig.outputs(), 0, "stop deletes every output");
    rig.run("status"); // the status line is not an action
    rig.run("platform:nope"); // an unknown platform does nothing
    assert_eq!(rig.status().stream.state, StreamPhase::Offline);
}

#[test]
fn windows_are_presence_sessions_and_open_dashboard_reuses_main() {
    let rig = rig(QuitPolicy::test(true));
    let handle = rig.app.handle();
    rig.run(actions::OPEN);
    assert!(rig.app.get_webview_window(windows::MAIN).is_some());
    rig.run(actions::OPEN); // focuses, does not duplicate
    let label = windows::open_new(handle, windows::View::Alerts).unwrap();
    let mut ids = rig.presence_ids();
    ids.sort();
    assert_eq!(ids, vec![windows::session_id(windows::MAIN), windows::session_id(&label)]);
    wait_until("tree running with windows", || rig.status().manager == "running");

    let main = rig.app.get_webview_window(windows::MAIN).unwrap();
    windows::on_window_event(&main.as_ref().window(), &WindowEvent::Destroyed);
    assert_eq!(rig.presence_ids(), vec![windows::session_id(&label)]);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(rig.status().manager, "running", "another window still holds the tree");

    let other = rig.app.get_webview_window(&label).unwrap();
    windows::on_window_event(&other.as_ref().window(), &WindowEvent::Destroyed);
    assert!(rig.presence_ids().is_empty());
    wait_until("tree stopped after the grace", || rig.status().manager == "stopped");
}

#[test]
fn quit_while_live_stops_the_stream_when_confirmed_and_not_otherwise() {
    let declined = rig(QuitPolicy::test(false));
    declined.run(actions::START);
    wait_until("live", || declined.status().stream.state == StreamPhase::Live);
    declined.run(actions::QUIT);
    assert!(!declined.shell().quit.is_exiting());
    assert_eq!(declined.status().stream.state, StreamPhase::Live, "cancel keeps streaming");
    declined.run(actions::STOP);

    let confirmed = rig(QuitPolicy::test(true));
    confirmed.run(actions::START);
    wait_until("live", || confirmed.status().stream.state == StreamPhase::Live);
    confirmed.run(actions::QUIT);
    assert!(confirmed.shell().quit.is_exiting());
    assert_eq!(confirmed.status().stream.state, StreamPhase::Offline);
    assert_eq!(confirmed.outputs(), 0, "outputs deleted before exiting");

    let offline = rig(QuitPolicy::test(false));
    offline.run(actions::QUIT);
    assert!(offline.shell().quit.is_exiting(), "offline: quits without asking");
}

fn input(name: &str, kind: PlatformKind, url: Option<&str>, key: Option<&str>) -> PlatformInput {
    PlatformInput {
        original_name: None,
        name: name.into(),
        kind,
        url: url.map(Into::into),
        enabled: true,
        key: key.map(Into::into),
    }
}

#[test]
fn platform_commands_keep_keys_in_the_keyring_only() {
    let rig = rig(QuitPolicy::test(true));
    let custom =
        input("my-rtmp", PlatformKind::Custom, Some("rtmps://live.example.com:443/app"), Some("s3cret-key"));
    let view = block(cmd::save_platform(rig.shell(), custom)).unwrap();
    let p = view.platforms.iter().find(|p| p.name == "my-rtmp").unwrap();
    assert!(p.has_key && p.enabled);
    assert_eq!(
        rig.secrets.get(&SecretName::StreamKey("my-rtmp".into())).unwrap().unwrap().expose(),
        "s3cret-key"
    );
    let stored = serde_json::to_string(&rig.shell().stored().config).unwrap();
    assert!(stored.contains("my-rtmp") && !stored.contains("s3cret-key"), "{stored}");

    let empty_key = input("kick-main", PlatformKind::Kick, None, Some(" "));
    let err = block(cmd::save_platform(rig.shell(), empty_key)).unwrap_err();
    assert!(matches!(err, UiError::Invalid { ref field, .. } if field == "key"), "{err:?}");
    let dup = input("tw", PlatformKind::Twitch, None, Some("k"));
    let err = block(cmd::save_platform(rig.shell(), dup)).unwrap_err();
    assert!(matches!(err, UiError::Invalid { ref field, .. } if field == "name"), "{err:?}");
    let bad_url = input("c2", PlatformKind::Custom, Some("http://x/app"), Some("k"));
    assert!(block(cmd::save_platform(rig.shell(), bad_url)).is_err());

    let mut rename = input("my-rtmp-2", PlatformKind::Custom, Some("rtmps://live.example.com:443/app"), None);
    rename.original_name = Some("my-rtmp".into());
    block(cmd::save_platform(rig.shell(), rename)).unwrap();
    assert!(rig.secrets.get(&SecretName::StreamKey("my-rtmp".into())).unwrap().is_none());
    assert!(rig.secrets.get(&SecretName::StreamKey("my-rtmp-2".into())).unwrap().is_some());
    let view = block(cmd::remove_platform(rig.shell(), "my-rtmp-2".into())).unwrap();
    assert_eq!(view.platforms.len(), 2);
    assert!(rig.secrets.get(&SecretName::StreamKey("my-rtmp-2".into())).unwrap().is_none());
    assert_eq!(rig.shell().stored().config.unwrap().platforms.len(), 2);
}

#[test]
fn connection_test_names_the_exact_problem() {
    let rig = rig(QuitPolicy::test(true));
    let test = |account: &str, token: Option<&str>| {
        let t = cmd::ConnectionTest { account_id: account.into(), token: token.map(Into::into) };
        block(cmd::test_cloudflare(rig.shell(), t))
    };
    let problem = |r: Result<(), UiError>| match r {
        Err(UiError::Cloudflare { problem }) => problem,
        other => panic!("expected a Cloudflare problem, got {other:?}"),
    };
    let account = rig.fake.account_id().to_string();
    assert!(test(&account, None).is_ok(), "the stored token works");
    assert_eq!(problem(test(&account, Some("wrong-token"))), ConnectionProblem::BadToken);
    rig.fake.add_token_without_stream("no-stream");
    assert_eq!(problem(test(&account, Some("no-stream"))), ConnectionProblem::NoStreamPermission);
    assert_eq!(problem(test("0123456789abcdef0123456789abcdef", None)), ConnectionProblem::WrongAccount);
    assert!(matches!(test(" ", None), Err(UiError::Invalid { .. })));
}

#[test]
fn settings_token_and_ingest_commands() {
    let rig = rig(QuitPolicy::test(true));
    let general = cmd::GeneralInput {
        cloudflare_account_id: rig.fake.account_id().into(),
        cleanup_timeout_ms: 1000,
        poll_interval_ms: 500,
    };
    assert!(matches!(block(cmd::save_general(rig.shell(), general)), Err(UiError::Invalid { .. })));
    let general = cmd::GeneralInput {
        cloudflare_account_id: rig.fake.account_id().into(),
        cleanup_timeout_ms: 1000,
        poll_interval_ms: 2000,
    };
    let view = block(cmd::save_general(rig.shell(), general)).unwrap();
    assert_eq!((view.cleanup_timeout_ms, view.poll_interval_ms), (1000, 2000));
    assert_eq!(rig.shell().stored().config.unwrap().cloudflare.poll_interval_ms, 2000);
    assert!(view.has_cloudflare_token && view.first_run);

    // The ingest settings need the tree: a window holds it.
    // The tree starts in the background: until it runs, `get_ingest` answers `not_running` at once.
    rig.run(actions::OPEN);
    wait_until("ingest settings", || block(stream_cmd::get_ingest(rig.shell())).is_ok());
    let ingest = block(stream_cmd::get_ingest(rig.shell())).unwrap();
    assert!(ingest.server.starts_with("rtmps://"));
    let key = block(stream_cmd::reveal_ingest_key(rig.shell())).unwrap();
    assert!(!key.is_empty());

    // A wrong token breaks the ingest; the stored right one mends it.
    block(cmd::set_cloudflare_token(rig.shell(), "bad".into())).unwrap();
    wait_until("tree back", || rig.status().manager == "running");
    assert!(block(stream_cmd::get_ingest(rig.shell())).is_err());
    let good = rig.fake.token().to_string();
    block(cmd::set_cloudflare_token(rig.shell(), good)).unwrap();
    wait_until("ingest again", || block(stream_cmd::get_ingest(rig.shell())).is_ok());

    let view = block(cmd::finish_setup(rig.shell())).unwrap();
    assert!(!view.first_run);
}

#[test]
fn tray_alert_controls_pause_skip_and_send_a_test_alert() {
    let rig = rig(QuitPolicy::test(true));
    rig.run(actions::OPEN);
    wait_until("tree running", || rig.status().manager == "running");
    let view = || block(rig.shell().engine.alerts().view()).unwrap();
    rig.run(actions::ALERTS_TOGGLE);
    assert!(view().paused, "the first click pauses");
    rig.run(actions::ALERTS_TEST);
    wait_until("test alert queued", || view().queued.len() == 1);
    let v = view();
    assert_eq!(v.queued[0].from, "Test viewer");
    assert!(v.current.is_none(), "paused: nothing goes on screen");
    rig.run(actions::ALERTS_TOGGLE);
    assert!(!view().paused, "the second click resumes");
    wait_until("test alert on screen", || view().current.is_some());
    rig.run(actions::ALERTS_SKIP);
    let v = view();
    assert!(v.current.is_none() && v.queued.is_empty(), "skipped: {v:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn streaming_settings_switch_the_backend_only_while_offline() {
    let rig = rig(QuitPolicy::test(true));
    let listen = format!("127.0.0.1:{}", free_port());
    let local = cmd::StreamingInput {
        ingest: streampai::config::IngestBackend::Local,
        local_listen: listen.clone(),
        upload_budget_kbps: Some(8000),
        auto_start: false,
    };
    rig.run(actions::START);
    wait_until("live", || rig.status().stream.state == StreamPhase::Live);
    let err = block(cmd::save_streaming(rig.shell(), local.clone())).unwrap_err();
    assert!(matches!(err, UiError::Invalid { ref field, .. } if field == "ingest"), "{err:?}");
    let same_backend =
        cmd::StreamingInput { ingest: streampai::config::IngestBackend::Cloudflare, ..local.clone() };
    let err = block(cmd::save_streaming(rig.shell(), same_backend)).unwrap_err();
    assert!(matches!(err, UiError::Engine { .. }), "the engine refuses other changes while live: {err:?}");
    assert_eq!(rig.shell().engine.config().local.upload_budget_kbps, None, "nothing applied");

    rig.run(actions::STOP);
    let view = block(cmd::save_streaming(rig.shell(), local)).unwrap();
    assert_eq!(view.ingest_backend, streampai::config::IngestBackend::Local);
    assert_eq!((view.local_listen.as_str(), view.upload_budget_kbps), (listen.as_str(), Some(8000)));
    let stored = rig.shell().stored().config.unwrap();
    assert_eq!(stored.ingest, Some(streampai::config::IngestBackend::Local));
    assert_eq!(stored.local.upload_budget_kbps, Some(8000));
    assert_eq!(rig.status().ingest.backend, streampai::config::IngestBackend::Local);
}

#[test]
fn history_commands_list_the_stream_and_its_events() {
    use streampai_desktop::commands::history;
    let rig = rig(QuitPolicy::test(true));
    assert!(block(history::stream_history(rig.shell())).unwrap().is_empty(), "no stream yet");
    rig.run(actions::START);
    wait_until("live", || rig.status().stream.state == StreamPhase::Live);
    let uuid = rig.status().stream.uuid.unwrap();
    rig.run(actions::STOP);
    wait_until("recorded as stopped", || {
        let list = block(history::stream_history(rig.shell())).unwrap();
        list.len() == 1 && list[0].ended_by.as_deref() == Some("stopped")
    });
    let list = block(history::stream_history(rig.shell())).unwrap();
    assert_eq!(list[0].uuid, uuid);
    assert_eq!(list[0].platforms.keys().collect::<Vec<_>>(), ["tw", "yt"]);
    let detail = block(history::stream_detail(rig.shell(), uuid.to_string())).unwrap().expect("detail");
    assert_eq!(detail.stream.uuid, uuid);
    for name in ["tw", "yt"] {
        assert!(
            detail.events.iter().any(|e| e.platform.as_deref() == Some(name) && e.kind == "live"),
            "{name} went live: {:?}",
            detail.events
        );
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(block(history::stream_detail(rig.shell(), unknown)).unwrap(), None);
    let err = block(history::stream_detail(rig.shell(), "not-a-uuid".into())).unwrap_err();
    assert!(matches!(err, UiError::Invalid { ref field, .. } if field == "uuid"), "{err:?}");
}

#[test]
fn engine_shuts_down_promptly_after_the_grace_stopped_the_tree() {
    let rig = rig(QuitPolicy::test(true));
    rig.run(actions::OPEN);
    wait_until("tree running", || rig.status().manager == "running");
    rig.run(actions::ALERTS_TEST);
    let main = rig.app.get_webview_window(windows::MAIN).unwrap();
    windows::on_window_event(&main.as_ref().window(), &WindowEvent::Destroyed);
    wait_until("tree stopped after the grace", || rig.status().manager == "stopped");
    let engine = rig.shell().engine.clone();
    let done = block(async move { tokio::time::timeout(Duration::from_secs(10), engine.shutdown()).await });
    assert!(done.is_ok(), "engine shutdown hung");
}

#[test]
fn sync_settings_keep_the_token_in_the_keyring_only() {
    use streampai_desktop::commands::sync as sync_cmd;
    let rig = rig(QuitPolicy::test(true));
    let token = "spt-sync-secret-7f3a";
    let input = |enabled: bool, url: &str, name: &str| sync_cmd::SyncInput {
        enabled,
        url: url.into(),
        device_name: name.into(),
    };
    let field = |r: Result<sync_cmd::SyncSettingsView, UiError>| match r {
        Err(UiError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    };
    let view = block(sync_cmd::get_sync_settings(rig.shell())).unwrap();
    assert!(!view.enabled && !view.has_token && view.url.is_empty());

    // Refused input: nothing reaches the engine or the store.
    assert_eq!(
        field(block(sync_cmd::save_sync(rig.shell(), input(true, "http://127.0.0.1:4860", "")))),
        "sync_url"
    );
    assert_eq!(field(block(sync_cmd::save_sync(rig.shell(), input(true, "", "")))), "sync_url");
    assert_eq!(field(block(sync_cmd::set_sync_token(rig.shell(), "two words".into()))), "sync_token");
    assert_eq!(field(block(sync_cmd::set_sync_token(rig.shell(), "  ".into()))), "sync_token");
    assert!(!rig.shell().engine.config().sync.enabled());
    assert!(rig.secrets.get(&SecretName::SyncToken).unwrap().is_none());

    let view = block(sync_cmd::set_sync_token(rig.shell(), format!(" {token} "))).unwrap();
    assert!(view.has_token);
    assert_eq!(rig.secrets.get(&SecretName::SyncToken).unwrap().unwrap().expose(), token);
    let url = format!("ws://127.0.0.1:{}", free_port());
    let view = block(sync_cmd::save_sync(rig.shell(), input(true, &url, " Studio PC "))).unwrap();
    assert!(view.enabled && view.has_token);
    assert_eq!((view.url.as_str(), view.device_name.as_str()), (url.as_str(), "Studio PC"));
    let stored = rig.shell().stored();
    let sync = &stored.config.as_ref().unwrap().sync;
    assert_eq!((sync.url.as_deref(), sync.device_name.as_deref()), (Some(url.as_str()), Some("Studio PC")));
    assert!(!format!("{stored:?}").contains(token), "the token is not in the store: {stored:?}");
    assert!(!serde_json::to_string(&stored.config).unwrap().contains(token));

    // Off: the engine drops the address, the form keeps it.
    let view = block(sync_cmd::save_sync(rig.shell(), input(false, &url, "Studio PC"))).unwrap();
    assert!(!view.enabled && view.url == url);
    assert!(rig.shell().stored().config.unwrap().sync.url.is_none());
    assert_eq!(rig.shell().stored().sync_off_url.as_deref(), Some(url.as_str()));

    let view = block(sync_cmd::forget_sync_token(rig.shell())).unwrap();
    assert!(!view.has_token);
    assert!(rig.secrets.get(&SecretName::SyncToken).unwrap().is_none());
}

#[test]
fn a_platform_toggled_from_another_device_is_stored() {
    use streampai::sync::protocol::Command;
    let rig = rig(QuitPolicy::test(true));
    block(cmd::finish_setup(rig.shell())).unwrap();
    let stored_enabled = |name: &str| {
        rig.shell().stored().config.unwrap().platforms.iter().find(|p| p.name == name).unwrap().enabled
    };
    assert!(stored_enabled("yt"));
    // The exact path a command relayed by the sync server takes on the engine.
    let engine = rig.shell().engine.clone();
    let off = Command::SetPlatformEnabled { platform: "yt".into(), enabled: false };
    let result = block(streampai::sync::execute(&engine, off));
    assert!(result.ok, "{result:?}");
    wait_until("the store follows the engine", || !stored_enabled("yt"));
    assert!(stored_enabled("tw"), "only that platform changed");
    let on = Command::SetPlatformEnabled { platform: "yt".into(), enabled: true };
    assert!(block(streampai::sync::execute(&engine, on)).ok);
    wait_until("and back", || stored_enabled("yt"));
}

/// `POST /api/v1/alerts` on the shell's control API (a bare HTTP/1.1 request): the alert's state.
fn post_alert_over_control_api(rig: &Rig, body: &str) -> String {
    use std::io::{Read, Write};
    wait_until("control API listening", || rig.shell().control_info().url.is_some());
    let url = rig.shell().control_info().url.unwrap();
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        conn,
        "POST /api/v1/alerts HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {CONTROL_TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}"));
    v["state"].as_str().unwrap_or_else(|| panic!("no state in {answer}")).to_string()
}

#[test]
fn desktop_and_tray_alerts_follow_the_same_rules_as_the_control_api() {
    use streampai::alerts::AlertKind;
    use streampai_desktop::commands::alerts as alerts_cmd;
    let rig = rig_with(QuitPolicy::test(true), |c| {
        c.alerts.moderation = true;
        c.alerts.min_amounts.insert(AlertKind::Donation, 5.0);
        c.alerts.min_amounts.insert(AlertKind::Cheer, 500.0);
    });
    // No window: the tree is down, and the desk still applies its rules.
    assert_eq!(rig.status().manager, "stopped");
    let view = || block(rig.shell().engine.alerts().view()).unwrap();

    // The control API: a donation with a message is held, one below the minimum is filtered.
    let held_api = post_alert_over_control_api(
        &rig,
        r#"{"kind":"donation","from":"api","amount":10,"currency":"USD","message":"hi"}"#,
    );
    assert_eq!(held_api, "held");
    let filtered_api = post_alert_over_control_api(&rig, r#"{"kind":"donation","from":"api","amount":2}"#);
    assert_eq!(filtered_api, "filtered");

    // The desktop's test alert: the same answers for the same rules.
    let donation = block(alerts_cmd::send_test_alert(rig.shell(), AlertKind::Donation)).unwrap();
    assert_eq!(donation.state, "held", "a donation with a message waits for approval");
    let cheer = block(alerts_cmd::send_test_alert(rig.shell(), AlertKind::Cheer)).unwrap();
    assert_eq!(cheer.state, "filtered", "100 bits is below the 500 minimum");
    let follow = block(alerts_cmd::send_test_alert(rig.shell(), AlertKind::Follow)).unwrap();
    assert_eq!(follow.state, "queued", "no rule applies to a follow");

    // The tray's test alert (a donation) is held too.
    rig.run(actions::ALERTS_TEST);
    let v = view();
    assert_eq!(v.held.len(), 3, "api + desktop + tray donations held: {v:?}");
    assert!(
        v.queued.iter().all(|a| a.kind == AlertKind::Follow),
        "nothing filtered or held is queued: {v:?}"
    );

    // The Alerts page's approve/reject, tree down.
    let snap = block(alerts_cmd::alerts_snapshot(rig.shell())).unwrap();
    assert_eq!(snap.held.len(), 3);
    block(alerts_cmd::alerts_approve(rig.shell(), snap.held[0].id.clone())).unwrap();
    block(alerts_cmd::alerts_reject(rig.shell(), snap.held[1].id.clone())).unwrap();
    let v = view();
    assert_eq!(v.held.len(), 1, "{v:?}");
    assert!(v.queued.iter().any(|a| a.id == snap.held[0].id), "approved joins the queue: {v:?}");
    assert!(!v.queued.iter().any(|a| a.id == snap.held[1].id), "rejected is dropped: {v:?}");
    assert!(block(alerts_cmd::alerts_approve(rig.shell(), "no-such-alert".into())).is_err());
    block(alerts_cmd::alerts_pause(rig.shell())).unwrap();
    assert!(view().paused, "controls work with the tree down");
}

#[test]
fn stream_setup_answers_in_local_mode_at_once_and_the_key_comes_only_on_reveal() {
    use streampai::config::IngestBackend;
    let port = free_port();
    let rig = rig_with(QuitPolicy::test(true), |c| {
        c.ingest = Some(IngestBackend::Local);
        c.local.listen = format!("127.0.0.1:{port}");
    });
    // No window: the tree is down, and the local relay's settings come from the config.
    assert_eq!(rig.status().manager, "stopped");
    let ingest = block(stream_cmd::get_ingest(rig.shell())).unwrap();
    assert_eq!(ingest.backend, IngestBackend::Local);
    assert_eq!(ingest.server, format!("rtmp://127.0.0.1:{port}/live"));
    assert!(ingest.has_key && ingest.srt_url.is_none());
    let key = block(stream_cmd::reveal_ingest_key(rig.shell())).unwrap();
    assert!(!key.is_empty());
    assert_eq!(
        rig.status().ingest.stream_key.as_deref(),
        Some(key.as_str()),
        "the control API's status keeps it"
    );
    let ui_status = block(stream_cmd::get_status(rig.shell())).unwrap();
    assert_eq!(ui_status.ingest.stream_key, None, "the UI's status never carries the key");
}

#[test]
fn stream_setup_in_cloudflare_mode_says_why_at_once_when_it_cannot_answer() {
    use streampai::EngineError;
    // The tree is down: a typed `not_running` (the old path waited 60 s for an actor that never ran).
    let rig = rig(QuitPolicy::test(true));
    let err = block(stream_cmd::get_ingest(rig.shell())).unwrap_err();
    assert!(matches!(err, UiError::Engine { error: EngineError::NotRunning { .. } }), "{err:?}");
    assert!(matches!(
        block(stream_cmd::reveal_ingest_key(rig.shell())).unwrap_err(),
        UiError::Engine { error: EngineError::NotRunning { .. } }
    ));
    // No credentials: `not_configured`.
    let bare = rig_with(QuitPolicy::test(true), |c| {
        c.ingest = Some(streampai::config::IngestBackend::Cloudflare);
        c.cloudflare.account_id = None;
    });
    let err = block(stream_cmd::get_ingest(bare.shell())).unwrap_err();
    assert!(matches!(err, UiError::Engine { error: EngineError::NotConfigured { .. } }), "{err:?}");
}

#[test]
fn this_computer_chosen_in_the_first_run_sticks_when_cloudflare_credentials_are_saved_later() {
    use streampai::config::IngestBackend;
    let port = free_port();
    let rig = rig_with(QuitPolicy::test(true), |c| {
        c.cloudflare.account_id = None;
        c.local.listen = format!("127.0.0.1:{port}");
    });
    let account = rig.fake.account_id().to_string();
    let general = |account: &str| cmd::GeneralInput {
        cloudflare_account_id: account.into(),
        cleanup_timeout_ms: 300,
        poll_interval_ms: 200,
    };
    let streaming = |ingest| cmd::StreamingInput {
        ingest,
        local_listen: format!("127.0.0.1:{port}"),
        upload_budget_kbps: None,
        auto_start: false,
    };
    // First run: "This computer" (already the backend in force) and Next.
    let view = block(cmd::save_streaming(rig.shell(), streaming(IngestBackend::Local))).unwrap();
    assert_eq!(view.ingest_backend, IngestBackend::Local);
    assert_eq!(
        rig.shell().stored().config.unwrap().ingest,
        Some(IngestBackend::Local),
        "the choice is stored"
    );

    // Later, Settings › Cloudflare: token and account saved. OBS keeps sending to this computer.
    block(cmd::set_cloudflare_token(rig.shell(), rig.fake.token().to_string())).unwrap();
    let view = block(cmd::save_general(rig.shell(), general(&account))).unwrap();
    assert_eq!(view.cloudflare_account_id, account);
    assert_eq!(view.ingest_backend, IngestBackend::Local, "saving credentials did not switch the backend");
    assert_eq!(rig.status().ingest.backend, IngestBackend::Local);
    let ingest = block(stream_cmd::get_ingest(rig.shell())).unwrap();
    assert_eq!(ingest.server, format!("rtmp://127.0.0.1:{port}/live"), "OBS's server is unchanged");

    // Settings › Streaming switches it, and only that.
    let view = block(cmd::save_streaming(rig.shell(), streaming(IngestBackend::Cloudflare))).unwrap();
    assert_eq!(view.ingest_backend, IngestBackend::Cloudflare);
    assert_eq!(rig.shell().stored().config.unwrap().ingest, Some(IngestBackend::Cloudflare));
}

#[test]
fn a_skipped_first_run_step_is_not_switched_to_cloudflare_by_saving_an_account() {
    use streampai::config::IngestBackend;
    let rig = rig_with(QuitPolicy::test(true), |c| c.cloudflare.account_id = None);
    assert_eq!(rig.shell().engine.config().ingest, None, "nothing chosen: automatic, local");
    let general = cmd::GeneralInput {
        cloudflare_account_id: rig.fake.account_id().into(),
        cleanup_timeout_ms: 300,
        poll_interval_ms: 200,
    };
    let view = block(cmd::save_general(rig.shell(), general)).unwrap();
    assert_eq!(view.ingest_backend, IngestBackend::Local);
    assert_eq!(rig.shell().stored().config.unwrap().ingest, Some(IngestBackend::Local));
}
