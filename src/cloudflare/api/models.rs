//! Models of the live-inputs API (official schema plus the drift in SOURCE.md), read leniently:
//! unknown fields are ignored and a malformed optional field becomes `None` instead of failing
//! the whole answer. Stream keys and passphrases are [`Secret`]s.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::secrets::Secret;

/// Deserializes any JSON and keeps it only if it has the expected shape.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

fn lenient_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Value::deserialize(d)?.as_str().map(Secret::new))
}

fn expose<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

fn enabled_default() -> bool {
    true
}

fn lenient_enabled<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)?.as_bool().unwrap_or(true))
}

/// Where a broadcaster pushes RTMPS (or where RTMPS playback is pulled).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtmpsEndpoint {
    pub url: String,
    #[serde(deserialize_with = "secret")]
    pub stream_key: Secret,
}

/// Where a broadcaster pushes SRT.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrtEndpoint {
    pub url: String,
    pub stream_id: String,
    #[serde(deserialize_with = "secret")]
    pub passphrase: Secret,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WebRtcEndpoint {
    pub url: String,
}

/// `recording` of a live input; also sent when creating or updating one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingSettings {
    /// `off` (default) or `automatic`.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(
        rename = "requireSignedURLs",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub require_signed_urls: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub hide_live_viewer_count: Option<bool>,
}

/// One state of a live input or output (`status.current` or a `status.history` entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusEntry {
    /// `connected`, `disconnected`, `error`, ...
    pub state: Option<String>,
    pub reason: Option<String>,
    pub ingest_protocol: Option<String>,
    pub status_entered_at: Option<String>,
    pub status_last_seen: Option<String>,
}

impl StatusEntry {
    fn from_value(v: &Value) -> Option<StatusEntry> {
        let obj = v.as_object()?;
        let field = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_string);
        Some(StatusEntry {
            state: field("state"),
            reason: field("reason"),
            ingest_protocol: field("ingestProtocol"),
            status_entered_at: field("statusEnteredAt"),
            status_last_seen: field("statusLastSeen"),
        })
    }
}

/// A live input's (or output's) `status`, in any of the three forms met in practice
/// (SOURCE.md). Parsing never fails: an unknown shape is kept as [`LiveInputStatus::Unrecognized`].
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LiveInputStatus {
    /// `null` or absent: never connected (or not reported).
    #[default]
    Absent,
    /// The schema's string form: `connected`, `reconnected`, `client_disconnect`, ...
    State(String),
    /// The object form: `{"current": {...}, "history": [...]}`; `current` absent if never
    /// connected.
    Detailed {
        current: Option<StatusEntry>,
        history: Vec<StatusEntry>,
    },
    Unrecognized(Value),
}

impl LiveInputStatus {
    pub fn from_value(v: Value) -> LiveInputStatus {
        match v {
            Value::Null => LiveInputStatus::Absent,
            Value::String(s) => LiveInputStatus::State(s),
            Value::Object(map) if is_status_object(&map) => LiveInputStatus::Detailed {
                current: map.get("current").and_then(StatusEntry::from_value),
                history: map
                    .get("history")
                    .and_then(Value::as_array)
                    .map(|h| h.iter().filter_map(StatusEntry::from_value).collect())
                    .unwrap_or_default(),
            },
            other => LiveInputStatus::Unrecognized(other),
        }
    }

    /// The current state: the string form, or `current.state`.
    pub fn state(&self) -> Option<&str> {
        match self {
            LiveInputStatus::State(s) => Some(s),
            LiveInputStatus::Detailed { current: Some(c), .. } => c.state.as_deref(),
            _ => None,
        }
    }

    /// Receiving traffic: `connected`/`reconnected`, or `current.state == "connected"`.
    pub fn is_receiving(&self) -> bool {
        match self {
            LiveInputStatus::State(s) => s == "connected" || s == "reconnected",
            LiveInputStatus::Detailed { .. } => self.state() == Some("connected"),
            _ => false,
        }
    }

    /// An output (or input) reported in state `error`.
    pub fn is_error(&self) -> bool {
        self.state() == Some("error")
    }
}

/// `current` absent/null/object and `history` absent/null/array.
fn is_status_object(map: &Map<String, Value>) -> bool {
    let current_ok = map.get("current").is_none_or(|c| c.is_null() || c.is_object());
    let history_ok = map.get("history").is_none_or(|h| h.is_null() || h.is_array());
    current_ok && history_ok
}

