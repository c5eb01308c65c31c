//! A local, stateful fake of the Cloudflare Stream live-inputs API (v4 envelope), for tests,
//! benches and end-to-end runs.
//!
//! Served under `/client/v4`: token verify, account list, live inputs (list, create, get,
//! update, delete, rotate keys) and their outputs (list, create, update, delete). Live input
//! `status` is served in the object form the live API uses (see `shared/cloudflare/SOURCE.md`).
//!
//! Error codes (`errors[].code`), see [`envelope::codes`]: 10001 (401, missing or malformed
//! `Authorization`), 10000 (401 unknown token; 403 other account or no Stream permission),
//! 10003 (404 unknown live input or output), 6007 (400 body is not JSON), 10005 (400 body breaks
//! the schema), 7000 (404 no route), 7001 (405), 971 (429), 10002 (injected 5xx).
//!
//! Tests drive it through [`FakeCloudflare`] (in process) or the `/__fake/...` routes (another
//! process, see [`control`](crate::control)).

mod control;
pub mod envelope;
mod faults;
mod render;
mod routes;
mod state;
mod validate;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use fake_support::Server;
use tokio::net::TcpListener;

pub use faults::{Fault, FaultSpec, RouteKind};
pub use routes::API_PREFIX;
pub use state::{ControlError, FakeState, LiveInputSnapshot, OutputSnapshot, StatusForm, TokenScope};

/// How to start a fake.
#[derive(Clone, Debug)]
pub struct FakeOptions {
    pub account_id: String,
    /// The token with full Stream permission on `account_id`.
    pub token: String,
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Delay added to every API request.
    pub latency: Duration,
    pub status_form: StatusForm,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            account_id: state::hex_id(),
            token: format!("fake-token-{}", state::hex_id()),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: Duration::ZERO,
            status_form: StatusForm::Object,
        }
    }
}

/// The whole app: the API under `/client/v4` and the test-control routes under `/__fake`.
pub fn app(state: FakeState) -> Router {
    routes::router(state.clone()).merge(control::router(state)).fallback(envelope::no_route)
}

/// Serves the fake on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: FakeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}

/// A running fake. Dropping it (or [`FakeCloudflare::shutdown`]) stops the server.
pub struct FakeCloudflare {
    state: FakeState,
    addr: SocketAddr,
    server: Server,
}

impl std::fmt::Debug for FakeCloudflare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloudflare")
            .field("addr", &self.addr)
            .field("account_id", &self.state.account_id())
            .finish_non_exhaustive()
    }
}

impl FakeCloudflare {
    /// Starts a fake on `options.addr` (default `127.0.0.1:0`).
    ///
    /// # Panics
    /// If the address cannot be bound: this is a test helper, and a test cannot go on without
    /// its fake. Use [`FakeCloudflare::try_start`] to handle the error.
    pub async fn start(options: FakeOptions) -> FakeCloudflare {
        match Self::try_start(options).await {
            Ok(fake) => fake,
            Err(e) => panic!("fake-cloudflare: cannot bind: {e}"),
        }
    }

    /// Starts a fake, or says why the address could not be bound.
    pub async fn try_start(options: FakeOptions) -> std::io::Result<FakeCloudflare> {
        let listener = TcpListener::bind(options.addr).await?;
        let addr = listener.local_addr()?;
        let state = FakeState::new(options.account_id, options.token);
        state.set_latency(options.latency);
        state.set_status_form(options.status_form);
        let server = Server::spawn(|shutdown| serve(listener, state.clone(), shutdown));
        Ok(FakeCloudflare { state, addr, server })
    }

    /// The shared state, for everything not mirrored below.
    pub fn state(&self) -> &FakeState {
        &self.state
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT/client/v4`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, API_PREFIX)
    }
    /// `http://127.0.0.1:PORT` (the `/__fake` routes hang off it).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn account_id(&self) -> &str {
        self.state.account_id()
    }
    pub fn token(&self) -> &str {
        self.state.token()
    }
    /// Adds a token that verifies as `active` but lacks Stream permission.
    pub fn add_token_without_stream(&self, token: impl Into<String>) {
        self.state.add_token(token, TokenScope::WithoutStream);
    }
    pub fn add_token(&self, token: impl Into<String>, scope: TokenScope) {
        self.state.add_token(token, scope);
    }
    pub fn set_connected(&self, uid: &str, connected: bool) -> Result<(), ControlError> {
        self.state.set_connected(uid, connected)
    }
    pub fn set_output_state(
        &self,
        input_uid: &str,
        output_uid: &str,
        state: Option<&str>,
    ) -> Result<(), ControlError> {
        self.state.set_output_state(input_uid, output_uid, state)
    }
    pub fn live_inputs(&self) -> Vec<LiveInputSnapshot> {
        self.state.live_inputs()
    }
    pub fn outputs(&self, input_uid: &str) -> Vec<OutputSnapshot> {
        self.state.outputs(input_uid)
    }
    pub fn inject(&self, fault: Fault) {
        self.state.inject(fault);
    }
    pub fn inject_n(&self, fault: Fault, n: usize) {
        self.state.inject_n(fault, n);
    }
    pub fn inject_for(&self, route: RouteKind, fault: Fault, n: usize) {
        self.state.inject_for(route, fault, n);
    }
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }
    pub fn set_status_form(&self, form: StatusForm) {
        self.state.set_status_form(form);
    }
    pub fn request_count(&self) -> u64 {
        self.state.request_count()
    }
    pub fn request_count_for(&self, route: RouteKind) -> u64 {
        self.state.request_count_for(route)
    }
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), then stops.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
