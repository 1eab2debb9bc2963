//! The sans-IO listener: input in; events, transmits and deadlines out; time passed in.
//!
//! See the [module docs](super) for the driving contract.

use heapless::Deque;

use super::backoff::Backoff;
use super::dedup::{Dedup, DedupKey};
use super::event::{CloseReason, Completion, Event, LocalEvent, MessageEvent, RequestId, code};
use super::ids::{IdArena, IdKind, IdSet, Run, SortedIds, event_bit, event_names};
use super::tx::TxQueue;
use crate::config::{DEFAULT_RX, DEFAULT_TX, LISTEN_IDS, PENDING_QUESTS};
use crate::rtm::answer::{
    CODE_UNKNOWN_ERROR, EMPTY_ANSWER_LEN, STATUS_ERROR, build_empty_answer, decode_answer,
};
use crate::rtm::field::MessageError;
use crate::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen, build_ping,
    build_set_flags,
};
use crate::rtm::push::{Message, Method, Push, decode_method};
use crate::wire::frame::{BuildError, Frame, FrameError, Payload, build_answer};
use crate::wire::frame_reader::FrameReader;
use crate::wire::msgpack::{Sink, Writer};

/// Longest project secret the listener stores.
pub const MAX_SECRET: usize = 64;
/// Room for events that carry no frame data (completions, connection changes).
const LOCAL_EVENTS: usize = PENDING_QUESTS + 8;

/// Timing parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// How long a quest may wait for its answer (default 30 s).
    pub quest_timeout_ms: u64,
    /// Send `*ping` after this long without receiving (default 20 s).
    pub ping_interval_ms: u64,
    /// How long a push is remembered for duplicate detection (default 300 s).
    pub dedup_ttl_ms: u64,
    /// Reconnect advice.
    pub backoff: Backoff,
}

impl Config {
    /// The defaults of reference §3, §8 and §9.
    pub const DEFAULT: Self = Self {
        quest_timeout_ms: 30_000,
        ping_interval_ms: 20_000,
        dedup_ttl_ms: 300_000,
        backoff: Backoff::DEFAULT,
    };

    /// Silence after which the link is declared dead: `3 × quest timeout + ping interval`.
    pub fn dead_after_ms(&self) -> u64 {
        self.quest_timeout_ms
            .saturating_mul(3)
            .saturating_add(self.ping_interval_ms)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a listener could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// The secret is longer than [`MAX_SECRET`].
    SecretTooLong,
    /// The TX buffer cannot hold the largest listen quest, or RX cannot hold a useful frame.
    BufferTooSmall,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::SecretTooLong => f.write_str("secret longer than 64 bytes"),
            Self::BufferTooSmall => f.write_str("RX or TX buffer too small"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// Why a listen command was refused. Nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CommandError {
    /// All [`PENDING_QUESTS`] slots hold commands awaiting answers.
    TooManyPending,
    /// The listen state (or the ids held by pending commands) would exceed [`LISTEN_IDS`].
    TooManyIds,
    /// An event name other than `login` or `logout`.
    UnsupportedEvent,
    /// The quest would not fit in the TX buffer.
    TooLarge,
}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooManyPending => f.write_str("too many pending quests"),
            Self::TooManyIds => f.write_str("too many listen ids"),
            Self::UnsupportedEvent => f.write_str("unsupported event (only login, logout)"),
            Self::TooLarge => f.write_str("quest larger than the TX buffer"),
        }
    }
}

impl core::error::Error for CommandError {}

/// The listen state the server has confirmed.
#[derive(Debug, Clone, Copy)]
pub struct ListenView<'a> {
    /// Ids by kind.
    pub ids: SortedIds<'a>,
    /// Event names.
    pub events: ([&'static str; 2], usize),
    /// The "all" flags.
    pub flags: ListenFlags,
}

impl ListenView<'_> {
    /// The event names as a slice.
    pub fn event_names(&self) -> &[&'static str] {
        &self.events.0[..self.events.1]
    }
}

