//! # rtm-gate-sim
//!
//! A local RTM gate simulator: a real std TCP server on the loopback interface that speaks
//! FPNN/RTM the way the RTM gateway does towards a server-side listener. It is the test and demo
//! peer of `rtm-listen`:
//!
//! - it authenticates every quest (pid/sign/salt/ts, reference §5), tracks each connection's
//!   listen state from `addlisten` / `removelisten` / `setlisten` (§6), answers `*ping` (§3.1);
//! - it sends pushes of every kind (§7) to the connections whose listen state matches, and
//!   records the client's answers, the unanswered pushes and any protocol violation;
//! - it injects faults at run time: mid-frame disconnects, closed connections, slow or withheld
//!   answers, writes split into tiny segments, refused signatures.
//!
//! Payloads are decoded and encoded with `rmpv`, a msgpack implementation independent of the
//! engine's; id lists must arrive as msgpack **arrays** (a map, the Go SDK's bug, is answered
//! with 200034 INVALID_PARAMETER and recorded as a [`Violation`]). Frames are parsed with the
//! engine's `parse_frame` and written by the simulator's own builder.
//!
//! ```no_run
//! use std::time::Duration;
//! use rtm_gate_sim::{Gate, GateConfig, Push, Target};
//!
//! let gate = Gate::start(GateConfig::default())?;
//! println!("listening on {}", gate.addr());
//! // … connect the engine, let it `addlisten` uid 1001 …
//! assert!(gate.wait_listen(|s| s.uids.contains(&1001), Duration::from_secs(5)));
//! assert_eq!(gate.push(Push::chat(Target::P2p(1001), 1002, 1, "hi")), 1);
//! assert!(gate.wait_answers(1, Duration::from_secs(5)));
//! assert!(gate.unanswered().is_empty() && gate.stray_answers().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Quest handling
//!
//! A connection's quests are handled one after another in arrival order, unless
//! [`Gate::set_reverse_pipelined`] is on: then the first quest opens a batch, every further
//! quest completed on the same connection within the window joins it, and the batch is handled
//! **last to first** (applied, recorded and answered in reverse arrival order), the way the
//! C++ server's worker pool may reorder pipelined quests. Answers from the client are handled
//! as soon as they arrive either way. [`Gate::quests`] lists quests in the order they were
//! handled; [`QuestRecord::arrival`] and [`QuestRecord::batch_len`] show the arrival order
//! and the batches.
//!
//! In order, for every quest from a client:
//!
//! 1. answers withheld ([`Gate::set_withhold_answers`]) → recorded as [`Outcome::Withheld`],
//!    neither applied nor answered; otherwise the answer delay is slept first;
//! 2. `*ping` → `{ts: <unix ms>}`; any other `*` method → 20004;
//! 3. auth: a missing `pid`/`sign`/`salt`/`ts` → 10009, a wrongly typed one → 10010; a wrong pid
//!    or sign (or [`Gate::set_reject_sign`]) → `{code: 200002, ex: "invalid pid or sign"}`; a
//!    (pid, sign, salt, ts) already accepted on this connection → `{code: 200006, ex: "same sign"}`;
//! 4. `addlisten` / `removelisten` / `setlisten` → parameters checked (id lists must be arrays
//!    of int64, `events` an array of strings, flags bools; otherwise 200034 and a
//!    [`Violation`]), applied (see [`ListenState`]), answered with the empty map; any other
//!    method → 20004 `Unknown method:NAME`.
//!
//! Error answers have status 1 and `{code, ex}`. Oneway quests are processed the same way and
//! never answered. Every quest is recorded as a [`QuestRecord`]. A frame that cannot be parsed,
//! a payload that is not exactly one msgpack map, or an answer with an empty payload is
//! recorded as a [`MalformedRecord`] and closes that connection, like the C++ server.
//!
//! ## Pushes
//!
//! [`Gate::push`] sends to every live connection whose state matches (on an encrypting gate,
//! only to connections that sent their first frame; P2P: `to` in `uids` or
//! `p2p`; group: `gid` in `gids` or `group`; room: `rid` in `rids` or `room`; event: name in
//! `events` or `ev`; ping, kickout, kickoutroom, broadcast and raw pushes: every connection).
//! Twoway pushes take seqs from one gate-wide counter starting at 1, so a seq names one push
//! on one connection; each is pending until the client answers it. Pushing the same spec
//! twice sends the same mid twice (see also [`Gate::push_duplicate_of_last`]).
//!
//! Frames of any size are written whole (the gate's own 8 MiB limit,
//! `DEFAULT_MAX_FRAME`, applies only to what it reads), e.g. a 9 MiB
//! [`Push::chat_of_len`]. [`Gate::push`] returns once every frame is written, so with a
//! frame bigger than the socket buffers the client must read meanwhile on another thread;
//! [`Gate::push_in_background`] writes on a thread of its own, for a client driven on the
//! caller's thread. A push write that fails (the client closed, or read nothing for 2 s)
//! closes the connection (the frame may have been cut), which stops being live at once. An error answer from the client (status 1,
//! `{code, ex}`, e.g. to a push too big for it) is an [`AnswerRecord`] like any other answer
//! ([`AnswerRecord::code`]; [`Gate::answer_for_seq`], [`Gate::answers_for_mid`]).
//!
//! ## The demo script
//!
//! [`demo::run`] (the binary's `--script demo`) is deterministic; the ids are in [`demo`]:
//!
//! 1. wait up to 10 s for a live connection that would receive P2P messages to uid 1001,
//!    group messages to gid 2001, room messages to rid 3001 and `login` events (ids or flags);
//! 2. push, in this order, every message from uid 1002 with mtime 1 700 000 000 000:
//!    - P2P to 1001: chat mid 101 `"hello p2p"`, audio mid 102 (bin `01 02 03 04`), cmd
//!      mid 103 `"cmd p2p"`, file mid 104 (mtype 41, audio: url `http://127.0.0.1/f/104.amr`,
//!      size 1024, lang `en`, duration 3000, custom `{"k":"v"}`), message mid 105 (mtype 1,
//!      `"message p2p"`);
//!    - group 2001: mids 201-205, the same kinds (`"hello group"`, …), the file an image
//!      (mtype 40, url `http://127.0.0.1/f/204.png`, size 2048, surl `http://127.0.0.1/f/204s.png`);
//!    - room 3001: mids 301-305 (`"hello room"`, …), the file a generic file (mtype 50, url
//!      `http://127.0.0.1/f/304.bin`, size 4096);
//!    - `pushevent` login, uid 1001, pid = the gate's, time 1 700 000 000, endpoint
//!      `127.0.0.1:40000`, data `"demo"`;
//!    - RTM `ping`;
//!    - a duplicate of the P2P chat mid 101 (same payload, new seq);
//!    - a **oneway** group chat to 2001, mid 901, `"oneway"`;
//!
//!    that is 19 pushes per matching connection, 18 of them twoway;
//! 3. wait for every twoway push to be answered (status 0 required);
//! 4. [`Gate::drop_connections_mid_frame`];
//! 5. wait for a new connection whose listen state matches as in step 1 (restored listens);
//! 6. push a chat to each target: P2P mid 106 `"after reconnect"`, group mid 206, room mid 306;
//! 7. wait for their answers; fail if any answer was an error or any answer matched no push
//!    (e.g. an answer to the oneway push);
//! 8. report `SCRIPT OK pushes=22 answered=21 reconnects=1` (with one listening connection
//!    each time; reconnects counts connections accepted after the drop).
//!
//! Any timeout (the whole script is capped at 20 s) ends it with `SCRIPT FAIL <reason>`.
//!
//! ## Encryption
//!
//! With [`GateConfig::encryption`] set to a [`ServerKey`] (a curve — secp256k1, secp256r1,
//! secp224r1 or secp192r1 — and a private key, from hex, raw bytes, PEM or DER), the gate
//! speaks FPNN encryption like the official C++ server (reference §4; the server's recorded
//! answers in `fpnn-gate/README.md`):
//!
//! - when a connection's **first** frame is the plaintext twoway quest `*key {publicKey: str or
//!   bin X||Y, streamMode: bool = false, bits: 128|256 = 128}`, the gate derives the shared
//!   secret (the X coordinate of the ECDH point), the AES key (128: the secret's first 16
//!   bytes; 256: the secret if 32 bytes, else its SHA-256) and IV = MD5(secret), and answers
//!   the empty map already encrypted with AES-CFB-128;
//! - from then on everything is decrypted on reading and encrypted on writing, at the
//!   connection's I/O layer, so quests, pushes, answers, faults and the demo script work
//!   unchanged: **stream mode** is one continuous CFB stream per direction; **package mode**
//!   is a u32 LE length prefix + the frame encrypted with CFB restarted from the IV, one frame
//!   per package (a package holding anything else, or longer than 8 MiB, closes the
//!   connection as a [`MalformedRecord`]);
//! - a bad `*key` closes the connection without an answer, as the C++ server does: a
//!   `publicKey` of the wrong length, `bits` other than 128/256, `*key` not first, a oneway
//!   `*key`, no server key configured. One difference: a `publicKey` of the right length that
//!   is not a point on the curve also closes (the C++ server's micro-ecc computes on it and
//!   answers with keys the client cannot match);
//! - every `*key` is recorded as a [`KeyExchangeRecord`] ([`Gate::key_exchanges`]), not in
//!   [`Gate::quests`]; [`Gate::set_key_error`] answers `*key` with an error instead;
//! - plaintext connections are still served (the C++ default), unless
//!   [`GateConfig::force_encrypt`]: then a plaintext user (non-`*`) quest closes the
//!   connection;
//! - while a connection of an encrypting gate has sent nothing yet, pushes skip it (its first
//!   frame decides whether it encrypts), [`Gate::drop_connections_mid_frame`] just closes it.
//!
//! The crypto is RustCrypto's (`elliptic-curve` ECDH on `k256`/`p256`/`p224`/`p192`,
//! `cfb-mode` over `aes`, `sha2`, `md-5`), used directly rather than through the engine.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conn;
pub mod demo;
pub mod encryption;
mod listen;
mod push;
mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use conn::{
    CODE_INVALID_PARAMETER, CODE_INVALID_PID_OR_SIGN, CODE_KEY_NOT_FOUND, CODE_SAME_SIGN,
    CODE_TYPE_CONVERT, CODE_UNKNOWN_METHOD,
};
pub use encryption::{Curve, EncryptionMode, KeyError, ServerKey};
pub use listen::ListenState;
pub use push::{
    Body, Event, FileSpec, MTYPE_AUDIO, MTYPE_AUDIO_FILE, MTYPE_CHAT, MTYPE_CMD, MTYPE_FILE,
    MTYPE_IMAGE, MTYPE_VIDEO, Message, Push, Target, filler_text, json_str, unix_ms,
};
pub use record::{
    AnswerRecord, KeyExchangeOutcome, KeyExchangeRecord, MalformedRecord, Outcome, PendingPush,
    QuestRecord, SentPush, StrayAnswer, StrayKind, Violation,
};
pub use rmpv;

