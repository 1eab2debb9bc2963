//! The main job: a listener that prints one line per monitor callback.
//!
//! ```sh
//! cargo run --features std --example listen
//! cargo run --features std --example listen -- --endpoint host:port --pid N --secret S \
//!     [--gids 1,2] [--rids 3] [--uids 4,5] [--events login,logout] [--all] [--seconds 60]
//! cargo run --features std,encryption --example listen -- --endpoint host:port --pid N \
//!     --secret S --server-key server-public.pem [--curve secp256r1] [--stream] [--aes256]
//! ```
//!
//! `--server-key` turns FPNN encryption on, as the official SDK's `enableEncryptorBy*File`:
//! the server's public key as PEM, DER, or raw `X||Y` (then `--curve` names the curve);
//! package mode and AES-128 unless `--stream` and `--aes256` say otherwise. `--encrypt` runs
//! the simulator's demo encrypted (the simulator gets a fresh key on `--curve`, default
//! secp256r1, and the listener its public key):
//!
//! ```sh
//! cargo run --features std,encryption --example listen -- --encrypt [--curve C] [--stream] [--aes256]
//! ```
//!
//! Without `--endpoint`, it starts the built-in RTM gate simulator on a free loopback port,
//! runs its demo script (every push kind, a duplicate, a oneway push, then a connection dropped
//! mid-frame and restored), and exits 0 when the script succeeds and every expected callback
//! arrived. With `--endpoint`, it listens to a real RTM gateway until `--seconds` pass (or
//! forever). Failed connects and closes print a `disconnected` line with the reason and when
//! the next attempt is.
//!
//! Exit codes: 0 success; 1 the demo failed or another error; 2 bad arguments; 3 never
//! connected (`--seconds` passed without a connection); 4 the server refused the credentials
//! (a wrong pid or secret: 200001, 200002, 200008, 200020-200022), which ends the run at once.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rtm_gate_sim::{Gate, GateConfig, demo};
use rtm_listen::driver::tcp::{TcpDriver, entropy};
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::field::MessageError;
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::session::{CloseReason, Config, Listener, MessageEvent, RequestId, code};

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NEVER_CONNECTED: u8 = 3;
const EXIT_AUTH_REFUSED: u8 = 4;

const USAGE: &str = "usage: listen [--endpoint HOST:PORT --pid N --secret S] [--gids 1,2] \
[--rids 3] [--uids 4,5] [--events login,logout] [--all] [--seconds N]
    [--server-key FILE | --encrypt] [--curve C] [--stream] [--aes256]
  without --endpoint: the demo against the built-in RTM gate simulator (--encrypt: encrypted)
  --server-key: FPNN encryption with the server's public key (PEM, DER, or raw X||Y with \
--curve secp256k1|secp256r1|secp224r1|secp192r1); package mode and AES-128 unless --stream, \
--aes256 (needs --features encryption)
  exit codes: 0 ok, 1 failure, 2 bad arguments, 3 never connected, 4 credentials refused";

/// Prints one line per callback and counts them.
#[derive(Default)]
struct Printer {
    callbacks: usize,
    kinds: std::collections::BTreeSet<&'static str>,
    ever_connected: bool,
    auth_refused: Option<i64>,
}

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("<{} bytes binary>", b.len()),
    }
}

impl Printer {
    fn line(&mut self, kind: &'static str, rest: String) {
        self.callbacks += 1;
        self.kinds.insert(kind);
        println!("{kind:<18} {rest}");
    }

    fn message(&mut self, kind: &'static str, m: &MessageEvent<'_>) {
        let msg = &m.message;
        let mut rest = format!(
            "from={} to={} mid={} mtype={} msg={}",
            msg.from,
            msg.to,
            msg.mid,
            msg.mtype,
            text(msg.msg)
        );
        if !msg.attrs.is_empty() {
            rest += &format!(" attrs={}", text(msg.attrs));
        }
        // Always enough: unescaping never makes a string longer.
        let mut scratch = vec![0u8; msg.info_scratch_len()];
        if let Some(t) = msg.translated(&mut scratch) {
            rest += &format!(" translated={}", text(t.text()));
        }
        if let Some(f) = msg.file_info(&mut scratch) {
            rest += &format!(" file: url={} size={}", text(f.url), f.size);
            if !f.surl.is_empty() {
                rest += &format!(" surl={}", text(f.surl));
            }
            if f.is_rtm_audio {
                rest += &format!(" audio lang={} duration={}ms", text(f.language), f.duration);
            }
        }
        self.line(kind, rest);
    }
}

macro_rules! messages {
    ($($method:ident => $kind:literal),* $(,)?) => {$(
        fn $method(&mut self, m: &MessageEvent<'_>) {
            self.message($kind, m);
        }
    )*};
}

