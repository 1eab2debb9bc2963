//! FPNN encryption end to end against an independent peer: `tests/peers/enc_gate.py`, a
//! scripted FPNN/RTM server on pyca/cryptography (OpenSSL) and msgpack-python, plays whole
//! encrypted sessions with the engine's [`Listener`], which this file drives sans-IO over real
//! loopback TCP (std::net: the test reads, feeds [`Listener::handle_input`], writes
//! [`Listener::transmit`] and runs the timers).
//!
//! - For each of the 16 combinations (4 curves × stream/package × AES-128/256): the handshake,
//!   the restoration of the listens (signed `setlisten` flags and ids, answered), every push
//!   kind (P2P, group, room, broadcast, event, RTM `ping`; a duplicate; a oneway push), each
//!   delivered once with the right fields and each twoway one answered, the client's `*ping`
//!   answered, a listen command made mid-session, then a drop in the middle of a frame: the
//!   listener reconnects with a **new** ephemeral key (the gate reports each key it saw),
//!   restores the listens and receives the cut push whole. Reads are fed in random chunks and
//!   writes go out in random partial writes.
//! - Bad input, each with its own documented error, after which the listener reconnects: a
//!   server key of the wrong length, off the curve, on an unknown curve (parse errors), short
//!   entropy ([`EcdhError::ShortEntropy`], the configuration unchanged), a `*key` error answer
//!   ([`CloseReason::KeyExchange`] with the server's code), a close during the key exchange
//!   (counted in [`Stats::key_exchange_failures`]), garbage after the handshake (decrypts to a
//!   bad magic: [`FrameError::BadMagic`]), a package length of 0 ([`FrameError::BadPackage`]),
//!   and a server key that is not the server's (its answer decrypts to garbage).
//! - Chunking: one recorded encrypted session replayed in-process, fed in random chunk sizes
//!   (1 byte included) through both input paths, gives identical events (chunks never span a
//!   point where the live listener had sent something the bytes after it answer); a live
//!   session with 1-byte reads and 1-byte partial writes gives the same events as one with
//!   whole reads and writes.
//!
//! Needs `python3` with `cryptography` and `msgpack` (`python3 -m pip install cryptography
//! msgpack`). Without them the tests print a notice and pass, unless `RTM_REQUIRE_PEERS=1`,
//! which makes them fail instead. `RTM_PEER_TRACE=1` prints every session's events and the
//! gate's reports (with their times).
// Only `encryption`: the test does its own std::net I/O and needs nothing from the `std`
// feature, so it runs (and cannot pass vacuously) under `--features encryption` too.
#![cfg(feature = "encryption")]

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use common::hex;
use rtm_listen::crypto::{Bits, Curve, EcdhError, KeyError, ServerPublicKey};
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::rtm::push::Target;
use rtm_listen::session::{
    Backoff, CloseReason, Config, Encryption, EncryptionMode, Event, IoError, IoKind, Listener,
    Stats, code,
};
use rtm_listen::wire::frame::FrameError;
use serde_json::{Value as Json, json};

const GATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/enc_gate.py");
const PID: u32 = 1_000_001;
const SECRET: &[u8] = b"test-secret";
/// 2023-11-14T22:13:20Z.
const UNIX_MS: i64 = 1_700_000_000_000;
/// How long one session may take before the test gives up.
const SESSION_LIMIT: Duration = Duration::from_secs(60);

const MODES: [EncryptionMode; 2] = [EncryptionMode::Stream, EncryptionMode::Package];
const BITS: [Bits; 2] = [Bits::Aes128, Bits::Aes256];

// ------------------------------------------------------------------------------------------
// Randomness, the peer process

/// splitmix64: reproducible randomness (entropy, chunk sizes).
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// In `1..=max`.
    fn size(&mut self, max: usize) -> usize {
        1 + (self.next() % max.max(1) as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Whether python3 with `cryptography` and `msgpack` is there; without, a notice (once) and
/// `false`, or a failure under `RTM_REQUIRE_PEERS=1`.
fn peers_available() -> bool {
    static PROBE: OnceLock<bool> = OnceLock::new();
    let ok = *PROBE.get_or_init(|| {
        let ok = Command::new("python3")
            .args(["-c", "import cryptography, msgpack"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Not through the harness's capture: the notice shows in every run.
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: encrypted_peer skipped: python3 with `cryptography` and `msgpack` not \
                 found (python3 -m pip install cryptography msgpack; RTM_REQUIRE_PEERS=1 makes \
                 this a failure)"
            );
        }
        ok
    });
    let required = std::env::var("RTM_REQUIRE_PEERS").is_ok_and(|v| v == "1");
    assert!(
        ok || !required,
        "RTM_REQUIRE_PEERS=1 but python3 with `cryptography` and `msgpack` is missing"
    );
    ok
}

/// A running `enc_gate.py`: its reports arrive on a channel, one JSON object each.
struct Gate {
    child: Child,
    reports: Receiver<Json>,
    /// The `listening` report: port, curve, public key, keys to refuse.
    info: Json,
    connections: usize,
}

impl Gate {
    /// Starts the gate with `script`, or `None` when the peer cannot run (see
    /// [`peers_available`]).
    fn start(script: &Json) -> Option<Gate> {
        if !peers_available() {
            return None;
        }
        let mut child = Command::new("python3")
            .arg(GATE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting enc_gate.py");
        let mut stdin = child.stdin.take().expect("gate stdin");
        stdin
            .write_all(script.to_string().as_bytes())
            .expect("writing the gate's script");
        drop(stdin);
        let stdout = BufReader::new(child.stdout.take().expect("gate stdout"));
        let (tx, reports) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let report = serde_json::from_str(&line).unwrap_or_else(
                    |e| json!({"event": "error", "what": format!("{line:?}: {e}")}),
                );
                if tx.send(report).is_err() {
                    break;
                }
            }
        });
        let info = reports
            .recv_timeout(Duration::from_secs(30))
            .expect("the gate's first report");
        assert_eq!(info["event"], "listening", "gate: {info}");
        let connections = script["connections"].as_array().map_or(0, Vec::len);
        Some(Gate {
            child,
            reports,
            info,
            connections,
        })
    }

    fn port(&self) -> u16 {
        u16::try_from(common::u64_field(&self.info, "port")).expect("port")
    }

    fn key(&self, field: &str) -> Vec<u8> {
        hex(common::str_field(&self.info, field))
    }

    fn curve(&self) -> Curve {
        Curve::from_name(common::str_field(&self.info, "curve")).expect("curve")
    }

    /// The gate's public key, parsed from its raw form and checked against its PEM form.
    fn server_key(&self) -> ServerPublicKey {
        let key =
            ServerPublicKey::from_raw(self.curve(), &self.key("public_raw")).expect("raw key");
        let pem = common::str_field(&self.info, "public_pem").as_bytes();
        assert_eq!(
            ServerPublicKey::parse(pem, None),
            Ok(key),
            "PEM and raw forms"
        );
        key
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------
// Events as owned values

/// Bytes as text (the tests send text only; anything else shows as U+FFFD and differs).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An [`Event`] with its data copied out (`retry_in_ms` left out: it is the back-off's).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Connected {
        is_reconnect: bool,
    },
    ConnectFailed(CloseReason),
    Closed(CloseReason),
    Message {
        target: Target,
        from: i64,
        to: i64,
        mid: i64,
        mtype: i8,
        msg: String,
        attrs: String,
        mtime: i64,
    },
    PushEvent {
        pid: i64,
        event: String,
        uid: i64,
        time: i64,
        endpoint: String,
        data: Option<String>,
    },
    Ping,
    Completed(i64),
    Restored(i64),
    BadPush(String),
    CloseRequested(CloseReason),
    Other(String),
}

