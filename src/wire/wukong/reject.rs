//! Why a listener does not deliver a RECV: every reason has its own variant, and the host is
//! told each time (the RECV is reported, never silently dropped).

use super::read::ReadError;

/// Why a RECV was not delivered to the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Reject {
    /// Its fields could not be read (its ids are unknown, so it cannot be acknowledged).
    Malformed(ReadError),
    /// Its `msg_key` does not match its fields and payload: not what the server sent, or
    /// not for this connection's key.
    MsgKeyMismatch,
    /// The encrypted payload is not base64.
    BadBase64,
    /// The encrypted payload is not a whole number of AES blocks.
    BadLength,
    /// The decrypted payload's PKCS#7 padding is wrong.
    BadPadding,
    /// The channel type is neither person, group nor one the host configured as a room, and
    /// the listener is configured to refuse such channels.
    ChannelType(u8),
    /// The packet is larger than the receive buffer: it was skipped as it streamed in (its
    /// ids come from the part that fit, when they did).
    TooLarge,
}

impl Reject {
    /// A short fixed description.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.as_str(),
            Self::MsgKeyMismatch => "WuKongIM msgKey mismatch",
            Self::BadBase64 => "WuKongIM payload is not base64",
            Self::BadLength => "WuKongIM payload is not whole AES blocks",
            Self::BadPadding => "WuKongIM payload padding is wrong",
            Self::ChannelType(_) => "WuKongIM channel type not listened to",
            Self::TooLarge => "WuKongIM packet larger than the receive buffer",
        }
    }
}

impl core::fmt::Display for Reject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed RECV: {e}"),
            Self::ChannelType(t) => write!(f, "WuKongIM channel type {t} not listened to"),
            _ => f.write_str(self.as_str()),
        }
    }
}
