//! The engine, the one front door: every front end (control API, desktop shell, tray, sync
//! client, CLI) calls these methods and nothing below them.
//!
//! Wiring lives here: the root supervisor (HistoryRecorder, the users' DynamicSupervisor, the
//! PresenceManager, the SyncClient) and the user's stream in force. The rest of the door is split
//! by job: `status.rs` (status and debug views), `settings.rs` (reconfigure, secrets reload,
//! platform toggles), `front.rs` (alerts, ingest, overlay, history, Cloudflare test), `obs.rs`
//! (the link to OBS: status, setup/restore, password, probe), `stream_info.rs` (the title and
//! category pushed to every platform).

mod accounts;
mod front;
mod obs;
mod recorder_view;
mod settings;
mod status;
mod stream_info;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::actor::ChildResult;
use crate::config::Config;
use crate::error::EngineError;
use crate::events::{Event, EventBus};
use crate::presence::{Presence, PresenceManager, PresenceManagerHandle, SessionGuard, SessionKind};
use crate::secrets::SharedSecrets;
use crate::state_file::StateFile;
use crate::storage::Db;
use crate::supervisor::{ChildSpec, Restart, Supervisor, SupervisorConfig, SupervisorHandle};
use crate::sync::{SyncLinkHandle, SyncStatus, SyncStatusCell};
use crate::user_stream_manager::{Stores, UserStream};

pub use front::IngestSettings;
pub use obs::ObsProbe;
pub use status::{DebugChild, DebugTree, DebugUser, IngestEndpoint, PlatformSnapshot, Status, StreamStatus};

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

/// An engine reference that does not keep it alive: what the engine's own children (the sync
/// client) hold, so the engine and its tasks never point at each other.
#[derive(Clone)]
pub(crate) struct WeakEngine(Weak<Inner>);

impl WeakEngine {
    pub(crate) fn upgrade(&self) -> Option<Engine> {
        self.0.upgrade().map(|inner| Engine { inner })
    }
}

