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

impl ReadError {
    /// A static description (without the marker byte of `UnexpectedType`), for logs and error
    /// answers that do without `core::fmt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Truncated => "msgpack value truncated",
            Self::ReservedMarker => "reserved msgpack marker 0xc1",
            Self::UnexpectedType(_) => "unexpected msgpack type",
            Self::IntOutOfRange => "msgpack integer out of range",
            Self::DepthExceeded => "msgpack nesting too deep",
        }
    }
}

impl core::fmt::Display for ReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())?;
        match self {
            Self::UnexpectedType(b) => write!(f, " (marker 0x{b:02x})"),
            _ => Ok(()),
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
///
/// The reads are thin wrappers over the slice-in, slice-out functions of this module
/// (`read_i64`, `read_bytes`, …), which the crate's decoders call directly so that their
/// cursor stays in registers.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The bytes not yet consumed.
    rest: &'a [u8],
    /// Length of the whole input, for [`Reader::position`].
    len: usize,
}

/// The word of a key of up to 8 bytes: its bytes little-endian, zero-padded. Keys compare as
/// `(length, word)`: two integer compares instead of a `memcmp` (see [`read_key`]).
pub(crate) const fn key_word(key: &[u8]) -> u64 {
    assert!(key.len() <= 8, "key words hold at most 8 bytes");
    let mut w = 0u64;
    let mut i = key.len();
    while i > 0 {
        i -= 1;
        w = (w << 8) | key[i] as u64;
    }
    w
}

/// A map key read by [`read_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    /// The key's bytes (a str or bin value).
    pub bytes: &'a [u8],
    /// [`key_word`] of the bytes when there are at most 8 of them, else 0 (such keys never
    /// match: every word constant is compared together with a length of at most 8).
    pub word: u64,
}

#[cold]
fn slow_word(bytes: &[u8]) -> u64 {
    if bytes.len() > 8 {
        return 0;
    }
    bytes
        .iter()
        .rev()
        .fold(0u64, |w, &b| (w << 8) | u64::from(b))
}

/// The marker and the bytes after it.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn marker(rest: &[u8]) -> Result<(u8, &[u8]), ReadError> {
    match rest.split_first() {
        Some((&b, rest)) => Ok((b, rest)),
        None => Err(ReadError::Truncated),
    }
}

/// `N` bytes off the front of `rest`.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn be<const N: usize>(rest: &[u8]) -> Result<([u8; N], &[u8]), ReadError> {
    match rest.split_first_chunk::<N>() {
        Some((a, rest)) => Ok((*a, rest)),
        None => Err(ReadError::Truncated),
    }
}

/// A big-endian length of `N` (1, 2 or 4) bytes off the front of `rest`.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn be_len<const N: usize>(rest: &[u8]) -> Result<(usize, &[u8]), ReadError> {
    let (a, rest) = be::<N>(rest)?;
    let mut n = 0u32;
    for b in a {
        n = (n << 8) | u32::from(b);
    }
    // A u32 length does not fit a 16-bit usize: no such input can be complete.
    let n = usize::try_from(n).map_err(|_| ReadError::Truncated)?;
    Ok((n, rest))
}

#[cfg_attr(not(rtm_opt_size), inline(always))]
fn check_count(n: usize, min_bytes_each: usize, rest: &[u8]) -> Result<(), ReadError> {
    if n.saturating_mul(min_bytes_each) > rest.len() {
        return Err(ReadError::Truncated);
    }
    Ok(())
}

/// Reads a map header off `rest`: the number of pairs, and the bytes after the header.
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn read_map_len(rest: &[u8]) -> Result<(usize, &[u8]), ReadError> {
    let (b, rest) = marker(rest)?;
    let (n, rest) = if b & 0xf0 == 0x80 {
        (usize::from(b & 0x0f), rest)
    } else {
        match b {
            m::MAP16 => be_len::<2>(rest)?,
            m::MAP32 => be_len::<4>(rest)?,
            _ => return Err(unexpected(b)),
        }
    };
    // Each pair needs at least two bytes: reject impossible counts up front.
    check_count(n, 2, rest)?;
    Ok((n, rest))
}

