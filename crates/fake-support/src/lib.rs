//! Pieces the local fakes (`fake-cloudflare`, `fake-platforms`) share; each fake keeps its own
//! domain (routes, fault kinds, error bodies) and uses these for the plumbing:
//! - [`FaultQueue`]: faults waiting for the requests they apply to, optionally aimed at one
//!   operation, oldest first.
//! - [`Server`]: a fake serving in a background task; dropping it (or [`Server::shutdown`])
//!   stops it.
//! - [`apply_fault`]: a drawn fault waited out, answered, or left to the handler;
//!   [`RequestCounts`]: requests by operation; [`random_string`] for tokens and ids.
//! - [`init_logging`] and [`shutdown_signal`] for the fakes' binaries.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

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

/// How a fake applies the fault a request drew: a delay (`delay` says which faults are one) is
/// waited out here and the request goes on; another fault is answered at once when `answer`
/// gives the answer, else left to the handler (`Ok(Some(fault))`).
pub async fn apply_fault<F, A>(
    fault: Option<F>,
    delay: impl FnOnce(&F) -> Option<Duration>,
    answer: impl FnOnce(&F) -> Option<A>,
) -> Result<Option<F>, A> {
    let Some(f) = fault else { return Ok(None) };
    if let Some(d) = delay(&f) {
        tokio::time::sleep(d).await;
        return Ok(None);
    }
    match answer(&f) {
        Some(resp) => Err(resp),
        None => Ok(Some(f)),
    }
}

/// How many requests of each operation (`R`) a fake received.
#[derive(Clone, Debug)]
pub struct RequestCounts<R> {
    by_route: BTreeMap<R, u64>,
}

impl<R> Default for RequestCounts<R> {
    fn default() -> Self {
        RequestCounts { by_route: BTreeMap::new() }
    }
}

impl<R: Ord + Copy> RequestCounts<R> {
    pub fn count(&mut self, route: R) {
        *self.by_route.entry(route).or_insert(0) += 1;
    }

    pub fn get(&self, route: R) -> u64 {
        self.by_route.get(&route).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.by_route.values().sum()
    }

    pub fn by_route(&self) -> BTreeMap<R, u64> {
        self.by_route.clone()
    }
}

/// An OAuth access token a fake issued: its grant and its end.
#[derive(Clone, Debug)]
pub struct AccessRecord {
    pub grant: u64,
    pub expires_at: Instant,
}

impl AccessRecord {
    /// A token of `grant` that lasts `ttl_secs` from now.
    pub fn new(grant: u64, ttl_secs: u64) -> AccessRecord {
        AccessRecord { grant, expires_at: Instant::now() + Duration::from_secs(ttl_secs) }
    }
}

/// The tokens that work now: unexpired access tokens and refresh tokens (token → grant) whose
/// grant is `live`.
pub fn live_tokens(
    access: &HashMap<String, AccessRecord>,
    refresh: &HashMap<String, u64>,
    live: impl Fn(u64) -> bool,
) -> (Vec<String>, Vec<String>) {
    let now = Instant::now();
    let access = access.iter().filter(|(_, r)| r.expires_at > now && live(r.grant)).map(|(t, _)| t.clone());
    let refresh = refresh.iter().filter(|(_, id)| live(**id)).map(|(t, _)| t.clone());
    (access.collect(), refresh.collect())
}

/// A random string of `n` characters from `alphabet` (ASCII).
pub fn random_string(alphabet: &[u8], n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
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

    #[tokio::test]
    async fn a_drawn_fault_is_waited_out_answered_or_left_to_the_handler() {
        let delay = |f: &&str| (*f == "delay").then_some(Duration::from_millis(1));
        let answer = |f: &&str| (*f == "answer").then_some(503u16);
        assert_eq!(apply_fault(None, delay, answer).await, Ok(None));
        assert_eq!(apply_fault(Some("delay"), delay, answer).await, Ok(None));
        assert_eq!(apply_fault(Some("answer"), delay, answer).await, Err(503));
        assert_eq!(apply_fault(Some("handler"), delay, answer).await, Ok(Some("handler")));
    }

    #[test]
    fn requests_are_counted_by_route() {
        let mut c: RequestCounts<u8> = RequestCounts::default();
        c.count(2);
        c.count(2);
        c.count(5);
        assert_eq!((c.get(2), c.get(5), c.get(9), c.total()), (2, 1, 0, 3));
        assert_eq!(c.by_route(), BTreeMap::from([(2, 2), (5, 1)]));
    }

    #[test]
    fn live_tokens_leave_out_the_expired_and_the_revoked() {
        let mut access = HashMap::new();
        access.insert("fresh".to_string(), AccessRecord::new(1, 3600));
        access.insert("expired".to_string(), AccessRecord { grant: 1, expires_at: Instant::now() });
        access.insert("revoked".to_string(), AccessRecord::new(2, 3600));
        let refresh = HashMap::from([("r1".to_string(), 1), ("r2".to_string(), 2)]);
        let (access, refresh) = live_tokens(&access, &refresh, |grant| grant == 1);
        assert_eq!((access, refresh), (vec!["fresh".to_string()], vec!["r1".to_string()]));
    }

    #[test]
    fn random_strings_come_from_the_alphabet() {
        let s = random_string(b"ab", 64);
        assert_eq!(s.len(), 64);
        assert!(s.chars().all(|c| c == 'a' || c == 'b'), "{s}");
    }

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
