//! Just enough FLV to replay a file as an RTMP publisher: the tags, in order.

use std::path::Path;

use bytes::Bytes;
use rml_rtmp::rml_amf0::{self, Amf0Value};
use std::collections::HashMap;

pub struct Tag {
    /// 8 audio, 9 video.
    pub kind: u8,
    pub timestamp: u32,
    pub data: Bytes,
}

pub struct Flv {
    /// Every `onMetaData` property of the file, as an encoder would send them.
    pub metadata: HashMap<String, Amf0Value>,
    pub tags: Vec<Tag>,
    /// Timestamp span of the file plus one frame, for looping.
    pub span_ms: u32,
}

pub fn read(path: &Path) -> Flv {
    let raw = std::fs::read(path).expect("read flv");
    assert!(raw.len() > 13 && &raw[..3] == b"FLV", "not an FLV file");
    let mut pos = u32::from_be_bytes([raw[5], raw[6], raw[7], raw[8]]) as usize + 4;
    let mut metadata = HashMap::new();
    let mut tags = Vec::new();
    while pos + 11 <= raw.len() {
        let kind = raw[pos];
        let size = u32::from_be_bytes([0, raw[pos + 1], raw[pos + 2], raw[pos + 3]]) as usize;
        let ts = u32::from_be_bytes([raw[pos + 7], raw[pos + 4], raw[pos + 5], raw[pos + 6]]);
        let start = pos + 11;
        if start + size > raw.len() {
            break;
        }
        let body = &raw[start..start + size];
        match kind {
            8 | 9 => tags.push(Tag { kind, timestamp: ts, data: Bytes::copy_from_slice(body) }),
            18 => {
                if let Ok(values) = rml_amf0::deserialize(&mut std::io::Cursor::new(body)) {
                    if let Some(Amf0Value::Object(props)) = values.into_iter().nth(1) {
                        metadata = props;
                    }
                }
            }
            _ => {}
        }
        pos = start + size + 4;
    }
    let last = tags.iter().map(|t| t.timestamp).max().unwrap_or(0);
    Flv { metadata, tags, span_ms: last + 33 }
}
