//! The tokio driver: a listener (any [`Engine`]: the RTM [`Listener`], or WuKongIM's
//! `WkListener`) over a [`tokio::net::TcpStream`], with reconnection,
//! listen commands while running and a graceful shutdown.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rtm_listen::driver::tokio::TokioDriver;
//! use rtm_listen::prelude::*;
//!
//! struct Printer;
//! impl Monitor for Printer {
//!     fn push_group_chat(&mut self, m: &MessageEvent<'_>) {
//!         println!("{}: {}", m.message.from, String::from_utf8_lossy(m.message.msg));
//!     }
//!     fn command_done(&mut self, request: RequestId, code: i64, _: &[u8]) {
//!         println!("command {} done: {code}", request.0);
//!     }
//! }
//!
//! let creds = Credentials { pid: 11000001, secret: b"project-secret" };
//! let listener = Listener::new(Config::DEFAULT, creds, rtm_listen::driver::tcp::entropy())?;
//! let mut driver = TokioDriver::new("rtm-gate.example.com:13315", listener);
//! let handle = driver.handle(); // cloneable, Send: listen commands from any task
//! tokio::spawn(async move {
//!     let request = handle.add_listen(&ListenIds { gids: &[2001], ..Default::default() }).await;
//!     println!("queued as {request:?}"); // completion: Monitor::command_done
//! });
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! driver.run(&mut Printer, shutdown).await; // connects, reconnects, restores, until Ctrl-C
//! println!("{:?}", driver.listener().stats());
//! # Ok(()) }
//! ```
//!
//! # The loop
//!
//! [`TokioDriver::run`] repeats one round of the [driving contract](crate::session):
//!
//! 1. while disconnected and [`Engine::reconnect_at`] has come (or was never set), resolve
//!    the endpoint and connect (each address within the connect timeout, 5 s by default), then
//!    [`Engine::connected`] or [`Engine::connect_failed`] with the error's kind and `errno`;
//! 2. read once, without waiting, into [`Engine::input_window`] and
//!    [`Engine::commit_input`]; apply the listen commands the [`Handle`]s sent; run
//!    [`Engine::handle_timeout`] if [`Engine::poll_timeout`] has come;
//! 3. deliver every event to the monitor ([`dispatch`](crate::monitor::dispatch)), closing
//!    the socket on [`Event::CloseRequested`](crate::session::Event::CloseRequested), and
//!    write [`Engine::transmit`] until the socket would block;
//! 4. wait for whichever comes first: the shutdown future, the socket readable (when the
//!    receive buffer has room) or writable (when bytes wait to be sent), a command, or the next
//!    deadline ([`Engine::poll_timeout`] while connected, [`Engine::reconnect_at`] while not).
//!
//! All socket I/O is readiness-based (`try_read`/`try_write` after `poll_*_ready`), so the
//! listener's buffers are never borrowed across an `await`.
//!
//! # Shutdown
//!
//! When the `shutdown` future completes, `run` stops reading, delivers the events that are
//! ready (from bytes already received) and writes everything queued, the answers to the
//! pushes already delivered included; shuts the socket's write side down (FIN) and waits for
//! the peer to close its side, discarding what it still sends (closing a socket with unread
//! input would send a reset and throw away the answers still in the kernel's send buffer; the
//! discarded pushes were never delivered, so no answer is owed); all of it within the flush
//! timeout (2 s by default, [`TokioDriver::with_flush_timeout`]). Then it closes the socket,
//! tells the listener [`Engine::closed`] with [`CloseReason::Host`] (the monitor gets
//! `closed` and `disconnected`), and returns. The driver keeps the listener: read its
//! counters with [`TokioDriver::listener`] (`stats()`), take it with
//! [`TokioDriver::into_listener`], or call `run` again to reconnect (after the back-off of a
//! host close).
//!
//! # Cancellation safety
//!
//! Dropping the future of `run` (for example in a `tokio::select!`) at any `await` loses
//! nothing and leaves the listener consistent with the socket: the awaits are the connection
//! attempt (dropped: the listener was told nothing and tries again on the next `run`), the
//! readiness wait (no byte is read or written while waiting) and the shutdown's flush (the
//! socket stays with the driver until the listener is told it closed). Bytes read are always
//! committed before the next `await`; bytes queued to send stay queued. Only a completed
//! `shutdown` future flushes and closes; a dropped `run` does not, and the connection stays
//! up (without reading) until `run` is called again or the driver is dropped.
//! [`Handle::with_listener`] is cancel-safe in the same sense: once its command was sent, it
//! is applied even if the caller stops waiting for the reply.
//!
//! Commands sent while `run` is not running wait in the channel (capacity
//! [`COMMAND_QUEUE`]) and are applied by the next `run`.

