//! Push specifications: what the gate sends, to whom, and how it is encoded.

use std::time::{SystemTime, UNIX_EPOCH};

use rmpv::Value;

use crate::listen::ListenState;

/// RTM mtype of a text chat.
pub const MTYPE_CHAT: i64 = 30;
/// RTM mtype of an audio chat.
pub const MTYPE_AUDIO: i64 = 31;
/// RTM mtype of a command.
pub const MTYPE_CMD: i64 = 32;
/// RTM mtype of an image file.
pub const MTYPE_IMAGE: i64 = 40;
/// RTM mtype of an audio file.
pub const MTYPE_AUDIO_FILE: i64 = 41;
/// RTM mtype of a video file.
pub const MTYPE_VIDEO: i64 = 42;
/// RTM mtype of a generic file.
pub const MTYPE_FILE: i64 = 50;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `len` bytes of ASCII text, byte `i` being `b'a' + i % 26` (`abc…xyzabc…`): a long message
/// whose every byte can be checked.
pub fn filler_text(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// A `msg` or `attrs` value: a msgpack str or, for binary messages, a msgpack bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Sent as a msgpack str.
    Text(String),
    /// Sent as a msgpack bin.
    Binary(Vec<u8>),
}

impl Body {
    fn to_value(&self) -> Value {
        match self {
            Body::Text(s) => Value::from(s.as_str()),
            Body::Binary(b) => Value::Binary(b.clone()),
        }
    }
}

impl From<&str> for Body {
    fn from(s: &str) -> Self {
        Body::Text(s.to_owned())
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::Text(s)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body::Binary(b)
    }
}

impl From<&[u8]> for Body {
    fn from(b: &[u8]) -> Self {
        Body::Binary(b.to_vec())
    }
}

/// Where a message goes, which also picks the push method and its target key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `pushmsg` with `to`: delivered where the uid is listened to, or `p2p` is set.
    P2p(i64),
    /// `pushgroupmsg` with `gid`: delivered where the gid is listened to, or `group` is set.
    Group(i64),
    /// `pushroommsg` with `rid`: delivered where the rid is listened to, or `room` is set.
    Room(i64),
    /// `pushbroadcastmsg` (client protocol, no target key): delivered to every connection.
    Broadcast,
}

impl Target {
    /// The push method for messages to this target.
    pub fn method(self) -> &'static str {
        match self {
            Target::P2p(_) => "pushmsg",
            Target::Group(_) => "pushgroupmsg",
            Target::Room(_) => "pushroommsg",
            Target::Broadcast => "pushbroadcastmsg",
        }
    }
}

/// A message push: `{from, to|gid|rid, mid, mtype, msg, attrs, mtime}` in that key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Recipient, which selects the method.
    pub target: Target,
    /// Sender uid.
    pub from: i64,
    /// Message id.
    pub mid: i64,
    /// RTM message type (an int8 on the real wire; any int can be sent to test range checks).
    pub mtype: i64,
    /// The message.
    pub msg: Body,
    /// The attributes.
    pub attrs: Body,
    /// Modification time, Unix milliseconds.
    pub mtime: i64,
}

impl Message {
    /// A message with empty `attrs` and `mtime` = now.
    pub fn new(target: Target, from: i64, mid: i64, mtype: i64, msg: impl Into<Body>) -> Self {
        Self {
            target,
            from,
            mid,
            mtype,
            msg: msg.into(),
            attrs: Body::Text(String::new()),
            mtime: unix_ms(),
        }
    }

    fn payload(&self) -> Value {
        let mut m: Vec<(Value, Value)> = vec![("from".into(), self.from.into())];
        match self.target {
            Target::P2p(to) => m.push(("to".into(), to.into())),
            Target::Group(gid) => m.push(("gid".into(), gid.into())),
            Target::Room(rid) => m.push(("rid".into(), rid.into())),
            Target::Broadcast => {}
        }
        m.push(("mid".into(), self.mid.into()));
        m.push(("mtype".into(), self.mtype.into()));
        m.push(("msg".into(), self.msg.to_value()));
        m.push(("attrs".into(), self.attrs.to_value()));
        m.push(("mtime".into(), self.mtime.into()));
        Value::Map(m)
    }
}

