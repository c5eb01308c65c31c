//! Secrets: the OS keyring, a secrets file when there is no keyring, env vars (headless servers
//! and tests), and an in-memory store. [`open`] picks the keyring or the file once at start.
//!
//! Every secret travels as [`Secret`], whose `Debug` and `Display` print `[redacted]`, so a
//! secret can never reach a log line or an error message by accident.

mod choose;
mod file;
mod keyring;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use choose::{open, open_with, probe, SECRETS_FILE};
pub use file::FileSecrets;
pub use keyring::KeyringSecrets;

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
    /// OBS's WebSocket server password (`[obs] url`).
    ObsPassword,
    /// The secret fields (stream key, ...) of OBS's stream settings from before "Set up OBS",
    /// kept for "Restore" (a JSON object).
    ObsPreviousSecrets,
    /// The Twitch sign-in: access and refresh token together, one entry (see
    /// `accounts::tokens`), so a rotation is one atomic write.
    TwitchTokens,
    /// The YouTube sign-in (access and refresh token together, one entry).
    YoutubeTokens,
    /// Written, read back and deleted once at start to see whether a store works.
    Probe,
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
            SecretName::ObsPassword => "obs-password".into(),
            SecretName::ObsPreviousSecrets => "obs-previous-secrets".into(),
            SecretName::TwitchTokens => "twitch-tokens".into(),
            SecretName::YoutubeTokens => "youtube-tokens".into(),
            SecretName::Probe => "probe".into(),
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
            SecretName::ObsPassword => "STREAMPAI_OBS_PASSWORD".into(),
            SecretName::ObsPreviousSecrets => "STREAMPAI_OBS_PREVIOUS_SECRETS".into(),
            SecretName::TwitchTokens => "STREAMPAI_TWITCH_TOKENS".into(),
            SecretName::YoutubeTokens => "STREAMPAI_YOUTUBE_TOKENS".into(),
            SecretName::Probe => "STREAMPAI_PROBE".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The OS keyring did not answer (locked, or no Secret Service on this desktop).
    #[error(
        "The system keyring is not available ({cause}). Unlock it, or install one (gnome-keyring, \
         KWallet); when Streampai starts without a keyring it keeps secrets in {} instead \
         (readable by your user account only)",
        fallback.display()
    )]
    Keyring { cause: String, fallback: PathBuf },
    /// The secrets file cannot be read or written.
    #[error("cannot use the secrets file {}: {cause}", path.display())]
    File { path: PathBuf, cause: String },
    /// The secrets file is not what Streampai wrote; it is left as it is.
    #[error(
        "the secrets file {} is damaged ({cause}); Streampai leaves it untouched: repair it or \
         move it away and enter your keys again",
        path.display()
    )]
    Corrupt { path: PathBuf, cause: String },
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    #[error("this secret store is read-only")]
    ReadOnly,
}

/// Which store keeps secrets in this run (shown in Settings and said once at start).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SecretBackend {
    pub kind: SecretBackendKind,
    /// The secrets file, for `file` (and for `keyring` when an older secrets file is still read).
    pub path: Option<String>,
    /// Why the keyring is not used, for `file`.
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SecretBackendKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// One file, mode 0600, in the data folder.
    File,
    /// Env vars or memory only: nothing survives a restart.
    Memory,
}

impl SecretBackend {
    pub fn memory() -> Self {
        SecretBackend { kind: SecretBackendKind::Memory, path: None, reason: None }
    }
}

/// Where secrets come from. Implementations must never log values.
pub trait SecretStore: Send + Sync + 'static {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError>;
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError>;
    fn delete(&self, name: &SecretName) -> Result<(), SecretError>;
    /// Where the values live (for Settings).
    fn backend(&self) -> SecretBackend {
        SecretBackend::memory()
    }
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

/// Env first, then the backing store (keyring or file). Writes go to the backing store. A backing
/// store that fails reads as "absent" with a warning (the value is never shown), so a run still
/// works on env vars alone.
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
                tracing::warn!(secret = %name.key(), cause = %e, "secret store failed; treating secret as absent");
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
    fn backend(&self) -> SecretBackend {
        self.store.backend()
    }
}

/// The secret `name`, or a fresh one stored for next time ("generated once and kept in the
/// keyring or the secrets file"). If it cannot be stored, the fresh one serves this run only (logged).
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
