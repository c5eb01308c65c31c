//! Checking a pushed [`AlertInput`], and the AlertQueue's error type.

use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use super::{Alert, AlertInput};
use crate::actor::ActorError;

/// Longest `from` and `platform`, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest `message`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest `currency`, in characters.
pub const MAX_CURRENCY_CHARS: usize = 16;

/// Serialized as `{"kind": "not_found", "id": ...}`, `{"kind": "invalid", "message": ...}`,
/// `{"kind": "full", "limit": ...}` or `{"kind": "actor", "error": {"kind": "timeout"}}`.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize)]
#[serde(into = "ErrorWire")]
pub enum AlertQueueError {
    #[error("no shown alert with id {id}")]
    NotFound { id: String },
    #[error("invalid alert: {message}")]
    Invalid { message: String },
    #[error("the alert queue is full ({limit} alerts)")]
    Full { limit: usize },
    #[error("alert storage failed: {message}")]
    Storage { message: String },
    #[error(transparent)]
    Actor(#[from] ActorError),
}

impl From<crate::storage::DbError> for AlertQueueError {
    fn from(e: crate::storage::DbError) -> Self {
        AlertQueueError::Storage { message: e.to_string() }
    }
}

/// The JSON shape of [`AlertQueueError`] (a plain tagged newtype would repeat the `kind` key).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ErrorWire {
    NotFound { id: String },
    Invalid { message: String },
    Full { limit: usize },
    Storage { message: String },
    Actor { error: ActorError },
}

impl From<AlertQueueError> for ErrorWire {
    fn from(err: AlertQueueError) -> Self {
        match err {
            AlertQueueError::NotFound { id } => ErrorWire::NotFound { id },
            AlertQueueError::Invalid { message } => ErrorWire::Invalid { message },
            AlertQueueError::Full { limit } => ErrorWire::Full { limit },
            AlertQueueError::Storage { message } => ErrorWire::Storage { message },
            AlertQueueError::Actor(error) => ErrorWire::Actor { error },
        }
    }
}

fn invalid(message: impl Into<String>) -> AlertQueueError {
    AlertQueueError::Invalid { message: message.into() }
}

/// `Invalid` if `value` has more than `max` characters.
fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), AlertQueueError> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(invalid(format!("`{field}` is longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

/// Check an input and turn it into an alert with a fresh id.
pub(crate) fn validate(input: AlertInput) -> Result<Alert, AlertQueueError> {
    let from = input.from.trim();
    if from.is_empty() {
        return Err(invalid("`from` must not be empty"));
    }
    if input.amount.is_some_and(|a| !a.is_finite() || a < 0.0) {
        return Err(invalid("`amount` must be a finite number, zero or more"));
    }
    check_len("from", Some(from), MAX_NAME_CHARS)?;
    check_len("message", input.message.as_deref(), MAX_MESSAGE_CHARS)?;
    check_len("currency", input.currency.as_deref(), MAX_CURRENCY_CHARS)?;
    check_len("platform", input.platform.as_deref(), MAX_NAME_CHARS)?;
    Ok(Alert {
        id: Uuid::new_v4().to_string(),
        kind: input.kind,
        from: from.to_string(),
        amount: input.amount,
        currency: input.currency,
        message: input.message,
        platform: input.platform,
        received_at: Utc::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertKind;

    #[test]
    fn inputs_and_errors_have_their_json_shape() {
        let json = r#"{"kind":"raid","from":"crew","amount":12}"#;
        let input: AlertInput = serde_json::from_str(json).unwrap();
        assert_eq!(input, AlertInput::new(AlertKind::Raid, "crew").with_amount(12.0));
        let err = AlertQueueError::NotFound { id: "x".into() };
        let expected = serde_json::json!({"kind": "not_found", "id": "x"});
        assert_eq!(serde_json::to_value(err).unwrap(), expected);
        let err = AlertQueueError::from(ActorError::Timeout);
        let expected = r#"{"kind":"actor","error":{"kind":"timeout"}}"#;
        assert_eq!(serde_json::to_string(&err).unwrap(), expected);
    }
}
