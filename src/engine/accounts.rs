//! Platform accounts at the front door: sign in, sign out, status. Same rules for the control
//! API, the CLI, the desktop and the phone.

use std::sync::Arc;

use super::Engine;
use crate::accounts::twitch_account::{self, AccountParts, TwitchAccountHandle};
use crate::accounts::youtube_account::{self, YouTubeAccountHandle};
use crate::accounts::{AccountPlatform, AccountsStatus, SignInPrompt, SignInStart};
use crate::error::EngineError;
use crate::secrets::SharedSecrets;
use crate::supervisor::ChildSpec;
use crate::user_stream_manager::UserStream;

/// The root supervisor's `TwitchAccount` child, reading `[twitch]` from the config in force.
pub(super) fn twitch_spec(
    handle: &TwitchAccountHandle,
    parts: AccountParts,
    secrets: &SharedSecrets,
    user: &Arc<std::sync::RwLock<Arc<UserStream>>>,
) -> ChildSpec {
    let user = user.clone();
    let config: twitch_account::ConfigSource = Arc::new(move || {
        let u = user.read().map(|u| u.clone()).unwrap_or_else(|p| p.into_inner().clone());
        u.config().twitch.clone()
    });
    twitch_account::account_spec(handle.clone(), parts, secrets.clone(), config)
}

/// The root supervisor's `YouTubeAccount` child, reading `[youtube]` from the config in force.
pub(super) fn youtube_spec(
    handle: &YouTubeAccountHandle,
    parts: youtube_account::AccountParts,
    secrets: &SharedSecrets,
    user: &Arc<std::sync::RwLock<Arc<UserStream>>>,
) -> ChildSpec {
    let user = user.clone();
    let config: youtube_account::ConfigSource = Arc::new(move || {
        let u = user.read().map(|u| u.clone()).unwrap_or_else(|p| p.into_inner().clone());
        u.config().youtube.clone()
    });
    youtube_account::account_spec(handle.clone(), parts, secrets.clone(), config)
}

impl Engine {
    /// Tell the account actors whose section (`[twitch]`, `[youtube]`) is no longer `before`'s:
    /// they read the config at each use, but the status they show (e.g. `not_configured`) is
    /// shown again only when told.
    pub(super) async fn accounts_config_changed_since(&self, before: &crate::config::Config) {
        let now = self.config();
        if now.twitch != before.twitch {
            self.inner.twitch.config_changed().await;
        }
        if now.youtube != before.youtube {
            self.inner.youtube.config_changed().await;
        }
    }

    /// Every platform account: sign-in state, login, last problem, event feed.
    pub fn accounts_status(&self) -> AccountsStatus {
        self.inner.twitch.status.get()
    }

    /// Start signing in to a device-code platform (Twitch): returns the code to enter and
    /// where; the engine then polls the platform until the code is entered, declined or expired
    /// (`accounts_status` follows). `not_configured` without `[twitch] client_id`;
    /// `unavailable` when Twitch cannot be reached. YouTube signs in through the browser: see
    /// [`Engine::start_sign_in`].
    pub async fn sign_in(&self, platform: AccountPlatform) -> Result<SignInPrompt, EngineError> {
        match self.start_sign_in(platform).await? {
            SignInStart::DeviceCode(p) => Ok(p),
            SignInStart::Browser(_) => Err(EngineError::InvalidTransition {
                message: "YouTube signs in through the browser (start_sign_in gives the page to open)".into(),
            }),
        }
    }

    /// Start signing in to any platform: a code to enter (Twitch) or the consent page to open
    /// in the system browser (YouTube; the engine's loopback listener takes Google's redirect).
    /// `not_configured` without the platform's client in the config.
    pub async fn start_sign_in(&self, platform: AccountPlatform) -> Result<SignInStart, EngineError> {
        match platform {
            AccountPlatform::Twitch => self.inner.twitch.sign_in().await.map(SignInStart::DeviceCode),
            AccountPlatform::Youtube => self.inner.youtube.sign_in().await.map(SignInStart::Browser),
        }
    }

    /// Sign out: the token is revoked at the platform (best effort) and the sign-in deleted
    /// from the secret store.
    pub async fn sign_out(&self, platform: AccountPlatform) -> Result<(), EngineError> {
        match platform {
            AccountPlatform::Twitch => self.inner.twitch.sign_out().await,
            AccountPlatform::Youtube => self.inner.youtube.sign_out().await,
        }
    }

    /// Set the title (and the description, if given) of the channel's live YouTube broadcast
    /// (`liveBroadcasts.update`; the other snippet fields YouTube requires are kept). Errors in
    /// words: not signed in, no live broadcast, or YouTube's own refusal (e.g. `quotaExceeded`).
    pub async fn set_youtube_broadcast_info(
        &self,
        title: &str,
        description: Option<&str>,
    ) -> Result<crate::accounts::youtube_api::Broadcast, crate::accounts::youtube_api::BroadcastUpdateError>
    {
        self.inner.youtube.set_broadcast_info(title, description).await
    }
}
