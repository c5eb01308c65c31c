//! The fake Kick: the sender side of Kick's webhooks (docs.kick.com/events/webhook-security,
//! /events/event-types, /apis/public-key). It holds an RSA key pair generated at start, serves
//! the public key as Kick does (`GET /public/v1/public-key` → `{"data": {"public_key": PEM},
//! "message": "OK"}`), and POSTs signed deliveries to a webhook URL the way Kick does:
//!
//! - headers `Kick-Event-Message-Id` (a ULID), `Kick-Event-Message-Timestamp` (RFC 3339,
//!   seconds), `Kick-Event-Signature` (base64 RSA PKCS#1 v1.5 SHA-256 over
//!   `<id>.<timestamp>.<raw body>`), `Kick-Event-Type`, `Kick-Event-Version` (`1`),
//!   `Content-Type: application/json`;
//! - bodies shaped after the documented example payloads ([`example`]).
//!
//! Faults ([`KickFault`], one per delivery, oldest first): a signature by another key, no
//! signature header, a duplicate delivery (the same message sent twice, as Kick does), or an old
//! timestamp (signed, so only a replay window catches it).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use fake_support::Server;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The event types and versions the fake sends (Kick's documented alert-worthy ones and one
/// that is not an alert).
pub const EVENT_TYPES: &[&str] = &[
    "channel.followed",
    "channel.subscription.new",
    "channel.subscription.renewal",
    "channel.subscription.gifts",
    "kicks.gifted",
    "chat.message.sent",
];

/// What goes wrong with one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KickFault {
    /// Signed with another key (what a forger can do).
    BadSignature,
    /// Without the `Kick-Event-Signature` header.
    NoSignature,
    /// The same message (id, timestamp, body, signature) delivered twice.
    Duplicate,
    /// Timestamped this long ago (and correctly signed: a recorded delivery replayed).
    OldTimestamp(Duration),
}

/// One delivery attempt and the receiver's answer.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub message_id: String,
    pub status: u16,
    pub body: Value,
}

struct Inner {
    /// The signing key and its public half in PEM (Kick may rotate it: [`KickState::rotate_key`]).
    key: Mutex<(SigningKey<rsa::sha2::Sha256>, String)>,
    faults: Mutex<VecDeque<KickFault>>,
    http: reqwest::Client,
    /// `GET /public/v1/public-key` requests answered.
    key_fetches: std::sync::atomic::AtomicU64,
}

/// The fake's state; cheap to clone.
#[derive(Clone)]
pub struct KickState(Arc<Inner>);

/// A 2048-bit key, generated once per process (generation takes a while; every fake of the
/// process signs with it, and tests forge with [`other_key`]).
fn process_key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(generate).clone()
}

/// Another key, for forged signatures.
fn other_key() -> SigningKey<rsa::sha2::Sha256> {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    SigningKey::new(KEY.get_or_init(generate).clone())
}

/// A third key, the one a rotation switches to.
fn rotated_key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(generate).clone()
}

fn signing_pair(key: RsaPrivateKey) -> (SigningKey<rsa::sha2::Sha256>, String) {
    let public_pem = key.to_public_key().to_public_key_pem(LineEnding::LF).unwrap_or_default();
    (SigningKey::new(key), public_pem)
}

fn generate() -> RsaPrivateKey {
    match RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048) {
        Ok(k) => k,
        Err(e) => panic!("fake Kick: cannot generate an RSA key: {e}"),
    }
}

/// A ULID-shaped message id: 10 characters of milliseconds, 16 random (Crockford base32).
fn ulid() -> String {
    const B32: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut ms = chrono::Utc::now().timestamp_millis() as u64;
    let mut time = [0u8; 10];
    for c in time.iter_mut().rev() {
        *c = B32[(ms & 31) as usize];
        ms >>= 5;
    }
    let time: String = time.iter().map(|&b| b as char).collect();
    format!("{time}{}", fake_support::random_string(B32, 16))
}

impl Default for KickState {
    fn default() -> Self {
        Self::new()
    }
}

impl KickState {
    pub fn new() -> KickState {
        KickState(Arc::new(Inner {
            key: Mutex::new(signing_pair(process_key())),
            faults: Mutex::new(VecDeque::new()),
            http: reqwest::Client::new(),
            key_fetches: Default::default(),
        }))
    }

    /// The public key, PEM (`PUBLIC KEY`, as Kick publishes it).
    pub fn public_key_pem(&self) -> String {
        self.0.key.lock().unwrap_or_else(|p| p.into_inner()).1.clone()
    }

