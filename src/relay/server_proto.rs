//! The RTMP server side of one publishing connection, without the socket: chunks in (through
//! [`ChunkReader`]), requests out for the ingest to decide on (connect, publish), responses
//! queued as bytes. Covers what OBS, FFmpeg and other encoders send to publish: `connect`,
//! `releaseStream`, `FCPublish`, `createStream`, `publish`, `@setDataFrame`, media,
//! `FCUnpublish`, `deleteStream`, and the control messages (chunk size, abort, window
//! acknowledgement, ping).
//!
//! Media payloads are handed on as the `Bytes` the chunk reader produced (no copy), and the
//! metadata message is kept raw, so every field an encoder sends reaches the platforms.
//!
//! Until [`ServerProto::accept_publish`] (the stream key checked), the chunk reader runs with
//! [`Limits::UNAUTHENTICATED`]: a stranger can make us hold a few KiB, not megabytes. Inbound
//! messages are parsed with [`super::amf`] / [`super::rtmp_msg`] (bounded, never a panic),
//! not with `rml_rtmp`'s parsers.

use std::collections::HashMap;

use bytes::Bytes;
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::{PeerBandwidthLimitType, RtmpMessage, UserControlEventType};
use rml_rtmp::rml_amf0::{self, Amf0Value};
use rml_rtmp::sessions::StreamMetadata;
use rml_rtmp::time::RtmpTimestamp;

use super::amf::{self, Command};
use super::chunks::{ChunkError, ChunkReader, Limits, Message};
use super::media::FrameKind;
use super::rtmp_msg::{AckCounter, Inbound, MsgError};

