//! The harness of targets 4 and 5 (`listener`, `listener_enc`): the sans-IO listener driven by
//! arbitrary operations, in plaintext or with FPNN encryption (the server's side of it is in
//! [`crypt`]; the encrypted mode's input layout is at [`run_encrypted`]).
//!
//! The input is a little-endian `u32` of entropy (it also picks the buffers: RX 4096 bytes, or
//! 64..=1087 when its top nibble is 0xf; TX 1024, or the minimum when bit 27 is set; both lent
//! to the listener as `Vec`s), then a sequence of operations (decoded by `Op::arbitrary`, front
//! to back, one byte of opcode then its fields; see `gen_seeds.py` for the encoding): connect /
//! connect failed / close, with a reason; queue bytes from the peer (pushes of every method with
//! fuzzer-chosen fields and encodings, mids from a small range to make duplicates, oneway and
//! twoway; answers to the quests the listener sent; recorded frames; raw garbage; frames larger
//! than RX, up to and just over 8 MiB, whose bodies are runs of zeros never held whole) and
//! deliver them in fuzzer-chosen chunks through `handle_input` or `input_window` +
//! `commit_input`; clock jumps (`handle_timeout`, sometimes with an older time); listen
//! commands; partial transmit acceptance (`consume_transmit(k)`). After every operation the
//! host drains `poll_events`, as the driving contract requires. At the end the model
//! server answers every listen quest with OK until the listener stops sending (restarting a
//! stalled sync with a command that changes nothing), then time runs past every deadline.
//!
//! The model server: every listen quest the listener sends is decoded (`addlisten`,
//! `removelisten`, the ids and the flags forms of `setlisten`) and applied to a per-connection
//! listen state in the order the quests were sent, when the first answer to it reaches the
//! listener with code 0 (a refused one is not applied). An earlier quest that never got an
//! answer (which the listener must not allow: a quest without an answer ends the connection)
//! would be applied then, or not, as the `Connect` op chose. A connection where the "server"
//! answered a quest before the transport took it (a guessed seq) is left out of the checks
//! that depend on the model server.
//!
//! Invariants (each an assertion below):
//! 1. no panic, and `poll_events` hands out a bounded number of events;
//! 2. every twoway push quest the listener consumed is answered exactly once, in order, on its
//!    connection: the answers in the transmitted bytes (plus what was still queued when the
//!    connection closed) are exactly the seqs of the consumed twoway quests (status 1 with the
//!    FPNN code of the reported error for a bad push, status 0 and `{}` otherwise); oneway
//!    pushes are never answered; bytes never accepted or dropped by a close do not count.
//!    Whenever `poll_events` has run and TX has room for any answer, every frame
//!    received whole (or, for an oversized frame, whose head was received) has been consumed,
//!    and a framing error in the stream has been reported;
//! 3. every event matches the next unconsumed frame (the same decoded value as `decode_push`;
//!    `BadPush` with the frame's method, error, seq and length), and the frames skipped without
//!    an event are answers or duplicates of a message already delivered (nothing is lost);
//! 4. no Message event for a (target, from, to, mid) delivered less than 299 s ago and fewer
//!    than `DEDUP_WINDOW` deliveries ago (TTL 300 s at second granularity; the filter keeps the
//!    most recent keys of each of its set-associative buckets, 8 ways each);
//! 5. (a) every accepted command completes exactly once (by `RequestId`), and all of them by
//!    the end (time runs past every deadline): with 0 all pending commands at once; with 20003
//!    (connected) or 20012 (not connected) only from `handle_timeout`, at or after its own
//!    deadline, and no command outlives its deadline; with a refusal code only if the server
//!    refused the listen quest in flight with that code, and then every command up to that
//!    quest's generation; never with 20002. A command is refused exactly when it must be
//!    (unsupported event, no free slot, too many ids). `desired_state()` is every accepted
//!    command applied in order; `listen_state()` is empty while disconnected and equals the
//!    desired state when `in_sync()`;
//! 6. queued transmit bytes are never altered, only appended to; they are whole frames: OK
//!    answers are exactly `{}`, error answers carry a known FPNN code and an `ex`, quests are
//!    `addlisten`/`removelisten`/`setlisten`/`*ping` with strictly increasing seqs (and listen
//!    quests strictly increasing salts); a listen quest carries the desired state (the flags
//!    form: the desired flags; `setlisten`: the desired ids and events; `addlisten`: only
//!    desired ones; `removelisten`: only undesired ones);
//!    (b) a listen quest is sent only when every earlier listen quest of its connection has
//!    been answered: at most one is in flight;
//! 7. `Connected`/`ConnectFailed`/`Closed` once per call, with the right `is_reconnect`, the
//!    reason given, `by_error` = `reason.is_error()` and `retry_in_ms` = `reconnect_at - now`;
//!    exactly one `Restored` per connection whose desired state was not empty at connect, none
//!    otherwise: 0 only when in sync, 20002 only from `closed`, 20003 only from
//!    `handle_timeout`, any other code only for a refusal; `CloseRequested` only for the
//!    stream's actual first framing error (a frame over 8 MiB included) or a dead link
//!    (nothing received for 110 s, or the listen quest in flight without an answer at its
//!    deadline, which always ends the connection); no push event once a close was asked for;
//! 8. after `handle_timeout(now)` with an empty transmit queue, `poll_timeout()` is later than
//!    `now` (a host sleeping until it never spins); `reconnect_at` is within the back-off cap;
//! 9. (c) quiescence: when connected, with TX empty, every received frame consumed, and the
//!    last listen quest answered OK (not after its deadline), the model server's state equals
//!    `desired_state()`, `in_sync()` is true and the restoration (if any) has been reported;
//! 10. (d) a frame larger than RX but within 8 MiB, however it is split, is reported once as
//!     `BadPush { error: FrameTooLarge }` with its seq, length and method (cut to what RX holds),
//!     a twoway one is answered once with status 1 and code 10002, an answer that size counts as
//!     an answer (code from its status), and the frames after it are delivered; `Stats` count
//!     the pushes, bad pushes and oversized frames reported.
//! 11. (encrypted mode) `*key` is the first frame of each connection and the only one before
//!     its answer, with the configured mode and key size and a point on the curve; what follows
//!     decrypts to the frames of invariants 2 and 6, every package holding exactly one whole
//!     frame; no listen quest or `*ping` before the server's OK to `*key` has been read; the
//!     listener reads what the reference reader of `crypt::Opener` reads (the plaintext, and
//!     `Protocol(BadPackage)` where a package breaks the stream, after the frames before it);
//!     `CloseRequested(KeyExchange { code })` only with the code of the first answer to `*key`
//!     (an error) or, from `handle_timeout`, 20003 once its quest timeout passed unanswered, and
//!     no connection outlives that timeout without an answer; quiescence (9) also needs the OK
//!     read; `Stats::key_exchanges` counts each connection whose OK was read and
//!     `key_exchange_failures` each other one (at the refusal or timeout, else at the close).

use std::collections::{BTreeSet, HashMap, VecDeque};

use arbitrary::{Arbitrary, Unstructured};
use rtm_listen::config::{DEDUP_CAPACITY, DEFAULT_RX, DEFAULT_TX, LISTEN_IDS, PENDING_QUESTS};
use rtm_listen::crypto::AesCfb;
use rtm_listen::rtm::answer::CODE_UNKNOWN_ERROR;
use rtm_listen::rtm::dispatch::{Callback, Category};
use rtm_listen::rtm::field::MessageError;
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::rtm::push::{Push, decode_push};
use rtm_listen::session::{
    CloseReason, CommandError, Config, DedupKey, Event, IdKind, IoError, IoKind, ListenView,
    Listener, MIN_RX, MIN_TX, RequestId, code,
};
use rtm_listen::wire::frame::{Frame, FrameError, MAX_FRAME_LEN, Status, parse_frame};

use crate::enc::{Enc, frame};
use crate::mp::{self, Tok};
use crate::{hex, model};

mod crypt;

/// The listener under test, over buffers the host lends.
type L = Listener<Vec<u8>, Vec<u8>>;

