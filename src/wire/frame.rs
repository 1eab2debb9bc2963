//! FPNN frames: parse one frame from a byte slice, or build one into a caller's buffer.
//!
//! Layout (reference §1.1, integers little-endian):
//!
//! ```text
//! 0      4        5     6      7    8       12
//! | FPNN | version | flag | mtype | ss | psize | [seq u32] | [method, ss bytes] | payload |
//! ```
//!
//! - mtype 0, oneway quest: method then payload, no seq;
//! - mtype 1, twoway quest: seq, method, payload;
//! - mtype 2, answer: seq, payload; `ss` is the status (0 = OK).
//!
//! Parsing never panics. It accepts any version byte, requires exactly one of the msgpack and
//! JSON flag bits (JSON payloads are recognised and refused with their own error), and checks
//! that a non-empty payload starts with a msgpack map. An empty payload is accepted and reads as
//! the empty map, as the C++ server tolerates it for quests. Building always writes version 1 and
//! flag `0x80`, and sizes the frame before writing so a short buffer is left untouched.

use nom::{IResult, bytes::streaming::take};

use super::msgpack::{SliceSink, Writer, is_map_marker};

/// Bytes in the fixed header.
pub const HEADER_LEN: usize = 12;
/// The magic that starts every frame.
pub const MAGIC: [u8; 4] = *b"FPNN";
/// The version byte we send. Any version is accepted on receive.
pub const VERSION: u8 = 1;
/// Flag bit: payload is msgpack.
pub const FLAG_MSGPACK: u8 = 0x80;
/// Flag bit: payload is JSON (unsupported).
pub const FLAG_JSON: u8 = 0x40;
/// The C++ server's default maximum frame length (8 MiB).
pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

/// The three kinds of frame (the header's mtype).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameKind {
    /// mtype 0: a quest that must not be answered.
    Oneway,
    /// mtype 1: a quest that must be answered exactly once.
    Twoway,
    /// mtype 2: an answer to a twoway quest.
    Answer,
}

impl FrameKind {
    /// The header's mtype byte.
    pub fn mtype(self) -> u8 {
        match self {
            Self::Oneway => 0,
            Self::Twoway => 1,
            Self::Answer => 2,
        }
    }
}

/// Why bytes are not a valid FPNN frame. Each is fatal for the connection: the stream cannot
/// be resynchronised, so the host should close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameError {
    /// The first four bytes are not `FPNN`.
    BadMagic,
    /// The flag announces a JSON payload, which this engine does not support.
    JsonPayload,
    /// The flag has neither or both of the msgpack and JSON bits (the byte is given).
    BadFlag(u8),
    /// The mtype is not 0, 1 or 2 (the byte is given).
    BadMtype(u8),
    /// A quest with a zero-length method name.
    EmptyMethod,
    /// The frame is longer than the configured maximum or the buffer.
    TooLarge {
        /// Total frame length announced by the header.
        len: usize,
        /// The limit it exceeds.
        max: usize,
    },
    /// The payload is not a msgpack map.
    PayloadNotMap,
    /// An encrypted package (FPNN encryption's package mode) announced a length of 0 or over
    /// 8 MiB: the stream cannot be decrypted on.
    BadPackage,
}

impl FrameError {
    /// A static description (without the numbers some variants carry), for logs that do
    /// without `core::fmt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::BadMagic => "bad FPNN magic",
            Self::JsonPayload => "JSON payloads are not supported",
            Self::BadFlag(_) => "bad FPNN flag",
            Self::BadMtype(_) => "bad FPNN mtype",
            Self::EmptyMethod => "quest with an empty method",
            Self::TooLarge { .. } => "frame too large",
            Self::PayloadNotMap => "payload is not a msgpack map",
            Self::BadPackage => "encrypted package of length 0 or over 8 MiB",
        }
    }
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadFlag(b) => write!(f, "bad FPNN flag 0x{b:02x}"),
            Self::BadMtype(b) => write!(f, "bad FPNN mtype {b}"),
            Self::TooLarge { len, max } => write!(f, "frame of {len} bytes exceeds {max}"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl core::error::Error for FrameError {}

/// The validated fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// The version byte, as received.
    pub version: u8,
    /// The flag byte, as received.
    pub flag: u8,
    /// Quest or answer.
    pub kind: FrameKind,
    /// Method length (quests) or status (answers).
    pub ss: u8,
    /// Payload length.
    pub psize: u32,
}

