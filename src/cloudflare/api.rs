//! The Cloudflare Stream live-inputs client: bearer auth, the v4 envelope, typed errors, a
//! per-request timeout and a request budget well under Cloudflare's 1,200 requests / 5 minutes.
//!
//! The token is a [`Secret`]: it is sent only in the `Authorization` header (marked sensitive),
//! and never appears in `Debug` output, logs or error messages.

mod error;
mod models;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::secrets::Secret;

pub use error::{ApiMessage, CloudflareError, ConnectionProblem};
pub use models::{
    CreateLiveInput, CreateOutput, LiveInput, LiveInputStatus, LiveOutput, RecordingSettings, RtmpsEndpoint,
    SrtEndpoint, StatusEntry, TokenVerification, WebRtcEndpoint,
};

/// Body of update live input: the same fields as create.
pub type UpdateLiveInput = CreateLiveInput;

pub const DEFAULT_API_BASE: &str = "https://api.cloudflare.com/client/v4";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Cloudflare allows 1,200 requests per 5 minutes per user; stay well under.
pub const DEFAULT_REQUESTS_PER_5MIN: u32 = 900;
/// Requests that may go out back to back before the steady rate applies.
pub const MAX_BURST: u32 = 50;
/// Background calls (periodic polls) may use at most this share of the budget's rate
/// (1/`BACKGROUND_SHARE`) and at most [`MAX_BACKGROUND_BURST`] back to back, so foreground
/// calls (live input setup, creating and deleting outputs) always keep headroom.
pub const BACKGROUND_SHARE: u32 = 2;
pub const MAX_BACKGROUND_BURST: u32 = 10;
const BUDGET_WINDOW: Duration = Duration::from_secs(300);

const T_VERIFY: &str = "/user/tokens/verify";
const T_ACCOUNTS: &str = "/accounts";
const T_INPUTS: &str = "/accounts/{account_id}/stream/live_inputs";
const T_INPUT: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}";
const T_ROTATE: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}/rotate_keys";
const T_OUTPUTS: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}/outputs";
const T_OUTPUT: &str = "/accounts/{account_id}/stream/live_inputs/{input_id}/outputs/{output_id}";

/// Where and how to call Cloudflare.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// e.g. `https://api.cloudflare.com/client/v4` (a trailing slash is fine).
    pub api_base: String,
    pub account_id: String,
    pub token: Secret,
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// Request budget per 5 minutes, spread evenly, with a burst of up to [`MAX_BURST`].
    /// Foreground calls wait for the budget before sending; that wait is not part of `timeout`.
    /// Background calls ([`CloudflareClient::poll_live_input`]) never wait: they pass a
    /// smaller limiter of their own and the budget at once, or are skipped.
    pub requests_per_5min: u32,
}

impl ClientConfig {
    /// The given account and token with the default base, timeout and budget.
    pub fn new(account_id: impl Into<String>, token: Secret) -> Self {
        ClientConfig {
            api_base: DEFAULT_API_BASE.into(),
            account_id: account_id.into(),
            token,
            timeout: DEFAULT_TIMEOUT,
            requests_per_5min: DEFAULT_REQUESTS_PER_5MIN,
        }
    }
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    account_id: String,
    auth: HeaderValue,
    token: Secret,
    budget: DefaultDirectRateLimiter,
    /// Background calls pass this first (without waiting), then the budget (without waiting).
    background: DefaultDirectRateLimiter,
}

/// Does a call wait for the budget, or give way?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Priority {
    /// Waits for the budget.
    Foreground,
    /// Never waits: skipped when its own limiter or the budget is exhausted.
    Background,
}

/// The client; cheap to clone (clones share the connection pool and the request budget).
#[derive(Clone)]
pub struct CloudflareClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CloudflareClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudflareClient")
            .field("base", &self.inner.base.as_str())
            .field("account_id", &self.inner.account_id)
            .finish_non_exhaustive()
    }
}

