//! A small JSON key/value file in the data folder for engine bookkeeping that must survive a
//! restart (e.g. the user's Cloudflare live input uid). Never holds secrets. Writes are atomic
//! (write a temp file, then rename), so a crash never leaves a half-written file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: String },
}

/// Cheap to clone; clones share the file and an in-memory copy.
#[derive(Clone)]
pub struct StateFile {
    path: Option<Arc<PathBuf>>,
    data: Arc<Mutex<BTreeMap<String, String>>>,
}

impl StateFile {
    /// Open (or lazily create) `path`. An unreadable or corrupt file starts empty, with a warning.
    pub fn open(path: &Path) -> Self {
        let data = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), cause = %e, "state file is corrupt; starting empty");
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        };
        StateFile { path: Some(Arc::new(path.to_path_buf())), data: Arc::new(Mutex::new(data)) }
    }

    /// Memory only (tests).
    pub fn in_memory() -> Self {
        StateFile { path: None, data: Arc::default() }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.data.lock().ok()?.get(key).cloned()
    }

    pub fn set(&self, key: &str, value: Option<&str>) -> Result<(), StateFileError> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        match value {
            Some(v) => data.insert(key.to_string(), v.to_string()),
            None => data.remove(key),
        };
        let Some(path) = &self.path else { return Ok(()) };
        let err = |e: std::io::Error| StateFileError::Write {
            path: path.display().to_string(),
            cause: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&*data).unwrap_or_else(|_| "{}".into());
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, path.as_path()).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_reopen_and_corruption_is_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let f = StateFile::open(&path);
        f.set("a", Some("1")).unwrap();
        f.set("b", Some("2")).unwrap();
        f.set("b", None).unwrap();
        let g = StateFile::open(&path);
        assert_eq!((g.get("a").as_deref(), g.get("b")), (Some("1"), None));
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(StateFile::open(&path).get("a"), None);
    }
}
