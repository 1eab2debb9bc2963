//! The reference's worked example 8 (`fpnn-rtm.md` §11: secp256k1, server private key 0x1111,
//! client private key 0x2222) byte for byte, and the real FPNN server's encrypted answers to
//! that `*key`, as recorded with the official C++ framework (`fpnn-gate/README.md`).

mod common;

use common::hex;
use rtm_listen::crypto::{AesCfb, Bits, Curve, EphemeralKey, ServerPublicKey, SessionKeys};
use rtm_listen::rtm::listen::build_ping;
use rtm_listen::wire::frame::{DEFAULT_MAX_FRAME, Frame, Status, parse_frame};
use rtm_listen::wire::key_quest::{build_key_quest, package_prefix, parse_package_prefix};

// The "Check output" block of §11.
const CLIENT_PUBLIC: &str = "e5740e63bad28081ed7cf654dd6c19029ca03382fc05ab5f5dda81f2c55b845b\
                             8dc1cf3a30ac29acf910275efd2ed6eb6511cfbeefd753804f664ede1eb2ff80";
const SECRET: &str = "8dfad71b3cee1e572ddf644d7f7cfad9698f72746d1f5bd17ac62042fa320b17";
const AES128_KEY: &str = "8dfad71b3cee1e572ddf644d7f7cfad9";
const AES256_KEY: &str = "8dfad71b3cee1e572ddf644d7f7cfad9698f72746d1f5bd17ac62042fa320b17";
const IV: &str = "77950d5df08e7942e36b973b0b3b43b4";
const KEY_QUEST: &str = "46504e4e0180010460000000010000002a6b657983a97075626c69634b6579c440\
                         e5740e63bad28081ed7cf654dd6c19029ca03382fc05ab5f5dda81f2c55b845b\
                         8dc1cf3a30ac29acf910275efd2ed6eb6511cfbeefd753804f664ede1eb2ff80\
                         aa73747265616d4d6f6465c2a462697473cc80";
const PACKAGE_PING: &str = "160000003dd461894f155f51d7bc902dcd992de1a6dd14e7acc5";
const STREAM_PING: &str = "3dd461894f155f51d7bc902dcd992de1a6dd14e7acc5";
const STREAM_PING_2: &str = "ed2501460e05f2a857f83c5a997173ccc1cb89be1ed4";

// The real server's answers to the example's `*key` (fpnn-gate README).
const SERVER_ANSWER_PACKAGE_128: &str = "11000000 3dd461894f155c54d7bc902dce992de1df";
const SERVER_ANSWER_STREAM_128: &str = "3dd461894f155c54d7bc902dce992de1df";
const SERVER_ANSWER_PACKAGE_256: &str = "11000000 c655ce97779ea8fe4036e3c2cc80d53f53";

/// The empty OK answer to seq 1 (17 bytes): what each recorded answer must decrypt to.
const OK_ANSWER_SEQ_1: &str = "46504e4e 01 80 02 00 01000000 01000000 80";

fn client() -> EphemeralKey {
    EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x22, 0x22]).unwrap()
}

fn server_public() -> ServerPublicKey {
    let server = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x11, 0x11]).unwrap();
    ServerPublicKey::from_raw(Curve::Secp256k1, server.public_key()).unwrap()
}

fn keys(bits: Bits) -> SessionKeys {
    client()
        .diffie_hellman(&server_public())
        .unwrap()
        .derive(bits)
}

fn ping(seq: u32) -> Vec<u8> {
    let mut buf = [0u8; 32];
    let n = build_ping(&mut buf, seq).unwrap();
    buf[..n].to_vec()
}

/// Reads one package-mode frame from `wire`: the prefix, then the ciphertext decrypted with the
/// cipher restarted from the IV.
fn open_package(cipher: &mut AesCfb, wire: &[u8]) -> Vec<u8> {
    let len = parse_package_prefix(wire, DEFAULT_MAX_FRAME)
        .unwrap()
        .unwrap();
    let mut frame = wire[4..].to_vec();
    assert_eq!(frame.len(), len, "the prefix counts the whole ciphertext");
    cipher.reset();
    cipher.decrypt(&mut frame);
    frame
}

fn assert_empty_ok_answer(frame: &[u8], seq: u32) {
    assert_eq!(
        parse_frame(frame, DEFAULT_MAX_FRAME),
        Ok(Status::Complete(
            Frame::Answer {
                seq,
                status: 0,
                payload: &[0x80]
            },
            frame.len()
        ))
    );
}

#[test]
fn client_public_key() {
    assert_eq!(client().public_key(), &hex(CLIENT_PUBLIC)[..]);
}

