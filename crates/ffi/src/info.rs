//! A message's JSON info in C form: parsed before the callback, or when it asks for it
//! (`rtm_message_info`, with `rtm_config.lazy_info`).

use engine::rtm::dispatch::Category;
use engine::rtm::info::{parse_file_info, parse_translated};
use engine::wire::json::{JsonError, Scratch};

use crate::handle::RawBuf;
use crate::types::*;

/// The info status of a JSON error. For a chat, text that is not translation JSON (plain
/// text: refused at its first non-blank byte; or JSON without the keys) is no info at all.
fn info_error(msg: &[u8], chat: bool, e: JsonError) -> rtm_info_status {
    match e {
        JsonError::NotObject if chat => RTM_INFO_NONE,
        JsonError::Syntax(at)
            if chat
                && msg[..at.min(msg.len())]
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) =>
        {
            RTM_INFO_NONE
        }
        JsonError::Syntax(_) => RTM_INFO_SYNTAX,
        JsonError::NotObject => RTM_INFO_NOT_OBJECT,
        JsonError::DepthExceeded => RTM_INFO_TOO_DEEP,
        JsonError::ScratchFull => RTM_INFO_SCRATCH_FULL,
        _ => RTM_INFO_SYNTAX,
    }
}

/// A message's info as the C view shows it.
pub(crate) enum Info {
    /// None, with why (`RTM_INFO_NONE`, an error, or `RTM_INFO_LAZY`).
    Status(rtm_info_status),
    /// A chat's translation.
    Translated(rtm_translated_info),
    /// A file message's description.
    File(rtm_file_info),
}

impl Info {
    #[inline]
    pub(crate) fn status(&self) -> rtm_info_status {
        match self {
            Self::Status(s) => *s,
            _ => RTM_INFO_OK,
        }
    }

    #[inline]
    pub(crate) fn translated_ptr(&self) -> *const rtm_translated_info {
        match self {
            Self::Translated(t) => t,
            _ => core::ptr::null(),
        }
    }

    #[inline]
    pub(crate) fn file_ptr(&self) -> *const rtm_file_info {
        match self {
            Self::File(f) => f,
            _ => core::ptr::null(),
        }
    }
}

