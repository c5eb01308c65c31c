//! The webhook relay: `POST /hooks/{user}/kofi` takes a Ko-fi webhook (form field `data`, a JSON
//! object with the user's `verification_token`) for a streamer whose desktop Ko-fi cannot
//! reach, holds it, and relays it to the user's host engine as a `hook` message (protocol
//! version 2) until a host answers `hook_ack` (at-least-once; the host inserts idempotently by
//! the hook's id, Ko-fi's `message_id`).
//!
//! Held per user in memory (bounded, lost on restart) or, with `--redis`, in the Redis hash
//! `sp:hooks:{user}` (kept across restarts of the server). Ko-fi gets its 200 only once the
//! event is held; a full queue answers 503 with `queue_full` (Ko-fi's retry, or the streamer,
//! sees it) and keeps what it already holds.
//!
//! The request is bounded like every other one of this listener: the guard's header timeout and
//! pending caps (the connection stays evictable until the token checked out), a body cap and a
//! body timeout. The verification token is compared by SHA-256 digest in constant time and is
//! never logged, stored or relayed; neither are the donor's e-mail nor shipping address.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::hub::HubEvent;
use super::Shared;
use crate::guard::Peer;
use crate::log_safe::{esc, Burst};
use crate::protocol::{valid_id, Hook};
use crate::users::HookAuth;

/// The fields of Ko-fi's `data` that are relayed (Ko-fi's documented webhook fields minus the
/// verification token, the donor's e-mail and shipping address).
const KOFI_FIELDS: &[&str] = &[
    "message_id",
    "kofi_transaction_id",
    "timestamp",
    "type",
    "is_public",
    "from_name",
    "message",
    "amount",
    "currency",
    "url",
    "is_subscription_payment",
    "is_first_subscription_payment",
    "tier_name",
    "shop_items",
];

/// What became of a POSTed event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    New,
    /// Already held under this id: nothing new.
    Duplicate,
    /// The user's queue holds `max` events already.
    Full {
        max: usize,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HookStoreError(pub String);

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Held events per user, in memory: at most `max` per user, each dropped (with a warning) once
/// older than `ttl`. Each remembers the host connection that took it (claimed it) until acked.
#[derive(Default)]
pub struct MemoryHooks {
    users: Mutex<HashMap<String, VecDeque<Held>>>,
}

struct Held {
    hook: Hook,
    /// The connection ref it was given to (claimed), until acknowledged.
    owner: Option<String>,
}

fn expire(q: &mut VecDeque<Held>, user: &str, ttl: Duration) {
    let cutoff = now_ms().saturating_sub(ttl.as_millis() as u64);
    let before = q.len();
    q.retain(|h| h.hook.received_at >= cutoff);
    if q.len() != before {
        tracing::warn!(user, expired = before - q.len(), "webhook events expired before a host took them");
    }
}

impl MemoryHooks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Held>>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn put(&self, user: &str, hook: &Hook, max: usize, ttl: Duration) -> Put {
        let mut users = self.lock();
        let q = users.entry(user.to_string()).or_default();
        expire(q, user, ttl);
        if q.iter().any(|h| h.hook.id == hook.id) {
            return Put::Duplicate;
        }
        if q.len() >= max {
            return Put::Full { max };
        }
        q.push_back(Held { hook: hook.clone(), owner: None });
        Put::New
    }

    pub fn pending(&self, user: &str, ttl: Duration) -> Vec<Hook> {
        let mut users = self.lock();
        let Some(q) = users.get_mut(user) else { return vec![] };
        expire(q, user, ttl);
        let out = q.iter().map(|h| h.hook.clone()).collect();
        if q.is_empty() {
            users.remove(user);
        }
        out
    }

    /// Give the held event `id` to the connection `conn`: yes if nobody has it, `conn` has it
    /// already, or the connection that had it is gone (`alive` says no). `false` also when the
    /// event is no longer held (acknowledged meanwhile).
    pub fn claim(&self, user: &str, id: &str, conn: &str, alive: impl Fn(&str) -> bool) -> bool {
        let mut users = self.lock();
        let Some(h) = users.get_mut(user).and_then(|q| q.iter_mut().find(|h| h.hook.id == id)) else {
            return false;
        };
        match &h.owner {
            Some(o) if o != conn && alive(o) => false,
            _ => {
                h.owner = Some(conn.to_string());
                true
            }
        }
    }

    pub fn ack(&self, user: &str, id: &str) -> bool {
        let mut users = self.lock();
        let Some(q) = users.get_mut(user) else { return false };
        let before = q.len();
        q.retain(|h| h.hook.id != id);
        let removed = q.len() != before;
        if q.is_empty() {
            users.remove(user);
        }
        removed
    }
}

