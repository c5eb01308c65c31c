//! The dashboard's "Stream info" card (one title everywhere): read the saved info and the last
//! push, save and push it to every signed-in platform, search Twitch's categories. All of it is
//! the engine's (`Engine::stream_info`, `set_stream_info`, `search_categories`; the
//! `stream_info` event follows every change). A bad field comes back as `invalid` naming it.

use streampai::stream_info::{PushReport, StreamInfoInput, StreamInfoView, TwitchCategory};

use super::Sh;
use crate::error::UiResult;

#[tauri::command]
#[specta::specta]
pub async fn get_stream_info(shell: Sh<'_>) -> UiResult<StreamInfoView> {
    Ok(shell.engine.stream_info())
}

/// Saves the info (it stands whatever the platforms answer) and pushes it: each platform's result.
#[tauri::command]
#[specta::specta]
pub async fn save_stream_info(shell: Sh<'_>, input: StreamInfoInput) -> UiResult<PushReport> {
    Ok(shell.engine.set_stream_info(input).await?)
}

/// Twitch categories whose name matches `query` (`not_signed_in` without a Twitch sign-in).
#[tauri::command]
#[specta::specta]
pub async fn search_twitch_categories(shell: Sh<'_>, query: String) -> UiResult<Vec<TwitchCategory>> {
    Ok(shell.engine.search_categories(&query).await?)
}
