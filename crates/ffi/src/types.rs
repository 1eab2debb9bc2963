//! The C-visible data types: borrowed strings, the message view, the id lists, the monitor.
//!
//! Every pointer handed to a callback (strings, message, translated and file info) is valid
//! only during that callback.

use core::ffi::c_void;

/// A borrowed byte string (not NUL-terminated; may hold binary data). `ptr` is never NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_str {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl rtm_str {
    pub(crate) fn from(s: &[u8]) -> Self {
        Self {
            ptr: if s.is_empty() {
                b"".as_ptr()
            } else {
                s.as_ptr()
            },
            len: s.len(),
        }
    }
}

/// Translation carried by a translated chat (official `TranslatedInfo`).
#[repr(C)]
pub struct rtm_translated_info {
    /// `source`.
    pub source_language: rtm_str,
    /// `target`.
    pub target_language: rtm_str,
    /// `sourceText`.
    pub source_text: rtm_str,
    /// `targetText`.
    pub target_text: rtm_str,
}

/// What a file message describes (official `FileInfo`).
#[repr(C)]
pub struct rtm_file_info {
    /// `url`.
    pub url: rtm_str,
    /// `size` in bytes.
    pub size: i64,
    /// `surl` (thumbnail), empty when absent.
    pub surl: rtm_str,
    /// `attrs.rtm.type == "audiomsg"`.
    pub is_rtm_audio: bool,
    /// `attrs.rtm.lang`.
    pub language: rtm_str,
    /// `attrs.rtm.duration` in ms.
    pub duration: i64,
    /// Whether `attrs.custom` is present.
    pub has_custom: bool,
    /// `attrs.custom`: a string unescaped, any other value as its JSON text.
    pub custom: rtm_str,
}

/// A message push (official `RTMMessage`).
#[repr(C)]
pub struct rtm_message {
    /// Sender uid.
    pub from_uid: i64,
    /// Receiver uid, group id or room id (0 for broadcasts).
    pub to_id: i64,
    /// RTM message type.
    pub message_type: i8,
    /// Message id.
    pub message_id: i64,
    /// Message body as received (text or binary).
    pub message: rtm_str,
    /// Attributes as received.
    pub attrs: rtm_str,
    /// Modification time, ms.
    pub modified_time: i64,
    /// For a translated chat, else NULL.
    pub translated_info: *const rtm_translated_info,
    /// For a file message with file JSON, else NULL.
    pub file_info: *const rtm_file_info,
}

/// Ids and events of a listen command. A list pointer may be NULL when its length is 0.
#[repr(C)]
pub struct rtm_ids {
    /// Group ids.
    pub gids: *const i64,
    /// Number of group ids.
    pub gids_len: usize,
    /// Room ids.
    pub rids: *const i64,
    /// Number of room ids.
    pub rids_len: usize,
    /// User ids (P2P).
    pub uids: *const i64,
    /// Number of user ids.
    pub uids_len: usize,
    /// Event names (`login`, `logout`).
    pub events: *const rtm_str,
    /// Number of event names.
    pub events_len: usize,
}

/// A message callback.
pub type rtm_message_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, message: *const rtm_message)>;

/// The monitor: `user` plus one nullable function pointer per virtual of the official
/// `RTMServerPushMonitor`. NULL means "ignore", like the default virtuals. Every callback gets
/// `user` first. Callbacks must not call back into the same listener (they get `RTM_ERR_BUSY`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_monitor {
    /// Passed to every callback.
    pub user: *mut c_void,
    /// `connected(endpoint, connected, isReconnect)`.
    pub connected: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            endpoint: rtm_str,
            connected: bool,
            is_reconnect: bool,
        ),
    >,
    /// `closed(endpoint, causedByError, isReconnect)`.
    pub closed: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            endpoint: rtm_str,
            caused_by_error: bool,
            is_reconnect: bool,
        ),
    >,
    /// `pushP2PMessage`.
    pub push_p2p_message: rtm_message_fn,
    /// `pushGroupMessage`.
    pub push_group_message: rtm_message_fn,
    /// `pushRoomMessage`.
    pub push_room_message: rtm_message_fn,
    /// `pushP2PFile`.
    pub push_p2p_file: rtm_message_fn,
    /// `pushGroupFile`.
    pub push_group_file: rtm_message_fn,
    /// `pushRoomFile`.
    pub push_room_file: rtm_message_fn,
    /// `pushP2PChat`.
    pub push_p2p_chat: rtm_message_fn,
    /// `pushP2PAudio`.
    pub push_p2p_audio: rtm_message_fn,
    /// `pushP2PCmd`.
    pub push_p2p_cmd: rtm_message_fn,
    /// `pushGroupChat`.
    pub push_group_chat: rtm_message_fn,
    /// `pushGroupAudio`.
    pub push_group_audio: rtm_message_fn,
    /// `pushGroupCmd`.
    pub push_group_cmd: rtm_message_fn,
    /// `pushRoomChat`.
    pub push_room_chat: rtm_message_fn,
    /// `pushRoomAudio`.
    pub push_room_audio: rtm_message_fn,
    /// `pushRoomCmd`.
    pub push_room_cmd: rtm_message_fn,
    /// `pushEvent(pid, event, uid, time, endpoint, data)`; `data` is empty when absent.
    pub push_event: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            pid: i64,
            event: rtm_str,
            uid: i64,
            time: i64,
            endpoint: rtm_str,
            data: rtm_str,
        ),
    >,
    /// `ping()`.
    pub ping: Option<unsafe extern "C" fn(user: *mut c_void)>,
    /// Client protocol: `pushbroadcastmsg`, any category (`message_type` tells which).
    pub push_broadcast: rtm_message_fn,
    /// Client protocol: `kickout`.
    pub kickout: Option<unsafe extern "C" fn(user: *mut c_void)>,
    /// Client protocol: `kickoutroom`.
    pub kickout_room: Option<unsafe extern "C" fn(user: *mut c_void, rid: i64)>,
    /// A listen command completed: `code` 0 on success, the peer's FPNN/RTM code, 20003
    /// timeout, 20002 connection closed, 20012 not connected.
    pub completed:
        Option<unsafe extern "C" fn(user: *mut c_void, request_id: u32, code: i64, ex: rtm_str)>,
    /// Listen restoration after a reconnect finished (`code` 0 when fully restored).
    pub restored: Option<unsafe extern "C" fn(user: *mut c_void, code: i64)>,
    /// A push could not be decoded or had an unknown method; it was answered with `code`.
    pub bad_push: Option<unsafe extern "C" fn(user: *mut c_void, method: rtm_str, code: i64)>,
}

/// Listener settings. Zero timing fields mean the defaults.
#[repr(C)]
pub struct rtm_config {
    /// Project id.
    pub pid: u32,
    /// Project secret (copied; at most 64 bytes; never logged).
    pub secret: rtm_str,
    /// A few random bits from the host (seeds salts and the duplicate filter).
    pub entropy: u64,
    /// Quest timeout in ms (0: 30,000).
    pub quest_timeout_ms: u32,
    /// Keepalive interval in ms (0: 20,000).
    pub ping_interval_ms: u32,
    /// The callbacks.
    pub monitor: rtm_monitor,
}
