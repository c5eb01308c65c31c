use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::sessions::StreamMetadata;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::Hub;
use crate::relay::media::{FrameKind, SharedFrame};
use crate::relay::stats::OutputShared;
use crate::relay::{IngestState, OutputState};

const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 5000);

fn hub() -> Hub {
    let (events, _) = broadcast::channel(64);
    Hub::new(1 << 20, Duration::from_secs(3), events)
}

fn tap(
    hub: &Hub,
    name: &str,
    limit: usize,
) -> (u64, mpsc::UnboundedReceiver<SharedFrame>, Arc<OutputShared>) {
    let shared = Arc::new(OutputShared::new(name, "rtmp://x:1".into(), hub.events().clone()));
    let (id, rx) = hub.add_tap(shared.clone(), limit);
    (id, rx, shared)
}

fn key(len: usize) -> Bytes {
    let mut v = vec![0u8; len.max(2)];
    v[0] = 0x17;
    v[1] = 0x01;
    Bytes::from(v)
}

fn inter(len: usize) -> Bytes {
    let mut v = vec![0u8; len.max(2)];
    v[0] = 0x27;
    v[1] = 0x01;
    Bytes::from(v)
}

fn audio(len: usize) -> Bytes {
    let mut v = vec![0u8; len.max(2)];
    v[0] = 0xaf;
    v[1] = 0x01;
    Bytes::from(v)
}

fn drain(rx: &mut mpsc::UnboundedReceiver<SharedFrame>, shared: &OutputShared) -> Vec<SharedFrame> {
    let mut v = Vec::new();
    while let Ok(f) = rx.try_recv() {
        shared.queued_bytes.fetch_sub(f.data.len(), Ordering::Relaxed);
        v.push(f);
    }
    v
}

fn publish(hub: &Hub, conn: u64) -> CancellationToken {
    let token = CancellationToken::new();
    hub.begin_publish(conn, SocketAddr::from(PEER), token.clone());
    token
}

#[test]
fn every_output_gets_the_same_buffers_from_a_keyframe_on() {
    let hub = hub();
    let (a, mut rx_a, sa) = tap(&hub, "a", 1 << 20);
    let (b, mut rx_b, sb) = tap(&hub, "b", 1 << 20);
    publish(&hub, 1);
    hub.attach(a, &mut rx_a);
    hub.attach(b, &mut rx_b);
    hub.push_media(1, FrameKind::Video, 0, Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1, 77, 0, 31]));
    hub.push_media(1, FrameKind::Audio, 0, audio(10)); // before any keyframe: not relayed
    hub.push_media(1, FrameKind::Video, 0, key(1000));
    hub.push_media(1, FrameKind::Audio, 10, audio(10));
    hub.push_media(1, FrameKind::Video, 33, inter(300));
    let fa = drain(&mut rx_a, &sa);
    let fb = drain(&mut rx_b, &sb);
    assert_eq!(fa.len(), 3);
    assert!(fa[0].keyframe, "outputs start on a keyframe");
    assert!(fa[0].headers.video.is_some(), "the sequence header travels as a header");
    for (x, y) in fa.iter().zip(&fb) {
        assert!(Arc::ptr_eq(x, y), "one shared frame, not a copy per output");
    }
    let stats = hub.ingest_stats();
    assert_eq!(stats.video.as_ref().map(|v| v.codec.as_str()), Some("h264"));
    assert_eq!(stats.bytes_in, 9 + 10 + 1000 + 10 + 300);
}

#[test]
fn a_full_queue_drops_until_the_next_keyframe_and_counts() {
    let hub = hub();
    let (slow, mut rx_slow, s_slow) = tap(&hub, "slow", 2_500);
    let (fast, mut rx_fast, s_fast) = tap(&hub, "fast", 1 << 20);
    publish(&hub, 1);
    hub.attach(slow, &mut rx_slow);
    hub.attach(fast, &mut rx_fast);
    hub.push_media(1, FrameKind::Video, 0, key(1000));
    hub.push_media(1, FrameKind::Video, 33, inter(1000));
    hub.push_media(1, FrameKind::Video, 66, inter(1000)); // 3,000 > 2,500: dropped
    hub.push_media(1, FrameKind::Audio, 70, audio(10)); // still dropping
    hub.push_media(1, FrameKind::Video, 99, inter(10)); // would fit, but not a keyframe
    assert_eq!(s_slow.dropped.load(Ordering::Relaxed), 3);
    // The slow output drains; the next keyframe gets through.
    let got = drain(&mut rx_slow, &s_slow);
    assert_eq!(got.len(), 2);
    hub.push_media(1, FrameKind::Video, 132, key(1000));
    hub.push_media(1, FrameKind::Video, 165, inter(10));
    let got = drain(&mut rx_slow, &s_slow);
    assert_eq!(got.len(), 2);
    assert!(got[0].keyframe);
    // The other output got everything.
    assert_eq!(drain(&mut rx_fast, &s_fast).len(), 7);
    assert_eq!(s_fast.dropped.load(Ordering::Relaxed), 0);
}

