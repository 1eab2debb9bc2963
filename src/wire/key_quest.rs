//! The wire pieces of FPNN encryption (feature `fpnn-encryption`, reference §4.2, §4.3): the
//! plaintext `*key` quest, and the length prefix of package mode.
//!
//! `*key` is the first frame on the connection, a twoway quest with the map
//! `{publicKey, streamMode, bits}` in that order (the C++ client's order). `publicKey` is
//! written as msgpack **bin**, as the Go and Python SDKs do and the reference's example 8 shows
//! (`c4 40 …`); the server reads str and bin alike.
//!
//! In package mode every frame after `*key` goes out as a plaintext `u32` LE length `L`, then
//! `L` bytes: the whole FPNN frame encrypted with the cipher restarted from the IV. Stream mode
//! has no prefix: the frames themselves are encrypted as one stream.

use super::frame::{BuildError, FrameError, Payload, build_quest};
use super::msgpack::{Sink, Writer};
use crate::crypto::Bits;

/// The method name of the key exchange quest.
pub const KEY_METHOD: &str = "*key";

/// Bytes in package mode's length prefix.
pub const PACKAGE_PREFIX_LEN: usize = 4;

/// The `*key` payload.
struct KeyPayload<'a> {
    public_key: &'a [u8],
    stream_mode: bool,
    bits: Bits,
}

impl Payload for KeyPayload<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(3);
        w.str(b"publicKey");
        w.bin(self.public_key);
        w.str(b"streamMode");
        w.bool(self.stream_mode);
        w.str(b"bits");
        w.uint(u64::from(self.bits.bits()));
    }
}

/// Builds the plaintext `*key` quest into `out`: `public_key` is the client's ephemeral key as
/// `X || Y` without prefix ([`crate::crypto::EphemeralKey::public_key`]), `stream_mode` picks
/// stream (`true`) or package (`false`) mode, `bits` the AES key size.
///
/// Returns the frame length; if `out` is too small, the exact size needed, with `out`
/// untouched (the size contract of [`build_quest`]). With a 64-byte key the frame is 116 bytes
/// (117 with `bits` 256).
pub fn build_key_quest(
    out: &mut [u8],
    seq: u32,
    public_key: &[u8],
    stream_mode: bool,
    bits: Bits,
) -> Result<usize, BuildError> {
    let payload = KeyPayload {
        public_key,
        stream_mode,
        bits,
    };
    build_quest(out, Some(seq), KEY_METHOD, &payload)
}

/// Package mode's prefix for a frame of `frame_len` bytes: the length as `u32` LE.
/// [`BuildError::PayloadTooLarge`] past `u32::MAX`.
pub fn package_prefix(frame_len: usize) -> Result<[u8; PACKAGE_PREFIX_LEN], BuildError> {
    u32::try_from(frame_len)
        .map(u32::to_le_bytes)
        .map_err(|_| BuildError::PayloadTooLarge)
}

/// Reads package mode's prefix at the start of `input`: `Ok(None)` while fewer than four bytes
/// have arrived, otherwise the length of the encrypted frame that follows.
///
/// A length above `max_len` is [`FrameError::TooLarge`] (the C++ server checks it against its
/// maximum package length before reading the body). A length too short to hold an FPNN header
/// is not refused here: it decrypts to a frame the frame parser rejects or waits on, so the
/// caller should treat a package that ends before its frame is complete as a protocol error.
pub fn parse_package_prefix(input: &[u8], max_len: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = input.first_chunk::<PACKAGE_PREFIX_LEN>() else {
        return Ok(None);
    };
    let len = usize::try_from(u32::from_le_bytes(*prefix)).unwrap_or(usize::MAX);
    if len > max_len {
        return Err(FrameError::TooLarge { len, max: max_len });
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::{DEFAULT_MAX_FRAME, Frame, Status, parse_frame};

    #[test]
    fn key_quest_layout_and_size_contract() {
        let key = [0x42u8; 48];
        let mut buf = [0u8; 128];
        let n = build_key_quest(&mut buf, 1, &key, true, Bits::Aes256).unwrap();
        let Ok(Status::Complete(
            Frame::Quest {
                seq,
                method,
                payload,
            },
            used,
        )) = parse_frame(&buf[..n], DEFAULT_MAX_FRAME)
        else {
            panic!("not a quest");
        };
        assert_eq!((seq, method, used), (Some(1), &b"*key"[..], n));
        let mut want = vec![0x83, 0xa9];
        want.extend_from_slice(b"publicKey");
        want.extend_from_slice(&[0xc4, 48]);
        want.extend_from_slice(&key);
        want.push(0xaa);
        want.extend_from_slice(b"streamMode");
        want.push(0xc3);
        want.push(0xa4);
        want.extend_from_slice(b"bits");
        want.extend_from_slice(&[0xcd, 0x01, 0x00]);
        assert_eq!(payload, &want[..]);

        let mut short = [9u8; 64];
        assert_eq!(
            build_key_quest(&mut short, 1, &key, true, Bits::Aes256),
            Err(BuildError::BufferTooSmall { needed: n })
        );
        assert_eq!(short, [9u8; 64]);
    }

    #[test]
    fn package_prefix_round_trip() {
        assert_eq!(package_prefix(0x16), Ok([0x16, 0, 0, 0]));
        assert_eq!(parse_package_prefix(&[0x16, 0, 0], 100), Ok(None));
        assert_eq!(
            parse_package_prefix(&[0x16, 0, 0, 0, 0xff], 100),
            Ok(Some(0x16))
        );
        assert_eq!(
            parse_package_prefix(&[0x65, 0, 0, 0], 100),
            Err(FrameError::TooLarge { len: 101, max: 100 })
        );
        #[cfg(target_pointer_width = "64")]
        assert_eq!(package_prefix(1 << 32), Err(BuildError::PayloadTooLarge));
    }
}
