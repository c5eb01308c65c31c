//! "Set up OBS for me" and "Restore": write the app's ingest into OBS's stream settings
//! (`rtmp_custom`, server + key), keeping what OBS had before so it can be put back, also after
//! a restart of the app.
//!
//! The previous settings' plain fields (service type, service name, server, ...) go to the state
//! file (`obs.previous`); their secret fields (`key`, `password`, tokens) to the secret store
//! (`obs-previous-secrets`). Neither is ever logged or answered.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::{ObsClient, ObsError};
use super::protocol::StreamService;
use super::status::ObsPreviousSettings;
use crate::secrets::{Secret, SecretName, SharedSecrets};
use crate::state_file::StateFile;

const STATE_KEY: &str = "obs.previous";

/// Where OBS should send: the app's ingest.
#[derive(Clone)]
pub struct IngestTarget {
    pub server: String,
    pub key: Secret,
}

/// What "Set up OBS" did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObsSetupReport {
    /// The server now in OBS (the app's ingest).
    pub server: String,
    /// OBS's settings from before, kept for "Restore" (never the key); `null` if none are kept.
    pub previous: Option<ObsPreviousSettings>,
    /// OBS already pointed at the app's ingest; nothing was changed.
    pub unchanged: bool,
}

/// What "Restore" put back.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObsRestoreReport {
    pub restored: ObsPreviousSettings,
    /// `false` when the kept key was no longer in the secret store (OBS got the settings without
    /// it; enter the key in OBS again).
    pub key_restored: bool,
}

/// Why setup or restore did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SetupError {
    #[error("OBS is streaming: stop OBS's stream first, then try again")]
    Streaming,
    #[error("nothing to restore: the app has not replaced OBS's stream settings")]
    NothingToRestore,
    #[error("{0}")]
    Obs(#[from] ObsError),
    #[error("OBS did not keep the new stream settings (it reads back {0})")]
    NotKept(String),
    #[error("cannot keep OBS's previous settings: {0}")]
    Store(String),
}

#[derive(Serialize, Deserialize)]
struct Stored {
    service_type: String,
    settings: Map<String, Value>,
    secret_fields: Vec<String>,
    saved_at: String,
}

/// A field of OBS's service settings that must not be kept in a file or shown.
fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "key" || n.ends_with("_key") || n.contains("password") || n.contains("token") || n == "secret"
}

/// The previous settings kept for restore, in the state file and the secret store.
#[derive(Clone)]
pub struct PreviousStore {
    pub state: StateFile,
    pub secrets: SharedSecrets,
}

impl PreviousStore {
    fn stored(&self) -> Option<Stored> {
        serde_json::from_str(&self.state.get(STATE_KEY)?).ok()
    }

    /// The kept settings, without secrets.
    pub fn previous(&self) -> Option<ObsPreviousSettings> {
        self.stored().map(|s| view(&s))
    }

    fn save(&self, svc: &StreamService) -> Result<(), SetupError> {
        let (mut plain, mut secret) = (Map::new(), Map::new());
        for (k, v) in &svc.stream_service_settings {
            if is_secret_field(k) {
                secret.insert(k.clone(), v.clone());
            } else {
                plain.insert(k.clone(), v.clone());
            }
        }
        let stored = Stored {
            service_type: svc.stream_service_type.clone(),
            settings: plain,
            secret_fields: secret.keys().cloned().collect(),
            saved_at: Utc::now().to_rfc3339(),
        };
        if secret.is_empty() {
            let _ = self.secrets.delete(&SecretName::ObsPreviousSecrets);
        } else {
            let text = Value::Object(secret).to_string();
            self.secrets
                .set(&SecretName::ObsPreviousSecrets, &Secret::new(text))
                .map_err(|e| SetupError::Store(e.to_string()))?;
        }
        let text = serde_json::to_string(&stored).map_err(|e| SetupError::Store(e.to_string()))?;
        self.state.set(STATE_KEY, Some(&text)).map_err(|e| SetupError::Store(e.to_string()))
    }

    /// The kept settings with their secrets; `false` when a secret field was lost.
    fn load(&self) -> Option<(StreamService, ObsPreviousSettings, bool)> {
        let s = self.stored()?;
        let secrets: Map<String, Value> = self
            .secrets
            .get(&SecretName::ObsPreviousSecrets)
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_str(v.expose()).ok())
            .unwrap_or_default();
        let mut settings = s.settings.clone();
        let mut complete = true;
        for f in &s.secret_fields {
            match secrets.get(f) {
                Some(v) => {
                    settings.insert(f.clone(), v.clone());
                }
                None => complete = false,
            }
        }
        let svc =
            StreamService { stream_service_type: s.service_type.clone(), stream_service_settings: settings };
        Some((svc, view(&s), complete))
    }

    fn clear(&self) {
        let _ = self.state.set(STATE_KEY, None);
        let _ = self.secrets.delete(&SecretName::ObsPreviousSecrets);
    }
}

fn view(s: &Stored) -> ObsPreviousSettings {
    let text = |k: &str| s.settings.get(k).and_then(Value::as_str).map(|v| v.chars().take(200).collect());
    ObsPreviousSettings {
        service_type: s.service_type.chars().take(64).collect(),
        service: text("service"),
        server: text("server"),
        has_key: s.secret_fields.iter().any(|f| f == "key"),
        saved_at: s.saved_at.clone(),
    }
}

/// Does OBS send to `target`?
pub fn uses(svc: &StreamService, target: &IngestTarget) -> bool {
    let field = |k: &str| svc.stream_service_settings.get(k).and_then(Value::as_str);
    svc.stream_service_type == "rtmp_custom"
        && field("server").map(str::trim) == Some(target.server.as_str())
        && field("key") == Some(target.key.expose())
}

