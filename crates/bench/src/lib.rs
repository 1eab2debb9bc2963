//! Shared fixtures and decode paths for the wire benchmarks of `rtm-listen`.
//!
//! The criterion bench (`benches/wire.rs`) and the fixed-work `instr` binary (for callgrind)
//! both call the functions here, so the time and the instruction counts describe the same code:
//!
//! - the push frames: [`PUSHMSG_CHAT`] and [`PUSHGROUPMSG_CMD`], recorded from the RTM Python
//!   SDK (`tests/vectors/rtm-python-sdk.json`), and [`pushroommsg_file`], an audio file push
//!   built here with the crate's own msgpack writer;
//! - [`ours_decode`]: what the engine does with a push frame: `parse_frame`, `decode_push`, then
//!   the JSON the message category calls for (translation attempt for chat, file info for files);
//!   [`ours_decode_push`] is its msgpack half alone, to split the cost;
//! - [`rmp_serde_decode`]: the baseline, `rmp_serde::from_slice` of the same payload into an
//!   owned struct ([`OwnedMessage`]);
//! - [`build_setlisten_ids`] and [`build_setlisten_flags`]: the signed `setlisten` quests;
//! - [`ListenerBench`]: the whole engine path per push through `session::Listener`
//!   (`handle_input` with its callback, the answer taken with `transmit` and
//!   `consume_transmit`), each frame with a fresh mid so the duplicate filter misses.

use rtm_listen::rtm::dispatch::Category;
use rtm_listen::rtm::field::MessageError;
use rtm_listen::rtm::info::{FileInfo, TranslatedInfo, parse_file_info, parse_translated};
use rtm_listen::rtm::listen::{
    Credentials, ListenFlags, ListenIds, ListenOp, QuestIds, build_listen, build_set_flags,
};
use rtm_listen::rtm::push::{Push, decode_push};
use rtm_listen::session::{Config, Event, Listener};
use rtm_listen::wire::frame::{
    self, BuildError, DEFAULT_MAX_FRAME, Frame, FrameError, HEADER_LEN, Payload, Status,
};
use rtm_listen::wire::json::Scratch;
use rtm_listen::wire::msgpack::{Sink, Writer};
use serde::Deserialize;

/// Decodes a hex string at compile time (panics, i.e. fails the build, on bad input).
const fn unhex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(
        b.len() == 2 * N,
        "hex length does not match the array length"
    );
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// Hex of [`PUSHMSG_CHAT`], as in `tests/vectors/rtm-python-sdk.json`.
pub const PUSHMSG_CHAT_HEX: &str = "46504e4e008001074300000065000000707573686d736787a466726f6dcd03e9a2746fcd03eaa36d6964cf17979cfe3d7ed4c1a56d747970651ea36d7367a568656c6c6fa56174747273a0a56d74696d65cf0000018bcfe569c8";

/// Hex of [`PUSHGROUPMSG_CMD`], as in `tests/vectors/rtm-python-sdk.json`.
pub const PUSHGROUPMSG_CMD_HEX: &str = "46504e4e0080010c49000000660000007075736867726f75706d736787a466726f6dcd03e9a3676964cd07d1a36d6964cf17979cfe3d7ed4c2a56d7479706520a36d7367a8636d642d626f6479a56174747273a27b7da56d74696d65cf0000018bcfe569c9";

/// Recorded `pushmsg` (twoway, seq 101, 90 bytes): a P2P chat, mtype 30, `msg` `"hello"`,
/// empty `attrs`. The engine tries the translation JSON on it, which fails fast (plain text).
pub const PUSHMSG_CHAT: [u8; 90] = unhex(PUSHMSG_CHAT_HEX);

/// Recorded `pushgroupmsg` (twoway, seq 102, 101 bytes): a group command, mtype 32, `msg`
/// `"cmd-body"`, `attrs` `"{}"`. No JSON is parsed for commands.
pub const PUSHGROUPMSG_CMD: [u8; 101] = unhex(PUSHGROUPMSG_CMD_HEX);

/// `msg` of the file push: the file JSON of reference §7.5 (no escapes, so strings borrow).
pub const FILE_MSG: &str = r#"{"url":"https://f.example.com/17.amr","size":23456}"#;

/// `attrs` of the file push: the RTM audio attributes plus the sender's `custom` object.
pub const FILE_ATTRS: &str = r#"{"rtm":{"type":"audiomsg","lang":"en","duration":5120,"codec":"amr-wb","srate":16000},"custom":{"k":1}}"#;

/// The payload of [`pushroommsg_file`], in the key order of the recorded pushes.
#[derive(Debug, Clone, Copy)]
pub struct RoomFilePush<'a> {
    /// Sender uid.
    pub from: i64,
    /// Room id.
    pub rid: i64,
    /// Message id.
    pub mid: i64,
    /// RTM message type (41: audio file).
    pub mtype: i8,
    /// File JSON.
    pub msg: &'a str,
    /// Attributes JSON.
    pub attrs: &'a str,
    /// Modification time, ms.
    pub mtime: i64,
}

