//! Answers: the ones we send (empty OK answer, error answer) and the ones we receive.
//!
//! An OK answer always carries the empty map `0x80`, never an empty payload: the C++ server
//! closes the connection on a zero-length answer payload (reference §1.4).

use super::field::{self, MessageError};
use crate::wire::frame::{
    BuildError, FrameKind, Payload, build_answer, build_empty_map_frame, header,
};
use crate::wire::msgpack::{Sink, Writer, read_bytes, read_i64};

/// FPNN status of an error answer (the C++ server only ever writes 1).
pub const STATUS_ERROR: u8 = 1;

/// FPNN error code for an unknown method.
pub const CODE_UNKNOWN_METHOD: i64 = 20004;
/// Code reported for an error answer that carries no usable `code`
/// (`FPNN_EC_PROTO_UNKNOWN_ERROR`, as the Python SDK does).
pub const CODE_UNKNOWN_ERROR: i64 = 10001;

/// Length of the empty OK answer frame ([`build_empty_answer`]).
pub const EMPTY_ANSWER_LEN: usize = 17;

/// Builds the empty OK answer (17 bytes) to `seq`: what `build_answer(out, seq, 0, &EmptyMap)`
/// writes, written directly (it is sent for every push).
#[inline]
pub fn build_empty_answer(out: &mut [u8], seq: u32) -> Result<usize, BuildError> {
    build_empty_map_frame::<EMPTY_ANSWER_LEN>(out, FrameKind::Answer, seq, b"")
}

/// The empty OK answer to `seq` as an array: the bytes [`build_empty_answer`] writes.
#[inline]
pub fn empty_answer(seq: u32) -> [u8; EMPTY_ANSWER_LEN] {
    let [h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11] = header(FrameKind::Answer, 0, 1);
    let [s0, s1, s2, s3] = seq.to_le_bytes();
    [
        h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, s0, s1, s2, s3, 0x80,
    ]
}

struct ErrorPayload<'x> {
    code: i64,
    ex: &'x [u8],
    raiser: Option<&'x [u8]>,
}

impl Payload for ErrorPayload<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(if self.raiser.is_some() { 3 } else { 2 });
        w.str(b"code");
        w.int(self.code);
        w.str(b"ex");
        w.str(self.ex);
        if let Some(raiser) = self.raiser {
            w.str(b"raiser");
            w.str(raiser);
        }
    }
}

/// Builds an error answer (status 1) with `{code, ex}`, plus `raiser` when given (the
/// `FPAWriter::errorAnswer` form). Same size contract as [`build_answer`].
pub fn build_error_answer(
    out: &mut [u8],
    seq: u32,
    code: i64,
    ex: &[u8],
    raiser: Option<&[u8]>,
) -> Result<usize, BuildError> {
    build_answer(out, seq, STATUS_ERROR, &ErrorPayload { code, ex, raiser })
}

/// What a received answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AnswerInfo<'a> {
    /// The FPNN status byte (0 = OK).
    pub status: u8,
    /// 0 for an OK answer; otherwise the peer's `code`, or [`CODE_UNKNOWN_ERROR`] when it is
    /// absent, zero or not an integer.
    pub code: i64,
    /// The peer's `ex` message, empty when absent or not a string (the Python SDK sends a number).
    pub ex: &'a [u8],
    /// The peer's `raiser`, empty when absent.
    pub raiser: &'a [u8],
}

impl AnswerInfo<'_> {
    /// Whether the answer reports success.
    pub fn is_ok(&self) -> bool {
        self.status == 0
    }
}

/// Decodes an answer's status and payload.
///
/// An OK answer's payload is not inspected. An error answer is read leniently: `code` may be
/// any integer family, `ex` and `raiser` are optional, and values of unexpected types are
/// ignored rather than failing, so the error is always reported. Only a payload that is not
/// well-formed msgpack fails.
pub fn decode_answer(status: u8, payload: &[u8]) -> Result<AnswerInfo<'_>, MessageError> {
    let mut info = AnswerInfo {
        status,
        code: 0,
        ex: &[],
        raiser: &[],
    };
    if status == 0 {
        return Ok(info);
    }
    info.code = CODE_UNKNOWN_ERROR;
    field::for_each(payload, &mut |key, value| {
        // A value of an unexpected type (or an out-of-range code, a truncated string) is not
        // consumed: the caller skips it from its start.
        Ok(match key.bytes {
            // A zero code is consumed but keeps CODE_UNKNOWN_ERROR.
            b"code" => read_i64(value).ok().map(|(c, rest)| {
                if c != 0 {
                    info.code = c;
                }
                rest
            }),
            b"ex" => read_bytes(value).ok().map(|(s, rest)| {
                info.ex = s;
                rest
            }),
            b"raiser" => read_bytes(value).ok().map(|(s, rest)| {
                info.raiser = s;
                rest
            }),
            _ => None,
        })
    })?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::EmptyMap;

    #[test]
    fn python_style_numeric_ex_is_tolerated() {
        // {code: 200002, ex: 200002}
        let payload = [
            0x82, 0xa4, b'c', b'o', b'd', b'e', 0xce, 0x00, 0x03, 0x0d, 0x42, 0xa2, b'e', b'x',
            0xce, 0x00, 0x03, 0x0d, 0x42,
        ];
        let a = decode_answer(1, &payload).unwrap();
        assert_eq!((a.code, a.ex), (200_002, &b""[..]));
    }

    #[test]
    fn empty_answer_is_the_built_answer() {
        for seq in [0, 1, 10, 0x1234_5678, u32::MAX] {
            for len in [0, 16, 17, 18, 64] {
                let (mut a, mut b) = ([0xAAu8; 64], [0xAAu8; 64]);
                assert_eq!(
                    build_empty_answer(&mut a[..len], seq),
                    build_answer(&mut b[..len], seq, 0, &EmptyMap)
                );
                assert_eq!(a, b, "seq {seq}, buffer {len}");
            }
        }
    }

    #[test]
    fn error_without_code_is_not_success() {
        let a = decode_answer(1, &[0x80]).unwrap();
        assert_eq!(a.code, CODE_UNKNOWN_ERROR);
        assert!(!a.is_ok());
    }
}