extern crate std;

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use std::boxed::Box;
use std::io::{self, ErrorKind};
use std::string::{String, ToString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use ::tokio::io::AsyncWrite;
use ::tokio::net::TcpStream;
use ::tokio::sync::{mpsc, oneshot};
use ::tokio::time::{Instant, sleep_until, timeout, timeout_at};

use super::race::{Either, race};
use super::tcp::io_error;
use crate::monitor::Monitor;
use crate::rtm::listen::{ListenFlags, ListenIds};
use crate::session::{CloseReason, CommandError, Engine, IoError, IoKind, Listener, RequestId};

/// How many commands the [`Handle`]s can queue before [`Handle::with_listener`] waits.
pub const COMMAND_QUEUE: usize = 32;

/// A command from a [`Handle`]: a closure run on the listener with the current time.
type Command<E> = Box<dyn FnOnce(&mut E, u64) + Send>;

/// Drives a listener over tokio TCP. See the [module docs](self).
pub struct TokioDriver<E: Engine = Listener> {
    listener: Box<E>,
    endpoint: String,
    stream: Option<TcpStream>,
    epoch: Instant,
    connect_timeout: Duration,
    flush_timeout: Duration,
    last_error: Option<io::Error>,
    commands: mpsc::Receiver<Command<E>>,
    sender: mpsc::Sender<Command<E>>,
}

impl<E: Engine> fmt::Debug for TokioDriver<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioDriver")
            .field("endpoint", &self.endpoint)
            .field("connected", &self.stream.is_some())
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// What ended a wait of the loop.
enum Wake<E> {
    Shutdown,
    Ready,
    Command(Command<E>),
    Failed(io::Error),
}

impl<E: Engine> TokioDriver<E> {
    /// A driver for `endpoint` (`host:port`). It connects when [`TokioDriver::run`] starts.
    pub fn new(endpoint: impl Into<String>, listener: E) -> Self {
        let (sender, commands) = mpsc::channel(COMMAND_QUEUE);
        Self {
            listener: Box::new(listener),
            endpoint: endpoint.into(),
            stream: None,
            epoch: Instant::now(),
            connect_timeout: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(2),
            last_error: None,
            commands,
            sender,
        }
    }

    /// How long one connection attempt (name resolution, then each address) may take
    /// (default 5 s).
    pub fn with_connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// How long a graceful shutdown may take (default 2 s): writing what is queued, then
    /// waiting for the peer to close its side.
    pub fn with_flush_timeout(mut self, limit: Duration) -> Self {
        self.flush_timeout = limit;
        self
    }

    /// A handle that sends commands to the listener while [`TokioDriver::run`] runs (cloneable,
    /// `Send`, usable from any task).
    pub fn handle(&self) -> Handle<E> {
        Handle {
            tx: self.sender.clone(),
        }
    }

    /// The listener, to issue commands or read its state between runs (pass
    /// [`TokioDriver::now_ms`] as `now`).
    pub fn listener(&mut self) -> &mut E {
        &mut self.listener
    }

    /// The listener, taken back (the connection, if any, is dropped without telling it).
    pub fn into_listener(self) -> E {
        *self.listener
    }

    /// The last transport error (resolution, connect, read or write), kept with its OS
    /// details; the monitor got its kind and `errno` through [`Monitor::disconnected`].
    pub fn last_error(&self) -> Option<&io::Error> {
        self.last_error.as_ref()
    }

    /// Milliseconds since the driver was created: the listener's monotonic clock.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a TCP connection is up.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// The endpoint this driver connects to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs the listener, delivering its events to `monitor`, until `shutdown` completes; then
    /// flushes, closes and returns. See the [module docs](self) for the loop, the shutdown and
    /// cancellation safety.
    pub async fn run<M, S>(&mut self, monitor: &mut M, shutdown: S)
    where
        M: Monitor + ?Sized,
        S: Future<Output = ()>,
    {
        let mut shutdown = pin!(shutdown);
        loop {
            let now = self.now_ms();
            self.sync_clock(now);
            if self.stream.is_none() && self.listener.reconnect_at().is_none_or(|t| now >= t) {
                let attempt = connect(&self.endpoint, self.connect_timeout);
                match race(shutdown.as_mut(), attempt).await {
                    Either::Left(()) => return self.finish(monitor).await,
                    Either::Right(result) => self.on_connect(result),
                }
            }
            self.round(monitor);
            match self.wait(shutdown.as_mut()).await {
                Wake::Shutdown => return self.finish(monitor).await,
                Wake::Ready => {}
                Wake::Command(command) => {
                    let now = self.now_ms();
                    command(&mut self.listener, now);
                }
                Wake::Failed(e) => self.fail(e),
            }
        }
    }

    fn sync_clock(&mut self, now: u64) {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.listener.set_unix_time(now, unix);
    }

    fn on_connect(&mut self, result: Result<TcpStream, (IoError, io::Error)>) {
        let now = self.now_ms();
        match result {
            Ok(stream) => {
                self.stream = Some(stream);
                self.listener.connected(now);
            }
            Err((reason, e)) => {
                self.last_error = Some(e);
                self.listener.connect_failed(now, CloseReason::Io(reason));
            }
        }
    }

    /// Closes the connection (if any) and tells the listener why.
    fn close(&mut self, reason: CloseReason) {
        if self.stream.take().is_some() {
            let now = self.now_ms();
            self.listener.closed(now, reason);
        }
    }

    fn fail(&mut self, e: io::Error) {
        let reason = CloseReason::Io(io_error(&e));
        self.last_error = Some(e);
        self.close(reason);
    }

    /// One round without waiting: read once, apply queued commands, run due timers, deliver
    /// events and write.
    fn round<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        if let Some(stream) = &self.stream {
            let window = self.listener.input_window();
            if !window.is_empty() {
                match stream.try_read(window) {
                    Ok(0) => self.close(CloseReason::PeerClosed),
                    Ok(n) => {
                        let now = self.now_ms();
                        self.listener.commit_input(now, n);
                    }
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                    Err(e) => self.fail(e),
                }
            }
        }
        let now = self.now_ms();
        while let Ok(command) = self.commands.try_recv() {
            command(&mut self.listener, now);
        }
        if self.listener.poll_timeout().is_some_and(|t| now >= t) {
            self.listener.handle_timeout(now);
        }
        self.pump(monitor);
    }

    /// Delivers events and writes until there is nothing to deliver and nothing to write, or
    /// the socket would block.
    fn pump<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        loop {
            let close = super::deliver(&mut *self.listener, monitor, &self.endpoint);
            if let Some(reason) = close {
                self.close(reason);
                continue;
            }
            let Some(stream) = &self.stream else {
                return;
            };
            let data = self.listener.transmit();
            if data.is_empty() {
                return;
            }
            match stream.try_write(data) {
                Ok(0) => self.close(CloseReason::PeerClosed),
                Ok(n) => self.listener.consume_transmit(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => self.fail(e),
            }
        }
    }

    /// Waits for the shutdown, the socket, a command or the next deadline.
    async fn wait<S: Future<Output = ()>>(&mut self, mut shutdown: Pin<&mut S>) -> Wake<E> {
        let now = self.now_ms();
        let (deadline, read, write) = if self.stream.is_some() {
            let read = !self.listener.input_window().is_empty();
            let write = !self.listener.transmit().is_empty();
            // Past deadlines were handled by the round; one that could not move (a `*ping`
            // with no room in TX) is looked at again 1 ms later, not in a busy loop.
            let mut deadline = self.listener.poll_timeout().map(|t| t.max(now + 1));
            if !read && !write {
                // Nothing to read into and nothing to write: the listener is waiting for
                // itself (it cannot stay so); look again shortly, as TcpDriver does.
                deadline = Some(deadline.map_or(now + 1, |t| t.min(now + 1)));
            }
            (deadline, read, write)
        } else {
            (
                Some(self.listener.reconnect_at().unwrap_or(now)),
                false,
                false,
            )
        };
        // A deadline too far to be an `Instant` is no deadline.
        let at = deadline.and_then(|t| self.epoch.checked_add(Duration::from_millis(t)));
        let mut sleep = pin!(at.map(sleep_until));
        let stream = &self.stream;
        let commands = &mut self.commands;
        poll_fn(|cx| {
            if shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wake::Shutdown);
            }
            if let Some(s) = stream {
                for (wanted, ready) in [
                    (read, s.poll_read_ready(cx)),
                    (write, s.poll_write_ready(cx)),
                ] {
                    match ready {
                        Poll::Ready(Ok(())) if wanted => return Poll::Ready(Wake::Ready),
                        Poll::Ready(Err(e)) if wanted => return Poll::Ready(Wake::Failed(e)),
                        _ => {}
                    }
                }
            }
            if let Poll::Ready(Some(command)) = commands.poll_recv(cx) {
                return Poll::Ready(Wake::Command(command));
            }
            if let Some(s) = sleep.as_mut().as_pin_mut()
                && s.poll(cx).is_ready()
            {
                return Poll::Ready(Wake::Ready);
            }
            Poll::Pending
        })
        .await
    }

    /// The graceful end of [`TokioDriver::run`]: deliver, flush, shut down, close.
    async fn finish<M: Monitor + ?Sized>(&mut self, monitor: &mut M) {
        let deadline = Instant::now()
            .checked_add(self.flush_timeout)
            .unwrap_or_else(Instant::now);
        loop {
            self.pump(monitor);
            let Some(stream) = &self.stream else { break };
            if self.listener.transmit().is_empty() {
                break;
            }
            match timeout_at(deadline, stream.writable()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.fail(e);
                    break;
                }
                // The flush timeout: what is left goes with the connection.
                Err(_) => break,
            }
        }
        if let Some(stream) = self.stream.as_mut() {
            let shut = poll_fn(|cx| Pin::new(&mut *stream).poll_shutdown(cx));
            if let Ok(Ok(())) = timeout_at(deadline, shut).await {
                linger(stream, deadline).await;
            }
        }
        self.close(CloseReason::Host);
        self.pump(monitor);
    }
}

