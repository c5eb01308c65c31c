//! The engine: presence, the PresenceManager, and the users' DynamicSupervisor under one root
//! supervisor, plus the typed views (status, debug tree) every front-end shows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::actor::ChildResult;
use crate::config::{Config, IngestBackend};
use crate::events::{Event, EventBus};
use crate::presence::{Presence, PresenceManager, PresenceManagerHandle, SessionInfo, SessionKind};
use crate::secrets::SharedSecrets;
use crate::state_file::StateFile;
use crate::storage::{Db, StreamDetail, StreamRecord};
use crate::stream_state::{InputStatus, PlatformStatus, StreamPhase};
use crate::supervisor::{ChildInfo, ChildSpec, Restart, Supervisor, SupervisorConfig, SupervisorHandle};
use crate::sync::{SyncStatus, SyncStatusCell};
use crate::user_stream_manager::{EngineError, Stores, UserStream};

/// What the engine needs to start.
pub struct EngineOptions {
    pub config: Config,
    pub secrets: SharedSecrets,
    /// Bookkeeping file; default `<data dir>/state.json`.
    pub state_file: Option<StateFile>,
    /// The database; default `<data dir>/streampai.db` (in memory, with an error logged, if
    /// that cannot be opened — binaries open it themselves to fail clearly instead).
    pub db: Option<Db>,
}

/// A running engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    user_id: String,
    presence: Presence,
    bus: EventBus,
    trees: SupervisorHandle,
    manager: PresenceManagerHandle,
    /// Replaced as a whole when the config changes (see [`Engine::reconfigure`]).
    user: Arc<std::sync::RwLock<Arc<UserStream>>>,
    secrets: SharedSecrets,
    /// The key in the OBS overlay URL; rotatable.
    overlay_key: std::sync::RwLock<crate::secrets::Secret>,
    cancel: CancellationToken,
    root: Mutex<Option<JoinHandle<ChildResult>>>,
    started: Instant,
    sync_status: SyncStatusCell,
    /// The running sync client, if any (restarted by `reconfigure` and `reload_secrets`).
    sync: Mutex<Option<SyncRun>>,
}

struct SyncRun {
    cancel: CancellationToken,
    running: crate::sync::client::Running,
}