impl Header {
    /// Total length of the frame this header starts, header included.
    #[inline]
    pub fn frame_len(&self) -> usize {
        let body = match self.kind {
            FrameKind::Oneway => usize::from(self.ss),
            FrameKind::Twoway => 4 + usize::from(self.ss),
            FrameKind::Answer => 4,
        };
        // psize is a u32: on 16-bit targets this saturates and is then rejected as too large.
        let psize = usize::try_from(self.psize).unwrap_or(usize::MAX);
        HEADER_LEN.saturating_add(body).saturating_add(psize)
    }
}

/// One complete frame, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Frame<'a> {
    /// A quest from the peer.
    Quest {
        /// `Some` for a twoway quest, `None` for a oneway one.
        seq: Option<u32>,
        /// The method name (1..=255 bytes).
        method: &'a [u8],
        /// The msgpack payload (a map, or empty).
        payload: &'a [u8],
    },
    /// An answer from the peer.
    Answer {
        /// The seq of the quest being answered.
        seq: u32,
        /// 0 for success, non-zero for an error answer.
        status: u8,
        /// The msgpack payload (a map, or empty).
        payload: &'a [u8],
    },
}

impl<'a> Frame<'a> {
    /// The frame's payload.
    pub fn payload(&self) -> &'a [u8] {
        match self {
            Frame::Quest { payload, .. } | Frame::Answer { payload, .. } => payload,
        }
    }
}

/// Result of a parse that may need more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status<T> {
    /// A complete value, and how many input bytes it used.
    Complete(T, usize),
    /// Not enough bytes yet. Carries the total frame length once the header is known.
    Partial(Option<usize>),
}

/// The 12 header bytes, split off by nom's streaming `take`: `None` while fewer have arrived.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn header_bytes(input: &[u8]) -> Option<&[u8; HEADER_LEN]> {
    let split: IResult<&[u8], &[u8], ()> = take(HEADER_LEN)(input);
    match split {
        Ok((_, head)) => head.first_chunk::<HEADER_LEN>(),
        Err(_) => None,
    }
}

/// Parses and validates the fixed header.
///
/// With fewer than 12 bytes this still rejects a bad magic as early as the bytes allow.
#[inline]
pub fn parse_header(input: &[u8]) -> Result<Status<Header>, FrameError> {
    let Some(head) = header_bytes(input) else {
        return if input.iter().zip(MAGIC).all(|(&a, b)| a == b) {
            Ok(Status::Partial(None))
        } else {
            Err(FrameError::BadMagic)
        };
    };
    let [m0, m1, m2, m3, version, flag, mtype, ss, p0, p1, p2, p3] = *head;
    if [m0, m1, m2, m3] != MAGIC {
        return Err(FrameError::BadMagic);
    }
    if flag & (FLAG_MSGPACK | FLAG_JSON) != FLAG_MSGPACK {
        return Err(if flag & (FLAG_MSGPACK | FLAG_JSON) == FLAG_JSON {
            FrameError::JsonPayload
        } else {
            FrameError::BadFlag(flag)
        });
    }
    let kind = match mtype {
        0 => FrameKind::Oneway,
        1 => FrameKind::Twoway,
        2 => FrameKind::Answer,
        other => return Err(FrameError::BadMtype(other)),
    };
    if kind != FrameKind::Answer && ss == 0 {
        return Err(FrameError::EmptyMethod);
    }
    let header = Header {
        version,
        flag,
        kind,
        ss,
        psize: u32::from_le_bytes([p0, p1, p2, p3]),
    };
    Ok(Status::Complete(header, HEADER_LEN))
}

/// Parses one frame from the start of `input`.
///
/// A frame longer than `max_len` is refused as soon as its header is complete, before its body
/// arrives. Bytes after the frame are left for the next call.
///
/// Speed builds first try a straight-line read of a whole valid frame ([`whole_frame`], which
/// the receive path inlines); anything else (incomplete, invalid, too large) goes to the exact
/// parser, which gives the same result for what the fast read accepts.
#[cfg_attr(not(rtm_opt_size), inline(always))]
#[cfg_attr(rtm_opt_size, inline)]
pub fn parse_frame(input: &[u8], max_len: usize) -> Result<Status<Frame<'_>>, FrameError> {
    #[cfg(not(rtm_opt_size))]
    if let Some((frame, len)) = complete_frame(input, max_len) {
        return Ok(Status::Complete(frame, len));
    }
    parse_frame_exact(input, max_len)
}

