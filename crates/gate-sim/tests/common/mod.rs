//! A minimal hand-rolled RTM listener client for driving the gate in tests: std `TcpStream`,
//! frames built with `rtm_listen::rtm::listen` and reassembled with `FrameReader`, payloads
//! decoded with rmpv.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rtm_gate_sim::rmpv::{self, Value};
use rtm_listen::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen, build_ping,
    build_set_flags,
};
use rtm_listen::wire::frame::{EmptyMap, Frame, Payload, build_answer, build_quest};
use rtm_listen::wire::frame_reader::FrameReader;
use rtm_listen::wire::msgpack::{Sink, Writer};

/// A generous upper bound for anything the gate should do promptly.
pub const WAIT: Duration = Duration::from_secs(3);

/// An already-encoded msgpack payload.
pub struct Raw<'a>(pub &'a [u8]);

impl Payload for Raw<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.raw(self.0);
    }
}

/// A frame received from the gate, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    Quest {
        seq: Option<u32>,
        method: String,
        payload: Value,
    },
    Answer {
        seq: u32,
        status: u8,
        payload: Value,
    },
}

pub fn decode(payload: &[u8]) -> Value {
    if payload.is_empty() {
        return Value::Map(vec![]);
    }
    rmpv::decode::read_value(&mut &payload[..]).expect("valid msgpack from the gate")
}

/// The value of `key` in a map value.
pub fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

pub fn now_s() -> i64 {
    rtm_gate_sim::unix_ms() / 1000
}

