//! The MD5 digest behind quest signatures (reference §5), sized per build.
//!
//! Speed builds hash with the md-5 crate. Its compression function is fully unrolled: about
//! 1.8 KB of Thumb-2 code, the largest single function of the firmware listener, and md-5 has
//! no compact back-end (the counterpart of sha2's `force-soft-compact`). Size builds
//! (`cfg(rtm_opt_size)`, the firmware profile) therefore hash with [`Compact`]: the four
//! RFC 1321 rounds as one loop over the 64-entry sine table, about 0.65 KB with its tables. It
//! takes about three times as long per block as md-5 (2.6× at opt-level 3 and 3.2× at s on the
//! host, its byte-wise buffering included). On a device that does not matter (a quest hashes
//! two blocks, and quests are rare), but it would break the host's setlisten target of 3,000
//! instructions, so speed builds keep md-5.
//!
//! [`Compact`] is compiled into test builds of every profile, and its tests check it against
//! md-5 and the RFC 1321 test suite, so the firmware's hash is checked on the host.

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
const S: [u8; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

/// The initial chaining value.
const IV: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// A streaming MD5 in about 0.35 KB of code (and 0.3 KB of tables): [`new`](Self::new), [`update`](Self::update) any
/// number of times, then [`finalize`](Self::finalize).
#[derive(Clone)]
pub struct Compact {
    state: [u32; 4],
    block: [u8; 64],
    /// Bytes hashed so far; the low six bits are the fill of `block`.
    len: u64,
}

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

impl Default for Compact {
    fn default() -> Self {
        Self::new()
    }
}

/// One 64-byte block into the chaining value (RFC 1321 §3.4), the 64 steps as one loop.
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
