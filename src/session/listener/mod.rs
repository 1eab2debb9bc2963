//! The sans-IO listener: input in; events, transmits and deadlines out; time passed in.
//!
//! See the [module docs](super) for the driving contract.

mod inbound;

use heapless::Deque;

use super::backoff::Backoff;
use super::dedup::Dedup;
use super::event::{CloseReason, LocalEvent, RequestId, code};
use super::ids::{IdKind, SortedIds, event_bit, event_names};
use super::sync::{Answered, ListenState, ListenSync, Quest};
use super::tx::TxQueue;
use crate::config::{DEFAULT_RX, DEFAULT_TX, LISTEN_IDS, PENDING_QUESTS};
use crate::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen, build_ping,
    build_set_flags,
};
use crate::wire::frame::BuildError;
use crate::wire::frame_reader::FrameReader;

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
    /// All zero: the timing of a listener not yet configured (zero bytes, so that such a
    /// listener in a `static` lands in .bss).
    const UNSET: Self = Self {
        quest_timeout_ms: 0,
        ping_interval_ms: 0,
        dedup_ttl_ms: 0,
        backoff: Backoff {
            failed_window_ms: 0,
            immediate: 0,
            first_ms: 0,
            max_ms: 0,
            linear_steps: 0,
        },
    };

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

/// A connection that is up. No field has a niche (no `bool`, `Option` or enum), so the `None`
/// of `Option<Up>` is zero bytes: an unconfigured listener is all zeros and a `static` of it
/// lands in .bss.
#[derive(Debug, Clone, Copy)]
struct Up {
    since: u64,
    last_rx: u64,
    /// Seq of the outstanding `*ping` (0: none; seqs are never 0) and when it was sent.
    ping_seq: u32,
    ping_sent: u64,
    /// Seq of the `*key` quest whose answer is awaited (0: none): until it comes, nothing but
    /// the key exchange goes out.
    key_seq: u32,
}

impl Up {
    /// The send time of the outstanding `*ping`.
    fn ping(&self) -> Option<u64> {
        (self.ping_seq != 0).then_some(self.ping_sent)
    }
}

impl Stats {
    /// All counters at zero.
    pub const ZERO: Self = Self {
        pushes: 0,
        duplicates: 0,
        bad_pushes: 0,
        oversized: 0,
        pings: 0,
        connections: 0,
        connect_failures: 0,
        refusals: 0,
        key_exchanges: 0,
        key_exchange_failures: 0,
    };
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
    /// reported as [`Event::BadPush`](super::Event::BadPush)).
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
    /// FPNN encryption key exchanges the server accepted.
    pub key_exchanges: u64,
    /// Key exchanges that failed: refused, unanswered, or closed before the answer.
    pub key_exchange_failures: u64,
}

/// The listener: the RTM session over a receive buffer `R` (the largest frame read whole;
/// larger ones up to 8 MiB are skipped) and a transmit buffer `T`, arrays by default, or any
/// memory the host lends ([`Listener::with_buffers`]). The other capacities are in
/// [`crate::config`].
#[derive(Debug, Clone)]
pub struct Listener<R = [u8; DEFAULT_RX], T = [u8; DEFAULT_TX]> {
    cfg: Config,
    pid: u32,
    secret: [u8; MAX_SECRET],
    secret_len: usize,
    rx: FrameReader<R>,
    /// Everything a received frame's handling changes, apart from the receive buffer it may
    /// lie in (so the two borrow separately).
    c: Core<T>,
    unix_offset: i64,
    seq: u32,
    salts: super::salt::SaltGen,
    next_request: u32,
    failures: u32,
    reconnect_at: Option<u64>,
    connections: u32,
    /// FPNN encryption: the configuration and the key generator.
    #[cfg(feature = "fpnn-encryption")]
    enc: super::encryption::Slot<super::encryption::Encryption>,
    #[cfg(feature = "fpnn-encryption")]
    keygen: super::keygen::KeyGen,
    /// After a key exchange, the receiving cipher: received bytes are opened in RX.
    #[cfg(feature = "fpnn-encryption")]
    opener: super::encryption::Slot<super::encryption::Opener>,
    /// How the received stream broke while being opened, reported after the frames before it.
    #[cfg(feature = "fpnn-encryption")]
    open_error: super::encryption::Slot<crate::wire::frame::FrameError>,
}

