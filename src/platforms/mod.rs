//! Platforms: presets and validation, the PlatformSupervisor and one PlatformWorker per platform.

pub mod platform;
pub mod relay_worker;
pub mod supervisor;
pub mod worker;

pub use platform::{url_problem, validate_name, validate_url, PlatformKind, PlatformTarget};
pub use supervisor::PlatformSupervisorHandle;
