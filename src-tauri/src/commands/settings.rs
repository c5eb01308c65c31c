//! Settings, Platforms and First run: the config (no secrets), keys into the keyring, the
//! Cloudflare connection test.

use serde::{Deserialize, Serialize};
use streampai::config::IngestBackend;
use streampai::secrets::{Secret, SecretName};
use streampai::StreamPhase;
use tauri::{AppHandle, Runtime};

use super::Sh;
use crate::error::{UiError, UiResult};
use crate::platform_edit::{self, PlatformInput, PlatformView};
use crate::settings::Preferences;
use crate::shell::{ControlInfo, Shell};

#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct SettingsView {
    pub user_id: String,
    pub cloudflare_account_id: String,
    pub cloudflare_api_base: String,
    pub has_cloudflare_token: bool,
    pub cleanup_timeout_ms: u32,
    pub poll_interval_ms: u32,
    /// The ingest backend in force (as chosen, else `cloudflare` when an account is set).
    pub ingest_backend: IngestBackend,
    /// `[local] listen`: where the local ingest accepts OBS.
    pub local_listen: String,
    /// `[local] upload_budget_kbps`: warn when the total outgoing bitrate passes it.
    pub upload_budget_kbps: Option<u32>,
    /// `[stream] auto_start`: start when OBS starts sending.
    pub auto_start: bool,
    pub platforms: Vec<PlatformView>,
    pub preferences: Preferences,
    /// Show the guided setup instead of the dashboard.
    pub first_run: bool,
    /// `STREAMPAI_CONFIG` is in force: it overrides these settings at every launch.
    pub seeded: bool,
}

/// The Settings page's general section.
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct GeneralInput {
    pub cloudflare_account_id: String,
    pub cleanup_timeout_ms: u32,
    pub poll_interval_ms: u32,
}

/// The app itself: version, folders, control API.
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub log_dir: String,
    pub control: ControlInfo,
}

fn clamp(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}

fn has_secret(shell: &Shell, name: SecretName) -> bool {
    matches!(shell.secrets().get(&name), Ok(Some(s)) if !s.is_blank())
}

pub fn settings_view(shell: &Shell) -> SettingsView {
    let config = shell.engine.config();
    SettingsView {
        user_id: config.user_id.clone(),
        cloudflare_account_id: config.cloudflare.account_id.clone().unwrap_or_default(),
        cloudflare_api_base: config.cloudflare.api_base.clone(),
        has_cloudflare_token: has_secret(shell, SecretName::CloudflareApiToken),
        cleanup_timeout_ms: clamp(config.presence.cleanup_timeout_ms),
        poll_interval_ms: clamp(config.cloudflare.poll_interval_ms),
        ingest_backend: config.ingest_backend(),
        local_listen: config.local.listen.clone(),
        upload_budget_kbps: config.local.upload_budget_kbps,
        auto_start: config.stream.auto_start,
        platforms: config
            .platforms
            .iter()
            .map(|p| platform_edit::view(p, has_secret(shell, SecretName::StreamKey(p.name.clone()))))
            .collect(),
        preferences: shell.preferences(),
        first_run: shell.first_run(),
        seeded: shell.boot.seed.is_some(),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn get_settings(shell: Sh<'_>) -> UiResult<SettingsView> {
    Ok(settings_view(&shell))
}

#[tauri::command]
#[specta::specta]
pub async fn get_app_info(shell: Sh<'_>) -> UiResult<AppInfo> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        data_dir: shell.boot.data_dir.display().to_string(),
        log_dir: shell.boot.log_dir().display().to_string(),
        control: shell.control_info(),
    })
}

