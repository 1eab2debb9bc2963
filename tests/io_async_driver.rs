//! The async embedded driver over an in-memory transport: an async pipe implementing
//! `embedded_io_async::{Read, Write}` whose server side answers quests with real FPNN frames
//! (written and read with rmpv, `tests/support`), a virtual clock whose sleeps advance 1 ms per
//! poll, and `embassy_futures::block_on` as the executor.

mod support;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::task::Poll as TaskPoll;

use embassy_futures::block_on;
use embedded_io_async::{ErrorType, Read, Write};
use rmpv::Value;
use rtm_listen::driver::io_async::{AsyncIoDriver, Poll, Timer};
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::listen::{Credentials, ListenIds};
use rtm_listen::session::{
    CloseReason, Config, IoError, IoKind, Listener, MessageEvent, RequestId,
};
use support::*;

/// The server's side of the pipe.
#[derive(Default)]
struct Wire {
    /// Bytes for the client to read.
    to_client: VecDeque<u8>,
    /// Everything the client wrote.
    from_client: Vec<u8>,
    /// How much of `from_client` was parsed into `frames`.
    parsed: usize,
    /// The client's frames, in order.
    frames: Vec<support::Wire>,
    /// Answer every twoway quest with the empty map at once.
    auto_answer: bool,
    /// End of stream once `to_client` is empty.
    eof: bool,
    /// At most this many bytes per write (0: no limit).
    write_max: usize,
    /// Each write is pending this many polls first.
    write_stall: usize,
    stalled: usize,
    /// Writes never complete (a peer that stopped reading).
    write_blocked: bool,
    flushes: usize,
}

impl Wire {
    /// The length of the complete frames at the start of `b`.
    fn complete(mut b: &[u8]) -> usize {
        let mut total = 0;
        while b.len() >= 12 {
            let (mtype, ss) = (b[6], b[7] as usize);
            let psize = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
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
            total += len;
            b = &b[len..];
        }
        total
    }

    /// Parses the client's newly complete frames, answering quests when asked to.
    fn serve(&mut self) {
        let n = Self::complete(&self.from_client[self.parsed..]);
        let new = parse_wire(&self.from_client[self.parsed..self.parsed + n]);
        self.parsed += n;
        for f in new {
            if let (true, support::Wire::Quest { seq: Some(seq), .. }) = (self.auto_answer, &f) {
                self.to_client.extend(ok(*seq));
            }
            self.frames.push(f);
        }
    }

    fn methods(&self) -> Vec<String> {
        self.frames
            .iter()
            .map(|f| f.method().unwrap_or("answer").to_string())
            .collect()
    }
}

/// The client's end.
#[derive(Clone, Default)]
struct Pipe(Rc<RefCell<Wire>>);

impl Pipe {
    fn answering() -> Self {
        let p = Pipe::default();
        p.0.borrow_mut().auto_answer = true;
        p.0.borrow_mut().write_max = 5;
        p
    }
    fn wire(&self) -> std::cell::RefMut<'_, Wire> {
        self.0.borrow_mut()
    }
}

impl ErrorType for Pipe {
    type Error = Infallible;
}

impl Read for Pipe {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        poll_fn(|cx| {
            let mut w = self.0.borrow_mut();
            if !w.to_client.is_empty() {
                let n = buf.len().min(w.to_client.len());
                for (b, x) in buf.iter_mut().zip(w.to_client.drain(..n)) {
                    *b = x;
                }
                TaskPoll::Ready(Ok(n))
            } else if w.eof {
                TaskPoll::Ready(Ok(0))
            } else {
                cx.waker().wake_by_ref();
                TaskPoll::Pending
            }
        })
        .await
    }
}

impl Write for Pipe {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        poll_fn(|cx| {
            let mut w = self.0.borrow_mut();
            if w.write_blocked || w.stalled < w.write_stall {
                w.stalled += 1;
                cx.waker().wake_by_ref();
                return TaskPoll::Pending;
            }
            w.stalled = 0;
            let n = match w.write_max {
                0 => buf.len(),
                max => buf.len().min(max),
            };
            w.from_client.extend_from_slice(&buf[..n]);
            w.serve();
            TaskPoll::Ready(Ok(n))
        })
        .await
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        self.0.borrow_mut().flushes += 1;
        Ok(())
    }
}

