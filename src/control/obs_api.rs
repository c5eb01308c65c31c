//! OBS over the control API: `GET /api/v1/obs`, `POST /api/v1/obs/setup|restore|reconnect`,
//! `POST /api/v1/obs/password` (into the secret store; never echoed or logged).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{alerts_api, ApiError, ControlState};
use crate::secrets::Secret;

pub async fn status(State(s): State<ControlState>) -> impl IntoResponse {
    Json(s.engine.obs_status())
}

/// `200 {"server", "previous": {"service_type", "service", "server", "has_key", "saved_at"}|null,
/// "unchanged"}`: never the previous key.
pub async fn setup(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.obs_setup().await?))
}

pub async fn restore(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.obs_restore().await?))
}

pub async fn reconnect(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.obs_reconnect().await?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize)]
struct PasswordPost {
    /// `null` forgets the stored password (an OBS that asks for none).
    password: Option<String>,
}

/// Body `{"password": "..."}` (or `null` to forget it) → `200 {"ok": true}`; an empty one →
/// `422 invalid_config` naming `obs.password`.
pub async fn password(
    State(s): State<ControlState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = alerts_api::body(raw)?;
    // The body holds a secret: serde's error text could quote it, so it is not passed on.
    let post: PasswordPost = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::BadRequest("expected {\"password\": \"...\"} or {\"password\": null}".into())
    })?;
    s.engine.set_obs_password(post.password.map(Secret::new)).await?;
    Ok(Json(json!({"ok": true})))
}
