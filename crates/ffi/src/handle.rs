//! The listener in caller memory, and the guard every export goes through.
//!
//! Layout: [`rtm_listener`] is opaque, caller-owned storage. `rtm_listener_init` writes an
//! [`Inner`] at its start. `Inner` keeps the re-entrancy flag outside an `UnsafeCell` that holds
//! the state, so a callback that re-enters only ever creates a shared reference to `Inner`,
//! sees the flag, and returns `RTM_ERR_BUSY` without touching the state that the outer call is
//! mutating.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use engine::session::Listener;

use crate::status::*;
use crate::types::rtm_monitor;

/// Bytes of caller storage a listener needs with the default capacities.
pub const RTM_LISTENER_STORAGE: usize = 12288;
/// Alignment of that storage.
pub const RTM_LISTENER_ALIGN: usize = 8;

/// Caller-owned storage for one listener (use it as a `static`, on the stack, or inside
/// another struct). Initialise it with `rtm_listener_init` before any other call.
#[repr(C, align(8))]
pub struct rtm_listener {
    /// Opaque.
    pub opaque: [u8; RTM_LISTENER_STORAGE],
}

const MAGIC: u32 = 0x5254_4d4c; // "RTML"
pub(crate) const ENDPOINT_MAX: usize = 128;

pub(crate) struct State {
    pub(crate) listener: Listener,
    pub(crate) monitor: rtm_monitor,
    pub(crate) endpoint: [u8; ENDPOINT_MAX],
    pub(crate) endpoint_len: usize,
}

pub(crate) struct Inner {
    magic: AtomicU32,
    busy: AtomicBool,
    state: UnsafeCell<State>,
}

const _: () = assert!(core::mem::size_of::<Inner>() <= RTM_LISTENER_STORAGE);
const _: () = assert!(core::mem::align_of::<Inner>() <= RTM_LISTENER_ALIGN);

/// `size_of` and `align_of` the real state, for storage obtained some other way.
pub(crate) const INNER_SIZE: usize = core::mem::size_of::<Inner>();
pub(crate) const INNER_ALIGN: usize = core::mem::align_of::<Inner>();

/// Builds a listener in `storage`: writes a fresh `Inner` holding the state `build` returns.
///
/// Refused with `RTM_ERR_BUSY`, before `build` runs, when `storage` holds a live listener that
/// is inside one of its calls (re-initialising it from one of its own callbacks would overwrite
/// the state the outer call is mutating). An error from `build` is returned as is, and the
/// storage is left untouched.
///
/// # Safety
/// `storage` must be valid for reads and writes of `INNER_SIZE` bytes and aligned to
/// `INNER_ALIGN`; it may hold arbitrary bytes.
pub(crate) unsafe fn init(
    storage: *mut rtm_listener,
    build: impl FnOnce() -> Result<State, rtm_status>,
) -> rtm_status {
    let inner = storage.cast::<Inner>();
    // Volatile reads through raw pointers, no reference to `Inner`: the storage may hold
    // anything (first use); only a live listener has the magic, and only a listener inside a
    // call has the busy flag set.
    // SAFETY: the caller guarantees the bytes are readable and aligned; the fields are read as
    // plain integers, for which every bit pattern is valid.
    let busy = unsafe {
        let magic = core::ptr::addr_of!((*inner).magic)
            .cast::<u32>()
            .read_volatile();
        let busy = core::ptr::addr_of!((*inner).busy)
            .cast::<u8>()
            .read_volatile();
        magic == MAGIC && busy != 0
    };
    if busy {
        return RTM_ERR_BUSY;
    }
    let state = match build() {
        Ok(state) => state,
        Err(e) => return e,
    };
    // SAFETY: the caller guarantees size and alignment; any previous content is overwritten
    // without being read or dropped (nothing in it owns resources), and no outer call is using
    // it (checked above).
    unsafe {
        inner.write(Inner {
            magic: AtomicU32::new(MAGIC),
            busy: AtomicBool::new(false),
            state: UnsafeCell::new(state),
        });
    }
    RTM_OK
}

/// Marks `storage` as no longer holding a listener.
///
/// # Safety
/// `storage` must point to storage initialised by [`init`], not in use by an outer call.
pub(crate) unsafe fn deinit(storage: *mut rtm_listener) -> rtm_status {
    // SAFETY: as for `enter`.
    let inner = match unsafe { shared(storage) } {
        Ok(inner) => inner,
        Err(e) => return e,
    };
    if inner.magic.load(Ordering::Relaxed) != MAGIC {
        return RTM_ERR_UNINIT;
    }
    if inner.busy.load(Ordering::Acquire) {
        return RTM_ERR_BUSY;
    }
    inner.magic.store(0, Ordering::Relaxed);
    RTM_OK
}

/// # Safety
/// A non-NULL, aligned `storage` must point to at least `INNER_SIZE` readable bytes.
unsafe fn shared<'a>(storage: *mut rtm_listener) -> Result<&'a Inner, rtm_status> {
    let p = storage.cast::<Inner>();
    if p.is_null() {
        return Err(RTM_ERR_NULL);
    }
    if !p.is_aligned() {
        return Err(RTM_ERR_STORAGE);
    }
    // SAFETY: non-NULL and aligned; the caller guarantees it is initialised storage. Only a
    // shared reference is created: the state is behind an UnsafeCell.
    Ok(unsafe { &*p })
}

/// Runs `f` on the listener's state with the re-entrancy flag set.
///
/// # Safety
/// A non-NULL `storage` must have been initialised by `rtm_listener_init` (zeroed storage is
/// detected and refused). The listener must not be used from two threads at once.
pub(crate) unsafe fn enter(
    storage: *mut rtm_listener,
    f: impl FnOnce(&mut State) -> rtm_status,
) -> rtm_status {
    // SAFETY: forwarded from the caller.
    let inner = match unsafe { shared(storage) } {
        Ok(inner) => inner,
        Err(e) => return e,
    };
    if inner.magic.load(Ordering::Relaxed) != MAGIC {
        return RTM_ERR_UNINIT;
    }
    // load + store, not swap: thumbv6m has no atomic read-modify-write, and re-entry happens
    // on the calling thread (the flag is not a lock between threads).
    if inner.busy.load(Ordering::Acquire) {
        return RTM_ERR_BUSY;
    }
    inner.busy.store(true, Ordering::Release);
    // SAFETY: `busy` was false and is now true, so no other `&mut State` exists: outer calls
    // on this listener are excluded by the flag, re-entrant ones stop above.
    let state = unsafe { &mut *inner.state.get() };
    let status = f(state);
    inner.busy.store(false, Ordering::Release);
    status
}
