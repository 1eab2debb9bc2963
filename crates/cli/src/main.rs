//! `rtm-listen`: listen to RTM (FPNN) gateways and WuKongIM servers from the command line,
//! one line (text or JSON) per monitor callback on stdout. See `rtm-listen --help` and
//! crates/cli/README.md.

#![warn(missing_docs)]

mod args;
mod callbacks;
mod credentials;
mod encryption;
mod exit;
mod log;
mod output;
mod rtm;
mod wukong;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // Usage errors exit 2, --help and --version 0 (clap's own handling).
    let cli = Cli::parse();
    let (exit, subcommand) = match &cli.command {
        None => (rtm::run(&cli.rtm), None),
        Some(Command::Wukongim(args)) => (wukong::run(args), Some("wukongim")),
    };
    ExitCode::from(exit.report(subcommand))
}
