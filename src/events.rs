//! The event enum and the per-user event bus.
//!
//! Every state change in a user's tree is published here; the control API's `/api/v1/events`
//! WebSocket and the desktop shell forward them as JSON `{"type": "...", ...}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::alerts::Alert;
use crate::presence::SessionInfo;
use crate::stream_state::{EndReason, InputStatus, PlatformStatus, StreamPhase};

/// Everything the engine tells the outside world. Serialized with a `type` tag (snake_case).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Sessions joined or left (Phoenix.Presence's `presence_diff`).
    PresenceDiff { user_id: String, joins: Vec<SessionInfo>, leaves: Vec<SessionInfo> },
    /// The user's UserStreamManager tree started.
    ManagerStarted { user_id: String },
    /// The user's tree stopped (`reason`: `no_sessions`, `shutdown`, `gave_up: ...`).
    ManagerStopped { user_id: String, reason: String },
    /// The last session left; the tree stops after `timeout_ms` unless someone comes back.
    CleanupScheduled { user_id: String, timeout_ms: u64 },
    /// A session came back inside the grace window.
    CleanupCancelled { user_id: String },
    /// A supervised child exited abnormally and was restarted.
    ChildRestarted { user_id: String, supervisor: String, child: String, restarts: u32 },
    /// The stream state machine moved.
    StreamState { user_id: String, state: StreamPhase, uuid: Option<Uuid>, started_at: Option<DateTime<Utc>> },
    /// A stream ended and why (`stopped`, `source_lost`); sent just before the `offline`
    /// stream state.
    StreamEnded { user_id: String, uuid: Uuid, ended_by: EndReason },
    /// OBS → ingest: is media arriving?
    InputStatus { user_id: String, status: InputStatus },
    /// One platform's status changed.
    PlatformStatus { user_id: String, platform: String, status: PlatformStatus },
    /// An alert is now on screen.
    AlertShown { user_id: String, alert: Alert },
    /// An alert came in and waits for the streamer (moderation is on and it has a message, or a
    /// donor's input was partly unreadable): approve or reject it.
    AlertHeld { user_id: String, alert: Alert },
    /// An alert left the screen: `outcome` is `shown` (its time ran out or the overlay reported
    /// it done), `skipped`, or `cleared`.
    AlertFinished { user_id: String, id: String, outcome: AlertOutcome },
    /// The alert queue changed (paused flag, queue length).
    AlertQueue { user_id: String, paused: bool, queued: usize },
    /// The link to the sync server changed (state, error, remote devices).
    SyncStatus { user_id: String, status: crate::sync::SyncStatus },
    /// The link to OBS or OBS's stream changed (state, streaming, health, problem, kept
    /// settings). The figures (congestion, frame counts) change without an event: read the
    /// status.
    ObsStatus { user_id: String, status: crate::obs::ObsStatus },
    /// The config in force changed (through `Engine::reconfigure` or
    /// `Engine::set_platform_enabled`, including commands relayed from another device, e.g. a
    /// platform toggled from the phone). Read `Engine::config()` and persist it; the event
    /// carries no settings and never a secret.
    ConfigChanged { user_id: String },
    /// A platform account's status changed (sign-in state, its event feed).
    AccountStatus {
        user_id: String,
        platform: crate::accounts::AccountPlatform,
        status: crate::accounts::AccountStatus,
    },
    /// The stream info was saved, a push started, or a push's results came (the whole view).
    StreamInfo { user_id: String, info: crate::stream_info::StreamInfoView },
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AlertOutcome {
    Shown,
    Skipped,
    Cleared,
}

const BUS_CAPACITY: usize = 1024;

/// Per-user broadcast channels. Subscribing before the user's tree exists is fine.
#[derive(Clone, Default)]
pub struct EventBus {
    users: Arc<Mutex<HashMap<String, broadcast::Sender<Event>>>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn sender(&self, user_id: &str) -> broadcast::Sender<Event> {
        self.users
            .lock()
            .expect("event bus lock")
            .entry(user_id.to_string())
            .or_insert_with(|| broadcast::channel(BUS_CAPACITY).0)
            .clone()
    }

    /// A publisher bound to one user.
    pub fn user(&self, user_id: &str) -> UserEvents {
        UserEvents { user_id: Arc::from(user_id), tx: self.sender(user_id) }
    }

    pub fn subscribe(&self, user_id: &str) -> broadcast::Receiver<Event> {
        self.sender(user_id).subscribe()
    }
}

/// The publishing end of one user's bus. Cheap to clone.
#[derive(Clone)]
pub struct UserEvents {
    user_id: Arc<str>,
    tx: broadcast::Sender<Event>,
}

impl UserEvents {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
    /// Publish (no subscribers is fine).
    pub fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
    }
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
