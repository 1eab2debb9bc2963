//! The async embedded driver: a listener (any [`Engine`], the RTM [`Listener`] by default)
//! over any `embedded_io_async::{Read, Write}` transport, with a host [`Timer`]: embassy-net's
//! `TcpSocket`, a tokio socket through `embedded-io-adapters`, a UART bridge… `no_std`, no
//! allocation, any executor. The async twin of `driver::io::IoDriver`.
//!
//! [`AsyncIoDriver::poll`] does one round of the [driving contract](crate::session): run the
//! timers that are due, deliver events and write, then wait for **whichever comes first**: bytes
//! to read, or the listener's next deadline ([`Engine::poll_timeout`], slept with
//! [`Timer::sleep_until`]); then deliver and write again. A write (and the flush after it) is
//! raced against the deadline too, so a peer that stops reading cannot stop the keepalive or
//! the dead-link close.
//!
//! The race drops the loser, so the transport's `read`, `write` and `flush` must be
//! cancel-safe (embedded-io-async asks implementations to be, and to say so): embassy-net's
//! `TcpSocket` and embedded-io-adapters' `FromTokio` are.
//!
//! # Cancellation safety
//!
//! Over such a transport and timer, the futures of [`AsyncIoDriver::poll`],
//! [`AsyncIoDriver::wait_reconnect`] and [`AsyncIoDriver::close`] may be dropped at any
//! `await` (a `select` with a shutdown signal, say) without losing anything: bytes read are
//! committed to the listener, and bytes written consumed from it, before the next `await`;
//! what is queued stays queued for the next call.
//!
//! # Reconnection
//!
//! The host connects the transport. After [`AsyncIoDriver::poll`] returns [`Poll::Closed`]
//! (closed by the peer, an I/O error, or at the listener's request), take the closed transport
//! back with [`AsyncIoDriver::take_transport`] (to close or reuse it: an embassy-net socket is
//! aborted and connected again), wait for the listener's advice with
//! [`AsyncIoDriver::wait_reconnect`] (it runs the timers and delivers events meanwhile), then
//! hand the new connection to [`AsyncIoDriver::reconnected`], or report a failed attempt with
//! [`AsyncIoDriver::connect_failed`]. [`AsyncIoDriver::close`] ends a connection gracefully:
//! it writes what is queued (the answers to the pushes already delivered), flushes, tells the
//! listener ([`CloseReason::Host`]) and returns the transport.
//!
//! # On embassy-net
//!
//! `TcpSocket` implements `embedded_io_async::{Read, Write}` (cancel-safe), and
//! `embassy_time::Timer::at` is the deadline sleep:
//!
//! ```ignore
//! use embassy_net::{Stack, tcp::TcpSocket};
//! use embassy_time::{Instant, Timer as At};
//! use rtm_listen::driver::io_async::{AsyncIoDriver, Poll, Timer};
//! use rtm_listen::prelude::*;
//! use rtm_listen::session::{IoError, IoKind};
//!
//! struct Clock {
//!     unix_at_boot_ms: i64, // from SNTP, the RTC or the gate's `*ping` answer
//! }
//!
//! impl Timer for Clock {
//!     fn now_ms(&mut self) -> u64 {
//!         Instant::now().as_millis()
//!     }
//!     fn unix_ms(&mut self) -> i64 {
//!         self.unix_at_boot_ms + i64::try_from(Instant::now().as_millis()).unwrap_or(0)
//!     }
//!     async fn sleep_until(&mut self, at_ms: u64) {
//!         At::at(Instant::from_millis(at_ms)).await
//!     }
//! }
//!
//! #[embassy_executor::task]
//! async fn listen(stack: Stack<'static>, listener: Listener, mut monitor: MyMonitor) -> ! {
//!     let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//!     let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
//!     let mut driver = AsyncIoDriver::unconnected(listener, Clock { unix_at_boot_ms: 0 }, "gate");
//!     loop {
//!         driver.wait_reconnect(&mut monitor).await; // the listener's back-off
//!         match socket.connect(GATE).await {
//!             Ok(()) => driver.reconnected(socket),
//!             Err(_) => {
//!                 let refused = IoError { kind: IoKind::ConnectionRefused, errno: 0 };
//!                 driver.connect_failed(CloseReason::Io(refused));
//!                 continue;
//!             }
//!         }
//!         // Listen commands go in between polls: driver.listener().add_listen(now, &ids).
//!         while driver.poll(&mut monitor).await == Poll::Connected {}
//!         socket = driver.take_transport().unwrap(); // the closed socket, to reuse
//!         socket.abort();
//!         let _ = socket.flush().await;
//!     }
//! }
//! ```
//!
//! `examples/embedded_io_async.rs` runs the same loop on a host, over tokio.

