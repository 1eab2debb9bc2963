//! The WuKongIM listener through the C ABI (`rtm_wk_*`): the engine's `WkListener` in
//! caller-owned storage, driven like `rtm_listener` (connected, receive, transmit,
//! transmit_done, handle_timeout, closed), calling the same `rtm_monitor`. Messages carry
//! `rtm_message.wukong` with WuKongIM's string ids and fields.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU32;

use engine::rtm::dispatch::Category;
use engine::session::wukong::{WkConfig, WkConfigError, WkCredentials, WkListener};
use engine::session::{Event, MessageEvent};
use engine::wire::wukong::payload::RoomTypes;

use crate::api::bytes;
use crate::callbacks::message_table;
use crate::handle::{ENDPOINT_MAX, Host, Inner, RawBuf, WORD_BUSY, WORD_IDLE, deinit_in, enter_in};
use crate::info::InfoSlot;
use crate::reason;
use crate::status::*;
use crate::types::*;

/// Bytes of `rtm_wk_listener` (its receive buffer of 16 KiB, transmit buffer of 1 KiB and
/// file-info scratch of 4 KiB inline, with the duplicate filter, the listen set and the
/// monitor; room for the listen set at every `RTM_LISTEN_IDS` the RTM listener's storage takes).
pub const RTM_WK_LISTENER_STORAGE: usize = 32768;

/// The scratch a file message's info is unescaped into.
const INFO_SCRATCH: usize = 4096;

/// Caller-owned storage for one WuKongIM listener (use it as a `static`, on the heap, or inside
/// another struct). Initialise it with `rtm_wk_listener_init` before any other call; it must
/// not move afterwards.
#[repr(C, align(16))]
pub struct rtm_wk_listener {
    /// Opaque.
    pub opaque: [u8; RTM_WK_LISTENER_STORAGE],
}

/// The WuKongIM listener's settings. Start from `rtm_wk_config_default()` and set the
/// credentials, the entropy and the monitor.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_wk_config {
    /// The monitor user's uid (1 to 64 bytes; no `@`, `#` or `&`).
    pub uid: rtm_str,
    /// Its token (at most 256 bytes), never logged; the listener keeps a copy, wiped by
    /// `rtm_wk_listener_deinit`.
    pub token: rtm_str,
    /// A device id unique to this listener (at most 64 bytes).
    pub device_id: rtm_str,
    /// The protocol version asked for (2 to 6; default 5).
    pub version: u8,
    /// The device flag (0 app, 1 web, 2 pc; default 2). A login kicks other connections of
    /// the same uid and flag.
    pub device_flag: u8,
    /// A PING after this long without one (default 30000).
    pub ping_interval_ms: u64,
    /// Nothing received for this long: the link is dead (default 70000).
    pub dead_after_ms: u64,
    /// No CONNACK this long after `rtm_wk_listener_connected`: the link is dead (default 10000).
    pub connect_timeout_ms: u64,
    /// How long a delivered message id is remembered against re-sends (default 360000).
    pub dedup_ttl_ms: u64,
    /// The channel types delivered to the `push_room_*` callbacks; with `room_types_len` 0,
    /// the default: 9 (live).
    pub room_types: *const u8,
    /// Number of `room_types`.
    pub room_types_len: usize,
    /// Channel types that are neither person, group nor a room: delivered as groups (true,
    /// the default) or rejected to `bad_push`.
    pub others_as_groups: bool,
    /// Whether a rejected RECV (msgKey mismatch, undecryptable, too large, refused channel
    /// type) is acknowledged so that the server stops re-sending it (default true).
    pub ack_rejected: bool,
    /// At least 32 bytes from the host's random source (the X25519 keys, the duplicate
    /// filter's seed); copied.
    pub entropy: *const u8,
    /// Number of `entropy` bytes.
    pub entropy_len: usize,
    /// The callbacks (copied). Messages carry `rtm_message.wukong`; `push_event` gets EVENT
    /// packets (`pid` and `uid` 0, `event` the type, `time` its timestamp, `endpoint` its id);
    /// `kickout` a kick; `bad_push("RECV", code 10003, ...)` a rejected RECV.
    pub monitor: rtm_monitor,
}

