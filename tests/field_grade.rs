//! The field-grade observations, each as a test against the gate simulator over loopback: a
//! gateway that comes up late, frames larger than the receive buffer, pipelined listen quests
//! applied out of order, a wrong secret, and the reasons of failed connects.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use rtm_gate_sim::{Gate, GateConfig, ListenState, Push, Target};
use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::field::MessageError;
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::session::{
    Backoff, CloseReason, Config, FixedListener, IoKind, MessageEvent, RequestId, code,
};
use rtm_listen::wire::frame::{FrameError, MAX_FRAME_LEN};

#[derive(Default)]
struct Seen {
    chats: Vec<(i64, usize)>,
    done: Vec<(u32, i64)>,
    restored: Vec<i64>,
    bad: Vec<(String, MessageError, Option<u32>, usize)>,
    down: Vec<(String, CloseReason, u64)>,
    connects: usize,
    failed_connects: usize,
}

impl Monitor for Seen {
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        self.chats.push((m.message.mid, m.message.msg.len()));
    }
    fn connected(&mut self, _: &str, connected: bool, _: bool) {
        if connected {
            self.connects += 1;
        } else {
            self.failed_connects += 1;
        }
    }
    fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {
        self.down.push((endpoint.to_string(), reason, retry_in_ms));
    }
    fn command_done(&mut self, request: RequestId, code: i64, _: &[u8]) {
        self.done.push((request.0, code));
    }
    fn restored(&mut self, code: i64) {
        self.restored.push(code);
    }
    fn bad_push(&mut self, method: &[u8], error: MessageError, seq: Option<u32>, len: usize) {
        self.bad.push((
            String::from_utf8_lossy(method).into_owned(),
            error,
            seq,
            len,
        ));
    }
}

const LIMIT: Duration = Duration::from_secs(15);

/// Fast timers so that an outage outlasts the quest timeout within a test.
fn fast() -> Config {
    Config {
        quest_timeout_ms: 500,
        backoff: Backoff {
            immediate: 0,
            first_ms: 100,
            max_ms: 200,
            ..Backoff::DEFAULT
        },
        ..Config::DEFAULT
    }
}

fn driver<const RX: usize, const TX: usize>(
    endpoint: String,
    gate: &GateConfig,
    cfg: Config,
) -> TcpDriver<FixedListener<RX, TX>> {
    let creds = Credentials {
        pid: gate.pid,
        secret: gate.secret.as_bytes(),
    };
    TcpDriver::new(
        endpoint,
        FixedListener::<RX, TX>::sized(cfg, creds, 7).unwrap(),
    )
}

fn wait<const RX: usize, const TX: usize>(
    d: &mut TcpDriver<FixedListener<RX, TX>>,
    seen: &mut Seen,
    what: &str,
    mut f: impl FnMut(&Seen) -> bool,
) {
    let ok = d.run_until(seen, LIMIT, |s, _| f(s));
    assert!(
        ok,
        "timed out waiting for {what}: chats {:?} done {:?} bad {:?} down {:?} stats {:?}",
        seen.chats,
        seen.done,
        seen.bad,
        seen.down,
        d.listener().stats()
    );
}

