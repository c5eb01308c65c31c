//! An engine that syncs through a sync server as alice's host (the relay tests), and its alerts.

use std::net::SocketAddr;
use std::time::Duration;

use streampai::alerts::Alert;
use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::Engine;

/// A headless engine of the sync user with `token` that syncs through `addr` as `studio-pc`
/// (no Ko-fi token of its own: the sync server checks the webhooks).
pub fn synced_engine(addr: SocketAddr, token: &str) -> Engine {
    let mut cfg = super::config("alice-local");
    cfg.sync.url = Some(format!("ws://{addr}"));
    cfg.sync.device_id = Some("studio-pc".into());
    cfg.sync.reconnect_initial_ms = 50;
    cfg.sync.reconnect_max_ms = 200;
    let secrets = super::secrets_for(&cfg, None);
    secrets.set(&SecretName::SyncToken, &Secret::new(token)).unwrap();
    super::engine(cfg, secrets)
}

/// Every alert the engine holds (queued, on screen or held).
pub async fn all_alerts(e: &Engine) -> Vec<Alert> {
    let v = e.alerts().view().await.unwrap();
    v.current.into_iter().chain(v.queued).chain(v.held).collect()
}

/// The engine's alerts once there are at least `n` (panics after `wait`).
pub async fn wait_for_alerts(e: &Engine, n: usize, wait: Duration) -> Vec<Alert> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let a = all_alerts(e).await;
        if a.len() >= n {
            return a;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {n} alerts, have {a:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
