//! The engine's local control API served inside the app, so `streampai status|start|stop` work
//! against the desktop app. Token: env `STREAMPAI_CONTROL_TOKEN`, the keyring or the secrets
//! file (whichever this run uses); generated and stored there if absent (never logged).

use streampai::secrets::{Secret, SecretName, SharedSecrets};
use tauri::{AppHandle, Manager, Runtime};

use crate::shell::{ControlInfo, Shell};

/// The control token, generating and storing one if none exists.
pub fn token(secrets: &SharedSecrets) -> Secret {
    if let Ok(Some(t)) = secrets.get(&SecretName::ControlToken) {
        if !t.is_blank() {
            return t;
        }
    }
    let token = Secret::generate();
    match secrets.set(&SecretName::ControlToken, &token) {
        Ok(()) => {
            tracing::info!(backend = ?secrets.backend().kind, "generated a control token and stored it")
        }
        Err(e) => tracing::warn!(
            cause = %e,
            "generated a control token for this run only (it cannot be stored); set STREAMPAI_CONTROL_TOKEN to use the CLI"
        ),
    }
    token
}

/// Binds `control.listen` and serves until the process ends. A busy port is reported in the UI
/// (App info) and the log; the app works without the control API.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let Some(shell) = app.try_state::<Shell>() else { return };
    let engine = shell.engine.clone();
    let listen = engine.config().control.listen.clone();
    let token = token(engine.secrets());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let set = |info: ControlInfo| {
            if let Some(shell) = app.try_state::<Shell>() {
                if let Ok(mut c) = shell.control.lock() {
                    *c = info;
                }
            }
        };
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(%listen, cause = %e, "control API not started");
                set(ControlInfo { url: None, error: Some(format!("cannot listen on {listen}: {e}")) });
                return;
            }
        };
        let url = listener.local_addr().map(|a| format!("http://{a}")).unwrap_or_else(|_| listen.clone());
        tracing::info!(%url, "control API listening");
        set(ControlInfo { url: Some(url), error: None });
        if let Err(e) = streampai::control::serve(listener, engine, token, std::future::pending()).await {
            tracing::error!(cause = %e, "control API stopped");
        }
    });
}
