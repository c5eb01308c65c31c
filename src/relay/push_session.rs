//! The client side of RTMP publishing, without the socket: what the relay says to a platform
//! and how it reads the answers, over the project's own chunk layer ([`ChunkReader`] in,
//! [`ChunkWriter`] out).
//!
//! ```text
//! → SetChunkSize, connect(app, tcUrl)           ← _result (or _error: rejected)
//! → releaseStream, FCPublish, createStream      ← _result(stream id)   (answers to the first
//!                                                  two are ignored: servers differ)
//! → publish(key, "live") on that stream         ← onStatus NetStream.Publish.Start
//! ```
//!
//! Why not `rml_rtmp`'s `ClientSession` (used until issue 11): its command parser takes the
//! first three AMF0 values with `Vec::drain(..3)`, which panics on a shorter command, and
//! FFmpeg's RTMP server answers `FCPublish` with `onFCPublish` carrying only its name. Every
//! push to an `ffmpeg -listen 1` platform died there. Here every message a platform sends is
//! parsed with limits ([`super::amf`], [`super::rtmp_msg`]); anything unexpected is ignored when
//! harmless and otherwise a typed [`PushError`], so the output retries. Nothing panics.

use rml_rtmp::rml_amf0::Amf0Value;

use super::amf::Command;
use super::chunks::{ChunkReader, Limits};
use super::logtext::escape;
use super::push::PushError;
use super::rtmp_msg::{self, AckCounter, Inbound};
use super::wire::{ChunkWriter, SegmentBuf};
use crate::secrets::Secret;

/// Outgoing chunk size (what OBS uses).
pub(crate) const CHUNK_SIZE: u32 = 4096;
const TX_CONNECT: f64 = 1.0;
const TX_RELEASE: f64 = 2.0;
const TX_FCPUBLISH: f64 = 3.0;
const TX_CREATE_STREAM: f64 = 4.0;
/// Longest platform text kept in an error (descriptions can be anything).
const MAX_REASON: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    CreatingStream,
    Publishing,
    Live,
}

/// What the input so far means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    Waiting,
    /// The platform accepted the publish: media may flow on [`PushSession::stream_id`].
    Published,
}

pub(crate) struct PushSession {
    reader: ChunkReader,
    acks: AckCounter,
    state: State,
    app: String,
    tc_url: String,
    key: Secret,
    stream_id: u32,
}

impl PushSession {
    pub(crate) fn new(app: &str, tc_url: &str, key: &Secret) -> Self {
        PushSession {
            reader: ChunkReader::new(Limits::PLATFORM),
            acks: AckCounter::default(),
            state: State::Connecting,
            app: app.to_string(),
            tc_url: tc_url.to_string(),
            key: key.clone(),
            stream_id: 0,
        }
    }

    /// The message stream the platform assigned (valid once published).
    pub(crate) fn stream_id(&self) -> u32 {
        self.stream_id
    }

    /// The buffer to read the socket into.
    pub(crate) fn reader(&mut self) -> &mut ChunkReader {
        &mut self.reader
    }