use core::future::Future;

use embedded_io_async::{Error as _, ErrorKind, Read, Write};

use super::race::{Either, race};
use crate::monitor::Monitor;
use crate::session::{CloseReason, Engine, Listener};

pub use super::io::io_error;

/// The host's clocks and its deadline sleep.
///
/// With embassy-time: `Instant::now().as_millis()` and `Timer::at(Instant::from_millis(at_ms))`
/// (see the [module docs](self)). Implementations may write `async fn sleep_until`.
pub trait Timer {
    /// Monotonic milliseconds.
    fn now_ms(&mut self) -> u64;
    /// Unix time in milliseconds, for signing quests.
    fn unix_ms(&mut self) -> i64;
    /// Completes once [`Timer::now_ms`] has reached `at_ms` (at once if it has). It is dropped
    /// when input comes first, so it must be cancel-safe (a plain timer is).
    fn sleep_until(&mut self, at_ms: u64) -> impl Future<Output = ()>;
}

/// What [`AsyncIoDriver::poll`] observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Poll {
    /// The connection is up.
    Connected,
    /// The connection is down (closed by the peer, an I/O error, or at the listener's
    /// request): take the transport back, wait for the reconnection time, reconnect.
    Closed,
}

/// Drives a listener `E` over an async transport `T` with the timer `C`. See the
/// [module docs](self).
pub struct AsyncIoDriver<'e, T, C, E = Listener> {
    listener: E,
    /// The connection's transport; kept after a close until the host takes it back.
    transport: Option<T>,
    connected: bool,
    timer: C,
    endpoint: &'e str,
    flush: bool,
}

impl<T, C, E> core::fmt::Debug for AsyncIoDriver<'_, T, C, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncIoDriver")
            .field("endpoint", &self.endpoint)
            .field("connected", &self.connected)
            .field("flush", &self.flush)
            .finish_non_exhaustive()
    }
}

/// Awaits `f`, unless `deadline` comes first (then `None`). No deadline: just `f`.
async fn until<C: Timer, F: Future>(
    timer: &mut C,
    deadline: Option<u64>,
    f: F,
) -> Option<F::Output> {
    match deadline {
        None => Some(f.await),
        Some(at) => match race(f, timer.sleep_until(at)).await {
            Either::Left(out) => Some(out),
            Either::Right(()) => None,
        },
    }
}

impl<'e, T: Read + Write, C: Timer, E: Engine> AsyncIoDriver<'e, T, C, E> {
    /// A driver over an already connected `transport`; `endpoint` is what the monitor is told.
    pub fn new(listener: E, transport: T, timer: C, endpoint: &'e str) -> Self {
        let mut driver = Self::unconnected(listener, timer, endpoint);
        driver.reconnected(transport);
        driver
    }

    /// A driver with no connection yet: connect when [`AsyncIoDriver::wait_reconnect`] returns
    /// (at once the first time), then [`AsyncIoDriver::reconnected`].
    pub fn unconnected(listener: E, timer: C, endpoint: &'e str) -> Self {
        Self {
            listener,
            transport: None,
            connected: false,
            timer,
            endpoint,
            flush: true,
        }
    }

