//! Budget build, listener side: the shared driver (`budget.rs`) over the real listener with
//! the default capacities, kept like the firmware keeps it (a `singleton!` in .bss, shared
//! with the RX interrupt through `critical_section::Mutex`). See `budget-baseline.rs`.
#![no_std]
#![no_main]

#[path = "../budget.rs"]
mod budget;
#[path = "../rt.rs"]
mod rt;

use core::hint::black_box;

use defmt_semihosting as _;
use rtm_listen::rtm::listen::{Credentials, ListenFlags, ListenIds};
use rtm_listen::session::{CloseReason, Config, Listener};

budget::engine_slot!(Listener);

impl budget::Engine for Listener {
    fn set_unix_time(&mut self, now: u64, unix_ms: i64) {
        Listener::set_unix_time(self, now, unix_ms);
    }
    fn connected(&mut self, now: u64) {
        Listener::connected(self, now);
    }
    fn connect_failed(&mut self, now: u64, reason: CloseReason) {
        Listener::connect_failed(self, now, reason);
    }
    fn closed(&mut self, now: u64, reason: CloseReason) {
        Listener::closed(self, now, reason);
    }
    fn listen(
        &mut self,
        now: u64,
        op: u8,
        gids: &[i64],
        rids: &[i64],
        uids: &[i64],
        events: &[&str],
    ) -> bool {
        let ids = ListenIds {
            gids,
            rids,
            uids,
            events,
        };
        match op {
            0 => self.add_listen(now, &ids),
            1 => self.remove_listen(now, &ids),
            _ => self.set_listen(now, &ids),
        }
        .is_ok()
    }
    fn listen_all(&mut self, now: u64, flags: ListenFlags) -> bool {
        self.set_listen_all(now, flags).is_ok()
    }
    fn timeout(&mut self, now: u64) {
        self.handle_timeout(now);
    }
    fn next_wakeup(&self) -> Option<u64> {
        self.poll_timeout().or(self.reconnect_at())
    }
    fn drain_events(&mut self) -> u32 {
        let mut n = 0;
        self.poll_events(|e| {
            black_box(&e);
            n += 1;
        });
        n
    }
    fn drain_transmit(&mut self) -> usize {
        let t = self.transmit();
        let n = t.len();
        black_box(t);
        self.consume_transmit(n);
        n
    }
    fn input(&mut self, now: u64, bytes: &[u8]) -> usize {
        self.handle_input(now, bytes, |e| {
            black_box(&e);
        })
    }
    fn report(&self) -> u64 {
        let s = self.stats();
        let st = self.listen_state();
        black_box(&st);
        s.pushes + s.duplicates + s.bad_pushes + s.pings + self.pending_commands() as u64
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        rt::finish(1)
    };
    rt::start_clock(&mut cp.SYST);
    let secret: &[u8] = black_box(b"budget-secret");
    let creds = Credentials {
        pid: black_box(1),
        secret,
    };
    let made = cortex_m::singleton!(: Listener = match Listener::new(Config::DEFAULT, creds, black_box(7)) {
        Ok(l) => l,
        Err(_) => rt::finish(1),
    });
    let Some(l) = made else { rt::finish(1) };
    critical_section::with(|cs| *ENGINE.borrow_ref_mut(cs) = Some(l));
    let events = budget::drive();
    defmt::info!("budget-listener: {=u32} events", events);
    rt::finish(0)
}
