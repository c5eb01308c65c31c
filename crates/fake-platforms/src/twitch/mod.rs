//! The fake Twitch: id.twitch.tv's OAuth endpoints under `/oauth2`, Helix under `/helix`, the
//! EventSub WebSocket at `/ws`, test control under `/__fake/twitch`.

mod control;
mod drive;
mod eventsub;
pub mod examples;
pub mod faults;
mod helix;
mod oauth;
pub mod state;

use axum::routing::{get, post};
use axum::Router;

pub use faults::{Fault, FaultSpec, Route};
pub use helix::MAX_SUBSCRIPTIONS_PER_SESSION;
pub use state::{
    ChannelInfo, ControlError, DeliveredMessage, SubscriptionSnapshot, TwitchOptions, TwitchState, TwitchUser,
};

/// The fake's routes over `state`.
pub fn router(state: TwitchState) -> Router {
    Router::new()
        .route("/oauth2/device", post(oauth::device))
        .route("/oauth2/token", post(oauth::token))
        .route("/oauth2/validate", get(oauth::validate))
        .route("/oauth2/revoke", post(oauth::revoke))
        .route("/helix/users", get(helix::users))
        .route("/helix/channels", get(helix::get_channel).patch(helix::patch_channel))
        .route("/helix/search/categories", get(helix::search_categories))
        .route(
            "/helix/eventsub/subscriptions",
            post(helix::create_subscription).get(helix::list_subscriptions),
        )
        .route("/ws", get(eventsub::ws))
        .merge(control::router())
        .with_state(state)
}
