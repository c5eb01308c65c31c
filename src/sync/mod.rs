//! The engine as a client of the sync server (`streampai sync-server`, crate `streampai-sync`):
//! remote devices count as presence, the stream state is published, relayed commands run here.
//! Off until `[sync] url` is set; the token comes from `STREAMPAI_SYNC_TOKEN` or the keyring.

pub(crate) mod client;
pub mod kick;
mod link;
pub mod status;

use serde::{Deserialize, Serialize};

pub use client::execute;
pub(crate) use link::{link_spec, SyncLinkHandle, SYNC_STOP_TIMEOUT};
pub use status::{SyncDevice, SyncState, SyncStatus, SyncStatusCell};
pub use streampai_sync::protocol;

use crate::config::ConfigError;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SyncConfig {
    /// `ws://host:4860` or `wss://host`; the path defaults to `/sync`. Unset: no sync.
    pub url: Option<String>,
    /// Shown to the other devices. Default: the host name.
    pub device_name: Option<String>,
    /// Stable id of this engine among the user's devices. Default: `host-<host name>`.
    pub device_id: Option<String>,
    /// First reconnect delay; doubles (with jitter) up to `reconnect_max_ms`.
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            url: None,
            device_name: None,
            device_id: None,
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
        }
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "streampai".into())
}

/// What is wrong with a sync server address, if anything (one source: the engine's config check, the desktop and the UI use it).
pub fn url_problem(url: &str) -> Option<String> {
    let u = url.trim();
    if u.is_empty() {
        return Some("enter the sync server's address, e.g. ws://192.168.1.10:4860".into());
    }
    let parsed = match url::Url::parse(u) {
        Ok(p) => p,
        Err(_) => return Some(format!("`{u}` is not an address like ws://192.168.1.10:4860")),
    };
    match parsed.scheme() {
        "ws" | "wss" => {}
        "http" | "https" => {
            let s = if parsed.scheme() == "https" { "wss" } else { "ws" };
            return Some(format!(
                "use {s}:// here, not {}:// (the server speaks WebSocket)",
                parsed.scheme()
            ));
        }
        other => return Some(format!("the address must start with ws:// or wss://, not {other}://")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Some("the address has no host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("put the token in the Token field, not in the address".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Some("the address cannot have ?query or #fragment parts".into());
    }
    None
}

/// What is wrong with a device name, if anything (empty is fine: the computer's name).
pub fn device_name_problem(name: &str) -> Option<String> {
    let n = name.trim();
    if n.len() > protocol::MAX_NAME_LEN {
        return Some(format!("the device name must be at most {} bytes", protocol::MAX_NAME_LEN));
    }
    if n.chars().any(char::is_control) {
        return Some("the device name cannot contain control characters".into());
    }
    None
}

impl SyncConfig {
    pub fn enabled(&self) -> bool {
        self.url.as_deref().is_some_and(|u| !u.trim().is_empty())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(u) = self.url.as_deref().filter(|u| !u.trim().is_empty()) {
            if let Some(problem) = url_problem(u) {
                return Err(ConfigError::new("sync.url", problem));
            }
        }
        if let Some(problem) = self.device_name.as_deref().and_then(device_name_problem) {
            return Err(ConfigError::new("sync.device_name", problem));
        }
        if let Some(id) = &self.device_id {
            let ok = !id.is_empty()
                && id.len() <= protocol::MAX_ID_LEN
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
            if !ok {
                return Err(ConfigError::new("sync.device_id", "use 1-64 of A-Z a-z 0-9 _ . : -"));
            }
        }
        if self.reconnect_initial_ms == 0 || self.reconnect_max_ms < self.reconnect_initial_ms {
            return Err(ConfigError::new(
                "sync.reconnect_max_ms",
                "must be at least reconnect_initial_ms (> 0)",
            ));
        }
        Ok(())
    }

    /// The WebSocket URL (path `/sync` unless one is given).
    pub fn endpoint(&self) -> Option<String> {
        let u = url::Url::parse(self.url.as_deref()?.trim()).ok()?;
        let mut u = u;
        if u.path().is_empty() || u.path() == "/" {
            u.set_path("/sync");
        }
        Some(u.to_string())
    }

    pub fn device_id(&self) -> String {
        self.device_id.clone().unwrap_or_else(|| {
            let h: String = host_name()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' })
                .take(protocol::MAX_ID_LEN - 5)
                .collect();
            format!("host-{h}")
        })
    }

    pub fn device_name(&self) -> String {
        let n = self.device_name.clone().unwrap_or_else(host_name);
        n.chars().filter(|c| !c.is_control()).take(protocol::MAX_NAME_LEN).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_endpoint_and_validation() {
        let mut c = SyncConfig::default();
        assert!(!c.enabled());
        assert!(c.validate().is_ok());
        c.url = Some("ws://10.0.0.2:4860".into());
        assert_eq!(c.endpoint().as_deref(), Some("ws://10.0.0.2:4860/sync"));
        c.url = Some("wss://sync.example.com/custom".into());
        assert_eq!(c.endpoint().as_deref(), Some("wss://sync.example.com/custom"));
        c.url = Some("http://x".into());
        assert_eq!(c.validate().unwrap_err().key, "sync.url");
        c.url = None;
        c.device_id = Some("a b".into());
        assert_eq!(c.validate().unwrap_err().key, "sync.device_id");
        c.device_id = None;
        assert!(c.device_id().starts_with("host-"));
    }
}
