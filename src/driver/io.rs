//! The embedded-io driver: a [`Listener`](crate::session::Listener) over any blocking `Read + Write` transport, for
//! firmware.
//!
//! The transport is connected by the host (a TCP socket of the firmware's network stack, a
//! UART bridge…). Its `read` should return after a bounded time (an error of kind
//! `TimedOut` counts as "no data") so that timers run. After [`IoDriver::poll`] reports the
//! connection closed, the host reconnects at [`Listener::reconnect_at`](crate::session::Listener::reconnect_at) and hands the new
//! transport to [`IoDriver::reconnected`].

use embedded_io::{Error as _, ErrorKind, Read, Write};

use crate::config::{DEFAULT_RX, DEFAULT_TX};
use crate::monitor::Monitor;
use crate::session::{CloseReason, FixedListener, IoError, IoKind};

/// The listener's view of an embedded-io error kind (embedded-io has no `errno`).
pub fn io_error(kind: ErrorKind) -> IoError {
    let kind = match kind {
        ErrorKind::ConnectionRefused => IoKind::ConnectionRefused,
        ErrorKind::ConnectionReset => IoKind::ConnectionReset,
        ErrorKind::ConnectionAborted => IoKind::ConnectionAborted,
        ErrorKind::TimedOut => IoKind::TimedOut,
        ErrorKind::NotConnected | ErrorKind::BrokenPipe => IoKind::BrokenPipe,
        ErrorKind::AddrNotAvailable | ErrorKind::InvalidInput => IoKind::InvalidEndpoint,
        _ => IoKind::Other,
    };
    IoError { kind, errno: 0 }
}

/// The host's clocks.
pub trait Clock {
    /// Monotonic milliseconds.
    fn now_ms(&mut self) -> u64;
    /// Unix time in milliseconds, for signing quests.
    fn unix_ms(&mut self) -> i64;
}

/// What [`IoDriver::poll`] observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Poll {
    /// The connection is up.
    Connected,
    /// The connection is down (closed by the peer, an I/O error, or at the listener's request);
    /// reconnect at [`Listener::reconnect_at`](crate::session::Listener::reconnect_at).
    Closed,
}

/// Drives a listener over a blocking transport `T`.
pub struct IoDriver<'e, T, C, const RX: usize = DEFAULT_RX, const TX: usize = DEFAULT_TX> {
    listener: FixedListener<RX, TX>,
    transport: Option<T>,
    clock: C,
    endpoint: &'e str,
}

impl<'e, T: Read + Write, C: Clock, const RX: usize, const TX: usize> IoDriver<'e, T, C, RX, TX> {
    /// A driver over an already connected `transport`; `endpoint` is what the monitor is told.
    pub fn new(
        listener: FixedListener<RX, TX>,
        transport: T,
        mut clock: C,
        endpoint: &'e str,
    ) -> Self {
        let mut listener = listener;
        let now = clock.now_ms();
        let unix = clock.unix_ms();
        listener.set_unix_time(now, unix);
        listener.connected(now);
        Self {
            listener,
            transport: Some(transport),
            clock,
            endpoint,
        }
    }

    /// The listener, to issue listen commands.
    pub fn listener(&mut self) -> &mut FixedListener<RX, TX> {
        &mut self.listener
    }

    /// Current monotonic time from the clock.
    pub fn now_ms(&mut self) -> u64 {
        self.clock.now_ms()
    }

    /// Gives the driver a newly connected transport after a close.
    pub fn reconnected(&mut self, transport: T) {
        let now = self.clock.now_ms();
        let unix = self.clock.unix_ms();
        self.listener.set_unix_time(now, unix);
        self.transport = Some(transport);
        self.listener.connected(now);
    }

    /// Reports a failed reconnection attempt and why (advances the back-off).
    pub fn connect_failed(&mut self, reason: CloseReason) {
        let now = self.clock.now_ms();
        self.listener.connect_failed(now, reason);
    }

    /// Takes the transport back (for example to close it), if it is still held.
    pub fn take_transport(&mut self) -> Option<T> {
        self.transport.take()
    }

    fn close(&mut self, reason: CloseReason) {
        if self.transport.take().is_some() {
            let now = self.clock.now_ms();
            self.listener.closed(now, reason);
        }
    }

    fn pump<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        loop {
            let close = super::deliver(&mut self.listener, monitor, self.endpoint);
            if let Some(reason) = close {
                self.close(reason);
                continue;
            }
            let Some(t) = self.transport.as_mut() else {
                return;
            };
            let data = self.listener.transmit();
            if data.is_empty() {
                let _ = t.flush();
                return;
            }
            match t.write(data) {
                Ok(0) => self.close(CloseReason::PeerClosed),
                Err(e) => self.close(CloseReason::Io(io_error(e.kind()))),
                Ok(n) => self.listener.consume_transmit(n),
            }
        }
    }

    /// One round: run timers, write, block in one `read`, deliver events, write.
    pub fn poll<M: Monitor + ?Sized>(&mut self, monitor: &mut M) -> Poll {
        let now = self.clock.now_ms();
        self.listener.handle_timeout(now);
        self.pump(monitor);
        if let Some(t) = self.transport.as_mut() {
            let window = self.listener.input_window();
            if !window.is_empty() {
                match t.read(window) {
                    Ok(0) => self.close(CloseReason::PeerClosed),
                    Ok(n) => {
                        let now = self.clock.now_ms();
                        self.listener.commit_input(now, n);
                    }
                    Err(e) if e.kind() == ErrorKind::TimedOut => {}
                    Err(e) => self.close(CloseReason::Io(io_error(e.kind()))),
                }
            }
        }
        self.pump(monitor);
        if self.transport.is_some() {
            Poll::Connected
        } else {
            Poll::Closed
        }
    }
}
