//! WuKongIM's webhook bodies (`protocol/wukongim.md` §a): what a server POSTs to
//! `…?event=msg.notify` (a JSON array of messages), `…?event=msg.offline` (one message object
//! with its offline recipients) and `…?event=user.onlinestatus` (a JSON array of presence
//! strings). Pure functions over the body bytes, borrowed views, no allocation.
//!
//! What the Go server writes, and what is read here: keys in any order (v2 and v3 differ);
//! `message_id` exact to 64 bits (it exceeds 2^53: the number is read as text, and
//! `message_idstr` is used when the number is absent); `\uXXXX` escapes in strings (Go writes
//! `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`), unescaped on request into caller
//! scratch; `payload` as standard base64 with padding; `to_uids` as an array, `[]` or `null`,
//! or gzip-compressed (`compress: "gzip"`, `compress_to_uids`), which is reported, not
//! inflated; presence strings `uid-deviceFlag-online-connId-deviceOnlineCount-totalOnlineCount`
//! split from the right (uids may contain `-`).

use crate::wire::json::{JsonError, RawStr, Value, for_each_member};

/// The three webhook events, by the `event` query value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WebhookKind {
    /// `msg.notify`: every persisted message, batched (an array).
    MsgNotify,
    /// `msg.offline`: one message with offline recipients (an object).
    MsgOffline,
    /// `user.onlinestatus`: logins and logouts, batched (an array of strings).
    OnlineStatus,
}

impl WebhookKind {
    /// The kind of the `event` query value, if it is one of the three.
    pub fn from_event(event: &[u8]) -> Option<Self> {
        match event {
            b"msg.notify" => Some(Self::MsgNotify),
            b"msg.offline" => Some(Self::MsgOffline),
            b"user.onlinestatus" => Some(Self::OnlineStatus),
            _ => None,
        }
    }
}

/// Why a webhook body (or one of its items) could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WebhookError {
    /// The `event` query value is none of the three events.
    UnknownEvent,
    /// The body is not well-formed JSON, or not the shape the event has (an array, an
    /// object), or nested too deep.
    Json(JsonError),
    /// A required key is absent (or `null`).
    MissingKey(&'static str),
    /// A key's value has the wrong JSON type.
    WrongType(&'static str),
    /// A key's number does not fit its field (a `message_id` past `i64`, a channel type past
    /// 255, a fraction).
    OutOfRange(&'static str),
    /// `payload` is not standard base64 (or has escapes).
    BadBase64,
    /// A presence string is not `uid-flag-online-conn-count-count`.
    BadPresence,
    /// The caller's scratch has no room for an unescaped string or a decoded payload.
    ScratchFull,
}

impl WebhookError {
    /// A short fixed description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::UnknownEvent => "unknown webhook event",
            Self::Json(_) => "malformed webhook JSON",
            Self::MissingKey(_) => "webhook item without a required key",
            Self::WrongType(_) => "webhook key of the wrong type",
            Self::OutOfRange(_) => "webhook number out of range",
            Self::BadBase64 => "webhook payload is not base64",
            Self::BadPresence => "malformed presence string",
            Self::ScratchFull => "scratch too small for the webhook item",
        }
    }
}

impl core::fmt::Display for WebhookError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Json(e) => write!(f, "malformed webhook JSON: {e}"),
            Self::MissingKey(k) => write!(f, "webhook item without `{k}`"),
            Self::WrongType(k) => write!(f, "webhook key `{k}` of the wrong type"),
            Self::OutOfRange(k) => write!(f, "webhook key `{k}` out of range"),
            _ => f.write_str(self.as_str()),
        }
    }
}

impl core::error::Error for WebhookError {}

impl From<JsonError> for WebhookError {
    fn from(e: JsonError) -> Self {
        match e {
            JsonError::ScratchFull => Self::ScratchFull,
            e => Self::Json(e),
        }
    }
}

