//! `rtm-listen wukongim [OPTIONS]`: a WuKongIM monitor user against a real server
//! (`--endpoint`), or the demo against the built-in WuKongIM simulation.

use std::time::Duration;

use clap::error::ErrorKind;
use rtm_listen::driver::tcp::TcpDriver;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
use rtm_listen::wire::wukong::payload::RoomTypes;
use wukong_sim::{Msg, SimConfig, WkSim, demo_messages};

use crate::args::WkArgs;
use crate::callbacks::Recorder;
use crate::credentials::{self, Secret};
use crate::exit::Exit;
use crate::log::Log;
use crate::output::Output;

/// The demo's uid when none is given.
const DEMO_UID: &str = "monitor";

/// Runs what `args` ask for.
pub fn run(args: &WkArgs) -> Exit {
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

/// The listener's configuration from the arguments.
fn config(args: &WkArgs) -> WkConfig {
    let mut cfg = WkConfig {
        version: args.protocol_version,
        device_flag: args.device_flag,
        ..WkConfig::DEFAULT
    };
    if !args.rooms.is_empty() {
        cfg.rooms = RoomTypes::of(&args.rooms);
    }
    cfg
}

/// A driver for `endpoint`; a uid, token or device id the listener refuses is a usage error.
fn driver(
    args: &WkArgs,
    endpoint: String,
    uid: &str,
    token: &Secret,
) -> Result<TcpDriver<WkListener>, Exit> {
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).map_err(|e| Exit::failure(format!("entropy: {e}")))?;
    let device_id = args
        .device_id
        .clone()
        .unwrap_or_else(|| format!("rtm-listen-{}", std::process::id()));
    let creds = WkCredentials {
        uid,
        token: token.expose(),
        device_id: &device_id,
    };
    let listener = WkListener::new(config(args), creds, &entropy).map_err(|e| {
        Exit::usage(
            ErrorKind::ValueValidation,
            format!("the WuKongIM login: {e}"),
        )
    })?;
    Ok(TcpDriver::new(endpoint, listener))
}

/// Listens to a real server until `--seconds` pass, the login is refused or nobody reads
/// stdout.
fn real(args: &WkArgs, endpoint: &str, out: Output, log: Log) -> Result<(), Exit> {
    let creds = credentials::wukong(
        args.uid.as_deref(),
        args.token.as_ref(),
        args.token_file.as_deref(),
    )?;
    let mut d = driver(args, endpoint.to_owned(), &creds.uid, &creds.token)?;
    log.info(&format!("listening to {endpoint} as {}", creds.uid));
    let limit = args.seconds.map_or(Duration::MAX, Duration::from_secs);
    let mut rec = Recorder::new(out);
    d.run_until(&mut rec, limit, |r, _| r.stop());
    if let Some(why) = rec.tally.auth_refused {
        return Err(Exit::AuthRefused(format!(
            "the server refused the login ({why}): check the uid and the token"
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

/// Steps until `done` or `limit`; false on the limit or a refused login.
fn run_until(
    d: &mut TcpDriver<WkListener>,
    rec: &mut Recorder,
    limit: Duration,
    mut done: impl FnMut(&Recorder) -> bool,
) -> bool {
    d.run_until(rec, limit, |r, _| done(r) || r.tally.auth_refused.is_some())
        && rec.tally.auth_refused.is_none()
}

/// The demo against the simulation: every message delivered once and acknowledged, a
/// re-sent duplicate suppressed, a kick survived.
fn simulated(args: &WkArgs, out: Output, log: Log) -> Result<(), Exit> {
    let uid = args.uid.as_deref().unwrap_or(DEMO_UID);
    let token = credentials::demo_token(args.token.as_ref(), args.token_file.as_deref())?;
    let encrypt = !args.plain;
    let sim = WkSim::start(SimConfig {
        encrypt,
        max_version: args.protocol_version,
        token: Some(token.expose().to_owned()),
        ..SimConfig::default()
    })
    .map_err(|e| Exit::failure(format!("simulation: {e}")))?;
    log.info(&format!(
        "WuKongIM SIMULATION on {} (encryption {}, version {}): not a WuKongIM server",
        sim.addr(),
        if encrypt { "on" } else { "off" },
        args.protocol_version
    ));
    let mut d = driver(args, sim.addr().to_string(), uid, &token)?;
    let mut rec = Recorder::new(out);
    let fail = |m: &str| Exit::failure(format!("the demo failed: {m}"));
    let io = |e: std::io::Error| Exit::failure(format!("the demo failed: simulation: {e}"));
    let limit = Duration::from_secs(10);
    if !run_until(&mut d, &mut rec, limit, |r| r.tally.connects == 1)
        || !sim.wait(limit, |v| v.logged_in())
    {
        return Err(fail("no login"));
    }
    let first = demo_messages(1000);
    sim.send_all(&first).map_err(io)?;
    if !run_until(&mut d, &mut rec, limit, |r| {
        r.tally.delivered.len() == first.len()
    }) {
        return Err(fail("the first messages did not all arrive"));
    }
    // The server's retry of a message the listener already has: acknowledged, not delivered.
    sim.resend(&first[0]).map_err(io)?;
    // A kick, then a login again after the back-off.
    sim.kick().map_err(io)?;
    if !run_until(&mut d, &mut rec, Duration::from_secs(20), |r| {
        r.tally.connects == 2
    }) {
        return Err(fail("no login after the kick"));
    }
    if !sim.wait(limit, |v| v.logged_in()) {
        return Err(fail("the simulation saw no second login"));
    }
    let after = [Msg::new(
        2000,
        "10001",
        "10001",
        1,
        br#"{"type":1,"content":"after the kick"}"#,
    )];
    sim.send_all(&after).map_err(io)?;
    let want = first.len() + after.len();
    if !run_until(&mut d, &mut rec, limit, |r| r.tally.delivered.len() == want) {
        return Err(fail("the message after the kick did not arrive"));
    }
    let all: Vec<i64> = first.iter().chain(&after).map(|m| m.message_id).collect();
    if rec.tally.delivered != all {
        return Err(fail(&format!(
            "delivered {:?}, expected {all:?} once each",
            rec.tally.delivered
        )));
    }
    let acked = sim.wait(limit, |v| {
        all.iter().all(|id| v.acks_of(*id) >= 1) && v.unacked() == 0
    });
    if !acked || rec.tally.kicks != 1 {
        return Err(fail(&format!(
            "acknowledged: {acked}, kicks: {}",
            rec.tally.kicks
        )));
    }
    log.info(&format!(
        "demo ok: {} messages delivered once each, {} callback kinds, every one acknowledged, a \
         duplicate suppressed, a kick survived",
        rec.tally.delivered.len(),
        rec.tally.kinds.len()
    ));
    Ok(())
}
