//! Routes of `/api/v1`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::json;

use super::{auth, events_ws, ApiError, ControlState};

pub fn router(state: ControlState) -> Router {
    let api = Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/stream/start", post(start))
        .route("/api/v1/stream/stop", post(stop))
        .route("/api/v1/debug", get(debug))
        .route("/api/v1/events", get(events_ws::events))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    api.fallback(|| async { ApiError::NotFound }).with_state(state)
}

async fn status(State(s): State<ControlState>) -> impl IntoResponse {
    Json(s.engine.status().await)
}

async fn start(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    let uuid = s.engine.start_stream().await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"uuid": uuid}))))
}

async fn stop(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    let uuid = s.engine.stop_stream().await?;
    Ok(Json(json!({"uuid": uuid, "state": "offline"})))
}

async fn debug(State(s): State<ControlState>) -> impl IntoResponse {
    Json(s.engine.debug_tree())
}
