//! The WuKongIM listener (feature `wukong`): a sans-IO session for a monitor user on
//! WuKongIM's binary protocol, with the same driving contract and the same events as the RTM
//! [`Listener`](crate::session::Listener) (see the [session docs](crate::session)).
//!
//! Per connection: the CONNECT is queued as soon as the host reports the transport up (the
//! server drops a connection that says nothing for 4 s); the CONNACK brings the protocol
//! version both sides use and, when the server encrypts, its key and the IV
//! ([`crypto::wukong`](crate::crypto::wukong), feature `wukong-encryption`);
//! [`Event::Connected`] follows a successful CONNACK, and a close before it is
//! [`Event::ConnectFailed`].
//!
//! Each RECV is handled once, from its bytes to the monitor call and its RECVACK:
//! fields read, msgKey checked and payload decrypted in place (encrypted servers), mapped onto
//! the monitor's terms ([`wire::wukong::payload`](crate::wire::wukong::payload)), filtered for
//! duplicates on `message_id`, handed to the host as [`Event::Message`], then acknowledged.
//! The RECVACK is queued only after the callback returned, and only if it fits: without TX
//! room the RECV is not taken (it waits in RX, or with the host), exactly as the RTM
//! listener's answers. A re-sent RECV (the server re-sends unacknowledged messages every
//! 60 s) is acknowledged again but not delivered twice within the duplicate filter's TTL.
//! A RECV that cannot be delivered is reported as [`Event::BadPush`] with
//! [`MessageError::WuKong`] and its [`Reject`] reason; it is acknowledged
//! ([`WkConfig::ack_rejected`]) when its ids could be read.
//!
//! Keepalive: a PING every [`WkConfig::ping_interval_ms`] (the server's idle limit is 3
//! minutes); nothing received for [`WkConfig::dead_after_ms`], or no CONNACK within
//! [`WkConfig::connect_timeout_ms`], asks the host to close ([`CloseReason::DeadLink`]).
//! A DISCONNECT asks the host to close with [`CloseReason::WkDisconnected`]; a kick (reason
//! 12) is reported as [`Event::Kickout`] first. Reconnection follows the capped back-off;
//! after a kick or a refused login the next attempt waits at least the back-off's first step.
//!
//! What a WuKongIM RECV becomes: see [`WkFields`] and [`WkListener`]'s docs.

mod inbound;
mod listen;
mod webhook;

pub use listen::{WkIds, WkListenError, WkListenSet};
pub use webhook::WebhookOutcome;

use heapless::Deque;

use super::CloseReason;
use super::backoff::Backoff;
use super::dedup::Dedup;
use super::event::LocalEvent;
use super::tx::TxQueue;
use crate::wire::wukong::packet::{self, Connect, MAX_VERSION, MIN_VERSION, Recv};
use crate::wire::wukong::payload::{RoomTypes, numeric_id};
use crate::wire::wukong::{FrameError, PacketType, ReadError};

#[cfg(doc)]
use crate::{rtm::field::MessageError, session::Event, wire::wukong::Reject};

/// Default receive buffer of the WuKongIM listener: the largest packet delivered (larger ones
/// are skipped and reported).
pub const WK_DEFAULT_RX: usize = 16 * 1024;
/// Default transmit buffer (a CONNECT with the longest uid, token and device id fits).
pub const WK_DEFAULT_TX: usize = 1024;
/// Longest uid and device id the listener stores.
pub const MAX_UID: usize = 64;
/// Longest token the listener stores.
pub const MAX_TOKEN: usize = 256;
/// The smallest receive buffer: a RECV's fields up to its payload must fit to be acknowledged.
pub const WK_MIN_RX: usize = 512;

