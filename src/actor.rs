//! The handle + actor pattern, written once.
//!
//! A `FooHandle` is `Clone` and wraps a bounded [`mpsc::Sender`]; the actor owns its state and
//! reads a [`Mailbox`]. The mailbox outlives the actor task: when a supervisor restarts a crashed
//! actor, the new instance locks the same mailbox, so every handle held elsewhere stays valid
//! (an Erlang registered name, in effect). Requests carry a `oneshot` reply; every call has a
//! timeout and fails with [`ActorError::Closed`] or [`ActorError::Timeout`].

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, Mutex, OwnedMutexGuard};

/// Default time a caller waits for an actor's reply.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActorError {
    #[error("the component is not running")]
    Closed,
    #[error("the component did not answer in time")]
    Timeout,
}

/// Why a supervised task ended abnormally. Returning `Err` makes a transient child restart.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ChildError(pub String);

impl ChildError {
    pub fn new(msg: impl std::fmt::Display) -> Self {
        ChildError(msg.to_string())
    }
}

impl From<ActorError> for ChildError {
    fn from(e: ActorError) -> Self {
        ChildError(e.to_string())
    }
}

/// What every supervised task returns.
pub type ChildResult = Result<(), ChildError>;

/// The receiving end of an actor's channel, shared across restarts of the actor.
pub struct Mailbox<M> {
    rx: Arc<Mutex<mpsc::Receiver<M>>>,
}

impl<M> Clone for Mailbox<M> {
    fn clone(&self) -> Self {
        Mailbox { rx: self.rx.clone() }
    }
}

impl<M: Send + 'static> Mailbox<M> {
    /// Take the mailbox for the lifetime of one actor instance.
    pub async fn lock(&self) -> OwnedMutexGuard<mpsc::Receiver<M>> {
        self.rx.clone().lock_owned().await
    }
}

/// A bounded channel whose receiver can be handed from one actor instance to the next.
pub fn mailbox<M>(capacity: usize) -> (mpsc::Sender<M>, Mailbox<M>) {
    let (tx, rx) = mpsc::channel(capacity);
    (tx, Mailbox { rx: Arc::new(Mutex::new(rx)) })
}

/// Send a request built around a reply port and wait for the answer, under `timeout`.
pub async fn call<M, R>(
    tx: &mpsc::Sender<M>,
    make: impl FnOnce(oneshot::Sender<R>) -> M,
    timeout: Duration,
) -> Result<R, ActorError> {
    let (reply_tx, reply_rx) = oneshot::channel();
    let work = async {
        tx.send(make(reply_tx)).await.map_err(|_| ActorError::Closed)?;
        reply_rx.await.map_err(|_| ActorError::Closed)
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| ActorError::Timeout)?
}

/// Send a message that needs no answer, waiting at most `timeout` for room in the mailbox.
pub async fn cast<M>(tx: &mpsc::Sender<M>, msg: M, timeout: Duration) -> Result<(), ActorError> {
    match tokio::time::timeout(timeout, tx.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(ActorError::Closed),
        Err(_) => Err(ActorError::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Msg {
        Double(u32, oneshot::Sender<u32>),
    }

    #[tokio::test]
    async fn mailbox_survives_a_restarted_actor() {
        let (tx, mb) = mailbox::<Msg>(8);
        // First instance answers one call, then dies.
        let mb1 = mb.clone();
        let first = tokio::spawn(async move {
            let mut rx = mb1.lock().await;
            if let Some(Msg::Double(n, r)) = rx.recv().await {
                let _ = r.send(n * 2);
            }
        });
        assert_eq!(call(&tx, |r| Msg::Double(2, r), CALL_TIMEOUT).await, Ok(4));
        first.await.unwrap();
        // Second instance takes over the same mailbox; the old sender still works.
        tokio::spawn(async move {
            let mut rx = mb.lock().await;
            while let Some(Msg::Double(n, r)) = rx.recv().await {
                let _ = r.send(n * 2);
            }
        });
        assert_eq!(call(&tx, |r| Msg::Double(5, r), CALL_TIMEOUT).await, Ok(10));
    }

    #[tokio::test(start_paused = true)]
    async fn call_times_out_when_nobody_answers() {
        let (tx, _mb) = mailbox::<Msg>(8);
        let res = call(&tx, |r| Msg::Double(1, r), Duration::from_millis(50)).await;
        assert_eq!(res, Err(ActorError::Timeout));
    }

    #[tokio::test]
    async fn call_reports_closed_when_the_reply_is_dropped() {
        let (tx, mb) = mailbox::<Msg>(8);
        tokio::spawn(async move {
            let mut rx = mb.lock().await;
            let _ = rx.recv().await; // drop the reply port
        });
        let res = call(&tx, |r| Msg::Double(1, r), CALL_TIMEOUT).await;
        assert_eq!(res, Err(ActorError::Closed));
    }
}
