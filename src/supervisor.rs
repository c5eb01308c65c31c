//! Supervision with OTP semantics, written once and used by every supervisor in the engine.
//!
//! A [`Supervisor`] owns a `JoinSet` of child tasks and a `CancellationToken`. Children are
//! described by [`ChildSpec`]s and rebuilt from them on restart (one_for_one). Restart types
//! follow OTP: `Permanent` always restarts, `Transient` only after an abnormal exit (an `Err` or a
//! panic), `Temporary` never. More than `intensity` restarts within `period` makes the supervisor
//! give up: it shuts its children down and returns an error, which its parent sees as an abnormal
//! exit. Restarts wait an exponential backoff. Shutdown goes in reverse start order, each child
//! gets its own timeout, then it is aborted. Children can also be added and removed at run time
//! through a [`SupervisorHandle`] (the DynamicSupervisor of the original design).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, Id as TaskId, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::actor::{self, ActorError, ChildError, ChildResult, Mailbox, CALL_TIMEOUT};

/// When a child is restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always restarted, even after a normal exit.
    Permanent,
    /// Restarted only after an abnormal exit (error or panic).
    Transient,
    /// Never restarted.
    Temporary,
}

/// What a child gets when it starts.
#[derive(Clone, Debug)]
pub struct ChildCtx {
    /// Cancelled when the child must stop. Everything the child spawns should hang off it.
    pub cancel: CancellationToken,
    /// How many times this child has been restarted so far.
    #[allow(dead_code)]
    pub restarts: u32,
}

type StartFn = Arc<dyn Fn(ChildCtx) -> BoxFuture<'static, ChildResult> + Send + Sync>;

/// How to start (and restart) one child.
#[derive(Clone)]
pub struct ChildSpec {
    pub id: String,
    pub restart: Restart,
    /// How long the child may take to stop after cancellation before it is aborted.
    pub shutdown: Duration,
    start: StartFn,
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .finish()
    }
}

impl ChildSpec {
    pub fn new<F, Fut>(id: impl Into<String>, restart: Restart, start: F) -> Self
    where
        F: Fn(ChildCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ChildResult> + Send + 'static,
    {
        ChildSpec {
            id: id.into(),
            restart,
            shutdown: Duration::from_secs(5),
            start: Arc::new(move |ctx| Box::pin(start(ctx))),
        }
    }

    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown = timeout;
        self
    }
}

/// Restart intensity and backoff.
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    /// Used in logs and in the debug tree.
    pub name: String,
    /// More than this many restarts within `period` → give up.
    pub intensity: u32,
    pub period: Duration,
    /// Delay before the first restart of a child; doubles per consecutive restart.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl SupervisorConfig {
    pub fn new(name: impl Into<String>) -> Self {
        SupervisorConfig {
            name: name.into(),
            intensity: 3,
            period: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_secs(5),
        }
    }
    pub fn intensity(mut self, restarts: u32, period: Duration) -> Self {
        self.intensity = restarts;
        self.period = period;
        self
    }
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SupervisorError {
    #[error("a child with id {id} is already running")]
    AlreadyStarted { id: String },
    #[error("no child with id {id}")]
    NotFound { id: String },
    #[error(transparent)]
    Actor(#[from] ActorError),
}

/// A child as seen from outside (the debug tree).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChildInfo {
    pub id: String,
    pub restart: Restart,
    /// `running` or `restarting` (waiting out its backoff).
    pub state: &'static str,
    pub restarts: u32,
    pub uptime_ms: u64,
}

/// Hook called after a child is restarted: (child id, restarts so far).
pub type RestartHook = Arc<dyn Fn(&str, u32) + Send + Sync>;

/// Read-only view of a running supervisor, cheap to clone, never blocks on the supervisor.
/// State and uptime are computed when read, so they are always current.
#[derive(Clone, Default)]
pub struct SupervisorInfo(Arc<Mutex<Vec<ChildRecord>>>);

#[derive(Clone, Debug)]
struct ChildRecord {
    id: String,
    restart: Restart,
    restarts: u32,
    /// When the current incarnation started (or will, after its backoff).
    started: Instant,
}

impl SupervisorInfo {
    pub fn children(&self) -> Vec<ChildInfo> {
        let now = Instant::now();
        let records = self.0.lock().map(|c| c.clone()).unwrap_or_default();
        records
            .into_iter()
            .map(|r| ChildInfo {
                state: if now < r.started { "restarting" } else { "running" },
                uptime_ms: now.saturating_duration_since(r.started).as_millis() as u64,
                id: r.id,
                restart: r.restart,
                restarts: r.restarts,
            })
            .collect()
    }
    pub fn contains(&self, id: &str) -> bool {
        self.children().iter().any(|c| c.id == id)
    }
}

