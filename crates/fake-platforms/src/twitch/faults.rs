//! Fault injection and request counting: the operations the fake serves, what can go wrong with
//! one request, and the Twitch-shaped answers a fault produces.

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
    /// `POST /oauth2/device`.
    Device,
    /// `POST /oauth2/token` with `grant_type=urn:ietf:params:oauth:grant-type:device_code`.
    TokenDeviceCode,
    /// `POST /oauth2/token` with `grant_type=refresh_token`.
    TokenRefresh,
    /// `POST /oauth2/token` with any other (or no) grant type.
    TokenOther,
    /// `GET /oauth2/validate`.
    Validate,
    /// `POST /oauth2/revoke`.
    Revoke,
    /// `GET /helix/users`.
    Users,
    /// `GET|PATCH /helix/channels`.
    Channels,
    /// `GET /helix/search/categories`.
    SearchCategories,
    /// `POST /helix/eventsub/subscriptions`.
    CreateSubscription,
    /// `GET /helix/eventsub/subscriptions`.
    ListSubscriptions,
    /// A WebSocket connection to the EventSub URL (fresh or a reconnect).
    EventSubConnect,
}

impl Route {
    /// id.twitch.tv answers errors as `{"status", "message"}`, Helix as `{"error", "status",
    /// "message"}`.
    pub(crate) fn is_oauth(self) -> bool {
        matches!(
            self,
            Route::Device
                | Route::TokenDeviceCode
                | Route::TokenRefresh
                | Route::TokenOther
                | Route::Validate
                | Route::Revoke
        )
    }
}

/// One thing that goes wrong with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and Twitch's error body (for the WebSocket: refuse the
    /// upgrade with it).
    Status(u16),
    /// Answer with this status and message (e.g. `400`, `"invalid client"`).
    Error { status: u16, message: String },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// 200 with a body that is not valid JSON.
    MalformedJson,
    /// Device-code polls only: answer `slow_down` and raise the interval the code requires by 5 s,
    /// as RFC 8628 has the client do.
    SlowDown,
}

/// Faults waiting for the requests they apply to, oldest first.
pub(crate) type FaultQueue = fake_support::FaultQueue<Fault, Route>;

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// `{"status": 400, "message": "..."}` (id.twitch.tv's error body).
pub(crate) fn oauth_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Json(json!({"status": code.as_u16(), "message": message}))).into_response()
}

/// `{"error": "Bad Request", "status": 400, "message": "..."}` (Helix's error body).
pub(crate) fn helix_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Json(json!({"error": reason(code), "status": code.as_u16(), "message": message}))).into_response()
}

/// The answer a fault gives instead of the normal one (`None` for `Delay` and `SlowDown`, which
/// the handlers apply themselves).
pub(crate) fn response_for(route: Route, fault: &Fault) -> Option<Response> {
    let error = |status: u16, message: &str| {
        if route.is_oauth() {
            oauth_error(status, message)
        } else {
            helix_error(status, message)
        }
    };
    match fault {
        Fault::Delay(_) | Fault::SlowDown => None,
        Fault::Status(s) => {
            let code = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(error(code.as_u16(), reason(code)))
        }
        Fault::Error { status, message } => Some(error(*status, message)),
        Fault::MalformedJson => Some(
            (StatusCode::OK, [("content-type", "application/json")], "{\"data\": [{\"id\": ").into_response(),
        ),
    }
}

/// A fault in JSON, for the `/__fake/twitch/faults` route:
/// `{"kind": "status", "status": 503, "count": 2, "route": "token_refresh"}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `status` | `error` | `delay` | `malformed_json` | `slow_down`.
    pub kind: String,
    #[serde(default)]
    pub status: Option<u16>,
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
            "error" => match (self.status, &self.message) {
                (Some(status), Some(message)) => Ok(Fault::Error { status, message: message.clone() }),
                _ => Err("kind \"error\" needs \"status\" and \"message\"".into()),
            },
            "delay" => fake_support::spec_delay(self.delay_ms).map(Fault::Delay),
            "malformed_json" => Ok(Fault::MalformedJson),
            "slow_down" => Ok(Fault::SlowDown),
            other => {
                Err(format!("unknown fault kind {other:?} (status, error, delay, malformed_json, slow_down)"))
            }
        }
    }
}