/// Counters since `rtm_wk_listener_init` (`rtm_wk_listener_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rtm_wk_stats {
    /// RECVs handled.
    pub received: u64,
    /// RECVs delivered to a callback.
    pub delivered: u64,
    /// Re-sent RECVs acknowledged and not delivered again.
    pub duplicates: u64,
    /// RECVs rejected (reported to `bad_push`).
    pub rejected: u64,
    /// RECVACKs queued.
    pub acks: u64,
    /// PINGs queued.
    pub pings: u64,
    /// Successful logins.
    pub logins: u64,
}

/// The state in the storage: the engine's listener and the C side.
pub(crate) struct WkState {
    listener: WkListener,
    host: Host,
}

/// Where the file-info scratch starts in the storage: after the state, outside it (so that
/// the `&mut WkState` of a call never covers the bytes the info slot writes through its own
/// pointer).
const SCRATCH_AT: usize = core::mem::size_of::<Inner<WkState>>();

const _: () = assert!(SCRATCH_AT + INFO_SCRATCH <= RTM_WK_LISTENER_STORAGE);
const _: () = assert!(core::mem::align_of::<Inner<WkState>>() <= 16);

/// The defaults (a zeroed monitor, no credentials, no entropy).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_wk_config_default() -> rtm_wk_config {
    let d = WkConfig::DEFAULT;
    rtm_wk_config {
        uid: rtm_str::from(&[][..]),
        token: rtm_str::from(&[][..]),
        device_id: rtm_str::from(&[][..]),
        version: d.version,
        device_flag: d.device_flag,
        ping_interval_ms: d.ping_interval_ms,
        dead_after_ms: d.dead_after_ms,
        connect_timeout_ms: d.connect_timeout_ms,
        dedup_ttl_ms: d.dedup_ttl_ms,
        room_types: core::ptr::null(),
        room_types_len: 0,
        others_as_groups: d.others_as_groups,
        ack_rejected: d.ack_rejected,
        entropy: core::ptr::null(),
        entropy_len: 0,
        // SAFETY: every field of `rtm_monitor` is a pointer or an optional function pointer,
        // for which zero bytes are NULL / `None`.
        monitor: unsafe { core::mem::zeroed() },
    }
}

/// `sizeof(rtm_wk_listener)`.
#[unsafe(no_mangle)]
pub extern "C" fn rtm_wk_listener_size() -> usize {
    core::mem::size_of::<rtm_wk_listener>()
}

/// # Safety
/// As for [`bytes`].
unsafe fn text<'a>(s: rtm_str) -> Result<&'a str, rtm_status> {
    // SAFETY: forwarded.
    let b = unsafe { bytes(s) }?;
    core::str::from_utf8(b).map_err(|_| RTM_ERR_INVALID_ARG)
}

