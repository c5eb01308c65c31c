//! The platforms' own event feeds turned into alerts: children of the user's tree, fed by the
//! signed-in accounts (`src/accounts/`): Twitch EventSub (`twitch.rs`) and YouTube live chat
//! (`youtube.rs`).

pub(crate) mod twitch;
pub mod twitch_alerts;
pub(crate) mod youtube;
pub mod youtube_alerts;

pub(crate) use twitch::spec as twitch_events_spec;
pub(crate) use youtube::spec as youtube_events_spec;
