//! Target 1: the frame reader fed at fuzzer-chosen chunk boundaries.
//!
//! Input: `[api] [buffer size] [max frame] [k] [k chunk sizes] stream...`; `api & 3` picks the
//! API, `api & 4` the skip mode.
//!
//! Invariants:
//! - `parse_frame` agrees with a reference parser written from the header layout (reference
//!   §1.1), frame by frame over the whole stream, including which error and the
//!   `Partial(Some(len))`-once-the-header-is-known contract; every proper prefix of a complete
//!   frame is `Partial` or the same error;
//! - the reader, through any of its four APIs (feed + next_frame, window + commit, peek +
//!   consume, peek_at walk + consume) and any chunking, yields exactly the frames of a
//!   one-shot parse of the stream, in order, then the same error; errors are sticky until
//!   `reset`; `buffered()` is always bytes in minus frames out;
//! - the reader never wedges: with a full buffer it has a frame or an error to give;
//! - skip mode (how the listener reads): a `peek_at` walk where a frame longer than the reader's
//!   maximum but within 8 MiB is read by `head_at` (header, seq, method cut at the buffer's size,
//!   length) and dropped by `skip_at` as it streams through (`feed` or `window` + `commit`):
//!   the frames and heads are those of a one-shot parse that steps over such frames, a frame
//!   over 8 MiB ends it with `TooLarge { max: 8 MiB }` as soon as its header is there, and
//!   `buffered() + consumed = fed + skipping()` throughout;
//! - `build_quest`/`build_answer` round-trip through `parse_frame`, report the exact size on a
//!   short buffer and leave it untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtm_listen::wire::frame::{
    BuildError, Frame, FrameError, FrameHead, HEADER_LEN, MAGIC, MAX_FRAME_LEN, Payload, Status,
    build_answer, build_quest, parse_frame,
};
use rtm_listen::wire::frame_reader::FrameReader;
use rtm_listen::wire::msgpack::{Sink, Writer};
use rtm_listen_fuzz::{Input, hex, mp::is_map_marker};

/// What the reference parser says about the start of `input`.
#[derive(Debug, PartialEq, Eq)]
enum Ref {
    Complete {
        len: usize,
        kind: u8,
        ss: u8,
        seq: Option<u32>,
        body_at: usize,
    },
    Partial(Option<usize>),
}

/// The reference parser, from the layout in reference §1.1 and the documented checks.
fn ref_parse(input: &[u8], max: usize) -> Result<Ref, FrameError> {
    if input.len() < HEADER_LEN {
        let n = input.len().min(4);
        return if input[..n] == MAGIC[..n] {
            Ok(Ref::Partial(None))
        } else {
            Err(FrameError::BadMagic)
        };
    }
    if input[..4] != MAGIC {
        return Err(FrameError::BadMagic);
    }
    let (flag, mtype, ss) = (input[5], input[6], input[7]);
    match flag & 0xc0 {
        0x80 => {}
        0x40 => return Err(FrameError::JsonPayload),
        _ => return Err(FrameError::BadFlag(flag)),
    }
    if mtype > 2 {
        return Err(FrameError::BadMtype(mtype));
    }
    if mtype != 2 && ss == 0 {
        return Err(FrameError::EmptyMethod);
    }
    let psize = u32::from_le_bytes(input[8..12].try_into().unwrap()) as usize;
    let (seq_len, method_len) = match mtype {
        0 => (0, usize::from(ss)),
        1 => (4, usize::from(ss)),
        _ => (4, 0),
    };
    let len = HEADER_LEN + seq_len + method_len + psize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    if input.len() < len {
        return Ok(Ref::Partial(Some(len)));
    }
    let seq = (seq_len == 4).then(|| u32::from_le_bytes(input[12..16].try_into().unwrap()));
    let body_at = HEADER_LEN + seq_len + method_len;
    if len > body_at && !is_map_marker(input[body_at]) {
        return Err(FrameError::PayloadNotMap);
    }
    Ok(Ref::Complete {
        len,
        kind: mtype,
        ss,
        seq,
        body_at,
    })
}

