//! The Cloudflare v4 response envelope and the error codes the fake uses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Error codes in `errors[].code`. Cloudflare documents few of them; these follow what its API
/// is known to answer, and are the contract between the fake and its clients.
pub mod codes {
    /// 401 bad token, 403 wrong account or missing permission (also the `Unauthorized` fault).
    pub const AUTH_ERROR: u32 = 10000;
    /// 401 missing or malformed `Authorization` header.
    pub const UNABLE_TO_AUTHENTICATE: u32 = 10001;
    /// 5xx from an injected `Status` fault.
    pub const INTERNAL: u32 = 10002;
    /// 404 unknown live input or output.
    pub const NOT_FOUND: u32 = 10003;
    /// 400 a body that is JSON but breaks the schema (wrong type, missing field, bad value).
    pub const BAD_REQUEST: u32 = 10005;
    /// 400 a body that is not JSON.
    pub const MALFORMED_JSON: u32 = 6007;
    /// 404 no such route.
    pub const NO_ROUTE: u32 = 7000;
    /// 405 the route exists but not for this method.
    pub const METHOD_NOT_ALLOWED: u32 = 7001;
    /// 429 rate limited. Cloudflare's API answers 971 (below the schema's `minimum: 1000`).
    pub const RATE_LIMITED: u32 = 971;
}

/// `{"success": true, "errors": [], "messages": [], "result": ...}`.
pub fn success(result: Value) -> Response {
    Json(json!({"success": true, "errors": [], "messages": [], "result": result})).into_response()
}

/// A success envelope with extra top-level fields (e.g. `result_info`).
pub fn success_with(result: Value, extra: Value) -> Response {
    let mut body = json!({"success": true, "errors": [], "messages": [], "result": result});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    Json(body).into_response()
}

/// `{"success": false, "errors": [{"code", "message"}], "messages": [], "result": null}`.
pub fn failure(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "success": false,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": null,
    });
    (status, Json(body)).into_response()
}

/// An API error answered in the Cloudflare envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
    pub fn missing_auth() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::UNABLE_TO_AUTHENTICATE, "Unable to authenticate request")
    }
    pub fn bad_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::AUTH_ERROR, "Authentication error")
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, codes::AUTH_ERROR, "Authentication error")
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, format!("{what} not found"))
    }
    pub fn bad_request(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, format!("Bad Request: {detail}"))
    }
    pub fn malformed_json() -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::MALFORMED_JSON, "Malformed JSON in request body")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        failure(self.status, self.code, &self.message)
    }
}

/// 404 for paths under `/client/v4` that no route serves.
pub async fn no_route() -> Response {
    failure(StatusCode::NOT_FOUND, codes::NO_ROUTE, "No route for that URI")
}

/// 405 for a known path with the wrong method.
pub async fn method_not_allowed() -> Response {
    failure(StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED, "Method not allowed for this endpoint")
}
