//! FPNN encryption for C: `rtm_encryption` read into the engine's `Encryption`, and the calls
//! that set it and stir in entropy.
//!
//! The struct is the caller's and is read only during the call: the key is parsed into the
//! engine's `ServerPublicKey` (a curve and a point, checked to be on the curve), the entropy is
//! stirred into the engine's key generator. Nothing is logged. The ABI is the same with and
//! without the `encryption` feature; without it, a server key gets
//! `RTM_ERR_ENCRYPTION_NOT_COMPILED`.

#[cfg(feature = "encryption")]
use core::ffi::CStr;

#[cfg(feature = "encryption")]
use engine::crypto::{Bits, Curve, EcdhError, KeyError, ServerPublicKey};
#[cfg(feature = "encryption")]
use engine::session::{Encryption, EncryptionMode};

use crate::handle::{Engine, enter, rtm_listener};
use crate::status::*;
use crate::types::*;

#[cfg(feature = "encryption")]
const _: () = assert!(RTM_MIN_ENTROPY == engine::session::MIN_ENTROPY);

/// What a checked `rtm_encryption` sets: the engine's encryption (`None`: plaintext), in builds
/// without the feature only ever `None`.
#[cfg(feature = "encryption")]
pub(crate) type Setting = Option<Encryption>;
/// What a checked `rtm_encryption` sets: plaintext only, in a build without the feature.
#[cfg(not(feature = "encryption"))]
pub(crate) type Setting = Option<core::convert::Infallible>;

/// A checked `rtm_encryption`: the setting and the entropy to stir in (borrowed from the
/// caller for the call).
pub(crate) struct Checked<'a> {
    pub(crate) setting: Setting,
    pub(crate) entropy: &'a [u8],
}

/// # Safety
/// `ptr` must be valid for `len` bytes (or `len` is 0).
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], rtm_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(RTM_ERR_NULL);
    }
    // SAFETY: non-NULL; the caller guarantees `len` readable bytes.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The status of a key error.
#[cfg(feature = "encryption")]
pub(crate) fn key_status(e: KeyError) -> rtm_status {
    match e {
        KeyError::WrongLength { .. } => RTM_ERR_KEY_WRONG_LENGTH,
        KeyError::NotUncompressed(_) => RTM_ERR_KEY_NOT_UNCOMPRESSED,
        KeyError::NotOnCurve => RTM_ERR_KEY_NOT_ON_CURVE,
        KeyError::NotEcKey => RTM_ERR_KEY_NOT_EC,
        KeyError::UnknownCurve => RTM_ERR_KEY_UNKNOWN_CURVE,
        KeyError::CurveNotCompiled(_) => RTM_ERR_CURVE_NOT_COMPILED,
        KeyError::BadPem => RTM_ERR_KEY_BAD_PEM,
        KeyError::TooLong => RTM_ERR_KEY_TOO_LONG,
        KeyError::BadDer => RTM_ERR_KEY_BAD_DER,
        _ => RTM_ERR_INVALID_ARG,
    }
}

/// The status of an error of `set_encryption`.
#[cfg(feature = "encryption")]
pub(crate) fn ecdh_status(e: EcdhError) -> rtm_status {
    match e {
        EcdhError::CurveNotCompiled(_) => RTM_ERR_CURVE_NOT_COMPILED,
        EcdhError::ShortEntropy { .. } => RTM_ERR_SHORT_ENTROPY,
        _ => RTM_ERR_INVALID_ARG,
    }
}

/// Whether `bytes` is as long as a raw key (`X || Y`, with or without `0x04`) on some curve:
/// 48, 49, 56, 57, 64 or 65 bytes, never the length of a DER key of the four curves.
#[cfg(feature = "encryption")]
fn raw_length(bytes: &[u8]) -> bool {
    Curve::ALL
        .iter()
        .any(|c| bytes.len() == c.point_len() || bytes.len() == c.point_len() + 1)
}

/// The server key of `key` in `format`, on `curve` if named.
#[cfg(feature = "encryption")]
pub(crate) fn parse_key(
    key: &[u8],
    format: rtm_key_format,
    curve: Option<Curve>,
) -> Result<ServerPublicKey, rtm_status> {
    let pem = key.windows(10).any(|w| w == b"-----BEGIN");
    let parsed = match (format, curve) {
        (RTM_KEY_RAW, Some(c)) => ServerPublicKey::from_raw(c, key),
        (RTM_KEY_RAW, None) => return Err(RTM_ERR_KEY_NEEDS_CURVE),
        (RTM_KEY_PEM, _) => ServerPublicKey::from_pem(key),
        (RTM_KEY_DER, _) => ServerPublicKey::from_der(key),
        // Raw bytes without a curve would be read as DER (and be "bad DER"): say what is missing.
        (RTM_KEY_AUTO, None) if !pem && raw_length(key) => return Err(RTM_ERR_KEY_NEEDS_CURVE),
        (RTM_KEY_AUTO, _) => ServerPublicKey::parse(key, curve),
        _ => return Err(RTM_ERR_INVALID_ARG),
    };
    let parsed = parsed.map_err(key_status)?;
    match curve {
        Some(c) if c != parsed.curve() => Err(RTM_ERR_KEY_CURVE_MISMATCH),
        _ => Ok(parsed),
    }
}

