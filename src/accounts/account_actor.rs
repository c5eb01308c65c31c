//! What the platform account actors (`TwitchAccount`, `YouTubeAccount`) share: the handle's
//! core (mailbox sender, session receiver, the cached API client), the actor's parts (mailbox,
//! session sender, the stash that outlives restarts), the state shown from the actor's state,
//! and the run loop. Each platform's sign-in flow and token work stay in its own file.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{AccountError, AccountErrorKind, AccountState};
use crate::actor::{self, ChildResult, Mailbox};

/// The handle's side: the actor's mailbox, the signed-in session, the client cache. Cheap to
/// clone.
pub(crate) struct HandleCore<M, S, A> {
    pub(crate) tx: mpsc::Sender<M>,
    session: watch::Receiver<Option<S>>,
    api: Arc<Mutex<Option<A>>>,
}

impl<M, S, A> Clone for HandleCore<M, S, A> {
    fn clone(&self) -> Self {
        HandleCore { tx: self.tx.clone(), session: self.session.clone(), api: self.api.clone() }
    }
}

/// The actor's side: its mailbox, the session it publishes, what outlives its restarts.
pub(crate) struct PartsCore<M, S, St> {
    pub(crate) mailbox: Mailbox<M>,
    session: Arc<watch::Sender<Option<S>>>,
    stash: Arc<Mutex<St>>,
}

impl<M, S, St> Clone for PartsCore<M, S, St> {
    fn clone(&self) -> Self {
        PartsCore { mailbox: self.mailbox.clone(), session: self.session.clone(), stash: self.stash.clone() }
    }
}

/// A new account actor's two sides.
pub(crate) fn channel<M, S, St: Default, A>() -> (HandleCore<M, S, A>, PartsCore<M, S, St>) {
    let (tx, mailbox) = actor::mailbox(16);
    let (session_tx, session) = watch::channel(None);
    (
        HandleCore { tx, session, api: Arc::new(Mutex::new(None)) },
        PartsCore { mailbox, session: Arc::new(session_tx), stash: Arc::default() },
    )
}

impl<M, S, A: Clone> HandleCore<M, S, A> {
    /// The client for `config` (`config_of` tells a client's, `build` makes one): the same one
    /// (request budget, quota count) while it stays.
    pub(crate) fn api<C: PartialEq>(
        &self,
        config: &C,
        config_of: impl Fn(&A) -> &C,
        build: impl FnOnce(&C) -> Result<A, String>,
    ) -> Result<A, String> {
        let mut slot = self.api.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(api) = slot.as_ref().filter(|a| config_of(a) == config) {
            return Ok(api.clone());
        }
        let api = build(config)?;
        *slot = Some(api.clone());
        Ok(api)
    }

    /// The signed-in session, and its changes.
    pub(crate) fn session(&self) -> watch::Receiver<Option<S>> {
        self.session.clone()
    }
}

impl<M, S: PartialEq, St> PartsCore<M, S, St> {
    pub(crate) fn stash(&self) -> MutexGuard<'_, St> {
        self.stash.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publish the session; watchers wake only when it changed.
    pub(crate) fn publish_session(&self, session: Option<S>) {
        self.session.send_if_modified(|s| {
            if *s != session {
                *s = session;
                true
            } else {
                false
            }
        });
    }
}

/// The state shown for an account: pending while a sign-in waits; with tokens, an unsaved
/// sign-in or (until verified) the last problem is an error; without, `signed_out` with the
/// last problem or, when the platform is not configured, `not_configured`.
pub(crate) fn shown_state(
    pending: bool,
    signed_in: bool,
    store_error: &Option<AccountError>,
    verified: bool,
    last_error: &Option<AccountError>,
    configured: bool,
    not_configured: &str,
) -> (AccountState, Option<AccountError>) {
    match (pending, signed_in) {
        (true, _) => (AccountState::Pending, None),
        (false, true) => match (store_error, verified, last_error) {
            (Some(e), _, _) => (AccountState::Error, Some(e.clone())),
            (None, true, _) => (AccountState::SignedIn, None),
            (None, false, Some(e)) => (AccountState::Error, Some(e.clone())),
            (None, false, None) => (AccountState::SignedIn, None),
        },
        (false, false) => {
            let why = last_error.clone().or_else(|| {
                (!configured).then(|| AccountError::new(AccountErrorKind::NotConfigured, not_configured))
            });
            (AccountState::SignedOut, why)
        }
    }
}

/// The first wait before checking a sign-in again after a failure (doubling up to the
/// platform's maximum).
pub(crate) const RETRY_INITIAL: Duration = Duration::from_secs(30);

/// The account's section of the config changed: a problem that came from the old config
/// (`not_configured`) no longer holds (whether the new one is configured is read afresh when
/// the state is shown), and a sign-in not yet checked (the old addresses failed?) is checked
/// now: `next_check` due at once, the backoff from the start.
pub(crate) fn config_changed(
    last_error: &mut Option<AccountError>,
    unchecked_sign_in: bool,
    retry: &mut Duration,
    next_check: &mut Option<Instant>,
) {
    if last_error.as_ref().is_some_and(|e| e.kind == AccountErrorKind::NotConfigured) {
        *last_error = None;
    }
    if unchecked_sign_in {
        *retry = RETRY_INITIAL;
        *next_check = Some(Instant::now());
    }
}

/// An account actor as its run loop drives it.
pub(crate) trait AccountActor: Send {
    type Msg: Send + 'static;
    /// The status and the session, from the state.
    fn publish(&self);
    /// When `tick` is due next, if ever.
    fn next_wake(&self) -> Option<Instant>;
    fn handle(&mut self, msg: Self::Msg) -> impl Future<Output = ()> + Send;
    fn tick(&mut self) -> impl Future<Output = ()> + Send;
}

/// Publish, then wait for a message, the next wake or the end; until cancelled or the
/// mailbox closes.
pub(crate) async fn run_loop<A: AccountActor>(
    actor: &mut A,
    rx: &mut mpsc::Receiver<A::Msg>,
    cancel: CancellationToken,
) -> ChildResult {
    loop {
        actor.publish();
        let wake = actor.next_wake();
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            msg = rx.recv() => match msg {
                None => return Ok(()),
                Some(m) => actor.handle(m).await,
            },
            _ = async { tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)).await }, if wake.is_some() => {
                actor.tick().await;
            }
        }
    }
}