/// The WuKongIM listener's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WkConfig {
    /// The protocol version asked for in CONNECT (2 to 6; 5 for released v2 servers, 6 for
    /// v3). The server's CONNACK decides the version used.
    pub version: u8,
    /// The device flag sent in CONNECT (0 app, 1 web, 2 pc). Pick one that real clients of
    /// the monitor uid do not use: a login kicks other connections of the same uid and flag.
    pub device_flag: u8,
    /// A PING is sent when this long has passed since the last one (or since the CONNACK).
    pub ping_interval_ms: u64,
    /// Nothing received for this long: the link is dead.
    pub dead_after_ms: u64,
    /// No CONNACK this long after the transport came up: the link is dead.
    pub connect_timeout_ms: u64,
    /// How long a delivered message id is remembered by the duplicate filter (the server
    /// re-sends an unacknowledged message every 60 s, at most 5 times).
    pub dedup_ttl_ms: u64,
    /// The channel types delivered as rooms (`pushRoom*`); default 9 (live).
    pub rooms: RoomTypes,
    /// Channel types that are neither person (1), group (2) nor a room: delivered as groups
    /// when true (the default), rejected ([`Reject::ChannelType`]) when false.
    pub others_as_groups: bool,
    /// Whether a RECV that is rejected (msgKey mismatch, payload that does not decrypt, a
    /// refused channel type, too large) is acknowledged, so that the server stops re-sending
    /// it. Default true: it would be rejected again. It is reported either way.
    pub ack_rejected: bool,
    /// Reconnect advice.
    pub backoff: Backoff,
}

impl WkConfig {
    /// The defaults: version 5, device flag 2, a PING every 30 s, dead after 70 s of silence,
    /// 10 s for the CONNACK, duplicates remembered 6 minutes, rooms = type 9.
    pub const DEFAULT: Self = Self {
        version: 5,
        device_flag: 2,
        ping_interval_ms: 30_000,
        dead_after_ms: 70_000,
        connect_timeout_ms: 10_000,
        dedup_ttl_ms: 360_000,
        rooms: RoomTypes::of(&[crate::wire::wukong::payload::CHANNEL_LIVE]),
        others_as_groups: true,
        ack_rejected: true,
        backoff: Backoff::DEFAULT,
    };
}

impl Default for WkConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Who the listener logs in as.
#[derive(Clone, Copy)]
pub struct WkCredentials<'a> {
    /// The monitor user's uid (non-empty; no `@`, `#` or `&`).
    pub uid: &'a str,
    /// Its token (registered with `POST /user/token`). Never logged.
    pub token: &'a str,
    /// A device id unique to this listener.
    pub device_id: &'a str,
}

impl core::fmt::Debug for WkCredentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WkCredentials")
            .field("uid", &self.uid)
            .field("token", &"<redacted>")
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// Why a WuKongIM listener could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WkConfigError {
    /// The uid is empty, longer than [`MAX_UID`], or holds `@`, `#` or `&`.
    BadUid,
    /// The token is longer than [`MAX_TOKEN`].
    TokenTooLong,
    /// The device id is longer than [`MAX_UID`].
    DeviceIdTooLong,
    /// The version is not 2 to 6.
    BadVersion(u8),
    /// The receive buffer is smaller than [`WK_MIN_RX`], or the transmit buffer cannot hold
    /// the CONNECT.
    BuffersTooSmall,
    /// Encryption is compiled in and fewer than 32 bytes of entropy were given.
    ShortEntropy {
        /// Bytes given.
        got: usize,
    },
}

impl core::fmt::Display for WkConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadUid => f.write_str("uid empty, too long, or holding '@', '#' or '&'"),
            Self::TokenTooLong => write!(f, "token longer than {MAX_TOKEN} bytes"),
            Self::DeviceIdTooLong => write!(f, "device id longer than {MAX_UID} bytes"),
            Self::BadVersion(v) => write!(f, "protocol version {v} (2 to 6)"),
            Self::BuffersTooSmall => f.write_str("receive or transmit buffer too small"),
            Self::ShortEntropy { got } => write!(f, "{got} bytes of entropy (at least 32)"),
        }
    }
}

impl core::error::Error for WkConfigError {}

/// Why the stream from a WuKongIM server cannot be read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WkProtocolError {
    /// The framing is broken (unknown packet type, length over 4 bytes or 1 MiB).
    Frame(FrameError),
    /// A CONNACK or DISCONNECT whose fields cannot be read.
    Malformed {
        /// The packet.
        packet: PacketType,
        /// What was wrong.
        error: ReadError,
    },
    /// A packet a server does not send to a listener at this point (a RECV before the
    /// CONNACK, a second CONNACK, a client packet).
    Unexpected(PacketType),
    /// The CONNACK's key or salt cannot give the payload keys.
    #[cfg(feature = "wukong-encryption")]
    Keys(crate::crypto::wukong::WkCryptoError),
    /// The server encrypts and this build has no `wukong-encryption`.
    EncryptionNotCompiled,
}

