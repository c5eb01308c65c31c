//! Settings › Accounts: the platforms' own sign-ins (Twitch, YouTube). Twitch's client id goes
//! into the config (`[twitch] client_id`, never a secret: a public client has none); so do
//! YouTube's Google OAuth client id and its secret (`[youtube] client_id`, `client_secret`: Google
//! treats a "Desktop app" client's secret as not confidential; it is kept in the settings file,
//! never sent back to the window and never logged). Sign-in, sign-out and the status are the engine's
//! (`Engine::start_sign_in`, `sign_out`, `accounts_status`; the
//! `account_status` event follows every change). The tokens never reach the shell or the UI.

use serde::Serialize;
use streampai::accounts::{
    twitch_client_id_problem, youtube_client_id_problem, youtube_client_secret_problem, AccountPlatform,
    AccountState, AccountsStatus, SignInPrompt, SignInStart,
};
use streampai::{Config, EngineError};

use super::Sh;
use crate::error::{UiError, UiResult};
use crate::shell::Shell;

/// The env variable that sets `[twitch] client_id` at every launch.
const TWITCH_CLIENT_ID_ENV: &str = "STREAMPAI_TWITCH_CLIENT_ID";
/// The env variables that set `[youtube] client_id` and `client_secret` at every launch.
const YOUTUBE_CLIENT_ENV: [&str; 2] = ["STREAMPAI_YOUTUBE_CLIENT_ID", "STREAMPAI_YOUTUBE_CLIENT_SECRET"];

/// Settings › Accounts as the UI shows it.
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct AccountsView {
    /// `[twitch] client_id` as set (empty: none, no Twitch sign-in).
    pub twitch_client_id: String,
    /// `STREAMPAI_TWITCH_CLIENT_ID` is set: it replaces the saved client id at every launch.
    pub twitch_client_id_from_env: bool,
    /// `[youtube] client_id` as set (empty: none, no YouTube sign-in).
    pub youtube_client_id: String,
    /// `[youtube] client_secret` is set (the secret itself never goes back to the window).
    pub youtube_client_secret_set: bool,
    /// `STREAMPAI_YOUTUBE_CLIENT_ID` or `_SECRET` is set: it replaces the saved value at every
    /// launch.
    pub youtube_client_from_env: bool,
    /// Every account's sign-in state, login, last problem and event feed.
    pub status: AccountsStatus,
}

/// What "Sign in" answers: the code to enter and the page to enter it on (Twitch), or the
/// consent page (YouTube: Google redirects to the engine), and whether that page could be opened
/// in the browser (else the UI asks to open it by hand).
#[derive(Clone, Debug, Serialize, specta::Type)]
pub struct SignInView {
    /// The device code (Twitch); `null` for a browser sign-in.
    pub prompt: Option<SignInPrompt>,
    /// The page opened in the browser.
    pub page: String,
    /// Why the page did not open in the browser (`null`: it did).
    pub open_error: Option<String>,
}

