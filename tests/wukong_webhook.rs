//! WuKongIM webhook ingest (issue 14): fixtures in the JSON the Go server writes (v2.2.5 key
//! order, `\u003c` escapes, ids above 2^53, `to_uids` empty, `null` and gzip-compressed, uids
//! with `-`, the system's empty `from_uid`, person-channel ids), each with the callbacks it
//! must give; the listen-set filter; duplicates across the socket and the webhooks, with
//! retries, as a property; every bad input with its own error and status.

use proptest::prelude::*;
use rtm_listen::rtm::dispatch::Callback;
use rtm_listen::session::Event;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkIds, WkListener};
use rtm_listen::wire::json::JsonError;
use rtm_listen::wire::wukong::webhook::WebhookError;
use wukong_sim::{Msg, encode_recv};

type L = WkListener<4096, 1024>;

fn listener() -> L {
    let creds = WkCredentials {
        uid: "monitor",
        token: "t",
        device_id: "d",
    };
    let mut l = L::sized(WkConfig::DEFAULT, creds, &[1; 32]).unwrap();
    l.set_unix_time(0, 1_729_756_900_000);
    l
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One `msg.notify` item as Go's v2.2.5 encoder writes it.
fn item(mid: u64, from: &str, channel: &str, ctype: u8, payload: &[u8]) -> String {
    format!(
        r#"{{"header":{{"no_persist":0,"red_dot":1,"sync_once":0}},"setting":0,"message_id":{mid},"message_idstr":"{mid}","client_msg_no":"cmn-{mid}","message_seq":3,"from_uid":"{from}","channel_id":"{channel}","channel_type":{ctype},"expire":0,"timestamp":1729756800,"payload":"{}"}}"#,
        b64(payload)
    )
}

/// An event, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Msg {
        callback: Callback,
        mid: i64,
        from: i64,
        to: i64,
        from_uid: String,
        channel_id: String,
        cmn: String,
        msg: Vec<u8>,
        mtime: i64,
    },
    Presence {
        event: String,
        uid: i64,
        time: i64,
        endpoint: String,
        data: String,
    },
}

fn own(e: Event<'_>) -> Ev {
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match e {
        Event::Message(m) => {
            let w = m.wukong.expect("fields");
            Ev::Msg {
                callback: m.callback,
                mid: m.message.mid,
                from: m.message.from,
                to: m.message.to,
                from_uid: s(w.recv.from_uid),
                channel_id: s(w.recv.channel_id),
                cmn: s(w.recv.client_msg_no),
                msg: m.message.msg.to_vec(),
                mtime: m.message.mtime,
            }
        }
        Event::PushEvent(p) => Ev::Presence {
            event: s(p.event),
            uid: p.uid,
            time: p.time,
            endpoint: s(p.endpoint),
            data: s(p.data.unwrap_or(b"")),
        },
        other => panic!("unexpected {other:?}"),
    }
}

fn post(
    l: &mut L,
    event: &str,
    body: &str,
) -> (Vec<Ev>, rtm_listen::session::wukong::WebhookOutcome) {
    let mut scratch = [0u8; 1024];
    let mut evs = Vec::new();
    let out = l.handle_webhook(1, event.as_bytes(), body.as_bytes(), &mut scratch, |e| {
        evs.push(own(e))
    });
    (evs, out)
}

const NONE: [&str; 0] = [];

/// The reference's `msg.notify` example, byte for byte: a group text and a P2P file.
const REFERENCE_NOTIFY: &str = r#"[{"header":{"no_persist":0,"red_dot":1,"sync_once":0},"setting":0,"message_id":1848213190224834560,"message_idstr":"1848213190224834560","client_msg_no":"a1b2c3d4","message_seq":12,"from_uid":"alice","channel_id":"g1","channel_type":2,"expire":0,"timestamp":1729756800,"payload":"eyJ0eXBlIjoxLCJjb250ZW50IjoiaGkgYWxsIn0="},
 {"header":{"no_persist":0,"red_dot":1,"sync_once":0},"setting":0,"message_id":1848213190224834561,"message_idstr":"1848213190224834561","client_msg_no":"e5f6","message_seq":3,"from_uid":"alice","channel_id":"bob","channel_type":1,"expire":0,"timestamp":1729756801,"payload":"eyJ0eXBlIjo4LCJ1cmwiOiJodHRwczovL2YuZXhhbXBsZS9hLnBkZiIsIm5hbWUiOiJhLnBkZiIsInNpemUiOjEwMjR9"}]"#;

