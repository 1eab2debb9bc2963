//! The std driver: a listener (any [`Engine`]: the RTM [`Listener`](crate::session::Listener),
//! or WuKongIM's `WkListener`) over a [`TcpStream`], with reconnection.
//!
//! [`TcpDriver::step`] does one round of the driving contract (connect if due, read with a
//! timeout, run timers, deliver events to the monitor, write). Call it in a loop, and issue
//! listen commands in between through [`TcpDriver::listener`].

extern crate std;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::string::String;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{DEFAULT_RX, DEFAULT_TX};
use crate::monitor::Monitor;
use crate::session::{CloseReason, Engine, FixedListener, IoError, IoKind};

/// The listener's view of a transport error: its kind and `errno`.
pub fn io_error(e: &std::io::Error) -> IoError {
    let kind = match e.kind() {
        ErrorKind::ConnectionRefused => IoKind::ConnectionRefused,
        ErrorKind::ConnectionReset => IoKind::ConnectionReset,
        ErrorKind::ConnectionAborted => IoKind::ConnectionAborted,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => IoKind::TimedOut,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => IoKind::Unreachable,
        ErrorKind::InvalidInput | ErrorKind::AddrNotAvailable => IoKind::InvalidEndpoint,
        ErrorKind::BrokenPipe => IoKind::BrokenPipe,
        _ => IoKind::Other,
    };
    IoError {
        kind,
        errno: e.raw_os_error().unwrap_or(0),
    }
}

/// A few random bits from the OS, for [`Listener::new`](crate::session::Listener::new)'s
/// `entropy`.
pub fn entropy() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(SystemTime::now())
}

/// Drives a listener over TCP: connects, reads, writes, runs the listener's timers, and
/// reconnects when and as the listener advises. Either listener: RTM's [`Listener`] or
/// WuKongIM's `WkListener` (anything that implements [`Engine`]).
///
/// ```no_run
/// use std::time::Duration;
/// use rtm_listen::prelude::*;
///
/// struct Printer;
/// impl Monitor for Printer {
///     fn push_p2p_chat(&mut self, m: &MessageEvent<'_>) {
///         println!("{}: {}", m.message.from, String::from_utf8_lossy(m.message.msg));
///     }
///     fn disconnected(&mut self, endpoint: &str, reason: CloseReason, retry_in_ms: u64) {
///         eprintln!("{endpoint}: {reason:?}, next attempt in {retry_in_ms} ms");
///     }
/// }
///
/// let creds = Credentials { pid: 11000001, secret: b"project-secret" };
/// let mut listener = Listener::new(Config::DEFAULT, creds, rtm_listen::driver::tcp::entropy())?;
/// listener.set_listen_all(0, ListenFlags { p2p: true, ..ListenFlags::NONE })?;
/// let mut driver = TcpDriver::new("rtm-gate.example.com:13315", listener);
/// // Ten minutes of pushes, then drop the driver (which closes the socket).
/// driver.run_until(&mut Printer, Duration::from_secs(600), |_, _| false);
/// println!("{:?}", driver.listener().stats());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`Listener`]: crate::session::Listener
pub struct TcpDriver<E: Engine = FixedListener<DEFAULT_RX, DEFAULT_TX>> {
    listener: std::boxed::Box<E>,
    endpoint: String,
    stream: Option<TcpStream>,
    epoch: Instant,
    connect_timeout: Duration,
    last_error: Option<std::io::Error>,
}

impl<E: Engine> TcpDriver<E> {
    /// A driver for `endpoint` (`host:port`). It connects on the first [`TcpDriver::step`].
    pub fn new(endpoint: impl Into<String>, listener: E) -> Self {
        Self {
            listener: std::boxed::Box::new(listener),
            endpoint: endpoint.into(),
            stream: None,
            epoch: Instant::now(),
            connect_timeout: Duration::from_secs(5),
            last_error: None,
        }
    }

    /// The last transport error (connect, read or write), kept with its OS details; the
    /// monitor got its kind and `errno` through [`Monitor::disconnected`].
    pub fn last_error(&self) -> Option<&std::io::Error> {
        self.last_error.as_ref()
    }

    /// Milliseconds since the driver was created: the listener's monotonic clock.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The listener, to issue listen commands (pass [`TcpDriver::now_ms`] as `now`).
    pub fn listener(&mut self) -> &mut E {
        &mut self.listener
    }

