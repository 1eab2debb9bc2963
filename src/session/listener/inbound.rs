//! The inbound path: each received frame handled once, from its bytes to the host's callback
//! and the queued answer.
//!
//! A frame is read where it lies: in the caller's input when it arrived whole
//! ([`Listener::handle_input`]), else in the receive buffer. Its handling peeks it, checks
//! that its answer fits, decodes it, filters duplicates, hands the event to the host, then
//! queues the answer, records the message for duplicate detection and consumes the bytes. The
//! callback borrows the listener, so nothing can change between the event and its answer.

use super::{Core, Listener, on_answer};
use crate::rtm::answer::{
    CODE_UNKNOWN_ERROR, EMPTY_ANSWER_LEN, STATUS_ERROR, decode_answer, empty_answer,
};
use crate::rtm::field::MessageError;
use crate::rtm::push::{Message, Method, Push, decode_message_checked, decode_method};
#[cfg(not(rtm_opt_size))]
use crate::rtm::push::{decode_event_canonical, decode_message_canonical};
use crate::session::dedup::DedupKey;
use crate::session::event::{CloseReason, Completion, Event, LocalEvent, MessageEvent, code};
use crate::session::tx::TxQueue;
use crate::wire::frame::{Frame, FrameError, FrameKind, Payload, build_answer, whole_frame};
use crate::wire::msgpack::{Sink, Writer};

/// The callback as the inbound path takes it: the host's closure type in speed builds (the
/// path is compiled for each), one `dyn` type in size builds (one copy of the path for all).
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn callback<F: FnMut(Event<'_>)>(on: &mut F) -> &mut F {
    on
}

/// See above: the size build's one callback type.
#[cfg(rtm_opt_size)]
#[inline(always)]
fn callback<F: FnMut(Event<'_>)>(on: &mut F) -> &mut dyn FnMut(Event<'_>) {
    on
}

/// What handling a frame left to do.
enum Step {
    /// Handled: consume it.
    Done,
    /// No room for its answer in TX: leave it (and what follows) for later.
    Blocked,
}

impl<R: AsRef<[u8]> + AsMut<[u8]>, T: AsRef<[u8]> + AsMut<[u8]>> Listener<R, T> {
    /// Hands every event that is ready to `on`, in order: the listener's own (connection
    /// changes, completions, timeouts), then one per buffered frame. Call it after every other
    /// call (see the [module docs](crate::session)). Each event borrows the listener for the
    /// duration of the call; a push's answer is queued when `on` returns.
    pub fn poll_events<F: FnMut(Event<'_>)>(&mut self, mut on: F) {
        self.poll_with(callback(&mut on));
    }

    /// Takes received bytes, hands the events they complete to `on` (as
    /// [`Listener::poll_events`] does, which it calls first), and returns how many bytes were
    /// taken. Frames that arrived whole are handled where they lie, without a copy; the rest
    /// is copied into the receive buffer. Bytes not taken stay with the host: they could not
    /// be answered (TX full) or buffered; send [`Listener::transmit`] and offer them again.
    /// Returns 0 when not connected.
    pub fn handle_input<F: FnMut(Event<'_>)>(&mut self, now: u64, data: &[u8], mut on: F) -> usize {
        self.input_with(now, data, callback(&mut on))
    }

