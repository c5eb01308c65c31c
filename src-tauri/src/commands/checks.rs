//! Field checks for the UI's forms, with the engine's own rules and words (one source: the UI
//! keeps no copy of them), and the platforms' URL presets.

use serde::{Deserialize, Serialize};
use streampai::config::fields;
use streampai::PlatformKind;

/// One form field to check.
#[derive(Clone, Debug, Deserialize, specta::Type)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum FieldCheck {
    PlatformName {
        value: String,
    },
    /// Empty means the kind's preset.
    PlatformUrl {
        value: String,
        kind: PlatformKind,
    },
    SyncUrl {
        value: String,
    },
    /// Empty means the computer's name.
    DeviceName {
        value: String,
    },
    /// The local ingest's listen address.
    LocalListen {
        value: String,
    },
    /// A warning (not a problem): the listen address is reachable from other machines.
    LocalListenExposure {
        value: String,
    },
    /// kbit/s as typed; empty means no budget.
    UploadBudget {
        value: String,
    },
    /// OBS's WebSocket address (`[obs] url`).
    ObsUrl {
        value: String,
    },
    /// OBS's WebSocket password as typed.
    ObsPassword {
        value: String,
    },
    /// A Twitch app's client id (`[twitch] client_id`); empty is fine (no Twitch sign-in).
    TwitchClientId {
        value: String,
    },
    /// A Google OAuth client's id (`[youtube] client_id`); empty is fine (no YouTube sign-in).
    YoutubeClientId {
        value: String,
    },
    /// That client's secret as typed; empty is fine (keeps the saved one, or none). Its words
    /// never echo it.
    YoutubeClientSecret {
        value: String,
    },
}

/// What is wrong with the field, in words, or `null`.
#[tauri::command]
#[specta::specta]
pub fn check_field(check: FieldCheck) -> Option<String> {
    match check {
        FieldCheck::PlatformName { value } => streampai::validate_name(value.trim()).err(),
        FieldCheck::PlatformUrl { value, kind } => streampai::platform_url_problem(&value, kind),
        FieldCheck::SyncUrl { value } => streampai::sync::url_problem(&value),
        FieldCheck::DeviceName { value } => streampai::sync::device_name_problem(&value),
        FieldCheck::LocalListen { value } => fields::local_listen_problem(&value),
        FieldCheck::LocalListenExposure { value } => fields::local_listen_warning(&value),
        FieldCheck::UploadBudget { value } => fields::parse_upload_budget(&value).err(),
        FieldCheck::ObsUrl { value } => fields::obs_url_problem(&value),
        FieldCheck::ObsPassword { value } => fields::obs_password_problem(&value),
        FieldCheck::TwitchClientId { value } => (!value.trim().is_empty())
            .then(|| streampai::accounts::twitch_client_id_problem(&value))
            .flatten(),
        FieldCheck::YoutubeClientId { value } => (!value.trim().is_empty())
            .then(|| streampai::accounts::youtube_client_id_problem(&value))
            .flatten(),
        FieldCheck::YoutubeClientSecret { value } => (!value.trim().is_empty())
            .then(|| streampai::accounts::youtube_client_secret_problem(&value))
            .flatten(),
    }
}

#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct PlatformPreset {
    pub kind: PlatformKind,
    /// The default ingest URL; `null` for custom.
    pub url: Option<String>,
}

/// Every platform kind with its default ingest URL.
#[tauri::command]
#[specta::specta]
pub fn platform_presets() -> Vec<PlatformPreset> {
    [
        PlatformKind::Twitch,
        PlatformKind::Youtube,
        PlatformKind::Kick,
        PlatformKind::Facebook,
        PlatformKind::Custom,
    ]
    .into_iter()
    .map(|kind| PlatformPreset { kind, url: kind.preset_url().map(str::to_string) })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_use_the_engines_rules() {
        let name = |v: &str| check_field(FieldCheck::PlatformName { value: v.into() });
        assert_eq!(name("twitch-main"), None);
        assert!(name("Twitch").is_some());
        let url = |v: &str, kind| check_field(FieldCheck::PlatformUrl { value: v.into(), kind });
        assert_eq!(url("", PlatformKind::Twitch), None, "empty: the preset");
        assert!(url("", PlatformKind::Custom).is_some());
        assert!(url("http://x/app", PlatformKind::Custom).unwrap().contains("rtmp://"));
        let sync = |v: &str| check_field(FieldCheck::SyncUrl { value: v.into() });
        assert!(sync("http://host:4860").unwrap().contains("ws://"));
        assert_eq!(sync("ws://10.0.0.2:4860"), None);
        assert!(check_field(FieldCheck::DeviceName { value: "a\u{7}b".into() }).is_some());
        assert!(check_field(FieldCheck::LocalListen { value: "127.0.0.1:0".into() }).is_some());
        assert!(check_field(FieldCheck::LocalListenExposure { value: "0.0.0.0:1935".into() }).is_some());
        assert!(check_field(FieldCheck::UploadBudget { value: "0".into() }).is_some());
        assert_eq!(check_field(FieldCheck::UploadBudget { value: "12 000".into() }), None);
        let obs_url = |v: &str| check_field(FieldCheck::ObsUrl { value: v.into() });
        assert_eq!(obs_url("ws://127.0.0.1:4455"), None);
        assert!(obs_url("http://127.0.0.1:4455").unwrap().contains("ws://"));
        assert!(obs_url("ws://me:pw@127.0.0.1:4455").unwrap().contains("password"));
        assert!(check_field(FieldCheck::ObsPassword { value: "  ".into() }).is_some());
        assert_eq!(check_field(FieldCheck::ObsPassword { value: "hunter2".into() }), None);
        let client_id = |v: &str| check_field(FieldCheck::TwitchClientId { value: v.into() });
        assert_eq!(client_id(" wbmytr93xzw8zbg0p1izqyzzc5mbiz "), None);
        assert_eq!(client_id(""), None, "empty: no Twitch sign-in");
        assert!(client_id("abc/def").unwrap().contains("not a Twitch client id"));
        let yt_id = |v: &str| check_field(FieldCheck::YoutubeClientId { value: v.into() });
        assert_eq!(yt_id(" 1234-abc.apps.googleusercontent.com "), None);
        assert_eq!(yt_id(""), None, "empty: no YouTube sign-in");
        assert!(yt_id("my client").unwrap().contains("not a Google OAuth client id"));
        let yt_secret = |v: &str| check_field(FieldCheck::YoutubeClientSecret { value: v.into() });
        assert_eq!(yt_secret("GOCSPX-abc_DEF123"), None);
        assert_eq!(yt_secret(""), None, "empty: the saved one stays");
        let words = yt_secret("GOCSPX has spaces").unwrap();
        assert!(!words.contains("GOCSPX"), "the secret is never echoed: {words}");
        assert_eq!(platform_presets().len(), 5);
        assert!(platform_presets().iter().all(|p| (p.url.is_none()) == (p.kind == PlatformKind::Custom)));
    }
}
