//! A small validating JSON scanner over borrowed bytes, for the JSON that RTM carries inside
//! message strings (translated chat, file info).
//!
//! It allocates nothing. Strings without escapes are returned as sub-slices of the input;
//! strings with escapes are unescaped into a caller-provided [`Scratch`] buffer (`\uXXXX` and
//! surrogate pairs become UTF-8; a lone surrogate becomes U+FFFD). Nesting is bounded by
//! [`MAX_DEPTH`] and scanned without recursion. Any syntax error is reported, never panics,
//! and callers degrade to the raw text.
//!
//! Speed builds also have `fast`: index-based, word-at-a-time lexing for compact text that
//! gives up on anything unusual, under the keyed scans of `rtm::info`; and `straight`, the
//! cursor-based lexing under the scans of `rtm::info` that expect one key order.

#[cfg(any(test, not(rtm_opt_size)))]
pub(crate) mod fast;
#[cfg(any(test, not(rtm_opt_size)))]
pub(crate) mod straight;

/// Deepest nesting accepted when skipping a value.
pub const MAX_DEPTH: usize = 64;

/// Why JSON text could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JsonError {
    /// Not well-formed JSON (the byte offset of the problem is given).
    Syntax(usize),
    /// The text is JSON, but not an object where one was required.
    NotObject,
    /// Nesting deeper than [`MAX_DEPTH`].
    DepthExceeded,
    /// The scratch buffer has no room for an unescaped string.
    ScratchFull,
    /// The text is JSON, but not an array where one was required.
    NotArray,
}

impl core::fmt::Display for JsonError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Syntax(at) => write!(f, "JSON syntax error at byte {at}"),
            Self::NotObject => f.write_str("JSON value is not an object"),
            Self::DepthExceeded => f.write_str("JSON nesting too deep"),
            Self::ScratchFull => f.write_str("scratch buffer too small for unescaped JSON string"),
            Self::NotArray => f.write_str("JSON value is not an array"),
        }
    }
}

impl core::error::Error for JsonError {}

/// Caller memory that receives unescaped strings; each string gets its own disjoint piece.
#[derive(Debug)]
pub struct Scratch<'a> {
    free: &'a mut [u8],
}

impl<'a> Scratch<'a> {
    /// Uses all of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { free: buf }
    }

    /// Bytes still available.
    pub fn remaining(&self) -> usize {
        self.free.len()
    }

    fn take(&mut self, n: usize) -> Option<&'a mut [u8]> {
        if n > self.free.len() {
            return None;
        }
        let (head, tail) = core::mem::take(&mut self.free).split_at_mut(n);
        self.free = tail;
        Some(head)
    }
}

/// A JSON string as it appears between its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStr<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl RawStr<'static> {
    /// The empty string.
    pub const EMPTY: Self = Self {
        raw: &[],
        escaped: false,
    };
}

impl<'a> RawStr<'a> {
    /// The bytes between the quotes, escapes untouched.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the string contains escape sequences.
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }

    /// The string's value: borrowed when it has no escapes, otherwise unescaped into `scratch`.
    pub fn value(&self, scratch: &mut Scratch<'a>) -> Result<&'a [u8], JsonError> {
        if !self.escaped {
            return Ok(self.raw);
        }
        // Decode into the free space, then claim exactly the bytes written.
        let n = unescape(self.raw, scratch.free)?;
        let out = scratch.take(n).ok_or(JsonError::ScratchFull)?;
        Ok(out)
    }

    /// Whether the string's value equals `want` (escapes decoded, without scratch).
    pub fn eq_str(&self, want: &str) -> bool {
        if !self.escaped {
            return self.raw == want.as_bytes();
        }
        let mut buf = [0u8; 32];
        match buf.get_mut(..self.raw.len()) {
            Some(out) => matches!(unescape(self.raw, out), Ok(n) if &out[..n] == want.as_bytes()),
            None => false,
        }
    }
}

