//! What a front end asks of the tree, through the engine: start, stop, platform toggles.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::UserStream;
use crate::config::IngestBackend;
use crate::error::EngineError;
use crate::platforms::PlatformTarget;
use crate::secrets::SecretName;
use crate::stream_state::{EndReason, StreamData, StreamPhase};

impl UserStream {
    /// Check every enabled platform and its key. Nothing is started on error.
    pub fn resolve_targets(&self) -> Result<Vec<PlatformTarget>, EngineError> {
        let mut targets = Vec::new();
        let mut problems = Vec::new();
        for p in self.config().platforms.iter().filter(|p| p.enabled) {
            let key = self.secrets.get(&SecretName::StreamKey(p.name.clone())).ok().flatten();
            match PlatformTarget::resolve(p, key) {
                Ok(t) => targets.push(t),
                Err(m) => problems.push(m),
            }
        }
        if !problems.is_empty() {
            return Err(EngineError::InvalidPlatform { message: problems.join("; ") });
        }
        Ok(targets)
    }

    /// Everything a start needs, checked before anything starts: the ingest backend is
    /// configured, and every enabled platform has a valid URL and a key.
    pub fn validate_start(&self) -> Result<Vec<PlatformTarget>, EngineError> {
        match self.config().ingest_backend() {
            IngestBackend::Local => {}
            IngestBackend::Cloudflare if self.ingest.client().is_none() => {
                return Err(EngineError::NotConfigured {
                    message: "Cloudflare is not configured: set cloudflare.account_id and the API token \
                          (STREAMPAI_CLOUDFLARE_API_TOKEN or the keyring)"
                        .into(),
                })
            }
            IngestBackend::Cloudflare => {}
        }
        self.resolve_targets()
    }

    /// Move to `starting` with a new UUID and launch every target at once (the tree must be
    /// running). The stream goes `live` asynchronously.
    pub async fn start_stream(&self, targets: Vec<PlatformTarget>) -> Result<Uuid, EngineError> {
        let names = targets.iter().map(|t| t.name.clone()).collect();
        let uuid = self.state.begin_start(names).await?;
        if let Err(e) = self.platforms.start_stream(uuid, targets).await {
            // Roll back: the stream never got going.
            let _ = self.state.begin_stop().await;
            let _ = self.state.finish_stop().await;
            return Err(EngineError::Unavailable { message: format!("cannot start the platforms: {e}") });
        }
        Ok(uuid)
    }

    /// Stop: every worker deletes its output, then the stream is offline. Runs to completion
    /// even if the caller goes away.
    pub async fn stop_stream(&self) -> Result<Uuid, EngineError> {
        self.stop_stream_for(EndReason::Stopped).await
    }

    /// Like [`stop_stream`](Self::stop_stream), recording why the stream ended.
    pub async fn stop_stream_for(&self, reason: EndReason) -> Result<Uuid, EngineError> {
        let me = self.clone();
        let job = tokio::spawn(async move {
            let uuid = me.state.begin_stop_for(reason).await?;
            let timeout = Duration::from_millis(me.config().stream.stop_timeout_ms);
            if let Err(e) = me.platforms.stop_stream(timeout).await {
                tracing::warn!(cause = %e, "stopping platforms failed");
            }
            me.state.finish_stop().await?;
            Ok::<_, EngineError>(uuid)
        });
        job.await.map_err(|e| EngineError::Unavailable { message: format!("stop failed: {e}") })?
    }

    pub async fn snapshot(&self) -> Result<StreamData, EngineError> {
        Ok(self.state.snapshot().await?)
    }

    /// Enable or disable one platform, also while live: a platform enabled mid-stream starts at
    /// once, one disabled mid-stream has its output deleted. The others are untouched.
    pub async fn set_platform_enabled(&self, name: &str, enabled: bool) -> Result<(), EngineError> {
        let mut cfg = (*self.config()).clone();
        let Some(p) = cfg.platforms.iter_mut().find(|p| p.name == name) else {
            return Err(EngineError::InvalidPlatform { message: format!("no platform named `{name}`") });
        };
        if p.enabled == enabled {
            return Ok(());
        }
        p.enabled = enabled;
        let on_air = self.running() && {
            let d = self.state.snapshot().await?;
            matches!(d.state, StreamPhase::Starting | StreamPhase::Live)
        };
        if on_air {
            if enabled {
                let key = self.secrets.get(&SecretName::StreamKey(name.to_string())).ok().flatten();
                let target = PlatformTarget::resolve(p, key)
                    .map_err(|message| EngineError::InvalidPlatform { message })?;
                self.state.add_streaming(name).await?;
                self.platforms
                    .add_platform(target)
                    .await
                    .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
            } else {
                self.platforms
                    .remove_platform(name)
                    .await
                    .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
                self.state.remove_streaming(name).await?;
            }
        }
        let list = cfg.platforms.iter().map(|p| (p.name.clone(), p.enabled)).collect();
        if let Ok(mut c) = self.config.write() {
            *c = Arc::new(cfg);
        }
        if self.running() {
            self.state.set_platforms(list).await?;
        }
        Ok(())
    }
}
