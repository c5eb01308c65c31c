use bytes::{Buf, Bytes};
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::{MessagePayload, PeerBandwidthLimitType, RtmpMessage, UserControlEventType};
use rml_rtmp::rml_amf0::{self, Amf0Value};
use rml_rtmp::time::RtmpTimestamp;

use super::*;
use crate::relay::chunks::ChunkReader;

/// A scripted platform: serializes server messages the way `rml_rtmp`'s (safe) encoder does.
struct Platform {
    ser: ChunkSerializer,
}

impl Platform {
    fn new() -> Self {
        Platform { ser: ChunkSerializer::new() }
    }

    fn msg(&mut self, m: RtmpMessage, stream: u32) -> Vec<u8> {
        let p = m.into_message_payload(RtmpTimestamp::new(0), stream).unwrap();
        self.ser.serialize(&p, false, false).unwrap().bytes
    }

    /// A command made of exactly `values` (no padding to three values).
    fn raw_command(&mut self, values: Vec<Amf0Value>) -> Vec<u8> {
        let data = Bytes::from(rml_amf0::serialize(&values).unwrap());
        let p = MessagePayload { timestamp: RtmpTimestamp::new(0), type_id: 20, message_stream_id: 0, data };
        self.ser.serialize(&p, false, false).unwrap().bytes
    }

    fn command(&mut self, name: &str, tx: f64, args: Vec<Amf0Value>) -> Vec<u8> {
        let mut v = vec![s(name), Amf0Value::Number(tx), Amf0Value::Null];
        v.extend(args);
        self.raw_command(v)
    }

    fn status(&mut self, level: &str, code: &str, description: &str) -> Vec<u8> {
        let info = obj(&[("level", level), ("code", code), ("description", description)]);
        self.command("onStatus", 0.0, vec![info])
    }
}

fn s(v: &str) -> Amf0Value {
    Amf0Value::Utf8String(v.to_string())
}

