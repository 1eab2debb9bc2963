//! The listener in caller memory, and the guard every export goes through.
//!
//! Layout: [`rtm_listener`] is opaque, caller-owned storage. `rtm_listener_init` writes an
//! [`Inner`] at its start; when the host lends no buffer, the RX, TX and JSON scratch buffers
//! follow it in the same storage ([`INLINE_BUFFER`] bytes at offset [`INNER_SIZE`]). The
//! listener reaches its buffers through [`RawBuf`]s (raw pointer and length, a fresh slice per
//! access), never through a reference into `Inner`, so `Inner` and the buffers never overlap,
//! and the storage must not move after init. `Inner` keeps its state word (live and idle,
//! live and inside a call, or no listener) outside an `UnsafeCell` that holds the state, so a
//! callback that re-enters only ever creates a shared reference to `Inner`, sees the word, and
//! returns `RTM_ERR_BUSY` without touching the state that the outer call is mutating.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use engine::config::{DEFAULT_RX, DEFAULT_TX};
use engine::rtm::listen::Credentials;
use engine::session::{CloseReason, Config, ConfigError, Listener, MAX_SECRET, MIN_RX, MIN_TX};

use crate::callbacks::{MessageTable, message_table};
use crate::info::InfoSlot;
use crate::status::*;
use crate::types::rtm_encryption;
use crate::types::{rtm_message_fn, rtm_monitor, rtm_transport};

/// Bytes of listener state alone (an upper bound of `rtm_listener_state_size()`): what the
/// storage needs when the host lends the buffers (`rtm_config.buffer`). About 7.5 KiB with
/// FPNN encryption compiled in (its cipher states) and the default 64 listen ids; room for
/// builds with up to 120.
pub const RTM_LISTENER_STATE_STORAGE: usize = 10240;
/// Bytes of the inline buffer area that follows the state in the storage when the host lends
/// no buffer (`rtm_listener_size() - rtm_listener_state_size()`): room for the default 4 KiB
/// RX, 1 KiB TX and 4 KiB JSON scratch, and for a larger minimum TX in builds with more
/// listen ids. Any `rx_size`, `tx_size` with `RTM_BUFFER_SIZE(rx_size, tx_size)` at most this
/// fit inline.
pub const RTM_INLINE_BUFFER: usize = 9728;
/// Bytes of caller storage a listener needs with its buffers inline (`rtm_listener`).
pub const RTM_LISTENER_STORAGE: usize = 19968;
/// Alignment of that storage: 16 in every build (the AES state of FPNN encryption is 16-aligned
/// where AES instructions are used; `rtm_listener_align()` is the real need, at most this).
pub const RTM_LISTENER_ALIGN: usize = 16;
/// The smallest receive buffer (`rtm_config.rx_size`).
pub const RTM_MIN_RX_SIZE: usize = 64;

const _: () = assert!(RTM_LISTENER_STORAGE == RTM_LISTENER_STATE_STORAGE + RTM_INLINE_BUFFER);
const _: () = assert!(RTM_MIN_RX_SIZE == engine::session::MIN_RX);

/// Caller-owned storage for one listener with its buffers inline (use it as a `static`, on
/// the stack, or inside another struct). Initialise it with `rtm_listener_init` before any
/// other call; it must not move afterwards (the listener points into it).
#[repr(C, align(16))]
pub struct rtm_listener {
    /// Opaque.
    pub opaque: [u8; RTM_LISTENER_STORAGE],
}

pub(crate) const ENDPOINT_MAX: usize = 128;

/// The default transmit buffer: 1 KiB, or the largest listen quest if that is more.
pub(crate) const TX_DEFAULT: usize = if MIN_TX > DEFAULT_TX {
    MIN_TX
} else {
    DEFAULT_TX
};
/// The default receive buffer (and JSON scratch).
pub(crate) const RX_DEFAULT: usize = DEFAULT_RX;
/// The inline buffer area; the defaults (RX, TX, scratch) fit in it.
pub(crate) const INLINE_BUFFER: usize = RTM_INLINE_BUFFER;
const _: () = assert!(2 * RX_DEFAULT + TX_DEFAULT <= INLINE_BUFFER);

