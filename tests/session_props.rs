//! Property: any chunking of the input, combined with any partial acceptance of the output by
//! the transport, gives the same events and the same bytes on the wire.

mod support;

use proptest::prelude::*;
use rmpv::Value;
use rtm_listen::rtm::listen::ListenIds;
use support::*;

#[derive(Debug, Clone)]
enum Item {
    Msg {
        method: u8,
        from: i64,
        mid: i64,
        mtype: i64,
        oneway: bool,
    },
    Event {
        login: bool,
        uid: i64,
    },
    Ping,
    Unknown,
    AnswerToCommand,
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        6 => (0u8..3, 1i64..4, 0i64..6, prop::sample::select(vec![1i64, 30, 31, 32, 41]), prop::bool::weighted(0.2))
            .prop_map(|(method, from, mid, mtype, oneway)| Item::Msg { method, from, mid, mtype, oneway }),
        1 => (any::<bool>(), 1i64..3).prop_map(|(login, uid)| Item::Event { login, uid }),
        1 => Just(Item::Ping),
        1 => Just(Item::Unknown),
        1 => Just(Item::AnswerToCommand),
    ]
}

fn encode(items: &[Item], command_seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let seq = 1000 + i as u32;
        match it {
            Item::Msg {
                method,
                from,
                mid,
                mtype,
                oneway,
            } => {
                let seq = (!oneway).then_some(seq);
                let (name, key) = [
                    ("pushmsg", "to"),
                    ("pushgroupmsg", "gid"),
                    ("pushroommsg", "rid"),
                ][*method as usize];
                let text = if *mtype == 41 {
                    r#"{"url":"u","size":1}"#
                } else {
                    "body"
                };
                out.extend(quest(
                    seq,
                    name,
                    &msg_payload(key, *from, 7, *mid, *mtype, text),
                ));
            }
            Item::Event { login, uid } => out.extend(pushevent(
                Some(seq),
                if *login { "login" } else { "logout" },
                *uid,
            )),
            Item::Ping => out.extend(ping(Some(seq))),
            Item::Unknown => out.extend(quest(Some(seq), "mystery", &Value::Map(vec![]))),
            Item::AnswerToCommand => out.extend(ok(command_seq)),
        }
    }
    out
}

/// Runs the session: a command first, then the server's bytes in `chunks`, with the transport
/// accepting `accept` bytes at a time (cycled). Returns the events and the bytes sent after the
/// command.
fn run(input: &[u8], chunks: &[usize], accept: &[usize]) -> (Vec<String>, Vec<u8>) {
    let mut l = listener();
    l.connected(0);
    let mut events_seen = events(&mut l);
    let ids = ListenIds {
        gids: &[7],
        rids: &[7],
        uids: &[7],
        events: &["login"],
    };
    l.set_listen(0, &ids).unwrap();
    let command = l.transmit().to_vec();
    l.consume_transmit(command.len());
    let mut wire = Vec::new();
    let mut accept = accept.iter().cycle();
    let mut chunk_sizes = chunks.iter().cycle();
    let mut rest = input;
    let mut guard = 0;
    while !rest.is_empty() {
        let size = (*chunk_sizes.next().unwrap()).clamp(1, rest.len());
        let mut chunk = &rest[..size];
        rest = &rest[size..];
        while !chunk.is_empty() {
            guard += 1;
            assert!(guard < 1_000_000, "no progress");
            let n = l.handle_input(5, chunk, |e| events_seen.push(describe(&e)));
            chunk = &chunk[n..];
            events_seen.extend(events(&mut l));
            let pending = l.transmit().len();
            let mut k = (*accept.next().unwrap()).min(pending);
            if n == 0 && k == 0 {
                // The listener is full: a transport that never accepts would stall forever.
                k = pending.max(1).min(pending);
            }
            wire.extend_from_slice(&l.transmit()[..k]);
            l.consume_transmit(k);
            events_seen.extend(events(&mut l));
        }
    }
    loop {
        events_seen.extend(events(&mut l));
        let out = l.transmit().to_vec();
        if out.is_empty() {
            break;
        }
        wire.extend_from_slice(&out);
        l.consume_transmit(out.len());
    }
    (events_seen, wire)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn chunking_and_partial_sends_do_not_change_the_session(
        items in prop::collection::vec(item(), 1..60),
        chunks in prop::collection::vec(1usize..64, 1..8),
        accept in prop::collection::vec(0usize..40, 1..8),
    ) {
        let input = encode(&items, 1);
        let (want_events, want_wire) = run(&input, &[usize::MAX], &[usize::MAX]);
        let (events, wire) = run(&input, &chunks, &accept);
        prop_assert_eq!(&events, &want_events);
        prop_assert_eq!(&wire, &want_wire);
        // Every twoway quest was answered exactly once, in order, and no oneway one.
        let answered: Vec<u32> = parse_wire(&wire).iter().map(|w| w.seq().unwrap()).collect();
        let twoway: Vec<u32> = items.iter().enumerate().filter_map(|(i, it)| match it {
            Item::Msg { oneway: true, .. } | Item::AnswerToCommand => None,
            _ => Some(1000 + i as u32),
        }).collect();
        prop_assert_eq!(answered, twoway);
    }
}