/// An event push (`pushevent`): `{pid, event, uid, time, endpoint[, data]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Project id; `None` sends the gate's configured pid.
    pub pid: Option<i64>,
    /// Event name (`login`, `logout`).
    pub event: String,
    /// The user concerned.
    pub uid: i64,
    /// Unix seconds.
    pub time: i64,
    /// The client's address.
    pub endpoint: String,
    /// Optional extra data; the key is omitted when `None`.
    pub data: Option<String>,
}

impl Event {
    /// An event at the current time from endpoint `127.0.0.1:40000`, without data.
    pub fn new(event: &str, uid: i64) -> Self {
        Self {
            pid: None,
            event: event.to_owned(),
            uid,
            time: unix_ms() / 1000,
            endpoint: "127.0.0.1:40000".to_owned(),
            data: None,
        }
    }

    fn payload(&self, gate_pid: u32) -> Value {
        let mut m: Vec<(Value, Value)> = vec![
            ("pid".into(), self.pid.unwrap_or(i64::from(gate_pid)).into()),
            ("event".into(), self.event.as_str().into()),
            ("uid".into(), self.uid.into()),
            ("time".into(), self.time.into()),
            ("endpoint".into(), self.endpoint.as_str().into()),
        ];
        if let Some(d) = &self.data {
            m.push(("data".into(), d.as_str().into()));
        }
        Value::Map(m)
    }
}

/// The file information of a file message (mtype 40..=50).
///
/// `msg` is the JSON `{"url","size"[,"surl"]}`; `attrs` is the JSON
/// `{"rtm":{…}[,"custom":…]}` where `rtm` holds `{"type":"audiomsg","lang","duration"}` for an
/// RTM audio message and is empty otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The mtype (40 image, 41 audio, 42 video, 50 file).
    pub mtype: i64,
    /// Download URL.
    pub url: String,
    /// Size in bytes.
    pub size: i64,
    /// Thumbnail URL (images).
    pub surl: Option<String>,
    /// `(lang, duration ms)` of an RTM audio message (`rtm.type = "audiomsg"`).
    pub audio: Option<(String, i64)>,
    /// The sender's own attrs: raw JSON text inserted as `custom` (object, string, …).
    pub custom: Option<String>,
}

impl FileSpec {
    /// An image (mtype 40) with a thumbnail.
    pub fn image(url: &str, size: i64, surl: &str) -> Self {
        Self {
            mtype: MTYPE_IMAGE,
            url: url.to_owned(),
            size,
            surl: Some(surl.to_owned()),
            audio: None,
            custom: None,
        }
    }

    /// An RTM audio message (mtype 41, `rtm.type = "audiomsg"`).
    pub fn audio(url: &str, size: i64, lang: &str, duration_ms: i64) -> Self {
        Self {
            mtype: MTYPE_AUDIO_FILE,
            url: url.to_owned(),
            size,
            surl: None,
            audio: Some((lang.to_owned(), duration_ms)),
            custom: None,
        }
    }

    /// A generic file (mtype 50).
    pub fn file(url: &str, size: i64) -> Self {
        Self {
            mtype: MTYPE_FILE,
            url: url.to_owned(),
            size,
            surl: None,
            audio: None,
            custom: None,
        }
    }

    /// Sets the `custom` attrs (raw JSON text).
    pub fn with_custom(mut self, json: &str) -> Self {
        self.custom = Some(json.to_owned());
        self
    }

    /// The `msg` JSON.
    pub fn msg_json(&self) -> String {
        let mut s = format!("{{\"url\":{},\"size\":{}", json_str(&self.url), self.size);
        if let Some(surl) = &self.surl {
            s.push_str(&format!(",\"surl\":{}", json_str(surl)));
        }
        s.push('}');
        s
    }

