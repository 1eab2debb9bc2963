//! Information parsed from the JSON inside messages, without allocation.
//!
//! - [`parse_translated`]: the translated-chat JSON `{source, target, sourceText, targetText}`
//!   that a chat (mtype 30) may carry in `msg` (reference §7.4);
//! - [`parse_file_info`]: a file message's `msg` `{url, size, surl}` and its `attrs`
//!   `{rtm: {type: "audiomsg", lang, duration}, custom}` (reference §7.5).
//!
//! Strings without escapes borrow from the message; strings with escapes are unescaped into
//! the caller's [`Scratch`]. On any error the caller keeps the raw text: nothing here can fail
//! in a way that loses the message.
//!
//! Speed builds first try a scan that knows these keys (`fast`, over the word-at-a-time lexer
//! of `wire::json::fast`) and fall back to the exact parsers below for anything it does not
//! take; both give the same results and use the same scratch. Size builds (`rtm_opt_size`)
//! have the exact parsers only.

use super::dispatch::Category;
use super::push::Message;
use crate::wire::json::{JsonError, Scratch, Value, for_each_member, for_each_member_nested};

#[cfg(any(test, not(rtm_opt_size)))]
mod fast;
#[cfg(any(test, not(rtm_opt_size)))]
mod straight;

/// The translation carried by a translated chat message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TranslatedInfo<'a> {
    /// `source`: the original language.
    pub source_language: &'a [u8],
    /// `target`: the translated language.
    pub target_language: &'a [u8],
    /// `sourceText`: the original text.
    pub source_text: &'a [u8],
    /// `targetText`: the translated text.
    pub target_text: &'a [u8],
}

impl<'a> TranslatedInfo<'a> {
    /// The text to show: `targetText` if non-empty, else `sourceText` (as the C++ SDK does).
    pub fn text(&self) -> &'a [u8] {
        if self.target_text.is_empty() {
            self.source_text
        } else {
            self.target_text
        }
    }
}

/// Parses a chat's `msg` as translation JSON.
///
/// Fails with [`JsonError::NotObject`] when `msg` is not a JSON object or has none of the four
/// keys (it is then plain text), and with the other [`JsonError`]s when it is malformed or the
/// scratch is too small. Non-string values of the four keys are ignored.
#[inline]
pub fn parse_translated<'a>(
    msg: &'a [u8],
    scratch: &mut Scratch<'a>,
) -> Result<TranslatedInfo<'a>, JsonError> {
    // Plain text is refused at its first byte, with the error the scanner gives there,
    // without a call: most chats start with a byte that cannot start JSON (one table look-up).
    match msg.first() {
        Some(&b) if PLAIN_START[usize::from(b)] => Err(JsonError::Syntax(0)),
        Some(b'{') => parse_translated_json(msg, scratch),
        _ => parse_translated_other(msg, scratch),
    }
}

/// The first bytes that make a text plain (not JSON, refused at byte 0): neither a blank (or
/// other byte up to a space, looked at further) nor a byte that can start a JSON value.
const PLAIN_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b > 0x20 && !crate::wire::json::starts_value(b as u8);
        b += 1;
    }
    t
};

/// [`parse_translated`] for a text that starts with a blank or a byte that can start JSON:
/// refused at its first non-blank byte if that cannot start JSON, otherwise scanned.
#[inline(never)]
fn parse_translated_other<'a>(
    msg: &'a [u8],
    scratch: &mut Scratch<'a>,
) -> Result<TranslatedInfo<'a>, JsonError> {
    let at = msg
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(msg.len());
    match msg.get(at) {
        Some(&b) if crate::wire::json::starts_value(b) => parse_translated_json(msg, scratch),
        _ => Err(JsonError::Syntax(at)),
    }
}

#[inline(never)]
fn parse_translated_json<'a>(
    msg: &'a [u8],
    scratch: &mut Scratch<'a>,
) -> Result<TranslatedInfo<'a>, JsonError> {
    #[cfg(not(rtm_opt_size))]
    if let Some(mut t) = fast::translated(msg) {
        // The text is well formed: decode the escaped strings in the order the exact pass
        // would (the others take no scratch).
        for n in t.escaped.iter() {
            let slot = fast::translated_slot(&mut t.info, n);
            *slot = crate::wire::json::fast::decode_escaped(slot, scratch)?;
        }
        return if t.seen == 0 {
            Err(JsonError::NotObject)
        } else {
            Ok(t.info)
        };
    }
    translated_exact(msg, scratch)
}

/// [`parse_translated_json`] on the exact scanner: the path for what the fast scan refused in
/// speed builds, the only one in size builds.
#[cfg_attr(not(rtm_opt_size), inline(never))]
fn translated_exact<'a>(
    msg: &'a [u8],
    scratch: &mut Scratch<'a>,
) -> Result<TranslatedInfo<'a>, JsonError> {
    let mut t = TranslatedInfo::default();
    let mut found = false;
    for_each_member(msg, |key, value| {
        let Value::Str(s) = value else {
            return Ok(());
        };
        let slot = match key.raw() {
            b"source" => &mut t.source_language,
            b"target" => &mut t.target_language,
            b"sourceText" => &mut t.source_text,
            b"targetText" => &mut t.target_text,
            _ => return Ok(()),
        };
        *slot = s.value(scratch)?;
        found = true;
        Ok(())
    })?;
    if found {
        Ok(t)
    } else {
        Err(JsonError::NotObject)
    }
}

