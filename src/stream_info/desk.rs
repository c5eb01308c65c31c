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
        let state = State { stored, pushing: 0, started_seq: 0, kept_seq: 0 };
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
            let res = tokio::time::timeout(PUSH_TIMEOUT, targets::push(&self.inner.targets, p, info))
                .await
                .unwrap_or_else(|_| {
                    PushResult::failed(PushError::new(
                        PushErrorKind::Timeout,
                        format!("{} did not finish within {} s", p.label(), PUSH_TIMEOUT.as_secs()),
                    ))
                });
            (p, res)
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
            match &results.get(p).error {
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
        PushReport { at: Utc::now(), trigger, results }
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

    /// Save, then push to every platform at once.
    pub(crate) async fn set(&self, input: &StreamInfoInput) -> Result<PushReport, EngineError> {
        self.save(input)?;
        self.push(PushTrigger::Save).await.ok_or_else(|| EngineError::Unavailable {
            message: "the stream info was saved, but the push did not run".into(),
        })
    }
}

/// The root supervisor's `StreamInfo` child: pushes the saved info when a stream starts.
pub(crate) fn start_push_spec(desk: StreamInfoDesk) -> ChildSpec {
    // The last stream pushed for, across restarts of the child.
    let last: Arc<Mutex<Option<Uuid>>> = Arc::default();
    ChildSpec::new("StreamInfo", Restart::Permanent, move |ctx| {
        let desk = desk.clone();
        let last = last.clone();
        let mut rx = desk.inner.events.subscribe();
        async move {
            loop {
                let ev = tokio::select! {
                    _ = ctx.cancel.cancelled() => return Ok(()),
                    ev = rx.recv() => ev,
                };
                let uuid = match ev {
                    Ok(Event::StreamState {
                        state: StreamPhase::Starting | StreamPhase::Live,
                        uuid: Some(u),
                        ..
                    }) => u,
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                };
                {
                    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                    if *last == Some(uuid) {
                        continue;
                    }
                    *last = Some(uuid);
                }
                let desk = desk.clone();
                let cancel = ctx.cancel.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        r = desk.push(PushTrigger::Start) => if r.is_none() {
                            debug!("stream started; no stream info saved, nothing to push");
                        },
                    }
                });
            }
        }
        .boxed()
    })
}
