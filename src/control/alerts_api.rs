//! Alerts over the control API: `POST/GET /api/v1/alerts`, the queue controls, the stream
//! history, and the Ko-fi donation webhook (verified by its token, not the bearer token).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ControlState};
use crate::alerts::{AlertInput, AlertKind};
use crate::secrets::SecretName;

/// Largest alert request body.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Deserialize)]
struct AlertPost {
    #[serde(flatten)]
    input: AlertInput,
    idempotency_key: Option<String>,
}

fn body(raw: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    match raw {
        Ok(b) => Ok(b),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge { limit: MAX_BODY }),
        Err(e) => Err(ApiError::BadRequest(e.body_text())),
    }
}

pub async fn post_alert(
    State(s): State<ControlState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = body(raw)?;
    let post: AlertPost = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid alert JSON: {e}")))?;
    let accepted = s.engine.alerts().accept(post.input, post.idempotency_key.as_deref())?;
    let code = if accepted.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((code, Json(accepted)))
}

pub async fn get_alerts(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.alerts().view().await?))
}

fn ok() -> Json<serde_json::Value> {
    Json(json!({"ok": true}))
}

pub async fn pause(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().set_paused(true).await?;
    Ok(ok())
}

pub async fn resume(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().set_paused(false).await?;
    Ok(ok())
}

pub async fn skip(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().skip().await?;
    Ok(ok())
}

pub async fn clear(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    s.engine.alerts().clear().await?;
    Ok(ok())
}

pub async fn act(
    State(s): State<ControlState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let desk = s.engine.alerts();
    match action.as_str() {
        "replay" => desk.replay(&id).await?,
        "approve" => desk.approve(&id).await?,
        "reject" => desk.reject(&id).await?,
        _ => return Err(ApiError::NotFound),
    }
    Ok(ok())
}

pub async fn streams(State(s): State<ControlState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.stream_history()?))
}

/// `GET /api/v1/streams/{uuid}`: one stream with its bitrate samples and events.
pub async fn stream(
    State(s): State<ControlState>,
    Path(uuid): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let shown: String = uuid.chars().take(64).collect();
    let id = uuid::Uuid::parse_str(&uuid)
        .map_err(|e| ApiError::BadRequest(format!("`{shown}` is not a stream UUID: {e}")))?;
    match s.engine.stream_detail(id)? {
        Some(detail) => Ok(Json(detail)),
        None => Err(ApiError::Missing(format!("no stream {id} in the history"))),
    }
}

pub async fn rotate_overlay_key(State(s): State<ControlState>) -> impl IntoResponse {
    Json(json!({"key": s.engine.rotate_overlay_key().expose()}))
}

/// What Ko-fi posts (form field `data`, JSON).
#[derive(Deserialize)]
struct Kofi {
    verification_token: String,
    message_id: Option<String>,
    kofi_transaction_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    from_name: Option<String>,
    message: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    is_public: Option<bool>,
}

#[derive(Deserialize)]
struct KofiForm {
    data: String,
}

pub async fn kofi(
    State(s): State<ControlState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = body(raw)?;
    let form: KofiForm = serde_urlencoded_from(&bytes)
        .ok_or_else(|| ApiError::BadRequest("expected a form field `data`".into()))?;
    let k: Kofi = serde_json::from_str(&form.data)
        .map_err(|e| ApiError::BadRequest(format!("invalid Ko-fi data: {e}")))?;
    let expected =
        s.engine.secrets().get(&SecretName::KofiToken).ok().flatten().filter(|t| !t.is_blank()).ok_or(
            ApiError::Forbidden(
                "the Ko-fi webhook is not set up (STREAMPAI_KOFI_TOKEN or the keyring)".into(),
            ),
        )?;
    if !super::auth::constant_time_eq(k.verification_token.as_bytes(), expected.expose().as_bytes()) {
        tracing::warn!("Ko-fi webhook: wrong verification token");
        return Err(ApiError::Forbidden("wrong Ko-fi verification token".into()));
    }
    let kind = match k.kind.as_deref() {
        Some("Subscription") => AlertKind::Subscription,
        _ => AlertKind::Donation,
    };
    let amount = match k.amount.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => Some(
            a.parse::<f64>()
                .map_err(|_| ApiError::BadRequest(format!("Ko-fi amount `{a}` is not a number")))?,
        ),
        _ => None,
    };
    let input = AlertInput {
        kind,
        from: k.from_name.unwrap_or_else(|| "Someone".into()),
        amount,
        currency: k.currency,
        // A private Ko-fi message is not for the stream.
        message: if k.is_public == Some(false) { None } else { k.message },
        platform: Some("ko-fi".into()),
    };
    let key = k.message_id.or(k.kofi_transaction_id).map(|id| format!("kofi:{id}"));
    let accepted = s.engine.alerts().accept(input, key.as_deref())?;
    Ok((StatusCode::OK, Json(accepted)))
}

fn serde_urlencoded_from(bytes: &[u8]) -> Option<KofiForm> {
    let data = url::form_urlencoded::parse(bytes).find(|(k, _)| k == "data").map(|(_, v)| v.into_owned())?;
    Some(KofiForm { data })
}