/// What a file message describes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FileInfo<'a> {
    /// `url` from `msg`.
    pub url: &'a [u8],
    /// `size` in bytes from `msg` (0 when absent or not an integer).
    pub size: i64,
    /// `surl` (thumbnail URL) from `msg`, empty when absent.
    pub surl: &'a [u8],
    /// Whether `attrs.rtm.type` is `"audiomsg"`.
    pub is_rtm_audio: bool,
    /// `attrs.rtm.lang` (audio messages).
    pub language: &'a [u8],
    /// `attrs.rtm.duration` in ms (audio messages; 0 when absent).
    pub duration: i64,
    /// `attrs.custom`: the sender's own attributes. A string is given unescaped; any other value
    /// as its JSON text. `None` when absent or when `attrs` is not a JSON object.
    pub custom: Option<&'a [u8]>,
}

/// Parses a file message's `msg` and `attrs`.
///
/// `msg` must be a JSON object; otherwise the error is returned and the caller keeps the raw
/// text. `attrs` is optional information: if it is not a JSON object, the result simply has no
/// audio fields and no `custom`.
#[inline(never)]
pub fn parse_file_info<'a>(
    msg: &'a [u8],
    attrs: &'a [u8],
    scratch: &mut Scratch<'a>,
) -> Result<FileInfo<'a>, JsonError> {
    #[cfg(not(rtm_opt_size))]
    {
        // One scan state for both texts, written straight into the result: the straight scan
        // of the usual key order first, then the keyed scan, then the exact parser.
        let mut f = fast::Scan::<FileInfo<'a>>::default();
        if straight::file_msg(msg, &mut f).is_none() {
            f = fast::Scan::default();
            if fast::file_msg(msg, &mut f).is_none() {
                let info = file_msg_exact(msg, scratch)?;
                return Ok(file_attrs_after_exact(attrs, info, scratch));
            }
        }
        decode_fields(&mut f.info, f.escaped, scratch)?;
        f.escaped = fast::Order::default();
        if straight::file_attrs(attrs, &mut f).is_none() {
            return Ok(file_attrs_after_exact(attrs, msg_fields(&f.info), scratch));
        }
        Ok(match decode_fields(&mut f.info, f.escaped, scratch) {
            Ok(()) => f.info,
            Err(_) => msg_fields(&f.info),
        })
    }
    #[cfg(rtm_opt_size)]
    {
        let info = file_msg_exact(msg, scratch)?;
        Ok(file_attrs_exact(attrs, info, scratch))
    }
}

/// The fields of `info` that come from `msg` (what [`parse_file_info`] gives when `attrs` is
/// malformed).
#[cfg(any(test, not(rtm_opt_size)))]
#[inline(always)]
fn msg_fields<'a>(info: &FileInfo<'a>) -> FileInfo<'a> {
    FileInfo {
        url: info.url,
        size: info.size,
        surl: info.surl,
        ..FileInfo::default()
    }
}

/// The `attrs` half of [`parse_file_info`] after an exact `msg`, or when the straight scan did
/// not take `attrs`: the keyed scan if it takes `attrs`, otherwise the exact parser.
#[cfg(not(rtm_opt_size))]
#[inline(never)]
fn file_attrs_after_exact<'a>(
    attrs: &'a [u8],
    info: FileInfo<'a>,
    scratch: &mut Scratch<'a>,
) -> FileInfo<'a> {
    let mut f = fast::Scan {
        info,
        ..fast::Scan::default()
    };
    match fast::file_attrs(attrs, &mut f) {
        Some(()) => match decode_fields(&mut f.info, f.escaped, scratch) {
            Ok(()) => f.info,
            Err(_) => info,
        },
        None => file_attrs_exact(attrs, info, scratch),
    }
}

/// Decodes the escaped strings of the fields `escaped` of `info` (raw from a fast scan) in
/// that order.
#[cfg(not(rtm_opt_size))]
#[inline(always)]
fn decode_fields<'a>(
    info: &mut FileInfo<'a>,
    escaped: fast::Order,
    scratch: &mut Scratch<'a>,
) -> Result<(), JsonError> {
    use crate::wire::json::fast::decode_escaped;
    if escaped.is_empty() {
        return Ok(());
    }
    for field in escaped.iter() {
        match field {
            fast::URL => info.url = decode_escaped(info.url, scratch)?,
            fast::SURL => info.surl = decode_escaped(info.surl, scratch)?,
            fast::LANG => info.language = decode_escaped(info.language, scratch)?,
            _ => {
                if let Some(c) = &mut info.custom {
                    *c = decode_escaped(c, scratch)?;
                }
            }
        }
    }
    Ok(())
}

/// The `msg` half of [`parse_file_info`] on the exact scanner.
#[cfg_attr(not(rtm_opt_size), inline(never))]
fn file_msg_exact<'a>(msg: &'a [u8], scratch: &mut Scratch<'a>) -> Result<FileInfo<'a>, JsonError> {
    let mut info = FileInfo::default();
    for_each_member(msg, |key, value| {
        match (key.raw(), value) {
            (b"url", Value::Str(s)) => info.url = s.value(scratch)?,
            (b"surl", Value::Str(s)) => info.surl = s.value(scratch)?,
            (b"size", v) => info.size = v.as_i64().unwrap_or(0),
            _ => {}
        }
        Ok(())
    })?;
    Ok(info)
}

