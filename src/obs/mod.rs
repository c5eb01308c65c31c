//! OBS, connected: the app drives the streamer's own OBS through obs-websocket v5 (built into OBS
//! 28 and newer).
//!
//! - `protocol.rs`: the messages (Hello, Identify with the SHA-256 answer, requests, events).
//! - `client.rs`: a thin client over `tokio-tungstenite` (one task owns the socket).
//! - `connection.rs`: `ObsConnection`, a child of the user's tree: keeps the link up with
//!   backoff, follows OBS's stream state and health, and ties OBS's Start/Stop to the app's.
//! - `setup.rs`: "Set up OBS for me" and "Restore".
//! - `status.rs`: `ObsStatus`, what the status, the events and the UI show.

pub(crate) mod client;
pub(crate) mod connection;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod protocol;
pub(crate) mod setup;
pub mod status;
#[cfg(test)]
mod tests;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

pub use setup::{ObsRestoreReport, ObsSetupReport};
pub use status::{ObsHealth, ObsPreviousSettings, ObsState, ObsStatus};

/// The OBS parts of a user that outlive the tree's restarts and reconfigurations: the status,
/// the live client (for setup/restore), and counters.
#[derive(Clone, Default)]
pub(crate) struct ObsStash {
    pub status: Arc<Mutex<ObsStatus>>,
    pub client: ObsSlot,
    /// Connection attempts so far (tests count them: no retry storm after a wrong password).
    pub attempts: Arc<AtomicU64>,
    /// OBS started streaming: the Cloudflare monitor polls the live input at once.
    pub input_poll: Arc<Notify>,
    /// Tests: shorter connect and request timeouts than the 5 s each.
    #[cfg(test)]
    pub timeouts: Arc<std::sync::OnceLock<std::time::Duration>>,
}

/// The live client while connected, `None` otherwise.
#[derive(Clone)]
pub(crate) struct ObsSlot(Arc<watch::Sender<Option<client::ObsClient>>>);

impl Default for ObsSlot {
    fn default() -> Self {
        ObsSlot(Arc::new(watch::channel(None).0))
    }
}

impl ObsSlot {
    pub fn get(&self) -> Option<client::ObsClient> {
        self.0.borrow().clone()
    }
    pub fn set(&self, c: Option<client::ObsClient>) {
        self.0.send_replace(c);
    }
}
