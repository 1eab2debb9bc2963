//! The encrypted mode of the listener harness (target `listener_enc`): the server's half of
//! FPNN encryption (reference §4), around the plaintext harness.
//!
//! The listener gets `set_encryption` with the curve, mode and key size the input picks, the
//! server's public key of a fixed private scalar, and fixed entropy. Per connection the harness
//! reads the plaintext `*key` quest from `transmit()` (it must be the only frame queued),
//! checks it, and derives the session keys as the server does (ECDH with the fixed scalar, so
//! the derived keys are cached: with fixed entropy the k-th connection of a curve always has the
//! same ephemeral key, and only the listener's own key generation and ECDH run per exec). Then:
//!
//! - **server to listener**: the plaintext pieces the harness queues (pushes, answers, garbage,
//!   oversized frames with their bodies as runs of zeros) are encrypted lazily at the front of
//!   the inbox as they are offered ([`Shape`]: stream mode as one CFB stream; package mode as a
//!   `u32` LE length then the piece encrypted from the IV, or, as a shape byte of the input
//!   picks, a piece split into two packages, a bogus length, or a piece sent unencrypted);
//! - **what the listener must read**: the bytes it accepted go through [`Opener`], the reader of
//!   the reference (written from §4.3, not from the engine's session code), which gives the
//!   plaintext the observer checks as in the plaintext target, and where a package breaks the
//!   stream (`BadPackage`: a length under a header or over 8 MiB, or a frame header whose frame
//!   is not exactly as long as its package);
//! - **listener to server**: [`TxReader`] decrypts `transmit()` (checking that queued bytes are
//!   never rewritten and that every package holds exactly one whole frame) and gives the
//!   observer the plaintext frames after `*key`.

use std::cell::RefCell;
use std::collections::HashMap;

use arbitrary::Unstructured;
use rtm_listen::crypto::{AesCfb, Bits, Curve, EphemeralKey, ServerPublicKey};
use rtm_listen::session::{Encryption, EncryptionMode};
use rtm_listen::wire::frame::{
    Frame, HEADER_LEN, MAX_FRAME_LEN, Status, parse_frame, parse_header,
};

use super::{Seg, SegData};
use crate::hex;
use crate::mp::{self, Tok};

/// The server's private scalar (the same on every curve; below every curve's order).
const SERVER_SCALAR: [u8; 20] = *b"rtm-listen fuzz srv!";
/// The listener's key-generator entropy: fixed, so that the ephemeral keys (and the server's
/// shared secrets) repeat from one exec to the next.
pub(super) const ENTROPY: [u8; 32] = *b"rtm-listen fuzz: fixed entropy!!";

/// What the input's header picks (after the plaintext target's `u32`): `cfg` (bits 0-2 the
/// curve: 0..=4 secp192r1, 5 secp224r1, 6 secp256k1, 7 secp256r1; bit 3 stream mode (else
/// package mode); bit 4 AES-256), then the `*key` answer policy of the first connection and
/// of the later ones ([`key_answer`]).
///
/// The listener's own key generation and ECDH (about 0.5 ms per connection on secp192r1 in a
/// fuzz build, 1.5 ms on secp256k1, 2.8 ms on secp256r1) are most of an exec's time, and the
/// session logic after the exchange does not depend on the curve: the cheapest curve is
/// picked five times in eight.
#[derive(Debug, Clone, Copy)]
pub(super) struct CryptoConfig {
    pub curve: Curve,
    pub mode: EncryptionMode,
    pub bits: Bits,
    pub policy: [u8; 2],
}

impl CryptoConfig {
    pub fn read(u: &mut Unstructured<'_>) -> Self {
        let cfg = u.arbitrary::<u8>().unwrap_or(0);
        let p0 = u.arbitrary::<u8>().unwrap_or(0);
        let p1 = u.arbitrary::<u8>().unwrap_or(0);
        Self {
            curve: match cfg & 7 {
                0..=4 => Curve::Secp192r1,
                5 => Curve::Secp224r1,
                6 => Curve::Secp256k1,
                _ => Curve::Secp256r1,
            },
            mode: if cfg & 8 != 0 {
                EncryptionMode::Stream
            } else {
                EncryptionMode::Package
            },
            bits: if cfg & 16 != 0 {
                Bits::Aes256
            } else {
                Bits::Aes128
            },
            policy: [p0, p1],
        }
    }

