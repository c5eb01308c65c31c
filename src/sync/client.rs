//! The sync client task: connect as `host`, publish the stream state, mirror every remote
//! device's connection as a presence session of kind `device`, run relayed commands and answer
//! them, take the webhook events the server relays (Ko-fi donations and Kick events, protocol version 2: into
//! the alert store through the local Ko-fi webhook's own intake, then `hook_ack`), reconnect
//! with backoff.
//!
//! Version negotiation: the hello offers [`PROTOCOL_VERSION`]; a server that answers
//! `unsupported_version` (an older server) is asked again at once with the next lower version,
//! down to [`MIN_PROTOCOL_VERSION`]. After a connection that was welcomed ends, the next one
//! offers the newest version again (the server may have been upgraded).
//!
//! Remote sessions never linger: when the server goes quiet or the connection drops, they stay
//! only until the heartbeat timeout has passed since the server was last heard from (a quick
//! reconnect reconciles them without a leave), then they are untracked and the usual grace
//! applies.

use std::collections::HashMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::protocol::{
    decode_server, encode, ClientMsg, Command, CommandResult, ErrorCode, Hook, PlatformState, Presences,
    Role, ServerMsg, StreamState, DEFAULT_HEARTBEAT_TIMEOUT_MS, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use crate::engine::{Engine, Status, WeakEngine};
use crate::events::Event;
use crate::presence::{Presence, SessionKind};
use crate::secrets::{Secret, SecretName};
use crate::sync::status::{display_server, SyncDevice, SyncState, SyncStatus, SyncStatusCell};

/// Largest frame accepted from the server.
const MAX_FRAME: usize = 256 * 1024;

/// Build the client if `[sync] url` is set and a token is available: the future runs it until
/// `cancel` (the SyncClient actor polls it). Otherwise sets the status to `off` (with the reason
/// when sync is configured but cannot run). Returns the future and the token it signs in with.
pub(crate) fn prepare(
    engine: &Engine,
    weak: WeakEngine,
    status: SyncStatusCell,
    cancel: CancellationToken,
) -> Option<(futures::future::BoxFuture<'static, ()>, Secret)> {
    let cfg = engine.config().sync.clone();
    if !cfg.enabled() {
        status.set(SyncStatus::default());
        return None;
    }
    let off = |server: Option<String>, why: &str| {
        status.set(SyncStatus { server, last_error: Some(why.to_string()), ..SyncStatus::default() })
    };
    let Some(url) = cfg.endpoint() else {
        warn!("sync.url is not a valid URL; sync is off");
        off(None, "the sync server address is not a valid URL");
        return None;
    };
    let server = Some(display_server(&url));
    let token = match engine.secrets().get(&SecretName::SyncToken) {
        Ok(Some(t)) if !t.is_blank() => t,
        Ok(_) => {
            warn!("sync.url is set but there is no sync token (STREAMPAI_SYNC_TOKEN or the keyring); sync is off");
            off(server, "no sync token: save the token from `streampai sync-server user add` first");
            return None;
        }
        Err(e) => {
            warn!(cause = %e, "cannot read the sync token; sync is off");
            off(server, "cannot read the sync token from the secret store");
            return None;
        }
    };
    status.set(SyncStatus { state: SyncState::Connecting, server, ..SyncStatus::default() });
    let client = Client {
        engine: weak,
        user_id: engine.user_id().to_string(),
        presence: engine.presence().clone(),
        url,
        token: token.clone(),
        device_id: cfg.device_id(),
        device_name: cfg.device_name(),
        backoff_initial: Duration::from_millis(cfg.reconnect_initial_ms),
        backoff_max: Duration::from_millis(cfg.reconnect_max_ms),
        remote: HashMap::new(),
        status,
        version: PROTOCOL_VERSION,
    };
    Some((Box::pin(client.run(cancel)), token))
}

struct Client {
    /// Weak: the engine owns this client (through its root supervisor), not the reverse.
    engine: WeakEngine,
    user_id: String,
    presence: Presence,
    url: String,
    token: Secret,
    device_id: String,
    device_name: String,
    backoff_initial: Duration,
    backoff_max: Duration,
    /// Presence session id → the remote connection, for the sessions this client tracks.
    remote: HashMap<String, Remote>,
    status: SyncStatusCell,
    /// The protocol version the next hello offers.
    version: u32,
}

struct Remote {
    device: SyncDevice,
}

fn remote(device_id: &str, name: &str, online_at_ms: u64) -> Remote {
    let joined_at =
        chrono::DateTime::from_timestamp_millis(online_at_ms as i64).unwrap_or_else(chrono::Utc::now);
    Remote { device: SyncDevice { id: device_id.to_string(), name: name.to_string(), joined_at } }
}

/// How a session ended.
enum End {
    Cancelled,
    /// Dropped or gone quiet; remote sessions expire at `expire_at`.
    Lost {
        expire_at: Instant,
        welcomed: bool,
        why: String,
    },
    /// The server refused us for good (token, version): retry only at the slowest pace.
    Refused(ErrorCode),
    /// The server does not speak the offered version: ask again at once with a lower one.
    Downgraded,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn session_id(device_id: &str, conn: &str) -> String {
    format!("device:{device_id}@{conn}")
}

impl Client {
    async fn run(mut self, cancel: CancellationToken) {
        let mut backoff = self.backoff_initial;
        let mut expire_at: Option<Instant> = None;
        loop {
            let end = tokio::select! {
                _ = cancel.cancelled() => End::Cancelled,
                end = self.session(&cancel) => end,
            };
            let wait = match end {
                End::Cancelled => {
                    self.expire_all();
                    return;
                }
                End::Downgraded => {
                    info!(version = self.version, "sync: the server is older; speaking its protocol version");
                    continue;
                }
                End::Lost { expire_at: at, welcomed, why } => {
                    if welcomed {
                        self.version = PROTOCOL_VERSION;
                    }
                    self.status.update(|s| {
                        s.state = SyncState::Retrying;
                        s.last_error = Some(why);
                    });
                    expire_at = Some(if welcomed { at } else { expire_at.map_or(at, |e| e.min(at)) });
                    if welcomed {
                        backoff = self.backoff_initial;
                    }
                    let w = jitter(backoff);
                    backoff = (backoff * 2).min(self.backoff_max);
                    w
                }
                End::Refused(code) => {
                    warn!(code = code.as_str(), "the sync server refused this engine; check the sync token");
                    self.status.update(|s| {
                        s.state = SyncState::Retrying;
                        s.last_error = Some(refusal_words(code));
                    });
                    self.expire_all();
                    self.backoff_max
                }
            };
            let until = Instant::now() + wait;
            // Wait for the next attempt; expire remote sessions on time meanwhile.
            loop {
                let expiry = expire_at.filter(|_| !self.remote.is_empty());
                tokio::select! {
                    _ = cancel.cancelled() => { self.expire_all(); return; }
                    _ = tokio::time::sleep_until(until) => break,
                    _ = async { tokio::time::sleep_until(expiry.unwrap_or(until)).await }, if expiry.is_some() => {
                        info!("sync server lost; remote devices expired");
                        self.expire_all();
                        expire_at = None;
                    }
                }
            }
            if self.remote.is_empty() {
                expire_at = None;
            }
            self.status.update(|s| s.state = SyncState::Connecting);
        }
    }

    /// Publish the tracked remote devices in the status.
    fn publish_devices(&self) {
        let mut devices: Vec<SyncDevice> = self.remote.values().map(|r| r.device.clone()).collect();
        devices.sort_by(|a, b| (a.joined_at, &a.id).cmp(&(b.joined_at, &b.id)));
        self.status.update(|s| s.devices = devices);
    }

    fn expire_all(&mut self) {
        let user = self.user_id.clone();
        for id in std::mem::take(&mut self.remote).into_keys() {
            self.presence.untrack(&user, &id);
        }
        self.publish_devices();
    }

    /// Make the tracked remote sessions equal `presences` (devices only, never ourselves).
    fn reconcile(&mut self, presences: &Presences, own: &str) {
        let user = self.user_id.clone();
        let mut want: HashMap<String, Remote> = HashMap::new();
        for (device_id, e) in presences {
            for m in e.metas.iter().filter(|m| m.role == Role::Device && m.conn != own) {
                want.insert(session_id(device_id, &m.conn), remote(device_id, &m.device_name, m.online_at));
            }
        }
        let gone: Vec<String> = self.remote.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
        for id in gone {
            self.remote.remove(&id);
            self.presence.untrack(&user, &id);
        }
        for (id, r) in want {
            if !self.remote.contains_key(&id) {
                self.presence.track(&user, &id, SessionKind::Device, Some(r.device.name.clone()));
                self.remote.insert(id, r);
            }
        }
        self.publish_devices();
    }

    fn apply_diff(&mut self, joins: &Presences, leaves: &Presences, own: &str) {
        let user = self.user_id.clone();
        for (device_id, e) in leaves {
            for m in &e.metas {
                let id = session_id(device_id, &m.conn);
                if self.remote.remove(&id).is_some() {
                    self.presence.untrack(&user, &id);
                }
            }
        }
        for (device_id, e) in joins {
            for m in e.metas.iter().filter(|m| m.role == Role::Device && m.conn != own) {
                let id = session_id(device_id, &m.conn);
                if !self.remote.contains_key(&id) {
                    self.presence.track(&user, &id, SessionKind::Device, Some(m.device_name.clone()));
                    self.remote.insert(id, remote(device_id, &m.device_name, m.online_at));
                }
            }
        }
        self.publish_devices();
    }

    async fn connect(&self) -> Result<Ws, String> {
        let mut cfg = WebSocketConfig::default();
        cfg.max_message_size = Some(MAX_FRAME);
        cfg.max_frame_size = Some(MAX_FRAME);
        let fut = tokio_tungstenite::connect_async_with_config(self.url.as_str(), Some(cfg), true);
        match tokio::time::timeout(Duration::from_secs(10), fut).await {
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(e)) => Err(connect_words(&e)),
            Err(_) => Err("the sync server did not answer within 10 s".into()),
        }
    }

    async fn session(&mut self, cancel: &CancellationToken) -> End {
        let lost_now = |welcomed, why: &str| End::Lost {
            expire_at: Instant::now() + Duration::from_millis(DEFAULT_HEARTBEAT_TIMEOUT_MS),
            welcomed,
            why: why.to_string(),
        };
        let mut ws = match self.connect().await {
            Ok(ws) => ws,
            Err(e) => {
                debug!(cause = %e, "sync: cannot connect");
                return lost_now(false, &e);
            }
        };
        let hello = ClientMsg::Hello {
            version: self.version,
            token: self.token.expose().to_string(),
            device_id: self.device_id.clone(),
            device_name: self.device_name.clone(),
            role: Role::Host,
        };
        if ws.send(Message::Text(encode(&hello).into())).await.is_err() {
            return lost_now(false, "the connection to the sync server dropped while signing in");
        }
        drop(hello);
        // The welcome.
        let (own, interval, timeout) = match tokio::time::timeout(Duration::from_secs(10), next_msg(&mut ws))
            .await
        {
            Ok(Some(ServerMsg::Welcome {
                conn, heartbeat_interval_ms, heartbeat_timeout_ms, user, ..
            })) => {
                info!(sync_user = %crate::telemetry::esc(&user), conn = %crate::telemetry::esc(&conn), "sync: connected");
                (
                    conn,
                    Duration::from_millis(heartbeat_interval_ms.max(100)),
                    Duration::from_millis(heartbeat_timeout_ms.max(200)),
                )
            }
            Ok(Some(ServerMsg::Error { code: ErrorCode::UnsupportedVersion, .. }))
                if self.version > MIN_PROTOCOL_VERSION =>
            {
                self.version -= 1;
                return End::Downgraded;
            }
            Ok(Some(ServerMsg::Error { code, .. })) if code.is_permanent() => return End::Refused(code),
            Ok(Some(ServerMsg::Error { code, .. })) => {
                return lost_now(
                    false,
                    &format!("the sync server refused the connection ({})", code.as_str()),
                )
            }
            Ok(_) => return lost_now(false, "the sync server closed the connection while signing in"),
            Err(_) => return lost_now(false, "the sync server did not answer the sign-in within 10 s"),
        };
        self.status.update(|s| {
            s.state = SyncState::Connected;
            s.last_error = None;
        });

        let Some(mut events) = self.engine.upgrade().map(|e| e.subscribe()) else {
            return End::Cancelled;
        };
        let (done_tx, mut done_rx) = mpsc::channel::<(String, String, CommandResult)>(64);
        let mut last_heard = Instant::now();
        let mut ping = tokio::time::interval(interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq = 0u64;
        let mut last_sent: Option<StreamState> = None;
        let mut dirty = true;
        let mut bus_open = true;
        let mut flush = tokio::time::interval(Duration::from_millis(50));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let lost = |last_heard: Instant, why: &str| End::Lost {
            expire_at: last_heard + timeout,
            welcomed: true,
            why: why.to_string(),
        };
        const DROPPED: &str = "the connection to the sync server dropped";

        loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    let _ = ws.close(None).await;
                    return End::Cancelled;
                }
                _ = tokio::time::sleep_until(last_heard + timeout) => {
                    warn!(timeout_ms = timeout.as_millis() as u64, "sync: server silent; reconnecting");
                    return lost(last_heard, "the sync server stopped answering");
                }
                _ = ping.tick() => {
                    seq += 1;
                    let m = encode(&ClientMsg::Ping { seq });
                    if ws.send(Message::Text(m.into())).await.is_err() {
                        return lost(last_heard, DROPPED);
                    }
                }
                ev = events.recv(), if bus_open => match ev {
                    Ok(Event::StreamState { .. } | Event::PlatformStatus { .. } | Event::InputStatus { .. }
                        | Event::ManagerStarted { .. } | Event::ManagerStopped { .. })
                    | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => dirty = true,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => bus_open = false,
                },
                _ = flush.tick(), if dirty => {
                    dirty = false;
                    let Some(engine) = self.engine.upgrade() else { return End::Cancelled };
                    let state = stream_state(&engine.status().await);
                    drop(engine);
                    if last_sent.as_ref() != Some(&state) {
                        let m = encode(&ClientMsg::StreamState { state: state.clone() });
                        if ws.send(Message::Text(m.into())).await.is_err() {
                            return lost(last_heard, DROPPED);
                        }
                        last_sent = Some(state);
                    }
                }
                Some((id, to, result)) = done_rx.recv() => {
                    let m = encode(&ClientMsg::CommandResult { id, to, result });
                    if ws.send(Message::Text(m.into())).await.is_err() {
                        return lost(last_heard, DROPPED);
                    }
                }
                msg = next_msg(&mut ws) => {
                    let Some(msg) = msg else { return lost(last_heard, DROPPED) };
                    last_heard = Instant::now();
                    match msg {
                        ServerMsg::PresenceState { presences } => self.reconcile(&presences, &own),
                        ServerMsg::PresenceDiff { joins, leaves } => self.apply_diff(&joins, &leaves, &own),
                        ServerMsg::Command { id, from, device_id, command, .. } => {
                            info!(device_id = %crate::telemetry::esc(&device_id), ?command, "sync: remote command");
                            let engine = self.engine.clone();
                            let tx = done_tx.clone();
                            tokio::spawn(async move {
                                let result = match engine.upgrade() {
                                    Some(engine) => execute(&engine, command).await,
                                    None => CommandResult::err("unavailable", "the engine is shutting down"),
                                };
                                let _ = tx.send((id, from, result)).await;
                            });
                        }
                        ServerMsg::Hook(hook) => {
                            let Some(engine) = self.engine.upgrade() else { return End::Cancelled };
                            if take_hook(&engine, &hook) {
                                let m = encode(&ClientMsg::HookAck { id: hook.id });
                                if ws.send(Message::Text(m.into())).await.is_err() {
                                    return lost(last_heard, DROPPED);
                                }
                            }
                        }
                        ServerMsg::Error { code, fatal: true, .. } if code.is_permanent() => return End::Refused(code),
                        ServerMsg::Error { code, .. } => debug!(code = code.as_str(), "sync: server error"),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Store a relayed webhook event as an alert (idempotent by its id). `true`: the alert store
/// has it, so the server may forget it. Anything else stays held by the server and comes again
/// on the next connection.
fn take_hook(engine: &Engine, hook: &Hook) -> bool {
    match hook.source.as_str() {
        "kofi" => match crate::control::kofi::accept(&engine.alerts(), &hook.payload, Some(&hook.id)) {
            Ok(a) => {
                info!(hook = %crate::telemetry::esc(&hook.id), alert_id = %a.id, duplicate = a.duplicate, "sync: relayed Ko-fi event stored");
                true
            }
            Err(e) => {
                warn!(hook = %crate::telemetry::esc(&hook.id), cause = %e, "sync: cannot store a relayed Ko-fi event; the server keeps it");
                false
            }
        },
        "kick" => match super::kick::accept(&engine.alerts(), &hook.payload, &hook.id) {
            Ok(Some(a)) => {
                info!(hook = %crate::telemetry::esc(&hook.id), alert_id = %a.id, duplicate = a.duplicate, "sync: relayed Kick event stored");
                true
            }
            Ok(None) => {
                debug!(hook = %crate::telemetry::esc(&hook.id), "sync: relayed Kick event makes no alert");
                true
            }
            Err(e) => {
                warn!(hook = %crate::telemetry::esc(&hook.id), cause = %e, "sync: cannot store a relayed Kick event; the server keeps it");
                false
            }
        },
        other => {
            warn!(hook = %crate::telemetry::esc(&hook.id), source = %crate::telemetry::esc(other), "sync: relayed event of an unknown kind; left with the server");
            false
        }
    }
}

/// The next protocol message; `None` when the socket ends or sends garbage.
async fn next_msg(ws: &mut Ws) -> Option<ServerMsg> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => match decode_server(t.as_bytes(), MAX_FRAME) {
                Ok(m) => return Some(m),
                Err(e) => {
                    warn!(cause = %e, "sync: undecodable frame from the server");
                    return None;
                }
            },
            Ok(Message::Close(f)) => {
                debug!(reason = ?f.as_ref().map(|f| f.reason.to_string()), "sync: closed by the server");
                return None;
            }
            Ok(_) => continue,
            Err(e) => {
                debug!(cause = %e, "sync: read failed");
                return None;
            }
        }
    }
}

/// Why the server refused this engine, in words.
fn refusal_words(code: ErrorCode) -> String {
    match code {
        ErrorCode::Unauthorized => {
            "the sync server refused the sync token (unknown or revoked): check the token".into()
        }
        ErrorCode::UnsupportedVersion => {
            "the sync server speaks another protocol version: update the app or the server".into()
        }
        other => format!("the sync server refused the connection ({})", other.as_str()),
    }
}

/// A failed connect in words (the URL carries no secret; the token is only in the hello).
fn connect_words(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "cannot reach the sync server: connection refused (is it running?)".into()
        }
        E::Io(io) => format!("cannot reach the sync server: {io}"),
        E::Tls(t) => format!("TLS with the sync server failed: {t}"),
        E::Http(r) => format!("the address answered HTTP {} instead of the sync protocol", r.status()),
        E::Url(u) => format!("bad sync server address: {u}"),
        other => format!("cannot connect to the sync server: {other}"),
    }
}

