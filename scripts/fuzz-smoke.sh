#!/usr/bin/env bash
# Fuzz smoke test for CI: builds every cargo-fuzz target (fuzz/, nightly) and runs each one
# briefly from its committed seeds, after replaying the saved reproducers. Exits non-zero if
# any target crashes (a failed assertion is a crash).
#
#   scripts/fuzz-smoke.sh              # 10 s per target
#   FUZZ_SMOKE_SECS=60 scripts/fuzz-smoke.sh
#
# Works on a fresh machine: installs the nightly toolchain and cargo-fuzz when missing.
# Long runs (10 minutes or more per target) are documented in fuzz/README.md and RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${FUZZ_SMOKE_SECS:-10}"
source scripts/lib.sh

step "static check: the listener targets' recorded frames are the recorded vectors"
# The first four of RECORDED in fuzz/src/listener.rs (the harness of `listener` and
# `listener_enc`) are copies of frames in tests/vectors/rtm-python-sdk.json (the other two come
# from the reference's worked examples).
recorded=$(sed -n '/^const RECORDED/,/^];/p' fuzz/src/listener.rs | grep -o '"[0-9a-f]*"' | tr -d '"')
[ "$(wc -l <<<"$recorded")" = 6 ] || fail "RECORDED in fuzz/src/listener.rs: expected 6 frames"
for hex in $(head -n 4 <<<"$recorded"); do
    grep -q "\"hex\": \"$hex\"" tests/vectors/rtm-python-sdk.json ||
        fail "RECORDED frame $hex is not in tests/vectors/rtm-python-sdk.json"
done
echo "ok: 4 recorded frames match the vectors"

step "toolchain: nightly and cargo-fuzz"
ensure_nightly
if ! cargo fuzz --version >/dev/null 2>&1; then
    installing "cargo-fuzz (cargo install)"
    cargo install cargo-fuzz --locked
fi

# The smoke runs without AddressSanitizer: the crate forbids unsafe code, and ASan halves the
# executions per second. Long runs keep cargo-fuzz's default (ASan).
SAN=(--sanitizer none)

step "build all targets"
cargo +nightly fuzz build "${SAN[@]}"

status=0
# Open findings of the engine (fuzz/regressions/open/<target>/): the targets let them pass so
# that fuzzing goes on, and check them only with RTM_FUZZ_STRICT=1. Replayed that way here for
# information: once one no longer fails, the engine is fixed and the file moves to
# fuzz/regressions/<target>/ (and its allowance goes from the target).
for dir in fuzz/regressions/open/*/; do
    [ -d "$dir" ] || continue
    step "open findings of $(basename "$dir") (information, not a failure)"
    t=$(basename "$dir")
    for f in "$dir"*; do
        if RTM_FUZZ_STRICT=1 "fuzz/target/x86_64-unknown-linux-gnu/release/$t" "$f" \
            >"/tmp/fuzz-smoke-open.log" 2>&1; then
            echo "open finding $f no longer reproduces: move it to fuzz/regressions/$t/"
        else
            echo "open finding still reproduces: $f ($(grep -m1 -A1 'panicked at' /tmp/fuzz-smoke-open.log | tail -n 1))"
        fi
    done
done
for t in $(cargo +nightly fuzz list); do
    bin="fuzz/target/x86_64-unknown-linux-gnu/release/$t"
    if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
        step "$t: replay fuzz/regressions/$t"
        if ! "$bin" fuzz/regressions/"$t"/* >"/tmp/fuzz-smoke-$t-regressions.log" 2>&1; then
            tail -n 40 "/tmp/fuzz-smoke-$t-regressions.log"
            echo "FAIL: a saved reproducer of $t still crashes" >&2
            status=1
        fi
    fi
    step "$t: ${SECS} s from fuzz/seeds/$t"
    mkdir -p "fuzz/corpus/$t"
    if ! cargo +nightly fuzz run "${SAN[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -dict=fuzz/dict.txt -max_total_time="$SECS" -print_final_stats=1 \
        >"/tmp/fuzz-smoke-$t.log" 2>&1; then
        tail -n 60 "/tmp/fuzz-smoke-$t.log"
        echo "FAIL: $t crashed; the reproducer is in fuzz/artifacts/$t/" >&2
        status=1
    else
        grep -E '^stat::number_of_executed_units|^Done' "/tmp/fuzz-smoke-$t.log" || true
    fi
done

if [ "$status" -eq 0 ]; then
    step "fuzz smoke passed"
fi
exit "$status"