impl Ev {
    fn of(e: &Event<'_>) -> Ev {
        match e {
            Event::Connected { is_reconnect } => Ev::Connected {
                is_reconnect: *is_reconnect,
            },
            Event::ConnectFailed { reason, .. } => Ev::ConnectFailed(*reason),
            Event::Closed { reason, .. } => Ev::Closed(*reason),
            Event::Message(m) => {
                let m = m.message;
                Ev::Message {
                    target: m.target,
                    from: m.from,
                    to: m.to,
                    mid: m.mid,
                    mtype: m.mtype,
                    msg: text(m.msg),
                    attrs: text(m.attrs),
                    mtime: m.mtime,
                }
            }
            Event::PushEvent(p) => Ev::PushEvent {
                pid: p.pid,
                event: text(p.event),
                uid: p.uid,
                time: p.time,
                endpoint: text(p.endpoint),
                data: p.data.map(text),
            },
            Event::Ping => Ev::Ping,
            Event::Completed(c) => Ev::Completed(c.code),
            Event::Restored { code } => Ev::Restored(*code),
            Event::BadPush { method, .. } => Ev::BadPush(text(method)),
            Event::CloseRequested(r) => Ev::CloseRequested(*r),
            other => Ev::Other(format!("{other:?}")),
        }
    }

    fn is_push(&self) -> bool {
        matches!(self, Ev::Message { .. } | Ev::PushEvent { .. } | Ev::Ping)
    }
}

/// The event a push the gate reports (`pushed`, `dropped`) must give.
fn expected_push(report: &Json) -> Ev {
    let p = &report["payload"];
    let int = |k: &str| p[k].as_i64().unwrap_or_else(|| panic!("{k} in {report}"));
    let text = |k: &str| common::str_field(p, k).to_owned();
    let message = |target, to: i64| Ev::Message {
        target,
        from: int("from"),
        to,
        mid: int("mid"),
        mtype: i8::try_from(int("mtype")).expect("mtype"),
        msg: text("msg"),
        attrs: text("attrs"),
        mtime: int("mtime"),
    };
    match common::str_field(report, "method") {
        "pushmsg" => message(Target::P2P, int("to")),
        "pushgroupmsg" => message(Target::Group, int("gid")),
        "pushroommsg" => message(Target::Room, int("rid")),
        "pushbroadcastmsg" => message(Target::Broadcast, 0),
        "pushevent" => Ev::PushEvent {
            pid: int("pid"),
            event: text("event"),
            uid: int("uid"),
            time: int("time"),
            endpoint: text("endpoint"),
            data: p.get("data").map(|_| text("data")),
        },
        "ping" => Ev::Ping,
        other => panic!("no expected event for {other}"),
    }
}

// ------------------------------------------------------------------------------------------
// The sans-IO driver

type L = Listener;

/// How reads are fed and writes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunks {
    /// As they come.
    Whole,
    /// One byte at a time.
    Ones,
    /// Random sizes in `1..=n`.
    Upto(usize),
}

impl Chunks {
    fn size(self, rng: &mut Rng, len: usize) -> usize {
        match self {
            Chunks::Whole => len,
            Chunks::Ones => 1,
            Chunks::Upto(n) => rng.size(n),
        }
        .min(len)
    }
}

fn config() -> Config {
    Config {
        // Every reconnect at once: the sessions here end in closes by design.
        backoff: Backoff {
            immediate: 1000,
            ..Backoff::DEFAULT
        },
        ..Config::DEFAULT
    }
}

/// A listener as every test here makes it (the replay makes the same one again).
fn listener(enc: Option<Encryption>, seed: u64) -> Box<L> {
    let creds = Credentials {
        pid: PID,
        secret: SECRET,
    };
    let mut l = Box::new(Listener::new(config(), creds, seed).expect("listener"));
    l.set_unix_time(0, UNIX_MS);
    if enc.is_some() {
        l.set_encryption(enc, &Rng(seed).bytes(48))
            .expect("set_encryption");
    }
    l
}