/// After the FIN, waits (until `deadline`) for the peer to close its side, discarding what it
/// still sends: closing a socket with unread input sends a reset, which would throw away the
/// answers still in the kernel's send buffer. The discarded pushes were never delivered, so
/// they are not owed an answer.
async fn linger(stream: &TcpStream, deadline: Instant) {
    let mut scratch = [0u8; 512];
    loop {
        match stream.try_read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if !matches!(timeout_at(deadline, stream.readable()).await, Ok(Ok(()))) {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Resolves `endpoint` and connects to its first address that accepts, each step within
/// `limit`. The error is the listener's view and the OS error.
async fn connect(endpoint: &str, limit: Duration) -> Result<TcpStream, (IoError, io::Error)> {
    let addrs = match timeout(limit, ::tokio::net::lookup_host(endpoint)).await {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(e)) => {
            // A port that is not a number, or a name that does not resolve.
            let kind = match e.kind() {
                ErrorKind::InvalidInput => IoKind::InvalidEndpoint,
                _ => IoKind::UnknownHost,
            };
            let errno = e.raw_os_error().unwrap_or(0);
            return Err((IoError { kind, errno }, e));
        }
        Err(_) => {
            let e = io::Error::new(ErrorKind::TimedOut, "name resolution timed out");
            return Err((io_error(&e), e));
        }
    };
    let mut failure = (
        IoError {
            kind: IoKind::UnknownHost,
            errno: 0,
        },
        io::Error::new(ErrorKind::NotFound, "the endpoint resolved to no address"),
    );
    for addr in addrs {
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => failure = (io_error(&e), e),
            Err(_) => {
                let e = io::Error::new(ErrorKind::TimedOut, "connect timed out");
                failure = (io_error(&e), e);
            }
        }
    }
    Err(failure)
}

/// Why a [`Handle`] command did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandleError {
    /// The driver was dropped before applying the command (or before replying).
    Stopped,
    /// The listener refused the command; nothing changed.
    Refused(CommandError),
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopped => f.write_str("the driver is gone"),
            Self::Refused(e) => write!(f, "command refused: {e}"),
        }
    }
}

