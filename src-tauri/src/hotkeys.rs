//! Preferences that reach the OS: global start/stop shortcuts (tauri-plugin-global-shortcut) and
//! start on login (tauri-plugin-autostart). Both are optional: without the plugins (tests) or
//! without an X server grab, the app works as before and logs why.

use std::str::FromStr;

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_global_shortcut::{
    GlobalShortcut, GlobalShortcutExt, Shortcut, ShortcutEvent, ShortcutState,
};

use crate::error::{UiError, UiResult};
use crate::settings::Preferences;
use crate::shell::Shell;

fn parse(field: &str, value: &Option<String>) -> UiResult<Option<Shortcut>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Shortcut::from_str(v).map(Some).map_err(|e| {
            UiError::invalid(field, format!("`{v}` is not a shortcut like CommandOrControl+Shift+F9 ({e})"))
        }),
    }
}

/// Both shortcuts parse and differ.
pub fn validate(p: &Preferences) -> UiResult<()> {
    let start = parse("hotkey_start", &p.hotkey_start)?;
    let stop = parse("hotkey_stop", &p.hotkey_stop)?;
    if start.is_some() && start == stop {
        return Err(UiError::invalid("hotkey_stop", "start and stop need different shortcuts"));
    }
    Ok(())
}

/// What a pressed shortcut means under these preferences.
pub fn action_for(p: &Preferences, pressed: &Shortcut) -> Option<&'static str> {
    if parse("", &p.hotkey_start).ok().flatten().as_ref() == Some(pressed) {
        return Some(crate::tray::actions::START);
    }
    if parse("", &p.hotkey_stop).ok().flatten().as_ref() == Some(pressed) {
        return Some(crate::tray::actions::STOP);
    }
    None
}

/// The plugin's handler: a pressed shortcut runs the same action as the tray item.
pub fn on_shortcut<R: Runtime>(app: &AppHandle<R>, shortcut: &Shortcut, event: ShortcutEvent) {
    if event.state() != ShortcutState::Pressed {
        return;
    }
    let Some(shell) = app.try_state::<Shell>() else { return };
    if let Some(action) = action_for(&shell.preferences(), shortcut) {
        tracing::info!(action, "global shortcut");
        crate::tray::actions::handle(app, action);
    }
}

/// Registers the shortcuts and sets start on login as the preferences say.
pub fn apply<R: Runtime>(app: &AppHandle<R>, p: &Preferences) {
    if app.try_state::<GlobalShortcut<R>>().is_some() {
        let gs = app.global_shortcut();
        if let Err(e) = gs.unregister_all() {
            tracing::warn!(cause = %e, "cannot clear global shortcuts");
        }
        for (field, value) in [("hotkey_start", &p.hotkey_start), ("hotkey_stop", &p.hotkey_stop)] {
            if let Ok(Some(shortcut)) = parse(field, value) {
                if let Err(e) = gs.register(shortcut) {
                    tracing::warn!(cause = %e, field, "cannot register the global shortcut");
                }
            }
        }
    }
    if app.try_state::<tauri_plugin_autostart::AutoLaunchManager>().is_some() {
        use tauri_plugin_autostart::ManagerExt;
        let manager = app.autolaunch();
        let res = if p.start_on_login { manager.enable() } else { manager.disable() };
        if let Err(e) = res {
            tracing::warn!(cause = %e, "cannot change start on login");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(start: Option<&str>, stop: Option<&str>) -> Preferences {
        Preferences {
            hotkey_start: start.map(Into::into),
            hotkey_stop: stop.map(Into::into),
            start_on_login: false,
        }
    }

    #[test]
    fn shortcuts_are_validated() {
        assert!(validate(&prefs(None, Some(""))).is_ok());
        assert!(
            validate(&prefs(Some("CommandOrControl+Shift+F9"), Some("CommandOrControl+Shift+F10"))).is_ok()
        );
        let err = validate(&prefs(Some("Ctrl+Banana"), None)).unwrap_err();
        assert!(matches!(err, UiError::Invalid { ref field, .. } if field == "hotkey_start"), "{err:?}");
        let same = validate(&prefs(Some("Alt+F9"), Some("alt+f9"))).unwrap_err();
        assert!(matches!(same, UiError::Invalid { ref field, .. } if field == "hotkey_stop"), "{same:?}");
    }

    #[test]
    fn a_pressed_shortcut_maps_to_its_action() {
        let p = prefs(Some("Alt+F9"), Some("Alt+F10"));
        let f9 = Shortcut::from_str("Alt+F9").unwrap();
        let f10 = Shortcut::from_str("Alt+F10").unwrap();
        let f11 = Shortcut::from_str("Alt+F11").unwrap();
        assert_eq!(action_for(&p, &f9), Some(crate::tray::actions::START));
        assert_eq!(action_for(&p, &f10), Some(crate::tray::actions::STOP));
        assert_eq!(action_for(&p, &f11), None);
    }
}
