//! AES in CFB-128 mode, in place, over chunks of any size.
//!
//! FPNN's cipher (reference §4.1, `base/rijndael.c`): full-block feedback, byte-granular, and
//! the block cipher's **encryption** direction for both ways. One 16-byte register holds the
//! keystream block `E(feedback)`; each byte of ciphertext overwrites the keystream byte it used,
//! so that when the register is full it holds the ciphertext block, the next feedback. A stream
//! cut into chunks anywhere gives the same bytes as in one piece.
//!
//! Stream mode keeps one [`AesCfb`] per direction for the whole connection; package mode calls
//! [`AesCfb::reset`] before every frame (both directions restart from the IV).

use aes::cipher::consts::U16;
use aes::cipher::{
    BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit,
};
use aes::{Aes128Enc, Aes256Enc, Block};
use zeroize::Zeroize;

use super::params::Bits;

/// The AES block and IV length.
pub const BLOCK_LEN: usize = 16;

/// The expanded key, encryption direction only (the decryption round keys are never needed).
/// No allocation here, so AES-128 states carry the room of an AES-256 key schedule.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Cipher {
    Aes128(Aes128Enc),
    Aes256(Aes256Enc),
}

impl Cipher {
    /// Runs `run` with the block cipher's backend: one dispatch per call, and the AES rounds
    /// inlined into the run's loop (AES-NI where the CPU has it).
    #[cfg(not(rtm_opt_size))]
    #[inline(always)]
    fn run<const DECRYPT: bool, const FROM: bool>(&self, run: Run<'_, DECRYPT, FROM>) {
        match self {
            Self::Aes128(c) => c.encrypt_with_backend(run),
            Self::Aes256(c) => c.encrypt_with_backend(run),
        }
    }

    /// Size builds: the run calls the block cipher a block at a time, out of line (one copy
    /// of the AES code for all runs, instead of one inlined into each).
    #[cfg(rtm_opt_size)]
    fn run<const DECRYPT: bool, const FROM: bool>(&self, run: Run<'_, DECRYPT, FROM>) {
        run.call(&OneBlock(self));
    }
}

/// A backend that encrypts one block per call through the cipher's own entry point (size
/// builds).
#[cfg(rtm_opt_size)]
struct OneBlock<'a>(&'a Cipher);

#[cfg(rtm_opt_size)]
impl BlockSizeUser for OneBlock<'_> {
    type BlockSize = U16;
}

#[cfg(rtm_opt_size)]
impl aes::cipher::ParBlocksSizeUser for OneBlock<'_> {
    type ParBlocksSize = aes::cipher::consts::U1;
}

#[cfg(rtm_opt_size)]
impl BlockCipherEncBackend for OneBlock<'_> {
    fn encrypt_block(&self, mut block: aes::cipher::InOut<'_, '_, Block>) {
        let mut b = block.clone_in();
        match self.0 {
            Cipher::Aes128(c) => c.encrypt_block(&mut b),
            Cipher::Aes256(c) => c.encrypt_block(&mut b),
        }
        *block.get_out() = b;
    }
}

/// One call's work on a stream, from position `pos` of the register `reg`: `buf` in place, or
/// with `FROM`, `src` into `buf` (the same length).
struct Run<'a, const DECRYPT: bool, const FROM: bool> {
    reg: &'a mut [u8; BLOCK_LEN],
    pos: &'a mut usize,
    buf: &'a mut [u8],
    src: &'a [u8],
}

impl<const DECRYPT: bool, const FROM: bool> BlockSizeUser for Run<'_, DECRYPT, FROM> {
    type BlockSize = U16;
}

