//! Test support: the server side of a session, written with rmpv (an independent msgpack
//! implementation) so the listener is not checked only against its own codec.
#![allow(dead_code)]

use rmpv::Value;
use rtm_listen::rtm::listen::Credentials;
use rtm_listen::session::{Config, Event, Listener};

pub const PID: u32 = 1_000_001;
pub const SECRET: &[u8] = b"test-secret";
/// Unix time used by the tests: 2023-11-14T22:13:20Z.
pub const UNIX_MS: i64 = 1_700_000_000_000;

pub type L = Listener;

pub fn listener() -> Box<L> {
    listener_with(Config::DEFAULT)
}

pub fn listener_with(cfg: Config) -> Box<L> {
    let creds = Credentials {
        pid: PID,
        secret: SECRET,
    };
    let mut l = Box::new(Listener::new(cfg, creds, 0x1234_5678).expect("listener"));
    l.set_unix_time(0, UNIX_MS);
    l
}

/// A frame as the server sees it, payload decoded by rmpv.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    Quest {
        seq: Option<u32>,
        method: String,
        payload: Value,
    },
    Answer {
        seq: u32,
        status: u8,
        payload: Value,
    },
}

impl Wire {
    pub fn method(&self) -> Option<&str> {
        match self {
            Wire::Quest { method, .. } => Some(method),
            Wire::Answer { .. } => None,
        }
    }

    pub fn seq(&self) -> Option<u32> {
        match self {
            Wire::Quest { seq, .. } => *seq,
            Wire::Answer { seq, .. } => Some(*seq),
        }
    }

    pub fn payload(&self) -> &Value {
        match self {
            Wire::Quest { payload, .. } | Wire::Answer { payload, .. } => payload,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        map_get(self.payload(), key)
    }
}

pub fn map_get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// Splits bytes into frames, decoding each header by hand and each payload with rmpv.
pub fn parse_wire(mut bytes: &[u8]) -> Vec<Wire> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 12, "truncated header: {bytes:02x?}");
        assert_eq!(&bytes[..4], b"FPNN");
        assert_eq!(bytes[4], 1, "version");
        assert_eq!(bytes[5], 0x80, "flag");
        let mtype = bytes[6];
        let ss = bytes[7] as usize;
        let psize = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let mut at = 12;
        let seq = if mtype == 0 {
            None
        } else {
            at += 4;
            Some(u32::from_le_bytes(bytes[12..16].try_into().unwrap()))
        };
        let frame = if mtype == 2 {
            let mut p = &bytes[at..at + psize];
            let payload = rmpv::decode::read_value(&mut p).expect("answer payload");
            assert!(p.is_empty());
            at += psize;
            Wire::Answer {
                seq: seq.unwrap(),
                status: ss as u8,
                payload,
            }
        } else {
            let method = String::from_utf8(bytes[at..at + ss].to_vec()).unwrap();
            at += ss;
            let mut p = &bytes[at..at + psize];
            let payload = rmpv::decode::read_value(&mut p).expect("quest payload");
            assert!(p.is_empty());
            at += psize;
            Wire::Quest {
                seq,
                method,
                payload,
            }
        };
        out.push(frame);
        bytes = &bytes[at..];
    }
    out
}

fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

/// A quest from the server (twoway when `seq` is given).
pub fn quest(seq: Option<u32>, method: &str, payload: &Value) -> Vec<u8> {
    let body = encode(payload);
    let mut f = b"FPNN".to_vec();
    f.extend_from_slice(&[
        1,
        0x80,
        if seq.is_some() { 1 } else { 0 },
        method.len() as u8,
    ]);
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    if let Some(seq) = seq {
        f.extend_from_slice(&seq.to_le_bytes());
    }
    f.extend_from_slice(method.as_bytes());
    f.extend_from_slice(&body);
    f
}

/// An answer from the server.
pub fn answer(seq: u32, status: u8, payload: &Value) -> Vec<u8> {
    let body = encode(payload);
    let mut f = b"FPNN".to_vec();
    f.extend_from_slice(&[1, 0x80, 2, status]);
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(&body);
    f
}

pub fn ok(seq: u32) -> Vec<u8> {
    answer(seq, 0, &Value::Map(vec![]))
}

