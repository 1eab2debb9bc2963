//! A WuKongIM monitor user that prints one line per monitor callback.
//!
//! ```sh
//! cargo run --features std --example wukongim                      # plaintext simulation
//! cargo run --features std,wukong-encryption --example wukongim    # encrypted simulation
//! cargo run --features std,wukong-encryption --example wukongim -- --endpoint host:5100 \
//!     --uid monitor --token T [--device-id D] [--device-flag 2] [--version 5] [--rooms 8,9] \
//!     [--seconds 60]
//! ```
//!
//! Without `--endpoint`, it starts the WuKongIM **simulation** (`crates/wukong-sim`, not a
//! WuKongIM server) on a free loopback port, encrypted unless `--plain` (or built without
//! `wukong-encryption`, which a real server needs unless it sets `disableEncryption`), at `--version`
//! (default 5), and runs a demo: one message of every kind, a re-sent duplicate, a kick, a
//! reconnect, and more messages after it. It exits 0 when every expected callback arrived
//! exactly once and every message was acknowledged. With `--endpoint`, it listens to a real
//! WuKongIM server until `--seconds` pass (or forever). Register the token first with the
//! server's `POST /user/token`, and make the uid a subscriber of the channels to monitor
//! (`POST /channel/subscriber_add`); see README.md.
//!
//! Exit codes: 0 success; 1 the demo failed or another error; 2 bad arguments; 3 never
//! connected; 4 the server refused the login (CONNACK AuthFail), which ends the run at once.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::monitor::Monitor;
use rtm_listen::rtm::field::MessageError;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
use rtm_listen::session::{CloseReason, MessageEvent};
use rtm_listen::wire::wukong::payload::RoomTypes;
use wukong_sim::{Msg, SimConfig, WkSim, demo_messages};

const USAGE: &str = "usage: wukongim [--endpoint HOST:PORT --uid U --token T] [--device-id D] \
[--device-flag N] [--version 2..6] [--rooms 8,9] [--seconds N] [--plain]
  without --endpoint: the demo against the WuKongIM simulation (--plain: no encryption)
  exit codes: 0 ok, 1 failure, 2 bad arguments, 3 never connected, 4 login refused";

/// Prints one line per callback and counts the messages by id.
#[derive(Default)]
struct Printer {
    delivered: Vec<i64>,
    kinds: std::collections::BTreeSet<&'static str>,
    connects: usize,
    kicks: usize,
    refused: bool,
}

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("<{} bytes binary>", b.len()),
    }
}

impl Printer {
    fn message(&mut self, kind: &'static str, m: &MessageEvent<'_>) {
        self.kinds.insert(kind);
        self.delivered.push(m.message.mid);
        let (from, channel, seq, topic) = match m.wukong {
            Some(w) => (
                text(w.recv.from_uid),
                text(w.recv.channel_id),
                w.recv.message_seq,
                w.recv.topic.map(text),
            ),
            None => (
                m.message.from.to_string(),
                m.message.to.to_string(),
                0,
                None,
            ),
        };
        println!(
            "{kind:<16} from {from} on {channel} (ints {} -> {}) mid {} seq {seq} mtype {} mtime {}{} msg {}",
            m.message.from,
            m.message.to,
            m.message.mid,
            m.message.mtype,
            m.message.mtime,
            topic.map(|t| format!(" topic {t}")).unwrap_or_default(),
            text(m.message.msg)
        );
    }
}

impl Monitor for Printer {
    fn connected(&mut self, endpoint: &str, ok: bool, is_reconnect: bool) {
        self.connects += usize::from(ok);
        println!("connected        {endpoint} ok={ok} reconnect={is_reconnect}");
    }
    fn closed(&mut self, endpoint: &str, by_error: bool, is_reconnect: bool) {
        println!("closed           {endpoint} by_error={by_error} reconnect={is_reconnect}");
    }
    fn disconnected(&mut self, _: &str, reason: CloseReason, retry_in_ms: u64) {
        if reason == (CloseReason::WkRefused { reason_code: 2 }) {
            self.refused = true;
        }
        println!("disconnected     {reason} (next attempt in {retry_in_ms} ms)");
    }
    fn push_p2p_message(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PMessage", m)
    }
    fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PChat", m)
    }
    fn push_p2p_cmd(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PCmd", m)
    }
    fn push_p2p_file(&mut self, m: &MessageEvent<'_>) {
        self.message("pushP2PFile", m)
    }
    fn push_group_message(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupMessage", m)
    }
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupChat", m)
    }
    fn push_group_cmd(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupCmd", m)
    }
    fn push_group_file(&mut self, m: &MessageEvent<'_>) {
        self.message("pushGroupFile", m)
    }
    fn push_room_message(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomMessage", m)
    }
    fn push_room_chat(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomChat", m)
    }
    fn push_room_cmd(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomCmd", m)
    }
    fn push_room_file(&mut self, m: &MessageEvent<'_>) {
        self.message("pushRoomFile", m)
    }
    fn push_event(&mut self, _: i64, event: &[u8], _: i64, time: i64, id: &[u8], data: &[u8]) {
        println!(
            "pushEvent        {} id {} time {time} data {}",
            text(event),
            text(id),
            text(data)
        );
    }
    fn kickout(&mut self) {
        self.kicks += 1;
        println!("kickout          another device of this uid logged in");
    }
    fn bad_push(&mut self, method: &[u8], error: MessageError, _: Option<u32>, len: usize) {
        println!("bad push         {} ({len} bytes): {error}", text(method));
    }
}

