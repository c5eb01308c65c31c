//! `POST /api/v1/accounts/{platform}/sign-in` → 200 `{"user_code", "verification_uri",
//! "expires_in"}` for Twitch (the engine then polls the platform itself; `GET /api/v1/status`
//! shows `accounts.twitch.state` move from `pending` to `signed_in`) or `{"authorize_url"}` for
//! YouTube (open it in the browser; Google redirects to the engine's loopback listener), and
//! `POST /api/v1/accounts/{platform}/sign-out` → 200 `{"state": "signed_out"}`.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::{ApiError, ControlState};
use crate::accounts::AccountPlatform;

fn platform(name: &str) -> Result<AccountPlatform, ApiError> {
    name.parse().map_err(ApiError::Missing)
}

pub async fn sign_in(
    State(s): State<ControlState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let start = s.engine.start_sign_in(platform(&name)?).await?;
    Ok(Json(start))
}

pub async fn sign_out(
    State(s): State<ControlState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    s.engine.sign_out(platform(&name)?).await?;
    Ok(Json(json!({"state": "signed_out"})))
}
