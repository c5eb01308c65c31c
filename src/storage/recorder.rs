//! HistoryRecorder: writes every stream of the user into the history (start, end and how it
//! ended, per-platform outcome, platform events). Runs beside the user's tree, so it records a
//! stream however the tree comes and goes.

use std::collections::BTreeMap;

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};
use uuid::Uuid;

use super::{HistoryStore, PlatformOutcome};
use crate::actor::ChildResult;
use crate::events::{Event, EventBus};
use crate::stream_state::{PlatformStatus, StreamPhase};

#[derive(Clone)]
pub struct RecorderArgs {
    pub user_id: String,
    pub bus: EventBus,
    pub history: HistoryStore,
    /// `local` or `cloudflare`, read when a stream starts.
    pub backend: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
}

fn status_kind(s: &PlatformStatus) -> (&'static str, Option<String>) {
    match s {
        PlatformStatus::Starting => ("starting", None),
        PlatformStatus::Live => ("live", None),
        PlatformStatus::Retrying { reason, attempt } => {
            ("retrying", Some(format!("attempt {attempt}: {reason}")))
        }
        PlatformStatus::Failed { reason } => ("failed", Some(reason.clone())),
        PlatformStatus::Stopped => ("stopped", None),
        PlatformStatus::Disabled => ("disabled", None),
    }
}

struct Current {
    uuid: Uuid,
    /// name → (best status reached, retries seen)
    platforms: BTreeMap<String, (&'static str, u32)>,
}

pub async fn run(args: RecorderArgs, cancel: CancellationToken) -> ChildResult {
    let mut rx = args.bus.subscribe(&args.user_id);
    let mut current: Option<Current> = None;
    let log = |what: &str, r: Result<(), super::DbError>| {
        if let Err(e) = r {
            error!(cause = %e, what, "stream history write failed");
        }
    };
    loop {
        let ev = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            ev = rx.recv() => ev,
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                warn!(missed = n, "history recorder missed events");
                continue;
            }
            Err(RecvError::Closed) => return Ok(()),
        };
        match ev {
            Event::StreamState { state: StreamPhase::Starting, uuid: Some(uuid), started_at, .. } => {
                let at = started_at.unwrap_or_else(Utc::now);
                log("start", args.history.started(uuid, at, &(args.backend)()));
                current = Some(Current { uuid, platforms: BTreeMap::new() });
            }
            Event::PlatformStatus { platform, status, .. } => {
                let Some(cur) = current.as_mut() else { continue };
                let (kind, detail) = status_kind(&status);
                log("event", args.history.event(cur.uuid, Some(&platform), kind, detail.as_deref()));
                let entry = cur.platforms.entry(platform).or_insert(("starting", 0));
                match kind {
                    "retrying" => entry.1 += 1,
                    "stopped" => {}
                    // The outcome is the last meaningful state before the stream stopped.
                    k => entry.0 = k,
                }
            }
            Event::StreamState { state: StreamPhase::Offline, .. } => {
                let Some(cur) = current.take() else { continue };
                let platforms: BTreeMap<String, PlatformOutcome> = cur
                    .platforms
                    .into_iter()
                    .map(|(name, (outcome, retries))| {
                        (name, PlatformOutcome { outcome: outcome.into(), retries, ..Default::default() })
                    })
                    .collect();
                log("end", args.history.ended(cur.uuid, Utc::now(), "stopped", &platforms));
            }
            _ => {}
        }
    }
}