/// A virtual clock: a sleep advances it 1 ms per poll until its deadline.
#[derive(Clone, Default)]
struct FakeTimer(Rc<Cell<u64>>);

impl Timer for FakeTimer {
    fn now_ms(&mut self) -> u64 {
        self.0.get()
    }
    fn unix_ms(&mut self) -> i64 {
        UNIX_MS + self.0.get() as i64
    }
    fn sleep_until(&mut self, at_ms: u64) -> impl Future<Output = ()> {
        let now = self.0.clone();
        poll_fn(move |cx| {
            if now.get() >= at_ms {
                TaskPoll::Ready(())
            } else {
                now.set(now.get() + 1);
                cx.waker().wake_by_ref();
                TaskPoll::Pending
            }
        })
    }
}

#[derive(Default)]
struct Rec(Vec<String>);

impl Monitor for Rec {
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        self.0
            .push(format!("chat {}", String::from_utf8_lossy(m.message.msg)));
    }
    fn connected(&mut self, _: &str, ok: bool, re: bool) {
        self.0.push(format!("connected {ok} {re}"));
    }
    fn closed(&mut self, endpoint: &str, by_error: bool, _: bool) {
        self.0.push(format!("closed {endpoint} {by_error}"));
    }
    fn disconnected(&mut self, _: &str, reason: CloseReason, _: u64) {
        self.0.push(format!("disconnected {reason:?}"));
    }
    fn restored(&mut self, code: i64) {
        self.0.push(format!("restored {code}"));
    }
    fn command_done(&mut self, _: RequestId, code: i64, _: &[u8]) {
        self.0.push(format!("done {code}"));
    }
    fn ping(&mut self) {
        self.0.push("ping".into());
    }
}

const CFG: Config = Config {
    quest_timeout_ms: 500,
    ping_interval_ms: 1_000,
    ..Config::DEFAULT
};

type Driver = AsyncIoDriver<'static, Pipe, FakeTimer>;

/// A driver over `pipe` listening to gid 2 and logins, its clock and its monitor.
fn start(pipe: &Pipe) -> (Driver, FakeTimer, Rec) {
    let creds = Credentials {
        pid: PID,
        secret: SECRET,
    };
    let mut listener = Listener::new(CFG, creds, 9).unwrap();
    let ids = ListenIds {
        gids: &[2],
        events: &["login"],
        ..Default::default()
    };
    listener.add_listen(0, &ids).unwrap();
    let timer = FakeTimer::default();
    let d = AsyncIoDriver::new(listener, pipe.clone(), timer.clone(), "pipe0");
    (d, timer, Rec::default())
}

/// Polls until `mon` holds `line`, at most 20 rounds; each round must stay connected.
fn poll_until(d: &mut Driver, mon: &mut Rec, line: &str) {
    for _ in 0..20 {
        if mon.0.iter().any(|l| l == line) {
            return;
        }
        assert_eq!(block_on(d.poll(mon)), Poll::Connected, "{:?}", mon.0);
    }
    panic!("no {line:?} in {:?}", mon.0);
}

