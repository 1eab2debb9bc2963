//! The virtual RTM gate: the frames a server sends (recorded ones and built ones), and a reader
//! for what the listener sent back.
//!
//! Nothing here is part of the listener's budget: it is the test's side of the wire.

use heapless::Vec;
use rtm_listen::rtm::answer::{build_empty_answer, build_error_answer};
use rtm_listen::wire::frame::{BuildError, Frame, Payload, Status, build_quest, parse_frame};
use rtm_listen::wire::msgpack::{Reader, Sink, Writer};

/// Decodes a hex string at compile time (the recorded frames below).
pub(crate) const fn unhex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lower-case hex"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 2 * N, "hex length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

// Frames recorded from the RTM server-side Python SDK (tests/vectors/rtm-python-sdk.json,
// `server_to_sdk`). The SDK writes header version 0; its key order is its own.

/// `pushmsg`, seq 101: P2P chat (mtype 30) 1001 → 1002, mid 1700000000123000001, "hello".
pub const REC_PUSHMSG: [u8; 90] = unhex(
    "46504e4e008001074300000065000000707573686d736787a466726f6dcd03e9a2746fcd03eaa36d6964cf17979cfe3d7ed4c1a56d747970651ea36d7367a568656c6c6fa56174747273a0a56d74696d65cf0000018bcfe569c8",
);
/// `pushgroupmsg`, seq 102: group cmd (mtype 32) 1001 → gid 2001, mid 1700000000123000002.
pub const REC_PUSHGROUPMSG: [u8; 101] = unhex(
    "46504e4e0080010c49000000660000007075736867726f75706d736787a466726f6dcd03e9a3676964cd07d1a36d6964cf17979cfe3d7ed4c2a56d7479706520a36d7367a8636d642d626f6479a56174747273a27b7da56d74696d65cf0000018bcfe569c9",
);
/// `pushevent`, seq 104: login of uid 1001.
pub const REC_PUSHEVENT: [u8; 95] = unhex(
    "46504e4e008001094600000068000000707573686576656e7486a3706964ce04c4b447a56576656e74a56c6f67696ea3756964cd03e9a474696d65ce6553f100a8656e64706f696e74af3139322e302e322e313a3132333435a464617461a0",
);
/// `ping`, seq 105.
pub const REC_PING: [u8; 21] = unhex("46504e4e00800104010000006900000070696e6780");
/// The recorded seqs and message ids of the frames above.
pub const REC_SEQ_PUSHMSG: u32 = 101;
/// Seq of [`REC_PUSHGROUPMSG`].
pub const REC_SEQ_PUSHGROUPMSG: u32 = 102;
/// Seq of [`REC_PUSHEVENT`].
pub const REC_SEQ_PUSHEVENT: u32 = 104;
/// Seq of [`REC_PING`].
pub const REC_SEQ_PING: u32 = 105;
/// Mid of [`REC_PUSHMSG`].
pub const REC_MID_PUSHMSG: i64 = 1_700_000_000_123_000_001;
/// Mid of [`REC_PUSHGROUPMSG`].
pub const REC_MID_PUSHGROUPMSG: i64 = 1_700_000_000_123_000_002;

/// A message push payload, keys in the C++ server's order.
pub struct Msg<'a> {
    /// `to`, `gid`, `rid`, or empty for a broadcast.
    pub key: &'static [u8],
    pub from: i64,
    pub to: i64,
    pub mid: i64,
    pub mtype: i64,
    pub msg: &'a [u8],
    /// Send `msg` as msgpack bin (audio) instead of str.
    pub binary: bool,
    pub attrs: &'a [u8],
}

impl Payload for Msg<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(if self.key.is_empty() { 6 } else { 7 });
        w.str(b"from");
        w.int(self.from);
        if !self.key.is_empty() {
            w.str(self.key);
            w.int(self.to);
        }
        w.str(b"mid");
        w.int(self.mid);
        w.str(b"mtype");
        w.int(self.mtype);
        w.str(b"msg");
        if self.binary {
            w.bin(self.msg);
        } else {
            w.str(self.msg);
        }
        w.str(b"attrs");
        w.str(self.attrs);
        w.str(b"mtime");
        w.int(1_700_000_000_456);
    }
}

/// A `pushevent` payload.
pub struct PushEvent<'a> {
    pub pid: u32,
    pub event: &'a [u8],
    pub uid: i64,
}

