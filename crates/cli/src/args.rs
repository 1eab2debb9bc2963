//! The command line: `rtm-listen [OPTIONS]` (RTM) and `rtm-listen wukongim [OPTIONS]`.
//!
//! Clap checks the shapes (numbers, lists, which options go together) and exits 2 on a
//! mistake; what needs files or the environment (credentials, keys) is checked afterwards
//! ([`crate::credentials`], [`crate::encryption`]), also with exit 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::credentials::Secret;

/// The text after the options in `--help`: output, JSON fields, exit codes, environment.
const AFTER_LONG_HELP: &str = "\
Output:
  One line per monitor callback on stdout; logs, progress and errors on stderr.
  --format json: one JSON object per line, {\"event\": NAME, ...}, NAME being the monitor
  method (connected, closed, disconnected, push_p2p_chat, push_group_file, push_event, ping,
  kickout, kickout_room, command_done, restored, bad_push, ...). Fields:
    connected      endpoint, connected, is_reconnect
    closed         endpoint, caused_by_error, is_reconnect
    disconnected   endpoint, reason, retry_ms
    push_*         from, to, mid, mtype, mtime, message, attrs [, translated] [, file] [, wukong]
    push_event     pid, name, uid, time, endpoint, data
    kickout_room   rid
    command_done   request, code, ex
    restored       code
    bad_push       method, seq (null for a oneway push), len, error
  Byte strings that are not UTF-8 come as KEY_b64 (standard base64) instead of KEY.
  The full schema is in crates/cli/README.md.

Exit codes:
  0  success (the demo passed, or --seconds passed after a connection)
  1  failure (the demo failed, another error)
  2  bad arguments (also a missing pid or secret with --endpoint, an unreadable file)
  3  never connected before --seconds passed
  4  the server refused the credentials (RTM 200001, 200002, 200008, 200020-200022;
     WuKongIM: the login refused with AuthFail)";

/// The text after the options in `-h`.
const AFTER_HELP: &str = "Exit codes: 0 ok, 1 failure, 2 bad arguments, 3 never connected, 4 credentials \
refused. --help for the JSON fields.";

/// `rtm-listen`: listen to an RTM (FPNN) gateway, or run the built-in simulator's demo.
#[derive(Debug, Parser)]
#[command(
    name = "rtm-listen",
    version,
    about = "Listen to RTM (FPNN) and WuKongIM push services: one line per monitor callback",
    long_about = "Listen to an RTM (FPNN) gateway and print one line per monitor callback \
(the official RTMServerPushMonitor's, plus connection events).\n\n\
Without --endpoint, runs the demo against the built-in RTM gate simulator (every push kind, \
a duplicate, a dropped connection and its restoration) and exits 0 when every expected \
callback arrived. With --endpoint HOST:PORT, listens to a real gateway until --seconds pass \
(or forever); the pid and secret come from --pid/RTM_PID and --secret-file, RTM_SECRET or \
--secret (the file or the environment keep the secret out of `ps`).\n\n\
`rtm-listen wukongim --help` covers WuKongIM.",
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// RTM options (when no subcommand is given).
    #[command(flatten)]
    pub rtm: RtmArgs,
    /// A subcommand.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Listen to a WuKongIM server as a monitor user, or run the WuKongIM simulation's demo.
    #[command(
        long_about = "Listen to a WuKongIM server as a monitor user (binary protocol, \
versions 2 to 6, encrypted or not as the server says) and print one line per monitor \
callback.\n\n\
Without --endpoint, runs the demo against the built-in WuKongIM SIMULATION (not a WuKongIM \
server): one message of every kind, a re-sent duplicate, a kick and a new login; exits 0 \
when every message was delivered once and acknowledged. With --endpoint HOST:PORT, the uid \
and token come from --uid/WK_UID and --token-file, WK_TOKEN or --token. Register the token \
first (POST /user/token) and subscribe the uid to the channels to listen to \
(POST /channel/subscriber_add).",
        after_help = AFTER_HELP,
        after_long_help = AFTER_LONG_HELP
    )]
    Wukongim(WkArgs),
}

/// How callbacks are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// One human-readable line per callback: `NAME key=value ...`.
    #[default]
    Text,
    /// One JSON object per callback per line (JSON Lines), for `jq` and other programs.
    Json,
}

/// Output options, shared by both commands.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No progress lines on stderr (errors and warnings are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

/// `rtm-listen [OPTIONS]`: RTM.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("encryption").args(["server_key", "encrypt"]))]
pub struct RtmArgs {
    /// The RTM gateway, HOST:PORT (default: the demo against the built-in simulator).
    #[arg(long, value_name = "HOST:PORT", value_parser = endpoint)]
    pub endpoint: Option<String>,

    /// The project id.
    #[arg(long, env = "RTM_PID", hide_env_values = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub pid: Option<u32>,

    /// The project secret (prefer --secret-file or RTM_SECRET: a flag is visible in `ps`).
    #[arg(
        long,
        env = "RTM_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: Option<Secret>,

