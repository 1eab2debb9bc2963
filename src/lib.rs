//! # rtm-listen
//!
//! A `no_std`, allocation-free, sans-IO engine for listening to real-time messaging services
//! from a server-side host in Rust, C and C++: **RTM** over FPNN (plaintext or FPNN-encrypted)
//! and **WuKongIM** (its binary protocol, plus webhooks).
//!
//! The engine ([`session::Listener`], [`session::wukong::WkListener`]) never touches a
//! socket, a clock or an RNG: the host hands it bytes, the time and entropy, and takes back
//! bytes to send, events and deadlines. The [`driver`] module has ready-made shells that do
//! the I/O for common hosts (std TCP, tokio, embedded-io and embedded-io-async transports), so
//! most programs never see the sans-IO layer.
//!
//! ## Quick start: a std host (feature `std`)
//!
//! ```no_run
//! # #[cfg(feature = "std")] {
//! use std::time::Duration;
//! use rtm_listen::prelude::*;
//!
//! struct Printer;
//! impl Monitor for Printer {
//!     fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
//!         println!("{} in {}: {}", m.message.from, m.message.to, String::from_utf8_lossy(m.message.msg));
//!     }
//! }
//!
//! let creds = Credentials { pid: 11000001, secret: b"project-secret" };
//! let mut listener = Listener::new(Config::DEFAULT, creds, rtm_listen::driver::tcp::entropy())?;
//! listener.add_listen(0, &ListenIds { gids: &[2001], ..Default::default() })?;
//! let mut driver = TcpDriver::new("rtm-gate.example.com:13315", listener);
//! loop {
//!     driver.step(&mut Printer, Duration::from_millis(500)); // connects, reconnects, restores
//! }
//! # }
//! # #[allow(unreachable_code)]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The same without I/O (any target, `no_std`)
//!
//! ```
//! use rtm_listen::prelude::*;
//!
//! #[derive(Default)]
//! struct Chats(Vec<String>);
//! impl Monitor for Chats {
//!     fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
//!         self.0.push(format!("{} -> {}: {}", m.message.from, m.message.to,
//!                             String::from_utf8_lossy(m.message.msg)));
//!     }
//! }
//!
//! let creds = Credentials { pid: 80000071, secret: b"project-secret" };
//! let mut listener = Listener::new(Config::DEFAULT, creds, 0x5eed)?;
//! let now = 0; // the host's monotonic milliseconds
//! listener.set_unix_time(now, 1_700_000_000_000); // and its wall clock, to sign quests
//! listener.add_listen(now, &ListenIds { uids: &[1002], ..Default::default() })?;
//!
//! // The host connected a transport: the listener queues the listen quest to send.
//! listener.connected(now);
//! let mut monitor = Chats::default();
//! listener.poll_events(|event| dispatch(&mut monitor, "gate", &event));
//! let quest = listener.transmit();
//! assert_eq!(&quest[..4], b"FPNN");
//! let sent = quest.len(); // what the transport took
//! listener.consume_transmit(sent);
//!
//! // Bytes arrive: a chat push (as the RTM server SDK's tests record it). The listener decodes
//! // it once, calls the monitor, then queues the answer.
//! let push = b"FPNN\x00\x80\x01\x07C\x00\x00\x00e\x00\x00\x00pushmsg\x87\xa4from\xcd\x03\xe9\
//!     \xa2to\xcd\x03\xea\xa3mid\xcf\x17\x97\x9c\xfe=~\xd4\xc1\xa5mtype\x1e\xa3msg\xa5hello\
//!     \xa5attrs\xa0\xa5mtime\xcf\x00\x00\x01\x8b\xcf\xe5i\xc8";
//! let taken = listener.handle_input(now, push, |event| dispatch(&mut monitor, "gate", &event));
//! assert_eq!(taken, push.len());
//! assert_eq!(monitor.0, ["1001 -> 1002: hello"]);
//! assert_eq!(listener.transmit().len(), 16 + 1); // the answer: a header and an empty map
//! // Then sleep until new bytes or `listener.poll_timeout()`, and call `handle_timeout`.
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! `session`'s module docs state the driving contract and the guarantees once (every push
//! answered exactly once, backpressure that never drops, listen intent kept across outages).
//!
//! ## Layers
//!
//! The crate is layered like smoltcp and quinn-proto; data flows one way, from bytes to frame to
//! message to event to callback:
//!
//! - [`wire`]: FPNN frames, msgpack, WuKongIM packets and a small JSON scanner, as pure
//!   functions over byte slices;
//! - [`rtm`]: the RTM messages on top of the wire: request signing, the listen quests, push and
//!   answer decoders into borrowed views, and the mtype dispatch of the official
//!   `RTMServerPushMonitor`;
//! - [`session`]: the sans-IO listeners (answers, timeouts, keepalive, duplicate filtering,
//!   listen-state restoration, reconnect advice), RTM's and WuKongIM's;
//! - shells on top: [`monitor`] (the `RTMServerPushMonitor` trait and the dispatch) and
//!   [`driver`] (the I/O loops);
//! - [`prelude`]: the names a host needs, in one import.
//!
//! Nothing in the engine allocates, reads a clock or touches a socket, and no function panics
//! on peer input: every malformed input is reported as a distinct error.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` | the std TCP driver (`driver::tcp`) and the WuKongIM listener |
//! | `tokio` | the tokio driver (`driver::tokio`) |
//! | `embedded-io` / `embedded-io-async` | drivers over blocking / async embedded transports (embassy-net) |
//! | `fpnn-encryption`, `fpnn-ecdh-secp256k1`, `-secp256r1`, `-secp224r1`, `-secp192r1`, `encryption` (all four) | FPNN encryption: ECDH and AES-CFB, one curve at a time for firmware |
//! | `wukong`, `wukong-encryption`, `wukong-api` | WuKongIM: the listener, its payload encryption, the HTTP API calls (ureq) |
//! | `defmt` / `log` | the engine's log lines through defmt (firmware) or the `log` facade (never the secret) |
//!
//! Capacities (duplicate filter, listen ids…) are build-time constants: [`config`].
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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
pub mod prelude;
pub mod rtm;
pub mod session;
mod shift;
pub mod wire;
