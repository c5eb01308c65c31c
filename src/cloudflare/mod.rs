//! Cloudflare Stream: the API client, the live-input manager and the live-input monitor.

pub mod api;
pub mod manager;
pub mod monitor;

pub use api::{CloudflareClient, CloudflareError};
pub use manager::{CloudflareManagerArgs, CloudflareManagerHandle, IngestError, IngestInfo};