    /// The listener's configuration.
    pub fn encryption(&self) -> Encryption {
        Encryption::new(server_public(self.curve), self.mode, self.bits)
    }

    pub fn package(&self) -> bool {
        self.mode == EncryptionMode::Package
    }
}

/// (curve, the client's public key, bits): the key of a cached session.
type SessionId = (Curve, Vec<u8>, Bits);

thread_local! {
    static SERVER_KEYS: RefCell<HashMap<Curve, ServerPublicKey>> = RefCell::new(HashMap::new());
    /// (curve, client public key, bits) -> the session's keys.
    static SESSION_KEYS: RefCell<HashMap<SessionId, Keys>> =
        RefCell::new(HashMap::new());
}

fn server_key(curve: Curve) -> EphemeralKey {
    EphemeralKey::from_private_bytes(curve, &SERVER_SCALAR).expect("the server's scalar")
}

fn server_public(curve: Curve) -> ServerPublicKey {
    SERVER_KEYS.with(|m| {
        *m.borrow_mut().entry(curve).or_insert_with(|| {
            ServerPublicKey::from_raw(curve, server_key(curve).public_key())
                .expect("the server's public key")
        })
    })
}

/// The session's AES key and IV, as the server derives them from the client's public key.
#[derive(Clone)]
pub(super) struct Keys {
    key: Vec<u8>,
    iv: [u8; 16],
}

impl Keys {
    fn derive(curve: Curve, client: &[u8], bits: Bits) -> Self {
        SESSION_KEYS.with(|m| {
            m.borrow_mut()
                .entry((curve, client.to_vec(), bits))
                .or_insert_with(|| {
                    let client = ServerPublicKey::from_raw(curve, client)
                        .unwrap_or_else(|e| panic!("*key publicKey not on {curve:?}: {e:?}"));
                    let keys = server_key(curve)
                        .diffie_hellman(&client)
                        .expect("server-side ECDH")
                        .derive(bits);
                    Self {
                        key: keys.key().to_vec(),
                        iv: *keys.iv(),
                    }
                })
                .clone()
        })
    }

    pub fn cipher(&self) -> AesCfb {
        AesCfb::new(&self.key, &self.iv).expect("a 16- or 32-byte key")
    }
}

/// The `*key` quest the listener queued on `connected`, checked against the configuration.
pub(super) struct KeyQuest {
    pub seq: u32,
    /// Its length on the wire (plaintext, first in TX).
    pub len: usize,
    pub keys: Keys,
}

impl KeyQuest {
    /// Reads `*key` from `tx`, which must hold it and nothing else.
    pub fn read(tx: &[u8], cfg: &CryptoConfig) -> Self {
        let (seq, method, payload, len) = match parse_frame(tx, usize::MAX) {
            Ok(Status::Complete(
                Frame::Quest {
                    seq,
                    method,
                    payload,
                },
                n,
            )) => (seq, method, payload, n),
            other => panic!(
                "transmit after connected: {other:?} instead of *key: {}",
                hex(tx)
            ),
        };
        assert_eq!(method, b"*key", "the first frame is not *key");
        assert_eq!(
            len,
            tx.len(),
            "only *key goes before its answer: {}",
            hex(tx)
        );
        let seq = seq.expect("*key is a twoway quest");
        let mut b = payload;
        let mut next = || {
            let (t, n) = mp::token(b).unwrap_or_else(|e| panic!("*key payload {e:?}"));
            b = &b[n..];
            t
        };
        assert_eq!(next(), Tok::Map(3), "*key payload: {}", hex(payload));
        assert_eq!(next(), Tok::Str(b"publicKey"));
        let Tok::Bin(public) = next() else {
            panic!("*key publicKey is not bin: {}", hex(payload));
        };
        assert_eq!(public.len(), cfg.curve.point_len(), "publicKey length");
        assert_eq!(next(), Tok::Str(b"streamMode"));
        assert_eq!(
            next(),
            Tok::Bool(cfg.mode == EncryptionMode::Stream),
            "streamMode"
        );
        assert_eq!(next(), Tok::Str(b"bits"));
        assert_eq!(next(), Tok::UInt(u64::from(cfg.bits.bits())), "bits");
        assert!(b.is_empty(), "bytes after the *key payload");
        Self {
            seq,
            len,
            keys: Keys::derive(cfg.curve, public, cfg.bits),
        }
    }
}

