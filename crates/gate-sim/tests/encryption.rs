//! FPNN encryption (reference §4): the gate's `*key` answers against the official C++ server's
//! recorded bytes and against OpenSSL-computed vectors, round trips for every curve × mode ×
//! bits with the tests' own client side (tests/common), the refusals, the plaintext and
//! force-encrypt policies, and the key formats.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Client, ClientEnc, EncSpec, WAIT, client_ecdh, demo_client_with, field, key_payload};
use rtm_gate_sim::rmpv::Value;
use rtm_gate_sim::{
    Curve, EncryptionMode, Gate, GateConfig, KeyExchangeOutcome, Push, ServerKey, Target, demo,
};
use rtm_listen::rtm::listen::ListenOp;
use rtm_listen::wire::frame::build_quest;

fn hex(s: &str) -> Vec<u8> {
    rtm_gate_sim::encryption::from_hex(s).unwrap()
}

/// Server private key 0x1111 and client private key 0x2222 on each curve: public keys, shared
/// secret and the encrypted empty answer to `*key` seq 1 (stream-mode bytes; package mode adds
/// the prefix `11000000`), computed with Python `cryptography` (OpenSSL), not with RustCrypto.
/// The secp256k1 line is the reference's example 8; its 128-bit answers and the package/256
/// one are the official server's recorded bytes (fpnn-gate README).
struct Vector {
    curve: Curve,
    server_pub: &'static str,
    client_pub: &'static str,
    secret: &'static str,
    answer_128: &'static str,
    answer_256: &'static str,
    spki: &'static str,
}

const VECTORS: [Vector; 4] = [
    Vector {
        curve: Curve::Secp256k1,
        server_pub: "7592aab5d43618dda13fba71e3993cd7517a712d3da49664c06ee1bd3d1f70af554ee877af74284d5ac0aef1ccfa8ab27a9222ae977a1b457d79d38616eaa410",
        client_pub: "e5740e63bad28081ed7cf654dd6c19029ca03382fc05ab5f5dda81f2c55b845b8dc1cf3a30ac29acf910275efd2ed6eb6511cfbeefd753804f664ede1eb2ff80",
        secret: "8dfad71b3cee1e572ddf644d7f7cfad9698f72746d1f5bd17ac62042fa320b17",
        answer_128: "3dd461894f155c54d7bc902dce992de1df",
        answer_256: "c655ce97779ea8fe4036e3c2cc80d53f53",
        spki: "3056301006072a8648ce3d020106052b8104000a034200047592aab5d43618dda13fba71e3993cd7517a712d3da49664c06ee1bd3d1f70af554ee877af74284d5ac0aef1ccfa8ab27a9222ae977a1b457d79d38616eaa410",
    },
    Vector {
        curve: Curve::Secp256r1,
        server_pub: "0dcc7648c78a3118f2612866fe83ef19f40304f623399e1211a10f2b3d1c05cf30e8027677bcb912943e99ff71140ea9bc24713be1b75c31ff4054724c4f9d00",
        client_pub: "a62f048f367359809c2d46c2049d7d7bf268c3c073c472753cb18a24a8ad20b1caccf8104b666795c7f35dac9dc444b3c2c61978198c49859955b99956da5edb",
        secret: "19cfbcaa5b6f16b6d0d45634acd7aaa05b764a17e520771158a8db8688ba1f87",
        answer_128: "a6fd5bb232dba6403e63b1662e9d25fa9d",
        answer_256: "6e377f06d5ca426fefd2c2f91e147cc5ff",
        spki: "3059301306072a8648ce3d020106082a8648ce3d030107034200040dcc7648c78a3118f2612866fe83ef19f40304f623399e1211a10f2b3d1c05cf30e8027677bcb912943e99ff71140ea9bc24713be1b75c31ff4054724c4f9d00",
    },
    Vector {
        curve: Curve::Secp224r1,
        server_pub: "33b2ac62b154cb2a306ffad861440ee09847f214bd8d8e745dfcc24e375f3bf3b4279df1c51e10314dfb2221e5b94da3c08d1d287deb3c0d",
        client_pub: "ec3ccdc4d831352753e7a25450a6f1c8773b207a1c09d7c1c50bf3494798de76083ee45c999f15fa6a9a2b613bc5b88117ee91c374eda2e5",
        secret: "1b0deed861db87a6f673ad7fb184ee53e77e35e2abc3c860d4b464be",
        answer_128: "1479cb304ff6cbb0e465e73330a48a152f",
        answer_256: "fdd495ed9cb3048c284d65fcfb491c7d08",
        spki: "304e301006072a8648ce3d020106052b81040021033a000433b2ac62b154cb2a306ffad861440ee09847f214bd8d8e745dfcc24e375f3bf3b4279df1c51e10314dfb2221e5b94da3c08d1d287deb3c0d",
    },
    Vector {
        curve: Curve::Secp192r1,
        server_pub: "4ec546e8a9d80daf8666323185cde93c0a84af96c7f8a3f44b45daa9b4609b3a98099814ecdfdac4b4ee13d373166acc",
        client_pub: "edf3e6c20f2e5b78fd2c253bb087743240ded8f34185e66e47b54eee7248be90b8b9965ac793cc5a2df3775b868e4789",
        secret: "cc81344b0a9b0b7e3584ec40133ca4d498f84196a55a3be3",
        answer_128: "23c13d5b7beb58056ecafe622b243db570",
        answer_256: "84b87c7000cf1d62747e8a19f6b569ebe7",
        spki: "3049301306072a8648ce3d020106082a8648ce3d030101033200044ec546e8a9d80daf8666323185cde93c0a84af96c7f8a3f44b45daa9b4609b3a98099814ecdfdac4b4ee13d373166acc",
    },
];

