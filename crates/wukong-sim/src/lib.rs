//! A **simulation** of a WuKongIM server's binary protocol, for rtm-listen's WuKongIM listener
//! tests and demo. It is not WuKongIM: no WuKongIM server can run on these machines (see
//! `protocol/wukongim.md` §d). It follows the reference's server-side rules:
//!
//! - CONNECT parsed from its layout; the token checked (a wrong one is CONNACK `AuthFail`, 2);
//! - CONNACK with the server version (the lower of the client's and the simulator's), the time
//!   difference, and, when encryption is on, base64 of a fresh X25519 public key and a
//!   16-character salt (the AES IV); the AES key is the first 16 characters of the hex MD5 of
//!   base64 of the shared secret;
//! - RECVs encoded by version (`expire` from 3, `message_seq` u64 from 6), their payloads
//!   base64 of AES-128-CBC/PKCS#7, their `msg_key` the hex MD5 of base64 of AES-CBC of the
//!   fields and the encrypted payload;
//! - RECVACKs recorded; unacknowledged RECVs re-sent on demand with the DUP flag (the server
//!   does it every 60 s);
//! - PING answered with PONG, DISCONNECT 12 for a kick, EVENT packets, drops mid-packet.
//!
//! One client at a time: a new connection replaces the previous one (as a login of the same
//! uid and device flag does). Independent of the engine: this crate does not depend on
//! rtm-listen.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use x25519_dalek::{PublicKey, StaticSecret};

/// Packet types (the header byte's high nibble).
pub mod kind {
    /// CONNECT.
    pub const CONNECT: u8 = 1;
    /// CONNACK.
    pub const CONNACK: u8 = 2;
    /// RECV.
    pub const RECV: u8 = 5;
    /// RECVACK.
    pub const RECVACK: u8 = 6;
    /// PING.
    pub const PING: u8 = 7;
    /// PONG.
    pub const PONG: u8 = 8;
    /// DISCONNECT.
    pub const DISCONNECT: u8 = 9;
    /// EVENT.
    pub const EVENT: u8 = 12;
}

/// The simulator's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Encrypt payloads (the server default); false is `disableEncryption: true`.
    pub encrypt: bool,
    /// The highest protocol version the simulator speaks (the CONNACK carries the lower of
    /// this and the client's).
    pub max_version: u8,
    /// The token a login must carry (`None`: any).
    pub token: Option<String>,
    /// The CONNACK's `time_diff`.
    pub time_diff: i64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            encrypt: true,
            max_version: 5,
            token: None,
            time_diff: -15,
        }
    }
}

/// A message the simulator pushes as a RECV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// The header flags (DUP 8, SyncOnce 4, RedDot 2, NoPersist 1).
    pub flags: u8,
    /// The setting byte (topic bit 8 is set from `topic`).
    pub setting: u8,
    /// Sender.
    pub from_uid: String,
    /// Channel (for person channels, the other party).
    pub channel_id: String,
    /// Channel type.
    pub channel_type: u8,
    /// The sender's message number.
    pub client_msg_no: String,
    /// Message id.
    pub message_id: i64,
    /// Sequence in the channel.
    pub message_seq: u64,
    /// Unix seconds.
    pub timestamp: i32,
    /// Topic.
    pub topic: Option<String>,
    /// The plaintext payload.
    pub payload: Vec<u8>,
}

impl Msg {
    /// A message with this id, from `from` on channel `channel_id` of `channel_type`.
    pub fn new(
        message_id: i64,
        from: &str,
        channel_id: &str,
        channel_type: u8,
        payload: &[u8],
    ) -> Self {
        Self {
            flags: 0,
            setting: 0,
            from_uid: from.into(),
            channel_id: channel_id.into(),
            channel_type,
            client_msg_no: format!("cmn-{message_id}"),
            message_id,
            message_seq: message_id as u64 & 0xffff,
            timestamp: 1_700_000_000,
            topic: None,
            payload: payload.to_vec(),
        }
    }
}