fn ours(target: &IngestTarget) -> StreamService {
    let mut settings = Map::new();
    settings.insert("server".into(), Value::String(target.server.clone()));
    settings.insert("key".into(), Value::String(target.key.expose().to_string()));
    settings.insert("use_auth".into(), Value::Bool(false));
    StreamService { stream_service_type: "rtmp_custom".into(), stream_service_settings: settings }
}

/// Refused while OBS streams (its settings apply at its next start; changing them under a live
/// stream would surprise the streamer).
async fn refuse_while_streaming(client: &ObsClient) -> Result<(), SetupError> {
    if client.stream_status().await?.output_active {
        return Err(SetupError::Streaming);
    }
    Ok(())
}

/// Read OBS's settings, keep them (unless OBS already points at the app), write the ingest, read
/// back.
pub async fn setup(
    client: &ObsClient,
    store: &PreviousStore,
    target: &IngestTarget,
) -> Result<ObsSetupReport, SetupError> {
    refuse_while_streaming(client).await?;
    let current = client.stream_service().await?;
    if uses(&current, target) {
        return Ok(ObsSetupReport {
            server: target.server.clone(),
            previous: store.previous(),
            unchanged: true,
        });
    }
    store.save(&current)?;
    client.set_stream_service(&ours(target)).await?;
    let back = client.stream_service().await?;
    if !uses(&back, target) {
        let server =
            back.stream_service_settings.get("server").and_then(Value::as_str).unwrap_or("no server");
        return Err(SetupError::NotKept(format!(
            "{} with {}",
            crate::telemetry::esc(&back.stream_service_type),
            crate::telemetry::esc(server)
        )));
    }
    Ok(ObsSetupReport { server: target.server.clone(), previous: store.previous(), unchanged: false })
}

/// Put the kept settings back into OBS, then forget them.
pub async fn restore(client: &ObsClient, store: &PreviousStore) -> Result<ObsRestoreReport, SetupError> {
    let (mut svc, view, complete) = store.load().ok_or(SetupError::NothingToRestore)?;
    refuse_while_streaming(client).await?;
    if svc.stream_service_settings.is_empty() {
        // A never-configured OBS has empty stream settings, which OBS refuses to be given
        // ("must not be empty"): an empty server and key say the same and clear the app's.
        svc.stream_service_settings =
            [("server", ""), ("key", "")].into_iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect();
    }
    client.set_stream_service(&svc).await?;
    let back = client.stream_service().await?;
    // No server and an empty one are the same.
    let server = |s: &StreamService| {
        s.stream_service_settings.get("server").cloned().filter(|v| v.as_str() != Some(""))
    };
    if back.stream_service_type != svc.stream_service_type || server(&back) != server(&svc) {
        return Err(SetupError::NotKept(format!(
            "{} with {}",
            crate::telemetry::esc(&back.stream_service_type),
            crate::telemetry::esc(server(&back).as_ref().and_then(Value::as_str).unwrap_or("no server"))
        )));
    }
    store.clear();
    Ok(ObsRestoreReport { restored: view, key_restored: complete })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{MemorySecrets, SecretStore};
    use std::sync::Arc;

    fn svc(ty: &str, fields: &[(&str, &str)]) -> StreamService {
        StreamService {
            stream_service_type: ty.into(),
            stream_service_settings: fields
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        }
    }

    #[test]
    fn secrets_of_the_previous_settings_stay_out_of_the_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let secrets = Arc::new(MemorySecrets::new());
        let store = PreviousStore { state: StateFile::open(&path), secrets: secrets.clone() };
        let prev = svc("rtmp_common", &[("service", "Twitch"), ("server", "auto"), ("key", "live_secret_1")]);
        store.save(&prev).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("live_secret_1"), "{text}");
        assert!(text.contains("Twitch"));
        let v = store.previous().unwrap();
        assert_eq!(
            (v.service.as_deref(), v.server.as_deref(), v.has_key),
            (Some("Twitch"), Some("auto"), true)
        );
        // A fresh process reads the same (file + secret store).
        let again = PreviousStore { state: StateFile::open(&path), secrets: secrets.clone() };
        let (back, _, complete) = again.load().unwrap();
        assert_eq!(back, prev);
        assert!(complete);
        // A lost secret is reported, not invented.
        secrets.delete(&SecretName::ObsPreviousSecrets).unwrap();
        let (partial, _, complete) = again.load().unwrap();
        assert!(!complete);
        assert!(!partial.stream_service_settings.contains_key("key"));
        again.clear();
        assert!(again.previous().is_none());
    }

    #[test]
    fn secret_fields() {
        for f in ["key", "stream_key", "password", "bearer_token", "Password"] {
            assert!(is_secret_field(f), "{f}");
        }
        for f in ["server", "service", "use_auth", "username", "bwtest"] {
            assert!(!is_secret_field(f), "{f}");
        }
    }

    #[test]
    fn ingest_match_needs_server_and_key() {
        let t = IngestTarget { server: "rtmp://127.0.0.1:1935/live".into(), key: Secret::new("k") };
        assert!(uses(&ours(&t), &t));
        assert!(!uses(&svc("rtmp_custom", &[("server", "rtmp://127.0.0.1:1935/live"), ("key", "x")]), &t));
        assert!(!uses(&svc("rtmp_common", &[("server", "rtmp://127.0.0.1:1935/live"), ("key", "k")]), &t));
    }
}
