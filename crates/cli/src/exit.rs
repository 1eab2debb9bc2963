//! How a run ends: the exit codes and the message that goes with each.

use clap::CommandFactory;
use clap::error::ErrorKind;

use crate::args::Cli;
use crate::log;

/// Success: the demo passed, or the listener ran until `--seconds` after connecting.
pub const SUCCESS: u8 = 0;
/// Failure: the demo failed, or another error.
pub const FAILURE: u8 = 1;
/// Bad arguments (clap's own usage errors exit 2 too).
pub const USAGE: u8 = 2;
/// Never connected before `--seconds` passed.
pub const NEVER_CONNECTED: u8 = 3;
/// The server refused the credentials.
pub const AUTH_REFUSED: u8 = 4;

/// The end of a run.
#[derive(Debug)]
pub enum Exit {
    /// Exit 0.
    Success,
    /// Exit 1, with the reason.
    Failure(String),
    /// Exit 2: a mistake in the arguments (printed as clap prints its own).
    Usage(ErrorKind, String),
    /// Exit 3, with the last connection error.
    NeverConnected(String),
    /// Exit 4, with what the server said.
    AuthRefused(String),
}

impl Exit {
    /// A usage error of `kind`.
    pub fn usage(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Usage(kind, message.into())
    }

    /// A failure.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::Failure(message.into())
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Success => SUCCESS,
            Self::Failure(_) => FAILURE,
            Self::Usage(..) => USAGE,
            Self::NeverConnected(_) => NEVER_CONNECTED,
            Self::AuthRefused(_) => AUTH_REFUSED,
        }
    }

    /// Prints the message on stderr (a usage error with the usage of `subcommand`, or of the
    /// main command) and returns the exit code.
    pub fn report(self, subcommand: Option<&str>) -> u8 {
        let code = self.code();
        match self {
            Self::Success => {}
            Self::Usage(kind, message) => {
                let mut cmd = Cli::command();
                cmd.build();
                let cmd = match subcommand.and_then(|name| cmd.find_subcommand_mut(name)) {
                    Some(sub) => sub.clone(),
                    None => cmd,
                };
                let mut cmd = cmd;
                // Printed through clap, so it looks like clap's own usage errors.
                let _ = cmd.error(kind, message).print();
            }
            Self::Failure(m) | Self::NeverConnected(m) | Self::AuthRefused(m) => {
                log::error(&m);
            }
        }
        code
    }
}
