//! "One title everywhere": the stream info (title, Twitch category, YouTube description) saved
//! locally and pushed to every signed-in platform, on Save and on every stream Start.
//!
//! - `mod.rs` (here): the types that cross the front door and the checks of the input. A save
//!   refuses only what no platform takes (an empty title, a title longer than the longest any
//!   platform takes, control characters, a category id that is not one); a platform's own,
//!   stricter limits (YouTube: 100 characters, no `<`/`>`) are that platform's result, `invalid`.
//! - `desk.rs`: [`StreamInfoDesk`], the saved info in the state file (`stream_info`, written
//!   atomically before any push, so a failed push never loses it) with the last push's results,
//!   and the push: every platform at once, each bounded by [`PUSH_TIMEOUT`]; the
//!   `StreamInfo` child of the root supervisor that pushes on every stream start, and to the
//!   YouTube broadcast once it is live when that push found none.
//! - `targets.rs`: one small target per platform ([`InfoPlatform`]): its limits and its push.
//! - `twitch.rs`: Twitch's target (`PATCH /helix/channels`, refresh and retry once on 401).
//! - `youtube.rs`: YouTube's target (`liveBroadcasts.update` of the live broadcast).

mod desk;
mod targets;
mod twitch;
mod youtube;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

pub(crate) use desk::{start_push_spec, StreamInfoDesk};
pub use targets::InfoPlatform;
pub(crate) use twitch::search as search_twitch;

/// The longest title any platform takes (Twitch: 140 characters; YouTube: 100).
pub const TITLE_MAX_CHARS: usize = 140;
/// YouTube's description limit (5000 bytes).
pub const DESCRIPTION_MAX_BYTES: usize = 5000;
/// How long one platform's push may take in all (getting a token, refreshing it, the request
/// and its one retry).
pub const PUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const CATEGORY_ID_MAX: usize = 20;
const CATEGORY_NAME_MAX_CHARS: usize = 200;
/// The longest category search query taken.
pub const QUERY_MAX_CHARS: usize = 100;

/// The saved stream info.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamInfo {
    /// One line, 1–140 characters, trimmed.
    pub title: String,
    /// Twitch's category (game) id; `None`: the category on Twitch is left as it is; `"0"`
    /// clears it.
    pub twitch_category_id: Option<String>,
    /// The category's name as the search showed it (for display only).
    pub twitch_category_name: Option<String>,
    /// YouTube's description (up to 5000 bytes).
    pub youtube_description: Option<String>,
}

/// What a front end asks to save (`POST /api/v1/stream/info`). Missing fields count as empty.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct StreamInfoInput {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub twitch_category_id: Option<String>,
    /// The category's name from the search; when absent and the id is the saved one, the saved
    /// name is kept.
    #[serde(default)]
    pub twitch_category_name: Option<String>,
    #[serde(default)]
    pub youtube_description: Option<String>,
}

/// A platform's push result kind, for the UI to word.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PushErrorKind {
    /// Not signed in to the platform (or the platform no longer accepts the sign-in).
    NotSignedIn,
    /// The saved info breaks this platform's own limits (nothing was sent).
    Invalid,
    /// The platform refused the sign-in even after a refresh (401), e.g. a missing permission.
    Unauthorized,
    /// The platform refused the request (4xx); the message has its words.
    Refused,
    /// The platform sets this on a live broadcast and none is live (YouTube).
    NoBroadcast,
    RateLimited,
    /// No answer in time.
    Timeout,
    Unreachable,
    /// The platform had a problem (5xx).
    Server,
    /// The platform answered something unexpected.
    Protocol,
    /// The app's account component did not answer.
    Unavailable,
}

/// A platform's problem in words (never a token).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PushError {
    pub kind: PushErrorKind,
    pub message: String,
}

impl PushError {
    pub fn new(kind: PushErrorKind, message: impl Into<String>) -> Self {
        PushError { kind, message: message.into() }
    }
}

/// One platform's result: `{"ok": true}` or `{"ok": false, "error": {kind, message}}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PushResult {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PushError>,
}

impl PushResult {
    pub fn updated() -> Self {
        PushResult { ok: true, error: None }
    }
    pub fn failed(error: PushError) -> Self {
        PushResult { ok: false, error: Some(error) }
    }
}

impl From<Result<(), PushError>> for PushResult {
    fn from(r: Result<(), PushError>) -> Self {
        match r {
            Ok(()) => PushResult::updated(),
            Err(e) => PushResult::failed(e),
        }
    }
}

