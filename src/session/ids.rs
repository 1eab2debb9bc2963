//! Fixed-capacity id storage for listen state: a sorted set, and an arena that holds the ids of
//! listen commands still waiting for their answer.
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

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
}

impl Default for IdSet {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a run lives in an [`IdArena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Run {
    /// Offset of the first id.
    pub start: u16,
    /// Number of ids.
    pub len: u16,
}

/// Holds the ids of pending listen commands as contiguous sorted runs, capacity [`LISTEN_IDS`].
#[derive(Debug, Clone)]
pub struct IdArena {
    kinds: [u8; LISTEN_IDS],
    ids: [i64; LISTEN_IDS],
    len: usize,
}

impl IdArena {
    /// An empty arena.
    pub const fn new() -> Self {
        Self {
            kinds: [0; LISTEN_IDS],
            ids: [0; LISTEN_IDS],
            len: 0,
        }
    }

    /// Free entries.
    pub fn free(&self) -> usize {
        LISTEN_IDS - self.len
    }

    /// Appends the ids given per kind as one sorted, de-duplicated run.
    pub fn push(&mut self, lists: [(IdKind, &[i64]); 3]) -> Result<Run, Full> {
        let total: usize = lists.iter().map(|(_, l)| l.len()).sum();
        if total > self.free() {
            return Err(Full);
        }
        let start = self.len;
        for (kind, list) in lists {
            for &id in list {
                self.kinds[self.len] = kind as u8;
                self.ids[self.len] = id;
                self.len += 1;
            }
        }
        // Insertion sort of the run by (kind, id), dropping duplicates; runs are short.
        let mut end = start;
        for i in start..self.len {
            let item = (self.kinds[i], self.ids[i]);
            let mut j = end;
            while j > start && (self.kinds[j - 1], self.ids[j - 1]) > item {
                j -= 1;
            }
            if j > start && (self.kinds[j - 1], self.ids[j - 1]) == item {
                continue;
            }
            move_up(&mut self.kinds, j..end, j + 1);
            move_up(&mut self.ids, j..end, j + 1);
            self.kinds[j] = item.0;
            self.ids[j] = item.1;
            end += 1;
        }
        self.len = end;
        // LISTEN_IDS <= 4096 (checked by build.rs), so these fit in u16.
        Ok(Run {
            start: start as u16,
            len: (end - start) as u16,
        })
    }

    /// A view of a run.
    pub fn view(&self, run: Run) -> SortedIds<'_> {
        let start = usize::from(run.start).min(self.len);
        let end = (start + usize::from(run.len)).min(self.len);
        SortedIds {
            kinds: &self.kinds[start..end],
            ids: &self.ids[start..end],
        }
    }

    /// Removes a run; runs after it move down by its length (see [`Run::shifted_after`]).
    pub fn remove(&mut self, run: Run) {
        let start = usize::from(run.start).min(self.len);
        let end = (start + usize::from(run.len)).min(self.len);
        move_down(&mut self.kinds, end..self.len, start);
        move_down(&mut self.ids, end..self.len, start);
        self.len -= end - start;
    }
}

impl Default for IdArena {
    fn default() -> Self {
        Self::new()
    }
}

impl Run {
    /// This run's new position after `removed` was taken out of the arena.
    pub fn shifted_after(self, removed: Run) -> Run {
        if self.start > removed.start {
            Run {
                start: self.start - removed.len,
                len: self.len,
            }
        } else {
            self
        }
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

    #[test]
    fn arena_runs_are_sorted_deduplicated_and_removable() {
        let mut a = IdArena::new();
        let r1 = a
            .push([
                (IdKind::Group, &[3, 1, 3]),
                (IdKind::Room, &[]),
                (IdKind::User, &[7]),
            ])
            .unwrap();
        let r2 = a
            .push([
                (IdKind::Group, &[]),
                (IdKind::Room, &[2]),
                (IdKind::User, &[]),
            ])
            .unwrap();
        assert_eq!(a.view(r1).of(IdKind::Group), &[1, 3]);
        assert_eq!(a.view(r1).of(IdKind::User), &[7]);
        a.remove(r1);
        let r2 = r2.shifted_after(r1);
        assert_eq!(a.view(r2).of(IdKind::Room), &[2]);
        assert_eq!(a.free(), LISTEN_IDS - 1);
        let too_many = [0i64; LISTEN_IDS];
        assert_eq!(
            a.push([
                (IdKind::Group, &too_many),
                (IdKind::Room, &[]),
                (IdKind::User, &[])
            ]),
            Err(Full)
        );
    }
}
