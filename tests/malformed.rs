//! Malformed input: one case (or more) per error class, each asserting its exact documented
//! error; "never panics" properties over arbitrary bytes for every decoder; and the sticky
//! error contract of the frame reader.

use proptest::collection::vec;
use proptest::prelude::*;
use rmpv::Value as V;
use rtm_listen::rtm::answer::{CODE_UNKNOWN_ERROR, build_empty_answer, decode_answer};
use rtm_listen::rtm::field::MessageError;
use rtm_listen::rtm::info::{parse_file_info, parse_translated};
use rtm_listen::rtm::listen::build_ping;
use rtm_listen::rtm::push::{Method, Push, decode_push};
use rtm_listen::wire::frame::{
    DEFAULT_MAX_FRAME, EmptyMap, Frame, FrameError, Status, build_answer, build_quest, parse_frame,
};
use rtm_listen::wire::frame_reader::FrameReader;
use rtm_listen::wire::json::{self, JsonError, Scratch, Value as JsonValue};
use rtm_listen::wire::msgpack::{MAX_DEPTH, ReadError, Reader};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A msgpack map with string keys, encoded by rmpv (independent of our writer).
fn mp(pairs: &[(&str, V)]) -> Vec<u8> {
    let map = V::Map(
        pairs
            .iter()
            .map(|(k, v)| (V::from(*k), v.clone()))
            .collect(),
    );
    let mut b = Vec::new();
    rmpv::encode::write_value(&mut b, &map).unwrap();
    b
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `bytes` with byte `at` replaced by `b`.
fn with(bytes: &[u8], at: usize, b: u8) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] = b;
    v
}

fn empty_answer() -> Vec<u8> {
    let mut out = vec![0u8; 17];
    assert_eq!(build_empty_answer(&mut out, 1), Ok(17));
    out
}

fn ping_quest() -> Vec<u8> {
    let mut out = vec![0u8; 22];
    assert_eq!(build_ping(&mut out, 5), Ok(22));
    out
}

/// An answer frame (seq 1, status 0) around an arbitrary payload.
fn raw_answer(payload: &[u8]) -> Vec<u8> {
    let mut f = b"FPNN\x01\x80\x02\x00".to_vec();
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(payload);
    f
}

/// A twoway quest frame (seq 1) around an arbitrary payload.
fn raw_quest(method: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut f = b"FPNN\x01\x80\x01".to_vec();
    f.push(method.len() as u8);
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(method);
    f.extend_from_slice(payload);
    f
}

/// A valid pushmsg payload, with `drop` removed and `set` overriding/adding keys.
fn pushmsg(target_key: &str, drop: &[&str], set: &[(&str, V)]) -> Vec<u8> {
    let mut pairs: Vec<(&str, V)> = vec![
        ("from", V::from(5)),
        (target_key, V::from(6)),
        ("mid", V::from(300)),
        ("mtype", V::from(30)),
        ("msg", V::from("hi")),
        ("attrs", V::from("")),
        ("mtime", V::from(1_700_000_000_000i64)),
    ];
    pairs.retain(|(k, _)| !drop.contains(k));
    for (k, v) in set {
        match pairs.iter_mut().find(|(pk, _)| pk == k) {
            Some(p) => p.1 = v.clone(),
            None => pairs.push((k, v.clone())),
        }
    }
    mp(&pairs)
}

fn pushevent(drop: &[&str]) -> Vec<u8> {
    let mut pairs: Vec<(&str, V)> = vec![
        ("pid", V::from(80_000_071)),
        ("event", V::from("login")),
        ("uid", V::from(1001)),
        ("time", V::from(1_700_000_000)),
        ("endpoint", V::from("192.0.2.1:12345")),
    ];
    pairs.retain(|(k, _)| !drop.contains(k));
    mp(&pairs)
}

const METHODS: &[&str] = &[
    "pushmsg",
    "pushgroupmsg",
    "pushroommsg",
    "pushbroadcastmsg",
    "pushevent",
    "ping",
    "kickout",
    "kickoutroom",
];

// ---------------------------------------------------------------------------------------------
// FrameError
// ---------------------------------------------------------------------------------------------

