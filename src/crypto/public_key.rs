//! The server's public key: parsed from raw `X || Y`, DER or PEM, and checked to be a point on
//! its curve before any secret touches it.
//!
//! The forms (reference §4.1, `fpnn-gate/README.md`):
//!
//! - raw: `X || Y`, big-endian, `2n` bytes, optionally after the uncompressed-point prefix
//!   `0x04` (what FPNN's `eccKeyMaker` writes to `NAME-public.key`); the curve must be named;
//! - DER: an X.509 SubjectPublicKeyInfo with `id-ecPublicKey` and a named curve, which gives the
//!   curve (what `openssl ec -pubout -outform DER` writes);
//! - PEM: the DER in `-----BEGIN PUBLIC KEY-----` armor (`openssl ec -pubout`).

use super::der;
use super::ec;
use super::params::{Curve, MAX_POINT_LEN};
use super::pem;

/// The longest DER a PEM body may decode to: room for the longest named-curve key of the four
/// curves (91 bytes, secp256r1) with a margin.
pub const MAX_DER_LEN: usize = 128;

/// Why bytes are not a usable server public key. Each cause has its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum KeyError {
    /// The point is neither `2n` bytes (`X || Y`) nor `2n + 1` bytes starting with `0x04`:
    /// not a key for this curve. Carries the curve's `2n` and the length given.
    WrongLength {
        /// The raw length the curve needs, `2n` (one more is accepted with the `0x04` prefix).
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// `2n + 1` bytes whose first byte is not `0x04`, the uncompressed-point prefix (the byte
    /// is given; `0x02`/`0x03` would be a compressed point, which FPNN does not use).
    NotUncompressed(u8),
    /// The coordinates are not a point on the curve (or a coordinate is not below the field
    /// prime).
    NotOnCurve,
    /// A SubjectPublicKeyInfo whose algorithm is not `id-ecPublicKey` (an RSA or Ed25519 key,
    /// for example).
    NotEcKey,
    /// An EC key whose named-curve OID is none of the four FPNN curves, or with explicit curve
    /// parameters instead of a named curve.
    UnknownCurve,
    /// The key is on a curve whose `fpnn-ecdh-*` feature is not compiled into this build.
    CurveNotCompiled(Curve),
    /// No `-----BEGIN PUBLIC KEY-----` … `-----END PUBLIC KEY-----` block, or a body that is not
    /// canonical base64.
    BadPem,
    /// The PEM body decodes to more than [`MAX_DER_LEN`] bytes, more than any key of the four
    /// curves takes, and its start names no other algorithm or curve.
    TooLong,
    /// Bytes that are not the DER structure of a SubjectPublicKeyInfo (a bad tag or length,
    /// trailing bytes, unused bits in the key's BIT STRING).
    BadDer,
}

impl KeyError {
    /// A static description, for logs that do without `core::fmt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::WrongLength { .. } => "public key of the wrong length for its curve",
            Self::NotUncompressed(_) => "public key is not an uncompressed point",
            Self::NotOnCurve => "public key is not a point on its curve",
            Self::NotEcKey => "public key is not an EC key",
            Self::UnknownCurve => "public key on an unknown curve",
            Self::CurveNotCompiled(_) => "public key on a curve not compiled in",
            Self::BadPem => "malformed PEM public key",
            Self::TooLong => "PEM public key too long",
            Self::BadDer => "malformed DER public key",
        }
    }
}

impl core::fmt::Display for KeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::WrongLength { expected, got } => write!(
                f,
                "public key of {got} bytes, {expected} (or {} with 0x04) expected",
                expected + 1
            ),
            Self::NotUncompressed(b) => write!(f, "public key prefix 0x{b:02x}, 0x04 expected"),
            Self::CurveNotCompiled(c) => write!(f, "curve {c} is not compiled in"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl core::error::Error for KeyError {}

/// A server public key: a curve and a point on it, validated.
///
/// Not secret: `Debug` shows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ServerPublicKey {
    curve: Curve,
    xy: [u8; MAX_POINT_LEN],
}

