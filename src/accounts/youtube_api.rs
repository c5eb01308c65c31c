//! A thin Google/YouTube client (reqwest, like the Twitch one): OAuth 2.0 for installed apps
//! (the consent URL with PKCE S256, code exchange, refresh, revoke) and the few YouTube Data
//! API v3 calls the app needs (`channels`, `liveBroadcasts` list and update,
//! `liveChat/messages`).
//!
//! Why not the `oauth2` crate: PKCE is one SHA-256 (`sha2` and `base64` are in the tree
//! already), and the engine needs Google's own error reasons (`invalid_grant`,
//! `quotaExceeded`) as typed errors, one request budget and sensitive headers across the OAuth
//! and the Data API calls alike.
//!
//! Quota: every Data API call is counted in YouTube's units (channels and liveBroadcasts list
//! 1, liveBroadcasts update 50, liveChat/messages 5) for the current quota day. YouTube resets
//! quotas at midnight Pacific time; the count resets at 08:00 UTC (midnight PST), which during
//! daylight time is an hour after YouTube's reset: the count errs on the safe side. A
//! `quotaExceeded` answer marks the day used up.
//!
//! Tokens travel only in form bodies and the `Authorization` header (marked sensitive); no
//! error message or log line carries one. Every request passes a request budget (60 a minute,
//! 20 back to back) and has a 10 s timeout.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;

use super::youtube_config::YouTubeConfig;
use crate::secrets::Secret;

/// Manage the channel's YouTube account: needed for `liveBroadcasts.update` (the title); it
/// also covers listing broadcasts and reading the live chat.
pub const SCOPE: &str = "https://www.googleapis.com/auth/youtube";

const TIMEOUT: Duration = Duration::from_secs(10);
const REQUESTS_PER_MINUTE: u32 = 60;
const BURST: u32 = 20;

/// Quota costs in units (developers.google.com/youtube/v3/determine_quota_cost).
pub const COST_LIST: u32 = 1;
pub const COST_UPDATE: u32 = 50;
pub const COST_CHAT: u32 = 5;

/// A call that did not give what was asked, in words (never a token).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum YouTubeApiError {
    /// YouTube refused the request (4xx) with this reason and message.
    #[error("YouTube refused the request (HTTP {status}, {reason}: {message})")]
    Refused { status: u16, reason: String, message: String },
    /// 401: the access token is not (or no longer) accepted.
    #[error("YouTube did not accept the sign-in (HTTP 401)")]
    Unauthorized,
    #[error(
        "the app's daily YouTube API quota is used up (quotaExceeded); it resets at midnight Pacific time"
    )]
    QuotaExceeded,
    #[error("cannot reach YouTube: {0}")]
    Unreachable(String),
    #[error("YouTube did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("YouTube asks to slow down (rate limit)")]
    RateLimited,
    #[error("YouTube had a problem (HTTP {0}); trying again later")]
    Server(u16),
    #[error("YouTube answered something unexpected: {0}")]
    Protocol(String),
}

impl YouTubeApiError {
    /// Worth trying again later (network, timeout, rate limit, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Timeout | Self::RateLimited | Self::Server(_))
    }
}

/// A token Google no longer accepts (vs. a call that could not be made).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// `invalid_grant`: revoked, expired, or a code already spent / a wrong PKCE verifier.
    Rejected(String),
    Failed(YouTubeApiError),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Rejected(why) => write!(f, "Google refused the sign-in ({why})"),
            TokenError::Failed(e) => e.fmt(f),
        }
    }
}

/// Why the broadcast's title could not be set (`liveBroadcasts.update`), in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastUpdateError {
    #[error("not signed in to YouTube")]
    SignedOut,
    #[error("no YouTube broadcast is live: the title is set on the live broadcast")]
    NoActiveBroadcast,
    #[error("{0}")]
    Api(YouTubeApiError),
}

/// Tokens from the token endpoint. Google keeps the refresh token on refresh (no rotation):
/// `refresh` is `None` then.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub expires_in: u64,
    pub scopes: Vec<String>,
}

/// A PKCE pair (RFC 7636): the verifier stays in the engine, the S256 challenge goes in the URL.
#[derive(Clone, Debug)]
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

/// A fresh PKCE pair: a 64-character verifier from the unreserved characters.
pub fn pkce() -> Pkce {
    let verifier = random_string(64);
    let challenge = s256(&verifier);
    Pkce { verifier: Secret::new(verifier), challenge }
}

