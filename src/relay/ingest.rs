//! The local RTMP ingest: OBS (or any RTMP encoder) publishes to `rtmp://<listen>/<app>/<key>`.
//!
//! One task per TCP connection runs the `rml_rtmp` handshake and server session over the socket.
//! A wrong application or stream key is refused with an RTMP error status, logged (never with
//! the key) and the connection closed; any protocol error closes only that connection. A
//! publisher with the right key replaces the current one (OBS reconnecting after a blip often
//! arrives before the old socket has timed out).

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::fanout::Hub;
use super::media::FrameKind;
use super::{RejectReason, RelayEvent};
use crate::secrets::Secret;

/// Handshake, connect and publish must be done within this time.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// A publishing connection that sends nothing for this long is closed (a dead TCP peer).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections that have not started publishing yet, at most.
const MAX_PENDING: usize = 16;
const READ_BUFFER: usize = 64 * 1024;

pub(crate) struct IngestCtx {
    pub(crate) hub: Arc<Hub>,
    pub(crate) app: String,
    pub(crate) key: Secret,
    next_conn: AtomicU64,
    pending: AtomicUsize,
}

impl IngestCtx {
    pub(crate) fn new(hub: Arc<Hub>, app: &str, key: Secret) -> Self {
        IngestCtx {
            hub,
            app: app.to_string(),
            key,
            next_conn: AtomicU64::new(1),
            pending: AtomicUsize::new(0),
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
    Protocol(String),
}

pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<IngestCtx>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(cause = %e, "relay ingest: accept failed");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        if ctx.pending.load(Ordering::Relaxed) >= MAX_PENDING {
            tracing::warn!(%peer, "relay ingest: too many connections setting up; closing this one");
            continue;
        }
        ctx.pending.fetch_add(1, Ordering::Relaxed);
        let conn_id = ctx.next_conn.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("relay_ingest", conn = conn_id, %peer);
        tracker.spawn(serve(stream, peer, ctx.clone(), conn_id, cancel.child_token()).instrument(span));
    }
}

/// Ends the publish (if this connection still is the publisher) however the task ends.
struct Cleanup {
    ctx: Arc<IngestCtx>,
    conn_id: u64,
    pending: bool,
    reason: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.pending {
            self.ctx.pending.fetch_sub(1, Ordering::Relaxed);
        }
        self.ctx.hub.end_publish(self.conn_id, &self.reason);
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<IngestCtx>,
    conn_id: u64,
    cancel: CancellationToken,
) {
    let mut cleanup = Cleanup { ctx: ctx.clone(), conn_id, pending: true, reason: "connection lost".into() };
    let mut conn = Conn { stream, peer, ctx, conn_id, cancel, out: Vec::new(), publishing: false };
    match conn.run(&mut cleanup).await {
        Ok(reason) => {
            tracing::debug!(reason, "relay ingest: connection closed");
            cleanup.reason = reason.to_string();
        }
        Err(e) => {
            tracing::warn!(cause = %e, "relay ingest: connection closed on error");
            cleanup.reason = e.to_string();
        }
    }
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
}

