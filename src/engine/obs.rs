//! The front door to OBS: the link's status, "Set up OBS for me" / "Restore", the password, a
//! probe for the first run. Same rules for every front end (desktop, tray, control API, CLI).

use serde::Serialize;

use super::Engine;
use crate::error::EngineError;
use crate::failure::Failure;
use crate::obs::client::{self, ConnectOptions, ObsClient, ObsError};
use crate::obs::setup::{self, IngestTarget};
use crate::obs::{ObsRestoreReport, ObsSetupReport, ObsState, ObsStatus};
use crate::secrets::{Secret, SecretName};
use crate::telemetry::esc;

/// What [`Engine::probe_obs`] found at an address (nothing is kept).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObsProbe {
    /// `connected`, `unreachable`, `auth_failed` or `incompatible`.
    pub state: ObsState,
    pub obs_version: Option<String>,
    pub websocket_version: Option<String>,
    /// OBS asks for a password (`null` when nothing answered).
    pub auth_required: Option<bool>,
    /// Why not connected, in words (never the password).
    pub problem: Option<Failure>,
}

impl Engine {
    /// The link to OBS, OBS's stream and its health, and OBS's settings kept for "Restore".
    /// `state: off` while the task tree is stopped (nobody present) or `[obs] enabled = false`.
    pub fn obs_status(&self) -> ObsStatus {
        let user = self.user();
        let mut s = if self.is_running() { user.obs_status().get() } else { ObsStatus::default() };
        s.previous = user.obs_previous().previous();
        s
    }

    /// "Set up OBS for me": reads OBS's stream settings and keeps them (for
    /// [`Engine::obs_restore`], also after a restart), then writes the app's ingest (the local
    /// relay or the Cloudflare live input: server + key) as `rtmp_custom` and reads it back.
    /// Errors: `obs_streaming` while OBS streams, `obs_unavailable` when not connected,
    /// `not_running` when the task tree is stopped and nobody is present, `obs` when OBS refused.
    pub async fn obs_setup(&self) -> Result<ObsSetupReport, EngineError> {
        let user = self.running_user("the OBS connection").await?;
        let client = obs_client(&user)?;
        let ingest = self.ingest().await?;
        let key = self.reveal_ingest_key().await?;
        let target = IngestTarget { server: ingest.server, key };
        let report = setup::setup(&client, &user.obs_previous(), &target).await?;
        user.obs_status().update(|s| {
            s.uses_app_ingest = Some(true);
            s.previous = report.previous.clone();
        });
        tracing::info!(server = %esc(&report.server), unchanged = report.unchanged, "OBS set up to stream to the app");
        Ok(report)
    }

    /// Put back OBS's stream settings from before [`Engine::obs_setup`] (key included, from the
    /// secret store), then forget them. `invalid_transition` when none are kept; the other
    /// errors as for setup.
    pub async fn obs_restore(&self) -> Result<ObsRestoreReport, EngineError> {
        let user = self.running_user("the OBS connection").await?;
        let client = obs_client(&user)?;
        let report = setup::restore(&client, &user.obs_previous()).await?;
        let target = user.obs_ingest_target().await;
        let still_ours = match (&target, client.stream_service().await) {
            (Some(t), Ok(svc)) => Some(setup::uses(&svc, t)),
            _ => None,
        };
        user.obs_status().update(|s| {
            s.previous = None;
            s.uses_app_ingest = still_ours;
        });
        tracing::info!(service_type = %esc(&report.restored.service_type), "OBS's previous stream settings restored");
        Ok(report)
    }

    /// Keep OBS's WebSocket password in the secret store (`None`: forget it, for an OBS that
    /// asks for none) and connect again with it. An empty password is refused, naming the field
    /// `obs.password`. Env `STREAMPAI_OBS_PASSWORD`, when set, still wins.
    pub async fn set_obs_password(&self, password: Option<Secret>) -> Result<(), EngineError> {
        match password {
            Some(p) => {
                if let Some(problem) = crate::config::fields::obs_password_problem(p.expose()) {
                    return Err(EngineError::InvalidConfig { key: "obs.password".into(), message: problem });
                }
                self.secrets().set(&SecretName::ObsPassword, &p)?;
            }
            None => self.secrets().delete(&SecretName::ObsPassword)?,
        }
        if self.is_running() {
            let _ = self.user().obs.refresh().await;
        }
        Ok(())
    }

    /// Connect to OBS again now (e.g. "Try again" after `auth_failed` once OBS's password was
    /// changed in OBS). `not_running` when the task tree is stopped.
    pub async fn obs_reconnect(&self) -> Result<(), EngineError> {
        if !self.is_running() {
            return Err(EngineError::not_running("the OBS connection"));
        }
        Ok(self.user().obs.refresh().await?)
    }

    /// Try an address once, without changing anything (the first run's "find OBS"): `url`
    /// defaults to `[obs] url`, `password` to the stored one. An invalid `url` is refused naming
    /// `obs.url`.
    pub async fn probe_obs(
        &self,
        url: Option<&str>,
        password: Option<Secret>,
    ) -> Result<ObsProbe, EngineError> {
        let url = url.map(str::trim).map(str::to_string).unwrap_or_else(|| self.config().obs.url.clone());
        if let Some(problem) = crate::config::fields::obs_url_problem(&url) {
            return Err(EngineError::InvalidConfig { key: "obs.url".into(), message: problem });
        }
        let password = password.filter(|p| !p.is_blank()).or_else(|| self.user().obs_password());
        let probe = match client::connect(&ConnectOptions::new(&url, password)).await {
            Ok(session) => {
                let v = session.client.version().clone();
                let probe = ObsProbe {
                    state: ObsState::Connected,
                    obs_version: Some(v.obs_version),
                    websocket_version: Some(v.obs_web_socket_version),
                    auth_required: Some(session.greeting.auth_required),
                    problem: None,
                };
                session.close();
                probe
            }
            Err(e) => {
                let (state, auth_required) = match &e {
                    ObsError::AuthFailed(_) => (ObsState::AuthFailed, Some(true)),
                    ObsError::Incompatible(_) | ObsError::Protocol(_) => (ObsState::Incompatible, None),
                    _ => (ObsState::Unreachable, None),
                };
                ObsProbe {
                    state,
                    obs_version: None,
                    websocket_version: None,
                    auth_required,
                    problem: Some(crate::obs::connection::failure(&e)),
                }
            }
        };
        Ok(probe)
    }
}

/// The live OBS client, or why there is none.
fn obs_client(user: &crate::user_stream_manager::UserStream) -> Result<ObsClient, EngineError> {
    if let Some(c) = user.obs_slot().get() {
        return Ok(c);
    }
    let cfg = user.config().obs.clone();
    let s = user.obs_status().get();
    let message = if !cfg.enabled {
        "the link to OBS is off (Settings › OBS, or [obs] enabled = false)".to_string()
    } else {
        match (s.state, s.problem) {
            (ObsState::Connected | ObsState::Connecting | ObsState::Off, _) | (_, None) => {
                format!("not connected to OBS yet (connecting to {})", esc(cfg.url.trim()))
            }
            (_, Some(p)) => format!("not connected to OBS: {}", p.detail),
        }
    };
    Err(EngineError::ObsUnavailable { message })
}
