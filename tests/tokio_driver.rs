//! The tokio driver end to end over loopback TCP, against the gate simulator (and the WuKongIM
//! simulation for the generic driver): listens confirmed, every push kind delivered once and
//! answered, commands through the handle while running, reconnection with restoration,
//! connect failures, cancellation of `run`, and the graceful shutdown.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtm_gate_sim::{FileSpec, Gate, GateConfig, ListenState, Push, Target};
use rtm_listen::driver::tokio::{Handle, HandleError, TokioDriver};
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
use rtm_listen::session::{
    CloseReason, CommandError, Config, IoKind, Listener, MessageEvent, RequestId,
};
use tokio::sync::oneshot;
use tokio::task::block_in_place;
use wukong_sim::{SimConfig, WkSim, demo_messages};

const LIMIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Seen {
    calls: Vec<String>,
    done: Vec<(u32, i64)>,
    restored: Vec<i64>,
    connects: usize,
    failed_connects: usize,
    /// (caused by error, the reason) of every close and failed attempt.
    downs: Vec<(bool, CloseReason)>,
    /// Fired (once) by the first group chat: a shutdown requested from inside a callback.
    stop_on_group_chat: Option<oneshot::Sender<()>>,
}

/// The monitor the driver's task owns; the test reads the same state.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Seen>>);

impl Shared {
    fn get<R>(&self, f: impl FnOnce(&Seen) -> R) -> R {
        f(&self.0.lock().unwrap())
    }

    fn push(&self, s: String) {
        self.0.lock().unwrap().calls.push(s);
    }