/// How long a stopping sync client may take to say goodbye before it is aborted.
const SYNC_STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /api/v1/status`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Status {
    pub user_id: String,
    /// `running` or `stopped`.
    pub manager: &'static str,
    pub input: InputStatus,
    /// Where OBS streams to. The stream key appears only here (token-protected) and in the UI
    /// on reveal.
    pub ingest: IngestEndpoint,
    pub stream: StreamStatus,
    /// The platforms' total outgoing bitrate against `[local] upload_budget_kbps`.
    pub upload: UploadStatus,
    pub presence: Vec<SessionInfo>,
    /// The link to the sync server (`state: "off"` when not configured).
    pub sync: SyncStatus,
}

/// Total outgoing bitrate (the local relay multiplies the upload by the number of platforms)
/// against the configured budget.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UploadStatus {
    /// Sum of the platforms' current bitrates; `null` when none is measured (offline, or
    /// Cloudflare outputs).
    pub total_kbps: Option<u32>,
    /// `[local] upload_budget_kbps`; `null` when not set.
    pub budget_kbps: Option<u32>,
    /// A budget is set and the total is above it.
    pub over_budget: bool,
}

impl UploadStatus {
    /// From the platforms' current bitrates (`None` where not measured).
    pub fn compute(bitrates: impl IntoIterator<Item = Option<u32>>, budget_kbps: Option<u32>) -> Self {
        let total_kbps = bitrates
            .into_iter()
            .flatten()
            .fold(None, |acc: Option<u32>, b| Some(acc.unwrap_or(0).saturating_add(b)));
        let over_budget = matches!((total_kbps, budget_kbps), (Some(t), Some(b)) if t > b);
        UploadStatus { total_kbps, budget_kbps, over_budget }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestEndpoint {
    pub backend: IngestBackend,
    /// `None` until known (e.g. before the Cloudflare live input exists).
    pub url: Option<String>,
    pub stream_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamStatus {
    pub state: StreamPhase,
    pub uuid: Option<Uuid>,
    pub started_at: Option<DateTime<Utc>>,
    pub platforms: BTreeMap<String, PlatformSnapshot>,
}

/// One platform in the status: its status plus output statistics (`null` where the backend
/// cannot measure them, e.g. Cloudflare outputs).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlatformSnapshot {
    #[serde(flatten)]
    pub status: PlatformStatus,
    pub bytes_sent: Option<u64>,
    pub bitrate_kbps: Option<u32>,
    pub reconnects: Option<u32>,
    pub dropped_frames: Option<u64>,
}

impl PlatformSnapshot {
    /// A status with no output statistics.
    pub fn unmeasured(status: PlatformStatus) -> Self {
        PlatformSnapshot {
            status,
            bytes_sent: None,
            bitrate_kbps: None,
            reconnects: None,
            dropped_frames: None,
        }
    }
}

/// `GET /api/v1/debug`: the live task tree, like the old `PresenceHelper.debug()`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DebugTree {
    pub uptime_ms: u64,
    pub users: Vec<DebugUser>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DebugUser {
    pub user_id: String,
    pub manager: &'static str,
    pub manager_restarts: u32,
    pub sessions: Vec<SessionInfo>,
    pub children: Vec<DebugChild>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DebugChild {
    #[serde(flatten)]
    pub info: ChildInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildInfo>,
}

/// What the HistoryRecorder reads from the user's stream in force.
struct RecorderView(Arc<std::sync::RwLock<Arc<UserStream>>>);

impl RecorderView {
    fn user(&self) -> Arc<UserStream> {
        self.0.read().map(|u| u.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }
}

impl crate::storage::recorder::RecorderSource for RecorderView {
    fn backend(&self) -> String {
        format!("{:?}", self.user().config().ingest_backend()).to_lowercase()
    }

    fn outputs(&self) -> BTreeMap<String, crate::storage::recorder::OutputSample> {
        let Some(relay) = self.user().relay() else { return BTreeMap::new() };
        relay
            .outputs()
            .into_iter()
            .map(|o| {
                let sample = crate::storage::recorder::OutputSample {
                    bitrate_kbps: o.bitrate_kbps,
                    bytes_sent: o.bytes_sent,
                    reconnects: o.reconnects,
                };
                (o.name, sample)
            })
            .collect()
    }

    fn sample_interval(&self) -> Duration {
        Duration::from_millis(self.user().config().history.sample_interval_ms)
    }

    fn upload_budget_kbps(&self) -> Option<u32> {
        self.user().config().local.upload_budget_kbps
    }
}

impl Engine {
    /// Build and start the engine's root supervisor. Must run inside a tokio runtime.
    pub fn start(opts: EngineOptions) -> Engine {
        let config = Arc::new(opts.config);
        let bus = EventBus::new();
        let presence = Presence::new(bus.clone());
        let state_file =
            opts.state_file.unwrap_or_else(|| StateFile::open(&config.data_dir().join("state.json")));
        let secrets = opts.secrets;
        let db = opts.db.unwrap_or_else(|| {
            let path = config.data_dir().join("streampai.db");
            Db::open(&path).unwrap_or_else(|e| {
                tracing::error!(cause = %e, "alerts and history will not survive a restart");
                Db::open_in_memory().expect("an in-memory SQLite database")
            })
        });
        let stores = Stores::new(db);
        if let Err(e) = stores.history.settle_after_crash() {
            tracing::error!(cause = %e, "cannot settle the stream history");
        }
        let user = UserStream::new(
            &config.user_id,
            config.clone(),
            secrets.clone(),
            presence.clone(),
            bus.clone(),
            state_file,
            stores.clone(),
        );
        let user = Arc::new(std::sync::RwLock::new(Arc::new(user)));
        let recorder_args = crate::storage::recorder::RecorderArgs {
            user_id: config.user_id.clone(),
            bus: bus.clone(),
            history: stores.history.clone(),
            source: Arc::new(RecorderView(user.clone())),
        };

        let (trees, trees_mb) = Supervisor::channel();
        let users_spec = ChildSpec::new("users", Restart::Permanent, move |ctx| {
            Supervisor::new(SupervisorConfig::new("users").intensity(10, Duration::from_secs(60)), vec![])
                .with_mailbox(trees_mb.clone())
                .run(ctx.cancel)
        })
        .shutdown_timeout(Duration::from_secs(30));

        let factory_user = user.clone();
        let pm = PresenceManager {
            presence: presence.clone(),
            trees: trees.clone(),
            factory: Arc::new(move |uid| {
                let current = factory_user.read().map(|u| u.clone()).ok()?;
                (uid == current.user_id()).then(|| current.child_spec())
            }),
            cleanup_timeout: config.cleanup_timeout(),
            bus: bus.clone(),
        };
        let (manager, pm_mb) = PresenceManager::channel();
        let pm_spec = ChildSpec::new("PresenceManager", Restart::Permanent, move |ctx| {
            pm.clone().run(pm_mb.clone(), ctx.cancel)
        });

        let recorder_spec = ChildSpec::new("HistoryRecorder", Restart::Permanent, move |ctx| {
            crate::storage::recorder::run(recorder_args.clone(), ctx.cancel)
        });
        let cancel = CancellationToken::new();
        // The recorder starts first and stops last, so it sees every stream end.
        let root = Supervisor::new(
            SupervisorConfig::new("engine").intensity(10, Duration::from_secs(60)),
            vec![recorder_spec, users_spec, pm_spec],
        );
        let task = tokio::spawn(root.run(cancel.clone()));
        tracing::info!(user_id = %config.user_id, "engine started");
        let sync_status = SyncStatusCell::new(bus.user(&config.user_id));
        let engine = Engine {
            inner: Arc::new(Inner {
                user_id: config.user_id.clone(),
                presence,
                bus,
                trees,
                manager,
                user,
                overlay_key: std::sync::RwLock::new(crate::secrets::get_or_generate(
                    secrets.as_ref(),
                    &crate::secrets::SecretName::OverlayKey,
                )),
                secrets,
                cancel,
                root: Mutex::new(Some(task)),
                started: Instant::now(),
                sync_status,
                sync: Mutex::new(None),
            }),
        };
        // The optional sync server link (off until `[sync] url` is set).
        let run = engine.spawn_sync();
        if let Ok(mut slot) = engine.inner.sync.try_lock() {
            *slot = run;
        }
        engine
    }

    fn spawn_sync(&self) -> Option<SyncRun> {
        let cancel = self.inner.cancel.child_token();
        let running = crate::sync::client::spawn(self, self.inner.sync_status.clone(), cancel.clone())?;
        Some(SyncRun { cancel, running })
    }

    /// Stop the sync client (its remote device sessions leave) and wait for it, bounded.
    async fn stop_sync(run: Option<SyncRun>) {
        let Some(run) = run else { return };
        run.cancel.cancel();
        let abort = run.running.task.abort_handle();
        if tokio::time::timeout(SYNC_STOP_TIMEOUT, run.running.task).await.is_err() {
            tracing::warn!("the sync client did not stop in time; aborted");
            abort.abort();
        }
    }

    /// Restart the sync client from the config and secrets in force (or stop it, if sync is no
    /// longer configured). With `only_if_token_changed`, a client already running with the
    /// stored token is left alone.
    async fn restart_sync(&self, only_if_token_changed: bool) {
        let mut slot = self.inner.sync.lock().await;
        if only_if_token_changed {
            let stored = self.inner.secrets.get(&crate::secrets::SecretName::SyncToken).ok().flatten();
            let running = slot.as_ref().map(|r| &r.running.token);
            if running.is_some() && running == stored.as_ref() {
                return;
            }
        }
        Self::stop_sync(slot.take()).await;
        *slot = self.spawn_sync();
    }

    /// The link to the sync server: state, last error in words, remote devices.
    pub fn sync_status(&self) -> SyncStatus {
        self.inner.sync_status.get()
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.user().config()
    }
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }
    pub fn secrets(&self) -> &SharedSecrets {
        &self.inner.secrets
    }
    pub fn presence(&self) -> &Presence {
        &self.inner.presence
    }
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }
    /// The user's stream (handles to the tree's components). After [`Engine::reconfigure`]
    /// this is a new value: ask again rather than keeping it.
    pub fn user(&self) -> Arc<UserStream> {
        self.inner.user.read().map(|u| u.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }
    /// Events of this engine's user.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe(self.user_id())
    }

    /// Is the user's UserStreamManager tree running?
    pub fn is_running(&self) -> bool {
        self.inner.trees.info().contains(self.user_id())
    }

    /// Start the stream, starting the tree first if no session holds it. The live stream's
    /// lease then keeps the tree up.
    pub async fn start_stream(&self) -> Result<Uuid, EngineError> {
        let user = self.user();
        let targets = user.validate_start()?;
        // Hold the tree for the length of this request, whether or not a session is open.
        let _request =
            self.inner.presence.guard(self.user_id(), SessionKind::Lease, Some("start-request".into()));
        self.inner
            .manager
            .ensure_tree(self.user_id())
            .await
            .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
        user.start_stream(targets).await
    }

    /// Stop the stream and clean everything up.
    pub async fn stop_stream(&self) -> Result<Uuid, EngineError> {
        if !self.is_running() {
            return Err(EngineError::InvalidTransition {
                message: "cannot stop while the stream is Offline".into(),
            });
        }
        self.user().stop_stream().await
    }

    /// The stream history, newest first.
    pub fn stream_history(&self) -> Result<Vec<StreamRecord>, EngineError> {
        Ok(self.user().stores.history.list()?)
    }

    /// One stream of the history with its bitrate samples and events; `None` if unknown.
    pub fn stream_detail(&self, uuid: Uuid) -> Result<Option<StreamDetail>, EngineError> {
        Ok(self.user().stores.history.detail(uuid)?)
    }

    pub async fn status(&self) -> Status {
        let running = self.is_running();
        let user = self.user();
        let data = if running { user.snapshot().await.ok() } else { None };
        let (input, stream) = match data {
            Some(d) => (
                d.input,
                StreamStatus {
                    state: d.state,
                    uuid: d.uuid,
                    started_at: d.started_at,
                    platforms: d
                        .platforms
                        .into_iter()
                        .map(|(n, s)| (n, PlatformSnapshot::unmeasured(s)))
                        .collect(),
                },
            ),
            None => (
                InputStatus::Unknown,
                StreamStatus {
                    state: StreamPhase::Offline,
                    uuid: None,
                    started_at: None,
                    platforms: user
                        .config()
                        .platforms
                        .iter()
                        .map(|p| {
                            let idle =
                                if p.enabled { PlatformStatus::Stopped } else { PlatformStatus::Disabled };
                            (p.name.clone(), PlatformSnapshot::unmeasured(idle))
                        })
                        .collect(),
                },
            ),
        };
        let backend = user.config().ingest_backend();
        let ingest = match backend {
            IngestBackend::Cloudflare => {
                let known = if running { user.cloudflare.cached().await.ok().flatten() } else { None };
                IngestEndpoint {
                    backend,
                    url: known.as_ref().and_then(|i| i.rtmps_url.clone()),
                    stream_key: known.and_then(|i| i.rtmps_stream_key).map(|k| k.expose().to_string()),
                }
            }
            IngestBackend::Local => {
                let addr = user
                    .relay()
                    .map(|r| r.local_addr().to_string())
                    .unwrap_or(user.config().local.listen.clone());
                IngestEndpoint {
                    backend,
                    url: Some(format!("rtmp://{addr}/live")),
                    stream_key: Some(user.ingest_key().expose().to_string()),
                }
            }
        };
        // Output statistics where the backend measures them (the local relay).
        let mut stream = stream;
        if let Some(relay) = user.relay() {
            for o in relay.outputs() {
                if let Some(p) = stream.platforms.get_mut(&o.name) {
                    p.bytes_sent = Some(o.bytes_sent);
                    p.bitrate_kbps = Some(o.bitrate_kbps);
                    p.reconnects = Some(o.reconnects);
                    p.dropped_frames = Some(o.dropped_frames);
                }
            }
        }
        let upload = UploadStatus::compute(
            stream.platforms.values().map(|p| p.bitrate_kbps),
            user.config().local.upload_budget_kbps,
        );
        Status {
            user_id: self.user_id().to_string(),
            manager: if running { "running" } else { "stopped" },
            input,
            ingest,
            stream,
            upload,
            presence: self.inner.presence.list(self.user_id()),
            sync: self.sync_status(),
        }
    }

    pub fn debug_tree(&self) -> DebugTree {
        let users = self
            .inner
            .trees
            .info()
            .children()
            .into_iter()
            .map(|tree| {
                let user = self.user();
                let children = if tree.id == user.user_id() {
                    user.tree_children()
                        .into_iter()
                        .map(|c| {
                            let sub = if c.id == "PlatformSupervisor" {
                                user.workers.info().children()
                            } else {
                                vec![]
                            };
                            DebugChild { info: c, children: sub }
                        })
                        .collect()
                } else {
                    vec![]
                };
                DebugUser {
                    sessions: self.inner.presence.list(&tree.id),
                    user_id: tree.id,
                    manager: if tree.state == "running" { "running" } else { "restarting" },
                    manager_restarts: tree.restarts,
                    children,
                }
            })
            .collect();
        DebugTree { uptime_ms: self.inner.started.elapsed().as_millis() as u64, users }
    }

    /// The key the OBS overlay URL must carry.
    pub fn overlay_key(&self) -> crate::secrets::Secret {
        self.inner.overlay_key.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replace the overlay key (old overlay URLs stop working); stored for next time.
    pub fn rotate_overlay_key(&self) -> crate::secrets::Secret {
        let fresh = crate::secrets::Secret::generate();
        if let Err(e) = self.inner.secrets.set(&crate::secrets::SecretName::OverlayKey, &fresh) {
            tracing::warn!(cause = %e, "cannot store the new overlay key; it lasts this run only");
        }
        if let Ok(mut k) = self.inner.overlay_key.write() {
            *k = fresh.clone();
        }
        fresh
    }

    /// Enable or disable a platform, also while live (see [`UserStream::set_platform_enabled`]).
    /// Sends [`Event::ConfigChanged`] when the config in force changed.
    pub async fn set_platform_enabled(&self, name: &str, enabled: bool) -> Result<(), EngineError> {
        let before = self.config();
        let res = self.user().set_platform_enabled(name, enabled).await;
        self.config_changed_since(&before);
        res
    }

    /// Tell the front-ends (to persist it) if the config in force is no longer `before`.
    fn config_changed_since(&self, before: &Config) {
        if *self.config() != *before {
            self.inner.bus.user(self.user_id()).emit(Event::ConfigChanged { user_id: self.user_id().into() });
        }
    }

    /// Apply a new config. While the stream is on air only platforms' `enabled` flags and
    /// `[sync]` may change (applied live); anything else needs the stream stopped. Otherwise the
    /// user's tree is rebuilt from the new config (queued alerts and known outputs are kept) and
    /// started again if someone is present. A changed `[sync]` restarts (or stops) the sync
    /// client without touching the tree. Sends [`Event::ConfigChanged`] when anything changed.
    pub async fn reconfigure(&self, new: Config) -> Result<(), EngineError> {
        let before = self.config();
        let res = self.reconfigure_inner(new).await;
        self.config_changed_since(&before);
        res
    }

    async fn reconfigure_inner(&self, new: Config) -> Result<(), EngineError> {
        new.validate().map_err(|e| EngineError::InvalidConfig { key: e.key, message: e.message })?;
        if new.user_id != self.user_id() {
            return Err(EngineError::InvalidConfig {
                key: "user_id".into(),
                message: "cannot change while running; restart the app".into(),
            });
        }
        let current = self.user();
        let old = current.config();
        let on_air = self.is_running()
            && matches!(
                current.snapshot().await.map(|d| d.state),
                Ok(StreamPhase::Starting | StreamPhase::Live)
            );
        let sync_changed = new.sync != old.sync;
        let mut same_but_enabled = new.clone();
        same_but_enabled.sync = old.sync.clone();
        for p in same_but_enabled.platforms.iter_mut() {
            if let Some(o) = old.platforms.iter().find(|o| o.name == p.name) {
                p.enabled = o.enabled;
            }
        }
        if same_but_enabled == *old {
            for p in &new.platforms {
                current.set_platform_enabled(&p.name, p.enabled).await?;
            }
            if sync_changed {
                // The tree does not read `[sync]`: change it in place.
                let mut cfg = (*current.config()).clone();
                cfg.sync = new.sync.clone();
                current.replace_config_outside_tree(Arc::new(cfg));
                self.restart_sync(false).await;
                tracing::info!(user_id = %self.user_id(), "sync settings applied");
            }
            return Ok(());
        }
        let stopping = self.is_running()
            && matches!(current.snapshot().await.map(|d| d.state), Ok(StreamPhase::Stopping));
        if on_air || stopping {
            return Err(EngineError::InvalidTransition {
                message: "stop the stream before changing these settings (platform on/off works while live)"
                    .into(),
            });
        }
        self.rebuild_tree(current.reconfigured(Arc::new(new))).await?;
        if sync_changed {
            self.restart_sync(false).await;
        }
        tracing::info!(user_id = %self.user_id(), "settings applied");
        Ok(())
    }

    /// Pick up changed secrets: a new sync token restarts the sync client (at any time); the
    /// user's tree is rebuilt with the same config (e.g. for a new Cloudflare API token), which
    /// is refused while the stream is not offline.
    pub async fn reload_secrets(&self) -> Result<(), EngineError> {
        self.restart_sync(true).await;
        let current = self.user();
        if self.is_running() && !matches!(current.snapshot().await.map(|d| d.state), Ok(StreamPhase::Offline))
        {
            return Err(EngineError::InvalidTransition {
                message: "stop the stream before changing the Cloudflare credentials".into(),
            });
        }
        self.rebuild_tree(current.reconfigured(current.config())).await
    }

    /// Put `next` in place of the user's stream: stop the old tree, and start the new one if
    /// someone is present (queued alerts and known outputs carry over in the stashes).
    async fn rebuild_tree(&self, next: UserStream) -> Result<(), EngineError> {
        if let Ok(mut u) = self.inner.user.write() {
            *u = Arc::new(next);
        }
        if self.is_running() {
            match self.inner.trees.terminate_child(self.user_id()).await {
                Ok(()) | Err(crate::supervisor::SupervisorError::NotFound { .. }) => {}
                Err(e) => return Err(EngineError::Unavailable { message: e.to_string() }),
            }
        }
        if self.inner.presence.is_present(self.user_id()) {
            self.inner
                .manager
                .ensure_tree(self.user_id())
                .await
                .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
        }
        Ok(())
    }

    /// Stop everything in order (the sync client first, then streams are stopped and outputs
    /// deleted) and wait. Every step is bounded (per-child shutdown timeouts, then abort), but
    /// the steps run as tasks on the runtime: a caller that blocks the runtime's worker threads
    /// meanwhile (e.g. tasks waiting synchronously for a GUI main thread that is itself blocked
    /// in `block_on(engine.shutdown())`) stalls it.
    pub async fn shutdown(&self) {
        let sync = self.inner.sync.lock().await.take();
        Self::stop_sync(sync).await;
        self.inner.cancel.cancel();
        if let Some(task) = self.inner.root.lock().await.take() {
            if let Err(e) = task.await {
                tracing::error!(cause = %e, "engine root task failed");
            }
        }
    }
}
