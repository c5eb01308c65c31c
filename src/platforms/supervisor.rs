//! PlatformSupervisor: while live, one PlatformWorker per enabled platform under a one_for_one
//! [`Supervisor`], so one platform failing never touches another. Start launches every worker at
//! once (their API calls run in parallel); stop cancels them together and waits for each to
//! delete its output. Outputs left behind by a crash are removed at the next start (reconcile).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use super::platform::PlatformTarget;
use super::relay_worker::{self, RelayWorkerArgs};
use super::worker::{self, OutputMap, RetryPolicy, WorkerArgs};
use crate::actor::{self, ActorError, ChildError, ChildResult, Mailbox, CALL_TIMEOUT};
use crate::cloudflare::api::CloudflareClient;
use crate::cloudflare::{CloudflareManagerHandle, IngestError};
use crate::events::{Event, UserEvents};
use crate::ingest::RelaySlot;
use crate::stream_state::{PlatformStatus, StreamPhase, StreamStateHandle};
use crate::supervisor::{
    ChildSpec, Restart, Supervisor, SupervisorConfig, SupervisorHandle, SupervisorMailbox,
};
use crate::user_stream_manager::IngestHandles;

/// The running stream's platforms, kept outside the actor so a restarted PlatformSupervisor
/// brings its workers back (they adopt their outputs).
#[derive(Clone, Default)]
pub struct PlatformStash {
    active: Arc<Mutex<Option<ActiveRun>>>,
    pub outputs: OutputMap,
}

#[derive(Clone)]
struct ActiveRun {
    uuid: Uuid,
    /// Known once the launcher has made sure the live input exists.
    input_uid: Option<String>,
    targets: Vec<PlatformTarget>,
}

#[derive(Clone)]
pub struct PlatformSupervisorArgs {
    pub user_id: String,
    /// The ingest backend the workers relay from, with its handles.
    pub ingest: IngestHandles,
    pub state: StreamStateHandle,
    pub events: UserEvents,
    pub retry: RetryPolicy,
    pub stop_timeout: Duration,
    pub stash: PlatformStash,
    /// The worker supervisor's handle and mailbox, made once per user so they outlive restarts.
    pub workers: SupervisorHandle,
    pub workers_mailbox: SupervisorMailbox,
    /// Local backend: how long OBS may drop while live before platforms report `source_lost`.
    pub source_grace: Duration,
}

#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlatformError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("a stream is already running on the platforms")]
    AlreadyRunning,
    #[error("no stream is running on the platforms")]
    NotRunning,
    #[error(transparent)]
    Actor(#[from] ActorError),
}

