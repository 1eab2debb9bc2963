//! Branch-light decimal and hex text for the signature of speed builds (SWAR: several digits
//! per 64-bit word operation).
//!
//! Both writers produce exactly what `core::fmt` prints (`{}` and `{:08X}` of the
//! little-endian bytes); the tests check that over random inputs. Size builds do without them
//! (the signature there uses `arith::Decimal` and a nibble loop).

/// `10^8`: one SWAR word of digits.
const E8: u64 = 100_000_000;

/// The eight decimal digits of `x < 10^8`, zero-padded, as the values 0..=9 in the bytes of
/// a word, the most significant digit in the low byte (so that a little-endian store writes
/// them in reading order).
#[inline(always)]
fn digit_values8(x: u32) -> u64 {
    // Two 4-digit halves in 32-bit lanes, the leading half in the low lane.
    let v = u64::from(x / 10_000) | (u64::from(x % 10_000) << 32);
    // Each lane (< 10^4) / 100 by a multiply-shift (exact below 43,699): 16-bit lanes.
    let hundreds = ((v * 5243) >> 19) & 0x0000_007f_0000_007f;
    let v = hundreds | ((v - 100 * hundreds) << 16);
    // Each 16-bit lane (< 100) / 10 by a multiply-shift (exact below 179): bytes.
    let tens = ((v * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | ((v - 10 * tens) << 8)
}

/// ASCII `'0'` in every byte.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Writes the decimal text of `n` at `buf[at..]` and returns its end.
///
/// It stores whole words: each chunk of up to eight digits needs 8 bytes of room from where it
/// starts (24 bytes from `at` cover every `u64`), and the bytes after the returned end that it
/// touches are set to zero. A chunk without that room is left out (the text is then cut short,
/// never anything written out of `buf`): callers provide the room.
#[inline]
pub(crate) fn put_u64(buf: &mut [u8], at: usize, n: u64) -> usize {
    if n < E8 {
        put_leading(buf, at, n as u32)
    } else if n < E8 * E8 {
        let (hi, lo) = (n / E8, n % E8);
        let at = put_leading(buf, at, hi as u32);
        put_full(buf, at, lo as u32)
    } else {
        let (top, rest) = (n / (E8 * E8), n % (E8 * E8));
        let at = put_leading(buf, at, top as u32);
        let at = put_full(buf, at, (rest / E8) as u32);
        put_full(buf, at, (rest % E8) as u32)
    }
}

/// [`put_u64`] with a `-` for a negative `n` (one more byte of room).
#[inline]
pub(crate) fn put_i64(buf: &mut [u8], at: usize, n: i64) -> usize {
    if n < 0 {
        match buf.get_mut(at) {
            Some(minus) => *minus = b'-',
            None => return at,
        }
        put_u64(buf, at + 1, n.unsigned_abs())
    } else {
        put_u64(buf, at, n as u64)
    }
}

/// `x < 10^8` without its leading zeros (a zero keeps one digit).
#[inline(always)]
fn put_leading(buf: &mut [u8], at: usize, x: u32) -> usize {
    let digits = digit_values8(x);
    // Leading zeros are the low zero bytes; the last digit always stays.
    let skip = (digits | (1 << 56)).trailing_zeros() / 8;
    store(buf, at, (digits + ZEROS) >> (8 * skip), 8 - skip as usize)
}

/// `x < 10^8` as exactly eight digits.
#[inline(always)]
fn put_full(buf: &mut [u8], at: usize, x: u32) -> usize {
    store(buf, at, digit_values8(x) + ZEROS, 8)
}

#[inline(always)]
fn store(buf: &mut [u8], at: usize, word: u64, len: usize) -> usize {
    match buf.get_mut(at..).and_then(|b| b.first_chunk_mut::<8>()) {
        Some(dst) => {
            *dst = word.to_le_bytes();
            at + len
        }
        None => at,
    }
}

/// The upper-case hex of the four little-endian bytes of `w`, in byte order, as a word to
/// store little-endian: `format!("{:08X}", w.swap_bytes())`.
#[inline(always)]
pub(crate) fn hex_le32(w: u32) -> u64 {
    // Byte i of `w` into the low byte of 16-bit lane i.
    let x = u64::from(w);
    let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    let x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    // Its high nibble first (the low byte of the lane), then its low nibble.
    const LOW: u64 = 0x000f_000f_000f_000f;
    let nibbles = ((x >> 4) & LOW) | ((x & LOW) << 8);
    // 10..=15 carry into bit 4 when 6 is added: those get 7 more, from '9' + 1 to 'A'.
    let letters = ((nibbles + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    nibbles + ZEROS + 7 * letters
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec_u64(n: u64) -> Vec<u8> {
        let mut buf = [0xaa_u8; 40];
        let end = put_u64(&mut buf, 3, n);
        assert_eq!(buf[..3], [0xaa; 3], "nothing written before `at`");
        buf[3..end].to_vec()
    }

    fn dec_i64(n: i64) -> Vec<u8> {
        let mut buf = [0xaa_u8; 40];
        let end = put_i64(&mut buf, 0, n);
        buf[..end].to_vec()
    }

    fn hex(w: u32) -> Vec<u8> {
        hex_le32(w).to_le_bytes().to_vec()
    }

    #[test]
    fn decimal_edges() {
        let mut edges = vec![0u64, u64::MAX, u64::MAX - 1];
        for p in 0..20 {
            let t = 10u64.pow(p);
            edges.extend([t - 1, t, t + 1]);
        }
        for n in edges {
            assert_eq!(dec_u64(n), n.to_string().into_bytes(), "{n}");
        }
        for n in [0i64, -1, 1, i64::MIN, i64::MAX, -99_999_999, -100_000_000] {
            assert_eq!(dec_i64(n), n.to_string().into_bytes(), "{n}");
        }
    }

    #[test]
    fn zeroes_after_the_end_and_refuses_short_room() {
        let mut buf = [0xaa_u8; 16];
        assert_eq!(put_u64(&mut buf, 0, 42), 2);
        assert_eq!(&buf[..8], b"42\0\0\0\0\0\0");
        // Eight bytes of room are needed even for one digit: without them nothing is written.
        let mut short = [0xaa_u8; 7];
        assert_eq!(put_u64(&mut short, 0, 7), 0);
        assert_eq!(put_i64(&mut short, 7, -7), 7);
        assert_eq!(short, [0xaa; 7]);
        // A number longer than the room is cut at a chunk, inside the buffer.
        let mut nine = [0xaa_u8; 9];
        assert_eq!(put_u64(&mut nine, 0, 1_234_567_890), 2);
        assert_eq!(&nine, b"12\0\0\0\0\0\0\xaa");
    }

    #[test]
    fn hex_edges() {
        for w in [
            0u32,
            u32::MAX,
            0x0123_4567,
            0x89ab_cdef,
            0x0909_0a0a,
            0xf0f0_f0f0,
        ] {
            assert_eq!(hex(w), format!("{:08X}", w.swap_bytes()).into_bytes());
        }
    }

    proptest! {
        // No failure file (Miri, which runs these, has no file system).
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn fast_text_matches_core_fmt(n in any::<u64>(), i in any::<i64>(), w in any::<u32>(),
                                      digits in 0u32..20) {
            // Every length, not only the 19- and 20-digit numbers most random u64 have.
            let short = n % 10u64.pow(digits);
            prop_assert_eq!(dec_u64(n), n.to_string().into_bytes());
            prop_assert_eq!(dec_u64(short), short.to_string().into_bytes());
            prop_assert_eq!(dec_i64(i), i.to_string().into_bytes());
            let si = (i128::from(i) % 10i128.pow(digits)) as i64;
            prop_assert_eq!(dec_i64(si), si.to_string().into_bytes());
            prop_assert_eq!(hex(w), format!("{:08X}", w.swap_bytes()).into_bytes());
        }
    }
}
