//! Media frames as the relay carries them, FLV tag inspection (keyframes, sequence headers,
//! codec info) and the GOP cache.
//!
//! A frame's payload is the RTMP audio/video message body (an FLV tag body), kept as one shared
//! [`Bytes`]: every output queue and the GOP cache hold the same buffer.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rml_rtmp::sessions::StreamMetadata;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Audio,
    Video,
}

impl FrameKind {
    /// RTMP message type id.
    pub(crate) fn type_id(self) -> u8 {
        match self {
            FrameKind::Audio => 8,
            FrameKind::Video => 9,
        }
    }
}

/// What an output needs before the frames of a publisher: metadata and sequence headers.
/// Replaced (never mutated) when any part changes; `generation` tells versions apart.
#[derive(Debug, Default)]
pub(crate) struct StreamHeaders {
    pub(crate) generation: u64,
    /// The `@setDataFrame` message body, relayed as received.
    pub(crate) metadata_raw: Option<Bytes>,
    /// What `rml_rtmp` understands of it (for the codec info).
    pub(crate) metadata: Option<StreamMetadata>,
    pub(crate) video: Option<Bytes>,
    pub(crate) audio: Option<Bytes>,
}

#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: FrameKind,
    /// The publisher's RTMP timestamp (ms).
    pub(crate) timestamp: u32,
    pub(crate) data: Bytes,
    /// An output may start here: a video keyframe (or any audio frame of an audio-only stream).
    pub(crate) keyframe: bool,
    /// The publisher session this frame came from (a new publisher starts a new epoch).
    pub(crate) epoch: u32,
    /// The headers in force for this frame.
    pub(crate) headers: Arc<StreamHeaders>,
    /// When the ingest received it (saves outputs reading the clock per frame).
    pub(crate) arrived: Instant,
}

pub(crate) type SharedFrame = Arc<Frame>;

/// What a video tag body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VideoTag {
    pub(crate) sequence_header: bool,
    pub(crate) keyframe: bool,
}

/// Classify a video tag body: legacy FLV (AVC/HEVC with an AVCPacketType byte) and Enhanced RTMP
/// (`IsExHeader` bit, FourCC codecs). An empty body is neither.
pub(crate) fn classify_video(data: &[u8]) -> VideoTag {
    let Some(&b0) = data.first() else {
        return VideoTag { sequence_header: false, keyframe: false };
    };
    if b0 & 0x80 != 0 {
        // Enhanced RTMP: frame type in bits 4-6, packet type in bits 0-3.
        let frame_type = (b0 >> 4) & 0x07;
        let packet_type = b0 & 0x0f;
        // 0 = SequenceStart, 5 = MPEG2TSSequenceStart.
        let sequence_header = packet_type == 0 || packet_type == 5;
        return VideoTag { sequence_header, keyframe: frame_type == 1 && !sequence_header };
    }
    let frame_type = b0 >> 4;
    let codec = b0 & 0x0f;
    let sequence_header = matches!(codec, 7 | 12) && data.get(1) == Some(&0);
    VideoTag { sequence_header, keyframe: frame_type == 1 && !sequence_header }
}

/// Whether an audio tag body is a sequence header (AAC AudioSpecificConfig, or an Enhanced RTMP
/// audio SequenceStart).
pub(crate) fn is_audio_sequence_header(data: &[u8]) -> bool {
    match data.first() {
        Some(&b0) if b0 >> 4 == 10 => data.get(1) == Some(&0),
        Some(&b0) if b0 >> 4 == 9 => b0 & 0x0f == 0,
        _ => false,
    }
}

/// Video codec details, from the sequence header and the metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VideoInfo {
    /// `h264`, `hevc`, `av1`, `vp9`, or `flv-codec-<id>` for the rest.
    pub codec: String,
    pub profile: Option<String>,
    pub level: Option<f32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<f32>,
}

/// Audio codec details, from the sequence header (or the first frame).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AudioInfo {
    /// `aac`, `mp3`, `opus`, ... or `flv-sound-<id>`.
    pub codec: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
}

