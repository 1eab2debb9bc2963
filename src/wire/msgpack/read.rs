//! Zero-copy msgpack reader.
//!
//! [`Reader`] walks a byte slice and hands out borrowed views. It tolerates everything peers
//! are known to send (reference §2.2):
//!
//! - every integer family (positive/negative fixint, `uint8..uint64`, `int8..int64`), converted
//!   to the requested width with a range check ([`ReadError::IntOutOfRange`]);
//! - `fixstr`, `str8/16/32`, and `bin8/16/32` wherever a string is expected;
//! - `nil` (callers decide whether it means "absent");
//! - arbitrary values skipped by [`Reader::skip`], including nested maps and arrays, bounded by
//!   [`MAX_DEPTH`] without recursion.
//!
//! No method panics on any input: every length is checked against the remaining bytes before a
//! slice is taken. A read that fails leaves the cursor where it was, so the caller may still
//! [`Reader::skip`] the value (for example one of an unexpected type or out of range).

use super::marker as m;

/// Deepest nesting [`Reader::skip`] accepts before giving up with [`ReadError::DepthExceeded`].
pub const MAX_DEPTH: usize = 32;

/// Why a msgpack value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReadError {
    /// The input ended inside a value.
    Truncated,
    /// The byte `0xc1`, which msgpack never uses.
    ReservedMarker,
    /// A value of another type was found (the marker byte is given).
    UnexpectedType(u8),
    /// An integer does not fit the requested width or sign.
    IntOutOfRange,
    /// Nested maps/arrays deeper than [`MAX_DEPTH`].
    DepthExceeded,
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated => f.write_str("msgpack value truncated"),
            Self::ReservedMarker => f.write_str("reserved msgpack marker 0xc1"),
            Self::UnexpectedType(b) => write!(f, "unexpected msgpack type (marker 0x{b:02x})"),
            Self::IntOutOfRange => f.write_str("msgpack integer out of range"),
            Self::DepthExceeded => f.write_str("msgpack nesting too deep"),
        }
    }
}

impl core::error::Error for ReadError {}

/// An integer as read off the wire, before narrowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int {
    /// Any value written with an unsigned marker or a positive fixint.
    Unsigned(u64),
    /// A value written with a signed marker or a negative fixint.
    Signed(i64),
}

impl Int {
    /// The value as `i64`, if it fits.
    pub fn to_i64(self) -> Option<i64> {
        match self {
            Int::Unsigned(u) => i64::try_from(u).ok(),
            Int::Signed(i) => Some(i),
        }
    }

    /// The value as `u64`, if it is non-negative.
    pub fn to_u64(self) -> Option<u64> {
        match self {
            Int::Unsigned(u) => Some(u),
            Int::Signed(i) => u64::try_from(i).ok(),
        }
    }

    /// The value narrowed to `T` with a range check.
    pub fn narrow<T: TryFrom<i64> + TryFrom<u64>>(self) -> Option<T> {
        match self {
            Int::Unsigned(u) => T::try_from(u).ok(),
            Int::Signed(i) => T::try_from(i).ok(),
        }
    }
}

