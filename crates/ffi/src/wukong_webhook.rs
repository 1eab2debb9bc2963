//! WuKongIM's webhook side through the C ABI: the ingest (`rtm_wk_listener_webhook`: bytes in,
//! callbacks out, the status to answer), the listen set it filters with (`rtm_wk_listen_*`),
//! and the bodies of the HTTP API calls (`rtm_wk_*_body`).

use engine::session::wukong::{WkIds, WkListenError};
use engine::wire::wukong::api::{subscribers_body, user_token_body};
use engine::wire::wukong::webhook::WebhookError;

use crate::api::list;
use crate::status::*;
use crate::types::*;
use crate::wukong::{WkState, enter_wk, rtm_wk_listener};

/// The webhook item was fine (`rtm_wk_webhook_result.error`).
pub const RTM_WK_WEBHOOK_OK: u32 = 0;
/// The `event` is none of `msg.notify`, `msg.offline`, `user.onlinestatus`.
pub const RTM_WK_WEBHOOK_UNKNOWN_EVENT: u32 = 1;
/// Malformed JSON, or not the shape of the event (an array, an object), or nested too deep.
pub const RTM_WK_WEBHOOK_JSON: u32 = 2;
/// A required key is absent.
pub const RTM_WK_WEBHOOK_MISSING_KEY: u32 = 3;
/// A key of the wrong JSON type.
pub const RTM_WK_WEBHOOK_WRONG_TYPE: u32 = 4;
/// A number out of its field's range (a `message_id` past 64 bits).
pub const RTM_WK_WEBHOOK_OUT_OF_RANGE: u32 = 5;
/// A payload that is not base64.
pub const RTM_WK_WEBHOOK_BAD_BASE64: u32 = 6;
/// A presence string that is not `uid-flag-online-conn-count-count`.
pub const RTM_WK_WEBHOOK_BAD_PRESENCE: u32 = 7;
/// The scratch could not hold an item (status 413).
pub const RTM_WK_WEBHOOK_SCRATCH_FULL: u32 = 8;

/// What became of a webhook POST (`rtm_wk_listener_webhook`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rtm_wk_webhook_result {
    /// The HTTP status to answer: 200 when every item was handled, 400 malformed (the items
    /// before the fault were handled; a retry delivers nothing twice), 413 scratch too small.
    pub status: u16,
    /// The first problem: one of `RTM_WK_WEBHOOK_*` (`RTM_WK_WEBHOOK_OK` with status 200).
    pub error: u32,
    /// Items handed to the callbacks.
    pub delivered: u32,
    /// Items seen before (by the socket or an earlier POST), not delivered again.
    pub duplicates: u32,
    /// Items outside the listen set.
    pub filtered: u32,
    /// `msg.offline` bodies whose `to_uids` came gzip-compressed (not inflated).
    pub gzip_to_uids: u32,
}

fn error_code(e: WebhookError) -> u32 {
    match e {
        WebhookError::UnknownEvent => RTM_WK_WEBHOOK_UNKNOWN_EVENT,
        WebhookError::Json(_) => RTM_WK_WEBHOOK_JSON,
        WebhookError::MissingKey(_) => RTM_WK_WEBHOOK_MISSING_KEY,
        WebhookError::WrongType(_) => RTM_WK_WEBHOOK_WRONG_TYPE,
        WebhookError::OutOfRange(_) => RTM_WK_WEBHOOK_OUT_OF_RANGE,
        WebhookError::BadBase64 => RTM_WK_WEBHOOK_BAD_BASE64,
        WebhookError::BadPresence => RTM_WK_WEBHOOK_BAD_PRESENCE,
        WebhookError::ScratchFull => RTM_WK_WEBHOOK_SCRATCH_FULL,
        _ => RTM_WK_WEBHOOK_JSON,
    }
}

