//! One publishing connection to a platform: TCP (+ TLS for `rtmps://`), the RTMP handshake,
//! `connect` / `releaseStream` / `FCPublish` / `createStream` / `publish` (what OBS and FFmpeg
//! send), then media. Commands and control messages go through `rml_rtmp`'s client session;
//! media is chunked by [`ChunkWriter`] straight from the shared payloads.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
    StreamMetadata,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use super::media::{Frame, FrameKind, StreamHeaders};
use super::target::PushTarget;
use super::wire::{stream_id_of_type0_packet, ChunkWriter, SegmentBuf, AUDIO_CSID, DATA_CSID, VIDEO_CSID};
use crate::secrets::Secret;

/// Outgoing chunk size (what OBS uses).
const CHUNK_SIZE: u32 = 4096;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PushError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("timed out ({0})")]
    Timeout(&'static str),
    #[error("RTMP handshake: {0}")]
    Handshake(String),
    #[error("rejected by the platform: {0}")]
    Rejected(String),
    #[error("RTMP protocol: {0}")]
    Protocol(String),
    #[error("connection closed by the platform")]
    Closed,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("the platform accepted no data for {0:?}")]
    Stalled(Duration),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}
type Io = Box<dyn Stream>;

/// Maps publisher timestamps onto this connection's timeline: unchanged within the first
/// publisher session, continuous (plus the real gap) across a publisher change.
#[derive(Debug, Default)]
struct Timeline {
    epoch: Option<u32>,
    offset: u32,
    last_out: u32,
    last_at: Option<Instant>,
}

impl Timeline {
    /// `now`: when the frame arrived at the relay.
    fn map(&mut self, epoch: u32, ts: u32, now: Instant) -> u32 {
        match self.epoch {
            None => self.epoch = Some(epoch),
            Some(e) if e != epoch => {
                let gap = self.last_at.map(|t| now.saturating_duration_since(t)).unwrap_or_default();
                let gap = gap.max(Duration::from_millis(50)).as_millis().min(u32::MAX as u128) as u32;
                self.offset = self.last_out.wrapping_add(gap).wrapping_sub(ts);
                self.epoch = Some(epoch);
            }
            Some(_) => {}
        }
        let out = ts.wrapping_add(self.offset);
        if out.wrapping_sub(self.last_out) as i32 > 0 || self.last_at.is_none() {
            self.last_out = out;
        }
        self.last_at = Some(now);
        out
    }
}

pub(crate) struct PushConn {
    rd: ReadHalf<Io>,
    wr: WriteHalf<Io>,
    session: ClientSession,
    writer: ChunkWriter,
    out: SegmentBuf,
    inbuf: Vec<u8>,
    key: Secret,
    stream_id: u32,
    timeline: Timeline,
    sent_generation: u64,
    sent_metadata: Option<Bytes>,
    sent_video: Option<Bytes>,
    sent_audio: Option<Bytes>,
}

impl PushConn {
    /// Connect and publish; the caller bounds the time this takes.
    pub(crate) async fn open(
        target: &PushTarget,
        key: &Secret,
        tls: Option<Arc<rustls::ClientConfig>>,
        send_buffer: usize,
        headers: &StreamHeaders,
    ) -> Result<PushConn, PushError> {
        let tcp = connect_tcp(&target.host, target.port, send_buffer).await?;
        let _ = tcp.set_nodelay(true);
        let io: Io = if target.tls {
            let config = tls.ok_or_else(|| PushError::Tls("no TLS configuration".into()))?;
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| PushError::Tls(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| PushError::Tls(e.to_string()))?;
            Box::new(stream)
        } else {
            Box::new(tcp)
        };
        let (rd, wr) = tokio::io::split(io);
        let config = ClientSessionConfig {
            tc_url: Some(target.tc_url.clone()),
            chunk_size: CHUNK_SIZE,
            ..ClientSessionConfig::new()
        };
        let (session, _) = ClientSession::new(config).map_err(|e| PushError::Protocol(e.to_string()))?;
        let mut conn = PushConn {
            rd,
            wr,
            session,
            writer: ChunkWriter::new(CHUNK_SIZE, 0),
            out: SegmentBuf::default(),
            inbuf: vec![0u8; 16 * 1024],
            key: key.clone(),
            stream_id: 0,
            timeline: Timeline::default(),
            sent_generation: 0,
            sent_metadata: None,
            sent_video: None,
            sent_audio: None,
        };
        let leftover = conn.handshake().await?;
        conn.publish(&target.app, leftover, headers).await?;
        Ok(conn)
    }

