//! A local-relay platform that fails says so, typed and on its own side: never "Cloudflare
//! refused the credentials", and the other platforms are unharmed. (Own test binary: the local
//! stream test counts the relay threads of its process.)

mod relay_support;
mod support;

use std::time::Duration;

use relay_support::{publish, Nginx};
use streampai::config::PlatformConfig;
use streampai::{PlatformKind, PlatformStatus};
use support::{config, engine, local_ingest_addr, secrets_for, wait_until_async};

/// A local-relay platform whose server cannot be reached says so, typed: the platform's side,
/// `unreachable` (never "Cloudflare refused the credentials"), the other platform unharmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_cannot_be_reached_names_its_side_and_cause() {
    if !relay_support::tools_available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install the relay peers (scripts/relay-deps.sh)");
        eprintln!("SKIP: ffmpeg/nginx-rtmp not installed (scripts/relay-deps.sh)");
        return;
    }
    let nginx = Nginx::start(&["tw"]);
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut cfg = config("user-1");
    cfg.stream.retry_initial_ms = 100;
    cfg.platforms = vec![
        PlatformConfig {
            name: "tw-main".into(),
            kind: PlatformKind::Custom,
            url: Some(nginx.url("tw")),
            enabled: true,
        },
        PlatformConfig {
            name: "gone".into(),
            kind: PlatformKind::Custom,
            url: Some(format!("rtmp://{closed}/app")),
            enabled: true,
        },
    ];
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    e.join("window:main", streampai::SessionKind::Window, None);
    wait_until_async("relay up", Duration::from_secs(10), || async { local_ingest_addr(&e).await.is_some() })
        .await;
    let key = e.reveal_ingest_key().await.unwrap();
    e.start_stream().await.unwrap();
    let mut obs = publish(local_ingest_addr(&e).await.unwrap(), "live", key.expose(), None);
    wait_until_async("the unreachable platform retries, typed", Duration::from_secs(20), || async {
        let s = e.status().await;
        matches!(
            &s.stream.platforms["gone"].status,
            PlatformStatus::Retrying { reason, .. }
                if reason.kind == streampai::failure::FailureKind::Unreachable
                    && reason.source == streampai::failure::FailureSource::Platform
        ) && s.stream.platforms["tw-main"].status == PlatformStatus::Live
    })
    .await;
    let _ = obs.kill().await;
    e.stop_stream().await.unwrap();
    e.shutdown().await;
}
