//! Settings › Sync: the sync server address, this device's name, on/off, and the token (keyring
//! only: never the store, never a log line). Saved through `Engine::reconfigure`; a new token
//! through `Engine::reload_secrets`.

use serde::{Deserialize, Serialize};
use streampai::secrets::{Secret, SecretName};
use streampai::sync::SyncStatus;
use streampai::{Config, EngineError};

use super::Sh;
use crate::error::{UiError, UiResult};
use crate::shell::Shell;

/// The Sync section as the UI shows it.
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct SyncSettingsView {
    /// `[sync] url` is set: the engine connects.
    pub enabled: bool,
    /// The address in force, or the one kept while sync is off.
    pub url: String,
    /// `[sync] device_name` as set (empty: the computer's name).
    pub device_name: String,
    /// The name the other devices see.
    pub effective_device_name: String,
    pub device_id: String,
    /// A token is stored (keyring) or given by `STREAMPAI_SYNC_TOKEN`.
    pub has_token: bool,
    /// `STREAMPAI_SYNC_TOKEN` is set: it wins over the keyring.
    pub token_from_env: bool,
}

/// What the Sync section saves.
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct SyncInput {
    pub enabled: bool,
    /// `ws://host:4860` or `wss://host`.
    pub url: String,
    /// Empty: the computer's name.
    pub device_name: String,
}

pub fn sync_view(shell: &Shell) -> SyncSettingsView {
    let config = shell.engine.config();
    let sync = &config.sync;
    let enabled = sync.enabled();
    let url = if enabled {
        sync.url.clone().unwrap_or_default()
    } else {
        shell.stored().sync_off_url.unwrap_or_default()
    };
    SyncSettingsView {
        enabled,
        url,
        device_name: sync.device_name.clone().unwrap_or_default(),
        effective_device_name: sync.device_name(),
        device_id: sync.device_id(),
        has_token: matches!(shell.secrets().get(&SecretName::SyncToken), Ok(Some(s)) if !s.is_blank()),
        token_from_env: std::env::var(SecretName::SyncToken.env_var()).is_ok_and(|v| !v.trim().is_empty()),
    }
}

pub use streampai::sync::{device_name_problem, url_problem};

/// Checks the Sync section and puts it into `config` (field-named errors; nothing changes on a
/// refusal). Returns the address to keep while sync is off.
pub fn apply_sync(config: &mut Config, input: &SyncInput) -> UiResult<Option<String>> {
    let url = input.url.trim();
    if input.enabled || !url.is_empty() {
        if let Some(p) = url_problem(url) {
            return Err(UiError::invalid("sync_url", p));
        }
    }
    if let Some(p) = device_name_problem(&input.device_name) {
        return Err(UiError::invalid("sync_device_name", p));
    }
    let name = input.device_name.trim();
    let mut next = config.sync.clone();
    next.device_name = (!name.is_empty()).then(|| name.to_string());
    next.url = input.enabled.then(|| url.to_string());
    next.validate().map_err(|e| {
        let field = if e.key == "sync.url" { "sync_url" } else { "sync_device_name" };
        UiError::invalid(field, e.message)
    })?;
    config.sync = next;
    Ok((!input.enabled && !url.is_empty()).then(|| url.to_string()))
}

#[tauri::command]
#[specta::specta]
pub async fn get_sync_settings(shell: Sh<'_>) -> UiResult<SyncSettingsView> {
    Ok(sync_view(&shell))
}

/// Saves the Sync section (address, device name, on/off).
#[tauri::command]
#[specta::specta]
pub async fn save_sync(shell: Sh<'_>, input: SyncInput) -> UiResult<SyncSettingsView> {
    save(&shell, &input).await?;
    Ok(sync_view(&shell))
}

pub async fn save(shell: &Shell, input: &SyncInput) -> UiResult<()> {
    let _guard = shell.settings_lock.lock().await;
    let mut config = (*shell.engine.config()).clone();
    let off_url = apply_sync(&mut config, input)?;
    if config != *shell.engine.config() {
        shell.apply_config(config).await?;
    }
    shell.set_sync_off_url(off_url)
}

/// Stores the sync token in the keyring (never in the settings store) and reconnects with it.
#[tauri::command]
#[specta::specta]
pub async fn set_sync_token(shell: Sh<'_>, token: String) -> UiResult<SyncSettingsView> {
    set_token(&shell, Some(&token)).await?;
    Ok(sync_view(&shell))
}