use conn::ConnIo;

/// Locks a mutex, ignoring poisoning (a panicking test thread must not wedge the gate).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The gate's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateConfig {
    /// The project id quests must carry.
    pub pid: u32,
    /// The project secret signatures are checked with.
    pub secret: String,
    /// The loopback port to bind; 0 (the default) picks a free one.
    pub port: u16,
    /// FPNN encryption: the server's curve and private key (`None`, the default: no
    /// encryption; a `*key` quest then closes the connection, as on a C++ server without
    /// `ecdh` configured). See the crate docs' *Encryption* section.
    pub encryption: Option<ServerKey>,
    /// Refuse user (non-`*`) quests on connections that did not do the key exchange: they
    /// close the connection unanswered and are recorded as a [`MalformedRecord`] (the C++
    /// server's `forceEncrypt.userMethods`). `*ping` stays allowed. Default false: plaintext
    /// clients are served as usual.
    pub force_encrypt: bool,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            pid: 1_000_001,
            secret: "sim-secret".to_owned(),
            port: 0,
            encryption: None,
            force_encrypt: false,
        }
    }
}

/// Run-time fault settings.
#[derive(Debug, Default)]
struct Faults {
    answer_delay_us: AtomicU64,
    withhold: AtomicBool,
    /// 0 = no segmenting.
    segment: AtomicUsize,
    reject_sign: AtomicBool,
    /// The reverse pipelining window; `None`: off.
    reverse_window: Mutex<Option<Duration>>,
    /// The error code `*key` is answered with; `None`: the key exchange is performed.
    key_error: Mutex<Option<i64>>,
}

