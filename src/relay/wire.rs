//! RTMP chunks for outgoing media, written without copying payloads.
//!
//! `rml_rtmp`'s serializer copies every message into a fresh `Vec`; for the relay's media (the
//! bulk of the bytes) we write chunk headers into a small buffer and point at slices of the
//! shared frame payload instead, then hand the list of segments to a vectored write.
//!
//! The push client writes everything with it: control messages on [`CONTROL_CSID`], commands
//! on [`COMMAND_CSID`], media on [`AUDIO_CSID`] / [`VIDEO_CSID`], metadata on [`DATA_CSID`].
//! Every message starts with a full (type 0) header, so there is no delta state to get wrong;
//! continuation chunks are type 3 and repeat the extended timestamp, as the specification (and
//! FFmpeg, nginx-rtmp, OBS) do.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rml_rtmp::rml_amf0::{self, Amf0Value};

/// Protocol and user control messages (the specification's chunk stream for them).
pub(crate) const CONTROL_CSID: u8 = 2;
pub(crate) const AUDIO_CSID: u8 = 7;
pub(crate) const VIDEO_CSID: u8 = 8;
pub(crate) const COMMAND_CSID: u8 = 9;
pub(crate) const DATA_CSID: u8 = 10;
const MAX_TIMESTAMP_FIELD: u32 = 0x00ff_ffff;

/// Bytes queued for one write: a list of shared segments.
#[derive(Debug, Default)]
pub(crate) struct SegmentBuf {
    segs: VecDeque<Bytes>,
    remaining: usize,
}

impl SegmentBuf {
    pub(crate) fn push(&mut self, b: Bytes) {
        if !b.is_empty() {
            self.remaining += b.len();
            self.segs.push_back(b);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.segs.clear();
        self.remaining = 0;
    }
}

impl Buf for SegmentBuf {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.segs.front().map(|b| b.as_ref()).unwrap_or(&[])
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end of a SegmentBuf");
        self.remaining -= cnt;
        while cnt > 0 {
            let Some(front) = self.segs.front_mut() else { break };
            if cnt < front.len() {
                front.advance(cnt);
                break;
            }
            cnt -= front.len();
            self.segs.pop_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, seg) in dst.iter_mut().zip(self.segs.iter()) {
            *slot = IoSlice::new(seg);
            n += 1;
        }
        n
    }
}

/// Writes RTMP messages as chunks of `chunk_size` into a [`SegmentBuf`].
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    chunk_size: usize,
    stream_id: u32,
    headers: BytesMut,
}

impl ChunkWriter {
    pub(crate) fn new(chunk_size: u32, stream_id: u32) -> Self {
        ChunkWriter {
            chunk_size: chunk_size.max(128) as usize,
            stream_id,
            headers: BytesMut::with_capacity(4096),
        }
    }

    /// Append one message. The payload is referenced, not copied.
    pub(crate) fn message(
        &mut self,
        out: &mut SegmentBuf,
        csid: u8,
        type_id: u8,
        timestamp: u32,
        payload: &Bytes,
    ) {
        debug_assert!((2..64).contains(&csid));
        let extended = timestamp >= MAX_TIMESTAMP_FIELD;
        let len = payload.len() as u32;
        if self.headers.capacity() < 64 {
            self.headers.reserve(4096);
        }
        self.headers.put_u8(csid); // format 0
        self.headers.put_uint(u64::from(timestamp.min(MAX_TIMESTAMP_FIELD)), 3);
        self.headers.put_uint(u64::from(len), 3);
        self.headers.put_u8(type_id);
        self.headers.put_u32_le(self.stream_id);
        if extended {
            self.headers.put_u32(timestamp);
        }
        out.push(self.headers.split().freeze());
        let mut offset = 0;
        loop {
            let end = (offset + self.chunk_size).min(payload.len());
            out.push(payload.slice(offset..end));
            offset = end;
            if offset >= payload.len() {
                break;
            }
            if self.headers.capacity() < 8 {
                self.headers.reserve(4096);
            }
            self.headers.put_u8(0xc0 | csid); // format 3: continuation
            if extended {
                self.headers.put_u32(timestamp);
            }
            out.push(self.headers.split().freeze());
        }
    }

    /// The message stream id media and metadata go on (the one the platform assigned).
    pub(crate) fn set_stream_id(&mut self, stream_id: u32) {
        self.stream_id = stream_id;
    }

    /// An AMF0 command message (e.g. `releaseStream`, `FCPublish`) on our command chunk stream.
    pub(crate) fn command(&mut self, out: &mut SegmentBuf, stream_id: u32, values: &[Amf0Value]) {
        let Ok(body) = rml_amf0::serialize(&values.to_vec()) else { return };
        let saved = std::mem::replace(&mut self.stream_id, stream_id);
        self.message(out, COMMAND_CSID, 20, 0, &Bytes::from(body));
        self.stream_id = saved;
    }

    /// A protocol or user control message (message stream 0).
    pub(crate) fn control(&mut self, out: &mut SegmentBuf, type_id: u8, payload: Bytes) {
        let saved = std::mem::replace(&mut self.stream_id, 0);
        self.message(out, CONTROL_CSID, type_id, 0, &payload);
        self.stream_id = saved;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::chunk_io::ChunkDeserializer;

    fn collect(buf: &mut SegmentBuf) -> Vec<u8> {
        let mut v = Vec::new();
        while buf.has_remaining() {
            let c = buf.chunk().to_vec();
            buf.advance(c.len());
            v.extend_from_slice(&c);
        }
        v
    }

    #[test]
    fn chunks_decode_with_rml_and_share_the_payload() {
        let payload = Bytes::from((0..10_000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let mut w = ChunkWriter::new(4096, 1);
        let mut out = SegmentBuf::default();
        w.message(&mut out, VIDEO_CSID, 9, 40, &payload);
        w.message(&mut out, AUDIO_CSID, 8, 0x0100_0000, &payload.slice(0..300)); // extended timestamp
        w.message(&mut out, VIDEO_CSID, 9, 0x0100_0021, &payload); // extended, 3 chunks
                                                                   // The payload segments point into the original buffer.
        assert!(out.segs.iter().any(|s| s.as_ptr() == payload.as_ptr()));
        let wire = collect(&mut out);
        let mut de = ChunkDeserializer::new();
        de.set_max_chunk_size(4096).unwrap();
        let m1 = de.get_next_message(&wire).unwrap().unwrap();
        assert_eq!((m1.type_id, m1.timestamp.value, m1.message_stream_id), (9, 40, 1));
        assert_eq!(m1.data, payload);
        let m2 = de.get_next_message(&[]).unwrap().unwrap();
        assert_eq!((m2.type_id, m2.timestamp.value), (8, 0x0100_0000));
        assert_eq!(m2.data, payload.slice(0..300));
        let m3 = de.get_next_message(&[]).unwrap().unwrap();
        assert_eq!((m3.type_id, m3.timestamp.value), (9, 0x0100_0021));
        assert_eq!(m3.data, payload);
        assert!(de.get_next_message(&[]).unwrap().is_none());
    }

    #[test]
    fn segment_buf_advances_across_segments() {
        let mut b = SegmentBuf::default();
        b.push(Bytes::from_static(b"abc"));
        b.push(Bytes::new());
        b.push(Bytes::from_static(b"defg"));
        assert_eq!(b.remaining(), 7);
        b.advance(4);
        assert_eq!(b.chunk(), b"efg");
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(b.chunks_vectored(&mut slices), 1);
        b.advance(3);
        assert!(!b.has_remaining());
    }
}
