//! One client connection: the reader thread, quest handling and frame writing.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rmpv::Value;
use rtm_listen::wire::frame::{DEFAULT_MAX_FRAME, Frame, Status, parse_frame};

use crate::encryption::{KeyQuest, Opener, Sealer, SessionKeys};
use crate::listen::{ListenMethod, ListenParams, get, ids_are_arrays, type_name};
use crate::push::unix_ms;
use crate::record::{
    AnswerRecord, KeyExchangeOutcome, KeyExchangeRecord, MalformedRecord, Outcome, QuestRecord,
    StrayAnswer, StrayKind, Violation,
};
use crate::{Shared, lock};

/// FPNN: a required key is missing.
pub const CODE_KEY_NOT_FOUND: i64 = 10009;
/// FPNN: a key has the wrong type.
pub const CODE_TYPE_CONVERT: i64 = 10010;
/// FPNN: unknown method.
pub const CODE_UNKNOWN_METHOD: i64 = 20004;
/// RTM: bad pid or sign.
pub const CODE_INVALID_PID_OR_SIGN: i64 = 200002;
/// RTM: the same (pid, sign, salt, ts) was seen before on this connection.
pub const CODE_SAME_SIGN: i64 = 200006;
/// RTM: a parameter has the wrong shape.
pub const CODE_INVALID_PARAMETER: i64 = 200034;

/// How often a blocked reader wakes to look at the stop flags.
const POLL: Duration = Duration::from_millis(20);
/// Pause between the segments of a segmented write.
const SEGMENT_PAUSE: Duration = Duration::from_micros(200);
/// A client that does not read for this long makes writes fail.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The shortest read timeout while a reverse-pipelined batch waits for its window to end.
const MIN_READ_TIMEOUT: Duration = Duration::from_millis(1);
/// Nesting limit for payload decoding (payloads are flat maps; this only bounds the stack).
const MAX_DEPTH: usize = 64;

/// The write side of a connection, shared by its reader thread and by pushing threads.
///
/// Every frame goes through [`ConnIo::write`] (or `write_prefix_and_close`), which encrypts it
/// once the connection's key exchange succeeded: the lock that orders writes also orders the
/// cipher stream.
#[derive(Debug)]
pub(crate) struct ConnIo {
    stream: TcpStream,
    /// The write lock, holding the encryption of the sending side (`None`: plaintext).
    sealer: std::sync::Mutex<Option<Sealer>>,
    closed: AtomicBool,
    /// False while an encrypting gate waits for the connection's first frame: no push is
    /// written to it meanwhile.
    ready: AtomicBool,
}

impl ConnIo {
    pub(crate) fn new(stream: TcpStream, ready: bool) -> Self {
        Self {
            stream,
            sealer: std::sync::Mutex::new(None),
            closed: AtomicBool::new(false),
            ready: AtomicBool::new(ready),
        }
    }

    /// Whether pushes may be written (see `ready`).
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Writes `bytes`, in segments of at most `segment` bytes when set.
    pub(crate) fn write(&self, bytes: &[u8], segment: Option<usize>) -> io::Result<()> {
        let mut guard = lock(&self.sealer);
        self.write_locked(&mut guard, bytes, segment)
    }

    /// Writes the answer to `*key`, after switching the sending side to `sealer` when given
    /// (the answer is then its first encrypted frame), and lets pushes through: they take the
    /// same lock, so none can go out before the answer.
    fn answer_key(
        &self,
        sealer: Option<Sealer>,
        answer: &[u8],
        segment: Option<usize>,
    ) -> io::Result<()> {
        let mut guard = lock(&self.sealer);
        if let Some(s) = sealer {
            *guard = Some(s);
        }
        self.set_ready();
        self.write_locked(&mut guard, answer, segment)
    }

