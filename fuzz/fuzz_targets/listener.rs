//! Target 4: the sans-IO listener driven by arbitrary operations.
//!
//! The input is a sequence of operations (decoded by `Op::arbitrary`, front to back, one byte
//! of opcode then its fields; see `gen_seeds.py` for the encoding): connect / connect failed /
//! close; queue bytes from the peer (pushes of every method with fuzzer-chosen fields and
//! encodings, mids from a small range to make duplicates, oneway and twoway; answers to the
//! quests the listener sent; recorded frames; raw garbage) and deliver them in fuzzer-chosen
//! chunks through `handle_input` or `input_window` + `commit_input`; clock jumps
//! (`handle_timeout`, sometimes with an older time); listen commands; partial transmit
//! acceptance (`consume_transmit(k)`). After every operation the host drains `poll_event`
//! to `None`, as the driving contract requires.
//!
//! Invariants (each an assertion below):
//! 1. no panic, and `poll_event` returns `None` within a bounded number of calls;
//! 2. every twoway push quest the listener consumed is answered exactly once, in order, on its
//!    connection: the answers in the transmitted bytes (plus what was still queued when the
//!    connection closed) are exactly the seqs of the consumed twoway quests (status 1 for a
//!    bad push, 0 otherwise); oneway pushes are never answered; bytes never accepted or
//!    dropped by a close do not count. When the host has drained everything (all events,
//!    all transmits) every complete frame received has been consumed;
//! 3. every event matches the next unconsumed frame (the same decoded value as
//!    `decode_push`), and the frames skipped without an event are answers or duplicates of a
//!    message already delivered (nothing is lost);
//! 4. no Message event for a (target, from, to, mid) delivered less than 299 s ago and fewer
//!    than 127 deliveries ago (TTL 300 s at second granularity, capacity 128);
//! 5. command completions arrive exactly once per accepted command (by `RequestId`), and all
//!    of them by the end (time runs past every deadline); listen state changes only by the
//!    commands that completed with code 0, and equals a model of them;
//! 6. queued transmit bytes are never altered, only appended to; they are whole frames: OK
//!    answers are exactly `{}`, error answers carry a known FPNN code and an `ex`, quests are
//!    `addlisten`/`removelisten`/`setlisten`/`*ping` with strictly increasing seqs;
//! 7. `Connected`/`ConnectFailed`/`Closed` once per call with the right flags; at most one
//!    `Restored` per connection, exactly one if there was state to restore; `CloseRequested`
//!    only for the stream's actual first framing error or a dead link;
//! 8. after `handle_timeout(now)` with an empty transmit queue, `poll_timeout()` is later than
//!    `now` (a host sleeping until it never spins); `reconnect_at` is within the back-off cap.
#![no_main]

use std::collections::{BTreeSet, HashMap};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rtm_listen::rtm::dispatch::{Callback, Category};
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::rtm::push::{Push, decode_push};
use rtm_listen::session::{
    CloseReason, CommandError, Config, DedupKey, Event, IdKind, Listener, RequestId,
};
use rtm_listen::wire::frame::{Frame, FrameError, Status, parse_frame};
use rtm_listen_fuzz::enc::{Enc, frame};
use rtm_listen_fuzz::{hex, model};

const RX: usize = rtm_listen::config::DEFAULT_RX;
const UNIX_MS: i64 = 1_700_000_000_000;
const MAX_OPS: usize = 200;
const MAX_PENDING_IN: usize = 16 * 1024;
const DEAD_AFTER: u64 = 110_000;

// ---------------------------------------------------------------------------------------
// Operations

