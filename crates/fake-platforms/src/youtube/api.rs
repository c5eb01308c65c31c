//! The YouTube Data API v3 under `/youtube/v3`: `GET /channels?mine=true`,
//! `GET /liveBroadcasts` (`broadcastStatus=active`, `broadcastType`), `PUT /liveBroadcasts`
//! (`part=snippet`: title and scheduledStartTime required; what the body leaves out is cleared,
//! as YouTube does), `GET /liveChat/messages` (paging, `pollingIntervalMillis`). Every call is
//! charged to the day's quota (1, 1, 50 and 5 units); past it, 403 `quotaExceeded`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::faults::{api_error, quota_exceeded, Route};
use super::oauth::enter;
use super::state::{random_token, Broadcast, YouTubeState, SCOPE_YOUTUBE};

const READ_SCOPES: [&str; 3] = [
    SCOPE_YOUTUBE,
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/youtube.force-ssl",
];

/// Count, fault, authenticate (Bearer), check a scope, charge the quota.
async fn gate(
    state: &YouTubeState,
    headers: &HeaderMap,
    route: Route,
    scopes: &[&str],
) -> Result<(), Response> {
    enter(state, route).await?;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let Some(granted) = state.authorize(token) else {
        return Err(api_error(
            401,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ));
    };
    if !granted.iter().any(|g| scopes.contains(&g.as_str())) {
        return Err(api_error(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        ));
    }
    if !state.spend(route) {
        return Err(quota_exceeded());
    }
    Ok(())
}

fn broadcast_json(b: &Broadcast, channel_id: &str) -> Value {
    json!({
        "kind": "youtube#liveBroadcast",
        "etag": random_token(27),
        "id": b.id,
        "snippet": {
            "publishedAt": b.published_at,
            "channelId": channel_id,
            "title": b.title,
            "description": b.description,
            "thumbnails": {},
            "scheduledStartTime": b.scheduled_start_time,
            "actualStartTime": b.actual_start_time,
            "isDefaultBroadcast": b.persistent,
            "liveChatId": b.live_chat_id,
        },
        "status": {
            "lifeCycleStatus": b.life_cycle_status,
            "privacyStatus": "public",
            "recordingStatus": "recording",
            "madeForKids": false,
            "selfDeclaredMadeForKids": false,
        },
    })
}

pub(crate) async fn channels(
    State(state): State<YouTubeState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = gate(&state, &headers, Route::Channels, &READ_SCOPES).await {
        return r;
    }
    if p.get("mine").map(String::as_str) != Some("true") {
        return api_error(
            400,
            "missingRequiredParameter",
            "No filter selected. Expected one of: mine, id, forHandle, forUsername.",
        );
    }
    let o = state.options();
    Json(json!({
        "kind": "youtube#channelListResponse",
        "etag": random_token(27),
        "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
        "items": [{
            "kind": "youtube#channel",
            "etag": random_token(27),
            "id": o.channel_id,
            "snippet": {"title": o.channel_title, "description": "", "publishedAt": "2020-01-01T00:00:00Z"},
        }],
    }))
    .into_response()
}

pub(crate) async fn list_broadcasts(
    State(state): State<YouTubeState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = gate(&state, &headers, Route::ListBroadcasts, &READ_SCOPES).await {
        return r;
    }
    if p.get("part").is_none_or(|s| s.trim().is_empty()) {
        return api_error(400, "required", "Required parameter: part");
    }
    let filters = ["broadcastStatus", "id", "mine"].iter().filter(|k| p.contains_key(**k)).count();
    if filters != 1 {
        return api_error(
            400,
            "incompatibleParameters",
            "Specify exactly one of broadcastStatus, id or mine.",
        );
    }
    let kind = p.get("broadcastType").map(String::as_str).unwrap_or("event");
    let status = p.get("broadcastStatus").map(String::as_str);
    let life = match status {
        None | Some("all") => None,
        Some("active") => Some("live"),
        Some("completed") => Some("complete"),
        Some("upcoming") => Some("upcoming"),
        Some(_) => return api_error(400, "invalidValue", "Invalid value for broadcastStatus."),
    };
    let ids: Option<Vec<&str>> = p.get("id").map(|s| s.split(',').collect());
    let channel_id = state.options().channel_id;
    let items: Vec<Value> = state
        .broadcasts()
        .iter()
        .filter(|b| match kind {
            "all" => true,
            "persistent" => b.persistent,
            _ => !b.persistent,
        })
        .filter(|b| life.is_none_or(|l| b.life_cycle_status == l))
        .filter(|b| ids.as_ref().is_none_or(|ids| ids.contains(&b.id.as_str())))
        .map(|b| broadcast_json(b, &channel_id))
        .collect();
    Json(json!({
        "kind": "youtube#liveBroadcastListResponse",
        "etag": random_token(27),
        "pageInfo": {"totalResults": items.len(), "resultsPerPage": 5},
        "items": items,
    }))
    .into_response()
}

