//! The packets a listener builds and parses, by protocol version (2 to 6).
//!
//! Version rules (`protocol/wukongim.md` §b): `expire` (u32) in SEND and RECV from version 3;
//! `node_id` (u64) at the end of CONNACK from version 4; RECV's stream fields only for
//! versions 2 to 4 with the setting's stream bit; `message_seq` a u64 from version 6 (RECV,
//! RECVACK, SENDACK), a u32 before. The version a connection uses is the one CONNACK names
//! when its `HasServerVersion` flag is set, else the client's own.

use super::header::{PacketType, flags, length_len, write_length};
use super::read::{ReadError, Reader, Writer};

/// The newest protocol version these layouts cover (the v3 server branch's).
pub const MAX_VERSION: u8 = 6;
/// The oldest.
pub const MIN_VERSION: u8 = 2;

/// RECV/SEND setting bits.
pub mod setting {
    /// A receipt is wanted.
    pub const RECEIPT: u8 = 0b1000_0000;
    /// A signal message.
    pub const SIGNAL: u8 = 0b0010_0000;
    /// The payload is not encrypted.
    pub const NO_ENCRYPT: u8 = 0b0001_0000;
    /// A topic string follows `timestamp`.
    pub const TOPIC: u8 = 0b0000_1000;
    /// Stream fields follow `client_msg_no` (versions 2 to 4 only).
    pub const STREAM: u8 = 0b0000_0010;
}

/// Why a packet could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BuildError {
    /// The output buffer is too small; nothing usable was written.
    BufferTooSmall {
        /// The bytes the packet needs.
        needed: usize,
    },
    /// A string is longer than 32,767 bytes.
    StringTooLong,
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Self::StringTooLong => f.write_str("WuKongIM string over 32,767 bytes"),
        }
    }
}

impl core::error::Error for BuildError {}

/// Writes a packet: the header byte, the body's length, then the body that `body` writes.
/// The body is written once into place after a length of the width the body needs (sized by
/// a dry run when the first guess is wrong).
fn build(
    out: &mut [u8],
    kind: PacketType,
    header_flags: u8,
    body: impl Fn(&mut Writer<'_>) -> bool,
) -> Result<usize, BuildError> {
    // The body's length, by writing it nowhere first.
    let mut probe = Writer::new(&mut []);
    if !body(&mut probe) {
        return Err(BuildError::StringTooLong);
    }
    let len = probe.finish().unwrap_or_else(|needed| needed);
    let head = 1 + length_len(len);
    let needed = head + len;
    if out.len() < needed {
        return Err(BuildError::BufferTooSmall { needed });
    }
    let (h, rest) = out.split_at_mut(head);
    if let Some(b0) = h.first_mut() {
        *b0 = (kind as u8) << 4 | header_flags & 0x0f;
    }
    if let Some(l) = h.get_mut(1..) {
        write_length(l, len);
    }
    let mut w = Writer::new(rest.get_mut(..len).unwrap_or_default());
    body(&mut w);
    match w.finish() {
        Ok(_) => Ok(needed),
        Err(n) => Err(BuildError::BufferTooSmall { needed: head + n }),
    }
}

/// A CONNECT packet's fields.
#[derive(Debug, Clone, Copy)]
pub struct Connect<'a> {
    /// The protocol version wanted (5 for v2 servers, 6 for v3).
    pub version: u8,
    /// 0 app, 1 web, 2 pc.
    pub device_flag: u8,
    /// The device id (unique per listener, so that real clients are not kicked).
    pub device_id: &'a [u8],
    /// The uid (non-empty; no `@`, `#` or `&`).
    pub uid: &'a [u8],
    /// The token (needed when the server checks tokens, its release default).
    pub token: &'a [u8],
    /// The client's clock, ms.
    pub client_timestamp: i64,
    /// base64 of the client's X25519 public key (a real key whenever encryption is on).
    pub client_key: &'a [u8],
}

/// Builds a CONNECT into `out`; returns its length.
pub fn build_connect(out: &mut [u8], c: &Connect<'_>) -> Result<usize, BuildError> {
    build(out, PacketType::Connect, 0, |w| {
        w.u8(c.version);
        w.u8(c.device_flag);
        let ok = w.string(c.device_id) && w.string(c.uid) && w.string(c.token);
        w.i64(c.client_timestamp);
        ok && w.string(c.client_key)
    })
}