impl WkProtocolError {
    /// A short fixed description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Frame(e) => e.as_str(),
            Self::Malformed { .. } => "malformed WuKongIM packet",
            Self::Unexpected(_) => "unexpected WuKongIM packet",
            #[cfg(feature = "wukong-encryption")]
            Self::Keys(e) => e.as_str(),
            Self::EncryptionNotCompiled => "the WuKongIM server encrypts (feature not compiled)",
        }
    }
}

impl core::fmt::Display for WkProtocolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "{e}"),
            Self::Malformed { packet, error } => write!(f, "{packet:?}: {error}"),
            Self::Unexpected(p) => write!(f, "unexpected WuKongIM {p:?}"),
            _ => f.write_str(self.as_str()),
        }
    }
}

/// WuKongIM's fields of a delivered message, beside the RTM-shaped
/// [`Message`](crate::rtm::push::Message) of the same event
/// ([`MessageEvent::wukong`](crate::session::MessageEvent::wukong)).
///
/// The RTM-shaped message is filled so: `from` and `to` are the integer values of
/// `from_uid` and of the receiver (the listener's uid for person channels, `channel_id`
/// otherwise) when those strings are decimal numbers, and **0 when they are not** (the strings
/// are always here); `mid` = `message_id`; `mtime` = `timestamp` × 1000; `mtype` = the
/// payload's JSON `type` when it fits an `i8`, else 0 ([`WkFields::content_type`] has it
/// whole); `msg` = the payload (decrypted); `attrs` is empty. A file message's `url`, `size`
/// and `surl` come from [`MessageEvent::file_info`](crate::session::MessageEvent::file_info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WkFields<'a> {
    /// The RECV as read, with its payload decrypted (`recv.from_uid`, `recv.channel_id`,
    /// `recv.channel_type`, `recv.client_msg_no`, `recv.message_seq`, `recv.topic`, the
    /// header flags in `recv.flags`, `recv.setting`, `recv.expire`, `recv.stream`).
    pub recv: Recv<'a>,
    /// The payload's JSON `type` (the payload convention's content type), if it has one.
    pub content_type: Option<i64>,
}

/// Counters since the listener was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WkStats {
    /// RECVs handled (delivered, duplicate or rejected).
    pub received: u64,
    /// RECVs delivered to the host.
    pub delivered: u64,
    /// RECVs not delivered again (seen within the duplicate filter's TTL).
    pub duplicates: u64,
    /// RECVs rejected (reported as `BadPush`).
    pub rejected: u64,
    /// RECVACKs queued.
    pub acks: u64,
    /// PINGs queued.
    pub pings: u64,
    /// Successful logins (CONNACK success).
    pub logins: u64,
}

/// Where a connection is.
enum State {
    /// CONNECT sent, waiting for the CONNACK.
    Login {
        #[cfg(feature = "wukong-encryption")]
        key: crate::crypto::wukong::ClientKey,
    },
    /// Logged in.
    Up {
        /// The version both sides use.
        version: u8,
        /// When the CONNACK came.
        since: u64,
        /// The payload keys (`None`: the server does not encrypt).
        #[cfg(feature = "wukong-encryption")]
        keys: Option<crate::crypto::wukong::PayloadKeys>,
    },
}

/// A transport that is up.
struct Link {
    opened_at: u64,
    last_rx: u64,
    last_ping: u64,
    state: State,
}

/// The receive buffer: bytes `start..end` wait to be read; `skip` bytes of an oversized packet
/// are still to be discarded as they arrive.
struct Rx<const N: usize> {
    buf: [u8; N],
    start: usize,
    end: usize,
    skip: usize,
}

