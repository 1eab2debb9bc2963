#!/usr/bin/env bash
# Runs every test of rtm-listen. Works on a fresh machine: it installs what it needs, and says
# so before each install (lines starting with "installing:"):
#   - rustup targets thumbv7em-none-eabihf and thumbv6m-none-eabi (bare-metal builds);
#   - pip: cryptography and msgpack (the Python peer of the encryption tests);
#   - npm: wukongimjssdk@1.0.4 into a temporary folder (the WuKongIM oracle; skipped without node);
#   - when qemu-system-arm is present (the firmware run): defmt-print (cargo install, several
#     minutes) and, as root only, binutils-arm-none-eabi from apt if no size/nm reads ARM;
#   - scripts/cpp-client.sh: cmake, clang, pkg-config from apt when missing (with sudo when not root);
#   - scripts/ffi-tests.sh: valgrind from apt, in CI as root only (else the valgrind runs are skipped).
# CARGO_TARGET_DIR is honoured (scripts/lib.sh). .ci/run installs qemu, the ARM toolchain, the
# nightly toolchain (Miri, cargo-fuzz) itself.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
step "what this script may install"
sed -n '2,/^set -euo/p' "$0" | sed -n 's/^#   - /  - /p'

step "toolchain: bare-metal targets"
installing "rustup targets thumbv7em-none-eabihf and thumbv6m-none-eabi (when missing)"
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi >/dev/null

step "core: unit, integration and doc tests (with the log facade)"
cargo test -p rtm-listen --features std,embedded-io,log

step "async drivers: tokio end to end against the gate simulator (RTM) and the WuKongIM simulation; embedded-io-async against an in-memory FPNN peer, and for thumbv7em"
cargo test -p rtm-listen --features tokio --test tokio_driver
cargo test -p rtm-listen --features embedded-io-async --test io_async_driver
cargo test -p rtm-listen --features tokio,embedded-io-async --doc
cargo build -q -p rtm-listen --no-default-features --features embedded-io-async --target thumbv7em-none-eabihf
# Both examples against the gate simulator's demo script (every push kind, a connection
# dropped mid-frame): the simulator says SCRIPT OK only if every push was answered.
cargo build -q -p rtm-gate-sim
cargo build -q -p rtm-listen --features tokio,embedded-io-async --example tokio --example embedded_io_async
for ex in tokio embedded_io_async; do
    demo_out=$(mktemp)
    "$TGT/debug/gate-sim" --script demo >"$demo_out" 2>/dev/null &
    demo_sim=$!
    for _ in $(seq 50); do grep -q '^PORT ' "$demo_out" && break; sleep 0.1; done
    demo_port=$(sed -n 's/^PORT //p' "$demo_out")
    [ -n "$demo_port" ] || { kill "$demo_sim"; fail "gate-sim did not start"; }
    RTM_PID=1000001 RTM_SECRET=sim-secret "$TGT/debug/examples/$ex" --endpoint "127.0.0.1:$demo_port" \
        --uids 1001 --gids 2001 --rids 3001 --events login --seconds 8 >/dev/null 2>&1 &
    demo_ex=$!
    wait "$demo_sim" || { kill "$demo_ex" 2>/dev/null; cat "$demo_out"; fail "example $ex: the demo script failed"; }
    wait "$demo_ex" || fail "example $ex exited with an error"
    echo "ok: example $ex: $(grep '^SCRIPT' "$demo_out")"
done

step "FPNN encryption: example 8 byte for byte, OpenSSL (pyca/cryptography) as the peer on every curve, the encrypted session"
if ! python3 -c 'import cryptography, msgpack' 2>/dev/null; then
    installing "cryptography and msgpack (pip), the Python peer's OpenSSL and msgpack"
    python3 -m pip install -q cryptography msgpack
fi
RTM_REQUIRE_PEERS=1 cargo test -p rtm-listen --features encryption --lib --test crypto_vectors --test crypto_openssl \
    --test encrypted_session --test encrypted_peer --test in_place
cargo build -q -p rtm-listen --no-default-features --features encryption --target thumbv7em-none-eabihf