const UNIX_MS: i64 = 1_700_000_000_000;
const PID: u32 = 80_000_071;
const MAX_OPS: usize = 200;
/// Real bytes waiting to be delivered (the zero bodies of oversized frames are counted apart).
const MAX_PENDING_IN: usize = 16 * 1024;
const MAX_PENDING_ZEROS: usize = 3 * MAX_FRAME_LEN;
/// The most bytes handed to the listener in one call.
const CHUNK: usize = 1 << 16;
const DEAD_AFTER: u64 = 110_000;
const QUEST_TIMEOUT: u64 = 30_000;
/// Deliveries after which a key may have left the duplicate filter: an insert evicts the oldest
/// of its bucket's 8 ways (or of the whole table when it is smaller).
const DEDUP_WINDOW: u64 = if DEDUP_CAPACITY < 8 {
    DEDUP_CAPACITY as u64
} else {
    8
};
/// Encrypted mode: the most connections in one input.
const MAX_ENC_CONNECTIONS: u32 = 4;
/// Encrypted mode: the most `deliver_all` offers RX-sized chunks in one go.
const ENC_DELIVER_ROUNDS: usize = 512;
/// Room in TX for any answer the listener writes (an error answer naming a 255-byte unknown
/// method is 302 bytes).
const ANSWER_ROOM: usize = 320;

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
    /// A frame larger than RX (see `Host::big_frame`).
    Big {
        kind: u8,
        size: u8,
        extra: u16,
        method: u8,
        pick: u8,
        status: u8,
        raw_seq: u16,
    },
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
    /// `apply_lost`: the model server applies the listen quests that got no answer (see the
    /// module docs).
    Connect {
        apply_lost: bool,
    },
    ConnectFailed {
        reason: u8,
    },
    Close {
        reason: u8,
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

/// The reason given to `closed` or `connect_failed`: `sel % 12`, the last ones the reason of the
/// listener's own `CloseRequested` when there was one.
fn reason(sel: u8, requested: Option<CloseReason>) -> CloseReason {
    let io = |kind, errno| CloseReason::Io(IoError { kind, errno });
    match sel % 12 {
        0 => CloseReason::Host,
        1 => CloseReason::PeerClosed,
        2 => CloseReason::DeadLink,
        3 => CloseReason::Protocol(FrameError::BadMagic),
        4 => io(IoKind::ConnectionReset, 104),
        5 => io(IoKind::TimedOut, 110),
        6 => io(IoKind::ConnectionRefused, 111),
        7 => io(IoKind::UnknownHost, 0),
        8 => io(IoKind::BrokenPipe, 32),
        9 => io(IoKind::Other, -1),
        _ => requested.unwrap_or(CloseReason::Host),
    }
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
            0 => Op::Connect {
                apply_lost: b & 0x10 != 0,
            },
            1 => Op::ConnectFailed { reason: b >> 4 },
            2 => Op::Close { reason: b >> 4 },
            3 => Op::Queue(Piece::Push(gen_push(u)?)),
            4 => Op::Queue(Piece::Answer {
                pick: u.arbitrary()?,
                status: u.arbitrary()?,
                payload: u.arbitrary()?,
                raw_seq: u32::from(u.arbitrary::<u16>()?),
            }),
            5 if b & 0x10 != 0 => Op::Queue(Piece::Big {
                kind: u.arbitrary()?,
                size: u.arbitrary()?,
                extra: u.arbitrary()?,
                method: u.arbitrary()?,
                pick: u.arbitrary()?,
                status: u.arbitrary()?,
                raw_seq: u.arbitrary()?,
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
// Bytes waiting to be delivered: real bytes, and runs of zeros (the bodies of oversized
// frames, up to 8 MiB, never held whole). In the encrypted mode they are the server's
// plaintext, encrypted at the front as they are offered (see `crypt`).

enum SegData {
    Bytes(Vec<u8>),
    Zeros(usize),
}

struct Seg {
    data: SegData,
    /// Encrypted mode: the server restarts its cipher from the IV before this segment's first
    /// byte (a package's frame).
    restart: bool,
    /// Encrypted mode: sent as is (a package's length, or a piece sent unencrypted).
    raw: bool,
}

impl Seg {
    fn bytes(b: Vec<u8>) -> Self {
        Seg {
            data: SegData::Bytes(b),
            restart: false,
            raw: false,
        }
    }

    fn raw(b: Vec<u8>) -> Self {
        Seg {
            data: SegData::Bytes(b),
            restart: false,
            raw: true,
        }
    }

    fn len(&self) -> usize {
        match &self.data {
            SegData::Bytes(b) => b.len(),
            SegData::Zeros(z) => *z,
        }
    }
}

/// Encrypted mode: the server's sending cipher at the end of `cache`, the ciphertext of the
/// inbox's first bytes (offered to the listener and not yet taken).
struct Sealer {
    cipher: AesCfb,
    cache: Vec<u8>,
}

#[derive(Default)]
struct Inbox {
    segs: VecDeque<Seg>,
    real: usize,
    zeros: usize,
    sealer: Option<Sealer>,
}

impl Inbox {
    fn len(&self) -> usize {
        self.real + self.zeros
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&mut self) {
        *self = Self::default();
    }

    /// Appends `bytes` then `zeros` zero bytes, unless that exceeds the caps.
    fn push(&mut self, bytes: Vec<u8>, zeros: usize) {
        let mut segs = vec![Seg::bytes(bytes)];
        if zeros > 0 {
            segs.push(Seg {
                data: SegData::Zeros(zeros),
                restart: false,
                raw: false,
            });
        }
        self.push_segs(segs);
    }

    /// Appends `segs` (empty ones are dropped), unless that exceeds the caps.
    fn push_segs(&mut self, segs: Vec<Seg>) {
        let (mut real, mut zeros) = (0, 0);
        for s in &segs {
            match s.data {
                SegData::Bytes(ref b) => real += b.len(),
                SegData::Zeros(z) => zeros += z,
            }
        }
        if self.real + real > MAX_PENDING_IN || self.zeros + zeros > MAX_PENDING_ZEROS {
            return;
        }
        self.real += real;
        self.zeros += zeros;
        self.segs.extend(segs.into_iter().filter(|s| s.len() > 0));
    }

    /// Up to `n` bytes from the front, as the server sends them: encrypted when the sealer is
    /// on and `seal` (a listener that asked to close swallows input unread).
    fn front(&mut self, n: usize, seal: bool) -> Vec<u8> {
        let want = n.min(self.len());
        let Inbox { segs, sealer, .. } = self;
        let Some(s) = sealer.as_mut().filter(|_| seal) else {
            return self.plain_front(want);
        };
        let mut pos = 0;
        for seg in segs.iter() {
            let (l, have) = (seg.len(), s.cache.len());
            if have >= want {
                break;
            }
            if pos + l <= have {
                pos += l;
                continue;
            }
            let (from, to) = (have - pos, (want - pos).min(l));
            if from == 0 && seg.restart {
                s.cipher.reset();
            }
            let mut chunk = match &seg.data {
                SegData::Bytes(b) => b[from..to].to_vec(),
                SegData::Zeros(_) => vec![0; to - from],
            };
            if !seg.raw {
                s.cipher.encrypt(&mut chunk);
            }
            s.cache.extend_from_slice(&chunk);
            pos += l;
        }
        s.cache[..want].to_vec()
    }

    /// The first `n` bytes as queued.
    fn plain_front(&self, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.segs {
            let left = n - out.len();
            if left == 0 {
                break;
            }
            match &s.data {
                SegData::Bytes(b) => out.extend_from_slice(&b[..left.min(b.len())]),
                SegData::Zeros(z) => out.resize(out.len() + left.min(*z), 0),
            }
        }
        out
    }

    fn drop_front(&mut self, mut n: usize) {
        if let Some(s) = &mut self.sealer {
            s.cache.drain(..n.min(s.cache.len()));
        }
        while n > 0 {
            let Some(s) = self.segs.front_mut() else {
                break;
            };
            let (k, empty) = match &mut s.data {
                SegData::Bytes(b) => {
                    let k = n.min(b.len());
                    b.drain(..k);
                    self.real -= k;
                    (k, b.is_empty())
                }
                SegData::Zeros(z) => {
                    let k = n.min(*z);
                    *z -= k;
                    self.zeros -= k;
                    (k, *z == 0)
                }
            };
            // Its first byte went out: the restart is behind.
            s.restart = false;
            n -= k;
            if empty {
                self.segs.pop_front();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Listen states and the listen quests on the wire.

/// A listen state: the desired one (every accepted command applied in order), the listener's
/// views of it, or the model server's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ListenModel {
    ids: BTreeSet<(u8, i64)>,
    /// Bit 0 `login`, bit 1 `logout`.
    events: u8,
    flags: ListenFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListOp {
    Add,
    Remove,
    Set,
}

/// What a listen quest carries.
#[derive(Debug, Clone)]
enum QuestBody {
    /// The flags form of `setlisten`.
    Flags(ListenFlags),
    Ids {
        op: ListOp,
        ids: BTreeSet<(u8, i64)>,
        events: u8,
    },
}

impl ListenModel {
    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.events == 0 && !self.flags.any()
    }

    /// A listener's view, its invariants checked (sorted unique ids, event names in order).
    fn of(v: &ListenView<'_>) -> Self {
        let mut ids = BTreeSet::new();
        for kind in [IdKind::Group, IdKind::Room, IdKind::User] {
            let l = v.ids.of(kind);
            assert!(
                l.windows(2).all(|w| w[0] < w[1]),
                "{kind:?} ids not sorted and unique: {l:?}"
            );
            ids.extend(l.iter().map(|&id| (kind as u8, id)));
        }
        let events = v
            .event_names()
            .iter()
            .map(|e| match *e {
                "login" => 1,
                "logout" => 2,
                other => panic!("event name {other}"),
            })
            .fold(0, |a, b| a | b);
        let names: Vec<&str> = ["login", "logout"]
            .into_iter()
            .enumerate()
            .filter(|(i, _)| events & (1 << i) != 0)
            .map(|x| x.1)
            .collect();
        assert_eq!(v.event_names(), &names[..], "event names");
        Self {
            ids,
            events,
            flags: v.flags,
        }
    }

    fn apply(&mut self, op: ListOp, ids: impl Iterator<Item = (u8, i64)>, events: u8) {
        match op {
            ListOp::Add => {
                self.ids.extend(ids);
                self.events |= events;
            }
            ListOp::Remove => {
                for x in ids {
                    self.ids.remove(&x);
                }
                self.events &= !events;
            }
            ListOp::Set => {
                self.ids = ids.collect();
                self.events = events;
            }
        }
    }

    fn apply_cmd(&mut self, cmd: &Cmd) {
        match cmd {
            Cmd::Flags(f) => self.flags = *f,
            Cmd::Listen {
                op,
                gids,
                rids,
                uids,
                events,
            } => {
                let op = [ListOp::Add, ListOp::Remove, ListOp::Set][usize::from(*op).min(2)];
                self.apply(op, cmd_ids(gids, rids, uids), events & 3);
            }
        }
    }

    fn apply_quest(&mut self, q: &QuestBody) {
        match q {
            QuestBody::Flags(f) => self.flags = *f,
            QuestBody::Ids { op, ids, events } => self.apply(*op, ids.iter().copied(), *events),
        }
    }
}

fn cmd_ids<'a>(
    gids: &'a [i64],
    rids: &'a [i64],
    uids: &'a [i64],
) -> impl Iterator<Item = (u8, i64)> + 'a {
    let kind = |k: IdKind| move |&id: &i64| (k as u8, id);
    gids.iter()
        .map(kind(IdKind::Group))
        .chain(rids.iter().map(kind(IdKind::Room)))
        .chain(uids.iter().map(kind(IdKind::User)))
}

fn tok<'a>(b: &mut &'a [u8]) -> Tok<'a> {
    let (t, n) =
        mp::token(b).unwrap_or_else(|e| panic!("listen quest payload: {e:?} at {}", hex(b)));
    *b = &b[n..];
    t
}

fn int_tok(t: Tok<'_>) -> Option<i64> {
    match t {
        Tok::UInt(u) => i64::try_from(u).ok(),
        Tok::SInt(i) => Some(i),
        _ => None,
    }
}

/// Decodes a listen quest as the server would: its body and its salt. Checks the auth keys'
/// presence and types, and that nothing else is there.
fn parse_listen(method: &[u8], payload: &[u8]) -> (QuestBody, i64) {
    let mut b = payload;
    let Tok::Map(n) = tok(&mut b) else {
        panic!("listen quest payload is not a map: {}", hex(payload));
    };
    let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut salt = None;
    let mut ids = BTreeSet::new();
    let mut events = 0u8;
    let mut flags = ListenFlags::default();
    let mut nflags = 0;
    for _ in 0..n {
        let Tok::Str(k) = tok(&mut b) else {
            panic!("listen quest with a non-string key: {}", hex(payload));
        };
        assert!(
            keys.insert(k.to_vec()),
            "listen quest key {} twice",
            String::from_utf8_lossy(k)
        );
        match k {
            b"pid" => assert_eq!(tok(&mut b), Tok::UInt(u64::from(PID)), "pid"),
            b"sign" => match tok(&mut b) {
                Tok::Str(s) if s.len() == 32 && s.iter().all(u8::is_ascii_hexdigit) => {}
                t => panic!("sign {t:?}"),
            },
            b"salt" => salt = Some(int_tok(tok(&mut b)).expect("salt is an integer")),
            b"ts" => {
                int_tok(tok(&mut b)).expect("ts is an integer");
            }
            b"gids" | b"rids" | b"uids" => {
                let kind = match k {
                    b"gids" => IdKind::Group,
                    b"rids" => IdKind::Room,
                    _ => IdKind::User,
                } as u8;
                let Tok::Array(m) = tok(&mut b) else {
                    panic!("{} is not an array", String::from_utf8_lossy(k));
                };
                for _ in 0..m {
                    let id = int_tok(tok(&mut b)).expect("an id is an integer");
                    assert!(ids.insert((kind, id)), "id {id} twice in a listen quest");
                }
            }
            b"events" => {
                let Tok::Array(m) = tok(&mut b) else {
                    panic!("events is not an array");
                };
                for _ in 0..m {
                    let bit = match tok(&mut b) {
                        Tok::Str(b"login") => 1,
                        Tok::Str(b"logout") => 2,
                        t => panic!("event {t:?}"),
                    };
                    assert!(events & bit == 0, "event twice");
                    events |= bit;
                }
            }
            b"group" | b"room" | b"p2p" | b"ev" => {
                let Tok::Bool(v) = tok(&mut b) else {
                    panic!("flag {} is not a bool", String::from_utf8_lossy(k));
                };
                match k {
                    b"group" => flags.group = v,
                    b"room" => flags.room = v,
                    b"p2p" => flags.p2p = v,
                    _ => flags.ev = v,
                }
                nflags += 1;
            }
            other => panic!("listen quest key {}", String::from_utf8_lossy(other)),
        }
    }
    assert!(b.is_empty(), "bytes after the listen quest's payload");
    for k in ["pid", "sign", "salt", "ts"] {
        assert!(keys.contains(k.as_bytes()), "listen quest without {k}");
    }
    let body = if nflags > 0 {
        assert_eq!(nflags, 4, "flags form with {nflags} flags");
        assert_eq!(method, b"setlisten", "flags in a {method:?} quest");
        assert!(ids.is_empty() && events == 0, "flags and ids in one quest");
        QuestBody::Flags(flags)
    } else {
        let op = match method {
            b"addlisten" => ListOp::Add,
            b"removelisten" => ListOp::Remove,
            b"setlisten" => ListOp::Set,
            m => panic!("listen quest {:?}", String::from_utf8_lossy(m)),
        };
        QuestBody::Ids { op, ids, events }
    };
    (body, salt.expect("salt"))
}

/// A listen quest is planned from the desired state of the moment it is sent.
fn check_planned(q: &QuestBody, d: &ListenModel) {
    let ok = match q {
        QuestBody::Flags(f) => *f == d.flags,
        QuestBody::Ids {
            op: ListOp::Set,
            ids,
            events,
        } => *ids == d.ids && *events == d.events,
        QuestBody::Ids {
            op: ListOp::Add,
            ids,
            events,
        } => ids.is_subset(&d.ids) && events & !d.events == 0 && (!ids.is_empty() || *events != 0),
        QuestBody::Ids {
            op: ListOp::Remove,
            ids,
            events,
        } => ids.is_disjoint(&d.ids) && events & d.events == 0 && (!ids.is_empty() || *events != 0),
    };
    assert!(
        ok,
        "listen quest {q:?} does not follow the desired state {d:?}"
    );
}

/// Whether the head of the frame too large for RX that starts `bytes` has arrived as the
/// listener needs it: header, seq and method, or `rx_len` bytes (the method is cut there).
fn head_ready(bytes: &[u8], rx_len: usize) -> bool {
    if bytes.len() < 12 {
        return false;
    }
    let want = match bytes[6] {
        0 => 12 + usize::from(bytes[7]),
        1 => 16 + usize::from(bytes[7]),
        _ => 16,
    };
    bytes.len() >= want.min(rx_len)
}

/// The code the listener takes from an answer to its listen quest.
fn answer_code(status: u8, payload: &[u8]) -> i64 {
    match model::answer(status, payload) {
        Ok(a) => a.code,
        Err(_) if status == 0 => code::OK,
        Err(_) => CODE_UNKNOWN_ERROR,
    }
}

// ---------------------------------------------------------------------------------------
// The harness: a host around the listener, and the observer that checks it.

/// A frame the listener accepted, in `Conn::rx`. An oversized one keeps only its first
/// `rx_len` bytes (`stored`); the rest streamed through.
struct RxFrame {
    start: usize,
    len: usize,
    stored: usize,
    big: bool,
}

/// A received frame as the listener sees it (for an oversized frame: its head).
enum Head<'a> {
    Quest {
        seq: Option<u32>,
        method: &'a [u8],
        /// `None` for an oversized frame.
        payload: Option<&'a [u8]>,
    },
    Answer {
        seq: u32,
        status: u8,
        payload: &'a [u8],
    },
}

/// A listen quest the listener sent.
struct LQuest {
    seq: u32,
    /// End offset in `Conn::emitted`.
    end: usize,
    deadline: u64,
    /// Commands accepted when it was sent (the listener's generation).
    generation: u32,
    body: QuestBody,
    /// The first answer to it received: its index in `Conn::frames`, and its code.
    answer: Option<usize>,
    code: Option<i64>,
    /// By the model server.
    processed: bool,
    /// `handle_timeout` ran past its deadline before its answer was known to be consumed.
    maybe_timed_out: bool,
}

/// One connection as the peer sees it.
#[derive(Default)]
struct Conn {
    /// Bytes the listener accepted on this connection (of an oversized frame, the first RX).
    rx: Vec<u8>,
    /// `rx` split into frames, up to the first framing error.
    frames: Vec<RxFrame>,
    rx_parsed: usize,
    rx_error: Option<FrameError>,
    /// Bytes of the last (oversized) frame still to come.
    big_left: usize,
    /// Frames whose head has arrived (their answers went to the model server).
    heads: usize,
    /// Next frame not yet matched to an event.
    cursor: usize,
    /// Frames the listener has certainly consumed.
    consumed: usize,
    /// Answers owed for the frames before `cursor`: (seq, status, code).
    expected: Vec<(u32, u8, i64)>,
    /// Every byte the listener queued for transmit on this connection, in order.
    emitted: Vec<u8>,
    /// How many of them the transport took.
    taken: usize,
    tx_parsed: usize,
    /// Answers found in `emitted`: (seq, status, code).
    answers: Vec<(u32, u8, i64)>,
    /// The listener's quests (listen quests and pings): (end offset in `emitted`, seq).
    quests: Vec<(usize, u32)>,
    listen: Vec<LQuest>,
    /// Seqs answered before any quest had them.
    early: BTreeSet<u32>,
    /// The model server's listen state.
    server: ListenModel,
    apply_lost: bool,
    /// The "server" answered a quest it had not received: no model-server checks.
    broken: bool,
    last_rx: u64,
    close_requested: Option<CloseReason>,
    restore_expected: bool,
    restored: u32,
    /// Encrypted mode: the key exchange.
    key: Option<KeyEx>,
}

/// Encrypted mode: a connection's key exchange as the server sees it.
struct KeyEx {
    seq: u32,
    /// The listener's clock at `connected`.
    since: u64,
    /// The transport took the whole `*key` quest.
    taken: bool,
    /// The first answer to `*key` received: its index in `Conn::frames`, and its code.
    answer: Option<(usize, i64)>,
    /// The listener asked to close with `KeyExchange` (a refusal or the timeout).
    failed: bool,
}

impl KeyEx {
    /// The listener has certainly read the server's OK: listens may go.
    fn done(&self, consumed: usize) -> bool {
        !self.failed
            && self
                .answer
                .is_some_and(|(i, code)| code == code::OK && i < consumed)
    }
}

impl Conn {
    /// Frame `i` as the listener reads it; `None` for an oversized frame whose head has not
    /// arrived (header, seq and method, the method cut at what `rx_len` bytes hold).
    fn head(&self, i: usize, rx_len: usize) -> Option<Head<'_>> {
        let f = &self.frames[i];
        let bytes = &self.rx[f.start..f.start + f.stored];
        if !f.big {
            return Some(match parse_frame(bytes, usize::MAX) {
                Ok(Status::Complete(
                    Frame::Quest {
                        seq,
                        method,
                        payload,
                    },
                    _,
                )) => Head::Quest {
                    seq,
                    method,
                    payload: Some(payload),
                },
                Ok(Status::Complete(
                    Frame::Answer {
                        seq,
                        status,
                        payload,
                    },
                    _,
                )) => Head::Answer {
                    seq,
                    status,
                    payload,
                },
                other => unreachable!("Conn::frames holds a frame that does not parse: {other:?}"),
            });
        }
        if !head_ready(bytes, rx_len) {
            return None;
        }
        let (mtype, ss) = (bytes[6], usize::from(bytes[7]));
        let hl = if mtype == 0 { 12 } else { 16 };
        let want = if mtype == 2 { hl } else { hl + ss };
        let seq = (mtype != 0).then(|| u32::from_le_bytes(bytes[12..16].try_into().unwrap()));
        Some(match seq {
            Some(seq) if mtype == 2 => Head::Answer {
                seq,
                status: bytes[7],
                payload: &[],
            },
            _ => Head::Quest {
                seq,
                method: &bytes[hl..want.min(bytes.len())],
                payload: None,
            },
        })
    }

    fn parse_rx(&mut self, rx_len: usize) {
        while self.rx_error.is_none() && self.big_left == 0 && self.rx_parsed < self.rx.len() {
            match parse_frame(&self.rx[self.rx_parsed..], rx_len) {
                Ok(Status::Complete(_, n)) => {
                    self.frames.push(RxFrame {
                        start: self.rx_parsed,
                        len: n,
                        stored: n,
                        big: false,
                    });
                    self.rx_parsed += n;
                }
                Ok(Status::Partial(_)) => break,
                Err(FrameError::TooLarge { len, .. }) if len <= MAX_FRAME_LEN => {
                    let avail = self.rx.len() - self.rx_parsed;
                    assert!(
                        avail <= rx_len && avail < len,
                        "the listener took {avail} bytes of a {len}-byte frame into {rx_len} bytes"
                    );
                    self.frames.push(RxFrame {
                        start: self.rx_parsed,
                        len,
                        stored: avail,
                        big: true,
                    });
                    self.big_left = len - avail;
                    self.rx_parsed = self.rx.len();
                }
                Err(FrameError::TooLarge { len, .. }) => {
                    // Over 8 MiB: reported as soon as its header is there.
                    self.rx_error = Some(FrameError::TooLarge {
                        len,
                        max: MAX_FRAME_LEN,
                    });
                }
                Err(e) => self.rx_error = Some(e),
            }
        }
    }
}

#[derive(Default)]
struct Observer {
    rx_len: usize,
    eff_now: u64,
    conn: Option<Conn>,
    /// Connections that came up, attempts that failed.
    connections: u32,
    connect_failures: u64,
    /// Commands accepted and not yet completed: id -> (command, generation, accepted at).
    accepted: HashMap<u32, (Cmd, u32, u64)>,
    completed: BTreeSet<u32>,
    /// Accepted commands (the listener's generation).
    generation: u32,
    /// The desired state.
    model: ListenModel,
    /// Key -> (time, delivery number) of the last delivery.
    delivered: HashMap<DedupKey, (u64, u64)>,
    deliveries: u64,
    last_quest_seq: u32,
    last_salt: Option<i64>,
    pushes: u64,
    bad_pushes: u64,
    oversized: u64,
    quiescent: u32,
    // What happened during the current operation:
    connected_events: u32,
    connect_failed_events: u32,
    closed_events: u32,
    events_this_op: usize,
    in_tick: bool,
    /// In this `handle_timeout`, the listen quest in flight may have reached its deadline
    /// without an answer (the listener then ends the connection).
    quest_due: bool,
    ticked: bool,
    in_close: bool,
    expect_reason: Option<CloseReason>,
    retry: Option<u64>,
    ok_completion: bool,
    /// Refusal codes seen (completions and restorations), with the command's generation.
    refusals: Vec<(Option<u32>, i64)>,
    restored_ok: bool,
    /// Encrypted mode: the key exchanges of closed connections that succeeded and failed.
    key_ok: u64,
    key_failed: u64,
}

/// `RTM_FUZZ_TRACE=1` prints every operation and event (for reading a reproducer).
fn trace() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("RTM_FUZZ_TRACE").is_some())
}

