//! Budget build of the listener with FPNN encryption: `budget-listener.rs` built with the
//! `encryption` feature (one curve), which also sets the encryption up (`ServerPublicKey::from_raw`,
//! `Listener::set_encryption`, `add_entropy`), so the key exchange, the ciphers and the key
//! parsing are all in. `scripts/firmware.sh` reports it against `budget-baseline`.
#![no_std]
#![no_main]

// `budget-listener.rs` is the plaintext binary's crate root; here it is a module (its
// `#![no_std]` and `#![no_main]` are this file's).
#[allow(unused_attributes)]
#[path = "budget-listener.rs"]
mod listener;
