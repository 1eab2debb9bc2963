//! The fast path of the scanner: the lexing under the keyed scanners of `rtm::info`.
//!
//! Index-based and word-at-a-time over the whole text `s`. A byte past the end reads as
//! zero, which no token, blank or string takes, so the end needs no separate checks; a word
//! within eight bytes of the end is the text's last eight bytes shifted down. Every function
//! gives up (`None`, or [`FAIL`] from the out-of-line ones, which return plain integers so
//! that the inlined code keeps its values in registers) on what it does not take: malformed
//! text, and also a leading zero or a key the caller does not want twice. The caller then
//! runs the exact scanner, which decides and reports the error. What these functions accept
//! they accept exactly as the exact scanner does: the same strings (escapes are checked by
//! the exact scanner's own `string_tail`), numbers, literals, blanks and nesting limit.
//! Property tests compare them.
//!
//! Speed builds only (size builds keep the exact scanner alone).

use super::{RawStr, Value, special_mask, string_tail};

/// What the out-of-line functions return for "not taken".
pub(crate) const FAIL: usize = usize::MAX;

/// `Some(i)` unless `i` is [`FAIL`].
#[inline(always)]
fn taken(i: usize) -> Option<usize> {
    (i != FAIL).then_some(i)
}

/// The byte at `i`; zero past the end.
#[inline(always)]
pub(crate) fn byte(s: &[u8], i: usize) -> u8 {
    match s.get(i) {
        Some(&b) => b,
        None => 0,
    }
}

/// The eight bytes from `i` on, little-endian; bytes past the end read as zero.
#[inline(always)]
pub(crate) fn word(s: &[u8], i: usize) -> u64 {
    match s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => u64::from_le_bytes(*w),
        None => word_tail(s, i),
    }
}

/// [`word`] within eight bytes of the end: the text's last eight bytes, shifted down.
#[inline(always)]
fn word_tail(s: &[u8], i: usize) -> u64 {
    // Fewer than 8 bytes from `i` on (none when `i` is past the end).
    let n = s.len().saturating_sub(i);
    match s.last_chunk::<8>() {
        Some(w) if n > 0 => u64::from_le_bytes(*w) >> (8 * (8 - n)),
        Some(_) => 0,
        None => short_word(s.get(i..).unwrap_or(&[])),
    }
}

/// A text shorter than eight bytes: its bytes from some point on, as a zero-padded word.
#[cold]
fn short_word(rest: &[u8]) -> u64 {
    rest.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b))
}

/// The first byte from `i` on that is not a blank, and its index (zero past the end).
#[inline(always)]
pub(crate) fn next(s: &[u8], i: usize) -> (u8, usize) {
    let b = byte(s, i);
    if b > b' ' { (b, i) } else { after_blanks(s, i) }
}

/// [`next`] at a byte up to a space: blanks are skipped (compact JSON has none).
#[cold]
#[inline(never)]
fn after_blanks(s: &[u8], mut i: usize) -> (u8, usize) {
    loop {
        let b = byte(s, i);
        if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            return (b, i);
        }
        i += 1;
    }
}

/// Whether nothing but blanks follows index `i`.
#[inline(always)]
pub(crate) fn at_end(s: &[u8], i: usize) -> bool {
    i >= s.len() || after_blanks(s, i).1 >= s.len()
}

/// The index after the `{` that starts `s` (after blanks).
#[inline(always)]
pub(crate) fn open(s: &[u8]) -> Option<usize> {
    match next(s, 0) {
        (b'{', i) => Some(i + 1),
        _ => None,
    }
}

/// A string found by the fast functions: the indices of its content and whether it has
/// escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Str {
    /// First byte of the content (after the opening quote).
    pub(crate) at: usize,
    /// The closing quote.
    pub(crate) end: usize,
    pub(crate) escaped: bool,
}

impl Str {
    /// A place holder: no text, no escapes.
    pub(crate) const PLAIN: Self = Self {
        at: 0,
        end: 0,
        escaped: false,
    };

    /// The string in `s`, the text it was found in.
    #[inline(always)]
    pub(crate) fn get(self, s: &[u8]) -> RawStr<'_> {
        RawStr {
            raw: s.get(self.at..self.end).unwrap_or_default(),
            escaped: self.escaped,
        }
    }
}

