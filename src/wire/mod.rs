//! Layer 1, the wire: pure functions over byte slices, no state.
//!
//! - [`frame`]: parse and build FPNN frames;
//! - [`frame_reader`]: reassemble frames from a byte stream in a fixed buffer;
//! - [`msgpack`]: the zero-copy reader and the msgpack-c-compatible writer;
//! - [`json`]: a small borrowed JSON scanner for the JSON carried inside RTM messages;
//! - [`wukong`] (feature `wukong`): WuKongIM's binary client protocol.

pub mod frame;
pub mod frame_reader;
pub mod json;
#[cfg(feature = "fpnn-encryption")]
pub mod key_quest;
pub mod msgpack;
#[cfg(feature = "wukong")]
pub mod wukong;
