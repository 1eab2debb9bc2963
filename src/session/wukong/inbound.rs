//! The WuKongIM listener's inbound path: bytes into RX, packets out of it, each handled once
//! (CONNACK, RECV, PONG, DISCONNECT, EVENT), events handed to the host.

use super::{Core, Link, Rx, State, Step, WkFields, WkListener, WkProtocolError};
use crate::rtm::dispatch::{Callback, Category};
use crate::rtm::field::MessageError;
use crate::rtm::push::{Event as PushEvent, Message, Target};
use crate::session::dedup::DedupKey;
use crate::session::{CloseReason, Event, MessageEvent};
use crate::wire::frame::Status;
use crate::wire::wukong::packet::{self, Recv, reason, setting};
use crate::wire::wukong::payload::{category, content_type, numeric_id, target};
use crate::wire::wukong::{FrameError, MAX_REMAINING, PacketType, Reject, parse_frame};

/// The method name reported with a rejected RECV.
const RECV: &[u8] = b"RECV";

impl<const RX: usize, const TX: usize> WkListener<RX, TX> {
    /// Hands every event that is ready to `on`, and handles the whole packets waiting in RX
    /// (those blocked on TX room before). Call after every other call (see the
    /// [session docs](crate::session)).
    pub fn poll_events<F: FnMut(Event<'_>)>(&mut self, mut on: F) {
        self.poll_with(&mut on);
    }

    fn poll_with(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        while let Some(e) = self.c.local.pop_front() {
            on(e.into_event());
        }
        self.rx.packets(&mut self.c, on);
        // A close asked for while reading: its event goes out now.
        while let Some(e) = self.c.local.pop_front() {
            on(e.into_event());
        }
    }

    /// Takes received bytes, hands the events they complete to `on` (after the ones already
    /// waiting), and returns how many bytes were taken. Bytes not taken stay with the host:
    /// RX is full of packets waiting for TX room; send [`WkListener::transmit`] and offer
    /// them again. Returns 0 when not connected; takes everything once a close was asked for.
    pub fn handle_input<F: FnMut(Event<'_>)>(&mut self, now: u64, data: &[u8], mut on: F) -> usize {
        let on: &mut dyn FnMut(Event<'_>) = &mut on;
        self.c.advance(now);
        let Some(link) = self.c.link.as_mut() else {
            return 0;
        };
        if !data.is_empty() {
            link.last_rx = self.c.now;
        }
        let mut taken = 0;
        loop {
            if self.c.closing.is_some() {
                self.poll_with(on);
                return data.len();
            }
            let rest = data.get(taken..).unwrap_or(&[]);
            let skipped = self.rx.skip.min(rest.len());
            self.rx.skip -= skipped;
            taken += skipped;
            let rest = data.get(taken..).unwrap_or(&[]);
            self.rx.compact();
            let n = rest.len().min(RX - self.rx.end);
            if let (Some(dst), Some(src)) = (
                self.rx.buf.get_mut(self.rx.end..self.rx.end + n),
                rest.get(..n),
            ) {
                dst.copy_from_slice(src);
                self.rx.end += n;
                taken += n;
            }
            let before = (self.rx.start, self.rx.end);
            self.poll_with(on);
            let moved = (self.rx.start, self.rx.end) != before;
            if taken == data.len() || (n == 0 && skipped == 0 && !moved) {
                return if self.c.closing.is_some() {
                    data.len()
                } else {
                    taken
                };
            }
        }
    }

    /// The free part of the receive buffer, for transports that read in place. Follow with
    /// [`WkListener::commit_input`].
    pub fn input_window(&mut self) -> &mut [u8] {
        self.rx.compact();
        self.rx.buf.get_mut(self.rx.end..).unwrap_or(&mut [])
    }

    /// Marks `n` bytes of the last [`WkListener::input_window`] as received (the part of an
    /// oversized packet still being skipped is dropped). Follow with
    /// [`WkListener::poll_events`].
    pub fn commit_input(&mut self, now: u64, n: usize) {
        self.c.advance(now);
        let n = n.min(RX - self.rx.end);
        let Some(link) = self.c.link.as_mut() else {
            return;
        };
        if n > 0 {
            link.last_rx = self.c.now;
        }
        let skipped = self.rx.skip.min(n);
        self.rx.skip -= skipped;
        let end = self.rx.end;
        self.rx.buf.copy_within(end + skipped..end + n, end);
        self.rx.end += n - skipped;
    }
}

impl<const N: usize> Rx<N> {
    /// Moves the waiting bytes to the start of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Handles the whole packets in RX, until one is partial, one waits for TX room, or a
    /// close is asked for.
    fn packets<const TX: usize>(&mut self, c: &mut Core<TX>, on: &mut dyn FnMut(Event<'_>)) {
        while c.link.is_some() && c.closing.is_none() {
            let waiting = self.buf.get(self.start..self.end).unwrap_or(&[]);
            let (kind, flags, body_at, len) = match parse_frame(waiting, MAX_REMAINING) {
                Err(e) => {
                    c.request_close(CloseReason::WkProtocol(WkProtocolError::Frame(e)));
                    return;
                }
                Ok(Status::Partial(Some(total))) if total > N => {
                    if self.start != 0 || self.end != N {
                        // Not full yet: its first N bytes are read before it is skipped.
                        return;
                    }
                    let (b0, lead) = match waiting {
                        [b0, lead @ ..] => (*b0, lead),
                        [] => return,
                    };
                    let body_at = match crate::wire::wukong::header::parse_length(lead) {
                        Ok(Status::Complete(_, used)) if b0 >> 4 == PacketType::Recv as u8 => {
                            1 + used
                        }
                        _ => {
                            // Only a RECV may be this large.
                            let e = FrameError::TooLarge { len: total, max: N };
                            c.request_close(CloseReason::WkProtocol(WkProtocolError::Frame(e)));
                            return;
                        }
                    };
                    let flags = b0 & 0x0f;
                    let prefix = waiting.get(body_at..).unwrap_or(&[]);
                    if c.too_large(flags, prefix, total, on) == Step::Blocked {
                        return;
                    }
                    self.skip = total - N;
                    self.start = 0;
                    self.end = 0;
                    continue;
                }
                Ok(Status::Partial(_)) => return,
                Ok(Status::Complete(frame, len)) => {
                    (frame.kind, frame.flags, len - frame.body.len(), len)
                }
            };
            let at = self.start;
            let Some(body) = self.buf.get_mut(at + body_at..at + len) else {
                return;
            };
            match c.packet(kind, flags, body, len, on) {
                Step::Done => {
                    self.start += len;
                    if self.start == self.end {
                        self.start = 0;
                        self.end = 0;
                    }
                }
                Step::Blocked => return,
            }
        }
    }
}

impl<const TX: usize> Core<TX> {
    /// The version in use and whether payloads are encrypted, once logged in.
    fn up(&self) -> Option<u8> {
        match self.link {
            Some(Link {
                state: State::Up { version, .. },
                ..
            }) => Some(version),
            _ => None,
        }
    }

