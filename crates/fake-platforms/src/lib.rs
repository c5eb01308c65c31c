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
//! **YouTube** ([`FakeYouTube`], module [`youtube`]), shaped after Google's documentation of
//! OAuth 2.0 for installed apps and the YouTube Data API v3 (see `SOURCE.md`):
//! - `GET /o/oauth2/v2/auth`: the consent page, approved at once (denied on a fault) by a 302 to
//!   the loopback `redirect_uri` with `code` and `state`, so a test completes a sign-in by
//!   GETting the authorize URL and following the redirect;
//! - `POST /token` (authorization code with the PKCE S256 verifier checked, refresh token;
//!   `client_id` + `client_secret`), `POST /revoke`;
//! - `/youtube/v3`: `channels` (mine), `liveBroadcasts` list (`broadcastStatus=active`) and
//!   update (`part=snippet`), `liveChat/messages` with paging and `pollingIntervalMillis`; a
//!   daily quota (1, 1, 50 and 5 units) answering 403 `quotaExceeded` beyond it.
//! - Control: start or end a broadcast, put Super Chats and membership events in the chat,
//!   deliver one twice, revoke every grant, set or reset the quota, inject faults.
//!
//! **Kick** ([`FakeKick`], module [`kick`]), the sender side of Kick's webhooks
//! (docs.kick.com/events): a generated RSA key, its public key served as Kick's
//! `GET /public/v1/public-key`, and signed deliveries of the documented event payloads POSTed to
//! a webhook URL, with faults (bad or missing signature, duplicate delivery, old timestamp).
//!
//! The binary serves the Twitch and YouTube fakes on one port (their paths do not overlap).

pub mod kick;
pub mod twitch;
pub mod youtube;

use std::future::Future;
use std::net::SocketAddr;

use std::collections::HashMap;

use fake_support::Server;
use tokio::net::TcpListener;

pub use kick::{FakeKick, KickFault, KickState};
pub use twitch::{TwitchOptions, TwitchState};
pub use youtube::{YouTubeOptions, YouTubeState};

/// Query and form parameters together (the form wins), as both platforms' OAuth endpoints read
/// them.
pub(crate) fn form_params(query: HashMap<String, String>, body: &[u8]) -> HashMap<String, String> {
    let mut p = query;
    for (k, v) in form_urlencoded::parse(body) {
        p.insert(k.into_owned(), v.into_owned());
    }
    p
}

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

/// Serves the fake Twitch and the fake YouTube together on `listener` until `shutdown`.
pub async fn serve_all(
    listener: TcpListener,
    twitch: TwitchState,
    youtube: YouTubeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    twitch.set_ws_url(format!("ws://{addr}/ws"));
    let app = twitch::router(twitch).merge(youtube::router(youtube));
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// A running fake YouTube on 127.0.0.1 (a free port). Dropping it (or
/// [`FakeYouTube::shutdown`]) stops the server. Dereferences to its [`YouTubeState`].
pub struct FakeYouTube {
    state: YouTubeState,
    addr: SocketAddr,
    server: Server,
}

impl std::fmt::Debug for FakeYouTube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeYouTube").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl std::ops::Deref for FakeYouTube {
    type Target = YouTubeState;
    fn deref(&self) -> &YouTubeState {
        &self.state
    }
}

impl FakeYouTube {
    /// Starts a fake on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If no loopback port can be bound: a test cannot go on without its fake.
    pub async fn start(options: YouTubeOptions) -> FakeYouTube {
        let listener = match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
            Ok(l) => l,
            Err(e) => panic!("fake-platforms: cannot bind: {e}"),
        };
        let addr = listener.local_addr().expect("a bound listener has an address");
        let state = YouTubeState::new(options);
        let app = youtube::router(state.clone());
        let server = Server::spawn(|shutdown| async move {
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await
        });
        FakeYouTube { state, addr, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `[youtube] auth_url`: `http://127.0.0.1:PORT/o/oauth2/v2/auth`.
    pub fn auth_url(&self) -> String {
        format!("http://{}/o/oauth2/v2/auth", self.addr)
    }
    /// `[youtube] token_url`: `http://127.0.0.1:PORT/token` (revocation: `/revoke` beside it).
    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }
    /// `[youtube] api_url`: `http://127.0.0.1:PORT/youtube/v3`.
    pub fn api_url(&self) -> String {
        format!("http://{}/youtube/v3", self.addr)
    }
    pub fn client_id(&self) -> String {
        self.state.options().client_id
    }
    pub fn client_secret(&self) -> String {
        self.state.options().client_secret
    }

    /// Stops accepting and waits (up to 5 s) for requests in flight.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