impl<const DECRYPT: bool, const FROM: bool> BlockCipherEncClosure for Run<'_, DECRYPT, FROM> {
    /// The bytes finishing the current block, each whole block (one 128-bit XOR), then the
    /// start of the next block.
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let Self {
            reg,
            pos,
            buf,
            mut src,
        } = self;
        let encrypt = |block: &mut [u8; BLOCK_LEN]| {
            backend.encrypt_block(Block::cast_from_core_mut(block).into());
        };
        let mut out = buf;
        if *pos != 0 {
            let take = (BLOCK_LEN - *pos).min(out.len());
            let (head, tail) = out.split_at_mut(take);
            let (head_in, tail_in) = if FROM {
                src.split_at_checked(take).unwrap_or_default()
            } else {
                (&[][..], &[][..])
            };
            partial::<DECRYPT, FROM>(reg, *pos, head_in, head);
            *pos = (*pos + take) % BLOCK_LEN;
            out = tail;
            src = tail_in;
        }
        let (blocks, tail) = out.as_chunks_mut::<BLOCK_LEN>();
        let (blocks_in, tail_in) = src.as_chunks::<BLOCK_LEN>();
        // The input block: the source's, or the block itself in place.
        let input = |k: usize, block: &[u8; BLOCK_LEN]| {
            if FROM {
                blocks_in.get(k).copied()
            } else {
                Some(*block)
            }
        };
        if DECRYPT {
            // Each block's keystream is the encryption of the ciphertext block before it, all
            // known: the feedback stays in a register (no round trip through the state), so
            // the blocks' rounds overlap. Keystream blocks are not wiped: each is the
            // plaintext XOR the (public) ciphertext, and the plaintext stays in the buffer.
            let mut feedback = *reg;
            for (k, block) in blocks.iter_mut().enumerate() {
                let Some(data) = input(k, block) else {
                    break;
                };
                let mut keystream = feedback;
                encrypt(&mut keystream);
                feedback = data;
                *block = (u128::from_ne_bytes(keystream) ^ u128::from_ne_bytes(data)).to_ne_bytes();
            }
            *reg = feedback;
        } else {
            // Serial: each block's keystream is the encryption of the ciphertext just made,
            // kept in a register.
            let mut feedback = *reg;
            for (k, block) in blocks.iter_mut().enumerate() {
                let Some(data) = input(k, block) else {
                    break;
                };
                encrypt(&mut feedback);
                // The ciphertext is the data XOR the keystream, and it is the next feedback.
                feedback =
                    (u128::from_ne_bytes(feedback) ^ u128::from_ne_bytes(data)).to_ne_bytes();
                *block = feedback;
            }
            *reg = feedback;
        }
        if !tail.is_empty() {
            encrypt(reg);
            *pos = tail.len();
            partial::<DECRYPT, FROM>(reg, 0, tail_in, tail);
        }
    }
}

/// An AES-CFB-128 cipher state: the key, the IV, and the position in the stream.
///
/// [`encrypt`](AesCfb::encrypt) and [`decrypt`](AesCfb::decrypt) work in place on chunks of any
/// length. One state serves one direction: use two for a connection. The key schedule, the IV
/// and the register are zeroized on drop; `Debug` shows only the key size and position. A
/// clone (a listener's, for a dry run) is a second state, wiped on its own drop.
#[derive(Clone)]
pub struct AesCfb {
    cipher: Cipher,
    iv: [u8; BLOCK_LEN],
    /// `E(feedback)` with its first `pos` bytes replaced by ciphertext.
    reg: [u8; BLOCK_LEN],
    /// Bytes of `reg` used, 0..=15; 0 means the next byte needs a fresh keystream block.
    pos: usize,
}

/// The key given to [`AesCfb::new`] is neither 16 nor 32 bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvalidKeyLength {
    /// The length given.
    pub len: usize,
}

impl core::fmt::Display for InvalidKeyLength {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AES key of {} bytes (16 or 32 expected)", self.len)
    }
}

impl core::error::Error for InvalidKeyLength {}

impl AesCfb {
    /// AES-128-CFB from a 16-byte key.
    pub fn new_128(key: &[u8; 16], iv: &[u8; BLOCK_LEN]) -> Self {
        Self::with(Cipher::Aes128(Aes128Enc::new(key.into())), iv)
    }

    /// AES-256-CFB from a 32-byte key.
    pub fn new_256(key: &[u8; 32], iv: &[u8; BLOCK_LEN]) -> Self {
        Self::with(Cipher::Aes256(Aes256Enc::new(key.into())), iv)
    }

    /// AES-128-CFB or AES-256-CFB by the key's length (16 or 32 bytes).
    pub fn new(key: &[u8], iv: &[u8; BLOCK_LEN]) -> Result<Self, InvalidKeyLength> {
        if let Ok(k) = <&[u8; 16]>::try_from(key) {
            Ok(Self::new_128(k, iv))
        } else if let Ok(k) = <&[u8; 32]>::try_from(key) {
            Ok(Self::new_256(k, iv))
        } else {
            Err(InvalidKeyLength { len: key.len() })
        }
    }

    fn with(cipher: Cipher, iv: &[u8; BLOCK_LEN]) -> Self {
        Self {
            cipher,
            iv: *iv,
            reg: *iv,
            pos: 0,
        }
    }

    /// The key size.
    pub fn bits(&self) -> Bits {
        match self.cipher {
            Cipher::Aes128(_) => Bits::Aes128,
            Cipher::Aes256(_) => Bits::Aes256,
        }
    }