/// The reference's example 8: the plaintext `*key` quest (seq 1, package mode, 128 bits,
/// `publicKey` as bin) and the `*ping` (seq 2) encrypted in package mode and in stream mode
/// (twice).
const EX8_KEY_QUEST: &str = "46504e4e0180010460000000010000002a6b657983a97075626c69634b6579c440e5740e63bad28081ed7cf654dd6c19029ca03382fc05ab5f5dda81f2c55b845b8dc1cf3a30ac29acf910275efd2ed6eb6511cfbeefd753804f664ede1eb2ff80aa73747265616d4d6f6465c2a462697473cc80";
const EX8_PING_PACKAGE: &str = "160000003dd461894f155f51d7bc902dcd992de1a6dd14e7acc5";
const EX8_PING_STREAM_1: &str = "3dd461894f155f51d7bc902dcd992de1a6dd14e7acc5";
const EX8_PING_STREAM_2: &str = "ed2501460e05f2a857f83c5a997173ccc1cb89be1ed4";

fn key_gate(curve: Curve) -> Gate {
    Gate::start(GateConfig {
        encryption: Some(ServerKey::from_hex(curve, "1111").unwrap()),
        ..GateConfig::default()
    })
    .expect("start the gate")
}

/// A plaintext `*key` quest frame.
fn key_quest(seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + 64];
    let n = build_quest(&mut buf, seq, "*key", &common::Raw(payload)).unwrap();
    buf.truncate(n);
    buf
}

/// Writes `bytes` on a fresh connection and returns everything the gate sends until it closes
/// the connection (`true`) or `want` bytes came or `WAIT` passed (`false`).
fn raw_exchange(addr: SocketAddr, bytes: &[u8], want: usize) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    s.write_all(bytes).unwrap();
    let end = Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while Instant::now() < end && got.len() < want {
        match s.read(&mut chunk) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => {}
        }
    }
    (got, false)
}

fn spec(curve: Curve, client_priv: &str, stream: bool, bits: u16, as_str: bool) -> EncSpec {
    let n = curve.secret_len();
    let mut p = hex(client_priv);
    while p.len() < n {
        p.insert(0, 0);
    }
    EncSpec {
        curve,
        server_pub: ServerKey::from_hex(curve, "1111").unwrap().public_key_raw(),
        client_priv: p,
        stream,
        bits,
        pubkey_as_str: as_str,
    }
}

#[test]
fn public_keys_and_shared_secrets_match_openssl() {
    for v in &VECTORS {
        let key = ServerKey::from_hex(v.curve, "0x1111").unwrap();
        assert_eq!(key.curve(), v.curve);
        assert_eq!(key.public_key_raw(), hex(v.server_pub), "{}", v.curve);
        assert_eq!(key.public_key_der(), hex(v.spki), "{}", v.curve);
        assert_eq!(
            key.shared_secret(&hex(v.client_pub)).unwrap(),
            hex(v.secret),
            "{}",
            v.curve
        );
        // The tests' own client side agrees with the same vectors.
        let mut client_priv = vec![0u8; v.curve.secret_len() - 2];
        client_priv.extend_from_slice(&[0x22, 0x22]);
        let (client_pub, secret) = client_ecdh(v.curve, &client_priv, &hex(v.server_pub));
        assert_eq!(client_pub, hex(v.client_pub), "{}", v.curve);
        assert_eq!(secret, hex(v.secret), "{}", v.curve);
    }
}

