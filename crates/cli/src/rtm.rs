//! `rtm-listen [OPTIONS]`: an RTM listener against a real gateway (`--endpoint`), or the demo
//! against the built-in RTM gate simulator.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::error::ErrorKind;
use rtm_gate_sim::{Gate, demo};
use rtm_listen::driver::tcp::{TcpDriver, entropy};
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::session::{Config, Listener};

use crate::args::RtmArgs;
use crate::callbacks::Recorder;
use crate::credentials;
use crate::encryption::{self, KeySource};
use crate::exit::Exit;
use crate::log::{self, Log};
use crate::output::Output;

/// The callbacks the simulator's demo script provokes: each must be seen once at least.
pub const DEMO_CALLBACKS: [&str; 22] = [
    "connected",
    "closed",
    "disconnected",
    "restored",
    "command_done",
    "push_event",
    "ping",
    "push_p2p_chat",
    "push_p2p_audio",
    "push_p2p_cmd",
    "push_p2p_file",
    "push_p2p_message",
    "push_group_chat",
    "push_group_audio",
    "push_group_cmd",
    "push_group_file",
    "push_group_message",
    "push_room_chat",
    "push_room_audio",
    "push_room_cmd",
    "push_room_file",
    "push_room_message",
];

/// Runs what `args` ask for.
pub fn run(args: &RtmArgs) -> Exit {
    let log = Log {
        quiet: args.output.quiet,
    };
    let out = Output::stdout(args.output.format);
    let result = match &args.endpoint {
        Some(endpoint) => real(args, endpoint, out, log),
        None => simulated(args, out, log),
    };
    result.err().unwrap_or(Exit::Success)
}

/// A driver for `endpoint` with these credentials.
fn driver(endpoint: String, pid: u32, secret: &[u8]) -> Result<TcpDriver, Exit> {
    let creds = Credentials { pid, secret };
    let listener = Listener::new(Config::DEFAULT, creds, entropy())
        .map_err(|e| Exit::usage(ErrorKind::ValueValidation, format!("the credentials: {e}")))?;
    Ok(TcpDriver::new(endpoint, listener))
}

/// Listens to a real gateway until `--seconds` pass, the credentials are refused or nobody
/// reads stdout.
fn real(args: &RtmArgs, endpoint: &str, out: Output, log: Log) -> Result<(), Exit> {
    let creds = credentials::rtm(args.pid, args.secret.as_ref(), args.secret_file.as_deref())?;
    let mut d = driver(
        endpoint.to_owned(),
        creds.pid,
        creds.secret.expose().as_bytes(),
    )?;
    if let Some(path) = &args.server_key {
        encryption::enable(&mut d, args, KeySource::File(path), log)?;
    }
    let refused = |e: rtm_listen::session::CommandError| {
        Exit::usage(ErrorKind::ValueValidation, format!("the listen set: {e}"))
    };
    let now = d.now_ms();
    if args.all {
        let flags = ListenFlags {
            group: true,
            room: true,
            p2p: true,
            ev: true,
        };
        d.listener().set_listen_all(now, flags).map_err(refused)?;
    }
    let events: Vec<&str> = args.events.iter().map(String::as_str).collect();
    let ids = ListenIds {
        gids: &args.gids,
        rids: &args.rids,
        uids: &args.uids,
        events: &events,
    };
    if !ids.is_empty() {
        d.listener().set_listen(now, &ids).map_err(refused)?;
    } else if !args.all {
        log::warn(
            "nothing to listen to (--gids, --rids, --uids, --events or --all): no push will \
             come, and the credentials are not checked",
        );
    }
    log.info(&format!("listening to {endpoint}"));
    let limit = args.seconds.map_or(Duration::MAX, Duration::from_secs);
    let mut rec = Recorder::new(out);
    d.run_until(&mut rec, limit, |r, _| r.stop());
    if let Some(why) = rec.tally.auth_refused {
        return Err(Exit::AuthRefused(format!(
            "the server refused the credentials ({why}): check the pid and the secret"
        )));
    }
    if rec.tally.connects == 0 {
        let why = d.last_error().map_or(String::new(), |e| format!(": {e}"));
        return Err(Exit::NeverConnected(format!(
            "never connected to {}{why}",
            d.endpoint()
        )));
    }
    Ok(())
}

/// Runs the demo against the built-in simulator: success when its script succeeded and every
/// callback of [`DEMO_CALLBACKS`] was seen.
fn simulated(args: &RtmArgs, out: Output, log: Log) -> Result<(), Exit> {
    let config = encryption::simulator_config(args)?;
    let gate = Gate::start(config.clone()).map_err(|e| Exit::failure(format!("simulator: {e}")))?;
    log.info(&format!(
        "RTM gate simulator listening on {} (pid {})",
        gate.addr(),
        config.pid
    ));
    let mut d = driver(
        gate.addr().to_string(),
        config.pid,
        config.secret.as_bytes(),
    )?;
    if let Some(key) = &config.encryption {
        encryption::enable(
            &mut d,
            args,
            KeySource::Simulator(&key.public_key_raw()),
            log,
        )?;
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
        .map_err(|e| Exit::failure(format!("the demo's listen set: {e}")))?;
    let done = AtomicBool::new(false);
    let mut rec = Recorder::new(out);
    let outcome = std::thread::scope(|s| {
        let script = s.spawn(|| {
            let result = demo::run(&gate, &mut |line| log.info(&format!("simulator: {line}")));
            done.store(true, Ordering::SeqCst);
            result
        });
        d.run_until(
            &mut rec,
            demo::TOTAL_TIMEOUT + Duration::from_secs(5),
            |_, _| done.load(Ordering::SeqCst),
        );
        // Let the last answers and callbacks through.
        for _ in 0..10 {
            d.step(&mut rec, Duration::from_millis(20));
        }
        script.join()
    });
    let summary = match outcome {
        Ok(Ok(summary)) => summary,
        Ok(Err(reason)) => return Err(Exit::failure(format!("the demo script failed: {reason}"))),
        Err(_) => return Err(Exit::failure("the demo script panicked")),
    };
    log.info(&format!("simulator: {summary}"));
    let missing: Vec<_> = DEMO_CALLBACKS
        .iter()
        .filter(|k| !rec.tally.kinds.contains(*k))
        .collect();
    if !missing.is_empty() {
        return Err(Exit::failure(format!(
            "callbacks never called: {missing:?}"
        )));
    }
    log.info(&format!("demo ok: {} callbacks", rec.tally.callbacks));
    Ok(())
}