const WINDOW_ACK_SIZE: u32 = 2_500_000;
const OUT_CHUNK_SIZE: u32 = 4096;
/// `@setDataFrame` as an AMF0 string.
const SET_DATA_FRAME: &[u8] = b"\x02\x00\x0d@setDataFrame";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtoError {
    #[error(transparent)]
    Chunk(#[from] ChunkError),
    #[error("bad message: {0}")]
    Message(#[from] MsgError),
}

/// What the connection wants; media and metadata only arrive on the published stream.
#[derive(Debug)]
pub(crate) enum Request {
    Connect {
        app: String,
        transaction: f64,
    },
    Publish {
        key: String,
        stream_id: u32,
    },
    Unpublish,
    Play {
        stream_id: u32,
    },
    Media {
        kind: FrameKind,
        timestamp: u32,
        payload: Bytes,
    },
    /// `raw` is an `@setDataFrame` data message body, ready to relay.
    Metadata {
        raw: Bytes,
        metadata: StreamMetadata,
    },
}

pub(crate) struct ServerProto {
    reader: ChunkReader,
    writer: ChunkSerializer,
    out: Vec<u8>,
    next_stream_id: u32,
    publish_stream: Option<u32>,
    acks: AckCounter,
}

impl ServerProto {
    pub(crate) fn new() -> Self {
        ServerProto {
            reader: ChunkReader::new(Limits::UNAUTHENTICATED),
            writer: ChunkSerializer::new(),
            out: Vec::new(),
            next_stream_id: 1,
            publish_stream: None,
            acks: AckCounter::default(),
        }
    }

    pub(crate) fn reader(&mut self) -> &mut ChunkReader {
        &mut self.reader
    }

    /// Account for `n` bytes read from the socket (acknowledged per the peer's window).
    pub(crate) fn received(&mut self, n: usize) {
        if let Some(sequence_number) = self.acks.received(n) {
            self.send(RtmpMessage::Acknowledgement { sequence_number }, 0);
        }
    }

    /// Bytes to write to the peer, if any (taken).
    pub(crate) fn take_output(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    fn send(&mut self, msg: RtmpMessage, stream_id: u32) {
        let Ok(payload) = msg.into_message_payload(RtmpTimestamp::new(0), stream_id) else { return };
        if let Ok(p) = self.writer.serialize(&payload, false, false) {
            self.out.extend_from_slice(&p.bytes);
        }
    }

    fn command(
        &mut self,
        name: &str,
        transaction: f64,
        object: Amf0Value,
        args: Vec<Amf0Value>,
        stream_id: u32,
    ) {
        let msg = RtmpMessage::Amf0Command {
            command_name: name.to_string(),
            transaction_id: transaction,
            command_object: object,
            additional_arguments: args,
        };
        self.send(msg, stream_id);
    }

    fn status(&mut self, level: &str, code: &str, description: &str, stream_id: u32) {
        let info = object(&[("level", level), ("code", code), ("description", description)]);
        self.command("onStatus", 0.0, Amf0Value::Null, vec![info], stream_id);
    }

    pub(crate) fn accept_connect(&mut self, transaction: f64) {
        self.send(RtmpMessage::WindowAcknowledgement { size: WINDOW_ACK_SIZE }, 0);
        let bw = RtmpMessage::SetPeerBandwidth {
            size: WINDOW_ACK_SIZE,
            limit_type: PeerBandwidthLimitType::Dynamic,
        };
        self.send(bw, 0);
        if let Ok(p) = self.writer.set_max_chunk_size(OUT_CHUNK_SIZE, RtmpTimestamp::new(0)) {
            self.out.extend_from_slice(&p.bytes);
        }
        let mut props = HashMap::new();
        props.insert("fmsVer".to_string(), Amf0Value::Utf8String("FMS/3,0,1,123".into()));
        props.insert("capabilities".to_string(), Amf0Value::Number(31.0));
        let mut info = object(&[
            ("level", "status"),
            ("code", "NetConnection.Connect.Success"),
            ("description", "Connection succeeded."),
        ]);
        if let Amf0Value::Object(m) = &mut info {
            m.insert("objectEncoding".into(), Amf0Value::Number(0.0));
        }
        self.command("_result", transaction, Amf0Value::Object(props), vec![info], 0);
    }

    pub(crate) fn reject_connect(&mut self, transaction: f64, description: &str) {
        let info = object(&[
            ("level", "error"),
            ("code", "NetConnection.Connect.Rejected"),
            ("description", description),
        ]);
        self.command("_error", transaction, Amf0Value::Null, vec![info], 0);
    }

    pub(crate) fn accept_publish(&mut self, stream_id: u32) {
        let begin = RtmpMessage::UserControl {
            event_type: UserControlEventType::StreamBegin,
            stream_id: Some(stream_id),
            buffer_length: None,
            timestamp: None,
        };
        self.send(begin, 0);
        self.status("status", "NetStream.Publish.Start", "Publishing.", stream_id);
        self.publish_stream = Some(stream_id);
        self.reader.set_limits(Limits::PUBLISHER);
    }

    pub(crate) fn reject(&mut self, code: &str, description: &str, stream_id: u32) {
        self.status("error", code, description, stream_id);
    }

    /// The next request, handling protocol housekeeping on the way; `None` = need more bytes.
    pub(crate) fn next(&mut self) -> Result<Option<Request>, ProtoError> {
        while let Some(m) = self.reader.next()? {
            if let Some(r) = self.message(m)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn message(&mut self, m: Message) -> Result<Option<Request>, ProtoError> {
        let kind = match m.type_id {
            8 => Some(FrameKind::Audio),
            9 => Some(FrameKind::Video),
            _ => None,
        };
        if let Some(kind) = kind {
            if self.publish_stream == Some(m.stream_id) {
                return Ok(Some(Request::Media { kind, timestamp: m.timestamp, payload: m.payload }));
            }
            return Ok(None);
        }
        if matches!(m.type_id, 15 | 18) {
            return Ok(self.data(m));
        }
        match Inbound::parse(m.type_id, &m.payload)? {
            Inbound::SetChunkSize(size) => self.reader.set_chunk_size(size)?,
            Inbound::Abort(csid) => self.reader.abort(csid),
            Inbound::WindowAckSize(size) => self.acks.set_window(size),
            Inbound::PingRequest(ts) => {
                let pong = RtmpMessage::UserControl {
                    event_type: UserControlEventType::PingResponse,
                    stream_id: None,
                    buffer_length: None,
                    timestamp: Some(RtmpTimestamp::new(ts)),
                };
                self.send(pong, 0);
            }
            Inbound::Command(Command { name, transaction, object, args }) => {
                return Ok(self.command_in(&name, transaction, object, args, m.stream_id));
            }
            Inbound::Ignored => {}
        }
        Ok(None)
    }

    fn command_in(
        &mut self,
        name: &str,
        transaction: f64,
        object: Amf0Value,
        args: Vec<Amf0Value>,
        stream_id: u32,
    ) -> Option<Request> {
        match name {
            "connect" => {
                let app = match object {
                    Amf0Value::Object(mut props) => match props.remove("app") {
                        Some(Amf0Value::Utf8String(a)) => a,
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                Some(Request::Connect { app, transaction })
            }
            "createStream" => {
                let id = self.next_stream_id;
                self.next_stream_id += 1;
                self.command("_result", transaction, Amf0Value::Null, vec![Amf0Value::Number(id as f64)], 0);
                None
            }
            "publish" => {
                let key = match args.into_iter().next() {
                    Some(Amf0Value::Utf8String(k)) => k,
                    _ => String::new(),
                };
                Some(Request::Publish { key, stream_id })
            }
            "FCUnpublish" | "deleteStream" | "closeStream" if self.publish_stream.is_some() => {
                self.publish_stream = None;
                Some(Request::Unpublish)
            }
            "play" => Some(Request::Play { stream_id }),
            // releaseStream, FCPublish, _checkbw, ...: nothing to answer.
            _ => None,
        }
    }

    fn data(&mut self, m: Message) -> Option<Request> {
        if self.publish_stream != Some(m.stream_id) {
            return None;
        }
        let body =
            if m.type_id == 15 && m.payload.first() == Some(&0) { m.payload.slice(1..) } else { m.payload };
        let values = amf::decode(&body).ok()?;
        let mut it = values.iter();
        let (raw, object) = match it.next() {
            Some(Amf0Value::Utf8String(s)) if s == "@setDataFrame" && body.starts_with(SET_DATA_FRAME) => {
                match it.next() {
                    Some(Amf0Value::Utf8String(n)) if n == "onMetaData" => (body.clone(), it.next()),
                    _ => return None,
                }
            }
            Some(Amf0Value::Utf8String(s)) if s == "onMetaData" => {
                let mut v = vec![Amf0Value::Utf8String("@setDataFrame".into())];
                v.extend(values.iter().cloned());
                (Bytes::from(rml_amf0::serialize(&v).ok()?), it.next())
            }
            _ => return None,
        };
        let mut metadata = StreamMetadata::new();
        if let Some(Amf0Value::Object(props)) = object {
            metadata.apply_metadata_values(props.clone());
        }
        Some(Request::Metadata { raw, metadata })
    }
}

fn object(pairs: &[(&str, &str)]) -> Amf0Value {
    Amf0Value::Object(
        pairs.iter().map(|(k, v)| (k.to_string(), Amf0Value::Utf8String(v.to_string()))).collect(),
    )
}

#[cfg(test)]
#[path = "server_proto_tests.rs"]
mod tests;
