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
//!
//! Speed builds run a whole call inside the block cipher's backend (one CPU-feature dispatch
//! per call, the AES-NI rounds inlined with the round keys in registers): chunks of a block or
//! more in a straight line (the head as one 16-byte window, whole blocks in vector registers,
//! the tail as two overlapping words), shorter chunks word by word. Size builds call the block
//! cipher a block at a time and handle partial blocks a byte at a time.

use aes::cipher::consts::U16;
#[cfg(not(rtm_opt_size))]
use aes::cipher::typenum::Unsigned;
use aes::cipher::{
    BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit,
};
use aes::{Aes128Enc, Aes256Enc, Block};
use zeroize::Zeroize;

use super::params::Bits;

/// The AES block and IV length.
pub const BLOCK_LEN: usize = 16;

/// The register (`[0]`), then 16 zero bytes (`[1]`): a 16-byte window read at any position of
/// the register stays in bounds, with zeros past the block.
type Register = [[u8; BLOCK_LEN]; 2];

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
        run.run(&OneBlock(self));
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

/// Where a stream is: the register and the position in its block.
#[derive(Clone)]
struct State {
    /// `E(feedback)` with its first `pos` bytes replaced by ciphertext, then zeros.
    reg: Register,
    /// Bytes of `reg` used, 0..=15; 0 means the next byte needs a fresh keystream block,
    /// unless `ready`.
    pos: usize,
    /// At the start of a block (`pos` 0) whose keystream is already in `reg` (after a
    /// (re)start: `E(IV)`, computed once per key): the block is handled as one whose first
    /// 0 bytes were used.
    ready: bool,
}

/// One call's work on a stream: `buf` in place, or with `FROM`, `src` into `buf` (the same
/// length).
struct Run<'a, const DECRYPT: bool, const FROM: bool> {
    state: &'a mut State,
    buf: &'a mut [u8],
    src: &'a [u8],
}

impl<const DECRYPT: bool, const FROM: bool> BlockSizeUser for Run<'_, DECRYPT, FROM> {
    type BlockSize = U16;
}

impl<const DECRYPT: bool, const FROM: bool> BlockCipherEncClosure for Run<'_, DECRYPT, FROM> {
    /// The run, inlined into hardware backends (whose entry point is compiled with the AES
    /// instructions enabled, so that the rounds are inlined into the run); software backends
    /// (fewer than 8 blocks in parallel) share an out-of-line copy, which keeps their code
    /// and its register pressure out of the dispatching functions.
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        #[cfg(not(rtm_opt_size))]
        if <B::ParBlocksSize as Unsigned>::USIZE < 8 {
            software(self, backend);
            return;
        }
        self.run(backend);
    }
}

/// [`Run::run`] out of line, for software backends.
#[cfg(not(rtm_opt_size))]
#[cold]
#[inline(never)]
fn software<B: BlockCipherEncBackend<BlockSize = U16>, const DECRYPT: bool, const FROM: bool>(
    run: Run<'_, DECRYPT, FROM>,
    backend: &B,
) {
    run.run(backend);
}

impl<const DECRYPT: bool, const FROM: bool> Run<'_, DECRYPT, FROM> {
    /// Chunks of a block or more in a straight line ([`wide`], speed builds); otherwise the
    /// bytes finishing the current block, each whole block, then the start of the next block.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn run<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let Self {
            state: State { reg, pos, ready },
            buf,
            mut src,
        } = self;
        #[cfg(not(rtm_opt_size))]
        if buf.len() >= BLOCK_LEN && (!FROM || src.len() == buf.len()) {
            wide::<B, DECRYPT, FROM>(backend, reg, pos, ready, buf, src);
            return;
        }
        let mut out = buf;
        // (An empty chunk leaves a ready keystream ready.)
        if (*pos != 0 || *ready) && !out.is_empty() {
            *ready = false;
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
        let [reg_block, _] = reg;
        for (k, block) in blocks.iter_mut().enumerate() {
            let data = if FROM {
                let Some(&data) = blocks_in.get(k) else {
                    break;
                };
                data
            } else {
                *block
            };
            backend.encrypt_block(Block::cast_from_core_mut(reg_block).into());
            let out = (u128::from_ne_bytes(*reg_block) ^ u128::from_ne_bytes(data)).to_ne_bytes();
            *block = out;
            // The ciphertext is the next feedback.
            *reg_block = if DECRYPT { data } else { out };
        }
        if !tail.is_empty() {
            backend.encrypt_block(Block::cast_from_core_mut(reg_block).into());
            *pos = tail.len();
            partial::<DECRYPT, FROM>(reg, 0, tail_in, tail);
        }
    }
}