/// The value of a string with escapes whose raw text (between its quotes, already checked by
/// the fast functions) is `raw`, unescaped into `scratch`.
#[cfg(not(rtm_opt_size))]
#[inline(never)]
pub(crate) fn decode_escaped<'a>(
    raw: &'a [u8],
    scratch: &mut super::Scratch<'a>,
) -> Result<&'a [u8], super::JsonError> {
    RawStr { raw, escaped: true }.value(scratch)
}

/// The string whose content starts at `i` (just after its opening quote).
#[inline(always)]
pub(crate) fn string(s: &[u8], i: usize) -> Option<Str> {
    let body = s.get(i..)?;
    let mut rest = body;
    // Plain bytes eight at a time, then the last few (zeros past the end are special).
    let at = loop {
        let (m, whole) = match rest.split_first_chunk::<8>() {
            Some((w, _)) => (special_mask(u64::from_le_bytes(*w)), true),
            None => (special_mask(word_tail(s, s.len() - rest.len())), false),
        };
        if m != 0 || !whole {
            break body.len() - rest.len() + (m.trailing_zeros() / 8) as usize;
        }
        rest = rest.get(8..)?;
    };
    let end = i + at;
    if byte(s, end) == b'"' {
        return Some(Str {
            at: i,
            end,
            escaped: false,
        });
    }
    let end = taken(string_escaped(s, i, end))?;
    Some(Str {
        at: i,
        end,
        escaped: true,
    })
}

/// The rest of a string from its first special byte `j` (a backslash, or an error), read by
/// the exact scanner: the index of its closing quote.
#[inline(never)]
fn string_escaped(s: &[u8], i: usize, j: usize) -> usize {
    if byte(s, j) != b'\\' {
        return FAIL;
    }
    match (s.get(i..), s.get(j..)) {
        (Some(body), Some(from)) => match string_tail(0, body, from) {
            Ok((raw, _)) => i + raw.raw.len(),
            Err(_) => FAIL,
        },
        _ => FAIL,
    }
}

/// The digits of the word `w` as the fast path of [`number`] takes them: their count (1 to 7,
/// without sign, leading zero, fraction or exponent), or 0 for the slow path; and the word of
/// digit values.
#[inline(always)]
pub(super) fn digits(w: u64) -> (u32, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = w ^ (ONES * u64::from(b'0'));
    // The high bit of each byte that is not a digit (a carry only goes above one that is not).
    let other = (x.wrapping_add(ONES * 0x76) | x) & (ONES * 0x80);
    let n = other.trailing_zeros() / 8;
    let after = (w >> (8 * (n & 7))) as u8;
    if n == 0 || n == 8 || (n > 1 && w as u8 == b'0') || matches!(after, b'.' | b'e' | b'E') {
        return (0, x);
    }
    (n, x)
}

/// The index after the number starting at `i` ([`number`] without its value).
#[inline(always)]
fn number_end(s: &[u8], i: usize) -> Option<usize> {
    match digits(word(s, i)) {
        (0, _) => taken(number_slow(s, i).0),
        (n, _) => Some(i + n as usize),
    }
}

/// The number starting at `i`: the index after it, and its value as [`Value::as_i64`] reads
/// it, 0 if it has none (a fraction, an exponent, or out of range). Up to seven digits
/// without sign, fraction or exponent are read at once from one word.
#[inline(always)]
pub(crate) fn number(s: &[u8], i: usize) -> Option<(usize, i64)> {
    let (n, x) = digits(word(s, i));
    if n == 0 {
        let (end, int) = number_slow(s, i);
        return Some((taken(end)?, int));
    }
    // The n digit values shifted to the top (the first, most significant, lowest), zeros
    // below; then pairs, quads and the eight are combined.
    let mut v = x << (8 * (8 - n));
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
    Some((i + n as usize, v as i64))
}