/// Reads an array header off `rest`.
#[inline]
fn read_array_len(rest: &[u8]) -> Result<(usize, &[u8]), ReadError> {
    let (b, rest) = marker(rest)?;
    let (n, rest) = match b {
        0x90..=0x9f => (usize::from(b & 0x0f), rest),
        m::ARRAY16 => be_len::<2>(rest)?,
        m::ARRAY32 => be_len::<4>(rest)?,
        _ => return Err(unexpected(b)),
    };
    check_count(n, 1, rest)?;
    Ok((n, rest))
}

/// Reads a str or bin value off `rest`.
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn read_bytes(rest: &[u8]) -> Result<(&[u8], &[u8]), ReadError> {
    let (b, rest) = marker(rest)?;
    if b & 0xe0 == 0xa0 {
        rest.split_at_checked(usize::from(b & 0x1f))
            .ok_or(ReadError::Truncated)
    } else {
        wide_bytes(b, rest)
    }
}

/// Reads a str or bin value off `rest` as a map [`Key`].
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn read_key(rest: &[u8]) -> Result<(Key<'_>, &[u8]), ReadError> {
    let (b, rest) = marker(rest)?;
    if b & 0xe0 != 0xa0 {
        let (bytes, after) = wide_bytes(b, rest)?;
        return Ok((
            Key {
                bytes,
                word: slow_word(bytes),
            },
            after,
        ));
    }
    let n = usize::from(b & 0x1f);
    let (bytes, after) = rest.split_at_checked(n).ok_or(ReadError::Truncated)?;
    // Fast path: 8 bytes readable from the key's start (the key and what follows it), so one
    // load and a mask give the word.
    let word = match rest.first_chunk::<8>() {
        Some(w) if n <= 8 => {
            // n <= 8, so the shift is 0..=64 bits; checked_shl turns 64 into 0.
            u64::from_le_bytes(*w) & 1u64.checked_shl(8 * n as u32).unwrap_or(0).wrapping_sub(1)
        }
        _ => slow_word(bytes),
    };
    Ok((Key { bytes, word }, after))
}

/// Reads any integer family off `rest`, converted to `i64` (a `uint64` above `i64::MAX` is
/// [`ReadError::IntOutOfRange`]).
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn read_i64(rest: &[u8]) -> Result<(i64, &[u8]), ReadError> {
    let (b, after) = marker(rest)?;
    match b {
        0x00..=0x7f => Ok((i64::from(b), after)),
        0xe0..=0xff => Ok((i64::from(b as i8), after)),
        _ => wide_i64(b, after),
    }
}

/// Reads any integer family off `rest` without narrowing.
#[inline]
fn read_int(rest: &[u8]) -> Result<(Int, &[u8]), ReadError> {
    let (b, after) = marker(rest)?;
    match b {
        0x00..=0x7f => Ok((Int::Unsigned(u64::from(b)), after)),
        0xe0..=0xff => Ok((Int::Signed(i64::from(b as i8)), after)),
        _ => wide_int(b, after),
    }
}

/// The integer after marker `b` (not a fixint), and the bytes after it.
#[inline]
fn wide_int(b: u8, rest: &[u8]) -> Result<(Int, &[u8]), ReadError> {
    fn u(v: (u64, &[u8])) -> (Int, &[u8]) {
        (Int::Unsigned(v.0), v.1)
    }
    fn i(v: (i64, &[u8])) -> (Int, &[u8]) {
        (Int::Signed(v.0), v.1)
    }
    Ok(match b {
        m::U8 => u(be::<1>(rest).map(|(a, r)| (u64::from(a[0]), r))?),
        m::U16 => u(be::<2>(rest).map(|(a, r)| (u64::from(u16::from_be_bytes(a)), r))?),
        m::U32 => u(be::<4>(rest).map(|(a, r)| (u64::from(u32::from_be_bytes(a)), r))?),
        m::U64 => u(be::<8>(rest).map(|(a, r)| (u64::from_be_bytes(a), r))?),
        m::I8 => i(be::<1>(rest).map(|(a, r)| (i64::from(a[0] as i8), r))?),
        m::I16 => i(be::<2>(rest).map(|(a, r)| (i64::from(i16::from_be_bytes(a)), r))?),
        m::I32 => i(be::<4>(rest).map(|(a, r)| (i64::from(i32::from_be_bytes(a)), r))?),
        m::I64 => i(be::<8>(rest).map(|(a, r)| (i64::from_be_bytes(a), r))?),
        _ => return Err(unexpected(b)),
    })
}

