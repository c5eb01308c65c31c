//! RTMP messages other than media, as both sides of the relay read them: protocol control
//! (chunk size, abort, acknowledgements, bandwidth), user control (ping) and AMF0 commands.
//! Parsed by hand from the payload with every length checked; anything short or unknown is
//! an error or ignored, never a panic.

use bytes::{BufMut, Bytes, BytesMut};

use super::amf::{AmfError, Command};

pub(crate) const SET_CHUNK_SIZE: u8 = 1;
pub(crate) const ABORT: u8 = 2;
pub(crate) const ACKNOWLEDGEMENT: u8 = 3;
pub(crate) const USER_CONTROL: u8 = 4;
pub(crate) const WINDOW_ACK_SIZE: u8 = 5;
pub(crate) const AUDIO: u8 = 8;
pub(crate) const VIDEO: u8 = 9;
pub(crate) const DATA_AMF3: u8 = 15;
pub(crate) const COMMAND_AMF3: u8 = 17;
pub(crate) const DATA_AMF0: u8 = 18;
pub(crate) const COMMAND_AMF0: u8 = 20;

const PING_REQUEST: u16 = 6;
const PING_RESPONSE: u16 = 7;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MsgError {
    #[error("control message type {0} is too short")]
    Short(u8),
    #[error("command: {0}")]
    Amf(#[from] AmfError),
}

/// A non-media message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inbound {
    SetChunkSize(u32),
    Abort(u32),
    WindowAckSize(u32),
    PingRequest(u32),
    Command(Command),
    /// Acknowledgements, bandwidth, other user control events, shared objects...: nothing to do.
    Ignored,
}

impl Inbound {
    /// Parse a message of `type_id` (not audio, video or data).
    pub(crate) fn parse(type_id: u8, payload: &[u8]) -> Result<Inbound, MsgError> {
        let u32_at = |at: usize| {
            payload
                .get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or(MsgError::Short(type_id))
        };
        Ok(match type_id {
            SET_CHUNK_SIZE => Inbound::SetChunkSize(u32_at(0)? & 0x7fff_ffff),
            ABORT => Inbound::Abort(u32_at(0)?),
            WINDOW_ACK_SIZE => Inbound::WindowAckSize(u32_at(0)?),
            USER_CONTROL => {
                let event = payload.get(0..2).ok_or(MsgError::Short(type_id))?;
                match u16::from_be_bytes([event[0], event[1]]) {
                    PING_REQUEST => Inbound::PingRequest(u32_at(2)?),
                    _ => Inbound::Ignored,
                }
            }
            COMMAND_AMF0 => Inbound::Command(Command::decode(payload)?),
            // AMF3 commands start with a format byte; their AMF0 body follows.
            COMMAND_AMF3 if payload.first() == Some(&0) => Inbound::Command(Command::decode(&payload[1..])?),
            _ => Inbound::Ignored,
        })
    }
}

/// Payloads of the control messages we send (all on chunk stream 2, message stream 0).
pub(crate) fn set_chunk_size(size: u32) -> Bytes {
    Bytes::copy_from_slice(&size.to_be_bytes())
}

pub(crate) fn acknowledgement(received: u32) -> Bytes {
    Bytes::copy_from_slice(&received.to_be_bytes())
}

pub(crate) fn ping_response(timestamp: u32) -> Bytes {
    let mut b = BytesMut::with_capacity(6);
    b.put_u16(PING_RESPONSE);
    b.put_u32(timestamp);
    b.freeze()
}

/// Counts received bytes and says when an acknowledgement is due (per the peer's window).
#[derive(Debug, Default)]
pub(crate) struct AckCounter {
    window: Option<u32>,
    received: u64,
    unacked: u64,
}

impl AckCounter {
    pub(crate) fn set_window(&mut self, size: u32) {
        self.window = Some(size.max(1));
    }

    /// `n` more bytes read; the sequence number to acknowledge, when one is due.
    pub(crate) fn received(&mut self, n: usize) -> Option<u32> {
        self.received += n as u64;
        self.unacked += n as u64;
        let w = self.window?;
        if self.unacked < u64::from(w) {
            return None;
        }
        self.unacked = 0;
        Some(self.received as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_parse_and_short_ones_are_errors() {
        assert_eq!(Inbound::parse(SET_CHUNK_SIZE, &[0, 0, 16, 0]), Ok(Inbound::SetChunkSize(4096)));
        assert_eq!(
            Inbound::parse(WINDOW_ACK_SIZE, &[0, 0x26, 0x25, 0xa0]),
            Ok(Inbound::WindowAckSize(2_500_000))
        );
        assert_eq!(Inbound::parse(USER_CONTROL, &[0, 6, 0, 0, 0, 9]), Ok(Inbound::PingRequest(9)));
        assert_eq!(Inbound::parse(USER_CONTROL, &[0, 0, 0, 0, 0, 1]), Ok(Inbound::Ignored));
        assert_eq!(Inbound::parse(SET_CHUNK_SIZE, &[0, 0]), Err(MsgError::Short(1)));
        assert_eq!(Inbound::parse(USER_CONTROL, &[0, 6, 0]), Err(MsgError::Short(4)));
        assert_eq!(Inbound::parse(USER_CONTROL, &[]), Err(MsgError::Short(4)));
        assert_eq!(Inbound::parse(6, &[]), Ok(Inbound::Ignored));
        assert!(Inbound::parse(COMMAND_AMF0, &[]).is_err());
        assert_eq!(&ping_response(9)[..], &[0, 7, 0, 0, 0, 9]);
    }

    #[test]
    fn acknowledgements_follow_the_window() {
        let mut a = AckCounter::default();
        assert_eq!(a.received(10_000), None);
        a.set_window(5000);
        assert_eq!(a.received(4000), Some(14_000));
        assert_eq!(a.received(4000), None);
        assert_eq!(a.received(1000), Some(19_000));
    }
}