/// A scalar or container value found while scanning an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string.
    Str(RawStr<'a>),
    /// A number, as its source text.
    Number(&'a [u8]),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An object, as its complete source text (braces included).
    Object(&'a [u8]),
    /// An array, as its complete source text (brackets included).
    Array(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The number as an integer, if it is one that fits `i64` (no fraction or exponent).
    pub fn as_i64(&self) -> Option<i64> {
        let Value::Number(text) = self else {
            return None;
        };
        let (neg, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, *text),
        };
        let mut v: i64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            let d = i64::from(d - b'0');
            v = v.checked_mul(10)?;
            v = if neg {
                v.checked_sub(d)?
            } else {
                v.checked_add(d)?
            };
        }
        Some(v)
    }
}

fn hex4(s: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in s.get(..4)? {
        v = v * 16 + char::from(c).to_digit(16)?;
    }
    Some(v)
}

/// Decodes the escapes of a raw (already syntax-checked) string into `out`; returns the length.
fn unescape(raw: &[u8], out: &mut [u8]) -> Result<usize, JsonError> {
    let mut i = 0;
    let mut o = 0;
    let mut put = |bytes: &[u8], o: &mut usize| -> Result<(), JsonError> {
        let dst = out
            .get_mut(*o..*o + bytes.len())
            .ok_or(JsonError::ScratchFull)?;
        dst.copy_from_slice(bytes);
        *o += bytes.len();
        Ok(())
    };
    while let Some(&c) = raw.get(i) {
        if c != b'\\' {
            put(&[c], &mut o)?;
            i += 1;
            continue;
        }
        let esc = raw.get(i + 1).copied().ok_or(JsonError::Syntax(i))?;
        i += 2;
        let simple = match esc {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'u' => None,
            _ => return Err(JsonError::Syntax(i - 1)),
        };
        if let Some(b) = simple {
            put(&[b], &mut o)?;
            continue;
        }
        let hi = hex4(raw.get(i..).unwrap_or(&[])).ok_or(JsonError::Syntax(i))?;
        i += 4;
        let cp = if (0xd800..0xdc00).contains(&hi) {
            // A high surrogate: combine with a following low surrogate if there is one.
            let low = match raw.get(i..i + 2) {
                Some(b"\\u") => hex4(raw.get(i + 2..).unwrap_or(&[])),
                _ => None,
            };
            match low {
                Some(lo) if (0xdc00..0xe000).contains(&lo) => {
                    i += 6;
                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                }
                _ => 0xfffd,
            }
        } else if (0xdc00..0xe000).contains(&hi) {
            0xfffd
        } else {
            hi
        };
        let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
        let mut enc = [0u8; 4];
        put(ch.encode_utf8(&mut enc).as_bytes(), &mut o)?;
    }
    Ok(o)
}

/// A cursor over JSON text: the whole text (for error offsets) and the bytes not yet read.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    s: &'a [u8],
    rest: &'a [u8],
}

/// Whether `b` ends a run of plain string bytes: a quote, a backslash or a control byte.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn string_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The string-special bytes (quote, backslash, < 0x20) among the 8 bytes of `w`, loaded
/// little-endian: the lowest set bit is in the first such byte (SWAR; a borrow can only set
/// bits above a true match, so the lowest one is exact).
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn special_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte is zero in `x` exactly where `w` holds the byte searched for.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let backslash = zero(w ^ (ONES * u64::from(b'\\')));
    // Bytes below 0x20: subtracting 0x20 borrows into the high bit (for bytes < 0x80).
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    (quote | backslash | control) & HIGH
}

/// `rest` after its first `n` bytes (`n` is at most its length at every call).
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn after(rest: &[u8], n: usize) -> &[u8] {
    rest.get(n..).unwrap_or(&[])
}

/// The bytes of `from` up to where `to` (a tail of it) starts.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn between<'a>(from: &'a [u8], to: &[u8]) -> &'a [u8] {
    from.get(..from.len().saturating_sub(to.len()))
        .unwrap_or(&[])
}

/// Blanks skipped.
#[cold]
fn skip_blanks(rest: &[u8]) -> &[u8] {
    let n = rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(rest.len());
    after(rest, n)
}

/// `JsonError::Syntax` at the start of `rest`, in a text of `total` bytes.
#[cold]
fn syntax_at(total: usize, rest: &[u8]) -> JsonError {
    JsonError::Syntax(total.saturating_sub(rest.len()))
}