/// [`number`] a byte at a time: a sign, a leading zero, eight digits or more, a fraction or
/// an exponent. The end is [`FAIL`] if there is no number.
#[inline(never)]
pub(super) fn number_slow(s: &[u8], i: usize) -> (usize, i64) {
    let neg = byte(s, i) == b'-';
    let start = i + usize::from(neg);
    let mut j = start;
    let mut v: u64 = 0;
    loop {
        let d = byte(s, j).wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        j += 1;
    }
    let n = j - start;
    // No digits, or digits after a leading zero (the exact scanner stops after the zero,
    // where a digit cannot follow a value).
    if n == 0 || (n > 1 && byte(s, start) == b'0') {
        return (FAIL, 0);
    }
    if let b'.' | b'e' | b'E' = byte(s, j) {
        return (fraction_exponent(s, j).unwrap_or(FAIL), 0);
    }
    let int = if n <= 18 {
        // Below 10^18: no overflow either way.
        let v = v as i64;
        if neg { -v } else { v }
    } else {
        s.get(i..j)
            .and_then(|t| Value::Number(t).as_i64())
            .unwrap_or(0)
    };
    (j, int)
}

/// A number's fraction and exponent, from `j` on: the index after them.
fn fraction_exponent(s: &[u8], mut j: usize) -> Option<usize> {
    let digits = |j: usize| {
        let n = s
            .get(j..)
            .unwrap_or(&[])
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (n > 0).then_some(j + n)
    };
    if byte(s, j) == b'.' {
        j = digits(j + 1)?;
    }
    if let b'e' | b'E' = byte(s, j) {
        j += 1;
        if let b'+' | b'-' = byte(s, j) {
            j += 1;
        }
        j = digits(j)?;
    }
    Some(j)
}

/// The literal `word` at `i`: the index after it.
#[inline(always)]
fn literal(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (s.get(i..end)? == word).then_some(end)
}

/// After `{` or `,` in an object: blanks, a key, blanks and the colon; the index after it.
#[inline(always)]
fn key_colon(s: &[u8], i: usize) -> Option<usize> {
    let (b'"', i) = next(s, i) else {
        return None;
    };
    let key = string(s, i + 1)?;
    match next(s, key.end + 1) {
        (b':', i) => Some(i + 1),
        _ => None,
    }
}

/// The container whose `{` or `[` is at `i`, nested at most `max_depth` deep (itself
/// included): the index after it, or [`FAIL`]. The exact scanner's loop, with a bit stack
/// for the nesting.
#[inline(never)]
pub(crate) fn container(s: &[u8], i: usize, max_depth: usize) -> usize {
    if max_depth > 0
        && let Some(end) = flat_object(s, i)
    {
        return end;
    }
    container_inner(s, i, max_depth).unwrap_or(FAIL)
}

/// The common small case of [`container`]: a compact object of scalars, like `{"k":1}`. `None`
/// for anything else (which the general loop then reads from the start).
#[inline(always)]
fn flat_object(s: &[u8], i: usize) -> Option<usize> {
    if byte(s, i) != b'{' {
        return None;
    }
    let mut j = i + 1;
    if byte(s, j) == b'}' {
        return Some(j + 1);
    }
    loop {
        if byte(s, j) != b'"' {
            return None;
        }
        j = string(s, j + 1)?.end + 1;
        if byte(s, j) != b':' {
            return None;
        }
        j += 1;
        j = match byte(s, j) {
            b'"' => string(s, j + 1)?.end + 1,
            b't' => literal(s, j, b"true")?,
            b'f' => literal(s, j, b"false")?,
            b'n' => literal(s, j, b"null")?,
            b'-' | b'0'..=b'9' => number_end(s, j)?,
            _ => return None,
        };
        match byte(s, j) {
            b',' => j += 1,
            b'}' => return Some(j + 1),
            _ => return None,
        }
    }
}

#[inline(always)]
fn container_inner(s: &[u8], i: usize, max_depth: usize) -> Option<usize> {
    // Bit d of `objects` is set when level d is an object.
    let mut objects: u64 = 0;
    let mut depth = 0usize;
    let mut j = i;
    loop {
        // A value at `j`.
        let (b, k) = next(s, j);
        match b {
            b'{' | b'[' => {
                if depth == max_depth {
                    return None;
                }
                let close = if b == b'{' { b'}' } else { b']' };
                let (c, k) = next(s, k + 1);
                if c == close {
                    j = k + 1;
                } else {
                    if b == b'{' {
                        objects |= 1 << depth;
                        j = key_colon(s, k)?;
                    } else {
                        objects &= !(1 << depth);
                        j = k;
                    }
                    depth += 1;
                    continue;
                }
            }
            _ if depth == 0 => return None,
            b'"' => j = string(s, k + 1)?.end + 1,
            b't' => j = literal(s, k, b"true")?,
            b'f' => j = literal(s, k, b"false")?,
            b'n' => j = literal(s, k, b"null")?,
            _ => j = number_end(s, k)?,
        }
        // After a value: close containers or move to the next element.
        loop {
            if depth == 0 {
                return Some(j);
            }
            let in_obj = objects & (1 << (depth - 1)) != 0;
            let (c, k) = next(s, j);
            match c {
                b',' => {
                    j = if in_obj { key_colon(s, k + 1)? } else { k + 1 };
                    break;
                }
                b'}' if in_obj => {
                    j = k + 1;
                    depth -= 1;
                }
                b']' if !in_obj => {
                    j = k + 1;
                    depth -= 1;
                }
                _ => return None,
            }
        }
    }
}

