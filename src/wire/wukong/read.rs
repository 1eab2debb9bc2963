//! The field reader and writer the packets share: big-endian integers, and strings as an
//! `i16` length then that many bytes.

/// Why a packet body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadError {
    /// The body ends inside the named field.
    Truncated(&'static str),
    /// The named string's length is negative (the server's decoder refuses those too).
    NegativeLength(&'static str),
}

impl ReadError {
    /// A short fixed description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Truncated(_) => "WuKongIM packet body ends inside a field",
            Self::NegativeLength(_) => "WuKongIM string with a negative length",
        }
    }
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated(field) => write!(f, "WuKongIM packet body ends inside `{field}`"),
            Self::NegativeLength(field) => {
                write!(f, "WuKongIM string `{field}` of negative length")
            }
        }
    }
}

impl core::error::Error for ReadError {}

/// Reads fields from the front of a packet body.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `body`.
    pub fn new(body: &'a [u8]) -> Self {
        Self { rest: body }
    }

    /// What is left (a payload is "the rest of the body").
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ReadError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(ReadError::Truncated(field))?;
        self.rest = rest;
        Ok(*head)
    }

    /// A `u8`.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, ReadError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian `i32`.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, ReadError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, ReadError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A big-endian `i64`.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, ReadError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A string: an `i16` length, then that many bytes (not checked as UTF-8: ids and keys
    /// are compared and copied as bytes).
    pub fn string(&mut self, field: &'static str) -> Result<&'a [u8], ReadError> {
        let len = i16::from_be_bytes(self.array(field)?);
        let len = usize::try_from(len).map_err(|_| ReadError::NegativeLength(field))?;
        let (s, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(ReadError::Truncated(field))?;
        self.rest = rest;
        Ok(s)
    }
}

/// Writes fields into an output buffer; remembers running out of room instead of failing at
/// each field, so a builder writes straight through and checks once.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
    /// Bytes the fields need in all (grows past `out.len()` when it is too short).
    needed: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `out`.
    pub fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            at: 0,
            needed: 0,
        }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.needed += b.len();
        if let Some(dst) = self.out.get_mut(self.at..self.at + b.len()) {
            dst.copy_from_slice(b);
            self.at += b.len();
        } else {
            // Out of room: nothing more is written (the caller reports the size needed).
            self.at = self.out.len() + 1;
        }
    }

    /// A `u8`.
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian `i64`.
    pub fn i64(&mut self, v: i64) {
        self.bytes(&v.to_be_bytes());
    }

    /// A string; `false` (and nothing written) when it is longer than `i16::MAX` bytes.
    pub fn string(&mut self, s: &[u8]) -> bool {
        let Ok(len) = i16::try_from(s.len()) else {
            return false;
        };
        self.bytes(&len.to_be_bytes());
        self.bytes(s);
        true
    }

    /// The bytes written, or the size needed when `out` was too short.
    pub fn finish(self) -> Result<usize, usize> {
        if self.needed <= self.out.len() && self.at == self.needed {
            Ok(self.needed)
        } else {
            Err(self.needed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_and_short_bodies_name_their_field() {
        let mut out = [0u8; 32];
        let mut w = Writer::new(&mut out);
        w.u8(7);
        w.u32(0x0102_0304);
        w.i64(-2);
        assert!(w.string(b"uid"));
        let n = w.finish().unwrap();
        assert_eq!(n, 1 + 4 + 8 + 2 + 3);
        let mut r = Reader::new(&out[..n]);
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.u32("b"), Ok(0x0102_0304));
        assert_eq!(r.i64("c"), Ok(-2));
        assert_eq!(r.string("d"), Ok(&b"uid"[..]));
        assert!(r.is_empty());
        assert_eq!(
            Reader::new(&[0, 5, b'a']).string("uid"),
            Err(ReadError::Truncated("uid"))
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff]).string("uid"),
            Err(ReadError::NegativeLength("uid"))
        );
        assert_eq!(
            Reader::new(&[1, 2, 3]).u32("seq"),
            Err(ReadError::Truncated("seq"))
        );
    }

    #[test]
    fn a_short_buffer_reports_the_size_needed() {
        let mut out = [0u8; 4];
        let mut w = Writer::new(&mut out);
        w.u64(1);
        w.u8(2);
        assert_eq!(w.finish(), Err(9));
    }
}
