//! The worked examples of the wire reference (`fpnn-rtm.md` §11), byte for byte.
//!
//! Conventions of §11: version 1, flag 0x80, C++ key order, pid = 1, secret = "s", salt = 2,
//! ts = 3, so sign = `A5D0D98322E3BCDCE4AC9F1D623C36A4`.
//!
//! Example 8 (the `*key` handshake and encrypted `*ping` frames) is tested in
//! `tests/crypto_vectors.rs` (feature `encryption`).

mod common;

use common::hex;
use rtm_listen::rtm::answer::{
    STATUS_ERROR, build_empty_answer, build_error_answer, decode_answer,
};
use rtm_listen::rtm::dispatch::Callback;
use rtm_listen::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen, build_ping,
    build_set_flags,
};
use rtm_listen::rtm::push::{Message, Push, Target, decode_push};
use rtm_listen::rtm::sign::sign;
use rtm_listen::wire::frame::{
    DEFAULT_MAX_FRAME, Frame, FrameKind, Payload, Status, build_quest, parse_frame, parse_header,
};
use rtm_listen::wire::msgpack::{Int, Reader, Sink, SliceSink, Writer};

const SIGN: &[u8; 32] = b"A5D0D98322E3BCDCE4AC9F1D623C36A4";

/// The frames of the reference's "Check output" block.
const EX1: &str = "46 50 4e 4e 01 80 01 09 45 00 00 00 01 00 00 00 73 65 74 6c 69 73 74 65 6e 86 a3 70 69 64 01 a4 73 69 67 6e d9 20 41 35 44 30 44 39 38 33 32 32 45 33 42 43 44 43 45 34 41 43 39 46 31 44 36 32 33 43 33 36 41 34 a4 73 61 6c 74 02 a2 74 73 03 a4 67 69 64 73 91 07 a4 75 69 64 73 91 09";
const EX2: &str = "46 50 4e 4e 01 80 01 09 4d 00 00 00 02 00 00 00 73 65 74 6c 69 73 74 65 6e 88 a3 70 69 64 01 a4 73 69 67 6e d9 20 41 35 44 30 44 39 38 33 32 32 45 33 42 43 44 43 45 34 41 43 39 46 31 44 36 32 33 43 33 36 41 34 a4 73 61 6c 74 02 a2 74 73 03 a5 67 72 6f 75 70 c3 a4 72 6f 6f 6d c2 a3 70 32 70 c3 a2 65 76 c2";
const EX3: &str = "46 50 4e 4e 01 80 01 07 36 00 00 00 0a 00 00 00 70 75 73 68 6d 73 67 87 a4 66 72 6f 6d 05 a2 74 6f 06 a3 6d 69 64 cd 01 2c a5 6d 74 79 70 65 1e a3 6d 73 67 a2 68 69 a5 61 74 74 72 73 a0 a5 6d 74 69 6d 65 cf 00 00 01 8b cf e5 68 00";
const EX4: &str = "46 50 4e 4e 01 80 02 00 01 00 00 00 0a 00 00 00 80";
const EX5: &str = "46 50 4e 4e 01 80 02 01 1f 00 00 00 0a 00 00 00 83 a4 63 6f 64 65 ce 00 03 0d 42 a2 65 78 a8 62 61 64 20 73 69 67 6e a6 72 61 69 73 65 72 a0";
const EX6_QUEST: &str = "46 50 4e 4e 01 80 01 05 01 00 00 00 05 00 00 00 2a 70 69 6e 67 80";
const EX6_ANSWER: &str =
    "46 50 4e 4e 01 80 02 00 0d 00 00 00 05 00 00 00 81 a2 74 73 cf 00 00 01 8b cf e5 68 00";

const CREDS: Credentials<'static> = Credentials {
    pid: 1,
    secret: b"s",
};

fn parse_all(bytes: &[u8]) -> Frame<'_> {
    match parse_frame(bytes, DEFAULT_MAX_FRAME) {
        Ok(Status::Complete(f, n)) => {
            assert_eq!(n, bytes.len());
            f
        }
        other => panic!("does not parse as one frame: {other:?}"),
    }
}

/// Builds into an exactly sized buffer: a builder that needed more would fail here.
fn exact<F: FnOnce(&mut [u8]) -> Result<usize, rtm_listen::wire::frame::BuildError>>(
    len: usize,
    f: F,
) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let n = f(&mut out).expect("fits its documented size");
    assert_eq!(n, len);
    out
}

#[test]
fn the_sign() {
    assert_eq!(&sign(1, b"s", 2, "setlisten", 3), SIGN);
}

