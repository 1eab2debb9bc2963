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

    /// Whether `code` is a local code ([`CONNECTION_CLOSED`], [`TIMEOUT`], [`NOT_CONNECTED`]):
    /// the command was not confirmed yet, and its intent is kept in the desired state, to be
    /// applied on the next connection (see [`Event::Restored`](super::Event::Restored)).
    pub fn is_local(code: i64) -> bool {
        matches!(code, CONNECTION_CLOSED | TIMEOUT | NOT_CONNECTED)
    }

    /// Whether the server refused the credentials: 200001 (invalid pid), 200002 (invalid pid
    /// or sign: a wrong secret), 200008 (the signature's time is too far from the server's),
    /// 200020-200022 (method forbidden, permission denied, unauthorized). Retrying cannot help
    /// until the configuration changes.
    pub fn is_auth_failure(code: i64) -> bool {
        matches!(code, 200_001 | 200_002 | 200_008 | 200_020..=200_022)
    }
}

/// The kind of a transport error, as the host's I/O layer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum IoKind {
    /// The peer refused the connection (nothing listens on the port).
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionReset,
    /// The connection was aborted locally.
    ConnectionAborted,
    /// The operation timed out.
    TimedOut,
    /// No route to the host or the network.
    Unreachable,
    /// The host name could not be resolved.
    UnknownHost,
    /// The endpoint is not a valid `host:port` (a bad port, say).
    InvalidEndpoint,
    /// Writing to a connection the peer has closed.
    BrokenPipe,
    /// Any other error.
    Other,
}

impl IoKind {
    /// A short description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ConnectionRefused => "connection refused",
            Self::ConnectionReset => "connection reset",
            Self::ConnectionAborted => "connection aborted",
            Self::TimedOut => "timed out",
            Self::Unreachable => "host or network unreachable",
            Self::UnknownHost => "unknown host",
            Self::InvalidEndpoint => "invalid endpoint",
            Self::BrokenPipe => "broken pipe",
            Self::Other => "I/O error",
        }
    }
}

/// A transport error: its kind and the operating system's error number (0 when there is
/// none, as for an unknown host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IoError {
    /// What went wrong.
    pub kind: IoKind,
    /// `errno`, or 0.
    pub errno: i32,
}

/// Why a connection attempt failed or a connection ended (and why the listener asks the host
/// to close one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CloseReason {
    /// Nothing was received for `3 × quest timeout + ping interval`, or a listen quest got no
    /// answer within the quest timeout.
    DeadLink,
    /// The peer sent bytes that are not a valid FPNN stream (or a frame over 8 MiB).
    Protocol(FrameError),
    /// The peer closed the connection (end of stream).
    PeerClosed,
    /// The transport failed.
    Io(IoError),
    /// The host closed the connection on its own (shutdown, reconfiguration).
    Host,
    /// FPNN encryption's key exchange failed: the server answered `*key` with the error `code`,
    /// or gave no answer within the quest timeout ([`code::TIMEOUT`]).
    KeyExchange {
        /// The server's error code, or [`code::TIMEOUT`].
        code: i64,
    },
    /// WuKongIM: the server refused the CONNECT with this CONNACK reason code (2 `AuthFail`:
    /// a wrong uid or token; names in [`reason::name`](crate::wire::wukong::packet::reason::name)).
    #[cfg(feature = "wukong")]
    WkRefused {
        /// The CONNACK's reason code.
        reason_code: u8,
    },
    /// WuKongIM: the server sent DISCONNECT with this reason code (12 `ConnectKick`: the same
    /// uid logged in on another device, reported as [`Event::Kickout`] first).
    #[cfg(feature = "wukong")]
    WkDisconnected {
        /// The DISCONNECT's reason code.
        reason_code: u8,
    },
    /// WuKongIM: the peer sent bytes that are not a valid WuKongIM stream for a listener.
    #[cfg(feature = "wukong")]
    WkProtocol(crate::session::wukong::WkProtocolError),
}

impl CloseReason {
    /// Whether the close was caused by an error (the official `causedByError`): everything
    /// but [`CloseReason::PeerClosed`] and [`CloseReason::Host`].
    pub fn is_error(&self) -> bool {
        !matches!(self, Self::PeerClosed | Self::Host)
    }

    /// A short description of the class (the details are in the fields).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DeadLink => "dead link: nothing received",
            Self::Protocol(e) => e.as_str(),
            Self::PeerClosed => "closed by the peer",
            Self::Io(e) => e.kind.as_str(),
            Self::Host => "closed by the host",
            Self::KeyExchange { .. } => "the key exchange failed",
            #[cfg(feature = "wukong")]
            Self::WkRefused { .. } => "the WuKongIM server refused the login",
            #[cfg(feature = "wukong")]
            Self::WkDisconnected { .. } => "the WuKongIM server disconnected",
            #[cfg(feature = "wukong")]
            Self::WkProtocol(e) => e.as_str(),
        }
    }
}

