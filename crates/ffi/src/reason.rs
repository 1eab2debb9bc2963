//! Close reasons between the engine's `CloseReason` and the C `rtm_close_reason`, and
//! `rtm_close_reason_str`.

use core::ffi::{CStr, c_char};

use engine::session::wukong::WkProtocolError;
use engine::session::{CloseReason, IoError, IoKind};
use engine::wire::frame::FrameError;
use engine::wire::wukong::FrameError as WkFrameError;

use crate::status::*;
use crate::types::*;

const fn empty() -> rtm_close_reason {
    rtm_close_reason {
        kind: 0,
        io_kind: 0,
        os_error: 0,
        protocol: 0,
        protocol_byte: 0,
        frame_len: 0,
        frame_max: 0,
        code: 0,
    }
}

fn io_kind_to_c(kind: IoKind) -> rtm_io_kind {
    match kind {
        IoKind::ConnectionRefused => RTM_IO_CONNECTION_REFUSED,
        IoKind::ConnectionReset => RTM_IO_CONNECTION_RESET,
        IoKind::ConnectionAborted => RTM_IO_CONNECTION_ABORTED,
        IoKind::TimedOut => RTM_IO_TIMED_OUT,
        IoKind::Unreachable => RTM_IO_UNREACHABLE,
        IoKind::UnknownHost => RTM_IO_UNKNOWN_HOST,
        IoKind::InvalidEndpoint => RTM_IO_INVALID_ENDPOINT,
        IoKind::BrokenPipe => RTM_IO_BROKEN_PIPE,
        _ => RTM_IO_OTHER,
    }
}

fn io_kind_from_c(kind: rtm_io_kind) -> Option<IoKind> {
    Some(match kind {
        RTM_IO_CONNECTION_REFUSED => IoKind::ConnectionRefused,
        RTM_IO_CONNECTION_RESET => IoKind::ConnectionReset,
        RTM_IO_CONNECTION_ABORTED => IoKind::ConnectionAborted,
        RTM_IO_TIMED_OUT => IoKind::TimedOut,
        RTM_IO_UNREACHABLE => IoKind::Unreachable,
        RTM_IO_UNKNOWN_HOST => IoKind::UnknownHost,
        RTM_IO_INVALID_ENDPOINT => IoKind::InvalidEndpoint,
        RTM_IO_BROKEN_PIPE => IoKind::BrokenPipe,
        RTM_IO_OTHER => IoKind::Other,
        _ => return None,
    })
}

