//! `POST /webhooks/kofi`: Ko-fi's donation webhook, verified by its token (not the bearer
//! token). A donor paid: once the token checks out, nothing they sent is refused for its shape.
//! Long names and messages are cut, an empty name is "Anonymous", amounts in common locale
//! forms parse, and anything unreadable becomes a *held* alert for the streamer to look at;
//! Ko-fi gets a 200 either way so it does not retry forever. Only a missing or wrong token, a
//! body that is not Ko-fi's form at all, a full queue or a storage failure answer otherwise.
//!
//! The same rules serve Ko-fi events relayed by the sync server (`POST /hooks/NAME/kofi` there,
//! then a `hook` message to this engine, `crate::sync::client`): [`accept`] is the one intake.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;

use super::{ApiError, ControlState};
use crate::alerts::{parse_amount, Accepted, AlertDesk, AlertInput, AlertKind, AlertQueueError};
use crate::secrets::SecretName;
use crate::telemetry::esc;

/// A JSON field as text: strings as they are, numbers and booleans written out.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a verified Ko-fi payload becomes: the alert, its idempotency key, and why it is held
/// (if some of it could not be read).
pub(crate) fn to_alert(v: &Value) -> (AlertInput, Option<String>, Option<String>) {
    let mut unreadable = Vec::new();
    let kind = match text(v, "type").as_deref() {
        Some("Subscription") => AlertKind::Subscription,
        _ => AlertKind::Donation,
    };
    let amount = match text(v, "amount").map(|a| a.trim().to_string()) {
        Some(a) if !a.is_empty() => {
            let parsed = parse_amount(&a);
            if parsed.is_none() {
                let shown: String = a.chars().take(40).collect();
                unreadable.push(format!("unreadable amount \"{shown}\" - check it on Ko-fi"));
            }
            parsed
        }
        _ => None,
    };
    let public = text(v, "is_public").as_deref() != Some("false");
    let input = AlertInput {
        kind,
        from: text(v, "from_name").unwrap_or_default(),
        amount,
        currency: text(v, "currency"),
        // A private Ko-fi message is not for the stream.
        message: if public { text(v, "message") } else { None },
        platform: Some("kofi".into()),
    };
    let key = text(v, "message_id").or_else(|| text(v, "kofi_transaction_id")).map(|id| format!("kofi:{id}"));
    let hold = (!unreadable.is_empty()).then(|| unreadable.join("; "));
    (input, key, hold)
}

/// Turn a verified Ko-fi payload into an alert (held if partly unreadable), idempotently by
/// Ko-fi's `message_id` (or `fallback_key` when the payload has none: the relay's id).
pub(crate) fn accept(
    alerts: &AlertDesk,
    v: &Value,
    fallback_key: Option<&str>,
) -> Result<Accepted, AlertQueueError> {
    let (input, key, hold) = to_alert(v);
    let key = key.or_else(|| fallback_key.map(str::to_string));
    if let Some(reason) = &hold {
        tracing::warn!(from = %esc(&input.from), reason = %esc(reason), "Ko-fi donation partly unreadable; held");
    }
    alerts.accept_donor(input, key.as_deref(), hold)
}

pub async fn webhook(
    State(s): State<ControlState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = super::alerts_api::body(raw)?;
    let data = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::BadRequest("expected a form field `data`".into()))?;
    // Without readable JSON there is no verification token: nothing to trust, nothing to keep.
    let v: Value =
        serde_json::from_str(&data).map_err(|e| ApiError::BadRequest(format!("invalid Ko-fi data: {e}")))?;
    let expected =
        s.engine.secrets().get(&SecretName::KofiToken).ok().flatten().filter(|t| !t.is_blank()).ok_or(
            ApiError::Forbidden(
                "the Ko-fi webhook is not set up (STREAMPAI_KOFI_TOKEN or the keyring)".into(),
            ),
        )?;
    let given = text(&v, "verification_token").unwrap_or_default();
    if !super::auth::constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
        static WRONG: streampai_sync::log_safe::Burst = streampai_sync::log_safe::Burst::new();
        if let Some(refused) = WRONG.hit() {
            tracing::warn!(refused, "Ko-fi webhook: wrong verification token");
        }
        return Err(ApiError::Forbidden("wrong Ko-fi verification token".into()));
    }
    let accepted = accept(&s.engine.alerts(), &v, None)?;
    Ok((StatusCode::OK, Json(accepted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_kofi_payload_becomes_an_alert_whatever_its_shape() {
        let (a, key, hold) = to_alert(&json!({"from_name": "", "amount": "3,00", "message_id": "m1"}));
        assert_eq!((a.amount, key.as_deref(), hold), (Some(3.0), Some("kofi:m1"), None));
        let (a, _, hold) =
            to_alert(&json!({"from_name": "Ann", "amount": "lots", "is_public": false, "message": "x"}));
        assert_eq!(a.amount, None);
        assert_eq!(a.message, None);
        assert!(hold.unwrap().contains("\"lots\""));
        let (a, _, _) = to_alert(&json!({"from_name": 42, "amount": 5, "type": "Subscription"}));
        assert_eq!((a.from.as_str(), a.amount, a.kind), ("42", Some(5.0), AlertKind::Subscription));
    }
}
