//! The app and real OBS Studio (headless) as one instrument: "Set up OBS" writes the local ingest
//! into OBS and "Restore" puts the streamer's settings back (also after an app restart); Start in
//! the app makes OBS stream into the local relay and two nginx-rtmp platforms receive its frames;
//! Start in OBS starts the app's stream; Stop in OBS, or OBS killed, ends it after the source
//! grace (platforms held meanwhile); OBS started again → connected again.

mod obs_support;
mod relay_support;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use obs_support::{Obs, ObsControl};
use relay_support::Nginx;
use serde_json::json;
use streampai::config::{Config, PlatformConfig};
use streampai::secrets::{MemorySecrets, Secret, SecretName, SecretStore};
use streampai::{
    Engine, EngineError, EngineOptions, ObsHealth, ObsState, PlatformKind, PlatformStatus, SessionKind,
    StateFile, StreamPhase,
};
use support::{config, wait_until_async, Control};

const PREVIOUS_KEY: &str = "live_123456_previousTwitchKey";

fn obs_config(obs: &Obs, nginx: Option<&Nginx>) -> Config {
    let mut cfg = config("user-obs");
    cfg.obs.enabled = true;
    cfg.obs.url = obs.url();
    cfg.stream.retry_initial_ms = 200;
    cfg.stream.retry_max_ms = 1000;
    if let Some(n) = nginx {
        cfg.platforms = ["tw", "yt"]
            .iter()
            .map(|app| PlatformConfig {
                name: format!("{app}-main"),
                kind: PlatformKind::Custom,
                url: Some(n.url(app)),
                enabled: true,
            })
            .collect();
    }
    cfg
}

fn secrets(obs: &Obs, cfg: &Config) -> Arc<MemorySecrets> {
    let s = MemorySecrets::new().with(SecretName::ObsPassword, &obs.password);
    for p in &cfg.platforms {
        s.set(&SecretName::StreamKey(p.name.clone()), &Secret::new(format!("key-{}", p.name))).unwrap();
    }
    Arc::new(s)
}

fn start_engine(cfg: Config, secrets: Arc<MemorySecrets>, state: StateFile) -> Engine {
    relay_support::init_log();
    let e = Engine::start(EngineOptions {
        config: cfg,
        secrets,
        state_file: Some(state),
        db: Some(streampai::Db::open_in_memory().unwrap()),
    });
    e.join("window:main", SessionKind::Window, None);
    e
}

async fn all_live(e: &Engine) -> bool {
    let s = e.status().await;
    s.stream.state == StreamPhase::Live
        && s.stream.platforms.values().all(|p| p.status == PlatformStatus::Live)
}

async fn connected(e: &Engine) {
    wait_until_async("OBS connected", Duration::from_secs(30), || async {
        e.obs_status().state == ObsState::Connected
    })
    .await;
}

