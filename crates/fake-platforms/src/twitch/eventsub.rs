//! The EventSub WebSocket server (`/ws`), shaped after
//! <https://dev.twitch.tv/docs/eventsub/handling-websocket-events/> and
//! <https://dev.twitch.tv/docs/eventsub/websocket-reference/>.
//!
//! - A fresh connection gets `session_welcome` with its session id and
//!   `keepalive_timeout_seconds`; without a subscription within the window (default: the
//!   keepalive timeout) the connection is closed with 4003 ("connection unused").
//! - With no other message for `keepalive_timeout_seconds`, the server sends
//!   `session_keepalive` (unless keepalives are turned off by the test).
//! - Anything the client sends (text or binary) closes the connection with 4001.
//! - `session_reconnect` names `reconnect_url`; a connection to it is welcomed on the same
//!   session (subscriptions carry over, no new subscribe needed), and only then is the old
//!   connection closed. Without a move within the grace time the old one is closed with 4004. A
//!   spent or unknown reconnect URL is closed with 4007.
//! - `notification` and `revocation` carry the subscription; messages keep their `message_id`
//!   when delivered again.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::examples::now;
use super::faults::{response_for, Fault, Route};
use super::state::{Conn, ConnCmd, DeliveredMessage, SubscriptionSnapshot, TwitchState};

fn metadata(id: &str, kind: &str, sub: Option<&SubscriptionSnapshot>) -> Value {
    let mut m = json!({"message_id": id, "message_type": kind, "message_timestamp": now()});
    if let Some(s) = sub {
        m["subscription_type"] = json!(s.kind);
        m["subscription_version"] = json!(s.version);
    }
    m
}

fn subscription_payload(s: &SubscriptionSnapshot) -> Value {
    json!({
        "id": s.id,
        "status": s.status,
        "type": s.kind,
        "version": s.version,
        "cost": 0,
        "condition": s.condition,
        "transport": {"method": "websocket", "session_id": s.session_id},
        "created_at": s.created_at,
    })
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn welcome(session_id: &str, connected_at: &str, keepalive: u64) -> (String, String) {
    let id = new_id();
    let msg = json!({
        "metadata": metadata(&id, "session_welcome", None),
        "payload": {"session": {
            "id": session_id,
            "status": "connected",
            "connected_at": connected_at,
            "keepalive_timeout_seconds": keepalive,
            "reconnect_url": null,
            "recovery_url": null,
        }},
    });
    (id, msg.to_string())
}

pub(crate) fn keepalive_message() -> (String, String) {
    let id = new_id();
    (id.clone(), json!({"metadata": metadata(&id, "session_keepalive", None), "payload": {}}).to_string())
}

pub(crate) fn reconnect(session_id: &str, url: &str, connected_at: &str) -> (String, String) {
    let id = new_id();
    let msg = json!({
        "metadata": metadata(&id, "session_reconnect", None),
        "payload": {"session": {
            "id": session_id,
            "status": "reconnecting",
            "connected_at": connected_at,
            "keepalive_timeout_seconds": null,
            "reconnect_url": url,
            "recovery_url": null,
        }},
    });
    (id, msg.to_string())
}

pub(crate) fn notification(message_id: &str, sub: &SubscriptionSnapshot, event: &Value) -> String {
    json!({
        "metadata": metadata(message_id, "notification", Some(sub)),
        "payload": {"subscription": subscription_payload(sub), "event": event},
    })
    .to_string()
}

pub(crate) fn revocation(sub: &SubscriptionSnapshot) -> (String, String) {
    let id = new_id();
    let msg = json!({
        "metadata": metadata(&id, "revocation", Some(sub)),
        "payload": {"subscription": subscription_payload(sub)},
    });
    (id, msg.to_string())
}

pub(crate) async fn ws(
    State(state): State<TwitchState>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    match state.enter(Route::EventSubConnect) {
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(f) => {
            if let Some(resp) = response_for(Route::EventSubConnect, &f) {
                return resp;
            }
        }
        None => {}
    }
    let keepalive = match q.get("keepalive_timeout_seconds").map(|v| v.parse::<u64>()) {
        None => state.keepalive_secs(),
        Some(Ok(k)) if (10..=600).contains(&k) => k,
        Some(_) => {
            return super::faults::helix_error(400, "keepalive_timeout_seconds must be between 10 and 600")
        }
    };
    let reconnect = q.get("reconnect").cloned();
    upgrade.on_upgrade(move |socket| run_connection(socket, state, reconnect, keepalive))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: reason.to_string().into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn run_connection(
    mut socket: WebSocket,
    state: TwitchState,
    reconnect: Option<String>,
    keepalive: u64,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = Conn { id: state.lock().next_id(), tx };
    let (session_id, connected_at, keepalive, fresh) = match reconnect {
        Some(token) => match state.take_reconnect(&token) {
            Some((id, at, ka)) => (id, at, ka, false),
            None => {
                close(&mut socket, 4007, "invalid reconnect").await;
                return;
            }
        },
        None => {
            let at = now();
            (state.open_session(conn.clone(), keepalive), at, keepalive, true)
        }
    };
    let (wid, text) = welcome(&session_id, &connected_at, keepalive);
    state.record(DeliveredMessage {
        message_id: wid,
        message_type: "session_welcome".into(),
        subscription_type: None,
        session_id: session_id.clone(),
        connection: conn.id,
        text: text.clone(),
    });
    if socket.send(Message::Text(text.into())).await.is_err() {
        state.connection_closed(&session_id, conn.id, "websocket_disconnected");
        return;
    }
    if !fresh {
        // Welcomed on the new connection: it takes over, the old one closes.
        state.switch_connection(&session_id, conn.clone());
    }
    let period = Duration::from_secs(keepalive);
    let mut next_keepalive = Instant::now() + period;
    let within = state.options().subscribe_within.unwrap_or(period);
    let mut subscribe_by = fresh.then(|| Instant::now() + within);
    let mut status = "websocket_disconnected";
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(ConnCmd::Text(t)) => {
                    if socket.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                    next_keepalive = Instant::now() + period;
                }
                Some(ConnCmd::Close(code, reason)) => {
                    close(&mut socket, code, &reason).await;
                    if code == 4000 {
                        status = "websocket_internal_error";
                    }
                    break;
                }
                None => break,
            },
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    close(&mut socket, 4001, "client sent inbound traffic").await;
                    status = "websocket_received_inbound_traffic";
                    break;
                }
                Some(Ok(_)) => {}
            },
            _ = tokio::time::sleep_until(next_keepalive) => {
                if state.keepalives_on() {
                    let (id, text) = keepalive_message();
                    state.send(&conn, &session_id, &id, "session_keepalive", None, text);
                }
                next_keepalive = Instant::now() + period;
            }
            _ = async { tokio::time::sleep_until(subscribe_by.unwrap_or_else(Instant::now)).await }, if subscribe_by.is_some() => {
                subscribe_by = None;
                if !state.session_has_subscriptions(&session_id) {
                    close(&mut socket, 4003, "connection unused").await;
                    status = "websocket_connection_unused";
                    break;
                }
            }
        }
    }
    state.connection_closed(&session_id, conn.id, status);
}
