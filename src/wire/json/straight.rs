//! Straight-line lexing for the scans that expect one key order (`rtm::info::straight`).
//!
//! Each function reads a token at the start of `rest`, the bytes not yet read, and returns
//! the bytes after it: a cursor of two registers, as the exact scanner's. Strings are read
//! eight bytes at a time while eight remain and a byte at a time after that, so nothing is
//! read past the end or shifted; expected keys are compared as whole byte patterns. Only
//! compact text is taken: a blank where a token is expected gives up (`None`), as does
//! anything the functions of `fast` give up on. What they take they take exactly as the exact
//! scanner does: strings with escapes are finished by the exact scanner's own `string_tail`,
//! and numbers other than short plain integers, and nested containers, by the out-of-line
//! functions of `fast`. Property tests compare them with the exact scanner.
//!
//! Speed builds only (size builds keep the exact scanner alone).

use super::fast::{FAIL, container, digits, number_slow};
use super::{RawStr, special_mask, string_special, string_tail};

/// `rest` starts with `pat`: the bytes after it.
#[inline(always)]
pub(crate) fn lit<'a, const N: usize>(rest: &'a [u8], pat: &[u8; N]) -> Option<&'a [u8]> {
    match rest.split_first_chunk::<N>() {
        Some((w, tail)) if w == pat => Some(tail),
        _ => None,
    }
}

/// The string whose content starts `body` (just after its opening quote): the string and the
/// bytes after its closing quote.
#[inline(always)]
pub(crate) fn string(body: &[u8]) -> Option<(RawStr<'_>, &[u8])> {
    let mut scan = body;
    let at = loop {
        match scan.split_first_chunk::<8>() {
            Some((w, tail)) => {
                let m = special_mask(u64::from_le_bytes(*w));
                if m != 0 {
                    break (body.len() - scan.len()) + (m.trailing_zeros() / 8) as usize;
                }
                scan = tail;
            }
            None => {
                // Fewer than eight bytes: one at a time (a loop of its own, always inlined).
                let mut n = 0;
                while let Some(&b) = scan.get(n) {
                    if string_special(b) {
                        break;
                    }
                    n += 1;
                }
                break (body.len() - scan.len()) + n;
            }
        }
    };
    match body.split_at_checked(at) {
        Some((raw, [b'"', rest @ ..])) => Some((
            RawStr {
                raw,
                escaped: false,
            },
            rest,
        )),
        Some((_, from @ [b'\\', ..])) => string_tail(0, body, from).ok(),
        _ => None,
    }
}

/// The number at the start of `rest` (no blanks before it), as `fast::number` reads it: its
/// integer as [`super::Value::as_i64`] reads it (0 if it has none) and the bytes after it.
/// Up to seven plain digits are read at once from a word, or one at a time within eight bytes
/// of the end; anything else by [`number_other`].
#[inline(always)]
pub(crate) fn number(rest: &[u8]) -> Option<(i64, &[u8])> {
    let Some(w) = rest.first_chunk::<8>() else {
        return short_number(rest);
    };
    let (n, x) = digits(u64::from_le_bytes(*w));
    if n == 0 {
        return number_other(rest);
    }
    let mut v = x << (8 * (8 - n));
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
    Some((v as i64, rest.get(n as usize..)?))
}

/// [`number`] within eight bytes of the end: plain digits (at most seven, so no overflow) one
/// at a time.
#[inline(always)]
fn short_number(rest: &[u8]) -> Option<(i64, &[u8])> {
    let mut v = 0i64;
    let mut n = 0;
    while let Some(&b) = rest.get(n) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + i64::from(d);
        n += 1;
    }
    match rest.split_at_checked(n) {
        // No leading zero (unless alone), and no fraction or exponent.
        Some((digits @ [first, ..], tail))
            if (*first != b'0' || digits.len() == 1)
                && !matches!(tail, [b'.' | b'e' | b'E', ..]) =>
        {
            Some((v, tail))
        }
        _ => number_other(rest),
    }
}

/// [`number`] for what is not up to seven plain digits, on `fast`'s byte-at-a-time reader.
#[inline(never)]
fn number_other(rest: &[u8]) -> Option<(i64, &[u8])> {
    match number_slow(rest, 0) {
        (FAIL, _) => None,
        (end, int) => Some((int, rest.get(end..)?)),
    }
}