impl<T> Core<T> {
    /// Whether a connection is up and the listener has not asked to close it.
    fn usable(&self) -> bool {
        self.link.is_some() && !self.closing
    }
}

/// The listener's state that received frames change.
#[derive(Debug, Clone)]
struct Core<T> {
    tx: TxQueue<T>,
    link: Option<Up>,
    /// The listener asked the host to close `link` (the stream is unusable).
    closing: bool,
    now: u64,
    pending: [Option<Pending>; PENDING_QUESTS],
    sync: ListenSync,
    dedup: Dedup,
    local: Deque<LocalEvent, LOCAL_EVENTS>,
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

impl Listener {
    /// Creates a listener for project `creds.pid` with the default buffers
    /// ([`DEFAULT_RX`] and [`DEFAULT_TX`] bytes; [`FixedListener::sized`] for other sizes).
    /// `entropy` seeds the salts and the duplicate filter's hash; pass a few random bytes from
    /// the host.
    ///
    /// The secret is copied and never logged.
    ///
    /// ```
    /// use rtm_listen::prelude::*;
    ///
    /// let creds = Credentials { pid: 11000001, secret: b"project-secret" };
    /// let listener = Listener::new(Config::DEFAULT, creds, 0x5eed)?;
    /// assert!(listener.desired_state().ids.is_empty());
    /// # Ok::<(), rtm_listen::session::ConfigError>(())
    /// ```
    pub fn new(cfg: Config, creds: Credentials<'_>, entropy: u64) -> Result<Self, ConfigError> {
        Self::sized(cfg, creds, entropy)
    }
}

impl<const RX: usize, const TX: usize> Listener<[u8; RX], [u8; TX]> {
    /// Creates a listener for project `creds.pid` with array buffers of `RX` and `TX` bytes,
    /// as [`Listener::new`] does with the default sizes.
    ///
    /// ```
    /// use rtm_listen::prelude::*;
    ///
    /// let creds = Credentials { pid: 11000001, secret: b"project-secret" };
    /// let listener = FixedListener::<8192, 1024>::sized(Config::DEFAULT, creds, 0x5eed)?;
    /// # let _ = listener;
    /// # Ok::<(), rtm_listen::session::ConfigError>(())
    /// ```
    pub fn sized(cfg: Config, creds: Credentials<'_>, entropy: u64) -> Result<Self, ConfigError> {
        Self::with_buffers(cfg, creds, entropy, [0; RX], [0; TX])
    }

    /// A listener with no project yet, for storage that is built in place: a `const fn` whose
    /// value is all zero bytes, so that a `static` of it lands in .bss (no initialiser in
    /// flash, nothing built on the stack). [`Listener::configure`] then sets the project in
    /// place (the firmware in `crates/firmware` starts with 128 bytes of stack this way). Until
    /// then it has pid 0, an empty secret and zero timings: configure it before connecting.
    pub const fn unconfigured() -> Self {
        Self::blank(FrameReader::zeroed(), TxQueue::new([0; TX]))
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
        let rx_len = rx.as_ref().len();
        let mut l = Self::blank(FrameReader::new(rx, rx_len), TxQueue::new(tx));
        l.configure(cfg, creds, entropy)?;
        Ok(l)
    }

