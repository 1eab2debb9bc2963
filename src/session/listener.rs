//! The sans-IO listener: input in; events, transmits and deadlines out; time passed in.
//!
//! See the [module docs](super) for the driving contract.

use heapless::Deque;

use super::backoff::Backoff;
use super::dedup::{Dedup, DedupKey};
use super::event::{CloseReason, Completion, Event, LocalEvent, MessageEvent, RequestId, code};
use super::ids::{IdKind, SortedIds, event_bit, event_names};
use super::sync::{Answered, ListenState, ListenSync, Quest};
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
use crate::wire::frame::{BuildError, Frame, FrameError, FrameKind, Payload, build_answer};
use crate::wire::frame_reader::FrameReader;
use crate::wire::msgpack::{Sink, Writer};

/// Longest project secret the listener stores.
pub const MAX_SECRET: usize = 64;
/// Room for events that carry no frame data (completions, connection changes): one call queues
/// at most a completion per pending command plus two more (a restoration's end and a close).
const LOCAL_EVENTS: usize = PENDING_QUESTS + 6;

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

/// Why a listen command was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CommandError {
    /// All [`PENDING_QUESTS`] slots hold commands awaiting completion.
    TooManyPending,
    /// The desired listen state would exceed [`LISTEN_IDS`] ids.
    TooManyIds,
    /// An event name other than `login` or `logout`.
    UnsupportedEvent,
}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooManyPending => f.write_str("too many pending quests"),
            Self::TooManyIds => f.write_str("too many listen ids"),
            Self::UnsupportedEvent => f.write_str("unsupported event (only login, logout)"),
        }
    }
}

impl core::error::Error for CommandError {}

/// A listen state: desired ([`Listener::desired_state`]) or confirmed by the server
/// ([`Listener::listen_state`]).
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

/// A listen command awaiting its completion. Its effect is already in the desired state.
#[derive(Debug, Clone, Copy)]
struct Pending {
    request: RequestId,
    /// The desired state's generation right after the command changed it.
    generation: u32,
    deadline: u64,
}

/// The frame behind the last event: consumed, answered and remembered on the next call.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    consume: usize,
    /// A frame too large for RX, of this length, starts after `consume` bytes: skip it.
    skip: Option<usize>,
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
    /// Pushes that could not be decoded, had an unknown method or were too large (each one
    /// reported as [`Event::BadPush`]).
    pub bad_pushes: u64,
    /// Of those, frames larger than the receive buffer, skipped.
    pub oversized: u64,
    /// `*ping` quests sent.
    pub pings: u64,
    /// Connections that came up.
    pub connections: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Listen quests the server refused.
    pub refusals: u64,
}

enum Found<'a> {
    Push {
        push: Push<'a>,
        seq: Option<u32>,
        /// For a message, the duplicate filter's hash of its key.
        dedup: Option<u64>,
    },
    /// An answer to the listen quest in flight whose events wait in `local`.
    Answered {
        ex: &'a [u8],
    },
    Bad {
        method: &'a [u8],
        error: MessageError,
        seq: Option<u32>,
        len: usize,
    },
    Close(FrameError),
    /// A frame too large for RX that gives no event (an answer nothing waits for).
    Skipped,
}

/// The listener: the RTM session over a receive buffer `R` (the largest frame read whole;
/// larger ones up to 8 MiB are skipped) and a transmit buffer `T`, arrays by default, or any
/// memory the host lends ([`Listener::with_buffers`]). The other capacities are in
/// [`crate::config`].
#[derive(Debug)]
pub struct Listener<R = [u8; DEFAULT_RX], T = [u8; DEFAULT_TX]> {
    cfg: Config,
    pid: u32,
    secret: [u8; MAX_SECRET],
    secret_len: usize,
    rx: FrameReader<R>,
    tx: TxQueue<T>,
    link: Option<Up>,
    now: u64,
    unix_offset: i64,
    seq: u32,
    salts: super::salt::SaltGen,
    next_request: u32,
    pending: [Option<Pending>; PENDING_QUESTS],
    sync: ListenSync,
    dedup: Dedup,
    failures: u32,
    reconnect_at: Option<u64>,
    connections: u32,
    local: Deque<LocalEvent, LOCAL_EVENTS>,
    in_flight: Option<InFlight>,
    deferred_consume: usize,
    stats: Stats,
    /// Whether a listen quest may be waiting to be sent: set by commands, connections and
    /// answers, cleared by [`Listener::pump`] once nothing can go, so the pump costs one test
    /// on the per-push path.
    unsent: bool,
}

