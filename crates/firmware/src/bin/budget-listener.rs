//! Budget build, listener side: the shared driver (`budget.rs`) over the real listener with
//! the default capacities, kept like the firmware keeps it (a `singleton!` in .bss, shared
//! with the RX interrupt through `critical_section::Mutex`). See `budget-baseline.rs`.
//!
//! With the `encryption` feature (`budget-listener-enc.rs`) it also turns FPNN encryption on,
//! the way a firmware would: the server's public key from its raw `X || Y` (checked on the
//! curve), the mode and key size, and entropy.
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
    #[cfg(feature = "encryption")]
    encrypt(l);
    critical_section::with(|cs| *ENGINE.borrow_ref_mut(cs) = Some(l));
    let events = budget::drive();
    defmt::info!("budget-listener: {=u32} events", events);
    rt::finish(0)
}

/// The server's public key, raw `X || Y` on secp256r1 (the private key 0x1111).
#[cfg(feature = "encryption")]
const SERVER_KEY: [u8; 64] = [
    0x0d, 0xcc, 0x76, 0x48, 0xc7, 0x8a, 0x31, 0x18, 0xf2, 0x61, 0x28, 0x66, 0xfe, 0x83, 0xef, 0x19,
    0xf4, 0x03, 0x04, 0xf6, 0x23, 0x39, 0x9e, 0x12, 0x11, 0xa1, 0x0f, 0x2b, 0x3d, 0x1c, 0x05, 0xcf,
    0x30, 0xe8, 0x02, 0x76, 0x77, 0xbc, 0xb9, 0x12, 0x94, 0x3e, 0x99, 0xff, 0x71, 0x14, 0x0e, 0xa9,
    0xbc, 0x24, 0x71, 0x3b, 0xe1, 0xb7, 0x5c, 0x31, 0xff, 0x40, 0x54, 0x72, 0x4c, 0x4f, 0x9d, 0x00,
];

/// Turns FPNN encryption on, with every input through `black_box` (both modes and key sizes
/// reachable).
#[cfg(feature = "encryption")]
fn encrypt(l: &mut Listener) {
    use rtm_listen::crypto::{Bits, Curve, ServerPublicKey};
    use rtm_listen::session::{Encryption, EncryptionMode};
    let Ok(key) = ServerPublicKey::from_raw(Curve::Secp256r1, black_box(&SERVER_KEY)) else {
        rt::finish(1)
    };
    let mode = if black_box(true) {
        EncryptionMode::Package
    } else {
        EncryptionMode::Stream
    };
    let bits = if black_box(true) {
        Bits::Aes128
    } else {
        Bits::Aes256
    };
    let entropy: &[u8] = black_box(&[0x5a; 32]);
    if l.set_encryption(Some(Encryption::new(key, mode, bits)), entropy)
        .is_err()
    {
        rt::finish(1)
    }
    l.add_entropy(black_box(&[0xa5; 32]));
}