    /// A listener over `rx` and `tx` with no project: the one place every field gets its
    /// initial value ([`Listener::configure`] sets the project and resets the rest).
    const fn blank(rx: FrameReader<R>, tx: TxQueue<T>) -> Self {
        Self {
            cfg: Config::UNSET,
            pid: 0,
            secret: [0; MAX_SECRET],
            secret_len: 0,
            rx,
            c: Core {
                tx,
                link: None,
                closing: false,
                now: 0,
                pending: [None; PENDING_QUESTS],
                sync: ListenSync::new(),
                dedup: Dedup::new(0, 0),
                local: Deque::new(),
                stats: Stats::ZERO,
                unsent: false,
            },
            unix_offset: 0,
            seq: 0,
            salts: super::salt::SaltGen::UNSEEDED,
            next_request: 0,
            failures: 0,
            reconnect_at: None,
            connections: 0,
            #[cfg(feature = "fpnn-encryption")]
            enc: super::encryption::Slot::Empty,
            #[cfg(feature = "fpnn-encryption")]
            keygen: super::keygen::KeyGen::EMPTY,
            #[cfg(feature = "fpnn-encryption")]
            opener: super::encryption::Slot::Empty,
            #[cfg(feature = "fpnn-encryption")]
            open_error: super::encryption::Slot::Empty,
        }
    }

    /// Sets the project, timing and entropy in place, and resets everything else to a new
    /// listener's state (disconnected, nothing desired, no statistics). It needs no stack
    /// beyond a few words: with [`Listener::unconfigured`] it builds a listener in place.
    /// The buffers stay; their sizes are checked as [`Listener::with_buffers`] does.
    pub fn configure(
        &mut self,
        cfg: Config,
        creds: Credentials<'_>,
        entropy: u64,
    ) -> Result<(), ConfigError> {
        if creds.secret.len() > MAX_SECRET {
            return Err(ConfigError::SecretTooLong);
        }
        if self.c.tx.capacity() < MIN_TX || self.rx.capacity() < MIN_RX {
            return Err(ConfigError::BufferTooSmall);
        }
        self.cfg = cfg;
        self.pid = creds.pid;
        self.secret.fill(0);
        self.secret[..creds.secret.len()].copy_from_slice(creds.secret);
        self.secret_len = creds.secret.len();
        let rx_len = self.rx.capacity();
        self.rx.set_max_frame(rx_len);
        let c = &mut self.c;
        c.tx.clear();
        c.link = None;
        c.closing = false;
        c.now = 0;
        c.pending.fill(None);
        c.sync.reset();
        c.dedup
            .reset(entropy.rotate_left(17) ^ 0x5bd1_e995, cfg.dedup_ttl_ms);
        c.local.clear();
        c.stats = Stats::ZERO;
        c.unsent = false;
        self.unix_offset = 0;
        self.seq = 0;
        self.salts = super::salt::SaltGen::new(entropy);
        self.next_request = 0;
        self.failures = 0;
        self.reconnect_at = None;
        self.connections = 0;
        #[cfg(feature = "fpnn-encryption")]
        {
            self.enc = super::encryption::Slot::Empty;
            self.opener = super::encryption::Slot::Empty;
            self.open_error = super::encryption::Slot::Empty;
        }
        Ok(())
    }

    /// FPNN encryption for every connection from the next [`Listener::connected`] on (`None`:
    /// plaintext). `entropy` (at least [`MIN_ENTROPY`](super::MIN_ENTROPY) bytes from a
    /// cryptographically secure generator) seeds the generator of the per-connection keys;
    /// [`Listener::add_entropy`] stirs in more. Refused, with nothing changed, for a curve not
    /// compiled into this build or short entropy (turning encryption off needs none).
    #[cfg(feature = "fpnn-encryption")]
    pub fn set_encryption(
        &mut self,
        enc: Option<super::encryption::Encryption>,
        entropy: &[u8],
    ) -> Result<(), crate::crypto::EcdhError> {
        super::encryption::check(enc.as_ref(), entropy)?;
        self.keygen.stir(entropy);
        self.enc = enc.into();
        Ok(())
    }

    /// Stirs host entropy into the generator of the per-connection keys (for example fresh
    /// bytes before each connection).
    #[cfg(feature = "fpnn-encryption")]
    pub fn add_entropy(&mut self, entropy: &[u8]) {
        self.keygen.stir(entropy);
    }

