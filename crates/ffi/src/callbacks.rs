//! Delivers the listener's events to the C monitor.

use core::ffi::c_void;

use engine::rtm::dispatch::{Callback, Category};
use engine::session::{CloseReason, Event, MessageEvent};

use crate::handle::{Host, State};
use crate::info::{INFO_EAGER, INFO_EAGER_TEXT, INFO_LAZY, info_mode, plain_chat};
use crate::reason;
use crate::types::*;

/// Every callback, in declaration order.
const ALL: [Callback; Callback::ALL.len()] = Callback::ALL;

/// The message callbacks of `m`, indexed by `Callback as usize` (built once, at init: a
/// message's callback is then one indexed load, not a `match` per push).
pub(crate) type MessageTable = [rtm_message_fn; ALL.len()];

/// The message table of a monitor.
pub(crate) fn message_table(m: &rtm_monitor) -> MessageTable {
    ALL.map(|c| message_fn(m, c))
}

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

/// Calls the message callback with the C view, built once, in place. With `lazy_info` the
/// view's `lazy` points to the armed [`InfoSlot`] and the callback asks for the info; by
/// default the info is parsed first, out of line ([`deliver_parsed`]), so that this path stays
/// small enough to be inlined into the listener's inbound path.
#[inline(always)]
fn deliver_message(host: &mut Host, m: &MessageEvent<'_>) {
    let Some(f) = host.messages.get(m.callback as usize).copied().flatten() else {
        return;
    };
    let msg = &m.message;
    let category = m.category;
    // What becomes of the info: asked for by the callback (lazy), parsed first (eager, unless
    // a chat is plain text), or none (not a chat or file message). One load.
    let mode = info_mode(&host.info_modes, category);
    let parse = mode >= INFO_EAGER && !(mode == INFO_EAGER_TEXT && plain_chat(msg.msg));
    let (info_status, slot) = if mode == INFO_LAZY {
        host.info.arm(category);
        let slot = core::ptr::from_mut(&mut host.info).cast::<c_void>();
        (RTM_INFO_LAZY, slot)
    } else {
        (RTM_INFO_NONE, core::ptr::null_mut())
    };
    let mut view = rtm_message {
        from_uid: msg.from,
        to_id: msg.to,
        message_type: msg.mtype,
        message_id: msg.mid,
        message: rtm_str::from(msg.msg),
        attrs: rtm_str::from(msg.attrs),
        modified_time: msg.mtime,
        translated_info: core::ptr::null(),
        file_info: core::ptr::null(),
        info_status,
        lazy: slot,
        wukong: core::ptr::null(),
    };
    if parse {
        deliver_parsed(host, category, f, &mut view);
        return;
    }
    // SAFETY: the host registered `f` with this signature; `view`, the slot and everything
    // they point to live until the call returns, and nothing else touches the slot meanwhile.
    unsafe { f(host.monitor.user, &view) };
}

/// The eager default: parses the info of a chat or file message (the view's `message` and
/// `attrs`) into the scratch, completes the view with it, and calls the callback. Only the
/// category and the view cross the call, so the event itself stays in registers.
#[inline(never)]
fn deliver_parsed(
    host: &mut Host,
    category: Category,
    f: unsafe extern "C" fn(*mut c_void, *const rtm_message),
    view: &mut rtm_message,
) {
    // SAFETY: the view's strings were made from the message's slices just now
    // (`rtm_str::from`: the slice's own pointer, or a static empty string), valid while the
    // event is delivered.
    let (msg, attrs) = unsafe {
        (
            core::slice::from_raw_parts(view.message.ptr, view.message.len),
            core::slice::from_raw_parts(view.attrs.ptr, view.attrs.len),
        )
    };
    let info = host.info.parse(category, msg, attrs);
    view.translated_info = info.translated_ptr();
    view.file_info = info.file_ptr();
    view.info_status = info.status();
    // SAFETY: the host registered `f` with this signature; `view`, `info` and everything they
    // point to live until the call returns.
    unsafe { f(host.monitor.user, view) };
}

fn disconnected(monitor: &rtm_monitor, endpoint: &[u8], reason: CloseReason, retry_in_ms: u64) {
    if let Some(f) = monitor.disconnected {
        let reason = reason::to_c(reason);
        // SAFETY: registered with this signature; the arguments outlive the call.
        unsafe { f(monitor.user, rtm_str::from(endpoint), &reason, retry_in_ms) };
    }
}

/// Delivers every pending event; returns whether the listener asked to close.
pub(crate) fn drain(state: &mut State) -> bool {
    let State { listener, host } = state;
    host.close = false;
    listener.poll_events(
        #[inline(always)]
        |e| host.event(e),
    );
    host.close || listener.wants_close()
}

impl Host {
    /// Calls the monitor's function for one event: a message inline (the hot path), anything
    /// else out of line.
    #[inline(always)]
    pub(crate) fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Message(m) => deliver_message(self, &m),
            other => self.other_event(other),
        }
    }

    /// Every event but a message.
    #[inline(never)]
    #[cold]
    pub(crate) fn other_event(&mut self, event: Event<'_>) {
        let monitor = &self.monitor;
        let endpoint = self.endpoint.get(..self.endpoint_len).unwrap_or(&[]);
        let user = monitor.user;
        match event {
            Event::Message(m) => deliver_message(self, &m),
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
                self.close_reason = Some(reason);
                self.close = true;
            }
        }
    }
}