#[derive(Debug, Clone)]
struct ListenState {
    ids: IdSet,
    events: u8,
    flags: ListenFlags,
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Listen { op: ListenOp, run: Run, events: u8 },
    Flags(ListenFlags),
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    request: RequestId,
    command: Command,
    /// `None` until sent.
    seq: Option<u32>,
    deadline: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RestoreKind {
    Flags,
    Ids,
}

#[derive(Debug, Clone, Copy)]
struct RestoreQuest {
    kind: RestoreKind,
    seq: Option<u32>,
    deadline: u64,
}

/// A listen quest to send: a queued command, or a restoration of the confirmed state.
#[derive(Debug, Clone, Copy)]
enum Outgoing {
    Command(Command),
    Restore(RestoreKind),
}

/// What an outgoing quest carries.
enum Body<'a> {
    Flags(ListenFlags),
    Ids(ListenOp, SortedIds<'a>, u8),
}

/// The frame behind the last event: consumed, answered and remembered on the next call.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    consume: usize,
    answer: Option<u32>,
    /// The duplicate filter's hash of the message's [`DedupKey`].
    dedup: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Up {
    since: u64,
    last_rx: u64,
    /// Seq and send time of the outstanding `*ping`.
    ping: Option<(u32, u64)>,
    close_requested: bool,
}

/// Counters for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Push events handed to the host.
    pub pushes: u64,
    /// Duplicate pushes answered and dropped.
    pub duplicates: u64,
    /// Pushes that could not be decoded or had an unknown method.
    pub bad_pushes: u64,
    /// `*ping` quests sent.
    pub pings: u64,
}

enum Found<'a> {
    Push {
        push: Push<'a>,
        seq: Option<u32>,
        /// For a message, the duplicate filter's hash of its key.
        dedup: Option<u64>,
    },
    Completed(Completion<'a>),
    Restored(i64),
    Bad {
        method: &'a [u8],
        error: MessageError,
    },
    Close(FrameError),
}

/// The listener. `RX` is the receive buffer (the largest frame accepted) and `TX` the transmit
/// buffer; the other capacities are in [`crate::config`].
#[derive(Debug)]
pub struct Listener<const RX: usize = DEFAULT_RX, const TX: usize = DEFAULT_TX> {
    cfg: Config,
    pid: u32,
    secret: [u8; MAX_SECRET],
    secret_len: usize,
    rx: FrameReader<[u8; RX]>,
    tx: TxQueue<TX>,
    link: Option<Up>,
    now: u64,
    unix_offset: i64,
    seq: u32,
    salts: super::salt::SaltGen,
    next_request: u32,
    pending: [Option<Pending>; PENDING_QUESTS],
    restore: [Option<RestoreQuest>; 2],
    restore_code: i64,
    state: ListenState,
    arena: IdArena,
    dedup: Dedup,
    failures: u32,
    reconnect_at: Option<u64>,
    connections: u32,
    local: Deque<LocalEvent, LOCAL_EVENTS>,
    in_flight: Option<InFlight>,
    deferred_consume: usize,
    stats: Stats,
    /// Whether a restoration quest or a command may still be waiting to be sent: set when
    /// one is queued, cleared by [`Listener::pump`] once nothing is left, so the pump costs
    /// one test on the per-push path.
    unsent: bool,
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
    }
}

/// Applies a confirmed command to the listen state.
fn apply(state: &mut ListenState, arena: &IdArena, command: Command) {
    match command {
        Command::Flags(flags) => state.flags = flags,
        Command::Listen { op, run, events } => {
            let ids = arena.view(run);
            match op {
                ListenOp::Add => {
                    for (k, id) in ids.iter() {
                        // Capacity was reserved when the command was accepted.
                        let _ = state.ids.insert(k, id);
                    }
                    state.events |= events;
                }
                ListenOp::Remove => {
                    for (k, id) in ids.iter() {
                        state.ids.remove(k, id);
                    }
                    state.events &= !events;
                }
                ListenOp::Set => {
                    state.ids.clear();
                    for (k, id) in ids.iter() {
                        let _ = state.ids.insert(k, id);
                    }
                    state.events = events;
                }
            }
        }
    }
}

/// Frees a command's ids and moves the runs of later commands down.
fn release(arena: &mut IdArena, pending: &mut [Option<Pending>], command: Command) {
    if let Command::Listen { run, .. } = command {
        arena.remove(run);
        for p in pending.iter_mut().flatten() {
            if let Command::Listen { run: r, .. } = &mut p.command {
                *r = r.shifted_after(run);
            }
        }
    }
}

