//! The exported functions.
//!
//! Conventions (rustls-ffi style): every pointer argument is checked for NULL
//! (`RTM_ERR_NULL`); outputs are written only on success; a buffer is always followed by its
//! length; every call that can produce events delivers them to the monitor before returning;
//! a callback that calls back into the same listener gets `RTM_ERR_BUSY`. Panics cannot cross
//! the boundary: the library is built with `panic = "abort"`, and no input reaches a panic.

use core::ffi::c_void;
use core::ptr::NonNull;

use engine::rtm::listen::{Credentials, ListenFlags, ListenIds};
use engine::session::{CommandError, Config, EVENTS, IdKind, ListenView, MIN_TX, RequestId};

use crate::callbacks::drain;
use crate::handle::{
    ENDPOINT_MAX, INLINE_BUFFER, INNER_ALIGN, INNER_SIZE, Parts, RX_DEFAULT, RawBuf, State,
    TX_DEFAULT, enter, enter_leaf, rtm_listener,
};
use crate::reason;
use crate::status::*;
use crate::types::*;

/// Bytes `rtm_listener_init` needs with the buffers inline (`rtm_config.buffer` NULL): the
/// state and the inline buffer area (at most `RTM_LISTENER_STORAGE`).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_listener_size() -> usize {
    INNER_SIZE + INLINE_BUFFER
}

/// Bytes `rtm_listener_init` needs when the host lends the buffers (`rtm_config.buffer`
/// set): the state alone (at most `RTM_LISTENER_STATE_STORAGE`).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_listener_state_size() -> usize {
    INNER_SIZE
}

/// The smallest transmit buffer (`rtm_config.tx_size`): room for the largest listen quest
/// with every listen id this build holds (736 bytes with the default 64 ids).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_min_tx_size() -> usize {
    MIN_TX
}

/// `RTM_BUFFER_SIZE(rx_size, tx_size)` as a function: the bytes to lend for these buffer
/// sizes (RX, TX and a JSON scratch as large as RX), or `SIZE_MAX` on overflow.
#[unsafe(no_mangle)]
pub extern "C" fn rtm_buffer_size(rx_size: usize, tx_size: usize) -> usize {
    buffer_size(rx_size, tx_size).unwrap_or(usize::MAX)
}

fn buffer_size(rx: usize, tx: usize) -> Option<usize> {
    rx.checked_mul(2)?.checked_add(tx)
}

/// Alignment `rtm_listener_init` needs (at most `RTM_LISTENER_ALIGN`).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_listener_align() -> usize {
    INNER_ALIGN
}

/// The bytes of a C string view (shared by the exports of both listeners).
///
/// # Safety
/// `s.ptr` must be valid for `s.len` bytes (or `s.len` is 0).
pub(crate) unsafe fn bytes<'a>(s: rtm_str) -> Result<&'a [u8], rtm_status> {
    if s.len == 0 {
        return Ok(&[]);
    }
    if s.ptr.is_null() {
        return Err(RTM_ERR_NULL);
    }
    // SAFETY: non-NULL and the caller guarantees `len` readable bytes.
    Ok(unsafe { core::slice::from_raw_parts(s.ptr, s.len) })
}

/// The elements of a C list (shared by the exports of both listeners).
///
/// # Safety
/// `ptr` must be valid for `len` elements (or `len` is 0).
pub(crate) unsafe fn list<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], rtm_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(RTM_ERR_NULL);
    }
    if !ptr.is_aligned() {
        return Err(RTM_ERR_INVALID_ARG);
    }
    // SAFETY: non-NULL, aligned, and the caller guarantees `len` elements.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

fn finish(state: &mut State) -> rtm_status {
    let close = drain(state);
    if close | flush(state) {
        RTM_CLOSE
    } else {
        RTM_OK
    }
}

/// Push mode (`rtm_config.transport.send` set): hands what TX holds to `send` while it takes
/// some, delivering the pushes held back for TX room as room frees. Returns whether the
/// listener asked to close meanwhile. Pull mode: nothing, `false`.
#[inline(always)]
fn flush(state: &mut State) -> bool {
    match state.host.transport.send {
        Some(send) => flush_to(state, send),
        None => false,
    }
}