/// A cursor over one msgpack-encoded byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// The marker of the next value, without consuming it.
    pub fn peek_marker(&self) -> Result<u8, ReadError> {
        self.buf.get(self.pos).copied().ok_or(ReadError::Truncated)
    }

    /// Whether the next value is `nil`.
    pub fn is_nil(&self) -> bool {
        self.buf.get(self.pos) == Some(&m::NIL)
    }

    /// Runs `read`, restoring the position when it fails part-way through a value.
    fn atomic<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        let start = self.pos;
        let result = read(self);
        if result.is_err() {
            self.pos = start;
        }
        result
    }

    fn byte(&mut self) -> Result<u8, ReadError> {
        let b = self.peek_marker()?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(ReadError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn be_len(&mut self, width: usize) -> Result<usize, ReadError> {
        let n = match width {
            1 => u64::from(self.byte()?),
            2 => u64::from(u16::from_be_bytes(self.be()?)),
            _ => u64::from(u32::from_be_bytes(self.be()?)),
        };
        usize::try_from(n).map_err(|_| ReadError::Truncated)
    }

    /// Consumes a `nil`.
    pub fn read_nil(&mut self) -> Result<(), ReadError> {
        match self.peek_marker()? {
            m::NIL => {
                self.pos += 1;
                Ok(())
            }
            b => Err(unexpected(b)),
        }
    }

    /// Reads a boolean.
    pub fn read_bool(&mut self) -> Result<bool, ReadError> {
        let v = match self.peek_marker()? {
            m::FALSE => false,
            m::TRUE => true,
            b => return Err(unexpected(b)),
        };
        self.pos += 1;
        Ok(v)
    }

    /// Reads any integer family without narrowing.
    pub fn read_int(&mut self) -> Result<Int, ReadError> {
        self.atomic(Self::read_int_inner)
    }

    fn read_int_inner(&mut self) -> Result<Int, ReadError> {
        let b = self.peek_marker()?;
        let v = match b {
            0x00..=0x7f => {
                self.pos += 1;
                Int::Unsigned(u64::from(b))
            }
            0xe0..=0xff => {
                self.pos += 1;
                Int::Signed(i64::from(b as i8))
            }
            m::U8 | m::U16 | m::U32 | m::U64 | m::I8 | m::I16 | m::I32 | m::I64 => {
                self.pos += 1;
                match b {
                    m::U8 => Int::Unsigned(u64::from(self.byte()?)),
                    m::U16 => Int::Unsigned(u64::from(u16::from_be_bytes(self.be()?))),
                    m::U32 => Int::Unsigned(u64::from(u32::from_be_bytes(self.be()?))),
                    m::U64 => Int::Unsigned(u64::from_be_bytes(self.be()?)),
                    m::I8 => Int::Signed(i64::from(i8::from_be_bytes(self.be()?))),
                    m::I16 => Int::Signed(i64::from(i16::from_be_bytes(self.be()?))),
                    m::I32 => Int::Signed(i64::from(i32::from_be_bytes(self.be()?))),
                    _ => Int::Signed(i64::from_be_bytes(self.be()?)),
                }
            }
            _ => return Err(unexpected(b)),
        };
        Ok(v)
    }

    /// Reads an integer as `i64` (range-checked).
    pub fn read_i64(&mut self) -> Result<i64, ReadError> {
        self.atomic(|r| r.read_int()?.to_i64().ok_or(ReadError::IntOutOfRange))
    }

    /// Reads an integer as `u64` (range-checked).
    pub fn read_u64(&mut self) -> Result<u64, ReadError> {
        self.atomic(|r| r.read_int()?.to_u64().ok_or(ReadError::IntOutOfRange))
    }

    /// Reads an integer and narrows it to `T` (range-checked).
    pub fn read_narrow<T: TryFrom<i64> + TryFrom<u64>>(&mut self) -> Result<T, ReadError> {
        self.atomic(|r| r.read_int()?.narrow().ok_or(ReadError::IntOutOfRange))
    }

    /// Reads a string or binary value as raw bytes (no UTF-8 check: binary messages are legal).
    pub fn read_bytes(&mut self) -> Result<&'a [u8], ReadError> {
        self.atomic(Self::read_bytes_inner)
    }

    fn read_bytes_inner(&mut self) -> Result<&'a [u8], ReadError> {
        let b = self.peek_marker()?;
        let n = match b {
            0xa0..=0xbf => {
                self.pos += 1;
                usize::from(b & 0x1f)
            }
            m::STR8 | m::BIN8 => {
                self.pos += 1;
                self.be_len(1)?
            }
            m::STR16 | m::BIN16 => {
                self.pos += 1;
                self.be_len(2)?
            }
            m::STR32 | m::BIN32 => {
                self.pos += 1;
                self.be_len(4)?
            }
            _ => return Err(unexpected(b)),
        };
        self.take(n)
    }

    /// Reads a map header and returns its number of key/value pairs.
    pub fn read_map_len(&mut self) -> Result<usize, ReadError> {
        self.atomic(Self::read_map_len_inner)
    }

    fn read_map_len_inner(&mut self) -> Result<usize, ReadError> {
        let b = self.peek_marker()?;
        let n = match b {
            0x80..=0x8f => {
                self.pos += 1;
                usize::from(b & 0x0f)
            }
            m::MAP16 => {
                self.pos += 1;
                self.be_len(2)?
            }
            m::MAP32 => {
                self.pos += 1;
                self.be_len(4)?
            }
            _ => return Err(unexpected(b)),
        };
        // Each pair needs at least two bytes: reject impossible counts up front.
        self.check_count(n, 2)?;
        Ok(n)
    }

    /// Reads an array header and returns its number of elements.
    pub fn read_array_len(&mut self) -> Result<usize, ReadError> {
        self.atomic(Self::read_array_len_inner)
    }

    fn read_array_len_inner(&mut self) -> Result<usize, ReadError> {
        let b = self.peek_marker()?;
        let n = match b {
            0x90..=0x9f => {
                self.pos += 1;
                usize::from(b & 0x0f)
            }
            m::ARRAY16 => {
                self.pos += 1;
                self.be_len(2)?
            }
            m::ARRAY32 => {
                self.pos += 1;
                self.be_len(4)?
            }
            _ => return Err(unexpected(b)),
        };
        self.check_count(n, 1)?;
        Ok(n)
    }

    fn check_count(&self, n: usize, min_bytes_each: usize) -> Result<(), ReadError> {
        let left = self.buf.len().saturating_sub(self.pos);
        if n.saturating_mul(min_bytes_each) > left {
            return Err(ReadError::Truncated);
        }
        Ok(())
    }

    /// Skips one complete value of any type, nested containers included.
    ///
    /// Iterative: a fixed stack of [`MAX_DEPTH`] counters, no recursion.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        self.atomic(Self::skip_inner)
    }

    fn skip_inner(&mut self) -> Result<(), ReadError> {
        // pending[d] = values still to skip at nesting level d.
        let mut pending = [0usize; MAX_DEPTH + 1];
        let mut depth = 0usize;
        pending[0] = 1;
        loop {
            // Pop finished levels.
            while pending[depth] == 0 {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
            }
            pending[depth] -= 1;
            let children = self.skip_scalar_or_header()?;
            if children > 0 {
                if depth == MAX_DEPTH {
                    return Err(ReadError::DepthExceeded);
                }
                depth += 1;
                pending[depth] = children;
            }
        }
    }

    /// Skips a scalar, or consumes a container header and returns how many values it holds.
    fn skip_scalar_or_header(&mut self) -> Result<usize, ReadError> {
        let b = self.peek_marker()?;
        let skip_n = |r: &mut Self, n: usize| r.take(n).map(|_| 0usize);
        match b {
            0x00..=0x7f | 0xe0..=0xff | m::NIL | m::FALSE | m::TRUE => skip_n(self, 1),
            0x80..=0x8f | m::MAP16 | m::MAP32 => {
                let n = self.read_map_len()?;
                Ok(n * 2)
            }
            0x90..=0x9f | m::ARRAY16 | m::ARRAY32 => self.read_array_len(),
            0xa0..=0xbf | m::STR8 | m::STR16 | m::STR32 | m::BIN8 | m::BIN16 | m::BIN32 => {
                self.read_bytes().map(|_| 0)
            }
            m::U8 | m::I8 => skip_n(self, 2),
            m::U16 | m::I16 => skip_n(self, 3),
            m::U32 | m::I32 | m::F32 => skip_n(self, 5),
            m::U64 | m::I64 | m::F64 => skip_n(self, 9),
            m::FIXEXT1 => skip_n(self, 3),
            m::FIXEXT2 => skip_n(self, 4),
            m::FIXEXT4 => skip_n(self, 6),
            m::FIXEXT8 => skip_n(self, 10),
            m::FIXEXT16 => skip_n(self, 18),
            m::EXT8 | m::EXT16 | m::EXT32 => {
                self.pos += 1;
                let width = match b {
                    m::EXT8 => 1,
                    m::EXT16 => 2,
                    _ => 4,
                };
                let n = self.be_len(width)?;
                // One type byte, then the data.
                skip_n(self, n.checked_add(1).ok_or(ReadError::Truncated)?)
            }
            _ => Err(ReadError::ReservedMarker),
        }
    }
}

