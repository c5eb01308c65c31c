//! StreamStateServer: the stream state machine (offline → starting → live → stopping → offline),
//! the input status, the stream UUID and start time, and each platform's status.

use serde::{Deserialize, Serialize};

/// Where the stream is in its life.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum StreamPhase {
    #[default]
    Offline,
    Starting,
    Live,
    Stopping,
}

/// Is OBS sending to the ingest?
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    /// Before the first successful poll.
    #[default]
    Unknown,
    NoTraffic,
    ReceivingTraffic,
}

/// One platform's status; serialized as `{"status": "...", ...}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PlatformStatus {
    Starting,
    Live,
    Retrying { reason: crate::failure::Failure, attempt: u32 },
    Failed { reason: crate::failure::Failure },
    Stopped,
    Disabled,
}

/// How a stream ended (the history's `ended_by`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Stopped from the API, the UI, the tray, or the tree shutting down.
    #[default]
    Stopped,
    /// No media from OBS for `[local] source_timeout_ms` while on air.
    SourceLost,
}

impl EndReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            EndReason::Stopped => "stopped",
            EndReason::SourceLost => "source_lost",
        }
    }
}

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument};
use uuid::Uuid;

use crate::actor::{self, ActorError, ChildResult, Mailbox, CALL_TIMEOUT};
use crate::events::{Event, UserEvents};
use crate::presence::{Presence, SessionKind};

/// The presence session a live stream holds.
pub const LEASE_ID: &str = "lease:stream";

/// The stream's state; kept in a [`StreamStash`] outside the actor so a restarted
/// StreamStateServer recovers a stream that is still on air.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StreamData {
    pub state: StreamPhase,
    pub input: InputStatus,
    pub uuid: Option<Uuid>,
    pub started_at: Option<DateTime<Utc>>,
    /// Every configured platform, by name.
    pub platforms: BTreeMap<String, PlatformStatus>,
    /// The platforms this stream was started with.
    #[serde(skip)]
    pub streaming: Vec<String>,
    /// Why the stream is stopping (set by `begin_stop_for`).
    #[serde(skip)]
    pub ending: EndReason,
}

/// Shared, restart-surviving home of [`StreamData`].
pub type StreamStash = Arc<Mutex<StreamData>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamError {
    #[error("cannot {action} while the stream is {state:?}")]
    InvalidTransition { action: &'static str, state: StreamPhase },
    #[error(transparent)]
    Actor(#[from] ActorError),
}

#[derive(Clone)]
pub struct StreamStateArgs {
    pub user_id: String,
    pub events: UserEvents,
    pub stash: StreamStash,
    pub presence: Presence,
    /// Hold a presence lease while not offline (`!stop_with_last_session`).
    pub hold_lease: bool,
    /// Configured platforms: (name, enabled).
    pub platforms: Vec<(String, bool)>,
}

pub enum Msg {
    BeginStart(Vec<String>, oneshot::Sender<Result<Uuid, StreamError>>),
    BeginStop(EndReason, oneshot::Sender<Result<Uuid, StreamError>>),
    FinishStop(oneshot::Sender<()>),
    Platform(String, PlatformStatus),
    Input(InputStatus),
    SetPlatforms(Vec<(String, bool)>),
    AddStreaming(String, oneshot::Sender<()>),
    RemoveStreaming(String, oneshot::Sender<()>),
    Snapshot(oneshot::Sender<StreamData>),
}

/// Handle to the StreamStateServer.
#[derive(Clone)]
pub struct StreamStateHandle {
    tx: mpsc::Sender<Msg>,
}

impl StreamStateHandle {
    pub fn channel() -> (Self, Mailbox<Msg>) {
        let (tx, mb) = actor::mailbox(256);
        (StreamStateHandle { tx }, mb)
    }

    /// offline → starting with a new UUID for these platforms.
    pub async fn begin_start(&self, platforms: Vec<String>) -> Result<Uuid, StreamError> {
        actor::call(&self.tx, |r| Msg::BeginStart(platforms, r), CALL_TIMEOUT).await?
    }
    /// starting/live → stopping; returns the stream's UUID.
    pub async fn begin_stop(&self) -> Result<Uuid, StreamError> {
        self.begin_stop_for(EndReason::Stopped).await
    }
    /// Like [`begin_stop`](Self::begin_stop), recording why the stream ends.
    pub async fn begin_stop_for(&self, reason: EndReason) -> Result<Uuid, StreamError> {
        actor::call(&self.tx, |r| Msg::BeginStop(reason, r), CALL_TIMEOUT).await?
    }
    /// stopping → offline.
    pub async fn finish_stop(&self) -> Result<(), StreamError> {
        Ok(actor::call(&self.tx, Msg::FinishStop, CALL_TIMEOUT).await?)
    }
    pub async fn set_platform(&self, name: &str, status: PlatformStatus) -> Result<(), ActorError> {
        actor::cast(&self.tx, Msg::Platform(name.to_string(), status), CALL_TIMEOUT).await
    }
    pub async fn set_input(&self, status: InputStatus) -> Result<(), ActorError> {
        actor::cast(&self.tx, Msg::Input(status), CALL_TIMEOUT).await
    }
    pub async fn set_platforms(&self, platforms: Vec<(String, bool)>) -> Result<(), ActorError> {
        actor::cast(&self.tx, Msg::SetPlatforms(platforms), CALL_TIMEOUT).await
    }
    /// A platform enabled mid-stream joins it (`starting`).
    pub async fn add_streaming(&self, name: &str) -> Result<(), ActorError> {
        let name = name.to_string();
        actor::call(&self.tx, |r| Msg::AddStreaming(name, r), CALL_TIMEOUT).await
    }
    /// A platform disabled mid-stream leaves it (`disabled`).
    pub async fn remove_streaming(&self, name: &str) -> Result<(), ActorError> {
        let name = name.to_string();
        actor::call(&self.tx, |r| Msg::RemoveStreaming(name, r), CALL_TIMEOUT).await
    }
    pub async fn snapshot(&self) -> Result<StreamData, ActorError> {
        actor::call(&self.tx, Msg::Snapshot, CALL_TIMEOUT).await
    }
}

/// The StreamStateServer actor loop.
#[instrument(name = "StreamStateServer", skip_all, fields(user_id = %args.user_id))]
pub async fn run(args: StreamStateArgs, mailbox: Mailbox<Msg>, cancel: CancellationToken) -> ChildResult {
    let mut rx = mailbox.lock().await;
    let mut s = Server { args };
    s.recover();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            msg = rx.recv() => match msg {
                Some(m) => s.handle(m),
                None => break,
            },
        }
    }
    // A graceful stop means the tree is going away (its platforms were stopped before this
    // child, in reverse start order): the stream ends. A crash never gets here, so a restarted
    // server recovers the stream instead.
    s.end_if_on_air();
    Ok(())
}