/// A whole, valid frame of at most `max_len` bytes at the start of `input`; `None` for
/// anything else (the caller then buffers the bytes and learns why from [`parse_frame`]). The
/// receive path's read of frames that arrived whole: straight-line in speed builds, the exact
/// parser in size builds.
#[inline(always)]
pub fn whole_frame(input: &[u8], max_len: usize) -> Option<(Frame<'_>, usize)> {
    #[cfg(not(rtm_opt_size))]
    return complete_frame(input, max_len);
    #[cfg(rtm_opt_size)]
    match parse_frame_exact(input, max_len) {
        Ok(Status::Complete(frame, len)) => Some((frame, len)),
        _ => None,
    }
}

/// A whole, valid frame of at most `max_len` bytes at the start of `input`, read in one pass
/// with one length check per part; `None` for anything else (more bytes needed, an invalid
/// header, a payload that is not a map, too large), which [`parse_frame`]'s exact path then
/// reports.
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn complete_frame(input: &[u8], max_len: usize) -> Option<(Frame<'_>, usize)> {
    let (head, body) = input.split_first_chunk::<HEADER_LEN>()?;
    let [m0, m1, m2, m3, _version, flag, mtype, ss, p0, p1, p2, p3] = *head;
    if [m0, m1, m2, m3] != MAGIC || flag & (FLAG_MSGPACK | FLAG_JSON) != FLAG_MSGPACK {
        return None;
    }
    let psize = usize::try_from(u32::from_le_bytes([p0, p1, p2, p3])).ok()?;
    // Each kind returns on its own, so that the caller's match on the frame's kind folds into
    // this one.
    match mtype {
        // Twoway quest: seq, method, payload.
        1 if ss != 0 => {
            let (seq, rest) = body.split_first_chunk::<4>()?;
            let (method, rest) = rest.split_at_checked(usize::from(ss))?;
            let payload = map_payload(rest, psize)?;
            let len = HEADER_LEN + 4 + usize::from(ss) + psize;
            let frame = Frame::Quest {
                seq: Some(u32::from_le_bytes(*seq)),
                method,
                payload,
            };
            (len <= max_len).then_some((frame, len))
        }
        // Answer: seq, payload.
        2 => {
            let (seq, rest) = body.split_first_chunk::<4>()?;
            let payload = map_payload(rest, psize)?;
            let len = HEADER_LEN + 4 + psize;
            let frame = Frame::Answer {
                seq: u32::from_le_bytes(*seq),
                status: ss,
                payload,
            };
            (len <= max_len).then_some((frame, len))
        }
        // Oneway quest: method, payload.
        0 if ss != 0 => {
            let (method, rest) = body.split_at_checked(usize::from(ss))?;
            let payload = map_payload(rest, psize)?;
            let len = HEADER_LEN + usize::from(ss) + psize;
            let frame = Frame::Quest {
                seq: None,
                method,
                payload,
            };
            (len <= max_len).then_some((frame, len))
        }
        _ => None,
    }
}

/// The first `psize` bytes of `rest` if there are that many and they are empty or start a
/// msgpack map. (The frame's length, header to payload, is then at most the input's: no sum
/// of its parts can overflow.)
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn map_payload(rest: &[u8], psize: usize) -> Option<&[u8]> {
    let payload = rest.get(..psize)?;
    match payload.first() {
        Some(&b) if !is_map_marker(b) => None,
        _ => Some(payload),
    }
}

/// [`parse_frame`] with exact results for every input: the path for what the fast read
/// refused in speed builds, and the only one in size builds.
#[cfg_attr(not(rtm_opt_size), inline(never))]
#[cfg_attr(rtm_opt_size, inline)]
fn parse_frame_exact(input: &[u8], max_len: usize) -> Result<Status<Frame<'_>>, FrameError> {
    let header = match parse_header(input)? {
        Status::Complete(h, _) => h,
        Status::Partial(_) => return Ok(Status::Partial(None)),
    };
    let len = header.frame_len();
    if len > max_len {
        return Err(FrameError::TooLarge { len, max: max_len });
    }
    let Some(body) = input.get(HEADER_LEN..len) else {
        return Ok(Status::Partial(Some(len)));
    };
    let ss = usize::from(header.ss);
    // `frame_len` counted the seq and method bytes, so these splits cannot fail.
    let frame = match header.kind {
        FrameKind::Answer => match body.split_first_chunk::<4>() {
            Some((seq, payload)) => Frame::Answer {
                seq: u32::from_le_bytes(*seq),
                status: header.ss,
                payload,
            },
            None => return Ok(Status::Partial(Some(len))),
        },
        FrameKind::Twoway => match body.split_first_chunk::<4>() {
            Some((seq, rest)) => {
                let (method, payload) = rest.split_at(ss.min(rest.len()));
                Frame::Quest {
                    seq: Some(u32::from_le_bytes(*seq)),
                    method,
                    payload,
                }
            }
            None => return Ok(Status::Partial(Some(len))),
        },
        FrameKind::Oneway => {
            let (method, payload) = body.split_at(ss.min(body.len()));
            Frame::Quest {
                seq: None,
                method,
                payload,
            }
        }
    };
    match frame.payload().first() {
        Some(&b) if !is_map_marker(b) => Err(FrameError::PayloadNotMap),
        _ => Ok(Status::Complete(frame, len)),
    }
}