#[inline(never)]
fn flush_to(
    state: &mut State,
    send: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> usize,
) -> bool {
    let mut close = false;
    loop {
        // Pushes held for TX room first: room may have freed since they stopped.
        if state.listener.has_buffered_input() {
            close |= drain(state);
        }
        let (ptr, n) = state.listener.transmit_parts();
        if n == 0 {
            return close;
        }
        // SAFETY: registered with this signature; `ptr` is valid for `n` bytes during the call
        // (the listener is not touched meanwhile: the word is BUSY).
        let took = unsafe { send(state.host.transport.user, ptr, n) }.min(n);
        if took == 0 {
            return close;
        }
        state.listener.consume_transmit(took);
    }
}

/// Builds a listener in `storage` (`storage_len` bytes: `sizeof(rtm_listener)`, or at least
/// `rtm_listener_size()`; `rtm_listener_state_size()` when `config->buffer` lends the
/// buffers). Nothing is allocated; the storage (and a lent buffer) must stay in place while
/// the listener is used. Returns `RTM_ERR_BUFFER_TOO_SMALL` when the buffer sizes are below
/// the minimums or do not fit (see `rtm_config`), and an encryption error (`RTM_ERR_KEY_*`,
/// `RTM_ERR_UNKNOWN_CURVE`, `RTM_ERR_SHORT_ENTROPY`, ...: see `rtm_encryption`) for a refused
/// `config->encryption`; the storage is left untouched on those.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `storage` or `config`, or a NULL `buffer`,
/// `secret.ptr` or encryption pointer with a nonzero length); `RTM_ERR_STORAGE` (`storage_len`
/// too small, or `storage` misaligned); `RTM_ERR_BUFFER_TOO_SMALL`; `RTM_ERR_SECRET_TOO_LONG`;
/// `RTM_ERR_BUSY` (`storage` holds a listener inside one of its calls); the encryption errors
/// `RTM_ERR_KEY_WRONG_LENGTH`, `RTM_ERR_KEY_NOT_UNCOMPRESSED`, `RTM_ERR_KEY_NOT_ON_CURVE`,
/// `RTM_ERR_KEY_NOT_EC`, `RTM_ERR_KEY_UNKNOWN_CURVE`, `RTM_ERR_KEY_BAD_PEM`,
/// `RTM_ERR_KEY_TOO_LONG`, `RTM_ERR_KEY_BAD_DER`, `RTM_ERR_KEY_NEEDS_CURVE`,
/// `RTM_ERR_KEY_CURVE_MISMATCH`, `RTM_ERR_UNKNOWN_CURVE`, `RTM_ERR_CURVE_NOT_COMPILED`,
/// `RTM_ERR_SHORT_ENTROPY` and `RTM_ERR_ENCRYPTION_NOT_COMPILED` (a server key given to a
/// library built without encryption); `RTM_ERR_INVALID_ARG` (an unknown key `format`).
///
/// # Safety
/// `storage` must be valid for writes of `storage_len` bytes; `config` must point to a valid
/// `rtm_config` whose `secret` is readable and whose `buffer`, if not NULL, is valid for reads
/// and writes of `buffer_len` bytes, does not overlap the storage, and is used by nothing else
/// while the listener uses it; `backoff` must be NULL or readable; the pointers of
/// `encryption` must be valid as `rtm_encryption` documents.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_init(
    storage: *mut rtm_listener,
    storage_len: usize,
    config: *const rtm_config,
) -> rtm_status {
    if storage.is_null() || config.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: checked non-NULL; the caller guarantees it points to a valid config.
    let config = unsafe { &*config };
    let lent = NonNull::new(config.buffer);
    if lent.is_none() && config.buffer_len != 0 {
        return RTM_ERR_NULL;
    }
    let needed = if lent.is_some() {
        INNER_SIZE
    } else {
        INNER_SIZE + INLINE_BUFFER
    };
    if storage_len < needed || !storage.addr().is_multiple_of(INNER_ALIGN) {
        return RTM_ERR_STORAGE;
    }
    let rx_size = if config.rx_size == 0 {
        RX_DEFAULT
    } else {
        config.rx_size
    };
    let tx_size = if config.tx_size == 0 {
        TX_DEFAULT
    } else {
        config.tx_size
    };
    let room = if lent.is_some() {
        config.buffer_len
    } else {
        INLINE_BUFFER
    };
    match buffer_size(rx_size, tx_size) {
        Some(n) if n <= room => {}
        _ => return RTM_ERR_BUFFER_TOO_SMALL,
    }
    // SAFETY: the caller guarantees the secret is readable.
    let secret = match unsafe { bytes(config.secret) } {
        Ok(s) => s,
        Err(e) => return e,
    };
    // Checked before anything is written: a refused key leaves the storage untouched.
    // SAFETY: the caller guarantees the encryption part's pointers are valid.
    match unsafe { crate::encryption::validate(&config.encryption) } {
        RTM_OK => {}
        e => return e,
    }
    let mut cfg = Config::DEFAULT;
    if config.quest_timeout_ms != 0 {
        cfg.quest_timeout_ms = u64::from(config.quest_timeout_ms);
    }
    if config.ping_interval_ms != 0 {
        cfg.ping_interval_ms = u64::from(config.ping_interval_ms);
    }
    // SAFETY: the caller guarantees `backoff` is NULL or readable.
    if let Some(b) = unsafe { config.backoff.as_ref() } {
        cfg.backoff = engine::session::Backoff {
            failed_window_ms: u64::from(b.failed_window_ms),
            immediate: b.immediate,
            first_ms: u64::from(b.first_ms),
            max_ms: u64::from(b.max_ms),
            linear_steps: b.linear_steps,
        };
    }
    // The lent buffer, or the inline area after the state (the storage holds it: checked
    // above). Split RX | TX | scratch, whose sum fits (checked above).
    let base = lent.unwrap_or_else(|| {
        // SAFETY: `storage + INNER_SIZE` is inside the non-NULL storage (checked above).
        unsafe { NonNull::new_unchecked(storage.cast::<u8>().add(INNER_SIZE)) }
    });
    // SAFETY: the three parts are disjoint and inside the buffer, which the caller lends
    // (or which is the storage's inline area, outside `Inner`) for the listener's life.
    let buffers = unsafe {
        [
            RawBuf::new(base, rx_size),
            RawBuf::new(base.add(rx_size), tx_size),
            RawBuf::new(base.add(rx_size + tx_size), rx_size),
        ]
    };
    let parts = Parts {
        cfg,
        creds: Credentials {
            pid: config.pid,
            secret,
        },
        entropy: config.entropy,
        buffers,
        rx_size,
        monitor: &config.monitor,
        lazy_info: config.lazy_info,
        encryption: &config.encryption,
        transport: config.transport,
    };
    // SAFETY: non-NULL, at least INNER_SIZE bytes and aligned to INNER_ALIGN
    // (checked above); the caller guarantees the bytes are valid for writes, hence for reads;
    // the buffers are valid (above).
    unsafe { crate::handle::init(storage, parts) }
}

