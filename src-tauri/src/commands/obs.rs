//! OBS, connected: the link's status, "Set up OBS for me" / "Restore", "Try again", the first
//! run's probe, Settings › OBS (`[obs]` and the password, which goes to the secret store only and
//! is never shown back). Every call goes through the engine's own OBS methods.

use serde::{Deserialize, Serialize};
use streampai::secrets::{Secret, SecretName};
use streampai::{Config, EngineError, ObsProbe, ObsRestoreReport, ObsSetupReport, ObsStatus};

use super::Sh;
use crate::error::{UiError, UiResult};
use crate::shell::Shell;

/// Settings › OBS as the UI shows it (never the password).
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct ObsSettingsView {
    /// `[obs] enabled`: the app keeps a link to OBS.
    pub enabled: bool,
    /// `[obs] url`, e.g. `ws://127.0.0.1:4455`.
    pub url: String,
    /// `[obs] start_with_stream`: Start in either starts both.
    pub start_with_stream: bool,
    /// `[obs] stop_with_stream`: Stop in either stops both.
    pub stop_with_stream: bool,
    /// A password is stored (secret store) or given by `STREAMPAI_OBS_PASSWORD`.
    pub has_password: bool,
    /// `STREAMPAI_OBS_PASSWORD` is set: it wins over the stored one.
    pub password_from_env: bool,
}

/// What Settings › OBS saves (the password has its own command).
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ObsInput {
    pub enabled: bool,
    pub url: String,
    pub start_with_stream: bool,
    pub stop_with_stream: bool,
}

pub fn obs_view(shell: &Shell) -> ObsSettingsView {
    let config = shell.engine.config();
    let obs = &config.obs;
    ObsSettingsView {
        enabled: obs.enabled,
        url: obs.url.clone(),
        start_with_stream: obs.start_with_stream,
        stop_with_stream: obs.stop_with_stream,
        has_password: matches!(shell.secrets().get(&SecretName::ObsPassword), Ok(Some(s)) if !s.is_blank()),
        password_from_env: std::env::var(SecretName::ObsPassword.env_var())
            .is_ok_and(|v| !v.trim().is_empty()),
    }
}

/// The engine's field keys as the form's field names (`obs.url` → `obs_url`).
fn form_error(e: EngineError) -> UiError {
    match e {
        EngineError::InvalidConfig { key, message } => {
            UiError::Invalid { field: key.replace('.', "_"), message }
        }
        other => other.into(),
    }
}

/// Checks Settings › OBS and puts it into `config` (field-named errors; nothing changes on a
/// refusal).
pub fn apply_obs(config: &mut Config, input: &ObsInput) -> UiResult<()> {
    let url = input.url.trim();
    if let Some(problem) = streampai::config::fields::obs_url_problem(url) {
        return Err(UiError::invalid("obs_url", problem));
    }
    config.obs.enabled = input.enabled;
    config.obs.url = url.to_string();
    config.obs.start_with_stream = input.start_with_stream;
    config.obs.stop_with_stream = input.stop_with_stream;
    Ok(())
}

/// The link to OBS, OBS's stream and health, and the settings kept for "Restore".
#[tauri::command]
#[specta::specta]
pub async fn get_obs_status(shell: Sh<'_>) -> UiResult<ObsStatus> {
    Ok(shell.engine.obs_status())
}

/// "Set up OBS for me": OBS's stream settings are kept, then pointed at the app's ingest.
/// Refused while OBS streams (`obs_streaming`) or when not connected (`obs_unavailable`).
#[tauri::command]
#[specta::specta]
pub async fn obs_setup(shell: Sh<'_>) -> UiResult<ObsSetupReport> {
    Ok(shell.engine.obs_setup().await?)
}

/// "Restore": OBS's stream settings from before "Set up OBS" go back (key included).
#[tauri::command]
#[specta::specta]
pub async fn obs_restore(shell: Sh<'_>) -> UiResult<ObsRestoreReport> {
    Ok(shell.engine.obs_restore().await?)
}