/// [`number`] without the value: the bytes after the number.
#[inline(always)]
fn number_end(rest: &[u8]) -> Option<&[u8]> {
    let Some(w) = rest.first_chunk::<8>() else {
        return short_number(rest).map(|(_, tail)| tail);
    };
    match digits(u64::from_le_bytes(*w)) {
        (0, _) => number_other(rest).map(|(_, tail)| tail),
        (n, _) => rest.get(n as usize..),
    }
}

/// The container at the start of `rest`, nested at most `max_depth` deep, read by `fast`'s
/// general loop: the bytes after it.
#[inline(never)]
fn nested(rest: &[u8], max_depth: usize) -> Option<&[u8]> {
    match container(rest, 0, max_depth) {
        FAIL => None,
        end => rest.get(end..),
    }
}

/// Skips the value at the start of `rest` (no blanks before it), nested at most `max_depth`
/// deep: the bytes after it. A compact object of scalars is read here, any other container
/// by `fast`'s general loop.
#[inline(always)]
pub(crate) fn skip(rest: &[u8], max_depth: usize) -> Option<&[u8]> {
    match rest {
        [b'"', body @ ..] => Some(string(body)?.1),
        [b'{', ..] if max_depth > 0 => match flat(rest) {
            Some(tail) => Some(tail),
            None => nested(rest, max_depth),
        },
        [b'{' | b'[', ..] => nested(rest, max_depth),
        [b't', ..] => lit(rest, b"true"),
        [b'f', ..] => lit(rest, b"false"),
        [b'n', ..] => lit(rest, b"null"),
        _ => number_end(rest),
    }
}

/// A compact object of scalars (like `{"k":1}`) at the start of `rest`: the bytes after it;
/// `None` for anything else (which the general loop then reads from the start).
#[inline(always)]
fn flat(rest: &[u8]) -> Option<&[u8]> {
    let mut rest = match rest {
        [b'{', b'}', tail @ ..] => return Some(tail),
        [b'{', tail @ ..] => tail,
        _ => return None,
    };
    loop {
        let [b'"', body @ ..] = rest else {
            return None;
        };
        let [b':', value @ ..] = string(body)?.1 else {
            return None;
        };
        rest = match value {
            [b'"', body @ ..] => string(body)?.1,
            [b't', ..] => lit(value, b"true")?,
            [b'f', ..] => lit(value, b"false")?,
            [b'n', ..] => lit(value, b"null")?,
            [b'-' | b'0'..=b'9', ..] => number_end(value)?,
            _ => return None,
        };
        rest = match rest {
            [b',', tail @ ..] => tail,
            [b'}', tail @ ..] => return Some(tail),
            _ => return None,
        };
    }
}

/// The members of an object after the ones a straight scan read, from the start of `rest` (the
/// `,` before the next member, or the closing `}`), compact; their values are skipped
/// ([`skip`], nested at most `max_depth` deep). Gives up on a key among `wanted` (raw text;
/// the caller reads those) and on a key with escapes unless `escaped_ok` (for keys compared by
/// raw text, which an escaped key never equals). The bytes after the `}`.
#[inline(always)]
pub(crate) fn rest_members<'a, const N: usize>(
    mut rest: &'a [u8],
    max_depth: usize,
    wanted: &[&[u8]; N],
    escaped_ok: bool,
) -> Option<&'a [u8]> {
    loop {
        let body = match rest {
            [b'}', tail @ ..] => return Some(tail),
            [b',', b'"', body @ ..] => body,
            _ => return None,
        };
        let (key, tail) = string(body)?;
        if (key.escaped && !escaped_ok) || is_wanted(wanted, key.raw) {
            return None;
        }
        let [b':', value @ ..] = tail else {
            return None;
        };
        rest = skip(value, max_depth)?;
    }
}

/// Whether `key` is one of `wanted` (a loop of its own, unrolled: each compare is a length
/// and then the bytes of one known length).
#[inline(always)]
fn is_wanted<const N: usize>(wanted: &[&[u8]; N], key: &[u8]) -> bool {
    let mut k = 0;
    while k < N {
        if let Some(&w) = wanted.get(k)
            && w.len() == key.len()
            && w == key
        {
            return true;
        }
        k += 1;
    }
    false
}

