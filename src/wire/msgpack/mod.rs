//! msgpack: a zero-copy [`Reader`] and a msgpack-c-compatible [`Writer`].

mod read;
mod write;

pub use read::{Int, MAX_DEPTH, ReadError, Reader};
pub(crate) use read::{Key, key_word, read_bytes, read_i64, read_key, read_map_len, skip};
// The fast pass of speed builds (size builds decode with the exact readers only).
#[cfg(any(test, not(rtm_opt_size)))]
pub(crate) use read::{bytes_fast, fixkey_word, i64_fast};
pub use write::{Counter, Sink, SliceSink, Writer};

/// msgpack marker bytes used by the reader and the writer.
pub(crate) mod marker {
    pub const NIL: u8 = 0xc0;
    pub const RESERVED: u8 = 0xc1;
    pub const FALSE: u8 = 0xc2;
    pub const TRUE: u8 = 0xc3;
    pub const BIN8: u8 = 0xc4;
    pub const BIN16: u8 = 0xc5;
    pub const BIN32: u8 = 0xc6;
    pub const EXT8: u8 = 0xc7;
    pub const EXT16: u8 = 0xc8;
    pub const EXT32: u8 = 0xc9;
    pub const F32: u8 = 0xca;
    pub const F64: u8 = 0xcb;
    pub const U8: u8 = 0xcc;
    pub const U16: u8 = 0xcd;
    pub const U32: u8 = 0xce;
    pub const U64: u8 = 0xcf;
    pub const I8: u8 = 0xd0;
    pub const I16: u8 = 0xd1;
    pub const I32: u8 = 0xd2;
    pub const I64: u8 = 0xd3;
    pub const FIXEXT1: u8 = 0xd4;
    pub const FIXEXT2: u8 = 0xd5;
    pub const FIXEXT4: u8 = 0xd6;
    pub const FIXEXT8: u8 = 0xd7;
    pub const FIXEXT16: u8 = 0xd8;
    pub const STR8: u8 = 0xd9;
    pub const STR16: u8 = 0xda;
    pub const STR32: u8 = 0xdb;
    pub const ARRAY16: u8 = 0xdc;
    pub const ARRAY32: u8 = 0xdd;
    pub const MAP16: u8 = 0xde;
    pub const MAP32: u8 = 0xdf;
}

/// Whether `b` starts a map (`fixmap`, `map16`, `map32`).
#[inline]
pub fn is_map_marker(b: u8) -> bool {
    matches!(b, 0x80..=0x8f | marker::MAP16 | marker::MAP32)
}
