//! HistoryRecorder: writes every stream of the user into the history (start, end and how it
//! ended, per-platform outcome and final output statistics, platform events, and a bitrate
//! sample per platform every `[history] sample_interval_ms`). Runs beside the user's tree, so it
//! records a stream however the tree comes and goes.
//!
//! Samples: one row per platform on air (`starting`, `live` or `retrying`) per tick, written in
//! one transaction. Where the backend cannot measure an output (Cloudflare live outputs) the row
//! is still written, with `null` bitrate and bytes: the chart then shows the platform's time on
//! air as "not measured", and a stream cut short by a crash ends at its last sample.
//!
//! The same tick watches the upload budget (`[local] upload_budget_kbps`): a `warn!` once each
//! time the total outgoing bitrate goes over it, an `info!` when it is back under.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use uuid::Uuid;

use super::{HistoryStore, PlatformOutcome};
use crate::actor::ChildResult;
use crate::events::{Event, EventBus};
use crate::platforms::UploadStatus;
use crate::stream_state::{EndReason, PlatformStatus, StreamPhase};

/// Live statistics of one platform's output, where the backend measures them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputSample {
    pub bitrate_kbps: u32,
    pub bytes_sent: u64,
    pub reconnects: u32,
}

/// What the recorder reads from the engine besides events (always the config in force).
pub trait RecorderSource: Send + Sync {
    /// `local` or `cloudflare`, read when a stream starts.
    fn backend(&self) -> String;
    /// Current output statistics by platform name (empty where the backend cannot measure them).
    fn outputs(&self) -> BTreeMap<String, OutputSample>;
    /// `[history] sample_interval_ms`, read when a stream starts.
    fn sample_interval(&self) -> Duration;
    /// `[local] upload_budget_kbps`.
    fn upload_budget_kbps(&self) -> Option<u32>;
}

#[derive(Clone)]
pub struct RecorderArgs {
    pub user_id: String,
    pub bus: EventBus,
    pub history: HistoryStore,
    pub source: Arc<dyn RecorderSource>,
}

fn status_kind(s: &PlatformStatus) -> (&'static str, Option<String>) {
    match s {
        PlatformStatus::Starting => ("starting", None),
        PlatformStatus::Live => ("live", None),
        PlatformStatus::Retrying { reason, attempt } => {
            ("retrying", Some(format!("attempt {attempt}: {reason}")))
        }
        PlatformStatus::Failed { reason } => ("failed", Some(reason.to_string())),
        PlatformStatus::Stopped => ("stopped", None),
        PlatformStatus::Disabled => ("disabled", None),
    }
}

#[derive(Default)]
struct Track {
    /// The last meaningful status before the stream stopped.
    outcome: &'static str,
    retries: u32,
    /// The status right now.
    now: &'static str,
    /// The last output statistics seen (the output is gone once the stream stopped).
    last: Option<OutputSample>,
}

struct Current {
    uuid: Uuid,
    platforms: BTreeMap<String, Track>,
    ended_by: EndReason,
    budget: BudgetWatch,
    stopping: bool,
}

/// Crossings of the upload budget, one log line each.
#[derive(Default)]
struct BudgetWatch {
    over: bool,
}

impl BudgetWatch {
    /// `Some(true)` when the total just went over the budget, `Some(false)` when it just came
    /// back within it, `None` otherwise.
    fn observe(&mut self, upload: &UploadStatus) -> Option<bool> {
        (upload.over_budget != self.over).then(|| {
            self.over = upload.over_budget;
            self.over
        })
    }
}

impl Current {
    /// Read the outputs: remember each one's statistics, and return them.
    fn observe(&mut self, source: &dyn RecorderSource) -> BTreeMap<String, OutputSample> {
        let outputs = source.outputs();
        for (name, o) in &outputs {
            let t = self.platforms.entry(name.clone()).or_insert_with(|| Track {
                outcome: "starting",
                now: "starting",
                ..Default::default()
            });
            t.last = Some(*o);
        }
        outputs
    }