#[tauri::command]
#[specta::specta]
pub async fn save_general(shell: Sh<'_>, input: GeneralInput) -> UiResult<SettingsView> {
    let _guard = shell.settings_lock.lock().await;
    let mut config = (*shell.engine.config()).clone();
    let account = input.cloudflare_account_id.trim();
    if !account.is_empty() && !account.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(UiError::invalid("cloudflare_account_id", "use only letters, digits, - and _"));
    }
    let poll_changed = u64::from(input.poll_interval_ms) != config.cloudflare.poll_interval_ms;
    if poll_changed && input.poll_interval_ms < 1000 {
        return Err(UiError::invalid("poll_interval_ms", "poll at most once a second (1000 ms)"));
    }
    set_account_keeping_backend(&mut config, account);
    config.presence.cleanup_timeout_ms = input.cleanup_timeout_ms.into();
    config.cloudflare.poll_interval_ms = input.poll_interval_ms.into();
    shell.apply_config(config).await?;
    Ok(settings_view(&shell))
}

/// Sets the Cloudflare account ID without switching the ingest backend by itself: on automatic,
/// an account would turn local ingest into Cloudflare, so the local choice is written down
/// (Settings › Streaming switches the backend).
pub fn set_account_keeping_backend(config: &mut streampai::Config, account: &str) {
    let before = config.ingest_backend();
    config.cloudflare.account_id = (!account.is_empty()).then(|| account.to_string());
    if config.ingest.is_none() && before == IngestBackend::Local && config.ingest_backend() != before {
        config.ingest = Some(IngestBackend::Local);
    }
}

/// The Settings page's streaming section.
#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct StreamingInput {
    pub ingest: IngestBackend,
    pub local_listen: String,
    /// `None`: no budget (no warning).
    pub upload_budget_kbps: Option<u32>,
    pub auto_start: bool,
}

/// Checks the streaming section and puts it into `config` (field-named errors).
pub fn apply_streaming(config: &mut streampai::Config, input: &StreamingInput) -> UiResult<()> {
    use streampai::config::fields;
    if let Some(problem) = fields::local_listen_problem(&input.local_listen) {
        return Err(UiError::invalid("local_listen", problem));
    }
    let addr: std::net::SocketAddr =
        input.local_listen.trim().parse().map_err(|_| UiError::invalid("local_listen", "not an address"))?;
    if let Some(problem) = fields::upload_budget_problem(input.upload_budget_kbps) {
        return Err(UiError::invalid("upload_budget_kbps", problem));
    }
    if input.ingest == IngestBackend::Cloudflare
        && config.cloudflare.account_id.as_deref().is_none_or(|a| a.trim().is_empty())
    {
        return Err(UiError::invalid(
            "ingest",
            "Cloudflare ingest needs your Cloudflare account ID and API token: save them above first",
        ));
    }
    // A choice, also of the backend already in force, sticks: left on automatic, a Cloudflare
    // account saved later would switch "This computer" to Cloudflare.
    config.ingest = Some(input.ingest);
    config.local.listen = addr.to_string();
    config.local.upload_budget_kbps = input.upload_budget_kbps;
    config.stream.auto_start = input.auto_start;
    Ok(())
}

/// Ingest backend, local listen address, upload budget and auto start. The backend cannot change
/// while the stream is on air (the engine refuses other changes then too).
#[tauri::command]
#[specta::specta]
pub async fn save_streaming(shell: Sh<'_>, input: StreamingInput) -> UiResult<SettingsView> {
    let _guard = shell.settings_lock.lock().await;
    let mut config = (*shell.engine.config()).clone();
    let switching = input.ingest != config.ingest_backend();
    apply_streaming(&mut config, &input)?;
    if switching && shell.engine.status().await.stream.state != StreamPhase::Offline {
        return Err(UiError::invalid("ingest", "stop the stream before switching the ingest backend"));
    }
    shell.apply_config(config).await?;
    Ok(settings_view(&shell))
}

