//! Decoders for the server's push quests into borrowed views (no copies).
//!
//! Server-side methods (reference §7.1): `pushmsg`, `pushgroupmsg`, `pushroommsg`, `pushevent`,
//! `ping`. End-user client protocol methods: `pushbroadcastmsg`, `kickout`, `kickoutroom`.
//!
//! Required keys are the ones that identify and route a push: `from`, the target (`to`, `gid`
//! or `rid`), `mid` and `mtype` for messages (no target for broadcasts); `event` and `uid` for
//! events; `rid` for `kickoutroom`. The content keys `msg`, `attrs` and `mtime` default to
//! empty/0 when absent, and `pid`, `time`, `endpoint` of an event likewise: the C++ SDK requires
//! them and silently drops such a push after answering it (its bug 10.1-5); here it is
//! delivered. A client-protocol `pushmsg`, which has no `to`, is accepted with `to = 0`.

use super::dispatch::{Callback, Category};
use super::field::{self, Kind, MessageError, Spec, Val, required};
#[cfg(any(test, not(rtm_opt_size)))]
use crate::wire::msgpack::{bytes_fast, i64_fast};

/// The encoded words of the message keys (see `fixkey_word`), for the fast path.
#[cfg(any(test, not(rtm_opt_size)))]
mod fixkeys {
    use crate::wire::msgpack::fixkey_word;
    pub const FROM: u64 = fixkey_word(b"from");
    pub const TO: u64 = fixkey_word(b"to");
    pub const GID: u64 = fixkey_word(b"gid");
    pub const RID: u64 = fixkey_word(b"rid");
    pub const MID: u64 = fixkey_word(b"mid");
    pub const MTYPE: u64 = fixkey_word(b"mtype");
    pub const MSG: u64 = fixkey_word(b"msg");
    pub const ATTRS: u64 = fixkey_word(b"attrs");
    pub const MTIME: u64 = fixkey_word(b"mtime");
    pub const PID: u64 = fixkey_word(b"pid");
    pub const EVENT: u64 = fixkey_word(b"event");
    pub const UID: u64 = fixkey_word(b"uid");
    pub const TIME: u64 = fixkey_word(b"time");
    pub const DATA: u64 = fixkey_word(b"data");
}

/// The methods this engine handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// `pushmsg`: a P2P message.
    PushMsg,
    /// `pushgroupmsg`: a group message.
    PushGroupMsg,
    /// `pushroommsg`: a room message.
    PushRoomMsg,
    /// `pushbroadcastmsg`: a broadcast (client protocol).
    PushBroadcastMsg,
    /// `pushevent`: a login/logout event.
    PushEvent,
    /// `ping`: the RTM server's keepalive.
    Ping,
    /// `kickout`: the connection is kicked (client protocol).
    Kickout,
    /// `kickoutroom`: kicked out of a room (client protocol).
    KickoutRoom,
}

/// Whether `name` starts with `want` (its length is checked first): one fixed-size compare,
/// no `memcmp` call.
#[inline(always)]
fn is<const N: usize>(name: &[u8], want: &[u8; N]) -> bool {
    name.first_chunk::<N>() == Some(want)
}

impl Method {
    /// Recognises a method name.
    #[inline]
    pub fn parse(name: &[u8]) -> Option<Self> {
        // The server protocol's methods here; the client protocol's, which share lengths
        // with them, out of line, so that a server method costs one compare.
        match name.len() {
            4 if is(name, b"ping") => Some(Self::Ping),
            7 if is(name, b"pushmsg") => Some(Self::PushMsg),
            9 if is(name, b"pushevent") => Some(Self::PushEvent),
            11 if is(name, b"pushroommsg") => Some(Self::PushRoomMsg),
            12 if is(name, b"pushgroupmsg") => Some(Self::PushGroupMsg),
            _ => Self::parse_client(name),
        }
    }

    /// The client protocol's methods (`kickout`, `kickoutroom`, `pushbroadcastmsg`).
    #[inline(never)]
    fn parse_client(name: &[u8]) -> Option<Self> {
        match name.len() {
            7 if is(name, b"kickout") => Some(Self::Kickout),
            11 if is(name, b"kickoutroom") => Some(Self::KickoutRoom),
            16 if is(name, b"pushbroadcastmsg") => Some(Self::PushBroadcastMsg),
            _ => None,
        }
    }

    /// Who a message method's pushes go to; `None` for the other methods.
    pub fn target(self) -> Option<Target> {
        match self {
            Self::PushMsg => Some(Target::P2P),
            Self::PushGroupMsg => Some(Target::Group),
            Self::PushRoomMsg => Some(Target::Room),
            Self::PushBroadcastMsg => Some(Target::Broadcast),
            _ => None,
        }
    }

