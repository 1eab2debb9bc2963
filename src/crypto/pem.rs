//! PEM armor (RFC 7468) around a public key: `-----BEGIN PUBLIC KEY-----`, a base64 body,
//! `-----END PUBLIC KEY-----`, decoded into a caller's buffer.

use super::public_key::KeyError;

const BEGIN: &[u8] = b"-----BEGIN PUBLIC KEY-----";
const END: &[u8] = b"-----END PUBLIC KEY-----";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes the body of the first `PUBLIC KEY` block in `pem` into `out` and returns the DER
/// bytes. Text before the block and after it is ignored (OpenSSL writes explanatory text and
/// other blocks around keys); whitespace inside the body is skipped.
///
/// Errors: [`KeyError::BadPem`] without the two armor lines in order, with a character outside
/// base64, misplaced or excess padding, or non-canonical trailing bits; [`KeyError::TooLong`]
/// when the body is valid but decodes to more than `out` holds (`out` then holds its start).
pub(crate) fn decode<'o>(pem: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], KeyError> {
    let start = find(pem, BEGIN).ok_or(KeyError::BadPem)? + BEGIN.len();
    let body = &pem[start..];
    let body = &body[..find(body, END).ok_or(KeyError::BadPem)?];

    let (mut acc, mut nbits, mut chars, mut pad, mut len) = (0u32, 0u32, 0usize, 0usize, 0usize);
    for &c in body {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            pad += 1;
            continue;
        }
        if pad > 0 {
            return Err(KeyError::BadPem);
        }
        let v = sextet(c).ok_or(KeyError::BadPem)?;
        chars += 1;
        acc = (acc << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            let byte = (acc >> nbits) as u8;
            acc &= (1 << nbits) - 1;
            if let Some(slot) = out.get_mut(len) {
                *slot = byte;
            }
            len += 1;
        }
    }
    // Complete quanta, at most two '=', none after a full quantum, and zero leftover bits.
    let canonical = (chars + pad) % 4 == 0 && pad <= 2 && chars % 4 != 1 && acc == 0;
    if !canonical || len == 0 {
        return Err(KeyError::BadPem);
    }
    out.get(..len).ok_or(KeyError::TooLong)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(pem: &str) -> Result<Vec<u8>, KeyError> {
        let mut buf = [0u8; 16];
        decode(pem.as_bytes(), &mut buf).map(<[u8]>::to_vec)
    }

    fn wrap(body: &str) -> String {
        format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (b64, plain) in [
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9v\r\nYmFy", "foobar"),
        ] {
            assert_eq!(dec(&wrap(b64)).unwrap(), plain.as_bytes(), "{b64}");
        }
        let with_text = format!("explanatory text\n{}trailer", wrap("Zm9v"));
        assert_eq!(dec(&with_text).unwrap(), b"foo");
    }

    #[test]
    fn malformed_armor_and_bodies_are_bad_pem() {
        for pem in [
            String::new(),
            "Zm9v".into(),
            "-----BEGIN PUBLIC KEY-----\nZm9v\n".into(),
            "-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nZm9v\n".into(),
            "-----BEGIN EC PRIVATE KEY-----\nZm9v\n-----END EC PRIVATE KEY-----\n".into(),
            wrap(""),
            wrap("Zm9"),
            wrap("Z"),
            wrap("Zm9v="),
            wrap("Zg=a"),
            wrap("Zg==="),
            wrap("Zh=="),
            wrap("Zm9*"),
        ] {
            assert_eq!(dec(&pem), Err(KeyError::BadPem), "{pem:?}");
        }
        assert_eq!(dec(&wrap(&"QUFB".repeat(6))), Err(KeyError::TooLong));
        // Validity is checked to the end even past the buffer.
        assert_eq!(
            dec(&wrap(&format!("{}*AAA", "QUFB".repeat(6)))),
            Err(KeyError::BadPem)
        );
        let mut buf = [0u8; 4];
        let long = wrap("QUJDREVG");
        assert_eq!(decode(long.as_bytes(), &mut buf), Err(KeyError::TooLong));
        assert_eq!(&buf, b"ABCD", "the start is kept");
    }
}