#[test]
fn example_1_setlisten_ids() {
    let want = hex(EX1);
    assert_eq!(want.len(), 94);
    let ids = ListenIds {
        gids: &[7],
        rids: &[],
        uids: &[9],
        events: &[] as &[&str],
    };
    let q = QuestIds {
        seq: 1,
        salt: 2,
        ts: 3,
    };
    let got = exact(94, |out| build_listen(out, &CREDS, q, ListenOp::Set, &ids));
    assert_eq!(got, want);
    // One byte short: the exact size is reported and nothing is written.
    let mut short = [0xeeu8; 93];
    assert_eq!(
        build_listen(&mut short, &CREDS, q, ListenOp::Set, &ids),
        Err(rtm_listen::wire::frame::BuildError::BufferTooSmall { needed: 94 })
    );
    assert!(short.iter().all(|&b| b == 0xee));
}

#[test]
fn example_2_setlisten_flags() {
    let want = hex(EX2);
    assert_eq!(want.len(), 102);
    let flags = ListenFlags {
        group: true,
        room: false,
        p2p: true,
        ev: false,
    };
    let q = QuestIds {
        seq: 2,
        salt: 2,
        ts: 3,
    };
    let got = exact(102, |out| build_set_flags(out, &CREDS, q, flags));
    assert_eq!(got, want);
}

/// The example 3 payload, written with our Writer in the reference's key order.
struct Ex3Payload;

impl Payload for Ex3Payload {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(7);
        w.str(b"from");
        w.int(5);
        w.str(b"to");
        w.int(6);
        w.str(b"mid");
        w.int(300);
        w.str(b"mtype");
        w.int(30);
        w.str(b"msg");
        w.str(b"hi");
        w.str(b"attrs");
        w.str(b"");
        w.str(b"mtime");
        w.int(1_700_000_000_000);
    }
}

#[test]
fn example_3_pushmsg() {
    let bytes = hex(EX3);
    assert_eq!(bytes.len(), 77);
    let h = match parse_header(&bytes) {
        Ok(Status::Complete(h, 12)) => h,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (h.version, h.flag, h.kind, h.ss, h.psize),
        (1, 0x80, FrameKind::Twoway, 7, 54)
    );
    let Frame::Quest {
        seq,
        method,
        payload,
    } = parse_all(&bytes)
    else {
        panic!("not a quest")
    };
    assert_eq!(seq, Some(10));
    assert_eq!(method, b"pushmsg");
    assert_eq!(payload.len(), 54);
    let push = decode_push(method, payload).unwrap();
    assert_eq!(
        push,
        Push::Message(Message {
            target: Target::P2P,
            from: 5,
            to: 6,
            mid: 300,
            mtype: 30,
            msg: b"hi",
            attrs: b"",
            mtime: 1_700_000_000_000,
        })
    );
    assert_eq!(push.callback(), Callback::PushP2PChat);

    // Re-encoded with our Writer in the same key order: the same payload bytes…
    let mut buf = [0u8; 54];
    let mut w = Writer::new(SliceSink::new(&mut buf));
    Ex3Payload.encode(&mut w);
    assert!(!w.sink().overflowed());
    assert_eq!(w.sink().len(), 54);
    assert_eq!(&buf[..], payload);
    // …and, framed as a twoway quest, the same 77 bytes.
    let frame = exact(77, |out| build_quest(out, Some(10), "pushmsg", &Ex3Payload));
    assert_eq!(frame, bytes);
}

#[test]
fn example_4_empty_answer() {
    let want = hex(EX4);
    assert_eq!(want.len(), 17);
    assert_eq!(exact(17, |out| build_empty_answer(out, 10)), want);
    assert_eq!(
        parse_all(&want),
        Frame::Answer {
            seq: 10,
            status: 0,
            payload: &[0x80]
        }
    );
    assert!(decode_answer(0, &[0x80]).unwrap().is_ok());
}

#[test]
fn example_5_error_answer() {
    let want = hex(EX5);
    assert_eq!(want.len(), 47);
    let got = exact(47, |out| {
        build_error_answer(out, 10, 200_002, b"bad sign", Some(b""))
    });
    assert_eq!(got, want);

    let Frame::Answer {
        seq,
        status,
        payload,
    } = parse_all(&want)
    else {
        panic!("not an answer")
    };
    assert_eq!((seq, status, payload.len()), (10, STATUS_ERROR, 31));
    let info = decode_answer(status, payload).unwrap();
    assert!(!info.is_ok());
    assert_eq!(info.status, 1);
    assert_eq!(info.code, 200_002);
    assert_eq!(info.ex, b"bad sign");
    assert_eq!(info.raiser, b"");

    // Without a raiser: the two-key `FpnnErrorAnswer` form, 8 bytes shorter ("raiser": "").
    let mut out = [0u8; 64];
    let n = build_error_answer(&mut out, 10, 200_002, b"bad sign", None).unwrap();
    assert_eq!(n, 47 - 8);
    assert_eq!(out[8], 31 - 8, "psize");
    assert_eq!(out[16], 0x82, "fixmap 2");
    assert_eq!(&out[17..n], &want[17..47 - 8]);
}