/// A buffer the listener owns for its lifetime: a raw pointer and a length. Each access makes
/// a fresh slice, so no reference outlives the call that made it.
pub(crate) struct RawBuf {
    /// NULL only in an empty (all-zero) `RawBuf`, which is never sliced.
    ptr: *mut u8,
    len: usize,
}

impl RawBuf {
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as the `RawBuf` (and
    /// anything built on it) is used, and nothing else may access those bytes meanwhile.
    pub(crate) unsafe fn new(ptr: NonNull<u8>, len: usize) -> Self {
        Self {
            ptr: ptr.as_ptr(),
            len,
        }
    }
}

impl AsRef<[u8]> for RawBuf {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: valid and exclusively ours for `len` bytes (`RawBuf::new`).
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl AsMut<[u8]> for RawBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: valid and exclusively ours for `len` bytes (`RawBuf::new`); `&mut self`
        // makes this the only slice of them.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// The engine's listener over the lent (or inline) buffers.
pub(crate) type Engine = Listener<RawBuf, RawBuf>;

pub(crate) struct State {
    pub(crate) listener: Engine,
    /// Everything the C side added: what the event delivery reads, beside the listener so
    /// that both borrow separately (the event closure captures one pointer).
    pub(crate) host: Host,
}

/// The C side of the state: the monitor, the info scratch, the endpoint, the close request.
pub(crate) struct Host {
    pub(crate) monitor: rtm_monitor,
    /// The monitor's message callbacks by `Callback` (`message_table`).
    pub(crate) messages: MessageTable,
    /// The JSON scratch (as large as RX) and what a lazily parsed info needs.
    pub(crate) info: InfoSlot,
    /// What becomes of the info of each category (`Category as usize`): parsed when the
    /// callback asks for it (`rtm_config.lazy_info`) or before it, for chats and file messages
    /// (`info::info_modes`).
    pub(crate) info_modes: [u8; crate::info::CATEGORIES],
    /// The receive buffer's size (its window when it holds nothing).
    pub(crate) rx_size: usize,
    /// Set when the listener asked to close during the current call.
    pub(crate) close: bool,
    /// The endpoint connected or last tried.
    pub(crate) endpoint: [u8; ENDPOINT_MAX],
    pub(crate) endpoint_len: usize,
    /// Why the listener asked the host to close (until `closed` or `connected`).
    pub(crate) close_reason: Option<CloseReason>,
    /// `rtm_config.transport`: push mode when its `send` is set.
    pub(crate) transport: rtm_transport,
}

/// `IDLE` while a live listener waits for a call, `BUSY` while it is inside one, anything else
/// (zeroed storage, a deinitialised listener) when there is none: one word, read once per call.
const IDLE: u32 = 0x5254_4d4c; // "RTML"
const BUSY: u32 = IDLE ^ 0x8000_0000;

/// A listener's storage: the busy word and its state (the RTM listener's [`State`], or the
/// WuKongIM listener's).
pub(crate) struct Inner<S = State> {
    /// `IDLE`, `BUSY`, or anything else for no listener.
    pub(crate) word: AtomicU32,
    pub(crate) state: UnsafeCell<S>,
}

/// The busy word's value for a live listener waiting for a call (for the WuKongIM listener's
/// init, which writes its state by value).
pub(crate) const WORD_IDLE: u32 = IDLE;
/// The busy word's value while a call runs.
pub(crate) const WORD_BUSY: u32 = BUSY;

const _: () = assert!(core::mem::size_of::<Inner>() <= RTM_LISTENER_STATE_STORAGE);
const _: () = assert!(core::mem::align_of::<Inner>() <= RTM_LISTENER_ALIGN);

/// `size_of` and `align_of` the real state, for storage obtained some other way.
pub(crate) const INNER_SIZE: usize = core::mem::size_of::<Inner>();
pub(crate) const INNER_ALIGN: usize = core::mem::align_of::<Inner>();

/// What `rtm_listener_init` checked and prepared: everything the listener is built from.
pub(crate) struct Parts<'c> {
    pub(crate) cfg: Config,
    pub(crate) creds: Credentials<'c>,
    pub(crate) entropy: u64,
    /// RX, TX and the JSON scratch (`rx_size` bytes).
    pub(crate) buffers: [RawBuf; 3],
    pub(crate) rx_size: usize,
    pub(crate) monitor: &'c rtm_monitor,
    pub(crate) lazy_info: bool,
    /// `rtm_config.encryption`, checked already (`encryption::check`).
    pub(crate) encryption: &'c rtm_encryption,
    pub(crate) transport: rtm_transport,
}

/// Builds a listener in `storage`: each part of `Inner` is written where it lives (the host
/// side field by field, the engine into its field), so no `State` or `Inner` is assembled on
/// the stack first. The engine's bytes are zeroed in place (zero bytes are an unconfigured
/// listener, with the encryption feature too), its buffers set (`Listener::set_buffers`), and
/// it is configured in place (`configure`, then `set_encryption` when `rtm_config.encryption`
/// asks for it): about 600 bytes of stack on x86-64 for a plaintext init, measured by
/// `test_init_stack` in ffi-tests/test_c.c.
///
/// Refused with `RTM_ERR_BUSY` when `storage` holds a live listener that is inside one of its
/// calls (re-initialising it from one of its own callbacks would overwrite the state the outer
/// call is mutating). The configuration errors (those of `configure`, and the encryption
/// errors `encryption::check` found before) are returned before anything is written: the
/// storage is then left untouched.
///
/// # Safety
/// `storage` must be valid for reads and writes of `INNER_SIZE` bytes and aligned to
/// `INNER_ALIGN`; it may hold arbitrary bytes. The buffers must be valid as `RawBuf::new`
/// requires, outside `Inner`.
pub(crate) unsafe fn init(storage: *mut rtm_listener, parts: Parts<'_>) -> rtm_status {
    let inner = storage.cast::<Inner>();
    // A volatile read through a raw pointer, no reference to `Inner`: the storage may hold
    // anything (first use); only a listener inside a call has the word `BUSY`.
    // SAFETY: the caller guarantees the bytes are readable and aligned; the word is read as a
    // plain integer, for which every bit pattern is valid.
    let word = unsafe {
        core::ptr::addr_of!((*inner).word)
            .cast::<u32>()
            .read_volatile()
    };
    if word == BUSY {
        return RTM_ERR_BUSY;
    }
    let Parts {
        cfg,
        creds,
        entropy,
        buffers: [rx, tx, scratch],
        rx_size,
        monitor,
        lazy_info,
        encryption,
        transport,
    } = parts;
    // The checks of `configure`, first: nothing is written when they fail.
    if creds.secret.len() > MAX_SECRET {
        return RTM_ERR_SECRET_TOO_LONG;
    }
    if rx.len < MIN_RX || tx.len < MIN_TX {
        return RTM_ERR_BUFFER_TOO_SMALL;
    }
    // SAFETY: only a place computation inside the storage (the caller guarantees its size and
    // alignment); `UnsafeCell<State>` has the layout of `State`.
    let state = unsafe { core::ptr::addr_of_mut!((*inner).state) }.cast::<State>();
    // SAFETY: the engine's bytes, zeroed, are an unconfigured listener with empty buffers (every
    // field of an unconfigured listener is zero bytes, and so is an empty `RawBuf`); its
    // buffers are then set and it is configured in place.
    let status = unsafe {
        let engine = core::ptr::addr_of_mut!((*state).listener);
        engine
            .cast::<u8>()
            .write_bytes(0, core::mem::size_of::<Engine>());
        let l = &mut *engine;
        l.set_buffers(rx, tx);
        match l.configure(cfg, creds, entropy) {
            // Plaintext with no entropy to stir: configured plaintext already.
            Ok(()) if encryption.server_key.is_null() && encryption.entropy_len == 0 => RTM_OK,
            // Read again here rather than carried from the check (a parsed key is some 70
            // bytes that would be copied through this frame on every init).
            Ok(()) => crate::encryption::set_from_c(l, encryption),
            Err(ConfigError::SecretTooLong) => RTM_ERR_SECRET_TOO_LONG,
            Err(ConfigError::BufferTooSmall) => RTM_ERR_BUFFER_TOO_SMALL,
            Err(_) => RTM_ERR_INVALID_ARG,
        }
    };
    if status != RTM_OK {
        // Not reached (the checks above and `encryption::check` refuse first what `configure`
        // and `set_encryption` would); the engine's bytes were rewritten, so the storage no
        // longer holds a listener.
        // SAFETY: the word is inside the storage (caller); no call is using it (checked above).
        unsafe { core::ptr::addr_of_mut!((*inner).word).write(AtomicU32::new(0)) };
        return status;
    }
    // SAFETY: the caller guarantees size and alignment; any previous content is overwritten
    // without being read or dropped (nothing in it owns resources), and no outer call is using
    // it (checked above). Each write is to a field of `Inner`, through the storage pointer.
    unsafe {
        let host = core::ptr::addr_of_mut!((*state).host);
        core::ptr::addr_of_mut!((*host).monitor).copy_from_nonoverlapping(monitor, 1);
        let messages = core::ptr::addr_of_mut!((*host).messages).cast::<rtm_message_fn>();
        for (i, f) in message_table(monitor).into_iter().enumerate() {
            messages.add(i).write(f);
        }
        core::ptr::addr_of_mut!((*host).info).write(InfoSlot::new(scratch));
        core::ptr::addr_of_mut!((*host).info_modes).write(crate::info::info_modes(lazy_info));
        core::ptr::addr_of_mut!((*host).rx_size).write(rx_size);
        core::ptr::addr_of_mut!((*host).close).write(false);
        core::ptr::addr_of_mut!((*host).endpoint).write_bytes(0, 1);
        core::ptr::addr_of_mut!((*host).endpoint_len).write(0);
        core::ptr::addr_of_mut!((*host).close_reason).write(None);
        core::ptr::addr_of_mut!((*host).transport).write(transport);
        core::ptr::addr_of_mut!((*inner).word).write(AtomicU32::new(IDLE));
    }
    RTM_OK
}

/// Marks `storage` as no longer holding a listener.
///
/// # Safety
/// `storage` must point to storage initialised by [`init`], not in use by an outer call.
pub(crate) unsafe fn deinit(storage: *mut rtm_listener) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { deinit_in(storage.cast::<Inner>()) }
}

