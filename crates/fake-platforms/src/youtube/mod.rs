//! The fake YouTube: Google's OAuth endpoints for installed apps (`/o/oauth2/v2/auth`, `/token`,
//! `/revoke`), the Data API v3 under `/youtube/v3`, test control under `/__fake/youtube`.

mod api;
mod control;
pub mod faults;
mod oauth;
pub mod state;

use axum::routing::{get, post};
use axum::Router;

pub use faults::{Fault, FaultSpec, Route};
pub use state::{
    example_details, Broadcast, ControlError, YouTubeOptions, YouTubeState, EVENT_KINDS, SCOPE_YOUTUBE,
};

/// The fake's routes over `state`.
pub fn router(state: YouTubeState) -> Router {
    Router::new()
        .route("/o/oauth2/v2/auth", get(oauth::authorize))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route("/youtube/v3/channels", get(api::channels))
        .route("/youtube/v3/liveBroadcasts", get(api::list_broadcasts).put(api::update_broadcast))
        .route("/youtube/v3/liveChat/messages", get(api::chat_messages))
        .merge(control::router())
        .with_state(state)
}
