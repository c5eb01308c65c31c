//! Incoming RTMP chunk stream → messages, for the ingest.
//!
//! Written for the relay's hot path: the socket is read straight into the decoder's buffer,
//! a message that fits in one chunk (all audio, most video) is split off that buffer without a
//! copy, and a multi-chunk message is assembled as its bytes arrive.
//!
//! Every length and count a peer controls is bounded by [`Limits`], checked when a chunk
//! header announces a message (before any of its bytes are buffered); memory grows only with
//! bytes actually received, never with what a header announces. Malformed input is an error,
//! never a panic. The ingest reads with [`Limits::UNAUTHENTICATED`] until the stream key has
//! been checked; the push client reads the platform's (small) messages with
//! [`Limits::PLATFORM`].

use bytes::{Buf, Bytes, BytesMut};

/// Largest chunk size we accept from a peer (the protocol allows 2^31 - 1).
const MAX_CHUNK_SIZE: usize = 1 << 24;
/// Chunk streams with a message in progress, at most.
const MAX_OPEN_STREAMS: usize = 64;

/// What one connection may make us hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Longest message accepted (the header's announced length).
    pub(crate) max_message: usize,
    /// Bytes of incomplete messages held at once, over all chunk streams.
    pub(crate) max_pending: usize,
    /// Free room kept in the read buffer (the most one socket read takes).
    pub(crate) read_reserve: usize,
}

impl Limits {
    /// Before a publisher has shown the stream key: commands only (OBS's `connect` is a few
    /// hundred bytes), a few KiB read at a time.
    pub(crate) const UNAUTHENTICATED: Limits =
        Limits { max_message: 64 * 1024, max_pending: 128 * 1024, read_reserve: 4 * 1024 };
    /// An authenticated publisher: any RTMP message (24-bit lengths, so < 16 MiB).
    pub(crate) const PUBLISHER: Limits =
        Limits { max_message: 16 << 20, max_pending: 32 << 20, read_reserve: 64 * 1024 };
    /// A platform answering the push client: commands and control messages only.
    pub(crate) const PLATFORM: Limits =
        Limits { max_message: 1 << 20, max_pending: 2 << 20, read_reserve: 16 * 1024 };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChunkError {
    #[error("chunk continues a message that never started (csid {0})")]
    NoMessage(u32),
    #[error("new message on csid {0} while one is still in progress")]
    Interleaved(u32),
    #[error("too many chunk streams or pending bytes")]
    TooMuch,
    #[error("message of {0} bytes is over the limit")]
    TooLong(u32),
    #[error("invalid chunk size {0}")]
    ChunkSize(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) type_id: u8,
    pub(crate) stream_id: u32,
    pub(crate) timestamp: u32,
    pub(crate) payload: Bytes,
}

#[derive(Debug, Default, Clone)]
struct Stream {
    csid: u32,
    timestamp: u32,
    /// The timestamp field of the last type 0/1/2 header (absolute for type 0, as the
    /// specification says a following type 3 uses it as its delta).
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    extended: bool,
    /// The message being assembled, if it spans chunks.
    partial: Option<BytesMut>,
    started: bool,
}

#[derive(Debug)]
pub(crate) struct ChunkReader {
    buf: BytesMut,
    chunk_size: usize,
    streams: Vec<Stream>,
    pending: usize,
    limits: Limits,
}

impl Default for ChunkReader {
    fn default() -> Self {
        Self::new(Limits::PUBLISHER)
    }
}

impl ChunkReader {
    pub(crate) fn new(limits: Limits) -> Self {
        ChunkReader { buf: BytesMut::new(), chunk_size: 128, streams: Vec::new(), pending: 0, limits }
    }

    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The buffer to read the socket into (with room reserved).
    pub(crate) fn buffer(&mut self) -> &mut BytesMut {
        let reserve = self.limits.read_reserve;
        if self.buf.capacity() - self.buf.len() < reserve / 4 {
            self.buf.reserve(reserve);
        }
        &mut self.buf
    }

    /// Bytes this reader holds (read buffer capacity plus incomplete messages).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.buf.capacity()
            + self.streams.iter().filter_map(|s| s.partial.as_ref()).map(|p| p.capacity()).sum::<usize>()
    }