/// A login the simulator saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The version the client asked for.
    pub version: u8,
    /// The device flag.
    pub device_flag: u8,
    /// The device id.
    pub device_id: String,
    /// The uid.
    pub uid: String,
    /// Whether the token was accepted.
    pub accepted: bool,
    /// The client timestamp (ms).
    pub client_timestamp: i64,
}

/// A RECVACK the simulator received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Its header flags.
    pub flags: u8,
    /// Message id.
    pub message_id: i64,
    /// Sequence.
    pub message_seq: u64,
}

/// The connection's keys and version.
struct Session {
    /// Which connection (its accept count).
    id: usize,
    stream: TcpStream,
    version: u8,
    keys: Option<([u8; 16], [u8; 16])>,
}

#[derive(Default)]
struct Shared {
    session: Option<Session>,
    logins: Vec<Login>,
    acks: Vec<Ack>,
    /// Sent and not acknowledged, in order.
    unacked: Vec<Msg>,
    pings: usize,
    connections: usize,
    /// Bytes the client sent that the simulator could not read (a protocol error).
    errors: Vec<String>,
}

/// A running simulator; stops when dropped.
pub struct WkSim {
    addr: SocketAddr,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes a packet: the header byte, the remaining length, the body.
pub fn packet(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![header];
    let mut n = body.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(body);
    out
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A field reader over a packet body.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "short packet"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn int(&mut self, n: usize) -> io::Result<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |v, &b| v << 8 | u64::from(b)))
    }
    fn string(&mut self) -> io::Result<String> {
        let n = self.int(2)? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
}

/// AES-128-CBC/PKCS#7 then base64.
fn seal(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize((plain.len() / 16 + 1) * 16, 0);
    let ct = cbc::Encryptor::<Aes128>::new(key.into(), iv.into())
        .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    B64.encode(ct).into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A RECV packet for `m` at `version`, sealed with `keys` when given.
pub fn encode_recv(m: &Msg, version: u8, keys: Option<&([u8; 16], [u8; 16])>) -> Vec<u8> {
    let mut setting = m.setting;
    if m.topic.is_some() {
        setting |= 0b1000;
    }
    let payload = match keys {
        Some((k, iv)) => seal(k, iv, &m.payload),
        None => m.payload.clone(),
    };
    let msg_key = match keys {
        Some((k, iv)) => {
            let mut s = format!(
                "{}{}{}{}{}{}{}",
                m.message_id,
                m.message_seq,
                m.client_msg_no,
                m.timestamp,
                m.from_uid,
                m.channel_id,
                m.channel_type
            )
            .into_bytes();
            s.extend_from_slice(&payload);
            hex(&Md5::digest(seal(k, iv, &s)))
        }
        None => String::new(),
    };
    let mut b = vec![setting];
    put_str(&mut b, msg_key.as_bytes());
    put_str(&mut b, m.from_uid.as_bytes());
    put_str(&mut b, m.channel_id.as_bytes());
    b.push(m.channel_type);
    if version >= 3 {
        b.extend_from_slice(&0u32.to_be_bytes());
    }
    put_str(&mut b, m.client_msg_no.as_bytes());
    b.extend_from_slice(&m.message_id.to_be_bytes());
    if version >= 6 {
        b.extend_from_slice(&m.message_seq.to_be_bytes());
    } else {
        b.extend_from_slice(&(m.message_seq as u32).to_be_bytes());
    }
    b.extend_from_slice(&m.timestamp.to_be_bytes());
    if let Some(t) = &m.topic {
        put_str(&mut b, t.as_bytes());
    }
    b.extend_from_slice(&payload);
    packet(kind::RECV << 4 | (m.flags & 0x0f), &b)
}

/// Reads one whole packet: (header byte, body). `Ok(None)` at the end of the stream.
fn read_packet(s: &mut TcpStream, stop: &AtomicBool) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut b0 = [0u8; 1];
    loop {
        match s.read(&mut b0) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e),
        }
    }
    let t = b0[0] >> 4;
    if t == kind::PING || t == kind::PONG {
        return Ok(Some((b0[0], Vec::new())));
    }
    let mut len = 0usize;
    for i in 0..4 {
        let mut b = [0u8; 1];
        read_exact(s, &mut b, stop)?;
        len |= usize::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            let mut body = vec![0u8; len];
            read_exact(s, &mut body, stop)?;
            return Ok(Some((b0[0], body)));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "length over 4 bytes",
    ))
}

