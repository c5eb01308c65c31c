//! StreamAutomation: the user's tree child that acts on the source (OBS) by itself, for both
//! ingest backends.
//!
//! - **Source timeout**: while the stream is `starting`/`live` and the input reports
//!   `no_traffic` (local: no media bytes at the relay; Cloudflare: the live input is not
//!   connected) for `[local] source_timeout_ms`, the stream stops cleanly (outputs removed or
//!   deleted, as on a user stop) and is recorded as ended by `source_lost`. An input that is
//!   still `unknown` (Cloudflare not polled successfully yet) never counts as lost. A stream
//!   started with OBS not sending counts too: the clock runs from the start.
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
}

impl Watch {
    /// Keep the source-lost clock and the auto-start arming in step with phase and input.
    fn settle(&mut self, disarmed: &AtomicBool) {
        if on_air(self.phase) && self.input == InputStatus::NoTraffic {
            self.lost_since.get_or_insert_with(Instant::now);
        } else {
            self.lost_since = None;
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
    let mut w = Watch { phase: snap.state, input: snap.input, lost_since: None };
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
        let deadline = w.lost_since.map(|t| t + args.source_timeout);
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = sleep_until(deadline), if deadline.is_some() => {
                w.lost_since = None;
                let d = user.state.snapshot().await?;
                if on_air(d.state) && d.input == InputStatus::NoTraffic {
                    warn!(timeout_ms = args.source_timeout.as_millis() as u64,
                        "{tag} no media from OBS for the source timeout: stopping the stream");
                    let stop = user.stop_stream_for(EndReason::SourceLost);
                    tokio::select! {
                        // The stop runs to completion on its own; shutdown need not wait for it.
                        _ = cancel.cancelled() => return Ok(()),
                        r = stop => match r {
                            Ok(uuid) => info!(%uuid, "{tag} stream ended: source lost"),
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
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {
                    let d = user.state.snapshot().await?;
                    (w.phase, w.input) = (d.state, d.input);
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
