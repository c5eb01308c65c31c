//! Helix (`/helix`): `GET /users`, `GET|PATCH /channels`, `GET /search/categories`,
//! `POST|GET /eventsub/subscriptions` (WebSocket transport)
//! (<https://dev.twitch.tv/docs/api/reference/>).
//!
//! Every call needs `Authorization: Bearer <user token>` and a `Client-Id` header matching the
//! token's client. Errors are `{"error": "Unauthorized", "status": 401, "message": "..."}`.
//! Creating a subscription answers 202; 400 for a bad body, an unknown type/version or a session
//! that is not connected; 403 when the token lacks the type's scope or the condition names
//! another user; 409 when an enabled subscription of that type and condition exists on a live
//! session; 429 past 300 enabled subscriptions on one session.

// Helpers answer a ready-made error response, as the handlers do.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::examples;
use super::faults::{helix_error, Route};
use super::oauth::{bearer, enter};
use super::state::{Authorized, SubscriptionSnapshot, TwitchState, CATEGORIES};

/// Most subscriptions one WebSocket session may hold (Twitch: 300).
pub const MAX_SUBSCRIPTIONS_PER_SESSION: usize = 300;

fn auth(state: &TwitchState, headers: &HeaderMap) -> Result<Authorized, Response> {
    let token = bearer(headers, &["Bearer"]).ok_or_else(|| helix_error(401, "OAuth token is missing"))?;
    let client_id = headers
        .get("client-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| helix_error(401, "Client ID is missing"))?
        .to_string();
    let a = state.authorize(&token).ok_or_else(|| helix_error(401, "Invalid OAuth token"))?;
    if a.client_id != client_id {
        return Err(helix_error(401, "Client ID and OAuth token do not match"));
    }
    Ok(a)
}

macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

pub(crate) async fn users(
    State(state): State<TwitchState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    try_resp!(enter(&state, Route::Users).await);
    try_resp!(auth(&state, &headers));
    let user = state.user();
    let asked: Vec<&(String, String)> = q.iter().filter(|(k, _)| k == "id" || k == "login").collect();
    let matches = asked.is_empty()
        || asked.iter().any(|(k, v)| {
            (k == "id" && *v == user.id) || (k == "login" && v.eq_ignore_ascii_case(&user.login))
        });
    let data = if matches {
        vec![json!({
            "id": user.id,
            "login": user.login,
            "display_name": user.display_name,
            "type": "",
            "broadcaster_type": "affiliate",
            "description": "A fake broadcaster.",
            "profile_image_url": "https://static-cdn.jtvnw.net/user-default-pictures-uv/profile_image-300x300.png",
            "offline_image_url": "",
            "view_count": 0,
            "created_at": "2016-12-14T20:32:28Z",
        })]
    } else {
        vec![]
    };
    Json(json!({"data": data})).into_response()
}

fn broadcaster_param(q: &HashMap<String, String>) -> Result<String, Response> {
    q.get("broadcaster_id")
        .filter(|b| !b.is_empty())
        .cloned()
        .ok_or_else(|| helix_error(400, "Missing required parameter \"broadcaster_id\""))
}

pub(crate) async fn get_channel(
    State(state): State<TwitchState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    try_resp!(enter(&state, Route::Channels).await);
    try_resp!(auth(&state, &headers));
    let id = try_resp!(broadcaster_param(&q));
    let user = state.user();
    if id != user.id {
        return Json(json!({"data": []})).into_response();
    }
    let c = state.channel();
    Json(json!({"data": [{
        "broadcaster_id": user.id,
        "broadcaster_login": user.login,
        "broadcaster_name": user.display_name,
        "broadcaster_language": c.broadcaster_language,
        "game_id": c.game_id,
        "game_name": c.game_name,
        "title": c.title,
        "delay": 0,
        "tags": c.tags,
        "content_classification_labels": [],
        "is_branded_content": false,
    }]}))
    .into_response()
}

pub(crate) async fn patch_channel(
    State(state): State<TwitchState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    try_resp!(enter(&state, Route::Channels).await);
    let a = try_resp!(auth(&state, &headers));
    if !a.scopes.iter().any(|s| s == "channel:manage:broadcast") {
        return helix_error(401, "Missing scope: channel:manage:broadcast");
    }
    let id = try_resp!(broadcaster_param(&q));
    if id != a.user_id {
        return helix_error(
            401,
            "The ID in broadcaster_id must match the user ID found in the request's OAuth token.",
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return helix_error(400, "The request body is not a JSON object.");
    };
    let known = [
        "game_id",
        "title",
        "broadcaster_language",
        "delay",
        "tags",
        "content_classification_labels",
        "is_branded_content",
    ];
    if !body.keys().any(|k| known.contains(&k.as_str())) {
        return helix_error(400, "No fields were specified to update.");
    }
    let title = match body.get("title") {
        None => None,
        Some(Value::String(t)) if t.trim().is_empty() => {
            return helix_error(400, "The title field may not contain an empty string.")
        }
        Some(Value::String(t)) if t.chars().count() > 140 => {
            return helix_error(400, "The title may not be longer than 140 characters.")
        }
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return helix_error(400, "The title field must be a string."),
    };
    let game = match body.get("game_id") {
        None => None,
        Some(Value::String(g)) if g.is_empty() || g == "0" => Some((String::new(), String::new())),
        Some(Value::String(g)) => match CATEGORIES.iter().find(|c| c.id == g) {
            Some(c) => Some((c.id.to_string(), c.name.to_string())),
            None => return helix_error(400, "The ID in game_id is not valid."),
        },
        Some(_) => return helix_error(400, "The game_id field must be a string."),
    };
    let language = body.get("broadcaster_language").and_then(Value::as_str).map(str::to_string);
    let tags = match body.get("tags") {
        None => None,
        Some(Value::Array(t)) => {
            Some(t.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>())
        }
        Some(_) => return helix_error(400, "The tags field must be an array of strings."),
    };
    state.update_channel(|c| {
        if let Some(t) = title {
            c.title = t;
        }
        if let Some((id, name)) = game {
            c.game_id = id;
            c.game_name = name;
        }
        if let Some(l) = language {
            c.broadcaster_language = l;
        }
        if let Some(t) = tags {
            c.tags = t;
        }
    });
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn search_categories(
    State(state): State<TwitchState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    try_resp!(enter(&state, Route::SearchCategories).await);
    try_resp!(auth(&state, &headers));
    let Some(query) = q.get("query").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) else {
        return helix_error(400, "Missing required parameter \"query\"");
    };
    let first = q.get("first").and_then(|f| f.parse::<usize>().ok()).unwrap_or(20).clamp(1, 100);
    let data: Vec<Value> = CATEGORIES
        .iter()
        .filter(|c| c.name.to_lowercase().contains(&query))
        .take(first)
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "box_art_url": format!("https://static-cdn.jtvnw.net/ttv-boxart/{}-52x72.jpg", c.id),
            })
        })
        .collect();
    Json(json!({"data": data, "pagination": {}})).into_response()
}