impl Payload for PushEvent<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(5);
        w.str(b"pid");
        w.uint(u64::from(self.pid));
        w.str(b"event");
        w.str(self.event);
        w.str(b"uid");
        w.int(self.uid);
        w.str(b"time");
        w.int(1_700_000_000);
        w.str(b"endpoint");
        w.str(b"192.0.2.1:12345");
    }
}

/// Bytes the server puts on the wire, in order.
pub struct Stream<const N: usize> {
    pub bytes: Vec<u8, N>,
}

impl<const N: usize> Stream<N> {
    pub const fn new() -> Self {
        Self { bytes: Vec::new() }
    }

    /// Appends recorded bytes.
    pub fn raw(&mut self, b: &[u8]) -> Result<(), BuildError> {
        self.bytes
            .extend_from_slice(b)
            .map_err(|_| BuildError::BufferTooSmall {
                needed: self.bytes.len() + b.len(),
            })
    }

    fn build(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, BuildError>,
    ) -> Result<(), BuildError> {
        let start = self.bytes.len();
        // Unused capacity is zero-filled, written, then cut back to what the frame used.
        let _ = self.bytes.resize(N, 0);
        let res = f(&mut self.bytes[start..]);
        self.bytes.truncate(start + *res.as_ref().unwrap_or(&0));
        res.map(|_| ())
    }

    /// Appends a quest (twoway when `seq` is given).
    pub fn quest<P: Payload>(
        &mut self,
        seq: Option<u32>,
        method: &str,
        p: &P,
    ) -> Result<(), BuildError> {
        self.build(|b| build_quest(b, seq, method, p))
    }

    /// Appends an OK answer with the empty map.
    pub fn ok(&mut self, seq: u32) -> Result<(), BuildError> {
        self.build(|b| build_empty_answer(b, seq))
    }

    /// Appends an error answer `{code, ex}`.
    pub fn error(&mut self, seq: u32, code: i64, ex: &[u8]) -> Result<(), BuildError> {
        self.build(|b| build_error_answer(b, seq, code, ex, None))
    }
}

/// Splits what the listener sent into frames. `None` if the bytes are not whole frames.
pub fn frames<const N: usize>(bytes: &[u8]) -> Option<Vec<Frame<'_>, N>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match parse_frame(rest, usize::MAX) {
            Ok(Status::Complete(f, n)) => {
                out.push(f).ok()?;
                rest = &rest[n..];
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The value of `key` in a msgpack map, as a reader positioned on it.
pub fn get<'a>(payload: &'a [u8], key: &[u8]) -> Option<Reader<'a>> {
    let mut r = Reader::new(payload);
    let n = r.read_map_len().ok()?;
    for _ in 0..n {
        let k = r.read_bytes().ok()?;
        if k == key {
            return Some(r);
        }
        r.skip().ok()?;
    }
    None
}

/// An integer value.
pub fn get_i64(payload: &[u8], key: &[u8]) -> Option<i64> {
    get(payload, key)?.read_i64().ok()
}

/// A boolean value.
pub fn get_bool(payload: &[u8], key: &[u8]) -> Option<bool> {
    get(payload, key)?.read_bool().ok()
}

/// A string value.
pub fn get_bytes<'a>(payload: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    get(payload, key)?.read_bytes().ok()
}

/// An array of integers; `None` unless the value is a msgpack *array* (not a map).
pub fn get_ids<const N: usize>(payload: &[u8], key: &[u8]) -> Option<Vec<i64, N>> {
    let mut r = get(payload, key)?;
    let marker = r.peek_marker().ok()?;
    if !matches!(marker, 0x90..=0x9f | 0xdc | 0xdd) {
        return None;
    }
    let n = r.read_array_len().ok()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(r.read_i64().ok()?).ok()?;
    }
    Some(out)
}

/// An array of strings, compared with `want`.
pub fn strings_are(payload: &[u8], key: &[u8], want: &[&[u8]]) -> bool {
    let Some(mut r) = get(payload, key) else {
        return false;
    };
    if !matches!(r.peek_marker(), Ok(0x90..=0x9f | 0xdc | 0xdd)) {
        return false;
    }
    match r.read_array_len() {
        Ok(n) if n == want.len() => want.iter().all(|w| r.read_bytes().is_ok_and(|s| s == *w)),
        _ => false,
    }
}
