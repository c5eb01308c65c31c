//! Start/stop against the fake Cloudflare over real loopback HTTP: outputs created then deleted,
//! UUIDs, traffic detection, faults, reconcile, leases and bad input.

mod support;

use std::time::Duration;

use fake_cloudflare::{Fault, RouteKind};
use streampai::{EngineError, Event};
use streampai::{InputStatus, PlatformStatus, StreamPhase};
use support::*;

#[tokio::test]
async fn start_and_stop_with_five_platforms() {
    let mut rig = Rig::new(FIVE).await;
    rig.open_window("window:main");
    let uuid = rig.engine.start_stream().await.unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    let outputs = rig.fake.outputs(&input);
    assert_eq!(outputs.len(), 5);
    let mut urls: Vec<&str> = outputs.iter().map(|o| o.url.as_str()).collect();
    urls.sort();
    assert!(urls.contains(&"rtmp://live.twitch.tv/app"));
    assert!(urls.contains(&"rtmp://a.rtmp.youtube.com/live2"));
    assert!(urls.contains(&"rtmps://custom-rtmp.example.com:443/live"));
    assert!(outputs.iter().any(|o| o.stream_key == "live_kick-main_key"));
    let status = rig.status().await;
    assert_eq!(status.stream.uuid, Some(uuid));
    assert_eq!(status.ingest.backend, streampai::config::IngestBackend::Cloudflare);
    assert_eq!(status.ingest.url.as_deref(), Some("rtmps://live.cloudflare.com:443/live/"));
    let key = status.ingest.stream_key.clone().expect("the OBS stream key is in the status");
    assert_eq!(rig.fake.live_inputs()[0].rtmps_stream_key, key);
    assert!(status.stream.platforms.values().all(|p| p.status == PlatformStatus::Live), "{status:?}");

    assert_eq!(rig.engine.stop_stream().await.unwrap(), uuid);
    assert!(rig.fake.outputs(&input).is_empty(), "every output deleted on stop");
    let status = rig.status().await;
    assert_eq!((status.stream.state, status.stream.uuid), (StreamPhase::Offline, None));
    assert!(status.stream.platforms.values().all(|p| p.status == PlatformStatus::Stopped));

    // The next stream gets a new UUID.
    let second = rig.engine.start_stream().await.unwrap();
    assert_ne!(second, uuid);
    rig.wait_state(StreamPhase::Live).await;
    let evs = drain(&mut rig.events);
    let states: Vec<StreamPhase> = evs
        .iter()
        .filter_map(|e| match e {
            Event::StreamState { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    use StreamPhase::*;
    assert_eq!(states, vec![Starting, Live, Stopping, Offline, Starting, Live]);
    rig.shutdown().await;
}

#[tokio::test]
async fn invalid_transitions_are_refused() {
    let rig = Rig::new(&FIVE[..1]).await;
    let err = rig.engine.stop_stream().await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidTransition { .. }), "{err:?}");
    rig.engine.start_stream().await.unwrap();
    let err = rig.engine.start_stream().await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidTransition { .. }), "{err:?}");
    rig.wait_state(StreamPhase::Live).await;
    assert!(matches!(rig.engine.start_stream().await, Err(EngineError::InvalidTransition { .. })));
    rig.engine.stop_stream().await.unwrap();
    assert!(matches!(rig.engine.stop_stream().await, Err(EngineError::InvalidTransition { .. })));
    rig.shutdown().await;
}