/// The longest frame a connection carries (the official C++ SDK's limit, 8 MiB, header
/// included): a longer one is a protocol error. Frames up to this length that do not fit the
/// receive buffer are skipped as they stream through ([`FrameHead`]).
pub const MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

/// The start of a frame: enough to answer or report it without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead<'a> {
    /// Quest or answer.
    pub kind: FrameKind,
    /// The quest's seq (twoway quests) or the answered seq (answers).
    pub seq: Option<u32>,
    /// An answer's status byte (0 for quests).
    pub status: u8,
    /// The method name of a quest, cut to the bytes available (empty for answers).
    pub method: &'a [u8],
    /// The whole frame's length.
    pub len: usize,
}

/// Parses the header, seq and method at the start of `input` without needing the payload.
/// `Ok(None)` means more bytes are needed, unless `cut` is set (the caller can hold no more):
/// then a method is cut to what `input` holds. A frame longer than [`MAX_FRAME_LEN`] is
/// refused as soon as its header is complete.
pub fn parse_head(input: &[u8], cut: bool) -> Result<Option<FrameHead<'_>>, FrameError> {
    let header = match parse_header(input)? {
        Status::Complete(h, _) => h,
        Status::Partial(_) => return Ok(None),
    };
    let len = header.frame_len();
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let rest = input.get(HEADER_LEN..).unwrap_or(&[]);
    let (seq, rest) = match header.kind {
        FrameKind::Oneway => (None, rest),
        FrameKind::Twoway | FrameKind::Answer => match rest.split_first_chunk::<4>() {
            Some((seq, rest)) => (Some(u32::from_le_bytes(*seq)), rest),
            None => return Ok(None),
        },
    };
    let (status, want) = match header.kind {
        FrameKind::Answer => (header.ss, 0),
        _ => (0, usize::from(header.ss)),
    };
    if rest.len() < want && !cut {
        return Ok(None);
    }
    Ok(Some(FrameHead {
        kind: header.kind,
        seq,
        status,
        method: rest.get(..want).unwrap_or(rest),
        len,
    }))
}

/// A value that encodes itself as a msgpack payload (always a map).
pub trait Payload {
    /// Writes the payload.
    fn encode<S: super::msgpack::Sink>(&self, w: &mut Writer<S>);
}

/// The empty map `0x80`, the payload of an OK answer and of `*ping`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyMap;

impl Payload for EmptyMap {
    fn encode<S: super::msgpack::Sink>(&self, w: &mut Writer<S>) {
        w.map_len(0);
    }
}

/// Why a frame could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BuildError {
    /// The output buffer is too small; nothing was written.
    BufferTooSmall {
        /// The exact number of bytes the frame needs.
        needed: usize,
    },
    /// The method name is empty or longer than 255 bytes.
    BadMethod,
    /// The payload exceeds the 4 GiB the header can describe.
    PayloadTooLarge,
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => write!(f, "buffer too small: {needed} bytes needed"),
            Self::BadMethod => f.write_str("method name must be 1..=255 bytes"),
            Self::PayloadTooLarge => f.write_str("payload too large for an FPNN frame"),
        }
    }
}

impl core::error::Error for BuildError {}

