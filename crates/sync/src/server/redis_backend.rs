//! Redis backend (`--redis URL`): presence keys with TTLs and pub/sub, so several server
//! instances act as one.
//!
//! - `sp:conn:{user}:{ref}` — "1" with a TTL of the heartbeat timeout, refreshed every heartbeat
//!   interval by the instance holding the connection: the connection is alive while it exists.
//! - `sp:metas:{user}` — hash ref → `{"device_id", "meta"}` (what a leave needs to be announced
//!   even after the connection key expired).
//! - `sp:state:{user}` — `{"host", "state"}`, the last stream state, same TTL, refreshed with
//!   the host's connection.
//! - channel `sp:user:{user}` — [`HubEvent`]s as JSON; every instance pattern-subscribes to
//!   `sp:user:*` and delivers to its own connections.
//!
//! - `sp:hooks:{user}` — hash hook id → the held webhook event (JSON), until a host acknowledges
//!   it; no TTL per field (events older than `hook_ttl` are dropped when read), the key expires
//!   `hook_ttl` after the last event was added.
//! - `sp:hookowner:{user}` — hash hook id → the ref of the host connection it was sent to, until
//!   acknowledged; another connection may take it over only once that ref's `sp:conn` key is
//!   gone (a Lua script decides, so two instances never both send one event).
//!
//! An instance that dies stops refreshing; every instance reaps, each interval, the expired refs
//! of the users it serves (`HDEL` decides who announces the leave: exactly one instance wins).

use std::collections::HashMap;
use std::sync::{Mutex, Weak};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{ConnectionManager, PubSub};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::task::AbortHandle;

use super::hooks::Put;
use super::hub::{HubEvent, Snapshot};
use super::{ServerConfig, Shared};
use crate::protocol::{Hook, Meta, PresenceEntry, Role, StreamState};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RedisError(String);

impl From<redis::RedisError> for RedisError {
    fn from(e: redis::RedisError) -> Self {
        // The URL (and any password in it) is never part of these messages.
        RedisError(format!("{} ({:?})", e.category(), e.kind()))
    }
}

const CHANNEL_PREFIX: &str = "sp:user:";
/// How long a user's metas hash outlives its last refresh (stale entries are reaped anyway).
const METAS_TTL_MS: u64 = 24 * 3600 * 1000;

fn conn_key(user: &str, r: &str) -> String {
    format!("sp:conn:{user}:{r}")
}
fn metas_key(user: &str) -> String {
    format!("sp:metas:{user}")
}
fn state_key(user: &str) -> String {
    format!("sp:state:{user}")
}
fn hooks_key(user: &str) -> String {
    format!("sp:hooks:{user}")
}
fn owners_key(user: &str) -> String {
    format!("sp:hookowner:{user}")
}
fn channel(user: &str) -> String {
    format!("{CHANNEL_PREFIX}{user}")
}

#[derive(Serialize, Deserialize)]
struct MetaRecord {
    device_id: String,
    meta: Meta,
    /// The connection takes webhook events (a host of protocol 2+).
    #[serde(default)]
    hooks: bool,
}

#[derive(Serialize, Deserialize)]
struct StateRecord {
    host: String,
    state: StreamState,
}

pub struct RedisBackend {
    client: redis::Client,
    conn: ConnectionManager,
    ttl_ms: u64,
    interval: Duration,
    /// Subscribed before the server accepts anyone, so no event is missed.
    pubsub: Mutex<Option<PubSub>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

async fn subscribe(client: &redis::Client) -> Result<PubSub, RedisError> {
    let mut ps = client.get_async_pubsub().await?;
    ps.psubscribe(format!("{CHANNEL_PREFIX}*")).await?;
    Ok(ps)
}

impl RedisBackend {
    pub async fn connect(url: &str, cfg: &ServerConfig, _instance: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url).map_err(|_| RedisError("not a valid redis URL".into()))?;
        let mut conn = tokio::time::timeout(Duration::from_secs(10), ConnectionManager::new(client.clone()))
            .await
            .map_err(|_| RedisError("connect timed out".into()))??;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        let pubsub = subscribe(&client).await?;
        Ok(RedisBackend {
            client,
            conn,
            ttl_ms: cfg.heartbeat_timeout.as_millis().max(1) as u64,
            interval: cfg.heartbeat_interval,
            pubsub: Mutex::new(Some(pubsub)),
            tasks: Mutex::new(vec![]),
        })
    }