    fn write_locked(
        &self,
        sealer: &mut Option<Sealer>,
        bytes: &[u8],
        segment: Option<usize>,
    ) -> io::Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(io::ErrorKind::NotConnected.into());
        }
        let sealed;
        let bytes = match sealer {
            Some(s) => {
                sealed = s.seal(bytes);
                &sealed[..]
            }
            None => bytes,
        };
        let mut s = &self.stream;
        let r = match segment {
            Some(n) if n > 0 && n < bytes.len() => bytes.chunks(n).try_for_each(|chunk| {
                s.write_all(chunk)?;
                s.flush()?;
                thread::sleep(SEGMENT_PAUSE);
                Ok(())
            }),
            _ => s.write_all(bytes),
        };
        if r.is_err() {
            // Part of the frame may have been written: the stream cannot be resynchronised.
            self.closed.store(true, Ordering::SeqCst);
            let _ = self.stream.shutdown(Shutdown::Both);
        }
        r
    }

    /// Writes the first `n` bytes of `bytes` whole (of its encrypted form on an encrypted
    /// connection), then shuts the socket down.
    pub(crate) fn write_prefix_and_close(&self, bytes: &[u8], n: usize) -> io::Result<()> {
        let mut guard = lock(&self.sealer);
        let sealed;
        let bytes = match &mut *guard {
            Some(s) => {
                sealed = s.seal(bytes);
                &sealed[..]
            }
            None => bytes,
        };
        let r = (&self.stream).write_all(&bytes[..n.min(bytes.len())]);
        let _ = (&self.stream).flush();
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        drop(guard);
        r
    }

    /// Shuts the socket down (the reader thread then exits).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Builds a quest frame (twoway when `seq` is `Some`). Written by hand, independently of the
/// engine's builder. The method is cut to 255 bytes.
pub(crate) fn quest_frame(seq: Option<u32>, method: &str, payload: &[u8]) -> Vec<u8> {
    let m = &method.as_bytes()[..method.len().min(255)];
    let mut f = Vec::with_capacity(16 + m.len() + payload.len());
    f.extend_from_slice(b"FPNN");
    f.push(1);
    f.push(0x80);
    f.push(if seq.is_some() { 1 } else { 0 });
    f.push(m.len() as u8); // at most 255 by the cut above
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    if let Some(seq) = seq {
        f.extend_from_slice(&seq.to_le_bytes());
    }
    f.extend_from_slice(m);
    f.extend_from_slice(payload);
    f
}

/// Builds an answer frame.
pub(crate) fn answer_frame(seq: u32, status: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + payload.len());
    f.extend_from_slice(b"FPNN");
    f.extend_from_slice(&[1, 0x80, 2, status]);
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(payload);
    f
}

/// Encodes a value with rmpv.
pub(crate) fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, v);
    out
}

/// Decodes a payload that must be exactly one msgpack map (empty bytes read as the empty map).
fn decode_map(payload: &[u8]) -> Result<Vec<(Value, Value)>, String> {
    if payload.is_empty() {
        return Ok(Vec::new());
    }
    let mut rd = payload;
    let v = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH)
        .map_err(|e| format!("payload is not valid msgpack: {e}"))?;
    if !rd.is_empty() {
        return Err(format!("{} bytes after the payload's map", rd.len()));
    }
    match v {
        Value::Map(m) => Ok(m),
        other => Err(format!("payload is a {}, not a map", type_name(&other))),
    }
}

fn error_payload(code: i64, ex: &str) -> Value {
    Value::Map(vec![("code".into(), code.into()), ("ex".into(), ex.into())])
}

/// A frame copied out of the read buffer.
enum Incoming {
    Quest {
        seq: Option<u32>,
        method: String,
        payload: Vec<u8>,
    },
    Answer {
        seq: u32,
        status: u8,
        payload: Vec<u8>,
    },
}

/// A quest held back by reverse pipelining (see `Gate::set_reverse_pipelined`).
struct Queued {
    arrival: u64,
    seq: Option<u32>,
    method: String,
    payload: Vec<u8>,
}