#[test]
fn example_8_key_answers_are_the_official_servers_bytes() {
    let gate = key_gate(Curve::Secp256k1);
    let client_pub = hex(VECTORS[0].client_pub);
    // The tests' quest builder produces the reference's bytes.
    let quest = key_quest(Some(1), &key_payload(&client_pub, false, 128, false));
    assert_eq!(quest, hex(EX8_KEY_QUEST));
    // Recorded from the official FPNN C++ server (fpnn-gate README).
    let official = [
        (false, 128, "110000003dd461894f155c54d7bc902dce992de1df"),
        (true, 128, "3dd461894f155c54d7bc902dce992de1df"),
        (false, 256, "11000000c655ce97779ea8fe4036e3c2cc80d53f53"),
    ];
    for (stream, bits, want) in official {
        let quest = key_quest(Some(1), &key_payload(&client_pub, stream, bits, false));
        let (got, closed) = raw_exchange(gate.addr(), &quest, hex(want).len());
        assert!(!closed, "stream {stream} bits {bits}: closed");
        assert_eq!(got, hex(want), "stream {stream} bits {bits}");
    }
    let modes: Vec<KeyExchangeOutcome> = gate
        .key_exchanges()
        .into_iter()
        .map(|k| k.outcome)
        .collect();
    assert_eq!(
        modes,
        [
            KeyExchangeOutcome::Encrypted {
                mode: EncryptionMode::Package,
                bits: 128
            },
            KeyExchangeOutcome::Encrypted {
                mode: EncryptionMode::Stream,
                bits: 128
            },
            KeyExchangeOutcome::Encrypted {
                mode: EncryptionMode::Package,
                bits: 256
            },
        ]
    );
}

#[test]
fn key_answers_for_every_curve_mode_and_bits_match_openssl() {
    for v in &VECTORS {
        let gate = key_gate(v.curve);
        let mut n = 0;
        for stream in [false, true] {
            for bits in [128u16, 256] {
                // publicKey as str (the C++ client) and as bin (Go, Python) alike.
                for as_str in [false, true] {
                    let payload = key_payload(&hex(v.client_pub), stream, bits, as_str);
                    let answer = if bits == 128 {
                        v.answer_128
                    } else {
                        v.answer_256
                    };
                    let want = if stream {
                        hex(answer)
                    } else {
                        [hex("11000000"), hex(answer)].concat()
                    };
                    let (got, _) =
                        raw_exchange(gate.addr(), &key_quest(Some(1), &payload), want.len());
                    assert_eq!(
                        got, want,
                        "{} stream {stream} bits {bits} str {as_str}",
                        v.curve
                    );
                    n += 1;
                    assert!(gate.wait_key_exchanges(n, WAIT));
                    let rec = gate.key_exchanges().pop().unwrap();
                    let mode = if stream {
                        EncryptionMode::Stream
                    } else {
                        EncryptionMode::Package
                    };
                    assert_eq!(rec.outcome, KeyExchangeOutcome::Encrypted { mode, bits });
                    assert_eq!(rec.public_key_was_bin, !as_str);
                    assert_eq!(rec.seq, Some(1));
                }
            }
        }
    }
}

#[test]
fn missing_stream_mode_and_bits_mean_package_mode_128_bits() {
    let gate = key_gate(Curve::Secp256k1);
    let mut payload = vec![0x81, 0xa9];
    payload.extend_from_slice(b"publicKey");
    payload.extend_from_slice(&[0xc4, 64]);
    payload.extend_from_slice(&hex(VECTORS[0].client_pub));
    let want = hex("110000003dd461894f155c54d7bc902dce992de1df");
    let (got, _) = raw_exchange(gate.addr(), &key_quest(Some(1), &payload), want.len());
    assert_eq!(got, want);
}

