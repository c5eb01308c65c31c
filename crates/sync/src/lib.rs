//! The Streampai sync server and its protocol.
//!
//! - [`protocol`]: the versioned, typed JSON messages (spec: `docs/SYNC-PROTOCOL.md`) and the
//!   size-limited decoder both ends use.
//! - [`users`]: the users file (token hashes only, written atomically).
//! - [`server`]: the axum WebSocket server (presence per user, heartbeats, command relay,
//!   limits), with an in-memory or Redis backend.

#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "guard")]
pub mod guard;
pub mod log_safe;
pub mod protocol;
#[cfg(feature = "server")]
pub mod remote;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod users;
