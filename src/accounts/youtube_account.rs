//! `YouTubeAccount`: the YouTube sign-in as an actor, a child of the engine's root supervisor
//! beside `TwitchAccount` (the account is the engine's, whether or not the user's tree runs).
//!
//! - Sign-in is OAuth 2.0 for installed apps: the engine opens a loopback redirect listener on
//!   127.0.0.1 (a random port; `youtube_account/loopback.rs`), makes a PKCE S256 pair and a
//!   `state`, and answers the consent page's address for the system browser. Google redirects
//!   the browser to the listener with the code; the actor exchanges it (with the verifier and
//!   the client secret) and reads the channel's title. One sign-in is pending at a time; it
//!   ends after [`SIGN_IN_WINDOW`] if the page is never completed. The pending sign-in is kept
//!   in a stash, so a restarted actor still completes it.
//! - Tokens live only in the secret store, as one entry (`youtube-tokens`) written at once.
//!   Google does not rotate refresh tokens; the access token is refreshed when near its end or
//!   when YouTube refuses it (401).
//! - A refused refresh (`invalid_grant`: revoked in the Google account, expired) means YouTube
//!   no longer accepts the sign-in: the tokens are deleted, the state is `signed_out` with the
//!   reason, and nothing more is sent until the user signs in again (no retry storm). Network
//!   trouble retries with backoff (30 s doubling to an hour).
//! - The stored sign-in is checked once at start (`channels.list`, 1 quota unit) — not hourly:
//!   Google does not ask for it and every call costs quota.
//! - Sign-out revokes the refresh token (ending the grant; best effort) and deletes the sign-in.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::FutureExt;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::account_actor::{self, AccountActor, HandleCore, PartsCore, RETRY_INITIAL};
use super::tokens::TwitchTokens as StoredTokens;
use super::youtube_api::{self, Broadcast, BroadcastUpdateError, TokenError, YouTubeApi, YouTubeApiError};
use super::youtube_config::YouTubeConfig;
use super::{AccountError, AccountErrorKind, AccountPlatform, AccountsCell, BrowserSignIn};
use crate::actor::{self, ChildResult};
use crate::error::EngineError;
use crate::secrets::{Secret, SecretName, SharedSecrets};
use crate::supervisor::{ChildSpec, Restart};
use crate::telemetry::esc;

mod loopback;

/// How long a sign-in waits for the browser's redirect.
pub(crate) const SIGN_IN_WINDOW: Duration = Duration::from_secs(300);
const RETRY_MAX: Duration = Duration::from_secs(3600);
/// A token this close to its end is refreshed before use.
const REFRESH_MARGIN_SECS: i64 = 120;
const CALL_TIMEOUT: Duration = Duration::from_secs(25);
const ENTRY: SecretName = SecretName::YoutubeTokens;

/// The `[youtube]` config in force (read at each use: settings change under the actor).
pub(crate) type ConfigSource = Arc<dyn Fn() -> YouTubeConfig + Send + Sync>;

/// A signed-in, checked account, as `YouTubeEvents` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct YouTubeSession {
    pub channel_id: String,
    pub title: String,
    /// Grows with each completed sign-in.
    pub generation: u64,
}

