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
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

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

/// A guarded stream: enforces the timeouts and eviction on every read and write.
pub struct GuardedIo<T> {
    io: T,
    slot: Arc<Slot>,
    timer: Pin<Box<Sleep>>,
    accepted: Instant,
    last_activity: Instant,
}

impl<T> GuardedIo<T> {
    /// Where the current phase ends: the header deadline while pending, else idle.
    fn deadline(&self, state: u8) -> Instant {
        match state {
            PENDING => self.accepted + self.slot.guard.cfg.header_timeout,
            _ => self.last_activity + self.slot.guard.cfg.idle_timeout,
        }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.slot.waker.register(cx.waker());
        let state = self.slot.state.load(Ordering::SeqCst);
        if state == EVICTED {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "evicted: too many pending connections",
            ));
        }
        loop {
            let deadline = self.deadline(state);
            if deadline <= Instant::now() {
                self.slot.guard.timed_out.fetch_add(1, Ordering::Relaxed);
                let what = if state == PENDING { "no complete request in time" } else { "idle" };
                return Err(io::Error::new(io::ErrorKind::TimedOut, what));
            }
            // Activity only moves the deadline later: the timer is left as it is then (no
            // re-arming per read) and re-armed when it fires early or the phase shortens it.
            if self.timer.is_elapsed() || deadline < self.timer.deadline() {
                self.timer.as_mut().reset(deadline);
            }
            match self.timer.as_mut().poll(cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(()) => continue,
            }
        }
    }
}

impl<T> Drop for GuardedIo<T> {
    fn drop(&mut self) {
        if self.slot.state.load(Ordering::SeqCst) != ADMITTED {
            self.slot.guard.release(self.slot.id);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.io).poll_read(cx, buf);
        match res {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.last_activity = Instant::now();
                }
                // An evicted or timed-out connection still reports it, even with bytes ready.
                if let Err(e) = self.check(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.slot.state.load(Ordering::SeqCst) == EVICTED {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionAborted, "evicted")));
        }
        let res = Pin::new(&mut self.io).poll_write(cx, data);
        match res {
            Poll::Ready(Ok(n)) if n > 0 => self.last_activity = Instant::now(),
            // A peer that stopped reading: the idle limit applies to a stuck write too.
            Poll::Pending => {
                if let Err(e) = self.check(cx) {
                    return Poll::Ready(Err(e));
                }
            }
            _ => {}
        }
        res
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Finds the end of the first request head in the bytes read through it (after TLS, if any).
pub struct HeadWatch<T> {
    io: T,
    admission: Admission,
    /// Bytes on the current line (CR not counted); `None` once the head is complete.
    line: Option<usize>,
    lines: usize,
}

impl<T> HeadWatch<T> {
    pub fn new(io: T, admission: Admission) -> Self {
        HeadWatch { io, admission, line: Some(0), lines: 0 }
    }

    /// Feed bytes; true when the empty line ending the head was seen.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        let Some(mut line) = self.line else { return false };
        for &b in bytes {
            match b {
                b'\n' => {
                    if line == 0 && self.lines > 0 {
                        self.line = None;
                        return true;
                    }
                    // Empty lines before the request line are tolerated (RFC 9112 2.2).
                    if line > 0 {
                        self.lines += 1;
                    }
                    line = 0;
                }
                b'\r' => {}
                _ => line += 1,
            }
        }
        self.line = Some(line);
        false
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadWatch<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            if self.line.is_some() {
                if self.scan(&buf.filled()[before..]) {
                    head_done(&self.admission.0);
                }
            }
        }
        res
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadWatch<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A plain-TCP listener behind a [`Guard`].
pub struct GuardedListener {
    listener: tokio::net::TcpListener,
    guard: Guard,
}