#[doc(hidden)]
pub enum SupMsg {
    Start(ChildSpec, oneshot::Sender<Result<(), SupervisorError>>),
    Terminate(String, oneshot::Sender<Result<(), SupervisorError>>),
    TerminateAll(oneshot::Sender<()>),
    Kill(String, oneshot::Sender<Result<(), SupervisorError>>),
}

/// Adds and removes children of a running supervisor. Survives restarts of the supervisor.
#[derive(Clone)]
pub struct SupervisorHandle {
    tx: mpsc::Sender<SupMsg>,
    info: SupervisorInfo,
}

impl SupervisorHandle {
    /// Start a child; `AlreadyStarted` if one with the same id runs.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<(), SupervisorError> {
        actor::call(&self.tx, |r| SupMsg::Start(spec, r), CALL_TIMEOUT).await?
    }
    /// Stop one child (its shutdown timeout, then abort) and forget it.
    pub async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        let id = id.to_string();
        actor::call(&self.tx, |r| SupMsg::Terminate(id, r), Duration::from_secs(120)).await?
    }
    /// Stop every child at once (in parallel) and forget them.
    pub async fn terminate_all(&self) -> Result<(), SupervisorError> {
        actor::call(&self.tx, SupMsg::TerminateAll, Duration::from_secs(120)).await?;
        Ok(())
    }
    /// Kill a child abruptly (abort its task), like `Process.exit(pid, :kill)`: an abnormal exit
    /// that its restart type then handles. For the debug view and for tests.
    pub async fn kill_child(&self, id: &str) -> Result<(), SupervisorError> {
        let id = id.to_string();
        actor::call(&self.tx, |r| SupMsg::Kill(id, r), CALL_TIMEOUT).await?
    }
    pub fn info(&self) -> &SupervisorInfo {
        &self.info
    }
}

/// The receiving side of a [`SupervisorHandle`]; give it to each incarnation of the supervisor.
#[derive(Clone)]
pub struct SupervisorMailbox {
    mailbox: Mailbox<SupMsg>,
    info: SupervisorInfo,
}

struct Slot {
    spec: ChildSpec,
    token: CancellationToken,
    _guard: tokio_util::sync::DropGuard,
    abort: AbortHandle,
    task: TaskId,
    restarts: u32,
    consecutive: u32,
    started: Instant,
}

/// A one_for_one supervisor. Build it, optionally take a handle, then `run` it (as a task, or as
/// a child of another supervisor).
pub struct Supervisor {
    cfg: SupervisorConfig,
    initial: Vec<ChildSpec>,
    mailbox: Option<Mailbox<SupMsg>>,
    info: SupervisorInfo,
    on_restart: Option<RestartHook>,
}

impl Supervisor {
    pub fn new(cfg: SupervisorConfig, children: Vec<ChildSpec>) -> Self {
        Supervisor {
            cfg,
            initial: children,
            mailbox: None,
            info: SupervisorInfo::default(),
            on_restart: None,
        }
    }

    /// A channel for adding children at run time, to pass to [`Supervisor::with_mailbox`]. The
    /// handle stays valid across restarts of a supervisor built from the same mailbox.
    pub fn channel() -> (SupervisorHandle, SupervisorMailbox) {
        Self::channel_with_info(SupervisorInfo::default())
    }

    /// Like [`Supervisor::channel`], publishing the children into an existing `info`.
    pub fn channel_with_info(info: SupervisorInfo) -> (SupervisorHandle, SupervisorMailbox) {
        let (tx, mb) = actor::mailbox(64);
        (SupervisorHandle { tx, info: info.clone() }, SupervisorMailbox { mailbox: mb, info })
    }

    pub fn with_mailbox(mut self, mailbox: SupervisorMailbox) -> Self {
        self.mailbox = Some(mailbox.mailbox);
        self.info = mailbox.info;
        self
    }

    pub fn on_restart(mut self, hook: RestartHook) -> Self {
        self.on_restart = Some(hook);
        self
    }

    pub fn info(&self) -> SupervisorInfo {
        self.info.clone()
    }