pub struct Client {
    pub stream: TcpStream,
    /// Bytes received and not yet part of a complete frame.
    pending: Vec<u8>,
    pub pid: u32,
    pub secret: String,
    pub seq: u32,
    pub salt: i64,
    /// Frames read but not yet taken.
    queue: VecDeque<Got>,
    /// Successful socket reads so far.
    pub reads: usize,
    pub eof: bool,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let c = rtm_gate_sim::GateConfig::default();
        Self::with_creds(addr, c.pid, &c.secret)
    }

    pub fn with_creds(addr: SocketAddr, pid: u32, secret: &str) -> Client {
        let stream = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Client {
            stream,
            pending: Vec::new(),
            pid,
            secret: secret.to_owned(),
            seq: 0,
            salt: 1_700_000_000_000_000,
            queue: VecDeque::new(),
            reads: 0,
            eof: false,
        }
    }

    pub fn creds(&self) -> Credentials<'_> {
        Credentials {
            pid: self.pid,
            secret: self.secret.as_bytes(),
        }
    }

    pub fn next_ids(&mut self) -> QuestIds {
        self.seq += 1;
        self.salt += 1;
        QuestIds {
            seq: self.seq,
            salt: self.salt,
            ts: now_s(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the gate");
    }

    /// Sends an id listen quest; returns its seq.
    pub fn listen(
        &mut self,
        op: ListenOp,
        gids: &[i64],
        rids: &[i64],
        uids: &[i64],
        events: &[&str],
    ) -> u32 {
        let (seq, frame) = self.listen_frame(op, gids, rids, uids, events);
        self.send(&frame);
        seq
    }

    /// Builds (without sending) an id listen quest with the next seq and salt; returns its seq
    /// and the frame. Several frames can then be sent in one write (pipelined).
    pub fn listen_frame(
        &mut self,
        op: ListenOp,
        gids: &[i64],
        rids: &[i64],
        uids: &[i64],
        events: &[&str],
    ) -> (u32, Vec<u8>) {
        let q = self.next_ids();
        let mut buf = vec![0u8; 4096];
        let ids = ListenIds {
            gids,
            rids,
            uids,
            events,
        };
        let n = build_listen(&mut buf, &self.creds(), q, op, &ids).unwrap();
        buf.truncate(n);
        (q.seq, buf)
    }

    /// Sends the flag form of setlisten; returns its seq.
    pub fn set_flags(&mut self, flags: ListenFlags) -> u32 {
        let q = self.next_ids();
        let mut buf = vec![0u8; 4096];
        let n = build_set_flags(&mut buf, &self.creds(), q, flags).unwrap();
        self.send(&buf[..n]);
        q.seq
    }

    pub fn ping(&mut self) -> u32 {
        self.seq += 1;
        let mut buf = [0u8; 64];
        let n = build_ping(&mut buf, self.seq).unwrap();
        self.send(&buf[..n]);
        self.seq
    }

    /// Sends a quest with an arbitrary payload value (twoway when `seq` is given).
    pub fn quest_value(&mut self, seq: Option<u32>, method: &str, payload: &Value) {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, payload).unwrap();
        let mut buf = vec![0u8; bytes.len() + 300];
        let n = build_quest(&mut buf, seq, method, &Raw(&bytes)).unwrap();
        self.send(&buf[..n]);
    }

    /// The auth keys for `method`, signed with this client's credentials.
    pub fn auth_pairs(&mut self, method: &str) -> Vec<(Value, Value)> {
        self.salt += 1;
        let ts = now_s();
        let sign =
            rtm_listen::rtm::sign::sign(self.pid, self.secret.as_bytes(), self.salt, method, ts);
        vec![
            ("pid".into(), i64::from(self.pid).into()),
            ("sign".into(), std::str::from_utf8(&sign).unwrap().into()),
            ("salt".into(), self.salt.into()),
            ("ts".into(), ts.into()),
        ]
    }

    pub fn answer_ok(&mut self, seq: u32) {
        let mut buf = [0u8; 32];
        let n = build_answer(&mut buf, seq, 0, &EmptyMap).unwrap();
        self.send(&buf[..n]);
    }

    /// Reads once from the socket and queues every complete frame. Returns false on EOF or a
    /// socket error.
    ///
    /// Reassembly is the engine's `FrameReader`, fed the bytes left over plus the new read (a
    /// fresh reader per read keeps this independent of the reader's buffer type).
    fn pump(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                return false;
            }
            Ok(n) => {
                self.pending.extend_from_slice(&chunk[..n]);
                self.reads += 1;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return true;
            }
            Err(_) => {
                self.eof = true;
                return false;
            }
        }
        let mut storage = vec![0u8; self.pending.len().max(1 << 16)];
        let mut reader = FrameReader::new(&mut storage[..], 1 << 20);
        assert_eq!(reader.feed(&self.pending), self.pending.len());
        while let Some(f) = reader
            .next_frame()
            .expect("well-formed frames from the gate")
        {
            self.queue.push_back(match f {
                Frame::Quest {
                    seq,
                    method,
                    payload,
                } => Got::Quest {
                    seq,
                    method: String::from_utf8(method.to_vec()).unwrap(),
                    payload: decode(payload),
                },
                Frame::Answer {
                    seq,
                    status,
                    payload,
                } => Got::Answer {
                    seq,
                    status,
                    payload: decode(payload),
                },
            });
        }
        let left = reader.buffered();
        self.pending.drain(..self.pending.len() - left);
        true
    }

    /// The next frame within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<Got> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(g) = self.queue.pop_front() {
                return Some(g);
            }
            if Instant::now() >= end || !self.pump() {
                return self.queue.pop_front();
            }
        }
    }

    /// The answer to `seq` (other frames stay queued).
    pub fn answer_to(&mut self, seq: u32, timeout: Duration) -> Option<(u8, Value)> {
        let end = Instant::now() + timeout;
        loop {
            let pos = self
                .queue
                .iter()
                .position(|g| matches!(g, Got::Answer { seq: s, .. } if *s == seq));
            if let Some(i) = pos {
                let Some(Got::Answer {
                    status, payload, ..
                }) = self.queue.remove(i)
                else {
                    unreachable!()
                };
                return Some((status, payload));
            }
            if Instant::now() >= end || !self.pump() {
                return None;
            }
        }
    }

    /// Sends a listen quest and asserts an OK answer.
    pub fn listen_ok(
        &mut self,
        op: ListenOp,
        gids: &[i64],
        rids: &[i64],
        uids: &[i64],
        events: &[&str],
    ) {
        let seq = self.listen(op, gids, rids, uids, events);
        let (status, payload) = self.answer_to(seq, WAIT).expect("answer to a listen quest");
        assert_eq!((status, payload), (0, Value::Map(vec![])));
    }

    /// The next push quest (answers are skipped).
    pub fn push(&mut self, timeout: Duration) -> Option<(Option<u32>, String, Value)> {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.recv(left)? {
                Got::Quest {
                    seq,
                    method,
                    payload,
                } => return Some((seq, method, payload)),
                Got::Answer { .. } => continue,
            }
        }
    }

    /// Reads until EOF; true if it came within `timeout`.
    pub fn wait_eof(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if !self.pump() {
                return true;
            }
        }
        false
    }

    /// Bytes received but not part of a complete frame.
    pub fn partial_bytes(&self) -> usize {
        self.pending.len()
    }
}

/// A well-behaved demo client: listens to the demo's ids, answers every twoway push, and after
/// each disconnect reconnects and listens again. Stops after the three post-reconnect chats
/// (or 15 s). With `answer_oneway` it also (wrongly) answers oneway pushes, with seq 0.
/// Returns every push received as (connection index, seq, method, payload).
pub fn demo_client(
    addr: SocketAddr,
    answer_oneway: bool,
) -> Vec<(usize, Option<u32>, String, Value)> {
    use rtm_gate_sim::demo::{GID, RID, UID};
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut got = Vec::new();
    let mut index = 0;
    'outer: while Instant::now() < deadline {
        let mut c = Client::connect(addr);
        c.listen_ok(ListenOp::Add, &[GID], &[RID], &[UID], &["login"]);
        while Instant::now() < deadline {
            match c.push(Duration::from_millis(100)) {
                Some((seq, method, payload)) => {
                    match seq {
                        Some(s) => c.answer_ok(s),
                        None if answer_oneway => c.answer_ok(0),
                        None => {}
                    }
                    got.push((index, seq, method, payload));
                    if got.iter().filter(|g| g.0 > 0).count() == 3 {
                        // Give the gate a moment to read the last answer before closing.
                        std::thread::sleep(Duration::from_millis(50));
                        break 'outer;
                    }
                }
                None if c.eof => break,
                None => {}
            }
        }
        index += 1;
    }
    got
}