    /// One whole packet.
    fn packet(
        &mut self,
        kind: PacketType,
        flags: u8,
        body: &mut [u8],
        len: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Step {
        let Some(version) = self.up() else {
            if kind == PacketType::Connack {
                self.connack(flags, body, on);
            } else {
                self.unexpected(kind);
            }
            return Step::Done;
        };
        match kind {
            PacketType::Recv => return self.recv(version, flags, body, len, on),
            PacketType::Pong | PacketType::Sendack | PacketType::Suback => {}
            // A server does not ping; answered anyway, when there is room.
            PacketType::Ping => {
                let _ = self.tx.push_array(packet::PONG);
            }
            PacketType::Disconnect => match packet::parse_disconnect(body) {
                Ok(d) => {
                    if d.reason_code == reason::CONNECT_KICK {
                        on(Event::Kickout);
                    }
                    self.request_close(CloseReason::WkDisconnected {
                        reason_code: d.reason_code,
                    });
                }
                Err(error) => self.malformed(kind, error),
            },
            PacketType::Event => match packet::parse_event(body) {
                Ok(e) => on(Event::PushEvent(PushEvent {
                    pid: 0,
                    event: e.kind,
                    uid: 0,
                    time: e.timestamp,
                    endpoint: e.id,
                    data: Some(e.data),
                })),
                Err(error) => self.malformed(kind, error),
            },
            PacketType::Connack
            | PacketType::Connect
            | PacketType::Send
            | PacketType::Recvack
            | PacketType::Sub => self.unexpected(kind),
        }
        Step::Done
    }

    fn unexpected(&mut self, kind: PacketType) {
        self.request_close(CloseReason::WkProtocol(WkProtocolError::Unexpected(kind)));
    }

    fn malformed(&mut self, packet: PacketType, error: crate::wire::wukong::ReadError) {
        self.request_close(CloseReason::WkProtocol(WkProtocolError::Malformed {
            packet,
            error,
        }));
    }

    /// The CONNACK: refused, or logged in (with the payload keys when the server encrypts).
    fn connack(&mut self, flags: u8, body: &[u8], on: &mut dyn FnMut(Event<'_>)) {
        let ack = match packet::parse_connack(flags, body, self.cfg.version) {
            Ok(a) => a,
            Err(error) => return self.malformed(PacketType::Connack, error),
        };
        if ack.reason_code != reason::SUCCESS {
            return self.request_close(CloseReason::WkRefused {
                reason_code: ack.reason_code,
            });
        }
        if !(packet::MIN_VERSION..=packet::MAX_VERSION).contains(&ack.version) {
            return self.unexpected(PacketType::Connack);
        }
        let Some(link) = self.link.as_mut() else {
            return;
        };
        #[cfg(feature = "wukong-encryption")]
        let keys = match &link.state {
            _ if ack.server_key.is_empty() => None,
            State::Login { key } => match key.derive(ack.server_key, ack.salt) {
                Ok(k) => Some(k),
                Err(e) => {
                    return self.request_close(CloseReason::WkProtocol(WkProtocolError::Keys(e)));
                }
            },
            State::Up { .. } => return,
        };
        #[cfg(not(feature = "wukong-encryption"))]
        if !ack.server_key.is_empty() {
            return self.request_close(CloseReason::WkProtocol(
                WkProtocolError::EncryptionNotCompiled,
            ));
        }
        link.state = State::Up {
            version: ack.version,
            since: self.now,
            #[cfg(feature = "wukong-encryption")]
            keys,
        };
        link.last_ping = self.now;
        let is_reconnect = self.stats.logins > 0;
        self.stats.logins += 1;
        self.failures = 0;
        info!("logged in to WuKongIM, version {}", ack.version);
        on(Event::Connected { is_reconnect });
    }

    /// The room a RECVACK needs at `version`.
    fn ack_room(&self, version: u8) -> bool {
        self.tx.room() >= packet::recvack_len(version)
    }

    /// Queues the RECVACK of a RECV (room was checked).
    fn ack(&mut self, version: u8, flags: u8, message_id: i64, message_seq: u64) {
        let queued = self.tx.push(|b| {
            packet::build_recvack(b, version, flags, message_id, message_seq).map_err(|_| {
                crate::wire::frame::BuildError::BufferTooSmall {
                    needed: packet::recvack_len(version),
                }
            })
        });
        if queued.is_ok() {
            self.stats.acks += 1;
        }
    }

    /// Reports a RECV that is not delivered, and acknowledges it when its ids are known and
    /// the configuration says so.
    fn reject(
        &mut self,
        ids: Option<(u8, u8, i64, u64)>,
        why: Reject,
        len: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) {
        self.stats.received += 1;
        self.stats.rejected += 1;
        warn!("RECV not delivered: {=str}", why.as_str());
        on(Event::BadPush {
            method: RECV,
            error: MessageError::WuKong {
                message_id: ids.map_or(0, |(_, _, id, _)| id),
                reason: why,
            },
            seq: None,
            len,
        });
        if let Some((version, flags, id, seq)) = ids
            && self.cfg.ack_rejected
        {
            self.ack(version, flags, id, seq);
        }
    }

    /// A packet larger than RX, seen through its first bytes (`prefix`, the body's start).
    fn too_large(
        &mut self,
        flags: u8,
        prefix: &[u8],
        total: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Step {
        let Some(version) = self.up() else {
            // Before the CONNACK only a CONNACK may come, and never this large.
            self.unexpected(PacketType::Recv);
            return Step::Done;
        };
        if !self.ack_room(version) {
            return Step::Blocked;
        }
        // The payload is the body's rest: the prefix reads as a RECV with a cut payload.
        let ids = packet::parse_recv(flags, prefix, version)
            .ok()
            .map(|r| (version, flags, r.message_id, r.message_seq));
        self.reject(ids, Reject::TooLarge, total, on);
        Step::Done
    }

    /// A RECV: checked, decrypted in place, mapped, filtered, delivered, acknowledged.
    fn recv(
        &mut self,
        version: u8,
        flags: u8,
        body: &mut [u8],
        len: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Step {
        if !self.ack_room(version) {
            return Step::Blocked;
        }
        let (ids, payload_at) = match packet::parse_recv(flags, body, version) {
            Ok(r) => {
                let ids = (version, flags, r.message_id, r.message_seq);
                let encrypted = r.setting & setting::NO_ENCRYPT == 0 && self.keys().is_some();
                if !encrypted {
                    // Plaintext: read once, delivered as read.
                    self.deliver(&r, ids, len, on);
                    return Step::Done;
                }
                #[cfg(feature = "wukong-encryption")]
                if !self.keys().is_some_and(|k| k.msg_key_matches(&r)) {
                    self.reject(Some(ids), Reject::MsgKeyMismatch, len, on);
                    return Step::Done;
                }
                (ids, body.len() - r.payload.len())
            }
            Err(e) => {
                self.reject(None, Reject::Malformed(e), len, on);
                return Step::Done;
            }
        };
        let (head, payload) = body.split_at_mut(payload_at);
        let plain: &[u8] = match self.decrypt(payload) {
            Ok(p) => p,
            Err(why) => {
                self.reject(Some(ids), why, len, on);
                return Step::Done;
            }
        };
        // The fields again, from the part before the payload (read above: cannot fail).
        let Ok(mut recv) = packet::parse_recv(flags, head, version) else {
            return Step::Done;
        };
        recv.payload = plain;
        self.deliver(&recv, ids, len, on);
        Step::Done
    }

    #[cfg(feature = "wukong-encryption")]
    fn keys(&self) -> Option<&crate::crypto::wukong::PayloadKeys> {
        match &self.link {
            Some(Link {
                state: State::Up { keys, .. },
                ..
            }) => keys.as_ref(),
            _ => None,
        }
    }

    #[cfg(not(feature = "wukong-encryption"))]
    fn keys(&self) -> Option<&()> {
        None
    }

    /// Decrypts a payload in place.
    #[cfg(feature = "wukong-encryption")]
    fn decrypt<'b>(&self, payload: &'b mut [u8]) -> Result<&'b [u8], Reject> {
        use crate::crypto::wukong::WkCryptoError as E;
        let Some(keys) = self.keys() else {
            return Ok(payload);
        };
        keys.decrypt_in_place(payload).map_err(|e| match e {
            E::BadBase64 => Reject::BadBase64,
            E::BadLength => Reject::BadLength,
            _ => Reject::BadPadding,
        })
    }

    #[cfg(not(feature = "wukong-encryption"))]
    fn decrypt<'b>(&self, payload: &'b mut [u8]) -> Result<&'b [u8], Reject> {
        Ok(payload)
    }