/// The server's answer to `*key` under `policy` (0: OK `{}`), or `None`: the server stays
/// silent (the input's own answers may still reach it). `policy >> 5`: 0..=3 OK `{}`; 4 OK with
/// another payload (`{ts}`, a truncated map, none, `{code: 0}`); 5 an error answer (status 1..=3,
/// `{code, ex}` with code 200002, 20003, 10001 or 0, the last counting as OK); 6 an error with
/// an odd payload (`{}`, a string code, a truncated map, none); 7 silence.
pub(super) fn key_answer(seq: u32, policy: u8) -> Option<Vec<u8>> {
    let mut e = crate::enc::Enc::new();
    let sel = usize::from(policy & 3);
    let status = match policy >> 5 {
        0..=3 => {
            e.map(0, 0);
            0
        }
        4 => {
            match sel {
                0 => {
                    e.map(1, 0);
                    e.str(b"ts", 0);
                    e.int(super::UNIX_MS, 0);
                }
                1 => e.raw(&[0x81, 0xa4, b'c', b'o', b'd', b'e']),
                2 => {}
                _ => {
                    e.map(1, 0);
                    e.str(b"code", 0);
                    e.int(0, 0);
                }
            }
            0
        }
        5 => {
            e.map(2, 0);
            e.str(b"code", 0);
            e.int(
                [200_002, 20_003, 10_001, 0][usize::from(policy >> 2 & 3)],
                policy,
            );
            e.str(b"ex", 0);
            e.str(b"key refused", 0);
            1 + (policy & 3) % 3
        }
        6 => {
            match sel {
                0 => e.map(0, 0),
                1 => {
                    e.map(1, 0);
                    e.str(b"code", 0);
                    e.str(b"x", 0);
                }
                2 => e.raw(&[0x82, 0xa4, b'c', b'o']),
                _ => {}
            }
            1
        }
        _ => return None,
    };
    Some(crate::enc::frame(1, Some(seq), b"", Some(status), &e.out))
}

