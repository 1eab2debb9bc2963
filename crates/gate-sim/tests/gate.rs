//! The gate driven by a minimal hand-rolled client.

mod common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Client, WAIT, demo_client, field};
use rtm_gate_sim::rmpv::Value;
use rtm_gate_sim::{
    CODE_INVALID_PARAMETER, CODE_INVALID_PID_OR_SIGN, CODE_SAME_SIGN, CODE_UNKNOWN_METHOD,
    FileSpec, Gate, GateConfig, ListenState, Outcome, Push, StrayKind, Target, demo,
};
use rtm_listen::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen,
};
use rtm_listen::wire::frame::{DEFAULT_MAX_FRAME, Status, parse_frame};

const SHORT: Duration = Duration::from_millis(200);

fn gate() -> Gate {
    Gate::start(GateConfig::default()).expect("start the gate")
}

fn error_of(answer: (u8, Value)) -> (u8, i64, String) {
    let (status, payload) = answer;
    let code = field(&payload, "code").and_then(Value::as_i64).unwrap_or(0);
    let ex = field(&payload, "ex")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    (status, code, ex)
}

#[test]
fn ping_is_answered_with_the_time() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    let before = rtm_gate_sim::unix_ms();
    let seq = c.ping();
    let (status, payload) = c.answer_to(seq, WAIT).expect("*ping answer");
    assert_eq!(status, 0);
    let ts = field(&payload, "ts").and_then(Value::as_i64).expect("ts");
    assert!(ts >= before && ts <= rtm_gate_sim::unix_ms(), "ts {ts}");
    assert_eq!(gate.quests()[0].method, "*ping");
    assert_eq!(gate.quests()[0].outcome, Outcome::Ok);
}

#[test]
fn bad_sign_or_pid_is_refused_with_200002() {
    let gate = gate();
    let pid = gate.config().pid;
    let mut wrong_secret = Client::with_creds(gate.addr(), pid, "not-the-secret");
    let seq = wrong_secret.listen(ListenOp::Add, &[1], &[], &[], &[]);
    let refused = (
        1,
        CODE_INVALID_PID_OR_SIGN,
        "invalid pid or sign".to_owned(),
    );
    assert_eq!(
        error_of(wrong_secret.answer_to(seq, WAIT).unwrap()),
        refused
    );

    let mut wrong_pid = Client::with_creds(gate.addr(), pid + 1, &gate.config().secret);
    let seq = wrong_pid.listen(ListenOp::Add, &[1], &[], &[], &[]);
    assert_eq!(error_of(wrong_pid.answer_to(seq, WAIT).unwrap()), refused);
    assert!(gate.listen_states().iter().all(|(_, s)| s.gids.is_empty()));

    // A correct client is refused while the fault is on, accepted after.
    let mut good = Client::connect(gate.addr());
    gate.set_reject_sign(true);
    let seq = good.listen(ListenOp::Add, &[1], &[], &[], &[]);
    assert_eq!(error_of(good.answer_to(seq, WAIT).unwrap()), refused);
    gate.set_reject_sign(false);
    good.listen_ok(ListenOp::Add, &[1], &[], &[], &[]);
    assert!(gate.wait_listen(|s| s.gids.contains(&1), SHORT));
    let codes: Vec<i64> = gate.quests().iter().map(|q| q.outcome.code()).collect();
    assert_eq!(codes, [200002, 200002, 200002, 0]);
}

