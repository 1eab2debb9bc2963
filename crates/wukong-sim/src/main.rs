//! `wukong-sim [ADDR] [--plain] [--version N] [--token T] [--interval-ms MS]`: a WuKongIM
//! server SIMULATION (not WuKongIM) on ADDR (default 127.0.0.1:5100). Once a client logs in,
//! it pushes the demo messages (one of each kind) every interval, and re-sends what was not
//! acknowledged.

use std::time::Duration;

use wukong_sim::{SimConfig, WkSim, demo_messages};

fn main() {
    let mut cfg = SimConfig::default();
    let mut addr = "127.0.0.1:5100".to_string();
    let mut interval = 1000u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("{name} needs a value");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--plain" => cfg.encrypt = false,
            "--version" => cfg.max_version = value("--version").parse().unwrap_or(5),
            "--token" => cfg.token = Some(value("--token")),
            "--interval-ms" => interval = value("--interval-ms").parse().unwrap_or(1000),
            "-h" | "--help" => {
                println!(
                    "usage: wukong-sim [ADDR] [--plain] [--version N] [--token T] [--interval-ms MS]"
                );
                return;
            }
            other => addr = other.to_string(),
        }
    }
    let sim = match WkSim::start_on(&addr, cfg.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wukong-sim: cannot listen on {addr}: {e}");
            std::process::exit(1)
        }
    };
    println!(
        "wukong-sim: a WuKongIM SIMULATION on {} (encryption {}, version up to {})",
        sim.addr(),
        if cfg.encrypt { "on" } else { "off" },
        cfg.max_version
    );
    let mut next = 1_000_000i64;
    loop {
        if sim.wait(Duration::from_secs(3600), |v| v.logged_in()) {
            let _ = sim.resend_unacked();
            if sim.send_all(&demo_messages(next)).is_ok() {
                next += 100;
            }
        }
        std::thread::sleep(Duration::from_millis(interval));
    }
}