impl<const RX: usize, const TX: usize> Listener<RX, TX> {
    /// Creates a listener for project `creds.pid`. `entropy` seeds the salts and the duplicate
    /// filter's hash; pass a few random bytes from the host.
    ///
    /// The secret is copied and never logged.
    pub fn new(cfg: Config, creds: Credentials<'_>, entropy: u64) -> Result<Self, ConfigError> {
        if creds.secret.len() > MAX_SECRET {
            return Err(ConfigError::SecretTooLong);
        }
        if TX < 768 || RX < 64 {
            return Err(ConfigError::BufferTooSmall);
        }
        let mut secret = [0u8; MAX_SECRET];
        secret[..creds.secret.len()].copy_from_slice(creds.secret);
        Ok(Self {
            cfg,
            pid: creds.pid,
            secret,
            secret_len: creds.secret.len(),
            rx: FrameReader::new([0; RX], RX),
            tx: TxQueue::new(),
            link: None,
            now: 0,
            unix_offset: 0,
            seq: 0,
            salts: super::salt::SaltGen::new(entropy),
            next_request: 0,
            pending: [None; PENDING_QUESTS],
            restore: [None; 2],
            restore_code: 0,
            state: ListenState {
                ids: IdSet::new(),
                events: 0,
                flags: ListenFlags::default(),
            },
            arena: IdArena::new(),
            dedup: Dedup::new(entropy.rotate_left(17) ^ 0x5bd1_e995, cfg.dedup_ttl_ms),
            failures: 0,
            reconnect_at: None,
            connections: 0,
            local: Deque::new(),
            in_flight: None,
            deferred_consume: 0,
            stats: Stats::default(),
            unsent: false,
        })
    }