/// Builds a WuKongIM listener in `storage` (`storage_len` bytes, at least
/// `sizeof(rtm_wk_listener)`, aligned to 16). Errors: `RTM_ERR_NULL`, `RTM_ERR_STORAGE`,
/// `RTM_ERR_INVALID_ARG` (a bad uid, a token over 256 bytes, a device id over 64 bytes, a
/// version outside 2 to 6, text that is not UTF-8), `RTM_ERR_SHORT_ENTROPY` (fewer than 32
/// bytes), `RTM_ERR_BUSY` (the storage holds a listener inside one of its calls). The storage
/// is left untouched on error. The listener is built on the stack first and then moved into
/// the storage (about 18 KiB of stack): unlike `rtm_listener_init`, this one is not for small
/// stacks.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `storage` or `config`, or a NULL string,
/// `room_types` or `entropy` with a nonzero length); `RTM_ERR_STORAGE`; `RTM_ERR_INVALID_ARG`;
/// `RTM_ERR_SHORT_ENTROPY`; `RTM_ERR_BUFFER_TOO_SMALL` (the engine's error for buffers below
/// their minimums; not returned with this library's buffers); `RTM_ERR_BUSY`.
///
/// # Safety
/// `storage` must be NULL or valid for writes of `storage_len` bytes; `config` NULL or
/// readable, with its pointers readable for their lengths.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_init(
    storage: *mut rtm_wk_listener,
    storage_len: usize,
    config: *const rtm_wk_config,
) -> rtm_status {
    if storage.is_null() || config.is_null() {
        return RTM_ERR_NULL;
    }
    if storage_len < core::mem::size_of::<rtm_wk_listener>() || !storage.is_aligned() {
        return RTM_ERR_STORAGE;
    }
    // SAFETY: checked non-NULL; readable (caller).
    let c = unsafe { &*config };
    // SAFETY: the caller guarantees the strings and lists are readable for their lengths.
    let parts = unsafe {
        (|| {
            let creds = WkCredentials {
                uid: text(c.uid)?,
                token: text(c.token)?,
                device_id: text(c.device_id)?,
            };
            let rooms = bytes(rtm_str {
                ptr: c.room_types,
                len: c.room_types_len,
            })?;
            let entropy = bytes(rtm_str {
                ptr: c.entropy,
                len: c.entropy_len,
            })?;
            Ok::<_, rtm_status>((creds, rooms, entropy))
        })()
    };
    let (creds, rooms, entropy) = match parts {
        Ok(p) => p,
        Err(e) => return e,
    };
    let cfg = WkConfig {
        version: c.version,
        device_flag: c.device_flag,
        ping_interval_ms: c.ping_interval_ms,
        dead_after_ms: c.dead_after_ms,
        connect_timeout_ms: c.connect_timeout_ms,
        dedup_ttl_ms: c.dedup_ttl_ms,
        rooms: if rooms.is_empty() {
            RoomTypes::default()
        } else {
            RoomTypes::of(rooms)
        },
        others_as_groups: c.others_as_groups,
        ack_rejected: c.ack_rejected,
        ..WkConfig::DEFAULT
    };
    let inner = storage.cast::<Inner<WkState>>();
    // SAFETY: the storage is valid and aligned (checked); the word is read as a plain integer.
    let word = unsafe {
        core::ptr::addr_of!((*inner).word)
            .cast::<u32>()
            .read_volatile()
    };
    if word == WORD_BUSY {
        return RTM_ERR_BUSY;
    }
    let listener = match WkListener::new(cfg, creds, entropy) {
        Ok(l) => l,
        Err(WkConfigError::ShortEntropy { .. }) => return RTM_ERR_SHORT_ENTROPY,
        Err(WkConfigError::BuffersTooSmall) => return RTM_ERR_BUFFER_TOO_SMALL,
        Err(_) => return RTM_ERR_INVALID_ARG,
    };
    let host = Host {
        monitor: c.monitor,
        messages: message_table(&c.monitor),
        // Set to the state's scratch once the state is in the storage (below).
        // SAFETY: a dangling pointer is valid for zero bytes.
        info: InfoSlot::new(unsafe { RawBuf::new(NonNull::dangling(), 0) }),
        info_modes: [crate::info::INFO_NONE; crate::info::CATEGORIES],
        rx_size: 0,
        close: false,
        endpoint: [0; ENDPOINT_MAX],
        endpoint_len: 0,
        close_reason: None,
        transport: rtm_transport {
            send: None,
            user: core::ptr::null_mut(),
        },
    };
    // SAFETY: valid, aligned storage (checked) not in use by a call (checked); any previous
    // content is overwritten without being dropped (a previous listener's token is wiped by
    // `rtm_wk_listener_deinit`). The scratch pointer is derived from the storage pointer (not
    // from the state), non-NULL, and valid for INFO_SCRATCH bytes inside the storage
    // (`SCRATCH_AT + INFO_SCRATCH` fits, asserted above) that only the info slot uses.
    unsafe {
        inner.write(Inner {
            word: AtomicU32::new(WORD_IDLE),
            state: UnsafeCell::new(WkState { listener, host }),
        });
        // The info slot's scratch: the storage's bytes after the state, which do not move while
        // the listener lives (the caller's contract) and which only the slot uses.
        let scratch = NonNull::new_unchecked(storage.cast::<u8>().add(SCRATCH_AT));
        (*(*inner).state.get()).host.info = InfoSlot::new(RawBuf::new(scratch, INFO_SCRATCH));
    };
    RTM_OK
}

/// Ends the listener: its token is wiped and the storage no longer holds a listener.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or storage given to `rtm_wk_listener_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_deinit(l: *mut rtm_wk_listener) -> rtm_status {
    // SAFETY: forwarded.
    let status = unsafe {
        enter_in(l.cast::<Inner<WkState>>(), |s| {
            s.listener.wipe_secrets();
            RTM_OK
        })
    };
    if status != RTM_OK {
        return status;
    }
    // SAFETY: forwarded.
    unsafe { deinit_in(l.cast::<Inner<WkState>>()) }
}

