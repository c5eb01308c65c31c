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
//! * The ingest speaks RTMP with its own chunk decoder and publish handling
//!   ([`server_proto`]); `rml_rtmp` provides the handshake, the message and AMF0 codecs, and
//!   the outputs' client session. Metadata (`@setDataFrame`), sequence headers and media are
//!   relayed byte for byte.

mod chunks;
mod config;
mod fanout;
mod ingest;
mod media;
mod output;
mod push;
mod server_proto;
mod stats;
mod tls;
mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use config::RelayConfig;
pub use media::{AudioInfo, VideoInfo};
pub use stats::OutputStats;

use crate::actor::{call, ActorError, CALL_TIMEOUT};
use crate::secrets::Secret;
use fanout::Hub;
use ingest::IngestCtx;
use output::{OutputPolicy, OutputTask};
use push::PushTarget;
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
        reason: String,
        attempt: u32,
    },
    /// Gave up after `max_reconnects` consecutive failures; remove and re-add to try again.
    Failed {
        reason: String,
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
const REMOVE_TIMEOUT: Duration = Duration::from_secs(5);
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

type Registry = Arc<Mutex<Vec<Arc<OutputShared>>>>;

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

enum Cmd {
    Add { name: String, url: String, key: Secret, reply: oneshot::Sender<Result<(), RelayError>> },
    Remove { name: String, reply: oneshot::Sender<Result<(), RelayError>> },
}

struct OutputEntry {
    shared: Arc<OutputShared>,
    cancel: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

struct RelayActor {
    hub: Arc<Hub>,
    registry: Registry,
    outputs: HashMap<String, OutputEntry>,
    tls: Arc<rustls::ClientConfig>,
    policy: OutputPolicy,
    queue_limit: usize,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl RelayActor {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        loop {
            let cmd = tokio::select! {
                _ = self.cancel.cancelled() => break,
                c = rx.recv() => match c { Some(c) => c, None => break },
            };
            match cmd {
                Cmd::Add { name, url, key, reply } => {
                    let _ = reply.send(self.add(name, &url, key));
                }
                Cmd::Remove { name, reply } => {
                    let _ = reply.send(self.remove(&name).await);
                }
            }
        }
        // Outputs watch child tokens of the relay's: they unpublish on their own; wait for them.
        for (_, o) in self.outputs.drain() {
            let _ = tokio::time::timeout(REMOVE_TIMEOUT, o.done).await;
        }
    }

    fn add(&mut self, name: String, url: &str, key: Secret) -> Result<(), RelayError> {
        if name.trim().is_empty() {
            return Err(RelayError::Config { message: "an output needs a name".into() });
        }
        if self.outputs.contains_key(&name) {
            return Err(RelayError::DuplicateOutput { name });
        }
        if key.is_blank() {
            return Err(RelayError::Config { message: format!("output {name:?}: the stream key is empty") });
        }
        let target = PushTarget::parse(url)?;
        let shared = Arc::new(OutputShared::new(&name, target.display(), self.hub.events().clone()));
        let (tap, rx) = self.hub.add_tap(shared.clone(), self.queue_limit);
        let cancel = self.cancel.child_token();
        let task = OutputTask {
            shared: shared.clone(),
            hub: self.hub.clone(),
            tap,
            rx,
            tls: target.tls.then(|| self.tls.clone()),
            target,
            key,
            policy: self.policy.clone(),
            cancel: cancel.clone(),
        };
        let span = tracing::info_span!("relay_output", output = %name);
        let done = self.tracker.spawn(task.run().instrument(span));
        tracing::info!(output = %name, target = %shared.target, "relay output added");
        self.registry.lock().unwrap_or_else(|p| p.into_inner()).push(shared.clone());
        self.outputs.insert(name, OutputEntry { shared, cancel, done });
        Ok(())
    }

    async fn remove(&mut self, name: &str) -> Result<(), RelayError> {
        let Some(o) = self.outputs.remove(name) else {
            return Err(RelayError::UnknownOutput { name: name.to_string() });
        };
        o.cancel.cancel();
        if tokio::time::timeout(REMOVE_TIMEOUT, o.done).await.is_err() {
            tracing::warn!(output = name, "relay output did not stop in time");
        }
        self.registry.lock().unwrap_or_else(|p| p.into_inner()).retain(|s| !Arc::ptr_eq(s, &o.shared));
        tracing::info!(output = name, "relay output removed");
        let _ = self.hub.events().send(RelayEvent::OutputRemoved { name: name.to_string() });
        Ok(())
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
