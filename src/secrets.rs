//! Secrets: the OS keyring, env vars (headless servers and tests), and an in-memory store.
//!
//! Every secret travels as [`Secret`], whose `Debug` and `Display` print `[redacted]`, so a
//! secret can never reach a log line or an error message by accident.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// A secret value. Read it with [`Secret::expose`]; formatting it never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
    /// A fresh random secret (URL-safe, 32 bytes of entropy).
    pub fn generate() -> Self {
        use base64::Engine as _;
        let bytes: [u8; 32] = rand::random();
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The name of a secret, independent of where it is stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SecretName {
    ControlToken,
    CloudflareApiToken,
    /// The stream key of the platform with this configured name.
    StreamKey(String),
    /// The key OBS uses to publish to the local ingest.
    IngestKey,
    /// The key in the OBS overlay URL (separate from the control token).
    OverlayKey,
    /// Ko-fi's webhook verification token.
    KofiToken,
    /// The user's token on the sync server (`[sync] url`).
    SyncToken,
}

impl SecretName {
    /// The keyring account name (service is always `streampai`).
    pub fn key(&self) -> String {
        match self {
            SecretName::ControlToken => "control-token".into(),
            SecretName::CloudflareApiToken => "cloudflare-api-token".into(),
            SecretName::StreamKey(p) => format!("stream-key:{p}"),
            SecretName::IngestKey => "ingest-key".into(),
            SecretName::OverlayKey => "overlay-key".into(),
            SecretName::KofiToken => "kofi-token".into(),
            SecretName::SyncToken => "sync-token".into(),
        }
    }
    /// The env var that overrides it: `STREAMPAI_CONTROL_TOKEN`, `STREAMPAI_CLOUDFLARE_API_TOKEN`,
    /// `STREAMPAI_STREAM_KEY_<NAME>` (name upper-cased, `-` → `_`).
    pub fn env_var(&self) -> String {
        match self {
            SecretName::ControlToken => "STREAMPAI_CONTROL_TOKEN".into(),
            SecretName::CloudflareApiToken => "STREAMPAI_CLOUDFLARE_API_TOKEN".into(),
            SecretName::StreamKey(p) => {
                format!("STREAMPAI_STREAM_KEY_{}", p.to_uppercase().replace('-', "_"))
            }
            SecretName::IngestKey => "STREAMPAI_INGEST_KEY".into(),
            SecretName::OverlayKey => "STREAMPAI_OVERLAY_KEY".into(),
            SecretName::KofiToken => "STREAMPAI_KOFI_TOKEN".into(),
            SecretName::SyncToken => "STREAMPAI_SYNC_TOKEN".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    #[error("this secret store is read-only")]
    ReadOnly,
}

/// Where secrets come from. Implementations must never log values.
pub trait SecretStore: Send + Sync + 'static {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError>;
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError>;
    fn delete(&self, name: &SecretName) -> Result<(), SecretError>;
}

pub type SharedSecrets = Arc<dyn SecretStore>;

/// In-memory store for tests and ephemeral runs.
#[derive(Default)]
pub struct MemorySecrets(Mutex<HashMap<String, Secret>>);

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with(self, name: SecretName, value: &str) -> Self {
        self.0.lock().unwrap().insert(name.key(), Secret::new(value));
        self
    }
}

impl SecretStore for MemorySecrets {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        Ok(self.0.lock().unwrap().get(&name.key()).cloned())
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        self.0.lock().unwrap().insert(name.key(), value.clone());
        Ok(())
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        self.0.lock().unwrap().remove(&name.key());
        Ok(())
    }
}

/// Env vars (read-only). Empty values count as absent.
#[derive(Default)]
pub struct EnvSecrets;

impl SecretStore for EnvSecrets {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        Ok(std::env::var(name.env_var()).ok().filter(|v| !v.is_empty()).map(Secret::new))
    }
    fn set(&self, _: &SecretName, _: &Secret) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }
    fn delete(&self, _: &SecretName) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }
}

/// The OS keyring (Secret Service / keyutils on Linux, Keychain on macOS, Credential Manager on
/// Windows), service `streampai`.
pub struct KeyringSecrets {
    service: String,
}

impl KeyringSecrets {
    pub fn new() -> Self {
        Self::with_service("streampai")
    }
    pub fn with_service(service: &str) -> Self {
        KeyringSecrets { service: service.to_string() }
    }
    fn entry(&self, name: &SecretName) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &name.key()).map_err(|e| SecretError::Unavailable(e.to_string()))
    }
}

impl Default for KeyringSecrets {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretStore for KeyringSecrets {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        match self.entry(name)?.get_password() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Unavailable(e.to_string())),
        }
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        self.entry(name)?.set_password(value.expose()).map_err(|e| SecretError::Unavailable(e.to_string()))
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError::Unavailable(e.to_string())),
        }
    }
}

/// Env first, then the backing store (keyring). Writes go to the backing store. A backing store
/// that is unavailable reads as "absent" with a warning, so a headless box with no keyring daemon
/// still runs on env vars alone.
pub struct LayeredSecrets<S: SecretStore> {
    env: EnvSecrets,
    store: S,
}

impl<S: SecretStore> LayeredSecrets<S> {
    pub fn new(store: S) -> Self {
        LayeredSecrets { env: EnvSecrets, store }
    }
}

impl<S: SecretStore> SecretStore for LayeredSecrets<S> {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        if let Some(v) = self.env.get(name)? {
            return Ok(Some(v));
        }
        match self.store.get(name) {
            Ok(v) => Ok(v),
            Err(e) => {
                tracing::warn!(secret = %name.key(), cause = %e, "keyring unavailable; treating secret as absent");
                Ok(None)
            }
        }
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        self.store.set(name, value)
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        self.store.delete(name)
    }
}

/// The secret `name`, or a fresh one stored for next time ("generated once and kept in the
/// keyring"). If it cannot be stored, the fresh one serves this run only (logged).
pub fn get_or_generate(store: &dyn SecretStore, name: &SecretName) -> Secret {
    if let Ok(Some(s)) = store.get(name) {
        if !s.is_blank() {
            return s;
        }
    }
    let fresh = Secret::generate();
    if let Err(e) = store.set(name, &fresh) {
        tracing::warn!(secret = %name.key(), cause = %e, "cannot store a generated secret; it lasts this run only");
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_kept() {
        let store = MemorySecrets::new();
        let a = get_or_generate(&store, &SecretName::OverlayKey);
        assert_eq!(get_or_generate(&store, &SecretName::OverlayKey), a);
        let env_only = EnvSecrets;
        assert_ne!(
            get_or_generate(&env_only, &SecretName::KofiToken),
            get_or_generate(&env_only, &SecretName::KofiToken)
        );
    }

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn env_names_follow_the_contract() {
        assert_eq!(SecretName::StreamKey("twitch-main".into()).env_var(), "STREAMPAI_STREAM_KEY_TWITCH_MAIN");
        assert_eq!(SecretName::ControlToken.env_var(), "STREAMPAI_CONTROL_TOKEN");
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(Secret::generate(), Secret::generate());
        assert!(Secret::generate().expose().len() >= 40);
    }
}
