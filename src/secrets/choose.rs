//! Which store keeps secrets in this run, chosen once at start: the OS keyring if it answers,
//! else the secrets file in the data folder (said once in the log and shown in Settings). Env
//! vars override both.

use std::path::Path;
use std::sync::Arc;

use super::{
    FileSecrets, KeyringSecrets, LayeredSecrets, Secret, SecretBackend, SecretError, SecretName, SecretStore,
    SharedSecrets,
};

/// The secrets file's name in the data folder.
pub const SECRETS_FILE: &str = "secrets.json";

/// Env vars first, then the OS keyring if it answers, else `<data_dir>/secrets.json`.
pub fn open(data_dir: &Path) -> SharedSecrets {
    open_with(data_dir, KeyringSecrets::new().in_data_dir(data_dir))
}

/// [`open`] with the keyring given (tests pass one that fails, as a desktop without a Secret
/// Service does). See [`probe`].
pub fn open_with<K: SecretStore>(data_dir: &Path, keyring: K) -> SharedSecrets {
    let file = FileSecrets::new(data_dir.join(SECRETS_FILE));
    let chosen: Box<dyn SecretStore> = match probe(&keyring) {
        Ok(_) if file.exists() => {
            tracing::info!(
                file = %file.path().display(),
                "secrets are kept in the OS keyring; values saved earlier in the secrets file are still read \
                 (and moved to the keyring when changed)"
            );
            Box::new(KeyringThenFile { keyring, file })
        }
        Ok(_) => Box::new(keyring),
        Err(e) => {
            let reason = match &e {
                SecretError::Keyring { cause, .. } => cause.clone(),
                other => other.to_string(),
            };
            tracing::warn!(
                file = %file.path().display(),
                cause = %reason,
                "the system keyring is not available: secrets are stored in {}, readable by your user \
                 account only; install or unlock a keyring (gnome-keyring, KWallet) to use it instead",
                file.path().display()
            );
            if file.readable_by_others() {
                tracing::warn!(
                    file = %file.path().display(),
                    "the secrets file is readable by other accounts: run `chmod 600` on it (the next change \
                     rewrites it with mode 0600)"
                );
            }
            Box::new(file.because(reason))
        }
    };
    Arc::new(LayeredSecrets::new(chosen))
}

/// Does the store keep a value? A write, a read back and a delete of [`SecretName::Probe`]. A read
/// alone is not enough: in a fresh desktop session D-Bus starts gnome-keyring on demand, which
/// answers reads ("absent") but has no collection to write to ("no result found").
pub fn probe(store: &dyn SecretStore) -> Result<(), SecretError> {
    let value = Secret::generate();
    store.set(&SecretName::Probe, &value)?;
    let back = store.get(&SecretName::Probe);
    let _ = store.delete(&SecretName::Probe);
    match back? {
        Some(v) if v == value => Ok(()),
        _ => Err(SecretError::Unavailable("a value written to it could not be read back".into())),
    }
}

impl SecretStore for Box<dyn SecretStore> {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        (**self).get(name)
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        (**self).set(name, value)
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        (**self).delete(name)
    }
    fn backend(&self) -> SecretBackend {
        (**self).backend()
    }
}

/// The keyring, plus a secrets file left from runs without one: reads fall back to the file,
/// writes go to the keyring and drop the file's copy, deletes clear both. Nothing is lost when a
/// keyring appears later, and the CLI in a keyring session still reads what the app stored.
struct KeyringThenFile<K> {
    keyring: K,
    file: FileSecrets,
}

impl<K: SecretStore> SecretStore for KeyringThenFile<K> {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        match self.keyring.get(name)? {
            Some(v) => Ok(Some(v)),
            None => self.file.get(name),
        }
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        self.keyring.set(name, value)?;
        if let Err(e) = self.file.delete(name) {
            tracing::warn!(secret = %name.key(), cause = %e, "cannot drop the old copy from the secrets file");
        }
        Ok(())
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        self.keyring.delete(name)?;
        self.file.delete(name)
    }
    fn backend(&self) -> SecretBackend {
        SecretBackend { path: Some(self.file.path().display().to_string()), ..self.keyring.backend() }
    }
}