impl Faults {
    fn answer_delay(&self) -> Duration {
        Duration::from_micros(self.answer_delay_us.load(Ordering::SeqCst))
    }
    fn withhold(&self) -> bool {
        self.withhold.load(Ordering::SeqCst)
    }
    fn segment(&self) -> Option<usize> {
        match self.segment.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }
    fn reject_sign(&self) -> bool {
        self.reject_sign.load(Ordering::SeqCst)
    }
    pub(crate) fn reverse_window(&self) -> Option<Duration> {
        *lock(&self.reverse_window)
    }
    pub(crate) fn key_error(&self) -> Option<i64> {
        *lock(&self.key_error)
    }
}

/// A live connection.
#[derive(Debug)]
struct ConnEntry {
    io: Arc<ConnIo>,
    listen: ListenState,
}

#[derive(Debug, Default)]
struct State {
    conns: BTreeMap<u64, ConnEntry>,
    accepted: u64,
    threads: Vec<JoinHandle<()>>,
    quests: Vec<QuestRecord>,
    answers: Vec<AnswerRecord>,
    stray: Vec<StrayAnswer>,
    pending: BTreeMap<u32, PendingPush>,
    answered: BTreeSet<(u64, u32)>,
    sent: Vec<SentPush>,
    malformed: Vec<MalformedRecord>,
    violations: Vec<Violation>,
    key_exchanges: Vec<KeyExchangeRecord>,
    last_push: Option<Push>,
}