    /// Whether to `flush` the transport after writing (default true, needed by transports
    /// that buffer, e.g. TLS). embassy-net's `TcpSocket` sends written bytes on its own and its
    /// `flush` waits until the peer acknowledged them, so `false` saves that wait there.
    pub fn with_flush(mut self, flush: bool) -> Self {
        self.flush = flush;
        self
    }

    /// The listener, to issue listen commands (pass [`AsyncIoDriver::now_ms`] as `now`) and
    /// read its state.
    pub fn listener(&mut self) -> &mut E {
        &mut self.listener
    }

    /// The listener, taken back (with the transport, if any).
    pub fn into_parts(self) -> (E, Option<T>) {
        (self.listener, self.transport)
    }

    /// Current monotonic time from the timer.
    pub fn now_ms(&mut self) -> u64 {
        self.timer.now_ms()
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// When the listener advises to connect again, while disconnected (`None`: at once).
    pub fn reconnect_at(&self) -> Option<u64> {
        self.listener.reconnect_at()
    }

    /// Gives the driver a newly connected transport (replacing a closed one it still held).
    pub fn reconnected(&mut self, transport: T) {
        let now = self.timer.now_ms();
        let unix = self.timer.unix_ms();
        self.listener.set_unix_time(now, unix);
        if self.connected {
            // The host replaced a live connection: that one is closed.
            self.listener.closed(now, CloseReason::Host);
        }
        self.transport = Some(transport);
        self.connected = true;
        self.listener.connected(now);
    }

    /// Reports a failed connection attempt and why (advances the back-off; the monitor is told
    /// on the next [`AsyncIoDriver::poll`] or [`AsyncIoDriver::wait_reconnect`]).
    pub fn connect_failed(&mut self, reason: CloseReason) {
        let now = self.timer.now_ms();
        self.listener.connect_failed(now, reason);
    }

    /// Takes the transport back: after a close, the closed one (to close or reuse it). Taken
    /// while connected, the connection ends as a host close ([`CloseReason::Host`]) without
    /// writing what is queued; use [`AsyncIoDriver::close`] to flush first.
    pub fn take_transport(&mut self) -> Option<T> {
        self.close_now(CloseReason::Host);
        self.transport.take()
    }

    /// Marks the connection closed and tells the listener why; the transport stays for
    /// [`AsyncIoDriver::take_transport`].
    fn close_now(&mut self, reason: CloseReason) {
        if self.connected {
            self.connected = false;
            let now = self.timer.now_ms();
            self.listener.closed(now, reason);
        }
    }

    /// Delivers every ready event to the monitor, closing on a close request.
    fn deliver<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        loop {
            let close = super::deliver(&mut self.listener, monitor, self.endpoint);
            match close {
                // The close queues its own event: deliver again.
                Some(reason) => self.close_now(reason),
                None => return,
            }
        }
    }

    /// The next deadline, at least 1 ms ahead: a deadline the listener could not move (a
    /// `*ping` with no room in TX) is looked at again 1 ms later, not in a busy loop.
    fn deadline(&mut self) -> Option<u64> {
        let now = self.timer.now_ms();
        self.listener
            .poll_timeout()
            .map(|t| t.max(now.saturating_add(1)))
    }

    fn timeout(&mut self) {
        let now = self.timer.now_ms();
        self.listener.handle_timeout(now);
    }