/// `out ^= x` on blocks in memory: two 64-bit lanes, both read before the write (the compiler
/// cannot tell that the blocks do not overlap), which makes one vector XOR.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn xor_into(out: &mut [u8; BLOCK_LEN], x: &[u8; BLOCK_LEN]) {
    let lanes = |b: &[u8; BLOCK_LEN]| {
        let (lo, hi) = b.split_at(8);
        [
            u64::from_ne_bytes(lo.try_into().unwrap_or_default()),
            u64::from_ne_bytes(hi.try_into().unwrap_or_default()),
        ]
    };
    let (a, b) = (lanes(out), lanes(x));
    let (lo, hi) = out.split_at_mut(8);
    lo.copy_from_slice(&(a[0] ^ b[0]).to_ne_bytes());
    hi.copy_from_slice(&(a[1] ^ b[1]).to_ne_bytes());
}

/// `a ^ b` in two 64-bit lanes (one vector XOR).
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn xor(a: [u8; BLOCK_LEN], b: [u8; BLOCK_LEN]) -> [u8; BLOCK_LEN] {
    let mut out = a;
    xor_into(&mut out, &b);
    out
}

/// The 16 bytes of `data` at `at`, as a number (for one XOR); zero if they are not all there
/// (the callers stay within `data`).
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn window(data: &[u8], at: usize) -> u128 {
    data.get(at..)
        .and_then(<[u8]>::first_chunk::<BLOCK_LEN>)
        .map_or(0, |w| u128::from_le_bytes(*w))
}