impl Shared {
    /// Hold `hook` for `user` (memory or Redis).
    pub(crate) async fn put_hook(&self, user: &str, hook: &Hook) -> Result<Put, HookStoreError> {
        let (max, ttl) = (self.cfg.hook_queue_max.max(1), self.cfg.hook_ttl);
        match &self.redis {
            None => Ok(self.hooks.put(user, hook, max, ttl)),
            Some(r) => r.put_hook(user, hook, max, ttl).await.map_err(|e| HookStoreError(e.to_string())),
        }
    }

    /// The events held for `user`, oldest first.
    pub(crate) async fn pending_hooks(&self, user: &str) -> Result<Vec<Hook>, HookStoreError> {
        match &self.redis {
            None => Ok(self.hooks.pending(user, self.cfg.hook_ttl)),
            Some(r) => {
                r.pending_hooks(user, self.cfg.hook_ttl).await.map_err(|e| HookStoreError(e.to_string()))
            }
        }
    }

    /// May the host connection `conn` be sent the held event `id`? Yes unless another
    /// connection that is still alive was given it (it stays with that one until its ack or
    /// its end), or it is no longer held. One event is thus in flight on one connection only.
    pub(crate) async fn claim_hook(&self, user: &str, id: &str, conn: &str) -> Result<bool, HookStoreError> {
        match &self.redis {
            None => Ok(self.hooks.claim(user, id, conn, |o| self.hub.is_local(user, o))),
            Some(r) => r.claim_hook(user, id, conn).await.map_err(|e| HookStoreError(e.to_string())),
        }
    }

    /// A host stored `id`: forget it.
    pub(crate) async fn ack_hook(&self, user: &str, id: &str) -> Result<(), HookStoreError> {
        match &self.redis {
            None => {
                self.hooks.ack(user, id);
                Ok(())
            }
            Some(r) => r.ack_hook(user, id).await.map_err(|e| HookStoreError(e.to_string())),
        }
    }
}

/// How many events one host connection has unacknowledged at a time; the rest follow as acks
/// come (so a long backlog never overflows the connection's outgoing queue).
pub(crate) const HOOK_WINDOW: usize = 32;

/// The events in flight on one host connection (version 2+), and whether more wait.
#[derive(Default)]
pub(crate) struct InFlight {
    sent: HashSet<String>,
    /// Something was held back (window full): refill from the store on the next ack.
    more: bool,
}

impl InFlight {
    /// Should `hook` be written now? Records it as sent if so.
    pub(crate) fn admit(&mut self, id: &str) -> bool {
        if self.sent.contains(id) {
            return false;
        }
        if self.sent.len() >= HOOK_WINDOW {
            self.more = true;
            return false;
        }
        self.sent.insert(id.to_string());
        true
    }

    pub(crate) fn has(&self, id: &str) -> bool {
        self.sent.contains(id)
    }

    /// `id` was admitted but not written after all (another connection has it).
    pub(crate) fn forget(&mut self, id: &str) {
        self.sent.remove(id);
    }

    /// Some held events were not queued: refill on the next ack.
    pub(crate) fn hold_back(&mut self) {
        self.more = true;
    }

    pub(crate) fn len(&self) -> usize {
        self.sent.len()
    }

    /// The host acknowledged `id`; returns whether a refill is due.
    pub(crate) fn acked(&mut self, id: &str) -> bool {
        self.sent.remove(id);
        std::mem::take(&mut self.more)
    }
}

pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({"ok": false, "error": {"kind": kind, "message": message}}))).into_response()
}

static REFUSED: Burst = Burst::new();

pub(crate) fn refused(user: &str, why: &'static str) {
    if let Some(n) = REFUSED.hit() {
        tracing::warn!(user = %esc(user), refused = n, why, "webhook refused (one line per 10 s)");
    }
}

