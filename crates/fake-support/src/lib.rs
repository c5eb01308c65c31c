//! Pieces the local fakes (`fake-cloudflare`, `fake-platforms`) share; each fake keeps its own
//! domain (routes, fault kinds, error bodies) and uses these for the plumbing:
//! - [`FaultQueue`]: faults waiting for the requests they apply to, optionally aimed at one
//!   operation, oldest first.
//! - [`Server`]: a fake serving in a background task; dropping it (or [`Server::shutdown`])
//!   stops it.
//! - [`init_logging`] and [`shutdown_signal`] for the fakes' binaries.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Faults (`F`) waiting for the requests they apply to, each optionally aimed at one operation
/// (`R`), oldest first.
#[derive(Debug)]
pub struct FaultQueue<F, R> {
    queued: VecDeque<(F, Option<R>)>,
}

impl<F, R> Default for FaultQueue<F, R> {
    fn default() -> Self {
        FaultQueue { queued: VecDeque::new() }
    }
}

impl<F: Clone, R: Copy + PartialEq> FaultQueue<F, R> {
    /// Queues `fault` for the next `n` requests (of operation `route`, or any).
    pub fn push(&mut self, fault: F, n: usize, route: Option<R>) {
        for _ in 0..n {
            self.queued.push_back((fault.clone(), route));
        }
    }

    /// Takes the oldest fault that applies to a request of this operation (`None`: a request
    /// that is no known operation, which only un-aimed faults apply to).
    pub fn take(&mut self, route: Option<R>) -> Option<F> {
        let pos = self.queued.iter().position(|(_, r)| r.is_none() || *r == route)?;
        self.queued.remove(pos).map(|(f, _)| f)
    }

    pub fn len(&self) -> usize {
        self.queued.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    pub fn clear(&mut self) {
        self.queued.clear();
    }
}

/// Completes when a [`Server`] is asked to stop (pass it to `with_graceful_shutdown`).
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A fault spec's `"status"` kind: its `status` field, which must be an HTTP status code.
pub fn spec_status(status: Option<u16>) -> Result<u16, String> {
    match status {
        Some(s) if (100..=999).contains(&s) => Ok(s),
        _ => Err("kind \"status\" needs \"status\" (an HTTP status code)".into()),
    }
}

/// A fault spec's `"delay"` kind: its `delay_ms` field, which must be there.
pub fn spec_delay(delay_ms: Option<u64>) -> Result<Duration, String> {
    delay_ms.map(Duration::from_millis).ok_or_else(|| "kind \"delay\" needs \"delay_ms\"".into())
}

/// A server running in a background task until [`Server::shutdown`] or drop.
#[derive(Debug)]
pub struct Server {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Spawns `serve(shutdown)`, where `shutdown` completes when the server is asked to stop.
    pub fn spawn<S, Fut>(serve: S) -> Server
    where
        S: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(Box::pin(async {
            let _ = stopped.await;
        })));
        Server { stop: Some(stop), task: Some(task) }
    }

    /// Stops accepting, lets in-flight work finish (up to 5 s), then stops. (Takes `&mut self` so
    /// that an owner with its own `Drop` can call it; afterwards the handle is spent.)
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_aimed_at_a_route_skip_other_routes() {
        let mut q: FaultQueue<&str, u8> = FaultQueue::default();
        q.push("aimed", 1, Some(7));
        q.push("any", 2, None);
        assert_eq!(q.len(), 3);
        assert_eq!(q.take(Some(1)), Some("any"));
        assert_eq!(q.take(Some(7)), Some("aimed"));
        assert_eq!(q.take(None), Some("any"));
        assert_eq!(q.take(None), None);
        assert!(q.is_empty());
    }

    #[test]
    fn spec_fields_are_checked() {
        assert_eq!(spec_status(Some(503)), Ok(503));
        assert!(spec_status(Some(42)).unwrap_err().contains("HTTP status code"));
        assert!(spec_status(None).is_err());
        assert_eq!(spec_delay(Some(250)), Ok(Duration::from_millis(250)));
        assert!(spec_delay(None).unwrap_err().contains("delay_ms"));
    }

    #[tokio::test]
    async fn shutdown_completes_the_servers_shutdown_future() {
        let (done, finished) = oneshot::channel::<()>();
        let mut server = Server::spawn(|shutdown| async move {
            shutdown.await;
            let _ = done.send(());
            Ok(())
        });
        server.shutdown().await;
        assert_eq!(finished.await, Ok(()));
    }
}
