//! FPNN encryption in the session (feature `fpnn-encryption`, reference §4): the configuration
//! and the two directions' cipher states.
//!
//! The session owns the state; the pieces are pure functions of [`crate::crypto`] and
//! [`crate::wire::key_quest`]. Per connection: a fresh ephemeral key from [`KeyGen`](super::keygen::KeyGen), the
//! plaintext `*key` quest as the first frame, then every frame sent is sealed in the TX buffer
//! ([`Sealer`]) and every byte received is opened in the RX buffer ([`Opener`]) before the
//! frame reader sees it. Both work in place, on any chunking, with no buffer beyond the
//! cipher's block; keys are wiped when a connection ends and on drop.

use crate::crypto::{AesCfb, Bits, EcdhError, ServerPublicKey};
use crate::wire::frame::{FrameError, HEADER_LEN, MAX_FRAME_LEN, Status, parse_header};
use crate::wire::key_quest::PACKAGE_PREFIX_LEN;

/// An `Option` whose empty value is zero bytes: an explicit `u8` tag before the value, no niche.
/// The listener's encryption state is kept in these so that zero bytes are an unconfigured
/// listener in every build (the firmware's `static` in .bss, the C ABI's in-place init).
#[repr(u8)]
#[derive(Debug, Clone, Default)]
pub(crate) enum Slot<T> {
    /// Nothing (tag 0).
    #[default]
    Empty = 0,
    /// A value.
    Full(T),
}

impl<T> Slot<T> {
    /// The value, if any.
    pub(crate) fn get(&self) -> Option<&T> {
        match self {
            Self::Full(v) => Some(v),
            Self::Empty => None,
        }
    }

    /// The value, if any, mutably.
    pub(crate) fn get_mut(&mut self) -> Option<&mut T> {
        match self {
            Self::Full(v) => Some(v),
            Self::Empty => None,
        }
    }

    /// Whether there is a value.
    pub(crate) fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }
}

impl<T> From<Option<T>> for Slot<T> {
    fn from(v: Option<T>) -> Self {
        match v {
            Some(v) => Self::Full(v),
            None => Self::Empty,
        }
    }
}

/// How frames are encrypted after the key exchange (reference §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncryptionMode {
    /// One continuous AES-CFB stream per direction over ordinary frames (`streamMode: true`).
    Stream,
    /// Each frame as a plaintext `u32` LE length, then the frame encrypted with the cipher
    /// restarted from the IV (`streamMode: false`; the official C++ SDK's default).
    Package,
}

/// FPNN encryption for a listener's connections: the server's public key (its curve
/// included), the mode and the AES key size. The official C++ SDK's
/// `enableEncryptor(curve, key, packageMode = true, reinforce = false)` is
/// `Encryption::new(key, EncryptionMode::Package, Bits::Aes128)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    /// The server's public key.
    pub server_key: ServerPublicKey,
    /// Stream or package mode.
    pub mode: EncryptionMode,
    /// AES-128 or AES-256 ("reinforce").
    pub bits: Bits,
}

impl Encryption {
    /// Encryption with `server_key`, `mode` and `bits`.
    pub fn new(server_key: ServerPublicKey, mode: EncryptionMode, bits: Bits) -> Self {
        Self {
            server_key,
            mode,
            bits,
        }
    }
}

/// The fewest bytes of host entropy [`Listener::set_encryption`](super::Listener::set_encryption) takes.
pub const MIN_ENTROPY: usize = 32;

/// Checks what [`Listener::set_encryption`](super::Listener::set_encryption) is given: a curve
/// compiled into this build and enough entropy.
pub(crate) fn check(enc: Option<&Encryption>, entropy: &[u8]) -> Result<(), EcdhError> {
    let Some(enc) = enc else {
        // Turning encryption off needs no entropy.
        return Ok(());
    };
    let curve = enc.server_key.curve();
    if !curve.is_compiled() {
        return Err(EcdhError::CurveNotCompiled(curve));
    }
    if entropy.len() < MIN_ENTROPY {
        return Err(EcdhError::ShortEntropy {
            needed: MIN_ENTROPY,
            got: entropy.len(),
        });
    }
    Ok(())
}

/// The sending direction's cipher: seals each frame in the TX buffer as it is queued.
#[derive(Debug, Clone)]
pub(crate) struct Sealer {
    cipher: AesCfb,
    mode: EncryptionMode,
}

