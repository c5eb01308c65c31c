//! The hub between the ingest and the outputs: the current publisher, its headers and GOP, the
//! ingest statistics, and one bounded queue ("tap") per output.
//!
//! The ingest calls [`Hub::push_media`] once per frame; it takes one short mutex, caches the
//! frame and offers the same `Arc<Frame>` to every tap. Offering never blocks: a tap whose queue
//! would pass its byte limit drops frames until the next keyframe and counts them.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rml_rtmp::sessions::StreamMetadata;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::media::{
    audio_info, classify_video, is_audio_sequence_header, video_info, AudioInfo, Frame, FrameKind, GopCache,
    SharedFrame, StreamHeaders, VideoInfo,
};
use super::stats::{OutputShared, RateMeter, CURRENT_WINDOW_SECS};
use super::{IngestState, IngestStats, OutputState, RelayEvent};

struct Publisher {
    conn_id: u64,
    peer: SocketAddr,
    cancel: CancellationToken,
    since: Instant,
}

/// One output's queue, as the hub sees it.
struct Tap {
    id: u64,
    tx: mpsc::UnboundedSender<SharedFrame>,
    shared: Arc<OutputShared>,
    limit: usize,
    /// Attached: the output is connected and wants frames.
    active: bool,
    /// Has received a keyframe since it attached (frames before one are useless to it).
    synced: bool,
    /// Overflowed: dropping until the next keyframe that fits.
    dropping: bool,
}

