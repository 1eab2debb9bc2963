//! Deterministic virtual-clock tests of the listener's rules (reference §3, §6-§9).

mod support;

use rmpv::Value;
use rtm_listen::rtm::listen::{ListenFlags, ListenIds};
use rtm_listen::rtm::sign::sign;
use rtm_listen::session::{
    CloseReason, CommandError, Config, Event, IdKind, IoError, IoKind, code,
};
use rtm_listen::wire::frame::FrameError;
use support::*;

const NO_EVENTS: &[&str] = &[];
const REFUSED: CloseReason = CloseReason::Io(IoError {
    kind: IoKind::ConnectionRefused,
    errno: 111,
});

fn ids<'a>(
    gids: &'a [i64],
    rids: &'a [i64],
    uids: &'a [i64],
    events: &'a [&'a str],
) -> ListenIds<'a, &'a str> {
    ListenIds {
        gids,
        rids,
        uids,
        events,
    }
}

fn connected(l: &mut L, now: u64) {
    l.connected(now);
    let ev = events(l);
    assert!(ev[0].starts_with("Connected"), "{ev:?}");
}

fn array_of(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn listen_command_is_signed_sent_and_applied_only_on_success() {
    let mut l = listener();
    connected(&mut l, 0);
    let r = l
        .set_listen(1000, &ids(&[7, 3], &[], &[9], &["login"]))
        .unwrap();
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].method(), Some("setlisten"));
    assert_eq!(array_of(q[0].get("gids").unwrap()), vec![3, 7]);
    assert_eq!(array_of(q[0].get("uids").unwrap()), vec![9]);
    assert!(
        q[0].get("rids").is_none(),
        "empty ids are omitted in setlisten"
    );
    let salt = q[0].get("salt").unwrap().as_i64().unwrap();
    let ts = q[0].get("ts").unwrap().as_i64().unwrap();
    assert_eq!(ts, (UNIX_MS + 1000) / 1000);
    let want = sign(PID, SECRET, salt, "setlisten", ts);
    assert_eq!(
        q[0].get("sign").unwrap().as_str().unwrap().as_bytes(),
        &want
    );
    // Not applied before the answer.
    assert!(l.listen_state().ids.is_empty());
    let ev = feed(&mut l, 1500, &ok(q[0].seq().unwrap()));
    assert_eq!(ev, vec![format!("completed #{} code=0 ex=\"\"", r.0)]);
    let st = l.listen_state();
    assert_eq!(st.ids.of(IdKind::Group), &[3, 7]);
    assert_eq!(st.ids.of(IdKind::User), &[9]);
    assert_eq!(st.event_names(), &["login"]);
}

#[test]
fn error_answer_completes_with_the_peer_code_and_leaves_state_alone() {
    let mut l = listener();
    connected(&mut l, 0);
    let r = l.add_listen(0, &ids(&[1], &[], &[], NO_EVENTS)).unwrap();
    let q = sent(&mut l);
    let ev = feed(&mut l, 10, &err(q[0].seq().unwrap(), 200_002, "bad sign"));
    assert_eq!(
        ev,
        vec![format!("completed #{} code=200002 ex=\"bad sign\"", r.0)]
    );
    assert!(l.listen_state().ids.is_empty());
}

#[test]
fn a_listen_quest_timeout_completes_with_20003_and_ends_the_connection() {
    let mut l = listener();
    connected(&mut l, 0);
    let r = l
        .set_listen_all(
            0,
            ListenFlags {
                group: true,
                ..Default::default()
            },
        )
        .unwrap();
    let q = sent(&mut l);
    assert_eq!(
        l.poll_timeout(),
        Some(20_000),
        "ping before the quest timeout"
    );
    l.handle_timeout(29_999);
    assert!(events(&mut l).is_empty());
    l.handle_timeout(30_000);
    // The command completes as not confirmed (its intent kept), and the connection must end:
    // a late answer could apply an older state after a newer one.
    assert_eq!(
        events(&mut l),
        vec![
            format!("completed #{} code=20003 ex=\"\"", r.0),
            "CloseRequested(DeadLink)".to_string()
        ]
    );
    assert!(feed(&mut l, 30_001, &ok(q[0].seq().unwrap())).is_empty());
    assert!(!l.listen_state().flags.group);
    assert_eq!(l.pending_commands(), 0);
    // The next connection establishes the kept intent.
    l.closed(30_002, CloseReason::DeadLink);
    events(&mut l);
    connected(&mut l, 30_003);
    let q = sent(&mut l);
    assert_eq!(q[0].get("group"), Some(&Value::from(true)));
    assert_eq!(
        feed(&mut l, 30_004, &ok(q[0].seq().unwrap())),
        vec!["Restored { code: 0 }"]
    );
    assert!(l.listen_state().flags.group);
}

