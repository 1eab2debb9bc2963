//! WuKongIM packets against the reference's golden vectors (`protocol/wukongim.md` §b): the
//! first four from the npm `wukongimjssdk@1.0.4` encoder run under Node, the rest derived by
//! hand from the server's layouts, both ways where we both build and parse.
#![cfg(feature = "wukong")]

use rtm_listen::wire::frame::Status;
use rtm_listen::wire::wukong::header::flags;
use rtm_listen::wire::wukong::packet::{self, Connect, Sub};
use rtm_listen::wire::wukong::{
    Frame, FrameError, MAX_REMAINING, PacketType, ReadError, parse_frame,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn whole(bytes: &[u8]) -> Frame<'_> {
    match parse_frame(bytes, MAX_REMAINING) {
        Ok(Status::Complete(f, n)) => {
            assert_eq!(n, bytes.len(), "one packet, all of it");
            f
        }
        other => panic!("not a whole packet: {other:?}"),
    }
}

const CONNECT_V5: &str =
    "10 25 05 02 0004 64657631 0008 6c697374656e6572 0003 746f6b 0000018bcfe56800 0004 41414141";
const RECVACK_V5: &str = "60 0c 0000011f71fb04cb 00000007";
const RECVACK_V6: &str = "60 10 0000011f71fb04cb 0000000000000007";
const SUB: &str = "a0 0f 00 0004 73756231 0002 6731 02 00 0000";
const CONNACK_V5: &str = "21 16 05 fffffffffffffff1 01 0000 0000 0000000000000001";
const RECV_V5: &str = "52 43 00 0000 0005 616c696365 0002 6731 02 00000000 0005 636d6e2d31 0000011f71fb04cb 00000007 6553f100 7b2274797065223a312c22636f6e74656e74223a226869227d";
const RECV_V6: &str = "52 47 00 0000 0005 616c696365 0002 6731 02 00000000 0005 636d6e2d31 0000011f71fb04cb 0000000000000007 6553f100 7b2274797065223a312c22636f6e74656e74223a226869227d";
const DISCONNECT_KICK: &str = "90 18 0c 0015 6c6f67696e20696e206f7468657220646576696365";
const SUBACK: &str = "b0 0d 0004 73756231 0002 6731 02 00 01";

#[test]
fn connect_ping_recvack_and_sub_are_the_npm_encoders_bytes() {
    let mut out = [0u8; 64];
    let n = packet::build_connect(
        &mut out,
        &Connect {
            version: 5,
            device_flag: 2,
            device_id: b"dev1",
            uid: b"listener",
            token: b"tok",
            client_timestamp: 1_700_000_000_000,
            client_key: b"AAAA",
        },
    )
    .unwrap();
    assert_eq!(&out[..n], hex(CONNECT_V5));
    assert_eq!(packet::PING, [0x70]);
    let n = packet::build_recvack(&mut out, 5, 0, 1_234_567_890_123, 7).unwrap();
    assert_eq!(&out[..n], hex(RECVACK_V5));
    assert_eq!(n, packet::recvack_len(5));
    let n = packet::build_sub(
        &mut out,
        &Sub {
            setting: 0,
            sub_no: b"sub1",
            channel_id: b"g1",
            channel_type: 2,
            action: 0,
            param: b"",
        },
    )
    .unwrap();
    assert_eq!(&out[..n], hex(SUB));
}

#[test]
fn a_version_6_recvack_has_a_64_bit_sequence_and_copies_the_recv_flags() {
    let mut out = [0u8; 32];
    let n = packet::build_recvack(&mut out, 6, 0, 1_234_567_890_123, 7).unwrap();
    assert_eq!(&out[..n], hex(RECVACK_V6));
    assert_eq!(n, packet::recvack_len(6));
    // DUP is not copied; NoPersist, SyncOnce and RedDot are.
    let all = flags::DUP | flags::SYNC_ONCE | flags::RED_DOT | flags::NO_PERSIST;
    packet::build_recvack(&mut out, 5, all, 1, 2).unwrap();
    assert_eq!(
        out[0],
        0x60 | flags::SYNC_ONCE | flags::RED_DOT | flags::NO_PERSIST
    );
}

