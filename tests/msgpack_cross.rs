//! Cross-checks of our msgpack [`Reader`] and [`Writer`] against rmp / rmpv.
//!
//! Encoding rule (src/wire/msgpack/write.rs, msgpack-c's): a non-negative integer uses the
//! smallest *unsigned* form even when it comes from a signed type; a negative one the smallest
//! signed form. rmp 0.8's `write_sint` follows the same rule (it writes non-negative values with
//! `write_pfix`/`write_u8..u64`), so our bytes are compared with rmp's directly, for both
//! `Writer::int` (vs `write_sint`) and `Writer::uint` (vs `write_uint`). The boundary tables
//! also spell out the expected bytes, so a change on either side is caught.

use proptest::collection::vec;
use proptest::prelude::*;
use rmpv::Value as V;
use rtm_listen::wire::msgpack::{Counter, Int, ReadError, Reader, Sink, Writer};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A growable sink for the tests.
#[derive(Default)]
struct VecSink(Vec<u8>);

impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// Forwards to another sink, so one closure can drive both a [`VecSink`] and a [`Counter`].
struct DynSink<'a>(&'a mut dyn Sink);

impl Sink for DynSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.0.put(bytes);
    }
}

/// Writes with our Writer and returns the bytes; also checks that `Counter` agrees.
fn ours(f: impl Fn(&mut Writer<DynSink<'_>>)) -> Vec<u8> {
    let mut bytes = VecSink::default();
    f(&mut Writer::new(DynSink(&mut bytes)));
    let mut counter = Counter::default();
    f(&mut Writer::new(DynSink(&mut counter)));
    assert_eq!(counter.0, bytes.0.len(), "Counter vs written length");
    bytes.0
}

fn ours_int(v: i64) -> Vec<u8> {
    let mut w = Writer::new(VecSink::default());
    w.int(v);
    w.into_inner().0
}

fn ours_uint(v: u64) -> Vec<u8> {
    let mut w = Writer::new(VecSink::default());
    w.uint(v);
    w.into_inner().0
}

fn rmp_sint(v: i64) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_sint(&mut b, v).unwrap();
    b
}

fn rmp_uint(v: u64) -> Vec<u8> {
    let mut b = Vec::new();
    rmp::encode::write_uint(&mut b, v).unwrap();
    b
}

fn rmpv_encode(v: &V) -> Vec<u8> {
    let mut b = Vec::new();
    rmpv::encode::write_value(&mut b, v).unwrap();
    b
}

fn rmpv_decode(bytes: &[u8]) -> V {
    let mut rd = bytes;
    let v = rmpv::decode::read_value(&mut rd).expect("rmpv decodes our bytes");
    assert!(rd.is_empty(), "rmpv left {} bytes", rd.len());
    v
}

/// Reads any value of the types RTM uses with our Reader, into an rmpv value.
fn read_ours(r: &mut Reader<'_>) -> Result<V, ReadError> {
    let m = r.peek_marker()?;
    Ok(match m {
        0xc0 => {
            r.read_nil()?;
            V::Nil
        }
        0xc2 | 0xc3 => V::Boolean(r.read_bool()?),
        0x80..=0x8f | 0xde | 0xdf => {
            let n = r.read_map_len()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let k = read_ours(r)?;
                let v = read_ours(r)?;
                pairs.push((k, v));
            }
            V::Map(pairs)
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = r.read_array_len()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_ours(r)?);
            }
            V::Array(items)
        }
        0xa0..=0xbf | 0xd9..=0xdb => {
            let s = r.read_bytes()?;
            V::from(String::from_utf8(s.to_vec()).expect("rmpv wrote UTF-8"))
        }
        0xc4..=0xc6 => V::Binary(r.read_bytes()?.to_vec()),
        _ => match r.read_int()? {
            Int::Unsigned(u) => V::from(u),
            Int::Signed(i) => V::from(i),
        },
    })
}

