//! Bounded before authentication, for every HTTP listener of the project (the sync server and the
//! engine's control API): a wrapper around accepted connections that
//!
//! - closes a connection whose request head is not complete within `header_timeout` (slowloris,
//!   silent sockets, half-sent headers);
//! - caps connections still *pending* (head not complete, or not yet admitted by the handler)
//!   in total and per IP, and when a cap is reached closes the **oldest** pending connection
//!   rather than refusing the newcomer, so strangers holding sockets open never lock out a real
//!   client (which sends its request at once and so stops being pending);
//! - closes an admitted connection that neither read nor wrote anything for `idle_timeout`.
//!
//! Timeouts and evictions surface as read/write errors of the wrapped stream, which hyper (and a
//! WebSocket on top of it) treats as a closed connection. Nothing here knows HTTP beyond finding
//! the empty line that ends a request head.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod stream;

pub use stream::{GuardedIo, GuardedListener, HeadWatch};

use futures::task::AtomicWaker;
use tokio::time::Instant;

/// The knobs; see the module documentation.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// From accept to the end of the first request head.
    pub header_timeout: Duration,
    /// An admitted connection that neither reads nor writes for this long is closed.
    pub idle_timeout: Duration,
    /// Pending connections in total, and per peer IP (loopback peers: the total only, as behind
    /// a local reverse proxy every client is 127.0.0.1); the oldest is closed beyond either.
    pub max_pending: usize,
    pub max_pending_per_ip: usize,
    /// `true`: a complete request head admits the connection. `false`: it stays pending (and
    /// evictable) until the handler calls [`Admission::admit`], e.g. after authenticating.
    pub admit_on_head: bool,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(120),
            max_pending: 256,
            max_pending_per_ip: 64,
            admit_on_head: true,
        }
    }
}

const PENDING: u8 = 0;
const HEAD_DONE: u8 = 1;
const ADMITTED: u8 = 2;
const EVICTED: u8 = 3;

struct Slot {
    id: u64,
    ip: IpAddr,
    state: AtomicU8,
    waker: AtomicWaker,
    guard: Arc<Inner>,
}

impl Slot {
    fn evict(&self) {
        self.state.store(EVICTED, Ordering::SeqCst);
        self.waker.wake();
    }
}

/// Pending connections by age (ids grow), split into those whose request head is still
/// incomplete (`fresh`) and those past it, waiting for the handler to admit them (`headed`).
/// The fresh ones are evicted first: a client that already sent a whole request is the last to
/// be closed for room.
#[derive(Default)]
struct Registry {
    next: u64,
    fresh: BTreeMap<u64, Arc<Slot>>,
    headed: BTreeMap<u64, Arc<Slot>>,
    per_ip: HashMap<IpAddr, PerIp>,
}

#[derive(Default)]
struct PerIp {
    fresh: BTreeSet<u64>,
    headed: BTreeSet<u64>,
}

impl Registry {
    fn len(&self) -> usize {
        self.fresh.len() + self.headed.len()
    }

    fn insert(&mut self, slot: Arc<Slot>) {
        self.per_ip.entry(slot.ip).or_default().fresh.insert(slot.id);
        self.fresh.insert(slot.id, slot);
    }

    fn remove(&mut self, id: u64) -> Option<Arc<Slot>> {
        let slot = self.fresh.remove(&id).or_else(|| self.headed.remove(&id))?;
        if let Some(e) = self.per_ip.get_mut(&slot.ip) {
            e.fresh.remove(&id);
            e.headed.remove(&id);
            if e.fresh.is_empty() && e.headed.is_empty() {
                self.per_ip.remove(&slot.ip);
            }
        }
        Some(slot)
    }

    /// The request head of `id` is complete: it moves behind every fresh connection.
    fn headed(&mut self, id: u64) {
        if let Some(slot) = self.fresh.remove(&id) {
            if let Some(e) = self.per_ip.get_mut(&slot.ip) {
                e.fresh.remove(&id);
                e.headed.insert(id);
            }
            self.headed.insert(id, slot);
        }
    }

    fn count_ip(&self, ip: &IpAddr) -> usize {
        self.per_ip.get(ip).map_or(0, |e| e.fresh.len() + e.headed.len())
    }

    /// The next victim of `ip` (`Some`) or of all (`None`): the oldest fresh, else the oldest
    /// headed connection.
    fn victim(&self, ip: Option<&IpAddr>) -> Option<u64> {
        match ip {
            Some(ip) => {
                let e = self.per_ip.get(ip)?;
                e.fresh.first().or_else(|| e.headed.first()).copied()
            }
            None => self.fresh.keys().next().or_else(|| self.headed.keys().next()).copied(),
        }
    }
}

struct Inner {
    cfg: GuardConfig,
    name: &'static str,
    reg: Mutex<Registry>,
    evicted: AtomicU64,
    timed_out: AtomicU64,
    /// A flood writes one line per burst, not one per connection.
    warn: crate::log_safe::Burst,
}