/// What a hook sees: a gate report, or an event of the listener.
enum Seen<'a> {
    Report(&'a Json),
    Event(&'a Ev),
}

/// One listener against one gate, over loopback TCP.
struct Drive {
    l: Box<L>,
    rng: Rng,
    reads: Chunks,
    writes: Chunks,
    /// Host entropy stirred in before each connect.
    stir: bool,
    sock: Option<TcpStream>,
    /// Received bytes the listener has not taken yet.
    inbound: Vec<u8>,
    eof: bool,
    connects: usize,
    start: Instant,
    /// Added to the clock (the gate asks for a `*ping`: the clock jumps by the ping interval).
    skew: u64,
    events: Vec<Ev>,
    seen: usize,
    reports: Vec<Json>,
    /// Every byte received, per connection.
    received: Vec<Vec<u8>>,
    /// Per connection, the offsets in `received` before which the listener sent something
    /// (what follows may answer it: a replay must not feed across them at once).
    sync_points: Vec<Vec<usize>>,
    /// Bytes were sent since the last read.
    sent: bool,
}

impl Drive {
    fn new(l: Box<L>, seed: u64, reads: Chunks, writes: Chunks) -> Drive {
        Drive {
            l,
            rng: Rng(seed ^ 0x5eed),
            reads,
            writes,
            stir: false,
            sock: None,
            inbound: Vec::new(),
            eof: false,
            connects: 0,
            start: Instant::now(),
            skew: 0,
            events: Vec::new(),
            seen: 0,
            reports: Vec::new(),
            received: Vec::new(),
            sync_points: Vec::new(),
            sent: false,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX) + self.skew
    }

    fn context(&self) -> String {
        let reports: Vec<String> = self
            .reports
            .iter()
            .map(|r| {
                let line = r.to_string();
                if line.chars().count() > 400 {
                    line.chars().take(400).chain(" …".chars()).collect()
                } else {
                    line
                }
            })
            .collect();
        format!(
            "\nlistener events: {:#?}\ngate reports:\n{}",
            self.events,
            reports.join("\n")
        )
    }

    /// Ends the transport (if any) and tells the listener why.
    fn close_transport(&mut self, reason: CloseReason) {
        if let Some(s) = self.sock.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
        self.inbound.clear();
        self.eof = false;
        let now = self.now();
        self.l.closed(now, reason);
    }

    /// Handles the events that arrived since the last call: close requests, then the hook.
    fn after_events(&mut self, hook: &mut dyn FnMut(Seen<'_>, &mut L, u64)) {
        while self.seen < self.events.len() {
            let ev = self.events[self.seen].clone();
            self.seen += 1;
            if let Ev::CloseRequested(reason) = ev
                && self.sock.is_some()
            {
                self.close_transport(reason);
            }
            let now = self.now();
            hook(Seen::Event(&ev), &mut self.l, now);
        }
    }

    fn poll(&mut self) {
        let ev = &mut self.events;
        self.l.poll_events(|e| ev.push(Ev::of(&e)));
    }

    /// Plays the gate's script to its end.
    fn run(&mut self, gate: &mut Gate, mut hook: impl FnMut(Seen<'_>, &mut L, u64)) {
        let limit = Instant::now() + SESSION_LIMIT;
        let mut done = false;
        let mut buf = vec![0u8; 65536];
        loop {
            assert!(
                Instant::now() < limit,
                "session timed out{}",
                self.context()
            );
            let mut busy = false;
            // The gate's reports.
            loop {
                let report = match gate.reports.try_recv() {
                    Ok(r) => r,
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        assert!(done, "the gate ended without `done`{}", self.context());
                        break;
                    }
                };
                busy = true;
                assert_ne!(
                    report["event"],
                    "error",
                    "the gate failed: {report}{}",
                    self.context()
                );
                if report["event"] == "done" {
                    done = true;
                }
                if report["event"] == "expecting" && report["method"] == "*ping" {
                    self.skew += config().ping_interval_ms;
                }
                let now = self.now();
                hook(Seen::Report(&report), &mut self.l, now);
                self.reports.push(report);
            }
            if done && self.sock.is_none() {
                break;
            }
            // Connect when the listener wants to, as long as the script has connections left.
            let now = self.now();
            if self.sock.is_none()
                && self.connects < gate.connections
                && self.l.reconnect_at().is_none_or(|t| t <= now)
            {
                busy = true;
                match TcpStream::connect(("127.0.0.1", gate.port())) {
                    Ok(s) => {
                        s.set_nodelay(true).expect("nodelay");
                        s.set_nonblocking(true).expect("nonblocking");
                        self.sock = Some(s);
                        self.connects += 1;
                        self.received.push(Vec::new());
                        self.sync_points.push(Vec::new());
                        if self.stir {
                            let fresh = self.rng.bytes(32);
                            self.l.add_entropy(&fresh);
                        }
                        self.l.connected(now);
                    }
                    Err(e) => self.l.connect_failed(
                        now,
                        CloseReason::Io(IoError {
                            kind: IoKind::Other,
                            errno: e.raw_os_error().unwrap_or(0),
                        }),
                    ),
                }
            }
            // Read.
            if let Some(s) = &mut self.sock
                && !self.eof
            {
                match s.read(&mut buf) {
                    Ok(0) => {
                        self.eof = true;
                        busy = true;
                    }
                    Ok(n) => {
                        self.inbound.extend_from_slice(&buf[..n]);
                        if let (Some(r), Some(p)) =
                            (self.received.last_mut(), self.sync_points.last_mut())
                        {
                            if std::mem::take(&mut self.sent) {
                                p.push(r.len());
                            }
                            r.extend_from_slice(&buf[..n]);
                        }
                        busy = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(0);
                        self.close_transport(CloseReason::Io(IoError {
                            kind: IoKind::ConnectionReset,
                            errno,
                        }));
                    }
                }
            }
            // Feed, in chunks.
            while !self.inbound.is_empty() && self.sock.is_some() {
                let take = self.reads.size(&mut self.rng, self.inbound.len());
                let now = self.now();
                let ev = &mut self.events;
                let n = self
                    .l
                    .handle_input(now, &self.inbound[..take], |e| ev.push(Ev::of(&e)));
                self.inbound.drain(..n);
                self.after_events(&mut hook);
                if n < take {
                    // TX is full: send first.
                    break;
                }
            }
            if self.eof && self.inbound.is_empty() && self.sock.is_some() {
                self.close_transport(CloseReason::PeerClosed);
            }
            // Timers, events.
            let now = self.now();
            if self.l.poll_timeout().is_some_and(|t| t <= now) {
                self.l.handle_timeout(now);
            }
            self.poll();
            self.after_events(&mut hook);
            // Write, in partial writes.
            while let Some(s) = &mut self.sock {
                let t = self.l.transmit();
                if t.is_empty() {
                    break;
                }
                let k = self.writes.size(&mut self.rng, t.len());
                match s.write(&t[..k]) {
                    Ok(n) => {
                        busy = true;
                        self.sent |= n > 0;
                        self.l.consume_transmit(n);
                        self.poll();
                        self.after_events(&mut hook);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(0);
                        self.close_transport(CloseReason::Io(IoError {
                            kind: IoKind::BrokenPipe,
                            errno,
                        }));
                    }
                }
            }
            self.poll();
            self.after_events(&mut hook);
            if !busy {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if std::env::var_os("RTM_PEER_TRACE").is_some() {
            eprintln!("session trace:{}", self.context());
        }
        let stray: Vec<&Json> = self
            .reports
            .iter()
            .filter(|r| r["event"] == "unconsumed")
            .collect();
        assert!(
            stray.is_empty(),
            "quests the gate did not expect: {stray:?}{}",
            self.context()
        );
    }

    fn reports_of<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Json> + 'a {
        self.reports.iter().filter(move |r| r["event"] == event)
    }

    /// The client public keys the gate saw, one per key exchange.
    fn client_keys(&self) -> Vec<String> {
        self.reports_of("key")
            .map(|r| common::str_field(r, "client_public").to_owned())
            .collect()
    }

    fn stats(&self) -> Stats {
        self.l.stats()
    }
}

/// The encryption settings of a combination.
fn encryption(key: ServerPublicKey, mode: EncryptionMode, bits: Bits) -> Encryption {
    Encryption::new(key, mode, bits)
}

fn key_step(action: &str, mode: EncryptionMode, bits: Bits) -> Json {
    json!({"key": action, "stream": mode == EncryptionMode::Stream, "bits": bits.bits()})
}

/// The desired listen state of the tests: all group and P2P messages, plus ids and events.
fn desire(l: &mut L) {
    l.set_listen_all(
        0,
        ListenFlags {
            group: true,
            room: false,
            p2p: true,
            ev: false,
        },
    )
    .expect("set_listen_all");
    l.add_listen(
        0,
        &ListenIds {
            gids: &[7, 8],
            rids: &[11],
            uids: &[9],
            events: &["login"],
        },
    )
    .expect("add_listen");
}

/// Checks the key reports: one per connection that got as far, with the mode and size
/// configured, the key as bin, nothing sent before the answer, and all keys different.
fn check_keys(d: &Drive, curve: Curve, mode: EncryptionMode, bits: Bits, want: usize, what: &str) {
    let keys: Vec<&Json> = d.reports_of("key").collect();
    assert_eq!(keys.len(), want, "{what}: key exchanges{}", d.context());
    for k in &keys {
        assert_eq!(k["stream"], mode == EncryptionMode::Stream, "{what}: {k}");
        assert_eq!(k["bits"], bits.bits(), "{what}: {k}");
        assert_eq!(k["public_key_type"], "bin", "{what}: {k}");
        assert_eq!(
            k["early_bytes"], 0,
            "{what}: the client sent before the *key answer: {k}"
        );
        assert_eq!(
            hex(common::str_field(k, "client_public")).len(),
            curve.point_len(),
            "{what}: {k}"
        );
    }
    let mut distinct = d.client_keys();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        want,
        "{what}: every connection must have its own ephemeral key{}",
        d.context()
    );
}

/// The `setlisten` quests the gate answered on connection `conn`, each checked to be signed.
fn listen_quests(d: &Drive, conn: u64) -> Vec<Json> {
    d.reports_of("quest")
        .filter(|r| r["conn"] == conn && r["method"] == "setlisten")
        .map(|r| {
            assert_eq!(r["sign_ok"], true, "unsigned or badly signed: {r}");
            for k in ["pid", "sign", "salt", "ts"] {
                assert!(r["payload"].get(k).is_some(), "{k} missing: {r}");
            }
            assert_eq!(r["answered"], json!({}), "{r}");
            r["payload"].clone()
        })
        .collect()
}

/// A `setlisten` payload without its signature keys.
fn listen_body(p: &Json) -> Json {
    let mut p = p.clone();
    if let Some(m) = p.as_object_mut() {
        for k in ["pid", "sign", "salt", "ts"] {
            m.remove(k);
        }
    }
    p
}

/// The flags form of the tests' `setlisten`.
fn flags_body() -> Json {
    json!({"group": true, "room": false, "p2p": true, "ev": false})
}

fn ids_body(uids: &[i64]) -> Json {
    json!({"gids": [7, 8], "rids": [11], "uids": uids, "events": ["login"]})
}

// ------------------------------------------------------------------------------------------
// The 16 combinations

/// The full session for one combination; returns the listener's events.
fn full_session(
    curve: Curve,
    mode: EncryptionMode,
    bits: Bits,
    reads: Chunks,
    writes: Chunks,
) -> Option<Vec<Ev>> {
    let what = format!("{curve} {mode:?} {bits:?} reads {reads:?} writes {writes:?}");
    let conn0 = json!([
        key_step("ok", mode, bits),
        {"expect": "setlisten"},
        {"expect": "setlisten"},
        {"push": "pushmsg", "mid": 101},
        {"push": "pushgroupmsg", "mid": 102},
        {"push": "pushroommsg", "mid": 103},
        {"push": "pushbroadcastmsg", "mid": 104},
        {"push": "pushevent", "mid": 105},
        {"push": "ping"},
        {"push": "pushmsg", "mid": 101},
        {"push": "pushmsg", "mid": 106, "oneway": true},
        {"push": "pushgroupmsg", "mid": 107, "payload": {"mtype": 32, "msg": "x".repeat(300)}},
        {"await_answers": true},
        {"expect": "*ping"},
        {"expect": "setlisten"},
        {"drop_mid_frame": "pushroommsg", "mid": 108},
    ]);
    let conn1 = json!([
        key_step("ok", mode, bits),
        {"expect": "setlisten"},
        {"expect": "setlisten"},
        {"push": "pushroommsg", "mid": 108},
        {"push": "pushmsg", "mid": 101},
        {"push": "pushevent", "mid": 109},
        {"await_answers": true},
        {"close": true},
    ]);
    let script = json!({"curve": curve.as_str(), "connections": [conn0, conn1]});
    let mut gate = Gate::start(&script)?;
    let seed = u64::from(bits.bits()) << 8 | mode as u64;
    let mut l = listener(Some(encryption(gate.server_key(), mode, bits)), seed);
    desire(&mut l);
    let mut d = Drive::new(l, seed, reads, writes);
    d.stir = true;
    let mut setlistens = 0;
    d.run(&mut gate, |seen, l, now| {
        // A command mid-session: the third `setlisten` the gate waits for.
        if let Seen::Report(r) = seen
            && r["event"] == "expecting"
            && r["method"] == "setlisten"
        {
            setlistens += 1;
            if setlistens == 3 {
                l.add_listen(
                    now,
                    &ListenIds::<&str> {
                        gids: &[],
                        rids: &[],
                        uids: &[10],
                        events: &[],
                    },
                )
                .expect("add_listen mid-session");
            }
        }
    });

    // The gate's view: two key exchanges with different keys, the listens restored on both.
    check_keys(&d, curve, mode, bits, 2, &what);
    let q0: Vec<Json> = listen_quests(&d, 0).iter().map(listen_body).collect();
    let q1: Vec<Json> = listen_quests(&d, 1).iter().map(listen_body).collect();
    assert_eq!(
        q0,
        [flags_body(), ids_body(&[9]), ids_body(&[9, 10])],
        "{what}: first connection's listens"
    );
    assert_eq!(
        q1,
        [flags_body(), ids_body(&[9, 10])],
        "{what}: the listens restored after the drop"
    );
    let pings: Vec<&Json> = d
        .reports_of("quest")
        .filter(|r| r["method"] == "*ping")
        .collect();
    assert_eq!(pings.len(), 1, "{what}: the client's *ping{}", d.context());
    // Every twoway push answered once with {} (the gate refuses a second answer to a seq).
    let twoway: Vec<(u64, u64)> = d
        .reports_of("pushed")
        .filter(|r| !r["seq"].is_null())
        .map(|r| (common::u64_field(r, "conn"), common::u64_field(r, "seq")))
        .collect();
    let mut answered: Vec<(u64, u64)> = d
        .reports_of("answer")
        .map(|r| {
            assert_eq!(r["status"], 0, "{what}: {r}");
            assert_eq!(r["payload"], json!({}), "{what}: {r}");
            (common::u64_field(r, "conn"), common::u64_field(r, "seq"))
        })
        .collect();
    answered.sort();
    let mut want = twoway.clone();
    want.sort();
    assert_eq!(answered, want, "{what}: answers{}", d.context());
    assert_eq!(twoway.len(), 8 + 3, "{what}");

    // The listener's view: every push once, in order, with its fields; duplicates (101 on
    // both connections) answered but not delivered; the cut push delivered once, whole.
    let mut expected = Vec::new();
    let mut keys = Vec::new();
    for r in d.reports_of("pushed") {
        let ev = expected_push(r);
        let key = (r["method"].clone(), r["payload"]["mid"].clone());
        if r["method"] == "pushevent" || r["method"] == "ping" || !keys.contains(&key) {
            expected.push(ev);
        }
        keys.push(key);
    }
    let pushes: Vec<Ev> = d.events.iter().filter(|e| e.is_push()).cloned().collect();
    assert_eq!(pushes, expected, "{what}: pushes{}", d.context());
    let shape: Vec<Ev> = d.events.iter().filter(|e| !e.is_push()).cloned().collect();
    assert_eq!(
        shape,
        [
            Ev::Connected {
                is_reconnect: false
            },
            Ev::Completed(0),
            Ev::Completed(0),
            Ev::Restored(0),
            Ev::Completed(0),
            Ev::Closed(CloseReason::PeerClosed),
            Ev::Connected { is_reconnect: true },
            Ev::Restored(0),
            Ev::Closed(CloseReason::PeerClosed),
        ],
        "{what}: connection events{}",
        d.context()
    );
    let stats = d.stats();
    assert_eq!(stats.key_exchanges, 2, "{what}: {stats:?}");
    assert_eq!(stats.key_exchange_failures, 0, "{what}: {stats:?}");
    assert_eq!(stats.duplicates, 2, "{what}: {stats:?}");
    assert_eq!(stats.pings, 1, "{what}: {stats:?}");
    assert_eq!(stats.connections, 2, "{what}: {stats:?}");
    Some(d.events)
}

fn combinations_on(curve: Curve) {
    for (i, mode) in MODES.into_iter().enumerate() {
        for (j, bits) in BITS.into_iter().enumerate() {
            // Reads and writes in random pieces, one combination in four byte by byte.
            let (reads, writes) = match (i + j + curve as usize) % 4 {
                0 => (Chunks::Ones, Chunks::Ones),
                1 => (Chunks::Upto(7), Chunks::Upto(40)),
                2 => (Chunks::Upto(64), Chunks::Ones),
                _ => (Chunks::Whole, Chunks::Upto(3)),
            };
            if full_session(curve, mode, bits, reads, writes).is_none() {
                return;
            }
        }
    }
}

#[test]
fn every_mode_and_key_size_on_secp256k1() {
    combinations_on(Curve::Secp256k1);
}

#[test]
fn every_mode_and_key_size_on_secp256r1() {
    combinations_on(Curve::Secp256r1);
}

#[test]
fn every_mode_and_key_size_on_secp224r1() {
    combinations_on(Curve::Secp224r1);
}

#[test]
fn every_mode_and_key_size_on_secp192r1() {
    combinations_on(Curve::Secp192r1);
}

/// The same session with 1-byte reads and 1-byte writes gives the same events as with
/// whole reads and writes (partial transmits: the transport takes one byte at a time).
#[test]
fn byte_by_byte_transport_gives_the_same_events() {
    for mode in MODES {
        let Some(whole) = full_session(
            Curve::Secp256r1,
            mode,
            Bits::Aes128,
            Chunks::Whole,
            Chunks::Whole,
        ) else {
            return;
        };
        let Some(ones) = full_session(
            Curve::Secp256r1,
            mode,
            Bits::Aes128,
            Chunks::Ones,
            Chunks::Ones,
        ) else {
            return;
        };
        assert_eq!(whole, ones, "{mode:?}");
    }
}

// ------------------------------------------------------------------------------------------
// Bad input

/// A restoration, then a close: the end of every bad-input script (the listener is back).
fn recovered(mode: EncryptionMode, bits: Bits) -> Json {
    json!([
        key_step("ok", mode, bits),
        {"expect": "setlisten"},
        {"expect": "setlisten"},
        {"push": "pushmsg", "mid": 900},
        {"await_answers": true},
        {"close": true},
    ])
}

/// Checks the last connection restored the listens and delivered push 900.
fn check_recovered(d: &Drive, what: &str) {
    let last = d.connects as u64 - 1;
    let q: Vec<Json> = listen_quests(d, last).iter().map(listen_body).collect();
    assert_eq!(q, [flags_body(), ids_body(&[9])], "{what}{}", d.context());
    let restored: Vec<&Ev> = d
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Restored(_)))
        .collect();
    assert_eq!(
        restored.last(),
        Some(&&Ev::Restored(0)),
        "{what}{}",
        d.context()
    );
    assert!(
        d.events
            .iter()
            .any(|e| matches!(e, Ev::Message { mid: 900, .. })),
        "{what}: push after the reconnect{}",
        d.context()
    );
}