/// `to_uids` of a `msg.offline` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToUids<'a> {
    /// Absent, `null` or `[]` (and not compressed).
    None,
    /// The array's source text (strings).
    List(&'a [u8]),
    /// `compress: "gzip"`: base64 of gzip of a JSON array of uids, not inflated here.
    Gzip(RawStr<'a>),
}

/// One message of a `msg.notify` array, or the `msg.offline` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookMessage<'a> {
    /// `header.no_persist`, `header.red_dot`, `header.sync_once`, as the RECV header flags
    /// (NoPersist 1, RedDot 2, SyncOnce 4).
    pub flags: u8,
    /// `setting`.
    pub setting: u8,
    /// `message_id` (or `message_idstr`), exact.
    pub message_id: i64,
    /// `client_msg_no`.
    pub client_msg_no: RawStr<'a>,
    /// `message_seq`.
    pub message_seq: u64,
    /// `from_uid` (empty for the system uid in `msg.notify`).
    pub from_uid: RawStr<'a>,
    /// `channel_id` (for person channels the other party, from the sender's side).
    pub channel_id: RawStr<'a>,
    /// `channel_type`.
    pub channel_type: u8,
    /// `topic`, when present.
    pub topic: Option<RawStr<'a>>,
    /// `expire` (seconds, 0 never).
    pub expire: u32,
    /// `timestamp` (Unix seconds).
    pub timestamp: i64,
    /// `payload`: the base64 text (see [`decode_payload`]).
    pub payload_b64: &'a [u8],
    /// `to_uids` (`msg.offline` only; [`ToUids::None`] in `msg.notify`).
    pub to_uids: ToUids<'a>,
}

fn int(key: &'static str, v: Value<'_>) -> Result<i64, WebhookError> {
    match v {
        Value::Number(_) => v.as_i64().ok_or(WebhookError::OutOfRange(key)),
        _ => Err(WebhookError::WrongType(key)),
    }
}

fn ranged<T: TryFrom<i64>>(key: &'static str, v: Value<'_>) -> Result<T, WebhookError> {
    T::try_from(int(key, v)?).map_err(|_| WebhookError::OutOfRange(key))
}

fn string<'a>(key: &'static str, v: Value<'a>) -> Result<RawStr<'a>, WebhookError> {
    match v {
        Value::Str(s) => Ok(s),
        _ => Err(WebhookError::WrongType(key)),
    }
}

/// The RECV-style flags of a `header` object.
fn header_flags(text: &[u8]) -> Result<u8, WebhookError> {
    let mut flags = 0u8;
    for_each_member(text, |key, v| {
        let bit = match key.raw() {
            b"no_persist" => 1,
            b"red_dot" => 2,
            b"sync_once" => 4,
            _ => return Ok(()),
        };
        // 0/1 integers in Go's output; booleans accepted too.
        let on = match v {
            Value::Bool(b) => b,
            Value::Number(_) => v.as_i64().is_some_and(|n| n != 0),
            _ => false,
        };
        if on {
            flags |= bit;
        }
        Ok(())
    })
    .map_err(|e| match e {
        JsonError::NotObject => WebhookError::WrongType("header"),
        e => e.into(),
    })?;
    Ok(flags)
}

