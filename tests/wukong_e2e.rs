//! The WuKongIM listener end to end over loopback TCP, through the std driver and the monitor,
//! against the WuKongIM simulator (`crates/wukong-sim`: a simulation written from the
//! reference's server rules, with its own codec and RustCrypto/base64 crypto, sharing no code
//! with the engine). Encrypted and plaintext, protocol versions 2 to 6.

use std::time::Duration;

use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::field::MessageError;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
use rtm_listen::session::{CloseReason, MessageEvent};
use rtm_listen::wire::wukong::Reject;
use wukong_sim::{Msg, SimConfig, WkSim, demo_messages};

/// One monitor call, with what identifies it.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Connected(bool, bool),
    Closed(bool),
    Disconnected(String),
    Msg {
        callback: &'static str,
        from: i64,
        to: i64,
        mid: i64,
        mtype: i8,
        msg: Vec<u8>,
        from_uid: String,
        channel_id: String,
        topic: Option<String>,
        seq: u64,
    },
    Event(String, i64, String, Vec<u8>),
    Kickout,
    Bad(i64, Reject),
}

#[derive(Default)]
struct Rec(Vec<Call>);

impl Rec {
    fn msg(&mut self, callback: &'static str, m: &MessageEvent<'_>) {
        let wk = m.wukong.expect("a WuKongIM message carries its fields");
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        self.0.push(Call::Msg {
            callback,
            from: m.message.from,
            to: m.message.to,
            mid: m.message.mid,
            mtype: m.message.mtype,
            msg: m.message.msg.to_vec(),
            from_uid: s(wk.recv.from_uid),
            channel_id: s(wk.recv.channel_id),
            topic: wk.recv.topic.map(s),
            seq: wk.recv.message_seq,
        });
    }
    fn mids(&self) -> Vec<i64> {
        self.0
            .iter()
            .filter_map(|c| match c {
                Call::Msg { mid, .. } => Some(*mid),
                _ => None,
            })
            .collect()
    }
    fn count(&self, f: impl Fn(&Call) -> bool) -> usize {
        self.0.iter().filter(|c| f(c)).count()
    }
}

impl Monitor for Rec {
    fn connected(&mut self, _: &str, ok: bool, re: bool) {
        self.0.push(Call::Connected(ok, re));
    }
    fn closed(&mut self, _: &str, by_error: bool, _: bool) {
        self.0.push(Call::Closed(by_error));
    }
    fn disconnected(&mut self, _: &str, reason: CloseReason, _: u64) {
        self.0.push(Call::Disconnected(format!("{reason:?}")));
    }
    fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
        self.msg("p2p_chat", m)
    }
    fn push_p2p_message(&mut self, m: &MessageEvent<'_>) {
        self.msg("p2p_message", m)
    }
    fn push_p2p_cmd(&mut self, m: &MessageEvent<'_>) {
        self.msg("p2p_cmd", m)
    }
    fn push_p2p_file(&mut self, m: &MessageEvent<'_>) {
        self.msg("p2p_file", m)
    }
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        self.msg("group_chat", m)
    }
    fn push_group_message(&mut self, m: &MessageEvent<'_>) {
        self.msg("group_message", m)
    }
    fn push_group_cmd(&mut self, m: &MessageEvent<'_>) {
        self.msg("group_cmd", m)
    }
    fn push_group_file(&mut self, m: &MessageEvent<'_>) {
        self.msg("group_file", m)
    }
    fn push_room_chat(&mut self, m: &MessageEvent<'_>) {
        self.msg("room_chat", m)
    }
    fn push_room_message(&mut self, m: &MessageEvent<'_>) {
        self.msg("room_message", m)
    }
    fn push_room_cmd(&mut self, m: &MessageEvent<'_>) {
        self.msg("room_cmd", m)
    }
    fn push_room_file(&mut self, m: &MessageEvent<'_>) {
        self.msg("room_file", m)
    }
    fn push_event(
        &mut self,
        _: i64,
        event: &[u8],
        _: i64,
        time: i64,
        endpoint: &[u8],
        data: &[u8],
    ) {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        self.0
            .push(Call::Event(s(event), time, s(endpoint), data.to_vec()));
    }
    fn kickout(&mut self) {
        self.0.push(Call::Kickout);
    }
    fn bad_push(&mut self, method: &[u8], error: MessageError, _: Option<u32>, _: usize) {
        assert_eq!(method, b"RECV");
        match error {
            MessageError::WuKong { message_id, reason } => {
                self.0.push(Call::Bad(message_id, reason))
            }
            other => panic!("unexpected bad push {other:?}"),
        }
    }
}

