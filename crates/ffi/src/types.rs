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
    /// The view of `s`: its own pointer, never NULL (a Rust slice's never is; an empty one's may
    /// point past the data it was cut from, or be the aligned dangling address, as `b""` is).
    #[inline(always)]
    pub(crate) fn from(s: &[u8]) -> Self {
        Self {
            ptr: s.as_ptr(),
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
    /// What became of the JSON info (`RTM_INFO_*`): `RTM_INFO_OK` when `translated_info` or
    /// `file_info` is set; `RTM_INFO_NONE` when the message carries none (not a chat or file,
    /// or a chat whose text is not translation JSON); otherwise why the info could not be
    /// parsed (the message is delivered as received). Every frame that fits the receive buffer
    /// has room for its info: strings are unescaped into scratch as large as that buffer.
    /// `RTM_INFO_LAZY` when the listener was set up with `rtm_config.lazy_info` and the
    /// message may carry info: `rtm_message_info` parses it on request.
    pub info_status: rtm_info_status,
    /// Private to the library: what `rtm_message_info` parses (NULL once parsed eagerly).
    pub lazy: *mut c_void,
    /// WuKongIM's own fields of the message (`rtm_wk_listener` only), NULL for RTM pushes. A
    /// WuKongIM file message (JSON `type` 2, 3, 4, 5 or 8) has `file_info` (`url`, `size`,
    /// `surl` from its payload) and `info_status`; its other JSON is the application's
    /// (`translated_info` is always NULL).
    /// `from_uid` and `to_id` above are the integer values of WuKongIM's string ids when they
    /// are decimal numbers, and **0 when they are not**: the strings are always here.
    pub wukong: *const rtm_wk_message,
}

/// WuKongIM's fields of a delivered message (`rtm_message.wukong`), valid during the callback.
#[repr(C)]
pub struct rtm_wk_message {
    /// The sender's uid (empty for the system).
    pub from_uid: rtm_str,
    /// The channel: for person channels (type 1) the other party, else the group or room.
    pub channel_id: rtm_str,
    /// The sender's message number.
    pub client_msg_no: rtm_str,
    /// The topic (empty when absent: `has_topic` tells).
    pub topic: rtm_str,
    /// The message's sequence in its channel.
    pub message_seq: u64,
    /// The payload's JSON `type` when it has one (`has_content_type`); `rtm_message.message_type`
    /// holds it too when it fits an `int8_t`, else 0.
    pub content_type: i64,
    /// Unix seconds (`rtm_message.modified_time` is this × 1000).
    pub timestamp: i32,
    /// Expiry in seconds (protocol version 3 and later, else 0).
    pub expire: u32,
    /// 1 person, 2 group, or a room type (`rtm_wk_config.room_types`) or another.
    pub channel_type: u8,
    /// The header flags: DUP 8, SyncOnce 4, RedDot 2, NoPersist 1.
    pub header_flags: u8,
    /// The setting byte.
    pub setting: u8,
    /// Whether `topic` is present.
    pub has_topic: bool,
    /// Whether `content_type` is present.
    pub has_content_type: bool,
}

/// What became of a message's JSON info (`rtm_message.info_status`): one of `RTM_INFO_*`.
pub type rtm_info_status = u32;
/// No info: not a chat or file message, or a chat whose text is not translation JSON (plain
/// text, or JSON without any of the four translation keys).
pub const RTM_INFO_NONE: rtm_info_status = 0;
/// Parsed: `translated_info` (chat) or `file_info` (file) is set.
pub const RTM_INFO_OK: rtm_info_status = 1;
/// Malformed JSON (a chat that starts like JSON but is not, or a file message's `msg`).
pub const RTM_INFO_SYNTAX: rtm_info_status = 2;
/// A file message whose `msg` is JSON but not an object.
pub const RTM_INFO_NOT_OBJECT: rtm_info_status = 3;
/// JSON nested deeper than the parser allows.
pub const RTM_INFO_TOO_DEEP: rtm_info_status = 4;
/// No room to unescape the strings (cannot happen with the scratch the library sizes from
/// the receive buffer; kept for completeness).
pub const RTM_INFO_SCRATCH_FULL: rtm_info_status = 5;
/// Not parsed yet (`rtm_config.lazy_info`): a chat or file message whose info
/// `rtm_message_info` parses when the callback asks for it.
pub const RTM_INFO_LAZY: rtm_info_status = 6;

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
    /// `connected(endpoint, connected, isReconnect)`: the endpoint connected, or tried by a
    /// failed attempt (`connected` false, followed by `disconnected` with the reason).
    pub connected: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            endpoint: rtm_str,
            connected: bool,
            is_reconnect: bool,
        ),
    >,
    /// `closed(endpoint, causedByError, isReconnect)` (followed by `disconnected` with the
    /// reason).
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
    /// A listen command completed. The listener keeps a desired listen state (every accepted
    /// command applied at once, in order) and drives the server to it on every connection.
    /// `code` 0: the server confirmed a state that includes the command. 20002 (connection
    /// closed), 20003 (timeout), 20012 (not connected): not confirmed yet, but KEPT in the
    /// desired state and applied on the next connection. Any other code: the server refused
    /// it (200001, 200002, 200008, 200020-200022 mean refused credentials); it stays desired
    /// until the host changes the state.
    pub completed:
        Option<unsafe extern "C" fn(user: *mut c_void, request_id: u32, code: i64, ex: rtm_str)>,
    /// Establishing a non-empty desired listen state on a new connection (the first one
    /// included) ended: `code` 0 when the server's state equals it, else the server's refusal
    /// or a local code (20002 closed, 20003 timeout).
    pub restored: Option<unsafe extern "C" fn(user: *mut c_void, code: i64)>,
    /// A push could not be decoded, had an unknown method, or was larger than the receive
    /// buffer (skipped as it streamed through, up to 8 MiB). `code` is the error: 20004 unknown
    /// method, 10002 frame too large, 10009/10010/... undecodable; a twoway push (`twoway`, its
    /// `seq`) was answered with it, a oneway one (`seq` 0) was not. `frame_len` is the whole
    /// frame's length in bytes; `method` is cut to what the receive buffer held.
    pub bad_push: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            method: rtm_str,
            code: i64,
            twoway: bool,
            seq: u32,
            frame_len: usize,
        ),
    >,
    /// Why the attempt to `endpoint` failed (after `connected(endpoint, false, ..)`) or why its
    /// connection ended (after `closed`), and when the next attempt is advised, in ms from now
    /// (`rtm_listener_reconnect_at` gives the same time). Not in the official SDK.
    pub disconnected: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            endpoint: rtm_str,
            reason: *const rtm_close_reason,
            retry_in_ms: u64,
        ),
    >,
}

