//! `TwitchAccount`: the Twitch sign-in as an actor, a child of the engine's root supervisor (the
//! account is the engine's, whether or not the user's tree runs).
//!
//! - Sign-in: `POST /device`, then the actor polls the token endpoint itself at the interval
//!   Twitch gave, 5 s slower after each `slow_down`, until tokens, `expired_token`,
//!   `access_denied` or the code's end. The pending sign-in is kept in a stash, so a restarted
//!   actor goes on polling.
//! - Tokens live only in the secret store, as one entry written at once on every change (a
//!   refresh spends the refresh token: the new pair is stored before anything else).
//! - Validation at start and hourly; a rejected access token is refreshed; a refused refresh
//!   means Twitch no longer accepts the sign-in: the tokens are deleted and the state is
//!   `signed_out` with the reason, and nothing more is sent until the user signs in again (no
//!   retry storm). Network trouble retries with backoff (30 s doubling to an hour).
//! - Sign-out revokes the access token (best effort) and deletes the sign-in.
//!
//! Token work happens in the actor, one call at a time, so two refreshes can never spend the
//! same refresh token.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::FutureExt;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::account_actor::{self, AccountActor, HandleCore, PartsCore, RETRY_INITIAL};
use super::config::TwitchConfig;
use super::tokens::TwitchTokens;
use super::twitch_api::{TokenError, TwitchApi};
use super::{AccountError, AccountErrorKind, AccountsCell, SignInPrompt};
use crate::actor::{self, ChildResult};
use crate::error::EngineError;
use crate::secrets::{Secret, SharedSecrets};
use crate::supervisor::{ChildSpec, Restart};
use crate::telemetry::esc;

mod device_flow;

/// How often a signed-in token is validated (Twitch asks apps to validate hourly).
pub(crate) const VALIDATE_EVERY: Duration = Duration::from_secs(3600);
const RETRY_MAX: Duration = Duration::from_secs(3600);
/// A token this close to its end is refreshed before use.
const REFRESH_MARGIN_SECS: i64 = 120;
/// Calls wait for at most two Twitch requests in a row.
const CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// The `[twitch]` config in force (read at each use: settings change under the actor).
pub(crate) type ConfigSource = Arc<dyn Fn() -> TwitchConfig + Send + Sync>;

/// A signed-in, validated account, as `TwitchEvents` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TwitchSession {
    pub user_id: String,
    pub login: String,
    /// Grows with each completed sign-in: a new generation means a new connection.
    pub generation: u64,
}

/// A usable access token.
#[derive(Clone, Debug)]
pub(crate) struct TwitchAccess {
    pub token: Secret,
    pub user_id: String,
    pub api: TwitchApi,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AccessError {
    #[error("not signed in to Twitch")]
    SignedOut,
    #[error("{0}")]
    Unavailable(String),
}

pub(crate) enum Msg {
    SignIn(oneshot::Sender<Result<SignInPrompt, EngineError>>),
    SignOut(oneshot::Sender<Result<(), EngineError>>),
    /// A usable access token; with `rejected`, that token was just refused (401): refresh it
    /// unless it has been replaced already.
    Access {
        rejected: Option<Secret>,
        reply: oneshot::Sender<Result<TwitchAccess, AccessError>>,
    },
    /// Validate now (e.g. Twitch revoked a subscription for lack of authorization).
    Check,
    /// `[twitch]` changed: a problem that came from the old config is forgotten and the status
    /// shown again.
    ConfigChanged(oneshot::Sender<()>),
    #[cfg(test)]
    Panic,
}

/// A sign-in waiting for its code to be entered.
#[derive(Clone)]
struct PendingFlow {
    device_code: Secret,
    user_code: String,
    verification_uri: String,
    expires_at: Instant,
    interval: Duration,
    next_poll: Instant,
    config: TwitchConfig,
}

impl PendingFlow {
    fn prompt(&self) -> SignInPrompt {
        SignInPrompt {
            user_code: self.user_code.clone(),
            verification_uri: self.verification_uri.clone(),
            expires_in: self.expires_at.saturating_duration_since(Instant::now()).as_secs(),
        }
    }
}

/// What outlives the actor's restarts.
#[derive(Default)]
pub(crate) struct Stash {
    pending: Option<PendingFlow>,
    generation: u64,
}

/// The engine's handle on its Twitch account. Cheap to clone.
#[derive(Clone)]
pub(crate) struct TwitchAccountHandle {
    core: HandleCore<Msg, TwitchSession, TwitchApi>,
    pub(crate) status: AccountsCell,
}

/// The actor's side: its mailbox and what it shares with the handle.
pub(crate) type AccountParts = PartsCore<Msg, TwitchSession, Stash>;

impl TwitchAccountHandle {
    pub(crate) fn channel(status: AccountsCell) -> (Self, AccountParts) {
        let (core, parts) = account_actor::channel();
        (TwitchAccountHandle { core, status }, parts)
    }

