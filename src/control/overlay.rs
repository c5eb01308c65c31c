//! The OBS browser-source overlay: `GET /overlay/alerts?key=…` serves the page, and
//! `GET /overlay/alerts/ws?key=…` pushes the alert on screen. The page reports when an alert
//! finished showing, so the queue advances on what viewers saw. The overlay key is separate from
//! the control token. An overlay is not a presence session (OBS keeps it open all day).

use std::collections::HashMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, ControlState};
use crate::events::Event;

const PAGE: &str = include_str!("overlay.html");

fn check_key(s: &ControlState, q: &HashMap<String, String>) -> Result<(), ApiError> {
    let given = q.get("key").map(String::as_str).unwrap_or_default();
    if super::auth::constant_time_eq(given.as_bytes(), s.engine.overlay_key().expose().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("wrong or missing overlay key".into()))
    }
}

pub async fn page(
    State(s): State<ControlState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    check_key(&s, &q)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], PAGE)
        .into_response())
}

pub async fn socket(
    State(s): State<ControlState>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_key(&s, &q)?;
    Ok(ws.max_message_size(4096).on_upgrade(move |socket| session(s, socket)))
}

#[derive(Deserialize)]
struct FromOverlay {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

fn show(alert: &crate::alerts::Alert, duration_ms: u64) -> String {
    json!({"type": "show", "alert": alert, "duration_ms": duration_ms}).to_string()
}

async fn session(s: ControlState, mut socket: WebSocket) {
    let desk = s.engine.alerts();
    let mut events = s.engine.subscribe();
    let _connected = desk.overlay_connected();
    tracing::info!("overlay connected");
    let duration = |kind| {
        let cfg = s.engine.config();
        cfg.alerts.durations_ms.get(&kind).copied().unwrap_or(cfg.alerts.default_duration_ms)
    };
    // Whatever is on screen now.
    if let Some(a) = desk.current().await {
        if socket.send(Message::Text(show(&a, duration(a.kind)).into())).await.is_err() {
            return;
        }
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + super::WS_PING, super::WS_PING);
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = s.shutdown.cancelled() => break,
            ev = events.recv() => {
                let text = match ev {
                    Ok(Event::AlertShown { alert, .. }) => show(&alert, duration(alert.kind)),
                    Ok(Event::AlertFinished { id, .. }) => json!({"type": "hide", "id": id}).to_string(),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    if let Ok(FromOverlay { kind, id: Some(id) }) = serde_json::from_str::<FromOverlay>(&t) {
                        if kind == "finished" {
                            s.engine.alerts().finished(&id).await;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    tracing::info!("overlay disconnected");
}