/// Stores the Cloudflare API token in the keyring (empty: deletes it) and rebuilds the tree.
#[tauri::command]
#[specta::specta]
pub async fn set_cloudflare_token(shell: Sh<'_>, token: String) -> UiResult<SettingsView> {
    let _guard = shell.settings_lock.lock().await;
    let token = token.trim();
    if token.is_empty() {
        shell.secrets().delete(&SecretName::CloudflareApiToken)?;
    } else {
        shell.secrets().set(&SecretName::CloudflareApiToken, &Secret::new(token))?;
    }
    shell.engine.reload_secrets().await?;
    Ok(settings_view(&shell))
}

#[derive(Clone, Debug, Deserialize, specta::Type)]
pub struct ConnectionTest {
    pub account_id: String,
    /// `None` or empty: the stored token.
    pub token: Option<String>,
}

/// "Test connection": `Ok` or the exact problem (bad token, wrong account, no Stream permission,
/// unreachable) as `UiError::Cloudflare`.
#[tauri::command]
#[specta::specta]
pub async fn test_cloudflare(shell: Sh<'_>, test: ConnectionTest) -> UiResult<()> {
    let token = test.token.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(Secret::new);
    shell.engine.test_cloudflare(&test.account_id, token).await.map_err(|e| match e {
        streampai::EngineError::Cloudflare { problem } => UiError::Cloudflare { problem },
        streampai::EngineError::InvalidConfig { key, message } => UiError::Invalid {
            field: key.replace("cloudflare.api_token", "cloudflare_token").replace('.', "_"),
            message,
        },
        other => other.into(),
    })
}

/// Adds or edits a platform; its key goes to the keyring only.
#[tauri::command]
#[specta::specta]
pub async fn save_platform(shell: Sh<'_>, input: PlatformInput) -> UiResult<SettingsView> {
    let _guard = shell.settings_lock.lock().await;
    let current = shell.engine.config();
    let has_key = |n: &str| has_secret(&shell, SecretName::StreamKey(n.to_string()));
    let next = platform_edit::apply_input(&current, &input, &has_key)?;
    let name = input.name.trim().to_string();
    let key = input.key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let original = input.original_name.clone().filter(|o| *o != name);
    // Move or store the key first, so the engine finds it when the new config is applied.
    if let Some(key) = key {
        shell.secrets().set(&SecretName::StreamKey(name.clone()), &Secret::new(key))?;
    } else if let Some(orig) = &original {
        if let Some(old) = shell.secrets().get(&SecretName::StreamKey(orig.clone()))? {
            shell.secrets().set(&SecretName::StreamKey(name.clone()), &old)?;
        }
    }
    shell.apply_config(next).await?;
    if let Some(orig) = original {
        let _ = shell.secrets().delete(&SecretName::StreamKey(orig));
    }
    Ok(settings_view(&shell))
}

#[tauri::command]
#[specta::specta]
pub async fn remove_platform(shell: Sh<'_>, name: String) -> UiResult<SettingsView> {
    let _guard = shell.settings_lock.lock().await;
    let next = platform_edit::remove(&shell.engine.config(), &name)?;
    shell.apply_config(next).await?;
    if let Err(e) = shell.secrets().delete(&SecretName::StreamKey(name.clone())) {
        tracing::warn!(platform = %name, cause = %e, "could not delete the stream key");
    }
    Ok(settings_view(&shell))
}

/// Turns a platform on or off, also while live.
#[tauri::command]
#[specta::specta]
pub async fn set_platform_enabled(shell: Sh<'_>, name: String, enabled: bool) -> UiResult<SettingsView> {
    toggle_platform(&shell, &name, enabled).await?;
    Ok(settings_view(&shell))
}

/// Shared with the tray's checkboxes.
pub async fn toggle_platform(shell: &Shell, name: &str, enabled: bool) -> UiResult<()> {
    let _guard = shell.settings_lock.lock().await;
    shell.engine.set_platform_enabled(name, enabled).await?;
    shell.save_config(&shell.engine.config())
}