/// A usable access token.
#[derive(Clone, Debug)]
pub(crate) struct YouTubeAccess {
    pub token: Secret,
    pub api: YouTubeApi,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AccessError {
    #[error("not signed in to YouTube")]
    SignedOut,
    #[error("{0}")]
    Unavailable(String),
}

/// What the browser brought back to the loopback listener (its `state` already checked).
#[derive(Debug)]
pub(crate) enum Redirect {
    Code(Secret),
    /// `error=...` (e.g. `access_denied`: the user cancelled on Google's page).
    Error(String),
}

pub(crate) enum Msg {
    SignIn(oneshot::Sender<Result<BrowserSignIn, EngineError>>),
    SignOut(oneshot::Sender<Result<(), EngineError>>),
    Access {
        rejected: Option<Secret>,
        reply: oneshot::Sender<Result<YouTubeAccess, AccessError>>,
    },
    /// From the loopback listener of sign-in `flow`: the answer is the words for the browser
    /// tab (`Ok(channel title)` or `Err(why)`).
    Redirect {
        flow: u64,
        redirect: Redirect,
        reply: oneshot::Sender<Result<String, String>>,
    },
    /// `[youtube]` changed: a problem that came from the old config is forgotten and the
    /// status shown again.
    ConfigChanged(oneshot::Sender<()>),
    #[cfg(test)]
    Panic,
}

/// A sign-in waiting for the browser.
#[derive(Clone)]
struct PendingFlow {
    id: u64,
    authorize_url: String,
    verifier: Secret,
    redirect_uri: String,
    expires_at: Instant,
    config: YouTubeConfig,
    /// Stops the loopback listener.
    stop: CancellationToken,
}

/// What outlives the actor's restarts.
#[derive(Default)]
pub(crate) struct Stash {
    pending: Option<PendingFlow>,
    generation: u64,
    flows: u64,
}

/// The engine's handle on its YouTube account. Cheap to clone.
#[derive(Clone)]
pub(crate) struct YouTubeAccountHandle {
    core: HandleCore<Msg, YouTubeSession, YouTubeApi>,
    pub(crate) status: AccountsCell,
    /// The live broadcast `YouTubeEvents` found (`None`: none is live, as far as it knows).
    live: Arc<watch::Sender<Option<Broadcast>>>,
}

pub(crate) type AccountParts = PartsCore<Msg, YouTubeSession, Stash>;

impl YouTubeAccountHandle {
    pub(crate) fn channel(status: AccountsCell) -> (Self, AccountParts) {
        let (core, parts) = account_actor::channel();
        let live = Arc::new(watch::channel(None).0);
        (YouTubeAccountHandle { core, status, live }, parts)
    }

    /// The client for `config`: the same one (request budget, quota count) while it stays.
    pub(crate) fn api(&self, config: &YouTubeConfig) -> Result<YouTubeApi, String> {
        self.core.api(config, YouTubeApi::config, YouTubeApi::new)
    }

    pub(crate) fn session(&self) -> watch::Receiver<Option<YouTubeSession>> {
        self.core.session()
    }

    pub(crate) fn update_status(&self, f: impl FnOnce(&mut super::AccountStatus)) {
        self.status.update(AccountPlatform::Youtube, f)
    }

    pub(crate) async fn sign_in(&self) -> Result<BrowserSignIn, EngineError> {
        actor::call(&self.core.tx, Msg::SignIn, CALL_TIMEOUT).await.map_err(unavailable)?
    }

    pub(crate) async fn sign_out(&self) -> Result<(), EngineError> {
        actor::call(&self.core.tx, Msg::SignOut, CALL_TIMEOUT).await.map_err(unavailable)?
    }

    pub(crate) async fn access(&self, rejected: Option<Secret>) -> Result<YouTubeAccess, AccessError> {
        actor::call(&self.core.tx, |reply| Msg::Access { rejected, reply }, CALL_TIMEOUT)
            .await
            .map_err(|e| AccessError::Unavailable(format!("the YouTube account {e}")))?
    }

    /// Set the live broadcast's title (and description, if given) with `liveBroadcasts.update`
    /// (a refused token is refreshed once). For the "one title everywhere" push.
    pub(crate) async fn set_broadcast_info(
        &self,
        title: &str,
        description: Option<&str>,
    ) -> Result<Broadcast, BroadcastUpdateError> {
        self.broadcast_call(
            |api, token| async move { api.set_broadcast_info(&token, title, description).await },
        )
        .await
    }

    /// Set the title (and description, if given) of `broadcast`, as a list just gave it: the
    /// update call alone (a refused token is refreshed once).
    pub(crate) async fn update_broadcast(
        &self,
        broadcast: &Broadcast,
        title: &str,
        description: Option<&str>,
    ) -> Result<Broadcast, BroadcastUpdateError> {
        self.broadcast_call(|api, token| async move {
            api.update_broadcast(&token, broadcast, title, description).await
        })
        .await
    }

