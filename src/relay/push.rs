//! One publishing connection to a platform: TCP (+ TLS for `rtmps://`), the RTMP handshake
//! (`rml_rtmp`), then the client session ([`PushSession`]: connect, createStream, publish over
//! the project's own chunk layer) and media. Media is chunked by [`ChunkWriter`] straight from
//! the shared payloads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::media::{Frame, FrameKind, StreamHeaders};
use super::push_session::{Progress, PushSession, CHUNK_SIZE};
use super::target::PushTarget;
use super::wire::{ChunkWriter, SegmentBuf, AUDIO_CSID, DATA_CSID, VIDEO_CSID};
use crate::secrets::Secret;

/// Worded for the streamer (they show as an output's retry reason).
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
    #[error("the platform sent a malformed RTMP message ({0})")]
    Malformed(String),
    #[error("RTMP protocol: {0}")]
    Protocol(String),
    #[error("connection closed by the platform")]
    Closed,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("the platform accepted no data for {0:?}")]
    Stalled(Duration),
}

impl PushError {
    /// What kind of failure this is, for the platform's status (the UI words it).
    pub(crate) fn kind(&self) -> crate::failure::FailureKind {
        use crate::failure::FailureKind as K;
        match self {
            PushError::Connect(_) | PushError::Io(_) | PushError::Tls(_) => K::Unreachable,
            PushError::Timeout(_) | PushError::Stalled(_) => K::Timeout,
            // The platform answered the publish with an error: in practice a wrong stream key.
            PushError::Rejected(_) => K::AuthRejected,
            PushError::Handshake(_) | PushError::Malformed(_) | PushError::Protocol(_) => K::Protocol,
            // Some platforms just hang up on a bad key; it cannot be told from a network drop.
            PushError::Closed => K::Other,
        }
    }
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
    /// Not split: reads (platform messages) and writes (media) never run at the same time
    /// (`OutputTask::pump` does one, then the other), so no lock is taken per poll.
    io: Io,
    session: PushSession,
    writer: ChunkWriter,
    out: SegmentBuf,
    timeline: Timeline,
    sent_generation: u64,
    sent_metadata: Option<Bytes>,
    sent_video: Option<Bytes>,
    sent_audio: Option<Bytes>,
    /// Write calls since the last [`take_writes`](Self::take_writes).
    writes: u64,
}

/// Segments handed to one vectored write (Linux's `UIO_MAXIOV` is 1024; a frame of the usual
/// size takes a dozen).
const MAX_IOVECS: usize = 256;

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
        let mut conn = PushConn {
            io,
            session: PushSession::new(&target.app, &target.tc_url, key),
            writer: ChunkWriter::new(CHUNK_SIZE, 0),
            out: SegmentBuf::default(),
            timeline: Timeline::default(),
            sent_generation: 0,
            sent_metadata: None,
            sent_video: None,
            sent_audio: None,
            writes: 0,
        };
        conn.handshake().await?;
        conn.publish(headers).await?;
        Ok(conn)
    }

    /// The handshake; bytes after it stay in the session's buffer.
    async fn handshake(&mut self) -> Result<(), PushError> {
        let mut hs = Handshake::new(PeerType::Client);
        let p0p1 = hs.generate_outbound_p0_and_p1().map_err(|e| PushError::Handshake(format!("{e:?}")))?;
        self.io.write_all(&p0p1).await?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match self.io.read(&mut buf).await? {
                0 => return Err(PushError::Closed),
                n => n,
            };
            match hs.process_bytes(&buf[..n]).map_err(|e| PushError::Handshake(format!("{e:?}")))? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.io.write_all(&response_bytes).await?
                }
                HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                    self.io.write_all(&response_bytes).await?;
                    self.session.reader().buffer().extend_from_slice(&remaining_bytes);
                    self.session.received(remaining_bytes.len(), &mut self.writer, &mut self.out);
                    return Ok(());
                }
            }
        }
    }

    /// connect, createStream, publish; then the current metadata.
    async fn publish(&mut self, headers: &StreamHeaders) -> Result<(), PushError> {
        self.session.start(&mut self.writer, &mut self.out);
        loop {
            let progress = self.session.input(&mut self.writer, &mut self.out)?;
            self.flush().await?;
            if progress == Progress::Published {
                break;
            }
            self.read_some().await?;
        }
        self.writer.set_stream_id(self.session.stream_id());
        if let Some(raw) = &headers.metadata_raw {
            self.writer.message(&mut self.out, DATA_CSID, 18, 0, raw);
            self.sent_metadata = Some(raw.clone());
        }
        self.flush().await?;
        Ok(())
    }

    /// Read from the platform into the session's buffer.
    async fn read_some(&mut self) -> Result<(), PushError> {
        match self.io.read_buf(self.session.reader().buffer()).await? {
            0 => Err(PushError::Closed),
            n => {
                self.session.received(n, &mut self.writer, &mut self.out);
                Ok(())
            }
        }
    }

    /// Wait for platform messages and handle them (acks, pings, errors); answers go out with
    /// the next flush. Cancel-safe: bytes read stay in the session's buffer.
    pub(crate) async fn read_events(&mut self) -> Result<(), PushError> {
        self.read_some().await?;
        self.session.input(&mut self.writer, &mut self.out)?;
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
            let r = std::future::poll_fn(|cx| self.poll_write_out(cx)).await;
            if r.is_err() {
                self.out.clear();
            }
            r?;
            self.io.flush().await?;
        }
        Ok(n)
    }

    /// Write calls made so far (see [`OutputStats::writes`](super::OutputStats::writes)),
    /// reset to zero.
    pub(crate) fn take_writes(&mut self) -> u64 {
        std::mem::take(&mut self.writes)
    }

    /// Vectored writes until everything queued is written (`Ready(Ok)`), the socket is full
    /// (`Pending`) or it fails.
    fn poll_write_out(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        use bytes::Buf;
        use std::task::Poll;
        while self.out.has_remaining() {
            let mut slices = [std::io::IoSlice::new(&[]); MAX_IOVECS];
            let cnt = self.out.chunks_vectored(&mut slices);
            let written =
                std::task::ready!(std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..cnt]))?;
            self.writes += 1;
            if written == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.out.advance(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Unpublish (`FCUnpublish`, `deleteStream`) and close the connection.
    pub(crate) async fn close(mut self) {
        self.session.close(&mut self.writer, &mut self.out);
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
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
}
