//! The client's side of the `*key` exchange (reference §4.1, §4.2): an ephemeral key pair on
//! the server's curve, the shared secret, and the AES key and IV derived from it.
//!
//! ```text
//! secret = X coordinate of (client private · server public)      n bytes
//! key    = secret[0..16]                                          bits 128
//!        = secret if n = 32, SHA-256(secret) otherwise            bits 256
//! iv     = MD5(secret)
//! ```
//!
//! Nothing here draws randomness: the host supplies entropy bytes. Private scalars, secrets and
//! keys live in fixed arrays that are zeroized on drop, and no `Debug` output shows them.

#[cfg(any(test, not(rtm_opt_size)))]
use md5::Md5;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::aes_cfb::{AesCfb, BLOCK_LEN};
use super::ec;
use super::params::{Bits, Curve, MAX_COORD_LEN, MAX_POINT_LEN};
use super::public_key::ServerPublicKey;

/// How many candidate scalars [`EphemeralKey::generate`] tries before giving up. A candidate
/// is out of range with probability below 2^-32 (secp256r1; far less on the other curves), so
/// running out means the arithmetic is broken, not bad luck.
const MAX_CANDIDATES: u8 = 16;

/// Domain separation for the scalar derivation.
const DERIVE_TAG: &[u8] = b"rtm-listen fpnn ecdh scalar";

/// Why a key pair or a shared secret could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EcdhError {
    /// The curve's `fpnn-ecdh-*` feature is not compiled into this build.
    CurveNotCompiled(Curve),
    /// Fewer entropy bytes than the curve's scalar length were supplied.
    ShortEntropy {
        /// Bytes needed: the curve's [`coord_len`](Curve::coord_len).
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// A fixed private key that is zero, not below the group order, or longer than the curve's
    /// scalar.
    InvalidPrivateKey,
    /// No valid scalar could be derived from the entropy (does not happen with a working
    /// arithmetic: see [`EphemeralKey::generate`]).
    NoScalar,
    /// The server's key is on another curve than the ephemeral key.
    CurveMismatch {
        /// The ephemeral key's curve.
        ours: Curve,
        /// The server key's curve.
        theirs: Curve,
    },
}

impl EcdhError {
    /// A static description, for logs that do without `core::fmt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CurveNotCompiled(_) => "curve not compiled in",
            Self::ShortEntropy { .. } => "not enough entropy for an ephemeral key",
            Self::InvalidPrivateKey => "invalid private key",
            Self::NoScalar => "no valid scalar derived from the entropy",
            Self::CurveMismatch { .. } => "server key on another curve",
        }
    }
}

impl core::fmt::Display for EcdhError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::CurveNotCompiled(c) => write!(f, "curve {c} is not compiled in"),
            Self::ShortEntropy { needed, got } => {
                write!(f, "{got} entropy bytes, {needed} needed")
            }
            Self::CurveMismatch { ours, theirs } => {
                write!(f, "server key on {theirs}, ephemeral key on {ours}")
            }
            other => f.write_str(other.as_str()),
        }
    }
}

impl core::error::Error for EcdhError {}

/// The client's ephemeral key pair for one connection's `*key` handshake.
///
/// The private scalar is zeroized on drop and never shown by `Debug`; the public key is
/// [`public_key`](Self::public_key), the `publicKey` of the `*key` quest.
pub struct EphemeralKey {
    curve: Curve,
    scalar: [u8; MAX_COORD_LEN],
    public: [u8; MAX_POINT_LEN],
}

