//! Alerts (donations, follows, subscriptions, raids, cheers) and the AlertQueue.

pub mod front;
mod input;
pub mod queue;
mod state;
#[cfg(test)]
mod test_rig;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use front::{Accepted, AlertDesk, AlertsView};
pub use input::{parse_amount, ANONYMOUS};
pub use queue::{
    AlertMsg, AlertQueueArgs, AlertQueueError, AlertQueueHandle, AlertQueueSnapshot, DEFAULT_ALERT_DURATION,
};
pub use state::{AlertStash, QueueState};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Donation,
    Follow,
    Subscription,
    Raid,
    Cheer,
}

/// One alert. `amount` is money for donations, viewers for raids, bits for cheers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Alert {
    pub id: String,
    pub kind: AlertKind,
    pub from: String,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub message: Option<String>,
    pub platform: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// What a caller pushes; the queue validates it and assigns `id` and `received_at`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertInput {
    pub kind: AlertKind,
    pub from: String,
    #[serde(default)]
    pub amount: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
}

impl AlertInput {
    /// An input with only a kind and a sender name.
    pub fn new(kind: AlertKind, from: impl Into<String>) -> Self {
        AlertInput { kind, from: from.into(), amount: None, currency: None, message: None, platform: None }
    }

    /// The same input with an amount (money, viewers or bits).
    pub fn with_amount(mut self, amount: f64) -> Self {
        self.amount = Some(amount);
        self
    }
}
