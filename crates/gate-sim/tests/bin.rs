//! The `gate-sim` binary: the `PORT` line, the idle script, the demo script, bad arguments,
//! `--help`, the encryption flags.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Client, EncSpec, WAIT, demo_client};

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
    for flag in ["--help", "-h"] {
        let out = Command::new(env!("CARGO_BIN_EXE_gate-sim"))
            .arg(flag)
            .output()
            .expect("run gate-sim --help");
        assert_eq!(out.status.code(), Some(0), "{flag}");
        let text = String::from_utf8(out.stdout).unwrap();
        let defaults = rtm_gate_sim::GateConfig::default();
        for needle in [
            "usage: gate-sim",
            "--pid",
            "--secret",
            "--script",
            "--port",
            "--help",
            &format!("default {}", defaults.pid),
            &format!("default {}", defaults.secret),
        ] {
            assert!(
                text.contains(needle),
                "{flag}: {needle:?} missing from:\n{text}"
            );
        }
        assert!(
            !text.lines().any(|l| l.starts_with("PORT ")),
            "no gate is started"
        );
    }
}

#[test]
fn encryption_flags_publish_the_public_key_and_encrypted_clients_are_served() {
    let dir = std::env::temp_dir().join(format!("gate-sim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let der = dir.join("server.der");
    let (mut child, mut out) = spawn(&[
        "--curve",
        "secp256k1",
        "--private-key",
        "0x1111",
        "--print-public-key",
        "--write-public-key",
        der.to_str().unwrap(),
    ]);
    // Example 8's server key.
    let server_pub = "7592aab5d43618dda13fba71e3993cd7517a712d3da49664c06ee1bd3d1f70af554ee877af74284d5ac0aef1ccfa8ab27a9222ae977a1b457d79d38616eaa410";
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, format!("PUBLIC_KEY secp256k1 {server_pub}\n"));
    let addr = port_line(&mut out);
    let spki = std::fs::read(&der).unwrap();
    assert_eq!(spki.len(), 88);
    assert!(spki.ends_with(&rtm_gate_sim::encryption::from_hex(server_pub).unwrap()));
    let mut c = Client::connect(addr);
    c.key_exchange(&EncSpec {
        curve: rtm_gate_sim::Curve::Secp256k1,
        server_pub: rtm_gate_sim::encryption::from_hex(server_pub).unwrap(),
        client_priv: [vec![0u8; 30], vec![0x22, 0x22]].concat(),
        stream: true,
        bits: 256,
        pubkey_as_str: true,
    });
    c.listen_ok(rtm_listen::rtm::listen::ListenOp::Add, &[1], &[], &[], &[]);
    // Plaintext clients are served too without --force-encrypt.
    let mut p = Client::connect(addr);
    p.listen_ok(rtm_listen::rtm::listen::ListenOp::Add, &[2], &[], &[], &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_encryption_arguments_exit_2_and_help_lists_the_flags() {
    let dir = std::env::temp_dir().join(format!("gate-sim-badargs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("secp192r1-private.key");
    std::fs::write(&raw, [0x11u8; 24]).unwrap();
    let raw = raw.to_str().unwrap();
    let cases: [&[&str]; 8] = [
        &["--curve", "secp256k1"],
        &["--private-key", "1111"],
        &["--force-encrypt"],
        &["--print-public-key"],
        &["--curve", "ed25519", "--private-key", "1111"],
        &["--curve", "secp256k1", "--private-key", "0"],
        // A raw key file of the wrong size for the curve (24 bytes, not 32) is not DER either.
        &["--curve", "secp256k1", "--private-key", raw],
        &[
            "--curve",
            "secp192r1",
            "--private-key",
            raw,
            "--write-public-key",
            "/nonexistent/dir/k.pem",
        ],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_gate-sim"))
            .args(args)
            .output()
            .expect("run gate-sim");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("PORT"),
            "{args:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let help = Command::new(env!("CARGO_BIN_EXE_gate-sim"))
        .arg("--help")
        .output()
        .expect("run gate-sim --help");
    let text = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--curve",
        "--private-key",
        "--print-public-key",
        "--write-public-key",
        "--force-encrypt",
        "secp224r1",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}
