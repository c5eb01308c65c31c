//! Kick webhooks through the relay: `POST /hooks/{user}/kick`. Kick delivers events of a
//! streamer's Kick app only to a public webhook URL; the sync server (which a streamer can run
//! on a public host) takes them, checks them as Kick documents
//! (<https://docs.kick.com/events/webhook-security>), and relays the alert-worthy ones to the
//! user's host engine as `hook` messages with `source: "kick"` (the Ko-fi relay's queue, ids and
//! acks: see `hooks.rs`).
//!
//! A delivery is checked in this order, and nothing is looked at before its signature:
//! 1. the body arrives whole within the relay's limits (32 KiB, 10 s);
//! 2. `Kick-Event-Signature` is Kick's RSA PKCS#1 v1.5 SHA-256 signature over
//!    `<Kick-Event-Message-Id>.<Kick-Event-Message-Timestamp>.<raw body>` with Kick's public key
//!    (401 `unauthorized` otherwise, also when a header is missing); a key fetched from Kick's
//!    endpoint is fetched again when a signature fails (a rotation), at most every 10 minutes;
//! 3. the timestamp is within the replay window (`kick_max_age`, default 10 minutes, either
//!    way) of the server's clock (401 `stale`): a recorded delivery cannot be replayed later;
//! 4. the user has a Kick channel set (`sync-server user kick NAME --broadcaster-id ID`) and the
//!    body's `broadcaster.user_id` is that channel (403): every Kick app gets deliveries signed
//!    with the same key, so a genuine delivery of another channel must not pass as this one's;
//! 5. the body is the shape of its `Kick-Event-Type` (which is not signed): a type's own field
//!    must be there (400 `bad_request`).
//!
//! Follows, new and renewed subscriptions, gifted subscriptions and gifted Kicks are relayed;
//! other event types (chat, livestream status, bans, rewards) are answered 200 and dropped, so
//! Kick does not retry them or unsubscribe the app. The hook id is `kick:<Kick-Event-Message-Id>`
//! (a ULID): a duplicate delivery is held once, and the engine keys the alert by it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::hooks::{error, hold, hook_id, now_ms, read_body, refused};
use super::Shared;
use crate::guard::Peer;
use crate::log_safe::esc;
use crate::protocol::Hook;

/// Kick's documented endpoint for its public key (`{"data": {"public_key": "<PEM>"}}`).
pub const KICK_PUBLIC_KEY_URL: &str = "https://api.kick.com/public/v1/public-key";

/// The event types relayed as alerts, and each one's own field (which its body must have).
pub const KICK_ALERT_TYPES: &[(&str, &str)] = &[
    ("channel.followed", "follower"),
    ("channel.subscription.new", "subscriber"),
    ("channel.subscription.renewal", "subscriber"),
    ("channel.subscription.gifts", "giftees"),
    ("kicks.gifted", "gift"),
];

/// Kick's public key, ready to verify signatures.
#[derive(Clone, Debug)]
pub struct KickKey(VerifyingKey<Sha256>);

impl KickKey {
    /// From PEM: `PUBLIC KEY` (SubjectPublicKeyInfo, what Kick publishes) or `RSA PUBLIC KEY`.
    pub fn from_pem(pem: &str) -> Result<KickKey, String> {
        let pem = pem.trim();
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|_| "not an RSA public key in PEM form".to_string())?;
        Ok(KickKey(VerifyingKey::new(key)))
    }

    /// Is `signature` (base64) Kick's signature of `<message_id>.<timestamp>.<body>`?
    pub fn verify(&self, message_id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
            return false;
        };
        let Ok(sig) = Signature::try_from(raw.as_slice()) else { return false };
        let mut signed = Vec::with_capacity(message_id.len() + timestamp.len() + body.len() + 2);
        signed.extend_from_slice(message_id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(timestamp.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        self.0.verify(&signed, &sig).is_ok()
    }
}

/// Fetch Kick's public key from `url` (Kick's answer: `{"data": {"public_key": "<PEM>"}}`).
pub async fn fetch_key(url: &str) -> Result<KickKey, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let resp = client.get(url).send().await.map_err(|e| format!("cannot reach it: {}", e.without_url()))?;
    if !resp.status().is_success() {
        return Err(format!("it answered HTTP {}", resp.status().as_u16()));
    }
    let v: Value = resp.json().await.map_err(|_| "its answer is not JSON".to_string())?;
    let pem = v["data"]["public_key"].as_str().ok_or("its answer has no data.public_key")?;
    KickKey::from_pem(pem)
}

