//! Test-control routes under `/__fake/twitch`, for tests that drive the fake in another process
//! (the in-process API is [`TwitchState`]'s methods). Never faulted, never counted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::FaultSpec;
use super::state::{ControlError, TwitchState};

pub(crate) fn router() -> Router<TwitchState> {
    Router::new()
        .route("/__fake/twitch/approve", post(approve))
        .route("/__fake/twitch/deny", post(deny))
        .route("/__fake/twitch/events/{kind}", post(push_event))
        .route("/__fake/twitch/redeliver/{message_id}", post(redeliver))
        .route("/__fake/twitch/reconnect", post(reconnect))
        .route("/__fake/twitch/revoke", post(revoke))
        .route("/__fake/twitch/keepalives", put(keepalives))
        .route("/__fake/twitch/close", post(close))
        .route("/__fake/twitch/subscriptions", get(subscriptions))
        .route("/__fake/twitch/delivered", get(delivered))
        .route("/__fake/twitch/requests", get(requests))
        .route("/__fake/twitch/channel", get(channel))
        .route("/__fake/twitch/faults", post(add_fault).delete(clear_faults))
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::UnknownUserCode(_)
            | ControlError::UnknownMessage(_)
            | ControlError::UnknownType(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

#[derive(Deserialize, Default)]
struct CodeBody {
    #[serde(default)]
    user_code: Option<String>,
}

/// Body: `{"user_code": "ABCDEFGH"}`, or `{}` for the latest code waiting.
async fn approve(State(s): State<TwitchState>, body: Option<Json<CodeBody>>) -> Response {
    let code = body.and_then(|b| b.0.user_code);
    let res = match code {
        Some(c) => s.approve(&c).map(|()| c),
        None => s.approve_latest(),
    };
    match res {
        Ok(c) => Json(json!({"approved": c})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn deny(State(s): State<TwitchState>, Json(body): Json<CodeBody>) -> Response {
    match s.deny(body.user_code.as_deref().unwrap_or_default()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Body: the `event` to send, or none for the type's example.
async fn push_event(
    State(s): State<TwitchState>,
    Path(kind): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let res = match body {
        Some(Json(event)) => s.push_event_with(&kind, event),
        None => s.push_event(&kind),
    };
    match res {
        Ok(id) => Json(json!({"message_id": id})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn redeliver(State(s): State<TwitchState>, Path(id): Path<String>) -> Response {
    match s.redeliver(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn reconnect(State(s): State<TwitchState>) -> Response {
    match s.send_reconnect() {
        Ok(urls) => Json(json!({"reconnect_urls": urls})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn revoke(State(s): State<TwitchState>) -> Response {
    Json(json!({"revoked_subscriptions": s.revoke_authorization()})).into_response()
}

#[derive(Deserialize)]
struct OnBody {
    on: bool,
}

/// Body: `{"on": false}` stops keepalives (the connection stays open).
async fn keepalives(State(s): State<TwitchState>, Json(body): Json<OnBody>) -> Response {
    s.set_keepalives(body.on);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct CloseBody {
    code: u16,
    #[serde(default)]
    reason: String,
}

async fn close(State(s): State<TwitchState>, Json(body): Json<CloseBody>) -> Response {
    Json(json!({"closed": s.close_sessions(body.code, &body.reason)})).into_response()
}

async fn subscriptions(State(s): State<TwitchState>) -> Response {
    Json(s.subscriptions()).into_response()
}

async fn delivered(State(s): State<TwitchState>) -> Response {
    Json(s.delivered()).into_response()
}

/// `{"total": 12, "by_route": {"token_refresh": 3, ...}}`.
async fn requests(State(s): State<TwitchState>) -> Response {
    Json(json!({"total": s.total_requests(), "by_route": s.requests(), "slow_downs": s.slow_downs()}))
        .into_response()
}

async fn channel(State(s): State<TwitchState>) -> Response {
    Json(s.channel_info()).into_response()
}

/// Body: a [`FaultSpec`], e.g. `{"kind": "slow_down", "route": "token_device_code"}`.
async fn add_fault(State(s): State<TwitchState>, Json(spec): Json<FaultSpec>) -> Response {
    match spec.to_fault() {
        Ok(f) => {
            let n = spec.count.unwrap_or(1);
            match spec.route {
                Some(r) => s.inject_for(r, f, n),
                None => {
                    for _ in 0..n {
                        s.inject(f.clone());
                    }
                }
            }
            Json(json!({"pending": s.pending_faults()})).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn clear_faults(State(s): State<TwitchState>) -> Response {
    s.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}
