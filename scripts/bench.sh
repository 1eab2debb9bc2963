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
bin="${CARGO_TARGET_DIR:-target}/release/instr"
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
# push_p2p_chat callback with its view, the answer taken and released.
step "C ABI: instructions per chat and file push from C, info parsed before the callback (eager) or never asked for (lazy) (callgrind, (Ir($iters) - Ir(0)) / $iters)"
cargo build -q --release -p rtm-listen-ffi
${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iinclude ffi-tests/bench/push.c \
    "${CARGO_TARGET_DIR:-target}/release/librtm_listen.a" -o "$tmp/c_push"
c_ir() { # ITERATIONS [eager|lazy] [chat|file]
    valgrind --tool=callgrind --callgrind-out-file="$tmp/c.$1.out" "$tmp/c_push" "$@" >/dev/null 2>&1
    awk '/^(summary|totals):/ { print $2; exit }' "$tmp/c.$1.out"
}
for mode in eager lazy; do
    for kind in chat file; do
        awk -v a="$(c_ir 0 $mode $kind)" -v b="$(c_ir "$iters" $mode $kind)" -v n="$iters" -v op="c_abi/listener/$kind/$mode" \
            'BEGIN { printf "%-36s %12.1f\n", op, (b - a) / n }'
    done
done
