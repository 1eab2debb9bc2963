//! The WuKongIM listener's desired listen set, for what only the webhooks carry: which P2P
//! users, groups, rooms and events the host wants from `msg.notify`, `msg.offline` and
//! `user.onlinestatus`. WuKongIM ids are strings; they are kept as 64-bit hashes (FNV-1a) in
//! sorted fixed tables, so the set costs 8 bytes per id and no allocation. Two distinct ids
//! are confused only if their hashes collide (about 2^-64 per pair).

use heapless::Vec;

use crate::config::LISTEN_IDS;
use crate::rtm::push::Target;

/// Why a listen command was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WkListenError {
    /// More ids of one kind than the table holds ([`LISTEN_IDS`]).
    TooManyIds,
    /// An event other than `login` and `logout`.
    UnsupportedEvent,
}

impl core::fmt::Display for WkListenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TooManyIds => "too many listen ids",
            Self::UnsupportedEvent => "unsupported event (login, logout)",
        })
    }
}

impl core::error::Error for WkListenError {}

/// The ids and events of a listen command (strings; any `AsRef<[u8]>`).
#[derive(Debug)]
pub struct WkIds<'a, S: AsRef<[u8]>> {
    /// Groups (channel type 2).
    pub gids: &'a [S],
    /// Rooms (the channel types configured as rooms).
    pub rids: &'a [S],
    /// Users: P2P messages from or to them.
    pub uids: &'a [S],
    /// `login`, `logout`.
    pub events: &'a [S],
}

impl<S: AsRef<[u8]>> Clone for WkIds<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

// Only references: copied whatever `S` is.
impl<S: AsRef<[u8]>> Copy for WkIds<'_, S> {}