/// Writes a twoway quest or an OK answer whose payload is the empty map: the header, the seq,
/// `method` (empty for an answer) and `0x80`, `N` bytes in all. Such a frame is fixed but for
/// its seq, so the frames sent often (the answer to every push, `*ping`) are written directly
/// rather than through [`build_quest`]/[`build_answer`]. Same size contract as those.
#[inline]
pub fn build_empty_map_frame<const N: usize>(
    out: &mut [u8],
    kind: FrameKind,
    seq: u32,
    method: &[u8],
) -> Result<usize, BuildError> {
    debug_assert_eq!(N, HEADER_LEN + 4 + method.len() + 1);
    let Some(out) = out.first_chunk_mut::<N>() else {
        return Err(BuildError::BufferTooSmall { needed: N });
    };
    // `ss` is a quest's method length and an answer's status (0: OK).
    let ss = if kind == FrameKind::Answer {
        0
    } else {
        method.len() as u8
    };
    let (head, body) = out.split_at_mut(HEADER_LEN + 4);
    head[..HEADER_LEN].copy_from_slice(&header(kind, ss, 1));
    head[HEADER_LEN..].copy_from_slice(&seq.to_le_bytes());
    let (name, map) = body.split_at_mut(method.len());
    name.copy_from_slice(method);
    map[0] = 0x80;
    Ok(N)
}

/// The fixed header of a msgpack frame: magic, version, flag, `kind`'s mtype, `ss` (a
/// quest's method length, an answer's status) and the payload size.
pub fn header(kind: FrameKind, ss: u8, psize: u32) -> [u8; HEADER_LEN] {
    let [m0, m1, m2, m3] = MAGIC;
    let [p0, p1, p2, p3] = psize.to_le_bytes();
    [
        m0,
        m1,
        m2,
        m3,
        VERSION,
        FLAG_MSGPACK,
        kind.mtype(),
        ss,
        p0,
        p1,
        p2,
        p3,
    ]
}

fn build<P: Payload>(
    out: &mut [u8],
    kind: FrameKind,
    ss: u8,
    seq: Option<u32>,
    method: &[u8],
    payload: &P,
) -> Result<usize, BuildError> {
    // Sized first: nothing is written when `out` is short. Speed builds count with `Counter`;
    // size builds with the sink that writes it (over no memory), so that each payload's
    // encoder exists once.
    #[cfg(not(rtm_opt_size))]
    let psize = {
        let mut counter = Writer::new(super::msgpack::Counter::default());
        payload.encode(&mut counter);
        counter.into_inner().0
    };
    #[cfg(rtm_opt_size)]
    let psize = {
        let mut counter = Writer::new(SliceSink::new(&mut []));
        payload.encode(&mut counter);
        counter.sink().len()
    };
    let psize32 = u32::try_from(psize).map_err(|_| BuildError::PayloadTooLarge)?;
    let seq_len = if seq.is_some() { 4 } else { 0 };
    let needed = HEADER_LEN + seq_len + method.len() + psize;
    let Some(out) = out.get_mut(..needed) else {
        return Err(BuildError::BufferTooSmall { needed });
    };
    let (head, rest) = out.split_at_mut(HEADER_LEN);
    head.copy_from_slice(&header(kind, ss, psize32));
    let (seq_out, rest) = rest.split_at_mut(seq_len);
    if let Some(seq) = seq {
        seq_out.copy_from_slice(&seq.to_le_bytes());
    }
    let (method_out, payload_out) = rest.split_at_mut(method.len());
    method_out.copy_from_slice(method);
    let mut w = Writer::new(SliceSink::new(payload_out));
    payload.encode(&mut w);
    debug_assert!(!w.sink().overflowed() && w.sink().len() == psize);
    Ok(needed)
}

/// Builds a quest (twoway when `seq` is `Some`, oneway otherwise) into `out`.
///
/// Returns the frame length. If `out` is too small, returns the exact size needed and leaves
/// `out` untouched.
pub fn build_quest<P: Payload>(
    out: &mut [u8],
    seq: Option<u32>,
    method: &str,
    payload: &P,
) -> Result<usize, BuildError> {
    let m = method.as_bytes();
    let ss = u8::try_from(m.len()).map_err(|_| BuildError::BadMethod)?;
    if ss == 0 {
        return Err(BuildError::BadMethod);
    }
    let kind = if seq.is_some() {
        FrameKind::Twoway
    } else {
        FrameKind::Oneway
    };
    build(out, kind, ss, seq, m, payload)
}

