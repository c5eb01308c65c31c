//! AlertQueue: alerts queued and shown one at a time, with pause, resume, skip, replay, clear.
//!
//! Display order and its classes live in [`super::state`]. Semantics, decided here:
//! - **Pause**: nothing new goes on screen while paused. The alert already on screen finishes
//!   its time normally (or is skipped, cleared or reported finished); then the queue waits for
//!   `resume`.
//! - **Clear**: drops every queued alert *and* ends the one on screen with outcome `Cleared`.
//! - **Replay**: re-queues a shown alert (same id) in the replay class, ahead of everything.
//! - **Restart**: the state lives in the [`AlertStash`] of the args, outside the actor task. A
//!   restarted actor finds its queue, paused flag and history intact; the alert that was on
//!   screen at the crash is shown again from the start (a new `AlertShown`, full duration),
//!   because the overlay may have lost it and a partly shown alert is better repeated than lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, instrument};

use super::input::validate;
pub use super::input::{AlertQueueError, MAX_CURRENCY_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS};
use super::state::{AlertStash, QueueState};
use super::{Alert, AlertInput, AlertKind};
use crate::actor::{self, ChildResult, Mailbox, CALL_TIMEOUT};
use crate::events::{AlertOutcome, Event, UserEvents};
use crate::storage::{AlertState, AlertStore};

/// How long an alert stays on screen unless its kind has its own duration.
pub const DEFAULT_ALERT_DURATION: Duration = Duration::from_secs(10);
/// Room in the AlertQueue's mailbox.
pub const MAILBOX_CAPACITY: usize = 256;
/// Most alerts waiting at once; a push beyond it fails with [`AlertQueueError::Full`].
pub const MAX_QUEUED: usize = 10_000;

/// Everything the AlertQueue is built from; clone it to restart the actor with the same state.
#[derive(Clone)]
pub struct AlertQueueArgs {
    pub events: UserEvents,
    pub default_duration: Duration,
    pub durations: HashMap<AlertKind, Duration>,
    pub stash: AlertStash,
    /// Durable mirror of the queue (`None`: memory only, e.g. unit tests).
    pub store: Option<AlertStore>,
    /// Connected OBS overlays. With one or more, an alert leaves the screen when an overlay
    /// reports it finished (what viewers actually saw), or `OVERLAY_GRACE` after its time.
    pub overlays: Arc<AtomicUsize>,
}

/// How long past its duration an alert waits for an overlay's "finished".
pub const OVERLAY_GRACE: Duration = Duration::from_secs(5);

impl AlertQueueArgs {
    /// Default durations (10 s for every kind) and an empty stash.
    pub fn new(events: UserEvents) -> Self {
        AlertQueueArgs {
            events,
            default_duration: DEFAULT_ALERT_DURATION,
            durations: HashMap::new(),
            stash: AlertStash::default(),
            store: None,
            overlays: Arc::default(),
        }
    }

    fn duration(&self, kind: AlertKind) -> Duration {
        self.durations.get(&kind).copied().unwrap_or(self.default_duration)
    }
}

/// What the queue looks like now.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertQueueSnapshot {
    pub paused: bool,
    pub current: Option<Alert>,
    /// Waiting alerts, in display order.
    pub queued: Vec<Alert>,
}

/// Messages of the AlertQueue actor; use [`AlertQueueHandle`] rather than sending these.
#[derive(Debug)]
pub enum AlertMsg {
    Push(AlertInput, oneshot::Sender<Result<Alert, AlertQueueError>>),
    Pause(oneshot::Sender<()>),
    Resume(oneshot::Sender<()>),
    Skip(oneshot::Sender<()>),
    Replay(String, oneshot::Sender<Result<(), AlertQueueError>>),
    Clear(oneshot::Sender<()>),
    Finished(String, oneshot::Sender<()>),
    Snapshot(oneshot::Sender<AlertQueueSnapshot>),
    /// An alert already validated and stored (by the intake) joins the queue.
    Ingest(Alert),
    /// A held alert was approved: it joins the queue.
    Approve(String, oneshot::Sender<Result<(), AlertQueueError>>),
}