/// FNV-1a, 64 bits.
fn hash(id: &[u8]) -> u64 {
    id.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A sorted table of id hashes.
#[derive(Debug, Clone, Default)]
struct Ids(Vec<u64, LISTEN_IDS>);

impl Ids {
    fn contains(&self, id: &[u8]) -> bool {
        self.0.binary_search(&hash(id)).is_ok()
    }

    /// The table with `ids` added (or removed); `None` when it would overflow.
    fn with<S: AsRef<[u8]>>(&self, ids: &[S], add: bool) -> Option<Self> {
        let mut out = self.clone();
        for id in ids {
            let h = hash(id.as_ref());
            match (out.0.binary_search(&h), add) {
                (Err(at), true) => out.0.insert(at, h).ok()?,
                (Ok(at), false) => {
                    out.0.remove(at);
                }
                _ => {}
            }
        }
        Some(out)
    }
}

const LOGIN: u8 = 1;
const LOGOUT: u8 = 2;

fn events<S: AsRef<[u8]>>(names: &[S]) -> Result<u8, WkListenError> {
    names.iter().try_fold(0, |bits, n| match n.as_ref() {
        b"login" => Ok(bits | LOGIN),
        b"logout" => Ok(bits | LOGOUT),
        _ => Err(WkListenError::UnsupportedEvent),
    })
}

/// What the webhooks deliver: the ids and events listened to, and the "all" flags.
#[derive(Debug, Clone, Default)]
pub struct WkListenSet {
    gids: Ids,
    rids: Ids,
    uids: Ids,
    events: u8,
    all_p2p: bool,
    all_groups: bool,
    all_rooms: bool,
    all_events: bool,
}

impl WkListenSet {
    /// Adds (`add`) or removes ids and events; all or nothing.
    pub(crate) fn change<S: AsRef<[u8]>>(
        &mut self,
        ids: WkIds<'_, S>,
        add: bool,
    ) -> Result<(), WkListenError> {
        let ev = events(ids.events)?;
        let too_many = WkListenError::TooManyIds;
        let gids = self.gids.with(ids.gids, add).ok_or(too_many)?;
        let rids = self.rids.with(ids.rids, add).ok_or(too_many)?;
        let uids = self.uids.with(ids.uids, add).ok_or(too_many)?;
        (self.gids, self.rids, self.uids) = (gids, rids, uids);
        self.events = if add {
            self.events | ev
        } else {
            self.events & !ev
        };
        Ok(())
    }

    /// Replaces the ids and events (the "all" flags stay).
    pub(crate) fn set<S: AsRef<[u8]>>(&mut self, ids: WkIds<'_, S>) -> Result<(), WkListenError> {
        let mut fresh = Self {
            all_p2p: self.all_p2p,
            all_groups: self.all_groups,
            all_rooms: self.all_rooms,
            all_events: self.all_events,
            ..Self::default()
        };
        fresh.change(ids, true)?;
        *self = fresh;
        Ok(())
    }

    /// The "all" flags.
    pub(crate) fn set_all(&mut self, p2p: bool, groups: bool, rooms: bool, events: bool) {
        (
            self.all_p2p,
            self.all_groups,
            self.all_rooms,
            self.all_events,
        ) = (p2p, groups, rooms, events);
    }

    /// Whether a message on `channel_id` of `target` from `from_uid` is listened to.
    pub fn wants_message(&self, target: Target, from_uid: &[u8], channel_id: &[u8]) -> bool {
        match target {
            Target::P2P => {
                self.all_p2p || self.uids.contains(from_uid) || self.uids.contains(channel_id)
            }
            Target::Group => self.all_groups || self.gids.contains(channel_id),
            Target::Room => self.all_rooms || self.rids.contains(channel_id),
            Target::Broadcast => false,
        }
    }

    /// Whether a login (`online`) or logout is listened to.
    pub fn wants_event(&self, online: bool) -> bool {
        self.all_events || self.events & if online { LOGIN } else { LOGOUT } != 0
    }

    /// Whether nothing is listened to.
    pub fn is_empty(&self) -> bool {
        !(self.all_p2p || self.all_groups || self.all_rooms || self.all_events)
            && self.events == 0
            && self.gids.0.is_empty()
            && self.rids.0.is_empty()
            && self.uids.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_set_and_all() {
        let mut s = WkListenSet::default();
        assert!(s.is_empty());
        let ids = WkIds {
            gids: &["g1"],
            rids: &["live-7"],
            uids: &["alice", "a-b"],
            events: &["login"],
        };
        s.change(ids, true).unwrap();
        assert!(s.wants_message(Target::Group, b"x", b"g1"));
        assert!(!s.wants_message(Target::Group, b"x", b"g2"));
        assert!(s.wants_message(Target::P2P, b"alice", b"bob"));
        assert!(s.wants_message(Target::P2P, b"bob", b"a-b"));
        assert!(!s.wants_message(Target::P2P, b"bob", b"carol"));
        assert!(s.wants_message(Target::Room, b"", b"live-7"));
        assert!(s.wants_event(true) && !s.wants_event(false));
        let none: [&str; 0] = [];
        s.change(
            WkIds {
                gids: &["g1"],
                rids: &none,
                uids: &none,
                events: &["login"],
            },
            false,
        )
        .unwrap();
        assert!(!s.wants_message(Target::Group, b"x", b"g1"));
        assert!(!s.wants_event(true));
        assert_eq!(
            s.change(
                WkIds {
                    gids: &none,
                    rids: &none,
                    uids: &none,
                    events: &["typing"],
                },
                true
            ),
            Err(WkListenError::UnsupportedEvent)
        );
        s.set_all(true, false, false, true);
        assert!(s.wants_message(Target::P2P, b"x", b"y") && s.wants_event(false));
        s.set(WkIds {
            gids: &["g9"],
            rids: &none,
            uids: &none,
            events: &none,
        })
        .unwrap();
        assert!(s.wants_message(Target::Group, b"", b"g9"));
        assert!(
            !s.wants_message(Target::Room, b"", b"live-7"),
            "set replaced the rooms"
        );
        assert!(
            s.wants_message(Target::P2P, b"x", b"y"),
            "the all flags stay"
        );
    }

    #[test]
    fn a_full_table_changes_nothing() {
        let mut s = WkListenSet::default();
        let many: std::vec::Vec<std::string::String> =
            (0..=LISTEN_IDS).map(|i| std::format!("g{i}")).collect();
        let none: [std::string::String; 0] = [];
        let err = s.change(
            WkIds {
                gids: &many,
                rids: &none,
                uids: &none,
                events: &none,
            },
            true,
        );
        assert_eq!(err, Err(WkListenError::TooManyIds));
        assert!(s.is_empty());
    }
}