/// Every platform's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PushResults {
    pub twitch: PushResult,
    pub youtube: PushResult,
}

impl PushResults {
    pub fn get(&self, platform: InfoPlatform) -> &PushResult {
        match platform {
            InfoPlatform::Twitch => &self.twitch,
            InfoPlatform::Youtube => &self.youtube,
        }
    }
}

/// What started a push.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PushTrigger {
    /// The user saved the info.
    Save,
    /// A stream started.
    Start,
}

/// A finished push: when, why, and each platform's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PushReport {
    pub at: DateTime<Utc>,
    pub trigger: PushTrigger,
    pub results: PushResults,
}

/// `GET /api/v1/stream/info`, `stream_info` in the status and the `stream_info` event.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamInfoView {
    /// `None` until saved once.
    pub info: Option<StreamInfo>,
    pub saved_at: Option<DateTime<Utc>>,
    /// A push is under way.
    pub pushing: bool,
    /// The latest finished push.
    pub last_push: Option<PushReport>,
}

/// A category found by `GET /api/v1/stream/categories?q=`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TwitchCategory {
    pub id: String,
    pub name: String,
    /// The box art's address as Twitch gives it.
    #[serde(default)]
    pub box_art_url: String,
}

fn invalid(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::InvalidInput { field: field.into(), message: message.into() }
}

/// Trimmed; `None` when empty.
fn trimmed(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

impl StreamInfoInput {
    /// The info to save, or the first problem naming its field. `previous` is the saved info
    /// (its category name is kept when the same id comes without one).
    pub fn validate(&self, previous: Option<&StreamInfo>) -> Result<StreamInfo, EngineError> {
        let title = trimmed(self.title.as_deref()).ok_or_else(|| invalid("title", "enter a title"))?;
        if has_control(&title) {
            return Err(invalid("title", "one line, without control characters"));
        }
        let n = title.chars().count();
        if n > TITLE_MAX_CHARS {
            return Err(invalid(
                "title",
                format!(
                    "at most {TITLE_MAX_CHARS} characters (Twitch's limit, the longest any platform takes); this one has {n}"
                ),
            ));
        }
        let twitch_category_id = trimmed(self.twitch_category_id.as_deref());
        if let Some(id) = &twitch_category_id {
            if id.len() > CATEGORY_ID_MAX || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "twitch_category_id",
                    "a Twitch category id is digits only (pick one from the category search; \"0\" clears it)",
                ));
            }
        }
        let mut twitch_category_name = trimmed(self.twitch_category_name.as_deref());
        if let Some(name) = &twitch_category_name {
            if has_control(name) || name.chars().count() > CATEGORY_NAME_MAX_CHARS {
                return Err(invalid(
                    "twitch_category_name",
                    format!("one line of at most {CATEGORY_NAME_MAX_CHARS} characters"),
                ));
            }
        }
        match &twitch_category_id {
            None => twitch_category_name = None,
            Some(id) if twitch_category_name.is_none() => {
                twitch_category_name = previous
                    .filter(|p| p.twitch_category_id.as_ref() == Some(id))
                    .and_then(|p| p.twitch_category_name.clone());
            }
            Some(_) => {}
        }
        let youtube_description = self
            .youtube_description
            .as_deref()
            .map(|d| d.trim_end().to_string())
            .filter(|d| !d.trim().is_empty());
        if let Some(d) = &youtube_description {
            if d.len() > DESCRIPTION_MAX_BYTES {
                return Err(invalid(
                    "youtube_description",
                    format!(
                        "at most {DESCRIPTION_MAX_BYTES} bytes (YouTube's limit); this one has {}",
                        d.len()
                    ),
                ));
            }
            if d.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                return Err(invalid(
                    "youtube_description",
                    "control characters other than line breaks and tabs",
                ));
            }
        }
        Ok(StreamInfo { title, twitch_category_id, twitch_category_name, youtube_description })
    }
}

/// A category search query: trimmed, 1–100 characters, one line.
pub(crate) fn check_query(q: &str) -> Result<String, EngineError> {
    let q = q.trim();
    if q.is_empty() {
        return Err(invalid("q", "enter part of a category's name"));
    }
    if has_control(q) || q.chars().count() > QUERY_MAX_CHARS {
        return Err(invalid("q", format!("one line of at most {QUERY_MAX_CHARS} characters")));
    }
    Ok(q.to_string())
}

#[cfg(test)]
mod tests;
