//! UserStreamManager: one user's supervised tree —
//! StreamStateServer, the ingest pair (CloudflareManager + CloudflareLiveInputMonitor, or
//! LocalIngestManager + LocalIngestMonitor), PlatformSupervisor, AlertQueue, StreamAutomation.
//! Crate-private: front ends reach it only through [`crate::Engine`].
//!
//! Handles and stashes are made once per user and outlive every restart of the tree and of its
//! children, so callers keep working handles and a crash never forgets a stream on air.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, info_span, Instrument};
use uuid::Uuid;

use crate::actor::Mailbox;
use crate::alerts::queue::{self as alert_queue, AlertMsg};
use crate::alerts::AlertStash;
use crate::alerts::{AlertQueueArgs, AlertQueueHandle};
use crate::cloudflare::api::{ClientConfig, CloudflareClient};
use crate::cloudflare::manager::{self as cf_manager, CloudflareManagerArgs, CloudflareManagerHandle};
use crate::cloudflare::monitor::{self, MonitorArgs};
use crate::config::{Config, IngestBackend};
use crate::error::EngineError;
use crate::events::{Event, EventBus};
use crate::ingest::local::{self, LocalIngestArgs};
use crate::ingest::RelaySlot;
use crate::platforms::supervisor::{self as platform_sup, PlatformStash, PlatformSupervisorArgs};
use crate::platforms::worker::RetryPolicy;
use crate::platforms::{PlatformSupervisorHandle, PlatformTarget};
use crate::presence::Presence;
use crate::secrets::{SecretName, SharedSecrets};
use crate::state_file::StateFile;
use crate::storage::{AlertStore, Db, HistoryStore};
use crate::stream_state::{
    self, EndReason, StreamData, StreamPhase, StreamStash, StreamStateArgs, StreamStateHandle,
};
use crate::supervisor::{
    ChildInfo, ChildSpec, Restart, Supervisor, SupervisorConfig, SupervisorHandle, SupervisorMailbox,
};

/// The ingest backend's handles: a Cloudflare handle cannot exist in local mode, nor a relay in
/// Cloudflare mode.
#[derive(Clone)]
pub(crate) enum IngestHandles {
    /// OBS → the local relay; `relay` holds the running relay (none while the tree is down).
    Local { relay: RelaySlot },
    /// OBS → Cloudflare; `client` is `None` when the credentials are missing (start refuses).
    Cloudflare { manager: CloudflareManagerHandle, client: Option<CloudflareClient> },
}

impl IngestHandles {
    pub(crate) fn client(&self) -> Option<&CloudflareClient> {
        match self {
            IngestHandles::Cloudflare { client, .. } => client.as_ref(),
            IngestHandles::Local { .. } => None,
        }
    }
}

/// Everything that outlives the tree's restarts for one user.
#[derive(Clone)]
pub(crate) struct UserStream {
    user_id: String,
    /// Only `enabled` flags change in place (platform toggles while live); any other change
    /// builds a new `UserStream` (see `Engine::reconfigure`).
    config: Arc<std::sync::RwLock<Arc<Config>>>,
    secrets: SharedSecrets,
    presence: Presence,
    bus: EventBus,
    state_file: StateFile,
    /// Durable alerts and stream history.
    pub(crate) stores: Stores,
    /// How many OBS overlays are connected (they pace the alert queue).
    pub(crate) overlays: Arc<std::sync::atomic::AtomicUsize>,
    ingest: IngestHandles,
    pub(crate) state: StreamStateHandle,
    pub(crate) platforms: PlatformSupervisorHandle,
    pub(crate) alerts: AlertQueueHandle,
    boxes: Mailboxes,
    stash: Stash,
    /// The tree's supervisor: its children for the debug view, and kill for tests and debugging.
    pub(crate) tree: SupervisorHandle,
    tree_mailbox: SupervisorMailbox,
    /// The PlatformSupervisor's workers.
    pub(crate) workers: SupervisorHandle,
    workers_mailbox: SupervisorMailbox,
}

