//! Target 4: the sans-IO listener driven by arbitrary operations, in plaintext. The harness,
//! its input layout and its invariants are in `src/listener.rs` (shared with `listener_enc`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rtm_listen_fuzz::listener::run(data));
