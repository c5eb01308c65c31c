//! `GET /api/v1/events`: a WebSocket of JSON event frames. While it is open it is a presence
//! session of the user (`kind: socket`), like a browser tab in the original web app.

use std::collections::HashMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::ControlState;
use crate::presence::SessionKind;

pub async fn events(
    State(s): State<ControlState>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let device = q.get("device").cloned();
    ws.max_message_size(64 * 1024).on_upgrade(move |socket| session(s, socket, device))
}

async fn session(s: ControlState, mut socket: WebSocket, device: Option<String>) {
    let mut rx = s.engine.subscribe();
    let guard = s.engine.session(SessionKind::Socket, device);
    tracing::info!(session = guard.id(), "events socket opened");
    // First frame: the current status, so a client needs no extra request.
    let status = s.engine.status().await;
    let hello = json!({"type": "status", "status": status}).to_string();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            _ = s.shutdown.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            ev = rx.recv() => {
                let text = match ev {
                    Ok(ev) => match serde_json::to_string(&ev) { Ok(t) => t, Err(_) => continue },
                    Err(RecvError::Lagged(n)) => json!({"type": "lagged", "missed": n}).to_string(),
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {} // pings are answered by axum; other frames are ignored
            },
        }
    }
    tracing::info!(session = guard.id(), "events socket closed");
    drop(guard);
}