step "WuKongIM (issue 13): codec against the reference's golden vectors and hand-derived v2/v3/v5/v6 frames; payload crypto against Node's crypto (OpenSSL); npm wukongimjssdk@1.0.4 as an oracle; the listener sans-IO and end to end against the WuKongIM simulation (its own codec and crypto)"
cargo test -p rtm-listen --features wukong-encryption --lib wukong
cargo test -p rtm-listen --features wukong --lib wukong
cargo test -p rtm-listen --features wukong-encryption --test wukong_session
cargo test -p rtm-listen --features std,wukong-encryption --test wukong_e2e
cargo test -p rtm-listen --features wukong --test wukong_webhook
cargo test -p rtm-listen --features wukong-api --test wukong_api
cargo run -q --features std --example wukongim-webhook
cargo run -q --features std --example wukongim
cargo run -q --features std,wukong-encryption --example wukongim
cargo run -q --features std,wukong-encryption --example wukongim -- --plain --version 6
cargo test -p rtm-listen-bench --features wukong --lib wk
# The example's exit codes: 0 help, 2 bad arguments, 3 never connected, 4 login refused, 0 a
# real-endpoint run that logged in (against the simulation's binary, with a token).
cargo build -q -p wukong-sim
wk_bin=$TGT/debug
wk_exit() { # CODE ARGS...
    local want=$1 rc=0
    shift
    "$wk_bin/examples/wukongim" "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "wukongim $* exited $rc, expected $want"
    echo "ok: exit $rc for: wukongim $*"
}
wk_exit 0 --help
wk_exit 2 --version x
wk_exit 3 --endpoint 127.0.0.1:1 --seconds 2
wk_out=$(mktemp)
"$wk_bin/wukong-sim" 127.0.0.1:0 --token right >"$wk_out" 2>/dev/null &
wk_sim=$!
for _ in $(seq 50); do grep -q 'SIMULATION on ' "$wk_out" && break; sleep 0.1; done
wk_addr=$(sed -n 's/.*SIMULATION on \([0-9.:]*\).*/\1/p' "$wk_out")
[ -n "$wk_addr" ] || { kill "$wk_sim"; fail "wukong-sim did not start"; }
wk_exit 4 --endpoint "$wk_addr" --uid monitor --token wrong --seconds 10
wk_exit 0 --endpoint "$wk_addr" --uid monitor --token right --seconds 2
kill "$wk_sim"
RTM_REQUIRE_PEERS=1 cargo test -p rtm-listen --features wukong-encryption --test wukong_vectors --test wukong_crypto
# npm wukongimjssdk@1.0.4 as an oracle: installed into a temporary folder, never committed.
if command -v node >/dev/null && command -v npm >/dev/null; then
    wk_sdk=$(mktemp -d)
    installing "wukongimjssdk@1.0.4 (npm) into $wk_sdk, removed after the oracle test"
    npm install --silent --no-audit --no-fund --prefix "$wk_sdk" wukongimjssdk@1.0.4
    WUKONG_SDK_DIR="$wk_sdk" RTM_REQUIRE_PEERS=1 cargo test -p rtm-listen --features wukong-encryption --test wukong_oracle
    rm -rf "$wk_sdk"
else
    echo "NOTICE: node or npm missing: the WuKongIM npm oracle check is skipped"
fi
cargo build -q -p rtm-listen --no-default-features --features wukong-encryption --target thumbv7em-none-eabihf
cargo build -q -p rtm-listen --no-default-features --features wukong --target thumbv7em-none-eabihf

step "gate simulator: its own tests"
cargo test -p rtm-gate-sim
cargo test -p wukong-sim

step "the rtm-listen command (crates/cli): arguments, credentials, exit codes, JSON lines; cargo install"
cargo test -p rtm-listen-cli
cli_root=$(mktemp -d)
cargo install -q --path crates/cli --root "$cli_root" --debug --target-dir "$TGT" --locked
"$cli_root/bin/rtm-listen" --version
"$cli_root/bin/rtm-listen" --format json --quiet | python3 -c '
import json, sys
events = [json.loads(line)["event"] for line in sys.stdin]
assert "push_p2p_chat" in events and "connected" in events, events
print("ok: the installed rtm-listen printed %d JSON lines" % len(events))'
rm -rf "$cli_root"

step "C ABI: Rust-side tests of the exports and the header drift check"
cargo test -p rtm-listen-ffi

step "C and C++: harnesses (plain, ASan+UBSan, valgrind), the C++ adapter, examples/c_host.c"
scripts/ffi-tests.sh

step "C++ drop-in: RTMServerClient with the seed's code (g++/clang++, C++11/17), compile-fail cases, TSan/ASan/valgrind, CMake and pkg-config consumers"
scripts/cpp-client.sh

step "README main command: the rtm-listen command against the gate simulator (and the listen example)"
cargo run -p rtm-listen-cli
cargo run --features std --example listen

step "README usage: the simulator's demo encrypted (stream mode, AES-256, secp224r1)"
cargo run --features std,encryption --example listen -- --encrypt --stream --aes256 --curve secp224r1

