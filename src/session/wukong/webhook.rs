//! Webhook ingest on the WuKongIM listener: the host hands over a POST's `event` query value
//! and body; the items are read ([`wire::wukong::webhook`](crate::wire::wukong::webhook)),
//! filtered against the listen set, filtered for duplicates with the same table as the socket
//! (a message may come both ways, and `msg.notify` batches are retried), handed to the host as
//! the same events as the socket's, and the HTTP status to answer is returned.

use super::{WkFields, WkListener};
use crate::rtm::dispatch::Callback;
use crate::rtm::push::{Event as PushEvent, Message, Target};
use crate::session::dedup::DedupKey;
use crate::session::{Event, MessageEvent};
use crate::wire::json::{JsonError, Scratch, Value, for_each_element};
use crate::wire::wukong::packet::Recv;
use crate::wire::wukong::payload::{category, content_type, numeric_id, target};
use crate::wire::wukong::webhook::{
    ToUids, WebhookError, WebhookKind, WebhookMessage, decode_payload, parse_message,
    parse_presence,
};

/// What became of a webhook POST, and what to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WebhookOutcome {
    /// The HTTP status to answer: 200 when every item was handled (delivered, filtered out,
    /// or a duplicate); 400 when the body or an item is malformed or the event unknown
    /// (the items before it were handled: a retry delivers nothing twice); 413 when the
    /// scratch could not hold an item (the host should give more and let the server retry).
    /// WuKongIM retries `msg.notify` and `user.onlinestatus` on anything but 200.
    pub status: u16,
    /// The first error, when `status` is not 200.
    pub error: Option<WebhookError>,
    /// Items handed to the host.
    pub delivered: u32,
    /// Items seen before (by the socket or an earlier POST), not delivered again.
    pub duplicates: u32,
    /// Items outside the listen set.
    pub filtered: u32,
    /// `msg.offline` bodies whose `to_uids` came gzip-compressed (not inflated: the message
    /// itself was handled).
    pub gzip_to_uids: u32,
}

/// A presence event's `endpoint` and `data`, written into a small stack buffer.
struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> core::fmt::Write for Line<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let dst = self
            .buf
            .get_mut(self.len..self.len + s.len())
            .ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