fn key(m: &rtm_listen::rtm::push::Message<'_>) -> DedupKey {
    DedupKey {
        target: m.target,
        from: m.from,
        to: m.to,
        mid: m.mid,
    }
}

/// How `match_frame` treats one frame.
enum Step {
    /// The event's frame; the answer it is owed.
    Matched(Option<(u32, u8, i64)>),
    /// Consumed without an event (an answer, a duplicate); the answer it is owed.
    Skipped(Option<(u32, u8, i64)>),
    Fail(String),
}

impl Observer {
    fn on_event(&mut self, ev: &Event<'_>) {
        if trace() {
            eprintln!("    event {ev:?}");
        }
        self.events_this_op += 1;
        assert!(self.events_this_op < 5_000, "poll_events does not run dry");
        let after_close = self.conn.as_ref().and_then(|c| c.close_requested);
        if let Some(r) = after_close
            && matches!(
                ev,
                Event::Message(_)
                    | Event::BadPush { .. }
                    | Event::PushEvent(_)
                    | Event::Ping
                    | Event::Kickout
                    | Event::KickoutRoom { .. }
            )
        {
            // The stream is unusable once a close is asked for: nothing more is read from it.
            panic!("push event {ev:?} after CloseRequested({r:?})");
        }
        match ev {
            Event::Connected { is_reconnect } => {
                self.connected_events += 1;
                assert_eq!(
                    *is_reconnect,
                    self.connections > 1,
                    "Connected.is_reconnect"
                );
            }
            Event::ConnectFailed {
                is_reconnect,
                reason,
                retry_in_ms,
            } => {
                self.connect_failed_events += 1;
                assert_eq!(
                    *is_reconnect,
                    self.connections > 0,
                    "ConnectFailed.is_reconnect"
                );
                assert_eq!(Some(*reason), self.expect_reason, "ConnectFailed.reason");
                self.retry = Some(*retry_in_ms);
            }
            Event::Closed {
                by_error,
                is_reconnect,
                reason,
                retry_in_ms,
            } => {
                self.closed_events += 1;
                assert_eq!(Some(*reason), self.expect_reason, "Closed.reason");
                assert_eq!(*by_error, reason.is_error(), "Closed.by_error");
                assert_eq!(*is_reconnect, self.connections > 1, "Closed.is_reconnect");
                self.retry = Some(*retry_in_ms);
            }
            Event::Completed(c) => {
                let RequestId(id) = c.request;
                let (_, generation, at) = self.accepted.remove(&id).unwrap_or_else(|| {
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
                match c.code {
                    code::OK => self.ok_completion = true,
                    code::TIMEOUT | code::NOT_CONNECTED => {
                        assert!(self.in_tick, "completion {} outside handle_timeout", c.code);
                        assert!(
                            self.eff_now >= at + QUEST_TIMEOUT,
                            "request {id} of {at} completed with {} at {}",
                            c.code,
                            self.eff_now
                        );
                        assert_eq!(
                            c.code == code::TIMEOUT,
                            self.conn.is_some(),
                            "20003 when connected, 20012 when not"
                        );
                    }
                    code::CONNECTION_CLOSED => {
                        panic!("request {id} completed with 20002: a close keeps commands")
                    }
                    other => self.refusals.push((Some(generation), other)),
                }
            }
            Event::Restored { code: rc } => {
                let c = self.conn.as_mut().expect("Restored without a connection");
                c.restored += 1;
                assert!(
                    c.restore_expected && c.restored == 1,
                    "Restored #{} (restore expected: {})",
                    c.restored,
                    c.restore_expected
                );
                match *rc {
                    code::OK => self.restored_ok = true,
                    code::CONNECTION_CLOSED => {
                        assert!(self.in_close, "Restored(20002) not in closed")
                    }
                    code::TIMEOUT => assert!(self.in_tick, "Restored(20003) not in handle_timeout"),
                    code::NOT_CONNECTED => panic!("Restored(20012)"),
                    other => self.refusals.push((None, other)),
                }
            }
            Event::CloseRequested(reason) => {
                let (eff, in_tick) = (self.eff_now, self.in_tick);
                let c = self
                    .conn
                    .as_mut()
                    .expect("CloseRequested without a connection");
                assert!(
                    c.close_requested.is_none(),
                    "second CloseRequested: {reason:?} after {:?}",
                    c.close_requested
                );
                match reason {
                    CloseReason::DeadLink => assert!(
                        eff > c.last_rx + DEAD_AFTER || self.quest_due,
                        "DeadLink at {eff}, last rx {}, no listen quest due",
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
                    CloseReason::KeyExchange { code: kc } => {
                        let consumed = c.consumed;
                        let k = c
                            .key
                            .as_mut()
                            .expect("CloseRequested(KeyExchange) on a plaintext connection");
                        // Refused by the server's first answer to `*key`, or no answer read by
                        // the quest timeout.
                        let refused = k.answer.is_some_and(|(_, a)| a == *kc && a != code::OK);
                        let timed_out = *kc == code::TIMEOUT
                            && in_tick
                            && eff >= k.since + QUEST_TIMEOUT
                            && k.answer.is_none_or(|(i, _)| i >= consumed);
                        assert!(
                            refused || timed_out,
                            "CloseRequested(KeyExchange {{ code: {kc} }}): *key answered {:?} \
                             ({consumed} frames consumed), connected at {}, now {eff}",
                            k.answer,
                            k.since
                        );
                        k.failed = true;
                    }
                    other => panic!("CloseRequested({other:?})"),
                }
                c.close_requested.get_or_insert(*reason);
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
                        self.eff_now - t >= 299_000 || self.deliveries - n >= DEDUP_WINDOW,
                        "duplicate delivered: {k:?} first at {t} (delivery {n}), again at {} (delivery {})",
                        self.eff_now,
                        self.deliveries
                    );
                }
                self.match_frame(ev);
                self.pushes += 1;
                self.delivered.insert(k, (self.eff_now, self.deliveries));
                self.deliveries += 1;
            }
            Event::BadPush { error, .. } => {
                self.bad_pushes += 1;
                self.oversized += u64::from(*error == MessageError::FrameTooLarge);
                self.match_frame(ev);
            }
            Event::PushEvent(_) | Event::Ping | Event::Kickout | Event::KickoutRoom { .. } => {
                self.pushes += 1;
                self.match_frame(ev);
            }
        }
    }

    /// Matches a push event to the next frame that must produce one.
    fn match_frame(&mut self, ev: &Event<'_>) {
        let Observer {
            conn,
            delivered,
            rx_len,
            ..
        } = self;
        let c = conn.as_mut().expect("push event without a connection");
        loop {
            let i = c.cursor;
            assert!(
                i < c.frames.len(),
                "event {ev:?} but no frame left (cursor {i})"
            );
            let len = c.frames[i].len;
            let step = match c.head(i, *rx_len) {
                None => Step::Fail(format!(
                    "event {ev:?} for frame {i}, whose head has not arrived"
                )),
                Some(Head::Answer { .. }) => Step::Skipped(None),
                Some(Head::Quest {
                    seq,
                    method,
                    payload: None,
                }) => match ev {
                    Event::BadPush {
                        method: m,
                        error: MessageError::FrameTooLarge,
                        seq: s,
                        len: l,
                    } if *m == method && *s == seq && *l == len => {
                        Step::Matched(seq.map(|s| (s, 1, MessageError::FrameTooLarge.fpnn_code())))
                    }
                    _ => Step::Fail(format!(
                        "oversized frame {i} ({len} bytes, method {:?}, seq {seq:?}) but event {ev:?}",
                        String::from_utf8_lossy(method)
                    )),
                },
                Some(Head::Quest {
                    seq,
                    method,
                    payload: Some(payload),
                }) => {
                    let d = decode_push(method, payload);
                    let matched = match (ev, &d) {
                        (Event::Message(me), Ok(Push::Message(m))) => me.message == *m,
                        (Event::PushEvent(e), Ok(Push::Event(x))) => e == x,
                        (Event::Ping, Ok(Push::Ping)) | (Event::Kickout, Ok(Push::Kickout)) => true,
                        (Event::KickoutRoom { rid }, Ok(Push::KickoutRoom { rid: r })) => rid == r,
                        (
                            Event::BadPush {
                                method: em,
                                error,
                                seq: es,
                                len: el,
                            },
                            Err(e),
                        ) => *em == method && error == e && *es == seq && *el == len,
                        _ => false,
                    };
                    let owed = |code: i64| seq.map(|s| (s, u8::from(code != 0), code));
                    match &d {
                        _ if matched => {
                            Step::Matched(owed(d.as_ref().err().map_or(0, |e| e.fpnn_code())))
                        }
                        Ok(Push::Message(m)) if delivered.contains_key(&key(m)) => {
                            Step::Skipped(owed(0))
                        }
                        _ => Step::Fail(format!(
                            "frame {i} ({:?}: {d:?}) consumed without its event; next event is {ev:?}",
                            String::from_utf8_lossy(method)
                        )),
                    }
                }
            };
            c.cursor += 1;
            c.consumed = c.consumed.max(c.cursor);
            match step {
                Step::Matched(owed) => {
                    c.expected.extend(owed);
                    return;
                }
                Step::Skipped(owed) => c.expected.extend(owed),
                Step::Fail(msg) => panic!("{msg}"),
            }
        }
    }

    /// Bytes the listener accepted: stored, split into frames, answers to the model server.
    fn on_rx(&mut self, data: &[u8]) {
        let rx_len = self.rx_len;
        let Some(c) = self.conn.as_mut() else { return };
        let mut data = data;
        if c.big_left > 0 {
            let k = c.big_left.min(data.len());
            let f = c.frames.last_mut().expect("an oversized frame");
            let keep = k.min(rx_len - f.stored);
            c.rx.extend_from_slice(&data[..keep]);
            f.stored += keep;
            c.big_left -= k;
            c.rx_parsed = c.rx.len();
            data = &data[k..];
        }
        c.rx.extend_from_slice(data);
        c.parse_rx(rx_len);
        let mut answers = Vec::new();
        while c.heads < c.frames.len() {
            match c.head(c.heads, rx_len) {
                None => break,
                Some(Head::Answer {
                    seq,
                    status,
                    payload,
                }) => answers.push((seq, answer_code(status, payload), c.heads)),
                Some(Head::Quest { .. }) => {}
            }
            c.heads += 1;
        }
        for (seq, code, idx) in answers {
            self.on_answer(seq, code, idx);
        }
    }

    /// Encrypted mode: the stream broke (a bad package) after the bytes `on_rx` was given: the
    /// listener must report it after the frames before it, unless one of them broke it first.
    fn stream_broke(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            c.rx_error.get_or_insert(FrameError::BadPackage);
        }
    }

