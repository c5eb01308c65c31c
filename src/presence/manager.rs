//! PresenceManager: starts a user's tree on their first session and stops it after a grace
//! period once the last one has left.
//!
//! Races are settled by a generation number per user: every join bumps it (cancelling a pending
//! cleanup), every scheduled cleanup carries the generation it was scheduled under, and a timer
//! whose generation is stale does nothing. When a current timer fires, presence is checked again
//! before the tree is stopped, and joins are handled in the same actor after that, so a tree is
//! never left without sessions nor kept stopped while someone is present.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use super::tracker::{Presence, PresenceDiff};
use crate::actor::{self, ActorError, ChildResult, Mailbox, CALL_TIMEOUT};
use crate::events::{Event, EventBus};
use crate::supervisor::{ChildSpec, SupervisorError, SupervisorHandle};

/// Builds the tree for a user (`None`: this engine does not serve that user).
pub type TreeFactory = Arc<dyn Fn(&str) -> Option<ChildSpec> + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceManagerError {
    #[error("this engine does not serve user {0}")]
    UnknownUser(String),
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error(transparent)]
    Actor(#[from] ActorError),
}

pub enum Msg {
    Ensure(String, oneshot::Sender<Result<(), PresenceManagerError>>),
}

#[derive(Clone)]
pub struct PresenceManagerHandle {
    tx: mpsc::Sender<Msg>,
}

impl PresenceManagerHandle {
    /// Start the user's tree if it is not running (idempotent). It stays up while the user has
    /// sessions; with none, the usual grace applies once the next session leaves.
    pub async fn ensure_tree(&self, user_id: &str) -> Result<(), PresenceManagerError> {
        let user = user_id.to_string();
        actor::call(&self.tx, |r| Msg::Ensure(user, r), CALL_TIMEOUT).await?
    }
}

/// Everything the manager needs; cloneable so a supervisor can restart it.
#[derive(Clone)]
pub struct PresenceManager {
    pub presence: Presence,
    pub trees: SupervisorHandle,
    pub factory: TreeFactory,
    pub cleanup_timeout: Duration,
    pub bus: EventBus,
}

impl PresenceManager {
    pub fn channel() -> (PresenceManagerHandle, Mailbox<Msg>) {
        let (tx, mb) = actor::mailbox(64);
        (PresenceManagerHandle { tx }, mb)
    }

    /// The actor loop. On (re)start it subscribes first, then reconciles trees with presence, so
    /// nothing that happened while it was down is missed.
    #[instrument(name = "PresenceManager", skip_all)]
    pub async fn run(self, mailbox: Mailbox<Msg>, cancel: CancellationToken) -> ChildResult {
        let mut diffs = self.presence.subscribe();
        let mut rx = mailbox.lock().await;
        let (fire_tx, mut fire_rx) = mpsc::unbounded_channel::<(String, u64)>();
        let mut st = St { m: self, generation: 0, timers: HashMap::new(), fire_tx };
        st.resync().await;
        let res = loop {
            tokio::select! {
                _ = cancel.cancelled() => break Ok(()),
                Some(diff) = diffs.recv() => st.on_diff(diff).await,
                Some((user, gen)) = fire_rx.recv() => st.on_fire(&user, gen).await,
                Some(msg) = rx.recv() => match msg {
                    Msg::Ensure(user, reply) => { let _ = reply.send(st.ensure(&user).await); }
                },
            }
        };
        for (_, (_, timer)) in st.timers.drain() {
            timer.abort();
        }
        res
    }
}

struct St {
    m: PresenceManager,
    generation: u64,
    /// user → (generation, timer task) for pending cleanups.
    timers: HashMap<String, (u64, AbortHandle)>,
    fire_tx: mpsc::UnboundedSender<(String, u64)>,
}

impl St {
    fn running(&self, user: &str) -> bool {
        self.m.trees.info().contains(user)
    }

    async fn ensure(&mut self, user: &str) -> Result<(), PresenceManagerError> {
        if self.running(user) {
            return Ok(());
        }
        let spec = (self.m.factory)(user).ok_or_else(|| PresenceManagerError::UnknownUser(user.into()))?;
        match self.m.trees.start_child(spec).await {
            Ok(()) | Err(SupervisorError::AlreadyStarted { .. }) => {
                info!(user_id = user, "[UserStreamManager:{user}] started");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn resync(&mut self) {
        for user in self.m.presence.users() {
            if let Err(e) = self.ensure(&user).await {
                warn!(user_id = %user, cause = %e, "cannot start tree");
            }
        }
        for child in self.m.trees.info().children() {
            if !self.m.presence.is_present(&child.id) {
                self.schedule(&child.id);
            }
        }
    }

    async fn on_diff(&mut self, diff: PresenceDiff) {
        let user = diff.user_id.as_str();
        if !diff.joins.is_empty() {
            self.generation += 1;
            if let Some((_, timer)) = self.timers.remove(user) {
                timer.abort();
                info!(user_id = user, "session came back; cleanup cancelled");
                self.m.bus.user(user).emit(Event::CleanupCancelled { user_id: user.into() });
            }
            if let Err(e) = self.ensure(user).await {
                warn!(user_id = user, cause = %e, "cannot start tree");
            }
        }
        if !diff.leaves.is_empty() && !self.m.presence.is_present(user) && self.running(user) {
            self.schedule(user);
        }
    }

    fn schedule(&mut self, user: &str) {
        if self.timers.contains_key(user) {
            return;
        }
        self.generation += 1;
        let gen = self.generation;
        let timeout = self.m.cleanup_timeout;
        let tx = self.fire_tx.clone();
        let u = user.to_string();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let _ = tx.send((u, gen));
        });
        self.timers.insert(user.to_string(), (gen, timer.abort_handle()));
        info!(
            user_id = user,
            timeout_ms = timeout.as_millis() as u64,
            "last session left; cleanup scheduled"
        );
        self.m
            .bus
            .user(user)
            .emit(Event::CleanupScheduled { user_id: user.into(), timeout_ms: timeout.as_millis() as u64 });
    }

    async fn on_fire(&mut self, user: &str, gen: u64) {
        match self.timers.get(user) {
            Some((g, _)) if *g == gen => {
                self.timers.remove(user);
            }
            _ => return, // stale: a join or a newer schedule superseded it
        }
        if self.m.presence.is_present(user) {
            return; // a join is on its way through the diff channel
        }
        info!(user_id = user, "[UserStreamManager:{user}] no sessions after the grace period; stopping");
        match self.m.trees.terminate_child(user).await {
            Ok(()) | Err(SupervisorError::NotFound { .. }) => {}
            Err(e) => warn!(user_id = user, cause = %e, "cannot stop tree"),
        }
    }
}