#[test]
fn replayed_signature_is_refused_with_200006() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    let mut buf = vec![0u8; 512];
    let q = QuestIds {
        seq: 1,
        salt: 42,
        ts: common::now_s(),
    };
    let creds = Credentials {
        pid: c.pid,
        secret: gate.config().secret.as_bytes(),
    };
    let ids: ListenIds<'_, &str> = ListenIds {
        gids: &[5],
        rids: &[],
        uids: &[],
        events: &[],
    };
    let n = build_listen(&mut buf, &creds, q, ListenOp::Add, &ids).unwrap();
    c.send(&buf[..n]);
    assert_eq!(c.answer_to(1, WAIT).unwrap().0, 0);
    // The same bytes again (the seq is the same too: the gate does not care).
    c.send(&buf[..n]);
    let (status, code, ex) = error_of(c.answer_to(1, WAIT).unwrap());
    assert_eq!(
        (status, code, ex.as_str()),
        (1, CODE_SAME_SIGN, "same sign")
    );
    // Another connection has its own memory of salts.
    let mut other = Client::connect(gate.addr());
    other.send(&buf[..n]);
    assert_eq!(other.answer_to(1, WAIT).unwrap().0, 0);
}

#[test]
fn listen_state_follows_add_remove_set_and_flags() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[1, 2], &[7], &[100], &["login"]);
    let expect = ListenState::with_ids(&[1, 2], &[7], &[100], &["login"]);
    assert_eq!(gate.listen_states(), [(1, expect)]);

    c.listen_ok(ListenOp::Add, &[3], &[], &[101], &["logout"]);
    c.listen_ok(ListenOp::Remove, &[1], &[7], &[], &["login"]);
    let expect = ListenState::with_ids(&[2, 3], &[], &[100, 101], &["logout"]);
    assert_eq!(gate.listen_states()[0].1, expect);

    // setlisten ids: keys omitted by the engine (empty lists) mean empty.
    c.listen_ok(ListenOp::Set, &[], &[9], &[], &[]);
    assert_eq!(
        gate.listen_states()[0].1,
        ListenState::with_ids(&[], &[9], &[], &[])
    );

    let seq = c.set_flags(ListenFlags {
        group: true,
        room: false,
        p2p: true,
        ev: false,
    });
    assert_eq!(c.answer_to(seq, WAIT).unwrap(), (0, Value::Map(vec![])));
    let s = gate.listen_states()[0].1.clone();
    assert!(s.group && s.p2p && !s.room && !s.ev, "{s:?}");
    assert_eq!(s.rids, BTreeSet::from([9]), "the flag form keeps the ids");

    let quests = gate.quests();
    let methods: Vec<&str> = quests.iter().map(|q| q.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "addlisten",
            "addlisten",
            "removelisten",
            "setlisten",
            "setlisten"
        ]
    );
    assert!(
        quests
            .iter()
            .all(|q| q.ids_were_arrays && q.outcome == Outcome::Ok)
    );
    assert!(gate.violations().is_empty());
    // The log keeps the decoded payload.
    let gids = field(&quests[0].payload, "gids").unwrap();
    assert_eq!(gids, &Value::Array(vec![1.into(), 2.into()]));
}

#[test]
fn ids_sent_as_maps_are_refused_and_recorded() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    // The Go SDK's restoration bug: map[int64]struct{} packs as a map of empty maps.
    let mut payload = c.auth_pairs("addlisten");
    payload.push((
        "gids".into(),
        Value::Map(vec![
            (1.into(), Value::Map(vec![])),
            (2.into(), Value::Map(vec![])),
        ]),
    ));
    payload.push(("uids".into(), Value::Array(vec![5.into()])));
    c.quest_value(Some(50), "addlisten", &Value::Map(payload));
    let (status, code, ex) = error_of(c.answer_to(50, WAIT).expect("answer"));
    assert_eq!((status, code), (1, CODE_INVALID_PARAMETER));
    assert!(ex.contains("gids"), "{ex}");

    let q = &gate.quests()[0];
    assert!(!q.ids_were_arrays);
    assert_eq!(q.outcome.code(), CODE_INVALID_PARAMETER);
    let v = gate.violations();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].method.as_str(), v[0].key.as_str()),
        ("addlisten", "gids")
    );
    assert!(v[0].detail.contains("map"), "{}", v[0].detail);
    // Nothing was applied, not even the valid uids.
    assert_eq!(gate.listen_states()[0].1, ListenState::default());

    // Events must be strings.
    let mut payload = c.auth_pairs("setlisten");
    payload.push(("events".into(), Value::Array(vec![1.into()])));
    c.quest_value(Some(51), "setlisten", &Value::Map(payload));
    assert_eq!(
        error_of(c.answer_to(51, WAIT).unwrap()).1,
        CODE_INVALID_PARAMETER
    );
    assert_eq!(gate.violations().len(), 2);
}