fn read_exact(s: &mut TcpStream, mut buf: &mut [u8], stop: &AtomicBool) -> io::Result<()> {
    while !buf.is_empty() {
        match s.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::Relaxed) {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap_or_else(|_| {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> (i % 16 * 8)) as u8 ^ i as u8;
        }
    });
    b
}

impl WkSim {
    /// Starts a simulator on a free loopback port.
    pub fn start(cfg: SimConfig) -> io::Result<Self> {
        Self::start_on("127.0.0.1:0", cfg)
    }

    /// Starts a simulator on `addr`.
    pub fn start_on(addr: &str, cfg: SimConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, st) = (shared.clone(), stop.clone());
        thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let (sh, st, cfg) = (sh.clone(), st.clone(), cfg.clone());
                        thread::spawn(move || serve(s, &cfg, &sh, &st));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Self { addr, shared, stop })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn state(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared.0)
    }

    /// Waits until `f` holds over the simulator's state, at most `limit`.
    pub fn wait(&self, limit: Duration, mut f: impl FnMut(&SimView<'_>) -> bool) -> bool {
        let end = Instant::now() + limit;
        let mut g = self.state();
        loop {
            if f(&SimView(&g)) {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            g = self
                .shared
                .1
                .wait_timeout(g, (end - now).min(Duration::from_millis(20)))
                .map(|r| r.0)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// A snapshot of what it saw.
    pub fn view<T>(&self, f: impl FnOnce(&SimView<'_>) -> T) -> T {
        f(&SimView(&self.state()))
    }

    /// Whether a client is logged in.
    pub fn logged_in(&self) -> bool {
        self.state().session.is_some()
    }

    /// Writes raw bytes to the logged-in client.
    pub fn send_raw(&self, bytes: &[u8]) -> io::Result<()> {
        let mut g = self.state();
        let s = g.session.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        s.stream.write_all(bytes)
    }

    /// The RECV packet for `m` on the current connection (its version and keys).
    pub fn encode(&self, m: &Msg) -> io::Result<Vec<u8>> {
        let g = self.state();
        let s = g.session.as_ref().ok_or(io::ErrorKind::NotConnected)?;
        Ok(encode_recv(m, s.version, s.keys.as_ref()))
    }

    /// Pushes `m` as a RECV, remembered until acknowledged.
    pub fn send(&self, m: &Msg) -> io::Result<()> {
        let bytes = self.encode(m)?;
        let mut g = self.state();
        g.unacked.retain(|u| u.message_id != m.message_id);
        g.unacked.push(m.clone());
        let s = g.session.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        s.stream.write_all(&bytes)
    }

    /// Pushes several messages in one write.
    pub fn send_all(&self, ms: &[Msg]) -> io::Result<()> {
        let mut bytes = Vec::new();
        for m in ms {
            bytes.extend(self.encode(m)?);
        }
        let mut g = self.state();
        for m in ms {
            g.unacked.retain(|u| u.message_id != m.message_id);
            g.unacked.push(m.clone());
        }
        let s = g.session.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        s.stream.write_all(&bytes)
    }

    /// Re-sends every unacknowledged message with the DUP flag, as the server's retry does;
    /// returns how many.
    pub fn resend_unacked(&self) -> io::Result<usize> {
        let pending: Vec<Msg> = self.state().unacked.clone();
        for m in &pending {
            let mut m = m.clone();
            m.flags |= 0b1000;
            let bytes = self.encode(&m)?;
            self.send_raw(&bytes)?;
        }
        Ok(pending.len())
    }

    /// Re-sends one message (acknowledged or not) with the DUP flag.
    pub fn resend(&self, m: &Msg) -> io::Result<()> {
        let mut m = m.clone();
        m.flags |= 0b1000;
        let bytes = self.encode(&m)?;
        self.send_raw(&bytes)
    }

    /// Writes the first `cut` bytes of `m`'s RECV, then closes the connection.
    pub fn drop_mid_packet(&self, m: &Msg, cut: usize) -> io::Result<()> {
        let bytes = self.encode(m)?;
        let mut g = self.state();
        g.unacked.push(m.clone());
        let mut s = g.session.take().ok_or(io::ErrorKind::NotConnected)?;
        s.stream.write_all(&bytes[..cut.min(bytes.len() - 1)])?;
        let _ = s.stream.shutdown(Shutdown::Both);
        Ok(())
    }

    /// Kicks the client: DISCONNECT reason 12 "login in other device", then a close 200 ms
    /// later (the server waits 2 s).
    pub fn kick(&self) -> io::Result<()> {
        let mut body = vec![12u8];
        put_str(&mut body, b"login in other device");
        let mut g = self.state();
        let mut s = g.session.take().ok_or(io::ErrorKind::NotConnected)?;
        s.stream.write_all(&packet(kind::DISCONNECT << 4, &body))?;
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            let _ = s.stream.shutdown(Shutdown::Both);
        });
        Ok(())
    }

    /// Closes the connection at once.
    pub fn drop_connection(&self) {
        if let Some(s) = self.state().session.take() {
            let _ = s.stream.shutdown(Shutdown::Both);
        }
    }

    /// Sends an EVENT packet.
    pub fn event(&self, id: &str, kind_name: &str, timestamp: i64, data: &[u8]) -> io::Result<()> {
        let mut b = Vec::new();
        put_str(&mut b, id.as_bytes());
        put_str(&mut b, kind_name.as_bytes());
        b.extend_from_slice(&timestamp.to_be_bytes());
        b.extend_from_slice(data);
        self.send_raw(&packet(kind::EVENT << 4, &b))
    }
}

impl Drop for WkSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(s) = self.state().session.take() {
            let _ = s.stream.shutdown(Shutdown::Both);
        }
    }
}