    /// The subscriber (delivers events to local connections) and the refresher/reaper.
    pub fn spawn_tasks(&self, shared: Weak<Shared>) {
        let first = self.pubsub.lock().unwrap_or_else(|p| p.into_inner()).take();
        let client = self.client.clone();
        let sh = shared.clone();
        let resync_conn = self.conn.clone();
        let sub = tokio::spawn(async move {
            let mut ps = first;
            loop {
                let p = match ps.take() {
                    Some(p) => p,
                    None => match subscribe(&client).await {
                        Ok(p) => {
                            // Events may have been missed while unsubscribed: catch up from Redis.
                            if let Some(shared) = sh.upgrade() {
                                let mut c = resync_conn.clone();
                                for user in shared.hub.users() {
                                    match snapshot(&mut c, &user).await {
                                        Ok(snap) => shared.hub.resync(&user, snap),
                                        Err(e) => tracing::warn!(cause = %e, "redis: resync failed"),
                                    }
                                }
                                tracing::info!("redis: resubscribed and resynced");
                            }
                            p
                        }
                        Err(e) => {
                            tracing::warn!(cause = %e, "redis: cannot subscribe; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                    },
                };
                let mut stream = p.into_on_message();
                while let Some(msg) = stream.next().await {
                    let Some(shared) = sh.upgrade() else { return };
                    let ch = msg.get_channel_name().to_string();
                    let Some(user) = ch.strip_prefix(CHANNEL_PREFIX) else { continue };
                    let payload: Vec<u8> = msg.get_payload_bytes().to_vec();
                    match serde_json::from_slice::<HubEvent>(&payload) {
                        Ok(ev) => shared.hub.deliver(user, ev),
                        Err(e) => tracing::warn!(cause = %e, "redis: undecodable event ignored"),
                    }
                }
                tracing::warn!("redis: subscription lost; resubscribing");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let mut conn = self.conn.clone();
        let (ttl, interval) = (self.ttl_ms, self.interval);
        let upkeep = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(shared) = shared.upgrade() else { return };
                if let Err(e) = upkeep(&shared, &mut conn, ttl).await {
                    tracing::warn!(cause = %e, "redis: refresh failed");
                }
            }
        });
        let mut t = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        t.push(sub.abort_handle());
        t.push(upkeep.abort_handle());
    }

    /// Write the connection's keys; return the user's live presence and state.
    pub async fn join(
        &self,
        user: &str,
        device_id: &str,
        meta: &Meta,
        hooks: bool,
    ) -> Result<Snapshot, RedisError> {
        let mut c = self.conn.clone();
        let rec =
            serde_json::to_string(&MetaRecord { device_id: device_id.into(), meta: meta.clone(), hooks })
                .unwrap_or_default();
        let () = redis::pipe()
            .cmd("SET")
            .arg(conn_key(user, &meta.conn))
            .arg("1")
            .arg("PX")
            .arg(self.ttl_ms)
            .ignore()
            .hset(metas_key(user), &meta.conn, rec)
            .ignore()
            .pexpire(metas_key(user), METAS_TTL_MS as i64)
            .ignore()
            .query_async(&mut c)
            .await?;
        snapshot(&mut c, user).await
    }

    pub async fn leave(&self, user: &str, conn: &str, was_host: bool) -> Result<(), RedisError> {
        let mut c = self.conn.clone();
        let mut p = redis::pipe();
        p.del(conn_key(user, conn)).ignore().hdel(metas_key(user), conn).ignore();
        if was_host {
            p.del(state_key(user)).ignore();
        }
        let () = p.query_async(&mut c).await?;
        Ok(())
    }

    pub async fn save_state(&self, user: &str, host: &str, state: &StreamState) -> Result<(), RedisError> {
        let mut c = self.conn.clone();
        let rec = serde_json::to_string(&StateRecord { host: host.into(), state: state.clone() })
            .unwrap_or_default();
        let () = c.pset_ex(state_key(user), rec, self.ttl_ms).await?;
        Ok(())
    }

    pub async fn publish(&self, user: &str, ev: &HubEvent) -> Result<(), RedisError> {
        let mut c = self.conn.clone();
        let payload = serde_json::to_string(ev).unwrap_or_default();
        let _: i64 = c.publish(channel(user), payload).await?;
        Ok(())
    }

    /// Hold a webhook event: `HSETNX` decides duplicates; over `max` the new one is taken back.
    pub async fn put_hook(
        &self,
        user: &str,
        hook: &Hook,
        max: usize,
        ttl: Duration,
    ) -> Result<Put, RedisError> {
        let mut c = self.conn.clone();
        let key = hooks_key(user);
        let rec = serde_json::to_string(hook).unwrap_or_default();
        let (added, len): (bool, usize) =
            redis::pipe().hset_nx(&key, &hook.id, rec).hlen(&key).query_async(&mut c).await?;
        if !added {
            return Ok(Put::Duplicate);
        }
        if len > max {
            // Drop expired events first; if that made no room, take this one back.
            let live = self.pending_hooks(user, ttl).await?.len();
            if live > max {
                let _: i64 = c.hdel(&key, &hook.id).await?;
                return Ok(Put::Full { max });
            }
        }
        let _: bool = c.pexpire(&key, ttl.as_millis().max(1) as i64).await?;
        Ok(Put::New)
    }

    /// The user's held events, oldest first; expired (and unreadable) ones are removed.
    pub async fn pending_hooks(&self, user: &str, ttl: Duration) -> Result<Vec<Hook>, RedisError> {
        let mut c = self.conn.clone();
        let key = hooks_key(user);
        let all: HashMap<String, String> = c.hgetall(&key).await?;
        let cutoff = super::hooks::now_ms().saturating_sub(ttl.as_millis() as u64);
        let mut out = Vec::with_capacity(all.len());
        let mut stale = Vec::new();
        for (id, raw) in all {
            match serde_json::from_str::<Hook>(&raw) {
                Ok(h) if h.received_at >= cutoff => out.push(h),
                _ => stale.push(id),
            }
        }
        if !stale.is_empty() {
            tracing::warn!(user, expired = stale.len(), "webhook events expired before a host took them");
            let () = redis::pipe()
                .hdel(&key, &stale)
                .ignore()
                .hdel(owners_key(user), &stale)
                .ignore()
                .query_async(&mut c)
                .await?;
        }
        out.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        Ok(out)
    }

    pub async fn ack_hook(&self, user: &str, id: &str) -> Result<(), RedisError> {
        let mut c = self.conn.clone();
        let () = redis::pipe()
            .hdel(hooks_key(user), id)
            .ignore()
            .hdel(owners_key(user), id)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Give the held event `id` to connection `conn` (see `Shared::claim_hook`), atomically
    /// across instances: the owner's `sp:conn` key decides whether it is still alive.
    pub async fn claim_hook(&self, user: &str, id: &str, conn: &str) -> Result<bool, RedisError> {
        const CLAIM: &str = r#"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local owner = redis.call('HGET', KEYS[2], ARGV[1])
if owner and owner ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. owner) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"#;
        let mut c = self.conn.clone();
        let claimed: i64 = redis::cmd("EVAL")
            .arg(CLAIM)
            .arg(2)
            .arg(hooks_key(user))
            .arg(owners_key(user))
            .arg(id)
            .arg(conn)
            .arg(conn_key(user, ""))
            .query_async(&mut c)
            .await?;
        Ok(claimed == 1)
    }

    pub fn abort(&self) {
        for t in self.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
    }
}

/// The user's live presence and stream state as Redis has them.
async fn snapshot(c: &mut ConnectionManager, user: &str) -> Result<Snapshot, RedisError> {
    let (all, state): (HashMap<String, String>, Option<String>) =
        redis::pipe().hgetall(metas_key(user)).get(state_key(user)).query_async(c).await?;
    let live = live_metas(c, user, all).await?;
    let mut snap = Snapshot::default();
    for rec in live.into_values() {
        if rec.hooks {
            snap.hook_hosts.insert(rec.meta.conn.clone());
        }
        snap.presences.entry(rec.device_id).or_insert_with(PresenceEntry::default).metas.push(rec.meta);
    }
    for e in snap.presences.values_mut() {
        e.metas.sort_by_key(|m| m.online_at);
    }
    snap.state = state.and_then(|s| serde_json::from_str::<StateRecord>(&s).ok()).map(|r| (r.host, r.state));
    Ok(snap)
}

/// Keep only the metas whose connection key still exists.
async fn live_metas(
    c: &mut ConnectionManager,
    user: &str,
    all: HashMap<String, String>,
) -> Result<HashMap<String, MetaRecord>, RedisError> {
    if all.is_empty() {
        return Ok(HashMap::new());
    }
    let refs: Vec<String> = all.keys().cloned().collect();
    let mut p = redis::pipe();
    for r in &refs {
        p.exists(conn_key(user, r));
    }
    let alive: Vec<bool> = p.query_async(c).await?;
    let mut out = HashMap::new();
    for (r, ok) in refs.into_iter().zip(alive) {
        if ok {
            if let Some(rec) = all.get(&r).and_then(|s| serde_json::from_str::<MetaRecord>(s).ok()) {
                out.insert(r, rec);
            }
        }
    }
    Ok(out)
}

/// Refresh this instance's keys, then reap expired connections of the users it serves.
async fn upkeep(sh: &Shared, c: &mut ConnectionManager, ttl: u64) -> Result<(), RedisError> {
    let local = sh.hub.local_refs();
    if local.is_empty() {
        return Ok(());
    }
    let mut p = redis::pipe();
    for (user, refs, owner) in &local {
        for r in refs {
            p.pexpire(conn_key(user, r), ttl as i64).ignore();
        }
        if owner.is_some() {
            p.pexpire(state_key(user), ttl as i64).ignore();
        }
        p.pexpire(metas_key(user), METAS_TTL_MS as i64).ignore();
    }
    let () = p.query_async(c).await?;
    for (user, _, _) in &local {
        let all: HashMap<String, String> = c.hgetall(metas_key(user)).await?;
        let records: HashMap<String, String> = all.clone();
        let live = live_metas(c, user, all).await?;
        for (r, raw) in records {
            if live.contains_key(&r) {
                continue;
            }
            let removed: i64 = c.hdel(metas_key(user), &r).await?;
            if removed != 1 {
                continue; // another instance announced it
            }
            let Ok(rec) = serde_json::from_str::<MetaRecord>(&raw) else { continue };
            tracing::debug!(user, conn = %r, "redis: reaped a vanished connection");
            let is_host = rec.meta.role == Role::Host;
            let leave = HubEvent::Leave { device_id: rec.device_id, meta: rec.meta };
            let _: i64 = c.publish(channel(user), serde_json::to_string(&leave).unwrap_or_default()).await?;
            if is_host {
                let state: Option<String> = c.get(state_key(user)).await?;
                let owned = state
                    .and_then(|s| serde_json::from_str::<StateRecord>(&s).ok())
                    .is_none_or(|s| s.host == r);
                if owned {
                    let () = c.del(state_key(user)).await?;
                    let ev = HubEvent::State { host: None, state: None };
                    let _: i64 =
                        c.publish(channel(user), serde_json::to_string(&ev).unwrap_or_default()).await?;
                }
            }
        }
    }
    Ok(())
}
