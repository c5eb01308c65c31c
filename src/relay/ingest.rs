//! The local RTMP ingest: OBS (or any RTMP encoder) publishes to `rtmp://<listen>/<app>/<key>`.
//!
//! One task per TCP connection runs the `rml_rtmp` handshake and the relay's own server
//! protocol ([`ServerProto`]) over the socket. A publisher with the right key replaces the
//! current one (OBS reconnecting after a blip often arrives before the old socket has timed
//! out).
//!
//! Bounded before authentication: until a connection has published with the right key it
//! holds a [`Ticket`] (capped per IP and in total; a newcomer pushes out the least advanced,
//! oldest pending connection, so idle strangers cannot lock OBS out), must finish the handshake
//! within [`HANDSHAKE_TIMEOUT`] and publish within [`SETUP_TIMEOUT`], and its messages are
//! limited to a few KiB ([`super::chunks::Limits::UNAUTHENTICATED`]). Refusals (wrong key or
//! application, timeouts, evictions, protocol errors of strangers) are counted and logged once
//! per burst ([`Throttle`]); keys are never logged and peer-chosen text is escaped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::admission::{Admission, Caps, Stage, Ticket};
use super::fanout::Hub;
use super::logtext::escape;
use super::server_proto::{ProtoError, Request, ServerProto};
use super::throttle::{Throttle, Verdict};
use super::{RejectReason, RelayEvent};
use crate::secrets::Secret;

/// The RTMP handshake must be done within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Handshake, connect and publish must be done within this time.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// A publishing connection that sends nothing for this long is closed (a dead TCP peer).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The client's first handshake packet: the version byte and 1536 bytes.
const C0_C1_LEN: usize = 1537;

pub(crate) struct IngestCtx {
    pub(crate) hub: Arc<Hub>,
    pub(crate) app: String,
    pub(crate) key: Secret,
    next_conn: AtomicU64,
    admission: Arc<Admission>,
    refusals: Throttle,
}

impl IngestCtx {
    pub(crate) fn new(hub: Arc<Hub>, app: &str, key: Secret) -> Self {
        IngestCtx {
            hub,
            app: app.to_string(),
            key,
            next_conn: AtomicU64::new(1),
            admission: Admission::new(Caps::DEFAULT),
            refusals: Throttle::default(),
        }
    }

    /// A connection refused or dropped before it authenticated: one warning per burst.
    fn refused(&self, peer: SocketAddr, why: &str) {
        match self.refusals.event(|| format!("{why} ({peer})")) {
            Verdict::Log { folded: 0 } => tracing::warn!(
                %peer,
                reason = why,
                "relay ingest: connection refused (further refusals within 10 s are counted, not logged)"
            ),
            Verdict::Log { folded } => tracing::warn!(
                %peer,
                reason = why,
                earlier = folded,
                "relay ingest: connection refused; {folded} more were refused before it"
            ),
            Verdict::Quiet => tracing::trace!(%peer, reason = why, "relay ingest: connection refused"),
        }
    }

