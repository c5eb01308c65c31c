//! Cloudflare Stream: the API client, the live-input manager and the live-input monitor.

// The client and its models cover Cloudflare's Live Input API (its tests exercise all of it
// against the fake); the engine calls a part of it.
#[allow(dead_code, unused_imports)]
pub mod api;
pub mod manager;
pub mod monitor;

pub use manager::{CloudflareManagerHandle, IngestError};