    /// The method name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::PushMsg => "pushmsg",
            Self::PushGroupMsg => "pushgroupmsg",
            Self::PushRoomMsg => "pushroommsg",
            Self::PushBroadcastMsg => "pushbroadcastmsg",
            Self::PushEvent => "pushevent",
            Self::Ping => "ping",
            Self::Kickout => "kickout",
            Self::KickoutRoom => "kickoutroom",
        }
    }
}

/// Who a message was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Target {
    /// A user (`pushmsg`, key `to`).
    P2P,
    /// A group (`pushgroupmsg`, key `gid`).
    Group,
    /// A room (`pushroommsg`, key `rid`).
    Room,
    /// Everyone (`pushbroadcastmsg`, no target key).
    Broadcast,
}

/// A message push, borrowed from the frame. The fields of the official `RTMMessage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Message<'a> {
    /// P2P, group, room or broadcast.
    pub target: Target,
    /// Sender uid (`from`).
    pub from: i64,
    /// Receiver uid, gid or rid (`to`, `gid`, `rid`; 0 for broadcasts).
    pub to: i64,
    /// Message id (`mid`).
    pub mid: i64,
    /// RTM message type (`mtype`).
    pub mtype: i8,
    /// Message body (`msg`), text or binary.
    pub msg: &'a [u8],
    /// Attributes (`attrs`), usually JSON text.
    pub attrs: &'a [u8],
    /// Modification time in ms (`mtime`).
    pub mtime: i64,
}

impl Message<'_> {
    /// The message's category by mtype.
    pub fn category(&self) -> Category {
        Category::of(self.mtype)
    }

    /// The monitor callback this message goes to.
    pub fn callback(&self) -> Callback {
        Callback::for_message(self.target, self.category())
    }
}

/// A `pushevent`, borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event<'a> {
    /// Project id.
    pub pid: i64,
    /// `login` or `logout`.
    pub event: &'a [u8],
    /// The user concerned.
    pub uid: i64,
    /// Event time, Unix seconds.
    pub time: i64,
    /// The client's address.
    pub endpoint: &'a [u8],
    /// Extra data, when present.
    pub data: Option<&'a [u8]>,
}

/// A decoded push quest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Push<'a> {
    /// `pushmsg`, `pushgroupmsg`, `pushroommsg`, `pushbroadcastmsg`.
    Message(Message<'a>),
    /// `pushevent`.
    Event(Event<'a>),
    /// `ping`.
    Ping,
    /// `kickout`.
    Kickout,
    /// `kickoutroom`, with the room id.
    KickoutRoom {
        /// The room.
        rid: i64,
    },
}

impl Push<'_> {
    /// The monitor callback this push goes to.
    pub fn callback(&self) -> Callback {
        match self {
            Push::Message(m) => m.callback(),
            Push::Event(_) => Callback::PushEvent,
            Push::Ping => Callback::Ping,
            Push::Kickout => Callback::Kickout,
            Push::KickoutRoom { .. } => Callback::KickoutRoom,
        }
    }
}

/// Decodes the payload of push quest `method`.
#[inline]
pub fn decode_push<'a>(method: &[u8], payload: &'a [u8]) -> Result<Push<'a>, MessageError> {
    let method = Method::parse(method).ok_or(MessageError::UnknownMethod)?;
    decode_method(method, payload)
}

/// Decodes the payload of a known push method.
///
/// Speed builds take a straight-line path for every push kind in the layout the RTM server
/// writes: messages, `pushevent` ([`decode_event`]), and an empty `ping` map. Anything else
/// goes through the exact decoders, which give the same result for what the fast paths accept.
#[cfg_attr(not(rtm_opt_size), inline(always))]
#[cfg_attr(rtm_opt_size, inline)]
pub fn decode_method<'a>(method: Method, payload: &'a [u8]) -> Result<Push<'a>, MessageError> {
    match method.target() {
        Some(target) => {
            // The fast decoder's message is wrapped where it is made (not through the
            // `Result` it would share with the exact decoder's), so it stays in registers.
            #[cfg(not(rtm_opt_size))]
            if let Some(m) = decode_message_canonical(target, payload) {
                return Ok(Push::Message(m));
            }
            decode_message_checked(target, payload).map(Push::Message)
        }
        #[cfg(not(rtm_opt_size))]
        None if method == Method::Ping && matches!(payload, [] | [0x80]) => Ok(Push::Ping),
        None => decode_other(method, payload),
    }
}

