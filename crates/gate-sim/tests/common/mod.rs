//! A minimal hand-rolled RTM listener client for driving the gate in tests: std `TcpStream`,
//! frames built with `rtm_listen::rtm::listen` and reassembled with `FrameReader`, payloads
//! decoded with rmpv.
//!
//! The client can also speak FPNN encryption ([`Client::key_exchange`]): its side is written
//! here independently of the gate's: CFB-128 by hand over the `aes` block cipher (the gate uses
//! `cfb-mode`), ECDH by hand with the curves' group arithmetic (the gate uses
//! `elliptic-curve`'s `ecdh`).
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
    /// FPNN encryption, once [`Client::key_exchange`] ran.
    enc: Option<ClientEnc>,
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
            enc: None,
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

    /// Sends one whole frame (encrypted once the key exchange ran).
    pub fn send(&mut self, bytes: &[u8]) {
        let wire = match &mut self.enc {
            Some(enc) => enc.seal(bytes),
            None => bytes.to_vec(),
        };
        self.stream.write_all(&wire).expect("write to the gate");
    }

    /// Sends bytes as they are, whatever the encryption.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the gate");
    }

    /// Sends the plaintext `*key` quest of `spec`, switches both directions to encryption (the
    /// receiving side before sending, like the C++ client) and returns the seq.
    pub fn start_key_exchange(&mut self, spec: &EncSpec) -> u32 {
        self.start_key_exchange_then(spec, &[])
    }

    /// [`Client::start_key_exchange`], with `trailing` (already wire bytes) in the same write.
    pub fn start_key_exchange_then(&mut self, spec: &EncSpec, trailing: &[u8]) -> u32 {
        self.seq += 1;
        let (client_pub, secret) = client_ecdh(spec.curve, &spec.client_priv, &spec.server_pub);
        let payload = key_payload(&client_pub, spec.stream, spec.bits, spec.pubkey_as_str);
        let mut buf = vec![0u8; payload.len() + 64];
        let n = build_quest(&mut buf, Some(self.seq), "*key", &Raw(&payload)).unwrap();
        self.enc = Some(ClientEnc::new(&secret, spec.stream, spec.bits));
        buf.truncate(n);
        buf.extend_from_slice(trailing);
        self.send_raw(&buf);
        self.seq
    }

    /// Sends several frames in one write (each sealed on its own once encrypted).
    pub fn send_frames(&mut self, frames: &[Vec<u8>]) {
        let mut wire = Vec::new();
        for f in frames {
            match &mut self.enc {
                Some(enc) => wire.extend_from_slice(&enc.seal(f)),
                None => wire.extend_from_slice(f),
            }
        }
        self.send_raw(&wire);
    }

    /// [`Client::start_key_exchange`], then asserts the (decrypted) empty OK answer.
    pub fn key_exchange(&mut self, spec: &EncSpec) {
        let seq = self.start_key_exchange(spec);
        let answer = self.answer_to(seq, WAIT).expect("answer to *key");
        assert_eq!(answer, (0, Value::Map(vec![])), "answer to *key");
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
                match &mut self.enc {
                    Some(enc) => enc.open(&chunk[..n], &mut self.pending),
                    None => self.pending.extend_from_slice(&chunk[..n]),
                }
                self.reads += 1;
            }
            // EINTR: a signal (e.g. from a child process another test spawned) is no EOF.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
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
    demo_client_with(addr, answer_oneway, None)
}

