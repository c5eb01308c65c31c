//! Cheap statistics: a per-second byte meter, and the shared per-output counters that the push
//! task writes and [`RelayHandle::outputs`](super::RelayHandle::outputs) reads without any actor
//! round-trip (atomics plus one small mutex).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::broadcast;

use super::{OutputState, RelayEvent};

const BUCKETS: usize = 64;
/// Window of the "current" bitrate.
pub(crate) const CURRENT_WINDOW_SECS: u64 = 3;
/// Window of the average bitrate.
pub(crate) const AVERAGE_WINDOW_SECS: u64 = 60;

/// Bytes per wall-clock second over the last minute, in a fixed ring (no allocation).
#[derive(Debug)]
pub(crate) struct RateMeter {
    origin: Instant,
    sec: [u64; BUCKETS],
    bytes: [u64; BUCKETS],
}

impl RateMeter {
    pub(crate) fn new(origin: Instant) -> Self {
        RateMeter { origin, sec: [u64::MAX; BUCKETS], bytes: [0; BUCKETS] }
    }

    pub(crate) fn record(&mut self, now: Instant, n: u64) {
        let s = now.saturating_duration_since(self.origin).as_secs();
        let i = (s % BUCKETS as u64) as usize;
        if self.sec[i] != s {
            self.sec[i] = s;
            self.bytes[i] = 0;
        }
        self.bytes[i] += n;
    }

    /// Average kbit/s over the last `window` seconds (fewer if the meter is younger).
    pub(crate) fn kbps(&self, now: Instant, window: u64) -> u32 {
        let age = now.saturating_duration_since(self.origin);
        let s = age.as_secs();
        let first = s.saturating_sub(window.saturating_sub(1));
        let total: u64 = (first..=s).filter_map(|k| self.slot(k)).sum();
        // Seconds covered: the full past buckets plus the elapsed part of the current one.
        let covered = ((s - first) as f64 + age.subsec_nanos() as f64 / 1e9).min(age.as_secs_f64());
        if covered <= 0.0 {
            return 0;
        }
        let covered = covered.max(1.0);
        (total as f64 * 8.0 / 1000.0 / covered).round() as u32
    }

    fn slot(&self, s: u64) -> Option<u64> {
        let i = (s % BUCKETS as u64) as usize;
        (self.sec[i] == s).then_some(self.bytes[i])
    }
}

/// A snapshot of one output, as [`RelayHandle::outputs`](super::RelayHandle::outputs) returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputStats {
    pub name: String,
    /// `scheme://host:port` of the platform (never the key).
    pub target: String,
    pub state: OutputState,
    /// Whether a platform connection is open and publishing right now.
    pub connected: bool,
    /// Bytes written to the platform socket (RTMP chunks, all sessions).
    pub bytes_sent: u64,
    /// Write calls that put those bytes on the platform connection (for plain TCP, one
    /// `write`/`writev` system call each; through TLS, writes into the TLS stream).
    pub writes: u64,
    /// Over the last 3 s.
    pub bitrate_kbps: u32,
    /// Over the last 60 s (or since the output was added, if younger).
    pub avg_bitrate_1m_kbps: u32,
    /// Audio and video messages not delivered because the output's queue overflowed.
    pub dropped_frames: u64,
    /// Times the output started over after a failed or lost connection.
    pub reconnects: u32,
    /// Time since the current connection started publishing (`None` when not connected).
    pub uptime: Option<Duration>,
    /// Media bytes waiting in this output's queue (shared with the other outputs and the GOP
    /// cache, so the sum over outputs is an upper bound of the memory they hold).
    pub queued_bytes: usize,
}

#[derive(Debug)]
struct OutputInner {
    state: OutputState,
    live_since: Option<Instant>,
    rate: RateMeter,
}

