//! Platform accounts at the front door: sign in, sign out, status. Same rules for the control
//! API, the CLI, the desktop and the phone.

use std::sync::Arc;

use super::Engine;
use crate::accounts::twitch_account::{self, AccountParts, TwitchAccountHandle};
use crate::accounts::{AccountPlatform, AccountsStatus, SignInPrompt};
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

impl Engine {
    /// Every platform account: sign-in state, login, last problem, event feed.
    pub fn accounts_status(&self) -> AccountsStatus {
        self.inner.twitch.status.get()
    }

    /// Start signing in: returns the code to enter and where; the engine then polls the
    /// platform until the code is entered, declined or expired (`accounts_status` follows).
    /// `not_configured` without `[twitch] client_id`; `unavailable` when Twitch cannot be
    /// reached.
    pub async fn sign_in(&self, platform: AccountPlatform) -> Result<SignInPrompt, EngineError> {
        match platform {
            AccountPlatform::Twitch => self.inner.twitch.sign_in().await,
        }
    }

    /// Sign out: the token is revoked at the platform (best effort) and the sign-in deleted
    /// from the secret store.
    pub async fn sign_out(&self, platform: AccountPlatform) -> Result<(), EngineError> {
        match platform {
            AccountPlatform::Twitch => self.inner.twitch.sign_out().await,
        }
    }
}