/// The example's encrypted `*ping` frames are decrypted and answered, also when they arrive in
/// the same read as the plaintext `*key`.
#[test]
fn example_8_encrypted_pings_are_answered() {
    let gate = key_gate(Curve::Secp256k1);
    for (stream, trailing) in [
        (false, hex(EX8_PING_PACKAGE)),
        (
            true,
            [hex(EX8_PING_STREAM_1), hex(EX8_PING_STREAM_2)].concat(),
        ),
    ] {
        let mut c = Client::connect(gate.addr());
        let key = c.start_key_exchange_then(
            &spec(Curve::Secp256k1, "2222", stream, 128, false),
            &trailing,
        );
        assert_eq!(key, 1);
        assert_eq!(c.answer_to(1, WAIT), Some((0, Value::Map(vec![]))));
        for _ in 0..(if stream { 2 } else { 1 }) {
            let (status, payload) = c.answer_to(2, WAIT).expect("answer to the vector *ping");
            assert_eq!(status, 0);
            assert!(
                field(&payload, "ts").and_then(Value::as_i64).is_some(),
                "{payload}"
            );
        }
    }
    let pings = gate.quests().iter().filter(|q| q.method == "*ping").count();
    assert_eq!(pings, 3);
    assert!(gate.malformed().is_empty(), "{:?}", gate.malformed());
    // `*key` is recorded apart from the quests.
    assert!(gate.quests().iter().all(|q| q.method != "*key"));
}

#[test]
fn listen_push_answer_and_ping_round_trip_for_every_curve_mode_and_bits() {
    let mut combo = 0u32;
    for curve in Curve::ALL {
        let gate = key_gate(curve);
        let mut clients = Vec::new();
        for stream in [false, true] {
            for bits in [128u16, 256] {
                combo += 1;
                let priv_hex = format!("{:x}", 0x2222_0000 + combo * 7919);
                let as_str = combo.is_multiple_of(2);
                let mut c = Client::connect(gate.addr());
                c.key_exchange(&spec(curve, &priv_hex, stream, bits, as_str));
                let uid = 5000 + i64::from(combo);
                c.listen_ok(ListenOp::Add, &[], &[], &[uid], &[]);
                clients.push((c, uid, stream, bits));
            }
        }
        for (c, uid, stream, bits) in &mut clients {
            let what = format!("{curve} stream {stream} bits {bits}");
            // Two identical pushes and two pings: the stream continues across frames.
            for mid in [1, 2] {
                assert_eq!(
                    gate.push(Push::chat(Target::P2p(*uid), 7, mid, "secret text")),
                    1,
                    "{what}"
                );
                let (seq, method, payload) = c.push(WAIT).expect(&what);
                assert_eq!(method, "pushmsg", "{what}");
                assert_eq!(
                    field(&payload, "to").and_then(Value::as_i64),
                    Some(*uid),
                    "{what}"
                );
                assert_eq!(
                    field(&payload, "msg").and_then(Value::as_str),
                    Some("secret text")
                );
                c.answer_ok(seq.unwrap());
                let ping = c.ping();
                assert_eq!(c.answer_to(ping, WAIT).map(|a| a.0), Some(0), "{what}");
            }
        }
        assert!(gate.wait_answers(8, WAIT), "{curve}");
        assert!(
            gate.unanswered().is_empty() && gate.stray_answers().is_empty(),
            "{curve}"
        );
        assert!(
            gate.malformed().is_empty(),
            "{curve}: {:?}",
            gate.malformed()
        );
        let outcomes: Vec<KeyExchangeOutcome> = gate
            .key_exchanges()
            .into_iter()
            .map(|k| k.outcome)
            .collect();
        let expected: Vec<KeyExchangeOutcome> = [
            (EncryptionMode::Package, 128),
            (EncryptionMode::Package, 256),
            (EncryptionMode::Stream, 128),
            (EncryptionMode::Stream, 256),
        ]
        .into_iter()
        .map(|(mode, bits)| KeyExchangeOutcome::Encrypted { mode, bits })
        .collect();
        assert_eq!(outcomes, expected, "{curve}");
    }
    assert_eq!(combo, 16);
}

