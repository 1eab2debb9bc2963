//! Thin drivers that move bytes between a transport and a [`Listener`](crate::session::Listener)
//! and call a [`Monitor`](crate::monitor::Monitor). All protocol logic stays in the listener.
//!
//! - [`tcp`] (feature `std`): connects to `host:port`, reconnects as the listener advises.
//! - [`io`] (feature `embedded-io`): a blocking `Read + Write` transport, for firmware.
//! - `wukong_api` (feature `wukong-api`): the WuKongIM HTTP API calls of a monitor setup
//!   (subscriptions, token, route) over `ureq`.

#[cfg(feature = "embedded-io")]
pub mod io;
#[cfg(feature = "std")]
pub mod tcp;
#[cfg(feature = "wukong-api")]
pub mod wukong_api;
