//! Straight-line scans of a file message's JSON in the key order RTM writes it (speed builds).
//!
//! RTM servers and SDKs write `msg` as `{"url":…,"size":…}` (then maybe `"surl"`) and `attrs`
//! as `{"rtm":{"type":…,"lang":…,"duration":…,…},"custom":…}`. These scans expect exactly
//! that: at each member, the one key that comes there, compared as its whole `"key":` byte
//! pattern (with the value's opening byte where the field wants a string), on the
//! straight-line lexing of `wire::json::fast` (words only where eight bytes remain, bytes at
//! the end). The members after the expected ones have their values skipped: `codec` and
//! `srate`, which RTM writes next, matched as patterns too, then any others key by key, unless
//! their key is one the scan reads.
//!
//! Anything else gives up (`None`): another order, a missing key, a repeated wanted key, a
//! blank, an escaped key where keys are compared by value, malformed text. The caller then
//! runs the keyed scans of `fast` from the start (which fall back to the exact parsers in
//! turn). A scan only succeeds on compact text that the exact scanner accepts whole, and
//! fills the [`Scan`] exactly as the keyed scan would (the same fields, raw strings, escaped
//! strings in the same order), so the results, the errors and the scratch use are the same.
//! Property tests compare the three.

use super::FileInfo;
use super::fast::{CUSTOM, LANG, SURL, Scan, URL};
use crate::wire::json::MAX_DEPTH;
use crate::wire::json::straight::{at_end, lit, number, rest_members, skip, string};

/// `audiomsg"`: the `rtm.type` of audio messages and its closing quote.
const AUDIOMSG: &[u8; 9] = b"audiomsg\"";

/// The keys of `msg`, of `attrs.rtm` and of `attrs` that the scans read: the members after the
/// expected ones may have any other key.
const MSG_KEYS: [&[u8]; 3] = [b"url", b"size", b"surl"];
const RTM_KEYS: [&[u8]; 3] = [b"type", b"lang", b"duration"];
const ATTRS_KEYS: [&[u8]; 2] = [b"rtm", b"custom"];

/// Scans a file message's `msg` into `f` (fresh): `{"url":"…","size":N` then maybe
/// `,"surl":"…"`, then members with other keys, then `}`.
#[inline(always)]
pub(super) fn file_msg<'a>(msg: &'a [u8], f: &mut Scan<FileInfo<'a>>) -> Option<()> {
    let (url, rest) = string(lit(msg, b"{\"url\":\"")?)?;
    f.mark(URL, url.has_escapes())?;
    f.info.url = url.raw();
    let (size, mut rest) = number(lit(rest, b",\"size\":")?)?;
    f.info.size = size;
    if let Some(body) = lit(rest, b",\"surl\":\"") {
        let (surl, tail) = string(body)?;
        f.mark(SURL, surl.has_escapes())?;
        f.info.surl = surl.raw();
        rest = tail;
    }
    // The keys are compared by raw text, as the exact parser does.
    at_end(rest_members(rest, MAX_DEPTH, &MSG_KEYS, true)?).then_some(())
}

/// Scans a file message's `attrs` into `f` (whose attrs fields are unset):
/// `{"rtm":{"type":"…","lang":"…","duration":N`, members of `rtm` with other keys, `},"custom":`
/// and its value, then top-level members with other keys, then `}`.
#[inline(always)]
pub(super) fn file_attrs<'a>(attrs: &'a [u8], f: &mut Scan<FileInfo<'a>>) -> Option<()> {
    // One level in, values nest one level less deep.
    const IN: usize = MAX_DEPTH - 1;
    let body = lit(attrs, b"{\"rtm\":{\"type\":\"")?;
    // The value audio messages have, compared at once; any other read as a string.
    let rest = match lit(body, AUDIOMSG) {
        Some(rest) => {
            f.info.is_rtm_audio = true;
            rest
        }
        None => {
            let (ty, rest) = string(body)?;
            f.info.is_rtm_audio = ty.eq_str("audiomsg");
            rest
        }
    };
    let (lang, rest) = string(lit(rest, b",\"lang\":\"")?)?;
    f.mark(LANG, lang.has_escapes())?;
    f.info.language = lang.raw();
    let (duration, mut rest) = number(lit(rest, b",\"duration\":")?)?;
    f.info.duration = duration;
    // Then what RTM writes after them, `codec` and `srate` (values skipped: the scan does not
    // read them, nor does the exact parser), compared as patterns; the rest key by key.
    if let Some(value) = lit(rest, b",\"codec\":") {
        rest = skip(value, IN)?;
    }
    if let Some(value) = lit(rest, b",\"srate\":") {
        rest = skip(value, IN)?;
    }
    // The keys in `rtm` are compared by raw text, as the exact parser does.
    let rest = rest_members(rest, IN, &RTM_KEYS, true)?;
    let rest = custom(lit(rest, b",\"custom\":")?, f)?;
    // The top-level keys are compared by value: an escaped one gives up.
    at_end(rest_members(rest, MAX_DEPTH, &ATTRS_KEYS, false)?).then_some(())
}

/// `custom`'s value at the start of `rest` into `f`, as `fast::custom` takes it: the bytes
/// after it.
#[inline(always)]
fn custom<'a>(rest: &'a [u8], f: &mut Scan<FileInfo<'a>>) -> Option<&'a [u8]> {
    if let [b'"', body @ ..] = rest {
        let (st, tail) = string(body)?;
        f.mark(CUSTOM, st.has_escapes())?;
        f.info.custom = Some(st.raw());
        return Some(tail);
    }
    let tail = skip(rest, MAX_DEPTH)?;
    f.mark(CUSTOM, false)?;
    // Any other value is given as its text (the literals as static text).
    f.info.custom = Some(match rest {
        [b't', ..] => &b"true"[..],
        [b'f', ..] => b"false",
        [b'n', ..] => b"null",
        _ => rest.get(..rest.len() - tail.len()).unwrap_or_default(),
    });
    Some(tail)
}
