//! Pushes of big frames (6 KiB to 9 MiB) read back whole on a raw client, and answered with
//! OK or an error answer.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::{Client, Raw, WAIT};
use rtm_gate_sim::rmpv::{self, Value};
use rtm_gate_sim::{Gate, GateConfig, Push, Target, filler_text};
use rtm_listen::rtm::listen::ListenOp;
use rtm_listen::wire::frame::build_answer;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const UID: i64 = 1001;

/// One frame read with plain `read_exact`s (no frame size limit).
struct RawFrame {
    /// Header byte 6: 0 oneway, 1 twoway, 2 answer.
    mtype: u8,
    seq: Option<u32>,
    method: String,
    payload: Vec<u8>,
    /// The whole frame's length.
    len: usize,
}

fn read_frame(s: &mut TcpStream) -> RawFrame {
    let mut h = [0u8; 12];
    s.read_exact(&mut h).expect("frame header");
    assert_eq!(&h[..4], b"FPNN");
    assert_eq!((h[4], h[5]), (1, 0x80));
    let mtype = h[6];
    assert!(mtype <= 1, "a quest from the gate");
    let size = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
    let seq = (mtype == 1).then(|| {
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        u32::from_le_bytes(b)
    });
    let mut method = vec![0u8; usize::from(h[7])];
    s.read_exact(&mut method).unwrap();
    let mut payload = vec![0u8; size];
    s.read_exact(&mut payload).expect("the whole payload");
    RawFrame {
        mtype,
        seq,
        method: String::from_utf8(method).unwrap(),
        len: 12 + if seq.is_some() { 4 } else { 0 } + usize::from(h[7]) + size,
        payload,
    }
}

/// Checks a chat push of `len` filler bytes with `mid`; returns its seq.
fn check_chat(f: &RawFrame, mid: i64, len: usize) -> u32 {
    assert_eq!((f.mtype, f.method.as_str()), (1, "pushmsg"));
    assert!(f.len > len, "frame {} bytes for a {len}-byte msg", f.len);
    let v = rmpv::decode::read_value(&mut &f.payload[..]).expect("msgpack payload");
    let get = |k: &str| common::field(&v, k).cloned();
    assert_eq!(get("mid"), Some(Value::from(mid)));
    assert_eq!(get("to"), Some(Value::from(UID)));
    let msg = get("msg").expect("msg");
    let msg = msg.as_str().expect("msg is a str");
    assert_eq!(msg.len(), len);
    assert!(
        msg == filler_text(len),
        "msg content of the {len}-byte push"
    );
    f.seq.expect("twoway")
}

fn answer(s: &mut TcpStream, seq: u32, status: u8, payload: &Value) {
    use std::io::Write;
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, payload).unwrap();
    let mut buf = vec![0u8; bytes.len() + 64];
    let n = build_answer(&mut buf, seq, status, &Raw(&bytes)).unwrap();
    s.write_all(&buf[..n]).unwrap();
}

/// A client listening to `UID`, then read raw with a long read timeout.
fn listening_client(gate: &Gate) -> TcpStream {
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[], &[], &[UID], &[]);
    assert_eq!(c.partial_bytes(), 0);
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    c.stream.try_clone().unwrap()
}

#[test]
fn big_pushes_are_written_whole_and_answers_recorded() {
    let gate = Gate::start(GateConfig::default()).unwrap();
    let mut s = listening_client(&gate);
    // Gate::push returns once written: read on another thread meanwhile.
    let sizes = [6 * KIB, 64 * KIB, MIB];
    let reader = std::thread::spawn(move || {
        for (i, len) in sizes.into_iter().enumerate() {
            let f = read_frame(&mut s);
            let seq = check_chat(&f, 500 + i as i64, len);
            answer(&mut s, seq, 0, &Value::Map(vec![]));
        }
        s
    });
    for (i, len) in sizes.into_iter().enumerate() {
        let mid = 500 + i as i64;
        assert_eq!(
            gate.push(Push::chat_of_len(Target::P2p(UID), 1, mid, len)),
            1
        );
    }
    let mut s = reader.join().expect("reader");
    assert!(gate.wait_answers(3, WAIT));
    for i in 0..3 {
        let a = gate.answers_for_mid(500 + i);
        assert_eq!(a.len(), 1, "mid {}", 500 + i);
        assert!(a[0].is_ok() && a[0].code().is_none());
    }

    // 9 MiB, written by a thread of the gate while this thread reads it; answered with an
    // error, as a client whose frame limit it exceeds may do.
    let len = 9 * MIB;
    let job = gate.push_in_background(Push::chat_of_len(Target::P2p(UID), 1, 900, len));
    let [(1, Some(seq))] = job.targets() else {
        panic!("targets {:?}", job.targets())
    };
    let seq = *seq;
    let f = read_frame(&mut s);
    assert!(f.len > len + 16, "frame of {} bytes", f.len);
    assert_eq!(check_chat(&f, 900, len), seq);
    assert_eq!(job.wait(), 1);
    let error = Value::Map(vec![
        ("code".into(), 10005.into()),
        ("ex".into(), "frame too large".into()),
    ]);
    answer(&mut s, seq, 1, &error);
    assert!(gate.wait_answers(4, WAIT));
    let a = gate
        .answer_for_seq(seq)
        .expect("the error answer is recorded");
    assert_eq!(
        (a.status, a.code(), a.ex()),
        (1, Some(10005), Some("frame too large"))
    );
    assert_eq!(gate.answers_for_mid(900), [a]);
    assert!(gate.unanswered().is_empty() && gate.stray_answers().is_empty());
    assert!(gate.malformed().is_empty());
    let sent = gate.sent();
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|p| !p.truncated));
    assert_eq!(gate.connection_count(), 1);
}

#[test]
fn a_big_push_to_a_client_that_does_not_read_fails_and_closes_the_connection() {
    let gate = Gate::start(GateConfig::default()).unwrap();
    let mut s = listening_client(&gate);
    let job = gate.push_in_background(Push::chat_of_len(Target::P2p(UID), 1, 1, 9 * MIB));
    // The write times out after 2 s without progress.
    assert_eq!(job.wait_timeout(Duration::from_secs(20)), Some(0));
    assert_eq!(gate.connection_count(), 0);
    assert!(gate.unanswered().is_empty() && gate.sent().is_empty());
    // What was written is a cut frame followed by EOF.
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(got.len() < 9 * MIB, "{} bytes", got.len());
}
