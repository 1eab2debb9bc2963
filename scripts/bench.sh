#!/usr/bin/env bash
# Wire-layer benchmarks of rtm-listen (see BENCHMARKS.md).
#
#   scripts/bench.sh [criterion options...]
#
# (a) criterion: `cargo bench -p rtm-listen-bench --bench wire`, with any arguments passed to
#     criterion (e.g. `--warm-up-time 1 --measurement-time 3`, or a filter such as `ours/`);
# (b) if valgrind is installed: exact instructions per operation, from the fixed-work `instr`
#     binary under callgrind, as (Ir(N iterations) - Ir(0 iterations)) / N, which cancels the
#     process start-up and fixture setup; and heap allocations per operation, from memcheck's
#     "total heap usage" the same way (1000 iterations).
#
# The operations are the criterion ids (`instr list`): ours/decode, ours/decode_no_json and
# ours/listener (the whole engine path per push through session::Listener) for each push frame,
# rmp_serde/decode for the same frames, and ours/build for the signed setlisten quests.
#
# Environment: INSTR_ITERS (default 20000) iterations per callgrind run; SKIP_CRITERION=1 or
# SKIP_INSTR=1 to run only one half; INSTR_ANNOTATE=1 also prints callgrind_annotate's
# per-function table for each operation; CARGO_TARGET_DIR is honoured (the fixed-work binary is
# taken from it).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh

if [[ "${SKIP_CRITERION:-0}" != 1 ]]; then
    step "criterion: cargo bench -p rtm-listen-bench --bench wire -- $*"
    cargo bench -p rtm-listen-bench --bench wire -- "$@"
fi

if [[ "${SKIP_INSTR:-0}" == 1 ]]; then
    exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
    step "callgrind: skipped (valgrind not installed)"
    exit 0
fi

