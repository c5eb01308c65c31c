//! Desktop notifications: while on air, a platform failing (its typed reason in words, see
//! [`crate::words`]) or OBS stopping sends one; so does the engine ending a stream because OBS
//! sent nothing for too long. OBS's own health turning `congested` or `reconnecting` while on
//! air sends one per episode (until OBS's health is good again or the stream ends). An alert
//! held for review (moderation) sends one at any time: it waits on the Alerts page.

use streampai::Event;
use streampai::{EndReason, InputStatus, ObsHealth, PlatformStatus, StreamPhase};
use tauri::{AppHandle, Manager, Runtime};

use crate::shell::Shell;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// Follows the event stream and says when a notification is due.
#[derive(Debug, Default)]
pub struct Watch {
    on_air: bool,
    input: InputStatus,
    /// A notice about OBS's health went out in this episode of bad health.
    obs_noticed: bool,
}

impl Watch {
    pub fn on_air(&self) -> bool {
        self.on_air
    }

    /// `label` names a platform as the streamer knows it (see [`crate::words::platform_label`]).
    pub fn observe(&mut self, event: &Event, label: &dyn Fn(&str) -> String) -> Option<Notice> {
        match event {
            Event::StreamState { state, .. } => {
                self.on_air = matches!(state, StreamPhase::Starting | StreamPhase::Live);
                if !self.on_air {
                    self.obs_noticed = false;
                }
                None
            }
            Event::ObsStatus { status, .. } => {
                if matches!(status.health, ObsHealth::Idle | ObsHealth::Good) {
                    self.obs_noticed = false;
                    return None;
                }
                if !self.on_air || self.obs_noticed {
                    return None;
                }
                self.obs_noticed = true;
                crate::words::obs_health_notice(status).map(|(title, body)| Notice { title, body })
            }
            Event::PlatformStatus { platform, status: PlatformStatus::Failed { reason }, .. }
                if self.on_air =>
            {
                let name = label(platform);
                Some(Notice {
                    title: format!("{name} stopped streaming"),
                    body: crate::words::failure_text(reason, &name),
                })
            }
            Event::InputStatus { status, .. } => {
                let was = std::mem::replace(&mut self.input, *status);
                (self.on_air && was == InputStatus::ReceivingTraffic && *status == InputStatus::NoTraffic)
                    .then(|| Notice {
                        title: "OBS stopped sending".into(),
                        body: "Your platforms get no video until OBS streams again.".into(),
                    })
            }
            Event::AlertHeld { alert, .. } => {
                let message = alert.message.as_deref().map(str::trim).filter(|m| !m.is_empty());
                let excerpt = message.map(|m| {
                    let mut short: String = m.chars().take(80).collect();
                    if m.chars().count() > 80 {
                        short.push('…');
                    }
                    format!(": “{short}”")
                });
                Some(Notice {
                    title: "An alert waits for your review".into(),
                    body: format!(
                        "{}{} — approve or reject it on the Alerts page.",
                        alert.from,
                        excerpt.unwrap_or_default()
                    ),
                })
            }
            // The engine ended the stream by itself ([local] source_timeout_ms without OBS).
            Event::StreamEnded { ended_by: EndReason::SourceLost, .. } => Some(Notice {
                title: "Stream ended".into(),
                body: "OBS sent nothing for too long, so the stream was stopped on every platform.".into(),
            }),
            _ => None,
        }
    }
}

