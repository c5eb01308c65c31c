//! The secrets file: used when the OS keyring does not answer. One JSON file in the data folder,
//! mode 0600 on Unix (readable and writable by the user account only, like `~/.ssh` keys: not
//! encrypted, so anyone with that account or root can read it). Every write goes to a new 0600
//! temp file in the same folder, is synced, and renamed over the old one, so a crash never
//! leaves half a file. A file that does not parse is an error naming it and is never rewritten.
//! Writes are serialized within a process; two processes changing different secrets at the same
//! instant (the app and `streampai headless` on one data folder) could lose one change, never the
//! file: readers always see a whole old or a whole new file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Secret, SecretBackend, SecretBackendKind, SecretError, SecretName, SecretStore};

/// The file's format version.
const VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    version: u32,
    secrets: BTreeMap<String, String>,
}

pub struct FileSecrets {
    path: PathBuf,
    /// Why the keyring is not used (shown in Settings).
    reason: Option<String>,
    /// One writer at a time in this process (read, change, replace).
    write: Mutex<()>,
}

impl FileSecrets {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSecrets { path: path.into(), reason: None, write: Mutex::new(()) }
    }
    pub(super) fn because(mut self, reason: String) -> Self {
        self.reason = Some(reason);
        self
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn exists(&self) -> bool {
        self.path.exists()
    }
    /// Whether other accounts can read the file (Unix: group or other bits set), e.g. after a
    /// copy or a `chmod`. The next write makes it 0600 again.
    pub fn readable_by_others(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&self.path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    fn io(&self, what: &str, e: std::io::Error) -> SecretError {
        SecretError::File { path: self.path.clone(), cause: format!("{what}: {e}") }
    }

    fn read(&self) -> Result<BTreeMap<String, String>, SecretError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(self.io("cannot read it", e)),
        };
        let corrupt = |cause: String| SecretError::Corrupt { path: self.path.clone(), cause };
        let contents: Contents = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if contents.version != VERSION {
            return Err(corrupt(format!("version {} is not {VERSION}", contents.version)));
        }
        Ok(contents.secrets)
    }

    fn write(&self, secrets: BTreeMap<String, String>) -> Result<(), SecretError> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io("cannot create its folder", e))?;
        let text = serde_json::to_string_pretty(&Contents { version: VERSION, secrets })
            .map_err(|e| SecretError::File { path: self.path.clone(), cause: e.to_string() })?;
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("secrets.json");
        let tmp = dir.join(format!(".{name}.{}.{:08x}.tmp", std::process::id(), rand::random::<u32>()));
        let written = (|| {
            let mut f = create_private(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("cannot write it", e));
        }
        if let Err(e) = std::fs::rename(&tmp, &self.path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io("cannot replace it", e));
        }
        Ok(())
    }

    fn change(&self, f: impl FnOnce(&mut BTreeMap<String, String>) -> bool) -> Result<(), SecretError> {
        let _one = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut secrets = self.read()?;
        if f(&mut secrets) {
            self.write(secrets)?;
        }
        Ok(())
    }
}

/// A new file only the owner can read and write (mode set at creation, not after).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

impl SecretStore for FileSecrets {
    fn get(&self, name: &SecretName) -> Result<Option<Secret>, SecretError> {
        Ok(self.read()?.remove(&name.key()).map(Secret::new))
    }
    fn set(&self, name: &SecretName, value: &Secret) -> Result<(), SecretError> {
        self.change(|s| {
            s.insert(name.key(), value.expose().to_string());
            true
        })
    }
    fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        if !self.exists() {
            return Ok(());
        }
        self.change(|s| s.remove(&name.key()).is_some())
    }
    fn backend(&self) -> SecretBackend {
        SecretBackend {
            kind: SecretBackendKind::File,
            path: Some(self.path.display().to_string()),
            reason: self.reason.clone(),
        }
    }
}
