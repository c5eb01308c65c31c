//! The front door for alerts: intake (validation, idempotency, minimum amounts, moderation),
//! the queue view and the controls. Works whether or not the user's tree runs: the database is
//! the source of truth, the running AlertQueue its live copy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Serialize;

use super::input::{lenient, truncate_marked, validate, MAX_MESSAGE_CHARS};
use super::state::QueueState;
use super::{Alert, AlertInput, AlertQueueError, AlertQueueHandle};
use crate::config::AlertsConfig;
use crate::events::{Event, UserEvents};
use crate::storage::{AlertState, AlertStore, Inserted};
use crate::telemetry::esc;

/// `GET /api/v1/alerts`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertsView {
    pub paused: bool,
    pub current: Option<Alert>,
    /// In display order.
    pub queued: Vec<Alert>,
    /// Waiting for approval (moderation).
    pub held: Vec<Alert>,
}

/// What happened to an accepted alert.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Accepted {
    pub id: String,
    /// The idempotency key was seen before; nothing new was queued.
    pub duplicate: bool,
    /// `queued`, `held` (moderation) or `filtered` (below the minimum amount).
    pub state: &'static str,
}

pub struct AlertDesk {
    pub(crate) store: AlertStore,
    pub(crate) queue: AlertQueueHandle,
    pub(crate) config: AlertsConfig,
    /// Is the AlertQueue running (the user's tree is up)?
    pub(crate) running: bool,
    /// Connected OBS overlays (they pace the queue).
    pub(crate) overlays: Arc<AtomicUsize>,
    /// The user's events (`alert_held`).
    pub(crate) events: UserEvents,
}

/// An OBS overlay counted as connected while this lives: the queue then advances on what the
/// overlay reports it showed.
pub struct OverlayGuard(Arc<AtomicUsize>);

impl Drop for OverlayGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AlertDesk {
    /// Is the alert queue paused? (Stored, so it answers with the tree down too.)
    pub fn paused(&self) -> bool {
        self.store.paused().unwrap_or(false)
    }

    /// Count an OBS overlay as connected for as long as the guard lives.
    pub fn overlay_connected(&self) -> OverlayGuard {
        self.overlays.fetch_add(1, Ordering::SeqCst);
        OverlayGuard(self.overlays.clone())
    }

    /// How many OBS overlays are connected now.
    pub fn overlays_connected(&self) -> usize {
        self.overlays.load(Ordering::SeqCst)
    }

    /// The alert on screen now, if the queue runs and shows one.
    pub async fn current(&self) -> Option<Alert> {
        if !self.running {
            return None;
        }
        self.queue.snapshot().await.ok().and_then(|s| s.current)
    }

    /// An overlay reports that the alert `id` finished showing.
    pub async fn finished(&self, id: &str) {
        if self.running {
            let _ = self.queue.finished(id).await;
        }
    }

    /// Validate and store an alert (durably, before answering), then hand it to the queue.
    pub fn accept(&self, input: AlertInput, key: Option<&str>) -> Result<Accepted, AlertQueueError> {
        if let Some(k) = key {
            if k.is_empty() || k.chars().count() > 200 {
                return Err(AlertQueueError::Invalid {
                    message: "`idempotency_key` must be 1 to 200 characters".into(),
                });
            }
        }
        let alert = validate(input)?;
        let below_min = match (self.config.min_amounts.get(&alert.kind), alert.amount) {
            (Some(min), Some(amount)) => amount < *min,
            (Some(_), None) => true,
            _ => false,
        };
        let (state, label) = if below_min {
            (AlertState::Filtered, "filtered")
        } else if self.config.moderation && alert.message.as_deref().is_some_and(|m| !m.trim().is_empty()) {
            (AlertState::Held, "held")
        } else {
            (AlertState::Queued, "queued")
        };
        match self.store.insert(&alert, key, state)? {
            Inserted::Duplicate(existing) => {
                Ok(Accepted { id: existing.id, duplicate: true, state: "duplicate" })
            }
            Inserted::New(alert) => {
                let id = alert.id.clone();
                match state {
                    AlertState::Queued => self.queue.ingest(alert),
                    AlertState::Held => self.announce_held(alert),
                    _ => {}
                }
                tracing::info!(alert_id = %id, state = label, "alert accepted");
                Ok(Accepted { id, duplicate: false, state: label })
            }
        }
    }

