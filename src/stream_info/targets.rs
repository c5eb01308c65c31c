//! One small target per platform: its own limits and its push. Adding a platform is a variant
//! here, an arm in [`check`] and [`push`], and a field in `PushResults`.

use serde::{Deserialize, Serialize};

use super::{twitch, youtube, PushError, PushErrorKind, PushResult, StreamInfo};
use crate::accounts::twitch_account::TwitchAccountHandle;
use crate::accounts::youtube_account::YouTubeAccountHandle;
use crate::accounts::youtube_api::Broadcast;

/// A platform the stream info goes to.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum InfoPlatform {
    Twitch,
    Youtube,
}

impl InfoPlatform {
    pub const ALL: [InfoPlatform; 2] = [InfoPlatform::Twitch, InfoPlatform::Youtube];

    pub fn as_str(self) -> &'static str {
        match self {
            InfoPlatform::Twitch => "twitch",
            InfoPlatform::Youtube => "youtube",
        }
    }

    /// The platform's name in words.
    pub fn label(self) -> &'static str {
        match self {
            InfoPlatform::Twitch => "Twitch",
            InfoPlatform::Youtube => "YouTube",
        }
    }
}

/// What the targets need to reach their platforms.
#[derive(Clone)]
pub(crate) struct Targets {
    pub twitch: TwitchAccountHandle,
    pub youtube: YouTubeAccountHandle,
}

/// Twitch's title limit (the dashboard's; Helix answers 400 past it).
const TWITCH_TITLE_MAX: usize = 140;
/// YouTube's title limit (`liveBroadcasts`' `snippet.title`), which also forbids `<` and `>`
/// in the title and the description.
const YOUTUBE_TITLE_MAX: usize = 100;

fn over_limit(platform: InfoPlatform, what: &str, max: usize, n: usize) -> PushError {
    PushError::new(
        PushErrorKind::Invalid,
        format!(
            "{} takes a {what} of at most {max} characters; this one has {n} (saved, not sent)",
            platform.label()
        ),
    )
}

/// The platform's own limits on the saved info: `Err(invalid)` when it would refuse it.
pub(crate) fn check(platform: InfoPlatform, info: &StreamInfo) -> Result<(), PushError> {
    let n = info.title.chars().count();
    match platform {
        InfoPlatform::Twitch if n > TWITCH_TITLE_MAX => {
            Err(over_limit(platform, "title", TWITCH_TITLE_MAX, n))
        }
        InfoPlatform::Twitch => Ok(()),
        InfoPlatform::Youtube if n > YOUTUBE_TITLE_MAX => {
            Err(over_limit(platform, "title", YOUTUBE_TITLE_MAX, n))
        }
        InfoPlatform::Youtube => {
            let angled = |s: &str| s.contains(['<', '>']);
            if angled(&info.title) || info.youtube_description.as_deref().is_some_and(angled) {
                Err(PushError::new(
                    PushErrorKind::Invalid,
                    "YouTube does not take < or > in a title or description (saved, not sent)",
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// Push `info` to one platform (the caller bounds it with the timeout).
pub(crate) async fn push(targets: &Targets, platform: InfoPlatform, info: &StreamInfo) -> PushResult {
    let res = match platform {
        InfoPlatform::Twitch => twitch::push(&targets.twitch, info).await,
        InfoPlatform::Youtube => youtube::push(&targets.youtube, None, info).await,
    };
    res.into()
}

/// Push `info` to a YouTube broadcast just found live (the update call alone).
pub(crate) async fn push_to_broadcast(
    targets: &Targets,
    broadcast: &Broadcast,
    info: &StreamInfo,
) -> PushResult {
    youtube::push(&targets.youtube, Some(broadcast), info).await.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(title: &str, description: Option<&str>) -> StreamInfo {
        StreamInfo {
            title: title.into(),
            twitch_category_id: None,
            twitch_category_name: None,
            youtube_description: description.map(str::to_string),
        }
    }

    #[test]
    fn each_platform_applies_its_own_limits() {
        let t100 = "é".repeat(100);
        let t101 = "é".repeat(101);
        assert_eq!(check(InfoPlatform::Youtube, &info(&t100, None)), Ok(()), "characters, not bytes");
        let e = check(InfoPlatform::Youtube, &info(&t101, None)).unwrap_err();
        assert_eq!(e.kind, PushErrorKind::Invalid);
        assert!(e.message.contains("at most 100") && e.message.contains("101"), "{}", e.message);
        assert_eq!(check(InfoPlatform::Twitch, &info(&t101, None)), Ok(()));
        assert!(check(InfoPlatform::Twitch, &info(&"a".repeat(141), None)).is_err());
        let e = check(InfoPlatform::Youtube, &info("a <b> title", None)).unwrap_err();
        assert!(e.message.contains("< or >"), "{}", e.message);
        assert!(check(InfoPlatform::Youtube, &info("fine", Some("x > y"))).is_err());
        assert_eq!(check(InfoPlatform::Twitch, &info("a <b> title", Some("x > y"))), Ok(()));
    }
}
