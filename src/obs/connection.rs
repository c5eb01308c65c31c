//! `ObsConnection`: the user's tree child that keeps the link to OBS's WebSocket server up and
//! ties OBS's stream to the app's.
//!
//! - **Link**: connects to `[obs] url` with the password from the secret store (env
//!   `STREAMPAI_OBS_PASSWORD` first); on failure retries with backoff (0.5 s doubling to 10 s,
//!   with jitter; 30 s for an incompatible peer). A refused password (`auth_failed`) is not
//!   retried until a `Refresh` (new password, changed `[obs]`, `Engine::obs_reconnect`). While
//!   connected, OBS's stream status is polled (every 2 s while OBS streams, every 10 s otherwise:
//!   an OBS that stops answering is noticed and reconnected).
//! - **One Start** (`[obs] start_with_stream`, `stop_with_stream`, read at each use): the app's
//!   stream going `starting` makes OBS start streaming if it is not; `stopping` stops OBS (if OBS
//!   is still starting, its stream is stopped once it has started). OBS's `StreamStateChanged`
//!   STARTED starts the app's stream at once when it is offline (and, with Cloudflare, the live
//!   input is polled at once). OBS stopping is handled by `StreamAutomation`, which ends the stream
//!   after `[local] source_grace_ms` (it follows the `obs_status` events this actor publishes).

use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use super::client::{self, ConnectOptions, ObsClient, ObsError, Session};
use super::protocol::{ObsEvent, OutputState};
use super::setup;
use super::status::{health, ObsHealth, ObsState, ObsStatus};
use crate::actor::{self, ActorError, ChildResult, Mailbox};
use crate::events::Event;
use crate::failure::{Failure, FailureKind, FailureSource};
use crate::stream_state::StreamPhase;
use crate::telemetry::esc;
use crate::user_stream_manager::UserStream;

/// Poll OBS's stream status this often while it streams (health figures)...
pub(crate) const POLL_STREAMING: Duration = Duration::from_secs(2);
/// ... and this often otherwise (is OBS still answering?).
pub(crate) const POLL_IDLE: Duration = Duration::from_secs(10);
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
const BACKOFF_INCOMPATIBLE: Duration = Duration::from_secs(30);

pub(crate) enum Msg {
    /// Re-read `[obs]` and the password and connect again now (also after `auth_failed`).
    Refresh { reply: oneshot::Sender<()> },
    /// Tests: make the actor panic, to prove the supervisor brings it back.
    #[cfg(test)]
    Panic,
}

/// The engine's handle on the user's OBS connection.
#[derive(Clone)]
pub(crate) struct ObsConnectionHandle {
    tx: mpsc::Sender<Msg>,
}

impl ObsConnectionHandle {
    pub(crate) fn channel() -> (Self, Mailbox<Msg>) {
        let (tx, mb) = actor::mailbox(8);
        (ObsConnectionHandle { tx }, mb)
    }

    /// Connect again with the settings and password in force.
    pub(crate) async fn refresh(&self) -> Result<(), ActorError> {
        actor::call(&self.tx, |reply| Msg::Refresh { reply }, actor::CALL_TIMEOUT).await
    }

    #[cfg(test)]
    pub(crate) async fn inject_panic(&self) {
        let _ = self.tx.send(Msg::Panic).await;
    }
}

#[derive(Clone)]
pub(crate) struct ObsArgs {
    pub user: UserStream,
    pub mailbox: Mailbox<Msg>,
}

/// OBS's stream output as last reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ObsPhase {
    Stopped,
    Starting,
    Streaming,
    Stopping,
}

/// How a wait ended.
enum Wake {
    Cancelled,
    Refresh,
    Timer,
}

/// How a connected session ended.
enum End {
    Cancelled,
    Refresh,
    Lost(ObsError),
}

struct Actor<'a> {
    user: &'a UserStream,
    mailbox: tokio::sync::OwnedMutexGuard<mpsc::Receiver<Msg>>,
    cancel: &'a CancellationToken,
    tag: String,
}