    /// Reads the project secret from the first line of FILE (overrides RTM_SECRET; not with --secret).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Groups to listen to (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', requires = "endpoint")]
    pub gids: Vec<i64>,

    /// Rooms to listen to (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', requires = "endpoint")]
    pub rids: Vec<i64>,

    /// Users whose P2P messages to listen to (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', requires = "endpoint")]
    pub uids: Vec<i64>,

    /// Events to listen to (comma-separated: login, logout).
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        requires = "endpoint"
    )]
    pub events: Vec<String>,

    /// Listen to everything: every group, room, P2P message and event.
    #[arg(long, requires = "endpoint")]
    pub all: bool,

    /// Stop after N seconds (default: run until killed).
    #[arg(long, value_name = "N", requires = "endpoint")]
    pub seconds: Option<u64>,

    /// FPNN encryption with the server's public key (PEM, DER, or raw X||Y with --curve).
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    pub server_key: Option<PathBuf>,

    /// Runs the simulator's demo encrypted (a fresh server key on --curve, default secp256r1).
    #[arg(long, conflicts_with = "endpoint")]
    pub encrypt: bool,

    /// The curve of a raw server key, or of the simulator's key with --encrypt.
    #[arg(long, value_name = "CURVE", value_parser = ["secp256k1", "secp256r1", "secp224r1", "secp192r1"], requires = "encryption")]
    pub curve: Option<String>,

    /// Stream mode instead of package mode (FPNN encryption).
    #[arg(long, requires = "encryption")]
    pub stream: bool,

    /// AES-256 instead of AES-128 (FPNN encryption).
    #[arg(long, requires = "encryption")]
    pub aes256: bool,

    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `rtm-listen wukongim [OPTIONS]`: WuKongIM.
#[derive(Debug, Args)]
pub struct WkArgs {
    /// The WuKongIM server's TCP endpoint, HOST:PORT (default: the demo against the simulation).
    #[arg(long, value_name = "HOST:PORT", value_parser = endpoint)]
    pub endpoint: Option<String>,

    /// The monitor user's uid (the demo's default: monitor).
    #[arg(long, env = "WK_UID", hide_env_values = true, value_name = "UID")]
    pub uid: Option<String>,

    /// Its token (prefer --token-file or WK_TOKEN: a flag is visible in `ps`).
    #[arg(long, env = "WK_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<Secret>,

    /// Reads the token from the first line of FILE (overrides WK_TOKEN; not with --token).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// A device id unique to this listener (default: rtm-listen-PROCESS_ID).
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,

    /// The device flag sent at login (0 app, 1 web, 2 pc): pick one real clients of the uid do not use.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub device_flag: u8,

    /// The protocol version asked for at login (the server may answer a lower one).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=6))]
    pub protocol_version: u8,

    /// Channel types delivered as rooms (comma-separated; default 9, live).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub rooms: Vec<u8>,

    /// Stop after N seconds (default: run until killed).
    #[arg(long, value_name = "N", requires = "endpoint")]
    pub seconds: Option<u64>,

    /// Runs the simulation's demo without payload encryption.
    #[arg(long, conflicts_with = "endpoint")]
    pub plain: bool,

    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Checks the shape HOST:PORT (a non-empty host, a port from 1 to 65535); the name is
/// resolved when connecting.
fn endpoint(value: &str) -> Result<String, String> {
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) => {
            Ok(value.to_owned())
        }
        _ => Err("expected HOST:PORT, e.g. rtm.example.com:13321 or [::1]:13321".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_secret_and_the_token_are_redacted_in_debug() {
        let cli = Cli::try_parse_from([
            "rtm-listen",
            "--endpoint=127.0.0.1:1",
            "--pid",
            "5",
            "--secret",
            "hunter2-rtm",
        ])
        .expect("parses");
        let debug = format!("{cli:?} {cli:#?}");
        assert!(!debug.contains("hunter2-rtm"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
        let cli = Cli::try_parse_from(["rtm-listen", "wukongim", "--token", "hunter2-wk"])
            .expect("parses");
        let debug = format!("{cli:?} {cli:#?}");
        assert!(!debug.contains("hunter2-wk"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }

    #[test]
    fn endpoints_need_a_host_and_a_port() {
        for good in ["h:1", "127.0.0.1:13321", "[::1]:65535"] {
            assert_eq!(endpoint(good).as_deref(), Ok(good));
        }
        for bad in ["", "h", ":1", "h:", "h:0", "h:65536", "h:x"] {
            assert!(endpoint(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rtm_options_do_not_mix_with_the_subcommand() {
        let e = Cli::try_parse_from(["rtm-listen", "--gids", "1", "wukongim"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn lists_split_on_commas_and_repeat() {
        let cli = Cli::try_parse_from([
            "rtm-listen",
            "--endpoint",
            "h:1",
            "--gids=1,2",
            "--gids",
            "3",
            "--events",
            "login,logout",
        ])
        .expect("parses");
        assert_eq!(cli.rtm.gids, [1, 2, 3]);
        assert_eq!(cli.rtm.events, ["login", "logout"]);
    }
}
