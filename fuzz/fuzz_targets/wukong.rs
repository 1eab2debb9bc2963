//! Target 6: the WuKongIM framer and packet parsers (issue 13).
//!
//! Input: `[version byte] [chunk size] stream...`; the version is 2 + (byte % 5).
//!
//! Invariants:
//! - `parse_frame` over the stream, one-shot and fed `chunk` bytes at a time through a growing
//!   buffer, gives the same packets in the same order, then the same error; a `Partial(Some(n))`
//!   promises `n` bytes, and the packet is complete exactly when they are there;
//! - every body parses or fails without a panic, and what parses re-encodes to the same
//!   bytes: a RECV, CONNACK, DISCONNECT, EVENT, SENDACK or SUBACK written back field by field
//!   with the layout of `version` equals its body (so no byte is skipped or read twice);
//! - `build_recv` writes a parsed RECV back to its body; `build_recvack` and `build_connect`
//!   write frames `parse_frame` reads back whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtm_listen::wire::frame::Status;
use rtm_listen::wire::wukong::header::write_length;
use rtm_listen::wire::wukong::packet::{self, Connect};
use rtm_listen::wire::wukong::read::Writer;
use rtm_listen::wire::wukong::{Frame, FrameError, MAX_REMAINING, PacketType, parse_frame};

/// Packets of a one-shot parse, and the error that ended it (if any).
fn one_shot(stream: &[u8]) -> (Vec<(PacketType, u8, Vec<u8>)>, Option<FrameError>) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        match parse_frame(&stream[at..], MAX_REMAINING) {
            Ok(Status::Complete(f, n)) => {
                out.push((f.kind, f.flags, f.body.to_vec()));
                at += n;
            }
            Ok(Status::Partial(_)) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// Re-encodes a parsed body with the layout of `version`; `None` when it does not parse.
fn reencode(f: &Frame<'_>, version: u8) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; f.body.len() + 64];
    let n = {
        let mut w = Writer::new(&mut buf);
        match f.kind {
            PacketType::Recv => {
                let r = packet::parse_recv(f.flags, f.body, version).ok()?;
                w.u8(r.setting);
                w.string(r.msg_key);
                w.string(r.from_uid);
                w.string(r.channel_id);
                w.u8(r.channel_type);
                if let Some(e) = r.expire {
                    w.u32(e);
                }
                w.string(r.client_msg_no);
                if let Some(s) = r.stream {
                    w.u8(s.flag);
                    w.string(s.no);
                    w.u64(s.id);
                }
                w.i64(r.message_id);
                if version >= 6 {
                    w.u64(r.message_seq);
                } else {
                    w.u32(u32::try_from(r.message_seq).expect("a u32 on the wire"));
                }
                w.bytes(&r.timestamp.to_be_bytes());
                if let Some(t) = r.topic {
                    w.string(t);
                }
                w.bytes(r.payload);
            }
            PacketType::Connack => {
                let c = packet::parse_connack(f.flags, f.body, version).ok()?;
                if let Some(v) = c.server_version {
                    w.u8(v);
                }
                w.i64(c.time_diff);
                w.u8(c.reason_code);
                w.string(c.server_key);
                w.string(c.salt);
                if let Some(n) = c.node_id {
                    w.u64(n);
                }
            }
            PacketType::Disconnect => {
                let d = packet::parse_disconnect(f.body).ok()?;
                w.u8(d.reason_code);
                w.string(d.reason);
            }
            PacketType::Event => {
                let e = packet::parse_event(f.body).ok()?;
                w.string(e.id);
                w.string(e.kind);
                w.i64(e.timestamp);
                w.bytes(e.data);
            }
            PacketType::Sendack => {
                let s = packet::parse_sendack(f.body, version).ok()?;
                w.i64(s.message_id);
                w.u32(s.client_seq);
                if version >= 6 {
                    w.u64(s.message_seq);
                } else {
                    w.u32(u32::try_from(s.message_seq).expect("a u32 on the wire"));
                }
                w.u8(s.reason_code);
            }
            PacketType::Suback => {
                let s = packet::parse_suback(f.body).ok()?;
                w.string(s.sub_no);
                w.string(s.channel_id);
                w.u8(s.channel_type);
                w.u8(s.action);
                w.u8(s.reason_code);
            }
            _ => return None,
        }
        w.finish().expect("room for the re-encoding")
    };
    buf.truncate(n);
    Some(buf)
}

fuzz_target!(|data: &[u8]| {
    let Some((&[v, chunk], stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let version = 2 + v % 5;
    let chunk = usize::from(chunk).max(1);
    let (packets, error) = one_shot(stream);
    if let Some(FrameError::TooLarge { len, max }) = error {
        assert!(len > max);
    }

    // Fed in chunks through a buffer: the same packets, then the same end.
    let mut buf = Vec::new();
    let mut got = Vec::new();
    let mut end = None;
    'feed: for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match parse_frame(&buf, MAX_REMAINING) {
                Ok(Status::Complete(f, n)) => {
                    got.push((f.kind, f.flags, f.body.to_vec()));
                    buf.drain(..n);
                }
                Ok(Status::Partial(Some(total))) => {
                    assert!(total > buf.len(), "Partial({total}) with {} bytes", buf.len());
                    break;
                }
                Ok(Status::Partial(None)) => break,
                Err(e) => {
                    end = Some(e);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(got, packets);
    assert_eq!(end, error);

    // Each body: parsed or refused without a panic; what parses re-encodes to itself.
    for (kind, flags, body) in &packets {
        let f = Frame { kind: *kind, flags: *flags, body };
        // The server-side builder writes a parsed RECV back to the same packet (its length
        // re-encoded minimally, as every encoder does).
        if *kind == PacketType::Recv
            && let Ok(r) = packet::parse_recv(*flags, body, version)
        {
            let mut again = vec![0u8; body.len() + 8];
            let n = packet::build_recv(&mut again, &r, version).expect("room for the RECV");
            let head = n - body.len();
            assert_eq!(&again[head..n], &body[..], "build_recv body");
            assert_eq!(again[0], 0x50 | flags);
        }
        if let Some(re) = reencode(&f, version) {
            match kind {
                // The payload or data is the rest of the body: all of it is read.
                PacketType::Recv | PacketType::Event => assert_eq!(&re, body, "{kind:?}"),
                // Fixed layouts read a prefix (trailing bytes are left, as the server does).
                _ => assert!(body.starts_with(&re), "{kind:?}: {re:02x?} of {body:02x?}"),
            }
        }
    }

    // The builders' frames read back whole.
    let mut out = [0u8; 64];
    let n = packet::build_recvack(&mut out, version, v, i64::from(chunk as i32), u64::from(v)).unwrap();
    assert!(matches!(parse_frame(&out[..n], MAX_REMAINING), Ok(Status::Complete(_, m)) if m == n));
    let id = &stream[..stream.len().min(20)];
    let c = Connect {
        version,
        device_flag: v,
        device_id: id,
        uid: id,
        token: b"",
        client_timestamp: 0,
        client_key: b"",
    };
    let mut big = [0u8; 128];
    let n = packet::build_connect(&mut big, &c).unwrap();
    let mut len = [0u8; 4];
    assert_eq!(write_length(&mut len, n - 2), Some(1), "a body under 128 bytes");
    assert!(matches!(parse_frame(&big[..n], MAX_REMAINING), Ok(Status::Complete(f, m)) if m == n && f.kind == PacketType::Connect));
});
