//! Per-connection listen state and the decoding of the listen quests' parameters.

use std::collections::BTreeSet;

use rmpv::Value;

/// What one connection listens to, as the gate tracks it.
///
/// `addlisten` / `removelisten` change the id sets incrementally; `setlisten` with ids replaces
/// all four sets (a key absent from the quest means empty); `setlisten` with flags sets the four
/// flags (an absent flag means `false`). The two forms of `setlisten` do not touch each other's
/// half; a quest carrying both kinds of key applies both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenState {
    /// Group ids (`gids`).
    pub gids: BTreeSet<i64>,
    /// Room ids (`rids`).
    pub rids: BTreeSet<i64>,
    /// User ids for P2P messages (`uids`).
    pub uids: BTreeSet<i64>,
    /// Event names (`events`, e.g. `login`, `logout`).
    pub events: BTreeSet<String>,
    /// Listen to all group messages.
    pub group: bool,
    /// Listen to all room messages.
    pub room: bool,
    /// Listen to all P2P messages.
    pub p2p: bool,
    /// Listen to all events.
    pub ev: bool,
}

impl ListenState {
    /// A state listening to exactly these ids and events, with every flag off.
    pub fn with_ids(gids: &[i64], rids: &[i64], uids: &[i64], events: &[&str]) -> Self {
        Self {
            gids: gids.iter().copied().collect(),
            rids: rids.iter().copied().collect(),
            uids: uids.iter().copied().collect(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Whether every id and event of `other` is also in `self` (flags are not compared).
    pub fn contains_ids_of(&self, other: &ListenState) -> bool {
        other.gids.is_subset(&self.gids)
            && other.rids.is_subset(&self.rids)
            && other.uids.is_subset(&self.uids)
            && other.events.is_subset(&self.events)
    }

    /// Whether a P2P message (`pushmsg`) to user `to` is delivered: `to` in `uids` or `p2p`.
    pub fn receives_p2p(&self, to: i64) -> bool {
        self.p2p || self.uids.contains(&to)
    }

    /// Whether a group message to `gid` is delivered: `gid` in `gids` or `group`.
    pub fn receives_group(&self, gid: i64) -> bool {
        self.group || self.gids.contains(&gid)
    }

    /// Whether a room message to `rid` is delivered: `rid` in `rids` or `room`.
    pub fn receives_room(&self, rid: i64) -> bool {
        self.room || self.rids.contains(&rid)
    }

    /// Whether an event named `event` is delivered: `event` in `events` or `ev`.
    pub fn receives_event(&self, event: &str) -> bool {
        self.ev || self.events.contains(event)
    }
}

/// The three listen quests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListenMethod {
    Add,
    Remove,
    Set,
}

impl ListenMethod {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "addlisten" => Some(Self::Add),
            "removelisten" => Some(Self::Remove),
            "setlisten" => Some(Self::Set),
            _ => None,
        }
    }
}

/// The decoded parameters of a listen quest.
#[derive(Debug, Default)]
pub(crate) struct ListenParams {
    gids: Option<Vec<i64>>,
    rids: Option<Vec<i64>>,
    uids: Option<Vec<i64>>,
    events: Option<Vec<String>>,
    /// group, room, p2p, ev.
    flags: [Option<bool>; 4],
}

/// A listen parameter with the wrong msgpack shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadParam {
    pub key: String,
    pub detail: String,
}

/// The id keys of the listen quests.
pub(crate) const ID_KEYS: [&str; 4] = ["gids", "rids", "uids", "events"];
const FLAG_KEYS: [&str; 4] = ["group", "room", "p2p", "ev"];

/// A short name of a value's msgpack type, for violation reports.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "bool",
        Value::Integer(_) => "int",
        Value::F32(_) | Value::F64(_) => "float",
        Value::String(_) => "str",
        Value::Binary(_) => "bin",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Ext(..) => "ext",
    }
}

/// The value of string key `key` in a map payload (the last one if repeated).
pub(crate) fn get<'v>(map: &'v [(Value, Value)], key: &str) -> Option<&'v Value> {
    map.iter()
        .rev()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// Whether every id key present in `map` holds a msgpack array.
pub(crate) fn ids_are_arrays(map: &[(Value, Value)]) -> bool {
    ID_KEYS
        .iter()
        .all(|k| get(map, k).is_none_or(|v| matches!(v, Value::Array(_))))
}

fn int_array(key: &str, v: &Value) -> Result<Vec<i64>, BadParam> {
    let Value::Array(items) = v else {
        return Err(BadParam {
            key: key.to_owned(),
            detail: format!("expected an array of ints, found a {}", type_name(v)),
        });
    };
    items
        .iter()
        .map(|item| {
            item.as_i64().ok_or_else(|| BadParam {
                key: key.to_owned(),
                detail: format!(
                    "array element is a {} (or out of int64 range)",
                    type_name(item)
                ),
            })
        })
        .collect()
}

