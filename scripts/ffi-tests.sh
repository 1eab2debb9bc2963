#!/usr/bin/env bash
# The C and C++ side of rtm-listen: builds the release static library and the gate simulator,
# compiles the C99/C++17 test programs and examples/c_host.c (plain, and ASan+UBSan), runs
# them, runs the plain ones under valgrind memcheck, runs c_host against the simulator's demo
# plaintext and FPNN-encrypted, and exits non-zero on any failure.
# Outputs go to target/ffi-tests/. CC and CXX may be overridden (default gcc, g++).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

CC=${CC:-gcc}
CXX=${CXX:-g++}
OUT=$TGT/ffi-tests
LIB=$TGT/release/librtm_listen.a
LIB120=$OUT/cargo-ids120/release/librtm_listen.a
SIM=$TGT/release/gate-sim
WKSIM=$TGT/release/wukong-sim
CFLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude)
CXXFLAGS=(-std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinclude)
# Every reference to the allocator from the test objects and from librtm_listen.a goes through
# ffi-tests/alloc_count.c, which counts the calls (the tests assert the library made none).
WRAP=-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=posix_memalign,--wrap=aligned_alloc,--wrap=memalign
ASAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -g)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Headings with the seconds elapsed.
step() { printf '\n==> [%3ss] %s\n' "$SECONDS" "$*"; }

step "build: release static library and the gate simulator"
# Separate builds: built together, the simulator's RustCrypto dependencies (std) would unify
# their features into the no_std static library (an `alloc` it cannot link).
cargo build --release -p rtm-listen-ffi
cargo build --release -p rtm-gate-sim
cargo build --release -p wukong-sim
step "build: the library with RTM_LISTEN_IDS=120 (test_too_large.c: the transmit buffer's minimum grows)"
RTM_LISTEN_IDS=120 CARGO_TARGET_DIR=$OUT/cargo-ids120 cargo build --release -p rtm-listen-ffi
mkdir -p "$OUT/plain" "$OUT/asan"

step "static checks"
if command -v python3 >/dev/null; then
    diff -u ffi-tests/vectors.h <(python3 ffi-tests/gen_vectors.py) ||
        fail "ffi-tests/vectors.h is stale: python3 ffi-tests/gen_vectors.py > ffi-tests/vectors.h"
    echo "ok: ffi-tests/vectors.h matches tests/vectors/rtm-python-sdk.json"
else
    for hex in $(grep -o '"[0-9a-f]\{34,\}"' ffi-tests/vectors.h | tr -d '"'); do
        grep -q "\"hex\": \"$hex\"" tests/vectors/rtm-python-sdk.json || fail "vectors.h frame $hex not in the JSON"
    done
    echo "ok: every frame in ffi-tests/vectors.h is in tests/vectors/rtm-python-sdk.json (python3 absent)"
fi
undefined=$(nm -u "$LIB" 2>/dev/null | awk '$1 == "U" {print $2}' | sort -u)
grep -qx memcpy <<<"$undefined" || fail "nm -u found no undefined memcpy: cannot inspect $LIB"
if alloc=$(grep -Ex 'malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|__rust_alloc|__rust_realloc|_Znwm|_Znam' <<<"$undefined"); then
    fail "librtm_listen.a references an allocator: $alloc"
fi
echo "ok: librtm_listen.a references no allocator; undefined symbols:" $undefined