/// `custom`'s value as [`FileInfo::custom`] gives it.
#[cfg_attr(not(rtm_opt_size), inline(always))]
fn custom_text<'a>(v: Value<'a>, scratch: &mut Scratch<'a>) -> Result<&'a [u8], JsonError> {
    Ok(match v {
        Value::Str(s) => s.value(scratch)?,
        Value::Number(t) | Value::Object(t) | Value::Array(t) => t,
        Value::Bool(true) => b"true",
        Value::Bool(false) => b"false",
        Value::Null => b"null",
    })
}

/// The `attrs` half of [`parse_file_info`] on the exact scanner: `info` with the audio fields
/// and `custom`, or `info` alone when `attrs` is not a JSON object (or the scratch is too
/// small).
#[cfg_attr(not(rtm_opt_size), inline(never))]
fn file_attrs_exact<'a>(
    attrs: &'a [u8],
    info: FileInfo<'a>,
    scratch: &mut Scratch<'a>,
) -> FileInfo<'a> {
    let mut attrs_info = info;
    // One pass over attrs: the `rtm` object is walked while it is validated.
    let parsed = for_each_member_nested(attrs, |key, member| {
        if key.eq_str("custom") {
            attrs_info.custom = Some(custom_text(member.value()?, scratch)?);
        } else if key.eq_str("rtm") {
            member.object(|k, member| {
                match (k.raw(), member.value()?) {
                    (b"type", Value::Str(s)) => attrs_info.is_rtm_audio = s.eq_str("audiomsg"),
                    (b"lang", Value::Str(s)) => attrs_info.language = s.value(scratch)?,
                    (b"duration", v) => attrs_info.duration = v.as_i64().unwrap_or(0),
                    _ => {}
                }
                Ok(())
            })?;
        } else {
            member.value()?;
        }
        Ok(())
    });
    // Malformed attrs leave only the msg-derived fields.
    if parsed.is_ok() { attrs_info } else { info }
}

/// Where the cost of JSON is paid: on demand, by the host, for the messages it cares about.
/// The listener hands messages over undecoded ([`crate::session::MessageEvent`]); a monitor or
/// the C ABI calls these for chat and file callbacks, with scratch memory of its own for
/// unescaped strings. Unescaping never makes a string longer, so a scratch of
/// [`Message::info_scratch_len`] bytes (at most the receive buffer) always suffices; a smaller
/// one (say [`crate::config::JSON_SCRATCH`]) may fail with [`JsonError::ScratchFull`], which
/// [`parse_translated`] and [`parse_file_info`] report.
impl<'a> Message<'a> {
    /// The scratch that always suffices for [`Message::translated`] and
    /// [`Message::file_info`]: the length of `msg` and `attrs` together.
    pub fn info_scratch_len(&self) -> usize {
        self.msg.len() + self.attrs.len()
    }

