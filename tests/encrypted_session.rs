//! The listener with FPNN encryption on, against an in-process server side (the engine's own
//! crypto building blocks for the server's half, rmpv for its msgpack): the key exchange, the
//! listens held until its answer, every push and answer encrypted both ways, in both modes and
//! both key sizes, on every curve, under any chunking; an error answer, a timeout, garbage
//! after the exchange and a bad package each end the connection with their own reason; a new
//! connection makes a new key. The independent peers (OpenSSL in Python, the official FPNN
//! server) are in `encrypted_peer.rs` and RELIABILITY.md.
#![cfg(feature = "encryption")]

mod support;

use rmpv::Value;
use rtm_listen::crypto::{AesCfb, Bits, Curve, EphemeralKey, ServerPublicKey};
use rtm_listen::rtm::listen::ListenIds;
use rtm_listen::session::{CloseReason, Encryption, EncryptionMode, Event};
use rtm_listen::wire::frame::FrameError;
use support::*;

/// The server's half of one connection.
struct Server {
    mode: EncryptionMode,
    send: AesCfb,
    recv: AesCfb,
    /// Received bytes not yet decrypted into frames (package mode: whole packages only).
    pending: Vec<u8>,
    /// The client's public key from `*key`.
    client_key: Vec<u8>,
}

impl Server {
    /// Reads the plaintext `*key` quest from `l`'s output and derives the keys; returns the
    /// server and the `*key` seq.
    fn accept(l: &mut L, curve: Curve, server: &EphemeralKey, bits: Bits) -> (Self, u32) {
        let bytes = l.transmit().to_vec();
        l.consume_transmit(bytes.len());
        let frames = parse_wire(&bytes);
        assert_eq!(frames.len(), 1, "only `*key` goes before its answer");
        let key = &frames[0];
        assert_eq!(key.method(), Some("*key"));
        let public = match key.get("publicKey") {
            Some(Value::Binary(b)) => b.clone(),
            other => panic!("publicKey {other:?}"),
        };
        let stream = key.get("streamMode") == Some(&Value::Boolean(true));
        let want_bits = key.get("bits").and_then(Value::as_u64);
        assert_eq!(want_bits, Some(u64::from(bits.bits())));
        let client = ServerPublicKey::from_raw(curve, &public).expect("a point on the curve");
        let keys = server.diffie_hellman(&client).unwrap().derive(bits);
        let mode = if stream {
            EncryptionMode::Stream
        } else {
            EncryptionMode::Package
        };
        let s = Self {
            mode,
            send: keys.cipher(),
            recv: keys.cipher(),
            pending: Vec::new(),
            client_key: public,
        };
        (s, key.seq().unwrap())
    }

    /// `frame` as it goes on the wire.
    fn seal(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut b = frame.to_vec();
        match self.mode {
            EncryptionMode::Stream => self.send.encrypt(&mut b),
            EncryptionMode::Package => {
                self.send.reset();
                self.send.encrypt(&mut b);
                let mut p = (b.len() as u32).to_le_bytes().to_vec();
                p.extend(b);
                b = p;
            }
        }
        b
    }

    /// Decrypts what `l` sent into frames.
    fn open(&mut self, l: &mut L) -> Vec<Wire> {
        let bytes = l.transmit().to_vec();
        l.consume_transmit(bytes.len());
        let plain = match self.mode {
            EncryptionMode::Stream => {
                let mut b = bytes;
                self.recv.decrypt(&mut b);
                b
            }
            EncryptionMode::Package => {
                self.pending.extend(bytes);
                let mut out = Vec::new();
                while self.pending.len() >= 4 {
                    let n = u32::from_le_bytes(self.pending[..4].try_into().unwrap()) as usize;
                    if self.pending.len() < 4 + n {
                        break;
                    }
                    let mut f: Vec<u8> = self.pending.drain(..4 + n).skip(4).collect();
                    self.recv.reset();
                    self.recv.decrypt(&mut f);
                    out.extend(f);
                }
                out
            }
        };
        parse_wire(&plain)
    }
}

/// Feeds `bytes` in chunks of `step` bytes (0: all at once).
fn feed_chunked(l: &mut L, now: u64, bytes: &[u8], step: usize) -> Vec<String> {
    let mut out = Vec::new();
    let step = if step == 0 { bytes.len().max(1) } else { step };
    for chunk in bytes.chunks(step) {
        out.extend(feed(l, now, chunk));
    }
    out
}

fn curves() -> [Curve; 4] {
    Curve::ALL
}