    /// The `attrs` JSON.
    pub fn attrs_json(&self) -> String {
        let rtm = match &self.audio {
            Some((lang, duration)) => format!(
                "{{\"type\":\"audiomsg\",\"lang\":{},\"duration\":{duration}}}",
                json_str(lang)
            ),
            None => "{}".to_owned(),
        };
        match &self.custom {
            Some(custom) => format!("{{\"rtm\":{rtm},\"custom\":{custom}}}"),
            None => format!("{{\"rtm\":{rtm}}}"),
        }
    }
}

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One push the gate can send. Every kind is a twoway quest unless its `oneway` is set.
#[derive(Debug, Clone, PartialEq)]
pub enum Push {
    /// A message to a user, group, room or everyone.
    Message {
        /// The message.
        message: Message,
        /// Send as a oneway quest (no seq, must not be answered).
        oneway: bool,
    },
    /// `pushevent`; delivered where the event name is listened to, or `ev` is set.
    Event {
        /// The event.
        event: Event,
        /// Send as a oneway quest.
        oneway: bool,
    },
    /// RTM-level `ping` with an empty map; delivered to every connection.
    Ping {
        /// Send as a oneway quest.
        oneway: bool,
    },
    /// Client-protocol `kickout` with an empty map; delivered to every connection.
    Kickout {
        /// Send as a oneway quest.
        oneway: bool,
    },
    /// Client-protocol `kickoutroom` `{rid}`; delivered to every connection.
    KickoutRoom {
        /// The room.
        rid: i64,
        /// Send as a oneway quest.
        oneway: bool,
    },
    /// Any method and payload (which should be a map); delivered to every connection.
    Raw {
        /// The method name (1..=255 bytes; longer names are cut to 255).
        method: String,
        /// The payload.
        payload: Value,
        /// Send as a oneway quest.
        oneway: bool,
    },
}

impl Push {
    /// A message push with mtype `mtype` (a generic message for mtypes other than 30-32, 40-50).
    pub fn message(target: Target, from: i64, mid: i64, mtype: i64, msg: impl Into<Body>) -> Self {
        Push::Message {
            message: Message::new(target, from, mid, mtype, msg),
            oneway: false,
        }
    }

    /// A text chat (mtype 30).
    pub fn chat(target: Target, from: i64, mid: i64, text: &str) -> Self {
        Self::message(target, from, mid, MTYPE_CHAT, text)
    }

    /// A text chat (mtype 30) whose `msg` is [`filler_text`]`(len)`: for big frames (the
    /// frame is about `len` + 70 bytes; the gate writes it whole whatever its size).
    pub fn chat_of_len(target: Target, from: i64, mid: i64, len: usize) -> Self {
        Self::message(target, from, mid, MTYPE_CHAT, filler_text(len))
    }

    /// An audio chat (mtype 31), binary `msg`.
    pub fn audio(target: Target, from: i64, mid: i64, data: &[u8]) -> Self {
        Self::message(target, from, mid, MTYPE_AUDIO, data)
    }

    /// A command (mtype 32).
    pub fn cmd(target: Target, from: i64, mid: i64, cmd: &str) -> Self {
        Self::message(target, from, mid, MTYPE_CMD, cmd)
    }

    /// A file message (mtype from `file`) with the JSON `msg` and `attrs` of [`FileSpec`].
    pub fn file(target: Target, from: i64, mid: i64, file: &FileSpec) -> Self {
        let mut message = Message::new(target, from, mid, file.mtype, file.msg_json());
        message.attrs = Body::Text(file.attrs_json());
        Push::Message {
            message,
            oneway: false,
        }
    }

    /// A broadcast chat (`pushbroadcastmsg`, mtype 30).
    pub fn broadcast(from: i64, mid: i64, text: &str) -> Self {
        Self::chat(Target::Broadcast, from, mid, text)
    }

    /// An event named `event` about `uid`.
    pub fn event(event: &str, uid: i64) -> Self {
        Push::Event {
            event: Event::new(event, uid),
            oneway: false,
        }
    }

    /// A `login` event.
    pub fn login(uid: i64) -> Self {
        Self::event("login", uid)
    }

    /// A `logout` event.
    pub fn logout(uid: i64) -> Self {
        Self::event("logout", uid)
    }

    /// The RTM `ping`.
    pub fn ping() -> Self {
        Push::Ping { oneway: false }
    }

    /// `kickout`.
    pub fn kickout() -> Self {
        Push::Kickout { oneway: false }
    }

    /// `kickoutroom` for `rid`.
    pub fn kickout_room(rid: i64) -> Self {
        Push::KickoutRoom { rid, oneway: false }
    }

    /// Any method with any payload.
    pub fn raw(method: &str, payload: Value) -> Self {
        Push::Raw {
            method: method.to_owned(),
            payload,
            oneway: false,
        }
    }

    /// The whole quest frame as the gate sends it: the payload encoded with rmpv and the FPNN
    /// header written by hand (independently of the engine), with `seq` unless oneway.
    pub fn frame(&self, seq: u32, gate_pid: u32) -> Vec<u8> {
        let payload = crate::conn::encode(&self.payload(gate_pid));
        let seq = (!self.is_oneway()).then_some(seq);
        crate::conn::quest_frame(seq, self.method(), &payload)
    }

