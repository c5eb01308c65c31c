//! The relay's control actor: owns the outputs (add, remove, shutdown). The media path never
//! goes through it.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::fanout::Hub;
use super::output::{OutputPolicy, OutputTask};
use super::stats::OutputShared;
use super::target::PushTarget;
use super::{Registry, RelayError, RelayEvent, REMOVE_TIMEOUT};
use crate::secrets::Secret;

pub(crate) enum Cmd {
    Add { name: String, url: String, key: Secret, reply: oneshot::Sender<Result<(), RelayError>> },
    Remove { name: String, reply: oneshot::Sender<Result<(), RelayError>> },
}

pub(crate) struct OutputEntry {
    shared: Arc<OutputShared>,
    cancel: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

pub(crate) struct RelayActor {
    pub(crate) hub: Arc<Hub>,
    pub(crate) registry: Registry,
    pub(crate) outputs: HashMap<String, OutputEntry>,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) policy: OutputPolicy,
    pub(crate) queue_limit: usize,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

impl RelayActor {
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        loop {
            let cmd = tokio::select! {
                _ = self.cancel.cancelled() => break,
                c = rx.recv() => match c { Some(c) => c, None => break },
            };
            match cmd {
                Cmd::Add { name, url, key, reply } => {
                    let _ = reply.send(self.add(name, &url, key));
                }
                Cmd::Remove { name, reply } => {
                    let _ = reply.send(self.remove(&name).await);
                }
            }
        }
        // Outputs watch child tokens of the relay's: they unpublish on their own; wait for them.
        for (_, o) in self.outputs.drain() {
            let _ = tokio::time::timeout(REMOVE_TIMEOUT, o.done).await;
        }
    }

    fn add(&mut self, name: String, url: &str, key: Secret) -> Result<(), RelayError> {
        if name.trim().is_empty() {
            return Err(RelayError::Config { message: "an output needs a name".into() });
        }
        if self.outputs.contains_key(&name) {
            return Err(RelayError::DuplicateOutput { name });
        }
        if key.is_blank() {
            return Err(RelayError::Config { message: format!("output {name:?}: the stream key is empty") });
        }
        let target = PushTarget::parse(url)?;
        let shared = Arc::new(OutputShared::new(&name, target.display(), self.hub.events().clone()));
        let (tap, rx) = self.hub.add_tap(shared.clone(), self.queue_limit);
        let cancel = self.cancel.child_token();
        let task = OutputTask {
            shared: shared.clone(),
            hub: self.hub.clone(),
            tap,
            rx,
            tls: target.tls.then(|| self.tls.clone()),
            target,
            key,
            policy: self.policy.clone(),
            cancel: cancel.clone(),
        };
        let span = tracing::info_span!("relay_output", output = %name);
        let done = self.tracker.spawn(task.run().instrument(span));
        tracing::info!(output = %name, target = %shared.target, "relay output added");
        self.registry.lock().unwrap_or_else(|p| p.into_inner()).push(shared.clone());
        self.outputs.insert(name, OutputEntry { shared, cancel, done });
        Ok(())
    }

    async fn remove(&mut self, name: &str) -> Result<(), RelayError> {
        let Some(o) = self.outputs.remove(name) else {
            return Err(RelayError::UnknownOutput { name: name.to_string() });
        };
        o.cancel.cancel();
        if tokio::time::timeout(REMOVE_TIMEOUT, o.done).await.is_err() {
            tracing::warn!(output = name, "relay output did not stop in time");
        }
        self.registry.lock().unwrap_or_else(|p| p.into_inner()).retain(|s| !Arc::ptr_eq(s, &o.shared));
        tracing::info!(output = name, "relay output removed");
        let _ = self.hub.events().send(RelayEvent::OutputRemoved { name: name.to_string() });
        Ok(())
    }
}