/// Listener settings. Zero fields mean the defaults.
///
/// Buffers: the receive buffer (RX) holds the largest frame read whole (larger ones, up to
/// 8 MiB, are skipped and reported to `bad_push`); the transmit buffer (TX) holds answers and
/// listen quests; a JSON scratch as large as RX receives unescaped info strings. With
/// `buffer` NULL they live inside the listener storage (`rtm_listener`): `rx_size` and
/// `tx_size` 0 mean 4096 and 1024 (at least `rtm_min_tx_size()`), and any sizes with
/// `RTM_BUFFER_SIZE(rx_size, tx_size) <= RTM_INLINE_BUFFER` fit there. With `buffer` set, the
/// host lends `buffer_len >= RTM_BUFFER_SIZE(rx_size, tx_size)` bytes of its own memory
/// (split RX | TX | scratch), which must stay valid, in place and otherwise unused until the
/// listener is deinitialised or initialised again; the listener storage then needs only
/// `rtm_listener_state_size()` bytes. `rx_size` must be at least `RTM_MIN_RX_SIZE` and
/// `tx_size` at least `rtm_min_tx_size()`; otherwise, or when the buffer is too short,
/// `rtm_listener_init` returns `RTM_ERR_BUFFER_TOO_SMALL`.
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
    /// Memory the host lends for the buffers, or NULL for the storage's inline area.
    pub buffer: *mut u8,
    /// Bytes at `buffer` (0 when `buffer` is NULL).
    pub buffer_len: usize,
    /// Receive buffer size: the largest frame read whole (0: 4096).
    pub rx_size: usize,
    /// Transmit buffer size (0: 1024, or `rtm_min_tx_size()` if larger).
    pub tx_size: usize,
    /// The reconnect back-off (read at init, not kept), or NULL for the official SDKs'
    /// defaults (see `rtm_backoff`).
    pub backoff: *const rtm_backoff,
    /// Parse a message's JSON info only when its callback asks (`rtm_message_info`): the
    /// view then has `info_status` `RTM_INFO_LAZY` and no `translated_info` / `file_info`.
    /// `false` (the default): parsed before every chat and file callback, as the official SDK
    /// does.
    pub lazy_info: bool,
    /// FPNN encryption for every connection (read at init, not kept); all zero (`server_key`
    /// NULL) for plaintext. See `rtm_encryption`; `rtm_listener_set_encryption` changes it
    /// later.
    pub encryption: rtm_encryption,
    /// Where the listener sends by itself, or all zero to pull (`rtm_listener_transmit`). See
    /// `rtm_transport`.
    pub transport: rtm_transport,
}

