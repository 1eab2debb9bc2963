//! The `rtm-listen` binary as a user runs it: help and version, usage errors (exit 2), a closed
//! port (exit 3), refused credentials (exit 4), a successful run (exit 0), the built-in demos
//! in JSON, and the secret never printed.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rtm_gate_sim::{Gate, GateConfig};
use serde_json::Value;
use wukong_sim::{SimConfig, WkSim};

/// A secret that must never appear in any output.
const SENTINEL: &str = "s3ntinel-SECRET-do-not-print";

/// What a run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    /// Fails unless the run exited with `code`.
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Fails if the sentinel secret is in stdout or stderr.
    fn expect_no_secret(&self) -> &Self {
        assert!(
            !self.stdout.contains(SENTINEL),
            "secret on stdout:\n{}",
            self.stdout
        );
        assert!(
            !self.stderr.contains(SENTINEL),
            "secret on stderr:\n{}",
            self.stderr
        );
        self
    }

    /// Every stdout line as a JSON object with an `event` string; fails otherwise.
    fn json_lines(&self) -> Vec<Value> {
        assert!(
            !self.stdout.is_empty(),
            "no output; stderr:\n{}",
            self.stderr
        );
        self.stdout
            .lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
                assert!(v.is_object(), "not an object: {line}");
                assert!(v["event"].is_string(), "no event string: {line}");
                v
            })
            .collect()
    }
}

/// The events' names.
fn kinds(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|v| v["event"].as_str().map(str::to_owned))
        .collect()
}

/// Runs the binary with `args` and `env` (the credentials variables of the caller removed),
/// killing it after `limit`.
fn run(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rtm-listen"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in ["RTM_PID", "RTM_SECRET", "WK_UID", "WK_TOKEN"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start rtm-listen");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rtm-listen {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        took: start.elapsed(),
    }
}

const QUICK: Duration = Duration::from_secs(10);

/// A file holding `content`, unique to this test process.
fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rtm-listen-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write temp file");
    path
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn help_and_version_exit_0_and_say_what_they_should() {
    let env = [("RTM_SECRET", SENTINEL), ("WK_TOKEN", SENTINEL)];
    let long = run(&["--help"], &env, QUICK);
    long.expect_code(0).expect_no_secret();
    for needle in [
        "Usage: rtm-listen [OPTIONS]",
        "wukongim",
        "--endpoint <HOST:PORT>",
        "--secret-file <FILE>",
        "RTM_SECRET",
        "RTM_PID",
        "--format <FORMAT>",
        "Exit codes:",
        "4  the server refused the credentials",
        "push_event     pid, name, uid, time, endpoint, data",
    ] {
        assert!(
            long.stdout.contains(needle),
            "{needle:?} not in --help:\n{}",
            long.stdout
        );
    }
    let short = run(&["-h"], &env, QUICK);
    short.expect_code(0).expect_no_secret();
    assert!(
        short.stdout.contains("Usage: rtm-listen"),
        "{}",
        short.stdout
    );
    assert!(
        short.stdout.contains("Exit codes: 0 ok"),
        "{}",
        short.stdout
    );
    assert!(short.stdout.len() < long.stdout.len());

    let wk = run(&["wukongim", "--help"], &env, QUICK);
    wk.expect_code(0).expect_no_secret();
    for needle in [
        "--protocol-version <N>",
        "--token-file <FILE>",
        "WK_TOKEN",
        "WK_UID",
        "Exit codes:",
    ] {
        assert!(
            wk.stdout.contains(needle),
            "{needle:?} not in wukongim --help:\n{}",
            wk.stdout
        );
    }

    let version = concat!("rtm-listen ", env!("CARGO_PKG_VERSION"), "\n");
    for flag in ["--version", "-V"] {
        let v = run(&[flag], &[], QUICK);
        v.expect_code(0);
        assert_eq!(v.stdout, version);
    }
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    for (args, needle) in [
        (&["--nope"][..], "--nope"),
        (&["--format", "xml"], "xml"),
        (&["--endpoint", "127.0.0.1:1", "--pid", "abc"], "abc"),
        (&["--endpoint", "no-port"], "HOST:PORT"),
        (&["--gids", "1"], "--endpoint"),
        (&["--endpoint", "127.0.0.1:1", "--encrypt"], "--encrypt"),
        (&["--stream"], "--stream"),
        (&["wukongim", "--protocol-version", "9"], "9"),
        (
            &["wukongim", "--endpoint", "127.0.0.1:1", "--plain"],
            "--plain",
        ),
        (&["--gids", "1", "wukongim"], "wukongim"),
    ] {
        let r = run(args, &[], QUICK);
        r.expect_code(2);
        assert!(
            r.stdout.is_empty(),
            "{args:?} printed on stdout: {}",
            r.stdout
        );
        assert!(
            r.stderr.contains(needle),
            "{args:?}: {needle:?} not in:\n{}",
            r.stderr
        );
    }
}

