//! A reference msgpack tokenizer, written from the msgpack specification and the documented
//! rules of `rtm_listen::wire::msgpack::Reader` (not from its code):
//!
//! - `0xc1` is an error (`Reserved`), never a value;
//! - a container whose count cannot fit the remaining bytes (one byte per array element, two
//!   per map pair) is `Truncated` as soon as its header is read;
//! - skipping fails with `Depth` on a non-empty container nested 32 levels below the value
//!   being skipped (the top value is level 0): `MAX_DEPTH` = 32 levels of children.
//!
//! Recursive on purpose (the crate's skip is iterative with a fixed stack): two different
//! shapes of the same rules.

/// Why a value is not well-formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MErr {
    Truncated,
    Reserved,
    Depth,
}

/// One msgpack token: a scalar with its data, or a container header with its count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok<'a> {
    Nil,
    Bool(bool),
    /// Positive fixint and `uint8..uint64`.
    UInt(u64),
    /// Negative fixint and `int8..int64`.
    SInt(i64),
    F32(u32),
    F64(u64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Ext(i8, &'a [u8]),
    Array(usize),
    Map(usize),
}

/// The crate's nesting limit (`rtm_listen::wire::msgpack::MAX_DEPTH`).
pub const MAX_DEPTH: usize = 32;

fn take(b: &[u8], n: usize) -> Result<(&[u8], &[u8]), MErr> {
    if b.len() < n {
        Err(MErr::Truncated)
    } else {
        Ok(b.split_at(n))
    }
}

fn be(b: &[u8], n: usize) -> Result<(u64, &[u8]), MErr> {
    let (a, rest) = take(b, n)?;
    Ok((
        a.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
        rest,
    ))
}

/// Reads one token off `b`; returns it and the number of bytes it used (for a container, only
/// its header). A container whose count cannot fit the bytes after it is `Truncated`.
pub fn token(b: &[u8]) -> Result<(Tok<'_>, usize), MErr> {
    let (tok, used) = header(b)?;
    let after = b.len() - used;
    // Impossible counts are refused up front.
    match tok {
        Tok::Array(n) if n > after => Err(MErr::Truncated),
        Tok::Map(n) if n.saturating_mul(2) > after => Err(MErr::Truncated),
        _ => Ok((tok, used)),
    }
}

/// [`token`] without the count check (for a container header on its own).
pub fn header(b: &[u8]) -> Result<(Tok<'_>, usize), MErr> {
    let (&m, rest) = b.split_first().ok_or(MErr::Truncated)?;
    let (tok, after): (Tok<'_>, &[u8]) = match m {
        0x00..=0x7f => (Tok::UInt(u64::from(m)), rest),
        0xe0..=0xff => (Tok::SInt(i64::from(m as i8)), rest),
        0x80..=0x8f => (Tok::Map(usize::from(m & 0x0f)), rest),
        0x90..=0x9f => (Tok::Array(usize::from(m & 0x0f)), rest),
        0xa0..=0xbf => {
            let (s, r) = take(rest, usize::from(m & 0x1f))?;
            (Tok::Str(s), r)
        }
        0xc0 => (Tok::Nil, rest),
        0xc1 => return Err(MErr::Reserved),
        0xc2 => (Tok::Bool(false), rest),
        0xc3 => (Tok::Bool(true), rest),
        0xc4..=0xc6 | 0xd9..=0xdb => {
            let width = match m {
                0xc4 | 0xd9 => 1,
                0xc5 | 0xda => 2,
                _ => 4,
            };
            let (n, r) = be(rest, width)?;
            let (s, r) = take(r, n as usize)?;
            (if m <= 0xc6 { Tok::Bin(s) } else { Tok::Str(s) }, r)
        }
        0xc7..=0xc9 => {
            let (n, r) = be(rest, 1 << (m - 0xc7))?;
            let (t, r) = take(r, 1)?;
            let (d, r) = take(r, n as usize)?;
            (Tok::Ext(t[0] as i8, d), r)
        }
        0xca => {
            let (v, r) = be(rest, 4)?;
            (Tok::F32(v as u32), r)
        }
        0xcb => {
            let (v, r) = be(rest, 8)?;
            (Tok::F64(v), r)
        }
        0xcc..=0xcf => {
            let (v, r) = be(rest, 1 << (m - 0xcc))?;
            (Tok::UInt(v), r)
        }
        0xd0..=0xd3 => {
            let width = 1usize << (m - 0xd0);
            let (v, r) = be(rest, width)?;
            // Sign-extend from `width` bytes.
            let shift = 64 - 8 * width as u32;
            (Tok::SInt(((v << shift) as i64) >> shift), r)
        }
        0xd4..=0xd8 => {
            let (t, r) = take(rest, 1)?;
            let (d, r) = take(r, 1 << (m - 0xd4))?;
            (Tok::Ext(t[0] as i8, d), r)
        }
        0xdc | 0xdd => {
            let (n, r) = be(rest, if m == 0xdc { 2 } else { 4 })?;
            (Tok::Array(n as usize), r)
        }
        0xde | 0xdf => {
            let (n, r) = be(rest, if m == 0xde { 2 } else { 4 })?;
            (Tok::Map(n as usize), r)
        }
    };
    Ok((tok, b.len() - after.len()))
}

/// The length of one complete value (containers included), with the crate's depth rule.
pub fn skip(b: &[u8]) -> Result<usize, MErr> {
    skip_at(b, 0)
}

fn skip_at(b: &[u8], level: usize) -> Result<usize, MErr> {
    let (tok, mut used) = token(b)?;
    let children = match tok {
        Tok::Array(n) => n,
        Tok::Map(n) => n * 2,
        _ => 0,
    };
    if children > 0 && level >= MAX_DEPTH {
        return Err(MErr::Depth);
    }
    for _ in 0..children {
        used += skip_at(&b[used..], level + 1)?;
    }
    Ok(used)
}

/// Whether `m` is an integer marker (fixints, `uint8..uint64`, `int8..int64`).
pub fn is_int_marker(m: u8) -> bool {
    matches!(m, 0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3)
}

/// Whether `m` is a str or bin marker (`fixstr`, `str8..str32`, `bin8..bin32`).
pub fn is_bytes_marker(m: u8) -> bool {
    matches!(m, 0xa0..=0xbf | 0xc4..=0xc6 | 0xd9..=0xdb)
}

/// Whether `m` is a map marker (`fixmap`, `map16`, `map32`).
pub fn is_map_marker(m: u8) -> bool {
    matches!(m, 0x80..=0x8f | 0xde | 0xdf)
}

/// Whether `m` is an array marker (`fixarray`, `array16`, `array32`).
pub fn is_array_marker(m: u8) -> bool {
    matches!(m, 0x90..=0x9f | 0xdc | 0xdd)
}

/// The crate's error for each reference error.
impl From<MErr> for rtm_listen::wire::msgpack::ReadError {
    fn from(e: MErr) -> Self {
        match e {
            MErr::Truncated => Self::Truncated,
            MErr::Reserved => Self::ReservedMarker,
            MErr::Depth => Self::DepthExceeded,
        }
    }
}
