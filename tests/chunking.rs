//! Frame reassembly under arbitrary chunking.
//!
//! A stream of frames (our quests and answers, and the recorded Python SDK pushes) is split at
//! fuzzer-chosen boundaries and fed through [`FrameReader`], with `feed` or with
//! `window` + `commit`, draining with `next_frame` or with `peek` + `consume`. The frames that
//! come out must be exactly those obtained by parsing the whole stream at once. The reader's
//! buffer is only slightly larger than the largest frame, so compaction happens constantly.

mod common;

use common::{frame_bytes, vectors};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use rtm_listen::rtm::answer::{build_empty_answer, build_error_answer};
use rtm_listen::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen, build_ping,
    build_set_flags,
};
use rtm_listen::wire::frame::{
    DEFAULT_MAX_FRAME, EmptyMap, Frame, FrameKind, Status, build_quest, parse_frame,
};
use rtm_listen::wire::frame_reader::FrameReader;
use std::sync::OnceLock;

/// An owned copy of what a frame says, for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    kind: FrameKind,
    seq: Option<u32>,
    method: Vec<u8>,
    status: Option<u8>,
    payload: Vec<u8>,
}

impl From<Frame<'_>> for Seen {
    fn from(f: Frame<'_>) -> Self {
        match f {
            Frame::Quest {
                seq,
                method,
                payload,
            } => Seen {
                kind: if seq.is_some() {
                    FrameKind::Twoway
                } else {
                    FrameKind::Oneway
                },
                seq,
                method: method.to_vec(),
                status: None,
                payload: payload.to_vec(),
            },
            Frame::Answer {
                seq,
                status,
                payload,
            } => Seen {
                kind: FrameKind::Answer,
                seq: Some(seq),
                method: Vec::new(),
                status: Some(status),
                payload: payload.to_vec(),
            },
        }
    }
}

fn built(
    f: impl FnOnce(&mut [u8]) -> Result<usize, rtm_listen::wire::frame::BuildError>,
) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let n = f(&mut out).expect("builds");
    out.truncate(n);
    out
}

/// The frames streams are made of.
fn pool() -> &'static [Vec<u8>] {
    static POOL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let creds = Credentials {
            pid: 80_000_071,
            secret: b"secret",
        };
        let q = |seq| QuestIds {
            seq,
            salt: 1_700_000_000_000_001_234,
            ts: 1_700_000_000,
        };
        let many: Vec<i64> = (0..40).map(|i| i * 1_000_003).collect();
        let mut p = vec![
            built(|o| {
                let ids = ListenIds {
                    gids: &[1, 2],
                    rids: &[3],
                    uids: &[4, 5],
                    events: &["login", "logout"],
                };
                build_listen(o, &creds, q(1), ListenOp::Add, &ids)
            }),
            built(|o| {
                let ids = ListenIds {
                    gids: &[2],
                    rids: &[],
                    uids: &[],
                    events: &[] as &[&str],
                };
                build_listen(o, &creds, q(2), ListenOp::Remove, &ids)
            }),
            // A larger frame (40 ids as uint32/uint64, array16 not needed but > 300 bytes).
            built(|o| {
                let ids = ListenIds {
                    gids: &many,
                    rids: &[],
                    uids: &many,
                    events: &["login"],
                };
                build_listen(o, &creds, q(3), ListenOp::Set, &ids)
            }),
            built(|o| build_set_flags(o, &creds, q(4), ListenFlags::default())),
            built(|o| build_ping(o, 5)),
            built(|o| build_empty_answer(o, 6)),
            built(|o| build_error_answer(o, 7, 20_004, b"Unknown method: foo", None)),
            built(|o| build_error_answer(o, 8, 200_002, &[b'x'; 300], Some(b"rtm-gate"))),
            // A oneway quest.
            built(|o| build_quest(o, None, "kickout", &EmptyMap)),
            // Empty payloads, which parse as the empty map: twoway, oneway.
            b"FPNN\x01\x80\x01\x04\x00\x00\x00\x00\x09\x00\x00\x00ping".to_vec(),
            b"FPNN\x01\x80\x00\x01\x00\x00\x00\x00x".to_vec(),
        ];
        let v = vectors();
        for name in [
            "pushmsg",
            "pushgroupmsg",
            "pushevent",
            "ping",
            "empty_answer_seq1",
        ] {
            p.push(frame_bytes(&v["server_to_sdk"][name]));
        }
        for name in ["pushmsg", "pushgroupmsg", "pushevent", "ping"] {
            p.push(frame_bytes(&v["sdk_answers_to_pushes"][name]));
        }
        p
    })
}

fn largest_frame() -> usize {
    pool().iter().map(Vec::len).max().unwrap()
}

