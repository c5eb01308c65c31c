//! [`StreamInfoDesk`]: the saved stream info and its pushes.
//!
//! The info lives in the state file under `stream_info` (with the last push's results), written
//! atomically before any push: a push that fails never touches it. A push sends the saved info
//! to every platform at once, each bounded by [`PUSH_TIMEOUT`], in a task of its own (a caller
//! that goes away does not cut it short). Pushes take turns, and each sends the info saved when
//! its turn comes: after two quick saves the platforms end with the second, whatever the network
//! does. Each change is published as `Event::StreamInfo`.
//!
//! The `StreamInfo` child of the root supervisor pushes the saved info whenever a stream starts
//! (any way it starts: the Start button, the API, the sync link, OBS, auto start), in the
//! background: the start never waits for it.
//!
//! YouTube keeps titles per broadcast, and at Start its broadcast is usually not live yet (OBS
//! has only begun sending): that push's YouTube result is `no_broadcast`. `YouTubeEvents`
//! looks for the live broadcast anyway (for its chat) and publishes the one it finds on the
//! account handle; the child then sends the saved info to it ([`StreamInfoDesk::push_to_broadcast`])
//! when the latest push's YouTube result is `no_broadcast` and a stream is still starting or
//! live — once per broadcast, with the update call alone (no lookup of its own). Only a *live*
//! broadcast is updated, never an upcoming one: a channel may have several scheduled, and the
//! list does not say which one this stream feeds.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::targets::{self, InfoPlatform, Targets};
use super::{
    PushError, PushErrorKind, PushReport, PushResult, PushResults, PushTrigger, StreamInfo, StreamInfoInput,
    StreamInfoView, PUSH_TIMEOUT,
};
use crate::accounts::twitch_account::TwitchAccountHandle;
use crate::accounts::youtube_account::YouTubeAccountHandle;
use crate::accounts::youtube_api::Broadcast;
use crate::error::EngineError;
use crate::events::{Event, UserEvents};
use crate::state_file::StateFile;
use crate::stream_state::StreamPhase;
use crate::supervisor::{ChildSpec, Restart};
use crate::telemetry::esc;

const STATE_KEY: &str = "stream_info";
const VERSION: u32 = 1;

/// The state file's `stream_info` entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    info: Option<StreamInfo>,
    saved_at: Option<DateTime<Utc>>,
    last_push: Option<PushReport>,
}

struct State {
    stored: Stored,
    /// Pushes under way.
    pushing: u32,
    /// The last push started, and the last one whose results were kept.
    started_seq: u64,
    kept_seq: u64,
    /// The YouTube broadcast the saved info (saved at) was last sent to once found live (in
    /// this run): the same info goes to the same broadcast once.
    followed: Option<(String, Option<DateTime<Utc>>)>,
}

struct Inner {
    file: StateFile,
    events: UserEvents,
    targets: Targets,
    state: Mutex<State>,
    /// One push at a time.
    turn: tokio::sync::Mutex<()>,
}

/// Cheap to clone.
#[derive(Clone)]
pub(crate) struct StreamInfoDesk {
    inner: Arc<Inner>,
}

/// Counts a push as under way while it lives (also if its task is cancelled).
struct Pushing(StreamInfoDesk);

impl Drop for Pushing {
    fn drop(&mut self) {
        self.0.with_state(|s| s.pushing = s.pushing.saturating_sub(1));
        self.0.publish();
    }
}