/// The reader thread of connection `id`.
///
/// Answers from the client are handled as soon as they are parsed. Quests are handled at once
/// too, unless reverse pipelining is on: then the first quest opens a batch that collects every
/// quest completed by a read up to `window` after the read that completed the first one; the
/// batch is then handled last to first.
///
/// A `*key` quest as the first frame (on a gate with a server key) is handled at once, before
/// the rest of the read is parsed: the bytes after it are ciphertext.
pub(crate) fn serve(shared: Arc<Shared>, id: u64, mut stream: TcpStream, io: Arc<ConnIo>) {
    let mut conn = Conn {
        shared: &shared,
        id,
        io: &io,
        seen_signs: HashSet::new(),
        arrivals: 0,
        encrypted: false,
    };
    // The receiving side's decryption, once the key exchange succeeded.
    let mut opener: Option<Opener> = None;
    let mut first_frame = true;
    let mut timeout = POLL;
    let _ = stream.set_read_timeout(Some(timeout));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut batch: Vec<Queued> = Vec::new();
    // Set while a batch is open: quests completed by a read up to then join it.
    let mut deadline: Option<Instant> = None;
    'conn: while !shared.stopping() && !io.is_closed() {
        let want = deadline.map_or(POLL, |d| {
            d.saturating_duration_since(Instant::now())
                .clamp(MIN_READ_TIMEOUT, POLL)
        });
        if want != timeout && stream.set_read_timeout(Some(want)).is_ok() {
            timeout = want;
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => match &mut opener {
                None => buf.extend_from_slice(&chunk[..n]),
                Some(o) => {
                    if let Err(e) = o.open(&chunk[..n], &mut buf, DEFAULT_MAX_FRAME) {
                        conn.malformed(e);
                        break 'conn;
                    }
                }
            },
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
        // The arrival time of every frame this read completes.
        let now = Instant::now();
        loop {
            let (incoming, len) = match parse_frame(&buf, DEFAULT_MAX_FRAME) {
                Ok(Status::Complete(frame, len)) => (own(frame), len),
                Ok(Status::Partial(_)) => break,
                Err(e) => {
                    conn.malformed(format!("bad frame: {e}"));
                    break 'conn;
                }
            };
            buf.drain(..len);
            let first = std::mem::replace(&mut first_frame, false);
            if let Incoming::Quest {
                seq,
                method,
                payload,
            } = &incoming
                && method == "*key"
            {
                match conn.key_exchange(first, *seq, payload) {
                    KeyStep::Close => break 'conn,
                    KeyStep::Plain => {}
                    KeyStep::Encrypted(mut o) => {
                        // What followed `*key` in this read is already ciphertext.
                        let rest = std::mem::take(&mut buf);
                        if let Err(e) = o.open(&rest, &mut buf, DEFAULT_MAX_FRAME) {
                            conn.malformed(e);
                            break 'conn;
                        }
                        opener = Some(*o);
                    }
                }
                continue;
            }
            if first {
                // A plaintext connection: pushes may go to it from now on.
                io.set_ready();
            }
            let Incoming::Quest {
                seq,
                method,
                payload,
            } = incoming
            else {
                if !conn.handle(incoming) {
                    break 'conn;
                }
                continue;
            };
            let arrival = conn.arrivals;
            conn.arrivals += 1;
            if deadline.is_some_and(|d| now > d) {
                // Arrived after the open batch's window: that batch goes first.
                deadline = None;
                if !conn.run_batch(std::mem::take(&mut batch)) {
                    break 'conn;
                }
            }
            if deadline.is_none() {
                match shared.faults.reverse_window() {
                    Some(window) => deadline = Some(now + window),
                    None => {
                        if !conn.on_quest(arrival, 1, seq, method, &payload) {
                            break 'conn;
                        }
                        continue;
                    }
                }
            }
            batch.push(Queued {
                arrival,
                seq,
                method,
                payload,
            });
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            deadline = None;
            if !conn.run_batch(std::mem::take(&mut batch)) {
                break 'conn;
            }
        }
    }
    // Quests already received are still handled when the client closes or breaks the
    // protocol (not when the gate stops or closed the connection itself).
    if !batch.is_empty() && !shared.stopping() && !io.is_closed() {
        conn.run_batch(batch);
    }
    // Not live any more before the peer can see the close.
    shared.remove_conn(id);
    io.close();
}