/// The cloneable front of one user's AlertQueue.
#[derive(Clone, Debug)]
pub struct AlertQueueHandle {
    tx: mpsc::Sender<AlertMsg>,
}

impl AlertQueueHandle {
    /// A handle and the mailbox to give [`run`] (and to every restart of it).
    pub fn channel() -> (AlertQueueHandle, Mailbox<AlertMsg>) {
        let (tx, mailbox) = actor::mailbox(MAILBOX_CAPACITY);
        (AlertQueueHandle { tx }, mailbox)
    }

    async fn call<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> AlertMsg) -> Result<R, AlertQueueError> {
        Ok(actor::call(&self.tx, make, CALL_TIMEOUT).await?)
    }

    /// Validate and queue an alert; returns it with its new `id` and `received_at`.
    pub async fn push(&self, input: AlertInput) -> Result<Alert, AlertQueueError> {
        self.call(|r| AlertMsg::Push(input, r)).await?
    }

    /// Show nothing new until `resume` (the alert on screen finishes its time).
    pub async fn pause(&self) -> Result<(), AlertQueueError> {
        self.call(AlertMsg::Pause).await
    }

    pub async fn resume(&self) -> Result<(), AlertQueueError> {
        self.call(AlertMsg::Resume).await
    }

    /// End the alert on screen now (outcome `Skipped`); the next one shows at once.
    pub async fn skip(&self) -> Result<(), AlertQueueError> {
        self.call(AlertMsg::Skip).await
    }

    /// Queue a shown alert again, first in line. Unknown (or never shown) id: `NotFound`.
    pub async fn replay(&self, id: &str) -> Result<(), AlertQueueError> {
        let id = id.to_string();
        self.call(|r| AlertMsg::Replay(id, r)).await?
    }

    /// Drop every queued alert and end the one on screen (outcome `Cleared`).
    pub async fn clear(&self) -> Result<(), AlertQueueError> {
        self.call(AlertMsg::Clear).await
    }

    /// The overlay finished showing `id`: advance now. An id not on screen is ignored.
    pub async fn finished(&self, id: &str) -> Result<(), AlertQueueError> {
        let id = id.to_string();
        self.call(|r| AlertMsg::Finished(id, r)).await
    }

    pub async fn snapshot(&self) -> Result<AlertQueueSnapshot, AlertQueueError> {
        self.call(AlertMsg::Snapshot).await
    }

    /// Hand in an alert the intake has stored. Never waits: if the queue is not running (or
    /// its mailbox is full) the alert waits in storage and is loaded when the queue starts.
    pub fn ingest(&self, alert: Alert) {
        let _ = self.tx.try_send(AlertMsg::Ingest(alert));
    }

    /// A held alert (stored as approved by the caller) joins the queue.
    pub async fn approve(&self, id: &str) -> Result<(), AlertQueueError> {
        let id = id.to_string();
        self.call(|r| AlertMsg::Approve(id, r)).await?
    }
}

/// One instance of the actor: the args, and the deadline of the alert on screen.
struct AlertQueue {
    args: AlertQueueArgs,
    deadline: Option<Instant>,
}

impl AlertQueue {
    /// Pick up the stashed state: re-show the alert that was on screen, or show the next one.
    fn start(args: AlertQueueArgs) -> Self {
        let mut queue = AlertQueue { args, deadline: None };
        let stash = queue.args.stash.clone();
        let mut st = stash.lock();
        if !st.loaded {
            queue.load(&mut st);
        }
        let before = (st.paused(), st.queued_len());
        if let Some(alert) = st.current().cloned() {
            info!(alert_id = %alert.id, "re-showing the alert that was on screen at restart");
            queue.on_screen(alert);
        } else {
            queue.advance(&mut st);
        }
        queue.publish_queue(&st, before);
        queue
    }

