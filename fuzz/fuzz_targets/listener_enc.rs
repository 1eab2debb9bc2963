//! Target 5: the listener with FPNN encryption on (curve, mode and key size from the input),
//! the harness playing the server's side of the key exchange and of both ciphers, under the
//! plaintext target's operations and invariants. The harness: `src/listener.rs` and
//! `src/listener/crypt.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtm_listen_fuzz::listener::run_encrypted(data));
