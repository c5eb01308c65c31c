//! Dashboard and Stream setup: status, start/stop, the task tree, the OBS ingest settings.

use serde::Serialize;
use streampai::{DebugTree, Status};

use super::Sh;
use crate::error::{UiError, UiResult};

#[tauri::command]
#[specta::specta]
pub async fn get_status(shell: Sh<'_>) -> UiResult<Status> {
    Ok(shell.engine.status().await)
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

/// Where OBS streams to. The key is not included (see [`reveal_ingest_key`]).
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct IngestView {
    pub rtmps_url: Option<String>,
    pub has_rtmps_key: bool,
    pub srt_url: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn get_ingest(shell: Sh<'_>) -> UiResult<IngestView> {
    let info = shell.engine.user().cloudflare.ensure_input().await?;
    Ok(IngestView {
        rtmps_url: info.rtmps_url,
        has_rtmps_key: info.rtmps_stream_key.is_some(),
        srt_url: info.srt_url,
    })
}

/// The OBS stream key, only when the user presses reveal or copy.
#[tauri::command]
#[specta::specta]
pub async fn reveal_ingest_key(shell: Sh<'_>) -> UiResult<String> {
    let info = shell.engine.user().cloudflare.ensure_input().await?;
    info.rtmps_stream_key
        .map(|k| k.expose().to_string())
        .ok_or_else(|| UiError::Ingest { message: "Cloudflare gave no RTMPS stream key".into() })
}