/// The pushes other than messages (`method.target()` is `None`).
#[inline(never)]
fn decode_other(method: Method, payload: &[u8]) -> Result<Push<'_>, MessageError> {
    match method {
        Method::PushEvent => decode_event(payload).map(Push::Event),
        Method::KickoutRoom => {
            let mut rid = [Val::Absent];
            field::read_fields(payload, &[Spec::new("rid", Kind::Int)], &mut rid)?;
            Ok(Push::KickoutRoom {
                rid: required(rid[0].int(), "rid")?,
            })
        }
        // `ping` and `kickout`: nothing to read, but the payload must still be a well-formed
        // map. (Message methods never come here.)
        _ => {
            field::for_each(payload, &mut |_, _| Ok(None))?;
            Ok(if method == Method::Kickout {
                Push::Kickout
            } else {
                Push::Ping
            })
        }
    }
}

/// Decodes a message push for `target`.
///
/// Straight-line code decodes the layout the RTM server writes. Anything else (keys in
/// another order or encoding, unknown keys, malformed input, a missing key) is decoded by
/// `decode_message_checked`, which accepts any key order and reports exact errors; both give
/// the same message for what the fast path accepts. Size builds (`rtm_opt_size`) have only
/// the exact pass.
#[inline]
pub fn decode_message(target: Target, payload: &[u8]) -> Result<Message<'_>, MessageError> {
    #[cfg(not(rtm_opt_size))]
    if let Some(m) = decode_message_canonical(target, payload) {
        return Ok(m);
    }
    decode_message_checked(target, payload)
}

/// Checks that `rest` starts with the fixstr key whose [`fixkey_word`] is `word` and whose
/// encoding is `len` bytes (marker and name); returns the bytes after it.
///
/// [`fixkey_word`]: crate::wire::msgpack::fixkey_word
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn expect_key(rest: &[u8], word: u64, len: usize) -> Option<&[u8]> {
    let matches = match rest.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w) & (u64::MAX >> (64 - 8 * len)) == word,
        // Near the end of the payload (a last key with a short value): the key's own bytes.
        None => rest.get(..len)? == word.to_le_bytes().get(..len)?,
    };
    if matches { rest.get(len..) } else { None }
}

/// The key whose [`fixkey_word`] is `word` (`K` bytes: marker and name) and the integer after
/// it. With at least `W` = `K` + 9 bytes left (the longest integer), one length check covers
/// the key and any integer encoding, which is then read from a fixed window: the eight bytes
/// after the marker as one big-endian word, shifted down to the encoding's width. Nearer the
/// end of the payload it reads as [`expect_key`] and [`i64_fast`] do. The result is theirs in
/// every case (a property test checks it).
///
/// [`fixkey_word`]: crate::wire::msgpack::fixkey_word
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn key_int<const K: usize, const W: usize>(rest: &[u8], word: u64) -> Option<(i64, &[u8])> {
    let Some(w) = rest.first_chunk::<W>() else {
        return i64_fast(expect_key(rest, word, K)?);
    };
    let (key, _) = w.split_first_chunk::<8>()?;
    if u64::from_le_bytes(*key) & (u64::MAX >> (64 - 8 * K)) != word {
        return None;
    }
    let (&m, after) = w.get(K..)?.split_first()?;
    let be = u64::from_be_bytes(*after.first_chunk::<8>()?);
    // uint8..uint64 and int8..int64 (markers 0xcc..=0xd3): widths 1, 2, 4, 8, so the value is
    // the word shifted right by 56, 48, 32 or 0 bits.
    // The value's shift and its encoding's length (marker and value) by width.
    const SIZED: [(u8, u8); 4] = [(56, 2), (48, 3), (32, 5), (0, 9)];
    let sized = usize::from(m.wrapping_sub(0xcc));
    let (v, len) = if let Some(&(shift, len)) = SIZED.get(sized) {
        (i64::try_from(be >> shift).ok()?, usize::from(len))
    } else if let Some(&(shift, len)) = SIZED.get(sized.wrapping_sub(4)) {
        ((be as i64) >> shift, usize::from(len))
    } else if m < 0x80 {
        (i64::from(m), 1)
    } else if m >= 0xe0 {
        (i64::from(m as i8), 1)
    } else {
        return None;
    };
    Some((v, rest.get(K + len..)?))
}

