//! API errors: every error body is `{"error": {"kind": "...", "message": "..."}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("no such route")]
    NotFound,
    /// A thing the route names does not exist.
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Alert(#[from] crate::alerts::AlertQueueError),
    #[error("{0}")]
    BadRequest(String),
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Forbidden(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound | ApiError::Missing(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Alert(e) => {
                use crate::alerts::AlertQueueError as A;
                match e {
                    A::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
                    A::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_alert"),
                    A::Full { .. } => (StatusCode::SERVICE_UNAVAILABLE, "queue_full"),
                    A::Storage { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "storage"),
                    A::Actor(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                }
            }
            ApiError::Engine(e) => match e {
                EngineError::InvalidPlatform { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_platform"),
                EngineError::NotConfigured { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not_configured"),
                EngineError::InvalidTransition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
                EngineError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                EngineError::UnknownUser { .. } => (StatusCode::NOT_FOUND, "unknown_user"),
                EngineError::InvalidConfig { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
                EngineError::Storage { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "storage"),
                EngineError::NotRunning { .. } => (StatusCode::SERVICE_UNAVAILABLE, "not_running"),
                EngineError::Ingest { .. } => (StatusCode::BAD_GATEWAY, "ingest"),
                EngineError::Cloudflare { .. } => (StatusCode::BAD_GATEWAY, "cloudflare"),
                EngineError::Secrets { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "secrets"),
                EngineError::ObsUnavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "obs_unavailable"),
                EngineError::ObsStreaming { .. } => (StatusCode::CONFLICT, "obs_streaming"),
                EngineError::Obs { .. } => (StatusCode::BAD_GATEWAY, "obs"),
                EngineError::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "invalid_input"),
                EngineError::NotSignedIn { .. } => (StatusCode::CONFLICT, "not_signed_in"),
                EngineError::Platform { .. } => (StatusCode::BAD_GATEWAY, "platform"),
            },
        }
    }
}

/// Every error answer is JSON, including axum's own (405 for a wrong method, query, path and
/// body rejections, a failed WebSocket upgrade): a non-JSON 4xx/5xx is rewritten as
/// `{"error": {"kind", "message"}}`, its text (if any) as the message, other headers kept.
pub(crate) async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    let res = next.run(req).await;
    let status = res.status();
    let is_json =
        res.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message =
        if text.is_empty() { status.canonical_reason().unwrap_or("error").to_lowercase() } else { text };
    let kind = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        426 => "upgrade_required",
        429 => "too_many_requests",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let body = json!({"error": {"kind": kind, "message": message}});
    let mut out = (status, Json(body)).into_response();
    for (name, value) in parts.headers.iter() {
        out.headers_mut().append(name.clone(), value.clone());
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let mut body = json!({"error": {"kind": kind, "message": self.to_string()}});
        if let ApiError::Engine(EngineError::InvalidInput { field, .. }) = &self {
            body["error"]["field"] = json!(field);
        }
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        res
    }
}