    /// Starts the key exchange on a new connection, if encryption is on: a fresh ephemeral
    /// key, the plaintext `*key` quest queued as the first frame, and both directions' ciphers
    /// in place. Returns the `*key` seq (0: plaintext).
    #[cfg(feature = "fpnn-encryption")]
    fn start_key_exchange(&mut self) -> Result<u32, crate::crypto::EcdhError> {
        use super::encryption::{ciphers, stream_mode};
        use zeroize::Zeroize;
        self.opener = super::encryption::Slot::Empty;
        self.open_error = super::encryption::Slot::Empty;
        let Some(enc) = self.enc.get() else {
            return Ok(0);
        };
        let (mode, bits, server_key) = (enc.mode, enc.bits, enc.server_key);
        let mut material = self.keygen.next();
        let key = crate::crypto::EphemeralKey::generate(server_key.curve(), &material);
        material.zeroize();
        let key = key?;
        let keys = key.diffie_hellman(&server_key)?.derive(bits);
        let seq = self.next_seq();
        // TX was just cleared: the quest fits any buffer of at least MIN_TX.
        let queued = self.c.tx.push(|b| {
            crate::wire::key_quest::build_key_quest(
                b,
                seq,
                key.public_key(),
                stream_mode(mode),
                bits,
            )
        });
        if queued.is_err() {
            return Err(crate::crypto::EcdhError::NoScalar);
        }
        let c = ciphers(&keys, mode);
        self.c.tx.set_seal(Some(c.sealer));
        self.opener = super::encryption::Slot::Full(c.opener);
        Ok(seq)
    }

    fn advance(&mut self, now: u64) {
        self.c.now = self.c.now.max(now);
    }

    /// Tells the listener the Unix time (ms) that corresponds to the monotonic `now`. Quests are
    /// signed with this clock, so set it before connecting and whenever the host's wall clock
    /// is adjusted.
    pub fn set_unix_time(&mut self, now: u64, unix_ms: i64) {
        self.advance(now);
        self.unix_offset = unix_ms.saturating_sub(i64::try_from(now).unwrap_or(i64::MAX));
    }

    fn unix_ms(&self) -> i64 {
        i64::try_from(self.c.now)
            .unwrap_or(i64::MAX)
            .saturating_add(self.unix_offset)
    }

    fn local(&mut self, e: LocalEvent) {
        // LOCAL_EVENTS exceeds the most that can be queued between two polls (one completion
        // per pending slot plus connection changes), so this cannot overflow; if it ever
        // did, dropping a diagnostic is preferable to a panic.
        let _ = self.c.local.push_back(e);
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        self.c.link.is_some()
    }

    /// Whether the listener has asked the host to close the connection.
    pub fn wants_close(&self) -> bool {
        self.c.link.is_some() && self.c.closing
    }

    /// Diagnostic counters.
    pub fn stats(&self) -> Stats {
        self.c.stats
    }

    /// The listen state the server has confirmed on the current connection (empty while
    /// disconnected: a new connection starts with nothing, until restoration).
    pub fn listen_state(&self) -> ListenView<'_> {
        view(self.c.sync.confirmed())
    }