#[test]
fn an_endpoint_without_credentials_is_a_usage_error() {
    let r = run(&["--endpoint=127.0.0.1:1"], &[], QUICK);
    r.expect_code(2);
    for needle in [
        "--endpoint needs",
        "--pid",
        "RTM_PID",
        "RTM_SECRET",
        "--secret-file",
    ] {
        assert!(
            r.stderr.contains(needle),
            "{needle:?} not in:\n{}",
            r.stderr
        );
    }
    let r = run(&["--endpoint=127.0.0.1:1", "--pid", "5"], &[], QUICK);
    r.expect_code(2);
    assert!(
        r.stderr.contains("RTM_SECRET") && !r.stderr.contains("RTM_PID"),
        "{}",
        r.stderr
    );

    let r = run(&["wukongim", "--endpoint=127.0.0.1:1"], &[], QUICK);
    r.expect_code(2);
    assert!(
        r.stderr.contains("WK_UID") && r.stderr.contains("WK_TOKEN"),
        "{}",
        r.stderr
    );

    // A flag and a file for the same secret; a missing file.
    let file = temp_file("both", "x\n");
    let file = file.to_str().expect("utf-8 path");
    let both = [
        "--endpoint=127.0.0.1:1",
        "--pid",
        "5",
        "--secret",
        SENTINEL,
        "--secret-file",
        file,
    ];
    run(&both, &[], QUICK).expect_code(2).expect_no_secret();
    let missing = [
        "--endpoint=127.0.0.1:1",
        "--pid",
        "5",
        "--secret-file",
        "/nonexistent/secret",
    ];
    let r = run(&missing, &[], QUICK);
    r.expect_code(2);
    assert!(r.stderr.contains("/nonexistent/secret"), "{}", r.stderr);
}

#[test]
fn a_closed_port_exits_3_after_the_seconds() {
    let endpoint = format!("127.0.0.1:{}", closed_port());
    let args = [
        "--endpoint",
        &endpoint,
        "--gids",
        "1",
        "--seconds",
        "2",
        "--format",
        "json",
    ];
    let r = run(&args, &[("RTM_PID", "5"), ("RTM_SECRET", SENTINEL)], QUICK);
    r.expect_code(3).expect_no_secret();
    assert!(r.took >= Duration::from_secs(2), "{:?}", r.took);
    assert!(r.stderr.contains("never connected"), "{}", r.stderr);
    let lines = r.json_lines();
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "disconnected" && v["reason"].is_string())
    );
    assert!(!lines.iter().any(|v| v["connected"] == true));

    let args = [
        "wukongim",
        "--endpoint",
        &endpoint,
        "--seconds",
        "1",
        "--uid",
        "m",
    ];
    let r = run(&args, &[("WK_TOKEN", SENTINEL)], QUICK);
    r.expect_code(3).expect_no_secret();
}

#[test]
fn a_wrong_secret_exits_4_and_the_right_one_0() {
    let gate = Gate::start(GateConfig::default()).expect("gate");
    let endpoint = gate.addr().to_string();
    let pid = GateConfig::default().pid.to_string();
    let wrong = temp_file("wrong-secret", &format!("{SENTINEL}\n"));
    let args = [
        "--endpoint",
        &endpoint,
        "--pid",
        &pid,
        "--secret-file",
        wrong.to_str().expect("utf-8 path"),
        "--gids",
        "1",
        "--seconds",
        "20",
    ];
    let r = run(&args, &[], Duration::from_secs(25));
    r.expect_code(4).expect_no_secret();
    assert!(
        r.took < Duration::from_secs(15),
        "the refusal ends the run: {:?}",
        r.took
    );
    assert!(r.stderr.contains("refused the credentials"), "{}", r.stderr);
    assert!(r.stdout.contains("200002"), "{}", r.stdout);

    let right = temp_file(
        "right-secret",
        &format!("{}\r\n", GateConfig::default().secret),
    );
    let mut args = args;
    args[5] = right.to_str().expect("utf-8 path");
    args[9] = "2";
    let r = run(&[&args[..], &["--format", "json"]].concat(), &[], QUICK);
    r.expect_code(0);
    let lines = r.json_lines();
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "connected" && v["connected"] == true)
    );
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "command_done" && v["code"] == 0),
        "{}",
        r.stdout
    );
}

