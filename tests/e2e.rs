//! End to end over loopback TCP: the std driver and listener against the gate simulator.

use std::time::Duration;

use rtm_gate_sim::{FileSpec, Gate, GateConfig, ListenState, Push, Target};
use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::session::{Config, Listener, MessageEvent, RequestId};

#[derive(Default)]
struct Seen {
    calls: Vec<String>,
    done: Vec<(u32, i64)>,
    restored: Vec<i64>,
    connects: usize,
}

macro_rules! rec {
    ($($m:ident),*) => {$(
        fn $m(&mut self, m: &MessageEvent<'_>) {
            let mut s = format!("{} {} {}", stringify!($m), m.message.to, m.message.mid);
            if let Some(f) = m.message.file_info(&mut [0; 256]) {
                s += &format!(" url={} audio={}", String::from_utf8_lossy(f.url), f.is_rtm_audio);
            }
            self.calls.push(s);
        }
    )*};
}

impl Monitor for Seen {
    rec!(
        push_p2p_message,
        push_group_message,
        push_room_message,
        push_p2p_file,
        push_group_file,
        push_room_file,
        push_p2p_chat,
        push_p2p_audio,
        push_p2p_cmd,
        push_group_chat,
        push_group_audio,
        push_group_cmd,
        push_room_chat,
        push_room_audio,
        push_room_cmd,
        push_broadcast
    );
    fn push_event(&mut self, _: i64, event: &[u8], uid: i64, _: i64, _: &[u8], _: &[u8]) {
        self.calls.push(format!(
            "push_event {} {uid}",
            String::from_utf8_lossy(event)
        ));
    }
    fn ping(&mut self) {
        self.calls.push("ping".into());
    }
    fn kickout_room(&mut self, rid: i64) {
        self.calls.push(format!("kickout_room {rid}"));
    }
    fn connected(&mut self, _: &str, connected: bool, _: bool) {
        if connected {
            self.connects += 1;
        }
    }
    fn command_done(&mut self, request: RequestId, code: i64, _: &[u8]) {
        self.done.push((request.0, code));
    }
    fn restored(&mut self, code: i64) {
        self.restored.push(code);
    }
}

fn setup(cfg: Config) -> (Gate, TcpDriver) {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let gc = gate.config().clone();
    let creds = Credentials {
        pid: gc.pid,
        secret: gc.secret.as_bytes(),
    };
    let listener = Listener::new(cfg, creds, 42).unwrap();
    let driver = TcpDriver::new(gate.addr().to_string(), listener);
    (gate, driver)
}

const LIMIT: Duration = Duration::from_secs(10);

fn wait(d: &mut TcpDriver, seen: &mut Seen, what: &str, mut f: impl FnMut(&Seen) -> bool) {
    assert!(
        d.run_until(seen, LIMIT, |s, _| f(s)),
        "timed out waiting for {what}"
    );
}

fn listen(d: &mut TcpDriver, seen: &mut Seen, gids: &[i64], rids: &[i64], uids: &[i64]) {
    let now = d.now_ms();
    let ids = ListenIds {
        gids,
        rids,
        uids,
        events: &["login"],
    };
    let r = d.listener().set_listen(now, &ids).unwrap();
    wait(d, seen, "setlisten", |s| s.done.contains(&(r.0, 0)));
}

#[test]
fn every_push_kind_reaches_its_callback_through_tiny_tcp_segments() {
    let (gate, mut d) = setup(Config::DEFAULT);
    let mut seen = Seen::default();
    gate.set_segment_size(Some(3));
    listen(&mut d, &mut seen, &[20], &[30], &[10]);
    let audio = FileSpec::audio("http://h/a.amr", 10, "en", 1500);
    let mut pushes = Vec::new();
    let mut mid = 0;
    for target in [Target::P2p(10), Target::Group(20), Target::Room(30)] {
        for mk in 0..5 {
            mid += 1;
            pushes.push(match mk {
                0 => Push::chat(target, 1, mid, "hi"),
                1 => Push::audio(target, 1, mid, &[0xff, 0x00]),
                2 => Push::cmd(target, 1, mid, "c"),
                3 => Push::file(target, 1, mid, &audio),
                _ => Push::message(target, 1, mid, 7, "m"),
            });
        }
    }
    pushes.push(Push::login(10));
    pushes.push(Push::ping());
    pushes.push(Push::broadcast(1, 99, "all"));
    pushes.push(Push::kickout_room(30));
    let n = pushes.len();
    for p in pushes {
        assert_eq!(gate.push(p), 1);
    }
    wait(&mut d, &mut seen, "every push", |s| s.calls.len() >= n);
    let want = [
        "push_p2p_chat 10 1",
        "push_p2p_audio 10 2",
        "push_p2p_cmd 10 3",
        "push_p2p_file 10 4 url=http://h/a.amr audio=true",
        "push_p2p_message 10 5",
        "push_group_chat 20 6",
        "push_group_audio 20 7",
        "push_group_cmd 20 8",
        "push_group_file 20 9 url=http://h/a.amr audio=true",
        "push_group_message 20 10",
        "push_room_chat 30 11",
        "push_room_audio 30 12",
        "push_room_cmd 30 13",
        "push_room_file 30 14 url=http://h/a.amr audio=true",
        "push_room_message 30 15",
        "push_event login 10",
        "ping",
        "push_broadcast 0 99",
        "kickout_room 30",
    ];
    assert_eq!(seen.calls, want);
    assert!(
        gate.wait_answers(n - 1, LIMIT),
        "every twoway push answered"
    );
    assert!(gate.answers().iter().all(|a| a.status == 0));
    assert!(gate.stray_answers().is_empty());
}

