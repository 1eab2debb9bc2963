//! Wire-layer benchmarks: push frame decoding (ours vs rmp-serde) and `setlisten` building.
//!
//! Every benchmark reports time per operation and, through `Throughput::Elements(1)`,
//! operations (frames or quests) per second. Run with `scripts/bench.sh` or
//! `cargo bench -p rtm-listen-bench --bench wire`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtm_listen_bench::{
    BUILD_BUF_LEN, CREDS, ListenerBench, QUEST, SCRATCH_LEN, build_setlisten_flags,
    build_setlisten_ids, ours_decode, ours_decode_push, push_frames, pushroommsg_file,
    rmp_serde_decode,
};

/// `ours/decode/<frame>`: parse_frame + decode_push + the category's JSON, as the engine does.
fn ours_decode_benches(c: &mut Criterion) {
    let frames = push_frames();
    let mut g = c.benchmark_group("ours/decode");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in &frames {
        g.bench_function(*name, |b| {
            let mut scratch = [0u8; SCRATCH_LEN];
            b.iter(|| {
                let decoded = ours_decode(black_box(frame.as_slice()), &mut scratch);
                black_box(&decoded);
            })
        });
    }
    g.finish();
}

/// `ours/decode_no_json/pushroommsg_file`: the msgpack half alone (parse_frame + decode_push),
/// to compare with rmp-serde, which does not parse the file JSON either.
fn ours_decode_no_json_benches(c: &mut Criterion) {
    let frame = pushroommsg_file();
    let mut g = c.benchmark_group("ours/decode_no_json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pushroommsg_file", |b| {
        b.iter(|| {
            let decoded = ours_decode_push(black_box(frame.as_slice()));
            black_box(&decoded);
        })
    });
    g.finish();
}

/// `ours/listener/<frame>`: the whole engine path per push through `session::Listener`:
/// `handle_input` with its callback (decode, dedup, dispatch, JSON info), and the
/// 17-byte answer taken with `transmit` + `consume_transmit`. Each frame gets a fresh mid, so
/// the duplicate filter always misses.
fn ours_listener_benches(c: &mut Criterion) {
    let frames = push_frames();
    let mut g = c.benchmark_group("ours/listener");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in &frames {
        g.bench_function(*name, |b| {
            let mut l = ListenerBench::new(frame);
            b.iter(|| black_box(l.push()))
        });
    }
    g.finish();
}

/// `rmp_serde/decode/<frame>`: the baseline, rmp-serde into owned structs (dropped each time).
fn rmp_serde_decode_benches(c: &mut Criterion) {
    let frames = push_frames();
    let mut g = c.benchmark_group("rmp_serde/decode");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in &frames {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(rmp_serde_decode(black_box(frame.as_slice()))))
        });
    }
    g.finish();
}

/// `ours/build/setlisten_*`: signed `setlisten` quests into a stack buffer, MD5 included.
fn build_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("ours/build");
    g.throughput(Throughput::Elements(1));
    g.bench_function("setlisten_ids", |b| {
        let mut out = [0u8; BUILD_BUF_LEN];
        b.iter(|| {
            let n = build_setlisten_ids(&mut out, black_box(&CREDS), black_box(QUEST));
            black_box(&out);
            black_box(n)
        })
    });
    g.bench_function("setlisten_flags", |b| {
        let mut out = [0u8; BUILD_BUF_LEN];
        b.iter(|| {
            let n = build_setlisten_flags(&mut out, black_box(&CREDS), black_box(QUEST));
            black_box(&out);
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    ours_decode_benches,
    ours_decode_no_json_benches,
    ours_listener_benches,
    rmp_serde_decode_benches,
    build_benches
);
criterion_main!(benches);