#[test]
fn a_reattached_output_starts_from_the_cached_gop() {
    let hub = hub();
    let (t, mut rx, s) = tap(&hub, "t", 1 << 20);
    publish(&hub, 1);
    hub.push_media(1, FrameKind::Video, 0, key(100));
    hub.push_media(1, FrameKind::Video, 33, inter(100));
    hub.push_media(1, FrameKind::Video, 66, key(100));
    hub.push_media(1, FrameKind::Audio, 70, audio(10));
    hub.push_media(1, FrameKind::Video, 99, inter(100));
    assert!(drain(&mut rx, &s).is_empty(), "detached outputs get nothing");
    assert!(hub.attach(t, &mut rx));
    let got = drain(&mut rx, &s);
    assert_eq!(got.iter().map(|f| f.timestamp).collect::<Vec<_>>(), vec![66, 70, 99]);
    assert_eq!(s.queued_bytes.load(Ordering::Relaxed), 0);
    hub.detach(t, &mut rx);
    hub.push_media(1, FrameKind::Video, 132, inter(100));
    assert!(drain(&mut rx, &s).is_empty());
}

#[test]
fn a_new_publisher_replaces_the_old_one_and_starts_a_new_epoch() {
    let hub = hub();
    let (t, mut rx, s) = tap(&hub, "t", 1 << 20);
    let mut ingest = hub.watch_ingest();
    assert_eq!(*ingest.borrow_and_update(), IngestState::Idle);
    let old = publish(&hub, 1);
    hub.attach(t, &mut rx);
    hub.push_media(1, FrameKind::Video, 1000, key(100));
    assert_eq!(*ingest.borrow_and_update(), IngestState::Publishing { receiving: true });
    let new = publish(&hub, 2);
    assert!(old.is_cancelled(), "the stale publisher is told to go");
    assert!(!new.is_cancelled());
    hub.push_media(1, FrameKind::Video, 1033, inter(100)); // from the replaced connection
    hub.push_media(2, FrameKind::Video, 0, inter(100)); // new epoch, not a keyframe yet
    hub.push_media(2, FrameKind::Video, 33, key(100));
    let got = drain(&mut rx, &s);
    assert_eq!(got.len(), 2);
    assert_ne!(got[0].epoch, got[1].epoch);
    assert!(got[1].keyframe);
    // The old connection closing later does not end the new publish.
    hub.end_publish(1, "closed");
    assert!(hub.ingest_stats().publishing);
    assert_eq!(s.snapshot().state, OutputState::Live, "an attached output follows the publisher");
    hub.end_publish(2, "closed");
    assert_eq!(*ingest.borrow_and_update(), IngestState::Idle);
    assert_eq!(s.snapshot().state, OutputState::WaitingForSource);
    assert!(!*hub.watch_ready().borrow());
}

#[test]
fn headers_change_generation_only_when_they_change() {
    let hub = hub();
    publish(&hub, 1);
    let g0 = hub.current_headers().generation;
    let mut meta = StreamMetadata::new();
    meta.video_width = Some(1280);
    let raw = Bytes::from_static(b"\x02\x00\x0d@setDataFrame");
    hub.set_metadata(1, raw.clone(), meta.clone());
    let g1 = hub.current_headers().generation;
    assert_ne!(g0, g1);
    hub.set_metadata(1, raw, meta);
    let seq = Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1, 100, 0, 40]);
    hub.push_media(1, FrameKind::Video, 0, seq.clone());
    let g2 = hub.current_headers().generation;
    assert_ne!(g1, g2);
    hub.push_media(1, FrameKind::Video, 0, seq);
    assert_eq!(hub.current_headers().generation, g2, "an identical sequence header changes nothing");
    let v = hub.ingest_stats().video.unwrap();
    assert_eq!((v.profile.as_deref(), v.width), (Some("high"), Some(1280)));
}
