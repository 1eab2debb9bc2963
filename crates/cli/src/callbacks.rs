//! The monitor: every callback becomes one [`Record`] on the output, named after the
//! [`Monitor`] method, and is counted in a [`Tally`] the run's outcome is decided on.

use std::collections::BTreeSet;

use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::field::MessageError;
use rtm_listen::session::{CloseReason, MessageEvent, RequestId, code};
use rtm_listen::wire::wukong::packet::reason;
use serde_json::{Map, Value};

use crate::output::{Output, Record, put_bytes};

/// What the callbacks so far add up to.
#[derive(Debug, Default)]
pub struct Tally {
    /// Callbacks seen.
    pub callbacks: usize,
    /// Their names.
    pub kinds: BTreeSet<&'static str>,
    /// Successful connections (`connected` with `connected = true`).
    pub connects: usize,
    /// `kickout` callbacks.
    pub kicks: usize,
    /// The `mid` of every message callback, in order.
    pub delivered: Vec<i64>,
    /// Why the server refused the credentials, once it did.
    pub auth_refused: Option<String>,
    /// The output could not be written (the reader went away).
    pub output_closed: bool,
}

/// The CLI's [`Monitor`]: prints and counts.
pub struct Recorder {
    out: Output,
    /// The counts.
    pub tally: Tally,
}

impl Recorder {
    /// A recorder printing to `out`.
    pub fn new(out: Output) -> Self {
        Self {
            out,
            tally: Tally::default(),
        }
    }

    /// Whether the run should end now: the credentials were refused, or nobody reads.
    pub fn stop(&self) -> bool {
        self.tally.auth_refused.is_some() || self.tally.output_closed
    }

    fn emit(&mut self, record: Record) {
        self.tally.callbacks += 1;
        self.tally.kinds.insert(record.event());
        if !self.tally.output_closed && self.out.write(&record).is_err() {
            self.tally.output_closed = true;
        }
    }

    fn message(&mut self, event: &'static str, m: &MessageEvent<'_>) {
        self.tally.delivered.push(m.message.mid);
        self.emit(message_record(event, m));
    }
}

/// The record of a message callback: the official `RTMMessage` fields, then what is parsed
/// from them (`translated` for a chat with translation JSON, `file` for a file message), then
/// WuKongIM's own fields.
fn message_record(event: &'static str, m: &MessageEvent<'_>) -> Record {
    let msg = &m.message;
    let mut record = Record::new(event)
        .field("from", msg.from)
        .field("to", msg.to)
        .field("mid", msg.mid)
        .field("mtype", msg.mtype)
        .field("mtime", msg.mtime)
        .bytes("message", msg.msg)
        .bytes("attrs", msg.attrs);
    // Always enough: unescaping never makes a string longer.
    let mut scratch = vec![0u8; msg.info_scratch_len()];
    if let Some(t) = msg.translated(&mut scratch) {
        let mut o = Map::new();
        put_bytes(&mut o, "source", t.source_language);
        put_bytes(&mut o, "target", t.target_language);
        put_bytes(&mut o, "source_text", t.source_text);
        put_bytes(&mut o, "target_text", t.target_text);
        record = record.field("translated", o);
    }
    if let Some(f) = m.file_info(&mut scratch) {
        let mut o = Map::new();
        put_bytes(&mut o, "url", f.url);
        o.insert("size".into(), f.size.into());
        put_bytes(&mut o, "surl", f.surl);
        o.insert("is_rtm_audio".into(), f.is_rtm_audio.into());
        put_bytes(&mut o, "language", f.language);
        o.insert("duration".into(), f.duration.into());
        match f.custom {
            Some(c) => put_bytes(&mut o, "custom", c),
            None => {
                o.insert("custom".into(), Value::Null);
            }
        }
        record = record.field("file", o);
    }
    if let Some(w) = m.wukong {
        let r = &w.recv;
        let mut o = Map::new();
        put_bytes(&mut o, "from_uid", r.from_uid);
        put_bytes(&mut o, "channel_id", r.channel_id);
        o.insert("channel_type".into(), r.channel_type.into());
        put_bytes(&mut o, "client_msg_no", r.client_msg_no);
        o.insert("message_seq".into(), r.message_seq.into());
        o.insert("timestamp".into(), r.timestamp.into());
        match r.topic {
            Some(t) => put_bytes(&mut o, "topic", t),
            None => {
                o.insert("topic".into(), Value::Null);
            }
        }
        o.insert("flags".into(), r.flags.into());
        o.insert("setting".into(), r.setting.into());
        o.insert("expire".into(), r.expire.into());
        o.insert("content_type".into(), w.content_type.into());
        record = record.field("wukong", o);
    }
    record
}