    fn input_with<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        now: u64,
        data: &[u8],
        on: &mut F,
    ) -> usize {
        self.advance(now);
        let Some(up) = &mut self.c.link else { return 0 };
        if self.c.closing {
            // The stream is unusable; swallow input until the host closes.
            return data.len();
        }
        if !data.is_empty() {
            up.last_rx = self.c.now;
        }
        let mut taken = 0;
        if self.rx.buffered() > 0 || self.rx.skipping() > 0 {
            // What is buffered comes first, and handling it makes room for `data`.
            self.poll_with(on);
        } else {
            // The listener's own events first.
            if !self.c.local.is_empty() {
                self.poll_with(on);
            }
            #[cfg(all(feature = "fpnn-encryption", not(rtm_opt_size)))]
            if self.opening() {
                return self.input_opened(data, on);
            }
            #[cfg(all(feature = "fpnn-encryption", rtm_opt_size))]
            let plain = !self.opening();
            #[cfg(not(all(feature = "fpnn-encryption", rtm_opt_size)))]
            let plain = true;
            if plain {
                // Frames that arrived whole are handled where they lie.
                taken = whole_frames(&mut self.c, data, self.rx.max_frame(), on);
            }
        }
        let rest = data.get(taken..).unwrap_or(&[]);
        if rest.is_empty() {
            self.pump();
            return taken;
        }
        let fed = self.feed(rest);
        self.poll_with(on);
        taken + fed
    }

    /// [`Listener::handle_input`] with encryption and nothing buffered: the bytes are opened
    /// into RX, whose free part is then the whole buffer, the whole frames among them are
    /// handled where they lie (as plaintext input is), and only what follows them stays
    /// buffered. Out of line, so that the plaintext path stays as it is.
    #[cfg(all(feature = "fpnn-encryption", not(rtm_opt_size)))]
    #[inline(never)]
    fn input_opened<F: FnMut(Event<'_>) + ?Sized>(&mut self, data: &[u8], on: &mut F) -> usize {
        let Self {
            rx,
            c,
            opener,
            open_error,
            ..
        } = self;
        let max = rx.max_frame();
        let window = rx.window();
        let n = window.len().min(data.len());
        if open_error.is_full() {
            // The stream is unusable: nothing more is read from it (as `feed`).
            return n;
        }
        let Some(opener) = opener.get_mut() else {
            return 0;
        };
        let (m, error) = opener.open_from(data.get(..n).unwrap_or_default(), window);
        if let Some(e) = error {
            // Reported once the frames before it were handled (by `poll_with`).
            *open_error = super::super::encryption::Slot::Full(e);
        }
        let taken = whole_frames(c, window.get(..m).unwrap_or_default(), max, on);
        rx.commit(m);
        rx.consume(taken);
        if rx.buffered() > 0 || open_error.is_full() || !c.local.is_empty() {
            self.poll_with(on);
        } else {
            self.pump();
        }
        n
    }

    fn poll_with<F: FnMut(Event<'_>) + ?Sized>(&mut self, on: &mut F) {
        while let Some(e) = self.c.local.pop_front() {
            on(e.into_event());
        }
        let blocked = self.rx.buffered() > 0 && self.c.usable() && self.buffered_frames(on);
        #[cfg(feature = "fpnn-encryption")]
        if let Some(&e) = self.open_error.get()
            && self.c.usable()
            && !blocked
        {
            // Only once the whole frames before it were handled (they may wait for TX room);
            // what is left in RX is the broken package's opened start, never a whole frame.
            self.c.close(e, on);
        }
        #[cfg(not(feature = "fpnn-encryption"))]
        let _ = blocked;
        self.pump();
    }

    /// Handles the frames in the receive buffer, one at a time. Returns whether a frame waits
    /// for TX room (otherwise no whole frame is left, or a close was asked for).
    fn buffered_frames<F: FnMut(Event<'_>) + ?Sized>(&mut self, on: &mut F) -> bool {
        let Self { rx, c, .. } = self;
        loop {
            let (step, len, oversized) = match rx.peek_at(0) {
                Ok(Some((frame, len))) => (c.frame(frame, len, false, on), len, false),
                Ok(None) => return false,
                Err(FrameError::TooLarge { .. }) => {
                    // Too large for RX: its head stands for it (an answer without payload, a
                    // quest reported as too large), and the frame is skipped as it streams in.
                    // Over 8 MiB, `head_at` gives the error.
                    let head = match rx.head_at(0) {
                        Ok(Some(h)) => h,
                        Ok(None) => return false,
                        Err(e) => {
                            c.close(e, on);
                            return false;
                        }
                    };
                    let frame = match (head.kind, head.seq) {
                        (FrameKind::Answer, Some(seq)) => Frame::Answer {
                            seq,
                            status: head.status,
                            payload: &[],
                        },
                        (_, seq) => Frame::Quest {
                            seq,
                            method: head.method,
                            payload: &[],
                        },
                    };
                    let len = head.len;
                    (c.frame(frame, len, true, on), len, true)
                }
                Err(e) => {
                    c.close(e, on);
                    return false;
                }
            };
            match step {
                Step::Done if oversized => rx.skip_at(0, len),
                Step::Done => rx.consume(len),
                Step::Blocked => return true,
            }
            if c.closing {
                // A close was asked for (a refused key exchange): nothing more is read.
                return false;
            }
        }
    }
}

