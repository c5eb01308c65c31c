//! The local hub: this instance's connections per user, the user's presence and last stream
//! state, and delivery of [`HubEvent`]s to the right local connections.
//!
//! In memory mode the hub is the truth. In Redis mode Redis is the truth and the hub is a cache
//! kept current by the events every instance receives through pub/sub; events are idempotent
//! (joins and leaves go by connection ref) so a snapshot racing an event does no harm.
//!
//! Every frame is serialized once and shared (`Utf8Bytes` is reference-counted) by all the
//! connections it goes to. A connection whose queue is full is told to close (slow consumer)
//! instead of slowing everyone else down.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::protocol::{
    encode, Command, CommandResult, ErrorCode, Hook, Meta, PresenceEntry, Presences, Role, ServerMsg,
    StreamState, HOOKS_VERSION,
};

/// What goes to a connection's writer.
#[derive(Debug, Clone)]
pub enum Out {
    Frame(Utf8Bytes),
    Close(ErrorCode),
    /// A webhook event for a host; the connection writes it unless it has it in flight already,
    /// its window is full (then it follows on an ack) or another live connection claimed it.
    Hook(std::sync::Arc<Hook>),
    /// This host connection became the one that takes the user's webhook events (the one
    /// before it left): it reads what is held and takes it.
    Refill,
}

/// Something that happened to one user, delivered to that user's connections on every instance.
/// (`Hook`: a webhook event was taken for this user; it goes to its hosts of protocol 2+.)
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum HubEvent {
    /// `hooks`: the connection takes webhook events (a host of protocol 2+). Defaulted so an
    /// instance of an older build still understands (and is understood by) this one.
    Join {
        device_id: String,
        meta: Meta,
        #[serde(default)]
        hooks: bool,
    },
    Leave {
        device_id: String,
        meta: Meta,
    },
    State {
        host: Option<String>,
        state: Option<StreamState>,
    },
    Command {
        id: String,
        from: String,
        device_id: String,
        device_name: String,
        command: Command,
    },
    Result {
        id: String,
        to: String,
        result: CommandResult,
    },
    Hook(Hook),
}

/// A snapshot of a user's shared state (from Redis, when it is the truth).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub presences: Presences,
    pub state: Option<(String, StreamState)>,
    /// Refs of the connections that take webhook events (hosts of protocol 2+).
    pub hook_hosts: HashSet<String>,
}

pub struct LocalConn {
    pub device_id: String,
    pub meta: Meta,
    /// The protocol version agreed in the welcome.
    pub version: u32,
    pub tx: mpsc::Sender<Out>,
    /// Cancelled when the queue overflows; the connection then closes with `slow_consumer`.
    pub slow: tokio_util::sync::CancellationToken,
}

#[derive(Default)]
struct Room {
    conns: HashMap<String, LocalConn>,
    presences: Presences,
    /// (host ref, state)
    state: Option<(String, StreamState)>,
    /// Refs (on any instance) of the connections that take webhook events.
    hook_hosts: HashSet<String>,
}

impl Room {
    /// The connection that takes the user's webhook events: the host of protocol 2+ whose
    /// stream is starting or live (its overlay is the one in the stream), else the
    /// longest-connected one (earliest `online_at`, then the smaller ref), as far as this hub
    /// knows.
    fn hook_taker(&self) -> Option<&str> {
        if let Some((host, s)) = &self.state {
            if matches!(s.phase.as_str(), "starting" | "live") && self.hook_hosts.contains(host) {
                return Some(host.as_str());
            }
        }
        self.presences
            .values()
            .flat_map(|e| e.metas.iter())
            .filter(|m| m.role == Role::Host && self.hook_hosts.contains(&m.conn))
            .min_by(|a, b| (a.online_at, a.conn.len(), &a.conn).cmp(&(b.online_at, b.conn.len(), &b.conn)))
            .map(|m| m.conn.as_str())
    }

    /// Tell the hook taker, if it is a connection of this instance, to take what is held.
    fn refill_taker(&self) {
        if let Some(c) = self.hook_taker().and_then(|t| self.conns.get(t)) {
            if let Err(mpsc::error::TrySendError::Full(_)) = c.tx.try_send(Out::Refill) {
                c.slow.cancel();
            }
        }
    }
}

#[derive(Default)]
pub struct LocalHub {
    rooms: Mutex<HashMap<String, Room>>,
}

/// Does this connection take webhook events (a host of protocol 2+)?
pub fn takes_hooks(c: &LocalConn) -> bool {
    c.meta.role == Role::Host && c.version >= HOOKS_VERSION
}

fn frame(msg: &ServerMsg) -> Utf8Bytes {
    Utf8Bytes::from(encode(msg))
}

