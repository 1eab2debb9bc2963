//! Fixed-work driver for callgrind: runs one operation a given number of times.
//!
//! ```text
//! instr <op> <iterations>
//! instr list
//! ```
//!
//! The operation names are the criterion benchmark ids. Setup (building the fixtures) is the
//! same whatever the count, so `(Ir(N) - Ir(0)) / N` under `valgrind --tool=callgrind` is the
//! exact instruction count of one operation; `scripts/bench.sh` does that.
//!
//! `instr ours/timed/{plain|stream|package}/<frame> <N>` prints wall-clock ns per push of the
//! listener alone instead: `N` pushes prepared (and sealed, when encrypted) before the timed
//! loop, best of five.

use std::hint::black_box;
use std::process::ExitCode;

#[cfg(feature = "encryption")]
use rtm_listen::crypto::Curve;
#[cfg(feature = "encryption")]
use rtm_listen::session::EncryptionMode;
#[cfg(feature = "encryption")]
use rtm_listen_bench::enc;
use rtm_listen_bench::{
    BUILD_BUF_LEN, CREDS, ListenerBench, QUEST, SCRATCH_LEN, build_setlisten_flags,
    build_setlisten_ids, ours_decode, ours_decode_push, push_frames, rmp_serde_decode,
    unfiltered_frames,
};

const OPS: [&str; 16] = [
    "ours/decode/pushmsg_chat",
    "ours/decode/pushgroupmsg_cmd",
    "ours/decode/pushroommsg_file",
    "ours/decode_no_json/pushmsg_chat",
    "ours/decode_no_json/pushgroupmsg_cmd",
    "ours/decode_no_json/pushroommsg_file",
    "ours/listener/pushmsg_chat",
    "ours/listener/pushgroupmsg_cmd",
    "ours/listener/pushroommsg_file",
    "ours/listener/pushevent",
    "ours/listener/ping",
    "rmp_serde/decode/pushmsg_chat",
    "rmp_serde/decode/pushgroupmsg_cmd",
    "rmp_serde/decode/pushroommsg_file",
    "ours/build/setlisten_ids",
    "ours/build/setlisten_flags",
];

#[inline(never)]
fn loop_ours_decode(frame: &[u8], n: u64) {
    let mut scratch = [0u8; SCRATCH_LEN];
    for _ in 0..n {
        let decoded = ours_decode(black_box(frame), &mut scratch);
        black_box(&decoded);
    }
}

#[inline(never)]
fn loop_ours_decode_push(frame: &[u8], n: u64) {
    for _ in 0..n {
        let decoded = ours_decode_push(black_box(frame));
        black_box(&decoded);
    }
}

/// The listener is created outside the loop: with 0 iterations the setup is the same.
#[inline(never)]
fn loop_listener(frame: &[u8], n: u64) {
    let mut b = ListenerBench::new(frame);
    for _ in 0..n {
        black_box(b.push());
    }
}

/// The encrypted listener: each push sealed by the server's half, then the listener's path.
#[cfg(feature = "encryption")]
#[inline(never)]
fn loop_listener_enc(frame: &[u8], mode: EncryptionMode, n: u64) {
    let mut b = enc::EncListenerBench::new(frame, mode);
    for _ in 0..n {
        black_box(b.push());
    }
}

/// The server's half of [`loop_listener_enc`] alone (to subtract).
#[cfg(feature = "encryption")]
#[inline(never)]
fn loop_seal_only(frame: &[u8], mode: EncryptionMode, n: u64) {
    let mut b = enc::EncListenerBench::new(frame, mode);
    for _ in 0..n {
        black_box(b.seal_only());
    }
}

/// The listener's side of a key exchange on `curve`, once per new connection.
#[cfg(feature = "encryption")]
#[inline(never)]
fn loop_handshake(curve: Curve, n: u64) {
    let mut b = enc::HandshakeBench::new(curve);
    for i in 0..n {
        black_box(b.connect(10 + i));
    }
}

/// The WuKongIM listener per RECV (`encrypt`: with payload encryption; `seal`: the server's
/// half alone, to subtract).
#[cfg(feature = "wukong")]
#[inline(never)]
fn loop_wukong(encrypt: bool, seal: bool, n: u64) {
    let mut b = rtm_listen_bench::wk::WkBench::new(encrypt);
    for _ in 0..n {
        if seal {
            black_box(b.seal_only());
        } else {
            black_box(b.recv());
        }
    }
}

/// The time `feed` takes over the inputs of `wire` that end at `ends`, one by one.
fn time_each<R>(
    wire: &[u8],
    ends: &[usize],
    mut feed: impl FnMut(&[u8]) -> R,
) -> std::time::Duration {
    let t = std::time::Instant::now();
    let mut start = 0;
    for &end in ends {
        black_box(feed(&wire[start..end]));
        start = end;
    }
    t.elapsed()
}

