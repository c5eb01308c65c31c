//! Streampai engine: presence → UserStreamManager → platforms, headless and GUI-free.
//!
//! The public surface: [`Engine`] (start, stop, status, debug tree, presence, events),
//! [`Config`], the handles of a user's tree, and [`events::Event`].

pub mod actor;
pub mod alerts;
pub mod cloudflare;
pub mod config;
pub mod control;
pub mod engine;
mod error;
pub mod events;
pub mod failure;
pub mod ingest;
pub mod platforms;
pub mod presence;
pub mod relay;
pub mod secrets;
pub mod state_file;
pub mod storage;
pub mod stream_automation;
pub mod stream_state;
pub mod supervisor;
pub mod sync;
pub mod telemetry;
pub mod user_stream_manager;

pub use config::{Config, ConfigError};
pub use engine::{
    DebugTree, Engine, EngineOptions, IngestEndpoint, IngestSettings, PlatformSnapshot, Status, UploadStatus,
};
pub use error::EngineError;
pub use events::{Event, EventBus};
