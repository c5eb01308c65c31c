//! Engine → UI and tray: every engine event goes to every window as a typed `EngineEvent`, may
//! raise a notification, and refreshes the tray (every second while live, for the elapsed time).
//! `config_changed` (e.g. a platform toggled from the phone through the sync server) writes the
//! config in force to the store, so the next launch does not revert it.
//!
//! Nothing here waits for the main thread (events to windows, the tray and notifications are
//! all handed over without waiting), so the bridge never holds up a runtime worker the engine
//! needs, e.g. for its shutdown while the main thread waits in `RunEvent::Exit`. Once the app is
//! exiting, the tray and notifications are left alone.

use std::time::Duration;

use serde::Serialize;
use streampai::Event;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event as _;
use tokio::sync::broadcast::error::RecvError;

use crate::notify::Watch;
use crate::shell::Shell;

/// An engine event, as the UI receives it (`events.engineEvent` in the bindings).
#[derive(Clone, Debug, Serialize, specta::Type, tauri_specta::Event)]
pub struct EngineEvent(pub Event);

pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    let Some(shell) = app.try_state::<Shell>() else { return };
    let mut rx = shell.engine.subscribe();
    tauri::async_runtime::spawn(async move {
        let mut watch = Watch::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        crate::tray::refresh(&app).await;
        loop {
            tokio::select! {
                received = rx.recv() => match received {
                    Ok(event) => {
                        if matches!(event, Event::ConfigChanged { .. }) {
                            persist_config(&app);
                        }
                        if let Some(n) = watch.observe(&event, &|name| platform_label(&app, name)) {
                            crate::notify::show(&app, &n.title, &n.body);
                        }
                        if let Err(e) = EngineEvent(event).emit(&app) {
                            tracing::debug!(cause = %e, "cannot forward an event to the UI");
                        }
                        crate::tray::refresh(&app).await;
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "event bridge lagged");
                        crate::tray::refresh(&app).await;
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = tick.tick() => if watch.on_air() {
                    crate::tray::refresh(&app).await;
                },
            }
        }
    });
}

/// A platform as the streamer knows it ("Twitch", "main (YouTube)"), from the config in force.
fn platform_label<R: Runtime>(app: &AppHandle<R>, name: &str) -> String {
    let kind = app
        .try_state::<Shell>()
        .and_then(|shell| shell.engine.config().platforms.iter().find(|p| p.name == name).map(|p| p.kind));
    crate::words::platform_label(name, kind)
}

/// Stores the engine's config in force (off the bridge's loop: it waits for any settings change
/// in progress, which saves the same config anyway).
fn persist_config<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(shell) = app.try_state::<Shell>() else { return };
        let _guard = shell.settings_lock.lock().await;
        match shell.persist_engine_config() {
            Ok(true) => tracing::info!("settings changed by the engine (e.g. from another device) saved"),
            Ok(false) => {}
            Err(e) => tracing::warn!(cause = %e, "cannot save the settings the engine changed"),
        }
    });
}
