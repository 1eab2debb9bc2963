//! The `gate-sim` binary: the `PORT` line, the idle script, the demo script, bad arguments,
//! `--help`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Client, WAIT, demo_client};

fn spawn(args: &[&str]) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gate-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gate-sim");
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

fn port_line(out: &mut BufReader<std::process::ChildStdout>) -> SocketAddr {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("bad first line {line:?}"));
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn idle_serves_with_the_given_credentials() {
    let (mut child, mut out) = spawn(&["--pid", "77", "--secret", "xyz", "--script", "idle"]);
    let addr = port_line(&mut out);
    let mut good = Client::with_creds(addr, 77, "xyz");
    good.listen_ok(rtm_listen::rtm::listen::ListenOp::Add, &[1], &[], &[], &[]);
    let mut bad = Client::connect(addr); // the library defaults: wrong pid and secret
    let seq = bad.listen(rtm_listen::rtm::listen::ListenOp::Add, &[1], &[], &[], &[]);
    assert_eq!(bad.answer_to(seq, WAIT).unwrap().0, 1);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn demo_reports_ok_with_a_well_behaved_client() {
    let (mut child, mut out) = spawn(&["--script", "demo"]);
    let addr = port_line(&mut out);
    let got = demo_client(addr, false);
    assert_eq!(got.len(), 22);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(
        line.trim_end(),
        "SCRIPT OK pushes=22 answered=21 reconnects=1"
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn bad_arguments_exit_2_without_a_port_line() {
    let (mut child, mut out) = spawn(&["--script", "nope"]);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    let _ = Duration::ZERO;
}

#[test]
fn help_exits_0_and_lists_the_options_and_defaults() {
    let out = Command::new(env!("CARGO_BIN_EXE_gate-sim"))
        .arg("--help")
        .output()
        .expect("run gate-sim --help");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let defaults = rtm_gate_sim::GateConfig::default();
    for needle in [
        "--pid",
        "--secret",
        "--script",
        "--port",
        "--help",
        &format!("default {}", defaults.pid),
        &format!("default {}", defaults.secret),
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(
        !text.lines().any(|l| l.starts_with("PORT ")),
        "no gate is started"
    );
}