impl core::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Io(IoError { kind, errno: 0 }) => f.write_str(kind.as_str()),
            Self::Io(IoError { kind, errno }) => write!(f, "{} (errno {errno})", kind.as_str()),
            Self::KeyExchange { code } => write!(f, "the key exchange failed with {code}"),
            #[cfg(feature = "wukong")]
            Self::WkRefused { reason_code: c } | Self::WkDisconnected { reason_code: c } => {
                let name = crate::wire::wukong::packet::reason::name(*c).unwrap_or("unknown");
                write!(f, "{}: reason {c} ({name})", self.as_str())
            }
            #[cfg(feature = "wukong")]
            Self::WkProtocol(e) => write!(f, "protocol error: {e}"),
            other => f.write_str(other.as_str()),
        }
    }
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
    /// WuKongIM's own fields (string ids, `client_msg_no`, `message_seq`, topic, flags);
    /// `None` for RTM pushes.
    #[cfg(feature = "wukong")]
    pub wukong: Option<&'a crate::session::wukong::WkFields<'a>>,
}

impl<'a> MessageEvent<'a> {
    /// The file information of a file message ([`Category::File`]) from its JSON: for RTM,
    /// `msg` and `attrs` ([`Message::file_info`]); for WuKongIM, the payload's `url`, `size`
    /// and `surl` (its `type` 2, 3, 4, 5 or 8 made it a file). `None` for other categories or
    /// when the JSON is not file JSON. Escaped strings are unescaped into `scratch`.
    pub fn file_info<'s>(&self, scratch: &'s mut [u8]) -> Option<crate::rtm::info::FileInfo<'s>>
    where
        'a: 's,
    {
        if self.category != Category::File {
            return None;
        }
        let mut scratch = crate::wire::json::Scratch::new(scratch);
        crate::rtm::info::parse_file_info(self.message.msg, self.message.attrs, &mut scratch).ok()
    }
}

/// A completed listen command.
///
/// `code` says what happened to it: 0, the server confirmed a state that includes it; a local
/// code ([`code::is_local`]), it is not confirmed yet but kept in the desired state and will be
/// applied when a connection comes up; any other code, the server refused the desired state
/// that includes it ([`code::is_auth_failure`] tells a credentials problem). The desired state
/// is never rolled back: a refused command stays desired until the host changes it.
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

impl Completion<'_> {
    /// Whether the command's intent is kept for a later connection (a local code).
    pub fn is_kept(&self) -> bool {
        code::is_local(self.code)
    }
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
    /// The host reported a failed connection attempt (`connected(endpoint, false,
    /// isReconnect)`).
    ConnectFailed {
        /// Whether an earlier connection existed.
        is_reconnect: bool,
        /// Why it failed.
        reason: CloseReason,
        /// When the next attempt is advised, in ms from now.
        retry_in_ms: u64,
    },
    /// The host reported the connection closed (`closed(endpoint, causedByError, isReconnect)`).
    Closed {
        /// Whether it closed because of an error ([`CloseReason::is_error`]).
        by_error: bool,
        /// Whether this connection was a reconnection.
        is_reconnect: bool,
        /// Why it closed.
        reason: CloseReason,
        /// When the next attempt is advised, in ms from now.
        retry_in_ms: u64,
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
    /// The listen state was being established on a new connection (restoration) and that
    /// ended: 0 when the server's state now equals the desired state, else why not (the
    /// server's code, or a local code when the connection closed or the quest timed out).
    Restored {
        /// Outcome code.
        code: i64,
    },
    /// A push that could not be decoded, whose method is unknown, or whose frame is larger
    /// than the receive buffer (skipped as it streams through). A twoway one was answered with
    /// an error (20004 for an unknown method, [`MessageError::fpnn_code`] otherwise).
    BadPush {
        /// The method name (cut to what the receive buffer held, for an oversized frame).
        method: &'a [u8],
        /// What was wrong.
        error: MessageError,
        /// The push's seq (`None` for a oneway push).
        seq: Option<u32>,
        /// The whole frame's length in bytes.
        len: usize,
    },
    /// The host must close the connection, then call `closed`.
    CloseRequested(CloseReason),
}

/// An event that owns its data, queued by calls that produce events without a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalEvent {
    Connected {
        is_reconnect: bool,
    },
    ConnectFailed {
        is_reconnect: bool,
        reason: CloseReason,
        retry_in_ms: u32,
    },
    Closed {
        is_reconnect: bool,
        reason: CloseReason,
        retry_in_ms: u32,
    },
    Completed {
        request: RequestId,
        code: i64,
    },
    Restored {
        code: i64,
    },
    CloseRequested(CloseReason),
}

impl LocalEvent {
    pub(crate) fn into_event<'a>(self) -> Event<'a> {
        match self {
            Self::Connected { is_reconnect } => Event::Connected { is_reconnect },
            Self::ConnectFailed {
                is_reconnect,
                reason,
                retry_in_ms,
            } => Event::ConnectFailed {
                is_reconnect,
                reason,
                retry_in_ms: u64::from(retry_in_ms),
            },
            Self::Closed {
                is_reconnect,
                reason,
                retry_in_ms,
            } => Event::Closed {
                by_error: reason.is_error(),
                is_reconnect,
                reason,
                retry_in_ms: u64::from(retry_in_ms),
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