#[test]
fn a_close_keeps_commands_pending_and_the_next_connection_confirms_them() {
    let mut l = listener();
    connected(&mut l, 0);
    let a = l.add_listen(0, &ids(&[1], &[], &[], NO_EVENTS)).unwrap();
    let group = ListenFlags {
        group: true,
        ..Default::default()
    };
    let b = l.set_listen_all(0, group).unwrap();
    // One listen quest in flight at a time.
    assert_eq!(sent(&mut l).len(), 1);
    l.closed(5_000, CloseReason::PeerClosed);
    assert_eq!(
        events(&mut l),
        vec!["Closed { by_error: false, is_reconnect: false, reason: PeerClosed, retry_in_ms: 0 }"]
    );
    assert_eq!(l.pending_commands(), 2, "nothing completed: both are kept");
    assert_eq!(l.listen_state().ids.len(), 0);
    assert_eq!(l.desired_state().ids.of(IdKind::Group), &[1]);
    // The next connection establishes both, flags first, then ids, one at a time.
    connected(&mut l, 5_100);
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].get("group"), Some(&Value::from(true)));
    assert!(feed(&mut l, 5_110, &ok(q[0].seq().unwrap())).is_empty());
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    assert_eq!(array_of(q[0].get("gids").unwrap()), vec![1]);
    assert_eq!(
        feed(&mut l, 5_120, &ok(q[0].seq().unwrap())),
        vec![
            format!("completed #{} code=0 ex=\"\"", a.0),
            format!("completed #{} code=0 ex=\"\"", b.0),
            "Restored { code: 0 }".to_string(),
        ]
    );
    assert!(l.in_sync());
}

#[test]
fn a_command_without_connection_waits_then_fails_with_20012() {
    let mut l = listener();
    let r = l.add_listen(0, &ids(&[1], &[], &[], NO_EVENTS)).unwrap();
    assert!(l.transmit().is_empty());
    l.handle_timeout(30_000);
    assert_eq!(
        events(&mut l),
        vec![format!(
            "completed #{} code={} ex=\"\"",
            r.0,
            code::NOT_CONNECTED
        )]
    );
    // Its intent is kept: with one issued later, both go out once connected.
    let r = l
        .add_listen(31_000, &ids(&[2], &[], &[], NO_EVENTS))
        .unwrap();
    connected(&mut l, 32_000);
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].method(), Some("setlisten"));
    assert_eq!(array_of(q[0].get("gids").unwrap()), vec![1, 2]);
    let ev = feed(&mut l, 32_010, &ok(q[0].seq().unwrap()));
    assert_eq!(
        ev,
        vec![
            format!("completed #{} code=0 ex=\"\"", r.0),
            "Restored { code: 0 }".to_string()
        ]
    );
}

/// Builds a confirmed state of flags + ids on a first connection.
fn confirmed_state(l: &mut L) {
    connected(l, 0);
    l.set_listen_all(
        0,
        ListenFlags {
            group: true,
            ev: true,
            ..Default::default()
        },
    )
    .unwrap();
    l.set_listen(0, &ids(&[10, 11], &[20], &[30], &["login", "logout"]))
        .unwrap();
    answer_all(l, 10);
    assert_eq!(l.listen_state().ids.len(), 4);
}

/// Answers every listen quest with success, one at a time, until none is left.
fn answer_all(l: &mut L, now: u64) -> Vec<String> {
    let mut ev = Vec::new();
    loop {
        let q = sent(l);
        if q.is_empty() {
            return ev;
        }
        for q in q {
            ev.extend(feed(l, now, &ok(q.seq().unwrap())));
        }
    }
}

