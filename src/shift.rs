//! Moving elements within a slice without `memmove`.
//!
//! `copy_within` compiles to a `memmove` call, and on a Cortex-M `memmove` costs 1.6 KB of flash
//! (compiler_builtins) that nothing else in the engine needs. The engine's moves are a buffer's
//! unconsumed tail to its front (the RX and TX buffers) and an id table's tail by a few places,
//! so they are done here as a sequence of non-overlapping copies (`memcpy` and plain loads and
//! stores), each at most as long as the distance moved.
//!
//! The ranges are the engine's own bookkeeping, never peer data; out-of-range arguments are a
//! bug in the caller and panic like slice indexing.

use core::ops::Range;

/// Moves `buf[src]` down to start at `dst` (`dst <= src.start`), like
/// `buf.copy_within(src, dst)`.
pub(crate) fn move_down<T: Copy>(buf: &mut [T], src: Range<usize>, dst: usize) {
    let gap = src.start - dst;
    if gap == 0 {
        return;
    }
    let (mut s, mut d) = (src.start, dst);
    while s < src.end {
        let n = gap.min(src.end - s);
        // `d + n <= s`: the chunk's source and destination do not overlap.
        let (lo, hi) = buf.split_at_mut(s);
        lo[d..d + n].copy_from_slice(&hi[..n]);
        s += n;
        d += n;
    }
}

/// Moves `buf[src]` up to start at `dst` (`dst >= src.start`), like
/// `buf.copy_within(src, dst)`; copies from the end so nothing is overwritten before it moves.
pub(crate) fn move_up<T: Copy>(buf: &mut [T], src: Range<usize>, dst: usize) {
    let gap = dst - src.start;
    if gap == 0 {
        return;
    }
    let mut e = src.end;
    while e > src.start {
        let n = gap.min(e - src.start);
        // Source `[e - n, e)`, destination `[e - n + gap, e + gap)`: disjoint since `n <= gap`.
        let (lo, hi) = buf.split_at_mut(e);
        hi[gap - n..gap].copy_from_slice(&lo[e - n..e]);
        e -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Both agree with `copy_within` for every range and destination.
        #[test]
        fn moves_match_copy_within(len in 0usize..40, a in 0usize..40, b in 0usize..40, dst in 0usize..40) {
            let (start, end) = (a.min(b).min(len), a.max(b).min(len));
            let dst = dst.min(len - (end - start));
            let orig: Vec<u16> = (0..len as u16).collect();
            let mut want = orig.clone();
            want.copy_within(start..end, dst);
            let mut got = orig.clone();
            if dst <= start {
                move_down(&mut got, start..end, dst);
            } else {
                move_up(&mut got, start..end, dst);
            }
            prop_assert_eq!(got, want);
        }
    }
}
