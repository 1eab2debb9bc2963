//! npm `wukongimjssdk@1.0.4`, an independent WuKongIM client, as an oracle
//! (`tests/peers/wukong_oracle.mjs`, loaded with the module hook the reference describes):
//! - its encoder writes the bytes our builders write for the same CONNECT, PING, RECVACK and
//!   SUB;
//! - its decoder reads an encrypted RECV we build the server's way (binary protocol v2, the
//!   only one 1.0.4 speaks), its msgKey check passes, and it decrypts the payload;
//! - it derives the same AES key from our client secret (curve25519-js, not RustCrypto);
//! - a message it encrypts decrypts with ours.
//!
//! Needs `node` and the SDK installed by npm in `WUKONG_SDK_DIR` (the test command does
//! both). Without them the test prints a notice and passes, unless `RTM_REQUIRE_PEERS=1`.
#![cfg(feature = "wukong-encryption")]

use std::io::Write;
use std::process::{Command, Stdio};

use rtm_listen::crypto::wukong::{ClientKey, encrypted_len};
use rtm_listen::wire::frame::Status;
use rtm_listen::wire::wukong::packet::{self, Connect, Recv, Sub};
use rtm_listen::wire::wukong::{MAX_REMAINING, parse_frame};
use serde_json::{Value, json};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs the oracle on `input`, or `None` (with a notice) when it cannot and is not required.
fn oracle(input: &Value) -> Option<Value> {
    let required = std::env::var("RTM_REQUIRE_PEERS").as_deref() == Ok("1");
    let Ok(sdk) = std::env::var("WUKONG_SDK_DIR") else {
        assert!(
            !required,
            "RTM_REQUIRE_PEERS=1 but WUKONG_SDK_DIR is not set"
        );
        eprintln!(
            "NOTICE: wukong_oracle skipped: WUKONG_SDK_DIR not set (npm install wukongimjssdk@1.0.4 there)"
        );
        return None;
    };
    let peers = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers");
    let child = Command::new("node")
        .arg("--import")
        .arg(format!("{peers}/wukong_register.mjs"))
        .arg(format!("{peers}/wukong_oracle.mjs"))
        .env("WUKONG_SDK_DIR", sdk)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(!required, "RTM_REQUIRE_PEERS=1 but node cannot run: {e}");
            eprintln!("NOTICE: wukong_oracle skipped: node not found ({e})");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn the_npm_sdk_agrees_with_our_codec_and_crypto() {
    let mut out = [0u8; 128];
    let client = ClientKey::from_random([0x33; 32]);
    let client_key = client.public_key_b64();
    let connect = Connect {
        version: 2,
        device_flag: 1,
        device_id: b"rtm-listen-1",
        uid: b"monitor",
        token: b"t0ken",
        client_timestamp: 1_700_000_000_123,
        client_key: &client_key,
    };
    let n = packet::build_connect(&mut out, &connect).unwrap();
    let connect_hex = hex(&out[..n]);
    let n = packet::build_recvack(&mut out, 2, 0, 1_234_567_890_123, 7).unwrap();
    let recvack_hex = hex(&out[..n]);
    let sub = Sub {
        setting: 0,
        sub_no: b"s-1",
        channel_id: b"room9",
        channel_type: 9,
        action: 1,
        param: br#"{"a":1}"#,
    };
    let n = packet::build_sub(&mut out, &sub).unwrap();
    let sub_hex = hex(&out[..n]);

    // The server's side of the key exchange, with its own secret.
    let server = ClientKey::from_random([0x44; 32]);
    let server_b64 = server.public_key_b64();
    let salt = b"0123456789abcdefXYZ"; // longer than 16: both sides use the first 16
    let keys = client.derive(&server_b64, salt).unwrap();
    let plain = r#"{"type":1,"content":"hello group"}"#;
    let mut payload = vec![0u8; encrypted_len(plain.len())];
    keys.encrypt_payload(plain.as_bytes(), &mut payload)
        .unwrap();
    let mut recv = Recv {
        flags: 0,
        setting: 0,
        msg_key: b"",
        from_uid: b"alice",
        channel_id: b"g1",
        channel_type: 2,
        expire: None,
        client_msg_no: b"cmn-1",
        stream: None,
        message_id: 1_234_567_890_123,
        message_seq: 7,
        timestamp: 1_700_000_000,
        topic: None,
        payload: &payload,
    };
    let msg_key = keys.msg_key(&recv);
    recv.msg_key = &msg_key;
    let mut frame = vec![0u8; 512];
    let n = packet::build_recv(&mut frame, &recv, 2).unwrap();
    frame.truncate(n);
    // Our own parser reads it back at version 2.
    let Ok(Status::Complete(f, _)) = parse_frame(&frame, MAX_REMAINING) else {
        panic!("our RECV is not a frame")
    };
    assert_eq!(packet::parse_recv(f.flags, f.body, 2).unwrap(), recv);

    let input = json!({
        "connect": {
            "version": 2, "device_flag": 1, "device_id": "rtm-listen-1", "uid": "monitor",
            "token": "t0ken", "client_timestamp": 1_700_000_000_123u64,
            "client_key": std::str::from_utf8(&client_key).unwrap(),
        },
        "recvack": { "message_id": "1234567890123", "message_seq": 7 },
        "sub": { "sub_no": "s-1", "channel_id": "room9", "channel_type": 9, "action": 1, "param": r#"{"a":1}"# },
        "client_secret_hex": hex(&[0x33; 32]),
        "server_public_b64": std::str::from_utf8(&server_b64).unwrap(),
        "salt": std::str::from_utf8(salt).unwrap(),
        "recv_hex": hex(&frame),
        "to_encrypt": "from the SDK, with ünïcode",
    });
    let Some(o) = oracle(&input) else { return };
    assert_eq!(o["connect_hex"], connect_hex.as_str(), "CONNECT");
    assert_eq!(o["ping_hex"], hex(&packet::PING).as_str(), "PING");
    assert_eq!(o["recvack_hex"], recvack_hex.as_str(), "RECVACK");
    assert_eq!(o["sub_hex"], sub_hex.as_str(), "SUB");
    assert_eq!(
        o["aes_key"],
        std::str::from_utf8(keys.aes_key()).unwrap(),
        "AES key"
    );
    let r = &o["recv"];
    assert_eq!(r["packet_type"], 5);
    assert_eq!(r["from_uid"], "alice");
    assert_eq!(r["channel_id"], "g1");
    assert_eq!(r["channel_type"], 2);
    assert_eq!(r["client_msg_no"], "cmn-1");
    assert_eq!(r["message_id"], "1234567890123");
    assert_eq!(r["message_seq"], 7);
    assert_eq!(r["timestamp"], 1_700_000_000);
    assert_eq!(r["msg_key_ok"], true, "the SDK's msgKey check");
    assert_eq!(r["plaintext"], plain, "the SDK's decryption");
    let mut theirs = o["sdk_encrypted_b64"].as_str().unwrap().as_bytes().to_vec();
    assert_eq!(
        keys.decrypt_in_place(&mut theirs).unwrap(),
        "from the SDK, with ünïcode".as_bytes()
    );
}
