//! `gate-sim`: run the RTM gate simulator for C/C++ harnesses and manual tests.
//!
//! ```text
//! gate-sim [--pid N] [--secret S] [--script demo|idle] [--port P]
//!          [--curve C --private-key HEX|FILE [--print-public-key] [--write-public-key PATH]
//!           [--force-encrypt]]
//! gate-sim --help
//! ```
//!
//! With `--curve` and `--private-key` the gate speaks FPNN encryption (the `*key` exchange,
//! stream and package mode, AES-128/256-CFB) with that server key; plaintext clients are still
//! served unless `--force-encrypt`. `--print-public-key` prints `PUBLIC_KEY <curve> <hex X||Y>`
//! on stdout before the `PORT` line; `--write-public-key` writes it to a file (PEM for `.pem`,
//! DER SubjectPublicKeyInfo for `.der`, raw `X||Y` otherwise) before the `PORT` line.
//!
//! Prints exactly one line `PORT <n>` on stdout once listening on 127.0.0.1, then runs the
//! script: `idle` (the default) serves until killed; `demo` runs the script described in the
//! library docs and prints `SCRIPT OK pushes=<n> answered=<m> reconnects=<k>` (exit 0) or
//! `SCRIPT FAIL <reason>` (exit 1). Progress goes to stderr. `--help` (or `-h`) prints the
//! options and their defaults on stdout and exits 0; bad arguments exit 2.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use rtm_gate_sim::encryption::to_hex;
use rtm_gate_sim::{Curve, Gate, GateConfig, ServerKey, demo};

const USAGE: &str = "usage: gate-sim [--pid N] [--secret S] [--script demo|idle] [--port P]\n       \
                     [--curve C --private-key HEX|FILE [--print-public-key]\n        \
                     [--write-public-key PATH] [--force-encrypt]]";

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
         FPNN encryption (off by default; plaintext clients are served too unless --force-encrypt):\n  \
           --curve C          secp256k1, secp256r1 (prime256v1), secp224r1 or secp192r1\n  \
           --private-key K    the server's private key: a hex scalar (e.g. 0x1111; needs\n                     \
                              --curve), or a file: raw scalar (eccKeyMaker's NAME-private.key;\n                     \
                              needs --curve), PEM or DER (SEC1 or PKCS#8; curve from the file)\n  \
           --print-public-key print PUBLIC_KEY <curve> <hex X||Y> on stdout before PORT\n  \
           --write-public-key PATH\n                     \
                              write the public key before PORT: PEM if PATH ends in .pem, DER\n                     \
                              (SubjectPublicKeyInfo) if .der, else raw X||Y (like NAME-public.key)\n  \
           --force-encrypt    close plaintext connections that send a user (non-*) quest\n\
         \n\
         prints PORT <n> on stdout once listening; progress goes to stderr.\n",
        pid = d.pid,
        secret = d.secret,
    )
}

/// What the arguments ask for.
enum Args {
    Run(GateConfig, Script, Publish),
    Help,
}

/// Where the public key goes before the `PORT` line.
#[derive(Default)]
struct Publish {
    print: bool,
    write: Option<std::path::PathBuf>,
}

#[derive(Debug, PartialEq)]
enum Script {
    Idle,
    Demo,
}

fn parse_args() -> Result<Args, String> {
    let mut config = GateConfig::default();
    let mut script = Script::Idle;
    let mut publish = Publish::default();
    let mut curve: Option<Curve> = None;
    let mut private_key: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--help" | "-h" => return Ok(Args::Help),
            "--print-public-key" => {
                publish.print = true;
                continue;
            }
            "--force-encrypt" => {
                config.force_encrypt = true;
                continue;
            }
            _ => {}
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--pid" => config.pid = value.parse().map_err(|e| format!("--pid {value}: {e}"))?,
            "--secret" => config.secret = value,
            "--port" => config.port = value.parse().map_err(|e| format!("--port {value}: {e}"))?,
            "--curve" => curve = Some(value.parse().map_err(|e| format!("--curve: {e}"))?),
            "--private-key" => private_key = Some(value),
            "--write-public-key" => publish.write = Some(value.into()),
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
    match private_key {
        Some(spec) => {
            let key = ServerKey::parse(curve, &spec).map_err(|e| format!("--private-key: {e}"))?;
            if let Some(c) = curve
                && c != key.curve()
            {
                return Err(format!(
                    "--curve {c} but the key file is a {} key",
                    key.curve()
                ));
            }
            config.encryption = Some(key);
        }
        None => {
            if curve.is_some() {
                return Err("--curve needs --private-key".into());
            }
            if publish.print || publish.write.is_some() || config.force_encrypt {
                return Err(
                    "--print-public-key, --write-public-key and --force-encrypt need \
                     --curve and --private-key"
                        .into(),
                );
            }
        }
    }
    Ok(Args::Run(config, script, publish))
}

fn main() -> ExitCode {
    let (config, script, publish) = match parse_args() {
        Ok(Args::Run(config, script, publish)) => (config, script, publish),
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
    if let Some(key) = &gate.config().encryption {
        if let Some(path) = &publish.write
            && let Err(e) = key.write_public_key(path)
        {
            eprintln!("gate-sim: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        if publish.print {
            let _ = writeln!(
                out,
                "PUBLIC_KEY {} {}",
                key.curve(),
                to_hex(&key.public_key_raw())
            );
        }
    }
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