#[test]
fn restoration_sends_flags_then_ids_as_arrays_before_queued_commands() {
    let mut l = listener();
    confirmed_state(&mut l);
    l.closed(10_000, CloseReason::PeerClosed);
    events(&mut l);
    // Queued while disconnected.
    let queued = l
        .remove_listen(10_500, &ids(&[11], &[], &[], NO_EVENTS))
        .unwrap();
    l.connected(11_000);
    assert_eq!(events(&mut l), vec!["Connected { is_reconnect: true }"]);
    let q = sent(&mut l);
    assert_eq!(q.len(), 1, "one listen quest in flight: {q:?}");
    assert_eq!(q[0].method(), Some("setlisten"));
    assert_eq!(q[0].get("group"), Some(&Value::from(true)));
    assert_eq!(q[0].get("ev"), Some(&Value::from(true)));
    assert_eq!(q[0].get("room"), Some(&Value::from(false)));
    // The ids wait for the flags' answer.
    assert!(feed(&mut l, 11_010, &ok(q[0].seq().unwrap())).is_empty());
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].method(), Some("setlisten"));
    for key in ["gids", "rids", "uids", "events"] {
        assert!(q[0].get(key).unwrap().is_array(), "{key} must be an array");
    }
    // The desired state: the confirmed one with the queued removal applied.
    assert_eq!(array_of(q[0].get("gids").unwrap()), vec![10]);
    assert_eq!(array_of(q[0].get("rids").unwrap()), vec![20]);
    assert_eq!(array_of(q[0].get("uids").unwrap()), vec![30]);
    assert_eq!(
        feed(&mut l, 11_020, &ok(q[0].seq().unwrap())),
        vec![
            format!("completed #{} code=0 ex=\"\"", queued.0),
            "Restored { code: 0 }".to_string()
        ]
    );
    assert!(sent(&mut l).is_empty());
    assert_eq!(l.listen_state().ids.of(IdKind::Group), &[10]);
    assert!(l.in_sync());
}

#[test]
fn failed_restoration_is_reported_with_the_first_error() {
    let mut l = listener();
    confirmed_state(&mut l);
    l.closed(10_000, CloseReason::PeerClosed);
    l.connected(11_000);
    events(&mut l);
    let q = sent(&mut l);
    let ev = feed(
        &mut l,
        11_010,
        &err(q[0].seq().unwrap(), 200_010, "frequency"),
    );
    assert_eq!(ev, vec!["Restored { code: 200010 }"]);
    // The sync stops on this connection until the desired state changes; nothing is lost.
    assert!(sent(&mut l).is_empty());
    assert!(!l.in_sync());
    assert_eq!(l.desired_state().ids.len(), 4);
    let r = l
        .add_listen(11_030, &ids(&[12], &[], &[], NO_EVENTS))
        .unwrap();
    let ev = answer_all(&mut l, 11_040);
    assert_eq!(ev, vec![format!("completed #{} code=0 ex=\"\"", r.0)]);
    assert!(l.in_sync());
    assert_eq!(l.listen_state().ids.of(IdKind::Group), &[10, 11, 12]);
}

#[test]
fn duplicates_are_answered_but_delivered_once_until_the_ttl() {
    let mut l = listener();
    connected(&mut l, 0);
    let mut input = pushmsg(Some(1), 5, 6, 300, 30, "hi");
    input.extend(pushmsg(Some(2), 5, 6, 300, 30, "hi"));
    // Same mid for a different kind of target is a different push.
    input.extend(pushgroupmsg(Some(3), 5, 6, 300, 30, "hi"));
    // Events and pings are never filtered.
    input.extend(pushevent(Some(4), "login", 5));
    input.extend(pushevent(Some(5), "login", 5));
    input.extend(ping(Some(6)));
    input.extend(ping(Some(7)));
    let ev = feed(&mut l, 1_000, &input);
    assert_eq!(
        ev,
        vec![
            "pushP2PChat from=5 to=6 mid=300 mtype=30 msg=\"hi\" attrs=\"\"",
            "pushGroupChat from=5 to=6 mid=300 mtype=30 msg=\"hi\" attrs=\"\"",
            "pushEvent login uid=5",
            "pushEvent login uid=5",
            "Ping",
            "Ping",
        ]
    );
    let answers: Vec<_> = sent(&mut l).iter().map(|w| w.seq().unwrap()).collect();
    assert_eq!(
        answers,
        vec![1, 2, 3, 4, 5, 6, 7],
        "every push answered once, in order"
    );
    assert_eq!(l.stats().duplicates, 1);
    // Within the TTL: still a duplicate. After it: delivered again.
    assert!(feed(&mut l, 300_999, &pushmsg(Some(8), 5, 6, 300, 30, "hi")).is_empty());
    let ev = feed(&mut l, 301_000, &pushmsg(Some(9), 5, 6, 300, 30, "hi"));
    assert_eq!(ev.len(), 1);
    assert_eq!(sent(&mut l).len(), 2);
}

