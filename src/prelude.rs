//! The names a host needs to listen, in one import: `use rtm_listen::prelude::*;`.
//!
//! The listener and its configuration, the listen ids, the events and the monitor trait, plus
//! the drivers and the WuKongIM listener when their features are on. Everything here is also
//! reachable at its own path (`session`, `rtm::listen`, `monitor`, `driver`).

pub use crate::monitor::{Monitor, dispatch};
pub use crate::rtm::listen::{Credentials, ListenFlags, ListenIds};
pub use crate::session::{
    CloseReason, Completion, Config, ConfigError, Event, FixedListener, Listener, MessageEvent,
    RequestId, Stats, code,
};

#[cfg(feature = "std")]
pub use crate::driver::tcp::TcpDriver;

#[cfg(feature = "tokio")]
pub use crate::driver::tokio::TokioDriver;

#[cfg(feature = "fpnn-encryption")]
pub use crate::session::{Encryption, EncryptionMode};

#[cfg(feature = "wukong")]
pub use crate::session::wukong::{WkConfig, WkCredentials, WkListener};