/// The database-backed stores of one engine.
#[derive(Clone)]
pub(crate) struct Stores {
    pub(crate) alerts: AlertStore,
    pub(crate) history: HistoryStore,
}

impl Stores {
    pub(crate) fn new(db: Db) -> Self {
        Stores { alerts: AlertStore::new(db.clone()), history: HistoryStore::new(db) }
    }
}

#[derive(Clone)]
struct Mailboxes {
    state: Mailbox<stream_state::Msg>,
    cloudflare: Mailbox<cf_manager::Msg>,
    platforms: Mailbox<platform_sup::Msg>,
    alerts: Mailbox<AlertMsg>,
}

#[derive(Clone, Default)]
struct Stash {
    stream: StreamStash,
    platforms: PlatformStash,
    alerts: AlertStash,
    overlays: Arc<std::sync::atomic::AtomicUsize>,
    relay: RelaySlot,
    /// Read (or generated) once, so OBS's key never changes under it within a run.
    ingest_key: Arc<std::sync::OnceLock<crate::secrets::Secret>>,
    /// Auto start waits for the source to go away and come back (see `stream_automation`).
    auto_start_disarmed: Arc<std::sync::atomic::AtomicBool>,
}

impl UserStream {
    pub fn new(
        user_id: &str,
        config: Arc<Config>,
        secrets: SharedSecrets,
        presence: Presence,
        bus: EventBus,
        state_file: StateFile,
        stores: Stores,
    ) -> Self {
        Self::with_stash(user_id, config, secrets, presence, bus, state_file, stores, Stash::default())
    }

