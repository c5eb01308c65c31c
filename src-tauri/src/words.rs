//! Words for typed engine failures, for notifications (the UI has the same in `ui/src/failure.ts`):
//! each `Failure` kind and source in a sentence naming the platform; `detail` stays secondary.

use streampai::failure::{Failure, FailureKind as K, FailureSource as S};
use streampai::{ObsHealth, ObsState, ObsStatus, PlatformKind};

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
        (K::AuthRejected, S::Obs) => "OBS refused the WebSocket password".into(),
        (K::AuthRejected, S::App) => format!("{platform}: access refused"),
        (K::Unreachable, S::Cloudflare) => "Cannot reach Cloudflare; check the network".into(),
        (K::Unreachable, S::Platform) => format!("Cannot reach {platform}'s server"),
        (K::Unreachable, S::Obs) => "OBS is not running, or its WebSocket server is off".into(),
        (K::Unreachable, S::App) => "Cannot reach the local relay".into(),
        (K::Timeout, S::Cloudflare) => "Cloudflare did not answer in time".into(),
        (K::Timeout, S::Platform) => format!("{platform}'s server did not answer in time"),
        (K::Timeout, S::Obs) => "OBS did not answer in time".into(),
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
        (K::Protocol, S::Obs) => {
            "OBS's WebSocket server answered something unexpected (OBS 28 or newer needed)".into()
        }
        (K::Protocol, _) => "Unexpected answer".into(),
        (K::Other, S::Cloudflare) => "Cloudflare reported a problem".into(),
        (K::Other, S::Platform) => format!("Problem sending to {platform}"),
        (K::Other, S::Obs) => "OBS refused a request".into(),
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

/// The tray's OBS line: the link, OBS's stream and its health in a few words.
pub fn obs_line(s: &ObsStatus) -> String {
    let link = match s.state {
        ObsState::Off => return "OBS: not connected".into(),
        ObsState::Connecting => return "OBS: connecting…".into(),
        ObsState::Unreachable => return "OBS: not found (closed, or its WebSocket server is off)".into(),
        ObsState::AuthFailed => return "OBS: wrong password".into(),
        ObsState::Incompatible => return "OBS: not compatible (OBS 28 or newer needed)".into(),
        ObsState::Connected => match &s.obs_version {
            Some(v) => format!("OBS {v}: connected"),
            None => "OBS: connected".into(),
        },
    };
    let stream = if s.streaming { " · streaming" } else { "" };
    let health = match s.health {
        ObsHealth::Congested => " · congested",
        ObsHealth::Reconnecting => " · reconnecting",
        ObsHealth::Idle | ObsHealth::Good => "",
    };
    format!("{link}{stream}{health}")
}

/// The notification after "Set up OBS for me" from the tray: where OBS now sends, and what was
/// kept (never a key).
pub fn obs_setup_notice(r: &streampai::ObsSetupReport) -> (String, String) {
    let kept = match &r.previous {
        Some(p) => {
            format!(" Your previous settings ({}) are kept: Restore puts them back.", previous_words(p))
        }
        None => String::new(),
    };
    let head = if r.unchanged { "OBS already streams to Streampai" } else { "OBS is set up" };
    (head.into(), format!("OBS now streams to {}.{kept}", r.server))
}

/// OBS's kept settings in words: the service or the server, never the key.
pub fn previous_words(p: &streampai::ObsPreviousSettings) -> String {
    match (&p.service, &p.server) {
        (Some(svc), Some(server)) if p.service_type == "rtmp_common" => format!("{svc}, server {server}"),
        (Some(svc), _) => svc.clone(),
        (None, Some(server)) => server.clone(),
        (None, None) if !p.has_key => "OBS's empty stream settings (never set)".into(),
        (None, None) => p.service_type.clone(),
    }
}

/// The notification for OBS's health turning bad while live (`None` for good health).
pub fn obs_health_notice(s: &ObsStatus) -> Option<(String, String)> {
    match s.health {
        ObsHealth::Congested => {
            let pct = s
                .congestion
                .map(|c| format!(" ({:.0} %)", (c * 100.0).clamp(0.0, 100.0)))
                .unwrap_or_default();
            Some((
                "OBS is dropping frames".into(),
                format!(
                    "OBS reports congestion{pct}: it cannot send as fast as it encodes and drops frames. \
                     Lower the bitrate in OBS › Settings › Output."
                ),
            ))
        }
        ObsHealth::Reconnecting => Some((
            "OBS lost its connection".into(),
            "OBS is reconnecting to the ingest; your platforms get no new video until it is back.".into(),
        )),
        ObsHealth::Idle | ObsHealth::Good => None,
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
    fn the_obs_link_is_worded_as_obs() {
        assert_eq!(failure_words(&f(K::AuthRejected, S::Obs), "x"), "OBS refused the WebSocket password");
        assert!(failure_words(&f(K::Unreachable, S::Obs), "x").contains("WebSocket server is off"));
        assert_eq!(failure_words(&f(K::Timeout, S::Obs), "x"), "OBS did not answer in time");
        assert!(failure_words(&f(K::Protocol, S::Obs), "x").contains("OBS 28"));
        assert_eq!(failure_words(&f(K::Other, S::Obs), "x"), "OBS refused a request");
    }

    #[test]
    fn the_obs_line_and_the_health_notices() {
        let mut s = ObsStatus {
            state: ObsState::Connected,
            obs_version: Some("29.0.2".into()),
            ..Default::default()
        };
        assert_eq!(obs_line(&s), "OBS 29.0.2: connected");
        s.streaming = true;
        s.health = ObsHealth::Congested;
        s.congestion = Some(0.634);
        assert_eq!(obs_line(&s), "OBS 29.0.2: connected · streaming · congested");
        let (title, body) = obs_health_notice(&s).unwrap();
        assert_eq!(title, "OBS is dropping frames");
        assert!(body.contains("(63 %)"), "{body}");
        s.health = ObsHealth::Reconnecting;
        assert_eq!(obs_health_notice(&s).unwrap().0, "OBS lost its connection");
        assert!(obs_line(&s).ends_with("· reconnecting"));
        s.health = ObsHealth::Good;
        assert_eq!(obs_health_notice(&s), None);
        s.state = ObsState::AuthFailed;
        assert_eq!(obs_line(&s), "OBS: wrong password");
        assert_eq!(obs_line(&ObsStatus::default()), "OBS: not connected");
    }

    #[test]
    fn the_setup_notice_names_what_was_kept_never_a_key() {
        let previous = streampai::ObsPreviousSettings {
            service_type: "rtmp_common".into(),
            service: Some("Twitch".into()),
            server: Some("auto".into()),
            has_key: true,
            saved_at: "2026-01-01T00:00:00Z".into(),
        };
        let r = streampai::ObsSetupReport {
            server: "rtmp://127.0.0.1:1935/live".into(),
            previous: Some(previous.clone()),
            unchanged: false,
        };
        let (title, body) = obs_setup_notice(&r);
        assert_eq!(title, "OBS is set up");
        assert_eq!(
            body,
            "OBS now streams to rtmp://127.0.0.1:1935/live. Your previous settings (Twitch, server auto) are kept: Restore puts them back."
        );
        let custom = streampai::ObsPreviousSettings {
            service_type: "rtmp_custom".into(),
            service: None,
            server: Some("rtmp://x/app".into()),
            ..previous
        };
        assert_eq!(previous_words(&custom), "rtmp://x/app");
        let fresh = streampai::ObsPreviousSettings { server: None, has_key: false, ..custom };
        assert_eq!(previous_words(&fresh), "OBS's empty stream settings (never set)");
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
