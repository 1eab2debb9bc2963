//! RTM messages on top of the FPNN wire: still layer 1, pure functions over byte slices.
//!
//! - [`sign`]: quest authentication;
//! - `digest`: the compact MD5 that size builds sign with, the one-shot MD5 of speed builds
//!   (crate-private);
//! - `ascii`: the word-wise decimal and hex text of speed builds' signatures (crate-private);
//! - [`listen`]: the `addlisten` / `removelisten` / `setlisten` quests and `*ping`;
//! - [`answer`]: answers we send (empty, error) and answers we receive;
//! - [`push`]: decoders for the server's push quests into borrowed views;
//! - [`dispatch`]: the mtype classification into the official monitor's callback kinds;
//! - [`info`]: translated-chat and file information parsed from the JSON inside messages;
//! - [`field`]: the typed map-field reading shared by the decoders, and its errors.

pub mod answer;
#[cfg(not(rtm_opt_size))]
mod ascii;
pub(crate) mod digest;
pub mod dispatch;
pub mod field;
pub mod info;
pub mod listen;
pub mod push;
pub mod sign;