    /// Run until `cancel` fires (then shut down in order and return `Ok`) or until restart
    /// intensity is exceeded (then shut down and return `Err`).
    pub async fn run(self, cancel: CancellationToken) -> ChildResult {
        let Supervisor { cfg, initial, mailbox, info, on_restart } = self;
        let mut rx_guard = match &mailbox {
            Some(mb) => Some(mb.lock().await),
            None => None,
        };
        let mut run = Run {
            cfg,
            cancel,
            info,
            on_restart,
            slots: Vec::new(),
            tasks: JoinSet::new(),
            owners: HashMap::new(),
            restart_log: VecDeque::new(),
            pending: VecDeque::new(),
        };
        for spec in initial {
            run.start(spec, 0, 0, Duration::ZERO);
        }
        run.publish();
        let outcome = loop {
            if let Some((task, res)) = run.pending.pop_front() {
                if let Err(e) = run.on_exit(task, res) {
                    break Err(e);
                }
                continue;
            }
            tokio::select! {
                _ = run.cancel.cancelled() => break Ok(()),
                Some(joined) = run.tasks.join_next_with_id() => {
                    let (task, res) = split(joined);
                    if let Err(e) = run.on_exit(task, res) {
                        break Err(e);
                    }
                }
                Some(msg) = recv(&mut rx_guard) => run.on_msg(msg).await,
            }
        };
        run.shutdown_ordered().await;
        run.publish();
        drop(rx_guard);
        outcome
    }
}

