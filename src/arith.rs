//! Integer arithmetic without 64-bit division.
//!
//! A 32-bit target has no 64-bit divide instruction: each `u64 / u64` in the engine would pull
//! in the compiler's division routine (about 1 KB of flash on a Cortex-M) and cost hundreds of
//! cycles. The engine only ever divides by small constants (1000 for milliseconds to seconds,
//! 10,000 for decimal digits) or by a small configured count, so on 32-bit targets this divides
//! 16 bits at a time with 32-bit divisions; 64-bit targets use their native division.

/// `n / d` and `n % d` for `1 <= d <= 65_535`; `d == 0` is taken as 1.
#[inline]
pub(crate) const fn div_rem_small(n: u64, d: u16) -> (u64, u16) {
    #[cfg(target_pointer_width = "64")]
    {
        let d = if d == 0 { 1 } else { d as u64 };
        (n / d, (n % d) as u16)
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        div_rem_by_limbs(n, d)
    }
}

/// [`div_rem_small`] as long division in base 2^16: the remainder stays below `d < 2^16`, so
/// each partial dividend fits 32 bits and four 32-bit divisions do it. (Compiled everywhere so
/// that the host tests check it.)
#[cfg(any(test, not(target_pointer_width = "64")))]
const fn div_rem_by_limbs(n: u64, d: u16) -> (u64, u16) {
    let d = if d == 0 { 1 } else { d as u32 };
    let (mut q, mut r, mut shift) = (0u64, 0u32, 64u32);
    while shift > 0 {
        shift -= 16;
        let cur = (r << 16) | ((n >> shift) as u32 & 0xffff);
        q |= ((cur / d) as u64) << shift;
        r = cur % d;
    }
    (q, r as u16)
}

/// `n.div_euclid(1000)`: milliseconds to whole seconds, rounding towards minus infinity.
#[inline]
pub(crate) const fn ms_to_s(n: i64) -> i64 {
    let (q, r) = div_rem_small(n.unsigned_abs(), 1000);
    let q = q as i64;
    if n >= 0 {
        q
    } else if r == 0 {
        -q
    } else {
        -q - 1
    }
}

/// "00", "01", ..., "99".
#[cfg(not(rtm_opt_size))]
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// The decimal text of an integer, written into an inline buffer (at most 20 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    /// `n` in decimal: four digits per division, two at a time from a 200-byte table.
    #[cfg(not(rtm_opt_size))]
    pub(crate) fn u64(mut n: u64) -> Self {
        let mut buf = [b'0'; 20];
        let mut at = buf.len();
        // Four digits per 16-bit division, two at a time from a table.
        while at >= 4 {
            let (q, r) = div_rem_small(n, 10_000);
            let (hi, lo) = (usize::from(r / 100).min(99), usize::from(r % 100).min(99));
            buf[at - 4..at - 2].copy_from_slice(&PAIRS[2 * hi..2 * hi + 2]);
            buf[at - 2..at].copy_from_slice(&PAIRS[2 * lo..2 * lo + 2]);
            at -= 4;
            n = q;
            if n == 0 {
                break;
            }
        }
        // The last chunk's leading zeros (a zero keeps one digit).
        while at < buf.len() - 1 && buf[at] == b'0' {
            at += 1;
        }
        Self { buf, start: at }
    }

    /// `n` in decimal: one digit per division, without the table (size builds).
    #[cfg(rtm_opt_size)]
    pub(crate) fn u64(mut n: u64) -> Self {
        let mut buf = [0u8; 20];
        let mut start = buf.len() - 1;
        for (at, digit) in buf.iter_mut().enumerate().rev() {
            let (q, r) = div_rem_small(n, 10);
            *digit = b'0' + r as u8;
            start = at;
            n = q;
            if n == 0 {
                break;
            }
        }
        Self { buf, start }
    }

    /// `n` in decimal, with a `-` when negative.
    pub(crate) fn i64(n: i64) -> Self {
        let mut d = Self::u64(n.unsigned_abs());
        if n < 0 {
            // `u64::MAX` has 20 digits but `i64::MIN`'s magnitude only 19: there is room.
            d.start -= 1;
            d.buf[d.start] = b'-';
        }
        d
    }

    /// The digits.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        for n in [0u64, 9, 10, 9999, 10_000, 10_001, 1 << 32, u64::MAX] {
            assert_eq!(Decimal::u64(n).as_bytes(), n.to_string().as_bytes());
        }
        for n in [0i64, -1, -10_000, i64::MIN, i64::MAX] {
            assert_eq!(Decimal::i64(n).as_bytes(), n.to_string().as_bytes());
            assert_eq!(ms_to_s(n), n.div_euclid(1000));
        }
        assert_eq!(div_rem_small(7, 0), (7, 0));
        assert_eq!(div_rem_by_limbs(7, 0), (7, 0));
        assert_eq!(div_rem_by_limbs(u64::MAX, 65_535), (u64::MAX / 65_535, 0));
    }

    proptest! {
        #[test]
        fn matches_std(n in any::<u64>(), i in any::<i64>(), d in 1u16..) {
            let want = (n / u64::from(d), (n % u64::from(d)) as u16);
            prop_assert_eq!(div_rem_small(n, d), want);
            prop_assert_eq!(div_rem_by_limbs(n, d), want);
            prop_assert_eq!(Decimal::u64(n).as_bytes().to_vec(), n.to_string().into_bytes());
            prop_assert_eq!(Decimal::i64(i).as_bytes().to_vec(), i.to_string().into_bytes());
            prop_assert_eq!(ms_to_s(i), i.div_euclid(1000));
        }
    }
}