impl EphemeralKey {
    /// A key pair from host entropy: at least [`coord_len`](Curve::coord_len) bytes (32 for
    /// the 256-bit curves) from a cryptographically secure generator.
    ///
    /// When exactly `n` bytes are given and they are a valid scalar (non-zero, below the group
    /// order), they are the private key. Otherwise candidate `i` (from 0) is the first `n`
    /// bytes of `SHA-256(tag || i || entropy)`, and the first valid one is the key. At most 16
    /// candidates are tried, so this never loops for long; a failure of all of them is reported
    /// as [`EcdhError::NoScalar`] rather than a panic.
    pub fn generate(curve: Curve, entropy: &[u8]) -> Result<Self, EcdhError> {
        let n = curve.coord_len();
        if !curve.is_compiled() {
            return Err(EcdhError::CurveNotCompiled(curve));
        }
        if entropy.len() < n {
            return Err(EcdhError::ShortEntropy {
                needed: n,
                got: entropy.len(),
            });
        }
        if entropy.len() == n
            && let Ok(key) = Self::from_private_bytes(curve, entropy)
        {
            return Ok(key);
        }
        for i in 0..MAX_CANDIDATES {
            let mut h = Sha256::new()
                .chain_update(DERIVE_TAG)
                .chain_update([i])
                .chain_update(entropy)
                .finalize();
            let key = Self::from_private_bytes(curve, &h[..n]);
            h.zeroize();
            if let Ok(key) = key {
                return Ok(key);
            }
        }
        Err(EcdhError::NoScalar)
    }

