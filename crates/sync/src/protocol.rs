//! The sync protocol, version [`PROTOCOL_VERSION`]: JSON text frames over a WebSocket, each an
//! object with a `type` tag. The spec is `docs/SYNC-PROTOCOL.md`; this file is its source of
//! truth.
//!
//! Both ends decode with [`decode_client`] / [`decode_server`], which refuse frames over a size
//! limit before parsing, and check every identifier's length and alphabet after parsing. The
//! errors never contain the frame's text (a token must never reach a log line).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The newest protocol version this build speaks. Version 2 adds the webhook relay (`hook`,
/// `hook_ack`); everything of version 1 is unchanged.
pub const PROTOCOL_VERSION: u32 = 2;

/// The oldest version still accepted. A hello with a version outside
/// `MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION` is refused with `unsupported_version`; a client then
/// retries with the next lower version it speaks (negotiation: see `docs/SYNC-PROTOCOL.md`).
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// The first version with the webhook relay.
pub const HOOKS_VERSION: u32 = 2;

/// Does this build speak `version`?
pub fn supports_version(version: u32) -> bool {
    (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version)
}

/// Default largest frame, in bytes (both directions).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Default heartbeat: the client pings every 5 s; the server drops a client it has heard
/// nothing from for 15 s (and clients consider the server lost after the same time).
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 5_000;
pub const DEFAULT_HEARTBEAT_TIMEOUT_MS: u64 = 15_000;

/// Longest token, device id, device name, command id and platform name accepted.
pub const MAX_TOKEN_LEN: usize = 256;
pub const MAX_ID_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 64;
/// Most platforms in a published stream state.
pub const MAX_PLATFORMS: usize = 64;

/// What a connection is: the engine that runs the stream, or a device that watches and
/// commands it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Host,
    Device,
}

/// Client → server.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// Must be the first frame. Nothing is shared before it is accepted.
    Hello { version: u32, token: String, device_id: String, device_name: String, role: Role },
    /// Heartbeat; answered by `pong` with the same `seq`.
    Ping {
        #[serde(default)]
        seq: u64,
    },
    /// Host only: the stream's current state (replaces the previous one).
    StreamState { state: StreamState },
    /// Device only: a command for the user's host, relayed and answered by `command_result`
    /// with the same `id`.
    Command { id: String, command: Command },
    /// Host only: the answer to a relayed command; `to` is the `from` of that command.
    CommandResult { id: String, to: String, result: CommandResult },
    /// Host only, version 2: the webhook event `id` is stored (the alert store has it); the
    /// server forgets it.
    HookAck { id: String },
}

/// Server → client.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The hello was accepted. `conn` is this connection's reference (a presence meta's `ref`).
    Welcome {
        version: u32,
        user: String,
        conn: String,
        heartbeat_interval_ms: u64,
        heartbeat_timeout_ms: u64,
        max_message_bytes: usize,
    },
    /// Something went wrong. If `fatal`, a close frame with the same code follows.
    Error {
        code: ErrorCode,
        message: String,
        fatal: bool,
    },
    Pong {
        seq: u64,
    },
    /// Everyone of this user present now (sent once, right after `welcome`).
    PresenceState {
        presences: Presences,
    },
    /// Who joined and left since (Phoenix.Presence's `presence_diff`).
    PresenceDiff {
        joins: Presences,
        leaves: Presences,
    },
    /// The host's stream state; `state: null` when no host publishes one.
    StreamState {
        host: Option<String>,
        state: Option<StreamState>,
    },
    /// To hosts: a device's command. Answer with `command_result {id, to: from}`.
    Command {
        id: String,
        from: String,
        device_id: String,
        device_name: String,
        command: Command,
    },
    /// To the device that sent `command {id}`.
    CommandResult {
        id: String,
        result: CommandResult,
    },
    /// To hosts of version 2 or later: a webhook event the server took for this user (e.g. a
    /// Ko-fi donation), held until a host answers `hook_ack {id}`. Delivered at least once:
    /// `id` is stable (Ko-fi's `message_id`), so the host inserts it idempotently.
    Hook(Hook),
}

