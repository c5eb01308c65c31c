//! The users file: `DIR/users.json`, names and SHA-256 hashes of their tokens (never a token).
//!
//! A token is 32 random bytes (256 bits), URL-safe hex, shown once by `user add`. Because tokens
//! are high-entropy, a plain SHA-256 is enough to store them (a slow password hash buys nothing
//! for 256-bit secrets) and lookups go by hash. The file is written atomically (temp file +
//! rename, mode 0600) and re-read when its modification time changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const USERS_FILE: &str = "users.json";

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path} is not a valid users file: {cause}")]
    Parse { path: PathBuf, cause: serde_json::Error },
    #[error("cannot write {path}: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("user {0} already exists")]
    Exists(String),
    #[error("invalid user name {0:?}: use 1-64 of A-Z a-z 0-9 _ . -")]
    BadName(String),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    /// Unix seconds.
    pub created_at: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    users: Vec<UserRecord>,
}

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token: 32 random bytes as 64 hex characters.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn read_file(path: &Path) -> Result<UsersFile, UsersError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|cause| UsersError::Parse { path: path.into(), cause })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UsersFile::default()),
        Err(cause) => Err(UsersError::Read { path: path.into(), cause }),
    }
}

fn write_atomic(path: &Path, file: &UsersFile) -> Result<(), UsersError> {
    let err = |cause| UsersError::Write { path: path.into(), cause };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    let body = serde_json::to_vec_pretty(file).unwrap_or_default();
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(&body).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

/// Add a user to `DIR/users.json` and return their token (the only time it exists in clear).
pub fn add_user(dir: &Path, name: &str) -> Result<String, UsersError> {
    if !valid_name(name) {
        return Err(UsersError::BadName(name.into()));
    }
    let path = dir.join(USERS_FILE);
    let mut file = read_file(&path)?;
    if file.users.iter().any(|u| u.name == name) {
        return Err(UsersError::Exists(name.into()));
    }
    let token = generate_token();
    let created_at =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    file.users.push(UserRecord { name: name.into(), token_sha256: hash_token(&token), created_at });
    write_atomic(&path, &file)?;
    Ok(token)
}

/// The users the server accepts: token hash → user name.
pub struct Users {
    path: Option<PathBuf>,
    inner: Mutex<Loaded>,
}

#[derive(Default)]
struct Loaded {
    by_hash: HashMap<String, String>,
    mtime: Option<SystemTime>,
}

impl Users {
    /// Load `DIR/users.json` (a missing file is no users).
    pub fn load(dir: &Path) -> Result<Users, UsersError> {
        let path = dir.join(USERS_FILE);
        let users = Users { path: Some(path), inner: Mutex::new(Loaded::default()) };
        users.reload()?;
        Ok(users)
    }

    /// Users in memory only (tests, benchmarks): (name, token) pairs.
    pub fn from_tokens<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Users {
        let by_hash = pairs.into_iter().map(|(n, t)| (hash_token(t), n.to_string())).collect();
        Users { path: None, inner: Mutex::new(Loaded { by_hash, mtime: None }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reload(&self) -> Result<(), UsersError> {
        let Some(path) = &self.path else { return Ok(()) };
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if mtime.is_some() && mtime == self.lock().mtime {
            return Ok(());
        }
        let file = read_file(path)?;
        let mut l = self.lock();
        l.by_hash = file.users.into_iter().map(|u| (u.token_sha256, u.name)).collect();
        l.mtime = mtime;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The user a token belongs to. On a miss the file is re-read if it changed (a user added
    /// while the server runs).
    pub fn authenticate(&self, token: &str) -> Option<String> {
        let h = hash_token(token);
        if let Some(u) = self.lock().by_hash.get(&h) {
            return Some(u.clone());
        }
        if let Err(e) = self.reload() {
            tracing::warn!(cause = %e, "cannot reload the users file");
        }
        self.lock().by_hash.get(&h).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_user_stores_only_a_hash_and_authenticates() {
        let dir = tempfile::tempdir().unwrap();
        let users = Users::load(dir.path()).unwrap();
        assert!(users.is_empty());
        let token = add_user(dir.path(), "alice").unwrap();
        assert_eq!(token.len(), 64);
        let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(!text.contains(&token), "the token itself is never stored");
        assert!(text.contains(&hash_token(&token)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(USERS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The running server picks the new user up without a restart.
        assert_eq!(users.authenticate(&token).as_deref(), Some("alice"));
        assert_eq!(users.authenticate("wrong"), None);
        assert!(matches!(add_user(dir.path(), "alice"), Err(UsersError::Exists(_))));
        assert!(matches!(add_user(dir.path(), "a b"), Err(UsersError::BadName(_))));
        let bob = add_user(dir.path(), "bob").unwrap();
        assert_ne!(bob, token);
        let users = Users::load(dir.path()).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users.authenticate(&bob).as_deref(), Some("bob"));
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(USERS_FILE), b"{nope").unwrap();
        let e = Users::load(dir.path()).err().unwrap();
        assert!(e.to_string().contains("not a valid users file"), "{e}");
    }
}