impl Monitor for Printer {
    messages!(
        push_p2p_message => "pushP2PMessage", push_group_message => "pushGroupMessage",
        push_room_message => "pushRoomMessage", push_p2p_file => "pushP2PFile",
        push_group_file => "pushGroupFile", push_room_file => "pushRoomFile",
        push_p2p_chat => "pushP2PChat", push_p2p_audio => "pushP2PAudio",
        push_p2p_cmd => "pushP2PCmd", push_group_chat => "pushGroupChat",
        push_group_audio => "pushGroupAudio", push_group_cmd => "pushGroupCmd",
        push_room_chat => "pushRoomChat", push_room_audio => "pushRoomAudio",
        push_room_cmd => "pushRoomCmd", push_broadcast => "pushBroadcast",
    );

    fn connected(&mut self, endpoint: &str, connected: bool, is_reconnect: bool) {
        self.ever_connected |= connected;
        self.line(
            "connected",
            format!("endpoint={endpoint:?} connected={connected} isReconnect={is_reconnect}"),
        );
    }

    fn closed(&mut self, endpoint: &str, by_error: bool, is_reconnect: bool) {
        self.line(
            "closed",
            format!("endpoint={endpoint:?} causedByError={by_error} isReconnect={is_reconnect}"),
        );
    }

    fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {
        self.line(
            "disconnected",
            format!("endpoint={endpoint:?} reason=\"{reason}\" nextTryInMs={retry_in_ms}"),
        );
    }

    fn push_event(
        &mut self,
        pid: i64,
        event: &[u8],
        uid: i64,
        time: i64,
        endpoint: &[u8],
        data: &[u8],
    ) {
        self.line(
            "pushEvent",
            format!(
                "pid={pid} event={} uid={uid} time={time} endpoint={} data={}",
                text(event),
                text(endpoint),
                text(data)
            ),
        );
    }

    fn ping(&mut self) {
        self.line("ping", String::new());
    }

    fn kickout(&mut self) {
        self.line("kickout", String::new());
    }

    fn kickout_room(&mut self, rid: i64) {
        self.line("kickoutRoom", format!("rid={rid}"));
    }

    fn command_done(&mut self, request: RequestId, c: i64, ex: &[u8]) {
        let note = if code::is_local(c) {
            " (kept: applied when connected)"
        } else if code::is_auth_failure(c) {
            " (credentials refused)"
        } else {
            ""
        };
        self.line(
            "commandDone",
            format!("request={} code={c} ex={}{note}", request.0, text(ex)),
        );
        if code::is_auth_failure(c) {
            self.auth_refused = Some(c);
        }
    }

    fn restored(&mut self, c: i64) {
        self.line("restored", format!("code={c}"));
        if code::is_auth_failure(c) {
            self.auth_refused = Some(c);
        }
    }

    fn bad_push(&mut self, method: &[u8], error: MessageError, seq: Option<u32>, len: usize) {
        let seq = seq.map_or("oneway".to_string(), |s| s.to_string());
        self.line(
            "badPush",
            format!("method={} seq={seq} len={len} error={error}", text(method)),
        );
    }
}

struct Args {
    endpoint: Option<String>,
    pid: u32,
    secret: String,
    gids: Vec<i64>,
    rids: Vec<i64>,
    uids: Vec<i64>,
    events: Vec<String>,
    all: bool,
    seconds: Option<u64>,
    server_key: Option<String>,
    encrypt: bool,
    curve: Option<String>,
    stream: bool,
    aes256: bool,
}

