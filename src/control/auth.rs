//! Bearer-token check (constant time). Browsers cannot set headers on a WebSocket, so the events
//! route also accepts `?token=`.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, ControlState};

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_token(req: &Request) -> Option<String> {
    let query = req.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
}

pub async fn require_token(
    State(state): State<ControlState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let from_query = if req.uri().path() == "/api/v1/events" { query_token(&req) } else { None };
    let given = header.or(from_query).ok_or(ApiError::Unauthorized)?;
    if !constant_time_eq(given.as_bytes(), state.token.expose().as_bytes()) {
        tracing::warn!(path = %req.uri().path(), "control API: wrong token");
        return Err(ApiError::Unauthorized);
    }
    Ok(next.run(req).await)
}
