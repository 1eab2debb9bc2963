//! The MD5 digest behind quest signatures (reference §5), sized per build.
//!
//! An unrolled compression function is about 1.8 KB of Thumb-2 code (md-5's is the largest
//! single function a firmware listener would have), and md-5 has no compact back-end (the
//! counterpart of sha2's `force-soft-compact`). Size builds (`cfg(rtm_opt_size)`, the firmware
//! profile) therefore hash with `Compact`: the four RFC 1321 rounds as one loop over the
//! 64-entry sine table, about 0.65 KB with its tables. It takes about three times as long per
//! block as md-5 (2.6× at opt-level 3 and 3.2× at s on the host, its byte-wise buffering
//! included). On a device that does not matter (a quest hashes two blocks, and quests are
//! rare), but it would break the host's setlisten target, so speed builds unroll.
//!
//! Speed builds do not stream either: the signature writes its text into a buffer of whole
//! blocks, and `md5_padded` pads it in place and runs `compress_unrolled` over it (about
//! 585 instructions a block on x86-64 against md-5's 677, and without md-5's block buffering).
//! md-5 itself is left for secrets too long for that buffer.
//!
//! `Compact` is compiled into test builds of every profile, and the tests check it and
//! `md5_padded` against md-5 and the RFC 1321 test suite, so both hashes are checked on the
//! host.

/// Bytes in an MD5 block.
#[cfg(not(rtm_opt_size))]
pub(crate) const BLOCK: usize = 64;

/// The least padding of a message: the `0x80` byte and the 8-byte bit length.
#[cfg(not(rtm_opt_size))]
pub(crate) const PADDING: usize = 9;

/// The MD5 state after hashing `text[..len]`, its digest being the words' little-endian bytes.
///
/// Pads in place: writes the `0x80` and the bit length into `text`, whose bytes after `len`
/// must be zero, and hashes the whole blocks that the message and its padding take. `None`
/// when `text` is too short for the padding.
#[cfg(not(rtm_opt_size))]
#[inline]
pub(crate) fn md5_padded(text: &mut [u8], len: usize) -> Option<[u32; 4]> {
    let blocks = (len + PADDING).div_ceil(BLOCK);
    let end = blocks * BLOCK;
    *text.get_mut(len)? = 0x80;
    let bits = (len as u64).wrapping_mul(8).to_le_bytes();
    *text.get_mut(..end)?.last_chunk_mut::<8>()? = bits;
    let (whole, _) = text.as_chunks::<BLOCK>();
    let mut state = IV;
    for block in whole.get(..blocks)? {
        compress_unrolled(&mut state, block);
    }
    Some(state)
}