/// BASE64URL(SHA-256(verifier)), without padding.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// `n` random characters from RFC 3986's unreserved set (for verifiers and `state`).
pub fn random_string(n: usize) -> String {
    use rand::Rng;
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut rng = rand::rng();
    (0..n).map(|_| ABC[rng.random_range(0..ABC.len())] as char).collect()
}

/// The channel signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    pub title: String,
}

/// A live broadcast (the fields the app reads or must send back on update).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    pub id: String,
    pub title: String,
    pub description: String,
    pub scheduled_start_time: Option<String>,
    pub scheduled_end_time: Option<String>,
    pub live_chat_id: Option<String>,
}

/// One page of `liveChat/messages`.
#[derive(Clone, Debug)]
pub struct ChatPage {
    /// The liveChatMessage resources, oldest first.
    pub items: Vec<Value>,
    pub next_page_token: Option<String>,
    pub polling_interval: Duration,
    /// Set once the stream went offline.
    pub offline_at: Option<String>,
}

/// The quota day a moment belongs to (days, counted at UTC−8).
pub fn quota_day(now: DateTime<Utc>) -> i64 {
    (now - chrono::Duration::hours(8)).timestamp().div_euclid(86_400)
}

/// The next quota reset after `now` (08:00 UTC, midnight PST).
pub fn next_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let day = quota_day(now) + 1;
    DateTime::from_timestamp(day * 86_400 + 8 * 3600, 0).unwrap_or(now + chrono::Duration::hours(24))
}

#[derive(Debug, Default)]
struct QuotaCount {
    day: i64,
    used: u32,
}

struct Inner {
    http: reqwest::Client,
    auth_url: String,
    token_url: String,
    revoke_url: String,
    api_url: String,
    client_id: String,
    client_secret: Secret,
    budget: DefaultDirectRateLimiter,
    quota: Mutex<QuotaCount>,
}

/// The client for one `[youtube]` config; cheap to clone (clones share the budget and the
/// quota count).
#[derive(Clone)]
pub struct YouTubeApi {
    inner: Arc<Inner>,
    config: YouTubeConfig,
}

impl std::fmt::Debug for YouTubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YouTubeApi").field("api_url", &self.inner.api_url).finish_non_exhaustive()
    }
}

#[derive(Deserialize, Default)]
struct OauthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

fn send_error(e: reqwest::Error) -> YouTubeApiError {
    if e.is_timeout() {
        YouTubeApiError::Timeout
    } else {
        YouTubeApiError::Unreachable(e.without_url().to_string())
    }
}

/// The Data API's error envelope → a typed error.
fn api_error(status: StatusCode, body: &[u8]) -> YouTubeApiError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let reason = v["error"]["errors"][0]["reason"].as_str().unwrap_or_default().to_string();
    let message = v["error"]["message"].as_str().map(clip).unwrap_or_else(|| "no explanation".into());
    match (status.as_u16(), reason.as_str()) {
        (401, _) => YouTubeApiError::Unauthorized,
        (_, "quotaExceeded" | "dailyLimitExceeded") => YouTubeApiError::QuotaExceeded,
        (429, _) | (_, "rateLimitExceeded" | "userRateLimitExceeded") => YouTubeApiError::RateLimited,
        (s @ 500..=599, _) => YouTubeApiError::Server(s),
        (s, _) => YouTubeApiError::Refused {
            status: s,
            reason: if reason.is_empty() { "error".into() } else { clip(&reason) },
            message,
        },
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    scope: String,
}

fn token_answer(status: StatusCode, body: &[u8]) -> Result<TokenSet, TokenError> {
    if status.is_success() {
        let t: TokenBody = serde_json::from_slice(body)
            .map_err(|e| TokenError::Failed(YouTubeApiError::Protocol(format!("token answer: {e}"))))?;
        return Ok(TokenSet {
            access: Secret::new(t.access_token),
            refresh: t.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
            expires_in: t.expires_in,
            scopes: t.scope.split_whitespace().map(str::to_string).collect(),
        });
    }
    let e: OauthError = serde_json::from_slice(body).unwrap_or_default();
    let code = e.error.unwrap_or_default();
    let words = match &e.error_description {
        Some(d) => format!("{code}: {}", clip(d)),
        None => code.clone(),
    };
    match (status.as_u16(), code.as_str()) {
        (_, "invalid_grant") => Err(TokenError::Rejected(words)),
        (429, _) => Err(TokenError::Failed(YouTubeApiError::RateLimited)),
        (s @ 500..=599, _) => Err(TokenError::Failed(YouTubeApiError::Server(s))),
        (s, _) => Err(TokenError::Failed(YouTubeApiError::Refused {
            status: s,
            reason: if code.is_empty() { "error".into() } else { clip(&code) },
            message: e.error_description.map(|d| clip(&d)).unwrap_or_else(|| "no explanation".into()),
        })),
    }
}