/// "Forget token": deletes the stored token (sync stops connecting until a new one is given).
#[tauri::command]
#[specta::specta]
pub async fn forget_sync_token(shell: Sh<'_>) -> UiResult<SyncSettingsView> {
    set_token(&shell, None).await?;
    Ok(sync_view(&shell))
}

pub async fn set_token(shell: &Shell, token: Option<&str>) -> UiResult<()> {
    let _guard = shell.settings_lock.lock().await;
    match token.map(str::trim) {
        Some("") => {
            return Err(UiError::invalid(
                "sync_token",
                "paste the token printed by `streampai sync-server user add`",
            ))
        }
        Some(t) if t.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            return Err(UiError::invalid("sync_token", "a token has no spaces or line breaks"))
        }
        Some(t) => shell.secrets().set(&SecretName::SyncToken, &Secret::new(t))?,
        None => shell.secrets().delete(&SecretName::SyncToken)?,
    }
    reconnect(shell).await
}

/// Makes the engine pick up a changed token. The sync client restarts at any time; the tree
/// rebuild `reload_secrets` also does (for Cloudflare credentials) is refused while on air, which
/// does not concern the sync token.
async fn reconnect(shell: &Shell) -> UiResult<()> {
    match shell.engine.reload_secrets().await {
        Ok(()) | Err(EngineError::InvalidTransition { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The link to the sync server now (then live through `sync_status` events).
#[tauri::command]
#[specta::specta]
pub async fn get_sync_status(shell: Sh<'_>) -> UiResult<SyncStatus> {
    Ok(shell.engine.sync_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(enabled: bool, url: &str, name: &str) -> SyncInput {
        SyncInput { enabled, url: url.into(), device_name: name.into() }
    }

    fn field(r: UiResult<Option<String>>) -> String {
        match r {
            Err(UiError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn urls_are_checked_in_words() {
        assert_eq!(url_problem(" ws://10.0.0.2:4860 "), None);
        assert_eq!(url_problem("wss://sync.example.com/sync"), None);
        assert!(url_problem("").unwrap().contains("e.g. ws://"));
        assert!(url_problem("http://host:4860").unwrap().contains("use ws://"));
        assert!(url_problem("https://host").unwrap().contains("use wss://"));
        assert!(url_problem("ftp://host").unwrap().contains("ws:// or wss://"));
        assert!(url_problem("host:4860").is_some());
        assert!(url_problem("ws://user:pw@host").unwrap().contains("Token field"));
        assert!(url_problem("ws://host/?token=x").unwrap().contains("query"));
        assert!(url_problem("not a url").unwrap().contains("not an address"));
    }

    #[test]
    fn the_section_goes_into_the_config_or_nothing_changes() {
        let mut c = Config::for_user("u");
        assert_eq!(apply_sync(&mut c, &input(true, " ws://10.0.0.2:4860 ", " Studio PC ")).unwrap(), None);
        assert_eq!(c.sync.url.as_deref(), Some("ws://10.0.0.2:4860"));
        assert_eq!(c.sync.device_name.as_deref(), Some("Studio PC"));
        assert!(c.sync.enabled() && c.validate().is_ok());

        // Off: the engine forgets the address; the shell keeps it for the form.
        let kept = apply_sync(&mut c, &input(false, "ws://10.0.0.2:4860", "")).unwrap();
        assert_eq!(kept.as_deref(), Some("ws://10.0.0.2:4860"));
        assert!(!c.sync.enabled() && c.sync.device_name.is_none());
        apply_sync(&mut c, &input(false, "", "")).unwrap();

        let before = c.clone();
        assert_eq!(field(apply_sync(&mut c, &input(true, "", ""))), "sync_url");
        assert_eq!(field(apply_sync(&mut c, &input(true, "http://x:4860", ""))), "sync_url");
        assert_eq!(
            field(apply_sync(&mut c, &input(false, "http://x:4860", ""))),
            "sync_url",
            "checked even when off"
        );
        assert_eq!(field(apply_sync(&mut c, &input(true, "ws://x", &"n".repeat(65)))), "sync_device_name");
        assert_eq!(field(apply_sync(&mut c, &input(true, "ws://x", "a\u{7}b"))), "sync_device_name");
        assert_eq!(c, before, "a refused input changes nothing");
    }
}
