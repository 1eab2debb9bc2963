//! msgpack writer with msgpack-c's encoding choices.
//!
//! The encodings are exactly those of msgpack-c (used by the official C++ SDK), so that with
//! the same key order our frames are byte-identical to the C++ SDK's:
//!
//! - a non-negative integer uses the smallest of positive fixint, `uint8`, `uint16`, `uint32`,
//!   `uint64`, even when the source type is signed;
//! - a negative integer uses the smallest of negative fixint, `int8`, `int16`, `int32`, `int64`;
//! - strings use `fixstr`, `str8`, `str16`, `str32`; binary uses `bin8/16/32`;
//! - arrays and maps use the fix form below 16 entries, then the 16- and 32-bit forms.
//!
//! A [`Writer`] writes into any [`Sink`]. [`Counter`] only measures, so a builder can learn the
//! exact size of a frame before touching the caller's buffer (see `frame::build_quest`).

use super::marker as m;

/// Where encoded bytes go.
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

/// A sink that only counts bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counter(pub usize);

impl Sink for Counter {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// A sink over a slice that the caller has already checked is large enough.
///
/// Bytes beyond the end are dropped and flagged in [`SliceSink::overflowed`], but still
/// counted in [`SliceSink::len`]: over an empty slice it counts like [`Counter`], which is how
/// the frame builders size their output before writing it (one sink type, so each payload's
/// encoder exists once).
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> SliceSink<'a> {
    /// Writes from the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    /// Bytes written so far, including those dropped for lack of room.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Whether a write did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflow = true,
        }
        self.pos = end;
    }
}

/// A msgpack encoder over a [`Sink`].
#[derive(Debug)]
pub struct Writer<S: Sink> {
    sink: S,
}

impl<S: Sink> Writer<S> {
    /// Wraps `sink`.
    pub fn new(sink: S) -> Self {
        Self { sink }
    }

    /// Returns the sink.
    pub fn into_inner(self) -> S {
        self.sink
    }