#[test]
fn frame_errors() {
    let answer = empty_answer();
    let ping = ping_quest();
    let mut oneway = vec![0u8; 64];
    let n = build_quest(&mut oneway, None, "kickout", &EmptyMap).unwrap();
    oneway.truncate(n);
    let mut huge_header = b"FPNN\x01\x80\x02\x00".to_vec();
    huge_header.extend_from_slice(&u32::MAX.to_le_bytes());

    let cases: Vec<(&str, Vec<u8>, usize, FrameError)> = vec![
        (
            "bad magic",
            with(&answer, 3, b'X'),
            DEFAULT_MAX_FRAME,
            FrameError::BadMagic,
        ),
        (
            "HTTP on the FPNN port",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            DEFAULT_MAX_FRAME,
            FrameError::BadMagic,
        ),
        (
            "JSON flag",
            with(&answer, 5, 0x40),
            DEFAULT_MAX_FRAME,
            FrameError::JsonPayload,
        ),
        (
            "no encoding bit",
            with(&answer, 5, 0x00),
            DEFAULT_MAX_FRAME,
            FrameError::BadFlag(0x00),
        ),
        (
            "both encoding bits",
            with(&answer, 5, 0xc0),
            DEFAULT_MAX_FRAME,
            FrameError::BadFlag(0xc0),
        ),
        (
            "mtype 3",
            with(&answer, 6, 3),
            DEFAULT_MAX_FRAME,
            FrameError::BadMtype(3),
        ),
        (
            "mtype 0xff",
            with(&answer, 6, 0xff),
            DEFAULT_MAX_FRAME,
            FrameError::BadMtype(0xff),
        ),
        (
            "twoway, empty method",
            with(&ping, 7, 0),
            DEFAULT_MAX_FRAME,
            FrameError::EmptyMethod,
        ),
        (
            "oneway, empty method",
            with(&oneway, 7, 0),
            DEFAULT_MAX_FRAME,
            FrameError::EmptyMethod,
        ),
        (
            "over the configured max",
            answer.clone(),
            16,
            FrameError::TooLarge { len: 17, max: 16 },
        ),
        (
            "4 GiB payload announced",
            huge_header.clone(),
            DEFAULT_MAX_FRAME,
            FrameError::TooLarge {
                len: 16 + u32::MAX as usize,
                max: DEFAULT_MAX_FRAME,
            },
        ),
        (
            "answer payload is an array",
            raw_answer(&[0x90]),
            DEFAULT_MAX_FRAME,
            FrameError::PayloadNotMap,
        ),
        (
            "answer payload is nil",
            raw_answer(&[0xc0]),
            DEFAULT_MAX_FRAME,
            FrameError::PayloadNotMap,
        ),
        (
            "quest payload is a string",
            raw_quest(b"ping", &[0xa0]),
            DEFAULT_MAX_FRAME,
            FrameError::PayloadNotMap,
        ),
        (
            "quest payload is 0xc1",
            raw_quest(b"ping", &[0xc1]),
            DEFAULT_MAX_FRAME,
            FrameError::PayloadNotMap,
        ),
    ];
    for (what, bytes, max, want) in &cases {
        assert_eq!(parse_frame(bytes, *max), Err(*want), "{what}");
        // Header problems are caught from the 12-byte header alone, before the body arrives.
        if !matches!(want, FrameError::PayloadNotMap) && bytes.len() >= 12 {
            assert_eq!(
                parse_frame(&bytes[..12], *max),
                Err(*want),
                "{what} (header only)"
            );
        }
        // Each is a distinct, displayable error.
        assert!(!want.to_string().is_empty());
    }

    // Tolerated: any version byte, other flag bits besides exactly one encoding bit, an empty
    // payload (read as the empty map).
    for ok in [
        with(&answer, 4, 0xff),
        with(&answer, 5, 0x80 | 0x20 | 0x10),
        raw_answer(&[]),
        raw_quest(b"ping", &[]),
    ] {
        assert!(matches!(
            parse_frame(&ok, DEFAULT_MAX_FRAME),
            Ok(Status::Complete(..))
        ));
    }
}

#[test]
fn too_large_for_the_reader_buffer() {
    let ping = ping_quest();
    // Buffer of 20 bytes: the configured max is clamped to it.
    let mut storage = [0u8; 20];
    let mut r = FrameReader::new(&mut storage[..], DEFAULT_MAX_FRAME);
    assert_eq!(r.max_frame(), 20);
    assert_eq!(r.feed(&ping), 20);
    assert_eq!(
        r.next_frame(),
        Err(FrameError::TooLarge { len: 22, max: 20 })
    );

    // A configured max below the buffer size is the limit.
    let mut storage = [0u8; 64];
    let mut r = FrameReader::new(&mut storage[..], 16);
    assert_eq!(r.max_frame(), 16);
    r.feed(&empty_answer());
    assert_eq!(
        r.next_frame(),
        Err(FrameError::TooLarge { len: 17, max: 16 })
    );

    // A frame exactly the buffer size is fine.
    let mut storage = [0u8; 22];
    let mut r = FrameReader::new(&mut storage[..], DEFAULT_MAX_FRAME);
    assert_eq!(r.feed(&ping), 22);
    assert!(matches!(r.next_frame(), Ok(Some(Frame::Quest { .. }))));
}