/// Keep fetching Kick's key until it is loaded (backoff 30 s doubling to 30 min), for a server
/// started without network or while Kick is down.
pub(crate) fn spawn_key_fetch(sh: std::sync::Weak<Shared>, url: String) {
    tokio::spawn(async move {
        let mut wait = Duration::from_secs(30);
        loop {
            let result = fetch_key(&url).await;
            let Some(shared) = sh.upgrade() else { return };
            match result {
                Ok(key) => {
                    tracing::info!(url = %esc(&url), "kick: public key loaded");
                    *shared.kick_key.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(key));
                    return;
                }
                Err(e) => tracing::warn!(url = %esc(&url), cause = %e, retry_in_s = wait.as_secs(),
                    "kick: cannot load Kick's public key; Kick webhooks are answered 503 until it is"),
            }
            drop(shared);
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1800));
        }
    });
}

/// A signature that did not verify may be Kick's under a new key: when the key comes from
/// `kick_public_key_url`, fetch it again — at most once per `kick_key_refetch_after` (a forged
/// delivery makes at most that many calls to Kick) — and keep it for every later delivery.
async fn refetched_key(sh: &Shared) -> Option<Arc<KickKey>> {
    let url = sh.cfg.kick_public_key_url.as_ref().filter(|_| sh.cfg.kick_public_key.is_none())?;
    {
        let mut last = sh.kick_refetched.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < sh.cfg.kick_key_refetch_after) {
            return None;
        }
        *last = Some(std::time::Instant::now());
    }
    match fetch_key(url).await {
        Ok(key) => {
            tracing::info!(url = %esc(url), "kick: public key fetched again after a signature that did not verify");
            let key = Arc::new(key);
            *sh.kick_key.write().unwrap_or_else(|p| p.into_inner()) = Some(key.clone());
            Some(key)
        }
        Err(e) => {
            tracing::warn!(url = %esc(url), cause = %e, "kick: cannot fetch Kick's public key again");
            None
        }
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// A Kick user object, trimmed to what an alert needs (no pictures, no badges).
fn user(v: &Value) -> Value {
    json!({
        "user_id": v.get("user_id").cloned().unwrap_or(Value::Null),
        "username": v.get("username").cloned().unwrap_or(Value::Null),
        "is_anonymous": v.get("is_anonymous").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// The relayed `event`: the type's fields an alert uses, Kick's names kept.
fn trim(kind: &str, body: &Map<String, Value>) -> Value {
    let get = |k: &str| body.get(k).cloned().unwrap_or(Value::Null);
    match kind {
        "channel.followed" => json!({"follower": user(&get("follower"))}),
        "channel.subscription.new" | "channel.subscription.renewal" => {
            json!({"subscriber": user(&get("subscriber")), "duration": get("duration")})
        }
        "channel.subscription.gifts" => json!({
            "gifter": user(&get("gifter")),
            // The giftees' count, not the list (a big gift would not fit a frame).
            "giftee_count": get("giftees").as_array().map(Vec::len).unwrap_or(0),
        }),
        _ => {
            let gift = get("gift");
            json!({
                "sender": user(&get("sender")),
                "gift": {
                    "amount": gift.get("amount").cloned().unwrap_or(Value::Null),
                    "name": gift.get("name").cloned().unwrap_or(Value::Null),
                    "message": gift.get("message").cloned().unwrap_or(Value::Null),
                },
            })
        }
    }
}

fn unauthorized(user: &str, why: &'static str, message: &str) -> Response {
    refused(user, why);
    error(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// `POST /hooks/{user}/kick`.
pub(crate) async fn webhook(
    State(sh): State<Arc<Shared>>,
    Path(user): Path<String>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&sh, &user, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // 1. The signature, before anything else is looked at.
    let (Some(message_id), Some(timestamp), Some(signature)) = (
        header(&headers, "kick-event-message-id"),
        header(&headers, "kick-event-message-timestamp"),
        header(&headers, "kick-event-signature"),
    ) else {
        return unauthorized(
            &user,
            "Kick webhook without its signature headers",
            "expected Kick's Kick-Event-Message-Id, Kick-Event-Message-Timestamp and Kick-Event-Signature headers",
        );
    };
    let key = sh.kick_key.read().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(key) = key else {
        tracing::warn!(user = %esc(&user), "kick: webhook refused with 503: Kick's public key is not loaded (--kick-public-key or --kick-public-key-url)");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot check Kick signatures yet (no Kick public key); retry later",
        );
    };
    let verifies = |k: &KickKey| k.verify(message_id, timestamp, &bytes, signature);
    if !verifies(&key) && !refetched_key(&sh).await.is_some_and(|k| verifies(&k)) {
        return unauthorized(
            &user,
            "Kick webhook with a wrong signature",
            "Kick-Event-Signature does not verify with Kick's public key",
        );
    }
    // 2. The replay window.
    let max_age = sh.cfg.kick_max_age;
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(timestamp) else {
        return unauthorized(
            &user,
            "Kick webhook with an unreadable timestamp",
            "Kick-Event-Message-Timestamp is not an RFC 3339 date-time",
        );
    };
    let skew_ms = (now_ms() as i64).saturating_sub(at.timestamp_millis()).unsigned_abs();
    if skew_ms > max_age.as_millis() as u64 {
        refused(&user, "Kick webhook outside the replay window");
        return error(
            StatusCode::UNAUTHORIZED,
            "stale",
            &format!(
                "Kick-Event-Message-Timestamp is more than {} s from the server's clock (replay window)",
                max_age.as_secs()
            ),
        );
    }
    // 3. Whose channel.
    let Some(channel) = sh.users.kick_broadcaster(&user) else {
        refused(
            &user,
            "unknown user or no Kick channel set (`sync-server user kick NAME --broadcaster-id ID`)",
        );
        return error(StatusCode::FORBIDDEN, "forbidden", "Kick is not set up for this user");
    };
    let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(&bytes) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "the body is not a JSON object");
    };
    if event.get("broadcaster").and_then(|b| b.get("user_id")).and_then(Value::as_u64) != Some(channel) {
        refused(&user, "Kick webhook for another channel");
        return error(StatusCode::FORBIDDEN, "forbidden", "this event is for another Kick channel");
    }
    // Authenticated: no longer counted against (nor evictable by) the pending caps.
    if let Some(Extension(ConnectInfo(p))) = &peer {
        p.admission.admit();
    }
    // 4. What it is.
    let kind = header(&headers, "kick-event-type").unwrap_or_default();
    let version = header(&headers, "kick-event-version").unwrap_or("1");
    let Some((kind, own)) = KICK_ALERT_TYPES.iter().find(|(t, _)| *t == kind) else {
        tracing::debug!(user = %esc(&user), kind = %esc(kind), "kick: event type not relayed (not an alert)");
        return (StatusCode::OK, Json(json!({"ok": true, "relayed": false}))).into_response();
    };
    if !event.contains_key(*own) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("the body is not a {kind} event (no `{own}`)"),
        );
    }
    let id = hook_id("kick", Some(message_id.to_string()), "");
    let hook = Hook {
        id,
        source: "kick".into(),
        received_at: now_ms(),
        payload: json!({
            "message_id": message_id,
            "type": kind,
            "version": version,
            "timestamp": timestamp,
            "event": trim(kind, &event),
        }),
    };
    hold(&sh, &user, hook, "Kick").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fields_an_alert_uses_are_relayed() {
        let body = json!({
            "broadcaster": {"user_id": 1},
            "gifter": {"user_id": 7, "username": "Ann", "is_anonymous": false, "profile_picture": "x"},
            "giftees": [{"username": "a"}, {"username": "b"}],
        });
        let t = trim("channel.subscription.gifts", body.as_object().unwrap());
        assert_eq!(
            t,
            json!({"gifter": {"user_id": 7, "username": "Ann", "is_anonymous": false}, "giftee_count": 2})
        );
        let anon =
            json!({"gifter": {"is_anonymous": true, "user_id": null, "username": null}, "giftees": []});
        let t = trim("channel.subscription.gifts", anon.as_object().unwrap());
        assert_eq!(t["gifter"]["is_anonymous"], true);
        assert_eq!(t["gifter"]["username"], Value::Null);
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_in_words() {
        assert!(KickKey::from_pem("not a key").unwrap_err().contains("PEM"));
    }
}
