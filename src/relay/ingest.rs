//! The local RTMP ingest: OBS (or any RTMP encoder) publishes to `rtmp://<listen>/<app>/<key>`.
//!
//! One task per TCP connection runs the `rml_rtmp` handshake and server session over the socket.
//! A wrong application or stream key is refused with an RTMP error status, logged (never with
//! the key) and the connection closed; any protocol error closes only that connection. A
//! publisher with the right key replaces the current one (OBS reconnecting after a blip often
//! arrives before the old socket has timed out).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::fanout::Hub;
use super::server_proto::{ProtoError, Request, ServerProto};
use super::{RejectReason, RelayEvent};
use crate::secrets::Secret;

/// Handshake, connect and publish must be done within this time.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// A publishing connection that sends nothing for this long is closed (a dead TCP peer).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections that have not started publishing yet, at most.
const MAX_PENDING: usize = 16;

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
    Protocol(#[from] ProtoError),
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
        let deadline = Instant::now() + SETUP_TIMEOUT;
        let mut proto = ServerProto::new();
        self.handshake(&mut proto, deadline).await?;
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

    async fn handshake(&mut self, proto: &mut ServerProto, deadline: Instant) -> Result<(), IngestError> {
        let mut hs = Handshake::new(PeerType::Server);
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return Err(IngestError::Timeout("RTMP handshake")),
                Ok(Ok(0)) => return Err(IngestError::Handshake("closed by the peer".into())),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e.into()),
            };
            match hs.process_bytes(&buf[..n]) {
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

    fn reject(&mut self, reason: RejectReason) {
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
                } else {
                    let app = if app.contains(self.ctx.key.expose()) { "[redacted]" } else { &app };
                    tracing::warn!(app, "relay ingest: publisher rejected: unknown application");
                    proto.reject_connect(transaction, "unknown application");
                    self.reject(RejectReason::UnknownApp);
                    return Next::Close("unknown application");
                }
            }
            Request::Publish { key, stream_id } => {
                if keys_match(&key, self.ctx.key.expose()) {
                    hub.begin_publish(self.conn_id, self.peer, self.cancel.clone());
                    self.publishing = true;
                    proto.accept_publish(stream_id);
                } else {
                    tracing::warn!("relay ingest: publisher rejected: wrong stream key");
                    proto.reject("NetStream.Publish.BadName", "invalid stream key", stream_id);
                    self.reject(RejectReason::WrongKey);
                    return Next::Close("wrong stream key");
                }
            }
            Request::Unpublish => {
                self.publishing = false;
                hub.end_publish(self.conn_id, "unpublished");
            }
            Request::Play { stream_id } => {
                tracing::warn!("relay ingest: playback request refused");
                proto.reject("NetStream.Play.Failed", "playback is not offered", stream_id);
                self.reject(RejectReason::PlayNotAllowed);
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