/// The events up to the first reconnect.
fn first_connection(d: &Drive) -> Vec<Ev> {
    d.events
        .iter()
        .take_while(|e| **e != Ev::Connected { is_reconnect: true })
        .cloned()
        .collect()
}

#[test]
fn keys_that_must_be_refused_and_short_entropy() {
    for (i, curve) in Curve::ALL.into_iter().enumerate() {
        let mode = MODES[i % 2];
        let bits = BITS[i / 2];
        let what = format!("{curve} {mode:?} {bits:?}");
        let script = json!({"curve": curve.as_str(), "connections": [
            [key_step("ok", mode, bits), {"expect": "setlisten"}, {"expect": "setlisten"},
             {"drop_mid_frame": "pushmsg", "mid": 1}],
            recovered(mode, bits),
        ]});
        let Some(mut gate) = Gate::start(&script) else {
            return;
        };
        let n2 = curve.point_len();
        // Each key the gate made to be refused, with its own error.
        assert_eq!(
            ServerPublicKey::from_raw(curve, &gate.key("wrong_length_raw")),
            Err(KeyError::WrongLength {
                expected: n2,
                got: n2 - 1
            }),
            "{what}"
        );
        assert_eq!(
            ServerPublicKey::parse(&gate.key("wrong_length_raw"), Some(curve)),
            Err(KeyError::WrongLength {
                expected: n2,
                got: n2 - 1
            }),
            "{what}"
        );
        assert_eq!(
            ServerPublicKey::from_raw(curve, &gate.key("not_on_curve_raw")),
            Err(KeyError::NotOnCurve),
            "{what}"
        );
        let p384 = common::str_field(&gate.info, "unknown_curve_pem").as_bytes();
        assert_eq!(
            ServerPublicKey::parse(p384, None),
            Err(KeyError::UnknownCurve),
            "{what}"
        );
        assert_eq!(
            ServerPublicKey::from_pem(p384),
            Err(KeyError::UnknownCurve),
            "{what}"
        );

        let server_key = gate.server_key();
        let mut l = listener(Some(encryption(server_key, mode, bits)), i as u64);
        desire(&mut l);
        let mut d = Drive::new(l, i as u64, Chunks::Upto(16), Chunks::Upto(16));
        let mut refused = None;
        d.run(&mut gate, |seen, l, _| {
            // Once restored, short entropy is refused and changes nothing: the reconnect
            // after the drop still uses the configured mode and size.
            if let Seen::Event(Ev::Restored(0)) = seen
                && refused.is_none()
            {
                let other = if mode == EncryptionMode::Stream {
                    EncryptionMode::Package
                } else {
                    EncryptionMode::Stream
                };
                refused =
                    Some(l.set_encryption(Some(encryption(server_key, other, bits)), &[7; 16]));
            }
        });
        assert_eq!(
            refused,
            Some(Err(EcdhError::ShortEntropy {
                needed: 32,
                got: 16
            })),
            "{what}"
        );
        check_keys(&d, curve, mode, bits, 2, &what);
        check_recovered(&d, &what);
    }
}