    /// Whether a TCP connection is up.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// The endpoint this driver connects to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn sync_clock(&mut self, now: u64) {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.listener.set_unix_time(now, unix);
    }

    fn try_connect(&mut self, now: u64) {
        let addrs = match self.endpoint.to_socket_addrs() {
            Ok(a) => a,
            Err(e) => {
                // A port that is not a number, or a name that does not resolve.
                let kind = match e.kind() {
                    ErrorKind::InvalidInput => IoKind::InvalidEndpoint,
                    _ => IoKind::UnknownHost,
                };
                let errno = e.raw_os_error().unwrap_or(0);
                self.last_error = Some(e);
                let reason = CloseReason::Io(IoError { kind, errno });
                self.listener.connect_failed(now, reason);
                return;
            }
        };
        let mut failure = IoError {
            kind: IoKind::UnknownHost,
            errno: 0,
        };
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                    self.stream = Some(s);
                    self.listener.connected(now);
                    return;
                }
                Err(e) => {
                    failure = io_error(&e);
                    self.last_error = Some(e);
                }
            }
        }
        self.listener.connect_failed(now, CloseReason::Io(failure));
    }

    /// Closes the connection (if any) and tells the listener why.
    pub fn close(&mut self, reason: CloseReason) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(Shutdown::Both);
            let now = self.now_ms();
            self.listener.closed(now, reason);
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        let reason = CloseReason::Io(io_error(&e));
        self.last_error = Some(e);
        self.close(reason);
    }

    /// Delivers events and writes until neither has anything to do.
    fn pump<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        loop {
            let close = super::deliver(&mut *self.listener, monitor, &self.endpoint);
            if let Some(reason) = close {
                self.close(reason);
                continue;
            }
            let Some(stream) = self.stream.as_mut() else {
                return;
            };
            let data = self.listener.transmit();
            if data.is_empty() {
                return;
            }
            match stream.write(data) {
                Ok(0) => self.close(CloseReason::PeerClosed),
                Ok(n) => self.listener.consume_transmit(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => self.fail(e),
            }
        }
    }

    /// One round: connect if due, read for at most `max_wait` (less if a timer is due), run
    /// timers, deliver events to `monitor`, write.
    pub fn step<M: Monitor + ?Sized>(&mut self, monitor: &mut M, max_wait: Duration) {
        let now = self.now_ms();
        self.sync_clock(now);
        if self.stream.is_none() && self.listener.reconnect_at().is_none_or(|t| now >= t) {
            self.try_connect(now);
        }
        self.pump(monitor);
        let now = self.now_ms();
        let max_ms = u64::try_from(max_wait.as_millis()).unwrap_or(u64::MAX);
        let next = match self.stream {
            Some(_) => self.listener.poll_timeout(),
            None => self.listener.reconnect_at(),
        };
        let wait_ms = next
            .map_or(max_ms, |t| t.saturating_sub(now).min(max_ms))
            .max(1);
        match self.stream.as_mut() {
            None => std::thread::sleep(Duration::from_millis(wait_ms)),
            Some(stream) => {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(wait_ms)));
                let window = self.listener.input_window();
                if window.is_empty() {
                    // Backpressure: the transmit side must drain first; pump() wrote what it could.
                    std::thread::sleep(Duration::from_millis(1));
                } else {
                    match stream.read(window) {
                        Ok(0) => self.close(CloseReason::PeerClosed),
                        Ok(n) => {
                            let now = self.now_ms();
                            self.listener.commit_input(now, n);
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::WouldBlock
                                    | ErrorKind::TimedOut
                                    | ErrorKind::Interrupted
                            ) => {}
                        Err(e) => self.fail(e),
                    }
                }
            }
        }
        let now = self.now_ms();
        if self.listener.poll_timeout().is_some_and(|t| now >= t) {
            self.listener.handle_timeout(now);
        }
        self.pump(monitor);
    }

    /// Calls [`TcpDriver::step`] until `done` returns true or `limit` passes; returns whether
    /// `done` was reached.
    pub fn run_until<M: Monitor + ?Sized>(
        &mut self,
        monitor: &mut M,
        limit: Duration,
        mut done: impl FnMut(&mut M, &mut Self) -> bool,
    ) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done(monitor, self) {
                return true;
            }
            self.step(monitor, Duration::from_millis(50));
        }
        done(monitor, self)
    }
}

impl<E: Engine> Drop for TcpDriver<E> {
    fn drop(&mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