    #[cfg(test)]
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn set_chunk_size(&mut self, size: u32) -> Result<(), ChunkError> {
        let s = size as usize;
        if s == 0 || s > MAX_CHUNK_SIZE {
            return Err(ChunkError::ChunkSize(size));
        }
        self.chunk_size = s;
        Ok(())
    }

    /// Drop the message in progress on `csid` (an Abort message).
    pub(crate) fn abort(&mut self, csid: u32) {
        if let Some(s) = self.streams.iter_mut().find(|s| s.csid == csid) {
            if let Some(p) = s.partial.take() {
                self.pending -= p.len();
            }
        }
    }

    /// The next complete message, or `None` when more bytes are needed.
    pub(crate) fn next(&mut self) -> Result<Option<Message>, ChunkError> {
        loop {
            match self.chunk()? {
                Step::NeedMore => return Ok(None),
                Step::Message(m) => return Ok(Some(m)),
                Step::Partial => {}
            }
        }
    }

    /// Parse one chunk if it is complete in the buffer.
    fn chunk(&mut self) -> Result<Step, ChunkError> {
        let Some(h) = Header::parse(&self.buf) else { return Ok(Step::NeedMore) };
        let idx = self.stream_index(h.csid)?;
        let prev = &self.streams[idx];
        let continuing = h.fmt == 3 && prev.partial.is_some();
        if h.fmt < 3 && prev.partial.is_some() {
            return Err(ChunkError::Interleaved(h.csid));
        }
        if h.fmt == 3 && !prev.started {
            return Err(ChunkError::NoMessage(h.csid));
        }
        let (length, type_id) = if h.fmt <= 1 { (h.length, h.type_id) } else { (prev.length, prev.type_id) };
        if length as usize > self.limits.max_message {
            return Err(ChunkError::TooLong(length));
        }
        let stream_id = if h.fmt == 0 { h.stream_id } else { prev.stream_id };
        let extended = if h.fmt < 3 { h.ts_field == 0xff_ffff } else { prev.extended };
        let mut pos = h.len;
        let mut field = h.ts_field;
        if extended {
            let Some(e) = self.buf.get(pos..pos + 4) else { return Ok(Step::NeedMore) };
            field = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            pos += 4;
        }
        let done = prev.partial.as_ref().map_or(0, |p| p.len());
        let take = (length as usize).saturating_sub(done).min(self.chunk_size);
        if self.buf.len() < pos + take {
            return Ok(Step::NeedMore);
        }
        // The chunk is complete: commit.
        let (timestamp, delta) = match (continuing, h.fmt) {
            (true, _) => (prev.timestamp, prev.delta),
            (false, 0) => (field, field),
            (false, 1 | 2) => (prev.timestamp.wrapping_add(field), field),
            (false, _) => (prev.timestamp.wrapping_add(prev.delta), prev.delta),
        };
        self.buf.advance(pos);
        let mut partial = self.streams[idx].partial.take();
        let payload = if partial.is_none() && take == length as usize {
            Some(self.buf.split_to(take).freeze())
        } else {
            self.pending += take;
            if self.pending > self.limits.max_pending {
                return Err(ChunkError::TooMuch);
            }
            // Grows with the bytes received, never to the announced length up front: a header
            // costs nothing until its bytes arrive. Room is made for as much of the message as
            // the read buffer holds, so a message that arrived whole is assembled in one
            // allocation of its exact length (no doubling, no copies between grown buffers).
            let p = partial.get_or_insert_with(BytesMut::new);
            if p.capacity() - p.len() < take {
                p.reserve((length as usize - p.len()).min(self.buf.len()));
            }
            p.extend_from_slice(&self.buf[..take]);
            self.buf.advance(take);
            if p.len() == length as usize {
                self.pending -= p.len();
                partial.take().map(BytesMut::freeze)
            } else {
                None
            }
        };
        self.streams[idx] = Stream {
            csid: h.csid,
            timestamp,
            delta,
            length,
            type_id,
            stream_id,
            extended,
            partial,
            started: true,
        };
        Ok(match payload {
            Some(payload) => Step::Message(Message { type_id, stream_id, timestamp, payload }),
            None => Step::Partial,
        })
    }