fn own(frame: Frame<'_>) -> Incoming {
    match frame {
        Frame::Quest {
            seq,
            method,
            payload,
        } => Incoming::Quest {
            seq,
            method: String::from_utf8_lossy(method).into_owned(),
            payload: payload.to_vec(),
        },
        Frame::Answer {
            seq,
            status,
            payload,
        } => Incoming::Answer {
            seq,
            status,
            payload: payload.to_vec(),
        },
    }
}

struct Conn<'a> {
    shared: &'a Shared,
    id: u64,
    io: &'a ConnIo,
    /// (pid, sign, salt, ts) of every accepted quest, for SAME_SIGN.
    seen_signs: HashSet<(i64, Vec<u8>, i64, i64)>,
    /// Quests received so far on this connection (the next quest's `arrival`).
    arrivals: u64,
    /// The key exchange succeeded on this connection.
    encrypted: bool,
}

/// What the reader does after a `*key` quest.
enum KeyStep {
    /// Close the connection (nothing was answered).
    Close,
    /// Answered with an error: go on in plaintext.
    Plain,
    /// Answered: decrypt everything from now on with this.
    Encrypted(Box<Opener>),
}

/// What the gate sends back to a `*key` quest.
enum KeyReply {
    /// Nothing: the connection is closed.
    Close,
    /// A plaintext answer (none for a oneway quest); the connection stays plaintext.
    Plain(Option<Vec<u8>>),
    /// The empty OK answer, encrypted with these keys (which then encrypt both directions).
    Encrypted(SessionKeys, Vec<u8>),
}

