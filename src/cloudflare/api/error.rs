//! Errors of the Cloudflare client, and what a failed response maps to.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of the envelope's `errors` (or `messages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    pub code: u32,
    pub message: String,
}

/// Why a Cloudflare call failed. Messages never contain the API token or stream keys.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CloudflareError {
    /// 401/403: bad token, wrong account or missing permission (code 10000 for all three).
    #[error("Cloudflare refused the request's credentials (error codes {codes:?})")]
    Unauthorized { codes: Vec<u32> },
    #[error("the live input or output does not exist on Cloudflare")]
    NotFound,
    #[error("Cloudflare rate limit reached{}", retry_hint(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("Cloudflare server error (HTTP {status})")]
    Server { status: u16 },
    #[error("Cloudflare API error (HTTP {status}): {}", describe(.errors))]
    Api { status: u16, errors: Vec<ApiMessage> },
    #[error("the Cloudflare API did not answer in time")]
    Timeout,
    #[error("cannot reach the Cloudflare API: {0}")]
    Unreachable(String),
    #[error("unexpected answer from the Cloudflare API: {0}")]
    Decode(String),
    #[error("invalid Cloudflare settings: {0}")]
    InvalidConfig(String),
    /// A call the client refuses to send (e.g. an empty id).
    #[error("invalid Cloudflare request: {0}")]
    InvalidRequest(String),
}

fn retry_hint(after: &Option<Duration>) -> String {
    match after {
        Some(d) => format!(" (retry after {} s)", d.as_secs()),
        None => String::new(),
    }
}

fn describe(errors: &[ApiMessage]) -> String {
    if errors.is_empty() {
        return "no details".into();
    }
    errors.iter().map(|e| format!("{} {}", e.code, e.message)).collect::<Vec<_>>().join("; ")
}

impl CloudflareError {
    /// Worth trying again later: timeouts, connection failures, 5xx, 429 and garbled answers.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CloudflareError::Timeout
                | CloudflareError::Unreachable(_)
                | CloudflareError::Server { .. }
                | CloudflareError::RateLimited { .. }
                | CloudflareError::Decode(_)
        )
    }

    /// How long Cloudflare asked us to wait (429 with `retry-after`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CloudflareError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Cloudflare's error codes, when the answer carried any.
    pub fn codes(&self) -> Vec<u32> {
        match self {
            CloudflareError::Unauthorized { codes } => codes.clone(),
            CloudflareError::Api { errors, .. } => errors.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
    }
}

/// Why "Test connection" failed, for the Settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", content = "detail")]
pub enum ConnectionProblem {
    #[error("the API token is invalid, expired or disabled")]
    BadToken,
    #[error("the API token has no access to this account ID; check the account ID")]
    WrongAccount,
    #[error("the API token lacks the Stream permission (Account › Stream › Edit)")]
    NoStreamPermission,
    #[error("cannot reach the Cloudflare API: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Other(String),
}

impl From<CloudflareError> for ConnectionProblem {
    fn from(e: CloudflareError) -> Self {
        match e {
            CloudflareError::Unauthorized { .. } => ConnectionProblem::BadToken,
            CloudflareError::Timeout => ConnectionProblem::Unreachable(e.to_string()),
            CloudflareError::Unreachable(m) => ConnectionProblem::Unreachable(m),
            other => ConnectionProblem::Other(other.to_string()),
        }
    }
}

/// `retry-after` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// The `errors` of an envelope, read leniently (missing or odd entries are skipped).
pub(crate) fn messages(body: &Value) -> Vec<ApiMessage> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|e| {
                    Some(ApiMessage {
                        code: u32::try_from(e.get("code")?.as_u64()?).ok()?,
                        message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The error for a non-2xx answer.
pub(crate) fn for_status(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> CloudflareError {
    let errors = serde_json::from_slice::<Value>(body).map(|v| messages(&v)).unwrap_or_default();
    match status.as_u16() {
        401 | 403 => CloudflareError::Unauthorized { codes: errors.iter().map(|e| e.code).collect() },
        404 => CloudflareError::NotFound,
        429 => CloudflareError::RateLimited { retry_after },
        s if status.is_server_error() => CloudflareError::Server { status: s },
        s => CloudflareError::Api { status: s, errors },
    }
}

/// A serde message with every quoted string replaced, so values (keys!) never leak into logs.
pub(crate) fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_map_to_typed_errors() {
        let body = br#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#;
        assert_eq!(
            for_status(StatusCode::FORBIDDEN, None, body),
            CloudflareError::Unauthorized { codes: vec![10000] }
        );
        assert_eq!(for_status(StatusCode::NOT_FOUND, None, b""), CloudflareError::NotFound);
        let e = for_status(StatusCode::BAD_GATEWAY, None, b"<html>");
        assert_eq!(e, CloudflareError::Server { status: 502 });
        assert!(e.is_retryable());
        let e = for_status(
            StatusCode::BAD_REQUEST,
            None,
            br#"{"errors":[{"code":10005,"message":"bad"},{"x":1}]}"#,
        );
        assert_eq!(e.codes(), vec![10005]);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("10005 bad"));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(12)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a past date means now");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn serde_messages_lose_their_values() {
        let m = r#"invalid type: string "k3y-s3cr3t", expected u32"#;
        assert_eq!(without_values(m), "invalid type: string \"…\", expected u32");
    }

    #[test]
    fn connection_problems_serialize_with_a_kind() {
        let v = serde_json::to_value(ConnectionProblem::NoStreamPermission).expect("serializes");
        assert_eq!(v, serde_json::json!({"kind": "NoStreamPermission"}));
        let v = serde_json::to_value(ConnectionProblem::Unreachable("refused".into())).expect("serializes");
        assert_eq!(v, serde_json::json!({"kind": "Unreachable", "detail": "refused"}));
    }
}
