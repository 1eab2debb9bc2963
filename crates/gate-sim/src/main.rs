//! `gate-sim`: run the RTM gate simulator for C/C++ harnesses and manual tests.
//!
//! ```text
//! gate-sim [--pid N] [--secret S] [--script demo|idle] [--port P]
//! ```
//!
//! Prints exactly one line `PORT <n>` on stdout once listening on 127.0.0.1, then runs the
//! script: `idle` (the default) serves until killed; `demo` runs the script described in the
//! library docs and prints `SCRIPT OK pushes=<n> answered=<m> reconnects=<k>` (exit 0) or
//! `SCRIPT FAIL <reason>` (exit 1). Progress goes to stderr.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use rtm_gate_sim::{Gate, GateConfig, demo};

const USAGE: &str = "usage: gate-sim [--pid N] [--secret S] [--script demo|idle] [--port P]";

#[derive(Debug, PartialEq)]
enum Script {
    Idle,
    Demo,
}

fn parse_args() -> Result<(GateConfig, Script), String> {
    let mut config = GateConfig::default();
    let mut script = Script::Idle;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
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
    Ok((config, script))
}

fn main() -> ExitCode {
    let (config, script) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gate-sim: {e}");
            }
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