/// State shared by the gate handle and its threads.
#[derive(Debug)]
pub(crate) struct Shared {
    config: GateConfig,
    stop: AtomicBool,
    seq: AtomicU32,
    faults: Faults,
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Runs `f` on the state and wakes every waiter.
    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut lock(&self.state));
        self.changed.notify_all();
        r
    }

    fn remove_conn(&self, id: u64) {
        self.with_state(|st| st.conns.remove(&id));
    }

    /// Chooses the connections for `push`, gives each twoway copy a seq and registers it as
    /// pending (before writing: the answer may beat the write's return).
    fn prepare(&self, push: Push, select: impl Fn(u64, &ListenState, &Push) -> bool) -> Prepared {
        let method = push.method().to_owned();
        let value = push.payload(self.config.pid);
        let payload = conn::encode(&value);
        let oneway = push.is_oneway();
        let targets = self.with_state(|st| {
            st.last_push = Some(push.clone());
            let picked: Vec<(u64, Arc<ConnIo>)> = st
                .conns
                .iter()
                .filter(|(id, c)| c.io.is_ready() && select(**id, &c.listen, &push))
                .map(|(id, c)| (*id, Arc::clone(&c.io)))
                .collect();
            picked
                .into_iter()
                .map(|(id, io)| {
                    let seq = (!oneway).then(|| self.next_seq());
                    if let Some(seq) = seq {
                        st.pending.insert(
                            seq,
                            PendingPush {
                                conn: id,
                                seq,
                                method: method.clone(),
                                sent_at: Instant::now(),
                            },
                        );
                    }
                    (id, io, seq)
                })
                .collect()
        });
        Prepared {
            method,
            value,
            payload,
            targets,
        }
    }

    fn next_seq(&self) -> u32 {
        loop {
            let s = self.seq.fetch_add(1, Ordering::SeqCst);
            if s != 0 {
                return s;
            }
        }
    }
}