    /// The listen state the host asked for: every accepted command applied in order. The
    /// listener drives the server to it on every connection.
    pub fn desired_state(&self) -> ListenView<'_> {
        view(self.c.sync.desired())
    }

    /// Whether the server's listen state is known to equal the desired state.
    pub fn in_sync(&self) -> bool {
        self.c.sync.in_sync()
    }

    /// Commands not yet completed.
    pub fn pending_commands(&self) -> usize {
        self.c.pending.iter().flatten().count()
    }

    /// The capacity of the receive buffer (frames up to this length are read whole).
    pub fn rx_capacity(&self) -> usize {
        self.rx.max_frame()
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
        let tx = &mut self.c.tx;
        let res = match quest {
            Quest::Flags(flags) => tx.push(|b| build_set_flags(b, &creds, q, flags)),
            Quest::Ids(events) => {
                let view = self.c.sync.carried();
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
        if self.c.unsent {
            self.pump_unsent();
        }
    }

    fn pump_unsent(&mut self) {
        if !self.c.usable() || self.c.link.is_some_and(|up| up.key_seq != 0) {
            // Nothing but the key exchange goes before its answer.
            return;
        }
        if let Some(quest) = self.c.sync.plan() {
            match self.send(quest) {
                Ok(seq) => {
                    let deadline = self.c.now.saturating_add(self.cfg.quest_timeout_ms);
                    self.c.sync.sent(quest, seq, deadline);
                }
                // No room in TX: the next call tries again.
                Err(_) => return,
            }
        }
        self.c.unsent = false;
    }

    /// Completes every pending command with 0 once the server's state equals the desired
    /// state and no quest is in flight.
    fn complete_if_in_sync(&mut self) {
        if self.c.sync.in_sync() {
            complete(&mut self.c.pending, &mut self.c.local, u32::MAX, code::OK);
            // A restoration held back (by the key exchange) ends without a quest when the
            // desired state came back to the new connection's empty state meanwhile.
            if self.c.sync.end_restoring() {
                self.local(LocalEvent::Restored { code: code::OK });
            }
        }
    }

    /// The host connected the transport. The desired listen state is established (flags,
    /// then ids) before any later command is sent.
    pub fn connected(&mut self, now: u64) {
        self.advance(now);
        if self.c.link.is_some() {
            // A new connection without a close of the old one: close it first, so that the
            // monitor sees `closed` before `connected`.
            self.closed(now, CloseReason::Host);
        }
        self.connections = self.connections.saturating_add(1);
        self.c.stats.connections += 1;
        let is_reconnect = self.connections > 1;
        self.c.link = Some(Up {
            since: self.c.now,
            last_rx: self.c.now,
            ping_seq: 0,
            ping_sent: 0,
            key_seq: 0,
        });
        self.c.closing = false;
        self.rx.reset();
        self.c.tx.clear();
        self.reconnect_at = None;
        self.c.sync.connected();
        self.c.unsent = true;
        info!("connected (reconnect: {})", is_reconnect);
        self.local(LocalEvent::Connected { is_reconnect });
        #[cfg(feature = "fpnn-encryption")]
        match self.start_key_exchange() {
            Ok(seq) => {
                if let Some(up) = &mut self.c.link {
                    up.key_seq = seq;
                }
            }
            Err(e) => {
                // Not reachable with a checked configuration; the connection cannot be used.
                warn!("key exchange not started: {=str}", e.as_str());
                self.c.stats.key_exchange_failures += 1;
                self.c.closing = true;
                self.local(LocalEvent::CloseRequested(CloseReason::KeyExchange {
                    code: code::TIMEOUT,
                }));
            }
        }
        self.pump();
    }

    /// Counts a failure and schedules the next attempt after the back-off; returns the delay
    /// (in ms, saturated to `u32`: 49 days).
    fn schedule_reconnect(&mut self) -> u32 {
        self.failures = self.failures.saturating_add(1);
        let delay = self.cfg.backoff.delay_ms(self.failures);
        self.reconnect_at = Some(self.c.now.saturating_add(delay));
        u32::try_from(delay).unwrap_or(u32::MAX)
    }

    /// A connection attempt failed for `reason`; the back-off advances.
    pub fn connect_failed(&mut self, now: u64, reason: CloseReason) {
        self.advance(now);
        let retry_in_ms = self.schedule_reconnect();
        self.c.stats.connect_failures += 1;
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
        self.advance(now);
        let Some(up) = self.c.link.take() else { return };
        self.c.closing = false;
        self.rx.reset();
        self.c.tx.clear();
        #[cfg(feature = "fpnn-encryption")]
        {
            self.opener = super::encryption::Slot::Empty;
            self.open_error = super::encryption::Slot::Empty;
        }
        if up.key_seq != 0 {
            // Closed before the server answered `*key`.
            self.c.stats.key_exchange_failures += 1;
        }
        if self.c.sync.closed() {
            self.local(LocalEvent::Restored {
                code: code::CONNECTION_CLOSED,
            });
        }
        if self.c.now.saturating_sub(up.since) >= self.cfg.backoff.failed_window_ms {
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

    /// Whether received bytes wait in the receive buffer (a frame not yet whole, or frames
    /// held back while TX was full).
    #[inline]
    pub fn has_buffered_input(&self) -> bool {
        self.rx.buffered() > 0
    }

    /// Replaces both buffers, for storage built in place (the C ABI's `rtm_listener_init`
    /// writes an unconfigured listener's zero bytes into the caller's memory, then sets its
    /// buffers and configures it, with no listener-sized temporary). Follow with
    /// [`Listener::configure`], which checks their sizes and resets the rest.
    pub fn set_buffers(&mut self, rx: R, tx: T) {
        let rx_len = rx.as_ref().len();
        self.rx = FrameReader::new(rx, rx_len);
        self.c.tx = TxQueue::new(tx);
    }

    /// The free part of the receive buffer, for transports that read in place. Follow with
    /// [`Listener::commit_input`].
    pub fn input_window(&mut self) -> &mut [u8] {
        self.rx.window()
    }

    /// Opens `n` received bytes that lie at the start of RX's free part (decrypts them, drops
    /// package prefixes) and returns how many plaintext bytes they gave; a bad package asks
    /// the host to close. Without encryption, `n`.
    fn open_window(&mut self, n: usize) -> usize {
        if self.c.closing {
            // The stream is unusable (a close was asked for): nothing more is read from it.
            return 0;
        }
        #[cfg(feature = "fpnn-encryption")]
        if let Some(opener) = self.opener.get_mut() {
            if self.open_error.is_full() {
                return 0;
            }
            let window = self.rx.window();
            let (m, error) = match window.get_mut(..n.min(window.len())) {
                Some(w) => opener.open(w),
                None => (0, None),
            };
            // The frames before a broken package are handled first; then the close request
            // ([`Listener::poll_events`] reports it).
            self.open_error = error.into();
            return m;
        }
        n
    }

    /// Takes received bytes into RX (opened, with encryption); returns how many were taken.
    fn feed(&mut self, data: &[u8]) -> usize {
        #[cfg(feature = "fpnn-encryption")]
        if let Some(opener) = self.opener.get_mut() {
            let window = self.rx.window();
            let n = window.len().min(data.len());
            if self.c.closing || self.open_error.is_full() {
                // The stream is unusable: nothing more is read from it (as `open_window`).
                return n;
            }
            let (m, error) = match data.get(..n) {
                Some(d) => opener.open_from(d, window),
                None => (0, None),
            };
            // The frames before a broken package are handled first (as `open_window`).
            self.open_error = error.into();
            self.rx.commit(m);
            return n;
        }
        self.rx.feed(data)
    }

    /// Whether received bytes must be opened before they are read (no zero-copy reading).
    #[cfg(feature = "fpnn-encryption")]
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn opening(&self) -> bool {
        self.opener.is_full()
    }

    /// The stream cannot be used on: asks the host to close it.
    fn request_close(&mut self, reason: CloseReason) {
        warn!("asking the host to close: {=str}", reason.as_str());
        self.c.closing = true;
        self.local(LocalEvent::CloseRequested(reason));
    }

    /// Marks `n` bytes of the last [`Listener::input_window`] as received. Follow with
    /// [`Listener::poll_events`].
    pub fn commit_input(&mut self, now: u64, n: usize) {
        self.advance(now);
        if let Some(up) = &mut self.c.link
            && n > 0
        {
            up.last_rx = self.c.now;
            let m = self.open_window(n);
            self.rx.commit(m);
        }
    }

    /// Bytes to send. They stay here until [`Listener::consume_transmit`] says the transport
    /// took them.
    pub fn transmit(&mut self) -> &[u8] {
        self.c.tx.data()
    }

    /// [`Listener::transmit`] as its start and length, without making the slice (for a C ABI,
    /// which hands out the two): the bytes stay valid until the next call that changes the
    /// listener.
    #[inline]
    pub fn transmit_parts(&self) -> (*const u8, usize) {
        self.c.tx.data_parts()
    }

    /// How many bytes [`Listener::transmit`] holds (without making the slice).
    #[inline]
    pub fn transmit_len(&self) -> usize {
        self.c.tx.len()
    }

    /// The transport accepted `n` bytes of [`Listener::transmit`].
    pub fn consume_transmit(&mut self, n: usize) {
        self.c.tx.consume(n);
        self.pump();
    }

    /// The earliest time [`Listener::handle_timeout`] has work to do, if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        // A running minimum rather than `chain(..).min()`: 120 bytes less flash on a Cortex-M4
        // (crates/firmware/BUDGETS.md), and no memcheck report on `None` slots' payloads.
        let mut next: Option<u64> = None;
        let mut earliest = |t: u64| next = Some(next.map_or(t, |n| n.min(t)));
        for p in self.c.pending.iter().flatten() {
            earliest(p.deadline);
        }
        let link = match self.c.link {
            Some(up) if !self.c.closing => {
                // A lost listen quest matters only while the connection is usable.
                if let Some(t) = self.c.sync.deadline() {
                    earliest(t);
                }
                let mut ping = up.last_rx.saturating_add(self.cfg.ping_interval_ms);
                if let Some(sent) = up.ping() {
                    ping = ping.max(sent.saturating_add(self.cfg.quest_timeout_ms));
                }
                if up.key_seq != 0 {
                    // No `*ping` during the key exchange; its answer is due by then.
                    ping = up.since.saturating_add(self.cfg.quest_timeout_ms);
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
        self.advance(now);
        let now = self.c.now;
        let code = if self.c.link.is_some() {
            code::TIMEOUT
        } else {
            code::NOT_CONNECTED
        };
        for i in 0..self.c.pending.len() {
            if let Some(p) = self.c.pending[i]
                && p.deadline <= now
            {
                // Not confirmed in time; the intent stays in the desired state.
                self.c.pending[i] = None;
                debug!("command {} timed out with {}", p.request.0, code);
                self.local(LocalEvent::Completed {
                    request: p.request,
                    code,
                });
            }
        }
        let usable = self.c.usable();
        // Once a close is requested, the close ends the quest in flight (and a restoration).
        let quest_lost = usable && self.c.sync.timed_out(now);
        if quest_lost && self.c.sync.end_restoring() {
            self.local(LocalEvent::Restored {
                code: code::TIMEOUT,
            });
        }
        if let Some(up) = self.c.link
            && usable
        {
            // A listen quest without an answer: its late answer could apply an older state
            // after a newer one, so the connection ends (restoration follows on the next).
            if quest_lost || now > up.last_rx.saturating_add(self.cfg.dead_after_ms()) {
                self.c.closing = true;
                warn!("dead link: nothing received since {} ms", up.last_rx);
                self.local(LocalEvent::CloseRequested(CloseReason::DeadLink));
            } else if up.key_seq != 0 {
                // The key exchange: no `*ping` before its answer, which is due within the
                // quest timeout.
                if now >= up.since.saturating_add(self.cfg.quest_timeout_ms) {
                    self.c.stats.key_exchange_failures += 1;
                    if let Some(up) = &mut self.c.link {
                        up.key_seq = 0;
                    }
                    self.request_close(CloseReason::KeyExchange {
                        code: code::TIMEOUT,
                    });
                }
            } else if now >= up.last_rx.saturating_add(self.cfg.ping_interval_ms)
                && up
                    .ping()
                    .is_none_or(|sent| now >= sent.saturating_add(self.cfg.quest_timeout_ms))
            {
                let seq = self.next_seq();
                if self.c.tx.push(|b| build_ping(b, seq)).is_ok() {
                    self.c.stats.pings += 1;
                    if let Some(up) = &mut self.c.link {
                        up.ping_seq = seq;
                        up.ping_sent = now;
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
        self.advance(now);
        let slot = self
            .c
            .pending
            .iter()
            .position(Option::is_none)
            .ok_or(CommandError::TooManyPending)?;
        self.c.sync.change(change)?;
        self.next_request = self.next_request.wrapping_add(1).max(1);
        let request = RequestId(self.next_request);
        self.c.pending[slot] = Some(Pending {
            request,
            generation: self.c.sync.generation(),
            deadline: self.c.now.saturating_add(self.cfg.quest_timeout_ms),
        });
        self.c.unsent = true;
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

    /// `addlisten`: listen to more ids and events. Completes with an [`Event::Completed`](super::Event::Completed).
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
