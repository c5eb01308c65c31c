//! Streampai engine: presence → UserStreamManager → platforms, headless and GUI-free.
//!
//! The public surface is the front door and the types that cross it: [`Engine`] (start, stop,
//! status, debug tree, presence sessions, alerts, ingest settings, settings changes, events),
//! [`Config`], the secret store, the control API's `serve`, the relay as a component, and the
//! value types below. The tree and its actors are crate-private: every front end (control API,
//! desktop shell, tray, sync client, CLI) goes through `Engine`.

// In-crate tests name the crate `streampai`, like the integration tests do.
#[cfg(test)]
extern crate self as streampai;
#[cfg(test)]
mod it;

pub mod accounts;
mod actor;
pub mod alerts;
mod cloudflare;
pub mod config;
pub mod control;
mod engine;
mod error;
pub mod events;
pub mod failure;
mod ingest;
pub mod obs;
mod platform_events;
mod platforms;
mod presence;
pub mod relay;
pub mod secrets;
mod state_file;
mod storage;
mod stream_automation;
pub mod stream_info;
mod stream_state;
// Written once for every supervisor; parts of its API (kill, custom backoff) serve tests only.
#[cfg_attr(not(test), allow(dead_code))]
mod supervisor;
pub mod sync;
pub mod telemetry;
mod user_stream_manager;

pub use actor::ActorError;
pub use cloudflare::api::ConnectionProblem;
pub use config::{Config, ConfigError, IngestBackend, ObsConfig, PlatformConfig};
pub use engine::{
    DebugChild, DebugTree, DebugUser, Engine, EngineOptions, IngestEndpoint, IngestSettings, ObsProbe,
    PlatformSnapshot, Status, StreamStatus,
};
pub use error::EngineError;
pub use events::{Event, EventBus};
pub use obs::{ObsHealth, ObsPreviousSettings, ObsRestoreReport, ObsSetupReport, ObsState, ObsStatus};
pub use platforms::{
    url_problem as platform_url_problem, validate_name, validate_url, PlatformKind, UploadStatus,
};
pub use presence::{SessionGuard, SessionInfo, SessionKind};
pub use state_file::StateFile;
pub use storage::{
    Db, DbError, PlatformOutcome, StreamDetail, StreamEventRecord, StreamRecord, StreamSample,
};
pub use stream_state::{EndReason, InputStatus, PlatformStatus, StreamPhase};
pub use supervisor::ChildInfo;
