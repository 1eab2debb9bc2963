//! Quest authentication: `sign = upper(hex(md5("pid:secret:salt:method:ts")))` (reference §5).
//!
//! Speed builds write the text once into a buffer of whole blocks and hash it with the
//! unrolled MD5 of `rtm::digest` (md-5 streams it when the secret is too long for that buffer);
//! size builds stream it into the compact MD5 of `rtm::digest`.

#[cfg(rtm_opt_size)]
use super::digest::Compact as Md5;
#[cfg(not(rtm_opt_size))]
use md5::{Digest, Md5};

use crate::arith::Decimal;

/// The 32 upper-case hex digits of a quest signature.
pub type Sign = [u8; 32];

/// The four authentication values that lead every server-side quest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Auth {
    /// Project id.
    pub pid: u32,
    /// Upper-case hex MD5 signature over pid, secret, salt, method and ts.
    pub sign: Sign,
    /// Per-quest unique number.
    pub salt: i64,
    /// Unix time in seconds.
    pub ts: i64,
}

impl Auth {
    /// Signs `method` for project `pid` with `secret`.
    ///
    /// The secret is only hashed; it is neither stored nor logged.
    pub fn new(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> Self {
        Self {
            pid,
            sign: sign(pid, secret, salt, method, ts),
            salt,
            ts,
        }
    }
}

/// Computes the quest signature.
pub fn sign(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> Sign {
    #[cfg(not(rtm_opt_size))]
    if let Some(sign) = sign_one_shot(pid, secret, salt, method, ts) {
        return sign;
    }
    sign_streaming(pid, secret, salt, method, ts)
}

/// The signature through the streaming hasher, whatever the lengths: the only path of size
/// builds, and the path of speed builds for secrets too long for `sign_one_shot`.
fn sign_streaming(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> Sign {
    let mut h = Md5::new();
    h.update(Decimal::u64(u64::from(pid)).as_bytes());
    h.update(b":");
    h.update(secret);
    h.update(b":");
    h.update(Decimal::i64(salt).as_bytes());
    h.update(b":");
    h.update(method.as_bytes());
    h.update(b":");
    h.update(Decimal::i64(ts).as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 32];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Blocks of the one-shot message.
#[cfg(not(rtm_opt_size))]
const SHOT_BLOCKS: usize = 3;

/// The text's bytes besides the secret and the method at most: 10 digits of pid, 20 digits
/// and a sign for each of salt and ts, four colons. With the 9 bytes of MD5 padding this bounds
/// what the one-shot buffer must hold, and the word stores of the digits (up to 7 bytes past
/// a number's end) stay inside it too.
#[cfg(not(rtm_opt_size))]
const SHOT_TEXT: usize = 10 + 21 + 21 + 4;

/// The signature of speed builds: the text written once into a stack buffer of whole MD5
/// blocks, its numbers by the word-wise writers of `ascii`, padded there, hashed block by block
/// and turned into hex a word at a time. `None` when the secret and the method are too long for
/// the buffer (then [`sign_streaming`] does it).
#[cfg(not(rtm_opt_size))]
#[inline]
fn sign_one_shot(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> Option<Sign> {
    use super::ascii::{hex_le32, put_i64, put_u64};
    use super::digest::{BLOCK, PADDING, md5_padded};

    let method = method.as_bytes();
    if secret.len() + method.len() > SHOT_BLOCKS * BLOCK - PADDING - SHOT_TEXT {
        return None;
    }
    let mut text = [0u8; SHOT_BLOCKS * BLOCK];
    let at = put_u64(&mut text, 0, u64::from(pid));
    let at = put_colon_then(&mut text, at, secret)?;
    let at = put_colon_then(&mut text, at, b"")?;
    let at = put_i64(&mut text, at, salt);
    let at = put_colon_then(&mut text, at, method)?;
    let at = put_colon_then(&mut text, at, b"")?;
    let at = put_i64(&mut text, at, ts);
    let state = md5_padded(&mut text, at)?;
    let mut out = [0u8; 32];
    let (words, _) = out.as_chunks_mut::<8>();
    for (dst, word) in words.iter_mut().zip(state) {
        *dst = hex_le32(word).to_le_bytes();
    }
    Some(out)
}

/// Writes `:` then `bytes` at `text[at..]`; returns their end.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn put_colon_then(text: &mut [u8], at: usize, bytes: &[u8]) -> Option<usize> {
    let end = at + 1 + bytes.len();
    let (colon, rest) = text.get_mut(at..end)?.split_first_mut()?;
    *colon = b':';
    rest.copy_from_slice(bytes);
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_example_sign() {
        assert_eq!(
            &sign(1, b"s", 2, "setlisten", 3),
            b"A5D0D98322E3BCDCE4AC9F1D623C36A4"
        );
    }

    /// The signature as the reference states it, through `format!` and md-5's `Digest`.
    fn reference(pid: u32, secret: &[u8], salt: i64, method: &str, ts: i64) -> String {
        use md5::Digest;
        let mut text = format!("{pid}:").into_bytes();
        text.extend_from_slice(secret);
        text.extend_from_slice(format!(":{salt}:{method}:{ts}").as_bytes());
        md5::Md5::digest(&text)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    #[test]
    fn every_text_length_and_block_edge_matches_the_reference() {
        // Secret lengths from empty to past the one-shot buffer, so the text crosses each
        // padding edge (55/56 bytes in a block) and the fallback to streaming is taken.
        for len in 0..200 {
            let secret: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for (pid, salt, ts) in [
                (0, 0, 0),
                (u32::MAX, i64::MIN, i64::MAX),
                (80_000_071, 1_700_000_000_000_001_234, 1_700_000_000),
            ] {
                let got = sign(pid, &secret, salt, "setlisten", ts);
                assert_eq!(got, sign_streaming(pid, &secret, salt, "setlisten", ts));
                assert_eq!(
                    got.as_slice(),
                    reference(pid, &secret, salt, "setlisten", ts).as_bytes(),
                    "secret of {len} bytes"
                );
            }
        }
    }

    proptest! {
        // No failure file (Miri, which runs these, has no file system).
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn sign_matches_the_reference(pid in any::<u32>(),
                                      secret in proptest::collection::vec(any::<u8>(), 0..160),
                                      salt in any::<i64>(), ts in any::<i64>(),
                                      method in "[a-z*]{0,40}", digits in 0u32..19) {
            // Short numbers too, not only the 19-digit ones most random i64 have.
            let short = (i128::from(salt) % 10i128.pow(digits)) as i64;
            for salt in [salt, short] {
                let got = sign(pid, &secret, salt, &method, ts);
                prop_assert_eq!(got, sign_streaming(pid, &secret, salt, &method, ts));
                let want = reference(pid, &secret, salt, &method, ts);
                prop_assert_eq!(got.as_slice(), want.as_bytes());
            }
        }
    }
}