impl Tap {
    fn offer(&mut self, frame: &SharedFrame) {
        if !self.active {
            return;
        }
        if !self.synced {
            if !frame.keyframe {
                return;
            }
            self.synced = true;
        }
        if self.dropping && !frame.keyframe {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let len = frame.data.len();
        let queued = self.shared.queued_bytes.load(Ordering::Relaxed);
        // An empty queue takes any frame, so a frame larger than the limit cannot wedge it.
        if queued > 0 && queued + len > self.limit {
            if !self.dropping {
                tracing::debug!(output = %self.shared.name, queued, "relay output queue full, dropping to the next keyframe");
            }
            self.dropping = true;
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.dropping = false;
        self.enqueue(frame);
    }

    fn enqueue(&mut self, frame: &SharedFrame) {
        self.shared.queued_bytes.fetch_add(frame.data.len(), Ordering::Relaxed);
        if self.tx.send(frame.clone()).is_err() {
            self.shared.queued_bytes.fetch_sub(frame.data.len(), Ordering::Relaxed);
            self.active = false;
        }
    }
}

struct HubState {
    publisher: Option<Publisher>,
    epoch: u32,
    headers: Arc<StreamHeaders>,
    next_generation: u64,
    /// The current epoch has not produced a keyframe yet: nothing is cached or fanned out.
    awaiting_keyframe: bool,
    has_video: bool,
    gop: GopCache,
    taps: Vec<Tap>,
    next_tap: u64,
    bytes_in: u64,
    last_media: Option<Instant>,
    rate: RateMeter,
    video: Option<VideoInfo>,
    audio: Option<AudioInfo>,
    /// Highest `buffered_bytes` seen (sampled on every frame).
    buffered_peak: usize,
}

pub(crate) struct Hub {
    state: Mutex<HubState>,
    ingest_tx: watch::Sender<IngestState>,
    /// True while the current publisher has a keyframe cached: outputs may connect.
    ready_tx: watch::Sender<bool>,
    events: broadcast::Sender<RelayEvent>,
    traffic_window: Duration,
}

impl Hub {
    pub(crate) fn new(
        gop_limit: usize,
        traffic_window: Duration,
        events: broadcast::Sender<RelayEvent>,
    ) -> Self {
        Hub {
            state: Mutex::new(HubState {
                publisher: None,
                epoch: 0,
                headers: Arc::new(StreamHeaders::default()),
                next_generation: 1,
                awaiting_keyframe: true,
                has_video: false,
                gop: GopCache::new(gop_limit),
                taps: Vec::new(),
                next_tap: 1,
                bytes_in: 0,
                last_media: None,
                rate: RateMeter::new(Instant::now()),
                video: None,
                audio: None,
                buffered_peak: 0,
            }),
            ingest_tx: watch::channel(IngestState::Idle).0,
            ready_tx: watch::channel(false).0,
            events,
            traffic_window,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn events(&self) -> &broadcast::Sender<RelayEvent> {
        &self.events
    }

    pub(crate) fn watch_ingest(&self) -> watch::Receiver<IngestState> {
        self.ingest_tx.subscribe()
    }

    pub(crate) fn watch_ready(&self) -> watch::Receiver<bool> {
        self.ready_tx.subscribe()
    }

    /// Called with the hub lock held, so state changes are published in order.
    fn set_ingest(&self, state: IngestState) {
        let changed = self.ingest_tx.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
        if changed {
            let _ = self.events.send(RelayEvent::Ingest { state });
        }
    }

    /// A publisher with the right key took over; any previous one is told to go away.
    pub(crate) fn begin_publish(&self, conn_id: u64, peer: SocketAddr, cancel: CancellationToken) {
        let mut st = self.lock();
        let old = st.publisher.replace(Publisher { conn_id, peer, cancel, since: Instant::now() });
        st.epoch = st.epoch.wrapping_add(1);
        let generation = st.next_generation;
        st.next_generation += 1;
        st.headers = Arc::new(StreamHeaders { generation, ..Default::default() });
        st.awaiting_keyframe = true;
        st.has_video = false;
        st.gop.clear();
        st.last_media = None;
        st.video = None;
        st.audio = None;
        if let Some(old) = &old {
            old.cancel.cancel();
            tracing::info!(%peer, old = %old.peer, "relay ingest: new publisher replaces the previous one");
        } else {
            tracing::info!(%peer, "relay ingest: publisher connected");
        }
        self.ready_tx.send_replace(false);
        for tap in st.taps.iter().filter(|t| t.active) {
            tap.shared.set_state(OutputState::Live);
        }
        let _ = self.events.send(RelayEvent::PublisherConnected { peer, replaced: old.is_some() });
        self.set_ingest(IngestState::Publishing { receiving: false });
    }

    /// The publisher `conn_id` stopped (unpublished or disconnected). No-op if it was replaced.
    pub(crate) fn end_publish(&self, conn_id: u64, reason: &str) {
        let mut st = self.lock();
        if !Self::is_current(&st, conn_id) {
            return;
        }
        let Some(old) = st.publisher.take() else { return };
        st.gop.clear();
        st.awaiting_keyframe = true;
        tracing::info!(peer = %old.peer, reason, "relay ingest: publisher gone");
        self.ready_tx.send_replace(false);
        for tap in st.taps.iter().filter(|t| t.active) {
            tap.shared.set_state(OutputState::WaitingForSource);
        }
        let _ = self
            .events
            .send(RelayEvent::PublisherDisconnected { peer: old.peer, reason: reason.to_string() });
        self.set_ingest(IngestState::Idle);
    }

    fn is_current(st: &HubState, conn_id: u64) -> bool {
        matches!(&st.publisher, Some(p) if p.conn_id == conn_id)
    }

    fn replace_headers(st: &mut HubState, f: impl FnOnce(&mut StreamHeaders)) {
        let mut h = StreamHeaders {
            generation: st.next_generation,
            metadata_raw: st.headers.metadata_raw.clone(),
            metadata: st.headers.metadata.clone(),
            video: st.headers.video.clone(),
            audio: st.headers.audio.clone(),
        };
        st.next_generation += 1;
        f(&mut h);
        st.headers = Arc::new(h);
    }

    /// `raw`: the `@setDataFrame` body to relay; `metadata`: its known fields.
    pub(crate) fn set_metadata(&self, conn_id: u64, raw: Bytes, metadata: StreamMetadata) {
        let mut st = self.lock();
        if !Self::is_current(&st, conn_id) || st.headers.metadata_raw.as_ref() == Some(&raw) {
            return;
        }
        if metadata.video_codec_id.is_some() {
            st.has_video = true;
        }
        if let Some(v) = st.video.as_mut() {
            v.width = metadata.video_width;
            v.height = metadata.video_height;
            v.frame_rate = metadata.video_frame_rate;
        }
        Self::replace_headers(&mut st, |h| {
            h.metadata_raw = Some(raw);
            h.metadata = Some(metadata);
        });
    }

    /// One audio or video message from the publisher `conn_id`.
    pub(crate) fn push_media(&self, conn_id: u64, kind: FrameKind, timestamp: u32, data: Bytes) {
        let mut st = self.lock();
        if !Self::is_current(&st, conn_id) {
            return;
        }
        let now = Instant::now();
        st.bytes_in += data.len() as u64;
        st.rate.record(now, data.len() as u64);
        let was_receiving =
            st.last_media.is_some_and(|t| now.saturating_duration_since(t) < self.traffic_window);
        st.last_media = Some(now);
        if !was_receiving {
            self.set_ingest(IngestState::Publishing { receiving: true });
        }
        if data.is_empty() {
            return;
        }
        let Some(frame) = Self::frame_for(&mut st, kind, timestamp, data, now) else { return };
        if frame.keyframe && st.awaiting_keyframe {
            st.awaiting_keyframe = false;
            self.ready_tx.send_replace(true);
        }
        if !st.awaiting_keyframe {
            st.gop.push(&frame);
            let mut buffered = st.gop.bytes();
            for tap in st.taps.iter_mut() {
                tap.offer(&frame);
                buffered += tap.shared.queued_bytes.load(Ordering::Relaxed);
            }
            st.buffered_peak = st.buffered_peak.max(buffered);
        }
    }

    /// Sequence headers update the headers (and return `None`); other tags become frames.
    fn frame_for(
        st: &mut HubState,
        kind: FrameKind,
        timestamp: u32,
        data: Bytes,
        arrived: Instant,
    ) -> Option<SharedFrame> {
        let keyframe = match kind {
            FrameKind::Video => {
                st.has_video = true;
                let tag = classify_video(&data);
                if tag.sequence_header {
                    if st.headers.video.as_ref() != Some(&data) {
                        st.video = Some(video_info(&data, st.headers.metadata.as_ref()));
                        Self::replace_headers(st, |h| h.video = Some(data));
                    }
                    return None;
                }
                tag.keyframe
            }
            FrameKind::Audio => {
                if is_audio_sequence_header(&data) {
                    if st.headers.audio.as_ref() != Some(&data) {
                        st.audio = Some(audio_info(&data));
                        Self::replace_headers(st, |h| h.audio = Some(data));
                    }
                    return None;
                }
                if st.audio.is_none() {
                    st.audio = Some(audio_info(&data));
                }
                !st.has_video
            }
        };
        Some(Arc::new(Frame {
            kind,
            timestamp,
            data,
            keyframe,
            epoch: st.epoch,
            headers: st.headers.clone(),
            arrived,
        }))
    }

    /// Re-evaluate "receiving" (media within the traffic window); called by a ticker.
    pub(crate) fn refresh_receiving(&self) {
        let st = self.lock();
        let state = match &st.publisher {
            None => IngestState::Idle,
            Some(_) => IngestState::Publishing {
                receiving: st.last_media.is_some_and(|t| t.elapsed() < self.traffic_window),
            },
        };
        self.set_ingest(state);
    }

    pub(crate) fn ingest_stats(&self) -> IngestStats {
        let st = self.lock();
        let now = Instant::now();
        let since_last_media = st.last_media.map(|t| now.saturating_duration_since(t));
        let publishing = st.publisher.is_some();
        IngestStats {
            publishing,
            receiving: publishing && since_last_media.is_some_and(|d| d < self.traffic_window),
            peer: st.publisher.as_ref().map(|p| p.peer),
            publishing_for: st.publisher.as_ref().map(|p| now.saturating_duration_since(p.since)),
            bytes_in: st.bytes_in,
            since_last_media,
            video: st.video.clone(),
            audio: st.audio.clone(),
            bitrate_kbps: st.rate.kbps(now, CURRENT_WINDOW_SECS),
            gop_cache_bytes: st.gop.bytes(),
        }
    }

    /// GOP cache plus every output's queue (an upper bound: queued frames share their buffers
    /// with the cache and with each other).
    pub(crate) fn buffered_bytes(&self) -> usize {
        let st = self.lock();
        st.gop.bytes() + st.taps.iter().map(|t| t.shared.queued_bytes.load(Ordering::Relaxed)).sum::<usize>()
    }

    pub(crate) fn buffered_peak(&self) -> usize {
        self.lock().buffered_peak
    }

    pub(crate) fn add_tap(
        &self,
        shared: Arc<OutputShared>,
        limit: usize,
    ) -> (u64, mpsc::UnboundedReceiver<SharedFrame>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut st = self.lock();
        let id = st.next_tap;
        st.next_tap += 1;
        st.taps.push(Tap { id, tx, shared, limit, active: false, synced: false, dropping: false });
        (id, rx)
    }

    pub(crate) fn remove_tap(&self, id: u64) {
        self.lock().taps.retain(|t| t.id != id);
    }

    /// Start feeding a (re)connected output: forget what it had queued and give it the cached
    /// GOP, so it starts on a keyframe (or at the next keyframe if none is cached). Sets the
    /// output `Live` (or `WaitingForSource`); from here on the hub keeps that state in step
    /// with the publisher. Returns whether a GOP was queued.
    pub(crate) fn attach(&self, id: u64, rx: &mut mpsc::UnboundedReceiver<SharedFrame>) -> bool {
        let mut st = self.lock();
        let st = &mut *st;
        let Some(tap) = st.taps.iter_mut().find(|t| t.id == id) else { return false };
        drain(rx, &tap.shared);
        tap.shared.set_state(if st.publisher.is_some() {
            OutputState::Live
        } else {
            OutputState::WaitingForSource
        });
        tap.active = true;
        tap.dropping = false;
        tap.synced = false;
        for frame in st.gop.frames() {
            tap.synced = true;
            tap.enqueue(frame);
        }
        tap.synced
    }

    /// Stop feeding a disconnected output and empty its queue.
    pub(crate) fn detach(&self, id: u64, rx: &mut mpsc::UnboundedReceiver<SharedFrame>) {
        let mut st = self.lock();
        if let Some(tap) = st.taps.iter_mut().find(|t| t.id == id) {
            tap.active = false;
            drain(rx, &tap.shared);
        }
    }

    /// The headers currently in force (what an output announces right after publishing).
    pub(crate) fn current_headers(&self) -> Arc<StreamHeaders> {
        self.lock().headers.clone()
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<SharedFrame>, shared: &OutputShared) {
    while let Ok(f) = rx.try_recv() {
        shared.queued_bytes.fetch_sub(f.data.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;
