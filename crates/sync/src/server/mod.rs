//! The sync server: axum + WebSocket on `/sync`, presence per user, heartbeats, the command
//! relay and the limits of `docs/SYNC-PROTOCOL.md`; in-memory by default, Redis with `--redis`.

mod conn;
pub mod hooks;
pub mod hub;
pub mod kick;
pub mod redis_backend;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::guard::{Guard, GuardConfig, GuardStats, GuardedListener, Peer};
use crate::protocol::{self, ErrorCode, Meta, ServerMsg};
use crate::users::Users;
use hub::{HubEvent, LocalConn, LocalHub};
use redis_backend::RedisBackend;

/// Every knob of the server, defaulted as in the protocol spec.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub max_message_bytes: usize,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    pub hello_timeout: Duration,
    /// Average frames per second a client may send, and the burst above it.
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    /// Frames queued per connection before it is dropped as a slow consumer.
    pub queue_frames: usize,
    /// WebSocket read buffer per connection (tungstenite's default is 128 KiB: at 10k
    /// connections that alone would be 1.2 GiB).
    pub read_buffer_bytes: usize,
    /// How long shutdown waits for connections to close.
    pub shutdown_timeout: Duration,
    /// A frame not written within this (the peer stopped reading) drops the connection.
    pub write_timeout: Duration,
    /// Before authentication: the request-head timeout and the caps on pending connections
    /// (a connection stays pending until its hello is accepted).
    pub guard: GuardConfig,
    /// Webhook relay (`POST /hooks/{user}/kofi`): events held per user while no host takes
    /// them; beyond it a POST gets 503 `queue_full`.
    pub hook_queue_max: usize,
    /// A held event older than this is dropped (with a warning).
    pub hook_ttl: Duration,
    /// Largest webhook body, and the time it may take to arrive.
    pub hook_body_bytes: usize,
    pub hook_body_timeout: Duration,
    /// Kick's public key in PEM (`POST /hooks/{user}/kick` checks signatures with it). Without
    /// it the key is fetched from `kick_public_key_url` (in the background, until it loads);
    /// with neither, Kick webhooks are answered 503.
    pub kick_public_key: Option<String>,
    pub kick_public_key_url: Option<String>,
    /// Kick deliveries whose `Kick-Event-Message-Timestamp` is further than this from the
    /// server's clock (either way) are refused (the replay window).
    pub kick_max_age: Duration,
    /// A signature that does not verify with the key fetched from `kick_public_key_url` makes
    /// the server fetch the key again (Kick may have rotated it) — at most once per this long,
    /// so forged deliveries cannot make it call Kick over and over.
    pub kick_key_refetch_after: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message_bytes: protocol::DEFAULT_MAX_MESSAGE_BYTES,
            heartbeat_interval: Duration::from_millis(protocol::DEFAULT_HEARTBEAT_INTERVAL_MS),
            heartbeat_timeout: Duration::from_millis(protocol::DEFAULT_HEARTBEAT_TIMEOUT_MS),
            hello_timeout: Duration::from_secs(5),
            rate_per_sec: 20.0,
            rate_burst: 40.0,
            queue_frames: 256,
            read_buffer_bytes: 4096,
            shutdown_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            guard: GuardConfig {
                header_timeout: Duration::from_secs(5),
                idle_timeout: Duration::from_secs(60),
                max_pending: 1024,
                max_pending_per_ip: 64,
                admit_on_head: false,
            },
            hook_queue_max: 1000,
            hook_ttl: Duration::from_secs(7 * 24 * 3600),
            hook_body_bytes: 32 * 1024,
            hook_body_timeout: Duration::from_secs(10),
            kick_public_key: None,
            kick_public_key_url: None,
            kick_max_age: Duration::from_secs(600),
            kick_key_refetch_after: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("redis: {0}")]
    Redis(String),
    #[error("tls: {0}")]
    Tls(String),
    #[error("Kick public key: {0}")]
    KickKey(String),
}