    /// The same push, sent oneway.
    pub fn oneway(self) -> Self {
        self.with_oneway(true)
    }

    /// The same push with the oneway option set to `oneway`.
    pub fn with_oneway(mut self, oneway: bool) -> Self {
        match &mut self {
            Push::Message { oneway: o, .. }
            | Push::Event { oneway: o, .. }
            | Push::Ping { oneway: o }
            | Push::Kickout { oneway: o }
            | Push::KickoutRoom { oneway: o, .. }
            | Push::Raw { oneway: o, .. } => *o = oneway,
        }
        self
    }

    /// Whether the push is sent as a oneway quest.
    pub fn is_oneway(&self) -> bool {
        match self {
            Push::Message { oneway, .. }
            | Push::Event { oneway, .. }
            | Push::Ping { oneway }
            | Push::Kickout { oneway }
            | Push::KickoutRoom { oneway, .. }
            | Push::Raw { oneway, .. } => *oneway,
        }
    }

    /// The quest's method name.
    pub fn method(&self) -> &str {
        match self {
            Push::Message { message, .. } => message.target.method(),
            Push::Event { .. } => "pushevent",
            Push::Ping { .. } => "ping",
            Push::Kickout { .. } => "kickout",
            Push::KickoutRoom { .. } => "kickoutroom",
            Push::Raw { method, .. } => method,
        }
    }

    /// The message, for message pushes.
    pub fn message_mut(&mut self) -> Option<&mut Message> {
        match self {
            Push::Message { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The payload as sent by a gate configured with project `gate_pid`.
    pub fn payload(&self, gate_pid: u32) -> Value {
        match self {
            Push::Message { message, .. } => message.payload(),
            Push::Event { event, .. } => event.payload(gate_pid),
            Push::Ping { .. } | Push::Kickout { .. } => Value::Map(Vec::new()),
            Push::KickoutRoom { rid, .. } => Value::Map(vec![("rid".into(), (*rid).into())]),
            Push::Raw { payload, .. } => payload.clone(),
        }
    }

    /// Whether a connection in `state` receives this push.
    pub fn matches(&self, state: &ListenState) -> bool {
        match self {
            Push::Message { message, .. } => match message.target {
                Target::P2p(to) => state.receives_p2p(to),
                Target::Group(gid) => state.receives_group(gid),
                Target::Room(rid) => state.receives_room(rid),
                Target::Broadcast => true,
            },
            Push::Event { event, .. } => state.receives_event(&event.event),
            Push::Ping { .. }
            | Push::Kickout { .. }
            | Push::KickoutRoom { .. }
            | Push::Raw { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_json() {
        let f = FileSpec::audio("http://x/a.amr", 10, "en", 3000).with_custom("{\"k\":\"v\"}");
        assert_eq!(f.msg_json(), r#"{"url":"http://x/a.amr","size":10}"#);
        assert_eq!(
            f.attrs_json(),
            r#"{"rtm":{"type":"audiomsg","lang":"en","duration":3000},"custom":{"k":"v"}}"#
        );
        let i = FileSpec::image("u\"", 1, "s");
        assert_eq!(i.msg_json(), r#"{"url":"u\"","size":1,"surl":"s"}"#);
        assert_eq!(i.attrs_json(), r#"{"rtm":{}}"#);
    }

    #[test]
    fn message_payload_key_order() {
        let mut p = Push::chat(Target::Group(7), 5, 300, "hi");
        p.message_mut().unwrap().mtime = 1;
        let Value::Map(m) = p.payload(1) else {
            panic!("not a map")
        };
        let keys: Vec<_> = m.iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(
            keys,
            ["from", "gid", "mid", "mtype", "msg", "attrs", "mtime"]
        );
        assert_eq!(p.method(), "pushgroupmsg");
        assert!(p.clone().oneway().is_oneway() && !p.is_oneway());
    }

    #[test]
    fn chat_of_len_has_the_filler_text() {
        assert_eq!(filler_text(0), "");
        assert_eq!(filler_text(28), "abcdefghijklmnopqrstuvwxyzab");
        let p = Push::chat_of_len(Target::P2p(1), 2, 3, 6 * 1024);
        let Value::Map(m) = p.payload(1) else {
            panic!("not a map")
        };
        let msg = m.iter().find(|(k, _)| k.as_str() == Some("msg")).unwrap();
        assert_eq!(msg.1.as_str(), Some(filler_text(6 * 1024).as_str()));
    }
}