/// [`wide_int`] straight to `i64`.
#[inline]
fn wide_i64(b: u8, rest: &[u8]) -> Result<(i64, &[u8]), ReadError> {
    Ok(match b {
        m::U8 => be::<1>(rest).map(|(a, r)| (i64::from(a[0]), r))?,
        m::U16 => be::<2>(rest).map(|(a, r)| (i64::from(u16::from_be_bytes(a)), r))?,
        m::U32 => be::<4>(rest).map(|(a, r)| (i64::from(u32::from_be_bytes(a)), r))?,
        m::U64 => {
            let (a, r) = be::<8>(rest)?;
            match i64::try_from(u64::from_be_bytes(a)) {
                Ok(v) => (v, r),
                Err(_) => return Err(ReadError::IntOutOfRange),
            }
        }
        m::I8 => be::<1>(rest).map(|(a, r)| (i64::from(a[0] as i8), r))?,
        m::I16 => be::<2>(rest).map(|(a, r)| (i64::from(i16::from_be_bytes(a)), r))?,
        m::I32 => be::<4>(rest).map(|(a, r)| (i64::from(i32::from_be_bytes(a)), r))?,
        m::I64 => be::<8>(rest).map(|(a, r)| (i64::from_be_bytes(a), r))?,
        _ => return Err(unexpected(b)),
    })
}

/// The str/bin after marker `b` (not a fixstr), and the bytes after it.
#[inline]
fn wide_bytes(b: u8, rest: &[u8]) -> Result<(&[u8], &[u8]), ReadError> {
    let (n, rest) = match b {
        m::STR8 | m::BIN8 => be_len::<1>(rest)?,
        m::STR16 | m::BIN16 => be_len::<2>(rest)?,
        m::STR32 | m::BIN32 => be_len::<4>(rest)?,
        _ => return Err(unexpected(b)),
    };
    rest.split_at_checked(n).ok_or(ReadError::Truncated)
}

// ---------------------------------------------------------------------------------------------
// Fast paths: `Option` results, no error detail.
//
// The hot decoders of speed builds read with these (size builds, `rtm_opt_size`, decode with
// the exact readers only and leave these unused). They return `None` wherever the `read_*` functions above
// return an error (and the same value otherwise); a decoder that meets `None` re-decodes with
// the `read_*` functions to report the exact error. `Option<(T, &[u8])>` keeps its `None` in the
// slice pointer's niche, so results stay in registers, without the error's bytes overlapping
// the value.
// ---------------------------------------------------------------------------------------------

/// [`read_bytes`] without the error.
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn bytes_fast(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&b, rest) = rest.split_first()?;
    if b & 0xe0 == 0xa0 {
        return rest.split_at_checked(usize::from(b & 0x1f));
    }
    wide_bytes_fast(b, rest)
}

#[cfg(any(test, not(rtm_opt_size)))]
#[inline]
fn wide_bytes_fast(b: u8, rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let (n, rest) = match b {
        m::STR8 | m::BIN8 => {
            let (&n, rest) = rest.split_first()?;
            (usize::from(n), rest)
        }
        m::STR16 | m::BIN16 => {
            let (a, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*a)), rest)
        }
        m::STR32 | m::BIN32 => {
            let (a, rest) = rest.split_first_chunk::<4>()?;
            (usize::try_from(u32::from_be_bytes(*a)).ok()?, rest)
        }
        _ => return None,
    };
    rest.split_at_checked(n)
}

/// The word of a key as it is encoded: the fixstr marker, then the name (at most 7 bytes),
/// little-endian and zero-padded. The marker holds the length, so equal words are equal keys.
#[cfg(any(test, not(rtm_opt_size)))]
pub(crate) const fn fixkey_word(name: &[u8]) -> u64 {
    assert!(
        name.len() <= 7,
        "fixkey words hold names of at most 7 bytes"
    );
    let mut w = 0u64;
    let mut i = name.len();
    while i > 0 {
        i -= 1;
        w = (w << 8) | name[i] as u64;
    }
    (w << 8) | (0xa0 | name.len() as u64)
}

/// [`read_i64`] without the error.
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn i64_fast(rest: &[u8]) -> Option<(i64, &[u8])> {
    let (&b, after) = rest.split_first()?;
    match b {
        0x00..=0x7f => Some((i64::from(b), after)),
        0xe0..=0xff => Some((i64::from(b as i8), after)),
        _ => sized_int_fast(b, after),
    }
}

