//! A small validating JSON scanner over borrowed bytes, for the JSON that RTM carries inside
//! message strings (translated chat, file info).
//!
//! It allocates nothing. Strings without escapes are returned as sub-slices of the input;
//! strings with escapes are unescaped into a caller-provided [`Scratch`] buffer (`\uXXXX` and
//! surrogate pairs become UTF-8; a lone surrogate becomes U+FFFD). Nesting is bounded by
//! [`MAX_DEPTH`] and scanned without recursion. Any syntax error is reported, never panics,
//! and callers degrade to the raw text.

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
}

impl core::fmt::Display for JsonError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Syntax(at) => write!(f, "JSON syntax error at byte {at}"),
            Self::NotObject => f.write_str("JSON value is not an object"),
            Self::DepthExceeded => f.write_str("JSON nesting too deep"),
            Self::ScratchFull => f.write_str("scratch buffer too small for unescaped JSON string"),
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

    fn expect(&mut self, b: u8) -> Result<(), JsonError> {
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
        self.expect(b'"')?;
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
                        self.expect(b':')?;
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
                            self.expect(b':')?;
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
pub fn for_each_member<'a>(
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
            c.expect(b':')?;
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

#[cfg(test)]
mod tests {
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
}
