//! The simulator's encoder against the reference's golden RECV vectors (protocol/wukongim.md
//! §b "Golden vectors"), so that its packets are the layout and not its author's reading.

use wukong_sim::{Msg, encode_recv};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn golden() -> Msg {
    let mut m = Msg::new(
        1_234_567_890_123,
        "alice",
        "g1",
        2,
        br#"{"type":1,"content":"hi"}"#,
    );
    m.flags = 0b0010; // RedDot
    m.client_msg_no = "cmn-1".into();
    m.message_seq = 7;
    m.timestamp = 1_700_000_000;
    m
}

#[test]
fn recv_v5_plaintext() {
    let want = unhex(
        "52 43 00 0000 0005 616c696365 0002 6731 02 00000000 0005 636d6e2d31 0000011f71fb04cb \
         00000007 6553f100 7b2274797065223a312c22636f6e74656e74223a226869227d",
    );
    assert_eq!(encode_recv(&golden(), 5, None), want);
}

#[test]
fn recv_v6_plaintext() {
    let want = unhex(
        "52 47 00 0000 0005 616c696365 0002 6731 02 00000000 0005 636d6e2d31 0000011f71fb04cb \
         0000000000000007 6553f100 7b2274797065223a312c22636f6e74656e74223a226869227d",
    );
    assert_eq!(encode_recv(&golden(), 6, None), want);
}