impl StreamInfoDesk {
    /// The saved info from `file` (an entry this version cannot read is kept untouched until the
    /// next save, and logged).
    pub(crate) fn load(
        file: StateFile,
        events: UserEvents,
        twitch: TwitchAccountHandle,
        youtube: YouTubeAccountHandle,
    ) -> Self {
        let stored = match file.get(STATE_KEY).map(|t| serde_json::from_str::<Stored>(&t)) {
            None => Stored::default(),
            Some(Ok(s)) if s.version == VERSION => s,
            Some(Ok(_)) | Some(Err(_)) => {
                warn!("the saved stream info is not in a form this version reads; it is replaced at the next save");
                Stored::default()
            }
        };
        let state = State { stored, pushing: 0, started_seq: 0, kept_seq: 0, followed: None };
        StreamInfoDesk {
            inner: Arc::new(Inner {
                file,
                events,
                targets: Targets { twitch, youtube },
                state: Mutex::new(state),
                turn: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.inner.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn view(&self) -> StreamInfoView {
        self.with_state(|s| StreamInfoView {
            info: s.stored.info.clone(),
            saved_at: s.stored.saved_at,
            pushing: s.pushing > 0,
            last_push: s.stored.last_push.clone(),
        })
    }

    pub(crate) fn twitch(&self) -> &TwitchAccountHandle {
        &self.inner.targets.twitch
    }

    fn publish(&self) {
        self.inner
            .events
            .emit(Event::StreamInfo { user_id: self.inner.events.user_id().to_string(), info: self.view() });
    }

    /// Write `stored` to the state file (under the state lock, so writes keep their order).
    fn write(&self, stored: &Stored) -> Result<(), String> {
        let text = serde_json::to_string(stored).map_err(|e| e.to_string())?;
        self.inner.file.set(STATE_KEY, Some(&text)).map_err(|e| e.to_string())
    }

    /// Check and save `input` (nothing is sent). Refused input names its field.
    pub(crate) fn save(&self, input: &StreamInfoInput) -> Result<StreamInfo, EngineError> {
        let res = self.with_state(|s| {
            let info = input.validate(s.stored.info.as_ref())?;
            let mut next = s.stored.clone();
            next.version = VERSION;
            next.info = Some(info.clone());
            next.saved_at = Some(Utc::now());
            if let Err(e) = self.write(&next) {
                // The state file's own copy goes back too.
                let _ = self.write(&s.stored);
                return Err(EngineError::Storage { message: format!("cannot save the stream info: {e}") });
            }
            s.stored = next;
            Ok(info)
        });
        match &res {
            Ok(info) => {
                info!(title = %esc(&info.title), "stream info saved");
                self.publish();
            }
            Err(e) => warn!(cause = %esc(&e.to_string()), "stream info not saved"),
        }
        res
    }

    /// Push the saved info to every platform; `None` when nothing is saved. Runs in a task of
    /// its own and waits for it.
    pub(crate) async fn push(&self, trigger: PushTrigger) -> Option<PushReport> {
        let (info, seq) = self.with_state(|s| {
            let info = s.stored.info.clone()?;
            s.started_seq += 1;
            s.pushing += 1;
            Some((info, s.started_seq))
        })?;
        let guard = Pushing(self.clone());
        self.publish();
        let desk = self.clone();
        let task = tokio::spawn(async move {
            let _guard = guard;
            let _turn = desk.inner.turn.lock().await;
            // The info saved now (a save made while this push waited is the one to send).
            let info = desk.with_state(|s| s.stored.info.clone()).unwrap_or(info);
            let report = desk.run_push(&info, trigger).await;
            // A category saved by id alone: its name from Twitch, once Twitch took it.
            let learned = match (&info.twitch_category_id, &info.twitch_category_name) {
                (Some(_), None) if report.results.twitch.ok => {
                    super::twitch::current_category(&desk.inner.targets.twitch).await
                }
                _ => None,
            };
            desk.keep(seq, &report, learned);
            report
        });
        match task.await {
            Ok(report) => Some(report),
            Err(e) => {
                warn!(cause = %e, "the stream info push ended abnormally");
                None
            }
        }
    }

    async fn run_push(&self, info: &StreamInfo, trigger: PushTrigger) -> PushReport {
        let one = |p: InfoPlatform| async move {
            (p, bounded(p, targets::push(&self.inner.targets, p, info)).await)
        };
        let all = futures::future::join_all(InfoPlatform::ALL.map(one)).await;
        let result_of = |p: InfoPlatform| {
            all.iter().find(|(q, _)| *q == p).map(|(_, r)| r.clone()).unwrap_or_else(|| {
                PushResult::failed(PushError::new(PushErrorKind::Unavailable, "not pushed"))
            })
        };
        let results = PushResults {
            twitch: result_of(InfoPlatform::Twitch),
            youtube: result_of(InfoPlatform::Youtube),
        };
        for p in InfoPlatform::ALL {
            log_result(p, trigger, results.get(p));
        }
        PushReport { at: Utc::now(), trigger, results }
    }

    /// YouTube has a live broadcast (`YouTubeEvents` found it): if the latest push found none
    /// there, the saved info goes to it now — once per broadcast (and save), with the update
    /// call alone.
    /// The latest report keeps its trigger and the other platforms' results; its YouTube result
    /// and its time become this push's. `None`: nothing was sent.
    pub(crate) async fn push_to_broadcast(&self, broadcast: Broadcast) -> Option<PushReport> {
        let desk = self.clone();
        let task = tokio::spawn(async move {
            let _turn = desk.inner.turn.lock().await;
            let (info, last, seq) = desk.with_state(|s| {
                let last = s.stored.last_push.clone()?;
                let followed = Some((broadcast.id.clone(), s.stored.saved_at));
                if !found_none_live(&last) || s.followed == followed {
                    return None;
                }
                let info = s.stored.info.clone()?;
                s.followed = followed;
                s.started_seq += 1;
                s.pushing += 1;
                Some((info, last, s.started_seq))
            })?;
            let _guard = Pushing(desk.clone());
            desk.publish();
            let p = InfoPlatform::Youtube;
            info!(broadcast = %esc(&broadcast.title), "YouTube broadcast live: sending the saved stream info to it");
            let youtube =
                bounded(p, targets::push_to_broadcast(&desk.inner.targets, &broadcast, &info)).await;
            log_result(p, last.trigger, &youtube);
            let results = PushResults { youtube, ..last.results };
            let report = PushReport { at: Utc::now(), trigger: last.trigger, results };
            desk.keep(seq, &report, None);
            Some(report)
        });
        task.await.unwrap_or_else(|e| {
            warn!(cause = %e, "the stream info push to the live YouTube broadcast ended abnormally");
            None
        })
    }

    /// Keep `report` as the last push's (pushes take turns, so in order); and a
    /// `learned` category name, if the saved info still has that category without a name.
    fn keep(&self, seq: u64, report: &PushReport, learned: Option<(String, String)>) {
        let res = self.with_state(|s| {
            let mut next = s.stored.clone();
            if let (Some((id, name)), Some(info)) = (learned, next.info.as_mut()) {
                if info.twitch_category_id.as_ref() == Some(&id) && info.twitch_category_name.is_none() {
                    info.twitch_category_name = Some(name);
                }
            }
            if seq >= s.kept_seq {
                s.kept_seq = seq;
                next.last_push = Some(report.clone());
            }
            let res = self.write(&next);
            s.stored = next;
            res
        });
        if let Err(e) = res {
            warn!(cause = %esc(&e), "cannot keep the stream info push results; they last this run only");
        }
    }

    /// Make the kept YouTube result `no_broadcast` again.
    #[cfg(test)]
    pub(crate) fn set_no_broadcast_result(&self) {
        self.with_state(|s| {
            if let Some(p) = s.stored.last_push.as_mut() {
                p.results.youtube =
                    PushResult::failed(PushError::new(PushErrorKind::NoBroadcast, "none live"));
            }
        });
    }

    /// Save, then push to every platform at once.
    pub(crate) async fn set(&self, input: &StreamInfoInput) -> Result<PushReport, EngineError> {
        self.save(input)?;
        self.push(PushTrigger::Save).await.ok_or_else(|| EngineError::Unavailable {
            message: "the stream info was saved, but the push did not run".into(),
        })
    }
}

/// `push` bounded by [`PUSH_TIMEOUT`]: one that takes longer is a `timeout` result.
async fn bounded(p: InfoPlatform, push: impl Future<Output = PushResult>) -> PushResult {
    tokio::time::timeout(PUSH_TIMEOUT, push).await.unwrap_or_else(|_| {
        PushResult::failed(PushError::new(
            PushErrorKind::Timeout,
            format!("{} did not finish within {} s", p.label(), PUSH_TIMEOUT.as_secs()),
        ))
    })
}

fn log_result(p: InfoPlatform, trigger: PushTrigger, result: &PushResult) {
    match &result.error {
        None => info!(platform = p.as_str(), ?trigger, "stream info updated"),
        Some(e) if e.kind == PushErrorKind::NotSignedIn => {
            debug!(platform = p.as_str(), ?trigger, "stream info not sent: not signed in")
        }
        Some(e) => warn!(
            platform = p.as_str(),
            ?trigger,
            kind = ?e.kind,
            cause = %esc(&e.message),
            "stream info not updated"
        ),
    }
}

fn found_none_live(report: &PushReport) -> bool {
    report.results.youtube.error.as_ref().is_some_and(|e| e.kind == PushErrorKind::NoBroadcast)
}

/// The root supervisor's `StreamInfo` child: pushes the saved info when a stream starts, and to
/// the YouTube broadcast once it is live if that push found none (see the module's words).
pub(crate) fn start_push_spec(desk: StreamInfoDesk) -> ChildSpec {
    // The last stream pushed for, and whether a stream is starting or live, across restarts of
    // the child.
    let last: Arc<Mutex<Option<Uuid>>> = Arc::default();
    let running = Arc::new(AtomicBool::new(false));
    ChildSpec::new("StreamInfo", Restart::Permanent, move |ctx| {
        let desk = desk.clone();
        let last = last.clone();
        let running = running.clone();
        let mut rx = desk.inner.events.subscribe();
        let mut live = desk.inner.targets.youtube.live_broadcast();
        async move {
            // The broadcast's sender lives in the account handle, as long as the desk.
            let mut live_open = true;
            loop {
                let ev = tokio::select! {
                    _ = ctx.cancel.cancelled() => return Ok(()),
                    ev = rx.recv() => ev,
                    r = live.changed(), if live_open => {
                        live_open = r.is_ok();
                        let found = live.borrow_and_update().clone();
                        if let Some(b) = found.filter(|_| live_open && running.load(Ordering::SeqCst)) {
                            let (desk, cancel) = (desk.clone(), ctx.cancel.clone());
                            tokio::spawn(async move {
                                tokio::select! {
                                    _ = cancel.cancelled() => {}
                                    _ = desk.push_to_broadcast(b) => {}
                                }
                            });
                        }
                        continue;
                    }
                };
                let (phase, uuid) = match ev {
                    Ok(Event::StreamState { state, uuid, .. }) => (state, uuid),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                };
                let on = matches!(phase, StreamPhase::Starting | StreamPhase::Live);
                running.store(on, Ordering::SeqCst);
                let Some(uuid) = uuid.filter(|_| on) else { continue };
                {
                    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                    if *last == Some(uuid) {
                        continue;
                    }
                    *last = Some(uuid);
                }
                let desk = desk.clone();
                let cancel = ctx.cancel.clone();
                let (live, running) = (live.clone(), running.clone());
                tokio::spawn(async move {
                    let push = async {
                        let Some(report) = desk.push(PushTrigger::Start).await else {
                            debug!("stream started; no stream info saved, nothing to push");
                            return;
                        };
                        // YouTube went live while this push was out: its broadcast was published
                        // before the result said none.
                        let found = live.borrow().clone();
                        if let Some(b) =
                            found.filter(|_| found_none_live(&report) && running.load(Ordering::SeqCst))
                        {
                            desk.push_to_broadcast(b).await;
                        }
                    };
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = push => {}
                    }
                });
            }
        }
        .boxed()
    })
}