#[test]
fn example_6_ping_and_its_answer() {
    let quest = hex(EX6_QUEST);
    assert_eq!(quest.len(), 22);
    assert_eq!(exact(22, |out| build_ping(out, 5)), quest);
    assert_eq!(
        parse_all(&quest),
        Frame::Quest {
            seq: Some(5),
            method: b"*ping",
            payload: &[0x80]
        }
    );

    let answer = hex(EX6_ANSWER);
    assert_eq!(answer.len(), 29);
    let Frame::Answer {
        seq,
        status,
        payload,
    } = parse_all(&answer)
    else {
        panic!("not an answer")
    };
    assert_eq!((seq, status), (5, 0));
    assert!(decode_answer(status, payload).unwrap().is_ok());
    // The server's {ts: <ms>}.
    let mut r = Reader::new(payload);
    assert_eq!(r.read_map_len(), Ok(1));
    assert_eq!(r.read_bytes(), Ok(&b"ts"[..]));
    assert_eq!(r.read_i64(), Ok(1_700_000_000_000));
    assert!(r.remaining().is_empty());
}

fn written(f: impl FnOnce(&mut Writer<SliceSink<'_>>)) -> Vec<u8> {
    let mut buf = [0u8; 16];
    let mut w = Writer::new(SliceSink::new(&mut buf));
    f(&mut w);
    assert!(!w.sink().overflowed());
    let n = w.sink().len();
    buf[..n].to_vec()
}

#[test]
fn example_7_integer_encodings() {
    // Our writer matches C++/Python (msgpack-c): unsigned forms for non-negative values, even
    // when written through the signed entry point.
    let cpp_80000071 = hex("ce 04 c4 b4 47");
    let cpp_200 = hex("cc c8");
    assert_eq!(written(|w| w.int(80_000_071)), cpp_80000071);
    assert_eq!(written(|w| w.uint(80_000_071)), cpp_80000071);
    assert_eq!(written(|w| w.int(200)), cpp_200);
    assert_eq!(written(|w| w.uint(200)), cpp_200);

    // Our reader accepts Go's signed forms as the same values.
    let go_80000071 = hex("d2 04 c4 b4 47");
    let go_200 = hex("d1 00 c8");
    for (go, cpp, v) in [
        (&go_80000071, &cpp_80000071, 80_000_071i64),
        (&go_200, &cpp_200, 200),
    ] {
        for bytes in [go, cpp] {
            let mut r = Reader::new(bytes);
            assert_eq!(r.read_i64(), Ok(v), "{bytes:02x?}");
            assert!(r.remaining().is_empty());
            assert_eq!(Reader::new(bytes).read_u64(), Ok(v as u64));
            assert_eq!(Reader::new(bytes).read_narrow::<u32>(), Ok(v as u32));
            assert_eq!(Reader::new(bytes).read_narrow::<i32>(), Ok(v as i32));
        }
        assert_eq!(Reader::new(go).read_int(), Ok(Int::Signed(v)));
        assert_eq!(Reader::new(cpp).read_int(), Ok(Int::Unsigned(v as u64)));
    }
    assert_eq!(Reader::new(&go_200).read_narrow::<u8>(), Ok(200u8));
    assert_eq!(Reader::new(&go_200).read_narrow::<i16>(), Ok(200i16));

    // And a pushmsg whose integers Go would have written decodes like the C++ one.
    let mut payload = vec![0x87];
    for (key, value) in [
        (&b"from"[..], &go_200[..]),
        (b"to", &go_80000071[..]),
        (b"mid", &hex("d3 00 00 00 00 00 00 01 2c")[..]),
        (b"mtype", &[0x1e][..]),
        (b"msg", &hex("a2 68 69")[..]),
        (b"attrs", &[0xa0][..]),
        (b"mtime", &hex("d3 00 00 01 8b cf e5 68 00")[..]),
    ] {
        payload.push(0xa0 | key.len() as u8);
        payload.extend_from_slice(key);
        payload.extend_from_slice(value);
    }
    let Push::Message(m) = decode_push(b"pushmsg", &payload).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(
        (m.from, m.to, m.mid, m.mtype, m.mtime),
        (200, 80_000_071, 300, 30, 1_700_000_000_000)
    );
    assert_eq!((m.msg, m.attrs), (&b"hi"[..], &b""[..]));
}
