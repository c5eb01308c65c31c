//! A thin Twitch client (reqwest, like the Cloudflare client): id.twitch.tv's Device Code Grant
//! for a public client, refresh, validate and revoke, and Helix's EventSub subscription create;
//! the channel's title and category, and the category search, in `twitch_api/channels.rs`.
//!
//! Why not `twitch_oauth2`: its endpoint overrides are process-wide environment variables read
//! once, so `[twitch] auth_url` (and tests with one fake per test) could not point it anywhere.
//!
//! Tokens travel only in form bodies and the `Authorization` header (marked sensitive); no
//! error message or log line carries one. Every request passes a request budget first (120 a
//! minute, 30 back to back: far above what sign-in and EventSub need, low enough that no bug
//! can turn into a request storm) and has a 10 s timeout.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::config::TwitchConfig;
use crate::secrets::Secret;

mod channels;

/// What the app asks Twitch to allow: follows (as its own moderator), subscriptions, cheers,
/// and setting the title and category.
pub const SCOPES: [&str; 4] =
    ["moderator:read:followers", "channel:read:subscriptions", "bits:read", "channel:manage:broadcast"];

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TIMEOUT: Duration = Duration::from_secs(10);
const REQUESTS_PER_MINUTE: u32 = 120;
const BURST: u32 = 30;

/// A call that did not give what was asked, in words (never a token).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TwitchApiError {
    /// Twitch refused the request (4xx) with this message.
    #[error("Twitch refused the request (HTTP {status}: {message})")]
    Refused { status: u16, message: String },
    #[error("cannot reach Twitch: {0}")]
    Unreachable(String),
    #[error("Twitch did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("Twitch asks to slow down (HTTP 429)")]
    RateLimited,
    #[error("Twitch had a problem (HTTP {0}); trying again later")]
    Server(u16),
    #[error("Twitch answered something unexpected: {0}")]
    Protocol(String),
}

impl TwitchApiError {
    /// Worth trying again later (network, timeout, 429, 5xx), as opposed to a refusal.
    pub fn is_transient(&self) -> bool {
        !matches!(self, TwitchApiError::Refused { .. } | TwitchApiError::Protocol(_))
    }
}

/// `POST /device`'s answer.
#[derive(Clone, Debug)]
pub struct DeviceGrant {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// Tokens from `POST /token`.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access: Secret,
    pub refresh: Secret,
    pub expires_in: u64,
    pub scopes: Vec<String>,
}

/// One poll of the device code grant.
#[derive(Clone, Debug)]
pub enum Poll {
    Pending,
    /// Poll 5 s less often from now on (RFC 8628).
    SlowDown,
    Tokens(TokenSet),
    /// The code ran out before it was entered (or Twitch no longer knows it).
    Expired,
    /// The user declined.
    Denied,
    Failed(TwitchApiError),
}

/// `GET /validate`'s answer.
#[derive(Clone, Debug, Deserialize)]
pub struct Validation {
    pub client_id: String,
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub expires_in: u64,
}

/// A token Twitch no longer accepts (vs. a call that could not be made).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Invalid, expired or revoked (validate: 401; refresh: 400/401).
    Rejected(String),
    Failed(TwitchApiError),
}

/// A Helix subscription create that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// 401: the access token is not (or no longer) accepted.
    Unauthorized,
    /// 403: the token lacks the type's scope.
    Forbidden(String),
    /// 409: it exists already (fine for us).
    Exists,
    Failed(TwitchApiError),
}

struct Inner {
    http: reqwest::Client,
    auth_url: String,
    api_url: String,
    client_id: String,
    budget: DefaultDirectRateLimiter,
}

/// The client for one `[twitch]` config; cheap to clone (clones share the budget).
#[derive(Clone)]
pub struct TwitchApi {
    inner: Arc<Inner>,
    config: TwitchConfig,
}

impl std::fmt::Debug for TwitchApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwitchApi").field("config", &self.config).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Twitch's error text: `message` (`{"status", "message"}` and Helix), else `error`.
fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.message.or(b.error))
        .map(|m| m.chars().take(300).collect())
        .unwrap_or_else(|| "no explanation".into())
}

fn send_error(e: reqwest::Error) -> TwitchApiError {
    if e.is_timeout() {
        TwitchApiError::Timeout
    } else {
        // Without the URL: no query carries a secret, but the words stay short.
        TwitchApiError::Unreachable(e.without_url().to_string())
    }
}

