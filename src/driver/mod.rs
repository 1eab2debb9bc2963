//! Thin drivers that move bytes between a transport and a [`Listener`](crate::session::Listener)
//! and call a [`Monitor`](crate::monitor::Monitor). All protocol logic stays in the listener.
//!
//! | driver | feature | transport | I/O |
//! |---|---|---|---|
//! | `tcp` | `std` | `std::net::TcpStream`, connects to `host:port` and reconnects as the listener advises | blocking |
//! | `tokio` | `tokio` | `tokio::net::TcpStream`, the same, plus listen commands from other tasks and a graceful shutdown | async (tokio) |
//! | `io` | `embedded-io` | any blocking `embedded_io::{Read, Write}` the host connects (firmware) | blocking |
//! | `io_async` | `embedded-io-async` | any `embedded_io_async::{Read, Write}` the host connects (embassy-net's `TcpSocket`), with a host timer; `no_std`, no alloc | async (any executor) |
//!
//! `tcp` and `tokio` run any [`Engine`](crate::session::Engine) (the RTM listener or
//! WuKongIM's), `io_async` too; `io` runs the RTM listener.
//!
//! - `wukong_api` (feature `wukong-api`): the WuKongIM HTTP API calls of a monitor setup
//!   (subscriptions, token, route) over `ureq`.

#[cfg(feature = "embedded-io")]
pub mod io;
#[cfg(feature = "embedded-io-async")]
pub mod io_async;
#[cfg(feature = "std")]
pub mod tcp;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "wukong-api")]
pub mod wukong_api;

/// Hands every ready event of `engine` to `monitor` (as [`dispatch`](crate::monitor::dispatch)
/// for `endpoint`) and returns the close request among them, if any: the step every driver's
/// loop starts with. The driver closes its transport on a close request and delivers again
/// (closing queues the listener's own `closed` event).
#[cfg(any(
    feature = "std",
    feature = "embedded-io",
    feature = "embedded-io-async"
))]
pub(crate) fn deliver<E, M>(
    engine: &mut E,
    monitor: &mut M,
    endpoint: &str,
) -> Option<crate::session::CloseReason>
where
    E: crate::session::Engine + ?Sized,
    M: crate::monitor::Monitor + ?Sized,
{
    let mut close = None;
    engine.poll_events(|ev| {
        if let crate::session::Event::CloseRequested(reason) = ev {
            close = Some(reason);
        }
        crate::monitor::dispatch(monitor, endpoint, &ev);
    });
    close
}

/// Racing two futures without a runtime (`core` only, no `unsafe`): what the async drivers
/// use to wait for "input or deadline, whichever comes first".
#[cfg(any(feature = "tokio", feature = "embedded-io-async"))]
mod race {
    use core::future::{Future, poll_fn};
    use core::pin::pin;
    use core::task::Poll;

    /// Which future completed first.
    pub(crate) enum Either<A, B> {
        Left(A),
        Right(B),
    }

    /// Polls `a`, then `b`, until one completes; the other is dropped (so it must be
    /// cancel-safe).
    pub(crate) async fn race<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
        let mut a = pin!(a);
        let mut b = pin!(b);
        poll_fn(|cx| {
            if let Poll::Ready(x) = a.as_mut().poll(cx) {
                return Poll::Ready(Either::Left(x));
            }
            if let Poll::Ready(y) = b.as_mut().poll(cx) {
                return Poll::Ready(Either::Right(y));
            }
            Poll::Pending
        })
        .await
    }
}