macro_rules! messages {
    ($($method:ident),* $(,)?) => {$(
        fn $method(&mut self, m: &MessageEvent<'_>) {
            self.message(stringify!($method), m);
        }
    )*};
}

impl Monitor for Recorder {
    messages!(
        push_p2p_message,
        push_group_message,
        push_room_message,
        push_p2p_file,
        push_group_file,
        push_room_file,
        push_p2p_chat,
        push_p2p_audio,
        push_p2p_cmd,
        push_group_chat,
        push_group_audio,
        push_group_cmd,
        push_room_chat,
        push_room_audio,
        push_room_cmd,
        push_broadcast,
    );

    fn connected(&mut self, endpoint: &str, connected: bool, is_reconnect: bool) {
        self.tally.connects += usize::from(connected);
        self.emit(
            Record::new("connected")
                .field("endpoint", endpoint)
                .field("connected", connected)
                .field("is_reconnect", is_reconnect),
        );
    }

    fn closed(&mut self, endpoint: &str, caused_by_error: bool, is_reconnect: bool) {
        self.emit(
            Record::new("closed")
                .field("endpoint", endpoint)
                .field("caused_by_error", caused_by_error)
                .field("is_reconnect", is_reconnect),
        );
    }

    fn disconnected(&mut self, endpoint: &str, why: CloseReason, retry_in_ms: u64) {
        if let CloseReason::WkRefused {
            reason_code: c @ reason::AUTH_FAIL,
        } = why
        {
            self.tally.auth_refused =
                Some(format!("the login was refused with reason {c} (AuthFail)"));
        }
        self.emit(
            Record::new("disconnected")
                .field("endpoint", endpoint)
                .field("reason", why.to_string())
                .field("retry_ms", retry_in_ms),
        );
    }

    fn push_event(
        &mut self,
        pid: i64,
        event: &[u8],
        uid: i64,
        time: i64,
        endpoint: &[u8],
        data: &[u8],
    ) {
        self.emit(
            Record::new("push_event")
                .field("pid", pid)
                .bytes("name", event)
                .field("uid", uid)
                .field("time", time)
                .bytes("endpoint", endpoint)
                .bytes("data", data),
        );
    }

    fn ping(&mut self) {
        self.emit(Record::new("ping"));
    }

    fn kickout(&mut self) {
        self.tally.kicks += 1;
        self.emit(Record::new("kickout"));
    }

    fn kickout_room(&mut self, rid: i64) {
        self.emit(Record::new("kickout_room").field("rid", rid));
    }

    fn command_done(&mut self, request: RequestId, c: i64, ex: &[u8]) {
        if code::is_auth_failure(c) {
            self.tally
                .auth_refused
                .get_or_insert_with(|| format!("a listen command was refused with {c}"));
        }
        self.emit(
            Record::new("command_done")
                .field("request", request.0)
                .field("code", c)
                .bytes("ex", ex),
        );
    }

    fn restored(&mut self, c: i64) {
        if code::is_auth_failure(c) {
            self.tally
                .auth_refused
                .get_or_insert_with(|| format!("restoring the listens was refused with {c}"));
        }
        self.emit(Record::new("restored").field("code", c));
    }

    fn bad_push(&mut self, method: &[u8], error: MessageError, seq: Option<u32>, len: usize) {
        self.emit(
            Record::new("bad_push")
                .bytes("method", method)
                .field("seq", seq)
                .field("len", len)
                .field("error", error.to_string()),
        );
    }
}
