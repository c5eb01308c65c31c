//! The system tray: an icon for the state, a status line, the OBS line and "Set up OBS for me",
//! Start/Stop (enabled only when they make sense), one checkbox per platform, Open dashboard,
//! Quit. Without a tray host the app runs on.

pub mod actions;
pub mod model;

use std::sync::Mutex;

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

use crate::shell::Shell;
use model::{TrayIconState, TrayModel};

const TRAY_ID: &str = "streampai";

/// The tray and the items that change.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    items: Mutex<Items<R>>,
}

struct Items<R: Runtime> {
    shown: Option<TrayModel>,
    status: MenuItem<R>,
    obs: MenuItem<R>,
    obs_setup: MenuItem<R>,
    start: MenuItem<R>,
    stop: MenuItem<R>,
    alerts_toggle: MenuItem<R>,
    platforms: Vec<(String, CheckMenuItem<R>)>,
}

pub fn icon_bytes(state: TrayIconState) -> &'static [u8] {
    match state {
        TrayIconState::Offline => include_bytes!("../../../icons/tray-offline@2x.png"),
        TrayIconState::ObsConnected => include_bytes!("../../../icons/tray-obs@2x.png"),
        TrayIconState::Live => include_bytes!("../../../icons/tray-live@2x.png"),
        TrayIconState::Trouble => include_bytes!("../../../icons/tray-trouble@2x.png"),
    }
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, m: &TrayModel) -> tauri::Result<(Menu<R>, Items<R>)> {
    let status = MenuItem::with_id(app, "status", &m.status_line, false, None::<&str>)?;
    let obs = MenuItem::with_id(app, "obs-status", &m.obs_line, false, None::<&str>)?;
    let obs_setup =
        MenuItem::with_id(app, actions::OBS_SETUP, "Set up OBS for me", m.can_setup_obs, None::<&str>)?;
    let start = MenuItem::with_id(app, actions::START, "Start stream", m.can_start, None::<&str>)?;
    let stop = MenuItem::with_id(app, actions::STOP, "Stop stream", m.can_stop, None::<&str>)?;
    let menu = Menu::new(app)?;
    menu.append(&status)?;
    menu.append(&obs)?;
    menu.append(&obs_setup)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&start)?;
    menu.append(&stop)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let mut platforms = Vec::new();
    for (name, enabled) in &m.platforms {
        let item =
            CheckMenuItem::with_id(app, actions::platform_id(name), name, true, *enabled, None::<&str>)?;
        menu.append(&item)?;
        platforms.push((name.clone(), item));
    }
    if platforms.is_empty() {
        menu.append(&MenuItem::with_id(app, "no-platforms", "No platforms yet", false, None::<&str>)?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let alerts_toggle =
        MenuItem::with_id(app, actions::ALERTS_TOGGLE, m.alerts_toggle_text(), true, None::<&str>)?;
    menu.append(&alerts_toggle)?;
    menu.append(&MenuItem::with_id(app, actions::ALERTS_SKIP, "Skip current alert", true, None::<&str>)?)?;
    menu.append(&MenuItem::with_id(app, actions::ALERTS_TEST, "Send test alert", true, None::<&str>)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, actions::OPEN, "Open dashboard", true, None::<&str>)?)?;
    menu.append(&MenuItem::with_id(app, actions::QUIT, "Quit Streampai", true, None::<&str>)?)?;
    Ok((menu, Items { shown: None, status, obs, obs_setup, start, stop, alerts_toggle, platforms }))
}

/// Creates the tray (offline until the first refresh).
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let initial = TrayModel {
        icon: TrayIconState::Offline,
        status_line: "offline".into(),
        tooltip: "Streampai: offline".into(),
        can_start: false,
        can_stop: false,
        platforms: vec![],
        alerts_paused: false,
        obs_line: "OBS: not connected".into(),
        can_setup_obs: false,
    };
    let (menu, items) = build_menu(app, &initial)?;
    let icon = TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(icon_bytes(TrayIconState::Offline))?)
        .tooltip(&initial.tooltip)
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| {
            actions::handle(app, event.id().as_ref());
        })
        .build(app)?;
    app.manage(Tray { icon, items: Mutex::new(items) });
    Ok(())
}

/// Shows `m` on the main thread, without waiting for it. Tauri runs every menu and tray setter
/// on the main thread and makes a caller on any other thread wait for it; a tokio worker waiting
/// like that stalls the engine whenever the main thread is itself waiting for the runtime (as it
/// does while the app exits). On the main thread, the setters run at once.
pub fn show<R: Runtime>(app: &AppHandle<R>, m: TrayModel) {
    if app.try_state::<Tray<R>>().is_none() {
        return;
    }
    let handle = app.clone();
    let on_main = move || {
        if handle.try_state::<Shell>().is_some_and(|s| s.quit.is_exiting()) {
            return;
        }
        if let Err(e) = apply(&handle, &m) {
            tracing::debug!(cause = %e, "tray update failed");
        }
    };
    if let Err(e) = app.run_on_main_thread(on_main) {
        tracing::debug!(cause = %e, "cannot reach the main thread for the tray");
    }
}

/// Shows `m`: updates items in place, rebuilds the menu when the platform list changed. Blocks
/// until the main thread has done it: call it on the main thread (see [`show`]).
fn apply<R: Runtime>(app: &AppHandle<R>, m: &TrayModel) -> tauri::Result<()> {
    let Some(tray) = app.try_state::<Tray<R>>() else { return Ok(()) };
    let mut items = tray.items.lock().map_err(|_| tauri::Error::FailedToReceiveMessage)?;
    if items.shown.as_ref() == Some(m) {
        return Ok(());
    }
    let same_platforms = items.platforms.iter().map(|(n, _)| n).eq(m.platforms.iter().map(|(n, _)| n));
    if same_platforms {
        items.status.set_text(&m.status_line)?;
        items.obs.set_text(&m.obs_line)?;
        items.obs_setup.set_enabled(m.can_setup_obs)?;
        items.start.set_enabled(m.can_start)?;
        items.stop.set_enabled(m.can_stop)?;
        items.alerts_toggle.set_text(m.alerts_toggle_text())?;
        for ((_, item), (_, enabled)) in items.platforms.iter().zip(&m.platforms) {
            item.set_checked(*enabled)?;
        }
    } else {
        let (menu, fresh) = build_menu(app, m)?;
        tray.icon.set_menu(Some(menu))?;
        *items = fresh;
    }
    if items.shown.as_ref().map(|s| s.icon) != Some(m.icon) {
        tray.icon.set_icon(Some(Image::from_bytes(icon_bytes(m.icon))?))?;
    }
    if items.shown.as_ref().map(|s| s.tooltip.as_str()) != Some(m.tooltip.as_str()) {
        tray.icon.set_tooltip(Some(&m.tooltip))?;
    }
    items.shown = Some(m.clone());
    Ok(())
}

/// The model last shown (tests and diagnostics).
pub fn shown<R: Runtime>(app: &AppHandle<R>) -> Option<TrayModel> {
    app.try_state::<Tray<R>>()?.items.lock().ok()?.shown.clone()
}

/// Reads the engine's status and shows it (nothing once the app is exiting).
pub async fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(shell) = app.try_state::<Shell>() else { return };
    if shell.quit.is_exiting() || app.try_state::<Tray<R>>().is_none() {
        return;
    }
    let status = shell.engine.status().await;
    let paused = shell.engine.alerts().paused();
    show(app, model::model(&status, chrono::Utc::now()).with_alerts_paused(paused));
}