    fn creds(&self) -> Credentials<'_> {
        Credentials {
            pid: self.pid,
            secret: &self.secret[..self.secret_len],
        }
    }

    fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// Tells the listener the Unix time (ms) that corresponds to the monotonic `now`. Quests are
    /// signed with this clock, so set it before connecting and whenever the host's wall clock
    /// is adjusted.
    pub fn set_unix_time(&mut self, now: u64, unix_ms: i64) {
        self.advance(now);
        self.unix_offset = unix_ms.saturating_sub(i64::try_from(now).unwrap_or(i64::MAX));
    }

    fn unix_ms(&self) -> i64 {
        i64::try_from(self.now)
            .unwrap_or(i64::MAX)
            .saturating_add(self.unix_offset)
    }

    fn local(&mut self, e: LocalEvent) {
        // LOCAL_EVENTS exceeds the most that can be queued between two polls (one completion
        // per pending slot plus connection changes), so this cannot overflow; if it ever
        // did, dropping a diagnostic is preferable to a panic.
        let _ = self.local.push_back(e);
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        self.link.is_some()
    }

    /// Whether the listener has asked the host to close the connection.
    pub fn wants_close(&self) -> bool {
        matches!(
            self.link,
            Some(Up {
                close_requested: true,
                ..
            })
        )
    }

    /// Diagnostic counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The listen state confirmed by the server.
    pub fn listen_state(&self) -> ListenView<'_> {
        ListenView {
            ids: self.state.ids.view(),
            events: event_names(self.state.events),
            flags: self.state.flags,
        }
    }

    /// Commands not yet completed.
    pub fn pending_commands(&self) -> usize {
        self.pending.iter().flatten().count()
    }

    /// Finishes the frame behind the previous event: writes its answer (space was reserved),
    /// remembers it for duplicate detection, consumes it. Then sends what is waiting.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn settle(&mut self) {
        // Called on every entry point: the common "nothing to do" is a few tests inline.
        if self.in_flight.is_some() || self.deferred_consume > 0 || self.unsent {
            self.settle_pending();
        }
    }

    fn settle_pending(&mut self) {
        if let Some(f) = self.in_flight.take() {
            if let Some(seq) = f.answer {
                self.tx.unreserve(EMPTY_ANSWER_LEN);
                let _ = self.tx.push(|b| build_empty_answer(b, seq));
            }
            if let Some(h) = f.dedup {
                // `frame_event` found it absent, and nothing was recorded since.
                self.dedup.insert_absent_hash(h, self.now);
            }
            self.rx.consume(f.consume);
        }
        if self.deferred_consume > 0 {
            self.rx.consume(self.deferred_consume);
            self.deferred_consume = 0;
        }
        self.pump();
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    fn quest_ids(&mut self) -> QuestIds {
        let unix_ms = self.unix_ms();
        QuestIds {
            seq: self.next_seq(),
            salt: self.salts.next(unix_ms),
            ts: crate::arith::ms_to_s(unix_ms),
        }
    }

    /// Writes one listen quest into TX: a command's own ids and flags, or, for a restoration,
    /// the confirmed state. On `BufferTooSmall` the seq is not used up.
    fn send(&mut self, what: Outgoing) -> Result<u32, BuildError> {
        let q = self.quest_ids();
        let creds = Credentials {
            pid: self.pid,
            secret: &self.secret[..self.secret_len],
        };
        let body = match what {
            Outgoing::Command(Command::Flags(flags)) => Body::Flags(flags),
            Outgoing::Restore(RestoreKind::Flags) => Body::Flags(self.state.flags),
            Outgoing::Command(Command::Listen { op, run, events }) => {
                Body::Ids(op, self.arena.view(run), events)
            }
            Outgoing::Restore(RestoreKind::Ids) => {
                Body::Ids(ListenOp::Set, self.state.ids.view(), self.state.events)
            }
        };
        let tx = &mut self.tx;
        let res = match body {
            Body::Flags(flags) => tx.push(|b| build_set_flags(b, &creds, q, flags)),
            Body::Ids(op, view, events) => {
                let (names, n) = event_names(events);
                let ids = ListenIds {
                    gids: view.of(IdKind::Group),
                    rids: view.of(IdKind::Room),
                    uids: view.of(IdKind::User),
                    events: &names[..n],
                };
                tx.push(|b| build_listen(b, &creds, q, op, &ids))
            }
        };
        match res {
            Ok(_) => Ok(q.seq),
            Err(e) => {
                self.seq = self.seq.wrapping_sub(1);
                Err(e)
            }
        }
    }

    /// Sends what is waiting, in order: restoration quests first, then commands (which wait
    /// until the restoration is answered).
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn pump(&mut self) {
        if self.unsent {
            self.pump_unsent();
        }
    }

    fn pump_unsent(&mut self) {
        if !matches!(
            self.link,
            Some(Up {
                close_requested: false,
                ..
            })
        ) {
            return;
        }
        for i in 0..self.restore.len() {
            if let Some(r) = self.restore[i]
                && r.seq.is_none()
            {
                match self.send(Outgoing::Restore(r.kind)) {
                    Ok(seq) => {
                        self.restore[i] = Some(RestoreQuest {
                            seq: Some(seq),
                            ..r
                        })
                    }
                    Err(_) => return,
                }
            }
        }
        if self.restore.iter().any(Option::is_some) {
            return;
        }
        loop {
            let next = self
                .pending
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.filter(|p| p.seq.is_none()).map(|p| (i, p)))
                .min_by_key(|(_, p)| p.request);
            let Some((i, p)) = next else {
                // Nothing unsent is left until the next command or connection.
                self.unsent = false;
                return;
            };
            match self.send(Outgoing::Command(p.command)) {
                Ok(seq) => {
                    self.pending[i] = Some(Pending {
                        seq: Some(seq),
                        ..p
                    })
                }
                Err(_) => return,
            }
        }
    }

    /// The host connected the transport. Listen state is restored (flags, then ids) before any
    /// command queued meanwhile is sent.
    pub fn connected(&mut self, now: u64) {
        self.settle();
        self.advance(now);
        if self.link.is_some() {
            // A new connection without a close of the old one: close it first, so that its
            // quests complete with 20002 and the monitor sees `closed` before `connected`.
            self.closed(now, false);
        }
        self.connections = self.connections.saturating_add(1);
        let is_reconnect = self.connections > 1;
        self.link = Some(Up {
            since: self.now,
            last_rx: self.now,
            ping: None,
            close_requested: false,
        });
        self.rx.reset();
        self.tx.clear();
        self.in_flight = None;
        self.deferred_consume = 0;
        self.reconnect_at = None;
        self.restore_code = code::OK;
        let deadline = self.now.saturating_add(self.cfg.quest_timeout_ms);
        let flags = self.state.flags.any().then_some(RestoreKind::Flags);
        let ids =
            (!self.state.ids.is_empty() || self.state.events != 0).then_some(RestoreKind::Ids);
        self.restore = [flags, ids].map(|k| {
            k.map(|kind| RestoreQuest {
                kind,
                seq: None,
                deadline,
            })
        });
        self.unsent = true;
        info!("connected (reconnect: {})", is_reconnect);
        self.local(LocalEvent::Connected { is_reconnect });
        self.pump();
    }

    /// Counts a failure and schedules the next attempt after the back-off; returns the delay.
    fn schedule_reconnect(&mut self) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let delay = self.cfg.backoff.delay_ms(self.failures);
        self.reconnect_at = Some(self.now.saturating_add(delay));
        delay
    }

    /// A connection attempt failed; the back-off advances.
    pub fn connect_failed(&mut self, now: u64) {
        self.settle();
        self.advance(now);
        self.schedule_reconnect();
        warn!("connection attempt {} failed", self.failures);
        self.local(LocalEvent::ConnectFailed {
            is_reconnect: self.connections > 0,
        });
    }

    /// The connection closed (by the peer, an error, or the host). Sent quests complete with
    /// 20002; unsent commands wait for the next connection.
    pub fn closed(&mut self, now: u64, by_error: bool) {
        self.settle();
        self.advance(now);
        let Some(up) = self.link.take() else { return };
        self.rx.reset();
        self.tx.clear();
        self.in_flight = None;
        self.deferred_consume = 0;
        for i in 0..self.pending.len() {
            if let Some(p) = self.pending[i]
                && p.seq.is_some()
            {
                self.pending[i] = None;
                release(&mut self.arena, &mut self.pending, p.command);
                self.local(LocalEvent::Completed {
                    request: p.request,
                    code: code::CONNECTION_CLOSED,
                });
            }
        }
        if self.restore.iter().any(Option::is_some) {
            self.restore = [None; 2];
            self.local(LocalEvent::Restored {
                code: code::CONNECTION_CLOSED,
            });
        }
        if self.now.saturating_sub(up.since) >= self.cfg.backoff.failed_window_ms {
            self.failures = 0;
        }
        let delay = self.schedule_reconnect();
        info!("closed (by error: {}); reconnect in {} ms", by_error, delay);
        self.local(LocalEvent::Closed {
            by_error,
            is_reconnect: self.connections > 1,
        });
    }

    /// When the host should try to connect again (set after a close or a failed attempt).
    pub fn reconnect_at(&self) -> Option<u64> {
        self.reconnect_at
    }

    /// Copies received bytes in and returns how many were taken. Bytes that do not fit stay
    /// with the host: call [`Listener::poll_event`] (and drain transmits) to make room.
    /// Returns 0 when not connected.
    pub fn handle_input(&mut self, now: u64, data: &[u8]) -> usize {
        self.settle();
        self.advance(now);
        let Some(up) = &mut self.link else { return 0 };
        if up.close_requested {
            // The stream is unusable; swallow input until the host closes.
            return data.len();
        }
        let n = self.rx.feed(data);
        if n > 0 {
            up.last_rx = self.now;
        }
        n
    }

    /// The free part of the receive buffer, for transports that read in place. Follow with
    /// [`Listener::commit_input`].
    pub fn input_window(&mut self) -> &mut [u8] {
        self.settle();
        self.rx.window()
    }

    /// Marks `n` bytes of the last [`Listener::input_window`] as received.
    pub fn commit_input(&mut self, now: u64, n: usize) {
        self.advance(now);
        if let Some(up) = &mut self.link
            && n > 0
        {
            up.last_rx = self.now;
            self.rx.commit(n);
        }
    }

    /// Bytes to send. They stay here until [`Listener::consume_transmit`] says the transport
    /// took them.
    pub fn transmit(&self) -> &[u8] {
        self.tx.data()
    }

    /// The transport accepted `n` bytes of [`Listener::transmit`].
    pub fn consume_transmit(&mut self, n: usize) {
        self.settle();
        self.tx.consume(n);
        self.pump();
    }

    /// The earliest time [`Listener::handle_timeout`] has work to do, if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        // A running minimum rather than `chain(..).min()`: 120 bytes less flash on a Cortex-M4
        // (crates/firmware/BUDGETS.md), and no memcheck report on `None` slots' payloads.
        let mut next: Option<u64> = None;
        let mut earliest = |t: u64| next = Some(next.map_or(t, |n| n.min(t)));
        for p in self.pending.iter().flatten() {
            earliest(p.deadline);
        }
        for r in self.restore.iter().flatten() {
            earliest(r.deadline);
        }
        let link = match self.link {
            Some(up) if !up.close_requested => {
                let mut ping = up.last_rx.saturating_add(self.cfg.ping_interval_ms);
                if let Some((_, sent)) = up.ping {
                    ping = ping.max(sent.saturating_add(self.cfg.quest_timeout_ms));
                }
                let dead = up
                    .last_rx
                    .saturating_add(self.cfg.dead_after_ms())
                    .saturating_add(1);
                Some(ping.min(dead))
            }
            _ => None,
        };
        if let Some(t) = link {
            earliest(t);
        }
        next
    }

    /// Runs the timers due at `now`. Calling it early or spuriously is harmless.
    pub fn handle_timeout(&mut self, now: u64) {
        self.settle();
        self.advance(now);
        let now = self.now;
        for i in 0..self.pending.len() {
            if let Some(p) = self.pending[i]
                && p.deadline <= now
            {
                self.pending[i] = None;
                release(&mut self.arena, &mut self.pending, p.command);
                // Sent, or waiting for transmit room on a live connection: a timeout. Never
                // sent because no connection came up: not connected.
                let code = if p.seq.is_some() || self.link.is_some() {
                    code::TIMEOUT
                } else {
                    code::NOT_CONNECTED
                };
                debug!("command {} timed out with {}", p.request.0, code);
                self.local(LocalEvent::Completed {
                    request: p.request,
                    code,
                });
            }
        }
        if self.restore.iter().flatten().any(|r| r.deadline <= now) {
            self.restore = [None; 2];
            self.local(LocalEvent::Restored {
                code: code::TIMEOUT,
            });
        }
        if let Some(up) = self.link
            && !up.close_requested
        {
            if now > up.last_rx.saturating_add(self.cfg.dead_after_ms()) {
                if let Some(up) = &mut self.link {
                    up.close_requested = true;
                }
                warn!("dead link: nothing received since {} ms", up.last_rx);
                self.local(LocalEvent::CloseRequested(CloseReason::DeadLink));
            } else if now >= up.last_rx.saturating_add(self.cfg.ping_interval_ms)
                && up
                    .ping
                    .is_none_or(|(_, sent)| now >= sent.saturating_add(self.cfg.quest_timeout_ms))
            {
                let seq = self.next_seq();
                if self.tx.push(|b| build_ping(b, seq)).is_ok() {
                    self.stats.pings += 1;
                    if let Some(up) = &mut self.link {
                        up.ping = Some((seq, now));
                    }
                }
            }
        }
        self.pump();
    }

    fn request(&mut self, now: u64, command: Command) -> Result<RequestId, CommandError> {
        self.settle();
        self.advance(now);
        let slot = self
            .pending
            .iter()
            .position(Option::is_none)
            .ok_or(CommandError::TooManyPending)?;
        self.next_request = self.next_request.wrapping_add(1).max(1);
        let request = RequestId(self.next_request);
        self.pending[slot] = Some(Pending {
            request,
            command,
            seq: None,
            deadline: self.now.saturating_add(self.cfg.quest_timeout_ms),
        });
        self.unsent = true;
        self.pump();
        Ok(request)
    }

    fn listen_command<E: AsRef<str>>(
        &mut self,
        now: u64,
        op: ListenOp,
        ids: &ListenIds<'_, E>,
    ) -> Result<RequestId, CommandError> {
        self.settle();
        let mut events = 0u8;
        for e in ids.events {
            events |= event_bit(e.as_ref().as_bytes()).ok_or(CommandError::UnsupportedEvent)?;
        }
        let count = ids.gids.len() + ids.rids.len() + ids.uids.len();
        if count > LISTEN_IDS || count > self.arena.free() {
            return Err(CommandError::TooManyIds);
        }
        if !self.pending.iter().any(Option::is_none) {
            return Err(CommandError::TooManyPending);
        }
        if op != ListenOp::Remove {
            // Worst case if every pending add/set succeeds: the state must still fit.
            let pending: usize = self
                .pending
                .iter()
                .flatten()
                .filter_map(|p| match p.command {
                    Command::Listen {
                        op: ListenOp::Add | ListenOp::Set,
                        run,
                        ..
                    } => Some(usize::from(run.len)),
                    _ => None,
                })
                .sum();
            if self.state.ids.len() + pending + count > LISTEN_IDS {
                return Err(CommandError::TooManyIds);
            }
        }
        // The quest must fit in an empty TX buffer.
        let q = QuestIds {
            seq: 1,
            salt: i64::MAX,
            ts: i64::MAX,
        };
        if let Err(BuildError::BufferTooSmall { needed }) =
            build_listen(&mut [], &self.creds(), q, op, ids)
            && needed > TX
        {
            return Err(CommandError::TooLarge);
        }
        let run = self
            .arena
            .push([
                (IdKind::Group, ids.gids),
                (IdKind::Room, ids.rids),
                (IdKind::User, ids.uids),
            ])
            .map_err(|_| CommandError::TooManyIds)?;
        self.request(now, Command::Listen { op, run, events })
    }

    /// `addlisten`: listen to more ids and events. Completes with an [`Event::Completed`].
    pub fn add_listen<E: AsRef<str>>(
        &mut self,
        now: u64,
        ids: &ListenIds<'_, E>,
    ) -> Result<RequestId, CommandError> {
        self.listen_command(now, ListenOp::Add, ids)
    }

    /// `removelisten`: stop listening to some ids and events.
    pub fn remove_listen<E: AsRef<str>>(
        &mut self,
        now: u64,
        ids: &ListenIds<'_, E>,
    ) -> Result<RequestId, CommandError> {
        self.listen_command(now, ListenOp::Remove, ids)
    }

    /// `setlisten` with ids: replace the listened ids and events.
    pub fn set_listen<E: AsRef<str>>(
        &mut self,
        now: u64,
        ids: &ListenIds<'_, E>,
    ) -> Result<RequestId, CommandError> {
        self.listen_command(now, ListenOp::Set, ids)
    }

    /// `setlisten` with the four "all" flags.
    pub fn set_listen_all(
        &mut self,
        now: u64,
        flags: ListenFlags,
    ) -> Result<RequestId, CommandError> {
        self.settle();
        if !self.pending.iter().any(Option::is_none) {
            return Err(CommandError::TooManyPending);
        }
        self.request(now, Command::Flags(flags))
    }

    /// The next event. Call until it returns `None` after every other call; the event borrows
    /// the listener, so the borrow checker ends it before the next call, which is when its
    /// answer is queued. See the [module docs](super).
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.settle();
        if let Some(e) = self.local.pop_front() {
            return Some(e.into_event());
        }
        match self.link {
            Some(Up {
                close_requested: false,
                ..
            }) => self.frame_event(),
            _ => None,
        }
    }

    /// Walks the buffered frames, handling those that produce no event (duplicates, answers to
    /// `*ping`, late answers), and returns the first event. Nothing is consumed here: the bytes
    /// walked are consumed by the next [`Listener::settle`], so the event can borrow them.
    fn frame_event(&mut self) -> Option<Event<'_>> {
        let Self {
            rx,
            tx,
            link,
            now,
            pending,
            restore,
            restore_code,
            state,
            arena,
            dedup,
            in_flight,
            deferred_consume,
            stats,
            local: _,
            ..
        } = self;
        let now = *now;
        let mut offset = 0usize;
        let found = loop {
            let (frame, len) = match rx.peek_at(offset) {
                Ok(Some(f)) => f,
                Ok(None) => break None,
                Err(e) => break Some((Found::Close(e), 0)),
            };
            match frame {
                Frame::Answer {
                    seq,
                    status,
                    payload,
                } => {
                    if let Some(up) = link.as_mut()
                        && matches!(up.ping, Some((s, _)) if s == seq)
                    {
                        up.ping = None;
                        offset += len;
                        continue;
                    }
                    let (code, ex) = match decode_answer(status, payload) {
                        Ok(a) => (a.code, a.ex),
                        Err(_) if status == 0 => (code::OK, &[][..]),
                        Err(_) => (CODE_UNKNOWN_ERROR, &[][..]),
                    };
                    if let Some(i) = pending
                        .iter()
                        .position(|p| matches!(p, Some(p) if p.seq == Some(seq)))
                    {
                        let Some(p) = pending[i].take() else {
                            break None;
                        };
                        if code == code::OK {
                            apply(state, arena, p.command);
                        }
                        release(arena, pending, p.command);
                        break Some((
                            Found::Completed(Completion {
                                request: p.request,
                                code,
                                ex,
                            }),
                            len,
                        ));
                    }
                    if let Some(i) = restore
                        .iter()
                        .position(|r| matches!(r, Some(r) if r.seq == Some(seq)))
                    {
                        restore[i] = None;
                        if code != code::OK && *restore_code == code::OK {
                            *restore_code = code;
                        }
                        if restore.iter().all(Option::is_none) {
                            break Some((Found::Restored(*restore_code), len));
                        }
                    }
                    // A late answer (after a timeout) or the part of a restoration: nothing
                    // more to do.
                    offset += len;
                }
                Frame::Quest {
                    seq,
                    method,
                    payload,
                } => {
                    let decoded = match Method::parse(method) {
                        Some(m) => decode_method(m, payload),
                        None => Err(MessageError::UnknownMethod),
                    };
                    match decoded {
                        Err(error) => {
                            if let Some(seq) = seq {
                                let answer = ErrorAnswer::for_push(method, error);
                                let res = tx.push(|b| build_answer(b, seq, STATUS_ERROR, &answer));
                                if res.is_err() {
                                    // No room for the answer: leave the frame for later.
                                    break None;
                                }
                            }
                            stats.bad_pushes += 1;
                            let [a, b, c] = error.text();
                            warn!("bad push: {=str}{=str}{=str}", a, b, c);
                            break Some((Found::Bad { method, error }, len));
                        }
                        Ok(push) => {
                            if seq.is_some() && tx.room() < EMPTY_ANSWER_LEN {
                                break None;
                            }
                            let hash = match &push {
                                Push::Message(m) => Some(dedup.hash(&dedup_key(m))),
                                _ => None,
                            };
                            if let Some(h) = hash
                                && dedup.contains_hash(h, now)
                            {
                                if let Some(seq) = seq {
                                    let _ = tx.push(|b| build_empty_answer(b, seq));
                                }
                                stats.duplicates += 1;
                                offset += len;
                                continue;
                            }
                            break Some((
                                Found::Push {
                                    push,
                                    seq,
                                    dedup: hash,
                                },
                                len,
                            ));
                        }
                    }
                }
            }
        };
        let Some((found, len)) = found else {
            *deferred_consume += offset;
            return None;
        };
        let consume = offset + len;
        let mut done = InFlight {
            consume,
            answer: None,
            dedup: None,
        };
        let event = match found {
            Found::Push { push, seq, dedup } => {
                if seq.is_some() {
                    // Room was checked above; the answer is written by the next settle.
                    tx.reserve(EMPTY_ANSWER_LEN);
                }
                done.answer = seq;
                stats.pushes += 1;
                match push {
                    Push::Message(m) => {
                        done.dedup = dedup;
                        *in_flight = Some(done);
                        // Returned from here, the event is built in the return slot: through
                        // the shared tail it is copied once more (~10 instructions per push).
                        return Some(Event::Message(message_event(m)));
                    }
                    Push::Event(e) => Event::PushEvent(e),
                    Push::Ping => Event::Ping,
                    Push::Kickout => Event::Kickout,
                    Push::KickoutRoom { rid } => Event::KickoutRoom { rid },
                }
            }
            Found::Completed(c) => Event::Completed(c),
            Found::Restored(code) => Event::Restored { code },
            Found::Bad { method, error } => Event::BadPush { method, error },
            Found::Close(e) => {
                warn!(
                    "protocol error, asking the host to close: {=str}",
                    e.as_str()
                );
                if let Some(up) = link.as_mut() {
                    up.close_requested = true;
                }
                Event::CloseRequested(CloseReason::Protocol(e))
            }
        };
        *in_flight = Some(done);
        Some(event)
    }
}
