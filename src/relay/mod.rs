//! The local relay: an RTMP ingest for OBS on this machine and a push to every platform.
//!
//! ```text
//! OBS ──rtmp──▶ ingest (one publisher, key-checked) ──▶ hub: headers + GOP cache
//!                                                       │ same Arc<Frame> to every tap
//!                              ┌────────────────────────┼────────────────────────┐
//!                              ▼                        ▼                        ▼
//!                    output "twitch" queue     output "youtube" queue      ... (bounded bytes)
//!                              │ rtmp                   │ rtmps                  │
//! ```
//!
//! * [`Relay::start`] takes the listener (pass I/O in) and a cancellation token and returns a
//!   [`RelayHandle`]. Add and remove outputs with the handle; read stats from it without any
//!   round-trip (`ingest()`, `outputs()`), follow the ingest with `watch_ingest()` and
//!   everything else with `subscribe()`.
//! * The relay never ends the outputs because OBS left: when the publisher disconnects the
//!   outputs stay connected and resume on the next publisher's first keyframe. The caller owns
//!   the grace policy (watch [`IngestState`], remove outputs when the grace runs out).
//! * Both sides speak RTMP with the relay's own chunk layer ([`chunks`], [`wire`]), message
//!   parsing ([`rtmp_msg`], [`amf`]) and sessions ([`server_proto`] for the ingest,
//!   [`push_session`] for the outputs); `rml_rtmp` provides the handshake and encodes what we
//!   send, never parses what a peer sends. Metadata (`@setDataFrame`), sequence headers and
//!   media are relayed byte for byte.
//! * Bounded before authentication: see [`ingest`] (pending-connection caps with eviction,
//!   timeouts, message limits, one warning per burst of refusals).

mod admission;
mod amf;
mod chunks;
mod config;
mod control;
mod fanout;
mod ingest;
mod logtext;
mod media;
mod output;
mod push;
mod push_session;
mod rtmp_msg;
mod server_proto;
mod stats;
mod target;
mod throttle;
mod tls;
mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::RelayConfig;
pub use media::{AudioInfo, VideoInfo};
pub use stats::OutputStats;

use crate::actor::{call, ActorError, CALL_TIMEOUT};
use crate::secrets::Secret;
use control::{Cmd, RelayActor};
use fanout::Hub;
use ingest::IngestCtx;
use output::OutputPolicy;
use stats::OutputShared;

/// Whether a publisher is connected and media is arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IngestState {
    Idle,
    /// `receiving`: media bytes arrived within the traffic window.
    Publishing {
        receiving: bool,
    },
}

/// The ingest, as [`RelayHandle::ingest`] returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestStats {
    pub publishing: bool,
    pub receiving: bool,
    pub peer: Option<SocketAddr>,
    pub publishing_for: Option<Duration>,
    /// Audio and video payload bytes from publishers since the relay started.
    pub bytes_in: u64,
    pub since_last_media: Option<Duration>,
    pub video: Option<VideoInfo>,
    pub audio: Option<AudioInfo>,
    /// Over the last 3 s.
    pub bitrate_kbps: u32,
    pub gop_cache_bytes: usize,
}

