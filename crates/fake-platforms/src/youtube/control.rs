//! Test-control routes under `/__fake/youtube`, for tests that drive the fake in another process
//! (the in-process API is [`YouTubeState`]'s methods). Never faulted, never counted, never
//! charged to the quota.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::FaultSpec;
use super::state::{example_details, ControlError, YouTubeState};

pub(crate) fn router() -> Router<YouTubeState> {
    Router::new()
        .route("/__fake/youtube/broadcasts", get(broadcasts).post(start_broadcast))
        .route("/__fake/youtube/broadcasts/end", post(end_broadcasts))
        .route("/__fake/youtube/chat/{kind}", post(push_chat))
        .route("/__fake/youtube/redeliver/{message_id}", post(redeliver))
        .route("/__fake/youtube/revoke", post(revoke))
        .route("/__fake/youtube/quota", get(quota).put(set_quota).delete(reset_quota))
        .route("/__fake/youtube/requests", get(requests))
        .route("/__fake/youtube/faults", post(add_fault).delete(clear_faults))
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::NoActiveBroadcast => StatusCode::CONFLICT,
            _ => StatusCode::NOT_FOUND,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

async fn broadcasts(State(s): State<YouTubeState>) -> Response {
    Json(s.broadcasts()).into_response()
}

#[derive(Deserialize, Default)]
struct StartBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    persistent: Option<bool>,
}

/// Body: `{"title": "...", "persistent": true}` (both optional).
async fn start_broadcast(State(s): State<YouTubeState>, body: Option<Json<StartBody>>) -> Response {
    let b = body.map(|b| b.0).unwrap_or_default();
    let started =
        s.start_broadcast(b.title.as_deref().unwrap_or("Fake stream"), b.persistent.unwrap_or(true));
    Json(started).into_response()
}

async fn end_broadcasts(State(s): State<YouTubeState>) -> Response {
    Json(json!({"ended": s.end_broadcasts()})).into_response()
}

#[derive(Deserialize, Default)]
struct ChatBody {
    #[serde(default)]
    author: Option<String>,
    /// The details object (e.g. `superChatDetails`); default: the kind's example.
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    published_at: Option<String>,
}

/// Body (optional): `{"author": "Viewer", "details": {...}, "published_at": "RFC 3339"}`.
async fn push_chat(
    State(s): State<YouTubeState>,
    Path(kind): Path<String>,
    body: Option<Json<ChatBody>>,
) -> Response {
    let b = body.map(|b| b.0).unwrap_or_default();
    let Some((key, example)) = example_details(&kind) else {
        return ControlError::UnknownKind(kind).into_response();
    };
    let author = b.author.unwrap_or_else(|| "Fake Viewer".into());
    match s.push_chat_with(&kind, &author, Some((key, b.details.unwrap_or(example))), b.published_at) {
        Ok(id) => Json(json!({"message_id": id})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn redeliver(State(s): State<YouTubeState>, Path(id): Path<String>) -> Response {
    match s.redeliver(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn revoke(State(s): State<YouTubeState>) -> Response {
    Json(json!({"revoked_grants": s.revoke_all()})).into_response()
}

async fn quota(State(s): State<YouTubeState>) -> Response {
    Json(json!({"used": s.quota_used(), "daily": s.options().daily_quota})).into_response()
}

#[derive(Deserialize)]
struct QuotaBody {
    daily: u64,
}

async fn set_quota(State(s): State<YouTubeState>, Json(b): Json<QuotaBody>) -> Response {
    s.set_quota(b.daily);
    StatusCode::NO_CONTENT.into_response()
}

async fn reset_quota(State(s): State<YouTubeState>) -> Response {
    s.reset_quota();
    StatusCode::NO_CONTENT.into_response()
}

async fn requests(State(s): State<YouTubeState>) -> Response {
    Json(json!({"total": s.total_requests(), "by_route": s.requests(), "verifier_failures": s.verifier_failures()}))
        .into_response()
}

async fn add_fault(State(s): State<YouTubeState>, Json(spec): Json<FaultSpec>) -> Response {
    match spec.to_fault() {
        Ok(f) => {
            let n = spec.count.unwrap_or(1);
            match spec.route {
                Some(r) => s.inject_for(r, f, n),
                None => (0..n).for_each(|_| s.inject(f.clone())),
            }
            Json(json!({"pending": s.pending_faults()})).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn clear_faults(State(s): State<YouTubeState>) -> Response {
    s.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}
