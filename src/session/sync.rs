//! Desired and confirmed listen state, and the one listen quest in flight that moves the
//! server from the second to the first.
//!
//! The host's commands change the **desired** state at once, in the order they are made; the
//! **confirmed** state is what the server has acknowledged on the current connection (a new
//! connection starts with nothing confirmed, as the server does). [`ListenSync::plan`] computes
//! the next quest from the difference, one at a time, so the server applies the host's intent in
//! order however its worker pool schedules pipelined quests:
//!
//! 1. the flags form of `setlisten` when the "all" flags differ;
//! 2. the ids form of `setlisten` with the whole desired ids and events when they differ.
//!
//! `setlisten` replaces the connection's state, so one quest reaches any desired state from any
//! confirmed one. The
//! server's listen state belongs to this connection alone, so `addlisten`/`removelisten` would
//! only save bytes (at most [`LISTEN_IDS`](crate::config::LISTEN_IDS) ids), at the price of a
//! second code path.
//!
//! A refused quest stops the sync on this connection until the desired state changes again or
//! a new connection comes up. An unanswered one ends the connection (the listener asks the host
//! to close it): a late answer could otherwise apply an older state after a newer one. The
//! desired state is never rolled back, so no outage of any length loses the host's intent.

use super::ids::{IdSet, SortedIds};
use crate::rtm::listen::ListenFlags;

/// A listen state: ids by kind, the event mask and the four "all" flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenState {
    pub(crate) ids: IdSet,
    pub(crate) events: u8,
    pub(crate) flags: ListenFlags,
}

/// What a listen quest carries (the ids of an ids quest are in [`ListenSync::carried`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quest {
    /// `setlisten` with the four flags.
    Flags(ListenFlags),
    /// The ids form of `setlisten`, with this event mask.
    Ids(u8),
}

/// The listen quest in flight (what it carries is [`ListenSync::sent_quest`]). No field has
/// a niche, so the `None` of `Option<Sent>` is zero bytes (an unconfigured listener is all
/// zeros and lands in .bss as a `static`).
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u32,
    deadline: u64,
    /// The desired state's generation the quest was planned from.
    generation: u32,
}

/// What an answer to the quest in flight did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answered {
    /// Applied; `in_sync` when confirmed now equals desired.
    Applied { in_sync: bool },
    /// Refused with this code; commands of generation `<= generation` were covered by it.
    Refused { code: i64, generation: u32 },
}

/// The desired state, the confirmed state and the quest between them.
#[derive(Debug, Clone)]
pub(crate) struct ListenSync {
    desired: ListenState,
    confirmed: ListenState,
    /// The ids of the ids quest in flight (or being planned).
    carried: IdSet,
    sent: Option<Sent>,
    /// What the quest in flight carries (meaningful while `sent` is `Some`).
    sent_quest: Quest,
    /// Bumped by every accepted command.
    generation: u32,
    /// The generation at which the sync stopped (a refusal): no quest is planned
    /// until the desired state changes or a new connection comes up.
    stalled_at: Option<u32>,
    /// A sync that started when the connection came up is still going.
    restoring: bool,
}

impl ListenState {
    const EMPTY: Self = Self {
        ids: IdSet::new(),
        events: 0,
        flags: ListenFlags::NONE,
    };

    /// Empties it in place.
    fn clear(&mut self) {
        self.ids.clear();
        self.events = 0;
        self.flags = ListenFlags::NONE;
    }
}

impl ListenSync {
    /// Nothing desired, nothing confirmed (a `const` for listeners built in place).
    pub(crate) const fn new() -> Self {
        Self {
            desired: ListenState::EMPTY,
            confirmed: ListenState::EMPTY,
            carried: IdSet::new(),
            sent: None,
            sent_quest: Quest::Flags(ListenFlags::NONE),
            generation: 0,
            stalled_at: None,
            restoring: false,
        }
    }

