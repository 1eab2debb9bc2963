//! Property: for random add/remove/set commands interleaved with drops, outages of random
//! length, time passing and answers held back and released in random order, a model server that
//! applies the quests as it answers them ends in the host's last desired state, and every
//! command completes exactly once.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rmpv::Value;
use rtm_listen::rtm::listen::{ListenFlags, ListenIds};
use rtm_listen::session::Event;
use support::*;

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<i64>, bool),
    Remove(Vec<i64>, bool),
    Set(Vec<i64>, bool),
    Flags(bool, bool),
    /// Answer the held quest with this index (mod the number held).
    Answer(usize),
    Refuse(usize),
    Drop,
    Connect,
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let ids = || prop::collection::vec(0i64..12, 0..4);
    prop_oneof![
        3 => (ids(), any::<bool>()).prop_map(|(v, e)| Op::Add(v, e)),
        2 => (ids(), any::<bool>()).prop_map(|(v, e)| Op::Remove(v, e)),
        2 => (ids(), any::<bool>()).prop_map(|(v, e)| Op::Set(v, e)),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(g, r)| Op::Flags(g, r)),
        6 => (0usize..4).prop_map(Op::Answer),
        1 => (0usize..4).prop_map(Op::Refuse),
        1 => Just(Op::Drop),
        2 => Just(Op::Connect),
        2 => (0u64..40_000).prop_map(Op::Wait),
    ]
}

/// The server's state for one connection: what `setlisten` made it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Server {
    gids: BTreeSet<i64>,
    events: BTreeSet<String>,
    group: bool,
    room: bool,
}

fn apply(s: &mut Server, q: &Wire) {
    assert_eq!(
        q.method(),
        Some("setlisten"),
        "the listener only sets: {q:?}"
    );
    if let Some(g) = q.get("group") {
        s.group = g.as_bool().unwrap();
        s.room = q.get("room").and_then(Value::as_bool).unwrap();
    } else {
        let arr = |k: &str| {
            q.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        s.gids = arr("gids").iter().map(|v| v.as_i64().unwrap()).collect();
        s.events = arr("events")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
    }
}

/// Counts the completions among events `feed` described.
fn count(described: Vec<String>, completed: &mut BTreeMap<u32, usize>) {
    for d in described {
        if let Some(rest) = d.strip_prefix("completed #") {
            let n = rest.split(' ').next().unwrap().parse().unwrap();
            *completed.entry(n).or_default() += 1;
        }
    }
}

fn drain(l: &mut L, completed: &mut BTreeMap<u32, usize>) {
    l.poll_events(|e| {
        if let Event::Completed(c) = e {
            *completed.entry(c.request.0).or_default() += 1;
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_server_ends_in_the_last_desired_state(ops in prop::collection::vec(op(), 1..60)) {
        let mut l = listener();
        let mut now = 0u64;
        let mut up = false;
        let mut server = Server::default();
        let mut held: Vec<Wire> = Vec::new();
        let mut issued = Vec::new();
        let mut completed = BTreeMap::new();
        let mut desired = Server::default();
        for op in ops {
            now += 10;
            let events: &[&str] = &["login"];
            let ev = |e: bool| if e { events } else { &[] };
            let res = match &op {
                Op::Add(v, e) | Op::Remove(v, e) | Op::Set(v, e) => {
                    let ids = ListenIds { gids: v, rids: &[], uids: &[], events: ev(*e) };
                    let r = match op {
                        Op::Add(..) => l.add_listen(now, &ids),
                        Op::Remove(..) => l.remove_listen(now, &ids),
                        _ => l.set_listen(now, &ids),
                    };
                    if r.is_ok() {
                        match op {
                            Op::Add(..) => {
                                desired.gids.extend(v);
                                if *e { desired.events.insert("login".into()); }
                            }
                            Op::Remove(..) => {
                                for g in v { desired.gids.remove(g); }
                                if *e { desired.events.remove("login"); }
                            }
                            _ => {
                                desired.gids = v.iter().copied().collect();
                                desired.events = if *e { ["login".to_string()].into() } else { BTreeSet::new() };
                            }
                        }
                    }
                    r.ok()
                }
                Op::Flags(g, r) => {
                    let res = l.set_listen_all(now, ListenFlags { group: *g, room: *r, ..Default::default() }).ok();
                    if res.is_some() {
                        desired.group = *g;
                        desired.room = *r;
                    }
                    res
                }
                Op::Answer(i) | Op::Refuse(i) if !held.is_empty() => {
                    let q = held.remove(i % held.len());
                    let seq = q.seq().unwrap();
                    if matches!(op, Op::Answer(_)) {
                        apply(&mut server, &q);
                        count(feed(&mut l, now, &ok(seq)), &mut completed);
                    } else {
                        count(feed(&mut l, now, &err(seq, 200_010, "frequency")), &mut completed);
                    }
                    None
                }
                Op::Answer(_) | Op::Refuse(_) => None,
                Op::Drop if up => {
                    l.closed(now, rtm_listen::session::CloseReason::PeerClosed);
                    up = false;
                    held.clear();
                    server = Server::default();
                    None
                }
                Op::Connect if !up => {
                    l.connected(now);
                    up = true;
                    None
                }
                Op::Wait(ms) => {
                    now += ms;
                    l.handle_timeout(now);
                    None
                }
                _ => None,
            };
            if let Some(r) = res {
                issued.push(r.0);
            }
            drain(&mut l, &mut completed);
            if l.wants_close() {
                // A host closes when asked (a listen quest went unanswered).
                l.closed(now, rtm_listen::session::CloseReason::DeadLink);
                drain(&mut l, &mut completed);
                up = false;
                held.clear();
                server = Server::default();
            }
            for q in sent(&mut l) {
                if q.method().is_some_and(|m| m.ends_with("listen")) {
                    held.push(q);
                }
            }
            prop_assert!(held.len() <= 1, "one listen quest in flight: {held:?}");
        }
        // Quiescence: connected, every quest answered.
        if !up {
            now += 10;
            l.connected(now);
            drain(&mut l, &mut completed);
            server = Server::default();
            held.clear();
        }
        for _ in 0..10 {
            held.extend(sent(&mut l).into_iter().filter(|q| q.method().is_some_and(|m| m.ends_with("listen"))));
            let Some(q) = held.pop() else { break };
            apply(&mut server, &q);
            count(feed(&mut l, now, &ok(q.seq().unwrap())), &mut completed);
        }
        // A refusal stalls the sync until the next command: a no-op command resumes it.
        if !l.in_sync() {
            let r = l.add_listen(now, &ListenIds { gids: &[], rids: &[], uids: &[], events: &[] as &[&str] }).unwrap();
            issued.push(r.0);
            drain(&mut l, &mut completed);
            for _ in 0..10 {
                held.extend(sent(&mut l).into_iter().filter(|q| q.method().is_some_and(|m| m.ends_with("listen"))));
                let Some(q) = held.pop() else { break };
                apply(&mut server, &q);
                count(feed(&mut l, now, &ok(q.seq().unwrap())), &mut completed);
            }
        }
        prop_assert!(l.in_sync());
        prop_assert_eq!(&server, &desired);
        // Every command completes exactly once (the rest by their deadline).
        now += 100_000;
        l.handle_timeout(now);
        drain(&mut l, &mut completed);
        for r in &issued {
            prop_assert_eq!(completed.get(r), Some(&1), "request {} in {:?}", r, completed);
        }
        prop_assert_eq!(completed.len(), issued.len());
    }
}
