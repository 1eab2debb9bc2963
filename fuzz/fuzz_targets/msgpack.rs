//! Target 2: the msgpack reader (and the writer's round trip).
//!
//! Input: `[k] [k op bytes] data...`
//!
//! Invariants, against the reference tokenizer in `src/mp.rs`:
//! - every `Reader` read (`read_int`, `read_i64`, `read_u64`, `read_narrow`, `read_bytes`,
//!   `read_map_len`, `read_array_len`, `read_bool`, `read_nil`, `skip`) returns what the
//!   reference says, value and error kind, and moves the cursor by exactly the value's length
//!   on success and not at all on failure; `peek_marker`, `is_nil`, `position` and
//!   `remaining` agree with the bytes;
//! - `skip` over a whole buffer walks the same value boundaries as the reference;
//! - the `Writer` writes msgpack-c's smallest encodings (sizes computed independently), its
//!   `Counter` agrees with what a `SliceSink` receives, a short `SliceSink` reports overflow,
//!   and every value reads back (reference and `Reader`) as written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtm_listen::wire::msgpack::{Counter, Int, ReadError, Reader, SliceSink, Writer};
use rtm_listen_fuzz::Input;
use rtm_listen_fuzz::mp::{
    self, Tok, is_array_marker, is_bytes_marker, is_int_marker, is_map_marker,
};

fn unexpected(m: u8) -> ReadError {
    if m == 0xc1 {
        ReadError::ReservedMarker
    } else {
        ReadError::UnexpectedType(m)
    }
}

/// The reference for a typed read: the token if the marker is of the wanted family.
fn typed<'a>(rest: &'a [u8], family: fn(u8) -> bool) -> Result<(Tok<'a>, usize), ReadError> {
    let &m = rest.first().ok_or(ReadError::Truncated)?;
    if !family(m) {
        return Err(unexpected(m));
    }
    mp::token(rest).map_err(ReadError::from)
}

fn int_of(tok: Tok<'_>) -> Int {
    match tok {
        Tok::UInt(u) => Int::Unsigned(u),
        Tok::SInt(i) => Int::Signed(i),
        other => panic!("not an int: {other:?}"),
    }
}

fn narrow<T: TryFrom<i64> + TryFrom<u64>>(i: Int) -> Result<T, ReadError> {
    match i {
        Int::Unsigned(u) => T::try_from(u).map_err(|_| ReadError::IntOutOfRange),
        Int::Signed(s) => T::try_from(s).map_err(|_| ReadError::IntOutOfRange),
    }
}

/// A read's result as text, and the reference's (text and bytes used on success).
type Outcome = (
    Result<String, ReadError>,
    Result<(String, usize), ReadError>,
);

/// An integer read narrowed to `T` (`got`), and the reference for it on `rest`.
fn narrow_read<T>(got: Result<T, ReadError>, rest: &[u8]) -> Outcome
where
    T: TryFrom<i64> + TryFrom<u64> + ToString,
{
    let want =
        typed(rest, is_int_marker).and_then(|(t, n)| Ok((narrow::<T>(int_of(t))?.to_string(), n)));
    (got.map(|v| v.to_string()), want)
}