#[test]
fn the_reference_notify_gives_its_callbacks() {
    let mut l = listener();
    // Nothing listened: both filtered, 200.
    let (evs, out) = post(&mut l, "msg.notify", REFERENCE_NOTIFY);
    assert!(evs.is_empty());
    assert_eq!((out.status, out.filtered, out.delivered), (200, 2, 0));
    l.add_listen(WkIds {
        gids: &["g1"],
        rids: &NONE,
        uids: &["bob"],
        events: &NONE,
    })
    .unwrap();
    let (evs, out) = post(&mut l, "msg.notify", REFERENCE_NOTIFY);
    assert_eq!((out.status, out.delivered, out.error), (200, 2, None));
    assert_eq!(
        evs,
        [
            Ev::Msg {
                callback: Callback::PushGroupChat,
                mid: 1_848_213_190_224_834_560,
                from: 0,
                to: 0,
                from_uid: "alice".into(),
                channel_id: "g1".into(),
                cmn: "a1b2c3d4".into(),
                msg: br#"{"type":1,"content":"hi all"}"#.to_vec(),
                mtime: 1_729_756_800_000,
            },
            Ev::Msg {
                callback: Callback::PushP2PFile,
                mid: 1_848_213_190_224_834_561,
                from: 0,
                to: 0,
                from_uid: "alice".into(),
                channel_id: "bob".into(),
                cmn: "e5f6".into(),
                msg: br#"{"type":8,"url":"https://f.example/a.pdf","name":"a.pdf","size":1024}"#
                    .to_vec(),
                mtime: 1_729_756_801_000,
            },
        ]
    );
    // The batch retried: nothing twice.
    let (evs, out) = post(&mut l, "msg.notify", REFERENCE_NOTIFY);
    assert!(evs.is_empty());
    assert_eq!((out.status, out.duplicates), (200, 2));
}

#[test]
fn go_escapes_big_ids_system_sender_and_numeric_ids() {
    let mut l = listener();
    l.set_listen_all(true, true, true, false);
    // `<b>&` as Go writes it, an id only as message_idstr (above 2^53), the system sender.
    let body = r#"[{"header":{"no_persist":1,"red_dot":0,"sync_once":0},"setting":0,"message_idstr":"9007199254740993","client_msg_no":"\u003cb\u003e\u0026","message_seq":1,"from_uid":"","channel_id":"30001","channel_type":2,"expire":0,"timestamp":1729756800,"payload":"eyJ0eXBlIjoxMDAxfQ=="},
 {"header":{"no_persist":0,"red_dot":1,"sync_once":0},"setting":0,"message_id":5,"message_idstr":"5","client_msg_no":"x","message_seq":2,"from_uid":"10001","channel_id":"10002","channel_type":1,"expire":0,"timestamp":1729756800,"payload":"aGk="}]"#;
    let (evs, out) = post(&mut l, "msg.notify", body);
    assert_eq!(out.status, 200, "{out:?}");
    let [
        Ev::Msg {
            mid,
            cmn,
            from_uid,
            callback,
            ..
        },
        Ev::Msg {
            from,
            to,
            msg,
            callback: cb2,
            ..
        },
    ] = evs.as_slice()
    else {
        panic!("{evs:?}")
    };
    assert_eq!(*mid, 9_007_199_254_740_993);
    assert_eq!(cmn, "<b>&");
    assert_eq!(
        (from_uid.as_str(), *callback),
        ("", Callback::PushGroupMessage)
    );
    // Numeric ids: the integers; P2P `to` is channel_id (the recipient from the sender's side);
    // a non-JSON payload is a plain message.
    assert_eq!((*from, *to), (10001, 10002));
    assert_eq!(
        (msg.as_slice(), *cb2),
        (&b"hi"[..], Callback::PushP2PMessage)
    );
}