impl Payload for RoomFilePush<'_> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        w.map_len(7);
        w.str(b"from");
        w.int(self.from);
        w.str(b"rid");
        w.int(self.rid);
        w.str(b"mid");
        w.int(self.mid);
        w.str(b"mtype");
        w.int(i64::from(self.mtype));
        w.str(b"msg");
        w.str(self.msg.as_bytes());
        w.str(b"attrs");
        w.str(self.attrs.as_bytes());
        w.str(b"mtime");
        w.int(self.mtime);
    }
}

/// Length of [`pushroommsg_file`] in bytes (close to the 246-byte audio file frame of the
/// performance anchors).
pub const PUSHROOMMSG_FILE_LEN: usize = 246;

/// A `pushroommsg` (twoway, seq 103): an audio file, mtype 41, whose `msg` is [`FILE_MSG`] and
/// `attrs` is [`FILE_ATTRS`]; [`PUSHROOMMSG_FILE_LEN`] bytes. Built with
/// `wire::frame::build_quest`, the same builder the engine uses for its own quests.
pub fn pushroommsg_file() -> [u8; PUSHROOMMSG_FILE_LEN] {
    let payload = RoomFilePush {
        from: 1001,
        rid: 3001,
        mid: 1_700_000_000_123_000_003,
        mtype: 41,
        msg: FILE_MSG,
        attrs: FILE_ATTRS,
        mtime: 1_700_000_000_458,
    };
    let mut out = [0u8; PUSHROOMMSG_FILE_LEN];
    let n = frame::build_quest(&mut out, Some(103), "pushroommsg", &payload)
        .expect("the fixture fits its array");
    assert_eq!(n, PUSHROOMMSG_FILE_LEN, "fixture length changed");
    out
}

/// The three push frames, by the name used in the benchmark ids.
pub fn push_frames() -> [(&'static str, Vec<u8>); 3] {
    [
        ("pushmsg_chat", PUSHMSG_CHAT.to_vec()),
        ("pushgroupmsg_cmd", PUSHGROUPMSG_CMD.to_vec()),
        ("pushroommsg_file", pushroommsg_file().to_vec()),
    ]
}

/// The official Python SDK's recorded `pushevent` (login, `data` empty), as the server writes it.
pub const PUSHEVENT_HEX: &str = "46504e4e008001094600000068000000707573686576656e7486a3706964ce04c4b447a56576656e74a56c6f67696ea3756964cd03e9a474696d65ce6553f100a8656e64706f696e74af3139322e302e322e313a3132333435a464617461a0";

/// The pushes that are never filtered as duplicates (no mid): `pushevent` and the RTM `ping`.
pub fn unfiltered_frames() -> [(&'static str, Vec<u8>); 2] {
    let mut ping = [0u8; 32];
    let n = frame::build_quest(&mut ping, Some(77), "ping", &frame::EmptyMap)
        .expect("the ping fits its array");
    [
        ("pushevent", unhex_vec(PUSHEVENT_HEX)),
        ("ping", ping[..n].to_vec()),
    ]
}

fn unhex_vec(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Scratch bytes given to the JSON parsers (only used by strings with escapes).
pub const SCRATCH_LEN: usize = 256;

/// Why [`ours_decode`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is malformed.
    Frame(FrameError),
    /// The frame is incomplete.
    Partial,
    /// The frame is an answer, not a push quest.
    NotQuest,
    /// The push payload is malformed.
    Message(MessageError),
}

/// One decoded push, as the engine hands it to the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The FPNN seq (to answer a twoway quest).
    pub seq: Option<u32>,
    /// The push, borrowed from the frame.
    pub push: Push<'a>,
    /// What the category's JSON gave: at most one of a translation and file information.
    pub info: Info<'a>,
}

/// The information parsed from a message's JSON, by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Info<'a> {
    /// Nothing: not a chat or a file, or its JSON did not parse (the raw text is kept).
    None,
    /// For a chat (mtype 30) whose `msg` is translation JSON.
    Translated(TranslatedInfo<'a>),
    /// For a file (mtype 40..=50) whose `msg` is file JSON.
    File(FileInfo<'a>),
}

impl<'a> Decoded<'a> {
    /// The translation, if any.
    pub fn translated(&self) -> Option<TranslatedInfo<'a>> {
        match self.info {
            Info::Translated(t) => Some(t),
            _ => None,
        }
    }

    /// The file information, if any.
    pub fn file(&self) -> Option<FileInfo<'a>> {
        match self.info {
            Info::File(f) => Some(f),
            _ => None,
        }
    }
}