fn unexpected(b: u8) -> ReadError {
    if b == m::RESERVED {
        ReadError::ReservedMarker
    } else {
        ReadError::UnexpectedType(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_of_every_family() {
        let cases: &[(&[u8], Int)] = &[
            (&[0x05], Int::Unsigned(5)),
            (&[0xff], Int::Signed(-1)),
            (&[0xcc, 0xc8], Int::Unsigned(200)),
            (&[0xd1, 0x00, 0xc8], Int::Signed(200)),
            (&[0xd2, 0x04, 0xc4, 0xb4, 0x47], Int::Signed(80_000_071)),
            (&[0xce, 0x04, 0xc4, 0xb4, 0x47], Int::Unsigned(80_000_071)),
            (&[0xd0, 0x80], Int::Signed(-128)),
        ];
        for (bytes, want) in cases {
            assert_eq!(Reader::new(bytes).read_int(), Ok(*want), "{bytes:02x?}");
        }
    }

    #[test]
    fn narrowing_is_range_checked() {
        let mut r = Reader::new(&[0xcd, 0x01, 0x00]);
        assert_eq!(r.read_narrow::<u8>(), Err(ReadError::IntOutOfRange));
        let mut r = Reader::new(&[0xff]);
        assert_eq!(r.read_u64(), Err(ReadError::IntOutOfRange));
        let mut r = Reader::new(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.read_i64(), Err(ReadError::IntOutOfRange));
    }

    #[test]
    fn skip_refuses_deep_nesting() {
        let deep = [0x91u8; MAX_DEPTH + 2];
        assert_eq!(Reader::new(&deep).skip(), Err(ReadError::DepthExceeded));
        let mut ok = [0x91u8; MAX_DEPTH + 1];
        ok[MAX_DEPTH] = 0x01;
        let mut r = Reader::new(&ok);
        assert_eq!(r.skip(), Ok(()));
        assert_eq!(r.position(), ok.len());
    }

    #[test]
    fn huge_counts_are_truncation_not_overflow() {
        assert_eq!(
            Reader::new(&[0xdf, 0xff, 0xff, 0xff, 0xff]).read_map_len(),
            Err(ReadError::Truncated)
        );
        assert_eq!(
            Reader::new(&[0xdb, 0xff, 0xff, 0xff, 0xff]).read_bytes(),
            Err(ReadError::Truncated)
        );
        assert_eq!(Reader::new(&[0xc1]).skip(), Err(ReadError::ReservedMarker));
    }
}