/// Checks `enc` (NULL: plaintext) and reads it into what the engine takes. The key's parse is
/// out of line ([`setting`]): `rtm_listener_init`'s stack on its plaintext path stays as small
/// as without encryption.
///
/// # Safety
/// `enc` must be NULL or point to a readable `rtm_encryption` whose pointers are valid as
/// documented there.
#[inline(always)]
pub(crate) unsafe fn check<'a>(enc: *const rtm_encryption) -> Result<Checked<'a>, rtm_status> {
    // SAFETY: NULL or readable (caller).
    let Some(enc) = (unsafe { enc.as_ref() }) else {
        return Ok(Checked {
            setting: None,
            entropy: &[],
        });
    };
    // SAFETY: the caller guarantees the entropy and key pointers are valid for their lengths.
    let (entropy, key) = unsafe {
        (
            bytes(enc.entropy, enc.entropy_len)?,
            bytes(enc.server_key, enc.server_key_len)?,
        )
    };
    if enc.server_key.is_null() {
        return Ok(Checked {
            setting: None,
            entropy,
        });
    }
    // SAFETY: forwarded (`curve`).
    let setting = unsafe { setting(enc, key, entropy) }?;
    Ok(Checked { setting, entropy })
}

/// The engine's setting for the server key `key` of `enc`.
///
/// # Safety
/// `enc.curve` must be NULL or NUL-terminated.
#[inline(never)]
#[cfg(feature = "encryption")]
unsafe fn setting(enc: &rtm_encryption, key: &[u8], entropy: &[u8]) -> Result<Setting, rtm_status> {
    let curve = if enc.curve.is_null() {
        None
    } else {
        // SAFETY: non-NULL; the caller guarantees a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(enc.curve) };
        let name = name.to_str().map_err(|_| RTM_ERR_UNKNOWN_CURVE)?;
        Some(Curve::from_name(name).ok_or(RTM_ERR_UNKNOWN_CURVE)?)
    };
    let server_key = parse_key(key, enc.format, curve)?;
    if !server_key.curve().is_compiled() {
        return Err(RTM_ERR_CURVE_NOT_COMPILED);
    }
    if entropy.len() < RTM_MIN_ENTROPY {
        return Err(RTM_ERR_SHORT_ENTROPY);
    }
    let mode = if enc.stream_mode {
        EncryptionMode::Stream
    } else {
        EncryptionMode::Package
    };
    let bits = if enc.aes256 {
        Bits::Aes256
    } else {
        Bits::Aes128
    };
    Ok(Some(Encryption::new(server_key, mode, bits)))
}

/// A server key in a build without encryption: refused.
///
/// # Safety
/// Nothing is read.
#[cfg(not(feature = "encryption"))]
unsafe fn setting(_: &rtm_encryption, _: &[u8], _: &[u8]) -> Result<Setting, rtm_status> {
    Err(RTM_ERR_ENCRYPTION_NOT_COMPILED)
}

/// Gives `checked` to the engine: its encryption from the next connection on, its entropy
/// stirred into the key generator. Cannot fail after [`check`] (which checks what
/// `set_encryption` refuses); a failure is reported all the same.
#[inline(never)]
pub(crate) fn apply(listener: &mut Engine, checked: Checked<'_>) -> rtm_status {
    let Checked { setting, entropy } = checked;
    #[cfg(feature = "encryption")]
    {
        if setting.is_none() && entropy.len() < RTM_MIN_ENTROPY {
            // Plaintext needs no entropy, but the engine's call takes some: what was given is
            // stirred in, then a block of zeros (mixing zeros into the generator's state takes
            // nothing from it).
            listener.add_entropy(entropy);
            return match listener.set_encryption(None, &[0; RTM_MIN_ENTROPY]) {
                Ok(()) => RTM_OK,
                Err(e) => ecdh_status(e),
            };
        }
        match listener.set_encryption(setting, entropy) {
            Ok(()) => RTM_OK,
            Err(e) => ecdh_status(e),
        }
    }
    #[cfg(not(feature = "encryption"))]
    {
        // Only plaintext passes `check` in this build: nothing to set.
        let _ = (listener, setting, entropy);
        RTM_OK
    }
}

/// [`check`]'s status, out of line: `rtm_listener_init` checks its setting before it writes
/// anything, without a parsed key in its own frame.
///
/// # Safety
/// As for [`check`].
#[inline(never)]
pub(crate) unsafe fn validate(enc: *const rtm_encryption) -> rtm_status {
    // SAFETY: forwarded.
    match unsafe { check(enc) } {
        Ok(_) => RTM_OK,
        Err(e) => e,
    }
}

