//! The stream info at the front door: read it, save and push it, search Twitch's categories.
//! Same rules for the control API, the CLI, the desktop and the phone.

use super::Engine;
use crate::error::EngineError;
use crate::stream_info::{PushReport, StreamInfoInput, StreamInfoView, TwitchCategory};

impl Engine {
    /// The saved stream info, whether a push is under way, and the last push's results.
    pub fn stream_info(&self) -> StreamInfoView {
        self.inner.stream_info.view()
    }

    /// Check and save the stream info, then push it to every platform at once (each bounded by
    /// [`crate::stream_info::PUSH_TIMEOUT`]) and return each platform's result: updated, not
    /// signed in, or the platform's own error in words. The save stands whatever the pushes
    /// do. `invalid_input` (naming the field) for input no platform takes; `storage` when it
    /// cannot be saved (nothing is pushed then).
    pub async fn set_stream_info(&self, input: StreamInfoInput) -> Result<PushReport, EngineError> {
        self.inner.stream_info.set(&input).await
    }

    /// Push the saved info again now; `None` when nothing is saved.
    pub async fn push_stream_info(&self) -> Option<PushReport> {
        self.inner.stream_info.push(crate::stream_info::PushTrigger::Save).await
    }

    /// Twitch categories whose name matches `query` (up to 25). `invalid_input` (field `q`) for
    /// an empty or over-long query; `not_signed_in` without a Twitch sign-in; `platform` with
    /// Twitch's words when it refuses or cannot be reached.
    pub async fn search_categories(&self, query: &str) -> Result<Vec<TwitchCategory>, EngineError> {
        let q = crate::stream_info::check_query(query)?;
        crate::stream_info::search_twitch(self.inner.stream_info.twitch(), &q).await
    }
}