/// Everything but the receive buffer, so that a packet's body (in RX) can be borrowed while
/// the session acts on it.
struct Core<const TX: usize> {
    cfg: WkConfig,
    uid: heapless::Vec<u8, MAX_UID>,
    token: heapless::Vec<u8, MAX_TOKEN>,
    device_id: heapless::Vec<u8, MAX_UID>,
    /// The uid as an integer, 0 when it is not a decimal number.
    uid_number: i64,
    tx: TxQueue<[u8; TX]>,
    dedup: Dedup,
    local: Deque<LocalEvent, 4>,
    link: Option<Link>,
    /// The close asked for, until the host reports it.
    closing: Option<CloseReason>,
    now: u64,
    /// The Unix time in ms at monotonic time `unix_at`.
    unix_ms: i64,
    unix_at: u64,
    failures: u32,
    reconnect_at: Option<u64>,
    #[cfg(feature = "wukong-encryption")]
    keygen: super::keygen::KeyGen,
    stats: WkStats,
    /// What the webhooks deliver.
    listen: WkListenSet,
}

/// What became of a packet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Handled: its bytes can go.
    Done,
    /// Not handled: its RECVACK does not fit TX now.
    Blocked,
}

/// The WuKongIM listener, with its buffers inline: RX `RX` bytes (default 16 KiB, at least
/// [`WK_MIN_RX`]), TX `TX` bytes (default 1 KiB).
///
/// Driven like the RTM [`Listener`](crate::session::Listener): [`WkListener::connected`],
/// [`WkListener::handle_input`] (or [`WkListener::input_window`] +
/// [`WkListener::commit_input`]), [`WkListener::handle_timeout`] at
/// [`WkListener::poll_timeout`], [`WkListener::closed`], then [`WkListener::poll_events`]
/// and [`WkListener::transmit`] after every call. Events are the RTM listener's:
/// [`Event::Message`] (with [`WkFields`]), [`Event::PushEvent`] for EVENT packets (`pid`
/// and `uid` 0, `event` = the type, `time` = its timestamp, `endpoint` = its id, `data` = its
/// data), [`Event::Kickout`], [`Event::BadPush`] (method `RECV`), and the connection events.
pub struct WkListener<const RX: usize = WK_DEFAULT_RX, const TX: usize = WK_DEFAULT_TX> {
    rx: Rx<RX>,
    c: Core<TX>,
}

impl<const RX: usize, const TX: usize> core::fmt::Debug for WkListener<RX, TX> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WkListener")
            .field("uid", &core::str::from_utf8(&self.c.uid).unwrap_or("?"))
            .field("connected", &self.is_connected())
            .field("stats", &self.c.stats)
            .finish_non_exhaustive()
    }
}

impl<const TX: usize> Drop for Core<TX> {
    fn drop(&mut self) {
        // The token is a secret.
        zeroize::Zeroize::zeroize(self.token.as_mut_slice());
    }
}

/// The CONNECT's length for these credentials.
fn connect_len(uid: usize, token: usize, device_id: usize) -> usize {
    // version, flag, three strings, timestamp, the key string (44 base64 bytes).
    let body = 1 + 1 + (2 + device_id) + (2 + uid) + (2 + token) + 8 + (2 + 44);
    1 + crate::wire::wukong::header::length_len(body) + body
}

impl WkListener {
    /// A listener for `creds` with the default buffers ([`WK_DEFAULT_RX`] and
    /// [`WK_DEFAULT_TX`] bytes; [`WkListener::sized`] for other sizes). `entropy` seeds the
    /// duplicate filter and, with `wukong-encryption`, the per-connection X25519 keys: at
    /// least 32 bytes from the host's random source (more can be stirred in with
    /// [`WkListener::add_entropy`]).
    ///
    /// ```
    /// use rtm_listen::prelude::*;
    ///
    /// let creds = WkCredentials { uid: "monitor", token: "monitor-token", device_id: "gw-1" };
    /// let listener = WkListener::new(WkConfig::DEFAULT, creds, &[7; 32])?;
    /// assert!(!listener.is_connected());
    /// # Ok::<(), rtm_listen::session::wukong::WkConfigError>(())
    /// ```
    pub fn new(
        cfg: WkConfig,
        creds: WkCredentials<'_>,
        entropy: &[u8],
    ) -> Result<Self, WkConfigError> {
        Self::sized(cfg, creds, entropy)
    }
}

