//! The loopback redirect listener of a browser sign-in (RFC 8252 §7.3): HTTP on 127.0.0.1, a
//! random port, for one sign-in.
//!
//! Bounded: the project's connection guard closes a connection whose request head is not in
//! within 5 s and keeps at most 16 pending; only `GET /` with the sign-in's `state` counts (a
//! wrong or missing `state` is refused and the sign-in goes on waiting); the first answer
//! with the right `state` ends it, and the listener closes after answering it, or when the
//! sign-in's window ends. The browser gets a small page saying how it went and that the tab
//! can be closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use streampai_sync::guard::{Guard, GuardConfig, GuardedListener};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Msg, Redirect};
use crate::secrets::Secret;

/// How long the browser's tab waits for the code exchange.
const EXCHANGE_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Ctx {
    flow: u64,
    state: Arc<str>,
    tx: mpsc::Sender<Msg>,
    /// An answer with the right state was taken.
    done: Arc<AtomicBool>,
    stop: CancellationToken,
}

fn guard_config() -> GuardConfig {
    GuardConfig {
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(30),
        max_pending: 16,
        max_pending_per_ip: 16,
        admit_on_head: true,
    }
}

/// Start listening for sign-in `flow`: its redirect URI (`http://127.0.0.1:PORT/`) and the
/// token that stops the listener. It stops by itself after `lifetime`.
pub(super) async fn start(
    flow: u64,
    state: String,
    tx: mpsc::Sender<Msg>,
    lifetime: Duration,
) -> std::io::Result<(String, CancellationToken)> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let port = listener.local_addr()?.port();
    let stop = CancellationToken::new();
    let ctx =
        Ctx { flow, state: state.into(), tx, done: Arc::new(AtomicBool::new(false)), stop: stop.clone() };
    let app = Router::new().route("/", get(callback)).fallback(not_found).with_state(ctx);
    let listener = GuardedListener::new(listener, Guard::new("sign-in redirect", guard_config()));
    let until = stop.clone();
    tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move { until.cancelled().await });
        // A graceful stop waits for open connections; the window's end bounds that too.
        let _ = tokio::time::timeout(lifetime + Duration::from_secs(10), serve).await;
        tracing::debug!("YouTube: sign-in listener closed");
    });
    let deadline = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = deadline.cancelled() => {}
            _ = tokio::time::sleep(lifetime) => deadline.cancel(),
        }
    });
    Ok((format!("http://127.0.0.1:{port}/"), stop))
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn page(status: StatusCode, heading: &str, words: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Streampai</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{}</h1><p>{}</p></body></html>",
        escape(heading),
        escape(words)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, "Not found", "This address only receives Streampai's YouTube sign-in.")
}

async fn callback(State(ctx): State<Ctx>, Query(q): Query<HashMap<String, String>>) -> Response {
    let state_ok = q.get("state").is_some_and(|s| s.as_bytes() == ctx.state.as_bytes());
    if !state_ok {
        tracing::warn!("YouTube: the sign-in listener got an answer without the right state; refused");
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in not accepted",
            "This answer does not belong to the sign-in Streampai started. Start the sign-in again from Streampai.",
        );
    }
    let redirect = match (q.get("code"), q.get("error")) {
        (_, Some(e)) => Redirect::Error(e.chars().take(100).collect()),
        (Some(c), None) if !c.is_empty() => Redirect::Code(Secret::new(c.clone())),
        _ => {
            return page(StatusCode::BAD_REQUEST, "Sign-in not accepted", "Google's answer carried no code.")
        }
    };
    if ctx.done.swap(true, Ordering::SeqCst) {
        return page(
            StatusCode::CONFLICT,
            "Already handled",
            "This sign-in was already completed. You can close this tab.",
        );
    }
    let (reply, answer) = oneshot::channel();
    let sent = ctx.tx.send(Msg::Redirect { flow: ctx.flow, redirect, reply }).await.is_ok();
    let outcome = match (sent, tokio::time::timeout(EXCHANGE_WAIT, answer).await) {
        (true, Ok(Ok(o))) => o,
        _ => Err("Streampai did not finish the sign-in in time; see the app".into()),
    };
    // Close once this answer is out (a graceful stop lets the response finish).
    ctx.stop.cancel();
    match outcome {
        Ok(title) if !title.is_empty() => page(
            StatusCode::OK,
            "Signed in to YouTube",
            &format!("Streampai is signed in to the channel {title}. You can close this tab."),
        ),
        Ok(_) => {
            page(StatusCode::OK, "Signed in to YouTube", "Streampai is signed in. You can close this tab.")
        }
        Err(why) => page(
            StatusCode::OK,
            "YouTube sign-in did not complete",
            &format!("{why}. You can close this tab and try again from Streampai."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn page_text_is_escaped() {
        assert_eq!(escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }
}