impl Conn {
    async fn run(&mut self, cleanup: &mut Cleanup) -> Result<&'static str, IngestError> {
        let _ = self.stream.set_nodelay(true);
        let mut buf = vec![0u8; READ_BUFFER];
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let mut hs = Handshake::new(PeerType::Server);
        let leftover = loop {
            let Some(n) = self.read(&mut buf, deadline).await? else { return Ok("closed during handshake") };
            match hs.process_bytes(&buf[..n]) {
                Ok(HandshakeProcessResult::InProgress { response_bytes }) => self.out.extend(response_bytes),
                Ok(HandshakeProcessResult::Completed { response_bytes, remaining_bytes }) => {
                    self.out.extend(response_bytes);
                    break remaining_bytes;
                }
                Err(e) => return Err(IngestError::Handshake(format!("{e:?}"))),
            }
            self.flush().await?;
        };
        let (mut session, initial) = ServerSession::new(ServerSessionConfig::new())
            .map_err(|e| IngestError::Protocol(e.to_string()))?;
        if let Next::Close(r) = self.results(&mut session, initial)? {
            return Ok(r);
        }
        let mut next = self.input(&mut session, &leftover)?;
        // One long-lived timer, re-armed only when it fires: no timer work per read.
        let mut setup_deadline = deadline;
        let mut last_read = Instant::now();
        let timer = tokio::time::sleep_until(setup_deadline);
        tokio::pin!(timer);
        let cancel = self.cancel.clone();
        let cancelled = cancel.cancelled();
        tokio::pin!(cancelled);
        loop {
            self.flush().await?;
            if let Next::Close(reason) = next {
                return Ok(reason);
            }
            if self.publishing && cleanup.pending {
                cleanup.pending = false;
                self.ctx.pending.fetch_sub(1, Ordering::Relaxed);
            }
            let read = tokio::select! {
                biased;
                _ = &mut cancelled => return Ok("replaced by a new publisher or shut down"),
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
                r = self.stream.read(&mut buf) => r?,
            };
            if read == 0 {
                return Ok("disconnected");
            }
            last_read = Instant::now();
            let was_publishing = self.publishing;
            next = self.input(&mut session, &buf[..read])?;
            if was_publishing && !self.publishing {
                setup_deadline = last_read + SETUP_TIMEOUT;
                timer.as_mut().reset(setup_deadline);
            } else if !was_publishing && self.publishing {
                timer.as_mut().reset(last_read + IDLE_TIMEOUT);
            }
        }
    }

    /// `None` at end of stream.
    async fn read(&mut self, buf: &mut [u8], deadline: Instant) -> Result<Option<usize>, IngestError> {
        match tokio::time::timeout_at(deadline, self.stream.read(buf)).await {
            Err(_) if self.publishing => Err(IngestError::Timeout("no data from the publisher")),
            Err(_) => Err(IngestError::Timeout("RTMP setup")),
            Ok(Ok(0)) => Ok(None),
            Ok(Ok(n)) => Ok(Some(n)),
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

    fn input(&mut self, session: &mut ServerSession, bytes: &[u8]) -> Result<Next, IngestError> {
        if bytes.is_empty() {
            return Ok(Next::Continue);
        }
        // rml_rtmp indexes into some messages unchecked; a malformed one must only end this
        // connection, so a panic in the parser is turned into a protocol error.
        let results = std::panic::catch_unwind(AssertUnwindSafe(|| session.handle_input(bytes)))
            .map_err(|_| IngestError::Protocol("malformed message".into()))?
            .map_err(|e| IngestError::Protocol(e.to_string()))?;
        self.results(session, results)
    }

    fn results(
        &mut self,
        session: &mut ServerSession,
        results: Vec<ServerSessionResult>,
    ) -> Result<Next, IngestError> {
        for r in results {
            match r {
                ServerSessionResult::OutboundResponse(p) => self.out.extend_from_slice(&p.bytes),
                ServerSessionResult::RaisedEvent(e) => {
                    if let Next::Close(reason) = self.event(session, e)? {
                        return Ok(Next::Close(reason));
                    }
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(Next::Continue)
    }

    fn respond(
        &mut self,
        r: Result<Vec<ServerSessionResult>, impl std::fmt::Display>,
    ) -> Result<(), IngestError> {
        for r in r.map_err(|e| IngestError::Protocol(e.to_string()))? {
            if let ServerSessionResult::OutboundResponse(p) = r {
                self.out.extend_from_slice(&p.bytes);
            }
        }
        Ok(())
    }

    fn reject(&mut self, reason: RejectReason) {
        let _ = self.ctx.hub.events().send(RelayEvent::PublishRejected { peer: self.peer, reason });
    }

    fn event(&mut self, session: &mut ServerSession, e: ServerSessionEvent) -> Result<Next, IngestError> {
        let hub = &self.ctx.hub;
        match e {
            ServerSessionEvent::VideoDataReceived { data, timestamp, .. } => {
                hub.push_media(self.conn_id, FrameKind::Video, timestamp.value, data)
            }
            ServerSessionEvent::AudioDataReceived { data, timestamp, .. } => {
                hub.push_media(self.conn_id, FrameKind::Audio, timestamp.value, data)
            }
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                hub.set_metadata(self.conn_id, metadata)
            }
            ServerSessionEvent::ConnectionRequested { request_id, app_name } => {
                if app_name.trim_matches('/') == self.ctx.app {
                    let r = session.accept_request(request_id);
                    self.respond(r)?;
                } else {
                    let app = if app_name.contains(self.ctx.key.expose()) { "[redacted]" } else { &app_name };
                    tracing::warn!(app, "relay ingest: publisher rejected: unknown application");
                    let r = session.reject_request(
                        request_id,
                        "NetConnection.Connect.Rejected",
                        "unknown application",
                    );
                    self.respond(r)?;
                    self.reject(RejectReason::UnknownApp);
                    return Ok(Next::Close("unknown application"));
                }
            }
            ServerSessionEvent::PublishStreamRequested { request_id, stream_key, .. } => {
                if keys_match(&stream_key, self.ctx.key.expose()) {
                    hub.begin_publish(self.conn_id, self.peer, self.cancel.clone());
                    self.publishing = true;
                    let r = session.accept_request(request_id);
                    self.respond(r)?;
                } else {
                    tracing::warn!("relay ingest: publisher rejected: wrong stream key");
                    let r =
                        session.reject_request(request_id, "NetStream.Publish.BadName", "invalid stream key");
                    self.respond(r)?;
                    self.reject(RejectReason::WrongKey);
                    return Ok(Next::Close("wrong stream key"));
                }
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.publishing = false;
                hub.end_publish(self.conn_id, "unpublished");
            }
            ServerSessionEvent::PlayStreamRequested { request_id, .. } => {
                tracing::warn!("relay ingest: playback request refused");
                let r =
                    session.reject_request(request_id, "NetStream.Play.Failed", "playback is not offered");
                self.respond(r)?;
                self.reject(RejectReason::PlayNotAllowed);
                return Ok(Next::Close("playback refused"));
            }
            _ => {}
        }
        Ok(Next::Continue)
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