#[instrument(name = "ObsConnection", skip_all, fields(user_id = %args.user.user_id()))]
pub(crate) async fn run(args: ObsArgs, cancel: CancellationToken) -> ChildResult {
    let user = &args.user;
    let mailbox = args.mailbox.lock().await;
    let mut me = Actor { user, mailbox, cancel: &cancel, tag: format!("[ObsConnection:{}]", user.user_id()) };
    let res = me.run().await;
    user.obs_slot().set(None);
    user.obs_status().update(|s| {
        let previous = s.previous.clone();
        *s = ObsStatus { previous, ..ObsStatus::default() };
    });
    res
}

impl Actor<'_> {
    async fn run(&mut self) -> ChildResult {
        let cell = self.user.obs_status();
        let previous = self.user.obs_previous().previous();
        cell.update(|s| s.previous = previous);
        let mut failures = 0u32;
        loop {
            let cfg = self.user.config().obs.clone();
            if !cfg.enabled {
                cell.update(|s| {
                    let previous = s.previous.clone();
                    *s = ObsStatus { previous, ..ObsStatus::default() };
                });
                match self.wait(None).await {
                    Wake::Cancelled => return Ok(()),
                    Wake::Refresh | Wake::Timer => continue,
                }
            }
            let url = cfg.url.trim().to_string();
            cell.update(|s| {
                s.url = Some(url.clone());
                if matches!(s.state, ObsState::Off | ObsState::Connected) {
                    s.state = ObsState::Connecting;
                }
            });
            let password = self.user.obs_password();
            #[allow(unused_mut)]
            let mut opts = ConnectOptions::new(&url, password);
            #[cfg(test)]
            if let Some(t) = self.user.obs_test_timeouts() {
                (opts.connect_timeout, opts.request_timeout) = (t, t);
            }
            self.user.obs_attempts().fetch_add(1, Ordering::SeqCst);
            let attempt = tokio::select! {
                _ = self.cancel.cancelled() => return Ok(()),
                r = client::connect(&opts) => r,
            };
            let delay = match attempt {
                Ok(session) => {
                    failures = 0;
                    info!(
                        obs = %esc(&session.client.version().obs_version),
                        websocket = %esc(&session.client.version().obs_web_socket_version),
                        "{} connected to OBS at {}", self.tag, esc(&url)
                    );
                    match self.session(session).await {
                        End::Cancelled => return Ok(()),
                        End::Refresh => continue,
                        End::Lost(e) => {
                            warn!(cause = %e, "{} the link to OBS ended; reconnecting", self.tag);
                            cell.update(|s| {
                                s.state = ObsState::Connecting;
                                clear_stream(s);
                                s.obs_version = None;
                                s.websocket_version = None;
                                s.uses_app_ingest = None;
                                s.problem = Some(failure(&e));
                            });
                            Some(BACKOFF_START)
                        }
                    }
                }
                Err(e @ ObsError::AuthFailed(_)) => {
                    warn!(cause = %e, "{} OBS refused the password; waiting for a new one", self.tag);
                    cell.update(|s| {
                        s.state = ObsState::AuthFailed;
                        s.problem = Some(failure(&e));
                    });
                    None
                }
                Err(e @ ObsError::Incompatible(_)) => {
                    if cell.get().state != ObsState::Incompatible {
                        warn!(cause = %e, "{} not obs-websocket 5; retrying slowly", self.tag);
                    }
                    cell.update(|s| {
                        s.state = ObsState::Incompatible;
                        s.problem = Some(failure(&e));
                    });
                    Some(BACKOFF_INCOMPATIBLE)
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 {
                        info!(cause = %e, "{} OBS is not reachable; retrying with backoff", self.tag);
                    }
                    cell.update(|s| {
                        s.state = ObsState::Unreachable;
                        s.problem = Some(failure(&e));
                    });
                    Some(backoff(failures))
                }
            };
            match self.wait(delay).await {
                Wake::Cancelled => return Ok(()),
                Wake::Refresh => failures = 0,
                Wake::Timer => {}
            }
        }
    }

    /// Wait for `delay` (forever when `None`), a refresh, or the end.
    async fn wait(&mut self, delay: Option<Duration>) -> Wake {
        let timer = async {
            match delay {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.cancel.cancelled() => Wake::Cancelled,
            _ = timer => Wake::Timer,
            msg = self.mailbox.recv() => match msg {
                None => Wake::Cancelled,
                Some(Msg::Refresh { reply }) => {
                    let _ = reply.send(());
                    Wake::Refresh
                }
                #[cfg(test)]
                Some(Msg::Panic) => panic!("injected panic in the OBS connection"),
            },
        }
    }

    async fn session(&mut self, mut session: Session) -> End {
        let client = session.client.clone();
        let cell = self.user.obs_status();
        let mut app_events = self.user.subscribe();
        let first = match client.stream_status().await {
            Ok(s) => s,
            Err(e) => return End::Lost(e),
        };
        let uses = self.uses_app_ingest(&client).await;
        let mut phase = if first.output_active { ObsPhase::Streaming } else { ObsPhase::Stopped };
        let version = client.version().clone();
        cell.update(|s| {
            s.state = ObsState::Connected;
            s.obs_version = Some(version.obs_version.clone());
            s.websocket_version = Some(version.obs_web_socket_version.clone());
            s.problem = None;
            s.uses_app_ingest = uses;
            apply_poll(s, &first);
        });
        self.user.obs_slot().set(Some(client.clone()));
        let mut app_phase = self.user.state.snapshot().await.map(|d| d.state).unwrap_or(StreamPhase::Offline);
        // The app stopped while OBS was still starting: stop OBS once it has started.
        let mut pending_stop = false;
        // The app's stream is starting because OBS started: its Starting event is OBS's own
        // echo and must not command OBS (OBS may have stopped again in between).
        let mut started_by_obs = false;
        let mut next_poll = Instant::now() + poll_every(phase);
        let end = loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break End::Cancelled,
                msg = self.mailbox.recv() => match msg {
                    None => break End::Cancelled,
                    Some(Msg::Refresh { reply }) => {
                        let _ = reply.send(());
                        break End::Refresh;
                    }
                    #[cfg(test)]
                    Some(Msg::Panic) => panic!("injected panic in the OBS connection"),
                },
                ev = session.events.recv() => match ev {
                    None => break End::Lost(ObsError::Lost("the connection to OBS ended".into())),
                    Some(Err(e)) => break End::Lost(e),
                    Some(Ok(ObsEvent::Exiting)) => break End::Lost(ObsError::Lost("OBS is closing".into())),
                    Some(Ok(ObsEvent::Other(_))) => {}
                    Some(Ok(ObsEvent::StreamState { active, state })) => {
                        let before = phase;
                        phase = match state {
                            OutputState::Starting => ObsPhase::Starting,
                            OutputState::Started | OutputState::Reconnecting | OutputState::Reconnected => ObsPhase::Streaming,
                            OutputState::Stopping => ObsPhase::Stopping,
                            OutputState::Stopped => ObsPhase::Stopped,
                            OutputState::Other if active => ObsPhase::Streaming,
                            OutputState::Other => phase,
                        };
                        info!(?state, "{} OBS stream state", self.tag);
                        cell.update(|s| {
                            // OBS's output stays active while it stops (GetStreamStatus says so
                            // until STOPPED, whatever the STOPPING event's flag).
                            s.streaming = phase == ObsPhase::Streaming || (phase == ObsPhase::Stopping && s.streaming);
                            s.reconnecting = state == OutputState::Reconnecting;
                            s.health = if s.reconnecting {
                                ObsHealth::Reconnecting
                            } else if s.streaming {
                                health(ObsHealth::Good, true, false, s.congestion.unwrap_or(0.0))
                            } else {
                                ObsHealth::Idle
                            };
                            if phase == ObsPhase::Stopped {
                                clear_stream(s);
                            }
                        });
                        if state == OutputState::Started && before != ObsPhase::Streaming {
                            if pending_stop {
                                pending_stop = false;
                                info!("{} OBS started after the app stopped: stopping OBS", self.tag);
                                self.obs_command(&client, false).await;
                            } else {
                                started_by_obs = self.obs_started(&client, app_phase).await;
                            }
                        }
                        if phase == ObsPhase::Stopped {
                            pending_stop = false;
                        }
                        next_poll = next_poll.min(Instant::now() + poll_every(phase));
                    }
                },
                ev = app_events.recv() => match ev {
                    Ok(Event::StreamState { state, .. }) => {
                        let before = app_phase;
                        app_phase = state;
                        if before == state {
                            continue;
                        }
                        let obs = self.user.config().obs.clone();
                        let echo = std::mem::take(&mut started_by_obs);
                        if state == StreamPhase::Starting && echo {
                            continue;
                        }
                        match state {
                            StreamPhase::Starting if obs.start_with_stream && phase == ObsPhase::Stopped => {
                                info!("{} the app's stream starts: starting OBS's stream", self.tag);
                                // OBS is starting from now on (its STARTING event may come after
                                // the app's next move).
                                if self.obs_command(&client, true).await {
                                    phase = ObsPhase::Starting;
                                }
                            }
                            StreamPhase::Stopping if obs.stop_with_stream => match phase {
                                ObsPhase::Streaming => {
                                    info!("{} the app's stream stops: stopping OBS's stream", self.tag);
                                    if self.obs_command(&client, false).await {
                                        phase = ObsPhase::Stopping;
                                    }
                                }
                                ObsPhase::Starting => pending_stop = true,
                                ObsPhase::Stopped | ObsPhase::Stopping => {}
                            },
                            _ => {}
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        app_phase = self.user.state.snapshot().await.map(|d| d.state).unwrap_or(app_phase);
                    }
                    Err(RecvError::Closed) => break End::Cancelled,
                },
                _ = tokio::time::sleep_until(next_poll) => {
                    match client.stream_status().await {
                        Ok(st) => {
                            cell.update(|s| apply_poll(s, &st));
                            // An event missed: the poll is the truth for what is shown.
                            if st.output_active && matches!(phase, ObsPhase::Stopped | ObsPhase::Starting) {
                                phase = ObsPhase::Streaming;
                            } else if !st.output_active && phase == ObsPhase::Streaming {
                                phase = ObsPhase::Stopped;
                            }
                        }
                        Err(e @ (ObsError::Timeout(_) | ObsError::Lost(_) | ObsError::Protocol(_))) => {
                            break End::Lost(e)
                        }
                        Err(e) => warn!(cause = %e, "{} GetStreamStatus failed", self.tag),
                    }
                    next_poll = Instant::now() + poll_every(phase);
                }
            }
        };
        self.user.obs_slot().set(None);
        session.close();
        end
    }

    /// OBS's stream started (its event): poll Cloudflare at once, re-check where OBS sends, and
    /// start the app's stream if it is offline. True when it started the app's stream.
    async fn obs_started(&self, client: &ObsClient, app_phase: StreamPhase) -> bool {
        self.user.obs_input_poll().notify_one();
        let uses = self.uses_app_ingest(client).await;
        self.user.obs_status().update(|s| s.uses_app_ingest = uses);
        let obs = self.user.config().obs.clone();
        if !obs.start_with_stream || app_phase != StreamPhase::Offline {
            return false;
        }
        if uses == Some(false) {
            warn!("{} OBS started streaming, but not to the app's ingest (use \"Set up OBS\")", self.tag);
        }
        let started = match self.user.validate_start() {
            Ok(targets) => self.user.start_stream(targets).await,
            Err(e) => Err(e),
        };
        match started {
            Ok(uuid) => {
                info!(%uuid, "{} OBS started streaming: the app's stream started", self.tag);
                self.user.obs_status().update(|s| s.problem = None);
                true
            }
            Err(e) => {
                warn!(cause = %e, "{} OBS started streaming, but the app's stream could not start", self.tag);
                let kind = match e {
                    crate::EngineError::InvalidPlatform { .. } | crate::EngineError::NotConfigured { .. } => {
                        FailureKind::NotConfigured
                    }
                    _ => FailureKind::Other,
                };
                self.user.obs_status().update(|s| {
                    s.problem = Some(Failure::new(
                        kind,
                        FailureSource::App,
                        format!("OBS started streaming, but the app's stream could not start: {e}"),
                    ))
                });
                false
            }
        }
    }

    /// StartStream / StopStream; "already running" / "not running" count as done. Whether OBS
    /// took the command.
    async fn obs_command(&self, client: &ObsClient, start: bool) -> bool {
        let res = if start { client.start_stream().await } else { client.stop_stream().await };
        match res {
            Ok(()) => true,
            Err(e) if start && e.is_output_running() => true,
            Err(e) if !start && e.is_output_not_running() => true,
            Err(e) => {
                warn!(cause = %e, "{} OBS did not {} its stream", self.tag, if start { "start" } else { "stop" });
                self.user.obs_status().update(|s| s.problem = Some(failure(&e)));
                false
            }
        }
    }

    /// Whether OBS's stream settings point at the app's ingest (`None` when not known).
    async fn uses_app_ingest(&self, client: &ObsClient) -> Option<bool> {
        let target = self.user.obs_ingest_target().await?;
        let svc = client.stream_service().await.ok()?;
        Some(setup::uses(&svc, &target))
    }
}