    /// `call` with a usable token; when YouTube refuses it (401), once more with a refreshed one.
    async fn broadcast_call<F, Fut>(&self, call: F) -> Result<Broadcast, BroadcastUpdateError>
    where
        F: Fn(YouTubeApi, Secret) -> Fut,
        Fut: std::future::Future<Output = Result<Broadcast, BroadcastUpdateError>>,
    {
        let denied = |e| match e {
            AccessError::SignedOut => BroadcastUpdateError::SignedOut,
            AccessError::Unavailable(w) => BroadcastUpdateError::Api(YouTubeApiError::Unreachable(w)),
        };
        let access = self.access(None).await.map_err(denied)?;
        match call(access.api, access.token.clone()).await {
            Err(BroadcastUpdateError::Api(YouTubeApiError::Unauthorized)) => {
                let access = self.access(Some(access.token)).await.map_err(denied)?;
                call(access.api, access.token).await
            }
            other => other,
        }
    }

    /// `YouTubeEvents` found the live broadcast, or (`None`) found none live or saw its chat end.
    pub(crate) fn set_live_broadcast(&self, broadcast: Option<Broadcast>) {
        self.live.send_if_modified(|b| {
            let changed = *b != broadcast;
            *b = broadcast;
            changed
        });
    }

    /// The live broadcast `YouTubeEvents` found, and its changes (no request of its own).
    pub(crate) fn live_broadcast(&self) -> watch::Receiver<Option<Broadcast>> {
        self.live.subscribe()
    }

    /// `[youtube]` changed: the status is shown again from the new config before this returns
    /// (or within [`actor::CALL_TIMEOUT`], if the actor is busy with a request).
    pub(crate) async fn config_changed(&self) {
        let _ = actor::call(&self.core.tx, Msg::ConfigChanged, actor::CALL_TIMEOUT).await;
    }

    #[cfg(test)]
    pub(crate) async fn inject_panic(&self) {
        let _ = self.core.tx.send(Msg::Panic).await;
    }
}

fn unavailable(e: crate::actor::ActorError) -> EngineError {
    EngineError::Unavailable { message: format!("the YouTube account did not answer: {e}") }
}

/// The root supervisor's `YouTubeAccount` child.
pub(crate) fn account_spec(
    handle: YouTubeAccountHandle,
    parts: AccountParts,
    secrets: SharedSecrets,
    config: ConfigSource,
) -> ChildSpec {
    ChildSpec::new("YouTubeAccount", Restart::Permanent, move |ctx| {
        run(handle.clone(), parts.clone(), secrets.clone(), config.clone(), ctx.cancel).boxed()
    })
    .shutdown_timeout(Duration::from_secs(2))
}

struct Actor {
    handle: YouTubeAccountHandle,
    parts: AccountParts,
    secrets: SharedSecrets,
    config: ConfigSource,
    tokens: Option<StoredTokens>,
    verified: bool,
    last_error: Option<AccountError>,
    store_error: Option<AccountError>,
    next_check: Option<Instant>,
    retry: Duration,
}

async fn run(
    handle: YouTubeAccountHandle,
    parts: AccountParts,
    secrets: SharedSecrets,
    config: ConfigSource,
    cancel: CancellationToken,
) -> ChildResult {
    let mut rx = parts.mailbox.lock().await;
    let mut actor = Actor {
        handle,
        parts: parts.clone(),
        secrets,
        config,
        tokens: None,
        verified: false,
        last_error: None,
        store_error: None,
        next_check: None,
        retry: RETRY_INITIAL,
    };
    actor.load();
    account_actor::run_loop(&mut actor, &mut rx, cancel).await
}

impl AccountActor for Actor {
    type Msg = Msg;

