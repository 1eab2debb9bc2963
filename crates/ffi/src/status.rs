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

// FPNN encryption (`rtm_encryption`): 120..=133, one code per cause. The listener is left as it
// was when any of them is returned.

/// The server key is not `2n` bytes (`X || Y`) nor `2n + 1` bytes (`0x04 || X || Y`) for its
/// curve (64/65 for secp256k1 and secp256r1, 56/57 for secp224r1, 48/49 for secp192r1), or a
/// DER key's point has the wrong length.
pub const RTM_ERR_KEY_WRONG_LENGTH: rtm_status = 120;
/// The server key has `2n + 1` bytes but does not start with `0x04` (an uncompressed point).
pub const RTM_ERR_KEY_NOT_UNCOMPRESSED: rtm_status = 121;
/// The server key's coordinates are not a point on its curve.
pub const RTM_ERR_KEY_NOT_ON_CURVE: rtm_status = 122;
/// The PEM or DER server key is not an EC key (an RSA or Ed25519 key, for example).
pub const RTM_ERR_KEY_NOT_EC: rtm_status = 123;
/// The PEM or DER server key is an EC key on none of the four FPNN curves (or with explicit
/// curve parameters).
pub const RTM_ERR_KEY_UNKNOWN_CURVE: rtm_status = 124;
/// No `-----BEGIN PUBLIC KEY-----` ... `-----END PUBLIC KEY-----` block, or a body that is not
/// base64.
pub const RTM_ERR_KEY_BAD_PEM: rtm_status = 125;
/// The PEM body decodes to more bytes than any key of the four curves takes.
pub const RTM_ERR_KEY_TOO_LONG: rtm_status = 126;
/// The bytes are not a DER SubjectPublicKeyInfo (a bad tag or length, trailing bytes).
pub const RTM_ERR_KEY_BAD_DER: rtm_status = 127;
/// A raw server key (`RTM_KEY_RAW`, or raw-length bytes with `RTM_KEY_AUTO`) without
/// `rtm_encryption.curve`: raw `X || Y` does not say its curve.
pub const RTM_ERR_KEY_NEEDS_CURVE: rtm_status = 128;
/// `rtm_encryption.curve` names another curve than the PEM or DER key's.
pub const RTM_ERR_KEY_CURVE_MISMATCH: rtm_status = 129;
/// `rtm_encryption.curve` is none of `secp256k1`, `secp256r1` (`prime256v1`, `P-256`),
/// `secp224r1` (`P-224`), `secp192r1` (`prime192v1`, `P-192`).
pub const RTM_ERR_UNKNOWN_CURVE: rtm_status = 130;
/// The key's curve is not compiled into this library (a build with fewer curves).
pub const RTM_ERR_CURVE_NOT_COMPILED: rtm_status = 131;
/// Fewer than `RTM_MIN_ENTROPY` (32) bytes of entropy with a server key.
pub const RTM_ERR_SHORT_ENTROPY: rtm_status = 132;
/// A server key was given to a library built without FPNN encryption (the `encryption`
/// feature of crates/ffi, on by default).
pub const RTM_ERR_ENCRYPTION_NOT_COMPILED: rtm_status = 133;

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
        RTM_ERR_KEY_WRONG_LENGTH => c"server key of the wrong length for its curve",
        RTM_ERR_KEY_NOT_UNCOMPRESSED => c"server key is not an uncompressed point (0x04)",
        RTM_ERR_KEY_NOT_ON_CURVE => c"server key is not a point on its curve",
        RTM_ERR_KEY_NOT_EC => c"server key is not an EC key",
        RTM_ERR_KEY_UNKNOWN_CURVE => c"server key on a curve other than the four FPNN curves",
        RTM_ERR_KEY_BAD_PEM => c"malformed PEM server key",
        RTM_ERR_KEY_TOO_LONG => c"PEM server key too long",
        RTM_ERR_KEY_BAD_DER => c"malformed DER server key",
        RTM_ERR_KEY_NEEDS_CURVE => c"raw server key without a curve name",
        RTM_ERR_KEY_CURVE_MISMATCH => c"curve name differs from the server key's curve",
        RTM_ERR_UNKNOWN_CURVE => c"unknown curve name",
        RTM_ERR_CURVE_NOT_COMPILED => c"curve not compiled into this library",
        RTM_ERR_SHORT_ENTROPY => c"fewer than 32 bytes of entropy",
        RTM_ERR_ENCRYPTION_NOT_COMPILED => c"FPNN encryption not compiled into this library",
        _ => c"unknown status",
    };
    s.as_ptr()
}
