//! Benchmark: `start_stream` with 1 vs 8 platforms against the fake Cloudflare with 50 ms of
//! latency per API call. Measures the time from the start call until the stream is `live`
//! (every platform's output created). Target: 8 platforms ≤ 1.3× one platform.
//!
//! `cargo bench --bench start_stream` (rounds: env STREAMPAI_BENCH_ROUNDS, default 15).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_cloudflare::{FakeCloudflare, FakeOptions};
use streampai::config::{Config, PlatformConfig};
use streampai::secrets::{MemorySecrets, Secret, SecretName, SecretStore};
use streampai::PlatformKind;
use streampai::StateFile;
use streampai::StreamPhase;
use streampai::{Engine, EngineOptions, Event};

const LATENCY: Duration = Duration::from_millis(50);

async fn engine_with(fake: &FakeCloudflare, platforms: usize) -> Engine {
    let mut cfg = Config::for_user("bench-user");
    cfg.cloudflare.account_id = Some(fake.account_id().to_string());
    cfg.cloudflare.api_base = fake.base_url();
    cfg.cloudflare.poll_interval_ms = 60_000;
    let secrets = MemorySecrets::new();
    secrets.set(&SecretName::CloudflareApiToken, &Secret::new(fake.token())).unwrap();
    for i in 0..platforms {
        let name = format!("custom-{i}");
        cfg.platforms.push(PlatformConfig {
            name: name.clone(),
            kind: PlatformKind::Custom,
            url: Some(format!("rtmps://ingest-{i}.example.com:443/live")),
            enabled: true,
        });
        secrets.set(&SecretName::StreamKey(name), &Secret::new(format!("key-{i}"))).unwrap();
    }
    Engine::start(EngineOptions {
        config: cfg,
        secrets: Arc::new(secrets),
        state_file: Some(StateFile::in_memory()),
        db: Some(streampai::Db::open_in_memory().unwrap()),
    })
}

/// One round: start → live, then stop (not timed).
async fn round(engine: &Engine) -> Duration {
    let mut events = engine.subscribe();
    let t0 = Instant::now();
    engine.start_stream().await.expect("start");
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Ok(Event::StreamState { state: StreamPhase::Live, .. })) => break,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("stream did not go live: {other:?}"),
        }
    }
    let took = t0.elapsed();
    engine.stop_stream().await.expect("stop");
    took
}

async fn measure(platforms: usize, rounds: usize) -> (Duration, Duration, Duration) {
    let fake = FakeCloudflare::start(FakeOptions { latency: LATENCY, ..FakeOptions::default() }).await;
    let mut times: Vec<Duration> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        // A fresh engine per round: the client's request budget (a burst of 50, then Cloudflare's
        // 1,200 / 5 min spread out) would otherwise throttle back-to-back rounds, and this
        // measures parallelism, not the budget.
        let engine = engine_with(&fake, platforms).await;
        round(&engine).await; // warm-up: creates or finds the live input, opens connections
        times.push(round(&engine).await);
        engine.shutdown().await;
    }
    times.sort();
    (times[0], times[times.len() / 2], times[times.len() - 1])
}

fn main() {
    let rounds: usize =
        std::env::var("STREAMPAI_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "start_stream → live, fake Cloudflare with {} ms per API call, {rounds} rounds",
        LATENCY.as_millis()
    );
    let mut medians = vec![];
    for n in [1usize, 8] {
        let (min, med, max) = rt.block_on(measure(n, rounds));
        println!(
            "  {n} platform(s): min {:>6.1} ms  median {:>6.1} ms  max {:>6.1} ms",
            min.as_secs_f64() * 1e3,
            med.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
        medians.push(med);
    }
    let ratio = medians[1].as_secs_f64() / medians[0].as_secs_f64();
    println!("  ratio 8/1 (median): {ratio:.2}× (target ≤ 1.30×)");
}
