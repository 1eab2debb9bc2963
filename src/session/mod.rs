//! Layer 2, the session: the sans-IO [`Listener`] state machine.
//!
//! The listener never touches a socket, a clock or an RNG, and never allocates. The host
//! supplies bytes, time (a monotonic millisecond count, plus the Unix time used to sign quests)
//! and entropy; it takes back bytes to send, events and deadlines.
//!
//! # Driving contract
//!
//! Inputs (each may produce events or bytes to send):
//!
//! | call | when |
//! |---|---|
//! | [`Listener::set_unix_time`] | before connecting, and when the wall clock is adjusted |
//! | [`Listener::connected`] / [`Listener::connect_failed`] | after each connection attempt |
//! | [`Listener::handle_input`] (or [`Listener::input_window`] + [`Listener::commit_input`]) | bytes arrived |
//! | [`Listener::handle_timeout`] | the time from [`Listener::poll_timeout`] has come |
//! | [`Listener::closed`] | the transport closed, for any reason, including a close the listener asked for |
//! | [`Listener::add_listen`], [`Listener::remove_listen`], [`Listener::set_listen`], [`Listener::set_listen_all`] | the host wants to change what it listens to |
//!
//! Events reach the host through a callback, `on: FnMut(Event<'_>)`:
//! [`Listener::handle_input`] takes one and hands it the events the bytes complete, and
//! [`Listener::poll_events`] hands it every event that is ready. After **any** call above, the
//! host must:
//!
//! 1. call [`Listener::poll_events`] (not needed right after [`Listener::handle_input`], which
//!    did). Each event borrows the listener for the duration of the callback; a push's answer
//!    is queued as the callback returns, so the server is answered only after the host has
//!    seen the push;
//! 2. send [`Listener::transmit`] and report what the transport took with
//!    [`Listener::consume_transmit`] (partial writes are fine), then poll events again if it
//!    took anything, since freed space may unblock a waiting push;
//! 3. sleep until new bytes arrive or until [`Listener::poll_timeout`] (recomputed after every
//!    call), or until [`Listener::reconnect_at`] when disconnected.
//!
//! Each frame is handled once, from its bytes to the callback and its answer. A frame that
//! arrives whole in [`Listener::handle_input`]'s input is read where it lies, without a copy;
//! only the rest is copied into the receive buffer. The events are the same for any chunking
//! of the input.
//!
//! Calling [`Listener::handle_timeout`] early, late or twice is harmless: it only acts on
//! deadlines that have passed. Time never goes backwards inside the listener: an older `now`
//! is treated as the latest one seen.
//!
//! When an event is [`Event::CloseRequested`], or [`Listener::wants_close`] is true, the host
//! closes the transport and calls [`Listener::closed`] with that reason; then it reconnects at
//! [`Listener::reconnect_at`].
//!
//! # Guarantees
//!
//! - Every twoway push is answered exactly once, duplicates included; a oneway push is
//!   processed but never answered. An unknown method is answered with status 1 and
//!   `{code: 20004, ex}`; an undecodable push with `{code: 10009/10010/…, ex}` and reported as
//!   [`Event::BadPush`].
//! - **Frames larger than the receive buffer** (up to 8 MiB, the official SDK's limit) never
//!   end the connection: each is skipped as it streams through, answered with
//!   `{code: 10002, ex}` and reported as [`Event::BadPush`] with its method, seq and length;
//!   the frames after it are delivered. A frame over 8 MiB closes the connection
//!   ([`CloseReason::Protocol`]), as the C++ SDK does.
//! - **At-least-once delivery with backpressure:** if the transmit buffer has no room for a
//!   push's answer, the push is not taken: it stays in the receive buffer, or with the host
//!   ([`Listener::handle_input`] returns how many bytes it took). Nothing is dropped.
//! - Duplicate pushes (same kind, from, target, mid within the TTL) are answered but produce no
//!   event. `pushevent` and `ping` are never filtered.
//! - **Desired and confirmed listen state.** A command changes the *desired* state at once, in
//!   the host's order ([`Listener::desired_state`]); the *confirmed* state is what the server
//!   acknowledged on this connection ([`Listener::listen_state`], empty on a new connection).
//!   On every connection the listener drives the server to the desired state with **one listen
//!   quest in flight at a time** (`setlisten` flags, then `setlisten` ids, as msgpack arrays),
//!   so a server whose worker pool reorders pipelined quests still ends in the host's state.
//!   No outage of any length loses intent; [`Listener::in_sync`] tells when both agree.
//! - **Commands complete exactly once**, and the code says what happened: 0 once the server
//!   confirmed a state that includes the command; the server's code if it refused it (the
//!   desired state is kept; [`code::is_auth_failure`] tells refused credentials, and the sync
//!   resumes on the next command or connection); 20003 or 20012 when it was not confirmed by
//!   its deadline (connected or not): its intent stays desired and is applied when a
//!   connection comes up ([`code::is_local`]).
//! - **[`Event::Restored`]** ends the establishment of a non-empty desired state on a new
//!   connection (the first included): 0 when the server now holds it, else why not.
//! - A listen quest without an answer within the quest timeout ends the connection
//!   ([`CloseReason::DeadLink`]): a late answer could otherwise apply an older state after a
//!   newer one. The next connection restores the desired state.
//! - **Reasons**: every failed connect and close carries a [`CloseReason`] (the I/O error's
//!   kind and errno, peer closed, dead link, protocol error, or the host's own close) and the
//!   delay until the next attempt ([`Event::ConnectFailed`], [`Event::Closed`]).
//!
//! # FPNN encryption (feature `fpnn-encryption` and a curve)
//!
//! `Listener::set_encryption` turns it on for every later connection: each one makes a fresh
//! ephemeral key on the server's curve (a SHA-256 ratchet over the host's entropy), queues the
//! plaintext `*key` quest as its first frame, and from then on seals every frame it queues
//! in TX and opens every byte received in RX, in place (stream mode: one AES-CFB stream per
//! direction; package mode: a length prefix and the cipher restarted per frame). Nothing
//! else goes out, neither the listens nor `*ping`, before the server's answer to `*key`; an
//! error answer or none within the quest timeout asks the host to close
//! ([`CloseReason::KeyExchange`]), and a package that is not exactly one frame is a protocol
//! error ([`FrameError::BadPackage`](crate::wire::frame::FrameError::BadPackage)). Received
//! bytes are then always copied into RX (they cannot be read where they lie); any chunking
//! and any partial transmit still give the same events. Keys are wiped when a connection
//! ends and on drop.
//!
//! # Memory
//!
//! Everything is inline in [`Listener`]: RX and TX (arrays, default 4 KiB and 1 KiB, or memory
//! the host lends through [`Listener::with_buffers`]), plus the tables sized in
//! [`crate::config`]. `core::mem::size_of::<Listener>()` gives the
//! total; README.md lists it for the defaults.
//!
//! # Differences from the official SDKs (reference §10)
//!
//! - The back-off is capped at its maximum (C++ and Python never cap it).
//! - Restoration sends ids as arrays (Go sends maps) and happens on every reconnect (Python
//!   never restores ids; Go races the first command).
//! - Salts are strictly increasing per listener (C++ and Python repeat them).
//! - Pushes missing `msg`, `attrs` or `mtime` are delivered (C++ drops them after answering).
//! - Every twoway quest gets an answer, even with no monitor (Python never answers).

mod backoff;
mod dedup;
#[cfg(feature = "fpnn-encryption")]
mod encryption;
mod engine;
mod event;
mod ids;
#[cfg(any(feature = "fpnn-encryption", feature = "wukong-encryption"))]
mod keygen;
mod listener;
mod salt;
mod sync;
mod tx;
#[cfg(feature = "wukong")]
pub mod wukong;

pub use backoff::Backoff;
pub use dedup::DedupKey;
#[cfg(feature = "fpnn-encryption")]
pub use encryption::{Encryption, EncryptionMode, MIN_ENTROPY};
pub use engine::Engine;
pub use event::{CloseReason, Completion, Event, IoError, IoKind, MessageEvent, RequestId, code};
pub use ids::{EVENTS, IdKind, SortedIds};
pub use listener::{
    CommandError, Config, ConfigError, FixedListener, ListenView, Listener, MAX_SECRET, MIN_RX,
    MIN_TX, Stats, max_listen_quest,
};