/// How one queued piece goes on the wire (the shape byte the input gives after each op that
/// queues server bytes; 0 is the plain case).
///
/// Below 0xe0: encrypted as the server does (package mode: the length, then the piece from the
/// IV). 0xe0..=0xe7: sent without encryption (package mode: after a correct length). Package
/// mode only: 0xe8..=0xef, split into two packages at a point the low bits pick (1, 4, 11, 12,
/// 13, 16, half, one before the end); 0xf0..=0xff, one package under a bogus length (0, 1, 11,
/// 12, the length -1, +1, -12, +16, 8 MiB, 8 MiB + 1, `u32::MAX`, 2 x the length, 64 KiB,
/// 4096, 17, or the length with the top byte set).
pub(super) fn shape(package: bool, shape: u8, bytes: Vec<u8>, zeros: usize) -> Vec<Seg> {
    let total = bytes.len() + zeros;
    if total == 0 {
        // Nothing to send (as in plaintext): no empty package.
        return Vec::new();
    }
    let prefix = |n: usize| Seg::raw(u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes().to_vec());
    let body = |b: Vec<u8>, z: usize, restart: bool| {
        let mut v = Vec::new();
        if !b.is_empty() {
            v.push(Seg {
                data: SegData::Bytes(b),
                restart,
                raw: false,
            });
        }
        if z > 0 {
            v.push(Seg {
                data: SegData::Zeros(z),
                restart: restart && v.is_empty(),
                raw: false,
            });
        }
        v
    };
    let mut out = Vec::new();
    match shape {
        0xe0..=0xe7 => {
            if package {
                out.push(prefix(total));
            }
            if !bytes.is_empty() {
                out.push(Seg::raw(bytes));
            }
            if zeros > 0 {
                out.push(Seg {
                    data: SegData::Zeros(zeros),
                    restart: false,
                    raw: true,
                });
            }
        }
        0xe8..=0xef if package && bytes.len() >= 2 => {
            let n = bytes.len();
            let at = [1, 4, 11, 12, 13, 16, n / 2, n - 1][usize::from(shape & 7)].clamp(1, n - 1);
            let (a, b) = bytes.split_at(at);
            out.push(prefix(at));
            out.extend(body(a.to_vec(), 0, true));
            out.push(prefix(total - at));
            out.extend(body(b.to_vec(), zeros, true));
        }
        0xf0..=0xff if package => {
            let len: u64 = match shape & 15 {
                0 => 0,
                1 => 1,
                2 => 11,
                3 => 12,
                4 => total as u64 - 1, // total >= 1
                5 => total as u64 + 1,
                6 => (total as u64).saturating_sub(12),
                7 => total as u64 + 16,
                8 => MAX_FRAME_LEN as u64,
                9 => MAX_FRAME_LEN as u64 + 1,
                10 => u64::from(u32::MAX),
                11 => 2 * total as u64,
                12 => 65_536,
                13 => 4096,
                14 => 17,
                _ => total as u64 | 0xff00_0000,
            };
            out.push(Seg::raw((len as u32).to_le_bytes().to_vec()));
            out.extend(body(bytes, zeros, true));
        }
        _ => {
            if package {
                out.push(prefix(total));
            }
            out.extend(body(bytes, zeros, package));
        }
    }
    out
}

/// The reference reader of an encrypted stream (reference §4.3): what the listener must make
/// of the bytes it accepted. Stream mode: one CFB stream. Package mode: a `u32` LE length `L`
/// (12 <= `L` <= 8 MiB, else the stream is broken), then `L` bytes decrypted from the IV; once
/// the first 12 bytes of a package's plaintext are there, a valid FPNN header whose frame is
/// not `L` bytes long breaks the stream (an invalid header is the frame reader's to report).
///
/// On a break, the plaintext of the package's bytes in the same call is withheld (the frame
/// reader never sees a header that the package contradicts) and nothing is read any more.
pub(super) struct Opener {
    cipher: AesCfb,
    package: bool,
    prefix: Vec<u8>,
    /// Bytes of the current package still to come, its length, and its plaintext so far (up
    /// to the header).
    left: usize,
    len: usize,
    head: Vec<u8>,
    pub broken: bool,
}

impl Opener {
    pub fn new(cipher: AesCfb, package: bool) -> Self {
        Self {
            cipher,
            package,
            prefix: Vec::new(),
            left: 0,
            len: 0,
            head: Vec::new(),
            broken: false,
        }
    }

    /// The plaintext the listener must take from `raw`, and whether the stream broke in it.
    pub fn open(&mut self, raw: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        if self.broken {
            return (out, false);
        }
        if !self.package {
            out.extend_from_slice(raw);
            self.cipher.decrypt(&mut out);
            return (out, false);
        }
        let mut rest = raw;
        while !rest.is_empty() {
            if self.left == 0 {
                let k = (4 - self.prefix.len()).min(rest.len());
                self.prefix.extend_from_slice(&rest[..k]);
                rest = &rest[k..];
                if self.prefix.len() == 4 {
                    let len = u32::from_le_bytes(self.prefix[..].try_into().unwrap()) as usize;
                    self.prefix.clear();
                    if !(HEADER_LEN..=MAX_FRAME_LEN).contains(&len) {
                        if super::trace() {
                            eprintln!("    (the stream breaks: a package of {len} bytes)");
                        }
                        self.broken = true;
                        return (out, true);
                    }
                    self.left = len;
                    self.len = len;
                    self.head.clear();
                    self.cipher.reset();
                }
                continue;
            }
            let k = self.left.min(rest.len());
            let mut part = rest[..k].to_vec();
            rest = &rest[k..];
            self.left -= k;
            self.cipher.decrypt(&mut part);
            if self.head.len() < HEADER_LEN {
                let h = (HEADER_LEN - self.head.len()).min(part.len());
                self.head.extend_from_slice(&part[..h]);
                if self.head.len() == HEADER_LEN
                    && let Ok(Status::Complete(header, _)) = parse_header(&self.head)
                    && header.frame_len() != self.len
                {
                    if super::trace() {
                        eprintln!(
                            "    (the stream breaks: a {}-byte frame in a {}-byte package)",
                            header.frame_len(),
                            self.len
                        );
                    }
                    self.broken = true;
                    return (out, true);
                }
            }
            out.extend_from_slice(&part);
        }
        (out, false)
    }
}