    /// Waits (without blocking the runtime) until `cond` holds; fails the test after LIMIT.
    async fn wait(&self, what: &str, cond: impl Fn(&Seen) -> bool) {
        let start = Instant::now();
        while !self.get(&cond) {
            assert!(
                start.elapsed() < LIMIT,
                "timed out waiting for {what}: {:?}",
                self.get(|s| s.calls.clone())
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

macro_rules! rec {
    ($($m:ident),*) => {$(
        fn $m(&mut self, m: &MessageEvent<'_>) {
            let mut s = format!("{} {} {}", stringify!($m), m.message.to, m.message.mid);
            if let Some(f) = m.message.file_info(&mut [0; 256]) {
                s += &format!(" url={}", String::from_utf8_lossy(f.url));
            }
            self.push(s);
        }
    )*};
}

impl Monitor for Shared {
    rec!(
        push_p2p_message,
        push_room_message,
        push_p2p_file,
        push_group_file,
        push_room_file,
        push_p2p_chat,
        push_p2p_audio,
        push_p2p_cmd,
        push_group_audio,
        push_group_cmd,
        push_room_chat,
        push_room_audio,
        push_room_cmd,
        push_broadcast
    );
    fn push_group_message(&mut self, m: &MessageEvent<'_>) {
        self.push(format!(
            "push_group_message {} {}",
            m.message.to, m.message.mid
        ));
    }
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        let mut s = self.0.lock().unwrap();
        s.calls.push(format!(
            "push_group_chat {} {}",
            m.message.to, m.message.mid
        ));
        if let Some(stop) = s.stop_on_group_chat.take() {
            let _ = stop.send(());
        }
    }
    fn push_event(&mut self, _: i64, event: &[u8], uid: i64, _: i64, _: &[u8], _: &[u8]) {
        self.push(format!(
            "push_event {} {uid}",
            String::from_utf8_lossy(event)
        ));
    }
    fn ping(&mut self) {
        self.push("ping".into());
    }
    fn kickout_room(&mut self, rid: i64) {
        self.push(format!("kickout_room {rid}"));
    }
    fn connected(&mut self, _: &str, connected: bool, _: bool) {
        let mut s = self.0.lock().unwrap();
        if connected {
            s.connects += 1;
        } else {
            s.failed_connects += 1;
        }
    }
    fn disconnected(&mut self, _: &str, reason: CloseReason, _: u64) {
        self.0
            .lock()
            .unwrap()
            .downs
            .push((reason.is_error(), reason));
    }
    fn command_done(&mut self, request: RequestId, code: i64, _: &[u8]) {
        self.0.lock().unwrap().done.push((request.0, code));
    }
    fn restored(&mut self, code: i64) {
        self.0.lock().unwrap().restored.push(code);
    }
}

/// A driver for the gate, listening to `gids`, `rids`, `uids` and logins from the start.
fn driver(gate: &Gate, cfg: Config, gids: &[i64], rids: &[i64], uids: &[i64]) -> TokioDriver {
    let gc = gate.config();
    let creds = Credentials {
        pid: gc.pid,
        secret: gc.secret.as_bytes(),
    };
    let mut listener = Listener::new(cfg, creds, 42).expect("listener");
    let ids = ListenIds {
        gids,
        rids,
        uids,
        events: &["login"],
    };
    listener.add_listen(0, &ids).expect("listen");
    TokioDriver::new(gate.addr().to_string(), listener)
}

/// The driver running in a task until `stop` fires; the task gives the driver back.
struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<TokioDriver>,
}

fn spawn(mut driver: TokioDriver, monitor: &Shared) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let mut monitor = monitor.clone();
    let task = tokio::spawn(async move {
        driver
            .run(&mut monitor, async {
                let _ = stopped.await;
            })
            .await;
        driver
    });
    Running { stop, task }
}

impl Running {
    /// Signals the shutdown; returns the driver and how long `run` took to return.
    async fn shutdown(self) -> (TokioDriver, Duration) {
        let start = Instant::now();
        let _ = self.stop.send(());
        let driver = tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("run returns after the shutdown")
            .expect("the driver's task");
        (driver, start.elapsed())
    }
}

/// Waits for the gate's live connections to drop to 0 (it saw the close).
fn wait_gate_closed(gate: &Gate) {
    block_in_place(|| {
        let start = Instant::now();
        while gate.connection_count() != 0 {
            assert!(start.elapsed() < LIMIT, "the gate still has a connection");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_push_kind_is_delivered_once_answered_and_flushed_by_the_shutdown() {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let seen = Shared::default();
    let run = spawn(driver(&gate, Config::DEFAULT, &[20], &[30], &[10]), &seen);
    // The listen given before `run` is confirmed on the first connection.
    seen.wait("restoration", |s| s.restored == [0]).await;
    assert_eq!(seen.get(|s| s.done.len()), 1);
    assert_eq!(seen.get(|s| s.done[0].1), 0);
    assert!(block_in_place(|| gate.wait_listen(
        |s| s.gids.contains(&20) && s.rids.contains(&30) && s.uids.contains(&10),
        LIMIT
    )));

    // Tiny TCP segments: every frame arrives in pieces.
    gate.set_segment_size(Some(3));
    let audio = FileSpec::audio("http://h/a.amr", 10, "en", 1500);
    let mut pushes = Vec::new();
    let mut mid = 0;
    for target in [Target::P2p(10), Target::Group(20), Target::Room(30)] {
        for kind in 0..5 {
            mid += 1;
            pushes.push(match kind {
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
    // A duplicate of the first push: answered, not delivered again.
    pushes.push(Push::chat(Target::P2p(10), 1, 1, "hi"));
    let n = pushes.len();
    for p in pushes {
        assert_eq!(block_in_place(|| gate.push(p)), 1);
    }
    let want = [
        "push_p2p_chat 10 1",
        "push_p2p_audio 10 2",
        "push_p2p_cmd 10 3",
        "push_p2p_file 10 4 url=http://h/a.amr",
        "push_p2p_message 10 5",
        "push_group_chat 20 6",
        "push_group_audio 20 7",
        "push_group_cmd 20 8",
        "push_group_file 20 9 url=http://h/a.amr",
        "push_group_message 20 10",
        "push_room_chat 30 11",
        "push_room_audio 30 12",
        "push_room_cmd 30 13",
        "push_room_file 30 14 url=http://h/a.amr",
        "push_room_message 30 15",
        "push_event login 10",
        "ping",
        "push_broadcast 0 99",
        "kickout_room 30",
    ];
    seen.wait("every push", |s| s.calls.len() >= want.len())
        .await;
    // Every twoway push answered (the oneway kickoutroom not), the duplicate included.
    assert!(block_in_place(|| gate.wait_answers(n - 1, LIMIT)));
    assert_eq!(
        gate.answers_for_mid(1).len(),
        2,
        "the duplicate is answered"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.get(|s| s.calls.clone()), want, "each delivered once");
    assert!(gate.answers().iter().all(|a| a.status == 0));
    assert!(gate.stray_answers().is_empty());
    gate.set_segment_size(None);

    let (driver, took) = run.shutdown().await;
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
    assert!(!driver.is_connected());
    assert_eq!(driver.into_listener().stats().pushes, want.len() as u64);
    // The listener was told: a host close, not an error.
    assert_eq!(
        seen.get(|s| s.downs.last().copied()),
        Some((false, CloseReason::Host))
    );
    wait_gate_closed(&gate);
    assert!(gate.unanswered().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_through_the_handle_complete_while_running() {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let seen = Shared::default();
    let d = driver(&gate, Config::DEFAULT, &[1], &[], &[]);
    let handle: Handle<Listener> = d.handle();
    let run = spawn(d, &seen);
    seen.wait("restoration", |s| s.restored == [0]).await;

    // From another task, while `run` runs.
    let h = handle.clone();
    let r = tokio::spawn(async move {
        h.add_listen(&ListenIds {
            gids: &[77],
            ..Default::default()
        })
        .await
    })
    .await
    .unwrap()
    .expect("accepted");
    seen.wait("addlisten", |s| s.done.contains(&(r.0, 0))).await;
    assert!(block_in_place(|| gate.wait_listen(
        |s| s.gids.contains(&1) && s.gids.contains(&77),
        LIMIT
    )));
    assert_eq!(
        block_in_place(|| gate.push(Push::cmd(Target::Group(77), 5, 700, "new"))),
        1
    );
    seen.wait("push to the new gid", |s| {
        s.calls.contains(&"push_group_cmd 77 700".to_string())
    })
    .await;

    let r = handle
        .set_listen_all(ListenFlags {
            room: true,
            ..Default::default()
        })
        .await
        .expect("accepted");
    seen.wait("flags", |s| s.done.contains(&(r.0, 0))).await;
    let r = handle
        .remove_listen(&ListenIds {
            gids: &[1],
            ..Default::default()
        })
        .await
        .expect("accepted");
    seen.wait("removelisten", |s| s.done.contains(&(r.0, 0)))
        .await;
    let mut want = ListenState::with_ids(&[77], &[], &[], &["login"]);
    want.room = true;
    assert!(block_in_place(|| gate.wait_listen(|s| *s == want, LIMIT)));

    // A refused command changes nothing and says why.
    assert_eq!(
        handle
            .add_listen(&ListenIds {
                events: &["bogus"],
                ..Default::default()
            })
            .await,
        Err(HandleError::Refused(CommandError::UnsupportedEvent))
    );
    // Any call on the listener, with its clock.
    let (in_sync, now) = handle
        .with_listener(|l, now| (l.in_sync(), now))
        .await
        .unwrap();
    assert!(in_sync);
    assert!(now > 0);

    let (driver, took) = run.shutdown().await;
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
    drop(driver);
    // The driver is gone: the handle says so instead of waiting forever.
    assert_eq!(
        handle.with_listener(|_, _| ()).await,
        Err(HandleError::Stopped)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_reconnects_and_restores_the_listens() {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let seen = Shared::default();
    let run = spawn(driver(&gate, Config::DEFAULT, &[1, 2], &[], &[5]), &seen);
    seen.wait("restoration", |s| s.restored == [0]).await;
    assert_eq!(
        block_in_place(|| gate.push(Push::chat(Target::Group(1), 9, 1, "before"))),
        1
    );
    seen.wait("first push", |s| s.calls.len() == 1).await;

    let accepted = gate.total_connections_accepted();
    assert_eq!(gate.drop_connections_mid_frame(), 1);
    seen.wait("restoration on the new connection", |s| {
        s.restored == [0, 0]
    })
    .await;
    assert_eq!(seen.get(|s| s.connects), 2);
    let (by_error, reason) = seen.get(|s| s.downs[0]);
    assert_ne!(reason, CloseReason::Host, "{by_error}");

    // The new connection holds the whole desired state, established by the listener.
    let want = ListenState::with_ids(&[1, 2], &[], &[5], &["login"]);
    let conn = block_in_place(|| gate.wait_listen_conn(|id, s| id > accepted && *s == want, LIMIT));
    assert!(conn.is_some(), "{:?}", gate.listen_states());
    assert_eq!(
        block_in_place(|| gate.push(Push::chat(Target::Group(2), 9, 2, "after"))),
        1
    );
    assert_eq!(
        block_in_place(|| gate.push(Push::chat(Target::P2p(5), 9, 3, "after"))),
        1
    );
    seen.wait("pushes after the reconnect", |s| s.calls.len() == 3)
        .await;
    assert_eq!(
        seen.get(|s| s.calls[1..].to_vec()),
        ["push_group_chat 2 2", "push_p2p_chat 5 3"]
    );
    assert!(block_in_place(|| gate.wait_answers(3, LIMIT)));
    assert!(gate.violations().is_empty());
    let (_driver, took) = run.shutdown().await;
    assert!(took < Duration::from_secs(1), "shutdown took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_asked_for_inside_a_callback_still_answers_that_push() {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let seen = Shared::default();
    let (stop, stopped) = oneshot::channel::<()>();
    seen.0.lock().unwrap().stop_on_group_chat = Some(stop);
    let mut d = driver(&gate, Config::DEFAULT, &[4], &[], &[]);
    let mut monitor = seen.clone();
    let task = tokio::spawn(async move {
        d.run(&mut monitor, async {
            let _ = stopped.await;
        })
        .await;
        d
    });
    seen.wait("restoration", |s| s.restored == [0]).await;
    // The callback fires the shutdown before its answer is even queued.
    assert_eq!(
        block_in_place(|| gate.push(Push::chat(Target::Group(4), 3, 40, "last"))),
        1
    );
    let d = tokio::time::timeout(LIMIT, task)
        .await
        .expect("run returned")
        .unwrap();
    assert!(!d.is_connected());
    assert_eq!(seen.get(|s| s.calls.clone()), ["push_group_chat 4 40"]);
    // Answered before the close, then closed by the host.
    let answers = gate.answers_for_mid(40);
    assert_eq!(answers.len(), 1, "the delivered push was answered");
    assert_eq!(answers[0].status, 0);
    assert_eq!(
        seen.get(|s| s.downs.last().copied()),
        Some((false, CloseReason::Host))
    );
    wait_gate_closed(&gate);
    assert!(gate.unanswered().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_run_loses_nothing_and_the_next_run_goes_on() {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let seen = Shared::default();
    let mut monitor = seen.clone();
    let mut d = driver(&gate, Config::DEFAULT, &[6], &[], &[]);
    // `run` cancelled from outside (a timeout here; a `select!` alike).
    let cut = tokio::time::timeout(Duration::from_millis(300), {
        d.run(&mut monitor, std::future::pending())
    })
    .await;
    assert!(cut.is_err(), "run only ends by its shutdown");
    assert_eq!(seen.get(|s| s.restored.clone()), [0]);
    assert!(d.is_connected(), "cancelling run does not close");
    // A push arrives while nobody runs the driver: it waits in the socket.
    assert_eq!(
        block_in_place(|| gate.push(Push::chat(Target::Group(6), 3, 60, "while away"))),
        1
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(seen.get(|s| s.calls.is_empty()));
    let (stop, stopped) = oneshot::channel::<()>();
    let seen2 = seen.clone();
    let stopper = tokio::spawn(async move {
        seen2.wait("the push", |s| s.calls.len() == 1).await;
        let _ = stop.send(());
    });
    tokio::time::timeout(
        LIMIT,
        d.run(&mut monitor, async {
            let _ = stopped.await;
        }),
    )
    .await
    .expect("run returns after the shutdown");
    stopper.await.unwrap();
    assert_eq!(seen.get(|s| s.calls.clone()), ["push_group_chat 6 60"]);
    assert_eq!(seen.get(|s| s.connects), 1, "the same connection went on");
    assert_eq!(gate.answers_for_mid(60).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failures_are_reported_and_the_shutdown_does_not_wait_for_the_back_off() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let creds = Credentials {
        pid: 1,
        secret: b"s",
    };
    for (endpoint, kind) in [
        (format!("127.0.0.1:{port}"), IoKind::ConnectionRefused),
        ("127.0.0.1:notaport".to_string(), IoKind::InvalidEndpoint),
    ] {
        let seen = Shared::default();
        let listener = Listener::new(Config::DEFAULT, creds, 1).unwrap();
        let d = TokioDriver::new(endpoint.clone(), listener);
        let run = spawn(d, &seen);
        seen.wait("a failed attempt", |s| s.failed_connects >= 1)
            .await;
        let (driver, took) = run.shutdown().await;
        // The back-off before the next attempt is longer; the shutdown does not wait for it.
        assert!(took < Duration::from_millis(500), "{endpoint}: {took:?}");
        assert!(driver.last_error().is_some(), "{endpoint}");
        let (by_error, reason) = seen.get(|s| s.downs[0]);
        assert!(by_error);
        match reason {
            CloseReason::Io(e) => assert_eq!(e.kind, kind, "{endpoint}"),
            other => panic!("{endpoint}: {other:?}"),
        }
        assert_eq!(seen.get(|s| s.connects), 0);
    }
}

/// WuKongIM's listener on the same driver (it is generic over `Engine`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wukongim_listener_runs_on_the_same_driver() {
    let sim = WkSim::start(SimConfig {
        encrypt: false,
        token: Some("tok".into()),
        ..SimConfig::default()
    })
    .expect("sim");
    let creds = WkCredentials {
        uid: "90001",
        token: "tok",
        device_id: "rtm-listen-tokio",
    };
    let listener = WkListener::new(WkConfig::DEFAULT, creds, &[7; 32]).expect("listener");
    let d: TokioDriver<WkListener> = TokioDriver::new(sim.addr().to_string(), listener);
    let handle = d.handle();
    let seen = Shared::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut monitor = seen.clone();
    let task = tokio::spawn(async move {
        let mut d = d;
        d.run(&mut monitor, async {
            let _ = stopped.await;
        })
        .await;
        d
    });
    assert!(block_in_place(|| sim.wait(LIMIT, |v| v.logged_in())));
    let msgs = demo_messages(9_000);
    block_in_place(|| sim.send_all(&msgs)).expect("sent");
    seen.wait("every message", |s| s.calls.len() >= msgs.len())
        .await;
    assert!(block_in_place(|| sim.wait(LIMIT, |v| msgs
        .iter()
        .all(|m| v.acks_of(m.message_id) == 1))));
    let version = handle.with_listener(|l, _| l.version()).await.unwrap();
    assert_eq!(version, Some(5));
    let _ = stop.send(());
    let d = tokio::time::timeout(LIMIT, task).await.unwrap().unwrap();
    assert!(!d.is_connected());
    assert_eq!(
        seen.get(|s| s.downs.last().copied()),
        Some((false, CloseReason::Host))
    );
}

mod support;

/// The length of the complete FPNN frames at the start of `b`, and how many are answers.
fn frames(mut b: &[u8]) -> (usize, usize) {
    let (mut total, mut answers) = (0, 0);
    while b.len() >= 12 {
        let (mtype, ss) = (b[6], b[7] as usize);
        let psize = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        let len = 12
            + psize
            + match mtype {
                0 => ss,
                1 => 4 + ss,
                _ => 4,
            };
        if b.len() < len {
            break;
        }
        answers += usize::from(mtype == 2);
        total += len;
        b = &b[len..];
    }
    (total, answers)
}

/// A peer that pushes far more than it reads stalls the driver (the socket would block, the
/// listener's TX fills, it stops taking pushes); the shutdown then still writes the answer of
/// every push delivered so far, once the peer reads again, and nothing is answered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shutdown_flushes_answers_the_socket_could_not_take() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // 17 MB of answers: more than any loopback socket buffers take (Linux caps the send
    // buffer's autotuning at 4 MiB by default), so the driver stalls on any machine.
    const PUSHES: u32 = 1_000_000;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let server = socket.listen(1).unwrap();
    let addr = server.local_addr().unwrap();
    let mut input = Vec::new();
    for i in 1..=PUSHES {
        input.extend(support::pushgroupmsg(Some(i), 1, 2, i.into(), 30, "x"));
    }
    let (read_now, reading) = oneshot::channel::<()>();
    let peer = tokio::spawn(async move {
        let (conn, _) = server.accept().await.unwrap();
        let (mut rd, mut wr) = conn.into_split();
        let writer = tokio::spawn(async move {
            let _ = wr.write_all(&input).await;
            wr
        });
        let _ = reading.await;
        let mut got = Vec::new();
        let _ = rd.read_to_end(&mut got).await;
        writer.abort();
        got
    });

    let creds = Credentials {
        pid: 1,
        secret: b"s",
    };
    let listener = Listener::new(Config::DEFAULT, creds, 3).unwrap();
    let seen = Shared::default();
    let run = spawn(TokioDriver::new(addr.to_string(), listener), &seen);
    // Wait for the stall: no new delivery for 300 ms.
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = seen.get(|s| s.calls.len());
        if n == last && n > 0 {
            break;
        }
        last = n;
    }
    assert!(
        last < PUSHES as usize,
        "the peer's buffers took every answer: no stall to test"
    );
    let _ = read_now.send(());
    let (_driver, took) = run.shutdown().await;
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let got = tokio::time::timeout(LIMIT, peer).await.unwrap().unwrap();
    let (complete, answers) = frames(&got);
    assert_eq!(complete, got.len(), "only whole frames");
    let delivered = seen.get(|s| s.calls.len());
    assert!(delivered >= last);
    assert_eq!(answers, delivered, "every delivered push answered, once");
    assert_eq!(
        seen.get(|s| s.downs.last().copied()),
        Some((false, CloseReason::Host))
    );
}
