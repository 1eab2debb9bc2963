//! The listen quests and `*ping`, built into a caller's buffer.
//!
//! Key layout follows the C++ SDK (reference §6.2), so that with the same inputs our frames are
//! byte-identical to its frames:
//!
//! - the auth keys first: `pid`, `sign`, `salt`, `ts`;
//! - `addlisten` / `removelisten`: always all four of `gids`, `rids`, `uids`, `events`, empty
//!   ones as an empty array;
//! - `setlisten` with ids: the same keys, but an empty one is omitted;
//! - `setlisten` with flags: always `group`, `room`, `p2p`, `ev`, in that order.
//!
//! Ids are always msgpack **arrays** (never maps, the Go SDK's bug).

use super::sign::Auth;
use crate::wire::frame::{BuildError, FrameKind, Payload, build_empty_map_frame, build_quest};
use crate::wire::msgpack::{Sink, Writer};

/// The id-based listen quests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ListenOp {
    /// `addlisten`: incremental add.
    Add,
    /// `removelisten`: incremental remove.
    Remove,
    /// `setlisten`: replace.
    Set,
}

impl ListenOp {
    /// The quest's method name.
    pub const fn method(self) -> &'static str {
        match self {
            Self::Add => "addlisten",
            Self::Remove => "removelisten",
            Self::Set => "setlisten",
        }
    }
}

/// The ids and events of an id-based listen quest.
///
/// Event names are any `AsRef<str>` (`&str` by default, `String` in a std host). Lists left
/// out are empty with [`Default`]:
///
/// ```
/// use rtm_listen::prelude::*;
///
/// let groups = ListenIds { gids: &[2001, 2002], ..ListenIds::default() };
/// assert!(groups.events.is_empty());
/// let logins = ListenIds { events: &["login"], ..Default::default() };
/// assert!(!logins.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ListenIds<'x, E: AsRef<str> = &'static str> {
    /// Group ids.
    pub gids: &'x [i64],
    /// Room ids.
    pub rids: &'x [i64],
    /// User ids (P2P).
    pub uids: &'x [i64],
    /// Event names (`login`, `logout`).
    pub events: &'x [E],
}

/// For `&str` event names, the common case, so that `..Default::default()` needs no type
/// annotation (for other name types, [`ListenIds::EMPTY`]).
impl<'x> Default for ListenIds<'x, &'x str> {
    /// No ids and no events.
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<E: AsRef<str>> ListenIds<'_, E> {
    /// No ids and no events.
    pub const EMPTY: Self = Self {
        gids: &[],
        rids: &[],
        uids: &[],
        events: &[],
    };

    /// Whether every list is empty.
    pub fn is_empty(&self) -> bool {
        self.gids.is_empty()
            && self.rids.is_empty()
            && self.uids.is_empty()
            && self.events.is_empty()
    }
}

/// The four "listen to all" flags of the flag form of `setlisten`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListenFlags {
    /// All group messages.
    pub group: bool,
    /// All room messages.
    pub room: bool,
    /// All P2P messages.
    pub p2p: bool,
    /// All events.
    pub ev: bool,
}

impl ListenFlags {
    /// None of the four.
    pub const NONE: Self = Self {
        group: false,
        room: false,
        p2p: false,
        ev: false,
    };

    /// Whether any flag is set.
    pub fn any(&self) -> bool {
        self.group || self.room || self.p2p || self.ev
    }
}

fn auth_keys<S: Sink>(w: &mut Writer<S>, auth: &Auth) {
    w.str(b"pid");
    w.uint(u64::from(auth.pid));
    w.str(b"sign");
    w.str(&auth.sign);
    w.str(b"salt");
    w.int(auth.salt);
    w.str(b"ts");
    w.int(auth.ts);
}

fn id_array<S: Sink>(w: &mut Writer<S>, key: &[u8], ids: &[i64]) {
    w.str(key);
    w.array_len(ids.len());
    for &id in ids {
        w.int(id);
    }
}

