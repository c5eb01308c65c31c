//! Test support for the AlertQueue: a running actor and its events as short labels.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::queue::{run, AlertMsg, AlertQueueArgs, AlertQueueHandle};
use super::{Alert, AlertInput, AlertKind};
use crate::actor::{ChildResult, Mailbox};
use crate::events::{Event, EventBus};

const LONG_WAIT: Duration = Duration::from_secs(24 * 3600);
pub(crate) const HOUR: Duration = Duration::from_secs(3600);

/// A running AlertQueue, its events as short labels (`shown:a`, `finished:a:skipped`,
/// `queue:false:2`) and the names (`from`) of the alerts pushed through it.
pub(crate) struct Rig {
    pub(crate) handle: AlertQueueHandle,
    pub(crate) events: broadcast::Receiver<Event>,
    pub(crate) names: HashMap<String, String>,
    pub(crate) args: AlertQueueArgs,
    pub(crate) mailbox: Mailbox<AlertMsg>,
    pub(crate) cancel: CancellationToken,
    pub(crate) task: JoinHandle<ChildResult>,
}

impl Rig {
    pub(crate) fn new(durations: &[(AlertKind, u64)]) -> Rig {
        let user = EventBus::new().user("u1");
        let events = user.subscribe();
        let mut args = AlertQueueArgs::new(user);
        args.durations = durations.iter().map(|&(k, s)| (k, Duration::from_secs(s))).collect();
        let (handle, mailbox) = AlertQueueHandle::channel();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(args.clone(), mailbox.clone(), cancel.clone()));
        Rig { handle, events, names: HashMap::new(), args, mailbox, cancel, task }
    }

    pub(crate) async fn push(&mut self, kind: AlertKind, from: &str, amount: Option<f64>) -> Alert {
        let input = AlertInput { amount, ..AlertInput::new(kind, from) };
        let alert = self.handle.push(input).await.expect("push");
        self.names.insert(alert.id.clone(), alert.from.clone());
        alert
    }

    pub(crate) fn label(&self, event: Event) -> String {
        let name = |id: &str| self.names.get(id).cloned().unwrap_or_else(|| id.to_string());
        match event {
            Event::AlertShown { user_id, alert } => {
                assert_eq!(user_id, "u1");
                format!("shown:{}", name(&alert.id))
            }
            Event::AlertFinished { id, outcome, .. } => {
                let outcome = serde_json::to_value(outcome).unwrap();
                format!("finished:{}:{}", name(&id), outcome.as_str().unwrap())
            }
            Event::AlertQueue { paused, queued, .. } => format!("queue:{paused}:{queued}"),
            other => panic!("unexpected event {other:?}"),
        }
    }

    /// The next event, waiting (in paused time) as long as it takes.
    pub(crate) async fn next(&mut self) -> String {
        let event = tokio::time::timeout(LONG_WAIT, self.events.recv())
            .await
            .expect("no event in a day")
            .expect("event bus lagged or closed");
        self.label(event)
    }

    /// The names of the next `n` alerts shown, skipping other events.
    pub(crate) async fn shown(&mut self, n: usize) -> Vec<String> {
        let mut names = Vec::new();
        while names.len() < n {
            if let Some(name) = self.next().await.strip_prefix("shown:") {
                names.push(name.to_string());
            }
        }
        names
    }

    /// Events already published, without waiting.
    pub(crate) fn drain(&mut self) -> Vec<String> {
        let mut labels = Vec::new();
        loop {
            match self.events.try_recv() {
                Ok(event) => labels.push(self.label(event)),
                Err(TryRecvError::Empty) => return labels,
                Err(e) => panic!("event bus: {e}"),
            }
        }
    }

    pub(crate) async fn snapshot_names(&self) -> (bool, Option<String>, Vec<String>) {
        let snap = self.handle.snapshot().await.expect("snapshot");
        let queued = snap.queued.into_iter().map(|a| a.from).collect();
        (snap.paused, snap.current.map(|a| a.from), queued)
    }
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
