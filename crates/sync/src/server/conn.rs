//! One WebSocket connection: hello + authentication, then one task that reads frames, writes the
//! queued ones, and watches the heartbeat deadline, the rate limit and shutdown.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::hooks::{InFlight, HOOK_WINDOW};
use super::hub::{HubEvent, LocalConn, Out};
use super::Shared;
use crate::guard::Admission;
use crate::log_safe::esc;
use crate::protocol::{
    decode_client, encode, supports_version, ClientMsg, CommandResult, DecodeError, ErrorCode, Meta, Role,
    ServerMsg, HOOKS_VERSION, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};

/// A token bucket: `rate` frames per second on average, `burst` at once.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Bucket { tokens: burst, rate, burst, last: Instant::now() }
    }
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Send an error and close with its code; the client's close reply is awaited briefly. Bounded:
/// a peer that reads nothing cannot hold the task.
async fn close(socket: &mut WebSocket, code: ErrorCode, message: &str) {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), close_inner(socket, code, message)).await;
}

async fn close_inner(socket: &mut WebSocket, code: ErrorCode, message: &str) {
    let err = encode(&ServerMsg::Error { code, message: message.into(), fatal: true });
    let _ = socket.send(Message::Text(err.into())).await;
    let frame = CloseFrame { code: code.close_code(), reason: Utf8Bytes::from_static(code.as_str()) };
    if socket.send(Message::Close(Some(frame))).await.is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// What a read error means: too large, or a broken frame.
fn read_error(e: &axum::Error) -> ErrorCode {
    let s = e.to_string();
    if s.contains("too long") || s.contains("too big") {
        ErrorCode::TooLarge
    } else {
        ErrorCode::BadMessage
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub(super) async fn run(mut socket: WebSocket, sh: Arc<Shared>, admission: Option<Admission>) {
    let max = sh.cfg.max_message_bytes;
    // 1. The hello, first and in time. Nothing is shared before it is accepted.
    let first = tokio::select! {
        r = tokio::time::timeout(sh.cfg.hello_timeout, socket.recv()) => r,
        _ = sh.shutdown.cancelled() => return,
    };
    let (version, token, device_id, device_name, role) = match first {
        Err(_) => return close(&mut socket, ErrorCode::HelloTimeout, "no hello in time").await,
        Ok(None) => return,
        Ok(Some(Err(e))) => return close(&mut socket, read_error(&e), "unreadable frame").await,
        Ok(Some(Ok(Message::Text(t)))) => match decode_client(t.as_bytes(), max) {
            Ok(ClientMsg::Hello { version, token, device_id, device_name, role }) => {
                (version, token, device_id, device_name, role)
            }
            Ok(_) => {
                return close(&mut socket, ErrorCode::BadMessage, "the first frame must be a hello").await
            }
            Err(e) => return close(&mut socket, e.code(), &e.client_message()).await,
        },
        Ok(Some(Ok(Message::Close(_)))) => return,
        Ok(Some(Ok(_))) => return close(&mut socket, ErrorCode::BadMessage, "expected a text frame").await,
    };
    if !supports_version(version) {
        let msg =
            format!("this server speaks protocol versions {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}");
        return close(&mut socket, ErrorCode::UnsupportedVersion, &msg).await;
    }
    let Some(user) = sh.users.authenticate(&token) else {
        // A flood of wrong tokens writes one line per 10 s, with the count.
        static REFUSED: crate::log_safe::Burst = crate::log_safe::Burst::new();
        if let Some(refused) = REFUSED.hit() {
            info!(device_id = %esc(&device_id), refused, "sync: unknown token refused");
        }
        return close(&mut socket, ErrorCode::Unauthorized, "unknown token").await;
    };
    drop(token);
    // Authenticated: no longer counted against (nor evictable by) the pending caps.
    if let Some(a) = &admission {
        a.admit();
    }

    // 2. Join.
    let conn_ref = sh.next_ref();
    let meta = Meta { conn: conn_ref.clone(), device_name: device_name.clone(), role, online_at: now_ms() };
    let (tx, mut rx) = mpsc::channel(sh.cfg.queue_frames);
    let slow = CancellationToken::new();
    // The version is the client's: this server speaks every version it accepts.
    let welcome = ServerMsg::Welcome {
        version,
        user: user.clone(),
        conn: conn_ref.clone(),
        heartbeat_interval_ms: sh.cfg.heartbeat_interval.as_millis() as u64,
        heartbeat_timeout_ms: sh.cfg.heartbeat_timeout.as_millis() as u64,
        max_message_bytes: max,
    };
    let own_tx = tx.clone();
    let local =
        LocalConn { device_id: device_id.clone(), meta: meta.clone(), version, tx, slow: slow.clone() };
    if let Err(code) = sh.join(&user, local, welcome).await {
        return close(&mut socket, code, "the server cannot take connections now").await;
    }
    debug!(user = %user, device_id = %esc(&device_id), conn = %conn_ref, ?role, version, "sync: joined");
    // A host of version 2+ gets the webhook events held for the user (after its welcome).
    let hooks = role == Role::Host && version >= HOOKS_VERSION;
    let mut inflight = InFlight::default();
    if hooks {
        refill(&sh, &user, &conn_ref, &mut inflight, &own_tx).await;
    }

    // 3. The loop.
    let mut bucket = Bucket::new(sh.cfg.rate_per_sec, sh.cfg.rate_burst);
    let timeout = sh.cfg.heartbeat_timeout;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let reason: Option<(ErrorCode, String)> = loop {
        tokio::select! {
            biased;
            _ = sh.shutdown.cancelled() => {
                if sh.crashed.load(Ordering::SeqCst) {
                    return; // vanish: no goodbye, no leave (the keys expire)
                }
                break Some((ErrorCode::ShuttingDown, "the server is stopping".into()));
            }
            _ = slow.cancelled() => break Some((ErrorCode::SlowConsumer, "frames were not read in time".into())),
            _ = &mut deadline => break Some((ErrorCode::HeartbeatTimeout, format!("nothing heard for {} ms", timeout.as_millis()))),
            out = rx.recv() => match out {
                Some(Out::Frame(f)) => {
                    // A peer that stopped reading must not hold this task in a write forever:
                    // the write races its queue overflowing and the write timeout.
                    let slow_msg = || Some((ErrorCode::SlowConsumer, "frames were not read in time".to_string()));
                    tokio::select! {
                        r = socket.send(Message::Text(f)) => if r.is_err() { break None },
                        _ = slow.cancelled() => break slow_msg(),
                        _ = tokio::time::sleep(sh.cfg.write_timeout) => break slow_msg(),
                        _ = sh.shutdown.cancelled() => {
                            if sh.crashed.load(Ordering::SeqCst) { return; }
                            break Some((ErrorCode::ShuttingDown, "the server is stopping".into()));
                        }
                    }
                }
                Some(Out::Close(code)) => break Some((code, code.as_str().into())),
                Some(Out::Refill) => {
                    if hooks {
                        refill(&sh, &user, &conn_ref, &mut inflight, &own_tx).await;
                    }
                }
                Some(Out::Hook(h)) => {
                    if !hooks || !inflight.admit(&h.id) {
                        continue;
                    }
                    // Another host connection of the user may have it in flight (it took the
                    // events before this one): then it stays with that one.
                    match sh.claim_hook(&user, &h.id, &conn_ref).await {
                        Ok(true) => {}
                        Ok(false) => {
                            inflight.forget(&h.id);
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(user = %user, cause = %e, "webhook: cannot claim a held event (it stays held)");
                            inflight.forget(&h.id);
                            continue;
                        }
                    }
                    let f = Utf8Bytes::from(encode(&ServerMsg::Hook((*h).clone())));
                    tokio::select! {
                        r = socket.send(Message::Text(f)) => if r.is_err() { break None },
                        _ = tokio::time::sleep(sh.cfg.write_timeout) => break Some((ErrorCode::SlowConsumer, "frames were not read in time".into())),
                        _ = sh.shutdown.cancelled() => {
                            if sh.crashed.load(Ordering::SeqCst) { return; }
                            break Some((ErrorCode::ShuttingDown, "the server is stopping".into()));
                        }
                    }
                }
                None => break None,
            },
            msg = socket.recv() => {
                let msg = match msg {
                    None => break None,
                    Some(Err(e)) => break Some((read_error(&e), "unreadable frame".into())),
                    Some(Ok(m)) => m,
                };
                deadline.as_mut().reset(tokio::time::Instant::now() + timeout);
                let text = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => break None,
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Binary(_) => break Some((ErrorCode::BadMessage, "binary frames are not part of the protocol".into())),
                };
                let msg = match decode_client(text.as_bytes(), max) {
                    Ok(m) => m,
                    Err(e) => {
                        if !bucket.take() {
                            break Some((ErrorCode::RateLimited, "too many frames".into()));
                        }
                        log_bad_frame(&user, &conn_ref, &e);
                        break Some((e.code(), e.client_message()));
                    }
                };
                // Acks of events this connection was sent are paced by the server's window, not
                // by the rate limit (a backlog is acknowledged as fast as the host stores it).
                let paced = matches!(&msg, ClientMsg::HookAck { id } if inflight.has(id));
                if !paced && !bucket.take() {
                    break Some((ErrorCode::RateLimited, "too many frames".into()));
                }
                if let ClientMsg::HookAck { id } = msg {
                    if role != Role::Host {
                        break Some((ErrorCode::Forbidden, "only a host acknowledges webhook events".into()));
                    }
                    if !hooks {
                        break Some((ErrorCode::BadMessage, format!("hook_ack needs protocol version {HOOKS_VERSION}")));
                    }
                    if let Err(e) = sh.ack_hook(&user, &id).await {
                        // Not forgotten: it comes again, and the host inserts it idempotently.
                        tracing::warn!(user = %user, cause = %e, "webhook: cannot forget an acknowledged event");
                    }
                    if inflight.acked(&id) {
                        refill(&sh, &user, &conn_ref, &mut inflight, &own_tx).await;
                    }
                    continue;
                }
                if let Some(r) = handle(&sh, &user, &device_id, &device_name, &conn_ref, role, msg).await {
                    break Some(r);
                }
            }
        }
    };
    sh.leave(&user, &device_id, &meta).await;
    debug!(user = %user, device_id = %esc(&device_id), conn = %conn_ref, reason = ?reason.as_ref().map(|r| r.0), "sync: left");
    if let Some((code, message)) = reason {
        close(&mut socket, code, &message).await;
    }
}

/// Queue the user's held webhook events for this host connection, as many as its window has
/// room for (the connection's writer skips those in flight already, and those another live
/// connection has). Only the user's hook taker (its host of protocol 2+ on air, else the longest-connected one)
/// takes them: with two hosts online, one shows each alert.
async fn refill(sh: &Shared, user: &str, conn: &str, inflight: &mut InFlight, tx: &mpsc::Sender<Out>) {
    if !sh.hub.is_hook_taker(user, conn) {
        return;
    }
    let pending = match sh.pending_hooks(user).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(user = %user, cause = %e, "webhook: cannot read the held events (they stay held)");
            return;
        }
    };
    let room = HOOK_WINDOW.saturating_sub(inflight.len());
    let waiting: Vec<_> = pending.into_iter().filter(|h| !inflight.has(&h.id)).collect();
    if waiting.len() > room {
        inflight.hold_back();
    }
    for h in waiting.into_iter().take(room) {
        if tx.try_send(Out::Hook(Arc::new(h))).is_err() {
            inflight.hold_back();
            break; // the queue is busy: the rest follows on the next ack or connection
        }
    }
}