/// The PING packet.
pub const PING: [u8; 1] = [(PacketType::Ping as u8) << 4];

/// The PONG packet.
pub const PONG: [u8; 1] = [(PacketType::Pong as u8) << 4];

/// The header flags a RECVACK copies from the RECV it acknowledges: NoPersist (the server
/// clears its re-send entry by it), SyncOnce and RedDot.
pub fn recvack_flags(recv_flags: u8) -> u8 {
    recv_flags & (flags::NO_PERSIST | flags::SYNC_ONCE | flags::RED_DOT)
}

/// The length of a RECVACK at `version`.
pub fn recvack_len(version: u8) -> usize {
    if version >= 6 { 18 } else { 14 }
}

/// Builds a RECVACK for the RECV with `recv_flags`, `message_id` and `message_seq` at
/// `version`; returns its length ([`recvack_len`]).
pub fn build_recvack(
    out: &mut [u8],
    version: u8,
    recv_flags: u8,
    message_id: i64,
    message_seq: u64,
) -> Result<usize, BuildError> {
    build(out, PacketType::Recvack, recvack_flags(recv_flags), |w| {
        w.i64(message_id);
        if version >= 6 {
            w.u64(message_seq);
        } else {
            // Below version 6 the sequence is a u32 on the wire (a RECV gave no more).
            w.u32(message_seq as u32);
        }
        true
    })
}

/// A SUB packet's fields. Coded for completeness: no released server honours SUB (v2 ignores
/// it without an answer, v3 refuses it); listening is subscription through the HTTP API.
#[derive(Debug, Clone, Copy)]
pub struct Sub<'a> {
    /// The setting byte.
    pub setting: u8,
    /// The client's number for this request.
    pub sub_no: &'a [u8],
    /// The channel.
    pub channel_id: &'a [u8],
    /// Its type.
    pub channel_type: u8,
    /// 0 subscribe, 1 unsubscribe.
    pub action: u8,
    /// JSON parameters.
    pub param: &'a [u8],
}

/// Builds a SUB (see [`Sub`]); returns its length.
pub fn build_sub(out: &mut [u8], s: &Sub<'_>) -> Result<usize, BuildError> {
    build(out, PacketType::Sub, 0, |w| {
        w.u8(s.setting);
        let ok = w.string(s.sub_no) && w.string(s.channel_id);
        w.u8(s.channel_type);
        w.u8(s.action);
        ok && w.string(s.param)
    })
}

/// A CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connack<'a> {
    /// The version the server sent (with the `HasServerVersion` flag).
    pub server_version: Option<u8>,
    /// The version both sides use from now on: `server_version`, else the client's.
    pub version: u8,
    /// Server clock minus client clock, ms.
    pub time_diff: i64,
    /// 1 is success ([`reason`]).
    pub reason_code: u8,
    /// base64 of the server's X25519 public key; empty when encryption is off.
    pub server_key: &'a [u8],
    /// The AES IV (16 ASCII characters); empty when encryption is off.
    pub salt: &'a [u8],
    /// The server node (version 4 and later).
    pub node_id: Option<u64>,
}

/// Parses a CONNACK body with its header flags, for a client that asked for
/// `client_version`.
pub fn parse_connack(
    header_flags: u8,
    body: &[u8],
    client_version: u8,
) -> Result<Connack<'_>, ReadError> {
    let mut r = Reader::new(body);
    let server_version = if header_flags & flags::HAS_SERVER_VERSION != 0 {
        Some(r.u8("server_version")?)
    } else {
        None
    };
    let version = server_version.unwrap_or(client_version);
    let time_diff = r.i64("time_diff")?;
    let reason_code = r.u8("reason_code")?;
    let server_key = r.string("server_key")?;
    let salt = r.string("salt")?;
    let node_id = if version >= 4 {
        Some(r.u64("node_id")?)
    } else {
        None
    };
    Ok(Connack {
        server_version,
        version,
        time_diff,
        reason_code,
        server_key,
        salt,
        node_id,
    })
}

/// A RECV's stream fields (versions 2 to 4, with the setting's stream bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream<'a> {
    /// The stream flag.
    pub flag: u8,
    /// The stream number.
    pub no: &'a [u8],
    /// The stream id.
    pub id: u64,
}

