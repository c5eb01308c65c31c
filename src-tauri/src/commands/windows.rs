//! "Open in new window".

use tauri::{AppHandle, Runtime};

use crate::error::UiResult;
use crate::windows::{self, View};

/// Opens `view` in a new window (each window is a presence session); returns its label.
#[tauri::command]
#[specta::specta]
pub async fn open_window<R: Runtime>(app: AppHandle<R>, view: View) -> UiResult<String> {
    Ok(windows::open_new(&app, view)?)
}
