//! The expected results of the push and answer decoders, computed with the reference
//! tokenizer [`crate::mp`] from the rules documented in `rtm_listen::rtm::{field, push,
//! answer}`:
//!
//! - an empty payload is the empty map; a payload whose first marker is not a map is `NotMap`;
//! - entries are read in order: a non-string key is skipped with its value; a `nil` value is
//!   absent; an unknown key's value is skipped; a known key's value is read with its type
//!   (int: any integer family, range-checked; bytes: str or bin); a later entry of the same key
//!   overwrites an earlier one; the first error wins;
//! - then the required keys are checked in the order the decoders list them.

use rtm_listen::rtm::answer::{AnswerInfo, CODE_UNKNOWN_ERROR};
use rtm_listen::rtm::field::MessageError;
use rtm_listen::rtm::push::{Event, Message, Method, Push, Target};

use crate::mp::{MErr, Tok, is_bytes_marker, is_int_marker, is_map_marker, skip, token};

fn malformed(e: MErr) -> MessageError {
    MessageError::Malformed(e.into())
}

/// An integer field narrowed to `T`, and the bytes it used.
pub fn int<T: TryFrom<i64>>(v: &[u8], key: &'static str) -> Result<(T, usize), MessageError> {
    let Some(&m) = v.first() else {
        return Err(malformed(MErr::Truncated));
    };
    if !is_int_marker(m) {
        return Err(MessageError::WrongType(key));
    }
    let (tok, used) = token(v).map_err(malformed)?;
    let wide = match tok {
        Tok::UInt(u) => i64::try_from(u).map_err(|_| MessageError::OutOfRange(key))?,
        Tok::SInt(i) => i,
        _ => unreachable!("int marker gave {tok:?}"),
    };
    let narrow = T::try_from(wide).map_err(|_| MessageError::OutOfRange(key))?;
    Ok((narrow, used))
}

/// A str/bin field and the bytes it used.
pub fn bytes<'a>(v: &'a [u8], key: &'static str) -> Result<(&'a [u8], usize), MessageError> {
    let Some(&m) = v.first() else {
        return Err(malformed(MErr::Truncated));
    };
    if !is_bytes_marker(m) {
        return Err(MessageError::WrongType(key));
    }
    match token(v).map_err(malformed)? {
        (Tok::Str(s) | Tok::Bin(s), used) => Ok((s, used)),
        (tok, _) => unreachable!("bytes marker gave {tok:?}"),
    }
}

/// Walks the map in `payload`, calling `f(key, value)` for string-keyed, non-nil entries.
/// `f` returns how many bytes of `value` it read, or `None` to have the value skipped.
pub fn for_each<'a>(
    payload: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]) -> Result<Option<usize>, MessageError>,
) -> Result<(), MessageError> {
    let Some(&first) = payload.first() else {
        return Ok(());
    };
    if !is_map_marker(first) {
        return Err(MessageError::NotMap);
    }
    let (n, mut at) = match token(payload).map_err(malformed)? {
        (Tok::Map(n), used) => (n, used),
        (tok, _) => unreachable!("map marker gave {tok:?}"),
    };
    for _ in 0..n {
        let rest = &payload[at..];
        let Some(&km) = rest.first() else {
            return Err(malformed(MErr::Truncated));
        };
        if km == 0xc1 {
            return Err(malformed(MErr::Reserved));
        }
        if !is_bytes_marker(km) {
            // A non-string key: skip it, then its value.
            at += skip(rest).map_err(malformed)?;
            at += skip(&payload[at..]).map_err(malformed)?;
            continue;
        }
        let (key, kused) = match token(rest).map_err(malformed)? {
            (Tok::Str(s) | Tok::Bin(s), used) => (s, used),
            (tok, _) => unreachable!("bytes marker gave {tok:?}"),
        };
        at += kused;
        let value = &payload[at..];
        let used = if value.first() == Some(&0xc0) {
            None
        } else {
            f(key, value)?
        };
        at += match used {
            Some(n) => n,
            None => skip(value).map_err(malformed)?,
        };
    }
    Ok(())
}

fn required<T>(v: Option<T>, key: &'static str) -> Result<T, MessageError> {
    v.ok_or(MessageError::MissingKey(key))
}