/// Handles one webhook POST: `event` is its `event` query value, `body` its bytes, `scratch`
/// memory for one item's decoded payload and unescaped strings (the largest payload plus a
/// few hundred bytes). The items in the listen set reach the monitor's callbacks before it
/// returns (messages with `rtm_message.wukong`; logins and logouts to `push_event` with
/// `event` "login"/"logout", `uid` the integer uid or 0, `time` Unix seconds, `endpoint`
/// "<device_flag>:<conn_id>", `data` JSON with the string uid and the counts); `*result` says
/// what to answer. Works whether or not the socket is connected; the duplicate filter is the
/// socket's.
///
/// Statuses: `RTM_OK` (what to answer is in `*result`, a refused body included); `RTM_ERR_NULL`
/// (NULL `l` or `result`, or a NULL `event.ptr`, `body` or `scratch` with a nonzero length);
/// `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this listener's
/// callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` must be NULL or an initialised listener; `event.ptr`, `body` and `scratch` valid for
/// their lengths (scratch writable); `result` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listener_webhook(
    l: *mut rtm_wk_listener,
    now_ms: u64,
    event: rtm_str,
    body: *const u8,
    body_len: usize,
    scratch: *mut u8,
    scratch_len: usize,
    result: *mut rtm_wk_webhook_result,
) -> rtm_status {
    if result.is_null() || (scratch.is_null() && scratch_len > 0) {
        return RTM_ERR_NULL;
    }
    // SAFETY: the caller guarantees the lengths.
    let (event, body) = match unsafe { (list(event.ptr, event.len), list(body, body_len)) } {
        (Ok(e), Ok(b)) => (e, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let scratch: &mut [u8] = if scratch_len == 0 {
        &mut []
    } else {
        // SAFETY: non-NULL (checked), writable for `scratch_len` bytes and not aliased during
        // the call (the caller's contract).
        unsafe { core::slice::from_raw_parts_mut(scratch, scratch_len) }
    };
    // SAFETY: forwarded; `result` checked non-NULL.
    unsafe {
        enter_wk(l, |s: &mut WkState| {
            let (listener, host) = s.parts();
            host.close = false;
            let out = listener.handle_webhook(now_ms, event, body, scratch, |e| {
                crate::wukong::deliver(host, e)
            });
            result.write(rtm_wk_webhook_result {
                status: out.status,
                error: out.error.map_or(RTM_WK_WEBHOOK_OK, error_code),
                delivered: out.delivered,
                duplicates: out.duplicates,
                filtered: out.filtered,
                gzip_to_uids: out.gzip_to_uids,
            });
            RTM_OK
        })
    }
}

/// Ids and events of a WuKongIM listen command (strings). A list pointer may be NULL when
/// its length is 0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtm_wk_ids {
    /// Groups.
    pub gids: *const rtm_str,
    /// Number of groups.
    pub gids_len: usize,
    /// Rooms.
    pub rids: *const rtm_str,
    /// Number of rooms.
    pub rids_len: usize,
    /// Users (P2P messages from or to them).
    pub uids: *const rtm_str,
    /// Number of users.
    pub uids_len: usize,
    /// "login", "logout".
    pub events: *const rtm_str,
    /// Number of events.
    pub events_len: usize,
}

/// A checked `rtm_str` (its pointer readable for its length).
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Checked(rtm_str);

impl AsRef<[u8]> for Checked {
    fn as_ref(&self) -> &[u8] {
        if self.0.len == 0 {
            return &[];
        }
        // SAFETY: made only by `checked`, which verified the pointer non-NULL; readable for
        // `len` bytes during the call that made it (the caller's contract).
        unsafe { core::slice::from_raw_parts(self.0.ptr, self.0.len) }
    }
}

/// Checks every string of `list` (NULL with a length is refused).
///
/// # Safety
/// `list` must hold `rtm_str`s whose pointers are readable for their lengths, or NULL.
unsafe fn checked(list: &[rtm_str]) -> Result<&[Checked], rtm_status> {
    if list.iter().any(|s| s.len > 0 && s.ptr.is_null()) {
        return Err(RTM_ERR_NULL);
    }
    // SAFETY: `Checked` is `#[repr(transparent)]` over `rtm_str`: the same layout.
    Ok(unsafe { core::slice::from_raw_parts(list.as_ptr().cast::<Checked>(), list.len()) })
}

fn listen_status(r: Result<(), WkListenError>) -> rtm_status {
    match r {
        Ok(()) => RTM_OK,
        Err(WkListenError::TooManyIds) => RTM_ERR_TOO_MANY_IDS,
        Err(WkListenError::UnsupportedEvent) => RTM_ERR_UNSUPPORTED_EVENT,
        Err(_) => RTM_ERR_INVALID_ARG,
    }
}

/// The three ways a listen command changes the set.
#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
    Set,
}

