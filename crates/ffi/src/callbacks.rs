//! Delivers the listener's events to the C monitor.

use engine::rtm::dispatch::{Callback, Category};
use engine::rtm::info::{parse_file_info, parse_translated};
use engine::session::{CloseReason, Event, MessageEvent};
use engine::wire::json::{JsonError, Scratch};

use crate::handle::State;
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

/// The info status of a JSON error. For a chat, text that is not translation JSON (plain
/// text: refused at its first non-blank byte; or JSON without the keys) is no info at all.
fn info_error(msg: &[u8], chat: bool, e: JsonError) -> rtm_info_status {
    match e {
        JsonError::NotObject if chat => RTM_INFO_NONE,
        JsonError::Syntax(at)
            if chat
                && msg[..at.min(msg.len())]
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) =>
        {
            RTM_INFO_NONE
        }
        JsonError::Syntax(_) => RTM_INFO_SYNTAX,
        JsonError::NotObject => RTM_INFO_NOT_OBJECT,
        JsonError::DepthExceeded => RTM_INFO_TOO_DEEP,
        JsonError::ScratchFull => RTM_INFO_SCRATCH_FULL,
        _ => RTM_INFO_SYNTAX,
    }
}

fn deliver_message(monitor: &rtm_monitor, scratch: &mut [u8], m: &MessageEvent<'_>) {
    let Some(f) = message_fn(monitor, m.callback) else {
        return;
    };
    let msg = &m.message;
    // The JSON is parsed here, for the callbacks that carry it, with scratch as large as RX:
    // unescaping never lengthens a string, so every frame that fits RX has room for its info.
    let mut scratch = Scratch::new(scratch);
    let (status, translated, file) = match m.category {
        Category::Chat => match parse_translated(msg.msg, &mut scratch) {
            Ok(t) => (RTM_INFO_OK, Some(t), None),
            Err(e) => (info_error(msg.msg, true, e), None, None),
        },
        Category::File => match parse_file_info(msg.msg, msg.attrs, &mut scratch) {
            Ok(f) => (RTM_INFO_OK, None, Some(f)),
            Err(e) => (info_error(msg.msg, false, e), None, None),
        },
        _ => (RTM_INFO_NONE, None, None),
    };
    let translated = translated.map(|t| rtm_translated_info {
        source_language: rtm_str::from(t.source_language),
        target_language: rtm_str::from(t.target_language),
        source_text: rtm_str::from(t.source_text),
        target_text: rtm_str::from(t.target_text),
    });
    let file = file.map(|f| rtm_file_info {
        url: rtm_str::from(f.url),
        size: f.size,
        surl: rtm_str::from(f.surl),
        is_rtm_audio: f.is_rtm_audio,
        language: rtm_str::from(f.language),
        duration: f.duration,
        has_custom: f.custom.is_some(),
        custom: rtm_str::from(f.custom.unwrap_or(&[])),
    });
    let view = rtm_message {
        from_uid: msg.from,
        to_id: msg.to,
        message_type: msg.mtype,
        message_id: msg.mid,
        message: rtm_str::from(msg.msg),
        attrs: rtm_str::from(msg.attrs),
        modified_time: msg.mtime,
        translated_info: translated
            .as_ref()
            .map_or(core::ptr::null(), core::ptr::from_ref),
        file_info: file.as_ref().map_or(core::ptr::null(), core::ptr::from_ref),
        info_status: status,
    };
    // SAFETY: the host registered `f` with this signature; `view` and everything it points to
    // live until the call returns.
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
        endpoint,
        endpoint_len,
        close_reason,
    } = state;
    // Borrowed, not copied (a table of function pointers): the busy flag keeps callbacks from
    // re-initialising the listener, so it cannot change during the drain.
    let mut deliver = Deliver {
        monitor,
        scratch,
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
            Event::Message(m) => deliver_message(monitor, scratch.as_mut(), &m),
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