pub enum Msg {
    Start(Uuid, Vec<PlatformTarget>, oneshot::Sender<Result<(), PlatformError>>),
    Stop(oneshot::Sender<()>),
    Add(PlatformTarget, oneshot::Sender<Result<(), PlatformError>>),
    Remove(String, oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct PlatformSupervisorHandle {
    tx: mpsc::Sender<Msg>,
}

impl PlatformSupervisorHandle {
    pub fn channel() -> (Self, Mailbox<Msg>) {
        let (tx, mb) = actor::mailbox(32);
        (PlatformSupervisorHandle { tx }, mb)
    }

    /// Launch one worker per target, all at once. Returns when they are launched, not live.
    pub async fn start_stream(&self, uuid: Uuid, targets: Vec<PlatformTarget>) -> Result<(), PlatformError> {
        actor::call(&self.tx, |r| Msg::Start(uuid, targets, r), Duration::from_secs(60)).await?
    }

    /// Add a platform to the running stream (enabled while live).
    pub async fn add_platform(&self, target: PlatformTarget) -> Result<(), PlatformError> {
        actor::call(&self.tx, |r| Msg::Add(target, r), CALL_TIMEOUT).await?
    }

    /// Take one platform off the running stream (its output is deleted).
    pub async fn remove_platform(&self, name: &str) -> Result<(), PlatformError> {
        let name = name.to_string();
        Ok(actor::call(&self.tx, |r| Msg::Remove(name, r), Duration::from_secs(60)).await?)
    }

    /// Stop every worker; returns once each has cleaned up (or timed out).
    pub async fn stop_stream(&self, timeout: Duration) -> Result<(), PlatformError> {
        Ok(actor::call(&self.tx, Msg::Stop, timeout + CALL_TIMEOUT).await?)
    }
}

#[instrument(name = "PlatformSupervisor", skip_all, fields(user_id = %args.user_id))]
pub async fn run(
    args: PlatformSupervisorArgs,
    mailbox: Mailbox<Msg>,
    cancel: CancellationToken,
) -> ChildResult {
    let mut rx = mailbox.lock().await;
    let workers = args.workers.clone();
    let wmb = args.workers_mailbox.clone();
    let events = args.events.clone();
    let user = args.user_id.clone();
    let sup = Supervisor::new(
        SupervisorConfig::new(format!("PlatformSupervisor:{user}")).intensity(10, Duration::from_secs(60)),
        vec![],
    )
    .with_mailbox(wmb)
    .on_restart(Arc::new(move |child, restarts| {
        events.emit(Event::ChildRestarted {
            user_id: user.clone(),
            supervisor: "PlatformSupervisor".into(),
            child: child.to_string(),
            restarts,
        })
    }));
    // Not a child of `cancel`: on shutdown the workers must still be running when `stop()` asks
    // them to delete their outputs. The guard cancels it if this actor dies (panic, abort), so
    // the workers go too, keeping their outputs for the next incarnation.
    let sup_cancel = CancellationToken::new();
    let _sup_guard = sup_cancel.clone().drop_guard();
    let mut sup_task = tokio::spawn(sup.run(sup_cancel.clone()));
    let mut st = State {
        args,
        workers,
        delete_on_exit: DeleteFlags::default(),
        cancel: cancel.clone(),
        launcher: None,
    };

    // Recover a stream that was running when the previous instance died.
    let recovered = st.args.stash.active.lock().ok().and_then(|a| a.clone());
    if let Some(run) = recovered {
        st.recover(run).await;
    }

    let result = loop {
        tokio::select! {
            _ = cancel.cancelled() => break Ok(()),
            joined = &mut sup_task => {
                break Err(match joined {
                    Ok(Err(e)) => e,
                    _ => ChildError::new("worker supervisor ended"),
                });
            }
            msg = rx.recv() => match msg {
                None => break Ok(()),
                Some(Msg::Start(uuid, targets, reply)) => {
                    let _ = reply.send(st.start(uuid, targets).await);
                }
                Some(Msg::Stop(reply)) => {
                    st.stop().await;
                    let _ = reply.send(());
                }
                Some(Msg::Add(target, reply)) => {
                    let _ = reply.send(st.add(target).await);
                }
                Some(Msg::Remove(name, reply)) => {
                    st.remove(&name).await;
                    let _ = reply.send(());
                }
            },
        }
    };
    if result.is_ok() {
        // A real shutdown (the tree is stopping): take the platforms off air.
        st.stop().await;
    }
    sup_cancel.cancel();
    let _ = sup_task.await;
    result
}

struct State {
    args: PlatformSupervisorArgs,
    workers: SupervisorHandle,
    /// Per platform: delete the output when the worker exits (set on a real stop).
    delete_on_exit: DeleteFlags,
    cancel: CancellationToken,
    launcher: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl State {
    async fn start(&mut self, uuid: Uuid, targets: Vec<PlatformTarget>) -> Result<(), PlatformError> {
        if self.args.stash.active.lock().map(|a| a.is_some()).unwrap_or(false) {
            return Err(PlatformError::AlreadyRunning);
        }
        if matches!(self.args.ingest, IngestHandles::Cloudflare { client: None, .. }) {
            return Err(IngestError::NotConfigured.into());
        }
        let run = ActiveRun { uuid, input_uid: None, targets };
        if let Ok(mut a) = self.args.stash.active.lock() {
            *a = Some(run.clone());
        }
        self.spawn_launcher(run);
        Ok(())
    }

    /// Bring back the workers of a stream that was running when the previous instance died, if
    /// the stream is still on air; otherwise take its outputs down.
    async fn recover(&mut self, run: ActiveRun) {
        let user = self.args.user_id.clone();
        let on_air = match self.args.state.snapshot().await {
            Ok(d) => d.uuid == Some(run.uuid) && d.state != StreamPhase::Offline,
            Err(_) => true, // cannot tell: keep the platforms on air
        };
        if on_air {
            info!(
                "[PlatformSupervisor:{user}] recovering {} workers of stream {}",
                run.targets.len(),
                run.uuid
            );
            self.spawn_launcher(run);
            return;
        }
        info!("[PlatformSupervisor:{user}] stream {} ended while I was down; removing its outputs", run.uuid);
        if let Ok(mut a) = self.args.stash.active.lock() {
            *a = None;
        }
        if let (Some(client), Some(input)) = (self.args.ingest.client().cloned(), run.input_uid) {
            self.launcher_for().reconcile(&client, &input, &[]).await;
        }
    }

    /// Launch in the background (the caller gets its answer at once): make sure the live input
    /// exists (retrying like a worker would), reconcile, then start the workers.
    fn spawn_launcher(&mut self, run: ActiveRun) {
        // A new run's workers keep their outputs unless this run is really stopped.
        self.delete_on_exit = DeleteFlags::default();
        let token = self.cancel.child_token();
        let launcher = self.launcher_for();
        let t = token.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = t.cancelled() => {}
                _ = launcher.launch(run) => {}
            }
        });
        self.launcher = Some((token, task));
    }
}

