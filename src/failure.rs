//! Why a platform is retrying or failed, as a kind the UI words (never text to parse), with the
//! side that failed and the underlying error in words.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What went wrong, independent of the backend.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Credentials refused: Cloudflare's API token, or the platform's stream key.
    AuthRejected,
    /// Cannot connect (refused, DNS, network down).
    Unreachable,
    /// Connected, but no answer in time.
    Timeout,
    /// Asked to slow down (HTTP 429).
    RateLimited,
    /// OBS stopped sending for longer than the grace.
    SourceLost,
    /// Something required is missing (Cloudflare credentials).
    NotConfigured,
    /// The local ingest (the relay) is not running.
    IngestDown,
    /// The peer answered something we do not understand.
    Protocol,
    /// Anything else; `detail` says what.
    Other,
}

/// Which side failed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FailureSource {
    /// Cloudflare's API (live input, outputs).
    Cloudflare,
    /// The platform's own RTMP(S) server, reached by the local relay.
    Platform,
    /// OBS → the app (the source).
    Obs,
    /// The app itself (local ingest not running, ...).
    App,
}

/// A platform's last problem.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Failure {
    pub kind: FailureKind,
    pub source: FailureSource,
    /// The underlying error in words (never a secret), for logs and "details".
    pub detail: String,
}

impl Failure {
    pub fn new(kind: FailureKind, source: FailureSource, detail: impl Into<String>) -> Self {
        Failure { kind, source, detail: detail.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<&crate::cloudflare::api::CloudflareError> for Failure {
    fn from(e: &crate::cloudflare::api::CloudflareError) -> Self {
        use crate::cloudflare::api::CloudflareError as E;
        let kind = match e {
            E::Unauthorized { .. } => FailureKind::AuthRejected,
            E::RateLimited { .. } => FailureKind::RateLimited,
            E::Timeout => FailureKind::Timeout,
            E::Unreachable(_) => FailureKind::Unreachable,
            E::Decode(_) => FailureKind::Protocol,
            E::InvalidConfig(_) => FailureKind::NotConfigured,
            E::NotFound | E::Server { .. } | E::Api { .. } | E::InvalidRequest(_) => FailureKind::Other,
        };
        Failure::new(kind, FailureSource::Cloudflare, e.to_string())
    }
}

impl From<&crate::cloudflare::manager::IngestError> for Failure {
    fn from(e: &crate::cloudflare::manager::IngestError) -> Self {
        use crate::cloudflare::manager::IngestError as E;
        match e {
            E::NotConfigured => {
                Failure::new(FailureKind::NotConfigured, FailureSource::Cloudflare, e.to_string())
            }
            E::Cloudflare { kind, .. } => Failure::new(*kind, FailureSource::Cloudflare, e.to_string()),
            E::Actor(_) => Failure::new(FailureKind::Other, FailureSource::App, e.to_string()),
        }
    }
}
