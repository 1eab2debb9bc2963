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
    #[inline]
    pub fn of(mtype: i8) -> Self {
        // Speed builds look the category up in a table by mtype (one load).
        #[cfg(not(rtm_opt_size))]
        {
            const TABLE: [Category; 256] = {
                let mut t = [Category::Message; 256];
                let mut i = 0;
                while i < 256 {
                    t[i] = Category::by_match(i as u8 as i8);
                    i += 1;
                }
                t
            };
            TABLE[usize::from(mtype as u8)]
        }
        #[cfg(rtm_opt_size)]
        Self::by_match(mtype)
    }

    /// [`Category::of`] as a `match` (the size builds' code and the table's source).
    const fn by_match(mtype: i8) -> Self {
        match mtype {
            30 => Self::Chat,
            31 => Self::Audio,
            32 => Self::Cmd,
            40..=50 => Self::File,
            _ => Self::Message,
        }
    }
}

/// Declares [`Callback`] and [`Callback::ALL`] from one list, so the two cannot drift.
macro_rules! callbacks {
    ($($name:ident),* $(,)?) => {
        /// One callback of the monitor, named after the official C++ virtuals (plus the
        /// client-protocol pushes, which have no official server-side virtual).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[allow(missing_docs)]
        pub enum Callback {
            $($name,)*
        }

        impl Callback {
            /// Every callback, in declaration order: `Callback::ALL[c as usize] == c`, so a
            /// table indexed by `c as usize` covers them all.
            pub const ALL: [Callback; [$(Callback::$name),*].len()] = [$(Callback::$name),*];
        }
    };
}

callbacks! {
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
    #[inline]
    pub fn for_message(target: Target, category: Category) -> Self {
        use Callback::*;
        // Rows by target, columns in the order of `Category`'s variants.
        const TABLE: [[Callback; 5]; 4] = [
            [
                PushP2PMessage,
                PushP2PChat,
                PushP2PAudio,
                PushP2PCmd,
                PushP2PFile,
            ],
            [
                PushGroupMessage,
                PushGroupChat,
                PushGroupAudio,
                PushGroupCmd,
                PushGroupFile,
            ],
            [
                PushRoomMessage,
                PushRoomChat,
                PushRoomAudio,
                PushRoomCmd,
                PushRoomFile,
            ],
            [
                PushBroadcastMessage,
                PushBroadcastChat,
                PushBroadcastAudio,
                PushBroadcastCmd,
                PushBroadcastFile,
            ],
        ];
        // Both enums are fieldless with default discriminants, in the table's order.
        TABLE[target as usize][category as usize]
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
    fn callback_table_matches_target_and_category() {
        use Category as C;
        use Target as T;
        for t in [T::P2P, T::Group, T::Room, T::Broadcast] {
            for c in [C::Message, C::Chat, C::Audio, C::Cmd, C::File] {
                let want = format!(
                    "push{}{}",
                    match t {
                        T::P2P => "P2P",
                        T::Group => "Group",
                        T::Room => "Room",
                        T::Broadcast => "Broadcast",
                    },
                    match c {
                        C::Message => "Message",
                        C::Chat => "Chat",
                        C::Audio => "Audio",
                        C::Cmd => "Cmd",
                        C::File => "File",
                    }
                );
                assert_eq!(Callback::for_message(t, c).name(), want);
            }
        }
    }

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
