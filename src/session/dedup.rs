//! The duplicate-push filter: fixed capacity, a TTL, the same cost for every push.
//!
//! Keys are (target kind, from, to|gid|rid, mid), stored as a 64-bit keyed hash (foldhash,
//! seeded from host entropy), so an entry costs 12 bytes. Two distinct pushes are confused only
//! if their 64-bit hashes collide: about 2^-57 per push at the default capacity. The table is
//! set-associative: a hash picks one bucket of [`WAYS`] entries, a lookup compares those
//! entries (first a one-byte tag per entry, all of a bucket's tags in one word, then the whole
//! hash of the entries whose tag matched), and an insert overwrites the bucket's oldest entry (each bucket is a small ring with
//! its own cursor; its times never decrease, so the oldest is also the first to expire). A
//! lookup compares [`WAYS`] keys and an insert writes one entry, whether the table is empty,
//! full or evicting, and nothing moves. What is remembered is, per bucket, its [`WAYS`] most recent keys within the TTL
//! ([`DEDUP_CAPACITY`](crate::config::DEDUP_CAPACITY) keys in all when the hash spreads them
//! evenly).
//!
//! `pushevent` and `ping` are never filtered; the caller only asks about messages.

use core::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::FixedState;

use crate::config::DEDUP_CAPACITY;
use crate::rtm::push::Target;

/// Entries per bucket.
pub const WAYS: usize = if DEDUP_CAPACITY >= 8 {
    8
} else {
    DEDUP_CAPACITY
};
/// Buckets: the largest power of two that keeps `BUCKETS × WAYS` within the capacity.
const BUCKETS: usize = 1 << (usize::BITS - 1 - (DEDUP_CAPACITY / WAYS).leading_zeros());
const ENTRIES: usize = BUCKETS * WAYS;

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

/// `ttl_ms` in whole seconds, saturated to `u32`.
const fn ttl_seconds(ttl_ms: u64) -> u32 {
    let s = crate::arith::div_rem_small(ttl_ms, 1000).0;
    if s > u32::MAX as u64 {
        u32::MAX
    } else {
        s as u32
    }
}

/// The filter.
#[derive(Debug, Clone)]
pub struct Dedup {
    /// The hash seed (the hasher is built from it per hash: a XOR; a zero seed is zero bytes).
    seed: u64,
    ttl_s: u32,
    /// Hashes, bucket after bucket; 0 marks an empty entry (a hash of 0 is stored as 1).
    keys: [u64; ENTRIES],
    /// Insertion time, seconds of the monotonic clock.
    times: [u32; ENTRIES],
    /// Per bucket, the tags of its entries (a byte of each hash, see [`Dedup::tag`]), way `w`
    /// in byte `w`: one word compares them all.
    tags: [[u8; 8]; BUCKETS],
    /// The last second computed from the clock ([`Dedup::seconds`]) and the ms at which it
    /// starts: within that second the division is not redone.
    second: u32,
    second_ms: u64,
    /// Per bucket, the way the next insert overwrites (its oldest).
    next: [u8; BUCKETS],
}

/// `0x01` in each of a word's bytes.
const LOW_BITS: u64 = u64::MAX / 0xff;
/// The tag bytes of the ways a bucket has (all eight when [`WAYS`] is 8).
const WAY_BYTES: u64 = if WAYS >= 8 {
    u64::MAX
} else {
    (1 << (8 * WAYS)) - 1
};

impl Dedup {
    /// An empty filter whose entries live `ttl_ms`.
    pub const fn new(seed: u64, ttl_ms: u64) -> Self {
        Self {
            seed,
            ttl_s: ttl_seconds(ttl_ms),
            keys: [0; ENTRIES],
            times: [0; ENTRIES],
            tags: [[0; 8]; BUCKETS],
            second: 0,
            second_ms: 0,
            next: [0; BUCKETS],
        }
    }

    /// Empties the filter in place, with a new seed and TTL.
    pub fn reset(&mut self, seed: u64, ttl_ms: u64) {
        self.seed = seed;
        self.ttl_s = ttl_seconds(ttl_ms);
        self.keys.fill(0);
        self.times.fill(0);
        self.tags.fill([0; 8]);
        self.second = 0;
        self.second_ms = 0;
        self.next.fill(0);
    }

