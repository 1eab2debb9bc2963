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
use super::field::{self, MessageError, bytes, int, required};

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

impl Method {
    /// Recognises a method name.
    pub fn parse(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"pushmsg" => Self::PushMsg,
            b"pushgroupmsg" => Self::PushGroupMsg,
            b"pushroommsg" => Self::PushRoomMsg,
            b"pushbroadcastmsg" => Self::PushBroadcastMsg,
            b"pushevent" => Self::PushEvent,
            b"ping" => Self::Ping,
            b"kickout" => Self::Kickout,
            b"kickoutroom" => Self::KickoutRoom,
            _ => return None,
        })
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
pub fn decode_push<'a>(method: &[u8], payload: &'a [u8]) -> Result<Push<'a>, MessageError> {
    let method = Method::parse(method).ok_or(MessageError::UnknownMethod)?;
    decode_method(method, payload)
}

/// Decodes the payload of a known push method.
pub fn decode_method<'a>(method: Method, payload: &'a [u8]) -> Result<Push<'a>, MessageError> {
    match method {
        Method::PushMsg => decode_message(Target::P2P, payload).map(Push::Message),
        Method::PushGroupMsg => decode_message(Target::Group, payload).map(Push::Message),
        Method::PushRoomMsg => decode_message(Target::Room, payload).map(Push::Message),
        Method::PushBroadcastMsg => decode_message(Target::Broadcast, payload).map(Push::Message),
        Method::PushEvent => decode_event(payload).map(Push::Event),
        Method::Ping | Method::Kickout => {
            // Nothing to read, but the payload must still be a well-formed map.
            field::for_each(payload, |_, _| Ok(false))?;
            Ok(if method == Method::Ping {
                Push::Ping
            } else {
                Push::Kickout
            })
        }
        Method::KickoutRoom => {
            let mut rid = None;
            field::for_each(payload, |k, r| {
                Ok(match k {
                    b"rid" => {
                        rid = Some(int(r, "rid")?);
                        true
                    }
                    _ => false,
                })
            })?;
            Ok(Push::KickoutRoom {
                rid: required(rid, "rid")?,
            })
        }
    }
}

/// Decodes a message push for `target`.
pub fn decode_message(target: Target, payload: &[u8]) -> Result<Message<'_>, MessageError> {
    let target_key: &'static str = match target {
        Target::P2P => "to",
        Target::Group => "gid",
        Target::Room => "rid",
        Target::Broadcast => "",
    };
    let (mut from, mut to, mut mid, mut mtype) = (None, None, None, None);
    let mut m = Message {
        target,
        from: 0,
        to: 0,
        mid: 0,
        mtype: 0,
        msg: &[],
        attrs: &[],
        mtime: 0,
    };
    field::for_each(payload, |k, r| {
        match k {
            b"from" => from = Some(int(r, "from")?),
            b"mid" => mid = Some(int(r, "mid")?),
            b"mtype" => mtype = Some(int(r, "mtype")?),
            b"msg" => m.msg = bytes(r, "msg")?,
            b"attrs" => m.attrs = bytes(r, "attrs")?,
            b"mtime" => m.mtime = int(r, "mtime")?,
            k if !target_key.is_empty() && k == target_key.as_bytes() => {
                to = Some(int(r, target_key)?)
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    m.from = required(from, "from")?;
    m.mid = required(mid, "mid")?;
    m.mtype = required(mtype, "mtype")?;
    m.to = match target {
        Target::Group | Target::Room => required(to, target_key)?,
        // The client protocol's pushmsg carries no `to`.
        Target::P2P => to.unwrap_or(0),
        Target::Broadcast => 0,
    };
    Ok(m)
}

/// Decodes a `pushevent`.
pub fn decode_event(payload: &[u8]) -> Result<Event<'_>, MessageError> {
    let (mut event, mut uid) = (None, None);
    let mut e = Event {
        pid: 0,
        event: &[],
        uid: 0,
        time: 0,
        endpoint: &[],
        data: None,
    };
    field::for_each(payload, |k, r| {
        match k {
            b"pid" => e.pid = int(r, "pid")?,
            b"event" => event = Some(bytes(r, "event")?),
            b"uid" => uid = Some(int(r, "uid")?),
            b"time" => e.time = int(r, "time")?,
            b"endpoint" => e.endpoint = bytes(r, "endpoint")?,
            b"data" => e.data = Some(bytes(r, "data")?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    e.event = required(event, "event")?;
    e.uid = required(uid, "uid")?;
    Ok(e)
}