    /// A readable RECV with its plaintext payload: mapped onto the monitor's terms, filtered
    /// for duplicates, handed to the host, acknowledged.
    fn deliver(
        &mut self,
        recv: &Recv<'_>,
        ids: (u8, u8, i64, u64),
        len: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) {
        let (version, flags, message_id, message_seq) = ids;
        let target = match target(recv.channel_type, &self.cfg.rooms) {
            Some(t) => t,
            None if self.cfg.others_as_groups => Target::Group,
            None => return self.reject(Some(ids), Reject::ChannelType(recv.channel_type), len, on),
        };
        self.stats.received += 1;
        // Message ids are unique per server: the id alone is the key.
        let h = self.dedup.hash(&DedupKey {
            target: Target::Broadcast,
            from: 0,
            to: 0,
            mid: message_id,
        });
        if self.dedup.contains_hash(h, self.now) {
            self.stats.duplicates += 1;
            self.ack(version, flags, message_id, message_seq);
            return;
        }
        let content_type = content_type(recv.payload);
        let category: Category = category(content_type);
        let to = match target {
            Target::P2P => self.uid_number,
            _ => numeric_id(recv.channel_id).unwrap_or(0),
        };
        let message = Message {
            target,
            from: numeric_id(recv.from_uid).unwrap_or(0),
            to,
            mid: message_id,
            mtype: content_type.and_then(|t| i8::try_from(t).ok()).unwrap_or(0),
            msg: recv.payload,
            attrs: &[],
            mtime: i64::from(recv.timestamp).saturating_mul(1000),
        };
        let fields = WkFields {
            recv: *recv,
            content_type,
        };
        on(Event::Message(MessageEvent {
            message,
            category,
            callback: Callback::for_message(target, category),
            wukong: Some(&fields),
        }));
        self.dedup.insert_absent_hash(h, self.now);
        self.stats.delivered += 1;
        self.ack(version, flags, message_id, message_seq);
    }
}