impl std::error::Error for HandleError {}

/// Sends commands to the listener of a running [`TokioDriver`] ([`TokioDriver::handle`]).
///
/// Each command is applied by the run loop, between two rounds, with the listener's current
/// time; a listen command's completion then reaches the monitor as usual
/// ([`Monitor::command_done`] with the returned [`RequestId`]).
pub struct Handle<E> {
    tx: mpsc::Sender<Command<E>>,
}

impl<E> Clone for Handle<E> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<E> fmt::Debug for Handle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("stopped", &self.tx.is_closed())
            .finish()
    }
}

impl<E: Engine> Handle<E> {
    /// Runs `f` on the listener inside the run loop, with the listener's current time in ms,
    /// and returns its result: any command of either listener (for WuKongIM,
    /// `l.add_listen(ids)`…). Waits while the command queue is full, and for the run loop to
    /// apply the command: while `run` is not running, until the next `run` (or
    /// [`HandleError::Stopped`] once the driver is dropped).
    pub async fn with_listener<R, F>(&self, f: F) -> Result<R, HandleError>
    where
        F: FnOnce(&mut E, u64) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let command: Command<E> = Box::new(move |listener: &mut E, now: u64| {
            // The caller may have stopped waiting: the command is applied all the same.
            let _ = reply.send(f(listener, now));
        });
        self.tx
            .send(command)
            .await
            .map_err(|_| HandleError::Stopped)?;
        answer.await.map_err(|_| HandleError::Stopped)
    }
}