/// # Safety
/// As for the `rtm_wk_listen_*` functions.
unsafe fn listen(l: *mut rtm_wk_listener, ids: *const rtm_wk_ids, how: Change) -> rtm_status {
    // SAFETY: NULL or readable (caller).
    let Some(ids) = (unsafe { ids.as_ref() }) else {
        return RTM_ERR_NULL;
    };
    // SAFETY: the caller guarantees the lists and their strings.
    let lists = unsafe {
        (|| {
            Ok::<_, rtm_status>([
                checked(list(ids.gids, ids.gids_len)?)?,
                checked(list(ids.rids, ids.rids_len)?)?,
                checked(list(ids.uids, ids.uids_len)?)?,
                checked(list(ids.events, ids.events_len)?)?,
            ])
        })()
    };
    let [gids, rids, uids, events] = match lists {
        Ok(l) => l,
        Err(e) => return e,
    };
    let ids = WkIds {
        gids,
        rids,
        uids,
        events,
    };
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s: &mut WkState| {
            let (listener, _) = s.parts();
            listen_status(match how {
                Change::Add => listener.add_listen(ids),
                Change::Remove => listener.remove_listen(ids),
                Change::Set => listener.set_listen(ids),
            })
        })
    }
}

/// Adds ids and events to what the webhooks deliver (all or nothing: `RTM_ERR_TOO_MANY_IDS`,
/// `RTM_ERR_UNSUPPORTED_EVENT`). Subscribing the monitor uid to groups and rooms, so that
/// their messages also come on the socket, is the host's HTTP call (`rtm_wk_subscribers_body`).
///
/// Statuses (also of `rtm_wk_listen_remove` and `rtm_wk_listen_set`): `RTM_OK`;
/// `RTM_ERR_TOO_MANY_IDS`; `RTM_ERR_UNSUPPORTED_EVENT`; `RTM_ERR_INVALID_ARG` (a list not
/// aligned for `rtm_str`); `RTM_ERR_NULL` (NULL `l` or `ids`, or a NULL list or string with a
/// nonzero length); `RTM_ERR_STORAGE` (`l` misaligned); `RTM_ERR_BUSY` (called from one of this
/// listener's callbacks); `RTM_ERR_UNINIT` (`l` holds no listener).
///
/// # Safety
/// `l` NULL or an initialised listener; `ids` NULL or readable, its lists and strings too.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listen_add(
    l: *mut rtm_wk_listener,
    ids: *const rtm_wk_ids,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { listen(l, ids, Change::Add) }
}

/// Removes ids and events from what the webhooks deliver (all or nothing).
///
/// Statuses: as for `rtm_wk_listen_add`.
///
/// # Safety
/// As for `rtm_wk_listen_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listen_remove(
    l: *mut rtm_wk_listener,
    ids: *const rtm_wk_ids,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { listen(l, ids, Change::Remove) }
}

/// Replaces the ids and events the webhooks deliver (the "all" flags stay).
///
/// Statuses: as for `rtm_wk_listen_add`.
///
/// # Safety
/// As for `rtm_wk_listen_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listen_set(
    l: *mut rtm_wk_listener,
    ids: *const rtm_wk_ids,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe { listen(l, ids, Change::Set) }
}

