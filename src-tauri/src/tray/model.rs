//! What the tray shows, computed from the engine's status (pure, so it is tested directly).

use chrono::{DateTime, Utc};
use streampai::Status;
use streampai::{InputStatus, ObsHealth, ObsState, PlatformStatus, StreamPhase};

/// The tray icon's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrayIconState {
    Offline,
    ObsConnected,
    Live,
    /// On air with a platform failing or retrying, OBS not sending, or OBS reporting congestion
    /// or reconnecting.
    Trouble,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrayModel {
    pub icon: TrayIconState,
    /// e.g. "live · 3/4 platforms · 00:12:34 · 8.4 Mbit/s".
    pub status_line: String,
    /// e.g. "Streampai: live · 8.4 Mbit/s out".
    pub tooltip: String,
    pub can_start: bool,
    pub can_stop: bool,
    /// Every configured platform and whether it is enabled.
    pub platforms: Vec<(String, bool)>,
    /// The alert queue is paused (the menu offers "Resume alerts").
    pub alerts_paused: bool,
    /// The link to OBS in words, e.g. "OBS 29.0.2: connected · streaming".
    pub obs_line: String,
    /// "Set up OBS for me" makes sense now: connected, not streaming, and OBS does not already
    /// stream to the app.
    pub can_setup_obs: bool,
}

impl TrayModel {
    /// The same model with the alert queue's paused flag (read from the alert store).
    pub fn with_alerts_paused(mut self, paused: bool) -> Self {
        self.alerts_paused = paused;
        self
    }

    /// The text of the pause/resume item.
    pub fn alerts_toggle_text(&self) -> &'static str {
        if self.alerts_paused {
            "Resume alerts"
        } else {
            "Pause alerts"
        }
    }
}

