//! Fixed-capacity id storage for listen state: a sorted set of (kind, id).
//!
//! Ids of all three kinds share one capacity. Each entry is a kind byte and an `i64` kept in two
//! parallel arrays (9 bytes per id, no padding), sorted by (kind, id) so that the ids of one kind
//! form a contiguous slice, ready to be written as a msgpack array.

use crate::config::LISTEN_IDS;
use crate::shift::{move_down, move_up};

/// Which list an id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdKind {
    /// Group ids (`gids`).
    Group = 0,
    /// Room ids (`rids`).
    Room = 1,
    /// User ids for P2P (`uids`).
    User = 2,
}

/// The event names the server supports (reference §6), as bits of an event mask.
pub const EVENTS: [&str; 2] = ["login", "logout"];

/// The mask bit of an event name, if it is supported.
pub fn event_bit(name: &[u8]) -> Option<u8> {
    EVENTS
        .iter()
        .position(|e| e.as_bytes() == name)
        .map(|i| 1 << i)
}

/// The names of the events in `mask`, in a fixed array, and how many there are.
pub fn event_names(mask: u8) -> ([&'static str; EVENTS.len()], usize) {
    let mut out = [""; EVENTS.len()];
    let mut n = 0;
    for (i, name) in EVENTS.iter().enumerate() {
        if mask & (1 << i) != 0 {
            out[n] = name;
            n += 1;
        }
    }
    (out, n)
}

/// A borrowed, sorted run of ids.
#[derive(Debug, Clone, Copy)]
pub struct SortedIds<'a> {
    kinds: &'a [u8],
    ids: &'a [i64],
}

impl<'a> SortedIds<'a> {
    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids of one kind, sorted.
    pub fn of(&self, kind: IdKind) -> &'a [i64] {
        let k = kind as u8;
        let start = self.kinds.partition_point(|&x| x < k);
        let end = self.kinds.partition_point(|&x| x <= k);
        &self.ids[start..end]
    }

    /// All (kind, id) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u8, i64)> + 'a {
        self.kinds.iter().copied().zip(self.ids.iter().copied())
    }
}

/// A sorted set of (kind, id) with capacity [`LISTEN_IDS`].
#[derive(Debug, Clone)]
pub struct IdSet {
    kinds: [u8; LISTEN_IDS],
    ids: [i64; LISTEN_IDS],
    len: usize,
}

/// The set or arena is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl IdSet {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            kinds: [0; LISTEN_IDS],
            ids: [0; LISTEN_IDS],
            len: 0,
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.len
    }

    /// A view of the whole set.
    pub fn view(&self) -> SortedIds<'_> {
        SortedIds {
            kinds: &self.kinds[..self.len],
            ids: &self.ids[..self.len],
        }
    }

    fn search(&self, kind: u8, id: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match (self.kinds[mid], self.ids[mid]).cmp(&(kind, id)) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Adds (kind, id); returns whether it was new.
    pub fn insert(&mut self, kind: u8, id: i64) -> Result<bool, Full> {
        match self.search(kind, id) {
            Ok(_) => Ok(false),
            Err(_) if self.len == LISTEN_IDS => Err(Full),
            Err(at) => {
                move_up(&mut self.kinds, at..self.len, at + 1);
                move_up(&mut self.ids, at..self.len, at + 1);
                self.kinds[at] = kind;
                self.ids[at] = id;
                self.len += 1;
                Ok(true)
            }
        }
    }

    /// Removes (kind, id); returns whether it was there.
    pub fn remove(&mut self, kind: u8, id: i64) -> bool {
        match self.search(kind, id) {
            Ok(at) => {
                move_down(&mut self.kinds, at + 1..self.len, at);
                move_down(&mut self.ids, at + 1..self.len, at);
                self.len -= 1;
                true
            }
            Err(_) => false,
        }
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Whether (kind, id) is in the set.
    pub fn contains(&self, kind: u8, id: i64) -> bool {
        self.search(kind, id).is_ok()
    }

    /// Makes this set a copy of `other`, copying only the entries in use.
    pub fn copy_from(&mut self, other: &IdSet) {
        let n = other.len;
        self.kinds[..n].copy_from_slice(&other.kinds[..n]);
        self.ids[..n].copy_from_slice(&other.ids[..n]);
        self.len = n;
    }
}

impl PartialEq for IdSet {
    fn eq(&self, other: &Self) -> bool {
        self.kinds[..self.len] == other.kinds[..other.len]
            && self.ids[..self.len] == other.ids[..other.len]
    }
}

impl Eq for IdSet {}

impl Default for IdSet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_keeps_kinds_contiguous_and_sorted() {
        let mut s = IdSet::new();
        for (k, id) in [(2, 5), (0, 9), (1, 3), (0, -1), (2, 1), (0, 9)] {
            s.insert(k, id).unwrap();
        }
        let v = s.view();
        assert_eq!(v.of(IdKind::Group), &[-1, 9]);
        assert_eq!(v.of(IdKind::Room), &[3]);
        assert_eq!(v.of(IdKind::User), &[1, 5]);
        assert!(s.remove(0, 9));
        assert!(!s.remove(0, 9));
        assert_eq!(s.view().of(IdKind::Group), &[-1]);
    }

    #[test]
    fn set_capacity_is_enforced() {
        let mut s = IdSet::new();
        for id in 0..LISTEN_IDS as i64 {
            assert_eq!(s.insert(0, id), Ok(true));
        }
        assert_eq!(s.insert(0, -5), Err(Full));
        assert_eq!(s.insert(0, 0), Ok(false));
    }
}
