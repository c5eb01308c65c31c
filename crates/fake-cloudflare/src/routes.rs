//! The Cloudflare v4 API routes under `/client/v4`: auth, live inputs, outputs, token verify,
//! accounts; and the middleware that counts requests, adds latency and applies faults.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::envelope::{self, success, success_with, ApiError};
use crate::faults::VERIFY;
use crate::faults::{self, Fault, RouteKind, ACCOUNTS, INPUT, INPUTS, OUTPUT, OUTPUTS, ROTATE};
use crate::render;
use crate::state::{hex_id, FakeState, InputKeys, InputRecord, OutputRecord, Recording, Store, TokenScope};
use crate::validate::{self, InputChanges};

/// Where the API is mounted.
pub const API_PREFIX: &str = "/client/v4";

type ApiResult = Result<Response, ApiError>;

pub(crate) fn router(state: FakeState) -> Router {
    let p = |t: &str| format!("{API_PREFIX}{t}");
    Router::new()
        .route(&p(VERIFY), get(verify_token))
        .route(&p(ACCOUNTS), get(list_accounts))
        .route(&p(INPUTS), get(list_inputs).post(create_input))
        .route(&p(INPUT), get(get_input).put(update_input).delete(delete_input))
        .route(&p(ROTATE), post(rotate_keys))
        .route(&p(OUTPUTS), get(list_outputs).post(create_output))
        .route(&p(OUTPUT), put(update_output).delete(delete_output))
        .method_not_allowed_fallback(envelope::method_not_allowed)
        .route_layer(middleware::from_fn_with_state(state.clone(), api_layer))
        .with_state(state)
}

/// Counts the request, waits the configured latency, then applies the next matching fault.
/// The store lock is released before any sleep, so concurrent requests wait concurrently.
async fn api_layer(State(state): State<FakeState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().trim_start_matches(API_PREFIX).to_string())
        .unwrap_or_default();
    let kind = RouteKind::from_parts(&method, &template);
    let (latency, fault) = {
        let mut store = state.store();
        store.total_requests += 1;
        *store.by_route.entry(format!("{method} {template}")).or_default() += 1;
        (store.latency, store.faults.take(kind))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let faulted = fault.is_some();
    let response = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(fault) => match faults::response_for(&fault) {
            Some(resp) => resp,
            None => next.run(req).await,
        },
        None => next.run(req).await,
    };
    tracing::debug!(
        %method,
        path = %template,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        faulted,
        "fake cloudflare request"
    );
    response
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value =
        headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(ApiError::missing_auth)?;
    match value.strip_prefix("Bearer ").map(str::trim) {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(ApiError::missing_auth()),
    }
}

/// 401 for a missing or unknown token; 403 for another account or a token without Stream.
fn authorize_stream(
    store: &Store,
    state: &FakeState,
    headers: &HeaderMap,
    account: &str,
) -> Result<(), ApiError> {
    let token = bearer(headers)?;
    let info = store.tokens.get(token).ok_or_else(ApiError::bad_token)?;
    if account != state.account_id() || info.scope != TokenScope::Full {
        return Err(ApiError::forbidden());
    }
    Ok(())
}

async fn verify_token(State(state): State<FakeState>, headers: HeaderMap) -> ApiResult {
    let store = state.store();
    let token = bearer(&headers)?;
    let info = store.tokens.get(token).ok_or_else(ApiError::bad_token)?;
    Ok(success_with(
        json!({"id": info.id, "status": "active"}),
        json!({"messages": [{"code": 10000, "message": "This API Token is valid and active", "type": null}]}),
    ))
}

async fn list_accounts(State(state): State<FakeState>, headers: HeaderMap) -> ApiResult {
    let store = state.store();
    let token = bearer(&headers)?;
    store.tokens.get(token).ok_or_else(ApiError::bad_token)?;
    let account = json!({
        "id": state.account_id(),
        "name": "Fake Streampai account",
        "type": "standard",
        "settings": {"enforce_twofactor": false},
        "created_on": "2024-01-01T00:00:00.000000Z",
    });
    Ok(success_with(
        json!([account]),
        json!({"result_info": {"page": 1, "per_page": 20, "count": 1, "total_count": 1, "total_pages": 1}}),
    ))
}

fn find_input<'a>(store: &'a mut Store, uid: &str) -> Result<&'a mut InputRecord, ApiError> {
    store.inputs.iter_mut().find(|i| i.uid == uid).ok_or_else(|| ApiError::not_found("Live input"))
}

