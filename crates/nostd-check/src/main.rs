//! Proof that the core needs neither `std` nor `alloc`.
//!
//! This binary is `no_std` and `no_main`, and defines no `#[global_allocator]`: if the core
//! used `alloc` anywhere, linking would fail with "no global memory allocator found". It then
//! runs a real decode (a recorded `pushmsg`), builds a `setlisten` and an answer, checks the
//! results, and exits 0 on success.
#![no_std]
#![no_main]

#[cfg(feature = "use-alloc")]
extern crate alloc;

use rtm_listen::rtm::answer::build_empty_answer;
use rtm_listen::rtm::dispatch::Callback;
use rtm_listen::rtm::listen::{Credentials, ListenIds, ListenOp, QuestIds, build_listen};
use rtm_listen::rtm::push::{Push, decode_push};
use rtm_listen::wire::frame::{Frame, Status, parse_frame};

unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, len: usize) -> isize;
    fn _exit(code: i32) -> !;
}

fn say(msg: &[u8]) {
    // SAFETY: `msg` is a valid slice for the duration of the call.
    unsafe {
        write(1, msg.as_ptr(), msg.len());
    }
}

fn finish(ok: bool) -> ! {
    say(if ok {
        b"nostd-check: ok\n"
    } else {
        b"nostd-check: FAILED\n"
    });
    // SAFETY: `_exit` never returns and needs no libc initialisation.
    unsafe { _exit(if ok { 0 } else { 1 }) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    say(b"nostd-check: panic\n");
    // SAFETY: `_exit` never returns and needs no libc initialisation.
    unsafe { _exit(101) }
}

/// Only referenced by unoptimised builds of `core`.
#[cfg(debug_assertions)]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

/// The `pushmsg` frame recorded from the official Python SDK.
const PUSHMSG: &[u8] = &[
    0x46, 0x50, 0x4e, 0x4e, 0x00, 0x80, 0x01, 0x07, 0x43, 0x00, 0x00, 0x00, 0x65, 0x00, 0x00, 0x00,
    0x70, 0x75, 0x73, 0x68, 0x6d, 0x73, 0x67, 0x87, 0xa4, 0x66, 0x72, 0x6f, 0x6d, 0xcd, 0x03, 0xe9,
    0xa2, 0x74, 0x6f, 0xcd, 0x03, 0xea, 0xa3, 0x6d, 0x69, 0x64, 0xcf, 0x17, 0x97, 0x9c, 0xfe, 0x3d,
    0x7e, 0xd4, 0xc1, 0xa5, 0x6d, 0x74, 0x79, 0x70, 0x65, 0x1e, 0xa3, 0x6d, 0x73, 0x67, 0xa5, 0x68,
    0x65, 0x6c, 0x6c, 0x6f, 0xa5, 0x61, 0x74, 0x74, 0x72, 0x73, 0xa0, 0xa5, 0x6d, 0x74, 0x69, 0x6d,
    0x65, 0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x69, 0xc8,
];

fn run() -> bool {
    let Ok(Status::Complete(
        Frame::Quest {
            seq,
            method,
            payload,
        },
        90,
    )) = parse_frame(PUSHMSG, 4096)
    else {
        return false;
    };
    let Ok(Push::Message(m)) = decode_push(method, payload) else {
        return false;
    };
    let decoded = seq == Some(101)
        && m.from == 1001
        && m.to == 1002
        && m.mid == 1_700_000_000_123_000_001
        && m.msg == b"hello"
        && m.callback() == Callback::PushP2PChat;

    let mut out = [0u8; 256];
    let answered = build_empty_answer(&mut out, 101) == Ok(17);
    let creds = Credentials {
        pid: 1,
        secret: b"s",
    };
    let ids = ListenIds {
        gids: &[7],
        rids: &[],
        uids: &[9],
        events: &[] as &[&str],
    };
    let q = QuestIds {
        seq: 1,
        salt: 2,
        ts: 3,
    };
    let built = build_listen(&mut out, &creds, q, ListenOp::Set, &ids) == Ok(94)
        && out[38..70] == *b"A5D0D98322E3BCDCE4AC9F1D623C36A4";
    decoded && answered && built
}

extern "C" fn start() -> ! {
    finish(run())
}

// The kernel enters `_start` with a 16-byte aligned stack and no return address; the C ABI
// expects `rsp + 8` to be aligned on entry to a function, so align and `call` into Rust.
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start,
);
