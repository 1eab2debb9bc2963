//! Compile-time capacities of the listener's fixed tables and the default buffer sizes.
//!
//! The capacities come from `build.rs` and can be changed at build time with environment
//! variables (`RTM_LISTEN_DEDUP`, `RTM_LISTEN_IDS`, `RTM_LISTEN_PENDING`, `RTM_LISTEN_SCRATCH`).
//! The RX and TX buffer sizes are const generic parameters of the listener, defaulting to
//! [`DEFAULT_RX`] and [`DEFAULT_TX`].

include!(concat!(env!("OUT_DIR"), "/capacities.rs"));

/// Default receive buffer: the largest frame accepted.
pub const DEFAULT_RX: usize = 4096;
/// Default transmit buffer.
pub const DEFAULT_TX: usize = 1024;