/// Parses a whole stream at once.
fn parse_stream(stream: &[u8]) -> Vec<Seen> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        match parse_frame(&stream[pos..], DEFAULT_MAX_FRAME) {
            Ok(Status::Complete(f, n)) => {
                out.push(Seen::from(f));
                pos += n;
            }
            other => panic!("stream does not parse at {pos}: {other:?}"),
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Input {
    Feed,
    WindowCommit,
}

#[derive(Debug, Clone, Copy)]
enum Drain {
    NextFrame,
    PeekConsume,
}

/// Drains every complete frame from reader `$r` into `$out`; evaluates to how many there were.
/// (A macro rather than a function so it does not name the reader's type parameters.)
macro_rules! drain {
    ($r:expr, $how:expr, $out:expr) => {{
        let r = &mut $r;
        let out: &mut Vec<Seen> = $out;
        let mut n = 0usize;
        loop {
            match $how {
                Drain::NextFrame => match r.next_frame().expect("valid stream") {
                    Some(f) => out.push(Seen::from(f)),
                    None => break,
                },
                Drain::PeekConsume => {
                    let len = match r.peek().expect("valid stream") {
                        Some((f, len)) => {
                            out.push(Seen::from(f));
                            len
                        }
                        None => break,
                    };
                    // Peeking again gives the same frame.
                    let again = r.peek().unwrap().map(|(f, l)| (Seen::from(f), l));
                    assert_eq!(again, Some((out.last().unwrap().clone(), len)));
                    r.consume(len);
                }
            }
            n += 1;
        }
        n
    }};
}

/// Feeds `chunks` through a reader over a buffer of `buf_len` bytes.
fn reassemble(chunks: &[&[u8]], buf_len: usize, input: Input, how: Drain) -> Vec<Seen> {
    let mut storage = vec![0u8; buf_len];
    let mut r = FrameReader::new(&mut storage[..], DEFAULT_MAX_FRAME);
    assert_eq!(r.max_frame(), buf_len);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut rest = *chunk;
        while !rest.is_empty() {
            let taken = match input {
                Input::Feed => r.feed(rest),
                Input::WindowCommit => {
                    let w = r.window();
                    let n = w.len().min(rest.len());
                    w[..n].copy_from_slice(&rest[..n]);
                    r.commit(n);
                    n
                }
            };
            rest = &rest[taken..];
            let frames = drain!(r, how, &mut out);
            // With a buffer at least as large as any frame, the reader always makes progress.
            assert!(taken > 0 || frames > 0, "reader stalled");
        }
    }
    assert_eq!(r.buffered(), 0, "bytes left over");
    out
}

fn stream_of(picks: &[Index]) -> Vec<u8> {
    let p = pool();
    picks
        .iter()
        .flat_map(|i| i.get(p).iter().copied())
        .collect()
}

/// Splits `stream` at the given cut points.
fn split<'a>(stream: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
    at.push(0);
    at.push(stream.len());
    at.sort_unstable();
    at.windows(2).map(|w| &stream[w[0]..w[1]]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunked_equals_whole(
        picks in vec(any::<Index>(), 1..12),
        cuts in vec(any::<Index>(), 0..24),
        slack in 0usize..8,
        window in any::<bool>(),
        peek in any::<bool>(),
    ) {
        let stream = stream_of(&picks);
        let whole = parse_stream(&stream);
        prop_assert_eq!(whole.len(), picks.len());
        let chunks = split(&stream, &cuts);
        let input = if window { Input::WindowCommit } else { Input::Feed };
        let how = if peek { Drain::PeekConsume } else { Drain::NextFrame };
        let got = reassemble(&chunks, largest_frame() + slack, input, how);
        prop_assert_eq!(got, whole);
    }

    /// Byte-sized chunks: every boundary is exercised.
    #[test]
    fn byte_by_byte(picks in vec(any::<Index>(), 1..6), window in any::<bool>()) {
        let stream = stream_of(&picks);
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        let input = if window { Input::WindowCommit } else { Input::Feed };
        let got = reassemble(&chunks, largest_frame(), input, Drain::NextFrame);
        prop_assert_eq!(got, parse_stream(&stream));
    }
}

#[test]
fn every_pool_frame_at_every_split_point() {
    // Deterministic complement to the proptest: each frame, followed by another, split in two
    // at every offset, with the smallest possible buffer.
    let p = pool();
    for (i, a) in p.iter().enumerate() {
        let b = &p[(i + 1) % p.len()];
        let stream: Vec<u8> = a.iter().chain(b).copied().collect();
        let whole = parse_stream(&stream);
        assert_eq!(whole.len(), 2);
        for cut in 0..=stream.len() {
            let chunks = [&stream[..cut], &stream[cut..]];
            for input in [Input::Feed, Input::WindowCommit] {
                let got = reassemble(&chunks, largest_frame(), input, Drain::NextFrame);
                assert_eq!(got, whole, "frame {i}, cut {cut}, {input:?}");
            }
        }
    }
}

#[test]
fn the_pool_is_what_the_test_claims() {
    let p = pool();
    let kinds: Vec<FrameKind> = p
        .iter()
        .map(|f| match parse_frame(f, DEFAULT_MAX_FRAME) {
            Ok(Status::Complete(fr, n)) => {
                assert_eq!(n, f.len());
                Seen::from(fr).kind
            }
            other => panic!("{other:?}"),
        })
        .collect();
    for k in [FrameKind::Oneway, FrameKind::Twoway, FrameKind::Answer] {
        assert!(kinds.contains(&k), "no {k:?} frame in the pool");
    }
    // Frames of quite different sizes, so that compaction moves partial frames around.
    let smallest = p.iter().map(Vec::len).min().unwrap();
    assert!(
        smallest <= 17 && largest_frame() > 300,
        "{smallest}..{}",
        largest_frame()
    );
}

#[test]
fn feed_takes_only_what_fits() {
    let p = pool();
    let stream: Vec<u8> = p.iter().flatten().copied().collect();
    let whole = parse_stream(&stream);
    let mut storage = vec![0u8; largest_frame()];
    let mut r = FrameReader::new(&mut storage[..], DEFAULT_MAX_FRAME);
    let mut out = Vec::new();
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let free = r.window().len();
        let n = r.feed(rest);
        assert_eq!(n, free.min(rest.len()), "feed copies as much as fits");
        rest = &rest[n..];
        drain!(r, Drain::NextFrame, &mut out);
    }
    assert_eq!(out, whole);
}