/// The rest of a string whose content starts at `body`, from `rest` on (a backslash, a
/// control byte, or fewer than 8 bytes before the end): the string and the bytes after it.
#[inline(never)]
fn string_tail<'a>(
    total: usize,
    body: &'a [u8],
    rest: &'a [u8],
) -> Result<(RawStr<'a>, &'a [u8]), JsonError> {
    // Errors are reported against the whole text (`total`), not this cursor's.
    let mut c = Cursor { s: body, rest };
    let err = |c: &Cursor<'_>| syntax_at(total, c.rest);
    let mut escaped = false;
    loop {
        match c.peek() {
            None => return Err(err(&c)),
            Some(b'"') => break,
            Some(b'\\') => {
                escaped = true;
                match c.rest.get(1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => c.bump(2),
                    Some(b'u') => {
                        if hex4(after(c.rest, 2)).is_none() {
                            return Err(err(&c));
                        }
                        c.bump(6);
                    }
                    _ => return Err(err(&c)),
                }
            }
            Some(b) if b < 0x20 => return Err(err(&c)),
            Some(_) => {
                let n = c
                    .rest
                    .iter()
                    .position(|&b| string_special(b))
                    .unwrap_or(c.rest.len());
                c.bump(n);
            }
        }
    }
    let raw = between(body, c.rest);
    Ok((RawStr { raw, escaped }, after(c.rest, 1)))
}

/// Scans a container starting at `{` or `[` at the start of `rest`, in the text `s`; returns
/// the bytes after it.
#[inline(never)]
fn container<'a>(s: &'a [u8], rest: &'a [u8], max_depth: usize) -> Result<&'a [u8], JsonError> {
    let mut c = Cursor { s, rest };
    c.container(max_depth)?;
    Ok(c.rest)
}

impl<'a> Cursor<'a> {
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn new(s: &'a [u8]) -> Self {
        Self { s, rest: s }
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn bump(&mut self, n: usize) {
        self.rest = after(self.rest, n);
    }

    /// Skips blanks. The first byte is checked inline (compact JSON has no blanks).
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn ws(&mut self) {
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.rest.first() {
            self.ws_run();
        }
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn ws_run(&mut self) {
        self.rest = skip_blanks(self.rest);
    }

    /// Skips blanks and returns the next byte.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn next_byte(&mut self) -> Option<u8> {
        let b = *self.rest.first()?;
        if b > b' ' {
            return Some(b);
        }
        self.ws_run();
        self.peek()
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// A syntax error at the next byte. (The out-of-line parts of the scanner take the cursor's
    /// fields by value, so the cursor itself never needs an address and stays in registers.)
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn err(&self) -> JsonError {
        syntax_at(self.s.len(), self.rest)
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn eat(&mut self, b: u8) -> Result<(), JsonError> {
        if self.next_byte() == Some(b) {
            self.bump(1);
            Ok(())
        } else {
            Err(self.err())
        }
    }

    /// A string starting at the opening quote.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn string(&mut self) -> Result<RawStr<'a>, JsonError> {
        self.eat(b'"')?;
        let body = self.rest;
        // Plain bytes are skipped 8 at a time up to the first special byte.
        let mut scan = body;
        while let Some((w, tail)) = scan.split_first_chunk::<8>() {
            let m = special_mask(u64::from_le_bytes(*w));
            if m != 0 {
                let at = (body.len() - scan.len()) + (m.trailing_zeros() / 8) as usize;
                return match body.split_at_checked(at) {
                    Some((raw, [b'"', rest @ ..])) => {
                        self.rest = rest;
                        Ok(RawStr {
                            raw,
                            escaped: false,
                        })
                    }
                    _ => self.string_tail(body, after(body, at)),
                };
            }
            scan = tail;
        }
        // Fewer than 8 bytes left.
        self.string_tail(body, scan)
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn string_tail(&mut self, body: &'a [u8], from: &'a [u8]) -> Result<RawStr<'a>, JsonError> {
        let (raw, rest) = string_tail(self.s.len(), body, from)?;
        self.rest = rest;
        Ok(raw)
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.rest.starts_with(word) {
            self.bump(word.len());
            Ok(())
        } else {
            Err(self.err())
        }
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn digits(&mut self) -> usize {
        let n = self
            .rest
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        self.bump(n);
        n
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn number(&mut self) -> Result<&'a [u8], JsonError> {
        let start = self.rest;
        if self.peek() == Some(b'-') {
            self.bump(1);
        }
        match self.peek() {
            Some(b'0') => self.bump(1),
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err()),
        }
        if self.peek() == Some(b'.') {
            self.bump(1);
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump(1);
            if let Some(b'+' | b'-') = self.peek() {
                self.bump(1);
            }
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        Ok(between(start, self.rest))
    }

    /// One complete value of any kind, validated; containers are scanned iteratively, nested
    /// at most `max_depth` deep (itself included).
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn value(&mut self, max_depth: usize) -> Result<Value<'a>, JsonError> {
        let first = self.next_byte();
        let start = self.rest;
        match first {
            Some(b'"') => return self.string().map(Value::Str),
            Some(b't') => return self.literal(b"true").map(|_| Value::Bool(true)),
            Some(b'f') => return self.literal(b"false").map(|_| Value::Bool(false)),
            Some(b'n') => return self.literal(b"null").map(|_| Value::Null),
            Some(b'{' | b'[') => {}
            _ => return self.number().map(Value::Number),
        }
        self.rest = container(self.s, self.rest, max_depth)?;
        let text = between(start, self.rest);
        Ok(if first == Some(b'{') {
            Value::Object(text)
        } else {
            Value::Array(text)
        })
    }

    /// Scans a container starting at `{` or `[`, with a bit stack for the nesting.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn container(&mut self, max_depth: usize) -> Result<(), JsonError> {
        // Bit d of `objects` is set when level d is an object.
        let mut objects: u64 = 0;
        let mut depth = 0usize;
        loop {
            // Expecting a value here.
            let first = self.next_byte();
            let opened = match first {
                Some(b'{') => Some(true),
                Some(b'[') => Some(false),
                _ => None,
            };
            if let Some(is_obj) = opened {
                if depth == max_depth {
                    return Err(JsonError::DepthExceeded);
                }
                self.bump(1);
                let close = if is_obj { b'}' } else { b']' };
                if self.next_byte() == Some(close) {
                    self.bump(1);
                } else {
                    if is_obj {
                        objects |= 1 << depth;
                        self.string()?;
                        self.eat(b':')?;
                    } else {
                        objects &= !(1 << depth);
                    }
                    depth += 1;
                    continue;
                }
            } else if depth == 0 {
                return Err(self.err());
            } else {
                // A scalar inside a container.
                match first {
                    Some(b'"') => self.string().map(|_| ())?,
                    Some(b't') => self.literal(b"true")?,
                    Some(b'f') => self.literal(b"false")?,
                    Some(b'n') => self.literal(b"null")?,
                    _ => self.number().map(|_| ())?,
                }
            }
            // After a value: close containers or move to the next element.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let in_obj = objects & (1 << (depth - 1)) != 0;
                match self.next_byte() {
                    Some(b',') => {
                        self.bump(1);
                        if in_obj {
                            self.string()?;
                            self.eat(b':')?;
                        }
                        break;
                    }
                    Some(b'}') if in_obj => {
                        self.bump(1);
                        depth -= 1;
                    }
                    Some(b']') if !in_obj => {
                        self.bump(1);
                        depth -= 1;
                    }
                    _ => return Err(self.err()),
                }
            }
        }
    }