#[derive(Debug, Clone)]
enum Piece {
    Push(Vec<u8>),
    Answer {
        pick: u8,
        status: u8,
        payload: u8,
        raw_seq: u32,
    },
    Recorded(u8),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Cmd {
    Listen {
        op: u8,
        gids: Vec<i64>,
        rids: Vec<i64>,
        uids: Vec<i64>,
        events: u8,
    },
    Flags(ListenFlags),
}

#[derive(Debug, Clone)]
enum Op {
    Connect,
    ConnectFailed,
    Close {
        by_error: bool,
    },
    Queue(Piece),
    /// Deliver up to `n` queued bytes; `window` uses `input_window` + `commit_input`.
    Deliver {
        n: u16,
        window: bool,
    },
    DeliverAll,
    Tick {
        delta: u64,
        stale: bool,
    },
    TickToDeadline,
    Command(Cmd),
    Transmit {
        k: u16,
    },
    SetUnixTime {
        unix_ms: i64,
    },
    /// Queue a push, deliver everything, take everything: progress in one op.
    PushRoundTrip(Vec<u8>),
    FullDrain,
}

const RECORDED: [&str; 6] = [
    // rtm-python-sdk.json server_to_sdk: pushmsg, pushgroupmsg, pushevent, ping.
    "46504e4e008001074300000065000000707573686d736787a466726f6dcd03e9a2746fcd03eaa36d6964cf17979cfe3d7ed4c1a56d747970651ea36d7367a568656c6c6fa56174747273a0a56d74696d65cf0000018bcfe569c8",
    "46504e4e0080010c49000000660000007075736867726f75706d736787a466726f6dcd03e9a3676964cd07d1a36d6964cf17979cfe3d7ed4c2a56d7479706520a36d7367a8636d642d626f6479a56174747273a27b7da56d74696d65cf0000018bcfe569c9",
    "46504e4e008001094600000068000000707573686576656e7486a3706964ce04c4b447a56576656e74a56c6f67696ea3756964cd03e9a474696d65ce6553f100a8656e64706f696e74af3139322e302e322e313a3132333435a464617461a0",
    "46504e4e00800104010000006900000070696e6780",
    // reference §11 example 3 (pushmsg, seq 10) and a oneway kickoutroom {rid: 2345}.
    "46504e4e01800107360000000a000000707573686d736787a466726f6d05a2746f06a36d6964cd012ca56d747970651ea36d7367a26869a56174747273a0a56d74696d65cf0000018bcfe56800",
    "46504e4e0180000b080000006b69636b6f7574726f6f6d81a3726964cd0929",
];

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Builds the payload of a push for method `which` (index into `model::METHODS`, or unknown
/// method) from fuzzer bytes. Field values come from small ranges so that duplicates happen.
fn gen_push(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let sel: u8 = u.arbitrary()?;
    let twoway = sel & 0x30 != 0x30; // 3 in 4
    let seq = 1000 + u32::from(u.arbitrary::<u8>()?);
    let version = u8::from(sel & 0x40 == 0);
    let which = (sel & 0x0f) % 11;
    let mut e = Enc::new();
    let int_sel: u8 = u.arbitrary()?;
    let shape: u8 = u.arbitrary()?; // key order, omissions, extra entries
    let known = |m: u8| model::METHODS[usize::from(m)].0.as_bytes().to_vec();
    let method: Vec<u8> = match which {
        0..=3 => {
            let target = ["to", "gid", "rid", ""][usize::from(which)];
            let from = i64::from(u.arbitrary::<u8>()? % 3);
            let to = i64::from(u.arbitrary::<u8>()? % 3);
            let mid_b: u8 = u.arbitrary()?;
            let mid = if mid_b & 0x80 != 0 {
                1_700_000_000_123_000_000 + i64::from(mid_b & 7)
            } else {
                i64::from(mid_b % 6)
            };
            let mtype_b: u8 = u.arbitrary()?;
            let mtype: i64 = match mtype_b % 12 {
                0 | 1 => 30,
                2 => 31,
                3 => 32,
                4 => 40,
                5 => 41,
                6 => 50,
                7 => 1,
                8 => 127,
                9 => 128, // out of range for i8
                10 => -1,
                _ => i64::from(mtype_b as i8),
            };
            let msg_b: u8 = u.arbitrary()?;
            let msg: Vec<u8> = match msg_b % 8 {
                0 | 1 => b"hello".to_vec(),
                2 => br#"{"source":"en","target":"zh","sourceText":"hi","targetText":"ni hao"}"#
                    .to_vec(),
                3 => br#"{"url":"http://x/f.amr","size":123,"surl":"http://x/t"}"#.to_vec(),
                4 => br#"{"url":"a\u0041\n\"","size":1.5e3,"sourceText":"\ud83d\ude00"}"#.to_vec(),
                5 => br#"{"sourceText":"x","targetText":""}"#.to_vec(),
                _ => {
                    let n = usize::from(u.arbitrary::<u8>()? % 40);
                    u.bytes(n)?.to_vec()
                }
            };
            let attrs_b: u8 = u.arbitrary()?;
            let attrs: Vec<u8> = match attrs_b % 6 {
                0 => Vec::new(),
                1 => b"{}".to_vec(),
                2 => br#"{"rtm":{"type":"audiomsg","lang":"en","duration":1200},"custom":{"k":[1,2]}}"#.to_vec(),
                3 => br#"{"custom":"s\"q","rtm":{"type":"x"}}"#.to_vec(),
                _ => {
                    let n = usize::from(u.arbitrary::<u8>()? % 24);
                    u.bytes(n)?.to_vec()
                }
            };
            let mtime = [0, 1_700_000_000_456, -1, i64::MAX][usize::from(attrs_b >> 6)];
            let mut fields: Vec<(&[u8], Field)> = vec![
                (b"from", Field::Int(from)),
                (b"mid", Field::Int(mid)),
                (b"mtype", Field::Int(mtype)),
                (b"msg", Field::Bytes(msg)),
                (b"attrs", Field::Bytes(attrs)),
                (b"mtime", Field::Int(mtime)),
            ];
            if !target.is_empty() {
                fields.insert(1, (target.as_bytes(), Field::Int(to)));
            }
            encode_map(&mut e, fields, shape, int_sel, u)?;
            known(which)
        }
        4 => {
            let b: u8 = u.arbitrary()?;
            let event: &[u8] = [&b"login"[..], b"logout", b"other"][usize::from(b % 3)];
            let mut fields: Vec<(&[u8], Field)> = vec![
                (b"pid", Field::Int(80_000_071)),
                (b"event", Field::Bytes(event.to_vec())),
                (b"uid", Field::Int(i64::from(b >> 4 & 3))),
                (b"time", Field::Int(1_700_000_000)),
                (b"endpoint", Field::Bytes(b"192.0.2.1:12345".to_vec())),
            ];
            if b & 4 != 0 {
                fields.push((b"data", Field::Bytes(b"d".to_vec())));
            }
            encode_map(&mut e, fields, shape, int_sel, u)?;
            known(which)
        }
        5 | 6 => {
            let fields = if shape & 1 != 0 {
                vec![(&b"x"[..], Field::Int(1))]
            } else {
                vec![]
            };
            encode_map(&mut e, fields, shape, int_sel, u)?;
            known(which)
        }
        7 => {
            let rid = i64::from(u.arbitrary::<u8>()? % 4);
            encode_map(
                &mut e,
                vec![(&b"rid"[..], Field::Int(rid))],
                shape,
                int_sel,
                u,
            )?;
            known(which)
        }
        8 | 9 => {
            e.map(0, 0);
            [
                &b"mystery"[..],
                b"*ping",
                b"pushfoo",
                b"PUSHMSG",
                b"addlisten",
            ][usize::from(shape % 5)]
            .to_vec()
        }
        _ => {
            // A fuzzer-chosen name and payload bytes.
            let n = usize::from(u.arbitrary::<u8>()? % 20) + 1;
            let name = u.bytes(n)?.to_vec();
            let p = usize::from(u.arbitrary::<u8>()? % 32);
            e.raw(u.bytes(p)?);
            name
        }
    };
    let payload = e.out;
    // The decoders against the model, on a realistic input.
    assert_eq!(
        decode_push(&method, &payload),
        model::push(&method, &payload),
        "decode_push vs model: {} {}",
        hex(&method),
        hex(&payload)
    );
    Ok(frame(
        version,
        twoway.then_some(seq),
        &method,
        None,
        &payload,
    ))
}

enum Field {
    Int(i64),
    Bytes(Vec<u8>),
}

/// Writes `fields` as a map: rotated by `shape`, with one field omitted, a nil, an unknown
/// key, a non-string key or a wrongly typed value when `shape`'s bits ask for it.
fn encode_map(
    e: &mut Enc,
    mut fields: Vec<(&[u8], Field)>,
    shape: u8,
    int_sel: u8,
    u: &mut Unstructured<'_>,
) -> arbitrary::Result<()> {
    if !fields.is_empty() {
        let r = usize::from(shape >> 4) % fields.len();
        fields.rotate_left(r);
    }
    let mutate: u8 = if shape & 0x0e == 0x0e {
        u.arbitrary()?
    } else {
        0
    };
    if mutate & 3 == 1 && !fields.is_empty() {
        fields.remove(usize::from(mutate >> 2) % fields.len());
    }
    let extra = usize::from(mutate & 3 >= 2);
    e.map(fields.len() + extra, shape >> 1);
    for (i, (k, v)) in fields.iter().enumerate() {
        e.str(k, int_sel.rotate_left(i as u32));
        let wrong = mutate & 0xc3 == 0xc3 && usize::from(mutate >> 2 & 7) == i;
        match v {
            _ if wrong => e.raw(&[0xca, 0, 0, 0, 0]), // a float where a field is expected
            Field::Int(x) => e.int(*x, int_sel.wrapping_add(i as u8)),
            Field::Bytes(b) => e.str(b, int_sel.wrapping_mul(i as u8 + 1)),
        }
    }
    match mutate & 3 {
        2 => {
            e.str(b"extra", 0);
            e.array(2);
            e.int(1, 0);
            e.nil();
        }
        3 => {
            e.int(5, 0); // a non-string key
            e.nil();
        }
        _ => {}
    }
    Ok(())
}

fn gen_cmd(u: &mut Unstructured<'_>) -> arbitrary::Result<Cmd> {
    let k: u8 = u.arbitrary()?;
    if k % 4 == 3 {
        return Ok(Cmd::Flags(ListenFlags {
            group: k & 4 != 0,
            room: k & 8 != 0,
            p2p: k & 16 != 0,
            ev: k & 32 != 0,
        }));
    }
    let big = k & 0xc0 == 0xc0;
    let ids = |u: &mut Unstructured<'_>| -> arbitrary::Result<Vec<i64>> {
        let b: u8 = u.arbitrary()?;
        let n = if big {
            20 + usize::from(b % 16)
        } else {
            usize::from(b % 4)
        };
        Ok((0..n)
            .map(|i| {
                if big {
                    i as i64 * 3 + i64::from(b)
                } else {
                    i64::from(b.wrapping_add(i as u8 * 3) % 8)
                }
            })
            .collect())
    };
    let gids = ids(u)?;
    let rids = ids(u)?;
    let uids = ids(u)?;
    let events: u8 = u.arbitrary()?;
    Ok(Cmd::Listen {
        op: k % 4,
        gids,
        rids,
        uids,
        events,
    })
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let b: u8 = u.arbitrary()?;
        Ok(match b % 16 {
            0 => Op::Connect,
            1 => Op::ConnectFailed,
            2 => Op::Close {
                by_error: b & 0x10 != 0,
            },
            3 => Op::Queue(Piece::Push(gen_push(u)?)),
            4 => Op::Queue(Piece::Answer {
                pick: u.arbitrary()?,
                status: u.arbitrary()?,
                payload: u.arbitrary()?,
                raw_seq: u32::from(u.arbitrary::<u16>()?),
            }),
            5 => {
                let n = usize::from(u.arbitrary::<u8>()? % 64);
                Op::Queue(Piece::Raw(u.bytes(n)?.to_vec()))
            }
            6 => Op::Deliver {
                n: u.arbitrary()?,
                window: b & 0x10 != 0,
            },
            7 => {
                let d: u8 = u.arbitrary()?;
                let delta = match d % 16 {
                    0 => 0,
                    1 => 1,
                    2 => 999,
                    3 => 1_000,
                    4 => 5_000,
                    5 => 19_999,
                    6 => 20_000,
                    7 => 29_999,
                    8 => 30_000,
                    9 => 30_001,
                    10 => DEAD_AFTER,
                    11 => DEAD_AFTER + 1,
                    12 => 299_000,
                    13 => 300_000,
                    14 => 301_000,
                    _ => u64::from(u.arbitrary::<u16>()?) * 10,
                };
                Op::Tick {
                    delta,
                    stale: d & 0x80 != 0,
                }
            }
            8 => Op::Command(gen_cmd(u)?),
            9 => Op::Transmit { k: u.arbitrary()? },
            10 => Op::SetUnixTime {
                unix_ms: UNIX_MS + i64::from(u.arbitrary::<i16>()?) * 1000,
            },
            11 => Op::DeliverAll,
            12 => Op::Queue(Piece::Recorded(u.arbitrary()?)),
            13 => Op::PushRoundTrip(gen_push(u)?),
            14 => Op::FullDrain,
            _ => Op::TickToDeadline,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The harness: a host around the listener, and the observer that checks it.

/// One connection as the peer sees it.
#[derive(Default)]
struct Conn {
    /// Bytes the listener accepted on this connection.
    rx: Vec<u8>,
    /// `rx` bytes split into complete frames (start, len), up to the first framing error.
    frames: Vec<(usize, usize)>,
    rx_parsed: usize,
    rx_error: Option<FrameError>,
    /// Next frame not yet matched to an event.
    cursor: usize,
    /// Answers owed for the frames before `cursor`: (seq, status).
    expected: Vec<(u32, u8)>,
    /// Every byte the listener queued for transmit on this connection, in order.
    emitted: Vec<u8>,
    /// How many of them the transport took.
    taken: usize,
    tx_parsed: usize,
    /// Answers found in `emitted`.
    answers: Vec<(u32, u8)>,
    /// The listener's quests: (end offset in `emitted`, seq).
    quests: Vec<(usize, u32)>,
    last_rx: u64,
    close_requested: Option<CloseReason>,
    restore_expected: bool,
    restored: u32,
}

/// Frame `rx[start..start + len]`, one of `Conn::frames` (whole by construction), when it is a
/// quest: its seq, method and payload.
fn quest_at(rx: &[u8], start: usize, len: usize) -> Option<(Option<u32>, &[u8], &[u8])> {
    match parse_frame(&rx[start..start + len], RX) {
        Ok(Status::Complete(
            Frame::Quest {
                seq,
                method,
                payload,
            },
            _,
        )) => Some((seq, method, payload)),
        Ok(Status::Complete(Frame::Answer { .. }, _)) => None,
        other => unreachable!("Conn::frames holds a frame that does not parse: {other:?}"),
    }
}

#[derive(Default)]
struct ListenModel {
    ids: BTreeSet<(u8, i64)>,
    events: u8,
    flags: ListenFlags,
}

#[derive(Default)]
struct Observer {
    eff_now: u64,
    conn: Option<Conn>,
    /// Commands accepted and not yet completed.
    accepted: HashMap<u32, Cmd>,
    completed: BTreeSet<u32>,
    model: ListenModel,
    /// Key -> (time, delivery number) of the last delivery.
    delivered: HashMap<DedupKey, (u64, u64)>,
    deliveries: u64,
    last_quest_seq: u32,
    /// Local events seen during the current operation.
    connected_events: u32,
    connect_failed_events: u32,
    closed_events: u32,
    events_this_op: usize,
}

/// `RTM_FUZZ_TRACE=1` prints every operation and event (for reading a reproducer).
fn trace() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("RTM_FUZZ_TRACE").is_some())
}

struct Host {
    l: Box<Listener>,
    now: u64,
    pending_in: Vec<u8>,
    o: Observer,
}

fn key(m: &rtm_listen::rtm::push::Message<'_>) -> DedupKey {
    DedupKey {
        target: m.target,
        from: m.from,
        to: m.to,
        mid: m.mid,
    }
}

impl Observer {
    fn on_event(&mut self, ev: &Event<'_>) {
        if trace() {
            eprintln!("    event {ev:?}");
        }
        self.events_this_op += 1;
        assert!(self.events_this_op < 5_000, "poll_event does not run dry");
        match ev {
            Event::Connected { .. } => self.connected_events += 1,
            Event::ConnectFailed { .. } => self.connect_failed_events += 1,
            Event::Closed { .. } => self.closed_events += 1,
            Event::Completed(c) => {
                let RequestId(id) = c.request;
                let cmd = self.accepted.remove(&id).unwrap_or_else(|| {
                    panic!(
                        "completion of request {id} which is {}",
                        if self.completed.contains(&id) {
                            "already completed"
                        } else {
                            "unknown"
                        }
                    )
                });
                self.completed.insert(id);
                if c.code == 0 {
                    self.apply(&cmd);
                }
            }
            Event::Restored { .. } => {
                let c = self.conn.as_mut().expect("Restored without a connection");
                c.restored += 1;
                assert!(
                    c.restore_expected && c.restored == 1,
                    "Restored #{} (restore expected: {})",
                    c.restored,
                    c.restore_expected
                );
            }
            Event::CloseRequested(reason) => {
                let eff = self.eff_now;
                let c = self
                    .conn
                    .as_mut()
                    .expect("CloseRequested without a connection");
                assert!(c.close_requested.is_none(), "second CloseRequested");
                match reason {
                    CloseReason::DeadLink => assert!(
                        eff > c.last_rx + DEAD_AFTER,
                        "DeadLink at {eff}, last rx {}",
                        c.last_rx
                    ),
                    CloseReason::Protocol(e) => {
                        assert_eq!(
                            c.rx_error,
                            Some(*e),
                            "CloseRequested({e:?}) but the stream's error is {:?}",
                            c.rx_error
                        )
                    }
                }
                c.close_requested = Some(*reason);
            }
            Event::Message(me) => {
                assert_eq!(me.category, Category::of(me.message.mtype));
                assert_eq!(
                    me.callback,
                    Callback::for_message(me.message.target, me.category)
                );
                let k = key(&me.message);
                if let Some(&(t, n)) = self.delivered.get(&k) {
                    assert!(
                        self.eff_now - t >= 299_000 || self.deliveries - n >= 127,
                        "duplicate delivered: {k:?} first at {t} (delivery {n}), again at {} (delivery {})",
                        self.eff_now,
                        self.deliveries
                    );
                }
                self.match_frame(ev);
                self.delivered.insert(k, (self.eff_now, self.deliveries));
                self.deliveries += 1;
            }
            Event::PushEvent(_)
            | Event::Ping
            | Event::Kickout
            | Event::KickoutRoom { .. }
            | Event::BadPush { .. } => self.match_frame(ev),
        }
    }

    fn apply(&mut self, cmd: &Cmd) {
        let m = &mut self.model;
        match cmd {
            Cmd::Flags(f) => m.flags = *f,
            Cmd::Listen {
                op,
                gids,
                rids,
                uids,
                events,
            } => {
                let ids = gids
                    .iter()
                    .map(|&i| (IdKind::Group as u8, i))
                    .chain(rids.iter().map(|&i| (IdKind::Room as u8, i)))
                    .chain(uids.iter().map(|&i| (IdKind::User as u8, i)));
                let mask = events & 3;
                match op {
                    0 => {
                        m.ids.extend(ids);
                        m.events |= mask;
                    }
                    1 => {
                        for x in ids {
                            m.ids.remove(&x);
                        }
                        m.events &= !mask;
                    }
                    _ => {
                        m.ids = ids.collect();
                        m.events = mask;
                    }
                }
            }
        }
    }

    /// Matches a push event to the next frame that must produce one.
    fn match_frame(&mut self, ev: &Event<'_>) {
        let c = self.conn.as_mut().expect("push event without a connection");
        loop {
            let Some(&(start, len)) = c.frames.get(c.cursor) else {
                panic!("event {ev:?} but no frame left (cursor {})", c.cursor);
            };
            c.cursor += 1;
            let Some((seq, method, payload)) = quest_at(&c.rx, start, len) else {
                continue;
            };
            let d = decode_push(method, payload);
            let matched = match (ev, &d) {
                (Event::Message(me), Ok(Push::Message(m))) => me.message == *m,
                (Event::PushEvent(e), Ok(Push::Event(x))) => e == x,
                (Event::Ping, Ok(Push::Ping)) | (Event::Kickout, Ok(Push::Kickout)) => true,
                (Event::KickoutRoom { rid }, Ok(Push::KickoutRoom { rid: r })) => rid == r,
                (Event::BadPush { method: em, error }, Err(e)) => *em == method && error == e,
                _ => false,
            };
            if matched {
                if let Some(s) = seq {
                    c.expected.push((s, u8::from(d.is_err())));
                }
                return;
            }
            match &d {
                Ok(Push::Message(m)) if self.delivered.contains_key(&key(m)) => {
                    // A duplicate: answered, no event.
                    if let Some(s) = seq {
                        c.expected.push((s, 0));
                    }
                }
                _ => panic!(
                    "frame {} ({:?}: {d:?}) consumed without its event; next event is {ev:?}",
                    c.cursor - 1,
                    String::from_utf8_lossy(method)
                ),
            }
        }
    }

    /// Brings `emitted` up to date with the transmit queue and checks the new frames.
    fn sync_tx(&mut self, pending: &[u8]) {
        let Some(c) = self.conn.as_mut() else {
            assert!(pending.is_empty(), "bytes queued without a connection");
            return;
        };
        let known = &c.emitted[c.taken..];
        assert!(
            pending.starts_with(known),
            "queued transmit bytes changed: had {}, now {}",
            hex(known),
            hex(pending)
        );
        let new = pending[known.len()..].to_vec();
        c.emitted.extend_from_slice(&new);
        while c.tx_parsed < c.emitted.len() {
            let (f, n) = match parse_frame(&c.emitted[c.tx_parsed..], usize::MAX) {
                Ok(Status::Complete(f, n)) => (f, n),
                other => panic!(
                    "transmit queue holds a bad or partial frame: {other:?} at {}",
                    hex(&c.emitted[c.tx_parsed..])
                ),
            };
            match f {
                Frame::Answer {
                    seq,
                    status,
                    payload,
                } => {
                    match status {
                        0 => assert_eq!(payload, &[0x80], "OK answer payload"),
                        1 => {
                            let a = model::answer(1, payload).expect("error answer payload");
                            assert!(
                                [20004, 10003, 10006, 10009, 10010].contains(&a.code),
                                "error answer code {}",
                                a.code
                            );
                            assert!(!a.ex.is_empty(), "error answer without ex");
                        }
                        s => panic!("answer status {s}"),
                    }
                    c.answers.push((seq, status));
                }
                Frame::Quest { seq, method, .. } => {
                    let seq = seq.expect("the listener sent a oneway quest");
                    assert!(
                        [&b"addlisten"[..], b"removelisten", b"setlisten", b"*ping"]
                            .contains(&method),
                        "quest {:?}",
                        String::from_utf8_lossy(method)
                    );
                    assert!(
                        seq > self.last_quest_seq,
                        "quest seq {seq} after {}",
                        self.last_quest_seq
                    );
                    self.last_quest_seq = seq;
                    c.quests.push((c.tx_parsed + n, seq));
                }
            }
            c.tx_parsed += n;
        }
    }

    /// The answers on the wire against the frames consumed. With `all`, every complete frame
    /// must have been consumed.
    fn check_answers(&self, all: bool) {
        let Some(c) = &self.conn else { return };
        let e = &c.expected;
        assert!(
            c.answers.len() >= e.len() && c.answers[..e.len()] == e[..],
            "answers {:?} but owed {:?}",
            c.answers,
            e
        );
        let extra = &c.answers[e.len()..];
        // The answers beyond those owed must belong to duplicates consumed after the last event.
        let mut i = 0;
        let mut stopped_at = None;
        for (idx, &(start, len)) in c.frames.iter().enumerate().skip(c.cursor) {
            let Some((seq, method, payload)) = quest_at(&c.rx, start, len) else {
                continue;
            };
            let dup = matches!(decode_push(method, payload), Ok(Push::Message(m)) if self.delivered.contains_key(&key(&m)));
            match (dup, seq) {
                (true, None) => {}
                (true, Some(s)) if i < extra.len() => {
                    assert_eq!(extra[i], (s, 0), "answer to duplicate frame {idx}");
                    i += 1;
                }
                _ => {
                    stopped_at = Some(idx);
                    break;
                }
            }
        }
        assert_eq!(
            i,
            extra.len(),
            "answers {:?} not owed to any consumed frame",
            &extra[i..]
        );
        if all {
            assert!(
                stopped_at.is_none(),
                "frame {stopped_at:?} of {} never consumed (cursor {})",
                c.frames.len(),
                c.cursor
            );
            // And every duplicate twoway frame has its answer.
            let owed: usize = c.frames[c.cursor..]
                .iter()
                .filter(|&&(s, l)| matches!(quest_at(&c.rx, s, l), Some((Some(_), _, _))))
                .count();
            assert_eq!(i, owed, "duplicates left unanswered");
        }
    }

    fn parse_rx(&mut self) {
        let Some(c) = self.conn.as_mut() else { return };
        while c.rx_error.is_none() {
            match parse_frame(&c.rx[c.rx_parsed..], RX) {
                Ok(Status::Complete(_, n)) => {
                    c.frames.push((c.rx_parsed, n));
                    c.rx_parsed += n;
                }
                Ok(Status::Partial(_)) => break,
                Err(e) => c.rx_error = Some(e),
            }
        }
    }
}

impl Host {
    fn new(entropy: u64) -> Self {
        let creds = Credentials {
            pid: 80_000_071,
            secret: b"a1b2c3d4-e5f6-7890-abcd-ef0123456789",
        };
        let mut l = Box::new(Listener::new(Config::DEFAULT, creds, entropy).expect("listener"));
        l.set_unix_time(1_000, UNIX_MS);
        let mut o = Observer::default();
        o.eff_now = 1_000;
        Host {
            l,
            now: 1_000,
            pending_in: Vec::new(),
            o,
        }
    }

    fn at(&mut self, t: u64) -> u64 {
        self.o.eff_now = self.o.eff_now.max(t);
        t
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.l.poll_event() {
            self.o.on_event(&ev);
        }
    }

    fn check(&mut self, all: bool) {
        self.o.sync_tx(self.l.transmit());
        let protocol_closed = matches!(
            self.o.conn.as_ref().and_then(|c| c.close_requested),
            Some(CloseReason::Protocol(_))
        );
        self.o.check_answers(all || protocol_closed);
        // Listen state = the model of the successful commands.
        let v = self.l.listen_state();
        for kind in [IdKind::Group, IdKind::Room, IdKind::User] {
            let want: Vec<i64> = self
                .o
                .model
                .ids
                .iter()
                .filter(|x| x.0 == kind as u8)
                .map(|x| x.1)
                .collect();
            assert_eq!(v.ids.of(kind), &want[..], "listen state {kind:?}");
        }
        let names: Vec<&str> = ["login", "logout"]
            .iter()
            .enumerate()
            .filter(|(i, _)| self.o.model.events & (1 << i) != 0)
            .map(|x| *x.1)
            .collect();
        assert_eq!(v.event_names(), &names[..], "listen events");
        assert_eq!(v.flags, self.o.model.flags, "listen flags");
        assert_eq!(
            self.l.pending_commands(),
            self.o.accepted.len(),
            "pending commands"
        );
        assert_eq!(self.l.is_connected(), self.o.conn.is_some());
        if let Some(t) = self.l.reconnect_at() {
            assert!(
                t <= self.o.eff_now + Config::DEFAULT.backoff.max_ms,
                "reconnect_at {t} beyond the cap"
            );
        }
    }

    /// Drains events and transmits until nothing moves.
    fn full_drain(&mut self) {
        for round in 0.. {
            assert!(round < 1_000, "full drain does not settle");
            self.drain_events();
            self.o.sync_tx(self.l.transmit());
            let n = self.l.transmit().len();
            if n == 0 {
                break;
            }
            self.take(n);
        }
    }

    fn take(&mut self, k: usize) {
        self.o.sync_tx(self.l.transmit());
        let k = k.min(self.l.transmit().len());
        self.l.consume_transmit(k);
        if let Some(c) = self.o.conn.as_mut() {
            c.taken += k;
        }
        self.drain_events();
    }

    fn deliver(&mut self, n: usize, window: bool) {
        let n = n.min(self.pending_in.len());
        let now = self.now;
        let t = self.at(now);
        let connected = self.o.conn.is_some();
        let close_requested = self
            .o
            .conn
            .as_ref()
            .is_some_and(|c| c.close_requested.is_some());
        let accepted = if window {
            let w = self.l.input_window();
            let k = n.min(w.len());
            w[..k].copy_from_slice(&self.pending_in[..k]);
            self.l.commit_input(t, k);
            if connected { k } else { 0 }
        } else {
            let k = self.l.handle_input(t, &self.pending_in[..n]);
            match (connected, close_requested) {
                (false, _) => assert_eq!(k, 0, "input taken while disconnected"),
                (true, true) => assert_eq!(k, n, "input not swallowed after CloseRequested"),
                (true, false) => assert!(k <= n),
            }
            if close_requested { 0 } else { k }
        };
        // After CloseRequested, `handle_input` swallows what it is given without accepting it.
        let drained = if !window && close_requested {
            n
        } else {
            accepted
        };
        let taken: Vec<u8> = self.pending_in.drain(..drained).collect();
        if let Some(c) = self.o.conn.as_mut() {
            if accepted > 0 {
                c.last_rx = self.o.eff_now;
                c.rx.extend_from_slice(&taken[..accepted]);
            }
        }
        self.o.parse_rx();
        self.drain_events();
    }

    fn queue(&mut self, p: &Piece) {
        let bytes = match p {
            Piece::Push(f) | Piece::Raw(f) => f.clone(),
            Piece::Recorded(i) => unhex(RECORDED[usize::from(*i) % RECORDED.len()]),
            Piece::Answer {
                pick,
                status,
                payload,
                raw_seq,
            } => {
                let seq = match &self.o.conn {
                    Some(c) => {
                        let sent: Vec<u32> = c
                            .quests
                            .iter()
                            .filter(|q| q.0 <= c.taken)
                            .map(|q| q.1)
                            .collect();
                        if sent.is_empty() || *pick == 0xff {
                            *raw_seq
                        } else {
                            sent[usize::from(*pick) % sent.len()]
                        }
                    }
                    None => *raw_seq,
                };
                let mut e = Enc::new();
                let st = if status % 5 == 0 { 1 + status % 3 } else { 0 };
                match payload % 6 {
                    0 | 1 => e.map(0, 0),
                    2 => {
                        e.map(1, 0);
                        e.str(b"ts", 0);
                        e.int(UNIX_MS, 0);
                    }
                    3 => {
                        e.map(3, 0);
                        e.str(b"code", 0);
                        e.int(
                            [200_002, 0, 10_001, -1][usize::from(payload >> 4 & 3)],
                            *payload,
                        );
                        e.str(b"ex", 0);
                        e.str(b"bad sign", 0);
                        e.str(b"raiser", 0);
                        e.str(b"", 0);
                    }
                    4 => {
                        // code and ex of unusual types (Python sends a number for ex).
                        e.map(2, 0);
                        e.str(b"code", 0);
                        e.str(b"x", 0);
                        e.str(b"ex", 0);
                        e.int(200_002, 0);
                    }
                    _ => e.raw(&[0x81, 0xa4, b'c', b'o', b'd', b'e']), // truncated
                }
                frame(1, Some(seq), b"", Some(st), &e.out)
            }
        };
        if self.pending_in.len() + bytes.len() <= MAX_PENDING_IN {
            self.pending_in.extend_from_slice(&bytes);
        }
    }

    fn connect(&mut self) {
        if self.o.conn.is_some() {
            return;
        }
        let v = self.l.listen_state();
        let restore_expected = v.flags.any() || !v.ids.is_empty() || !v.event_names().is_empty();
        self.pending_in.clear();
        let t = self.at(self.now);
        self.o.conn = Some(Conn {
            last_rx: self.o.eff_now,
            restore_expected,
            ..Conn::default()
        });
        self.l.connected(t);
        self.drain_events();
    }

    fn close(&mut self, by_error: bool) {
        self.o.sync_tx(self.l.transmit());
        let t = self.at(self.now);
        self.l.closed(t, by_error);
        self.drain_events();
        if let Some(c) = self.o.conn.take() {
            assert_eq!(
                c.restored,
                u32::from(c.restore_expected),
                "Restored events on a closed connection"
            );
        }
        self.pending_in.clear();
    }

    fn tick(&mut self, t: u64) {
        let tx_empty = self.l.transmit().is_empty();
        let t = self.at(t);
        self.l.handle_timeout(t);
        self.drain_events();
        if tx_empty {
            if let Some(next) = self.l.poll_timeout() {
                assert!(
                    next > self.o.eff_now,
                    "poll_timeout {next} is not after now {} (host would spin)",
                    self.o.eff_now
                );
            }
        }
    }

    fn command(&mut self, cmd: &Cmd) {
        // A refused command returns before the listener looks at `now`: only an accepted one
        // advances its clock.
        let t = self.now;
        let res = match cmd {
            Cmd::Flags(f) => self.l.set_listen_all(t, *f),
            Cmd::Listen {
                op,
                gids,
                rids,
                uids,
                events,
            } => {
                let mut evs: Vec<&str> = Vec::new();
                if events & 1 != 0 {
                    evs.push("login");
                }
                if events & 2 != 0 {
                    evs.push("logout");
                }
                if events & 4 != 0 {
                    evs.push("kicked");
                }
                let ids = ListenIds {
                    gids,
                    rids,
                    uids,
                    events: &evs[..],
                };
                let res = match op {
                    0 => self.l.add_listen(t, &ids),
                    1 => self.l.remove_listen(t, &ids),
                    _ => self.l.set_listen(t, &ids),
                };
                assert_eq!(
                    events & 4 != 0,
                    res == Err(CommandError::UnsupportedEvent),
                    "UnsupportedEvent iff an unknown event name"
                );
                res
            }
        };
        if let Ok(RequestId(id)) = res {
            self.at(t);
            assert!(
                !self.o.accepted.contains_key(&id) && !self.o.completed.contains(&id),
                "request id {id} reused"
            );
            self.o.accepted.insert(id, cmd.clone());
        }
        self.drain_events();
    }

    fn run(&mut self, op: &Op) {
        if trace() {
            eprintln!("op @{} {op:?}", self.now);
        }
        let (c0, f0, x0) = (
            self.o.connected_events,
            self.o.connect_failed_events,
            self.o.closed_events,
        );
        self.o.events_this_op = 0;
        let mut all = false;
        match op {
            Op::Connect => {
                let was = self.o.conn.is_some();
                self.connect();
                if !was {
                    assert_eq!(self.o.connected_events - c0, 1, "Connected events");
                }
            }
            Op::ConnectFailed => {
                if self.o.conn.is_none() {
                    let t = self.at(self.now);
                    self.l.connect_failed(t);
                    self.drain_events();
                    assert_eq!(self.o.connect_failed_events - f0, 1, "ConnectFailed events");
                    let r = self.l.reconnect_at().expect("reconnect_at after a failure");
                    assert!(r >= self.o.eff_now);
                }
            }
            Op::Close { by_error } => {
                let was = self.o.conn.is_some();
                self.close(*by_error);
                assert_eq!(self.o.closed_events - x0, u32::from(was), "Closed events");
            }
            Op::Queue(p) => self.queue(p),
            Op::Deliver { n, window } => self.deliver(usize::from(*n), *window),
            Op::DeliverAll => {
                for _ in 0..64 {
                    let before = self.pending_in.len();
                    self.deliver(usize::MAX, false);
                    if self.pending_in.len() == before || self.pending_in.is_empty() {
                        break;
                    }
                }
            }
            Op::Tick { delta, stale } => {
                self.now += delta;
                let t = if *stale {
                    self.now.saturating_sub(delta / 2 + 7)
                } else {
                    self.now
                };
                self.tick(t);
            }
            Op::TickToDeadline => {
                let next = self
                    .l
                    .poll_timeout()
                    .or(self.l.reconnect_at())
                    .unwrap_or(self.now);
                self.now = self.now.max(next.min(self.now + 400_000));
                self.tick(self.now);
            }
            Op::Command(c) => self.command(c),
            Op::Transmit { k } => self.take(usize::from(*k)),
            Op::SetUnixTime { unix_ms } => {
                let t = self.at(self.now);
                self.l.set_unix_time(t, *unix_ms);
            }
            Op::PushRoundTrip(f) => {
                self.queue(&Piece::Push(f.clone()));
                self.deliver(usize::MAX, false);
                self.full_drain();
            }
            Op::FullDrain => {
                self.full_drain();
                all = self
                    .o
                    .conn
                    .as_ref()
                    .is_some_and(|c| c.close_requested.is_none());
            }
        }
        if !matches!(op, Op::Connect) {
            assert_eq!(self.o.connected_events, c0, "Connected without connected()");
        }
        if !matches!(op, Op::ConnectFailed) {
            assert_eq!(
                self.o.connect_failed_events, f0,
                "ConnectFailed without connect_failed()"
            );
        }
        if !matches!(op, Op::Close { .. }) {
            assert_eq!(self.o.closed_events, x0, "Closed without closed()");
        }
        self.check(all);
    }

    /// End of input: drain, let every deadline pass, close; every command must have completed.
    fn finish(&mut self) {
        if self.o.conn.is_some() {
            self.full_drain();
            let all = self
                .o
                .conn
                .as_ref()
                .is_some_and(|c| c.close_requested.is_none());
            self.check(all);
        }
        self.now += 200_000;
        self.tick(self.now);
        self.check(false);
        self.close(false);
        self.check(false);
        assert!(
            self.o.accepted.is_empty(),
            "commands never completed: {:?}",
            self.o.accepted.keys().collect::<Vec<_>>()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let entropy = u64::from(u.arbitrary::<u32>().unwrap_or(0));
    let mut h = Host::new(entropy);
    let mut ops = 0;
    while !u.is_empty() && ops < MAX_OPS {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        h.run(&op);
        ops += 1;
    }
    h.finish();
});
