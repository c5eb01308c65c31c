//! The AlertQueue's state and its display order, kept outside the actor task.
//!
//! Display order: replays first; then donations of at least [`BIG_AMOUNT`] and raids of at least
//! [`BIG_AMOUNT`] viewers; then subscriptions and follows; then everything else (small donations,
//! small raids, cheers). Each class is a FIFO `VecDeque`, so a push is O(1) and picking the next
//! alert looks at four queues at most.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Alert, AlertKind};

/// Donations and raids from this amount (money or viewers) up jump the queue.
pub const BIG_AMOUNT: f64 = 10.0;

/// How many shown alerts are remembered for `replay` (the oldest are forgotten first).
pub const HISTORY_LIMIT: usize = 1000;

/// A display class; a lower value is shown first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Replay = 0,
    Big = 1,
    Member = 2,
    Rest = 3,
}

const CLASSES: usize = 4;

impl Class {
    /// The class of a freshly pushed (not replayed) alert.
    pub(crate) fn of(alert: &Alert) -> Class {
        let big = alert.amount.is_some_and(|a| a >= BIG_AMOUNT);
        match alert.kind {
            AlertKind::Donation | AlertKind::Raid if big => Class::Big,
            AlertKind::Subscription | AlertKind::Follow => Class::Member,
            _ => Class::Rest,
        }
    }
}

/// Queued alerts per class, the alert on screen, the paused flag and the replay history.
#[derive(Debug, Default)]
pub struct QueueState {
    classes: [VecDeque<Alert>; CLASSES],
    current: Option<Alert>,
    paused: bool,
    history: HashMap<String, Alert>,
    history_order: VecDeque<String>,
    /// Ids waiting or on screen, to ignore an alert handed in twice.
    known: HashSet<String>,
    /// Filled from the database once per process (the first actor start).
    pub(crate) loaded: bool,
}

impl QueueState {
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The alert on screen, if any.
    pub fn current(&self) -> Option<&Alert> {
        self.current.as_ref()
    }

    /// How many alerts wait (the one on screen not counted).
    pub fn queued_len(&self) -> usize {
        self.classes.iter().map(VecDeque::len).sum()
    }

    /// The waiting alerts in display order.
    pub fn queued(&self) -> Vec<Alert> {
        self.classes.iter().flatten().cloned().collect()
    }

    pub(crate) fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Queue an alert; `false` if it is already waiting or on screen.
    pub(crate) fn enqueue(&mut self, alert: Alert) -> bool {
        if !self.known.insert(alert.id.clone()) {
            return false;
        }
        let class = Class::of(&alert);
        self.classes[class as usize].push_back(alert);
        true
    }

    /// Queue an alert loaded from storage as a replay (first class).
    pub(crate) fn enqueue_loaded_replay(&mut self, alert: Alert) {
        if self.known.insert(alert.id.clone()) {
            self.classes[Class::Replay as usize].push_back(alert);
        }
    }

    /// Remember a shown alert for replay (loaded from storage).
    pub(crate) fn remember_shown(&mut self, alert: &Alert) {
        self.remember(alert);
    }

    /// Queue a previously shown alert again, in the replay class. `None` if it is not known.
    pub(crate) fn enqueue_replay(&mut self, id: &str) -> Option<&Alert> {
        let alert = self.history.get(id)?.clone();
        self.known.insert(alert.id.clone());
        let replays = &mut self.classes[Class::Replay as usize];
        replays.push_back(alert);
        replays.back()
    }

    /// Take the next alert in display order and put it on screen.
    pub(crate) fn show_next(&mut self) -> Option<&Alert> {
        let alert = self.classes.iter_mut().find_map(VecDeque::pop_front)?;
        self.remember(&alert);
        self.current = Some(alert);
        self.current.as_ref()
    }

    /// Take the alert off the screen.
    pub(crate) fn take_current(&mut self) -> Option<Alert> {
        let alert = self.current.take()?;
        if !self.classes.iter().flatten().any(|a| a.id == alert.id) {
            self.known.remove(&alert.id);
        }
        Some(alert)
    }

    /// Drop every waiting alert; returns how many.
    pub(crate) fn clear_queued(&mut self) -> usize {
        let n = self.queued_len();
        self.classes.iter_mut().for_each(VecDeque::clear);
        self.known.clear();
        if let Some(current) = &self.current {
            self.known.insert(current.id.clone());
        }
        n
    }

    fn remember(&mut self, alert: &Alert) {
        if self.history.contains_key(&alert.id) {
            return;
        }
        self.history.insert(alert.id.clone(), alert.clone());
        self.history_order.push_back(alert.id.clone());
        while self.history_order.len() > HISTORY_LIMIT {
            if let Some(old) = self.history_order.pop_front() {
                self.history.remove(&old);
            }
        }
    }
}

/// A cloneable holder of a [`QueueState`] that outlives the actor task: a restarted AlertQueue
/// built from the same args finds its queue, paused flag and history intact.
#[derive(Clone, Debug, Default)]
pub struct AlertStash(Arc<Mutex<QueueState>>);

impl AlertStash {
    /// Lock the state. A panic while it was held (a crash) does not lose it: the state is taken
    /// as it was left.
    pub fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn alert(id: &str, kind: AlertKind, amount: Option<f64>) -> Alert {
        Alert {
            id: id.into(),
            kind,
            from: id.into(),
            amount,
            currency: None,
            message: None,
            platform: None,
            received_at: Utc::now(),
        }
    }

    #[test]
    fn classes_follow_kind_and_amount() {
        use AlertKind::*;
        let cases = [
            (Donation, Some(10.0), Class::Big),
            (Donation, Some(9.99), Class::Rest),
            (Donation, None, Class::Rest),
            (Raid, Some(50.0), Class::Big),
            (Raid, Some(3.0), Class::Rest),
            (Subscription, None, Class::Member),
            (Follow, Some(100.0), Class::Member),
            (Cheer, Some(1000.0), Class::Rest),
        ];
        for (kind, amount, class) in cases {
            assert_eq!(Class::of(&alert("a", kind, amount)), class, "{kind:?} {amount:?}");
        }
    }

    #[test]
    fn history_is_bounded_and_replay_needs_a_shown_alert() {
        let mut st = QueueState::default();
        st.enqueue(alert("queued", AlertKind::Follow, None));
        assert!(st.enqueue_replay("queued").is_none(), "not shown yet");
        for i in 0..=HISTORY_LIMIT {
            st.enqueue(alert(&i.to_string(), AlertKind::Cheer, None));
        }
        while st.show_next().is_some() {}
        assert!(st.enqueue_replay("queued").is_none(), "oldest forgotten");
        assert!(st.enqueue_replay("1").is_some());
        assert_eq!(st.history.len(), HISTORY_LIMIT);
    }
}
