//! Platforms: presets and validation, the PlatformSupervisor and one PlatformWorker per platform.

use serde::Serialize;

pub mod platform;
pub mod relay_worker;
pub mod supervisor;
pub mod worker;

pub use platform::{url_problem, validate_name, validate_url, PlatformKind, PlatformTarget};
pub use supervisor::PlatformSupervisorHandle;

/// Total outgoing bitrate (the local relay multiplies the upload by the number of platforms)
/// against the configured budget.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UploadStatus {
    /// Sum of the platforms' current bitrates; `null` when none is measured (offline, or
    /// Cloudflare outputs).
    pub total_kbps: Option<u32>,
    /// `[local] upload_budget_kbps`; `null` when not set.
    pub budget_kbps: Option<u32>,
    /// A budget is set and the total is above it.
    pub over_budget: bool,
}

impl UploadStatus {
    /// From the platforms' current bitrates (`None` where not measured).
    pub fn compute(bitrates: impl IntoIterator<Item = Option<u32>>, budget_kbps: Option<u32>) -> Self {
        let total_kbps = bitrates
            .into_iter()
            .flatten()
            .fold(None, |acc: Option<u32>, b| Some(acc.unwrap_or(0).saturating_add(b)));
        let over_budget = matches!((total_kbps, budget_kbps), (Some(t), Some(b)) if t > b);
        UploadStatus { total_kbps, budget_kbps, over_budget }
    }
}
