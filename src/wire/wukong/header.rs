//! The packet header and the framer.
//!
//! Byte 0 is `type << 4 | flags`. Every packet but PING (7) and PONG (8) then has its body
//! length as an MQTT-style variable integer (7 bits a byte, least significant group first,
//! the high bit meaning "more", at most 4 bytes), and the server refuses bodies over 1 MiB.
//! PING and PONG are the single bytes `70` and `80`.

use crate::wire::frame::Status;

/// The largest body the server accepts (`MaxRemaingLength` in its codec), and so the largest
/// this framer takes.
pub const MAX_REMAINING: usize = 1024 * 1024;

/// The most bytes the remaining length may take.
pub const MAX_LENGTH_BYTES: usize = 4;

/// A packet type (the high nibble of byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum PacketType {
    /// Client → server: log in.
    Connect = 1,
    /// Server → client: the login's answer.
    Connack = 2,
    /// Client → server: send a message (not used by a listener).
    Send = 3,
    /// Server → client: a SEND's answer.
    Sendack = 4,
    /// Server → client: a message (the push).
    Recv = 5,
    /// Client → server: a RECV was received.
    Recvack = 6,
    /// Client → server: keepalive (one byte).
    Ping = 7,
    /// Server → client: keepalive answer (one byte).
    Pong = 8,
    /// Either way: the connection ends, with a reason (a kick).
    Disconnect = 9,
    /// Client → server: subscribe (ignored by v2 servers, refused by v3).
    Sub = 10,
    /// Server → client: a SUB's answer (v1 servers only).
    Suback = 11,
    /// Server → client: a streaming "message event" (v2.2).
    Event = 12,
}

impl PacketType {
    /// The type of header byte `b`, if known.
    pub fn of(b: u8) -> Option<Self> {
        Some(match b >> 4 {
            1 => Self::Connect,
            2 => Self::Connack,
            3 => Self::Send,
            4 => Self::Sendack,
            5 => Self::Recv,
            6 => Self::Recvack,
            7 => Self::Ping,
            8 => Self::Pong,
            9 => Self::Disconnect,
            10 => Self::Sub,
            11 => Self::Suback,
            12 => Self::Event,
            _ => return None,
        })
    }

    /// Whether the packet is the header byte alone (PING and PONG).
    pub fn is_single_byte(self) -> bool {
        matches!(self, Self::Ping | Self::Pong)
    }
}

/// Header flags on SEND, RECV and RECVACK (copied to their acks).
pub mod flags {
    /// A re-send.
    pub const DUP: u8 = 0b1000;
    /// Synchronised once (cmd messages).
    pub const SYNC_ONCE: u8 = 0b0100;
    /// Shows a red dot (unread badge).
    pub const RED_DOT: u8 = 0b0010;
    /// Not persisted by the server (and so not re-sent: its ack clears nothing).
    pub const NO_PERSIST: u8 = 0b0001;
    /// CONNACK only: the server's protocol version follows.
    pub const HAS_SERVER_VERSION: u8 = 0b0001;
}

/// A whole packet: its type, its header flags and its body (empty for PING and PONG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The packet type.
    pub kind: PacketType,
    /// The low nibble of byte 0.
    pub flags: u8,
    /// The body, after the remaining length.
    pub body: &'a [u8],
}

/// Why bytes are not a packet. The stream cannot be read on after any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// The high nibble of byte 0 is no packet type (0, 13, 14 or 15).
    UnknownType(u8),
    /// The remaining length goes on past 4 bytes.
    LengthTooLong,
    /// The body is longer than [`MAX_REMAINING`] (or than the caller's limit).
    TooLarge {
        /// The announced body length.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
}

impl FrameError {
    /// A short fixed description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UnknownType(_) => "unknown WuKongIM packet type",
            Self::LengthTooLong => "WuKongIM remaining length over 4 bytes",
            Self::TooLarge { .. } => "WuKongIM packet too large",
        }
    }
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownType(t) => write!(f, "unknown WuKongIM packet type {t}"),
            Self::LengthTooLong => f.write_str(self.as_str()),
            Self::TooLarge { len, max } => {
                write!(f, "WuKongIM packet body of {len} bytes (at most {max})")
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// The remaining length at the start of `input`: `Complete(len, bytes used)`, `Partial` while
/// its last byte has not arrived.
pub fn parse_length(input: &[u8]) -> Result<Status<usize>, FrameError> {
    let mut len = 0usize;
    for (i, &b) in input.iter().take(MAX_LENGTH_BYTES).enumerate() {
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Status::Complete(len, i + 1));
        }
    }
    if input.len() >= MAX_LENGTH_BYTES {
        Err(FrameError::LengthTooLong)
    } else {
        Ok(Status::Partial(None))
    }
}