/// A relay id `<source>:<given>` when `given` makes a plain identifier (Ko-fi sends a UUID,
/// Kick a ULID), else `<source>:h` and 40 hex digits of its SHA-256 (of `basis` without one).
pub(crate) fn hook_id(source: &str, given: Option<String>, basis: &str) -> String {
    if let Some(id) = &given {
        let candidate = format!("{source}:{id}");
        if valid_id(&candidate) {
            return candidate;
        }
    }
    let basis = given.as_deref().unwrap_or(basis);
    format!("{source}:h{}", &hex::encode(Sha256::digest(basis.as_bytes()))[..40])
}

/// The relay's id for a Ko-fi event: `kofi:<message_id>` when that is a plain identifier (Ko-fi
/// sends a UUID), else `kofi:h` and a digest of it (or of the whole payload without one).
pub fn kofi_hook_id(data: &Map<String, Value>) -> String {
    let field = |k: &str| match data.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let given = field("message_id").or_else(|| field("kofi_transaction_id"));
    let basis = if given.is_none() { Value::Object(data.clone()).to_string() } else { String::new() };
    hook_id("kofi", given, &basis)
}

/// A webhook's body, within the relay's size and time limits (else the answer to send).
pub(crate) async fn read_body(sh: &Shared, user: &str, body: Body) -> Result<axum::body::Bytes, Response> {
    let limit = sh.cfg.hook_body_bytes;
    match tokio::time::timeout(sh.cfg.hook_body_timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => {
            Err(error(StatusCode::REQUEST_TIMEOUT, "timeout", "the request body did not arrive in time"))
        }
        Ok(Err(_)) => {
            refused(user, "body over the size limit");
            Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!("the body is over the {limit}-byte limit"),
            ))
        }
        Ok(Ok(b)) => Ok(b),
    }
}

/// Hold a checked event for the user's host and answer the webhook: 200 once held (or held
/// already: `duplicate`), 503 when the queue is full or the store cannot take it.
pub(crate) async fn hold(sh: &Shared, user: &str, hook: Hook, what: &str) -> Response {
    let id = hook.id.clone();
    match sh.put_hook(user, &hook).await {
        Ok(Put::New) => {
            tracing::info!(user = %esc(user), id = %id, "webhook: {what} event held for the host");
            sh.publish(user, HubEvent::Hook(hook)).await;
            (StatusCode::OK, Json(json!({"ok": true, "id": id, "duplicate": false}))).into_response()
        }
        Ok(Put::Duplicate) => {
            tracing::debug!(user = %esc(user), id = %id, "webhook: {what} event already held");
            (StatusCode::OK, Json(json!({"ok": true, "id": id, "duplicate": true}))).into_response()
        }
        Ok(Put::Full { max }) => {
            tracing::warn!(user = %esc(user), max, "webhook: queue full (no host took the events); refused with 503");
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                &format!("{max} events already wait for this user's app to come online; retry later"),
            );
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("300"));
            r
        }
        Err(e) => {
            tracing::warn!(user = %esc(user), cause = %e, "webhook: cannot hold the event; refused with 503");
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server cannot hold the event now; retry later",
            );
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
            r
        }
    }
}

