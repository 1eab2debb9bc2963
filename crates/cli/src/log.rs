//! Logs, progress and errors: stderr only (stdout carries the callbacks alone). A failed write
//! to stderr is ignored rather than aborting the run.

use std::io::Write;

/// Progress lines, silenced by `--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    /// `--quiet`.
    pub quiet: bool,
}

impl Log {
    /// A progress line (not with `--quiet`).
    pub fn info(&self, line: &str) {
        if !self.quiet {
            stderr("rtm-listen: ", line);
        }
    }
}

/// A warning, printed even with `--quiet`.
pub fn warn(line: &str) {
    stderr("warning: ", line);
}

/// An error, printed even with `--quiet`.
pub fn error(line: &str) {
    stderr("error: ", line);
}

fn stderr(prefix: &str, line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{prefix}{line}");
}
