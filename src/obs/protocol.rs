//! The part of the obs-websocket v5 protocol the app speaks (rpcVersion 1; the protocol document
//! of obs-websocket 5.x, `docs/generated/protocol.md`): the opening handshake (Hello, Identify
//! with the SHA-256 challenge answer, Identified), requests and their responses, and events.
//!
//! Pure: no I/O, so every decision about a peer's bytes is unit-tested here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The RPC version this client speaks (obs-websocket 5.x).
pub const RPC_VERSION: u32 = 1;

/// Event subscriptions: `General` (ExitStarted) and `Outputs` (StreamStateChanged).
pub const SUBSCRIBE_GENERAL: u32 = 1 << 0;
pub const SUBSCRIBE_OUTPUTS: u32 = 1 << 6;

/// Close codes obs-websocket sends (WebSocketCloseCode).
pub const CLOSE_AUTHENTICATION_FAILED: u16 = 4009;
pub const CLOSE_UNSUPPORTED_RPC_VERSION: u16 = 4010;

/// OpCodes.
pub const OP_HELLO: u8 = 0;
pub const OP_IDENTIFY: u8 = 1;
pub const OP_IDENTIFIED: u8 = 2;
pub const OP_EVENT: u8 = 5;
pub const OP_REQUEST: u8 = 6;
pub const OP_REQUEST_RESPONSE: u8 = 7;