/// A listener with array buffers of `RX` and `TX` bytes.
pub type FixedListener<const RX: usize = DEFAULT_RX, const TX: usize = DEFAULT_TX> =
    Listener<[u8; RX], [u8; TX]>;

/// The smallest transmit buffer: room for the largest listen quest (every id of
/// [`LISTEN_IDS`] as an int64, both events, the signature).
pub const MIN_TX: usize = max_listen_quest(LISTEN_IDS);

/// An upper bound of a listen quest's length with `ids` ids: frame header, seq, the longest
/// method, `pid`, `sign` (32 hex digits), `salt`, `ts`, three id arrays (16-bit headers) and
/// both events, plus 9 bytes per id.
pub const fn max_listen_quest(ids: usize) -> usize {
    160 + 9 * ids
}

/// The smallest receive buffer.
pub const MIN_RX: usize = 64;

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

/// Applies a listen command to the desired state, or refuses it leaving the state unchanged.
fn apply_listen<E: AsRef<str>>(
    d: &mut ListenState,
    op: ListenOp,
    ids: &ListenIds<'_, E>,
    events: u8,
) -> Result<(), CommandError> {
    let lists = [
        (IdKind::Group as u8, ids.gids),
        (IdKind::Room as u8, ids.rids),
        (IdKind::User as u8, ids.uids),
    ];
    if op == ListenOp::Remove {
        for &(k, l) in &lists {
            for &id in l {
                d.ids.remove(k, id);
            }
        }
        d.events &= !events;
        return Ok(());
    }
    // The ids the result gains: distinct ones (a repeat counts once), and for an add only
    // those not already desired.
    let set = op == ListenOp::Set;
    let gained: usize = lists
        .iter()
        .map(|&(k, l)| {
            l.iter()
                .enumerate()
                .filter(|&(i, id)| !l[..i].contains(id) && (set || !d.ids.contains(k, *id)))
                .count()
        })
        .sum();
    if gained + if set { 0 } else { d.ids.len() } > LISTEN_IDS {
        return Err(CommandError::TooManyIds);
    }
    if set {
        d.ids.clear();
        d.events = events;
    } else {
        d.events |= events;
    }
    for &(k, l) in &lists {
        for &id in l {
            // Capacity was checked above.
            let _ = d.ids.insert(k, id);
        }
    }
    Ok(())
}

fn view(state: &ListenState) -> ListenView<'_> {
    ListenView {
        ids: state.ids.view(),
        events: event_names(state.events),
        flags: state.flags,
    }
}

impl<const RX: usize, const TX: usize> Listener<[u8; RX], [u8; TX]> {
    /// Creates a listener for project `creds.pid` with array buffers. `entropy` seeds the
    /// salts and the duplicate filter's hash; pass a few random bytes from the host.
    ///
    /// The secret is copied and never logged.
    pub fn new(cfg: Config, creds: Credentials<'_>, entropy: u64) -> Result<Self, ConfigError> {
        Self::with_buffers(cfg, creds, entropy, [0; RX], [0; TX])
    }
}