impl<const N: usize> Line<N> {
    fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl<const RX: usize, const TX: usize> WkListener<RX, TX> {
    /// Handles one webhook POST: `event` is its `event` query value, `body` its bytes,
    /// `scratch` memory for one item's decoded payload and unescaped strings (the largest
    /// payload plus a few hundred bytes). Items are delivered to `on` as
    /// [`Event::Message`] (with [`WkFields`]; `to` is the integer `channel_id` for P2P, the
    /// recipient from the sender's side) and `user.onlinestatus` entries as
    /// [`Event::PushEvent`] (`event` `login` or `logout`, `uid` the integer uid or 0, `time`
    /// the host's Unix time in seconds, `endpoint` `"<device_flag>:<conn_id>"`, `data`
    /// `{"uid":"…","device_flag":…,"conn_id":…,"device_online":…,"total_online":…}` with the
    /// string uid). Works whether or not the socket is connected.
    pub fn handle_webhook<F: FnMut(Event<'_>)>(
        &mut self,
        now: u64,
        event: &[u8],
        body: &[u8],
        scratch: &mut [u8],
        mut on: F,
    ) -> WebhookOutcome {
        self.c.advance(now);
        let mut out = WebhookOutcome {
            status: 200,
            ..WebhookOutcome::default()
        };
        let Some(kind) = WebhookKind::from_event(event) else {
            return fail(out, WebhookError::UnknownEvent);
        };
        let on: &mut dyn FnMut(Event<'_>) = &mut on;
        let mut first_error = None;
        let result = match kind {
            WebhookKind::MsgNotify => for_each_element(body, |v| {
                let r = match v {
                    Value::Object(text) => self.webhook_message(text, scratch, &mut out, on),
                    _ => Err(WebhookError::WrongType("msg.notify item")),
                };
                note(&mut first_error, r);
                // A scratch too small for one item will be for the others too.
                match first_error {
                    Some(WebhookError::ScratchFull) => Err(JsonError::ScratchFull),
                    _ => Ok(()),
                }
            }),
            WebhookKind::MsgOffline => {
                let r = self.webhook_message(body, scratch, &mut out, on);
                note(&mut first_error, r);
                Ok(())
            }
            WebhookKind::OnlineStatus => for_each_element(body, |v| {
                let r = match v {
                    Value::Str(s) => self.presence(s, scratch, &mut out, on),
                    _ => Err(WebhookError::WrongType("user.onlinestatus item")),
                };
                note(&mut first_error, r);
                Ok(())
            }),
        };
        if let Err(e) = result {
            note(&mut first_error, Err(e.into()));
        }
        match first_error {
            Some(e) => fail(out, e),
            None => out,
        }
    }

    /// One message item: read, filtered, deduplicated, delivered.
    fn webhook_message(
        &mut self,
        text: &[u8],
        scratch: &mut [u8],
        out: &mut WebhookOutcome,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), WebhookError> {
        let m: WebhookMessage<'_> = parse_message(text)?;
        if matches!(m.to_uids, ToUids::Gzip(_)) {
            out.gzip_to_uids += 1;
        }
        let c = &mut self.c;
        let target = match target(m.channel_type, &c.cfg.rooms) {
            Some(t) => t,
            None if c.cfg.others_as_groups => Target::Group,
            None => {
                out.filtered += 1;
                return Ok(());
            }
        };
        // Cut into the payload's part and the strings' part.
        let need = m.payload_b64.len() / 4 * 3;
        let (payload_buf, rest) = scratch.split_at_mut(need.min(scratch.len()));
        let payload = decode_payload(&m, payload_buf)?;
        let mut strings = Scratch::new(rest);
        let from_uid = m.from_uid.value(&mut strings)?;
        let channel_id = m.channel_id.value(&mut strings)?;
        if !c.listen.wants_message(target, from_uid, channel_id) {
            out.filtered += 1;
            return Ok(());
        }
        let h = c.dedup.hash(&DedupKey {
            target: Target::Broadcast,
            from: 0,
            to: 0,
            mid: m.message_id,
        });
        if c.dedup.contains_hash(h, c.now) {
            out.duplicates += 1;
            c.stats.duplicates += 1;
            return Ok(());
        }
        let client_msg_no = m.client_msg_no.value(&mut strings)?;
        let topic = match m.topic {
            Some(t) => Some(t.value(&mut strings)?),
            None => None,
        };
        let content_type = content_type(payload);
        let category = category(content_type);
        let timestamp = i32::try_from(m.timestamp).unwrap_or(0);
        let recv = Recv {
            flags: m.flags,
            setting: m.setting,
            msg_key: &[],
            from_uid,
            channel_id,
            channel_type: m.channel_type,
            expire: Some(m.expire),
            client_msg_no,
            stream: None,
            message_id: m.message_id,
            message_seq: m.message_seq,
            timestamp,
            topic,
            payload,
        };
        let fields = WkFields { recv, content_type };
        let message = Message {
            target,
            from: numeric_id(from_uid).unwrap_or(0),
            to: numeric_id(channel_id).unwrap_or(0),
            mid: m.message_id,
            mtype: content_type.and_then(|t| i8::try_from(t).ok()).unwrap_or(0),
            msg: payload,
            attrs: &[],
            mtime: m.timestamp.saturating_mul(1000),
        };
        on(Event::Message(MessageEvent {
            message,
            category,
            callback: Callback::for_message(target, category),
            wukong: Some(&fields),
        }));
        c.dedup.insert_absent_hash(h, c.now);
        c.stats.delivered += 1;
        out.delivered += 1;
        Ok(())
    }

    /// One `user.onlinestatus` entry.
    fn presence(
        &mut self,
        s: crate::wire::json::RawStr<'_>,
        scratch: &mut [u8],
        out: &mut WebhookOutcome,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), WebhookError> {
        let mut strings = Scratch::new(scratch);
        let p = parse_presence(s.value(&mut strings)?)?;
        if !self.c.listen.wants_event(p.online) {
            out.filtered += 1;
            return Ok(());
        }
        use core::fmt::Write;
        let mut endpoint = Line::<32>::new();
        let _ = write!(endpoint, "{}:{}", p.device_flag, p.conn_id);
        // The data carries the string uid (a uid that is no decimal number has `uid` 0).
        let mut data = Line::<192>::new();
        let uid = core::str::from_utf8(p.uid).unwrap_or("");
        let _ = write!(
            data,
            r#"{{"uid":"{}","device_flag":{},"conn_id":{},"device_online":{},"total_online":{}}}"#,
            JsonEscaped(uid),
            p.device_flag,
            p.conn_id,
            p.device_online,
            p.total_online
        );
        let time = self.c.unix_now() / 1000;
        on(Event::PushEvent(PushEvent {
            pid: 0,
            event: if p.online { b"login" } else { b"logout" },
            uid: numeric_id(p.uid).unwrap_or(0),
            time,
            endpoint: endpoint.bytes(),
            data: Some(data.bytes()),
        }));
        out.delivered += 1;
        Ok(())
    }
}

/// A string written as JSON string content (quotes, backslashes and controls escaped).
struct JsonEscaped<'a>(&'a str);

impl core::fmt::Display for JsonEscaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for ch in self.0.chars() {
            match ch {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

use core::fmt::Write as _;

/// Keeps the first error.
fn note(first: &mut Option<WebhookError>, r: Result<(), WebhookError>) {
    if let Err(e) = r
        && first.is_none()
    {
        *first = Some(e);
    }
}

/// The outcome of a failed POST: its error and status.
fn fail(mut out: WebhookOutcome, e: WebhookError) -> WebhookOutcome {
    out.status = match e {
        WebhookError::ScratchFull => 413,
        _ => 400,
    };
    out.error = Some(e);
    out
}
