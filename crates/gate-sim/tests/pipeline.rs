//! Reverse pipelining: quests pipelined on one connection handled last to first.

mod common;

use std::time::Duration;

use common::{Client, Got, WAIT};
use rtm_gate_sim::rmpv::Value;
use rtm_gate_sim::{Gate, GateConfig, ListenState, Outcome, Push};
use rtm_listen::rtm::listen::ListenOp;

fn gate() -> Gate {
    Gate::start(GateConfig::default()).expect("start the gate")
}

/// The next frame, which must be an answer: (seq, status).
fn next_answer(c: &mut Client) -> (u32, u8) {
    match c.recv(WAIT) {
        Some(Got::Answer {
            seq,
            status,
            payload,
        }) => {
            assert_eq!(payload, Value::Map(vec![]), "answer to {seq}");
            (seq, status)
        }
        other => panic!("expected an answer, got {other:?}"),
    }
}

/// Sends `setlisten gids [1, 2]` then `addlisten gids [3]` in one write; returns their seqs.
fn send_set_then_add(c: &mut Client) -> (u32, u32) {
    let (set, mut bytes) = c.listen_frame(ListenOp::Set, &[1, 2], &[], &[], &[]);
    let (add, frame) = c.listen_frame(ListenOp::Add, &[3], &[], &[], &[]);
    bytes.extend_from_slice(&frame);
    c.send(&bytes);
    (set, add)
}

#[test]
fn pipelined_quests_are_handled_in_order_by_default() {
    let gate = gate();
    let mut c = Client::connect(gate.addr());
    let (set, add) = send_set_then_add(&mut c);
    assert_eq!(next_answer(&mut c), (set, 0));
    assert_eq!(next_answer(&mut c), (add, 0));
    let state = ListenState::with_ids(&[1, 2, 3], &[], &[], &[]);
    assert_eq!(gate.listen_states(), [(1, state)]);
    let q = gate.quests();
    let order: Vec<(&str, u64, usize)> = q
        .iter()
        .map(|q| (q.method.as_str(), q.arrival, q.batch_len))
        .collect();
    assert_eq!(order, [("setlisten", 0, 1), ("addlisten", 1, 1)]);
}

#[test]
fn pipelined_quests_are_applied_and_answered_in_reverse() {
    let gate = gate();
    gate.set_reverse_pipelined(Some(Duration::from_millis(200)));
    let mut c = Client::connect(gate.addr());
    let (set, add) = send_set_then_add(&mut c);
    // The later quest is answered first…
    assert_eq!(next_answer(&mut c), (add, 0));
    assert_eq!(next_answer(&mut c), (set, 0));
    // … and applied first: addlisten 3, then setlisten [1, 2] replaces it.
    let state = ListenState::with_ids(&[1, 2], &[], &[], &[]);
    assert_eq!(gate.listen_states(), [(1, state)]);
    // The records are in the order of application; `arrival` keeps the arrival order.
    let q = gate.quests();
    let order: Vec<(&str, Option<u32>, u64, usize)> = q
        .iter()
        .map(|q| (q.method.as_str(), q.seq, q.arrival, q.batch_len))
        .collect();
    assert_eq!(
        order,
        [
            ("addlisten", Some(add), 1, 2),
            ("setlisten", Some(set), 0, 2)
        ]
    );
    assert!(q.iter().all(|q| q.outcome == Outcome::Ok && q.conn == 1));

    // A lone quest is a batch of one, answered once the window ends.
    let seq = c.listen(ListenOp::Remove, &[1], &[], &[], &[]);
    assert_eq!(next_answer(&mut c), (seq, 0));
    let last = gate.quests().pop().unwrap();
    assert_eq!((last.arrival, last.batch_len), (2, 1));
    let state = ListenState::with_ids(&[2], &[], &[], &[]);
    assert_eq!(gate.listen_states(), [(1, state)]);

    // Off again: handled at once, in order.
    gate.set_reverse_pipelined(None);
    let (set, add) = send_set_then_add(&mut c);
    assert_eq!(next_answer(&mut c), (set, 0));
    assert_eq!(next_answer(&mut c), (add, 0));
    let state = ListenState::with_ids(&[1, 2, 3], &[], &[], &[]);
    assert_eq!(gate.listen_states(), [(1, state)]);
}

#[test]
fn quests_written_apart_within_the_window_are_batched_while_pushes_are_answered() {
    let gate = gate();
    // Long enough for a push round trip on a loaded machine between the two quests.
    gate.set_reverse_pipelined(Some(Duration::from_millis(1500)));
    let mut c = Client::connect(gate.addr());
    let first = c.listen(ListenOp::Add, &[7], &[], &[], &[]);
    assert!(gate.wait_connections(1, WAIT));
    // While the batch is open, pushes are written and their answers recorded.
    assert_eq!(gate.push(Push::ping()), 1);
    let (seq, method, _) = c.push(WAIT).expect("the ping push");
    assert_eq!(method, "ping");
    c.answer_ok(seq.expect("twoway"));
    assert!(gate.wait_answers(1, WAIT));
    assert!(
        gate.quests().is_empty(),
        "the first quest waits for its window"
    );
    let second = c.listen(ListenOp::Remove, &[7], &[], &[], &[]);
    assert_eq!(next_answer(&mut c), (second, 0));
    assert_eq!(next_answer(&mut c), (first, 0));
    // removelisten 7 then addlisten 7.
    let state = ListenState::with_ids(&[7], &[], &[], &[]);
    assert_eq!(gate.listen_states(), [(1, state)]);
    let arrivals: Vec<u64> = gate.quests().iter().map(|q| q.arrival).collect();
    assert_eq!(arrivals, [1, 0]);
    assert!(gate.unanswered().is_empty() && gate.stray_answers().is_empty());
}

#[test]
fn quests_arriving_after_the_window_start_a_new_batch() {
    let gate = gate();
    gate.set_reverse_pipelined(Some(Duration::from_millis(50)));
    let mut c = Client::connect(gate.addr());
    let (set, add) = send_set_then_add(&mut c);
    std::thread::sleep(Duration::from_millis(300));
    let later = c.listen(ListenOp::Remove, &[1], &[], &[], &[]);
    assert_eq!(next_answer(&mut c), (add, 0));
    assert_eq!(next_answer(&mut c), (set, 0));
    assert_eq!(next_answer(&mut c), (later, 0));
    let batches: Vec<(u64, usize)> = gate
        .quests()
        .iter()
        .map(|q| (q.arrival, q.batch_len))
        .collect();
    assert_eq!(batches, [(1, 2), (0, 2), (2, 1)]);
    let state = ListenState::with_ids(&[2], &[], &[], &[]);
    assert_eq!(gate.listen_states(), [(1, state)]);
}

#[test]
fn an_open_batch_is_still_handled_when_the_client_shuts_its_side() {
    let gate = gate();
    gate.set_reverse_pipelined(Some(Duration::from_secs(5)));
    let mut c = Client::connect(gate.addr());
    let (set, add) = send_set_then_add(&mut c);
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    // Well before the 5 s window ends.
    assert_eq!(next_answer(&mut c), (add, 0));
    assert_eq!(next_answer(&mut c), (set, 0));
    assert!(c.wait_eof(WAIT));
    let seqs: Vec<Option<u32>> = gate.quests().iter().map(|q| q.seq).collect();
    assert_eq!(seqs, [Some(add), Some(set)]);
}
