//! Fault injection: what can go wrong with a request, which routes a fault applies to, and the
//! responses a fault produces.

use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::envelope::{self, codes};

/// One thing that goes wrong with one API request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a JSON error envelope (meant for 5xx).
    Status(u16),
    /// 429 with a `retry-after` header in seconds.
    RateLimited { retry_after_secs: u64 },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// 200 with a body that is not valid JSON.
    MalformedJson,
    /// 401 with code 10000, whatever the token.
    Unauthorized,
}

/// The API operations the fake serves, used to aim faults and to count requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    VerifyToken,
    ListAccounts,
    ListLiveInputs,
    CreateLiveInput,
    GetLiveInput,
    UpdateLiveInput,
    DeleteLiveInput,
    RotateKeys,
    ListOutputs,
    CreateOutput,
    UpdateOutput,
    DeleteOutput,
}

pub(crate) const INPUTS: &str = "/accounts/{account_id}/stream/live_inputs";
pub(crate) const INPUT: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}";
pub(crate) const ROTATE: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}/rotate_keys";
pub(crate) const OUTPUTS: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}/outputs";
pub(crate) const OUTPUT: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}/outputs/{output_id}";
pub(crate) const VERIFY: &str = "/user/tokens/verify";
pub(crate) const ACCOUNTS: &str = "/accounts";

impl RouteKind {
    pub const ALL: [RouteKind; 12] = [
        RouteKind::VerifyToken,
        RouteKind::ListAccounts,
        RouteKind::ListLiveInputs,
        RouteKind::CreateLiveInput,
        RouteKind::GetLiveInput,
        RouteKind::UpdateLiveInput,
        RouteKind::DeleteLiveInput,
        RouteKind::RotateKeys,
        RouteKind::ListOutputs,
        RouteKind::CreateOutput,
        RouteKind::UpdateOutput,
        RouteKind::DeleteOutput,
    ];

    /// The HTTP method of this operation.
    pub fn method(self) -> Method {
        use RouteKind::*;
        match self {
            VerifyToken | ListAccounts | ListLiveInputs | GetLiveInput | ListOutputs => Method::GET,
            CreateLiveInput | RotateKeys | CreateOutput => Method::POST,
            UpdateLiveInput | UpdateOutput => Method::PUT,
            DeleteLiveInput | DeleteOutput => Method::DELETE,
        }
    }

    /// The path template below `/client/v4`, e.g. `/accounts/{account_id}/stream/live_inputs`.
    pub fn template(self) -> &'static str {
        use RouteKind::*;
        match self {
            VerifyToken => VERIFY,
            ListAccounts => ACCOUNTS,
            ListLiveInputs | CreateLiveInput => INPUTS,
            GetLiveInput | UpdateLiveInput | DeleteLiveInput => INPUT,
            RotateKeys => ROTATE,
            ListOutputs | CreateOutput => OUTPUTS,
            UpdateOutput | DeleteOutput => OUTPUT,
        }
    }

    /// The key requests are counted under: `"GET /accounts/{account_id}/stream/live_inputs"`.
    pub fn key(self) -> String {
        format!("{} {}", self.method(), self.template())
    }

    /// The operation served at this method and template (the template without `/client/v4`).
    pub fn from_parts(method: &Method, template: &str) -> Option<RouteKind> {
        RouteKind::ALL.into_iter().find(|k| k.method() == *method && k.template() == template)
    }
}

/// Faults waiting for the requests they apply to, oldest first (`take(None)`: a request that is
/// no known operation).
pub(crate) type FaultQueue = fake_support::FaultQueue<Fault, RouteKind>;

/// The response a fault produces instead of the normal one (`None` for [`Fault::Delay`]).
pub(crate) fn response_for(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Delay(_) => None,
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(envelope::failure(status, codes::INTERNAL, "Internal Server Error"))
        }
        Fault::RateLimited { retry_after_secs } => {
            let mut resp = envelope::failure(
                StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                "Please wait and consider throttling your request speed",
            );
            resp.headers_mut().insert("retry-after", HeaderValue::from(*retry_after_secs));
            Some(resp)
        }
        Fault::MalformedJson => Some(
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"success\": true, \"errors\": [], \"result\": {\"uid\": ",
            )
                .into_response(),
        ),
        Fault::Unauthorized => {
            Some(envelope::failure(StatusCode::UNAUTHORIZED, codes::AUTH_ERROR, "Authentication error"))
        }
    }
}

/// The JSON form of a fault for the `/__fake/faults` route:
/// `{"kind": "status", "status": 503, "count": 2, "route": "list_live_inputs"}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `status` | `rate_limited` | `delay` | `malformed_json` | `unauthorized`.
    pub kind: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// How many requests the fault applies to (default 1).
    #[serde(default)]
    pub count: Option<usize>,
    /// Only requests of this kind (default: any API request).
    #[serde(default)]
    pub route: Option<RouteKind>,
}

impl FaultSpec {
    /// The fault this spec describes, or why it describes none.
    pub fn to_fault(&self) -> Result<Fault, String> {
        match self.kind.as_str() {
            "status" => fake_support::spec_status(self.status).map(Fault::Status),
            "rate_limited" => Ok(Fault::RateLimited { retry_after_secs: self.retry_after_secs.unwrap_or(1) }),
            "delay" => fake_support::spec_delay(self.delay_ms).map(Fault::Delay),
            "malformed_json" => Ok(Fault::MalformedJson),
            "unauthorized" => Ok(Fault::Unauthorized),
            other => Err(format!(
                "unknown fault kind {other:?} (status, rate_limited, delay, malformed_json, unauthorized)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_aimed_at_a_route_skip_other_routes() {
        let mut q = FaultQueue::default();
        q.push(Fault::MalformedJson, 1, Some(RouteKind::CreateOutput));
        q.push(Fault::Status(503), 2, None);
        assert_eq!(q.take(Some(RouteKind::ListLiveInputs)), Some(Fault::Status(503)));
        assert_eq!(q.take(Some(RouteKind::CreateOutput)), Some(Fault::MalformedJson));
        assert_eq!(q.take(None), Some(Fault::Status(503)));
        assert_eq!(q.take(None), None);
    }

    #[test]
    fn every_route_kind_round_trips_through_its_parts() {
        for kind in RouteKind::ALL {
            assert_eq!(RouteKind::from_parts(&kind.method(), kind.template()), Some(kind));
        }
    }
}