/// Marks the storage as no longer holding a listener; later calls get `RTM_ERR_UNINIT`.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or storage passed to `rtm_listener_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_deinit(l: *mut rtm_listener) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { crate::handle::deinit(l) }
}

/// Sets the Unix time (ms) that corresponds to the monotonic `now_ms`; quests are signed with
/// it. Call before connecting and when the wall clock changes.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_set_unix_time(
    l: *mut rtm_listener,
    now_ms: u64,
    unix_ms: i64,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            s.listener.set_unix_time(now_ms, unix_ms);
            RTM_OK
        })
    }
}

fn set_endpoint(s: &mut State, endpoint: &[u8]) {
    let n = endpoint.len().min(ENDPOINT_MAX);
    s.host.endpoint[..n].copy_from_slice(&endpoint[..n]);
    s.host.endpoint_len = n;
}

/// The transport connected to `endpoint` (reported to `connected`, `closed` and
/// `disconnected`; may be empty; cut to 128 bytes). The desired listen state is established
/// (`restored` reports it) before commands made meanwhile are sent.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection, for
/// example when the new connection's key exchange cannot start; every call that delivers events
/// returns it until `rtm_listener_closed`); `RTM_ERR_NULL` (NULL `l`, or NULL `endpoint.ptr`
/// with a nonzero length); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one
/// of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `endpoint.ptr` readable for `endpoint.len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_connected(
    l: *mut rtm_listener,
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
        enter(l, |s| {
            // A connection without a close of the previous one closes it first, reported with
            // the previous endpoint.
            if s.listener.is_connected() {
                s.listener
                    .closed(now_ms, engine::session::CloseReason::Host);
                drain(s);
            }
            set_endpoint(s, endpoint);
            s.host.close_reason = None;
            s.listener.connected(now_ms);
            finish(s)
        })
    }
}