impl<'de> Deserialize<'de> for LiveInputStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(LiveInputStatus::from_value)
    }
}

/// A live input. List answers carry only `uid`, `created`, `modified`, `meta` and
/// `deleteRecordingAfterDays`; the rest is `None` there.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveInput {
    pub uid: String,
    #[serde(default, deserialize_with = "lenient")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient")]
    pub modified: Option<DateTime<Utc>>,
    #[serde(default)]
    pub meta: Value,
    #[serde(default, deserialize_with = "lenient")]
    pub recording: Option<RecordingSettings>,
    #[serde(default, deserialize_with = "lenient")]
    pub delete_recording_after_days: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub prefer_low_latency: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub keys_rotated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient")]
    pub rtmps: Option<RtmpsEndpoint>,
    #[serde(default, deserialize_with = "lenient")]
    pub rtmps_playback: Option<RtmpsEndpoint>,
    #[serde(default, deserialize_with = "lenient")]
    pub srt: Option<SrtEndpoint>,
    #[serde(default, deserialize_with = "lenient")]
    pub srt_playback: Option<SrtEndpoint>,
    #[serde(rename = "webRTC", default, deserialize_with = "lenient")]
    pub web_rtc: Option<WebRtcEndpoint>,
    #[serde(rename = "webRTCPlayback", default, deserialize_with = "lenient")]
    pub web_rtc_playback: Option<WebRtcEndpoint>,
    #[serde(default)]
    pub status: LiveInputStatus,
}

/// An output (simulcast target) of a live input.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveOutput {
    pub uid: String,
    #[serde(default)]
    pub url: String,
    #[serde(default, deserialize_with = "lenient_secret")]
    pub stream_key: Option<Secret>,
    #[serde(default = "enabled_default", deserialize_with = "lenient_enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub status: LiveInputStatus,
}

/// `GET /user/tokens/verify`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TokenVerification {
    #[serde(default)]
    pub id: Option<String>,
    /// `active`, `disabled` or `expired`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub expires_on: Option<String>,
    #[serde(default)]
    pub not_before: Option<String>,
}

impl TokenVerification {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// Body of create (and update) live input.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLiveInput {
    /// Free-form key/values, e.g. `{"name": "streampai:user-123"}`.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub meta: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingSettings>,
    /// At least 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_recording_after_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_creator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefer_low_latency: Option<bool>,
}

impl CreateLiveInput {
    /// An input with `meta.name` set and everything else defaulted.
    pub fn named(name: impl Into<String>) -> Self {
        CreateLiveInput { meta: serde_json::json!({ "name": name.into() }), ..CreateLiveInput::default() }
    }
}

/// Body of create output: restream to `url` with `stream_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOutput {
    /// `rtmp://` or `rtmps://`.
    pub url: String,
    #[serde(serialize_with = "expose")]
    pub stream_key: Secret,
    pub enabled: bool,
}