impl<const RX: usize, const TX: usize> WkListener<RX, TX> {
    /// A listener with buffers of `RX` and `TX` bytes, as [`WkListener::new`] does with the
    /// default sizes.
    pub fn sized(
        cfg: WkConfig,
        creds: WkCredentials<'_>,
        entropy: &[u8],
    ) -> Result<Self, WkConfigError> {
        let uid = creds.uid.as_bytes();
        if uid.is_empty() || uid.len() > MAX_UID || uid.iter().any(|b| b"@#&".contains(b)) {
            return Err(WkConfigError::BadUid);
        }
        if creds.token.len() > MAX_TOKEN {
            return Err(WkConfigError::TokenTooLong);
        }
        if creds.device_id.len() > MAX_UID {
            return Err(WkConfigError::DeviceIdTooLong);
        }
        if !(MIN_VERSION..=MAX_VERSION).contains(&cfg.version) {
            return Err(WkConfigError::BadVersion(cfg.version));
        }
        if RX < WK_MIN_RX || TX < connect_len(uid.len(), creds.token.len(), creds.device_id.len()) {
            return Err(WkConfigError::BuffersTooSmall);
        }
        #[cfg(feature = "wukong-encryption")]
        if entropy.len() < 32 {
            return Err(WkConfigError::ShortEntropy { got: entropy.len() });
        }
        let seed = entropy.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let dedup = Dedup::new(seed, cfg.dedup_ttl_ms);
        #[cfg(feature = "wukong-encryption")]
        let keygen = {
            let mut g = super::keygen::KeyGen::EMPTY;
            g.stir(entropy);
            g
        };
        let mut c = Core {
            cfg,
            uid: heapless::Vec::new(),
            token: heapless::Vec::new(),
            device_id: heapless::Vec::new(),
            uid_number: numeric_id(uid).unwrap_or(0),
            tx: TxQueue::new([0; TX]),
            dedup,
            local: Deque::new(),
            link: None,
            closing: None,
            now: 0,
            unix_ms: 0,
            unix_at: 0,
            failures: 0,
            reconnect_at: None,
            #[cfg(feature = "wukong-encryption")]
            keygen,
            stats: WkStats::default(),
            listen: WkListenSet::default(),
        };
        // The lengths were checked above.
        let _ = c.uid.extend_from_slice(uid);
        let _ = c.token.extend_from_slice(creds.token.as_bytes());
        let _ = c.device_id.extend_from_slice(creds.device_id.as_bytes());
        Ok(Self {
            rx: Rx {
                buf: [0; RX],
                start: 0,
                end: 0,
                skip: 0,
            },
            c,
        })
    }

    /// Stirs more host entropy into the per-connection key generator (no effect without
    /// `wukong-encryption`).
    pub fn add_entropy(&mut self, entropy: &[u8]) {
        #[cfg(feature = "wukong-encryption")]
        self.c.keygen.stir(entropy);
        #[cfg(not(feature = "wukong-encryption"))]
        let _ = entropy;
    }

    /// The Unix time in ms at monotonic time `now` (for CONNECT's client timestamp).
    pub fn set_unix_time(&mut self, now: u64, unix_ms: i64) {
        self.c.advance(now);
        self.c.unix_ms = unix_ms;
        self.c.unix_at = self.c.now;
    }

    /// Whether the listener is logged in (a CONNACK with success on the current transport).
    pub fn is_connected(&self) -> bool {
        matches!(
            self.c.link,
            Some(Link {
                state: State::Up { .. },
                ..
            })
        )
    }

    /// The protocol version in use, once logged in.
    pub fn version(&self) -> Option<u8> {
        match &self.c.link {
            Some(Link {
                state: State::Up { version, .. },
                ..
            }) => Some(*version),
            _ => None,
        }
    }

    /// Whether the listener asked the host to close the transport (and waits for
    /// [`WkListener::closed`]).
    pub fn wants_close(&self) -> bool {
        self.c.closing.is_some()
    }

    /// Wipes the stored token (the listener cannot log in again afterwards: its CONNECT
    /// carries an empty token). Dropping the listener wipes it too; this is for storage that
    /// is never dropped (the C ABI's).
    pub fn wipe_secrets(&mut self) {
        zeroize::Zeroize::zeroize(self.c.token.as_mut_slice());
        self.c.token.clear();
    }