/// The payload of every listen quest: the auth keys, then the ids or the flags. One type for
/// both forms keeps one copy of the quest builder.
struct ListenPayload<'r, 'x, E: AsRef<str>> {
    auth: Auth,
    body: Body<'r, 'x, E>,
}

enum Body<'r, 'x, E: AsRef<str>> {
    /// The id lists; `omit_empty` leaves out empty lists (`setlisten`).
    Ids {
        ids: &'r ListenIds<'x, E>,
        omit_empty: bool,
    },
    /// The flag form of `setlisten`.
    Flags(ListenFlags),
}

impl<E: AsRef<str>> Payload for ListenPayload<'_, '_, E> {
    fn encode<S: Sink>(&self, w: &mut Writer<S>) {
        match &self.body {
            Body::Ids { ids, omit_empty } => {
                let keep = |n: usize| !omit_empty || n > 0;
                let lists = [
                    ids.gids.len(),
                    ids.rids.len(),
                    ids.uids.len(),
                    ids.events.len(),
                ];
                w.map_len(4 + lists.iter().filter(|&&n| keep(n)).count());
                auth_keys(w, &self.auth);
                for (key, list) in [
                    (&b"gids"[..], ids.gids),
                    (b"rids", ids.rids),
                    (b"uids", ids.uids),
                ] {
                    if keep(list.len()) {
                        id_array(w, key, list);
                    }
                }
                if keep(ids.events.len()) {
                    w.str(b"events");
                    w.array_len(ids.events.len());
                    for e in ids.events {
                        w.str(e.as_ref().as_bytes());
                    }
                }
            }
            Body::Flags(f) => {
                w.map_len(8);
                auth_keys(w, &self.auth);
                for (key, v) in [
                    (&b"group"[..], f.group),
                    (b"room", f.room),
                    (b"p2p", f.p2p),
                    (b"ev", f.ev),
                ] {
                    w.str(key);
                    w.bool(v);
                }
            }
        }
    }
}

/// Project credentials used to sign quests.
#[derive(Clone, Copy)]
pub struct Credentials<'s> {
    /// Project id.
    pub pid: u32,
    /// Project secret key. Never logged or written anywhere but into the MD5.
    pub secret: &'s [u8],
}

