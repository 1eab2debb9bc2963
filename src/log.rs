//! The logging shim: `debug!`, `info!` and `warn!` go to defmt when the `defmt` feature is on,
//! to the `log` crate facade (target `rtm_listen`) when the `log` feature is on instead, and
//! compile to nothing otherwise (the arguments are only borrowed, so a value computed for a log
//! line counts as used either way), so call sites do not care which is in use. Call sites use
//! defmt's format syntax; for `log`, [`Line`] fills each `{…}` placeholder with the next
//! argument's `Display`.
//!
//! Rules for call sites: log events and codes, never credentials. The secret lives only in
//! the listener's private copy and in the MD5 input; no log call takes it as an argument
//! (`scripts/firmware.sh` checks the firmware's decoded log for it).

#[cfg(feature = "defmt")]
macro_rules! debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

#[cfg(all(not(feature = "defmt"), not(feature = "log")))]
macro_rules! debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        $(let _ = &$arg;)*
    }};
}

#[cfg(feature = "defmt")]
macro_rules! info {
    ($($arg:tt)*) => { defmt::info!($($arg)*) };
}

#[cfg(all(not(feature = "defmt"), not(feature = "log")))]
macro_rules! info {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        $(let _ = &$arg;)*
    }};
}

#[cfg(feature = "defmt")]
macro_rules! warn {
    ($($arg:tt)*) => { defmt::warn!($($arg)*) };
}

#[cfg(all(not(feature = "defmt"), not(feature = "log")))]
macro_rules! warn {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        $(let _ = &$arg;)*
    }};
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! log_line {
    ($level:ident, $fmt:literal $(, $arg:expr)* $(,)?) => {
        ::log::$level!(
            target: "rtm_listen",
            "{}",
            $crate::log::Line($fmt, &[$(&$arg as &dyn core::fmt::Display),*])
        )
    };
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! debug {
    ($($t:tt)*) => { log_line!(debug, $($t)*) };
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! info {
    ($($t:tt)*) => { log_line!(info, $($t)*) };
}

#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! warn {
    ($($t:tt)*) => { log_line!(warn, $($t)*) };
}

/// A log line in defmt syntax with its arguments: each `{…}` placeholder (`{}`, `{=str}`, …)
/// is replaced by the next argument.
#[cfg(all(feature = "log", not(feature = "defmt")))]
pub(crate) struct Line<'a>(pub &'static str, pub &'a [&'a dyn core::fmt::Display]);

#[cfg(all(feature = "log", not(feature = "defmt")))]
impl core::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut args = self.1.iter();
        let mut rest = self.0;
        while let Some(open) = rest.find('{') {
            f.write_str(&rest[..open])?;
            let after = &rest[open..];
            let close = after.find('}').map_or(after.len(), |c| c + 1);
            if let Some(arg) = args.next() {
                arg.fmt(f)?;
            }
            rest = &after[close..];
        }
        f.write_str(rest)
    }
}