    /// The translation of a chat message (mtype 30) whose text is translation JSON; `None`
    /// for other categories, plain text, or JSON without translation keys. Escaped strings are
    /// unescaped into `scratch`; use [`parse_translated`] for the error.
    pub fn translated<'s>(&self, scratch: &'s mut [u8]) -> Option<TranslatedInfo<'s>>
    where
        'a: 's,
    {
        if self.category() != Category::Chat {
            return None;
        }
        parse_translated(self.msg, &mut Scratch::new(scratch)).ok()
    }

    /// The file information of a file message (mtype 40..=50) from its `msg` and `attrs` JSON;
    /// `None` for other categories or when `msg` is not file JSON. Escaped strings are
    /// unescaped into `scratch`; use [`parse_file_info`] for the error.
    pub fn file_info<'s>(&self, scratch: &'s mut [u8]) -> Option<FileInfo<'s>>
    where
        'a: 's,
    {
        if self.category() != Category::File {
            return None;
        }
        parse_file_info(self.msg, self.attrs, &mut Scratch::new(scratch)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translated_chat() {
        let msg =
            br#"{"source":"zh","target":"en","sourceText":"\u4f60\u597d","targetText":"hello"}"#;
        let mut buf = [0u8; 64];
        let t = parse_translated(msg, &mut Scratch::new(&mut buf)).unwrap();
        assert_eq!(t.source_language, b"zh");
        assert_eq!(t.source_text, "你好".as_bytes());
        assert_eq!(t.text(), b"hello");
    }

    #[test]
    fn plain_chat_is_not_a_translation() {
        let mut buf = [0u8; 8];
        for msg in [&b"hello"[..], b"{\"a\":1}", b"{\"source\":", b""] {
            assert!(parse_translated(msg, &mut Scratch::new(&mut buf)).is_err());
        }
    }

    #[test]
    fn audio_file_with_custom_object() {
        let msg = br#"{"url":"https:\/\/f.example\/a.amr","size":2048}"#;
        let attrs = br#"{"rtm":{"type":"audiomsg","lang":"en","duration":3000,"codec":"amr"},"custom":{"k":[1,2]}}"#;
        let mut buf = [0u8; 64];
        let f = parse_file_info(msg, attrs, &mut Scratch::new(&mut buf)).unwrap();
        assert_eq!(f.url, b"https://f.example/a.amr");
        assert_eq!((f.size, f.duration, f.is_rtm_audio), (2048, 3000, true));
        assert_eq!(f.language, b"en");
        assert_eq!(f.custom, Some(&br#"{"k":[1,2]}"#[..]));
    }

    #[test]
    fn message_methods_parse_by_category() {
        use crate::rtm::push::{Message, Target};
        let mut m = Message {
            target: Target::Group,
            from: 1,
            to: 2,
            mid: 3,
            mtype: 30,
            msg: br#" {"source":"zh","target":"en","sourceText":"a","targetText":"b\u0021"}"#,
            attrs: br#"{"rtm":{"type":"audiomsg"}}"#,
            mtime: 0,
        };
        let mut buf = [0u8; 16];
        assert_eq!(m.translated(&mut buf).map(|t| t.text()), Some(&b"b!"[..]));
        assert_eq!(m.file_info(&mut buf), None, "a chat is not a file");
        m.mtype = 41;
        assert_eq!(m.translated(&mut buf), None, "a file is not a chat");
        m.msg = b"not json";
        assert_eq!(m.file_info(&mut buf), None, "msg is not file JSON");
        m.msg = br#"{"url":"u","size":5}"#;
        let f = m.file_info(&mut buf).expect("file info");
        assert_eq!((f.url, f.size, f.is_rtm_audio), (&b"u"[..], 5, true));
        m.mtype = 30;
        m.msg = b"plain {text}";
        assert_eq!(m.translated(&mut buf), None, "plain chat");
    }

    #[test]
    fn bad_attrs_keep_msg_fields() {
        let mut buf = [0u8; 8];
        let f = parse_file_info(
            br#"{"url":"u","surl":"s"}"#,
            b"not json",
            &mut Scratch::new(&mut buf),
        )
        .unwrap();
        assert_eq!((f.url, f.surl, f.custom), (&b"u"[..], &b"s"[..], None));
        assert!(parse_file_info(b"{bad", b"{}", &mut Scratch::new(&mut buf)).is_err());
    }

    /// The parsers as they were before the single-pass scanner, on the reference scanner.
    mod old {
        use super::super::{FileInfo, TranslatedInfo};
        use crate::wire::json::reference;
        use crate::wire::json::{JsonError, Scratch, Value};

        pub(super) fn parse_translated<'a>(
            msg: &'a [u8],
            scratch: &mut Scratch<'a>,
        ) -> Result<TranslatedInfo<'a>, JsonError> {
            let mut t = TranslatedInfo::default();
            let mut found = false;
            reference::for_each_member(msg, |key, value| {
                let Value::Str(s) = value else {
                    return Ok(());
                };
                let slot = match key.raw() {
                    b"source" => &mut t.source_language,
                    b"target" => &mut t.target_language,
                    b"sourceText" => &mut t.source_text,
                    b"targetText" => &mut t.target_text,
                    _ => return Ok(()),
                };
                *slot = s.value(scratch)?;
                found = true;
                Ok(())
            })?;
            if found {
                Ok(t)
            } else {
                Err(JsonError::NotObject)
            }
        }
        pub(super) fn parse_file_info<'a>(
            msg: &'a [u8],
            attrs: &'a [u8],
            scratch: &mut Scratch<'a>,
        ) -> Result<FileInfo<'a>, JsonError> {
            let mut info = FileInfo::default();
            reference::for_each_member(msg, |key, value| {
                match (key.raw(), value) {
                    (b"url", Value::Str(s)) => info.url = s.value(scratch)?,
                    (b"surl", Value::Str(s)) => info.surl = s.value(scratch)?,
                    (b"size", v) => info.size = v.as_i64().unwrap_or(0),
                    _ => {}
                }
                Ok(())
            })?;
            let mut attrs_info = info;
            let parsed = reference::for_each_member(attrs, |key, value| {
                if key.eq_str("custom") {
                    attrs_info.custom = Some(match value {
                        Value::Str(s) => s.value(scratch)?,
                        Value::Number(t) | Value::Object(t) | Value::Array(t) => t,
                        Value::Bool(true) => b"true",
                        Value::Bool(false) => b"false",
                        Value::Null => b"null",
                    });
                } else if let (true, Value::Object(rtm)) = (key.eq_str("rtm"), value) {
                    reference::for_each_member(rtm, |k, v| {
                        match (k.raw(), v) {
                            (b"type", Value::Str(s)) => {
                                attrs_info.is_rtm_audio = s.eq_str("audiomsg")
                            }
                            (b"lang", Value::Str(s)) => attrs_info.language = s.value(scratch)?,
                            (b"duration", v) => attrs_info.duration = v.as_i64().unwrap_or(0),
                            _ => {}
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            });
            // Malformed attrs leave only the msg-derived fields.
            Ok(if parsed.is_ok() { attrs_info } else { info })
        }
    }

    /// RTM-shaped JSON for the fast scans: the keys the parsers read, in any order, with
    /// string, number and other values, escapes, repeats, blanks; sometimes edited or cut.
    mod rtm_gen {
        use crate::wire::json::tests::text_gen;
        use proptest::prelude::*;

        /// A JSON string: mostly plain, sometimes `audiomsg` (as is, escaped, or a longer
        /// word that starts like it), sometimes any string.
        pub(super) fn string() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => "[a-zA-Z0-9:/._-]{0,40}".prop_map(|s| format!("\"{s}\"")),
                1 => Just("\"audiomsg\"".to_string()),
                1 => Just("\"audi\\u006fmsg\"".to_string()),
                1 => Just("\"audiomsg2\"".to_string()),
                2 => text_gen::string(),
            ]
        }

        /// A JSON number: mostly small integers, sometimes any `i64`, a negative zero, a
        /// fraction, an exponent, or one at a width boundary (7 and 8 digits, 18 to 20).
        pub(super) fn number() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => (0u32..100_000).prop_map(|v| v.to_string()),
                1 => any::<i64>().prop_map(|v| v.to_string()),
                1 => prop::sample::select(vec![
                    "-0", "0", "1.5", "2e3", "-7E-1", "99999999999999999999", "1234567",
                    "12345678", "-9223372036854775808", "123456789012345678",
                    "1234567890123456789",
                ])
                .prop_map(String::from),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => string(),
                3 => number(),
                1 => text_gen::value(),
            ]
        }

        fn blank() -> impl Strategy<Value = &'static str> {
            prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just("\n\t ")]
        }

        /// An object whose keys are mostly from `keys`, whose values are mostly `inner`.
        fn object(
            keys: &'static [&'static str],
            inner: BoxedStrategy<String>,
        ) -> impl Strategy<Value = String> {
            let key = prop_oneof![
                6 => prop::sample::select(keys).prop_map(|k| format!("\"{k}\"")),
                1 => prop::sample::select(keys).prop_map(|k| {
                    // The same name with its first letter escaped.
                    let (h, t) = k.split_at(1);
                    format!("\"\\u{:04x}{t}\"", u32::from(h.as_bytes()[0]))
                }),
                1 => "[a-z]{1,12}".prop_map(|k| format!("\"{k}\"")),
            ];
            let member = (
                key,
                blank(),
                blank(),
                prop_oneof![4 => inner, 1 => value().boxed()],
            )
                .prop_map(|(k, a, b, v)| format!("{k}{a}:{b}{v}"));
            (prop::collection::vec((member, blank()), 0..6), blank()).prop_map(|(ms, b)| {
                let ms: Vec<String> = ms.into_iter().map(|(m, b)| format!("{b}{m}")).collect();
                format!("{{{}{b}}}", ms.join(","))
            })
        }

        /// A text, maybe edited or cut.
        fn edited(text: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
            (
                text,
                prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
                any::<prop::sample::Index>(),
                0u8..8,
            )
                .prop_map(|(t, edits, cut, mode)| {
                    let mut t = t.into_bytes();
                    match mode {
                        0 if !t.is_empty() => {
                            for (at, x) in edits {
                                let i = at.index(t.len());
                                t[i] = x;
                            }
                        }
                        1 => t.truncate(cut.index(t.len() + 1)),
                        _ => {}
                    }
                    t
                })
        }

        pub fn file_msg() -> impl Strategy<Value = Vec<u8>> {
            edited(object(&["url", "size", "surl"], value().boxed()))
        }

        pub fn file_attrs() -> impl Strategy<Value = Vec<u8>> {
            let rtm = object(&["type", "lang", "duration", "codec"], value().boxed()).boxed();
            edited(object(
                &["rtm", "custom"],
                prop_oneof![3 => rtm, 1 => value()].boxed(),
            ))
        }

        pub fn translated() -> impl Strategy<Value = Vec<u8>> {
            edited(object(
                &["source", "target", "sourceText", "targetText"],
                value().boxed(),
            ))
        }
    }

    /// File JSON in the key order RTM writes (`rtm::info::straight`'s), then maybe changed:
    /// members swapped, dropped or repeated, blanks inserted, keys escaped, bytes edited, cut.
    mod straight_gen {
        use super::rtm_gen::{number, string};
        use crate::wire::json::tests::text_gen;
        use proptest::prelude::*;

        /// Any value: mostly strings and numbers, sometimes containers.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => string(),
                3 => number(),
                1 => Just("{\"k\":1}".to_string()),
                1 => text_gen::value(),
            ]
        }

        /// A member whose key is not one of `wanted`.
        fn other(wanted: &'static [&'static str]) -> impl Strategy<Value = String> {
            (
                prop_oneof![
                    2 => "[a-z]{1,10}",
                    1 => Just("codec".to_string()),
                    1 => Just("srate".to_string()),
                ]
                .prop_filter("not a wanted key", move |k| !wanted.contains(&k.as_str())),
                value(),
            )
                .prop_map(|(k, v)| format!("\"{k}\":{v}"))
        }

        fn others(wanted: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
            prop::collection::vec(other(wanted), 0..3)
        }

        /// How a text is changed after it is built.
        #[derive(Debug, Clone)]
        pub enum Change {
            None,
            /// Two members swapped.
            Swap(prop::sample::Index, prop::sample::Index),
            /// A member dropped.
            Drop(prop::sample::Index),
            /// A member repeated at the end of its object.
            Repeat(prop::sample::Index),
            /// A member's key with its first letter as `\u00XX`.
            Escape(prop::sample::Index),
            /// A blank inserted at a byte.
            Blank(prop::sample::Index, &'static str),
            /// A byte replaced.
            Edit(prop::sample::Index, u8),
            /// The text cut at a byte.
            Cut(prop::sample::Index),
        }

        fn change() -> impl Strategy<Value = Change> {
            use prop::sample::Index;
            prop_oneof![
                6 => Just(Change::None),
                1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Change::Swap(a, b)),
                1 => any::<Index>().prop_map(Change::Drop),
                1 => any::<Index>().prop_map(Change::Repeat),
                1 => any::<Index>().prop_map(Change::Escape),
                1 => (any::<Index>(), prop::sample::select(vec![" ", "\n", "\t", "\r"]))
                    .prop_map(|(a, b)| Change::Blank(a, b)),
                1 => (any::<Index>(), any::<u8>()).prop_map(|(a, b)| Change::Edit(a, b)),
                1 => any::<Index>().prop_map(Change::Cut),
            ]
        }

        /// The object of `members` after a member-level change (the byte-level ones are
        /// applied to the text by [`bytes`]).
        fn object(mut members: Vec<String>, change: &Change) -> String {
            if !members.is_empty() {
                match change {
                    Change::Swap(a, b) => {
                        let (a, b) = (a.index(members.len()), b.index(members.len()));
                        members.swap(a, b);
                    }
                    Change::Drop(a) => {
                        members.remove(a.index(members.len()));
                    }
                    Change::Repeat(a) => members.push(members[a.index(members.len())].clone()),
                    Change::Escape(a) => {
                        let at = a.index(members.len());
                        let m = &mut members[at];
                        let first = m.as_bytes()[1];
                        *m = format!("\"\\u{:04x}{}", first, &m[2..]);
                    }
                    _ => {}
                }
            }
            format!("{{{}}}", members.join(","))
        }

        /// The byte-level changes.
        fn bytes(text: Vec<u8>, change: &Change) -> Vec<u8> {
            let mut t = text;
            match change {
                Change::Blank(at, b) => {
                    let at = at.index(t.len() + 1);
                    t.splice(at..at, b.bytes());
                }
                Change::Edit(at, x) if !t.is_empty() => {
                    let at = at.index(t.len());
                    t[at] = *x;
                }
                Change::Cut(at) => t.truncate(at.index(t.len() + 1)),
                _ => {}
            }
            t
        }

        /// A file message's `msg`, and whether it is unchanged (then the straight scan takes
        /// it).
        pub fn file_msg() -> impl Strategy<Value = (Vec<u8>, bool)> {
            (
                string(),
                number(),
                prop::option::of(string()),
                others(&["url", "size", "surl"]),
                change(),
            )
                .prop_map(|(url, size, surl, others, change)| {
                    let mut members = vec![format!("\"url\":{url}"), format!("\"size\":{size}")];
                    members.extend(surl.map(|s| format!("\"surl\":{s}")));
                    members.extend(others);
                    let text = object(members, &change).into_bytes();
                    (bytes(text, &change), matches!(change, Change::None))
                })
        }

        /// A file message's `attrs`, and whether it is unchanged.
        pub fn file_attrs() -> impl Strategy<Value = (Vec<u8>, bool)> {
            (
                (string(), string(), number()),
                (prop::option::of(value()), prop::option::of(value())),
                others(&["type", "lang", "duration"]),
                value(),
                others(&["rtm", "custom"]),
                (change(), change()),
            )
                .prop_map(
                    |(
                        (ty, lang, duration),
                        (codec, srate),
                        rtm_others,
                        custom,
                        others,
                        changes,
                    )| {
                        let (c_rtm, c_top) = changes;
                        let mut rtm = vec![
                            format!("\"type\":{ty}"),
                            format!("\"lang\":{lang}"),
                            format!("\"duration\":{duration}"),
                        ];
                        rtm.extend(codec.map(|v| format!("\"codec\":{v}")));
                        rtm.extend(srate.map(|v| format!("\"srate\":{v}")));
                        rtm.extend(rtm_others);
                        // The byte-level changes of `rtm` are applied to the whole text.
                        let rtm = object(rtm, &c_rtm);
                        let mut members =
                            vec![format!("\"rtm\":{rtm}"), format!("\"custom\":{custom}")];
                        members.extend(others);
                        let text = object(members, &c_top).into_bytes();
                        let text = bytes(bytes(text, &c_rtm), &c_top);
                        let plain = matches!((c_rtm, c_top), (Change::None, Change::None));
                        (text, plain)
                    },
                )
        }
    }

    /// A scan's state, comparable.
    fn scan_state<'a>(f: &fast::Scan<FileInfo<'a>>) -> (FileInfo<'a>, Vec<usize>, u32) {
        (f.info, f.escaped.iter().collect(), f.seen)
    }

    #[test]
    fn straight_scans_take_the_usual_order_only() {
        let msg = br#"{"url":"https://f.example.com/17.amr","size":23456}"#;
        let attrs = br#"{"rtm":{"type":"audiomsg","lang":"en","duration":5120,"codec":"amr-wb","srate":16000},"custom":{"k":1}}"#;
        let (mut a, mut b) = (fast::Scan::default(), fast::Scan::default());
        assert_eq!(straight::file_msg(msg, &mut a), Some(()));
        assert_eq!(straight::file_attrs(attrs, &mut a), Some(()));
        assert_eq!(fast::file_msg(msg, &mut b), Some(()));
        assert_eq!(fast::file_attrs(attrs, &mut b), Some(()));
        assert_eq!(scan_state(&a), scan_state(&b));
        // Escapes in values, `surl`, other members, a custom string: still taken.
        let msg = br#"{"url":"https:\/\/a\/b","size":7,"surl":"s","x":[1,{"y":null}]}"#;
        let attrs = br#"{"rtm":{"type":"audi\u006fmsg","lang":"\u0065n","duration":-1,"srate":8000,"z":{}},"custom":"c\n","w":true}"#;
        let (mut a, mut b) = (fast::Scan::default(), fast::Scan::default());
        assert_eq!(straight::file_msg(msg, &mut a), Some(()));
        assert_eq!(straight::file_attrs(attrs, &mut a), Some(()));
        assert_eq!(fast::file_msg(msg, &mut b), Some(()));
        assert_eq!(fast::file_attrs(attrs, &mut b), Some(()));
        assert_eq!(scan_state(&a), scan_state(&b));
        assert!(a.info.is_rtm_audio);
        assert_eq!(
            a.escaped.iter().collect::<Vec<_>>(),
            [fast::URL, fast::LANG, fast::CUSTOM]
        );
        // A key of msg with escapes is another key (keys are compared by raw text).
        let msg = br#"{"url":"u","size":1,"\u0073url":"v"}"#;
        assert_eq!(
            straight::file_msg(msg, &mut fast::Scan::default()),
            Some(())
        );
        // Another order, a blank, a repeated wanted key, a trailing comma: given up.
        for bad in [
            &br#"{"size":1,"url":"u"}"#[..],
            br#"{"url": "u","size":1}"#,
            br#"{"url":"u","size":1,"url":"v"}"#,
            br#"{"url":"u","size":1,}"#,
        ] {
            assert_eq!(straight::file_msg(bad, &mut fast::Scan::default()), None);
        }
        // The same for attrs, and an escaped top-level key (compared by value there).
        for bad in [
            &br#"{"custom":1,"rtm":{"type":"a","lang":"b","duration":1}}"#[..],
            br#"{"rtm":{"lang":"b","type":"a","duration":1},"custom":1}"#,
            br#"{"rtm":{"type":"a","lang":"b","duration":1,"lang":"c"},"custom":1}"#,
            br#"{"rtm":{"type":"a","lang":"b","duration":1},"custom":1,"\u0072tm":2}"#,
            br#"{"rtm":{"type":"a","lang":"b","duration":1},"custom":1 }x"#,
        ] {
            assert_eq!(straight::file_attrs(bad, &mut fast::Scan::default()), None);
        }
    }

    #[test]
    fn the_benchmark_layout_takes_the_fast_scans() {
        let msg = br#"{"url":"https://f.example.com/17.amr","size":23456}"#;
        let attrs = br#"{"rtm":{"type":"audiomsg","lang":"en","duration":5120,"codec":"amr-wb","srate":16000},"custom":{"k":1}}"#;
        let mut f = fast::Scan::default();
        assert_eq!(fast::file_msg(msg, &mut f), Some(()));
        assert_eq!(fast::file_attrs(attrs, &mut f), Some(()));
        assert!(f.escaped.iter().next().is_none());
        let mut buf = [0u8; 8];
        assert_eq!(
            Ok(f.info),
            parse_file_info(msg, attrs, &mut Scratch::new(&mut buf))
        );
        assert_eq!(
            (
                f.info.url,
                f.info.size,
                f.info.is_rtm_audio,
                f.info.duration
            ),
            (&b"https://f.example.com/17.amr"[..], 23456, true, 5120)
        );
        assert_eq!(
            (f.info.language, f.info.custom),
            (&b"en"[..], Some(&br#"{"k":1}"#[..]))
        );
        let t = br#"{"source":"zh","target":"en","sourceText":"\u4f60","targetText":"hi"}"#;
        let t = fast::translated(t).expect("translation");
        assert_eq!(
            (t.seen, t.escaped.iter().collect::<Vec<_>>()),
            (0b1111, vec![2])
        );
    }

    /// `parse_file_info` of `msg` and `attrs` with `scratch_len` bytes of scratch: the same
    /// result and scratch left as the exact parsers, the same result as the reference.
    fn parses_as_exact_and_reference(
        msg: &[u8],
        attrs: &[u8],
        scratch_len: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prop_assert_eq;
        let (mut a, mut b) = ([0u8; 160], [0u8; 160]);
        let (mut sa, mut sb) = (
            Scratch::new(&mut a[..scratch_len]),
            Scratch::new(&mut b[..scratch_len]),
        );
        let ours = parse_file_info(msg, attrs, &mut sa);
        let exact = file_msg_exact(msg, &mut sb).map(|i| file_attrs_exact(attrs, i, &mut sb));
        prop_assert_eq!((ours, sa.remaining()), (exact, sb.remaining()));
        let mut c = [0u8; 160];
        let theirs = old::parse_file_info(msg, attrs, &mut Scratch::new(&mut c[..scratch_len]));
        prop_assert_eq!(ours, theirs);
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 1024,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Same results as the parsers on the reference scanner, for any text and scratch size.
        #[test]
        fn parsers_match_the_reference(
            msg in crate::wire::json::tests::text_gen::text(),
            attrs in crate::wire::json::tests::text_gen::text(),
            scratch_len in 0usize..64,
        ) {
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            let ours = parse_translated(&msg, &mut Scratch::new(&mut a[..scratch_len]));
            let theirs = old::parse_translated(&msg, &mut Scratch::new(&mut b[..scratch_len]));
            proptest::prop_assert_eq!(ours, theirs);
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            let ours = parse_file_info(&msg, &attrs, &mut Scratch::new(&mut a[..scratch_len]));
            let theirs =
                old::parse_file_info(&msg, &attrs, &mut Scratch::new(&mut b[..scratch_len]));
            proptest::prop_assert_eq!(ours, theirs);
            // A file msg is usually a plain object with a url: pair it with the attrs too.
            let msg = br#"{"url":"u","size":1}"#;
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            let ours = parse_file_info(msg, &attrs, &mut Scratch::new(&mut a[..scratch_len]));
            let theirs =
                old::parse_file_info(msg, &attrs, &mut Scratch::new(&mut b[..scratch_len]));
            proptest::prop_assert_eq!(ours, theirs);
        }

        /// On RTM-shaped JSON (where the fast scans succeed or give up), the same results and
        /// the same scratch use as the exact parsers, and the same results as the parsers on
        /// the reference scanner, for any scratch size.
        #[test]
        fn rtm_shaped_json_parses_as_the_reference(
            msg in rtm_gen::file_msg(),
            attrs in rtm_gen::file_attrs(),
            chat in rtm_gen::translated(),
            scratch_len in 0usize..160,
        ) {
            let (mut a, mut b) = ([0u8; 160], [0u8; 160]);
            let (mut sa, mut sb) =
                (Scratch::new(&mut a[..scratch_len]), Scratch::new(&mut b[..scratch_len]));
            let ours = parse_translated(&chat, &mut sa);
            // Plain text is refused at its first non-blank byte; anything else is scanned.
            let at = chat
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(chat.len());
            let exact = match chat.get(at) {
                Some(&b) if crate::wire::json::starts_value(b) => {
                    translated_exact(&chat, &mut sb)
                }
                _ => Err(JsonError::Syntax(at)),
            };
            proptest::prop_assert_eq!((ours, sa.remaining()), (exact, sb.remaining()));
            let mut c = [0u8; 160];
            let theirs = old::parse_translated(&chat, &mut Scratch::new(&mut c[..scratch_len]));
            proptest::prop_assert_eq!(ours, theirs);
            let (mut a, mut b) = ([0u8; 160], [0u8; 160]);
            let (mut sa, mut sb) =
                (Scratch::new(&mut a[..scratch_len]), Scratch::new(&mut b[..scratch_len]));
            let ours = parse_file_info(&msg, &attrs, &mut sa);
            let exact = file_msg_exact(&msg, &mut sb).map(|i| file_attrs_exact(&attrs, i, &mut sb));
            proptest::prop_assert_eq!((ours, sa.remaining()), (exact, sb.remaining()));
            let mut c = [0u8; 160];
            let theirs = old::parse_file_info(&msg, &attrs, &mut Scratch::new(&mut c[..scratch_len]));
            proptest::prop_assert_eq!(ours, theirs);
        }

        /// File JSON in the usual key order and changed from it: the straight scans take the
        /// unchanged texts, and whatever they take the keyed scans take the same way; the
        /// parser gives the same results, errors and scratch use as the exact parsers and the
        /// same results as the parsers on the reference scanner, for any scratch size.
        #[test]
        fn straight_scans_agree_with_the_keyed_scans_and_the_exact_parsers(
            (msg, msg_plain) in straight_gen::file_msg(),
            (attrs, attrs_plain) in straight_gen::file_attrs(),
            scratch_len in 0usize..160,
        ) {
            use proptest::{prop_assert, prop_assert_eq};
            let (mut a, mut b) = (fast::Scan::default(), fast::Scan::default());
            let straight_msg = straight::file_msg(&msg, &mut a);
            prop_assert!(straight_msg.is_some() || !msg_plain, "an unchanged msg is taken");
            if straight_msg.is_some() {
                prop_assert_eq!(fast::file_msg(&msg, &mut b), Some(()));
                prop_assert_eq!(scan_state(&a), scan_state(&b));
                prop_assert!(file_msg_exact(&msg, &mut Scratch::new(&mut [0u8; 160])).is_ok());
            }
            // The attrs scans start from the msg fields (or none).
            let start = fast::Scan { info: msg_fields(&a.info), ..fast::Scan::default() };
            let (mut a, mut b) = (start, start);
            let straight_attrs = straight::file_attrs(&attrs, &mut a);
            prop_assert!(straight_attrs.is_some() || !attrs_plain, "unchanged attrs are taken");
            if straight_attrs.is_some() {
                prop_assert_eq!(fast::file_attrs(&attrs, &mut b), Some(()));
                prop_assert_eq!(scan_state(&a), scan_state(&b));
            }
            for msg in [&msg[..], br#"{"url":"u","size":1}"#] {
                parses_as_exact_and_reference(msg, &attrs, scratch_len)?;
            }
        }

        /// Random bytes, alone and after the usual openings: the same results as the exact
        /// parsers and the reference.
        #[test]
        fn straight_scans_on_random_bytes(
            msg_tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            attrs_tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            openings in 0u8..4,
            scratch_len in 0usize..160,
        ) {
            let mut msg = if openings & 1 != 0 { br#"{"url":""#.to_vec() } else { Vec::new() };
            msg.extend(msg_tail);
            let mut attrs = if openings & 2 != 0 {
                br#"{"rtm":{"type":""#.to_vec()
            } else {
                Vec::new()
            };
            attrs.extend(attrs_tail);
            for msg in [&msg[..], br#"{"url":"u","size":1}"#] {
                parses_as_exact_and_reference(msg, &attrs, scratch_len)?;
            }
        }
    }
}