    /// Log the count of a burst once it is over.
    fn summarize_refusals(&self) {
        if let Some((count, latest)) = self.refusals.summary() {
            tracing::warn!(count, latest = %latest, "relay ingest: {count} more connections refused in the last burst");
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum IngestError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("timed out ({0})")]
    Timeout(&'static str),
    #[error("RTMP handshake: {0}")]
    Handshake(String),
    #[error("RTMP protocol: {0}")]
    Protocol(#[from] ProtoError),
    #[error("too many connections setting up: closed to make room for a newer one")]
    Evicted,
}

pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<IngestCtx>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {
                ctx.summarize_refusals();
                continue;
            }
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                if let Verdict::Log { .. } = ctx.refusals.event(|| format!("accept failed: {e}")) {
                    tracing::warn!(cause = %e, "relay ingest: accept failed");
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        // Connections pushed out for this one log their refusal themselves.
        let (ticket, _evicted) = ctx.admission.admit(peer.ip());
        let conn_id = ctx.next_conn.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("relay_ingest", conn = conn_id, %peer);
        tracker
            .spawn(serve(stream, peer, ctx.clone(), conn_id, ticket, cancel.child_token()).instrument(span));
    }
}

/// Ends the publish (if this connection still is the publisher) however the task ends.
struct Cleanup {
    ctx: Arc<IngestCtx>,
    conn_id: u64,
    reason: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.ctx.hub.end_publish(self.conn_id, &self.reason);
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<IngestCtx>,
    conn_id: u64,
    ticket: Ticket,
    cancel: CancellationToken,
) {
    let accepted = Instant::now();
    let mut cleanup = Cleanup { ctx: ctx.clone(), conn_id, reason: "connection lost".into() };
    let mut conn =
        Conn { stream, peer, ctx, conn_id, cancel, out: Vec::new(), publishing: false, ticket: Some(ticket) };
    let result = conn.run().await;
    let authenticated = conn.ticket.is_none();
    match result {
        Ok(reason) => {
            tracing::debug!(reason, "relay ingest: connection closed");
            cleanup.reason = reason.to_string();
        }
        Err(e) if authenticated => {
            tracing::warn!(cause = %e, "relay ingest: publisher connection closed on error");
            cleanup.reason = e.to_string();
        }
        Err(e) => {
            tracing::debug!(cause = %e, "relay ingest: closed before authenticating");
            conn.ctx.refused(peer, &e.to_string());
            cleanup.reason = e.to_string();
            if matches!(e, IngestError::Evicted) {
                // Closing at once would let a stranger that reconnects whenever it is dropped
                // churn thousands of connections a second, crowding OBS out of the accept
                // queue. Unread until its handshake deadline (plus jitter, so a crowd of them
                // does not come back at once), it costs a descriptor and no CPU.
                conn.out = Vec::new();
                drop(conn.ticket.take());
                let until = accepted + HANDSHAKE_TIMEOUT.mul_f64(rand::random_range(1.0..2.0));
                tokio::select! {
                    _ = conn.cancel.cancelled() => {}
                    _ = tokio::time::sleep_until(until) => {}
                }
            }
        }
    }
    drop(conn.ticket.take());
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.stream.shutdown()).await;
}

enum Next {
    Continue,
    Close(&'static str),
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<IngestCtx>,
    conn_id: u64,
    cancel: CancellationToken,
    out: Vec<u8>,
    publishing: bool,
    /// Held until the connection has published with the right key.
    ticket: Option<Ticket>,
}

impl Conn {
    async fn run(&mut self) -> Result<&'static str, IngestError> {
        let _ = self.stream.set_nodelay(true);
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let mut proto = ServerProto::new();
        let evicted = self.ticket.as_ref().map(|t| t.evicted().clone()).unwrap_or_default();
        tokio::select! {
            biased;
            _ = evicted.cancelled() => return Err(IngestError::Evicted),
            r = self.handshake(&mut proto, Instant::now() + HANDSHAKE_TIMEOUT) => r?,
        }
        self.advance(Stage::Handshaken);
        // One long-lived timer, re-armed only when it fires: no timer work per read.
        let mut setup_deadline = deadline;
        let mut last_read = Instant::now();
        let timer = tokio::time::sleep_until(setup_deadline);
        tokio::pin!(timer);
        let cancel = self.cancel.clone();
        let cancelled = cancel.cancelled();
        tokio::pin!(cancelled);
        let mut next = self.input(&mut proto)?;
        loop {
            if let Some(bytes) = proto.take_output() {
                self.out.extend_from_slice(&bytes);
            }
            self.flush().await?;
            if let Next::Close(reason) = next {
                return Ok(reason);
            }
            if self.publishing && self.ticket.is_some() {
                self.ticket = None; // authenticated: no longer counts as pending
            }
            let read = tokio::select! {
                biased;
                _ = &mut cancelled => return Ok("replaced by a new publisher or shut down"),
                _ = evicted.cancelled(), if self.ticket.is_some() => return Err(IngestError::Evicted),
                _ = &mut timer => {
                    let due = if self.publishing { last_read + IDLE_TIMEOUT } else { setup_deadline };
                    if Instant::now() >= due {
                        let what = if self.publishing { "no data from the publisher" } else { "RTMP setup" };
                        return Err(IngestError::Timeout(what));
                    }
                    timer.as_mut().reset(due);
                    next = Next::Continue;
                    continue;
                }
                r = self.stream.read_buf(proto.reader().buffer()) => r?,
            };
            if read == 0 {
                return Ok("disconnected");
            }
            last_read = Instant::now();
            proto.received(read);
            let was_publishing = self.publishing;
            next = self.input(&mut proto)?;
            if was_publishing && !self.publishing {
                setup_deadline = last_read + SETUP_TIMEOUT;
                timer.as_mut().reset(setup_deadline);
            } else if !was_publishing && self.publishing {
                timer.as_mut().reset(last_read + IDLE_TIMEOUT);
            }
        }
    }

