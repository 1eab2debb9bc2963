//! The one DER structure a server public key comes in: an X.509 SubjectPublicKeyInfo with
//! `id-ecPublicKey` and a named curve (RFC 5480 §2):
//!
//! ```text
//! SEQUENCE {
//!   SEQUENCE { OBJECT IDENTIFIER id-ecPublicKey, OBJECT IDENTIFIER namedCurve }
//!   BIT STRING { 0 unused bits, ECPoint }
//! }
//! ```
//!
//! A borrowed reader over the input: no allocation, no copies.

use super::params::Curve;
use super::public_key::KeyError;

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;

/// The content bytes of id-ecPublicKey, 1.2.840.10045.2.1.
pub(crate) const ID_EC_PUBLIC_KEY: [u8; 7] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// Splits one TLV with tag `tag` from the start of `input`: its content and the rest. Lengths
/// of up to two bytes (64 KiB) are accepted, which covers any public key.
fn tlv(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), KeyError> {
    let [t, l0, rest @ ..] = input else {
        return Err(KeyError::BadDer);
    };
    if *t != tag {
        return Err(KeyError::BadDer);
    }
    let (len, rest) = match *l0 {
        l @ 0..=0x7f => (usize::from(l), rest),
        0x81 => match rest {
            [l, rest @ ..] => (usize::from(*l), rest),
            [] => return Err(KeyError::BadDer),
        },
        0x82 => match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
            _ => return Err(KeyError::BadDer),
        },
        _ => return Err(KeyError::BadDer),
    };
    if len > rest.len() {
        return Err(KeyError::BadDer);
    }
    Ok(rest.split_at(len))
}

/// Whether `bytes` is exactly one SEQUENCE TLV: its tag and its declared length span all of
/// it. How [`ServerPublicKey::parse`](super::ServerPublicKey::parse) tells DER from raw bytes
/// that merely start with `0x30`.
pub(crate) fn is_whole_sequence(bytes: &[u8]) -> bool {
    matches!(tlv(bytes, SEQUENCE), Ok((_, rest)) if rest.is_empty())
}

/// The curve and the encoded point (`04 || X || Y` when well formed; checked by the caller) of
/// a DER SubjectPublicKeyInfo that spans all of `der`.
pub(crate) fn parse_spki(der: &[u8]) -> Result<(Curve, &[u8]), KeyError> {
    let (spki, trailing) = tlv(der, SEQUENCE)?;
    if !trailing.is_empty() {
        return Err(KeyError::BadDer);
    }
    let (alg, rest) = tlv(spki, SEQUENCE)?;
    let (bits, rest) = tlv(rest, BIT_STRING)?;
    if !rest.is_empty() {
        return Err(KeyError::BadDer);
    }
    let (alg_oid, params) = tlv(alg, OID)?;
    if alg_oid != ID_EC_PUBLIC_KEY {
        return Err(KeyError::NotEcKey);
    }
    // The parameters: a named curve's OID. Explicit parameters (a SEQUENCE) or an
    // implicitlyCA NULL name no curve this engine knows.
    let curve_oid = match params.first() {
        Some(&OID) => {
            let (oid, rest) = tlv(params, OID)?;
            if !rest.is_empty() {
                return Err(KeyError::BadDer);
            }
            oid
        }
        Some(_) => return Err(KeyError::UnknownCurve),
        None => return Err(KeyError::BadDer),
    };
    let curve = Curve::from_oid(curve_oid).ok_or(KeyError::UnknownCurve)?;
    match bits {
        [0, point @ ..] => Ok((curve, point)),
        _ => Err(KeyError::BadDer),
    }
}

/// Skips the tag and length of one element with tag `tag`, whether or not its content is all
/// in `input`: the rest of `input`.
fn enter(input: &[u8], tag: u8) -> Option<&[u8]> {
    match input {
        [t, l, rest @ ..] if *t == tag => match *l {
            0..=0x7f => Some(rest),
            0x81 => rest.get(1..),
            0x82 => rest.get(2..),
            _ => None,
        },
        _ => None,
    }
}