#[test]
fn shared_secret_keys_and_iv() {
    let secret = client().diffie_hellman(&server_public()).unwrap();
    assert_eq!(secret.as_bytes(), &hex(SECRET)[..]);
    let k128 = secret.derive(Bits::Aes128);
    let k256 = secret.derive(Bits::Aes256);
    assert_eq!(k128.key(), &hex(AES128_KEY)[..]);
    assert_eq!(k256.key(), &hex(AES256_KEY)[..]);
    assert_eq!(k128.iv(), &hex(IV)[..]);
    assert_eq!(k256.iv(), &hex(IV)[..]);
}

#[test]
fn the_server_side_derives_the_same_secret() {
    // The server's view: its private key 0x1111 with the client's public key from the quest.
    let server = EphemeralKey::from_private_bytes(Curve::Secp256k1, &[0x11, 0x11]).unwrap();
    let client_public = ServerPublicKey::from_raw(Curve::Secp256k1, &hex(CLIENT_PUBLIC)).unwrap();
    let secret = server.diffie_hellman(&client_public).unwrap();
    assert_eq!(secret.as_bytes(), &hex(SECRET)[..]);
}

#[test]
fn key_quest_bytes() {
    let mut buf = [0u8; 128];
    let n = build_key_quest(&mut buf, 1, client().public_key(), false, Bits::Aes128).unwrap();
    assert_eq!(&buf[..n], &hex(KEY_QUEST)[..]);
    assert_eq!(n, 116);
}

#[test]
fn package_mode_ping() {
    let keys = keys(Bits::Aes128);
    let mut send = keys.cipher();
    // Package mode: every frame from the IV, so the same frame twice is the same bytes.
    for _ in 0..2 {
        let mut frame = ping(2);
        send.reset();
        send.encrypt(&mut frame);
        let mut wire = package_prefix(frame.len()).unwrap().to_vec();
        wire.extend_from_slice(&frame);
        assert_eq!(wire, hex(PACKAGE_PING));
    }
    let mut recv = keys.cipher();
    assert_eq!(open_package(&mut recv, &hex(PACKAGE_PING)), ping(2));
}

#[test]
fn stream_mode_pings() {
    let keys = keys(Bits::Aes128);
    // The plaintext `*key` does not advance the send stream: the first encrypted frame starts
    // from the IV.
    let mut send = keys.cipher();
    let mut first = ping(2);
    send.encrypt(&mut first);
    assert_eq!(first, hex(STREAM_PING));
    let mut second = ping(2);
    send.encrypt(&mut second);
    assert_eq!(second, hex(STREAM_PING_2), "the stream continues");

    // The receiving side, fed both frames in odd pieces.
    let mut wire = hex(STREAM_PING);
    wire.extend_from_slice(&hex(STREAM_PING_2));
    let mut recv = keys.cipher();
    for piece in wire.chunks_mut(5) {
        recv.decrypt(piece);
    }
    let mut want = ping(2);
    want.extend_from_slice(&ping(2));
    assert_eq!(wire, want);
}

#[test]
fn real_server_answers_package_mode() {
    for (bits, recorded) in [
        (Bits::Aes128, SERVER_ANSWER_PACKAGE_128),
        (Bits::Aes256, SERVER_ANSWER_PACKAGE_256),
    ] {
        let mut recv = keys(bits).cipher();
        let frame = open_package(&mut recv, &hex(recorded));
        assert_eq!(frame, hex(OK_ANSWER_SEQ_1), "{bits:?}");
        assert_empty_ok_answer(&frame, 1);
    }
}

#[test]
fn real_server_answer_stream_mode() {
    let keys = keys(Bits::Aes128);
    let mut recv = keys.cipher();
    let mut frame = hex(SERVER_ANSWER_STREAM_128);
    // The header first (to learn the length), then the rest: how a stream receiver reads.
    let (head, rest) = frame.split_at_mut(12);
    recv.decrypt(head);
    recv.decrypt(rest);
    assert_eq!(frame, hex(OK_ANSWER_SEQ_1));
    assert_empty_ok_answer(&frame, 1);
    assert_eq!(
        recv.block_offset(),
        17 % 16,
        "the receive stream goes on from here"
    );

    // The server encrypts with its own stream from the same key and IV: encrypting the
    // plaintext answer from a fresh state gives the recorded bytes.
    let mut server_send = keys.cipher();
    let mut again = hex(OK_ANSWER_SEQ_1);
    server_send.encrypt(&mut again);
    assert_eq!(again, hex(SERVER_ANSWER_STREAM_128));
}