/// The key whose [`fixkey_word`] is `word` (`K` bytes) and the string or binary after it, as
/// [`key_int`] reads an integer: with at least `W` = `K` + 5 bytes left one check covers the
/// key and the longest length header; the result is that of [`expect_key`] and [`bytes_fast`].
///
/// [`fixkey_word`]: crate::wire::msgpack::fixkey_word
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn key_bytes<const K: usize, const W: usize>(rest: &[u8], word: u64) -> Option<(&[u8], &[u8])> {
    use crate::wire::msgpack::marker as mk;
    let Some(w) = rest.first_chunk::<W>() else {
        return bytes_fast(expect_key(rest, word, K)?);
    };
    let (key, _) = w.split_first_chunk::<8>()?;
    if u64::from_le_bytes(*key) & (u64::MAX >> (64 - 8 * K)) != word {
        return None;
    }
    let (&m, after) = w.get(K..)?.split_first()?;
    let head = after.first_chunk::<4>()?;
    // fixstr and str8 (what the server writes for texts under 256 bytes) inline, each with
    // one compare; the other headers out of line.
    let (len, at) = if m & 0xe0 == 0xa0 {
        (usize::from(m & 0x1f), K + 1)
    } else if m == mk::STR8 {
        (usize::from(head[0]), K + 2)
    } else {
        let (len, header) = wide_header(m, *head)?;
        (len, K + header)
    };
    rest.get(at..)?.split_at_checked(len)
}

/// The length and header size (marker included) of a `bin8`, `str16`, `bin16`, `str32` or
/// `bin32` whose marker is `m` and whose next bytes are `head`; `None` for other markers.
#[cfg(any(test, not(rtm_opt_size)))]
#[inline(never)]
fn wide_header(m: u8, head: [u8; 4]) -> Option<(usize, usize)> {
    use crate::wire::msgpack::marker as mk;
    Some(match m {
        mk::STR8 | mk::BIN8 => (usize::from(head[0]), 2),
        mk::STR16 | mk::BIN16 => (usize::from(u16::from_be_bytes([head[0], head[1]])), 3),
        mk::STR32 | mk::BIN32 => (usize::try_from(u32::from_be_bytes(head)).ok()?, 5),
        _ => return None,
    })
}

/// A message push in the layout the RTM server writes: a fixmap of `from`, the target key,
/// `mid`, `mtype`, `msg`, `attrs`, `mtime`, in that order, with fixstr keys (no target key for
/// a broadcast). Straight-line code: each key is one masked compare. `None` for any other
/// layout, which the general loop then decodes.
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn decode_message_canonical(target: Target, payload: &[u8]) -> Option<Message<'_>> {
    let (head, target_word) = match target {
        Target::P2P => (0x87, fixkeys::TO),
        Target::Group => (0x87, fixkeys::GID),
        Target::Room => (0x87, fixkeys::RID),
        Target::Broadcast => (0x86, 0),
    };
    let (&n, rest) = payload.split_first()?;
    if n != head {
        return None;
    }
    let (from, rest) = key_int::<5, 14>(rest, fixkeys::FROM)?;
    let (to, rest) = match target {
        Target::P2P => key_int::<3, 12>(rest, target_word)?,
        Target::Group | Target::Room => key_int::<4, 13>(rest, target_word)?,
        Target::Broadcast => (0, rest),
    };
    let (mid, rest) = key_int::<4, 13>(rest, fixkeys::MID)?;
    let (mtype, rest) = key_int::<6, 15>(rest, fixkeys::MTYPE)?;
    let (msg, rest) = key_bytes::<4, 9>(rest, fixkeys::MSG)?;
    let (attrs, rest) = key_bytes::<6, 11>(rest, fixkeys::ATTRS)?;
    let (mtime, _) = key_int::<6, 15>(rest, fixkeys::MTIME)?;
    Some(Message {
        target,
        from,
        to,
        mid,
        mtype: i8::try_from(mtype).ok()?,
        msg,
        attrs,
        mtime,
    })
}

/// [`decode_message`] with exact errors: the path for input the fast pass refused in speed
/// builds, and the only message decoder in size builds (hence not `cold` there).
#[cfg_attr(not(rtm_opt_size), cold)]
#[inline(never)]
pub(crate) fn decode_message_checked(
    target: Target,
    payload: &[u8],
) -> Result<Message<'_>, MessageError> {
    // The fields in the order they are checked; the last slot is the target's key.
    const SPECS: [Spec; 7] = [
        Spec::new("from", Kind::Int),
        Spec::new("mid", Kind::Int),
        Spec::new("mtype", Kind::I8),
        Spec::new("msg", Kind::Bytes),
        Spec::new("attrs", Kind::Bytes),
        Spec::new("mtime", Kind::Int),
        Spec::new("to", Kind::Int),
    ];
    const GID: Spec = Spec::new("gid", Kind::Int);
    const RID: Spec = Spec::new("rid", Kind::Int);
    let mut specs = SPECS;
    let (fields, target_key) = match target {
        Target::P2P => (7, "to"),
        Target::Group => {
            specs[6] = GID;
            (7, "gid")
        }
        Target::Room => {
            specs[6] = RID;
            (7, "rid")
        }
        // No target key: the table stops before the target's slot.
        Target::Broadcast => (6, ""),
    };
    let mut v = [Val::Absent; 7];
    field::read_fields(payload, &specs[..fields], &mut v)?;
    let [from, mid, mtype, msg, attrs, mtime, to] = v;
    // Required keys are checked in this order (the first missing one is reported).
    let from = required(from.int(), "from")?;
    let mid = required(mid.int(), "mid")?;
    // Narrowed by `Kind::I8` when read.
    let mtype = required(mtype.int(), "mtype")?.try_into().unwrap_or(0);
    let to = match target {
        Target::Group | Target::Room => required(to.int(), target_key)?,
        // The client protocol's pushmsg carries no `to`.
        Target::P2P => to.int().unwrap_or(0),
        Target::Broadcast => 0,
    };
    Ok(Message {
        target,
        from,
        to,
        mid,
        mtype,
        msg: msg.bytes().unwrap_or(&[]),
        attrs: attrs.bytes().unwrap_or(&[]),
        mtime: mtime.int().unwrap_or(0),
    })
}

