//! API errors: every error body is `{"error": {"kind": "...", "message": "..."}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::user_stream_manager::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("no such route")]
    NotFound,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ApiError {
    fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Engine(e) => match e {
                EngineError::InvalidPlatform { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_platform"),
                EngineError::NotConfigured { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not_configured"),
                EngineError::InvalidTransition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
                EngineError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                EngineError::UnknownUser { .. } => (StatusCode::NOT_FOUND, "unknown_user"),
                EngineError::InvalidConfig { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
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