fn ids<'a>(gids: &'a [i64], uids: &'a [i64], events: &'a [&'a str]) -> ListenIds<'a, &'a str> {
    ListenIds {
        gids,
        rids: &[],
        uids,
        events,
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Observation 1: listens set at start against a gateway that comes up after the commands'
/// timeout are established on the first connection, and the host learns it.
#[test]
fn a_late_gateway_gets_every_listen_intent() {
    let port = free_port();
    let gc = GateConfig {
        port,
        ..GateConfig::default()
    };
    let mut d = driver::<4096, 1024>(format!("127.0.0.1:{port}"), &gc, fast());
    let mut seen = Seen::default();
    let now = d.now_ms();
    let all = ListenFlags {
        room: true,
        ..Default::default()
    };
    let a = d.listener().set_listen_all(now, all).unwrap();
    let b = d
        .listener()
        .set_listen(now, &ids(&[1, 2], &[5], &["login"]))
        .unwrap();
    let c = d
        .listener()
        .remove_listen(now, &ids(&[2], &[], &[]))
        .unwrap();
    // Nothing listens: every attempt is refused, with its reason and the next try's delay.
    let start = Instant::now();
    d.run_until(&mut seen, Duration::from_millis(1200), |_, _| false);
    assert_eq!(
        seen.done,
        vec![
            (a.0, code::NOT_CONNECTED),
            (b.0, code::NOT_CONNECTED),
            (c.0, code::NOT_CONNECTED)
        ],
        "completed as not connected, intent kept"
    );
    assert!(seen.failed_connects >= 2);
    let (endpoint, reason, retry) = seen.down.last().unwrap().clone();
    assert_eq!(endpoint, format!("127.0.0.1:{port}"));
    let CloseReason::Io(e) = reason else {
        panic!("{reason:?}")
    };
    assert_eq!((e.kind, e.errno), (IoKind::ConnectionRefused, 111));
    assert!((100..=200).contains(&retry), "{retry}");
    assert_eq!(d.listener().desired_state().ids.len(), 2);
    assert!(!d.listener().in_sync());
    assert!(start.elapsed() >= Duration::from_millis(1000));

    // The gateway comes up late.
    let gate = Gate::start(gc).unwrap();
    wait(&mut d, &mut seen, "restoration", |s| s.restored == [0]);
    assert!(d.listener().in_sync());
    let mut want = ListenState::with_ids(&[1], &[], &[5], &["login"]);
    want.room = true;
    assert!(
        gate.wait_listen(|s| *s == want, LIMIT),
        "{:?}",
        gate.listen_states()
    );
    assert_eq!(seen.connects, 1);
}

/// Observations 2 and 3: frames larger than the 4 KiB receive buffer are skipped, answered with
/// 10002 and reported with their seq and length; the pushes after them arrive; 9 MiB closes.
#[test]
fn frames_larger_than_rx_are_skipped_and_the_next_push_arrives() {
    let gate = Gate::start(GateConfig::default()).unwrap();
    let gc = gate.config().clone();
    let mut d = driver::<4096, 1024>(gate.addr().to_string(), &gc, Config::DEFAULT);
    let mut seen = Seen::default();
    let now = d.now_ms();
    d.listener().set_listen(now, &ids(&[7], &[], &[])).unwrap();
    wait(&mut d, &mut seen, "listen", |s| s.done.len() == 1);
    let mut mid = 100;
    for (i, len) in [6 * 1024, 64 * 1024, 1024 * 1024].into_iter().enumerate() {
        mid += 1;
        let big = gate.push_in_background(Push::chat_of_len(Target::Group(7), 1, mid, len));
        let (_, seq) = big.targets()[0];
        wait(&mut d, &mut seen, "bad push", |s| s.bad.len() == i + 1);
        big.wait();
        let (method, error, bseq, blen) = seen.bad.last().unwrap().clone();
        assert_eq!(method, "pushgroupmsg");
        assert_eq!(error, MessageError::FrameTooLarge);
        assert_eq!(bseq, seq);
        assert!(blen > len, "{blen} counts the whole frame");
        mid += 1;
        assert_eq!(gate.push(Push::chat(Target::Group(7), 1, mid, "after")), 1);
        wait(&mut d, &mut seen, "the push after", |s| {
            s.chats.last().map(|c| c.0) == Some(mid)
        });
        let seq = seq.unwrap();
        assert!(d.run_until(&mut seen, LIMIT, |_, _| gate.answer_for_seq(seq).is_some()));
        let answer = gate.answer_for_seq(seq).expect("answered");
        assert_eq!(answer.code(), Some(10002));
    }
    assert_eq!(gate.total_connections_accepted(), 1, "never closed");
    assert!(
        d.run_until(&mut seen, LIMIT, |_, _| gate.unanswered().is_empty()),
        "every push answered"
    );
    assert_eq!(d.listener().stats().oversized, 3);

    // Beyond 8 MiB the stream is closed, as the C++ SDK does; the listener reconnects.
    let huge = gate.push_in_background(Push::chat_of_len(Target::Group(7), 1, 999, 9 << 20));
    wait(&mut d, &mut seen, "close", |s| {
        s.down
            .iter()
            .any(|(_, r, _)| matches!(r, CloseReason::Protocol(FrameError::TooLarge { max, .. }) if *max == MAX_FRAME_LEN))
    });
    huge.wait();
    wait(&mut d, &mut seen, "reconnect and restore", |s| {
        s.connects == 2 && s.restored == [0, 0]
    });
    assert_eq!(gate.push(Push::chat(Target::Group(7), 1, 1000, "again")), 1);
    wait(&mut d, &mut seen, "a push after reconnecting", |s| {
        s.chats.last().map(|c| c.0) == Some(1000)
    });
}

/// A host that wants 64 KiB messages gets them whole.
#[test]
fn a_64k_receive_buffer_reads_a_60k_push_whole() {
    let gate = Gate::start(GateConfig::default()).unwrap();
    let gc = gate.config().clone();
    let mut d = driver::<65536, 4096>(gate.addr().to_string(), &gc, Config::DEFAULT);
    let mut seen = Seen::default();
    let now = d.now_ms();
    d.listener().set_listen(now, &ids(&[7], &[], &[])).unwrap();
    wait(&mut d, &mut seen, "listen", |s| s.done.len() == 1);
    let job = gate.push_in_background(Push::chat_of_len(Target::Group(7), 1, 5, 60 * 1024));
    wait(&mut d, &mut seen, "the big push", |s| !s.chats.is_empty());
    job.wait();
    assert_eq!(seen.chats, vec![(5, 60 * 1024)]);
    assert!(seen.bad.is_empty());
}

/// Observation 3: a gate whose worker pool applies pipelined quests in reverse order still
/// ends in the host's desired state, because one listen quest is in flight at a time.
#[test]
fn listen_quests_are_applied_in_the_hosts_order_by_a_reordering_gate() {
    let gate = Gate::start(GateConfig::default()).unwrap();
    gate.set_reverse_pipelined(Some(Duration::from_millis(100)));
    let gc = gate.config().clone();
    let mut d = driver::<4096, 1024>(gate.addr().to_string(), &gc, Config::DEFAULT);
    let mut seen = Seen::default();
    let now = d.now_ms();
    let l = d.listener();
    l.set_listen_all(
        now,
        ListenFlags {
            group: true,
            ..Default::default()
        },
    )
    .unwrap();
    l.set_listen(now, &ids(&[1, 2, 3], &[], &[])).unwrap();
    l.add_listen(now, &ids(&[4], &[], &["logout"])).unwrap();
    l.remove_listen(now, &ids(&[1], &[], &[])).unwrap();
    wait(&mut d, &mut seen, "all four commands", |s| {
        s.done.len() == 4
    });
    assert!(seen.done.iter().all(|&(_, c)| c == 0), "{:?}", seen.done);
    let mut want = ListenState::with_ids(&[2, 3, 4], &[], &[], &["logout"]);
    want.group = true;
    assert!(
        gate.wait_listen(|s| *s == want, LIMIT),
        "{:?}",
        gate.listen_states()
    );
    assert!(
        gate.quests().iter().all(|q| q.batch_len == 1),
        "never two listen quests in flight"
    );
    // While connected too: commands in a burst.
    let now = d.now_ms();
    let l = d.listener();
    l.add_listen(now, &ids(&[10], &[], &[])).unwrap();
    l.set_listen(now, &ids(&[11], &[], &[])).unwrap();
    l.add_listen(now, &ids(&[12], &[], &[])).unwrap();
    wait(&mut d, &mut seen, "the burst", |s| s.done.len() == 7);
    let mut want = ListenState::with_ids(&[11, 12], &[], &[], &[]);
    want.group = true;
    assert!(
        gate.wait_listen(|s| *s == want, LIMIT),
        "{:?}",
        gate.listen_states()
    );
    assert!(gate.quests().iter().all(|q| q.batch_len == 1));
    assert!(d.listener().in_sync());
}

/// Observation 5: a wrong secret is surfaced as refused credentials, not silence.
#[test]
fn a_wrong_secret_is_reported_as_refused_credentials() {
    let gate = Gate::start(GateConfig::default()).unwrap();
    let gc = GateConfig {
        secret: "not-the-secret".into(),
        ..gate.config().clone()
    };
    let mut d = driver::<4096, 1024>(gate.addr().to_string(), &gc, Config::DEFAULT);
    let mut seen = Seen::default();
    let now = d.now_ms();
    let r = d.listener().set_listen(now, &ids(&[1], &[], &[])).unwrap();
    wait(&mut d, &mut seen, "refusal", |s| !s.restored.is_empty());
    assert_eq!(seen.done, vec![(r.0, 200_002)]);
    assert_eq!(seen.restored, vec![200_002]);
    assert!(code::is_auth_failure(200_002));
    assert_eq!(d.listener().stats().refusals, 1);
    assert!(!d.listener().in_sync());
}

/// Observation 5: the reason of a failed connect names the endpoint and the error class.
#[test]
fn failed_connects_say_why_and_when_the_next_try_is() {
    let gc = GateConfig::default();
    for (endpoint, kind) in [
        (
            format!("127.0.0.1:{}", free_port()),
            IoKind::ConnectionRefused,
        ),
        ("127.0.0.1:99999".to_string(), IoKind::InvalidEndpoint),
        ("127.0.0.1".to_string(), IoKind::InvalidEndpoint),
    ] {
        let mut d = driver::<4096, 1024>(endpoint.clone(), &gc, fast());
        let mut seen = Seen::default();
        wait(&mut d, &mut seen, "a failed connect", |s| {
            !s.down.is_empty()
        });
        let (ep, reason, _) = seen.down[0].clone();
        assert_eq!(ep, endpoint);
        match reason {
            CloseReason::Io(e) => assert_eq!(e.kind, kind, "{endpoint}"),
            other => panic!("{endpoint}: {other:?}"),
        }
        assert!(d.last_error().is_some());
        assert_eq!(d.listener().stats().connect_failures, 1);
    }
}