/// Writes `len` as a remaining length into `out`; returns the bytes written, or `None` when
/// `out` is too short or `len` needs more than 4 bytes.
pub fn write_length(out: &mut [u8], len: usize) -> Option<usize> {
    let mut v = len;
    for i in 0..MAX_LENGTH_BYTES {
        let more = v > 0x7f;
        let b = (v & 0x7f) as u8 | if more { 0x80 } else { 0 };
        *out.get_mut(i)? = b;
        v >>= 7;
        if !more {
            return Some(i + 1);
        }
    }
    None
}

/// The bytes [`write_length`] writes for `len`.
pub fn length_len(len: usize) -> usize {
    match len {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        _ => 4,
    }
}

/// The packet at the start of `input`, with bodies of at most `max` bytes (at most
/// [`MAX_REMAINING`]): `Complete(frame, bytes used)`, or `Partial` with the packet's total
/// length once its header is known.
pub fn parse_frame(input: &[u8], max: usize) -> Result<Status<Frame<'_>>, FrameError> {
    let Some(&b0) = input.first() else {
        return Ok(Status::Partial(None));
    };
    let kind = PacketType::of(b0).ok_or(FrameError::UnknownType(b0 >> 4))?;
    let flags = b0 & 0x0f;
    if kind.is_single_byte() {
        return Ok(Status::Complete(
            Frame {
                kind,
                flags,
                body: &[],
            },
            1,
        ));
    }
    let rest = input.get(1..).unwrap_or(&[]);
    let (len, used) = match parse_length(rest)? {
        Status::Complete(len, used) => (len, used),
        Status::Partial(_) => return Ok(Status::Partial(None)),
    };
    let max = max.min(MAX_REMAINING);
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let total = 1 + used + len;
    match input.get(1 + used..total) {
        Some(body) => Ok(Status::Complete(Frame { kind, flags, body }, total)),
        None => Ok(Status::Partial(Some(total))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_at_every_width() {
        for len in [
            0usize,
            1,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            0x1f_ffff,
            0x20_0000,
            0x0fff_ffff,
        ] {
            let mut buf = [0u8; 4];
            let n = write_length(&mut buf, len).unwrap();
            assert_eq!(n, length_len(len));
            assert_eq!(parse_length(&buf[..n]), Ok(Status::Complete(len, n)));
            assert_eq!(parse_length(&buf[..n - 1]), Ok(Status::Partial(None)));
        }
        assert_eq!(write_length(&mut [0u8; 8], 0x1000_0000), None);
        assert_eq!(
            parse_length(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(FrameError::LengthTooLong)
        );
    }

    #[test]
    fn ping_and_pong_are_one_byte_and_bad_types_are_refused() {
        assert_eq!(
            parse_frame(&[0x80, 0x70], MAX_REMAINING),
            Ok(Status::Complete(
                Frame {
                    kind: PacketType::Pong,
                    flags: 0,
                    body: &[]
                },
                1
            ))
        );
        for t in [0x00u8, 0xd0, 0xe0, 0xf0] {
            assert_eq!(
                parse_frame(&[t, 0], MAX_REMAINING),
                Err(FrameError::UnknownType(t >> 4))
            );
        }
    }

    #[test]
    fn a_body_over_the_limit_is_refused_once_its_length_is_known() {
        // 1 MiB + 1: 0x100001 = 81 80 c0 00? (7-bit groups 0x01, 0x00, 0x40)
        let mut head = [0x50u8, 0, 0, 0];
        let n = write_length(&mut head[1..], MAX_REMAINING + 1).unwrap();
        assert_eq!(
            parse_frame(&head[..1 + n], MAX_REMAINING),
            Err(FrameError::TooLarge {
                len: MAX_REMAINING + 1,
                max: MAX_REMAINING
            })
        );
        assert_eq!(
            parse_frame(&[0x50, 0x05, 1, 2], 4),
            Err(FrameError::TooLarge { len: 5, max: 4 })
        );
        assert_eq!(
            parse_frame(&[0x50, 0x05, 1, 2], MAX_REMAINING),
            Ok(Status::Partial(Some(7)))
        );
    }
}