/// The C view of an engine reason.
pub(crate) fn to_c(reason: CloseReason) -> rtm_close_reason {
    let mut c = empty();
    match reason {
        CloseReason::DeadLink => c.kind = RTM_REASON_DEAD_LINK,
        CloseReason::PeerClosed => c.kind = RTM_REASON_PEER_CLOSED,
        CloseReason::Host => c.kind = RTM_REASON_HOST,
        CloseReason::KeyExchange { code } => {
            c.kind = RTM_REASON_KEY_EXCHANGE;
            c.code = code;
        }
        CloseReason::Io(IoError { kind, errno }) => {
            c.kind = RTM_REASON_IO;
            c.io_kind = io_kind_to_c(kind);
            c.os_error = errno;
        }
        CloseReason::Protocol(e) => {
            c.kind = RTM_REASON_PROTOCOL;
            c.protocol = match e {
                FrameError::BadMagic => RTM_PROTOCOL_BAD_MAGIC,
                FrameError::JsonPayload => RTM_PROTOCOL_JSON_PAYLOAD,
                FrameError::BadFlag(b) => {
                    c.protocol_byte = b;
                    RTM_PROTOCOL_BAD_FLAG
                }
                FrameError::BadMtype(b) => {
                    c.protocol_byte = b;
                    RTM_PROTOCOL_BAD_MTYPE
                }
                FrameError::EmptyMethod => RTM_PROTOCOL_EMPTY_METHOD,
                FrameError::TooLarge { len, max } => {
                    c.frame_len = len as u64;
                    c.frame_max = max as u64;
                    RTM_PROTOCOL_TOO_LARGE
                }
                FrameError::PayloadNotMap => RTM_PROTOCOL_PAYLOAD_NOT_MAP,
                FrameError::BadPackage => RTM_PROTOCOL_BAD_PACKAGE,
                _ => RTM_PROTOCOL_OTHER,
            };
        }
        CloseReason::WkRefused { reason_code } => {
            c.kind = RTM_REASON_WK_REFUSED;
            c.code = i64::from(reason_code);
        }
        CloseReason::WkDisconnected { reason_code } => {
            c.kind = RTM_REASON_WK_DISCONNECTED;
            c.code = i64::from(reason_code);
        }
        CloseReason::WkProtocol(e) => {
            c.kind = RTM_REASON_WK_PROTOCOL;
            c.protocol = match e {
                WkProtocolError::Frame(f) => {
                    if let WkFrameError::TooLarge { len, max } = f {
                        c.frame_len = len as u64;
                        c.frame_max = max as u64;
                    }
                    if let WkFrameError::UnknownType(t) = f {
                        c.protocol_byte = t;
                    }
                    RTM_WK_PROTOCOL_FRAME
                }
                WkProtocolError::Malformed { packet, .. } => {
                    c.protocol_byte = packet as u8;
                    RTM_WK_PROTOCOL_MALFORMED
                }
                WkProtocolError::Unexpected(packet) => {
                    c.protocol_byte = packet as u8;
                    RTM_WK_PROTOCOL_UNEXPECTED
                }
                WkProtocolError::EncryptionNotCompiled => RTM_WK_PROTOCOL_NO_ENCRYPTION,
                _ => RTM_WK_PROTOCOL_KEYS,
            };
        }
        // A reason of a newer engine: the closest class.
        _ => c.kind = RTM_REASON_HOST,
    }
    c
}

/// The engine reason of a C one. `requested` is the reason the listener asked to close for:
/// when `c` is its C view, that exact reason is used (so `RTM_PROTOCOL_OTHER` round-trips).
pub(crate) fn from_c(
    c: &rtm_close_reason,
    requested: Option<CloseReason>,
) -> Result<CloseReason, rtm_status> {
    if let Some(r) = requested
        && to_c(r) == *c
    {
        return Ok(r);
    }
    Ok(match c.kind {
        RTM_REASON_DEAD_LINK => CloseReason::DeadLink,
        RTM_REASON_PEER_CLOSED => CloseReason::PeerClosed,
        RTM_REASON_HOST => CloseReason::Host,
        RTM_REASON_KEY_EXCHANGE => CloseReason::KeyExchange { code: c.code },
        RTM_REASON_IO => CloseReason::Io(IoError {
            kind: io_kind_from_c(c.io_kind).ok_or(RTM_ERR_INVALID_ARG)?,
            errno: c.os_error,
        }),
        RTM_REASON_PROTOCOL => CloseReason::Protocol(match c.protocol {
            RTM_PROTOCOL_BAD_MAGIC => FrameError::BadMagic,
            RTM_PROTOCOL_JSON_PAYLOAD => FrameError::JsonPayload,
            RTM_PROTOCOL_BAD_FLAG => FrameError::BadFlag(c.protocol_byte),
            RTM_PROTOCOL_BAD_MTYPE => FrameError::BadMtype(c.protocol_byte),
            RTM_PROTOCOL_EMPTY_METHOD => FrameError::EmptyMethod,
            RTM_PROTOCOL_TOO_LARGE => FrameError::TooLarge {
                len: usize::try_from(c.frame_len).map_err(|_| RTM_ERR_INVALID_ARG)?,
                max: usize::try_from(c.frame_max).map_err(|_| RTM_ERR_INVALID_ARG)?,
            },
            RTM_PROTOCOL_PAYLOAD_NOT_MAP => FrameError::PayloadNotMap,
            RTM_PROTOCOL_BAD_PACKAGE => FrameError::BadPackage,
            _ => return Err(RTM_ERR_INVALID_ARG),
        }),
        RTM_REASON_WK_REFUSED => CloseReason::WkRefused {
            reason_code: u8::try_from(c.code).map_err(|_| RTM_ERR_INVALID_ARG)?,
        },
        RTM_REASON_WK_DISCONNECTED => CloseReason::WkDisconnected {
            reason_code: u8::try_from(c.code).map_err(|_| RTM_ERR_INVALID_ARG)?,
        },
        // Only the listener makes these (taken from `requested` above).
        _ => return Err(RTM_ERR_INVALID_ARG),
    })
}