    fn stream_index(&mut self, csid: u32) -> Result<usize, ChunkError> {
        if let Some(i) = self.streams.iter().position(|s| s.csid == csid) {
            return Ok(i);
        }
        if self.streams.len() >= MAX_OPEN_STREAMS {
            // Forget an idle stream rather than grow without bound.
            let Some(i) = self.streams.iter().position(|s| s.partial.is_none()) else {
                return Err(ChunkError::TooMuch);
            };
            self.streams.swap_remove(i);
        }
        self.streams.push(Stream { csid, ..Default::default() });
        Ok(self.streams.len() - 1)
    }
}

/// A chunk's basic and message header (without the extended timestamp).
struct Header {
    fmt: u8,
    csid: u32,
    /// Header bytes.
    len: usize,
    ts_field: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        let b0 = *b.first()?;
        let fmt = b0 >> 6;
        let (csid, basic) = match b0 & 0x3f {
            0 => (64 + *b.get(1)? as u32, 2),
            1 => (64 + *b.get(1)? as u32 + 256 * *b.get(2)? as u32, 3),
            c => (c as u32, 1),
        };
        let n = [11, 7, 3, 0][fmt as usize];
        let m = b.get(basic..basic + n)?;
        let u24 = |i: usize| u32::from_be_bytes([0, m[i], m[i + 1], m[i + 2]]);
        Some(Header {
            fmt,
            csid,
            len: basic + n,
            ts_field: if n >= 3 { u24(0) } else { 0 },
            length: if n >= 7 { u24(3) } else { 0 },
            type_id: if n >= 7 { m[6] } else { 0 },
            stream_id: if n == 11 { u32::from_le_bytes([m[7], m[8], m[9], m[10]]) } else { 0 },
        })
    }
}

enum Step {
    NeedMore,
    Partial,
    Message(Message),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::chunk_io::ChunkSerializer;
    use rml_rtmp::messages::MessagePayload;
    use rml_rtmp::time::RtmpTimestamp;

    fn payload(ts: u32, type_id: u8, len: usize) -> MessagePayload {
        MessagePayload {
            timestamp: RtmpTimestamp::new(ts),
            type_id,
            message_stream_id: 1,
            data: Bytes::from((0..len).map(|i| (i * 7 + ts as usize) as u8).collect::<Vec<_>>()),
        }
    }

    #[test]
    fn decodes_what_rml_encodes_with_compressed_headers_in_any_split() {
        let mut ser = ChunkSerializer::new();
        let mut wire = ser.set_max_chunk_size(4096, RtmpTimestamp::new(0)).unwrap().bytes;
        let msgs: Vec<MessagePayload> = vec![
            payload(0, 9, 9000),
            payload(0, 8, 300),
            payload(33, 9, 500),
            payload(21, 8, 300),
            payload(66, 9, 500),
            payload(42, 8, 300),
            payload(0x0100_0000, 9, 5000), // extended timestamp across chunks
            payload(0x0100_0021, 9, 5000),
        ];
        for m in &msgs {
            wire.extend(ser.serialize(m, false, false).unwrap().bytes);
        }
        for split in [1usize, 7, 100, 4097, wire.len()] {
            let mut r = ChunkReader::default();
            let mut got = Vec::new();
            for piece in wire.chunks(split) {
                r.push(piece);
                while let Some(m) = r.next().unwrap() {
                    if m.type_id == 1 {
                        let size = u32::from_be_bytes(m.payload[..4].try_into().unwrap());
                        r.set_chunk_size(size).unwrap();
                    } else {
                        got.push(m);
                    }
                }
            }
            assert_eq!(got.len(), msgs.len(), "split {split}");
            for (g, m) in got.iter().zip(&msgs) {
                assert_eq!((g.type_id, g.timestamp, g.stream_id), (m.type_id, m.timestamp.value, 1));
                assert_eq!(g.payload, m.data);
            }
        }
    }

