//! The fake Twitch's state: registered clients, the broadcaster, device codes, token grants,
//! channel info, EventSub sessions and subscriptions, faults and request counters, plus the
//! test-control methods that drive it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fake_support::{AccessRecord, RequestCounts};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::examples;
use super::faults::{Fault, FaultQueue, Route};

/// How to start a fake Twitch.
#[derive(Clone, Debug)]
pub struct TwitchOptions {
    /// Client ids registered as public clients (others are refused).
    pub client_ids: Vec<String>,
    /// The broadcaster every token belongs to.
    pub user: TwitchUser,
    /// `keepalive_timeout_seconds` in the welcome (Twitch: 10; a client may ask for 10 to 600
    /// with the `keepalive_timeout_seconds` query parameter).
    pub keepalive_timeout_secs: u64,
    /// A fresh session without a subscription this long after its welcome is closed with 4003
    /// ("connection unused"). Default: the keepalive timeout.
    pub subscribe_within: Option<Duration>,
    /// `interval` of a new device code (Twitch: 5).
    pub device_interval_secs: u64,
    /// `expires_in` of a new device code (Twitch: 1800).
    pub device_expires_in_secs: u64,
    /// `expires_in` of a new access token (Twitch: about 4 hours).
    pub access_expires_in_secs: u64,
    /// After a `session_reconnect`, the old connection is closed with 4004 if the client has not
    /// connected to the new URL within this time (Twitch: 30 s).
    pub reconnect_grace: Duration,
    /// Shown as `verification_uri` (with `?public=true&device-code=CODE`).
    pub verification_uri: String,
}

impl Default for TwitchOptions {
    fn default() -> Self {
        TwitchOptions {
            client_ids: vec!["fakeclientid0000000000000000000".into()],
            user: TwitchUser {
                id: "141981764".into(),
                login: "streampai_tester".into(),
                display_name: "Streampai_Tester".into(),
            },
            keepalive_timeout_secs: 10,
            subscribe_within: None,
            device_interval_secs: 5,
            device_expires_in_secs: 1800,
            access_expires_in_secs: 14_400,
            reconnect_grace: Duration::from_secs(30),
            verification_uri: "https://www.twitch.tv/activate".into(),
        }
    }
}

/// A Twitch user (the broadcaster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TwitchUser {
    pub id: String,
    pub login: String,
    pub display_name: String,
}

/// Why a test-control call could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no device code with user code {0:?}")]
    UnknownUserCode(String),
    #[error("no device code is waiting for approval")]
    NothingPending,
    #[error("the device code {0:?} has expired")]
    Expired(String),
    #[error("the fake does not serve subscription type {0:?}")]
    UnknownType(String),
    #[error("no connected session has an enabled {0:?} subscription")]
    NoSubscription(String),
    #[error("no EventSub session is connected")]
    NoSession,
    #[error("no message with id {0:?} was delivered")]
    UnknownMessage(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the code is spent.
    Used,
}

#[derive(Clone, Debug)]
pub(crate) struct DeviceCode {
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    /// The interval the client must keep (raised by 5 s on every `slow_down`).
    pub interval: Duration,
    /// The last poll (or the code's creation).
    pub last_poll: Instant,
    pub status: DeviceStatus,
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
}

/// The grant behind a valid access token.
#[derive(Clone, Debug)]
pub(crate) struct Authorized {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub expires_in: u64,
}

/// A command for one WebSocket connection's task.
#[derive(Debug)]
pub(crate) enum ConnCmd {
    Text(String),
    Close(u16, String),
}

#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<ConnCmd>,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub conn: Option<Conn>,
    /// A `session_reconnect` was sent: the reconnect token and the connection it will replace.
    pub reconnect: Option<String>,
    pub connected_at: String,
    pub keepalive_secs: u64,
}

/// One EventSub subscription as the fake keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubscriptionSnapshot {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    /// `enabled`, `authorization_revoked`, `user_removed`, `version_removed`,
    /// `websocket_disconnected`, ...
    pub status: String,
    pub condition: Value,
    pub session_id: String,
    pub created_at: String,
}

