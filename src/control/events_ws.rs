//! `GET /api/v1/events`: a WebSocket of JSON event frames. While it is open it is a presence
//! session of the user (`kind: socket`), like a browser tab in the original web app.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, ControlState};
use crate::presence::SessionKind;

/// Longest `?device=` name kept, in characters.
pub const MAX_DEVICE_CHARS: usize = 64;

/// A device name fit for presence and logs: control characters dropped, trimmed, cut to
/// [`MAX_DEVICE_CHARS`]; `None` when nothing is left.
pub(crate) fn clean_device(raw: &str) -> Option<String> {
    let kept: String =
        raw.chars().filter(|c| !streampai_sync::log_safe::needs_escape(*c) || *c == '\\').collect();
    let name: String = kept.trim().chars().take(MAX_DEVICE_CHARS).collect();
    let name = name.trim_end().to_string();
    (!name.is_empty()).then_some(name)
}

pub async fn events(
    State(s): State<ControlState>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let device = q.get("device").and_then(|d| clean_device(d));
    Ok(ws.max_message_size(64 * 1024).on_upgrade(move |socket| session(s, socket, device)))
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
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + super::WS_PING, super::WS_PING);
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
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

#[cfg(test)]
mod tests {
    #[test]
    fn device_names_are_short_and_free_of_control_characters() {
        assert_eq!(super::clean_device(" phone\n\u{1b}[31m "), Some("phone[31m".into()));
        assert_eq!(super::clean_device(&"x".repeat(8192)).map(|d| d.len()), Some(64));
        assert_eq!(super::clean_device("\r\n"), None);
        assert_eq!(super::clean_device("Ana's iPad ✨"), Some("Ana's iPad ✨".into()));
    }
}