#[test]
fn pushes_reach_only_matching_connections() {
    let gate = gate();
    let mut a = Client::connect(gate.addr());
    a.listen_ok(ListenOp::Add, &[], &[], &[1001], &[]);
    let mut b = Client::connect(gate.addr());
    b.listen_ok(ListenOp::Add, &[2001], &[3001], &[], &["logout"]);
    let mut c = Client::connect(gate.addr());
    let seq = c.set_flags(ListenFlags {
        p2p: true,
        ..ListenFlags::default()
    });
    assert_eq!(c.answer_to(seq, WAIT).unwrap().0, 0);

    let expect_one = |cl: &mut Client, method: &str| {
        let (seq, m, _) = cl.push(WAIT).expect("a push");
        assert_eq!(m, method);
        cl.answer_ok(seq.expect("twoway"));
    };
    assert_eq!(gate.push(Push::chat(Target::P2p(1001), 1, 10, "x")), 2);
    expect_one(&mut a, "pushmsg");
    expect_one(&mut c, "pushmsg");
    assert_eq!(gate.push(Push::chat(Target::P2p(999), 1, 11, "x")), 1);
    expect_one(&mut c, "pushmsg");
    assert_eq!(gate.push(Push::chat(Target::Group(2001), 1, 12, "x")), 1);
    expect_one(&mut b, "pushgroupmsg");
    assert_eq!(gate.push(Push::chat(Target::Group(2002), 1, 13, "x")), 0);
    assert_eq!(gate.push(Push::chat(Target::Room(3001), 1, 14, "x")), 1);
    expect_one(&mut b, "pushroommsg");
    assert_eq!(gate.push(Push::login(1001)), 0);
    assert_eq!(gate.push(Push::logout(1001)), 1);
    expect_one(&mut b, "pushevent");
    for (push, method) in [
        (Push::ping(), "ping"),
        (Push::broadcast(1, 15, "all"), "pushbroadcastmsg"),
        (Push::kickout(), "kickout"),
        (Push::kickout_room(3001), "kickoutroom"),
        (
            Push::raw("pushsomethingnew", Value::Map(vec![])),
            "pushsomethingnew",
        ),
    ] {
        assert_eq!(gate.push(push), 3, "{method}");
        for cl in [&mut a, &mut b, &mut c] {
            expect_one(cl, method);
        }
    }
    assert!(
        // 2 + 1 + 1 + 1 + 1 targeted, 5 kinds x 3 to everyone.
        gate.wait_answers(21, WAIT),
        "{} answers",
        gate.answers().len()
    );
    assert!(gate.unanswered().is_empty());
    // Nothing else arrived anywhere.
    for cl in [&mut a, &mut b, &mut c] {
        assert_eq!(cl.push(SHORT), None);
    }
    assert!(gate.stray_answers().is_empty());
}