#[tokio::test]
async fn the_monitor_detects_obs_traffic_on_change_only() {
    let mut rig = Rig::new(&[]).await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    wait_until_async("no traffic", Duration::from_secs(5), || async {
        rig.status().await.input == InputStatus::NoTraffic
    })
    .await;
    rig.fake.set_connected(&input, true).unwrap();
    wait_until_async("traffic", Duration::from_secs(5), || async {
        rig.status().await.input == InputStatus::ReceivingTraffic
    })
    .await;
    // Several polls later, no repeated event.
    let polls = rig.fake.request_count_for(RouteKind::GetLiveInput);
    wait_until("more polls", Duration::from_secs(5), || {
        rig.fake.request_count_for(RouteKind::GetLiveInput) > polls + 3
    })
    .await;
    rig.fake.set_connected(&input, false).unwrap();
    wait_until_async("no traffic again", Duration::from_secs(5), || async {
        rig.status().await.input == InputStatus::NoTraffic
    })
    .await;
    let seen: Vec<InputStatus> = drain(&mut rig.events)
        .into_iter()
        .filter_map(|e| match e {
            Event::InputStatus { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(seen, vec![InputStatus::NoTraffic, InputStatus::ReceivingTraffic, InputStatus::NoTraffic]);
    rig.shutdown().await;
}

#[tokio::test]
async fn the_monitor_backs_off_on_errors_and_recovers() {
    let rig = Rig::new(&[]).await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    wait_until_async("first poll", Duration::from_secs(5), || async {
        rig.status().await.input == InputStatus::NoTraffic
    })
    .await;
    rig.fake.inject_for(RouteKind::GetLiveInput, Fault::Status(502), 3);
    rig.fake.set_connected(&input, true).unwrap();
    // Three failures back off 50, 100, 200 ms (±20 %), then the next poll succeeds.
    wait_until_async("traffic after the failures", Duration::from_secs(5), || async {
        rig.status().await.input == InputStatus::ReceivingTraffic
    })
    .await;
    // A 429 with retry-after is honoured: no poll during the next ~1 s.
    rig.fake.inject_for(RouteKind::GetLiveInput, Fault::RateLimited { retry_after_secs: 1 }, 1);
    let before = rig.fake.request_count_for(RouteKind::GetLiveInput);
    wait_until("the 429 is served", Duration::from_secs(5), || {
        rig.fake.request_count_for(RouteKind::GetLiveInput) > before
    })
    .await;
    let after_429 = rig.fake.request_count_for(RouteKind::GetLiveInput);
    tokio::time::sleep(Duration::from_millis(700)).await; // a negative check needs a window
    assert!(
        rig.fake.request_count_for(RouteKind::GetLiveInput) <= after_429 + 1,
        "polled during retry-after"
    );
    rig.fake.set_connected(&input, false).unwrap();
    wait_until_async("detection resumes", Duration::from_secs(5), || async {
        rig.status().await.input == InputStatus::NoTraffic
    })
    .await;
    rig.shutdown().await;
}

async fn platform_history(
    rig: &mut Rig,
    name: &str,
    until: impl Fn(&PlatformStatus) -> bool,
) -> Vec<PlatformStatus> {
    let mut seen = vec![];
    loop {
        let ev = next_event(
            &mut rig.events,
            Duration::from_secs(15),
            |e| matches!(e, Event::PlatformStatus { platform, .. } if platform == name),
        )
        .await;
        if let Event::PlatformStatus { status, .. } = ev {
            let done = until(&status);
            seen.push(status);
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test]
async fn retryable_faults_retry_then_go_live() {
    for fault in [
        Fault::Status(503),
        Fault::RateLimited { retry_after_secs: 1 },
        Fault::Delay(Duration::from_millis(2500)), // beyond the 2 s request timeout
        Fault::MalformedJson,
    ] {
        let mut rig = Rig::new(&FIVE[..1]).await;
        rig.open_window("window:main");
        rig.input_uid().await;
        rig.fake.inject_for(RouteKind::CreateOutput, fault.clone(), 2);
        rig.engine.start_stream().await.unwrap();
        let seen = platform_history(&mut rig, "twitch-main", |s| *s == PlatformStatus::Live).await;
        let attempts: Vec<u32> = seen
            .iter()
            .filter_map(|s| match s {
                PlatformStatus::Retrying { attempt, .. } => Some(*attempt),
                _ => None,
            })
            .collect();
        assert_eq!(attempts, vec![1, 2], "{fault:?}: {seen:?}");
        assert_eq!(seen.last(), Some(&PlatformStatus::Live));
        let input = rig.input_uid().await;
        assert_eq!(rig.fake.outputs(&input).len(), 1, "{fault:?}: exactly one output");
        rig.shutdown().await;
    }
}

#[tokio::test]
async fn one_platform_failing_never_touches_another() {
    let mut rig = Rig::new(&FIVE[..3]).await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    rig.fake.inject_for(RouteKind::CreateOutput, Fault::Unauthorized, 1);
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let status = rig.status().await;
    let failed: Vec<_> = status
        .stream
        .platforms
        .iter()
        .filter(|(_, s)| matches!(s.status, PlatformStatus::Failed { .. }))
        .collect();
    let live = status.stream.platforms.values().filter(|s| s.status == PlatformStatus::Live).count();
    assert_eq!((failed.len(), live), (1, 2), "{status:?}");
    if let PlatformStatus::Failed { reason } = &failed[0].1.status {
        assert_eq!(
            (reason.kind, reason.source),
            (streampai::failure::FailureKind::AuthRejected, streampai::failure::FailureSource::Cloudflare),
            "{reason:?}"
        );
        assert!(!reason.detail.is_empty());
        assert!(!reason.detail.contains(rig.fake.token()), "no secret in the reason");
    }
    assert_eq!(rig.fake.outputs(&input).len(), 2);
    // No restarts or retries happened for the healthy ones.
    let retried = drain(&mut rig.events)
        .into_iter()
        .any(|e| matches!(e, Event::PlatformStatus { status: PlatformStatus::Retrying { .. }, .. }));
    assert!(!retried);
    rig.engine.stop_stream().await.unwrap();
    assert!(rig.fake.outputs(&input).is_empty());
    rig.shutdown().await;
}

#[tokio::test]
async fn retries_are_bounded_then_failed() {
    let mut rig = Rig::with(&FIVE[..1], |c| c.stream.max_attempts = 3).await;
    rig.open_window("window:main");
    rig.input_uid().await;
    rig.fake.inject_for(RouteKind::CreateOutput, Fault::Status(500), 10);
    rig.engine.start_stream().await.unwrap();
    let seen =
        platform_history(&mut rig, "twitch-main", |s| matches!(s, PlatformStatus::Failed { .. })).await;
    assert_eq!(seen.len(), 4, "starting, retrying ×2, failed: {seen:?}");
    rig.wait_state(StreamPhase::Live).await;
    rig.shutdown().await;
}

#[tokio::test]
async fn outputs_lost_in_a_crash_are_removed_at_the_next_start() {
    let rig = Rig::new(&FIVE[..2]).await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    // Orphans: outputs a previous run created and lost track of.
    let http = reqwest::Client::new();
    for i in 0..2 {
        let url = format!(
            "{}/accounts/{}/stream/live_inputs/{input}/outputs",
            rig.fake.base_url(),
            rig.fake.account_id()
        );
        let res = http
            .post(url)
            .bearer_auth(rig.fake.token())
            .json(&serde_json::json!({"url": format!("rtmp://old-{i}.example.com/app"), "streamKey": "old"}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    assert_eq!(rig.fake.outputs(&input).len(), 2);
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let outputs = rig.fake.outputs(&input);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert!(outputs.iter().all(|o| !o.url.contains("old-")), "orphans removed: {outputs:?}");
    rig.shutdown().await;
}

#[tokio::test]
async fn a_live_stream_holds_the_tree_without_windows() {
    let rig = Rig::new(&FIVE[..1]).await;
    rig.open_window("window:main");
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    rig.close_window("window:main");
    tokio::time::sleep(Duration::from_millis(900)).await; // three graces: a negative check
    assert!(rig.engine.is_running(), "live stream keeps the tree");
    assert_eq!(rig.status().await.stream.state, StreamPhase::Live);
    rig.engine.stop_stream().await.unwrap();
    wait_until("tree stops after the grace", Duration::from_secs(5), || !rig.engine.is_running()).await;
    rig.shutdown().await;
}

#[tokio::test]
async fn start_with_no_session_starts_the_tree_and_the_lease_holds_it() {
    let rig = Rig::new(&FIVE[..1]).await;
    assert!(!rig.engine.is_running());
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(rig.engine.is_running());
    let sessions = rig.engine.sessions();
    assert_eq!(sessions.len(), 1, "only the stream's lease: {sessions:?}");
    assert_eq!(sessions[0].id, "lease:stream");
    rig.engine.stop_stream().await.unwrap();
    wait_until("tree stops", Duration::from_secs(5), || !rig.engine.is_running()).await;
    rig.shutdown().await;
}

#[tokio::test]
async fn stop_with_last_session_restores_the_original_behaviour() {
    let rig = Rig::with(&FIVE[..2], |c| c.presence.stop_with_last_session = true).await;
    rig.open_window("window:main");
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    assert_eq!(rig.fake.outputs(&input).len(), 2);
    rig.close_window("window:main");
    wait_until("tree stops although live", Duration::from_secs(10), || !rig.engine.is_running()).await;
    assert!(rig.fake.outputs(&input).is_empty(), "outputs deleted when the tree stopped");
    assert_eq!(rig.status().await.stream.state, StreamPhase::Offline);
    rig.shutdown().await;
}

#[tokio::test]
async fn bad_platform_input_starts_nothing() {
    let rig = Rig::new(&FIVE[..2]).await;
    use streampai::secrets::{Secret, SecretName, SecretStore};
    rig.secrets.set(&SecretName::StreamKey("youtube-main".into()), &Secret::new("   ")).unwrap();
    let err = rig.engine.start_stream().await.unwrap_err();
    match &err {
        EngineError::InvalidPlatform { message } => {
            assert!(message.contains("youtube-main: the stream key is empty"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    rig.secrets.delete(&SecretName::StreamKey("twitch-main".into())).unwrap();
    let EngineError::InvalidPlatform { message } = rig.engine.start_stream().await.unwrap_err() else {
        panic!()
    };
    assert!(
        message.contains("twitch-main") && message.contains("youtube-main"),
        "every problem named: {message}"
    );
    assert!(!rig.engine.is_running(), "nothing started");
    assert!(rig.fake.live_inputs().is_empty());
    rig.shutdown().await;
}

#[tokio::test]
async fn a_bad_cloudflare_token_fails_platforms_with_a_clear_reason() {
    let fake = fake().await;
    let cfg = cloud_config("user-1", &fake, &FIVE[..1]);
    let secrets = secrets_for(&cfg, Some(&fake));
    use streampai::secrets::{Secret, SecretName, SecretStore};
    secrets.set(&SecretName::CloudflareApiToken, &Secret::new("wrong-token")).unwrap();
    let e = engine(cfg, secrets);
    e.start_stream().await.unwrap();
    wait_until_async("failed", Duration::from_secs(10), || async {
        matches!(
            e.status().await.stream.platforms.get("twitch-main").map(|p| &p.status),
            Some(PlatformStatus::Failed { .. })
        )
    })
    .await;
    let st = e.status().await;
    let Some(PlatformStatus::Failed { reason }) = st.stream.platforms.get("twitch-main").map(|p| &p.status)
    else {
        panic!()
    };
    assert!(!reason.detail.contains("wrong-token"), "{reason}");
    assert_eq!(reason.kind, streampai::failure::FailureKind::AuthRejected, "{reason:?}");
    assert_eq!(reason.source, streampai::failure::FailureSource::Cloudflare, "{reason:?}");
    e.stop_stream().await.unwrap();
    e.shutdown().await;
    fake.shutdown().await;
}

#[tokio::test]
async fn quitting_while_live_takes_every_output_down_cleanly() {
    // A long stop timeout: if shutdown waited on anything but the deletes, it would take a minute.
    let rig = Rig::with(FIVE, |c| c.stream.stop_timeout_ms = 60_000).await;
    rig.open_window("window:main");
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    assert_eq!(rig.fake.outputs(&input).len(), 5);
    let t0 = std::time::Instant::now();
    rig.engine.shutdown().await;
    assert!(t0.elapsed() < Duration::from_secs(30), "shutdown hung for {:?}", t0.elapsed());
    assert!(rig.fake.outputs(&input).is_empty(), "every output deleted on quit");
    rig.shutdown().await;
}

#[tokio::test]
async fn fast_polling_never_starves_start_and_stop() {
    // A tiny request budget (burst 30, then one call per 10 s) and a poll every millisecond:
    // the polls alone would spend the whole budget within moments. Background polls must give
    // way, so that creating and deleting the outputs never waits for the budget.
    const N: usize = 3;
    let rig = Rig::with(&FIVE[..N], |c| {
        c.cloudflare.requests_per_5min = 30;
        c.cloudflare.poll_interval_ms = 1;
        c.stream.stop_timeout_ms = 3000;
    })
    .await;
    rig.open_window("window:main");
    let input = rig.input_uid().await;
    // Let the polls run into their limit.
    wait_until("polling started", Duration::from_secs(10), || {
        rig.fake.request_count_for(RouteKind::GetLiveInput) >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    assert_eq!(rig.fake.outputs(&input).len(), N);
    let status = rig.status().await;
    assert!(status.stream.platforms.values().all(|p| p.status == PlatformStatus::Live), "{status:?}");
    rig.engine.stop_stream().await.unwrap();
    assert!(rig.fake.outputs(&input).is_empty(), "every output deleted on stop");
    assert_eq!(rig.status().await.stream.state, StreamPhase::Offline);
    // And once more, then quit while live.
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    rig.engine.shutdown().await;
    assert!(rig.fake.outputs(&input).is_empty(), "every output deleted on quit");
    rig.shutdown().await;
}

#[tokio::test]
async fn stop_and_shutdown_while_live_never_hang() {
    // The desktop's Quit while live (stop, then shut the engine down) and a plain shutdown while
    // live, five rounds each against the fake with the desktop e2e's 500 ms polling. The bound
    // is only a hang detector (the desktop gives the engine 30 s), not a speed claim.
    let rounds = async {
        for round in 0..5 {
            let rig = Rig::with(&FIVE[..3], |c| {
                c.cloudflare.poll_interval_ms = 500;
                c.presence.cleanup_timeout_ms = 5000;
            })
            .await;
            // Requests in flight when the shutdown comes.
            rig.fake.set_latency(Duration::from_millis(40));
            rig.open_window("window:main");
            rig.engine.start_stream().await.unwrap();
            rig.wait_state(StreamPhase::Live).await;
            let input = rig.input_uid().await;
            assert_eq!(rig.fake.outputs(&input).len(), 3, "round {round}");
            // Like the tray: no window left, the live stream's lease holds the tree.
            rig.close_window("window:main");
            if round % 2 == 0 {
                rig.engine.stop_stream().await.unwrap();
            }
            rig.engine.shutdown().await;
            assert!(rig.fake.outputs(&input).is_empty(), "round {round}: outputs left behind");
            assert!(!rig.engine.is_running(), "round {round}");
            rig.shutdown().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), rounds).await.expect("stop + shutdown hung");
}
