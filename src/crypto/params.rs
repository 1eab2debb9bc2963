//! The two parameters both peers must agree on: the server's curve and the AES key size.

/// One of the four curves an FPNN server can be configured with (reference §4.1).
///
/// Every curve exists in every build that has the `fpnn-encryption` feature; its arithmetic is
/// compiled in only with its own feature (`fpnn-ecdh-secp256k1`, …): see [`Curve::is_compiled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Curve {
    /// secp256k1 (SEC 2), 32-byte coordinates. OID 1.3.132.0.10.
    Secp256k1,
    /// secp256r1, a.k.a. NIST P-256 or prime256v1, 32-byte coordinates. OID 1.2.840.10045.3.1.7.
    Secp256r1,
    /// secp224r1, a.k.a. NIST P-224, 28-byte coordinates. OID 1.3.132.0.33.
    Secp224r1,
    /// secp192r1, a.k.a. NIST P-192 or prime192v1, 24-byte coordinates. OID 1.2.840.10045.3.1.1.
    Secp192r1,
}

/// The longest coordinate of any curve (secp256k1, secp256r1), in bytes.
pub const MAX_COORD_LEN: usize = 32;
/// The longest raw public key `X || Y` of any curve, in bytes.
pub const MAX_POINT_LEN: usize = 2 * MAX_COORD_LEN;

impl Curve {
    /// The four curves, in the order of the reference.
    pub const ALL: [Curve; 4] = [
        Curve::Secp256k1,
        Curve::Secp256r1,
        Curve::Secp224r1,
        Curve::Secp192r1,
    ];

    /// Bytes in one coordinate, in a scalar and in the shared secret: 32, 32, 28 or 24.
    pub const fn coord_len(self) -> usize {
        match self {
            Self::Secp256k1 | Self::Secp256r1 => 32,
            Self::Secp224r1 => 28,
            Self::Secp192r1 => 24,
        }
    }

    /// Bytes in a raw public key on the wire, `X || Y` without the `0x04` prefix: `2 * coord_len`.
    pub const fn point_len(self) -> usize {
        2 * self.coord_len()
    }

    /// The name FPNN's configuration and key files use: `secp256k1`, `secp256r1`, `secp224r1`,
    /// `secp192r1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Secp256k1 => "secp256k1",
            Self::Secp256r1 => "secp256r1",
            Self::Secp224r1 => "secp224r1",
            Self::Secp192r1 => "secp192r1",
        }
    }

    /// Parses a curve name, ASCII case-insensitively: the FPNN names of [`Curve::as_str`], and
    /// the aliases OpenSSL and NIST use (`prime256v1`, `P-256`, `P-224`, `prime192v1`, `P-192`).
    /// `None` for any other name.
    pub fn from_name(name: &str) -> Option<Curve> {
        const NAMES: [(&str, Curve); 9] = [
            ("secp256k1", Curve::Secp256k1),
            ("secp256r1", Curve::Secp256r1),
            ("prime256v1", Curve::Secp256r1),
            ("P-256", Curve::Secp256r1),
            ("secp224r1", Curve::Secp224r1),
            ("P-224", Curve::Secp224r1),
            ("secp192r1", Curve::Secp192r1),
            ("prime192v1", Curve::Secp192r1),
            ("P-192", Curve::Secp192r1),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, c)| c)
    }

    /// The content bytes of the curve's named-curve OID as DER encodes it (without the `06`
    /// tag and length), as found in a SubjectPublicKeyInfo's algorithm parameters.
    pub const fn oid(self) -> &'static [u8] {
        match self {
            // 1.3.132.0.10
            Self::Secp256k1 => &[0x2b, 0x81, 0x04, 0x00, 0x0a],
            // 1.2.840.10045.3.1.7
            Self::Secp256r1 => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            // 1.3.132.0.33
            Self::Secp224r1 => &[0x2b, 0x81, 0x04, 0x00, 0x21],
            // 1.2.840.10045.3.1.1
            Self::Secp192r1 => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01],
        }
    }

    /// The curve whose OID content bytes are `oid` (see [`Curve::oid`]); `None` for any other
    /// OID.
    pub fn from_oid(oid: &[u8]) -> Option<Curve> {
        Self::ALL.into_iter().find(|c| c.oid() == oid)
    }

    /// Whether this build has the curve's arithmetic (its `fpnn-ecdh-*` feature). Without it,
    /// keys on this curve are refused with a `CurveNotCompiled` error.
    pub const fn is_compiled(self) -> bool {
        match self {
            Self::Secp256k1 => cfg!(feature = "fpnn-ecdh-secp256k1"),
            Self::Secp256r1 => cfg!(feature = "fpnn-ecdh-secp256r1"),
            Self::Secp224r1 => cfg!(feature = "fpnn-ecdh-secp224r1"),
            Self::Secp192r1 => cfg!(feature = "fpnn-ecdh-secp192r1"),
        }
    }
}

impl core::fmt::Display for Curve {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The AES key size, the `bits` of the `*key` quest. The server closes the connection on any
/// other value, so the type has only these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Bits {
    /// AES-128: the key is the first 16 bytes of the shared secret. The C++ SDK's default.
    Aes128,
    /// AES-256 ("reinforce"): the key is the 32-byte secret itself, or SHA-256 of a shorter one.
    Aes256,
}

impl Bits {
    /// 128 or 256, as sent in the `*key` quest.
    pub const fn bits(self) -> u16 {
        match self {
            Self::Aes128 => 128,
            Self::Aes256 => 256,
        }
    }

    /// The AES key length in bytes: 16 or 32.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// `Some` for 128 and 256, `None` for anything else.
    pub const fn from_bits(bits: u64) -> Option<Bits> {
        match bits {
            128 => Some(Self::Aes128),
            256 => Some(Self::Aes256),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_names_and_oids_round_trip() {
        let lens: [usize; 4] = Curve::ALL.map(Curve::coord_len);
        assert_eq!(lens, [32, 32, 28, 24]);
        for c in Curve::ALL {
            assert_eq!(c.point_len(), 2 * c.coord_len());
            assert!(c.point_len() <= MAX_POINT_LEN);
            assert_eq!(Curve::from_name(c.as_str()), Some(c));
            assert_eq!(Curve::from_name(&c.as_str().to_uppercase()), Some(c));
            assert_eq!(Curve::from_oid(c.oid()), Some(c));
            assert_eq!(format!("{c}"), c.as_str());
        }
        assert_eq!(Curve::from_name("prime256v1"), Some(Curve::Secp256r1));
        assert_eq!(Curve::from_name("prime192v1"), Some(Curve::Secp192r1));
        assert_eq!(Curve::from_name("secp384r1"), None);
        assert_eq!(Curve::from_name(""), None);
        // secp384r1's OID, and a prefix of secp256r1's.
        assert_eq!(Curve::from_oid(&[0x2b, 0x81, 0x04, 0x00, 0x22]), None);
        assert_eq!(Curve::from_oid(&Curve::Secp256r1.oid()[..7]), None);
    }

    #[test]
    fn bits() {
        assert_eq!(Bits::from_bits(128), Some(Bits::Aes128));
        assert_eq!(Bits::from_bits(256), Some(Bits::Aes256));
        assert_eq!(Bits::from_bits(192), None);
        assert_eq!(Bits::Aes128.key_len(), 16);
        assert_eq!(Bits::Aes256.key_len(), 32);
        assert_eq!(Bits::Aes256.bits(), 256);
    }
}
