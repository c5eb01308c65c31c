//! PlatformWorker: one per enabled platform while live. Creates the platform's Cloudflare live
//! output, reports its status, retries with backoff, and deletes the output when the stream
//! stops. Outputs are remembered in a shared map, so a restarted worker adopts its output
//! instead of creating a second one.

use crate::telemetry::esc;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::platform::PlatformTarget;
use crate::actor::ChildResult;
use crate::cloudflare::api::{CloudflareClient, CloudflareError, CreateOutput};
use crate::failure::Failure;
use crate::stream_state::{PlatformStatus, StreamStateHandle};

/// How a worker retries.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// 0 = forever.
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// Delay after the `attempt`-th failure (1-based), ±20 % jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.initial.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
        exp.min(self.max).mul_f64(rand::rng().random_range(0.8..1.2))
    }
}

/// Platform name → Cloudflare output uid, shared by the workers and their supervisor.
pub type OutputMap = Arc<Mutex<HashMap<String, String>>>;

#[derive(Clone)]
pub struct WorkerArgs {
    pub user_id: String,
    pub target: PlatformTarget,
    pub input_uid: String,
    pub client: CloudflareClient,
    pub state: StreamStateHandle,
    pub retry: RetryPolicy,
    pub outputs: OutputMap,
    /// Set when the stream is really stopping: delete the output on exit. Left unset when the
    /// worker is only being replaced (a crash above it), so the platform stays on air.
    pub delete_on_exit: Arc<AtomicBool>,
}

pub async fn run(args: WorkerArgs, cancel: CancellationToken) -> ChildResult {
    let span =
        info_span!("PlatformWorker", user_id = %esc(&args.user_id), platform = %esc(&args.target.name));
    work(args, cancel).instrument(span).await
}

fn tag(args: &WorkerArgs) -> String {
    format!("[PlatformWorker:{}:{}]", esc(&args.user_id), esc(&args.target.name))
}

async fn work(args: WorkerArgs, cancel: CancellationToken) -> ChildResult {
    let name = args.target.name.clone();
    let mut attempt = 0u32;
    loop {
        let res = tokio::select! {
            _ = cancel.cancelled() => break,
            r = ensure_output(&args) => r,
        };
        match res {
            Ok(()) => {
                args.state.set_platform(&name, PlatformStatus::Live).await?;
                cancel.cancelled().await;
                break;
            }
            Err(e) => {
                attempt += 1;
                let reason = Failure::from(&e);
                let exhausted = args.retry.max_attempts > 0 && attempt >= args.retry.max_attempts;
                if !e.is_retryable() || exhausted {
                    warn!(cause = %reason, attempt, "{} failed", tag(&args));
                    args.state.set_platform(&name, PlatformStatus::Failed { reason }).await?;
                    cancel.cancelled().await;
                    break;
                }
                let delay = e.retry_after().unwrap_or_else(|| args.retry.delay(attempt));
                warn!(cause = %reason, attempt, delay_ms = delay.as_millis() as u64, "{} retrying", tag(&args));
                args.state.set_platform(&name, PlatformStatus::Retrying { reason, attempt }).await?;
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    if args.delete_on_exit.load(Ordering::SeqCst) {
        cleanup(&args).await;
        let _ = args.state.set_platform(&name, PlatformStatus::Stopped).await;
    }
    Ok(())
}

fn known_output(args: &WorkerArgs) -> Option<String> {
    args.outputs.lock().ok()?.get(&args.target.name).cloned()
}

/// Adopt the output this platform already has, or create it.
async fn ensure_output(args: &WorkerArgs) -> Result<(), CloudflareError> {
    if let Some(uid) = known_output(args) {
        let outputs = args.client.list_outputs(&args.input_uid).await?;
        if outputs.iter().any(|o| o.uid == uid) {
            info!("{} adopted output {uid}", tag(args));
            return Ok(());
        }
    }
    let out = args
        .client
        .create_output(
            &args.input_uid,
            &CreateOutput {
                url: args.target.url.clone(),
                stream_key: args.target.stream_key.clone(),
                enabled: true,
            },
        )
        .await?;
    info!("{} output {} created → {}", tag(args), out.uid, args.target.url);
    if let Ok(mut m) = args.outputs.lock() {
        m.insert(args.target.name.clone(), out.uid);
    }
    Ok(())
}

/// Delete this platform's output (a few quick retries; a gone output is fine).
async fn cleanup(args: &WorkerArgs) {
    let Some(uid) = known_output(args) else { return };
    for attempt in 1..=3u32 {
        match args.client.delete_output(&args.input_uid, &uid).await {
            Ok(()) | Err(CloudflareError::NotFound) => {
                info!("{} output {uid} deleted", tag(args));
                if let Ok(mut m) = args.outputs.lock() {
                    m.remove(&args.target.name);
                }
                return;
            }
            Err(e) if e.is_retryable() && attempt < 3 => {
                tokio::time::sleep(e.retry_after().unwrap_or(Duration::from_millis(200 * attempt as u64)))
                    .await;
            }
            Err(e) => {
                warn!(cause = %e, "{} could not delete output {uid}; the next start removes it", tag(args));
                return;
            }
        }
    }
}
