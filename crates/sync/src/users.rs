//! The users file: `DIR/users.json`, names and SHA-256 hashes of their tokens (never a token).
//!
//! A token is 32 random bytes (256 bits), URL-safe hex, shown once by `user add`. Because tokens
//! are high-entropy, a plain SHA-256 is enough to store them (a slow password hash buys nothing
//! for 256-bit secrets) and lookups go by hash. The file is written atomically (temp file +
//! rename, mode 0600) and re-read when its modification time changes.
//!
//! A user may also have a Ko-fi verification token (`user kofi-token NAME`, read from stdin),
//! stored the same way (its SHA-256 only): the webhook relay (`POST /hooks/NAME/kofi`) checks
//! Ko-fi's requests against it. And a Kick broadcaster id (`user kick NAME --broadcaster-id ID`):
//! the relay (`POST /hooks/NAME/kick`) takes only Kick events of that channel.

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
    #[error("no user {0}: add them first with `user add {0}`")]
    NoSuchUser(String),
    #[error("the Ko-fi verification token is empty")]
    EmptyToken,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// Hex SHA-256 of the token.
    pub token_sha256: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Hex SHA-256 of the user's Ko-fi verification token (the webhook relay), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kofi_token_sha256: Option<String>,
    /// The user's Kick channel (`broadcaster.user_id` of Kick's webhooks), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kick_broadcaster_id: Option<u64>,
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
    file.users.push(UserRecord {
        name: name.into(),
        token_sha256: hash_token(&token),
        created_at,
        kofi_token_sha256: None,
        kick_broadcaster_id: None,
    });
    write_atomic(&path, &file)?;
    Ok(token)
}

/// Set (replace) the Ko-fi verification token of user `name`: only its SHA-256 is written.
pub fn set_kofi_token(dir: &Path, name: &str, token: &str) -> Result<(), UsersError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(UsersError::EmptyToken);
    }
    let path = dir.join(USERS_FILE);
    let mut file = read_file(&path)?;
    let Some(u) = file.users.iter_mut().find(|u| u.name == name) else {
        return Err(UsersError::NoSuchUser(name.into()));
    };
    u.kofi_token_sha256 = Some(hash_token(token));
    write_atomic(&path, &file)
}

/// Set (replace) the Kick channel of user `name`: the relay takes Kick webhooks for this
/// `broadcaster.user_id` only.
pub fn set_kick_broadcaster(dir: &Path, name: &str, broadcaster_id: u64) -> Result<(), UsersError> {
    let path = dir.join(USERS_FILE);
    let mut file = read_file(&path)?;
    let Some(u) = file.users.iter_mut().find(|u| u.name == name) else {
        return Err(UsersError::NoSuchUser(name.into()));
    };
    u.kick_broadcaster_id = Some(broadcaster_id);
    write_atomic(&path, &file)
}

/// The answer of [`Users::check_kofi_token`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookAuth {
    /// The token is the user's.
    Valid,
    /// No such user, or the user has no Ko-fi token set (the caller answers like `Wrong`, so
    /// user names are not revealed).
    NotSetUp,
    Wrong,
}

/// Equal byte strings, in time that depends on the length only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The users the server accepts: token hash → user name.
pub struct Users {
    path: Option<PathBuf>,
    inner: Mutex<Loaded>,
}

#[derive(Default)]
struct Loaded {
    by_hash: HashMap<String, String>,
    /// User name → hex SHA-256 of their Ko-fi verification token.
    kofi: HashMap<String, String>,
    /// User name → their Kick broadcaster id.
    kick: HashMap<String, u64>,
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
        Users { path: None, inner: Mutex::new(Loaded { by_hash, ..Loaded::default() }) }
    }

    /// The same, giving `user` a Ko-fi verification token (tests).
    pub fn with_kofi_token(self, user: &str, token: &str) -> Users {
        self.lock().kofi.insert(user.to_string(), hash_token(token));
        self
    }

    /// The same, giving `user` a Kick channel (tests).
    pub fn with_kick_broadcaster(self, user: &str, broadcaster_id: u64) -> Users {
        self.lock().kick.insert(user.to_string(), broadcaster_id);
        self
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
        l.kofi =
            file.users.iter().filter_map(|u| Some((u.name.clone(), u.kofi_token_sha256.clone()?))).collect();
        l.kick = file.users.iter().filter_map(|u| Some((u.name.clone(), u.kick_broadcaster_id?))).collect();
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

    /// The Kick channel of `user` (`None`: no such user, or Kick not set up), re-reading the
    /// file if it changed.
    pub fn kick_broadcaster(&self, user: &str) -> Option<u64> {
        if let Err(e) = self.reload() {
            tracing::warn!(cause = %e, "cannot reload the users file");
        }
        self.lock().kick.get(user).copied()
    }

    /// Is `given` the Ko-fi verification token of `user`? Digests are compared in constant
    /// time. On anything but `Valid` the file is re-read if it changed (a token set while the
    /// server runs).
    pub fn check_kofi_token(&self, user: &str, given: &str) -> HookAuth {
        let h = hash_token(given.trim());
        let check = |l: &Loaded| match l.kofi.get(user) {
            None => HookAuth::NotSetUp,
            Some(want) if constant_time_eq(want.as_bytes(), h.as_bytes()) => HookAuth::Valid,
            Some(_) => HookAuth::Wrong,
        };
        let first = check(&self.lock());
        if first == HookAuth::Valid {
            return first;
        }
        if let Err(e) = self.reload() {
            tracing::warn!(cause = %e, "cannot reload the users file");
        }
        check(&self.lock())
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
    fn a_kofi_token_is_stored_as_a_hash_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        add_user(dir.path(), "alice").unwrap();
        let users = Users::load(dir.path()).unwrap();
        assert_eq!(users.check_kofi_token("alice", "kofi-secret"), HookAuth::NotSetUp);
        assert!(matches!(set_kofi_token(dir.path(), "bob", "x"), Err(UsersError::NoSuchUser(_))));
        assert!(matches!(set_kofi_token(dir.path(), "alice", " \n"), Err(UsersError::EmptyToken)));
        set_kofi_token(dir.path(), "alice", "kofi-secret\n").unwrap();
        let text = std::fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(!text.contains("kofi-secret"), "the Ko-fi token itself is never stored");
        // The running server picks it up without a restart.
        assert_eq!(users.check_kofi_token("alice", "kofi-secret"), HookAuth::Valid);
        assert_eq!(users.check_kofi_token("alice", "kofi-secreT"), HookAuth::Wrong);
        assert_eq!(users.check_kofi_token("nobody", "kofi-secret"), HookAuth::NotSetUp);
        assert!(
            constant_time_eq(b"ab", b"ab")
                && !constant_time_eq(b"ab", b"ac")
                && !constant_time_eq(b"a", b"ab")
        );
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(USERS_FILE), b"{nope").unwrap();
        let e = Users::load(dir.path()).err().unwrap();
        assert!(e.to_string().contains("not a valid users file"), "{e}");
    }
}