/// [`deinit`] for any state.
///
/// # Safety
/// As for [`deinit`].
pub(crate) unsafe fn deinit_in<S>(storage: *mut Inner<S>) -> rtm_status {
    // SAFETY: as for `enter`.
    let inner = match unsafe { shared(storage) } {
        Ok(inner) => inner,
        Err(e) => return e,
    };
    match inner.word.load(Ordering::Acquire) {
        IDLE => {
            inner.word.store(0, Ordering::Release);
            RTM_OK
        }
        BUSY => RTM_ERR_BUSY,
        _ => RTM_ERR_UNINIT,
    }
}

/// # Safety
/// A non-NULL, aligned `storage` must point to at least `INNER_SIZE` readable bytes.
#[inline(always)]
unsafe fn shared<'a, S>(p: *mut Inner<S>) -> Result<&'a Inner<S>, rtm_status> {
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

/// Why a call on a listener whose word is not `IDLE` is refused (out of line: the calls that
/// go through stay a load, a compare and a branch).
#[cold]
#[inline(never)]
fn refused(word: u32) -> rtm_status {
    if word == BUSY {
        RTM_ERR_BUSY
    } else {
        RTM_ERR_UNINIT
    }
}

/// Runs `f` on the listener's state with the word set to `BUSY`.
///
/// # Safety
/// A non-NULL `storage` must have been initialised by `rtm_listener_init` (zeroed storage is
/// detected and refused). The listener must not be used from two threads at once.
#[inline(always)]
pub(crate) unsafe fn enter(
    storage: *mut rtm_listener,
    f: impl FnOnce(&mut State) -> rtm_status,
) -> rtm_status {
    // SAFETY: forwarded from the caller.
    unsafe { enter_in(storage.cast::<Inner>(), f) }
}

/// [`enter`] for any state.
///
/// # Safety
/// As for [`enter`].
#[inline(always)]
pub(crate) unsafe fn enter_in<S>(
    storage: *mut Inner<S>,
    f: impl FnOnce(&mut S) -> rtm_status,
) -> rtm_status {
    // SAFETY: forwarded from the caller.
    let inner = match unsafe { shared(storage) } {
        Ok(inner) => inner,
        Err(e) => return e,
    };
    // One load decides: idle (enter), busy (re-entry from a callback) or no listener. Load
    // and store, not swap: thumbv6m has no atomic read-modify-write, and re-entry happens on
    // the calling thread (the word is not a lock between threads).
    let word = inner.word.load(Ordering::Acquire);
    if word != IDLE {
        return refused(word);
    }
    inner.word.store(BUSY, Ordering::Release);
    // SAFETY: the word was `IDLE` and is now `BUSY`, so no other `&mut State` exists: outer
    // calls on this listener are excluded by it, re-entrant ones stop above.
    let state = unsafe { &mut *inner.state.get() };
    let status = f(state);
    inner.word.store(IDLE, Ordering::Release);
    status
}

/// Marks the listener busy while a part of a call runs callbacks (`enter_leaf`).
pub(crate) struct Busy<'a>(&'a AtomicU32);

