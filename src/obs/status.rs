//! What the app knows about OBS, for `Engine::obs_status`, `GET /api/v1/status` (`obs`) and the
//! `obs_status` event. Never holds the password or a stream key.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::events::{Event, UserEvents};
use crate::failure::Failure;

/// The link to OBS's WebSocket server.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ObsState {
    /// `[obs] enabled = false`, or the app's task tree is stopped.
    #[default]
    Off,
    /// Connecting (first attempt, or again after the link dropped).
    Connecting,
    /// Connected and identified; `obs_version` and `websocket_version` are set.
    Connected,
    /// Nothing answers at `[obs] url` (OBS closed, or its WebSocket server off); retrying with
    /// backoff.
    Unreachable,
    /// OBS refused the password, or asks for one and none is set. Not retried until the password
    /// or `[obs]` changes (or `Engine::obs_reconnect`).
    AuthFailed,
    /// Something answers that is not obs-websocket 5 (OBS older than 28, the 4.x plugin, another
    /// server). Retried slowly.
    Incompatible,
}

/// OBS's stream output, as OBS reports it.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ObsHealth {
    /// Not streaming (or not connected).
    #[default]
    Idle,
    /// Streaming; congestion low.
    Good,
    /// Streaming; OBS reports congestion at or above 0.5 (it drops frames to keep up). Back to
    /// `good` below 0.2.
    Congested,
    /// OBS lost its connection to the ingest and is reconnecting.
    Reconnecting,
}

/// OBS's stream settings as they were before "Set up OBS", kept for "Restore". Never the key.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObsPreviousSettings {
    /// OBS's service type: `rtmp_common` (a listed service such as Twitch), `rtmp_custom`, ...
    pub service_type: String,
    /// The listed service's name (`rtmp_common`), e.g. `Twitch`.
    pub service: Option<String>,
    /// The server (an address, or `auto` for listed services).
    pub server: Option<String>,
    /// A stream key was set (it is kept in the secret store, never shown).
    pub has_key: bool,
    /// When it was saved (RFC 3339).
    pub saved_at: String,
}

/// `obs` in the status; the `obs_status` event's payload.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObsStatus {
    pub state: ObsState,
    /// `[obs] url` (no user info); `null` when off.
    pub url: Option<String>,
    /// Set while connected, e.g. `29.0.2`.
    pub obs_version: Option<String>,
    /// Set while connected, e.g. `5.1.0`.
    pub websocket_version: Option<String>,
    /// OBS's stream output is active (OBS's own Start Streaming is on).
    pub streaming: bool,
    /// OBS is reconnecting to the ingest.
    pub reconnecting: bool,
    pub health: ObsHealth,
    /// OBS's output congestion, 0..1, while streaming (polled every 2 s).
    pub congestion: Option<f64>,
    /// Frames OBS's output skipped (dropped) since its stream started.
    pub skipped_frames: Option<u64>,
    /// Frames OBS's output sent since its stream started.
    pub total_frames: Option<u64>,
    /// Whether OBS's stream settings point at the app's ingest (server and key); `null` when not
    /// known (not connected, or the Cloudflare input not known yet).
    pub uses_app_ingest: Option<bool>,
    /// OBS's settings from before "Set up OBS", restorable; `null` when none are kept.
    pub previous: Option<ObsPreviousSettings>,
    /// Why the link is not connected (kind + `source: obs` + words), or the last failed OBS
    /// command; cleared when connected.
    pub problem: Option<Failure>,
}

impl ObsStatus {
    /// The fields whose change is news (an `obs_status` event); the figures (congestion, frame
    /// counts) change every poll and are read from the status.
    fn signal(&self) -> impl PartialEq + '_ {
        (
            self.state,
            &self.url,
            &self.obs_version,
            &self.websocket_version,
            self.streaming,
            self.reconnecting,
            self.health,
            self.uses_app_ingest,
            &self.previous,
            &self.problem,
        )
    }
}

/// The current OBS status, shared by the connection (writer) and the engine (readers); each
/// change of a signal field is published as `Event::ObsStatus`. Made once per user, so it
/// outlives restarts of the connection.
#[derive(Clone)]
pub struct ObsStatusCell {
    inner: Arc<Mutex<ObsStatus>>,
    events: UserEvents,
}

impl ObsStatusCell {
    pub fn new(events: UserEvents) -> Self {
        ObsStatusCell { inner: Arc::default(), events }
    }

    /// A cell over a status kept elsewhere (the user's stash).
    pub(crate) fn with_inner(inner: Arc<Mutex<ObsStatus>>, events: UserEvents) -> Self {
        ObsStatusCell { inner, events }
    }

    pub fn get(&self) -> ObsStatus {
        self.inner.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Change the status; publishes it if a signal field changed.
    pub fn update(&self, f: impl FnOnce(&mut ObsStatus)) {
        let changed = {
            let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let before = s.clone();
            f(&mut s);
            let news = s.signal() != before.signal();
            news.then(|| s.clone())
        };
        if let Some(status) = changed {
            self.events.emit(Event::ObsStatus { user_id: self.events.user_id().to_string(), status });
        }
    }
}

/// The health for an OBS stream status, with hysteresis on congestion.
pub fn health(before: ObsHealth, active: bool, reconnecting: bool, congestion: f64) -> ObsHealth {
    if reconnecting {
        ObsHealth::Reconnecting
    } else if !active {
        ObsHealth::Idle
    } else if congestion >= 0.5 || (before == ObsHealth::Congested && congestion >= 0.2) {
        ObsHealth::Congested
    } else {
        ObsHealth::Good
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventBus;

    #[test]
    fn signal_changes_are_published_figures_are_not() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe("u");
        let cell = ObsStatusCell::new(bus.user("u"));
        cell.update(|s| s.state = ObsState::Connecting);
        assert!(matches!(
            rx.try_recv(),
            Ok(Event::ObsStatus { status: ObsStatus { state: ObsState::Connecting, .. }, .. })
        ));
        cell.update(|s| {
            s.congestion = Some(0.1);
            s.total_frames = Some(100);
        });
        assert!(rx.try_recv().is_err(), "figures alone are not news");
        assert_eq!(cell.get().total_frames, Some(100));
        cell.update(|s| s.health = ObsHealth::Congested);
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn congestion_has_hysteresis() {
        use ObsHealth::*;
        assert_eq!(health(Good, true, false, 0.49), Good);
        assert_eq!(health(Good, true, false, 0.5), Congested);
        assert_eq!(health(Congested, true, false, 0.3), Congested);
        assert_eq!(health(Congested, true, false, 0.1), Good);
        assert_eq!(health(Good, true, true, 0.0), Reconnecting);
        assert_eq!(health(Congested, false, false, 0.9), Idle);
    }
}