fn broadcast(item: &Value) -> Broadcast {
    let s = &item["snippet"];
    let text = |k: &str| s[k].as_str().map(str::to_string);
    Broadcast {
        id: item["id"].as_str().unwrap_or_default().to_string(),
        title: text("title").unwrap_or_default(),
        description: text("description").unwrap_or_default(),
        scheduled_start_time: text("scheduledStartTime"),
        scheduled_end_time: text("scheduledEndTime"),
        live_chat_id: text("liveChatId").filter(|c| !c.is_empty()),
    }
}

impl YouTubeApi {
    /// A client for `config` (which must have a client id and secret).
    pub fn new(config: &YouTubeConfig) -> Result<YouTubeApi, String> {
        let client_id = config.client_id().ok_or("no [youtube] client_id")?.to_string();
        let client_secret = config.client_secret().ok_or("no [youtube] client_secret")?.to_string();
        let quota = Quota::per_minute(NonZeroU32::new(REQUESTS_PER_MINUTE).expect("non-zero"))
            .allow_burst(NonZeroU32::new(BURST).expect("non-zero"));
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("streampai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let trim = |u: &str| u.trim().trim_end_matches('/').to_string();
        Ok(YouTubeApi {
            inner: Arc::new(Inner {
                http,
                auth_url: config.auth_url.trim().to_string(),
                token_url: config.token_url.trim().to_string(),
                revoke_url: config.revoke_url(),
                api_url: trim(&config.api_url),
                client_id,
                client_secret: Secret::new(client_secret),
                budget: RateLimiter::direct(quota),
                quota: Mutex::new(QuotaCount { day: quota_day(Utc::now()), used: 0 }),
            }),
            config: config.clone(),
        })
    }

    pub fn config(&self) -> &YouTubeConfig {
        &self.config
    }

    /// The consent page's address for this sign-in.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> String {
        let mut u = match url::Url::parse(&self.inner.auth_url) {
            Ok(u) => u,
            Err(_) => return self.inner.auth_url.clone(),
        };
        u.query_pairs_mut()
            .append_pair("client_id", &self.inner.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", SCOPE)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        u.into()
    }

    // ---- quota ----

    fn charge(&self, units: u32) {
        let mut q = self.inner.quota.lock().unwrap_or_else(|p| p.into_inner());
        let today = quota_day(Utc::now());
        if q.day != today {
            *q = QuotaCount { day: today, used: 0 };
        }
        q.used = q.used.saturating_add(units);
    }

    /// Units used today (as counted here, or learnt from a `quotaExceeded`).
    pub fn quota_used(&self) -> u32 {
        let q = self.inner.quota.lock().unwrap_or_else(|p| p.into_inner());
        if q.day == quota_day(Utc::now()) {
            q.used
        } else {
            0
        }
    }

    /// YouTube said the day's quota is spent: count it as all used.
    pub fn quota_exhausted(&self) {
        let limit = self.config.daily_quota;
        let mut q = self.inner.quota.lock().unwrap_or_else(|p| p.into_inner());
        *q = QuotaCount { day: quota_day(Utc::now()), used: q.used.max(limit) };
    }

    // ---- plumbing ----

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>), YouTubeApiError> {
        self.inner.budget.until_ready().await;
        let res = req.send().await.map_err(send_error)?;
        let status = res.status();
        let body = res.bytes().await.map_err(send_error)?;
        Ok((status, body.to_vec()))
    }

