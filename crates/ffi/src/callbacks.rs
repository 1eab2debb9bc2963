//! Delivers the listener's events to the C monitor.

use engine::rtm::dispatch::{Callback, Category};
use engine::session::{Event, MessageEvent};

use crate::handle::State;
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

fn deliver_message(monitor: &rtm_monitor, m: &MessageEvent<'_>) {
    let Some(f) = message_fn(monitor, m.callback) else {
        return;
    };
    // The JSON is parsed here, for the callbacks that carry it, with scratch on the stack.
    let mut scratch = [0u8; engine::config::JSON_SCRATCH];
    let (translated, file) = match m.category {
        Category::Chat => (m.message.translated(&mut scratch), None),
        Category::File => (None, m.message.file_info(&mut scratch)),
        _ => (None, None),
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
    let msg = &m.message;
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
    };
    // SAFETY: the host registered `f` with this signature; `view` and everything it points to
    // live until the call returns.
    unsafe { f(monitor.user, &view) };
}

/// Delivers every pending event; returns whether the listener asked to close.
pub(crate) fn drain(state: &mut State) -> bool {
    let monitor = state.monitor;
    let endpoint = &state.endpoint[..state.endpoint_len];
    let mut close = false;
    while let Some(event) = state.listener.poll_event() {
        let user = monitor.user;
        match event {
            Event::Connected { is_reconnect } => {
                if let Some(f) = monitor.connected {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(endpoint), true, is_reconnect) };
                }
            }
            Event::ConnectFailed { is_reconnect } => {
                if let Some(f) = monitor.connected {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(b""), false, is_reconnect) };
                }
            }
            Event::Closed {
                by_error,
                is_reconnect,
            } => {
                if let Some(f) = monitor.closed {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(endpoint), by_error, is_reconnect) };
                }
            }
            Event::Message(m) => deliver_message(&monitor, &m),
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
            Event::BadPush { method, error } => {
                if let Some(f) = monitor.bad_push {
                    // SAFETY: registered with this signature; the arguments outlive the call.
                    unsafe { f(user, rtm_str::from(method), error.fpnn_code()) };
                }
            }
            Event::CloseRequested(_) => close = true,
        }
    }
    close || state.listener.wants_close()
}