#[test]
fn the_demo_script_passes_over_encryption_in_both_modes() {
    for (curve, stream, bits) in [
        (Curve::Secp256r1, false, 128),
        (Curve::Secp192r1, true, 256),
    ] {
        let gate = key_gate(curve);
        let addr = gate.addr();
        let s = spec(curve, "abcdef", stream, bits, true);
        let client = std::thread::spawn(move || demo_client_with(addr, false, Some(&s)));
        let summary = demo::run(&gate, &mut |_| {}).expect("script ok");
        assert_eq!(
            summary.to_string(),
            "SCRIPT OK pushes=22 answered=21 reconnects=1"
        );
        let got = client.join().unwrap();
        assert_eq!(got.len(), 22);
        assert_eq!(gate.key_exchanges().len(), 2, "one per connection");
        assert!(gate.key_exchanges().iter().all(|k| k.encrypted()));
        // The drop mid-frame cut an encrypted frame: the client saw no complete bogus frame.
        assert!(gate.malformed().is_empty(), "{:?}", gate.malformed());
    }
}

#[test]
fn segmented_writes_and_pipelined_quests_work_encrypted() {
    let gate = key_gate(Curve::Secp224r1);
    gate.set_segment_size(Some(3));
    gate.set_reverse_pipelined(Some(Duration::ZERO));
    for (i, stream) in [false, true].into_iter().enumerate() {
        let mut c = Client::connect(gate.addr());
        c.key_exchange(&spec(Curve::Secp224r1, "1234567", stream, 256, false));
        let (s1, f1) = c.listen_frame(ListenOp::Add, &[10], &[], &[], &[]);
        let (s2, f2) = c.listen_frame(ListenOp::Add, &[20], &[], &[], &[]);
        c.send_frames(&[f1, f2]);
        for s in [s1, s2] {
            assert_eq!(
                c.answer_to(s, WAIT),
                Some((0, Value::Map(vec![]))),
                "stream {stream}"
            );
        }
        let batch: Vec<usize> = gate.quests()[2 * i..].iter().map(|q| q.batch_len).collect();
        assert_eq!(batch, [2, 2], "stream {stream}: both quests in one batch");
        assert_eq!(gate.push(Push::chat(Target::Group(20), 1, 9, "x")), 1);
        let (seq, ..) = c.push(WAIT).expect("push");
        c.answer_ok(seq.unwrap());
        gate.close_connections();
    }
    assert!(gate.wait_answers(2, WAIT));
    assert!(gate.malformed().is_empty(), "{:?}", gate.malformed());
}

#[test]
fn bad_key_exchanges_close_the_connection_unanswered() {
    let gate = key_gate(Curve::Secp256k1);
    let good = hex(VECTORS[0].client_pub);
    let with_04 = [&[4u8][..], &good].concat();
    let ping = {
        let mut b = [0u8; 64];
        let n = rtm_listen::rtm::listen::build_ping(&mut b, 1).unwrap();
        b[..n].to_vec()
    };
    let mut no_key = vec![0x81, 0xa4];
    no_key.extend_from_slice(b"bits");
    no_key.extend_from_slice(&[0xcc, 0x80]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "65-byte key",
            key_quest(Some(1), &key_payload(&with_04, false, 128, false)),
            "has 64 bytes, got 65",
        ),
        (
            "bits 192",
            key_quest(Some(1), &key_payload(&good, false, 192, false)),
            "bits 192",
        ),
        (
            "bits 0",
            key_quest(Some(1), &key_payload(&good, true, 0, false)),
            "bits 0",
        ),
        (
            "not a point",
            key_quest(Some(1), &key_payload(&[0x42; 64], false, 128, false)),
            "not a point",
        ),
        (
            "oneway",
            key_quest(None, &key_payload(&good, false, 128, false)),
            "oneway",
        ),
        ("no publicKey", key_quest(Some(1), &no_key), "no publicKey"),
        (
            "*key after *ping",
            [
                ping,
                key_quest(Some(2), &key_payload(&good, false, 128, false)),
            ]
            .concat(),
            "not the connection's first frame",
        ),
    ];
    for (i, (what, bytes, reason)) in cases.into_iter().enumerate() {
        let (got, closed) = raw_exchange(gate.addr(), &bytes, usize::MAX);
        assert!(closed, "{what}: not closed");
        if what == "*key after *ping" {
            // Only the plaintext *ping answer (29 bytes) came.
            assert_eq!(got.len(), 29, "{what}");
        } else {
            assert!(got.is_empty(), "{what}: got {got:?}");
        }
        assert!(gate.wait_key_exchanges(i + 1, WAIT));
        match &gate.key_exchanges()[i].outcome {
            KeyExchangeOutcome::Closed(why) => assert!(why.contains(reason), "{what}: {why}"),
            other => panic!("{what}: {other:?}"),
        }
    }

    // A gate without a server key closes on `*key` too.
    let plain = Gate::start(GateConfig::default()).unwrap();
    let (got, closed) = raw_exchange(
        plain.addr(),
        &key_quest(Some(1), &key_payload(&good, false, 128, false)),
        1,
    );
    assert!(closed && got.is_empty());
    assert!(
        matches!(&plain.key_exchanges()[0].outcome, KeyExchangeOutcome::Closed(w) if w.contains("no server key"))
    );
}