    /// First start in this process: the queue as storage left it.
    fn load(&mut self, st: &mut QueueState) {
        st.loaded = true;
        let Some(store) = self.args.store.clone() else { return };
        let res = (|| -> Result<(), crate::storage::DbError> {
            let settled = store.settle_after_crash()?;
            if settled > 0 {
                info!(settled, "alert on screen at the last exit counted as shown");
            }
            st.set_paused(store.paused()?);
            for alert in store.recent_shown(super::state::HISTORY_LIMIT)? {
                st.remember_shown(&alert);
            }
            let queued = store.in_state(AlertState::Queued)?;
            info!(queued = queued.len(), "alert queue loaded");
            for row in queued {
                if row.replay {
                    st.enqueue_loaded_replay(row.alert);
                } else {
                    st.enqueue(row.alert);
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            error!(cause = %e, "cannot load the alert queue from storage");
        }
    }

    /// Mirror one change to storage; a failure is logged, the queue goes on in memory.
    fn persist(&self, what: &str, f: impl FnOnce(&AlertStore) -> Result<(), crate::storage::DbError>) {
        if let Some(store) = &self.args.store {
            if let Err(e) = f(store) {
                error!(cause = %e, what, "alert storage failed");
            }
        }
    }

    fn handle(&mut self, msg: AlertMsg) {
        let stash = self.args.stash.clone();
        let mut st = stash.lock();
        let before = (st.paused(), st.queued_len());
        match msg {
            AlertMsg::Push(input, reply) => {
                let res = self.push(&mut st, input);
                self.advance(&mut st);
                let _ = reply.send(res);
            }
            AlertMsg::Pause(reply) => {
                st.set_paused(true);
                self.persist("pause", |s| s.set_paused(true));
                let _ = reply.send(());
            }
            AlertMsg::Resume(reply) => {
                st.set_paused(false);
                self.persist("resume", |s| s.set_paused(false));
                self.advance(&mut st);
                let _ = reply.send(());
            }
            AlertMsg::Skip(reply) => {
                self.end(&mut st, AlertOutcome::Skipped);
                self.advance(&mut st);
                let _ = reply.send(());
            }
            AlertMsg::Replay(id, reply) => {
                let res = match st.enqueue_replay(&id) {
                    Some(_) => {
                        self.persist("replay", |s| s.set_state(&id, AlertState::Queued, true).map(drop));
                        Ok(())
                    }
                    None => Err(AlertQueueError::NotFound { id }),
                };
                self.advance(&mut st);
                let _ = reply.send(res);
            }
            AlertMsg::Clear(reply) => {
                let dropped = st.clear_queued();
                self.persist("clear", |s| s.clear_queued().map(drop));
                debug!(dropped, "alert queue cleared");
                self.end(&mut st, AlertOutcome::Cleared);
                let _ = reply.send(());
            }
            AlertMsg::Finished(id, reply) => {
                if st.current().is_some_and(|a| a.id == id) {
                    self.end(&mut st, AlertOutcome::Shown);
                    self.advance(&mut st);
                } else {
                    debug!(alert_id = %id, "ignoring finished for an alert not on screen");
                }
                let _ = reply.send(());
            }
            AlertMsg::Ingest(alert) => {
                // The message may have waited in the mailbox while the queue was down; in that
                // time the alert may have been loaded, cleared or rejected. Storage decides.
                let still_queued = match &self.args.store {
                    Some(store) => store.is_queued(&alert.id).unwrap_or(true),
                    None => true,
                };
                if still_queued && st.queued_len() < MAX_QUEUED && st.enqueue(alert) {
                    self.advance(&mut st);
                }
            }
            AlertMsg::Approve(id, reply) => {
                let res = match self.args.store.as_ref().map(|s| s.get(&id)) {
                    Some(Ok(Some(row))) => {
                        self.persist("approve", |s| s.set_state(&id, AlertState::Queued, false).map(drop));
                        st.enqueue(row.alert);
                        self.advance(&mut st);
                        Ok(())
                    }
                    Some(Err(e)) => Err(e.into()),
                    _ => Err(AlertQueueError::NotFound { id }),
                };
                let _ = reply.send(res);
            }
            AlertMsg::Snapshot(reply) => {
                let _ = reply.send(AlertQueueSnapshot {
                    paused: st.paused(),
                    current: st.current().cloned(),
                    queued: st.queued(),
                });
            }
        }
        self.publish_queue(&st, before);
    }

    /// The alert on screen ran its time.
    fn on_timer(&mut self) {
        let stash = self.args.stash.clone();
        let mut st = stash.lock();
        let before = (st.paused(), st.queued_len());
        self.end(&mut st, AlertOutcome::Shown);
        self.advance(&mut st);
        self.publish_queue(&st, before);
    }

    fn push(&self, st: &mut QueueState, input: AlertInput) -> Result<Alert, AlertQueueError> {
        let alert = validate(input)?;
        if st.queued_len() >= MAX_QUEUED {
            return Err(AlertQueueError::Full { limit: MAX_QUEUED });
        }
        if let Some(store) = &self.args.store {
            store.insert(&alert, None, AlertState::Queued)?;
        }
        st.enqueue(alert.clone());
        Ok(alert)
    }

    /// Put the next alert on screen if nothing is and the queue is not paused.
    fn advance(&mut self, st: &mut QueueState) {
        if st.current().is_some() || st.paused() {
            return;
        }
        if let Some(alert) = st.show_next().cloned() {
            info!(alert_id = %alert.id, kind = ?alert.kind, from = %crate::telemetry::esc(&alert.from), "alert shown");
            self.persist("show", |s| s.set_state(&alert.id, AlertState::Showing, false).map(drop));
            self.on_screen(alert);
        }
    }

    fn on_screen(&mut self, alert: Alert) {
        let now = Instant::now();
        let mut time = self.args.duration(alert.kind);
        if self.args.overlays.load(Ordering::SeqCst) > 0 {
            time = time.saturating_add(OVERLAY_GRACE);
        }
        // A duration too large for the clock means "until skipped or finished".
        self.deadline = Some(now.checked_add(time).unwrap_or(now + Duration::from_secs(86_400)));
        let user_id = self.args.events.user_id().to_string();
        self.args.events.emit(Event::AlertShown { user_id, alert });
    }

    /// Take the alert off the screen, if there is one.
    fn end(&mut self, st: &mut QueueState, outcome: AlertOutcome) {
        self.deadline = None;
        if let Some(alert) = st.take_current() {
            let state = match outcome {
                AlertOutcome::Shown => AlertState::Shown,
                AlertOutcome::Skipped => AlertState::Skipped,
                AlertOutcome::Cleared => AlertState::Cleared,
            };
            self.persist("end", |s| s.set_state(&alert.id, state, false).map(drop));
            let user_id = self.args.events.user_id().to_string();
            self.args.events.emit(Event::AlertFinished { user_id, id: alert.id, outcome });
        }
    }

    /// Tell the world if the paused flag or the queue length changed since `before`.
    fn publish_queue(&self, st: &QueueState, before: (bool, usize)) {
        let (paused, queued) = (st.paused(), st.queued_len());
        if (paused, queued) != before {
            let user_id = self.args.events.user_id().to_string();
            self.args.events.emit(Event::AlertQueue { user_id, paused, queued });
        }
    }
}

/// The actor loop. Takes the mailbox, picks up the stashed state, and serves messages and the
/// display timer until `cancel` (or until every handle is gone). Returns `Ok(())` on cancel.
#[instrument(name = "alert_queue", skip_all, fields(user_id = %args.events.user_id()))]
pub async fn run(args: AlertQueueArgs, mailbox: Mailbox<AlertMsg>, cancel: CancellationToken) -> ChildResult {
    let mut rx = tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        rx = mailbox.lock() => rx,
    };
    let mut queue = AlertQueue::start(args);
    loop {
        let deadline = queue.deadline;
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                debug!("alert queue cancelled");
                return Ok(());
            }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                queue.on_timer();
            }
            msg = rx.recv() => match msg {
                Some(msg) => queue.handle(msg),
                None => {
                    debug!("every alert queue handle is gone");
                    return Ok(());
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::test_rig::{strings, Rig, HOUR};
    use uuid::Uuid;
    #[tokio::test(start_paused = true)]
    async fn classes_decide_the_display_order() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let first = rig.push(Cheer, "first", Some(100.0)).await;
        assert_eq!(rig.shown(1).await, ["first"]);
        rig.handle.pause().await.unwrap();
        rig.push(Follow, "follow", None).await;
        rig.push(Donation, "small", Some(5.0)).await;
        rig.push(Donation, "big", Some(25.0)).await;
        rig.push(Raid, "raid", Some(50.0)).await;
        rig.push(Subscription, "sub", None).await;
        rig.handle.replay(&first.id).await.unwrap();
        let queued = strings(&["first", "big", "raid", "follow", "sub", "small"]);
        let expected = (true, Some("first".to_string()), queued.clone());
        assert_eq!(rig.snapshot_names().await, expected);
        rig.handle.resume().await.unwrap();
        assert_eq!(rig.shown(6).await, queued);
    }

    #[tokio::test(start_paused = true)]
    async fn fifo_within_a_class() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        rig.handle.pause().await.unwrap();
        rig.push(Follow, "f1", None).await;
        rig.push(Donation, "d1", Some(10.0)).await;
        rig.push(Cheer, "c1", Some(1.0)).await;
        rig.push(Subscription, "s1", None).await;
        rig.push(Raid, "d2", Some(12.0)).await;
        rig.push(Donation, "c2", Some(9.5)).await;
        rig.push(Follow, "f2", None).await;
        rig.push(Donation, "d3", Some(300.0)).await;
        rig.push(Raid, "c3", Some(2.0)).await;
        rig.handle.resume().await.unwrap();
        let order = ["d1", "d2", "d3", "f1", "s1", "f2", "c1", "c2", "c3"];
        assert_eq!(rig.shown(9).await, order);
    }

    #[tokio::test(start_paused = true)]
    async fn each_kind_shows_for_its_duration_or_the_default() {
        use AlertKind::*;
        let mut rig = Rig::new(&[(Follow, 3), (Raid, 20)]);
        let t0 = Instant::now();
        rig.push(Follow, "follow", None).await;
        rig.push(Cheer, "cheer", Some(5.0)).await;
        rig.push(Raid, "raid", Some(2.0)).await;
        let mut timeline = Vec::new();
        while timeline.len() < 6 {
            let label = rig.next().await;
            if !label.starts_with("queue:") {
                timeline.push((label, (Instant::now() - t0).as_secs_f64()));
            }
        }
        let expected = [
            ("shown:follow", 0.0),
            ("finished:follow:shown", 3.0),
            ("shown:cheer", 3.0),
            ("finished:cheer:shown", 13.0),
            ("shown:raid", 13.0),
            ("finished:raid:shown", 33.0),
        ];
        let expected: Vec<_> = expected.iter().map(|(l, t)| (l.to_string(), *t)).collect();
        assert_eq!(timeline, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_lets_the_current_alert_finish_then_waits_for_resume() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        rig.push(Cheer, "a", None).await;
        rig.handle.pause().await.unwrap();
        rig.push(Cheer, "b", None).await;
        rig.push(Cheer, "c", None).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        let expected = ["shown:a", "queue:true:0", "queue:true:1", "queue:true:2"];
        let mut expected = strings(&expected);
        expected.push("finished:a:shown".into());
        assert_eq!(rig.drain(), expected);
        assert_eq!(rig.snapshot_names().await, (true, None, strings(&["b", "c"])));
        let resumed_at = Instant::now();
        rig.handle.resume().await.unwrap();
        assert_eq!(rig.drain(), ["shown:b", "queue:false:1"]);
        assert_eq!(rig.next().await, "finished:b:shown");
        assert_eq!(rig.next().await, "shown:c");
        assert_eq!(Instant::now() - resumed_at, Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn skip_ends_the_current_alert_and_shows_the_next_at_once() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let t0 = Instant::now();
        rig.push(Cheer, "a", None).await;
        rig.push(Cheer, "b", None).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        rig.handle.skip().await.unwrap();
        let expected = ["shown:a", "queue:false:1", "finished:a:skipped", "shown:b", "queue:false:0"];
        assert_eq!(rig.drain(), expected);
        assert_eq!(rig.next().await, "finished:b:shown");
        assert_eq!(Instant::now() - t0, Duration::from_secs(15));
        rig.handle.skip().await.unwrap(); // nothing on screen: no-op
        assert!(rig.drain().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn replay_shows_a_shown_alert_again_first_in_line() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let a = rig.push(Cheer, "a", None).await;
        assert_eq!(rig.shown(1).await, ["a"]);
        assert_eq!(rig.next().await, "finished:a:shown");
        rig.push(Cheer, "b", None).await;
        rig.push(Donation, "c", Some(50.0)).await;
        rig.handle.replay(&a.id).await.unwrap();
        assert_eq!(rig.snapshot_names().await, (false, Some("b".into()), strings(&["a", "c"])));
        assert_eq!(rig.shown(3).await, ["b", "a", "c"]);
        let err = rig.handle.replay("nope").await.unwrap_err();
        assert_eq!(err, AlertQueueError::NotFound { id: "nope".into() });
        rig.handle.pause().await.unwrap();
        let d = rig.push(Cheer, "d", None).await;
        let err = rig.handle.replay(&d.id).await.unwrap_err();
        assert_eq!(err, AlertQueueError::NotFound { id: d.id }, "never shown");
    }

    #[tokio::test(start_paused = true)]
    async fn clear_drops_the_queue_and_ends_the_current_alert() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        rig.push(Cheer, "a", None).await;
        rig.push(Cheer, "b", None).await;
        rig.push(Follow, "c", None).await;
        rig.handle.clear().await.unwrap();
        let expected = ["shown:a", "queue:false:1", "queue:false:2", "finished:a:cleared"];
        let mut expected = strings(&expected);
        expected.push("queue:false:0".into());
        assert_eq!(rig.drain(), expected);
        assert_eq!(rig.snapshot_names().await, (false, None, vec![]));
        tokio::time::sleep(HOUR).await;
        assert!(rig.drain().is_empty());
        rig.push(Cheer, "d", None).await;
        assert_eq!(rig.drain(), ["shown:d"]);
    }

    #[tokio::test(start_paused = true)]
    async fn finished_advances_early_and_ignores_stale_ids() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let t0 = Instant::now();
        let a = rig.push(Cheer, "a", None).await;
        let b = rig.push(Cheer, "b", None).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(rig.drain(), ["shown:a", "queue:false:1"]);
        rig.handle.finished("nope").await.unwrap();
        rig.handle.finished(&b.id).await.unwrap(); // queued, not on screen
        assert!(rig.drain().is_empty());
        rig.handle.finished(&a.id).await.unwrap();
        assert_eq!(rig.drain(), ["finished:a:shown", "shown:b", "queue:false:0"]);
        rig.handle.finished(&a.id).await.unwrap(); // stale
        assert!(rig.drain().is_empty());
        assert_eq!(rig.next().await, "finished:b:shown");
        assert_eq!(Instant::now() - t0, Duration::from_secs(12));
    }

    #[tokio::test(start_paused = true)]
    async fn every_alert_is_shown_once() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        rig.push(Cheer, "a", None).await;
        rig.push(Cheer, "b", None).await;
        rig.push(Cheer, "c", None).await;
        tokio::time::sleep(HOUR).await;
        let expected = [
            "shown:a",
            "queue:false:1",
            "queue:false:2",
            "finished:a:shown",
            "shown:b",
            "queue:false:1",
            "finished:b:shown",
            "shown:c",
            "queue:false:0",
            "finished:c:shown",
        ];
        assert_eq!(rig.drain(), expected);
        tokio::time::sleep(HOUR).await;
        assert!(rig.drain().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_restarted_actor_keeps_the_queue_and_the_handle_works() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let t0 = Instant::now();
        let a = rig.push(Cheer, "a", None).await;
        rig.push(Cheer, "b", None).await;
        rig.push(Cheer, "c", None).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        rig.handle.pause().await.unwrap();
        rig.cancel.cancel();
        assert!(matches!((&mut rig.task).await, Ok(Ok(()))));
        rig.drain();

        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(rig.args.clone(), rig.mailbox.clone(), cancel.clone()));
        (rig.cancel, rig.task) = (cancel, task);
        assert_eq!(rig.next().await, "shown:a", "the alert on screen is shown again");
        assert_eq!(Instant::now() - t0, Duration::from_secs(4));
        let expected = (true, Some("a".to_string()), strings(&["b", "c"]));
        assert_eq!(rig.snapshot_names().await, expected);
        rig.handle.resume().await.unwrap();
        rig.push(Cheer, "d", None).await;
        rig.handle.replay(&a.id).await.unwrap(); // history survived
        assert_eq!(rig.shown(4).await, ["a", "b", "c", "d"]);
        assert_eq!(Instant::now() - t0, Duration::from_secs(44));
        tokio::time::sleep(HOUR).await;
        assert!(!rig.drain().iter().any(|l| l.starts_with("shown:")));
    }

    #[tokio::test(start_paused = true)]
    async fn push_validates_its_input() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let with = |f: fn(&mut AlertInput)| {
            let mut input = AlertInput::new(Donation, "fan");
            f(&mut input);
            input
        };
        let bad = [
            with(|i| i.from = "   ".into()),
            with(|i| i.from = "x".repeat(MAX_NAME_CHARS + 1)),
            with(|i| i.amount = Some(-1.0)),
            with(|i| i.amount = Some(f64::NAN)),
            with(|i| i.amount = Some(f64::INFINITY)),
            with(|i| i.message = Some("é".repeat(MAX_MESSAGE_CHARS + 1))),
            with(|i| i.currency = Some("C".repeat(MAX_CURRENCY_CHARS + 1))),
            with(|i| i.platform = Some("p".repeat(MAX_NAME_CHARS + 1))),
        ];
        for input in bad {
            let res = rig.handle.push(input.clone()).await;
            assert!(matches!(res, Err(AlertQueueError::Invalid { .. })), "{input:?}: {res:?}");
        }
        assert!(rig.drain().is_empty());
        let good = with(|i| {
            i.from = format!("  {}  ", "x".repeat(MAX_NAME_CHARS));
            i.message = Some("é".repeat(MAX_MESSAGE_CHARS));
            i.amount = Some(0.0);
        });
        let alert = rig.handle.push(good).await.unwrap();
        assert_eq!(alert.from, "x".repeat(MAX_NAME_CHARS));
        assert!(Uuid::parse_str(&alert.id).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_500_pushes_is_shown_in_order() {
        use AlertKind::*;
        let mut rig = Rig::new(&[]);
        let mut big = Vec::new();
        let mut rest = Vec::new();
        for i in 0..500 {
            let name = format!("n{i}");
            if i % 3 == 0 {
                rig.push(Donation, &name, Some(10.0 + i as f64)).await;
                big.push(name);
            } else {
                rig.push(Cheer, &name, Some(i as f64)).await;
                rest.push(name);
            }
        }
        let snap = rig.handle.snapshot().await.unwrap();
        assert_eq!(snap.queued.len(), 499);
        let expected: Vec<String> = big.into_iter().chain(rest).collect();
        assert_eq!(rig.shown(500).await, expected);
        tokio::time::sleep(HOUR).await;
        assert!(!rig.drain().iter().any(|l| l.starts_with("shown:")));
    }
}