fn describe(r: &rtm_close_reason) -> &'static CStr {
    match r.kind {
        RTM_REASON_DEAD_LINK => c"dead link: nothing received",
        RTM_REASON_PEER_CLOSED => c"closed by the peer",
        RTM_REASON_HOST => c"closed by the host",
        RTM_REASON_KEY_EXCHANGE => c"the key exchange failed",
        RTM_REASON_IO => match r.io_kind {
            RTM_IO_CONNECTION_REFUSED => c"connection refused",
            RTM_IO_CONNECTION_RESET => c"connection reset",
            RTM_IO_CONNECTION_ABORTED => c"connection aborted",
            RTM_IO_TIMED_OUT => c"timed out",
            RTM_IO_UNREACHABLE => c"host or network unreachable",
            RTM_IO_UNKNOWN_HOST => c"unknown host",
            RTM_IO_INVALID_ENDPOINT => c"invalid endpoint",
            RTM_IO_BROKEN_PIPE => c"broken pipe",
            RTM_IO_OTHER => c"I/O error",
            _ => c"invalid close reason",
        },
        RTM_REASON_PROTOCOL => match r.protocol {
            RTM_PROTOCOL_BAD_MAGIC => c"protocol error: bad FPNN magic",
            RTM_PROTOCOL_JSON_PAYLOAD => c"protocol error: JSON payloads are not supported",
            RTM_PROTOCOL_BAD_FLAG => c"protocol error: bad FPNN flag",
            RTM_PROTOCOL_BAD_MTYPE => c"protocol error: bad FPNN mtype",
            RTM_PROTOCOL_EMPTY_METHOD => c"protocol error: quest with an empty method",
            RTM_PROTOCOL_TOO_LARGE => c"protocol error: frame too large",
            RTM_PROTOCOL_PAYLOAD_NOT_MAP => c"protocol error: payload is not a msgpack map",
            RTM_PROTOCOL_OTHER => c"protocol error",
            RTM_PROTOCOL_BAD_PACKAGE => c"protocol error: bad encrypted package",
            _ => c"invalid close reason",
        },
        RTM_REASON_WK_REFUSED => c"the WuKongIM server refused the login",
        RTM_REASON_WK_DISCONNECTED => c"the WuKongIM server disconnected",
        RTM_REASON_WK_PROTOCOL => match r.protocol {
            RTM_WK_PROTOCOL_FRAME => c"WuKongIM protocol error: bad framing",
            RTM_WK_PROTOCOL_MALFORMED => c"WuKongIM protocol error: malformed packet",
            RTM_WK_PROTOCOL_UNEXPECTED => c"WuKongIM protocol error: unexpected packet",
            RTM_WK_PROTOCOL_KEYS => c"WuKongIM protocol error: bad server key or salt",
            RTM_WK_PROTOCOL_NO_ENCRYPTION => {
                c"the WuKongIM server encrypts (encryption not compiled)"
            }
            _ => c"invalid close reason",
        },
        _ => c"invalid close reason",
    }
}

/// A reason of class `kind` with no details (for `RTM_REASON_PEER_CLOSED`, `RTM_REASON_HOST`,
/// `RTM_REASON_DEAD_LINK`; set the detail fields yourself for the others).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_close_reason_of(kind: rtm_reason_kind) -> rtm_close_reason {
    rtm_close_reason { kind, ..empty() }
}