    /// Queue what opens the session: our chunk size, then `connect`.
    pub(crate) fn start(&mut self, w: &mut ChunkWriter, out: &mut SegmentBuf) {
        w.control(out, rtmp_msg::SET_CHUNK_SIZE, rtmp_msg::set_chunk_size(CHUNK_SIZE));
        let s = |v: &str| Amf0Value::Utf8String(v.to_string());
        let object = Amf0Value::Object(
            [
                ("app", s(&self.app)),
                ("type", s("nonprivate")),
                ("flashVer", s("FMLE/3.0 (compatible; FMSc/1.0)")),
                ("swfUrl", s(&self.tc_url)),
                ("tcUrl", s(&self.tc_url)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        w.command(out, 0, &[s("connect"), Amf0Value::Number(TX_CONNECT), object]);
    }

    /// `n` bytes were read into the buffer; acknowledges them when the platform's window asks.
    pub(crate) fn received(&mut self, n: usize, w: &mut ChunkWriter, out: &mut SegmentBuf) {
        if let Some(seq) = self.acks.received(n) {
            w.control(out, rtmp_msg::ACKNOWLEDGEMENT, rtmp_msg::acknowledgement(seq));
        }
    }

    /// Handle every complete message in the buffer; answers are queued on `out`.
    pub(crate) fn input(&mut self, w: &mut ChunkWriter, out: &mut SegmentBuf) -> Result<Progress, PushError> {
        let mut progress = Progress::Waiting;
        while let Some(m) = self.reader.next().map_err(|e| PushError::Malformed(e.to_string()))? {
            if matches!(
                m.type_id,
                rtmp_msg::AUDIO | rtmp_msg::VIDEO | rtmp_msg::DATA_AMF0 | rtmp_msg::DATA_AMF3
            ) {
                continue; // a publishing client has no use for media or data from the server
            }
            let msg =
                Inbound::parse(m.type_id, &m.payload).map_err(|e| PushError::Malformed(e.to_string()))?;
            match msg {
                Inbound::SetChunkSize(size) => {
                    self.reader.set_chunk_size(size).map_err(|e| PushError::Malformed(e.to_string()))?
                }
                Inbound::Abort(csid) => self.reader.abort(csid),
                Inbound::WindowAckSize(size) => self.acks.set_window(size),
                Inbound::PingRequest(ts) => {
                    w.control(out, rtmp_msg::USER_CONTROL, rtmp_msg::ping_response(ts))
                }
                Inbound::Command(c) => {
                    if self.command(&c, w, out)? {
                        progress = Progress::Published;
                    }
                }
                Inbound::Ignored => {}
            }
        }
        Ok(progress)
    }

    /// Returns whether this command completed the publish.
    fn command(&mut self, c: &Command, w: &mut ChunkWriter, out: &mut SegmentBuf) -> Result<bool, PushError> {
        let s = |v: &str| Amf0Value::Utf8String(v.to_string());
        let key = || s(self.key.expose());
        match (c.name.as_str(), self.state) {
            ("_result", State::Connecting) if c.transaction == TX_CONNECT => {
                // What OBS and FFmpeg send before createStream; some ingest servers expect them.
                for (name, tx) in [("releaseStream", TX_RELEASE), ("FCPublish", TX_FCPUBLISH)] {
                    w.command(out, 0, &[s(name), Amf0Value::Number(tx), Amf0Value::Null, key()]);
                }
                w.command(out, 0, &[s("createStream"), Amf0Value::Number(TX_CREATE_STREAM), Amf0Value::Null]);
                self.state = State::CreatingStream;
            }
            ("_result", State::CreatingStream) if c.transaction == TX_CREATE_STREAM => {
                // The id is the first number after the (usually null) command object; a few
                // servers put it in the object's place.
                let id = c.args.iter().chain(std::iter::once(&c.object)).find_map(|v| match v {
                    Amf0Value::Number(n) if n.is_finite() && *n >= 0.0 && *n <= u32::MAX as f64 => {
                        Some(*n as u32)
                    }
                    _ => None,
                });
                let Some(id) = id else {
                    return Err(PushError::Protocol("the platform created a stream without an id".into()));
                };
                self.stream_id = id;
                w.command(
                    out,
                    id,
                    &[s("publish"), Amf0Value::Number(0.0), Amf0Value::Null, key(), s("live")],
                );
                self.state = State::Publishing;
            }
            ("_error", State::Connecting) if c.transaction == TX_CONNECT => {
                return Err(PushError::Rejected(format!("connect refused: {}", self.describe(c))));
            }
            ("_error", State::CreatingStream) if c.transaction == TX_CREATE_STREAM => {
                return Err(PushError::Rejected(format!("createStream refused: {}", self.describe(c))));
            }
            ("onStatus", state) => {
                let code = c.info_str("code").unwrap_or_default();
                let level = c.info_str("level").unwrap_or_default();
                if level.eq_ignore_ascii_case("error") || is_error_code(code) {
                    return Err(PushError::Rejected(self.describe(c)));
                }
                if state == State::Publishing && code == "NetStream.Publish.Start" {
                    self.state = State::Live;
                    return Ok(true);
                }
                tracing::debug!(code = %escape(code, MAX_REASON), "relay output: status from the platform");
            }
            ("close", _) => return Err(PushError::Closed),
            // onBWDone, onFCPublish, answers to releaseStream/FCPublish, _checkbw, ...
            (name, _) => tracing::trace!(command = %escape(name, 64), "relay output: ignored command"),
        }
        Ok(false)
    }

    /// A platform's code and description, escaped, bounded and without our key.
    fn describe(&self, c: &Command) -> String {
        let code = c.info_str("code").unwrap_or_default();
        let text = match c.info_str("description") {
            Some(d) if !d.is_empty() && !code.is_empty() => format!("{code}: {d}"),
            Some(d) if !d.is_empty() => d.to_string(),
            _ if !code.is_empty() => code.to_string(),
            _ => "no reason given".to_string(),
        };
        let text = if self.key.is_blank() { text } else { text.replace(self.key.expose(), "[redacted]") };
        escape(&text, MAX_REASON)
    }

    /// Queue the unpublish (`FCUnpublish`, `deleteStream`).
    pub(crate) fn close(&self, w: &mut ChunkWriter, out: &mut SegmentBuf) {
        let s = |v: &str| Amf0Value::Utf8String(v.to_string());
        let key = s(self.key.expose());
        w.command(out, 0, &[s("FCUnpublish"), Amf0Value::Number(5.0), Amf0Value::Null, key]);
        if self.stream_id != 0 {
            let id = Amf0Value::Number(self.stream_id as f64);
            w.command(out, 0, &[s("deleteStream"), Amf0Value::Number(6.0), Amf0Value::Null, id]);
        }
    }
}

pub(crate) fn is_error_code(code: &str) -> bool {
    ["Failed", "BadName", "Rejected", "Denied", "Error", "Unauthorized", "Closed"]
        .iter()
        .any(|w| code.contains(w))
}

#[cfg(test)]
#[path = "push_session_tests.rs"]
mod tests;