/// Builds an answer with `status` (0 = OK) into `out`. Same size contract as [`build_quest`].
pub fn build_answer<P: Payload>(
    out: &mut [u8],
    seq: u32,
    status: u8,
    payload: &P,
) -> Result<usize, BuildError> {
    build(out, FrameKind::Answer, status, Some(seq), &[], payload)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_head_over_8_mib_is_refused_from_its_header_alone() {
        let mut h = *b"FPNN\x01\x80\x01\x0c\0\0\0\0";
        h[8..12].copy_from_slice(&(9u32 << 20).to_le_bytes());
        let len = HEADER_LEN + 4 + 12 + (9 << 20);
        assert_eq!(
            parse_head(&h, false),
            Err(FrameError::TooLarge {
                len,
                max: MAX_FRAME_LEN
            })
        );
        // Within 8 MiB the seq and method are awaited.
        h[8..12].copy_from_slice(&(7u32 << 20).to_le_bytes());
        assert_eq!(parse_head(&h, false), Ok(None));
    }

    use super::*;

    #[test]
    fn empty_answer_is_17_bytes_and_round_trips() {
        let mut buf = [0u8; 32];
        let n = build_answer(&mut buf, 10, 0, &EmptyMap).unwrap();
        assert_eq!(n, 17);
        let parsed = parse_frame(&buf[..n], DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(
            parsed,
            Status::Complete(
                Frame::Answer {
                    seq: 10,
                    status: 0,
                    payload: &[0x80]
                },
                17
            )
        );
    }

    #[test]
    fn short_buffer_reports_size_and_writes_nothing() {
        let mut buf = [0xAAu8; 21];
        assert_eq!(
            build_quest(&mut buf, Some(5), "*ping", &EmptyMap),
            Err(BuildError::BufferTooSmall { needed: 22 })
        );
        assert!(buf.iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn every_prefix_is_partial() {
        let mut buf = [0u8; 32];
        let n = build_quest(&mut buf, Some(5), "*ping", &EmptyMap).unwrap();
        for cut in 0..n {
            assert!(
                matches!(parse_frame(&buf[..cut], 1024), Ok(Status::Partial(_))),
                "prefix {cut}"
            );
        }
    }

    #[test]
    fn bad_magic_is_seen_before_the_header_is_complete() {
        assert_eq!(parse_frame(b"FX", 1024), Err(FrameError::BadMagic));
        assert_eq!(parse_frame(b"FP", 1024), Ok(Status::Partial(None)));
    }

    #[test]
    fn any_version_is_accepted() {
        let mut buf = [0u8; 32];
        let n = build_answer(&mut buf, 1, 0, &EmptyMap).unwrap();
        for v in [0u8, 1, 2, 0xff] {
            buf[4] = v;
            assert!(matches!(
                parse_frame(&buf[..n], 1024),
                Ok(Status::Complete(..))
            ));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 4096,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The straight-line read accepts only whole valid frames, and reads them as the exact
        /// parser does: frames of every kind, with random header bytes, lengths, limits and
        /// truncations.
        #[test]
        fn complete_frame_agrees_with_the_exact_parser(
            mtype in 0u8..4,
            ss in proptest::prelude::prop_oneof![0u8..4, proptest::prelude::any::<u8>()],
            flag in proptest::prelude::prop_oneof![proptest::strategy::Just(0x80u8), proptest::prelude::any::<u8>()],
            psize in 0u32..24,
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            first in proptest::prelude::prop_oneof![proptest::strategy::Just(0x80u8), proptest::prelude::any::<u8>()],
            max_len in proptest::prelude::prop_oneof![proptest::strategy::Just(DEFAULT_MAX_FRAME), 0usize..64],
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            magic in proptest::prelude::any::<bool>(),
        ) {
            let mut input = header(FrameKind::Oneway, ss, psize).to_vec();
            input[5] = flag;
            input[6] = mtype;
            if !magic {
                input[1] = b'X';
            }
            input.extend(bytes);
            let at = HEADER_LEN + if mtype == 0 { 0 } else { 4 } + if mtype == 2 { 0 } else { usize::from(ss) };
            if let Some(b) = input.get_mut(at) {
                *b = first;
            }
            input.truncate(cut.index(input.len() + 1));
            let exact = parse_frame_exact(&input, max_len);
            match complete_frame(&input, max_len) {
                Some((frame, len)) => proptest::prop_assert_eq!(Ok(Status::Complete(frame, len)), exact),
                None => proptest::prop_assert!(!matches!(exact, Ok(Status::Complete(..)))),
            }
            proptest::prop_assert_eq!(parse_frame(&input, max_len), exact);
        }
    }
}
