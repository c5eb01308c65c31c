//! The fake YouTube's state: the registered "Desktop app" client, the channel, authorization
//! codes (with their PKCE challenge), grants and tokens, broadcasts, live chats, the day's quota,
//! faults and request counters, and the test-control methods that drive it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use fake_support::{AccessRecord, RequestCounts};
use serde::Serialize;
use serde_json::{json, Value};

use super::faults::{Fault, FaultQueue, Route};

/// The scope that lets an app manage the channel's broadcasts (list, update) and read its chat.
pub const SCOPE_YOUTUBE: &str = "https://www.googleapis.com/auth/youtube";

/// How to start a fake YouTube.
#[derive(Clone, Debug)]
pub struct YouTubeOptions {
    /// The registered "Desktop app" OAuth client: its id and the secret Google issued with it.
    pub client_id: String,
    pub client_secret: String,
    /// The channel every token belongs to.
    pub channel_id: String,
    pub channel_title: String,
    /// `expires_in` of an access token (Google: 3599).
    pub access_expires_in_secs: u64,
    /// `pollingIntervalMillis` in every chat page.
    pub polling_interval_millis: u64,
    /// At most this many messages in one chat page (YouTube: `maxResults`, 200 to 2000).
    pub page_size: usize,
    /// A first request without `pageToken` returns at most this many recent messages (YouTube:
    /// up to 75).
    pub history: usize,
    /// The project's daily quota in units (YouTube's default: 10,000).
    pub daily_quota: u64,
}

impl Default for YouTubeOptions {
    fn default() -> Self {
        YouTubeOptions {
            client_id: "123456789012-fakeclient0000000000000000000.apps.googleusercontent.com".into(),
            client_secret: "GOCSPX-fakesecret000000000000000".into(),
            channel_id: "UCfakechannel00000000000".into(),
            channel_title: "Streampai Tester".into(),
            access_expires_in_secs: 3599,
            polling_interval_millis: 2000,
            page_size: 500,
            history: 75,
            daily_quota: 10_000,
        }
    }
}

/// Why a test-control call could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no broadcast is live")]
    NoActiveBroadcast,
    #[error("the fake has no chat event kind {0:?} (superChatEvent, superStickerEvent, newSponsorEvent, memberMilestoneChatEvent, membershipGiftingEvent, textMessageEvent)")]
    UnknownKind(String),
    #[error("no chat message with id {0:?}")]
    UnknownMessage(String),
}

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<(String, String)>,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub used: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
}

/// A broadcast of the channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Broadcast {
    pub id: String,
    pub title: String,
    pub description: String,
    pub scheduled_start_time: String,
    pub actual_start_time: Option<String>,
    pub live_chat_id: String,
    /// `live`, `complete`, `upcoming`.
    pub life_cycle_status: String,
    /// The channel's default ("Stream now") broadcast: listed only with `broadcastType=all` or
    /// `persistent`, as YouTube does.
    pub persistent: bool,
    pub published_at: String,
}

pub(crate) struct Inner {
    pub opts: YouTubeOptions,
    pub codes: HashMap<String, AuthCode>,
    pub grants: HashMap<u64, Grant>,
    pub access: HashMap<String, AccessRecord>,
    pub refresh: HashMap<String, u64>,
    next_id: u64,
    pub broadcasts: Vec<Broadcast>,
    /// Chat messages (liveChatMessage resources) by chat id, in order of arrival.
    pub chats: HashMap<String, Vec<Value>>,
    /// Page tokens → (chat id, index of the next message).
    pub pages: HashMap<String, (String, usize)>,
    pub quota_used: u64,
    pub requests: RequestCounts<Route>,
    /// The `code_verifier`s the token endpoint refused.
    pub verifier_failures: u64,
    pub faults: FaultQueue,
}