fn obj(pairs: &[(&str, &str)]) -> Amf0Value {
    Amf0Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

struct Client {
    session: PushSession,
    w: ChunkWriter,
    out: SegmentBuf,
    /// What the client sent, decoded by our own reader.
    sent: ChunkReader,
}

impl Client {
    fn new(key: &str) -> Self {
        let mut c = Client {
            session: PushSession::new("app", "rtmp://127.0.0.1/app", &Secret::new(key)),
            w: ChunkWriter::new(CHUNK_SIZE, 0),
            out: SegmentBuf::default(),
            sent: ChunkReader::default(),
        };
        c.session.start(&mut c.w, &mut c.out);
        c
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<Progress, PushError> {
        self.session.reader().buffer().extend_from_slice(bytes);
        self.session.input(&mut self.w, &mut self.out)
    }

    /// Names of the commands sent since the last call (control messages as "#type").
    fn sent(&mut self) -> Vec<String> {
        while self.out.has_remaining() {
            let c = self.out.chunk().to_vec();
            self.out.advance(c.len());
            self.sent.push(&c);
        }
        let mut names = Vec::new();
        while let Some(m) = self.sent.next().unwrap() {
            if m.type_id == 1 {
                let size = u32::from_be_bytes(m.payload[..4].try_into().unwrap());
                self.sent.set_chunk_size(size).unwrap();
            }
            names.push(match m.type_id {
                20 => Command::decode(&m.payload).unwrap().name,
                t => format!("#{t}"),
            });
        }
        names
    }
}

/// What FFmpeg 5.1's RTMP server (`ffmpeg -listen 1`) answers, in its order.
#[test]
fn publishes_to_an_ffmpeg_style_server() {
    let mut p = Platform::new();
    let mut c = Client::new("platform-key");
    assert_eq!(c.sent(), ["#1", "connect"]);
    let mut hello = p.msg(RtmpMessage::WindowAcknowledgement { size: 2_500_000 }, 0);
    let bw = RtmpMessage::SetPeerBandwidth { size: 2_500_000, limit_type: PeerBandwidthLimitType::Dynamic };
    hello.extend(p.msg(bw, 0));
    let begin = RtmpMessage::UserControl {
        event_type: UserControlEventType::StreamBegin,
        stream_id: Some(0),
        buffer_length: None,
        timestamp: None,
    };
    hello.extend(p.msg(begin.clone(), 0));
    hello.extend(p.msg(RtmpMessage::SetChunkSize { size: 4096 }, 0));
    hello.extend(p.command("_result", 1.0, vec![obj(&[("code", "NetConnection.Connect.Success")])]));
    hello.extend(p.command("onBWDone", 0.0, vec![]));
    assert_eq!(c.feed(&hello).unwrap(), Progress::Waiting);
    assert_eq!(c.sent(), ["releaseStream", "FCPublish", "createStream"]);
    // The answer that made rml_rtmp's ClientSession panic: a command of one value.
    let mut answers = p.command("_result", 2.0, vec![]);
    answers.extend(p.raw_command(vec![s("onFCPublish")]));
    answers.extend(p.command("_result", 4.0, vec![Amf0Value::Number(1.0)]));
    assert_eq!(c.feed(&answers).unwrap(), Progress::Waiting);
    assert_eq!(c.sent(), ["publish"]);
    let mut started = p.msg(begin, 0);
    started.extend(p.status("status", "NetStream.Publish.Start", "app/platform-key"));
    assert_eq!(c.feed(&started).unwrap(), Progress::Published);
    assert_eq!(c.session.stream_id(), 1);
    c.session.close(&mut c.w, &mut c.out);
    assert_eq!(c.sent(), ["FCUnpublish", "deleteStream"]);
}

#[test]
fn a_stream_id_in_the_command_object_place_is_taken() {
    let mut p = Platform::new();
    let mut c = Client::new("k");
    c.feed(&p.command("_result", 1.0, vec![])).unwrap();
    c.feed(&p.raw_command(vec![s("_result"), Amf0Value::Number(4.0), Amf0Value::Number(5.0)])).unwrap();
    c.feed(&p.status("status", "NetStream.Publish.Start", "")).unwrap();
    assert_eq!(c.session.stream_id(), 5);
}

#[test]
fn pings_and_windows_are_answered() {
    let mut p = Platform::new();
    let mut c = Client::new("k");
    c.sent();
    let ping = RtmpMessage::UserControl {
        event_type: UserControlEventType::PingRequest,
        stream_id: None,
        buffer_length: None,
        timestamp: Some(RtmpTimestamp::new(77)),
    };
    let mut bytes = p.msg(RtmpMessage::WindowAcknowledgement { size: 10 }, 0);
    bytes.extend(p.msg(ping, 0));
    let n = bytes.len();
    c.feed(&bytes).unwrap();
    c.session.received(n, &mut c.w, &mut c.out);
    assert_eq!(c.sent(), ["#4", "#3"], "pong, then the acknowledgement");
}

#[test]
fn refusals_are_typed_worded_and_never_carry_the_key() {
    let mut p = Platform::new();
    let mut c = Client::new("some-key");
    let e = c.feed(&p.command("_error", 1.0, vec![obj(&[("description", "no such app\n\x1b[31mfake")])]));
    assert!(
        matches!(&e, Err(PushError::Rejected(r)) if r == "connect refused: no such app\\n\\u{1b}[31mfake"),
        "{e:?}"
    );

    let mut c = Client::new("live_secret_123");
    c.feed(&p.command("_result", 1.0, vec![])).unwrap();
    c.feed(&p.command("_result", 4.0, vec![Amf0Value::Number(1.0)])).unwrap();
    let e = c.feed(&p.status("error", "NetStream.Publish.BadName", "live_secret_123 is in use")).unwrap_err();
    assert_eq!(e.to_string(), "rejected by the platform: NetStream.Publish.BadName: [redacted] is in use");

    let mut c = Client::new("k");
    c.feed(&p.command("_result", 1.0, vec![])).unwrap();
    let e = c.feed(&p.command("_result", 4.0, vec![s("not a number")])).unwrap_err();
    assert!(matches!(e, PushError::Protocol(_)), "{e:?}");
    let e = Client::new("k").feed(&p.command("close", 0.0, vec![])).unwrap_err();
    assert!(matches!(e, PushError::Closed), "{e:?}");
}

#[test]
fn garbage_from_the_platform_is_an_error_never_a_panic() {
    // A truncated control message, a chunk continuing nothing, a huge announced message.
    let cases: [&[u8]; 3] = [
        &[0x02, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0],
        &[0xc5, 1, 2, 3],
        &[0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0],
    ];
    for bytes in cases {
        assert!(matches!(Client::new("k").feed(bytes), Err(PushError::Malformed(_))), "{bytes:?}");
    }
    // Random bytes in random splits.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let mut c = Client::new("k");
        let len = (next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        for piece in bytes.chunks(1 + (next() % 40) as usize) {
            if c.feed(piece).is_err() {
                break;
            }
        }
    }
}

/// The root cause of issue 11's "malformed message from the platform", kept as a check on the
/// dependency: `rml_rtmp` 0.8 parses a command with `Vec::drain(..3)`, which panics when the
/// command has fewer than three AMF0 values, and FFmpeg's server answers `FCPublish` with
/// `onFCPublish` alone. Should a new `rml_rtmp` fix this, the test says so.
#[test]
fn rml_rtmp_panics_on_a_one_value_command() {
    let data = Bytes::from(rml_amf0::serialize(&vec![s("onFCPublish")]).unwrap());
    let p = MessagePayload { timestamp: RtmpTimestamp::new(0), type_id: 20, message_stream_id: 0, data };
    let r = std::panic::catch_unwind(move || p.to_rtmp_message());
    assert!(r.is_err(), "rml_rtmp no longer panics here; the note in push_session.rs can go");
}