#[test]
fn bad_packages_close_the_connection() {
    let gate = key_gate(Curve::Secp256k1);
    let s = spec(Curve::Secp256k1, "2222", false, 128, false);
    let ping = |seq| {
        let mut b = [0u8; 64];
        let n = rtm_listen::rtm::listen::build_ping(&mut b, seq).unwrap();
        b[..n].to_vec()
    };
    // Two frames in one package.
    let mut c = Client::connect(gate.addr());
    c.key_exchange(&s);
    c.send(&[ping(2), ping(3)].concat());
    assert!(c.wait_eof(WAIT));
    // A package longer than the frame limit.
    let mut c = Client::connect(gate.addr());
    c.key_exchange(&s);
    c.send_raw(&(9u32 << 20).to_le_bytes());
    assert!(c.wait_eof(WAIT));
    let reasons: Vec<String> = gate.malformed().into_iter().map(|m| m.reason).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("and more"), "{reasons:?}");
    assert!(reasons[1].contains("limit"), "{reasons:?}");
}

#[test]
fn plaintext_clients_are_served_unless_encryption_is_forced() {
    let gate = key_gate(Curve::Secp256k1);
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[], &[], &[42], &[]);
    assert_eq!(gate.push(Push::chat(Target::P2p(42), 1, 1, "plain")), 1);
    assert_eq!(c.push(WAIT).unwrap().1, "pushmsg");
    assert!(gate.key_exchanges().is_empty());

    let forced = Gate::start(GateConfig {
        encryption: Some(ServerKey::from_hex(Curve::Secp256k1, "1111").unwrap()),
        force_encrypt: true,
        ..GateConfig::default()
    })
    .unwrap();
    // `*ping` stays allowed in plaintext; a user quest closes the connection unanswered.
    let mut p = Client::connect(forced.addr());
    let seq = p.ping();
    assert_eq!(p.answer_to(seq, WAIT).map(|a| a.0), Some(0));
    let seq = p.listen(ListenOp::Add, &[1], &[], &[], &[]);
    assert_eq!(p.answer_to(seq, WAIT), None);
    assert!(p.eof);
    let malformed = forced.malformed();
    assert_eq!(malformed.len(), 1);
    assert!(
        malformed[0].reason.contains("requires encryption"),
        "{malformed:?}"
    );
    assert!(
        forced
            .listen_states()
            .iter()
            .all(|(_, s)| s.gids.is_empty())
    );
    // Encrypted clients are served.
    let mut e = Client::connect(forced.addr());
    e.key_exchange(&spec(Curve::Secp256k1, "2222", true, 128, false));
    e.listen_ok(ListenOp::Add, &[1], &[], &[], &[]);
    assert!(forced.wait_listen(|s| s.gids.contains(&1), WAIT));
}

#[test]
fn pushes_wait_for_the_first_frame_on_an_encrypting_gate() {
    let gate = key_gate(Curve::Secp256r1);
    let mut c = Client::connect(gate.addr());
    assert!(gate.wait_connections(1, WAIT));
    // Pushes to every connection skip one whose first frame has not come.
    assert_eq!(gate.push(Push::ping()), 0);
    assert!(!gate.push_to(1, Push::ping()));
    c.key_exchange(&spec(Curve::Secp256r1, "77", false, 256, false));
    assert_eq!(gate.push(Push::ping()), 1);
    let (seq, method, _) = c.push(WAIT).unwrap();
    assert_eq!(method, "ping");
    c.answer_ok(seq.unwrap());
    assert!(gate.wait_answers(1, WAIT));
    // A gate without a key pushes at once, as before.
    let plain = Gate::start(GateConfig::default()).unwrap();
    let _c = Client::connect(plain.addr());
    assert!(plain.wait_connections(1, WAIT));
    assert_eq!(plain.push(Push::ping()), 1);
}