/// Reads one message object (an element of `msg.notify`, or the `msg.offline` body).
pub fn parse_message(text: &[u8]) -> Result<WebhookMessage<'_>, WebhookError> {
    let mut flags = 0;
    let mut setting = 0;
    let mut id: Option<i64> = None;
    let mut id_str: Option<RawStr<'_>> = None;
    let mut client_msg_no = None;
    let mut message_seq = 0;
    let mut from_uid = None;
    let mut channel_id = None;
    let mut channel_type = None;
    let mut topic = None;
    let mut expire = 0;
    let mut timestamp = 0;
    let mut payload = None;
    let mut to_uids = ToUids::None;
    let mut gzip = false;
    let mut compressed = None;
    let mut failed = None;
    let scan = for_each_member(text, |key, v| {
        if matches!(v, Value::Null) {
            return Ok(());
        }
        let r = (|| {
            match key.raw() {
                b"header" => match v {
                    Value::Object(t) => flags = header_flags(t)?,
                    _ => return Err(WebhookError::WrongType("header")),
                },
                b"setting" => setting = ranged("setting", v)?,
                b"message_id" => id = Some(int("message_id", v)?),
                b"message_idstr" => id_str = Some(string("message_idstr", v)?),
                b"client_msg_no" => client_msg_no = Some(string("client_msg_no", v)?),
                b"message_seq" => message_seq = ranged("message_seq", v)?,
                b"from_uid" => from_uid = Some(string("from_uid", v)?),
                b"channel_id" => channel_id = Some(string("channel_id", v)?),
                b"channel_type" => channel_type = Some(ranged("channel_type", v)?),
                b"topic" => topic = Some(string("topic", v)?),
                b"expire" => expire = ranged("expire", v)?,
                b"timestamp" => timestamp = int("timestamp", v)?,
                b"payload" => payload = Some(string("payload", v)?),
                b"to_uids" => match v {
                    Value::Array(t) if t.contains(&b'"') => to_uids = ToUids::List(t),
                    Value::Array(_) => {}
                    _ => return Err(WebhookError::WrongType("to_uids")),
                },
                b"compress" => gzip = string("compress", v)?.raw() == b"gzip",
                b"compress_to_uids" => compressed = Some(string("compress_to_uids", v)?),
                _ => {}
            }
            Ok(())
        })();
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                failed = Some(e);
                // Stops the scan; the error kept above is the one returned.
                Err(JsonError::Syntax(0))
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    scan.map_err(|e| match e {
        JsonError::NotObject => WebhookError::Json(JsonError::NotObject),
        e => e.into(),
    })?;
    let message_id = match (id, id_str) {
        (Some(id), _) => id,
        (None, Some(s)) => crate::wire::wukong::payload::numeric_id(s.raw())
            .ok_or(WebhookError::OutOfRange("message_idstr"))?,
        (None, None) => return Err(WebhookError::MissingKey("message_id")),
    };
    if gzip && let Some(c) = compressed {
        to_uids = ToUids::Gzip(c);
    }
    let payload = payload.ok_or(WebhookError::MissingKey("payload"))?;
    if payload.has_escapes() {
        return Err(WebhookError::BadBase64);
    }
    Ok(WebhookMessage {
        flags,
        setting,
        message_id,
        client_msg_no: client_msg_no.unwrap_or(RawStr::EMPTY),
        message_seq,
        from_uid: from_uid.ok_or(WebhookError::MissingKey("from_uid"))?,
        channel_id: channel_id.ok_or(WebhookError::MissingKey("channel_id"))?,
        channel_type: channel_type.ok_or(WebhookError::MissingKey("channel_type"))?,
        topic,
        expire,
        timestamp,
        payload_b64: payload.raw(),
        to_uids,
    })
}

/// The decoded payload of `m` (standard base64 with padding) in `out`.
pub fn decode_payload<'o>(
    m: &WebhookMessage<'_>,
    out: &'o mut [u8],
) -> Result<&'o [u8], WebhookError> {
    use base64ct::{Base64, Encoding};
    let need = m.payload_b64.len() / 4 * 3;
    if out.len() < need {
        return Err(WebhookError::ScratchFull);
    }
    match Base64::decode(m.payload_b64, out) {
        Ok(b) => Ok(b),
        Err(_) => Err(WebhookError::BadBase64),
    }
}

/// One `user.onlinestatus` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence<'a> {
    /// The uid (may contain `-`).
    pub uid: &'a [u8],
    /// The device flag (0 app, 1 web, 2 pc, 99 system).
    pub device_flag: u8,
    /// Online (a login) or offline (a logout).
    pub online: bool,
    /// The server's connection id.
    pub conn_id: i64,
    /// Connections of this uid with this device flag, after the change.
    pub device_online: u32,
    /// All connections of this uid, after the change.
    pub total_online: u32,
}

