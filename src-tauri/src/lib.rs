//! Streampai desktop shell: wires the engine to windows (presence), the tray, the typed UI
//! boundary and the settings store. No stream logic lives here.

pub mod bindings;
pub mod boot;
pub mod bridge;
pub mod browser;
pub mod commands;
pub mod control;
pub mod error;
pub mod hotkeys;
pub mod lifecycle;
pub mod notify;
pub mod platform_edit;
pub mod settings;
pub mod setup;
pub mod shell;
pub mod tray;
pub mod windows;
pub mod words;

/// WebKitGTK's GPU compositing costs about 85 MiB in the web process (the GL stack; Mesa's
/// llvmpipe where there is no GPU) and buys nothing for a dashboard; it is also the usual cause
/// of blank WebKitGTK windows on some drivers. Off unless the user sets the variable (`0` turns
/// compositing back on).
fn webkit_defaults() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // Still single-threaded here: nothing has been spawned yet.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Runs the app (exit code 2 on a bad `STREAMPAI_CONFIG`, like the headless binary).
pub fn run() {
    webkit_defaults();
    let env = |k: &str| std::env::var(k).ok();
    let boot = match boot::prepare(&env) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("streampai-desktop: {e}");
            std::process::exit(2);
        }
    };
    boot::init_logging(&boot.log_dir());
    let specta = bindings::builder();
    let handler = specta.invoke_handler();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| windows::show_dashboard(app)))
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_global_shortcut::Builder::new().with_handler(hotkeys::on_shortcut).build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![setup::MINIMIZED_ARG]),
        ))
        .invoke_handler(handler)
        .on_window_event(windows::on_window_event)
        .setup(move |app| {
            specta.mount_events(app);
            setup::setup(app.handle(), boot)
        })
        .build(tauri::generate_context!("../tauri.conf.json"));
    match app {
        Ok(app) => app.run(lifecycle::on_run_event),
        Err(e) => {
            tracing::error!(cause = %e, "cannot start the app");
            eprintln!("streampai-desktop: {e}");
            std::process::exit(1);
        }
    }
}
