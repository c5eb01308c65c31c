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
                EngineError::Alerts { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "alerts"),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let body = json!({"error": {"kind": kind, "message": self.to_string()}});
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        res
    }
}