/// A `pushevent` in the layout the RTM server writes: a fixmap of `pid`, `event`, `uid`, `time`,
/// `endpoint` and optionally `data`, in that order, with fixstr keys. `None` for any other
/// layout (or a nil), which the exact decoder then handles.
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn decode_event_canonical(payload: &[u8]) -> Option<Event<'_>> {
    let (&n, rest) = payload.split_first()?;
    if n != 0x86 && n != 0x85 {
        return None;
    }
    let (pid, rest) = key_int::<4, 13>(rest, fixkeys::PID)?;
    let (event, rest) = key_bytes::<6, 11>(rest, fixkeys::EVENT)?;
    let (uid, rest) = key_int::<4, 13>(rest, fixkeys::UID)?;
    let (time, rest) = key_int::<5, 14>(rest, fixkeys::TIME)?;
    // "endpoint" is one byte too long for a key word.
    let (endpoint, rest) = bytes_fast(rest.strip_prefix(b"\xa8endpoint")?)?;
    let data = match n {
        0x86 => Some(key_bytes::<5, 10>(rest, fixkeys::DATA)?.0),
        _ => None,
    };
    Some(Event {
        pid,
        event,
        uid,
        time,
        endpoint,
        data,
    })
}

/// Decodes a `pushevent`: the fast path in speed builds, else (and for any other layout) the
/// exact decoder.
pub fn decode_event(payload: &[u8]) -> Result<Event<'_>, MessageError> {
    #[cfg(not(rtm_opt_size))]
    if let Some(e) = decode_event_canonical(payload) {
        return Ok(e);
    }
    decode_event_checked(payload)
}