/// Reads `enc` (checked by [`validate`] before) and gives it to the engine ([`apply`]): the
/// end of `rtm_listener_init`.
///
/// # Safety
/// As for [`check`].
#[inline(never)]
pub(crate) unsafe fn set_from_c(listener: &mut Engine, enc: &rtm_encryption) -> rtm_status {
    // SAFETY: forwarded.
    match unsafe { check(enc) } {
        Ok(c) => apply(listener, c),
        Err(e) => e,
    }
}

/// Checks an encryption setting without a listener: `RTM_OK` when `rtm_listener_init` and
/// `rtm_listener_set_encryption` would take it, else the same error they would return (a
/// key error, `RTM_ERR_UNKNOWN_CURVE`, `RTM_ERR_SHORT_ENTROPY`, ...). NULL, or a NULL
/// `server_key`, is plaintext: `RTM_OK`.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (a NULL `server_key` or `entropy` with a nonzero length);
/// the encryption errors `RTM_ERR_KEY_WRONG_LENGTH`, `RTM_ERR_KEY_NOT_UNCOMPRESSED`,
/// `RTM_ERR_KEY_NOT_ON_CURVE`, `RTM_ERR_KEY_NOT_EC`, `RTM_ERR_KEY_UNKNOWN_CURVE`,
/// `RTM_ERR_KEY_BAD_PEM`, `RTM_ERR_KEY_TOO_LONG`, `RTM_ERR_KEY_BAD_DER`,
/// `RTM_ERR_KEY_NEEDS_CURVE`, `RTM_ERR_KEY_CURVE_MISMATCH`, `RTM_ERR_UNKNOWN_CURVE`,
/// `RTM_ERR_CURVE_NOT_COMPILED`, `RTM_ERR_SHORT_ENTROPY` and `RTM_ERR_ENCRYPTION_NOT_COMPILED`
/// (a server key given to a library built without encryption); `RTM_ERR_INVALID_ARG` (an
/// unknown key `format`).
///
/// # Safety
/// `enc` must be NULL or point to a readable `rtm_encryption` whose pointers are valid for
/// their lengths (`curve` NULL or NUL-terminated).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_encryption_check(enc: *const rtm_encryption) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { validate(enc) }
}

/// Sets FPNN encryption for every connection from the next `rtm_listener_connected` on (the
/// current connection, if any, keeps what it started with); NULL, or a NULL `server_key`, turns
/// it off. `enc` is read during the call only. On an error the listener is unchanged.
///
/// Statuses: `RTM_OK`; the encryption errors `RTM_ERR_KEY_WRONG_LENGTH`,
/// `RTM_ERR_KEY_NOT_UNCOMPRESSED`, `RTM_ERR_KEY_NOT_ON_CURVE`, `RTM_ERR_KEY_NOT_EC`,
/// `RTM_ERR_KEY_UNKNOWN_CURVE`, `RTM_ERR_KEY_BAD_PEM`, `RTM_ERR_KEY_TOO_LONG`,
/// `RTM_ERR_KEY_BAD_DER`, `RTM_ERR_KEY_NEEDS_CURVE`, `RTM_ERR_KEY_CURVE_MISMATCH`,
/// `RTM_ERR_UNKNOWN_CURVE`, `RTM_ERR_CURVE_NOT_COMPILED`, `RTM_ERR_SHORT_ENTROPY` and
/// `RTM_ERR_ENCRYPTION_NOT_COMPILED` (a server key given to a library built without
/// encryption); `RTM_ERR_INVALID_ARG` (an unknown key `format`); `RTM_ERR_NULL` (NULL `l`, or a
/// NULL `server_key` or `entropy` of `enc` with a nonzero length); `RTM_ERR_STORAGE` (`l`
/// misaligned); `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT`
/// (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `enc` as for `rtm_encryption_check`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_set_encryption(
    l: *mut rtm_listener,
    enc: *const rtm_encryption,
) -> rtm_status {
    // SAFETY: forwarded.
    let checked = match unsafe { check(enc) } {
        Ok(c) => c,
        Err(e) => return e,
    };
    // SAFETY: forwarded.
    unsafe { enter(l, |s| apply(&mut s.listener, checked)) }
}

/// Stirs host entropy into the generator of the per-connection keys (for example fresh bytes
/// from the system's generator before each connection). Copied into it, not kept. Does
/// nothing in a library built without encryption.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`, or NULL `data` with a nonzero `len`);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `data` readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_listener_add_entropy(
    l: *mut rtm_listener,
    data: *const u8,
    len: usize,
) -> rtm_status {
    // SAFETY: the caller guarantees `len` readable bytes.
    let data = match unsafe { bytes(data, len) } {
        Ok(d) => d,
        Err(e) => return e,
    };
    // SAFETY: forwarded.
    unsafe {
        enter(l, |s| {
            #[cfg(feature = "encryption")]
            s.listener.add_entropy(data);
            #[cfg(not(feature = "encryption"))]
            let _ = (s, data);
            RTM_OK
        })
    }
}