    async fn handshake(&mut self) -> Result<Vec<u8>, PushError> {
        let mut hs = Handshake::new(PeerType::Client);
        let p0p1 = hs.generate_outbound_p0_and_p1().map_err(|e| PushError::Handshake(format!("{e:?}")))?;
        self.wr.write_all(&p0p1).await?;
        loop {
            let n = self.read_some().await?;
            match hs.process_bytes(&self.inbuf[..n]).map_err(|e| PushError::Handshake(format!("{e:?}")))? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.wr.write_all(&response_bytes).await?
                }
                HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                    self.wr.write_all(&response_bytes).await?;
                    return Ok(remaining_bytes);
                }
            }
        }
    }

    async fn publish(
        &mut self,
        app: &str,
        leftover: Vec<u8>,
        headers: &StreamHeaders,
    ) -> Result<(), PushError> {
        let r = self.session.request_connection(app.to_string()).map_err(proto)?;
        self.take(vec![r])?;
        let mut pending = self.handle(&leftover)?;
        self.flush().await?;
        self.wait_for(&mut pending, |e| matches!(e, ClientSessionEvent::ConnectionRequestAccepted)).await?;
        // What OBS and FFmpeg send before createStream; some ingest servers expect them.
        let key = Amf0Value::Utf8String(self.key.expose().to_string());
        for (i, name) in ["releaseStream", "FCPublish"].into_iter().enumerate() {
            let values = [
                Amf0Value::Utf8String(name.into()),
                Amf0Value::Number(100.0 + i as f64),
                Amf0Value::Null,
                key.clone(),
            ];
            self.writer.command(&mut self.out, 0, &values);
        }
        let r = self.session.request_publishing(self.key.expose().to_string(), PublishRequestType::Live);
        self.take(vec![r.map_err(proto)?])?;
        self.flush().await?;
        self.wait_for(&mut pending, |e| matches!(e, ClientSessionEvent::PublishRequestAccepted)).await?;
        // The session does not expose the stream id the server assigned; a metadata packet it
        // builds (the first on its chunk stream, so with a full header) carries it. The packet
        // is not sent: metadata goes out raw on our own chunk stream, the session's metadata
        // chunk stream is never used, so its header state does not matter.
        let ClientSessionResult::OutboundResponse(packet) =
            self.session.publish_metadata(&StreamMetadata::new()).map_err(proto)?
        else {
            return Err(PushError::Protocol("no metadata packet".into()));
        };
        self.stream_id = stream_id_of_type0_packet(&packet.bytes).unwrap_or(1);
        self.writer = ChunkWriter::new(CHUNK_SIZE, self.stream_id);
        if let Some(raw) = &headers.metadata_raw {
            self.writer.message(&mut self.out, DATA_CSID, 18, 0, raw);
            self.sent_metadata = Some(raw.clone());
        }
        self.flush().await?;
        Ok(())
    }

    /// Read and handle server messages until `done` matches one of the raised events.
    async fn wait_for(
        &mut self,
        pending: &mut Vec<ClientSessionEvent>,
        done: impl Fn(&ClientSessionEvent) -> bool,
    ) -> Result<(), PushError> {
        loop {
            for e in pending.drain(..) {
                if done(&e) {
                    return Ok(());
                }
                fail_on(&e)?;
            }
            let n = self.read_some().await?;
            let bytes = self.inbuf[..n].to_vec();
            *pending = self.handle(&bytes)?;
            self.flush().await?;
        }
    }

    async fn read_some(&mut self) -> Result<usize, PushError> {
        match self.rd.read(&mut self.inbuf).await? {
            0 => Err(PushError::Closed),
            n => Ok(n),
        }
    }

    /// Feed server bytes to the session; responses are queued, events returned.
    fn handle(&mut self, bytes: &[u8]) -> Result<Vec<ClientSessionEvent>, PushError> {
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let results = std::panic::catch_unwind(AssertUnwindSafe(|| self.session.handle_input(bytes)))
            .map_err(|_| PushError::Protocol("malformed message from the platform".into()))?
            .map_err(proto)?;
        self.take(results)
    }

    fn take(&mut self, results: Vec<ClientSessionResult>) -> Result<Vec<ClientSessionEvent>, PushError> {
        let mut events = Vec::new();
        for r in results {
            match r {
                ClientSessionResult::OutboundResponse(p) => self.out.push(Bytes::from(p.bytes)),
                ClientSessionResult::RaisedEvent(e) => events.push(e),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(events)
    }

    /// Wait for server messages and handle them (acks, pings, errors). Cancel-safe.
    pub(crate) async fn read_events(&mut self) -> Result<(), PushError> {
        let n = self.read_some().await?;
        let bytes = self.inbuf[..n].to_vec();
        for e in self.handle(&bytes)? {
            fail_on(&e)?;
            if let ClientSessionEvent::UnhandleableOnStatusCode { code } = &e {
                tracing::debug!(code, "relay output: status from the platform");
            }
        }
        Ok(())
    }

    /// Queue a frame for writing (with the headers first, if they changed); returns nothing,
    /// the bytes go out on the next [`flush`](Self::flush).
    pub(crate) fn queue_frame(&mut self, frame: &Frame) {
        let ts = self.timeline.map(frame.epoch, frame.timestamp, frame.arrived);
        if frame.headers.generation != self.sent_generation {
            self.queue_headers(&frame.headers, ts);
        }
        let csid = match frame.kind {
            FrameKind::Audio => AUDIO_CSID,
            FrameKind::Video => VIDEO_CSID,
        };
        self.writer.message(&mut self.out, csid, frame.kind.type_id(), ts, &frame.data);
    }

    fn queue_headers(&mut self, h: &StreamHeaders, ts: u32) {
        self.sent_generation = h.generation;
        if h.metadata_raw.is_some() && h.metadata_raw != self.sent_metadata {
            if let Some(m) = &h.metadata_raw {
                self.writer.message(&mut self.out, DATA_CSID, 18, ts, m);
            }
            self.sent_metadata = h.metadata_raw.clone();
        }
        if h.video.is_some() && h.video != self.sent_video {
            if let Some(v) = &h.video {
                self.writer.message(&mut self.out, VIDEO_CSID, 9, ts, v);
            }
            self.sent_video = h.video.clone();
        }
        if h.audio.is_some() && h.audio != self.sent_audio {
            if let Some(a) = &h.audio {
                self.writer.message(&mut self.out, AUDIO_CSID, 8, ts, a);
            }
            self.sent_audio = h.audio.clone();
        }
    }

    pub(crate) fn has_pending(&self) -> bool {
        bytes::Buf::has_remaining(&self.out)
    }

    /// Write everything queued; returns the byte count.
    pub(crate) async fn flush(&mut self) -> Result<usize, PushError> {
        let n = bytes::Buf::remaining(&self.out);
        if n > 0 {
            let r = self.wr.write_all_buf(&mut self.out).await;
            if r.is_err() {
                self.out.clear();
            }
            r?;
            self.wr.flush().await?;
        }
        Ok(n)
    }

    /// Unpublish (`FCUnpublish`, `deleteStream`) and close the connection.
    pub(crate) async fn close(mut self) {
        let key = Amf0Value::Utf8String(self.key.expose().to_string());
        let values =
            [Amf0Value::Utf8String("FCUnpublish".into()), Amf0Value::Number(0.0), Amf0Value::Null, key];
        self.writer.command(&mut self.out, 0, &values);
        if let Ok(results) = self.session.stop_publishing() {
            let _ = self.take(results);
        }
        let _ = self.flush().await;
        let _ = self.wr.shutdown().await;
    }
}

/// Try each resolved address in turn.
async fn connect_tcp(host: &str, port: u16, send_buffer: usize) -> Result<TcpStream, PushError> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| PushError::Connect(format!("resolving the host: {e}")))?;
    let mut last = None;
    for addr in addrs {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }?;
        if send_buffer > 0 {
            let _ = socket.set_send_buffer_size(send_buffer.min(u32::MAX as usize) as u32);
        }
        match socket.connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(PushError::Connect(last.map_or_else(|| "the host has no address".into(), |e| e.to_string())))
}