    /// The client for `config`: the same one (and request budget) while the config stays.
    pub(crate) fn api(&self, config: &TwitchConfig) -> Result<TwitchApi, String> {
        self.core.api(config, TwitchApi::config, TwitchApi::new)
    }

    /// The signed-in session, and its changes.
    pub(crate) fn session(&self) -> watch::Receiver<Option<TwitchSession>> {
        self.core.session()
    }

    pub(crate) async fn sign_in(&self) -> Result<SignInPrompt, EngineError> {
        actor::call(&self.core.tx, Msg::SignIn, CALL_TIMEOUT).await.map_err(unavailable)?
    }

    pub(crate) async fn sign_out(&self) -> Result<(), EngineError> {
        actor::call(&self.core.tx, Msg::SignOut, CALL_TIMEOUT).await.map_err(unavailable)?
    }

    pub(crate) async fn access(&self, rejected: Option<Secret>) -> Result<TwitchAccess, AccessError> {
        actor::call(&self.core.tx, |reply| Msg::Access { rejected, reply }, CALL_TIMEOUT)
            .await
            .map_err(|e| AccessError::Unavailable(format!("the Twitch account {e}")))?
    }

    pub(crate) async fn check(&self) {
        let _ = actor::cast(&self.core.tx, Msg::Check, actor::CALL_TIMEOUT).await;
    }

    /// `[twitch]` changed: the status is shown again from the new config before this returns
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
    EngineError::Unavailable { message: format!("the Twitch account did not answer: {e}") }
}

/// The root supervisor's `TwitchAccount` child.
pub(crate) fn account_spec(
    handle: TwitchAccountHandle,
    parts: AccountParts,
    secrets: SharedSecrets,
    config: ConfigSource,
) -> ChildSpec {
    ChildSpec::new("TwitchAccount", Restart::Permanent, move |ctx| {
        run(handle.clone(), parts.clone(), secrets.clone(), config.clone(), ctx.cancel).boxed()
    })
    .shutdown_timeout(Duration::from_secs(2))
}

struct Actor {
    handle: TwitchAccountHandle,
    parts: AccountParts,
    secrets: SharedSecrets,
    config: ConfigSource,
    tokens: Option<TwitchTokens>,
    /// The current tokens were accepted by Twitch in this run.
    verified: bool,
    /// The last problem (shown with the state).
    last_error: Option<AccountError>,
    /// The sign-in works but could not be saved.
    store_error: Option<AccountError>,
    next_validate: Option<Instant>,
    retry: Duration,
}

async fn run(
    handle: TwitchAccountHandle,
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
        next_validate: None,
        retry: RETRY_INITIAL,
    };
    actor.load();
    account_actor::run_loop(&mut actor, &mut rx, cancel).await
}

impl AccountActor for Actor {
    type Msg = Msg;

