//! The bench's own RTMP publisher (replays an FLV in real time, noting when each video frame
//! left) and player (notes when each video frame arrived), on `rml_rtmp` client sessions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::messages::RtmpMessage;
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
    StreamMetadata,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::flv::Flv;

/// Video payload hash → when the publisher finished writing frames with that payload (the file
/// loops, so a payload repeats every lap). Matching by content works whatever a relay does to
/// timestamps.
pub type SendTimes = Arc<Mutex<HashMap<u64, Vec<Instant>>>>;

fn payload_hash(data: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

pub struct Client {
    stream: TcpStream,
    session: ClientSession,
    buf: Vec<u8>,
}

impl Client {
    /// Connect (retrying while nothing listens yet, e.g. `ffmpeg -listen` starting) to `app`.
    pub async fn connect(addr: SocketAddr, app: &str) -> Client {
        let end = Instant::now() + Duration::from_secs(15);
        let mut stream = loop {
            match TcpStream::connect(addr).await {
                Ok(s) => break s,
                Err(e) if Instant::now() < end => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("connect {addr}: {e}"),
            }
        };
        stream.set_nodelay(true).unwrap();
        let mut hs = Handshake::new(PeerType::Client);
        stream.write_all(&hs.generate_outbound_p0_and_p1().unwrap()).await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let leftover = loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed during handshake");
            match hs.process_bytes(&buf[..n]).unwrap() {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    stream.write_all(&response_bytes).await.unwrap()
                }
                HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                    stream.write_all(&response_bytes).await.unwrap();
                    break remaining_bytes;
                }
            }
        };
        let config = ClientSessionConfig {
            tc_url: Some(format!("rtmp://{addr}/{app}")),
            ..ClientSessionConfig::new()
        };
        let (session, _) = ClientSession::new(config).unwrap();
        let mut c = Client { stream, session, buf };
        let r = c.session.request_connection(app.to_string()).unwrap();
        let mut events = c.send(vec![r]).await;
        let more = c.session.handle_input(&leftover).unwrap();
        events.extend(c.send(more).await);
        c.wait(events, |e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted)).await;
        c
    }

    async fn send(&mut self, results: Vec<ClientSessionResult>) -> Vec<ClientSessionEvent> {
        let mut events = Vec::new();
        for r in results {
            match r {
                ClientSessionResult::OutboundResponse(p) => self.stream.write_all(&p.bytes).await.unwrap(),
                ClientSessionResult::RaisedEvent(e) => events.push(e),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        events
    }

    async fn wait(
        &mut self,
        mut events: Vec<ClientSessionEvent>,
        done: impl Fn(&ClientSessionEvent) -> bool,
    ) {
        loop {
            if let Some(e) = events.iter().find(|e| done(e)) {
                let _ = e;
                return;
            }
            let n = self.stream.read(&mut self.buf).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            let results = self.session.handle_input(&self.buf[..n]).unwrap();
            events = self.send(results).await;
        }
    }

    /// Replay `flv` in real time (looping) for `secs`, noting each video frame's send time;
    /// returns the number of audio and video messages sent.
    pub async fn publish(mut self, key: &str, flv: &Flv, secs: f64, sent: SendTimes) -> u64 {
        let r = self.session.request_publishing(key.to_string(), PublishRequestType::Live).unwrap();
        let events = self.send(vec![r]).await;
        self.wait(events, |e| matches!(e, ClientSessionEvent::PublishRequestAccepted)).await;
        self.send_metadata(flv).await;
        let (mut rd, mut wr) = self.stream.into_split();
        // The server's few messages (acks, pings) are read and dropped.
        let drain = tokio::spawn(async move {
            let mut b = vec![0u8; 4096];
            while matches!(rd.read(&mut b).await, Ok(n) if n > 0) {}
        });
        let start = tokio::time::Instant::now();
        let limit = (secs * 1000.0) as u32;
        let mut messages = 0u64;
        'outer: for lap in 0u32.. {
            for tag in &flv.tags {
                let header = tag.data.get(1) == Some(&0) && matches!(tag.data.first(), Some(0x17 | 0xaf));
                if lap > 0 && header {
                    continue;
                }
                let ts = tag.timestamp + lap * flv.span_ms;
                if ts >= limit {
                    break 'outer;
                }
                tokio::time::sleep_until(start + Duration::from_millis(ts as u64)).await;
                let t = RtmpTimestamp::new(ts);
                let r = if tag.kind == 9 {
                    self.session.publish_video_data(tag.data.clone(), t, false)
                } else {
                    self.session.publish_audio_data(tag.data.clone(), t, false)
                };
                let ClientSessionResult::OutboundResponse(p) = r.unwrap() else { continue };
                wr.write_all(&p.bytes).await.unwrap();
                messages += 1;
                if tag.kind == 9 && !header {
                    let now = Instant::now();
                    sent.lock().unwrap().entry(payload_hash(&tag.data)).or_default().push(now);
                }
            }
        }
        if let Ok(results) = self.session.stop_publishing() {
            for r in results {
                if let ClientSessionResult::OutboundResponse(p) = r {
                    let _ = wr.write_all(&p.bytes).await;
                }
            }
        }
        let _ = wr.shutdown().await;
        drain.abort();
        messages
    }

    /// The file's whole `onMetaData` (OBS and FFmpeg send every field; `rml_rtmp`'s own
    /// metadata message keeps only some): built here, on a serializer of its own, on the stream
    /// id read from a metadata packet the session builds (and that is not sent).
    async fn send_metadata(&mut self, flv: &Flv) {
        let ClientSessionResult::OutboundResponse(probe) =
            self.session.publish_metadata(&StreamMetadata::new()).unwrap()
        else {
            panic!("no metadata packet")
        };
        let stream_id = u32::from_le_bytes(probe.bytes[8..12].try_into().unwrap());
        let values = vec![
            Amf0Value::Utf8String("@setDataFrame".into()),
            Amf0Value::Utf8String("onMetaData".into()),
            Amf0Value::Object(flv.metadata.clone()),
        ];
        let payload =
            RtmpMessage::Amf0Data { values }.into_message_payload(RtmpTimestamp::new(0), stream_id).unwrap();
        let mut ser = ChunkSerializer::new();
        ser.set_max_chunk_size(4096, RtmpTimestamp::new(0)).unwrap(); // what the session announced
        let packet = ser.serialize(&payload, true, false).unwrap();
        self.stream.write_all(&packet.bytes).await.unwrap();
    }

    /// Play `key` until `stop`; returns the latency of every video frame, matched by payload to
    /// the latest time the publisher sent it.
    pub async fn play(
        mut self,
        key: String,
        sent: SendTimes,
        stop: tokio_util::sync::CancellationToken,
    ) -> Vec<Duration> {
        let r = self.session.request_playback(key).unwrap();
        self.send(vec![r]).await;
        let mut lat = Vec::new();
        loop {
            let n = tokio::select! {
                _ = stop.cancelled() => break,
                r = self.stream.read(&mut self.buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
            };
            let now = Instant::now();
            let Ok(results) = self.session.handle_input(&self.buf[..n]) else { break };
            for e in self.send(results).await {
                if let ClientSessionEvent::VideoDataReceived { data, .. } = e {
                    let sent = sent.lock().unwrap();
                    let t = sent.get(&payload_hash(&data)).and_then(|v| v.iter().rev().find(|t| **t <= now));
                    if let Some(t) = t {
                        lat.push(now.saturating_duration_since(*t));
                    }
                }
            }
        }
        lat
    }
}