/// The msgpack half of [`ours_decode`]: `parse_frame` and `decode_push` only, no JSON. Returns
/// the seq and the push, borrowed from the frame.
#[inline]
pub fn ours_decode_push(frame: &[u8]) -> Result<(Option<u32>, Push<'_>), DecodeError> {
    let (seq, method, payload) = match frame::parse_frame(frame, DEFAULT_MAX_FRAME) {
        Ok(Status::Complete(
            Frame::Quest {
                seq,
                method,
                payload,
            },
            _,
        )) => (seq, method, payload),
        Ok(Status::Complete(Frame::Answer { .. }, _)) => return Err(DecodeError::NotQuest),
        Ok(Status::Partial(_)) => return Err(DecodeError::Partial),
        Err(e) => return Err(DecodeError::Frame(e)),
    };
    let push = decode_push(method, payload).map_err(DecodeError::Message)?;
    Ok((seq, push))
}

/// The engine's decode path for one push frame: `parse_frame`, `decode_push`, then by category
/// `parse_translated` (chat; plain text fails fast and keeps the raw text) or `parse_file_info`
/// (file) into `scratch`.
#[inline(always)]
pub fn ours_decode<'a>(frame: &'a [u8], scratch: &'a mut [u8]) -> Result<Decoded<'a>, DecodeError> {
    let (seq, push) = ours_decode_push(frame)?;
    let info = match &push {
        Push::Message(m) => {
            let mut scratch = Scratch::new(scratch);
            match m.category() {
                Category::Chat => {
                    parse_translated(m.msg, &mut scratch).map_or(Info::None, Info::Translated)
                }
                Category::File => {
                    parse_file_info(m.msg, m.attrs, &mut scratch).map_or(Info::None, Info::File)
                }
                _ => Info::None,
            }
        }
        _ => Info::None,
    };
    Ok(Decoded { seq, push, info })
}

/// The baseline's owned message: what an rmp-serde based decoder would produce. The target key
/// (`to`, `gid`, `rid`) lands in `to`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OwnedMessage {
    /// Sender uid.
    pub from: i64,
    /// Receiver uid, group id or room id.
    #[serde(alias = "gid", alias = "rid")]
    pub to: i64,
    /// Message id.
    pub mid: i64,
    /// RTM message type.
    pub mtype: i8,
    /// Message body.
    #[serde(default)]
    pub msg: String,
    /// Attributes.
    #[serde(default)]
    pub attrs: String,
    /// Modification time, ms.
    #[serde(default)]
    pub mtime: i64,
}

/// The baseline: skips the header of a twoway quest by a fixed offset (12 + seq 4 + method)
/// and decodes the payload with `rmp_serde::from_slice` into an [`OwnedMessage`]. The msg and
/// attrs JSON are not parsed.
#[inline]
pub fn rmp_serde_decode(frame: &[u8]) -> Result<OwnedMessage, rmp_serde::decode::Error> {
    let start = HEADER_LEN + 4 + usize::from(frame[7]);
    rmp_serde::from_slice(&frame[start..])
}

/// Credentials of the recorded vectors (`fixed_inputs`).
pub const CREDS: Credentials<'static> = Credentials {
    pid: 80_000_071,
    secret: b"a1b2c3d4-e5f6-7890-abcd-ef0123456789",
};

/// Seq, salt and ts of the recorded `setlisten` vectors.
pub const QUEST: QuestIds = QuestIds {
    seq: 4,
    salt: 1_700_000_000_000_001_234,
    ts: 1_700_000_000,
};

/// Group ids of the `setlisten` ids form.
pub const GIDS: [i64; 1] = [10];
/// Room ids of the `setlisten` ids form.
pub const RIDS: [i64; 1] = [20];
/// User ids of the `setlisten` ids form.
pub const UIDS: [i64; 1] = [30];
/// Events of the `setlisten` ids form.
pub const EVENTS: [&str; 1] = ["login"];

/// The flags of the recorded `setlisten` flag form.
pub const FLAGS: ListenFlags = ListenFlags {
    group: true,
    room: false,
    p2p: true,
    ev: true,
};

/// Size of the stack buffer the builders write into.
pub const BUILD_BUF_LEN: usize = 256;

/// Builds `setlisten` with ids (as the recorded `set_listen(gids=[10], rids=[20], uids=[30],
/// events=['login'])`), signing included (MD5).
#[inline]
pub fn build_setlisten_ids(
    out: &mut [u8],
    creds: &Credentials<'_>,
    q: QuestIds,
) -> Result<usize, BuildError> {
    let ids = ListenIds {
        gids: &GIDS,
        rids: &RIDS,
        uids: &UIDS,
        events: &EVENTS,
    };
    build_listen(out, creds, q, ListenOp::Set, &ids)
}

/// Builds the flag form of `setlisten` (group, p2p and events), signing included (MD5).
#[inline]
pub fn build_setlisten_flags(
    out: &mut [u8],
    creds: &Credentials<'_>,
    q: QuestIds,
) -> Result<usize, BuildError> {
    build_set_flags(out, creds, q, FLAGS)
}