/// Hands `len` bytes at `data` to the transport; returns how many it took, `0` to `len`
/// (fewer when it would block: the rest stays queued for the next call). `data` is valid
/// during the call only. It must not call into the listener (that call gets `RTM_ERR_BUSY`);
/// a transport error is the host's to handle (take nothing, then `rtm_listener_closed`).
pub type rtm_send_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, data: *const u8, len: usize) -> usize>;

/// Push mode for sending: with `send` set, every call that queues bytes (answers, pings,
/// listen quests, `*key`) hands them to `send` before it returns, as long as it takes some, and
/// pushes held back for room to answer them are delivered as room frees (their callbacks run
/// in that call). A push then costs one call, `rtm_listener_receive`. Bytes `send` did not
/// take stay queued: they go with the next call, or with `rtm_listener_transmit` when the
/// socket is writable again. All zero: pull mode only (`rtm_listener_transmit` and
/// `rtm_listener_transmit_done`, which work in both modes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_transport {
    /// The transport's send, or NULL for pull mode.
    pub send: rtm_send_fn,
    /// Passed to `send`.
    pub user: *mut c_void,
}

/// How `rtm_encryption.server_key` is encoded: one of `RTM_KEY_*`.
pub type rtm_key_format = u32;
/// Told by its shape: PEM if it holds `-----BEGIN`, raw if `curve` is set and the length is a
/// raw length of that curve, DER if it is one whole SEQUENCE (tag `0x30`, its length spanning
/// all the bytes; without `curve`, any start with `0x30`), otherwise raw on `curve` (so raw
/// bytes of a wrong length are `RTM_ERR_KEY_WRONG_LENGTH` even when they start with `0x30`; without one: `RTM_ERR_KEY_NEEDS_CURVE` for a raw length, else
/// `RTM_ERR_KEY_BAD_DER`).
pub const RTM_KEY_AUTO: rtm_key_format = 0;
/// PEM text (`-----BEGIN PUBLIC KEY-----`, what `openssl ec -pubout` writes); the curve comes
/// from the key.
pub const RTM_KEY_PEM: rtm_key_format = 1;
/// DER SubjectPublicKeyInfo (`openssl ec -pubout -outform DER`); the curve comes from the key.
pub const RTM_KEY_DER: rtm_key_format = 2;
/// Raw `X || Y` (`2n` bytes) or `0x04 || X || Y`, as FPNN's `eccKeyMaker` writes
/// `NAME-public.key`; needs `curve`.
pub const RTM_KEY_RAW: rtm_key_format = 3;

