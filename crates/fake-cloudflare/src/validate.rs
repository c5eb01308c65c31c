//! Request bodies: JSON → checked, typed changes, or a 400 in the Cloudflare envelope.

use serde_json::{Map, Value};

use crate::envelope::ApiError;

/// Parses a body as a JSON object. An empty body counts as `{}` when `allow_empty`.
pub(crate) fn object(bytes: &[u8], allow_empty: bool) -> Result<Map<String, Value>, ApiError> {
    if allow_empty && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(_) => Err(ApiError::malformed_json()),
    }
}

/// Changes to a live input's settings; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub(crate) struct InputChanges {
    pub meta: Option<Map<String, Value>>,
    pub mode: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub require_signed_urls: Option<bool>,
    pub allowed_origins: Option<Vec<String>>,
    pub hide_live_viewer_count: Option<bool>,
    /// `Some(None)` removes the scheduled deletion (an explicit `null`).
    pub delete_recording_after_days: Option<Option<f64>>,
    pub default_creator: Option<String>,
    pub enabled: Option<bool>,
    pub prefer_low_latency: Option<bool>,
}

fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
    }
}

fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

/// The body of `POST`/`PUT .../live_inputs[/{id}]` (`stream_create_input_request` plus drift).
pub(crate) fn input_changes(body: &Map<String, Value>) -> Result<InputChanges, ApiError> {
    let mut c = InputChanges {
        default_creator: string_field(body, "defaultCreator")?,
        enabled: bool_field(body, "enabled")?,
        prefer_low_latency: bool_field(body, "preferLowLatency")?,
        ..InputChanges::default()
    };
    match body.get("meta") {
        None => {}
        Some(Value::Object(m)) => c.meta = Some(m.clone()),
        Some(_) => return Err(ApiError::bad_request("meta must be an object")),
    }
    match body.get("deleteRecordingAfterDays") {
        None => {}
        Some(Value::Null) => c.delete_recording_after_days = Some(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(days) if days >= 30.0 => c.delete_recording_after_days = Some(Some(days)),
            _ => return Err(ApiError::bad_request("deleteRecordingAfterDays must be at least 30")),
        },
        Some(_) => return Err(ApiError::bad_request("deleteRecordingAfterDays must be a number or null")),
    }
    match body.get("recording") {
        None => {}
        Some(Value::Object(rec)) => recording_changes(rec, &mut c)?,
        Some(_) => return Err(ApiError::bad_request("recording must be an object")),
    }
    Ok(c)
}

fn recording_changes(rec: &Map<String, Value>, c: &mut InputChanges) -> Result<(), ApiError> {
    match string_field(rec, "mode")? {
        None => {}
        Some(m) if m == "off" || m == "automatic" => c.mode = Some(m),
        Some(_) => return Err(ApiError::bad_request("recording.mode must be \"off\" or \"automatic\"")),
    }
    match rec.get("timeoutSeconds") {
        None => {}
        Some(v) => match v.as_i64() {
            Some(t) if t >= 0 => c.timeout_seconds = Some(t),
            _ => {
                return Err(ApiError::bad_request("recording.timeoutSeconds must be a non-negative integer"))
            }
        },
    }
    c.require_signed_urls = bool_field(rec, "requireSignedURLs")?;
    c.hide_live_viewer_count = bool_field(rec, "hideLiveViewerCount")?;
    match rec.get("allowedOrigins") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let origins = items
                .iter()
                .map(|o| o.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ApiError::bad_request("recording.allowedOrigins must be strings"))?;
            c.allowed_origins = Some(origins);
        }
        Some(_) => return Err(ApiError::bad_request("recording.allowedOrigins must be an array")),
    }
    Ok(())
}

/// The body of `POST .../outputs` (`stream_create_output_request`).
#[derive(Debug)]
pub(crate) struct NewOutput {
    pub url: String,
    pub stream_key: String,
    pub enabled: bool,
}

pub(crate) fn new_output(body: &Map<String, Value>) -> Result<NewOutput, ApiError> {
    let url = string_field(body, "url")?.ok_or_else(|| ApiError::bad_request("url is required"))?;
    let stream_key =
        string_field(body, "streamKey")?.ok_or_else(|| ApiError::bad_request("streamKey is required"))?;
    let enabled = bool_field(body, "enabled")?.unwrap_or(true);
    if !is_rtmp_url(&url) {
        return Err(ApiError::bad_request("url must be an rtmp:// or rtmps:// URI with a host"));
    }
    Ok(NewOutput { url, stream_key, enabled })
}

/// The body of `PUT .../outputs/{id}` (`stream_update_output_request`: `enabled` required).
pub(crate) fn output_enabled(body: &Map<String, Value>) -> Result<bool, ApiError> {
    bool_field(body, "enabled")?.ok_or_else(|| ApiError::bad_request("enabled is required"))
}

fn is_rtmp_url(url: &str) -> bool {
    let rest = url.strip_prefix("rtmp://").or_else(|| url.strip_prefix("rtmps://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !url.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmp_urls_need_scheme_and_host() {
        assert!(is_rtmp_url("rtmp://a.rtmp.youtube.com/live2"));
        assert!(is_rtmp_url("rtmps://live.twitch.tv:443/app"));
        assert!(!is_rtmp_url("https://example.com/live"));
        assert!(!is_rtmp_url("rtmp:///live"));
        assert!(!is_rtmp_url("rtmp://host/with space"));
    }
}