/// A RECV: a message pushed to the connection, borrowed from its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recv<'a> {
    /// The header flags (DUP, SyncOnce, RedDot, NoPersist).
    pub flags: u8,
    /// The setting byte ([`setting`]).
    pub setting: u8,
    /// The MD5 message key; empty when encryption is off.
    pub msg_key: &'a [u8],
    /// The sender (empty for the system).
    pub from_uid: &'a [u8],
    /// The channel (for person channels, the other party).
    pub channel_id: &'a [u8],
    /// 1 person, 2 group, others by deployment.
    pub channel_type: u8,
    /// Expiry, seconds (version 3 and later).
    pub expire: Option<u32>,
    /// The sender's message number.
    pub client_msg_no: &'a [u8],
    /// Stream fields (versions 2 to 4, stream bit set).
    pub stream: Option<Stream<'a>>,
    /// The message id.
    pub message_id: i64,
    /// The message's sequence in its channel (u32 on the wire before version 6).
    pub message_seq: u64,
    /// Unix seconds.
    pub timestamp: i32,
    /// The topic (setting's topic bit).
    pub topic: Option<&'a [u8]>,
    /// The payload: base64 of the AES-CBC ciphertext with encryption, the plaintext without.
    pub payload: &'a [u8],
}

/// Parses a RECV body with its header flags at `version`.
pub fn parse_recv(header_flags: u8, body: &[u8], version: u8) -> Result<Recv<'_>, ReadError> {
    let mut r = Reader::new(body);
    let setting = r.u8("setting")?;
    let msg_key = r.string("msg_key")?;
    let from_uid = r.string("from_uid")?;
    let channel_id = r.string("channel_id")?;
    let channel_type = r.u8("channel_type")?;
    let expire = if version >= 3 {
        Some(r.u32("expire")?)
    } else {
        None
    };
    let client_msg_no = r.string("client_msg_no")?;
    let stream = if (2..=4).contains(&version) && setting & setting::STREAM != 0 {
        Some(Stream {
            flag: r.u8("stream_flag")?,
            no: r.string("stream_no")?,
            id: r.u64("stream_id")?,
        })
    } else {
        None
    };
    let message_id = r.i64("message_id")?;
    let message_seq = if version >= 6 {
        r.u64("message_seq")?
    } else {
        u64::from(r.u32("message_seq")?)
    };
    let timestamp = r.i32("timestamp")?;
    let topic = if setting & setting::TOPIC != 0 {
        Some(r.string("topic")?)
    } else {
        None
    };
    Ok(Recv {
        flags: header_flags,
        setting,
        msg_key,
        from_uid,
        channel_id,
        channel_type,
        expire,
        client_msg_no,
        stream,
        message_id,
        message_seq,
        timestamp,
        topic,
        payload: r.rest(),
    })
}

/// Builds a RECV as a server does (for simulators and tests: a listener only parses them),
/// with the layout of `version`: `expire` from version 3 (0 when `recv.expire` is `None`),
/// stream fields for versions 2 to 4 when the setting's stream bit is set (zeros when
/// `recv.stream` is `None`), the topic when the topic bit is set. Returns the packet's length.
pub fn build_recv(out: &mut [u8], recv: &Recv<'_>, version: u8) -> Result<usize, BuildError> {
    build(out, PacketType::Recv, recv.flags, |w| {
        w.u8(recv.setting);
        let mut ok = w.string(recv.msg_key) && w.string(recv.from_uid) && w.string(recv.channel_id);
        w.u8(recv.channel_type);
        if version >= 3 {
            w.u32(recv.expire.unwrap_or(0));
        }
        ok &= w.string(recv.client_msg_no);
        if (2..=4).contains(&version) && recv.setting & setting::STREAM != 0 {
            let s = recv.stream.unwrap_or(Stream {
                flag: 0,
                no: b"",
                id: 0,
            });
            w.u8(s.flag);
            ok &= w.string(s.no);
            w.u64(s.id);
        }
        w.i64(recv.message_id);
        if version >= 6 {
            w.u64(recv.message_seq);
        } else {
            // A u32 on the wire before version 6.
            w.u32(recv.message_seq as u32);
        }
        w.bytes(&recv.timestamp.to_be_bytes());
        if recv.setting & setting::TOPIC != 0 {
            ok &= w.string(recv.topic.unwrap_or_default());
        }
        w.bytes(recv.payload);
        ok
    })
}

/// A DISCONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect<'a> {
    /// The reason ([`reason`]; a kick is [`reason::CONNECT_KICK`]).
    pub reason_code: u8,
    /// The reason as text.
    pub reason: &'a [u8],
}