/// FPNN encryption (the gate's `FPNN.server.security.ecdh.enable`): the server's public key,
/// the mode and the AES key size, and entropy for the per-connection keys. On every
/// connection the listener makes a fresh key pair, sends the `*key` quest first, and encrypts
/// everything after it. Memory is the caller's and read only during the call that takes the
/// struct (`rtm_listener_init`, `rtm_listener_set_encryption`, `rtm_encryption_check`): the
/// key is parsed into the listener, the entropy stirred into its key generator, nothing kept.
///
/// The official C++ SDK's `enableEncryptor(curve, key, packageMode = true, reinforce = false)`
/// is `server_key` = key, `format` `RTM_KEY_RAW`, `curve` = curve, `stream_mode` false,
/// `aes256` false; its `enableEncryptorByPemFile(path, ...)` is the file's bytes with
/// `RTM_KEY_PEM` (`curve` NULL).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_encryption {
    /// The server's public key, encoded as `format` says; NULL for plaintext (then `format`,
    /// `curve`, `stream_mode` and `aes256` are ignored, and `entropy`, if given, is stirred in).
    pub server_key: *const u8,
    /// Bytes at `server_key`.
    pub server_key_len: usize,
    /// `RTM_KEY_*` (0: `RTM_KEY_AUTO`).
    pub format: rtm_key_format,
    /// The curve's name, NUL-terminated (`secp256k1`, `secp256r1`, `secp224r1`, `secp192r1`,
    /// or `prime256v1`, `P-256`, `P-224`, `prime192v1`, `P-192`; any case): needed for a raw
    /// key; with a PEM or DER key NULL, or the key's own curve (checked). NULL otherwise.
    pub curve: *const core::ffi::c_char,
    /// Stream mode (one AES-CFB stream per direction) instead of package mode (each frame
    /// encrypted on its own, the official SDK's default `packageMode = true`).
    pub stream_mode: bool,
    /// AES-256 (the official `reinforce = true`) instead of AES-128.
    pub aes256: bool,
    /// At least `RTM_MIN_ENTROPY` bytes from a cryptographically secure generator
    /// (`getrandom`, `/dev/urandom`, a hardware RNG): they seed the generator of the
    /// per-connection keys (copied into it, not kept). `rtm_listener_add_entropy` stirs in more.
    pub entropy: *const u8,
    /// Bytes at `entropy`.
    pub entropy_len: usize,
}

/// The fewest entropy bytes `rtm_encryption.entropy` takes with a server key.
pub const RTM_MIN_ENTROPY: usize = 32;

/// The reconnect back-off the listener advises through `rtm_listener_reconnect_at` (the
/// official SDKs' "regressive connect strategy"). The defaults: a connection that lived
/// 1,500 ms resets the failure count; the first 5 failures reconnect at once; then the delay
/// starts at 2,000 ms and grows in 5 linear steps to 120,000 ms, where it stays (capped,
/// unlike the official C++ SDK).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_backoff {
    /// A connection that lived at least this long (ms) resets the failure count
    /// (`connectFailedMaxIntervalMilliseconds`).
    pub failed_window_ms: u32,
    /// Consecutive failures that reconnect at once (`startConnectFailedCount`).
    pub immediate: u32,
    /// The delay (ms) after the first failure beyond those (`firstIntervalSeconds`).
    pub first_ms: u32,
    /// The cap (ms) (`maxIntervalSeconds`).
    pub max_ms: u32,
    /// Steps from `first_ms` to `max_ms` (`linearRegressiveCount`; 0 counts as 1).
    pub linear_steps: u32,
}

/// Why a connection attempt failed or a connection ended: one of `RTM_REASON_*`.
pub type rtm_reason_kind = u32;
/// Nothing was received for `3 x quest timeout + ping interval` (asked by the listener).
pub const RTM_REASON_DEAD_LINK: rtm_reason_kind = 1;
/// The peer sent bytes that are not a valid FPNN stream (asked by the listener; details in
/// `protocol`).
pub const RTM_REASON_PROTOCOL: rtm_reason_kind = 2;
/// The peer closed the connection (end of stream). Not an error for `causedByError`.
pub const RTM_REASON_PEER_CLOSED: rtm_reason_kind = 3;
/// The transport failed (details in `io_kind` and `os_error`).
pub const RTM_REASON_IO: rtm_reason_kind = 4;
/// The host closed the connection on its own (shutdown, reconfiguration). Not an error.
pub const RTM_REASON_HOST: rtm_reason_kind = 5;
/// FPNN encryption's key exchange failed: the server answered `*key` with an error, or gave no
/// answer within the quest timeout (asked by the listener; the code in `code`).
pub const RTM_REASON_KEY_EXCHANGE: rtm_reason_kind = 6;
/// WuKongIM: the server refused the login; `code` is the CONNACK's reason code (2 AuthFail).
pub const RTM_REASON_WK_REFUSED: rtm_reason_kind = 7;
/// WuKongIM: the server sent DISCONNECT; `code` is its reason code (12 ConnectKick: the uid
/// logged in on another device, reported to `kickout` first).
pub const RTM_REASON_WK_DISCONNECTED: rtm_reason_kind = 8;
/// WuKongIM: bytes that are not a valid WuKongIM stream for a listener (an unknown packet
/// type, a length over 4 bytes or 1 MiB, an unexpected or malformed packet, keys that cannot
/// be derived); `rtm_close_reason_str` says which.
pub const RTM_REASON_WK_PROTOCOL: rtm_reason_kind = 9;

