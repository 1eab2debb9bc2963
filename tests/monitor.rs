//! Every push kind reaches the right `Monitor` method.

mod support;

use rmpv::Value;
use rtm_listen::monitor::{Monitor, dispatch};
use rtm_listen::rtm::field::MessageError;
use rtm_listen::session::{MessageEvent, RequestId};
use support::*;

#[derive(Default)]
struct Record(Vec<String>);

macro_rules! rec {
    ($($name:ident),*) => {$(
        fn $name(&mut self, m: &MessageEvent<'_>) {
            self.0.push(format!("{} {} {}", stringify!($name), m.message.to, m.message.mtype));
        }
    )*};
}

impl Monitor for Record {
    rec!(
        push_p2p_message,
        push_group_message,
        push_room_message,
        push_p2p_file,
        push_group_file,
        push_room_file,
        push_p2p_chat,
        push_p2p_audio,
        push_p2p_cmd,
        push_group_chat,
        push_group_audio,
        push_group_cmd,
        push_room_chat,
        push_room_audio,
        push_room_cmd,
        push_broadcast
    );
    fn connected(&mut self, endpoint: &str, connected: bool, is_reconnect: bool) {
        self.0
            .push(format!("connected {endpoint} {connected} {is_reconnect}"));
    }
    fn closed(&mut self, endpoint: &str, by_error: bool, is_reconnect: bool) {
        self.0
            .push(format!("closed {endpoint} {by_error} {is_reconnect}"));
    }
    fn push_event(
        &mut self,
        pid: i64,
        event: &[u8],
        uid: i64,
        time: i64,
        endpoint: &[u8],
        data: &[u8],
    ) {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        self.0.push(format!(
            "push_event {pid} {} {uid} {time} {} {:?}",
            s(event),
            s(endpoint),
            s(data)
        ));
    }
    fn ping(&mut self) {
        self.0.push("ping".into());
    }
    fn kickout(&mut self) {
        self.0.push("kickout".into());
    }
    fn kickout_room(&mut self, rid: i64) {
        self.0.push(format!("kickout_room {rid}"));
    }
    fn command_done(&mut self, request: RequestId, code: i64, _ex: &[u8]) {
        self.0.push(format!("command_done {} {code}", request.0));
    }
    fn bad_push(&mut self, method: &[u8], error: MessageError, _: Option<u32>, _: usize) {
        self.0.push(format!(
            "bad_push {} {error:?}",
            String::from_utf8_lossy(method)
        ));
    }
}

#[test]
fn every_kind_reaches_its_method() {
    let mut l = listener();
    l.connected(0);
    let mut input = Vec::new();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        Some(seq)
    };
    for (i, mtype) in [1i64, 30, 31, 32, 40, 50].into_iter().enumerate() {
        let mid = i as i64;
        input.extend(pushmsg(next(), 9, 100, mid, mtype, "x"));
        input.extend(pushgroupmsg(next(), 9, 200, mid, mtype, "x"));
        input.extend(pushroommsg(next(), 9, 300, mid, mtype, "x"));
    }
    input.extend(quest(
        next(),
        "pushbroadcastmsg",
        &msg_payload("", 9, 0, 77, 30, "all"),
    ));
    input.extend(pushevent(next(), "logout", 5));
    input.extend(ping(next()));
    input.extend(quest(None, "kickout", &Value::Map(vec![])));
    input.extend(quest(
        None,
        "kickoutroom",
        &map(&[("rid", Value::from(300))]),
    ));
    input.extend(quest(next(), "nope", &Value::Map(vec![])));
    let mut rec = Record::default();
    let mut rest = &input[..];
    while !rest.is_empty() {
        let n = l.handle_input(1, rest, |e| dispatch(&mut rec, "gate:1", &e));
        rest = &rest[n..];
        l.poll_events(|e| dispatch(&mut rec, "gate:1", &e));
        let t = l.transmit().len();
        l.consume_transmit(t);
    }
    let want = [
        "connected gate:1 true false",
        "push_p2p_message 100 1",
        "push_group_message 200 1",
        "push_room_message 300 1",
        "push_p2p_chat 100 30",
        "push_group_chat 200 30",
        "push_room_chat 300 30",
        "push_p2p_audio 100 31",
        "push_group_audio 200 31",
        "push_room_audio 300 31",
        "push_p2p_cmd 100 32",
        "push_group_cmd 200 32",
        "push_room_cmd 300 32",
        "push_p2p_file 100 40",
        "push_group_file 200 40",
        "push_room_file 300 40",
        "push_p2p_file 100 50",
        "push_group_file 200 50",
        "push_room_file 300 50",
        "push_broadcast 0 30",
        "push_event 1000001 logout 5 1700000000 192.0.2.1:12345 \"\"",
        "ping",
        "kickout",
        "kickout_room 300",
        "bad_push nope UnknownMethod",
    ];
    assert_eq!(rec.0, want);
}
