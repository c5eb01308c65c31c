//! Words for typed engine failures, for notifications (the UI has the same in `ui/src/failure.ts`):
//! each `Failure` kind and source in a sentence naming the platform; `detail` stays secondary.

use streampai::failure::{Failure, FailureKind as K, FailureSource as S};
use streampai::PlatformKind;

/// The service's own name for a preset kind.
fn service(kind: PlatformKind) -> &'static str {
    match kind {
        PlatformKind::Twitch => "Twitch",
        PlatformKind::Youtube => "YouTube",
        PlatformKind::Kick => "Kick",
        PlatformKind::Facebook => "Facebook",
        PlatformKind::Custom => "Custom RTMP(S)",
    }
}

/// How to name a platform in a sentence: "Twitch" for a preset named after its kind, the user's
/// name otherwise (with the service for presets: "main (Twitch)").
pub fn platform_label(name: &str, kind: Option<PlatformKind>) -> String {
    match kind {
        None | Some(PlatformKind::Custom) => name.to_string(),
        Some(kind) => {
            let svc = service(kind);
            let plain = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned));
            if name.trim().is_empty() || plain.is_some_and(|p| p.eq_ignore_ascii_case(name.trim())) {
                svc.to_string()
            } else {
                format!("{name} ({svc})")
            }
        }
    }
}

/// The headline for a failure: what went wrong, on which side, naming the platform.
pub fn failure_words(f: &Failure, platform: &str) -> String {
    match (f.kind, f.source) {
        (K::AuthRejected, S::Cloudflare) => "Cloudflare refused the API token".into(),
        (K::AuthRejected, S::Platform) => format!("{platform} refused the stream key"),
        (K::AuthRejected, S::Obs) => "The local relay refused the stream key OBS sent".into(),
        (K::AuthRejected, S::App) => format!("{platform}: access refused"),
        (K::Unreachable, S::Cloudflare) => "Cannot reach Cloudflare; check the network".into(),
        (K::Unreachable, S::Platform) => format!("Cannot reach {platform}'s server"),
        (K::Unreachable, S::Obs) => "OBS is not connected".into(),
        (K::Unreachable, S::App) => "Cannot reach the local relay".into(),
        (K::Timeout, S::Cloudflare) => "Cloudflare did not answer in time".into(),
        (K::Timeout, S::Platform) => format!("{platform}'s server did not answer in time"),
        (K::Timeout, _) => "No answer in time".into(),
        (K::RateLimited, S::Cloudflare) => "Cloudflare asked to slow down; retrying shortly".into(),
        (K::RateLimited, _) => format!("{platform} asked to slow down; retrying shortly"),
        (K::SourceLost, _) => "OBS stopped sending".into(),
        (K::NotConfigured, S::Cloudflare) => {
            "Cloudflare is not set up: add your account ID and API token in Settings".into()
        }
        (K::NotConfigured, S::Platform) => {
            format!("{platform} is not set up: check its server and stream key in Platforms")
        }
        (K::NotConfigured, _) => "Something required is not set up yet".into(),
        (K::IngestDown, _) => "The local relay is not running".into(),
        (K::Protocol, S::Cloudflare) => "Cloudflare answered something unexpected".into(),
        (K::Protocol, S::Platform) => format!("{platform}'s server answered something unexpected"),
        (K::Protocol, _) => "Unexpected answer".into(),
        (K::Other, S::Cloudflare) => "Cloudflare reported a problem".into(),
        (K::Other, S::Platform) => format!("Problem sending to {platform}"),
        (K::Other, S::Obs) => "Problem with the stream from OBS".into(),
        (K::Other, S::App) => "The app ran into a problem".into(),
    }
}

/// Headline and detail on two lines (the detail only when it adds something).
pub fn failure_text(f: &Failure, platform: &str) -> String {
    let head = failure_words(f, platform);
    let detail = f.detail.trim();
    if detail.is_empty() || detail.eq_ignore_ascii_case(&head) {
        format!("{head}.")
    } else {
        format!("{head}.\n{detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: K, source: S) -> Failure {
        Failure::new(kind, source, "d")
    }

    #[test]
    fn each_kind_in_words_naming_the_side() {
        assert_eq!(
            failure_words(&f(K::AuthRejected, S::Platform), "Twitch"),
            "Twitch refused the stream key"
        );
        assert_eq!(
            failure_words(&f(K::AuthRejected, S::Cloudflare), "Twitch"),
            "Cloudflare refused the API token"
        );
        assert_eq!(failure_words(&f(K::Unreachable, S::Platform), "Kick"), "Cannot reach Kick's server");
        assert_eq!(
            failure_words(&f(K::Timeout, S::Platform), "Kick"),
            "Kick's server did not answer in time"
        );
        assert_eq!(
            failure_words(&f(K::RateLimited, S::Cloudflare), "Kick").split(';').next(),
            Some("Cloudflare asked to slow down")
        );
        assert_eq!(failure_words(&f(K::SourceLost, S::Obs), "Kick"), "OBS stopped sending");
        assert!(failure_words(&f(K::NotConfigured, S::Cloudflare), "Kick")
            .starts_with("Cloudflare is not set up"));
        assert_eq!(failure_words(&f(K::IngestDown, S::App), "Kick"), "The local relay is not running");
        assert_eq!(
            failure_words(&f(K::Protocol, S::Platform), "Kick"),
            "Kick's server answered something unexpected"
        );
        assert_eq!(failure_words(&f(K::Other, S::Platform), "Kick"), "Problem sending to Kick");
    }

    #[test]
    fn a_platform_refusing_the_key_is_never_blamed_on_cloudflare() {
        let w = failure_words(&Failure::new(K::AuthRejected, S::Platform, "HTTP 403"), "YouTube");
        assert!(w.contains("YouTube") && !w.contains("Cloudflare"), "{w}");
    }

    #[test]
    fn the_detail_is_secondary_and_platforms_are_named_as_the_streamer_knows_them() {
        let text = failure_text(&Failure::new(K::AuthRejected, S::Platform, "server said 403"), "Twitch");
        assert_eq!(text, "Twitch refused the stream key.\nserver said 403");
        assert_eq!(platform_label("twitch", Some(PlatformKind::Twitch)), "Twitch");
        assert_eq!(platform_label("main", Some(PlatformKind::Youtube)), "main (YouTube)");
        assert_eq!(platform_label("mine", Some(PlatformKind::Custom)), "mine");
        assert_eq!(platform_label("gone", None), "gone");
    }
}