/// A connection attempt to `endpoint` failed for `reason` (`RTM_REASON_IO` with the error,
/// usually). The back-off advances; `connected(endpoint, false, ..)` then `disconnected(endpoint,
/// reason, retry_in_ms)` are called.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection, only
/// while a connection is still up; every call that delivers events returns it until
/// `rtm_listener_closed`); `RTM_ERR_INVALID_ARG` (`reason` holds an unknown kind or value);
/// `RTM_ERR_NULL` (NULL `l` or `reason`, or NULL `endpoint.ptr` with a nonzero length);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `endpoint.ptr` readable for `endpoint.len`;
/// `reason` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_connect_failed(
    l: *mut rtm_listener,
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
    // SAFETY: checked non-NULL; the caller guarantees it is readable.
    let reason = unsafe { *reason };
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            let reason = match reason::from_c(&reason, None) {
                Ok(r) => r,
                Err(e) => return e,
            };
            set_endpoint(s, endpoint);
            s.listener.connect_failed(now_ms, reason);
            finish(s)
        })
    }
}

/// The transport closed for `reason` (for any reason, including after `RTM_CLOSE`: then pass
/// the reason `rtm_listener_close_reason` gives). `closed` then `disconnected` are called
/// (nothing when no connection was up).
///
/// Statuses: `RTM_OK`; `RTM_ERR_INVALID_ARG` (`reason` holds an unknown kind or value);
/// `RTM_ERR_NULL` (NULL `l` or `reason`); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY`
/// (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `reason` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_closed(
    l: *mut rtm_listener,
    now_ms: u64,
    reason: *const rtm_close_reason,
) -> rtm_status {
    if reason.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: checked non-NULL; the caller guarantees it is readable.
    let reason = unsafe { *reason };
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            let reason = match reason::from_c(&reason, s.host.close_reason) {
                Ok(r) => r,
                Err(e) => return e,
            };
            s.listener.closed(now_ms, reason);
            drain(s);
            s.host.close_reason = None;
            RTM_OK
        })
    }
}

/// Why the listener asked the host to close the connection (after a call returned
/// `RTM_CLOSE`): `RTM_OK` and `*reason` (`RTM_REASON_DEAD_LINK` or `RTM_REASON_PROTOCOL`);
/// `RTM_NONE` when it has not asked. Pass it to `rtm_listener_closed`.
///
/// Statuses: `RTM_OK`; `RTM_NONE`; `RTM_ERR_NULL` (NULL `l` or `reason`); `RTM_ERR_STORAGE`
/// (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks);
/// `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `reason` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_close_reason(
    l: *mut rtm_listener,
    reason: *mut rtm_close_reason,
) -> rtm_status {
    if reason.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| match s.host.close_reason {
            Some(r) => {
                reason.write(reason::to_c(r));
                RTM_OK
            }
            None => RTM_NONE,
        })
    }
}