/// `hh:mm:ss` (hours grow past 99 if they must).
pub fn format_elapsed(secs: i64) -> String {
    let secs = secs.max(0);
    format!("{:02}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60)
}

/// "850 kbit/s", "4.2 Mbit/s" (the UI's `formatBitrate`).
pub fn format_kbps(kbps: u64) -> String {
    if kbps >= 1000 {
        format!("{:.1} Mbit/s", kbps as f64 / 1000.0)
    } else {
        format!("{kbps} kbit/s")
    }
}

/// The total outgoing bitrate (the engine's `status.upload`), where the outputs measure it (the
/// local relay); `None` when no output reports one (offline, Cloudflare outputs).
pub fn total_kbps(status: &Status) -> Option<u64> {
    status.upload.total_kbps.map(u64::from)
}

pub fn model(status: &Status, now: DateTime<Utc>) -> TrayModel {
    let stream = &status.stream;
    let platforms: Vec<(String, bool)> =
        stream.platforms.iter().map(|(n, s)| (n.clone(), s.status != PlatformStatus::Disabled)).collect();
    let enabled = platforms.iter().filter(|(_, on)| *on).count();
    let live = stream.platforms.values().filter(|s| s.status == PlatformStatus::Live).count();
    let on_air = matches!(stream.state, StreamPhase::Starting | StreamPhase::Live);
    let troubled = stream
        .platforms
        .values()
        .any(|s| matches!(s.status, PlatformStatus::Failed { .. } | PlatformStatus::Retrying { .. }))
        || status.input == InputStatus::NoTraffic
        || matches!(status.obs.health, ObsHealth::Congested | ObsHealth::Reconnecting);
    let icon = match () {
        _ if on_air && troubled => TrayIconState::Trouble,
        _ if on_air => TrayIconState::Live,
        _ if status.input == InputStatus::ReceivingTraffic => TrayIconState::ObsConnected,
        _ => TrayIconState::Offline,
    };
    let status_line = match stream.state {
        StreamPhase::Offline => match status.input {
            InputStatus::ReceivingTraffic => "offline · OBS connected".to_string(),
            InputStatus::NoTraffic => "offline · Waiting for OBS".to_string(),
            InputStatus::Unknown => "offline".to_string(),
        },
        StreamPhase::Starting => format!("starting · {live}/{enabled} platforms"),
        StreamPhase::Live => {
            let elapsed = stream.started_at.map(|t| (now - t).num_seconds()).unwrap_or(0);
            let mut line = format!("live · {live}/{enabled} platforms · {}", format_elapsed(elapsed));
            if let Some(kbps) = total_kbps(status) {
                line.push_str(&format!(" · {}", format_kbps(kbps)));
            }
            line
        }
        StreamPhase::Stopping => "stopping".to_string(),
    };
    let mut tooltip = match icon {
        TrayIconState::Offline => "Streampai: offline".to_string(),
        TrayIconState::ObsConnected => "Streampai: OBS connected".to_string(),
        TrayIconState::Live => "Streampai: live".to_string(),
        TrayIconState::Trouble => "Streampai: live, needs attention".to_string(),
    };
    if let (true, Some(kbps)) = (on_air, total_kbps(status)) {
        tooltip.push_str(&format!(" · {} out", format_kbps(kbps)));
        if status.upload.over_budget {
            tooltip.push_str(" · over the upload budget");
        }
    }
    TrayModel {
        icon,
        status_line,
        tooltip,
        can_start: stream.state == StreamPhase::Offline && enabled > 0,
        can_stop: on_air,
        platforms,
        alerts_paused: false,
        obs_line: crate::words::obs_line(&status.obs),
        can_setup_obs: status.obs.state == ObsState::Connected
            && !status.obs.streaming
            && status.obs.uses_app_ingest != Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use streampai::StreamStatus;

    fn status(state: StreamPhase, input: InputStatus, platforms: &[(&str, PlatformStatus)]) -> Status {
        Status {
            user_id: "u".into(),
            manager: "running",
            sync: Default::default(),
            obs: Default::default(),
            accounts: Default::default(),
            stream_info: Default::default(),
            input,
            stream: StreamStatus {
                state,
                uuid: None,
                started_at: Some("2026-01-01T10:00:00Z".parse().unwrap()),
                platforms: platforms
                    .iter()
                    .map(|(n, s)| (n.to_string(), streampai::PlatformSnapshot::unmeasured(s.clone())))
                    .collect::<BTreeMap<_, _>>(),
            },
            ingest: streampai::IngestEndpoint {
                backend: streampai::config::IngestBackend::Local,
                url: None,
                stream_key: None,
            },
            upload: streampai::UploadStatus::default(),
            presence: vec![],
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn live_line_counts_platforms_and_time() {
        use PlatformStatus::*;
        let st = status(
            StreamPhase::Live,
            InputStatus::ReceivingTraffic,
            &[("a", Live), ("b", Live), ("c", Live), ("d", Starting), ("e", Disabled)],
        );
        let m = model(&st, at("2026-01-01T10:12:34Z"));
        assert_eq!(m.status_line, "live · 3/4 platforms · 00:12:34");
        assert_eq!(m.icon, TrayIconState::Live);
        assert!(m.can_stop && !m.can_start);
        assert_eq!(m.platforms.iter().filter(|(_, on)| *on).count(), 4);
        assert_eq!(m.platforms[4], ("e".to_string(), false));
    }

    #[test]
    fn trouble_when_a_platform_fails_or_obs_stops_while_on_air() {
        let failed = PlatformStatus::Failed {
            reason: streampai::failure::Failure::new(
                streampai::failure::FailureKind::Other,
                streampai::failure::FailureSource::Platform,
                "nope",
            ),
        };
        let st = status(StreamPhase::Live, InputStatus::ReceivingTraffic, &[("a", failed)]);
        assert_eq!(model(&st, Utc::now()).icon, TrayIconState::Trouble);
        let st = status(StreamPhase::Live, InputStatus::NoTraffic, &[("a", PlatformStatus::Live)]);
        assert_eq!(model(&st, Utc::now()).icon, TrayIconState::Trouble);
        let retrying = PlatformStatus::Retrying {
            reason: streampai::failure::Failure::new(
                streampai::failure::FailureKind::Timeout,
                streampai::failure::FailureSource::Platform,
                "x",
            ),
            attempt: 2,
        };
        let st = status(StreamPhase::Starting, InputStatus::ReceivingTraffic, &[("a", retrying)]);
        let m = model(&st, Utc::now());
        assert_eq!((m.icon, m.status_line.as_str()), (TrayIconState::Trouble, "starting · 0/1 platforms"));
    }

    #[test]
    fn offline_states_and_start_availability() {
        let st =
            status(StreamPhase::Offline, InputStatus::ReceivingTraffic, &[("a", PlatformStatus::Stopped)]);
        let m = model(&st, Utc::now());
        assert_eq!(
            (m.icon, m.status_line.as_str()),
            (TrayIconState::ObsConnected, "offline · OBS connected")
        );
        assert!(m.can_start && !m.can_stop);
        let st = status(StreamPhase::Offline, InputStatus::NoTraffic, &[("a", PlatformStatus::Disabled)]);
        let m = model(&st, Utc::now());
        assert_eq!((m.icon, m.status_line.as_str()), (TrayIconState::Offline, "offline · Waiting for OBS"));
        assert!(!m.can_start, "nothing enabled: nothing to start");
        let st = status(StreamPhase::Stopping, InputStatus::Unknown, &[]);
        let m = model(&st, Utc::now());
        assert_eq!(m.status_line, "stopping");
        assert!(!m.can_start && !m.can_stop);
    }

    #[test]
    fn live_line_and_tooltip_show_the_total_outgoing_bitrate() {
        use PlatformStatus::*;
        let mut st = status(StreamPhase::Live, InputStatus::ReceivingTraffic, &[("a", Live), ("b", Live)]);
        let m = model(&st, at("2026-01-01T10:00:05Z"));
        assert_eq!(m.status_line, "live · 2/2 platforms · 00:00:05", "Cloudflare outputs: no bitrate");
        assert_eq!(m.tooltip, "Streampai: live");
        st.upload = streampai::UploadStatus::compute([Some(4200), Some(4150)], Some(10_000));
        let m = model(&st, at("2026-01-01T10:00:05Z"));
        assert_eq!(m.status_line, "live · 2/2 platforms · 00:00:05 · 8.3 Mbit/s");
        assert_eq!(m.tooltip, "Streampai: live · 8.3 Mbit/s out");
        st.upload = streampai::UploadStatus::compute([Some(4200), Some(4150)], Some(8000));
        let m = model(&st, at("2026-01-01T10:00:05Z"));
        assert_eq!(m.tooltip, "Streampai: live · 8.3 Mbit/s out · over the upload budget");
        st.stream.state = StreamPhase::Offline;
        assert_eq!(model(&st, Utc::now()).tooltip, "Streampai: OBS connected", "offline: no bitrate");
        assert_eq!(format_kbps(850), "850 kbit/s");
        assert_eq!(total_kbps(&st), Some(8350));
    }

    #[test]
    fn the_obs_line_and_set_up_obs() {
        let mut st = status(StreamPhase::Offline, InputStatus::Unknown, &[("a", PlatformStatus::Stopped)]);
        let m = model(&st, Utc::now());
        assert_eq!((m.obs_line.as_str(), m.can_setup_obs), ("OBS: not connected", false));
        st.obs.state = ObsState::Connected;
        st.obs.obs_version = Some("29.0.2".into());
        st.obs.uses_app_ingest = Some(false);
        let m = model(&st, Utc::now());
        assert_eq!((m.obs_line.as_str(), m.can_setup_obs), ("OBS 29.0.2: connected", true));
        st.obs.uses_app_ingest = None;
        assert!(model(&st, Utc::now()).can_setup_obs, "not known yet: offered");
        st.obs.uses_app_ingest = Some(true);
        assert!(!model(&st, Utc::now()).can_setup_obs, "already set up");
        st.obs.uses_app_ingest = Some(false);
        st.obs.streaming = true;
        assert!(!model(&st, Utc::now()).can_setup_obs, "refused while OBS streams");
        // OBS's health while live: trouble.
        st.stream.state = StreamPhase::Live;
        st.input = InputStatus::ReceivingTraffic;
        st.stream.platforms.insert("a".into(), streampai::PlatformSnapshot::unmeasured(PlatformStatus::Live));
        st.obs.health = ObsHealth::Good;
        assert_eq!(model(&st, Utc::now()).icon, TrayIconState::Live);
        st.obs.health = ObsHealth::Congested;
        let m = model(&st, Utc::now());
        assert_eq!(m.icon, TrayIconState::Trouble);
        assert_eq!(m.obs_line, "OBS 29.0.2: connected · streaming · congested");
    }

    #[test]
    fn the_alert_item_says_what_it_will_do() {
        let st = status(StreamPhase::Offline, InputStatus::Unknown, &[]);
        let m = model(&st, Utc::now());
        assert_eq!(m.alerts_toggle_text(), "Pause alerts");
        assert_eq!(m.with_alerts_paused(true).alerts_toggle_text(), "Resume alerts");
    }

    #[test]
    fn elapsed_formatting() {
        assert_eq!(format_elapsed(0), "00:00:00");
        assert_eq!(format_elapsed(-5), "00:00:00");
        assert_eq!(format_elapsed(3600 * 101 + 61), "101:01:01");
    }
}
