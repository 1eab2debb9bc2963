//! Budget build, baseline side: the same runtime and the same driver as `budget-listener.rs`,
//! over an engine that only hides its inputs from the optimiser. What `budget-listener` has
//! beyond this binary is the listener's cost (scripts/firmware.sh subtracts the two).
#![no_std]
#![no_main]

#[path = "../budget.rs"]
mod budget;
#[path = "../rt.rs"]
mod rt;

use core::hint::black_box;

use defmt_semihosting as _;
use rtm_listen::rtm::listen::ListenFlags;
use rtm_listen::session::CloseReason;

/// Does nothing; every argument goes to `black_box`.
struct Null(u32);

budget::engine_slot!(Null);

impl budget::Engine for Null {
    fn set_unix_time(&mut self, now: u64, unix_ms: i64) {
        black_box((now, unix_ms));
    }
    fn connected(&mut self, now: u64) {
        black_box(now);
    }
    fn connect_failed(&mut self, now: u64, reason: CloseReason) {
        black_box((now, reason));
    }
    fn closed(&mut self, now: u64, reason: CloseReason) {
        black_box((now, reason));
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
        black_box((now, op, gids, rids, uids, events));
        true
    }
    fn listen_all(&mut self, now: u64, flags: ListenFlags) -> bool {
        black_box((now, flags));
        true
    }
    fn timeout(&mut self, now: u64) {
        black_box(now);
    }
    fn next_wakeup(&self) -> Option<u64> {
        black_box(None)
    }
    fn drain_events(&mut self) -> u32 {
        black_box(0)
    }
    fn drain_transmit(&mut self) -> usize {
        black_box(0)
    }
    fn input(&mut self, now: u64, bytes: &[u8]) -> usize {
        self.0 = self.0.wrapping_add(1);
        black_box((now, bytes)).1.len()
    }
    fn report(&self) -> u64 {
        black_box(u64::from(self.0))
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        rt::finish(1)
    };
    rt::start_clock(&mut cp.SYST);
    let Some(e) = cortex_m::singleton!(: Null = Null(black_box(0))) else {
        rt::finish(1)
    };
    critical_section::with(|cs| *ENGINE.borrow_ref_mut(cs) = Some(e));
    let events = budget::drive();
    defmt::info!("budget-baseline: {=u32} events", events);
    rt::finish(0)
}