iters="${INSTR_ITERS:-20000}"
step "valgrind: instructions (callgrind, (Ir($iters) - Ir(0)) / $iters) and allocations per op"
cargo build --release -p rtm-listen-bench --bin instr
bin="$TGT/release/instr"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions (Ir) of one run of `instr <op> <n>`.
total_ir() {
    local out="$tmp/callgrind.$2.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" "$2" 2>/dev/null
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# Heap allocations (malloc/calloc/realloc calls) of one run of `instr <op> <n>`.
total_allocs() {
    valgrind "$bin" "$1" "$2" 2>&1 | awk '/total heap usage:/ { gsub(",", "", $5); print $5 }'
}

printf '%-36s %12s %12s\n' operation "instr/op" "allocs/op"
for op in $("$bin" list); do
    base=$(total_ir "$op" 0)
    full=$(total_ir "$op" "$iters")
    alloc0=$(total_allocs "$op" 0)
    alloc1=$(total_allocs "$op" 1000)
    awk -v op="$op" -v a="$base" -v b="$full" -v n="$iters" -v m0="$alloc0" -v m1="$alloc1" \
        'BEGIN { printf "%-36s %12.1f %12.2f\n", op, (b - a) / n, (m1 - m0) / 1000 }'
    if [[ "${INSTR_ANNOTATE:-0}" == 1 ]]; then
        # Self cost by source file:function (inlined code is listed under its own source file);
        # divide by the iteration count for per-operation figures.
        callgrind_annotate --auto=no --threshold=95 "$tmp/callgrind.$iters.out" |
            sed -n '/file:function/,$p' | awk 'NR <= 25' # reads to the end: no SIGPIPE under pipefail
    fi
done

# The same chat push through the C ABI, from C (ffi-tests/bench/push.c): receive, the
# push_p2p_chat callback with its view, the answer sent; pull mode (rtm_listener_transmit and
# rtm_listener_transmit_done) and push mode (rtm_config.transport.send: one call per push); the
# C library as shipped (FPNN encryption compiled in) and without the feature.
step "C ABI: instructions per chat and file push from C, info parsed before the callback (eager) or never asked for (lazy) (callgrind, (Ir($iters) - Ir(0)) / $iters)"
c_ir() { # ITERATIONS [eager|lazy] [chat|file] [pull|push]
    valgrind --tool=callgrind --callgrind-out-file="$tmp/c.$1.out" "$tmp/c_push" "$@" >/dev/null 2>&1
    awk '/^(summary|totals):/ { print $2; exit }' "$tmp/c.$1.out"
}
for lib in default plaintext; do
    features=()
    [[ $lib == plaintext ]] && features=(--no-default-features)
    cargo build -q --release -p rtm-listen-ffi "${features[@]}"
    ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iinclude ffi-tests/bench/push.c \
        "$TGT/release/librtm_listen.a" -o "$tmp/c_push"
    for transport in pull push; do
        for mode in eager lazy; do
            for kind in chat file; do
                awk -v a="$(c_ir 0 $mode $kind $transport)" -v b="$(c_ir "$iters" $mode $kind $transport)" -v n="$iters" \
                    -v op="c_abi($lib)/$transport/$kind/$mode" 'BEGIN { printf "%-36s %12.1f\n", op, (b - a) / n }'
            done
        done
    done
done

# FPNN encryption (issue 12): the listener's whole path per chat push, encrypted (open, handle,
# answer sealed), minus the benchmark's own sealing of the push (seal_only), next to the
# plaintext push in the same build; instructions, then wall-clock ns per push as
# (t(N) - t(0)) / N of the same fixed-work binary (best of three).
step "FPNN encryption: instructions and ns per chat push (instr built with --features encryption)"
cargo build -q --release -p rtm-listen-bench --bin instr --features encryption
ns_per_op() { # OP N
    local best=""
    for _ in 1 2 3; do
        local s e z
        s=$(date +%s%N); "$bin" "$1" "$2" >/dev/null; e=$(date +%s%N)
        z=$(date +%s%N); "$bin" "$1" 0 >/dev/null; z=$(( $(date +%s%N) - z ))
        local t=$(( (e - s - z) / $2 ))
        if [[ -z $best || $t -lt $best ]]; then best=$t; fi
    done
    echo "$best"
}
plain_ir=$(( ($(total_ir ours/listener/pushmsg_chat "$iters") - $(total_ir ours/listener/pushmsg_chat 0)) / iters ))
plain_ns=$(ns_per_op ours/listener/pushmsg_chat 5000000)
printf '%-36s %12s %8s %10s %8s\n' "chat push" "instr/push" "ratio" "ns/push" "ratio"
printf '%-36s %12d %8s %10d %8s\n' "plaintext (same build)" "$plain_ir" 1.00 "$plain_ns" 1.00
for mode in stream package; do
    enc=$(( ($(total_ir ours/listener_enc/$mode/pushmsg_chat "$iters") - $(total_ir ours/listener_enc/$mode/pushmsg_chat 0)) / iters ))
    seal=$(( ($(total_ir ours/seal_only/$mode/pushmsg_chat "$iters") - $(total_ir ours/seal_only/$mode/pushmsg_chat 0)) / iters ))
    enc_ns=$(ns_per_op ours/listener_enc/$mode/pushmsg_chat 5000000)
    seal_ns=$(ns_per_op ours/seal_only/$mode/pushmsg_chat 5000000)
    awk -v m="$mode" -v i=$((enc - seal)) -v p="$plain_ir" -v t=$((enc_ns - seal_ns)) -v pt="$plain_ns" \
        'BEGIN { printf "%-36s %12d %8.2f %10d %8.2f\n", "encrypted, " m " mode", i, i / p, t, t / pt }'
done
# Wall clock of the listener alone: 500,000 pushes prepared (sealed, when encrypted) before
# the timed loop, best of five; and the AES-CFB work of one push alone (the frame decrypted
# from the input, a 17-byte answer encrypted), the floor under the encrypted rows.
printf '%-36s %10s %8s\n' "listener alone, prepared input" "ns/push" "ratio"
t_plain=$("$bin" ours/timed/plain/pushmsg_chat 500000 | awk '{ print $1 }')
printf '%-36s %10s %8s\n' "plaintext" "$t_plain" 1.00
for mode in stream package cfb_stream cfb_package; do
    t=$("$bin" ours/timed/$mode/pushmsg_chat 500000 | awk '{ print $1 }')
    awk -v m="$mode" -v t="$t" -v p="$t_plain" 'BEGIN { printf "%-36s %10.1f %8.2f\n", m, t, t / p }'
done

# WuKongIM: the listener's whole path per RECV (framing, fields, msgKey, decryption, mapping,
# duplicate filter, callback, RECVACK), minus the benchmark's server half (seal_*), plaintext
# and encrypted, next to the RTM chat push in the same build.
step "WuKongIM: instructions and ns per RECV (instr built with --features wukong)"
cargo build -q --release -p rtm-listen-bench --bin instr --features wukong
rtm_ir=$(( ($(total_ir ours/listener/pushmsg_chat "$iters") - $(total_ir ours/listener/pushmsg_chat 0)) / iters ))
rtm_ns=$(ns_per_op ours/listener/pushmsg_chat 5000000)
printf '%-36s %12s %10s\n' "per message" "instr" "ns"
printf '%-36s %12d %10d\n' "RTM chat push (same build)" "$rtm_ir" "$rtm_ns"
for kind in plain enc; do
    n=1000000
    [[ $kind == enc ]] && n=200000
    r=$(( ($(total_ir ours/wukong/recv_$kind "$iters") - $(total_ir ours/wukong/recv_$kind 0)) / iters ))
    s=$(( ($(total_ir ours/wukong/seal_$kind "$iters") - $(total_ir ours/wukong/seal_$kind 0)) / iters ))
    r_ns=$(ns_per_op ours/wukong/recv_$kind $n)
    s_ns=$(ns_per_op ours/wukong/seal_$kind $n)
    printf '%-36s %12d %10d\n' "WuKongIM RECV, $kind" $((r - s)) $((r_ns - s_ns))
done