/// An `RTM_REASON_IO` reason: the kind of error (`RTM_IO_*`) and `errno` (or 0).
#[unsafe(no_mangle)]
pub extern "C" fn rtm_close_reason_io(io_kind: rtm_io_kind, os_error: i32) -> rtm_close_reason {
    rtm_close_reason {
        kind: RTM_REASON_IO,
        io_kind,
        os_error,
        ..empty()
    }
}

/// A static, NUL-terminated description of `reason`'s class (the numbers are in its fields);
/// "invalid close reason" for an invalid one or NULL.
///
/// # Safety
/// `reason` must be NULL or point to a readable `rtm_close_reason`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_close_reason_str(reason: *const rtm_close_reason) -> *const c_char {
    // SAFETY: NULL or readable (caller).
    match unsafe { reason.as_ref() } {
        Some(r) => describe(r).as_ptr(),
        None => c"invalid close reason".as_ptr(),
    }
}

/// Whether `reason` counts as an error for the official `causedByError`: everything but
/// `RTM_REASON_PEER_CLOSED` and `RTM_REASON_HOST` (false for NULL).
///
/// # Safety
/// `reason` must be NULL or point to a readable `rtm_close_reason`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_close_reason_is_error(reason: *const rtm_close_reason) -> bool {
    // SAFETY: NULL or readable (caller).
    match unsafe { reason.as_ref() } {
        Some(r) => !matches!(r.kind, RTM_REASON_PEER_CLOSED | RTM_REASON_HOST),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips() {
        let reasons = [
            CloseReason::DeadLink,
            CloseReason::PeerClosed,
            CloseReason::Host,
            CloseReason::Io(IoError {
                kind: IoKind::ConnectionRefused,
                errno: 111,
            }),
            CloseReason::Io(IoError {
                kind: IoKind::UnknownHost,
                errno: 0,
            }),
            CloseReason::Protocol(FrameError::BadMagic),
            CloseReason::Protocol(FrameError::BadFlag(0x40)),
            CloseReason::Protocol(FrameError::BadMtype(7)),
            CloseReason::Protocol(FrameError::TooLarge {
                len: 9 << 20,
                max: 8 << 20,
            }),
            CloseReason::Protocol(FrameError::BadPackage),
            CloseReason::KeyExchange { code: 20003 },
            CloseReason::KeyExchange { code: 200_001 },
        ];
        for r in reasons {
            let c = to_c(r);
            assert_eq!(from_c(&c, None), Ok(r));
            assert_eq!(
                // SAFETY: a live struct.
                unsafe { rtm_close_reason_is_error(&c) },
                r.is_error()
            );
            // SAFETY: a live struct; the result is a static C string.
            let text = unsafe { CStr::from_ptr(rtm_close_reason_str(&c)) };
            assert_ne!(text.to_bytes(), b"invalid close reason");
        }
        // The new kinds have their own numbers (not the catch-alls), and the code travels.
        let k = to_c(CloseReason::KeyExchange { code: -5 });
        assert_eq!(
            (k.kind, k.code, k.protocol),
            (RTM_REASON_KEY_EXCHANGE, -5, 0)
        );
        let p = to_c(CloseReason::Protocol(FrameError::BadPackage));
        assert_eq!(
            (p.kind, p.protocol, p.code),
            (RTM_REASON_PROTOCOL, RTM_PROTOCOL_BAD_PACKAGE, 0)
        );
        // Only a key exchange reason carries a code; other kinds ignore it.
        let mut host = to_c(CloseReason::Host);
        host.code = 9;
        assert_eq!(from_c(&host, None), Ok(CloseReason::Host));
        let mut bad = to_c(CloseReason::Host);
        bad.kind = 0;
        assert_eq!(from_c(&bad, None), Err(RTM_ERR_INVALID_ARG));
        bad.kind = RTM_REASON_IO;
        assert_eq!(from_c(&bad, None), Err(RTM_ERR_INVALID_ARG));
    }
}
