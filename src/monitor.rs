//! The Rust monitor: one method per virtual of the official C++ `RTMServerPushMonitor`, each a
//! no-op by default, plus methods for the client-protocol pushes and command completions.
//!
//! [`dispatch`] turns a [`session::Event`](crate::session::Event) into the matching call. The
//! drivers use it; a host driving the listener itself can too.

use crate::rtm::dispatch::Callback;
use crate::rtm::field::MessageError;
use crate::session::{CloseReason, Event, MessageEvent, RequestId};

/// Receives pushes and connection events. Every method does nothing by default.
///
/// A message callback receives a [`MessageEvent`]: the fields of the official `RTMMessage`
/// (`message.from`, `message.to`, `message.mtype`, `message.mid`, `message.msg`,
/// `message.attrs`, `message.mtime`). The official `translatedInfo` and `fileInfo` are parsed
/// on demand: `message.message.translated(&mut scratch)` in chat callbacks and
/// `message.file_info(&mut scratch)` in file callbacks (RTM and WuKongIM alike). WuKongIM
/// messages carry their own fields in `message.wukong` (feature `wukong`). All borrowed data
/// is valid only during the call.
#[allow(unused_variables)]
pub trait Monitor {
    /// `connected(endpoint, connected, isReconnect)`: a connection attempt to `endpoint`
    /// finished (a failed one is followed by [`Monitor::disconnected`] with its reason).
    fn connected(&mut self, endpoint: &str, connected: bool, is_reconnect: bool) {}
    /// `closed(endpoint, causedByError, isReconnect)` (followed by
    /// [`Monitor::disconnected`] with the reason).
    fn closed(&mut self, endpoint: &str, caused_by_error: bool, is_reconnect: bool) {}
    /// Why the last attempt to `endpoint` failed or its connection closed, and when the next
    /// attempt is advised (ms from now). Not in the official SDK, which says neither.
    fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {}
    /// `pushP2PMessage`.
    fn push_p2p_message(&mut self, message: &MessageEvent<'_>) {}
    /// `pushGroupMessage`.
    fn push_group_message(&mut self, message: &MessageEvent<'_>) {}
    /// `pushRoomMessage`.
    fn push_room_message(&mut self, message: &MessageEvent<'_>) {}
    /// `pushP2PFile`.
    fn push_p2p_file(&mut self, message: &MessageEvent<'_>) {}
    /// `pushGroupFile`.
    fn push_group_file(&mut self, message: &MessageEvent<'_>) {}
    /// `pushRoomFile`.
    fn push_room_file(&mut self, message: &MessageEvent<'_>) {}
    /// `pushP2PChat`.
    fn push_p2p_chat(&mut self, message: &MessageEvent<'_>) {}
    /// `pushP2PAudio` (declared but never called by the C++ SDK; called here).
    fn push_p2p_audio(&mut self, message: &MessageEvent<'_>) {}
    /// `pushP2PCmd`.
    fn push_p2p_cmd(&mut self, message: &MessageEvent<'_>) {}
    /// `pushGroupChat`.
    fn push_group_chat(&mut self, message: &MessageEvent<'_>) {}
    /// `pushGroupAudio`.
    fn push_group_audio(&mut self, message: &MessageEvent<'_>) {}
    /// `pushGroupCmd`.
    fn push_group_cmd(&mut self, message: &MessageEvent<'_>) {}
    /// `pushRoomChat`.
    fn push_room_chat(&mut self, message: &MessageEvent<'_>) {}
    /// `pushRoomAudio`.
    fn push_room_audio(&mut self, message: &MessageEvent<'_>) {}
    /// `pushRoomCmd`.
    fn push_room_cmd(&mut self, message: &MessageEvent<'_>) {}
    /// `pushEvent(pid, event, uid, time, endpoint, data)`; `data` is empty when absent.
    fn push_event(
        &mut self,
        pid: i64,
        event: &[u8],
        uid: i64,
        time: i64,
        endpoint: &[u8],
        data: &[u8],
    ) {
    }
    /// `ping()`: the RTM server's keepalive.
    fn ping(&mut self) {}

    /// Client protocol: a broadcast message of any category (`message.target` is `Broadcast`,
    /// the category is in `message.category`).
    fn push_broadcast(&mut self, message: &MessageEvent<'_>) {}
    /// Client protocol: `kickout`.
    fn kickout(&mut self) {}
    /// Client protocol: `kickoutroom`.
    fn kickout_room(&mut self, rid: i64) {}
    /// A listen command completed: `code` 0 when confirmed, a local code when its intent is
    /// kept for the next connection, else the server's refusal (see
    /// [`Completion`](crate::session::Completion)).
    fn command_done(&mut self, request: RequestId, code: i64, ex: &[u8]) {}
    /// Establishing the desired listen state on a new connection ended: `code` 0 when the
    /// server's state equals it, else why not ([`code::is_auth_failure`](crate::session::code::is_auth_failure)
    /// tells refused credentials).
    fn restored(&mut self, code: i64) {}
    /// A push could not be decoded, had an unknown method, or was larger than the receive
    /// buffer (skipped); a twoway one was answered with an error. `len` is the frame's length.
    fn bad_push(&mut self, method: &[u8], error: MessageError, seq: Option<u32>, len: usize) {}
}

/// Calls the monitor method for `event`. `endpoint` (the one connected or tried) is passed to
/// `connected`, `closed` and `disconnected`.
/// [`Event::CloseRequested`] has no monitor method: the driver acts on it.
pub fn dispatch<M: Monitor + ?Sized>(monitor: &mut M, endpoint: &str, event: &Event<'_>) {
    match event {
        Event::Connected { is_reconnect } => monitor.connected(endpoint, true, *is_reconnect),
        Event::ConnectFailed {
            is_reconnect,
            reason,
            retry_in_ms,
        } => {
            monitor.connected(endpoint, false, *is_reconnect);
            monitor.disconnected(endpoint, *reason, *retry_in_ms);
        }
        Event::Closed {
            by_error,
            is_reconnect,
            reason,
            retry_in_ms,
        } => {
            monitor.closed(endpoint, *by_error, *is_reconnect);
            monitor.disconnected(endpoint, *reason, *retry_in_ms);
        }
        Event::Message(m) => dispatch_message(monitor, m),
        Event::PushEvent(e) => monitor.push_event(
            e.pid,
            e.event,
            e.uid,
            e.time,
            e.endpoint,
            e.data.unwrap_or(&[]),
        ),
        Event::Ping => monitor.ping(),
        Event::Kickout => monitor.kickout(),
        Event::KickoutRoom { rid } => monitor.kickout_room(*rid),
        Event::Completed(c) => monitor.command_done(c.request, c.code, c.ex),
        Event::Restored { code } => monitor.restored(*code),
        Event::BadPush {
            method,
            error,
            seq,
            len,
        } => monitor.bad_push(method, *error, *seq, *len),
        Event::CloseRequested(_) => {}
    }
}

fn dispatch_message<M: Monitor + ?Sized>(monitor: &mut M, m: &MessageEvent<'_>) {
    use Callback::*;
    match m.callback {
        PushP2PMessage => monitor.push_p2p_message(m),
        PushP2PFile => monitor.push_p2p_file(m),
        PushP2PChat => monitor.push_p2p_chat(m),
        PushP2PAudio => monitor.push_p2p_audio(m),
        PushP2PCmd => monitor.push_p2p_cmd(m),
        PushGroupMessage => monitor.push_group_message(m),
        PushGroupFile => monitor.push_group_file(m),
        PushGroupChat => monitor.push_group_chat(m),
        PushGroupAudio => monitor.push_group_audio(m),
        PushGroupCmd => monitor.push_group_cmd(m),
        PushRoomMessage => monitor.push_room_message(m),
        PushRoomFile => monitor.push_room_file(m),
        PushRoomChat => monitor.push_room_chat(m),
        PushRoomAudio => monitor.push_room_audio(m),
        PushRoomCmd => monitor.push_room_cmd(m),
        PushBroadcastMessage | PushBroadcastFile | PushBroadcastChat | PushBroadcastAudio
        | PushBroadcastCmd => monitor.push_broadcast(m),
        // Not message callbacks; `m.callback` is always one of the above.
        PushEvent | Ping | Kickout | KickoutRoom => {}
    }
}
