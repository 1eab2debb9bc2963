//! The logging shim: `debug!`, `info!` and `warn!` go to defmt when the `defmt` feature is on
//! and compile to nothing otherwise (the arguments are only borrowed, so a value computed for
//! a log line counts as used either way), so call sites do not care which is in use.
//!
//! Rules for call sites: log events and codes, never credentials. The secret lives only in
//! the listener's private copy and in the MD5 input; no log call takes it as an argument
//! (`scripts/firmware.sh` checks the firmware's decoded log for it).

#[cfg(feature = "defmt")]
macro_rules! debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        $(let _ = &$arg;)*
    }};
}

#[cfg(feature = "defmt")]
macro_rules! info {
    ($($arg:tt)*) => { defmt::info!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! info {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        $(let _ = &$arg;)*
    }};
}

#[cfg(feature = "defmt")]
macro_rules! warn {
    ($($arg:tt)*) => { defmt::warn!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! warn {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{
        $(let _ = &$arg;)*
    }};
}