    /// One tick: a sample row per platform on air, and the upload budget check.
    fn tick(&mut self, args: &RecorderArgs) -> Result<(), super::DbError> {
        let outputs = self.observe(args.source.as_ref());
        let rows: Vec<_> = self
            .platforms
            .iter()
            .filter(|(name, t)| {
                matches!(t.now, "starting" | "live" | "retrying") || outputs.contains_key(*name)
            })
            .map(|(name, _)| {
                let o = outputs.get(name);
                (name.clone(), o.map(|o| o.bitrate_kbps), o.map(|o| o.bytes_sent))
            })
            .collect();
        let upload = UploadStatus::compute(rows.iter().map(|r| r.1), args.source.upload_budget_kbps());
        if let Some(over) = self.budget.observe(&upload) {
            let (total, budget) = (upload.total_kbps.unwrap_or(0), upload.budget_kbps.unwrap_or(0));
            if over {
                warn!(total_kbps = total, budget_kbps = budget, "outgoing bitrate is over the upload budget");
            } else {
                info!(
                    total_kbps = total,
                    budget_kbps = budget,
                    "outgoing bitrate is back within the upload budget"
                );
            }
        }
        args.history.samples(self.uuid, Utc::now(), &rows)
    }
}

pub async fn run(args: RecorderArgs, cancel: CancellationToken) -> ChildResult {
    let mut rx = args.bus.subscribe(&args.user_id);
    let mut current: Option<Current> = None;
    let log = |what: &str, r: Result<(), super::DbError>| {
        if let Err(e) = r {
            error!(cause = %e, what, "stream history write failed");
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        let ev = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tick.tick(), if current.as_ref().is_some_and(|c| !c.stopping) => {
                if let Some(cur) = current.as_mut() {
                    log("samples", cur.tick(&args));
                }
                continue;
            }
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
                log("start", args.history.started(uuid, at, &args.source.backend()));
                current = Some(Current {
                    uuid,
                    platforms: BTreeMap::new(),
                    ended_by: EndReason::Stopped,
                    budget: BudgetWatch::default(),
                    stopping: false,
                });
                let period = args.source.sample_interval().max(Duration::from_millis(100));
                tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            }
            Event::PlatformStatus { platform, status, .. } => {
                let Some(cur) = current.as_mut() else { continue };
                let (kind, detail) = status_kind(&status);
                log("event", args.history.event(cur.uuid, Some(&platform), kind, detail.as_deref()));
                let entry = cur
                    .platforms
                    .entry(platform)
                    .or_insert_with(|| Track { outcome: "starting", ..Default::default() });
                entry.now = kind;
                match kind {
                    "retrying" => entry.retries += 1,
                    "stopped" => {}
                    // The outcome is the last meaningful state before the stream stopped.
                    k => entry.outcome = k,
                }
            }
            Event::StreamState { state: StreamPhase::Stopping, .. } => {
                // The outputs are being removed: their statistics now are (nearly) final.
                if let Some(cur) = current.as_mut() {
                    cur.observe(args.source.as_ref());
                    cur.stopping = true;
                }
            }
            Event::StreamEnded { uuid, ended_by, .. } => {
                if let Some(cur) = current.as_mut().filter(|c| c.uuid == uuid) {
                    cur.ended_by = ended_by;
                }
            }
            Event::StreamState { state: StreamPhase::Offline, .. } => {
                let Some(cur) = current.take() else { continue };
                let platforms: BTreeMap<String, PlatformOutcome> = cur
                    .platforms
                    .into_iter()
                    .map(|(name, t)| {
                        let outcome = PlatformOutcome {
                            outcome: t.outcome.into(),
                            retries: t.retries,
                            bytes_sent: t.last.map(|o| o.bytes_sent),
                            reconnects: t.last.map(|o| o.reconnects),
                        };
                        (name, outcome)
                    })
                    .collect();
                let by = cur.ended_by.as_str();
                log("end", args.history.ended(cur.uuid, Utc::now(), by, &platforms));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