/// One block into the chaining value, the 64 steps unrolled (speed builds).
///
/// The same function as md-5's, written for fewer instructions: each round's boolean function
/// in its cheapest form (`F = ((c ^ d) & b) ^ d`, `G = ((b ^ c) & d) ^ c`), and the message
/// words read from the block where they are used. Each round reaches the block through
/// `black_box`, so that the compiler loads a word inside the add that uses it instead of loading
/// all sixteen once and spilling them to the stack for the later rounds (16 registers cannot
/// hold them beside the state). `black_box` is only a hint here: the result never depends on
/// it, and the tests compare with md-5.
#[cfg(not(rtm_opt_size))]
#[inline]
fn compress_unrolled(state: &mut [u32; 4], block: &[u8; BLOCK]) {
    let [mut a, mut b, mut c, mut d] = *state;
    macro_rules! step {
        ($m:ident, $f:expr, $a:ident, $b:ident, $c:ident, $d:ident, $k:expr, $i:expr, $s:expr) => {
            $a = $b.wrapping_add(
                $a.wrapping_add($f($b, $c, $d))
                    .wrapping_add($m($i).wrapping_add(K[$k]))
                    .rotate_left($s),
            );
        };
    }
    macro_rules! round {
        ($f:expr, $k:expr, [$($i:expr),*], [$s0:expr, $s1:expr, $s2:expr, $s3:expr]) => {
            let (words, _) = core::hint::black_box(block).as_chunks::<4>();
            let m = |i: usize| words.get(i).map_or(0, |w| u32::from_le_bytes(*w));
            let idx = [$($i),*];
            step!(m, $f, a, b, c, d, $k, idx[0], $s0);
            step!(m, $f, d, a, b, c, $k + 1, idx[1], $s1);
            step!(m, $f, c, d, a, b, $k + 2, idx[2], $s2);
            step!(m, $f, b, c, d, a, $k + 3, idx[3], $s3);
            step!(m, $f, a, b, c, d, $k + 4, idx[4], $s0);
            step!(m, $f, d, a, b, c, $k + 5, idx[5], $s1);
            step!(m, $f, c, d, a, b, $k + 6, idx[6], $s2);
            step!(m, $f, b, c, d, a, $k + 7, idx[7], $s3);
            step!(m, $f, a, b, c, d, $k + 8, idx[8], $s0);
            step!(m, $f, d, a, b, c, $k + 9, idx[9], $s1);
            step!(m, $f, c, d, a, b, $k + 10, idx[10], $s2);
            step!(m, $f, b, c, d, a, $k + 11, idx[11], $s3);
            step!(m, $f, a, b, c, d, $k + 12, idx[12], $s0);
            step!(m, $f, d, a, b, c, $k + 13, idx[13], $s1);
            step!(m, $f, c, d, a, b, $k + 14, idx[14], $s2);
            step!(m, $f, b, c, d, a, $k + 15, idx[15], $s3);
        };
    }
    let f = |b: u32, c: u32, d: u32| ((c ^ d) & b) ^ d;
    let g = |b: u32, c: u32, d: u32| ((b ^ c) & d) ^ c;
    let h = |b: u32, c: u32, d: u32| b ^ c ^ d;
    let i = |b: u32, c: u32, d: u32| c ^ (b | !d);
    round!(
        f,
        0,
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [7, 12, 17, 22]
    );
    round!(
        g,
        16,
        [1, 6, 11, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12],
        [5, 9, 14, 20]
    );
    round!(
        h,
        32,
        [5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2],
        [4, 11, 16, 23]
    );
    round!(
        i,
        48,
        [0, 7, 14, 5, 12, 3, 10, 1, 8, 15, 6, 13, 4, 11, 2, 9],
        [6, 10, 15, 21]
    );
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

/// The additive constants: `floor(abs(sin(i + 1)) * 2^32)`.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// The left rotations, four per round.
#[cfg(any(rtm_opt_size, test))]
const S: [u8; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/// The initial chaining value.
const IV: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// A streaming MD5 in about 0.35 KB of code (and 0.3 KB of tables): [`new`](Self::new), [`update`](Self::update) any
/// number of times, then [`finalize`](Self::finalize).
#[cfg(any(rtm_opt_size, test))]
#[derive(Clone)]
pub struct Compact {
    state: [u32; 4],
    block: [u8; 64],
    /// Bytes hashed so far; the low six bits are the fill of `block`.
    len: u64,
}

#[cfg(any(rtm_opt_size, test))]
impl Compact {
    /// An empty hash.
    pub fn new() -> Self {
        Self {
            state: IV,
            block: [0; 64],
            len: 0,
        }
    }

    /// Hashes `data` after everything before it.
    pub fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.block[(self.len & 63) as usize] = byte;
            self.len = self.len.wrapping_add(1);
            if self.len & 63 == 0 {
                compress(&mut self.state, &self.block);
            }
        }
    }

    /// The 16-byte digest of everything hashed.
    pub fn finalize(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8).to_le_bytes();
        self.update(&[0x80]);
        while self.len & 63 != 56 {
            self.update(&[0]);
        }
        self.update(&bits);
        let mut out = [0u8; 16];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

#[cfg(any(rtm_opt_size, test))]
impl Default for Compact {
    fn default() -> Self {
        Self::new()
    }
}

/// One 64-byte block into the chaining value (RFC 1321 §3.4), the 64 steps as one loop.
#[cfg(any(rtm_opt_size, test))]
fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut m = [0u32; 16];
    for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for (i, k) in K.iter().enumerate() {
        let (f, g) = match i >> 4 {
            0 => ((b & c) | (!b & d), i),
            1 => ((b & d) | (c & !d), 5 * i + 1),
            2 => (b ^ c ^ d, 3 * i + 5),
            _ => (c ^ (b | !d), 7 * i),
        };
        let shift = S[((i >> 2) & 12) | (i & 3)];
        let sum = a.wrapping_add(f).wrapping_add(*k).wrapping_add(m[g & 15]);
        a = d;
        d = c;
        c = b;
        b = b.wrapping_add(sum.rotate_left(u32::from(shift)));
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest;
    use proptest::prelude::*;

    fn compact(data: &[u8]) -> [u8; 16] {
        let mut h = Compact::new();
        h.update(data);
        h.finalize()
    }

    fn hex(d: [u8; 16]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc1321_suite() {
        let suite: [(&[u8], &str); 7] = [
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"a", "0cc175b9c0f1b6a831c399e269772661"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in suite {
            assert_eq!(hex(compact(input)), want, "{:?}", input);
        }
    }

    #[test]
    fn every_padding_boundary_matches_md5() {
        // Lengths around the 56-byte padding edge and whole blocks are where a streaming
        // MD5 goes wrong.
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for len in 0..data.len() {
            let want: [u8; 16] = md5::Md5::digest(&data[..len]).into();
            assert_eq!(compact(&data[..len]), want, "length {len}");
        }
    }

    #[cfg(not(rtm_opt_size))]
    #[test]
    fn one_shot_matches_md5_at_every_length() {
        // One to three blocks, each padding edge included; the bytes after the text are zero.
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * BLOCK).collect();
        for len in 0..=3 * BLOCK - PADDING {
            let mut text = [0u8; 3 * BLOCK];
            text[..len].copy_from_slice(&data[..len]);
            let state = md5_padded(&mut text, len).expect("room for the padding");
            let mut got = [0u8; 16];
            for (bytes, word) in got.chunks_exact_mut(4).zip(state) {
                bytes.copy_from_slice(&word.to_le_bytes());
            }
            let want: [u8; 16] = md5::Md5::digest(&data[..len]).into();
            assert_eq!(got, want, "length {len}");
        }
        // No room for the padding: refused, never a panic.
        let mut text = [0u8; 3 * BLOCK];
        assert_eq!(md5_padded(&mut text, 3 * BLOCK - PADDING + 1), None);
        assert_eq!(md5_padded(&mut text, 3 * BLOCK), None);
    }

    proptest! {
        #[test]
        fn matches_md5_in_any_split(data in proptest::collection::vec(any::<u8>(), 0..400),
                                    cut in any::<prop::sample::Index>()) {
            let at = cut.index(data.len() + 1);
            let mut h = Compact::new();
            h.update(&data[..at]);
            h.update(&data[at..]);
            let want: [u8; 16] = md5::Md5::digest(&data).into();
            prop_assert_eq!(h.finalize(), want);
        }
    }
}
