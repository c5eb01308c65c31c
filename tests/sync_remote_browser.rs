//! The web remote in a real headless Chromium (Debian `chromium` + `chromium-driver`): the phone
//! signs in with the token, counts as presence on the streaming PC's engine, sees the stream
//! state, presses Start and then Stop, and the stream starts and stops.

mod support;

use std::time::Duration;

use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::PlatformKind;
use streampai::SessionKind;
use streampai::StreamPhase;
use streampai_sync::server::{self, ServerConfig};
use streampai_sync::users::Users;
use support::browser::Driver;
use support::*;

const TOKEN: &str = "remote-browser-token-42";
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_remote_signs_in_sees_the_state_and_starts_and_stops_the_stream() {
    let profile = tempfile::tempdir().unwrap();
    let Some(driver) = Driver::start(profile.path(), &["--window-size=420,900"]).await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium-driver must be installed in CI (scripts/deps.sh)"
        );
        eprintln!("skipped: no chromedriver (install chromium-driver)");
        return;
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let srv = server::start(l, ServerConfig::default(), Users::from_tokens([("alice", TOKEN)]), None, None)
        .await
        .unwrap();
    let addr = srv.local_addr();

    // The streaming PC: a headless engine with one platform, syncing through the server, with
    // its window open.
    let fake = fake().await;
    let mut cfg = cloud_config("alice-local", &fake, &[("twitch-main", PlatformKind::Twitch)]);
    cfg.sync.url = Some(format!("ws://{addr}"));
    cfg.sync.device_id = Some("studio-pc".into());
    cfg.sync.device_name = Some("Studio PC".into());
    let secrets = secrets_for(&cfg, Some(&fake));
    secrets.set(&SecretName::SyncToken, &Secret::new(TOKEN)).unwrap();
    let engine = engine(cfg, secrets);
    engine.join("window:main", SessionKind::Window, None);

    // A wrong token is refused on the page.
    driver.goto(&format!("http://{addr}/")).await;
    driver.wait_js("the sign-in form", "return !!document.getElementById('token')").await;
    driver
        .js("document.getElementById('token').value='wrong'; document.getElementById('signin-form').requestSubmit(); return true")
        .await;
    driver
        .wait_js("the refusal", "return document.getElementById('log').textContent.includes('Unknown token')")
        .await;

    // The right one.
    driver
        .js(&format!(
            "document.getElementById('token').value='{TOKEN}'; document.getElementById('signin-form').requestSubmit(); return true"
        ))
        .await;
    wait_until("the phone is a device session on the PC", WAIT, || {
        engine.sessions().iter().any(|s| s.kind == SessionKind::Device)
    })
    .await;
    driver
        .wait_js(
            "the host's state on the phone",
            "return document.getElementById('phase').textContent === 'offline'",
        )
        .await;
    driver
        .wait_js(
            "the platform list",
            "return document.getElementById('platforms').textContent.includes('twitch-main: stopped')",
        )
        .await;
    driver
        .wait_js(
            "the PC in the device list",
            "return document.getElementById('devices').textContent.includes('Studio PC · host')",
        )
        .await;

    // Closing the desktop window while the phone is connected keeps the tree alive.
    engine.leave("window:main");
    tokio::time::sleep(Duration::from_millis(700)).await; // past the 300 ms grace
    assert!(engine.is_running());

    // Start from the phone.
    driver.wait_js("Start enabled", "return !document.getElementById('start').disabled").await;
    driver.js("document.getElementById('start').click(); return true").await;
    wait_until_async("the stream is live", WAIT, || async {
        engine.status().await.stream.state == StreamPhase::Live
    })
    .await;
    driver
        .wait_js("live on the phone", "return document.getElementById('phase').textContent === 'live'")
        .await;
    // For a person to look at: STREAMPAI_REMOTE_SHOT=/path/to/shot.png.
    let shot = std::env::var_os("STREAMPAI_REMOTE_SHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("streampai-remote-live.png"));
    driver.screenshot(&shot).await;

    // Stop from the phone: the stream stops.
    driver.wait_js("Stop enabled", "return !document.getElementById('stop').disabled").await;
    driver.js("document.getElementById('stop').click(); return true").await;
    wait_until_async("the stream is offline", WAIT, || async {
        engine.status().await.stream.state == StreamPhase::Offline
    })
    .await;
    driver
        .wait_js("offline on the phone", "return document.getElementById('phase').textContent === 'offline'")
        .await;

    drop(driver);
    engine.shutdown().await;
    srv.shutdown().await;
}
