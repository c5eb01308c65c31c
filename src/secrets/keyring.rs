//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows),
//! service `streampai`.

use std::path::{Path, PathBuf};

use super::{Secret, SecretBackend, SecretBackendKind, SecretError, SecretName, SecretStore, SECRETS_FILE};

pub struct KeyringSecrets {
    service: String,
    /// The secrets file used when Streampai starts without a keyring (named in errors).
    fallback: PathBuf,
}

impl KeyringSecrets {
    pub fn new() -> Self {
        Self::with_service("streampai")
    }
    pub fn with_service(service: &str) -> Self {
        KeyringSecrets {
            service: service.to_string(),
            fallback: crate::config::default_data_dir().join(SECRETS_FILE),
        }
    }
    /// Errors name `data_dir`'s secrets file as the way out.
    pub fn in_data_dir(mut self, data_dir: &Path) -> Self {
        self.fallback = data_dir.join(SECRETS_FILE);
        self
    }
    fn error(&self, e: keyring::Error) -> SecretError {
        SecretError::Keyring { cause: e.to_string(), fallback: self.fallback.clone() }
    }
    fn entry(&self, name: &SecretName) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &name.key()).map_err(|e| self.error(e))
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
            Err(e) => Err(self.error(e)),
        }
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        self.entry(name)?.set_password(value.expose()).map_err(|e| self.error(e))
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }
    fn backend(&self) -> SecretBackend {
        SecretBackend { kind: SecretBackendKind::Keyring, path: None, reason: None }
    }
}
