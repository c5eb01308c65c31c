//! One warning per burst: the first refusal of a burst is logged, the rest are counted and
//! summed up in one line once the burst's window has passed. A stranger hammering the ingest
//! (10,000 refused connections) costs a couple of log lines, not megabytes.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Log at most one line per window, plus the summary.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct State {
    /// When the current window opened (the last logged line).
    opened: Option<Instant>,
    /// Events since then that were not logged.
    suppressed: u64,
    /// The latest suppressed event, for the summary.
    latest: String,
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    state: Mutex<State>,
}

/// What to log for an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Log this event; `folded` earlier events were counted and not logged.
    Log { folded: u64 },
    /// Counted; say nothing now.
    Quiet,
}

impl Throttle {
    /// An event happened now; `what` describes it (for a later summary).
    pub(crate) fn event(&self, what: impl FnOnce() -> String) -> Verdict {
        self.event_at(Instant::now(), what)
    }

    fn event_at(&self, now: Instant, what: impl FnOnce() -> String) -> Verdict {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match st.opened {
            Some(t) if now.saturating_duration_since(t) < WINDOW => {
                st.suppressed += 1;
                st.latest = what();
                Verdict::Quiet
            }
            _ => {
                let folded = std::mem::take(&mut st.suppressed);
                st.opened = Some(now);
                Verdict::Log { folded }
            }
        }
    }

    /// The summary of a burst whose window has passed: `(count, latest)`, once.
    pub(crate) fn summary(&self) -> Option<(u64, String)> {
        self.summary_at(Instant::now())
    }

    fn summary_at(&self, now: Instant) -> Option<(u64, String)> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let open = st.opened.is_some_and(|t| now.saturating_duration_since(t) < WINDOW);
        if open || st.suppressed == 0 {
            return None;
        }
        st.opened = None;
        Some((std::mem::take(&mut st.suppressed), std::mem::take(&mut st.latest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_burst_then_a_summary() {
        let t = Throttle::default();
        let t0 = Instant::now();
        assert_eq!(t.event_at(t0, || "a".into()), Verdict::Log { folded: 0 });
        for i in 0..10_000u32 {
            assert_eq!(t.event_at(t0 + Duration::from_micros(i.into()), || "b".into()), Verdict::Quiet);
        }
        assert_eq!(t.summary_at(t0 + Duration::from_secs(1)), None, "the window is still open");
        assert_eq!(t.summary_at(t0 + WINDOW), Some((10_000, "b".into())));
        assert_eq!(t.summary_at(t0 + WINDOW * 2), None, "said once");
        // A new burst logs its first event at once.
        assert_eq!(t.event_at(t0 + WINDOW * 3, || "c".into()), Verdict::Log { folded: 0 });
        t.event_at(t0 + WINDOW * 3, || "d".into());
        // An event after the window, before any summary, carries the count itself.
        assert_eq!(t.event_at(t0 + WINDOW * 5, || "e".into()), Verdict::Log { folded: 1 });
    }
}
