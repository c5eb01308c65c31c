//! Fault injection and request counting for the fake YouTube: the operations it serves, what can
//! go wrong with one request, and the Google-shaped answers a fault produces.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The operations the fake serves, used to aim faults and to count requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `GET /o/oauth2/v2/auth` (the consent page).
    Authorize,
    /// `POST /token` with `grant_type=authorization_code`.
    TokenCode,
    /// `POST /token` with `grant_type=refresh_token`.
    TokenRefresh,
    /// `POST /token` with any other (or no) grant type.
    TokenOther,
    /// `POST /revoke`.
    Revoke,
    /// `GET /youtube/v3/channels`.
    Channels,
    /// `GET /youtube/v3/liveBroadcasts`.
    ListBroadcasts,
    /// `PUT /youtube/v3/liveBroadcasts`.
    UpdateBroadcast,
    /// `GET /youtube/v3/liveChat/messages`.
    ChatMessages,
}

impl Route {
    /// The OAuth endpoints answer `{"error", "error_description"}`; the Data API answers the
    /// Google error envelope `{"error": {"code", "message", "errors": [...]}}`.
    pub(crate) fn is_oauth(self) -> bool {
        matches!(
            self,
            Route::Authorize | Route::TokenCode | Route::TokenRefresh | Route::TokenOther | Route::Revoke
        )
    }

    /// The Data API quota cost (developers.google.com/youtube/v3/determine_quota_cost).
    pub fn quota_cost(self) -> u64 {
        match self {
            Route::Channels | Route::ListBroadcasts => 1,
            Route::UpdateBroadcast => 50,
            Route::ChatMessages => 5,
            _ => 0,
        }
    }
}

/// One thing that goes wrong with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and Google's error body.
    Status(u16),
    /// Answer with this status, error reason (`quotaExceeded`, `invalid_grant`, ...) and message.
    Error { status: u16, reason: String, message: String },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// 200 with a body that is not valid JSON.
    MalformedJson,
    /// The consent page only: the user clicks "Cancel" (redirect with `error=access_denied`).
    Deny,
}

pub(crate) type FaultQueue = fake_support::FaultQueue<Fault, Route>;

/// `{"error": "invalid_grant", "error_description": "..."}` (the OAuth endpoints' error body).
pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Json(json!({"error": error, "error_description": description}))).into_response()
}

/// The Data API's error envelope with one error of `reason` (e.g. `quotaExceeded`, domain
/// `youtube.quota`).
pub(crate) fn api_error(status: u16, reason: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let domain = match reason {
        "quotaExceeded" => "youtube.quota",
        "authError" | "insufficientPermissions" | "required" | "backendError" => "global",
        _ => "youtube.liveBroadcast",
    };
    let status_word = match code.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500..=599 => "INTERNAL",
        _ => "UNKNOWN",
    };
    (
        code,
        Json(json!({"error": {
            "code": code.as_u16(),
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status_word,
        }})),
    )
        .into_response()
}

/// The quota answer YouTube gives once the day's units are spent.
pub(crate) fn quota_exceeded() -> Response {
    api_error(
        403,
        "quotaExceeded",
        "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
    )
}

/// The answer a fault gives instead of the normal one (`None` for `Delay` and `Deny`, which the
/// handlers apply themselves).
pub(crate) fn response_for(route: Route, fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Delay(_) | Fault::Deny => None,
        Fault::Status(s) => {
            let code = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let words = code.canonical_reason().unwrap_or("Error");
            Some(if route.is_oauth() {
                oauth_error(code.as_u16(), "server_error", words)
            } else {
                api_error(code.as_u16(), "backendError", words)
            })
        }
        Fault::Error { status, reason, message } => Some(if route.is_oauth() {
            oauth_error(*status, reason, message)
        } else if reason == "quotaExceeded" {
            quota_exceeded()
        } else {
            api_error(*status, reason, message)
        }),
        Fault::MalformedJson => Some(
            (StatusCode::OK, [("content-type", "application/json")], "{\"items\": [{\"id\": ")
                .into_response(),
        ),
    }
}

/// A fault in JSON, for `POST /__fake/youtube/faults`:
/// `{"kind": "error", "status": 403, "reason": "quotaExceeded", "route": "chat_messages"}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `status` | `error` | `delay` | `malformed_json` | `deny`.
    pub kind: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// How many requests it applies to (default 1).
    #[serde(default)]
    pub count: Option<usize>,
    /// Only requests of this kind (default: any).
    #[serde(default)]
    pub route: Option<Route>,
}

impl FaultSpec {
    pub fn to_fault(&self) -> Result<Fault, String> {
        match self.kind.as_str() {
            "status" => fake_support::spec_status(self.status).map(Fault::Status),
            "error" => match (self.status, &self.reason) {
                (Some(status), Some(reason)) => Ok(Fault::Error {
                    status,
                    reason: reason.clone(),
                    message: self.message.clone().unwrap_or_else(|| reason.clone()),
                }),
                _ => Err("kind \"error\" needs \"status\" and \"reason\"".into()),
            },
            "delay" => fake_support::spec_delay(self.delay_ms).map(Fault::Delay),
            "malformed_json" => Ok(Fault::MalformedJson),
            "deny" => Ok(Fault::Deny),
            other => {
                Err(format!("unknown fault kind {other:?} (status, error, delay, malformed_json, deny)"))
            }
        }
    }
}