#[test]
fn key_exchange_error_answer() {
    for (i, mode) in MODES.into_iter().enumerate() {
        let curve = Curve::ALL[i + 1];
        let bits = BITS[i];
        let what = format!("{curve} {mode:?} {bits:?}");
        let mut refuse = key_step("error", mode, bits);
        refuse["code"] = json!(10003);
        refuse["ex"] = json!("bad key exchange");
        let script = json!({"curve": curve.as_str(), "connections": [
            [refuse, {"expect_close": true}],
            recovered(mode, bits),
        ]});
        let Some(mut gate) = Gate::start(&script) else {
            return;
        };
        let mut l = listener(
            Some(encryption(gate.server_key(), mode, bits)),
            40 + i as u64,
        );
        desire(&mut l);
        let mut d = Drive::new(l, 40 + i as u64, Chunks::Upto(5), Chunks::Whole);
        d.run(&mut gate, |_, _, _| {});
        let reason = CloseReason::KeyExchange { code: 10003 };
        assert_eq!(
            first_connection(&d),
            [
                Ev::Connected {
                    is_reconnect: false
                },
                Ev::CloseRequested(reason),
                Ev::Restored(code::CONNECTION_CLOSED),
                Ev::Closed(reason),
            ],
            "{what}{}",
            d.context()
        );
        assert!(reason.is_error());
        let stats = d.stats();
        assert_eq!(
            (stats.key_exchanges, stats.key_exchange_failures),
            (1, 1),
            "{what}"
        );
        check_keys(&d, curve, mode, bits, 2, &what);
        check_recovered(&d, &what);
    }
}