/// A random delay in [d/2, d].
fn jitter(d: Duration) -> Duration {
    let half = d / 2;
    half + half.mul_f64(rand::random::<f64>())
}

fn as_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The engine's status as the protocol's stream state.
pub fn stream_state(s: &Status) -> StreamState {
    StreamState {
        phase: as_str(&s.stream.state),
        manager: s.manager.to_string(),
        input: as_str(&s.input),
        uuid: s.stream.uuid.map(|u| u.to_string()),
        started_at: s.stream.started_at.map(|t| t.to_rfc3339()),
        platforms: s
            .stream
            .platforms
            .iter()
            .map(|(name, p)| {
                let v = serde_json::to_value(&p.status).unwrap_or_default();
                let status = v.get("status").and_then(|x| x.as_str()).unwrap_or_default().to_string();
                let reason = match &p.status {
                    crate::stream_state::PlatformStatus::Retrying { reason, .. }
                    | crate::stream_state::PlatformStatus::Failed { reason } => Some(reason.to_string()),
                    _ => None,
                };
                (name.clone(), PlatformState { status, reason })
            })
            .collect(),
    }
}

fn engine_err(e: crate::EngineError) -> CommandResult {
    let kind = serde_json::to_value(&e)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_else(|| "error".into());
    CommandResult::err(kind, e.to_string())
}

