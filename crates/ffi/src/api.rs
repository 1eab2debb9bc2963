//! The exported functions.
//!
//! Conventions (rustls-ffi style): every pointer argument is checked for NULL
//! (`RTM_ERR_NULL`); outputs are written only on success; a buffer is always followed by its
//! length; every call that can produce events delivers them to the monitor before returning;
//! a callback that calls back into the same listener gets `RTM_ERR_BUSY`. Panics cannot cross
//! the boundary: the library is built with `panic = "abort"`, and no input reaches a panic.

use engine::rtm::listen::{Credentials, ListenFlags, ListenIds};
use engine::session::{CommandError, Config, ConfigError, EVENTS, Listener, RequestId};

use crate::callbacks::drain;
use crate::handle::{ENDPOINT_MAX, INNER_ALIGN, INNER_SIZE, State, enter, rtm_listener};
use crate::status::*;
use crate::types::*;

/// Bytes `rtm_listener_init` needs (at most `RTM_LISTENER_STORAGE`).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_listener_size() -> usize {
    INNER_SIZE
}

/// Alignment `rtm_listener_init` needs (at most `RTM_LISTENER_ALIGN`).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_listener_align() -> usize {
    INNER_ALIGN
}

/// # Safety
/// `s.ptr` must be valid for `s.len` bytes (or `s.len` is 0).
unsafe fn bytes<'a>(s: rtm_str) -> Result<&'a [u8], rtm_status> {
    if s.len == 0 {
        return Ok(&[]);
    }
    if s.ptr.is_null() {
        return Err(RTM_ERR_NULL);
    }
    // SAFETY: non-NULL and the caller guarantees `len` readable bytes.
    Ok(unsafe { core::slice::from_raw_parts(s.ptr, s.len) })
}

/// # Safety
/// `ptr` must be valid for `len` elements (or `len` is 0).
unsafe fn list<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], rtm_status> {
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
    if drain(state) { RTM_CLOSE } else { RTM_OK }
}

/// Builds a listener in `storage` (`storage_len` bytes, e.g. `sizeof(rtm_listener)`).
/// Nothing is allocated; the storage must stay in place while the listener is used.
///
/// # Safety
/// `storage` must be valid for writes of `storage_len` bytes; `config` must point to a valid
/// `rtm_config` whose `secret` is readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_init(
    storage: *mut rtm_listener,
    storage_len: usize,
    config: *const rtm_config,
) -> rtm_status {
    if storage.is_null() || config.is_null() {
        return RTM_ERR_NULL;
    }
    if storage_len < INNER_SIZE || !storage.cast::<u64>().is_aligned() {
        return RTM_ERR_STORAGE;
    }
    let build = || {
        // SAFETY: checked non-NULL; the caller guarantees it points to a valid config.
        let config = unsafe { &*config };
        // SAFETY: the caller guarantees the secret is readable.
        let secret = unsafe { bytes(config.secret) }?;
        let mut cfg = Config::DEFAULT;
        if config.quest_timeout_ms != 0 {
            cfg.quest_timeout_ms = u64::from(config.quest_timeout_ms);
        }
        if config.ping_interval_ms != 0 {
            cfg.ping_interval_ms = u64::from(config.ping_interval_ms);
        }
        let creds = Credentials {
            pid: config.pid,
            secret,
        };
        let listener = match Listener::new(cfg, creds, config.entropy) {
            Ok(l) => l,
            Err(ConfigError::SecretTooLong) => return Err(RTM_ERR_SECRET_TOO_LONG),
            Err(_) => return Err(RTM_ERR_INVALID_ARG),
        };
        Ok(State {
            listener,
            monitor: config.monitor,
            endpoint: [0; ENDPOINT_MAX],
            endpoint_len: 0,
        })
    };
    // SAFETY: non-NULL, at least INNER_SIZE bytes and 8-aligned, which covers INNER_ALIGN
    // (checked above); the caller guarantees the bytes are valid for writes, hence for reads.
    unsafe { crate::handle::init(storage, build) }
}

/// Marks the storage as no longer holding a listener; later calls get `RTM_ERR_UNINIT`.
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

/// The transport connected to `endpoint` (reported to `connected`; may be empty).
/// Listen state is restored and queued commands are sent.
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
            let n = endpoint.len().min(ENDPOINT_MAX);
            s.endpoint[..n].copy_from_slice(&endpoint[..n]);
            s.endpoint_len = n;
            s.listener.connected(now_ms);
            finish(s)
        })
    }
}

/// A connection attempt failed (advances the back-off; `connected` is called with false).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_connect_failed(
    l: *mut rtm_listener,
    now_ms: u64,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            s.listener.connect_failed(now_ms);
            finish(s)
        })
    }
}

/// The transport closed (for any reason, including after `RTM_CLOSE`).
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_closed(
    l: *mut rtm_listener,
    now_ms: u64,
    caused_by_error: bool,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            s.listener.closed(now_ms, caused_by_error);
            drain(s);
            RTM_OK
        })
    }
}

/// Feeds received bytes; `*consumed` says how many were taken (fewer than `len` when the
/// listener is full: send its transmit bytes, then feed the rest). Callbacks run before it
/// returns. Returns `RTM_CLOSE` when the host must close the connection.
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
            if !s.listener.is_connected() {
                return RTM_ERR_NOT_CONNECTED;
            }
            let n = s.listener.handle_input(now_ms, data);
            let status = finish(s);
            consumed.write(n);
            status
        })
    }
}

/// Runs timers due at `now_ms` (harmless when early). Callbacks run before it returns.
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
    // SAFETY: forwarded; outputs checked non-NULL.
    unsafe {
        enter(l, |s| {
            let out = s.listener.transmit();
            data.write(if out.is_empty() {
                b"".as_ptr()
            } else {
                out.as_ptr()
            });
            len.write(out.len());
            RTM_OK
        })
    }
}

/// The transport took `n` bytes of the last `rtm_listener_transmit`. Pushes that waited for
/// transmit space are delivered (callbacks run) before it returns.
///
/// # Safety
/// `l` must be NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_transmit_done(l: *mut rtm_listener, n: usize) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            if n > s.listener.transmit().len() {
                return RTM_ERR_INVALID_ARG;
            }
            s.listener.consume_transmit(n);
            finish(s)
        })
    }
}

/// The next time `rtm_listener_handle_timeout` has work: `RTM_OK` and `*at_ms`, or
/// `RTM_NONE`.
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
        CommandError::TooLarge => RTM_ERR_TOO_LARGE,
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

/// `addlisten`. `*request_id` identifies the completion (`completed` callback).
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

/// `removelisten`.
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

/// `setlisten` with ids (replaces ids and events).
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

/// `setlisten` with the four "all" flags.
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
