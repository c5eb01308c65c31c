//! Before Tauri starts: the data folder, the rotating log file, and the `STREAMPAI_CONFIG` seed
//! (a bad seed exits with code 2 and a message naming the key, like the headless binary).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use streampai::{Config, ConfigError};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// What the shell knows before the event loop starts.
#[derive(Debug, Clone)]
pub struct Boot {
    /// Shared with the headless engine: `$XDG_DATA_HOME/streampai` (or `STREAMPAI_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The config from `STREAMPAI_CONFIG` (file + env overrides), which overrides stored settings.
    pub seed: Option<Config>,
}

impl Boot {
    /// The settings store file (no secrets in it).
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("desktop-settings.json")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}

/// Reads the environment: data folder and the optional `STREAMPAI_CONFIG` seed.
pub fn prepare(env: &dyn Fn(&str) -> Option<String>) -> Result<Boot, ConfigError> {
    let seed = match env("STREAMPAI_CONFIG").filter(|v| !v.is_empty()) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::new("STREAMPAI_CONFIG", format!("cannot read {path}: {e}")))?;
            let (config, warnings) = Config::parse(&text, env)?;
            for w in warnings {
                eprintln!("streampai-desktop: {w}");
            }
            Some(config)
        }
        None => None,
    };
    // `[storage] dir` of the seed (env STREAMPAI_DATA_DIR already applied), else the env, else
    // the platform's data folder.
    let data_dir = seed
        .as_ref()
        .and_then(|c| c.storage.dir.clone())
        .or_else(|| env("STREAMPAI_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(streampai::config::default_data_dir);
    Ok(Boot { data_dir, seed })
}

static LOG_GUARD: OnceLock<WorkerGuard> = OnceLock::new();

/// stderr plus log files `<dir>/streampai-desktop.<date>[.<n>].log`, a new one each day and
/// every 8 MiB, 10 files and 7 days kept at most (`streampai::telemetry::LogFiles`). `RUST_LOG`
/// overrides the default filter. Secrets never reach a log line: the engine's `Secret` redacts.
pub fn init_logging(dir: &Path) {
    // Before anything listens: each connection is a file descriptor.
    streampai::telemetry::raise_open_file_limit();
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,wry=warn,tauri=warn,reqwest=warn,hyper=warn"))
    };
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false);
    let limits = streampai::telemetry::LogLimits::default();
    let file = streampai::telemetry::LogFiles::new(dir, "streampai-desktop", limits).ok();
    let registry = tracing_subscriber::registry().with(filter()).with(stderr);
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let _ = LOG_GUARD.set(guard);
            let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(writer);
            let _ = registry.with(layer).try_init();
        }
        None => {
            let _ = registry.try_init();
            tracing::warn!(dir = %dir.display(), "cannot open the log folder; logging to stderr only");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn seed_file_and_env_overrides_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "user_id = \"u1\"\n[[platforms]]\nname = \"tw\"\nkind = \"twitch\"\n").unwrap();
        let env = env_of(&[
            ("STREAMPAI_CONFIG", path.display().to_string()),
            ("STREAMPAI_POLL_INTERVAL_MS", "1500".into()),
            ("STREAMPAI_DATA_DIR", dir.path().display().to_string()),
        ]);
        let boot = prepare(&env).unwrap();
        let seed = boot.seed.clone().unwrap();
        assert_eq!(seed.user_id, "u1");
        assert_eq!(seed.cloudflare.poll_interval_ms, 1500);
        assert_eq!(seed.platforms[0].name, "tw");
        assert_eq!(boot.data_dir, dir.path());
        assert_eq!(boot.store_path(), dir.path().join("desktop-settings.json"));
    }

    #[test]
    fn the_seed_storage_dir_is_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let data = dir.path().join("elsewhere");
        std::fs::write(
            &path,
            format!("user_id = \"u\"\n[storage]\ndir = {:?}\n", data.display().to_string()),
        )
        .unwrap();
        let boot = prepare(&env_of(&[("STREAMPAI_CONFIG", path.display().to_string())])).unwrap();
        assert_eq!(boot.data_dir, data);
        assert_eq!(boot.log_dir(), data.join("logs"));
    }

    #[test]
    fn a_bad_seed_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "user_id = \"u1\"\n[[platforms]]\nname = \"x\"\nkind = \"myspace\"\n").unwrap();
        let err = prepare(&env_of(&[("STREAMPAI_CONFIG", path.display().to_string())])).unwrap_err();
        assert!(err.key.contains("platforms"), "{err}");
        let missing = prepare(&env_of(&[("STREAMPAI_CONFIG", "/nonexistent/x.toml".into())])).unwrap_err();
        assert_eq!(missing.key, "STREAMPAI_CONFIG");
    }
}