/// Why the first bytes of a SubjectPublicKeyInfo too long to parse whole cannot be a key of the
/// four curves: [`KeyError::NotEcKey`] for another algorithm (an RSA key, say),
/// [`KeyError::UnknownCurve`] for another curve (secp521r1, or explicit parameters), and
/// [`KeyError::TooLong`] when the start does not tell.
pub(crate) fn classify_prefix(prefix: &[u8]) -> KeyError {
    let alg = enter(prefix, SEQUENCE).and_then(|spki| enter(spki, SEQUENCE));
    let Some(Ok((alg_oid, params))) = alg.map(|a| tlv(a, OID)) else {
        return KeyError::TooLong;
    };
    if alg_oid != ID_EC_PUBLIC_KEY {
        return KeyError::NotEcKey;
    }
    match tlv(params, OID) {
        Ok((oid, _)) if Curve::from_oid(oid).is_some() => KeyError::TooLong,
        Ok(_) => KeyError::UnknownCurve,
        Err(_) if params.first().is_some_and(|&t| t != OID) => KeyError::UnknownCurve,
        Err(_) => KeyError::TooLong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 SPKI header (26 bytes) before the 65-byte point.
    const P256_HEAD: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];

    fn p256_spki() -> Vec<u8> {
        let mut v = P256_HEAD.to_vec();
        v.push(0x04);
        v.extend_from_slice(&[0x11; 64]);
        v
    }

    #[test]
    fn the_structure_is_read() {
        let der = p256_spki();
        let (curve, point) = parse_spki(&der).unwrap();
        assert_eq!(curve, Curve::Secp256r1);
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 0x04);
    }

    #[test]
    fn each_fault_has_its_error() {
        let good = p256_spki();
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(parse_spki(&trailing), Err(KeyError::BadDer));
        assert_eq!(parse_spki(&good[..good.len() - 1]), Err(KeyError::BadDer));
        assert_eq!(parse_spki(&[]), Err(KeyError::BadDer));
        let mut rsa = good.clone();
        rsa[12] = 0x05; // 1.2.840.10045.2.5: not id-ecPublicKey
        assert_eq!(parse_spki(&rsa), Err(KeyError::NotEcKey));
        let mut curve = good.clone();
        curve[22] = 0x08; // 1.2.840.10045.3.1.8: no such curve here
        assert_eq!(parse_spki(&curve), Err(KeyError::UnknownCurve));
        let mut unused_bits = good.clone();
        unused_bits[25] = 1;
        assert_eq!(parse_spki(&unused_bits), Err(KeyError::BadDer));
        let mut long_form = good.clone();
        long_form.splice(1..2, [0x81, 0x59]);
        assert!(parse_spki(&long_form).is_ok(), "0x81 length form");
        let mut bad_len_form = good;
        bad_len_form[1] = 0x83;
        assert_eq!(parse_spki(&bad_len_form), Err(KeyError::BadDer));
    }

    #[test]
    fn prefixes_of_long_keys_are_classified() {
        // rsaEncryption (1.2.840.113549.1.1.1), the start of a 2048-bit key.
        let rsa = [
            0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82,
        ];
        assert_eq!(classify_prefix(&rsa), KeyError::NotEcKey);
        // id-ecPublicKey on secp521r1 (1.3.132.0.35).
        let p521 = [
            0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
            0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86,
        ];
        assert_eq!(classify_prefix(&p521), KeyError::UnknownCurve);
        // Explicit parameters (a SEQUENCE instead of the curve's OID).
        let explicit = [
            0x30, 0x82, 0x01, 0x4b, 0x30, 0x82, 0x01, 0x03, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
            0x3d, 0x02, 0x01, 0x30, 0x81, 0xf7,
        ];
        assert_eq!(classify_prefix(&explicit), KeyError::UnknownCurve);
        // A known curve that is somehow long, or bytes that say nothing.
        assert_eq!(classify_prefix(&P256_HEAD), KeyError::TooLong);
        assert_eq!(classify_prefix(&[0x30, 0x82]), KeyError::TooLong);
        assert_eq!(classify_prefix(&[]), KeyError::TooLong);
    }
}