/// `rtm_close_reason.protocol` for `RTM_REASON_WK_PROTOCOL`: the framing is broken (an unknown
/// packet type in `protocol_byte`, a length over 4 bytes, or over 1 MiB in `frame_len` and
/// `frame_max`).
pub const RTM_WK_PROTOCOL_FRAME: rtm_protocol_error = 101;
/// A CONNACK or DISCONNECT whose fields cannot be read (its packet type in `protocol_byte`).
pub const RTM_WK_PROTOCOL_MALFORMED: rtm_protocol_error = 102;
/// A packet a server does not send to a listener at this point (its type in `protocol_byte`).
pub const RTM_WK_PROTOCOL_UNEXPECTED: rtm_protocol_error = 103;
/// The CONNACK's key or salt cannot give the payload keys.
pub const RTM_WK_PROTOCOL_KEYS: rtm_protocol_error = 104;
/// The server encrypts and the library was built without WuKongIM encryption.
pub const RTM_WK_PROTOCOL_NO_ENCRYPTION: rtm_protocol_error = 105;

/// The kind of a transport error (`rtm_close_reason.io_kind`): one of `RTM_IO_*`, 0 unless
/// the reason is `RTM_REASON_IO`.
pub type rtm_io_kind = u32;
/// The peer refused the connection (`ECONNREFUSED`).
pub const RTM_IO_CONNECTION_REFUSED: rtm_io_kind = 1;
/// The peer reset the connection (`ECONNRESET`).
pub const RTM_IO_CONNECTION_RESET: rtm_io_kind = 2;
/// The connection was aborted locally (`ECONNABORTED`).
pub const RTM_IO_CONNECTION_ABORTED: rtm_io_kind = 3;
/// The operation timed out (`ETIMEDOUT`).
pub const RTM_IO_TIMED_OUT: rtm_io_kind = 4;
/// No route to the host or the network (`EHOSTUNREACH`, `ENETUNREACH`).
pub const RTM_IO_UNREACHABLE: rtm_io_kind = 5;
/// The host name could not be resolved (`getaddrinfo` failed; `os_error` 0 or its code).
pub const RTM_IO_UNKNOWN_HOST: rtm_io_kind = 6;
/// The endpoint is not a valid `host:port`.
pub const RTM_IO_INVALID_ENDPOINT: rtm_io_kind = 7;
/// Writing to a connection the peer has closed (`EPIPE`).
pub const RTM_IO_BROKEN_PIPE: rtm_io_kind = 8;
/// Any other error.
pub const RTM_IO_OTHER: rtm_io_kind = 9;

/// What was wrong with the peer's bytes (`rtm_close_reason.protocol`): one of
/// `RTM_PROTOCOL_*`, 0 unless the reason is `RTM_REASON_PROTOCOL`.
pub type rtm_protocol_error = u32;
/// The first four bytes of a frame are not `FPNN`.
pub const RTM_PROTOCOL_BAD_MAGIC: rtm_protocol_error = 1;
/// A JSON payload (only msgpack is supported).
pub const RTM_PROTOCOL_JSON_PAYLOAD: rtm_protocol_error = 2;
/// A bad flag byte (in `protocol_byte`).
pub const RTM_PROTOCOL_BAD_FLAG: rtm_protocol_error = 3;
/// A bad mtype byte (in `protocol_byte`).
pub const RTM_PROTOCOL_BAD_MTYPE: rtm_protocol_error = 4;
/// A quest with an empty method name.
pub const RTM_PROTOCOL_EMPTY_METHOD: rtm_protocol_error = 5;
/// A frame longer than 8 MiB, the most the listener skips (`frame_len`; `frame_max` is the
/// limit the engine reports with it).
pub const RTM_PROTOCOL_TOO_LARGE: rtm_protocol_error = 6;
/// A payload that is not a msgpack map.
pub const RTM_PROTOCOL_PAYLOAD_NOT_MAP: rtm_protocol_error = 7;
/// Another protocol error (a newer engine's); pass the struct back to
/// `rtm_listener_closed` unchanged.
pub const RTM_PROTOCOL_OTHER: rtm_protocol_error = 8;
/// FPNN encryption's package mode: a package length of 0, below a frame header or over 8 MiB,
/// or a package whose frame is not exactly as long as the package (the stream cannot be
/// decrypted on).
pub const RTM_PROTOCOL_BAD_PACKAGE: rtm_protocol_error = 9;

