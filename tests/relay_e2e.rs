//! The local relay end to end, with real peers on loopback: ffmpeg publishes H.264 + AAC to the
//! relay, nginx-rtmp instances stand in for the platforms and record what they get, ffprobe
//! checks every recording. Needs `scripts/relay-deps.sh` (skips with a message otherwise).

mod relay_support;

use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use relay_support::{assert_complete, media, probe, publish, starts_on_keyframe, wait_until, Nginx, Probe};
use streampai::relay::{OutputState, OutputStats, RejectReason, Relay, RelayConfig, RelayEvent, RelayHandle};
use streampai::secrets::Secret;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

async fn start_relay(key: &str, tweak: impl FnOnce(&mut RelayConfig)) -> RelayHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = RelayConfig::new(Secret::new(key));
    cfg.retry_initial = Duration::from_millis(200);
    cfg.retry_max = Duration::from_millis(800);
    tweak(&mut cfg);
    Relay::start(cfg, listener, CancellationToken::new()).await.expect("relay starts")
}

async fn run(mut child: tokio::process::Child) -> ExitStatus {
    let limit = Duration::from_secs(relay_support::MEDIA_SECS as u64 + 30);
    tokio::time::timeout(limit, child.wait()).await.expect("publisher finished in time").unwrap()
}

fn output(relay: &RelayHandle, name: &str) -> OutputStats {
    relay.outputs().into_iter().find(|o| o.name == name).expect("output exists")
}

/// Once the publisher is gone and the named outputs have written everything, take their stats
/// and remove them (a clean unpublish, which completes the recordings).
async fn finish(relay: &RelayHandle, names: &[&str]) -> Vec<OutputStats> {
    let flushed = wait_until(Duration::from_secs(15), || {
        !relay.ingest().publishing && names.iter().all(|n| output(relay, n).queued_bytes == 0)
    })
    .await;
    assert!(flushed, "outputs did not flush: {:?}", relay.outputs());
    let stats: Vec<OutputStats> = names.iter().map(|n| output(relay, n)).collect();
    for n in names {
        relay.remove_output(n).await.expect("remove output");
    }
    stats
}

fn assert_no_keys_logged(keys: &[&str]) {
    let log = relay_support::captured_log();
    assert!(!log.is_empty(), "the relay logs something");
    for k in keys {
        assert!(!log.contains(k), "a stream key reached the log");
    }
}

async fn next_rejection(events: &mut broadcast::Receiver<RelayEvent>) -> RejectReason {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await.expect("a rejection event") {
            Ok(RelayEvent::PublishRejected { reason, .. }) => return reason,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("event stream ended: {e}"),
        }
    }
}