    /// The donor paths' intake (Ko-fi): nothing a donor sent is refused for its shape. The input
    /// is made acceptable ([`lenient`]: cut names and messages, "Anonymous", dropped bad
    /// amounts); with `hold = Some(reason)` (something truly unreadable) it is stored as a
    /// *held* alert, the reason in front of its message, for the streamer to look at.
    /// Only storage and a full queue still fail (the sender should retry those).
    pub fn accept_donor(
        &self,
        input: AlertInput,
        key: Option<&str>,
        hold: Option<String>,
    ) -> Result<Accepted, AlertQueueError> {
        let mut input = lenient(input);
        // A key too long for the store is shortened, not refused: it stays unique enough.
        let key = key.filter(|k| !k.is_empty()).map(|k| k.chars().take(200).collect::<String>());
        let Some(reason) = hold else {
            return self.accept(input, key.as_deref());
        };
        let note = match input.message.take() {
            Some(m) if !m.trim().is_empty() => format!("[{reason}] {m}"),
            _ => format!("[{reason}]"),
        };
        input.message = Some(truncate_marked(&note, MAX_MESSAGE_CHARS));
        let alert = validate(input)?;
        match self.store.insert(&alert, key.as_deref(), AlertState::Held)? {
            Inserted::Duplicate(existing) => {
                Ok(Accepted { id: existing.id, duplicate: true, state: "duplicate" })
            }
            Inserted::New(alert) => {
                tracing::warn!(alert_id = %alert.id, reason = %esc(&reason), "alert held: part of it was unreadable");
                let id = alert.id.clone();
                self.announce_held(alert);
                Ok(Accepted { id, duplicate: false, state: "held" })
            }
        }
    }

    /// Tell the windows (and API clients) that `alert` waits for review.
    fn announce_held(&self, alert: Alert) {
        self.events.emit(Event::AlertHeld { user_id: self.events.user_id().to_string(), alert });
    }

    pub async fn view(&self) -> Result<AlertsView, AlertQueueError> {
        let held = self.store.in_state(AlertState::Held)?.into_iter().map(|r| r.alert).collect();
        if self.running {
            let snap = self.queue.snapshot().await?;
            return Ok(AlertsView { paused: snap.paused, current: snap.current, queued: snap.queued, held });
        }
        // Not running: the stored queue, put in display order by the queue's own rules.
        let mut st = QueueState::default();
        for row in self.store.in_state(AlertState::Queued)? {
            if row.replay {
                st.enqueue_loaded_replay(row.alert);
            } else {
                st.enqueue(row.alert);
            }
        }
        Ok(AlertsView { paused: self.store.paused()?, current: None, queued: st.queued(), held })
    }

    pub async fn set_paused(&self, paused: bool) -> Result<(), AlertQueueError> {
        if self.running {
            return if paused { self.queue.pause().await } else { self.queue.resume().await };
        }
        Ok(self.store.set_paused(paused)?)
    }

    pub async fn skip(&self) -> Result<(), AlertQueueError> {
        if self.running {
            return self.queue.skip().await;
        }
        Ok(()) // nothing is on screen while the queue is not running
    }

    pub async fn clear(&self) -> Result<(), AlertQueueError> {
        if self.running {
            return self.queue.clear().await;
        }
        self.store.clear_queued()?;
        Ok(())
    }

    pub async fn replay(&self, id: &str) -> Result<(), AlertQueueError> {
        if self.running {
            return self.queue.replay(id).await;
        }
        let shown = self.store.recent_shown(super::state::HISTORY_LIMIT)?.iter().any(|a| a.id == id);
        if !shown {
            return Err(AlertQueueError::NotFound { id: id.into() });
        }
        self.store.set_state(id, AlertState::Queued, true)?;
        Ok(())
    }

    fn held(&self, id: &str) -> Result<(), AlertQueueError> {
        let held = self.store.in_state(AlertState::Held)?.iter().any(|r| r.alert.id == id);
        if held {
            Ok(())
        } else {
            Err(AlertQueueError::NotFound { id: id.into() })
        }
    }

    pub async fn approve(&self, id: &str) -> Result<(), AlertQueueError> {
        self.held(id)?;
        if self.running {
            return self.queue.approve(id).await;
        }
        self.store.set_state(id, AlertState::Queued, false)?;
        Ok(())
    }

    pub async fn reject(&self, id: &str) -> Result<(), AlertQueueError> {
        self.held(id)?;
        self.store.set_state(id, AlertState::Rejected, false)?;
        Ok(())
    }
}
