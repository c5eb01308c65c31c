//! StreamAutomation: the user's tree child that acts on the source (OBS) by itself, for both
//! ingest backends.
//!
//! - **Source timeout**: while the stream is `starting`/`live` and the input reports
//!   `no_traffic` (local: no media bytes at the relay; Cloudflare: the live input is not
//!   connected) for `[local] source_timeout_ms`, the stream stops cleanly (outputs removed or
//!   deleted, as on a user stop) and is recorded as ended by `source_lost`. An input that is
//!   still `unknown` (Cloudflare not polled successfully yet) never counts as lost. A stream
//!   started with OBS not sending counts too: the clock runs from the start.
//! - **OBS stopped** (`[obs] stop_with_stream`, on by default): when the link to OBS reports that
//!   OBS's stream went from active to inactive while the app's stream is on air (OBS's Stop
//!   Streaming: ended by `stopped`; OBS closed or killed, the link lost: `source_lost`), the stream
//!   ends `[local] source_grace_ms` later (the platforms' own OBS-drop grace) unless OBS is
//!   sending again by then. The same clean stop as above.
//! - **Auto start** (`[stream] auto_start = true`, off by default): when OBS traffic is seen
//!   while the stream is offline, the stream starts (new UUID, every enabled platform). It is
//!   armed only after the source has been away while offline: any stream on air disarms it, so a
//!   manual Stop while OBS keeps sending does not start the stream again until OBS stops and
//!   starts again. A start that fails (e.g. a platform without a key) also disarms it until the
//!   source comes back, so it never loops. The tree must be running (a window open, the events
//!   socket, or a live stream): with no tree there is no ingest listening.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::actor::ChildResult;
use crate::events::Event;
use crate::stream_state::{EndReason, InputStatus, StreamPhase};
use crate::user_stream_manager::UserStream;

#[derive(Clone)]
pub struct AutomationArgs {
    pub user: UserStream,
    pub source_timeout: Duration,
    /// After OBS said its stream stopped (see the module doc).
    pub source_grace: Duration,
    pub auto_start: bool,
    /// Auto start is disarmed (a stream was on air and the source has not gone away since).
    /// Kept per user across restarts, so a restarted child does not start a stream the user
    /// stopped.
    pub disarmed: Arc<AtomicBool>,
}

fn on_air(phase: StreamPhase) -> bool {
    matches!(phase, StreamPhase::Starting | StreamPhase::Live)
}

struct Watch {
    phase: StreamPhase,
    input: InputStatus,
    lost_since: Option<Instant>,
    /// OBS's stream is active, as the OBS link last said.
    obs_streaming: bool,
    /// When OBS's stream went inactive while on air, and how that ends the stream.
    obs_ended: Option<(Instant, EndReason)>,
}

impl Watch {
    /// Keep the source-lost clock and the auto-start arming in step with phase and input.
    fn settle(&mut self, disarmed: &AtomicBool) {
        if on_air(self.phase) && self.input == InputStatus::NoTraffic {
            self.lost_since.get_or_insert_with(Instant::now);
        } else {
            self.lost_since = None;
        }
        if !on_air(self.phase) || self.obs_streaming {
            self.obs_ended = None;
        }
        if self.phase != StreamPhase::Offline {
            disarmed.store(true, Ordering::SeqCst);
        } else if self.input != InputStatus::ReceivingTraffic {
            disarmed.store(false, Ordering::SeqCst);
        }
    }
}

#[instrument(name = "StreamAutomation", skip_all, fields(user_id = %args.user.user_id()))]
pub async fn run(args: AutomationArgs, cancel: CancellationToken) -> ChildResult {
    let user = &args.user;
    let tag = format!("[StreamAutomation:{}]", user.user_id());
    let mut rx = user.subscribe();
    let snap = user.state.snapshot().await?;
    let mut w = Watch {
        phase: snap.state,
        input: snap.input,
        lost_since: None,
        obs_streaming: user.obs_status().get().streaming,
        obs_ended: None,
    };
    w.settle(&args.disarmed);
    loop {
        if args.auto_start
            && w.phase == StreamPhase::Offline
            && w.input == InputStatus::ReceivingTraffic
            && !args.disarmed.swap(true, Ordering::SeqCst)
        {
            match user.validate_start() {
                Ok(targets) => {
                    info!("{tag} OBS is sending: starting the stream (auto_start)");
                    match user.start_stream(targets).await {
                        Ok(uuid) => info!(%uuid, "{tag} stream started by auto_start"),
                        Err(e) => warn!(cause = %e, "{tag} auto start failed"),
                    }
                }
                Err(e) => warn!(cause = %e, "{tag} auto start: cannot start the stream"),
            }
        }
        let lost_deadline = w.lost_since.map(|t| (t + args.source_timeout, EndReason::SourceLost, false));
        let obs_deadline = w.obs_ended.map(|(t, reason)| (t + args.source_grace, reason, true));
        let deadline = match (lost_deadline, obs_deadline) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = sleep_until(deadline.map(|d| d.0)), if deadline.is_some() => {
                let (_, reason, by_obs) = deadline.expect("a deadline");
                w.lost_since = None;
                w.obs_ended = None;
                let d = user.state.snapshot().await?;
                let source_gone = if by_obs {
                    d.input != InputStatus::ReceivingTraffic
                } else {
                    d.input == InputStatus::NoTraffic
                };
                if on_air(d.state) && source_gone {
                    if by_obs {
                        warn!(grace_ms = args.source_grace.as_millis() as u64,
                            "{tag} OBS stopped streaming and did not come back within the grace: stopping the stream");
                    } else {
                        warn!(timeout_ms = args.source_timeout.as_millis() as u64,
                            "{tag} no media from OBS for the source timeout: stopping the stream");
                    }
                    let stop = user.stop_stream_for(reason);
                    tokio::select! {
                        // The stop runs to completion on its own; shutdown need not wait for it.
                        _ = cancel.cancelled() => return Ok(()),
                        r = stop => match r {
                            Ok(uuid) => info!(%uuid, ended_by = reason.as_str(), "{tag} stream ended"),
                            Err(e) => warn!(cause = %e, "{tag} cannot stop the stream"),
                        },
                    }
                }
                let d = user.state.snapshot().await?;
                (w.phase, w.input) = (d.state, d.input);
            }
            ev = rx.recv() => match ev {
                Ok(Event::StreamState { state, .. }) => w.phase = state,
                Ok(Event::InputStatus { status, .. }) => w.input = status,
                Ok(Event::ObsStatus { status, .. }) => {
                    if w.obs_streaming && !status.streaming && on_air(w.phase)
                        && user.config().obs.stop_with_stream
                    {
                        let reason = if status.state == crate::obs::ObsState::Connected {
                            EndReason::Stopped
                        } else {
                            EndReason::SourceLost
                        };
                        info!(ended_by = reason.as_str(), grace_ms = args.source_grace.as_millis() as u64,
                            "{tag} OBS's stream stopped: the stream ends after the grace unless OBS comes back");
                        w.obs_ended = Some((Instant::now(), reason));
                    }
                    w.obs_streaming = status.streaming;
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {
                    let d = user.state.snapshot().await?;
                    (w.phase, w.input) = (d.state, d.input);
                    w.obs_streaming = user.obs_status().get().streaming;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
        w.settle(&args.disarmed);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