/// Parses a DISCONNECT body.
pub fn parse_disconnect(body: &[u8]) -> Result<Disconnect<'_>, ReadError> {
    let mut r = Reader::new(body);
    Ok(Disconnect {
        reason_code: r.u8("reason_code")?,
        reason: r.string("reason")?,
    })
}

/// An EVENT (v2.2 streaming "message events"; not presence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The event id.
    pub id: &'a [u8],
    /// Its type (`stream.open`, `stream.delta`, ...).
    pub kind: &'a [u8],
    /// As the API caller gave it (ms in the docs).
    pub timestamp: i64,
    /// The rest: unencrypted JSON.
    pub data: &'a [u8],
}

/// Parses an EVENT body.
pub fn parse_event(body: &[u8]) -> Result<Event<'_>, ReadError> {
    let mut r = Reader::new(body);
    Ok(Event {
        id: r.string("id")?,
        kind: r.string("type")?,
        timestamp: r.i64("timestamp")?,
        data: r.rest(),
    })
}

/// A SENDACK (the answer to a SEND; a listener sends none, but a server may be scripted to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sendack {
    /// The message id given.
    pub message_id: i64,
    /// The SEND's client sequence.
    pub client_seq: u32,
    /// The message's sequence (u32 on the wire before version 6).
    pub message_seq: u64,
    /// 1 is success.
    pub reason_code: u8,
}

/// Parses a SENDACK body at `version`.
pub fn parse_sendack(body: &[u8], version: u8) -> Result<Sendack, ReadError> {
    let mut r = Reader::new(body);
    Ok(Sendack {
        message_id: r.i64("message_id")?,
        client_seq: r.u32("client_seq")?,
        message_seq: if version >= 6 {
            r.u64("message_seq")?
        } else {
            u64::from(r.u32("message_seq")?)
        },
        reason_code: r.u8("reason_code")?,
    })
}

/// A SUBACK (v1 servers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suback<'a> {
    /// The SUB's number.
    pub sub_no: &'a [u8],
    /// The channel.
    pub channel_id: &'a [u8],
    /// Its type.
    pub channel_type: u8,
    /// 0 subscribe, 1 unsubscribe.
    pub action: u8,
    /// 1 is success.
    pub reason_code: u8,
}

/// Parses a SUBACK body.
pub fn parse_suback(body: &[u8]) -> Result<Suback<'_>, ReadError> {
    let mut r = Reader::new(body);
    Ok(Suback {
        sub_no: r.string("sub_no")?,
        channel_id: r.string("channel_id")?,
        channel_type: r.u8("channel_type")?,
        action: r.u8("action")?,
        reason_code: r.u8("reason_code")?,
    })
}

/// Reason codes (CONNACK, DISCONNECT, SENDACK, SUBACK).
pub mod reason {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// Success.
    pub const SUCCESS: u8 = 1;
    /// Authentication failed (bad token).
    pub const AUTH_FAIL: u8 = 2;
    /// The message key did not match.
    pub const MSG_KEY_ERROR: u8 = 8;
    /// Logged in on another device: the connection is kicked.
    pub const CONNECT_KICK: u8 = 12;
    /// The server failed.
    pub const SYSTEM_ERROR: u8 = 15;
    /// The user is banned.
    pub const BAN: u8 = 19;
    /// CONNECT carried no client key.
    pub const CLIENT_KEY_IS_EMPTY: u8 = 21;
    /// Rate limited.
    pub const RATE_LIMIT: u8 = 22;

    /// The name of reason `code` (the server's), or `None` for a code it does not define.
    pub fn name(code: u8) -> Option<&'static str> {
        const NAMES: [&str; 26] = [
            "Unknown",
            "Success",
            "AuthFail",
            "SubscriberNotExist",
            "InBlacklist",
            "ChannelNotExist",
            "UserNotOnNode",
            "SenderOffline",
            "MsgKeyError",
            "PayloadDecodeError",
            "ForwardSendPacketError",
            "NotAllowSend",
            "ConnectKick",
            "NotInWhitelist",
            "QueryTokenError",
            "SystemError",
            "ChannelIDError",
            "NodeMatchError",
            "NodeNotMatch",
            "Ban",
            "NotSupportHeader",
            "ClientKeyIsEmpty",
            "RateLimit",
            "NotSupportChannelType",
            "Disband",
            "SendBan",
        ];
        NAMES.get(usize::from(code)).copied()
    }
}
