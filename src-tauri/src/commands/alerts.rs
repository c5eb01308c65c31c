//! The Alerts page: the queue, a test alert, pause/resume/skip/replay/clear.

use streampai::alerts::{Alert, AlertInput, AlertKind, AlertQueueSnapshot};

use super::Sh;
use crate::error::UiResult;

#[tauri::command]
#[specta::specta]
pub async fn alerts_snapshot(shell: Sh<'_>) -> UiResult<AlertQueueSnapshot> {
    Ok(shell.engine.user().alerts.snapshot().await?)
}

/// Queues a sample alert of `kind` (amounts that put donations and raids in the priority class).
#[tauri::command]
#[specta::specta]
pub async fn send_test_alert(shell: Sh<'_>, kind: AlertKind) -> UiResult<Alert> {
    Ok(shell.engine.user().alerts.push(test_alert(kind)).await?)
}

pub fn test_alert(kind: AlertKind) -> AlertInput {
    let input = AlertInput::new(kind, "Test viewer");
    let mut input = match kind {
        AlertKind::Donation => input.with_amount(10.0),
        AlertKind::Raid => input.with_amount(25.0),
        AlertKind::Cheer => input.with_amount(100.0),
        AlertKind::Follow | AlertKind::Subscription => input,
    };
    if kind == AlertKind::Donation {
        input.currency = Some("USD".into());
        input.message = Some("This is a test alert from Streampai".into());
    }
    input
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_pause(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.user().alerts.pause().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_resume(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.user().alerts.resume().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_skip(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.user().alerts.skip().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_replay(shell: Sh<'_>, id: String) -> UiResult<()> {
    Ok(shell.engine.user().alerts.replay(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_clear(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.user().alerts.clear().await?)
}