/// A value found by [`value`]: where it starts (after blanks) and ends, and for a string
/// whether it has escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Val {
    at: usize,
    end: usize,
    escaped: bool,
}

impl Val {
    /// The value in `s`, the text it was found in.
    #[cfg(test)]
    pub(crate) fn get(self, s: &[u8]) -> Value<'_> {
        let text = s.get(self.at..self.end).unwrap_or_default();
        match text {
            [b'"', raw @ .., _] => Value::Str(RawStr {
                raw,
                escaped: self.escaped,
            }),
            [b'{', ..] => Value::Object(text),
            [b'[', ..] => Value::Array(text),
            [b't', ..] => Value::Bool(true),
            [b'f', ..] => Value::Bool(false),
            [b'n', ..] => Value::Null,
            _ => Value::Number(text),
        }
    }

    /// The index after the value.
    #[inline(always)]
    pub(crate) fn end(self) -> usize {
        self.end
    }

    /// The value's text in `s`, the text it was found in.
    #[inline(always)]
    pub(crate) fn text(self, s: &[u8]) -> &[u8] {
        s.get(self.at..self.end).unwrap_or_default()
    }

    /// The string, if the value in `s` is one.
    #[inline(always)]
    pub(crate) fn string(self, s: &[u8]) -> Option<Str> {
        (byte(s, self.at) == b'"').then_some(Str {
            at: self.at + 1,
            end: self.end - 1,
            escaped: self.escaped,
        })
    }
}

/// The value at `i` (blanks before it allowed), nested at most `max_depth` deep: the value,
/// and its integer as [`Value::as_i64`] reads it, 0 if it has none.
#[inline(always)]
pub(crate) fn value(s: &[u8], i: usize, max_depth: usize) -> Option<(Val, i64)> {
    let (b, at) = next(s, i);
    let (end, escaped, int) = match b {
        b'"' => {
            let st = string(s, at + 1)?;
            (st.end + 1, st.escaped, 0)
        }
        b'{' | b'[' => (taken(container(s, at, max_depth))?, false, 0),
        b't' => (literal(s, at, b"true")?, false, 0),
        b'f' => (literal(s, at, b"false")?, false, 0),
        b'n' => (literal(s, at, b"null")?, false, 0),
        _ => {
            let (end, int) = number(s, at)?;
            (end, false, int)
        }
    };
    Some((Val { at, end, escaped }, int))
}

/// Skips the value at `i` ([`value`] without the value): the index after it.
#[inline(always)]
pub(crate) fn skip(s: &[u8], i: usize, max_depth: usize) -> Option<usize> {
    let (b, at) = next(s, i);
    match b {
        b'"' => Some(string(s, at + 1)?.end + 1),
        b'{' | b'[' => taken(container(s, at, max_depth)),
        b't' => literal(s, at, b"true"),
        b'f' => literal(s, at, b"false"),
        b'n' => literal(s, at, b"null"),
        _ => number_end(s, at),
    }
}

/// The value at `i` if it is a string (otherwise skipped), and the index after it.
#[inline(always)]
pub(crate) fn str_value(s: &[u8], i: usize, max_depth: usize) -> Option<(Option<Str>, usize)> {
    match next(s, i) {
        (b'"', at) => {
            let st = string(s, at + 1)?;
            Some((Some(st), st.end + 1))
        }
        (_, at) => Some((None, skip(s, at, max_depth)?)),
    }
}

/// The value at `i` as [`Value::as_i64`] reads it, 0 when it is not an integer (as the info
/// parsers take `size` and `duration`), and the index after it.
#[inline(always)]
pub(crate) fn int_value(s: &[u8], i: usize, max_depth: usize) -> Option<(i64, usize)> {
    let (v, int) = value(s, i, max_depth)?;
    Some((int, v.end))
}

