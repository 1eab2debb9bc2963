//! Thin drivers that move bytes between a transport and a [`Listener`](crate::session::Listener)
//! and call a [`Monitor`](crate::monitor::Monitor). All protocol logic stays in the listener.
//!
//! - [`tcp`] (feature `std`): connects to `host:port`, reconnects as the listener advises.
//! - [`io`] (feature `embedded-io`): a blocking `Read + Write` transport, for firmware.

#[cfg(feature = "embedded-io")]
pub mod io;
#[cfg(feature = "std")]
pub mod tcp;
