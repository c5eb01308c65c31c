//! StreamAutomation on both backends: a stream whose source stays away for
//! `[local] source_timeout_ms` stops cleanly and is recorded as `source_lost`; `[stream]
//! auto_start` starts a stream when OBS traffic arrives, and a manual stop while OBS keeps
//! sending does not start it again until the source goes away and comes back.

mod relay_support;
mod support;

use std::time::Duration;

use streampai::config::PlatformConfig;
use streampai::secrets::{SecretName, SecretStore};
use streampai::Event;
use streampai::PlatformKind;
use streampai::{EndReason, InputStatus, StreamPhase};
use support::*;

async fn wait_input(rig: &Rig, want: InputStatus) {
    wait_until_async(&format!("input {want:?}"), Duration::from_secs(10), || async {
        rig.status().await.input == want
    })
    .await;
}

async fn wait_recorded(e: &streampai::Engine, count: usize) -> Vec<streampai::StreamRecord> {
    wait_until_async(&format!("{count} ended streams in the history"), Duration::from_secs(10), || async {
        let h = e.stream_history().unwrap();
        h.len() == count && h.iter().all(|s| s.ended_at.is_some())
    })
    .await;
    e.stream_history().unwrap()
}

/// The test config polls every 50 ms, which spends the Cloudflare request budget's burst in
/// about 3 s; longer tests poll less often so the workers' requests never wait for budget.
fn slower_polls(c: &mut streampai::Config) {
    c.cloudflare.poll_interval_ms = 200;
    c.cloudflare.requests_per_5min = 1200;
}

#[tokio::test]
async fn cloudflare_a_lost_source_stops_the_stream_after_the_timeout() {
    let mut rig = Rig::with(&FIVE[..2], |c| {
        slower_polls(c);
        c.local.source_timeout_ms = 300;
    })
    .await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    rig.fake.set_connected(&input, true).unwrap();
    wait_input(&rig, InputStatus::ReceivingTraffic).await;
    let uuid = rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    assert_eq!(rig.fake.outputs(&input).len(), 2);

    rig.fake.set_connected(&input, false).unwrap();
    let ended =
        next_event(&mut rig.events, Duration::from_secs(10), |e| matches!(e, Event::StreamEnded { .. }))
            .await;
    assert!(
        matches!(ended, Event::StreamEnded { uuid: u, ended_by: EndReason::SourceLost, .. } if u == uuid),
        "{ended:?}"
    );
    rig.wait_state(StreamPhase::Offline).await;
    assert!(rig.fake.outputs(&input).is_empty(), "outputs deleted as on a stop");
    let h = wait_recorded(&rig.engine, 1).await;
    assert_eq!((h[0].uuid, h[0].ended_by.as_deref()), (uuid, Some("source_lost")));
    assert_eq!(h[0].platforms["twitch-main"].outcome, "live");
    rig.shutdown().await;
}

/// Stop by hand while OBS keeps sending, and show that no new stream starts: a restart would
/// be recorded as another stream before OBS goes away.
async fn stop_by_hand_while_obs_sends(rig: &Rig, input: &str, streams_so_far: usize) {
    assert_eq!(rig.status().await.input, InputStatus::ReceivingTraffic);
    rig.engine.stop_stream().await.unwrap();
    rig.wait_state(StreamPhase::Offline).await;
    let h = wait_recorded(&rig.engine, streams_so_far).await;
    assert_eq!(h[0].ended_by.as_deref(), Some("stopped"));
    let polls = rig.fake.request_count_for(fake_cloudflare::RouteKind::GetLiveInput);
    wait_until("a few more polls with OBS sending", Duration::from_secs(5), || {
        rig.fake.request_count_for(fake_cloudflare::RouteKind::GetLiveInput) > polls + 3
    })
    .await;
    rig.fake.set_connected(input, false).unwrap();
    wait_input(rig, InputStatus::NoTraffic).await;
    assert_eq!(rig.engine.stream_history().unwrap().len(), streams_so_far, "no restart after a manual stop");
    assert_eq!(rig.status().await.stream.state, StreamPhase::Offline);
}

#[tokio::test]
async fn cloudflare_auto_start_follows_obs_and_a_manual_stop_disarms_it() {
    let rig = Rig::with(&FIVE[..2], |c| {
        slower_polls(c);
        // Room for OBS to connect after a manual start without it.
        c.local.source_timeout_ms = 2000;
        c.stream.auto_start = true;
    })
    .await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    wait_input(&rig, InputStatus::NoTraffic).await;
    assert_eq!(rig.status().await.stream.state, StreamPhase::Offline, "nothing starts without OBS");

    // Started by hand before OBS, stopped by hand while OBS sends: stays stopped.
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    rig.fake.set_connected(&input, true).unwrap();
    wait_input(&rig, InputStatus::ReceivingTraffic).await;
    stop_by_hand_while_obs_sends(&rig, &input, 1).await;

    // OBS starts → the stream starts by itself; stopped by hand while OBS sends: stays stopped.
    rig.fake.set_connected(&input, true).unwrap();
    rig.wait_state(StreamPhase::Live).await;
    assert_eq!(rig.fake.outputs(&input).len(), 2);
    stop_by_hand_while_obs_sends(&rig, &input, 2).await;

    // OBS comes back → a new stream; OBS goes away → it ends by the source timeout.
    rig.fake.set_connected(&input, true).unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let third = rig.status().await.stream.uuid.unwrap();
    rig.fake.set_connected(&input, false).unwrap();
    let h = wait_recorded(&rig.engine, 3).await;
    assert_eq!((h[0].uuid, h[0].ended_by.as_deref()), (third, Some("source_lost")));
    rig.wait_state(StreamPhase::Offline).await;
    assert!(rig.fake.outputs(&input).is_empty(), "{:?}", rig.fake.outputs(&input));
    rig.shutdown().await;
}