/// CFB over a chunk of at least one block (`buf`, or with `FROM` `src` into `buf`, as long),
/// in a straight line. The head (finishing the current block when `pos` > 0) is one 16-byte
/// window from the start: the input XOR the register's keystream read from `pos` on, whose
/// zeros past the block leave the window's bytes past the head unchanged; the block it
/// finishes is assembled in the register by one 16-byte store of the head's ciphertext at
/// `pos`. Whole blocks: the keystream in a local (decryption from a source) or in the
/// register (in place), XORed as two 64-bit lanes (one vector XOR). The tail (starting the
/// next block) is two overlapping words against the register. No branch or address depends
/// on the data, only on the lengths and the position.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn wide<B: BlockCipherEncBackend<BlockSize = U16>, const DECRYPT: bool, const FROM: bool>(
    backend: &B,
    reg: &mut Register,
    pos: &mut usize,
    ready: &mut bool,
    buf: &mut [u8],
    src: &[u8],
) {
    let encrypt = |input: &[u8; BLOCK_LEN], out: &mut [u8; BLOCK_LEN]| {
        backend
            .encrypt_block((Block::cast_from_core(input), Block::cast_from_core_mut(out)).into());
    };
    let n = buf.len();
    let p = *pos % BLOCK_LEN;
    // The feedback for the first keystream block.
    let mut first = reg[0];
    let mut off = 0;
    if p != 0 || *ready {
        // With the keystream ready at the start of a block, the head is the whole block.
        *ready = false;
        let flat = reg.as_flattened_mut();
        let keystream = window(flat, p);
        let data = window(if FROM { src } else { buf }, 0);
        let out = data ^ keystream;
        if let Some(w) = buf.first_chunk_mut::<BLOCK_LEN>() {
            *w = out.to_le_bytes();
        }
        // The finished block: the register's first `p` bytes of ciphertext, then the head's,
        // stored over the keystream (and the zeros, restored after). Reading it back waits
        // for the store (no forwarding across two stores), but only the first block's
        // encryption does, not the instructions around it.
        let cipher = if DECRYPT { data } else { out };
        if let Some(w) = flat
            .get_mut(p..)
            .and_then(<[u8]>::first_chunk_mut::<BLOCK_LEN>)
        {
            *w = cipher.to_le_bytes();
        }
        let [block, zeros] = reg;
        first = *block;
        *zeros = [0; BLOCK_LEN];
        off = BLOCK_LEN - p;
    }
    let (blocks, tail) = buf
        .get_mut(off..)
        .unwrap_or_default()
        .as_chunks_mut::<BLOCK_LEN>();
    let t = tail.len();
    let [reg_block, _] = reg;
    let feedback = if DECRYPT && FROM {
        // Each block's keystream is the encryption of the ciphertext block before it, all
        // known, so the blocks' rounds overlap. The keystream is not wiped: it is the
        // plaintext XOR the (public) ciphertext, and the plaintext stays in the buffer.
        let blocks_in = src
            .get(off..)
            .unwrap_or_default()
            .as_chunks::<BLOCK_LEN>()
            .0;
        match (blocks.split_first_mut(), blocks_in.split_first()) {
            (Some((out, rest)), Some((data, rest_in))) => {
                let mut keystream = [0; BLOCK_LEN];
                encrypt(&first, &mut keystream);
                *out = xor(keystream, *data);
                for (out, (prev, data)) in rest.iter_mut().zip(blocks_in.iter().zip(rest_in)) {
                    encrypt(prev, &mut keystream);
                    *out = xor(keystream, *data);
                }
                *rest_in.last().unwrap_or(data)
            }
            _ => first,
        }
    } else {
        // The keystream in the register; in place, the ciphertext is kept (decrypting) or
        // is the output (encrypting).
        let mut feedback = first;
        for block in blocks.iter_mut() {
            encrypt(&feedback, reg_block);
            if DECRYPT {
                feedback = *block;
                xor_into(block, reg_block);
            } else {
                xor_into(block, reg_block);
                feedback = *block;
            }
        }
        feedback
    };
    if t == 0 {
        *reg_block = feedback;
        *pos = 0;
        return;
    }
    encrypt(&feedback, reg_block);
    let start = n - t;
    partial::<DECRYPT, FROM>(
        reg,
        0,
        src.get(start..).unwrap_or_default(),
        buf.get_mut(start..).unwrap_or_default(),
    );
    *pos = t;
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
    /// `E(IV)`: the keystream of every (re)start's first block.
    first: [u8; BLOCK_LEN],
    state: State,
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
        let mut first = Block::from(*iv);
        match &cipher {
            Cipher::Aes128(c) => c.encrypt_block(&mut first),
            Cipher::Aes256(c) => c.encrypt_block(&mut first),
        }
        let first: [u8; BLOCK_LEN] = first.into();
        Self {
            cipher,
            first,
            state: State {
                reg: [first, [0; BLOCK_LEN]],
                pos: 0,
                ready: true,
            },
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
        self.state.pos
    }

    /// Restarts the stream from the IV (package mode does this for every frame): the first
    /// block's keystream, `E(IV)`, is the one computed with the key.
    pub fn reset(&mut self) {
        self.state.reg[0] = self.first;
        self.state.pos = 0;
        self.state.ready = true;
    }

    /// Encrypts `buf` in place, continuing the stream.
    pub fn encrypt(&mut self, buf: &mut [u8]) {
        self.cipher.run(Run::<false, false> {
            state: &mut self.state,
            buf,
            src: &[],
        });
    }

    /// Decrypts `buf` in place, continuing the stream. Whole blocks are independent (each
    /// block's keystream is the encryption of the ciphertext block before it, all known), so
    /// their rounds overlap.
    pub fn decrypt(&mut self, buf: &mut [u8]) {
        self.cipher.run(Run::<true, false> {
            state: &mut self.state,
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
            state: &mut self.state,
            buf: dst,
            src,
        });
    }
}

/// `W` bytes of `data` at `at` as the low bytes of a `u64` (a `W`-byte load); 0 if they are
/// not all there.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn word<const W: usize>(data: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    if let (Some(d), Some(to)) = (
        data.get(at..).and_then(<[u8]>::first_chunk::<W>),
        w.first_chunk_mut::<W>(),
    ) {
        *to = *d;
    }
    u64::from_ne_bytes(w)
}

/// Stores the `W` low bytes of `v` (as [`word`] reads them) at `at` of `out`, if there.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn put_word<const W: usize>(out: &mut [u8], at: usize, v: u64) {
    if let (Some(to), Some(b)) = (
        out.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<W>),
        v.to_ne_bytes().first_chunk::<W>(),
    ) {
        *to = *b;
    }
}