/// `POST /hooks/{user}/kofi`.
pub(crate) async fn kofi(
    State(sh): State<Arc<Shared>>,
    Path(user): Path<String>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    body: Body,
) -> Response {
    let bytes = match read_body(&sh, &user, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(data) = form_urlencoded::parse(&bytes).find(|(k, _)| k == "data").map(|(_, v)| v.into_owned())
    else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "expected Ko-fi's form field `data`");
    };
    let Ok(Value::Object(mut data)) = serde_json::from_str::<Value>(&data) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "Ko-fi's `data` is not a JSON object");
    };
    let token = match data.remove("verification_token") {
        Some(Value::String(t)) if !t.trim().is_empty() => t,
        _ => {
            refused(&user, "no verification token");
            return error(StatusCode::UNAUTHORIZED, "unauthorized", "no Ko-fi verification token");
        }
    };
    match sh.users.check_kofi_token(&user, &token) {
        HookAuth::Valid => {}
        HookAuth::Wrong => {
            refused(&user, "wrong Ko-fi verification token");
            return error(StatusCode::FORBIDDEN, "forbidden", "wrong Ko-fi verification token");
        }
        HookAuth::NotSetUp => {
            refused(&user, "unknown user or no Ko-fi token set (`sync-server user kofi-token NAME`)");
            return error(StatusCode::FORBIDDEN, "forbidden", "wrong Ko-fi verification token");
        }
    }
    drop(token);
    // Authenticated: no longer counted against (nor evictable by) the pending caps.
    if let Some(Extension(ConnectInfo(p))) = &peer {
        p.admission.admit();
    }
    let id = kofi_hook_id(&data);
    let payload: Map<String, Value> =
        data.into_iter().filter(|(k, _)| KOFI_FIELDS.contains(&k.as_str())).collect();
    let hook = Hook { id, source: "kofi".into(), received_at: now_ms(), payload: Value::Object(payload) };
    hold(&sh, &user, hook, "Ko-fi").await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(id: &str, at: u64) -> Hook {
        Hook { id: id.into(), source: "kofi".into(), received_at: at, payload: json!({}) }
    }

    #[test]
    fn memory_queue_is_bounded_idempotent_and_expires() {
        let m = MemoryHooks::default();
        let ttl = Duration::from_secs(60);
        assert_eq!(m.put("a", &hook("kofi:1", now_ms()), 2, ttl), Put::New);
        assert_eq!(m.put("a", &hook("kofi:1", now_ms()), 2, ttl), Put::Duplicate);
        assert_eq!(m.put("a", &hook("kofi:2", now_ms()), 2, ttl), Put::New);
        assert_eq!(m.put("a", &hook("kofi:3", now_ms()), 2, ttl), Put::Full { max: 2 });
        assert_eq!(m.put("b", &hook("kofi:3", now_ms()), 2, ttl), Put::New, "per user");
        let ids: Vec<String> = m.pending("a", ttl).into_iter().map(|h| h.id).collect();
        assert_eq!(ids, ["kofi:1", "kofi:2"]);
        assert!(m.ack("a", "kofi:1"));
        assert!(!m.ack("a", "kofi:1"));
        assert_eq!(m.put("a", &hook("kofi:3", now_ms()), 2, ttl), Put::New);
        // An event older than the TTL is dropped.
        assert_eq!(m.put("c", &hook("kofi:old", now_ms() - 120_000), 2, ttl), Put::New);
        assert!(m.pending("c", ttl).is_empty());
    }

    #[test]
    fn an_event_is_claimed_by_one_live_connection_at_a_time() {
        let m = MemoryHooks::default();
        let ttl = Duration::from_secs(60);
        m.put("a", &hook("kofi:1", now_ms()), 10, ttl);
        let alive = |c: &str| c == "c1" || c == "c2";
        assert!(m.claim("a", "kofi:1", "c1", alive));
        assert!(m.claim("a", "kofi:1", "c1", alive), "again for its owner");
        assert!(!m.claim("a", "kofi:1", "c2", alive), "not while its owner is alive");
        assert!(m.claim("a", "kofi:1", "c2", |c| c == "c2"), "taken over once the owner is gone");
        assert!(!m.claim("a", "kofi:9", "c2", alive), "not held");
        m.ack("a", "kofi:1");
        assert!(!m.claim("a", "kofi:1", "c2", alive), "acknowledged");
    }

    #[test]
    fn the_window_holds_back_and_asks_for_a_refill() {
        let mut f = InFlight::default();
        for i in 0..HOOK_WINDOW {
            assert!(f.admit(&format!("k{i}")));
        }
        assert!(!f.admit("k0"), "never twice on one connection");
        assert!(!f.admit("extra"));
        assert!(f.acked("k0"));
        assert!(f.admit("extra"));
        assert!(!f.acked("k1"));
    }

    #[test]
    fn hook_ids_follow_the_message_id() {
        let d = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            kofi_hook_id(&d(json!({"message_id": "3a1fac0c-f960-4506-a60e-824979a74e74"}))),
            "kofi:3a1fac0c-f960-4506-a60e-824979a74e74"
        );
        let odd = kofi_hook_id(&d(json!({"message_id": "a b\nc"})));
        assert!(odd.starts_with("kofi:h") && valid_id(&odd), "{odd}");
        assert_eq!(odd, kofi_hook_id(&d(json!({"message_id": "a b\nc", "amount": "9"}))));
        let none = kofi_hook_id(&d(json!({"amount": "3"})));
        assert_ne!(none, kofi_hook_id(&d(json!({"amount": "4"}))));
    }
}
