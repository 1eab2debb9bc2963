//! The shortest complete listener: the std TCP driver, a monitor that prints chats and
//! connection changes, credentials from the environment (never the command line).
//!
//! ```sh
//! RTM_PID=11000001 RTM_SECRET=... cargo run --features std --example quickstart -- host:port 2001 [SECONDS]
//! ```
//!
//! Listens to group 2001 (the second argument; P2P messages too) for SECONDS (default 60) and
//! exits 0, or 1 when the arguments or the environment are missing. The `rtm-listen` command
//! (`crates/cli`) is the full tool: every option, JSON output, exit codes.

use std::process::ExitCode;
use std::time::Duration;

use rtm_listen::driver::tcp::entropy;
use rtm_listen::prelude::*;

/// Prints chats and connection changes.
struct Printer;

impl Monitor for Printer {
    fn connected(&mut self, endpoint: &str, connected: bool, _is_reconnect: bool) {
        eprintln!("{endpoint}: connected={connected}");
    }
    fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {
        eprintln!("{endpoint}: {reason:?}; next attempt in {retry_in_ms} ms");
    }
    fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
        let text = String::from_utf8_lossy(m.message.msg);
        println!("p2p {} -> {}: {text}", m.message.from, m.message.to);
    }
    fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
        let text = String::from_utf8_lossy(m.message.msg);
        println!("group {} from {}: {text}", m.message.to, m.message.from);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: quickstart HOST:PORT GID [SECONDS] (with RTM_PID and RTM_SECRET set)";
    let endpoint = args.next().ok_or(usage)?;
    let gid: i64 = args.next().and_then(|g| g.parse().ok()).ok_or(usage)?;
    let seconds: u64 = args
        .next()
        .map_or(Ok(60), |s| s.parse())
        .map_err(|_| usage)?;
    let pid = std::env::var("RTM_PID").ok().and_then(|p| p.parse().ok());
    let secret = std::env::var("RTM_SECRET").ok();
    let (Some(pid), Some(secret)) = (pid, secret) else {
        return Err(usage.into());
    };

    let creds = Credentials {
        pid,
        secret: secret.as_bytes(),
    };
    let mut listener =
        Listener::new(Config::DEFAULT, creds, entropy()).map_err(|e| e.to_string())?;
    let groups = [gid];
    listener
        .add_listen(
            0,
            &ListenIds {
                gids: &groups,
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
    listener
        .set_listen_all(
            0,
            ListenFlags {
                p2p: true,
                ..ListenFlags::NONE
            },
        )
        .map_err(|e| e.to_string())?;
    let mut driver = TcpDriver::new(endpoint, listener);
    driver.run_until(&mut Printer, Duration::from_secs(seconds), |_, _| false);
    eprintln!("{:?}", driver.listener().stats());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