/// Run one relayed command on the engine.
pub async fn execute(engine: &Engine, command: Command) -> CommandResult {
    let alerts = |r: Result<(), crate::alerts::AlertQueueError>| match r {
        Ok(()) => CommandResult::ok(None),
        Err(e) => CommandResult::err("alerts", e.to_string()),
    };
    match command {
        Command::Start => match engine.start_stream().await {
            Ok(uuid) => CommandResult::ok(Some(json!({ "uuid": uuid }))),
            Err(e) => engine_err(e),
        },
        Command::Stop => match engine.stop_stream().await {
            Ok(uuid) => CommandResult::ok(Some(json!({ "uuid": uuid, "state": "offline" }))),
            Err(e) => engine_err(e),
        },
        Command::SetPlatformEnabled { platform, enabled } => {
            if !engine.config().platforms.iter().any(|p| p.name == platform) {
                return CommandResult::err("unknown_platform", format!("no platform named {platform}"));
            }
            match engine.set_platform_enabled(&platform, enabled).await {
                Ok(()) => CommandResult::ok(Some(json!({ "platform": platform, "enabled": enabled }))),
                Err(e) => engine_err(e),
            }
        }
        Command::AlertPause => alerts(engine.alerts().set_paused(true).await),
        Command::AlertResume => alerts(engine.alerts().set_paused(false).await),
        Command::AlertSkip => alerts(engine.alerts().skip().await),
        Command::AlertClear => alerts(engine.alerts().clear().await),
    }
}