/// What the simulator saw (read under its lock).
pub struct SimView<'a>(&'a Shared);

impl SimView<'_> {
    /// Every login, in order.
    pub fn logins(&self) -> &[Login] {
        &self.0.logins
    }
    /// Every RECVACK, in order.
    pub fn acks(&self) -> &[Ack] {
        &self.0.acks
    }
    /// How many RECVACKs acknowledged `message_id`.
    pub fn acks_of(&self, message_id: i64) -> usize {
        self.0
            .acks
            .iter()
            .filter(|a| a.message_id == message_id)
            .count()
    }
    /// Messages sent and not acknowledged.
    pub fn unacked(&self) -> usize {
        self.0.unacked.len()
    }
    /// PINGs received.
    pub fn pings(&self) -> usize {
        self.0.pings
    }
    /// TCP connections accepted.
    pub fn connections(&self) -> usize {
        self.0.connections
    }
    /// Whether a client is logged in now.
    pub fn logged_in(&self) -> bool {
        self.0.session.is_some()
    }
    /// What the client sent that the simulator could not read.
    pub fn errors(&self) -> &[String] {
        &self.0.errors
    }
}

/// What the simulator answers a CONNECT with.
#[derive(Debug, Clone)]
pub struct LoginAnswer {
    /// The login as read.
    pub login: Login,
    /// The CONNACK packet.
    pub connack: Vec<u8>,
    /// The version both sides use.
    pub version: u8,
    /// The payload keys (AES key, IV) when the login succeeded with encryption.
    pub keys: Option<([u8; 16], [u8; 16])>,
}