/// Platform name → its worker's "delete the output on exit" flag.
type DeleteFlags = Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>;

/// Brings a run's workers up; runs as its own task so the actor stays responsive.
struct Launcher {
    args: PlatformSupervisorArgs,
    workers: SupervisorHandle,
    delete_on_exit: DeleteFlags,
}

impl Launcher {
    async fn launch(self, mut run: ActiveRun) {
        let (client, manager) = match &self.args.ingest {
            IngestHandles::Local { relay } => return self.launch_local(&run, relay).await,
            IngestHandles::Cloudflare { client: None, .. } => return,
            IngestHandles::Cloudflare { client: Some(c), manager } => (c.clone(), manager.clone()),
        };
        let input_uid = match run.input_uid.clone() {
            Some(uid) => uid,
            None => match self.ensure_input(&manager, &run).await {
                Some(uid) => uid,
                None => return,
            },
        };
        run.input_uid = Some(input_uid.clone());
        if let Ok(mut a) = self.args.stash.active.lock() {
            if let Some(active) = a.as_mut().filter(|a| a.uuid == run.uuid) {
                active.input_uid = Some(input_uid.clone());
            }
        }
        self.reconcile(&client, &input_uid, &run.targets).await;
        // Platforms added while this was launching are in the stash's run by now.
        let targets = self
            .args
            .stash
            .active
            .lock()
            .ok()
            .and_then(|a| a.as_ref().filter(|a| a.uuid == run.uuid).map(|a| a.targets.clone()))
            .unwrap_or(run.targets);
        for target in &targets {
            self.start_worker(&client, &input_uid, target).await;
        }
    }

    /// Local relay: take away outputs no current platform owns, then one worker per platform.
    async fn launch_local(&self, run: &ActiveRun, slot: &RelaySlot) {
        if let Some(relay) = slot.wait(Duration::from_secs(10)).await {
            for o in relay.outputs() {
                if !run.targets.iter().any(|t| t.name == o.name) {
                    info!(
                        "[PlatformSupervisor:{}] removing stale relay output {}",
                        self.args.user_id, o.name
                    );
                    let _ = relay.remove_output(&o.name).await;
                }
            }
        }
        for target in &run.targets {
            self.start_relay_worker(target, slot).await;
        }
    }

    async fn start_relay_worker(&self, target: &PlatformTarget, relay: &RelaySlot) {
        let flag = Arc::new(AtomicBool::new(false));
        if let Ok(mut flags) = self.delete_on_exit.lock() {
            flags.insert(target.name.clone(), flag.clone());
        }
        let wargs = RelayWorkerArgs {
            user_id: self.args.user_id.clone(),
            target: target.clone(),
            slot: relay.clone(),
            state: self.args.state.clone(),
            source_grace: self.args.source_grace,
            delete_on_exit: flag,
        };
        let spec = ChildSpec::new(target.name.clone(), Restart::Transient, move |ctx| {
            relay_worker::run(wargs.clone(), ctx.cancel)
        })
        .shutdown_timeout(self.args.stop_timeout);
        if let Err(e) = self.workers.start_child(spec).await {
            warn!(cause = %e, platform = %target.name, "cannot start worker");
        }
    }

    async fn start_worker(&self, client: &CloudflareClient, input_uid: &str, target: &PlatformTarget) {
        let flag = Arc::new(AtomicBool::new(false));
        if let Ok(mut flags) = self.delete_on_exit.lock() {
            flags.insert(target.name.clone(), flag.clone());
        }
        let wargs = WorkerArgs {
            user_id: self.args.user_id.clone(),
            target: target.clone(),
            input_uid: input_uid.to_string(),
            client: client.clone(),
            state: self.args.state.clone(),
            retry: self.args.retry.clone(),
            outputs: self.args.stash.outputs.clone(),
            delete_on_exit: flag,
        };
        let spec = ChildSpec::new(target.name.clone(), Restart::Transient, move |ctx| {
            worker::run(wargs.clone(), ctx.cancel)
        })
        .shutdown_timeout(self.args.stop_timeout);
        if let Err(e) = self.workers.start_child(spec).await {
            warn!(cause = %e, platform = %target.name, "cannot start worker");
        }
    }

