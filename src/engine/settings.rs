//! Changing the settings in force: reconfigure, secrets reload, platform toggles.

use std::sync::Arc;

use super::Engine;
use crate::config::Config;
use crate::error::EngineError;
use crate::events::Event;
use crate::stream_state::StreamPhase;
use crate::user_stream_manager::UserStream;

impl Engine {
    /// Enable or disable a platform, also while live (see [`UserStream::set_platform_enabled`]).
    /// Sends [`Event::ConfigChanged`] when the config in force changed.
    pub async fn set_platform_enabled(&self, name: &str, enabled: bool) -> Result<(), EngineError> {
        let before = self.config();
        let res = self.user().set_platform_enabled(name, enabled).await;
        self.config_changed_since(&before);
        res
    }

    /// Tell the front-ends (to persist it) if the config in force is no longer `before`.
    fn config_changed_since(&self, before: &Config) {
        if *self.config() != *before {
            self.inner.bus.user(self.user_id()).emit(Event::ConfigChanged { user_id: self.user_id().into() });
        }
    }

    /// Apply a new config. While the stream is on air only platforms' `enabled` flags, `[sync]`,
    /// `[obs]`, and `[twitch]`/`[youtube]` as long as the same platforms stay set up, may change
    /// (applied live: `[obs]` reconnects the OBS link, the accounts re-check their state);
    /// anything else — a platform account newly set up or removed included, since its event
    /// reader is a child of the tree — needs the stream stopped. Otherwise the
    /// user's tree is rebuilt from the new config (queued alerts and known outputs are kept) and
    /// started again if someone is present. A changed `[sync]` restarts (or stops) the sync
    /// client without touching the tree. Sends [`Event::ConfigChanged`] when anything changed.
    pub async fn reconfigure(&self, new: Config) -> Result<(), EngineError> {
        let before = self.config();
        let res = self.reconfigure_inner(new).await;
        self.accounts_config_changed_since(&before).await;
        self.config_changed_since(&before);
        res
    }

    async fn reconfigure_inner(&self, new: Config) -> Result<(), EngineError> {
        new.validate().map_err(|e| EngineError::InvalidConfig { key: e.key, message: e.message })?;
        if new.user_id != self.user_id() {
            return Err(EngineError::InvalidConfig {
                key: "user_id".into(),
                message: "cannot change while running; restart the app".into(),
            });
        }
        let current = self.user();
        let old = current.config();
        let on_air = self.is_running()
            && matches!(
                current.snapshot().await.map(|d| d.state),
                Ok(StreamPhase::Starting | StreamPhase::Live)
            );
        let sync_changed = new.sync != old.sync;
        let obs_changed = new.obs != old.obs;
        let accounts_changed = new.twitch != old.twitch || new.youtube != old.youtube;
        let mut same_but_enabled = new.clone();
        same_but_enabled.sync = old.sync.clone();
        same_but_enabled.obs = old.obs.clone();
        // The tree has a TwitchEvents / YouTubeEvents child only when that platform is set up
        // (`platform_events::*::spec`); the rest of `[twitch]`/`[youtube]` is read at each use.
        // So a platform becoming set up or not rebuilds the tree; any other change is in place.
        if new.twitch.client_id().is_some() == old.twitch.client_id().is_some()
            && new.youtube.configured() == old.youtube.configured()
        {
            same_but_enabled.twitch = old.twitch.clone();
            same_but_enabled.youtube = old.youtube.clone();
        }
        for p in same_but_enabled.platforms.iter_mut() {
            if let Some(o) = old.platforms.iter().find(|o| o.name == p.name) {
                p.enabled = o.enabled;
            }
        }
        if same_but_enabled == *old {
            // Toggles take the same path as `set_platform_enabled` (one way to toggle).
            for p in &new.platforms {
                current.set_platform_enabled(&p.name, p.enabled).await?;
            }
            if sync_changed || obs_changed || accounts_changed {
                // The tree reads `[sync]` not at all, and `[obs]` and (for the same platforms
                // set up) `[twitch]`/`[youtube]` at each use: change them in place, live or not.
                let mut cfg = (*current.config()).clone();
                cfg.sync = new.sync.clone();
                cfg.obs = new.obs.clone();
                cfg.twitch = new.twitch.clone();
                cfg.youtube = new.youtube.clone();
                current.replace_config_outside_tree(Arc::new(cfg));
            }
            if sync_changed {
                self.inner.sync.refresh(false).await;
                tracing::info!(user_id = %crate::telemetry::esc(self.user_id()), "sync settings applied");
            }
            if obs_changed && self.is_running() {
                if let Err(e) = current.obs.refresh().await {
                    tracing::warn!(cause = %e, "the OBS connection did not take the new settings");
                }
                tracing::info!(user_id = %crate::telemetry::esc(self.user_id()), "OBS settings applied");
            }
            return Ok(());
        }
        let stopping = self.is_running()
            && matches!(current.snapshot().await.map(|d| d.state), Ok(StreamPhase::Stopping));
        if on_air || stopping {
            return Err(EngineError::InvalidTransition {
                message: "stop the stream before changing these settings (platform on/off works while live)"
                    .into(),
            });
        }
        self.rebuild_tree(current.reconfigured(Arc::new(new))).await?;
        if sync_changed {
            self.inner.sync.refresh(false).await;
        }
        tracing::info!(user_id = %crate::telemetry::esc(self.user_id()), "settings applied");
        Ok(())
    }

    /// Pick up changed secrets: a new sync token restarts the sync client (at any time); the
    /// user's tree is rebuilt with the same config (e.g. for a new Cloudflare API token), which
    /// is refused while the stream is not offline.
    pub async fn reload_secrets(&self) -> Result<(), EngineError> {
        self.inner.sync.refresh(true).await;
        let current = self.user();
        if self.is_running() && !matches!(current.snapshot().await.map(|d| d.state), Ok(StreamPhase::Offline))
        {
            return Err(EngineError::InvalidTransition {
                message: "stop the stream before changing the Cloudflare credentials".into(),
            });
        }
        self.rebuild_tree(current.reconfigured(current.config())).await
    }

    /// Put `next` in place of the user's stream: stop the old tree, and start the new one if
    /// someone is present (queued alerts and known outputs carry over in the stashes).
    async fn rebuild_tree(&self, next: UserStream) -> Result<(), EngineError> {
        if let Ok(mut u) = self.inner.user.write() {
            *u = Arc::new(next);
        }
        if self.is_running() {
            match self.inner.trees.terminate_child(self.user_id()).await {
                Ok(()) | Err(crate::supervisor::SupervisorError::NotFound { .. }) => {}
                Err(e) => return Err(EngineError::Unavailable { message: e.to_string() }),
            }
        }
        if self.inner.presence.is_present(self.user_id()) {
            self.inner
                .manager
                .ensure_tree(self.user_id())
                .await
                .map_err(|e| EngineError::Unavailable { message: e.to_string() })?;
        }
        Ok(())
    }
}