    /// Walks the members of the object whose `{` is at the cursor: `f(key, cursor)` is called
    /// with the cursor before each member's value, and must consume exactly that value.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn members(
        &mut self,
        mut f: impl FnMut(RawStr<'a>, &mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.bump(1);
        if self.next_byte() == Some(b'}') {
            self.bump(1);
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            f(key, self)?;
            match self.next_byte() {
                Some(b',') => self.bump(1),
                Some(b'}') => {
                    self.bump(1);
                    return Ok(());
                }
                _ => return Err(self.err()),
            }
        }
    }
}

/// A JSON object being walked by [`for_each_member_nested`]: the cursor sits before one member's
/// value, which the callback must take with [`Member::value`] or [`Member::object`].
pub(crate) struct Member<'c, 'a> {
    cursor: &'c mut Cursor<'a>,
    /// How deep the value may nest, itself included.
    max_depth: usize,
}

impl<'a> Member<'_, 'a> {
    /// Takes the value.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    pub fn value(self) -> Result<Value<'a>, JsonError> {
        self.cursor.value(self.max_depth)
    }

    /// If the value is an object, walks its members with `f` (in the same pass that validates
    /// it, with the same nesting limit as [`Member::value`]) and returns `Ok(None)`; otherwise
    /// takes the value and returns it.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    pub fn object(
        self,
        mut f: impl FnMut(RawStr<'a>, Member<'_, 'a>) -> Result<(), JsonError>,
    ) -> Result<Option<Value<'a>>, JsonError> {
        self.cursor.ws();
        if self.cursor.peek() != Some(b'{') {
            return self.value().map(Some);
        }
        if self.max_depth == 0 {
            return Err(JsonError::DepthExceeded);
        }
        let inner = self.max_depth - 1;
        self.cursor.members(|key, c| {
            f(
                key,
                Member {
                    cursor: c,
                    max_depth: inner,
                },
            )
        })?;
        Ok(None)
    }
}