impl<R: AsRef<[u8]> + AsMut<[u8]>, T: AsRef<[u8]> + AsMut<[u8]>> Listener<R, T> {
    /// Creates a listener whose receive and transmit buffers are `rx` and `tx` (arrays, or
    /// `&mut [u8]` the host lends). `rx` is the largest frame read whole (at least
    /// [`MIN_RX`]); `tx` must hold the largest listen quest ([`MIN_TX`]).
    pub fn with_buffers(
        cfg: Config,
        creds: Credentials<'_>,
        entropy: u64,
        rx: R,
        tx: T,
    ) -> Result<Self, ConfigError> {
        if creds.secret.len() > MAX_SECRET {
            return Err(ConfigError::SecretTooLong);
        }
        let rx_len = rx.as_ref().len();
        if tx.as_ref().len() < MIN_TX || rx_len < MIN_RX {
            return Err(ConfigError::BufferTooSmall);
        }
        let mut secret = [0u8; MAX_SECRET];
        secret[..creds.secret.len()].copy_from_slice(creds.secret);
        Ok(Self {
            cfg,
            pid: creds.pid,
            secret,
            secret_len: creds.secret.len(),
            rx: FrameReader::new(rx, rx_len),
            tx: TxQueue::new(tx),
            link: None,
            now: 0,
            unix_offset: 0,
            seq: 0,
            salts: super::salt::SaltGen::new(entropy),
            next_request: 0,
            pending: [None; PENDING_QUESTS],
            sync: ListenSync::default(),
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

    /// The listen state the server has confirmed on the current connection (empty while
    /// disconnected: a new connection starts with nothing, until restoration).
    pub fn listen_state(&self) -> ListenView<'_> {
        view(self.sync.confirmed())
    }

    /// The listen state the host asked for: every accepted command applied in order. The
    /// listener drives the server to it on every connection.
    pub fn desired_state(&self) -> ListenView<'_> {
        view(self.sync.desired())
    }

    /// Whether the server's listen state is known to equal the desired state.
    pub fn in_sync(&self) -> bool {
        self.sync.in_sync()
    }

    /// Commands not yet completed.
    pub fn pending_commands(&self) -> usize {
        self.pending.iter().flatten().count()
    }

    /// The capacity of the receive buffer (frames up to this length are read whole).
    pub fn rx_capacity(&self) -> usize {
        self.rx.max_frame()
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
            match f.skip {
                Some(len) => self.rx.skip_at(f.consume, len),
                None => self.rx.consume(f.consume),
            }
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

    /// Writes one listen quest into TX. On `BufferTooSmall` the seq is not used up.
    fn send(&mut self, quest: Quest) -> Result<u32, BuildError> {
        let q = self.quest_ids();
        let creds = Credentials {
            pid: self.pid,
            secret: &self.secret[..self.secret_len],
        };
        let tx = &mut self.tx;
        let res = match quest {
            Quest::Flags(flags) => tx.push(|b| build_set_flags(b, &creds, q, flags)),
            Quest::Ids(events) => {
                let view = self.sync.carried();
                let (names, n) = event_names(events);
                let ids = ListenIds {
                    gids: view.of(IdKind::Group),
                    rids: view.of(IdKind::Room),
                    uids: view.of(IdKind::User),
                    events: &names[..n],
                };
                tx.push(|b| build_listen(b, &creds, q, ListenOp::Set, &ids))
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

    /// Sends the next listen quest if one should go: one in flight at a time.
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
        if let Some(quest) = self.sync.plan() {
            match self.send(quest) {
                Ok(seq) => {
                    let deadline = self.now.saturating_add(self.cfg.quest_timeout_ms);
                    self.sync.sent(quest, seq, deadline);
                }
                // No room in TX: the next call tries again.
                Err(_) => return,
            }
        }
        self.unsent = false;
    }

    /// Completes every pending command with 0 once the server's state equals the desired
    /// state and no quest is in flight.
    fn complete_if_in_sync(&mut self) {
        if self.sync.in_sync() {
            complete(&mut self.pending, &mut self.local, u32::MAX, code::OK);
        }
    }

    /// The host connected the transport. The desired listen state is established (flags,
    /// then ids) before any later command is sent.
    pub fn connected(&mut self, now: u64) {
        self.settle();
        self.advance(now);
        if self.link.is_some() {
            // A new connection without a close of the old one: close it first, so that the
            // monitor sees `closed` before `connected`.
            self.closed(now, CloseReason::Host);
        }
        self.connections = self.connections.saturating_add(1);
        self.stats.connections += 1;
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
        self.sync.connected();
        self.unsent = true;
        info!("connected (reconnect: {})", is_reconnect);
        self.local(LocalEvent::Connected { is_reconnect });
        self.pump();
    }

    /// Counts a failure and schedules the next attempt after the back-off; returns the delay
    /// (in ms, saturated to `u32`: 49 days).
    fn schedule_reconnect(&mut self) -> u32 {
        self.failures = self.failures.saturating_add(1);
        let delay = self.cfg.backoff.delay_ms(self.failures);
        self.reconnect_at = Some(self.now.saturating_add(delay));
        u32::try_from(delay).unwrap_or(u32::MAX)
    }

    /// A connection attempt failed for `reason`; the back-off advances.
    pub fn connect_failed(&mut self, now: u64, reason: CloseReason) {
        self.settle();
        self.advance(now);
        let retry_in_ms = self.schedule_reconnect();
        self.stats.connect_failures += 1;
        // The reason goes to the host with the event; the log keeps to numbers.
        warn!(
            "connection attempt {} failed; next in {} ms",
            self.failures, retry_in_ms
        );
        self.local(LocalEvent::ConnectFailed {
            is_reconnect: self.connections > 0,
            reason,
            retry_in_ms,
        });
    }

    /// The connection closed for `reason` (pass the listener's own reason when it asked for the
    /// close). Quests in flight are abandoned; pending commands stay pending (their intent is
    /// in the desired state, established again on the next connection).
    pub fn closed(&mut self, now: u64, reason: CloseReason) {
        self.settle();
        self.advance(now);
        let Some(up) = self.link.take() else { return };
        self.rx.reset();
        self.tx.clear();
        self.in_flight = None;
        self.deferred_consume = 0;
        if self.sync.closed() {
            self.local(LocalEvent::Restored {
                code: code::CONNECTION_CLOSED,
            });
        }
        if self.now.saturating_sub(up.since) >= self.cfg.backoff.failed_window_ms {
            self.failures = 0;
        }
        let retry_in_ms = self.schedule_reconnect();
        info!("closed; reconnect in {} ms", retry_in_ms);
        self.local(LocalEvent::Closed {
            is_reconnect: self.connections > 1,
            reason,
            retry_in_ms,
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
    /// took them. Finishes the last event's frame first, so what it caused is included.
    pub fn transmit(&mut self) -> &[u8] {
        self.settle();
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
        let link = match self.link {
            Some(up) if !up.close_requested => {
                // A lost listen quest matters only while the connection is usable.
                if let Some(t) = self.sync.deadline() {
                    earliest(t);
                }
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
        let code = if self.link.is_some() {
            code::TIMEOUT
        } else {
            code::NOT_CONNECTED
        };
        for i in 0..self.pending.len() {
            if let Some(p) = self.pending[i]
                && p.deadline <= now
            {
                // Not confirmed in time; the intent stays in the desired state.
                self.pending[i] = None;
                debug!("command {} timed out with {}", p.request.0, code);
                self.local(LocalEvent::Completed {
                    request: p.request,
                    code,
                });
            }
        }
        let usable = matches!(
            self.link,
            Some(Up {
                close_requested: false,
                ..
            })
        );
        // Once a close is requested, the close ends the quest in flight (and a restoration).
        let quest_lost = usable && self.sync.timed_out(now);
        if quest_lost && self.sync.end_restoring() {
            self.local(LocalEvent::Restored {
                code: code::TIMEOUT,
            });
        }
        if let Some(up) = self.link
            && !up.close_requested
        {
            // A listen quest without an answer: its late answer could apply an older state
            // after a newer one, so the connection ends (restoration follows on the next).
            if quest_lost || now > up.last_rx.saturating_add(self.cfg.dead_after_ms()) {
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

    /// Records a command whose effect `change` makes on the desired state.
    fn command(
        &mut self,
        now: u64,
        change: impl FnOnce(&mut ListenState) -> Result<(), CommandError>,
    ) -> Result<RequestId, CommandError> {
        self.settle();
        self.advance(now);
        let slot = self
            .pending
            .iter()
            .position(Option::is_none)
            .ok_or(CommandError::TooManyPending)?;
        self.sync.change(change)?;
        self.next_request = self.next_request.wrapping_add(1).max(1);
        let request = RequestId(self.next_request);
        self.pending[slot] = Some(Pending {
            request,
            generation: self.sync.generation(),
            deadline: self.now.saturating_add(self.cfg.quest_timeout_ms),
        });
        self.unsent = true;
        self.pump();
        self.complete_if_in_sync();
        Ok(request)
    }

    fn listen_command<E: AsRef<str>>(
        &mut self,
        now: u64,
        op: ListenOp,
        ids: &ListenIds<'_, E>,
    ) -> Result<RequestId, CommandError> {
        let mut events = 0u8;
        for e in ids.events {
            events |= event_bit(e.as_ref().as_bytes()).ok_or(CommandError::UnsupportedEvent)?;
        }
        self.command(now, |d| apply_listen(d, op, ids, events))
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
        self.command(now, |d| {
            d.flags = flags;
            Ok(())
        })
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
            sync,
            dedup,
            in_flight,
            deferred_consume,
            stats,
            local,
            unsent,
            ..
        } = self;
        let now = *now;
        let mut offset = 0usize;
        let mut skip = None;
        let found = loop {
            let (frame, len) = match rx.peek_at(offset) {
                Ok(Some(f)) => f,
                Ok(None) => break None,
                Err(FrameError::TooLarge { .. }) => {
                    // Too large for RX: its head stands for it (an answer without payload, a
                    // quest reported as too large), and the frame is skipped as it streams in.
                    // Nothing is buffered after it. Over 8 MiB, `head_at` gives the error.
                    let head = match rx.head_at(offset) {
                        Ok(Some(h)) => h,
                        Ok(None) => break None,
                        Err(e) => break Some((Found::Close(e), 0)),
                    };
                    skip = Some(head.len);
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
                    (frame, 0)
                }
                Err(e) => break Some((Found::Close(e), 0)),
            };
            match frame {
                Frame::Answer {
                    seq,
                    status,
                    payload,
                } => {
                    let (code, ex) = match decode_answer(status, payload) {
                        Ok(a) => (a.code, a.ex),
                        Err(_) if status == 0 => (code::OK, &[][..]),
                        Err(_) => (CODE_UNKNOWN_ERROR, &[][..]),
                    };
                    let outcome = match link.as_mut() {
                        Some(up) if matches!(up.ping, Some((s, _)) if s == seq) => {
                            up.ping = None;
                            None
                        }
                        _ => sync.answered(seq, code),
                    };
                    if let Some(outcome) = outcome {
                        *unsent = true;
                        on_answer(pending, sync, local, stats, outcome);
                        if !local.is_empty() {
                            break Some((Found::Answered { ex }, len));
                        }
                    }
                    // The `*ping`'s answer, or a late one (after a timeout).
                    if skip.is_some() {
                        break Some((Found::Skipped, 0));
                    }
                    offset += len;
                }
                Frame::Quest {
                    seq,
                    method,
                    payload,
                } => {
                    let decoded = match Method::parse(method) {
                        _ if skip.is_some() => Err(MessageError::FrameTooLarge),
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
                            stats.oversized += u64::from(skip.is_some());
                            let [a, b, c] = error.text();
                            warn!("bad push: {=str}{=str}{=str}", a, b, c);
                            break Some((
                                Found::Bad {
                                    method,
                                    error,
                                    seq,
                                    len: skip.unwrap_or(len),
                                },
                                len,
                            ));
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
        let mut done = InFlight {
            consume: offset + len,
            skip,
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
            Found::Answered { ex } => {
                *in_flight = Some(done);
                // The first completion carries the server's text.
                return local.pop_front().map(|e| match e {
                    LocalEvent::Completed { request, code } => {
                        Event::Completed(Completion { request, code, ex })
                    }
                    other => other.into_event(),
                });
            }
            Found::Bad {
                method,
                error,
                seq,
                len,
            } => Event::BadPush {
                method,
                error,
                seq,
                len,
            },
            Found::Skipped => {
                *in_flight = Some(done);
                return None;
            }
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

/// Queues the events an answer to the listen quest in flight gives: the completions it brings,
/// then the end of a restoration.
fn on_answer(
    pending: &mut [Option<Pending>],
    sync: &mut ListenSync,
    local: &mut Deque<LocalEvent, LOCAL_EVENTS>,
    stats: &mut Stats,
    outcome: Answered,
) {
    let (generation, code) = match outcome {
        Answered::Applied { in_sync: false } => return,
        Answered::Applied { in_sync: true } => (u32::MAX, code::OK),
        Answered::Refused { code, generation } => {
            stats.refusals += 1;
            (generation, code)
        }
    };
    complete(pending, local, generation, code);
    if sync.end_restoring() {
        let _ = local.push_back(LocalEvent::Restored { code });
    }
}

/// Completes, in slot order, the pending commands whose generation is at most `generation`
/// (`u32::MAX`: all; generations grow, and a wrap takes four billion commands), with `code`.
fn complete(
    pending: &mut [Option<Pending>],
    local: &mut Deque<LocalEvent, LOCAL_EVENTS>,
    generation: u32,
    code: i64,
) {
    for slot in pending.iter_mut() {
        if let Some(p) = *slot
            && (generation == u32::MAX || p.generation <= generation)
        {
            *slot = None;
            let _ = local.push_back(LocalEvent::Completed {
                request: p.request,
                code,
            });
        }
    }
}
