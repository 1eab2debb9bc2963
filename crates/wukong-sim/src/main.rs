//! `wukong-sim [ADDR] [--plain] [--version N] [--token T] [--interval-ms MS] [--script demo]`:
//! a WuKongIM server SIMULATION (not WuKongIM) on ADDR (default 127.0.0.1:5100).
//! `wukong-sim --post-webhooks BASE` posts the simulation's webhooks to a receiver instead.
//!
//! Without `--script`, once a client logs in it pushes the demo messages (one of each kind)
//! every interval, and re-sends what was not acknowledged.
//!
//! `--script demo` (for the C and C++ harnesses) listens on a free loopback port unless ADDR
//! is given, prints `PORT <n>`, then: waits for a login; pushes the six demo messages (ids
//! 1000-1005) in one write; waits for their RECVACKs; re-sends 1000 with DUP and waits for its
//! second RECVACK; kicks the client (DISCONNECT 12); waits for a second login; pushes 2000 and
//! waits for its RECVACK; writes the first 20 bytes of 2001 and drops the connection; waits for
//! a third login, re-sends 2001 (the server's retry) and waits for its RECVACK. It prints
//! `SCRIPT OK ...` and exits 0, or `SCRIPT FAIL <why>` and exits 1 (each wait gives up after
//! 15 s).

use std::process::ExitCode;
use std::time::Duration;

use wukong_sim::{Msg, SimConfig, WkSim, demo_messages};

fn demo_script(sim: &WkSim) -> Result<String, String> {
    let wait = Duration::from_secs(15);
    let step = |ok: bool, why: &str| if ok { Ok(()) } else { Err(why.to_string()) };
    step(sim.wait(wait, |v| v.logged_in()), "no login")?;
    let msgs = demo_messages(1000);
    sim.send_all(&msgs).map_err(|e| format!("send: {e}"))?;
    step(
        sim.wait(wait, |v| msgs.iter().all(|m| v.acks_of(m.message_id) == 1)),
        "the demo messages were not all acknowledged once",
    )?;
    sim.resend(&msgs[0]).map_err(|e| format!("resend: {e}"))?;
    step(
        sim.wait(wait, |v| v.acks_of(1000) == 2),
        "the re-send was not acknowledged",
    )?;
    sim.kick().map_err(|e| format!("kick: {e}"))?;
    step(
        sim.wait(wait, |v| v.logged_in() && v.logins().len() == 2),
        "no login after the kick",
    )?;
    let after = Msg::new(
        2000,
        "10001",
        "10001",
        1,
        br#"{"type":1,"content":"after the kick"}"#,
    );
    sim.send(&after).map_err(|e| format!("send: {e}"))?;
    step(
        sim.wait(wait, |v| v.acks_of(2000) == 1),
        "2000 was not acknowledged",
    )?;
    // A drop in the middle of a RECV, then the server's retry on the next login.
    let cut = Msg::new(
        2001,
        "10001",
        "30001",
        2,
        br#"{"type":1,"content":"cut in half"}"#,
    );
    sim.drop_mid_packet(&cut, 20)
        .map_err(|e| format!("drop: {e}"))?;
    step(
        sim.wait(wait, |v| v.logged_in() && v.logins().len() == 3),
        "no login after the drop",
    )?;
    step(
        sim.resend_unacked().map_err(|e| format!("resend: {e}"))? == 1,
        "nothing to re-send",
    )?;
    step(
        sim.wait(wait, |v| v.acks_of(2001) == 1),
        "2001 was not acknowledged after the drop",
    )?;
    // Let a wrong extra acknowledgement show up.
    std::thread::sleep(Duration::from_millis(100));
    sim.view(|v| {
        if !v.errors().is_empty() {
            return Err(format!("client errors: {:?}", v.errors()));
        }
        if v.acks().len() != 9 {
            return Err(format!("{} RECVACKs, expected 9", v.acks().len()));
        }
        Ok(format!(
            "SCRIPT OK logins={} acks={} pings={}",
            v.logins().len(),
            v.acks().len(),
            v.pings()
        ))
    })
}

/// `--post-webhooks BASE`: the server's webhook side against a receiver at `BASE`: a
/// `msg.notify` batch of the demo messages (ids 5000-5005), the same batch again (a retry
/// after a lost 200), a `msg.offline` message (5100, alice to bob), and a `user.onlinestatus`
/// batch (alice's login, bo-b's logout); each POST retried on anything but 200, at most 5
/// times, 50 ms apart. Prints `POSTS <statuses per batch>` and exits 0 when every batch ended
/// with 200.
fn post_webhooks(base: &str) -> ExitCode {
    use wukong_sim::webhook;
    let pause = Duration::from_millis(50);
    let notify = webhook::notify_body(&demo_messages(5000));
    let offline = Msg::new(
        5100,
        "alice",
        "bob",
        1,
        br#"{"type":1,"content":"while you were away"}"#,
    );
    let presence = webhook::presence_body(&[
        webhook::presence("alice", 1, true, 42, 1, 2),
        webhook::presence("bo-b", 0, false, 17, 0, 1),
    ]);
    let runs = [
        webhook::deliver(base, "msg.notify", &notify, 5, pause),
        webhook::deliver(base, "msg.notify", &notify, 5, pause),
        webhook::deliver(
            base,
            "msg.offline",
            &webhook::offline_body(&offline, &["bob"]),
            5,
            pause,
        ),
        webhook::deliver(base, "user.onlinestatus", &presence, 5, pause),
    ];
    println!("POSTS {runs:?}");
    if runs.iter().all(|r| r.last() == Some(&200)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    let mut cfg = SimConfig::default();
    let mut addr = None;
    let mut interval = 1000u64;
    let mut script = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| match args.next() {
            Some(v) => v,
            None => {
                eprintln!("{name} needs a value");
                std::process::exit(2)
            }
        };
        match a.as_str() {
            "--plain" => cfg.encrypt = false,
            "--version" => cfg.max_version = value("--version").parse().unwrap_or(5),
            "--token" => cfg.token = Some(value("--token")),
            "--interval-ms" => interval = value("--interval-ms").parse().unwrap_or(1000),
            "--script" => script = Some(value("--script")),
            "--post-webhooks" => return post_webhooks(&value("--post-webhooks")),
            "-h" | "--help" => {
                println!(
                    "usage: wukong-sim [ADDR] [--plain] [--version N] [--token T] [--interval-ms MS] [--script demo]"
                );
                return ExitCode::SUCCESS;
            }
            other => addr = Some(other.to_string()),
        }
    }
    if let Some(s) = &script {
        if s != "demo" {
            eprintln!("unknown script {s:?} (demo)");
            return ExitCode::from(2);
        }
        let addr = addr.unwrap_or_else(|| "127.0.0.1:0".into());
        let sim = match WkSim::start_on(&addr, cfg) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("wukong-sim: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        println!("PORT {}", sim.addr().port());
        return match demo_script(&sim) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(why) => {
                println!("SCRIPT FAIL {why}");
                ExitCode::from(1)
            }
        };
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:5100".into());
    let sim = match WkSim::start_on(&addr, cfg.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wukong-sim: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
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