/// Every P2P message, group message, room message, presence event of the webhooks.
///
/// Statuses: `RTM_OK`; `RTM_ERR_NULL` (NULL `l`); `RTM_ERR_STORAGE` (`l` misaligned);
/// `RTM_ERR_BUSY` (called from one of this listener's callbacks); `RTM_ERR_UNINIT` (`l` holds
/// no listener).
///
/// # Safety
/// `l` NULL or an initialised listener.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_listen_set_all(
    l: *mut rtm_wk_listener,
    p2p: bool,
    groups: bool,
    rooms: bool,
    events: bool,
) -> rtm_status {
    // SAFETY: forwarded.
    unsafe {
        enter_wk(l, |s: &mut WkState| {
            s.parts().0.set_listen_all(p2p, groups, rooms, events);
            RTM_OK
        })
    }
}

/// The body of `POST /channel/subscriber_add` or `/channel/subscriber_remove`
/// (`{"channel_id":…,"channel_type":…,"subscribers":[…]}`) into `out`; `*len` its length.
/// `RTM_ERR_BUFFER_TOO_SMALL` when it does not fit.
///
/// Statuses: `RTM_OK`; `RTM_ERR_BUFFER_TOO_SMALL`; `RTM_ERR_NULL` (NULL `out` or `len`, or a
/// NULL `channel_id.ptr`, `subscribers` or subscriber `ptr` with a nonzero length);
/// `RTM_ERR_INVALID_ARG` (`subscribers` not aligned for `rtm_str`).
///
/// # Safety
/// `out` writable for `cap` bytes; `channel_id.ptr` and the subscribers readable; `len`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_subscribers_body(
    out: *mut u8,
    cap: usize,
    channel_id: rtm_str,
    channel_type: u8,
    subscribers: *const rtm_str,
    subscribers_len: usize,
    len: *mut usize,
) -> rtm_status {
    if out.is_null() || len.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: the caller guarantees the lengths.
    let parts = unsafe {
        (|| {
            Ok::<_, rtm_status>((
                list(channel_id.ptr, channel_id.len)?,
                checked(list(subscribers, subscribers_len)?)?,
            ))
        })()
    };
    let (channel, subs) = match parts {
        Ok(p) => p,
        Err(e) => return e,
    };
    // SAFETY: non-NULL, writable for `cap` bytes (caller).
    let buf = unsafe { core::slice::from_raw_parts_mut(out, cap) };
    match subscribers_body(buf, channel, channel_type, subs) {
        Ok(n) => {
            // SAFETY: checked non-NULL; writable (caller).
            unsafe { len.write(n) };
            RTM_OK
        }
        Err(_) => RTM_ERR_BUFFER_TOO_SMALL,
    }
}

/// The body of `POST /user/token` (`{"uid":…,"token":…,"device_flag":…,"device_level":…}`)
/// into `out`; `*len` its length. `RTM_ERR_BUFFER_TOO_SMALL` when it does not fit.
///
/// Statuses: `RTM_OK`; `RTM_ERR_BUFFER_TOO_SMALL`; `RTM_ERR_NULL` (NULL `out` or `len`, or a
/// NULL `uid.ptr` or `token.ptr` with a nonzero length).
///
/// # Safety
/// `out` writable for `cap` bytes; the strings readable; `len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_wk_user_token_body(
    out: *mut u8,
    cap: usize,
    uid: rtm_str,
    token: rtm_str,
    device_flag: u8,
    device_level: u8,
    len: *mut usize,
) -> rtm_status {
    if out.is_null() || len.is_null() {
        return RTM_ERR_NULL;
    }
    // SAFETY: the caller guarantees the lengths.
    let (uid, token) = match unsafe { (list(uid.ptr, uid.len), list(token.ptr, token.len)) } {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    // SAFETY: non-NULL, writable for `cap` bytes (caller).
    let buf = unsafe { core::slice::from_raw_parts_mut(out, cap) };
    match user_token_body(buf, uid, token, device_flag, device_level) {
        Ok(n) => {
            // SAFETY: checked non-NULL; writable (caller).
            unsafe { len.write(n) };
            RTM_OK
        }
        Err(_) => RTM_ERR_BUFFER_TOO_SMALL,
    }
}