/// Every message: `{"op": N, "d": {...}}`.
#[derive(Debug, Deserialize, Serialize)]
pub struct Envelope {
    pub op: u8,
    pub d: Value,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub obs_web_socket_version: String,
    pub rpc_version: u32,
    #[serde(default)]
    pub authentication: Option<Challenge>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Challenge {
    pub challenge: String,
    pub salt: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identified {
    pub negotiated_rpc_version: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestResponse {
    pub request_id: String,
    pub request_status: RequestStatus,
    #[serde(default)]
    pub response_data: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct RequestStatus {
    pub result: bool,
    pub code: u16,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RawEvent {
    pub event_type: String,
    #[serde(default)]
    pub event_data: Option<Value>,
}

/// What a peer sent, once read.
#[derive(Debug)]
pub enum Incoming {
    Hello(Hello),
    Identified(Identified),
    Event(RawEvent),
    Response(RequestResponse),
    /// A known message type the client has no use for (e.g. batch responses).
    Other(u8),
}

/// A frame that is not obs-websocket v5 JSON, in words (the peer's text is never quoted whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// Read one text frame.
pub fn parse(text: &str) -> Result<Incoming, Malformed> {
    let env: Envelope = serde_json::from_str(text)
        .map_err(|e| Malformed(format!("not an obs-websocket message ({})", e.classify_words())))?;
    let bad = |what: &str, e: serde_json::Error| Malformed(format!("a malformed {what} message: {e}"));
    Ok(match env.op {
        OP_HELLO => Incoming::Hello(serde_json::from_value(env.d).map_err(|e| bad("Hello", e))?),
        OP_IDENTIFIED => {
            Incoming::Identified(serde_json::from_value(env.d).map_err(|e| bad("Identified", e))?)
        }
        OP_EVENT => Incoming::Event(serde_json::from_value(env.d).map_err(|e| bad("Event", e))?),
        OP_REQUEST_RESPONSE => {
            Incoming::Response(serde_json::from_value(env.d).map_err(|e| bad("RequestResponse", e))?)
        }
        other => Incoming::Other(other),
    })
}

trait ClassifyWords {
    fn classify_words(&self) -> &'static str;
}

impl ClassifyWords for serde_json::Error {
    fn classify_words(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "JSON without `op` and `d`",
            serde_json::error::Category::Eof => "cut-off JSON",
        }
    }
}

/// The Identify message (op 1), with the challenge answered when the server asks for one.
pub fn identify(auth: Option<String>, subscriptions: u32) -> String {
    let mut d = serde_json::json!({ "rpcVersion": RPC_VERSION, "eventSubscriptions": subscriptions });
    if let Some(a) = auth {
        d["authentication"] = Value::String(a);
    }
    serde_json::json!({ "op": OP_IDENTIFY, "d": d }).to_string()
}

/// A Request message (op 6).
pub fn request(request_type: &str, id: &str, data: Option<&Value>) -> String {
    let mut d = serde_json::json!({ "requestType": request_type, "requestId": id });
    if let Some(v) = data {
        d["requestData"] = v.clone();
    }
    serde_json::json!({ "op": OP_REQUEST, "d": d }).to_string()
}

/// The answer to the server's challenge: `base64(sha256(base64(sha256(password + salt)) +
/// challenge))`.
pub fn auth_response(password: &str, challenge: &Challenge) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let b64 = base64::engine::general_purpose::STANDARD;
    let secret = b64.encode(Sha256::new().chain_update(password).chain_update(&challenge.salt).finalize());
    b64.encode(Sha256::new().chain_update(secret).chain_update(&challenge.challenge).finalize())
}

/// The output states of `StreamStateChanged` (`outputState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputState {
    Starting,
    Started,
    Stopping,
    Stopped,
    Reconnecting,
    Reconnected,
    Other,
}

impl OutputState {
    pub fn parse(s: &str) -> OutputState {
        match s {
            "OBS_WEBSOCKET_OUTPUT_STARTING" => OutputState::Starting,
            "OBS_WEBSOCKET_OUTPUT_STARTED" => OutputState::Started,
            "OBS_WEBSOCKET_OUTPUT_STOPPING" => OutputState::Stopping,
            "OBS_WEBSOCKET_OUTPUT_STOPPED" => OutputState::Stopped,
            "OBS_WEBSOCKET_OUTPUT_RECONNECTING" => OutputState::Reconnecting,
            "OBS_WEBSOCKET_OUTPUT_RECONNECTED" => OutputState::Reconnected,
            _ => OutputState::Other,
        }
    }
}

/// The events the app acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum ObsEvent {
    /// `StreamStateChanged`: OBS's stream output moved.
    StreamState { active: bool, state: OutputState },
    /// `ExitStarted`: OBS is closing.
    Exiting,
    /// Any other event (ignored).
    Other(String),
}

impl ObsEvent {
    pub fn from_raw(raw: RawEvent) -> Result<ObsEvent, Malformed> {
        match raw.event_type.as_str() {
            "StreamStateChanged" => {
                let d = raw.event_data.unwrap_or(Value::Null);
                let active = d.get("outputActive").and_then(Value::as_bool);
                let state = d.get("outputState").and_then(Value::as_str);
                match (active, state) {
                    (Some(active), Some(state)) => {
                        Ok(ObsEvent::StreamState { active, state: OutputState::parse(state) })
                    }
                    _ => Err(Malformed("a StreamStateChanged event without outputActive/outputState".into())),
                }
            }
            "ExitStarted" => Ok(ObsEvent::Exiting),
            other => Ok(ObsEvent::Other(other.chars().take(64).collect())),
        }
    }
}

/// `GetStreamStatus`'s answer (the fields the app shows).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    pub output_active: bool,
    #[serde(default)]
    pub output_reconnecting: bool,
    #[serde(default)]
    pub output_congestion: f64,
    #[serde(default)]
    pub output_skipped_frames: u64,
    #[serde(default)]
    pub output_total_frames: u64,
    #[serde(default)]
    pub output_bytes: u64,
}

/// `GetVersion`'s answer (the fields the app shows).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub obs_version: String,
    pub obs_web_socket_version: String,
    pub rpc_version: u32,
}