/// The first `secs` seconds of the source, as `ffmpeg -t secs -c copy` cuts them.
fn cut_probe(secs: u32) -> Probe {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.flv");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-t", &secs.to_string(), "-i"])
        .arg(&media().path)
        .args(["-c", "copy"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    probe(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_publisher_reaches_three_platforms_completely() {
    require_tools!();
    let src = &media().probe;
    let nginx = Nginx::start(&["p1", "p2", "p3"]);
    let relay = start_relay("obs-key-fanout-1", |_| {}).await;
    for p in ["p1", "p2", "p3"] {
        relay.add_output(p, &nginx.url(p), Secret::new(format!("platform-key-{p}-fanout"))).await.unwrap();
    }
    let dup = relay.add_output("p1", &nginx.url("p1"), Secret::new("x")).await;
    assert!(dup.is_err(), "names are unique");
    assert!(relay.outputs().iter().all(|o| o.state == OutputState::WaitingForSource && !o.connected));

    let status = run(publish(relay.local_addr(), "live", "obs-key-fanout-1", None)).await;
    assert!(status.success(), "ffmpeg published");
    let ingest = relay.ingest();
    assert!(ingest.bytes_in > 2_000_000, "{ingest:?}");
    let (v, a) = (ingest.video.unwrap(), ingest.audio.unwrap());
    assert_eq!(
        (v.codec.as_str(), v.profile.as_deref(), v.width, v.height),
        ("h264", Some("main"), Some(1280), Some(720))
    );
    assert_eq!((a.codec.as_str(), a.sample_rate, a.channels), ("aac", Some(48000), Some(2)));

    let stats = finish(&relay, &["p1", "p2", "p3"]).await;
    for s in &stats {
        assert_eq!((s.dropped_frames, s.reconnects), (0, 0), "{s:?}");
        assert!(s.bytes_sent > ingest.bytes_in, "{s:?}");
        assert!(s.avg_bitrate_1m_kbps > 1500, "{s:?}");
        // One vectored write per message at most (several when they queued up together), not
        // one per RTMP chunk; a few more for the commands of connecting and publishing.
        let messages = src.video_frames + src.audio_frames;
        assert!(s.writes > 0 && s.writes <= messages + 10, "{} writes for {messages} messages", s.writes);
    }
    for p in ["p1", "p2", "p3"] {
        let rec = nginx.wait_recording(p, src, 2).await;
        assert_complete(&rec, src, 2, p);
        let files = nginx.recordings(p);
        assert_eq!(files.len(), 1, "{p}: one connection, one recording");
        assert!(starts_on_keyframe(&files[0]), "{p}");
    }
    assert!(relay.outputs().is_empty());
    relay.shutdown().await;
    assert_no_keys_logged(&["obs-key-fanout-1", "platform-key-p1-fanout", "platform-key-p2-fanout"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_or_app_is_rejected_and_the_right_key_still_works() {
    require_tools!();
    let relay = start_relay("obs-key-right-2", |_| {}).await;
    let mut events = relay.subscribe();
    let addr = relay.local_addr();

    let status = run(publish(addr, "live", "obs-key-guess-2", Some(2))).await;
    assert!(!status.success(), "ffmpeg must fail on a wrong key");
    assert_eq!(next_rejection(&mut events).await, RejectReason::WrongKey);
    let status = run(publish(addr, "other-app", "obs-key-right-2", Some(2))).await;
    assert!(!status.success(), "ffmpeg must fail on a wrong application");
    assert_eq!(next_rejection(&mut events).await, RejectReason::UnknownApp);
    assert!(!relay.ingest().publishing);
    assert_eq!(relay.ingest().bytes_in, 0);

    let status = run(publish(addr, "live", "obs-key-right-2", Some(2))).await;
    assert!(status.success(), "the right key is accepted after rejections");
    assert!(relay.ingest().bytes_in > 300_000, "{:?}", relay.ingest());
    relay.shutdown().await;
    assert_no_keys_logged(&["obs-key-guess-2", "obs-key-right-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_platform_reconnects_on_a_keyframe_and_the_others_stay_complete() {
    require_tools!();
    let src = &media().probe;
    let a = Nginx::start(&["p1", "p2"]);
    let mut b = Nginx::start(&["p3"]);
    let b_port = b.port;
    let relay = start_relay("obs-key-kill-3", |_| {}).await;
    for (p, n) in [("p1", &a), ("p2", &a), ("p3", &b)] {
        relay.add_output(p, &n.url(p), Secret::new(format!("platform-key-{p}-kill"))).await.unwrap();
    }
    let publisher = publish(relay.local_addr(), "live", "obs-key-kill-3", None);
    assert!(wait_until(Duration::from_secs(10), || output(&relay, "p3").bytes_sent > 300_000).await);
    b.kill();
    let retrying = wait_until(Duration::from_secs(5), || {
        matches!(output(&relay, "p3").state, OutputState::Retrying { .. })
    })
    .await;
    assert!(retrying, "{:?}", output(&relay, "p3"));
    let b2 = Nginx::start_on(b_port, &["p3"], None);
    let back = wait_until(Duration::from_secs(10), || {
        let o = output(&relay, "p3");
        o.connected && o.state == OutputState::Live
    })
    .await;
    assert!(back, "{:?}", output(&relay, "p3"));
    assert!(run(publisher).await.success());

    let stats = finish(&relay, &["p1", "p2", "p3"]).await;
    assert!(stats[2].reconnects >= 1, "{:?}", stats[2]);
    assert_eq!((stats[0].reconnects, stats[1].reconnects), (0, 0));
    for p in ["p1", "p2"] {
        let rec = a.wait_recording(p, src, 2).await;
        assert_complete(&rec, src, 2, p);
    }
    let files = b2.recordings("p3");
    assert_eq!(files.len(), 1);
    assert!(starts_on_keyframe(&files[0]), "the reconnected platform starts on a keyframe");
    let rec = probe(&files[0]).expect("readable recording after the reconnect");
    assert_eq!((rec.video_codec.as_str(), rec.audio_codec.as_str()), ("h264", "aac"));
    assert!(rec.video_frames >= 60, "{rec:?}");
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_publisher_drop_keeps_the_platforms_connected() {
    require_tools!();
    let part = cut_probe(3);
    let nginx = Nginx::start(&["p1", "p2"]);
    let relay = start_relay("obs-key-drop-4", |_| {}).await;
    for p in ["p1", "p2"] {
        relay.add_output(p, &nginx.url(p), Secret::new(format!("platform-key-{p}-drop"))).await.unwrap();
    }
    let mut ingest = relay.watch_ingest();
    assert!(run(publish(relay.local_addr(), "live", "obs-key-drop-4", Some(3))).await.success());
    let idle = tokio::time::timeout(
        Duration::from_secs(10),
        ingest.wait_for(|s| *s == streampai::relay::IngestState::Idle),
    );
    assert!(idle.await.is_ok(), "ingest goes idle when OBS leaves");
    for o in relay.outputs() {
        assert!(o.connected && o.state == OutputState::WaitingForSource, "{o:?}");
    }
    // OBS comes back: the same connections carry on from its first keyframe.
    assert!(run(publish(relay.local_addr(), "live", "obs-key-drop-4", Some(3))).await.success());
    let stats = finish(&relay, &["p1", "p2"]).await;
    for s in &stats {
        assert_eq!((s.reconnects, s.dropped_frames), (0, 0), "{s:?}");
    }
    for p in ["p1", "p2"] {
        let files = nginx.recordings(p);
        assert_eq!(files.len(), 1, "{p}: still the first connection");
        assert!(starts_on_keyframe(&files[0]));
        let want = Probe {
            video_frames: 2 * part.video_frames,
            audio_frames: 2 * part.audio_frames,
            ..part.clone()
        };
        let rec = nginx.wait_recording(p, &want, 3).await;
        assert_eq!((rec.video_codec.as_str(), rec.audio_codec.as_str()), ("h264", "aac"));
    }
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmps_with_a_self_signed_certificate() {
    require_tools!();
    let src = &media().probe;
    let certs = tempfile::tempdir().unwrap();
    let tls = relay_support::self_signed(certs.path());
    let nginx = Nginx::start_on(relay_support::free_port(), &["p1"], Some(&tls));
    let url = format!("rtmps://127.0.0.1:{}/p1", nginx.tls_port.unwrap());
    let trusting = start_relay("obs-key-tls-5", |c| c.extra_ca_file = Some(tls.cert.clone())).await;
    let untrusting = start_relay("obs-key-tls-5b", |_| {}).await;
    trusting.add_output("tls", &url, Secret::new("platform-key-tls-ok")).await.unwrap();
    untrusting.add_output("tls", &url, Secret::new("platform-key-tls-untrusted")).await.unwrap();

    let p1 = publish(trusting.local_addr(), "live", "obs-key-tls-5", None);
    let p2 = publish(untrusting.local_addr(), "live", "obs-key-tls-5b", Some(3));
    let refused = wait_until(Duration::from_secs(10), || {
        matches!(&output(&untrusting, "tls").state, OutputState::Retrying { reason, .. } if reason.detail.contains("TLS"))
    })
    .await;
    assert!(refused, "an unknown certificate is refused: {:?}", output(&untrusting, "tls"));
    assert!(run(p1).await.success() && run(p2).await.success());
    let stats = finish(&trusting, &["tls"]).await;
    assert_eq!(stats[0].reconnects, 0, "{:?}", stats[0]);
    let rec = nginx.wait_recording("p1", src, 2).await;
    assert_complete(&rec, src, 2, "rtmps");
    trusting.shutdown().await;
    untrusting.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_platform_drops_frames_without_hurting_the_ingest_or_the_others() {
    require_tools!();
    let src = &media().probe;
    let nginx = Nginx::start(&["p1", "slow"]);
    let upstream = SocketAddr::from(([127, 0, 0, 1], nginx.port));
    let (proxy, _proxy_task) = relay_support::proxy::stalling(upstream, 64 * 1024).await;
    let limit = 256 * 1024;
    let relay = start_relay("obs-key-slow-6", |c| {
        c.queue_limit = limit;
        c.write_stall_timeout = Duration::from_secs(60);
        // Without a cap, Linux lets ~4 MiB (more than this whole test stream) queue in the
        // kernel before a write blocks; the drop policy is what is under test here.
        c.send_buffer = 64 * 1024;
    })
    .await;
    relay.add_output("p1", &nginx.url("p1"), Secret::new("platform-key-p1-slow")).await.unwrap();
    relay
        .add_output("slow", &format!("rtmp://{proxy}/slow"), Secret::new("platform-key-slow"))
        .await
        .unwrap();

    let started = Instant::now();
    assert!(run(publish(relay.local_addr(), "live", "obs-key-slow-6", None)).await.success());
    let took = started.elapsed().as_secs_f64();
    assert!(took < src.duration + 3.0, "the publisher was held back: {took:.1} s");
    let slow = output(&relay, "slow");
    assert!(slow.dropped_frames > 0 && slow.connected, "{slow:?}");
    assert!(slow.queued_bytes <= limit + 512 * 1024, "{slow:?}");
    assert!(relay.buffered_bytes() < 8 * 1024 * 1024);

    let stats = finish(&relay, &["p1"]).await;
    assert_eq!(stats[0].dropped_frames, 0, "{:?}", stats[0]);
    let rec = nginx.wait_recording("p1", src, 2).await;
    assert_complete(&rec, src, 2, "p1 next to a stalled platform");
    let removed = tokio::time::timeout(Duration::from_secs(12), relay.remove_output("slow")).await;
    assert!(matches!(removed, Ok(Ok(()))), "a stalled output can still be removed");
    relay.shutdown().await;
}