/// "Try again" (after a wrong password or an incompatible answer).
#[tauri::command]
#[specta::specta]
pub async fn obs_reconnect(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.obs_reconnect().await?)
}

/// The first run's "find OBS": one connection to `url` (default: `[obs] url`) with `password`
/// (default: the stored one); nothing is kept.
#[tauri::command]
#[specta::specta]
pub async fn probe_obs(shell: Sh<'_>, url: Option<String>, password: Option<String>) -> UiResult<ObsProbe> {
    let url = url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let password = password.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(Secret::new);
    shell.engine.probe_obs(url, password).await.map_err(form_error)
}

/// Stores OBS's WebSocket password (secret store only) and connects again with it; `null`
/// forgets it (for an OBS that asks for none); an empty one is refused (`obs_password`).
#[tauri::command]
#[specta::specta]
pub async fn set_obs_password(shell: Sh<'_>, password: Option<String>) -> UiResult<ObsSettingsView> {
    set_password(&shell, password.as_deref()).await?;
    Ok(obs_view(&shell))
}

/// `None` forgets the password; an empty one is refused naming `obs_password`.
pub async fn set_password(shell: &Shell, password: Option<&str>) -> UiResult<()> {
    // Trimmed: a password copied from OBS's "Show Connect Info" may come with spaces around it.
    let password = password.map(|p| Secret::new(p.trim()));
    shell.engine.set_obs_password(password).await.map_err(form_error)
}

#[tauri::command]
#[specta::specta]
pub async fn get_obs_settings(shell: Sh<'_>) -> UiResult<ObsSettingsView> {
    Ok(obs_view(&shell))
}

/// Saves Settings › OBS (applied live, also while streaming: the link reconnects).
#[tauri::command]
#[specta::specta]
pub async fn save_obs(shell: Sh<'_>, input: ObsInput) -> UiResult<ObsSettingsView> {
    save(&shell, &input).await?;
    Ok(obs_view(&shell))
}

pub async fn save(shell: &Shell, input: &ObsInput) -> UiResult<()> {
    let _guard = shell.settings_lock.lock().await;
    let mut config = (*shell.engine.config()).clone();
    apply_obs(&mut config, input)?;
    if config != *shell.engine.config() {
        shell.apply_config(config).await.map_err(|e| match e {
            UiError::Invalid { field, message } => {
                UiError::Invalid { field: field.replace('.', "_"), message }
            }
            other => other,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> ObsInput {
        ObsInput { enabled: false, url: url.into(), start_with_stream: false, stop_with_stream: true }
    }

    #[test]
    fn the_obs_section_is_checked_by_the_engines_rules() {
        let mut c = Config::for_user("u");
        apply_obs(&mut c, &input(" ws://10.0.0.5:4455 ")).unwrap();
        assert_eq!(c.obs.url, "ws://10.0.0.5:4455");
        assert!(!c.obs.enabled && !c.obs.start_with_stream && c.obs.stop_with_stream);
        assert!(c.validate().is_ok());
        let mut c = Config::for_user("u");
        for bad in ["http://127.0.0.1:4455", "", "ws://user:pw@127.0.0.1:4455"] {
            match apply_obs(&mut c, &input(bad)) {
                Err(UiError::Invalid { field, .. }) => assert_eq!(field, "obs_url", "{bad}"),
                other => panic!("{bad}: expected a field error, got {other:?}"),
            }
        }
        assert_eq!(c, Config::for_user("u"), "nothing changed by a refused input");
    }

    #[test]
    fn engine_field_keys_become_form_fields() {
        let e =
            form_error(EngineError::InvalidConfig { key: "obs.password".into(), message: "empty".into() });
        assert!(matches!(e, UiError::Invalid { ref field, .. } if field == "obs_password"), "{e:?}");
        let e = form_error(EngineError::ObsStreaming { message: "OBS is streaming".into() });
        assert!(matches!(e, UiError::Engine { error: EngineError::ObsStreaming { .. } }), "{e:?}");
    }
}