#[test]
fn frame_reader_errors_are_sticky_until_reset() {
    let good = empty_answer();
    let bad_cases: Vec<(Vec<u8>, FrameError)> = vec![
        (with(&good, 0, b'G'), FrameError::BadMagic),
        (with(&good, 5, 0x40), FrameError::JsonPayload),
        (with(&good, 6, 7), FrameError::BadMtype(7)),
        (raw_answer(&[0x91, 0x01]), FrameError::PayloadNotMap),
        (ping_quest(), FrameError::TooLarge { len: 22, max: 20 }),
    ];
    for (bad, err) in bad_cases {
        let mut storage = [0u8; 20];
        let mut r = FrameReader::new(&mut storage[..], DEFAULT_MAX_FRAME);
        // A good frame first: delivered normally.
        r.feed(&good);
        assert!(matches!(
            r.next_frame(),
            Ok(Some(Frame::Answer { seq: 1, .. }))
        ));
        r.feed(&bad);
        assert_eq!(r.next_frame(), Err(err));
        assert_eq!(r.next_frame(), Err(err), "sticky for next_frame");
        assert_eq!(r.peek().map(|o| o.is_some()), Err(err), "sticky for peek");
        // New bytes do not clear it, even a valid frame after consuming everything.
        r.consume(r.buffered());
        r.feed(&good);
        assert_eq!(r.next_frame(), Err(err), "sticky after more input");
        // reset() forgets the error and the bytes.
        r.reset();
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.next_frame(), Ok(None));
        assert_eq!(r.feed(&good), 17);
        assert_eq!(
            r.next_frame(),
            Ok(Some(Frame::Answer {
                seq: 1,
                status: 0,
                payload: &[0x80]
            }))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// MessageError
// ---------------------------------------------------------------------------------------------

#[test]
fn message_errors() {
    use MessageError as E;
    let cases: Vec<(&str, Vec<u8>, MessageError)> = vec![
        ("pushfoo", mp(&[]), E::UnknownMethod),
        ("PUSHMSG", pushmsg("to", &[], &[]), E::UnknownMethod),
        ("*ping", vec![0x80], E::UnknownMethod),
        ("pushmsg", vec![0x90], E::NotMap),
        ("ping", vec![0xa0], E::NotMap),
        ("pushevent", vec![0x01], E::NotMap),
        ("kickout", vec![0xc1], E::NotMap),
        // Key "fr" announced as 4 bytes.
        (
            "pushmsg",
            vec![0x81, 0xa4, b'f', b'r'],
            E::Malformed(ReadError::Truncated),
        ),
        // 5 pairs announced, none present.
        ("pushmsg", vec![0x85], E::Malformed(ReadError::Truncated)),
        // A value missing after its key.
        (
            "ping",
            vec![0x81, 0xa1, b'a'],
            E::Malformed(ReadError::Truncated),
        ),
        // A reserved marker in key position.
        (
            "pushmsg",
            vec![0x81, 0xc1, 0x01],
            E::Malformed(ReadError::ReservedMarker),
        ),
        (
            "pushmsg",
            pushmsg("to", &["from"], &[]),
            E::MissingKey("from"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("from", V::Nil)]),
            E::MissingKey("from"),
        ),
        (
            "pushmsg",
            pushmsg("to", &["mid"], &[]),
            E::MissingKey("mid"),
        ),
        (
            "pushmsg",
            pushmsg("to", &["mtype"], &[]),
            E::MissingKey("mtype"),
        ),
        (
            "pushgroupmsg",
            pushmsg("gid", &["gid"], &[]),
            E::MissingKey("gid"),
        ),
        // A P2P `to` in a group push is not the group id.
        (
            "pushgroupmsg",
            pushmsg("to", &[], &[]),
            E::MissingKey("gid"),
        ),
        (
            "pushroommsg",
            pushmsg("rid", &["rid"], &[]),
            E::MissingKey("rid"),
        ),
        ("kickoutroom", mp(&[]), E::MissingKey("rid")),
        ("pushevent", pushevent(&["event"]), E::MissingKey("event")),
        ("pushevent", pushevent(&["uid"]), E::MissingKey("uid")),
        (
            "pushmsg",
            pushmsg("to", &[], &[("mid", V::from("300"))]),
            E::WrongType("mid"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("from", V::Boolean(true))]),
            E::WrongType("from"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("msg", V::from(7))]),
            E::WrongType("msg"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("attrs", V::Array(vec![]))]),
            E::WrongType("attrs"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("to", V::F64(6.0))]),
            E::WrongType("to"),
        ),
        (
            "pushevent",
            mp(&[("event", V::from(1)), ("uid", V::from(1))]),
            E::WrongType("event"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("mtype", V::from(300))]),
            E::OutOfRange("mtype"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("mtype", V::from(-129))]),
            E::OutOfRange("mtype"),
        ),
        (
            "pushmsg",
            pushmsg("to", &[], &[("from", V::from(u64::MAX))]),
            E::OutOfRange("from"),
        ),
        (
            "pushroommsg",
            pushmsg("rid", &[], &[("rid", V::from(1u64 << 63))]),
            E::OutOfRange("rid"),
        ),
    ];
    for (method, payload, want) in &cases {
        assert_eq!(
            decode_push(method.as_bytes(), payload),
            Err(*want),
            "{method} {payload:02x?}"
        );
        let code = match want {
            E::UnknownMethod => 20004,
            E::MissingKey(_) => 10009,
            E::WrongType(_) | E::OutOfRange(_) => 10010,
            E::NotMap => 10006,
            E::Malformed(_) => 10003,
            other => panic!("unexpected variant {other:?}"),
        };
        assert_eq!(want.fpnn_code(), code, "{want:?}");
        assert!(!want.to_string().is_empty());
    }

    // The tolerated cases next to them: absent content keys, unknown and non-string keys,
    // nil as absent, a client-protocol pushmsg without `to`, bin for strings, any int family.
    let lenient = cat(&[
        &[0x86],
        &[0xa4],
        b"from",
        &[0xd1, 0x00, 0xc8],
        &[0xa3],
        b"mid",
        &[0xd3, 0, 0, 0, 0, 0, 0, 1, 0x2c],
        &[0xa5],
        b"mtype",
        &[0xd0, 0x1e],
        &[0xa3],
        b"msg",
        &[0xc4, 0x02, 0xff, 0x00],
        &[0x07, 0x08],
        &[0xa5],
        b"attrs",
        &[0xc0],
    ]);
    let Ok(Push::Message(m)) = decode_push(b"pushmsg", &lenient) else {
        panic!("lenient pushmsg refused")
    };
    assert_eq!((m.from, m.to, m.mid, m.mtype), (200, 0, 300, 30));
    assert_eq!((m.msg, m.attrs, m.mtime), (&[0xff, 0x00][..], &b""[..], 0));
    assert_eq!(decode_push(b"ping", &[]), Ok(Push::Ping));
    assert_eq!(
        decode_push(b"kickoutroom", &mp(&[("rid", V::from(9))])),
        Ok(Push::KickoutRoom { rid: 9 })
    );
}

