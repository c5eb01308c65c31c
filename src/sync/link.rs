//! `SyncClient`: the sync server link as a child of the engine's root supervisor.
//!
//! The actor owns the running client (a future it polls itself, so a panic anywhere in the
//! client takes the actor down and the supervisor restarts it) and receives `Refresh` when
//! `[sync]` or the sync token may have changed. It holds the engine weakly: the engine owns it,
//! never the reverse.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::client;
use super::status::SyncStatusCell;
use crate::actor::{self, ChildResult, Mailbox};
use crate::engine::WeakEngine;
use crate::presence::SessionKind;
use crate::secrets::{Secret, SecretName};
use crate::supervisor::{ChildSpec, Restart};

/// How long a stopping client may take to say goodbye before it is dropped.
pub(crate) const SYNC_STOP_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) enum Msg {
    /// Re-read `[sync]` and the token and restart the client (with `only_if_token_changed`,
    /// a client already running with the stored token is left alone).
    Refresh { only_if_token_changed: bool, reply: oneshot::Sender<()> },
    /// Tests: make the actor panic, to prove the supervisor brings it back.
    #[cfg(test)]
    Panic,
}

/// The engine's handle on its sync client.
#[derive(Clone)]
pub(crate) struct SyncLinkHandle {
    tx: mpsc::Sender<Msg>,
}

impl SyncLinkHandle {
    pub(crate) fn channel() -> (Self, Mailbox<Msg>) {
        let (tx, mb) = actor::mailbox(8);
        (SyncLinkHandle { tx }, mb)
    }

    /// Apply the `[sync]` settings and token in force; returns once the new client is set up.
    pub(crate) async fn refresh(&self, only_if_token_changed: bool) {
        let res = actor::call(
            &self.tx,
            |reply| Msg::Refresh { only_if_token_changed, reply },
            SYNC_STOP_TIMEOUT + Duration::from_secs(2),
        )
        .await;
        if let Err(e) = res {
            warn!(cause = %e, "the sync client did not take the new settings");
        }
    }

    #[cfg(test)]
    pub(crate) async fn inject_panic(&self) {
        let _ = self.tx.send(Msg::Panic).await;
    }
}

/// The root supervisor's `SyncClient` child.
pub(crate) fn link_spec(
    engine: WeakEngine,
    status: SyncStatusCell,
    mailbox: Mailbox<Msg>,
    stop_timeout: Duration,
) -> ChildSpec {
    // Only a restarted client reconciles: on the first start no client of this engine ever
    // tracked a remote session, and clearing the kind then would race sessions joined meanwhile.
    let started = Arc::new(AtomicBool::new(false));
    ChildSpec::new("SyncClient", Restart::Permanent, move |ctx| {
        let restarted = started.swap(true, Ordering::SeqCst);
        run(engine.clone(), status.clone(), mailbox.clone(), stop_timeout, restarted, ctx.cancel).boxed()
    })
    .shutdown_timeout(stop_timeout + Duration::from_secs(1))
}

struct Running {
    cancel: CancellationToken,
    task: BoxFuture<'static, ()>,
    token: Secret,
}

fn start(engine: &WeakEngine, status: &SyncStatusCell, parent: &CancellationToken) -> Option<Running> {
    let strong = engine.upgrade()?;
    let cancel = parent.child_token();
    let (task, token) = client::prepare(&strong, engine.clone(), status.clone(), cancel.clone())?;
    Some(Running { cancel, task, token })
}

/// Let the client say goodbye (its remote sessions leave), bounded.
async fn stop(run: Option<Running>, timeout: Duration) {
    let Some(run) = run else { return };
    run.cancel.cancel();
    if tokio::time::timeout(timeout, run.task).await.is_err() {
        warn!("the sync client did not stop in time; dropped");
    }
}

async fn run(
    engine: WeakEngine,
    status: SyncStatusCell,
    mailbox: Mailbox<Msg>,
    stop_timeout: Duration,
    restarted: bool,
    cancel: CancellationToken,
) -> ChildResult {
    let mut rx = mailbox.lock().await;
    // Remote sessions a crashed instance left behind: the new client reconciles from scratch.
    if restarted {
        if let Some(e) = engine.upgrade() {
            e.presence().untrack_kind(e.user_id(), SessionKind::Device);
        }
    }
    let mut current = start(&engine, &status, &cancel);
    loop {
        let client_done = async {
            match current.as_mut() {
                Some(r) => (&mut r.task).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => {
                stop(current.take(), stop_timeout).await;
                return Ok(());
            }
            () = client_done => {
                // The client only ends when cancelled or when the engine is gone.
                current = None;
                if engine.upgrade().is_none() {
                    return Ok(());
                }
            }
            msg = rx.recv() => match msg {
                None => {
                    stop(current.take(), stop_timeout).await;
                    return Ok(());
                }
                Some(Msg::Refresh { only_if_token_changed, reply }) => {
                    let unchanged = only_if_token_changed && current.as_ref().is_some_and(|r| {
                        let stored = engine
                            .upgrade()
                            .and_then(|e| e.secrets().get(&SecretName::SyncToken).ok().flatten());
                        stored.as_ref() == Some(&r.token)
                    });
                    if !unchanged {
                        stop(current.take(), stop_timeout).await;
                        current = start(&engine, &status, &cancel);
                    }
                    let _ = reply.send(());
                }
                #[cfg(test)]
                Some(Msg::Panic) => panic!("injected panic in the sync client"),
            },
        }
    }
}