async fn recv(guard: &mut Option<tokio::sync::OwnedMutexGuard<mpsc::Receiver<SupMsg>>>) -> Option<SupMsg> {
    match guard {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

type Exit = Result<ChildResult, JoinError>;

fn split(joined: Result<(TaskId, ChildResult), JoinError>) -> (TaskId, Exit) {
    match joined {
        Ok((id, res)) => (id, Ok(res)),
        Err(e) => (e.id(), Err(e)),
    }
}

struct Run {
    cfg: SupervisorConfig,
    cancel: CancellationToken,
    info: SupervisorInfo,
    on_restart: Option<RestartHook>,
    /// In start order.
    slots: Vec<Slot>,
    tasks: JoinSet<ChildResult>,
    owners: HashMap<TaskId, String>,
    restart_log: VecDeque<Instant>,
    /// Exits seen while waiting for something else, handled next.
    pending: VecDeque<(TaskId, Exit)>,
}

impl Run {
    fn start(&mut self, spec: ChildSpec, restarts: u32, consecutive: u32, delay: Duration) {
        // Not a child of `self.cancel`: shutdown cancels children one by one, in order. The slot's
        // drop guard cancels the token if the supervisor itself is dropped or aborted.
        let token = CancellationToken::new();
        let ctx = ChildCtx { cancel: token.clone(), restarts };
        let start = spec.start.clone();
        let abort = self.tasks.spawn(async move {
            if !delay.is_zero() {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            start(ctx).await
        });
        let task = abort.id();
        self.owners.insert(task, spec.id.clone());
        let slot = Slot {
            spec,
            _guard: token.clone().drop_guard(),
            token,
            abort,
            task,
            restarts,
            consecutive,
            started: Instant::now() + delay,
        };
        match self.slots.iter().position(|s| s.spec.id == slot.spec.id) {
            Some(i) => self.slots[i] = slot,
            None => self.slots.push(slot),
        }
    }

    fn publish(&self) {
        let children = self
            .slots
            .iter()
            .map(|s| ChildRecord {
                id: s.spec.id.clone(),
                restart: s.spec.restart,
                restarts: s.restarts,
                started: s.started,
            })
            .collect();
        if let Ok(mut c) = self.info.0.lock() {
            *c = children;
        }
    }

    /// Handle one child's exit: restart, forget, or give up.
    fn on_exit(&mut self, task: TaskId, res: Exit) -> Result<(), ChildError> {
        let Some(id) = self.owners.remove(&task) else { return Ok(()) };
        let Some(idx) = self.slots.iter().position(|s| s.task == task) else { return Ok(()) };
        // Anything the dead child spawned under its token goes with it.
        self.slots[idx].token.cancel();
        let name = &self.cfg.name;
        let abnormal = match &res {
            Ok(Ok(())) => {
                debug!(supervisor = %name, child = %id, "child exited normally");
                false
            }
            Ok(Err(e)) => {
                warn!(supervisor = %name, child = %id, cause = %e, "child failed");
                true
            }
            Err(e) if e.is_panic() => {
                error!(supervisor = %name, child = %id, "child panicked");
                true
            }
            // Only a kill aborts a child outside of a shutdown (which forgets it first).
            Err(_) => {
                warn!(supervisor = %name, child = %id, "child was killed");
                true
            }
        };
        let restart = match self.slots[idx].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => false,
        };
        if !restart {
            self.slots.remove(idx);
            self.publish();
            return Ok(());
        }
        let now = Instant::now();
        self.restart_log.push_back(now);
        while self.restart_log.front().is_some_and(|t| now.duration_since(*t) > self.cfg.period) {
            self.restart_log.pop_front();
        }
        if self.restart_log.len() as u32 > self.cfg.intensity {
            error!(
                supervisor = %name,
                child = %id,
                restarts = self.restart_log.len(),
                period_ms = self.cfg.period.as_millis() as u64,
                "restart intensity exceeded; giving up"
            );
            self.slots.remove(idx);
            return Err(ChildError::new(format!(
                "{name}: restart intensity exceeded ({} restarts in {:?}, child {id})",
                self.restart_log.len(),
                self.cfg.period
            )));
        }
        let slot = &self.slots[idx];
        // A child that ran for a while starts its backoff over.
        let consecutive = if slot.started.elapsed() > self.cfg.backoff_max.max(self.cfg.period) {
            0
        } else {
            slot.consecutive
        };
        let delay = backoff(&self.cfg, consecutive);
        let restarts = slot.restarts + 1;
        let spec = slot.spec.clone();
        info!(supervisor = %name, child = %id, restarts, delay_ms = delay.as_millis() as u64, "restarting child");
        self.start(spec, restarts, consecutive + 1, delay);
        self.publish();
        if let Some(hook) = &self.on_restart {
            hook(&id, restarts);
        }
        Ok(())
    }

    async fn on_msg(&mut self, msg: SupMsg) {
        match msg {
            SupMsg::Start(spec, reply) => {
                let res = if self.slots.iter().any(|s| s.spec.id == spec.id) {
                    Err(SupervisorError::AlreadyStarted { id: spec.id.clone() })
                } else {
                    self.start(spec, 0, 0, Duration::ZERO);
                    self.publish();
                    Ok(())
                };
                let _ = reply.send(res);
            }
            SupMsg::Terminate(id, reply) => {
                let res = match self.slots.iter().position(|s| s.spec.id == id) {
                    Some(i) => {
                        let slot = self.slots.remove(i);
                        self.stop_slots(vec![slot]).await;
                        self.publish();
                        Ok(())
                    }
                    None => Err(SupervisorError::NotFound { id }),
                };
                let _ = reply.send(res);
            }
            SupMsg::Kill(id, reply) => {
                let res = match self.slots.iter().find(|s| s.spec.id == id) {
                    Some(slot) => {
                        warn!(supervisor = %self.cfg.name, child = %id, "killing child");
                        slot.abort.abort();
                        Ok(())
                    }
                    None => Err(SupervisorError::NotFound { id }),
                };
                let _ = reply.send(res);
            }
            SupMsg::TerminateAll(reply) => {
                let slots = std::mem::take(&mut self.slots);
                self.stop_slots(slots).await;
                self.publish();
                let _ = reply.send(());
            }
        }
    }

    /// Shut down in reverse start order, one child at a time.
    async fn shutdown_ordered(&mut self) {
        while let Some(slot) = self.slots.pop() {
            self.stop_slots(vec![slot]).await;
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Cancel these children together; wait for each up to its own timeout, then abort it.
    async fn stop_slots(&mut self, slots: Vec<Slot>) {
        if slots.is_empty() {
            return;
        }
        let start = Instant::now();
        // task → (deadline, abort handle, child id, already aborted)
        let mut waiting: HashMap<TaskId, (Instant, AbortHandle, String, bool)> = HashMap::new();
        for s in &slots {
            s.token.cancel();
            waiting.insert(s.task, (start + s.spec.shutdown, s.abort.clone(), s.spec.id.clone(), false));
        }
        while !waiting.is_empty() {
            let deadline = waiting.values().map(|w| w.0).min().unwrap_or(start);
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(joined)) => {
                    let (task, res) = split(joined);
                    if waiting.remove(&task).is_some() {
                        self.owners.remove(&task);
                    } else {
                        self.pending.push_back((task, res));
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    let now = Instant::now();
                    waiting.retain(|_, (dl, abort, id, aborted)| {
                        if *dl > now {
                            return true;
                        }
                        if *aborted {
                            // Aborted and still not gone (it never yields): stop waiting for it.
                            error!(child = %id, "child ignored abort; leaving it behind");
                            return false;
                        }
                        warn!(child = %id, "child did not stop in time; aborting");
                        abort.abort();
                        *aborted = true;
                        // Give the aborted task a moment to unwind.
                        *dl = now + Duration::from_secs(1);
                        true
                    });
                }
            }
        }
    }
}

fn backoff(cfg: &SupervisorConfig, consecutive: u32) -> Duration {
    let factor = 2u32.saturating_pow(consecutive.min(16));
    cfg.backoff_initial.saturating_mul(factor).min(cfg.backoff_max)
}

#[cfg(test)]
mod tests;
