//! `gate-sim`: run the RTM gate simulator for C/C++ harnesses and manual tests.
//!
//! ```text
//! gate-sim [--pid N] [--secret S] [--script demo|idle] [--port P]
//! gate-sim --help
//! ```
//!
//! Prints exactly one line `PORT <n>` on stdout once listening on 127.0.0.1, then runs the
//! script: `idle` (the default) serves until killed; `demo` runs the script described in the
//! library docs and prints `SCRIPT OK pushes=<n> answered=<m> reconnects=<k>` (exit 0) or
//! `SCRIPT FAIL <reason>` (exit 1). Progress goes to stderr. `--help` (or `-h`) prints the
//! options and their defaults on stdout and exits 0; bad arguments exit 2.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use rtm_gate_sim::{Gate, GateConfig, demo};

const USAGE: &str = "usage: gate-sim [--pid N] [--secret S] [--script demo|idle] [--port P]";

/// The `--help` text, with the defaults of [`GateConfig`].
fn help() -> String {
    let d = GateConfig::default();
    format!(
        "gate-sim: a local RTM gate simulator (FPNN over TCP on 127.0.0.1)\n\
         {USAGE}\n\
         \n\
         options:\n  \
           --pid N            project id quests must carry (default {pid})\n  \
           --secret S         project secret signatures are checked with (default {secret})\n  \
           --script idle|demo idle: serve until killed (default); demo: run the demo script,\n                     \
                              print SCRIPT OK ... (exit 0) or SCRIPT FAIL <reason> (exit 1)\n  \
           --port P           loopback port to bind (default 0: a free one)\n  \
           -h, --help         print this help and exit\n\
         \n\
         prints PORT <n> on stdout once listening; progress goes to stderr.\n",
        pid = d.pid,
        secret = d.secret,
    )
}

/// What the arguments ask for.
enum Args {
    Run(GateConfig, Script),
    Help,
}

#[derive(Debug, PartialEq)]
enum Script {
    Idle,
    Demo,
}

fn parse_args() -> Result<Args, String> {
    let mut config = GateConfig::default();
    let mut script = Script::Idle;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(Args::Help);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--pid" => config.pid = value.parse().map_err(|e| format!("--pid {value}: {e}"))?,
            "--secret" => config.secret = value,
            "--port" => config.port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            "--script" => {
                script = match value.as_str() {
                    "idle" => Script::Idle,
                    "demo" => Script::Demo,
                    other => return Err(format!("unknown script {other}")),
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Args::Run(config, script))
}

fn main() -> ExitCode {
    let (config, script) = match parse_args() {
        Ok(Args::Run(config, script)) => (config, script),
        Ok(Args::Help) => {
            print!("{}", help());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("gate-sim: {e}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let gate = match Gate::start(config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gate-sim: cannot listen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "PORT {}", gate.port());
    let _ = out.flush();
    match script {
        Script::Idle => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        Script::Demo => {
            let mut log = |line: &str| eprintln!("gate-sim: {line}");
            let result = demo::run(&gate, &mut log);
            let (line, code) = match result {
                Ok(summary) => (summary.to_string(), ExitCode::SUCCESS),
                Err(reason) => (format!("SCRIPT FAIL {reason}"), ExitCode::from(1)),
            };
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            code
        }
    }
}