/// The bytes a translation's JSON text may start with: blanks (skipped before the value) and
/// the bytes that start a JSON value (`parse_translated` goes into the JSON only for those).
const MAY_START_JSON: [bool; 256] = {
    let mut t = [false; 256];
    let starts = b" \t\n\r{\"tfn[-0123456789";
    let mut i = 0;
    while i < starts.len() {
        t[starts[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether a chat's text is certainly not translation JSON, by its first byte: empty, or a
/// first byte that is neither blank nor the start of a JSON value. `parse_translated` refuses
/// such a text at that byte, and its info is `RTM_INFO_NONE` (checked against the parse by a
/// property test), so the eager path skips the call.
#[inline(always)]
pub(crate) fn plain_chat(msg: &[u8]) -> bool {
    match msg.first() {
        None => true,
        Some(&b) => !MAY_START_JSON[usize::from(b)],
    }
}

/// What becomes of a message's info, by category ([`info_modes`]): nothing (not a chat or
/// file message), parsed when the callback asks (`lazy_info`), parsed before the callback, or
/// (chats) parsed before it unless the text is plain ([`plain_chat`]).
pub(crate) const INFO_NONE: u8 = 0;
/// Parsed when the callback asks.
pub(crate) const INFO_LAZY: u8 = 1;
/// Parsed before the callback.
pub(crate) const INFO_EAGER: u8 = 2;
/// Parsed before the callback unless the text is plain (chats).
pub(crate) const INFO_EAGER_TEXT: u8 = 3;

/// One entry per [`Category`] (by `Category as usize`).
pub(crate) const CATEGORIES: usize = Category::File as usize + 1;

/// The info mode of each category, for `rtm_config.lazy_info`: chats and file messages carry
/// info, parsed on request (lazy) or before the callback; each message then needs one load.
pub(crate) fn info_modes(lazy_info: bool) -> [u8; CATEGORIES] {
    let mut modes = [INFO_NONE; CATEGORIES];
    for (i, m) in modes.iter_mut().enumerate() {
        *m = match i {
            i if i == Category::Chat as usize && lazy_info => INFO_LAZY,
            i if i == Category::Chat as usize => INFO_EAGER_TEXT,
            i if i == Category::File as usize && lazy_info => INFO_LAZY,
            i if i == Category::File as usize => INFO_EAGER,
            _ => INFO_NONE,
        };
    }
    modes
}

/// The info mode of `category` (from [`info_modes`]).
#[inline(always)]
pub(crate) fn info_mode(modes: &[u8; CATEGORIES], category: Category) -> u8 {
    modes.get(category as usize).copied().unwrap_or(INFO_NONE)
}

/// Parses a message's info into `scratch` (as large as RX: unescaping never lengthens a
/// string, so every frame that fits RX has room for its info).
#[inline(always)]
pub(crate) fn parse<'a>(
    category: Category,
    msg: &'a [u8],
    attrs: &'a [u8],
    scratch: &'a mut [u8],
) -> Info {
    let mut scratch = Scratch::new(scratch);
    match category {
        Category::Chat => match parse_translated(msg, &mut scratch) {
            Ok(t) => Info::Translated(rtm_translated_info {
                source_language: rtm_str::from(t.source_language),
                target_language: rtm_str::from(t.target_language),
                source_text: rtm_str::from(t.source_text),
                target_text: rtm_str::from(t.target_text),
            }),
            Err(e) => Info::Status(info_error(msg, true, e)),
        },
        Category::File => match parse_file_info(msg, attrs, &mut scratch) {
            Ok(f) => Info::File(rtm_file_info {
                url: rtm_str::from(f.url),
                size: f.size,
                surl: rtm_str::from(f.surl),
                is_rtm_audio: f.is_rtm_audio,
                language: rtm_str::from(f.language),
                duration: f.duration,
                has_custom: f.custom.is_some(),
                custom: rtm_str::from(f.custom.unwrap_or(&[])),
            }),
            Err(e) => Info::Status(info_error(msg, false, e)),
        },
        _ => Info::Status(RTM_INFO_NONE),
    }
}

/// The listener's JSON scratch, and the info of the message whose callback is running when it
/// is parsed on request (`lazy_info`): the view's `lazy` points here during that callback,
/// and `rtm_message_info` parses the view's own `message` and `attrs` once. Armed per message
/// with one store (its category): no copy of the message, no zeroing.
pub(crate) struct InfoSlot {
    /// As large as RX.
    scratch: RawBuf,
    /// The category of the message being delivered, until its info is parsed.
    armed: Option<Category>,
    /// The info parsed for the message last armed.
    parsed: Info,
}

impl InfoSlot {
    pub(crate) fn new(scratch: RawBuf) -> Self {
        Self {
            scratch,
            armed: None,
            parsed: Info::Status(RTM_INFO_NONE),
        }
    }

    /// The info of a message of `category`, parsed now (the eager default).
    #[inline(always)]
    pub(crate) fn parse(&mut self, category: Category, msg: &[u8], attrs: &[u8]) -> Info {
        parse(category, msg, attrs, self.scratch.as_mut())
    }

    /// Prepares the slot for the callback of a message of `category` whose info is parsed on
    /// request.
    #[inline(always)]
    pub(crate) fn arm(&mut self, category: Category) {
        self.armed = Some(category);
    }

    /// The info of the armed message (`msg` and `attrs`: its view's), parsed on the first call.
    fn get(&mut self, msg: &[u8], attrs: &[u8]) -> &Info {
        if let Some(category) = self.armed.take() {
            self.parsed = parse(category, msg, attrs, self.scratch.as_mut());
        }
        &self.parsed
    }
}

/// A message's JSON info, for its callback: the translation of a chat or the description of
/// a file message. With `rtm_config.lazy_info` it is parsed on the first call (later calls
/// return the same); otherwise it returns what the view already holds. Writes the info's
/// pointers to `translated` and `file` when those are not NULL (NULL when there is none), and
/// returns its status (`RTM_INFO_OK` when one is set, else why not; never `RTM_INFO_LAZY`).
/// The info is valid until the callback returns. NULL `m`: `RTM_INFO_NONE` and no info.
///
/// # Safety
/// `m` must be NULL or the view passed to the running message callback, on that callback's
/// thread; `translated` and `file` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtm_message_info(
    m: *const rtm_message,
    translated: *mut *const rtm_translated_info,
    file: *mut *const rtm_file_info,
) -> rtm_info_status {
    // SAFETY: the caller passes NULL or the live view.
    let (status, t, f) = match unsafe { m.as_ref() } {
        None => (RTM_INFO_NONE, core::ptr::null(), core::ptr::null()),
        Some(m) if m.lazy.is_null() => (m.info_status, m.translated_info, m.file_info),
        Some(m) => {
            // SAFETY: `lazy` points to the listener's `InfoSlot`, armed for this view's message
            // while its callback runs (the caller's contract); the callback's thread is the
            // only one using it, and the delivery that made the view does not touch the slot
            // until the callback returns. The view's strings are valid for their lengths
            // during the callback (the bytes of the frame being delivered).
            let (slot, msg, attrs) = unsafe {
                (
                    &mut *m.lazy.cast::<InfoSlot>(),
                    core::slice::from_raw_parts(m.message.ptr, m.message.len),
                    core::slice::from_raw_parts(m.attrs.ptr, m.attrs.len),
                )
            };
            let info = slot.get(msg, attrs);
            (info.status(), info.translated_ptr(), info.file_ptr())
        }
    };
    // SAFETY: the caller guarantees these are NULL or writable.
    unsafe {
        if let Some(out) = translated.as_mut() {
            *out = t;
        }
        if let Some(out) = file.as_mut() {
            *out = f;
        }
    }
    status
}
