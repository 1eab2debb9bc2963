//! The duplicate-push filter: fixed capacity, a TTL, O(1) per push.
//!
//! Keys are (target kind, from, to|gid|rid, mid), stored as a 64-bit keyed hash (foldhash,
//! seeded from host entropy), so an entry costs 12 bytes plus a 2-byte index slot. Two distinct
//! pushes are confused only if their 64-bit hashes collide: about 2^-57 per push at the default
//! capacity. Entries live in a ring in arrival order: the oldest is evicted when the ring is
//! full, and expired ones are dropped from its head on insert. An open-addressing index with
//! linear probing (load at most 1/2, backward-shift deletion) finds a key in O(1).
//!
//! `pushevent` and `ping` are never filtered; the caller only asks about messages.

use core::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::FixedState;

use crate::config::DEDUP_CAPACITY;
use crate::rtm::push::Target;

const CAP: usize = DEDUP_CAPACITY;
const SLOTS: usize = (CAP * 2).next_power_of_two();
const MASK: usize = SLOTS - 1;

/// What identifies a push for duplicate detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DedupKey {
    /// P2P, group, room or broadcast.
    pub target: Target,
    /// Sender.
    pub from: i64,
    /// Receiver, group or room (0 for broadcasts).
    pub to: i64,
    /// Message id.
    pub mid: i64,
}

/// Hashed as two 128-bit words, (from, to) and (mid, target): a derived `Hash` feeds four
/// numbers through the hasher's 128-bit sponge, whose variable shifts cost a 32-bit target
/// about 250 bytes of flash; the words take the same two multiplications without it.
impl Hash for DedupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let word = |hi: i64, lo: u64| (u128::from(hi as u64) << 64) | u128::from(lo);
        state.write_u128(word(self.from, self.to as u64));
        state.write_u128(word(self.mid, self.target as u64));
    }
}

/// The filter.
#[derive(Debug, Clone)]
pub struct Dedup {
    hasher: FixedState,
    ttl_s: u32,
    keys: [u64; CAP],
    /// Insertion time, seconds of the monotonic clock.
    times: [u32; CAP],
    head: usize,
    len: usize,
    /// 0 = empty, otherwise ring position + 1.
    index: [u16; SLOTS],
}

impl Dedup {
    /// An empty filter whose entries live `ttl_ms`.
    pub const fn new(seed: u64, ttl_ms: u64) -> Self {
        let ttl_s = crate::arith::div_rem_small(ttl_ms, 1000).0;
        Self {
            hasher: FixedState::with_seed(seed),
            ttl_s: if ttl_s > u32::MAX as u64 {
                u32::MAX
            } else {
                ttl_s as u32
            },
            keys: [0; CAP],
            times: [0; CAP],
            head: 0,
            len: 0,
            index: [0; SLOTS],
        }
    }

    /// Entries currently held (expired ones may still count until evicted).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    /// The keyed hash the filter stores for `key`.
    #[inline]
    pub fn hash(&self, key: &DedupKey) -> u64 {
        self.hasher.hash_one(key)
    }

    fn home(h: u64) -> usize {
        (h >> 32) as usize & MASK
    }

    fn seconds(now_ms: u64) -> u32 {
        u32::try_from(crate::arith::div_rem_small(now_ms, 1000).0).unwrap_or(u32::MAX)
    }

    fn expired(&self, pos: usize, now_s: u32) -> bool {
        now_s.saturating_sub(self.times[pos]) >= self.ttl_s
    }

    /// The index slot holding ring position `pos`, or the slot of `h` if `pos` is `None`.
    fn find(&self, h: u64, pos: Option<usize>) -> Option<(usize, usize)> {
        let mut s = Self::home(h);
        loop {
            let v = self.index[s];
            if v == 0 {
                return None;
            }
            let p = usize::from(v) - 1;
            let hit = match pos {
                Some(want) => p == want,
                None => self.keys[p] == h,
            };
            if hit {
                return Some((s, p));
            }
            s = (s + 1) & MASK;
        }
    }

    /// Whether `key` was seen less than the TTL ago.
    #[cfg(test)]
    fn contains(&self, key: &DedupKey, now_ms: u64) -> bool {
        self.contains_hash(self.hash(key), now_ms)
    }

    /// Whether the key whose [`Dedup::hash`] is `h` was seen less than the TTL ago.
    #[inline]
    pub fn contains_hash(&self, h: u64, now_ms: u64) -> bool {
        matches!(self.find(h, None), Some((_, p)) if !self.expired(p, Self::seconds(now_ms)))
    }

    /// Records `key` as seen at `now_ms`. Recording a key again keeps its first time.
    #[cfg(test)]
    fn insert(&mut self, key: &DedupKey, now_ms: u64) {
        self.insert_hash(self.hash(key), now_ms);
    }

    /// Records the key whose [`Dedup::hash`] is `h` as seen at `now_ms` (see [`Dedup::insert`]).
    #[cfg(test)]
    fn insert_hash(&mut self, h: u64, now_ms: u64) {
        let now_s = self.purge(now_ms);
        if self.find(h, None).is_some() {
            return;
        }
        self.push(h, now_s);
    }

