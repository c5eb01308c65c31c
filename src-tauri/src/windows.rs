//! Windows are presence sessions: tracked (`window:<label>`, kind `window`) when the shell
//! creates one, untracked when it is destroyed. Closing the last window leaves the app in the
//! tray; the engine's grace timer then decides about the tree.

use serde::{Deserialize, Serialize};
use streampai::SessionKind;
use tauri::{
    AppHandle, Manager, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder, Window, WindowEvent,
};

use crate::shell::Shell;

/// The dashboard window's label.
pub const MAIN: &str = "main";

/// A page of the UI; a window opens on one.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, specta::Type, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum View {
    Dashboard,
    Stream,
    Platforms,
    Alerts,
    Analytics,
    Settings,
    Debug,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::Dashboard => "dashboard",
            View::Stream => "stream",
            View::Platforms => "platforms",
            View::Alerts => "alerts",
            View::Analytics => "analytics",
            View::Settings => "settings",
            View::Debug => "debug",
        }
    }
    fn title(self) -> String {
        let page = match self {
            View::Dashboard => "Dashboard",
            View::Stream => "Stream setup",
            View::Platforms => "Platforms",
            View::Alerts => "Alerts",
            View::Analytics => "Analytics",
            View::Settings => "Settings",
            View::Debug => "Debug",
        };
        format!("Streampai · {page}")
    }
}

/// The presence session id of a window.
pub fn session_id(label: &str) -> String {
    format!("window:{label}")
}

/// Creates a window on `view` and tracks it as a presence session.
pub fn build<R: Runtime>(app: &AppHandle<R>, label: &str, view: View) -> tauri::Result<WebviewWindow<R>> {
    let window = WebviewWindowBuilder::new(app, label, WebviewUrl::App("index.html".into()))
        .title(view.title())
        .inner_size(1100.0, 760.0)
        .min_inner_size(720.0, 520.0)
        .initialization_script(format!("window.__STREAMPAI_VIEW__ = {:?};", view.as_str()))
        .build()?;
    if let Some(shell) = app.try_state::<Shell>() {
        shell.engine.join(&session_id(label), SessionKind::Window, None);
    }
    tracing::info!(window = label, view = view.as_str(), "window opened");
    Ok(window)
}

/// "Open in new window": a fresh label each time.
pub fn open_new<R: Runtime>(app: &AppHandle<R>, view: View) -> tauri::Result<String> {
    let n = app
        .try_state::<Shell>()
        .map(|s| s.next_window.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        .unwrap_or_else(rand::random::<u32>);
    let label = format!("view-{n}");
    build(app, &label, view)?;
    Ok(label)
}

/// Shows and focuses the dashboard window, creating it if it was closed.
pub fn show_dashboard<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    if let Err(e) = build(app, MAIN, View::Dashboard) {
        tracing::error!(cause = %e, "cannot open the dashboard window");
    }
}

/// Untracks a window's session when it is destroyed.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::Destroyed = event {
        forget(window.app_handle(), window.label());
    }
}

pub fn forget<R: Runtime>(app: &AppHandle<R>, label: &str) {
    if let Some(shell) = app.try_state::<Shell>() {
        shell.engine.leave(&session_id(label));
        tracing::info!(window = label, "window closed");
    }
}
