//! Local, stateful fakes of the streaming platforms' own APIs, for tests and end-to-end runs.
//! Only a cloud service can answer these calls, so the engine's platform-account code is tested
//! against these fakes on loopback (random ports), never against the internet.
//!
//! **Twitch** ([`FakeTwitch`], module [`twitch`]), shaped after Twitch's reference
//! documentation (see `SOURCE.md` for the pages and what each answer is based on):
//! - id.twitch.tv under `/oauth2`: the Device Code Grant for public clients (`POST /device`,
//!   `POST /token` polled with `authorization_pending` / `slow_down` / `expired_token` /
//!   `access_denied`), refresh tokens that rotate on every use, `GET /validate`, `POST /revoke`.
//! - Helix under `/helix`: `GET /users`, `GET|PATCH /channels`, `GET /search/categories`,
//!   `POST|GET /eventsub/subscriptions` (WebSocket transport; 400/401/403/409/429).
//! - The EventSub WebSocket at `/ws`: welcome, keepalives, notifications (the six alert types'
//!   example payloads), `session_reconnect` to a new URL, revocations, duplicates on command.
//! - Faults per operation ([`twitch::Fault`]) and request counters ([`twitch::Route`]).
//!
//! Tests drive it in process through [`FakeTwitch`] (which dereferences to
//! [`twitch::TwitchState`]'s control methods: approve a device code, push an event, redeliver a
//! message, drop keepalives, send a reconnect, revoke the authorization), or over HTTP through
//! the `/__fake/twitch/...` routes (the `fake-platforms` binary).
//!
//! TODO (issue 14, next slice): YouTube (token endpoint with PKCE, liveBroadcasts,
//! liveChat/messages with paging, polling interval and quota).

pub mod twitch;

use std::future::Future;
use std::net::SocketAddr;

use fake_support::Server;
use tokio::net::TcpListener;

pub use twitch::{TwitchOptions, TwitchState};

/// Serves the fake Twitch on `listener` until `shutdown` completes.
pub async fn serve_twitch(
    listener: TcpListener,
    state: TwitchState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    state.set_ws_url(format!("ws://{addr}/ws"));
    axum::serve(listener, twitch::router(state)).with_graceful_shutdown(shutdown).await
}

/// A running fake Twitch on 127.0.0.1 (a free port). Dropping it (or
/// [`FakeTwitch::shutdown`]) stops the server. Dereferences to its [`TwitchState`].
pub struct FakeTwitch {
    state: TwitchState,
    addr: SocketAddr,
    server: Server,
}

impl std::fmt::Debug for FakeTwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTwitch").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl std::ops::Deref for FakeTwitch {
    type Target = TwitchState;
    fn deref(&self) -> &TwitchState {
        &self.state
    }
}

impl FakeTwitch {
    /// Starts a fake on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If no loopback port can be bound: a test cannot go on without its fake.
    pub async fn start(options: TwitchOptions) -> FakeTwitch {
        match Self::try_start(SocketAddr::from(([127, 0, 0, 1], 0)), options).await {
            Ok(f) => f,
            Err(e) => panic!("fake-platforms: cannot bind: {e}"),
        }
    }

    /// Starts a fake on `addr`, or says why it could not be bound.
    pub async fn try_start(addr: SocketAddr, options: TwitchOptions) -> std::io::Result<FakeTwitch> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = TwitchState::new(options);
        state.set_ws_url(format!("ws://{addr}/ws"));
        let server = Server::spawn(|shutdown| serve_twitch(listener, state.clone(), shutdown));
        Ok(FakeTwitch { state, addr, server })
    }

    pub fn state(&self) -> &TwitchState {
        &self.state
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `[twitch] auth_url`: `http://127.0.0.1:PORT/oauth2`.
    pub fn auth_url(&self) -> String {
        format!("http://{}/oauth2", self.addr)
    }
    /// `[twitch] api_url`: `http://127.0.0.1:PORT/helix`.
    pub fn api_url(&self) -> String {
        format!("http://{}/helix", self.addr)
    }
    /// `[twitch] eventsub_url`: `ws://127.0.0.1:PORT/ws`.
    pub fn eventsub_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
    /// The first registered client id.
    pub fn client_id(&self) -> String {
        self.state.options().client_ids.first().cloned().unwrap_or_default()
    }

    /// Stops accepting, closes the EventSub connections, waits (up to 5 s) for the rest.
    pub async fn shutdown(mut self) {
        self.state.close_sessions(1001, "shutting down");
        self.server.shutdown().await;
    }
}

impl Drop for FakeTwitch {
    fn drop(&mut self) {
        // Closed here; the server stops when its handle drops right after.
        self.state.close_sessions(1001, "shutting down");
    }
}