impl Conn<'_> {
    fn malformed(&self, reason: String) {
        self.shared.with_state(|st| {
            st.malformed.push(MalformedRecord {
                conn: self.id,
                reason,
            })
        });
    }

    /// Handles one frame; false closes the connection.
    fn handle(&mut self, incoming: Incoming) -> bool {
        match incoming {
            Incoming::Answer {
                seq,
                status,
                payload,
            } => self.on_answer(seq, status, &payload),
            Incoming::Quest {
                seq,
                method,
                payload,
            } => {
                let arrival = self.arrivals;
                self.arrivals += 1;
                self.on_quest(arrival, 1, seq, method, &payload)
            }
        }
    }

    /// Handles a reverse-pipelined batch, last arrived first; false closes the connection
    /// (the quests not handled yet are dropped).
    fn run_batch(&mut self, batch: Vec<Queued>) -> bool {
        let n = batch.len();
        batch
            .into_iter()
            .rev()
            .all(|q| self.on_quest(q.arrival, n, q.seq, q.method, &q.payload))
    }

    fn on_answer(&mut self, seq: u32, status: u8, payload: &[u8]) -> bool {
        if payload.is_empty() {
            // The C++ server refuses a zero-length answer payload and closes the connection.
            self.malformed(format!(
                "answer to seq {seq} with an empty payload (must be 0x80)"
            ));
            return false;
        }
        let map = match decode_map(payload) {
            Ok(m) => m,
            Err(e) => {
                self.malformed(format!("answer to seq {seq}: {e}"));
                return false;
            }
        };
        let payload = Value::Map(map);
        let id = self.id;
        self.shared.with_state(|st| match st.pending.get(&seq) {
            Some(p) if p.conn == id => {
                let p = st.pending.remove(&seq).expect("present");
                st.answered.insert((id, seq));
                st.answers.push(AnswerRecord {
                    conn: id,
                    seq,
                    method: p.method,
                    status,
                    payload,
                    latency: p.sent_at.elapsed(),
                });
            }
            _ => {
                let kind = if st.answered.contains(&(id, seq)) {
                    StrayKind::Repeat
                } else {
                    StrayKind::Unknown
                };
                st.stray.push(StrayAnswer {
                    conn: id,
                    seq,
                    status,
                    payload,
                    kind,
                });
            }
        });
        true
    }

    /// Handles a `*key` quest (`first`: it is the connection's first frame) as the C++ server
    /// does (reference §4.2): derive the session keys, switch the sending side to encryption,
    /// answer the empty map encrypted. Anything wrong closes the connection unanswered. The
    /// record is made before the answer is written (as for quests).
    fn key_exchange(&mut self, first: bool, seq: Option<u32>, payload: &[u8]) -> KeyStep {
        let map = decode_map(payload);
        let public_key_was_bin = map
            .as_ref()
            .is_ok_and(|m| matches!(get(m, "publicKey"), Some(Value::Binary(_))));
        let (outcome, reply) = match &map {
            Err(e) => (
                KeyExchangeOutcome::Closed(format!("*key: {e}")),
                KeyReply::Close,
            ),
            Ok(m) => self.exchange(first, seq, m),
        };
        let payload = map.map_or(Value::Nil, Value::Map);
        self.shared.with_state(|st| {
            st.key_exchanges.push(KeyExchangeRecord {
                conn: self.id,
                seq,
                payload,
                public_key_was_bin,
                outcome,
            })
        });
        let segment = self.shared.faults.segment();
        match reply {
            KeyReply::Close => KeyStep::Close,
            KeyReply::Plain(None) => {
                self.io.set_ready();
                KeyStep::Plain
            }
            KeyReply::Plain(Some(frame)) => match self.io.answer_key(None, &frame, segment) {
                Ok(()) => KeyStep::Plain,
                Err(_) => KeyStep::Close,
            },
            KeyReply::Encrypted(keys, frame) => {
                let sealer = Sealer::new(keys.clone());
                match self.io.answer_key(Some(sealer), &frame, segment) {
                    Ok(()) => {
                        self.encrypted = true;
                        KeyStep::Encrypted(Box::new(Opener::new(keys)))
                    }
                    Err(_) => KeyStep::Close,
                }
            }
        }
    }

    /// Decides what to do with a `*key` quest.
    fn exchange(
        &self,
        first: bool,
        seq: Option<u32>,
        map: &[(Value, Value)],
    ) -> (KeyExchangeOutcome, KeyReply) {
        let close = |why: &str| (KeyExchangeOutcome::Closed(why.to_owned()), KeyReply::Close);
        if !first {
            return close("*key is not the connection's first frame");
        }
        if let Some(code) = self.shared.faults.key_error() {
            let frame = seq.map(|seq| {
                answer_frame(
                    seq,
                    1,
                    &encode(&error_payload(code, "key exchange refused")),
                )
            });
            return (
                KeyExchangeOutcome::ErrorAnswered { code },
                KeyReply::Plain(frame),
            );
        }
        let Some(key) = &self.shared.config.encryption else {
            return close("the gate has no server key (encryption is not configured)");
        };
        let quest = match KeyQuest::parse(map) {
            Ok(q) => q,
            Err(e) => return close(&e),
        };
        let Some(seq) = seq else {
            return close("a oneway *key cannot be answered");
        };
        let bad_bits = || close(&format!("bits {} (must be 128 or 256)", quest.bits));
        let Ok(bits) = u16::try_from(quest.bits) else {
            return bad_bits();
        };
        let secret = match key.shared_secret(&quest.public_key) {
            Ok(s) => s,
            Err(e) => return close(&e.0),
        };
        let Some(keys) = SessionKeys::derive(&secret, quest.bits, quest.mode) else {
            return bad_bits();
        };
        let answer = answer_frame(seq, 0, &encode(&Value::Map(Vec::new())));
        (
            KeyExchangeOutcome::Encrypted {
                mode: quest.mode,
                bits,
            },
            KeyReply::Encrypted(keys, answer),
        )
    }

    fn on_quest(
        &mut self,
        arrival: u64,
        batch_len: usize,
        seq: Option<u32>,
        method: String,
        payload: &[u8],
    ) -> bool {
        if self.shared.config.force_encrypt && !self.encrypted && !method.starts_with('*') {
            // The C++ server's forceEncrypt.userMethods: closed before any worker sees it.
            self.malformed(format!(
                "plaintext quest {method} on a gate that requires encryption (force_encrypt)"
            ));
            return false;
        }
        let map = match decode_map(payload) {
            Ok(m) => m,
            Err(e) => {
                self.malformed(format!("quest {method}: {e}"));
                return false;
            }
        };
        let ids_were_arrays = ids_are_arrays(&map);
        let faults = &self.shared.faults;
        let (outcome, answer) = if faults.withhold() {
            (Outcome::Withheld, None)
        } else {
            let delay = faults.answer_delay();
            if !delay.is_zero() && !self.sleep(delay) {
                return false;
            }
            let (outcome, answer) = self.process(&method, &map);
            (outcome, Some(answer))
        };
        self.shared.with_state(|st| {
            st.quests.push(QuestRecord {
                conn: self.id,
                seq,
                method,
                payload: Value::Map(map),
                ids_were_arrays,
                outcome: outcome.clone(),
                arrival,
                batch_len,
            })
        });
        if let (Some(seq), Some((status, body))) = (seq, answer) {
            let frame = answer_frame(seq, status, &encode(&body));
            if self.io.write(&frame, faults.segment()).is_err() {
                return false;
            }
        }
        true
    }

    /// Sleeps `d` in slices; false if the gate stops or the connection closes meanwhile.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.shared.stopping() || self.io.is_closed() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep((end - now).min(POLL));
        }
    }

    /// Checks and applies a quest; returns the outcome and the answer's (status, payload).
    fn process(&mut self, method: &str, map: &[(Value, Value)]) -> (Outcome, (u8, Value)) {
        let err = |code: i64, ex: String| {
            let body = error_payload(code, &ex);
            (Outcome::Error { code, ex }, (1, body))
        };
        if method == "*ping" {
            let body = Value::Map(vec![("ts".into(), unix_ms().into())]);
            return (Outcome::Ok, (0, body));
        }
        if method.starts_with('*') {
            return err(CODE_UNKNOWN_METHOD, format!("Unknown method:{method}"));
        }
        if let Err((code, ex)) = self.check_auth(method, map) {
            return err(code, ex);
        }
        let Some(op) = ListenMethod::from_name(method) else {
            return err(CODE_UNKNOWN_METHOD, format!("Unknown method:{method}"));
        };
        match ListenParams::parse(map) {
            Ok(params) => {
                self.shared.with_state(|st| {
                    if let Some(c) = st.conns.get_mut(&self.id) {
                        params.apply(op, &mut c.listen);
                    }
                });
                (Outcome::Ok, (0, Value::Map(Vec::new())))
            }
            Err(bad) => {
                let ex = format!("invalid parameter {}: {}", bad.key, bad.detail);
                self.shared.with_state(|st| {
                    st.violations.push(Violation {
                        conn: self.id,
                        method: method.to_owned(),
                        key: bad.key,
                        detail: bad.detail,
                    })
                });
                err(CODE_INVALID_PARAMETER, ex)
            }
        }
    }

    fn check_auth(&mut self, method: &str, map: &[(Value, Value)]) -> Result<(), (i64, String)> {
        let want =
            |key: &str| get(map, key).ok_or((CODE_KEY_NOT_FOUND, format!("missing key {key}")));
        let int = |key: &str| {
            want(key)?
                .as_i64()
                .ok_or((CODE_TYPE_CONVERT, format!("key {key} is not an int64")))
        };
        let pid = int("pid")?;
        let salt = int("salt")?;
        let ts = int("ts")?;
        let sign = match want("sign")? {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Binary(b) => b.clone(),
            _ => return Err((CODE_TYPE_CONVERT, "key sign is not a string".to_owned())),
        };
        let config = &self.shared.config;
        let bad = || (CODE_INVALID_PID_OR_SIGN, "invalid pid or sign".to_owned());
        if self.shared.faults.reject_sign() || pid != i64::from(config.pid) {
            return Err(bad());
        }
        let expected =
            rtm_listen::rtm::sign::sign(config.pid, config.secret.as_bytes(), salt, method, ts);
        if sign != expected {
            return Err(bad());
        }
        if !self.seen_signs.insert((pid, sign, salt, ts)) {
            return Err((CODE_SAME_SIGN, "same sign".to_owned()));
        }
        Ok(())
    }
}
