//! Settings: the engine `Config` (as JSON, never secrets) and the shell's own preferences, kept
//! in `tauri-plugin-store`; the config in force is the stored one with the `STREAMPAI_*` env
//! overrides applied, or the `STREAMPAI_CONFIG` seed, which wins on every launch.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use streampai::Config;

/// The user id of a desktop install that was not given one.
pub const DEFAULT_USER_ID: &str = "local";

const KEY_CONFIG: &str = "config";
const KEY_PREFS: &str = "preferences";
const KEY_SETUP_DONE: &str = "setup_done";
const KEY_SYNC_OFF_URL: &str = "sync_off_url";

/// Shell-only settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, specta::Type)]
#[serde(default)]
pub struct Preferences {
    /// Global shortcut that starts the stream, e.g. `CommandOrControl+Shift+F9`.
    pub hotkey_start: Option<String>,
    pub hotkey_stop: Option<String>,
    pub start_on_login: bool,
}

/// What the store holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stored {
    pub config: Option<Config>,
    pub preferences: Preferences,
    pub setup_done: bool,
    /// The sync server address kept while sync is off (the engine's `[sync] url` is unset then).
    pub sync_off_url: Option<String>,
}

/// Where [`Stored`] lives (the plugin store in the app; memory in tests).
pub trait Persist: Send + Sync + 'static {
    fn load(&self) -> Stored;
    fn save(&self, stored: &Stored) -> Result<(), String>;
}

impl<R: tauri::Runtime> Persist for Arc<tauri_plugin_store::Store<R>> {
    fn load(&self) -> Stored {
        let config = self.get(KEY_CONFIG).and_then(|v| match serde_json::from_value::<Config>(v) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(cause = %e, "stored settings unreadable; starting from defaults");
                None
            }
        });
        let preferences =
            self.get(KEY_PREFS).and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
        let setup_done = self.get(KEY_SETUP_DONE).and_then(|v| v.as_bool()).unwrap_or(false);
        let sync_off_url = self.get(KEY_SYNC_OFF_URL).and_then(|v| v.as_str().map(str::to_string));
        Stored { config, preferences, setup_done, sync_off_url }
    }

    fn save(&self, stored: &Stored) -> Result<(), String> {
        let config = serde_json::to_value(&stored.config).map_err(|e| e.to_string())?;
        let prefs = serde_json::to_value(&stored.preferences).map_err(|e| e.to_string())?;
        self.set(KEY_CONFIG, config);
        self.set(KEY_PREFS, prefs);
        self.set(KEY_SETUP_DONE, Value::Bool(stored.setup_done));
        match &stored.sync_off_url {
            Some(url) => self.set(KEY_SYNC_OFF_URL, Value::String(url.clone())),
            None => {
                self.delete(KEY_SYNC_OFF_URL);
            }
        }
        tauri_plugin_store::Store::save(self).map_err(|e| e.to_string())
    }
}

/// In-memory [`Persist`] for tests.
#[derive(Default)]
pub struct MemoryPersist(pub std::sync::Mutex<Stored>);

impl Persist for MemoryPersist {
    fn load(&self) -> Stored {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn save(&self, stored: &Stored) -> Result<(), String> {
        *self.0.lock().map_err(|e| e.to_string())? = stored.clone();
        Ok(())
    }
}

/// The config in force at launch: the seed if given; else the stored config with env overrides
/// applied (and validated); else a fresh one for [`DEFAULT_USER_ID`].
pub fn effective_config(
    stored: Option<&Config>,
    seed: Option<&Config>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Config {
    if let Some(seed) = seed {
        return seed.clone();
    }
    let fresh = || {
        Config::parse(&format!("user_id = {DEFAULT_USER_ID:?}"), env)
            .map(|(c, _)| c)
            .unwrap_or_else(|_| Config::for_user(DEFAULT_USER_ID))
    };
    let Some(stored) = stored else { return fresh() };
    let with_env = toml::to_string(stored)
        .map_err(|e| e.to_string())
        .and_then(|text| Config::parse(&text, env).map_err(|e| e.to_string()));
    match with_env {
        Ok((config, _)) => config,
        Err(e) => {
            tracing::warn!(cause = %e, "stored settings invalid; starting from defaults");
            if stored.validate().is_ok() {
                stored.clone()
            } else {
                fresh()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streampai::config::PlatformConfig;
    use streampai::PlatformKind;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_seed_wins_over_the_store() {
        let stored = Config::for_user("stored");
        let seed = Config::for_user("seeded");
        assert_eq!(effective_config(Some(&stored), Some(&seed), &no_env).user_id, "seeded");
    }

    #[test]
    fn env_overrides_apply_to_the_stored_config() {
        let mut stored = Config::for_user("me");
        stored.platforms.push(PlatformConfig {
            name: "tw".into(),
            kind: PlatformKind::Twitch,
            url: None,
            enabled: false,
        });
        let env =
            |k: &str| (k == "STREAMPAI_CLOUDFLARE_API_BASE").then(|| "http://127.0.0.1:9/v4".to_string());
        let config = effective_config(Some(&stored), None, &env);
        assert_eq!(config.cloudflare.api_base, "http://127.0.0.1:9/v4");
        assert_eq!(config.platforms, stored.platforms);
        assert_eq!(effective_config(Some(&stored), None, &no_env), stored);
    }

    #[test]
    fn no_store_gives_a_fresh_local_config() {
        let config = effective_config(None, None, &no_env);
        assert_eq!(config.user_id, DEFAULT_USER_ID);
        assert!(config.platforms.is_empty());
        let env = |k: &str| (k == "STREAMPAI_USER_ID").then(|| "alice".to_string());
        assert_eq!(effective_config(None, None, &env).user_id, "alice");
    }

    #[test]
    fn an_invalid_store_falls_back_to_defaults() {
        let mut stored = Config::for_user("me");
        stored.control.listen = "not an address".into();
        let config = effective_config(Some(&stored), None, &no_env);
        assert_eq!(config.user_id, DEFAULT_USER_ID);
    }
}