/// What came back, before the envelope is looked at.
struct Raw {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> CloudflareError {
    CloudflareError::InvalidConfig(msg.into())
}

impl CloudflareClient {
    pub fn new(config: ClientConfig) -> Result<Self, CloudflareError> {
        let base = Url::parse(config.api_base.trim())
            .map_err(|e| invalid(format!("api_base {:?}: {e}", config.api_base)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid(format!("api_base {:?} must be an http(s) URL", config.api_base)));
        }
        let account_id = config.account_id.trim().to_string();
        if account_id.is_empty()
            || !account_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid("account_id must be non-empty letters and digits"));
        }
        if config.token.is_blank() {
            return Err(invalid("the API token is empty"));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose().trim()))
            .map_err(|_| invalid("the API token contains characters not allowed in a header"))?;
        auth.set_sensitive(true);
        if config.timeout.is_zero() {
            return Err(invalid("timeout must be above zero"));
        }
        let per_window = NonZeroU32::new(config.requests_per_5min)
            .ok_or_else(|| invalid("requests_per_5min must be above zero"))?;
        let burst = NonZeroU32::new(per_window.get().min(MAX_BURST)).unwrap_or(per_window);
        let quota = Quota::with_period(BUDGET_WINDOW / per_window.get())
            .ok_or_else(|| invalid("requests_per_5min is too large"))?
            .allow_burst(burst);
        let bg_per_window = (per_window.get() / BACKGROUND_SHARE).max(1);
        let bg_burst = NonZeroU32::new(bg_per_window.min(MAX_BACKGROUND_BURST)).unwrap_or(NonZeroU32::MIN);
        let bg_quota = Quota::with_period(BUDGET_WINDOW / bg_per_window)
            .ok_or_else(|| invalid("requests_per_5min is too large"))?
            .allow_burst(bg_burst);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("streampai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(CloudflareClient {
            inner: Arc::new(Inner {
                http,
                base,
                account_id,
                auth,
                token: config.token,
                budget: RateLimiter::direct(quota),
                background: RateLimiter::direct(bg_quota),
            }),
        })
    }

    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// `GET /user/tokens/verify`.
    pub async fn verify_token(&self) -> Result<TokenVerification, CloudflareError> {
        let raw = self.send(Method::GET, T_VERIFY, &["user", "tokens", "verify"], None).await?;
        self.result(raw)
    }

    pub async fn list_live_inputs(&self) -> Result<Vec<LiveInput>, CloudflareError> {
        let raw = self.send(Method::GET, T_INPUTS, &self.path(&[]), None).await?;
        let result: Value = self.result(raw)?;
        let items = models::live_input_items(result)
            .ok_or_else(|| CloudflareError::Decode("unexpected live input list shape".into()))?;
        let total = items.len();
        let inputs: Vec<LiveInput> =
            items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect();
        if inputs.len() < total {
            tracing::warn!(skipped = total - inputs.len(), "ignored live inputs without a uid");
        }
        Ok(inputs)
    }

    pub async fn create_live_input(&self, input: &CreateLiveInput) -> Result<LiveInput, CloudflareError> {
        let body = encode(input)?;
        let raw = self.send(Method::POST, T_INPUTS, &self.path(&[]), Some(body)).await?;
        self.result(raw)
    }

    pub async fn get_live_input(&self, uid: &str) -> Result<LiveInput, CloudflareError> {
        let raw = self.send(Method::GET, T_INPUT, &self.path(&[id(uid)?]), None).await?;
        self.result(raw)
    }

    /// `get_live_input` for periodic polling, at background priority: `Ok(None)` (nothing sent)
    /// when the background share or the budget is exhausted right now. Never waits for the
    /// budget, so polls can never starve foreground calls such as output deletes.
    pub async fn poll_live_input(&self, uid: &str) -> Result<Option<LiveInput>, CloudflareError> {
        let path = self.path(&[id(uid)?]);
        match self.send_with(Priority::Background, Method::GET, T_INPUT, &path, None).await? {
            Some(raw) => self.result(raw).map(Some),
            None => Ok(None),
        }
    }

    pub async fn update_live_input(
        &self,
        uid: &str,
        changes: &UpdateLiveInput,
    ) -> Result<LiveInput, CloudflareError> {
        let body = encode(changes)?;
        let path = self.path(&[id(uid)?]);
        let raw = self.send(Method::PUT, T_INPUT, &path, Some(body)).await?;
        self.result(raw)
    }

    pub async fn delete_live_input(&self, uid: &str) -> Result<(), CloudflareError> {
        let path = self.path(&[id(uid)?]);
        let raw = self.send(Method::DELETE, T_INPUT, &path, None).await?;
        self.empty(raw)
    }

    /// `POST .../rotate_keys`: new RTMPS key and SRT passphrase (documented in prose only).
    pub async fn rotate_keys(&self, uid: &str) -> Result<LiveInput, CloudflareError> {
        let path = self.path(&[id(uid)?, "rotate_keys"]);
        let raw = self.send(Method::POST, T_ROTATE, &path, None).await?;
        self.result(raw)
    }

    pub async fn list_outputs(&self, input_uid: &str) -> Result<Vec<LiveOutput>, CloudflareError> {
        let path = self.path(&[id(input_uid)?, "outputs"]);
        let raw = self.send(Method::GET, T_OUTPUTS, &path, None).await?;
        self.result(raw)
    }

    pub async fn create_output(
        &self,
        input_uid: &str,
        output: &CreateOutput,
    ) -> Result<LiveOutput, CloudflareError> {
        let body = encode(output)?;
        let path = self.path(&[id(input_uid)?, "outputs"]);
        let raw = self.send(Method::POST, T_OUTPUTS, &path, Some(body)).await?;
        self.result(raw)
    }

    /// Turns an output on or off without deleting it.
    pub async fn update_output(
        &self,
        input_uid: &str,
        output_uid: &str,
        enabled: bool,
    ) -> Result<LiveOutput, CloudflareError> {
        let body = encode(&serde_json::json!({ "enabled": enabled }))?;
        let path = self.path(&[id(input_uid)?, "outputs", id(output_uid)?]);
        let raw = self.send(Method::PUT, T_OUTPUT, &path, Some(body)).await?;
        self.result(raw)
    }

    pub async fn delete_output(&self, input_uid: &str, output_uid: &str) -> Result<(), CloudflareError> {
        let path = self.path(&[id(input_uid)?, "outputs", id(output_uid)?]);
        let raw = self.send(Method::DELETE, T_OUTPUT, &path, None).await?;
        self.empty(raw)
    }

    /// Settings' "Test connection": `GET /user/tokens/verify` tells a bad token; then listing
    /// live inputs tells the rest. Cloudflare answers 403 (code 10000) both for another
    /// account and for a token without Stream permission, so a 403 is told apart by whether
    /// `GET /accounts` (the accounts the token can see) lists the configured account.
    pub async fn test_connection(&self) -> Result<(), ConnectionProblem> {
        let verification = self.verify_token().await.map_err(|e| match e {
            CloudflareError::NotFound => ConnectionProblem::Other(
                "no Cloudflare API at the configured base URL (404 on /user/tokens/verify)".into(),
            ),
            other => other.into(),
        })?;
        if !verification.is_active() {
            return Err(ConnectionProblem::BadToken);
        }
        let raw = self.send(Method::GET, T_INPUTS, &self.path(&[]), None).await?;
        match raw.status.as_u16() {
            200..=299 => self.result::<Value>(raw).map(|_| ()).map_err(ConnectionProblem::from),
            401 => Err(ConnectionProblem::BadToken),
            403 => Err(self.why_forbidden().await),
            // "Could not route to /accounts/…" (codes 7000/7003): an account id Cloudflare
            // cannot resolve.
            400 | 404 => Err(ConnectionProblem::WrongAccount),
            _ => Err(error::for_status(raw.status, raw.retry_after, &raw.body).into()),
        }
    }

    async fn why_forbidden(&self) -> ConnectionProblem {
        let accounts = self
            .send(Method::GET, T_ACCOUNTS, &["accounts"], None)
            .await
            .and_then(|raw| self.result::<Vec<Value>>(raw));
        match accounts {
            Ok(list) => {
                let ids: Vec<&str> =
                    list.iter().filter_map(|a| a.get("id").and_then(Value::as_str)).collect();
                if !ids.is_empty() && !ids.contains(&self.inner.account_id.as_str()) {
                    ConnectionProblem::WrongAccount
                } else {
                    ConnectionProblem::NoStreamPermission
                }
            }
            // The token may not read accounts at all; it is valid, and Stream refused it.
            Err(_) => ConnectionProblem::NoStreamPermission,
        }
    }

    /// `accounts/{account_id}/stream/live_inputs/...` as path segments.
    fn path<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut segments = vec!["accounts", self.inner.account_id.as_str(), "stream", "live_inputs"];
        segments.extend_from_slice(rest);
        segments
    }

    fn url(&self, segments: &[&str]) -> Result<Url, CloudflareError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|_| invalid("api_base cannot take a path"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Waits for the budget, sends, reads the whole body. Logs method, template, status and
    /// time; never the token, a body or a key.
    async fn send(
        &self,
        method: Method,
        template: &'static str,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<Raw, CloudflareError> {
        let raw = self.send_with(Priority::Foreground, method, template, segments, body).await?;
        raw.ok_or_else(|| CloudflareError::InvalidRequest("a foreground call was skipped".into()))
    }

    /// Like `send`; at background priority, `Ok(None)` when it had to give way.
    async fn send_with(
        &self,
        priority: Priority,
        method: Method,
        template: &'static str,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<Option<Raw>, CloudflareError> {
        let url = self.url(segments)?;
        match priority {
            Priority::Foreground => {
                let queued = Instant::now();
                self.inner.budget.until_ready().await;
                if queued.elapsed() > Duration::from_secs(1) {
                    tracing::debug!(
                        waited_ms = queued.elapsed().as_millis() as u64,
                        path = template,
                        "request budget wait"
                    );
                }
            }
            Priority::Background => {
                if self.inner.background.check().is_err() || self.inner.budget.check().is_err() {
                    tracing::debug!(path = template, "request budget: background call skipped");
                    return Ok(None);
                }
            }
        }
        let started = Instant::now();
        let mut req =
            self.inner.http.request(method.clone(), url).header(AUTHORIZATION, self.inner.auth.clone());
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let outcome = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = error::retry_after(resp.headers());
                resp.bytes().await.map(|b| Raw { status, retry_after, body: b.to_vec() })
            }
            Err(e) => Err(e),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(raw) => {
                tracing::debug!(
                    %method,
                    path = template,
                    status = raw.status.as_u16(),
                    elapsed_ms,
                    "cloudflare request"
                );
                Ok(Some(raw))
            }
            Err(e) => {
                let err = self.transport_error(&e);
                tracing::debug!(
                    %method,
                    path = template,
                    elapsed_ms,
                    cause = %err,
                    "cloudflare request failed"
                );
                Err(err)
            }
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> CloudflareError {
        if e.is_timeout() {
            return CloudflareError::Timeout;
        }
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        CloudflareError::Unreachable(self.scrub(text))
    }

    /// Removes the token from text that came from elsewhere (belt and braces).
    fn scrub(&self, text: String) -> String {
        let token = self.inner.token.expose().trim();
        if token.is_empty() {
            text
        } else {
            text.replace(token, "[redacted]")
        }
    }

    fn envelope(&self, raw: Raw) -> Result<Value, CloudflareError> {
        if !raw.status.is_success() {
            return Err(self.scrubbed(error::for_status(raw.status, raw.retry_after, &raw.body)));
        }
        let v: Value = serde_json::from_slice(&raw.body).map_err(|e| {
            CloudflareError::Decode(format!("the response is not JSON ({})", e.classify_name()))
        })?;
        if v.get("success").and_then(Value::as_bool) == Some(false) {
            let errors = error::messages(&v);
            return Err(self.scrubbed(CloudflareError::Api { status: raw.status.as_u16(), errors }));
        }
        Ok(v)
    }

    /// The `result` of a successful envelope, as `T`.
    fn result<T: DeserializeOwned>(&self, raw: Raw) -> Result<T, CloudflareError> {
        let mut envelope = self.envelope(raw)?;
        let result = envelope.get_mut("result").map(Value::take).unwrap_or(Value::Null);
        serde_json::from_value(result).map_err(|e| {
            CloudflareError::Decode(format!("unexpected result: {}", error::without_values(&e.to_string())))
        })
    }

    /// For deletes: an empty 2xx body or a successful envelope.
    fn empty(&self, raw: Raw) -> Result<(), CloudflareError> {
        if raw.status.is_success() && raw.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.envelope(raw).map(|_| ())
    }

    fn scrubbed(&self, e: CloudflareError) -> CloudflareError {
        match e {
            CloudflareError::Api { status, errors } => CloudflareError::Api {
                status,
                errors: errors
                    .into_iter()
                    .map(|m| ApiMessage { code: m.code, message: self.scrub(m.message) })
                    .collect(),
            },
            other => other,
        }
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "data error",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

fn encode<T: Serialize>(body: &T) -> Result<Vec<u8>, CloudflareError> {
    serde_json::to_vec(body)
        .map_err(|e| CloudflareError::InvalidRequest(format!("cannot encode the body: {e}")))
}

/// An id for a path segment: non-empty (the segment itself is percent-encoded).
fn id(value: &str) -> Result<&str, CloudflareError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CloudflareError::InvalidRequest("empty id".into()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str) -> ClientConfig {
        ClientConfig { api_base: base.into(), ..ClientConfig::new("acc", Secret::new("tok-123")) }
    }

    #[test]
    fn config_is_validated_without_echoing_the_token() {
        assert!(CloudflareClient::new(config("https://api.cloudflare.com/client/v4/")).is_ok());
        for bad in ["", "ftp://x/client/v4", "not a url", "mailto:x@y"] {
            assert!(
                matches!(CloudflareClient::new(config(bad)), Err(CloudflareError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
        let bad_token = ClientConfig { token: Secret::new("tok\nsecret"), ..config(DEFAULT_API_BASE) };
        let err = CloudflareClient::new(bad_token).expect_err("newline in token");
        assert!(!err.to_string().contains("secret"));
        let blank = ClientConfig { token: Secret::new("  "), ..config(DEFAULT_API_BASE) };
        assert!(CloudflareClient::new(blank).is_err());
        let zero = ClientConfig { requests_per_5min: 0, ..config(DEFAULT_API_BASE) };
        assert!(CloudflareClient::new(zero).is_err());
        let bad_account = ClientConfig { account_id: "a/../b".into(), ..config(DEFAULT_API_BASE) };
        assert!(CloudflareClient::new(bad_account).is_err());
    }

    #[test]
    fn urls_tolerate_a_trailing_slash_and_encode_ids() {
        for base in ["http://h/client/v4", "http://h/client/v4/"] {
            let client = CloudflareClient::new(config(base)).expect("valid");
            let url = client.url(&client.path(&["a/b?c", "outputs"])).expect("url");
            assert_eq!(url.as_str(), "http://h/client/v4/accounts/acc/stream/live_inputs/a%2Fb%3Fc/outputs");
        }
        let client = CloudflareClient::new(config("http://h/client/v4")).expect("valid");
        assert!(!format!("{client:?}").contains("tok-123"));
        assert_eq!(id("  "), Err(CloudflareError::InvalidRequest("empty id".into())));
    }
}

#[cfg(test)]
mod client_tests;