/// The `result` of list live inputs: `{"liveInputs": [...]}` per the schema, or a bare array.
pub(crate) fn live_input_items(result: Value) -> Option<Vec<Value>> {
    match result {
        Value::Array(items) => Some(items),
        Value::Object(mut obj) => match obj.remove("liveInputs") {
            Some(Value::Array(items)) => Some(items),
            Some(Value::Null) | None => Some(Vec::new()),
            Some(_) => None,
        },
        Value::Null => Some(Vec::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(v: Value) -> LiveInputStatus {
        serde_json::from_value(v).expect("status parsing never fails")
    }

    #[test]
    fn status_string_form() {
        assert!(status(json!("connected")).is_receiving());
        assert!(status(json!("reconnected")).is_receiving());
        assert!(!status(json!("reconnecting")).is_receiving());
        assert!(!status(json!("client_disconnect")).is_receiving());
        assert_eq!(status(json!("something_new")), LiveInputStatus::State("something_new".into()));
    }

    #[test]
    fn status_object_form() {
        let s = status(json!({
            "current": {"state": "connected", "reason": "connected", "ingestProtocol": "rtmp",
                        "statusEnteredAt": "2024-01-01T00:00:00Z", "statusLastSeen": "2024-01-01T00:01:00Z"},
            "history": [{"state": "disconnected", "reason": "client_disconnect"}, 7]
        }));
        assert!(s.is_receiving());
        match &s {
            LiveInputStatus::Detailed { current, history } => {
                assert_eq!(current.as_ref().and_then(|c| c.ingest_protocol.as_deref()), Some("rtmp"));
                assert_eq!(history.len(), 1, "odd history entries are skipped");
            }
            other => panic!("expected Detailed, got {other:?}"),
        }
        assert!(!status(json!({"current": {"state": "disconnected"}})).is_receiving());
        assert!(!status(json!({"history": []})).is_receiving(), "never connected");
        assert!(!status(json!({"current": {"state": 1}})).is_receiving());
        assert!(status(json!({"current": {"state": "error"}})).is_error());
    }

    #[test]
    fn status_null_absent_and_unknown_shapes() {
        assert_eq!(status(json!(null)), LiveInputStatus::Absent);
        let input: LiveInput = serde_json::from_value(json!({"uid": "a"})).expect("parses");
        assert_eq!(input.status, LiveInputStatus::Absent);
        for odd in [json!(5), json!(["connected"]), json!({"current": "connected"})] {
            let s = status(odd.clone());
            assert_eq!(s, LiveInputStatus::Unrecognized(odd));
            assert!(!s.is_receiving());
        }
    }

    #[test]
    fn live_inputs_parse_leniently_and_keep_keys_secret() {
        let input: LiveInput = serde_json::from_value(json!({
            "uid": "66be4bf738797e01e1fca35a7bdecdcd",
            "created": "2024-05-01T10:00:00.123456Z",
            "modified": "not a date",
            "meta": {"name": "streampai:user-1"},
            "recording": {"mode": "automatic", "timeoutSeconds": "ten"},
            "rtmps": {"url": "rtmps://live.cloudflare.com:443/live/", "streamKey": "sk-abc"},
            "srt": {"url": "srt://live.cloudflare.com:778", "streamId": "id", "passphrase": "pp-xyz"},
            "webRTC": {"url": "https://example/webRTC/publish"},
            "status": {"current": {"state": "connected"}},
            "somethingNew": true
        }))
        .expect("parses");
        assert!(input.created.is_some());
        assert_eq!(input.modified, None);
        let rec = input.recording.as_ref().expect("recording");
        assert_eq!((rec.mode.as_deref(), rec.timeout_seconds), (Some("automatic"), None));
        assert_eq!(input.rtmps.as_ref().map(|r| r.stream_key.expose()), Some("sk-abc"));
        assert_eq!(input.srt.as_ref().map(|s| s.passphrase.expose()), Some("pp-xyz"));
        assert!(input.status.is_receiving());
        let debug = format!("{input:?}");
        assert!(!debug.contains("sk-abc") && !debug.contains("pp-xyz"), "{debug}");
    }

    #[test]
    fn outputs_default_enabled_and_hide_the_key() {
        let out: LiveOutput =
            serde_json::from_value(json!({"uid": "o1", "url": "rtmp://x/app", "streamKey": "twitch-key"}))
                .expect("parses");
        assert!(out.enabled);
        assert!(!format!("{out:?}").contains("twitch-key"));
    }

    #[test]
    fn requests_serialize_to_the_schema_names() {
        let body = serde_json::to_value(CreateOutput {
            url: "rtmp://a.rtmp.youtube.com/live2".into(),
            stream_key: Secret::new("yt-key"),
            enabled: true,
        })
        .expect("serializes");
        assert_eq!(
            body,
            json!({"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "yt-key", "enabled": true})
        );
        let mut input = CreateLiveInput::named("streampai:user-1");
        input.recording = Some(RecordingSettings {
            mode: Some("off".into()),
            require_signed_urls: Some(false),
            ..RecordingSettings::default()
        });
        assert_eq!(
            serde_json::to_value(input).expect("serializes"),
            json!({"meta": {"name": "streampai:user-1"}, "recording": {"mode": "off", "requireSignedURLs": false}})
        );
    }

    #[test]
    fn list_results_in_both_shapes() {
        let wrapped = json!({"liveInputs": [{"uid": "a"}], "range": 1, "total": 1});
        assert_eq!(live_input_items(wrapped).map(|v| v.len()), Some(1));
        assert_eq!(live_input_items(json!([{"uid": "a"}, {"uid": "b"}])).map(|v| v.len()), Some(2));
        assert_eq!(live_input_items(json!("nope")), None);
    }
}