/// Shows a desktop notification (logged too; silently skipped without the plugin, and once the
/// app is exiting). Called from the blocking pool, so the shell never makes the plugin's call on
/// a runtime worker (on Linux, plugin 2.8 hands its synchronous D-Bus call to the blocking pool
/// itself; on macOS and Windows it makes its call in an async task, which the shell cannot change).
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    tracing::info!(title, body, "notification");
    if app.try_state::<Shell>().is_some_and(|s| s.quit.is_exiting()) {
        return;
    }
    if app.try_state::<tauri_plugin_notification::Notification<R>>().is_none() {
        return;
    }
    let (app, title, body) = (app.clone(), title.to_owned(), body.to_owned());
    tauri::async_runtime::spawn_blocking(move || {
        use tauri_plugin_notification::NotificationExt;
        if let Err(e) = app.notification().builder().title(title).body(body).show() {
            tracing::warn!(cause = %e, "cannot show a notification");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(state: StreamPhase) -> Event {
        Event::StreamState { user_id: "u".into(), state, uuid: None, started_at: None }
    }
    fn input(status: InputStatus) -> Event {
        Event::InputStatus { user_id: "u".into(), status }
    }
    fn plain(name: &str) -> String {
        name.to_string()
    }
    fn failed(p: &str) -> Event {
        Event::PlatformStatus {
            user_id: "u".into(),
            platform: p.into(),
            status: PlatformStatus::Failed {
                reason: streampai::failure::Failure::new(
                    streampai::failure::FailureKind::AuthRejected,
                    streampai::failure::FailureSource::Platform,
                    "key rejected",
                ),
            },
        }
    }

    #[test]
    fn a_held_alert_notifies_on_or_off_air_with_a_short_excerpt() {
        let held = |message: Option<&str>| Event::AlertHeld {
            user_id: "u".into(),
            alert: streampai::alerts::Alert {
                id: "a1".into(),
                kind: streampai::alerts::AlertKind::Donation,
                from: "Ann".into(),
                amount: Some(5.0),
                currency: Some("USD".into()),
                message: message.map(str::to_string),
                platform: None,
                received_at: chrono::Utc::now(),
            },
        };
        let mut w = Watch::default();
        let n = w.observe(&held(Some("  hello there ")), &plain).expect("off air too");
        assert_eq!(n.title, "An alert waits for your review");
        assert_eq!(n.body, "Ann: “hello there” — approve or reject it on the Alerts page.");
        let long = "x".repeat(200);
        let n = w.observe(&held(Some(&long)), &plain).unwrap();
        assert!(n.body.contains(&format!("“{}…”", "x".repeat(80))), "{}", n.body);
        let n = w.observe(&held(None), &plain).unwrap();
        assert_eq!(n.body, "Ann — approve or reject it on the Alerts page.");
    }

    #[test]
    fn only_trouble_while_on_air_notifies() {
        let mut w = Watch::default();
        assert_eq!(w.observe(&input(InputStatus::ReceivingTraffic), &plain), None);
        assert_eq!(w.observe(&failed("tw"), &plain), None, "offline: no notice");
        assert_eq!(w.observe(&input(InputStatus::NoTraffic), &plain), None, "offline: no notice");
        w.observe(&input(InputStatus::ReceivingTraffic), &plain);
        w.observe(&state(StreamPhase::Live), &plain);
        let n = w.observe(&failed("tw"), &plain).unwrap();
        assert_eq!(n.title, "tw stopped streaming");
        assert_eq!(
            n.body, "tw refused the stream key.\nkey rejected",
            "the typed reason in words, the detail after"
        );
        assert_eq!(w.observe(&input(InputStatus::NoTraffic), &plain).unwrap().title, "OBS stopped sending");
        assert_eq!(w.observe(&input(InputStatus::NoTraffic), &plain), None, "only on the change");
        w.observe(&state(StreamPhase::Offline), &plain);
        assert!(!w.on_air());
        assert_eq!(w.observe(&failed("tw"), &plain), None);
    }

    #[test]
    fn the_notice_names_the_platform_as_the_streamer_knows_it() {
        let mut w = Watch::default();
        w.observe(&state(StreamPhase::Live), &plain);
        let label = |n: &str| crate::words::platform_label(n, Some(streampai::PlatformKind::Twitch));
        let n = w.observe(&failed("twitch"), &label).unwrap();
        assert_eq!(n.title, "Twitch stopped streaming");
        assert!(n.body.starts_with("Twitch refused the stream key."), "{}", n.body);
    }

    fn obs(health: ObsHealth) -> Event {
        Event::ObsStatus {
            user_id: "u".into(),
            status: streampai::ObsStatus {
                state: streampai::ObsState::Connected,
                streaming: health != ObsHealth::Idle,
                health,
                ..Default::default()
            },
        }
    }

    #[test]
    fn obs_health_trouble_notifies_once_per_episode_while_on_air() {
        let mut w = Watch::default();
        assert_eq!(w.observe(&obs(ObsHealth::Congested), &plain), None, "offline: no notice");
        w.observe(&obs(ObsHealth::Good), &plain);
        w.observe(&state(StreamPhase::Live), &plain);
        assert_eq!(w.observe(&obs(ObsHealth::Good), &plain), None);
        let n = w.observe(&obs(ObsHealth::Congested), &plain).unwrap();
        assert_eq!(n.title, "OBS is dropping frames");
        assert_eq!(w.observe(&obs(ObsHealth::Congested), &plain), None, "same episode");
        assert_eq!(w.observe(&obs(ObsHealth::Reconnecting), &plain), None, "still the same episode");
        w.observe(&obs(ObsHealth::Good), &plain);
        let n = w.observe(&obs(ObsHealth::Reconnecting), &plain).unwrap();
        assert_eq!(n.title, "OBS lost its connection", "a new episode");
        w.observe(&state(StreamPhase::Offline), &plain);
        w.observe(&state(StreamPhase::Live), &plain);
        assert!(w.observe(&obs(ObsHealth::Reconnecting), &plain).is_some(), "a new stream, a new episode");
    }

    #[test]
    fn a_stream_the_engine_ended_for_lack_of_source_notifies() {
        let ended = |ended_by| Event::StreamEnded { user_id: "u".into(), uuid: uuid::Uuid::nil(), ended_by };
        let mut w = Watch::default();
        assert_eq!(w.observe(&ended(EndReason::SourceLost), &plain).unwrap().title, "Stream ended");
        assert_eq!(w.observe(&ended(EndReason::Stopped), &plain), None, "the user stopped it: no notice");
    }
}
