//! Typed settings: a TOML file plus `STREAMPAI_*` env overrides, every knob defaulted.
//!
//! Precedence: env beats the file; the file beats the keyring (secrets never live in the file).
//! Unknown keys are warned about and ignored. Invalid values give a [`ConfigError`] that names
//! the key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertKind;
use crate::platforms::PlatformKind;

pub const DEFAULT_CONTROL_LISTEN: &str = "127.0.0.1:4850";
pub const DEFAULT_CLOUDFLARE_API: &str = "https://api.cloudflare.com/client/v4";

/// A config problem, naming the key at fault and, for a problem in the file's text, where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid config: {key}{}: {message}", at(*line, *column))]
pub struct ConfigError {
    pub key: String,
    pub message: String,
    /// 1-based line in the TOML text, when the problem is in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters) on that line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { key: key.into(), message: message.into(), line: None, column: None }
    }
    /// Points at byte `offset` of `text`.
    fn at_offset(mut self, text: &str, offset: Option<usize>) -> Self {
        if let Some((line, column)) = offset.map(|o| line_column(text, o)) {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Which ingest backend OBS streams to.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum IngestBackend {
    /// The embedded RTMP server on this machine relays to every platform.
    Local,
    /// Cloudflare Stream Live: OBS streams to Cloudflare, which relays through live outputs.
    Cloudflare,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Config {
    pub user_id: String,
    /// Default: `cloudflare` when `[cloudflare] account_id` is set, else `local`.
    #[serde(default)]
    pub ingest: Option<IngestBackend>,
    #[serde(default)]
    pub presence: PresenceConfig,
    #[serde(default)]
    pub control: ControlConfig,
    #[serde(default)]
    pub cloudflare: CloudflareConfig,
    #[serde(default)]
    pub stream: StreamConfig,
    #[serde(default)]
    pub local: LocalConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub history: HistoryConfig,
    #[serde(default)]
    pub supervision: SupervisionConfig,
    #[serde(default)]
    pub platforms: Vec<PlatformConfig>,
    /// The optional sync server link (`[sync] url = "ws://host:4860"`); off when `url` is unset.
    #[serde(default)]
    pub sync: crate::sync::SyncConfig,
    /// Twitch sign-in and events (`[twitch] client_id`, the URLs); off without a client id.
    #[serde(default)]
    pub twitch: crate::accounts::TwitchConfig,
    /// YouTube sign-in and live chat events (`[youtube] client_id` + `client_secret`, the
    /// URLs); off without them.
    #[serde(default)]
    pub youtube: crate::accounts::YouTubeConfig,
    /// The link to the streamer's OBS (obs-websocket 5).
    #[serde(default)]
    pub obs: ObsConfig,
}

/// Default `[obs] url`: OBS's WebSocket server on this machine (OBS's default port).
pub const DEFAULT_OBS_URL: &str = "ws://127.0.0.1:4455";

/// The link to OBS's WebSocket server (Tools › WebSocket Server Settings in OBS). The password
/// lives in the keyring (or env `STREAMPAI_OBS_PASSWORD`), never here.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ObsConfig {
    /// Connect to OBS while the app's task tree runs.
    pub enabled: bool,
    /// `ws://` (or `wss://`) address of OBS's WebSocket server.
    pub url: String,
    /// The app's Start also starts OBS's stream; OBS's Start Streaming starts the app's.
    pub start_with_stream: bool,
    /// The app's Stop also stops OBS's stream; OBS's Stop Streaming ends the app's stream after
    /// `[local] source_grace_ms`.
    pub stop_with_stream: bool,
}

impl Default for ObsConfig {
    fn default() -> Self {
        ObsConfig {
            enabled: true,
            url: DEFAULT_OBS_URL.into(),
            start_with_stream: true,
            stop_with_stream: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PresenceConfig {
    /// Grace period after the last session leaves before the tree stops.
    pub cleanup_timeout_ms: u64,
    /// `true`: closing the last session stops the tree even while live (the original design).
    pub stop_with_last_session: bool,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig { cleanup_timeout_ms: 5000, stop_with_last_session: false }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ControlConfig {
    /// Address of the local control API.
    pub listen: String,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig { listen: DEFAULT_CONTROL_LISTEN.into() }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CloudflareConfig {
    pub account_id: Option<String>,
    pub api_base: String,
    /// How often the live input is polled for OBS traffic.
    pub poll_interval_ms: u64,
    /// Per-request timeout.
    pub request_timeout_ms: u64,
    /// Request budget (Cloudflare allows 1,200 per 5 minutes).
    pub requests_per_5min: u32,
}

impl Default for CloudflareConfig {
    fn default() -> Self {
        CloudflareConfig {
            account_id: None,
            api_base: DEFAULT_CLOUDFLARE_API.into(),
            poll_interval_ms: 10_000,
            request_timeout_ms: 10_000,
            requests_per_5min: 1000,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StreamConfig {
    /// First retry delay of a platform worker; doubles per attempt (with jitter).
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// Attempts before a platform is marked failed (0 = retry forever).
    pub max_attempts: u32,
    /// How long a platform worker may take to clean up when the stream stops.
    pub stop_timeout_ms: u64,
    /// Start the stream when OBS traffic is detected; end it after `[local] source_timeout_ms`
    /// without traffic.
    pub auto_start: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            retry_initial_ms: 1000,
            retry_max_ms: 30_000,
            max_attempts: 6,
            stop_timeout_ms: 15_000,
            auto_start: false,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AlertsConfig {
    pub default_duration_ms: u64,
    /// Per-kind display time, e.g. `donation = 15000`.
    pub durations_ms: BTreeMap<AlertKind, u64>,
    /// Hold alerts that carry a message until approved in the UI.
    pub moderation: bool,
    /// Per-kind minimum amount to be shown, e.g. `donation = 1.0` (kept, but never shown).
    pub min_amounts: BTreeMap<AlertKind, f64>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            default_duration_ms: 10_000,
            durations_ms: BTreeMap::new(),
            moderation: false,
            min_amounts: BTreeMap::new(),
        }
    }
}

/// The local ingest: OBS publishes to `rtmp://<listen>/live/<ingest key>` and the app relays.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LocalConfig {
    /// Loopback by default; a LAN address is allowed but warned about.
    pub listen: String,
    /// OBS may drop this long while live before platforms are told the source is lost.
    pub source_grace_ms: u64,
    /// Reconnects per platform before it is marked failed (0 = unlimited).
    pub max_reconnects: u32,
    /// With no source for this long while live, the stream stops (ended by source loss).
    pub source_timeout_ms: u64,
    /// Warn when the total outgoing bitrate passes this (the relay multiplies upload by the
    /// number of platforms).
    pub upload_budget_kbps: Option<u32>,
    /// PEM roots added for RTMPS (e.g. a self-signed test endpoint).
    pub extra_ca_file: Option<PathBuf>,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            listen: "127.0.0.1:1935".into(),
            source_grace_ms: 10_000,
            max_reconnects: 0,
            source_timeout_ms: 300_000,
            upload_budget_kbps: None,
            extra_ca_file: None,
        }
    }
}

/// Restart intensity of a user's tree: more than `max_restarts` in `period_ms` → the tree gives
/// up and is restarted whole by its parent.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SupervisionConfig {
    pub max_restarts: u32,
    pub period_ms: u64,
}

impl Default for SupervisionConfig {
    fn default() -> Self {
        SupervisionConfig { max_restarts: 3, period_ms: 5000 }
    }
}

/// The stream history.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct HistoryConfig {
    /// While a stream is on air, one bitrate sample per platform this often (at least 500).
    pub sample_interval_ms: u64,
}

/// The smallest allowed `[history] sample_interval_ms`.
pub const MIN_SAMPLE_INTERVAL_MS: u64 = 500;

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig { sample_interval_ms: 5000 }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StorageConfig {
    /// Data folder; default: the platform's app data folder (`$XDG_DATA_HOME/streampai`).
    pub dir: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlatformConfig {
    /// Unique, `[a-z0-9-]`.
    pub name: String,
    pub kind: PlatformKind,
    /// Ingest URL; optional for known kinds (the preset is used).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl PlatformConfig {
    /// The ingest URL: the configured one, or the kind's preset.
    pub fn ingest_url(&self) -> Option<String> {
        self.url.clone().or_else(|| self.kind.preset_url().map(str::to_string))
    }
}

impl Config {
    /// A minimal valid config for one user (everything else defaulted).
    pub fn for_user(user_id: &str) -> Self {
        Config {
            user_id: user_id.into(),
            ingest: None,
            presence: PresenceConfig::default(),
            control: ControlConfig::default(),
            cloudflare: CloudflareConfig::default(),
            stream: StreamConfig::default(),
            local: LocalConfig::default(),
            alerts: AlertsConfig::default(),
            storage: StorageConfig::default(),
            history: HistoryConfig::default(),
            supervision: SupervisionConfig::default(),
            platforms: vec![],
            sync: Default::default(),
            obs: ObsConfig::default(),
            twitch: Default::default(),
            youtube: Default::default(),
        }
    }

    /// Load from a file (if given), apply env overrides from the process, validate.
    /// Returns the config and warnings (unknown keys).
    pub fn load(path: Option<&Path>) -> Result<(Config, Vec<String>), ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| ConfigError::new("--config", format!("cannot read {}: {e}", p.display())))?,
            None => String::new(),
        };
        Self::parse(&text, &|k| std::env::var(k).ok())
    }

    /// Parse TOML text, apply env overrides read through `env`, validate.
    pub fn parse(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut value: toml::Value = text.parse::<toml::Table>().map(toml::Value::Table).map_err(|e| {
            ConfigError::new("(file)", format!("not valid TOML: {}", e.message().trim()))
                .at_offset(text, e.span().map(|s| s.start))
        })?;
        apply_env(&mut value, env)?;
        let mut warnings = Vec::new();
        let mut on_unknown = |path: serde_ignored::Path<'_>| {
            warnings.push(format!("unknown config key `{path}` ignored"));
        };
        let de = serde_ignored::Deserializer::new(value, &mut on_unknown);
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.message().trim().to_string();
            let key = if path == "." || path.is_empty() { key_of(&msg) } else { path };
            let offset = offset_in_text(text, &key, env);
            ConfigError::new(key, msg).at_offset(text, offset)
        })?;
        cfg.validate()?;
        if let Some(w) = fields::local_listen_warning(&cfg.local.listen) {
            warnings.push(format!("local.listen: {w}"));
        }
        Ok((cfg, warnings))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.user_id.trim().is_empty() {
            return Err(ConfigError::new("user_id", "must not be empty"));
        }
        self.sync.validate()?;
        if let Some(problem) = crate::config::fields::obs_url_problem(&self.obs.url) {
            return Err(ConfigError::new("obs.url", problem));
        }
        self.twitch.validate()?;
        self.youtube.validate()?;
        if self.control.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::new(
                "control.listen",
                format!("`{}` is not an address like 127.0.0.1:4850", self.control.listen),
            ));
        }
        if self.local.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::new(
                "local.listen",
                format!("`{}` is not an address like 127.0.0.1:1935", self.local.listen),
            ));
        }
        if self.ingest == Some(IngestBackend::Cloudflare)
            && self.cloudflare.account_id.as_deref().is_none_or(|a| a.trim().is_empty())
        {
            return Err(ConfigError::new("ingest", "`cloudflare` needs [cloudflare] account_id"));
        }
        let base = url::Url::parse(&self.cloudflare.api_base)
            .map_err(|e| ConfigError::new("cloudflare.api_base", format!("not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ConfigError::new("cloudflare.api_base", "must be an http(s) URL"));
        }
        for (key, v) in [
            ("presence.cleanup_timeout_ms", self.presence.cleanup_timeout_ms),
            ("cloudflare.poll_interval_ms", self.cloudflare.poll_interval_ms),
            ("cloudflare.request_timeout_ms", self.cloudflare.request_timeout_ms),
            ("stream.retry_initial_ms", self.stream.retry_initial_ms),
            ("supervision.period_ms", self.supervision.period_ms),
            ("local.source_grace_ms", self.local.source_grace_ms),
            ("local.source_timeout_ms", self.local.source_timeout_ms),
        ] {
            if v == 0 {
                return Err(ConfigError::new(key, "must be greater than 0"));
            }
        }
        if self.history.sample_interval_ms < MIN_SAMPLE_INTERVAL_MS {
            return Err(ConfigError::new(
                "history.sample_interval_ms",
                format!("must be at least {MIN_SAMPLE_INTERVAL_MS}"),
            ));
        }
        if self.cloudflare.requests_per_5min == 0 || self.cloudflare.requests_per_5min > 1200 {
            return Err(ConfigError::new("cloudflare.requests_per_5min", "must be between 1 and 1200"));
        }
        let mut names = HashSet::new();
        for (i, p) in self.platforms.iter().enumerate() {
            let key = |f: &str| format!("platforms[{i}].{f}");
            crate::platforms::validate_name(&p.name).map_err(|m| ConfigError::new(key("name"), m))?;
            if !names.insert(p.name.as_str()) {
                return Err(ConfigError::new(key("name"), format!("duplicate platform name `{}`", p.name)));
            }
            match p.ingest_url() {
                None => return Err(ConfigError::new(key("url"), "required for custom platforms")),
                Some(u) => crate::platforms::validate_url(&u).map_err(|m| ConfigError::new(key("url"), m))?,
            }
        }
        Ok(())
    }

    /// The ingest backend in force: as set, else `cloudflare` if an account is configured,
    /// else `local`.
    pub fn ingest_backend(&self) -> IngestBackend {
        match self.ingest {
            Some(b) => b,
            None if self.cloudflare.account_id.as_deref().is_some_and(|a| !a.trim().is_empty()) => {
                IngestBackend::Cloudflare
            }
            None => IngestBackend::Local,
        }
    }

    pub fn cleanup_timeout(&self) -> Duration {
        Duration::from_millis(self.presence.cleanup_timeout_ms)
    }

    /// The data folder: `[storage] dir`, else the platform's app data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.storage.dir.clone().unwrap_or_else(default_data_dir)
    }
}