fn status_error(status: StatusCode, body: &[u8]) -> TwitchApiError {
    match status.as_u16() {
        429 => TwitchApiError::RateLimited,
        s @ 500..=599 => TwitchApiError::Server(s),
        s => TwitchApiError::Refused { status: s, message: error_text(body) },
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    scope: Vec<String>,
}

fn tokens(body: &[u8]) -> Result<TokenSet, TwitchApiError> {
    let t: TokenBody =
        serde_json::from_slice(body).map_err(|e| TwitchApiError::Protocol(format!("token answer: {e}")))?;
    Ok(TokenSet {
        access: Secret::new(t.access_token),
        refresh: Secret::new(t.refresh_token),
        expires_in: t.expires_in,
        scopes: t.scope,
    })
}

impl TwitchApi {
    /// A client for `config` (which must have a client id).
    pub fn new(config: &TwitchConfig) -> Result<TwitchApi, String> {
        let client_id = config.client_id().ok_or("no [twitch] client_id")?.to_string();
        let quota = Quota::per_minute(NonZeroU32::new(REQUESTS_PER_MINUTE).expect("non-zero"))
            .allow_burst(NonZeroU32::new(BURST).expect("non-zero"));
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("streampai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(TwitchApi {
            inner: Arc::new(Inner {
                http,
                auth_url: config.auth_url.trim().trim_end_matches('/').to_string(),
                api_url: config.api_url.trim().trim_end_matches('/').to_string(),
                client_id,
                budget: RateLimiter::direct(quota),
            }),
            config: config.clone(),
        })
    }

    pub fn config(&self) -> &TwitchConfig {
        &self.config
    }

    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>), TwitchApiError> {
        self.inner.budget.until_ready().await;
        let res = req.send().await.map_err(send_error)?;
        let status = res.status();
        let body = res.bytes().await.map_err(send_error)?;
        Ok((status, body.to_vec()))
    }

    async fn form(&self, path: &str, form: &[(&str, &str)]) -> Result<(StatusCode, Vec<u8>), TwitchApiError> {
        let url = format!("{}/{path}", self.inner.auth_url);
        self.send(self.inner.http.post(url).form(form)).await
    }

    fn bearer(scheme: &str, token: &Secret) -> Result<HeaderValue, TwitchApiError> {
        let mut v = HeaderValue::from_str(&format!("{scheme} {}", token.expose()))
            .map_err(|_| TwitchApiError::Protocol("the token has characters a header cannot carry".into()))?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// `POST /device`: start a sign-in.
    pub async fn device(&self) -> Result<DeviceGrant, TwitchApiError> {
        let scopes = SCOPES.join(" ");
        let (status, body) =
            self.form("device", &[("client_id", self.client_id()), ("scopes", &scopes)]).await?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        #[derive(Deserialize)]
        struct D {
            device_code: String,
            user_code: String,
            verification_uri: String,
            expires_in: u64,
            #[serde(default)]
            interval: Option<u64>,
        }
        let d: D = serde_json::from_slice(&body)
            .map_err(|e| TwitchApiError::Protocol(format!("device answer: {e}")))?;
        Ok(DeviceGrant {
            device_code: Secret::new(d.device_code),
            user_code: d.user_code,
            verification_uri: d.verification_uri,
            expires_in: d.expires_in,
            // RFC 8628: 5 s when the server names none.
            interval: d.interval.unwrap_or(5),
        })
    }

    /// `POST /token` with the device code.
    pub async fn poll(&self, device_code: &Secret) -> Poll {
        let scopes = SCOPES.join(" ");
        let form = [
            ("client_id", self.client_id()),
            ("scopes", scopes.as_str()),
            ("device_code", device_code.expose()),
            ("grant_type", DEVICE_GRANT),
        ];
        let (status, body) = match self.form("token", &form).await {
            Ok(r) => r,
            Err(e) => return Poll::Failed(e),
        };
        if status.is_success() {
            return match tokens(&body) {
                Ok(t) => Poll::Tokens(t),
                Err(e) => Poll::Failed(e),
            };
        }
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
            let text = error_text(&body);
            let code = text.trim().to_ascii_lowercase();
            return match code.as_str() {
                "authorization_pending" => Poll::Pending,
                "slow_down" => Poll::SlowDown,
                "access_denied" => Poll::Denied,
                "expired_token" | "invalid device code" => Poll::Expired,
                _ => Poll::Failed(TwitchApiError::Refused { status: status.as_u16(), message: text }),
            };
        }
        Poll::Failed(status_error(status, &body))
    }

    /// `POST /token` with the refresh token (public client: no secret). The answer carries a
    /// new refresh token; the one sent is spent.
    pub async fn refresh(&self, refresh: &Secret) -> Result<TokenSet, TokenError> {
        let form = [
            ("client_id", self.client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
        ];
        let (status, body) = self.form("token", &form).await.map_err(TokenError::Failed)?;
        match status.as_u16() {
            200..=299 => tokens(&body).map_err(TokenError::Failed),
            400 | 401 => Err(TokenError::Rejected(error_text(&body))),
            _ => Err(TokenError::Failed(status_error(status, &body))),
        }
    }

    /// `GET /validate`.
    pub async fn validate(&self, access: &Secret) -> Result<Validation, TokenError> {
        let auth = Self::bearer("OAuth", access).map_err(TokenError::Failed)?;
        let req =
            self.inner.http.get(format!("{}/validate", self.inner.auth_url)).header(AUTHORIZATION, auth);
        let (status, body) = self.send(req).await.map_err(TokenError::Failed)?;
        match status.as_u16() {
            200..=299 => serde_json::from_slice(&body)
                .map_err(|e| TokenError::Failed(TwitchApiError::Protocol(format!("validate answer: {e}")))),
            401 => Err(TokenError::Rejected(error_text(&body))),
            _ => Err(TokenError::Failed(status_error(status, &body))),
        }
    }

    /// `POST /revoke`.
    pub async fn revoke(&self, access: &Secret) -> Result<(), TwitchApiError> {
        let (status, body) =
            self.form("revoke", &[("client_id", self.client_id()), ("token", access.expose())]).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(status_error(status, &body))
        }
    }

    /// `POST /eventsub/subscriptions` with the WebSocket transport.
    pub async fn subscribe(&self, access: &Secret, body: &Value) -> Result<(), SubscribeError> {
        let auth = Self::bearer("Bearer", access).map_err(SubscribeError::Failed)?;
        let req = self
            .inner
            .http
            .post(format!("{}/eventsub/subscriptions", self.inner.api_url))
            .header(AUTHORIZATION, auth)
            .header("Client-Id", self.client_id())
            .json(body);
        let (status, body) = self.send(req).await.map_err(SubscribeError::Failed)?;
        match status.as_u16() {
            200..=299 => Ok(()),
            401 => Err(SubscribeError::Unauthorized),
            403 => Err(SubscribeError::Forbidden(error_text(&body))),
            409 => Err(SubscribeError::Exists),
            _ => Err(SubscribeError::Failed(status_error(status, &body))),
        }
    }
}
