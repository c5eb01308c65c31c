//! UserStreamManager: one user's supervised tree —
//! StreamStateServer, the ingest pair (CloudflareManager + CloudflareLiveInputMonitor, or
//! LocalIngestManager + LocalIngestMonitor), PlatformSupervisor, AlertQueue, StreamAutomation.
//! Crate-private: front ends reach it only through [`crate::Engine`].
//!
//! `mod.rs`: the handles and stashes; `tree.rs`: the supervised children; `ops.rs`: start,
//! stop and platform toggles.
//!
//! Handles and stashes are made once per user and outlive every restart of the tree and of its
//! children, so callers keep working handles and a crash never forgets a stream on air.

mod ops;
mod tree;

use std::sync::Arc;
use std::time::Duration;

use crate::actor::Mailbox;
use crate::alerts::queue::AlertMsg;
use crate::alerts::AlertQueueHandle;
use crate::alerts::AlertStash;
use crate::cloudflare::api::{ClientConfig, CloudflareClient};
use crate::cloudflare::manager::{self as cf_manager, CloudflareManagerHandle};
use crate::config::{Config, IngestBackend};
use crate::events::{Event, EventBus};
use crate::ingest::RelaySlot;
use crate::obs::connection::{self as obs_conn, ObsConnectionHandle};
use crate::obs::ObsStash;
use crate::platforms::supervisor::{self as platform_sup, PlatformStash};
use crate::platforms::PlatformSupervisorHandle;
use crate::presence::Presence;
use crate::secrets::{SecretName, SharedSecrets};
use crate::state_file::StateFile;
use crate::storage::{AlertStore, Db, HistoryStore};
use crate::stream_state::{self, StreamStash, StreamStateHandle};
use crate::supervisor::{ChildInfo, Supervisor, SupervisorHandle, SupervisorMailbox};

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
    /// The link to OBS (refresh after a password or settings change).
    pub(crate) obs: ObsConnectionHandle,
    boxes: Mailboxes,
    stash: Stash,
    /// The tree's supervisor: its children for the debug view, and kill for tests and debugging.
    pub(crate) tree: SupervisorHandle,
    tree_mailbox: SupervisorMailbox,
    /// The PlatformSupervisor's workers.
    pub(crate) workers: SupervisorHandle,
    workers_mailbox: SupervisorMailbox,
    /// The engine's Twitch account (its sign-in feeds the tree's `TwitchEvents`).
    twitch: Option<crate::accounts::twitch_account::TwitchAccountHandle>,
    /// The engine's YouTube account (its sign-in feeds the tree's `YouTubeEvents`).
    youtube: Option<crate::accounts::youtube_account::YouTubeAccountHandle>,
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
    obs: Mailbox<obs_conn::Msg>,
}

