//! Twitch's target: `PATCH /helix/channels?broadcaster_id=…` with the title and category, with
//! the signed-in account's token; a 401 refreshes the token (through the account actor, which
//! owns the tokens) and tries once more. Also the category search.

use super::targets::{check, InfoPlatform};
use super::{PushError, PushErrorKind, StreamInfo, TwitchCategory};
use crate::accounts::twitch_account::{AccessError, TwitchAccess, TwitchAccountHandle};
use crate::accounts::twitch_api::{TwitchApi, TwitchApiError};
use crate::error::EngineError;
use crate::secrets::Secret;

/// How many categories one search returns.
const SEARCH_FIRST: u8 = 25;

fn access_error(e: AccessError) -> PushError {
    match e {
        AccessError::SignedOut => PushError::new(PushErrorKind::NotSignedIn, "not signed in to Twitch"),
        AccessError::Unavailable(m) => {
            PushError::new(PushErrorKind::Unavailable, format!("cannot get a Twitch token now: {m}"))
        }
    }
}

fn is_unauthorized(e: &TwitchApiError) -> bool {
    matches!(e, TwitchApiError::Refused { status: 401, .. })
}

/// Twitch's answer as a result kind, in Twitch's words.
pub(super) fn api_error(e: &TwitchApiError) -> PushError {
    use TwitchApiError as E;
    let kind = match e {
        E::Refused { status: 401, .. } => PushErrorKind::Unauthorized,
        E::Refused { .. } => PushErrorKind::Refused,
        E::Unreachable(_) => PushErrorKind::Unreachable,
        E::Timeout => PushErrorKind::Timeout,
        E::RateLimited => PushErrorKind::RateLimited,
        E::Server(_) => PushErrorKind::Server,
        E::Protocol(_) => PushErrorKind::Protocol,
    };
    let message = match e {
        E::Refused { status: 401, message } => format!(
            "Twitch refused the sign-in even after a refresh (HTTP 401: {message}); sign in to Twitch again"
        ),
        other => other.to_string(),
    };
    PushError::new(kind, message)
}

/// Run `call` with the `first` token; on a 401, once more with a refreshed one.
async fn with_refresh<T, F, Fut>(
    account: &TwitchAccountHandle,
    first: TwitchAccess,
    call: F,
) -> Result<T, PushError>
where
    F: Fn(TwitchApi, Secret, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, TwitchApiError>>,
{
    let TwitchAccess { token, user_id, api } = first;
    match call(api, token.clone(), user_id).await {
        Err(e) if is_unauthorized(&e) => {
            tracing::debug!("Twitch answered 401; refreshing the token and trying once more");
            let fresh = account.access(Some(token)).await.map_err(|e| match e {
                AccessError::SignedOut => PushError::new(
                    PushErrorKind::NotSignedIn,
                    "Twitch no longer accepts the sign-in (revoked or expired): sign in to Twitch again",
                ),
                other => access_error(other),
            })?;
            call(fresh.api, fresh.token, fresh.user_id).await.map_err(|e| api_error(&e))
        }
        other => other.map_err(|e| api_error(&e)),
    }
}

/// Set the channel's title (and category, when one is saved).
pub(super) async fn push(account: &TwitchAccountHandle, info: &StreamInfo) -> Result<(), PushError> {
    // Not signed in is said before the limits (nothing would be sent either way).
    let first = account.access(None).await.map_err(access_error)?;
    check(InfoPlatform::Twitch, info)?;
    let title = info.title.as_str();
    let game = info.twitch_category_id.as_deref();
    with_refresh(account, first, |api, token, user_id| async move {
        api.modify_channel(&token, &user_id, title, game).await
    })
    .await
}

/// The channel's category `(id, name)` as Twitch has it now (to learn the name of a category
/// saved by id alone); `None` when it cannot be had.
pub(crate) async fn current_category(account: &TwitchAccountHandle) -> Option<(String, String)> {
    let a = account.access(None).await.ok()?;
    match a.api.channel_category(&a.token, &a.user_id).await {
        Ok(c) => c.filter(|(id, name)| !id.is_empty() && !name.is_empty()),
        Err(e) => {
            tracing::debug!(cause = %e, "cannot read the Twitch category's name");
            None
        }
    }
}

/// Categories matching `query` (the caller checked it).
pub(crate) async fn search(
    account: &TwitchAccountHandle,
    query: &str,
) -> Result<Vec<TwitchCategory>, EngineError> {
    let res = match account.access(None).await {
        Ok(first) => {
            with_refresh(account, first, |api, token, _| async move {
                api.search_categories(&token, query, SEARCH_FIRST).await
            })
            .await
        }
        Err(e) => Err(access_error(e)),
    };
    res.map_err(|e| match e.kind {
        PushErrorKind::NotSignedIn => EngineError::NotSignedIn {
            message:
                "searching Twitch's categories needs a signed-in Twitch account: sign in to Twitch first"
                    .into(),
        },
        PushErrorKind::Unavailable => EngineError::Unavailable { message: e.message },
        _ => EngineError::Platform { message: e.message },
    })
}
