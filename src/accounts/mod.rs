//! Platform accounts: signing in to the streaming platforms' own APIs from a desktop, as a public
//! client (nothing confidential in the binary).
//!
//! - `config.rs`: `[twitch]` (client id, the three addresses) and its field checks.
//! - `twitch_api.rs`: the thin Twitch client (Device Code Grant, refresh, validate, revoke,
//!   EventSub subscription create) with its request budget.
//! - `tokens.rs`: the sign-in as one secret-store entry (access + rotating refresh token).
//! - `twitch_account.rs`: the `TwitchAccount` actor, a child of the engine's root supervisor:
//!   sign-in (polls the token endpoint at the given interval, honours `slow_down`), validation
//!   at start and hourly, refresh on demand, sign-out (revoke + delete). It publishes the
//!   signed-in session to `TwitchEvents` (`src/platform_events/`), the user tree's child that
//!   turns EventSub notifications into alerts.
//! - `youtube_config.rs`: `[youtube]` (the "Desktop app" OAuth client, the three addresses, the
//!   daily quota).
//! - `youtube_api.rs`: the thin Google/YouTube client (authorize URL with PKCE, code exchange,
//!   refresh, revoke, channels, liveBroadcasts list/update, liveChat/messages) with its request
//!   budget and the day's quota count.
//! - `youtube_account.rs`: the `YouTubeAccount` actor, a child of the engine's root supervisor
//!   beside `TwitchAccount`: sign-in through the system browser and a loopback redirect
//!   listener (`youtube_account/loopback.rs`), refresh, sign-out. It publishes the signed-in
//!   session to `YouTubeEvents` (`src/platform_events/youtube.rs`).
//!
//! The status (`accounts` in `GET /api/v1/status`, and the `account_status` event) is kept in
//! an [`AccountsCell`].

pub(crate) mod account_actor;
pub mod config;
pub(crate) mod tokens;
pub(crate) mod twitch_account;
pub(crate) mod twitch_api;
pub(crate) mod youtube_account;
pub mod youtube_api;
pub mod youtube_config;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::events::{Event, UserEvents};

pub use config::{
    client_id_problem as twitch_client_id_problem, url_problem as twitch_url_problem, TwitchConfig, UrlKind,
};
pub use youtube_config::{
    client_id_problem as youtube_client_id_problem, client_secret_problem as youtube_client_secret_problem,
    YouTubeConfig,
};

/// A platform one can sign in to.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AccountPlatform {
    Twitch,
    Youtube,
}

impl AccountPlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountPlatform::Twitch => "twitch",
            AccountPlatform::Youtube => "youtube",
        }
    }
}

impl std::str::FromStr for AccountPlatform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "twitch" => Ok(AccountPlatform::Twitch),
            "youtube" => Ok(AccountPlatform::Youtube),
            other => Err(format!("no platform account `{}` (twitch, youtube)", crate::telemetry::esc(other))),
        }
    }
}

/// Where a platform account stands.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Not signed in (`error` may say why, e.g. the sign-in was revoked or its code expired).
    #[default]
    SignedOut,
    /// A sign-in is waiting for the code to be entered on the platform's page.
    Pending,
    SignedIn,
    /// Signed in, but something needs attention (`error` says what): the platform cannot be
    /// reached to check the sign-in, or it could not be saved.
    Error,
}

/// What went wrong with an account, as a kind the UI words.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AccountErrorKind {
    /// `[twitch] client_id` is not set.
    NotConfigured,
    /// The sign-in code ran out before it was entered.
    Expired,
    /// The sign-in was declined on the platform's page.
    Denied,
    /// The platform no longer accepts the sign-in (revoked, expired, password changed).
    Revoked,
    /// The platform refused a request; the message has its words.
    Refused,
    /// The sign-in lacks a permission an event type needs (sign in again to grant it).
    MissingScope,
    Unreachable,
    Timeout,
    RateLimited,
    /// The OS keyring or the secrets file failed.
    Secrets,
    /// The platform answered something unexpected.
    Protocol,
}

/// An account problem in words (never a token).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountError {
    pub kind: AccountErrorKind,
    pub message: String,
}

impl AccountError {
    pub fn new(kind: AccountErrorKind, message: impl Into<String>) -> Self {
        AccountError { kind, message: message.into() }
    }

    pub(crate) fn from_api(e: &twitch_api::TwitchApiError) -> Self {
        use twitch_api::TwitchApiError as E;
        let kind = match e {
            E::Refused { .. } => AccountErrorKind::Refused,
            E::Unreachable(_) | E::Server(_) => AccountErrorKind::Unreachable,
            E::Timeout => AccountErrorKind::Timeout,
            E::RateLimited => AccountErrorKind::RateLimited,
            E::Protocol(_) => AccountErrorKind::Protocol,
        };
        AccountError::new(kind, e.to_string())
    }