    /// Adds ids and events to what the webhooks deliver ([`WkListener::handle_webhook`]):
    /// P2P messages from or to `uids`, group messages of `gids`, room messages of `rids`,
    /// `login`/`logout` presence. All or nothing. The socket delivers what the server pushes
    /// to the monitor user (the channels it subscribed to) whatever this set holds.
    pub fn add_listen<S: AsRef<[u8]>>(&mut self, ids: WkIds<'_, S>) -> Result<(), WkListenError> {
        self.c.listen.change(ids, true)
    }

    /// Removes ids and events from what the webhooks deliver. All or nothing.
    pub fn remove_listen<S: AsRef<[u8]>>(
        &mut self,
        ids: WkIds<'_, S>,
    ) -> Result<(), WkListenError> {
        self.c.listen.change(ids, false)
    }

    /// Replaces the ids and events the webhooks deliver (the "all" flags stay).
    pub fn set_listen<S: AsRef<[u8]>>(&mut self, ids: WkIds<'_, S>) -> Result<(), WkListenError> {
        self.c.listen.set(ids)
    }

    /// Every P2P message, group message, room message, presence event of the webhooks.
    pub fn set_listen_all(&mut self, p2p: bool, groups: bool, rooms: bool, events: bool) {
        self.c.listen.set_all(p2p, groups, rooms, events);
    }

    /// What the webhooks deliver.
    pub fn listen_set(&self) -> &WkListenSet {
        &self.c.listen
    }

    /// The counters.
    pub fn stats(&self) -> WkStats {
        self.c.stats
    }

    /// The transport is up: the CONNECT is queued (with a fresh X25519 key when encryption
    /// is compiled in).
    pub fn connected(&mut self, now: u64) {
        self.c.advance(now);
        self.rx.start = 0;
        self.rx.end = 0;
        self.rx.skip = 0;
        self.c.tx.clear();
        self.c.closing = None;
        self.c.reconnect_at = None;
        let now = self.c.now;
        let state = self.c.queue_connect();
        self.c.link = Some(Link {
            opened_at: now,
            last_rx: now,
            last_ping: now,
            state,
        });
    }

    /// A connection attempt failed before the transport came up.
    pub fn connect_failed(&mut self, now: u64, reason: CloseReason) {
        self.c.advance(now);
        self.c.link = None;
        self.c.end(reason, false, false);
    }

    /// The transport closed, for any reason (including a close the listener asked for).
    pub fn closed(&mut self, now: u64, reason: CloseReason) {
        self.c.advance(now);
        let Some(link) = self.c.link.take() else {
            return;
        };
        let (up, lived) = match link.state {
            State::Up { since, .. } => (true, self.c.now.saturating_sub(since)),
            State::Login { .. } => (false, 0),
        };
        self.rx.start = 0;
        self.rx.end = 0;
        self.rx.skip = 0;
        self.c.tx.clear();
        self.c.closing = None;
        self.c
            .end(reason, up, lived >= self.c.cfg.backoff.failed_window_ms);
    }

    /// When the next connection attempt is advised (monotonic ms), while disconnected.
    pub fn reconnect_at(&self) -> Option<u64> {
        match self.c.link {
            Some(_) => None,
            None => Some(self.c.reconnect_at.unwrap_or(0)),
        }
    }

    /// Bytes waiting to be sent.
    pub fn transmit(&mut self) -> &[u8] {
        self.c.tx.data()
    }

    /// The transport took `n` bytes of [`WkListener::transmit`].
    pub fn consume_transmit(&mut self, n: usize) {
        self.c.tx.consume(n);
    }