#[test]
fn the_first_frame_is_the_listen_quest_then_a_push_is_delivered_and_answered() {
    let pipe = Pipe::answering();
    // Every write is pending twice first: writes race the deadline and must still go out.
    pipe.wire().write_stall = 2;
    let (mut d, timer, mut mon) = start(&pipe);
    poll_until(&mut d, &mut mon, "restored 0");
    assert_eq!(mon.0, ["connected true false", "done 0", "restored 0"]);
    {
        let w = pipe.wire();
        // Nothing was confirmed on a new connection: the desired state goes out whole, and
        // it is the first frame.
        assert_eq!(w.methods(), ["setlisten"]);
        let gids = w.frames[0].get("gids").and_then(Value::as_array).unwrap();
        assert_eq!(gids, &[Value::from(2)]);
        let events = w.frames[0].get("events").and_then(Value::as_array).unwrap();
        assert_eq!(events, &[Value::from("login")]);
        assert!(w.flushes > 0, "flushed after writing");
    }
    // The answer came before any deadline: the read won the race, no time was slept away.
    assert!(timer.0.get() < 50, "{} ms", timer.0.get());

    pipe.wire()
        .to_client
        .extend(pushgroupmsg(Some(77), 1, 2, 3, 30, "hello"));
    // The same push again (a duplicate): answered, not delivered.
    pipe.wire()
        .to_client
        .extend(pushgroupmsg(Some(78), 1, 2, 3, 30, "hello"));
    poll_until(&mut d, &mut mon, "chat hello");
    assert_eq!(block_on(d.poll(&mut mon)), Poll::Connected);
    let w = pipe.wire();
    let answers: Vec<_> = w
        .frames
        .iter()
        .filter_map(|f| match f {
            support::Wire::Answer { seq, status, .. } => Some((*seq, *status)),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [(77, 0), (78, 0)]);
    assert_eq!(mon.0.iter().filter(|l| *l == "chat hello").count(), 1);
    assert_eq!(d.listener().stats().duplicates, 1);
}

#[test]
fn a_deadline_fires_while_no_bytes_arrive_keepalive_then_dead_link() {
    let pipe = Pipe::answering();
    let (mut d, timer, mut mon) = start(&pipe);
    poll_until(&mut d, &mut mon, "restored 0");
    let last_rx = timer.0.get();
    // No bytes: the poll sleeps until the keepalive deadline and sends `*ping`.
    assert_eq!(block_on(d.poll(&mut mon)), Poll::Connected);
    let slept = timer.0.get() - last_rx;
    assert!(
        (CFG.ping_interval_ms..CFG.ping_interval_ms + 10).contains(&slept),
        "woke after {slept} ms"
    );
    assert_eq!(pipe.wire().methods(), ["setlisten", "*ping"]);
    // Its answer (at once, from the server) counts as received; then the server goes silent.
    assert_eq!(block_on(d.poll(&mut mon)), Poll::Connected);
    let last_rx = timer.0.get();
    pipe.wire().auto_answer = false;
    let mut rounds = 0;
    while block_on(d.poll(&mut mon)) == Poll::Connected {
        rounds += 1;
        assert!(rounds < 20, "{:?}", mon.0);
    }
    // Dead after 3 × quest timeout + ping interval of silence, more pings sent meanwhile.
    let silent = timer.0.get() - last_rx;
    assert!(
        (CFG.dead_after_ms()..CFG.dead_after_ms() + 10).contains(&silent),
        "closed after {silent} ms"
    );
    assert!(
        pipe.wire()
            .methods()
            .iter()
            .filter(|m| *m == "*ping")
            .count()
            >= 2
    );
    assert_eq!(
        mon.0[mon.0.len() - 2..],
        ["closed pipe0 true", "disconnected DeadLink"]
    );
}

#[test]
fn a_peer_that_stops_reading_cannot_stop_the_dead_link_close() {
    let pipe = Pipe::answering();
    let (mut d, timer, mut mon) = start(&pipe);
    poll_until(&mut d, &mut mon, "restored 0");
    let last_rx = timer.0.get();
    // Writes never complete and nothing arrives: the `*ping` write waits, the deadline wins.
    pipe.wire().write_blocked = true;
    let mut rounds = 0;
    while block_on(d.poll(&mut mon)) == Poll::Connected {
        rounds += 1;
        assert!(rounds < 20, "{:?}", mon.0);
    }
    let silent = timer.0.get() - last_rx;
    assert!(
        (CFG.dead_after_ms()..CFG.dead_after_ms() + 10).contains(&silent),
        "closed after {silent} ms"
    );
    assert_eq!(
        mon.0.last().map(String::as_str),
        Some("disconnected DeadLink")
    );
}

#[test]
fn a_close_reports_closed_and_reconnected_restores_the_listens() {
    let pipe = Pipe::answering();
    let (mut d, timer, mut mon) = start(&pipe);
    poll_until(&mut d, &mut mon, "restored 0");
    // End of stream: closed by the peer, not an error.
    pipe.wire().eof = true;
    assert_eq!(block_on(d.poll(&mut mon)), Poll::Closed);
    assert_eq!(
        mon.0[mon.0.len() - 2..],
        ["closed pipe0 false", "disconnected PeerClosed"]
    );
    assert!(!d.is_connected());
    // While disconnected, poll returns at once.
    let t = timer.0.get();
    assert_eq!(block_on(d.poll(&mut mon)), Poll::Closed);
    assert_eq!(timer.0.get(), t);
    // The closed transport comes back to the host.
    assert!(d.take_transport().is_some());
    assert!(d.take_transport().is_none());

    // Failed attempts: reported, and after the immediate ones the back-off makes
    // wait_reconnect sleep until the advice.
    let mut at = 0;
    for _ in 0..10 {
        block_on(d.wait_reconnect(&mut mon));
        d.connect_failed(CloseReason::Io(IoError {
            kind: IoKind::ConnectionRefused,
            errno: 111,
        }));
        at = d.reconnect_at().expect("advice");
        if at > timer.0.get() {
            break;
        }
    }
    let from = timer.0.get();
    assert!(at >= from + CFG.backoff.first_ms, "{at} {from}");
    block_on(d.wait_reconnect(&mut mon));
    assert_eq!(timer.0.get(), at, "waited exactly until the advice");
    assert!(
        mon.0.iter().any(|l| l == "connected false true"),
        "{:?}",
        mon.0
    );
    assert!(
        mon.0.last().unwrap().contains("ConnectionRefused"),
        "{:?}",
        mon.0
    );

    // A new transport: the desired state is established again on it, first thing.
    let again = Pipe::answering();
    d.reconnected(again.clone());
    assert!(d.is_connected());
    let before = mon.0.len();
    poll_until(&mut d, &mut mon, "connected true true");
    for _ in 0..20 {
        if mon.0[before..].iter().any(|l| l == "restored 0") {
            break;
        }
        assert_eq!(block_on(d.poll(&mut mon)), Poll::Connected);
    }
    assert!(
        mon.0[before..].iter().any(|l| l == "restored 0"),
        "{:?}",
        mon.0
    );
    let w = again.wire();
    assert_eq!(w.methods(), ["setlisten"]);
    let gids = w.frames[0].get("gids").and_then(Value::as_array).unwrap();
    assert_eq!(gids, &[Value::from(2)]);
    assert!(d.listener().in_sync());
}

#[test]
fn close_flushes_what_is_queued_then_reports_a_host_close() {
    let pipe = Pipe::answering();
    let (mut d, timer, mut mon) = start(&pipe);
    poll_until(&mut d, &mut mon, "restored 0");
    // A command queues a listen quest; close before any poll writes it.
    let now = d.now_ms();
    let ids = ListenIds {
        gids: &[9],
        ..Default::default()
    };
    d.listener().add_listen(now, &ids).unwrap();
    pipe.wire().write_stall = 1;
    let t = block_on(d.close(&mut mon, 1_000));
    assert!(t.is_some(), "the transport comes back");
    {
        let w = pipe.wire();
        assert_eq!(w.methods(), ["setlisten", "setlisten"]);
        let gids = w.frames[1].get("gids").and_then(Value::as_array).unwrap();
        assert_eq!(gids, &[Value::from(2), Value::from(9)]);
    }
    assert!(
        timer.0.get() - now < 100,
        "no waiting when writes go through"
    );
    assert_eq!(
        mon.0[mon.0.len() - 2..],
        ["closed pipe0 false", "disconnected Host"]
    );
    assert!(!d.listener().is_connected());
    assert_eq!(block_on(d.poll(&mut mon)), Poll::Closed);

    // A transport that takes nothing: close gives up after its time limit.
    let stuck = Pipe::answering();
    d.reconnected(stuck.clone());
    stuck.wire().write_blocked = true;
    let now = d.now_ms();
    assert!(block_on(d.close(&mut mon, 300)).is_some());
    assert_eq!(timer.0.get() - now, 300);
    assert!(stuck.wire().frames.is_empty());
    assert_eq!(mon.0.last().map(String::as_str), Some("disconnected Host"));
}

#[test]
fn without_flush_the_transport_is_never_flushed() {
    let pipe = Pipe::answering();
    let (d, _timer, mut mon) = start(&pipe);
    let mut d = d.with_flush(false);
    poll_until(&mut d, &mut mon, "restored 0");
    assert_eq!(pipe.wire().methods(), ["setlisten"]);
    assert_eq!(pipe.wire().flushes, 0);
}