impl GuardedListener {
    pub fn new(listener: tokio::net::TcpListener, guard: Guard) -> Self {
        GuardedListener { listener, guard }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = HeadWatch<GuardedIo<tokio::net::TcpStream>>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((tcp, addr)) => {
                    // Small frames (events, pushes) must not wait out Nagle + delayed ACK.
                    let _ = tcp.set_nodelay(true);
                    let ((io, peer), evicted) = self.guard.wrap_counting(tcp, addr);
                    if evicted {
                        // Under a flood: let the connections accepted so far (a real client
                        // among them) read their first bytes before more are accepted.
                        tokio::task::yield_now().await;
                    }
                    return (HeadWatch::new(io, peer.admission.clone()), peer);
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning (as axum's own loop does).
                    tracing::debug!(cause = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Err(io::Error::other("a guarded listener has no local peer"))
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
mod tests {
    use super::*;

    fn watch(bytes: &[&[u8]]) -> bool {
        let g = Guard::new("test", GuardConfig::default());
        let (_io, peer) = g.wrap((), "127.0.0.1:1".parse().unwrap());
        let mut w = HeadWatch::new((), peer.admission);
        bytes.iter().any(|b| w.scan(b))
    }

    #[tokio::test]
    async fn finds_the_end_of_a_head_across_reads() {
        assert!(watch(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"]));
        assert!(watch(&[b"GET / HTTP/1.1\r\nHo", b"st: a\r", b"\n", b"\r\n"]));
        assert!(watch(&[b"\r\nGET / HTTP/1.1\n\n"]));
        assert!(!watch(&[b"GET / HTTP/1.1\r\nHost: a\r\n"]));
        assert!(!watch(&[b"\r\n\r\n"]));
    }

    #[tokio::test]
    async fn the_oldest_pending_connection_is_evicted_per_ip_and_in_total() {
        let cfg = GuardConfig { max_pending: 3, max_pending_per_ip: 2, ..GuardConfig::default() };
        let g = Guard::new("test", cfg);
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:1".parse().unwrap();
        let (a1, _) = g.wrap((), a);
        let (a2, _) = g.wrap((), a);
        let (a3, _) = g.wrap((), a); // evicts a1 (per IP)
        assert_eq!(a1.slot.state.load(Ordering::SeqCst), EVICTED);
        assert_eq!(g.stats().pending, 2);
        let (b1, pb1) = g.wrap((), b);
        let (b2, _) = g.wrap((), b); // total 4 > 3: evicts a2
        assert_eq!(a2.slot.state.load(Ordering::SeqCst), EVICTED);
        assert_ne!(a3.slot.state.load(Ordering::SeqCst), EVICTED);
        pb1.admission.admit();
        assert_eq!(g.stats().pending, 2);
        drop(b2);
        assert_eq!(g.stats().pending, 1);
        assert_eq!(b1.slot.state.load(Ordering::SeqCst), ADMITTED);
        assert_eq!(g.stats().evicted, 2);
    }

    #[tokio::test]
    async fn a_connection_past_its_request_head_is_evicted_last() {
        let cfg = GuardConfig {
            max_pending: 10,
            max_pending_per_ip: 2,
            admit_on_head: false,
            ..GuardConfig::default()
        };
        let g = Guard::new("test", cfg);
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let (a1, p1) = g.wrap((), a);
        let (a2, _) = g.wrap((), a);
        head_done(&p1.admission.0); // a1 sent its whole request: still pending (no hello yet)
        assert_eq!(a1.slot.state.load(Ordering::SeqCst), HEAD_DONE);
        let (a3, p3) = g.wrap((), a);
        assert_eq!(a2.slot.state.load(Ordering::SeqCst), EVICTED, "the fresh one goes first");
        assert_eq!(a1.slot.state.load(Ordering::SeqCst), HEAD_DONE);
        head_done(&p3.admission.0);
        let (_a4, _) = g.wrap((), a);
        assert_eq!(a1.slot.state.load(Ordering::SeqCst), EVICTED, "then the oldest headed one");
        assert_eq!(a3.slot.state.load(Ordering::SeqCst), HEAD_DONE);
    }

    /// A flood of evictions writes one warning per 10 s, not one per connection.
    #[tokio::test]
    async fn ten_thousand_evictions_write_one_short_warning() {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt().with_ansi(false).with_writer(move || w.clone()).finish();
        let g = Guard::new("test", GuardConfig { max_pending: 1, ..GuardConfig::default() });
        tracing::subscriber::with_default(sub, || {
            let peer: SocketAddr = "10.0.0.1:1".parse().unwrap();
            let mut keep = Vec::new();
            for _ in 0..10_001 {
                keep.push(g.wrap((), peer));
            }
        });
        assert_eq!(g.stats().evicted, 10_000);
        let log = buf.0.lock().unwrap().clone();
        assert_eq!(log.iter().filter(|b| **b == b'\n').count(), 1, "{}", String::from_utf8_lossy(&log));
        assert!(log.len() < 10 * 1024);
    }
}
