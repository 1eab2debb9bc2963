//! Classification of pushes into the callbacks of the official C++ `RTMServerPushMonitor`.
//!
//! The RTM `mtype` decides the category (reference §7.2): 30 chat, 31 audio, 32 command,
//! 40..=50 file, anything else a generic message. Unlike the C++ SDK:
//!
//! - chat always goes to the `*Chat` callback, for P2P, group and room alike, whether or not
//!   the text is translation JSON (the C++ SDK sends plain group/room chat to `*Message`);
//! - audio (31) gets its own `*Audio` callback, which the C++ SDK declares but never calls.

use super::push::Target;

/// What an RTM message is, by its `mtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Category {
    /// Any mtype without a dedicated callback.
    Message,
    /// mtype 30: text chat (possibly translation JSON).
    Chat,
    /// mtype 31: audio chat.
    Audio,
    /// mtype 32: command.
    Cmd,
    /// mtype 40..=50: file (40 image, 41 audio file, 42 video, 50 generic file).
    File,
}

impl Category {
    /// Classifies an RTM `mtype`.
    pub fn of(mtype: i8) -> Self {
        match mtype {
            30 => Self::Chat,
            31 => Self::Audio,
            32 => Self::Cmd,
            40..=50 => Self::File,
            _ => Self::Message,
        }
    }
}

/// One callback of the monitor, named after the official C++ virtuals (plus the client-protocol
/// pushes, which have no official server-side virtual).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)]
pub enum Callback {
    PushP2PMessage,
    PushP2PFile,
    PushP2PChat,
    PushP2PAudio,
    PushP2PCmd,
    PushGroupMessage,
    PushGroupFile,
    PushGroupChat,
    PushGroupAudio,
    PushGroupCmd,
    PushRoomMessage,
    PushRoomFile,
    PushRoomChat,
    PushRoomAudio,
    PushRoomCmd,
    PushBroadcastMessage,
    PushBroadcastFile,
    PushBroadcastChat,
    PushBroadcastAudio,
    PushBroadcastCmd,
    PushEvent,
    Ping,
    Kickout,
    KickoutRoom,
}

impl Callback {
    /// The callback for a message push.
    pub fn for_message(target: Target, category: Category) -> Self {
        use Callback::*;
        use Category as C;
        use Target as T;
        match (target, category) {
            (T::P2P, C::Message) => PushP2PMessage,
            (T::P2P, C::File) => PushP2PFile,
            (T::P2P, C::Chat) => PushP2PChat,
            (T::P2P, C::Audio) => PushP2PAudio,
            (T::P2P, C::Cmd) => PushP2PCmd,
            (T::Group, C::Message) => PushGroupMessage,
            (T::Group, C::File) => PushGroupFile,
            (T::Group, C::Chat) => PushGroupChat,
            (T::Group, C::Audio) => PushGroupAudio,
            (T::Group, C::Cmd) => PushGroupCmd,
            (T::Room, C::Message) => PushRoomMessage,
            (T::Room, C::File) => PushRoomFile,
            (T::Room, C::Chat) => PushRoomChat,
            (T::Room, C::Audio) => PushRoomAudio,
            (T::Room, C::Cmd) => PushRoomCmd,
            (T::Broadcast, C::Message) => PushBroadcastMessage,
            (T::Broadcast, C::File) => PushBroadcastFile,
            (T::Broadcast, C::Chat) => PushBroadcastChat,
            (T::Broadcast, C::Audio) => PushBroadcastAudio,
            (T::Broadcast, C::Cmd) => PushBroadcastCmd,
        }
    }

    /// The official C++ virtual's name (`pushP2PChat`, …); client-protocol pushes get
    /// names in the same style.
    pub fn name(self) -> &'static str {
        use Callback::*;
        match self {
            PushP2PMessage => "pushP2PMessage",
            PushP2PFile => "pushP2PFile",
            PushP2PChat => "pushP2PChat",
            PushP2PAudio => "pushP2PAudio",
            PushP2PCmd => "pushP2PCmd",
            PushGroupMessage => "pushGroupMessage",
            PushGroupFile => "pushGroupFile",
            PushGroupChat => "pushGroupChat",
            PushGroupAudio => "pushGroupAudio",
            PushGroupCmd => "pushGroupCmd",
            PushRoomMessage => "pushRoomMessage",
            PushRoomFile => "pushRoomFile",
            PushRoomChat => "pushRoomChat",
            PushRoomAudio => "pushRoomAudio",
            PushRoomCmd => "pushRoomCmd",
            PushBroadcastMessage => "pushBroadcastMessage",
            PushBroadcastFile => "pushBroadcastFile",
            PushBroadcastChat => "pushBroadcastChat",
            PushBroadcastAudio => "pushBroadcastAudio",
            PushBroadcastCmd => "pushBroadcastCmd",
            PushEvent => "pushEvent",
            Ping => "ping",
            Kickout => "kickout",
            KickoutRoom => "kickoutRoom",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtype_ranges() {
        assert_eq!(Category::of(30), Category::Chat);
        assert_eq!(Category::of(31), Category::Audio);
        assert_eq!(Category::of(32), Category::Cmd);
        assert_eq!(Category::of(39), Category::Message);
        assert_eq!(Category::of(40), Category::File);
        assert_eq!(Category::of(50), Category::File);
        assert_eq!(Category::of(51), Category::Message);
        assert_eq!(Category::of(-1), Category::Message);
    }
}