/// Feeds received bytes; `*consumed` says how many were taken (fewer than `len` when the
/// listener is full: send its transmit bytes, then feed the rest). Callbacks run before it
/// returns. Returns `RTM_CLOSE` when the host must close the connection.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection; every
/// call that delivers events returns it until `rtm_listener_closed`); `RTM_ERR_NOT_CONNECTED`
/// (no connection is up; nothing taken); `RTM_ERR_NULL` (NULL `l` or `consumed`, or NULL `data`
/// with a nonzero `len`); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one
/// of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `data` readable for `len` bytes;
/// `consumed` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_receive(
    l: *mut rtm_listener,
    now_ms: u64,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
) -> rtm_status {
    if consumed.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: the caller guarantees `len` readable bytes.
    let data = match unsafe { list(data, len) } {
        Ok(d) => d,
        Err(e) => return e,
    };
    // SAFETY: forwarded; `consumed` checked non-NULL and written only on success.
    unsafe {
        enter(l, |s| {
            let n = receive_input(s, now_ms, data);
            let State { listener, host } = s;
            // Not connected: nothing was taken (nor any event given); asked only then.
            if n == 0 && !listener.is_connected() {
                return RTM_ERR_NOT_CONNECTED;
            }
            // A close asked for in this call: `wants_close` (input is read only on a live
            // connection, so every `CloseRequested` here left the listener closing).
            let (n, close) = match host.transport.send {
                // Push mode: the answers go now, and what TX room stopped is taken after them.
                Some(send) if listener.transmit_len() > 0 => {
                    let (ptr, len) = listener.transmit_parts();
                    // Registered with this signature (the enclosing unsafe block); `ptr` is
                    // valid for `len` bytes during the call (the listener is not touched
                    // meanwhile: it is BUSY).
                    let took = send(host.transport.user, ptr, len);
                    // Clamped to what is queued (a transport that claims more took it all).
                    listener.consume_transmit(took);
                    if took >= len && n == data.len() && !listener.has_buffered_input() {
                        // The common case: all taken, all sent.
                        (n, false)
                    } else {
                        received_pushed(s, now_ms, data, n, send)
                    }
                }
                _ => (n, false),
            };
            consumed.write(n);
            if close || s.listener.wants_close() {
                RTM_CLOSE
            } else {
                RTM_OK
            }
        })
    }
}

/// `rtm_listener_receive`'s input handed to the listener, events delivered: the bytes taken.
/// Out of line, so that the listener's inbound path (each message's view built from the
/// decoded fields, the callback inlined) has its own frame, apart from the guards and the
/// push-mode sending around it (one call's prologue less on the path than inlined).
#[inline(never)]
fn receive_input(s: &mut State, now_ms: u64, data: &[u8]) -> usize {
    let State { listener, host } = s;
    listener.handle_input(
        now_ms,
        data,
        #[inline(always)]
        |e| host.event(e),
    )
}

/// The rest of `rtm_listener_receive` in push mode, once `taken` bytes of `data` were: sends
/// what TX holds, and feeds the rest as sending makes room, until all is taken or the
/// transport takes nothing. Returns the bytes taken in all, and whether the listener asked to
/// close meanwhile.
#[inline(never)]
fn received_pushed(
    s: &mut State,
    now_ms: u64,
    data: &[u8],
    mut taken: usize,
    send: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> usize,
) -> (usize, bool) {
    let mut close = false;
    loop {
        close |= flush_to(s, send);
        let rest = data.get(taken..).unwrap_or(&[]);
        if rest.is_empty() || close || s.listener.wants_close() {
            return (taken, close);
        }
        let State { listener, host } = s;
        host.close = false;
        let n = listener.handle_input(now_ms, rest, |e| host.event(e));
        close |= host.close;
        if n == 0 {
            return (taken, close);
        }
        taken += n;
    }
}

/// Runs timers due at `now_ms` (harmless when early). Callbacks run before it returns.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection, for
/// example on a dead link; every call that delivers events returns it until
/// `rtm_listener_closed`); `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_handle_timeout(
    l: *mut rtm_listener,
    now_ms: u64,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            s.listener.handle_timeout(now_ms);
            finish(s)
        })
    }
}

/// The bytes to send: `*data` and `*len` point into the listener and stay valid until the
/// next call on it. Report what the transport took with `rtm_listener_transmit_done`.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`, `data` or `len`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `data` and `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_transmit(
    l: *mut rtm_listener,
    data: *mut *const u8,
    len: *mut usize,
) -> rtm_status {
    if data.is_null() || len.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; outputs checked non-NULL. No callback runs.
    unsafe {
        enter_leaf(l, |s, _| {
            // Never NULL: a buffer's pointer never is.
            let (ptr, n) = s.listener.transmit_parts();
            data.write(ptr);
            len.write(n);
            RTM_OK
        })
    }
}