/// `$XDG_DATA_HOME/streampai` on Linux, `~/Library/Application Support/streampai` on macOS,
/// `%APPDATA%\streampai` on Windows.
pub fn default_data_dir() -> PathBuf {
    directories::BaseDirs::new()
        .map(|d| d.data_dir().join("streampai"))
        .unwrap_or_else(|| std::env::temp_dir().join("streampai"))
}

/// Env overrides, documented in the README.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("STREAMPAI_USER_ID", "user_id"),
    ("STREAMPAI_CONTROL_LISTEN", "control.listen"),
    ("STREAMPAI_CLOUDFLARE_ACCOUNT_ID", "cloudflare.account_id"),
    ("STREAMPAI_CLOUDFLARE_API_BASE", "cloudflare.api_base"),
    ("STREAMPAI_POLL_INTERVAL_MS", "cloudflare.poll_interval_ms"),
    ("STREAMPAI_CLEANUP_TIMEOUT_MS", "presence.cleanup_timeout_ms"),
    ("STREAMPAI_DATA_DIR", "storage.dir"),
    ("STREAMPAI_INGEST", "ingest"),
    ("STREAMPAI_LOCAL_LISTEN", "local.listen"),
    ("STREAMPAI_SAMPLE_INTERVAL_MS", "history.sample_interval_ms"),
    ("STREAMPAI_SYNC_URL", "sync.url"),
    ("STREAMPAI_SYNC_DEVICE_NAME", "sync.device_name"),
    ("STREAMPAI_OBS_URL", "obs.url"),
    ("STREAMPAI_TWITCH_CLIENT_ID", "twitch.client_id"),
    ("STREAMPAI_TWITCH_AUTH_URL", "twitch.auth_url"),
    ("STREAMPAI_TWITCH_API_URL", "twitch.api_url"),
    ("STREAMPAI_TWITCH_EVENTSUB_URL", "twitch.eventsub_url"),
    ("STREAMPAI_YOUTUBE_CLIENT_ID", "youtube.client_id"),
    ("STREAMPAI_YOUTUBE_CLIENT_SECRET", "youtube.client_secret"),
    ("STREAMPAI_YOUTUBE_AUTH_URL", "youtube.auth_url"),
    ("STREAMPAI_YOUTUBE_TOKEN_URL", "youtube.token_url"),
    ("STREAMPAI_YOUTUBE_API_URL", "youtube.api_url"),
];

