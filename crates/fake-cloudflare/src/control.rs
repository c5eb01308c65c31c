//! Test-control routes under `/__fake`, for tests that drive the fake in another process.
//! They need no token, are never faulted or delayed, and are not counted.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::faults::FaultSpec;
use crate::state::{ControlError, FakeState, StatusForm, TokenScope};

pub(crate) fn router(state: FakeState) -> Router {
    Router::new()
        .route("/__fake/live_inputs", get(live_inputs))
        .route("/__fake/live_inputs/{uid}", get(live_input))
        .route("/__fake/live_inputs/{uid}/outputs", get(outputs))
        .route("/__fake/live_inputs/{uid}/connected", post(set_connected))
        .route("/__fake/live_inputs/{uid}/outputs/{output_uid}/state", post(set_output_state))
        .route("/__fake/requests", get(requests))
        .route("/__fake/faults", get(pending_faults).post(add_fault).delete(clear_faults))
        .route("/__fake/latency", put(set_latency))
        .route("/__fake/tokens", post(add_token))
        .route("/__fake/status_form", put(set_status_form))
        .route("/__fake/reset", post(reset))
        .with_state(state)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::InputDisabled(_) => StatusCode::CONFLICT,
            ControlError::UnknownInput(_) | ControlError::UnknownOutput(_) => StatusCode::NOT_FOUND,
        };
        error(status, self)
    }
}

async fn live_inputs(State(state): State<FakeState>) -> Response {
    Json(state.live_inputs()).into_response()
}

async fn live_input(State(state): State<FakeState>, Path(uid): Path<String>) -> Response {
    match state.live_input(&uid) {
        Some(input) => Json(input).into_response(),
        None => ControlError::UnknownInput(uid).into_response(),
    }
}

async fn outputs(State(state): State<FakeState>, Path(uid): Path<String>) -> Response {
    match state.live_input(&uid) {
        Some(input) => Json(input.outputs).into_response(),
        None => ControlError::UnknownInput(uid).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectedBody {
    connected: bool,
    #[serde(default)]
    ingest_protocol: Option<String>,
}

/// Body: `{"connected": true, "ingestProtocol": "srt"}` (protocol optional, default `rtmp`).
async fn set_connected(
    State(state): State<FakeState>,
    Path(uid): Path<String>,
    Json(body): Json<ConnectedBody>,
) -> Response {
    let protocol = body.ingest_protocol.as_deref().unwrap_or("rtmp");
    match state.set_connected_via(&uid, body.connected, protocol) {
        Ok(()) => live_input(State(state), Path(uid)).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct OutputStateBody {
    state: Option<String>,
}

/// Body: `{"state": "error"}`, or `{"state": null}` to derive it from the input again.
async fn set_output_state(
    State(state): State<FakeState>,
    Path((uid, output_uid)): Path<(String, String)>,
    Json(body): Json<OutputStateBody>,
) -> Response {
    match state.set_output_state(&uid, &output_uid, body.state.as_deref()) {
        Ok(()) => outputs(State(state), Path(uid)).await,
        Err(e) => e.into_response(),
    }
}

/// `{"total": 12, "by_route": {"GET /accounts/{account_id}/stream/live_inputs": 3, ...}}`.
async fn requests(State(state): State<FakeState>) -> Response {
    Json(json!({
        "total": state.request_count(),
        "by_route": state.requests_by_route(),
    }))
    .into_response()
}

async fn pending_faults(State(state): State<FakeState>) -> Response {
    Json(json!({"pending": state.pending_faults()})).into_response()
}

/// Body: a [`FaultSpec`], e.g. `{"kind": "status", "status": 503, "count": 2}`.
async fn add_fault(State(state): State<FakeState>, Json(spec): Json<FaultSpec>) -> Response {
    match spec.to_fault() {
        Ok(fault) => {
            let n = spec.count.unwrap_or(1);
            match spec.route {
                Some(route) => state.inject_for(route, fault, n),
                None => state.inject_n(fault, n),
            }
            pending_faults(State(state)).await
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn clear_faults(State(state): State<FakeState>) -> Response {
    state.clear_faults();
    pending_faults(State(state)).await
}

#[derive(Deserialize)]
struct LatencyBody {
    ms: u64,
}

/// Body: `{"ms": 50}`.
async fn set_latency(State(state): State<FakeState>, Json(body): Json<LatencyBody>) -> Response {
    state.set_latency(Duration::from_millis(body.ms));
    Json(json!({"ms": body.ms})).into_response()
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
    scope: TokenScope,
}

/// Body: `{"token": "...", "scope": "full" | "without_stream"}`.
async fn add_token(State(state): State<FakeState>, Json(body): Json<TokenBody>) -> Response {
    if body.token.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "token must not be empty");
    }
    state.add_token(body.token, body.scope);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct StatusFormBody {
    form: StatusForm,
}

/// Body: `{"form": "object" | "string"}`.
async fn set_status_form(State(state): State<FakeState>, Json(body): Json<StatusFormBody>) -> Response {
    state.set_status_form(body.form);
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(state): State<FakeState>) -> Response {
    state.reset();
    StatusCode::NO_CONTENT.into_response()
}