#[tokio::test]
async fn a_refused_auto_start_waits_for_obs_to_come_back() {
    // auto_start on, but the platform has no key: the start is refused (nothing started)…
    let rig = Rig::with(&FIVE[..1], |c| {
        slower_polls(c);
        c.stream.auto_start = true;
    })
    .await;
    let key_name = SecretName::StreamKey("twitch-main".into());
    let key = rig.secrets.get(&key_name).unwrap().unwrap();
    rig.secrets.delete(&key_name).unwrap();
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    rig.fake.set_connected(&input, true).unwrap();
    wait_input(&rig, InputStatus::ReceivingTraffic).await;
    assert_eq!(rig.status().await.stream.state, StreamPhase::Offline);
    // …and with the key back, the next arrival of OBS starts the stream.
    rig.secrets.set(&key_name, &key).unwrap();
    rig.fake.set_connected(&input, false).unwrap();
    wait_input(&rig, InputStatus::NoTraffic).await;
    assert!(rig.engine.stream_history().unwrap().is_empty());
    rig.fake.set_connected(&input, true).unwrap();
    rig.wait_state(StreamPhase::Live).await;
    assert_eq!(rig.engine.stream_history().unwrap().len(), 1);
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_auto_start_and_source_timeout_with_real_obs_and_platforms() {
    if !relay_support::tools_available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install the relay peers (scripts/relay-deps.sh)");
        eprintln!("SKIP: ffmpeg/nginx-rtmp not installed (scripts/relay-deps.sh)");
        return;
    }
    let nginx = relay_support::Nginx::start(&["tw"]);
    let mut cfg = config("user-1");
    cfg.platforms = vec![PlatformConfig {
        name: "tw-main".into(),
        kind: PlatformKind::Custom,
        url: Some(nginx.url("tw")),
        enabled: true,
    }];
    cfg.stream.auto_start = true;
    cfg.local.source_timeout_ms = 1000;
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    e.join("window:main", streampai::SessionKind::Window, None);
    wait_until_async("relay up", Duration::from_secs(10), || async { local_ingest_addr(&e).await.is_some() })
        .await;
    let key = e.status().await.ingest.stream_key.unwrap();
    let addr = local_ingest_addr(&e).await.unwrap();
    let live = || async {
        let s = e.status().await;
        s.stream.state == StreamPhase::Live && s.stream.platforms["tw-main"].bytes_sent.is_some_and(|b| b > 0)
    };

    // OBS publishes 3 s → the stream starts by itself, then ends by the source timeout.
    let mut obs = relay_support::publish(addr, "live", &key, Some(3));
    wait_until_async("auto-started and relaying", Duration::from_secs(20), live).await;
    let first = e.status().await.stream.uuid.unwrap();
    assert!(obs.wait().await.unwrap().success());
    let h = wait_recorded(&e, 1).await;
    assert_eq!((h[0].uuid, h[0].ended_by.as_deref()), (first, Some("source_lost")));
    assert!(h[0].platforms["tw-main"].bytes_sent.is_some_and(|b| b > 0), "{h:?}");
    assert!(relay_outputs_gone(&e).await, "output removed");
    assert!(!nginx.recordings("tw").is_empty(), "the platform received the stream");

    // OBS again → a new stream; a manual stop while OBS still sends is not undone.
    let mut obs = relay_support::publish(addr, "live", &key, Some(3));
    wait_until_async("auto-started again", Duration::from_secs(20), live).await;
    let second = e.status().await.stream.uuid.unwrap();
    assert_ne!(first, second);
    e.stop_stream().await.unwrap();
    assert_eq!(e.status().await.input, InputStatus::ReceivingTraffic, "OBS still sending at the stop");
    assert!(obs.wait().await.unwrap().success());
    wait_until_async("OBS gone", Duration::from_secs(10), || async {
        e.status().await.input == InputStatus::NoTraffic
    })
    .await;
    let h = wait_recorded(&e, 2).await;
    assert_eq!((h[0].uuid, h[0].ended_by.as_deref()), (second, Some("stopped")));
    assert_eq!(e.status().await.stream.state, StreamPhase::Offline);
    e.shutdown().await;
}
