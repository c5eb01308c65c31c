//! One front door: the control API, the desktop's calls (the desktop commands and the tray call
//! `Engine::alerts()` / `Engine::set_platform_enabled`), and the sync client's relayed commands
//! apply the same rules, with the tree up or down; the ingest settings answer in both backends.

mod support;

use std::time::Duration;

use serde_json::json;
use streampai::alerts::{AlertInput, AlertKind};
use streampai::config::{IngestBackend, PlatformConfig};
use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::sync::protocol::Command;
use streampai::{EngineError, Event, PlatformKind, PlatformStatus};
use support::*;

async fn post_json(c: &Control, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let res =
        c.http().post(format!("{}{path}", c.base)).bearer_auth(&c.token).json(body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn donation(from: &str, amount: f64, message: Option<&str>) -> AlertInput {
    let mut a = AlertInput::new(AlertKind::Donation, from).with_amount(amount);
    a.currency = Some("USD".into());
    a.message = message.map(str::to_string);
    a
}

#[tokio::test]
async fn every_front_end_applies_the_same_alert_rules_with_the_tree_down() {
    let mut cfg = config("user-1");
    cfg.alerts.moderation = true;
    cfg.alerts.min_amounts.insert(AlertKind::Donation, 5.0);
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    assert!(!e.is_running(), "nobody is present: the tree is down");

    // The control API.
    let (code, small) =
        post_json(&c, "/api/v1/alerts", &json!({"kind": "donation", "from": "api-small", "amount": 1})).await;
    assert_eq!((code, small["state"].as_str()), (201, Some("filtered")));
    let (_, held) = post_json(
        &c,
        "/api/v1/alerts",
        &json!({"kind": "donation", "from": "api-held", "amount": 10, "message": "hi"}),
    )
    .await;
    assert_eq!(held["state"], "held");

    // The desktop (Alerts page, tray "Send test alert"): the engine's alert desk.
    let desk = e.alerts();
    assert_eq!(desk.accept(donation("desk-small", 1.0, None), None).unwrap().state, "filtered");
    assert_eq!(desk.accept(donation("desk-held", 10.0, Some("hello")), None).unwrap().state, "held");
    assert_eq!(desk.accept(donation("desk-queued", 10.0, None), None).unwrap().state, "queued");

    // One view for everyone: both held alerts, the queued one, never the filtered ones.
    let view = desk.view().await.unwrap();
    let held_from: Vec<_> = view.held.iter().map(|a| a.from.as_str()).collect();
    assert_eq!(held_from, ["api-held", "desk-held"]);
    assert_eq!(view.queued.iter().map(|a| a.from.as_str()).collect::<Vec<_>>(), ["desk-queued"]);
    let (_, api_view) = c.get("/api/v1/alerts").await;
    assert_eq!(api_view["held"].as_array().unwrap().len(), 2);

    // The phone (sync command) pauses; every front end sees it.
    let res = streampai::sync::execute(&e, Command::AlertPause).await;
    assert!(res.ok, "{res:?}");
    assert!(e.alerts().paused());
    let (_, api_view) = c.get("/api/v1/alerts").await;
    assert_eq!(api_view["paused"], true);
    // The desktop resumes.
    e.alerts().set_paused(false).await.unwrap();
    let (_, api_view) = c.get("/api/v1/alerts").await;
    assert_eq!(api_view["paused"], false);
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn one_platform_toggle_for_the_desktop_and_the_phone() {
    let mut cfg = config("user-1");
    cfg.platforms.push(PlatformConfig {
        name: "twitch-main".into(),
        kind: PlatformKind::Twitch,
        url: None,
        enabled: true,
    });
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let mut events = e.subscribe();
    let enabled = |e: &streampai::Engine| e.config().platforms[0].enabled;

    // The phone.
    let off = Command::SetPlatformEnabled { platform: "twitch-main".into(), enabled: false };
    assert!(streampai::sync::execute(&e, off).await.ok);
    assert!(!enabled(&e));
    next_event(&mut events, Duration::from_secs(2), |ev| matches!(ev, Event::ConfigChanged { .. })).await;
    let st = e.status().await;
    assert_eq!(st.stream.platforms["twitch-main"].status, PlatformStatus::Disabled);

    // The desktop (Platforms page, tray checkbox).
    e.set_platform_enabled("twitch-main", true).await.unwrap();
    assert!(enabled(&e));
    next_event(&mut events, Duration::from_secs(2), |ev| matches!(ev, Event::ConfigChanged { .. })).await;

    // Both refuse an unknown platform.
    let unknown = Command::SetPlatformEnabled { platform: "nope".into(), enabled: true };
    assert!(!streampai::sync::execute(&e, unknown).await.ok);
    assert!(matches!(e.set_platform_enabled("nope", true).await, Err(EngineError::InvalidPlatform { .. })));
    e.shutdown().await;
}

#[tokio::test]
async fn local_ingest_settings_answer_at_once_with_the_tree_down() {
    let mut cfg = config("user-1");
    cfg.local.listen = "0.0.0.0:1935".into();
    let secrets = secrets_for(&cfg, None);
    secrets.set(&SecretName::IngestKey, &Secret::new("obs-key-1")).unwrap();
    let e = engine(cfg, secrets);
    let ingest = tokio::time::timeout(Duration::from_secs(2), e.ingest()).await.unwrap().unwrap();
    assert_eq!(ingest.backend, IngestBackend::Local);
    assert_eq!(
        ingest.server, "rtmp://127.0.0.1:1935/live",
        "OBS on this machine reaches a wildcard listen on loopback"
    );
    assert!(ingest.has_key);
    assert_eq!(e.reveal_ingest_key().await.unwrap().expose(), "obs-key-1");
    e.shutdown().await;
}

#[tokio::test]
async fn cloudflare_ingest_settings_need_the_tree_and_say_so_at_once() {
    let fake = fake().await;
    let cfg = cloud_config("user-1", &fake, &[]);
    let e = engine(cfg.clone(), secrets_for(&cfg, Some(&fake)));
    let res = tokio::time::timeout(Duration::from_secs(2), e.ingest()).await.expect("answered at once");
    assert!(matches!(res, Err(EngineError::NotRunning { .. })), "{res:?}");

    e.join("window:main", streampai::SessionKind::Window, None);
    wait_until("tree", Duration::from_secs(5), || e.is_running()).await;
    let ingest = e.ingest().await.unwrap();
    assert_eq!(ingest.backend, IngestBackend::Cloudflare);
    assert!(ingest.server.starts_with("rtmps://"), "{ingest:?}");
    let key = e.reveal_ingest_key().await.unwrap();
    let input = &fake.live_inputs()[0];
    assert_eq!(key.expose(), input.rtmps_stream_key);
    e.shutdown().await;
    fake.shutdown().await;
}

#[tokio::test]
async fn cloudflare_without_credentials_is_not_configured() {
    let mut cfg = config("user-1");
    cfg.ingest = Some(IngestBackend::Cloudflare);
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    assert!(matches!(e.ingest().await, Err(EngineError::NotConfigured { .. })));
    assert!(matches!(e.reveal_ingest_key().await, Err(EngineError::NotConfigured { .. })));
    e.shutdown().await;
}