    fn next_wake(&self) -> Option<Instant> {
        let poll = self.pending().map(|p| p.next_poll.min(p.expires_at));
        match (poll, self.next_validate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The status and the session, from the state.
    fn publish(&self) {
        let pending = self.pending();
        let configured = (self.config)().client_id().is_some();
        let login = self.tokens.as_ref().map(|t| t.login.clone()).filter(|l| !l.is_empty());
        let (state, error) = account_actor::shown_state(
            pending.is_some(),
            self.tokens.is_some(),
            &self.store_error,
            self.verified,
            &self.last_error,
            configured,
            "Twitch sign-in needs the client id of a Twitch app: set [twitch] client_id",
        );
        self.handle.status.update_twitch(|s| {
            s.state = state;
            s.login = login;
            s.error = error;
            s.user_code = pending.as_ref().map(|p| p.user_code.clone());
            s.verification_uri = pending.as_ref().map(|p| p.verification_uri.clone());
        });
        let session = match &self.tokens {
            Some(t) if self.verified && !t.user_id.is_empty() => Some(TwitchSession {
                user_id: t.user_id.clone(),
                login: t.login.clone(),
                generation: self.generation(),
            }),
            _ => None,
        };
        self.parts.publish_session(session);
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            // The status is published before the answer, so a caller reads the new state.
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
            Msg::Check => {
                if self.tokens.is_some() {
                    self.next_validate = Some(Instant::now());
                }
            }
            Msg::ConfigChanged(reply) => {
                let unchecked = self.tokens.is_some() && !self.verified;
                account_actor::config_changed(
                    &mut self.last_error,
                    unchecked,
                    &mut self.retry,
                    &mut self.next_validate,
                );
                self.publish();
                let _ = reply.send(());
            }
            #[cfg(test)]
            Msg::Panic => panic!("injected panic in the Twitch account"),
        }
    }

    async fn tick(&mut self) {
        let now = Instant::now();
        if self.pending().is_some_and(|p| p.next_poll <= now || p.expires_at <= now) {
            self.poll().await;
        }
        if self.next_validate.is_some_and(|t| t <= Instant::now()) {
            self.validate().await;
        }
    }
}

impl Actor {
    fn pending(&self) -> Option<PendingFlow> {
        self.parts.stash().pending.clone()
    }

    fn set_pending(&self, p: Option<PendingFlow>) {
        self.parts.stash().pending = p;
    }

    fn generation(&self) -> u64 {
        self.parts.stash().generation
    }

    fn next_generation(&self) {
        self.parts.stash().generation += 1;
    }

    fn load(&mut self) {
        match TwitchTokens::load(self.secrets.as_ref()) {
            Ok(Some(t)) => {
                info!(login = %esc(&t.login), "Twitch: stored sign-in found; validating it");
                self.tokens = Some(t);
                self.next_validate = Some(Instant::now());
            }
            Ok(None) => {}
            Err(e) => {
                warn!(cause = %e, "Twitch: cannot read the stored sign-in");
                self.last_error = Some(AccountError::new(AccountErrorKind::Secrets, e.to_string()));
            }
        }
    }

    fn api(&self, config: &TwitchConfig) -> Result<TwitchApi, AccountError> {
        self.handle.api(config).map_err(|e| AccountError::new(AccountErrorKind::NotConfigured, e))
    }

    /// Write the sign-in to the secret store (the only place it lives).
    fn persist(&mut self) {
        let Some(t) = &self.tokens else { return };
        match t.store(self.secrets.as_ref()) {
            Ok(()) => self.store_error = None,
            Err(e) => {
                warn!(cause = %e, "Twitch: the sign-in could not be saved; it lasts until Streampai quits");
                self.store_error = Some(AccountError::new(
                    AccountErrorKind::Secrets,
                    format!(
                        "signed in, but the sign-in could not be saved ({e}); it lasts until Streampai quits"
                    ),
                ));
            }
        }
    }

    /// A validation or refresh that could not be made: try again later, slower each time.
    fn note_failure(&mut self, e: &TokenError) {
        if let TokenError::Failed(api) = e {
            if !self.verified {
                self.last_error = Some(AccountError::from_api(api));
            }
            warn!(cause = %api, retry_s = self.retry.as_secs(), "Twitch: cannot check the sign-in now");
        }
        self.next_validate = Some(Instant::now() + self.retry);
        self.retry = (self.retry * 2).min(RETRY_MAX);
    }

    async fn validate(&mut self) {
        self.next_validate = None;
        let Some(t) = self.tokens.clone() else { return };
        let config = (self.config)();
        let api = match self.api(&config) {
            Ok(a) => a,
            Err(e) => {
                self.verified = false;
                self.last_error = Some(e);
                self.next_validate = Some(Instant::now() + VALIDATE_EVERY);
                return;
            }
        };
        match api.validate(&t.access).await {
            Ok(v) => {
                self.verified = true;
                self.last_error = None;
                self.retry = RETRY_INITIAL;
                self.next_validate = Some(Instant::now() + VALIDATE_EVERY);
                if v.client_id != api.client_id() {
                    warn!("Twitch: this sign-in belongs to another client id than [twitch] client_id; sign in again if refreshing fails");
                }
                if let Some(t) = self.tokens.as_mut() {
                    // Twitch's word on the token's end and scopes is the one to keep.
                    if v.expires_in > 0 {
                        t.expires_at = Utc::now() + chrono::Duration::seconds(v.expires_in as i64);
                    }
                    t.scopes = v.scopes.clone();
                }
                if v.user_id != t.user_id || v.login != t.login {
                    if let Some(t) = self.tokens.as_mut() {
                        t.user_id = v.user_id;
                        t.login = v.login;
                    }
                    self.persist();
                }
            }
            Err(TokenError::Rejected(_)) => {
                let _ = self.refresh(&api).await;
            }
            Err(e) => self.note_failure(&e),
        }
    }

