//! The stream history over the control API and in-process: the list, one stream's detail
//! (samples and events in time order), and how streams end.

mod support;

use std::time::Duration;

use chrono::DateTime;
use serde_json::Value;
use streampai::StreamPhase;
use support::*;

fn times(list: &Value) -> Vec<DateTime<chrono::FixedOffset>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| DateTime::parse_from_rfc3339(e["at"].as_str().expect("RFC 3339 `at`")).unwrap())
        .collect()
}

#[tokio::test]
async fn a_stream_detail_has_its_events_in_time_order() {
    let rig = Rig::new(&FIVE[..2]).await;
    let c = Control::start(&rig.engine).await;
    rig.open_window("window:main");
    let uuid = rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    rig.engine.stop_stream().await.unwrap();
    wait_until_async("recorded", Duration::from_secs(5), || async {
        rig.engine.stream_history().unwrap().first().is_some_and(|s| s.ended_at.is_some())
    })
    .await;

    let (code, d) = c.get(&format!("/api/v1/streams/{uuid}")).await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["uuid"], uuid.to_string());
    assert_eq!((d["ended_by"].as_str(), d["backend"].as_str()), (Some("stopped"), Some("cloudflare")));
    assert_eq!(d["platforms"]["twitch-main"]["outcome"], "live");
    assert!(d["samples"].is_array(), "{d}");
    let events = d["events"].as_array().unwrap();
    for p in ["twitch-main", "youtube-main"] {
        let kinds: Vec<_> =
            events.iter().filter(|e| e["platform"] == p).map(|e| e["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"live"), "{p}: {kinds:?}");
        assert_eq!(kinds.last(), Some(&"stopped"), "{p}: {kinds:?}");
    }
    let t = times(&d["events"]);
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "events in time order: {t:?}");

    // The same through the engine, in-process.
    let detail = rig.engine.stream_detail(uuid).unwrap().expect("known stream");
    assert_eq!(detail.events.len(), events.len());
    assert_eq!(detail.stream.ended_by.as_deref(), Some("stopped"));
    assert_eq!(rig.engine.stream_history().unwrap()[0].uuid, uuid);

    c.stop().await;
    rig.shutdown().await;
}

#[tokio::test]
async fn cloudflare_streams_are_sampled_as_not_measured() {
    let rig = Rig::with(&FIVE[..2], |c| c.history.sample_interval_ms = 500).await;
    rig.open_window("window:main");
    let uuid = rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    wait_until_async("a sample per platform", Duration::from_secs(10), || async {
        let d = rig.engine.stream_detail(uuid).unwrap().unwrap();
        ["twitch-main", "youtube-main"].iter().all(|p| d.samples.iter().any(|s| s.platform == *p))
    })
    .await;
    let d = rig.engine.stream_detail(uuid).unwrap().unwrap();
    assert!(d.samples.iter().all(|s| s.bitrate_kbps.is_none() && s.bytes_sent.is_none()), "{:?}", d.samples);
    let up = rig.status().await.upload;
    assert_eq!((up.total_kbps, up.over_budget), (None, false), "Cloudflare outputs are not measured");
    rig.engine.stop_stream().await.unwrap();
    wait_until_async("recorded", Duration::from_secs(5), || async {
        rig.engine.stream_history().unwrap()[0].ended_at.is_some()
    })
    .await;
    let rec = &rig.engine.stream_history().unwrap()[0];
    assert_eq!(rec.platforms["twitch-main"].bytes_sent, None);
    rig.shutdown().await;
}

#[tokio::test]
async fn unknown_and_malformed_stream_ids_are_clear_errors() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let unknown = uuid::Uuid::new_v4();
    let (code, body) = c.get(&format!("/api/v1/streams/{unknown}")).await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["error"]["kind"], "not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains(&unknown.to_string()), "{body}");
    assert!(e.stream_detail(unknown).unwrap().is_none());

    let (code, body) = c.get("/api/v1/streams/not-a-uuid").await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["kind"], "bad_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("not a stream UUID"), "{body}");

    let res = c.http().get(format!("{}/api/v1/streams/{unknown}", c.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401, "the token is required");
    c.stop().await;
    e.shutdown().await;
}
