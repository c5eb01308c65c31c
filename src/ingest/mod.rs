//! The local ingest backend: OBS publishes to the embedded RTMP relay on this machine
//! (`rtmp://<listen>/live/<ingest key>`), and the relay pushes to every platform.
//!
//! In the user's tree it takes the places of the Cloudflare children: `LocalIngestManager`
//! owns the relay (the ingest endpoint) and `LocalIngestMonitor` tells the StreamStateServer
//! whether media is arriving.

pub mod local;

pub use local::RelaySlot;