/// Runs op `op` on `r` and checks it; returns whether it succeeded.
fn step(r: &mut Reader<'_>, op: u8) -> bool {
    let rest = r.remaining();
    let pos = r.position();
    assert_eq!(
        r.peek_marker(),
        rest.first().copied().ok_or(ReadError::Truncated)
    );
    assert_eq!(r.is_nil(), rest.first() == Some(&0xc0));
    let (got, want): Outcome = match op % 16 {
        0 => (
            r.read_int().map(|v| format!("{v:?}")),
            typed(rest, is_int_marker).map(|(t, n)| (format!("{:?}", int_of(t)), n)),
        ),
        1 => narrow_read(r.read_i64(), rest),
        2 => narrow_read(r.read_u64(), rest),
        3 => narrow_read(r.read_narrow::<u8>(), rest),
        4 => narrow_read(r.read_narrow::<i8>(), rest),
        5 => narrow_read(r.read_narrow::<i32>(), rest),
        6 => narrow_read(r.read_narrow::<u16>(), rest),
        7 | 8 => (
            r.read_bytes().map(|v| format!("{v:?}")),
            typed(rest, is_bytes_marker).map(|(t, n)| match t {
                Tok::Str(s) | Tok::Bin(s) => (format!("{s:?}"), n),
                other => panic!("{other:?}"),
            }),
        ),
        9 => (
            r.read_map_len().map(|v| v.to_string()),
            typed(rest, is_map_marker).map(|(t, n)| match t {
                Tok::Map(c) => (c.to_string(), n),
                other => panic!("{other:?}"),
            }),
        ),
        10 => (
            r.read_array_len().map(|v| v.to_string()),
            typed(rest, is_array_marker).map(|(t, n)| match t {
                Tok::Array(c) => (c.to_string(), n),
                other => panic!("{other:?}"),
            }),
        ),
        11 => (
            r.read_bool().map(|v| v.to_string()),
            typed(rest, |m| m == 0xc2 || m == 0xc3).map(|(t, n)| match t {
                Tok::Bool(b) => (b.to_string(), n),
                other => panic!("{other:?}"),
            }),
        ),
        12 => (
            r.read_nil().map(|()| String::new()),
            typed(rest, |m| m == 0xc0).map(|(_, n)| (String::new(), n)),
        ),
        _ => (
            r.skip().map(|()| String::new()),
            mp::skip(rest)
                .map(|n| (String::new(), n))
                .map_err(ReadError::from),
        ),
    };
    match (got, want) {
        (Ok(g), Ok((w, n))) => {
            assert_eq!(g, w, "op {op} on {rest:02x?}");
            assert_eq!(r.position(), pos + n, "op {op}: cursor moved wrongly");
            assert_eq!(r.remaining(), &rest[n..]);
            true
        }
        (Err(g), Err(w)) => {
            assert_eq!(g, w, "op {op}: error on {rest:02x?}");
            assert_eq!(r.position(), pos, "op {op}: a failed read moved the cursor");
            false
        }
        (g, w) => panic!("op {op} on {rest:02x?}: reader {g:?}, reference {w:?}"),
    }
}

/// msgpack-c's encoded sizes, computed from the format's size classes.
fn uint_size(v: u64) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}
fn int_size(v: i64) -> usize {
    match v {
        0.. => uint_size(v as u64),
        -32..=-1 => 1,
        -128..=-33 => 2,
        -32768..=-129 => 3,
        -2_147_483_648..=-32769 => 5,
        _ => 9,
    }
}

#[derive(Debug)]
enum W {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Str(Vec<u8>),
    Bin(Vec<u8>),
    Array(usize),
    Map(usize),
}

fn write_all<S: rtm_listen::wire::msgpack::Sink>(values: &[W], w: &mut Writer<S>) {
    for v in values {
        match v {
            W::Nil => w.nil(),
            W::Bool(b) => w.bool(*b),
            W::Uint(u) => w.uint(*u),
            W::Int(i) => w.int(*i),
            W::Str(s) => w.str(s),
            W::Bin(s) => w.bin(s),
            W::Array(n) => w.array_len(*n),
            W::Map(n) => w.map_len(*n),
        }
    }
}