    fn next_wake(&self) -> Option<Instant> {
        let expiry = self.pending().map(|p| p.expires_at);
        match (expiry, self.next_check) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn publish(&self) {
        let pending = self.pending();
        let configured = (self.config)().configured();
        let login = self.tokens.as_ref().map(|t| t.login.clone()).filter(|l| !l.is_empty());
        let (state, error) = account_actor::shown_state(
            pending.is_some(),
            self.tokens.is_some(),
            &self.store_error,
            self.verified,
            &self.last_error,
            configured,
            "YouTube sign-in needs a Google OAuth client (Desktop app): set [youtube] client_id and client_secret",
        );
        self.handle.update_status(|s| {
            s.state = state;
            s.login = login;
            s.error = error;
            s.user_code = None;
            s.verification_uri = None;
        });
        let generation = self.stash().generation;
        let session = match &self.tokens {
            Some(t) if self.verified && !t.user_id.is_empty() => {
                Some(YouTubeSession { channel_id: t.user_id.clone(), title: t.login.clone(), generation })
            }
            _ => None,
        };
        self.parts.publish_session(session);
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::SignIn(reply) => {
                let res = self.sign_in().await;
                self.publish();
                let _ = reply.send(res);
            }
            Msg::SignOut(reply) => {
                let res = self.sign_out().await;
                self.publish();
                let _ = reply.send(res);
            }
            Msg::Access { rejected, reply } => {
                let res = self.access(rejected).await;
                self.publish();
                let _ = reply.send(res);
            }
            Msg::Redirect { flow, redirect, reply } => {
                let res = self.redirect(flow, redirect).await;
                self.publish();
                let _ = reply.send(res);
            }
            Msg::ConfigChanged(reply) => {
                let unchecked = self.tokens.is_some() && !self.verified;
                account_actor::config_changed(
                    &mut self.last_error,
                    unchecked,
                    &mut self.retry,
                    &mut self.next_check,
                );
                self.publish();
                let _ = reply.send(());
            }
            #[cfg(test)]
            Msg::Panic => panic!("injected panic in the YouTube account"),
        }
    }

    async fn tick(&mut self) {
        if self.pending().is_some_and(|p| p.expires_at <= Instant::now()) {
            info!("YouTube: the sign-in page was not completed in time");
            self.end_pending();
            self.last_error = Some(AccountError::new(
                AccountErrorKind::Expired,
                format!(
                    "the sign-in was not completed on Google's page within {} minutes: sign in again",
                    SIGN_IN_WINDOW.as_secs() / 60
                ),
            ));
        }
        if self.next_check.is_some_and(|t| t <= Instant::now()) {
            self.check().await;
        }
    }
}

impl Actor {
    fn stash(&self) -> std::sync::MutexGuard<'_, Stash> {
        self.parts.stash()
    }

    fn pending(&self) -> Option<PendingFlow> {
        self.stash().pending.clone()
    }

    /// End the pending sign-in (its listener closes).
    fn end_pending(&self) {
        if let Some(p) = self.stash().pending.take() {
            p.stop.cancel();
        }
    }

    fn load(&mut self) {
        match StoredTokens::load_entry(self.secrets.as_ref(), &ENTRY) {
            Ok(Some(t)) => {
                info!(channel = %esc(&t.login), "YouTube: stored sign-in found; checking it");
                self.tokens = Some(t);
                self.next_check = Some(Instant::now());
            }
            Ok(None) => {}
            Err(e) => {
                warn!(cause = %e, "YouTube: cannot read the stored sign-in");
                self.last_error = Some(AccountError::new(AccountErrorKind::Secrets, e.to_string()));
            }
        }
    }

    fn api(&self, config: &YouTubeConfig) -> Result<YouTubeApi, AccountError> {
        self.handle.api(config).map_err(|e| AccountError::new(AccountErrorKind::NotConfigured, e))
    }

    fn persist(&mut self) {
        let Some(t) = &self.tokens else { return };
        match t.store_entry(self.secrets.as_ref(), &ENTRY) {
            Ok(()) => self.store_error = None,
            Err(e) => {
                warn!(cause = %e, "YouTube: the sign-in could not be saved; it lasts until Streampai quits");
                self.store_error = Some(AccountError::new(
                    AccountErrorKind::Secrets,
                    format!(
                        "signed in, but the sign-in could not be saved ({e}); it lasts until Streampai quits"
                    ),
                ));
            }
        }
    }

    fn note_failure(&mut self, e: &YouTubeApiError) {
        if !self.verified {
            self.last_error = Some(AccountError::from_youtube(e));
        }
        warn!(cause = %e, retry_s = self.retry.as_secs(), "YouTube: cannot check the sign-in now");
        self.next_check = Some(Instant::now() + self.retry);
        self.retry = (self.retry * 2).min(RETRY_MAX);
    }

    /// Google no longer accepts the sign-in: forget it, say so, send nothing more.
    fn revoked(&mut self, why: &str) {
        warn!(cause = %esc(why), "YouTube no longer accepts the sign-in; signed out");
        self.tokens = None;
        self.verified = false;
        self.store_error = None;
        self.next_check = None;
        if let Err(e) = self.secrets.delete(&ENTRY) {
            warn!(cause = %e, "YouTube: cannot delete the refused sign-in");
        }
        self.last_error = Some(AccountError::new(
            AccountErrorKind::Revoked,
            format!(
                "YouTube no longer accepts this sign-in ({}; access removed in the Google account, or expired): sign in again",
                why.chars().take(120).collect::<String>()
            ),
        ));
    }