/// Where the 8-byte big-endian `mid` value (`uint64`, marker `0xcf`) starts in a push frame.
fn mid_offset(frame: &[u8]) -> Option<usize> {
    const KEY: &[u8] = b"\xa3mid\xcf";
    frame
        .windows(KEY.len())
        .position(|w| w == KEY)
        .map(|at| at + KEY.len())
}

/// `handle_input` of `input` (each event through `black_box`), then the answer taken from
/// `transmit` and released. Returns (events, answer bytes).
#[inline]
fn feed(l: &mut Listener, now: u64, input: &[u8]) -> (usize, usize) {
    let mut events = 0;
    let taken = l.handle_input(now, std::hint::black_box(input), |ev| {
        std::hint::black_box(&ev);
        events += 1;
    });
    debug_assert_eq!(taken, input.len());
    let out = std::hint::black_box(l.transmit());
    let n = out.len();
    l.consume_transmit(n);
    (events, n)
}

/// The whole engine path for push frames: a connected [`Listener`] (default buffers and
/// capacities) fed one frame per [`ListenerBench::push`], with a new `mid` each time so every
/// duplicate-filter lookup misses (and, once the filter is full, every insert evicts the
/// oldest entry, as in a steady stream).
pub struct ListenerBench {
    listener: Box<Listener>,
    frame: Vec<u8>,
    /// Where a message's uint64 mid is (rewritten per push so the duplicate filter sees a new
    /// message each time); `None` for pushes that are never filtered.
    mid_at: Option<usize>,
    mid: u64,
    now: u64,
}

impl ListenerBench {
    /// A connected listener and a copy of `frame`, a message whose `mid` is a `uint64`, or a
    /// push without a mid (`pushevent`, `ping`).
    pub fn new(frame: &[u8]) -> Self {
        let mid_at = mid_offset(frame);
        let mut listener =
            Box::new(Listener::new(Config::DEFAULT, CREDS, 0x1234_5678).expect("listener"));
        listener.set_unix_time(0, 1_700_000_000_000);
        listener.connected(0);
        listener.poll_events(|_| {});
        assert!(listener.transmit().is_empty(), "nothing to restore");
        let mid = mid_at.map_or(0, |at| {
            u64::from_be_bytes(frame[at..at + 8].try_into().expect("8 bytes of mid"))
        });
        Self {
            listener,
            frame: frame.to_vec(),
            mid_at,
            mid,
            now: 0,
        }
    }

    /// One push: a fresh mid is written into the frame, then `handle_input` (each event goes
    /// through `black_box`), and the answer is taken from `transmit` and released with
    /// `consume_transmit`. Returns (events, answer bytes).
    #[inline]
    pub fn push(&mut self) -> (usize, usize) {
        self.mid = self.mid.wrapping_add(1);
        self.now += 1;
        if let Some(m) = self.mid_at.and_then(|at| self.frame.get_mut(at..at + 8)) {
            m.copy_from_slice(&self.mid.to_be_bytes());
        }
        let l = &mut *self.listener;
        let mut events = 0;
        let taken = l.handle_input(self.now, std::hint::black_box(&self.frame), |ev| {
            std::hint::black_box(&ev);
            events += 1;
        });
        debug_assert_eq!(taken, self.frame.len());
        let out = std::hint::black_box(l.transmit());
        let n = out.len();
        l.consume_transmit(n);
        (events, n)
    }

    /// `n` pushes as [`ListenerBench::push`] would feed them (each with a fresh mid), one
    /// after the other in one buffer, and where each ends: the input of
    /// [`ListenerBench::feed`], prepared before a timed loop.
    pub fn prepare(&mut self, n: usize) -> (Vec<u8>, Vec<usize>) {
        let mut wire = Vec::with_capacity(n * self.frame.len());
        let mut ends = Vec::with_capacity(n);
        for _ in 0..n {
            self.mid = self.mid.wrapping_add(1);
            if let Some(m) = self.mid_at.and_then(|at| self.frame.get_mut(at..at + 8)) {
                m.copy_from_slice(&self.mid.to_be_bytes());
            }
            wire.extend_from_slice(&self.frame);
            ends.push(wire.len());
        }
        (wire, ends)
    }

    /// One prepared push: the listener's whole path for `input` (as [`ListenerBench::push`]
    /// without writing the mid).
    #[inline]
    pub fn feed(&mut self, input: &[u8]) -> (usize, usize) {
        self.now += 1;
        feed(&mut self.listener, self.now, input)
    }

