//! The driving contract as a trait, for drivers that run either protocol's listener: the RTM
//! [`Listener`](super::Listener) and, with feature `wukong`, the WuKongIM
//! [`WkListener`](super::wukong::WkListener). Each method is the listener's own method of the
//! same name (see the [session docs](super)).

use super::{CloseReason, Event};

/// A sans-IO listener a driver can run.
pub trait Engine {
    /// The Unix time in ms at monotonic time `now`.
    fn set_unix_time(&mut self, now: u64, unix_ms: i64);
    /// The transport came up.
    fn connected(&mut self, now: u64);
    /// A connection attempt failed.
    fn connect_failed(&mut self, now: u64, reason: CloseReason);
    /// The transport closed.
    fn closed(&mut self, now: u64, reason: CloseReason);
    /// When to try again while disconnected.
    fn reconnect_at(&self) -> Option<u64>;
    /// The free part of the receive buffer.
    fn input_window(&mut self) -> &mut [u8];
    /// `n` bytes of the input window were received.
    fn commit_input(&mut self, now: u64, n: usize);
    /// Hands every ready event to `on`.
    fn poll_events<F: FnMut(Event<'_>)>(&mut self, on: F);
    /// Bytes waiting to be sent.
    fn transmit(&mut self) -> &[u8];
    /// The transport took `n` bytes of [`Engine::transmit`].
    fn consume_transmit(&mut self, n: usize);
    /// The next deadline.
    fn poll_timeout(&self) -> Option<u64>;
    /// Acts on the deadlines that passed.
    fn handle_timeout(&mut self, now: u64);
}

/// Implements [`Engine`] by the type's inherent methods of the same names.
macro_rules! engine_by_inherent_methods {
    ($(impl[$($g:tt)*] for $t:ty;)*) => {$(
        impl<$($g)*> $crate::session::Engine for $t {
            fn set_unix_time(&mut self, now: u64, unix_ms: i64) {
                <$t>::set_unix_time(self, now, unix_ms)
            }
            fn connected(&mut self, now: u64) {
                <$t>::connected(self, now)
            }
            fn connect_failed(&mut self, now: u64, reason: CloseReason) {
                <$t>::connect_failed(self, now, reason)
            }
            fn closed(&mut self, now: u64, reason: CloseReason) {
                <$t>::closed(self, now, reason)
            }
            fn reconnect_at(&self) -> Option<u64> {
                <$t>::reconnect_at(self)
            }
            fn input_window(&mut self) -> &mut [u8] {
                <$t>::input_window(self)
            }
            fn commit_input(&mut self, now: u64, n: usize) {
                <$t>::commit_input(self, now, n)
            }
            fn poll_events<F: FnMut(Event<'_>)>(&mut self, on: F) {
                <$t>::poll_events(self, on)
            }
            fn transmit(&mut self) -> &[u8] {
                <$t>::transmit(self)
            }
            fn consume_transmit(&mut self, n: usize) {
                <$t>::consume_transmit(self, n)
            }
            fn poll_timeout(&self) -> Option<u64> {
                <$t>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: u64) {
                <$t>::handle_timeout(self, now)
            }
        }
    )*};
}

engine_by_inherent_methods! {
    impl[R: AsRef<[u8]> + AsMut<[u8]>, T: AsRef<[u8]> + AsMut<[u8]>] for super::Listener<R, T>;
}

#[cfg(feature = "wukong")]
engine_by_inherent_methods! {
    impl[const RX: usize, const TX: usize] for super::wukong::WkListener<RX, TX>;
}
