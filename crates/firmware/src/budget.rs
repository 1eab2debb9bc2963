//! The driver shared by the two budget binaries.
//!
//! `budget-listener` runs it over the real [`Listener`](rtm_listen::session::Listener);
//! `budget-baseline` runs the very same loop over an engine that does nothing but hide its
//! inputs from the optimiser. Both carry the same runtime (`rt.rs`: vector table, reset,
//! SysTick, the RX interrupt, defmt over semihosting, panic and exit), so the difference of
//! their `size -A` sections is what the listener costs a firmware: its code, its read-only
//! data, its statics, and the calls that drive it. `budget-listener-enc` is `budget-listener`
//! built with FPNN encryption (feature `encryption`), measured against the same baseline.
//!
//! Every input comes from [`SCRIPT`] through `black_box`, so nothing is constant-folded away:
//! every public entry point of the listener is reachable, and every event is materialised.

use core::hint::black_box;

use heapless::Deque;
use rtm_listen::rtm::listen::ListenFlags;
use rtm_listen::session::{CloseReason, IoError, IoKind};

/// Defines the engine's slot for a budget binary: the `ENGINE` static (the main loop and the RX
/// interrupt share it through a `critical_section::Mutex`), `with_engine` for the driver, and
/// the `on_rx` hook that `rt.rs` calls from the RX interrupt. Both binaries expand the same
/// text, so they differ only in the engine type.
macro_rules! engine_slot {
    ($eng:ty) => {
        static ENGINE: critical_section::Mutex<core::cell::RefCell<Option<&'static mut $eng>>> =
            critical_section::Mutex::new(core::cell::RefCell::new(None));

        fn with_engine<R>(f: impl FnOnce(&mut $eng) -> R) -> R {
            critical_section::with(|cs| match ENGINE.borrow_ref_mut(cs).as_deref_mut() {
                Some(e) => f(e),
                None => rt::finish(1),
            })
        }

        fn on_rx(
            cs: critical_section::CriticalSection<'_>,
            now: u64,
            wire: &mut heapless::Deque<u8, { rt::FIFO }>,
        ) {
            if let Some(e) = ENGINE.borrow_ref_mut(cs).as_deref_mut() {
                budget::feed(e, now, wire);
            }
        }
    };
}
pub(crate) use engine_slot;

/// What a host does with the listener, one method per kind of call.
pub trait Engine {
    fn set_unix_time(&mut self, now: u64, unix_ms: i64);
    fn connected(&mut self, now: u64);
    fn connect_failed(&mut self, now: u64, reason: CloseReason);
    fn closed(&mut self, now: u64, reason: CloseReason);
    /// `op`: 0 add, 1 remove, otherwise set.
    fn listen(
        &mut self,
        now: u64,
        op: u8,
        gids: &[i64],
        rids: &[i64],
        uids: &[i64],
        events: &[&str],
    ) -> bool;
    fn listen_all(&mut self, now: u64, flags: ListenFlags) -> bool;
    fn timeout(&mut self, now: u64);
    /// The earliest deadline, or the reconnect time.
    fn next_wakeup(&self) -> Option<u64>;
    /// Polls every event; each is handed to `black_box` whole.
    fn drain_events(&mut self) -> u32;
    /// Hands the transmit buffer to the "transport" (`black_box`) and consumes it.
    fn drain_transmit(&mut self) -> usize;
    /// Received bytes (from the RX interrupt); returns how many were taken.
    fn input(&mut self, now: u64, bytes: &[u8]) -> usize;
    /// Diagnostics a host would log.
    fn report(&self) -> u64;
}

/// The driver's input: commands and wire bytes. Read through `black_box`.
static SCRIPT: [u8; 256] = [0; 256];

/// The RX interrupt's work: bytes from the wire FIFO into the engine.
pub fn feed<E: Engine>(e: &mut E, now: u64, wire: &mut Deque<u8, { super::rt::FIFO }>) {
    loop {
        let n = e.input(now, wire.as_slices().0);
        if n == 0 {
            break;
        }
        for _ in 0..n {
            wire.pop_front();
        }
    }
}

/// A transport's reason from a script byte: the peer closed, or a reset with its errno.
fn reason(b: u8) -> CloseReason {
    if b & 1 == 0 {
        CloseReason::PeerClosed
    } else {
        CloseReason::Io(IoError {
            kind: IoKind::ConnectionReset,
            errno: i32::from(b >> 1),
        })
    }
}

fn le_i64(b: &[u8]) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[..8]);
    i64::from_le_bytes(x)
}

/// The main loop: one command per 16-byte record of the script, then events, transmits and
/// timers, as the driving contract says.
pub fn drive() -> u32 {
    let script: &[u8] = black_box(&SCRIPT[..]);
    let mut events = 0u32;
    for rec in script.chunks_exact(16) {
        let now = super::rt::now();
        let id = le_i64(&rec[8..]);
        let ids = [id, id.wrapping_add(1)];
        let n = usize::from(rec[2] & 1) + 1;
        let names: [&str; 2] = ["login", "logout"];
        super::with_engine(|e| match rec[0] & 7 {
            0 => {
                Engine::set_unix_time(e, now, le_i64(&rec[8..]));
                Engine::connected(e, now);
            }
            1 => Engine::closed(e, now, reason(rec[1])),
            2 => Engine::connect_failed(e, now, reason(rec[1])),
            3 => {
                let ok = e.listen(
                    now,
                    rec[1],
                    &ids[..n],
                    &ids[..usize::from(rec[3] & 1)],
                    &ids[..1],
                    &names[..n],
                );
                black_box(ok);
            }
            4 => {
                let flags = ListenFlags {
                    group: rec[1] & 1 != 0,
                    room: rec[1] & 2 != 0,
                    p2p: rec[1] & 4 != 0,
                    ev: rec[1] & 8 != 0,
                };
                black_box(e.listen_all(now, flags));
            }
            5 => e.timeout(now),
            _ => {}
        });
        if rec[0] & 7 == 6 {
            // Wire bytes: the record's tail, through the FIFO and the RX interrupt.
            let mut bytes = &rec[4..];
            while !bytes.is_empty() {
                bytes = super::rt::put_on_wire(bytes);
                super::rt::raise_rx();
                events += super::with_engine(|e| e.drain_events());
            }
        }
        events += super::with_engine(|e| e.drain_events());
        while super::with_engine(|e| e.drain_transmit()) > 0 {
            events += super::with_engine(|e| e.drain_events());
        }
        let wake = super::with_engine(|e| e.next_wakeup());
        black_box(wake);
    }
    black_box(super::with_engine(|e| e.report()));
    events
}