pub(crate) async fn update_broadcast(
    State(state): State<YouTubeState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&state, &headers, Route::UpdateBroadcast, &[SCOPE_YOUTUBE, READ_SCOPES[2]]).await {
        return r;
    }
    if p.get("part").map(String::as_str) != Some("snippet") {
        return api_error(400, "invalidPart", "The fake updates part=snippet only.");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return api_error(400, "parseError", "Parse Error");
    };
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let snippet = &body["snippet"];
    let title = snippet["title"].as_str().unwrap_or_default().trim().to_string();
    if title.is_empty() {
        return api_error(
            400,
            "invalidTitle",
            "The request does not specify a title, or the title is empty.",
        );
    }
    if title.chars().count() > 100 || title.contains(['<', '>']) {
        return api_error(400, "invalidTitle", "The title is too long or contains invalid characters.");
    }
    let Some(start) =
        snippet["scheduledStartTime"].as_str().filter(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
    else {
        return api_error(400, "invalidScheduledStartTime", "Scheduled start time required");
    };
    let description = snippet["description"].as_str().unwrap_or_default().to_string();
    if description.chars().count() > 5000 || description.contains(['<', '>']) {
        return api_error(
            400,
            "invalidDescription",
            "The description is too long or contains invalid characters.",
        );
    }
    let updated = {
        let mut g = state.lock();
        g.broadcasts.iter_mut().find(|b| b.id == id).map(|b| {
            b.title = title;
            b.description = description;
            b.scheduled_start_time = start.to_string();
            b.clone()
        })
    };
    match updated {
        Some(b) => Json(broadcast_json(&b, &state.options().channel_id)).into_response(),
        None => api_error(404, "liveBroadcastNotFound", "Broadcast not found"),
    }
}

pub(crate) async fn chat_messages(
    State(state): State<YouTubeState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = gate(&state, &headers, Route::ChatMessages, &READ_SCOPES).await {
        return r;
    }
    if p.get("part").is_none_or(|s| s.trim().is_empty()) {
        return api_error(400, "required", "Required parameter: part");
    }
    let chat = p.get("liveChatId").cloned().unwrap_or_default();
    let ended = {
        let g = state.lock();
        match g.broadcasts.iter().find(|b| b.live_chat_id == chat) {
            None => {
                return api_error(
                    404,
                    "liveChatNotFound",
                    "The live chat that you are trying to retrieve cannot be found.",
                )
            }
            Some(b) => b.life_cycle_status == "complete",
        }
    };
    if ended {
        return api_error(403, "liveChatEnded", "The specified live chat is no longer live.");
    }
    let max = p.get("maxResults").and_then(|m| m.parse::<usize>().ok());
    let Some((items, next)) = state.chat_page(&chat, p.get("pageToken").map(String::as_str), max) else {
        return api_error(400, "pageTokenInvalid", "The page token is not valid.");
    };
    let o = state.options();
    Json(json!({
        "kind": "youtube#liveChatMessageListResponse",
        "etag": random_token(27),
        "nextPageToken": next,
        "pollingIntervalMillis": o.polling_interval_millis,
        "pageInfo": {"totalResults": items.len(), "resultsPerPage": items.len()},
        "items": items,
    }))
    .into_response()
}