    /// Borrows the sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Appends bytes verbatim (for pre-encoded values).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.sink.put(bytes);
    }

    /// `nil`.
    pub fn nil(&mut self) {
        self.sink.put(&[m::NIL]);
    }

    /// `true` / `false`.
    pub fn bool(&mut self, v: bool) {
        self.sink.put(&[if v { m::TRUE } else { m::FALSE }]);
    }

    /// An unsigned integer in its smallest unsigned form.
    pub fn uint(&mut self, v: u64) {
        if v < 0x80 {
            self.sink.put(&[v as u8]);
        } else if v <= u64::from(u8::MAX) {
            self.sink.put(&[m::U8, v as u8]);
        } else if v <= u64::from(u16::MAX) {
            let b = (v as u16).to_be_bytes();
            self.sink.put(&[m::U16, b[0], b[1]]);
        } else if v <= u64::from(u32::MAX) {
            let b = (v as u32).to_be_bytes();
            self.sink.put(&[m::U32, b[0], b[1], b[2], b[3]]);
        } else {
            let b = v.to_be_bytes();
            self.sink
                .put(&[m::U64, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        }
    }

    /// A signed integer: non-negative values as [`Writer::uint`], negative ones minimal signed.
    pub fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64);
        } else if v >= -32 {
            self.sink.put(&[v as u8]);
        } else if v >= i64::from(i8::MIN) {
            self.sink.put(&[m::I8, v as u8]);
        } else if v >= i64::from(i16::MIN) {
            let b = (v as i16).to_be_bytes();
            self.sink.put(&[m::I16, b[0], b[1]]);
        } else if v >= i64::from(i32::MIN) {
            let b = (v as i32).to_be_bytes();
            self.sink.put(&[m::I32, b[0], b[1], b[2], b[3]]);
        } else {
            let b = v.to_be_bytes();
            self.sink
                .put(&[m::I64, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        }
    }

    fn len_header(&mut self, len: usize, fix_base: u8, fix_max: usize, markers: [u8; 3]) {
        if len <= fix_max {
            self.sink.put(&[fix_base | len as u8]);
        } else if markers[0] != 0 && len <= usize::from(u8::MAX) {
            self.sink.put(&[markers[0], len as u8]);
        } else if len <= usize::from(u16::MAX) {
            let b = (len as u16).to_be_bytes();
            self.sink.put(&[markers[1], b[0], b[1]]);
        } else {
            let b = (len as u32).to_be_bytes();
            self.sink.put(&[markers[2], b[0], b[1], b[2], b[3]]);
        }
    }

    /// A string header alone, for a string of `len` bytes written next with [`Writer::raw`]
    /// (in parts, for example).
    pub fn str_header(&mut self, len: usize) {
        self.len_header(len, 0xa0, 31, [m::STR8, m::STR16, m::STR32]);
    }

    /// A string header and its bytes.
    pub fn str(&mut self, s: &[u8]) {
        self.str_header(s.len());
        self.sink.put(s);
    }

    /// A binary header and its bytes.
    pub fn bin(&mut self, s: &[u8]) {
        if s.len() <= usize::from(u8::MAX) {
            self.sink.put(&[m::BIN8, s.len() as u8]);
        } else {
            self.len_header(s.len(), 0, 0, [0, m::BIN16, m::BIN32]);
        }
        self.sink.put(s);
    }

    /// An array header for `len` elements.
    pub fn array_len(&mut self, len: usize) {
        self.len_header(len, 0x90, 15, [0, m::ARRAY16, m::ARRAY32]);
    }

    /// A map header for `len` key/value pairs.
    pub fn map_len(&mut self, len: usize) {
        self.len_header(len, 0x80, 15, [0, m::MAP16, m::MAP32]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Writer<SliceSink<'_>>)) -> ([u8; 16], usize) {
        let mut buf = [0u8; 16];
        let mut w = Writer::new(SliceSink::new(&mut buf));
        f(&mut w);
        let n = w.sink().len();
        (buf, n)
    }

    #[test]
    fn reference_example_7_integers() {
        let (b, n) = enc(|w| w.int(80_000_071));
        assert_eq!(&b[..n], &[0xce, 0x04, 0xc4, 0xb4, 0x47]);
        let (b, n) = enc(|w| w.int(200));
        assert_eq!(&b[..n], &[0xcc, 0xc8]);
        let (b, n) = enc(|w| w.int(-33));
        assert_eq!(&b[..n], &[0xd0, 0xdf]);
        let (b, n) = enc(|w| w.int(-32));
        assert_eq!(&b[..n], &[0xe0]);
    }

    #[test]
    fn counter_matches_slice_writer() {
        let mut c = Writer::new(Counter::default());
        c.str(&[b'x'; 40]);
        c.int(-70_000);
        let mut buf = [0u8; 64];
        let mut w = Writer::new(SliceSink::new(&mut buf));
        w.str(&[b'x'; 40]);
        w.int(-70_000);
        assert_eq!(c.sink().0, w.sink().len());
        assert!(!w.sink().overflowed());
    }

    #[test]
    fn slice_sink_flags_overflow_without_panicking() {
        let mut buf = [0u8; 2];
        let mut w = Writer::new(SliceSink::new(&mut buf));
        w.uint(u64::MAX);
        assert!(w.sink().overflowed());
        // Counted though not written, like `Counter` would.
        assert_eq!(w.sink().len(), 9);
        assert_eq!(buf, [0, 0], "nothing written past the end or partially");
    }

    #[test]
    fn str_header_then_raw_is_str() {
        for len in [0usize, 31, 32, 255, 256, 65_535, 65_536] {
            let s = vec![b'x'; len];
            let (mut a, mut b) = (
                Writer::new(Counter::default()),
                Writer::new(Counter::default()),
            );
            a.str(&s);
            b.str_header(len);
            b.raw(&s);
            assert_eq!(a.sink().0, b.sink().0);
            let (mut x, mut y) = (vec![0u8; len + 5], vec![0u8; len + 5]);
            Writer::new(SliceSink::new(&mut x)).str(&s);
            let mut w = Writer::new(SliceSink::new(&mut y));
            w.str_header(len);
            w.raw(&s);
            assert_eq!(x, y, "len {len}");
        }
    }

    #[test]
    fn slice_sink_over_no_memory_counts_like_counter() {
        let mut c = Writer::new(Counter::default());
        let mut s = Writer::new(SliceSink::new(&mut []));
        for v in [0u64, 127, 128, 255, 256, 65_535, 65_536, u64::MAX] {
            c.uint(v);
            s.uint(v);
            c.str(b"key");
            s.str(b"key");
        }
        assert_eq!(c.sink().0, s.sink().len());
    }
}
