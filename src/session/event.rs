//! What the listener hands to the host.

use crate::rtm::dispatch::{Callback, Category};
use crate::rtm::field::MessageError;
use crate::rtm::push::{Event as PushEvent, Message};
use crate::wire::frame::FrameError;

/// Identifies a listen command; its completion carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequestId(pub u32);

/// Local error codes reported in completions (never on the wire), reference §1.8.
pub mod code {
    /// Success.
    pub const OK: i64 = 0;
    /// The connection closed while the quest was awaiting its answer.
    pub const CONNECTION_CLOSED: i64 = 20002;
    /// No answer within the quest timeout.
    pub const TIMEOUT: i64 = 20003;
    /// The quest could not be sent: no connection until its timeout.
    pub const NOT_CONNECTED: i64 = 20012;
}

/// Why the listener asks the host to close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// Nothing was received for `3 × quest timeout + ping interval`.
    DeadLink,
    /// The peer sent bytes that are not a valid FPNN stream.
    Protocol(FrameError),
}

/// A message push with everything the monitor needs.
///
/// The JSON inside chat and file messages is not parsed by the listener: call
/// [`Message::translated`] or [`Message::file_info`] on `message` (with scratch memory) when
/// the information is wanted. The C ABI does so for chat and file callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageEvent<'a> {
    /// The message, as on the wire.
    pub message: Message<'a>,
    /// Category by mtype.
    pub category: Category,
    /// The monitor callback it goes to.
    pub callback: Callback,
}

/// A completed listen command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Completion<'a> {
    /// The command.
    pub request: RequestId,
    /// 0 on success, the peer's FPNN or RTM code, or a local code from [`code`].
    pub code: i64,
    /// The peer's error text, if any.
    pub ex: &'a [u8],
}

/// An event for the host. Borrowed data is valid until the next call on the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'a> {
    /// The host reported a connection (`connected(endpoint, true, isReconnect)`).
    Connected {
        /// Whether an earlier connection existed.
        is_reconnect: bool,
    },
    /// The host reported a failed connection attempt (`connected("", false, isReconnect)`).
    ConnectFailed {
        /// Whether an earlier connection existed.
        is_reconnect: bool,
    },
    /// The host reported the connection closed (`closed(endpoint, causedByError, isReconnect)`).
    Closed {
        /// Whether it closed because of an error.
        by_error: bool,
        /// Whether this connection was a reconnection.
        is_reconnect: bool,
    },
    /// A message push (P2P, group, room or broadcast).
    Message(MessageEvent<'a>),
    /// A `pushevent`.
    PushEvent(PushEvent<'a>),
    /// The RTM server's `ping`.
    Ping,
    /// `kickout` (client protocol).
    Kickout,
    /// `kickoutroom` (client protocol).
    KickoutRoom {
        /// The room.
        rid: i64,
    },
    /// A listen command completed.
    Completed(Completion<'a>),
    /// Listen restoration after a reconnect finished: 0 if the server accepted the whole
    /// state, otherwise the first error code.
    Restored {
        /// Outcome code.
        code: i64,
    },
    /// A push that could not be decoded, or whose method is unknown. A twoway one was answered
    /// with an error (20004 for an unknown method).
    BadPush {
        /// The method name.
        method: &'a [u8],
        /// What was wrong.
        error: MessageError,
    },
    /// The host must close the connection, then call `closed`.
    CloseRequested(CloseReason),
}

/// An event that owns its data, queued by calls that produce events without a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalEvent {
    Connected { is_reconnect: bool },
    ConnectFailed { is_reconnect: bool },
    Closed { by_error: bool, is_reconnect: bool },
    Completed { request: RequestId, code: i64 },
    Restored { code: i64 },
    CloseRequested(CloseReason),
}

impl LocalEvent {
    pub(crate) fn into_event<'a>(self) -> Event<'a> {
        match self {
            Self::Connected { is_reconnect } => Event::Connected { is_reconnect },
            Self::ConnectFailed { is_reconnect } => Event::ConnectFailed { is_reconnect },
            Self::Closed {
                by_error,
                is_reconnect,
            } => Event::Closed {
                by_error,
                is_reconnect,
            },
            Self::Completed { request, code } => Event::Completed(Completion {
                request,
                code,
                ex: &[],
            }),
            Self::Restored { code } => Event::Restored { code },
            Self::CloseRequested(r) => Event::CloseRequested(r),
        }
    }
}
