//! Analytics: the stream history and one stream's samples and events (from the engine's
//! SQLite history; works whether or not the user's tree runs).

use streampai::{StreamDetail, StreamRecord};

use super::Sh;
use crate::error::{UiError, UiResult};

/// Every recorded stream, newest first.
#[tauri::command]
#[specta::specta]
pub async fn stream_history(shell: Sh<'_>) -> UiResult<Vec<StreamRecord>> {
    Ok(shell.engine.stream_history()?)
}

/// One stream with its bitrate samples and platform events; `null` if there is no such stream.
#[tauri::command]
#[specta::specta]
pub async fn stream_detail(shell: Sh<'_>, uuid: String) -> UiResult<Option<StreamDetail>> {
    let uuid = uuid
        .trim()
        .parse::<uuid::Uuid>()
        .map_err(|_| UiError::invalid("uuid", format!("`{uuid}` is not a stream id")))?;
    Ok(shell.engine.stream_detail(uuid)?)
}