/// A key a keyed scanner looks for, as the pattern that starts at its opening quote: the
/// quoted name, the colon and, if given, the first byte of the value the scanner expects
/// (`"` or `{`), as two little-endian words and their masks (at most 12 name bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    name: &'static str,
    words: [u64; 2],
    masks: [u64; 2],
    /// The pattern's length.
    len: usize,
}

impl Key {
    /// The key `name` (no quote, backslash or control byte), its pattern ending with `opener`
    /// if given.
    pub(crate) const fn new(name: &'static str, opener: Option<u8>) -> Self {
        let b = name.as_bytes();
        let len = b.len() + 3 + if opener.is_some() { 1 } else { 0 };
        assert!(len <= 16, "key too long for two words");
        let mut words = [0u64; 2];
        let mut masks = [0u64; 2];
        let mut k = 0;
        while k < len {
            let byte = if k == 0 || k == b.len() + 1 {
                b'"'
            } else if k <= b.len() {
                assert!(b[k - 1] >= 0x20 && b[k - 1] != b'"' && b[k - 1] != b'\\');
                b[k - 1]
            } else if k == b.len() + 2 {
                b':'
            } else if let Some(o) = opener {
                o
            } else {
                0
            };
            words[k / 8] |= (byte as u64) << (8 * (k % 8));
            masks[k / 8] |= 0xff << (8 * (k % 8));
            k += 1;
        }
        Self {
            name,
            words,
            masks,
            len,
        }
    }

    /// If the text at `i` (`w` is the word there) is this key's pattern: the index after it.
    #[inline(always)]
    pub(crate) fn at(&self, s: &[u8], i: usize, w: u64) -> Option<usize> {
        if w & self.masks[0] != self.words[0] {
            return None;
        }
        if self.masks[1] != 0 && word(s, i + 8) & self.masks[1] != self.words[1] {
            return None;
        }
        Some(i + self.len)
    }
}

/// A member's key at `i` (blanks, then its opening quote; `w` is the word at `i`) that is not
/// in its pattern's form (see [`Key::at`]): which of `keys` it is (`N` for any other, [`FAIL`]
/// if there is no key), compared by raw text, or with `decoded` and escapes, by value
/// ([`RawStr::eq_str`]), as the exact callers compare; and the index after the colon.
#[inline(always)]
pub(crate) fn any_key<const N: usize>(
    s: &[u8],
    i: usize,
    w: u64,
    keys: &[Key; N],
    decoded: bool,
) -> (usize, usize) {
    if w as u8 == b'"' {
        // A key of up to five bytes with its quotes and colon is all in `w`: the first special
        // byte after the opening quote is the closing one, followed by the colon.
        let m = special_mask(w) & !0xff;
        let q = m.trailing_zeros() / 8;
        if m != 0 && q < 7 && (w >> (8 * q)) as u8 == b'"' && (w >> (8 * (q + 1))) as u8 == b':' {
            let mask = u64::MAX >> (8 * (6 - q));
            let mut n = N;
            for (k, key) in keys.iter().enumerate() {
                if key.name.len() == q as usize - 1 && w & mask == key.words[0] & mask {
                    n = k;
                }
            }
            return (n, i + q as usize + 2);
        }
        // Longer, compact and without escapes: compared by length, then bytes.
        if let Some(key) = string(s, i + 1)
            && !key.escaped
            && byte(s, key.end + 1) == b':'
        {
            let raw = key.get(s).raw;
            let mut n = N;
            for (k, key) in keys.iter().enumerate() {
                if raw.len() == key.name.len() && raw == key.name.as_bytes() {
                    n = k;
                }
            }
            return (n, key.end + 2);
        }
    }
    any_key_slow(s, i, keys, decoded)
}

/// [`any_key`] with blanks or escapes.
#[inline(never)]
fn any_key_slow<const N: usize>(
    s: &[u8],
    i: usize,
    keys: &[Key; N],
    decoded: bool,
) -> (usize, usize) {
    any_key_inner(s, i, keys, decoded).unwrap_or((FAIL, 0))
}