/// The server's answer to a CONNECT `body` (after its header and length): the token checked,
/// the version chosen, and with encryption a fresh X25519 key pair, the shared secret's AES
/// key and a random 16-character IV. Reason 1 on success, 2 for a wrong token, 21 for an
/// empty or short client key.
pub fn answer_connect(cfg: &SimConfig, body: &[u8]) -> io::Result<LoginAnswer> {
    let mut f = Fields(body);
    let login = (|| -> io::Result<(Login, String, String)> {
        let version = f.u8()?;
        let device_flag = f.u8()?;
        let device_id = f.string()?;
        let uid = f.string()?;
        let token = f.string()?;
        let client_timestamp = f.int(8)? as i64;
        let client_key = f.string()?;
        if !f.0.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bytes after CONNECT",
            ));
        }
        Ok((
            Login {
                version,
                device_flag,
                device_id,
                uid,
                accepted: false,
                client_timestamp,
            },
            token,
            client_key,
        ))
    })();
    let (mut login, token, client_key) = login?;
    let version = login.version.min(cfg.max_version);
    login.accepted = cfg.token.as_ref().is_none_or(|t| *t == token);
    let mut keys = None;
    let (mut server_key, mut salt) = (Vec::new(), Vec::new());
    let mut reason = if login.accepted { 1u8 } else { 2 };
    if login.accepted && cfg.encrypt {
        match B64.decode(&client_key) {
            Ok(k) if k.len() >= 32 => {
                let mut client = [0u8; 32];
                client.copy_from_slice(&k[..32]);
                let secret = StaticSecret::from(random::<32>());
                let shared_secret = secret.diffie_hellman(&PublicKey::from(client));
                let digest = hex(&Md5::digest(B64.encode(shared_secret.as_bytes())));
                let mut aes_key = [0u8; 16];
                aes_key.copy_from_slice(&digest.as_bytes()[..16]);
                // 16 random ASCII characters.
                let iv: [u8; 16] = random::<16>()
                    .map(|b| b"abcdefghijklmnopqrstuvwxyz012345"[usize::from(b % 32)]);
                server_key = B64.encode(PublicKey::from(&secret).as_bytes()).into_bytes();
                salt = iv.to_vec();
                keys = Some((aes_key, iv));
            }
            // The server fails on an empty or short client key.
            _ => reason = 21,
        }
    }
    let mut b = vec![version];
    b.extend_from_slice(&cfg.time_diff.to_be_bytes());
    b.push(reason);
    put_str(&mut b, &server_key);
    put_str(&mut b, &salt);
    if version >= 4 {
        b.extend_from_slice(&1u64.to_be_bytes());
    }
    let connack = packet(kind::CONNACK << 4 | 1, &b);
    Ok(LoginAnswer {
        login,
        connack,
        version,
        keys: keys.filter(|_| reason == 1),
    })
}

/// One connection: the login, then the client's packets.
fn serve(mut s: TcpStream, cfg: &SimConfig, shared: &(Mutex<Shared>, Condvar), stop: &AtomicBool) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = s.set_nodelay(true);
    let id = {
        let mut g = lock(&shared.0);
        g.connections += 1;
        g.connections
    };
    shared.1.notify_all();
    let fail = |e: String| {
        lock(&shared.0).errors.push(e);
        shared.1.notify_all();
    };
    // The first packet must be CONNECT, within 4 s.
    let (h, body) = match read_packet(&mut s, stop) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => return fail(format!("reading CONNECT: {e}")),
    };
    if h >> 4 != kind::CONNECT {
        return fail(format!("first packet of type {}", h >> 4));
    }
    let answer = match answer_connect(cfg, &body) {
        Ok(a) => a,
        Err(e) => return fail(format!("CONNECT: {e}")),
    };
    let LoginAnswer {
        login,
        connack,
        version,
        keys,
    } = answer;
    let reason = if login.accepted && (keys.is_some() || !cfg.encrypt) {
        1
    } else {
        0
    };
    {
        let mut g = lock(&shared.0);
        g.logins.push(login);
        if s.write_all(&connack).is_err() {
            return;
        }
        if reason != 1 {
            drop(g);
            shared.1.notify_all();
            thread::sleep(Duration::from_millis(50));
            let _ = s.shutdown(Shutdown::Both);
            return;
        }
        if let Some(old) = g.session.take() {
            let _ = old.stream.shutdown(Shutdown::Both);
        }
        match s.try_clone() {
            Ok(w) => {
                g.session = Some(Session {
                    id,
                    stream: w,
                    version,
                    keys,
                })
            }
            Err(_) => return,
        }
    }
    shared.1.notify_all();
    while let Ok(Some(p)) = read_packet(&mut s, stop) {
        let mut g = lock(&shared.0);
        match p.0 >> 4 {
            kind::PING => {
                g.pings += 1;
                let _ = s.write_all(&[kind::PONG << 4]);
            }
            kind::RECVACK => {
                let mut f = Fields(&p.1);
                let id = f.int(8).map(|v| v as i64);
                let seq = if version >= 6 { f.int(8) } else { f.int(4) };
                match (id, seq, f.0.is_empty()) {
                    (Ok(message_id), Ok(message_seq), true) => {
                        g.unacked.retain(|m| m.message_id != message_id);
                        g.acks.push(Ack {
                            flags: p.0 & 0x0f,
                            message_id,
                            message_seq,
                        });
                    }
                    _ => g.errors.push(format!(
                        "RECVACK of {} bytes at version {version}",
                        p.1.len()
                    )),
                }
            }
            t => g
                .errors
                .push(format!("unexpected packet type {t} from the client")),
        }
        drop(g);
        shared.1.notify_all();
    }
    let mut g = lock(&shared.0);
    // This connection's session ends with it (unless a newer one replaced it).
    if g.session.as_ref().is_some_and(|x| x.id == id) {
        g.session = None;
    }
    drop(g);
    shared.1.notify_all();
}