/// `uint8..uint64` and `int8..int64` after their marker `b`; `None` for any other marker.
#[cfg(any(test, not(rtm_opt_size)))]
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn sized_int_fast(b: u8, rest: &[u8]) -> Option<(i64, &[u8])> {
    fn take<const N: usize>(rest: &[u8]) -> Option<([u8; N], &[u8])> {
        rest.split_first_chunk::<N>().map(|(a, r)| (*a, r))
    }
    Some(match b {
        m::U8 => take::<1>(rest).map(|(a, r)| (i64::from(a[0]), r))?,
        m::U16 => take::<2>(rest).map(|(a, r)| (i64::from(u16::from_be_bytes(a)), r))?,
        m::U32 => take::<4>(rest).map(|(a, r)| (i64::from(u32::from_be_bytes(a)), r))?,
        m::U64 => {
            let (a, r) = take::<8>(rest)?;
            (i64::try_from(u64::from_be_bytes(a)).ok()?, r)
        }
        m::I8 => take::<1>(rest).map(|(a, r)| (i64::from(a[0] as i8), r))?,
        m::I16 => take::<2>(rest).map(|(a, r)| (i64::from(i16::from_be_bytes(a)), r))?,
        m::I32 => take::<4>(rest).map(|(a, r)| (i64::from(i32::from_be_bytes(a)), r))?,
        m::I64 => take::<8>(rest).map(|(a, r)| (i64::from_be_bytes(a), r))?,
        _ => return None,
    })
}

