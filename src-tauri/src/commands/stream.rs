//! Dashboard and Stream setup: status, start/stop, the task tree, the OBS ingest settings.

use streampai::{DebugTree, IngestSettings, Status};

use super::Sh;
use crate::error::UiResult;

#[tauri::command]
#[specta::specta]
pub async fn get_status(shell: Sh<'_>) -> UiResult<Status> {
    let mut status = shell.engine.status().await;
    // The UI gets the ingest key only on reveal (`reveal_ingest_key`).
    status.ingest.stream_key = None;
    Ok(status)
}

/// Starts the stream on every enabled platform; returns the new stream UUID.
#[tauri::command]
#[specta::specta]
pub async fn start_stream(shell: Sh<'_>) -> UiResult<String> {
    Ok(shell.engine.start_stream().await?.to_string())
}

/// Stops the stream once every output is deleted; returns the UUID of the stream that ended.
#[tauri::command]
#[specta::specta]
pub async fn stop_stream(shell: Sh<'_>) -> UiResult<String> {
    Ok(shell.engine.stop_stream().await?.to_string())
}

#[tauri::command]
#[specta::specta]
pub async fn get_debug_tree(shell: Sh<'_>) -> UiResult<DebugTree> {
    Ok(shell.engine.debug_tree())
}

/// What to paste into OBS for the ingest backend in force (local relay or Cloudflare). The key
/// is not included (see [`reveal_ingest_key`]).
#[tauri::command]
#[specta::specta]
pub async fn get_ingest(shell: Sh<'_>) -> UiResult<IngestSettings> {
    Ok(shell.engine.ingest().await?)
}

/// The OBS stream key, only when the user presses reveal or copy.
#[tauri::command]
#[specta::specta]
pub async fn reveal_ingest_key(shell: Sh<'_>) -> UiResult<String> {
    Ok(shell.engine.reveal_ingest_key().await?.expose().to_string())
}