/// A push ready to be written: its encoding and its connections, each with its seq.
struct Prepared {
    method: String,
    value: rmpv::Value,
    payload: Vec<u8>,
    targets: Vec<(u64, Arc<ConnIo>, Option<u32>)>,
}

impl Prepared {
    /// Writes the frame to every target and records it; returns how many were written whole.
    fn write(self, shared: &Shared) -> usize {
        let segment = shared.faults.segment();
        let mut sent = 0;
        for (id, io, seq) in self.targets {
            let frame = conn::quest_frame(seq, &self.method, &self.payload);
            let ok = io.write(&frame, segment).is_ok();
            shared.with_state(|st| {
                if ok {
                    st.sent.push(SentPush {
                        conn: id,
                        seq,
                        method: self.method.clone(),
                        payload: self.value.clone(),
                        truncated: false,
                    });
                } else {
                    // The write closed the connection: no longer live from now on.
                    st.conns.remove(&id);
                    if let Some(seq) = seq {
                        st.pending.remove(&seq);
                    }
                }
            });
            sent += usize::from(ok);
        }
        sent
    }
}

/// A push being written by [`Gate::push_in_background`].
#[derive(Debug)]
pub struct PushJob {
    done: mpsc::Receiver<usize>,
    targets: Vec<(u64, Option<u32>)>,
}

impl PushJob {
    /// The connections the push goes to, by id, each with the seq of its copy (`None` when
    /// oneway). Known at once: a test can wait for the answer to a seq while the frame is
    /// still being written.
    pub fn targets(&self) -> &[(u64, Option<u32>)] {
        &self.targets
    }

    /// Waits until every write ended; returns how many connections got the whole frame (what
    /// [`Gate::push`] returns).
    pub fn wait(self) -> usize {
        self.done.recv().unwrap_or(0)
    }

    /// Like [`PushJob::wait`], giving up after `timeout` (`None`: still writing).
    pub fn wait_timeout(&self, timeout: Duration) -> Option<usize> {
        self.done.recv_timeout(timeout).ok()
    }
}

