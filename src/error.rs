//! The engine's error, shared by every front end: serialized with a `kind` tag for the control
//! API and the desktop UI.

use serde::Serialize;

use crate::actor::ActorError;
use crate::stream_state::StreamError;

/// Errors that reach the control API and the UI (serialized with a `kind` tag).
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineError {
    /// Bad platform settings (empty key, bad URL, ...): nothing was started.
    #[error("{message}")]
    InvalidPlatform { message: String },
    /// Something required is missing (e.g. Cloudflare credentials).
    #[error("{message}")]
    NotConfigured { message: String },
    /// Start while live, stop while offline, ...
    #[error("{message}")]
    InvalidTransition { message: String },
    /// The user's tree is not running or did not answer.
    #[error("{message}")]
    Unavailable { message: String },
    #[error("{message}")]
    UnknownUser { message: String },
    /// A settings change that does not validate; names the key.
    #[error("{key}: {message}")]
    InvalidConfig { key: String, message: String },
    /// The local database failed (alerts, stream history).
    #[error("{message}")]
    Storage { message: String },
    /// The user's tree is not running, so the component asked for is not either (answered at
    /// once, never after a timeout). Open a window or start the stream first.
    #[error("{message}")]
    NotRunning { message: String },
    /// The OBS ingest settings could not be had (Cloudflare answered with an error).
    #[error("{message}")]
    Ingest { message: String },
    /// Cloudflare's answer to a credentials test: the exact problem.
    #[error("{problem}")]
    Cloudflare { problem: crate::cloudflare::api::ConnectionProblem },
    /// The secret store (OS keyring or the secrets file) refused; the message names the way out.
    #[error("{message}")]
    Secrets { message: String },
    /// The app is not connected to OBS (the message says why: OBS closed, a wrong password,
    /// `[obs] enabled = false`, ...).
    #[error("{message}")]
    ObsUnavailable { message: String },
    /// OBS is streaming: its stream settings are not changed under a live stream.
    #[error("{message}")]
    ObsStreaming { message: String },
    /// OBS refused or did not answer a request (the message says which and why).
    #[error("{message}")]
    Obs { message: String },
    /// Input a front end sent that is refused; names the field (e.g. `title`).
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    /// The action needs a signed-in platform account (e.g. the Twitch category search).
    #[error("{message}")]
    NotSignedIn { message: String },
    /// A platform refused or did not answer (its words are in the message).
    #[error("{message}")]
    Platform { message: String },
}

impl EngineError {
    pub(crate) fn not_running(what: &str) -> Self {
        EngineError::NotRunning {
            message: format!(
                "{what} is not running: the app's task tree is stopped (open a window or start the stream)"
            ),
        }
    }
}

impl From<crate::cloudflare::manager::IngestError> for EngineError {
    fn from(e: crate::cloudflare::manager::IngestError) -> Self {
        match e {
            crate::cloudflare::manager::IngestError::NotConfigured => {
                EngineError::NotConfigured { message: e.to_string() }
            }
            crate::cloudflare::manager::IngestError::Actor(a) => a.into(),
            other => EngineError::Ingest { message: other.to_string() },
        }
    }
}

impl From<crate::obs::setup::SetupError> for EngineError {
    fn from(e: crate::obs::setup::SetupError) -> Self {
        use crate::obs::client::ObsError;
        use crate::obs::setup::SetupError as S;
        let message = e.to_string();
        match e {
            S::Streaming => EngineError::ObsStreaming { message },
            S::NothingToRestore => EngineError::InvalidTransition { message },
            S::Store(_) => EngineError::Secrets { message },
            S::Obs(ObsError::Lost(_) | ObsError::Unreachable(_)) => EngineError::ObsUnavailable { message },
            S::Obs(_) | S::NotKept(_) => EngineError::Obs { message },
        }
    }
}

impl From<crate::secrets::SecretError> for EngineError {
    fn from(e: crate::secrets::SecretError) -> Self {
        EngineError::Secrets { message: e.to_string() }
    }
}

impl From<crate::storage::DbError> for EngineError {
    fn from(e: crate::storage::DbError) -> Self {
        EngineError::Storage { message: e.to_string() }
    }
}

impl From<StreamError> for EngineError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::InvalidTransition { .. } => {
                EngineError::InvalidTransition { message: e.to_string() }
            }
            StreamError::Actor(a) => a.into(),
        }
    }
}

impl From<ActorError> for EngineError {
    fn from(e: ActorError) -> Self {
        EngineError::Unavailable { message: format!("the stream manager is unavailable: {e}") }
    }
}
