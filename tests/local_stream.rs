//! The whole app with the local ingest, against real peers on loopback: the engine's relay takes
//! OBS's stream (ffmpeg) and simulcasts it to two platforms (nginx-rtmp recording), started and
//! stopped through the engine like a streamer would; ffprobe checks each recording is complete.

mod relay_support;
mod support;

use std::time::Duration;

use relay_support::{media, publish, Nginx};
use streampai::config::{IngestBackend, PlatformConfig};
use streampai::PlatformKind;
use streampai::{InputStatus, PlatformStatus, StreamPhase};
use support::{config, engine, local_ingest_addr, relay_outputs_gone, secrets_for, wait_until_async};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_to_the_app_to_two_platforms_with_the_local_relay() {
    if !relay_support::tools_available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install the relay peers (scripts/relay-deps.sh)");
        eprintln!("SKIP: ffmpeg/nginx-rtmp not installed (scripts/relay-deps.sh)");
        return;
    }
    let nginx = Nginx::start(&["tw", "yt"]);
    let mut cfg = config("user-1");
    assert_eq!(cfg.ingest_backend(), IngestBackend::Local, "no Cloudflare account: local is the default");
    cfg.platforms = ["tw", "yt"]
        .iter()
        .map(|app| PlatformConfig {
            name: format!("{app}-main"),
            kind: PlatformKind::Custom,
            url: Some(nginx.url(app)),
            enabled: true,
        })
        .collect();
    cfg.history.sample_interval_ms = 500;
    // Any real stream is over a 1 kbit/s budget.
    cfg.local.upload_budget_kbps = Some(1);
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    e.join("window:main", streampai::SessionKind::Window, None);
    wait_until_async("relay up", Duration::from_secs(10), || async { local_ingest_addr(&e).await.is_some() })
        .await;
    assert_eq!(relay_threads(), 1, "the relay runs on a thread of its own");
    let status = e.status().await;
    let key = status.ingest.stream_key.clone().expect("the OBS key is shown");
    let relay_addr = local_ingest_addr(&e).await.unwrap();
    assert_eq!(status.ingest.url.as_deref(), Some(format!("rtmp://{relay_addr}/live").as_str()));

    // Start first: the platforms wait for OBS, then carry the whole stream.
    let uuid = e.start_stream().await.unwrap();
    let mut obs = publish(relay_addr, "live", &key, None);
    wait_until_async("OBS detected", Duration::from_secs(15), || async {
        e.status().await.input == InputStatus::ReceivingTraffic
    })
    .await;
    wait_until_async("both platforms live", Duration::from_secs(20), || async {
        let s = e.status().await;
        s.stream.state == StreamPhase::Live
            && s.stream.platforms.values().all(|p| p.status == PlatformStatus::Live)
    })
    .await;
    let s = e.status().await;
    assert_eq!(s.stream.uuid, Some(uuid));
    for p in s.stream.platforms.values() {
        assert!(p.bytes_sent.is_some_and(|b| b > 0), "measured output: {p:?}");
        assert_eq!(p.dropped_frames, Some(0));
    }
    // The history samples each platform's measured bitrate while live.
    wait_until_async("measured samples of both platforms", Duration::from_secs(15), || async {
        let d = e.stream_detail(uuid).unwrap().expect("the stream is in the history");
        ["tw-main", "yt-main"].iter().all(|p| {
            d.samples.iter().any(|s| {
                s.platform == *p
                    && s.bitrate_kbps.is_some_and(|b| b > 0)
                    && s.bytes_sent.is_some_and(|b| b > 0)
            })
        })
    })
    .await;
    // The upload total is the sum of the platforms' bitrates, over the tiny budget.
    wait_until_async("upload over budget", Duration::from_secs(10), || async {
        let s = e.status().await;
        let sum: u32 = s.stream.platforms.values().filter_map(|p| p.bitrate_kbps).sum();
        s.upload.over_budget && s.upload.budget_kbps == Some(1) && s.upload.total_kbps == Some(sum)
    })
    .await;
    // OBS finishes; the platforms stay connected within the grace.
    let done =
        tokio::time::timeout(Duration::from_secs(60), obs.wait()).await.expect("publisher ends").unwrap();
    assert!(done.success());
    wait_until_async("no traffic", Duration::from_secs(15), || async {
        e.status().await.input == InputStatus::NoTraffic
    })
    .await;
    let s = e.status().await;
    assert!(
        s.stream.platforms.values().all(|p| p.status == PlatformStatus::Live),
        "inside the OBS-drop grace: {s:?}"
    );

    e.stop_stream().await.unwrap();
    let src = &media().probe;
    for app in ["tw", "yt"] {
        let rec = nginx.wait_recording(app, src, 2).await;
        assert_eq!((rec.video_codec.as_str(), rec.audio_codec.as_str()), ("h264", "aac"));
    }
    let s = e.status().await;
    assert_eq!(s.stream.state, StreamPhase::Offline);
    assert!(relay_outputs_gone(&e).await, "outputs removed on stop");
    let s = e.status().await;
    assert_eq!((s.upload.total_kbps, s.upload.over_budget), (None, false), "nothing going out");
    wait_until_async("the history row ended", Duration::from_secs(5), || async {
        e.stream_history().unwrap()[0].ended_at.is_some()
    })
    .await;
    let rec = &e.stream_history().unwrap()[0];
    assert_eq!((rec.uuid, rec.ended_by.as_deref(), rec.backend.as_str()), (uuid, Some("stopped"), "local"));
    for p in ["tw-main", "yt-main"] {
        let o = &rec.platforms[p];
        assert!(o.bytes_sent.is_some_and(|b| b > 100_000), "final bytes of {p}: {o:?}");
        assert_eq!(o.reconnects, Some(0), "{p}");
    }
    e.shutdown().await;
    relay_support::wait_until(Duration::from_secs(10), || relay_threads() == 0).await;
    assert_eq!(relay_threads(), 0, "the relay thread ends with the engine");
}

/// Threads of this process named like the relay's.
fn relay_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|n| n.trim() == "streampai-relay")
                })
                .count()
        })
        .unwrap_or(0)
}
