//! Settings changes: platforms toggled while live, and reconfiguration of the whole config.

mod support;

use std::time::Duration;

use streampai::alerts::{AlertInput, AlertKind};
use streampai::config::PlatformConfig;
use streampai::EngineError;
use streampai::PlatformKind;
use streampai::{PlatformStatus, StreamPhase};
use support::*;

#[tokio::test]
async fn platforms_toggle_while_live_without_touching_the_others() {
    let rig = Rig::with(&FIVE[..3], |c| c.platforms[2].enabled = false).await;
    rig.open_window("window:main");
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    let urls = |rig: &Rig| {
        let mut v: Vec<String> = rig.fake.outputs(&input).into_iter().map(|o| o.url).collect();
        v.sort();
        v
    };
    assert_eq!(urls(&rig).len(), 2);
    let twitch_uid = rig.fake.outputs(&input).into_iter().find(|o| o.url.contains("twitch")).unwrap().uid;

    rig.engine.set_platform_enabled("kick-main", true).await.unwrap();
    wait_until_async("kick live", Duration::from_secs(10), || async {
        rig.status().await.stream.platforms.get("kick-main").map(|p| &p.status) == Some(&PlatformStatus::Live)
    })
    .await;
    assert_eq!(urls(&rig).len(), 3);

    rig.engine.set_platform_enabled("youtube-main", false).await.unwrap();
    let st = rig.status().await;
    assert_eq!(st.stream.platforms.get("youtube-main").map(|p| &p.status), Some(&PlatformStatus::Disabled));
    assert!(!urls(&rig).iter().any(|u| u.contains("youtube")), "its output was deleted");
    assert!(rig.fake.outputs(&input).iter().any(|o| o.uid == twitch_uid), "twitch untouched");
    assert_eq!(st.stream.state, StreamPhase::Live);
    assert!(!rig.engine.config().platforms.iter().find(|p| p.name == "youtube-main").unwrap().enabled);

    let err = rig.engine.set_platform_enabled("nope", true).await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidPlatform { .. }));
    rig.engine.stop_stream().await.unwrap();
    assert!(rig.fake.outputs(&input).is_empty());
    rig.shutdown().await;
}

#[tokio::test]
async fn reconfigure_rebuilds_the_tree_when_offline_and_refuses_while_live() {
    let rig = Rig::new(&FIVE[..1]).await;
    rig.open_window("window:main");
    wait_until("tree", Duration::from_secs(5), || rig.engine.is_running()).await;
    let alerts = rig.engine.alerts();
    alerts.set_paused(true).await.unwrap();
    alerts.accept(AlertInput::new(AlertKind::Follow, "kept"), None).unwrap();

    let mut cfg = (*rig.engine.config()).clone();
    cfg.platforms.push(PlatformConfig {
        name: "yt-2".into(),
        kind: PlatformKind::Youtube,
        url: None,
        enabled: true,
    });
    cfg.presence.cleanup_timeout_ms = 1234;
    use streampai::secrets::{Secret, SecretName, SecretStore};
    rig.secrets.set(&SecretName::StreamKey("yt-2".into()), &Secret::new("k")).unwrap();
    rig.engine.reconfigure(cfg.clone()).await.unwrap();
    assert_eq!(rig.engine.config().platforms.len(), 2);
    wait_until("tree back", Duration::from_secs(5), || {
        rig.engine.debug_tree().users.first().is_some_and(|u| u.children.len() == 7)
    })
    .await;
    let snap = rig.engine.alerts().view().await.unwrap();
    assert_eq!(snap.queued.len(), 1, "queued alerts survive a settings change");

    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    assert_eq!(rig.fake.outputs(&input).len(), 2, "the new platform streams");
    cfg.cloudflare.poll_interval_ms = 999;
    let err = rig.engine.reconfigure(cfg.clone()).await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidTransition { .. }), "{err:?}");
    // The platform accounts' addresses are read at each use: they change while live, in place.
    let mut accounts = (*rig.engine.config()).clone();
    accounts.twitch.api_url = "http://127.0.0.1:9/helix".into();
    accounts.youtube.api_url = "http://127.0.0.1:9/youtube/v3".into();
    rig.engine.reconfigure(accounts.clone()).await.expect("account addresses change while live");
    assert_eq!(rig.engine.config().twitch, accounts.twitch);
    assert_eq!(rig.engine.config().youtube, accounts.youtube);
    assert_eq!(rig.engine.status().await.stream.state, StreamPhase::Live, "the stream went on");
    assert_eq!(rig.fake.outputs(&input).len(), 2, "no output was touched");
    // A platform newly set up adds its event reader to the tree: that waits for the stream's end.
    accounts.twitch.client_id = Some("abcdefghijklmnopqrstuvwxyz0123".into());
    let err = rig.engine.reconfigure(accounts.clone()).await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidTransition { .. }), "{err:?}");
    assert_eq!(rig.engine.config().twitch.client_id, None);
    let mut bad = cfg.clone();
    bad.platforms[1].name = "Bad Name".into();
    let err = rig.engine.reconfigure(bad).await.unwrap_err();
    assert!(
        matches!(err, EngineError::InvalidConfig { ref key, .. } if key == "platforms[1].name"),
        "{err:?}"
    );
    rig.shutdown().await;
}
