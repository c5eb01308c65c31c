//! PlatformWorker for the local relay: adds the platform as a relay output, turns the relay's
//! output states into platform statuses, and removes the output when the stream stops. A
//! restarted worker adopts the output the relay is still pushing.

use crate::telemetry::esc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::platform::PlatformTarget;
use crate::actor::ChildResult;
use crate::failure::{Failure, FailureKind, FailureSource};
use crate::ingest::RelaySlot;
use crate::relay::{OutputState, RelayError, RelayEvent, RelayHandle};
use crate::stream_state::{PlatformStatus, StreamStateHandle};

/// Reason reported when OBS has been gone longer than the grace.
pub const SOURCE_LOST: &str = "source_lost";

#[derive(Clone)]
pub struct RelayWorkerArgs {
    pub user_id: String,
    pub target: PlatformTarget,
    pub slot: RelaySlot,
    pub state: StreamStateHandle,
    /// How long OBS may be gone while live before this platform reports `source_lost`.
    pub source_grace: Duration,
    pub delete_on_exit: Arc<AtomicBool>,
}

pub async fn run(args: RelayWorkerArgs, cancel: CancellationToken) -> ChildResult {
    let span =
        info_span!("PlatformWorker", user_id = %esc(&args.user_id), platform = %esc(&args.target.name));
    work(args, cancel).instrument(span).await
}

fn tag(args: &RelayWorkerArgs) -> String {
    format!("[PlatformWorker:{}:{}]", esc(&args.user_id), esc(&args.target.name))
}

async fn work(args: RelayWorkerArgs, cancel: CancellationToken) -> ChildResult {
    let name = args.target.name.clone();
    let relay = tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        r = args.slot.wait(Duration::from_secs(30)) => r,
    };
    let Some(relay) = relay else {
        let reason = Failure::new(
            FailureKind::IngestDown,
            FailureSource::App,
            "the local ingest is not running (is another program using its port?)",
        );
        args.state.set_platform(&name, PlatformStatus::Failed { reason }).await?;
        cancel.cancelled().await;
        return Ok(());
    };
    let mut events = relay.subscribe();
    match relay.add_output(&name, &args.target.url, args.target.stream_key.clone()).await {
        Ok(()) => info!("{} relaying → {}", tag(&args), args.target.url),
        Err(RelayError::DuplicateOutput { .. }) => info!("{} adopted its relay output", tag(&args)),
        Err(e) => {
            warn!(cause = %e, "{} cannot add the relay output", tag(&args));
            let reason = Failure::new(FailureKind::Other, FailureSource::App, e.to_string());
            args.state.set_platform(&name, PlatformStatus::Failed { reason }).await?;
            cancel.cancelled().await;
            return Ok(());
        }
    }
    let mut tracker = Tracker { was_live: false, lost_since: None, grace: args.source_grace };
    let current = relay.outputs().into_iter().find(|o| o.name == name).map(|o| o.state);
    if let Some(s) = current.and_then(|s| tracker.map(s)) {
        args.state.set_platform(&name, s).await?;
    }
    loop {
        let wake = tracker.lost_since.map(|t| t + tracker.grace);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = sleep_until(wake), if wake.is_some() => {
                tracker.lost_since = None;
                warn!("{} OBS gone longer than the grace", tag(&args));
                let reason = Failure::new(FailureKind::SourceLost, FailureSource::Obs, SOURCE_LOST);
                let status = PlatformStatus::Retrying { reason, attempt: 0 };
                args.state.set_platform(&name, status).await?;
            }
            ev = events.recv() => {
                let state = match ev {
                    Ok(RelayEvent::OutputState { name: n, state }) if n == name => Some(state),
                    Ok(_) => None,
                    Err(RecvError::Lagged(_)) => relay.outputs().into_iter().find(|o| o.name == name).map(|o| o.state),
                    Err(RecvError::Closed) => break,
                };
                if let Some(s) = state.and_then(|s| tracker.map(s)) {
                    args.state.set_platform(&name, s).await?;
                }
            }
        }
    }
    if args.delete_on_exit.load(Ordering::SeqCst) {
        remove(&relay, &args).await;
        let _ = args.state.set_platform(&name, PlatformStatus::Stopped).await;
    }
    Ok(())
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn remove(relay: &RelayHandle, args: &RelayWorkerArgs) {
    match relay.remove_output(&args.target.name).await {
        Ok(()) | Err(RelayError::UnknownOutput { .. }) => info!("{} relay output removed", tag(args)),
        Err(e) => warn!(cause = %e, "{} cannot remove the relay output", tag(args)),
    }
}

/// Relay output state → platform status, with the OBS-drop grace: a platform that was live
/// stays `live` while OBS is briefly gone.
struct Tracker {
    was_live: bool,
    lost_since: Option<tokio::time::Instant>,
    grace: Duration,
}

impl Tracker {
    fn map(&mut self, state: OutputState) -> Option<PlatformStatus> {
        match state {
            OutputState::WaitingForSource if self.was_live => {
                if self.lost_since.is_none() {
                    self.lost_since = Some(tokio::time::Instant::now());
                }
                None
            }
            OutputState::WaitingForSource | OutputState::Connecting => Some(PlatformStatus::Starting),
            OutputState::Live => {
                self.was_live = true;
                self.lost_since = None;
                Some(PlatformStatus::Live)
            }
            OutputState::Retrying { reason, attempt } => Some(PlatformStatus::Retrying { reason, attempt }),
            OutputState::Failed { reason } => Some(PlatformStatus::Failed { reason }),
        }
    }
}