#[test]
fn close_during_the_key_exchange() {
    for (i, mode) in MODES.into_iter().enumerate() {
        let curve = Curve::ALL[3 - i];
        let bits = BITS[1 - i];
        let what = format!("{curve} {mode:?} {bits:?}");
        let mut cut = key_step("close", mode, bits);
        cut["partial"] = json!(6);
        let script = json!({"curve": curve.as_str(), "connections": [
            [key_step("close", mode, bits)],
            [cut],
            recovered(mode, bits),
        ]});
        let Some(mut gate) = Gate::start(&script) else {
            return;
        };
        let mut l = listener(
            Some(encryption(gate.server_key(), mode, bits)),
            50 + i as u64,
        );
        desire(&mut l);
        let mut d = Drive::new(l, 50 + i as u64, Chunks::Ones, Chunks::Upto(9));
        d.run(&mut gate, |_, _, _| {});
        let closes: Vec<&Ev> = d
            .events
            .iter()
            .filter(|e| matches!(e, Ev::Closed(_) | Ev::CloseRequested(_) | Ev::Restored(_)))
            .collect();
        assert_eq!(
            closes,
            [
                &Ev::Restored(code::CONNECTION_CLOSED),
                &Ev::Closed(CloseReason::PeerClosed),
                &Ev::Restored(code::CONNECTION_CLOSED),
                &Ev::Closed(CloseReason::PeerClosed),
                &Ev::Restored(0),
                &Ev::Closed(CloseReason::PeerClosed),
            ],
            "{what}{}",
            d.context()
        );
        let stats = d.stats();
        assert_eq!(
            (stats.key_exchanges, stats.key_exchange_failures),
            (1, 2),
            "{what}"
        );
        check_keys(&d, curve, mode, bits, 3, &what);
        check_recovered(&d, &what);
    }
}

