//! The session firmware with FPNN encryption: `src/main.rs` built with the `encryption` feature
//! (one curve). The virtual gate plays the server's half of the `*key` exchange and encrypts
//! and decrypts everything after it; the session's checks are the plaintext run's, plus the key
//! exchanges. See the docs of `src/main.rs` and `scripts/firmware.sh`.
#![no_std]
#![no_main]

// `src/main.rs` is the plaintext binary's crate root; here it is a module (its `#![no_std]` and
// `#![no_main]` are this file's).
#[allow(unused_attributes)]
#[path = "../main.rs"]
mod session;