/// The transport took `n` bytes of the last `rtm_listener_transmit`. Pushes that waited for
/// transmit space are delivered (callbacks run) before it returns.
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection; every
/// call that delivers events returns it until `rtm_listener_closed`); `RTM_ERR_INVALID_ARG`
/// (`n` is more than the last `rtm_listener_transmit` gave); `RTM_ERR_NULL` (NULL `l`);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_transmit_done(l: *mut rtm_listener, n: usize) -> rtm_status {
    // SAFETY: forwarded. Callbacks run only inside `busy.during`.
    unsafe {
        enter_leaf(l, |s, busy| {
            if n > s.listener.transmit_len() {
                return RTM_ERR_INVALID_ARG;
            }
            s.listener.consume_transmit(n);
            // Only frames buffered in RX can have waited for transmit space (every call
            // delivers the listener's own events before it returns, so none is queued here):
            // with RX empty (its window is the whole buffer) there is nothing to deliver, and
            // the drain, a call with its own prologue, is skipped.
            if s.listener.has_buffered_input() {
                busy.during(|| finish(s))
            } else if s.listener.wants_close() {
                RTM_CLOSE
            } else {
                RTM_OK
            }
        })
    }
}

/// The next time `rtm_listener_handle_timeout` has work: `RTM_OK` and `*at_ms`, or
/// `RTM_NONE`.
///
/// Statuses: `RTM_OK`; `RTM_NONE`; `RTM_ERR_NULL` (NULL `l` or `at_ms`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `at_ms` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_next_timeout(
    l: *mut rtm_listener,
    at_ms: *mut u64,
) -> rtm_status {
    if at_ms.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| match s.listener.poll_timeout() {
            Some(t) => {
                at_ms.write(t);
                RTM_OK
            }
            None => RTM_NONE,
        })
    }
}

/// When to reconnect after a close or failed attempt: `RTM_OK` and `*at_ms`; `RTM_NONE` while
/// connected and before the first attempt (connect at once then).
///
/// Statuses: `RTM_OK`; `RTM_NONE`; `RTM_ERR_NULL` (NULL `l` or `at_ms`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `at_ms` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_reconnect_at(
    l: *mut rtm_listener,
    at_ms: *mut u64,
) -> rtm_status {
    if at_ms.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| match s.listener.reconnect_at() {
            Some(t) if !s.listener.is_connected() => {
                at_ms.write(t);
                RTM_OK
            }
            _ => RTM_NONE,
        })
    }
}

fn command_status(e: CommandError) -> rtm_status {
    match e {
        CommandError::TooManyPending => RTM_ERR_TOO_MANY_PENDING,
        CommandError::TooManyIds => RTM_ERR_TOO_MANY_IDS,
        CommandError::UnsupportedEvent => RTM_ERR_UNSUPPORTED_EVENT,
        _ => RTM_ERR_INVALID_ARG,
    }
}