step "compile: plain (-O2 -g) and ASan+UBSan ($(${CC} --version | head -1))"
build() { # variant, extra flags...
    local v=$1
    shift
    "$CC" "${CFLAGS[@]}" "$@" -c ffi-tests/alloc_count.c -o "$OUT/$v/alloc_count.o"
    "$CC" "${CFLAGS[@]}" "$@" ffi-tests/test_c.c "$OUT/$v/alloc_count.o" "$LIB" $WRAP -o "$OUT/$v/test_c"
    "$CC" "${CFLAGS[@]}" "$@" ffi-tests/test_too_large.c "$LIB120" -o "$OUT/$v/test_too_large"
    "$CC" "${CFLAGS[@]}" "$@" ffi-tests/test_wukong.c "$OUT/$v/alloc_count.o" "$LIB" $WRAP -o "$OUT/$v/test_wukong"
    "$CXX" "${CXXFLAGS[@]}" "$@" ffi-tests/test_wukong.cpp "$LIB" -o "$OUT/$v/test_wukong_cpp"
    "$CXX" "${CXXFLAGS[@]}" -DRTM_LISTEN_VIEWS "$@" ffi-tests/test_wukong.cpp "$LIB" -o "$OUT/$v/test_wukong_cpp_views"
    "$CXX" "${CXXFLAGS[@]}" "$@" ffi-tests/test_cpp.cpp "$OUT/$v/alloc_count.o" "$LIB" $WRAP -o "$OUT/$v/test_cpp"
    "$CXX" "${CXXFLAGS[@]}" -Woverloaded-virtual "$@" ffi-tests/test_compat.cpp "$LIB" -o "$OUT/$v/test_compat"
    "$CC" "${CFLAGS[@]}" "$@" examples/c_host.c "$LIB" -o "$OUT/$v/c_host"
}
build plain -O2 -g &
build asan "${ASAN[@]}" &
wait %1 || fail "plain build"
wait %2 || fail "ASan build"
for t in test_c test_too_large test_wukong test_wukong_cpp test_wukong_cpp_views test_cpp test_compat c_host; do
    syms=$(nm "$OUT/asan/$t")
    grep -q '__asan_init' <<<"$syms" || fail "$t: AddressSanitizer runtime not linked"
    grep -q '__ubsan_handle' <<<"$syms" || fail "$t: UBSan runtime not linked"
done
echo "ok: the sanitizer builds reference __asan_init and __ubsan_handle_*"

step "compile: MyMonitor with RTM_LISTEN_VIEWS must fail (the official signatures are final there)"
if "$CXX" "${CXXFLAGS[@]}" -DRTM_FFI_TESTS_NATIVE_CONTROL -fsyntax-only \
    ffi-tests/test_compat.cpp 2>"$OUT/native_control.log"; then
    fail "MyMonitor compiled with RTM_LISTEN_VIEWS: its callbacks would never be called"
fi
final=$(grep -Ec "overriding final function|overrides a 'final' function" "$OUT/native_control.log" || true)
[ "$final" = 15 ] || fail "expected 15 'overriding final function' errors in $OUT/native_control.log, got $final"
echo "ok: 15 of MyMonitor's 16 virtuals (all but ping, the same in both flavours) refused with RTM_LISTEN_VIEWS"


step "run: plain"
run "plain test_c" "$OUT/plain/test_c" "$SIM"
run "plain test_too_large" "$OUT/plain/test_too_large"
run "plain test_wukong" "$OUT/plain/test_wukong" "$WKSIM"
run "plain test_wukong_cpp" "$OUT/plain/test_wukong_cpp" "$WKSIM"
run "plain test_wukong_cpp_views" "$OUT/plain/test_wukong_cpp_views" "$WKSIM"
run "plain test_cpp" "$OUT/plain/test_cpp" "$SIM"
run "plain test_compat" "$OUT/plain/test_compat" "$SIM"

step "run: ASan+UBSan"
run "asan test_c" "$OUT/asan/test_c" "$SIM"
run "asan test_too_large" "$OUT/asan/test_too_large"
run "asan test_wukong" "$OUT/asan/test_wukong" "$WKSIM"
run "asan test_wukong_cpp" "$OUT/asan/test_wukong_cpp" "$WKSIM"
run "asan test_wukong_cpp_views" "$OUT/asan/test_wukong_cpp_views" "$WKSIM"
run "asan test_cpp" "$OUT/asan/test_cpp" "$SIM"
run "asan test_compat" "$OUT/asan/test_compat" "$SIM"

step "run: valgrind memcheck"
if ! command -v valgrind >/dev/null && [ "$(id -u)" = 0 ] && [ -n "${CI:-}" ]; then
    installing "valgrind (apt, CI only), for the memcheck runs"
    apt-get install -y valgrind >/dev/null || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }
