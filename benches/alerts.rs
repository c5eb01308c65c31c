//! Benchmark: alerts accepted per second through the control API with durability on (a SQLite
//! file in WAL mode), and the time from POST to the OBS overlay receiving the alert while the
//! queue is idle (p50/p99).
//!
//! `cargo bench --bench alerts` (sizes: env STREAMPAI_BENCH_ALERTS, default 3000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use streampai::config::Config;
use streampai::secrets::{MemorySecrets, Secret};
use streampai::Db;
use streampai::SessionKind;
use streampai::StateFile;
use streampai::{Engine, EngineOptions};
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "bench-token";

async fn setup(dir: &std::path::Path) -> (Engine, String) {
    let mut cfg = Config::for_user("bench-user");
    cfg.alerts.default_duration_ms = 60_000;
    let db = Db::open(&dir.join("streampai.db")).expect("db");
    let engine = Engine::start(EngineOptions {
        config: cfg,
        secrets: Arc::new(MemorySecrets::new()),
        state_file: Some(StateFile::in_memory()),
        db: Some(db),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(streampai::control::serve(
        listener,
        engine.clone(),
        Secret::new(TOKEN),
        std::future::pending(),
    ));
    (engine, addr)
}

async fn throughput(base: &str, total: usize, concurrency: usize) -> f64 {
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let mut lanes = vec![];
    for lane in 0..concurrency {
        let (http, base) = (http.clone(), base.to_string());
        lanes.push(tokio::spawn(async move {
            for i in (lane..total).step_by(concurrency) {
                let body =
                    json!({"kind": "follow", "from": format!("v{i}"), "idempotency_key": format!("tp-{i}")});
                let r = http
                    .post(format!("{base}/api/v1/alerts"))
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        }));
    }
    for l in lanes {
        l.await.unwrap();
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("STREAMPAI_BENCH_ALERTS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    streampai::telemetry::init("warn");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (engine, addr) = setup(dir.path()).await;
        let base = format!("http://{addr}");
        println!("alerts through the control API, durable (SQLite WAL, synchronous=NORMAL), 2-core box");

        // 1. Throughput: the queue is paused so only intake is measured.
        let http = reqwest::Client::new();
        http.post(format!("{base}/api/v1/alerts/pause")).bearer_auth(TOKEN).send().await.unwrap();
        let rate = throughput(&base, n, 16).await;
        println!("  accepted: {n} alerts, 16 concurrent clients: {rate:.0} alerts/s");
        http.post(format!("{base}/api/v1/alerts/clear")).bearer_auth(TOKEN).send().await.unwrap();

        // 2. Latency POST → overlay while idle: the tree runs, an overlay is connected and reports
        //    each alert finished at once, so every POST finds the queue idle.
        engine.join("window:bench", SessionKind::Window, None);
        while engine.debug_tree().users.first().is_none_or(|u| u.children.len() < 5) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        http.post(format!("{base}/api/v1/alerts/resume")).bearer_auth(TOKEN).send().await.unwrap();
        let key = engine.overlay_key().expose().to_string();
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
            format!("ws://{addr}/overlay/alerts/ws?key={key}"),
            None,
            true,
        )
        .await
        .unwrap();
        let rounds = (n / 10).max(50);
        let mut lat = Vec::with_capacity(rounds);
        for i in 0..rounds {
            let t0 = Instant::now();
            let body =
                json!({"kind": "donation", "from": format!("d{i}"), "amount": 20.0, "currency": "USD"});
            let r = http
                .post(format!("{base}/api/v1/alerts"))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
            loop {
                let msg = ws.next().await.unwrap().unwrap();
                let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
                if v["type"] == "show" && v["alert"]["id"] == id.as_str() {
                    lat.push(t0.elapsed());
                    ws.send(Message::Text(json!({"type": "finished", "id": id}).to_string().into()))
                        .await
                        .unwrap();
                    break;
                }
            }
        }
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        println!(
            "  POST → overlay (idle queue), {rounds} alerts: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        engine.shutdown().await;
    });
}