fn apply_env(root: &mut toml::Value, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    for (var, path) in ENV_OVERRIDES {
        let Some(raw) = env(var).filter(|v| !v.is_empty()) else { continue };
        let value = if path.ends_with("_ms") {
            toml::Value::Integer(
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| ConfigError::new(*var, format!("`{raw}` is not a number")))?,
            )
        } else {
            toml::Value::String(raw)
        };
        let mut node = &mut *root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let table = node.as_table_mut().ok_or_else(|| ConfigError::new(*path, "expected a table"))?;
            if parts.peek().is_none() {
                table.insert(part.to_string(), value);
                break;
            }
            node = table.entry(part.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
        }
    }
    Ok(())
}

/// Where the value at `key` (a serde path such as `platforms[1].kind`) is in `text`: the file is
/// read again straight from the text (which keeps positions) and the error at the same key gives
/// the span. `None` when the value comes from an env override or the text alone reads fine.
fn offset_in_text(text: &str, key: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
    let overridden =
        ENV_OVERRIDES.iter().any(|(var, path)| *path == key && env(var).is_some_and(|v| !v.is_empty()));
    if overridden || text.trim().is_empty() {
        return None;
    }
    match serde_path_to_error::deserialize::<_, Config>(toml::Deserializer::new(text)) {
        Err(e) if e.path().to_string() == key => e.inner().span().map(|s| s.start),
        _ => None,
    }
}

/// Best effort: find the offending key in a serde message (e.g. "unknown variant `x`, expected
/// ... for key `platforms.kind`").
fn key_of(message: &str) -> String {
    if let Some(i) = message.find("missing field `") {
        let rest = &message[i + 15..];
        if let Some(end) = rest.find('`') {
            return rest[..end].to_string();
        }
    }
    "(file)".to_string()
}

pub mod fields;
#[cfg(test)]
mod tests;