/// A webhook event relayed to the host. `payload` is the sender's own JSON (Ko-fi's `data`)
/// without its verification token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Hook {
    /// `kofi:<message_id>`: 1-64 identifier bytes, the same for every delivery of one event.
    pub id: String,
    /// Who sent it: `kofi`.
    pub source: String,
    /// When the server took it, Unix milliseconds.
    pub received_at: u64,
    pub payload: serde_json::Value,
}

/// Presence per device id, each with one meta per connection (a device may connect twice).
pub type Presences = BTreeMap<String, PresenceEntry>;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PresenceEntry {
    pub metas: Vec<Meta>,
}

/// One connection of a device.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Meta {
    /// The connection's reference, unique across server instances.
    #[serde(rename = "ref")]
    pub conn: String,
    pub device_name: String,
    pub role: Role,
    /// Unix time in milliseconds.
    pub online_at: u64,
}

/// The stream as the host sees it. Enumerations travel as strings so an older device can show
/// a newer host's states.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StreamState {
    /// `offline`, `starting`, `live`, `stopping`.
    pub phase: String,
    /// Is the tree up on the host (`running` / `stopped`)?
    #[serde(default)]
    pub manager: String,
    /// `unknown`, `no_traffic`, `receiving_traffic`.
    #[serde(default)]
    pub input: String,
    #[serde(default)]
    pub uuid: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub platforms: BTreeMap<String, PlatformState>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlatformState {
    /// `starting`, `live`, `retrying`, `failed`, `stopped`, `disabled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a device can ask the host to do.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    Start,
    Stop,
    SetPlatformEnabled { platform: String, enabled: bool },
    AlertPause,
    AlertResume,
    AlertSkip,
    AlertClear,
}

/// The outcome of a command: `{"ok": true, "data": ...}` or
/// `{"ok": false, "error": {"kind": ..., "message": ...}}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CommandResult {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CommandError>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommandError {
    /// `no_host` (from the server), or the host's error kind (`invalid_transition`, ...).
    pub kind: String,
    pub message: String,
}

impl CommandResult {
    pub fn ok(data: Option<serde_json::Value>) -> Self {
        CommandResult { ok: true, data, error: None }
    }
    pub fn err(kind: impl Into<String>, message: impl Into<String>) -> Self {
        CommandResult {
            ok: false,
            data: None,
            error: Some(CommandError { kind: kind.into(), message: message.into() }),
        }
    }
}

/// Why the server reports an error or closes. Each has a WebSocket close code (4000-4999 are
/// the application's; 1001 and 1009 are standard).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The first frame was not a valid hello in time.
    HelloTimeout,
    /// Unknown or revoked token.
    Unauthorized,
    UnsupportedVersion,
    /// Not JSON, unknown type, missing field, bad identifier.
    BadMessage,
    /// Over the size limit.
    TooLarge,
    /// The role may not send this message (e.g. a device publishing stream state).
    Forbidden,
    RateLimited,
    /// Nothing heard for the heartbeat timeout.
    HeartbeatTimeout,
    /// The client did not read its frames fast enough.
    SlowConsumer,
    /// The server is stopping.
    ShuttingDown,
    /// A server-side failure (e.g. the Redis backend is unreachable).
    Internal,
}

impl ErrorCode {
    /// The WebSocket close code sent with it.
    pub fn close_code(self) -> u16 {
        match self {
            ErrorCode::ShuttingDown => 1001,
            ErrorCode::TooLarge => 1009,
            ErrorCode::Internal => 1011,
            ErrorCode::HelloTimeout => 4000,
            ErrorCode::Unauthorized => 4001,
            ErrorCode::UnsupportedVersion => 4002,
            ErrorCode::BadMessage => 4003,
            ErrorCode::Forbidden => 4004,
            ErrorCode::RateLimited => 4005,
            ErrorCode::HeartbeatTimeout => 4006,
            ErrorCode::SlowConsumer => 4007,
        }
    }
    /// The close reason text (the snake_case name).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::HelloTimeout => "hello_timeout",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::HeartbeatTimeout => "heartbeat_timeout",
            ErrorCode::SlowConsumer => "slow_consumer",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
        }
    }
    /// Should a client stop reconnecting on this? (The token or the version is wrong.)
    pub fn is_permanent(self) -> bool {
        matches!(self, ErrorCode::Unauthorized | ErrorCode::UnsupportedVersion)
    }
}