impl Sealer {
    /// A sealer for `mode` with `cipher` fresh from the key exchange.
    pub(crate) fn new(cipher: AesCfb, mode: EncryptionMode) -> Self {
        Self { cipher, mode }
    }

    /// Bytes written before each frame: the package length, or nothing in stream mode.
    pub(crate) fn prefix_len(&self) -> usize {
        match self.mode {
            EncryptionMode::Stream => 0,
            EncryptionMode::Package => PACKAGE_PREFIX_LEN,
        }
    }

    /// Seals the frame in `buf[prefix_len()..]`: writes the package length in front of it (in
    /// package mode) and encrypts it in place.
    pub(crate) fn seal(&mut self, buf: &mut [u8]) {
        match self.mode {
            EncryptionMode::Stream => self.cipher.encrypt(buf),
            EncryptionMode::Package => {
                let Some((prefix, frame)) = buf.split_first_chunk_mut::<PACKAGE_PREFIX_LEN>()
                else {
                    return;
                };
                // Frames are at most 8 MiB, far below `u32::MAX`.
                *prefix = u32::try_from(frame.len()).unwrap_or(u32::MAX).to_le_bytes();
                self.cipher.reset();
                self.cipher.encrypt(frame);
            }
        }
    }
}

/// Where the receiving direction is in package mode's framing.
#[derive(Debug, Clone, Copy, Default)]
struct Package {
    /// The length prefix read so far, and how many of its bytes.
    prefix: [u8; PACKAGE_PREFIX_LEN],
    have: usize,
    /// Ciphertext bytes left in the current package (0: a prefix comes next).
    remaining: usize,
    /// The current package's length, and the start of its frame's header decrypted so far:
    /// a package holds exactly one frame, so the header's length must be the package's.
    len: usize,
    head: [u8; HEADER_LEN],
    head_have: usize,
}

impl Package {
    /// Records decrypted `plain` bytes of the current package; checks, once the frame header
    /// is whole, that the frame is as long as the package.
    fn check(&mut self, plain: &[u8]) -> Result<(), FrameError> {
        if self.head_have == HEADER_LEN {
            return Ok(());
        }
        if self.head_have == 0
            && let Some(head) = plain.first_chunk::<HEADER_LEN>()
        {
            // The whole header at once (the common case).
            self.head_have = HEADER_LEN;
            return self.check_header(head);
        }
        for (slot, &b) in self.head.iter_mut().skip(self.head_have).zip(plain) {
            *slot = b;
            self.head_have += 1;
        }
        if self.head_have < HEADER_LEN {
            return Ok(());
        }
        let head = self.head;
        self.check_header(&head)
    }

    /// Checks that the frame whose header is `head` is as long as the package.
    #[inline(always)]
    fn check_header(&self, head: &[u8; HEADER_LEN]) -> Result<(), FrameError> {
        check_frame_len(head, self.len)
    }
}

/// Checks that the frame whose header is `head` is `len` bytes long, its package's length.
#[inline(always)]
fn check_frame_len(head: &[u8; HEADER_LEN], len: usize) -> Result<(), FrameError> {
    match parse_header(head) {
        Ok(Status::Complete(h, _)) if h.frame_len() != len => Err(FrameError::BadPackage),
        // A bad header is the frame reader's to report, with its own error.
        _ => Ok(()),
    }
}

/// The receiving direction's cipher: opens received bytes in the RX buffer before the frame
/// reader sees them, dropping package mode's length prefixes.
#[derive(Debug, Clone)]
pub(crate) struct Opener {
    cipher: AesCfb,
    /// `None` in stream mode.
    package: Option<Package>,
}

impl Opener {
    /// An opener for `mode` with `cipher` fresh from the key exchange.
    pub(crate) fn new(cipher: AesCfb, mode: EncryptionMode) -> Self {
        Self {
            cipher,
            package: match mode {
                EncryptionMode::Stream => None,
                EncryptionMode::Package => Some(Package::default()),
            },
        }
    }