    /// Encrypted mode: the bounds of `Stats::key_exchanges` (the current connection's OK may
    /// not have been read yet) and the exact `Stats::key_exchange_failures`.
    fn key_counts(&self) -> (u64, u64, u64) {
        let (mut lo, mut hi, mut failed) = (self.key_ok, self.key_ok, self.key_failed);
        if let Some(c) = &self.conn
            && let Some(k) = &c.key
        {
            if k.failed {
                failed += 1;
            } else if k.answer.is_some_and(|(_, code)| code == code::OK) {
                hi += 1;
                lo += u64::from(k.done(c.consumed));
            }
        }
        (lo, hi, failed)
    }

    /// The model server: an answer reached the listener. Quests are applied in the order they
    /// were sent, each when its first answer arrives, unanswered earlier ones first.
    fn on_answer(&mut self, seq: u32, code: i64, idx: usize) {
        let last_seq = self.last_quest_seq;
        let c = self.conn.as_mut().expect("an answer without a connection");
        if let Some(k) = c.key.as_mut()
            && k.seq == seq
            && k.answer.is_none()
        {
            // The server's answer to `*key` (a second one is a late answer like any other).
            k.answer = Some((idx, code));
            return;
        }
        let Some(i) = c.listen.iter().position(|q| q.seq == seq) else {
            if seq > last_seq {
                c.early.insert(seq);
            }
            return;
        };
        if c.listen[i].end > c.taken {
            c.broken = true;
        }
        if c.listen[i].answer.is_none() {
            c.listen[i].answer = Some(idx);
            c.listen[i].code = Some(code);
        }
        if !c.listen[i].processed {
            for j in 0..=i {
                let q = &mut c.listen[j];
                if q.processed {
                    continue;
                }
                q.processed = true;
                if (j == i && code == code::OK) || (j < i && c.apply_lost) {
                    c.server.apply_quest(&q.body);
                }
            }
        }
    }

