//! The guarded stream types: [`GuardedIo`] at the socket (deadlines, eviction), [`HeadWatch`]
//! on the decrypted bytes (the end of the request head), and the plain-TCP [`GuardedListener`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::{head_done, Admission, Guard, Peer, Slot, ADMITTED, EVICTED, PENDING};

/// A guarded stream: enforces the timeouts and eviction on every read and write.
pub struct GuardedIo<T> {
    pub(super) io: T,
    pub(super) slot: Arc<Slot>,
    pub(super) timer: Pin<Box<Sleep>>,
    pub(super) accepted: Instant,
    pub(super) last_activity: Instant,
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
    pub(super) fn scan(&mut self, bytes: &[u8]) -> bool {
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
            if self.line.is_some() && self.scan(&buf.filled()[before..]) {
                head_done(&self.admission.0);
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
