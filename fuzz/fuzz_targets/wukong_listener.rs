//! Target 7: the WuKongIM listener's session (issue 13), against arbitrary server bytes.
//!
//! Input: `[version byte] ops...`. The harness logs the listener in first (a plaintext CONNACK
//! at version 2 + (byte % 5)), then runs the ops; each op is one byte `c` and its arguments:
//! - `c % 4 == 0`, `[n]`, then `n` bytes: fed to `handle_input` as server bytes;
//! - `c % 4 == 1`, `[k]`: the host sends `4 k` bytes of TX (`consume_transmit`), then polls;
//! - `c % 4 == 2`, `[t]`: time moves `100 t` ms, then `handle_timeout`;
//! - `c % 4 == 3`: the transport drops and comes back (`closed`, `connected`, a CONNACK).
//!
//! Invariants (each a panic when broken):
//! - no panic from input, whatever the bytes;
//! - `handle_input` takes at most what it was given, everything once a close was asked for,
//!   and less only when TX has no room for a RECVACK (18 bytes);
//! - a message id is delivered at most once (within the duplicate filter's TTL, set longer
//!   than any run), and every delivered message carries its WuKongIM fields with that id;
//! - the RECVACKs sent (parsed back from every byte the host took) are exactly the listener's
//!   count, and never more than the RECVs it handled;
//! - after a close request: `wants_close`, no deadline; otherwise a deadline is never in the
//!   past after `handle_timeout` (a host would spin).
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
use rtm_listen::session::{CloseReason, Event};
use rtm_listen::wire::frame::Status;
use rtm_listen::wire::wukong::{MAX_REMAINING, PacketType, parse_frame};

type L = WkListener<1024, 256>;

/// What the events showed so far.
#[derive(Default)]
struct Seen {
    delivered: HashSet<i64>,
    closing: bool,
}

impl Seen {
    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Message(m) => {
                let wk = m.wukong.expect("a WuKongIM message has its fields");
                assert_eq!(wk.recv.message_id, m.message.mid);
                assert!(self.delivered.insert(m.message.mid), "delivered twice: {}", m.message.mid);
            }
            Event::CloseRequested(_) => self.closing = true,
            _ => {}
        }
    }
}

/// A plaintext CONNACK at `version` (the HasServerVersion flag set).
fn connack(version: u8) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&0i64.to_be_bytes());
    b.push(1);
    b.extend_from_slice(&[0, 0, 0, 0]);
    if version >= 4 {
        b.extend_from_slice(&1u64.to_be_bytes());
    }
    let mut p = vec![0x21, b.len() as u8];
    p.extend_from_slice(&b);
    p
}

/// `connected`, the CONNECT taken (not counted), the CONNACK.
fn login(l: &mut L, now: u64, version: u8, seen: &mut Seen) {
    l.connected(now);
    let n = l.transmit().len();
    l.consume_transmit(n);
    let mut up = false;
    l.handle_input(now, &connack(version), |e| {
        up |= matches!(e, Event::Connected { .. });
        seen.event(e);
    });
    assert!(up, "logged in");
    seen.closing = false;
}

/// A deadline is never in the past after `handle_timeout`, and there is none while closing.
fn check_deadline(l: &L, now: u64, closing: bool) {
    match l.poll_timeout() {
        None => {}
        Some(_) if closing => panic!("a deadline while closing"),
        Some(t) => assert!(t > now, "deadline {t} not after now {now}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&v, mut ops)) = data.split_first() else {
        return;
    };
    let cfg = WkConfig {
        dedup_ttl_ms: 1 << 40,
        ..WkConfig::DEFAULT
    };
    let creds = WkCredentials {
        uid: "90001",
        token: "t",
        device_id: "d",
    };
    let mut l = L::sized(cfg, creds, &[5; 32]).expect("listener");
    let version = 2 + v % 5;
    let mut now = 1u64;
    let mut seen = Seen::default();
    let mut sent = Vec::new();
    login(&mut l, now, version, &mut seen);
    while let Some((&c, rest)) = ops.split_first() {
        ops = rest;
        match c % 4 {
            0 => {
                let Some((&n, rest)) = ops.split_first() else { break };
                let n = usize::from(n).min(rest.len());
                let (chunk, rest) = rest.split_at(n);
                ops = rest;
                let was_closing = seen.closing;
                let taken = l.handle_input(now, chunk, |e| seen.event(e));
                assert!(taken <= chunk.len());
                assert_eq!(seen.closing, l.wants_close());
                if was_closing || seen.closing {
                    assert_eq!(taken, chunk.len(), "input after a close request is swallowed");
                } else if taken < chunk.len() {
                    assert!(256 - l.transmit().len() < 18, "input refused with TX room");
                }
            }
            1 => {
                let Some((&k, rest)) = ops.split_first() else { break };
                ops = rest;
                let n = (usize::from(k) * 4).min(l.transmit().len());
                sent.extend_from_slice(&l.transmit()[..n]);
                l.consume_transmit(n);
                l.poll_events(|e| seen.event(e));
            }
            2 => {
                let Some((&t, rest)) = ops.split_first() else { break };
                ops = rest;
                now += u64::from(t) * 100;
                l.handle_timeout(now);
                l.poll_events(|e| seen.event(e));
                check_deadline(&l, now, seen.closing);
            }
            _ => {
                let n = l.transmit().len();
                sent.extend_from_slice(&l.transmit()[..n]);
                l.consume_transmit(n);
                l.closed(now, CloseReason::PeerClosed);
                l.poll_events(|e| seen.event(e));
                login(&mut l, now, version, &mut seen);
            }
        }
    }
    // Everything still queued is sent, then parsed back.
    let n = l.transmit().len();
    sent.extend_from_slice(&l.transmit()[..n]);
    let mut acks = 0u64;
    let mut at = 0;
    while at < sent.len() {
        match parse_frame(&sent[at..], MAX_REMAINING) {
            Ok(Status::Complete(f, len)) => {
                match f.kind {
                    PacketType::Recvack => acks += 1,
                    PacketType::Ping | PacketType::Pong => {}
                    other => panic!("the listener sent {other:?} after logging in"),
                }
                at += len;
            }
            other => panic!("unreadable bytes from the listener: {other:?}"),
        }
    }
    let st = l.stats();
    assert_eq!(acks, st.acks, "RECVACKs sent");
    assert!(st.acks <= st.received, "more RECVACKs than RECVs");
    assert_eq!(st.delivered + st.duplicates + st.rejected, st.received);
});