/// Listen ids owned, to cross to the run loop.
struct OwnedIds {
    gids: Vec<i64>,
    rids: Vec<i64>,
    uids: Vec<i64>,
    events: Vec<String>,
}

impl OwnedIds {
    fn new<N: AsRef<str>>(ids: &ListenIds<'_, N>) -> Self {
        Self {
            gids: ids.gids.to_vec(),
            rids: ids.rids.to_vec(),
            uids: ids.uids.to_vec(),
            events: ids.events.iter().map(|e| e.as_ref().to_string()).collect(),
        }
    }

    fn view(&self) -> ListenIds<'_, String> {
        ListenIds {
            gids: &self.gids,
            rids: &self.rids,
            uids: &self.uids,
            events: &self.events,
        }
    }
}

/// One of the RTM listener's id commands (`add_listen`, `remove_listen`, `set_listen`).
type ListenCommand<R, T> =
    fn(&mut Listener<R, T>, u64, &ListenIds<'_, String>) -> Result<RequestId, CommandError>;

/// The RTM listener's commands. Each returns once the run loop accepted (or refused) the
/// command; it completes later through [`Monitor::command_done`].
impl<R, T> Handle<Listener<R, T>>
where
    R: AsRef<[u8]> + AsMut<[u8]> + Send + 'static,
    T: AsRef<[u8]> + AsMut<[u8]> + Send + 'static,
{
    async fn listen(
        &self,
        ids: OwnedIds,
        op: ListenCommand<R, T>,
    ) -> Result<RequestId, HandleError> {
        self.with_listener(move |l, now| op(l, now, &ids.view()))
            .await?
            .map_err(HandleError::Refused)
    }

    /// [`Listener::add_listen`]: listen to more ids and events.
    pub async fn add_listen<N: AsRef<str>>(
        &self,
        ids: &ListenIds<'_, N>,
    ) -> Result<RequestId, HandleError> {
        self.listen(OwnedIds::new(ids), |l, now, ids| l.add_listen(now, ids))
            .await
    }

    /// [`Listener::remove_listen`]: stop listening to some ids and events.
    pub async fn remove_listen<N: AsRef<str>>(
        &self,
        ids: &ListenIds<'_, N>,
    ) -> Result<RequestId, HandleError> {
        self.listen(OwnedIds::new(ids), |l, now, ids| l.remove_listen(now, ids))
            .await
    }

    /// [`Listener::set_listen`]: replace the listened ids and events.
    pub async fn set_listen<N: AsRef<str>>(
        &self,
        ids: &ListenIds<'_, N>,
    ) -> Result<RequestId, HandleError> {
        self.listen(OwnedIds::new(ids), |l, now, ids| l.set_listen(now, ids))
            .await
    }

    /// [`Listener::set_listen_all`]: set the four "all" flags.
    pub async fn set_listen_all(&self, flags: ListenFlags) -> Result<RequestId, HandleError> {
        self.with_listener(move |l, now| l.set_listen_all(now, flags))
            .await?
            .map_err(HandleError::Refused)
    }
}