impl ServerPublicKey {
    /// From a raw point on `curve`: `X || Y` (`2n` bytes) or `0x04 || X || Y`.
    pub fn from_raw(curve: Curve, raw: &[u8]) -> Result<Self, KeyError> {
        let expected = curve.point_len();
        let xy = if raw.len() == expected {
            raw
        } else if raw.len() == expected + 1 {
            match raw {
                [0x04, xy @ ..] => xy,
                [b, ..] => return Err(KeyError::NotUncompressed(*b)),
                [] => return Err(KeyError::WrongLength { expected, got: 0 }),
            }
        } else {
            return Err(KeyError::WrongLength {
                expected,
                got: raw.len(),
            });
        };
        match ec::is_on_curve(curve, xy) {
            Err(ec::NotCompiled) => Err(KeyError::CurveNotCompiled(curve)),
            Ok(false) => Err(KeyError::NotOnCurve),
            Ok(true) => {
                let mut key = Self {
                    curve,
                    xy: [0; MAX_POINT_LEN],
                };
                key.xy[..expected].copy_from_slice(xy);
                Ok(key)
            }
        }
    }

    /// From a DER SubjectPublicKeyInfo (`id-ecPublicKey`, named curve, uncompressed point);
    /// the curve is the one it names.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let (curve, point) = der::parse_spki(der)?;
        if !curve.is_compiled() {
            return Err(KeyError::CurveNotCompiled(curve));
        }
        // The BIT STRING holds the SEC 1 encoding, which always has its prefix byte.
        if point.len() == curve.point_len() + 1 {
            Self::from_raw(curve, point)
        } else {
            Err(KeyError::WrongLength {
                expected: curve.point_len(),
                got: point.len().saturating_sub(1),
            })
        }
    }

    /// From PEM text (`-----BEGIN PUBLIC KEY-----`, the DER of [`from_der`](Self::from_der) in
    /// base64). Text around the block is ignored. Decodes on the stack, into at most
    /// [`MAX_DER_LEN`] bytes; a longer key is still told apart by its start: another algorithm
    /// is [`KeyError::NotEcKey`], another curve [`KeyError::UnknownCurve`], anything else
    /// [`KeyError::TooLong`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let mut buf = [0u8; MAX_DER_LEN];
        match pem::decode(pem, &mut buf) {
            Ok(der) => Self::from_der(der),
            Err(KeyError::TooLong) => Err(der::classify_prefix(&buf)),
            Err(e) => Err(e),
        }
    }

    /// From any of the three forms, told apart by their shape: PEM if it contains the
    /// `-----BEGIN` armor; raw on `curve` if it has a raw length; DER if it is one whole
    /// SEQUENCE (its tag `0x30` and its declared length span all of it); otherwise raw on
    /// `curve`, so raw bytes of a wrong length that happen to start with `0x30` are still
    /// [`KeyError::WrongLength`]. Without a curve, bytes starting with `0x30` are read as DER
    /// and anything else is [`KeyError::BadDer`].
    ///
    /// The raw lengths (48, 49, 56, 57, 64, 65) are never the length of a named-curve DER key of
    /// the four curves (75, 80, 88, 91), so the choice is unambiguous for well-formed input.
    pub fn parse(bytes: &[u8], curve: Option<Curve>) -> Result<Self, KeyError> {
        if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            return Self::from_pem(bytes);
        }
        let raw_len = |c: Curve| bytes.len() == c.point_len() || bytes.len() == c.point_len() + 1;
        match curve {
            Some(c) if raw_len(c) => Self::from_raw(c, bytes),
            Some(_) if der::is_whole_sequence(bytes) => Self::from_der(bytes),
            Some(c) => Self::from_raw(c, bytes),
            None if bytes.first() == Some(&0x30) => Self::from_der(bytes),
            None => Err(KeyError::BadDer),
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The point as on the wire: `X || Y`, `2n` bytes, no prefix.
    pub fn xy(&self) -> &[u8] {
        &self.xy[..self.curve.point_len()]
    }
}

