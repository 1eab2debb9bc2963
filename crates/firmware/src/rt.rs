//! The board runtime shared by the firmware binaries: clock, wire, interrupts, exit, panic and
//! stack measurement. Included with `#[path]` by each binary, so that the budget baseline
//! (`src/bin/budget-baseline.rs`) carries exactly the same runtime as the listener builds.
//!
//! The module that includes it (its `super`: a binary's root, or the module an `-enc` binary
//! loads the same source as) provides `fn on_rx(cs, now, wire)`: what the RX interrupt does
//! with the bytes.
#![allow(dead_code)]

use core::cell::{Cell, RefCell};
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::peripheral::SCB;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use heapless::Deque;

/// The core clock of mps2-an386 (25 MHz): SysTick reload for 1 ms.
const SYSTICK_RELOAD: u32 = 25_000 - 1;
/// Depth of the wire FIFO (a UART's would be 16–64 bytes): frames arrive in pieces.
pub const FIFO: usize = 64;

/// Milliseconds since boot, advanced by SysTick (and by [`warp`] to skip idle time). A `u64`
/// that a Cortex-M4 cannot update atomically: shared under the critical section.
pub static MILLIS: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));
/// SysTick interrupts taken.
pub static TICKS: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));
/// The wire: bytes received from the peer, not yet taken by the RX interrupt's consumer.
pub static WIRE: Mutex<RefCell<Deque<u8, FIFO>>> = Mutex::new(RefCell::new(Deque::new()));
/// RX interrupts taken.
pub static RX_IRQS: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

defmt::timestamp!(
    "{=u64:ms}",
    critical_section::with(|cs| MILLIS.borrow(cs).get())
);

/// Ends the run with a semihosting exit status (QEMU exits with it).
pub fn finish(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    static PANICKED: AtomicBool = AtomicBool::new(false);
    if !PANICKED.swap(true, Ordering::Relaxed) {
        defmt::error!("panic: {}", defmt::Display2Format(info));
    }
    finish(1)
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ms = MILLIS.borrow(cs);
        ms.set(ms.get() + 1);
        let t = TICKS.borrow(cs);
        t.set(t.get() + 1);
    });
}

/// The RX interrupt (PendSV stands in for a UART/Ethernet RX interrupt: it needs no PAC).
#[exception]
fn PendSV() {
    critical_section::with(|cs| {
        let now = MILLIS.borrow(cs).get();
        let irqs = RX_IRQS.borrow(cs);
        irqs.set(irqs.get() + 1);
        super::on_rx(cs, now, &mut WIRE.borrow_ref_mut(cs));
    });
}

/// Raises the RX interrupt; it runs as soon as no critical section masks it.
pub fn raise_rx() {
    SCB::set_pendsv();
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
}

/// Puts bytes on the wire, as many as the FIFO takes; returns the rest.
pub fn put_on_wire(mut bytes: &[u8]) -> &[u8] {
    critical_section::with(|cs| {
        let mut wire = WIRE.borrow_ref_mut(cs);
        while let Some((&b, rest)) = bytes.split_first() {
            if wire.push_back(b).is_err() {
                break;
            }
            bytes = rest;
        }
    });
    bytes
}

/// Whether the RX interrupt has taken everything.
pub fn wire_empty() -> bool {
    critical_section::with(|cs| WIRE.borrow_ref(cs).is_empty())
}

/// Starts the 1 kHz SysTick and waits for a few ticks, so the clock is known to run.
pub fn start_clock(syst: &mut cortex_m::peripheral::SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSTICK_RELOAD);
    syst.clear_current();
    syst.enable_counter();
    syst.enable_interrupt();
    let mut spins = 0u32;
    while critical_section::with(|cs| TICKS.borrow(cs).get()) < 3 {
        cortex_m::asm::wfi();
        spins += 1;
        if spins > 100_000 {
            defmt::error!("SysTick does not fire");
            finish(1);
        }
    }
}

/// The clock.
pub fn now() -> u64 {
    critical_section::with(|cs| MILLIS.borrow(cs).get())
}

/// Skips idle time (the host slept until a deadline).
pub fn warp(ms: u64) {
    critical_section::with(|cs| {
        let m = MILLIS.borrow(cs);
        m.set(m.get() + ms);
    });
}

/// (SysTick interrupts, RX interrupts) so far.
pub fn irq_counts() -> (u32, u32) {
    critical_section::with(|cs| (TICKS.borrow(cs).get(), RX_IRQS.borrow(cs).get()))
}

// Stack measurement: a pattern painted below the stack pointer, read back after the work.

const PAINT: u32 = 0x5afe_c0de;
/// Gap kept between the caller's stack pointer and the painted region, for the painter's own
/// frame.
const GAP: usize = 128;

#[inline(always)]
fn sp() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Paints `len` bytes ending `GAP` bytes below `sp`; returns the region's lowest address.
#[inline(never)]
fn paint(sp: usize, len: usize) -> usize {
    let top = (sp - GAP) & !3;
    let bottom = top - len;
    let mut p = bottom;
    while p < top {
        // SAFETY: free RAM below the live stack (4 MiB of SRAM; .data and .bss sit at its
        // bottom). Whatever runs next may overwrite it, which is what is measured.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    bottom
}

/// The lowest address any probe saw touched (later paints erase the evidence).
static LOWEST: Mutex<Cell<usize>> = Mutex::new(Cell::new(usize::MAX));

/// The lowest address at or above `bottom` whose word lost the pattern.
fn lowest_touched(bottom: usize) -> usize {
    let mut p = bottom;
    // SAFETY: reads the painted region back.
    while unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    critical_section::with(|cs| {
        let l = LOWEST.borrow(cs);
        l.set(l.get().min(p));
    });
    p
}

/// Stack bytes used by `f` below the caller's stack pointer (interrupts taken meanwhile
/// included). `window` must exceed the use; a use that reaches the region's bottom is logged.
#[inline(never)]
pub fn stack_used_by<R>(window: usize, f: impl FnOnce() -> R) -> (R, usize) {
    let top = sp();
    let bottom = paint(top, window);
    let r = f();
    let low = lowest_touched(bottom);
    if low == bottom {
        defmt::warn!(
            "stack probe window of {=usize} bytes exhausted: a lower bound",
            window
        );
    }
    (r, top - low)
}

/// For the whole-run high-water mark: paints `len` bytes below the current stack pointer.
#[inline(never)]
pub fn paint_for_high_water(len: usize) -> usize {
    paint(sp(), len)
}

/// Bytes of stack used since reset: from the top of RAM down to the lowest touched word.
pub fn high_water(bottom: usize) -> usize {
    unsafe extern "C" {
        static _stack_start: u32;
    }
    let top = &raw const _stack_start as usize;
    let low = lowest_touched(bottom);
    if low == bottom {
        defmt::warn!("stack: the painted region was exhausted; a lower bound");
    }
    let lowest = critical_section::with(|cs| LOWEST.borrow(cs).get());
    top - low.min(lowest)
}