    /// A key pair from a fixed private scalar, big-endian, at most `n` bytes (shorter input is
    /// read as left-padded with zeros: `[0x22, 0x22]` is the scalar 0x2222). For tests and
    /// known-answer vectors; use [`generate`](Self::generate) for a connection.
    pub fn from_private_bytes(curve: Curve, scalar: &[u8]) -> Result<Self, EcdhError> {
        let n = curve.coord_len();
        let Some(pad) = n.checked_sub(scalar.len()) else {
            return Err(EcdhError::InvalidPrivateKey);
        };
        let mut key = Self {
            curve,
            scalar: [0; MAX_COORD_LEN],
            public: [0; MAX_POINT_LEN],
        };
        key.scalar[pad..n].copy_from_slice(scalar);
        match ec::public_key(curve, &key.scalar[..n], &mut key.public) {
            Err(ec::NotCompiled) => Err(EcdhError::CurveNotCompiled(curve)),
            Ok(false) => Err(EcdhError::InvalidPrivateKey),
            Ok(true) => Ok(key),
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The public key as the `*key` quest sends it: `X || Y`, `2n` bytes, no `0x04` prefix.
    pub fn public_key(&self) -> &[u8] {
        &self.public[..self.curve.point_len()]
    }

    /// The shared secret with `server`: the X coordinate of `private · server`.
    pub fn diffie_hellman(&self, server: &ServerPublicKey) -> Result<SharedSecret, EcdhError> {
        if server.curve() != self.curve {
            return Err(EcdhError::CurveMismatch {
                ours: self.curve,
                theirs: server.curve(),
            });
        }
        let n = self.curve.coord_len();
        let mut secret = SharedSecret {
            len: n,
            bytes: [0; MAX_COORD_LEN],
        };
        match ec::shared_x(
            self.curve,
            &self.scalar[..n],
            server.xy(),
            &mut secret.bytes,
        ) {
            Err(ec::NotCompiled) => Err(EcdhError::CurveNotCompiled(self.curve)),
            // Both inputs were validated when they were made.
            Ok(false) => Err(EcdhError::InvalidPrivateKey),
            Ok(true) => Ok(secret),
        }
    }
}

impl Drop for EphemeralKey {
    fn drop(&mut self) {
        self.scalar.zeroize();
    }
}

impl ZeroizeOnDrop for EphemeralKey {}

impl core::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EphemeralKey")
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

/// The ECDH shared secret, `n` bytes. Zeroized on drop; `Debug` shows only its length.
pub struct SharedSecret {
    len: usize,
    bytes: [u8; MAX_COORD_LEN],
}

impl SharedSecret {
    /// The secret bytes (the X coordinate). Handle with care: never log them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The AES key and IV for `bits` (reference §4.1).
    pub fn derive(&self, bits: Bits) -> SessionKeys {
        let secret = self.as_bytes();
        let mut key = [0u8; 32];
        match bits {
            Bits::Aes128 => key[..16].copy_from_slice(&secret[..16]),
            Bits::Aes256 if secret.len() == 32 => key.copy_from_slice(secret),
            Bits::Aes256 => {
                let mut h = Sha256::digest(secret);
                key.copy_from_slice(&h);
                h.zeroize();
            }
        }
        // Size builds hash with the signatures' compact MD5 (one MD5 in the firmware).
        #[cfg(not(rtm_opt_size))]
        let mut iv: [u8; 16] = Md5::digest(secret).into();
        #[cfg(rtm_opt_size)]
        let mut iv = {
            let mut h = crate::rtm::digest::Compact::new();
            h.update(secret);
            h.finalize()
        };
        let keys = SessionKeys { bits, key, iv };
        iv.zeroize();
        key.zeroize();
        keys
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for SharedSecret {}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedSecret")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The AES key and IV of a connection. Zeroized on drop; `Debug` shows only the key size.
pub struct SessionKeys {
    bits: Bits,
    key: [u8; 32],
    iv: [u8; BLOCK_LEN],
}

impl SessionKeys {
    /// The key size.
    pub fn bits(&self) -> Bits {
        self.bits
    }

    /// The AES key, 16 or 32 bytes. Handle with care: never log it.
    pub fn key(&self) -> &[u8] {
        &self.key[..self.bits.key_len()]
    }

    /// The IV, `MD5(secret)`. Secret too (it derives from the secret and is never sent).
    pub fn iv(&self) -> &[u8; BLOCK_LEN] {
        &self.iv
    }

    /// A fresh AES-CFB-128 state at the start of the stream. Make one per direction.
    pub fn cipher(&self) -> AesCfb {
        match self.bits {
            Bits::Aes128 => {
                let mut k = [0u8; 16];
                k.copy_from_slice(&self.key[..16]);
                let c = AesCfb::new_128(&k, &self.iv);
                k.zeroize();
                c
            }
            Bits::Aes256 => AesCfb::new_256(&self.key, &self.iv),
        }
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.key.zeroize();
        self.iv.zeroize();
    }
}

impl ZeroizeOnDrop for SessionKeys {}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("bits", &self.bits.bits())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "fpnn-ecdh-secp256k1")]
    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn derivation_rules() {
        // A 24-byte secret (secp192r1): 128 takes 16 bytes, 256 hashes.
        let s = SharedSecret {
            len: 24,
            bytes: {
                let mut b = [0u8; 32];
                b[..24].copy_from_slice(&[7; 24]);
                b
            },
        };
        let k128 = s.derive(Bits::Aes128);
        assert_eq!(k128.key(), &[7; 16]);
        let k256 = s.derive(Bits::Aes256);
        assert_eq!(k256.key(), &Sha256::digest([7u8; 24])[..]);
        assert_eq!(k128.iv(), &<[u8; 16]>::from(Md5::digest([7u8; 24])));
        assert_eq!(k128.iv(), k256.iv());
        assert_eq!(k128.cipher().bits(), Bits::Aes128);
        assert_eq!(k256.cipher().bits(), Bits::Aes256);
    }

    #[test]
    fn debug_shows_no_secrets() {
        let s = SharedSecret {
            len: 32,
            bytes: [0xAB; 32],
        };
        assert_eq!(format!("{s:?}"), "SharedSecret { len: 32, .. }");
        let k = s.derive(Bits::Aes256);
        assert_eq!(format!("{k:?}"), "SessionKeys { bits: 256, .. }");
        assert!(!format!("{k:?}").to_lowercase().contains("ab"));
    }

    #[cfg(feature = "fpnn-ecdh-secp256k1")]
    #[test]
    fn example_8_from_the_reference() {
        let client = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x22, 0x22]).unwrap();
        assert_eq!(
            client.public_key(),
            &hex(
                "e5740e63bad28081ed7cf654dd6c19029ca03382fc05ab5f5dda81f2c55b845b\
                 8dc1cf3a30ac29acf910275efd2ed6eb6511cfbeefd753804f664ede1eb2ff80"
            )[..]
        );
        let server = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x11, 0x11]).unwrap();
        let server = ServerPublicKey::from_raw(Curve::Secp256k1, server.public_key()).unwrap();
        let secret = client.diffie_hellman(&server).unwrap();
        assert_eq!(
            secret.as_bytes(),
            &hex("8dfad71b3cee1e572ddf644d7f7cfad9698f72746d1f5bd17ac62042fa320b17")[..]
        );
        let keys = secret.derive(Bits::Aes128);
        assert_eq!(keys.iv(), &hex("77950d5df08e7942e36b973b0b3b43b4")[..]);
        assert_eq!(
            format!("{client:?}"),
            "EphemeralKey { curve: Secp256k1, .. }"
        );
    }

    #[cfg(feature = "fpnn-ecdh-secp256k1")]
    #[test]
    fn scalar_validity_and_entropy() {
        let c = Curve::Secp256k1;
        assert_eq!(
            EphemeralKey::from_private_bytes(c, &[0; 32]).err(),
            Some(EcdhError::InvalidPrivateKey)
        );
        assert_eq!(
            EphemeralKey::from_private_bytes(c, &[0xff; 32]).err(),
            Some(EcdhError::InvalidPrivateKey),
            "above the order"
        );
        assert_eq!(
            EphemeralKey::from_private_bytes(c, &[1; 33]).err(),
            Some(EcdhError::InvalidPrivateKey)
        );
        assert_eq!(
            EphemeralKey::generate(c, &[1; 31]).err(),
            Some(EcdhError::ShortEntropy {
                needed: 32,
                got: 31
            })
        );
        // A valid 32-byte scalar is used as is.
        let direct = EphemeralKey::generate(c, &[1; 32]).unwrap();
        let fixed = EphemeralKey::from_private_bytes(c, &[1; 32]).unwrap();
        assert_eq!(direct.public_key(), fixed.public_key());
        // Zero, and all-ones (above the order), are re-hashed into valid keys, deterministically.
        for bad in [[0u8; 32], [0xff; 32]] {
            let a = EphemeralKey::generate(c, &bad).unwrap();
            let b = EphemeralKey::generate(c, &bad).unwrap();
            assert_eq!(a.public_key(), b.public_key());
        }
        // Longer entropy is always hashed, and all of it counts.
        let a = EphemeralKey::generate(c, &[1; 40]).unwrap();
        let mut other = [1u8; 40];
        other[39] = 2;
        let b = EphemeralKey::generate(c, &other).unwrap();
        assert_ne!(a.public_key(), b.public_key());
    }

    #[cfg(all(feature = "fpnn-ecdh-secp256k1", feature = "fpnn-ecdh-secp256r1"))]
    #[test]
    fn curves_must_match() {
        let ours = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[3]).unwrap();
        let other = EphemeralKey::from_private_bytes(Curve::Secp256r1, &[3]).unwrap();
        let theirs = ServerPublicKey::from_raw(Curve::Secp256r1, other.public_key()).unwrap();
        assert_eq!(
            ours.diffie_hellman(&theirs).err(),
            Some(EcdhError::CurveMismatch {
                ours: Curve::Secp256k1,
                theirs: Curve::Secp256r1
            })
        );
    }

    #[cfg(feature = "encryption")]
    #[test]
    fn both_sides_agree_on_every_curve() {
        for c in Curve::ALL {
            let a = EphemeralKey::generate(c, &[0x5a; 40]).unwrap();
            let b = EphemeralKey::generate(c, &[0xa5; 40]).unwrap();
            assert_eq!(a.public_key().len(), c.point_len());
            let pa = ServerPublicKey::from_raw(c, a.public_key()).unwrap();
            let pb = ServerPublicKey::from_raw(c, b.public_key()).unwrap();
            let s1 = a.diffie_hellman(&pb).unwrap();
            let s2 = b.diffie_hellman(&pa).unwrap();
            assert_eq!(s1.as_bytes(), s2.as_bytes());
            assert_eq!(s1.as_bytes().len(), c.coord_len());
        }
    }

    #[cfg(not(feature = "fpnn-ecdh-secp224r1"))]
    #[test]
    fn a_curve_not_compiled_in_is_reported() {
        assert_eq!(
            EphemeralKey::generate(Curve::Secp224r1, &[1; 32]).err(),
            Some(EcdhError::CurveNotCompiled(Curve::Secp224r1))
        );
    }
}