#[test]
fn answers_pending_pushes_and_stray_answers_are_recorded() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[], &[], &[1], &[]);
    assert_eq!(gate.push(Push::chat(Target::P2p(1), 2, 3, "a")), 1);
    let (seq, _, _) = c.push(WAIT).unwrap();
    let seq = seq.expect("twoway by default");
    let pending = gate.unanswered();
    assert_eq!(
        (pending.len(), pending[0].seq, pending[0].conn),
        (1, seq, 1)
    );
    assert_eq!(pending[0].method, "pushmsg");
    c.answer_ok(seq);
    assert!(gate.wait_answers(1, WAIT));
    assert!(gate.unanswered().is_empty());
    let a = &gate.answers()[0];
    assert_eq!((a.seq, a.status, &a.payload), (seq, 0, &Value::Map(vec![])));

    // A second answer to the same push, then an answer to a oneway push.
    c.answer_ok(seq);
    assert_eq!(gate.push(Push::chat(Target::P2p(1), 2, 4, "b").oneway()), 1);
    let (oneway_seq, method, _) = c.push(WAIT).unwrap();
    assert_eq!((oneway_seq, method.as_str()), (None, "pushmsg"));
    c.answer_ok(0);
    let deadline = Instant::now() + WAIT;
    while gate.stray_answers().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let kinds: Vec<StrayKind> = gate.stray_answers().iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StrayKind::Repeat, StrayKind::Unknown]);
    assert_eq!(gate.answers().len(), 1);
    let sent = gate.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].seq, sent[1].seq), (Some(seq), None));
}

#[test]
fn a_duplicate_push_carries_the_same_mid_with_a_new_seq() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[8], &[], &[], &[]);
    let p = Push::chat(Target::Group(8), 2, 777, "dup");
    assert_eq!(gate.push(p.clone()), 1);
    assert_eq!(gate.push(p), 1);
    assert_eq!(gate.push_duplicate_of_last(), 1);
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let (seq, _, payload) = c.push(WAIT).unwrap();
        assert_eq!(field(&payload, "mid").and_then(Value::as_i64), Some(777));
        seqs.push(seq.unwrap());
    }
    assert!(seqs[0] < seqs[1] && seqs[1] < seqs[2], "{seqs:?}");
    assert_eq!(gate.sent()[0].payload, gate.sent()[2].payload);
}

#[test]
fn push_payloads_follow_the_reference() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    let seq = c.set_flags(ListenFlags {
        group: true,
        room: true,
        p2p: true,
        ev: true,
    });
    assert_eq!(c.answer_to(seq, WAIT).unwrap().0, 0);
    let file = FileSpec::audio("http://h/a.amr", 9, "en", 1500).with_custom("\"note\"");
    let mut chat = Push::chat(Target::P2p(6), 5, 300, "hi");
    chat.message_mut().unwrap().mtime = 1_700_000_000_000;
    gate.push(chat);
    gate.push(Push::audio(Target::Room(4), 5, 301, &[0xff, 0]));
    gate.push(Push::file(Target::Group(3), 5, 302, &file));
    gate.push(Push::login(6));
    gate.push(Push::kickout_room(4));

    let (_, m, p) = c.push(WAIT).unwrap();
    assert_eq!(m, "pushmsg");
    let expect = Value::Map(vec![
        ("from".into(), 5.into()),
        ("to".into(), 6.into()),
        ("mid".into(), 300.into()),
        ("mtype".into(), 30.into()),
        ("msg".into(), "hi".into()),
        ("attrs".into(), "".into()),
        ("mtime".into(), 1_700_000_000_000i64.into()),
    ]);
    assert_eq!(p, expect);

    let (_, m, p) = c.push(WAIT).unwrap();
    assert_eq!(m, "pushroommsg");
    assert_eq!(field(&p, "rid").and_then(Value::as_i64), Some(4));
    assert_eq!(field(&p, "mtype").and_then(Value::as_i64), Some(31));
    assert_eq!(field(&p, "msg"), Some(&Value::Binary(vec![0xff, 0])));

    let (_, m, p) = c.push(WAIT).unwrap();
    assert_eq!(m, "pushgroupmsg");
    assert_eq!(field(&p, "mtype").and_then(Value::as_i64), Some(41));
    assert_eq!(
        field(&p, "msg").and_then(Value::as_str),
        Some(r#"{"url":"http://h/a.amr","size":9}"#)
    );
    assert_eq!(
        field(&p, "attrs").and_then(Value::as_str),
        Some(r#"{"rtm":{"type":"audiomsg","lang":"en","duration":1500},"custom":"note"}"#)
    );

    let (_, m, p) = c.push(WAIT).unwrap();
    assert_eq!(m, "pushevent");
    assert_eq!(
        field(&p, "pid").and_then(Value::as_i64),
        Some(i64::from(gate.config().pid))
    );
    assert_eq!(field(&p, "event").and_then(Value::as_str), Some("login"));
    assert_eq!(field(&p, "uid").and_then(Value::as_i64), Some(6));
    assert!(field(&p, "endpoint").is_some() && field(&p, "time").is_some());
    assert!(field(&p, "data").is_none());

    let (_, m, p) = c.push(WAIT).unwrap();
    assert_eq!(m, "kickoutroom");
    assert_eq!(p, Value::Map(vec![("rid".into(), 4.into())]));
}

#[test]
fn segmented_writes_reassemble() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[1], &[], &[], &[]);
    gate.set_segment_size(Some(1));
    let file = FileSpec::image(
        "http://127.0.0.1/x.png",
        123_456,
        "http://127.0.0.1/x_s.png",
    );
    let push = Push::file(Target::Group(1), 9, 10, &file);
    let expected = push.payload(gate.config().pid);
    let reads_before = c.reads;
    // A segmented push is written on the caller's thread: read while it is being written.
    let (sent, got) = std::thread::scope(|s| {
        let pusher = s.spawn(|| gate.push(push));
        let got = c.push(WAIT);
        (pusher.join().unwrap(), got)
    });
    assert_eq!(sent, 1);
    let (seq, method, payload) = got.expect("the reassembled push");
    assert!(
        c.reads - reads_before >= 2,
        "one read only: the write was not segmented"
    );
    assert_eq!((method.as_str(), payload), ("pushgroupmsg", expected));
    c.answer_ok(seq.unwrap());
    assert!(gate.wait_answers(1, WAIT));
    // Answers to the client's quests are segmented too.
    let reads_before = c.reads;
    let seq = c.ping();
    assert_eq!(c.answer_to(seq, WAIT).unwrap().0, 0);
    assert!(c.reads - reads_before >= 2);
    gate.set_segment_size(None);
}