step "listen example: exit codes (2 bad arguments, 3 never connected, 4 credentials refused)"
bin=$TGT/debug
cargo build -q -p rtm-gate-sim
expect_exit() { # CODE ARGS...
    local want=$1 rc=0
    shift
    "$bin/examples/listen" "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "listen $* exited $rc, expected $want"
    echo "ok: exit $rc for: $*"
}
expect_exit 0 --help
expect_exit 2 --endpoint 127.0.0.1:1
expect_exit 3 --endpoint 127.0.0.1:1 --pid 1 --secret x --gids 1 --seconds 2
sim_out=$(mktemp)
"$bin/gate-sim" --script idle >"$sim_out" 2>/dev/null &
sim=$!
for _ in $(seq 50); do grep -q '^PORT ' "$sim_out" && break; sleep 0.1; done
port=$(sed -n 's/^PORT //p' "$sim_out")
[ -n "$port" ] || { kill "$sim"; fail "gate-sim did not start"; }
expect_exit 4 --endpoint "127.0.0.1:$port" --pid 1000001 --secret wrong --gids 1 --seconds 10
expect_exit 0 --endpoint "127.0.0.1:$port" --pid 1000001 --secret sim-secret --gids 1 --seconds 2
kill "$sim"

step "publishing: cargo publish --dry-run, then the packaged crate alone: its examples and doctests"
# The package holds the library, its docs, the examples that need nothing unpublished, and no
# tests (they need the workspace's simulators); Cargo.toml's `include` says so.
cargo publish --dry-run -p rtm-listen --allow-dirty
cargo package -q -p rtm-listen --allow-dirty --no-verify
version=$(cargo pkgid -p rtm-listen | sed 's/.*[#@]//')
pkg=$(mktemp -d)
tar xzf "$TGT/package/rtm-listen-$version.crate" -C "$pkg"
pkg_features=std,tokio,embedded-io-async,encryption,wukong-encryption
cargo build -q --manifest-path "$pkg/rtm-listen-$version/Cargo.toml" --target-dir "$TGT/packaged" \
    --features "$pkg_features" --examples
cargo test -q --manifest-path "$pkg/rtm-listen-$version/Cargo.toml" --target-dir "$TGT/packaged" \
    --features "$pkg_features" --doc
rm -rf "$pkg"

step "core: every feature at once (cargo test --all-features, defmt and log included)"
cargo test -p rtm-listen --all-features

step "no allocation: no_std/no_main host binary without a global allocator"
cargo build --release -p nostd-check
"$TGT/release/nostd-check"

step "no allocation: negative control (alloc must fail to link)"
if out=$(cargo build --release -p nostd-check --features use-alloc 2>&1); then
    echo "FAIL: nostd-check built with alloc; the check cannot catch allocations" >&2
    exit 1
fi
grep -q "no global memory allocator found" <<<"$out" || {
    echo "FAIL: unexpected error from the alloc control build:" >&2
    echo "$out" >&2
    exit 1
}
echo "ok: alloc is refused"

step "bare metal: core for thumbv7em-none-eabihf and thumbv6m-none-eabi (no CAS)"
cargo build -p rtm-listen --release --target thumbv7em-none-eabihf
cargo build -p rtm-listen --release --target thumbv6m-none-eabi

step "core: the size-build paths (opt-level s sets cfg rtm_opt_size: exact decoders only, no forced inlining)"
CARGO_PROFILE_DEV_OPT_LEVEL=s CARGO_TARGET_DIR=$TGT/size \
    cargo test -p rtm-listen --features std,embedded-io --lib --test session --test vectors \
    --test worked_examples --test malformed --test chunking --test monitor

step "bare metal, for real: firmware session in qemu (mps2-an386), defmt log, budgets"
# Runs when qemu-system-arm is installed (.ci/run installs it; scripts/firmware.sh adds the
# thumbv7em target and defmt-print itself). It fails when the listener exceeds 24 KiB of flash
# or the firmware 10 KiB of static RAM (crates/firmware/BUDGETS.md).
if command -v qemu-system-arm >/dev/null; then
    scripts/firmware.sh
else
    echo "skipped: qemu-system-arm is not installed (apt-get install qemu-system-arm)"
fi

step "bare metal, for real: the C ABI tests (ffi-tests/test_c.c) on a Cortex-M4 in qemu"
# Runs when qemu-system-arm and arm-none-eabi-gcc with newlib are installed (.ci/run installs
# them).
if command -v qemu-system-arm >/dev/null && command -v arm-none-eabi-gcc >/dev/null; then
    scripts/ffi-baremetal.sh
else
    echo "skipped: needs qemu-system-arm and arm-none-eabi-gcc (apt-get install qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi)"
fi

step "all tests passed"