/// The expected `decode_message(target, payload)`.
pub fn message(target: Target, payload: &[u8]) -> Result<Message<'_>, MessageError> {
    let target_key: Option<&'static str> = match target {
        Target::P2P => Some("to"),
        Target::Group => Some("gid"),
        Target::Room => Some("rid"),
        Target::Broadcast => None,
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
    for_each(payload, |k, v| {
        Ok(Some(match k {
            b"from" => int(v, "from").map(|(x, n)| (from = Some(x), n).1)?,
            b"mid" => int(v, "mid").map(|(x, n)| (mid = Some(x), n).1)?,
            b"mtype" => int::<i8>(v, "mtype").map(|(x, n)| (mtype = Some(x), n).1)?,
            b"msg" => bytes(v, "msg").map(|(x, n)| (m.msg = x, n).1)?,
            b"attrs" => bytes(v, "attrs").map(|(x, n)| (m.attrs = x, n).1)?,
            b"mtime" => int(v, "mtime").map(|(x, n)| (m.mtime = x, n).1)?,
            k if Some(k) == target_key.map(str::as_bytes) => {
                let key = target_key.unwrap_or_default();
                int(v, key).map(|(x, n)| (to = Some(x), n).1)?
            }
            _ => return Ok(None),
        }))
    })?;
    m.from = required(from, "from")?;
    m.mid = required(mid, "mid")?;
    m.mtype = required(mtype, "mtype")?;
    m.to = match target {
        Target::Group | Target::Room => required(to, target_key.unwrap_or_default())?,
        Target::P2P => to.unwrap_or(0),
        Target::Broadcast => 0,
    };
    Ok(m)
}

/// The expected `decode_event(payload)`.
pub fn event(payload: &[u8]) -> Result<Event<'_>, MessageError> {
    let (mut ev, mut uid) = (None, None);
    let mut e = Event {
        pid: 0,
        event: &[],
        uid: 0,
        time: 0,
        endpoint: &[],
        data: None,
    };
    for_each(payload, |k, v| {
        Ok(Some(match k {
            b"pid" => int(v, "pid").map(|(x, n)| (e.pid = x, n).1)?,
            b"event" => bytes(v, "event").map(|(x, n)| (ev = Some(x), n).1)?,
            b"uid" => int(v, "uid").map(|(x, n)| (uid = Some(x), n).1)?,
            b"time" => int(v, "time").map(|(x, n)| (e.time = x, n).1)?,
            b"endpoint" => bytes(v, "endpoint").map(|(x, n)| (e.endpoint = x, n).1)?,
            b"data" => bytes(v, "data").map(|(x, n)| (e.data = Some(x), n).1)?,
            _ => return Ok(None),
        }))
    })?;
    e.event = required(ev, "event")?;
    e.uid = required(uid, "uid")?;
    Ok(e)
}

/// The method names the decoders know, in the order of [`Method`]'s variants.
pub const METHODS: [(&str, Method); 8] = [
    ("pushmsg", Method::PushMsg),
    ("pushgroupmsg", Method::PushGroupMsg),
    ("pushroommsg", Method::PushRoomMsg),
    ("pushbroadcastmsg", Method::PushBroadcastMsg),
    ("pushevent", Method::PushEvent),
    ("ping", Method::Ping),
    ("kickout", Method::Kickout),
    ("kickoutroom", Method::KickoutRoom),
];

/// The expected `decode_push(method, payload)`.
pub fn push<'a>(method: &[u8], payload: &'a [u8]) -> Result<Push<'a>, MessageError> {
    let Some(&(_, m)) = METHODS.iter().find(|(name, _)| name.as_bytes() == method) else {
        return Err(MessageError::UnknownMethod);
    };
    match m {
        Method::PushMsg => message(Target::P2P, payload).map(Push::Message),
        Method::PushGroupMsg => message(Target::Group, payload).map(Push::Message),
        Method::PushRoomMsg => message(Target::Room, payload).map(Push::Message),
        Method::PushBroadcastMsg => message(Target::Broadcast, payload).map(Push::Message),
        Method::PushEvent => event(payload).map(Push::Event),
        Method::Ping => for_each(payload, |_, _| Ok(None)).map(|()| Push::Ping),
        Method::Kickout => for_each(payload, |_, _| Ok(None)).map(|()| Push::Kickout),
        Method::KickoutRoom => {
            let mut rid = None;
            for_each(payload, |k, v| {
                Ok(match k {
                    b"rid" => Some(int(v, "rid").map(|(x, n)| (rid = Some(x), n).1)?),
                    _ => None,
                })
            })?;
            Ok(Push::KickoutRoom {
                rid: required(rid, "rid")?,
            })
        }
    }
}

/// The expected `decode_answer(status, payload)`: an OK answer is not inspected; an error
/// answer reads `code` (any integer; 0, absent or unusable keeps 10001), `ex` and `raiser`
/// (str/bin; unusable values are skipped), failing only on malformed msgpack.
pub fn answer(status: u8, payload: &[u8]) -> Result<AnswerInfo<'_>, MessageError> {
    let mut info = AnswerInfo {
        status,
        code: 0,
        ex: &[],
        raiser: &[],
    };
    if status == 0 {
        return Ok(info);
    }
    info.code = CODE_UNKNOWN_ERROR;
    for_each(payload, |k, v| {
        Ok(match k {
            b"code" => int::<i64>(v, "code").ok().map(|(c, n)| {
                if c != 0 {
                    info.code = c;
                }
                n
            }),
            b"ex" => bytes(v, "ex").ok().map(|(s, n)| (info.ex = s, n).1),
            b"raiser" => bytes(v, "raiser").ok().map(|(s, n)| (info.raiser = s, n).1),
            _ => None,
        })
    })?;
    Ok(info)
}