fn str_array(key: &str, v: &Value) -> Result<Vec<String>, BadParam> {
    let Value::Array(items) = v else {
        return Err(BadParam {
            key: key.to_owned(),
            detail: format!("expected an array of strings, found a {}", type_name(v)),
        });
    };
    items
        .iter()
        .map(|item| {
            item.as_str().map(str::to_owned).ok_or_else(|| BadParam {
                key: key.to_owned(),
                detail: format!("array element is a {}", type_name(item)),
            })
        })
        .collect()
}

impl ListenParams {
    /// Decodes the id and flag keys of a listen quest's payload map. Unknown keys are ignored.
    pub(crate) fn parse(map: &[(Value, Value)]) -> Result<Self, BadParam> {
        let mut p = Self::default();
        for (slot, key) in [
            (&mut p.gids, "gids"),
            (&mut p.rids, "rids"),
            (&mut p.uids, "uids"),
        ] {
            if let Some(v) = get(map, key) {
                *slot = Some(int_array(key, v)?);
            }
        }
        if let Some(v) = get(map, "events") {
            p.events = Some(str_array("events", v)?);
        }
        for (slot, key) in p.flags.iter_mut().zip(FLAG_KEYS) {
            if let Some(v) = get(map, key) {
                *slot = Some(v.as_bool().ok_or_else(|| BadParam {
                    key: key.to_owned(),
                    detail: format!("expected a bool, found a {}", type_name(v)),
                })?);
            }
        }
        Ok(p)
    }

    fn has_ids(&self) -> bool {
        self.gids.is_some() || self.rids.is_some() || self.uids.is_some() || self.events.is_some()
    }

    fn has_flags(&self) -> bool {
        self.flags.iter().any(Option::is_some)
    }

    /// Applies the quest to `state`.
    pub(crate) fn apply(self, method: ListenMethod, state: &mut ListenState) {
        match method {
            ListenMethod::Add => {
                state.gids.extend(self.gids.into_iter().flatten());
                state.rids.extend(self.rids.into_iter().flatten());
                state.uids.extend(self.uids.into_iter().flatten());
                state.events.extend(self.events.into_iter().flatten());
            }
            ListenMethod::Remove => {
                for g in self.gids.into_iter().flatten() {
                    state.gids.remove(&g);
                }
                for r in self.rids.into_iter().flatten() {
                    state.rids.remove(&r);
                }
                for u in self.uids.into_iter().flatten() {
                    state.uids.remove(&u);
                }
                for e in self.events.into_iter().flatten() {
                    state.events.remove(&e);
                }
            }
            ListenMethod::Set => {
                let (has_ids, has_flags) = (self.has_ids(), self.has_flags());
                // A setlisten without any known key is read as the ids form clearing everything.
                if has_ids || !has_flags {
                    state.gids = self.gids.into_iter().flatten().collect();
                    state.rids = self.rids.into_iter().flatten().collect();
                    state.uids = self.uids.into_iter().flatten().collect();
                    state.events = self.events.into_iter().flatten().collect();
                }
                if has_flags {
                    let [group, room, p2p, ev] = self.flags.map(|f| f.unwrap_or(false));
                    state.group = group;
                    state.room = room;
                    state.p2p = p2p;
                    state.ev = ev;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: Vec<(&str, Value)>) -> Vec<(Value, Value)> {
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect()
    }

    fn ints(v: &[i64]) -> Value {
        Value::Array(v.iter().map(|&i| Value::from(i)).collect())
    }

    #[test]
    fn add_remove_set() {
        let mut s = ListenState::default();
        let add = map(vec![("gids", ints(&[1, 2])), ("uids", ints(&[5]))]);
        ListenParams::parse(&add)
            .unwrap()
            .apply(ListenMethod::Add, &mut s);
        assert_eq!(s, ListenState::with_ids(&[1, 2], &[], &[5], &[]));
        let rm = map(vec![("gids", ints(&[1]))]);
        ListenParams::parse(&rm)
            .unwrap()
            .apply(ListenMethod::Remove, &mut s);
        assert_eq!(s, ListenState::with_ids(&[2], &[], &[5], &[]));
        let set = map(vec![("rids", ints(&[9]))]);
        ListenParams::parse(&set)
            .unwrap()
            .apply(ListenMethod::Set, &mut s);
        assert_eq!(s, ListenState::with_ids(&[], &[9], &[], &[]));
        let flags = map(vec![
            ("group", Value::from(true)),
            ("ev", Value::from(true)),
        ]);
        ListenParams::parse(&flags)
            .unwrap()
            .apply(ListenMethod::Set, &mut s);
        assert!(s.group && s.ev && !s.room && !s.p2p);
        assert_eq!(s.rids.len(), 1, "the flag form keeps the ids");
    }

    #[test]
    fn maps_are_refused() {
        let bad = map(vec![(
            "gids",
            Value::Map(vec![(Value::from(1), Value::Map(vec![]))]),
        )]);
        assert!(!ids_are_arrays(&bad));
        let err = ListenParams::parse(&bad).unwrap_err();
        assert_eq!(err.key, "gids");
        assert!(err.detail.contains("map"), "{}", err.detail);
    }
}