fn subscription_json(s: &SubscriptionSnapshot, connected_at: Option<String>) -> Value {
    let mut transport = json!({"method": "websocket", "session_id": s.session_id});
    if let Some(at) = connected_at {
        transport["connected_at"] = json!(at);
    }
    json!({
        "id": s.id,
        "status": s.status,
        "type": s.kind,
        "version": s.version,
        "condition": s.condition,
        "created_at": s.created_at,
        "transport": transport,
        "cost": 0,
    })
}

pub(crate) async fn create_subscription(
    State(state): State<TwitchState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    try_resp!(enter(&state, Route::CreateSubscription).await);
    let a = try_resp!(auth(&state, &headers));
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return helix_error(400, "The request body is not a JSON object.");
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (kind, version) = (field("type"), field("version"));
    if kind.is_empty() || version.is_empty() {
        return helix_error(400, "The type and version fields are required.");
    }
    let transport = body.get("transport").cloned().unwrap_or(Value::Null);
    if transport.get("method").and_then(Value::as_str) != Some("websocket") {
        return helix_error(400, "The fake serves the websocket transport method only.");
    }
    let session_id = transport.get("session_id").and_then(Value::as_str).unwrap_or_default().to_string();
    if examples::version_of(&kind) != Some(version.as_str()) {
        return helix_error(400, "The combination of values in the type and version fields is not valid.");
    }
    if !state.session_connected(&session_id) {
        return helix_error(
            400,
            "The websocket transport session does not exist or has already disconnected.",
        );
    }
    if let Some(scope) = examples::required_scope(&kind) {
        if !a.scopes.iter().any(|s| s == scope) {
            return helix_error(403, "subscription missing proper authorization");
        }
    }
    let condition = match body.get("condition") {
        Some(Value::Object(c)) => c.clone(),
        _ => return helix_error(400, "The condition field is required."),
    };
    for f in examples::condition_fields(&kind) {
        match condition.get(*f).and_then(Value::as_str) {
            None => return helix_error(400, &format!("The condition field {f} is required.")),
            Some(v) if v != a.user_id => {
                return helix_error(403, "subscription missing proper authorization")
            }
            Some(_) => {}
        }
    }
    let condition = Value::Object(condition);
    if state.existing_subscription(&kind, &condition).is_some() {
        return helix_error(409, "subscription already exists");
    }
    if state.enabled_on_session(&session_id) >= MAX_SUBSCRIPTIONS_PER_SESSION {
        return helix_error(
            429,
            "The request exceeds the number of subscriptions that you may create with the same combination of type and condition values.",
        );
    }
    let sub = SubscriptionSnapshot {
        id: uuid::Uuid::new_v4().to_string(),
        kind,
        version,
        status: "enabled".into(),
        condition,
        session_id: session_id.clone(),
        created_at: examples::now(),
    };
    state.add_subscription(sub.clone());
    let total = state.subscriptions().iter().filter(|s| s.status == "enabled").count();
    let body = json!({
        "data": [subscription_json(&sub, state.session_connected_at(&session_id))],
        "total": total,
        "total_cost": 0,
        "max_total_cost": 10,
    });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

pub(crate) async fn list_subscriptions(State(state): State<TwitchState>, headers: HeaderMap) -> Response {
    try_resp!(enter(&state, Route::ListSubscriptions).await);
    try_resp!(auth(&state, &headers));
    let subs = state.subscriptions();
    let data: Vec<Value> =
        subs.iter().map(|s| subscription_json(s, state.session_connected_at(&s.session_id))).collect();
    let total = subs.iter().filter(|s| s.status == "enabled").count();
    Json(json!({"data": data, "total": total, "total_cost": 0, "max_total_cost": 10, "pagination": {}}))
        .into_response()
}