/// [`demo_client`], doing the key exchange of `enc` first on every connection when given.
pub fn demo_client_with(
    addr: SocketAddr,
    answer_oneway: bool,
    enc: Option<&EncSpec>,
) -> Vec<(usize, Option<u32>, String, Value)> {
    use rtm_gate_sim::demo::{GID, RID, UID};
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut got = Vec::new();
    let mut index = 0;
    'outer: while Instant::now() < deadline {
        let mut c = Client::connect(addr);
        if let Some(spec) = enc {
            c.key_exchange(spec);
        }
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

// ---- FPNN encryption, client side --------------------------------------------------------------

/// What a client needs to encrypt: the server's curve and public key, its own private key, the
/// mode and AES bits, and how to pack `publicKey` (str like the C++ client, bin like Go/Python).
#[derive(Debug, Clone)]
pub struct EncSpec {
    pub curve: rtm_gate_sim::Curve,
    /// `X || Y`.
    pub server_pub: Vec<u8>,
    /// Big-endian scalar, `curve.secret_len()` bytes.
    pub client_priv: Vec<u8>,
    pub stream: bool,
    pub bits: u16,
    pub pubkey_as_str: bool,
}

/// The client's public key `X || Y` and the shared secret (X of client_priv · server_pub).
pub fn client_ecdh(
    curve: rtm_gate_sim::Curve,
    client_priv: &[u8],
    server_pub: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    use rtm_gate_sim::Curve;
    match curve {
        Curve::Secp256k1 => ecdh::<k256::Secp256k1>(client_priv, server_pub),
        Curve::Secp256r1 => ecdh::<p256::NistP256>(client_priv, server_pub),
        Curve::Secp224r1 => ecdh::<p224::NistP224>(client_priv, server_pub),
        Curve::Secp192r1 => ecdh::<p192::NistP192>(client_priv, server_pub),
    }
}

fn ecdh<C: elliptic_curve::CurveArithmetic>(
    client_priv: &[u8],
    server_pub: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    use elliptic_curve::group::Group;
    use elliptic_curve::point::AffineCoordinates;
    use elliptic_curve::{AffinePoint, FieldBytes, NonZeroScalar, ProjectivePoint};
    let scalar: NonZeroScalar<C> = NonZeroScalar::try_from(client_priv).expect("client scalar");
    let public: AffinePoint<C> = (ProjectivePoint::<C>::generator() * *scalar).into();
    let n = server_pub.len() / 2;
    let x = FieldBytes::<C>::try_from(&server_pub[..n]).expect("x");
    let y = FieldBytes::<C>::try_from(&server_pub[n..]).expect("y");
    let server: AffinePoint<C> =
        Option::from(AffinePoint::<C>::from_coordinates(&x, &y)).expect("server point");
    let shared: AffinePoint<C> = (ProjectivePoint::<C>::from(server) * *scalar).into();
    let mut pub_xy = public.x().to_vec();
    pub_xy.extend_from_slice(&public.y());
    (pub_xy, shared.x().to_vec())
}

/// The `*key` payload `{publicKey, streamMode, bits}`, encoded by hand as msgpack-c would
/// (`publicKey` as str8 or bin8, `bits` as uint8 / uint16).
pub fn key_payload(public_key: &[u8], stream: bool, bits: u16, as_str: bool) -> Vec<u8> {
    let mut p = vec![0x83, 0xa9];
    p.extend_from_slice(b"publicKey");
    p.push(if as_str { 0xd9 } else { 0xc4 });
    p.push(u8::try_from(public_key.len()).unwrap());
    p.extend_from_slice(public_key);
    p.push(0xaa);
    p.extend_from_slice(b"streamMode");
    p.push(if stream { 0xc3 } else { 0xc2 });
    p.push(0xa4);
    p.extend_from_slice(b"bits");
    match u8::try_from(bits) {
        Ok(b) if b >= 0x80 => p.extend_from_slice(&[0xcc, b]),
        Ok(b) => p.push(b),
        Err(_) => {
            p.push(0xcd);
            p.extend_from_slice(&bits.to_be_bytes());
        }
    }
    p
}

/// AES-CFB-128 written by hand over the block cipher: keystream block = E(register); each
/// ciphertext byte goes into the register.
pub struct Cfb {
    aes: Aes,
    register: [u8; 16],
    keystream: [u8; 16],
    pos: usize,
}

enum Aes {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl Cfb {
    pub fn new(key: &[u8], iv: &[u8; 16]) -> Cfb {
        use aes::cipher::KeyInit;
        let aes = match key.len() {
            16 => Aes::A128(Box::new(aes::Aes128::new_from_slice(key).unwrap())),
            32 => Aes::A256(Box::new(aes::Aes256::new_from_slice(key).unwrap())),
            n => panic!("AES key of {n} bytes"),
        };
        Cfb {
            aes,
            register: *iv,
            keystream: [0; 16],
            pos: 0,
        }
    }

    fn step(&mut self, byte: u8, decrypt: bool) -> u8 {
        use aes::cipher::BlockCipherEncrypt;
        if self.pos == 0 {
            let mut block = aes::Block::from(self.register);
            match &self.aes {
                Aes::A128(a) => a.encrypt_block(&mut block),
                Aes::A256(a) => a.encrypt_block(&mut block),
            }
            self.keystream.copy_from_slice(&block);
        }
        let out = byte ^ self.keystream[self.pos];
        self.register[self.pos] = if decrypt { byte } else { out };
        self.pos = (self.pos + 1) % 16;
        out
    }

    pub fn encrypt(&mut self, data: &mut [u8]) {
        for b in data {
            *b = self.step(*b, false);
        }
    }

    pub fn decrypt(&mut self, data: &mut [u8]) {
        for b in data {
            *b = self.step(*b, true);
        }
    }
}

/// The AES key and IV from the shared secret (reference §4.1).
pub fn session_key(secret: &[u8], bits: u16) -> (Vec<u8>, [u8; 16]) {
    use md5::Digest;
    let key = match bits {
        128 => secret[..16].to_vec(),
        256 if secret.len() == 32 => secret.to_vec(),
        256 => sha2::Sha256::digest(secret).to_vec(),
        b => panic!("bits {b}"),
    };
    (key, md5::Md5::digest(secret).into())
}

/// A client's encryption state.
pub struct ClientEnc {
    key: Vec<u8>,
    iv: [u8; 16],
    stream: bool,
    send: Cfb,
    recv: Cfb,
    /// Package mode: received bytes of an incomplete package.
    raw: Vec<u8>,
}

impl ClientEnc {
    pub fn new(secret: &[u8], stream: bool, bits: u16) -> ClientEnc {
        let (key, iv) = session_key(secret, bits);
        ClientEnc {
            send: Cfb::new(&key, &iv),
            recv: Cfb::new(&key, &iv),
            key,
            iv,
            stream,
            raw: Vec::new(),
        }
    }

    /// The wire bytes of one frame.
    pub fn seal(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut body = frame.to_vec();
        if self.stream {
            self.send.encrypt(&mut body);
            return body;
        }
        Cfb::new(&self.key, &self.iv).encrypt(&mut body);
        let mut wire = (frame.len() as u32).to_le_bytes().to_vec();
        wire.extend_from_slice(&body);
        wire
    }

    /// Decrypts received bytes into `out` (whole packages only in package mode).
    pub fn open(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.stream {
            let start = out.len();
            out.extend_from_slice(bytes);
            self.recv.decrypt(&mut out[start..]);
            return;
        }
        self.raw.extend_from_slice(bytes);
        while self.raw.len() >= 4 {
            let len = u32::from_le_bytes(self.raw[..4].try_into().unwrap()) as usize;
            if self.raw.len() < 4 + len {
                break;
            }
            let mut body = self.raw[4..4 + len].to_vec();
            Cfb::new(&self.key, &self.iv).decrypt(&mut body);
            out.extend_from_slice(&body);
            self.raw.drain(..4 + len);
        }
    }
}