    /// Bytes processed since the last (re)start, modulo 16: where the next byte falls in its
    /// block.
    pub fn block_offset(&self) -> usize {
        self.pos
    }

    /// Restarts the stream from the IV (package mode does this for every frame).
    pub fn reset(&mut self) {
        self.reg = self.iv;
        self.pos = 0;
    }

    /// Encrypts `buf` in place, continuing the stream.
    pub fn encrypt(&mut self, buf: &mut [u8]) {
        self.cipher.run(Run::<false, false> {
            reg: &mut self.reg,
            pos: &mut self.pos,
            buf,
            src: &[],
        });
    }

    /// Decrypts `buf` in place, continuing the stream. Whole blocks are independent (each
    /// block's keystream is the encryption of the ciphertext block before it, all known), so
    /// their rounds overlap.
    pub fn decrypt(&mut self, buf: &mut [u8]) {
        self.cipher.run(Run::<true, false> {
            reg: &mut self.reg,
            pos: &mut self.pos,
            buf,
            src: &[],
        });
    }

    /// Decrypts `src` into `dst`, continuing the stream: [`AesCfb::decrypt`] with the copy
    /// folded in. Only `min(src.len(), dst.len())` bytes are taken.
    pub fn decrypt_from(&mut self, src: &[u8], dst: &mut [u8]) {
        let n = src.len().min(dst.len());
        let (Some(src), Some(dst)) = (src.get(..n), dst.get_mut(..n)) else {
            return;
        };
        self.cipher.run(Run::<true, true> {
            reg: &mut self.reg,
            pos: &mut self.pos,
            buf: dst,
            src,
        });
    }
}

/// CFB over `n` bytes at `pos` of the register's block, `W` bytes at a time with two
/// overlapping words (`W <= n <= 2 * W`): every word is read before any is written, so the
/// overlap reads the keystream, not ciphertext already stored over it.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn partial_words<const W: usize, const DECRYPT: bool, const FROM: bool>(
    reg: &mut [u8; BLOCK_LEN],
    pos: usize,
    input: &[u8],
    out: &mut [u8],
) {
    let n = out.len();
    let data = if FROM { input } else { &*out };
    let (Some(&d1), Some(&d2)) = (data.first_chunk::<W>(), data.last_chunk::<W>()) else {
        return;
    };
    let window = reg.get(pos..pos + n).unwrap_or_default();
    let (Some(&k1), Some(&k2)) = (window.first_chunk::<W>(), window.last_chunk::<W>()) else {
        return;
    };
    let xor = |a: [u8; W], b: [u8; W]| {
        let mut x = a;
        for (x, b) in x.iter_mut().zip(b) {
            *x ^= b;
        }
        x
    };
    let (o1, o2) = (xor(d1, k1), xor(d2, k2));
    if let Some(o) = out.first_chunk_mut::<W>() {
        *o = o1;
    }
    if let Some(o) = out.last_chunk_mut::<W>() {
        *o = o2;
    }
    // The ciphertext takes the keystream's place: the input when decrypting, else the output.
    let (c1, c2) = if DECRYPT { (d1, d2) } else { (o1, o2) };
    let window = reg.get_mut(pos..pos + n).unwrap_or_default();
    if let Some(r) = window.first_chunk_mut::<W>() {
        *r = c1;
    }
    if let Some(r) = window.last_chunk_mut::<W>() {
        *r = c2;
    }
}

/// CFB on the bytes `pos..pos + out.len()` of the register's block (within it): `out`
/// becomes `input` (with `FROM`; else itself, in place) XOR the keystream bytes there, and the
/// register takes the ciphertext bytes in their place (the input when `DECRYPT`, else the
/// output). Word-wide: two overlapping words of 8, 4, 2 or 1 bytes.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn partial<const DECRYPT: bool, const FROM: bool>(
    reg: &mut [u8; BLOCK_LEN],
    pos: usize,
    input: &[u8],
    out: &mut [u8],
) {
    match out.len() {
        0 => {}
        1 => partial_words::<1, DECRYPT, FROM>(reg, pos, input, out),
        2..4 => partial_words::<2, DECRYPT, FROM>(reg, pos, input, out),
        4..8 => partial_words::<4, DECRYPT, FROM>(reg, pos, input, out),
        _ => partial_words::<8, DECRYPT, FROM>(reg, pos, input, out),
    }
}

