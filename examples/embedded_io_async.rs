//! The async embedded driver (`driver::io_async`) on a host: the loop an embassy-net firmware
//! writes, with a tokio `TcpStream` (through `embedded-io-adapters`' `FromTokio`) standing in
//! for embassy-net's `TcpSocket`, and tokio's clock for embassy-time's.
//!
//! ```sh
//! cargo run --features embedded-io-async --example embedded_io_async -- \
//!     --endpoint host:port --pid N --secret S [--gids 1,2] [--rids 3] [--uids 4,5] [--seconds 60]
//! ```
//!
//! `--pid` and `--secret` may come from `RTM_PID` and `RTM_SECRET`. It prints the monitor's
//! callbacks, reconnects as the listener advises, and after `--seconds` (or Ctrl-C) closes
//! gracefully. On a firmware the differences are only these: `Timer::sleep_until` is
//! `embassy_time::Timer::at(Instant::from_millis(at_ms))`, the transport is a `TcpSocket`
//! (connected with `socket.connect(endpoint)`, aborted after a close and connected again), and
//! the listener is built once at boot (see the module docs of `driver::io_async`).
//!
//! Exit codes: 0 success; 2 bad arguments; 3 never connected.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use embedded_io_adapters::tokio_1::FromTokio;
use rtm_listen::driver::io_async::{AsyncIoDriver, Poll, Timer};
use rtm_listen::prelude::*;
use rtm_listen::session::{IoError, IoKind};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The host's clocks: what embassy-time gives a firmware.
struct TokioTimer {
    epoch: Instant,
}

impl Timer for TokioTimer {
    fn now_ms(&mut self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
    fn unix_ms(&mut self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
    // On embassy: `embassy_time::Timer::at(Instant::from_millis(at_ms)).await`.
    async fn sleep_until(&mut self, at_ms: u64) {
        tokio::time::sleep_until(self.epoch + Duration::from_millis(at_ms)).await
    }
}

/// Prints what a firmware would log.
#[derive(Default)]
struct Log {
    connected: bool,
}

impl Monitor for Log {
    fn connected(&mut self, endpoint: &str, connected: bool, is_reconnect: bool) {
        self.connected |= connected;
        println!("connected {endpoint} ok={connected} reconnect={is_reconnect}");
    }
    fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {
        println!("disconnected {endpoint}: {reason}; next attempt in {retry_in_ms} ms");
    }
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        let text = String::from_utf8_lossy(m.message.msg);
        println!("group {} from {}: {text}", m.message.to, m.message.from);
    }
    fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
        let text = String::from_utf8_lossy(m.message.msg);
        println!("p2p {} from {}: {text}", m.message.to, m.message.from);
    }
    fn push_room_chat(&mut self, m: &MessageEvent<'_>) {
        let text = String::from_utf8_lossy(m.message.msg);
        println!("room {} from {}: {text}", m.message.to, m.message.from);
    }
    fn push_event(&mut self, _: i64, event: &[u8], uid: i64, _: i64, _: &[u8], _: &[u8]) {
        println!("event {} uid={uid}", String::from_utf8_lossy(event));
    }
    fn command_done(&mut self, request: RequestId, code: i64, _: &[u8]) {
        println!("command #{} done: {code}", request.0);
    }
    fn restored(&mut self, code: i64) {
        println!("restored {code}");
    }
}

fn arg(args: &[String], flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let endpoint = arg(&args, "--endpoint");
    let pid = arg(&args, "--pid").or_else(|| std::env::var("RTM_PID").ok());
    let secret = arg(&args, "--secret").or_else(|| std::env::var("RTM_SECRET").ok());
    let ids = |flag| -> Result<Vec<i64>, std::num::ParseIntError> {
        let list = arg(&args, flag).unwrap_or_default();
        list.split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    };
    let (gids, rids, uids) = (ids("--gids"), ids("--rids"), ids("--uids"));
    let seconds = arg(&args, "--seconds").map(|s| s.parse::<u64>());
    let (
        Some(endpoint),
        Some(Ok(pid)),
        Some(secret),
        Ok(gids),
        Ok(rids),
        Ok(uids),
        None | Some(Ok(_)),
    ) = (
        endpoint,
        pid.map(|p| p.parse::<u32>()),
        secret,
        gids,
        rids,
        uids,
        &seconds,
    )
    else {
        eprintln!(
            "usage: embedded_io_async --endpoint HOST:PORT --pid N --secret S [--gids 1,2] \
             [--rids 3] [--uids 4,5] [--seconds N] (or RTM_PID, RTM_SECRET)"
        );
        return ExitCode::from(2);
    };
    let seconds = seconds.and_then(Result::ok);

    // What the firmware builds at boot.
    let creds = Credentials {
        pid,
        secret: secret.as_bytes(),
    };
    let mut listener = match Listener::new(Config::DEFAULT, creds, rtm_entropy()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let ids = ListenIds {
        gids: &gids,
        rids: &rids,
        uids: &uids,
        events: &["login", "logout"],
    };
    if let Err(e) = listener.add_listen(0, &ids) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let timer = TokioTimer {
        epoch: Instant::now(),
    };
    let mut driver = AsyncIoDriver::unconnected(listener, timer, &endpoint);
    let mut log = Log::default();

    // The firmware's task body: connect when advised, poll while connected, repeat.
    let listen = async {
        loop {
            driver.wait_reconnect(&mut log).await;
            match TcpStream::connect(endpoint.as_str()).await {
                Ok(stream) => driver.reconnected(FromTokio::new(stream)),
                Err(e) => {
                    let kind = match e.kind() {
                        std::io::ErrorKind::ConnectionRefused => IoKind::ConnectionRefused,
                        _ => IoKind::Other,
                    };
                    let errno = e.raw_os_error().unwrap_or(0);
                    driver.connect_failed(CloseReason::Io(IoError { kind, errno }));
                    continue;
                }
            }
            while driver.poll(&mut log).await == Poll::Connected {}
            // embassy-net: `socket.abort()` and connect the same socket again.
            drop(driver.take_transport());
        }
    };
    let stop = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    // Dropping the loop between two awaits is safe: every driver step is cancel-safe over a
    // cancel-safe transport (module docs).
    tokio::select! {
        () = listen => {}
        () = stop => println!("stopping"),
    }
    // A graceful end: queued answers written, the listener told, the socket handed back to be
    // closed (embassy-net: `socket.close(); socket.flush().await`; here a FIN).
    if let Some(transport) = driver.close(&mut log, 2_000).await {
        let _ = transport.into_inner().shutdown().await;
    }
    println!("stats: {:?}", driver.listener().stats());
    if log.connected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

/// A few random bits for the listener's salts (a firmware reads its RNG peripheral).
fn rtm_entropy() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(SystemTime::now())
}