/// CFB over `n` bytes at `pos` of the register's block, `W` bytes at a time with two
/// overlapping words (`W <= n <= 2 * W`): every word is read before any is written, so the
/// overlap reads the keystream, not ciphertext already stored over it.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn partial_words<const W: usize, const DECRYPT: bool, const FROM: bool>(
    reg: &mut Register,
    pos: usize,
    input: &[u8],
    out: &mut [u8],
) {
    let n = out.len();
    let Some(last) = n.checked_sub(W) else {
        return;
    };
    let data = if FROM { input } else { &*out };
    let (d1, d2) = (word::<W>(data, 0), word::<W>(data, last));
    let flat = reg.as_flattened_mut();
    let (k1, k2) = (word::<W>(flat, pos), word::<W>(flat, pos + last));
    let (o1, o2) = (d1 ^ k1, d2 ^ k2);
    put_word::<W>(out, last, o2);
    put_word::<W>(out, 0, o1);
    // The ciphertext takes the keystream's place: the input when decrypting, else the output.
    let (c1, c2) = if DECRYPT { (d1, d2) } else { (o1, o2) };
    put_word::<W>(flat, pos + last, c2);
    put_word::<W>(flat, pos, c1);
}

/// CFB on the bytes `pos..pos + out.len()` of the register's block (within it): `out`
/// becomes `input` (with `FROM`; else itself, in place) XOR the keystream bytes there, and the
/// register takes the ciphertext bytes in their place (the input when `DECRYPT`, else the
/// output). Word-wide: two overlapping words of 8, 4, 2 or 1 bytes.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn partial<const DECRYPT: bool, const FROM: bool>(
    reg: &mut Register,
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
    reg: &mut Register,
    pos: usize,
    input: &[u8],
    out: &mut [u8],
) {
    let [block, _] = reg;
    let window = block.get_mut(pos..).unwrap_or_default();
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
        self.first.zeroize();
        self.state.reg.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for AesCfb {}

impl core::fmt::Debug for AesCfb {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AesCfb")
            .field("bits", &self.bits().bits())
            .field("block_offset", &self.state.pos)
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

    /// Empty chunks, at the start of a stream and after a restart, leave the stream where it
    /// is (the first block's keystream is ready there).
    #[test]
    fn empty_chunks_change_nothing() {
        let plain = *b"twenty bytes long...";
        let mut want = plain;
        AesCfb::new_128(&[3; 16], &[4; 16]).encrypt(&mut want);
        let mut c = AesCfb::new_128(&[3; 16], &[4; 16]);
        for _ in 0..2 {
            let mut got = plain;
            c.encrypt(&mut []);
            c.decrypt(&mut []);
            c.decrypt_from(&[], &mut []);
            c.encrypt(&mut got[..3]);
            c.encrypt(&mut []);
            c.encrypt(&mut got[3..]);
            assert_eq!(got, want);
            c.reset();
        }
        let mut d = AesCfb::new_128(&[3; 16], &[4; 16]);
        let mut got = want;
        d.decrypt(&mut []);
        d.decrypt(&mut got);
        assert_eq!(got, plain);
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

    /// Splits `len` at the sorted `cuts` (a repeated cut is an empty chunk).
    fn chunks(len: usize, cuts: &[usize]) -> Vec<core::ops::Range<usize>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (len + 1)).collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
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
            // Restarted (the first block's keystream kept from the key), in the same pieces.
            enc.reset();
            let mut again = data.clone();
            for r in chunks(data.len(), &cuts) {
                enc.encrypt(&mut again[r]);
            }
            prop_assert_eq!(&again, &whole);

            let mut from = AesCfb::new(key, &iv).unwrap();
            let mut opened = vec![0; data.len()];
            for r in chunks(data.len(), &cuts[..cuts.len() / 2]) {
                from.decrypt_from(&whole[r.clone()], &mut opened[r]);
            }
            prop_assert_eq!(&opened, &data);
            prop_assert_eq!(from.block_offset(), data.len() % 16);

            let mut dec = AesCfb::new(key, &iv).unwrap();
            for r in chunks(data.len(), &cuts[cuts.len() / 2..]) {
                dec.decrypt(&mut pieces[r]);
            }
            prop_assert_eq!(&pieces, &data);
        }
    }
}