#[inline(always)]
fn any_key_inner<const N: usize>(
    s: &[u8],
    i: usize,
    keys: &[Key; N],
    decoded: bool,
) -> Option<(usize, usize)> {
    let (b'"', i) = next(s, i) else {
        return None;
    };
    let key = string(s, i + 1)?;
    let (b':', i) = next(s, key.end + 1) else {
        return None;
    };
    let raw = key.get(s);
    let n = keys
        .iter()
        .position(|k| {
            if raw.escaped {
                decoded && raw.eq_str(k.name)
            } else {
                raw.raw.len() == k.name.len() && raw.raw == k.name.as_bytes()
            }
        })
        .unwrap_or(N);
    Some((n, i + 1))
}

/// Walks the members of the object whose content starts at `$i` (just after its `{`), and
/// evaluates to the index after the object. A member whose text at its key is the pattern
/// of `$keys[$k]` ([`Key::at`]) is read by that key's `$fast`, given in `$f` the index after
/// the pattern; any other by `$slow`, given in `$n` which of `$keys` its key is (`N` for any
/// other) and in `$v` the index after the colon ([`any_key`]). Each evaluates to the index
/// after the value. Any `None` returns `None` from the enclosing function. (A macro rather
/// than a function taking closures, so that all of it is inlined into one loop.)
macro_rules! walk {
    ($s:expr, $i:expr, $keys:expr, $decoded:expr,
     fast { $($k:literal => |$f:ident| $fast:expr),* $(,)? },
     slow |$n:ident, $v:ident| $slow:expr) => {{
        let s: &[u8] = $s;
        let mut i: usize = $i;
        'walk: {
            match $crate::wire::json::fast::next(s, i) {
                (b'}', j) => break 'walk j + 1,
                (_, j) => i = j,
            }
            loop {
                let w = $crate::wire::json::fast::word(s, i);
                i = $(
                    if let Some($f) = $keys[$k].at(s, i, w) {
                        $fast
                    } else
                )* {
                    let ($n, $v): (usize, usize) =
                        $crate::wire::json::fast::any_key(s, i, w, &$keys, $decoded);
                    if $n == $crate::wire::json::fast::FAIL {
                        return None;
                    }
                    $slow
                };
                i = match $crate::wire::json::fast::byte(s, i) {
                    b',' => i + 1,
                    b'}' => break 'walk i + 1,
                    _ => match $crate::wire::json::fast::next(s, i) {
                        (b',', j) => j + 1,
                        (b'}', j) => break 'walk j + 1,
                        _ => return None,
                    },
                };
            }
        }
    }};
}
pub(crate) use walk;

#[cfg(test)]
mod tests {
    use super::super::{JsonError, MAX_DEPTH, for_each_member};
    use super::*;
    use proptest::prelude::*;

    const KEYS: [Key; 4] = [
        Key::new("url", Some(b'"')),
        Key::new("size", None),
        Key::new("duration", None),
        Key::new("sourceText", Some(b'"')),
    ];