/// Whether `b` can start a JSON value (after blanks): a text starting with anything else is
/// refused at that byte.
#[inline]
pub(crate) const fn starts_value(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'"' | b't' | b'f' | b'n' | b'[' | b'-' | b'0'..=b'9'
    )
}

/// The start of [`for_each_member`]: skips blanks and checks for `{`. For anything else, the
/// error: `NotObject` for a complete JSON value of another kind, `Syntax` otherwise.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn open_object<'a>(text: &'a [u8]) -> Result<Cursor<'a>, JsonError> {
    let mut c = Cursor::new(text);
    c.ws();
    match c.peek() {
        Some(b'{') => Ok(c),
        Some(b) if starts_value(b) => Err(not_object(c)),
        // Anything else (plain text) fails right here, as the full classification would.
        _ => Err(c.err()),
    }
}

/// Distinguishes "valid JSON but not an object" from garbage.
#[cold]
fn not_object(mut c: Cursor<'_>) -> JsonError {
    match c.value(MAX_DEPTH) {
        Ok(_) => {
            c.ws();
            if c.rest.is_empty() {
                JsonError::NotObject
            } else {
                c.err()
            }
        }
        Err(e) => e,
    }
}

/// After the object: only blanks may follow.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn close_object(mut c: Cursor<'_>) -> Result<(), JsonError> {
    c.ws();
    if c.rest.is_empty() {
        Ok(())
    } else {
        Err(c.err())
    }
}

/// Calls `f` with each member of the JSON object that makes up all of `text` (surrounding
/// whitespace allowed). Fails if `text` is not exactly one well-formed object.
#[inline]
pub fn for_each_member<'a>(
    text: &'a [u8],
    mut f: impl FnMut(RawStr<'a>, Value<'a>) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    let mut c = open_object(text)?;
    c.members(|key, c| {
        let value = c.value(MAX_DEPTH)?;
        f(key, value)
    })?;
    close_object(c)
}

/// Calls `f` with each element of the JSON array that makes up all of `text` (surrounding
/// whitespace allowed), in one pass: an element is handed over as soon as it is read, so the
/// elements before a malformed one have been seen when the error is returned. Fails if
/// `text` is not exactly one well-formed array ([`JsonError::NotArray`] for another JSON
/// value). Objects and arrays among the elements come as their source text.
pub fn for_each_element<'a>(
    text: &'a [u8],
    mut f: impl FnMut(Value<'a>) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    let mut c = Cursor::new(text);
    c.ws();
    match c.peek() {
        Some(b'[') => {}
        Some(b) if starts_value(b) => {
            return Err(match not_object(c) {
                JsonError::NotObject => JsonError::NotArray,
                e => e,
            });
        }
        _ => return Err(c.err()),
    }
    c.bump(1);
    if c.next_byte() == Some(b']') {
        c.bump(1);
    } else {
        loop {
            let value = c.value(MAX_DEPTH - 1)?;
            f(value)?;
            match c.next_byte() {
                Some(b',') => c.bump(1),
                Some(b']') => {
                    c.bump(1);
                    break;
                }
                _ => return Err(c.err()),
            }
        }
    }
    close_object(c)
}

/// [`for_each_member`] whose callback takes each value itself through a [`Member`], so that a
/// nested object can be walked in the same pass that validates it. Same results and errors as
/// `for_each_member` with a callback that re-walks the nested object's text.
#[inline]
pub(crate) fn for_each_member_nested<'a>(
    text: &'a [u8],
    mut f: impl FnMut(RawStr<'a>, Member<'_, 'a>) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    let mut c = open_object(text)?;
    c.members(|key, c| {
        f(
            key,
            Member {
                cursor: c,
                max_depth: MAX_DEPTH,
            },
        )
    })?;
    close_object(c)
}

/// The scanner as it was before the fast paths, kept as the reference the tests compare with.
#[cfg(test)]
pub(crate) mod reference {
    use super::{JsonError, MAX_DEPTH, RawStr, Value, hex4};