    fn bearer(token: &Secret) -> Result<HeaderValue, YouTubeApiError> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
            YouTubeApiError::Protocol("the token has characters a header cannot carry".into())
        })?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// A Data API call costing `units`: its JSON answer, or the typed error.
    async fn call(
        &self,
        req: reqwest::RequestBuilder,
        token: &Secret,
        units: u32,
    ) -> Result<Value, YouTubeApiError> {
        let req = req.header(AUTHORIZATION, Self::bearer(token)?);
        let (status, body) = self.send(req).await?;
        // YouTube charges refused requests too; a quota refusal is not charged.
        let err = (!status.is_success()).then(|| api_error(status, &body));
        match &err {
            Some(YouTubeApiError::QuotaExceeded) => self.quota_exhausted(),
            Some(YouTubeApiError::Unauthorized) => {}
            _ => self.charge(units),
        }
        if let Some(e) = err {
            return Err(e);
        }
        serde_json::from_slice(&body).map_err(|e| YouTubeApiError::Protocol(format!("answer: {e}")))
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.inner.http.get(format!("{}/{path}", self.inner.api_url))
    }

    // ---- OAuth ----

    /// Exchange the code from the redirect (with the PKCE verifier).
    pub async fn exchange(
        &self,
        code: &Secret,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<TokenSet, TokenError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("client_id", self.inner.client_id.as_str()),
            ("client_secret", self.inner.client_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
        ];
        let (status, body) = self
            .send(self.inner.http.post(&self.inner.token_url).form(&form))
            .await
            .map_err(TokenError::Failed)?;
        token_answer(status, &body)
    }

    /// A new access token (the refresh token stays the same, unless Google sends a new one).
    pub async fn refresh(&self, refresh: &Secret) -> Result<TokenSet, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
            ("client_id", self.inner.client_id.as_str()),
            ("client_secret", self.inner.client_secret.expose()),
        ];
        let (status, body) = self
            .send(self.inner.http.post(&self.inner.token_url).form(&form))
            .await
            .map_err(TokenError::Failed)?;
        token_answer(status, &body)
    }

    /// Revoke a token (the refresh token ends the whole grant).
    pub async fn revoke(&self, token: &Secret) -> Result<(), YouTubeApiError> {
        let req = self.inner.http.post(&self.inner.revoke_url).form(&[("token", token.expose())]);
        let (status, body) = self.send(req).await?;
        if status.is_success() {
            return Ok(());
        }
        match token_answer(status, &body) {
            Err(TokenError::Failed(e)) => Err(e),
            _ => Err(YouTubeApiError::Refused {
                status: status.as_u16(),
                reason: "invalid_token".into(),
                message: "the token was already revoked or expired".into(),
            }),
        }
    }

    // ---- Data API ----

    /// `channels.list(mine=true)`: the signed-in channel (1 unit).
    pub async fn channel(&self, access: &Secret) -> Result<Channel, YouTubeApiError> {
        let req = self.get("channels").query(&[("part", "snippet"), ("mine", "true")]);
        let v = self.call(req, access, COST_LIST).await?;
        let item = &v["items"][0];
        match (item["id"].as_str(), item["snippet"]["title"].as_str()) {
            (Some(id), Some(title)) => Ok(Channel { id: id.to_string(), title: title.to_string() }),
            _ => Err(YouTubeApiError::Refused {
                status: 200,
                reason: "noChannel".into(),
                message: "this Google account has no YouTube channel".into(),
            }),
        }
    }

    /// `liveBroadcasts.list(broadcastStatus=active, broadcastType=all)`: the live broadcasts,
    /// the channel's default ("Stream now") one included (1 unit).
    pub async fn active_broadcasts(&self, access: &Secret) -> Result<Vec<Broadcast>, YouTubeApiError> {
        let req = self.get("liveBroadcasts").query(&[
            ("part", "id,snippet,status"),
            ("broadcastStatus", "active"),
            ("broadcastType", "all"),
            ("maxResults", "5"),
        ]);
        let v = self.call(req, access, COST_LIST).await?;
        Ok(v["items"].as_array().map(|a| a.iter().map(broadcast).collect()).unwrap_or_default())
    }

    /// `liveChatMessages.list`: the page after `page_token` (the recent history without one)
    /// (5 units).
    pub async fn chat_page(
        &self,
        access: &Secret,
        live_chat_id: &str,
        page_token: Option<&str>,
    ) -> Result<ChatPage, YouTubeApiError> {
        let mut q =
            vec![("liveChatId", live_chat_id), ("part", "id,snippet,authorDetails"), ("maxResults", "2000")];
        if let Some(t) = page_token {
            q.push(("pageToken", t));
        }
        let v = self.call(self.get("liveChat/messages").query(&q), access, COST_CHAT).await?;
        let interval = v["pollingIntervalMillis"].as_u64().unwrap_or(5000);
        Ok(ChatPage {
            items: v["items"].as_array().cloned().unwrap_or_default(),
            next_page_token: v["nextPageToken"].as_str().map(str::to_string).filter(|t| !t.is_empty()),
            polling_interval: Duration::from_millis(interval.clamp(100, 600_000)),
            offline_at: v["offlineAt"].as_str().map(str::to_string),
        })
    }

    /// `liveBroadcasts.update(part=snippet)` of the live broadcast: the title (and the
    /// description, if given). YouTube overwrites the whole snippet, so the current one is read
    /// first (1 unit) and its other fields (description when not given, the scheduled start
    /// and end, which YouTube requires) are sent back unchanged (50 units).
    pub async fn set_broadcast_info(
        &self,
        access: &Secret,
        title: &str,
        description: Option<&str>,
    ) -> Result<Broadcast, BroadcastUpdateError> {
        let current = self
            .active_broadcasts(access)
            .await
            .map_err(BroadcastUpdateError::Api)?
            .into_iter()
            .next()
            .ok_or(BroadcastUpdateError::NoActiveBroadcast)?;
        self.update_broadcast(access, &current, title, description).await
    }

    /// `liveBroadcasts.update(part=snippet)` of `current`, a broadcast as a list just gave it
    /// (its other snippet fields are sent back unchanged): the update alone, 50 units.
    pub async fn update_broadcast(
        &self,
        access: &Secret,
        current: &Broadcast,
        title: &str,
        description: Option<&str>,
    ) -> Result<Broadcast, BroadcastUpdateError> {
        let mut snippet = json!({
            "title": title,
            "description": description.unwrap_or(&current.description),
        });
        if let Some(start) = &current.scheduled_start_time {
            snippet["scheduledStartTime"] = json!(start);
        }
        if let Some(end) = &current.scheduled_end_time {
            snippet["scheduledEndTime"] = json!(end);
        }
        let req = self
            .inner
            .http
            .put(format!("{}/liveBroadcasts", self.inner.api_url))
            .query(&[("part", "snippet")])
            .json(&json!({"id": current.id, "snippet": snippet}));
        let v = self.call(req, access, COST_UPDATE).await.map_err(BroadcastUpdateError::Api)?;
        Ok(broadcast(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_is_rfc_7636_s256() {
        // Computed independently (Python: base64.urlsafe_b64encode(hashlib.sha256(v).digest())).
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFkEjXk"),
            "e2O5SJ4PMiCap601lDHMvRhsYY2s3T4_rP2MzNXsYho"
        );
        let p = pkce();
        assert_eq!(p.verifier.expose().len(), 64);
        assert_eq!(p.challenge, s256(p.verifier.expose()));
        assert_ne!(pkce().verifier.expose(), p.verifier.expose());
    }

    #[test]
    fn the_quota_day_turns_at_eight_utc() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(quota_day(at("2026-03-02T07:59:59Z")), quota_day(at("2026-03-01T08:00:00Z")));
        assert_eq!(quota_day(at("2026-03-02T08:00:00Z")), quota_day(at("2026-03-01T08:00:00Z")) + 1);
        assert_eq!(next_reset(at("2026-03-02T07:00:00Z")), at("2026-03-02T08:00:00Z"));
        assert_eq!(next_reset(at("2026-03-02T09:00:00Z")), at("2026-03-03T08:00:00Z"));
    }

    #[test]
    fn google_errors_become_typed_errors() {
        let body = |reason: &str| {
            serde_json::to_vec(
                &json!({"error": {"code": 403, "message": "m", "errors": [{"reason": reason}]}}),
            )
            .unwrap()
        };
        assert_eq!(api_error(StatusCode::FORBIDDEN, &body("quotaExceeded")), YouTubeApiError::QuotaExceeded);
        assert_eq!(api_error(StatusCode::UNAUTHORIZED, &body("authError")), YouTubeApiError::Unauthorized);
        assert!(matches!(
            api_error(StatusCode::FORBIDDEN, &body("liveChatEnded")),
            YouTubeApiError::Refused { status: 403, ref reason, .. } if reason == "liveChatEnded"
        ));
        assert_eq!(api_error(StatusCode::BAD_GATEWAY, b"<html>"), YouTubeApiError::Server(502));
        let revoked =
            br#"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#;
        assert!(
            matches!(token_answer(StatusCode::BAD_REQUEST, revoked), Err(TokenError::Rejected(w)) if w.contains("revoked"))
        );
        assert!(YouTubeApiError::QuotaExceeded.to_string().contains("midnight Pacific"));
    }
}