impl core::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("pid", &self.pid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Per-quest values: seq, salt and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QuestIds {
    /// FPNN sequence number.
    pub seq: u32,
    /// Unique salt.
    pub salt: i64,
    /// Unix time in seconds.
    pub ts: i64,
}

/// Builds an `addlisten`, `removelisten` or `setlisten` (ids form) quest into `out`.
///
/// Returns the frame length; if `out` is too small, the exact size needed, with `out` untouched.
pub fn build_listen<E: AsRef<str>>(
    out: &mut [u8],
    creds: &Credentials<'_>,
    q: QuestIds,
    op: ListenOp,
    ids: &ListenIds<'_, E>,
) -> Result<usize, BuildError> {
    let method = op.method();
    let payload = ListenPayload {
        auth: Auth::new(creds.pid, creds.secret, q.salt, method, q.ts),
        body: Body::Ids {
            ids,
            omit_empty: op == ListenOp::Set,
        },
    };
    #[cfg(not(rtm_opt_size))]
    if let Some(built) = one_pass::build(out, q.seq, op, &payload) {
        return built;
    }
    build_quest(out, Some(q.seq), method, &payload)
}

/// Builds the flag form of `setlisten` into `out`. Same size contract as [`build_listen`].
pub fn build_set_flags(
    out: &mut [u8],
    creds: &Credentials<'_>,
    q: QuestIds,
    flags: ListenFlags,
) -> Result<usize, BuildError> {
    let payload: ListenPayload<'_, '_, &str> = ListenPayload {
        auth: Auth::new(creds.pid, creds.secret, q.salt, "setlisten", q.ts),
        body: Body::Flags(flags),
    };
    #[cfg(not(rtm_opt_size))]
    if let Some(built) = one_pass::build(out, q.seq, ListenOp::Set, &payload) {
        return built;
    }
    build_quest(out, Some(q.seq), "setlisten", &payload)
}

/// The listen quests of speed builds, written in one pass.
///
/// The generic path ([`build_quest`] over [`ListenPayload`]) encodes the payload twice, once
/// to size it and once to write it, through the general msgpack writer. Here the frame is
/// written once into a stack buffer, with the keys as constant byte strings and the integers
/// as word stores (a store may run up to 8 bytes past a value, into bytes written next), its
/// size patched into the header at the end, and then copied out. A frame too large for the
/// stack buffer (long id lists) takes the generic path. The bytes are the same; the tests
/// compare the two paths.
#[cfg(not(rtm_opt_size))]
mod one_pass {
    use super::{Auth, Body, ListenOp, ListenPayload};
    use crate::wire::frame::{BuildError, FrameKind, HEADER_LEN, header};
    use crate::wire::msgpack::marker as m;

    /// The stack buffer: room for the auth keys, the flags, and a few dozen ids.
    const ROOM: usize = 256;

    /// A cursor over the stack buffer. Each write returns `None` when it would not fit. (The
    /// buffer is borrowed rather than owned so that the cursor stays in a register: the
    /// compiler cannot tell the stores into an owned buffer from the cursor beside it.)
    struct Local<'b> {
        buf: &'b mut [u8; ROOM],
        at: usize,
    }

    impl Local<'_> {
        /// Stores the `K` bytes of `bytes` and moves on by `len` of them.
        #[inline(always)]
        fn put<const K: usize>(&mut self, bytes: [u8; K], len: usize) -> Option<()> {
            *self.buf.get_mut(self.at..)?.first_chunk_mut::<K>()? = bytes;
            self.at += len;
            Some(())
        }

        /// Copies `bytes`, whatever their length.
        #[inline(always)]
        fn copy(&mut self, bytes: &[u8]) -> Option<()> {
            let end = self.at + bytes.len();
            self.buf.get_mut(self.at..end)?.copy_from_slice(bytes);
            self.at = end;
            Some(())
        }

        /// A msgpack integer in msgpack-c's form (see `Writer::int`).
        #[inline(always)]
        fn int(&mut self, v: i64) -> Option<()> {
            // The marker and the number of big-endian bytes after it.
            let (marker, n) = if v >= 0 {
                if v < 0x80 {
                    return self.put([v as u8], 1);
                } else if v <= 0xff {
                    (m::U8, 1)
                } else if v <= 0xffff {
                    (m::U16, 2)
                } else if v <= 0xffff_ffff {
                    (m::U32, 4)
                } else {
                    (m::U64, 8)
                }
            } else if v >= -32 {
                return self.put([v as u8], 1);
            } else if v >= i64::from(i8::MIN) {
                (m::I8, 1)
            } else if v >= i64::from(i16::MIN) {
                (m::I16, 2)
            } else if v >= i64::from(i32::MIN) {
                (m::I32, 4)
            } else {
                (m::I64, 8)
            };
            let (head, word) = self
                .buf
                .get_mut(self.at..)?
                .first_chunk_mut::<9>()?
                .split_first_mut()?;
            *head = marker;
            // The low `n` bytes of `v`, big-endian, lead the word.
            *word.first_chunk_mut::<8>()? = ((v as u64) << (64 - 8 * n)).to_be_bytes();
            self.at += 1 + n;
            Some(())
        }

        /// An array header (see `Writer::array_len`).
        #[inline(always)]
        fn array_len(&mut self, len: usize) -> Option<()> {
            if len < 16 {
                self.put([0x90 | len as u8], 1)
            } else {
                // `array32` would be more than the buffer holds: the generic path writes it.
                let [hi, lo] = u16::try_from(len).ok()?.to_be_bytes();
                self.put([m::ARRAY16, hi, lo], 3)
            }
        }

        /// A string (see `Writer::str`).
        #[inline(always)]
        fn str(&mut self, s: &[u8]) -> Option<()> {
            if s.len() < 32 {
                self.put([0xa0 | s.len() as u8], 1)?;
            } else if let Ok(len) = u8::try_from(s.len()) {
                self.put([m::STR8, len], 2)?;
            } else {
                // Longer than the buffer: the generic path writes it.
                return None;
            }
            self.copy(s)
        }

        /// An id list under `key` (`\xa4gids`, ...), unless it is empty and `omit_empty`.
        #[inline(always)]
        fn id_list(&mut self, key: [u8; 5], ids: &[i64], omit_empty: bool) -> Option<()> {
            if !ids.is_empty() || !omit_empty {
                self.put(key, 5)?;
                self.array_len(ids.len())?;
                for &id in ids {
                    self.int(id)?;
                }
            }
            Some(())
        }

        /// The map header and `pid`, `sign`, `salt` and `ts` with their values.
        #[inline(always)]
        fn auth(&mut self, pairs: u8, auth: &Auth) -> Option<()> {
            self.put([0x80 | pairs, 0xa3, b'p', b'i', b'd'], 5)?;
            self.int(i64::from(auth.pid))?;
            self.put(*b"\xa4sign\xd9\x20", 7)?;
            self.put(auth.sign, 32)?;
            self.put(*b"\xa4salt", 5)?;
            self.int(auth.salt)?;
            self.put(*b"\xa2ts", 3)?;
            self.int(auth.ts)
        }
    }

    /// Builds the quest, or `None` when it does not fit the stack buffer (then nothing has
    /// been written to `out`).
    #[inline]
    pub(super) fn build<E: AsRef<str>>(
        out: &mut [u8],
        seq: u32,
        op: ListenOp,
        payload: &ListenPayload<'_, '_, E>,
    ) -> Option<Result<usize, BuildError>> {
        let (method, ss) = padded_method(op);
        let mut buf = [0; ROOM];
        let mut w = Local {
            buf: &mut buf,
            at: HEADER_LEN,
        };
        // The seq and the method name in one store.
        let mut seq_method = [0; 20];
        let (seq_bytes, method_bytes) = seq_method.split_at_mut(4);
        seq_bytes.copy_from_slice(&seq.to_le_bytes());
        method_bytes.copy_from_slice(&method);
        w.put(seq_method, 4 + usize::from(ss))?;
        let start = w.at;
        match &payload.body {
            Body::Ids { ids, omit_empty } => {
                let omit = *omit_empty;
                let kept = |n: usize| u8::from(n > 0 || !omit);
                let pairs = 4
                    + kept(ids.gids.len())
                    + kept(ids.rids.len())
                    + kept(ids.uids.len())
                    + kept(ids.events.len());
                w.auth(pairs, &payload.auth)?;
                w.id_list(*b"\xa4gids", ids.gids, omit)?;
                w.id_list(*b"\xa4rids", ids.rids, omit)?;
                w.id_list(*b"\xa4uids", ids.uids, omit)?;
                if !ids.events.is_empty() || !omit {
                    w.put(*b"\xa6events", 7)?;
                    w.array_len(ids.events.len())?;
                    for e in ids.events {
                        w.str(e.as_ref().as_bytes())?;
                    }
                }
            }
            Body::Flags(f) => {
                w.auth(8, &payload.auth)?;
                let b = |v: bool| if v { m::TRUE } else { m::FALSE };
                let mut tail = *b"\xa5group_\xa4room_\xa3p2p_\xa2ev_";
                tail[6] = b(f.group);
                tail[12] = b(f.room);
                tail[17] = b(f.p2p);
                tail[21] = b(f.ev);
                w.put(tail, 22)?;
            }
        }
        let len = w.at;
        let psize = u32::try_from(len - start).ok()?;
        *buf.first_chunk_mut::<HEADER_LEN>()? = header(FrameKind::Twoway, ss, psize);
        Some(match out.get_mut(..len) {
            Some(out) => {
                out.copy_from_slice(buf.get(..len)?);
                Ok(len)
            }
            None => Err(BuildError::BufferTooSmall { needed: len }),
        })
    }

    /// The method name of `op` zero-padded to 16 bytes (a store of constant size), and its
    /// length.
    #[inline(always)]
    fn padded_method(op: ListenOp) -> ([u8; 16], u8) {
        const fn pad(op: ListenOp) -> ([u8; 16], u8) {
            let name = op.method().as_bytes();
            let mut padded = [0; 16];
            let mut i = 0;
            while i < name.len() {
                padded[i] = name[i];
                i += 1;
            }
            (padded, name.len() as u8)
        }
        const ADD: ([u8; 16], u8) = pad(ListenOp::Add);
        const REMOVE: ([u8; 16], u8) = pad(ListenOp::Remove);
        const SET: ([u8; 16], u8) = pad(ListenOp::Set);
        match op {
            ListenOp::Add => ADD,
            ListenOp::Remove => REMOVE,
            ListenOp::Set => SET,
        }
    }
}

