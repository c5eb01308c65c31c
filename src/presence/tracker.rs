//! Presence (the Phoenix.Presence part): sessions per user, `presence_diff` to subscribers.
//!
//! State changes and the diffs they produce happen under one lock, so every subscriber sees the
//! diffs in the order the state changed. Subscribers get an unbounded channel: a diff is small
//! and rare, and losing one would make the PresenceManager wrong.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::debug;

use super::{SessionInfo, SessionKind};
use crate::events::{Event, EventBus};

/// Sessions that joined and left, for one user, in one change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PresenceDiff {
    pub user_id: String,
    pub joins: Vec<SessionInfo>,
    pub leaves: Vec<SessionInfo>,
}

#[derive(Default)]
struct State {
    users: HashMap<String, BTreeMap<String, SessionInfo>>,
    subscribers: Vec<mpsc::UnboundedSender<PresenceDiff>>,
}

/// The presence tracker. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Presence {
    state: Arc<Mutex<State>>,
    bus: EventBus,
}

impl Presence {
    pub fn new(bus: EventBus) -> Self {
        Presence { state: Arc::default(), bus }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps half-written (every write is a
        // single insert or remove), so a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Receive every diff from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<PresenceDiff> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().subscribers.push(tx);
        rx
    }

    /// Track a session. Tracking an id that is already present changes nothing (no diff).
    pub fn track(&self, user_id: &str, id: &str, kind: SessionKind, device: Option<String>) -> bool {
        let info = SessionInfo { id: id.to_string(), kind, device, joined_at: Utc::now() };
        let mut st = self.lock();
        let sessions = st.users.entry(user_id.to_string()).or_default();
        if sessions.contains_key(id) {
            return false;
        }
        sessions.insert(id.to_string(), info.clone());
        debug!(user_id, session = id, ?kind, "presence join");
        self.publish(&mut st, PresenceDiff { user_id: user_id.into(), joins: vec![info], leaves: vec![] });
        true
    }

    /// Untrack a session; unknown ids change nothing.
    pub fn untrack(&self, user_id: &str, id: &str) -> bool {
        let mut st = self.lock();
        let Some(sessions) = st.users.get_mut(user_id) else { return false };
        let Some(info) = sessions.remove(id) else { return false };
        if sessions.is_empty() {
            st.users.remove(user_id);
        }
        debug!(user_id, session = id, "presence leave");
        self.publish(&mut st, PresenceDiff { user_id: user_id.into(), joins: vec![], leaves: vec![info] });
        true
    }

    /// Remove every session of one kind for a user (e.g. all remote devices when the sync link
    /// is lost), as one diff.
    pub fn untrack_kind(&self, user_id: &str, kind: SessionKind) -> usize {
        let mut st = self.lock();
        let Some(sessions) = st.users.get_mut(user_id) else { return 0 };
        let gone: Vec<SessionInfo> = sessions.values().filter(|s| s.kind == kind).cloned().collect();
        for s in &gone {
            sessions.remove(&s.id);
        }
        if sessions.is_empty() {
            st.users.remove(user_id);
        }
        let n = gone.len();
        if n > 0 {
            self.publish(&mut st, PresenceDiff { user_id: user_id.into(), joins: vec![], leaves: gone });
        }
        n
    }

    pub fn list(&self, user_id: &str) -> Vec<SessionInfo> {
        self.lock().users.get(user_id).map(|s| s.values().cloned().collect()).unwrap_or_default()
    }

    pub fn is_present(&self, user_id: &str) -> bool {
        self.lock().users.get(user_id).is_some_and(|s| !s.is_empty())
    }

    pub fn users(&self) -> Vec<String> {
        self.lock().users.keys().cloned().collect()
    }

    /// Track a fresh session that is untracked when the guard is dropped.
    pub fn guard(&self, user_id: &str, kind: SessionKind, device: Option<String>) -> SessionGuard {
        let prefix = match kind {
            SessionKind::Window => "window",
            SessionKind::Socket => "socket",
            SessionKind::Device => "device",
            SessionKind::Lease => "lease",
        };
        let id = format!("{prefix}:{}", uuid::Uuid::new_v4());
        self.track(user_id, &id, kind, device);
        SessionGuard { presence: self.clone(), user_id: user_id.to_string(), id }
    }

    fn publish(&self, st: &mut State, diff: PresenceDiff) {
        st.subscribers.retain(|s| s.send(diff.clone()).is_ok());
        self.bus.user(&diff.user_id).emit(Event::PresenceDiff {
            user_id: diff.user_id.clone(),
            joins: diff.joins,
            leaves: diff.leaves,
        });
    }
}

/// A tracked session that leaves when dropped (a socket, a request in flight).
pub struct SessionGuard {
    presence: Presence,
    user_id: String,
    id: String,
}

impl SessionGuard {
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.presence.untrack(&self.user_id, &self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn track_untrack_list_and_diffs() {
        let bus = EventBus::new();
        let mut events = bus.subscribe("u1");
        let p = Presence::new(bus);
        let mut diffs = p.subscribe();
        assert!(p.track("u1", "window:a", SessionKind::Window, None));
        assert!(!p.track("u1", "window:a", SessionKind::Window, None), "idempotent");
        assert!(p.track("u1", "window:b", SessionKind::Window, None));
        assert!(p.track("u2", "device:phone", SessionKind::Device, Some("phone".into())));
        let ids: Vec<String> = p.list("u1").into_iter().map(|s| s.id).collect();
        assert_eq!(ids, vec!["window:a", "window:b"]);
        assert!(p.untrack("u1", "window:a"));
        assert!(!p.untrack("u1", "window:a"));
        assert!(!p.untrack("nobody", "x"));

        let d1 = diffs.recv().await.unwrap();
        assert_eq!((d1.user_id.as_str(), d1.joins[0].id.as_str(), d1.leaves.len()), ("u1", "window:a", 0));
        let d2 = diffs.recv().await.unwrap();
        assert_eq!(d2.joins[0].id, "window:b");
        let d3 = diffs.recv().await.unwrap();
        assert_eq!((d3.user_id.as_str(), d3.joins[0].device.as_deref()), ("u2", Some("phone")));
        let d4 = diffs.recv().await.unwrap();
        assert_eq!((d4.joins.len(), d4.leaves[0].id.as_str()), (0, "window:a"));
        assert!(diffs.try_recv().is_err(), "no diff for no-op calls");

        // The user's bus saw u1's three diffs as events, not u2's.
        let mut n = 0;
        while let Ok(ev) = events.try_recv() {
            assert!(matches!(ev, Event::PresenceDiff { ref user_id, .. } if user_id == "u1"));
            n += 1;
        }
        assert_eq!(n, 3);
    }

    #[tokio::test]
    async fn guard_untracks_on_drop_and_kind_removal_is_one_diff() {
        let p = Presence::new(EventBus::new());
        let g = p.guard("u", SessionKind::Socket, None);
        assert!(g.id().starts_with("socket:"));
        assert!(p.is_present("u"));
        drop(g);
        assert!(!p.is_present("u"));
        p.track("u", "device:1", SessionKind::Device, None);
        p.track("u", "device:2", SessionKind::Device, None);
        p.track("u", "window:1", SessionKind::Window, None);
        let mut diffs = p.subscribe();
        assert_eq!(p.untrack_kind("u", SessionKind::Device), 2);
        let d = diffs.recv().await.unwrap();
        assert_eq!(d.leaves.len(), 2);
        assert_eq!(p.list("u").len(), 1);
    }
}