    /// Back to [`ListenSync::new`], in place.
    pub(crate) fn reset(&mut self) {
        self.desired.clear();
        self.confirmed.clear();
        self.carried.clear();
        self.sent = None;
        self.sent_quest = Quest::Flags(ListenFlags::NONE);
        self.generation = 0;
        self.stalled_at = None;
        self.restoring = false;
    }

    pub(crate) fn desired(&self) -> &ListenState {
        &self.desired
    }

    pub(crate) fn confirmed(&self) -> &ListenState {
        &self.confirmed
    }

    pub(crate) fn carried(&self) -> SortedIds<'_> {
        self.carried.view()
    }

    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    /// Whether the server's state is known to equal the desired state: no quest is in flight
    /// (one could still change it) and both states agree.
    pub(crate) fn in_sync(&self) -> bool {
        self.sent.is_none() && self.desired == self.confirmed
    }

    /// The deadline of the quest in flight.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.sent.map(|s| s.deadline)
    }

    /// Changes the desired state with `f`, which leaves it unchanged when it refuses.
    pub(crate) fn change<E>(
        &mut self,
        f: impl FnOnce(&mut ListenState) -> Result<(), E>,
    ) -> Result<(), E> {
        f(&mut self.desired)?;
        self.generation = self.generation.wrapping_add(1);
        self.stalled_at = None;
        Ok(())
    }

    /// A connection came up: the server listens to nothing yet, and a non-empty desired state
    /// is to be restored.
    pub(crate) fn connected(&mut self) {
        self.confirmed.clear();
        self.sent = None;
        self.stalled_at = None;
        self.restoring = !self.in_sync();
    }

    /// The connection closed: returns whether a restoration was interrupted.
    pub(crate) fn closed(&mut self) -> bool {
        self.sent = None;
        self.confirmed.clear();
        core::mem::take(&mut self.restoring)
    }

    /// The next quest to send, if one should go now (none in flight, not stalled, not in
    /// sync). For an ids quest the ids are left in [`ListenSync::carried`].
    pub(crate) fn plan(&mut self) -> Option<Quest> {
        if self.sent.is_some() || self.stalled_at == Some(self.generation) {
            return None;
        }
        let (d, c) = (&self.desired, &self.confirmed);
        if d.flags != c.flags {
            return Some(Quest::Flags(d.flags));
        }
        if d.ids != c.ids || d.events != c.events {
            self.carried.copy_from(&d.ids);
            return Some(Quest::Ids(d.events));
        }
        None
    }

    /// The planned quest went out with `seq`.
    pub(crate) fn sent(&mut self, quest: Quest, seq: u32, deadline: u64) {
        self.sent = Some(Sent {
            seq,
            deadline,
            generation: self.generation,
        });
        self.sent_quest = quest;
    }

    /// An answer arrived: `None` when it is not for the quest in flight.
    pub(crate) fn answered(&mut self, seq: u32, code: i64) -> Option<Answered> {
        let sent = self.sent.filter(|s| s.seq == seq)?;
        self.sent = None;
        if code != 0 {
            self.stalled_at = Some(self.generation);
            return Some(Answered::Refused {
                code,
                generation: sent.generation,
            });
        }
        let c = &mut self.confirmed;
        match self.sent_quest {
            Quest::Flags(flags) => c.flags = flags,
            Quest::Ids(events) => {
                c.ids.copy_from(&self.carried);
                c.events = events;
            }
        }
        Some(Answered::Applied {
            in_sync: self.in_sync(),
        })
    }

    /// Ends a restoration (its outcome is being reported); returns whether one was going.
    pub(crate) fn end_restoring(&mut self) -> bool {
        core::mem::take(&mut self.restoring)
    }

    /// Whether the quest in flight got no answer by `now` (the connection must end: see the
    /// module docs).
    pub(crate) fn timed_out(&self, now: u64) -> bool {
        self.sent.is_some_and(|s| s.deadline <= now)
    }
}