    pub(crate) fn from_youtube(e: &youtube_api::YouTubeApiError) -> Self {
        use youtube_api::YouTubeApiError as E;
        let kind = match e {
            E::Refused { .. } => AccountErrorKind::Refused,
            E::Unauthorized => AccountErrorKind::Revoked,
            E::QuotaExceeded => AccountErrorKind::RateLimited,
            E::Unreachable(_) | E::Server(_) => AccountErrorKind::Unreachable,
            E::Timeout => AccountErrorKind::Timeout,
            E::RateLimited => AccountErrorKind::RateLimited,
            E::Protocol(_) => AccountErrorKind::Protocol,
        };
        AccountError::new(kind, e.to_string())
    }
}

/// The platform's event feed (alerts from Twitch EventSub).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EventsState {
    /// Not signed in, or the user's tree is not running.
    #[default]
    Off,
    Connecting,
    Connected,
    /// The link dropped; reconnecting with backoff. Events sent meanwhile are not replayed by
    /// the platform.
    Reconnecting,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EventsStatus {
    pub state: EventsState,
    /// Event types subscribed on the current connection.
    pub subscriptions: u32,
    /// The last problem (a dropped link, a revoked subscription, a missing permission).
    pub error: Option<AccountError>,
}

/// One platform account in the status.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountStatus {
    pub state: AccountState,
    /// The account's login name, once known.
    pub login: Option<String>,
    pub error: Option<AccountError>,
    /// While `pending`: the code to enter and where.
    pub user_code: Option<String>,
    pub verification_uri: Option<String>,
    pub events: EventsStatus,
}

/// `accounts` in `GET /api/v1/status`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountsStatus {
    pub twitch: AccountStatus,
    /// YouTube: `pending` while the browser sign-in is open; `events` follows the live chat of
    /// the channel's active broadcast (`connecting` while no broadcast is live).
    pub youtube: AccountStatus,
}

/// What to show to finish a sign-in: open `verification_uri` and enter `user_code` within
/// `expires_in` seconds (`POST /api/v1/accounts/twitch/sign-in`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SignInPrompt {
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
}

/// What to show to finish a browser sign-in (`POST /api/v1/accounts/youtube/sign-in`): open
/// `authorize_url` in the system browser; Google redirects to the engine's loopback listener.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BrowserSignIn {
    pub authorize_url: String,
}

/// How a sign-in goes on: a code to enter (Twitch) or a page to open (YouTube).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(untagged)]
pub enum SignInStart {
    DeviceCode(SignInPrompt),
    Browser(BrowserSignIn),
}

/// The accounts' status; each change is published as `Event::AccountStatus`.
#[derive(Clone)]
pub struct AccountsCell {
    inner: Arc<Mutex<AccountsStatus>>,
    events: UserEvents,
}

impl AccountsCell {
    pub fn new(events: UserEvents) -> Self {
        AccountsCell { inner: Arc::new(Mutex::new(AccountsStatus::default())), events }
    }

    pub fn get(&self) -> AccountsStatus {
        self.inner.lock().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Change Twitch's status; published if it changed.
    pub fn update_twitch(&self, f: impl FnOnce(&mut AccountStatus)) {
        self.update(AccountPlatform::Twitch, f)
    }

    /// Change one platform's status; published if it changed.
    pub fn update(&self, platform: AccountPlatform, f: impl FnOnce(&mut AccountStatus)) {
        let changed = {
            let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let slot = match platform {
                AccountPlatform::Twitch => &mut s.twitch,
                AccountPlatform::Youtube => &mut s.youtube,
            };
            let before = slot.clone();
            f(slot);
            (*slot != before).then(|| slot.clone())
        };
        if let Some(status) = changed {
            self.events.emit(Event::AccountStatus {
                user_id: self.events.user_id().to_string(),
                platform,
                status,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventBus;

    #[test]
    fn status_has_its_contract_shape_and_changes_are_published_once() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe("u");
        let cell = AccountsCell::new(bus.user("u"));
        cell.update_twitch(|s| {
            s.state = AccountState::SignedIn;
            s.login = Some("me".into());
        });
        cell.update_twitch(|s| s.state = AccountState::SignedIn);
        assert!(matches!(rx.try_recv(), Ok(Event::AccountStatus { platform: AccountPlatform::Twitch, .. })));
        assert!(rx.try_recv().is_err(), "no event when nothing changed");
        let json = serde_json::to_value(cell.get()).unwrap();
        assert_eq!(json["twitch"]["state"], "signed_in");
        assert_eq!(json["twitch"]["login"], "me");
        assert_eq!(json["twitch"]["error"], serde_json::Value::Null);
        assert_eq!(json["twitch"]["events"]["state"], "off");
        let err = AccountError::new(AccountErrorKind::Revoked, "sign in again");
        assert_eq!(
            serde_json::to_value(err).unwrap(),
            serde_json::json!({"kind": "revoked", "message": "sign in again"})
        );
        assert_eq!("twitch".parse::<AccountPlatform>(), Ok(AccountPlatform::Twitch));
        assert_eq!("youtube".parse::<AccountPlatform>(), Ok(AccountPlatform::Youtube));
        assert_eq!(json["youtube"]["state"], "signed_out");
        let start = SignInStart::Browser(BrowserSignIn { authorize_url: "https://a/b".into() });
        assert_eq!(serde_json::to_value(start).unwrap(), serde_json::json!({"authorize_url": "https://a/b"}));
    }
}
