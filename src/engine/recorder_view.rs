//! What the HistoryRecorder reads from the user's stream in force.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::user_stream_manager::UserStream;

pub(super) struct RecorderView(pub(super) Arc<std::sync::RwLock<Arc<UserStream>>>);

impl RecorderView {
    fn user(&self) -> Arc<UserStream> {
        self.0.read().map(|u| u.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }
}

impl crate::storage::recorder::RecorderSource for RecorderView {
    fn backend(&self) -> String {
        format!("{:?}", self.user().config().ingest_backend()).to_lowercase()
    }

    fn outputs(&self) -> BTreeMap<String, crate::storage::recorder::OutputSample> {
        let Some(relay) = self.user().relay() else { return BTreeMap::new() };
        relay
            .outputs()
            .into_iter()
            .map(|o| {
                let sample = crate::storage::recorder::OutputSample {
                    bitrate_kbps: o.bitrate_kbps,
                    bytes_sent: o.bytes_sent,
                    reconnects: o.reconnects,
                };
                (o.name, sample)
            })
            .collect()
    }

    fn sample_interval(&self) -> Duration {
        Duration::from_millis(self.user().config().history.sample_interval_ms)
    }

    fn upload_budget_kbps(&self) -> Option<u32> {
        self.user().config().local.upload_budget_kbps
    }
}
