//! The OBS connection inside the tree, against the in-process fake obs-websocket server: the
//! paths real OBS cannot produce on demand (slow answers, a malformed frame, a peer that never
//! greets, an actor crash, OBS's STARTED arriving after the app already stopped), and the
//! Cloudflare monitor's immediate poll. Real OBS: `tests/obs_link.rs`, `tests/obs_stream.rs`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::support::*;
use crate::obs::fake::{Behaviour, FakeObs, Greet};
use streampai::failure::{FailureKind, FailureSource};
use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::{Engine, Event, ObsState, StreamPhase};

const STARTED: &str = "OBS_WEBSOCKET_OUTPUT_STARTED";

fn local_engine(fake: &FakeObs) -> Engine {
    let mut cfg = config("user-1");
    cfg.obs.enabled = true;
    cfg.obs.url = fake.url.clone();
    let secrets = secrets_for(&cfg, None);
    secrets.set(&SecretName::ObsPassword, &Secret::new("fake-password")).unwrap();
    let e = engine(cfg, secrets);
    e.user().set_obs_test_timeouts(Duration::from_millis(400));
    e.join("window:main", streampai::SessionKind::Window, None);
    e
}

async fn wait_obs(e: &Engine, state: ObsState) {
    wait_until(&format!("OBS {state:?}"), Duration::from_secs(10), || e.obs_status().state == state).await;
}

#[tokio::test]
async fn slow_answers_reset_the_link_and_it_comes_back() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let e = local_engine(&fake);
    wait_obs(&e, ObsState::Connected).await;
    // OBS streams (polled every 2 s), then stops answering in time.
    fake.stream_event(true, STARTED);
    wait_until("streaming", Duration::from_secs(5), || e.obs_status().streaming).await;
    fake.set(|b| b.answer_delay = Duration::from_millis(900));
    wait_obs(&e, ObsState::Unreachable).await;
    let p = e.obs_status().problem.unwrap();
    assert_eq!((p.kind, p.source), (FailureKind::Timeout, FailureSource::Obs), "{p:?}");
    assert!(!e.obs_status().streaming, "no stream shown for an OBS that does not answer");
    // Answers in time again: connected again by itself.
    fake.set(|b| b.answer_delay = Duration::ZERO);
    wait_obs(&e, ObsState::Connected).await;
    assert!(e.obs_status().streaming, "the fresh link reads OBS's stream state");
    e.shutdown().await;
}

#[tokio::test]
async fn a_malformed_frame_resets_the_link() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let e = local_engine(&fake);
    wait_obs(&e, ObsState::Connected).await;
    let mut rx = e.subscribe();
    fake.send(
        "{\"op\":5,\"d\":{\"eventType\":\"StreamStateChanged\",\"eventData\":{\"outputActive\":\"yes\"}}}",
    );
    next_event(&mut rx, Duration::from_secs(5), |ev| {
        matches!(ev, Event::ObsStatus { status, .. }
            if status.problem.as_ref().is_some_and(|p| p.kind == FailureKind::Protocol))
    })
    .await;
    wait_obs(&e, ObsState::Connected).await;
    assert_eq!(fake.identified.load(Ordering::SeqCst), 2, "one reconnection");
    e.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_never_greets_is_incompatible_and_retried_slowly() {
    let fake = FakeObs::start(Behaviour { greet: Greet::Silent, ..Behaviour::default() }).await;
    let e = local_engine(&fake);
    wait_obs(&e, ObsState::Incompatible).await;
    let p = e.obs_status().problem.unwrap();
    assert_eq!((p.kind, p.source), (FailureKind::Protocol, FailureSource::Obs));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1, "30 s between attempts");
    e.shutdown().await;
}

#[tokio::test]
async fn a_crashed_connection_is_restarted_and_reconnects() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let e = local_engine(&fake);
    wait_obs(&e, ObsState::Connected).await;
    let mut rx = e.subscribe();
    e.user().obs.inject_panic().await;
    next_event(
        &mut rx,
        Duration::from_secs(5),
        |ev| matches!(ev, Event::ChildRestarted { child, .. } if child == "ObsConnection"),
    )
    .await;
    wait_until("reconnected", Duration::from_secs(10), || {
        fake.identified.load(Ordering::SeqCst) == 2 && e.obs_status().state == ObsState::Connected
    })
    .await;
    e.shutdown().await;
}

