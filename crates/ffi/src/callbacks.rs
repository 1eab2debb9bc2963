//! Delivers the listener's events to the C monitor.

use core::ffi::c_void;

use engine::rtm::dispatch::Callback;
use engine::session::{CloseReason, Event, MessageEvent};

use crate::handle::State;
use crate::info::{Info, Lazy, may_carry_info};
use crate::reason;
use crate::types::*;

fn message_fn(m: &rtm_monitor, callback: Callback) -> rtm_message_fn {
    use Callback::*;
    match callback {
        PushP2PMessage => m.push_p2p_message,
        PushP2PFile => m.push_p2p_file,
        PushP2PChat => m.push_p2p_chat,
        PushP2PAudio => m.push_p2p_audio,
        PushP2PCmd => m.push_p2p_cmd,
        PushGroupMessage => m.push_group_message,
        PushGroupFile => m.push_group_file,
        PushGroupChat => m.push_group_chat,
        PushGroupAudio => m.push_group_audio,
        PushGroupCmd => m.push_group_cmd,
        PushRoomMessage => m.push_room_message,
        PushRoomFile => m.push_room_file,
        PushRoomChat => m.push_room_chat,
        PushRoomAudio => m.push_room_audio,
        PushRoomCmd => m.push_room_cmd,
        PushBroadcastMessage | PushBroadcastFile | PushBroadcastChat | PushBroadcastAudio
        | PushBroadcastCmd => m.push_broadcast,
        PushEvent | Ping | Kickout | KickoutRoom => None,
    }
}

/// Calls the message callback with the C view. Its JSON info is parsed first (as large as RX,
/// the scratch has room for every frame's info), or, with `lazy`, when the callback asks.
fn deliver_message(monitor: &rtm_monitor, scratch: &mut [u8], lazy: bool, m: &MessageEvent<'_>) {
    let Some(f) = message_fn(monitor, m.callback) else {
        return;
    };
    let msg = &m.message;
    let lazy = lazy && may_carry_info(m.category);
    let mut later = Lazy::new(m.category, msg.msg, msg.attrs, scratch);
    let info = if lazy {
        Info::Status(RTM_INFO_LAZY)
    } else {
        later.parse()
    };
    let view = rtm_message {
        from_uid: msg.from,
        to_id: msg.to,
        message_type: msg.mtype,
        message_id: msg.mid,
        message: rtm_str::from(msg.msg),
        attrs: rtm_str::from(msg.attrs),
        modified_time: msg.mtime,
        translated_info: info.translated_ptr(),
        file_info: info.file_ptr(),
        info_status: info.status(),
        lazy: if lazy {
            core::ptr::from_mut(&mut later).cast::<c_void>()
        } else {
            core::ptr::null_mut()
        },
    };
    // SAFETY: the host registered `f` with this signature; `view`, `info`, `later` and
    // everything they point to live until the call returns.
    unsafe { f(monitor.user, &view) };
}

fn disconnected(monitor: &rtm_monitor, endpoint: &[u8], reason: CloseReason, retry_in_ms: u64) {
    if let Some(f) = monitor.disconnected {
        let reason = reason::to_c(reason);
        // SAFETY: registered with this signature; the arguments outlive the call.
        unsafe { f(monitor.user, rtm_str::from(endpoint), &reason, retry_in_ms) };
    }
}

/// Hands events to the C monitor, remembering a close request.
pub(crate) struct Deliver<'s> {
    monitor: &'s rtm_monitor,
    scratch: &'s mut crate::handle::RawBuf,
    lazy_info: bool,
    endpoint: &'s [u8],
    close_reason: &'s mut Option<CloseReason>,
    close: bool,
}

/// Runs `f` on the listener with a [`Deliver`] for its events; returns what `f` returned and
/// whether the listener asked to close.
pub(crate) fn with_listener<R>(
    state: &mut State,
    f: impl FnOnce(&mut crate::handle::Engine, &mut Deliver<'_>) -> R,
) -> (R, bool) {
    let State {
        listener,
        monitor,
        scratch,
        lazy_info,
        endpoint,
        endpoint_len,
        close_reason,
    } = state;
    // Borrowed, not copied (a table of function pointers): the busy flag keeps callbacks from
    // re-initialising the listener, so it cannot change during the drain.
    let mut deliver = Deliver {
        monitor,
        scratch,
        lazy_info: *lazy_info,
        endpoint: &endpoint[..*endpoint_len],
        close_reason,
        close: false,
    };
    let r = f(listener, &mut deliver);
    (r, deliver.close || listener.wants_close())
}

/// Delivers every pending event; returns whether the listener asked to close.
pub(crate) fn drain(state: &mut State) -> bool {
    with_listener(state, |l, d| l.poll_events(|e| d.event(e))).1
}

impl Deliver<'_> {
    /// Calls the monitor's function for one event.
    pub(crate) fn event(&mut self, event: Event<'_>) {
        let Deliver {
            monitor,
            scratch,
            lazy_info,
            endpoint,
            close_reason,
            close,
        } = self;
        let monitor: &rtm_monitor = monitor;
        let endpoint: &[u8] = endpoint;
        let user = monitor.user;
        match event {
            Event::Connected { is_reconnect } => {
                if let Some(f) = monitor.connected {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(endpoint), true, is_reconnect) };
                }
            }
            Event::ConnectFailed {
                is_reconnect,
                reason,
                retry_in_ms,
            } => {
                if let Some(f) = monitor.connected {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(endpoint), false, is_reconnect) };
                }
                disconnected(monitor, endpoint, reason, retry_in_ms);
            }
            Event::Closed {
                by_error,
                is_reconnect,
                reason,
                retry_in_ms,
            } => {
                if let Some(f) = monitor.closed {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(endpoint), by_error, is_reconnect) };
                }
                disconnected(monitor, endpoint, reason, retry_in_ms);
            }
            Event::Message(m) => deliver_message(monitor, scratch.as_mut(), *lazy_info, &m),
            Event::PushEvent(e) => {
                if let Some(f) = monitor.push_event {
                    let data = rtm_str::from(e.data.unwrap_or(&[]));
                    let (ev, ep) = (rtm_str::from(e.event), rtm_str::from(e.endpoint));
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, e.pid, ev, e.uid, e.time, ep, data) };
                }
            }
            Event::Ping => {
                if let Some(f) = monitor.ping {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user) };
                }
            }
            Event::Kickout => {
                if let Some(f) = monitor.kickout {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user) };
                }
            }
            Event::KickoutRoom { rid } => {
                if let Some(f) = monitor.kickout_room {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rid) };
                }
            }
            Event::Completed(c) => {
                if let Some(f) = monitor.completed {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, c.request.0, c.code, rtm_str::from(c.ex)) };
                }
            }
            Event::Restored { code } => {
                if let Some(f) = monitor.restored {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, code) };
                }
            }
            Event::BadPush {
                method,
                error,
                seq,
                len,
            } => {
                if let Some(f) = monitor.bad_push {
                    let (method, code) = (rtm_str::from(method), error.fpnn_code());
                    let (twoway, seq) = (seq.is_some(), seq.unwrap_or(0));
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, method, code, twoway, seq, len) };
                }
            }
            Event::CloseRequested(reason) => {
                **close_reason = Some(reason);
                *close = true;
            }
        }
    }
}
