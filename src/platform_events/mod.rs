//! The platforms' own event feeds turned into alerts: children of the user's tree, fed by the
//! signed-in accounts (`src/accounts/`). Twitch EventSub for now (YouTube live chat: issue 14,
//! next slice).

pub(crate) mod twitch;
pub mod twitch_alerts;

pub(crate) use twitch::spec as twitch_events_spec;
