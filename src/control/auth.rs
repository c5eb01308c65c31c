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

/// The credentials of an `Authorization: Bearer <token>` value; the scheme in any case
/// (RFC 7235 section 2.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim_matches(' ')).filter(|t| !t.is_empty())
}

pub async fn require_token(
    State(state): State<ControlState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header =
        req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer).map(str::to_string);
    let from_query = if req.uri().path() == "/api/v1/events" { query_token(&req) } else { None };
    let given = header.or(from_query).ok_or(ApiError::Unauthorized)?;
    if !constant_time_eq(given.as_bytes(), state.token.expose().as_bytes()) {
        // A flood of wrong tokens writes one line per 10 s, with the count.
        static WRONG: streampai_sync::log_safe::Burst = streampai_sync::log_safe::Burst::new();
        if let Some(refused) = WRONG.hit() {
            tracing::warn!(path = %crate::telemetry::esc(req.uri().path()), refused, "control API: wrong token");
        }
        return Err(ApiError::Unauthorized);
    }
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer t", "bearer t", "BEARER t", "bEaReR  t"] {
            assert_eq!(super::bearer(v), Some("t"), "{v}");
        }
        for v in ["Basic t", "Bearer", "Bearer ", "Bearert"] {
            assert_eq!(super::bearer(v), None, "{v}");
        }
    }
}