fn send(conn: &LocalConn, f: &Utf8Bytes) {
    if let Err(mpsc::error::TrySendError::Full(_)) = conn.tx.try_send(Out::Frame(f.clone())) {
        // The client is not reading: drop it rather than buffer without bound.
        tracing::debug!(conn = %conn.meta.conn, "outgoing queue full; closing as a slow consumer");
        conn.slow.cancel();
    }
}

fn add_meta(p: &mut Presences, device_id: &str, meta: &Meta) -> bool {
    let e = p.entry(device_id.to_string()).or_default();
    if e.metas.iter().any(|m| m.conn == meta.conn) {
        return false;
    }
    e.metas.push(meta.clone());
    true
}

fn remove_meta(p: &mut Presences, device_id: &str, conn: &str) -> bool {
    let Some(e) = p.get_mut(device_id) else { return false };
    let before = e.metas.len();
    e.metas.retain(|m| m.conn != conn);
    let removed = e.metas.len() != before;
    if e.metas.is_empty() {
        p.remove(device_id);
    }
    removed
}

fn one(device_id: &str, meta: &Meta) -> Presences {
    let mut p = Presences::new();
    p.insert(device_id.to_string(), PresenceEntry { metas: vec![meta.clone()] });
    p
}

impl LocalHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a connection; queue its `welcome`, `presence_state` (itself included) and
    /// `stream_state` before any diff can reach it. `snapshot` replaces the cached shared state
    /// (Redis mode).
    pub fn register(&self, user: &str, conn: LocalConn, welcome: ServerMsg, snapshot: Option<Snapshot>) {
        let mut rooms = self.lock();
        let room = rooms.entry(user.to_string()).or_default();
        if let Some(s) = snapshot {
            room.presences = s.presences;
            room.state = s.state;
            room.hook_hosts = s.hook_hosts;
            room.hook_hosts
                .extend(room.conns.values().filter(|c| takes_hooks(c)).map(|c| c.meta.conn.clone()));
        }
        add_meta(&mut room.presences, &conn.device_id, &conn.meta);
        if takes_hooks(&conn) {
            room.hook_hosts.insert(conn.meta.conn.clone());
        }
        let _ = conn.tx.try_send(Out::Frame(frame(&welcome)));
        let _ = conn
            .tx
            .try_send(Out::Frame(frame(&ServerMsg::PresenceState { presences: room.presences.clone() })));
        let (host, state) = match &room.state {
            Some((h, s)) => (Some(h.clone()), Some(s.clone())),
            None => (None, None),
        };
        let _ = conn.tx.try_send(Out::Frame(frame(&ServerMsg::StreamState { host, state })));
        room.conns.insert(conn.meta.conn.clone(), conn);
    }

    /// Remove a connection. Returns whether it was the host whose state is current.
    pub fn unregister(&self, user: &str, conn: &str) -> bool {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(user) else { return false };
        room.conns.remove(conn);
        let was_host = room.state.as_ref().is_some_and(|(h, _)| h == conn);
        if room.conns.is_empty() {
            rooms.remove(user);
        }
        was_host
    }

    /// Is `conn` the connection that takes this user's webhook events now?
    pub fn is_hook_taker(&self, user: &str, conn: &str) -> bool {
        self.lock().get(user).and_then(|r| r.hook_taker().map(|t| t == conn)).unwrap_or(false)
    }

    /// Is `conn` a connection of this instance (memory mode: alive)?
    pub fn is_local(&self, user: &str, conn: &str) -> bool {
        self.lock().get(user).is_some_and(|r| r.conns.contains_key(conn))
    }

    /// Is any host of this user present (on any instance, as far as this hub knows)?
    pub fn has_host(&self, user: &str) -> bool {
        self.lock()
            .get(user)
            .is_some_and(|r| r.presences.values().any(|e| e.metas.iter().any(|m| m.role == Role::Host)))
    }

    /// Users with at least one connection here.
    pub fn users(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Refs of this instance's connections per user, and which of them owns the state.
    pub fn local_refs(&self) -> Vec<(String, Vec<String>, Option<String>)> {
        self.lock()
            .iter()
            .map(|(u, r)| {
                let owner = r.state.as_ref().map(|(h, _)| h.clone()).filter(|h| r.conns.contains_key(h));
                (u.clone(), r.conns.keys().cloned().collect(), owner)
            })
            .collect()
    }

    pub fn connection_count(&self) -> usize {
        self.lock().values().map(|r| r.conns.len()).sum()
    }

    /// Tell every local connection to close (shutdown).
    pub fn close_all(&self, code: ErrorCode) {
        for room in self.lock().values() {
            for c in room.conns.values() {
                let _ = c.tx.try_send(Out::Close(code));
            }
        }
    }

    /// Apply an event to the cache and deliver it to this instance's connections of `user`.
    pub fn deliver(&self, user: &str, ev: HubEvent) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(user) else { return };
        match ev {
            HubEvent::Join { device_id, meta, hooks } => {
                if hooks {
                    room.hook_hosts.insert(meta.conn.clone());
                }
                add_meta(&mut room.presences, &device_id, &meta);
                let f = frame(&ServerMsg::PresenceDiff {
                    joins: one(&device_id, &meta),
                    leaves: Presences::new(),
                });
                for c in room.conns.values().filter(|c| c.meta.conn != meta.conn) {
                    send(c, &f);
                }
            }
            HubEvent::Leave { device_id, meta } => {
                if !remove_meta(&mut room.presences, &device_id, &meta.conn) {
                    return;
                }
                let f = frame(&ServerMsg::PresenceDiff {
                    joins: Presences::new(),
                    leaves: one(&device_id, &meta),
                });
                for c in room.conns.values() {
                    send(c, &f);
                }
                // A host left: if it took the webhook events, the next one takes them (its
                // unacknowledged events included).
                if room.hook_hosts.remove(&meta.conn) {
                    room.refill_taker();
                }
            }
            HubEvent::State { host, state } => {
                let taker = room.hook_taker().map(str::to_string);
                room.state = match (&host, &state) {
                    (Some(h), Some(s)) => Some((h.clone(), s.clone())),
                    _ => None,
                };
                // A host going live takes the webhook events from now on (and what is held).
                if room.hook_taker() != taker.as_deref() {
                    room.refill_taker();
                }
                let f = frame(&ServerMsg::StreamState { host, state });
                for c in room.conns.values() {
                    send(c, &f);
                }
            }
            HubEvent::Command { id, from, device_id, device_name, command } => {
                let f = frame(&ServerMsg::Command { id, from, device_id, device_name, command });
                for c in room.conns.values().filter(|c| c.meta.role == Role::Host) {
                    send(c, &f);
                }
            }
            HubEvent::Result { id, to, result } => {
                if let Some(c) = room.conns.get(&to) {
                    send(c, &frame(&ServerMsg::CommandResult { id, result }));
                }
            }
            HubEvent::Hook(hook) => {
                // One host takes it (not every host of the user: each would show the alert);
                // only the instance holding that host's connection acts.
                if let Some(c) = room.hook_taker().and_then(|t| room.conns.get(t)) {
                    if let Err(mpsc::error::TrySendError::Full(_)) =
                        c.tx.try_send(Out::Hook(std::sync::Arc::new(hook)))
                    {
                        // Still held by the store: it comes again on the next connection.
                        c.slow.cancel();
                    }
                }
            }
        }
    }

    /// Replace the cached shared state of `user` with `snap` (Redis mode, after the subscription
    /// was lost and events may have been missed) and tell the local connections what changed.
    pub fn resync(&self, user: &str, snap: Snapshot) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(user) else { return };
        let taker = room.hook_taker().map(str::to_string);
        let mut joins = Presences::new();
        let mut leaves = Presences::new();
        for (dev, e) in &room.presences {
            for m in &e.metas {
                let still = snap.presences.get(dev).is_some_and(|n| n.metas.iter().any(|x| x.conn == m.conn));
                // Our own connections are alive whatever the snapshot says.
                if !still && !room.conns.contains_key(&m.conn) {
                    leaves.entry(dev.clone()).or_default().metas.push(m.clone());
                }
            }
        }
        for (dev, e) in &snap.presences {
            for m in &e.metas {
                let known = room.presences.get(dev).is_some_and(|o| o.metas.iter().any(|x| x.conn == m.conn));
                if !known {
                    joins.entry(dev.clone()).or_default().metas.push(m.clone());
                }
            }
        }
        for (dev, e) in &leaves {
            for m in &e.metas {
                remove_meta(&mut room.presences, dev, &m.conn);
            }
        }
        for (dev, e) in &joins {
            for m in &e.metas {
                add_meta(&mut room.presences, dev, m);
            }
        }
        room.hook_hosts = snap.hook_hosts;
        room.hook_hosts.extend(room.conns.values().filter(|c| takes_hooks(c)).map(|c| c.meta.conn.clone()));
        let state_changed = room.state != snap.state;
        if state_changed {
            room.state = snap.state;
        }
        if room.hook_taker() != taker.as_deref() {
            room.refill_taker();
        }
        if !joins.is_empty() || !leaves.is_empty() {
            let f = frame(&ServerMsg::PresenceDiff { joins, leaves });
            for c in room.conns.values() {
                send(c, &f);
            }
        }
        if state_changed {
            let (host, state) = match &room.state {
                Some((h, s)) => (Some(h.clone()), Some(s.clone())),
                None => (None, None),
            };
            let f = frame(&ServerMsg::StreamState { host, state });
            for c in room.conns.values() {
                send(c, &f);
            }
        }
    }

    /// Send one message to one local connection (e.g. an immediate `no_host` result).
    pub fn send_to(&self, user: &str, conn: &str, msg: &ServerMsg) {
        if let Some(c) = self.lock().get(user).and_then(|r| r.conns.get(conn)) {
            send(c, &frame(msg));
        }
    }
}
