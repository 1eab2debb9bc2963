//! The stable integer status table and `rtm_status_str`.
//!
//! Values never change meaning; retired values are never reused. Codes below 100 are not
//! errors: `RTM_OK`, `RTM_NONE` (nothing to report) and `RTM_CLOSE` (the host must close the
//! transport and call `rtm_listener_closed`).

use core::ffi::c_char;

/// A status returned by every `rtm_` function.
pub type rtm_status = i32;

/// Success.
pub const RTM_OK: rtm_status = 0;
/// Success, but there is nothing to report (no deadline, no reconnect time).
pub const RTM_NONE: rtm_status = 1;
/// Success; the listener asks the host to close the connection, then call
/// `rtm_listener_closed`.
pub const RTM_CLOSE: rtm_status = 2;
/// A required pointer argument was NULL.
pub const RTM_ERR_NULL: rtm_status = 100;
/// Called from inside a callback of the same listener; nothing was done.
pub const RTM_ERR_BUSY: rtm_status = 101;
/// The listener was not initialised with `rtm_listener_init` (or was deinitialised).
pub const RTM_ERR_UNINIT: rtm_status = 102;
/// The storage is smaller than `rtm_listener_size()` or not aligned to `rtm_listener_align()`.
pub const RTM_ERR_STORAGE: rtm_status = 103;
/// The secret is longer than 64 bytes.
pub const RTM_ERR_SECRET_TOO_LONG: rtm_status = 104;
/// An argument is out of range.
pub const RTM_ERR_INVALID_ARG: rtm_status = 105;
/// The receive or transmit buffer is below its minimum (`RTM_MIN_RX_SIZE`,
/// `rtm_min_tx_size()`), or the buffer lent (or the inline area) is smaller than
/// `RTM_BUFFER_SIZE(rx_size, tx_size)`.
pub const RTM_ERR_BUFFER_TOO_SMALL: rtm_status = 106;
/// All pending-quest slots are in use; nothing was sent.
pub const RTM_ERR_TOO_MANY_PENDING: rtm_status = 110;
/// Too many listen ids; nothing was sent.
pub const RTM_ERR_TOO_MANY_IDS: rtm_status = 111;
/// An event name other than `login` or `logout`; nothing was sent.
pub const RTM_ERR_UNSUPPORTED_EVENT: rtm_status = 112;
/// Retired: no longer returned (the transmit buffer always holds the largest listen quest,
/// `rtm_min_tx_size()`); the value keeps its meaning.
pub const RTM_ERR_TOO_LARGE: rtm_status = 113;
/// Bytes were passed while no connection is up (call `rtm_listener_connected` first).
pub const RTM_ERR_NOT_CONNECTED: rtm_status = 114;

/// A static, NUL-terminated description of `status` (also for unknown values).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_status_str(status: rtm_status) -> *const c_char {
    let s: &'static core::ffi::CStr = match status {
        RTM_OK => c"ok",
        RTM_NONE => c"nothing to report",
        RTM_CLOSE => c"close the connection",
        RTM_ERR_NULL => c"a required pointer argument was NULL",
        RTM_ERR_BUSY => c"re-entrant call from a callback of the same listener",
        RTM_ERR_UNINIT => c"listener not initialised",
        RTM_ERR_STORAGE => c"listener storage too small or misaligned",
        RTM_ERR_SECRET_TOO_LONG => c"secret longer than 64 bytes",
        RTM_ERR_INVALID_ARG => c"invalid argument",
        RTM_ERR_BUFFER_TOO_SMALL => c"receive or transmit buffer too small",
        RTM_ERR_TOO_MANY_PENDING => c"too many pending quests",
        RTM_ERR_TOO_MANY_IDS => c"too many listen ids",
        RTM_ERR_UNSUPPORTED_EVENT => c"unsupported event (only login and logout)",
        RTM_ERR_TOO_LARGE => c"quest larger than the transmit buffer",
        RTM_ERR_NOT_CONNECTED => c"not connected",
        _ => c"unknown status",
    };
    s.as_ptr()
}