/// Parses a presence string (already unescaped): the last five `-`-separated fields are
/// numbers, the rest is the uid.
pub fn parse_presence(s: &[u8]) -> Result<Presence<'_>, WebhookError> {
    let mut fields = [0i64; 5];
    let mut end = s.len();
    for f in fields.iter_mut().rev() {
        let dash = s
            .get(..end)
            .and_then(|head| head.iter().rposition(|b| *b == b'-'))
            .ok_or(WebhookError::BadPresence)?;
        let digits = s.get(dash + 1..end).ok_or(WebhookError::BadPresence)?;
        *f = crate::wire::wukong::payload::numeric_id(digits)
            .filter(|n| *n >= 0)
            .ok_or(WebhookError::BadPresence)?;
        end = dash;
    }
    let uid = s
        .get(..end)
        .filter(|u| !u.is_empty())
        .ok_or(WebhookError::BadPresence)?;
    let [flag, online, conn, device, total] = fields;
    Ok(Presence {
        uid,
        device_flag: u8::try_from(flag).map_err(|_| WebhookError::BadPresence)?,
        online: match online {
            0 => false,
            1 => true,
            _ => return Err(WebhookError::BadPresence),
        },
        conn_id: conn,
        device_online: u32::try_from(device).map_err(|_| WebhookError::BadPresence)?,
        total_online: u32::try_from(total).map_err(|_| WebhookError::BadPresence)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's `msg.notify` example (Go's v2.2.5 output).
    pub(crate) const NOTIFY: &str = r#"[{"header":{"no_persist":0,"red_dot":1,"sync_once":0},"setting":0,"message_id":1848213190224834560,"message_idstr":"1848213190224834560","client_msg_no":"a1b2c3d4","message_seq":12,"from_uid":"alice","channel_id":"g1","channel_type":2,"expire":0,"timestamp":1729756800,"payload":"eyJ0eXBlIjoxLCJjb250ZW50IjoiaGkgYWxsIn0="},
 {"header":{"no_persist":0,"red_dot":1,"sync_once":0},"setting":0,"message_id":1848213190224834561,"message_idstr":"1848213190224834561","client_msg_no":"e5f6","message_seq":3,"from_uid":"alice","channel_id":"bob","channel_type":1,"expire":0,"timestamp":1729756801,"payload":"eyJ0eXBlIjo4LCJ1cmwiOiJodHRwczovL2YuZXhhbXBsZS9hLnBkZiIsIm5hbWUiOiJhLnBkZiIsInNpemUiOjEwMjR9"}]"#;

    #[test]
    fn the_reference_notify_example() {
        let mut got = [None, None];
        let mut i = 0;
        crate::wire::json::for_each_element(NOTIFY.as_bytes(), |v| {
            let Value::Object(t) = v else {
                panic!("an object")
            };
            got[i] = Some(parse_message(t).unwrap());
            i += 1;
            Ok(())
        })
        .unwrap();
        let [Some(a), Some(b)] = got else {
            panic!("two")
        };
        // Above 2^53, exact.
        assert_eq!(a.message_id, 1_848_213_190_224_834_560);
        assert_eq!(b.message_id, 1_848_213_190_224_834_561);
        assert_eq!((a.flags, a.channel_type, a.message_seq), (2, 2, 12));
        assert_eq!(a.channel_id.raw(), b"g1");
        let mut buf = [0u8; 128];
        assert_eq!(
            decode_payload(&a, &mut buf).unwrap(),
            br#"{"type":1,"content":"hi all"}"#
        );
        assert_eq!((b.channel_type, b.channel_id.raw()), (1, &b"bob"[..]));
        assert_eq!(b.to_uids, ToUids::None);
    }

    #[test]
    fn presence_splits_from_the_right() {
        let p = parse_presence(b"a-b-c-1-1-42-1-2").unwrap();
        assert_eq!(p.uid, b"a-b-c");
        assert_eq!((p.device_flag, p.online, p.conn_id), (1, true, 42));
        assert_eq!((p.device_online, p.total_online), (1, 2));
        for bad in [
            &b"1-1-42-1-2"[..],
            b"a-1-2-42-1-2",
            b"a-1-1-x-1-2",
            b"",
            b"a-1-1-42-1-",
        ] {
            assert_eq!(
                parse_presence(bad),
                Err(WebhookError::BadPresence),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_items_have_their_errors() {
        let cases: [(&str, WebhookError); 6] = [
            (
                r#"{"from_uid":"a","channel_id":"b","channel_type":2,"payload":""}"#,
                WebhookError::MissingKey("message_id"),
            ),
            (
                r#"{"message_id":99999999999999999999,"from_uid":"a","channel_id":"b","channel_type":2,"payload":""}"#,
                WebhookError::OutOfRange("message_id"),
            ),
            (
                r#"{"message_id":1,"from_uid":7,"channel_id":"b","channel_type":2,"payload":""}"#,
                WebhookError::WrongType("from_uid"),
            ),
            (
                r#"{"message_id":1,"from_uid":"a","channel_id":"b","channel_type":300,"payload":""}"#,
                WebhookError::OutOfRange("channel_type"),
            ),
            (
                r#"{"message_id":1,"from_uid":"a","channel_id":"b","channel_type":2}"#,
                WebhookError::MissingKey("payload"),
            ),
            (r#"[1]"#, WebhookError::Json(JsonError::NotObject)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_message(text.as_bytes()), Err(want), "{text}");
        }
        let m = parse_message(
            br#"{"message_id":1,"from_uid":"a","channel_id":"b","channel_type":2,"payload":"!!"}"#,
        )
        .unwrap();
        assert_eq!(
            decode_payload(&m, &mut [0; 8]),
            Err(WebhookError::BadBase64)
        );
    }
}