    /// Opens the received bytes `src` into `dst` (at least as long): as [`Opener::open`] on a
    /// copy, with the copy folded into the decryption. Stream mode decrypts straight across;
    /// package mode takes the packages that are whole in `src` in one pass each.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    pub(crate) fn open_from(&mut self, src: &[u8], dst: &mut [u8]) -> (usize, Option<FrameError>) {
        let Some(dst) = dst.get_mut(..src.len()) else {
            return (0, None);
        };
        match &mut self.package {
            None => {
                self.cipher.decrypt_from(src, dst);
                (dst.len(), None)
            }
            Some(p) => packages_from(&mut self.cipher, p, src, dst),
        }
    }

    /// Opens the received bytes `buf` in place: decrypts them and, in package mode, removes
    /// the length prefixes. Returns how many plaintext bytes are now at the start of `buf`,
    /// and an error if the stream broke after them: a package shorter than a frame header or
    /// over 8 MiB, or whose frame is not exactly as long as the package, is
    /// [`FrameError::BadPackage`] (the stream cannot be read on; the frames before it stand).
    pub(crate) fn open(&mut self, buf: &mut [u8]) -> (usize, Option<FrameError>) {
        match &mut self.package {
            None => {
                self.cipher.decrypt(buf);
                (buf.len(), None)
            }
            Some(p) => packages::<false>(&mut self.cipher, p, &[], buf),
        }
    }
}

/// A package's length from its prefix, if it is one a package may have: a frame header up to
/// 8 MiB.
#[inline(always)]
fn package_len(prefix: [u8; PACKAGE_PREFIX_LEN]) -> Option<usize> {
    let len = usize::try_from(u32::from_le_bytes(prefix)).ok()?;
    (HEADER_LEN..=MAX_FRAME_LEN).contains(&len).then_some(len)
}

/// Package mode's [`Opener::open_from`]: while a package starts at the reading position and is
/// all there, its prefix is read, the cipher restarted, the package decrypted from `src`
/// straight into place and its frame's length checked, in one pass; anything else (a package
/// cut short, one started by an earlier call, a bad length) goes through [`packages`], which
/// reports the errors. `dst` is as long as `src`.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn packages_from(
    cipher: &mut AesCfb,
    p: &mut Package,
    src: &[u8],
    dst: &mut [u8],
) -> (usize, Option<FrameError>) {
    #[cfg(not(rtm_opt_size))]
    let (read, written) = {
        let (mut read, mut written) = (0, 0);
        while p.remaining == 0
            && p.have == 0
            && let Some((&prefix, rest)) = src
                .get(read..)
                .and_then(<[u8]>::split_first_chunk::<PACKAGE_PREFIX_LEN>)
            && let Some(len) = package_len(prefix)
            && let Some(body) = rest.get(..len)
            && let Some(out) = dst.get_mut(written..written + len)
        {
            cipher.reset();
            cipher.decrypt_from(body, out);
            if let Some(head) = out.first_chunk::<HEADER_LEN>()
                && let Err(e) = check_frame_len(head, len)
            {
                return (written, Some(e));
            }
            read += PACKAGE_PREFIX_LEN + len;
            written += len;
        }
        (read, written)
    };
    #[cfg(rtm_opt_size)]
    let (read, written) = (0, 0);
    if read == src.len() {
        return (written, None);
    }
    let (src, out) = (
        src.get(read..).unwrap_or_default(),
        dst.get_mut(written..).unwrap_or_default(),
    );
    let n = src.len().min(out.len());
    let (m, e) = packages::<true>(
        cipher,
        p,
        src.get(..n).unwrap_or_default(),
        out.get_mut(..n).unwrap_or_default(),
    );
    (written + m, e)
}

