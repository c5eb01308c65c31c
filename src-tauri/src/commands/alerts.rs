//! The Alerts page: the queue (with held alerts), a test alert, pause/resume/skip/replay/clear,
//! approve/reject. Everything goes through the engine's alert desk, so the same rules (minimum
//! amounts, moderation) apply as for the control API, the tray and the phone, tree up or down.

use streampai::alerts::{Accepted, AlertInput, AlertKind, AlertsView};

use super::Sh;
use crate::error::UiResult;

#[tauri::command]
#[specta::specta]
pub async fn alerts_snapshot(shell: Sh<'_>) -> UiResult<AlertsView> {
    Ok(shell.engine.alerts().view().await?)
}

/// Queues a sample alert of `kind` (amounts that put donations and raids in the priority class).
#[tauri::command]
#[specta::specta]
pub async fn send_test_alert(shell: Sh<'_>, kind: AlertKind) -> UiResult<Accepted> {
    Ok(shell.engine.alerts().accept(test_alert(kind), None)?)
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
    Ok(shell.engine.alerts().set_paused(true).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_resume(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.alerts().set_paused(false).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_skip(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.alerts().skip().await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_replay(shell: Sh<'_>, id: String) -> UiResult<()> {
    Ok(shell.engine.alerts().replay(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn alerts_clear(shell: Sh<'_>) -> UiResult<()> {
    Ok(shell.engine.alerts().clear().await?)
}

/// Moderation: a held alert joins the queue.
#[tauri::command]
#[specta::specta]
pub async fn alerts_approve(shell: Sh<'_>, id: String) -> UiResult<()> {
    Ok(shell.engine.alerts().approve(&id).await?)
}

/// Moderation: a held alert is dropped (kept in the database as rejected).
#[tauri::command]
#[specta::specta]
pub async fn alerts_reject(shell: Sh<'_>, id: String) -> UiResult<()> {
    Ok(shell.engine.alerts().reject(&id).await?)
}