#[cfg_attr(not(rtm_opt_size), cold)]
fn decode_event_checked(payload: &[u8]) -> Result<Event<'_>, MessageError> {
    const SPECS: [Spec; 6] = [
        Spec::new("pid", Kind::Int),
        Spec::new("event", Kind::Bytes),
        Spec::new("uid", Kind::Int),
        Spec::new("time", Kind::Int),
        Spec::new("endpoint", Kind::Bytes),
        Spec::new("data", Kind::Bytes),
    ];
    let mut v = [Val::Absent; 6];
    field::read_fields(payload, &SPECS, &mut v)?;
    let [pid, event, uid, time, endpoint, data] = v;
    Ok(Event {
        pid: pid.int().unwrap_or(0),
        event: required(event.bytes(), "event")?,
        uid: required(uid.int(), "uid")?,
        time: time.int().unwrap_or(0),
        endpoint: endpoint.bytes().unwrap_or(&[]),
        data: data.bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TARGETS: [Target; 4] = [Target::P2P, Target::Group, Target::Room, Target::Broadcast];

    #[test]
    fn the_servers_pushevent_and_ping_take_the_fast_paths() {
        // The official Python SDK's recorded pushevent payload.
        let hex = "86a3706964ce04c4b447a56576656e74a56c6f67696ea3756964cd03e9a474696d65ce6553f100a8656e64706f696e74af3139322e302e322e313a3132333435a464617461a0";
        let p: std::vec::Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let fast = decode_event_canonical(&p).expect("the server's layout is the fast one");
        assert_eq!(Ok(fast), decode_event_checked(&p));
        assert_eq!(
            (fast.pid, fast.uid, fast.event),
            (80_000_071, 1001, &b"login"[..])
        );
        assert_eq!(fast.endpoint, b"192.0.2.1:12345");
        assert_eq!(fast.data, Some(&b""[..]));
        // Without data: a fixmap of five.
        let mut five = p.clone();
        five[0] = 0x85;
        five.truncate(p.len() - 6);
        assert_eq!(decode_event_canonical(&five).map(|e| e.data), Some(None));
        assert_eq!(decode_method(Method::Ping, &[0x80]), Ok(Push::Ping));
        assert_eq!(decode_method(Method::Ping, &[]), Ok(Push::Ping));
        assert!(decode_method(Method::Ping, &[0x81]).is_err());
    }

    /// A msgpack str of `s` in the encoding picked by `enc`: fixstr (when short enough), str8,
    /// str16 or bin8.
    fn str_of(s: &[u8], enc: u8) -> Vec<u8> {
        let n = s.len();
        let mut out = match enc % 4 {
            0 if n < 32 => vec![0xa0 | n as u8],
            1 | 0 => vec![0xd9, n as u8],
            2 => vec![0xda, 0, n as u8],
            _ => vec![0xc4, n as u8],
        };
        out.extend_from_slice(s);
        out
    }

    /// An integer in the family picked by `fam` (when it can hold `v`), else the smallest one.
    fn int_of(v: i64, fam: u8) -> Vec<u8> {
        let be = v.to_be_bytes();
        match fam % 9 {
            0 if (0..128).contains(&v) => vec![v as u8],
            1 if (-32..0).contains(&v) => vec![v as u8],
            2 if (0..256).contains(&v) => vec![0xcc, v as u8],
            3 if (0..65536).contains(&v) => [&[0xcd][..], &be[6..]].concat(),
            4 if (0..1 << 32).contains(&v) => [&[0xce][..], &be[4..]].concat(),
            5 if v >= 0 => [&[0xcf][..], &be[..]].concat(),
            6 if i8::try_from(v).is_ok() => vec![0xd0, v as u8],
            7 if i32::try_from(v).is_ok() => [&[0xd2][..], &be[4..]].concat(),
            _ => [&[0xd3][..], &be[..]].concat(),
        }
    }

    fn entry() -> impl Strategy<Value = Vec<u8>> {
        let keys = prop::sample::select(vec![
            &b"from"[..],
            b"to",
            b"gid",
            b"rid",
            b"mid",
            b"mtype",
            b"msg",
            b"attrs",
            b"mtime",
            b"x",
            b"endpoint",
            b"a-long-unknown-key",
        ]);
        let value = prop_oneof![
            (any::<i64>(), any::<u8>()).prop_map(|(v, f)| int_of(v, f)),
            (-40i64..300, any::<u8>()).prop_map(|(v, f)| int_of(v, f)),
            (prop::collection::vec(any::<u8>(), 0..40), any::<u8>())
                .prop_map(|(s, e)| str_of(&s, e)),
            Just(vec![0xc0]),
            Just(vec![0x92, 0x01, 0xa1, b'z']),
            Just(vec![0xcb, 0, 0, 0, 0, 0, 0, 0, 0]),
        ];
        (keys, any::<u8>(), value).prop_map(|(k, enc, v)| {
            // Mostly fixstr keys, as peers send them.
            let mut e = str_of(k, if enc < 200 { 0 } else { enc });
            e.extend(v);
            e
        })
    }

    /// A required key with an integer value in any family.
    fn required_entry(key: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![-40i64..300, any::<i64>()],
            any::<u8>(),
            any::<u8>(),
        )
            .prop_map(move |(v, fam, enc)| {
                let mut e = str_of(key, if enc < 230 { 0 } else { enc });
                e.extend(int_of(v, fam));
                e
            })
    }

    /// Payloads: maps of the message keys (the required ones usually present) in any order and
    /// encoding, plus other entries, with a few byte edits.
    fn payload() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(
                prop_oneof![
                    required_entry(b"from"),
                    required_entry(b"mid"),
                    required_entry(b"mtype"),
                    required_entry(b"to"),
                    required_entry(b"gid"),
                    required_entry(b"rid"),
                ],
                6,
            ),
            prop::collection::vec(entry(), 0..6),
            any::<u8>(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            any::<prop::sample::Index>(),
            any::<u8>(),
        )
            .prop_perturb(|(required, others, drop, edits, cut, mode), mut rng| {
                // Always the three required keys, unless `drop` removes one.
                let mut entries: Vec<Vec<u8>> = Vec::new();
                for (i, key) in [&b"from"[..], b"mid", b"mtype"].iter().enumerate() {
                    if usize::from(drop % 8) != i {
                        let mut e = str_of(key, 0);
                        e.push((rng.next_u32() % 128) as u8);
                        entries.push(e);
                    }
                }
                entries.extend(required);
                entries.extend(others);
                // Shuffle.
                for i in (1..entries.len()).rev() {
                    let j = rng.next_u32() as usize % (i + 1);
                    entries.swap(i, j);
                }
                let mut p = vec![0x80 | entries.len().min(15) as u8];
                for e in entries.into_iter().take(15) {
                    p.extend(e);
                }
                match mode % 4 {
                    // Mostly well-formed.
                    0 | 1 => {}
                    2 => {
                        for (at, b) in edits {
                            let i = at.index(p.len());
                            p[i] = b;
                        }
                    }
                    _ => p.truncate(cut.index(p.len() + 1)),
                }
                p
            })
    }

    fn canonical(target_key: &[u8], mtype: i64, msg: &[u8]) -> Vec<u8> {
        let mut p = vec![0x87];
        for (k, v) in [
            (&b"from"[..], int_of(1001, 3)),
            (target_key, int_of(1002, 3)),
            (b"mid", int_of(1_700_000_000_123_000_001, 5)),
            (b"mtype", int_of(mtype, 0)),
            (b"msg", str_of(msg, 0)),
            (b"attrs", str_of(b"", 0)),
            (b"mtime", int_of(1_700_000_000_456, 5)),
        ] {
            p.extend(str_of(k, 0));
            p.extend(v);
        }
        p
    }

    /// The server's layout with values in any family or encoding, and a few byte edits.
    /// Leaves a well-formed payload as it is (half the cases), or overwrites bytes at random
    /// places, or truncates it.
    fn mutate(
        p: &mut Vec<u8>,
        edits: &[(prop::sample::Index, u8)],
        cut: prop::sample::Index,
        mode: u8,
    ) {
        match mode % 4 {
            0 | 1 => {}
            2 => {
                for (at, b) in edits {
                    let i = at.index(p.len());
                    p[i] = *b;
                }
            }
            _ => p.truncate(cut.index(p.len() + 1)),
        }
    }

    fn canonical_payload() -> impl Strategy<Value = (Target, Vec<u8>)> {
        (
            prop::sample::select(TARGETS.to_vec()),
            prop::collection::vec((prop_oneof![-40i64..300, any::<i64>()], any::<u8>()), 5),
            prop::collection::vec((prop::collection::vec(any::<u8>(), 0..300), any::<u8>()), 2),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
            any::<prop::sample::Index>(),
            any::<u8>(),
        )
            .prop_map(|(t, ints, strs, edits, cut, mode)| {
                let target_key: &[u8] = match t {
                    Target::P2P => b"to",
                    Target::Group => b"gid",
                    Target::Room => b"rid",
                    Target::Broadcast => b"",
                };
                let mut p = vec![if target_key.is_empty() { 0x86 } else { 0x87 }];
                let mut put = |k: &[u8], v: Vec<u8>| {
                    p.extend(str_of(k, 0));
                    p.extend(v);
                };
                put(b"from", int_of(ints[0].0, ints[0].1));
                if !target_key.is_empty() {
                    put(target_key, int_of(ints[1].0, ints[1].1));
                }
                put(b"mid", int_of(ints[2].0, ints[2].1));
                put(b"mtype", int_of(ints[3].0 % 200, ints[3].1));
                put(b"msg", str_of(&strs[0].0, strs[0].1));
                put(b"attrs", str_of(&strs[1].0, strs[1].1));
                put(b"mtime", int_of(ints[4].0, ints[4].1));
                mutate(&mut p, &edits, cut, mode);
                (t, p)
            })
    }

    #[test]
    fn the_first_missing_key_is_reported_in_a_fixed_order() {
        // {from: 101}: `mid` is reported before the group's `gid` (found by the decode fuzzer).
        let p = [0x81, 0xa4, b'f', b'r', b'o', b'm', 0xcc, 0x65];
        for t in TARGETS {
            assert_eq!(decode_message(t, &p), Err(MessageError::MissingKey("mid")));
        }
        // {from, mid, mtype}: then the target key.
        let p = [
            0x83, 0xa4, b'f', b'r', b'o', b'm', 1, 0xa3, b'm', b'i', b'd', 2, 0xa5, b'm', b't',
            b'y', b'p', b'e', 30,
        ];
        assert_eq!(
            decode_message(Target::Group, &p),
            Err(MessageError::MissingKey("gid"))
        );
        assert_eq!(decode_message(Target::P2P, &p).map(|m| m.to), Ok(0));
    }

    #[test]
    fn canonical_pushes_take_the_fast_path() {
        for (t, k) in [
            (Target::P2P, &b"to"[..]),
            (Target::Group, b"gid"),
            (Target::Room, b"rid"),
        ] {
            let p = canonical(k, 30, b"hello");
            let m = decode_message_canonical(t, &p).expect("fast path");
            assert_eq!(Ok(m), decode_message_checked(t, &p));
            assert_eq!(
                (m.from, m.to, m.mtype, m.msg),
                (1001, 1002, 30, &b"hello"[..])
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2048,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// `expect_key` takes a key exactly where the exact key reader reads that name as a
        /// fixstr, whatever follows it (fewer than 8 bytes included).
        #[test]
        fn expect_key_agrees_with_the_exact_key_reader(
            tail in prop::collection::vec(any::<u8>(), 0..12),
            which in 0usize..14,
            prefixed in any::<bool>(),
        ) {
            const KEYS: [&[u8]; 14] = [
                b"from", b"to", b"gid", b"rid", b"mid", b"mtype", b"msg", b"attrs", b"mtime",
                b"pid", b"event", b"uid", b"time", b"data",
            ];
            let name = KEYS[which];
            let mut b = Vec::new();
            if prefixed {
                b.extend(str_of(name, 0));
            }
            b.extend(tail);
            let exact = crate::wire::msgpack::read_key(&b)
                .ok()
                .filter(|(k, _)| b.first() == Some(&(0xa0 | name.len() as u8)) && k.bytes == name)
                .map(|(_, rest)| rest);
            let word = crate::wire::msgpack::fixkey_word(name);
            prop_assert_eq!(expect_key(&b, word, name.len() + 1), exact);
        }

        /// The windowed reads give what `expect_key` then `i64_fast` / `bytes_fast` give, for
        /// every integer and string encoding, near the end of the payload too.
        #[test]
        fn windowed_reads_agree_with_key_then_value(
            value in prop_oneof![
                (prop_oneof![-40i64..300, any::<i64>()], any::<u8>()).prop_map(|(v, f)| int_of(v, f)),
                (prop::collection::vec(any::<u8>(), 0..40), any::<u8>()).prop_map(|(b, e)| str_of(&b, e)),
                prop::collection::vec(any::<u8>(), 0..10),
            ],
            tail in prop::collection::vec(any::<u8>(), 0..12),
            cut in any::<prop::sample::Index>(),
            wrong_key in any::<bool>(),
        ) {
            let mut b = str_of(if wrong_key { b"mtimf" } else { b"mtime" }, 0);
            b.extend(value);
            b.extend(tail);
            b.truncate(cut.index(b.len() + 1));
            fn key(rest: &[u8]) -> Option<&[u8]> {
                expect_key(rest, fixkeys::MTIME, 6)
            }
            prop_assert_eq!(key_int::<6, 15>(&b, fixkeys::MTIME), key(&b).and_then(i64_fast));
            prop_assert_eq!(key_bytes::<6, 11>(&b, fixkeys::MTIME), key(&b).and_then(bytes_fast));
        }

        /// Whatever the fast pass accepts, the exact pass decodes to the same message.
        #[test]
        fn fast_pass_agrees_with_the_exact_pass(p in payload()) {
            for t in TARGETS {
                let checked = decode_message_checked(t, &p);
                if let Some(m) = decode_message_canonical(t, &p) {
                    prop_assert_eq!(Ok(m), checked);
                }
                prop_assert_eq!(decode_message(t, &p), checked);
            }
        }

        /// A `pushevent` in the server's layout, with random encodings, an optional `data`
        /// (sometimes nil), and random edits or truncations: whatever the fast path accepts,
        /// the exact decoder decodes the same way.
        #[test]
        fn event_fast_path_agrees_with_the_exact_decoder(
            ints in prop::collection::vec((prop_oneof![-40i64..300, any::<i64>()], any::<u8>()), 3),
            strs in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..40), any::<u8>()), 3),
            data in 0u8..3,
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
            cut in any::<prop::sample::Index>(),
            mode in any::<u8>(),
        ) {
            let mut p = vec![if data == 0 { 0x85 } else { 0x86 }];
            let mut put = |k: &[u8], v: Vec<u8>| {
                p.extend(str_of(k, 0));
                p.extend(v);
            };
            put(b"pid", int_of(ints[0].0, ints[0].1));
            put(b"event", str_of(&strs[0].0, strs[0].1));
            put(b"uid", int_of(ints[1].0, ints[1].1));
            put(b"time", int_of(ints[2].0, ints[2].1));
            put(b"endpoint", str_of(&strs[1].0, strs[1].1));
            match data {
                1 => put(b"data", str_of(&strs[2].0, strs[2].1)),
                2 => put(b"data", vec![0xc0]),
                _ => {}
            }
            mutate(&mut p, &edits, cut, mode);
            let checked = decode_event_checked(&p);
            if let Some(e) = decode_event_canonical(&p) {
                prop_assert_eq!(Ok(e), checked);
            }
            prop_assert_eq!(decode_event(&p), checked);
        }

        /// Whatever the straight-line pass accepts, the exact pass decodes the same way.
        #[test]
        fn canonical_pass_agrees_with_the_exact_pass((t, p) in canonical_payload()) {
            let checked = decode_message_checked(t, &p);
            if let Some(m) = decode_message_canonical(t, &p) {
                prop_assert_eq!(Ok(m), checked);
            }
            prop_assert_eq!(decode_message(t, &p), checked);
        }
    }
}