/// Checks `parse_frame` against the reference on `input`; returns the crate's answer.
fn checked_parse(input: &[u8], max: usize) -> Result<Status<Frame<'_>>, FrameError> {
    let got = parse_frame(input, max);
    let want = ref_parse(input, max);
    match (&got, &want) {
        (Err(a), Err(b)) => assert_eq!(a, b, "error differs on {}", hex(input)),
        (Ok(Status::Partial(a)), Ok(Ref::Partial(b))) => assert_eq!(a, b, "partial length"),
        (
            Ok(Status::Complete(f, n)),
            Ok(Ref::Complete {
                len,
                kind,
                ss,
                seq,
                body_at,
            }),
        ) => {
            assert_eq!(n, len, "frame length");
            match *f {
                Frame::Answer {
                    seq: s,
                    status,
                    payload,
                } => {
                    assert_eq!((2, Some(s), status), (*kind, *seq, *ss));
                    assert_eq!(payload, &input[*body_at..*len]);
                }
                Frame::Quest {
                    seq: s,
                    method,
                    payload,
                } => {
                    assert_eq!((s.is_some(), s), (*kind == 1, *seq));
                    assert_eq!(method, &input[*body_at - usize::from(*ss)..*body_at]);
                    assert_eq!(payload, &input[*body_at..*len]);
                }
            }
        }
        _ => panic!(
            "parse_frame {got:?} but reference {want:?} on {}",
            hex(input)
        ),
    }
    // Prefix monotonicity: a complete frame's proper prefixes are Partial; an error's prefixes
    // are Partial or the same error. (Checked at a few cut points to bound the cost.)
    let end = match &got {
        Ok(Status::Complete(_, n)) => *n,
        _ => input.len(),
    };
    for cut in [
        0,
        1,
        3,
        4,
        5,
        11,
        12,
        13,
        16,
        end / 2,
        end.saturating_sub(1),
    ] {
        if cut >= end {
            continue;
        }
        match (parse_frame(&input[..cut], max), &got) {
            (Ok(Status::Partial(_)), _) => {}
            (Err(e), Err(g)) if e == *g => {}
            (p, g) => panic!("prefix {cut} of {}: {p:?} but whole: {g:?}", hex(input)),
        }
    }
    got
}

/// A payload written verbatim (possibly not a map, to test the parser's refusal).
struct Raw<'a>(&'a [u8]);

impl Payload for Raw<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.raw(self.0);
    }
}

fn round_trip(inp: &mut Input<'_>) {
    let kind = inp.u8();
    let seq = inp.u32();
    let status = inp.u8();
    let method_len = usize::from(inp.u8()) % 300;
    let method = inp.bytes(method_len).to_vec();
    let plen = usize::from(inp.u8());
    let payload = inp.bytes(plen).to_vec();
    let out_len = usize::from(inp.u16()) % 700;
    let mut out = vec![0xa5u8; out_len];
    let res = if kind & 1 == 0 {
        let Ok(m) = core::str::from_utf8(&method) else {
            return;
        };
        let seq = (kind & 2 != 0).then_some(seq);
        (
            build_quest(&mut out, seq, m, &Raw(&payload)),
            seq,
            Some(m.as_bytes()),
        )
    } else {
        (
            build_answer(&mut out, seq, status, &Raw(&payload)),
            Some(seq),
            None,
        )
    };
    let (res, seq, method) = res;
    let needed = HEADER_LEN
        + if seq.is_some() { 4 } else { 0 }
        + method.map_or(0, <[u8]>::len)
        + payload.len();
    match res {
        Err(BuildError::BadMethod) => {
            let m = method.expect("BadMethod for an answer");
            assert!(
                m.is_empty() || m.len() > 255,
                "BadMethod for a {}-byte method",
                m.len()
            );
            assert!(out.iter().all(|&b| b == 0xa5), "written on error");
        }
        Err(BuildError::BufferTooSmall { needed: n }) => {
            assert_eq!(n, needed);
            assert!(out_len < needed);
            assert!(out.iter().all(|&b| b == 0xa5), "written on error");
        }
        Err(e) => panic!("unexpected {e:?}"),
        Ok(n) => {
            assert_eq!(n, needed);
            if let Some(m) = method {
                assert!((1..=255).contains(&m.len()));
            }
            assert!(out[n..].iter().all(|&b| b == 0xa5), "wrote past the frame");
            let parsed = checked_parse(&out[..n], usize::MAX);
            if !payload.is_empty() && !is_map_marker(payload[0]) {
                assert_eq!(parsed, Err(FrameError::PayloadNotMap));
                return;
            }
            let frame = match parsed {
                Ok(Status::Complete(f, len)) => {
                    assert_eq!(len, n);
                    f
                }
                other => panic!("built frame does not parse: {other:?}"),
            };
            let want = match method {
                Some(m) => Frame::Quest {
                    seq,
                    method: m,
                    payload: &payload,
                },
                None => Frame::Answer {
                    seq: seq.unwrap(),
                    status,
                    payload: &payload,
                },
            };
            assert_eq!(frame, want);
        }
    }
}