pub(crate) fn video_info(seq: &[u8], metadata: Option<&StreamMetadata>) -> VideoInfo {
    let mut info = VideoInfo::default();
    if let Some(&b0) = seq.first() {
        if b0 & 0x80 != 0 {
            info.codec = match seq.get(1..5) {
                Some(b"avc1") => "h264".into(),
                Some(b"hvc1") => "hevc".into(),
                Some(b"av01") => "av1".into(),
                Some(b"vp09") => "vp9".into(),
                Some(f) => format!("fourcc-{}", String::from_utf8_lossy(f)),
                None => "unknown".into(),
            };
        } else {
            let codec = b0 & 0x0f;
            info.codec = match codec {
                7 => "h264".into(),
                12 => "hevc".into(),
                c => format!("flv-codec-{c}"),
            };
            // AVCDecoderConfigurationRecord after the 5-byte AVC video tag header.
            if codec == 7 {
                if let (Some(&profile), Some(&level)) = (seq.get(6), seq.get(8)) {
                    info.profile = Some(avc_profile(profile));
                    info.level = Some(level as f32 / 10.0);
                }
            }
        }
    }
    if let Some(m) = metadata {
        info.width = m.video_width;
        info.height = m.video_height;
        info.frame_rate = m.video_frame_rate;
    }
    info
}

fn avc_profile(p: u8) -> String {
    match p {
        66 => "baseline".into(),
        77 => "main".into(),
        88 => "extended".into(),
        100 => "high".into(),
        110 => "high10".into(),
        122 => "high422".into(),
        244 => "high444".into(),
        p => format!("profile-{p}"),
    }
}