struct Server {
    args: StreamStateArgs,
}

impl Server {
    fn with<R>(&self, f: impl FnOnce(&mut StreamData) -> R) -> R {
        let mut d = self.args.stash.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut d)
    }

    fn recover(&mut self) {
        let platforms = self.args.platforms.clone();
        let data = self.with(|d| {
            for (name, enabled) in &platforms {
                d.platforms.entry(name.clone()).or_insert(if *enabled {
                    PlatformStatus::Stopped
                } else {
                    PlatformStatus::Disabled
                });
            }
            d.clone()
        });
        if data.state != StreamPhase::Offline {
            info!(uuid = ?data.uuid, state = ?data.state, "recovered a stream that is still on air");
            self.lease(true);
        }
    }

    fn end_if_on_air(&mut self) {
        if self.with(|d| d.state) != StreamPhase::Offline {
            info!("tree stopping: the stream ends");
            let (tx, _rx) = oneshot::channel();
            self.handle(Msg::FinishStop(tx));
        }
    }

    fn lease(&self, hold: bool) {
        if !self.args.hold_lease {
            return;
        }
        let user = &self.args.user_id;
        if hold {
            self.args.presence.track(user, LEASE_ID, SessionKind::Lease, None);
        } else {
            self.args.presence.untrack(user, LEASE_ID);
        }
    }

    fn emit_state(&self) {
        let d = self.with(|d| d.clone());
        self.args.events.emit(Event::StreamState {
            user_id: self.args.user_id.clone(),
            state: d.state,
            uuid: d.uuid,
            started_at: d.started_at,
        });
    }

    fn emit_platform(&self, name: &str, status: &PlatformStatus) {
        self.args.events.emit(Event::PlatformStatus {
            user_id: self.args.user_id.clone(),
            platform: name.to_string(),
            status: status.clone(),
        });
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::BeginStart(platforms, reply) => {
                let res = self.with(|d| {
                    if d.state != StreamPhase::Offline {
                        return Err(StreamError::InvalidTransition { action: "start", state: d.state });
                    }
                    let uuid = Uuid::new_v4();
                    d.state = StreamPhase::Starting;
                    d.uuid = Some(uuid);
                    d.started_at = Some(Utc::now());
                    for p in &platforms {
                        d.platforms.insert(p.clone(), PlatformStatus::Starting);
                    }
                    d.streaming = platforms.clone();
                    Ok(uuid)
                });
                if let Ok(uuid) = &res {
                    info!(%uuid, platforms = platforms.len(), "stream starting");
                    self.lease(true);
                    self.emit_state();
                    for p in &platforms {
                        self.emit_platform(p, &PlatformStatus::Starting);
                    }
                    self.maybe_live();
                }
                let _ = reply.send(res);
            }
            Msg::BeginStop(reason, reply) => {
                let res = self.with(|d| match (d.state, d.uuid) {
                    (StreamPhase::Starting | StreamPhase::Live, Some(uuid)) => {
                        d.state = StreamPhase::Stopping;
                        d.ending = reason;
                        Ok(uuid)
                    }
                    (state, _) => Err(StreamError::InvalidTransition { action: "stop", state }),
                });
                if res.is_ok() {
                    info!(reason = reason.as_str(), "stream stopping");
                    self.emit_state();
                }
                let _ = reply.send(res);
            }
            Msg::FinishStop(reply) => {
                let changed = self.with(|d| {
                    let was = d.state;
                    let ended = d.uuid.map(|u| (u, std::mem::take(&mut d.ending)));
                    d.state = StreamPhase::Offline;
                    d.uuid = None;
                    d.started_at = None;
                    d.streaming.clear();
                    let mut changed = Vec::new();
                    for (name, st) in d.platforms.iter_mut() {
                        if !matches!(st, PlatformStatus::Disabled | PlatformStatus::Stopped) {
                            *st = PlatformStatus::Stopped;
                            changed.push(name.clone());
                        }
                    }
                    (was != StreamPhase::Offline, changed, ended)
                });
                for name in &changed.1 {
                    self.emit_platform(name, &PlatformStatus::Stopped);
                }
                if changed.0 {
                    if let Some((uuid, ended_by)) = changed.2 {
                        self.args.events.emit(Event::StreamEnded {
                            user_id: self.args.user_id.clone(),
                            uuid,
                            ended_by,
                        });
                    }
                    info!("stream offline");
                    self.emit_state();
                }
                self.lease(false);
                let _ = reply.send(());
            }
            Msg::Platform(name, status) => {
                let changed = self.with(|d| {
                    // Late reports from a stream that already ended are dropped.
                    if d.state == StreamPhase::Offline && status != PlatformStatus::Stopped {
                        return false;
                    }
                    if !d.streaming.contains(&name) && d.state != StreamPhase::Offline {
                        return false;
                    }
                    d.platforms.insert(name.clone(), status.clone()) != Some(status.clone())
                });
                if changed {
                    self.emit_platform(&name, &status);
                    self.maybe_live();
                }
            }
            Msg::Input(status) => {
                let changed = self.with(|d| std::mem::replace(&mut d.input, status) != status);
                if changed {
                    info!(?status, "input status changed");
                    self.args.events.emit(Event::InputStatus { user_id: self.args.user_id.clone(), status });
                }
            }
            Msg::SetPlatforms(list) => {
                self.args.platforms = list.clone();
                let emitted = self.with(|d| {
                    d.platforms.retain(|name, _| list.iter().any(|(n, _)| n == name));
                    let mut out = Vec::new();
                    for (name, enabled) in &list {
                        let idle = if *enabled { PlatformStatus::Stopped } else { PlatformStatus::Disabled };
                        let cur = d.platforms.get(name);
                        let streaming = d.streaming.contains(name) && d.state != StreamPhase::Offline;
                        if !streaming && cur != Some(&idle) {
                            d.platforms.insert(name.clone(), idle.clone());
                            out.push((name.clone(), idle));
                        }
                    }
                    out
                });
                for (n, s) in emitted {
                    self.emit_platform(&n, &s);
                }
            }
            Msg::AddStreaming(name, reply) => {
                let added = self.with(|d| {
                    if d.state == StreamPhase::Offline || d.streaming.contains(&name) {
                        return false;
                    }
                    d.streaming.push(name.clone());
                    d.platforms.insert(name.clone(), PlatformStatus::Starting);
                    true
                });
                if added {
                    self.emit_platform(&name, &PlatformStatus::Starting);
                }
                let _ = reply.send(());
            }
            Msg::RemoveStreaming(name, reply) => {
                let removed = self.with(|d| {
                    let before = d.streaming.len();
                    d.streaming.retain(|n| n != &name);
                    if d.streaming.len() == before {
                        return false;
                    }
                    d.platforms.insert(name.clone(), PlatformStatus::Disabled);
                    true
                });
                if removed {
                    self.emit_platform(&name, &PlatformStatus::Disabled);
                    self.maybe_live();
                }
                let _ = reply.send(());
            }
            Msg::Snapshot(reply) => {
                let _ = reply.send(self.with(|d| d.clone()));
            }
        }
    }

    /// starting → live once every platform of the stream has had its first attempt.
    fn maybe_live(&mut self) {
        let went_live = self.with(|d| {
            let settled =
                d.streaming.iter().all(|p| !matches!(d.platforms.get(p), Some(PlatformStatus::Starting)));
            if d.state == StreamPhase::Starting && settled {
                d.state = StreamPhase::Live;
                true
            } else {
                false
            }
        });
        if went_live {
            info!("stream live");
            self.emit_state();
        }
    }
}

#[cfg(test)]
#[path = "stream_state_tests.rs"]
mod tests;
