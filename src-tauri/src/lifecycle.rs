//! Staying in the tray, quitting (asks while live, then stops the stream cleanly), and shutting
//! the engine down on exit.
//!
//! The engine's shutdown runs as tasks on the runtime's worker threads. Quit therefore shuts it
//! down on the runtime *before* asking Tauri to exit, while the main thread still runs the event
//! loop; `RunEvent::Exit` (which blocks the main thread) then finds it done. Exits that do not go
//! through Quit (the OS ending the session, …) still shut it down there. Neither blocks for long
//! because nothing in the shell keeps a worker waiting for the main thread: the tray is updated
//! on the main thread without waiting (`tray::show`), notifications are sent from the blocking
//! pool, and both stop once the app is exiting.

use streampai::StreamPhase;
use tauri::{AppHandle, Manager, RunEvent, Runtime};

use crate::shell::Shell;
pub use crate::shell::SHUTDOWN_TIMEOUT;

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
                shell.quit.begin_exit();
                if !shell.engine_is_down() {
                    tracing::info!("exiting: shutting the engine down");
                }
                // At once after Quit (already done there); otherwise waits for the engine, or
                // for a shutdown already under way.
                tauri::async_runtime::block_on(shell.shutdown_engine());
            }
        }
        _ => {}
    }
}

/// Quit: while the stream is on air, ask; if confirmed, stop it (outputs deleted), shut the
/// engine down, then exit.
pub async fn quit<R: Runtime>(app: AppHandle<R>) {
    let Some(shell) = app.try_state::<Shell>() else { return };
    if shell.quit.is_exiting() {
        return;
    }
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
    if shell.quit.begin_exit() {
        return; // another Quit got here first
    }
    tracing::info!("quitting");
    // Here, on the runtime, while the main thread is free (see the module docs).
    shell.shutdown_engine().await;
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
