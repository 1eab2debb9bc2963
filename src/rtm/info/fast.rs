//! The keyed fast scans of the info parsers (speed builds).
//!
//! Each scan walks one JSON text with the fast lexer of `wire::json::fast`, matching the keys
//! RTM uses by word compares (quoted key, colon and the value's first byte at once), and
//! writes the fields straight into the result with their strings raw, noting the ones with
//! escapes in the order they came. It gives up (`None`) on anything it does not take,
//! including a second string for a field it decodes, and then the caller runs its exact
//! parser from the start. A scan only succeeds on a text the exact scanner accepts whole, so
//! the caller can then decode the escaped strings into the scratch in the order the exact
//! parser would have: the same results, the same scratch use, the same
//! [`crate::wire::json::JsonError::ScratchFull`]. Property tests compare the two.

use super::{FileInfo, TranslatedInfo};
use crate::wire::json::MAX_DEPTH;
use crate::wire::json::fast::{
    Key, Str, at_end, byte, int_value, next, open, skip, str_value, string, value, walk, word,
};

/// Fields in the order they were met, as 4-bit numbers (plus one), first in the low bits.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Order(u32);

impl Order {
    #[inline(always)]
    fn push(&mut self, field: usize) {
        let shift = (32 - self.0.leading_zeros()).next_multiple_of(4);
        self.0 |= (field as u32 + 1) << shift;
    }

    /// Whether no field was met.
    #[cfg(not(rtm_opt_size))]
    #[inline(always)]
    pub(super) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields in order.
    #[inline(always)]
    pub(super) fn iter(self) -> impl Iterator<Item = usize> {
        let mut s = self.0;
        core::iter::from_fn(move || {
            let field = (s & 0xf).checked_sub(1)?;
            s >>= 4;
            Some(field as usize)
        })
    }
}

/// What a scan found: the fields with their strings raw, the strings that have escapes, and
/// the decoded fields that were set (each at most once).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scan<T> {
    pub(super) info: T,
    /// Fields whose strings have escapes, in the order met.
    pub(super) escaped: Order,
    /// Bit per decoded field that has a string.
    pub(super) seen: u32,
}

impl<T> Scan<T> {
    /// Notes a string for the decoded field `field`: `None` if it already has one (the exact
    /// parser would decode both).
    #[inline(always)]
    fn note(&mut self, field: usize, st: Str) -> Option<()> {
        self.mark(field, st.escaped)
    }

    /// [`Scan::note`] for a string that has escapes if `escaped`.
    #[inline(always)]
    pub(super) fn mark(&mut self, field: usize, escaped: bool) -> Option<()> {
        let bit = 1 << field;
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        if escaped {
            self.escaped.push(field);
        }
        Some(())
    }
}

/// The raw text of `st` in `s`.
#[inline(always)]
fn raw(s: &[u8], st: Str) -> &[u8] {
    st.get(s).raw()
}

const TRANSLATED_KEYS: [Key; 4] = [
    Key::new("source", Some(b'"')),
    Key::new("target", Some(b'"')),
    Key::new("sourceText", Some(b'"')),
    Key::new("targetText", Some(b'"')),
];

/// The slot of field `n` of a translation (its key's index in [`TRANSLATED_KEYS`]).
#[inline(always)]
pub(super) fn translated_slot<'t, 'a>(t: &'t mut TranslatedInfo<'a>, n: usize) -> &'t mut &'a [u8] {
    match n {
        0 => &mut t.source_language,
        1 => &mut t.target_language,
        2 => &mut t.source_text,
        _ => &mut t.target_text,
    }
}

/// Scans a translated chat's `msg`.
#[inline(always)]
pub(super) fn translated<'a>(msg: &'a [u8]) -> Option<Scan<TranslatedInfo<'a>>> {
    let mut t = Scan::<TranslatedInfo<'a>>::default();
    // The string `st` for field `n`.
    let found = |t: &mut Scan<TranslatedInfo<'a>>, n: usize, st: Str| {
        t.note(n, st)?;
        *translated_slot(&mut t.info, n) = raw(msg, st);
        Some(st.end + 1)
    };
    let end = walk!(msg, open(msg)?, TRANSLATED_KEYS, false,
        fast {
            0 => |c| found(&mut t, 0, string(msg, c)?)?,
            1 => |c| found(&mut t, 1, string(msg, c)?)?,
            2 => |c| found(&mut t, 2, string(msg, c)?)?,
            3 => |c| found(&mut t, 3, string(msg, c)?)?,
        },
        slow |n, i| if n < TRANSLATED_KEYS.len() {
            match str_value(msg, i, MAX_DEPTH)? {
                (Some(st), _) => found(&mut t, n, st)?,
                (None, end) => end,
            }
        } else {
            skip(msg, i, MAX_DEPTH)?
        }
    );
    at_end(msg, end).then_some(t)
}

/// The decoded fields of a file message.
pub(super) const URL: usize = 0;
pub(super) const SURL: usize = 1;
pub(super) const LANG: usize = 2;
pub(super) const CUSTOM: usize = 3;

const MSG_KEYS: [Key; 3] = [
    Key::new("url", Some(b'"')),
    Key::new("size", None),
    Key::new("surl", Some(b'"')),
];