    /// Delivers events and writes (then flushes) until nothing is left, running the timers
    /// whose deadlines come while a write waits.
    async fn pump<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        let mut wrote = false;
        loop {
            self.deliver(monitor);
            if !self.connected {
                return;
            }
            let deadline = self.deadline();
            let Some(t) = self.transport.as_mut() else {
                return;
            };
            let data = self.listener.transmit();
            if data.is_empty() {
                if !(wrote && self.flush) {
                    return;
                }
                match until(&mut self.timer, deadline, t.flush()).await {
                    Some(Ok(())) => wrote = false,
                    Some(Err(e)) => self.close_now(CloseReason::Io(io_error(e.kind()))),
                    None => self.timeout(),
                }
                continue;
            }
            match until(&mut self.timer, deadline, t.write(data)).await {
                Some(Ok(0)) => self.close_now(CloseReason::PeerClosed),
                Some(Ok(n)) => {
                    self.listener.consume_transmit(n);
                    wrote = true;
                }
                Some(Err(e)) => self.close_now(CloseReason::Io(io_error(e.kind()))),
                None => self.timeout(),
            }
        }
    }

    /// One round: run due timers, deliver and write, wait for input or the next deadline
    /// (whichever comes first), deliver and write. While disconnected it delivers the pending
    /// events (a failed attempt's, completions timing out) and returns [`Poll::Closed`] at
    /// once.
    pub async fn poll<M: Monitor + ?Sized>(&mut self, monitor: &mut M) -> Poll {
        self.timeout();
        self.pump(monitor).await;
        if self.connected {
            let deadline = self.deadline();
            if let Some(t) = self.transport.as_mut() {
                let window = self.listener.input_window();
                let read = if window.is_empty() {
                    // Backpressure: RX is full until TX drains, which pump() just did; only
                    // the timers can change anything now.
                    if let Some(at) = deadline {
                        self.timer.sleep_until(at).await;
                    }
                    None
                } else {
                    until(&mut self.timer, deadline, t.read(window)).await
                };
                match read {
                    Some(Ok(0)) => self.close_now(CloseReason::PeerClosed),
                    Some(Ok(n)) => {
                        let now = self.timer.now_ms();
                        self.listener.commit_input(now, n);
                    }
                    // A transport with a read timeout of its own: no data.
                    Some(Err(e)) if e.kind() == ErrorKind::TimedOut => {}
                    Some(Err(e)) => self.close_now(CloseReason::Io(io_error(e.kind()))),
                    None => self.timeout(),
                }
            }
        }
        self.pump(monitor).await;
        if self.connected {
            Poll::Connected
        } else {
            Poll::Closed
        }
    }

    /// While disconnected, waits until the listener advises to connect again
    /// ([`Engine::reconnect_at`]), running the timers (commands time out) and delivering events
    /// meanwhile. Returns at once when connected or when the time has come.
    pub async fn wait_reconnect<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        loop {
            self.deliver(monitor);
            if self.connected {
                return;
            }
            let now = self.timer.now_ms();
            let Some(at) = self.listener.reconnect_at().filter(|&at| at > now) else {
                return;
            };
            let next = self.deadline().map_or(at, |t| t.min(at));
            self.timer.sleep_until(next).await;
            self.timeout();
        }
    }

    /// Ends the connection gracefully: delivers the ready events, writes what is queued (the
    /// answers to the pushes already delivered included) and flushes, for at most
    /// `within_ms`, then tells the listener ([`CloseReason::Host`]; the monitor gets `closed`
    /// and `disconnected`) and returns the transport for the host to close (embassy-net:
    /// `close()` then `flush()`; an OS socket: shut its write side down and read until the peer
    /// closes before dropping it, since unread input turns the close into a reset that discards
    /// unsent bytes). Nothing more is read.
    pub async fn close<M: Monitor + ?Sized>(
        &mut self,
        monitor: &mut M,
        within_ms: u64,
    ) -> Option<T> {
        let end = self.timer.now_ms().saturating_add(within_ms);
        let mut written = false;
        loop {
            self.deliver(monitor);
            if !self.connected {
                break;
            }
            let Some(t) = self.transport.as_mut() else {
                break;
            };
            let data = self.listener.transmit();
            if data.is_empty() {
                if written && self.flush {
                    let _ = until(&mut self.timer, Some(end), t.flush()).await;
                }
                break;
            }
            match until(&mut self.timer, Some(end), t.write(data)).await {
                Some(Ok(0)) => self.close_now(CloseReason::PeerClosed),
                Some(Ok(n)) => {
                    self.listener.consume_transmit(n);
                    written = true;
                }
                Some(Err(e)) => self.close_now(CloseReason::Io(io_error(e.kind()))),
                // Out of time: the rest goes with the connection.
                None => break,
            }
        }
        self.close_now(CloseReason::Host);
        self.deliver(monitor);
        self.transport.take()
    }
}
