//! WuKongIM's binary client protocol, for a listener (a "monitor" user): pure functions over
//! byte slices, borrowed views, no allocation.
//!
//! - [`header`]: the one-byte header (packet type and flags), the MQTT-style remaining length,
//!   and the framer that finds whole packets in a byte stream;
//! - [`read`]: the big-endian field reader the packet parsers share;
//! - [`packet`]: the packets a listener builds (CONNECT, PING, RECVACK, and SUB for
//!   completeness) and parses (CONNACK, RECV, PONG, DISCONNECT, EVENT, SENDACK, SUBACK), with
//!   every rule of protocol versions 2 to 6;
//! - [`payload`]: what a RECV is in the monitor's terms (target by channel type, category by
//!   the payload's JSON `type`, integer ids from decimal strings);
//! - [`reject`]: why a listener does not deliver a RECV;
//! - [`api`]: the bodies of the HTTP API calls a monitor setup makes (subscriptions, token);
//! - [`webhook`]: the bodies of the server's webhooks (`msg.notify`, `msg.offline`,
//!   `user.onlinestatus`).
//!
//! The reference is `protocol/wukongim.md` §b (the server's layouts, read from its sources,
//! and golden vectors from the npm `wukongimjssdk@1.0.4` encoder). This layer is checked
//! against those vectors and against hand-derived v3, v5 and v6 frames; no WuKongIM server
//! runs here.

pub mod api;
pub mod header;
pub mod packet;
pub mod payload;
pub mod read;
pub mod reject;
pub mod webhook;

pub use header::{Frame, FrameError, MAX_REMAINING, PacketType, parse_frame};
pub use read::ReadError;
pub use reject::Reject;