    /// The keyed hash the filter stores for `key` (never 0).
    #[inline]
    pub fn hash(&self, key: &DedupKey) -> u64 {
        FixedState::with_seed(self.seed).hash_one(key).max(1)
    }

    /// The bucket of `h`.
    fn bucket_of(h: u64) -> usize {
        (h >> 32) as usize & (BUCKETS - 1)
    }

    /// The tag of `h`: its top byte (the bucket is taken from bits 32 and up, the low bits
    /// of a bucket index, so the tag is independent of it).
    fn tag(h: u64) -> u8 {
        (h >> 56) as u8
    }

    fn seconds(now_ms: u64) -> u32 {
        u32::try_from(crate::arith::div_rem_small(now_ms, 1000).0).unwrap_or(u32::MAX)
    }

    /// [`Dedup::seconds`] of `now_ms`, from the cached second when `now_ms` falls in it.
    fn seconds_cached(&self, now_ms: u64) -> u32 {
        if now_ms.wrapping_sub(self.second_ms) < 1000 {
            self.second
        } else {
            Self::seconds(now_ms)
        }
    }

    /// [`Dedup::seconds_cached`], caching the second of `now_ms`.
    fn seconds_caching(&mut self, now_ms: u64) -> u32 {
        if now_ms.wrapping_sub(self.second_ms) >= 1000 {
            self.second = Self::seconds(now_ms);
            self.second_ms = u64::from(self.second) * 1000;
        }
        self.second
    }

    fn live(&self, i: usize, now_s: u32) -> bool {
        now_s.saturating_sub(self.times[i]) < self.ttl_s
    }

    /// Whether `key` was seen less than the TTL ago.
    #[cfg(test)]
    fn contains(&self, key: &DedupKey, now_ms: u64) -> bool {
        self.contains_hash(self.hash(key), now_ms)
    }

    /// Whether the key whose [`Dedup::hash`] is `h` was seen less than the TTL ago.
    #[inline]
    pub fn contains_hash(&self, h: u64, now_ms: u64) -> bool {
        let b = Self::bucket_of(h);
        let Some(&tags) = self.tags.get(b) else {
            return false;
        };
        let tags = u64::from_le_bytes(tags);
        // The bytes of `tags` equal to the tag become zero; `zero_bytes` flags every zero byte
        // (and at worst a byte above one, which the key compare then rejects).
        let x = tags ^ (LOW_BITS * u64::from(Self::tag(h)));
        let mut candidates = x.wrapping_sub(LOW_BITS) & !x & (LOW_BITS << 7) & WAY_BYTES;
        if candidates == 0 {
            return false;
        }
        let now_s = self.seconds_cached(now_ms);
        while candidates != 0 {
            let i = b * WAYS + (candidates.trailing_zeros() / 8) as usize;
            if self.keys.get(i) == Some(&h) && self.live(i, now_s) {
                return true;
            }
            candidates &= candidates - 1;
        }
        false
    }

    /// Records `key` as seen at `now_ms`. Recording a key again keeps its first time.
    #[cfg(test)]
    fn insert(&mut self, key: &DedupKey, now_ms: u64) {
        let h = self.hash(key);
        if !self.contains_hash(h, now_ms) {
            self.insert_absent_hash(h, now_ms);
        }
    }