#[test]
fn offline_bodies_with_every_kind_of_to_uids() {
    let mut l = listener();
    l.set_listen_all(true, true, true, true);
    let base = item(70, "alice", "bob", 1, br#"{"type":1,"content":"x"}"#);
    let base = base.trim_end_matches('}');
    for (mid, tail, gzip) in [
        (70u64, r#","to_uids":["bob"]}"#, 0),
        (71, r#","to_uids":[]}"#, 0),
        (72, r#","to_uids":null}"#, 0),
        (
            73,
            r#","to_uids":[],"compress":"gzip","compress_to_uids":"H4sIAAAAAAAA/4pWSkrKVIoFBAAA//8="}"#,
            1,
        ),
    ] {
        let body = base.replace(
            "\"message_id\":70,\"message_idstr\":\"70\"",
            &format!("\"message_id\":{mid},\"message_idstr\":\"{mid}\""),
        ) + tail;
        let (evs, out) = post(&mut l, "msg.offline", &body);
        assert_eq!(
            (out.status, out.delivered, out.gzip_to_uids),
            (200, 1, gzip),
            "{body}"
        );
        assert!(matches!(evs.as_slice(), [Ev::Msg { mid: m, .. }] if *m == mid as i64));
    }
}

#[test]
fn presence_from_the_right_filtered_by_event() {
    let mut l = listener();
    let body = r#"["alice-1-1-42-1-2","bo-b-0-0-17-0-1","10001-2-1-9-1-1"]"#;
    let (evs, out) = post(&mut l, "user.onlinestatus", body);
    assert_eq!((evs.len(), out.filtered, out.status), (0, 3, 200));
    l.add_listen(WkIds {
        gids: &NONE,
        rids: &NONE,
        uids: &NONE,
        events: &["login"],
    })
    .unwrap();
    let (evs, out) = post(&mut l, "user.onlinestatus", body);
    assert_eq!((out.delivered, out.filtered), (2, 1));
    assert_eq!(
        evs[0],
        Ev::Presence {
            event: "login".into(),
            uid: 0,
            time: 1_729_756_900,
            endpoint: "1:42".into(),
            data:
                r#"{"uid":"alice","device_flag":1,"conn_id":42,"device_online":1,"total_online":2}"#
                    .into(),
        }
    );
    assert!(matches!(&evs[1], Ev::Presence { uid: 10001, endpoint, .. } if endpoint == "2:9"));
    l.set_listen_all(false, false, false, true);
    let (evs, _) = post(&mut l, "user.onlinestatus", body);
    assert!(
        matches!(&evs[1], Ev::Presence { event, data, .. } if event == "logout" && data.contains(r#""uid":"bo-b""#))
    );
}

#[test]
fn bad_input_has_its_own_error_and_status() {
    let good = item(1, "alice", "g1", 2, br#"{"type":1}"#);
    let deep = format!("[{}1{}]", "[".repeat(70), "]".repeat(70));
    let cases: Vec<(&str, String, u16, WebhookError)> = vec![
        (
            "msg.notify",
            format!("[{good}"),
            400,
            WebhookError::Json(JsonError::Syntax(good.len() + 1)),
        ),
        (
            "msg.notify",
            deep,
            400,
            WebhookError::Json(JsonError::DepthExceeded),
        ),
        (
            "msg.notify",
            good.clone(),
            400,
            WebhookError::Json(JsonError::NotArray),
        ),
        (
            "msg.notify",
            format!("[{}]", good.replace("eyJ0eXBlIjoxfQ==", "eyJ0eXBlIjoxfQ=!")),
            400,
            WebhookError::BadBase64,
        ),
        (
            "msg.notify",
            format!(
                "[{}]",
                good.replace("\"message_id\":1,", "\"message_id\":99999999999999999999,")
            ),
            400,
            WebhookError::OutOfRange("message_id"),
        ),
        (
            "msg.notify",
            "[1]".into(),
            400,
            WebhookError::WrongType("msg.notify item"),
        ),
        ("user.offline", "[]".into(), 400, WebhookError::UnknownEvent),
        (
            "user.onlinestatus",
            r#"["alice-1-2-42-1-2"]"#.into(),
            400,
            WebhookError::BadPresence,
        ),
        (
            "msg.offline",
            "[]".into(),
            400,
            WebhookError::Json(JsonError::NotObject),
        ),
    ];
    for (event, body, status, error) in cases {
        let mut l = listener();
        l.set_listen_all(true, true, true, true);
        let (evs, out) = post(&mut l, event, &body);
        assert_eq!(
            (out.status, out.error),
            (status, Some(error)),
            "{event} {body}"
        );
        // A truncated array: its whole items were handed over as they were read.
        let whole = usize::from(body.starts_with(&format!("[{good}")) && !body.ends_with(']'));
        assert_eq!(evs.len(), whole, "{event} {body}");
        // The same body again: nothing twice.
        let (again, _) = post(&mut l, event, &body);
        assert!(again.is_empty(), "{event} {body}");
    }
    // A body whose item does not fit the host's scratch: 413, and a retry with room delivers
    // it once.
    let mut l = listener();
    l.set_listen_all(true, true, true, true);
    let big = format!("[{}]", item(2, "a", "g", 2, &[b'x'; 2000]));
    let mut small = [0u8; 256];
    let out = l.handle_webhook(1, b"msg.notify", big.as_bytes(), &mut small, |_| {
        panic!("nothing fits")
    });
    assert_eq!(
        (out.status, out.error),
        (413, Some(WebhookError::ScratchFull))
    );
    let mut room = [0u8; 4096];
    let mut n = 0;
    let out = l.handle_webhook(1, b"msg.notify", big.as_bytes(), &mut room, |_| n += 1);
    assert_eq!((out.status, n), (200, 1));
    // A batch with a bad item in the middle: the others delivered, 400; its retry delivers
    // nothing twice.
    let batch = format!(
        "[{},{},{}]",
        item(10, "a", "g", 2, b"{}"),
        item(11, "a", "g", 2, b"{}").replace("\"channel_type\":2", "\"channel_type\":\"2\""),
        item(12, "a", "g", 2, b"{}")
    );
    let (evs, out) = post(&mut l, "msg.notify", &batch);
    assert_eq!(
        (out.status, out.error, evs.len()),
        (400, Some(WebhookError::WrongType("channel_type")), 2)
    );
    let (evs, out) = post(&mut l, "msg.notify", &batch);
    assert_eq!((out.status, out.duplicates, evs.len()), (400, 2, 0));
}

/// Logs a listener in on a plaintext "socket" (packets from the simulator's encoder).
fn logged_in() -> L {
    let mut l = listener();
    l.connected(0);
    let n = l.transmit().len();
    l.consume_transmit(n);
    let connack = [
        0x21, 22, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ];
    l.handle_input(1, &connack, |_| {});
    assert!(l.is_connected());
    l
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any split of the same messages between the socket and the webhook, with any webhook
    /// retries and any order of the two paths, delivers each message exactly once.
    #[test]
    fn socket_and_webhook_deliver_each_message_once(
        ways in proptest::collection::vec(0u8..4, 1..20),
        retries in proptest::collection::vec(0u8..3, 1..20),
    ) {
        let mut l = logged_in();
        l.set_listen_all(true, true, true, true);
        let mut delivered = Vec::new();
        for (i, way) in ways.iter().enumerate() {
            let mid = 100 + i as i64;
            let payload = br#"{"type":1,"content":"m"}"#;
            let socket = encode_recv(&Msg::new(mid, "1", "g", 2, payload), 5, None);
            let hook = format!("[{}]", item(mid as u64, "1", "g", 2, payload));
            let mut scratch = [0u8; 512];
            let times = 1 + retries.get(i).copied().unwrap_or(0);
            // 0 socket, 1 webhook, 2 socket then webhook, 3 webhook then socket.
            let order: &[bool] = match way { 0 => &[true], 1 => &[false], 2 => &[true, false], _ => &[false, true] };
            for &by_socket in order {
                for _ in 0..times {
                    if by_socket {
                        l.handle_input(2, &socket, |e| if let Event::Message(m) = e { delivered.push(m.message.mid) });
                    } else {
                        let out = l.handle_webhook(2, b"msg.notify", hook.as_bytes(), &mut scratch, |e| if let Event::Message(m) = e { delivered.push(m.message.mid) });
                        prop_assert_eq!(out.status, 200);
                    }
                }
            }
        }
        let want: Vec<i64> = (0..ways.len()).map(|i| 100 + i as i64).collect();
        prop_assert_eq!(delivered, want);
    }
}