    /// How many times the public key was fetched.
    pub fn key_fetches(&self) -> u64 {
        self.0.key_fetches.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Kick replaces its key: from now on deliveries are signed with another one, and the
    /// public-key endpoint publishes that one.
    pub fn rotate_key(&self) {
        *self.0.key.lock().unwrap_or_else(|p| p.into_inner()) = signing_pair(rotated_key());
    }

    /// The next delivery goes wrong this way.
    pub fn push_fault(&self, fault: KickFault) {
        self.0.faults.lock().unwrap_or_else(|p| p.into_inner()).push_back(fault);
    }

    /// Kick's signature of `<id>.<timestamp>.<body>` (base64).
    pub fn sign(&self, message_id: &str, timestamp: &str, body: &str) -> String {
        let signed = format!("{message_id}.{timestamp}.{body}");
        let sig = self.0.key.lock().unwrap_or_else(|p| p.into_inner()).0.sign(signed.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
    }

    /// POST one event to `url` as Kick does (with the next fault, if any): one delivery, or two
    /// for [`KickFault::Duplicate`]. Returns each attempt's answer.
    pub async fn deliver(&self, url: &str, event_type: &str, body: &Value) -> Vec<Delivery> {
        let fault = self.0.faults.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let message_id = ulid();
        let mut at = chrono::Utc::now();
        if let Some(KickFault::OldTimestamp(d)) = &fault {
            at -= chrono::Duration::from_std(*d).unwrap_or_default();
        }
        let timestamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let raw = body.to_string();
        let signature = match &fault {
            Some(KickFault::BadSignature) => {
                let signed = format!("{message_id}.{timestamp}.{raw}");
                base64::engine::general_purpose::STANDARD
                    .encode(other_key().sign(signed.as_bytes()).to_bytes())
            }
            _ => self.sign(&message_id, &timestamp, &raw),
        };
        let times = if fault == Some(KickFault::Duplicate) { 2 } else { 1 };
        let mut out = Vec::new();
        for _ in 0..times {
            let mut req = self
                .0
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .header("Kick-Event-Message-Id", &message_id)
                .header("Kick-Event-Message-Timestamp", &timestamp)
                .header("Kick-Event-Type", event_type)
                .header("Kick-Event-Version", "1")
                .body(raw.clone());
            if fault != Some(KickFault::NoSignature) {
                req = req.header("Kick-Event-Signature", &signature);
            }
            let (status, body) = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (status, r.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(e) => (0, json!({"error": e.to_string()})),
            };
            out.push(Delivery { message_id: message_id.clone(), status, body });
        }
        out
    }
}

fn kick_user(user_id: u64, username: &str) -> Value {
    json!({
        "is_anonymous": false,
        "user_id": user_id,
        "username": username,
        "is_verified": false,
        "profile_picture": "https://example.com/avatar.jpg",
        "channel_slug": username.to_lowercase(),
        "identity": null
    })
}

/// A body of `event_type` for the channel `broadcaster_id`, shaped after Kick's documented
/// example payloads, from the viewer `from` (`None`: an anonymous gifter). `n` is the
/// subscription's months, the number of giftees, or the Kicks gifted.
pub fn example(event_type: &str, broadcaster_id: u64, from: Option<&str>, n: u64) -> Value {
    let broadcaster = kick_user(broadcaster_id, "broadcaster_name");
    let viewer = kick_user(987654321, from.unwrap_or("viewer"));
    match event_type {
        "channel.followed" => json!({"broadcaster": broadcaster, "follower": viewer}),
        "channel.subscription.new" | "channel.subscription.renewal" => json!({
            "broadcaster": broadcaster, "subscriber": viewer, "duration": n,
            "created_at": "2025-01-14T16:08:06Z", "expires_at": "2025-02-14T16:08:06Z"
        }),
        "channel.subscription.gifts" => {
            let gifter = match from {
                Some(_) => viewer,
                None => json!({"is_anonymous": true, "user_id": null, "username": null, "is_verified": null,
                    "profile_picture": null, "channel_slug": null, "identity": null}),
            };
            let giftees: Vec<Value> =
                (0..n).map(|i| kick_user(561654654 + i, &format!("giftee_{i}"))).collect();
            json!({"broadcaster": broadcaster, "gifter": gifter, "giftees": giftees,
                "created_at": "2025-01-14T16:08:06Z", "expires_at": "2025-02-14T16:08:06Z"})
        }
        "kicks.gifted" => json!({
            "broadcaster": broadcaster, "sender": viewer,
            "gift": {"amount": n, "name": "Rage Quit", "type": "LEVEL_UP", "tier": "MID",
                "message": "w", "pinned_time_seconds": 600},
            "created_at": "2025-10-20T04:00:08.634Z"
        }),
        _ => json!({
            "message_id": "unique_message_id_123", "broadcaster": broadcaster, "sender": viewer,
            "content": "Hello", "emotes": [], "created_at": "2025-01-14T16:08:06Z"
        }),
    }
}

async fn public_key(State(s): State<KickState>) -> Json<Value> {
    s.0.key_fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Json(json!({"data": {"public_key": s.public_key_pem()}, "message": "OK"}))
}

/// The fake's routes: `GET /public/v1/public-key`.
pub fn router(state: KickState) -> Router {
    Router::new().route("/public/v1/public-key", get(public_key)).with_state(state)
}

/// A running fake Kick on 127.0.0.1 (a free port); dereferences to its [`KickState`].
pub struct FakeKick {
    state: KickState,
    addr: SocketAddr,
    server: Server,
}

impl std::ops::Deref for FakeKick {
    type Target = KickState;
    fn deref(&self) -> &KickState {
        &self.state
    }
}

impl FakeKick {
    /// # Panics
    /// If no loopback port can be bound: a test cannot go on without its fake.
    pub async fn start() -> FakeKick {
        let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
            Ok(l) => l,
            Err(e) => panic!("fake-platforms: cannot bind: {e}"),
        };
        let addr = listener.local_addr().expect("a bound listener has an address");
        let state = KickState::new();
        let app = router(state.clone());
        let server = Server::spawn(|shutdown| async move {
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await
        });
        FakeKick { state, addr, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the fake publishes its key, as Kick's `https://api.kick.com/public/v1/public-key`.
    pub fn public_key_url(&self) -> String {
        format!("http://{}/public/v1/public-key", self.addr)
    }

    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