/// Scans a file message's `msg` into `f`: `url`, `size` and `surl`.
#[inline(always)]
pub(super) fn file_msg<'a>(msg: &'a [u8], f: &mut Scan<FileInfo<'a>>) -> Option<()> {
    let end = walk!(msg, open(msg)?, MSG_KEYS, false,
        fast {
            0 => |c| {
                let st = string(msg, c)?;
                f.note(URL, st)?;
                f.info.url = raw(msg, st);
                st.end + 1
            },
            1 => |i| {
                let (size, end) = int_value(msg, i, MAX_DEPTH)?;
                f.info.size = size;
                end
            },
            2 => |c| {
                let st = string(msg, c)?;
                f.note(SURL, st)?;
                f.info.surl = raw(msg, st);
                st.end + 1
            },
        },
        slow |n, i| match n {
            0 | 2 => match str_value(msg, i, MAX_DEPTH)? {
                (Some(st), end) => {
                    if n == 0 {
                        f.note(URL, st)?;
                        f.info.url = raw(msg, st);
                    } else {
                        f.note(SURL, st)?;
                        f.info.surl = raw(msg, st);
                    }
                    end
                }
                (None, end) => end,
            },
            1 => {
                let (size, end) = int_value(msg, i, MAX_DEPTH)?;
                f.info.size = size;
                end
            }
            _ => skip(msg, i, MAX_DEPTH)?,
        }
    );
    at_end(msg, end).then_some(())
}

/// `audiomsg`, the `rtm.type` of audio messages, as a little-endian word.
const AUDIOMSG: u64 = u64::from_le_bytes(*b"audiomsg");

const ATTRS_KEYS: [Key; 2] = [Key::new("rtm", Some(b'{')), Key::new("custom", None)];
const RTM_KEYS: [Key; 3] = [
    Key::new("type", Some(b'"')),
    Key::new("lang", Some(b'"')),
    Key::new("duration", None),
];

/// Scans a file message's `attrs` into `f`: `is_rtm_audio`, `language`, `duration` and
/// `custom`. The top-level keys are compared by value (escapes decoded), the keys in `rtm` by
/// raw text, as the exact parser does.
#[inline(always)]
pub(super) fn file_attrs<'a>(attrs: &'a [u8], f: &mut Scan<FileInfo<'a>>) -> Option<()> {
    let end = walk!(attrs, open(attrs)?, ATTRS_KEYS, true,
        fast {
            0 => |i| rtm(attrs, i, f)?,
            1 => |i| custom(attrs, i, f)?,
        },
        slow |n, i| match n {
            0 => match next(attrs, i) {
                (b'{', i) => rtm(attrs, i + 1, f)?,
                (_, i) => skip(attrs, i, MAX_DEPTH)?,
            },
            1 => custom(attrs, i, f)?,
            _ => skip(attrs, i, MAX_DEPTH)?,
        }
    );
    at_end(attrs, end).then_some(())
}

/// `custom`'s value at `i` into `f`: the index after it.
#[inline(always)]
fn custom<'a>(attrs: &'a [u8], i: usize, f: &mut Scan<FileInfo<'a>>) -> Option<usize> {
    let (v, _) = value(attrs, i, MAX_DEPTH)?;
    let text = match v.string(attrs) {
        Some(st) => {
            f.note(CUSTOM, st)?;
            raw(attrs, st)
        }
        None => {
            // Any other value is given as its text (the literals as static text).
            f.note(CUSTOM, Str::PLAIN)?;
            match v.text(attrs) {
                [b't', ..] => &b"true"[..],
                [b'f', ..] => b"false",
                [b'n', ..] => b"null",
                text => text,
            }
        }
    };
    f.info.custom = Some(text);
    Some(v.end())
}

/// The members of `rtm` from `i` (just after its `{`) into `f`: the index after it.
#[inline(always)]
fn rtm<'a>(attrs: &'a [u8], i: usize, f: &mut Scan<FileInfo<'a>>) -> Option<usize> {
    // One level in, values nest one level less deep.
    const IN: usize = MAX_DEPTH - 1;
    let lang = |f: &mut Scan<FileInfo<'a>>, st: Str| {
        f.note(LANG, st)?;
        f.info.language = raw(attrs, st);
        Some(st.end + 1)
    };
    let audio = |f: &mut Scan<FileInfo<'a>>, st: Str| {
        f.info.is_rtm_audio = st.get(attrs).eq_str("audiomsg");
        st.end + 1
    };
    Some(walk!(attrs, i, RTM_KEYS, false,
        fast {
            // The value audio messages have, compared at once; any other read as a string.
            0 => |c| if word(attrs, c) == AUDIOMSG && byte(attrs, c + 8) == b'"' {
                f.info.is_rtm_audio = true;
                c + 9
            } else {
                audio(f, string(attrs, c)?)
            },
            1 => |c| lang(f, string(attrs, c)?)?,
            2 => |i| {
                let (duration, end) = int_value(attrs, i, IN)?;
                f.info.duration = duration;
                end
            },
        },
        slow |n, i| match n {
            0 => match str_value(attrs, i, IN)? {
                (Some(st), _) => audio(f, st),
                (None, end) => end,
            },
            1 => match str_value(attrs, i, IN)? {
                (Some(st), _) => lang(f, st)?,
                (None, end) => end,
            },
            2 => {
                let (duration, end) = int_value(attrs, i, IN)?;
                f.info.duration = duration;
                end
            }
            _ => skip(attrs, i, IN)?,
        }
    ))
}