/// Why a frame was refused. Never holds the frame's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("not valid JSON for this protocol ({category} at column {column})")]
    Json { category: &'static str, column: usize, detail: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            _ => ErrorCode::BadMessage,
        }
    }
    /// A message safe to send back to the client that sent the frame (the serde detail may
    /// quote the client's own text, so it goes to that client only, never to a log).
    pub fn client_message(&self) -> String {
        match self {
            DecodeError::Json { detail, .. } => truncate(detail, 200),
            other => other.to_string(),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn json_error(e: serde_json::Error) -> DecodeError {
    let category = match e.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "eof",
    };
    DecodeError::Json { category, column: e.column(), detail: e.to_string() }
}

fn check_len(bytes: &[u8], max: usize) -> Result<(), DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge { len: bytes.len(), max });
    }
    Ok(())
}

/// An identifier: 1..=64 bytes of `[A-Za-z0-9_.:-]`.
fn check_id(field: &'static str, v: &str) -> Result<(), DecodeError> {
    if v.is_empty() {
        return Err(DecodeError::Invalid { field, reason: "empty" });
    }
    if v.len() > MAX_ID_LEN {
        return Err(DecodeError::Invalid { field, reason: "longer than 64 bytes" });
    }
    if !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')) {
        return Err(DecodeError::Invalid { field, reason: "only A-Z a-z 0-9 _ . : - allowed" });
    }
    Ok(())
}

/// Is `v` an identifier (1..=64 bytes of `[A-Za-z0-9_.:-]`)?
pub fn valid_id(v: &str) -> bool {
    check_id("id", v).is_ok()
}

/// A display name: 1..=64 bytes, no control characters.
fn check_name(field: &'static str, v: &str) -> Result<(), DecodeError> {
    if v.trim().is_empty() {
        return Err(DecodeError::Invalid { field, reason: "empty" });
    }
    if v.len() > MAX_NAME_LEN {
        return Err(DecodeError::Invalid { field, reason: "longer than 64 bytes" });
    }
    if v.chars().any(char::is_control) {
        return Err(DecodeError::Invalid { field, reason: "control characters" });
    }
    Ok(())
}

fn check_state(s: &StreamState) -> Result<(), DecodeError> {
    if s.platforms.len() > MAX_PLATFORMS {
        return Err(DecodeError::Invalid { field: "state.platforms", reason: "more than 64 platforms" });
    }
    for name in s.platforms.keys() {
        check_name("state.platforms", name)?;
    }
    Ok(())
}

fn check_command(c: &Command) -> Result<(), DecodeError> {
    if let Command::SetPlatformEnabled { platform, .. } = c {
        check_name("command.platform", platform)?;
    }
    Ok(())
}

/// Decode a client frame: size limit first, then JSON, then field checks.
pub fn decode_client(bytes: &[u8], max: usize) -> Result<ClientMsg, DecodeError> {
    check_len(bytes, max)?;
    let msg: ClientMsg = serde_json::from_slice(bytes).map_err(json_error)?;
    match &msg {
        ClientMsg::Hello { token, device_id, device_name, .. } => {
            if token.is_empty() || token.len() > MAX_TOKEN_LEN {
                return Err(DecodeError::Invalid {
                    field: "token",
                    reason: "empty or longer than 256 bytes",
                });
            }
            check_id("device_id", device_id)?;
            check_name("device_name", device_name)?;
        }
        ClientMsg::Ping { .. } => {}
        ClientMsg::StreamState { state } => check_state(state)?,
        ClientMsg::Command { id, command } => {
            check_id("id", id)?;
            check_command(command)?;
        }
        ClientMsg::CommandResult { id, to, result } => {
            check_id("id", id)?;
            check_id("to", to)?;
            if let Some(e) = &result.error {
                if e.kind.len() > MAX_ID_LEN {
                    return Err(DecodeError::Invalid { field: "result.error.kind", reason: "too long" });
                }
            }
        }
        ClientMsg::HookAck { id } => check_id("id", id)?,
    }
    Ok(msg)
}