    /// Records a key that [`Dedup::contains_hash`] reported absent (or expired) at a time no
    /// later than `now_ms`: it overwrites its bucket's oldest entry.
    pub fn insert_absent_hash(&mut self, h: u64, now_ms: u64) {
        let b = Self::bucket_of(h);
        let way = usize::from(self.next[b]) % WAYS;
        self.next[b] = ((way + 1) % WAYS) as u8;
        let i = b * WAYS + way;
        self.keys[i] = h;
        self.times[i] = self.seconds_caching(now_ms);
        self.tags[b][way] = Self::tag(h);
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
    fn each_bucket_keeps_its_most_recent_keys_and_evicts_the_oldest() {
        let mut d = Dedup::new(3, 300_000);
        // One insert per second, so that "oldest" is well defined.
        let n = 4 * ENTRIES as i64;
        let mut history: std::vec::Vec<std::vec::Vec<i64>> = std::vec![std::vec![]; BUCKETS];
        for mid in 0..n {
            let h = d.hash(&key(mid));
            d.insert(&key(mid), 1_000 * mid as u64);
            history[Dedup::bucket_of(h)].push(mid);
        }
        let now = 1_000 * n as u64;
        for recent in &history {
            let keep = recent.len().saturating_sub(WAYS);
            for (i, &mid) in recent.iter().enumerate() {
                assert_eq!(d.contains(&key(mid), now), i >= keep, "mid {mid}");
            }
        }
    }

    #[test]
    fn absent_insert_matches_insert() {
        // The listener's sequence: contains (false), then insert of the same key later.
        let (mut a, mut b) = (Dedup::new(9, 10_000), Dedup::new(9, 10_000));
        for i in 0..(3 * ENTRIES as i64) {
            let now = (i as u64) * 137;
            let k = key(i % (ENTRIES as i64 + 7));
            let h = a.hash(&k);
            assert_eq!(a.contains_hash(h, now), b.contains(&k, now));
            if !a.contains_hash(h, now) {
                a.insert_absent_hash(h, now + 5);
                b.insert(&k, now + 5);
            }
            assert_eq!(
                (a.keys, a.times, a.tags, a.next),
                (b.keys, b.times, b.tags, b.next)
            );
        }
    }

    #[test]
    fn expired_entries_are_forgotten() {
        let mut d = Dedup::new(3, 10_000);
        for mid in 0..5 {
            d.insert(&key(mid), 0);
        }
        d.insert(&key(100), 10_000);
        assert!(d.contains(&key(100), 10_000));
        for mid in 0..5 {
            assert!(!d.contains(&key(mid), 10_000));
        }
        // An expired key seen again is recorded again.
        d.insert(&key(1), 10_000);
        assert!(d.contains(&key(1), 19_999));
    }

    /// The lookup as a plain scan of the bucket's entries: what the tag words must agree with.
    fn scan(d: &Dedup, h: u64, now_ms: u64) -> bool {
        let b = Dedup::bucket_of(h);
        let now_s = Dedup::seconds(now_ms);
        (b * WAYS..b * WAYS + WAYS).any(|i| d.keys[i] == h && d.live(i, now_s))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The cached second is the second of the clock, whatever the order of the times
        /// (backwards, within a second, across seconds, near the `u32` saturation).
        #[test]
        fn cached_seconds_are_the_clocks_seconds(
            times in proptest::collection::vec(proptest::prelude::prop_oneof![
                0u64..5_000,
                proptest::prelude::any::<u64>(),
                (u64::from(u32::MAX) * 1000 - 3_000)..(u64::from(u32::MAX) * 1000 + 3_000),
            ], 1..50),
        ) {
            let mut d = Dedup::new(1, 2_000);
            for t in times {
                proptest::prop_assert_eq!(d.seconds_cached(t), Dedup::seconds(t));
                proptest::prop_assert_eq!(d.seconds_caching(t), Dedup::seconds(t));
                proptest::prop_assert_eq!(d.seconds_cached(t), Dedup::seconds(t));
            }
        }

        /// Lookups through the tag words agree with a plain scan, for hashes crafted to share
        /// buckets and tags (so that tags match while keys differ), over inserts, expiries and
        /// evictions.
        #[test]
        fn tag_lookup_agrees_with_a_plain_scan(
            ops in proptest::collection::vec((0u64..4, 0u64..6, 0u64..6, proptest::prelude::any::<bool>(), 0u64..4_000), 1..200),
        ) {
            let mut d = Dedup::new(1, 2_000);
            let mut now = 0;
            for (bucket, tag, low, insert, dt) in ops {
                now += dt;
                // Tag byte 56..64, bucket bits from 32, distinct low bits; never 0.
                let h = (tag << 56) | (bucket << 32) | (low + 1);
                let found = d.contains_hash(h, now);
                proptest::prop_assert_eq!(found, scan(&d, h, now));
                if insert && !found {
                    d.insert_absent_hash(h, now);
                    proptest::prop_assert!(d.contains_hash(h, now));
                }
            }
        }
    }
}