#[test]
fn the_key_error_fault_answers_in_plaintext_and_keeps_the_connection() {
    let gate = key_gate(Curve::Secp256k1);
    gate.set_key_error(Some(20_001));
    let quest = key_quest(
        Some(1),
        &key_payload(&hex(VECTORS[0].client_pub), false, 128, false),
    );
    let mut raw = TcpStream::connect(gate.addr()).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    raw.write_all(&quest).unwrap();
    let mut head = [0u8; 16];
    raw.read_exact(&mut head).unwrap();
    assert_eq!(
        &head[..8],
        &hex("46504e4e01800201")[..],
        "a plaintext error answer"
    );
    assert_eq!(head[12..16], 1u32.to_le_bytes());
    assert_eq!(
        gate.key_exchanges()[0].outcome,
        KeyExchangeOutcome::ErrorAnswered { code: 20_001 }
    );
    // Still open and plaintext: a *ping is answered in plaintext.
    let mut b = [0u8; 64];
    let n = rtm_listen::rtm::listen::build_ping(&mut b, 2).unwrap();
    raw.write_all(&b[..n]).unwrap();
    let len = u32::from_le_bytes(head[8..12].try_into().unwrap()) as usize;
    let mut rest = vec![0u8; len + 16];
    raw.read_exact(&mut rest).unwrap();
    assert_eq!(&rest[len..len + 4], b"FPNN");
    gate.set_key_error(None);
    let mut c = Client::connect(gate.addr());
    c.key_exchange(&spec(Curve::Secp256k1, "2222", false, 128, false));
}

// ---- keys ----------------------------------------------------------------------------------

const P224_SEC1_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MGgCAQEEHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAERGgBwYFK4EEACGhPAM6
AAQzsqxisVTLKjBv+thhRA7gmEfyFL2NjnRd/MJON18787QnnfHFHhAxTfsiIeW5
TaPAjR0ofes8DQ==
-----END EC PRIVATE KEY-----
";
const P256_PKCS8_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAERGhRANCAAQNzHZIx4oxGPJhKGb+g+8Z9AME9iM5
nhIRoQ8rPRwFzzDoAnZ3vLkSlD6Z/3EUDqm8JHE74bdcMf9AVHJMT50A
-----END PRIVATE KEY-----
";
const P256_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDcx2SMeKMRjyYShm/oPvGfQDBPYj
OZ4SEaEPKz0cBc8w6AJ2d7y5EpQ+mf9xFA6pvCRxO+G3XDH/QFRyTE+dAA==
-----END PUBLIC KEY-----
";
const P192_PKCS8_DER: &str = "306f020100301306072a8648ce3d020106082a8648ce3d030101045530530201010418000000000000000000000000000000000000000000001111a134033200044ec546e8a9d80daf8666323185cde93c0a84af96c7f8a3f44b45daa9b4609b3a98099814ecdfdac4b4ee13d373166acc";
const P192_SEC1_DER: &str = "305f0201010418000000000000000000000000000000000000000000001111a00a06082a8648ce3d030101a134033200044ec546e8a9d80daf8666323185cde93c0a84af96c7f8a3f44b45daa9b4609b3a98099814ecdfdac4b4ee13d373166acc";