#[test]
fn mid_frame_drop_leaves_half_a_frame_then_eof() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    c.listen_ok(ListenOp::Add, &[1], &[], &[], &[]);
    assert_eq!(gate.drop_connections_mid_frame(), 1);
    assert_eq!(
        gate.connection_count(),
        0,
        "dropped connections stop being live at once"
    );
    assert!(c.wait_eof(WAIT), "no EOF after the drop");
    let partial = c.partial_bytes();
    assert!(partial > 12, "only {partial} bytes of the half frame");
    assert_eq!(c.recv(SHORT), None, "no complete frame arrived");
    let sent = gate.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].truncated);
    assert!(
        gate.unanswered().is_empty(),
        "a truncated push is never pending"
    );
    // The gate still accepts the reconnection.
    let mut again = Client::connect(gate.addr());
    assert!(gate.wait_accepted(2, WAIT));
    let seq = again.ping();
    assert_eq!(again.answer_to(seq, WAIT).unwrap().0, 0);
}

#[test]
fn close_connections_closes_between_frames() {
    let gate = gate();
    let mut a = Client::connect(gate.addr());
    let mut b = Client::connect(gate.addr());
    assert!(gate.wait_connections(2, WAIT));
    assert_eq!(gate.close_connections(), 2);
    assert!(a.wait_eof(WAIT) && b.wait_eof(WAIT));
    assert_eq!((a.partial_bytes(), b.partial_bytes()), (0, 0));
    assert_eq!(gate.connection_count(), 0);
    assert_eq!(gate.total_connections_accepted(), 2);
}