    /// The live input's uid, retrying transient errors with the workers' policy. On a final
    /// error every platform of the run is marked failed with the reason.
    async fn ensure_input(&self, manager: &CloudflareManagerHandle, run: &ActiveRun) -> Option<String> {
        let mut attempt = 0u32;
        loop {
            let err = match manager.ensure_input().await {
                Ok(info) => return Some(info.input_uid),
                Err(e) => e,
            };
            attempt += 1;
            let reason = crate::failure::Failure::from(&err);
            let retry = &self.args.retry;
            let exhausted = retry.max_attempts > 0 && attempt >= retry.max_attempts;
            if !err.is_retryable() || exhausted {
                warn!(cause = %reason, "[PlatformSupervisor:{}] no live input; platforms failed", self.args.user_id);
                for t in &run.targets {
                    let _ = self
                        .args
                        .state
                        .set_platform(&t.name, PlatformStatus::Failed { reason: reason.clone() })
                        .await;
                }
                return None;
            }
            for t in &run.targets {
                let status = PlatformStatus::Retrying { reason: reason.clone(), attempt };
                let _ = self.args.state.set_platform(&t.name, status).await;
            }
            tokio::time::sleep(err.retry_after().unwrap_or_else(|| retry.delay(attempt))).await;
        }
    }

    /// Delete outputs on the input that no current platform owns (left over from a crash).
    async fn reconcile(&self, client: &CloudflareClient, input_uid: &str, targets: &[PlatformTarget]) {
        let outputs = match client.list_outputs(input_uid).await {
            Ok(o) => o,
            Err(e) => {
                warn!(cause = %e, "cannot list outputs to reconcile; continuing");
                return;
            }
        };
        let keep: Vec<String> = {
            let mut map = self.args.stash.outputs.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|name, _| targets.iter().any(|t| &t.name == name));
            map.values().cloned().collect()
        };
        let stale: Vec<_> = outputs.into_iter().filter(|o| !keep.contains(&o.uid)).collect();
        let deletes = stale.iter().map(|o| client.delete_output(input_uid, &o.uid));
        for (o, res) in stale.iter().zip(futures::future::join_all(deletes).await) {
            match res {
                Ok(()) => info!("[PlatformSupervisor:{}] removed stale output {}", self.args.user_id, o.uid),
                Err(e) => warn!(cause = %e, output = %o.uid, "cannot remove stale output"),
            }
        }
    }
}

impl State {
    async fn add(&mut self, target: PlatformTarget) -> Result<(), PlatformError> {
        let input_uid = {
            let mut active = self.args.stash.active.lock().unwrap_or_else(|p| p.into_inner());
            let Some(run) = active.as_mut() else { return Err(PlatformError::NotRunning) };
            if run.targets.iter().any(|t| t.name == target.name) {
                return Ok(());
            }
            run.targets.push(target.clone());
            run.input_uid.clone()
        };
        // If the launcher is still at work it starts the new target with the others.
        if let IngestHandles::Local { relay } = &self.args.ingest {
            self.launcher_for().start_relay_worker(&target, relay).await;
        } else if let (Some(input_uid), Some(client)) = (input_uid, self.args.ingest.client().cloned()) {
            let launcher = self.launcher_for();
            launcher.start_worker(&client, &input_uid, &target).await;
        }
        Ok(())
    }

    async fn remove(&mut self, name: &str) {
        if let Ok(mut active) = self.args.stash.active.lock() {
            if let Some(run) = active.as_mut() {
                run.targets.retain(|t| t.name != name);
            }
        }
        if let Some(flag) = self.delete_on_exit.lock().ok().and_then(|f| f.get(name).cloned()) {
            flag.store(true, Ordering::SeqCst);
        }
        match self.workers.terminate_child(name).await {
            Ok(()) | Err(crate::supervisor::SupervisorError::NotFound { .. }) => {}
            Err(e) => warn!(cause = %e, platform = name, "cannot stop worker"),
        }
    }

    fn launcher_for(&self) -> Launcher {
        Launcher {
            args: self.args.clone(),
            workers: self.workers.clone(),
            delete_on_exit: self.delete_on_exit.clone(),
        }
    }

    async fn stop(&mut self) {
        if let Some((token, task)) = self.launcher.take() {
            token.cancel();
            let _ = task.await;
        }
        let active = self.args.stash.active.lock().ok().and_then(|mut a| a.take());
        if active.is_none() && self.workers.info().children().is_empty() {
            return;
        }
        if let Ok(flags) = self.delete_on_exit.lock() {
            for flag in flags.values() {
                flag.store(true, Ordering::SeqCst);
            }
        }
        if let Err(e) = self.workers.terminate_all().await {
            warn!(cause = %e, "stopping workers failed");
        }
    }
}