    /// Records a key that [`Dedup::contains_hash`] reported absent at a time no later than
    /// `now_ms`, with nothing recorded since: [`Dedup::insert_hash`] without the lookup.
    ///
    /// The lookup cannot find it: entries are in arrival order with non-decreasing times, so
    /// every entry expired then is expired now and is purged first, and a live entry with this
    /// hash would have made `contains_hash` true.
    pub fn insert_absent_hash(&mut self, h: u64, now_ms: u64) {
        let now_s = self.purge(now_ms);
        debug_assert!(self.find(h, None).is_none());
        self.push(h, now_s);
    }

    /// Drops the expired entries (all at the head); returns `now_ms` in seconds.
    #[inline]
    fn purge(&mut self, now_ms: u64) -> u32 {
        let now_s = Self::seconds(now_ms);
        while self.len > 0 && self.expired(self.head, now_s) {
            self.remove_head();
        }
        now_s
    }

    /// Appends `h` (not present), evicting the oldest entry when full.
    #[inline]
    fn push(&mut self, h: u64, now_s: u32) {
        if self.len == CAP {
            self.remove_head();
        }
        let pos = (self.head + self.len) % CAP;
        self.keys[pos] = h;
        self.times[pos] = now_s;
        self.len += 1;
        let mut s = Self::home(h);
        while self.index[s] != 0 {
            s = (s + 1) & MASK;
        }
        // CAP <= 32768, so pos + 1 fits in u16 (checked by build.rs).
        self.index[s] = (pos + 1) as u16;
    }

    fn remove_head(&mut self) {
        let pos = self.head;
        self.head = (self.head + 1) % CAP;
        self.len -= 1;
        let Some((mut hole, _)) = self.find(self.keys[pos], Some(pos)) else {
            return;
        };
        // Backward-shift deletion keeps every probe chain unbroken.
        let mut j = hole;
        loop {
            j = (j + 1) & MASK;
            let v = self.index[j];
            if v == 0 {
                break;
            }
            let k = Self::home(self.keys[usize::from(v) - 1]);
            let stays = if hole <= j {
                hole < k && k <= j
            } else {
                hole < k || k <= j
            };
            if !stays {
                self.index[hole] = v;
                hole = j;
            }
        }
        self.index[hole] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mid: i64) -> DedupKey {
        DedupKey {
            target: Target::Group,
            from: 1,
            to: 2,
            mid,
        }
    }

    #[test]
    fn remembers_until_ttl() {
        let mut d = Dedup::new(7, 300_000);
        d.insert(&key(1), 1_000);
        assert!(d.contains(&key(1), 1_000));
        assert!(!d.contains(&key(2), 1_000));
        assert!(d.contains(&key(1), 300_999));
        assert!(!d.contains(&key(1), 301_000));
        let other_target = DedupKey {
            target: Target::Room,
            ..key(1)
        };
        assert!(!d.contains(&other_target, 1_000));
    }

    #[test]
    fn every_field_and_its_position_changes_the_hash() {
        let d = Dedup::new(11, 300_000);
        let base = DedupKey {
            target: Target::P2P,
            from: 10,
            to: 20,
            mid: 30,
        };
        let variants = [
            DedupKey {
                target: Target::Group,
                ..base
            },
            DedupKey {
                target: Target::Broadcast,
                ..base
            },
            DedupKey { from: 11, ..base },
            DedupKey { to: 21, ..base },
            DedupKey { mid: 31, ..base },
            DedupKey {
                from: 20,
                to: 10,
                ..base
            },
            DedupKey {
                from: 30,
                mid: 10,
                ..base
            },
            DedupKey {
                to: 30,
                mid: 20,
                ..base
            },
            DedupKey { from: -10, ..base },
        ];
        let h = d.hash(&base);
        for v in variants {
            assert_ne!(d.hash(&v), h, "{v:?}");
        }
        assert_ne!(
            Dedup::new(12, 300_000).hash(&base),
            h,
            "the seed keys the hash"
        );
    }

    #[test]
    fn evicts_oldest_when_full_and_keeps_the_rest_findable() {
        let mut d = Dedup::new(3, 300_000);
        for mid in 0..(CAP as i64 + 10) {
            d.insert(&key(mid), 5_000);
        }
        assert_eq!(d.len(), CAP);
        for mid in 0..10 {
            assert!(!d.contains(&key(mid), 5_000), "mid {mid} should be evicted");
        }
        for mid in 10..(CAP as i64 + 10) {
            assert!(d.contains(&key(mid), 5_000), "mid {mid} lost");
        }
    }

    #[test]
    fn absent_insert_matches_insert() {
        // The listener's sequence: contains (false), then insert of the same key later.
        let (mut a, mut b) = (Dedup::new(9, 10_000), Dedup::new(9, 10_000));
        for i in 0..(3 * CAP as i64) {
            let now = (i as u64) * 137;
            let k = key(i % (CAP as i64 + 7));
            let h = a.hash(&k);
            assert_eq!(a.contains_hash(h, now), b.contains(&k, now));
            if !a.contains_hash(h, now) {
                a.insert_absent_hash(h, now + 5);
                b.insert(&k, now + 5);
            }
            assert_eq!(
                (a.head, a.len, a.keys, a.times),
                (b.head, b.len, b.keys, b.times)
            );
            assert_eq!(a.index, b.index);
        }
    }

    #[test]
    fn expired_entries_are_dropped_on_insert() {
        let mut d = Dedup::new(3, 10_000);
        for mid in 0..5 {
            d.insert(&key(mid), 0);
        }
        d.insert(&key(100), 10_000);
        assert_eq!(d.len(), 1);
        assert!(d.contains(&key(100), 10_000));
    }
}