#[test]
fn a_drop_mid_frame_is_followed_by_restoration_of_exactly_the_confirmed_state() {
    let (gate, mut d) = setup(Config::DEFAULT);
    let mut seen = Seen::default();
    listen(&mut d, &mut seen, &[1, 2], &[], &[5]);
    let now = d.now_ms();
    let r = d
        .listener()
        .set_listen_all(
            now,
            ListenFlags {
                room: true,
                ..Default::default()
            },
        )
        .unwrap();
    wait(&mut d, &mut seen, "flags", |s| s.done.contains(&(r.0, 0)));
    // Remove gid 2; the removal is confirmed before the drop.
    let now = d.now_ms();
    let ids = ListenIds {
        gids: &[2],
        rids: &[],
        uids: &[],
        events: &[] as &[&str],
    };
    let r = d.listener().remove_listen(now, &ids).unwrap();
    wait(&mut d, &mut seen, "removelisten", |s| {
        s.done.contains(&(r.0, 0))
    });

    assert_eq!(gate.push(Push::chat(Target::Group(1), 9, 1, "before")), 1);
    wait(&mut d, &mut seen, "first push", |s| s.calls.len() == 1);
    let accepted = gate.total_connections_accepted();
    assert_eq!(gate.drop_connections_mid_frame(), 1);
    // The first connection established the commands queued before it (the first 0), the new
    // one restores the state (the second).
    wait(&mut d, &mut seen, "restoration", |s| s.restored == [0, 0]);
    assert_eq!(seen.connects, 2);

    // The new connection holds exactly the confirmed state.
    let states = gate.listen_states();
    let (_, state) = states
        .iter()
        .find(|(id, _)| *id > accepted)
        .expect("new connection");
    let mut want = ListenState::with_ids(&[1], &[], &[5], &["login"]);
    want.room = true;
    assert_eq!(state, &want);
    // Restoration sent flags first, then ids, all as arrays.
    let quests: Vec<_> = gate
        .quests()
        .into_iter()
        .filter(|q| q.conn > accepted)
        .collect();
    assert_eq!(
        quests.iter().map(|q| q.method.as_str()).collect::<Vec<_>>(),
        ["setlisten", "setlisten"]
    );
    assert!(quests.iter().all(|q| q.ids_were_arrays));
    assert!(gate.violations().is_empty(), "{:?}", gate.violations());

    // Pushes reach the restored ids and not the removed one.
    assert_eq!(gate.push(Push::chat(Target::Group(2), 9, 2, "removed")), 0);
    assert_eq!(gate.push(Push::chat(Target::Group(1), 9, 3, "kept")), 1);
    assert_eq!(gate.push(Push::chat(Target::P2p(5), 9, 4, "kept")), 1);
    assert_eq!(
        gate.push(Push::chat(Target::Room(77), 9, 5, "all rooms")),
        1
    );
    wait(&mut d, &mut seen, "pushes after restore", |s| {
        s.calls.len() == 4
    });
    assert_eq!(
        seen.calls[1..],
        [
            "push_group_chat 1 3",
            "push_p2p_chat 5 4",
            "push_room_chat 77 5"
        ]
    );
}

#[test]
fn a_rejected_sign_and_withheld_answers_complete_with_their_codes() {
    let cfg = Config {
        quest_timeout_ms: 300,
        ..Config::DEFAULT
    };
    let (gate, mut d) = setup(cfg);
    let mut seen = Seen::default();
    gate.set_reject_sign(true);
    let now = d.now_ms();
    let ids = ListenIds {
        gids: &[1],
        rids: &[],
        uids: &[],
        events: &[] as &[&str],
    };
    let r = d.listener().add_listen(now, &ids).unwrap();
    wait(&mut d, &mut seen, "rejection", |s| {
        s.done.iter().any(|&(id, _)| id == r.0)
    });
    assert_eq!(seen.done, [(r.0, 200_002)]);
    assert!(d.listener().listen_state().ids.is_empty());
    gate.set_reject_sign(false);
    gate.set_withhold_answers(true);
    let now = d.now_ms();
    let r = d.listener().add_listen(now, &ids).unwrap();
    wait(&mut d, &mut seen, "timeout", |s| {
        s.done.iter().any(|&(id, _)| id == r.0)
    });
    assert_eq!(seen.done.last(), Some(&(r.0, 20_003)));
}

#[test]
fn duplicates_over_tcp_are_answered_but_delivered_once() {
    let (gate, mut d) = setup(Config::DEFAULT);
    let mut seen = Seen::default();
    listen(&mut d, &mut seen, &[3], &[], &[]);
    let p = Push::cmd(Target::Group(3), 1, 500, "once");
    assert_eq!(gate.push(p.clone()), 1);
    assert_eq!(gate.push(p), 1);
    assert_eq!(
        gate.push(Push::chat(Target::Group(3), 1, 501, "oneway").oneway()),
        1
    );
    wait(&mut d, &mut seen, "pushes", |s| s.calls.len() == 2);
    assert!(gate.wait_answers(2, LIMIT));
    d.run_until(&mut seen, Duration::from_millis(200), |_, _| false);
    assert_eq!(
        seen.calls,
        ["push_group_cmd 3 500", "push_group_chat 3 501"]
    );
    assert_eq!(
        gate.answers().len(),
        2,
        "both copies answered, the oneway push not"
    );
    assert!(gate.stray_answers().is_empty());
}
