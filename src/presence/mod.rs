//! Presence: who has the user's tree open (windows, control-API sockets, remote devices, and the
//! live-stream lease), and the manager that starts and stops trees from it.

pub mod manager;
pub mod tracker;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use manager::{PresenceManager, PresenceManagerHandle};
pub use tracker::{Presence, SessionGuard};

/// What kind of thing holds a session.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// An app window.
    Window,
    /// A client socket of the local control API (`/api/v1/events`).
    Socket,
    /// Another device, through the sync server.
    Device,
    /// A live stream (or a start request in flight): holds the tree while on air.
    Lease,
}

/// One presence session and its metadata.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionInfo {
    pub id: String,
    pub kind: SessionKind,
    pub device: Option<String>,
    pub joined_at: DateTime<Utc>,
}