/// Whether only blanks are left.
#[inline(always)]
pub(crate) fn at_end(rest: &[u8]) -> bool {
    rest.is_empty()
        || rest
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::super::tests::text_gen;
    use super::super::{Cursor, MAX_DEPTH, Value};
    use super::*;
    use proptest::prelude::*;

    /// The exact scanner's value at the start of `text`, and the bytes after it.
    fn exact_value(text: &[u8]) -> Option<(Value<'_>, &[u8])> {
        let mut c = Cursor::new(text);
        let v = c.value(MAX_DEPTH).ok()?;
        Some((v, c.rest))
    }

    #[test]
    fn tokens() {
        let (s, rest) = string(b"ab\\u0063d\"x").expect("string");
        assert_eq!(
            (s.raw(), s.has_escapes(), rest),
            (&b"ab\\u0063d"[..], true, &b"x"[..])
        );
        assert_eq!(string(b"abc"), None, "unterminated");
        assert_eq!(string(b"a\nb\""), None, "control byte");
        assert_eq!(string(b"0123456789\\x\""), None, "bad escape");
        assert_eq!(number(b"5120,"), Some((5120, &b","[..])));
        assert_eq!(number(b"23456}"), Some((23456, &b"}"[..])));
        assert_eq!(number(b"12345678901}"), Some((12_345_678_901, &b"}"[..])));
        assert_eq!(number(b"-7}"), Some((-7, &b"}"[..])));
        assert_eq!(number(b"1.5}"), Some((0, &b"}"[..])));
        for bad in [&b"01}"[..], b"00", b"-", b"1.", b"1e", b"x", b"", b" 1"] {
            assert_eq!(number(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(skip(b"{\"k\":1}}", MAX_DEPTH), Some(&b"}"[..]));
        assert_eq!(skip(b"{\"k\":[1]}}", MAX_DEPTH), Some(&b"}"[..]));
        assert_eq!(skip(b"{\"k\":1}", 0), None, "too deep");
        assert_eq!(
            rest_members(b",\"a\":1,\"b\":\"x\"}", MAX_DEPTH, &[b"c"], false),
            Some(&b""[..])
        );
        assert_eq!(
            rest_members(b",\"a\":1,\"c\":2}", MAX_DEPTH, &[b"c"], false),
            None,
            "a wanted key"
        );
        assert_eq!(
            rest_members(b",\"\\u0063\":2}", MAX_DEPTH, &[b"c"], true),
            Some(&b""[..])
        );
        assert_eq!(
            rest_members(b",\"\\u0063\":2}", MAX_DEPTH, &[b"c"], false),
            None
        );
        assert_eq!(rest_members(b", \"a\":1}", MAX_DEPTH, &[], true), None);
        assert_eq!(rest_members(b",\"a\":1,}", MAX_DEPTH, &[], true), None);
        assert!(at_end(b" \n") && at_end(b"") && !at_end(b" x"));
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2048,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever the straight-line lexer takes, the exact scanner reads the same way: the
        /// same value, the same integer, the same bytes after it.
        #[test]
        fn straight_lexing_agrees_with_the_exact_scanner(text in text_gen::text()) {
            let exact = exact_value(&text);
            if let Some(rest) = skip(&text, MAX_DEPTH) {
                prop_assert_eq!(exact.map(|e| e.1), Some(rest));
            }
            if let Some((int, rest)) = number(&text) {
                let (v, after) = exact.expect("a number the exact scanner takes");
                prop_assert!(matches!(v, Value::Number(_)));
                prop_assert_eq!((v.as_i64().unwrap_or(0), after), (int, rest));
            }
            if let [b'"', body @ ..] = &text[..] {
                let got = string(body);
                match exact {
                    Some((Value::Str(s), after)) => prop_assert_eq!(got, Some((s, after))),
                    _ => prop_assert_eq!(got, None),
                }
            }
        }

        /// And it takes the compact values the exact scanner takes, and no malformed one.
        #[test]
        fn straight_lexing_takes_compact_values(text in text_gen::value()) {
            let compact: String = text.split('"').enumerate().map(|(k, part)| {
                // Blanks outside strings removed (a `"` inside a string is escaped, `\"`,
                // which this split does not see as the end: such texts are left as they are).
                if k % 2 == 0 { part.replace([' ', '\n', '\t', '\r'], "") } else { part.to_string() }
            }).collect::<Vec<_>>().join("\"");
            let text = if text.contains("\\\"") { text } else { compact };
            let exact = exact_value(text.as_bytes()).map(|e| e.1);
            let straight = skip(text.as_bytes(), MAX_DEPTH);
            if !text.as_bytes().starts_with(b" ") {
                prop_assert_eq!(straight, exact);
            }
        }
    }
}