    /// Brings `emitted` up to date with the transmit queue and checks the new frames.
    fn sync_tx(&mut self, pending: &[u8]) {
        let Observer {
            conn,
            model,
            last_quest_seq,
            last_salt,
            eff_now,
            generation,
            ..
        } = self;
        let Some(c) = conn.as_mut() else {
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
                    let code = match status {
                        0 => {
                            assert_eq!(payload, &[0x80], "OK answer payload");
                            0
                        }
                        1 => {
                            let a = model::answer(1, payload).expect("error answer payload");
                            assert!(
                                [20004, 10002, 10003, 10006, 10009, 10010].contains(&a.code),
                                "error answer code {}",
                                a.code
                            );
                            assert!(!a.ex.is_empty(), "error answer without ex");
                            a.code
                        }
                        s => panic!("answer status {s}"),
                    };
                    c.answers.push((seq, status, code));
                }
                Frame::Quest {
                    seq,
                    method,
                    payload,
                } => {
                    let seq = seq.expect("the listener sent a oneway quest");
                    assert!(
                        [&b"addlisten"[..], b"removelisten", b"setlisten", b"*ping"]
                            .contains(&method),
                        "quest {:?}",
                        String::from_utf8_lossy(method)
                    );
                    // Encrypted mode: listens and pings only after the server's OK to `*key`.
                    if let Some(k) = &c.key {
                        assert!(
                            !k.failed && k.answer.is_some_and(|(_, code)| code == code::OK),
                            "quest {:?} sent before the key exchange's OK (answer {:?})",
                            String::from_utf8_lossy(method),
                            k.answer
                        );
                    }
                    assert!(
                        seq > *last_quest_seq,
                        "quest seq {seq} after {last_quest_seq}"
                    );
                    *last_quest_seq = seq;
                    let end = c.tx_parsed + n;
                    c.quests.push((end, seq));
                    if method == b"*ping" {
                        assert_eq!(payload, &[0x80], "*ping payload");
                    } else {
                        let (body, salt) = parse_listen(method, payload);
                        assert!(
                            last_salt.is_none_or(|s| salt > s),
                            "salt {salt} after {last_salt:?}"
                        );
                        *last_salt = Some(salt);
                        check_planned(&body, model);
                        // (b): one listen quest in flight.
                        for q in &c.listen {
                            assert!(
                                q.answer.is_some() || c.broken,
                                "listen quest {seq} sent while quest {} awaits its answer",
                                q.seq
                            );
                        }
                        if c.early.contains(&seq) {
                            c.broken = true;
                        }
                        c.listen.push(LQuest {
                            seq,
                            end,
                            deadline: *eff_now + QUEST_TIMEOUT,
                            generation: *generation,
                            body,
                            answer: None,
                            code: None,
                            processed: false,
                            maybe_timed_out: false,
                        });
                    }
                }
            }
            c.tx_parsed += n;
        }
    }

    /// The answers on the wire against the frames consumed. With `all`, every frame received
    /// (or whose head was, for an oversized one) must have been consumed, and a framing error
    /// after them reported.
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
        let mut owed = 0;
        let mut stopped_at = None;
        for idx in c.cursor..c.frames.len() {
            let Some(head) = c.head(idx, self.rx_len) else {
                break;
            };
            let (seq, method, payload) = match head {
                Head::Answer { .. } => continue,
                Head::Quest {
                    seq,
                    method,
                    payload: Some(p),
                } => (seq, method, p),
                Head::Quest { payload: None, .. } => {
                    stopped_at = Some(idx);
                    break;
                }
            };
            let dup = matches!(decode_push(method, payload), Ok(Push::Message(m)) if self.delivered.contains_key(&key(&m)));
            owed += usize::from(dup && seq.is_some());
            match (dup, seq) {
                (true, None) => {}
                (true, Some(s)) if i < extra.len() => {
                    assert_eq!(extra[i], (s, 0, 0), "answer to duplicate frame {idx}");
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
            assert_eq!(i, owed, "duplicates left unanswered");
            let due = match c.rx_error {
                None => false,
                // A frame over 8 MiB: as soon as its 12-byte header is there.
                Some(FrameError::TooLarge { .. }) => c.rx.len() - c.rx_parsed >= 12,
                Some(_) => true,
            };
            assert!(
                !due || c.close_requested.is_some(),
                "framing error {:?} never reported",
                c.rx_error
            );
        }
    }
}

struct Host {
    l: Box<L>,
    rx_len: usize,
    tx_len: usize,
    now: u64,
    inbox: Inbox,
    o: Observer,
    /// Encrypted mode (target `listener_enc`).
    crypto: Option<Crypto>,
}

/// Encrypted mode: the configuration, the current connection's readers, the next shape.
struct Crypto {
    cfg: crypt::CryptoConfig,
    /// The server's reader of what the listener sends, and the reference reader of what it
    /// accepts.
    conn: Option<(crypt::TxReader, crypt::Opener)>,
    /// How the next piece queued goes on the wire (`crypt::shape`).
    shape: u8,
}