#[test]
fn server_keys_load_from_hex_raw_pem_and_der() {
    let k1111 = |c: Curve| ServerKey::from_hex(c, "1111").unwrap();
    // Hex: 0x prefix, padding, odd length.
    assert_eq!(
        ServerKey::from_hex(Curve::Secp256k1, "0x1111").unwrap(),
        k1111(Curve::Secp256k1)
    );
    assert_eq!(
        ServerKey::from_hex(Curve::Secp256k1, "0111")
            .unwrap()
            .private_key_bytes()[30..],
        [1, 0x11]
    );
    let raw = k1111(Curve::Secp256k1).private_key_bytes().to_vec();
    assert_eq!(raw.len(), 32);
    assert_eq!(
        ServerKey::from_file_contents(Some(Curve::Secp256k1), &raw).unwrap(),
        k1111(Curve::Secp256k1)
    );
    // PEM and DER carry the curve.
    let cases: [(&[u8], Curve); 4] = [
        (P224_SEC1_PEM.as_bytes(), Curve::Secp224r1),
        (P256_PKCS8_PEM.as_bytes(), Curve::Secp256r1),
        (&hex(P192_PKCS8_DER), Curve::Secp192r1),
        (&hex(P192_SEC1_DER), Curve::Secp192r1),
    ];
    for (bytes, curve) in cases {
        let key = ServerKey::from_file_contents(None, bytes).unwrap();
        assert_eq!(key, k1111(curve));
        assert_eq!(
            ServerKey::from_file_contents(Some(curve), bytes).unwrap(),
            key
        );
        assert!(
            ServerKey::from_file_contents(Some(Curve::Secp256k1), bytes).is_err(),
            "{curve}: mismatch"
        );
    }
    // OpenSSL's `ecparam -genkey` output starts with an EC PARAMETERS block.
    let with_params = format!(
        "-----BEGIN EC PARAMETERS-----\nBgUrgQQAIQ==\n-----END EC PARAMETERS-----\n{P224_SEC1_PEM}"
    );
    assert_eq!(
        ServerKey::from_pem(None, &with_params).unwrap(),
        k1111(Curve::Secp224r1)
    );
    assert_eq!(k1111(Curve::Secp256r1).public_key_pem(), P256_PUBLIC_PEM);

    // Bad keys.
    assert!(ServerKey::from_hex(Curve::Secp256k1, "0").is_err());
    assert!(ServerKey::from_hex(Curve::Secp256k1, "xyz").is_err());
    assert!(ServerKey::from_hex(Curve::Secp192r1, &"11".repeat(25)).is_err());
    // The group order of secp256k1 is not a valid scalar.
    let order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    assert!(ServerKey::from_hex(Curve::Secp256k1, order).is_err());
    assert!(ServerKey::from_file_contents(None, b"not a key").is_err());
    assert!(ServerKey::parse(None, "1111").is_err(), "hex needs a curve");
    assert!(k1111(Curve::Secp256k1).shared_secret(&[0x42; 64]).is_err());
    assert!(
        !format!("{:?}", k1111(Curve::Secp256k1)).contains("1111"),
        "no private key in Debug"
    );

    // Names.
    for c in Curve::ALL {
        assert_eq!(Curve::from_name(c.name()), Some(c));
        assert_eq!(c.public_key_len(), 2 * c.secret_len());
    }
    assert_eq!(Curve::from_name("prime256v1"), Some(Curve::Secp256r1));
    assert_eq!(Curve::from_name("P-192"), Some(Curve::Secp192r1));
    assert_eq!(Curve::from_name("ed25519"), None);
}

#[test]
fn public_keys_are_written_as_pem_der_or_raw_and_loaded_back() {
    let dir = std::env::temp_dir().join(format!("gate-sim-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = ServerKey::from_hex(Curve::Secp256r1, "1111").unwrap();
    let v = &VECTORS[1];
    for (name, want) in [
        ("k.pem", P256_PUBLIC_PEM.as_bytes().to_vec()),
        ("k.der", hex(v.spki)),
        ("k-public.key", hex(v.server_pub)),
    ] {
        let path = dir.join(name);
        key.write_public_key(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), want, "{name}");
    }
    // Private keys load from files given by path, hex otherwise.
    let pem = dir.join("p224.pem");
    std::fs::write(&pem, P224_SEC1_PEM).unwrap();
    let raw = dir.join("secp256r1-private.key");
    std::fs::write(&raw, key.private_key_bytes()).unwrap();
    assert_eq!(
        ServerKey::parse(None, pem.to_str().unwrap())
            .unwrap()
            .curve(),
        Curve::Secp224r1
    );
    assert_eq!(
        ServerKey::parse(Some(Curve::Secp256r1), raw.to_str().unwrap()).unwrap(),
        key
    );
    assert_eq!(
        ServerKey::parse(Some(Curve::Secp256r1), "0x1111").unwrap(),
        key
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_client_side_of_the_tests_matches_the_reference_vectors() {
    // Guards the tests' own CFB: the example's package and stream *ping ciphertexts.
    let mut enc = ClientEnc::new(&hex(VECTORS[0].secret), false, 128);
    let mut ping = [0u8; 64];
    let n = rtm_listen::rtm::listen::build_ping(&mut ping, 2).unwrap();
    assert_eq!(enc.seal(&ping[..n]), hex(EX8_PING_PACKAGE));
    let mut enc = ClientEnc::new(&hex(VECTORS[0].secret), true, 128);
    assert_eq!(enc.seal(&ping[..n]), hex(EX8_PING_STREAM_1));
    assert_eq!(enc.seal(&ping[..n]), hex(EX8_PING_STREAM_2));
}