/// Wall-clock ns per push of the listener alone, best of five runs of `n` pushes prepared
/// beforehand (sealed by the server's half when encrypted, so its cost is not in the loop):
/// `mode` plain, stream or package.
#[inline(never)]
fn timed(frame: &[u8], mode: &str, n: u64) -> f64 {
    let n = usize::try_from(n).unwrap_or(usize::MAX).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let ns = match mode {
            "plain" => {
                let mut b = ListenerBench::new(frame);
                let (wire, ends) = b.prepare(n);
                time_each(&wire, &ends, |input| b.feed(input))
            }
            #[cfg(feature = "encryption")]
            "cfb_stream" | "cfb_package" => {
                // The AES-CFB work of an encrypted push alone: the frame decrypted from the
                // input into a receive buffer, a 17-byte answer encrypted in place.
                use rtm_listen::crypto::AesCfb;
                let package = mode == "cfb_package";
                let mut server = AesCfb::new_128(&[7; 16], &[9; 16]);
                let mut wire = Vec::with_capacity(n * frame.len());
                for _ in 0..n {
                    let at = wire.len();
                    wire.extend_from_slice(frame);
                    if package {
                        server.reset();
                    }
                    server.encrypt(&mut wire[at..]);
                }
                let mut open = AesCfb::new_128(&[7; 16], &[9; 16]);
                let mut seal = AesCfb::new_128(&[7; 16], &[9; 16]);
                let mut rx = vec![0u8; 4096];
                let mut answer = [0u8; 17];
                let t = std::time::Instant::now();
                for input in wire.chunks_exact(frame.len()) {
                    if package {
                        open.reset();
                        seal.reset();
                    }
                    open.decrypt_from(input, &mut rx);
                    black_box(&rx);
                    answer[..8].copy_from_slice(&rx[..8]);
                    seal.encrypt(&mut answer);
                    black_box(&answer);
                }
                t.elapsed()
            }
            #[cfg(feature = "encryption")]
            _ => {
                let mode = if mode == "stream" {
                    EncryptionMode::Stream
                } else {
                    EncryptionMode::Package
                };
                let mut b = enc::EncListenerBench::new(frame, mode);
                let (wire, ends) = b.prepare(n);
                time_each(&wire, &ends, |input| b.feed(input))
            }
            #[cfg(not(feature = "encryption"))]
            _ => return f64::NAN,
        };
        best = best.min(ns.as_nanos() as f64 / n as f64);
    }
    best
}

#[inline(never)]
fn loop_rmp_serde_decode(frame: &[u8], n: u64) {
    for _ in 0..n {
        black_box(rmp_serde_decode(black_box(frame)).is_ok());
    }
}

#[inline(never)]
fn loop_build_ids(n: u64) {
    let mut out = [0u8; BUILD_BUF_LEN];
    for _ in 0..n {
        let len = build_setlisten_ids(&mut out, black_box(&CREDS), black_box(QUEST));
        black_box(&out);
        black_box(len.is_ok());
    }
}

#[inline(never)]
fn loop_build_flags(n: u64) {
    let mut out = [0u8; BUILD_BUF_LEN];
    for _ in 0..n {
        let len = build_setlisten_flags(&mut out, black_box(&CREDS), black_box(QUEST));
        black_box(&out);
        black_box(len.is_ok());
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: instr <op> <iterations> | instr list");
    eprintln!("ops: {}", OPS.join(" "));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("list") {
        for op in OPS {
            println!("{op}");
        }
        return ExitCode::SUCCESS;
    }
    let [op, n] = args.as_slice() else {
        return usage();
    };
    let Ok(n) = n.parse::<u64>() else {
        return usage();
    };
    let frames = push_frames();
    let unfiltered = unfiltered_frames();
    let frame = |name: &str| {
        frames
            .iter()
            .chain(unfiltered.iter())
            .find(|(f, _)| *f == name)
            .map(|(_, bytes)| bytes.as_slice())
    };
    match op.split('/').collect::<Vec<_>>().as_slice() {
        ["ours", "decode", name] if frame(name).is_some() => {
            loop_ours_decode(frame(name).unwrap_or_default(), n)
        }
        ["ours", "decode_no_json", name] if frame(name).is_some() => {
            loop_ours_decode_push(frame(name).unwrap_or_default(), n)
        }
        ["ours", "listener", name] if frame(name).is_some() => {
            loop_listener(frame(name).unwrap_or_default(), n)
        }
        [
            "ours",
            "timed",
            mode @ ("plain" | "stream" | "package" | "cfb_stream" | "cfb_package"),
            name,
        ] if frame(name).is_some() => {
            println!(
                "{:.1} ns per push",
                timed(frame(name).unwrap_or_default(), mode, n)
            );
        }
        ["rmp_serde", "decode", name] if frame(name).is_some() => {
            loop_rmp_serde_decode(frame(name).unwrap_or_default(), n)
        }
        #[cfg(feature = "encryption")]
        ["ours", "listener_enc", mode, name] if frame(name).is_some() => {
            let mode = match *mode {
                "stream" => EncryptionMode::Stream,
                _ => EncryptionMode::Package,
            };
            loop_listener_enc(frame(name).unwrap_or_default(), mode, n)
        }
        #[cfg(feature = "encryption")]
        ["ours", "seal_only", mode, name] if frame(name).is_some() => {
            let mode = match *mode {
                "stream" => EncryptionMode::Stream,
                _ => EncryptionMode::Package,
            };
            loop_seal_only(frame(name).unwrap_or_default(), mode, n)
        }
        #[cfg(feature = "encryption")]
        ["ours", "handshake", curve] => match Curve::from_name(curve) {
            Some(c) => loop_handshake(c, n),
            None => return usage(),
        },
        #[cfg(feature = "wukong")]
        ["ours", "wukong", kind] => match *kind {
            "recv_plain" => loop_wukong(false, false, n),
            "seal_plain" => loop_wukong(false, true, n),
            "recv_enc" => loop_wukong(true, false, n),
            "seal_enc" => loop_wukong(true, true, n),
            _ => return usage(),
        },
        ["ours", "build", "setlisten_ids"] => loop_build_ids(n),
        ["ours", "build", "setlisten_flags"] => loop_build_flags(n),
        _ => return usage(),
    }
    ExitCode::SUCCESS
}