/// What a command must give.
#[derive(Debug, PartialEq)]
enum Expect {
    Ok,
    Err(CommandError),
    /// Within the limit once duplicate ids are merged, over it counting them.
    OkOrTooManyIds,
}

impl Host {
    fn new(entropy: u32, crypto: Option<crypt::CryptoConfig>) -> Self {
        let creds = Credentials {
            pid: PID,
            secret: b"a1b2c3d4-e5f6-7890-abcd-ef0123456789",
        };
        let rx_len = if entropy >> 28 == 0xf {
            MIN_RX + (entropy >> 16 & 0x3ff) as usize
        } else {
            DEFAULT_RX
        };
        let tx_len = if entropy & 0x0800_0000 != 0 {
            MIN_TX
        } else {
            DEFAULT_TX
        };
        let mut l = Box::new(
            L::with_buffers(
                Config::DEFAULT,
                creds,
                u64::from(entropy),
                vec![0; rx_len],
                vec![0; tx_len],
            )
            .expect("listener"),
        );
        assert_eq!(l.rx_capacity(), rx_len);
        l.set_unix_time(1_000, UNIX_MS);
        if let Some(cfg) = &crypto {
            l.set_encryption(Some(cfg.encryption()), &crypt::ENTROPY)
                .expect("set_encryption");
        }
        Host {
            l,
            rx_len,
            tx_len,
            now: 1_000,
            inbox: Inbox::default(),
            o: Observer {
                rx_len,
                eff_now: 1_000,
                ..Observer::default()
            },
            crypto: crypto.map(|cfg| Crypto {
                cfg,
                conn: None,
                shape: 0,
            }),
        }
    }

    /// The listener's clock after a call with `t` (the latest time it was given).
    fn at(&mut self, t: u64) -> u64 {
        self.o.eff_now = self.o.eff_now.max(t);
        t
    }

    fn drain_events(&mut self) {
        let o = &mut self.o;
        self.l.poll_events(|ev| o.on_event(&ev));
    }

    /// `transmit()`, whose new frames the observer checks (decrypted, in the encrypted mode);
    /// returns how much is queued.
    fn sync(&mut self) -> usize {
        let queued = self.l.transmit();
        match self.crypto.as_mut().and_then(|c| c.conn.as_mut()) {
            Some((tx, _)) => self.o.sync_tx(&tx.sync(queued)),
            None => self.o.sync_tx(queued),
        }
        self.l.transmit().len()
    }

    fn check(&mut self) {
        let queued = self.sync();
        let (live, protocol_closed) = match &self.o.conn {
            Some(c) => (
                c.close_requested.is_none(),
                matches!(c.close_requested, Some(CloseReason::Protocol(_))),
            ),
            None => (false, false),
        };
        // poll_events ran dry and TX has room for any answer: everything received is consumed.
        let all = live && self.tx_len - queued >= ANSWER_ROOM;
        self.o.check_answers(all || protocol_closed);
        if all && let Some(c) = self.o.conn.as_mut() {
            c.consumed = c.heads;
        }
        // Encrypted mode: each connection's key exchange counts once, as a success when the
        // listener read the server's OK, else as a failure (a refusal, the timeout, or a close
        // before the OK was read).
        let s = self.l.stats();
        let (lo, hi, failed) = self.o.key_counts();
        assert!(
            (lo..=hi).contains(&s.key_exchanges),
            "stats: {} key exchanges, expected {lo}..={hi}",
            s.key_exchanges
        );
        assert_eq!(
            s.key_exchange_failures, failed,
            "stats: key exchange failures"
        );
        if all && let Some(k) = self.o.conn.as_ref().and_then(|c| c.key.as_ref()) {
            assert!(
                !k.answer.is_some_and(|(_, code)| code != code::OK),
                "the server refused the key exchange ({:?}), but the connection stays",
                k.answer
            );
        }
        let desired = ListenModel::of(&self.l.desired_state());
        assert_eq!(
            desired, self.o.model,
            "desired state vs the accepted commands"
        );
        let confirmed = ListenModel::of(&self.l.listen_state());
        let in_sync = self.l.in_sync();
        if self.o.conn.is_none() {
            assert!(
                confirmed.is_empty(),
                "listen state {confirmed:?} while disconnected"
            );
        }
        if in_sync {
            assert_eq!(confirmed, desired, "in sync but the listen state differs");
        }
        let pending = self.l.pending_commands();
        assert_eq!(pending, self.o.accepted.len(), "pending commands");
        assert_eq!(self.l.is_connected(), self.o.conn.is_some());
        let backoff_max = Config::DEFAULT.backoff.max_ms;
        if let Some(t) = self.l.reconnect_at() {
            assert!(
                t <= self.o.eff_now + backoff_max,
                "reconnect_at {t} beyond the cap"
            );
        }
        if let Some(r) = self.o.retry {
            assert!(r <= backoff_max, "retry_in_ms {r} beyond the cap");
            assert_eq!(
                self.l.reconnect_at(),
                Some(self.o.eff_now + r),
                "retry_in_ms {r}"
            );
        }
        let s = self.l.stats();
        assert_eq!(
            (s.pushes, s.bad_pushes, s.oversized),
            (self.o.pushes, self.o.bad_pushes, self.o.oversized),
            "stats: pushes, bad pushes, oversized"
        );
        assert_eq!(
            (s.connections, s.connect_failures),
            (u64::from(self.o.connections), self.o.connect_failures),
            "stats: connections, failures"
        );
        // Completions: 0 completes every pending command at once; a refusal the commands up to
        // the generation of the quest refused, which is the last one sent.
        if self.o.ok_completion {
            assert_eq!(
                pending, 0,
                "commands left pending after a completion with 0"
            );
            assert!(in_sync, "a command completed with 0, but not in sync");
        }
        if self.o.restored_ok {
            assert!(in_sync, "Restored(0) but not in sync");
        }
        for &(generation, code) in &self.o.refusals {
            let c = self
                .o
                .conn
                .as_ref()
                .expect("a refusal without a connection");
            if c.broken {
                continue;
            }
            let q = c.listen.last().expect("a refusal without a listen quest");
            assert_eq!(
                q.code,
                Some(code),
                "refusal {code} but quest {} got {:?}",
                q.seq,
                q.code
            );
            if let Some(g) = generation {
                assert!(
                    g <= q.generation,
                    "command of generation {g} refused by quest {} of generation {}",
                    q.seq,
                    q.generation
                );
            }
            let left: Vec<u32> = self.o.accepted.values().map(|a| a.1).collect();
            assert!(
                left.iter().all(|&g| g > q.generation),
                "commands of generations {left:?} left pending after quest {} (generation {}) was refused",
                q.seq,
                q.generation
            );
        }
        if self.o.ticked {
            let eff = self.o.eff_now;
            assert!(
                self.o.accepted.values().all(|a| a.2 + QUEST_TIMEOUT > eff),
                "a command outlived its deadline"
            );
        }
        if let Some(c) = &self.o.conn {
            // Found by this target (fuzz/regressions/listener/in-sync-with-quest-in-flight):
            // `in_sync()` must not hold while a listen quest is in flight.
            let in_flight = c.listen.last().is_some_and(|q| q.answer.is_none());
            assert!(
                !(live && in_sync && in_flight && !c.broken),
                "in_sync() while listen quest {} is in flight",
                c.listen.last().map_or(0, |q| q.seq)
            );
            let settled = c
                .listen
                .last()
                .is_none_or(|q| q.answer.is_some_and(|f| f < c.consumed));
            if live && in_sync && settled {
                assert_eq!(
                    c.restored,
                    u32::from(c.restore_expected),
                    "in sync, but the restoration was not reported"
                );
            }
            // (c) Quiescence: nothing to send or receive and the last listen quest answered OK
            // in time: the model server holds the desired state and the listener knows it.
            let quiet = c.listen.last().is_none_or(|q| {
                q.code == Some(code::OK)
                    && !q.maybe_timed_out
                    && q.answer.is_some_and(|f| f < c.consumed)
            }) && c.key.as_ref().is_none_or(|k| k.done(c.consumed));
            if all && queued == 0 && !c.broken && quiet {
                assert_eq!(
                    c.server, desired,
                    "the model server's state vs the desired state"
                );
                assert!(in_sync, "quiescent, but not in sync");
                self.o.quiescent += 1;
            }
        }
    }

    /// Drains events and transmits until nothing moves.
    fn full_drain(&mut self) {
        for round in 0.. {
            assert!(round < 1_000, "full drain does not settle");
            self.drain_events();
            let n = self.sync();
            if n == 0 {
                break;
            }
            self.take(n);
        }
    }

    fn take(&mut self, k: usize) {
        let k = k.min(self.sync());
        self.l.consume_transmit(k);
        if let Some(c) = self.o.conn.as_mut() {
            match self.crypto.as_mut().and_then(|x| x.conn.as_mut()) {
                Some((tx, _)) => {
                    tx.take(k);
                    c.taken = tx.plain_taken();
                    if let Some(key) = c.key.as_mut() {
                        key.taken = tx.key_taken();
                    }
                }
                None => c.taken += k,
            }
        }
        self.drain_events();
    }