fn ids(v: &str) -> Result<Vec<i64>, String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse().map_err(|e| format!("bad id {s:?}: {e}")))
        .collect()
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: None,
        pid: 0,
        secret: String::new(),
        gids: vec![],
        rids: vec![],
        uids: vec![],
        events: vec![],
        all: false,
        seconds: None,
        server_key: None,
        encrypt: false,
        curve: None,
        stream: false,
        aes256: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--all" => a.all = true,
            "--stream" => a.stream = true,
            "--encrypt" => a.encrypt = true,
            "--aes256" => a.aes256 = true,
            _ => {}
        }
        if matches!(
            arg.as_str(),
            "--all" | "--stream" | "--aes256" | "--encrypt"
        ) {
            continue;
        }
        if arg == "--help" || arg == "-h" {
            return Err(String::new());
        }
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), v.to_string()),
            _ => {
                let v = it.next().ok_or(format!("{arg} needs a value"))?;
                (arg, v)
            }
        };
        match flag.as_str() {
            "--endpoint" => a.endpoint = Some(value),
            "--pid" => a.pid = value.parse().map_err(|e| format!("bad --pid: {e}"))?,
            "--secret" => a.secret = value,
            "--gids" => a.gids = ids(&value)?,
            "--rids" => a.rids = ids(&value)?,
            "--uids" => a.uids = ids(&value)?,
            "--events" => a.events = value.split(',').map(str::to_owned).collect(),
            "--server-key" => a.server_key = Some(value),
            "--curve" => a.curve = Some(value),
            "--seconds" => {
                a.seconds = Some(value.parse().map_err(|e| format!("bad --seconds: {e}"))?)
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.endpoint.is_some() && (a.pid == 0 || a.secret.is_empty()) {
        return Err("--endpoint needs --pid and --secret".into());
    }
    if a.server_key.is_some() && a.endpoint.is_none() {
        return Err(
            "--server-key needs --endpoint (--encrypt runs the simulator encrypted)".into(),
        );
    }
    if a.encrypt && a.endpoint.is_some() {
        return Err("--encrypt is for the simulator; a real endpoint takes --server-key".into());
    }
    if a.server_key.is_none() && !a.encrypt && (a.curve.is_some() || a.stream || a.aes256) {
        return Err("--curve, --stream and --aes256 need --server-key or --encrypt".into());
    }
    Ok(a)
}

fn driver(endpoint: String, pid: u32, secret: &[u8]) -> Result<TcpDriver, String> {
    let creds = Credentials { pid, secret };
    let listener = Listener::new(Config::DEFAULT, creds, entropy()).map_err(|e| e.to_string())?;
    Ok(TcpDriver::new(endpoint, listener))
}

/// Turns FPNN encryption on as `--server-key`, `--curve`, `--stream` and `--aes256` say.
#[cfg(feature = "encryption")]
fn encrypt(d: &mut TcpDriver, args: &Args, simulator_key: Option<&[u8]>) -> Result<(), String> {
    use rtm_listen::crypto::{Bits, Curve, ServerPublicKey};
    use rtm_listen::session::{Encryption, EncryptionMode};
    let (bytes, what) = match (&args.server_key, simulator_key) {
        (Some(path), _) => (
            std::fs::read(path).map_err(|e| format!("--server-key {path}: {e}"))?,
            format!("--server-key {path}"),
        ),
        (None, Some(raw)) => (raw.to_vec(), "the simulator's key".to_string()),
        (None, None) => return Ok(()),
    };
    let curve = match (&args.curve, simulator_key) {
        (Some(name), _) => Some(Curve::from_name(name).ok_or(format!("unknown --curve {name}"))?),
        (None, Some(_)) => Some(Curve::Secp256r1),
        (None, None) => None,
    };
    let key = ServerPublicKey::parse(&bytes, curve).map_err(|e| format!("{what}: {e}"))?;
    let mode = if args.stream {
        EncryptionMode::Stream
    } else {
        EncryptionMode::Package
    };
    let bits = if args.aes256 {
        Bits::Aes256
    } else {
        Bits::Aes128
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("entropy: {e}"))?;
    d.listener()
        .set_encryption(Some(Encryption::new(key, mode, bits)), &seed)
        .map_err(|e| format!("encryption: {e}"))?;
    eprintln!(
        "encryption         {} {:?} AES-{}",
        key.curve().as_str(),
        mode,
        bits.bits()
    );
    Ok(())
}

/// Without the `encryption` feature, `--server-key` is refused.
#[cfg(not(feature = "encryption"))]
fn encrypt(_: &mut TcpDriver, args: &Args, _: Option<&[u8]>) -> Result<(), String> {
    if args.server_key.is_some() || args.encrypt {
        return Err("--server-key and --encrypt need the `encryption` feature: \
            cargo run --features std,encryption --example listen -- ..."
            .into());
    }
    Ok(())
}

/// The simulator's configuration: plaintext, or with `--encrypt` a fresh key on `--curve`.
fn simulator_config(args: &Args) -> Result<GateConfig, String> {
    let mut config = GateConfig::default();
    if !args.encrypt {
        return Ok(config);
    }
    let name = args.curve.as_deref().unwrap_or("secp256r1");
    let curve = rtm_gate_sim::Curve::from_name(name).ok_or(format!("unknown --curve {name}"))?;
    let n = match curve {
        rtm_gate_sim::Curve::Secp224r1 => 28,
        rtm_gate_sim::Curve::Secp192r1 => 24,
        _ => 32,
    };
    // A fresh private key: random bytes, drawn again in the rare case they are out of range.
    for _ in 0..8 {
        let mut scalar = [0u8; 32];
        getrandom::fill(&mut scalar).map_err(|e| format!("entropy: {e}"))?;
        if let Ok(key) = rtm_gate_sim::ServerKey::from_private_bytes(curve, &scalar[..n]) {
            config.encryption = Some(key);
            return Ok(config);
        }
    }
    Err("no valid simulator key drawn".into())
}

/// Listens to a real gateway; the exit code says how it ended.
fn real(args: Args, endpoint: String) -> Result<ExitCode, String> {
    let mut d = driver(endpoint, args.pid, args.secret.as_bytes())?;
    encrypt(&mut d, &args, None)?;
    let now = d.now_ms();
    if args.all {
        let flags = ListenFlags {
            group: true,
            room: true,
            p2p: true,
            ev: true,
        };
        d.listener()
            .set_listen_all(now, flags)
            .map_err(|e| e.to_string())?;
    }
    let events: Vec<&str> = args.events.iter().map(String::as_str).collect();
    let ids = ListenIds {
        gids: &args.gids,
        rids: &args.rids,
        uids: &args.uids,
        events: &events,
    };
    if !ids.is_empty() {
        d.listener()
            .set_listen(now, &ids)
            .map_err(|e| e.to_string())?;
    }
    let limit = args.seconds.map_or(Duration::MAX, Duration::from_secs);
    let mut printer = Printer::default();
    d.run_until(&mut printer, limit, |p, _| p.auth_refused.is_some());
    if let Some(c) = printer.auth_refused {
        eprintln!("error: the server refused the credentials (code {c}); check --pid and --secret");
        return Ok(ExitCode::from(EXIT_AUTH_REFUSED));
    }
    if !printer.ever_connected {
        let why = d.last_error().map_or(String::new(), |e| format!(": {e}"));
        eprintln!("error: never connected to {}{why}", d.endpoint());
        return Ok(ExitCode::from(EXIT_NEVER_CONNECTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the demo against the built-in simulator.
fn simulated(args: &Args) -> Result<(), String> {
    let config = simulator_config(args)?;
    let gate = Gate::start(config.clone()).map_err(|e| format!("simulator: {e}"))?;
    println!("simulator          listening on {}", gate.addr());
    let done = AtomicBool::new(false);
    let mut printer = Printer::default();
    let outcome = std::thread::scope(|s| {
        let script = s.spawn(|| {
            let result = demo::run(&gate, &mut |line| println!("{:<18} {line}", "simulator"));
            done.store(true, Ordering::SeqCst);
            result
        });
        let mut d = match driver(
            gate.addr().to_string(),
            config.pid,
            config.secret.as_bytes(),
        ) {
            Ok(d) => d,
            Err(e) => {
                done.store(true, Ordering::SeqCst);
                let _ = script.join();
                return Err(e);
            }
        };
        let simulator_key = config.encryption.as_ref().map(|k| k.public_key_raw());
        if let Err(e) = encrypt(&mut d, args, simulator_key.as_deref()) {
            done.store(true, Ordering::SeqCst);
            let _ = script.join();
            return Err(e);
        }
        let now = d.now_ms();
        let ids = ListenIds {
            gids: &[demo::GID],
            rids: &[demo::RID],
            uids: &[demo::UID],
            events: &[demo::EVENT],
        };
        d.listener()
            .set_listen(now, &ids)
            .map_err(|e| e.to_string())?;
        d.run_until(
            &mut printer,
            demo::TOTAL_TIMEOUT + Duration::from_secs(5),
            |_, _| done.load(Ordering::SeqCst),
        );
        // Let the last answers and callbacks through.
        for _ in 0..10 {
            d.step(&mut printer, Duration::from_millis(20));
        }
        script
            .join()
            .map_err(|_| "script thread panicked".to_string())?
    })?;
    println!("simulator          {outcome}");
    // Every kind of callback the script provokes must have been seen.
    let expected = [
        "connected",
        "closed",
        "restored",
        "commandDone",
        "pushEvent",
        "ping",
        "pushP2PChat",
        "pushP2PAudio",
        "pushP2PCmd",
        "pushP2PFile",
        "pushP2PMessage",
        "pushGroupChat",
        "pushGroupAudio",
        "pushGroupCmd",
        "pushGroupFile",
        "pushGroupMessage",
        "pushRoomChat",
        "pushRoomAudio",
        "pushRoomCmd",
        "pushRoomFile",
        "pushRoomMessage",
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|k| !printer.kinds.contains(*k))
        .collect();
    if !missing.is_empty() {
        return Err(format!("callbacks never called: {missing:?}"));
    }
    println!("done               {} callbacks", printer.callbacks);
    Ok(())
}

fn main() -> ExitCode {
    let mut args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match args.endpoint.take() {
        Some(endpoint) => real(args, endpoint),
        None => simulated(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
