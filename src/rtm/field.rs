//! Typed reading of msgpack map fields, shared by the push and answer decoders.
//!
//! Keys may come in any order; unknown keys (and non-string keys) are skipped with their values;
//! `nil` counts as absent. A required key that is absent is [`MessageError::MissingKey`]; a key
//! whose value has the wrong type is [`MessageError::WrongType`]; an integer that does not fit
//! is [`MessageError::OutOfRange`]. Each names the key.

use crate::wire::msgpack::{
    Key, ReadError, key_word, read_bytes, read_i64, read_key, read_map_len, skip,
};

const NIL: u8 = 0xc0;

/// Why an RTM message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MessageError {
    /// The method is not one this engine knows (the peer gets error 20004).
    UnknownMethod,
    /// The payload is not a msgpack map.
    NotMap,
    /// The payload is not well-formed msgpack.
    Malformed(ReadError),
    /// A required key is absent (or nil).
    MissingKey(&'static str),
    /// A key's value has the wrong msgpack type.
    WrongType(&'static str),
    /// A key's integer value does not fit its field.
    OutOfRange(&'static str),
    /// The frame is larger than the receive buffer (up to 8 MiB): it was skipped unread.
    FrameTooLarge,
    /// WuKongIM: a RECV not delivered, and why. `message_id` is 0 when its fields could not
    /// be read.
    #[cfg(feature = "wukong")]
    WuKong {
        /// The RECV's message id (0 when unknown).
        message_id: i64,
        /// Why it was not delivered.
        reason: crate::wire::wukong::Reject,
    },
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            // With the marker byte, which the static text leaves out.
            Self::Malformed(e) => write!(f, "malformed payload: {e}"),
            #[cfg(feature = "wukong")]
            Self::WuKong { message_id, reason } => {
                write!(f, "RECV {message_id} not delivered: {reason}")
            }
            _ => self.text().iter().try_for_each(|part| f.write_str(part)),
        }
    }
}

impl core::error::Error for MessageError {}

impl MessageError {
    /// The error as text in three static parts to be concatenated, for error answers and
    /// logs that do without `core::fmt`: `["missing key '", "from", "'"]`. The same text as
    /// `Display`, except that an unexpected msgpack type does not name its marker byte.
    pub fn text(&self) -> [&'static str; 3] {
        match self {
            Self::UnknownMethod => ["unknown method", "", ""],
            Self::NotMap => ["payload is not a map", "", ""],
            Self::Malformed(e) => ["malformed payload: ", e.as_str(), ""],
            Self::MissingKey(k) => ["missing key '", k, "'"],
            Self::WrongType(k) => ["wrong type for key '", k, "'"],
            Self::OutOfRange(k) => ["value out of range for key '", k, "'"],
            Self::FrameTooLarge => ["frame larger than the receive buffer", "", ""],
            #[cfg(feature = "wukong")]
            Self::WuKong { reason, .. } => ["RECV not delivered: ", reason.as_str(), ""],
        }
    }

    /// The FPNN error code a C++ server would answer with for this problem
    /// (10009 key not found, 10010 type conversion, 20004 unknown method, 10003 invalid package,
    /// 10006 not a map), and 10002 (not supported) for a frame larger than the receive buffer.
    pub fn fpnn_code(&self) -> i64 {
        match self {
            Self::UnknownMethod => 20004,
            Self::MissingKey(_) => 10009,
            Self::WrongType(_) | Self::OutOfRange(_) => 10010,
            Self::NotMap => 10006,
            Self::Malformed(_) => 10003,
            Self::FrameTooLarge => 10002,
            // Never sent (WuKongIM has no error answers); the closest FPNN class.
            #[cfg(feature = "wukong")]
            Self::WuKong { .. } => 10003,
        }
    }
}

/// Calls `f(key, value)` for each string-keyed entry of the map in `payload`, where `value`
/// is the input from the entry's value on. `f` either reads the value and returns the input
/// after it, or returns `None` to have it skipped. An empty payload is the empty map.
///
/// One copy serves every decoder (`f` is called through `dyn`): these are the exact and
/// lenient paths, off the per-push fast path.
pub(crate) fn for_each<'a>(
    payload: &'a [u8],
    f: &mut dyn FnMut(Key<'a>, &'a [u8]) -> Result<Option<&'a [u8]>, MessageError>,
) -> Result<(), MessageError> {
    if payload.is_empty() {
        return Ok(());
    }
    let (n, mut rest) = read_map_len(payload).map_err(not_map)?;
    for _ in 0..n {
        rest = match read_key(rest) {
            Ok((k, value)) => {
                let used = if value.first() == Some(&NIL) {
                    None
                } else {
                    f(k, value)?
                };
                match used {
                    Some(after) => after,
                    None => skip(value).map_err(malformed)?,
                }
            }
            Err(ReadError::UnexpectedType(_)) => {
                // A non-string key: skip it, then its value.
                let value = skip(rest).map_err(malformed)?;
                skip(value).map_err(malformed)?
            }
            Err(e) => return Err(malformed(e)),
        };
    }
    Ok(())
}