/// The app shows OBS stopped, and OBS itself agrees: OBS 29 clears its output's "active" flag
/// on a thread of its own a moment after its STOPPED event (setup/restore ask OBS, not the app).
async fn obs_stopped(e: &Engine, ctl: &mut ObsControl) {
    wait_until_async("OBS stopped", Duration::from_secs(20), || async { !e.obs_status().streaming }).await;
    let end = Instant::now() + Duration::from_secs(5);
    while ctl.streaming().await {
        assert!(Instant::now() < end, "OBS itself says it stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_on_an_obs_whose_stream_settings_were_never_set() {
    require_obs!();
    let _one = obs_support::serial().await;
    let obs = Obs::start();
    let mut ctl = ObsControl::connect(&obs).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = obs_config(&obs, None);
    cfg.obs.start_with_stream = false;
    let secrets = secrets(&obs, &cfg);
    let e = start_engine(cfg, secrets, StateFile::open(&dir.path().join("state.json")));
    connected(&e).await;
    wait_until_async("the relay runs", Duration::from_secs(10), || async {
        support::local_ingest_addr(&e).await.is_some()
    })
    .await;
    let setup = e.obs_setup().await.unwrap();
    assert!(!setup.unchanged);
    let previous = setup.previous.expect("the never-set settings are kept too");
    assert!(!previous.has_key, "{previous:?}");
    let key = e.status().await.ingest.stream_key.unwrap();
    assert_eq!(ctl.stream_service().await["streamServiceSettings"]["key"], key.as_str());

    e.obs_restore().await.expect("restore of never-set settings");
    let svc = ctl.stream_service().await;
    assert_eq!(svc["streamServiceType"], previous.service_type.as_str(), "{svc}");
    let settings = svc["streamServiceSettings"].to_string();
    assert!(!settings.contains(key.as_str()), "the app's key is gone: {settings}");
    assert_eq!(e.obs_status().previous, None, "nothing kept any more");
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_writes_the_ingest_and_restore_puts_the_old_settings_back_after_a_restart() {
    require_obs!();
    let _one = obs_support::serial().await;
    let obs = Obs::start();
    let mut ctl = ObsControl::connect(&obs).await;
    // The streamer's own setup: straight to Twitch.
    ctl.request(
        "SetStreamServiceSettings",
        json!({"streamServiceType": "rtmp_common",
               "streamServiceSettings": {"service": "Twitch", "server": "auto", "key": PREVIOUS_KEY}}),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    let mut cfg = obs_config(&obs, None);
    // OBS streams below without the app's stream: keep them apart here.
    cfg.obs.start_with_stream = false;
    let secrets = secrets(&obs, &cfg);
    let e = start_engine(cfg.clone(), secrets.clone(), StateFile::open(&state_path));
    connected(&e).await;
    wait_until_async("the relay runs", Duration::from_secs(10), || async {
        support::local_ingest_addr(&e).await.is_some()
    })
    .await;
    assert_eq!(e.obs_status().uses_app_ingest, Some(false), "OBS sends to Twitch");
    assert_eq!(e.obs_status().previous, None);

    let api = Control::start(&e).await;
    let (code, body) = api.post("/api/v1/obs/setup").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["previous"]["service_type"], "rtmp_common");
    assert_eq!(body["previous"]["service"], "Twitch");
    assert_eq!(body["previous"]["server"], "auto");
    assert_eq!(body["previous"]["has_key"], true);
    assert_eq!(body["unchanged"], false);
    assert!(!body.to_string().contains(PREVIOUS_KEY), "never the previous key: {body}");
    let status = e.status().await;
    let ingest_url = status.ingest.url.clone().unwrap();
    let ingest_key = status.ingest.stream_key.clone().unwrap();
    assert_eq!(body["server"], ingest_url.as_str());
    assert_eq!(status.obs.uses_app_ingest, Some(true));
    assert_eq!(status.obs.previous.as_ref().and_then(|p| p.service.as_deref()), Some("Twitch"));
    // Read back from OBS by another client.
    let svc = ctl.stream_service().await;
    assert_eq!(svc["streamServiceType"], "rtmp_custom", "{svc}");
    assert_eq!(svc["streamServiceSettings"]["server"], ingest_url.as_str());
    assert_eq!(svc["streamServiceSettings"]["key"], ingest_key.as_str());
    // The key kept for restore is in the secret store, not in the state file.
    let file = std::fs::read_to_string(&state_path).unwrap();
    assert!(file.contains("Twitch") && !file.contains(PREVIOUS_KEY), "{file}");
    // Again: nothing to change, and the streamer's settings stay the ones kept.
    let again = e.obs_setup().await.unwrap();
    assert!(again.unchanged);
    assert_eq!(again.previous.and_then(|p| p.service), Some("Twitch".into()));

    // While OBS streams (into the app's ingest), neither setup nor restore touches its settings.
    ctl.request("StartStream", json!({})).await;
    wait_until_async("OBS streaming", Duration::from_secs(20), || async { e.obs_status().streaming }).await;
    let (code, body) = api.post("/api/v1/obs/setup").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (409, Some("obs_streaming")), "{body}");
    let (code, body) = api.post("/api/v1/obs/restore").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (409, Some("obs_streaming")), "{body}");
    ctl.request("StopStream", json!({})).await;
    obs_stopped(&e, &mut ctl).await;
    api.stop().await;
    e.shutdown().await;
    drop(e);

    // The app restarts: what it kept is still there, and restore puts it back.
    let e = start_engine(cfg, secrets.clone(), StateFile::open(&state_path));
    assert_eq!(e.obs_status().previous.and_then(|p| p.server), Some("auto".into()), "kept across a restart");
    connected(&e).await;
    let report = e.obs_restore().await.unwrap();
    assert_eq!(report.restored.service.as_deref(), Some("Twitch"));
    assert!(report.key_restored);
    let svc = ctl.stream_service().await;
    assert_eq!(svc["streamServiceType"], "rtmp_common", "{svc}");
    assert_eq!(svc["streamServiceSettings"]["service"], "Twitch");
    assert_eq!(svc["streamServiceSettings"]["key"], PREVIOUS_KEY);
    assert_eq!(e.obs_status().previous, None, "forgotten once restored");
    assert_eq!(e.obs_status().uses_app_ingest, Some(false));
    assert!(secrets.get(&SecretName::ObsPreviousSecrets).unwrap().is_none());
    assert!(matches!(e.obs_restore().await, Err(EngineError::InvalidTransition { .. })));
    // Neither the previous key nor OBS's password ever reached the log.
    let log = relay_support::captured_log();
    assert!(log.contains("OBS set up"), "the log is captured");
    assert!(!log.contains(PREVIOUS_KEY) && !log.contains(&obs.password));
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_in_the_app_streams_obs_to_two_platforms_and_stop_stops_obs() {
    require_obs!();
    require_tools!();
    let _one = obs_support::serial().await;
    let obs = Obs::start();
    let mut ctl = ObsControl::connect(&obs).await;
    let nginx = Nginx::start(&["tw", "yt"]);
    let cfg = obs_config(&obs, Some(&nginx));
    let e = start_engine(cfg.clone(), secrets(&obs, &cfg), StateFile::in_memory());
    connected(&e).await;
    wait_until_async("the relay runs", Duration::from_secs(10), || async {
        support::local_ingest_addr(&e).await.is_some()
    })
    .await;
    e.obs_setup().await.unwrap();

    // One Start: the app's platforms and OBS.
    let uuid = e.start_stream().await.unwrap();
    wait_until_async("OBS streams into the ingest, both platforms live", Duration::from_secs(30), || async {
        let s = e.status().await;
        s.obs.streaming
            && s.input == streampai::InputStatus::ReceivingTraffic
            && s.stream.state == StreamPhase::Live
            && s.stream
                .platforms
                .values()
                .all(|p| p.status == PlatformStatus::Live && p.bytes_sent.unwrap_or(0) > 0)
    })
    .await;
    assert!(ctl.streaming().await, "OBS itself says it streams");
    // OBS's health, polled while it streams.
    wait_until_async("OBS's frame counts", Duration::from_secs(15), || async {
        e.obs_status().total_frames.is_some_and(|f| f >= 120)
    })
    .await;
    let o = e.obs_status();
    assert_eq!(o.health, ObsHealth::Good, "{o:?}");
    assert!(o.congestion.is_some_and(|c| (0.0..=1.0).contains(&c)), "{o:?}");
    assert!(o.skipped_frames.is_some(), "{o:?}");
    // obs-websocket's skipped frames are the frames OBS's output dropped (its network drop
    // logic, under load): those never left OBS.
    let obs_frames = o.total_frames.unwrap() - o.skipped_frames.unwrap();

    // One Stop: OBS stops too.
    e.stop_stream().await.unwrap();
    obs_stopped(&e, &mut ctl).await;
    let mut counts = vec![];
    for app in ["tw", "yt"] {
        let mut rec = None;
        relay_support::wait_until(Duration::from_secs(15), || {
            rec = nginx.recordings(app).last().and_then(|p| relay_support::probe(p));
            rec.as_ref().is_some_and(|r| r.video_frames >= 90)
        })
        .await;
        let rec = rec.unwrap_or_else(|| panic!("{app}: no recording; nginx: {}", nginx.error_log()));
        assert_eq!((rec.video_codec.as_str(), rec.audio_codec.as_str()), ("h264", "aac"), "{app}: {rec:?}");
        assert!(rec.video_frames >= 90, "{app}: at least 3 s of OBS's 30 fps: {rec:?}");
        // OBS's own count of frames sent (total minus dropped), polled while live (before the
        // stop), is a lower bound.
        assert!(
            rec.video_frames >= obs_frames,
            "{app}: every frame OBS had sent by then: {rec:?} vs {obs_frames}"
        );
        counts.push(rec.video_frames);
    }
    eprintln!(
        "OBS sent {obs_frames}+ frames (at the last poll); tw received {}, yt {}",
        counts[0], counts[1]
    );
    assert!(counts[0].abs_diff(counts[1]) <= 60, "both platforms got the same stream: {counts:?}");
    let rec = &e.stream_history().unwrap()[0];
    assert_eq!((rec.uuid, rec.ended_by.as_deref()), (uuid, Some("stopped")));
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_start_and_stop_drive_the_app_and_a_killed_obs_ends_the_stream_after_the_grace() {
    require_obs!();
    require_tools!();
    let _one = obs_support::serial().await;
    let mut obs = Obs::start();
    let nginx = Nginx::start(&["tw", "yt"]);
    let mut cfg = obs_config(&obs, Some(&nginx));
    cfg.local.source_grace_ms = 4000;
    let grace = Duration::from_millis(cfg.local.source_grace_ms);
    let e = start_engine(cfg.clone(), secrets(&obs, &cfg), StateFile::in_memory());
    connected(&e).await;
    wait_until_async("the relay runs", Duration::from_secs(10), || async {
        support::local_ingest_addr(&e).await.is_some()
    })
    .await;
    e.obs_setup().await.unwrap();
    let mut ctl = ObsControl::connect(&obs).await;

    // Start Streaming in OBS: the app's stream starts on OBS's event.
    let t0 = Instant::now();
    ctl.request("StartStream", json!({})).await;
    wait_until_async("the app's stream started", Duration::from_secs(15), || async {
        e.status().await.stream.state != StreamPhase::Offline
    })
    .await;
    eprintln!("OBS StartStream → the app's stream starting: {} ms", t0.elapsed().as_millis());
    wait_until_async("both platforms live", Duration::from_secs(30), || all_live(&e)).await;
    let first = e.status().await.stream.uuid.unwrap();

    // Stop Streaming in OBS: held for the grace, then ended (by the streamer: `stopped`).
    ctl.request("StopStream", json!({})).await;
    let stopped_at = Instant::now();
    wait_until_async("OBS stopped", Duration::from_secs(15), || async { !e.obs_status().streaming }).await;
    tokio::time::sleep(grace / 2).await;
    assert!(all_live(&e).await, "platforms held within the grace: {:?}", e.status().await.stream);
    wait_until_async("the stream ended", grace * 3, || async {
        e.status().await.stream.state == StreamPhase::Offline
    })
    .await;
    let took = stopped_at.elapsed();
    eprintln!(
        "OBS StopStream → the app's stream offline: {} ms (grace {} ms)",
        took.as_millis(),
        grace.as_millis()
    );
    assert!(took >= grace, "not before the grace: {took:?}");
    let rec = e.stream_history().unwrap().into_iter().find(|r| r.uuid == first).unwrap();
    assert_eq!(rec.ended_by.as_deref(), Some("stopped"));

    // Start again in OBS, then OBS dies: held for the grace, then ended as `source_lost`.
    drop(ctl);
    let mut ctl = ObsControl::connect(&obs).await;
    ctl.request("StartStream", json!({})).await;
    wait_until_async("live again", Duration::from_secs(30), || all_live(&e)).await;
    let second = e.status().await.stream.uuid.unwrap();
    assert_ne!(second, first);
    drop(ctl);
    let killed_at = Instant::now();
    obs.kill();
    wait_until_async("the link noticed", Duration::from_secs(10), || async {
        e.obs_status().state != ObsState::Connected
    })
    .await;
    tokio::time::sleep(grace / 2).await;
    assert!(all_live(&e).await, "platforms held within the grace: {:?}", e.status().await.stream);
    wait_until_async("the stream ended", grace * 3, || async {
        e.status().await.stream.state == StreamPhase::Offline
    })
    .await;
    assert!(killed_at.elapsed() >= grace);
    let rec = e.stream_history().unwrap().into_iter().find(|r| r.uuid == second).unwrap();
    assert_eq!(rec.ended_by.as_deref(), Some("source_lost"));

    // OBS back: connected again, nothing started by itself.
    obs.restart();
    connected(&e).await;
    assert_eq!(e.status().await.stream.state, StreamPhase::Offline);
    e.shutdown().await;
}
