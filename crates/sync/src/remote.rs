//! The web remote: a small page (`crates/sync/remote/`) the sync server serves at `/` for a phone
//! browser. It signs in with the user's token, counts as a `device`, shows presence, the stream
//! state and platform statuses, and sends start/stop, platform toggles and alert controls.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::server::Shared;

const INDEX: &str = include_str!("../remote/index.html");
const SCRIPT: &str = include_str!("../remote/remote.js");
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-cache"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        INDEX,
    )
}

async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], SCRIPT)
}

pub fn router() -> Router<Arc<Shared>> {
    Router::new().route("/", get(index)).route("/remote.js", get(script))
}