pub fn accounts_view(shell: &Shell) -> AccountsView {
    let config = shell.engine.config();
    AccountsView {
        twitch_client_id: config.twitch.client_id().unwrap_or_default().to_string(),
        twitch_client_id_from_env: env_set(TWITCH_CLIENT_ID_ENV),
        youtube_client_id: config.youtube.client_id().unwrap_or_default().to_string(),
        youtube_client_secret_set: config.youtube.client_secret().is_some(),
        youtube_client_from_env: YOUTUBE_CLIENT_ENV.into_iter().any(env_set),
        status: shell.engine.accounts_status(),
    }
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// Checks the client id as typed and puts it into `config` (`twitch_client_id` names the field;
/// nothing changes on a refusal). Empty removes it (no Twitch sign-in).
pub fn apply_twitch_client_id(config: &mut Config, client_id: &str) -> UiResult<()> {
    let id = client_id.trim();
    if !id.is_empty() {
        if let Some(problem) = twitch_client_id_problem(id) {
            return Err(UiError::invalid("twitch_client_id", problem));
        }
    }
    let mut next = config.twitch.clone();
    next.client_id = (!id.is_empty()).then(|| id.to_string());
    next.validate().map_err(|e| UiError::invalid(e.key.replace('.', "_"), e.message))?;
    config.twitch = next;
    Ok(())
}

/// Checks YouTube's client id and secret as typed and puts them into `config` (the field named
/// `youtube_client_id` or `youtube_client_secret`; nothing changes on a refusal, and no message
/// repeats the secret). Both empty removes the client (no YouTube sign-in). An empty secret with
/// the saved client id keeps the saved secret (the window never gets it back to show); a new
/// client id needs its own secret.
pub fn apply_youtube_client(config: &mut Config, client_id: &str, client_secret: &str) -> UiResult<()> {
    let (id, secret) = (client_id.trim(), client_secret.trim());
    let mut next = config.youtube.clone();
    if id.is_empty() {
        if !secret.is_empty() {
            return Err(UiError::invalid(
                "youtube_client_id",
                "enter the client id that goes with this secret (both empty removes the client)",
            ));
        }
        next.client_id = None;
        next.client_secret = None;
    } else {
        if let Some(problem) = youtube_client_id_problem(id) {
            return Err(UiError::invalid("youtube_client_id", problem));
        }
        let same_client = next.client_id() == Some(id) && next.client_secret().is_some();
        if !secret.is_empty() || !same_client {
            if let Some(problem) = youtube_client_secret_problem(secret) {
                return Err(UiError::invalid("youtube_client_secret", problem));
            }
            next.client_secret = Some(secret.to_string());
        }
        next.client_id = Some(id.to_string());
    }
    next.validate().map_err(|e| UiError::invalid(e.key.replace('.', "_"), e.message))?;
    config.youtube = next;
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn get_accounts(shell: Sh<'_>) -> UiResult<AccountsView> {
    Ok(accounts_view(&shell))
}

/// Saves `[twitch] client_id` (applied at once: the account reads the config in force).
#[tauri::command]
#[specta::specta]
pub async fn save_twitch_client_id(shell: Sh<'_>, client_id: String) -> UiResult<AccountsView> {
    save_client_id(&shell, &client_id).await?;
    Ok(accounts_view(&shell))
}

pub async fn save_client_id(shell: &Shell, client_id: &str) -> UiResult<()> {
    save_with(shell, |c| apply_twitch_client_id(c, client_id)).await
}

/// Saves `[youtube] client_id` and `client_secret` (applied at once, like Twitch's client id).
/// Both empty removes the client; an empty secret keeps the saved one for the same client id.
#[tauri::command]
#[specta::specta]
pub async fn save_youtube_client(
    shell: Sh<'_>,
    client_id: String,
    client_secret: String,
) -> UiResult<AccountsView> {
    save_with(&shell, |c| apply_youtube_client(c, &client_id, &client_secret)).await?;
    Ok(accounts_view(&shell))
}

/// Changes the config in force under the settings lock and applies it (stored too) when it
/// changed.
async fn save_with(shell: &Shell, change: impl FnOnce(&mut Config) -> UiResult<()>) -> UiResult<()> {
    let _guard = shell.settings_lock.lock().await;
    let mut config = (*shell.engine.config()).clone();
    change(&mut config)?;
    if config != *shell.engine.config() {
        shell.apply_config(config).await?;
    }
    Ok(())
}

/// "Sign in with …": the engine asks the platform for a code (the same one again while a
/// sign-in is pending) and waits for it to be entered; the platform's page opens in the browser.
#[tauri::command]
#[specta::specta]
pub async fn account_sign_in(shell: Sh<'_>, platform: AccountPlatform) -> UiResult<SignInView> {
    let start = shell.engine.start_sign_in(platform).await.map_err(|e| sign_in_error(platform, e))?;
    let (prompt, page) = match start {
        SignInStart::DeviceCode(p) => {
            let page = p.verification_uri.clone();
            (Some(p), page)
        }
        SignInStart::Browser(b) => (None, b.authorize_url),
    };
    let open_error = shell.open_page(&page).err();
    Ok(SignInView { prompt, page, open_error })
}

/// "Open the page again" while a sign-in is pending: the page the engine was given, no other.
#[tauri::command]
#[specta::specta]
pub async fn open_sign_in_page(shell: Sh<'_>, platform: AccountPlatform) -> UiResult<()> {
    let status = shell.engine.accounts_status();
    let account = match platform {
        AccountPlatform::Twitch => status.twitch,
        AccountPlatform::Youtube => status.youtube,
    };
    if account.state != AccountState::Pending {
        return Err(UiError::invalid("sign_in", "no sign-in is waiting: press Sign in first"));
    }
    let page = match account.verification_uri {
        Some(uri) => uri,
        // A browser sign-in keeps its page in the engine: asked again, the same one.
        None => match shell.engine.start_sign_in(platform).await? {
            SignInStart::DeviceCode(p) => p.verification_uri,
            SignInStart::Browser(b) => b.authorize_url,
        },
    };
    shell.open_page(&page).map_err(|message| UiError::Window { message })
}

/// "Sign out": the platform revokes the sign-in (best effort) and the tokens are deleted.
#[tauri::command]
#[specta::specta]
pub async fn account_sign_out(shell: Sh<'_>, platform: AccountPlatform) -> UiResult<AccountsView> {
    shell.engine.sign_out(platform).await?;
    Ok(accounts_view(&shell))
}

/// A missing client is a field to fill in (`twitch_client_id`, `youtube_client_id`), named so
/// the form can point at it.
fn sign_in_error(platform: AccountPlatform, e: EngineError) -> UiError {
    match e {
        EngineError::NotConfigured { message } => {
            UiError::invalid(format!("{}_client_id", platform.as_str()), message)
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: UiResult<()>) -> String {
        match r {
            Err(UiError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn the_client_id_is_checked_by_the_engines_rule_or_nothing_changes() {
        let mut c = Config::for_user("u");
        apply_twitch_client_id(&mut c, " wbmytr93xzw8zbg0p1izqyzzc5mbiz ").unwrap();
        assert_eq!(c.twitch.client_id.as_deref(), Some("wbmytr93xzw8zbg0p1izqyzzc5mbiz"));
        assert!(c.validate().is_ok());
        let before = c.clone();
        assert_eq!(field(apply_twitch_client_id(&mut c, "has spaces in it")), "twitch_client_id");
        assert_eq!(field(apply_twitch_client_id(&mut c, "abc/def")), "twitch_client_id");
        assert_eq!(c, before, "a refused input changes nothing");
        apply_twitch_client_id(&mut c, "  ").unwrap();
        assert_eq!(c.twitch.client_id, None, "empty: no Twitch sign-in");
    }

    #[test]
    fn the_youtube_client_is_checked_by_the_engines_rules_and_the_secret_kept_or_cleared() {
        const ID: &str = "1234-abc.apps.googleusercontent.com";
        let mut c = Config::for_user("u");
        let before = c.clone();
        // A bad id, a lone secret, an id without a secret: each names its field, nothing changes.
        assert_eq!(field(apply_youtube_client(&mut c, "my client", "GOCSPX-x")), "youtube_client_id");
        assert_eq!(field(apply_youtube_client(&mut c, " ", "GOCSPX-x")), "youtube_client_id");
        assert_eq!(field(apply_youtube_client(&mut c, ID, "")), "youtube_client_secret");
        let refused = apply_youtube_client(&mut c, ID, "GOCSPX has spaces").unwrap_err();
        assert!(!format!("{refused:?}").contains("GOCSPX"), "the secret is never echoed: {refused:?}");
        assert_eq!(c, before, "a refused input changes nothing");

        apply_youtube_client(&mut c, &format!(" {ID} "), " GOCSPX-secret_1 ").unwrap();
        assert_eq!(c.youtube.client_id.as_deref(), Some(ID));
        assert_eq!(c.youtube.client_secret.as_deref(), Some("GOCSPX-secret_1"));
        assert!(c.youtube.configured() && c.validate().is_ok());
        // The same client id with an empty secret keeps the saved secret; a new secret replaces it.
        apply_youtube_client(&mut c, ID, "").unwrap();
        assert_eq!(c.youtube.client_secret.as_deref(), Some("GOCSPX-secret_1"));
        apply_youtube_client(&mut c, ID, "GOCSPX-secret_2").unwrap();
        assert_eq!(c.youtube.client_secret.as_deref(), Some("GOCSPX-secret_2"));
        // Another client id needs its own secret.
        assert_eq!(
            field(apply_youtube_client(&mut c, "999-other.apps.googleusercontent.com", "")),
            "youtube_client_secret"
        );
        assert_eq!(c.youtube.client_id.as_deref(), Some(ID));
        // Both empty: no YouTube client at all.
        apply_youtube_client(&mut c, "", "").unwrap();
        assert_eq!((c.youtube.client_id.clone(), c.youtube.client_secret.clone()), (None, None));
    }
}