#[test]
fn keepalive_pings_after_silence_and_declares_a_dead_link() {
    let mut l = listener();
    connected(&mut l, 0);
    assert_eq!(l.poll_timeout(), Some(20_000));
    l.handle_timeout(19_999);
    assert!(sent(&mut l).is_empty());
    l.handle_timeout(20_000);
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].method(), Some("*ping"));
    assert_eq!(q[0].payload(), &Value::Map(vec![]));
    // Its answer is consumed silently and refreshes the receive time.
    assert!(
        feed(
            &mut l,
            20_050,
            &answer(q[0].seq().unwrap(), 0, &map(&[("ts", Value::from(1))]))
        )
        .is_empty()
    );
    assert_eq!(l.poll_timeout(), Some(40_050));
    // No further ping while one is outstanding within the quest timeout.
    l.handle_timeout(40_050);
    let q = sent(&mut l);
    assert_eq!(q.len(), 1);
    l.handle_timeout(60_000);
    assert!(sent(&mut l).is_empty(), "ping outstanding");
    l.handle_timeout(70_050);
    assert_eq!(sent(&mut l).len(), 1, "resent after the quest timeout");
    // Dead after 3 × 30 s + 20 s of silence since the last receive (20 050).
    l.handle_timeout(20_050 + 110_000);
    assert!(events(&mut l).is_empty());
    l.handle_timeout(20_050 + 110_001);
    assert_eq!(events(&mut l), vec!["CloseRequested(DeadLink)"]);
    assert!(l.wants_close());
    l.closed(130_100, CloseReason::DeadLink);
    assert_eq!(
        events(&mut l),
        vec!["Closed { by_error: true, is_reconnect: false, reason: DeadLink, retry_in_ms: 0 }"]
    );
}

#[test]
fn rtm_ping_reaches_the_monitor_and_is_answered() {
    let mut l = listener();
    connected(&mut l, 0);
    assert_eq!(feed(&mut l, 5, &ping(Some(77))), vec!["Ping"]);
    let a = sent(&mut l);
    assert_eq!(
        a,
        vec![Wire::Answer {
            seq: 77,
            status: 0,
            payload: Value::Map(vec![])
        }]
    );
}

#[test]
fn backoff_sequence_is_capped_and_reset_by_a_long_connection() {
    let mut l = listener();
    let mut now = 0;
    let mut delays = Vec::new();
    for _ in 0..12 {
        l.connect_failed(now, REFUSED);
        let at = l.reconnect_at().unwrap();
        delays.push(at - now);
        now = at;
    }
    assert_eq!(
        delays,
        vec![
            0, 0, 0, 0, 0, 2000, 25_600, 49_200, 72_800, 96_400, 120_000, 120_000
        ]
    );
    // A connection that lived past the 1500 ms window resets the count.
    l.connected(now);
    l.closed(now + 1500, CloseReason::PeerClosed);
    assert_eq!(l.reconnect_at(), Some(now + 1500));
    // A short-lived one does not.
    let mut l = listener();
    for _ in 0..6 {
        l.connect_failed(0, REFUSED);
    }
    l.connected(100);
    l.closed(200, CloseReason::PeerClosed);
    assert_eq!(l.reconnect_at(), Some(200 + 25_600));
}

#[test]
fn salts_are_unique_and_increasing_within_one_millisecond() {
    let mut l = listener();
    connected(&mut l, 0);
    let mut salts = Vec::new();
    for round in 0..80 {
        let flags = ListenFlags {
            group: round % 2 == 0,
            ..Default::default()
        };
        l.set_listen_all(1, flags).unwrap();
        let q = sent(&mut l);
        for w in &q {
            salts.push(w.get("salt").unwrap().as_i64().unwrap());
            feed(&mut l, 1, &ok(w.seq().unwrap()));
        }
        assert_eq!(q.len(), 1, "round {round}");
    }
    assert_eq!(salts.len(), 80);
    assert!(salts.windows(2).all(|w| w[0] < w[1]), "{salts:?}");
}

