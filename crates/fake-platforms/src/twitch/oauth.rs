//! id.twitch.tv: `POST /oauth2/device`, `POST /oauth2/token` (device code and refresh token
//! grants), `GET /oauth2/validate`, `POST /oauth2/revoke`
//! (<https://dev.twitch.tv/docs/authentication/getting-tokens-oauth/#device-code-grant-flow>,
//! <https://dev.twitch.tv/docs/authentication/refresh-tokens/>,
//! <https://dev.twitch.tv/docs/authentication/validate-tokens/>,
//! <https://dev.twitch.tv/docs/authentication/revoke-tokens/>).
//!
//! Parameters come as a form body (the query string is read too, as Twitch does). Errors are
//! `{"status": N, "message": "..."}`. The device-code grant answers `authorization_pending`,
//! `slow_down` (a poll sooner than the interval; the interval then grows by 5 s),
//! `access_denied`, `expired_token` (a known code past its `expires_in`) and
//! `invalid device code` (unknown or spent). Refresh tokens rotate: each use spends the old one
//! (`Invalid refresh token` afterwards), as for every public client.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::faults::{oauth_error, response_for, Fault, Route};
use super::state::{DeviceStatus, TwitchState};

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Count the request, apply a delay fault, and answer an error fault.
pub(crate) async fn enter(state: &TwitchState, route: Route) -> Result<Option<Fault>, Response> {
    let delay = |f: &Fault| match f {
        Fault::Delay(d) => Some(*d),
        _ => None,
    };
    fake_support::apply_fault(state.enter(route), delay, |f| response_for(route, f)).await
}

fn scopes_of(p: &HashMap<String, String>) -> Vec<String> {
    p.get("scopes")
        .or_else(|| p.get("scope"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

pub(crate) async fn device(
    State(state): State<TwitchState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Err(resp) = enter(&state, Route::Device).await {
        return resp;
    }
    let p = crate::form_params(query, &body);
    let Some(client_id) = p.get("client_id").filter(|c| !c.is_empty()) else {
        return oauth_error(400, "missing client_id");
    };
    let scopes = scopes_of(&p);
    let Some((device_code, code)) = state.new_device_code(client_id, scopes) else {
        return oauth_error(400, "invalid client");
    };
    let opts = state.options();
    Json(json!({
        "device_code": device_code,
        "expires_in": opts.device_expires_in_secs,
        "interval": opts.device_interval_secs,
        "user_code": code.user_code,
        "verification_uri": format!("{}?public=true&device-code={}", opts.verification_uri, code.user_code),
    }))
    .into_response()
}

pub(crate) async fn token(
    State(state): State<TwitchState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let p = crate::form_params(query, &body);
    match p.get("grant_type").map(String::as_str) {
        Some(DEVICE_GRANT) => device_token(&state, &p).await,
        Some("refresh_token") => refresh_token(&state, &p).await,
        _ => {
            if let Err(resp) = enter(&state, Route::TokenOther).await {
                return resp;
            }
            oauth_error(400, "unsupported grant type")
        }
    }
}

fn tokens(access: String, refresh: String, expires_in: u64, scopes: Vec<String>) -> Response {
    Json(json!({
        "access_token": access,
        "expires_in": expires_in,
        "refresh_token": refresh,
        "scope": scopes,
        "token_type": "bearer",
    }))
    .into_response()
}

async fn device_token(state: &TwitchState, p: &HashMap<String, String>) -> Response {
    let fault = match enter(state, Route::TokenDeviceCode).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let now = Instant::now();
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let device_code = p.get("device_code").cloned().unwrap_or_default();
    let outcome = {
        let mut g = state.lock();
        g.device_polls.push(now);
        match g.device_codes.get_mut(&device_code) {
            None => Err("invalid device code"),
            Some(c) if c.client_id != client_id => Err("invalid device code"),
            Some(c) if c.status == DeviceStatus::Used => Err("invalid device code"),
            Some(c) if c.expires_at <= now => Err("expired_token"),
            Some(c) => {
                let too_soon = now < c.last_poll + c.interval;
                c.last_poll = now;
                if fault == Some(Fault::SlowDown) || too_soon {
                    c.interval += Duration::from_secs(5);
                    Err("slow_down")
                } else {
                    match c.status {
                        DeviceStatus::Pending => Err("authorization_pending"),
                        DeviceStatus::Denied => Err("access_denied"),
                        _ => {
                            c.status = DeviceStatus::Used;
                            Ok((c.client_id.clone(), c.scopes.clone()))
                        }
                    }
                }
            }
        }
    };
    match outcome {
        Ok((client_id, scopes)) => {
            let user = state.user().id;
            let (access, refresh, ttl, scopes) = state.issue(&client_id, &user, scopes);
            tokens(access, refresh, ttl, scopes)
        }
        Err(message) => {
            if message == "slow_down" {
                state.lock().slow_downs += 1;
            }
            oauth_error(400, message)
        }
    }
}

async fn refresh_token(state: &TwitchState, p: &HashMap<String, String>) -> Response {
    if let Err(resp) = enter(state, Route::TokenRefresh).await {
        return resp;
    }
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    if !state.is_client(&client_id) {
        return oauth_error(400, "invalid client");
    }
    let refresh = p.get("refresh_token").cloned().unwrap_or_default();
    match state.rotate(&client_id, &refresh) {
        Some((access, refresh, ttl, scopes)) => tokens(access, refresh, ttl, scopes),
        None => oauth_error(400, "Invalid refresh token"),
    }
}

/// The token in `Authorization: OAuth <token>` (Twitch's form for validate) or `Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap, schemes: &[&str]) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)).then(|| token.trim().to_string())
}

pub(crate) async fn validate(State(state): State<TwitchState>, headers: HeaderMap) -> Response {
    if let Err(resp) = enter(&state, Route::Validate).await {
        return resp;
    }
    let Some(token) = bearer(&headers, &["OAuth", "Bearer"]) else {
        return oauth_error(401, "missing authorization token");
    };
    match state.authorize(&token) {
        Some(a) => {
            let user = state.user();
            Json(json!({
                "client_id": a.client_id,
                "login": user.login,
                "scopes": a.scopes,
                "user_id": a.user_id,
                "expires_in": a.expires_in,
            }))
            .into_response()
        }
        None => oauth_error(401, "invalid access token"),
    }
}

pub(crate) async fn revoke(
    State(state): State<TwitchState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Err(resp) = enter(&state, Route::Revoke).await {
        return resp;
    }
    let p = crate::form_params(query, &body);
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    if !state.is_client(&client_id) {
        return oauth_error(404, "client does not exist");
    }
    let token = p.get("token").cloned().unwrap_or_default();
    if state.revoke_token(&client_id, &token) {
        StatusCode::OK.into_response()
    } else {
        oauth_error(400, "Invalid token")
    }
}