#[test]
fn a_wrong_token_exits_4_and_the_right_one_0() {
    let sim = WkSim::start(SimConfig {
        token: Some("right-token".into()),
        ..SimConfig::default()
    })
    .expect("simulation");
    let endpoint = sim.addr().to_string();
    let wrong = temp_file("wrong-token", SENTINEL);
    let args = [
        "wukongim",
        "--endpoint",
        &endpoint,
        "--uid",
        "monitor",
        "--token-file",
        wrong.to_str().expect("utf-8 path"),
        "--seconds",
        "20",
    ];
    let r = run(&args, &[], Duration::from_secs(25));
    r.expect_code(4).expect_no_secret();
    assert!(
        r.took < Duration::from_secs(15),
        "the refusal ends the run: {:?}",
        r.took
    );
    assert!(r.stderr.contains("refused the login"), "{}", r.stderr);

    let args = [
        "wukongim",
        "--endpoint",
        &endpoint,
        "--seconds",
        "1",
        "--format",
        "json",
    ];
    let r = run(
        &args,
        &[("WK_UID", "monitor"), ("WK_TOKEN", "right-token")],
        QUICK,
    );
    r.expect_code(0);
    let lines = r.json_lines();
    assert!(
        lines
            .iter()
            .any(|v| v["event"] == "connected" && v["connected"] == true)
    );
    assert!(sim.view(|v| v.logins().iter().any(|l| l.accepted && l.uid == "monitor")));
}

#[test]
fn the_rtm_demo_in_json_prints_only_callback_objects() {
    for extra in [&[][..], &["--encrypt", "--curve", "secp256k1"]] {
        let args = [&["--format", "json"][..], extra].concat();
        let r = run(&args, &[], Duration::from_secs(40));
        r.expect_code(0);
        let lines = r.json_lines();
        let kinds = kinds(&lines);
        for k in [
            "connected",
            "closed",
            "disconnected",
            "restored",
            "command_done",
            "ping",
            "push_event",
            "push_p2p_chat",
            "push_p2p_audio",
            "push_p2p_cmd",
            "push_p2p_file",
            "push_p2p_message",
            "push_group_chat",
            "push_group_cmd",
            "push_group_file",
            "push_room_chat",
            "push_room_file",
            "push_room_message",
        ] {
            assert!(kinds.contains(k), "{args:?}: no {k} in {kinds:?}");
        }
        let chat = lines
            .iter()
            .find(|v| v["event"] == "push_p2p_chat")
            .expect("a chat");
        assert_eq!(chat["message"], "hello p2p");
        assert!(chat["from"].is_i64() && chat["mid"].is_i64() && chat["mtime"].is_i64());
        let file = lines
            .iter()
            .find(|v| v["event"] == "push_p2p_file")
            .expect("a file");
        assert!(file["file"]["url"].is_string(), "{file}");
        let event = lines
            .iter()
            .find(|v| v["event"] == "push_event")
            .expect("an event");
        assert_eq!(event["name"], "login");
        assert!(r.stderr.contains("demo ok"), "{}", r.stderr);
    }
}

#[test]
fn the_text_demo_prints_one_line_per_callback_and_logs_on_stderr() {
    let r = run(&[], &[], Duration::from_secs(40));
    r.expect_code(0);
    assert!(
        r.stdout.lines().any(|l| l.starts_with("push_p2p_chat ")),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("simulator"),
        "progress belongs on stderr:\n{}",
        r.stdout
    );
    assert!(r.stderr.contains("SCRIPT OK"), "{}", r.stderr);
    let quiet = run(&["-q"], &[], Duration::from_secs(40));
    quiet.expect_code(0);
    assert!(quiet.stderr.is_empty(), "--quiet: {}", quiet.stderr);
}

#[test]
fn the_wukongim_demo_in_json_prints_only_callback_objects() {
    let r = run(
        &["wukongim", "--format", "json"],
        &[],
        Duration::from_secs(40),
    );
    r.expect_code(0);
    let lines = r.json_lines();
    let kinds = kinds(&lines);
    for k in [
        "connected",
        "kickout",
        "closed",
        "disconnected",
        "push_p2p_chat",
        "push_p2p_message",
        "push_group_cmd",
        "push_group_chat",
        "push_group_message",
        "push_room_file",
    ] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
    let messages: Vec<&Value> = lines.iter().filter(|v| v["wukong"].is_object()).collect();
    assert_eq!(messages.len(), 7, "7 messages, once each:\n{}", r.stdout);
    let room = lines
        .iter()
        .find(|v| v["event"] == "push_room_file")
        .expect("the room file");
    assert_eq!(room["wukong"]["from_uid"], "alice");
    assert_eq!(room["wukong"]["channel_id"], "live-7");
    assert_eq!(room["file"]["url"], "https://example.com/a.png");
    assert!(r.stderr.contains("demo ok"), "{}", r.stderr);
}