#[test]
fn a_plaintext_version_5_connack_negotiates_the_servers_version() {
    let bytes = hex(CONNACK_V5);
    let f = whole(&bytes);
    assert_eq!(f.kind, PacketType::Connack);
    let c = packet::parse_connack(f.flags, f.body, 6).unwrap();
    assert_eq!(c.server_version, Some(5));
    assert_eq!(c.version, 5);
    assert_eq!(c.time_diff, -15);
    assert_eq!(c.reason_code, packet::reason::SUCCESS);
    assert_eq!((c.server_key, c.salt), (&b""[..], &b""[..]));
    assert_eq!(c.node_id, Some(1));
}

#[test]
fn recv_at_versions_5_and_6() {
    for (v, vector) in [(5u8, RECV_V5), (6, RECV_V6)] {
        let bytes = hex(vector);
        let f = whole(&bytes);
        assert_eq!(f.kind, PacketType::Recv);
        assert_eq!(f.flags, flags::RED_DOT);
        let r = packet::parse_recv(f.flags, f.body, v).unwrap();
        assert_eq!(r.msg_key, b"");
        assert_eq!(r.from_uid, b"alice");
        assert_eq!(r.channel_id, b"g1");
        assert_eq!(r.channel_type, 2);
        assert_eq!(r.expire, Some(0));
        assert_eq!(r.client_msg_no, b"cmn-1");
        assert_eq!(r.stream, None);
        assert_eq!(r.message_id, 1_234_567_890_123);
        assert_eq!(r.message_seq, 7);
        assert_eq!(r.timestamp, 1_700_000_000);
        assert_eq!(r.topic, None);
        assert_eq!(r.payload, br#"{"type":1,"content":"hi"}"#);
        // The other version's layout does not read this body the same way.
        let other = if v == 5 { 6 } else { 5 };
        assert_ne!(packet::parse_recv(f.flags, f.body, other).ok(), Some(r));
    }
}

/// Hand-derived from the layouts: a v3 RECV (expire, no node-id rules involved) with a topic,
/// and a v2 RECV with the stream bit (no expire, stream fields after `client_msg_no`).
#[test]
fn hand_derived_version_2_and_3_recvs() {
    let v3 = hex(
        "50 2c 08 0000 0001 61 0001 62 01 0000003c 0001 63 0000000000000009 0000000b 00000064 0002 7470 7061796c6f6164",
    );
    let f = whole(&v3);
    let r = packet::parse_recv(f.flags, f.body, 3).unwrap();
    assert_eq!(r.setting, packet::setting::TOPIC);
    assert_eq!(
        (r.from_uid, r.channel_id, r.channel_type),
        (&b"a"[..], &b"b"[..], 1)
    );
    assert_eq!(r.expire, Some(60));
    assert_eq!((r.message_id, r.message_seq, r.timestamp), (9, 11, 100));
    assert_eq!(r.topic, Some(&b"tp"[..]));
    assert_eq!(r.payload, b"payload");
    let v2 = hex(
        "50 31 02 0000 0001 61 0001 62 02 0001 63 05 0002 736e 0000000000000003 0000000000000009 0000000b 00000064 7061796c6f6164",
    );
    let f = whole(&v2);
    let r = packet::parse_recv(f.flags, f.body, 2).unwrap();
    assert_eq!(r.expire, None);
    assert_eq!(
        r.stream,
        Some(packet::Stream {
            flag: 5,
            no: b"sn",
            id: 3
        })
    );
    assert_eq!((r.message_id, r.message_seq), (9, 11));
    assert_eq!(r.payload, b"payload");
    // From version 5 the stream bit adds no fields.
    let v5 = hex(
        "50 28 02 0000 0001 61 0001 62 02 00000000 0001 63 0000000000000009 0000000b 00000064 7061796c6f6164",
    );
    let f = whole(&v5);
    let r = packet::parse_recv(f.flags, f.body, 5).unwrap();
    assert_eq!((r.stream, r.payload), (None, &b"payload"[..]));
}

#[test]
fn disconnect_suback_event_and_sendack() {
    let bytes = hex(DISCONNECT_KICK);
    let f = whole(&bytes);
    assert_eq!(f.kind, PacketType::Disconnect);
    let d = packet::parse_disconnect(f.body).unwrap();
    assert_eq!(d.reason_code, packet::reason::CONNECT_KICK);
    assert_eq!(packet::reason::name(d.reason_code), Some("ConnectKick"));
    assert_eq!(d.reason, b"login in other device");
    let bytes = hex(SUBACK);
    let f = whole(&bytes);
    let s = packet::parse_suback(f.body).unwrap();
    assert_eq!(
        (
            s.sub_no,
            s.channel_id,
            s.channel_type,
            s.action,
            s.reason_code
        ),
        (&b"sub1"[..], &b"g1"[..], 2, 0, 1)
    );
    // EVENT: id, type, timestamp, then the JSON data; 219 bytes of body as in the reference,
    // so that the length takes two bytes (`db 01`).
    let mut data = br#"{"client_msg_no":"cmn-1","channel_id":"g1","channel_type":2,"from_uid":"alice","message_id":1234567890123,"event_key":"k","msg_event_seq":1,"stream_status":1,"payload":""}"#.to_vec();
    let pad = 219 - (2 + 5) - (2 + 12) - 8 - data.len();
    data.splice(
        data.len() - 2..data.len() - 2,
        std::iter::repeat_n(b'x', pad),
    );
    let mut body = hex("0005 6576742d31 000c 73747265616d2e64656c7461 0000018bcfe5687b");
    body.extend_from_slice(&data);
    assert_eq!(body.len(), 219);
    let mut frame = hex("c0 db01");
    frame.extend_from_slice(&body);
    let f = whole(&frame);
    let e = packet::parse_event(f.body).unwrap();
    assert_eq!(
        (e.id, e.kind, e.timestamp),
        (&b"evt-1"[..], &b"stream.delta"[..], 1_700_000_000_123)
    );
    assert_eq!(e.data, &data[..]);
    let s =
        packet::parse_sendack(&hex("0000000000000009 00000001 0000000000000007 01"), 6).unwrap();
    assert_eq!(
        (s.message_id, s.client_seq, s.message_seq, s.reason_code),
        (9, 1, 7, 1)
    );
    let s = packet::parse_sendack(&hex("0000000000000009 00000001 00000007 01"), 5).unwrap();
    assert_eq!(s.message_seq, 7);
}

/// The reference's bad inputs, each with its own error and no panic.
#[test]
fn bad_inputs_have_their_own_errors() {
    let mut too_big = vec![0x50];
    too_big.extend(hex("81 80 40")); // 1 MiB + 1
    assert_eq!(
        parse_frame(&too_big, MAX_REMAINING),
        Err(FrameError::TooLarge {
            len: MAX_REMAINING + 1,
            max: MAX_REMAINING
        })
    );
    assert_eq!(
        parse_frame(&hex("50 80 80 80 80 01"), MAX_REMAINING),
        Err(FrameError::LengthTooLong)
    );
    assert_eq!(
        parse_frame(&hex("f0 00"), MAX_REMAINING),
        Err(FrameError::UnknownType(15))
    );
    // A string whose length runs past the body.
    let mut recv = hex(RECV_V5);
    recv[5] = 0x7f; // from_uid's length byte: 0x0005 -> 0x007f... within the i16 high byte 0
    let f = whole(&recv);
    assert_eq!(
        packet::parse_recv(f.flags, f.body, 5),
        Err(ReadError::Truncated("from_uid"))
    );
    // A body cut inside a field names it.
    let bytes = hex(RECV_V5);
    let f = whole(&bytes);
    let cut = &f.body[..f.body.len() - 25 - 2];
    assert_eq!(
        packet::parse_recv(f.flags, cut, 5),
        Err(ReadError::Truncated("timestamp"))
    );
    assert_eq!(
        packet::parse_disconnect(&hex("0c ffff")),
        Err(ReadError::NegativeLength("reason"))
    );
}

/// Every packet of a stream comes out the same under any split of the bytes.
#[test]
fn any_split_gives_the_same_packets() {
    let mut stream = Vec::new();
    for v in [CONNACK_V5, RECV_V5, "80", RECV_V6, DISCONNECT_KICK, SUBACK] {
        stream.extend(hex(v));
    }
    let reference = packets(&stream, stream.len());
    assert_eq!(reference.len(), 6);
    for step in 1..=stream.len() {
        assert_eq!(packets(&stream, step), reference, "step {step}");
    }
}

/// Reads `stream` `step` bytes at a time through a buffer, as a session would: the packets'
/// (type, flags, body).
fn packets(stream: &[u8], step: usize) -> Vec<(PacketType, u8, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for chunk in stream.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            match parse_frame(&buf, MAX_REMAINING).unwrap() {
                Status::Complete(f, n) => {
                    out.push((f.kind, f.flags, f.body.to_vec()));
                    buf.drain(..n);
                }
                Status::Partial(total) => {
                    if let Some(t) = total {
                        assert!(t > buf.len());
                    }
                    break;
                }
            }
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn a_short_buffer_and_a_long_string_are_refused_by_the_builders() {
    let c = Connect {
        version: 5,
        device_flag: 2,
        device_id: b"dev1",
        uid: b"listener",
        token: b"tok",
        client_timestamp: 0,
        client_key: b"AAAA",
    };
    assert_eq!(
        packet::build_connect(&mut [0u8; 10], &c),
        Err(packet::BuildError::BufferTooSmall { needed: 39 })
    );
    let long = vec![b'x'; 40_000];
    assert_eq!(
        packet::build_connect(&mut [0u8; 64], &Connect { token: &long, ..c }),
        Err(packet::BuildError::StringTooLong)
    );
    // A body over 127 bytes takes a two-byte length.
    let token = vec![b't'; 200];
    let mut out = [0u8; 300];
    let n = packet::build_connect(&mut out, &Connect { token: &token, ..c }).unwrap();
    let f = whole(&out[..n]);
    assert_eq!(f.kind, PacketType::Connect);
    assert_eq!(f.body.len(), n - 3);
}

/// The server-side RECV builder writes the reference's vectors and round-trips through the
/// parser at every version, stream and topic fields included.
#[test]
fn build_recv_writes_the_vectors_and_round_trips() {
    let payload = br#"{"type":1,"content":"hi"}"#;
    let base = packet::Recv {
        flags: flags::RED_DOT,
        setting: 0,
        msg_key: b"",
        from_uid: b"alice",
        channel_id: b"g1",
        channel_type: 2,
        expire: Some(0),
        client_msg_no: b"cmn-1",
        stream: None,
        message_id: 1_234_567_890_123,
        message_seq: 7,
        timestamp: 1_700_000_000,
        topic: None,
        payload,
    };
    let mut out = [0u8; 256];
    for (v, vector) in [(5u8, RECV_V5), (6, RECV_V6)] {
        let n = packet::build_recv(&mut out, &base, v).unwrap();
        assert_eq!(&out[..n], hex(vector), "v{v}");
    }
    let stream = packet::Recv {
        setting: packet::setting::STREAM | packet::setting::TOPIC,
        stream: Some(packet::Stream {
            flag: 2,
            no: b"sn",
            id: 5,
        }),
        topic: Some(b"tp"),
        message_seq: 9,
        ..base
    };
    for v in 2u8..=6 {
        let n = packet::build_recv(&mut out, &stream, v).unwrap();
        let f = whole(&out[..n]);
        let r = packet::parse_recv(f.flags, f.body, v).unwrap();
        let want = packet::Recv {
            expire: (v >= 3).then_some(0),
            stream: (v <= 4).then_some(packet::Stream {
                flag: 2,
                no: b"sn",
                id: 5,
            }),
            ..stream
        };
        assert_eq!(r, want, "v{v}");
    }
}