/// Takes every frame the reader has through API `api`, checking each against the oracle.
/// Returns how many it gave and the error it ended with, if any.
fn drain(
    api: u8,
    r: &mut FrameReader<&mut [u8]>,
    frames: &[(Frame<'_>, usize)],
    idx: &mut usize,
    consumed: &mut usize,
) -> (usize, Option<FrameError>) {
    let want = |i: usize| {
        frames
            .get(i)
            .unwrap_or_else(|| panic!("reader gave a frame beyond the oracle's {}", frames.len()))
    };
    let mut got = 0;
    match api {
        0 | 1 => loop {
            match r.next_frame() {
                Ok(Some(f)) => {
                    let (w, n) = want(*idx);
                    assert_eq!(f, *w, "frame {}", *idx);
                    *consumed += n;
                }
                Ok(None) => return (got, None),
                Err(e) => return (got, Some(e)),
            }
            *idx += 1;
            got += 1;
        },
        2 => loop {
            let n = match r.peek() {
                Ok(Some((f, n))) => {
                    let (w, wn) = want(*idx);
                    assert_eq!((f, n), (*w, *wn), "peek frame {}", *idx);
                    n
                }
                Ok(None) => return (got, None),
                Err(e) => return (got, Some(e)),
            };
            // Peeking again gives the same frame: nothing was consumed.
            match r.peek() {
                Ok(Some((f, n2))) => assert_eq!((f, n2), (want(*idx).0, n), "second peek"),
                other => panic!("second peek gave {other:?}"),
            }
            r.consume(n);
            *consumed += n;
            *idx += 1;
            got += 1;
        },
        _ => {
            // Walk every complete frame without consuming, then consume them at once.
            let mut off = 0;
            let res = loop {
                match r.peek_at(off) {
                    Ok(Some((f, n))) => {
                        let (w, wn) = want(*idx + got);
                        assert_eq!((f, n), (*w, *wn), "peek_at frame {}", *idx + got);
                        off += n;
                        got += 1;
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            r.consume(off);
            *consumed += off;
            *idx += got;
            if let Some(e) = res {
                // peek_at records no error; peek does, and sees the same one.
                assert_eq!(
                    r.peek().map(|o| o.is_some()),
                    Err(e),
                    "peek after peek_at error"
                );
            } else {
                assert_eq!(
                    r.peek().map(|o| o.is_some()),
                    Ok(false),
                    "peek after peek_at walk"
                );
            }
            (got, res)
        }
    }
}

/// What skip mode's oracle expects next: a frame, or the head of a frame to skip.
#[derive(Debug, PartialEq, Eq)]
enum Item<'a> {
    Frame(Frame<'a>, usize),
    Skip {
        mtype: u8,
        seq: Option<u32>,
        status: u8,
        method: &'a [u8],
        len: usize,
    },
}

/// Whether the head of the frame at the start of `bytes` (header, seq, method) is there, or
/// `buf_len` bytes of it (the reader then cuts the method).
fn head_ready(bytes: &[u8], buf_len: usize) -> bool {
    if bytes.len() < HEADER_LEN {
        return false;
    }
    let want = match bytes[6] {
        0 => HEADER_LEN + usize::from(bytes[7]),
        1 => HEADER_LEN + 4 + usize::from(bytes[7]),
        _ => HEADER_LEN + 4,
    };
    bytes.len() >= want.min(buf_len)
}

/// The reader in skip mode against a one-shot parse that steps over oversized frames.
fn skip_mode(window: bool, buf_len: usize, max_frame: usize, chunks: &[usize], stream: &[u8]) {
    let max = max_frame.min(buf_len);
    // The oracle. `at` may end past the stream (inside a frame being skipped).
    let mut items = Vec::new();
    let mut at = 0;
    let end_error = loop {
        if at >= stream.len() {
            break None;
        }
        let bytes = &stream[at..];
        match checked_parse(bytes, max) {
            Ok(Status::Complete(f, n)) => {
                items.push(Item::Frame(f, n));
                at += n;
            }
            Ok(Status::Partial(_)) => break None,
            Err(FrameError::TooLarge { len, .. }) => {
                // Over 8 MiB: refused from the 12-byte header alone.
                if len > MAX_FRAME_LEN {
                    break Some(FrameError::TooLarge {
                        len,
                        max: MAX_FRAME_LEN,
                    });
                }
                if !head_ready(bytes, buf_len) {
                    break None;
                }
                let (mtype, ss) = (bytes[6], usize::from(bytes[7]));
                let hl = HEADER_LEN + if mtype == 0 { 0 } else { 4 };
                let want = if mtype == 2 { hl } else { hl + ss };
                items.push(Item::Skip {
                    mtype,
                    seq: (mtype != 0)
                        .then(|| u32::from_le_bytes(bytes[12..16].try_into().unwrap())),
                    status: if mtype == 2 { bytes[7] } else { 0 },
                    method: &bytes[hl..want.min(buf_len)],
                    len,
                });
                at += len;
            }
            Err(e) => break Some(e),
        }
    };

    let mut storage = vec![0u8; buf_len];
    let mut r = FrameReader::new(&mut storage[..], max_frame);
    let (mut fed, mut consumed, mut idx, mut ci) = (0usize, 0usize, 0usize, 0usize);
    let mut error = None;
    let accounting = |r: &FrameReader<&mut [u8]>, fed: usize, consumed: usize, when: &str| {
        assert_eq!(
            r.buffered() + consumed,
            fed + r.skipping(),
            "buffered + consumed = fed + skipping, {when}"
        );
    };
    loop {
        let n = if fed < stream.len() {
            let c = chunks[ci % chunks.len()].min(stream.len() - fed);
            ci += 1;
            if window {
                let w = r.window();
                let n = c.min(w.len());
                w[..n].copy_from_slice(&stream[fed..fed + n]);
                r.commit(n);
                n
            } else {
                let n = r.feed(&stream[fed..fed + c]);
                assert!(n <= c);
                n
            }
        } else {
            0
        };
        fed += n;
        accounting(&r, fed, consumed, "after input");
        // The walk: frames and heads from `off`, then everything walked is consumed.
        let mut off = 0;
        let mut got = 0;
        let err = loop {
            let item = match r.peek_at(off) {
                Ok(Some((f, len))) => {
                    off += len;
                    Item::Frame(f, len)
                }
                Ok(None) => break None,
                Err(FrameError::TooLarge { .. }) => match r.head_at(off) {
                    Ok(Some(FrameHead {
                        kind,
                        seq,
                        status,
                        method,
                        len,
                    })) => Item::Skip {
                        mtype: kind.mtype(),
                        seq,
                        status,
                        method,
                        len,
                    },
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                },
                Err(e) => break Some(e),
            };
            let want = items.get(idx).unwrap_or_else(|| {
                panic!("reader gave {item:?} beyond the oracle's {}", items.len())
            });
            assert_eq!(&item, want, "item {idx}");
            idx += 1;
            got += 1;
            if let Item::Skip { len, .. } = item {
                r.skip_at(off, len);
                consumed += off + len;
                off = 0;
                accounting(&r, fed, consumed, "after skip_at");
            }
        };
        r.consume(off);
        consumed += off;
        accounting(&r, fed, consumed, "after the walk");
        if err.is_some() {
            error = err;
            break;
        }
        if fed == stream.len() {
            break;
        }
        assert!(
            n > 0 || got > 0,
            "reader wedged in skip mode (buffered {})",
            r.buffered()
        );
    }
    assert_eq!(error, end_error, "skip mode: reader error vs oracle");
    assert_eq!(idx, items.len(), "skip mode: items missing");
    if error.is_none() {
        let (buffered, skipping) = if at <= stream.len() {
            (stream.len() - at, 0)
        } else {
            (0, at - stream.len())
        };
        assert_eq!(
            (r.buffered(), r.skipping()),
            (buffered, skipping),
            "skip mode: (buffered, skipping) at the end"
        );
    }
    r.reset();
    assert_eq!((r.buffered(), r.skipping()), (0, 0), "after reset");
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let api_byte = inp.u8();
    let api = api_byte & 3;
    let buf_len = 16 + usize::from(inp.u8()) * 16;
    let max_frame = match inp.u8() {
        0 => usize::MAX,
        b => 12 + usize::from(b) * 8,
    };
    let k = usize::from(inp.u8() % 8) + 1;
    let chunks: Vec<usize> = (0..k)
        .map(|_| match inp.u8() {
            b @ 0..128 => usize::from(b) + 1,
            b => usize::from(b - 127) * 32,
        })
        .collect();
    let stream = inp.rest();
    let max = max_frame.min(buf_len);
    if api_byte & 4 != 0 {
        skip_mode(api == 1, buf_len, max_frame, &chunks, stream);
        round_trip(&mut Input::new(stream));
        return;
    }

    // The oracle: one-shot sequential parse of the whole stream.
    let mut frames: Vec<(Frame<'_>, usize)> = Vec::new();
    let mut at = 0;
    let end_error = loop {
        match checked_parse(&stream[at..], max) {
            Ok(Status::Complete(f, n)) => {
                frames.push((f, n));
                at += n;
            }
            Ok(Status::Partial(_)) => break None,
            Err(e) => break Some(e),
        }
    };
    let trailing = stream.len() - at;

    let mut storage = vec![0u8; buf_len];
    let mut r = FrameReader::new(&mut storage[..], max_frame);
    assert_eq!(r.max_frame(), max);
    let (mut fed, mut consumed, mut idx, mut ci) = (0usize, 0usize, 0usize, 0usize);
    let mut error: Option<FrameError> = None;
    while fed < stream.len() && error.is_none() {
        let c = chunks[ci % chunks.len()].min(stream.len() - fed);
        ci += 1;
        let n = if api == 1 {
            let w = r.window();
            let n = c.min(w.len());
            w[..n].copy_from_slice(&stream[fed..fed + n]);
            r.commit(n);
            n
        } else {
            let n = r.feed(&stream[fed..fed + c]);
            assert!(n <= c);
            n
        };
        fed += n;
        assert_eq!(r.buffered(), fed - consumed, "buffered after input");
        let (got, err) = drain(api, &mut r, &frames, &mut idx, &mut consumed);
        assert_eq!(r.buffered(), fed - consumed, "buffered after frames");
        if let Some(e) = err {
            error = Some(e);
        }
        assert!(
            n > 0 || got > 0 || error.is_some(),
            "reader wedged: buffer full, no frame, no error (buffered {})",
            r.buffered()
        );
    }
    if error.is_none() {
        let (_, err) = drain(api, &mut r, &frames, &mut idx, &mut consumed);
        error = err;
    }
    match (error, end_error) {
        (Some(e), Some(want)) => {
            assert_eq!(e, want, "reader error");
            assert_eq!(idx, frames.len(), "error before all frames were given");
            // Sticky until reset.
            assert_eq!(r.next_frame().map(|f| f.is_some()), Err(e));
            assert_eq!(r.peek().map(|f| f.is_some()), Err(e));
            assert_eq!(r.peek_at(0).map(|f| f.is_some()), Err(e));
        }
        (None, None) => {
            assert_eq!(idx, frames.len(), "frames missing");
            assert_eq!(r.buffered(), trailing, "trailing bytes");
            assert_eq!(r.next_frame().map(|f| f.is_some()), Ok(false));
        }
        (got, want) => panic!("reader ended with {got:?}, oracle with {want:?}"),
    }
    r.reset();
    assert_eq!(r.buffered(), 0);
    assert_eq!(r.next_frame().map(|f| f.is_some()), Ok(false));

    // Build/parse round trip from the first bytes of the stream.
    round_trip(&mut Input::new(stream));
});