/// # Safety
/// As for `enter_in`.
#[inline(always)]
pub(crate) unsafe fn enter_wk(
    l: *mut rtm_wk_listener,
    f: impl FnOnce(&mut WkState) -> rtm_status,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { enter_in(l.cast::<Inner<WkState>>(), f) }
}

impl WkState {
    /// The engine's listener and the C side, borrowed apart.
    pub(crate) fn parts(&mut self) -> (&mut WkListener, &mut Host) {
        (&mut self.listener, &mut self.host)
    }
}

/// Delivers every pending event; `RTM_CLOSE` when the listener asked to close.
fn finish(s: &mut WkState) -> rtm_status {
    let WkState { listener, host } = s;
    host.close = false;
    listener.poll_events(|e| deliver(host, e));
    if host.close || listener.wants_close() {
        RTM_CLOSE
    } else {
        RTM_OK
    }
}

/// One event to the monitor: a message with its WuKongIM view, anything else as for RTM.
pub(crate) fn deliver(host: &mut Host, e: Event<'_>) {
    match e {
        Event::Message(m) => message(host, &m),
        other => host.other_event(other),
    }
}

fn message(host: &mut Host, m: &MessageEvent<'_>) {
    let Some(f) = host.messages.get(m.callback as usize).copied().flatten() else {
        return;
    };
    let wk = m.wukong.map(|w| {
        let r = &w.recv;
        rtm_wk_message {
            from_uid: rtm_str::from(r.from_uid),
            channel_id: rtm_str::from(r.channel_id),
            client_msg_no: rtm_str::from(r.client_msg_no),
            topic: rtm_str::from(r.topic.unwrap_or(&[])),
            message_seq: r.message_seq,
            content_type: w.content_type.unwrap_or(0),
            timestamp: r.timestamp,
            expire: r.expire.unwrap_or(0),
            channel_type: r.channel_type,
            header_flags: r.flags,
            setting: r.setting,
            has_topic: r.topic.is_some(),
            has_content_type: w.content_type.is_some(),
        }
    });
    let msg = &m.message;
    // A file message's info (url, size) from its payload; other JSON is the application's.
    let info =
        (m.category == Category::File).then(|| host.info.parse(Category::File, msg.msg, &[]));
    let view = rtm_message {
        from_uid: msg.from,
        to_id: msg.to,
        message_type: msg.mtype,
        message_id: msg.mid,
        message: rtm_str::from(msg.msg),
        attrs: rtm_str::from(msg.attrs),
        modified_time: msg.mtime,
        translated_info: core::ptr::null(),
        file_info: info.as_ref().map_or(core::ptr::null(), |i| i.file_ptr()),
        info_status: info.as_ref().map_or(RTM_INFO_NONE, |i| i.status()),
        lazy: core::ptr::null_mut(),
        wukong: wk.as_ref().map_or(core::ptr::null(), core::ptr::from_ref),
    };
    // SAFETY: the host registered `f` with this signature; the view and what it points to
    // live until the call returns.
    unsafe { f(host.monitor.user, &view) };
}

fn set_endpoint(host: &mut Host, endpoint: &[u8]) {
    let n = endpoint.len().min(ENDPOINT_MAX);
    host.endpoint[..n].copy_from_slice(&endpoint[..n]);
    host.endpoint_len = n;
}

/// The Unix time in ms at monotonic time `now_ms` (CONNECT carries it).
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_set_unix_time(
    l: *mut rtm_wk_listener,
    now_ms: u64,
    unix_ms: i64,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s| {
            s.listener.set_unix_time(now_ms, unix_ms);
            RTM_OK
        })
    }
}

/// The transport connected to `endpoint`: the CONNECT is queued (send it). `connected` is
/// called when the server's CONNACK accepts the login.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection; every
/// call that delivers events returns it until `rtm_wk_listener_closed`); `RTM_ERR_NULL` (NULL
/// `l`, or NULL `endpoint.ptr` with a nonzero length); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `endpoint.ptr` readable for `endpoint.len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_connected(
    l: *mut rtm_wk_listener,
    now_ms: u64,
    endpoint: rtm_str,
) -> rtm_status {
    // SAFETY: the caller guarantees the endpoint is readable.
    let endpoint = match unsafe { bytes(endpoint) } {
        Ok(e) => e,
        Err(e) => return e,
    };
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s| {
            if s.listener.reconnect_at().is_none() {
                // A connection without a close of the previous one closes it first.
                s.listener
                    .closed(now_ms, engine::session::CloseReason::Host);
                finish(s);
            }
            set_endpoint(&mut s.host, endpoint);
            s.host.close_reason = None;
            s.listener.connected(now_ms);
            finish(s)
        })
    }
}