fn writer_round_trip(inp: &mut Input<'_>) {
    let sink_len = usize::from(inp.u16()) % 2048;
    let mut values = Vec::new();
    for _ in 0..usize::from(inp.u8() % 16) {
        let k = inp.u8();
        let len_sel = |inp: &mut Input<'_>| match inp.u8() % 4 {
            0 => usize::from(inp.u8() % 40),
            1 => usize::from(inp.u8()) + 200,
            2 => usize::from(inp.u16()),
            _ => 65_530 + usize::from(inp.u8() % 12),
        };
        values.push(match k % 8 {
            0 => W::Nil,
            1 => W::Bool(k & 8 != 0),
            2 => W::Uint(inp.u64() >> (inp.u8() % 64)),
            3 => W::Int((inp.u64() as i64) >> (inp.u8() % 64)),
            4 => {
                let n = len_sel(inp);
                W::Str((0..n).map(|i| i as u8).collect())
            }
            5 => {
                let n = len_sel(inp);
                W::Bin((0..n).map(|i| (i * 7) as u8).collect())
            }
            6 => W::Array(len_sel(inp)),
            _ => W::Map(len_sel(inp)),
        });
    }
    let mut counter = Writer::new(Counter::default());
    write_all(&values, &mut counter);
    let total = counter.into_inner().0;
    let expected: usize = values
        .iter()
        .map(|v| match v {
            W::Nil | W::Bool(_) => 1,
            W::Uint(u) => uint_size(*u),
            W::Int(i) => int_size(*i),
            W::Str(s) => {
                s.len()
                    + match s.len() {
                        0..=31 => 1,
                        32..=255 => 2,
                        256..=65535 => 3,
                        _ => 5,
                    }
            }
            W::Bin(s) => {
                s.len()
                    + match s.len() {
                        0..=255 => 2,
                        256..=65535 => 3,
                        _ => 5,
                    }
            }
            W::Array(n) | W::Map(n) => match n {
                0..=15 => 1,
                16..=65535 => 3,
                _ => 5,
            },
        })
        .sum();
    assert_eq!(total, expected, "encoded size of {values:?}");

    let mut buf = vec![0u8; sink_len];
    let mut w = Writer::new(SliceSink::new(&mut buf));
    write_all(&values, &mut w);
    let sink = w.into_inner();
    assert_eq!(sink.overflowed(), total > sink_len, "overflow flag");
    if total > sink_len {
        return;
    }
    assert_eq!(sink.len(), total);
    let bytes = &buf[..total];
    // Read everything back, with the reference and with the Reader.
    let mut at = 0;
    let mut r = Reader::new(bytes);
    for v in &values {
        let (tok, n) = mp::header(&bytes[at..]).expect("written value does not tokenize");
        match (v, tok) {
            (W::Nil, Tok::Nil) => r.read_nil().unwrap(),
            (W::Bool(b), Tok::Bool(t)) if *b == t => assert_eq!(r.read_bool(), Ok(*b)),
            (W::Uint(u), Tok::UInt(t)) if *u == t => assert_eq!(r.read_u64(), Ok(*u)),
            (W::Int(i), Tok::UInt(t)) if *i >= 0 && *i as u64 == t => {
                assert_eq!(r.read_i64(), Ok(*i))
            }
            (W::Int(i), Tok::SInt(t)) if *i < 0 && *i == t => assert_eq!(r.read_i64(), Ok(*i)),
            (W::Str(s), Tok::Str(t)) if s == t => assert_eq!(r.read_bytes(), Ok(&s[..])),
            (W::Bin(s), Tok::Bin(t)) if s == t => assert_eq!(r.read_bytes(), Ok(&s[..])),
            (W::Array(c), Tok::Array(t)) if *c == t => {
                // The Reader refuses counts the rest cannot hold: only read when it can.
                if *c <= bytes.len() - at - n {
                    assert_eq!(r.read_array_len(), Ok(*c));
                } else {
                    assert_eq!(r.read_array_len(), Err(ReadError::Truncated));
                    r = Reader::new(&bytes[at + n..]);
                }
            }
            (W::Map(c), Tok::Map(t)) if *c == t => {
                if c * 2 <= bytes.len() - at - n {
                    assert_eq!(r.read_map_len(), Ok(*c));
                } else {
                    assert_eq!(r.read_map_len(), Err(ReadError::Truncated));
                    r = Reader::new(&bytes[at + n..]);
                }
            }
            (v, t) => panic!("wrote {v:?}, read back {t:?}"),
        }
        at += n;
        assert_eq!(r.remaining(), &bytes[at..]);
    }
    assert_eq!(at, total);
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let k = usize::from(inp.u8() % 32);
    let ops = inp.bytes(k);
    let buf = inp.rest();

    // A: skip walk over the whole buffer, value by value.
    let mut r = Reader::new(buf);
    while !r.remaining().is_empty() {
        if !step(&mut r, 15) {
            break;
        }
    }

    // B: fuzzer-chosen reads; after a failure, restart one byte further on.
    let mut base = 0;
    let mut r = Reader::new(buf);
    for i in 0..256 {
        if ops.is_empty() || base >= buf.len() {
            break;
        }
        let op = ops[i % ops.len()];
        let pos = r.position();
        if !step(&mut r, op) {
            base += pos + 1;
            if base > buf.len() {
                break;
            }
            r = Reader::new(&buf[base..]);
        }
    }

    // C: the writer.
    writer_round_trip(&mut Input::new(ops));
    writer_round_trip(&mut Input::new(buf));
});
