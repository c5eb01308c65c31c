//! Staying in the tray, quitting (asks while live, then stops the stream cleanly), and shutting
//! the engine down on exit.

use std::sync::atomic::Ordering;
use std::time::Duration;

use streampai::stream_state::StreamPhase;
use tauri::{AppHandle, Manager, RunEvent, Runtime};

use crate::shell::Shell;

/// How long the engine gets to stop streams and delete outputs on exit.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    match event {
        RunEvent::ExitRequested { code: None, api, .. } => {
            let exiting = app.try_state::<Shell>().is_some_and(|s| s.quit.is_exiting());
            if !exiting {
                tracing::info!("last window closed; Streampai stays in the tray");
                api.prevent_exit();
            }
        }
        RunEvent::Exit => {
            if let Some(shell) = app.try_state::<Shell>() {
                let engine = shell.engine.clone();
                tauri::async_runtime::block_on(async move {
                    if tokio::time::timeout(SHUTDOWN_TIMEOUT, engine.shutdown()).await.is_err() {
                        tracing::warn!("engine shutdown timed out");
                    }
                });
            }
        }
        _ => {}
    }
}

/// Quit: while the stream is on air, ask; if confirmed, stop it (outputs deleted), then exit.
pub async fn quit<R: Runtime>(app: AppHandle<R>) {
    let Some(shell) = app.try_state::<Shell>() else { return };
    let state = shell.engine.status().await.stream.state;
    if state != StreamPhase::Offline {
        if !confirm(&app, &shell).await {
            tracing::info!("quit cancelled");
            return;
        }
        if state != StreamPhase::Stopping {
            if let Err(e) = shell.engine.stop_stream().await {
                tracing::warn!(cause = %e, "stopping the stream before quitting failed");
            }
        }
    }
    shell.quit.exiting.store(true, Ordering::SeqCst);
    tracing::info!("quitting");
    if shell.quit.real_exit {
        app.exit(0);
    }
}

async fn confirm<R: Runtime>(app: &AppHandle<R>, shell: &Shell) -> bool {
    if let Some(answer) = shell.quit.auto_answer {
        return answer;
    }
    use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .message("You are live. Quitting stops the stream on every platform.")
        .title("Stop the stream and quit?")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom("Stop stream and quit".into(), "Cancel".into()))
        .show(move |ok| {
            let _ = tx.send(ok);
        });
    rx.await.unwrap_or(false)
}
