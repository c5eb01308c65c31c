//! Adding, editing and removing platforms from the UI: validation with messages that name the
//! field, then a new `Config` (the caller applies it and stores the key in the keyring).

use serde::{Deserialize, Serialize};
use streampai::config::PlatformConfig;
use streampai::Config;
use streampai::{platform_url_problem, validate_name, PlatformKind};

use crate::error::{UiError, UiResult};

/// What the Platforms form sends.
#[derive(Clone, Debug, Deserialize, Serialize, specta::Type)]
pub struct PlatformInput {
    /// The name being edited; `None` adds a platform.
    pub original_name: Option<String>,
    pub name: String,
    pub kind: PlatformKind,
    /// Empty or absent: the kind's preset (required for custom).
    pub url: Option<String>,
    pub enabled: bool,
    /// The stream key; empty or absent keeps the stored one (required for a new platform).
    pub key: Option<String>,
}

/// A platform as the UI shows it (the key itself never; only whether one is stored).
#[derive(Clone, Debug, Serialize, specta::Type, PartialEq)]
pub struct PlatformView {
    pub name: String,
    pub kind: PlatformKind,
    /// As configured (`None`: the preset).
    pub url: Option<String>,
    /// The URL in use.
    pub ingest_url: String,
    pub enabled: bool,
    pub has_key: bool,
}

/// Checks the input against the current config and returns the changed config.
/// `has_stored_key(name)` tells whether a key is already stored for a name.
pub fn apply_input(
    config: &Config,
    input: &PlatformInput,
    has_stored_key: &dyn Fn(&str) -> bool,
) -> UiResult<Config> {
    let name = input.name.trim().to_string();
    validate_name(&name).map_err(|m| UiError::invalid("name", m))?;
    let original = input.original_name.as_deref();
    if let Some(orig) = original {
        if !config.platforms.iter().any(|p| p.name == orig) {
            return Err(UiError::invalid("name", format!("no platform named `{orig}`")));
        }
    }
    if config.platforms.iter().any(|p| p.name == name && Some(p.name.as_str()) != original) {
        return Err(UiError::invalid("name", format!("a platform named `{name}` already exists")));
    }
    // The engine's rule, the one the UI asks through `check_field` (empty: the kind's preset).
    if let Some(problem) = platform_url_problem(input.url.as_deref().unwrap_or(""), input.kind) {
        return Err(UiError::invalid("url", problem));
    }
    let url = input.url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_string);
    let key_given = input.key.as_deref().is_some_and(|k| !k.trim().is_empty());
    let key_kept = original.is_some_and(has_stored_key);
    if !key_given && !key_kept {
        return Err(UiError::invalid("key", "the stream key is empty"));
    }
    if input.key.as_deref().is_some_and(|k| k.trim() != k && !k.trim().is_empty()) {
        return Err(UiError::invalid("key", "the stream key has spaces at its start or end"));
    }
    // Keep the preset implicit so a changed preset follows the kind.
    let url = url.filter(|u| Some(u.as_str()) != input.kind.preset_url());
    let platform = PlatformConfig { name: name.clone(), kind: input.kind, url, enabled: input.enabled };
    let mut next = config.clone();
    match original.and_then(|o| next.platforms.iter().position(|p| p.name == o)) {
        Some(i) => next.platforms[i] = platform,
        None => next.platforms.push(platform),
    }
    next.validate()?;
    Ok(next)
}

/// The config without `name`.
pub fn remove(config: &Config, name: &str) -> UiResult<Config> {
    let mut next = config.clone();
    let before = next.platforms.len();
    next.platforms.retain(|p| p.name != name);
    if next.platforms.len() == before {
        return Err(UiError::invalid("name", format!("no platform named `{name}`")));
    }
    Ok(next)
}

pub fn view(p: &PlatformConfig, has_key: bool) -> PlatformView {
    PlatformView {
        name: p.name.clone(),
        kind: p.kind,
        url: p.url.clone(),
        ingest_url: p.ingest_url().unwrap_or_default(),
        enabled: p.enabled,
        has_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, kind: PlatformKind, url: Option<&str>, key: Option<&str>) -> PlatformInput {
        PlatformInput {
            original_name: None,
            name: name.into(),
            kind,
            url: url.map(Into::into),
            enabled: true,
            key: key.map(Into::into),
        }
    }

    fn field(err: UiError) -> String {
        match err {
            UiError::Invalid { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn adds_a_preset_platform_without_storing_the_preset_url() {
        let cfg = Config::for_user("u");
        let next =
            apply_input(&cfg, &input("twitch-main", PlatformKind::Twitch, None, Some("k")), &|_| false)
                .unwrap();
        assert_eq!(next.platforms.len(), 1);
        assert_eq!(next.platforms[0].url, None);
        let same = input("yt", PlatformKind::Youtube, Some("rtmp://a.rtmp.youtube.com/live2"), Some("k"));
        assert_eq!(apply_input(&cfg, &same, &|_| false).unwrap().platforms[0].url, None);
    }

    #[test]
    fn rejects_bad_names_urls_keys_and_duplicates() {
        let cfg = Config::for_user("u");
        let bad_name = input("Twitch Main", PlatformKind::Twitch, None, Some("k"));
        assert_eq!(field(apply_input(&cfg, &bad_name, &|_| false).unwrap_err()), "name");
        let bad_url = input("c", PlatformKind::Custom, Some("http://example.com/x"), Some("k"));
        assert_eq!(field(apply_input(&cfg, &bad_url, &|_| false).unwrap_err()), "url");
        let no_url = input("c", PlatformKind::Custom, Some("  "), Some("k"));
        assert_eq!(field(apply_input(&cfg, &no_url, &|_| false).unwrap_err()), "url");
        let no_key = input("tw", PlatformKind::Twitch, None, Some("  "));
        assert_eq!(field(apply_input(&cfg, &no_key, &|_| false).unwrap_err()), "key");
        let cfg = apply_input(&cfg, &input("tw", PlatformKind::Twitch, None, Some("k")), &|_| false).unwrap();
        let dup = input("tw", PlatformKind::Kick, None, Some("k"));
        let err = apply_input(&cfg, &dup, &|_| false).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[test]
    fn edit_keeps_the_stored_key_and_can_rename() {
        let cfg = Config::for_user("u");
        let cfg = apply_input(&cfg, &input("tw", PlatformKind::Twitch, None, Some("k")), &|_| false).unwrap();
        let mut edit = input("tw-2", PlatformKind::Twitch, None, None);
        edit.original_name = Some("tw".into());
        edit.enabled = false;
        assert_eq!(field(apply_input(&cfg, &edit, &|_| false).unwrap_err()), "key");
        let next = apply_input(&cfg, &edit, &|n| n == "tw").unwrap();
        assert_eq!(next.platforms.len(), 1);
        assert_eq!((next.platforms[0].name.as_str(), next.platforms[0].enabled), ("tw-2", false));
        assert!(remove(&next, "tw").is_err());
        assert!(remove(&next, "tw-2").unwrap().platforms.is_empty());
    }

    #[test]
    fn custom_rtmps_urls_are_kept() {
        let cfg = Config::for_user("u");
        let custom =
            input("my-server", PlatformKind::Custom, Some("rtmps://live.example.com:443/app"), Some("k"));
        let next = apply_input(&cfg, &custom, &|_| false).unwrap();
        let v = view(&next.platforms[0], true);
        assert_eq!(v.ingest_url, "rtmps://live.example.com:443/app");
        assert!(v.has_key);
    }
}