/// The demo's messages, one of each kind the listener maps: a P2P chat, a group command, a room
/// (live, type 9) image, a group system notice (type 1001), a P2P non-JSON payload, with ids
/// from `first_id`.
pub fn demo_messages(first_id: i64) -> Vec<Msg> {
    let mut topic = Msg::new(
        first_id + 5,
        "10002",
        "30001",
        2,
        br#"{"type":1,"content":"with a topic"}"#,
    );
    topic.topic = Some("news".into());
    vec![
        Msg::new(
            first_id,
            "10001",
            "10001",
            1,
            br#"{"type":1,"content":"hello from the simulator"}"#,
        ),
        Msg::new(
            first_id + 1,
            "10002",
            "30001",
            2,
            br#"{"type":99,"cmd":"typing","param":{}}"#,
        ),
        Msg::new(
            first_id + 2,
            "alice",
            "live-7",
            9,
            br#"{"type":2,"url":"https://example.com/a.png","width":640,"height":480}"#,
        ),
        Msg::new(
            first_id + 3,
            "system",
            "30001",
            2,
            br#"{"type":1001,"content":"group renamed"}"#,
        ),
        Msg::new(first_id + 4, "10003", "10003", 1, b"\x00\x01 not json"),
        topic,
    ]
}

/// The webhook side of the simulation: bodies in the shapes WuKongIM v2.2.5's Go encoder
/// writes (`protocol/wukongim.md` §a), and POSTs to `<base>?event=<event>` with the server's
/// retry rule (only status 200 is success).
pub mod webhook {
    use super::{B64, Msg};
    use base64::Engine as _;
    use std::time::Duration;