    /// The server side of the handshake. Nothing is computed (no digest, no answer) until the
    /// client's whole first packet is in: half a handshake costs a stranger nothing and us
    /// nothing, and a wrong version byte is refused at once.
    async fn handshake(&mut self, proto: &mut ServerProto, deadline: Instant) -> Result<(), IngestError> {
        let mut buf = vec![0u8; 4096];
        let mut have = 0;
        while have < C0_C1_LEN {
            have += self.read_handshake(&mut buf[have..C0_C1_LEN], deadline).await?;
            if buf[0] != 3 {
                return Err(IngestError::Handshake(format!("unsupported RTMP version {}", buf[0])));
            }
        }
        self.advance(Stage::Greeted);
        let mut hs = Handshake::new(PeerType::Server);
        let mut input = have;
        loop {
            match hs.process_bytes(&buf[..input]) {
                Ok(HandshakeProcessResult::InProgress { response_bytes }) => self.out.extend(response_bytes),
                Ok(HandshakeProcessResult::Completed { response_bytes, remaining_bytes }) => {
                    self.out.extend(response_bytes);
                    proto.reader().buffer().extend_from_slice(&remaining_bytes);
                    proto.received(remaining_bytes.len());
                    return self.flush().await;
                }
                Err(e) => return Err(IngestError::Handshake(format!("{e:?}"))),
            }
            self.flush().await?;
            input = self.read_handshake(&mut buf, deadline).await?;
        }
    }

    async fn read_handshake(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, IngestError> {
        match tokio::time::timeout_at(deadline, self.stream.read(buf)).await {
            Err(_) => Err(IngestError::Timeout("RTMP handshake")),
            Ok(Ok(0)) => Err(IngestError::Handshake("closed by the peer".into())),
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(e.into()),
        }
    }

    async fn flush(&mut self) -> Result<(), IngestError> {
        if self.out.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(&self.out)).await {
            Ok(r) => r?,
            Err(_) => return Err(IngestError::Timeout("writing to the publisher")),
        }
        self.out.clear();
        Ok(())
    }

    /// Handle every complete message in the buffer.
    fn input(&mut self, proto: &mut ServerProto) -> Result<Next, IngestError> {
        while let Some(request) = proto.next()? {
            if let Next::Close(reason) = self.request(proto, request) {
                return Ok(Next::Close(reason));
            }
        }
        Ok(Next::Continue)
    }

    fn advance(&self, stage: Stage) {
        if let Some(t) = &self.ticket {
            t.advance(stage);
        }
    }

    /// `detail`: already escaped peer text for the log (never a key).
    fn reject(&mut self, reason: RejectReason, detail: Option<String>) {
        let why = match (reason, detail) {
            (RejectReason::UnknownApp, Some(app)) => {
                format!("unknown application \"{app}\" (the ingest's is \"{}\")", self.ctx.app)
            }
            (RejectReason::UnknownApp, None) => "unknown application".to_string(),
            (RejectReason::WrongKey, _) => "wrong stream key".to_string(),
            (RejectReason::PlayNotAllowed, _) => "playback is not offered".to_string(),
        };
        self.ctx.refused(self.peer, &why);
        let _ = self.ctx.hub.events().send(RelayEvent::PublishRejected { peer: self.peer, reason });
    }

    fn request(&mut self, proto: &mut ServerProto, request: Request) -> Next {
        let hub = &self.ctx.hub;
        match request {
            Request::Media { kind, timestamp, payload } => {
                hub.push_media(self.conn_id, kind, timestamp, payload)
            }
            Request::Metadata { raw, metadata } => hub.set_metadata(self.conn_id, raw, metadata),
            Request::Connect { app, transaction } => {
                if app.trim_matches('/') == self.ctx.app {
                    proto.accept_connect(transaction);
                    self.advance(Stage::Connected);
                } else {
                    let app = if app.contains(self.ctx.key.expose()) {
                        "[redacted]".into()
                    } else {
                        escape(&app, 64)
                    };
                    proto.reject_connect(transaction, "unknown application");
                    self.reject(RejectReason::UnknownApp, Some(app));
                    return Next::Close("unknown application");
                }
            }
            Request::Publish { key, stream_id } => {
                if keys_match(&key, self.ctx.key.expose()) {
                    hub.begin_publish(self.conn_id, self.peer, self.cancel.clone());
                    self.publishing = true;
                    proto.accept_publish(stream_id);
                } else {
                    proto.reject("NetStream.Publish.BadName", "invalid stream key", stream_id);
                    self.reject(RejectReason::WrongKey, None);
                    return Next::Close("wrong stream key");
                }
            }
            Request::Unpublish => {
                self.publishing = false;
                hub.end_publish(self.conn_id, "unpublished");
            }
            Request::Play { stream_id } => {
                proto.reject("NetStream.Play.Failed", "playback is not offered", stream_id);
                self.reject(RejectReason::PlayNotAllowed, None);
                return Next::Close("playback refused");
            }
        }
        Next::Continue
    }
}

/// Compare keys without an early exit on the first differing byte.
fn keys_match(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_match_exactly() {
        assert!(keys_match("abc", "abc"));
        assert!(!keys_match("abd", "abc"));
        assert!(!keys_match("abc?x=1", "abc"));
        assert!(!keys_match("", "abc"));
    }
}
