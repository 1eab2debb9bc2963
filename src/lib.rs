//! # rtm-listen
//!
//! A `no_std`, allocation-free, sans-IO engine for listening to an RTM real-time messaging
//! service over FPNN, for server-side hosts in Rust, C and C++.
//!
//! The crate is layered like smoltcp and quinn-proto; data flows one way, from bytes to frame to
//! message:
//!
//! - [`wire`]: FPNN frames, msgpack and a small JSON scanner, as pure functions over byte slices;
//! - [`rtm`]: the RTM messages on top of the wire: request signing, the listen quests, push and
//!   answer decoders into borrowed views, and the mtype dispatch of the official
//!   `RTMServerPushMonitor`;
//! - [`session`]: the sans-IO [`session::Listener`] (answers, timeouts, keepalive, duplicate
//!   filtering, listen-state restoration, reconnect advice);
//! - shells on top: [`monitor`] (the `RTMServerPushMonitor` trait and the dispatch) and
//!   [`driver`] (a std TCP driver and an embedded-io driver).
//!
//! Nothing here allocates, reads a clock, or touches a socket. No function panics on peer input:
//! every malformed input is reported as a distinct error.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod log;

mod arith;

pub mod config;
#[cfg(any(feature = "fpnn-encryption", feature = "wukong-encryption"))]
pub mod crypto;
pub mod driver;
pub mod monitor;
pub mod rtm;
pub mod session;
mod shift;
pub mod wire;