fn issued(s: &mut State, r: Result<RequestId, CommandError>, request_id: *mut u32) -> rtm_status {
    match r {
        Ok(id) => {
            // SAFETY: the callers check `request_id` non-NULL before entering.
            unsafe { request_id.write(id.0) };
            finish(s)
        }
        Err(e) => command_status(e),
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Remove,
    Set,
}

/// # Safety
/// As for the `rtm_listen_*` functions.
unsafe fn listen(
    l: *mut rtm_listener,
    now_ms: u64,
    ids: *const rtm_ids,
    request_id: *mut u32,
    op: Op,
) -> rtm_status {
    if ids.is_null() || request_id.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: checked non-NULL; the caller guarantees a valid `rtm_ids`.
    let ids = unsafe { &*ids };
    // SAFETY: the caller guarantees each list holds its length.
    let lists = unsafe {
        (
            list(ids.gids, ids.gids_len),
            list(ids.rids, ids.rids_len),
            list(ids.uids, ids.uids_len),
            list(ids.events, ids.events_len),
        )
    };
    let (gids, rids, uids, events) = match lists {
        (Ok(g), Ok(r), Ok(u), Ok(e)) => (g, r, u, e),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return e,
    };
    // SAFETY: forwarded. The ids are validated inside, so a bad handle is reported first.
    unsafe {
        enter(l, |s| {
            // Map each name to its canonical static name (at most one of each).
            let mut names: [&str; EVENTS.len()] = [""; EVENTS.len()];
            let mut n = 0;
            for &e in events {
                // The caller guarantees each event string is readable (enclosing unsafe block).
                let name = match bytes(e) {
                    Ok(b) => b,
                    Err(err) => return err,
                };
                let Some(canonical) = EVENTS.iter().find(|c| c.as_bytes() == name) else {
                    return RTM_ERR_UNSUPPORTED_EVENT;
                };
                if !names[..n].contains(canonical) {
                    names[n] = canonical;
                    n += 1;
                }
            }
            let ids = ListenIds {
                gids,
                rids,
                uids,
                events: &names[..n],
            };
            let r = match op {
                Op::Add => s.listener.add_listen(now_ms, &ids),
                Op::Remove => s.listener.remove_listen(now_ms, &ids),
                Op::Set => s.listener.set_listen(now_ms, &ids),
            };
            issued(s, r, request_id)
        })
    }
}

/// `addlisten`: adds ids and events to the desired listen state at once; the listener sends
/// the server the whole desired state (`setlisten`) when a connection is up. `*request_id`
/// identifies the completion (`completed` callback). Refused with nothing changed:
/// `RTM_ERR_TOO_MANY_PENDING`, `RTM_ERR_TOO_MANY_IDS`, `RTM_ERR_UNSUPPORTED_EVENT`.
///
/// Statuses (also of `rtm_listen_remove` and `rtm_listen_set`): `RTM_OK`; `RTM_CLOSE` (the
/// listener asks the host to close the connection; every call that delivers events returns it
/// until `rtm_listener_closed`); `RTM_ERR_TOO_MANY_PENDING`; `RTM_ERR_TOO_MANY_IDS`;
/// `RTM_ERR_UNSUPPORTED_EVENT`; `RTM_ERR_INVALID_ARG` (a list not aligned for its elements);
/// `RTM_ERR_NULL` (NULL `l`, `ids` or `request_id`, or a NULL list or event string with a
/// nonzero length); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this
/// listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `ids` valid; `request_id` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listen_add(
    l: *mut rtm_listener,
    now_ms: u64,
    ids: *const rtm_ids,
    request_id: *mut u32,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { listen(l, now_ms, ids, request_id, Op::Add) }
}

/// `removelisten`: removes ids and events from the desired listen state (as
/// `rtm_listen_add`).
///
/// Statuses: as for `rtm_listen_add`.
///
/// # Safety
/// As for `rtm_listen_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listen_remove(
    l: *mut rtm_listener,
    now_ms: u64,
    ids: *const rtm_ids,
    request_id: *mut u32,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { listen(l, now_ms, ids, request_id, Op::Remove) }
}

/// `setlisten` with ids: replaces the desired ids and events (as `rtm_listen_add`).
///
/// Statuses: as for `rtm_listen_add`.
///
/// # Safety
/// As for `rtm_listen_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listen_set(
    l: *mut rtm_listener,
    now_ms: u64,
    ids: *const rtm_ids,
    request_id: *mut u32,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { listen(l, now_ms, ids, request_id, Op::Set) }
}

/// `setlisten` with the four "all" flags: sets them in the desired listen state (as
/// `rtm_listen_add`).
///
/// Statuses: `RTM_OK`; `RTM_CLOSE` (the listener asks the host to close the connection; every
/// call that delivers events returns it until `rtm_listener_closed`);
/// `RTM_ERR_TOO_MANY_PENDING`; `RTM_ERR_NULL` (NULL `l` or `request_id`); `RTM_ERR_STORAGE`
/// (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks);
/// `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `request_id` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listen_set_all(
    l: *mut rtm_listener,
    now_ms: u64,
    group: bool,
    room: bool,
    p2p: bool,
    ev: bool,
    request_id: *mut u32,
) -> rtm_status {
    if request_id.is_null() {
        return RTM_ERR_NULL;
    }
    let flags = ListenFlags {
        group,
        room,
        p2p,
        ev,
    };
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            let r = s.listener.set_listen_all(now_ms, flags);
            issued(s, r, request_id)
        })
    }
}

/// The diagnostic counters.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l` or `out`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_stats(
    l: *mut rtm_listener,
    out: *mut rtm_stats,
) -> rtm_status {
    if out.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| {
            let st = s.listener.stats();
            out.write(rtm_stats {
                pushes: st.pushes,
                duplicates: st.duplicates,
                bad_pushes: st.bad_pushes,
                oversized: st.oversized,
                pings: st.pings,
                connections: st.connections,
                connect_failures: st.connect_failures,
                refusals: st.refusals,
                key_exchanges: st.key_exchanges,
                key_exchange_failures: st.key_exchange_failures,
            });
            RTM_OK
        })
    }
}