pub(crate) fn audio_info(data: &[u8]) -> AudioInfo {
    let Some(&b0) = data.first() else { return AudioInfo::default() };
    let format = b0 >> 4;
    let mut info = AudioInfo {
        codec: match format {
            2 => "mp3".into(),
            10 => "aac".into(),
            11 => "speex".into(),
            9 => "enhanced".into(),
            f => format!("flv-sound-{f}"),
        },
        sample_rate: None,
        channels: Some(if b0 & 0x01 == 1 { 2 } else { 1 }),
    };
    if format == 10 && data.get(1) == Some(&0) {
        // AudioSpecificConfig: 5 bits object type, 4 bits frequency index, 4 bits channels.
        if let (Some(&a), Some(&b)) = (data.get(2), data.get(3)) {
            let freq_index = ((a & 0x07) << 1) | (b >> 7);
            const RATES: [u32; 13] =
                [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
            info.sample_rate = RATES.get(freq_index as usize).copied();
            let channels = (b >> 3) & 0x0f;
            if channels > 0 {
                info.channels = Some(channels);
            }
        }
    } else if format == 9 {
        info.codec = match data.get(1..5) {
            Some(b"Opus") => "opus".into(),
            Some(b"fLaC") => "flac".into(),
            Some(b"ac-3") => "ac3".into(),
            Some(b"ec-3") => "eac3".into(),
            Some(b".mp3") => "mp3".into(),
            Some(b"mp4a") => "aac".into(),
            _ => "enhanced".into(),
        };
    }
    info
}

/// The frames since the last keyframe, so an output can join on a keyframe.
#[derive(Debug)]
pub(crate) struct GopCache {
    frames: Vec<SharedFrame>,
    bytes: usize,
    limit: usize,
    /// Over the limit: cache nothing until the next keyframe.
    overflowed: bool,
}

impl GopCache {
    pub(crate) fn new(limit: usize) -> Self {
        GopCache { frames: Vec::new(), bytes: 0, limit, overflowed: false }
    }

    pub(crate) fn push(&mut self, frame: &SharedFrame) {
        if frame.keyframe {
            self.clear();
        } else if self.overflowed || self.frames.is_empty() {
            return;
        }
        self.bytes += frame.data.len();
        self.frames.push(frame.clone());
        if self.bytes > self.limit {
            self.clear();
            self.overflowed = true;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
        self.overflowed = false;
    }

    pub(crate) fn frames(&self) -> &[SharedFrame] {
        &self.frames
    }

    #[cfg(test)]
    pub(crate) fn has_keyframe(&self) -> bool {
        !self.frames.is_empty()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn frame(kind: FrameKind, ts: u32, keyframe: bool, len: usize) -> SharedFrame {
        Arc::new(Frame {
            kind,
            timestamp: ts,
            data: Bytes::from(vec![0u8; len]),
            keyframe,
            epoch: 1,
            headers: Arc::new(StreamHeaders::default()),
            arrived: Instant::now(),
        })
    }

    #[test]
    fn classifies_legacy_and_enhanced_video() {
        assert_eq!(
            classify_video(&[0x17, 0x00, 0, 0, 0]),
            VideoTag { sequence_header: true, keyframe: false }
        );
        assert_eq!(
            classify_video(&[0x17, 0x01, 0, 0, 0]),
            VideoTag { sequence_header: false, keyframe: true }
        );
        assert_eq!(
            classify_video(&[0x27, 0x01, 0, 0, 0]),
            VideoTag { sequence_header: false, keyframe: false }
        );
        // Enhanced RTMP: keyframe (1) + SequenceStart (0), keyframe + CodedFrames (1).
        assert!(classify_video(&[0x90, b'h', b'v', b'c', b'1']).sequence_header);
        assert!(classify_video(&[0x91, b'h', b'v', b'c', b'1']).keyframe);
        assert!(!classify_video(&[0xa1, b'h', b'v', b'c', b'1']).keyframe);
        assert_eq!(classify_video(&[]), VideoTag { sequence_header: false, keyframe: false });
        assert!(is_audio_sequence_header(&[0xaf, 0x00, 0x11, 0x90]));
        assert!(!is_audio_sequence_header(&[0xaf, 0x01, 1, 2]));
        assert!(!is_audio_sequence_header(&[]));
    }

    #[test]
    fn reads_codec_details_from_sequence_headers() {
        // AVC main profile, level 3.1.
        let v = video_info(&[0x17, 0, 0, 0, 0, 1, 77, 0x40, 31, 0xff], None);
        assert_eq!((v.codec.as_str(), v.profile.as_deref(), v.level), ("h264", Some("main"), Some(3.1)));
        // AAC LC, 48 kHz (index 3), 2 channels: 00010 0011 0010 000 = 0x11 0x90.
        let a = audio_info(&[0xaf, 0x00, 0x11, 0x90]);
        assert_eq!((a.codec.as_str(), a.sample_rate, a.channels), ("aac", Some(48000), Some(2)));
        // Truncated input yields what it can, never panics.
        assert_eq!(video_info(&[0x17], None).codec, "h264");
        assert_eq!(audio_info(&[0xaf, 0x00]).sample_rate, None);
        assert_eq!(video_info(&[0x90, b'a'], None).codec, "unknown");
    }

    #[test]
    fn gop_cache_starts_at_keyframes_and_respects_its_limit() {
        let mut gop = GopCache::new(10_000);
        gop.push(&frame(FrameKind::Audio, 0, false, 100));
        assert!(!gop.has_keyframe(), "nothing cached before the first keyframe");
        gop.push(&frame(FrameKind::Video, 0, true, 1000));
        gop.push(&frame(FrameKind::Audio, 10, false, 100));
        gop.push(&frame(FrameKind::Video, 33, false, 500));
        assert_eq!(gop.frames().len(), 3);
        assert_eq!(gop.bytes(), 1600);
        gop.push(&frame(FrameKind::Video, 66, true, 1000));
        assert_eq!(gop.frames().len(), 1, "a keyframe starts a new GOP");
        assert!(gop.frames()[0].keyframe);
        // Overflow: the cache empties and stays empty until the next keyframe.
        gop.push(&frame(FrameKind::Video, 99, false, 9_500));
        assert!(!gop.has_keyframe());
        gop.push(&frame(FrameKind::Video, 133, false, 10));
        assert!(!gop.has_keyframe());
        gop.push(&frame(FrameKind::Video, 166, true, 10));
        assert_eq!(gop.frames().len(), 1);
    }
}
