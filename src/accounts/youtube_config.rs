//! `[youtube]`: the app's Google OAuth client ("Desktop app") and the addresses it talks to,
//! with the field checks the config, the desktop and the UI share.

use serde::{Deserialize, Serialize};

use super::config::{url_problem, UrlKind};
use crate::config::ConfigError;

pub const DEFAULT_YOUTUBE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const DEFAULT_YOUTUBE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const DEFAULT_YOUTUBE_API_URL: &str = "https://www.googleapis.com/youtube/v3";
/// A Google Cloud project's default YouTube Data API quota, in units a day.
pub const DEFAULT_YOUTUBE_DAILY_QUOTA: u32 = 10_000;
/// How often a live broadcast is looked for while none is live, by default (1 unit each).
pub const DEFAULT_YOUTUBE_BROADCAST_POLL_MS: u64 = 60_000;
/// The shortest `broadcast_poll_ms` taken.
pub const MIN_YOUTUBE_BROADCAST_POLL_MS: u64 = 1_000;

/// `[youtube]`. Sign-in is OAuth 2.0 for installed apps (system browser, loopback redirect,
/// PKCE). Google's token endpoint still wants the secret it issues to a "Desktop app" client,
/// which Google itself treats as not confidential (it ships inside every installed app):
/// `client_secret` is configuration, set by the streamer or packager, never compiled in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct YouTubeConfig {
    /// The client id of a Google OAuth client of type "Desktop app"
    /// (`…apps.googleusercontent.com`). Unset: no YouTube sign-in.
    pub client_id: Option<String>,
    /// The secret Google issued with that client.
    pub client_secret: Option<String>,
    /// Google's consent page.
    pub auth_url: String,
    /// Google's token endpoint (revocation: `revoke` beside it).
    pub token_url: String,
    /// The YouTube Data API v3.
    pub api_url: String,
    /// The Google Cloud project's daily YouTube Data API quota (units); chat polling slows
    /// down to stay within it.
    pub daily_quota: u32,
    /// While no broadcast is live (and the user's tree runs), how often the live broadcast is
    /// looked for (`liveBroadcasts.list`, 1 unit each): finding it starts the chat reader and
    /// sends the saved title to it if the push on Start found none.
    pub broadcast_poll_ms: u64,
}

impl Default for YouTubeConfig {
    fn default() -> Self {
        YouTubeConfig {
            client_id: None,
            client_secret: None,
            auth_url: DEFAULT_YOUTUBE_AUTH_URL.into(),
            token_url: DEFAULT_YOUTUBE_TOKEN_URL.into(),
            api_url: DEFAULT_YOUTUBE_API_URL.into(),
            daily_quota: DEFAULT_YOUTUBE_DAILY_QUOTA,
            broadcast_poll_ms: DEFAULT_YOUTUBE_BROADCAST_POLL_MS,
        }
    }
}

impl YouTubeConfig {
    /// How often a live broadcast is looked for while none is live.
    pub fn broadcast_poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.broadcast_poll_ms.max(MIN_YOUTUBE_BROADCAST_POLL_MS))
    }

    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref().map(str::trim).filter(|c| !c.is_empty())
    }

    pub fn client_secret(&self) -> Option<&str> {
        self.client_secret.as_deref().map(str::trim).filter(|c| !c.is_empty())
    }

    /// Both the client id and its secret are set.
    pub fn configured(&self) -> bool {
        self.client_id().is_some() && self.client_secret().is_some()
    }

    /// Google's revocation endpoint: `revoke` in place of the token URL's last segment
    /// (`https://oauth2.googleapis.com/revoke`).
    pub fn revoke_url(&self) -> String {
        let t = self.token_url.trim().trim_end_matches('/');
        match t.rsplit_once('/') {
            Some((base, _)) => format!("{base}/revoke"),
            None => format!("{t}/revoke"),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(id) = &self.client_id {
            if let Some(problem) = client_id_problem(id) {
                return Err(ConfigError::new("youtube.client_id", problem));
            }
        }
        if let Some(secret) = &self.client_secret {
            if let Some(problem) = client_secret_problem(secret) {
                return Err(ConfigError::new("youtube.client_secret", problem));
            }
        }
        for (key, value) in [
            ("youtube.auth_url", &self.auth_url),
            ("youtube.token_url", &self.token_url),
            ("youtube.api_url", &self.api_url),
        ] {
            if let Some(problem) = url_problem(value, UrlKind::Http) {
                return Err(ConfigError::new(key, problem));
            }
        }
        if self.daily_quota < 100 {
            return Err(ConfigError::new(
                "youtube.daily_quota",
                "at least 100 units (a Google Cloud project gets 10000 a day by default)",
            ));
        }
        if self.broadcast_poll_ms < MIN_YOUTUBE_BROADCAST_POLL_MS {
            return Err(ConfigError::new(
                "youtube.broadcast_poll_ms",
                format!("at least {MIN_YOUTUBE_BROADCAST_POLL_MS} (each look costs a quota unit)"),
            ));
        }
        Ok(())
    }
}

/// What is wrong with a Google OAuth client id as typed, if anything.
pub fn client_id_problem(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return Some("enter the client id of your Google OAuth client (type \"Desktop app\")".into());
    }
    let ok =
        t.len() <= 200 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !ok {
        return Some(format!(
            "`{}` is not a Google OAuth client id (like 1234-abc.apps.googleusercontent.com)",
            t.chars().take(70).collect::<String>()
        ));
    }
    None
}

/// What is wrong with a client secret as typed, if anything (never echoes it).
pub fn client_secret_problem(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return Some("enter the client secret Google shows with the Desktop app client".into());
    }
    if t.len() > 200 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Some("that is not a Google client secret (letters, digits and - _ only)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_their_key() {
        assert_eq!(YouTubeConfig::default().validate(), Ok(()));
        assert_eq!(YouTubeConfig::default().revoke_url(), "https://oauth2.googleapis.com/revoke");
        let bad = |f: fn(&mut YouTubeConfig)| {
            let mut c = YouTubeConfig::default();
            f(&mut c);
            c.validate().unwrap_err().key
        };
        assert_eq!(bad(|c| c.client_id = Some("has spaces".into())), "youtube.client_id");
        assert_eq!(bad(|c| c.client_secret = Some(" ".into())), "youtube.client_secret");
        assert_eq!(bad(|c| c.auth_url = "not a url".into()), "youtube.auth_url");
        assert_eq!(bad(|c| c.token_url = "http://oauth2.example.com/token".into()), "youtube.token_url");
        assert_eq!(bad(|c| c.api_url = "ftp://x/youtube/v3".into()), "youtube.api_url");
        assert_eq!(bad(|c| c.daily_quota = 5), "youtube.daily_quota");
        assert_eq!(bad(|c| c.broadcast_poll_ms = 999), "youtube.broadcast_poll_ms");
        let c = YouTubeConfig { broadcast_poll_ms: 1_000, ..Default::default() };
        assert_eq!((c.validate(), c.broadcast_poll()), (Ok(()), std::time::Duration::from_secs(1)));
        assert_eq!(YouTubeConfig::default().broadcast_poll(), std::time::Duration::from_secs(60));
        assert_eq!(client_id_problem("1234-abc_D.apps.googleusercontent.com"), None);
        let c = YouTubeConfig { client_id: Some("a".into()), ..Default::default() };
        assert!(!c.configured(), "the secret is needed too");
        let secret_words = client_secret_problem("GOCSPX secret with spaces").unwrap();
        assert!(!secret_words.contains("GOCSPX"), "never echoed");
    }
}
