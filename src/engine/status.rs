//! The typed views every front end shows: the status and the debug tree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Engine;
use crate::config::IngestBackend;
use crate::platforms::UploadStatus;
use crate::presence::SessionInfo;
use crate::stream_state::{InputStatus, PlatformStatus, StreamPhase};
use crate::supervisor::ChildInfo;
use crate::sync::SyncStatus;

/// `GET /api/v1/status`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Status {
    pub user_id: String,
    /// `running` or `stopped`.
    pub manager: &'static str,
    pub input: InputStatus,
    /// Where OBS streams to. The stream key appears only here (token-protected) and in the UI
    /// on reveal.
    pub ingest: IngestEndpoint,
    pub stream: StreamStatus,
    /// The platforms' total outgoing bitrate against `[local] upload_budget_kbps`.
    pub upload: UploadStatus,
    pub presence: Vec<SessionInfo>,
    /// The link to the sync server (`state: "off"` when not configured).
    pub sync: SyncStatus,
    /// The link to OBS and OBS's own view of its stream.
    pub obs: crate::obs::ObsStatus,
    /// Platform accounts (sign-in state, login, last problem, event feed).
    pub accounts: crate::accounts::AccountsStatus,
    /// The saved stream info and the last push's per-platform results.
    pub stream_info: crate::stream_info::StreamInfoView,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestEndpoint {
    pub backend: IngestBackend,
    /// `None` until known (e.g. before the Cloudflare live input exists).
    pub url: Option<String>,
    pub stream_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamStatus {
    pub state: StreamPhase,
    pub uuid: Option<Uuid>,
    pub started_at: Option<DateTime<Utc>>,
    pub platforms: BTreeMap<String, PlatformSnapshot>,
}

/// One platform in the status: its status plus output statistics (`null` where the backend
/// cannot measure them, e.g. Cloudflare outputs).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlatformSnapshot {
    #[serde(flatten)]
    pub status: PlatformStatus,
    pub bytes_sent: Option<u64>,
    pub bitrate_kbps: Option<u32>,
    pub reconnects: Option<u32>,
    pub dropped_frames: Option<u64>,
}

impl PlatformSnapshot {
    /// A status with no output statistics.
    pub fn unmeasured(status: PlatformStatus) -> Self {
        PlatformSnapshot {
            status,
            bytes_sent: None,
            bitrate_kbps: None,
            reconnects: None,
            dropped_frames: None,
        }
    }
}

/// `GET /api/v1/debug`: the live task tree, like the old `PresenceHelper.debug()`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DebugTree {
    pub uptime_ms: u64,
    /// The engine's own children (HistoryRecorder, users, PresenceManager, SyncClient, TwitchAccount,
    /// StreamInfo).
    pub engine: Vec<ChildInfo>,
    pub users: Vec<DebugUser>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DebugUser {
    pub user_id: String,
    pub manager: &'static str,
    pub manager_restarts: u32,
    pub sessions: Vec<SessionInfo>,
    pub children: Vec<DebugChild>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DebugChild {
    #[serde(flatten)]
    pub info: ChildInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildInfo>,
}

impl Engine {
    /// `GET /api/v1/status`. The ingest key is included (the API is token-protected); the
    /// desktop UI drops it and asks [`Engine::reveal_ingest_key`] on reveal.
    pub async fn status(&self) -> Status {
        let running = self.is_running();
        let user = self.user();
        let data = if running { user.snapshot().await.ok() } else { None };
        let (input, stream) = match data {
            Some(d) => (
                d.input,
                StreamStatus {
                    state: d.state,
                    uuid: d.uuid,
                    started_at: d.started_at,
                    platforms: d
                        .platforms
                        .into_iter()
                        .map(|(n, s)| (n, PlatformSnapshot::unmeasured(s)))
                        .collect(),
                },
            ),
            None => (
                InputStatus::Unknown,
                StreamStatus {
                    state: StreamPhase::Offline,
                    uuid: None,
                    started_at: None,
                    platforms: user
                        .config()
                        .platforms
                        .iter()
                        .map(|p| {
                            let idle =
                                if p.enabled { PlatformStatus::Stopped } else { PlatformStatus::Disabled };
                            (p.name.clone(), PlatformSnapshot::unmeasured(idle))
                        })
                        .collect(),
                },
            ),
        };
        let backend = user.config().ingest_backend();
        let ingest = match backend {
            IngestBackend::Cloudflare => {
                let known = if running { user.cloudflare_cached().await } else { None };
                IngestEndpoint {
                    backend,
                    url: known.as_ref().and_then(|i| i.rtmps_url.clone()),
                    stream_key: known.and_then(|i| i.rtmps_stream_key).map(|k| k.expose().to_string()),
                }
            }
            IngestBackend::Local => {
                let addr = user
                    .relay()
                    .map(|r| r.local_addr().to_string())
                    .unwrap_or(user.config().local.listen.clone());
                IngestEndpoint {
                    backend,
                    url: Some(format!("rtmp://{addr}/live")),
                    stream_key: Some(user.ingest_key().expose().to_string()),
                }
            }
        };
        // Output statistics where the backend measures them (the local relay).
        let mut stream = stream;
        if let Some(relay) = user.relay() {
            for o in relay.outputs() {
                if let Some(p) = stream.platforms.get_mut(&o.name) {
                    p.bytes_sent = Some(o.bytes_sent);
                    p.bitrate_kbps = Some(o.bitrate_kbps);
                    p.reconnects = Some(o.reconnects);
                    p.dropped_frames = Some(o.dropped_frames);
                }
            }
        }
        let upload = UploadStatus::compute(
            stream.platforms.values().map(|p| p.bitrate_kbps),
            user.config().local.upload_budget_kbps,
        );
        Status {
            user_id: self.user_id().to_string(),
            manager: if running { "running" } else { "stopped" },
            input,
            ingest,
            stream,
            upload,
            presence: self.inner.presence.list(self.user_id()),
            sync: self.sync_status(),
            obs: self.obs_status(),
            accounts: self.accounts_status(),
            stream_info: self.stream_info(),
        }
    }

    pub fn debug_tree(&self) -> DebugTree {
        let users = self
            .inner
            .trees
            .info()
            .children()
            .into_iter()
            .map(|tree| {
                let user = self.user();
                let children = if tree.id == user.user_id() {
                    user.tree_children()
                        .into_iter()
                        .map(|c| {
                            let sub =
                                if c.id == "PlatformSupervisor" { user.worker_children() } else { vec![] };
                            DebugChild { info: c, children: sub }
                        })
                        .collect()
                } else {
                    vec![]
                };
                DebugUser {
                    sessions: self.inner.presence.list(&tree.id),
                    user_id: tree.id,
                    manager: if tree.state == "running" { "running" } else { "restarting" },
                    manager_restarts: tree.restarts,
                    children,
                }
            })
            .collect();
        DebugTree {
            uptime_ms: self.inner.started.elapsed().as_millis() as u64,
            engine: self.inner.root_sup.info().children(),
            users,
        }
    }
}