/// Handles the whole frames (of at most `max` bytes) at the start of `data` where they lie, until a partial or invalid
/// frame (left for the receive buffer's exact reader), one blocked on TX room, or a close
/// request; returns the bytes they took.
#[inline(always)]
fn whole_frames<T, F>(c: &mut Core<T>, data: &[u8], max: usize, on: &mut F) -> usize
where
    T: AsRef<[u8]> + AsMut<[u8]>,
    F: FnMut(Event<'_>) + ?Sized,
{
    let mut taken = 0;
    while let Some(rest) = data.get(taken..)
        && !rest.is_empty()
        && !c.closing
        && let Some((frame, len)) = whole_frame(rest, max)
    {
        match c.frame(frame, len, false, on) {
            Step::Done => taken += len,
            Step::Blocked => break,
        }
    }
    taken
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Core<T> {
    /// A protocol error: the stream cannot be read on.
    fn close<F: FnMut(Event<'_>) + ?Sized>(&mut self, e: FrameError, on: &mut F) {
        warn!(
            "protocol error, asking the host to close: {=str}",
            e.as_str()
        );
        self.closing = self.link.is_some();
        on(Event::CloseRequested(CloseReason::Protocol(e)));
    }

    /// Handles one frame of `len` bytes (`oversized`: too large for RX, only its head is
    /// known and its payload is empty here).
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn frame<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        frame: Frame<'_>,
        len: usize,
        oversized: bool,
        on: &mut F,
    ) -> Step {
        match frame {
            Frame::Quest {
                seq,
                method,
                payload,
            } => {
                let error = match Method::parse(method) {
                    _ if oversized => MessageError::FrameTooLarge,
                    // Messages, the common case, go straight from the decoder to the event.
                    Some(m) => match m.target() {
                        Some(target) => {
                            // The fast decoder's message goes to its own call, not through a
                            // `Result` shared with the exact decoder's: it stays in registers.
                            #[cfg(not(rtm_opt_size))]
                            if let Some(message) = decode_message_canonical(target, payload) {
                                return self.message(message, seq, on);
                            }
                            match decode_message_checked(target, payload) {
                                Ok(message) => return self.message(message, seq, on),
                                Err(e) => e,
                            }
                        }
                        None => {
                            // The server's `pushevent` and `ping` layouts, likewise.
                            #[cfg(not(rtm_opt_size))]
                            match m {
                                Method::PushEvent => {
                                    if let Some(e) = decode_event_canonical(payload) {
                                        return self.deliver(Event::PushEvent(e), seq, on);
                                    }
                                }
                                Method::Ping if matches!(payload, [] | [0x80]) => {
                                    return self.deliver(Event::Ping, seq, on);
                                }
                                _ => {}
                            }
                            match decode_method(m, payload) {
                                Ok(push) => return self.push(push, seq, on),
                                Err(e) => e,
                            }
                        }
                    },
                    None => MessageError::UnknownMethod,
                };
                self.bad_push(method, error, seq, len, on)
            }
            Frame::Answer {
                seq,
                status,
                payload,
            } => {
                self.answer(seq, status, payload, on);
                Step::Done
            }
        }
    }

    /// A message push: filtered for duplicates, handed to the host, answered and recorded.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn message<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        m: Message<'_>,
        seq: Option<u32>,
        on: &mut F,
    ) -> Step {
        if seq.is_some() && no_room_for_answer(&self.tx) {
            return Step::Blocked;
        }
        let h = self.dedup.hash(&dedup_key(&m));
        // Built before the lookup, where the decoder left the fields, so that the event is
        // written once, in place, rather than moved.
        let event = Event::Message(message_event(m));
        if self.dedup.contains_hash(h, self.now) {
            self.answer_push(seq);
            self.stats.duplicates += 1;
            return Step::Done;
        }
        self.stats.pushes += 1;
        on(event);
        // The host has seen it: answer and remember it (room was checked above, and `on`
        // cannot reach the listener).
        self.answer_push(seq);
        self.dedup.insert_absent_hash(h, self.now);
        Step::Done
    }

    /// A decoded push.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn push<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        push: Push<'_>,
        seq: Option<u32>,
        on: &mut F,
    ) -> Step {
        let event = match push {
            Push::Message(m) => return self.message(m, seq, on),
            Push::Event(e) => Event::PushEvent(e),
            Push::Ping => Event::Ping,
            Push::Kickout => Event::Kickout,
            Push::KickoutRoom { rid } => Event::KickoutRoom { rid },
        };
        self.deliver(event, seq, on)
    }

    /// A push other than a message (never filtered for duplicates): handed to the host, then
    /// answered.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn deliver<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        event: Event<'_>,
        seq: Option<u32>,
        on: &mut F,
    ) -> Step {
        if seq.is_some() && no_room_for_answer(&self.tx) {
            return Step::Blocked;
        }
        self.stats.pushes += 1;
        on(event);
        self.answer_push(seq);
        Step::Done
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn answer_push(&mut self, seq: Option<u32>) {
        if let Some(seq) = seq {
            let _ = self.tx.push_array(empty_answer(seq));
        }
    }

    fn bad_push<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        method: &[u8],
        error: MessageError,
        seq: Option<u32>,
        len: usize,
        on: &mut F,
    ) -> Step {
        if let Some(seq) = seq {
            let answer = ErrorAnswer::for_push(method, error);
            if self
                .tx
                .push(|b| build_answer(b, seq, STATUS_ERROR, &answer))
                .is_err()
            {
                return Step::Blocked;
            }
        }
        self.stats.bad_pushes += 1;
        self.stats.oversized += u64::from(error == MessageError::FrameTooLarge);
        let [a, b, c] = error.text();
        warn!("bad push: {=str}{=str}{=str}", a, b, c);
        on(Event::BadPush {
            method,
            error,
            seq,
            len,
        });
        Step::Done
    }

    /// An answer: to the `*ping`, to the listen quest in flight (its completions go to the
    /// host now, the first with the server's text), or late (dropped).
    fn answer<F: FnMut(Event<'_>) + ?Sized>(
        &mut self,
        seq: u32,
        status: u8,
        payload: &[u8],
        on: &mut F,
    ) {
        let (code, ex) = match decode_answer(status, payload) {
            Ok(a) => (a.code, a.ex),
            Err(_) if status == 0 => (code::OK, &[][..]),
            Err(_) => (CODE_UNKNOWN_ERROR, &[][..]),
        };
        let outcome = match self.link.as_mut() {
            Some(up) if up.ping_seq != 0 && up.ping_seq == seq => {
                up.ping_seq = 0;
                None
            }
            Some(up) if up.key_seq != 0 && up.key_seq == seq => {
                // The key exchange's answer: the listens may go now, or the connection ends.
                up.key_seq = 0;
                if code == code::OK {
                    info!("key exchange done");
                    self.stats.key_exchanges += 1;
                    self.unsent = true;
                } else {
                    warn!("the server refused the key exchange with {}", code);
                    self.stats.key_exchange_failures += 1;
                    self.closing = true;
                    on(Event::CloseRequested(CloseReason::KeyExchange { code }));
                }
                return;
            }
            _ => self.sync.answered(seq, code),
        };
        let Some(outcome) = outcome else { return };
        self.unsent = true;
        on_answer(
            &mut self.pending,
            &mut self.sync,
            &mut self.local,
            &mut self.stats,
            outcome,
        );
        let mut ex = ex;
        while let Some(e) = self.local.pop_front() {
            on(match e {
                LocalEvent::Completed { request, code } => Event::Completed(Completion {
                    request,
                    code,
                    ex: core::mem::take(&mut ex),
                }),
                other => other.into_event(),
            });
        }
    }
}