    fn deliver(&mut self, n: usize, window: bool) {
        let close_requested = self
            .o
            .conn
            .as_ref()
            .is_some_and(|c| c.close_requested.is_some());
        // Encrypted bytes are opened in RX: the listener takes at most RX of them per call.
        let most = match self.crypto {
            Some(_) if !close_requested => self.rx_len,
            _ => CHUNK,
        };
        let data = self.inbox.front(n.min(most), !close_requested);
        let n = data.len();
        let t = self.at(self.now);
        let connected = self.o.conn.is_some();
        // `accepted`: the bytes the listener reads; `drained`: those the host handed over.
        let (accepted, drained) = if window {
            let w = self.l.input_window();
            let k = n.min(w.len());
            w[..k].copy_from_slice(&data[..k]);
            self.l.commit_input(t, k);
            // After CloseRequested the listener reads nothing more: what the host commits to
            // the window is dropped (since the session's "nothing more is read once a close
            // was asked for"; the model had these bytes reach RX).
            let handed = if connected { k } else { 0 };
            (if close_requested { 0 } else { handed }, handed)
        } else {
            // `handle_input` hands out events while it takes bytes, but the observer must know
            // the bytes taken first: a dry run on a clone (the listener is deterministic) tells.
            let k = self.l.clone().handle_input(t, &data, |_| {});
            match (connected, close_requested) {
                (false, _) => assert_eq!(k, 0, "input taken while disconnected"),
                (true, true) => assert_eq!(k, n, "input not swallowed after CloseRequested"),
                (true, false) => assert!(k <= n),
            }
            // After CloseRequested, `handle_input` swallows what it is given without reading it.
            if close_requested { (0, n) } else { (k, k) }
        };
        self.inbox.drop_front(drained);
        if trace() {
            eprintln!("    offered {n}, accepted {accepted}, dropped {drained}");
        }
        if let Some(c) = self.o.conn.as_mut()
            && accepted > 0
        {
            c.last_rx = self.o.eff_now;
        }
        match self.crypto.as_mut().and_then(|x| x.conn.as_mut()) {
            // The listener reads on only while the stream is usable.
            Some((_, opener)) if !close_requested => {
                let (plain, broke) = opener.open(&data[..accepted]);
                self.o.on_rx(&plain);
                if broke {
                    self.o.stream_broke();
                }
            }
            Some(_) => {}
            None => self.o.on_rx(&data[..accepted]),
        }
        if !window {
            let o = &mut self.o;
            let k = self.l.handle_input(t, &data, |ev| o.on_event(&ev));
            assert_eq!(k, drained, "the dry run took as many bytes");
        }
        self.drain_events();
    }

    fn deliver_all(&mut self) {
        let rounds = MAX_PENDING_ZEROS / CHUNK + 64;
        let mut enc_rounds = 0;
        for _ in 0..rounds
            + if self.crypto.is_some() {
                ENC_DELIVER_ROUNDS
            } else {
                0
            }
        {
            let before = self.inbox.len();
            let open = self
                .o
                .conn
                .as_ref()
                .is_some_and(|c| c.close_requested.is_none());
            if self.crypto.is_some() && open {
                // Encrypted bytes are opened in RX, at most RX at a time: offer that much, a
                // bounded number of times (an 8 MiB frame through a 64-byte RX would take 2^17
                // calls; each byte is encrypted once and decrypted three times): 2 MiB at most
                // with the default RX.
                if enc_rounds == ENC_DELIVER_ROUNDS {
                    break;
                }
                enc_rounds += 1;
                self.deliver(self.rx_len, false);
            } else {
                self.deliver(CHUNK, false);
            }
            if self.inbox.is_empty() || self.inbox.len() == before {
                break;
            }
        }
    }

    /// The seq an answer goes to: one of the quests the transport took, or `raw_seq`.
    fn answer_seq(&self, pick: u8, raw_seq: u32) -> u32 {
        let Some(c) = &self.o.conn else {
            return raw_seq;
        };
        // Encrypted mode: `*key` first, once taken.
        let key = c.key.as_ref().filter(|k| k.taken).map(|k| k.seq);
        let sent: Vec<u32> = key
            .into_iter()
            .chain(c.quests.iter().filter(|q| q.0 <= c.taken).map(|q| q.1))
            .collect();
        if sent.is_empty() || pick == 0xff {
            raw_seq
        } else {
            sent[usize::from(pick) % sent.len()]
        }
    }

    /// A frame larger than RX: a oneway or twoway push or an answer (`kind % 3`), of a length
    /// `size` picks (just over RX; RX plus up to 64 KiB; twice RX; about 64 KiB; about 1 MB;
    /// exactly 8 MiB; one byte over 8 MiB, a protocol error). Returns its head (header, seq,
    /// method, a map header) and the number of zero bytes after it.
    #[allow(clippy::too_many_arguments)]
    fn big_frame(
        &self,
        kind: u8,
        size: u8,
        extra: u16,
        method: u8,
        pick: u8,
        status: u8,
        raw_seq: u16,
    ) -> (Vec<u8>, usize) {
        let rx = self.rx_len;
        let mtype = kind % 3;
        let name: Vec<u8> = match method % 6 {
            0 => b"pushmsg".to_vec(),
            1 => b"pushgroupmsg".to_vec(),
            2 => b"mystery".to_vec(),
            3 => b"ping".to_vec(),
            4 => vec![b'm'; 255],
            _ => vec![b'x'; 1 + usize::from(extra % 250)],
        };
        let hl = match mtype {
            0 => 12 + name.len(),
            1 => 16 + name.len(),
            _ => 16,
        };
        let len = match size % 8 {
            0 => rx + 1,
            1 => rx + 1 + usize::from(extra),
            2 => 2 * rx + usize::from(extra % 64),
            3 => 65_536 + usize::from(extra),
            4 => 1_000_000 + usize::from(extra) * 8,
            5 => MAX_FRAME_LEN,
            6 => MAX_FRAME_LEN + 1,
            _ => rx + 1 + usize::from(extra % 300),
        }
        .max(hl);
        let psize = len - hl;
        let (seq, ss) = match mtype {
            0 => (None, name.len() as u8),
            1 => (Some(2_000 + u32::from(extra & 0xff)), name.len() as u8),
            _ => (
                Some(self.answer_seq(pick, u32::from(raw_seq))),
                [0, 0, 1, 2][usize::from(status % 4)],
            ),
        };
        let mut head = b"FPNN".to_vec();
        head.extend_from_slice(&[1, 0x80, mtype, ss]);
        head.extend_from_slice(&(psize as u32).to_le_bytes());
        if let Some(s) = seq {
            head.extend_from_slice(&s.to_le_bytes());
        }
        if mtype != 2 {
            head.extend_from_slice(&name);
        }
        let map = [0xdf, 0, 0, 0, 1];
        let m = psize.min(map.len());
        head.extend_from_slice(&map[..m]);
        (head, psize - m)
    }

    fn queue(&mut self, p: &Piece) {
        let (bytes, zeros) = match p {
            Piece::Push(f) | Piece::Raw(f) => (f.clone(), 0),
            Piece::Recorded(i) => (unhex(RECORDED[usize::from(*i) % RECORDED.len()]), 0),
            Piece::Answer {
                pick,
                status,
                payload,
                raw_seq,
            } => {
                let seq = self.answer_seq(*pick, *raw_seq);
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
                (frame(1, Some(seq), b"", Some(st), &e.out), 0)
            }
            &Piece::Big {
                kind,
                size,
                extra,
                method,
                pick,
                status,
                raw_seq,
            } => self.big_frame(kind, size, extra, method, pick, status, raw_seq),
        };
        match self.crypto.as_mut() {
            Some(cr) => {
                let shape = std::mem::take(&mut cr.shape);
                self.inbox
                    .push_segs(crypt::shape(cr.cfg.package(), shape, bytes, zeros));
            }
            None => self.inbox.push(bytes, zeros),
        }
    }

    fn connect(&mut self, apply_lost: bool) {
        if self.o.conn.is_some() {
            return;
        }
        if self.crypto.is_some() && self.o.connections >= MAX_ENC_CONNECTIONS {
            // Encrypted mode: each connection costs the listener a key generation and an ECDH
            // (most of an exec's time); later connects are left out.
            return;
        }
        self.inbox.clear();
        let t = self.at(self.now);
        self.o.connections += 1;
        self.o.conn = Some(Conn {
            last_rx: self.o.eff_now,
            restore_expected: !self.o.model.is_empty(),
            apply_lost,
            ..Conn::default()
        });
        self.l.connected(t);
        if let Some(cr) = self.crypto.as_mut() {
            // The server reads `*key`, derives the keys and (by the policy) answers.
            let tx = self.l.transmit().to_vec();
            let kq = crypt::KeyQuest::read(&tx, &cr.cfg);
            assert!(
                kq.seq > self.o.last_quest_seq,
                "*key seq {} after {}",
                kq.seq,
                self.o.last_quest_seq
            );
            self.o.last_quest_seq = kq.seq;
            let package = cr.cfg.package();
            cr.conn = Some((
                crypt::TxReader::new(kq.keys.cipher(), package, &tx),
                crypt::Opener::new(kq.keys.cipher(), package),
            ));
            self.inbox.sealer = Some(Sealer {
                cipher: kq.keys.cipher(),
                cache: Vec::new(),
            });
            let c = self.o.conn.as_mut().expect("connected");
            c.key = Some(KeyEx {
                seq: kq.seq,
                since: self.o.eff_now,
                taken: false,
                answer: None,
                failed: false,
            });
            let policy = cr.cfg.policy[usize::from(self.o.connections > 1)];
            if trace() {
                eprintln!(
                    "    *key seq {} ({} bytes), answer policy {policy:#04x}",
                    kq.seq, kq.len
                );
            }
            if let Some(answer) = crypt::key_answer(kq.seq, policy) {
                self.inbox.push_segs(crypt::shape(package, 0, answer, 0));
            }
        }
        self.drain_events();
    }

    fn close(&mut self, sel: u8) {
        self.sync();
        let requested = self.o.conn.as_ref().and_then(|c| c.close_requested);
        let r = reason(sel, requested);
        self.o.expect_reason = Some(r);
        let t = self.at(self.now);
        self.o.in_close = true;
        self.l.closed(t, r);
        self.drain_events();
        self.o.in_close = false;
        if let Some(c) = self.o.conn.take() {
            assert_eq!(
                c.restored,
                u32::from(c.restore_expected),
                "Restored events on a closed connection"
            );
            // Encrypted mode: the connection's key exchange is counted now, once.
            if let Some(k) = &c.key {
                if k.failed {
                    self.o.key_failed += 1;
                } else if self.l.stats().key_exchanges > self.o.key_ok {
                    assert!(
                        k.answer.is_some_and(|(_, code)| code == code::OK),
                        "a key exchange counted without the server's OK ({:?})",
                        k.answer
                    );
                    self.o.key_ok += 1;
                } else {
                    self.o.key_failed += 1;
                }
            }
        }
        if let Some(cr) = self.crypto.as_mut() {
            cr.conn = None;
        }
        self.inbox.clear();
    }

