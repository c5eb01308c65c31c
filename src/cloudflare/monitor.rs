//! CloudflareLiveInputMonitor: polls the live input and tells the StreamStateServer whether OBS
//! is sending (only on change).
//!
//! Errors back off exponentially with jitter, starting from the poll interval and capped at six
//! poll intervals, so a few failed polls never push detection minutes away; the first success
//! resets it. A 429's `retry-after` is honoured. One error is logged per failure streak.
//!
//! When OBS says it started streaming (`ObsConnection` rings `poll_now`), the input is polled at
//! once and then every 2 s (at most 5 times) until it shows connected.
//!
//! Polls run at background priority ([`CloudflareClient::poll_live_input`]): when the request
//! budget's background share is spent, the tick is skipped (logged at debug) instead of waiting,
//! so polling never delays creating or deleting outputs.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, instrument};

use super::api::CloudflareClient;
use super::manager::{CloudflareManagerHandle, IngestError};
use crate::actor::ChildResult;
use crate::stream_state::{InputStatus, StreamStateHandle};

#[derive(Clone)]
pub struct MonitorArgs {
    pub user_id: String,
    pub client: Option<CloudflareClient>,
    pub manager: CloudflareManagerHandle,
    pub state: StreamStateHandle,
    pub poll_interval: Duration,
    /// Rung when OBS starts streaming: poll at once instead of waiting for the interval.
    pub poll_now: std::sync::Arc<tokio::sync::Notify>,
}

/// Delay before the next poll after `failures` consecutive failures (≥ 1).
pub fn backoff(poll: Duration, failures: u32, jitter: f64) -> Duration {
    let exp = poll.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)));
    let capped = exp.min(poll.saturating_mul(6));
    capped.mul_f64(jitter.clamp(0.5, 1.5))
}

/// After OBS starts: up to this many polls...
const QUICK_POLLS: u32 = 5;
/// ... this far apart, until the input shows connected.
const QUICK_POLL: Duration = Duration::from_secs(2);

#[instrument(name = "CloudflareLiveInputMonitor", skip_all, fields(user_id = %args.user_id))]
pub async fn run(args: MonitorArgs, cancel: CancellationToken) -> ChildResult {
    let user = &args.user_id;
    let Some(client) = args.client.clone() else {
        info!("[CloudflareLiveInputMonitor:{user}] Cloudflare not configured; not polling");
        cancel.cancelled().await;
        return Ok(());
    };
    let mut last: Option<InputStatus> = None;
    let mut failures = 0u32;
    let mut delay = Duration::ZERO;
    // Polls left at a short interval after OBS said it started (Cloudflare takes a few seconds to
    // see the input connected).
    let mut quick = 0u32;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(delay) => {}
            _ = args.poll_now.notified() => {
                debug!("[CloudflareLiveInputMonitor:{user}] OBS started streaming: polling now");
                quick = QUICK_POLLS;
            }
        }
        let polled = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            r = poll(&client, &args.manager) => r,
        };
        match polled {
            Ok(None) => {
                debug!("[CloudflareLiveInputMonitor:{user}] request budget busy; poll skipped");
                delay = args.poll_interval;
            }
            Ok(Some(status)) => {
                if failures > 0 {
                    info!("[CloudflareLiveInputMonitor:{user}] polling recovered after {failures} failures");
                }
                failures = 0;
                if last != Some(status) {
                    last = Some(status);
                    args.state.set_input(status).await?;
                }
                delay = args.poll_interval;
                if quick > 0 && status != InputStatus::ReceivingTraffic {
                    quick -= 1;
                    delay = delay.min(QUICK_POLL);
                } else {
                    quick = 0;
                }
            }
            Err(e) => {
                failures += 1;
                if failures == 1 {
                    error!(cause = %e, "[CloudflareLiveInputMonitor:{user}] polling the live input failed; backing off");
                }
                let jitter = rand::rng().random_range(0.8..1.2);
                delay = e.retry_after().unwrap_or_else(|| backoff(args.poll_interval, failures, jitter));
            }
        }
    }
}

/// `None` when the poll gave way to foreground calls (background budget spent).
async fn poll(
    client: &CloudflareClient,
    manager: &CloudflareManagerHandle,
) -> Result<Option<InputStatus>, IngestError> {
    let info = manager.ensure_input().await?;
    let Some(input) = client.poll_live_input(&info.input_uid).await? else { return Ok(None) };
    Ok(Some(if input.status.is_receiving() { InputStatus::ReceivingTraffic } else { InputStatus::NoTraffic }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_the_poll_interval_and_is_capped() {
        let p = Duration::from_secs(10);
        let d: Vec<u64> = (1..=6).map(|n| backoff(p, n, 1.0).as_secs()).collect();
        assert_eq!(d, vec![10, 20, 40, 60, 60, 60]);
        assert_eq!(backoff(p, 2, 0.8), Duration::from_secs(16));
        assert_eq!(backoff(p, u32::MAX, 1.0), Duration::from_secs(60));
    }
}