pub fn err(seq: u32, code: i64, ex: &str) -> Vec<u8> {
    answer(
        seq,
        1,
        &map(&[("code", Value::from(code)), ("ex", Value::from(ex))]),
    )
}

pub fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect(),
    )
}

/// A message push payload.
pub fn msg_payload(target_key: &str, from: i64, to: i64, mid: i64, mtype: i64, msg: &str) -> Value {
    let mut pairs = vec![
        ("from", Value::from(from)),
        ("mid", Value::from(mid)),
        ("mtype", Value::from(mtype)),
        ("msg", Value::from(msg)),
        ("attrs", Value::from("")),
        ("mtime", Value::from(1_700_000_000_456i64)),
    ];
    if !target_key.is_empty() {
        pairs.insert(1, (target_key, Value::from(to)));
    }
    map(&pairs)
}

pub fn pushmsg(seq: Option<u32>, from: i64, to: i64, mid: i64, mtype: i64, msg: &str) -> Vec<u8> {
    quest(
        seq,
        "pushmsg",
        &msg_payload("to", from, to, mid, mtype, msg),
    )
}

pub fn pushgroupmsg(
    seq: Option<u32>,
    from: i64,
    gid: i64,
    mid: i64,
    mtype: i64,
    msg: &str,
) -> Vec<u8> {
    quest(
        seq,
        "pushgroupmsg",
        &msg_payload("gid", from, gid, mid, mtype, msg),
    )
}

pub fn pushroommsg(
    seq: Option<u32>,
    from: i64,
    rid: i64,
    mid: i64,
    mtype: i64,
    msg: &str,
) -> Vec<u8> {
    quest(
        seq,
        "pushroommsg",
        &msg_payload("rid", from, rid, mid, mtype, msg),
    )
}

pub fn pushevent(seq: Option<u32>, event: &str, uid: i64) -> Vec<u8> {
    quest(
        seq,
        "pushevent",
        &map(&[
            ("pid", Value::from(PID)),
            ("event", Value::from(event)),
            ("uid", Value::from(uid)),
            ("time", Value::from(1_700_000_000)),
            ("endpoint", Value::from("192.0.2.1:12345")),
        ]),
    )
}

pub fn ping(seq: Option<u32>) -> Vec<u8> {
    quest(seq, "ping", &Value::Map(vec![]))
}

/// An owned, comparable description of an event.
pub fn describe(e: &Event<'_>) -> String {
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match e {
        Event::Message(m) => {
            let mut d = format!(
                "{} from={} to={} mid={} mtype={} msg={:?} attrs={:?}",
                m.callback.name(),
                m.message.from,
                m.message.to,
                m.message.mid,
                m.message.mtype,
                s(m.message.msg),
                s(m.message.attrs)
            );
            if let Some(t) = m.message.translated(&mut [0; 256]) {
                d += &format!(" translated={:?}", s(t.text()));
            }
            if let Some(f) = m.message.file_info(&mut [0; 256]) {
                d += &format!(" file.url={:?} audio={}", s(f.url), f.is_rtm_audio);
            }
            d
        }
        Event::PushEvent(ev) => format!("pushEvent {} uid={}", s(ev.event), ev.uid),
        Event::Completed(c) => format!(
            "completed #{} code={} ex={:?}",
            c.request.0,
            c.code,
            s(c.ex)
        ),
        Event::BadPush { method, error, .. } => format!("bad {} {error}", s(method)),
        other => format!("{other:?}"),
    }
}

/// Drains all events as descriptions.
pub fn events(l: &mut L) -> Vec<String> {
    let mut out = Vec::new();
    l.poll_events(|e| out.push(describe(&e)));
    out
}

/// Takes everything the listener wants to send, as frames.
pub fn sent(l: &mut L) -> Vec<Wire> {
    let bytes = l.transmit().to_vec();
    l.consume_transmit(bytes.len());
    parse_wire(&bytes)
}

/// Feeds all of `bytes`, draining events as it goes; returns the events.
pub fn feed(l: &mut L, now: u64, mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let n = l.handle_input(now, bytes, |e| out.push(describe(&e)));
        out.extend(events(l));
        assert!(
            n > 0,
            "listener refused input (backpressure not expected here)"
        );
        bytes = &bytes[n..];
    }
    out.extend(events(l));
    out
}