/// `*in_sync`: whether the server's listen state is known to equal the desired state (false
/// while disconnected with a non-empty desired state, while a listen quest is in flight, after
/// a refusal or a timeout).
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l` or `in_sync`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `in_sync` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_in_sync(
    l: *mut rtm_listener,
    in_sync: *mut bool,
) -> rtm_status {
    if in_sync.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| {
            in_sync.write(s.listener.in_sync());
            RTM_OK
        })
    }
}

/// `*count`: listen commands not yet completed (at most 8 by default).
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l` or `count`); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `count` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_pending_commands(
    l: *mut rtm_listener,
    count: *mut usize,
) -> rtm_status {
    if count.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| {
            count.write(s.listener.pending_commands());
            RTM_OK
        })
    }
}

fn which_view(s: &State, which: rtm_listen_which) -> Option<ListenView<'_>> {
    match which {
        RTM_LISTEN_DESIRED => Some(s.listener.desired_state()),
        RTM_LISTEN_CONFIRMED => Some(s.listener.listen_state()),
        _ => None,
    }
}

/// A summary of the desired (`RTM_LISTEN_DESIRED`) or server-confirmed
/// (`RTM_LISTEN_CONFIRMED`) listen state: id counts, events, flags.
///
/// Statuses: `RTM_OK`; `RTM_ERR_INVALID_ARG` (an unknown `which`); `RTM_ERR_NULL` (NULL `l` or
/// `out`); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this
/// listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_listen_state(
    l: *mut rtm_listener,
    which: rtm_listen_which,
    out: *mut rtm_listen_state,
) -> rtm_status {
    if out.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: forwarded; output checked non-NULL.
    unsafe {
        enter(l, |s| {
            let Some(v) = which_view(s, which) else {
                return RTM_ERR_INVALID_ARG;
            };
            let events = v.event_names();
            out.write(rtm_listen_state {
                gids: v.ids.of(IdKind::Group).len(),
                rids: v.ids.of(IdKind::Room).len(),
                uids: v.ids.of(IdKind::User).len(),
                login: events.contains(&"login"),
                logout: events.contains(&"logout"),
                all_group: v.flags.group,
                all_room: v.flags.room,
                all_p2p: v.flags.p2p,
                all_event: v.flags.ev,
            });
            RTM_OK
        })
    }
}

/// Copies the ids of one kind (`RTM_IDS_*`) of the desired or confirmed listen state, sorted,
/// into `out[0..cap]`; `*len` is how many there are (more than `cap` when `out` was too short:
/// only `cap` were copied). `out` may be NULL when `cap` is 0.
///
/// Statuses: `RTM_OK`; `RTM_ERR_INVALID_ARG` (an unknown `which` or `kind`, or `out`
/// misaligned); `RTM_ERR_NULL` (NULL `l` or `len`, or NULL `out` with a nonzero `cap`);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `out` writable for `cap` ids; `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_listen_ids(
    l: *mut rtm_listener,
    which: rtm_listen_which,
    kind: rtm_id_kind,
    out: *mut i64,
    cap: usize,
    len: *mut usize,
) -> rtm_status {
    if len.is_null() || (out.is_null() && cap > 0) {
        return RTM_ERR_NULL;
    }
    if cap > 0 && !out.is_aligned() {
        return RTM_ERR_INVALID_ARG;
    }
    let kind = match kind {
        RTM_IDS_GROUP => IdKind::Group,
        RTM_IDS_ROOM => IdKind::Room,
        RTM_IDS_USER => IdKind::User,
        _ => return RTM_ERR_INVALID_ARG,
    };
    // SAFETY: forwarded; outputs checked.
    unsafe {
        enter(l, |s| {
            let Some(v) = which_view(s, which) else {
                return RTM_ERR_INVALID_ARG;
            };
            let ids = v.ids.of(kind);
            let n = ids.len().min(cap);
            if n > 0 {
                // The caller guarantees `out` is writable for `cap >= n` ids (enclosing
                // unsafe block); it cannot overlap the listener's state.
                core::ptr::copy_nonoverlapping(ids.as_ptr(), out, n);
            }
            len.write(ids.len());
            RTM_OK
        })
    }
}