fn log_bad_frame(user: &str, conn: &str, e: &DecodeError) {
    // The Display form never quotes the frame (it may hold a token).
    debug!(user, conn, cause = %e, "sync: bad frame");
}

/// Act on one message; `Some` closes the connection.
async fn handle(
    sh: &Shared,
    user: &str,
    device_id: &str,
    device_name: &str,
    conn: &str,
    role: Role,
    msg: ClientMsg,
) -> Option<(ErrorCode, String)> {
    match msg {
        ClientMsg::Hello { .. } => Some((ErrorCode::BadMessage, "hello was already accepted".into())),
        ClientMsg::Ping { seq } => {
            sh.hub.send_to(user, conn, &ServerMsg::Pong { seq });
            None
        }
        ClientMsg::StreamState { state } => {
            if role != Role::Host {
                return Some((ErrorCode::Forbidden, "only a host publishes the stream state".into()));
            }
            sh.publish(user, HubEvent::State { host: Some(conn.into()), state: Some(state) }).await;
            None
        }
        ClientMsg::Command { id, command } => {
            if role != Role::Device {
                return Some((ErrorCode::Forbidden, "only a device sends commands".into()));
            }
            if !sh.hub.has_host(user) {
                let result = CommandResult::err("no_host", "no host of this user is connected");
                sh.hub.send_to(user, conn, &ServerMsg::CommandResult { id, result });
                return None;
            }
            let ev = HubEvent::Command {
                id,
                from: conn.into(),
                device_id: device_id.into(),
                device_name: device_name.into(),
                command,
            };
            sh.publish(user, ev).await;
            None
        }
        ClientMsg::HookAck { .. } => None, // handled by the connection loop
        ClientMsg::CommandResult { id, to, result } => {
            if role != Role::Host {
                return Some((ErrorCode::Forbidden, "only a host answers commands".into()));
            }
            sh.publish(user, HubEvent::Result { id, to, result }).await;
            None
        }
    }
}