/// The type a decoder wants for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Any integer family, as an `i64`.
    Int,
    /// An integer that must fit an `i8` (`mtype`).
    I8,
    /// A str or bin.
    Bytes,
}

/// A field a decoder wants: its key and type. The key is matched by length and
/// [`key_word`] (names of at most 8 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    name: &'static str,
    word: u64,
    kind: Kind,
}

impl Spec {
    /// The field `name` (at most 8 bytes) of type `kind`.
    pub(crate) const fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            word: key_word(name.as_bytes()),
            kind,
        }
    }
}

/// A value read for a [`Spec`]: absent (or nil), or of the spec's type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Val<'a> {
    /// Not in the map, or nil.
    #[default]
    Absent,
    /// An integer field.
    Int(i64),
    /// A string field.
    Bytes(&'a [u8]),
}

impl<'a> Val<'a> {
    /// The integer, if present.
    pub(crate) fn int(self) -> Option<i64> {
        match self {
            Val::Int(x) => Some(x),
            _ => None,
        }
    }

    /// The string, if present.
    pub(crate) fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Val::Bytes(x) => Some(x),
            _ => None,
        }
    }
}

/// Reads the map in `payload` (see [`for_each`]) into `out`: the value of the key of
/// `specs[i]` goes to `out[i]`, typed and narrowed as the spec says (errors name the key); the
/// last occurrence of a repeated key wins. One table-driven reader serves every exact decoder.
pub(crate) fn read_fields<'a>(
    payload: &'a [u8],
    specs: &[Spec],
    out: &mut [Val<'a>],
) -> Result<(), MessageError> {
    for_each(payload, &mut |k, v| {
        let Some((spec, slot)) = specs
            .iter()
            .zip(out.iter_mut())
            .find(|(s, _)| s.word == k.word && s.name.len() == k.bytes.len())
        else {
            return Ok(None);
        };
        let (val, rest) = match spec.kind {
            Kind::Int => int::<i64>(v, spec.name).map(|(x, r)| (Val::Int(x), r))?,
            Kind::I8 => int::<i8>(v, spec.name).map(|(x, r)| (Val::Int(x.into()), r))?,
            Kind::Bytes => bytes(v, spec.name).map(|(x, r)| (Val::Bytes(x), r))?,
        };
        *slot = val;
        Ok(Some(rest))
    })
}

#[cold]
fn not_map(e: ReadError) -> MessageError {
    match e {
        ReadError::UnexpectedType(_) | ReadError::ReservedMarker => MessageError::NotMap,
        e => MessageError::Malformed(e),
    }
}

#[cold]
fn malformed(e: ReadError) -> MessageError {
    MessageError::Malformed(e)
}

#[cold]
fn typed(key: &'static str, e: ReadError) -> MessageError {
    match e {
        ReadError::UnexpectedType(_) | ReadError::ReservedMarker => MessageError::WrongType(key),
        ReadError::IntOutOfRange => MessageError::OutOfRange(key),
        other => MessageError::Malformed(other),
    }
}

#[cold]
fn out_of_range(key: &'static str) -> MessageError {
    MessageError::OutOfRange(key)
}

/// Reads an integer field narrowed to the signed type `T` (any integer family on the wire);
/// returns it and the input after it.
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn int<'a, T: TryFrom<i64>>(
    value: &'a [u8],
    key: &'static str,
) -> Result<(T, &'a [u8]), MessageError> {
    match read_i64(value) {
        Ok((v, rest)) => match T::try_from(v) {
            Ok(v) => Ok((v, rest)),
            Err(_) => Err(out_of_range(key)),
        },
        Err(e) => Err(typed(key, e)),
    }
}

/// Reads a string (or bin) field; returns it and the input after it.
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn bytes<'a>(
    value: &'a [u8],
    key: &'static str,
) -> Result<(&'a [u8], &'a [u8]), MessageError> {
    read_bytes(value).map_err(|e| typed(key, e))
}

/// Unwraps a required field.
#[cfg_attr(not(rtm_opt_size), inline(always))]
pub(crate) fn required<T>(v: Option<T>, key: &'static str) -> Result<T, MessageError> {
    match v {
        Some(v) => Ok(v),
        None => Err(missing(key)),
    }
}

#[cold]
fn missing(key: &'static str) -> MessageError {
    MessageError::MissingKey(key)
}
