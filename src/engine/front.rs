//! The rest of the front door: alerts, the OBS ingest settings, the overlay key, the stream
//! history and the Cloudflare credentials test. Same rules for every front end.

use serde::Serialize;
use uuid::Uuid;

use super::Engine;
use crate::alerts::AlertDesk;
use crate::config::IngestBackend;
use crate::error::EngineError;
use crate::secrets::{Secret, SecretName};
use crate::storage::{StreamDetail, StreamRecord};
use crate::user_stream_manager::IngestHandles;

/// What to paste into OBS (Settings › Stream), for the ingest backend in force. Never holds the
/// key: [`Engine::reveal_ingest_key`] gives it on demand.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestSettings {
    pub backend: IngestBackend,
    /// OBS's "Server" (`rtmp://127.0.0.1:1935/live`, `rtmps://live.cloudflare.com:443/live/`).
    pub server: String,
    /// Cloudflare's SRT address, where it offers one.
    pub srt_url: Option<String>,
    /// A stream key exists (reveal it to copy it into OBS).
    pub has_key: bool,
}

impl Engine {
    /// Alerts: intake with its rules (validation, idempotency, minimum amounts, moderation), the
    /// queue view including held alerts, and the controls. Works whether or not the tree runs.
    pub fn alerts(&self) -> AlertDesk {
        self.user().alert_desk()
    }

    /// Where OBS sends. Local relay: answered at once from the config (the relay need not run).
    /// Cloudflare: the user's live input, created if needed (the tree must be running; if not,
    /// `not_running` at once; without credentials, `not_configured`).
    pub async fn ingest(&self) -> Result<IngestSettings, EngineError> {
        let user = self.user();
        match user.ingest_handles() {
            IngestHandles::Local { .. } => Ok(IngestSettings {
                backend: IngestBackend::Local,
                server: user.local_ingest_url(),
                srt_url: None,
                has_key: true,
            }),
            IngestHandles::Cloudflare { client: None, .. } => Err(not_configured()),
            IngestHandles::Cloudflare { .. } => {
                let user = self.running_user("the Cloudflare manager").await?;
                let IngestHandles::Cloudflare { manager, .. } = user.ingest_handles() else {
                    return Err(EngineError::not_running("the Cloudflare manager"));
                };
                let info = manager.ensure_input().await?;
                let server = info.rtmps_url.clone().ok_or_else(|| EngineError::Ingest {
                    message: "Cloudflare's live input has no RTMPS address".into(),
                })?;
                Ok(IngestSettings {
                    backend: IngestBackend::Cloudflare,
                    server,
                    srt_url: info.srt_url,
                    has_key: info.rtmps_stream_key.is_some(),
                })
            }
        }
    }

    /// The OBS stream key for the backend in force, only when the user asks (reveal, copy).
    pub async fn reveal_ingest_key(&self) -> Result<Secret, EngineError> {
        let user = self.user();
        match user.ingest_handles() {
            IngestHandles::Local { .. } => Ok(user.ingest_key()),
            IngestHandles::Cloudflare { client: None, .. } => Err(not_configured()),
            IngestHandles::Cloudflare { .. } => {
                let user = self.running_user("the Cloudflare manager").await?;
                let IngestHandles::Cloudflare { manager, .. } = user.ingest_handles() else {
                    return Err(EngineError::not_running("the Cloudflare manager"));
                };
                manager.ensure_input().await?.rtmps_stream_key.ok_or_else(|| EngineError::Ingest {
                    message: "Cloudflare gave no RTMPS stream key for the live input".into(),
                })
            }
        }
    }

    /// "Test connection" for Cloudflare credentials: `Ok` or the exact problem. Uses the
    /// engine's client and request budget when the account and token are the ones in force,
    /// else a client built the same way from the config (`token: None` = the stored token).
    pub async fn test_cloudflare(&self, account_id: &str, token: Option<Secret>) -> Result<(), EngineError> {
        let account_id = account_id.trim();
        if account_id.is_empty() {
            return Err(EngineError::InvalidConfig {
                key: "cloudflare.account_id".into(),
                message: "enter your Cloudflare account ID".into(),
            });
        }
        let token = match token.filter(|t| !t.is_blank()) {
            Some(t) => t,
            None => {
                self.secrets().get(&SecretName::CloudflareApiToken)?.filter(|t| !t.is_blank()).ok_or_else(
                    || EngineError::InvalidConfig {
                        key: "cloudflare.api_token".into(),
                        message: "enter an API token".into(),
                    },
                )?
            }
        };
        let client = crate::user_stream_manager::cloudflare_client_for(&self.config(), account_id, token)
            .map_err(|problem| EngineError::Cloudflare { problem })?;
        client.test_connection().await.map_err(|problem| EngineError::Cloudflare { problem })
    }

    /// The key the OBS overlay URL must carry.
    pub fn overlay_key(&self) -> Secret {
        self.inner.overlay_key.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replace the overlay key (old overlay URLs stop working); stored for next time.
    pub fn rotate_overlay_key(&self) -> Secret {
        let fresh = Secret::generate();
        if let Err(e) = self.inner.secrets.set(&SecretName::OverlayKey, &fresh) {
            tracing::warn!(cause = %e, "cannot store the new overlay key; it lasts this run only");
        }
        if let Ok(mut k) = self.inner.overlay_key.write() {
            *k = fresh.clone();
        }
        fresh
    }

    /// The stream history, newest first.
    pub fn stream_history(&self) -> Result<Vec<StreamRecord>, EngineError> {
        Ok(self.user().stores.history.list()?)
    }

    /// One stream of the history with its bitrate samples and events; `None` if unknown.
    pub fn stream_detail(&self, uuid: Uuid) -> Result<Option<StreamDetail>, EngineError> {
        Ok(self.user().stores.history.detail(uuid)?)
    }
}

fn not_configured() -> EngineError {
    EngineError::NotConfigured {
        message: "Cloudflare is not configured: set cloudflare.account_id and the API token \
                  (STREAMPAI_CLOUDFLARE_API_TOKEN or the keyring)"
            .into(),
    }
}
