//! Shared code of the fuzz targets.
//!
//! - [`Input`]: a cursor over the fuzzer's bytes that only ever reads from the front, one byte
//!   or one little-endian integer at a time, so that seed files can be written by hand (and by
//!   `gen_seeds.py`) and stay valid when `arbitrary` changes its encodings;
//! - [`mp`]: a reference msgpack tokenizer written from the msgpack spec and the crate's
//!   documented rules, independent of `rtm_listen::wire::msgpack`;
//! - [`model`]: the expected result of the push and answer decoders, computed with [`mp`];
//! - [`enc`]: a msgpack encoder with caller-chosen integer widths (to build server frames);
//! - [`listener`]: the listener harness (targets `listener` and `listener_enc`).

pub mod enc;
pub mod listener;
pub mod model;
pub mod mp;

/// A front-only cursor over fuzzer input. Reads past the end return zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// Hex dump for assertion messages.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
