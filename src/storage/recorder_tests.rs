use std::sync::Mutex;

use super::*;
use crate::storage::Db;

struct FakeSource {
    outputs: Mutex<BTreeMap<String, OutputSample>>,
}

impl RecorderSource for FakeSource {
    fn backend(&self) -> String {
        "local".into()
    }
    fn outputs(&self) -> BTreeMap<String, OutputSample> {
        self.outputs.lock().unwrap().clone()
    }
    fn sample_interval(&self) -> Duration {
        Duration::from_millis(1000)
    }
    fn upload_budget_kbps(&self) -> Option<u32> {
        Some(3000)
    }
}

fn out(bitrate_kbps: u32, bytes_sent: u64, reconnects: u32) -> OutputSample {
    OutputSample { bitrate_kbps, bytes_sent, reconnects }
}

// No sockets here: the paused clock runs the sample ticks without real waiting.
#[tokio::test(start_paused = true)]
async fn samples_every_tick_and_records_final_statistics_and_the_end_reason() {
    let bus = EventBus::new();
    let history = HistoryStore::new(Db::open_in_memory().unwrap());
    let source = Arc::new(FakeSource { outputs: Mutex::new(BTreeMap::new()) });
    let args = RecorderArgs {
        user_id: "u".into(),
        bus: bus.clone(),
        history: history.clone(),
        source: source.clone(),
    };
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run(args, cancel.clone()));
    tokio::task::yield_now().await;
    let ev = bus.user("u");
    let uuid = Uuid::new_v4();
    let state = |state| Event::StreamState { user_id: "u".into(), state, uuid: Some(uuid), started_at: None };
    let platform =
        |p: &str, status| Event::PlatformStatus { user_id: "u".into(), platform: p.into(), status };

    ev.emit(state(StreamPhase::Starting));
    // `tw` and `yt` go through the relay; `cf` has no measured output (like Cloudflare).
    for p in ["tw", "yt", "cf"] {
        ev.emit(platform(p, PlatformStatus::Starting));
    }
    *source.outputs.lock().unwrap() =
        BTreeMap::from([("tw".into(), out(2000, 1000, 0)), ("yt".into(), out(2500, 2000, 1))]);
    for p in ["tw", "yt", "cf"] {
        ev.emit(platform(p, PlatformStatus::Live));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await; // two ticks
    *source.outputs.lock().unwrap() =
        BTreeMap::from([("tw".into(), out(2000, 9000, 0)), ("yt".into(), out(2500, 9500, 3))]);
    ev.emit(state(StreamPhase::Stopping));
    tokio::time::sleep(Duration::from_millis(10)).await;
    source.outputs.lock().unwrap().clear(); // outputs removed by the stop
    tokio::time::sleep(Duration::from_millis(3000)).await; // no samples while stopping
    for p in ["tw", "yt", "cf"] {
        ev.emit(platform(p, PlatformStatus::Stopped));
    }
    ev.emit(Event::StreamEnded { user_id: "u".into(), uuid, ended_by: EndReason::SourceLost });
    ev.emit(Event::StreamState {
        user_id: "u".into(),
        state: StreamPhase::Offline,
        uuid: None,
        started_at: None,
    });
    for _ in 0..100 {
        if history.list().unwrap().first().is_some_and(|s| s.ended_at.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let d = history.detail(uuid).unwrap().expect("recorded");
    assert_eq!(d.stream.ended_by.as_deref(), Some("source_lost"));
    assert_eq!(d.samples.len(), 6, "two ticks × three platforms: {:?}", d.samples);
    let tw: Vec<_> = d.samples.iter().filter(|s| s.platform == "tw").collect();
    assert!(tw.iter().all(|s| s.bitrate_kbps == Some(2000) && s.bytes_sent == Some(1000)), "{tw:?}");
    let cf: Vec<_> = d.samples.iter().filter(|s| s.platform == "cf").collect();
    assert_eq!(cf.len(), 2);
    assert!(cf.iter().all(|s| s.bitrate_kbps.is_none() && s.bytes_sent.is_none()), "{cf:?}");
    let yt = &d.stream.platforms["yt"];
    assert_eq!((yt.outcome.as_str(), yt.bytes_sent, yt.reconnects), ("live", Some(9500), Some(3)));
    assert_eq!((d.stream.platforms["cf"].bytes_sent, d.stream.platforms["cf"].reconnects), (None, None));
    cancel.cancel();
    task.await.unwrap().unwrap();
}

#[test]
fn the_upload_total_counts_measured_platforms_only() {
    let none = UploadStatus::compute([None, None], Some(1000));
    assert_eq!((none.total_kbps, none.over_budget), (None, false));
    let under = UploadStatus::compute([Some(400), None, Some(600)], Some(1000));
    assert_eq!((under.total_kbps, under.over_budget), (Some(1000), false), "equal is not over");
    let over = UploadStatus::compute([Some(400), Some(601)], Some(1000));
    assert_eq!((over.total_kbps, over.budget_kbps, over.over_budget), (Some(1001), Some(1000), true));
    assert!(!UploadStatus::compute([Some(90_000)], None).over_budget, "no budget, never over");
}

#[test]
fn the_budget_warning_is_once_per_crossing() {
    let mut watch = BudgetWatch::default();
    let seen: Vec<_> = [500, 1500, 1600, 900, 1200]
        .into_iter()
        .map(|kbps| watch.observe(&UploadStatus::compute([Some(kbps)], Some(1000))))
        .collect();
    assert_eq!(seen, [None, Some(true), None, Some(false), Some(true)]);
}
