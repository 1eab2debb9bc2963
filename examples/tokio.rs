//! A listener on tokio (`driver::tokio`): prints one line per monitor callback until Ctrl-C or
//! `--seconds`, then shuts down gracefully (answers flushed, socket closed, the listener told).
//!
//! ```sh
//! cargo run --features tokio --example tokio -- --endpoint host:port --pid N --secret S \
//!     [--gids 1,2] [--rids 3] [--uids 4,5] [--events login,logout] [--seconds 60]
//! RTM_PID=N RTM_SECRET=S cargo run --features tokio --example tokio -- --endpoint host:port --gids 1
//! ```
//!
//! The listen command goes through the driver's [`Handle`] from another task while the driver
//! runs, as a server's request handlers would; its completion is the `command_done` line.
//!
//! Exit codes: 0 success; 2 bad arguments; 3 never connected.

use std::process::ExitCode;
use std::time::Duration;

use rtm_listen::driver::tokio::{Handle, TokioDriver};
use rtm_listen::prelude::*;
use rtm_listen::rtm::field::MessageError;

const USAGE: &str = "usage: tokio --endpoint HOST:PORT --pid N --secret S [--gids 1,2] [--rids 3] \
[--uids 4,5] [--events login,logout] [--seconds N]
  --pid and --secret may come from RTM_PID and RTM_SECRET
  exit codes: 0 ok, 2 bad arguments, 3 never connected";

/// Prints every callback.
#[derive(Default)]
struct Printer {
    connected: bool,
}

macro_rules! print_messages {
    ($($m:ident),*) => {$(
        fn $m(&mut self, m: &MessageEvent<'_>) {
            let text = String::from_utf8_lossy(m.message.msg);
            println!("{} from={} to={} mid={} mtype={} msg={text:?}", stringify!($m),
                m.message.from, m.message.to, m.message.mid, m.message.mtype);
        }
    )*};
}

impl Monitor for Printer {
    print_messages!(
        push_p2p_message,
        push_group_message,
        push_room_message,
        push_p2p_file,
        push_group_file,
        push_room_file,
        push_p2p_chat,
        push_p2p_audio,
        push_p2p_cmd,
        push_group_chat,
        push_group_audio,
        push_group_cmd,
        push_room_chat,
        push_room_audio,
        push_room_cmd,
        push_broadcast
    );
    fn connected(&mut self, endpoint: &str, connected: bool, is_reconnect: bool) {
        self.connected |= connected;
        println!("connected {endpoint} ok={connected} reconnect={is_reconnect}");
    }
    fn closed(&mut self, endpoint: &str, by_error: bool, is_reconnect: bool) {
        println!("closed {endpoint} by_error={by_error} reconnect={is_reconnect}");
    }
    fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {
        println!("disconnected {endpoint}: {reason}; next attempt in {retry_in_ms} ms");
    }
    fn push_event(&mut self, pid: i64, event: &[u8], uid: i64, time: i64, _: &[u8], _: &[u8]) {
        let event = String::from_utf8_lossy(event);
        println!("push_event pid={pid} event={event} uid={uid} time={time}");
    }
    fn ping(&mut self) {
        println!("ping");
    }
    fn kickout(&mut self) {
        println!("kickout");
    }
    fn kickout_room(&mut self, rid: i64) {
        println!("kickout_room {rid}");
    }
    fn command_done(&mut self, request: RequestId, code: i64, ex: &[u8]) {
        let ex = String::from_utf8_lossy(ex);
        println!("command_done #{} code={code} {ex}", request.0);
    }
    fn restored(&mut self, code: i64) {
        println!("restored {code}");
    }
    fn bad_push(&mut self, method: &[u8], error: MessageError, seq: Option<u32>, len: usize) {
        let method = String::from_utf8_lossy(method);
        println!("bad_push {method} {error} seq={seq:?} len={len}");
    }
}

struct Args {
    endpoint: String,
    pid: u32,
    secret: String,
    gids: Vec<i64>,
    rids: Vec<i64>,
    uids: Vec<i64>,
    events: Vec<String>,
    seconds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let ids = |v: &str| -> Result<Vec<i64>, String> {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| format!("not an id: {s}")))
            .collect()
    };
    let mut endpoint = None;
    let mut pid = std::env::var("RTM_PID").ok();
    let mut secret = std::env::var("RTM_SECRET").ok();
    let (mut gids, mut rids, mut uids, mut events) = (vec![], vec![], vec![], vec![]);
    let mut seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--endpoint" => endpoint = Some(value),
            "--pid" => pid = Some(value),
            "--secret" => secret = Some(value),
            "--gids" => gids = ids(&value)?,
            "--rids" => rids = ids(&value)?,
            "--uids" => uids = ids(&value)?,
            "--events" => events = value.split(',').map(str::to_owned).collect(),
            "--seconds" => seconds = Some(value.parse().map_err(|_| "bad --seconds")?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(Args {
        endpoint: endpoint.ok_or("--endpoint is required")?,
        pid: pid
            .ok_or("--pid (or RTM_PID) is required")?
            .parse()
            .map_err(|_| "bad pid")?,
        secret: secret.ok_or("--secret (or RTM_SECRET) is required")?,
        gids,
        rids,
        uids,
        events,
        seconds,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let creds = Credentials {
        pid: args.pid,
        secret: args.secret.as_bytes(),
    };
    let listener = match Listener::new(Config::DEFAULT, creds, rtm_listen::driver::tcp::entropy()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut driver = TokioDriver::new(args.endpoint, listener);

    // A listen command from another task, while the driver runs.
    let handle: Handle<Listener> = driver.handle();
    tokio::spawn(async move {
        let ids = ListenIds {
            gids: &args.gids,
            rids: &args.rids,
            uids: &args.uids,
            events: &args.events,
        };
        match handle.add_listen(&ids).await {
            Ok(request) => println!("addlisten queued as #{}", request.0),
            Err(e) => eprintln!("addlisten: {e}"),
        }
    });

    let seconds = args.seconds;
    let shutdown = async move {
        let limit = async {
            match seconds {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => println!("Ctrl-C: shutting down"),
            () = limit => println!("{} s passed: shutting down", seconds.unwrap_or(0)),
        }
    };
    let mut printer = Printer::default();
    driver.run(&mut printer, shutdown).await;

    println!("stats: {:?}", driver.listener().stats());
    if let Some(e) = driver.last_error() {
        println!("last I/O error: {e}");
    }
    if printer.connected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}