    #[test]
    fn type3_after_type0_uses_the_type0_timestamp_as_delta() {
        // csid 4, type 0 at ts 10 (len 1), then a new message with a type 3 header.
        let mut r = ChunkReader::default();
        r.push(&[0x04, 0, 0, 10, 0, 0, 1, 8, 1, 0, 0, 0, 0xaa, 0xc4, 0xbb]);
        assert_eq!(r.next().unwrap().unwrap().timestamp, 10);
        assert_eq!(r.next().unwrap().unwrap().timestamp, 20);
    }

    #[test]
    fn memory_follows_the_bytes_received_not_the_announced_length() {
        let mut r = ChunkReader::new(Limits::PUBLISHER);
        r.set_chunk_size(4096).unwrap();
        // A 16 MiB - 1 message, of which one 4 KiB chunk arrived.
        let mut chunk = vec![3, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0];
        chunk.extend(std::iter::repeat_n(0u8, 4096));
        r.buffer().extend_from_slice(&chunk);
        assert_eq!(r.next(), Ok(None));
        assert!(r.held() < 256 * 1024, "holds {} bytes", r.held());
    }

    #[test]
    fn a_message_that_arrived_whole_is_assembled_in_one_allocation() {
        let mut ser = ChunkSerializer::new();
        let mut wire = ser.set_max_chunk_size(4096, RtmpTimestamp::new(0)).unwrap().bytes;
        wire.extend(ser.serialize(&payload(0, 9, 150_000), false, false).unwrap().bytes);
        let mut r = ChunkReader::default();
        r.push(&wire);
        let size = r.next().unwrap().unwrap();
        r.set_chunk_size(u32::from_be_bytes(size.payload[..4].try_into().unwrap())).unwrap();
        let m = r.next().unwrap().unwrap();
        assert_eq!(m.payload, payload(0, 9, 150_000).data);
        // Its buffer has exactly its length (amortized doubling leaves up to twice as much).
        let back = m.payload.try_into_mut().expect("the only reference to its buffer");
        assert_eq!(back.capacity(), 150_000);
    }

    #[test]
    fn before_authentication_a_long_message_is_refused_at_its_header() {
        let mut r = ChunkReader::new(Limits::UNAUTHENTICATED);
        r.push(&[3, 0, 0, 0, 0x80, 0, 0, 9, 1, 0, 0, 0]); // announces 8 MiB, no payload yet
        assert_eq!(r.next(), Err(ChunkError::TooLong(8 << 20)));
        // Within the limits, commands still work.
        let mut r = ChunkReader::new(Limits::UNAUTHENTICATED);
        r.push(&[3, 0, 0, 0, 0, 0, 2, 20, 0, 0, 0, 0, 5, 5]);
        assert_eq!(r.next().unwrap().unwrap().payload.len(), 2);
        // Many streams with partial messages: the pending cap.
        let mut r = ChunkReader::new(Limits::UNAUTHENTICATED);
        r.set_chunk_size(4096).unwrap();
        let mut err = None;
        for csid in 3..40u8 {
            let mut chunk = vec![csid, 0, 0, 0, 0, 0xf0, 0, 9, 1, 0, 0, 0];
            chunk.extend(std::iter::repeat_n(0u8, 4096));
            r.push(&chunk);
            if let Err(e) = r.next() {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(ChunkError::TooMuch));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let mut r = ChunkReader::default();
        r.push(&[0xc5, 1, 2, 3]);
        assert_eq!(r.next(), Err(ChunkError::NoMessage(5)));
        let mut r = ChunkReader::default();
        assert!(r.set_chunk_size(0).is_err());
        // A 16 MB message announced on 64+ streams is refused before memory runs out.
        let mut r = ChunkReader::default();
        r.set_chunk_size(1 << 20).unwrap();
        let mut n = 0;
        let err = loop {
            let csid = 2 + (n % 60) as u8;
            let mut chunk = vec![csid, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0];
            chunk.extend(std::iter::repeat_n(0u8, 1 << 20));
            r.push(&chunk);
            match r.next() {
                Ok(None) => n += 1,
                Ok(Some(_)) => unreachable!(),
                Err(e) => break e,
            }
            assert!(n < 200, "no limit hit");
        };
        assert!(matches!(err, ChunkError::TooMuch | ChunkError::Interleaved(_)), "{err:?}");
    }
}