fn encrypted_listener(curve: Curve, mode: EncryptionMode, bits: Bits) -> (Box<L>, EphemeralKey) {
    let server = EphemeralKey::from_private_bytes(curve, &[0x11, 0x11]).unwrap();
    let public = ServerPublicKey::from_raw(curve, server.public_key()).unwrap();
    let mut l = listener();
    l.set_encryption(Some(Encryption::new(public, mode, bits)), &[0x5a; 32])
        .unwrap();
    (l, server)
}

const IDS: ListenIds<'static, &'static str> = ListenIds {
    gids: &[7],
    rids: &[],
    uids: &[],
    events: &[],
};

/// The whole session for one combination, input in chunks of `step`.
fn session(curve: Curve, mode: EncryptionMode, bits: Bits, step: usize) {
    let what = format!("{curve:?} {mode:?} {bits:?} step {step}");
    let (mut l, server_key) = encrypted_listener(curve, mode, bits);
    l.add_listen(0, &IDS).unwrap();
    l.connected(0);
    let (mut s, key_seq) = Server::accept(&mut l, curve, &server_key, bits);
    assert!(
        l.transmit().is_empty(),
        "{what}: listens wait for the key exchange"
    );
    let answer = s.seal(&ok(key_seq));
    let ev = feed_chunked(&mut l, 1, &answer, step);
    assert!(ev.iter().any(|e| e.contains("Connected")), "{what}: {ev:?}");
    assert_eq!(l.stats().key_exchanges, 1, "{what}");
    // The restoration, encrypted.
    let quests = s.open(&mut l);
    assert_eq!(quests.len(), 1, "{what}: {quests:?}");
    let q = &quests[0];
    assert!(
        q.method().is_some_and(|m| m.ends_with("listen")),
        "{what}: {q:?}"
    );
    let ev = feed_chunked(&mut l, 2, &s.seal(&ok(q.seq().unwrap())), step);
    assert!(ev.iter().any(|e| e.contains("code=0")), "{what}: {ev:?}");
    // Every push kind, each answered.
    let pushes = [
        pushmsg(Some(101), 1, 2, 11, 30, "hello"),
        pushgroupmsg(Some(102), 1, 7, 12, 32, "cmd"),
        pushroommsg(Some(103), 1, 9, 13, 40, "file"),
        pushevent(Some(104), "login", 5),
        ping(Some(105)),
    ];
    let mut wire = Vec::new();
    for p in &pushes {
        wire.extend(s.seal(p));
    }
    let ev = feed_chunked(&mut l, 3, &wire, step);
    let delivered = ev
        .iter()
        .filter(|e| e.starts_with("push") || e.contains("Ping"))
        .count();
    assert_eq!(delivered, 5, "{what}: {ev:?}");
    let answers = s.open(&mut l);
    let seqs: Vec<_> = answers.iter().filter_map(Wire::seq).collect();
    assert_eq!(seqs, [101, 102, 103, 104, 105], "{what}: {answers:?}");
    // A drop and a new connection: a new key, the exchange again, the listens restored.
    l.closed(4, CloseReason::PeerClosed);
    let _ = events(&mut l);
    l.connected(5);
    let (mut s2, key_seq) = Server::accept(&mut l, curve, &server_key, bits);
    assert_ne!(
        s2.client_key, s.client_key,
        "{what}: a new key per connection"
    );
    feed_chunked(&mut l, 6, &s2.seal(&ok(key_seq)), step);
    let quests = s2.open(&mut l);
    assert_eq!(quests.len(), 1, "{what}: restored after the new exchange");
    assert_eq!(l.stats().key_exchanges, 2, "{what}");
}

#[test]
fn every_combination_plays_the_whole_session() {
    for curve in curves() {
        for mode in [EncryptionMode::Stream, EncryptionMode::Package] {
            for bits in [Bits::Aes128, Bits::Aes256] {
                session(curve, mode, bits, 0);
            }
        }
    }
}

#[test]
fn any_chunking_gives_the_same_session() {
    for step in [1, 2, 3, 5, 16, 17, 31] {
        for mode in [EncryptionMode::Stream, EncryptionMode::Package] {
            session(Curve::Secp256k1, mode, Bits::Aes128, step);
        }
    }
}