/// A connection attempt to `endpoint` failed for `reason`.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection, only
/// while a connection is still up; every call that delivers events returns it until
/// `rtm_wk_listener_closed`); `RTM_ERR_INVALID_ARG` (`reason` holds an unknown kind or value);
/// `RTM_ERR_NULL` (NULL `l` or `reason`, or NULL `endpoint.ptr` with a nonzero length);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `endpoint` and `reason` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_connect_failed(
    l: *mut rtm_wk_listener,
    now_ms: u64,
    endpoint: rtm_str,
    reason: *const rtm_close_reason,
) -> rtm_status {
    if reason.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: the caller guarantees the endpoint is readable.
    let endpoint = match unsafe { bytes(endpoint) } {
        Ok(e) => e,
        Err(e) => return e,
    };
    // SAFETY: checked non-NULL; readable (caller).
    let reason = unsafe { *reason };
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s| {
            let reason = match reason::from_c(&reason, None) {
                Ok(r) => r,
                Err(e) => return e,
            };
            set_endpoint(&mut s.host, endpoint);
            s.listener.connect_failed(now_ms, reason);
            finish(s)
        })
    }
}

/// The transport closed for `reason` (after `RTM_CLOSE`, pass the reason
/// `rtm_wk_listener_close_reason` gives). `connected(.., false, ..)` (no login yet) or
/// `closed`, then `disconnected`, are called.
///
/// Statuses: `RTM_OK`; `RTM_ERR_INVALID_ARG` (`reason` holds an unknown kind or value);
/// `RTM_ERR_NULL` (NULL `l` or `reason`); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY`
/// (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `reason` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_closed(
    l: *mut rtm_wk_listener,
    now_ms: u64,
    reason: *const rtm_close_reason,
) -> rtm_status {
    if reason.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: checked non-NULL; readable (caller).
    let reason = unsafe { *reason };
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s| {
            let reason = match reason::from_c(&reason, s.host.close_reason) {
                Ok(r) => r,
                Err(e) => return e,
            };
            s.listener.closed(now_ms, reason);
            finish(s);
            s.host.close_reason = None;
            RTM_OK
        })
    }
}

/// Why the listener asked the host to close (after `RTM_CLOSE`): `RTM_OK` and `*reason`, or
/// `RTM_NONE`.
///
/// Statuses: `RTM_OK`; `RTM_NONE`; `RTM_ERR_NULL` (NULL `l` or `reason`); `RTM_ERR_STORAGE`
/// (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks);
/// `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `reason` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_close_reason(
    l: *mut rtm_wk_listener,
    reason: *mut rtm_close_reason,
) -> rtm_status {
    if reason.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter_wk(l, |s| match s.host.close_reason {
            Some(r) => {
                reason.write(reason::to_c(r));
                RTM_OK
            }
            None => RTM_NONE,
        })
    }
}

/// Feeds received bytes; `*consumed` says how many were taken (fewer than `len` when RECVs
/// wait for transmit room for their acknowledgements: send, then feed the rest). Callbacks run
/// before it returns; each RECV is acknowledged after its callback returned. `RTM_CLOSE` when
/// the host must close; `RTM_ERR_NOT_CONNECTED` before `rtm_wk_listener_connected`.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection; every
/// call that delivers events returns it until `rtm_wk_listener_closed`);
/// `RTM_ERR_NOT_CONNECTED`; `RTM_ERR_NULL` (NULL `l` or `consumed`, or NULL `data` with a
/// nonzero `len`); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this
/// listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `data` readable for `len` bytes; `consumed`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_receive(
    l: *mut rtm_wk_listener,
    now_ms: u64,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
) -> rtm_status {
    if consumed.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: the caller guarantees `len` readable bytes.
    let data = match unsafe { bytes(rtm_str { ptr: data, len }) } {
        Ok(d) => d,
        Err(e) => return e,
    };
    // SAFETY: forwarded; `consumed` checked non-NULL.
    unsafe {
        enter_wk(l, |s| {
            if s.listener.reconnect_at().is_some() {
                return RTM_ERR_NOT_CONNECTED;
            }
            let WkState { listener, host } = s;
            host.close = false;
            let n = listener.handle_input(now_ms, data, |e| deliver(host, e));
            consumed.write(n);
            if host.close || listener.wants_close() {
                RTM_CLOSE
            } else {
                RTM_OK
            }
        })
    }
}