/// Length of the `*ping` quest.
const PING_LEN: usize = 22;

/// Builds the FPNN keepalive quest `*ping` (twoway, empty map; 22 bytes). The frame is fixed
/// but for its seq, so it is written directly (the same bytes `build_quest(out, Some(seq),
/// "*ping", &EmptyMap)` gives, which the tests check). Same size contract as `build_quest`.
pub fn build_ping(out: &mut [u8], seq: u32) -> Result<usize, BuildError> {
    build_empty_map_frame::<PING_LEN>(out, FrameKind::Twoway, seq, b"*ping")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::EmptyMap;
    use proptest::prelude::*;

    #[test]
    fn ping_is_the_generic_quest_byte_for_byte() {
        for seq in [0, 1, 0x0102_0304, u32::MAX] {
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            assert_eq!(build_ping(&mut a, seq), Ok(PING_LEN));
            assert_eq!(
                build_quest(&mut b, Some(seq), "*ping", &EmptyMap),
                Ok(PING_LEN)
            );
            assert_eq!(a, b);
        }
        let mut short = [7u8; PING_LEN - 1];
        assert_eq!(
            build_ping(&mut short, 1),
            Err(BuildError::BufferTooSmall { needed: PING_LEN })
        );
        assert_eq!(short, [7u8; PING_LEN - 1], "nothing written when short");
    }

    /// Builds with the public builder (the one-pass writer in speed builds) and with the
    /// generic path, into buffers of `room` bytes, and compares results and bytes. Returns
    /// whether the one-pass writer took the quest (never in size builds).
    fn both_paths<E: AsRef<str>>(
        room: usize,
        q: QuestIds,
        op: ListenOp,
        body: Body<'_, '_, E>,
    ) -> bool {
        let creds = Credentials {
            pid: 80_000_071,
            secret: b"a1b2c3d4-e5f6-7890-abcd-ef0123456789",
        };
        let method = match body {
            Body::Ids { .. } => op.method(),
            Body::Flags(_) => "setlisten",
        };
        let (mut fast, mut slow) = (vec![0xa5; room], vec![0xa5; room]);
        let got = match &body {
            Body::Ids { ids, .. } => build_listen(&mut fast, &creds, q, op, ids),
            Body::Flags(f) => build_set_flags(&mut fast, &creds, q, *f),
        };
        let payload = ListenPayload {
            auth: Auth::new(creds.pid, creds.secret, q.salt, method, q.ts),
            body,
        };
        let want = build_quest(&mut slow, Some(q.seq), method, &payload);
        assert_eq!(got, want);
        assert_eq!(fast, slow, "the same bytes, and nothing past them");
        #[cfg(not(rtm_opt_size))]
        let one_pass = {
            let op = if method == "setlisten" {
                ListenOp::Set
            } else {
                op
            };
            one_pass::build(&mut [0; 1024], q.seq, op, &payload).is_some()
        };
        #[cfg(rtm_opt_size)]
        let one_pass = false;
        one_pass
    }

    #[test]
    fn one_pass_matches_the_generic_path_at_the_edges() {
        let q = QuestIds {
            seq: 4,
            salt: 1_700_000_000_000_001_234,
            ts: 1_700_000_000,
        };
        let big: Vec<i64> = (0..40).map(|i| i64::MIN + i).collect();
        let twenty: Vec<i64> = (0..20).collect();
        let events = ["login", "logout"];
        let long_event = ["e".repeat(40)];
        for room in [0, 60, 124, 125, 126, 300, 1_000] {
            for flags in [
                ListenFlags::NONE,
                ListenFlags {
                    group: true,
                    room: false,
                    p2p: true,
                    ev: true,
                },
            ] {
                let one_pass = both_paths::<&str>(room, q, ListenOp::Set, Body::Flags(flags));
                assert_eq!(one_pass, cfg!(not(rtm_opt_size)));
            }
            for op in [ListenOp::Add, ListenOp::Remove, ListenOp::Set] {
                let omit_empty = op == ListenOp::Set;
                let lists: [ListenIds<'_, &str>; 4] = [
                    ListenIds {
                        gids: &[],
                        rids: &[],
                        uids: &[],
                        events: &[],
                    },
                    ListenIds {
                        gids: &[10],
                        rids: &[20],
                        uids: &[30],
                        events: &events,
                    },
                    // An `array16`.
                    ListenIds {
                        gids: &twenty,
                        rids: &[],
                        uids: &[-1],
                        events: &[],
                    },
                    // Past the stack buffer: the generic path.
                    ListenIds {
                        gids: &big,
                        rids: &big,
                        uids: &[-1],
                        events: &[],
                    },
                ];
                for (i, ids) in lists.iter().enumerate() {
                    let one_pass = both_paths(room, q, op, Body::Ids { ids, omit_empty });
                    assert_eq!(one_pass, i < 3 && cfg!(not(rtm_opt_size)), "list {i}");
                }
                let ids = ListenIds {
                    gids: &[],
                    rids: &[],
                    uids: &[],
                    events: &long_event,
                };
                both_paths(
                    room,
                    q,
                    op,
                    Body::Ids {
                        ids: &ids,
                        omit_empty,
                    },
                );
            }
        }
    }

    proptest! {
        // No failure file (Miri, which runs these, has no file system).
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn one_pass_matches_the_generic_path(
            op in prop_oneof![Just(ListenOp::Add), Just(ListenOp::Remove), Just(ListenOp::Set)],
            seq in any::<u32>(), salt in any::<i64>(), ts in any::<i64>(), small in -300i64..70_000,
            gids in proptest::collection::vec(any::<i64>(), 0..12),
            rids in proptest::collection::vec(-40_000i64..70_000, 0..20),
            uids in proptest::collection::vec(any::<i32>(), 0..6),
            events in proptest::collection::vec("[a-z]{0,40}", 0..4),
            flags in any::<[bool; 4]>(), room in 0usize..400,
        ) {
            let uids: Vec<i64> = uids.into_iter().map(i64::from).collect();
            let ids = ListenIds { gids: &gids, rids: &rids, uids: &uids, events: &events };
            for q in [QuestIds { seq, salt, ts }, QuestIds { seq, salt: small, ts: small }] {
                both_paths(room, q, op, Body::Ids { ids: &ids, omit_empty: op == ListenOp::Set });
                let [group, room_flag, p2p, ev] = flags;
                let f = ListenFlags { group, room: room_flag, p2p, ev };
                both_paths::<&str>(room, q, ListenOp::Set, Body::Flags(f));
            }
        }
    }
}