/// Writes an rmpv value with our Writer.
fn write_ours<S: Sink>(w: &mut Writer<S>, v: &V) {
    match v {
        V::Nil => w.nil(),
        V::Boolean(b) => w.bool(*b),
        V::Integer(i) => match i.as_u64() {
            Some(u) => w.uint(u),
            None => w.int(i.as_i64().unwrap()),
        },
        V::String(s) => w.str(s.as_bytes()),
        V::Binary(b) => w.bin(b),
        V::Array(a) => {
            w.array_len(a.len());
            for x in a {
                write_ours(w, x);
            }
        }
        V::Map(m) => {
            w.map_len(m.len());
            for (k, x) in m {
                write_ours(w, k);
                write_ours(w, x);
            }
        }
        other => panic!("type outside the tested set: {other:?}"),
    }
}

fn string(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn leaf() -> impl Strategy<Value = V> {
    prop_oneof![
        Just(V::Nil),
        any::<bool>().prop_map(V::Boolean),
        any::<u64>().prop_map(V::from),
        any::<i64>().prop_map(V::from),
        (-300i64..300).prop_map(V::from),
        vec(any::<char>(), 0..80).prop_map(|c| V::from(c.into_iter().collect::<String>())),
        vec(any::<u8>(), 0..300).prop_map(V::Binary),
    ]
}

/// Random nested values of the types we read: nil, bool, ints, str, bin, array, map.
fn value() -> impl Strategy<Value = V> {
    leaf().prop_recursive(6, 96, 20, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..20).prop_map(V::Array),
            vec((inner.clone(), inner), 0..18).prop_map(V::Map),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// (a) rmp/rmpv writes, our Reader reads
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn reader_reads_rmp_sint(v in any::<i64>()) {
        let b = rmp_sint(v);
        let mut r = Reader::new(&b);
        prop_assert_eq!(r.read_i64(), Ok(v));
        prop_assert_eq!(r.position(), b.len());
        let want = if v >= 0 { Int::Unsigned(v as u64) } else { Int::Signed(v) };
        prop_assert_eq!(Reader::new(&b).read_int(), Ok(want));
        let u = Reader::new(&b).read_u64();
        if v >= 0 {
            prop_assert_eq!(u, Ok(v as u64));
        } else {
            prop_assert_eq!(u, Err(ReadError::IntOutOfRange));
        }
    }

    #[test]
    fn reader_reads_rmp_uint(v in any::<u64>()) {
        let b = rmp_uint(v);
        let mut r = Reader::new(&b);
        prop_assert_eq!(r.read_u64(), Ok(v));
        prop_assert_eq!(r.position(), b.len());
        prop_assert_eq!(Reader::new(&b).read_int(), Ok(Int::Unsigned(v)));
        prop_assert_eq!(
            Reader::new(&b).read_i64(),
            i64::try_from(v).map_err(|_| ReadError::IntOutOfRange)
        );
        prop_assert_eq!(
            Reader::new(&b).read_narrow::<u32>(),
            u32::try_from(v).map_err(|_| ReadError::IntOutOfRange)
        );
    }

    /// Every fixed-width family (non-minimal forms included, as Go writes them) reads back.
    #[test]
    fn reader_reads_every_rmp_width(v in any::<i64>()) {
        let mut forms: Vec<Vec<u8>> = Vec::new();
        let mut push = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = Vec::new();
            f(&mut b);
            forms.push(b);
        };
        if let Ok(x) = i8::try_from(v) { push(&|b| rmp::encode::write_i8(b, x).unwrap()); }
        if let Ok(x) = i16::try_from(v) { push(&|b| rmp::encode::write_i16(b, x).unwrap()); }
        if let Ok(x) = i32::try_from(v) { push(&|b| rmp::encode::write_i32(b, x).unwrap()); }
        push(&|b| rmp::encode::write_i64(b, v).unwrap());
        if let Ok(x) = u8::try_from(v) { push(&|b| rmp::encode::write_u8(b, x).unwrap()); }
        if let Ok(x) = u16::try_from(v) { push(&|b| rmp::encode::write_u16(b, x).unwrap()); }
        if let Ok(x) = u32::try_from(v) { push(&|b| rmp::encode::write_u32(b, x).unwrap()); }
        if let Ok(x) = u64::try_from(v) { push(&|b| rmp::encode::write_u64(b, x).unwrap()); }
        for b in &forms {
            let mut r = Reader::new(b);
            prop_assert_eq!(r.read_i64(), Ok(v), "{:02x?}", b);
            prop_assert_eq!(r.position(), b.len());
            let mut r = Reader::new(b);
            prop_assert_eq!(r.skip(), Ok(()));
            prop_assert_eq!(r.position(), b.len());
        }
    }

    #[test]
    fn reader_reads_rmp_str_and_bin(s in vec(any::<char>(), 0..400), bin in vec(any::<u8>(), 0..600)) {
        let s: String = s.into_iter().collect();
        let mut b = Vec::new();
        rmp::encode::write_str(&mut b, &s).unwrap();
        let mut r = Reader::new(&b);
        prop_assert_eq!(r.read_bytes(), Ok(s.as_bytes()));
        prop_assert_eq!(r.position(), b.len());

        let mut b = Vec::new();
        rmp::encode::write_bin(&mut b, &bin).unwrap();
        let mut r = Reader::new(&b);
        prop_assert_eq!(r.read_bytes(), Ok(&bin[..]));
        prop_assert_eq!(r.position(), b.len());
    }

    /// Random nested rmpv values: our Reader reads them back equal, and `skip` consumes exactly
    /// the encoded length (also with a second value following).
    #[test]
    fn reader_reads_rmpv_trees(v in value(), next in leaf()) {
        let b = rmpv_encode(&v);
        let mut r = Reader::new(&b);
        prop_assert_eq!(read_ours(&mut r), Ok(v.clone()));
        prop_assert_eq!(r.position(), b.len());

        let mut two = b.clone();
        two.extend_from_slice(&rmpv_encode(&next));
        let mut r = Reader::new(&two);
        prop_assert_eq!(r.skip(), Ok(()));
        prop_assert_eq!(r.position(), b.len());
        prop_assert_eq!(read_ours(&mut r), Ok(next));
        prop_assert!(r.remaining().is_empty());

        // Any strict prefix is a truncation, never a success and never a panic.
        for cut in [0, b.len() / 2, b.len().saturating_sub(1)] {
            if cut < b.len() {
                prop_assert_eq!(Reader::new(&b[..cut]).skip(), Err(ReadError::Truncated));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) our Writer writes, rmpv reads; bytes equal rmp's minimal encoding
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn writer_uint_matches_rmp(v in any::<u64>()) {
        let b = ours_uint(v);
        prop_assert_eq!(&b, &rmp_uint(v));
        prop_assert_eq!(rmpv_decode(&b).as_u64(), Some(v));
    }

    #[test]
    fn writer_int_matches_rmp(v in any::<i64>()) {
        let b = ours_int(v);
        prop_assert_eq!(&b, &rmp_sint(v));
        prop_assert_eq!(rmpv_decode(&b).as_i64(), Some(v));
        if v >= 0 {
            // The msgpack-c rule: signed non-negative values are written unsigned.
            prop_assert_eq!(&b, &ours_uint(v as u64));
        }
    }

    #[test]
    fn writer_small_ints_match_rmp(v in -70_000i64..70_000) {
        prop_assert_eq!(ours_int(v), rmp_sint(v));
    }

    #[test]
    fn writer_str_bin_match_rmp(s in vec(any::<char>(), 0..400), bin in vec(any::<u8>(), 0..600)) {
        let s: String = s.into_iter().collect();
        let b = ours(|w| w.str(s.as_bytes()));
        let mut want = Vec::new();
        rmp::encode::write_str(&mut want, &s).unwrap();
        prop_assert_eq!(&b, &want);
        prop_assert_eq!(rmpv_decode(&b), V::from(s.clone()));

        let b = ours(|w| w.bin(&bin));
        let mut want = Vec::new();
        rmp::encode::write_bin(&mut want, &bin).unwrap();
        prop_assert_eq!(&b, &want);
        prop_assert_eq!(rmpv_decode(&b), V::Binary(bin.clone()));
    }

    #[test]
    fn writer_headers_bool_nil_match_rmp(n in any::<u32>(), flag in any::<bool>()) {
        let mut want = Vec::new();
        rmp::encode::write_array_len(&mut want, n).unwrap();
        prop_assert_eq!(ours(|w| w.array_len(n as usize)), want);
        let mut want = Vec::new();
        rmp::encode::write_map_len(&mut want, n).unwrap();
        prop_assert_eq!(ours(|w| w.map_len(n as usize)), want);
        let mut want = Vec::new();
        rmp::encode::write_bool(&mut want, flag).unwrap();
        prop_assert_eq!(ours(|w| w.bool(flag)), want);
        prop_assert_eq!(rmpv_decode(&ours(|w| w.bool(flag))), V::Boolean(flag));
        let mut want = Vec::new();
        rmp::encode::write_nil(&mut want).unwrap();
        prop_assert_eq!(ours(|w| w.nil()), want);
        prop_assert_eq!(rmpv_decode(&ours(|w| w.nil())), V::Nil);
    }

    /// Whole trees written by our Writer are byte-identical to rmpv's (minimal) encoding and
    /// decode with rmpv to the same value.
    #[test]
    fn writer_trees_match_rmpv(v in value()) {
        let b = ours(|w| write_ours(w, &v));
        prop_assert_eq!(&b, &rmpv_encode(&v));
        prop_assert_eq!(rmpv_decode(&b), v);
    }
}

// ---------------------------------------------------------------------------------------------
// Integers at every width boundary
// ---------------------------------------------------------------------------------------------

/// (value, the msgpack-c bytes).
const INT_BOUNDARIES: &[(i128, &str)] = &[
    (0, "00"),
    (127, "7f"),
    (128, "cc 80"),
    (255, "cc ff"),
    (256, "cd 01 00"),
    (65535, "cd ff ff"),
    (65536, "ce 00 01 00 00"),
    (u32::MAX as i128, "ce ff ff ff ff"),
    (1 << 32, "cf 00 00 00 01 00 00 00 00"),
    (i64::MAX as i128, "cf 7f ff ff ff ff ff ff ff"),
    (u64::MAX as i128, "cf ff ff ff ff ff ff ff ff"),
    (-1, "ff"),
    (-32, "e0"),
    (-33, "d0 df"),
    (-128, "d0 80"),
    (-129, "d1 ff 7f"),
    (-32768, "d1 80 00"),
    (-32769, "d2 ff ff 7f ff"),
    (i32::MIN as i128, "d2 80 00 00 00"),
    (i32::MIN as i128 - 1, "d3 ff ff ff ff 7f ff ff ff"),
    (i64::MIN as i128, "d3 80 00 00 00 00 00 00 00"),
];

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// The expected result of narrowing `v` to `T`.
fn fits<T: TryFrom<i128>>(v: i128) -> Result<T, ReadError> {
    T::try_from(v).map_err(|_| ReadError::IntOutOfRange)
}

#[test]
fn integer_boundaries_encode_like_rmp_and_msgpack_c() {
    for &(v, want) in INT_BOUNDARIES {
        let want = hex(want);
        if let Ok(s) = i64::try_from(v) {
            assert_eq!(ours_int(s), want, "Writer::int({v})");
            assert_eq!(rmp_sint(s), want, "rmp write_sint({v})");
        }
        if let Ok(u) = u64::try_from(v) {
            assert_eq!(ours_uint(u), want, "Writer::uint({v})");
            assert_eq!(rmp_uint(u), want, "rmp write_uint({v})");
        }
    }
}

#[test]
fn integer_boundaries_read_back_with_range_checks() {
    for &(v, bytes) in INT_BOUNDARIES {
        let b = hex(bytes);
        let want_int = if v >= 0 {
            Int::Unsigned(v as u64)
        } else {
            Int::Signed(v as i64)
        };
        let mut r = Reader::new(&b);
        assert_eq!(r.read_int(), Ok(want_int), "{v}");
        assert_eq!(r.position(), b.len(), "{v}");
        assert_eq!(Reader::new(&b).read_i64(), fits::<i64>(v), "read_i64({v})");
        assert_eq!(Reader::new(&b).read_u64(), fits::<u64>(v), "read_u64({v})");
        assert_eq!(Reader::new(&b).read_narrow::<i8>(), fits::<i8>(v), "i8 {v}");
        assert_eq!(Reader::new(&b).read_narrow::<u8>(), fits::<u8>(v), "u8 {v}");
        assert_eq!(
            Reader::new(&b).read_narrow::<i16>(),
            fits::<i16>(v),
            "i16 {v}"
        );
        assert_eq!(
            Reader::new(&b).read_narrow::<u16>(),
            fits::<u16>(v),
            "u16 {v}"
        );
        assert_eq!(
            Reader::new(&b).read_narrow::<i32>(),
            fits::<i32>(v),
            "i32 {v}"
        );
        assert_eq!(
            Reader::new(&b).read_narrow::<u32>(),
            fits::<u32>(v),
            "u32 {v}"
        );
        let mut r = Reader::new(&b);
        assert_eq!(r.skip(), Ok(()));
        assert_eq!(r.position(), b.len());
        // A truncated encoding is a truncation, whatever the requested width.
        if b.len() > 1 {
            assert_eq!(
                Reader::new(&b[..b.len() - 1]).read_int(),
                Err(ReadError::Truncated),
                "{v}"
            );
        }
    }
    // The two cases the brief names explicitly.
    assert_eq!(
        Reader::new(&rmp_uint(u64::MAX)).read_i64(),
        Err(ReadError::IntOutOfRange)
    );
    assert_eq!(
        Reader::new(&rmp_sint(-1)).read_u64(),
        Err(ReadError::IntOutOfRange)
    );
}

// ---------------------------------------------------------------------------------------------
// Strings, binaries and container headers at every length boundary
// ---------------------------------------------------------------------------------------------

const STR_BOUNDARIES: &[(usize, &str, &str)] = &[
    // (length, str header, bin header)
    (0, "a0", "c4 00"),
    (31, "bf", "c4 1f"),
    (32, "d9 20", "c4 20"),
    (255, "d9 ff", "c4 ff"),
    (256, "da 01 00", "c5 01 00"),
    (65535, "da ff ff", "c5 ff ff"),
    (65536, "db 00 01 00 00", "c6 00 01 00 00"),
];

#[test]
fn string_and_bin_headers_match_rmp() {
    for &(len, str_header, bin_header) in STR_BOUNDARIES {
        let s = string(len);
        for (is_str, header) in [(true, str_header), (false, bin_header)] {
            let header = hex(header);
            let mut theirs = Vec::new();
            if is_str {
                rmp::encode::write_str(&mut theirs, &s).unwrap();
            } else {
                rmp::encode::write_bin(&mut theirs, s.as_bytes()).unwrap();
            }
            let mine = if is_str {
                ours(|w| w.str(s.as_bytes()))
            } else {
                ours(|w| w.bin(s.as_bytes()))
            };
            let what = if is_str { "str" } else { "bin" };
            assert_eq!(
                &mine[..header.len()],
                &header[..],
                "our {what} header, len {len}"
            );
            assert_eq!(
                &theirs[..header.len()],
                &header[..],
                "rmp {what} header, len {len}"
            );
            assert_eq!(mine, theirs, "{what} of {len}");
            assert_eq!(mine.len(), header.len() + len);

            // Our reader reads rmp's encoding back, and skips exactly it.
            let mut r = Reader::new(&theirs);
            assert_eq!(r.read_bytes(), Ok(s.as_bytes()), "{what} of {len}");
            assert_eq!(r.position(), theirs.len());
            let mut r = Reader::new(&theirs);
            assert_eq!(r.skip(), Ok(()));
            assert_eq!(r.position(), theirs.len());
            // One byte missing: truncated.
            if len > 0 {
                assert_eq!(
                    Reader::new(&theirs[..theirs.len() - 1]).read_bytes(),
                    Err(ReadError::Truncated)
                );
            }
        }
    }
}

#[test]
fn legacy_str16_for_short_strings_is_read() {
    // Python msgpack < 1.0 writes 32..255-byte strings (and may write short ones) as str16.
    let mut b = hex("da 00 03");
    b.extend_from_slice(b"abc");
    assert_eq!(Reader::new(&b).read_bytes(), Ok(&b"abc"[..]));
    let mut b = hex("db 00 00 00 02");
    b.extend_from_slice(b"hi");
    assert_eq!(Reader::new(&b).read_bytes(), Ok(&b"hi"[..]));
}

#[test]
fn container_headers_match_rmp() {
    // (count, array header, map header)
    let cases: &[(u32, &str, &str)] = &[
        (0, "90", "80"),
        (15, "9f", "8f"),
        (16, "dc 00 10", "de 00 10"),
        (65535, "dc ff ff", "de ff ff"),
        (65536, "dd 00 01 00 00", "df 00 01 00 00"),
    ];
    for &(n, array, map) in cases {
        let mut theirs = Vec::new();
        rmp::encode::write_array_len(&mut theirs, n).unwrap();
        assert_eq!(theirs, hex(array));
        assert_eq!(ours(|w| w.array_len(n as usize)), theirs, "array {n}");
        // Our reader: the header alone cannot hold n elements (truncated, not a huge count)…
        if n > 0 {
            assert_eq!(
                Reader::new(&theirs).read_array_len(),
                Err(ReadError::Truncated)
            );
        }
        // …and with n nils it reads n and skips them all.
        theirs.resize(theirs.len() + n as usize, 0xc0);
        assert_eq!(Reader::new(&theirs).read_array_len(), Ok(n as usize));
        let mut r = Reader::new(&theirs);
        assert_eq!(r.skip(), Ok(()));
        assert_eq!(r.position(), theirs.len());

        let mut theirs = Vec::new();
        rmp::encode::write_map_len(&mut theirs, n).unwrap();
        assert_eq!(theirs, hex(map));
        assert_eq!(ours(|w| w.map_len(n as usize)), theirs, "map {n}");
        theirs.resize(theirs.len() + 2 * n as usize, 0xc0);
        assert_eq!(Reader::new(&theirs).read_map_len(), Ok(n as usize));
        let mut r = Reader::new(&theirs);
        assert_eq!(r.skip(), Ok(()));
        assert_eq!(r.position(), theirs.len());
    }
}

#[test]
fn skip_handles_types_we_do_not_read() {
    // Floats and extensions (never in RTM payloads) are still skipped exactly.
    let values = [
        V::F32(1.5),
        V::F64(-2.25),
        V::Ext(5, vec![1]),
        V::Ext(5, vec![1, 2]),
        V::Ext(5, vec![1, 2, 3, 4]),
        V::Ext(5, vec![0; 8]),
        V::Ext(5, vec![0; 16]),
        V::Ext(-1, vec![0; 3]),
        V::Ext(7, vec![9; 300]),
        V::Ext(7, vec![9; 70_000]),
        V::Map(vec![
            (V::from("f"), V::F64(0.5)),
            (V::Ext(1, vec![2]), V::Nil),
        ]),
    ];
    for v in &values {
        let mut b = rmpv_encode(v);
        let len = b.len();
        b.push(0x2a);
        let mut r = Reader::new(&b);
        assert_eq!(r.skip(), Ok(()), "{v:?}");
        assert_eq!(r.position(), len, "{v:?}");
        assert_eq!(r.read_u64(), Ok(42));
    }
}