#[derive(Clone, Default)]
struct Stash {
    stream: StreamStash,
    platforms: PlatformStash,
    alerts: AlertStash,
    overlays: Arc<std::sync::atomic::AtomicUsize>,
    relay: RelaySlot,
    obs: ObsStash,
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
        .with_twitch(self.twitch.clone())
        .with_youtube(self.youtube.clone())
    }

    /// The same stream with the engine's Twitch account.
    pub(crate) fn with_twitch(
        mut self,
        twitch: Option<crate::accounts::twitch_account::TwitchAccountHandle>,
    ) -> Self {
        self.twitch = twitch;
        self
    }

    /// The same stream with the engine's YouTube account.
    pub(crate) fn with_youtube(
        mut self,
        youtube: Option<crate::accounts::youtube_account::YouTubeAccountHandle>,
    ) -> Self {
        self.youtube = youtube;
        self
    }

    pub(crate) fn youtube_account(&self) -> Option<&crate::accounts::youtube_account::YouTubeAccountHandle> {
        self.youtube.as_ref()
    }

    pub(crate) fn twitch_account(&self) -> Option<&crate::accounts::twitch_account::TwitchAccountHandle> {
        self.twitch.as_ref()
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
        let (obs, obs_mb) = ObsConnectionHandle::channel();
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
            obs,
            boxes: Mailboxes {
                state: state_mb,
                cloudflare: cf_mb,
                platforms: plat_mb,
                alerts: alerts_mb,
                obs: obs_mb,
            },
            stash,
            tree,
            tree_mailbox,
            workers,
            workers_mailbox,
            twitch: None,
            youtube: None,
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

    /// Replace the config in force without rebuilding the tree. Only for settings the tree does
    /// not read when it is built (`[sync]`; `[obs]`, which the OBS connection and the automation
    /// read at each use); everything else goes through [`UserStream::reconfigured`].
    pub(crate) fn replace_config_outside_tree(&self, config: Arc<Config>) {
        if let Ok(mut c) = self.config.write() {
            *c = config;
        }
    }

    /// Alerts: intake, view and controls, whether or not the tree runs.
    pub fn alert_desk(&self) -> crate::alerts::AlertDesk {
        crate::alerts::AlertDesk {
            store: self.stores.alerts.clone(),
            queue: self.alerts.clone(),
            config: self.config().alerts.clone(),
            running: self.running(),
            overlays: self.overlays.clone(),
            events: self.bus.user(&self.user_id),
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

    /// What the app knows about OBS (readable with the tree down).
    pub(crate) fn obs_status(&self) -> crate::obs::status::ObsStatusCell {
        crate::obs::status::ObsStatusCell::with_inner(
            self.stash.obs.status.clone(),
            self.bus.user(&self.user_id),
        )
    }

    /// The live OBS client while connected.
    pub(crate) fn obs_slot(&self) -> &crate::obs::ObsSlot {
        &self.stash.obs.client
    }

    /// OBS connection attempts so far.
    pub(crate) fn obs_attempts(&self) -> &std::sync::atomic::AtomicU64 {
        &self.stash.obs.attempts
    }

    /// Rung when OBS starts streaming (the Cloudflare monitor polls at once).
    pub(crate) fn obs_input_poll(&self) -> &std::sync::Arc<tokio::sync::Notify> {
        &self.stash.obs.input_poll
    }

    /// Tests: the OBS link's timeouts, when shortened.
    #[cfg(test)]
    pub(crate) fn obs_test_timeouts(&self) -> Option<Duration> {
        self.stash.obs.timeouts.get().copied()
    }

    /// Tests: shorten the OBS link's connect and request timeouts (before the tree starts).
    #[cfg(test)]
    pub(crate) fn set_obs_test_timeouts(&self, t: Duration) {
        let _ = self.stash.obs.timeouts.set(t);
    }

    /// OBS's WebSocket password: env `STREAMPAI_OBS_PASSWORD`, else the secret store.
    pub(crate) fn obs_password(&self) -> Option<crate::secrets::Secret> {
        self.secrets.get(&SecretName::ObsPassword).ok().flatten().filter(|p| !p.is_blank())
    }

    /// Where OBS's settings from before "Set up OBS" are kept.
    pub(crate) fn obs_previous(&self) -> crate::obs::setup::PreviousStore {
        crate::obs::setup::PreviousStore { state: self.state_file.clone(), secrets: self.secrets.clone() }
    }

    /// The ingest OBS should send to, if known without asking anyone (local: the relay's address
    /// and key; Cloudflare: the live input the manager already knows).
    pub(crate) async fn obs_ingest_target(&self) -> Option<crate::obs::setup::IngestTarget> {
        match &self.ingest {
            IngestHandles::Local { .. } => Some(crate::obs::setup::IngestTarget {
                server: self.local_ingest_url(),
                key: self.ingest_key(),
            }),
            IngestHandles::Cloudflare { .. } => {
                let info = self.cloudflare_cached().await?;
                Some(crate::obs::setup::IngestTarget { server: info.rtmps_url?, key: info.rtmps_stream_key? })
            }
        }
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