impl Inner {
    fn release(&self, id: u64) {
        if let Ok(mut r) = self.reg.lock() {
            r.remove(id);
        }
    }

    fn note_evictions(&self, n: u64) {
        let total = self.evicted.fetch_add(n, Ordering::Relaxed) + n;
        if self.warn.hit().is_some() {
            tracing::warn!(
                listener = self.name,
                evicted_total = total,
                "{}: too many connections without a request; closing the oldest (one line per 10 s)",
                self.name
            );
        }
    }
}

/// Counters, for tests and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardStats {
    pub pending: usize,
    pub evicted: u64,
    pub timed_out: u64,
}

/// A connection guard shared by one listener's connections.
#[derive(Clone)]
pub struct Guard(Arc<Inner>);

impl Guard {
    /// `name` appears in the (rate-limited) log lines: "sync server", "control API".
    pub fn new(name: &'static str, cfg: GuardConfig) -> Guard {
        Guard(Arc::new(Inner {
            cfg,
            name,
            reg: Mutex::new(Registry::default()),
            evicted: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            warn: crate::log_safe::Burst::new(),
        }))
    }

    pub fn stats(&self) -> GuardStats {
        let pending = self.0.reg.lock().map(|r| r.len()).unwrap_or(0);
        GuardStats {
            pending,
            evicted: self.0.evicted.load(Ordering::Relaxed),
            timed_out: self.0.timed_out.load(Ordering::Relaxed),
        }
    }

    /// Register a freshly accepted connection (closing the oldest pending ones beyond the caps)
    /// and wrap its stream.
    pub fn wrap<T>(&self, io: T, peer: SocketAddr) -> (GuardedIo<T>, Peer) {
        self.wrap_counting(io, peer).0
    }

    /// [`Guard::wrap`], also telling whether older connections were closed for room.
    fn wrap_counting<T>(&self, io: T, peer: SocketAddr) -> ((GuardedIo<T>, Peer), bool) {
        let ip = canonical(peer.ip());
        let cfg = &self.0.cfg;
        let mut victims = Vec::new();
        let slot = {
            let mut r = self.0.reg.lock().unwrap_or_else(|p| p.into_inner());
            r.next += 1;
            let slot = Arc::new(Slot {
                id: r.next,
                ip,
                state: AtomicU8::new(PENDING),
                waker: AtomicWaker::new(),
                guard: self.0.clone(),
            });
            // Loopback peers share the total cap only: behind a reverse proxy on the same host
            // every client is 127.0.0.1 (the proxy's own limits apply there).
            while !ip.is_loopback() && r.count_ip(&ip) >= cfg.max_pending_per_ip.max(1) {
                let Some(v) = r.victim(Some(&ip)).and_then(|id| r.remove(id)) else { break };
                victims.push(v);
            }
            while r.len() >= cfg.max_pending.max(1) {
                let Some(v) = r.victim(None).and_then(|id| r.remove(id)) else { break };
                victims.push(v);
            }
            r.insert(slot.clone());
            slot
        };
        if !victims.is_empty() {
            for v in &victims {
                v.evict();
            }
            self.0.note_evictions(victims.len() as u64);
        }
        let now = Instant::now();
        let io = GuardedIo {
            io,
            slot: slot.clone(),
            timer: Box::pin(tokio::time::sleep_until(now + cfg.header_timeout)),
            accepted: now,
            last_activity: now,
        };
        ((io, Peer { addr: peer, admission: Admission(slot) }), !victims.is_empty())
    }
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// What a guarded listener yields as the peer address: the socket address and the handle that
/// admits the connection.
#[derive(Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub admission: Admission,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.addr)
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, GuardedListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Ends a connection's pending state: it no longer counts against the caps nor can be evicted,
/// and from now on only the idle timeout applies.
#[derive(Clone)]
pub struct Admission(Arc<Slot>);

impl Admission {
    pub fn admit(&self) {
        admit(&self.0);
    }
}

fn admit(slot: &Slot) {
    let prev = slot.state.swap(ADMITTED, Ordering::SeqCst);
    if prev == EVICTED {
        slot.state.store(EVICTED, Ordering::SeqCst);
        return;
    }
    slot.guard.release(slot.id);
    slot.waker.wake();
}

fn head_done(slot: &Slot) {
    if slot.guard.cfg.admit_on_head {
        admit(slot);
    } else if slot.state.compare_exchange(PENDING, HEAD_DONE, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        if let Ok(mut r) = slot.guard.reg.lock() {
            r.headed(slot.id);
        }
        slot.waker.wake();
    }
}

/// Raise the soft open-files limit to the hard limit (each connection is a descriptor). A no-op
/// where the OS has no such limit.
pub fn raise_nofile_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[cfg(test)]
mod tests;