/// Runs timers due at `now_ms` (a PING, the dead-link and CONNACK checks).
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection, for
/// example on a dead link; every call that delivers events returns it until
/// `rtm_wk_listener_closed`); `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_handle_timeout(
    l: *mut rtm_wk_listener,
    now_ms: u64,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s| {
            s.listener.handle_timeout(now_ms);
            finish(s)
        })
    }
}

/// The bytes to send: `*data` and `*len` point into the listener, valid until the next call
/// on it. Report what the transport took with `rtm_wk_listener_transmit_done`.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`, `data` or `len`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `data` and `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_transmit(
    l: *mut rtm_wk_listener,
    data: *mut *const u8,
    len: *mut usize,
) -> rtm_status {
    if data.is_null() || len.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; outputs checked non-NULL.
    unsafe {
        enter_wk(l, |s| {
            let t = s.listener.transmit();
            data.write(t.as_ptr());
            len.write(t.len());
            RTM_OK
        })
    }
}

/// The transport took `n` bytes of the last `rtm_wk_listener_transmit`. RECVs that waited for
/// transmit room are delivered (callbacks run) before it returns.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection; every
/// call that delivers events returns it until `rtm_wk_listener_closed`); `RTM_ERR_INVALID_ARG`
/// (`n` is more than the last `rtm_wk_listener_transmit` gave); `RTM_ERR_NULL` (NULL `l`);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_transmit_done(
    l: *mut rtm_wk_listener,
    n: usize,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s| {
            if n > s.listener.transmit().len() {
                return RTM_ERR_INVALID_ARG;
            }
            s.listener.consume_transmit(n);
            finish(s)
        })
    }
}

/// The next time `rtm_wk_listener_handle_timeout` has work: `RTM_OK` and `*at_ms`, or
/// `RTM_NONE` (not connected, or a close was asked for).
///
/// Statuses: `RTM_OK`; `RTM_NONE`; `RTM_ERR_NULL` (NULL `l` or `at_ms`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `at_ms` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_next_timeout(
    l: *mut rtm_wk_listener,
    at_ms: *mut u64,
) -> rtm_status {
    if at_ms.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter_wk(l, |s| match s.listener.poll_timeout() {
            Some(t) => {
                at_ms.write(t);
                RTM_OK
            }
            None => RTM_NONE,
        })
    }
}

/// When to connect next while disconnected: `RTM_OK` and `*at_ms` (0 before the first
/// attempt); `RTM_NONE` while a transport is up.
///
/// Statuses: `RTM_OK`; `RTM_NONE`; `RTM_ERR_NULL` (NULL `l` or `at_ms`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `at_ms` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_reconnect_at(
    l: *mut rtm_wk_listener,
    at_ms: *mut u64,
) -> rtm_status {
    if at_ms.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter_wk(l, |s| match s.listener.reconnect_at() {
            Some(t) => {
                at_ms.write(t);
                RTM_OK
            }
            None => RTM_NONE,
        })
    }
}

/// The counters, and whether the listener is logged in (`RTM_OK`) or not (`RTM_NONE`).
///
/// Statuses: `RTM_OK` (logged in); `RTM_NONE` (not logged in; `*stats` written); `RTM_ERR_NULL`
/// (NULL `l` or `stats`); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one
/// of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `stats` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_stats(
    l: *mut rtm_wk_listener,
    stats: *mut rtm_wk_stats,
) -> rtm_status {
    if stats.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter_wk(l, |s| {
            let st = s.listener.stats();
            stats.write(rtm_wk_stats {
                received: st.received,
                delivered: st.delivered,
                duplicates: st.duplicates,
                rejected: st.rejected,
                acks: st.acks,
                pings: st.pings,
                logins: st.logins,
            });
            if s.listener.is_connected() {
                RTM_OK
            } else {
                RTM_NONE
            }
        })
    }
}
