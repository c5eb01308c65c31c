//! `[twitch]`: the app's Twitch client id and the addresses it talks to, with the field checks
//! the config, the desktop and the UI share (one source).

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

pub const DEFAULT_TWITCH_AUTH_URL: &str = "https://id.twitch.tv/oauth2";
pub const DEFAULT_TWITCH_API_URL: &str = "https://api.twitch.tv/helix";
pub const DEFAULT_TWITCH_EVENTSUB_URL: &str = "wss://eventsub.wss.twitch.tv/ws";

/// `[twitch]`. Sign-in uses the Device Code Grant for a public client: only the client id is
/// configured, never a secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TwitchConfig {
    /// The client id of a Twitch app registered at dev.twitch.tv/console with Client Type
    /// "Public". Unset: no Twitch sign-in.
    pub client_id: Option<String>,
    /// id.twitch.tv's OAuth endpoints (`/device`, `/token`, `/validate`, `/revoke` below it).
    pub auth_url: String,
    /// Helix.
    pub api_url: String,
    /// The EventSub WebSocket.
    pub eventsub_url: String,
}

impl Default for TwitchConfig {
    fn default() -> Self {
        TwitchConfig {
            client_id: None,
            auth_url: DEFAULT_TWITCH_AUTH_URL.into(),
            api_url: DEFAULT_TWITCH_API_URL.into(),
            eventsub_url: DEFAULT_TWITCH_EVENTSUB_URL.into(),
        }
    }
}

impl TwitchConfig {
    /// The client id, trimmed, if one is set.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref().map(str::trim).filter(|c| !c.is_empty())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(id) = &self.client_id {
            if let Some(problem) = client_id_problem(id) {
                return Err(ConfigError::new("twitch.client_id", problem));
            }
        }
        for (key, value, kind) in [
            ("twitch.auth_url", &self.auth_url, UrlKind::Http),
            ("twitch.api_url", &self.api_url, UrlKind::Http),
            ("twitch.eventsub_url", &self.eventsub_url, UrlKind::WebSocket),
        ] {
            if let Some(problem) = url_problem(value, kind) {
                return Err(ConfigError::new(key, problem));
            }
        }
        Ok(())
    }
}

/// What is wrong with a Twitch client id as typed, if anything.
pub fn client_id_problem(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return Some("enter the client id of your Twitch app (dev.twitch.tv/console › Applications)".into());
    }
    if t.len() > 64 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Some(format!(
            "`{}` is not a Twitch client id (30 letters and digits, from dev.twitch.tv/console)",
            t.chars().take(70).collect::<String>()
        ));
    }
    None
}

/// Which kind of address a `[twitch]` URL key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlKind {
    /// `https://` (`http://` only on this machine).
    Http,
    /// `wss://` (`ws://` only on this machine).
    WebSocket,
}

/// What is wrong with a `[twitch]` address, if anything. Plain `http://` and `ws://` are
/// accepted for loopback hosts only (tests, a local proxy): tokens never cross a network
/// unencrypted.
pub fn url_problem(text: &str, kind: UrlKind) -> Option<String> {
    if let Some(p) = endpoint_problem(text, kind) {
        return Some(p);
    }
    let u = url::Url::parse(text.trim()).ok()?;
    if u.query().is_some() || u.fragment().is_some() {
        return Some("the address must not carry a query or a fragment".into());
    }
    None
}

/// The scheme and host rules alone (an address Twitch hands out, such as EventSub's reconnect
/// URL, may carry a query).
pub(crate) fn endpoint_problem(text: &str, kind: UrlKind) -> Option<String> {
    let t = text.trim();
    let (secure, plain) = match kind {
        UrlKind::Http => ("https", "http"),
        UrlKind::WebSocket => ("wss", "ws"),
    };
    let u = match url::Url::parse(t) {
        Ok(u) => u,
        Err(e) => return Some(format!("`{t}` is not a URL ({e})")),
    };
    let host = u.host_str().unwrap_or_default();
    if host.is_empty() || u.cannot_be_a_base() {
        return Some(format!("`{t}` has no host"));
    }
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match u.scheme() {
        s if s == secure => {}
        s if s == plain && loopback => {}
        s if s == plain => {
            return Some(format!("use {secure}:// ({plain}:// is allowed only for this machine: tokens must not cross a network unencrypted)"))
        }
        s => return Some(format!("the address must start with {secure}://, not {s}://")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Some("the address must not carry a user name or password".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_their_key() {
        assert_eq!(TwitchConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut TwitchConfig)| {
            let mut c = TwitchConfig::default();
            f(&mut c);
            c.validate().unwrap_err().key
        };
        assert_eq!(bad(|c| c.client_id = Some("has spaces in it".into())), "twitch.client_id");
        assert_eq!(bad(|c| c.client_id = Some(" ".into())), "twitch.client_id");
        assert_eq!(bad(|c| c.auth_url = "not a url".into()), "twitch.auth_url");
        assert_eq!(bad(|c| c.api_url = "http://api.example.com/helix".into()), "twitch.api_url");
        assert_eq!(
            bad(|c| c.eventsub_url = "https://eventsub.wss.twitch.tv/ws".into()),
            "twitch.eventsub_url"
        );
        assert_eq!(bad(|c| c.eventsub_url = "ws://example.com/ws".into()), "twitch.eventsub_url");
    }

    #[test]
    fn loopback_may_be_plain_and_client_ids_are_letters_and_digits() {
        assert_eq!(url_problem("http://127.0.0.1:8080/oauth2", UrlKind::Http), None);
        assert_eq!(url_problem("ws://[::1]:9/ws", UrlKind::WebSocket), None);
        assert_eq!(url_problem("ws://localhost:9/ws", UrlKind::WebSocket), None);
        assert!(url_problem("https://user:pw@id.twitch.tv/oauth2", UrlKind::Http).is_some());
        assert!(url_problem("https://id.twitch.tv/oauth2?x=1", UrlKind::Http).is_some());
        assert_eq!(client_id_problem("wbmytr93xzw8zbg0p1izqyzzc5mbiz"), None);
        assert!(client_id_problem("abc/def").unwrap().contains("not a Twitch client id"));
    }
}