impl Inner {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The shared state; cheap to clone.
#[derive(Clone)]
pub struct YouTubeState {
    inner: Arc<Mutex<Inner>>,
}

/// A random string of `n` letters, digits, `-` and `_`.
pub(crate) fn random_token(n: usize) -> String {
    fake_support::random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", n)
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The five paid or membership event kinds the fake can put in a chat, plus plain text.
pub const EVENT_KINDS: [&str; 6] = [
    "superChatEvent",
    "superStickerEvent",
    "newSponsorEvent",
    "memberMilestoneChatEvent",
    "membershipGiftingEvent",
    "textMessageEvent",
];

/// An example `snippet` details object for `kind` (the docs' field names).
pub fn example_details(kind: &str) -> Option<(&'static str, Value)> {
    Some(match kind {
        "superChatEvent" => (
            "superChatDetails",
            json!({"amountMicros": "5000000", "currency": "USD", "amountDisplayString": "$5.00",
                   "userComment": "Love the stream!", "tier": 2}),
        ),
        "superStickerEvent" => (
            "superStickerDetails",
            json!({"amountMicros": "2000000", "currency": "EUR", "amountDisplayString": "€2.00", "tier": 1,
                   "superStickerMetadata": {"stickerId": "sticker_1", "altText": "A dancing cat", "altTextLanguage": "en"}}),
        ),
        "newSponsorEvent" => ("newSponsorDetails", json!({"memberLevelName": "Member", "isUpgrade": false})),
        "memberMilestoneChatEvent" => (
            "memberMilestoneChatDetails",
            json!({"userComment": "Six months already", "memberMonth": 6, "memberLevelName": "Member"}),
        ),
        "membershipGiftingEvent" => (
            "membershipGiftingDetails",
            json!({"giftMembershipsCount": 5, "giftMembershipsLevelName": "Member"}),
        ),
        "textMessageEvent" => ("textMessageDetails", json!({"messageText": "hello chat"})),
        _ => return None,
    })
}

impl YouTubeState {
    pub fn new(opts: YouTubeOptions) -> Self {
        YouTubeState {
            inner: Arc::new(Mutex::new(Inner {
                opts,
                codes: HashMap::new(),
                grants: HashMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                next_id: 0,
                broadcasts: Vec::new(),
                chats: HashMap::new(),
                pages: HashMap::new(),
                quota_used: 0,
                requests: RequestCounts::default(),
                verifier_failures: 0,
                faults: FaultQueue::default(),
            })),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn options(&self) -> YouTubeOptions {
        self.lock().opts.clone()
    }

    /// Count a request and take the fault aimed at it, if any.
    pub(crate) fn enter(&self, route: Route) -> Option<Fault> {
        let mut g = self.lock();
        g.requests.count(route);
        g.faults.take(Some(route))
    }

    /// Spend the route's quota cost; false (nothing spent) when the day's quota cannot pay it.
    pub(crate) fn spend(&self, route: Route) -> bool {
        let mut g = self.lock();
        let cost = route.quota_cost();
        if g.quota_used + cost > g.opts.daily_quota {
            return false;
        }
        g.quota_used += cost;
        true
    }

    // ---- OAuth ----

    pub(crate) fn new_code(&self, code: AuthCode) -> String {
        let value = format!("4/0A{}", random_token(60));
        self.lock().codes.insert(value.clone(), code);
        value
    }

    /// Issue an access and a refresh token for a new grant.
    pub(crate) fn issue(&self, client_id: &str, scopes: Vec<String>) -> (String, String, u64) {
        let mut g = self.lock();
        let id = g.next_id();
        g.grants.insert(id, Grant { client_id: client_id.into(), scopes, revoked: false });
        let (access, ttl) = Self::mint(&mut g, id);
        let refresh = format!("1//0{}", random_token(60));
        g.refresh.insert(refresh.clone(), id);
        (access, refresh, ttl)
    }

    fn mint(g: &mut Inner, grant: u64) -> (String, u64) {
        let ttl = g.opts.access_expires_in_secs;
        let access = format!("ya29.{}", random_token(80));
        g.access.insert(access.clone(), AccessRecord::new(grant, ttl));
        (access, ttl)
    }

    /// A new access token for a refresh token (Google keeps the refresh token: it is not
    /// rotated). `None` if unknown, revoked or another client's.
    pub(crate) fn refresh(&self, client_id: &str, refresh: &str) -> Option<(String, u64, Vec<String>)> {
        let mut g = self.lock();
        let grant_id = *g.refresh.get(refresh)?;
        let grant = g.grants.get(&grant_id)?.clone();
        if grant.revoked || grant.client_id != client_id {
            return None;
        }
        let (access, ttl) = Self::mint(&mut g, grant_id);
        Some((access, ttl, grant.scopes))
    }

    /// The scopes behind a valid (known, unexpired, unrevoked) access token.
    pub(crate) fn authorize(&self, access: &str) -> Option<Vec<String>> {
        let g = self.lock();
        let rec = g.access.get(access)?;
        if rec.expires_at <= Instant::now() {
            return None;
        }
        let grant = g.grants.get(&rec.grant)?;
        (!grant.revoked).then(|| grant.scopes.clone())
    }

    /// Revoke the grant behind an access or refresh token. False if the token is unknown.
    pub(crate) fn revoke_token(&self, token: &str) -> bool {
        let mut g = self.lock();
        let Some(id) = g.access.get(token).map(|r| r.grant).or_else(|| g.refresh.get(token).copied()) else {
            return false;
        };
        match g.grants.get_mut(&id) {
            Some(grant) if !grant.revoked => {
                grant.revoked = true;
                true
            }
            _ => false,
        }
    }

    // ---- Data API ----

    /// A page of `chat`'s messages from `token` (or the recent history without one): the
    /// messages and the next page's token. `None` for an unknown token.
    pub(crate) fn chat_page(
        &self,
        chat: &str,
        token: Option<&str>,
        max: Option<usize>,
    ) -> Option<(Vec<Value>, String)> {
        let mut g = self.lock();
        let len = g.chats.get(chat).map_or(0, Vec::len);
        let start = match token {
            Some(t) => {
                let (c, at) = g.pages.get(t)?.clone();
                if c != chat {
                    return None;
                }
                at
            }
            None => len.saturating_sub(g.opts.history),
        };
        let size = max.unwrap_or(g.opts.page_size).min(g.opts.page_size).max(1);
        let end = (start + size).min(len);
        let items = g.chats.get(chat).map(|m| m[start..end].to_vec()).unwrap_or_default();
        let next = random_token(24);
        g.pages.insert(next.clone(), (chat.to_string(), end));
        Some((items, next))
    }

    // ---- test control ----

    /// A broadcast goes live (the channel's persistent "Stream now" broadcast when
    /// `persistent`): its chat opens. Returns the broadcast.
    pub fn start_broadcast(&self, title: &str, persistent: bool) -> Broadcast {
        let mut g = self.lock();
        let n = g.next_id();
        let b = Broadcast {
            id: format!("bc{n}{}", random_token(8)),
            title: title.to_string(),
            description: "Fake broadcast".into(),
            scheduled_start_time: now(),
            actual_start_time: Some(now()),
            live_chat_id: format!("Cg0KC{}", random_token(20)),
            life_cycle_status: "live".into(),
            persistent,
            published_at: now(),
        };
        g.chats.insert(b.live_chat_id.clone(), Vec::new());
        g.broadcasts.push(b.clone());
        b
    }

    /// Every live broadcast ends (its chat closes: `liveChatEnded`). Returns how many.
    pub fn end_broadcasts(&self) -> usize {
        let mut g = self.lock();
        let mut n = 0;
        for b in g.broadcasts.iter_mut().filter(|b| b.life_cycle_status == "live") {
            b.life_cycle_status = "complete".into();
            n += 1;
        }
        n
    }

    pub fn broadcasts(&self) -> Vec<Broadcast> {
        self.lock().broadcasts.clone()
    }

    /// Add a chat event of `kind` to the live chat with the example details, from `author`.
    /// Returns the message id.
    pub fn push_chat(&self, kind: &str, author: &str) -> Result<String, ControlError> {
        let (key, details) = example_details(kind).ok_or_else(|| ControlError::UnknownKind(kind.into()))?;
        self.push_chat_with(kind, author, Some((key, details)), None)
    }

    /// Add a chat event with these details (`None`: none), published at `published_at` (RFC
    /// 3339; default now). Returns the message id.
    pub fn push_chat_with(
        &self,
        kind: &str,
        author: &str,
        details: Option<(&str, Value)>,
        published_at: Option<String>,
    ) -> Result<String, ControlError> {
        if !EVENT_KINDS.contains(&kind) {
            return Err(ControlError::UnknownKind(kind.into()));
        }
        let mut g = self.lock();
        let chat = g
            .broadcasts
            .iter()
            .rev()
            .find(|b| b.life_cycle_status == "live")
            .map(|b| b.live_chat_id.clone())
            .ok_or(ControlError::NoActiveBroadcast)?;
        let id = format!("LCC.{}", random_token(40));
        let author_id = format!("UC{}", random_token(22));
        let mut snippet = json!({
            "type": kind,
            "liveChatId": chat,
            "authorChannelId": author_id,
            "publishedAt": published_at.unwrap_or_else(now),
            "hasDisplayContent": true,
            "displayMessage": format!("{author}: {kind}"),
        });
        if let Some((key, d)) = details {
            snippet[key] = d;
        }
        let msg = json!({
            "kind": "youtube#liveChatMessage",
            "etag": random_token(27),
            "id": id,
            "snippet": snippet,
            "authorDetails": {
                "channelId": author_id,
                "channelUrl": format!("http://www.youtube.com/channel/{author_id}"),
                "displayName": author,
                "profileImageUrl": "https://yt3.ggpht.example/photo.jpg",
                "isVerified": false, "isChatOwner": false, "isChatSponsor": false, "isChatModerator": false,
            },
        });
        g.chats.entry(chat).or_default().push(msg);
        Ok(id)
    }

    /// Put a message already in the chat there once more (a duplicate delivery).
    pub fn redeliver(&self, message_id: &str) -> Result<(), ControlError> {
        let mut g = self.lock();
        for msgs in g.chats.values_mut() {
            if let Some(m) = msgs.iter().find(|m| m["id"] == message_id).cloned() {
                msgs.push(m);
                return Ok(());
            }
        }
        Err(ControlError::UnknownMessage(message_id.into()))
    }

    /// The user removes the app's access in their Google account: every grant is revoked.
    pub fn revoke_all(&self) -> usize {
        let mut g = self.lock();
        let mut n = 0;
        for grant in g.grants.values_mut().filter(|gr| !gr.revoked) {
            grant.revoked = true;
            n += 1;
        }
        n
    }

    /// Every access token expires now (refresh tokens keep working).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for rec in self.lock().access.values_mut() {
            rec.expires_at = now;
        }
    }

    /// The day's quota in units, and what is used of it.
    pub fn set_quota(&self, daily: u64) {
        self.lock().opts.daily_quota = daily;
    }
    pub fn quota_used(&self) -> u64 {
        self.lock().quota_used
    }
    /// Midnight Pacific time: the day's count starts again.
    pub fn reset_quota(&self) {
        self.lock().quota_used = 0;
    }

    pub fn set_polling_interval_millis(&self, ms: u64) {
        self.lock().opts.polling_interval_millis = ms;
    }

    /// Live (unrevoked, unexpired) access tokens and unrevoked refresh tokens.
    pub fn live_tokens(&self) -> (Vec<String>, Vec<String>) {
        let g = self.lock();
        fake_support::live_tokens(&g.access, &g.refresh, |id| g.grants.get(&id).is_some_and(|gr| !gr.revoked))
    }

    pub fn requests(&self) -> BTreeMap<Route, u64> {
        self.lock().requests.by_route()
    }
    pub fn request_count(&self, route: Route) -> u64 {
        self.lock().requests.get(route)
    }
    pub fn total_requests(&self) -> u64 {
        self.lock().requests.total()
    }
    /// How many code exchanges failed the PKCE check.
    pub fn verifier_failures(&self) -> u64 {
        self.lock().verifier_failures
    }

    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault, 1, None);
    }
    pub fn inject_for(&self, route: Route, fault: Fault, n: usize) {
        self.lock().faults.push(fault, n, Some(route));
    }
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }
}
