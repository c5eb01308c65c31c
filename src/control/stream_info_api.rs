//! The stream info over the control API:
//! - `GET /api/v1/stream/info` → 200 `{"info": {...} | null, "saved_at", "pushing", "last_push":
//!   {"at", "trigger", "results"} | null}`;
//! - `POST /api/v1/stream/info` `{"title", "twitch_category_id"?, "twitch_category_name"?,
//!   "youtube_description"?}` → 200 `{"at", "trigger": "save", "results": {"twitch": {"ok":
//!   true}, "youtube": {"ok": false, "error": {"kind", "message"}}}}` (saved, then pushed to every
//!   platform); 400 `invalid_input` with `"field"` for input no platform takes;
//! - `GET /api/v1/stream/categories?q=…` → 200 `{"categories": [{"id", "name", "box_art_url"}]}`;
//!   409 `not_signed_in` without a Twitch sign-in, 502 `platform` when Twitch refuses.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{alerts_api, ApiError, ControlState};
use crate::stream_info::StreamInfoInput;

pub async fn get_info(State(s): State<ControlState>) -> impl IntoResponse {
    Json(s.engine.stream_info())
}

pub async fn set_info(
    State(s): State<ControlState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = alerts_api::body(raw)?;
    let input: StreamInfoInput = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid stream info JSON: {e}")))?;
    Ok(Json(s.engine.set_stream_info(input).await?))
}

#[derive(Deserialize)]
pub struct CategoryQuery {
    #[serde(default)]
    q: String,
}

pub async fn categories(
    State(s): State<ControlState>,
    Query(q): Query<CategoryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let categories = s.engine.search_categories(&q.q).await?;
    Ok(Json(json!({"categories": categories})))
}
