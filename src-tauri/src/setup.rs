//! Wiring at launch: settings from the store (seeded by `STREAMPAI_CONFIG`), the engine on
//! Tauri's tokio runtime, the control API, the tray, shortcuts, the event bridge, the dashboard.

use streampai::secrets::SharedSecrets;
use streampai::{Config, Engine, EngineOptions};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_store::StoreExt;

use crate::boot::Boot;
use crate::settings::{self, Persist};
use crate::shell::{QuitPolicy, Shell};
use crate::windows::{self, View};

/// Started by the autostart entry: stay in the tray.
pub const MINIMIZED_ARG: &str = "--minimized";

pub fn setup<R: Runtime>(app: &AppHandle<R>, boot: Boot) -> Result<(), Box<dyn std::error::Error>> {
    let store = app.store(boot.store_path())?;
    let mut stored = Persist::load(&store);
    let env = |k: &str| std::env::var(k).ok();
    let config = settings::effective_config(stored.config.as_ref(), boot.seed.as_ref(), &env);
    if boot.seed.is_some() {
        // The config file seeds the stored settings (and wins again at the next launch).
        stored.config = Some(config.clone());
        if let Err(e) = Persist::save(&store, &stored) {
            tracing::warn!(cause = %e, "cannot save the seeded settings");
        }
    }
    // The OS keyring if it answers, else `<data dir>/secrets.json` (said once in the log); shared
    // with the headless engine and the CLI.
    let secrets: SharedSecrets = streampai::secrets::open(&boot.data_dir);
    let shell = start_shell(config, secrets, boot, Box::new(store), QuitPolicy::interactive());
    install(app, shell, true);
    crate::hotkeys::apply(app, &stored.preferences);
    if !std::env::args().any(|a| a == MINIMIZED_ARG) {
        windows::build(app, windows::MAIN, View::Dashboard)?;
    }
    Ok(())
}

/// Starts the engine (on Tauri's runtime) and wraps it in the shell state.
pub fn start_shell(
    config: Config,
    secrets: SharedSecrets,
    boot: Boot,
    persist: Box<dyn Persist>,
    quit: QuitPolicy,
) -> Shell {
    tracing::info!(user_id = %config.user_id, data_dir = %boot.data_dir.display(), "starting the engine");
    let engine = tauri::async_runtime::block_on(async move {
        Engine::start(EngineOptions { config, secrets, state_file: None, db: None })
    });
    Shell::new(engine, boot, persist, quit)
}

/// Manages the shell and starts what hangs off it: control API, the tray (native menus need
/// GTK, so the mock runtime's tests go without), event bridge.
pub fn install<R: Runtime>(app: &AppHandle<R>, shell: Shell, with_tray: bool) {
    app.manage(shell);
    crate::control::start(app);
    if with_tray {
        if let Err(e) = crate::tray::create(app) {
            tracing::warn!(cause = %e, "no system tray");
        }
    }
    crate::bridge::spawn(app.clone());
}
