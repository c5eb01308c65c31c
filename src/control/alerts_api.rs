//! Alerts over the control API: `POST/GET /api/v1/alerts`, the queue controls, the stream
//! history. (The Ko-fi donation webhook lives in `kofi.rs`.)

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ControlState};
use crate::alerts::AlertInput;

/// Largest alert request body.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Deserialize)]
struct AlertPost {
    #[serde(flatten)]
    input: AlertInput,
    idempotency_key: Option<String>,
}

pub(super) fn body(raw: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    match raw {
        Ok(b) => Ok(b),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge { limit: MAX_BODY }),
        Err(e) => Err(ApiError::BadRequest(e.body_text())),
    }
}

pub async fn post_alert(
    State(s): State<ControlState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = body(raw)?;
    let post: AlertPost = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid alert JSON: {e}")))?;
    let accepted = s.engine.alerts().accept(post.input, post.idempotency_key.as_deref())?;
    let code = if accepted.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((code, Json(accepted)))
}

pub async fn get_alerts(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.alerts().view().await?))
}

fn ok() -> Json<serde_json::Value> {
    Json(json!({"ok": true}))
}

pub async fn pause(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().set_paused(true).await?;
    Ok(ok())
}

pub async fn resume(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().set_paused(false).await?;
    Ok(ok())
}

pub async fn skip(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().skip().await?;
    Ok(ok())
}

pub async fn clear(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().clear().await?;
    Ok(ok())
}

pub async fn act(
    State(s): State<ControlState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let desk = s.engine.alerts();
    match action.as_str() {
        "replay" => desk.replay(&id).await?,
        "approve" => desk.approve(&id).await?,
        "reject" => desk.reject(&id).await?,
        _ => return Err(ApiError::NotFound),
    }
    Ok(ok())
}

pub async fn streams(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.stream_history()?))
}

/// `GET /api/v1/streams/{uuid}`: one stream with its bitrate samples and events.
pub async fn stream(
    State(s): State<ControlState>,
    Path(uuid): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let shown: String = uuid.chars().take(64).collect();
    let id = uuid::Uuid::parse_str(&uuid)
        .map_err(|e| ApiError::BadRequest(format!("`{shown}` is not a stream UUID: {e}")))?;
    match s.engine.stream_detail(id)? {
        Some(detail) => Ok(Json(detail)),
        None => Err(ApiError::Missing(format!("no stream {id} in the history"))),
    }
}

pub async fn rotate_overlay_key(State(s): State<ControlState>) -> impl IntoResponse {
    Json(json!({"key": s.engine.rotate_overlay_key().expose()}))
}
