//! Typed reading of msgpack map fields, shared by the push and answer decoders.
//!
//! Keys may come in any order; unknown keys (and non-string keys) are skipped with their values;
//! `nil` counts as absent. A required key that is absent is [`MessageError::MissingKey`]; a key
//! whose value has the wrong type is [`MessageError::WrongType`]; an integer that does not fit
//! is [`MessageError::OutOfRange`]. Each names the key.

use crate::wire::msgpack::{ReadError, Reader};

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
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownMethod => f.write_str("unknown method"),
            Self::NotMap => f.write_str("payload is not a map"),
            Self::Malformed(e) => write!(f, "malformed payload: {e}"),
            Self::MissingKey(k) => write!(f, "missing key '{k}'"),
            Self::WrongType(k) => write!(f, "wrong type for key '{k}'"),
            Self::OutOfRange(k) => write!(f, "value out of range for key '{k}'"),
        }
    }
}

impl core::error::Error for MessageError {}

impl MessageError {
    /// The FPNN error code a C++ server would answer with for this problem
    /// (10009 key not found, 10010 type conversion, 20004 unknown method, 10003 invalid package).
    pub fn fpnn_code(&self) -> i64 {
        match self {
            Self::UnknownMethod => 20004,
            Self::MissingKey(_) => 10009,
            Self::WrongType(_) | Self::OutOfRange(_) => 10010,
            Self::NotMap => 10006,
            Self::Malformed(_) => 10003,
        }
    }
}

/// Calls `f(key, reader)` for each string-keyed entry of the map in `payload`. `f` must either
/// read the value and return `true`, or leave it and return `false` (it is then skipped).
/// An empty payload is the empty map.
pub(crate) fn for_each<'a>(
    payload: &'a [u8],
    mut f: impl FnMut(&'a [u8], &mut Reader<'a>) -> Result<bool, MessageError>,
) -> Result<(), MessageError> {
    if payload.is_empty() {
        return Ok(());
    }
    let mut r = Reader::new(payload);
    let n = match r.read_map_len() {
        Ok(n) => n,
        Err(ReadError::UnexpectedType(_) | ReadError::ReservedMarker) => {
            return Err(MessageError::NotMap);
        }
        Err(e) => return Err(MessageError::Malformed(e)),
    };
    for _ in 0..n {
        let key = match r.read_bytes() {
            Ok(k) => Some(k),
            Err(ReadError::UnexpectedType(_)) => {
                r.skip().map_err(MessageError::Malformed)?;
                None
            }
            Err(e) => return Err(MessageError::Malformed(e)),
        };
        let used = match key {
            Some(k) if !r.is_nil() => f(k, &mut r)?,
            _ => false,
        };
        if !used {
            r.skip().map_err(MessageError::Malformed)?;
        }
    }
    Ok(())
}

fn typed(key: &'static str) -> impl Fn(ReadError) -> MessageError {
    move |e| match e {
        ReadError::UnexpectedType(_) | ReadError::ReservedMarker => MessageError::WrongType(key),
        ReadError::IntOutOfRange => MessageError::OutOfRange(key),
        other => MessageError::Malformed(other),
    }
}

/// Reads an integer field narrowed to `T`.
pub(crate) fn int<T: TryFrom<i64> + TryFrom<u64>>(
    r: &mut Reader<'_>,
    key: &'static str,
) -> Result<T, MessageError> {
    r.read_narrow().map_err(typed(key))
}

/// Reads a string (or bin) field.
pub(crate) fn bytes<'a>(r: &mut Reader<'a>, key: &'static str) -> Result<&'a [u8], MessageError> {
    r.read_bytes().map_err(typed(key))
}

/// Unwraps a required field.
pub(crate) fn required<T>(v: Option<T>, key: &'static str) -> Result<T, MessageError> {
    v.ok_or(MessageError::MissingKey(key))
}