/// The simulator: a listening socket on 127.0.0.1 with one thread per connection.
///
/// Dropping it stops every thread, closes every connection and the listening socket.
#[derive(Debug)]
pub struct Gate {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Gate {
    /// Binds `127.0.0.1:<config.port>` and starts accepting connections.
    pub fn start(config: GateConfig) -> io::Result<Gate> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            stop: AtomicBool::new(false),
            seq: AtomicU32::new(1),
            faults: Faults::default(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("gate-accept".into())
            .spawn(move || accept_loop(&s, listener))?;
        Ok(Gate {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The configuration the gate runs with.
    pub fn config(&self) -> &GateConfig {
        &self.shared.config
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Sends `push` to every live connection whose listen state matches; returns how many
    /// connections it was written to. Returns once the frames are written: for a frame bigger
    /// than the socket buffers, the client must be reading meanwhile (or use
    /// [`Gate::push_in_background`]).
    pub fn push(&self, push: Push) -> usize {
        self.send(push, |_, state, p| p.matches(state))
    }

    /// Sends `push` to connection `conn` whatever it listens to; true if it was written.
    pub fn push_to(&self, conn: u64, push: Push) -> bool {
        self.send(push, |id, _, _| id == conn) == 1
    }

    /// Sends the last push again (same payload, same mid; new seqs), to the connections that
    /// match now. 0 if nothing was pushed yet.
    pub fn push_duplicate_of_last(&self) -> usize {
        let last = self.state().last_push.clone();
        last.map_or(0, |p| self.push(p))
    }

    /// Registers `push` on the connections `select` picks and writes it to them.
    fn send(&self, push: Push, select: impl Fn(u64, &ListenState, &Push) -> bool) -> usize {
        self.shared.prepare(push, select).write(&self.shared)
    }

    /// Like [`Gate::push`], but the frames are written by a thread of its own, so the caller
    /// can go on driving a client that must read a frame bigger than the socket buffers
    /// (e.g. a 9 MiB [`Push::chat_of_len`]). The connections and seqs are chosen (and the
    /// twoway pushes pending) before this returns; the frame is not necessarily written
    /// before frames pushed later. The gate waits for the thread when dropped.
    pub fn push_in_background(&self, push: Push) -> PushJob {
        let prepared = self.shared.prepare(push, |_, state, p| p.matches(state));
        let targets = prepared
            .targets
            .iter()
            .map(|(id, _, seq)| (*id, *seq))
            .collect();
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("gate-push".into())
            .spawn(move || {
                let _ = tx.send(prepared.write(&shared));
            });
        match spawned {
            Ok(t) => self.shared.with_state(|st| {
                st.threads.retain(|t| !t.is_finished());
                st.threads.push(t);
            }),
            Err(e) => eprintln!("gate-sim: cannot start a push thread: {e}"),
        }
        PushJob { done: rx, targets }
    }

    /// Writes the first half of a push frame (`pushmsg {from: 0, to: 0, mid: 0, mtype: 30,
    /// msg: "dropped mid-frame", attrs: "", mtime: now}`, twoway, its seq never pending) to every
    /// live connection (half of its encrypted form on an encrypted connection; nothing on a
    /// connection of an encrypting gate that has not sent its first frame), then shuts each
    /// socket down. The connections stop being live at once. Returns how many connections were
    /// dropped.
    pub fn drop_connections_mid_frame(&self) -> usize {
        let push = Push::chat(Target::P2p(0), 0, 0, "dropped mid-frame");
        let value = push.payload(self.shared.config.pid);
        let conns = self.take_conns();
        for (id, io) in &conns {
            if !io.is_ready() {
                // Still waiting for its first frame on an encrypting gate: nothing is written.
                io.close();
                continue;
            }
            let seq = self.shared.next_seq();
            let frame = push.frame(seq, self.shared.config.pid);
            let _ = io.write_prefix_and_close(&frame, frame.len() / 2);
            self.shared.with_state(|st| {
                st.sent.push(SentPush {
                    conn: *id,
                    seq: Some(seq),
                    method: push.method().to_owned(),
                    payload: value.clone(),
                    truncated: true,
                })
            });
        }
        conns.len()
    }

    /// Shuts every live connection down (clean close between frames). Returns how many.
    pub fn close_connections(&self) -> usize {
        let conns = self.take_conns();
        for (_, io) in &conns {
            io.close();
        }
        conns.len()
    }

    /// Removes every live connection from the table (so no push or wait sees it again).
    fn take_conns(&self) -> Vec<(u64, Arc<ConnIo>)> {
        self.shared.with_state(|st| {
            std::mem::take(&mut st.conns)
                .into_iter()
                .map(|(id, c)| (id, c.io))
                .collect()
        })
    }

    /// Delays every answer to a client quest by `delay` (zero: no delay).
    pub fn set_answer_delay(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.shared
            .faults
            .answer_delay_us
            .store(us, Ordering::SeqCst);
    }

    /// While true, quests are read and recorded as [`Outcome::Withheld`] but neither applied
    /// nor answered (`*ping` included).
    pub fn set_withhold_answers(&self, withhold: bool) {
        self.shared
            .faults
            .withhold
            .store(withhold, Ordering::SeqCst);
    }

    /// Splits every write (pushes and answers) into segments of at most `size` bytes, each
    /// flushed (`TCP_NODELAY` is on) and followed by a short pause. `None` or `Some(0)`: whole
    /// frames.
    pub fn set_segment_size(&self, size: Option<usize>) {
        self.shared
            .faults
            .segment
            .store(size.unwrap_or(0), Ordering::SeqCst);
    }

    /// Reverse pipelining: with `Some(window)`, each connection collects the quests that
    /// arrive within `window` of one another's first, then handles the batch **last to first**
    /// (each quest authenticated, applied to the listen state, recorded and answered in
    /// reverse arrival order), as the C++ server's worker pool may do with pipelined quests.
    ///
    /// The window starts at the read that completes the batch's first quest; every quest
    /// completed by a read within it joins the batch (so `Some(Duration::ZERO)` still reverses
    /// quests that arrive in one read, e.g. written in one `write`). A quest arriving later
    /// starts the next batch. A batch of one is handled as without this fault; answers from
    /// the client (to pushes) are handled at once, and pushes are written as usual meanwhile.
    /// [`Gate::quests`] lists quests in the order they were handled; [`QuestRecord::arrival`]
    /// gives the arrival order and [`QuestRecord::batch_len`] the batch size. Answer delays
    /// and withheld answers apply per quest as the batch is handled. When the client closes
    /// (or sends a malformed frame) with a batch open, the batch is still handled first.
    ///
    /// `None` (the default) handles quests one at a time in arrival order; a batch already
    /// open is still handled in reverse when its window ends.
    pub fn set_reverse_pipelined(&self, window: Option<Duration>) {
        *lock(&self.shared.faults.reverse_window) = window;
    }

    /// `Some(code)`: a `*key` quest arriving first is answered in plaintext with status 1 and
    /// `{code, ex: "key exchange refused"}` instead of the key exchange; the connection stays
    /// plaintext and open (recorded as [`KeyExchangeOutcome::ErrorAnswered`]). The C++ server
    /// never does this (it closes); it exercises a client's handling of an error answer to
    /// `*key`. `None` (the default): the exchange is performed.
    pub fn set_key_error(&self, code: Option<i64>) {
        *lock(&self.shared.faults.key_error) = code;
    }

    /// While true, every signed quest is refused with 200002.
    pub fn set_reject_sign(&self, reject: bool) {
        self.shared
            .faults
            .reject_sign
            .store(reject, Ordering::SeqCst);
    }

    /// Live connections.
    pub fn connection_count(&self) -> usize {
        self.state().conns.len()
    }

    /// Connections accepted since start (connection ids run from 1 to this number).
    pub fn total_connections_accepted(&self) -> u64 {
        self.state().accepted
    }

    /// The id and listen state of every live connection, by id.
    pub fn listen_states(&self) -> Vec<(u64, ListenState)> {
        self.state()
            .conns
            .iter()
            .map(|(id, c)| (*id, c.listen.clone()))
            .collect()
    }

    /// Every quest received, in the order they were handled (applied and answered): the
    /// arrival order, except within reverse-pipelined batches ([`Gate::set_reverse_pipelined`]).
    pub fn quests(&self) -> Vec<QuestRecord> {
        self.state().quests.clone()
    }

    /// Every answer to a twoway push, in arrival order.
    pub fn answers(&self) -> Vec<AnswerRecord> {
        self.state().answers.clone()
    }

    /// The answer to the twoway push with `seq`, if it came.
    pub fn answer_for_seq(&self, seq: u32) -> Option<AnswerRecord> {
        self.state().answers.iter().find(|a| a.seq == seq).cloned()
    }

    /// The answers to the pushes whose payload had `mid` (one per copy answered; a duplicate
    /// push answers again), in arrival order.
    pub fn answers_for_mid(&self, mid: i64) -> Vec<AnswerRecord> {
        let st = self.state();
        let seqs: BTreeSet<(u64, u32)> = st
            .sent
            .iter()
            .filter(|p| {
                record::map_get(&p.payload, "mid").and_then(rmpv::Value::as_i64) == Some(mid)
            })
            .filter_map(|p| Some((p.conn, p.seq?)))
            .collect();
        st.answers
            .iter()
            .filter(|a| seqs.contains(&(a.conn, a.seq)))
            .cloned()
            .collect()
    }

    /// Twoway pushes not answered yet (including those on connections closed since), by seq.
    pub fn unanswered(&self) -> Vec<PendingPush> {
        self.state().pending.values().cloned().collect()
    }

    /// Answers that matched no outstanding twoway push: answers to oneway pushes, repeated
    /// answers, unknown seqs. A correct client produces none.
    pub fn stray_answers(&self) -> Vec<StrayAnswer> {
        self.state().stray.clone()
    }

    /// Every push frame written, in order.
    pub fn sent(&self) -> Vec<SentPush> {
        self.state().sent.clone()
    }

    /// Every `*key` quest received, in arrival order, with how it ended.
    pub fn key_exchanges(&self) -> Vec<KeyExchangeRecord> {
        self.state().key_exchanges.clone()
    }

    /// Waits until at least `n` `*key` quests were handled since start (whatever the outcome).
    pub fn wait_key_exchanges(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |st| st.key_exchanges.len() >= n)
    }

    /// Malformed input that closed a connection.
    pub fn malformed(&self) -> Vec<MalformedRecord> {
        self.state().malformed.clone()
    }

    /// Listen parameters of the wrong shape (e.g. ids as maps).
    pub fn violations(&self) -> Vec<Violation> {
        self.state().violations.clone()
    }

    /// Waits until `cond` holds on the state or `timeout` passes; returns whether it held.
    fn wait_for(&self, timeout: Duration, mut cond: impl FnMut(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.state();
        loop {
            if cond(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until at least `n` connections are live.
    pub fn wait_connections(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |st| st.conns.len() >= n)
    }

    /// Waits until at least `n` connections were accepted since start.
    pub fn wait_accepted(&self, n: u64, timeout: Duration) -> bool {
        self.wait_for(timeout, |st| st.accepted >= n)
    }

    /// Waits until some live connection's listen state satisfies `pred`.
    pub fn wait_listen(&self, pred: impl Fn(&ListenState) -> bool, timeout: Duration) -> bool {
        self.wait_for(timeout, |st| st.conns.values().any(|c| pred(&c.listen)))
    }

    /// Like [`Gate::wait_listen`], also given the connection id; returns the first id found.
    pub fn wait_listen_conn(
        &self,
        pred: impl Fn(u64, &ListenState) -> bool,
        timeout: Duration,
    ) -> Option<u64> {
        let mut found = None;
        self.wait_for(timeout, |st| {
            found = st
                .conns
                .iter()
                .find(|(id, c)| pred(**id, &c.listen))
                .map(|(id, _)| *id);
            found.is_some()
        });
        found
    }

    /// Waits until at least `n` answers to twoway pushes were received since start.
    pub fn wait_answers(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |st| st.answers.len() >= n)
    }

    /// Waits until at least `n` quests were received since start.
    pub fn wait_quests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |st| st.quests.len() >= n)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let (conns, threads) = self.shared.with_state(|st| {
            let conns: Vec<Arc<ConnIo>> = st.conns.values().map(|c| Arc::clone(&c.io)).collect();
            (conns, std::mem::take(&mut st.threads))
        });
        for io in conns {
            io.close();
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener) {
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = start_conn(shared, stream) {
                    eprintln!("gate-sim: cannot serve a connection: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
    // The listener is dropped here: the port is closed before `Gate::drop` returns.
}

fn start_conn(shared: &Arc<Shared>, stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(conn::WRITE_TIMEOUT))?;
    // On an encrypting gate, nothing is pushed before the first frame shows whether the
    // connection encrypts.
    let ready = shared.config.encryption.is_none();
    let io = Arc::new(ConnIo::new(stream.try_clone()?, ready));
    let mut st = lock(&shared.state);
    st.accepted += 1;
    let id = st.accepted;
    st.conns.insert(
        id,
        ConnEntry {
            io: Arc::clone(&io),
            listen: ListenState::default(),
        },
    );
    st.threads.retain(|t| !t.is_finished());
    let s = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(format!("gate-conn-{id}"))
        .spawn(move || conn::serve(s, id, stream, io));
    match spawned {
        Ok(t) => st.threads.push(t),
        Err(e) => {
            st.conns.remove(&id);
            return Err(e);
        }
    }
    drop(st);
    shared.changed.notify_all();
    Ok(())
}