impl core::fmt::Debug for ServerPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct Hex<'a>(&'a [u8]);
        impl core::fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
        f.debug_struct("ServerPublicKey")
            .field("curve", &self.curve)
            .field("xy", &Hex(self.xy()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// secp256k1's generator G, a point on the curve.
    const G_K1: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
                        483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn raw_lengths_and_prefix() {
        let c = Curve::Secp256k1;
        assert_eq!(
            ServerPublicKey::from_raw(c, &[0; 63]),
            Err(KeyError::WrongLength {
                expected: 64,
                got: 63
            })
        );
        assert_eq!(
            ServerPublicKey::from_raw(c, &[0; 33]),
            Err(KeyError::WrongLength {
                expected: 64,
                got: 33
            })
        );
        let mut prefixed = vec![0x02];
        prefixed.extend_from_slice(&[0; 64]);
        assert_eq!(
            ServerPublicKey::from_raw(c, &prefixed),
            Err(KeyError::NotUncompressed(0x02))
        );
    }

    #[cfg(feature = "fpnn-ecdh-secp256k1")]
    #[test]
    fn raw_point_on_and_off_the_curve() {
        let g = hex(G_K1);
        let k = ServerPublicKey::from_raw(Curve::Secp256k1, &g).unwrap();
        assert_eq!(k.xy(), &g[..]);
        let mut prefixed = vec![0x04];
        prefixed.extend_from_slice(&g);
        assert_eq!(
            ServerPublicKey::from_raw(Curve::Secp256k1, &prefixed),
            Ok(k)
        );
        assert_eq!(ServerPublicKey::parse(&g, Some(Curve::Secp256k1)), Ok(k));
        let mut off = g.clone();
        off[63] ^= 1;
        assert_eq!(
            ServerPublicKey::from_raw(Curve::Secp256k1, &off),
            Err(KeyError::NotOnCurve)
        );
        // X = p (not below the prime), with G's Y.
        let mut big = hex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
        big.extend_from_slice(&g[32..]);
        assert_eq!(
            ServerPublicKey::from_raw(Curve::Secp256k1, &big),
            Err(KeyError::NotOnCurve)
        );
        let dbg = format!("{k:?}");
        assert!(dbg.starts_with("ServerPublicKey { curve: Secp256k1, xy: 79be667e"));
    }

    #[cfg(not(feature = "fpnn-ecdh-secp192r1"))]
    #[test]
    fn a_curve_not_compiled_in_is_reported() {
        assert_eq!(
            ServerPublicKey::from_raw(Curve::Secp192r1, &[1; 48]),
            Err(KeyError::CurveNotCompiled(Curve::Secp192r1))
        );
    }

    #[test]
    fn raw_bytes_starting_like_der_are_still_raw() {
        // One raw key in 256 starts with the SEQUENCE tag; a wrong length must still say so
        // (CI once drew such a key from the gate).
        let mut short = [0x11u8; 63];
        short[0] = 0x30;
        for c in [Curve::Secp256k1, Curve::Secp256r1] {
            assert_eq!(
                ServerPublicKey::parse(&short, Some(c)),
                Err(KeyError::WrongLength {
                    expected: 64,
                    got: 63
                })
            );
        }
        // A whole SEQUENCE is still read as DER, with DER's errors.
        let mut seq = [0u8; 77];
        seq[0] = 0x30;
        seq[1] = 75;
        assert_eq!(
            ServerPublicKey::parse(&seq, Some(Curve::Secp256k1)),
            Err(KeyError::BadDer)
        );
        assert_eq!(ServerPublicKey::parse(&short, None), Err(KeyError::BadDer));
    }

    #[test]
    fn parse_without_a_curve_needs_der_or_pem() {
        assert_eq!(
            ServerPublicKey::parse(&[0x11; 64], None),
            Err(KeyError::BadDer)
        );
    }

    #[test]
    fn error_texts() {
        let e = KeyError::WrongLength {
            expected: 64,
            got: 3,
        };
        assert_eq!(
            e.to_string(),
            "public key of 3 bytes, 64 (or 65 with 0x04) expected"
        );
        assert_eq!(
            KeyError::CurveNotCompiled(Curve::Secp224r1).to_string(),
            "curve secp224r1 is not compiled in"
        );
        assert_eq!(KeyError::BadPem.to_string(), KeyError::BadPem.as_str());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            for c in Curve::ALL {
                let _ = ServerPublicKey::from_raw(c, &bytes);
                let _ = ServerPublicKey::parse(&bytes, Some(c));
            }
            let _ = ServerPublicKey::from_der(&bytes);
            let _ = ServerPublicKey::from_pem(&bytes);
            let _ = ServerPublicKey::parse(&bytes, None);
        }

        #[test]
        fn random_pem_bodies_never_panic(body in "[A-Za-z0-9+/=\r\n -]{0,200}") {
            let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
            let _ = ServerPublicKey::from_pem(pem.as_bytes());
        }

        #[test]
        fn mutated_der_never_panics(
            idx in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            // A P-256 SPKI around secp256k1's G (not on P-256; parsing still exercises the tree).
            let mut der = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
            der.push(0x04);
            der.extend_from_slice(&hex(G_K1));
            let i = idx.index(der.len());
            der[i] = byte;
            let cut = cut.index(der.len() + 1);
            let _ = ServerPublicKey::from_der(&der[..cut]);
        }
    }
}