    /// The event the listener produces for this frame (for checks, not timed).
    pub fn check_one(&mut self) -> String {
        self.mid = self.mid.wrapping_add(1);
        self.now += 1;
        if let Some(m) = self.mid_at.and_then(|at| self.frame.get_mut(at..at + 8)) {
            m.copy_from_slice(&self.mid.to_be_bytes());
        }
        let l = &mut *self.listener;
        let mut seen = Vec::new();
        l.handle_input(self.now, &self.frame, |ev| {
            seen.push(match ev {
                Event::Message(m) => format!(
                    "{:?} mid={} translated={} file={}",
                    m.callback,
                    m.message.mid,
                    m.message.translated(&mut [0; 256]).is_some(),
                    m.message.file_info(&mut [0; 256]).is_some()
                ),
                other => format!("{other:?}"),
            });
        });
        let n = l.transmit().len();
        l.consume_transmit(n);
        format!("{} answer={n}", seen.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtm_listen::rtm::push::{Message, Target};

    const VECTORS: &str = include_str!("../../../tests/vectors/rtm-python-sdk.json");

    fn vector_hex(name: &str) -> &'static str {
        let at = VECTORS
            .find(&format!("\"{name}\": {{"))
            .expect("vector present");
        let hex_at = at + VECTORS[at..].find("\"hex\": \"").expect("hex") + 8;
        let end = hex_at + VECTORS[hex_at..].find('"').unwrap();
        &VECTORS[hex_at..end]
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn recorded_frames_are_the_vectors() {
        let server_to_sdk = &VECTORS[VECTORS.find("\"server_to_sdk\"").unwrap()..];
        assert!(server_to_sdk.contains(&format!("\"hex\": \"{PUSHMSG_CHAT_HEX}\"")));
        assert!(server_to_sdk.contains(&format!("\"hex\": \"{PUSHGROUPMSG_CMD_HEX}\"")));
        assert_eq!(hex_of(&PUSHMSG_CHAT), PUSHMSG_CHAT_HEX);
        assert_eq!(hex_of(&PUSHGROUPMSG_CMD), PUSHGROUPMSG_CMD_HEX);
    }

    #[test]
    fn every_push_decodes_the_same_both_ways() {
        for (name, frame) in push_frames() {
            let mut scratch = [0u8; SCRATCH_LEN];
            let ours =
                ours_decode(&frame, &mut scratch).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let theirs = rmp_serde_decode(&frame).unwrap_or_else(|e| panic!("{name}: {e}"));
            let Push::Message(m) = ours.push else {
                panic!("{name}: not a message")
            };
            assert_eq!(
                (m.from, m.to, m.mid, m.mtype, m.mtime),
                (
                    theirs.from,
                    theirs.to,
                    theirs.mid,
                    theirs.mtype,
                    theirs.mtime
                ),
                "{name}"
            );
            assert_eq!(m.msg, theirs.msg.as_bytes(), "{name}");
            assert_eq!(m.attrs, theirs.attrs.as_bytes(), "{name}");
        }
    }

    #[test]
    fn chat_is_plain_text_and_cmd_has_no_json() {
        let mut scratch = [0u8; SCRATCH_LEN];
        let d = ours_decode(&PUSHMSG_CHAT, &mut scratch).unwrap();
        assert_eq!(d.seq, Some(101));
        assert!(matches!(
            d.push,
            Push::Message(Message {
                target: Target::P2P,
                mtype: 30,
                ..
            })
        ));
        assert_eq!(d.info, Info::None);
        let d = ours_decode(&PUSHGROUPMSG_CMD, &mut scratch).unwrap();
        assert!(matches!(
            d.push,
            Push::Message(Message {
                target: Target::Group,
                mtype: 32,
                ..
            })
        ));
        assert_eq!(d.info, Info::None);
    }

    #[test]
    fn file_push_has_its_info_parsed() {
        let frame = pushroommsg_file();
        let mut scratch = [0u8; SCRATCH_LEN];
        let d = ours_decode(&frame, &mut scratch).unwrap();
        assert!(matches!(
            d.push,
            Push::Message(Message {
                target: Target::Room,
                to: 3001,
                mtype: 41,
                ..
            })
        ));
        let f = d.file().expect("file info");
        assert_eq!(f.url, b"https://f.example.com/17.amr");
        assert_eq!((f.size, f.duration, f.is_rtm_audio), (23456, 5120, true));
        assert_eq!(f.language, b"en");
        assert_eq!(f.custom, Some(&br#"{"k":1}"#[..]));
    }

    #[test]
    fn listener_path_delivers_each_push_once_and_answers_it() {
        for (name, frame) in push_frames() {
            let mut b = ListenerBench::new(&frame);
            let callback = match name {
                "pushmsg_chat" => "PushP2PChat",
                "pushgroupmsg_cmd" => "PushGroupCmd",
                _ => "PushRoomFile",
            };
            for _ in 0..300 {
                let got = b.check_one();
                assert!(
                    got.starts_with(callback) && got.ends_with("answer=17"),
                    "{name}: {got}"
                );
                assert_eq!(
                    got.matches("PushP").count()
                        + got.matches("PushG").count()
                        + got.matches("PushR").count(),
                    1,
                    "{name}: {got}"
                );
                assert_eq!(
                    got.contains("file=true"),
                    name == "pushroommsg_file",
                    "{name}: {got}"
                );
            }
            for _ in 0..300 {
                assert_eq!(b.push(), (1, 17), "{name}");
            }
        }
    }

    #[test]
    fn setlisten_ids_matches_the_recorded_frame() {
        // The Python SDK writes version byte 0 and we write 1; the rest is byte-identical.
        let mut out = [0u8; BUILD_BUF_LEN];
        let n = build_setlisten_ids(&mut out, &CREDS, QUEST).unwrap();
        let want = vector_hex("setlisten_ids");
        assert_eq!(hex_of(&out[..4]), want[..8]);
        assert_eq!(hex_of(&out[5..n]), want[10..]);
    }

    #[test]
    fn setlisten_flags_has_the_recorded_sign_and_size() {
        // The recorded frame has seq 5 and the Python SDK's key order (p2p first); ours follows
        // the C++ SDK (group, room, p2p, ev). Same keys and values, so same size and sign.
        let mut out = [0u8; BUILD_BUF_LEN];
        let n = build_setlisten_flags(&mut out, &CREDS, QUEST).unwrap();
        let want = vector_hex("setlisten_flags");
        assert_eq!(2 * n, want.len());
        let sign = hex_of(b"2640F32D518243F8CB391B8D64D42659");
        assert!(hex_of(&out[..n]).contains(&sign) && want.contains(&sign));
    }
}

/// The encrypted listener's benchmarks (feature `encryption`): the key exchange per curve, and
/// pushes through a listener whose connection is encrypted.
#[cfg(feature = "encryption")]
pub mod enc {
    use rtm_listen::crypto::{AesCfb, Bits, Curve, EphemeralKey, ServerPublicKey};
    use rtm_listen::session::{Config, Encryption, EncryptionMode, Listener};
    use rtm_listen::wire::frame::{DEFAULT_MAX_FRAME, Frame, Status, parse_frame};
    use rtm_listen::wire::msgpack::Reader;

    use super::{CREDS, mid_offset};

    /// The server's half of an encrypted connection.
    pub struct ServerSide {
        mode: EncryptionMode,
        send: AesCfb,
    }

    impl ServerSide {
        /// `frame` sealed as the server sends it, into `out` (cleared first).
        pub fn seal(&mut self, frame: &[u8], out: &mut Vec<u8>) {
            out.clear();
            if self.mode == EncryptionMode::Package {
                out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
                self.send.reset();
            }
            let at = out.len();
            out.extend_from_slice(frame);
            self.send.encrypt(&mut out[at..]);
        }
    }

    /// The client public key of the plaintext `*key` quest in `tx`, and its seq.
    fn key_quest(tx: &[u8]) -> (Vec<u8>, u32) {
        let Ok(Status::Complete(Frame::Quest { seq, payload, .. }, _)) =
            parse_frame(tx, DEFAULT_MAX_FRAME)
        else {
            panic!("the *key quest first");
        };
        let mut r = Reader::new(payload);
        let n = r.read_map_len().expect("map");
        for _ in 0..n {
            let key = r.read_bytes().expect("key");
            if key == b"publicKey" {
                return (r.read_bytes().expect("publicKey").to_vec(), seq.unwrap());
            }
            r.skip().expect("value");
        }
        panic!("no publicKey");
    }

    /// A listener connected with encryption on `curve` in `mode`/`bits`, the key exchange done,
    /// and the server's half.
    pub fn connected(
        curve: Curve,
        mode: EncryptionMode,
        bits: Bits,
    ) -> (Box<Listener>, ServerSide) {
        let server = EphemeralKey::from_private_bytes(curve, &[0x11, 0x11]).expect("server key");
        let public = ServerPublicKey::from_raw(curve, server.public_key()).expect("point");
        let mut l = Box::new(Listener::new(Config::DEFAULT, CREDS, 0x1234_5678).expect("listener"));
        l.set_unix_time(0, 1_700_000_000_000);
        l.set_encryption(Some(Encryption::new(public, mode, bits)), &[0x42; 32])
            .expect("encryption");
        l.connected(0);
        l.poll_events(|_| {});
        let tx = l.transmit().to_vec();
        l.consume_transmit(tx.len());
        let (client, seq) = key_quest(&tx);
        let client = ServerPublicKey::from_raw(curve, &client).expect("client key");
        let keys = server.diffie_hellman(&client).expect("ecdh").derive(bits);
        let mut s = ServerSide {
            mode,
            send: keys.cipher(),
        };
        let mut ok = [0u8; 17];
        rtm_listen::rtm::answer::build_empty_answer(&mut ok, seq).expect("answer");
        let mut wire = Vec::new();
        s.seal(&ok, &mut wire);
        assert_eq!(l.handle_input(1, &wire, |_| {}), wire.len());
        assert_eq!(l.stats().key_exchanges, 1, "key exchange done");
        let n = l.transmit().len();
        l.consume_transmit(n);
        (l, s)
    }

    /// The listener's side of one connection's key exchange on `curve`: a new ephemeral key,
    /// the shared secret, the keys, and the `*key` quest queued.
    pub struct HandshakeBench {
        listener: Box<Listener>,
    }

    impl HandshakeBench {
        /// A listener with encryption on `curve` (package mode, AES-128).
        pub fn new(curve: Curve) -> Self {
            let (listener, _) = connected(curve, EncryptionMode::Package, Bits::Aes128);
            Self { listener }
        }

        /// A new connection: the listener's side of the key exchange (key generation, ECDH,
        /// key derivation, the `*key` quest). Returns the quest's length.
        #[inline]
        pub fn connect(&mut self, now: u64) -> usize {
            let l = &mut *self.listener;
            l.closed(now, rtm_listen::session::CloseReason::Host);
            l.connected(now);
            l.poll_events(|e| {
                std::hint::black_box(&e);
            });
            let n = l.transmit().len();
            l.consume_transmit(n);
            n
        }
    }

    /// Pushes through an encrypted connection: as [`super::ListenerBench`], the frame sealed by
    /// the server's half first ([`EncListenerBench::seal_only`] is that part alone, to subtract).
    pub struct EncListenerBench {
        listener: Box<Listener>,
        server: ServerSide,
        frame: Vec<u8>,
        wire: Vec<u8>,
        mid_at: Option<usize>,
        mid: u64,
        now: u64,
    }

    impl EncListenerBench {
        /// A connected encrypted listener (secp256k1) in `mode`, AES-128, fed `frame`.
        pub fn new(frame: &[u8], mode: EncryptionMode) -> Self {
            let (listener, server) = connected(Curve::Secp256k1, mode, Bits::Aes128);
            let mid_at = mid_offset(frame);
            let mid = mid_at.map_or(0, |at| {
                u64::from_be_bytes(frame[at..at + 8].try_into().expect("8 bytes of mid"))
            });
            Self {
                listener,
                server,
                frame: frame.to_vec(),
                wire: Vec::with_capacity(frame.len() + 4),
                mid_at,
                mid,
                now: 1,
            }
        }

        /// The server's part of one push: a fresh mid, the frame sealed.
        #[inline]
        pub fn seal_only(&mut self) -> usize {
            self.mid = self.mid.wrapping_add(1);
            self.now += 1;
            if let Some(m) = self.mid_at.and_then(|at| self.frame.get_mut(at..at + 8)) {
                m.copy_from_slice(&self.mid.to_be_bytes());
            }
            self.server.seal(&self.frame, &mut self.wire);
            self.wire.len()
        }

        /// `n` pushes sealed by the server's half (each with a fresh mid), one after the
        /// other in one buffer as the server sends them, and where each ends: the input of
        /// [`EncListenerBench::feed`], prepared before a timed loop.
        pub fn prepare(&mut self, n: usize) -> (Vec<u8>, Vec<usize>) {
            let mut wire = Vec::with_capacity(n * (self.frame.len() + 4));
            let mut ends = Vec::with_capacity(n);
            for _ in 0..n {
                self.seal_only();
                wire.extend_from_slice(&self.wire);
                ends.push(wire.len());
            }
            (wire, ends)
        }

        /// One prepared push: the listener's whole path (open, handle, answer sealed) for
        /// `input`, the answer taken and released.
        #[inline]
        pub fn feed(&mut self, input: &[u8]) -> (usize, usize) {
            self.now += 1;
            super::feed(&mut self.listener, self.now, input)
        }

        /// One push: [`EncListenerBench::seal_only`], then the listener's whole path (open,
        /// handle, answer sealed), the answer taken and released.
        #[inline]
        pub fn push(&mut self) -> (usize, usize) {
            self.seal_only();
            let l = &mut *self.listener;
            let mut events = 0;
            let taken = l.handle_input(self.now, std::hint::black_box(&self.wire), |ev| {
                std::hint::black_box(&ev);
                events += 1;
            });
            debug_assert_eq!(taken, self.wire.len());
            let out = std::hint::black_box(l.transmit());
            let n = out.len();
            l.consume_transmit(n);
            (events, n)
        }
    }
}

/// The WuKongIM listener's path per RECV (feature `wukong`): [`wk::WkBench`].
#[cfg(feature = "wukong")]
pub mod wk {
    use rtm_listen::crypto::wukong::{ClientKey, PayloadKeys, encrypted_len};
    use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkListener};
    use rtm_listen::wire::wukong::packet::{Recv, build_recv};

    /// The chat payload of the bench (the size of the RTM chat push's message).
    pub const PAYLOAD: &[u8] = br#"{"type":1,"content":"hello from the benchmark"}"#;
    const VERSION: u8 = 5;

    /// A logged-in WuKongIM listener and the server's half: each RECV gets a fresh
    /// `message_id` (so the duplicate filter misses), is encrypted and keyed by the server's
    /// half ([`WkBench::seal_only`], to subtract), then fed to the listener, whose RECVACK is
    /// taken ([`WkBench::recv`]).
    pub struct WkBench {
        listener: Box<WkListener<4096, 1024>>,
        keys: Option<PayloadKeys>,
        wire: Vec<u8>,
        body: Vec<u8>,
        mid: i64,
        now: u64,
    }

    impl WkBench {
        /// Logged in, with payload encryption (`encrypt`) or without.
        pub fn new(encrypt: bool) -> Self {
            let creds = WkCredentials {
                uid: "90001",
                token: "tok",
                device_id: "bench",
            };
            let mut l = Box::new(
                WkListener::<4096, 1024>::sized(WkConfig::DEFAULT, creds, &[7; 32])
                    .expect("listener"),
            );
            l.set_unix_time(0, 1_700_000_000_000);
            l.connected(1);
            let connect = l.transmit().to_vec();
            l.consume_transmit(connect.len());
            // The client key is CONNECT's last string (44 base64 bytes).
            let client_key = &connect[connect.len() - 44..];
            let salt = b"0123456789abcdef";
            let server = ClientKey::from_random([9; 32]);
            let (keys, server_key) = if encrypt {
                let k = server.derive(client_key, salt).expect("keys");
                (Some(k), server.public_key_b64().to_vec())
            } else {
                (None, Vec::new())
            };
            // CONNACK v5: flag HasServerVersion, version, time_diff, success, key, salt, node.
            let mut body = vec![VERSION];
            body.extend_from_slice(&0i64.to_be_bytes());
            body.push(1);
            let (k, s): (&[u8], &[u8]) = if encrypt {
                (&server_key, salt)
            } else {
                (&[], &[])
            };
            for f in [k, s] {
                body.extend_from_slice(&(f.len() as u16).to_be_bytes());
                body.extend_from_slice(f);
            }
            body.extend_from_slice(&1u64.to_be_bytes());
            let mut connack = vec![0x21, body.len() as u8];
            connack.extend_from_slice(&body);
            let mut events = 0;
            l.handle_input(2, &connack, |_| events += 1);
            assert!(l.is_connected() && events == 1, "logged in");
            Self {
                listener: l,
                keys,
                wire: vec![0; 1024],
                body: vec![0; 256],
                mid: 1_000_000,
                now: 2,
            }
        }

        /// The server's half of one RECV: a fresh id, the payload encrypted, the msgKey, the
        /// packet. Returns its length.
        #[inline]
        pub fn seal_only(&mut self) -> usize {
            self.mid += 1;
            self.now += 1;
            let mut recv = Recv {
                flags: 0,
                setting: 0,
                msg_key: &[],
                from_uid: b"10001",
                channel_id: b"10001",
                channel_type: 1,
                expire: None,
                client_msg_no: b"cmn",
                stream: None,
                message_id: self.mid,
                message_seq: 7,
                timestamp: 1_700_000_000,
                topic: None,
                payload: PAYLOAD,
            };
            let key;
            if let Some(k) = &self.keys {
                let n = k
                    .encrypt_payload(PAYLOAD, &mut self.body)
                    .expect("room for the payload");
                debug_assert_eq!(n, encrypted_len(PAYLOAD.len()));
                recv.payload = &self.body[..n];
                key = k.msg_key(&recv);
                recv.msg_key = &key;
            }
            build_recv(&mut self.wire, &recv, VERSION).expect("room for the RECV")
        }

        /// One RECV: [`WkBench::seal_only`], then the listener's whole path (msgKey check,
        /// decryption, decode, mapping, dedup, the callback, the RECVACK), the RECVACK taken
        /// and released. Returns (events, RECVACK bytes).
        #[inline]
        pub fn recv(&mut self) -> (usize, usize) {
            let n = self.seal_only();
            let l = &mut *self.listener;
            let mut events = 0;
            let taken = l.handle_input(self.now, std::hint::black_box(&self.wire[..n]), |ev| {
                std::hint::black_box(&ev);
                events += 1;
            });
            debug_assert_eq!(taken, n);
            let out = std::hint::black_box(l.transmit());
            let acked = out.len();
            l.consume_transmit(acked);
            (events, acked)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn each_recv_is_delivered_and_acked() {
            for encrypt in [false, true] {
                let mut b = WkBench::new(encrypt);
                for _ in 0..3 {
                    assert_eq!(b.recv(), (1, 14), "encrypt {encrypt}");
                }
            }
        }
    }
}