#[test]
fn withheld_and_delayed_answers() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    gate.set_withhold_answers(true);
    let seq = c.listen(ListenOp::Add, &[1], &[], &[], &[]);
    assert_eq!(c.answer_to(seq, SHORT), None, "answer not withheld");
    let ping = c.ping();
    assert_eq!(c.answer_to(ping, SHORT), None);
    assert!(gate.wait_quests(2, WAIT));
    assert_eq!(gate.quests()[0].outcome, Outcome::Withheld);
    assert_eq!(gate.quests()[1].outcome, Outcome::Withheld);
    assert_eq!(
        gate.listen_states()[0].1,
        ListenState::default(),
        "withheld = not applied"
    );

    gate.set_withhold_answers(false);
    gate.set_answer_delay(Duration::from_millis(300));
    let start = Instant::now();
    let ping = c.ping();
    assert_eq!(c.answer_to(ping, WAIT).expect("delayed answer").0, 0);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    gate.set_answer_delay(Duration::ZERO);
}

#[test]
fn malformed_input_closes_only_that_connection() {
    let gate = gate();
    let mut bystander = Client::connect(gate.addr());

    let mut bad_magic = Client::connect(gate.addr());
    bad_magic.send(b"GET / HTTP/1.0\r\n\r\n");
    assert!(bad_magic.wait_eof(WAIT), "bad magic did not close");

    // A zero-length answer payload, which the C++ server refuses.
    let mut empty_answer = Client::connect(gate.addr());
    let mut frame = b"FPNN\x01\x80\x02\x00\x00\x00\x00\x00".to_vec();
    frame.extend_from_slice(&7u32.to_le_bytes());
    empty_answer.send(&frame);
    assert!(
        empty_answer.wait_eof(WAIT),
        "empty answer payload did not close"
    );

    // A map header announcing more than the payload holds.
    let mut truncated = Client::connect(gate.addr());
    let mut frame = b"FPNN\x01\x80\x01\x05".to_vec();
    frame.extend_from_slice(&2u32.to_le_bytes());
    frame.extend_from_slice(&1u32.to_le_bytes());
    frame.extend_from_slice(b"*ping\x81\xa1");
    truncated.send(&frame);
    assert!(truncated.wait_eof(WAIT), "bad msgpack did not close");

    let reasons: Vec<String> = gate.malformed().into_iter().map(|m| m.reason).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("magic"), "{reasons:?}");
    assert!(reasons[1].contains("empty payload"), "{reasons:?}");
    assert!(reasons[2].contains("msgpack"), "{reasons:?}");
    // The other connection is unaffected.
    let seq = bystander.ping();
    assert_eq!(bystander.answer_to(seq, WAIT).unwrap().0, 0);
    // A connection stops being live before its peer sees the close.
    assert_eq!(gate.connection_count(), 1, "only the bystander is live");
}

#[test]
fn unknown_methods_get_20004_and_oneway_quests_no_answer() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    let payload = Value::Map(c.auth_pairs("sendmsg"));
    c.quest_value(Some(9), "sendmsg", &payload);
    let (status, code, ex) = error_of(c.answer_to(9, WAIT).unwrap());
    assert_eq!((status, code), (1, CODE_UNKNOWN_METHOD));
    assert!(ex.contains("sendmsg"));
    c.quest_value(Some(10), "*status", &Value::Map(vec![]));
    assert_eq!(
        error_of(c.answer_to(10, WAIT).unwrap()).1,
        CODE_UNKNOWN_METHOD
    );

    // A oneway addlisten is applied but not answered.
    let mut payload = c.auth_pairs("addlisten");
    payload.push(("uids".into(), Value::Array(vec![44.into()])));
    c.quest_value(None, "addlisten", &Value::Map(payload));
    assert!(gate.wait_listen(|s| s.uids.contains(&44), WAIT));
    assert_eq!(c.recv(SHORT), None, "a oneway quest was answered");
    let q = gate.quests();
    assert_eq!((q[2].seq, q[2].outcome.clone()), (None, Outcome::Ok));
}

#[test]
fn dropping_the_gate_closes_everything() {
    let gate = gate();
    let addr = gate.addr();
    let mut c = Client::connect(addr);
    assert!(gate.wait_connections(1, WAIT));
    let start = Instant::now();
    drop(gate);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "drop took {:?}",
        start.elapsed()
    );
    assert!(c.wait_eof(WAIT), "client connection left open");
    assert!(
        TcpStream::connect_timeout(&addr, SHORT).is_err(),
        "listening socket still open after drop"
    );
}

