//! Records → the JSON the API serves.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::state::{InputRecord, OutputRecord, StatusEntry, StatusForm};

pub(crate) const RTMPS_URL: &str = "rtmps://live.cloudflare.com:443/live/";
pub(crate) const SRT_URL: &str = "srt://live.cloudflare.com:778";

pub(crate) fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The full live input (`stream_live_input` plus the drift fields of SOURCE.md).
pub(crate) fn live_input(input: &InputRecord, customer_code: &str, form: StatusForm) -> Value {
    let host = format!("https://customer-{customer_code}.cloudflarestream.com");
    let mut v = json!({
        "uid": input.uid,
        "created": time(&input.created),
        "modified": time(&input.modified),
        "meta": input.meta,
        "recording": {
            "mode": input.recording.mode,
            "timeoutSeconds": input.recording.timeout_seconds,
            "requireSignedURLs": input.recording.require_signed_urls,
            "allowedOrigins": input.recording.allowed_origins,
            "hideLiveViewerCount": input.recording.hide_live_viewer_count,
        },
        "enabled": input.enabled,
        "preferLowLatency": input.prefer_low_latency,
        "rtmps": {"url": RTMPS_URL, "streamKey": input.keys.rtmps},
        "rtmpsPlayback": {"url": RTMPS_URL, "streamKey": input.keys.rtmps_playback},
        "srt": {"url": SRT_URL, "streamId": input.uid, "passphrase": input.keys.srt_passphrase},
        "srtPlayback": {
            "url": SRT_URL,
            "streamId": format!("play{}", input.uid),
            "passphrase": input.keys.srt_playback_passphrase,
        },
        "webRTC": {"url": format!("{host}/{}/webRTC/publish", input.keys.webrtc)},
        "webRTCPlayback": {"url": format!("{host}/{}/webRTC/play", input.uid)},
        "status": input_status(input, form),
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(days) = input.delete_recording_after_days {
            obj.insert("deleteRecordingAfterDays".into(), json!(days));
        }
        if let Some(at) = &input.keys_rotated_at {
            obj.insert("keysRotatedAt".into(), json!(time(at)));
        }
    }
    v
}

/// A list item (`stream_live_input_object_without_url`).
pub(crate) fn live_input_summary(input: &InputRecord) -> Value {
    let mut v = Map::new();
    v.insert("uid".into(), json!(input.uid));
    v.insert("created".into(), json!(time(&input.created)));
    v.insert("modified".into(), json!(time(&input.modified)));
    v.insert("meta".into(), Value::Object(input.meta.clone()));
    if let Some(days) = input.delete_recording_after_days {
        v.insert("deleteRecordingAfterDays".into(), json!(days));
    }
    Value::Object(v)
}

fn entry(e: &StatusEntry) -> Value {
    json!({
        "state": e.state,
        "reason": e.reason,
        "ingestProtocol": e.ingest_protocol,
        "statusEnteredAt": time(&e.entered_at),
        "statusLastSeen": time(&e.last_seen),
    })
}

/// `null` for an input that never connected; otherwise the object or string form.
pub(crate) fn input_status(input: &InputRecord, form: StatusForm) -> Value {
    let Some(conn) = &input.connection else {
        return Value::Null;
    };
    match form {
        StatusForm::Object => json!({
            "current": entry(&conn.current),
            "history": conn.history.iter().map(entry).collect::<Vec<_>>(),
        }),
        StatusForm::String if conn.is_connected() => json!("connected"),
        StatusForm::String => json!(conn.current.reason),
    }
}

/// An output's current state and when it began, derived from its input unless forced.
pub(crate) fn output_state(input: &InputRecord, output: &OutputRecord) -> Option<(String, DateTime<Utc>)> {
    if let Some(forced) = &output.forced_state {
        return Some((forced.clone(), output.changed_at));
    }
    let conn = input.connection.as_ref()?;
    let since = conn.current.entered_at.max(output.changed_at);
    if conn.is_connected() && output.enabled {
        Some(("connected".into(), since))
    } else {
        Some(("disconnected".into(), since))
    }
}

/// `stream_output` plus a `status` in the object form (or `null` before any traffic).
pub(crate) fn output(input: &InputRecord, output: &OutputRecord) -> Value {
    let status = match output_state(input, output) {
        Some((state, since)) => json!({
            "current": {
                "state": state,
                "statusEnteredAt": time(&since),
                "statusLastSeen": time(&chrono::Utc::now().max(since)),
            }
        }),
        None => Value::Null,
    };
    json!({
        "uid": output.uid,
        "url": output.url,
        "streamKey": output.stream_key,
        "enabled": output.enabled,
        "status": status,
    })
}