#[test]
fn answer_decoding_errors() {
    // An error answer must still be well-formed msgpack in a map.
    assert_eq!(decode_answer(1, &[0x90]), Err(MessageError::NotMap));
    assert_eq!(
        decode_answer(1, &[0x82]),
        Err(MessageError::Malformed(ReadError::Truncated))
    );
    // An OK answer's payload is not inspected.
    assert!(decode_answer(0, &[0x90, 0xc1]).unwrap().is_ok());
}

/// Regression tests for `decode_answer`, which read `code`/`ex`/`raiser` leniently but did not
/// leave the cursor at the value's start when a read failed half-way (or consumed a zero code
/// while reporting it unconsumed), so the next key was skipped as if it were the value.
#[test]
fn lenient_answer_fields_do_not_desynchronise() {
    // {code: u64::MAX, ex: "bad sign"}: well-formed; the code is unusable, `ex` must survive.
    let p = mp(&[("code", V::from(u64::MAX)), ("ex", V::from("bad sign"))]);
    let a = decode_answer(1, &p).unwrap();
    assert_eq!((a.code, a.ex), (CODE_UNKNOWN_ERROR, &b"bad sign"[..]));

    // {code: 0, ex: "x", raiser: "r"}: zero means "no usable code".
    let p = mp(&[
        ("code", V::from(0)),
        ("ex", V::from("x")),
        ("raiser", V::from("r")),
    ]);
    let a = decode_answer(1, &p).unwrap();
    assert_eq!(
        (a.code, a.ex, a.raiser),
        (CODE_UNKNOWN_ERROR, &b"x"[..], &b"r"[..])
    );

    // {code: "x", ex: "e"} and Python's numeric `ex`: wrong types are ignored, not fatal.
    let p = mp(&[("code", V::from("x")), ("ex", V::from("e"))]);
    assert_eq!(decode_answer(1, &p).unwrap().ex, b"e");
    let p = mp(&[("ex", V::from(200_002)), ("code", V::from(200_002))]);
    let a = decode_answer(1, &p).unwrap();
    assert_eq!((a.code, a.ex), (200_002, &b""[..]));

    // Truncated `ex` (str8 of 5 bytes, 1 present): malformed, not an empty `ex`.
    assert_eq!(
        decode_answer(1, &[0x81, 0xa2, b'e', b'x', 0xd9, 0x05, 0x01]),
        Err(MessageError::Malformed(ReadError::Truncated))
    );
    // Truncated `code` (uint32 with 2 bytes): malformed too.
    assert_eq!(
        decode_answer(1, &cat(&[&[0x81, 0xa4], b"code", &[0xce, 0x00, 0x03]])),
        Err(MessageError::Malformed(ReadError::Truncated))
    );
}

