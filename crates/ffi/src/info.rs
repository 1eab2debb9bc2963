//! A message's JSON info in C form: parsed before the callback, or when it asks for it
//! (`rtm_message_info`, with `rtm_config.lazy_info`).

use engine::rtm::dispatch::Category;
use engine::rtm::info::{parse_file_info, parse_translated};
use engine::wire::json::{JsonError, Scratch};

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

/// Whether messages of `category` can carry info (chats and file messages).
pub(crate) fn may_carry_info(category: Category) -> bool {
    matches!(category, Category::Chat | Category::File)
}

/// What a message's info is parsed from, kept for the duration of its callback:
/// `rtm_message_info` parses it once and keeps the result.
pub(crate) struct Lazy<'a> {
    category: Category,
    msg: &'a [u8],
    attrs: &'a [u8],
    scratch: &'a mut [u8],
    parsed: Option<Info>,
}

impl<'a> Lazy<'a> {
    pub(crate) fn new(
        category: Category,
        msg: &'a [u8],
        attrs: &'a [u8],
        scratch: &'a mut [u8],
    ) -> Self {
        Self {
            category,
            msg,
            attrs,
            scratch,
            parsed: None,
        }
    }

    /// Parses a message's info into `scratch` (as large as RX: unescaping never lengthens a
    /// string, so every frame that fits RX has room for its info).
    #[inline(always)]
    pub(crate) fn parse(&mut self) -> Info {
        let (msg, attrs) = (self.msg, self.attrs);
        let mut scratch = Scratch::new(self.scratch);
        match self.category {
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

    /// The info, parsed on the first call.
    fn get(&mut self) -> &Info {
        if self.parsed.is_none() {
            self.parsed = Some(self.parse());
        }
        self.parsed.as_ref().unwrap_or(&Info::Status(RTM_INFO_NONE))
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
            // SAFETY: `lazy` points to the `Lazy` of this callback's frame, alive until it
            // returns; the callback's thread is the only one using it (the caller's contract),
            // and no other reference to it exists while the callback runs.
            let lazy = unsafe { &mut *m.lazy.cast::<Lazy<'_>>() };
            let info = lazy.get();
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