    /// A JSON string as Go's encoder writes it (`<`, `>`, `&` as `\u003c` …).
    pub fn go_string(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// One message object, in v2's key order.
    pub fn message_object(m: &Msg) -> String {
        let flag = |bit: u8| u8::from(m.flags & bit != 0);
        let topic = m
            .topic
            .as_deref()
            .map(|t| format!(",\"topic\":{}", go_string(t)))
            .unwrap_or_default();
        format!(
            r#"{{"header":{{"no_persist":{},"red_dot":{},"sync_once":{}}},"setting":{},"message_id":{},"message_idstr":"{}","client_msg_no":{},"message_seq":{},"from_uid":{},"channel_id":{},"channel_type":{}{topic},"expire":0,"timestamp":{},"payload":"{}"}}"#,
            flag(1),
            flag(2),
            flag(4),
            m.setting,
            m.message_id,
            m.message_id,
            go_string(&m.client_msg_no),
            m.message_seq,
            go_string(&m.from_uid),
            go_string(&m.channel_id),
            m.channel_type,
            m.timestamp,
            B64.encode(&m.payload)
        )
    }

    /// A `msg.notify` body: an array of message objects.
    pub fn notify_body(msgs: &[Msg]) -> String {
        let items: Vec<String> = msgs.iter().map(message_object).collect();
        format!("[{}]", items.join(","))
    }

    /// A `msg.offline` body: the message object with `to_uids`.
    pub fn offline_body(m: &Msg, to_uids: &[&str]) -> String {
        let obj = message_object(m);
        let uids: Vec<String> = to_uids.iter().map(|u| go_string(u)).collect();
        format!(
            "{},\"to_uids\":[{}]}}",
            &obj[..obj.len() - 1],
            uids.join(",")
        )
    }

    /// One `user.onlinestatus` entry.
    pub fn presence(
        uid: &str,
        device_flag: u8,
        online: bool,
        conn_id: i64,
        device: u32,
        total: u32,
    ) -> String {
        format!(
            "{uid}-{device_flag}-{}-{conn_id}-{device}-{total}",
            u8::from(online)
        )
    }

    /// A `user.onlinestatus` body.
    pub fn presence_body(entries: &[String]) -> String {
        let items: Vec<String> = entries.iter().map(|e| go_string(e)).collect();
        format!("[{}]", items.join(","))
    }

    /// POSTs `body` to `<base>?event=<event>` (`Content-Type: application/json`); the status,
    /// or `None` when the receiver could not be reached.
    pub fn post(base: &str, event: &str, body: &str) -> Option<u16> {
        let url = format!("{base}?event={event}");
        match ureq::post(&url)
            .timeout(Duration::from_secs(5))
            .set("Content-Type", "application/json")
            .send_string(body)
        {
            Ok(r) => Some(r.status()),
            Err(ureq::Error::Status(code, _)) => Some(code),
            Err(_) => None,
        }
    }

    /// The server's delivery of one batch: POSTed until the receiver answers 200, at most
    /// `attempts` times, `pause` apart (the server waits 1 s and tries 5 times). Returns every
    /// status seen (`0` for an unreachable receiver).
    pub fn deliver(
        base: &str,
        event: &str,
        body: &str,
        attempts: u32,
        pause: Duration,
    ) -> Vec<u16> {
        let mut seen = Vec::new();
        for i in 0..attempts {
            let s = post(base, event, body).unwrap_or(0);
            seen.push(s);
            if s == 200 {
                break;
            }
            if i + 1 < attempts {
                std::thread::sleep(pause);
            }
        }
        seen
    }
}

/// The simulated HTTP API (port 5001 on a real server): records every call, answers
/// `/channel/subscriber_add`, `/channel/subscriber_remove` and `/user/token` with 200 `{}`
/// when the body has the keys the server requires (400 otherwise), and `/route` with the
/// simulation's TCP address.
pub struct ApiSim {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
}

impl ApiSim {
    /// Starts the API on a free loopback port; `/route` answers `tcp_addr`.
    pub fn start(tcp_addr: SocketAddr) -> io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("no IP address"))?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, st) = (calls.clone(), stop.clone());
        thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
                    continue;
                };
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let path = req.url().to_string();
                let has = |keys: &[&str]| keys.iter().all(|k| body.contains(&format!("\"{k}\":")));
                let (status, answer) = match path.split('?').next().unwrap_or("") {
                    "/channel/subscriber_add" | "/channel/subscriber_remove"
                        if has(&["channel_id", "channel_type", "subscribers"]) =>
                    {
                        (200, "{}".to_string())
                    }
                    "/user/token" if has(&["uid", "token", "device_flag"]) => (200, "{}".into()),
                    "/route" => (
                        200,
                        format!(r#"{{"tcp_addr":"{tcp_addr}","ws_addr":"","wss_addr":""}}"#),
                    ),
                    "/channel/subscriber_add" | "/channel/subscriber_remove" | "/user/token" => {
                        (400, r#"{"msg":"bad body","status":400}"#.into())
                    }
                    _ => (404, "{}".into()),
                };
                lock_calls(&c).push((path, body));
                let _ =
                    req.respond(tiny_http::Response::from_string(answer).with_status_code(status));
            }
        });
        Ok(Self { addr, calls, stop })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far: (path with query, body).
    pub fn calls(&self) -> Vec<(String, String)> {
        lock_calls(&self.calls).clone()
    }
}

impl Drop for ApiSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn lock_calls(m: &Mutex<Vec<(String, String)>>) -> MutexGuard<'_, Vec<(String, String)>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