    fn tick(&mut self, t: u64) {
        let tx_empty = self.sync() == 0;
        let t = self.at(t);
        let eff = self.o.eff_now;
        // A listen quest surely without an answer at its deadline ends the connection.
        let mut lost = None;
        self.o.quest_due = false;
        if let Some(c) = self.o.conn.as_mut() {
            let consumed = c.consumed;
            for q in &mut c.listen {
                if q.deadline <= eff && !q.answer.is_some_and(|f| f < consumed) {
                    q.maybe_timed_out = true;
                }
            }
            if let Some(q) = c.listen.last()
                && q.deadline <= eff
            {
                self.o.quest_due = q.maybe_timed_out;
                if q.answer.is_none() && c.close_requested.is_none() && !c.broken {
                    lost = Some(q.seq);
                }
            }
        }
        // Encrypted mode: no answer to `*key` by the quest timeout ends the connection.
        let key_due = self.o.conn.as_ref().and_then(|c| {
            let k = c.key.as_ref()?;
            let due = c.close_requested.is_none()
                && !k.failed
                && k.answer.is_none()
                && eff >= k.since + QUEST_TIMEOUT;
            due.then_some(k.seq)
        });
        self.o.in_tick = true;
        self.o.ticked = true;
        self.l.handle_timeout(t);
        self.drain_events();
        self.o.in_tick = false;
        self.o.quest_due = false;
        if let Some(seq) = lost {
            let c = self.o.conn.as_ref().expect("connected");
            assert_eq!(
                c.close_requested,
                Some(CloseReason::DeadLink),
                "listen quest {seq} got no answer by its deadline, but the connection stays"
            );
        }
        if let Some(seq) = key_due {
            let c = self.o.conn.as_ref().expect("connected");
            assert!(
                c.close_requested.is_some(),
                "*key (seq {seq}) got no answer by its deadline, but the connection stays"
            );
        }
        if tx_empty && let Some(next) = self.l.poll_timeout() {
            // Found by this target (fuzz/regressions/listener/lost-quest-deadline-*): a lost
            // listen quest's deadline must leave `poll_timeout` once a close is requested.
            assert!(
                next > self.o.eff_now,
                "poll_timeout {next} is not after now {} (host would spin)",
                self.o.eff_now
            );
        }
    }

    fn expect(&self, cmd: &Cmd) -> Expect {
        if let Cmd::Listen { events, .. } = cmd
            && events & 4 != 0
        {
            return Expect::Err(CommandError::UnsupportedEvent);
        }
        if self.o.accepted.len() >= PENDING_QUESTS {
            return Expect::Err(CommandError::TooManyPending);
        }
        let Cmd::Listen {
            op,
            gids,
            rids,
            uids,
            ..
        } = cmd
        else {
            return Expect::Ok;
        };
        let all: Vec<(u8, i64)> = cmd_ids(gids, rids, uids).collect();
        let unique: BTreeSet<(u8, i64)> = all.iter().copied().collect();
        let d = &self.o.model.ids;
        let (counted, merged) = match op {
            0 => (
                d.len() + all.iter().filter(|x| !d.contains(x)).count(),
                d.len() + unique.iter().filter(|x| !d.contains(x)).count(),
            ),
            1 => return Expect::Ok,
            _ => (all.len(), unique.len()),
        };
        if merged > LISTEN_IDS {
            Expect::Err(CommandError::TooManyIds)
        } else if counted > LISTEN_IDS {
            Expect::OkOrTooManyIds
        } else {
            Expect::Ok
        }
    }

    fn command(&mut self, cmd: &Cmd) {
        // What an earlier call left to send goes out first, at the earlier clock, so that a
        // quest the command causes is seen as planned from the new desired state.
        self.sync();
        let expect = self.expect(cmd);
        let t = self.now;
        // The listener looks at `now` unless it refuses the event names first.
        if expect != Expect::Err(CommandError::UnsupportedEvent) {
            self.at(t);
        }
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
                match op {
                    0 => self.l.add_listen(t, &ids),
                    1 => self.l.remove_listen(t, &ids),
                    _ => self.l.set_listen(t, &ids),
                }
            }
        };
        match (&expect, &res) {
            (Expect::Ok, Ok(_)) | (Expect::OkOrTooManyIds, Ok(_)) => {}
            (Expect::OkOrTooManyIds, Err(CommandError::TooManyIds)) => {}
            (Expect::Err(e), Err(r)) if e == r => {}
            _ => panic!("command {cmd:?}: expected {expect:?}, got {res:?}"),
        }
        if let Ok(RequestId(id)) = res {
            assert!(
                !self.o.accepted.contains_key(&id) && !self.o.completed.contains(&id),
                "request id {id} reused"
            );
            self.o.generation += 1;
            self.o.model.apply_cmd(cmd);
            self.o
                .accepted
                .insert(id, (cmd.clone(), self.o.generation, self.o.eff_now));
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
        let o = &mut self.o;
        o.events_this_op = 0;
        o.ticked = false;
        o.expect_reason = None;
        o.retry = None;
        o.ok_completion = false;
        o.refusals.clear();
        o.restored_ok = false;
        match op {
            Op::Connect { apply_lost } => {
                let was = self.o.conn.is_some();
                self.connect(*apply_lost);
                if !was {
                    // (None when the encrypted mode's connections are used up.)
                    let up = u32::from(self.o.conn.is_some());
                    assert_eq!(self.o.connected_events - c0, up, "Connected events");
                }
            }
            Op::ConnectFailed { reason: sel } => {
                if self.o.conn.is_none() {
                    let r = reason(*sel, None);
                    self.o.expect_reason = Some(r);
                    let t = self.at(self.now);
                    self.l.connect_failed(t, r);
                    self.o.connect_failures += 1;
                    self.drain_events();
                    assert_eq!(self.o.connect_failed_events - f0, 1, "ConnectFailed events");
                    let r = self.l.reconnect_at().expect("reconnect_at after a failure");
                    assert!(r >= self.o.eff_now);
                }
            }
            Op::Close { reason: sel } => {
                let was = self.o.conn.is_some();
                self.close(*sel);
                assert_eq!(self.o.closed_events - x0, u32::from(was), "Closed events");
            }
            Op::Queue(p) => self.queue(p),
            Op::Deliver { n, window } => self.deliver(usize::from(*n), *window),
            Op::DeliverAll => self.deliver_all(),
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
                self.drain_events();
            }
            Op::PushRoundTrip(f) => {
                self.queue(&Piece::Push(f.clone()));
                self.deliver_all();
                self.full_drain();
            }
            Op::FullDrain => self.full_drain(),
        }
        if !matches!(op, Op::Connect { .. }) {
            assert_eq!(self.o.connected_events, c0, "Connected without connected()");
        }
        if !matches!(op, Op::ConnectFailed { .. }) {
            assert_eq!(
                self.o.connect_failed_events, f0,
                "ConnectFailed without connect_failed()"
            );
        }
        if !matches!(op, Op::Close { .. }) {
            assert_eq!(self.o.closed_events, x0, "Closed without closed()");
        }
        self.check();
    }

    /// The model server answers every listen quest with OK until the listener sends no more;
    /// a stalled sync (a refusal or a timeout) is restarted by a command that changes nothing.
    fn converge(&mut self) {
        self.run(&Op::DeliverAll);
        for _ in 0..8 {
            self.run(&Op::FullDrain);
            let Some(c) = &self.o.conn else { return };
            if c.close_requested.is_some()
                || c.big_left > 0
                || c.rx_parsed < c.rx.len()
                || c.rx_error.is_some()
                || !self.inbox.is_empty()
            {
                return;
            }
            let open: Vec<u32> = c
                .listen
                .iter()
                .filter(|q| q.answer.is_none() && q.end <= c.taken)
                .map(|q| q.seq)
                .collect();
            if !open.is_empty() {
                for seq in open {
                    let ok = frame(1, Some(seq), b"", Some(0), &[0x80]);
                    self.run(&Op::Queue(Piece::Raw(ok)));
                }
                self.run(&Op::DeliverAll);
                continue;
            }
            let done = c
                .listen
                .last()
                .is_none_or(|q| q.code == Some(code::OK) && !q.maybe_timed_out);
            let sent = c.listen.len();
            if done || self.o.accepted.len() >= PENDING_QUESTS {
                return;
            }
            let same = Op::Command(Cmd::Flags(self.o.model.flags));
            self.run(&same);
            if self.o.conn.as_ref().is_none_or(|c| c.listen.len() == sent) {
                return;
            }
        }
    }

    /// End of input: the sync converges, time runs past every deadline, the connection closes;
    /// every command must have completed.
    fn finish(&mut self) {
        if self
            .o
            .conn
            .as_ref()
            .is_some_and(|c| c.close_requested.is_none())
        {
            self.converge();
        }
        self.run(&Op::Tick {
            delta: 200_000,
            stale: false,
        });
        self.run(&Op::Close { reason: 0 });
        assert!(
            self.o.accepted.is_empty(),
            "commands never completed: {:?}",
            self.o.accepted.keys().collect::<Vec<_>>()
        );
        if trace() {
            eprintln!("quiescence checks: {}", self.o.quiescent);
        }
    }
}

/// Runs one input of the encrypted target `listener_enc`: the plaintext target's `u32`, then
/// the encryption header (`crypt::CryptoConfig`), then the same operations, each one that
/// queues server bytes (`Queue`, `PushRoundTrip`) followed by one shape byte (`crypt::shape`;
/// 0: as the server sends them).
pub fn run_encrypted(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let entropy = u.arbitrary::<u32>().unwrap_or(0);
    let cfg = crypt::CryptoConfig::read(&mut u);
    if trace() {
        eprintln!("encryption {cfg:?}");
    }
    let mut h = Host::new(entropy, Some(cfg));
    let mut ops = 0;
    while !u.is_empty() && ops < MAX_OPS {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        if matches!(op, Op::Queue(_) | Op::PushRoundTrip(_)) {
            let shape = u.arbitrary::<u8>().unwrap_or(0);
            if let Some(cr) = h.crypto.as_mut() {
                cr.shape = shape;
            }
        }
        h.run(&op);
        ops += 1;
    }
    h.finish();
}

/// Runs one input of the plaintext target `listener`.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let entropy = u.arbitrary::<u32>().unwrap_or(0);
    let mut h = Host::new(entropy, None);
    let mut ops = 0;
    while !u.is_empty() && ops < MAX_OPS {
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        h.run(&op);
        ops += 1;
    }
    h.finish();
}