/// Package mode, byte by byte through the framing: `buf` in place, or with `FROM`, `src` into
/// `buf` (as long). Returns the plaintext bytes written at the start of `buf` and the error
/// that broke the stream after them, as [`Opener::open`]. Out of line: whole packages take
/// [`packages_from`]'s path.
#[cfg_attr(not(rtm_opt_size), inline(never))]
fn packages<const FROM: bool>(
    cipher: &mut AesCfb,
    p: &mut Package,
    src: &[u8],
    buf: &mut [u8],
) -> (usize, Option<FrameError>) {
    let (mut read, mut written) = (0, 0);
    while read < buf.len() {
        let input: &[u8] = if FROM { src } else { buf };
        if p.remaining == 0 {
            if p.have == 0
                && let Some(prefix) = input.get(read..).and_then(<[u8]>::first_chunk)
            {
                // The whole prefix is there (the common case): taken at once but its last
                // byte, which completes it below.
                p.prefix = *prefix;
                p.have = PACKAGE_PREFIX_LEN - 1;
                read += PACKAGE_PREFIX_LEN - 1;
            }
            let (Some(&b), Some(slot)) = (input.get(read), p.prefix.get_mut(p.have)) else {
                break;
            };
            *slot = b;
            p.have += 1;
            read += 1;
            if p.have == PACKAGE_PREFIX_LEN {
                p.have = 0;
                let Some(len) = package_len(p.prefix) else {
                    return (written, Some(FrameError::BadPackage));
                };
                p.remaining = len;
                p.len = len;
                p.head_have = 0;
                cipher.reset();
            }
            continue;
        }
        let n = p.remaining.min(buf.len() - read);
        if FROM {
            // Decrypted from the source straight into place.
            if let (Some(from), Some(to)) = (src.get(read..read + n), buf.get_mut(written..)) {
                cipher.decrypt_from(from, to);
            }
        } else {
            // Moved over the prefixes before it, then decrypted. Size builds move with
            // `move_down` (no `memmove` in the firmware).
            #[cfg(not(rtm_opt_size))]
            buf.copy_within(read..read + n, written);
            #[cfg(rtm_opt_size)]
            crate::shift::move_down(buf, read..read + n, written);
            if let Some(part) = buf.get_mut(written..written + n) {
                cipher.decrypt(part);
            }
        }
        if let Some(part) = buf.get(written..written + n)
            && let Err(e) = p.check(part)
        {
            return (written, Some(e));
        }
        p.remaining -= n;
        read += n;
        written += n;
    }
    (written, None)
}

/// The key exchange's cipher states of one connection.
#[derive(Debug, Clone)]
pub(crate) struct Ciphers {
    pub(crate) sealer: Sealer,
    pub(crate) opener: Opener,
}

/// The cipher pair for a connection's `keys`.
pub(crate) fn ciphers(keys: &crate::crypto::SessionKeys, mode: EncryptionMode) -> Ciphers {
    Ciphers {
        sealer: Sealer::new(keys.cipher(), mode),
        opener: Opener::new(keys.cipher(), mode),
    }
}