/// Why a connection attempt failed or a connection ended. Filled by the host for
/// `rtm_listener_connect_failed` and `rtm_listener_closed` (zero it, then set `kind` and, for
/// `RTM_REASON_IO`, `io_kind` and `os_error`), by the library for `rtm_listener_close_reason`
/// (pass it back to `rtm_listener_closed` as is) and for the `disconnected` callback.
/// `rtm_close_reason_str` describes one.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct rtm_close_reason {
    /// `RTM_REASON_*`.
    pub kind: rtm_reason_kind,
    /// For `RTM_REASON_IO`: `RTM_IO_*`; else 0.
    pub io_kind: rtm_io_kind,
    /// For `RTM_REASON_IO`: the operating system's error number (`errno`), or 0.
    pub os_error: i32,
    /// For `RTM_REASON_PROTOCOL`: `RTM_PROTOCOL_*`; else 0.
    pub protocol: rtm_protocol_error,
    /// For `RTM_PROTOCOL_BAD_FLAG` and `RTM_PROTOCOL_BAD_MTYPE`: the byte received; else 0.
    pub protocol_byte: u8,
    /// For `RTM_PROTOCOL_TOO_LARGE`: the frame length announced; else 0.
    pub frame_len: u64,
    /// For `RTM_PROTOCOL_TOO_LARGE`: the limit exceeded (8 MiB, 8388608); else 0.
    pub frame_max: u64,
    /// For `RTM_REASON_KEY_EXCHANGE`: the error code the server answered `*key` with, or 20003
    /// when it gave no answer within the quest timeout; for `RTM_REASON_WK_REFUSED` and
    /// `RTM_REASON_WK_DISCONNECTED`: the server's reason code; else 0.
    pub code: i64,
}

/// Counters for diagnostics (`rtm_listener_stats`), since `rtm_listener_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rtm_stats {
    /// Push events handed to the monitor.
    pub pushes: u64,
    /// Duplicate pushes answered and dropped.
    pub duplicates: u64,
    /// Pushes reported to `bad_push` (undecodable, unknown method, or too large).
    pub bad_pushes: u64,
    /// Of those, frames larger than the receive buffer, skipped.
    pub oversized: u64,
    /// Keepalive `*ping` quests sent.
    pub pings: u64,
    /// Connections that came up.
    pub connections: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Listen quests the server refused.
    pub refusals: u64,
    /// FPNN encryption key exchanges the server accepted.
    pub key_exchanges: u64,
    /// Key exchanges that failed: refused, unanswered, or closed before the answer.
    pub key_exchange_failures: u64,
}

/// Which listen state `rtm_listener_listen_state` and `rtm_listener_listen_ids` read: one of
/// `RTM_LISTEN_*`.
pub type rtm_listen_which = u32;
/// What the host asked for: every accepted command applied in order. Kept across
/// connections; the listener drives the server to it.
pub const RTM_LISTEN_DESIRED: rtm_listen_which = 1;
/// What the server confirmed on the current connection (empty while disconnected).
pub const RTM_LISTEN_CONFIRMED: rtm_listen_which = 2;

/// Which id list `rtm_listener_listen_ids` copies: one of `RTM_IDS_*`.
pub type rtm_id_kind = u32;
/// Group ids.
pub const RTM_IDS_GROUP: rtm_id_kind = 1;
/// Room ids.
pub const RTM_IDS_ROOM: rtm_id_kind = 2;
/// User ids (P2P).
pub const RTM_IDS_USER: rtm_id_kind = 3;

/// A summary of a listen state (`rtm_listener_listen_state`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rtm_listen_state {
    /// Number of group ids.
    pub gids: usize,
    /// Number of room ids.
    pub rids: usize,
    /// Number of user ids.
    pub uids: usize,
    /// Listening to the `login` event.
    pub login: bool,
    /// Listening to the `logout` event.
    pub logout: bool,
    /// The "all groups" flag.
    pub all_group: bool,
    /// The "all rooms" flag.
    pub all_room: bool,
    /// The "all P2P" flag.
    pub all_p2p: bool,
    /// The "all events" flag.
    pub all_event: bool,
}