#[tauri::command]
#[specta::specta]
pub async fn save_preferences<R: Runtime>(
    app: AppHandle<R>,
    shell: Sh<'_>,
    preferences: Preferences,
) -> UiResult<SettingsView> {
    crate::hotkeys::validate(&preferences)?;
    shell.save_preferences(preferences.clone())?;
    crate::hotkeys::apply(&app, &preferences);
    Ok(settings_view(&shell))
}

/// Ends the guided setup (the dashboard shows from now on).
#[tauri::command]
#[specta::specta]
pub async fn finish_setup(shell: Sh<'_>) -> UiResult<SettingsView> {
    shell.set_setup_done(true)?;
    Ok(settings_view(&shell))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ingest: IngestBackend, listen: &str, budget: Option<u32>) -> StreamingInput {
        StreamingInput { ingest, local_listen: listen.into(), upload_budget_kbps: budget, auto_start: true }
    }

    fn field(r: UiResult<()>) -> String {
        match r {
            Err(UiError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn streaming_settings_are_checked_field_by_field() {
        let mut c = streampai::Config::for_user("u");
        apply_streaming(&mut c, &input(IngestBackend::Local, " 0.0.0.0:1936 ", Some(12_000))).unwrap();
        assert_eq!(c.local.listen, "0.0.0.0:1936");
        assert_eq!(c.local.upload_budget_kbps, Some(12_000));
        assert!(c.stream.auto_start);
        assert_eq!(c.ingest, Some(IngestBackend::Local), "the choice sticks, also of the default");
        assert!(c.validate().is_ok());

        let mut c = streampai::Config::for_user("u");
        assert_eq!(
            field(apply_streaming(&mut c, &input(IngestBackend::Local, "localhost", None))),
            "local_listen"
        );
        assert_eq!(
            field(apply_streaming(&mut c, &input(IngestBackend::Local, "127.0.0.1:0", None))),
            "local_listen"
        );
        assert_eq!(
            field(apply_streaming(&mut c, &input(IngestBackend::Local, "127.0.0.1:1935", Some(0)))),
            "upload_budget_kbps"
        );
        assert_eq!(
            field(apply_streaming(&mut c, &input(IngestBackend::Local, "127.0.0.1:1935", Some(20_000_000)))),
            "upload_budget_kbps"
        );
        assert_eq!(
            field(apply_streaming(&mut c, &input(IngestBackend::Cloudflare, "127.0.0.1:1935", None))),
            "ingest",
            "Cloudflare needs an account"
        );
        assert_eq!(c, streampai::Config::for_user("u"), "nothing changed by a refused input");

        c.cloudflare.account_id = Some("acc".into());
        apply_streaming(&mut c, &input(IngestBackend::Local, "127.0.0.1:1935", None)).unwrap();
        assert_eq!(c.ingest, Some(IngestBackend::Local), "an explicit switch away from the default");
        assert_eq!(c.ingest_backend(), IngestBackend::Local);
    }

    #[test]
    fn an_account_never_switches_the_backend_by_itself() {
        // Automatic and local: the account is saved, the backend stays local (written down).
        let mut c = streampai::Config::for_user("u");
        set_account_keeping_backend(&mut c, "acc");
        assert_eq!(c.cloudflare.account_id.as_deref(), Some("acc"));
        assert_eq!((c.ingest, c.ingest_backend()), (Some(IngestBackend::Local), IngestBackend::Local));
        // Already Cloudflare (automatic): another account keeps it automatic.
        let mut c = streampai::Config::for_user("u");
        c.cloudflare.account_id = Some("acc".into());
        set_account_keeping_backend(&mut c, "other");
        assert_eq!((c.ingest, c.ingest_backend()), (None, IngestBackend::Cloudflare));
        // An explicit Cloudflare choice is kept.
        c.ingest = Some(IngestBackend::Cloudflare);
        set_account_keeping_backend(&mut c, "acc");
        assert_eq!(c.ingest, Some(IngestBackend::Cloudflare));
    }
}