/// Garbage after the handshake: `garbage` decrypts to bytes without the magic; in package
/// mode, a length prefix of 0 is refused before any decryption.
#[test]
fn garbage_after_the_handshake() {
    let cases = [
        (
            EncryptionMode::Stream,
            json!({"garbage": 40}),
            FrameError::BadMagic,
        ),
        (
            EncryptionMode::Package,
            json!({"garbage": 40}),
            FrameError::BadMagic,
        ),
        (
            EncryptionMode::Package,
            json!({"raw": "0000000001020304"}),
            FrameError::BadPackage,
        ),
    ];
    for (i, (mode, garbage, error)) in cases.into_iter().enumerate() {
        let curve = Curve::ALL[i];
        let bits = BITS[i % 2];
        let what = format!("{curve} {mode:?} {bits:?} {garbage}");
        let script = json!({"curve": curve.as_str(), "connections": [
            [key_step("ok", mode, bits), {"expect": "setlisten"}, {"expect": "setlisten"},
             {"push": "pushmsg", "mid": 1}, {"await_answers": true},
             garbage, {"expect_close": true}],
            recovered(mode, bits),
        ]});
        let Some(mut gate) = Gate::start(&script) else {
            return;
        };
        let mut l = listener(
            Some(encryption(gate.server_key(), mode, bits)),
            60 + i as u64,
        );
        desire(&mut l);
        let mut d = Drive::new(l, 60 + i as u64, Chunks::Upto(11), Chunks::Upto(11));
        d.run(&mut gate, |_, _, _| {});
        let reason = CloseReason::Protocol(error);
        let first = first_connection(&d);
        assert_eq!(
            first[first.len() - 2..],
            [Ev::CloseRequested(reason), Ev::Closed(reason)],
            "{what}{}",
            d.context()
        );
        let stats = d.stats();
        assert_eq!(
            (stats.key_exchanges, stats.key_exchange_failures),
            (2, 0),
            "{what}"
        );
        check_keys(&d, curve, mode, bits, 2, &what);
        check_recovered(&d, &what);
    }
}

/// A valid key that is not the server's: the server's answer decrypts to garbage (bad
/// magic); with the right key set, the next connection works.
#[test]
fn a_server_key_that_is_not_the_servers() {
    for (i, mode) in MODES.into_iter().enumerate() {
        let curve = Curve::ALL[2 * i];
        let bits = BITS[i];
        let what = format!("{curve} {mode:?} {bits:?}");
        let script = json!({"curve": curve.as_str(), "connections": [
            [key_step("ok", mode, bits), {"expect_close": true}],
            recovered(mode, bits),
        ]});
        let Some(mut gate) = Gate::start(&script) else {
            return;
        };
        let right = gate.server_key();
        let wrong = ServerPublicKey::from_raw(curve, &gate.key("other_raw")).expect("other key");
        assert_ne!(right, wrong);
        let mut l = listener(Some(encryption(wrong, mode, bits)), 70 + i as u64);
        desire(&mut l);
        let mut d = Drive::new(l, 70 + i as u64, Chunks::Whole, Chunks::Whole);
        d.run(&mut gate, |seen, l, _| {
            if let Seen::Event(Ev::Closed(_)) = seen {
                l.set_encryption(Some(encryption(right, mode, bits)), &[3; 32])
                    .expect("the right key");
            }
        });
        let reason = CloseReason::Protocol(FrameError::BadMagic);
        assert_eq!(
            first_connection(&d),
            [
                Ev::Connected {
                    is_reconnect: false
                },
                Ev::CloseRequested(reason),
                Ev::Restored(code::CONNECTION_CLOSED),
                Ev::Closed(reason),
            ],
            "{what}{}",
            d.context()
        );
        check_keys(&d, curve, mode, bits, 2, &what);
        check_recovered(&d, &what);
    }
}

// ------------------------------------------------------------------------------------------
// Chunking: one recorded session replayed in-process

