//! The keyed fast scans of the info parsers (speed builds).
//!
//! Each scan walks one JSON text with the fast lexer of `wire::json::fast`, matching the keys
//! RTM uses by word compares (key, quote and colon at once), and keeps where the strings it
//! needs are, undecoded. It gives up (`None`) on anything it does not take, including a second
//! string for a field it decodes, and then the caller runs its exact parser from the start. A
//! scan only succeeds on a text the exact scanner accepts whole, so the caller can then decode
//! the escaped strings into the scratch in the order the exact parser would have: the same
//! results, the same scratch use, the same [`crate::wire::json::JsonError::ScratchFull`].
//! Property tests compare the two.

use crate::wire::json::MAX_DEPTH;
use crate::wire::json::fast::{
    Key, Str, Val, at_end, int_value, next, open, skip, str_value, value, walk,
};

/// Stores a string found for a field that is decoded; `None` if the field already has one
/// (the exact parser would decode both).
#[inline(always)]
fn put(slot: &mut Option<Str>, found: Option<Str>) -> Option<()> {
    if found.is_some() {
        if slot.is_some() {
            return None;
        }
        *slot = found;
    }
    Some(())
}

/// Strings in the order they were met, as 4-bit slot numbers (plus one), first in the low bits.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Order(u32);

impl Order {
    #[inline(always)]
    fn push(&mut self, slot: usize) {
        let shift = (32 - self.0.leading_zeros()).next_multiple_of(4);
        self.0 |= (slot as u32 + 1) << shift;
    }

    /// The slots in order.
    #[inline(always)]
    pub(super) fn iter(self) -> impl Iterator<Item = usize> {
        let mut s = self.0;
        core::iter::from_fn(move || {
            let slot = (s & 0xf).checked_sub(1)?;
            s >>= 4;
            Some(slot as usize)
        })
    }

    /// Whether there is none.
    #[inline(always)]
    pub(super) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What the scan of a translated chat's `msg` found: the strings of `source`, `target`,
/// `sourceText` and `targetText` and the order they came in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Translated {
    pub(super) strs: [Option<Str>; 4],
    pub(super) order: Order,
}

const TRANSLATED_KEYS: [Key; 4] = [
    Key::new("source"),
    Key::new("target"),
    Key::new("sourceText"),
    Key::new("targetText"),
];

/// Scans a translated chat's `msg`.
#[inline(always)]
pub(super) fn translated(msg: &[u8]) -> Option<Translated> {
    let mut t = Translated {
        strs: [None; 4],
        order: Order::default(),
    };
    let end = walk!(
        msg,
        open(msg)?,
        TRANSLATED_KEYS,
        false,
        [0, 1, 2, 3],
        |n, i| {
            if let Some(slot) = t.strs.get_mut(n) {
                let (found, end) = str_value(msg, i, MAX_DEPTH)?;
                if found.is_some() {
                    put(slot, found)?;
                    t.order.push(n);
                }
                end
            } else {
                skip(msg, i, MAX_DEPTH)?
            }
        }
    );
    at_end(msg, end).then_some(t)
}

/// What the scan of a file message's `msg` found.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FileMsg {
    pub(super) url: Option<Str>,
    pub(super) surl: Option<Str>,
    /// Whether `surl` came before `url`.
    pub(super) surl_first: bool,
    pub(super) size: i64,
}

const MSG_KEYS: [Key; 3] = [Key::new("url"), Key::new("size"), Key::new("surl")];

/// Scans a file message's `msg`.
#[inline(always)]
pub(super) fn file_msg(msg: &[u8]) -> Option<FileMsg> {
    let mut f = FileMsg::default();
    let end = walk!(
        msg,
        open(msg)?,
        MSG_KEYS,
        false,
        [0, 1, 2],
        |n, i| match n {
            0 => {
                let (found, end) = str_value(msg, i, MAX_DEPTH)?;
                put(&mut f.url, found)?;
                end
            }
            1 => {
                let (size, end) = int_value(msg, i, MAX_DEPTH)?;
                f.size = size;
                end
            }
            2 => {
                let (found, end) = str_value(msg, i, MAX_DEPTH)?;
                put(&mut f.surl, found)?;
                f.surl_first |= found.is_some() && f.url.is_none();
                end
            }
            _ => skip(msg, i, MAX_DEPTH)?,
        }
    );
    at_end(msg, end).then_some(f)
}

/// What the scan of a file message's `attrs` found.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FileAttrs {
    /// `custom`'s value.
    pub(super) custom: Option<Val>,
    /// `rtm.lang`.
    pub(super) lang: Option<Str>,
    /// Whether `rtm.lang` came before `custom`.
    pub(super) lang_first: bool,
    /// Whether `rtm.type` is a string whose value is `audiomsg`.
    pub(super) audio: bool,
    /// `rtm.duration` (0 when absent or not an integer).
    pub(super) duration: i64,
}

const ATTRS_KEYS: [Key; 2] = [Key::new("rtm"), Key::new("custom")];
const RTM_KEYS: [Key; 3] = [Key::new("type"), Key::new("lang"), Key::new("duration")];

/// Scans a file message's `attrs`. The top-level keys are compared by value (escapes
/// decoded), the keys in `rtm` by raw text, as the exact parser does.
#[inline(always)]
pub(super) fn file_attrs(attrs: &[u8]) -> Option<FileAttrs> {
    let mut a = FileAttrs::default();
    // One level in, in `rtm`, values nest one level less deep.
    const IN: usize = MAX_DEPTH - 1;
    let end = walk!(
        attrs,
        open(attrs)?,
        ATTRS_KEYS,
        true,
        [0, 1],
        |n, i| match n {
            0 => match next(attrs, i) {
                (b'{', i) => walk!(attrs, i + 1, RTM_KEYS, false, [0, 1, 2], |n, i| match n {
                    0 => {
                        let (found, end) = str_value(attrs, i, IN)?;
                        if let Some(t) = found {
                            a.audio = t.get(attrs).eq_str("audiomsg");
                        }
                        end
                    }
                    1 => {
                        let (found, end) = str_value(attrs, i, IN)?;
                        put(&mut a.lang, found)?;
                        a.lang_first |= found.is_some() && a.custom.is_none();
                        end
                    }
                    2 => {
                        let (duration, end) = int_value(attrs, i, IN)?;
                        a.duration = duration;
                        end
                    }
                    _ => skip(attrs, i, IN)?,
                }),
                (_, i) => skip(attrs, i, MAX_DEPTH)?,
            },
            1 => {
                if a.custom.is_some() {
                    return None;
                }
                let (v, _) = value(attrs, i, MAX_DEPTH)?;
                a.custom = Some(v);
                v.end()
            }
            _ => skip(attrs, i, MAX_DEPTH)?,
        }
    );
    at_end(attrs, end).then_some(a)
}
