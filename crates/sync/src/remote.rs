//! The web remote: a small page the sync server serves at `/` for a phone browser.

use std::sync::Arc;

use axum::Router;

use crate::server::Shared;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
}