fi
if command -v valgrind >/dev/null; then
    # nouserintercepts: test_cpp replaces operator new/delete itself (to count them). No
    # suppressions: every memcheck report fails the run.
    vg() { # name, binary, args...
        local name=$1
        shift
        run "valgrind $name" valgrind -v --log-file="$OUT/valgrind_$name.vg.log" --error-exitcode=3 \
            --leak-check=full --soname-synonyms=somalloc=nouserintercepts "$@"
        grep -q 'ERROR SUMMARY: 0 errors' "$OUT/valgrind_$name.vg.log" ||
            fail "valgrind $name: errors, see $OUT/valgrind_$name.vg.log"
    }
    vg test_c "$OUT/plain/test_c" "$SIM"
    vg test_too_large "$OUT/plain/test_too_large"
    vg test_wukong "$OUT/plain/test_wukong" "$WKSIM"
    vg test_wukong_cpp "$OUT/plain/test_wukong_cpp" "$WKSIM"
    vg test_cpp "$OUT/plain/test_cpp" "$SIM"
    vg test_compat "$OUT/plain/test_compat" "$SIM"
else
    echo "SKIP: valgrind is not installed (install it, or run as root with CI set to let this script do it)"
fi

# examples/c_host.c against `gate-sim --script demo`: label, c_host options (before HOST), then
# gate-sim's options. Checks the simulator's summary and c_host's callback lines.
c_host_demo() {
    local label=$1 host_opts=$2
    shift 2
    step "run: examples/c_host.c against gate-sim --script demo $*"
    coproc GATE { exec "$SIM" --script demo "$@" 2>"$OUT/$label.gate.log"; }
    gate_pid=$GATE_PID
    read -r -t 15 line <&"${GATE[0]}" || fail "gate-sim printed no port"
    port=${line#PORT }
    # shellcheck disable=SC2086
    "$OUT/plain/c_host" $host_opts 127.0.0.1 "$port" 1000001 sim-secret 1001 2001 3001 login 30 >"$OUT/$label.out" 2>&1 &
    host_pid=$!
    result=
    read -r -t 30 result <&"${GATE[0]}" || true
    gate_rc=0
    wait "$gate_pid" || gate_rc=$?
    kill "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
    [ "$gate_rc" = 0 ] || fail "gate-sim exited $gate_rc with c_host ($result); see $OUT/$label.out"
    [ "$result" = "SCRIPT OK pushes=22 answered=21 reconnects=1" ] || fail "gate-sim said: $result"
    expect() { # count, pattern
        local got
        got=$(grep -Ec "$2" "$OUT/$label.out" || true)
        [ "$got" = "$1" ] || fail "c_host: expected $1 line(s) matching '$2', got $got (see $OUT/$label.out)"
    }
    expect 2 '^pushP2PChat '
    expect 3 '^pushGroupChat '
    expect 2 '^pushRoomChat '
    for k in P2PAudio GroupAudio RoomAudio P2PCmd GroupCmd RoomCmd P2PFile GroupFile RoomFile P2PMessage GroupMessage \
        RoomMessage; do
        expect 1 "^push$k "
    done
    expect 1 '^pushEvent pid=1000001 event=login uid=1001 time=1700000000 endpoint=127.0.0.1:40000 data=demo$'
    expect 1 '^ping$'
    expect 1 '^completed request=1 code=0 ex=$'
    expect 2 '^restored code=0$' # the first connection's, then the reconnect's
    expect 1 'connected=1 isReconnect=0$'
    expect_some() { # pattern: at least one line (the lines after the script's end race the kill)
        grep -Eq "$1" "$OUT/$label.out" || fail "c_host: no line matching '$1' (see $OUT/$label.out)"
    }
    # the mid-frame drop, with its reason and the advised retry
    expect_some '^closed endpoint=127\.0\.0\.1 causedByError=0 isReconnect=0$'
    expect_some '^disconnected endpoint=127\.0\.0\.1 reason=closed by the peer errno=0 retryInMs=[0-9]+$'
    echo "ok: c_host printed every callback; gate-sim: $result"
}
c_host_demo c_host ""
# FPNN encryption: the key gate-sim writes (PEM), stream mode, AES-256; plaintext listens refused
c_host_demo c_host_encrypted "--server-key $OUT/c_host-server.pem --stream --aes256" \
    --curve secp256r1 --private-key 0x1f2e3d4c5b6a79880123456789abcdef \
    --write-public-key "$OUT/c_host-server.pem" --force-encrypt

step "all FFI tests passed"
