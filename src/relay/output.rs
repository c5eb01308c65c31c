//! One output: waits for a source, connects and publishes, pumps its queue to the platform,
//! and reconnects with exponential backoff and jitter when the connection fails.
//!
//! Each (re)connection starts from the hub's cached GOP (metadata and sequence headers first),
//! so a platform always starts on a keyframe.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::fanout::Hub;
use super::media::SharedFrame;
use super::push::{PushConn, PushError};
use super::stats::OutputShared;
use super::target::PushTarget;
use super::OutputState;
use crate::secrets::Secret;

/// A connection that stayed up this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Most media bytes gathered into one write.
const BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct OutputPolicy {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
    /// Consecutive failures allowed; 0 = unlimited.
    pub(crate) max_attempts: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) write_stall: Duration,
    /// `SO_SNDBUF` for platform sockets; 0 = kernel default.
    pub(crate) send_buffer: usize,
}

impl OutputPolicy {
    /// Exponential backoff with jitter: a random delay in [d/2, d], d = initial·2^(attempt-1)
    /// capped at `max`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exp = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        let d = self.initial.saturating_mul(exp).min(self.max);
        d.mul_f64(rand::random_range(0.5..=1.0))
    }
}

pub(crate) struct OutputTask {
    pub(crate) shared: Arc<OutputShared>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) tap: u64,
    pub(crate) rx: mpsc::UnboundedReceiver<SharedFrame>,
    pub(crate) target: PushTarget,
    pub(crate) key: Secret,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) policy: OutputPolicy,
    pub(crate) cancel: CancellationToken,
}

impl OutputTask {
    pub(crate) async fn run(mut self) {
        let mut ready = self.hub.watch_ready();
        let mut attempt = 0u32;
        loop {
            if !*ready.borrow_and_update() {
                self.shared.set_state(OutputState::WaitingForSource);
                tokio::select! {
                    _ = self.cancel.cancelled() => break,
                    r = ready.wait_for(|r| *r) => if r.is_err() { break },
                }
            }
            if attempt == 0 {
                self.shared.set_state(OutputState::Connecting);
            }
            let started = Instant::now();
            let err = match self.session().await {
                Ok(()) => break,
                Err(e) => e,
            };
            if self.cancel.is_cancelled() {
                break;
            }
            if started.elapsed() >= STABLE_AFTER {
                attempt = 0;
            }
            attempt += 1;
            let reason = crate::failure::Failure::new(
                err.kind(),
                crate::failure::FailureSource::Platform,
                redact(&err.to_string(), &self.key),
            );
            if self.policy.max_attempts != 0 && attempt > self.policy.max_attempts {
                self.shared.set_state(OutputState::Failed { reason });
                break;
            }
            self.shared.add_reconnect();
            self.shared.set_state(OutputState::Retrying { reason, attempt });
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = tokio::time::sleep(self.policy.delay(attempt)) => {}
            }
        }
        self.hub.remove_tap(self.tap);
        while let Ok(f) = self.rx.try_recv() {
            self.shared.queued_bytes.fetch_sub(f.data.len(), Ordering::Relaxed);
        }
        self.shared.set_connected(false);
    }

    /// One connection: `Ok` when stopped on request (after a clean unpublish), `Err` when lost.
    async fn session(&mut self) -> Result<(), PushError> {
        let headers = self.hub.current_headers();
        let open =
            PushConn::open(&self.target, &self.key, self.tls.clone(), self.policy.send_buffer, &headers);
        let mut conn = tokio::select! {
            _ = self.cancel.cancelled() => return Ok(()),
            r = tokio::time::timeout(self.policy.connect_timeout, open) => match r {
                Ok(r) => r?,
                Err(_) => return Err(PushError::Timeout("connecting and publishing")),
            },
        };
        self.shared.set_connected(true);
        self.hub.attach(self.tap, &mut self.rx);
        let result = self.pump(&mut conn).await;
        self.hub.detach(self.tap, &mut self.rx);
        self.shared.set_connected(false);
        match result {
            Ok(()) => {
                let _ = tokio::time::timeout(Duration::from_secs(3), conn.close()).await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Frames from the queue to the platform until stopped (`Ok`) or the connection fails.
    /// The fast path (the socket takes the batch at once) arms no timer and wakes no one else.
    async fn pump(&mut self, conn: &mut PushConn) -> Result<(), PushError> {
        let cancel = self.cancel.clone();
        let cancelled = cancel.cancelled();
        tokio::pin!(cancelled);
        let stall = self.policy.write_stall;
        loop {
            let mut batch_bytes = 0usize;
            let mut arrived = None;
            tokio::select! {
                biased;
                _ = &mut cancelled => return Ok(()),
                r = conn.read_events() => r?,
                f = self.rx.recv() => {
                    let Some(f) = f else { return Ok(()) };
                    batch_bytes += f.data.len();
                    conn.queue_frame(&f);
                    arrived = Some(f.arrived);
                    while batch_bytes < BATCH_BYTES {
                        let Ok(f) = self.rx.try_recv() else { break };
                        batch_bytes += f.data.len();
                        conn.queue_frame(&f);
                        arrived = Some(f.arrived);
                    }
                }
            }
            if conn.has_pending() {
                let n = {
                    let flush = conn.flush();
                    tokio::pin!(flush);
                    match futures::poll!(flush.as_mut()) {
                        Poll::Ready(r) => r?,
                        Poll::Pending => tokio::select! {
                            _ = &mut cancelled => return Ok(()),
                            r = tokio::time::timeout(stall, flush) => match r {
                                Ok(r) => r?,
                                Err(_) => return Err(PushError::Stalled(stall)),
                            },
                        },
                    }
                };
                self.shared.add_sent(n as u64, conn.take_writes(), arrived.unwrap_or_else(Instant::now));
            }
            if batch_bytes > 0 {
                self.shared.queued_bytes.fetch_sub(batch_bytes, Ordering::Relaxed);
            }
        }
    }
}

/// Platforms may echo the stream name in error descriptions; keep the key out of our state.
fn redact(reason: &str, key: &Secret) -> String {
    if key.is_blank() {
        return reason.to_string();
    }
    reason.replace(key.expose(), "[redacted]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = OutputPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            max_attempts: 0,
            connect_timeout: Duration::from_secs(1),
            write_stall: Duration::from_secs(1),
            send_buffer: 0,
        };
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100), "{d1:?}");
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400), "{d3:?}");
            let d_big = p.delay(40);
            assert!(d_big >= Duration::from_secs(1) && d_big <= Duration::from_secs(2), "{d_big:?}");
        }
    }

    #[test]
    fn reasons_never_carry_the_key() {
        let key = Secret::new("live_123_abc");
        assert_eq!(redact("BadName live_123_abc", &key), "BadName [redacted]");
    }
}
