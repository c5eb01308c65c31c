//! The one error type every command returns: serializable, tagged by `kind`, shown in words by
//! the UI. Never carries a secret (engine errors and keyring messages do not contain values).

use serde::Serialize;
use streampai::alerts::AlertQueueError;
use streampai::secrets::SecretError;
use streampai::ConnectionProblem;
use streampai::{ConfigError, EngineError};

#[derive(Debug, Clone, Serialize, specta::Type, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UiError {
    /// The engine refused (invalid platform, not configured, invalid transition, ...).
    #[error("{error}")]
    Engine { error: EngineError },
    /// A value the user typed is not acceptable; `field` names the input.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The OS keyring could not be read or written.
    #[error("keyring: {message}")]
    Keyring { message: String },
    /// Cloudflare answered with a problem (ingest settings, connection test).
    #[error("{problem}")]
    Cloudflare { problem: ConnectionProblem },
    /// The OBS ingest settings are not available (Cloudflare not configured, API error).
    #[error("{message}")]
    Ingest { message: String },
    #[error("{message}")]
    Alerts { message: String },
    /// Settings could not be saved.
    #[error("{message}")]
    Storage { message: String },
    #[error("{message}")]
    Window { message: String },
}

impl UiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        UiError::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<EngineError> for UiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::InvalidConfig { key, message } => UiError::Invalid { field: key, message },
            EngineError::InvalidInput { field, message } => UiError::Invalid { field, message },
            error => UiError::Engine { error },
        }
    }
}

impl From<ConfigError> for UiError {
    fn from(e: ConfigError) -> Self {
        UiError::Invalid { field: e.key, message: e.message }
    }
}

impl From<SecretError> for UiError {
    fn from(e: SecretError) -> Self {
        UiError::Keyring { message: e.to_string() }
    }
}

impl From<AlertQueueError> for UiError {
    fn from(e: AlertQueueError) -> Self {
        UiError::Alerts { message: e.to_string() }
    }
}

impl From<tauri::Error> for UiError {
    fn from(e: tauri::Error) -> Self {
        UiError::Window { message: e.to_string() }
    }
}

pub type UiResult<T> = Result<T, UiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_field_errors_name_the_field() {
        let e: UiError =
            EngineError::InvalidInput { field: "title".into(), message: "enter a title".into() }.into();
        match e {
            UiError::Invalid { field, message } => {
                assert_eq!((field.as_str(), message.as_str()), ("title", "enter a title"))
            }
            other => panic!("expected a field error, got {other:?}"),
        }
        let e: UiError = EngineError::NotSignedIn { message: "sign in to Twitch".into() }.into();
        assert!(matches!(e, UiError::Engine { error: EngineError::NotSignedIn { .. } }), "{e:?}");
    }
}