fn poll_every(phase: ObsPhase) -> Duration {
    if phase == ObsPhase::Stopped {
        POLL_IDLE
    } else {
        POLL_STREAMING
    }
}

/// A polled GetStreamStatus into the status.
fn apply_poll(s: &mut ObsStatus, st: &super::protocol::StreamStatus) {
    s.streaming = st.output_active;
    s.reconnecting = st.output_reconnecting;
    s.health = health(s.health, st.output_active, st.output_reconnecting, st.output_congestion);
    if st.output_active {
        s.congestion = Some((st.output_congestion.clamp(0.0, 1.0) * 1000.0).round() / 1000.0);
        s.skipped_frames = Some(st.output_skipped_frames);
        s.total_frames = Some(st.output_total_frames);
    } else {
        clear_stream(s);
    }
}

fn clear_stream(s: &mut ObsStatus) {
    s.streaming = false;
    s.reconnecting = false;
    s.health = ObsHealth::Idle;
    s.congestion = None;
    s.skipped_frames = None;
    s.total_frames = None;
}

/// An OBS error as a typed failure with `source: obs`.
pub(crate) fn failure(e: &ObsError) -> Failure {
    let kind = match e {
        ObsError::Unreachable(_) | ObsError::Lost(_) => FailureKind::Unreachable,
        ObsError::AuthFailed(_) => FailureKind::AuthRejected,
        ObsError::Incompatible(_) | ObsError::Protocol(_) => FailureKind::Protocol,
        ObsError::Timeout(_) => FailureKind::Timeout,
        ObsError::Refused { .. } => FailureKind::Other,
    };
    Failure::new(kind, FailureSource::Obs, e.to_string())
}

/// 0.5 s doubling to 10 s, each in [d/2, d].
fn backoff(failures: u32) -> Duration {
    let d = BACKOFF_START
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
        .min(BACKOFF_MAX);
    let half = d / 2;
    half + half.mul_f64(rand::rng().random_range(0.0..1.0))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= BACKOFF_START && backoff(1) >= BACKOFF_START / 2);
        assert!(backoff(3) >= Duration::from_secs(1));
        assert!(backoff(50) <= BACKOFF_MAX && backoff(50) >= BACKOFF_MAX / 2);
    }
}