const LIMIT: Duration = Duration::from_secs(10);

fn entropy() -> [u8; 32] {
    let mut e = [0u8; 32];
    getrandom::fill(&mut e).expect("OS entropy");
    e
}

fn driver(sim: &WkSim, cfg: WkConfig, token: &str) -> TcpDriver<WkListener> {
    let creds = WkCredentials {
        uid: "90001",
        token,
        device_id: "rtm-listen-test",
    };
    let l = WkListener::new(cfg, creds, &entropy()).expect("listener");
    TcpDriver::new(sim.addr().to_string(), l)
}

/// Steps the driver until `done` holds (failing the test after [`LIMIT`]).
fn until(
    d: &mut TcpDriver<WkListener>,
    rec: &mut Rec,
    what: &str,
    mut done: impl FnMut(&Rec, &mut TcpDriver<WkListener>) -> bool,
) {
    let ok = d.run_until(rec, LIMIT, |r, d| done(r, d));
    assert!(ok, "{what}: calls so far {:#?}", rec.0);
}

fn login(sim: &WkSim, d: &mut TcpDriver<WkListener>, rec: &mut Rec) {
    until(d, rec, "login", |r, d| {
        d.listener().is_connected() && r.0.contains(&Call::Connected(true, false))
    });
    assert!(sim.wait(LIMIT, |v| v.logged_in()));
}

/// Every kind reaches its callback with its fields, and every RECV is acknowledged once,
/// after delivery; at versions 2 to 6, encrypted and not.
#[test]
fn every_kind_reaches_its_callback_and_is_acked_once() {
    for encrypt in [true, false] {
        for version in 2..=6u8 {
            let what = format!("encrypt {encrypt}, version {version}");
            let sim = WkSim::start(SimConfig {
                encrypt,
                max_version: version,
                token: Some("tok".into()),
                ..SimConfig::default()
            })
            .unwrap();
            let mut d = driver(
                &sim,
                WkConfig {
                    version: 6,
                    ..WkConfig::DEFAULT
                },
                "tok",
            );
            let mut rec = Rec::default();
            login(&sim, &mut d, &mut rec);
            assert_eq!(d.listener().version(), Some(version), "{what}");
            let login = sim.view(|v| v.logins()[0].clone());
            assert_eq!(
                (login.uid.as_str(), login.version, login.device_flag),
                ("90001", 6, 2)
            );
            assert!(
                login.client_timestamp > 1_600_000_000_000,
                "{what}: CONNECT's timestamp"
            );

            let msgs = demo_messages(5_000);
            sim.send_all(&msgs).unwrap();
            until(&mut d, &mut rec, &what, |r, _| r.mids().len() == msgs.len());
            assert!(
                sim.wait(LIMIT, |v| msgs.iter().all(|m| v.acks_of(m.message_id) == 1)),
                "{what}: acks {:?}",
                sim.view(|v| v.acks().to_vec())
            );
            let got: Vec<&Call> = rec
                .0
                .iter()
                .filter(|c| matches!(c, Call::Msg { .. }))
                .collect();
            let callbacks: Vec<&str> = got
                .iter()
                .map(|c| match c {
                    Call::Msg { callback, .. } => *callback,
                    _ => unreachable!(),
                })
                .collect();
            assert_eq!(
                callbacks,
                [
                    "p2p_chat",
                    "group_cmd",
                    "room_file",
                    "group_message",
                    "p2p_message",
                    "group_chat"
                ],
                "{what}"
            );
            // The fields of the first (P2P chat from numeric uid 10001 to the listener 90001).
            match got[0] {
                Call::Msg {
                    from,
                    to,
                    mid,
                    mtype,
                    msg,
                    from_uid,
                    channel_id,
                    seq,
                    ..
                } => {
                    assert_eq!(
                        (*from, *to, *mid, *mtype),
                        (10001, 90001, 5_000, 1),
                        "{what}"
                    );
                    assert_eq!(
                        msg.as_slice(),
                        msgs[0].payload.as_slice(),
                        "{what}: decrypted"
                    );
                    assert_eq!((from_uid.as_str(), channel_id.as_str()), ("10001", "10001"));
                    assert_eq!(*seq, msgs[0].message_seq);
                }
                _ => unreachable!(),
            }
            // A string uid and channel: the integers are 0, the strings are there.
            match got[2] {
                Call::Msg {
                    from,
                    to,
                    mtype,
                    from_uid,
                    channel_id,
                    ..
                } => {
                    assert_eq!((*from, *to, *mtype), (0, 0, 2), "{what}");
                    assert_eq!(
                        (from_uid.as_str(), channel_id.as_str()),
                        ("alice", "live-7")
                    );
                }
                _ => unreachable!(),
            }
            // A type beyond i8 (1001): mtype 0; a non-JSON payload: mtype 0, delivered as is.
            match (got[3], got[4]) {
                (Call::Msg { mtype: a, .. }, Call::Msg { mtype: b, msg, .. }) => {
                    assert_eq!((*a, *b), (0, 0));
                    assert_eq!(msg.as_slice(), msgs[4].payload.as_slice());
                }
                _ => unreachable!(),
            }
            match got[5] {
                Call::Msg { topic, .. } => assert_eq!(topic.as_deref(), Some("news"), "{what}"),
                _ => unreachable!(),
            }
            assert_eq!(
                sim.view(|v| v.errors().to_vec()),
                Vec::<String>::new(),
                "{what}"
            );
            assert_eq!(d.listener().stats().delivered, msgs.len() as u64);
        }
    }
}