/// What every connection shares.
pub struct Shared {
    pub(crate) cfg: ServerConfig,
    pub(crate) users: Users,
    pub(crate) hub: LocalHub,
    pub(crate) redis: Option<RedisBackend>,
    /// Held webhook events (memory mode; Redis mode keeps them in Redis).
    pub(crate) hooks: hooks::MemoryHooks,
    /// Kick's public key, once loaded (from the configuration or Kick's endpoint).
    pub(crate) kick_key: std::sync::RwLock<Option<Arc<kick::KickKey>>>,
    /// When a failed signature last made the server fetch Kick's key again.
    pub(crate) kick_refetched: std::sync::Mutex<Option<std::time::Instant>>,
    /// Unique per process: connection refs are `<instance>-<n>`.
    pub(crate) instance: String,
    next: AtomicU64,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Set by [`RunningServer::abort`]: connections vanish without a goodbye or a leave.
    pub(crate) crashed: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn next_ref(&self) -> String {
        format!("{}-{}", self.instance, self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Register a connection and announce it. Nothing is sent to it before this.
    pub(crate) async fn join(
        &self,
        user: &str,
        conn: LocalConn,
        welcome: ServerMsg,
    ) -> Result<(), ErrorCode> {
        let device_id = conn.device_id.clone();
        let meta = conn.meta.clone();
        let hooks = hub::takes_hooks(&conn);
        let snapshot = match &self.redis {
            Some(r) => Some(r.join(user, &device_id, &meta, hooks).await.map_err(|e| {
                tracing::warn!(cause = %e, "redis: join failed");
                ErrorCode::Internal
            })?),
            None => None,
        };
        self.hub.register(user, conn, welcome, snapshot);
        self.publish(user, HubEvent::Join { device_id, meta, hooks }).await;
        Ok(())
    }

    pub(crate) async fn leave(&self, user: &str, device_id: &str, meta: &Meta) {
        let was_host = self.hub.unregister(user, &meta.conn);
        if let Some(r) = &self.redis {
            if let Err(e) = r.leave(user, &meta.conn, was_host).await {
                tracing::warn!(cause = %e, "redis: leave failed (the keys expire by themselves)");
            }
        }
        self.publish(user, HubEvent::Leave { device_id: device_id.into(), meta: meta.clone() }).await;
        if was_host {
            self.publish(user, HubEvent::State { host: None, state: None }).await;
        }
    }

    /// Deliver an event to every connection of the user, on every instance.
    pub(crate) async fn publish(&self, user: &str, ev: HubEvent) {
        match &self.redis {
            None => self.hub.deliver(user, ev),
            Some(r) => {
                if let HubEvent::State { host: Some(h), state: Some(s) } = &ev {
                    if let Err(e) = r.save_state(user, h, s).await {
                        tracing::warn!(cause = %e, "redis: cannot save the stream state");
                    }
                }
                if let Err(e) = r.publish(user, &ev).await {
                    tracing::warn!(cause = %e, "redis: publish failed");
                }
            }
        }
    }
}

/// A running server.
pub struct RunningServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    guard: Guard,
    task: JoinHandle<()>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Connections held by this instance.
    pub fn connections(&self) -> usize {
        self.shared.hub.connection_count()
    }
    /// Connections not yet authenticated, and how many were evicted or timed out.
    pub fn guard_stats(&self) -> GuardStats {
        self.guard.stats()
    }
    /// Close every connection with `shutting_down` (1001), then stop.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        let _ = self.task.await;
    }
    /// Stop at once without closing anything (tests: a crashed instance).
    pub fn abort(self) {
        self.shared.crashed.store(true, Ordering::SeqCst);
        self.task.abort();
        self.shared.tracker.close();
        if let Some(r) = &self.shared.redis {
            r.abort();
        }
        // Connection tasks see the token and drop their sockets without a goodbye.
        self.shared.shutdown.cancel();
    }
}

