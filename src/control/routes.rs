//! Routes of `/api/v1`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::json;

use axum::extract::DefaultBodyLimit;

use super::{
    accounts_api, alerts_api, auth, events_ws, kofi, obs_api, overlay, stream_info_api, ApiError,
    ControlState,
};

pub fn router(state: ControlState) -> Router {
    let api = Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/stream/start", post(start))
        .route("/api/v1/stream/stop", post(stop))
        .route("/api/v1/stream/info", get(stream_info_api::get_info).post(stream_info_api::set_info))
        .route("/api/v1/stream/categories", get(stream_info_api::categories))
        .route("/api/v1/debug", get(debug))
        .route("/api/v1/events", get(events_ws::events))
        .route("/api/v1/alerts", post(alerts_api::post_alert).get(alerts_api::get_alerts))
        .route("/api/v1/alerts/pause", post(alerts_api::pause))
        .route("/api/v1/alerts/resume", post(alerts_api::resume))
        .route("/api/v1/alerts/skip", post(alerts_api::skip))
        .route("/api/v1/alerts/clear", post(alerts_api::clear))
        .route("/api/v1/alerts/{id}/{action}", post(alerts_api::act))
        .route("/api/v1/streams", get(alerts_api::streams))
        .route("/api/v1/streams/{uuid}", get(alerts_api::stream))
        .route("/api/v1/overlay/rotate-key", post(alerts_api::rotate_overlay_key))
        .route("/api/v1/obs", get(obs_api::status))
        .route("/api/v1/obs/setup", post(obs_api::setup))
        .route("/api/v1/obs/restore", post(obs_api::restore))
        .route("/api/v1/obs/reconnect", post(obs_api::reconnect))
        .route("/api/v1/obs/password", post(obs_api::password))
        .route("/api/v1/accounts/{platform}/sign-in", post(accounts_api::sign_in))
        .route("/api/v1/accounts/{platform}/sign-out", post(accounts_api::sign_out))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    let open = Router::new()
        .route("/webhooks/kofi", post(kofi::webhook))
        .route("/overlay/alerts", get(overlay::page))
        .route("/overlay/alerts/ws", get(overlay::socket));
    api.merge(open)
        .layer(DefaultBodyLimit::max(alerts_api::MAX_BODY))
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn(super::error::json_errors))
        .with_state(state)
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
