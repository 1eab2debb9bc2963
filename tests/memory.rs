//! The listener's RAM, as documented in README.md, checked.

use core::mem::size_of;

use rtm_listen::config::{DEDUP_CAPACITY, JSON_SCRATCH, LISTEN_IDS, PENDING_QUESTS};
use rtm_listen::session::{FixedListener, Listener};

#[test]
fn default_listener_fits_its_documented_budget() {
    let total = size_of::<Listener>();
    let buffers = 4096 + 1024;
    let state = total - buffers;
    println!("Listener: {total} bytes, {state} beyond the RX/TX buffers");
    // README.md: dedup 1,552 + desired, confirmed and in-flight listen ids 3 × 584 + pending
    // commands 192 + secret 64, plus bookkeeping (JSON scratch belongs to the host since
    // parsing is on demand). The budget for the engine's own state is 5 KiB.
    assert_eq!(
        (DEDUP_CAPACITY, LISTEN_IDS, PENDING_QUESTS, JSON_SCRATCH),
        (128, 64, 8, 256)
    );
    // FPNN encryption adds the two AES-CFB states (room for AES-256 key schedules), the
    // server's key and the key generator: README.md documents 2.5 KiB more.
    let (state_budget, total_budget) = if cfg!(feature = "fpnn-encryption") {
        (7_680, 12_800)
    } else {
        (5 * 1024, 10 * 1024)
    };
    assert!(state <= state_budget, "engine state is {state} bytes");
    assert!(total <= total_budget, "listener is {total} bytes");
}

#[test]
fn buffers_are_const_generic() {
    let small = size_of::<FixedListener<1024, 768>>();
    let big = size_of::<FixedListener<65536, 4096>>();
    assert_eq!(big - small, (65536 - 1024) + (4096 - 768));
}
