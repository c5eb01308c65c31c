//! The link to real OBS Studio (29.0.2, obs-websocket 5.1.0 here), headless: OBS not running →
//! `unreachable`, then `connected` once it starts; OBS closed and started again → `connected`
//! again; a wrong password → `auth_failed` with one connection attempt, not a retry storm, until
//! the password is changed; the first run's probe; the control API's OBS routes.

mod obs_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use obs_support::{CountingProxy, Obs};
use streampai::failure::{FailureKind, FailureSource};
use streampai::secrets::{MemorySecrets, Secret, SecretName, SecretStore};
use streampai::{Engine, EngineError, ObsState, SessionKind};
use support::{config, engine, wait_until_async, Control};

fn obs_engine(url: &str, password: Option<&str>) -> (Engine, Arc<MemorySecrets>) {
    let mut cfg = config("user-obs");
    cfg.obs.enabled = true;
    cfg.obs.url = url.to_string();
    let secrets = Arc::new(MemorySecrets::new());
    if let Some(p) = password {
        secrets.set(&SecretName::ObsPassword, &Secret::new(p)).unwrap();
    }
    let e = engine(cfg, secrets.clone());
    e.join("window:main", SessionKind::Window, None);
    (e, secrets)
}

async fn wait_state(e: &Engine, state: ObsState, within: Duration) {
    wait_until_async(&format!("OBS {state:?}"), within, || async { e.obs_status().state == state }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_then_connected_and_back_after_obs_restarts() {
    require_obs!();
    let _one = obs_support::serial().await;
    let port = obs_support::free_port();
    let url = format!("ws://127.0.0.1:{port}");
    // The engine first, OBS not running yet.
    let (e, secrets) = obs_engine(&url, None);
    wait_state(&e, ObsState::Unreachable, Duration::from_secs(10)).await;
    let s = e.obs_status();
    let problem = s.problem.expect("why it is unreachable");
    assert_eq!((problem.kind, problem.source), (FailureKind::Unreachable, FailureSource::Obs));
    assert_eq!(s.url.as_deref(), Some(url.as_str()));
    // The status shows it too.
    assert_eq!(e.status().await.obs.state, ObsState::Unreachable);

    let mut obs = Obs::start_on(port);
    secrets.set(&SecretName::ObsPassword, &Secret::new(&obs.password)).unwrap();
    // Backoff reaches the started OBS by itself (at most 10 s between attempts).
    wait_state(&e, ObsState::Connected, Duration::from_secs(30)).await;
    let s = e.obs_status();
    assert!(s.obs_version.as_deref().is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())), "{s:?}");
    assert!(s.websocket_version.as_deref().is_some_and(|v| v.starts_with("5.")), "{s:?}");
    assert!(!s.streaming);
    assert_eq!(s.problem, None);

    // OBS closes (as when the streamer quits it): the link notices at once.
    obs.stop();
    wait_until_async("the link left connected", Duration::from_secs(10), || async {
        matches!(e.obs_status().state, ObsState::Connecting | ObsState::Unreachable)
    })
    .await;
    assert_eq!(e.obs_status().obs_version, None, "no version shown for an OBS that is gone");
    // OBS back: connected again.
    obs.restart();
    wait_state(&e, ObsState::Connected, Duration::from_secs(30)).await;
    e.shutdown().await;
    assert_eq!(e.obs_status().state, ObsState::Off);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_auth_failed_without_a_retry_storm() {
    require_obs!();
    let _one = obs_support::serial().await;
    let obs = Obs::start();
    let proxy = CountingProxy::start(obs.port).await;
    let (e, _secrets) = obs_engine(&proxy.url(), Some("not-the-password"));
    wait_state(&e, ObsState::AuthFailed, Duration::from_secs(10)).await;
    let problem = e.obs_status().problem.expect("why");
    assert_eq!((problem.kind, problem.source), (FailureKind::AuthRejected, FailureSource::Obs));
    assert!(!problem.detail.contains("not-the-password"));
    // Several backoff periods later: still the one attempt.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(proxy.count(), 1, "one connection attempt, no retries with a refused password");
    assert_eq!(e.obs_status().state, ObsState::AuthFailed);

    // Bad input is refused naming the field; nothing changes.
    match e.set_obs_password(Some(Secret::new("  "))).await {
        Err(EngineError::InvalidConfig { key, .. }) => assert_eq!(key, "obs.password"),
        other => panic!("{other:?}"),
    }
    assert_eq!(proxy.count(), 1);
    // The right password: connected at once.
    e.set_obs_password(Some(Secret::new(&obs.password))).await.unwrap();
    wait_state(&e, ObsState::Connected, Duration::from_secs(10)).await;
    assert_eq!(proxy.count(), 2);
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_and_the_control_api() {
    require_obs!();
    let _one = obs_support::serial().await;
    let obs = Obs::start();
    let (e, _secrets) = obs_engine(&obs.url(), None);
    // First run: find OBS, learn that it wants a password, try it.
    let p = e.probe_obs(None, None).await.unwrap();
    assert_eq!((p.state, p.auth_required), (ObsState::AuthFailed, Some(true)), "{p:?}");
    let p = e.probe_obs(None, Some(Secret::new(&obs.password))).await.unwrap();
    assert_eq!(p.state, ObsState::Connected, "{p:?}");
    assert!(p.websocket_version.is_some_and(|v| v.starts_with("5.")));
    let nothing = format!("ws://127.0.0.1:{}", obs_support::free_port());
    assert_eq!(e.probe_obs(Some(&nothing), None).await.unwrap().state, ObsState::Unreachable);
    match e.probe_obs(Some("http://127.0.0.1:4455"), None).await {
        Err(EngineError::InvalidConfig { key, message }) => {
            assert_eq!(key, "obs.url");
            assert!(message.contains("ws://"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // The control API: not connected yet (no password stored) → setup is 503 obs_unavailable.
    let api = Control::start(&e).await;
    wait_state(&e, ObsState::AuthFailed, Duration::from_secs(10)).await;
    let (code, body) = api.post("/api/v1/obs/setup").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (503, Some("obs_unavailable")), "{body}");
    // The password through the API (never echoed), then connected.
    let res = api
        .http()
        .post(format!("{}/api/v1/obs/password", api.base))
        .bearer_auth(&api.token)
        .json(&serde_json::json!({"password": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "invalid_config");
    assert!(body["error"]["message"].as_str().unwrap().contains("obs.password"), "{body}");
    let res = api
        .http()
        .post(format!("{}/api/v1/obs/password", api.base))
        .bearer_auth(&api.token)
        .json(&serde_json::json!({"password": obs.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(!res.text().await.unwrap().contains(&obs.password));
    wait_state(&e, ObsState::Connected, Duration::from_secs(10)).await;
    let (code, status) = api.get("/api/v1/status").await;
    assert_eq!(code, 200);
    let o = &status["obs"];
    assert_eq!(o["state"], "connected", "{o}");
    assert!(o["obs_version"].is_string() && o["websocket_version"].is_string(), "{o}");
    assert_eq!(o["streaming"], false);
    for k in ["congestion", "skipped_frames", "total_frames"] {
        assert!(o.get(k).is_some_and(|v| v.is_null()), "{k} present and null while not streaming: {o}");
    }
    let (code, alone) = api.get("/api/v1/obs").await;
    assert_eq!((code, alone["state"].as_str()), (200, Some("connected")));
    // Nothing kept yet: restore has nothing to do.
    let (code, body) = api.post("/api/v1/obs/restore").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (409, Some("invalid_transition")), "{body}");
    api.stop().await;
    e.shutdown().await;
}