    /// The stored sign-in still works? (`channels.list`, refreshing first when needed.)
    async fn check(&mut self) {
        self.next_check = None;
        let access = match self.access(None).await {
            Ok(a) => a,
            Err(_) => return,
        };
        let mut res = access.api.channel(&access.token).await;
        if res == Err(YouTubeApiError::Unauthorized) {
            let Ok(again) = self.access(Some(access.token.clone())).await else { return };
            res = again.api.channel(&again.token).await;
        }
        match res {
            Ok(ch) => {
                self.verified = true;
                self.last_error = None;
                self.retry = RETRY_INITIAL;
                if let Some(t) = self.tokens.as_mut().filter(|t| t.user_id != ch.id || t.login != ch.title) {
                    t.user_id = ch.id;
                    t.login = ch.title;
                    self.persist();
                }
            }
            // The token was accepted; only the day's quota is spent.
            Err(YouTubeApiError::QuotaExceeded) => {
                self.verified = self.tokens.as_ref().is_some_and(|t| !t.user_id.is_empty());
            }
            Err(YouTubeApiError::Unauthorized) => self.revoked("the refreshed token was refused"),
            Err(e) => self.note_failure(&e),
        }
    }

    async fn refresh(&mut self, api: &YouTubeApi) -> Result<(), AccessError> {
        let Some(t) = self.tokens.clone() else { return Err(AccessError::SignedOut) };
        match api.refresh(&t.refresh).await {
            Ok(set) => {
                let mut t = t;
                t.access = set.access;
                if let Some(r) = set.refresh {
                    t.refresh = r;
                }
                t.expires_at = Utc::now() + chrono::Duration::seconds(set.expires_in as i64);
                if !set.scopes.is_empty() {
                    t.scopes = set.scopes;
                }
                self.tokens = Some(t);
                self.persist();
                self.retry = RETRY_INITIAL;
                debug!("YouTube: access token refreshed");
                Ok(())
            }
            Err(TokenError::Rejected(why)) => {
                self.revoked(&why);
                Err(AccessError::SignedOut)
            }
            Err(TokenError::Failed(e)) => {
                self.verified = false;
                self.note_failure(&e);
                Err(AccessError::Unavailable(e.to_string()))
            }
        }
    }

    async fn access(&mut self, rejected: Option<Secret>) -> Result<YouTubeAccess, AccessError> {
        let Some(t) = self.tokens.clone() else { return Err(AccessError::SignedOut) };
        let api = self.api(&(self.config)()).map_err(|e| AccessError::Unavailable(e.message))?;
        let refused_now = rejected.as_ref().is_some_and(|r| *r == t.access);
        if refused_now || !t.fresh_for(chrono::Duration::seconds(REFRESH_MARGIN_SECS)) {
            self.refresh(&api).await?;
        }
        let t = self.tokens.as_ref().ok_or(AccessError::SignedOut)?;
        Ok(YouTubeAccess { token: t.access.clone(), api })
    }

    async fn sign_in(&mut self) -> Result<BrowserSignIn, EngineError> {
        let config = (self.config)();
        if !config.configured() {
            return Err(EngineError::NotConfigured {
                message:
                    "YouTube sign-in needs a Google OAuth client of type \"Desktop app\": set [youtube] \
                          client_id and client_secret (see the README)"
                        .into(),
            });
        }
        if let Some(p) = self.pending().filter(|p| p.config == config && p.expires_at > Instant::now()) {
            return Ok(BrowserSignIn { authorize_url: p.authorize_url });
        }
        self.end_pending();
        let api = self.api(&config).map_err(|e| EngineError::NotConfigured { message: e.message })?;
        let pkce = youtube_api::pkce();
        let state = youtube_api::random_string(32);
        let flow = {
            let mut s = self.stash();
            s.flows += 1;
            s.flows
        };
        let (redirect_uri, stop) =
            loopback::start(flow, state.clone(), self.handle.core.tx.clone(), SIGN_IN_WINDOW).await.map_err(
                |e| EngineError::Unavailable {
                    message: format!("cannot open the sign-in listener on 127.0.0.1: {e}"),
                },
            )?;
        let authorize_url = api.authorize_url(&redirect_uri, &state, &pkce.challenge);
        self.stash().pending = Some(PendingFlow {
            id: flow,
            authorize_url: authorize_url.clone(),
            verifier: pkce.verifier,
            redirect_uri,
            expires_at: Instant::now() + SIGN_IN_WINDOW,
            config,
            stop,
        });
        self.last_error = None;
        info!("YouTube: sign-in started; waiting for the browser");
        Ok(BrowserSignIn { authorize_url })
    }