/// `GetStreamServiceSettings`' answer: `rtmp_common` (a listed service, e.g. Twitch),
/// `rtmp_custom` (server + key), or others (e.g. `whip_custom` in OBS 30).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamService {
    pub stream_service_type: String,
    #[serde(default)]
    pub stream_service_settings: serde_json::Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_answer_follows_the_protocol_document() {
        // Values computed outside Rust (Python's hashlib + base64) from the recipe in the
        // protocol document; the second uses the document's own example salt and challenge.
        let c = Challenge { challenge: "challenge".into(), salt: "salt".into() };
        assert_eq!(auth_response("pw", &c), "u2LyppGkAjwgvCNaKsAc4tztRWLqv1i85slC7KiH71Q=");
        assert_ne!(auth_response("pw2", &c), "u2LyppGkAjwgvCNaKsAc4tztRWLqv1i85slC7KiH71Q=");
        let doc = Challenge {
            challenge: "+IxH4CnCiqpX1rM9scsNynZzbOe4KhDeYcTNS3PDaeY=".into(),
            salt: "lM1GncleQOaCu9lT1yeUZhFYnqhsLLP1G5lAGo3ixaI=".into(),
        };
        assert_eq!(
            auth_response("supersecretpassword", &doc),
            "1Ct943GAT+6YQUUX47Ia/ncufilbe6+oD6lY+5kaCu4="
        );
    }

    #[test]
    fn frames_parse_or_are_refused_in_words() {
        let hello = r#"{"op":0,"d":{"obsWebSocketVersion":"5.1.0","rpcVersion":1,"authentication":{"challenge":"c","salt":"s"}}}"#;
        match parse(hello).unwrap() {
            Incoming::Hello(h) => {
                assert_eq!(h.obs_web_socket_version, "5.1.0");
                assert_eq!(h.authentication.unwrap().salt, "s");
            }
            other => panic!("{other:?}"),
        }
        let no_auth = r#"{"op":0,"d":{"obsWebSocketVersion":"5.1.0","rpcVersion":1}}"#;
        assert!(matches!(parse(no_auth), Ok(Incoming::Hello(Hello { authentication: None, .. }))));
        assert!(parse("not json").unwrap_err().0.contains("not JSON"));
        assert!(parse(r#"{"hello":1}"#).unwrap_err().0.contains("without `op`"));
        assert!(parse(r#"{"op":0,"d":{"rpcVersion":"x"}}"#).unwrap_err().0.contains("Hello"));
        assert!(matches!(parse(r#"{"op":9,"d":{}}"#), Ok(Incoming::Other(9))));
        let resp = r#"{"op":7,"d":{"requestType":"StartStream","requestId":"3","requestStatus":{"result":false,"code":500,"comment":"already"}}}"#;
        match parse(resp).unwrap() {
            Incoming::Response(r) => {
                assert_eq!((r.request_id.as_str(), r.request_status.code), ("3", 500));
                assert!(!r.request_status.result);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stream_events_are_read() {
        let raw = |v: Value| RawEvent { event_type: "StreamStateChanged".into(), event_data: Some(v) };
        let ev = ObsEvent::from_raw(raw(
            serde_json::json!({"outputActive": true, "outputState": "OBS_WEBSOCKET_OUTPUT_STARTED"}),
        ))
        .unwrap();
        assert_eq!(ev, ObsEvent::StreamState { active: true, state: OutputState::Started });
        assert!(ObsEvent::from_raw(raw(serde_json::json!({"outputActive": 1}))).is_err());
        let exit = RawEvent { event_type: "ExitStarted".into(), event_data: None };
        assert_eq!(ObsEvent::from_raw(exit).unwrap(), ObsEvent::Exiting);
    }

    #[test]
    fn identify_carries_the_answer_only_when_asked() {
        let with: Value = serde_json::from_str(&identify(Some("a".into()), 65)).unwrap();
        assert_eq!(with["op"], 1);
        assert_eq!(with["d"]["authentication"], "a");
        assert_eq!(with["d"]["eventSubscriptions"], 65);
        let without: Value = serde_json::from_str(&identify(None, 65)).unwrap();
        assert!(without["d"].get("authentication").is_none());
    }
}