    /// A new stream for a changed config that keeps the previous one's queued alerts, stream
    /// state and known outputs.
    pub fn reconfigured(&self, config: Arc<Config>) -> Self {
        Self::with_stash(
            &self.user_id,
            config,
            self.secrets.clone(),
            self.presence.clone(),
            self.bus.clone(),
            self.state_file.clone(),
            self.stores.clone(),
            self.stash.clone(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn with_stash(
        user_id: &str,
        config: Arc<Config>,
        secrets: SharedSecrets,
        presence: Presence,
        bus: EventBus,
        state_file: StateFile,
        stores: Stores,
        stash: Stash,
    ) -> Self {
        let (state, state_mb) = StreamStateHandle::channel();
        let (cloudflare, cf_mb) = CloudflareManagerHandle::channel();
        let (platforms, plat_mb) = PlatformSupervisorHandle::channel();
        let (alerts, alerts_mb) = AlertQueueHandle::channel();
        let ingest = match config.ingest_backend() {
            IngestBackend::Local => IngestHandles::Local { relay: stash.relay.clone() },
            IngestBackend::Cloudflare => IngestHandles::Cloudflare {
                manager: cloudflare,
                client: cloudflare_client(&config, &secrets),
            },
        };
        let (tree, tree_mailbox) = Supervisor::channel();
        let (workers, workers_mailbox) = Supervisor::channel();
        UserStream {
            user_id: user_id.to_string(),
            config: Arc::new(std::sync::RwLock::new(config)),
            secrets,
            presence,
            bus,
            state_file,
            stores,
            overlays: stash.overlays.clone(),
            ingest,
            state,
            platforms,
            alerts,
            boxes: Mailboxes { state: state_mb, cloudflare: cf_mb, platforms: plat_mb, alerts: alerts_mb },
            stash,
            tree,
            tree_mailbox,
            workers,
            workers_mailbox,
        }
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// This user's events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.bus.subscribe(&self.user_id)
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replace the config in force without rebuilding the tree. Only for settings the tree
    /// does not read (`[sync]`); everything else goes through [`UserStream::reconfigured`].
    pub(crate) fn replace_config_outside_tree(&self, config: Arc<Config>) {
        if let Ok(mut c) = self.config.write() {
            *c = config;
        }
    }

    /// The tree as a child of the users' DynamicSupervisor (transient: restarted only if it
    /// gives up).
    pub fn child_spec(&self) -> ChildSpec {
        let me = self.clone();
        ChildSpec::new(self.user_id.clone(), Restart::Transient, move |ctx| {
            let me = me.clone();
            let span = info_span!("UserStreamManager", user_id = %me.user_id);
            async move { me.run_tree(ctx.cancel).await }.instrument(span)
        })
        .shutdown_timeout(
            Duration::from_millis(self.config().stream.stop_timeout_ms) + Duration::from_secs(5),
        )
    }

    async fn run_tree(self, cancel: tokio_util::sync::CancellationToken) -> crate::actor::ChildResult {
        let user = self.user_id.clone();
        let events = self.bus.user(&user);
        info!("[UserStreamManager:{user}] starting");
        events.emit(Event::ManagerStarted { user_id: user.clone() });
        let hook_events = events.clone();
        let hook_user = user.clone();
        let sup = Supervisor::new(
            SupervisorConfig::new(format!("UserStreamManager:{user}")).intensity(
                self.config().supervision.max_restarts,
                Duration::from_millis(self.config().supervision.period_ms),
            ),
            self.children_specs(),
        )
        .with_mailbox(self.tree_mailbox.clone())
        .on_restart(Arc::new(move |child, restarts| {
            hook_events.emit(Event::ChildRestarted {
                user_id: hook_user.clone(),
                supervisor: "UserStreamManager".into(),
                child: child.to_string(),
                restarts,
            })
        }));
        let res = sup.run(cancel).await;
        let reason = match &res {
            Ok(()) => "shutdown".to_string(),
            Err(e) => format!("gave_up: {e}"),
        };
        info!("[UserStreamManager:{user}] stopped ({reason})");
        events.emit(Event::ManagerStopped { user_id: user, reason });
        res
    }

    fn children_specs(&self) -> Vec<ChildSpec> {
        let cfg = self.config();
        let user = self.user_id.clone();
        let events = self.bus.user(&user);

        let state_args = StreamStateArgs {
            user_id: user.clone(),
            events: events.clone(),
            stash: self.stash.stream.clone(),
            presence: self.presence.clone(),
            hold_lease: !cfg.presence.stop_with_last_session,
            platforms: cfg.platforms.iter().map(|p| (p.name.clone(), p.enabled)).collect(),
        };
        let mb = self.boxes.state.clone();
        let state = ChildSpec::new("StreamStateServer", Restart::Permanent, move |ctx| {
            stream_state::run(state_args.clone(), mb.clone(), ctx.cancel)
        });

        let stop_timeout = Duration::from_millis(cfg.stream.stop_timeout_ms);
        let plat_args = PlatformSupervisorArgs {
            user_id: user.clone(),
            ingest: self.ingest.clone(),
            state: self.state.clone(),
            events: events.clone(),
            retry: RetryPolicy {
                initial: Duration::from_millis(cfg.stream.retry_initial_ms),
                max: Duration::from_millis(cfg.stream.retry_max_ms),
                max_attempts: cfg.stream.max_attempts,
            },
            stop_timeout,
            stash: self.stash.platforms.clone(),
            workers: self.workers.clone(),
            workers_mailbox: self.workers_mailbox.clone(),
            source_grace: Duration::from_millis(cfg.local.source_grace_ms),
        };
        let mb = self.boxes.platforms.clone();
        let platforms = ChildSpec::new("PlatformSupervisor", Restart::Permanent, move |ctx| {
            platform_sup::run(plat_args.clone(), mb.clone(), ctx.cancel)
        })
        .shutdown_timeout(stop_timeout + Duration::from_secs(2));

        let alert_args = AlertQueueArgs {
            events,
            default_duration: Duration::from_millis(cfg.alerts.default_duration_ms),
            durations: cfg.alerts.durations_ms.iter().map(|(k, v)| (*k, Duration::from_millis(*v))).collect(),
            stash: self.stash.alerts.clone(),
            store: Some(self.stores.alerts.clone()),
            overlays: self.overlays.clone(),
        };
        let mb = self.boxes.alerts.clone();
        let alerts = ChildSpec::new("AlertQueue", Restart::Permanent, move |ctx| {
            alert_queue::run(alert_args.clone(), mb.clone(), ctx.cancel)
        });

        let (manager, monitor) = match &self.ingest {
            IngestHandles::Cloudflare { manager, client } => {
                let cf_args = CloudflareManagerArgs {
                    user_id: user.clone(),
                    client: client.clone(),
                    state: self.state_file.clone(),
                };
                let mb = self.boxes.cloudflare.clone();
                let mon_args = MonitorArgs {
                    user_id: user.clone(),
                    client: client.clone(),
                    manager: manager.clone(),
                    state: self.state.clone(),
                    poll_interval: Duration::from_millis(cfg.cloudflare.poll_interval_ms),
                };
                (
                    ChildSpec::new("CloudflareManager", Restart::Permanent, move |ctx| {
                        cf_manager::run(cf_args.clone(), mb.clone(), ctx.cancel)
                    }),
                    ChildSpec::new("CloudflareLiveInputMonitor", Restart::Permanent, move |ctx| {
                        monitor::run(mon_args.clone(), ctx.cancel)
                    }),
                )
            }
            IngestHandles::Local { relay } => {
                let local = LocalIngestArgs {
                    user_id: user.clone(),
                    config: cfg.local.clone(),
                    ingest_key: self.ingest_key(),
                    slot: relay.clone(),
                    state: self.state.clone(),
                };
                let mon = local.clone();
                (
                    ChildSpec::new("LocalIngestManager", Restart::Permanent, move |ctx| {
                        local::run_manager(local.clone(), ctx.cancel)
                    }),
                    ChildSpec::new("LocalIngestMonitor", Restart::Permanent, move |ctx| {
                        local::run_monitor(mon.clone(), ctx.cancel)
                    }),
                )
            }
        };
        let auto_args = crate::stream_automation::AutomationArgs {
            user: self.clone(),
            source_timeout: Duration::from_millis(cfg.local.source_timeout_ms),
            auto_start: cfg.stream.auto_start,
            disarmed: self.stash.auto_start_disarmed.clone(),
        };
        let automation = ChildSpec::new("StreamAutomation", Restart::Permanent, move |ctx| {
            crate::stream_automation::run(auto_args.clone(), ctx.cancel)
        });
        vec![state, manager, monitor, platforms, alerts, automation]
    }

    /// Check every enabled platform and its key. Nothing is started on error.
    pub fn resolve_targets(&self) -> Result<Vec<PlatformTarget>, EngineError> {
        let mut targets = Vec::new();
        let mut problems = Vec::new();
        for p in self.config().platforms.iter().filter(|p| p.enabled) {
            let key = self.secrets.get(&SecretName::StreamKey(p.name.clone())).ok().flatten();
            match PlatformTarget::resolve(p, key) {
                Ok(t) => targets.push(t),
                Err(m) => problems.push(m),
            }
        }
        if !problems.is_empty() {
            return Err(EngineError::InvalidPlatform { message: problems.join("; ") });
        }
        Ok(targets)
    }

    /// Everything a start needs, checked before anything starts: the ingest backend is
    /// configured, and every enabled platform has a valid URL and a key.
    pub fn validate_start(&self) -> Result<Vec<PlatformTarget>, EngineError> {
        match self.config().ingest_backend() {
            IngestBackend::Local => {}
            IngestBackend::Cloudflare if self.ingest.client().is_none() => {
                return Err(EngineError::NotConfigured {
                    message: "Cloudflare is not configured: set cloudflare.account_id and the API token \
                          (STREAMPAI_CLOUDFLARE_API_TOKEN or the keyring)"
                        .into(),
                })
            }
            IngestBackend::Cloudflare => {}
        }
        self.resolve_targets()
    }

    /// Move to `starting` with a new UUID and launch every target at once (the tree must be
    /// running). The stream goes `live` asynchronously.
    pub async fn start_stream(&self, targets: Vec<PlatformTarget>) -> Result<Uuid, EngineError> {
        let names = targets.iter().map(|t| t.name.clone()).collect();
        let uuid = self.state.begin_start(names).await?;
        if let Err(e) = self.platforms.start_stream(uuid, targets).await {
            // Roll back: the stream never got going.
            let _ = self.state.begin_stop().await;
            let _ = self.state.finish_stop().await;
            return Err(EngineError::Unavailable { message: format!("cannot start the platforms: {e}") });
        }
        Ok(uuid)
    }

    /// Stop: every worker deletes its output, then the stream is offline. Runs to completion
    /// even if the caller goes away.
    pub async fn stop_stream(&self) -> Result<Uuid, EngineError> {
        self.stop_stream_for(EndReason::Stopped).await
    }

    /// Like [`stop_stream`](Self::stop_stream), recording why the stream ended.
    pub async fn stop_stream_for(&self, reason: EndReason) -> Result<Uuid, EngineError> {
        let me = self.clone();
        let job = tokio::spawn(async move {
            let uuid = me.state.begin_stop_for(reason).await?;
            let timeout = Duration::from_millis(me.config().stream.stop_timeout_ms);
            if let Err(e) = me.platforms.stop_stream(timeout).await {
                tracing::warn!(cause = %e, "stopping platforms failed");
            }
            me.state.finish_stop().await?;
            Ok::<_, EngineError>(uuid)
        });
        job.await.map_err(|e| EngineError::Unavailable { message: format!("stop failed: {e}") })?
    }

    pub async fn snapshot(&self) -> Result<StreamData, EngineError> {
        Ok(self.state.snapshot().await?)
    }

    /// Enable or disable one platform, also while live: a platform enabled mid-stream starts at
    /// once, one disabled mid-stream has its output deleted. The others are untouched.
    pub async fn set_platform_enabled(&self, name: &str, enabled: bool) -> Result<(), EngineError> {
        let mut cfg = (*self.config()).clone();
        let Some(p) = cfg.platforms.iter_mut().find(|p| p.name == name) else {
            return Err(EngineError::InvalidPlatform { message: format!("no platform named `{name}`") });
        };
        if p.enabled == enabled {
            return Ok(());
        }
        p.enabled = enabled;
        let on_air = self.running() && {
            let d = self.state.snapshot().await?;
            matches!(d.state, StreamPhase::Starting | StreamPhase::Live)
        };
        if on_air {
            if enabled {
                let key = self.secrets.get(&SecretName::StreamKey(name.to_string())).ok().flatten();
                let target = PlatformTarget::resolve(p, key)
                    .map_err(|message| EngineError::InvalidPlatform { message })?;
                self.state.add_streaming(name).await?;
                self.platforms
                    .add_platform(target)
                    .await
                    .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
            } else {
                self.platforms
                    .remove_platform(name)
                    .await
                    .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
                self.state.remove_streaming(name).await?;
            }
        }
        let list = cfg.platforms.iter().map(|p| (p.name.clone(), p.enabled)).collect();
        if let Ok(mut c) = self.config.write() {
            *c = Arc::new(cfg);
        }
        if self.running() {
            self.state.set_platforms(list).await?;
        }
        Ok(())
    }

    /// Alerts: intake, view and controls, whether or not the tree runs.
    pub fn alert_desk(&self) -> crate::alerts::AlertDesk {
        crate::alerts::AlertDesk {
            store: self.stores.alerts.clone(),
            queue: self.alerts.clone(),
            config: self.config().alerts.clone(),
            running: self.running(),
            overlays: self.overlays.clone(),
        }
    }

    /// The key OBS publishes to the local ingest with (env `STREAMPAI_INGEST_KEY`, else
    /// generated once and kept in the keyring).
    pub fn ingest_key(&self) -> crate::secrets::Secret {
        self.stash
            .ingest_key
            .get_or_init(|| crate::secrets::get_or_generate(self.secrets.as_ref(), &SecretName::IngestKey))
            .clone()
    }

    /// The running local relay, if any (never in Cloudflare mode).
    pub fn relay(&self) -> Option<crate::relay::RelayHandle> {
        match &self.ingest {
            IngestHandles::Local { relay } => relay.get(),
            IngestHandles::Cloudflare { .. } => None,
        }
    }

    /// The ingest backend's handles.
    pub fn ingest_handles(&self) -> &IngestHandles {
        &self.ingest
    }

    /// OBS's server address for the local ingest: the relay's bound address when it runs (the
    /// configured port may be 0), else the configured one; an unspecified IP (0.0.0.0, ::)
    /// becomes loopback, which is where OBS on this machine reaches it.
    pub fn local_ingest_url(&self) -> String {
        let listen = self.config().local.listen.clone();
        let addr = self.relay().map(|r| r.local_addr()).or_else(|| listen.parse().ok());
        match addr {
            Some(mut a) => {
                if a.ip().is_unspecified() {
                    a.set_ip(if a.is_ipv4() {
                        [127, 0, 0, 1].into()
                    } else {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    });
                }
                format!("rtmp://{a}/live")
            }
            None => format!("rtmp://{listen}/live"),
        }
    }

    /// The Cloudflare live input if the manager knows it already (no API call).
    pub async fn cloudflare_cached(&self) -> Option<crate::cloudflare::manager::IngestInfo> {
        match &self.ingest {
            IngestHandles::Cloudflare { manager, .. } => manager.cached().await.ok().flatten(),
            IngestHandles::Local { .. } => None,
        }
    }

    /// The PlatformSupervisor's workers (debug view).
    pub fn worker_children(&self) -> Vec<ChildInfo> {
        self.workers.info().children()
    }

    /// Is this user's tree running?
    pub fn running(&self) -> bool {
        !self.tree.info().children().is_empty()
    }

    pub fn tree_children(&self) -> Vec<ChildInfo> {
        self.tree.info().children()
    }
}

/// A client if Cloudflare is configured (account id + token), else `None`.
fn cloudflare_client(config: &Config, secrets: &SharedSecrets) -> Option<CloudflareClient> {
    let account_id = config.cloudflare.account_id.clone().filter(|a| !a.trim().is_empty())?;
    let token = secrets.get(&SecretName::CloudflareApiToken).ok().flatten().filter(|t| !t.is_blank())?;
    match cloudflare_client_for(config, &account_id, token) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(cause = %e, "cannot build the Cloudflare client");
            None
        }
    }
}

/// The one way a Cloudflare client is built: API base, timeout and request budget from the
/// config (also for "Test connection" with credentials not yet saved).
pub(crate) fn cloudflare_client_for(
    config: &Config,
    account_id: &str,
    token: crate::secrets::Secret,
) -> Result<CloudflareClient, crate::cloudflare::api::ConnectionProblem> {
    CloudflareClient::new(ClientConfig {
        api_base: config.cloudflare.api_base.clone(),
        account_id: account_id.to_string(),
        token,
        timeout: Duration::from_millis(config.cloudflare.request_timeout_ms),
        requests_per_5min: config.cloudflare.requests_per_5min,
    })
    .map_err(|e| crate::cloudflare::api::ConnectionProblem::Other(e.to_string()))
}