#[test]
fn demo_script_passes_with_a_well_behaved_client() {
    let gate = gate();
    let addr = gate.addr();
    let client = std::thread::spawn(move || demo_client(addr, false));
    let mut lines = Vec::new();
    let summary = demo::run(&gate, &mut |l| lines.push(l.to_owned())).expect("script ok");
    assert_eq!(
        summary.to_string(),
        "SCRIPT OK pushes=22 answered=21 reconnects=1"
    );
    let got = client.join().unwrap();

    let mids: Vec<(usize, String, Option<i64>)> = got
        .iter()
        .map(|(i, _, m, p)| (*i, m.clone(), field(p, "mid").and_then(Value::as_i64)))
        .collect();
    let expected_first: Vec<i64> = [101, 102, 103, 104, 105, 201, 202, 203, 204, 205]
        .into_iter()
        .chain([301, 302, 303, 304, 305])
        .collect();
    let first: Vec<i64> = mids[..15].iter().map(|(_, _, m)| m.unwrap()).collect();
    assert_eq!(first, expected_first);
    assert_eq!(mids[15].1, "pushevent");
    assert_eq!(mids[16].1, "ping");
    assert_eq!(mids[17], (0, "pushmsg".to_owned(), Some(101)));
    assert_eq!(
        mids[18],
        (0, "pushgroupmsg".to_owned(), Some(demo::ONEWAY_MID))
    );
    assert_eq!(got[18].1, None, "the oneway push has no seq");
    let after: Vec<_> = mids[19..].to_vec();
    assert_eq!(
        after,
        [
            (1, "pushmsg".to_owned(), Some(106)),
            (1, "pushgroupmsg".to_owned(), Some(206)),
            (1, "pushroommsg".to_owned(), Some(306)),
        ]
    );
    assert_eq!(gate.sent().iter().filter(|s| s.truncated).count(), 1);
    assert!(lines.iter().any(|l| l.contains("dropped 1 connection")));
}

#[test]
fn demo_script_fails_when_the_client_answers_a_oneway_push() {
    let gate = gate();
    let addr = gate.addr();
    let client = std::thread::spawn(move || demo_client(addr, true));
    let err = demo::run(&gate, &mut |_| {}).expect_err("the stray answer must fail the script");
    assert!(err.contains("oneway"), "{err}");
    client.join().unwrap();
    assert_eq!(gate.stray_answers()[0].kind, StrayKind::Unknown);
}

#[test]
fn frames_from_the_gate_parse_with_the_engine() {
    // The gate writes frames with its own builder; check the header against the reference.
    let gate = gate();
    let mut raw = TcpStream::connect(gate.addr()).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    assert!(gate.wait_connections(1, WAIT));
    let mut push = Push::chat(Target::P2p(6), 5, 300, "hi");
    push.message_mut().unwrap().mtime = 1_700_000_000_000;
    // The connection listens to nothing: push_to ignores the listen state.
    assert_eq!(gate.push(push.clone()), 0);
    assert!(gate.push_to(1, push));
    let mut buf = [0u8; 77];
    std::io::Read::read_exact(&mut raw, &mut buf).unwrap();
    // Reference §11 example 3, except the seq (the gate's first is 1, the example's 10).
    let mut expected = hex("46504e4e0180010736000000");
    expected.extend_from_slice(&1u32.to_le_bytes());
    expected.extend_from_slice(&hex(
        "707573686d736787a466726f6d05a2746f06a36d6964cd012ca56d74797065\
         1ea36d7367a26869a56174747273a0a56d74696d65cf0000018bcfe56800",
    ));
    assert_eq!(buf.to_vec(), expected);
    assert!(matches!(
        parse_frame(&buf, DEFAULT_MAX_FRAME),
        Ok(Status::Complete(_, 77))
    ));
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