#[tokio::test]
async fn one_start_both_ways_and_a_late_started_after_the_app_stopped() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let e = local_engine(&fake);
    wait_obs(&e, ObsState::Connected).await;
    // App Start → OBS StartStream; App Stop → OBS StopStream.
    e.start_stream().await.unwrap();
    wait_until("OBS started", Duration::from_secs(5), || fake.state.streaming.load(Ordering::SeqCst)).await;
    e.stop_stream().await.unwrap();
    wait_until("OBS stopped", Duration::from_secs(5), || !fake.state.streaming.load(Ordering::SeqCst)).await;
    wait_until("shown stopped", Duration::from_secs(5), || !e.obs_status().streaming).await;

    // OBS takes its time to start; the app stops meanwhile. Once OBS has started, it is stopped,
    // and the app does not start again from OBS's late STARTED.
    fake.set(|b| b.hold_started = true);
    e.start_stream().await.unwrap();
    wait_until("OBS asked to start", Duration::from_secs(5), || {
        fake.state.starts.load(Ordering::SeqCst) == 2
    })
    .await;
    e.stop_stream().await.unwrap();
    fake.stream_event(true, STARTED);
    // The connection decides on STARTED once: stop OBS (the app stopped meanwhile) or start the
    // app; OBS stopped means the first.
    wait_until("OBS stopped again", Duration::from_secs(5), || !fake.state.streaming.load(Ordering::SeqCst))
        .await;
    assert_eq!(e.status().await.stream.state, StreamPhase::Offline, "no start from the late STARTED");

    // OBS's own Start → the app starts.
    fake.set(|b| b.hold_started = false);
    fake.stream_event(true, STARTED);
    wait_until_async("the app started", Duration::from_secs(5), || async {
        e.status().await.stream.state != StreamPhase::Offline
    })
    .await;
    e.shutdown().await;
}

#[tokio::test]
async fn a_start_and_stop_in_obs_never_echo_back_as_a_start_command() {
    // OBS's Start makes the app start; if OBS's Stop arrives before the app's own Starting event
    // is seen, that event is still OBS's echo: OBS must not be told to start again. The order of
    // the two is up to the scheduler, hence several rounds.
    let fake = FakeObs::start(Behaviour::default()).await;
    let e = local_engine(&fake);
    wait_obs(&e, ObsState::Connected).await;
    for round in 0..6 {
        fake.stream_event(true, STARTED);
        fake.stream_event(false, "OBS_WEBSOCKET_OUTPUT_STOPPING");
        fake.stream_event(false, "OBS_WEBSOCKET_OUTPUT_STOPPED");
        wait_until_async("the app started", Duration::from_secs(5), || async {
            e.status().await.stream.state != StreamPhase::Offline
        })
        .await;
        e.stop_stream().await.unwrap();
        wait_until_async("the app stopped", Duration::from_secs(10), || async {
            e.status().await.stream.state == StreamPhase::Offline
        })
        .await;
        assert_eq!(fake.state.starts.load(Ordering::SeqCst), 0, "round {round}: OBS was told to start again");
    }
    e.shutdown().await;
}

#[tokio::test]
async fn with_cloudflare_an_obs_start_polls_the_live_input_at_once() {
    let obs = FakeObs::start(Behaviour::default()).await;
    let rig = Rig::with(&FIVE[..1], |c| {
        c.cloudflare.poll_interval_ms = 60_000;
        c.obs.enabled = true;
        c.obs.url = obs.url.clone();
        c.obs.start_with_stream = false;
    })
    .await;
    rig.secrets.set(&SecretName::ObsPassword, &Secret::new("fake-password")).unwrap();
    rig.open_window("window:main");
    let uid = rig.input_uid().await;
    wait_until("OBS connected and the first poll done", Duration::from_secs(10), || {
        rig.engine.obs_status().state == ObsState::Connected
            && rig.fake.request_count_for(fake_cloudflare::RouteKind::GetLiveInput) >= 1
    })
    .await;
    let before = rig.fake.request_count_for(fake_cloudflare::RouteKind::GetLiveInput);
    rig.fake.set_connected(&uid, true).unwrap();
    obs.stream_event(true, STARTED);
    wait_until_async("receiving traffic long before the 60 s poll", Duration::from_secs(5), || async {
        rig.status().await.input == streampai::InputStatus::ReceivingTraffic
    })
    .await;
    assert!(rig.fake.request_count_for(fake_cloudflare::RouteKind::GetLiveInput) > before);
    rig.shutdown().await;
}