/// Replays `received` (the bytes of one connection) into a listener made as the recorded one
/// was, fed in chunks from `chunks`, alternating at random between `handle_input` and
/// `input_window`/`commit_input` when `in_place` is set; returns its events and the first
/// frame it sent (the plaintext `*key` quest).
///
/// Chunks never span one of `sync_points`: bytes after such a point answer what the listener
/// sent before it (a `setlisten`, say), and no server answers a quest before it was sent.
/// Within the stretches between them, any cut goes, frames and packages included.
fn replay(
    seed: u64,
    enc: &Encryption,
    received: &[u8],
    sync_points: &[usize],
    chunks: Chunks,
    rng: &mut Rng,
    in_place: bool,
) -> (Vec<Ev>, Vec<u8>) {
    let mut l = listener(Some(enc.clone()), seed);
    desire(&mut l);
    let mut events = Vec::new();
    l.connected(1);
    let first = l.transmit().to_vec();
    let mut now = 1;
    let mut at = 0;
    let mut stuck = 0;
    for end in sync_points.iter().copied().chain([received.len()]) {
        while at < end {
            now += 1;
            let take = chunks.size(rng, end - at);
            let piece = &received[at..at + take];
            let taken = if in_place && rng.next().is_multiple_of(2) {
                let w = l.input_window();
                let n = piece.len().min(w.len());
                w[..n].copy_from_slice(&piece[..n]);
                l.commit_input(now, n);
                l.poll_events(|e| events.push(Ev::of(&e)));
                n
            } else {
                l.handle_input(now, piece, |e| events.push(Ev::of(&e)))
            };
            at += taken;
            stuck = if taken == 0 { stuck + 1 } else { 0 };
            assert!(
                stuck < 100,
                "the replay makes no progress at {at}: {events:?}"
            );
            // The transport takes everything at once.
            let t = l.transmit().len();
            l.consume_transmit(t);
            l.poll_events(|e| events.push(Ev::of(&e)));
            assert!(!l.wants_close(), "the replay asked for a close: {events:?}");
        }
    }
    l.closed(now, CloseReason::PeerClosed);
    l.poll_events(|e| events.push(Ev::of(&e)));
    (events, first)
}

#[test]
fn a_recorded_session_in_any_chunks_gives_the_same_events() {
    for (i, mode) in MODES.into_iter().enumerate() {
        let curve = Curve::ALL[i + 2];
        let bits = BITS[1 - i];
        let what = format!("{curve} {mode:?} {bits:?}");
        // No *ping (its answer's seq would depend on the replay's clock): listens and pushes.
        let script = json!({"curve": curve.as_str(), "connections": [[
            key_step("ok", mode, bits),
            {"expect": "setlisten"}, {"expect": "setlisten"},
            {"push": "pushmsg", "mid": 1}, {"push": "pushgroupmsg", "mid": 2},
            {"push": "pushroommsg", "mid": 3}, {"push": "pushbroadcastmsg", "mid": 4},
            {"push": "pushevent", "mid": 5}, {"push": "ping"}, {"push": "pushmsg", "mid": 1},
            {"push": "pushmsg", "mid": 6, "oneway": true},
            {"push": "pushroommsg", "mid": 7, "payload": {"msg": "y".repeat(2000)}},
            {"await_answers": true},
            {"close": true},
        ]]});
        let Some(mut gate) = Gate::start(&script) else {
            return;
        };
        let seed = 80 + i as u64;
        let enc = encryption(gate.server_key(), mode, bits);
        let mut l = listener(Some(enc.clone()), seed);
        desire(&mut l);
        let mut d = Drive::new(l, seed, Chunks::Whole, Chunks::Whole);
        d.run(&mut gate, |_, _, _| {});
        let live = d.events.clone();
        // Four messages, the event, the ping, the oneway push, the long one (not the duplicate).
        assert_eq!(
            live.iter().filter(|e| e.is_push()).count(),
            8,
            "{what}{}",
            d.context()
        );
        let received = d.received[0].clone();
        let sync_points = d.sync_points[0].clone();
        // At least the *key answer and the two setlisten answers waited for the listener.
        assert!(sync_points.len() >= 3, "{what}: {sync_points:?}");
        let client_key = hex(&d.client_keys()[0]);

        let mut rng = Rng(seed);
        let plans = [
            Chunks::Whole,
            Chunks::Ones,
            Chunks::Upto(2),
            Chunks::Upto(17),
            Chunks::Upto(300),
        ];
        for round in 0..24 {
            let chunks = plans[round % plans.len()];
            let (events, first) = replay(
                seed,
                &enc,
                &received,
                &sync_points,
                chunks,
                &mut rng,
                round % 2 == 1,
            );
            assert!(
                first.windows(client_key.len()).any(|w| w == client_key),
                "{what}: the replay's *key must carry the recorded session's key"
            );
            assert_eq!(events, live, "{what}: round {round}, chunks {chunks:?}");
        }
    }
}

/// A package must hold one whole frame (the official receiver decrypts each package as one
/// frame; `wire::key_quest::parse_package_prefix` says a package ending before its frame is
/// a protocol error): the listener checks each package's frame length against the package's.
#[test]
fn a_frame_split_across_packages_is_a_protocol_error() {
    let (mode, bits) = (EncryptionMode::Package, Bits::Aes128);
    let script = json!({"curve": "secp256r1", "timeout_ms": 3000, "connections": [
        [key_step("ok", mode, bits), {"expect": "setlisten"}, {"expect": "setlisten"},
         {"push": "pushmsg", "mid": 1, "split": 20}, {"expect_close": true}],
        recovered(mode, bits),
    ]});
    let Some(mut gate) = Gate::start(&script) else {
        return;
    };
    let mut l = listener(Some(encryption(gate.server_key(), mode, bits)), 90);
    desire(&mut l);
    let mut d = Drive::new(l, 90, Chunks::Whole, Chunks::Whole);
    d.run(&mut gate, |_, _, _| {});
    let first = first_connection(&d);
    assert!(
        matches!(
            first[first.len() - 2..],
            [Ev::CloseRequested(CloseReason::Protocol(_)), Ev::Closed(_)]
        ),
        "{}",
        d.context()
    );
    assert!(!first.iter().any(Ev::is_push), "{}", d.context());
    check_recovered(&d, "split package");
}