/// [`partial`] a byte at a time (size builds: the least code).
#[cfg(rtm_opt_size)]
fn partial<const DECRYPT: bool, const FROM: bool>(
    reg: &mut [u8; BLOCK_LEN],
    pos: usize,
    input: &[u8],
    out: &mut [u8],
) {
    let window = reg.get_mut(pos..).unwrap_or_default();
    for (k, (r, o)) in window.iter_mut().zip(out.iter_mut()).enumerate() {
        let d = if FROM {
            input.get(k).copied().unwrap_or(0)
        } else {
            *o
        };
        *o = d ^ *r;
        *r = if DECRYPT { d } else { *o };
    }
}

impl Drop for AesCfb {
    fn drop(&mut self) {
        // The key schedules zeroize themselves (aes's `zeroize` feature).
        self.iv.zeroize();
        self.reg.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for AesCfb {}

impl core::fmt::Debug for AesCfb {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AesCfb")
            .field("bits", &self.bits().bits())
            .field("block_offset", &self.pos)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// NIST SP 800-38A F.3.13 (CFB128-AES128.Encrypt) and F.3.17 (CFB128-AES256.Encrypt).
    const PLAIN: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                         30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

    #[test]
    fn nist_sp800_38a_cfb128_aes128() {
        let key: [u8; 16] = hex("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
        let iv: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let want = hex(
            "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b\
             26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6",
        );
        let mut c = AesCfb::new_128(&key, &iv);
        let mut buf = hex(PLAIN);
        c.encrypt(&mut buf);
        assert_eq!(buf, want);
        let mut d = AesCfb::new(&key, &iv).unwrap();
        d.decrypt(&mut buf);
        assert_eq!(buf, hex(PLAIN));
    }

    #[test]
    fn nist_sp800_38a_cfb128_aes256() {
        let key: [u8; 32] = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .try_into()
            .unwrap();
        let iv: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let want = hex(
            "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b\
             df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471",
        );
        let mut c = AesCfb::new_256(&key, &iv);
        assert_eq!(c.bits(), Bits::Aes256);
        let mut buf = hex(PLAIN);
        c.encrypt(&mut buf);
        assert_eq!(buf, want);
        c.reset();
        c.decrypt(&mut buf);
        assert_eq!(buf, hex(PLAIN));
    }

    #[test]
    fn bad_key_lengths_are_refused() {
        for len in [0usize, 15, 17, 24, 31, 33] {
            assert_eq!(
                AesCfb::new(&vec![0; len], &[0; 16]).err(),
                Some(InvalidKeyLength { len })
            );
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let c = AesCfb::new_128(&[0xAB; 16], &[0xCD; 16]);
        let s = format!("{c:?}");
        assert_eq!(s, "AesCfb { bits: 128, block_offset: 0, .. }");
    }

    #[test]
    fn reset_restarts_the_stream() {
        let mut c = AesCfb::new_128(&[1; 16], &[2; 16]);
        let mut a = *b"the same frame twice";
        let mut b = a;
        c.encrypt(&mut a);
        c.encrypt(&mut b);
        assert_ne!(a, b, "the stream continues");
        let mut again = *b"the same frame twice";
        c.reset();
        c.encrypt(&mut again);
        assert_eq!(a, again, "restarted from the IV");
        assert_eq!(c.block_offset(), 20 % 16);
    }

    /// Splits `len` at the sorted, deduplicated `cuts`.
    fn chunks(len: usize, cuts: &[usize]) -> Vec<core::ops::Range<usize>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
        cuts.dedup();
        cuts.windows(2).map(|w| w[0]..w[1]).collect()
    }

    proptest! {
        #[test]
        fn any_chunking_equals_one_shot(
            wide in any::<bool>(),
            key in proptest::collection::vec(any::<u8>(), 32),
            iv in any::<[u8; 16]>(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let key = if wide { &key[..] } else { &key[..16] };
            let mut whole = data.clone();
            AesCfb::new(key, &iv).unwrap().encrypt(&mut whole);

            let mut pieces = data.clone();
            let mut enc = AesCfb::new(key, &iv).unwrap();
            for r in chunks(data.len(), &cuts) {
                enc.encrypt(&mut pieces[r]);
            }
            prop_assert_eq!(&pieces, &whole);
            prop_assert_eq!(enc.block_offset(), data.len() % 16);

            let mut dec = AesCfb::new(key, &iv).unwrap();
            for r in chunks(data.len(), &cuts[cuts.len() / 2..]) {
                dec.decrypt(&mut pieces[r]);
            }
            prop_assert_eq!(&pieces, &data);
        }
    }
}
