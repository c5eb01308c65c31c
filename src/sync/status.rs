//! What the sync link is doing, for `Engine::sync_status`, `GET /api/v1/status` (`sync`) and the
//! `sync_status` event. Never holds the token: errors are described in words.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::events::{Event, UserEvents};

/// The link to the sync server.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Not configured (`[sync] url` unset), or no token to sign in with (`last_error` says so).
    #[default]
    Off,
    /// Connecting or signing in.
    Connecting,
    /// Signed in; remote devices count as presence.
    Connected,
    /// The last attempt failed (`last_error` says why); trying again with backoff.
    Retrying,
}

/// One remote device connection the engine currently counts as presence.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncDevice {
    /// The device's id among the user's devices (e.g. `phone`).
    pub id: String,
    /// The name the device signed in with.
    pub name: String,
    /// When the device connected to the sync server.
    pub joined_at: DateTime<Utc>,
}

/// `sync` in the status; the `sync_status` event's payload.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    pub state: SyncState,
    /// The server's address (`ws(s)://host:port/path`, without any user info or query); `null`
    /// when sync is off.
    pub server: Option<String>,
    /// Why the last attempt failed, in words (never the token). Cleared once connected.
    pub last_error: Option<String>,
    /// Remote devices connected now, oldest first.
    pub devices: Vec<SyncDevice>,
}

/// The engine's current sync status; each change is published as `Event::SyncStatus`.
#[derive(Clone)]
pub struct SyncStatusCell {
    inner: Arc<Mutex<SyncStatus>>,
    events: UserEvents,
}

impl SyncStatusCell {
    pub fn new(events: UserEvents) -> Self {
        SyncStatusCell { inner: Arc::new(Mutex::new(SyncStatus::default())), events }
    }

    pub fn get(&self) -> SyncStatus {
        self.inner.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Change the status; publishes it if it changed. Published under the lock, so two changes
    /// from different tasks reach subscribers in the order they were made (the last event a
    /// window sees is the status in force).
    pub fn update(&self, f: impl FnOnce(&mut SyncStatus)) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let before = s.clone();
        f(&mut s);
        if *s != before {
            self.events
                .emit(Event::SyncStatus { user_id: self.events.user_id().to_string(), status: s.clone() });
        }
    }

    /// Replace the whole status.
    pub fn set(&self, status: SyncStatus) {
        self.update(|s| *s = status);
    }
}

/// The server address to show: scheme, host, port and path only.
pub fn display_server(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(invalid address)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventBus;

    #[test]
    fn changes_are_published_once_and_addresses_lose_user_info() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe("u");
        let cell = SyncStatusCell::new(bus.user("u"));
        cell.update(|s| s.state = SyncState::Connecting);
        cell.update(|s| s.state = SyncState::Connecting);
        let ev = rx.try_recv().expect("one event");
        assert!(matches!(
            ev,
            Event::SyncStatus { status: SyncStatus { state: SyncState::Connecting, .. }, .. }
        ));
        assert!(rx.try_recv().is_err(), "no event when nothing changed");
        assert_eq!(display_server("wss://me:pw@sync.example.com/sync?t=x#f"), "wss://sync.example.com/sync");
    }
}