/// One message the EventSub server sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveredMessage {
    pub message_id: String,
    pub message_type: String,
    pub subscription_type: Option<String>,
    pub session_id: String,
    /// The connection it went out on (each WebSocket connection has its own number).
    pub connection: u64,
    #[serde(skip)]
    pub(crate) text: String,
}

/// The channel's information (`GET|PATCH /helix/channels`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelInfo {
    pub title: String,
    pub game_id: String,
    pub game_name: String,
    pub broadcaster_language: String,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Category {
    pub id: &'static str,
    pub name: &'static str,
}

pub(crate) const CATEGORIES: &[Category] = &[
    Category { id: "509658", name: "Just Chatting" },
    Category { id: "33214", name: "Fortnite" },
    Category { id: "21779", name: "League of Legends" },
    Category { id: "27471", name: "Minecraft" },
    Category { id: "516575", name: "VALORANT" },
    Category { id: "26936", name: "Music" },
    Category { id: "509660", name: "Art" },
    Category { id: "1469308723", name: "Software and Game Development" },
];

pub(crate) struct Inner {
    pub opts: TwitchOptions,
    /// `ws://127.0.0.1:PORT/ws` once listening.
    pub ws_url: String,
    pub device_codes: HashMap<String, DeviceCode>,
    pub grants: HashMap<u64, Grant>,
    pub access: HashMap<String, AccessRecord>,
    pub refresh: HashMap<String, u64>,
    next_id: u64,
    pub channel: ChannelInfo,
    pub sessions: HashMap<String, Session>,
    pub reconnects: HashMap<String, String>,
    pub subscriptions: Vec<SubscriptionSnapshot>,
    pub delivered: Vec<DeliveredMessage>,
    pub keepalives: bool,
    pub requests: RequestCounts<Route>,
    pub device_polls: Vec<Instant>,
    pub slow_downs: u64,
    pub faults: FaultQueue,
    pub events_pushed: u64,
}