/// A re-sent message (the server's retry, with the DUP flag) is acknowledged again but not
/// delivered twice; one the listener never acknowledged (a drop before the RECVACK left) is
/// delivered once after the reconnect.
#[test]
fn a_resent_message_is_not_delivered_twice() {
    let sim = WkSim::start(SimConfig::default()).unwrap();
    let mut d = driver(&sim, WkConfig::DEFAULT, "");
    let mut rec = Rec::default();
    login(&sim, &mut d, &mut rec);
    let m = Msg::new(77, "10001", "30001", 2, br#"{"type":1,"content":"once"}"#);
    sim.send(&m).unwrap();
    until(&mut d, &mut rec, "first delivery", |r, _| r.mids() == [77]);
    assert!(sim.wait(LIMIT, |v| v.acks_of(77) == 1));
    for _ in 0..3 {
        sim.resend(&m).unwrap();
    }
    until(&mut d, &mut rec, "re-sends handled", |_, d| {
        d.listener().stats().duplicates == 3
    });
    assert!(
        sim.wait(LIMIT, |v| v.acks_of(77) == 4),
        "each re-send acknowledged"
    );
    assert_eq!(rec.mids(), [77], "delivered once");
    // The RECVACK copies NoPersist, SyncOnce and RedDot, not DUP.
    let flags = sim.view(|v| v.acks().iter().map(|a| a.flags).collect::<Vec<_>>());
    assert_eq!(flags, [0, 0, 0, 0]);
}

/// A kick (DISCONNECT 12) is reported as a kickout and a close with its reason, and the
/// listener logs in again after the back-off's first step; a drop mid-packet is survived, and
/// the message cut in half is delivered once, on the next connection.
#[test]
fn a_kick_and_a_drop_mid_packet_are_survived() {
    let sim = WkSim::start(SimConfig::default()).unwrap();
    let cfg = WkConfig {
        backoff: rtm_listen::session::Backoff {
            first_ms: 300,
            ..rtm_listen::session::Backoff::DEFAULT
        },
        ..WkConfig::DEFAULT
    };
    let mut d = driver(&sim, cfg, "");
    let mut rec = Rec::default();
    login(&sim, &mut d, &mut rec);

    sim.kick().unwrap();
    until(&mut d, &mut rec, "kick", |r, _| {
        r.0.contains(&Call::Kickout) && r.count(|c| matches!(c, Call::Closed(_))) == 1
    });
    assert!(
        rec.0.contains(&Call::Disconnected(
            "WkDisconnected { reason_code: 12 }".into()
        )),
        "{:?}",
        rec.0
    );
    until(&mut d, &mut rec, "login after the kick", |r, d| {
        d.listener().is_connected() && r.0.contains(&Call::Connected(true, true))
    });
    assert!(sim.wait(LIMIT, |v| v.logged_in() && v.logins().len() == 2));

    let m = Msg::new(
        900,
        "10001",
        "10001",
        1,
        br#"{"type":1,"content":"cut in half"}"#,
    );
    sim.drop_mid_packet(&m, 20).unwrap();
    until(&mut d, &mut rec, "drop", |r, _| {
        r.count(|c| matches!(c, Call::Closed(_))) == 2
    });
    assert!(rec.mids().is_empty(), "half a packet is never delivered");
    until(&mut d, &mut rec, "login after the drop", |_, d| {
        d.listener().is_connected()
    });
    assert!(sim.wait(LIMIT, |v| v.logged_in()));
    // The server's retry on the new connection.
    assert_eq!(sim.resend_unacked().unwrap(), 1);
    until(&mut d, &mut rec, "delivery after the drop", |r, _| {
        r.mids() == [900]
    });
    assert!(sim.wait(LIMIT, |v| v.acks_of(900) == 1 && v.unacked() == 0));
}

/// A wrong token: the CONNACK's AuthFail is a failed connection with its reason, retried
/// after the back-off's first step, not at once.
#[test]
fn a_refused_login_is_reported_and_not_retried_at_once() {
    let sim = WkSim::start(SimConfig {
        token: Some("right".into()),
        ..SimConfig::default()
    })
    .unwrap();
    let mut d = driver(&sim, WkConfig::DEFAULT, "wrong");
    let mut rec = Rec::default();
    until(&mut d, &mut rec, "refusal", |r, _| {
        r.0.contains(&Call::Disconnected("WkRefused { reason_code: 2 }".into()))
    });
    assert_eq!(rec.0.first(), Some(&Call::Connected(false, false)));
    let next = d.listener().reconnect_at().unwrap();
    assert!(next >= d.now_ms() + 1000, "waits the back-off's first step");
    assert!(!d.listener().is_connected());
}

/// Keepalive: PINGs go out at the configured interval and PONGs keep the link alive; EVENT
/// packets reach `pushEvent`.
#[test]
fn pings_keep_the_link_and_events_reach_push_event() {
    let sim = WkSim::start(SimConfig::default()).unwrap();
    let cfg = WkConfig {
        ping_interval_ms: 100,
        dead_after_ms: 400,
        ..WkConfig::DEFAULT
    };
    let mut d = driver(&sim, cfg, "");
    let mut rec = Rec::default();
    login(&sim, &mut d, &mut rec);
    sim.event(
        "evt-1",
        "stream.delta",
        1_700_000_000_123,
        br#"{"delta":"x"}"#,
    )
    .unwrap();
    until(&mut d, &mut rec, "event", |r, _| {
        r.count(|c| matches!(c, Call::Event(..))) == 1
    });
    assert!(rec.0.contains(&Call::Event(
        "stream.delta".into(),
        1_700_000_000_123,
        "evt-1".into(),
        br#"{"delta":"x"}"#.to_vec()
    )));
    let start = std::time::Instant::now();
    until(&mut d, &mut rec, "pings", |_, _| {
        start.elapsed() > Duration::from_millis(800)
    });
    let pings = sim.view(|v| v.pings());
    assert!(
        (5..=10).contains(&pings),
        "{pings} pings in 800 ms at 100 ms"
    );
    assert_eq!(
        rec.count(|c| matches!(c, Call::Closed(_))),
        0,
        "PONGs keep it alive"
    );
}

/// A RECV whose msgKey does not match is reported with its id, acknowledged (by default),
/// and not delivered; the next one is.
#[test]
fn a_wrong_msg_key_is_reported_not_delivered() {
    let sim = WkSim::start(SimConfig::default()).unwrap();
    let mut d = driver(&sim, WkConfig::DEFAULT, "");
    let mut rec = Rec::default();
    login(&sim, &mut d, &mut rec);
    let m = Msg::new(
        31,
        "10001",
        "10001",
        1,
        br#"{"type":1,"content":"tampered"}"#,
    );
    let mut bytes = sim.encode(&m).unwrap();
    // The last payload byte is base64 text; change it to another base64 letter.
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    sim.send_raw(&bytes).unwrap();
    sim.send(&Msg::new(
        32,
        "10001",
        "10001",
        1,
        br#"{"type":1,"content":"fine"}"#,
    ))
    .unwrap();
    until(&mut d, &mut rec, "both", |r, _| r.mids() == [32]);
    assert!(
        rec.0.contains(&Call::Bad(31, Reject::MsgKeyMismatch)),
        "{:?}",
        rec.0
    );
    assert!(sim.wait(LIMIT, |v| v.acks_of(31) == 1 && v.acks_of(32) == 1));
}

/// Webhooks over HTTP: the simulation POSTs batches to a receiver (tiny_http) that calls
/// `handle_webhook` and answers its status; a first answer of 413 (the receiver's scratch too
/// small) makes the server retry, and the retry delivers each message once. A message that
/// came by the socket first is not delivered again by the webhook.
#[test]
fn webhooks_over_http_with_retries_and_the_socket() {
    let sim = WkSim::start(SimConfig::default()).unwrap();
    let mut d = driver(&sim, WkConfig::DEFAULT, "");
    let mut rec = Rec::default();
    login(&sim, &mut d, &mut rec);
    d.listener().set_listen_all(true, true, true, true);
    // 4001 arrives by the socket first.
    let by_socket = Msg::new(
        4001,
        "10001",
        "30001",
        2,
        br#"{"type":1,"content":"both ways"}"#,
    );
    sim.send(&by_socket).unwrap();
    until(&mut d, &mut rec, "socket delivery", |r, _| {
        r.mids() == [4001]
    });

    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
    let batch = vec![
        Msg::new(
            4000,
            "10001",
            "30001",
            2,
            br#"{"type":1,"content":"first"}"#,
        ),
        by_socket.clone(),
        Msg::new(4002, "alice", "live-7", 9, &[b'x'; 600]),
    ];
    let body = wukong_sim::webhook::notify_body(&batch);
    let poster = std::thread::spawn(move || {
        wukong_sim::webhook::deliver(&base, "msg.notify", &body, 5, Duration::from_millis(20))
    });
    // The first POST gets a scratch too small for 4002's payload (413), the retry enough.
    let mut posts = 0;
    while posts < 2 {
        let mut req = server
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("a POST");
        let mut bytes = Vec::new();
        req.as_reader().read_to_end(&mut bytes).unwrap();
        let event = req
            .url()
            .split_once("event=")
            .map(|(_, e)| e.to_string())
            .unwrap();
        let mut scratch = vec![0u8; if posts == 0 { 128 } else { 4096 }];
        let now = d.now_ms();
        let out = d
            .listener()
            .handle_webhook(now, event.as_bytes(), &bytes, &mut scratch, |e| {
                rtm_listen::monitor::dispatch(&mut rec, "webhook", &e)
            });
        req.respond(tiny_http::Response::empty(out.status)).unwrap();
        posts += 1;
    }
    assert_eq!(
        poster.join().unwrap(),
        [413, 200],
        "the server retried after 413"
    );
    // 4000 was delivered by the first POST (before 4002 did not fit), 4002 by the retry;
    // 4001 came by the socket only.
    assert_eq!(rec.mids(), [4001, 4000, 4002]);
}