/// `bits` as the `*key` quest's `bits` and the flag of stream mode.
pub(crate) fn stream_mode(mode: EncryptionMode) -> bool {
    mode == EncryptionMode::Stream
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> AesCfb {
        AesCfb::new_128(&[7; 16], &[9; 16])
    }

    /// Seals frames in both modes and opens them from any split of the byte stream.
    #[test]
    fn sealed_frames_open_from_any_split() {
        for mode in [EncryptionMode::Stream, EncryptionMode::Package] {
            let frames: [&[u8]; 3] = [
                b"FPNN\x01\x80\x01\x01\x01\x00\x00\x00\x07\x00\x00\x00p\x80",
                b"FPNN\x01\x80\x02\x00\x01\x00\x00\x00\x07\x00\x00\x00\x80",
                b"FPNN\x01\x80\x00\x04\x03\x00\x00\x00ping\x82\x01\x02",
            ];
            let mut wire = std::vec::Vec::new();
            let mut sealer = Sealer::new(cipher(), mode);
            for f in frames {
                let mut b = std::vec![0u8; sealer.prefix_len()];
                b.extend_from_slice(f);
                sealer.seal(&mut b);
                wire.extend(b);
            }
            let plain: std::vec::Vec<u8> = frames.concat();
            for step in 1..=wire.len() {
                let mut opener = Opener::new(cipher(), mode);
                let mut got = std::vec::Vec::new();
                for chunk in wire.chunks(step) {
                    let mut c = chunk.to_vec();
                    let (n, e) = opener.open(&mut c);
                    assert_eq!(e, None);
                    got.extend_from_slice(&c[..n]);
                }
                assert_eq!(got, plain, "{mode:?} in chunks of {step}");
            }
        }
    }

    /// Package-mode wire bytes: each entry a frame sealed as a package, or with `Some(len)`,
    /// the frame sealed under a wrong prefix `len`.
    fn packages_wire(frames: &[(std::vec::Vec<u8>, Option<u32>)]) -> std::vec::Vec<u8> {
        let mut wire = std::vec::Vec::new();
        let mut sealer = Sealer::new(cipher(), EncryptionMode::Package);
        for (f, prefix) in frames {
            let mut b = std::vec![0u8; PACKAGE_PREFIX_LEN];
            b.extend_from_slice(f);
            sealer.seal(&mut b);
            if let Some(len) = prefix {
                b[..PACKAGE_PREFIX_LEN].copy_from_slice(&len.to_le_bytes());
            }
            wire.extend(b);
        }
        wire
    }

    /// Opens `wire` in chunks of `step` through `open_from` (`from`) or `open` in place:
    /// the plaintext, and the first error with the plaintext before it.
    fn open_chunks(
        wire: &[u8],
        step: usize,
        from: bool,
    ) -> (std::vec::Vec<u8>, Option<FrameError>) {
        let mut opener = Opener::new(cipher(), EncryptionMode::Package);
        let mut got = std::vec::Vec::new();
        for chunk in wire.chunks(step.max(1)) {
            let mut c = chunk.to_vec();
            let (n, e) = if from {
                let mut dst = std::vec![0u8; chunk.len() + 3];
                let r = opener.open_from(chunk, &mut dst);
                c = dst;
                r
            } else {
                opener.open(&mut c)
            };
            got.extend_from_slice(&c[..n]);
            if e.is_some() {
                return (got, e);
            }
        }
        (got, None)
    }

    proptest::proptest! {
        /// Whole packages opened in one pass each (`open_from`) give what the byte-by-byte
        /// framing in place gives, errors included: frames whose length is not the package's,
        /// prefixes out of range, packages cut by any chunking.
        #[test]
        fn whole_packages_open_as_the_framing_does(
            frames in proptest::collection::vec(
                (proptest::collection::vec(proptest::num::u8::ANY, 0..40),
                 proptest::option::weighted(0.1, 0u32..64)),
                1..6,
            ),
            step in 1usize..200,
        ) {
            // Frames: an answer's header and seq for the body's length, with the random
            // prefix override now and then.
            let frames: std::vec::Vec<_> = frames
                .into_iter()
                .map(|(body, prefix)| {
                    let mut f = b"FPNN\x01\x80\x02\x00".to_vec();
                    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
                    f.extend_from_slice(&[1, 0, 0, 0]);
                    f.extend_from_slice(&body);
                    (f, prefix)
                })
                .collect();
            let wire = packages_wire(&frames);
            let in_place = open_chunks(&wire, step, false);
            proptest::prop_assert_eq!(&open_chunks(&wire, step, true), &in_place);
            proptest::prop_assert_eq!(&open_chunks(&wire, wire.len(), true), &open_chunks(&wire, wire.len(), false));
            if frames.iter().all(|(_, p)| p.is_none()) {
                let plain: std::vec::Vec<u8> = frames.iter().flat_map(|(f, _)| f.clone()).collect();
                proptest::prop_assert_eq!(in_place, (plain, None));
            }
        }
    }

    #[test]
    fn a_bad_package_length_is_refused() {
        // Shorter than a header, over 8 MiB, and shorter than the frame it starts.
        let mut short = Sealer::new(cipher(), EncryptionMode::Package);
        let mut b = std::vec![0u8; 4];
        b.extend_from_slice(b"FPNN\x01\x80\x01\x01\x01\x00\x00\x00\x07\x00");
        short.seal(&mut b);
        let mut o = Opener::new(cipher(), EncryptionMode::Package);
        assert_eq!(o.open(&mut b), (0, Some(FrameError::BadPackage)));
        for prefix in [0u32, 11, (MAX_FRAME_LEN + 1) as u32] {
            let mut o = Opener::new(cipher(), EncryptionMode::Package);
            let mut b = prefix.to_le_bytes().to_vec();
            b.push(1);
            assert_eq!(o.open(&mut b), (0, Some(FrameError::BadPackage)));
        }
    }

    #[test]
    fn encryption_takes_entropy() {
        // Off needs no entropy; on needs 32 bytes.
        assert_eq!(check(None, &[]), Ok(()));
        #[cfg(feature = "fpnn-ecdh-secp256k1")]
        {
            use crate::crypto::{Curve, EphemeralKey};
            let server = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x11]).unwrap();
            let key = ServerPublicKey::from_raw(Curve::Secp256k1, server.public_key()).unwrap();
            let enc = Encryption::new(key, EncryptionMode::Stream, Bits::Aes128);
            assert_eq!(
                check(Some(&enc), &[0; 31]),
                Err(EcdhError::ShortEntropy {
                    needed: 32,
                    got: 31
                })
            );
            assert_eq!(check(Some(&enc), &[0; 32]), Ok(()));
        }
    }
}
