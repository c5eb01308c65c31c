//! The local control API (axum): status, start/stop, debug tree, and the events WebSocket, which
//! counts as a presence session while it is open. Bearer-token auth on every route.

mod accounts_api;
mod alerts_api;
mod auth;
mod error;
mod events_ws;
mod host;
pub(crate) mod kofi;
mod obs_api;
mod overlay;
mod routes;
mod stream_info_api;

use std::future::Future;
use std::time::Duration;

use streampai_sync::guard::{Guard, GuardConfig, GuardedListener};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;

use crate::engine::Engine;
use crate::secrets::Secret;

/// Shared by every handler.
#[derive(Clone)]
pub struct ControlState {
    pub engine: Engine,
    pub token: Secret,
    /// Cancelled at shutdown; open WebSockets close on it.
    pub shutdown: CancellationToken,
}

/// The API's router (tests can drive it without a socket).
pub fn router(state: ControlState) -> axum::Router {
    routes::router(state)
}

/// Bounds before a request is read: 5 s for a complete request head, at most 128 connections
/// without one (64 per address; the oldest is closed first), 120 s of silence on a kept-alive
/// connection (WebSockets are pinged every 30 s, so an open one is never idle).
pub fn guard_config() -> GuardConfig {
    GuardConfig {
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(120),
        max_pending: 128,
        max_pending_per_ip: 64,
        admit_on_head: true,
    }
}

/// How often the API's WebSockets (events, overlay) ping their client.
pub(crate) const WS_PING: Duration = Duration::from_secs(30);

/// Serve the control API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    token: Secret,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listen = listener.local_addr()?;
    if !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "control.listen is not a loopback address: other machines can reach the control API \
             (every route still needs the token; keep it secret)"
        );
    }
    let stop = CancellationToken::new();
    let state = ControlState { engine, token, shutdown: stop.clone() };
    let app = router(state).layer(axum::middleware::from_fn(move |req, next| host::check(listen, req, next)));
    let listener = GuardedListener::new(listener, Guard::new("control API", guard_config()));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
        })
        .await
}
