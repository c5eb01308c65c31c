//! YouTube's target: the title (and description, when one is saved) of the live broadcast,
//! through `liveBroadcasts.update` (the account actor reads the broadcast first and sends back
//! the snippet fields YouTube requires; a 401 is refreshed there and tried once more). A
//! broadcast `YouTubeEvents` just found live is updated as it was listed (the update alone).

use super::targets::{check, InfoPlatform};
use super::{PushError, PushErrorKind, StreamInfo};
use crate::accounts::youtube_account::{AccessError, YouTubeAccountHandle};
use crate::accounts::youtube_api::{Broadcast, BroadcastUpdateError, YouTubeApiError};

fn access_error(e: AccessError) -> PushError {
    match e {
        AccessError::SignedOut => PushError::new(PushErrorKind::NotSignedIn, "not signed in to YouTube"),
        AccessError::Unavailable(m) => {
            PushError::new(PushErrorKind::Unavailable, format!("cannot get a YouTube token now: {m}"))
        }
    }
}

/// YouTube's answer as a result kind, in words.
pub(super) fn update_error(e: &BroadcastUpdateError) -> PushError {
    use YouTubeApiError as E;
    let kind = match e {
        BroadcastUpdateError::SignedOut => PushErrorKind::NotSignedIn,
        BroadcastUpdateError::NoActiveBroadcast => PushErrorKind::NoBroadcast,
        BroadcastUpdateError::Api(api) => match api {
            E::Refused { .. } => PushErrorKind::Refused,
            E::Unauthorized => PushErrorKind::Unauthorized,
            E::QuotaExceeded | E::RateLimited => PushErrorKind::RateLimited,
            E::Unreachable(_) => PushErrorKind::Unreachable,
            E::Timeout => PushErrorKind::Timeout,
            E::Server(_) => PushErrorKind::Server,
            E::Protocol(_) => PushErrorKind::Protocol,
        },
    };
    let message = match e {
        BroadcastUpdateError::NoActiveBroadcast => {
            format!("{e} (while a stream runs, it is sent to the broadcast once YouTube shows it live)")
        }
        BroadcastUpdateError::Api(E::Unauthorized) => {
            "YouTube refused the sign-in even after a refresh (HTTP 401); sign in to YouTube again"
                .to_string()
        }
        other => other.to_string(),
    };
    PushError::new(kind, message)
}

/// Set the title (and description, when one is saved) of `broadcast` as it was listed, or
/// (`None`) of the live broadcast, read first.
pub(super) async fn push(
    account: &YouTubeAccountHandle,
    broadcast: Option<&Broadcast>,
    info: &StreamInfo,
) -> Result<(), PushError> {
    // Not signed in is said before the limits (nothing would be sent either way).
    account.access(None).await.map_err(access_error)?;
    check(InfoPlatform::Youtube, info)?;
    let (title, description) = (info.title.as_str(), info.youtube_description.as_deref());
    match broadcast {
        Some(b) => account.update_broadcast(b, title, description).await,
        None => account.set_broadcast_info(title, description).await,
    }
    .map(|_| ())
    .map_err(|e| update_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_youtube_answer_has_its_kind_and_words() {
        let e = update_error(&BroadcastUpdateError::NoActiveBroadcast);
        assert_eq!(e.kind, PushErrorKind::NoBroadcast);
        assert!(e.message.contains("live broadcast"), "{}", e.message);
        assert!(e.message.contains("once YouTube shows it live"), "{}", e.message);
        let e = update_error(&BroadcastUpdateError::Api(YouTubeApiError::QuotaExceeded));
        assert_eq!(e.kind, PushErrorKind::RateLimited);
        assert!(e.message.contains("quota"), "{}", e.message);
        let e = update_error(&BroadcastUpdateError::Api(YouTubeApiError::Refused {
            status: 400,
            reason: "invalidTitle".into(),
            message: "The title is bad".into(),
        }));
        assert_eq!(e.kind, PushErrorKind::Refused);
        assert!(e.message.contains("The title is bad"), "{}", e.message);
        assert_eq!(update_error(&BroadcastUpdateError::SignedOut).kind, PushErrorKind::NotSignedIn);
    }
}