// ---------------------------------------------------------------------------------------------
// ReadError
// ---------------------------------------------------------------------------------------------

type ReadOp = fn(&mut Reader<'_>) -> Result<(), ReadError>;

#[test]
fn read_errors() {
    let int: ReadOp = |r| r.read_int().map(drop);
    let i64_: ReadOp = |r| r.read_i64().map(drop);
    let u64_: ReadOp = |r| r.read_u64().map(drop);
    let i8_: ReadOp = |r| r.read_narrow::<i8>().map(drop);
    let u8_: ReadOp = |r| r.read_narrow::<u8>().map(drop);
    let bytes: ReadOp = |r| r.read_bytes().map(drop);
    let map: ReadOp = |r| r.read_map_len().map(drop);
    let array: ReadOp = |r| r.read_array_len().map(drop);
    let boolean: ReadOp = |r| r.read_bool().map(drop);
    let nil: ReadOp = |r| r.read_nil();
    let skip: ReadOp = |r| r.skip();
    let peek: ReadOp = |r| r.peek_marker().map(drop);

    let mut deep_arrays = vec![0x91u8; MAX_DEPTH + 1];
    deep_arrays.push(0x01);
    let mut deep_maps = [0x81u8, 0x01].repeat(MAX_DEPTH + 1);
    deep_maps.push(0x01);

    use ReadError as E;
    let cases: Vec<(&str, ReadOp, Vec<u8>, ReadError)> = vec![
        ("peek at nothing", peek, vec![], E::Truncated),
        ("uint16 cut", int, vec![0xcd, 0x01], E::Truncated),
        ("int64 cut", i64_, vec![0xd3, 0, 0, 0], E::Truncated),
        ("fixstr cut", bytes, vec![0xa3, b'a'], E::Truncated),
        ("str32 length cut", bytes, vec![0xdb, 0, 0], E::Truncated),
        (
            "bin32 of 4 GiB",
            bytes,
            vec![0xc6, 0xff, 0xff, 0xff, 0xff],
            E::Truncated,
        ),
        ("map16 count cut", map, vec![0xde, 0x00], E::Truncated),
        (
            "map32 impossible count",
            map,
            vec![0xdf, 0xff, 0xff, 0xff, 0xff],
            E::Truncated,
        ),
        (
            "array with too few elements",
            skip,
            vec![0x92, 0x01],
            E::Truncated,
        ),
        (
            "ext8 data cut",
            skip,
            vec![0xc7, 0x05, 0x01, 0x00],
            E::Truncated,
        ),
        ("bool at nothing", boolean, vec![], E::Truncated),
        ("reserved as int", int, vec![0xc1], E::ReservedMarker),
        ("reserved as bytes", bytes, vec![0xc1], E::ReservedMarker),
        ("reserved skipped", skip, vec![0xc1], E::ReservedMarker),
        ("reserved nested", skip, vec![0x91, 0xc1], E::ReservedMarker),
        ("str as int", int, vec![0xa0], E::UnexpectedType(0xa0)),
        (
            "float64 as int",
            int,
            vec![0xcb, 0, 0, 0, 0, 0, 0, 0, 0],
            E::UnexpectedType(0xcb),
        ),
        ("int as bytes", bytes, vec![0x01], E::UnexpectedType(0x01)),
        ("array as map", map, vec![0x90], E::UnexpectedType(0x90)),
        ("map as array", array, vec![0x80], E::UnexpectedType(0x80)),
        ("nil as bool", boolean, vec![0xc0], E::UnexpectedType(0xc0)),
        ("false as nil", nil, vec![0xc2], E::UnexpectedType(0xc2)),
        ("-1 as u64", u64_, vec![0xff], E::IntOutOfRange),
        (
            "u64::MAX as i64",
            i64_,
            [&[0xcf][..], &[0xff; 8]].concat(),
            E::IntOutOfRange,
        ),
        ("128 as i8", i8_, vec![0xcc, 0x80], E::IntOutOfRange),
        ("-128 as u8", u8_, vec![0xd0, 0x80], E::IntOutOfRange),
        ("256 as u8", u8_, vec![0xcd, 0x01, 0x00], E::IntOutOfRange),
        (
            "arrays nested too deep",
            skip,
            deep_arrays,
            E::DepthExceeded,
        ),
        ("maps nested too deep", skip, deep_maps, E::DepthExceeded),
    ];
    for (what, op, bytes, want) in &cases {
        assert_eq!(op(&mut Reader::new(bytes)), Err(*want), "{what}");
        assert!(!want.to_string().is_empty());
    }

    // The deepest accepted nesting is MAX_DEPTH containers.
    let mut ok = vec![0x91u8; MAX_DEPTH];
    ok.push(0x01);
    let mut r = Reader::new(&ok);
    assert_eq!(r.skip(), Ok(()));
    assert_eq!(r.position(), ok.len());
}

// ---------------------------------------------------------------------------------------------
// JsonError
// ---------------------------------------------------------------------------------------------

fn members(text: &[u8]) -> Result<usize, JsonError> {
    let mut n = 0;
    json::for_each_member(text, |_, _| {
        n += 1;
        Ok(())
    })?;
    Ok(n)
}

#[test]
fn json_errors() {
    let deep = cat(&[
        br#"{"a":"#,
        &[b'['; json::MAX_DEPTH + 1],
        &[b']'; json::MAX_DEPTH + 1],
        b"}",
    ]);
    let ok_deep = cat(&[
        br#"{"a":"#,
        &[b'['; json::MAX_DEPTH],
        &[b']'; json::MAX_DEPTH],
        b"}",
    ]);
    let cases: Vec<(&[u8], JsonError)> = vec![
        (b"", JsonError::Syntax(0)),
        (b"   ", JsonError::Syntax(3)),
        (br#"{"a":}"#, JsonError::Syntax(5)),
        (br#"{"a":1,}"#, JsonError::Syntax(7)),
        (br#"{"a":1} x"#, JsonError::Syntax(8)),
        (br#"{"a":01}"#, JsonError::Syntax(6)),
        (br#"{"a":"\x"}"#, JsonError::Syntax(6)),
        (br#"{"a":"\u12"}"#, JsonError::Syntax(6)),
        (b"{\"a\":\"\n\"}", JsonError::Syntax(6)),
        (br#"{a:1}"#, JsonError::Syntax(1)),
        (b"[1] x", JsonError::Syntax(4)),
        (b"[1]", JsonError::NotObject),
        (b" \"s\" ", JsonError::NotObject),
        (b"42", JsonError::NotObject),
        (b"null", JsonError::NotObject),
        (&deep, JsonError::DepthExceeded),
    ];
    for (text, want) in &cases {
        assert_eq!(
            members(text),
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        assert!(!want.to_string().is_empty());
    }
    assert_eq!(members(&ok_deep), Ok(1));

    // ScratchFull: an escaped string that does not fit the scratch.
    let text = br#"{"k":"\n\n\n"}"#;
    let mut buf = [0u8; 2];
    let mut scratch = Scratch::new(&mut buf);
    let mut got = None;
    json::for_each_member(text, |_, v| {
        if let JsonValue::Str(s) = v {
            got = Some(s.value(&mut scratch));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(got, Some(Err(JsonError::ScratchFull)));
    assert_eq!(scratch.remaining(), 2, "a failed unescape claims nothing");

    // …and through the info parsers.
    let mut buf = [0u8; 1];
    assert_eq!(
        parse_translated(
            br#"{"source":"zh","sourceText":"\u4f60\u597d"}"#,
            &mut Scratch::new(&mut buf)
        ),
        Err(JsonError::ScratchFull)
    );
    let mut buf = [0u8; 3];
    assert_eq!(
        parse_file_info(
            br#"{"url":"https:\/\/x"}"#,
            b"{}",
            &mut Scratch::new(&mut buf)
        ),
        Err(JsonError::ScratchFull)
    );
    // Valid JSON that is not a translation.
    let mut buf = [0u8; 8];
    assert_eq!(
        parse_translated(br#"{"a":1}"#, &mut Scratch::new(&mut buf)),
        Err(JsonError::NotObject)
    );
    assert_eq!(
        parse_translated(b"hello", &mut Scratch::new(&mut buf)),
        Err(JsonError::Syntax(0))
    );
}

// ---------------------------------------------------------------------------------------------
// No panics on arbitrary input
// ---------------------------------------------------------------------------------------------

/// Bytes biased towards msgpack/FPNN structure: random bytes, or a valid frame/payload with a
/// few bytes overwritten, truncated or extended.
fn fuzz_bytes() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = vec![
        empty_answer(),
        ping_quest(),
        raw_quest(b"pushmsg", &pushmsg("to", &[], &[])),
        raw_quest(b"pushevent", &pushevent(&[])),
        pushmsg("gid", &[], &[]),
        pushevent(&[]),
        mp(&[
            ("code", V::from(200_002)),
            ("ex", V::from("bad")),
            ("raiser", V::from("")),
        ]),
        mp(&[(
            "a",
            V::Array(vec![V::Map(vec![(V::from(1), V::Binary(vec![1; 40]))])]),
        )]),
    ];
    prop_oneof![
        vec(any::<u8>(), 0..300),
        (
            proptest::sample::select(seeds),
            vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            any::<prop::sample::Index>(),
            vec(any::<u8>(), 0..8),
        )
            .prop_map(|(mut b, edits, cut, tail)| {
                for (i, v) in edits {
                    let at = i.index(b.len());
                    b[at] = v;
                }
                b.truncate(cut.index(b.len() + 1));
                b.extend(tail);
                b
            }),
    ]
}

/// Text biased towards JSON structure.
fn fuzz_json() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        " ",
        "\\",
        "\\u",
        "\\n",
        "d83d",
        "dc00",
        "0",
        "1",
        "-",
        ".",
        "e",
        "true",
        "false",
        "null",
        "\"url\"",
        "\"size\"",
        "\"custom\"",
        "\"rtm\"",
        "\"type\"",
        "\"audiomsg\"",
        "\"source\"",
        "\"targetText\"",
        "é",
        "\u{1}",
    ];
    prop_oneof![
        vec(any::<u8>(), 0..120),
        vec(proptest::sample::select(TOKENS), 0..60).prop_map(|t| t.concat().into_bytes()),
        (
            vec(proptest::sample::select(TOKENS), 0..20),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(t, at)| {
                let mut s =
                    br#"{"url":"u","size":1,"rtm":{"type":"audiomsg","lang":"en"},"custom":{"k":[1]}}"#
                        .to_vec();
                let at = at.index(s.len() + 1);
                let ins = t.concat().into_bytes();
                s.splice(at..at, ins);
                s
            }),
    ]
}

/// Walks any msgpack value with the typed reads, never recursing without bound.
fn walk(r: &mut Reader<'_>, depth: usize) -> Result<(), ReadError> {
    if depth > 40 {
        return r.skip();
    }
    match r.peek_marker()? {
        0x80..=0x8f | 0xde | 0xdf => {
            for _ in 0..r.read_map_len()? {
                walk(r, depth + 1)?;
                walk(r, depth + 1)?;
            }
            Ok(())
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            for _ in 0..r.read_array_len()? {
                walk(r, depth + 1)?;
            }
            Ok(())
        }
        0xa0..=0xbf | 0xc4..=0xc6 | 0xd9..=0xdb => r.read_bytes().map(drop),
        0xc0 => r.read_nil(),
        0xc2 | 0xc3 => r.read_bool().map(drop),
        _ => match r.clone().read_int() {
            Ok(_) => r.read_narrow::<i16>().map(drop).or_else(|_| r.skip()),
            Err(_) => r.skip(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn frames_and_messages_never_panic(bytes in fuzz_bytes(), max in 0usize..400, status in any::<u8>()) {
        for m in [max, DEFAULT_MAX_FRAME] {
            match parse_frame(&bytes, m) {
                Ok(Status::Complete(f, n)) => {
                    prop_assert!(n <= bytes.len() && n <= m);
                    if let Frame::Quest { method, payload, .. } = f {
                        let _ = decode_push(method, payload);
                    }
                }
                Ok(Status::Partial(Some(n))) => prop_assert!(n > bytes.len()),
                Ok(Status::Partial(None)) | Err(_) => {}
            }
        }
        for name in METHODS {
            let _ = decode_push(name.as_bytes(), &bytes);
            let method = Method::parse(name.as_bytes()).unwrap();
            prop_assert_eq!(method.name(), *name);
        }
        let _ = decode_push(b"unknown", &bytes);
        let _ = decode_answer(status, &bytes);
        let _ = decode_answer(1, &bytes);
    }

    #[test]
    fn msgpack_reader_never_panics(bytes in fuzz_bytes()) {
        let mut r = Reader::new(&bytes);
        if r.skip().is_ok() {
            prop_assert!(r.position() <= bytes.len());
            // A value that skips also walks with the typed reads to the same place.
            let end = r.position();
            let mut w = Reader::new(&bytes);
            prop_assert_eq!(walk(&mut w, 0), Ok(()));
            prop_assert_eq!(w.position(), end);
        }
        let _ = walk(&mut Reader::new(&bytes), 0);
        let _ = Reader::new(&bytes).read_int();
        let _ = Reader::new(&bytes).read_u64();
        let _ = Reader::new(&bytes).read_bytes();
        let _ = Reader::new(&bytes).read_map_len();
        let _ = Reader::new(&bytes).read_array_len();
        prop_assert!(Reader::new(&bytes).remaining().len() == bytes.len());
    }

    /// A failed read leaves the cursor where it was (so the value can still be skipped); a
    /// successful one moves it forward.
    #[test]
    fn failed_reads_do_not_move_the_cursor(bytes in fuzz_bytes(), skip_first in 0usize..4) {
        let mut base = Reader::new(&bytes);
        for _ in 0..skip_first {
            let _ = base.skip();
        }
        let ops: [ReadOp; 10] = [
            |r| r.read_int().map(drop),
            |r| r.read_i64().map(drop),
            |r| r.read_u64().map(drop),
            |r| r.read_narrow::<i8>().map(drop),
            |r| r.read_narrow::<u16>().map(drop),
            |r| r.read_bytes().map(drop),
            |r| r.read_map_len().map(drop),
            |r| r.read_array_len().map(drop),
            |r| r.read_bool().map(drop),
            |r| r.skip(),
        ];
        for (i, op) in ops.iter().enumerate() {
            let mut r = base.clone();
            let before = r.position();
            match op(&mut r) {
                Ok(()) => prop_assert!(r.position() > before, "op {} did not advance", i),
                Err(e) => prop_assert_eq!(r.position(), before, "op {} moved on {:?}", i, e),
            }
        }
    }

    #[test]
    fn json_never_panics(text in fuzz_json(), attrs in fuzz_json(), scratch_len in 0usize..64) {
        let mut buf = vec![0u8; scratch_len];
        let mut scratch = Scratch::new(&mut buf);
        let _ = json::for_each_member(&text, |k, v| {
            let _ = k.eq_str("custom");
            match v {
                JsonValue::Str(s) => {
                    let _ = s.value(&mut scratch);
                }
                JsonValue::Number(_) => {
                    let _ = v.as_i64();
                }
                JsonValue::Object(o) => {
                    let _ = json::for_each_member(o, |_, _| Ok(()));
                }
                _ => {}
            }
            Ok(())
        });
        let mut buf = vec![0u8; scratch_len];
        let _ = parse_translated(&text, &mut Scratch::new(&mut buf));
        let mut buf = vec![0u8; scratch_len];
        let _ = parse_file_info(&text, &attrs, &mut Scratch::new(&mut buf));
        // Random bytes as a msgpack-carried JSON: also through the push path.
        let mut buf = vec![0u8; scratch_len];
        let _ = parse_file_info(&attrs, &text, &mut Scratch::new(&mut buf));
    }

    #[test]
    fn frame_reader_never_panics(
        chunks in vec(fuzz_bytes(), 0..6),
        buf_len in 0usize..64,
        max in 0usize..80,
        ops in vec(0u8..6, 0..20),
    ) {
        let mut storage = vec![0u8; buf_len];
        let mut r = FrameReader::new(&mut storage[..], max);
        prop_assert!(r.max_frame() <= buf_len);
        let mut chunks = chunks.into_iter();
        for op in ops {
            match op {
                0 => {
                    if let Some(c) = chunks.next() {
                        let n = r.feed(&c);
                        prop_assert!(n <= c.len());
                    }
                }
                1 => {
                    let w = r.window().len();
                    r.commit(w + 3);
                }
                2 => {
                    let _ = r.next_frame();
                }
                3 => {
                    let len = r.peek().ok().flatten().map(|(_, l)| l).unwrap_or(1);
                    r.consume(len);
                }
                4 => r.consume(usize::MAX),
                _ => r.reset(),
            }
            prop_assert!(r.buffered() <= buf_len);
        }
    }
}

#[test]
fn answers_built_by_us_survive_the_decoders() {
    // Sanity for the fuzz seeds: an error answer with an odd payload type still decodes.
    let mut out = [0u8; 64];
    let n = build_answer(&mut out, 3, 1, &EmptyMap).unwrap();
    let Ok(Status::Complete(
        Frame::Answer {
            status, payload, ..
        },
        len,
    )) = parse_frame(&out[..n], DEFAULT_MAX_FRAME)
    else {
        panic!("does not parse")
    };
    assert_eq!(len, n);
    let a = decode_answer(status, payload).unwrap();
    assert_eq!((a.status, a.code), (1, CODE_UNKNOWN_ERROR));
}