    async fn redirect(&mut self, flow: u64, redirect: Redirect) -> Result<String, String> {
        let Some(p) = self.pending().filter(|p| p.id == flow) else {
            return Err("this sign-in was replaced or has expired: start it again from Streampai".into());
        };
        self.end_pending();
        let code = match redirect {
            Redirect::Code(c) => c,
            Redirect::Error(e) => {
                let words = if e == "access_denied" {
                    "the sign-in was cancelled on Google's page".to_string()
                } else {
                    format!("Google ended the sign-in ({})", esc(&e))
                };
                info!(error = %esc(&e), "YouTube: sign-in not granted");
                self.last_error = Some(AccountError::new(AccountErrorKind::Denied, words.clone()));
                return Err(words);
            }
        };
        let api = match self.api(&p.config) {
            Ok(a) => a,
            Err(e) => {
                self.last_error = Some(e.clone());
                return Err(e.message);
            }
        };
        let set = match api.exchange(&code, &p.verifier, &p.redirect_uri).await {
            Ok(set) => set,
            Err(e) => {
                warn!(cause = %e, "YouTube: the sign-in code could not be exchanged");
                let err = match &e {
                    TokenError::Rejected(_) => AccountError::new(AccountErrorKind::Refused, e.to_string()),
                    TokenError::Failed(api) => AccountError::from_youtube(api),
                };
                self.last_error = Some(err);
                return Err(e.to_string());
            }
        };
        let Some(refresh) = set.refresh else {
            let words = "Google sent no refresh token: remove Streampai's access in the Google account and sign in again";
            self.last_error = Some(AccountError::new(AccountErrorKind::Protocol, words));
            return Err(words.into());
        };
        let mut tokens = StoredTokens {
            client_id: p.config.client_id().unwrap_or_default().to_string(),
            user_id: String::new(),
            login: String::new(),
            access: set.access,
            refresh,
            expires_at: Utc::now() + chrono::Duration::seconds(set.expires_in as i64),
            scopes: set.scopes,
        };
        let channel = api.channel(&tokens.access).await;
        if let Ok(ch) = &channel {
            tokens.user_id = ch.id.clone();
            tokens.login = ch.title.clone();
        }
        if let Some(old) = self.tokens.take() {
            if let Err(e) = api.revoke(&old.refresh).await {
                debug!(cause = %e, "YouTube: could not revoke the replaced sign-in");
            }
        }
        self.tokens = Some(tokens);
        self.persist();
        self.stash().generation += 1;
        self.last_error = None;
        match channel {
            Ok(ch) => {
                self.verified = true;
                self.retry = RETRY_INITIAL;
                info!(channel = %esc(&ch.title), "YouTube: signed in");
                Ok(ch.title)
            }
            Err(e) => {
                self.verified = false;
                self.note_failure(&e);
                Ok(String::new())
            }
        }
    }

    async fn sign_out(&mut self) -> Result<(), EngineError> {
        self.end_pending();
        self.verified = false;
        self.last_error = None;
        self.store_error = None;
        self.next_check = None;
        let Some(t) = self.tokens.take() else { return Ok(()) };
        match self.api(&(self.config)()) {
            Ok(api) => {
                if let Err(e) = api.revoke(&t.refresh).await {
                    warn!(cause = %e, "YouTube: could not revoke the sign-in; it is removed here anyway");
                }
            }
            Err(e) => {
                warn!(cause = %e.message, "YouTube: cannot revoke the sign-in; it is removed here anyway")
            }
        }
        self.secrets.delete(&ENTRY)?;
        info!(channel = %esc(&t.login), "YouTube: signed out");
        Ok(())
    }
}