/// Skips one complete value of any type off `rest`, nested containers included.
///
/// Iterative: a fixed stack of [`MAX_DEPTH`] counters, no recursion. Kept out of line: the
/// decoders call it only for unknown keys and nil values.
#[inline(never)]
pub(crate) fn skip(rest: &[u8]) -> Result<&[u8], ReadError> {
    // A scalar needs no stack.
    let (children, mut rest) = skip_scalar_or_header(rest)?;
    if children == 0 {
        return Ok(rest);
    }
    // pending[d] = values still to skip at nesting level d; the top value is level 0 and its
    // header is read, so its children are level 1.
    let mut pending = [0usize; MAX_DEPTH + 1];
    let mut depth = 1usize;
    pending[1] = children;
    loop {
        // Pop finished levels.
        while pending[depth] == 0 {
            if depth == 0 {
                return Ok(rest);
            }
            depth -= 1;
        }
        pending[depth] -= 1;
        let (children, after) = skip_scalar_or_header(rest)?;
        rest = after;
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
fn skip_scalar_or_header(all: &[u8]) -> Result<(usize, &[u8]), ReadError> {
    let (b, rest) = marker(all)?;
    // A value of `n` bytes in all, marker included.
    let fixed = |n: usize| match all.get(n..) {
        Some(after) => Ok((0usize, after)),
        None => Err(ReadError::Truncated),
    };
    match b {
        0x00..=0x7f | 0xe0..=0xff | m::NIL | m::FALSE | m::TRUE => Ok((0, rest)),
        0x80..=0x8f | m::MAP16 | m::MAP32 => read_map_len(all).map(|(n, r)| (n * 2, r)),
        0x90..=0x9f | m::ARRAY16 | m::ARRAY32 => read_array_len(all),
        0xa0..=0xbf | m::STR8 | m::STR16 | m::STR32 | m::BIN8 | m::BIN16 | m::BIN32 => {
            read_bytes(all).map(|(_, r)| (0, r))
        }
        m::U8 | m::I8 => fixed(2),
        m::U16 | m::I16 => fixed(3),
        m::U32 | m::I32 | m::F32 => fixed(5),
        m::U64 | m::I64 | m::F64 => fixed(9),
        m::FIXEXT1 => fixed(3),
        m::FIXEXT2 => fixed(4),
        m::FIXEXT4 => fixed(6),
        m::FIXEXT8 => fixed(10),
        m::FIXEXT16 => fixed(18),
        m::EXT8 | m::EXT16 | m::EXT32 => {
            let (n, rest) = match b {
                m::EXT8 => be_len::<1>(rest)?,
                m::EXT16 => be_len::<2>(rest)?,
                _ => be_len::<4>(rest)?,
            };
            // One type byte, then the data.
            let n = n.checked_add(1).ok_or(ReadError::Truncated)?;
            Ok((0, rest.get(n..).ok_or(ReadError::Truncated)?))
        }
        _ => Err(ReadError::ReservedMarker),
    }
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            rest: buf,
            len: buf.len(),
        }
    }

    /// Bytes consumed so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.len - self.rest.len()
    }

    /// Bytes not yet consumed.
    #[inline]
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// The marker of the next value, without consuming it.
    #[inline]
    pub fn peek_marker(&self) -> Result<u8, ReadError> {
        self.rest.first().copied().ok_or(ReadError::Truncated)
    }

    /// Whether the next value is `nil`.
    #[inline]
    pub fn is_nil(&self) -> bool {
        self.rest.first() == Some(&m::NIL)
    }

    /// Runs a slice-in, slice-out read and moves past the value only when it succeeds.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn step<T>(
        &mut self,
        read: impl FnOnce(&'a [u8]) -> Result<(T, &'a [u8]), ReadError>,
    ) -> Result<T, ReadError> {
        let (v, rest) = read(self.rest)?;
        self.rest = rest;
        Ok(v)
    }

    /// Consumes a `nil`.
    #[inline]
    pub fn read_nil(&mut self) -> Result<(), ReadError> {
        self.step(|rest| match marker(rest)? {
            (m::NIL, rest) => Ok(((), rest)),
            (b, _) => Err(unexpected(b)),
        })
    }

    /// Reads a boolean.
    #[inline]
    pub fn read_bool(&mut self) -> Result<bool, ReadError> {
        self.step(|rest| match marker(rest)? {
            (m::FALSE, rest) => Ok((false, rest)),
            (m::TRUE, rest) => Ok((true, rest)),
            (b, _) => Err(unexpected(b)),
        })
    }

    /// Reads any integer family without narrowing.
    #[inline]
    pub fn read_int(&mut self) -> Result<Int, ReadError> {
        self.step(read_int)
    }

    /// Reads an integer as `i64` (range-checked).
    #[inline]
    pub fn read_i64(&mut self) -> Result<i64, ReadError> {
        self.step(read_i64)
    }

    /// Reads an integer as `u64` (range-checked).
    #[inline]
    pub fn read_u64(&mut self) -> Result<u64, ReadError> {
        self.step(|rest| {
            let (v, rest) = read_int(rest)?;
            Ok((v.to_u64().ok_or(ReadError::IntOutOfRange)?, rest))
        })
    }

    /// Reads an integer and narrows it to `T` (range-checked).
    #[inline]
    pub fn read_narrow<T: TryFrom<i64> + TryFrom<u64>>(&mut self) -> Result<T, ReadError> {
        self.step(|rest| {
            let (v, rest) = read_int(rest)?;
            Ok((v.narrow().ok_or(ReadError::IntOutOfRange)?, rest))
        })
    }

    /// Reads a string or binary value as raw bytes (no UTF-8 check: binary messages are legal).
    #[inline]
    pub fn read_bytes(&mut self) -> Result<&'a [u8], ReadError> {
        self.step(read_bytes)
    }

    /// Reads a map header and returns its number of key/value pairs.
    #[inline]
    pub fn read_map_len(&mut self) -> Result<usize, ReadError> {
        self.step(read_map_len)
    }

    /// Reads an array header and returns its number of elements.
    #[inline]
    pub fn read_array_len(&mut self) -> Result<usize, ReadError> {
        self.step(read_array_len)
    }

    /// Skips one complete value of any type, nested containers included.
    ///
    /// Iterative: a fixed stack of [`MAX_DEPTH`] counters, no recursion.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        self.rest = skip(self.rest)?;
        Ok(())
    }
}

#[cold]
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

    mod fast_paths {
        use super::super::*;
        use proptest::prelude::*;

        /// Bytes that start like msgpack values: a marker of any kind, then anything.
        fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..24)).prop_map(|(m, rest)| {
                let mut v = vec![m];
                v.extend(rest);
                v
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 4096,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            /// Each fast read gives `None` exactly where the exact read fails, and the same value
            /// and rest otherwise.
            #[test]
            fn fast_reads_match_exact_reads(b in value_bytes()) {
                prop_assert_eq!(i64_fast(&b), read_i64(&b).ok());
                prop_assert_eq!(bytes_fast(&b), read_bytes(&b).ok());
            }
        }
    }
}
