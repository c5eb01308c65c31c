//! What each tray item (and global shortcut) does. Handlers are generic over the runtime so the
//! mock runtime tests them; each returns the task it started, so a caller can wait for it.

use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Manager, Runtime};

use streampai::alerts::{AlertKind, AlertQueueError};

use crate::commands::alerts::test_alert;
use crate::shell::Shell;

pub const START: &str = "start";
pub const STOP: &str = "stop";
pub const OPEN: &str = "open";
pub const QUIT: &str = "quit";
pub const PLATFORM_PREFIX: &str = "platform:";
/// Pause the alert queue, or resume it when paused.
pub const ALERTS_TOGGLE: &str = "alerts:toggle-pause";
pub const ALERTS_SKIP: &str = "alerts:skip";
pub const ALERTS_TEST: &str = "alerts:test";
/// "Set up OBS for me" (the engine's `obs_setup`; the outcome as a notification).
pub const OBS_SETUP: &str = "obs:setup";

pub fn platform_id(name: &str) -> String {
    format!("{PLATFORM_PREFIX}{name}")
}

/// Runs the action behind a menu item id. Unknown ids (e.g. the status line) do nothing.
pub fn handle<R: Runtime>(app: &AppHandle<R>, id: &str) -> Option<JoinHandle<()>> {
    let app = app.clone();
    match id {
        START => Some(tauri::async_runtime::spawn(async move {
            let Some(shell) = app.try_state::<Shell>() else { return };
            match shell.engine.start_stream().await {
                Ok(uuid) => tracing::info!(%uuid, "stream started from the tray"),
                Err(e) => crate::notify::show(&app, "Cannot start the stream", &e.to_string()),
            }
            super::refresh(&app).await;
        })),
        STOP => Some(tauri::async_runtime::spawn(async move {
            let Some(shell) = app.try_state::<Shell>() else { return };
            match shell.engine.stop_stream().await {
                Ok(uuid) => tracing::info!(%uuid, "stream stopped from the tray"),
                Err(e) => crate::notify::show(&app, "Cannot stop the stream", &e.to_string()),
            }
            super::refresh(&app).await;
        })),
        OBS_SETUP => Some(tauri::async_runtime::spawn(async move {
            let Some(shell) = app.try_state::<Shell>() else { return };
            match shell.engine.obs_setup().await {
                Ok(report) => {
                    let (title, body) = crate::words::obs_setup_notice(&report);
                    crate::notify::show(&app, &title, &body);
                }
                Err(e) => crate::notify::show(&app, "Cannot set up OBS", &e.to_string()),
            }
            super::refresh(&app).await;
        })),
        OPEN => {
            crate::windows::show_dashboard(&app);
            None
        }
        QUIT => Some(tauri::async_runtime::spawn(crate::lifecycle::quit(app))),
        ALERTS_TOGGLE | ALERTS_SKIP | ALERTS_TEST => {
            let id = id.to_string();
            Some(tauri::async_runtime::spawn(async move {
                let Some(shell) = app.try_state::<Shell>() else { return };
                if let Err(e) = alert_action(&shell, &id).await {
                    crate::notify::show(&app, "Alerts", &e.to_string());
                }
                super::refresh(&app).await;
            }))
        }
        other => {
            let name = other.strip_prefix(PLATFORM_PREFIX)?.to_string();
            Some(tauri::async_runtime::spawn(async move {
                let Some(shell) = app.try_state::<Shell>() else { return };
                let enabled =
                    shell.engine.config().platforms.iter().find(|p| p.name == name).map(|p| p.enabled);
                let Some(enabled) = enabled else { return };
                if let Err(e) = crate::commands::settings::toggle_platform(&shell, &name, !enabled).await {
                    crate::notify::show(&app, &format!("Cannot change {name}"), &e.to_string());
                }
                super::refresh(&app).await;
            }))
        }
    }
}

/// The tray's alert controls, through the engine's alert desk (works with the tree down too).
async fn alert_action(shell: &Shell, id: &str) -> Result<(), AlertQueueError> {
    let desk = shell.engine.alerts();
    match id {
        ALERTS_TOGGLE => desk.set_paused(!desk.paused()).await,
        ALERTS_SKIP => desk.skip().await,
        _ => {
            let accepted = desk.accept(test_alert(AlertKind::Donation), None)?;
            tracing::info!(alert_id = %accepted.id, "test alert from the tray");
            Ok(())
        }
    }
}
