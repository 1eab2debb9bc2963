//! What a RECV is, in the monitor's terms (`protocol/wukongim.md` §c, "Callback mapping"):
//! its channel type gives the target (person → P2P, group → group, the types the host calls
//! rooms → room), its payload's JSON `type` the category (1 chat, 99 cmd, 2 image, 3 gif,
//! 4 voice, 5 video and 8 file → file, anything else, non-JSON payloads included → message),
//! and its string ids an integer when they are decimal numbers (many deployments use numeric
//! uids; RTM's ids are integers).

use crate::rtm::dispatch::Category;
use crate::rtm::push::Target;
use crate::wire::json::{JsonError, for_each_member};

/// Channel type 1: a person (P2P).
pub const CHANNEL_PERSON: u8 = 1;
/// Channel type 2: a group.
pub const CHANNEL_GROUP: u8 = 2;
/// Channel type 9: a live room, the default room type.
pub const CHANNEL_LIVE: u8 = 9;

/// The channel types a deployment uses as rooms, a bit per type (default: 9, live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomTypes([u64; 4]);

impl RoomTypes {
    /// No room types.
    pub const NONE: Self = Self([0; 4]);

    /// These channel types (person and group are never rooms and are ignored).
    pub const fn of(types: &[u8]) -> Self {
        let mut bits = [0u64; 4];
        let mut i = 0;
        while i < types.len() {
            let t = types[i];
            if t != CHANNEL_PERSON && t != CHANNEL_GROUP {
                bits[(t / 64) as usize] |= 1 << (t % 64);
            }
            i += 1;
        }
        Self(bits)
    }

    /// Whether channel type `t` is a room.
    pub fn contains(&self, t: u8) -> bool {
        self.0[usize::from(t / 64)] >> (t % 64) & 1 != 0
    }
}

impl Default for RoomTypes {
    /// Live rooms (9).
    fn default() -> Self {
        Self::of(&[CHANNEL_LIVE])
    }
}

/// The monitor's target for channel type `channel_type`, or `None` for a type that is neither
/// person, group nor a room (the host decides whether to report it).
pub fn target(channel_type: u8, rooms: &RoomTypes) -> Option<Target> {
    match channel_type {
        CHANNEL_PERSON => Some(Target::P2P),
        CHANNEL_GROUP => Some(Target::Group),
        t if rooms.contains(t) => Some(Target::Room),
        _ => None,
    }
}

/// The integer `type` of a JSON object payload (the payload convention's content type), or
/// `None`: not a JSON object, no `type`, or a `type` that is not an integer.
pub fn content_type(payload: &[u8]) -> Option<i64> {
    let mut found = None;
    let scan = for_each_member(payload, |key, value| {
        if key.raw() == b"type" {
            found = value.as_i64();
            // The first `type` decides; the rest need not be read.
            return Err(JsonError::NotObject);
        }
        Ok(())
    });
    match scan {
        Ok(()) => None,
        Err(_) => found,
    }
}

/// The category of content type `t` (`None`: not the convention's JSON).
pub fn category(t: Option<i64>) -> Category {
    match t {
        Some(1) => Category::Chat,
        Some(99) => Category::Cmd,
        Some(2 | 3 | 4 | 5 | 8) => Category::File,
        _ => Category::Message,
    }
}

/// `id` as an integer when it is a decimal number as a uid would be written: `0`, or digits
/// without a leading zero, optionally after `-`, within `i64`; otherwise `None` (the id stays
/// a string only).
pub fn numeric_id(id: &[u8]) -> Option<i64> {
    let (neg, digits) = match id {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, id),
    };
    match digits {
        [] => return None,
        [b'0'] if !neg => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        // Accumulated negatively, so that i64::MIN fits.
        v = v.checked_mul(10)?.checked_sub(i64::from(d))?;
    }
    if neg { Some(v) } else { v.checked_neg() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_channel_type() {
        let rooms = RoomTypes::default();
        assert_eq!(target(1, &rooms), Some(Target::P2P));
        assert_eq!(target(2, &rooms), Some(Target::Group));
        assert_eq!(target(9, &rooms), Some(Target::Room));
        assert_eq!(target(8, &rooms), None);
        let rooms = RoomTypes::of(&[6, 8, 9, 200, 1]);
        assert_eq!(target(8, &rooms), Some(Target::Room));
        assert_eq!(target(200, &rooms), Some(Target::Room));
        assert_eq!(
            target(1, &rooms),
            Some(Target::P2P),
            "person is never a room"
        );
        assert_eq!(target(7, &rooms), None);
        assert_eq!(target(9, &RoomTypes::NONE), None);
    }

    #[test]
    fn categories_from_the_payload_convention() {
        let cases: [(&[u8], Option<i64>, Category); 10] = [
            (br#"{"type":1,"content":"hi"}"#, Some(1), Category::Chat),
            (
                br#"{"content":"hi","type":99,"cmd":"x"}"#,
                Some(99),
                Category::Cmd,
            ),
            (br#"{"type":4,"url":"u"}"#, Some(4), Category::File),
            (br#"{"type":8}"#, Some(8), Category::File),
            (br#"{"type":1001}"#, Some(1001), Category::Message),
            (br#"{"type":"1"}"#, None, Category::Message),
            (br#"{"type":1.5}"#, None, Category::Message),
            (b"plain text", None, Category::Message),
            (br#"[1,2]"#, None, Category::Message),
            (br#"{"content":"no type"}"#, None, Category::Message),
        ];
        for (payload, t, c) in cases {
            assert_eq!(
                content_type(payload),
                t,
                "{}",
                String::from_utf8_lossy(payload)
            );
            assert_eq!(category(content_type(payload)), c);
        }
    }

    #[test]
    fn numeric_ids_are_canonical_decimals() {
        assert_eq!(numeric_id(b"0"), Some(0));
        assert_eq!(numeric_id(b"10086"), Some(10086));
        assert_eq!(numeric_id(b"-7"), Some(-7));
        assert_eq!(numeric_id(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(numeric_id(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"007",
            b"9223372036854775808",
            b"12a",
            b"alice",
            b" 1",
            b"+1",
        ] {
            assert_eq!(numeric_id(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