impl Inner {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The shared state; cheap to clone.
#[derive(Clone)]
pub struct TwitchState {
    inner: Arc<Mutex<Inner>>,
}

/// A random string of `n` letters and digits.
pub(crate) fn random_token(n: usize) -> String {
    fake_support::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", n)
}

fn user_code() -> String {
    fake_support::random_string(b"ABCDEFGHJKLMNPQRSTUVWXYZ", 8)
}

impl TwitchState {
    pub fn new(opts: TwitchOptions) -> Self {
        TwitchState {
            inner: Arc::new(Mutex::new(Inner {
                opts,
                ws_url: String::new(),
                device_codes: HashMap::new(),
                grants: HashMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                next_id: 0,
                channel: ChannelInfo {
                    title: "Welcome to my stream".into(),
                    game_id: "509658".into(),
                    game_name: "Just Chatting".into(),
                    broadcaster_language: "en".into(),
                    tags: vec![],
                },
                sessions: HashMap::new(),
                reconnects: HashMap::new(),
                subscriptions: Vec::new(),
                delivered: Vec::new(),
                keepalives: true,
                requests: RequestCounts::default(),
                device_polls: Vec::new(),
                slow_downs: 0,
                faults: FaultQueue::default(),
                events_pushed: 0,
            })),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_ws_url(&self, url: String) {
        self.lock().ws_url = url;
    }

    pub fn options(&self) -> TwitchOptions {
        self.lock().opts.clone()
    }

    pub fn user(&self) -> TwitchUser {
        self.lock().opts.user.clone()
    }

    /// Count a request and take the fault aimed at it, if any.
    pub(crate) fn enter(&self, route: Route) -> Option<Fault> {
        let mut g = self.lock();
        g.requests.count(route);
        g.faults.take(Some(route))
    }

    // ---- OAuth ----

    /// A new device code for a registered client.
    pub(crate) fn new_device_code(
        &self,
        client_id: &str,
        scopes: Vec<String>,
    ) -> Option<(String, DeviceCode)> {
        let mut g = self.lock();
        if !g.opts.client_ids.iter().any(|c| c == client_id) {
            return None;
        }
        let now = Instant::now();
        let code = DeviceCode {
            user_code: user_code(),
            client_id: client_id.to_string(),
            scopes,
            expires_at: now + Duration::from_secs(g.opts.device_expires_in_secs),
            interval: Duration::from_secs(g.opts.device_interval_secs),
            last_poll: now,
            status: DeviceStatus::Pending,
        };
        let device_code = random_token(40);
        g.device_codes.insert(device_code.clone(), code.clone());
        Some((device_code, code))
    }

    pub(crate) fn is_client(&self, client_id: &str) -> bool {
        self.lock().opts.client_ids.iter().any(|c| c == client_id)
    }

    /// Issue an access and a refresh token for a new grant.
    pub(crate) fn issue(
        &self,
        client_id: &str,
        user_id: &str,
        scopes: Vec<String>,
    ) -> (String, String, u64, Vec<String>) {
        let mut g = self.lock();
        let id = g.next_id();
        g.grants.insert(
            id,
            Grant {
                client_id: client_id.into(),
                user_id: user_id.into(),
                scopes: scopes.clone(),
                revoked: false,
            },
        );
        let (access, refresh, ttl) = Self::mint(&mut g, id);
        (access, refresh, ttl, scopes)
    }

    fn mint(g: &mut Inner, grant: u64) -> (String, String, u64) {
        let ttl = g.opts.access_expires_in_secs;
        let access = random_token(30);
        let refresh = random_token(50);
        g.access.insert(access.clone(), AccessRecord::new(grant, ttl));
        g.refresh.insert(refresh.clone(), grant);
        (access, refresh, ttl)
    }

    /// Rotate a refresh token: a new access and refresh token; the old refresh token is spent.
    /// `None` if it is unknown, spent, revoked or belongs to another client.
    pub(crate) fn rotate(
        &self,
        client_id: &str,
        refresh: &str,
    ) -> Option<(String, String, u64, Vec<String>)> {
        let mut g = self.lock();
        let grant_id = *g.refresh.get(refresh)?;
        let grant = g.grants.get(&grant_id)?.clone();
        if grant.revoked || grant.client_id != client_id {
            return None;
        }
        g.refresh.remove(refresh);
        let (access, new_refresh, ttl) = Self::mint(&mut g, grant_id);
        Some((access, new_refresh, ttl, grant.scopes))
    }

    /// The grant behind a valid (known, unexpired, unrevoked) access token.
    pub(crate) fn authorize(&self, access: &str) -> Option<Authorized> {
        let g = self.lock();
        let rec = g.access.get(access)?;
        let now = Instant::now();
        if rec.expires_at <= now {
            return None;
        }
        let grant = g.grants.get(&rec.grant)?;
        if grant.revoked {
            return None;
        }
        Some(Authorized {
            client_id: grant.client_id.clone(),
            user_id: grant.user_id.clone(),
            scopes: grant.scopes.clone(),
            expires_in: (rec.expires_at - now).as_secs(),
        })
    }

    /// Revoke the grant behind an access token (its refresh token dies with it). False if the
    /// token is unknown or belongs to another client.
    pub(crate) fn revoke_token(&self, client_id: &str, token: &str) -> bool {
        let mut g = self.lock();
        let Some(grant_id) = g.access.get(token).map(|r| r.grant).or_else(|| g.refresh.get(token).copied())
        else {
            return false;
        };
        match g.grants.get_mut(&grant_id) {
            Some(grant) if grant.client_id == client_id => {
                grant.revoked = true;
                true
            }
            _ => false,
        }
    }

    // ---- Helix ----

    pub(crate) fn channel(&self) -> ChannelInfo {
        self.lock().channel.clone()
    }

    pub(crate) fn update_channel(&self, f: impl FnOnce(&mut ChannelInfo)) {
        f(&mut self.lock().channel);
    }

    // ---- EventSub sessions ----

    pub(crate) fn keepalive_secs(&self) -> u64 {
        self.lock().opts.keepalive_timeout_secs
    }

    /// A new session for a fresh connection.
    pub(crate) fn open_session(&self, conn: Conn, keepalive_secs: u64) -> String {
        let mut g = self.lock();
        let id = format!("AQoQ{}", random_token(24));
        g.sessions.insert(
            id.clone(),
            Session { conn: Some(conn), reconnect: None, connected_at: examples::now(), keepalive_secs },
        );
        id
    }

    /// The session a reconnect token belongs to (the token is spent).
    pub(crate) fn take_reconnect(&self, token: &str) -> Option<(String, String, u64)> {
        let mut g = self.lock();
        let session_id = g.reconnects.remove(token)?;
        let s = g.sessions.get(&session_id)?;
        Some((session_id, s.connected_at.clone(), s.keepalive_secs))
    }

    /// The new connection of a reconnecting session has been welcomed: it replaces the old one,
    /// which is closed.
    pub(crate) fn switch_connection(&self, session_id: &str, conn: Conn) {
        let mut g = self.lock();
        if let Some(s) = g.sessions.get_mut(session_id) {
            s.reconnect = None;
            if let Some(old) = s.conn.replace(conn) {
                let _ = old.tx.send(ConnCmd::Close(1000, "reconnected".into()));
            }
        }
    }

    /// A connection ended. If it was its session's current one and no reconnect is under way,
    /// the session ends and its subscriptions are disabled.
    pub(crate) fn connection_closed(&self, session_id: &str, conn_id: u64, status: &str) {
        let mut g = self.lock();
        let ends = match g.sessions.get_mut(session_id) {
            Some(s) if s.conn.as_ref().is_some_and(|c| c.id == conn_id) => {
                s.conn = None;
                s.reconnect.is_none()
            }
            _ => false,
        };
        if ends {
            g.sessions.remove(session_id);
            g.reconnects.retain(|_, s| s != session_id);
            for sub in
                g.subscriptions.iter_mut().filter(|s| s.session_id == session_id && s.status == "enabled")
            {
                sub.status = status.to_string();
            }
        }
    }

    pub(crate) fn session_has_subscriptions(&self, session_id: &str) -> bool {
        self.lock().subscriptions.iter().any(|s| s.session_id == session_id)
    }

    pub(crate) fn session_connected(&self, session_id: &str) -> bool {
        self.lock().sessions.get(session_id).is_some_and(|s| s.conn.is_some())
    }

    pub(crate) fn session_connected_at(&self, session_id: &str) -> Option<String> {
        self.lock().sessions.get(session_id).map(|s| s.connected_at.clone())
    }

    pub(crate) fn keepalives_on(&self) -> bool {
        self.lock().keepalives
    }

    /// Record a message sent on a connection.
    pub(crate) fn record(&self, msg: DeliveredMessage) {
        self.lock().delivered.push(msg);
    }

    pub(crate) fn add_subscription(&self, sub: SubscriptionSnapshot) {
        self.lock().subscriptions.push(sub);
    }

    /// An enabled subscription of this type and condition on a live session (for 409).
    pub(crate) fn existing_subscription(&self, kind: &str, condition: &Value) -> Option<String> {
        let g = self.lock();
        g.subscriptions
            .iter()
            .find(|s| {
                s.status == "enabled"
                    && s.kind == kind
                    && s.condition == *condition
                    && g.sessions.contains_key(&s.session_id)
            })
            .map(|s| s.id.clone())
    }

    pub(crate) fn enabled_on_session(&self, session_id: &str) -> usize {
        self.lock()
            .subscriptions
            .iter()
            .filter(|s| s.session_id == session_id && s.status == "enabled")
            .count()
    }
}