    /// A cursor over JSON text.
    #[derive(Debug, Clone)]
    struct Cursor<'a> {
        s: &'a [u8],
        pos: usize,
    }

    impl<'a> Cursor<'a> {
        fn ws(&mut self) {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
                self.pos += 1;
            }
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.pos).copied()
        }

        fn err(&self) -> JsonError {
            JsonError::Syntax(self.pos)
        }

        fn eat(&mut self, b: u8) -> Result<(), JsonError> {
            self.ws();
            if self.peek() == Some(b) {
                self.pos += 1;
                Ok(())
            } else {
                Err(self.err())
            }
        }

        /// A string starting at the opening quote.
        fn string(&mut self) -> Result<RawStr<'a>, JsonError> {
            self.eat(b'"')?;
            let start = self.pos;
            let mut escaped = false;
            loop {
                match self.peek() {
                    None => return Err(self.err()),
                    Some(b'"') => break,
                    Some(b'\\') => {
                        escaped = true;
                        match self.s.get(self.pos + 1) {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                                self.pos += 2
                            }
                            Some(b'u') => {
                                if hex4(self.s.get(self.pos + 2..).unwrap_or(&[])).is_none() {
                                    return Err(JsonError::Syntax(self.pos));
                                }
                                self.pos += 6;
                            }
                            _ => return Err(self.err()),
                        }
                    }
                    Some(c) if c < 0x20 => return Err(self.err()),
                    Some(_) => self.pos += 1,
                }
            }
            let raw = &self.s[start..self.pos];
            self.pos += 1;
            Ok(RawStr { raw, escaped })
        }

        fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
            match self.s.get(self.pos..self.pos + word.len()) {
                Some(w) if w == word => {
                    self.pos += word.len();
                    Ok(())
                }
                _ => Err(self.err()),
            }
        }

        fn digits(&mut self) -> usize {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            self.pos - start
        }

        fn number(&mut self) -> Result<&'a [u8], JsonError> {
            let start = self.pos;
            if self.peek() == Some(b'-') {
                self.pos += 1;
            }
            match self.peek() {
                Some(b'0') => self.pos += 1,
                Some(b'1'..=b'9') => {
                    self.digits();
                }
                _ => return Err(self.err()),
            }
            if self.peek() == Some(b'.') {
                self.pos += 1;
                if self.digits() == 0 {
                    return Err(self.err());
                }
            }
            if let Some(b'e' | b'E') = self.peek() {
                self.pos += 1;
                if let Some(b'+' | b'-') = self.peek() {
                    self.pos += 1;
                }
                if self.digits() == 0 {
                    return Err(self.err());
                }
            }
            Ok(&self.s[start..self.pos])
        }

        /// One complete value of any kind, validated; containers are scanned iteratively.
        fn value(&mut self) -> Result<Value<'a>, JsonError> {
            self.ws();
            let start = self.pos;
            match self.peek() {
                Some(b'"') => return self.string().map(Value::Str),
                Some(b't') => return self.literal(b"true").map(|_| Value::Bool(true)),
                Some(b'f') => return self.literal(b"false").map(|_| Value::Bool(false)),
                Some(b'n') => return self.literal(b"null").map(|_| Value::Null),
                Some(b'{' | b'[') => {}
                _ => return self.number().map(Value::Number),
            }
            self.container()?;
            let text = &self.s[start..self.pos];
            Ok(if text.first() == Some(&b'{') {
                Value::Object(text)
            } else {
                Value::Array(text)
            })
        }

        /// Scans a container starting at `{` or `[`, with a bit stack for the nesting.
        fn container(&mut self) -> Result<(), JsonError> {
            // Bit d of `objects` is set when level d is an object.
            let mut objects: u64 = 0;
            let mut depth = 0usize;
            loop {
                // Expecting a value here.
                self.ws();
                let opened = match self.peek() {
                    Some(b'{') => Some(true),
                    Some(b'[') => Some(false),
                    _ => None,
                };
                if let Some(is_obj) = opened {
                    if depth == MAX_DEPTH {
                        return Err(JsonError::DepthExceeded);
                    }
                    self.pos += 1;
                    self.ws();
                    let close = if is_obj { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        if is_obj {
                            objects |= 1 << depth;
                            self.string()?;
                            self.eat(b':')?;
                        } else {
                            objects &= !(1 << depth);
                        }
                        depth += 1;
                        continue;
                    }
                } else if depth == 0 {
                    return Err(self.err());
                } else {
                    // A scalar inside a container.
                    match self.peek() {
                        Some(b'"') => self.string().map(|_| ())?,
                        Some(b't') => self.literal(b"true")?,
                        Some(b'f') => self.literal(b"false")?,
                        Some(b'n') => self.literal(b"null")?,
                        _ => self.number().map(|_| ())?,
                    }
                }
                // After a value: close containers or move to the next element.
                loop {
                    if depth == 0 {
                        return Ok(());
                    }
                    let in_obj = objects & (1 << (depth - 1)) != 0;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            if in_obj {
                                self.ws();
                                self.string()?;
                                self.eat(b':')?;
                            }
                            break;
                        }
                        Some(b'}') if in_obj => {
                            self.pos += 1;
                            depth -= 1;
                        }
                        Some(b']') if !in_obj => {
                            self.pos += 1;
                            depth -= 1;
                        }
                        _ => return Err(self.err()),
                    }
                }
            }
        }
    }

    /// Calls `f` with each member of the JSON object that makes up all of `text` (surrounding
    /// whitespace allowed). Fails if `text` is not exactly one well-formed object.
    pub(crate) fn for_each_member<'a>(
        text: &'a [u8],
        mut f: impl FnMut(RawStr<'a>, Value<'a>) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        let mut c = Cursor { s: text, pos: 0 };
        c.ws();
        if c.peek() != Some(b'{') {
            // Distinguish "valid JSON but not an object" from garbage.
            return match c.value() {
                Ok(_) => {
                    c.ws();
                    if c.pos == text.len() {
                        Err(JsonError::NotObject)
                    } else {
                        Err(c.err())
                    }
                }
                Err(e) => Err(e),
            };
        }
        c.pos += 1;
        c.ws();
        if c.peek() == Some(b'}') {
            c.pos += 1;
        } else {
            loop {
                c.ws();
                let key = c.string()?;
                c.eat(b':')?;
                let value = c.value()?;
                f(key, value)?;
                c.ws();
                match c.peek() {
                    Some(b',') => c.pos += 1,
                    Some(b'}') => {
                        c.pos += 1;
                        break;
                    }
                    _ => return Err(c.err()),
                }
            }
        }
        c.ws();
        if c.pos == text.len() {
            Ok(())
        } else {
            Err(c.err())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn members(text: &str) -> Result<usize, JsonError> {
        let mut n = 0;
        for_each_member(text.as_bytes(), |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    #[test]
    fn well_formed_objects() {
        assert_eq!(members("{}"), Ok(0));
        assert_eq!(
            members(r#" {"a":1,"b":[1,{"c":[]},"x"],"d":{"e":null}} "#),
            Ok(3)
        );
        assert_eq!(members(r#"{"n":-0.5e+3,"t":true,"f":false}"#), Ok(3));
    }

    #[test]
    fn malformed_text_is_an_error() {
        for bad in [
            "",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":[1,]}",
            "{\"a\":01}",
            "{\"a\":\"\\x\"}",
            "{\"a\":1} x",
            "{\"a\":[}",
            "{\"a\":\"\n\"}",
            "{\"a\":-}",
        ] {
            assert!(members(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(members("[1]"), Err(JsonError::NotObject));
        assert_eq!(members("\"s\""), Err(JsonError::NotObject));
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = [b'['; MAX_DEPTH + 1 + 8];
        deep[..6].copy_from_slice(b"{\"a\": ");
        let text = core::str::from_utf8(&deep).unwrap();
        assert_eq!(members(text), Err(JsonError::DepthExceeded));
    }

    #[test]
    fn escapes_are_decoded() {
        let text = br#"{"k":"a\"b\\c\/\n\u00e9\ud83d\ude00\udc00"}"#;
        let mut buf = [0u8; 64];
        let mut scratch = Scratch::new(&mut buf);
        let mut got = None;
        for_each_member(text, |_, v| {
            if let Value::Str(s) = v {
                got = Some(s);
            }
            Ok(())
        })
        .unwrap();
        let s = got.unwrap().value(&mut scratch).unwrap();
        assert_eq!(s, "a\"b\\c/\né😀\u{fffd}".as_bytes());
    }

    #[test]
    fn scratch_too_small_is_reported() {
        let text = br#"{"k":"\n\n\n\n"}"#;
        let mut buf = [0u8; 2];
        let mut scratch = Scratch::new(&mut buf);
        let mut res = None;
        for_each_member(text, |_, v| {
            if let Value::Str(s) = v {
                res = Some(s.value(&mut scratch));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(res, Some(Err(JsonError::ScratchFull)));
    }

    #[test]
    fn integers() {
        assert_eq!(Value::Number(b"-42").as_i64(), Some(-42));
        assert_eq!(Value::Number(b"1.5").as_i64(), None);
        assert_eq!(Value::Number(b"99999999999999999999").as_i64(), None);
        assert_eq!(
            Value::Number(b"-9223372036854775808").as_i64(),
            Some(i64::MIN)
        );
    }

    pub(crate) mod text_gen {
        //! JSON-like text for the differential tests: well-formed values with random blanks,
        //! escapes and nesting, then sometimes a few byte edits or a cut.
        use proptest::prelude::*;

        fn blank() -> impl Strategy<Value = String> {
            prop::sample::select(vec!["", "", "", " ", "\n\t", "  \r"]).prop_map(String::from)
        }

        pub fn string() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop_oneof![
                    8 => "[a-zA-Z0-9:/._-]{1,12}",
                    1 => Just("\\\"".to_string()),
                    1 => Just("\\\\".to_string()),
                    1 => Just("\\n".to_string()),
                    1 => Just("\\u00e9".to_string()),
                    1 => Just("\\ud83d\\ude00".to_string()),
                    1 => Just("é".to_string()),
                ],
                0..4,
            )
            .prop_map(|parts| format!("\"{}\"", parts.concat()))
        }

        fn number() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<i64>().prop_map(|v| v.to_string()),
                (0u32..100000).prop_map(|v| v.to_string()),
                Just("-0.5e+3".to_string()),
                Just("1.25".to_string()),
                Just("99999999999999999999".to_string()),
            ]
        }

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "url",
                    "size",
                    "surl",
                    "rtm",
                    "custom",
                    "type",
                    "lang",
                    "duration",
                    "source",
                    "target",
                    "sourceText",
                    "targetText",
                    "k",
                ])
                .prop_map(|k| format!("\"{k}\"")),
                Just("\"r\\u0074m\"".to_string()),
                Just("\"cust\\u006fm\"".to_string()),
                string(),
            ]
        }

        pub fn value() -> impl Strategy<Value = String> {
            let leaf = prop_oneof![
                string(),
                number(),
                Just("true".to_string()),
                Just("false".to_string()),
                Just("null".to_string()),
                Just("\"audiomsg\"".to_string()),
            ];
            leaf.prop_recursive(5, 48, 6, |inner| {
                prop_oneof![
                    (prop::collection::vec((blank(), inner.clone(), blank()), 0..5)).prop_map(
                        |items| {
                            let items: Vec<String> =
                                items.into_iter().map(|(a, v, b)| a + &v + &b).collect();
                            format!("[{}]", items.join(","))
                        }
                    ),
                    prop::collection::vec((key(), blank(), inner, blank()), 0..6).prop_map(
                        |members| {
                            let members: Vec<String> = members
                                .into_iter()
                                .map(|(k, a, v, b)| format!("{k}{a}:{b}{v}"))
                                .collect();
                            format!("{{{}}}", members.join(","))
                        }
                    ),
                ]
            })
        }

        /// A value (mostly an object), maybe edited or cut, maybe deeply nested.
        pub fn text() -> impl Strategy<Value = Vec<u8>> {
            (
                prop_oneof![
                    4 => value().prop_filter("objects mostly", |v| v.starts_with('{')),
                    1 => value(),
                    1 => "[ -~]{0,12}",
                    1 => (0usize..80).prop_map(|d| format!("{{\"rtm\":{}1{}}}", "[".repeat(d), "]".repeat(d))),
                ],
                blank(),
                blank(),
                prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
                any::<prop::sample::Index>(),
                any::<u8>(),
            )
                .prop_map(|(v, a, b, edits, cut, mode)| {
                    let mut t = (a + &v + &b).into_bytes();
                    match mode % 5 {
                        0..=2 => {}
                        3 if !t.is_empty() => {
                            for (at, x) in edits {
                                let i = at.index(t.len());
                                t[i] = x;
                            }
                        }
                        _ => t.truncate(cut.index(t.len() + 1)),
                    }
                    t
                })
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2048,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The scanner gives the same members and the same result as the reference scanner.
        #[test]
        fn scanner_matches_the_reference(text in text_gen::text()) {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            let r1 = for_each_member(&text, |k, v| {
                ours.push((k, v));
                Ok(())
            });
            let r2 = reference::for_each_member(&text, |k, v| {
                theirs.push((k, v));
                Ok(())
            });
            proptest::prop_assert_eq!(r1, r2);
            proptest::prop_assert_eq!(ours, theirs);
        }
    }
}