/// The state of one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutputState {
    /// No publisher (or none with a keyframe yet). Connected or not: see `OutputStats::connected`.
    WaitingForSource,
    Connecting,
    Live,
    /// The connection failed; `attempt` consecutive failures so far, next try after a backoff.
    Retrying {
        reason: crate::failure::Failure,
        attempt: u32,
    },
    /// Gave up after `max_reconnects` consecutive failures; remove and re-add to try again.
    Failed {
        reason: crate::failure::Failure,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    UnknownApp,
    WrongKey,
    PlayNotAllowed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RelayEvent {
    PublisherConnected {
        peer: SocketAddr,
        replaced: bool,
    },
    PublisherDisconnected {
        peer: SocketAddr,
        reason: String,
    },
    /// A connection was refused (wrong key or application); the key is never included.
    PublishRejected {
        peer: SocketAddr,
        reason: RejectReason,
    },
    Ingest {
        state: IngestState,
    },
    OutputState {
        name: String,
        state: OutputState,
    },
    OutputRemoved {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelayError {
    #[error("invalid relay settings: {message}")]
    Config { message: String },
    #[error("invalid output URL: {message}")]
    InvalidUrl { message: String },
    #[error("an output named {name:?} already exists")]
    DuplicateOutput { name: String },
    #[error("no output named {name:?}")]
    UnknownOutput { name: String },
    #[error("TLS setup: {message}")]
    Tls { message: String },
    #[error("relay listener: {message}")]
    Io { message: String },
    #[error("the relay is not running")]
    Closed,
    #[error("the relay did not answer in time")]
    Timeout,
}

impl From<ActorError> for RelayError {
    fn from(e: ActorError) -> Self {
        match e {
            ActorError::Closed => RelayError::Closed,
            ActorError::Timeout => RelayError::Timeout,
        }
    }
}

/// Removing an output waits for its clean unpublish, at most this long.
pub(crate) const REMOVE_TIMEOUT: Duration = Duration::from_secs(5);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Relay;

impl Relay {
    /// Start serving on `listener` until `cancel` fires (or [`RelayHandle::shutdown`]).
    pub async fn start(
        cfg: RelayConfig,
        listener: TcpListener,
        cancel: CancellationToken,
    ) -> Result<RelayHandle, RelayError> {
        cfg.validate()?;
        let local_addr = listener.local_addr().map_err(|e| RelayError::Io { message: e.to_string() })?;
        let tls = tls::client_config(cfg.extra_ca_file.as_deref())?;
        let (events, _) = broadcast::channel(256);
        let hub = Arc::new(Hub::new(cfg.gop_cache_limit, cfg.traffic_window, events.clone()));
        let tracker = TaskTracker::new();
        let registry: Registry = Arc::default();
        let (tx, rx) = mpsc::channel(32);

        let ctx = Arc::new(IngestCtx::new(hub.clone(), cfg.app_name(), cfg.stream_key.clone()));
        tracker.spawn(ingest::accept_loop(listener, ctx, cancel.clone(), tracker.clone()));
        tracker.spawn(tick_receiving(hub.clone(), cfg.traffic_window, cancel.clone()));
        let actor = RelayActor {
            hub: hub.clone(),
            registry: registry.clone(),
            outputs: HashMap::new(),
            tls,
            policy: OutputPolicy {
                initial: cfg.retry_initial,
                max: cfg.retry_max,
                max_attempts: cfg.max_reconnects,
                connect_timeout: cfg.connect_timeout,
                write_stall: cfg.write_stall_timeout,
                send_buffer: cfg.send_buffer,
            },
            queue_limit: cfg.queue_limit,
            cancel: cancel.clone(),
            tracker: tracker.clone(),
        };
        tracker.spawn(actor.run(rx));
        tracing::info!(listen = %local_addr, app = cfg.app_name(), "relay started");
        Ok(RelayHandle { tx, hub, registry, local_addr, cancel, tracker })
    }
}

impl Relay {
    /// Like [`start`](Self::start), on a thread of its own running a current-thread runtime:
    /// the relay's tasks then never wait behind the rest of the engine, and its CPU cost is
    /// what `benches/relay` measures. The thread ends once `cancel` fires and the outputs have
    /// unpublished. The handle works from any runtime.
    pub fn start_dedicated(
        cfg: RelayConfig,
        listener: std::net::TcpListener,
        cancel: CancellationToken,
    ) -> Result<RelayHandle, RelayError> {
        let io = |e: std::io::Error| RelayError::Io { message: e.to_string() };
        listener.set_nonblocking(true).map_err(io)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("streampai-relay".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => return drop(tx.send(Err(io(e)))),
                };
                rt.block_on(async move {
                    let started = match TcpListener::from_std(listener) {
                        Ok(l) => Relay::start(cfg, l, cancel.clone()).await,
                        Err(e) => Err(io(e)),
                    };
                    let handle = started.as_ref().ok().cloned();
                    let _ = tx.send(started);
                    if let Some(h) = handle {
                        cancel.cancelled().await;
                        h.shutdown().await;
                    }
                });
            })
            .map_err(io)?;
        rx.recv().map_err(|_| RelayError::Closed)?
    }
}

pub(crate) type Registry = Arc<Mutex<Vec<Arc<OutputShared>>>>;

#[derive(Clone)]
pub struct RelayHandle {
    tx: mpsc::Sender<Cmd>,
    hub: Arc<Hub>,
    registry: Registry,
    local_addr: SocketAddr,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl RelayHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn ingest(&self) -> IngestStats {
        self.hub.ingest_stats()
    }

    /// Changes only on change: `Idle` ⇄ `Publishing { receiving }`.
    pub fn watch_ingest(&self) -> watch::Receiver<IngestState> {
        self.hub.watch_ingest()
    }

    /// Start pushing to `url` (`rtmp://` or `rtmps://host[:port]/app`) with the platform `key`.
    /// The output connects once a publisher has sent a keyframe.
    pub async fn add_output(&self, name: &str, url: &str, key: Secret) -> Result<(), RelayError> {
        let (name, url) = (name.to_string(), url.to_string());
        call(&self.tx, |reply| Cmd::Add { name, url, key, reply }, CALL_TIMEOUT).await?
    }

    /// Unpublish (`deleteStream`) and close the output's connection, then forget it.
    pub async fn remove_output(&self, name: &str) -> Result<(), RelayError> {
        let name = name.to_string();
        call(&self.tx, |reply| Cmd::Remove { name, reply }, REMOVE_TIMEOUT + CALL_TIMEOUT).await?
    }

    /// In the order they were added.
    pub fn outputs(&self) -> Vec<OutputStats> {
        let reg = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        reg.iter().map(|o| o.snapshot()).collect()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RelayEvent> {
        self.hub.events().subscribe()
    }

    /// Bytes the relay holds for media: GOP cache plus every output queue (an upper bound,
    /// since queued frames share buffers with the cache and each other).
    pub fn buffered_bytes(&self) -> usize {
        self.hub.buffered_bytes()
    }

    /// The highest [`buffered_bytes`](Self::buffered_bytes) seen since the relay started.
    pub fn buffered_peak_bytes(&self) -> usize {
        self.hub.buffered_peak()
    }

    /// Stop everything (outputs unpublish cleanly) and wait for the tasks, bounded.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, self.tracker.wait()).await.is_err() {
            tracing::warn!("relay: tasks still running after the shutdown timeout");
        }
    }
}

/// Turns "receiving" off when media stops arriving (turning it on happens on the first bytes).
async fn tick_receiving(hub: Arc<Hub>, window: Duration, cancel: CancellationToken) {
    let period = (window / 4).clamp(Duration::from_millis(50), Duration::from_millis(500));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => hub.refresh_receiving(),
        }
    }
}

#[cfg(test)]
mod tests;