/// The server's reader of what the listener sends: every byte queued on the connection, the
/// plaintext frames after `*key`, and where each package's frame lies.
pub(super) struct TxReader {
    cipher: AesCfb,
    package: bool,
    /// Every byte queued on this connection (raw), how many the transport took, and how many
    /// were decrypted.
    raw: Vec<u8>,
    taken: usize,
    read: usize,
    key_len: usize,
    /// The plaintext frames after `*key`, and for each package (raw offset of its frame,
    /// plaintext offset, length).
    plain: Vec<u8>,
    bodies: Vec<(usize, usize, usize)>,
}

impl TxReader {
    /// A reader for a connection whose TX holds `key` (the `*key` quest) so far.
    pub fn new(cipher: AesCfb, package: bool, key: &[u8]) -> Self {
        Self {
            cipher,
            package,
            raw: key.to_vec(),
            taken: 0,
            read: key.len(),
            key_len: key.len(),
            plain: Vec::new(),
            bodies: Vec::new(),
        }
    }

    /// Whether the transport took all of the `*key` quest.
    pub fn key_taken(&self) -> bool {
        self.taken >= self.key_len
    }

    /// Brings the reader up to date with `queued` (what `transmit()` holds now); returns the
    /// plaintext of what is queued after `*key`.
    pub fn sync(&mut self, queued: &[u8]) -> Vec<u8> {
        let known = &self.raw[self.taken..];
        assert!(
            queued.starts_with(known),
            "queued transmit bytes changed: had {}, now {}",
            hex(known),
            hex(queued)
        );
        let new = queued[known.len()..].to_vec();
        self.raw.extend_from_slice(&new);
        if self.package {
            while self.read < self.raw.len() {
                let rest = &self.raw[self.read..];
                assert!(
                    rest.len() >= 4,
                    "a partial package prefix queued: {}",
                    hex(rest)
                );
                let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
                assert!(
                    rest.len() >= 4 + len,
                    "a partial package queued ({len} bytes announced, {} there)",
                    rest.len() - 4
                );
                let mut body = rest[4..4 + len].to_vec();
                self.cipher.reset();
                self.cipher.decrypt(&mut body);
                match parse_frame(&body, usize::MAX) {
                    Ok(Status::Complete(_, n)) if n == len => {}
                    other => panic!(
                        "a package of {len} bytes does not hold one frame: {other:?} in {}",
                        hex(&body)
                    ),
                }
                self.bodies.push((self.read + 4, self.plain.len(), len));
                self.plain.extend_from_slice(&body);
                self.read += 4 + len;
            }
        } else {
            let mut b = self.raw[self.read..].to_vec();
            self.cipher.decrypt(&mut b);
            self.plain.extend_from_slice(&b);
            self.read = self.raw.len();
        }
        self.plain[self.plain_taken()..].to_vec()
    }

    /// The transport took `k` more bytes.
    pub fn take(&mut self, k: usize) {
        self.taken += k;
        assert!(self.taken <= self.raw.len());
    }

    /// Plaintext bytes after `*key` that the transport took whole (of a package, the part of
    /// its frame taken).
    pub fn plain_taken(&self) -> usize {
        if !self.package {
            return self.taken.saturating_sub(self.key_len);
        }
        let mut n = 0;
        for &(raw_at, _, len) in &self.bodies {
            if self.taken <= raw_at {
                break;
            }
            n += len.min(self.taken - raw_at);
        }
        n
    }
}