/// What an output's push task shares with readers.
#[derive(Debug)]
pub(crate) struct OutputShared {
    pub(crate) name: String,
    pub(crate) target: String,
    inner: Mutex<OutputInner>,
    connected: AtomicBool,
    bytes_sent: AtomicU64,
    writes: AtomicU64,
    pub(crate) dropped: AtomicU64,
    reconnects: AtomicU32,
    pub(crate) queued_bytes: AtomicUsize,
    events: broadcast::Sender<RelayEvent>,
}

impl OutputShared {
    pub(crate) fn new(name: &str, target: String, events: broadcast::Sender<RelayEvent>) -> Self {
        OutputShared {
            name: name.to_string(),
            target,
            inner: Mutex::new(OutputInner {
                state: OutputState::WaitingForSource,
                live_since: None,
                rate: RateMeter::new(Instant::now()),
            }),
            connected: AtomicBool::new(false),
            bytes_sent: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reconnects: AtomicU32::new(0),
            queued_bytes: AtomicUsize::new(0),
            events,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutputInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the state; a real change is logged and broadcast.
    pub(crate) fn set_state(&self, state: OutputState) {
        {
            let mut inner = self.lock();
            if inner.state == state {
                return;
            }
            inner.state = state.clone();
        }
        match &state {
            OutputState::Retrying { reason, attempt } => {
                tracing::warn!(output = %self.name, target = %self.target, attempt, reason = %reason, "relay output retrying")
            }
            OutputState::Failed { reason } => {
                tracing::error!(output = %self.name, target = %self.target, reason = %reason, "relay output failed")
            }
            s => tracing::info!(output = %self.name, target = %self.target, state = ?s, "relay output state"),
        }
        let _ = self.events.send(RelayEvent::OutputState { name: self.name.clone(), state });
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
        let mut inner = self.lock();
        inner.live_since = connected.then(Instant::now);
    }

    /// `n` bytes in `writes` write calls; `at`: about now (the caller passes an instant it
    /// has, to spare a clock read).
    pub(crate) fn add_sent(&self, n: u64, writes: u64, at: Instant) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
        self.lock().rate.record(at, n);
    }

    pub(crate) fn add_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> OutputStats {
        let now = Instant::now();
        let inner = self.lock();
        OutputStats {
            name: self.name.clone(),
            target: self.target.clone(),
            state: inner.state.clone(),
            connected: self.connected.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            bitrate_kbps: inner.rate.kbps(now, CURRENT_WINDOW_SECS),
            avg_bitrate_1m_kbps: inner.rate.kbps(now, AVERAGE_WINDOW_SECS),
            dropped_frames: self.dropped.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            uptime: inner.live_since.map(|t| now.saturating_duration_since(t)),
            queued_bytes: self.queued_bytes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_averages_over_its_window() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        // 125 kB per second for 10 s = 1,000 kbit/s.
        for s in 0..10 {
            m.record(t0 + Duration::from_millis(s * 1000 + 500), 125_000);
        }
        let now = t0 + Duration::from_millis(10_000);
        let cur = m.kbps(now, CURRENT_WINDOW_SECS);
        assert!((900..=1100).contains(&cur), "current {cur}");
        let avg = m.kbps(now, AVERAGE_WINDOW_SECS);
        assert!((950..=1050).contains(&avg), "average {avg}");
        // Ten seconds of silence: current drops to 0, the minute average keeps the history.
        let later = t0 + Duration::from_secs(20);
        assert_eq!(m.kbps(later, CURRENT_WINDOW_SECS), 0);
        let avg = m.kbps(later, AVERAGE_WINDOW_SECS);
        assert!((450..=550).contains(&avg), "average {avg}");
    }

    #[test]
    fn meter_forgets_after_a_wrap_of_its_ring() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        m.record(t0, 1_000_000);
        let now = t0 + Duration::from_secs(BUCKETS as u64 + 1);
        assert_eq!(m.kbps(now, AVERAGE_WINDOW_SECS), 0);
    }
}