fn apply(input: &mut InputRecord, c: InputChanges) {
    if let Some(meta) = c.meta {
        input.meta = meta;
    }
    let rec = &mut input.recording;
    if let Some(mode) = c.mode {
        rec.mode = mode;
    }
    rec.timeout_seconds = c.timeout_seconds.unwrap_or(rec.timeout_seconds);
    rec.require_signed_urls = c.require_signed_urls.unwrap_or(rec.require_signed_urls);
    if let Some(origins) = c.allowed_origins {
        rec.allowed_origins = origins;
    }
    rec.hide_live_viewer_count = c.hide_live_viewer_count.unwrap_or(rec.hide_live_viewer_count);
    if let Some(days) = c.delete_recording_after_days {
        input.delete_recording_after_days = days;
    }
    if let Some(creator) = c.default_creator {
        input.default_creator = Some(creator);
    }
    input.enabled = c.enabled.unwrap_or(input.enabled);
    input.prefer_low_latency = c.prefer_low_latency.unwrap_or(input.prefer_low_latency);
    input.modified = Utc::now();
}

async fn list_inputs(
    State(state): State<FakeState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let items: Vec<Value> = store.inputs.iter().map(render::live_input_summary).collect();
    let total = items.len();
    Ok(success(json!({"liveInputs": items, "range": total, "total": total})))
}

async fn create_input(
    State(state): State<FakeState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let changes = validate::input_changes(&validate::object(&body, true)?)?;
    let now = Utc::now();
    let mut input = InputRecord {
        uid: hex_id(),
        created: now,
        modified: now,
        meta: Map::new(),
        recording: Recording::default(),
        delete_recording_after_days: None,
        default_creator: None,
        enabled: true,
        prefer_low_latency: false,
        keys: InputKeys::generate(),
        keys_rotated_at: None,
        connection: None,
        outputs: Vec::new(),
    };
    apply(&mut input, changes);
    let body = render::live_input(&input, state.customer_code(), store.status_form);
    store.inputs.push(input);
    Ok(success(body))
}

async fn get_input(
    State(state): State<FakeState>,
    Path((account, uid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let form = store.status_form;
    let input = find_input(&mut store, &uid)?;
    Ok(success(render::live_input(input, state.customer_code(), form)))
}

async fn update_input(
    State(state): State<FakeState>,
    Path((account, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let form = store.status_form;
    let input = find_input(&mut store, &uid)?;
    let changes = validate::input_changes(&validate::object(&body, false)?)?;
    apply(input, changes);
    Ok(success(render::live_input(input, state.customer_code(), form)))
}

async fn delete_input(
    State(state): State<FakeState>,
    Path((account, uid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    find_input(&mut store, &uid)?;
    store.inputs.retain(|i| i.uid != uid);
    Ok(success(Value::Null))
}

/// `POST .../rotate_keys` (documented in prose only, see SOURCE.md): new ingest keys.
async fn rotate_keys(
    State(state): State<FakeState>,
    Path((account, uid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let form = store.status_form;
    let input = find_input(&mut store, &uid)?;
    let fresh = InputKeys::generate();
    input.keys.rtmps = fresh.rtmps;
    input.keys.srt_passphrase = fresh.srt_passphrase;
    input.keys.webrtc = fresh.webrtc;
    let now = Utc::now();
    input.keys_rotated_at = Some(now);
    input.modified = now;
    Ok(success(render::live_input(input, state.customer_code(), form)))
}

async fn list_outputs(
    State(state): State<FakeState>,
    Path((account, uid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let input = find_input(&mut store, &uid)?;
    let outputs: Vec<Value> = input.outputs.iter().map(|o| render::output(input, o)).collect();
    Ok(success(Value::Array(outputs)))
}

async fn create_output(
    State(state): State<FakeState>,
    Path((account, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let input = find_input(&mut store, &uid)?;
    let new = validate::new_output(&validate::object(&body, false)?)?;
    let output = OutputRecord {
        uid: hex_id(),
        url: new.url,
        stream_key: new.stream_key,
        enabled: new.enabled,
        changed_at: Utc::now(),
        forced_state: None,
    };
    let body = render::output(input, &output);
    input.outputs.push(output);
    Ok(success(body))
}

fn find_output<'a>(input: &'a mut InputRecord, uid: &str) -> Result<&'a mut OutputRecord, ApiError> {
    input.outputs.iter_mut().find(|o| o.uid == uid).ok_or_else(|| ApiError::not_found("Output"))
}

async fn update_output(
    State(state): State<FakeState>,
    Path((account, uid, output_uid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let input = find_input(&mut store, &uid)?;
    find_output(input, &output_uid)?;
    let enabled = validate::output_enabled(&validate::object(&body, false)?)?;
    let output = find_output(input, &output_uid)?;
    if output.enabled != enabled {
        output.enabled = enabled;
        output.changed_at = Utc::now();
    }
    let snapshot = output.clone();
    Ok(success(render::output(input, &snapshot)))
}

async fn delete_output(
    State(state): State<FakeState>,
    Path((account, uid, output_uid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let mut store = state.store();
    authorize_stream(&store, &state, &headers, &account)?;
    let input = find_input(&mut store, &uid)?;
    find_output(input, &output_uid)?;
    input.outputs.retain(|o| o.uid != output_uid);
    Ok(success(Value::Null))
}