/// A key exchange that goes wrong in `how`, then the reason the listener gives.
fn failed_exchange(mode: EncryptionMode, how: &str) -> (Vec<String>, Box<L>) {
    let (mut l, server_key) = encrypted_listener(Curve::Secp256r1, mode, Bits::Aes128);
    l.connected(0);
    let (mut s, key_seq) = Server::accept(&mut l, Curve::Secp256r1, &server_key, Bits::Aes128);
    let bytes = match how {
        "refused" => s.seal(&err(key_seq, 10001, "no")),
        "garbage" => {
            let mut b = s.seal(&ok(key_seq));
            b.extend(s.seal(b"XXXXXXXXXXXXXXXXXXXXXXXX"));
            b
        }
        "bad package" => {
            let mut b = s.seal(&ok(key_seq));
            b.extend([0, 0, 0, 0, 1]);
            b
        }
        _ => unreachable!(),
    };
    (feed(&mut l, 1, &bytes), l)
}

#[test]
fn a_refused_exchange_asks_to_close_with_the_servers_code() {
    for mode in [EncryptionMode::Stream, EncryptionMode::Package] {
        let (ev, mut l) = failed_exchange(mode, "refused");
        let want = format!(
            "{:?}",
            Event::CloseRequested(CloseReason::KeyExchange { code: 10001 })
        );
        assert!(ev.contains(&want), "{ev:?}");
        assert_eq!(l.stats().key_exchange_failures, 1);
        assert!(l.transmit().is_empty(), "no listen goes");
        // The host closes; the listener reconnects after the back-off.
        l.closed(2, CloseReason::KeyExchange { code: 10001 });
        assert!(l.reconnect_at().is_some());
    }
}

#[test]
fn garbage_after_the_exchange_is_a_bad_magic() {
    let (ev, _) = failed_exchange(EncryptionMode::Stream, "garbage");
    let want = format!(
        "{:?}",
        Event::CloseRequested(CloseReason::Protocol(FrameError::BadMagic))
    );
    assert!(ev.contains(&want), "{ev:?}");
}

#[test]
fn a_package_of_length_zero_is_refused() {
    let (ev, _) = failed_exchange(EncryptionMode::Package, "bad package");
    let want = format!(
        "{:?}",
        Event::CloseRequested(CloseReason::Protocol(FrameError::BadPackage))
    );
    assert!(ev.contains(&want), "{ev:?}");
}

#[test]
fn an_unanswered_exchange_times_out_and_a_close_during_it_is_counted() {
    let (mut l, _server) =
        encrypted_listener(Curve::Secp256k1, EncryptionMode::Package, Bits::Aes256);
    l.connected(0);
    let _ = l.transmit().len();
    let at = l.poll_timeout().expect("the exchange's deadline");
    l.handle_timeout(at);
    let ev = events(&mut l);
    let want = format!(
        "{:?}",
        Event::CloseRequested(CloseReason::KeyExchange {
            code: rtm_listen::session::code::TIMEOUT
        })
    );
    assert!(ev.contains(&want), "{ev:?}");
    assert_eq!(l.stats().key_exchange_failures, 1);
    // A close while the exchange is pending counts as a failure too.
    l.closed(at, CloseReason::Host);
    l.connected(at + 10_000);
    l.closed(at + 10_001, CloseReason::PeerClosed);
    assert_eq!(l.stats().key_exchange_failures, 2);
}

#[test]
fn configuration_errors_have_their_own_codes() {
    use rtm_listen::crypto::{EcdhError, KeyError};
    let curve = Curve::Secp224r1;
    let server = EphemeralKey::from_private_bytes(curve, &[0x11, 0x11]).unwrap();
    let public = server.public_key().to_vec();
    assert!(matches!(
        ServerPublicKey::from_raw(curve, &public[1..]),
        Err(KeyError::WrongLength { .. })
    ));
    let mut off_curve = public.clone();
    off_curve[5] ^= 1;
    assert_eq!(
        ServerPublicKey::from_raw(curve, &off_curve),
        Err(KeyError::NotOnCurve)
    );
    let pk = ServerPublicKey::from_raw(curve, &public).unwrap();
    let mut l = listener();
    assert_eq!(
        l.set_encryption(
            Some(Encryption::new(pk, EncryptionMode::Stream, Bits::Aes128)),
            &[1; 8]
        ),
        Err(EcdhError::ShortEntropy { needed: 32, got: 8 })
    );
}