/// The router: `GET /sync` (WebSocket), `GET /healthz`, `POST /hooks/{user}/kofi`,
/// `POST /hooks/{user}/kick`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sync", get(upgrade))
        .route("/hooks/{user}/kofi", post(hooks::kofi))
        .route("/hooks/{user}/kick", post(kick::webhook))
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::remote::router())
        .with_state(shared)
}

async fn upgrade(
    ws: WebSocketUpgrade,
    State(sh): State<Arc<Shared>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> impl IntoResponse {
    let admission = peer.map(|Extension(ConnectInfo(p))| p.admission);
    let max = sh.cfg.max_message_bytes;
    ws.read_buffer_size(sh.cfg.read_buffer_bytes)
        .write_buffer_size(0)
        .max_write_buffer_size(max * 4 + 64 * 1024)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            let tracker = sh.tracker.clone();
            tracker.track_future(conn::run(socket, sh, admission))
        })
}

/// Start serving on `listener` (plain TCP or TLS with `tls`), with an optional Redis URL.
pub async fn start(
    listener: TcpListener,
    cfg: ServerConfig,
    users: Users,
    tls: Option<tls::TlsConfig>,
    redis_url: Option<&str>,
) -> Result<RunningServer, ServerError> {
    let addr = listener.local_addr()?;
    let kick_key = match &cfg.kick_public_key {
        Some(pem) => Some(Arc::new(kick::KickKey::from_pem(pem).map_err(ServerError::KickKey)?)),
        None => None,
    };
    let instance = hex::encode(rand::random::<[u8; 4]>());
    let hub = LocalHub::default();
    let shutdown = CancellationToken::new();
    let redis = match redis_url {
        Some(url) => Some(
            RedisBackend::connect(url, &cfg, &instance)
                .await
                .map_err(|e| ServerError::Redis(e.to_string()))?,
        ),
        None => None,
    };
    let shared = Arc::new(Shared {
        cfg,
        users,
        hub,
        redis,
        hooks: Default::default(),
        kick_key: std::sync::RwLock::new(kick_key),
        kick_refetched: Default::default(),
        instance,
        next: AtomicU64::new(1),
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
        crashed: Default::default(),
    });
    if let Some(r) = &shared.redis {
        r.spawn_tasks(Arc::downgrade(&shared));
    }
    if let (None, Some(url)) = (&shared.cfg.kick_public_key, &shared.cfg.kick_public_key_url) {
        kick::spawn_key_fetch(Arc::downgrade(&shared), url.clone());
    }
    let app = router(shared.clone()).into_make_service_with_connect_info::<Peer>();
    // A signed-in device is kept alive by its heartbeats; the guard's idle limit never cuts
    // in before the heartbeat timeout would.
    let mut guard_cfg = shared.cfg.guard.clone();
    guard_cfg.idle_timeout = guard_cfg.idle_timeout.max(shared.cfg.heartbeat_timeout * 2);
    let guard = Guard::new("sync server", guard_cfg);
    let g = guard.clone();
    let sh = shared.clone();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let res = match tls {
            None => {
                let l = GuardedListener::new(listener, g);
                axum::serve(l, app).with_graceful_shutdown(stop.cancelled_owned()).await
            }
            Some(t) => {
                let l = tls::TlsListener::new(listener, t, g, stop.clone());
                axum::serve(l, app).with_graceful_shutdown(stop.cancelled_owned()).await
            }
        };
        if let Err(e) = res {
            tracing::error!(cause = %e, "sync server stopped with an error");
        }
        // The WebSockets outlive axum's graceful shutdown: wait for them to say goodbye.
        sh.hub.close_all(ErrorCode::ShuttingDown);
        sh.tracker.close();
        if tokio::time::timeout(sh.cfg.shutdown_timeout, sh.tracker.wait()).await.is_err() {
            tracing::warn!("some connections did not close in time");
        }
        if let Some(r) = &sh.redis {
            r.abort();
        }
    });
    tracing::info!(%addr, "sync server listening");
    Ok(RunningServer { addr, shared, guard, task })
}