struct Inner {
    user_id: String,
    presence: Presence,
    bus: EventBus,
    /// The root supervisor's children (debug view).
    root_sup: SupervisorHandle,
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
    /// The sync client, a child of the root supervisor; told when `[sync]` or its token changes.
    sync: SyncLinkHandle,
    /// The Twitch account, a child of the root supervisor (see `accounts.rs`).
    twitch: crate::accounts::twitch_account::TwitchAccountHandle,
    /// The YouTube account, a child of the root supervisor (see `accounts.rs`).
    youtube: crate::accounts::youtube_account::YouTubeAccountHandle,
    /// The saved stream info and its pushes; its `StreamInfo` child pushes on every start.
    stream_info: crate::stream_info::StreamInfoDesk,
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
        let accounts_cell = crate::accounts::AccountsCell::new(bus.user(&config.user_id));
        let (twitch, twitch_parts) =
            crate::accounts::twitch_account::TwitchAccountHandle::channel(accounts_cell.clone());
        let (youtube, youtube_parts) =
            crate::accounts::youtube_account::YouTubeAccountHandle::channel(accounts_cell);
        let stream_info = crate::stream_info::StreamInfoDesk::load(
            state_file.clone(),
            bus.user(&config.user_id),
            twitch.clone(),
            youtube.clone(),
        );
        let stream_info_spec = crate::stream_info::start_push_spec(stream_info.clone());
        let user = UserStream::new(
            &config.user_id,
            config.clone(),
            secrets.clone(),
            presence.clone(),
            bus.clone(),
            state_file,
            stores.clone(),
        )
        .with_twitch(Some(twitch.clone()))
        .with_youtube(Some(youtube.clone()));
        let user = Arc::new(std::sync::RwLock::new(Arc::new(user)));
        let twitch_spec = accounts::twitch_spec(&twitch, twitch_parts, &secrets, &user);
        let youtube_spec = accounts::youtube_spec(&youtube, youtube_parts, &secrets, &user);
        let recorder_args = crate::storage::recorder::RecorderArgs {
            user_id: config.user_id.clone(),
            bus: bus.clone(),
            history: stores.history.clone(),
            source: Arc::new(recorder_view::RecorderView(user.clone())),
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
        let sync_status = SyncStatusCell::new(bus.user(&config.user_id));
        let (sync, sync_mb) = SyncLinkHandle::channel();
        let (root_sup, root_mb) = Supervisor::channel();
        let overlay_key =
            crate::secrets::get_or_generate(secrets.as_ref(), &crate::secrets::SecretName::OverlayKey);
        // The root supervisor is built with a weak engine for the sync client and spawned once
        // the engine exists (a child that ran before would find no engine to upgrade to).
        let mut root = None;
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let sync_spec = crate::sync::link_spec(
                WeakEngine(weak.clone()),
                sync_status.clone(),
                sync_mb,
                crate::sync::SYNC_STOP_TIMEOUT,
            );
            // The recorder starts first and stops last, so it sees every stream end; the sync
            // client stops first (its remote sessions leave before the trees go).
            root = Some(
                Supervisor::new(
                    SupervisorConfig::new("engine").intensity(10, Duration::from_secs(60)),
                    vec![
                        recorder_spec,
                        users_spec,
                        pm_spec,
                        sync_spec,
                        twitch_spec,
                        youtube_spec,
                        stream_info_spec,
                    ],
                )
                .with_mailbox(root_mb),
            );
            Inner {
                user_id: config.user_id.clone(),
                presence,
                bus,
                root_sup,
                trees,
                manager,
                user,
                overlay_key: std::sync::RwLock::new(overlay_key),
                secrets,
                cancel: cancel.clone(),
                root: Mutex::new(None),
                started: Instant::now(),
                sync_status,
                sync,
                twitch,
                youtube,
                stream_info,
            }
        });
        if let Some(root) = root {
            let task = tokio::spawn(root.run(cancel));
            if let Ok(mut slot) = inner.root.try_lock() {
                *slot = Some(task);
            }
        }
        tracing::info!(user_id = %crate::telemetry::esc(&config.user_id), "engine started");
        Engine { inner }
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.user().config()
    }
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }
    /// The secret store in force (OS keyring, or the secrets file where no keyring answers).
    pub fn secrets(&self) -> &SharedSecrets {
        &self.inner.secrets
    }
    pub(crate) fn presence(&self) -> &Presence {
        &self.inner.presence
    }
    /// The user's stream (handles to the tree's components). After [`Engine::reconfigure`]
    /// this is a new value: ask again rather than keeping it.
    pub(crate) fn user(&self) -> Arc<UserStream> {
        self.inner.user.read().map(|u| u.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }
    /// Events of this engine's user.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe(self.user_id())
    }

    /// A presence session (a window, a socket, a device) joins; it leaves with
    /// [`Engine::leave`]. Returns false if a session with this id was already there.
    pub fn join(&self, session_id: &str, kind: SessionKind, device: Option<String>) -> bool {
        self.inner.presence.track(self.user_id(), session_id, kind, device)
    }

    /// The session with this id leaves (the grace timer starts when it was the last one).
    pub fn leave(&self, session_id: &str) -> bool {
        self.inner.presence.untrack(self.user_id(), session_id)
    }

    /// The user's presence sessions now.
    pub fn sessions(&self) -> Vec<crate::presence::SessionInfo> {
        self.inner.presence.list(self.user_id())
    }

    /// A presence session for as long as the guard lives (e.g. an events socket).
    pub fn session(&self, kind: SessionKind, device: Option<String>) -> SessionGuard {
        self.inner.presence.guard(self.user_id(), kind, device)
    }

    /// Is the user's UserStreamManager tree running?
    pub fn is_running(&self) -> bool {
        self.inner.trees.info().contains(self.user_id())
    }

    /// The user's stream with its tree running: `not_running` at once when nobody is present;
    /// when someone is (a window just opened, the tree is starting), the tree is made sure of
    /// first, as a start does.
    pub(crate) async fn running_user(&self, what: &str) -> Result<Arc<UserStream>, EngineError> {
        if !self.is_running() {
            if !self.inner.presence.is_present(self.user_id()) {
                return Err(EngineError::not_running(what));
            }
            self.inner
                .manager
                .ensure_tree(self.user_id())
                .await
                .map_err(|_| EngineError::not_running(what))?;
        }
        Ok(self.user())
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
                message: "cannot stop while the stream is offline".into(),
            });
        }
        self.user().stop_stream().await
    }

    /// The link to the sync server: state, last error in words, remote devices.
    pub fn sync_status(&self) -> SyncStatus {
        self.inner.sync_status.get()
    }

    /// Stop everything in order (the sync client first, then streams are stopped and outputs
    /// deleted) and wait. Every step is bounded (per-child shutdown timeouts, then abort), but
    /// the steps run as tasks on the runtime: a caller that blocks the runtime's worker threads
    /// meanwhile (e.g. tasks waiting synchronously for a GUI main thread that is itself blocked
    /// in `block_on(engine.shutdown())`) stalls it.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        if let Some(task) = self.inner.root.lock().await.take() {
            if let Err(e) = task.await {
                tracing::error!(cause = %e, "engine root task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