/// Decode a server frame (the client side), with the same size rule.
pub fn decode_server(bytes: &[u8], max: usize) -> Result<ServerMsg, DecodeError> {
    check_len(bytes, max)?;
    serde_json::from_slice(bytes).map_err(json_error)
}

/// The fuzzing oracle: decode `data` both ways; it must never panic, and whatever decodes must
/// come back unchanged from an encode/decode round trip (panics otherwise). Used by the
/// `cargo fuzz` target, the corpus replay test and the bounded stable-toolchain fuzz test.
pub fn check_frame(data: &[u8], max: usize) {
    if let Ok(m) = decode_client(data, max) {
        let again = encode(&m);
        // Re-encoding may grow a frame (e.g. `1e2` → `100.0`), so the limit is not re-applied.
        assert_eq!(
            decode_client(again.as_bytes(), usize::MAX).as_ref(),
            Ok(&m),
            "client round trip: {again}"
        );
    }
    if let Ok(m) = decode_server(data, max) {
        let again = encode(&m);
        assert_eq!(
            decode_server(again.as_bytes(), usize::MAX).as_ref(),
            Ok(&m),
            "server round trip: {again}"
        );
    }
}

/// Encode any message (infallible for these types).
pub fn encode<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = DEFAULT_MAX_MESSAGE_BYTES;

    #[test]
    fn hello_round_trips_with_a_type_tag() {
        let h = ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            token: "t0k".into(),
            device_id: "laptop-1".into(),
            device_name: "Laptop".into(),
            role: Role::Device,
        };
        let s = encode(&h);
        assert!(s.contains(r#""type":"hello""#), "{s}");
        assert!(s.contains(r#""role":"device""#), "{s}");
        assert_eq!(decode_client(s.as_bytes(), MAX).unwrap(), h);
    }

    #[test]
    fn commands_use_an_action_tag() {
        let raw = br#"{"type":"command","id":"r1","command":{"action":"set_platform_enabled","platform":"twitch","enabled":false}}"#;
        let m = decode_client(raw, MAX).unwrap();
        assert_eq!(
            m,
            ClientMsg::Command {
                id: "r1".into(),
                command: Command::SetPlatformEnabled { platform: "twitch".into(), enabled: false }
            }
        );
        let raw = br#"{"type":"command","id":"r2","command":{"action":"stop"}}"#;
        assert!(matches!(decode_client(raw, MAX), Ok(ClientMsg::Command { command: Command::Stop, .. })));
    }

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        let big = vec![b' '; MAX + 1];
        assert_eq!(decode_client(&big, MAX), Err(DecodeError::TooLarge { len: MAX + 1, max: MAX }));
        assert_eq!(decode_client(&big, MAX).unwrap_err().code(), ErrorCode::TooLarge);
    }

    #[test]
    fn bad_frames_give_clear_errors_without_the_frame_text() {
        let e = decode_client(b"not json", MAX).unwrap_err();
        assert!(matches!(e, DecodeError::Json { category: "syntax", .. }), "{e:?}");
        let e = decode_client(br#"{"type":"launch_missiles"}"#, MAX).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadMessage);
        // A secret in a wrongly typed field never shows in the Display form (what gets logged).
        let e = decode_client(
            br#"{"type":"hello","version":"sekrit-value","token":"x","device_id":"a","device_name":"b","role":"host"}"#,
            MAX,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("sekrit"), "{e}");
        // Unknown fields are refused (typos do not pass silently).
        let e = decode_client(br#"{"type":"ping","seq":1,"extra":true}"#, MAX).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadMessage);
    }

    #[test]
    fn identifiers_are_checked() {
        let hello = |id: &str, name: &str, token: &str| {
            format!(
                r#"{{"type":"hello","version":1,"token":"{token}","device_id":"{id}","device_name":"{name}","role":"device"}}"#
            )
        };
        assert!(decode_client(hello("ok-1", "Phone", "t").as_bytes(), MAX).is_ok());
        let cases = [
            (hello("", "Phone", "t"), "device_id"),
            (hello("a b", "Phone", "t"), "device_id"),
            (hello(&"x".repeat(65), "Phone", "t"), "device_id"),
            (hello("a", " ", "t"), "device_name"),
            (hello("a", "tab\\there", "t"), "device_name"),
            (hello("a", "Phone", ""), "token"),
            (hello("a", "Phone", &"t".repeat(257)), "token"),
        ];
        for (frame, field) in cases {
            match decode_client(frame.as_bytes(), MAX) {
                Err(DecodeError::Invalid { field: f, .. }) => assert_eq!(f, field, "{frame}"),
                other => panic!("{frame}: {other:?}"),
            }
        }
    }

    #[test]
    fn server_messages_round_trip() {
        let mut joins = Presences::new();
        joins.insert(
            "phone".into(),
            PresenceEntry {
                metas: vec![Meta {
                    conn: "c1".into(),
                    device_name: "Phone".into(),
                    role: Role::Device,
                    online_at: 1,
                }],
            },
        );
        let msgs = [
            ServerMsg::PresenceDiff { joins, leaves: Presences::new() },
            ServerMsg::Error { code: ErrorCode::Unauthorized, message: "no".into(), fatal: true },
            ServerMsg::CommandResult { id: "r".into(), result: CommandResult::err("no_host", "no host") },
            ServerMsg::StreamState { host: None, state: None },
        ];
        for m in msgs {
            let s = encode(&m);
            assert!(s.contains(r#""ref":"c1""#) || !s.contains("metas"), "{s}");
            assert_eq!(decode_server(s.as_bytes(), MAX).unwrap(), m);
        }
    }

    #[test]
    fn hooks_round_trip_and_acks_are_checked() {
        let hook = ServerMsg::Hook(Hook {
            id: "kofi:3a1fac0c-f960-4506-a60e-824979a74e74".into(),
            source: "kofi".into(),
            received_at: 1_764_121_000_000,
            payload: serde_json::json!({"from_name": "Ann", "amount": "3.00", "is_public": true}),
        });
        let s = encode(&hook);
        assert!(s.starts_with(r#"{"type":"hook","id":"kofi:"#), "{s}");
        assert_eq!(decode_server(s.as_bytes(), MAX).unwrap(), hook);
        let ack = br#"{"type":"hook_ack","id":"kofi:3a1fac0c-f960-4506-a60e-824979a74e74"}"#;
        assert!(matches!(decode_client(ack, MAX), Ok(ClientMsg::HookAck { .. })));
        let bad = br#"{"type":"hook_ack","id":"kofi: spaces"}"#;
        assert!(matches!(decode_client(bad, MAX), Err(DecodeError::Invalid { field: "id", .. })));
        assert!(supports_version(1) && supports_version(2) && !supports_version(0) && !supports_version(3));
    }

    #[test]
    fn close_codes_are_distinct() {
        use std::collections::HashSet;
        let all = [
            ErrorCode::HelloTimeout,
            ErrorCode::Unauthorized,
            ErrorCode::UnsupportedVersion,
            ErrorCode::BadMessage,
            ErrorCode::TooLarge,
            ErrorCode::Forbidden,
            ErrorCode::RateLimited,
            ErrorCode::HeartbeatTimeout,
            ErrorCode::SlowConsumer,
            ErrorCode::ShuttingDown,
            ErrorCode::Internal,
        ];
        let codes: HashSet<u16> = all.iter().map(|c| c.close_code()).collect();
        assert_eq!(codes.len(), all.len());
        for c in all {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }
}