/// A `{code, ex}` error answer whose `ex` is the concatenation of three parts: for an unknown
/// method `Unknown method: NAME` (code 20004), for a push that could not be decoded the
/// error's text ([`MessageError::text`]) with its FPNN code. One payload type for both keeps
/// one copy of the answer builder.
struct ErrorAnswer<'m> {
    code: i64,
    ex: [&'m [u8]; 3],
}

impl<'m> ErrorAnswer<'m> {
    fn for_push(method: &'m [u8], error: MessageError) -> Self {
        match error {
            MessageError::UnknownMethod => Self {
                code: crate::rtm::answer::CODE_UNKNOWN_METHOD,
                ex: [b"Unknown method: ", method, b""],
            },
            _ => {
                let [a, b, c] = error.text();
                Self {
                    code: error.fpnn_code(),
                    ex: [a.as_bytes(), b.as_bytes(), c.as_bytes()],
                }
            }
        }
    }
}

impl Payload for ErrorAnswer<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(2);
        w.str(b"code");
        w.int(self.code);
        w.str(b"ex");
        // One str header for the concatenation, then its parts.
        w.str_header(self.ex.iter().map(|p| p.len()).sum());
        for part in self.ex {
            w.raw(part);
        }
    }
}

/// Whether TX has no room for a push's answer: one compare in speed builds
/// ([`TxQueue::fits`]); size builds keep [`TxQueue::room`]'s code.
#[inline(always)]
fn no_room_for_answer<T: AsRef<[u8]> + AsMut<[u8]>>(tx: &TxQueue<T>) -> bool {
    #[cfg(not(rtm_opt_size))]
    let no_room = !tx.fits(EMPTY_ANSWER_LEN);
    #[cfg(rtm_opt_size)]
    let no_room = tx.room() < EMPTY_ANSWER_LEN;
    no_room
}

fn dedup_key(m: &Message<'_>) -> DedupKey {
    DedupKey {
        target: m.target,
        from: m.from,
        to: m.to,
        mid: m.mid,
    }
}

fn message_event(m: Message<'_>) -> MessageEvent<'_> {
    let category = m.category();
    MessageEvent {
        message: m,
        category,
        callback: crate::rtm::dispatch::Callback::for_message(m.target, category),
        #[cfg(feature = "wukong")]
        wukong: None,
    }
}