impl Busy<'_> {
    /// Runs `f` with the word set to `BUSY`: callbacks that `f` runs and that re-enter the
    /// listener are refused.
    #[inline(always)]
    pub(crate) fn during<R>(&self, f: impl FnOnce() -> R) -> R {
        self.0.store(BUSY, Ordering::Release);
        let r = f();
        self.0.store(IDLE, Ordering::Release);
        r
    }
}

/// Runs `f` on the listener's state with the word left `IDLE`, for calls that run no callback
/// (nothing can re-enter the listener while `f` runs: one thread at a time per listener), or
/// that run them only inside [`Busy::during`]. Saves the two stores of [`enter`] on the path
/// without callbacks (`rtm_listener_transmit`, `rtm_listener_transmit_done` with nothing to
/// deliver).
///
/// # Safety
/// As for [`enter`].
#[inline(always)]
pub(crate) unsafe fn enter_leaf(
    storage: *mut rtm_listener,
    f: impl FnOnce(&mut State, Busy<'_>) -> rtm_status,
) -> rtm_status {
    // SAFETY: forwarded from the caller.
    let inner = match unsafe { shared(storage.cast::<Inner>()) } {
        Ok(inner) => inner,
        Err(e) => return e,
    };
    let word = inner.word.load(Ordering::Acquire);
    if word != IDLE {
        return refused(word);
    }
    // SAFETY: the word is `IDLE`, so no call on this listener is running (re-entrant ones would
    // find `BUSY`): this is the only `&mut State`. `f` runs callbacks only inside
    // `Busy::during`, which sets `BUSY` first, so a callback that re-enters stops at the check
    // above without making another.
    let state = unsafe { &mut *inner.state.get() };
    f(state, Busy(&inner.word))
}