fn proto(e: impl std::fmt::Display) -> PushError {
    PushError::Protocol(e.to_string())
}

/// Events that end a connection attempt or session.
fn fail_on(e: &ClientSessionEvent) -> Result<(), PushError> {
    match e {
        ClientSessionEvent::ConnectionRequestRejected { description } => {
            Err(PushError::Rejected(format!("connect refused: {description}")))
        }
        ClientSessionEvent::UnhandleableOnStatusCode { code } if is_error_code(code) => {
            Err(PushError::Rejected(code.clone()))
        }
        ClientSessionEvent::UnhandleableAmf0Command { command_name, .. } if command_name == "close" => {
            Err(PushError::Closed)
        }
        _ => Ok(()),
    }
}

fn is_error_code(code: &str) -> bool {
    ["Failed", "BadName", "Rejected", "Denied", "Error", "Unauthorized", "Closed"]
        .iter()
        .any(|w| code.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_keeps_time_and_bridges_publishers() {
        let mut t = Timeline::default();
        let t0 = Instant::now();
        assert_eq!(t.map(1, 5000, t0), 5000);
        assert_eq!(t.map(1, 5033, t0), 5033);
        // A new publisher restarts at 0, 2 s later: output continues after the real gap.
        let later = t0 + Duration::from_secs(2);
        let first = t.map(2, 0, later);
        assert_eq!(first, 5033 + 2000);
        assert_eq!(t.map(2, 33, later), first + 33);
        // Audio slightly behind the keyframe stays monotonic enough (no wrap to huge values).
        let a = t.map(2, 20, later);
        assert!(a > 5033 && a < first + 33);
    }

    #[test]
    fn error_status_codes_fail_the_session() {
        assert!(is_error_code("NetStream.Publish.BadName"));
        assert!(is_error_code("NetConnection.Connect.Rejected"));
        assert!(!is_error_code("NetStream.Publish.Start"));
        assert!(!is_error_code("NetStream.Unpublish.Success"));
    }
}