#[test]
fn capacity_errors_are_reported_before_anything_is_sent() {
    let mut l = listener();
    connected(&mut l, 0);
    let too_many: Vec<i64> = (0..65).collect();
    assert_eq!(
        l.add_listen(0, &ids(&too_many, &[], &[], NO_EVENTS)),
        Err(CommandError::TooManyIds)
    );
    assert_eq!(
        l.add_listen(0, &ids(&[1], &[], &[], &["typing"])),
        Err(CommandError::UnsupportedEvent)
    );
    assert!(l.transmit().is_empty());
    // Desired state: 40 + 30 more would exceed 64.
    let forty: Vec<i64> = (0..40).collect();
    let thirty: Vec<i64> = (100..130).collect();
    l.add_listen(0, &ids(&forty, &[], &[], NO_EVENTS)).unwrap();
    assert_eq!(
        l.add_listen(0, &ids(&[], &thirty, &[], NO_EVENTS)),
        Err(CommandError::TooManyIds)
    );
    for _ in 0..7 {
        l.set_listen_all(0, ListenFlags::default()).unwrap();
    }
    assert_eq!(
        l.set_listen_all(0, ListenFlags::default()),
        Err(CommandError::TooManyPending)
    );
    // One listen quest in flight; the other commands wait for it.
    assert_eq!(sent(&mut l).len(), 1);
}

#[test]
fn a_repeated_id_counts_once_against_the_capacity() {
    let mut l = listener();
    let repeats = [7i64; 100];
    l.set_listen(0, &ids(&repeats, &[], &[], NO_EVENTS))
        .unwrap();
    assert_eq!(l.desired_state().ids.of(IdKind::Group), &[7]);
    let mut sixty_four: Vec<i64> = (0..63).collect();
    sixty_four.extend([0, 1, 2, 63, 63]);
    l.add_listen(0, &ids(&sixty_four, &[], &[], NO_EVENTS))
        .unwrap();
    assert_eq!(l.desired_state().ids.len(), 64);
    assert_eq!(
        l.add_listen(0, &ids(&[64, 64], &[], &[], NO_EVENTS)),
        Err(CommandError::TooManyIds)
    );
}

#[test]
fn unknown_method_gets_20004_and_a_oneway_one_no_answer() {
    let mut l = listener();
    connected(&mut l, 0);
    let ev = feed(&mut l, 1, &quest(Some(9), "pushfancy", &Value::Map(vec![])));
    assert_eq!(ev, vec!["bad pushfancy unknown method"]);
    let a = sent(&mut l);
    assert_eq!(a.len(), 1);
    let Wire::Answer {
        seq,
        status,
        payload,
    } = &a[0]
    else {
        panic!()
    };
    assert_eq!((*seq, *status), (9, 1));
    assert_eq!(map_get(payload, "code"), Some(&Value::from(20004)));
    assert_eq!(
        map_get(payload, "ex"),
        Some(&Value::from("Unknown method: pushfancy"))
    );
    feed(&mut l, 2, &quest(None, "pushfancy", &Value::Map(vec![])));
    assert!(sent(&mut l).is_empty());
}

#[test]
fn oneway_push_is_processed_but_never_answered() {
    let mut l = listener();
    connected(&mut l, 0);
    let ev = feed(&mut l, 1, &pushgroupmsg(None, 1, 2, 3, 32, "cmd"));
    assert_eq!(
        ev,
        vec!["pushGroupCmd from=1 to=2 mid=3 mtype=32 msg=\"cmd\" attrs=\"\""]
    );
    assert!(sent(&mut l).is_empty());
}

#[test]
fn undecodable_push_is_reported_and_answered_with_an_error() {
    let mut l = listener();
    connected(&mut l, 0);
    let p = map(&[
        ("to", Value::from(1)),
        ("mid", Value::from(2)),
        ("mtype", Value::from(30)),
    ]);
    let ev = feed(&mut l, 1, &quest(Some(4), "pushmsg", &p));
    assert_eq!(ev, vec!["bad pushmsg missing key 'from'"]);
    let a = sent(&mut l);
    assert_eq!(map_get(a[0].payload(), "code"), Some(&Value::from(10009)));
    assert_eq!(
        map_get(a[0].payload(), "ex"),
        Some(&Value::from("missing key 'from'"))
    );
}