    /// The next deadline (monotonic ms) at which [`WkListener::handle_timeout`] has work:
    /// a PING, the dead-link check, the CONNACK's timeout. `None` when disconnected or when
    /// a close was asked for.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.c.closing.is_some() {
            return None;
        }
        let link = self.c.link.as_ref()?;
        let cfg = &self.c.cfg;
        Some(match link.state {
            State::Login { .. } => link.opened_at.saturating_add(cfg.connect_timeout_ms),
            State::Up { .. } => link
                .last_ping
                .saturating_add(cfg.ping_interval_ms)
                .min(link.last_rx.saturating_add(cfg.dead_after_ms)),
        })
    }

    /// Acts on the deadlines that have passed: queues a PING, or asks the host to close a
    /// dead link.
    pub fn handle_timeout(&mut self, now: u64) {
        self.c.advance(now);
        let now = self.c.now;
        if self.c.closing.is_some() {
            return;
        }
        let cfg = self.c.cfg;
        let Some(link) = self.c.link.as_mut() else {
            return;
        };
        match link.state {
            State::Login { .. } => {
                if now >= link.opened_at.saturating_add(cfg.connect_timeout_ms) {
                    self.c.request_close(CloseReason::DeadLink);
                }
            }
            State::Up { .. } => {
                if now >= link.last_rx.saturating_add(cfg.dead_after_ms) {
                    self.c.request_close(CloseReason::DeadLink);
                    return;
                }
                if now >= link.last_ping.saturating_add(cfg.ping_interval_ms) {
                    // Counted as sent even when TX is full: the next one comes an interval
                    // later, and the dead-link check still runs.
                    link.last_ping = now;
                    if self.c.tx.push_array(packet::PING) {
                        self.c.stats.pings += 1;
                    }
                }
            }
        }
    }
}

impl<const TX: usize> Core<TX> {
    fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    fn unix_now(&self) -> i64 {
        let since = i64::try_from(self.now.saturating_sub(self.unix_at)).unwrap_or(i64::MAX);
        self.unix_ms.saturating_add(since)
    }

    /// Queues the CONNECT into the (empty) TX; returns the login state.
    fn queue_connect(&mut self) -> State {
        #[cfg(feature = "wukong-encryption")]
        let key = {
            use zeroize::Zeroize;
            let mut material = self.keygen.next();
            let key = crate::crypto::wukong::ClientKey::from_random(material);
            material.zeroize();
            key
        };
        #[cfg(feature = "wukong-encryption")]
        let public = key.public_key_b64();
        #[cfg(feature = "wukong-encryption")]
        let client_key: &[u8] = &public;
        #[cfg(not(feature = "wukong-encryption"))]
        let client_key: &[u8] = &[];
        let connect = Connect {
            version: self.cfg.version,
            device_flag: self.cfg.device_flag,
            device_id: &self.device_id,
            uid: &self.uid,
            token: &self.token,
            client_timestamp: self.unix_now(),
            client_key,
        };
        // TX was just cleared and holds a CONNECT of these credentials (checked in `new`).
        let _ = self.tx.push(|b| {
            packet::build_connect(b, &connect).map_err(|_| {
                crate::wire::frame::BuildError::BufferTooSmall {
                    needed: b.len() + 1,
                }
            })
        });
        State::Login {
            #[cfg(feature = "wukong-encryption")]
            key,
        }
    }

    /// Asks the host to close (once).
    fn request_close(&mut self, reason: CloseReason) {
        if self.closing.is_none() {
            warn!("asking the host to close: {=str}", reason.as_str());
            self.closing = Some(reason);
            self.push_local(LocalEvent::CloseRequested(reason));
        }
    }

    fn push_local(&mut self, e: LocalEvent) {
        if self.local.is_full() {
            // At most a close request and a connection event are ever queued; drop the
            // oldest rather than the newest.
            self.local.pop_front();
        }
        let _ = self.local.push_back(e);
    }

    /// A connection ended (`up`: after a CONNACK; `lived`: long enough to reset the
    /// back-off).
    fn end(&mut self, reason: CloseReason, up: bool, lived: bool) {
        if lived {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        let slow = matches!(
            reason,
            CloseReason::WkRefused { .. } | CloseReason::WkDisconnected { .. }
        );
        if slow {
            // A refused login or a kick would come back at once: wait at least the first step.
            self.failures = self
                .failures
                .max(self.cfg.backoff.immediate.saturating_add(1));
        }
        let retry = self.cfg.backoff.delay_ms(self.failures);
        self.reconnect_at = Some(self.now.saturating_add(retry));
        let retry_in_ms = u32::try_from(retry).unwrap_or(u32::MAX);
        // Closed: whether this connection was a reconnection; failed: whether one came before.
        let logins = self.stats.logins;
        let is_reconnect = if up { logins > 1 } else { logins > 0 };
        let e = if up {
            LocalEvent::Closed {
                is_reconnect,
                reason,
                retry_in_ms,
            }
        } else {
            LocalEvent::ConnectFailed {
                is_reconnect,
                reason,
                retry_in_ms,
            }
        };
        self.push_local(e);
    }
}
