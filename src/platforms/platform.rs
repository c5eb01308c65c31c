//! Platforms: kinds, ingest URL presets, and validation of names, URLs and keys.

use serde::{Deserialize, Serialize};

use crate::config::PlatformConfig;
use crate::secrets::Secret;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    Twitch,
    Youtube,
    Kick,
    Facebook,
    Custom,
}

impl PlatformKind {
    /// The default ingest URL (`None` for custom).
    pub fn preset_url(self) -> Option<&'static str> {
        match self {
            PlatformKind::Twitch => Some("rtmp://live.twitch.tv/app"),
            PlatformKind::Youtube => Some("rtmp://a.rtmp.youtube.com/live2"),
            PlatformKind::Kick => Some("rtmps://fa723fc1b171.global-contribute.live-video.net:443/app"),
            PlatformKind::Facebook => Some("rtmps://live-api-s.facebook.com:443/rtmp"),
            PlatformKind::Custom => None,
        }
    }
}

/// `[a-z0-9-]`, 1 to 40 characters, not starting or ending with `-`.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 40 {
        return Err("must be 1 to 40 characters".into());
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("`{name}` may only use a-z, 0-9 and -"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!("`{name}` must not start or end with -"));
    }
    Ok(())
}

/// An `rtmp://` or `rtmps://` URL with a host.
pub fn validate_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "rtmp" | "rtmps") {
        return Err(format!("`{raw}` must start with rtmp:// or rtmps://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    Ok(())
}

/// The URL field of a platform as typed (empty means the kind's preset): what is wrong, if
/// anything. One source for the config check, the desktop commands and the UI.
pub fn url_problem(raw: &str, kind: PlatformKind) -> Option<String> {
    let u = raw.trim();
    if u.is_empty() {
        return kind
            .preset_url()
            .is_none()
            .then(|| "a custom platform needs an rtmp:// or rtmps:// URL".into());
    }
    validate_url(u).err()
}

/// A platform ready to stream to: name, ingest URL, and stream key.
#[derive(Clone, Debug)]
pub struct PlatformTarget {
    pub name: String,
    pub url: String,
    pub stream_key: Secret,
}

impl PlatformTarget {
    /// Check one configured platform with its key; the message is for humans.
    pub fn resolve(cfg: &PlatformConfig, key: Option<Secret>) -> Result<Self, String> {
        validate_name(&cfg.name)?;
        let url = cfg
            .ingest_url()
            .ok_or_else(|| format!("{}: no ingest URL (required for custom platforms)", cfg.name))?;
        validate_url(&url).map_err(|m| format!("{}: {m}", cfg.name))?;
        let stream_key = match key {
            Some(k) if !k.is_blank() => k,
            _ => return Err(format!("{}: the stream key is empty", cfg.name)),
        };
        Ok(PlatformTarget { name: cfg.name.clone(), url, stream_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_rtmp_urls() {
        for k in [PlatformKind::Twitch, PlatformKind::Youtube, PlatformKind::Kick, PlatformKind::Facebook] {
            validate_url(k.preset_url().unwrap()).unwrap();
        }
        assert_eq!(PlatformKind::Custom.preset_url(), None);
    }

    #[test]
    fn names_and_urls_are_checked() {
        assert!(validate_name("twitch-main").is_ok());
        for bad in ["", "Twitch", "a b", "-x", "x-", "ü"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        for bad in ["http://a/b", "rtmp://", "nonsense", "rtmp:/x"] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_needs_a_key_and_never_echoes_it() {
        let cfg = PlatformConfig { name: "yt".into(), kind: PlatformKind::Youtube, url: None, enabled: true };
        assert!(PlatformTarget::resolve(&cfg, None).unwrap_err().contains("stream key is empty"));
        assert!(PlatformTarget::resolve(&cfg, Some(Secret::new("  "))).is_err());
        let t = PlatformTarget::resolve(&cfg, Some(Secret::new("sk-123"))).unwrap();
        assert_eq!(t.url, "rtmp://a.rtmp.youtube.com/live2");
        assert!(!format!("{t:?}").contains("sk-123"));
    }
}
