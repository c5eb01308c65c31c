//! The local control API (axum): status, start/stop, debug tree, and the events WebSocket, which
//! counts as a presence session while it is open. Bearer-token auth on every route.

mod alerts_api;
mod auth;
mod error;
mod events_ws;
mod overlay;
mod routes;

use std::future::Future;

use axum::serve::ListenerExt;
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

/// Serve the control API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    token: Secret,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let state = ControlState { engine, token, shutdown: stop.clone() };
    let app = router(state);
    // Small frames (events, overlay pushes) must not wait out Nagle + delayed ACK (~40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(cause = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
        })
        .await
}