#[test]
fn garbage_asks_the_host_to_close() {
    let mut l = listener();
    connected(&mut l, 0);
    let mut input = ping(Some(1));
    input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    let ev = feed(&mut l, 1, &input);
    let close = Event::CloseRequested(CloseReason::Protocol(FrameError::BadMagic));
    assert_eq!(ev, vec!["Ping".to_string(), format!("{close:?}")]);
    assert!(l.wants_close());
    assert_eq!(
        sent(&mut l).len(),
        1,
        "the ping before the garbage is still answered"
    );
}

#[test]
fn full_transmit_buffer_holds_pushes_back_without_losing_any() {
    let mut l = listener();
    connected(&mut l, 0);
    let mut input = Vec::new();
    for i in 0..200u32 {
        input.extend(pushroommsg(Some(i + 1), 1, 2, i64::from(i), 1, "m"));
    }
    let mut delivered = 0;
    let mut answers = Vec::new();
    let mut rest = &input[..];
    let mut stalls = 0;
    while !rest.is_empty() || !l.transmit().is_empty() {
        let n = l.handle_input(1, rest, |_| delivered += 1);
        rest = &rest[n..];
        delivered += events(&mut l).len();
        if n == 0 {
            // Only drain the transmit side when the listener refuses input.
            stalls += 1;
            answers.extend(sent(&mut l).into_iter().map(|w| w.seq().unwrap()));
            delivered += events(&mut l).len();
        }
    }
    answers.extend(sent(&mut l).into_iter().map(|w| w.seq().unwrap()));
    assert!(stalls > 0, "the test must exercise backpressure");
    assert_eq!(delivered, 200);
    assert_eq!(answers, (1..=200).collect::<Vec<_>>());
}

#[test]
fn translated_chat_and_file_info_are_parsed() {
    let mut l = listener();
    connected(&mut l, 0);
    let chat = r#"{"source":"zh","target":"en","sourceText":"\u4f60\u597d","targetText":"hello"}"#;
    let mut input = pushmsg(Some(1), 1, 2, 3, 30, chat);
    let file = map(&[
        ("from", Value::from(1)),
        ("rid", Value::from(9)),
        ("mid", Value::from(4)),
        ("mtype", Value::from(41)),
        (
            "msg",
            Value::from(r#"{"url":"https:\/\/x\/a.amr","size":10}"#),
        ),
        (
            "attrs",
            Value::from(r#"{"rtm":{"type":"audiomsg","lang":"en","duration":5}}"#),
        ),
        ("mtime", Value::from(1)),
    ]);
    input.extend(quest(Some(2), "pushroommsg", &file));
    let ev = feed(&mut l, 1, &input);
    assert!(ev[0].ends_with("translated=\"hello\""), "{}", ev[0]);
    assert!(ev[1].starts_with("pushRoomFile"), "{}", ev[1]);
    assert!(
        ev[1].ends_with("file.url=\"https://x/a.amr\" audio=true"),
        "{}",
        ev[1]
    );
}

#[test]
fn dead_link_and_timeouts_are_visible_in_poll_timeout() {
    let cfg = Config {
        ping_interval_ms: 1_000_000,
        ..Config::DEFAULT
    };
    let mut l = listener_with(cfg);
    connected(&mut l, 0);
    // Dead after 3 × 30 s + ping interval; the deadline is one past it.
    assert_eq!(l.poll_timeout(), Some(1_000_000));
    l.add_listen(100, &ids(&[1], &[], &[], NO_EVENTS)).unwrap();
    assert_eq!(l.poll_timeout(), Some(30_100));
}

#[test]
fn connecting_again_without_a_close_closes_the_old_connection_first() {
    let mut l = listener();
    connected(&mut l, 0);
    let r = l.add_listen(0, &ids(&[1], &[], &[], NO_EVENTS)).unwrap();
    assert_eq!(sent(&mut l).len(), 1);
    l.connected(100);
    assert_eq!(
        events(&mut l),
        vec![
            "Closed { by_error: false, is_reconnect: false, reason: Host, retry_in_ms: 0 }",
            "Connected { is_reconnect: true }",
        ]
    );
    // The command is still pending and goes out on the new connection.
    let q = sent(&mut l);
    assert_eq!(array_of(q[0].get("gids").unwrap()), vec![1]);
    assert_eq!(
        feed(&mut l, 110, &ok(q[0].seq().unwrap())),
        vec![
            format!("completed #{} code=0 ex=\"\"", r.0),
            "Restored { code: 0 }".to_string()
        ]
    );
}