/// A push larger than the receive buffer (here 6,000 bytes against 4,096), encrypted: it is
/// decrypted as it streams through, skipped, answered with its error, and the push after it is
/// delivered, in both modes and under any chunking.
#[test]
fn an_oversized_encrypted_push_is_skipped_and_the_next_delivered() {
    for mode in [EncryptionMode::Stream, EncryptionMode::Package] {
        for step in [0, 1, 7, 1000] {
            let (mut l, server_key) = encrypted_listener(Curve::Secp256k1, mode, Bits::Aes128);
            l.connected(0);
            let (mut s, key_seq) =
                Server::accept(&mut l, Curve::Secp256k1, &server_key, Bits::Aes128);
            feed_chunked(&mut l, 1, &s.seal(&ok(key_seq)), step);
            let big = "x".repeat(6_000);
            let mut wire = s.seal(&pushmsg(Some(201), 1, 2, 21, 30, &big));
            wire.extend(s.seal(&pushmsg(Some(202), 1, 2, 22, 30, "after")));
            let ev = feed_chunked(&mut l, 2, &wire, step);
            assert!(
                ev.iter().any(|e| e.starts_with("bad pushmsg")),
                "{mode:?} {step}: {ev:?}"
            );
            assert!(
                ev.iter()
                    .any(|e| e.contains("mid=22") && e.contains("\"after\"")),
                "{mode:?} {step}: {ev:?}"
            );
            let answers = s.open(&mut l);
            let seqs: Vec<_> = answers.iter().filter_map(Wire::seq).collect();
            assert_eq!(seqs, [201, 202], "{mode:?} {step}: {answers:?}");
            assert_eq!(l.stats().oversized, 1);
        }
    }
}

/// A package whose length disagrees with its frame's, found only once the frame's header is
/// whole (here on the second read): the push before it is delivered and answered, then the
/// listener asks to close with `BadPackage`, though the broken package's first bytes are still
/// in RX (a regression of `fuzz/regressions/listener_enc/broken-package-after-partial-frame`).
#[test]
fn a_package_broken_after_its_first_bytes_is_reported() {
    for split in [1, 4, 5, 9, 15] {
        let (mut l, server_key) =
            encrypted_listener(Curve::Secp256k1, EncryptionMode::Package, Bits::Aes128);
        l.connected(0);
        let (mut s, key_seq) = Server::accept(&mut l, Curve::Secp256k1, &server_key, Bits::Aes128);
        feed(&mut l, 1, &s.seal(&ok(key_seq)));
        let mut wire = s.seal(&pushmsg(Some(301), 1, 2, 31, 30, "before"));
        let at = wire.len();
        // The next push's package, its length prefix four bytes short.
        let mut broken = s.seal(&pushmsg(Some(302), 1, 2, 32, 30, "broken"));
        let short = u32::from_le_bytes(broken[..4].try_into().unwrap()) - 4;
        broken[..4].copy_from_slice(&short.to_le_bytes());
        wire.extend(&broken[..4 + short as usize]);
        let mut ev = feed(&mut l, 2, &wire[..at + split]);
        assert!(
            !ev.iter().any(|e| e.contains("CloseRequested")),
            "{split}: {ev:?}"
        );
        ev.extend(feed(&mut l, 2, &wire[at + split..]));
        let want = format!(
            "{:?}",
            Event::CloseRequested(CloseReason::Protocol(FrameError::BadPackage))
        );
        assert!(ev.contains(&want), "{split}: {ev:?}");
        assert!(
            ev.iter().any(|e| e.contains("\"before\"")),
            "{split}: {ev:?}"
        );
        assert!(
            !ev.iter().any(|e| e.contains("\"broken\"")),
            "{split}: {ev:?}"
        );
        let seqs: Vec<_> = s.open(&mut l).iter().filter_map(Wire::seq).collect();
        assert_eq!(seqs, [301], "{split}");
    }
}

/// The desired state comes back to empty while the listens wait for the key answer: the
/// connection needs no listen quest, so the restoration ends at once with 0 (a regression of
/// `fuzz/regressions/listener_enc/restoration-unreported-in-sync-before-key`).
#[test]
fn a_restoration_undone_before_the_key_answer_ends_at_once() {
    let (mut l, server_key) =
        encrypted_listener(Curve::Secp256k1, EncryptionMode::Stream, Bits::Aes128);
    l.add_listen(0, &IDS).unwrap();
    l.connected(0);
    let (mut s, key_seq) = Server::accept(&mut l, Curve::Secp256k1, &server_key, Bits::Aes128);
    let _ = events(&mut l);
    l.remove_listen(1, &IDS).unwrap();
    assert!(l.in_sync());
    let ev = events(&mut l);
    assert!(ev.iter().any(|e| e == "Restored { code: 0 }"), "{ev:?}");
    // The key answer sends nothing and reports no second restoration.
    let ev = feed(&mut l, 2, &s.seal(&ok(key_seq)));
    assert!(!ev.iter().any(|e| e.starts_with("Restored")), "{ev:?}");
    assert!(s.open(&mut l).is_empty());
    l.closed(3, CloseReason::PeerClosed);
    let ev = events(&mut l);
    assert!(!ev.iter().any(|e| e.starts_with("Restored")), "{ev:?}");
}