    /// Spend the refresh token for a new pair, stored at once.
    async fn refresh(&mut self, api: &TwitchApi) -> Result<(), AccessError> {
        let Some(t) = self.tokens.clone() else { return Err(AccessError::SignedOut) };
        match api.refresh(&t.refresh).await {
            Ok(set) => {
                let mut t = t;
                t.access = set.access;
                t.refresh = set.refresh;
                t.expires_at = Utc::now() + chrono::Duration::seconds(set.expires_in as i64);
                if !set.scopes.is_empty() {
                    t.scopes = set.scopes;
                }
                if t.user_id.is_empty() {
                    if let Ok(v) = api.validate(&t.access).await {
                        t.user_id = v.user_id;
                        t.login = v.login;
                    }
                }
                self.tokens = Some(t);
                self.persist();
                self.verified = true;
                self.last_error = None;
                self.retry = RETRY_INITIAL;
                self.next_validate = Some(Instant::now() + VALIDATE_EVERY);
                debug!("Twitch: tokens refreshed");
                Ok(())
            }
            Err(TokenError::Rejected(why)) => {
                warn!(cause = %esc(&why), "Twitch no longer accepts the sign-in; signed out");
                self.tokens = None;
                self.verified = false;
                self.store_error = None;
                self.next_validate = None;
                if let Err(e) = TwitchTokens::delete(self.secrets.as_ref()) {
                    warn!(cause = %e, "Twitch: cannot delete the refused sign-in");
                }
                self.last_error = Some(AccountError::new(
                    AccountErrorKind::Revoked,
                    format!(
                        "Twitch no longer accepts this sign-in ({}; revoked, expired or the password changed): sign in again",
                        why.chars().take(120).collect::<String>()
                    ),
                ));
                Err(AccessError::SignedOut)
            }
            Err(e) => {
                self.verified = false;
                self.note_failure(&e);
                let words = match &e {
                    TokenError::Failed(api) => api.to_string(),
                    TokenError::Rejected(m) => m.clone(),
                };
                Err(AccessError::Unavailable(words))
            }
        }
    }

    async fn access(&mut self, rejected: Option<Secret>) -> Result<TwitchAccess, AccessError> {
        let Some(t) = self.tokens.clone() else { return Err(AccessError::SignedOut) };
        let config = (self.config)();
        let api = self.api(&config).map_err(|e| AccessError::Unavailable(e.message))?;
        let refused_now = rejected.as_ref().is_some_and(|r| *r == t.access);
        if refused_now || !t.fresh_for(chrono::Duration::seconds(REFRESH_MARGIN_SECS)) {
            self.refresh(&api).await?;
        }
        let t = self.tokens.as_ref().ok_or(AccessError::SignedOut)?;
        Ok(TwitchAccess { token: t.access.clone(), user_id: t.user_id.clone(), api })
    }

    async fn sign_out(&mut self) -> Result<(), EngineError> {
        self.set_pending(None);
        self.verified = false;
        self.last_error = None;
        self.store_error = None;
        self.next_validate = None;
        let Some(t) = self.tokens.take() else { return Ok(()) };
        match self.api(&(self.config)()) {
            Ok(api) => {
                if let Err(e) = api.revoke(&t.access).await {
                    warn!(cause = %e, "Twitch: could not revoke the token; the sign-in is removed here anyway");
                }
            }
            Err(e) => {
                warn!(cause = %e.message, "Twitch: cannot revoke the token; the sign-in is removed here anyway")
            }
        }
        TwitchTokens::delete(self.secrets.as_ref())?;
        info!(login = %esc(&t.login), "Twitch: signed out");
        Ok(())
    }
}