struct Args {
    endpoint: Option<String>,
    uid: String,
    token: String,
    device_id: String,
    cfg: WkConfig,
    seconds: Option<u64>,
    plain: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        endpoint: None,
        uid: "monitor".into(),
        token: String::new(),
        device_id: format!("rtm-listen-{}", std::process::id()),
        cfg: WkConfig::DEFAULT,
        seconds: None,
        plain: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|_| format!("bad number {v:?}"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = Some(value()?),
            "--uid" => a.uid = value()?,
            "--token" => a.token = value()?,
            "--device-id" => a.device_id = value()?,
            "--device-flag" => {
                a.cfg.device_flag = u8::try_from(num(value()?)?).map_err(|e| e.to_string())?
            }
            "--version" => {
                a.cfg.version = u8::try_from(num(value()?)?).map_err(|e| e.to_string())?
            }
            "--rooms" => {
                let mut types = Vec::new();
                for t in value()?.split(',') {
                    types.push(
                        t.parse::<u8>()
                            .map_err(|_| format!("bad channel type {t:?}"))?,
                    );
                }
                a.cfg.rooms = RoomTypes::of(&types);
            }
            "--seconds" => a.seconds = Some(num(value()?)?),
            "--plain" => a.plain = true,
            "-h" | "--help" => return Err("help".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn listener(a: &Args) -> Result<WkListener, String> {
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).map_err(|e| format!("entropy: {e}"))?;
    let creds = WkCredentials {
        uid: &a.uid,
        token: &a.token,
        device_id: &a.device_id,
    };
    WkListener::new(a.cfg, creds, &entropy).map_err(|e| format!("configuration: {e}"))
}

/// Steps until `done` or `limit`.
fn run(
    d: &mut TcpDriver<WkListener>,
    p: &mut Printer,
    limit: Duration,
    mut done: impl FnMut(&Printer) -> bool,
) -> bool {
    d.run_until(p, limit, |p, _| done(p) || p.refused)
}

fn demo(a: &Args) -> Result<(), String> {
    let encrypt = !a.plain && cfg!(feature = "wukong-encryption");
    let sim = WkSim::start(SimConfig {
        encrypt,
        max_version: a.cfg.version,
        token: Some(a.token.clone()),
        ..SimConfig::default()
    })
    .map_err(|e| format!("simulator: {e}"))?;
    println!(
        "WuKongIM SIMULATION on {} (encryption {}, version {}): not a WuKongIM server",
        sim.addr(),
        if encrypt {
            "on"
        } else if a.plain {
            "off"
        } else {
            "off: built without wukong-encryption"
        },
        a.cfg.version
    );
    let mut d = TcpDriver::new(sim.addr().to_string(), listener(a)?);
    let mut p = Printer::default();
    let limit = Duration::from_secs(10);
    if !run(&mut d, &mut p, limit, |p| p.connects == 1) || !sim.wait(limit, |v| v.logged_in()) {
        return Err("no login".into());
    }
    let first = demo_messages(1000);
    sim.send_all(&first).map_err(|e| e.to_string())?;
    if !run(&mut d, &mut p, limit, |p| p.delivered.len() == first.len()) {
        return Err("the first messages did not all arrive".into());
    }
    // The server's retry of a message the listener already has: acknowledged, not delivered.
    sim.resend(&first[0]).map_err(|e| e.to_string())?;
    // A kick, then a login again after the back-off.
    sim.kick().map_err(|e| e.to_string())?;
    if !run(&mut d, &mut p, Duration::from_secs(20), |p| p.connects == 2) {
        return Err("no login after the kick".into());
    }
    if !sim.wait(limit, |v| v.logged_in()) {
        return Err("the simulator saw no second login".into());
    }
    let after = [Msg::new(
        2000,
        "10001",
        "10001",
        1,
        br#"{"type":1,"content":"after the kick"}"#,
    )];
    sim.send_all(&after).map_err(|e| e.to_string())?;
    let want = first.len() + after.len();
    if !run(&mut d, &mut p, limit, |p| p.delivered.len() == want) {
        return Err("the message after the kick did not arrive".into());
    }
    let all: Vec<i64> = first.iter().chain(&after).map(|m| m.message_id).collect();
    if p.delivered != all {
        return Err(format!(
            "delivered {:?}, expected {all:?} once each",
            p.delivered
        ));
    }
    let acked = sim.wait(limit, |v| {
        all.iter().all(|id| v.acks_of(*id) >= 1) && v.unacked() == 0
    });
    if !acked || p.kicks != 1 {
        return Err(format!("acked {acked}, kicks {}", p.kicks));
    }
    println!(
        "demo ok: {} messages delivered once each, {} kinds, every one acknowledged, a duplicate \
         suppressed, a kick survived",
        p.delivered.len(),
        p.kinds.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) if e == "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("wukongim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(endpoint) = a.endpoint.clone() else {
        return match demo(&a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wukongim: demo failed: {e}");
                ExitCode::from(1)
            }
        };
    };
    let l = match listener(&a) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("wukongim: {e}");
            return ExitCode::from(2);
        }
    };
    let mut d = TcpDriver::new(endpoint, l);
    let mut p = Printer::default();
    let start = Instant::now();
    let limit = a.seconds.map(Duration::from_secs);
    loop {
        if limit.is_some_and(|l| start.elapsed() >= l) {
            break;
        }
        d.step(&mut p, Duration::from_millis(200));
        if p.refused {
            eprintln!("wukongim: the server refused the login (AuthFail): check the uid and token");
            return ExitCode::from(4);
        }
    }
    if p.connects == 0 {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
