#!/usr/bin/env bash
# The pure-Rust tests of the wire core, the RTM layer and the listener, and the C ABI's Rust-side
# tests (raw handles, re-entry, callbacks with borrowed views), under Miri (nightly): undefined
# behaviour, out-of-bounds access, dangling views and leaks fail the run.
#
# Works on a fresh machine: installs the nightly toolchain, miri and rust-src when missing.
# The proptests that compare two implementations over thousands of generated inputs are
# skipped (they fix their own case counts and take minutes each under Miri; their code paths
# are covered by the tests that do run and by the fuzzers). The other proptests run with 4
# cases. Recorded runs: RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh

step "toolchain: nightly with miri and rust-src"
ensure_nightly
rustup component add --toolchain nightly miri rust-src >/dev/null
cargo +nightly miri setup >/dev/null 2>&1 || cargo +nightly miri setup

SKIPS=(--skip canonical_pass_agrees_with_the_exact_pass --skip fast_pass_agrees_with_the_exact_pass
       --skip event_fast_path_agrees_with_the_exact_decoder --skip expect_key_agrees_with_the_exact_key_reader
       --skip fast_reads_match_exact_reads --skip parsers_match_the_reference
       --skip scanner_matches_the_reference --skip moves_match_copy_within --skip matches_std
       --skip matches_md5_in_any_split --skip every_padding_boundary_matches_md5
       --skip complete_frame_agrees_with_the_exact_parser --skip tag_lookup_agrees_with_a_plain_scan
       --skip windowed_reads_agree_with_key_then_value --skip cached_seconds_are_the_clocks_seconds
       --skip every_text_length_and_block_edge_matches_the_reference --skip one_shot_matches_md5_at_every_length
       --skip one_pass_matches_the_generic_path_at_the_edges --skip fast_scan_agrees_with_the_exact_scanner
       --skip fast_scan_takes_well_formed_objects --skip rtm_shaped_json_parses_as_the_reference
       --skip one_pass_matches_the_generic_path --skip sign_matches_the_reference --skip fast_text_matches_core_fmt
       --skip straight_lexing_agrees_with_the_exact_scanner --skip straight_lexing_takes_compact_values
       --skip straight_scans_agree_with_the_keyed_scans_and_the_exact_parsers
       --skip straight_scans_on_random_bytes)
FEATURES=(-p rtm-listen --features std,embedded-io,wukong)
export PROPTEST_CASES=4

step "build the test binaries for Miri"
cargo +nightly miri test "${FEATURES[@]}" --lib --test session --test monitor \
    --test vectors --test worked_examples --test wukong_vectors --no-run

# Two interpreters at once, one per core: each half takes about a minute.
step "run: unit tests, session and monitor | vectors and worked examples (these read files)"
log=$(mktemp -d)
cargo +nightly miri test "${FEATURES[@]}" --lib --test session --test monitor -- "${SKIPS[@]}" \
    >"$log/a" 2>&1 &
a=$!
MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test "${FEATURES[@]}" \
    --test vectors --test worked_examples --test wukong_vectors >"$log/b" 2>&1 &
b=$!
status=0
wait "$a" || status=1
wait "$b" || status=1
# The C ABI's tests, all but the header drift check (it runs cbindgen over the sources: no code
# of ours to check). The push test's frames come from the gate simulator, which reads the clock.
MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test -p rtm-listen-ffi -- \
    --skip header_matches_a_fresh_generation \
    >"$log/c" 2>&1 || status=1
for f in "$log/a" "$log/b" "$log/c"; do
    grep -E "^(test result|error|thread|Undefined|     Running)" "$f" || true
done
if [ "$status" != 0 ]; then
    echo "FAIL: Miri reported an error; full logs:" >&2
    cat "$log/a" "$log/b" "$log/c" >&2
    exit 1
fi
rm -rf "$log"
echo "miri: no undefined behaviour"