    /// A member as the tests read it: `url` with [`str_value`], `size` with [`int_value`],
    /// `duration` and `sourceText` with [`value`], any other with [`skip`].
    #[derive(Debug, Clone, PartialEq)]
    enum Got<'a> {
        Str(Option<RawStr<'a>>),
        Int(i64),
        Val(Value<'a>, i64),
        Skipped,
    }

    /// The fast functions' view of a whole text as one object, or `None`.
    fn fast_members(text: &[u8]) -> Option<Vec<(usize, Got<'_>)>> {
        let mut out = Vec::new();
        let mut member = |which: usize, i: usize| {
            let (got, end) = match which {
                0 => str_value(text, i, MAX_DEPTH)
                    .map(|(v, end)| (Got::Str(v.map(|v| v.get(text))), end))?,
                1 => int_value(text, i, MAX_DEPTH).map(|(v, end)| (Got::Int(v), end))?,
                2 | 3 => {
                    let (v, int) = value(text, i, MAX_DEPTH)?;
                    (Got::Val(v.get(text), int), v.end())
                }
                _ => (Got::Skipped, skip(text, i, MAX_DEPTH)?),
            };
            out.push((which, got));
            Some(end)
        };
        // The patterns of `url` and `sourceText` end at the value's opening quote.
        let end = walk!(text, open(text)?, KEYS, false,
            fast {
                0 => |f| member(0, f - 1)?,
                1 => |f| member(1, f)?,
                2 => |f| member(2, f)?,
                3 => |f| member(3, f - 1)?,
            },
            slow |n, v| member(n, v)?
        );
        at_end(text, end).then_some(out)
    }

    /// The exact scanner's view, in the same shape.
    fn exact_members(text: &[u8]) -> Result<Vec<(usize, Got<'_>)>, JsonError> {
        let mut out = Vec::new();
        for_each_member(text, |k, v| {
            let which = KEYS
                .iter()
                .position(|key| key.name.as_bytes() == k.raw())
                .unwrap_or(4);
            let got = match (which, v) {
                (0, Value::Str(s)) => Got::Str(Some(s)),
                (0, _) => Got::Str(None),
                (1, v) => Got::Int(v.as_i64().unwrap_or(0)),
                (2 | 3, v) => Got::Val(v, v.as_i64().unwrap_or(0)),
                _ => Got::Skipped,
            };
            out.push((which, got));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn compact_objects_are_taken() {
        let text = br#"{"url":"https://a/b","size":23456,"duration":-7,"sourceText":"x","k":{"a":[1,2.5e3,true,null,"q\"z"]}}"#;
        let got = fast_members(text).expect("taken");
        assert_eq!(Ok(got.clone()), exact_members(text));
        assert_eq!(got.iter().map(|m| m.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(got[1].1, Got::Int(23456));
        assert_eq!(got[2].1, Got::Val(Value::Number(b"-7"), -7));
    }

    #[test]
    fn blanks_and_escaped_keys_are_taken() {
        let text = b" {\n \"url\" : \"u\\/\" , \"si\\u007ae\":1,\"size\"\t:2 } ";
        let got = fast_members(text).expect("taken");
        assert_eq!(Ok(got.clone()), exact_members(text));
        assert_eq!(got.iter().map(|m| m.0).collect::<Vec<_>>(), [0, 4, 1]);
    }

    #[test]
    fn refused_texts() {
        for bad in [
            &b""[..],
            b"{",
            b"[1]",
            b"{\"url\":01}",
            b"{\"url\":\"a\nb\"}",
            b"{\"url\":1,}",
            b"{\"url\":1} x",
            b"{\"url\":[}",
            b"{\"url\":tru}",
            b"{\"url\":-}",
            b"{\"url\":1.}",
            b"{\"url\":1e+}",
        ] {
            assert_eq!(
                fast_members(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut deep = b"{\"url\":".to_vec();
        deep.extend([b'['; MAX_DEPTH + 1]);
        deep.extend([b']'; MAX_DEPTH + 1]);
        deep.push(b'}');
        assert_eq!(fast_members(&deep), None);
        let mut ok = b"{\"url\":".to_vec();
        ok.extend([b'['; MAX_DEPTH]);
        ok.extend([b']'; MAX_DEPTH]);
        ok.push(b'}');
        assert!(fast_members(&ok).is_some(), "64 levels are allowed");
    }

    #[test]
    fn words_near_the_end_are_zero_padded() {
        let s = b"0123456789";
        assert_eq!(word(s, 0), u64::from_le_bytes(*b"01234567"));
        assert_eq!(word(s, 4), u64::from_le_bytes(*b"456789\0\0"));
        assert_eq!(word(s, 9), u64::from(b'9'));
        assert_eq!(word(s, 10), 0);
        assert_eq!(word(s, 99), 0);
        assert_eq!(word(b"abc", 1), u64::from_le_bytes(*b"bc\0\0\0\0\0\0"));
        assert_eq!(word(b"abc", 3), 0);
        assert_eq!((byte(s, 9), byte(s, 10)), (b'9', 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2048,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever the fast functions take, the exact scanner reads the same way.
        #[test]
        fn fast_scan_agrees_with_the_exact_scanner(text in super::super::tests::text_gen::text()) {
            if let Some(fast) = fast_members(&text) {
                prop_assert_eq!(Ok(fast), exact_members(&text));
            }
        }

        /// And it takes every object the exact scanner takes (blanks, escapes, nesting and all).
        #[test]
        fn fast_scan_takes_well_formed_objects(text in super::super::tests::text_gen::value()) {
            let exact = exact_members(text.as_bytes());
            if let Ok(exact) = exact {
                prop_assert_eq!(fast_members(text.as_bytes()), Some(exact));
            }
        }
    }
}
