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
    pub fn method(self) -> &'static str {
        match self {
            Self::Add => "addlisten",
            Self::Remove => "removelisten",
            Self::Set => "setlisten",
        }
    }
}

/// The ids and events of an id-based listen quest.
#[derive(Debug)]
pub struct ListenIds<'x, E: AsRef<str>> {
    /// Group ids.
    pub gids: &'x [i64],
    /// Room ids.
    pub rids: &'x [i64],
    /// User ids (P2P).
    pub uids: &'x [i64],
    /// Event names (`login`, `logout`).
    pub events: &'x [E],
}

impl<E: AsRef<str>> ListenIds<'_, E> {
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
    build_quest(out, Some(q.seq), "setlisten", &payload)
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
}
