#!/usr/bin/env bash
# The C ABI on bare metal: builds librtm_listen.a for thumbv7em-none-eabihf, links it into
# ffi-tests/test_c.c (-DRTM_TEST_BAREMETAL: every test but the loopback TCP session) with
# arm-none-eabi-gcc and newlib over semihosting, and runs it on a Cortex-M4 in qemu-system-arm
# (mps2-an386). The library's allocator references are wrapped and counted as on the host.
#
# Needs arm-none-eabi-gcc with newlib and qemu-system-arm (.ci/run installs them:
# apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm).
# Exit status 0 only when the negative control fails as it must and every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET=thumbv7em-none-eabihf
LIB=$TGT/$TARGET/release/librtm_listen.a
OUT=$TGT/ffi-baremetal
CC=arm-none-eabi-gcc
ARCH=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
CFLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -g -Iinclude -DRTM_TEST_BAREMETAL)
# newlib has no posix_memalign, and its aligned_alloc calls one (ffi-tests/alloc_count.c).
WRAP=-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=memalign
LDFLAGS=(--specs=rdimon.specs -T ffi-tests/baremetal/m4.ld -Wl,--no-warn-rwx-segments,--no-warn-execstack)

step "toolchain"
command -v "$CC" >/dev/null || fail "$CC not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
command -v qemu-system-arm >/dev/null || fail "qemu-system-arm not found (apt-get install qemu-system-arm)"
rustup target add "$TARGET" >/dev/null
echo "$($CC --version | head -1); $(qemu-system-arm --version | head -1)"

step "build: librtm_listen.a for $TARGET"
cargo build --release -p rtm-listen-ffi --target "$TARGET"
mkdir -p "$OUT"

# Runs an ELF in qemu with a time limit; prints its output; returns its exit status.
run() {
    local status=0
    timeout 120 "${QEMU_M4[@]}" "$1" >"$1.log" 2>&1 || status=$?
    cat "$1.log"
    return "$status"
}

step "negative control: a failing check must give exit status 1"
printf '#include <stdint.h>\n#include <stdio.h>\n#include "check.h"\nint main(void) {\n    CHECK_EQ(1, 2);\n    return check_summary();\n}\n' \
    >"$OUT/control.c"
"$CC" "${ARCH[@]}" "${CFLAGS[@]}" -Iffi-tests "${LDFLAGS[@]}" ffi-tests/baremetal/m4_start.c \
    "$OUT/control.c" -o "$OUT/control.elf"
status=0
run "$OUT/control.elf" || status=$?
[ "$status" = 1 ] || fail "the negative control exited with $status, not 1: exit statuses do not propagate"
grep -q "0 passed, 1 failed" "$OUT/control.elf.log" || fail "the negative control's summary is missing"
echo "ok: exit 1 and a failed check reported"

step "compile and link ffi-tests/test_c.c for the Cortex-M4 ($CC, -Werror)"
"$CC" "${ARCH[@]}" "${CFLAGS[@]}" "${LDFLAGS[@]}" ffi-tests/baremetal/m4_start.c ffi-tests/test_c.c \
    ffi-tests/alloc_count.c "$LIB" "$WRAP" -o "$OUT/test_c.elf"
arm-none-eabi-size "$OUT/test_c.elf"

step "run in qemu-system-arm (mps2-an386, semihosting)"
run "$OUT/test_c.elf" || fail "test_c on the Cortex-M4 exited with status $?"
grep -Eq '^[0-9]{3,} passed, 0 failed$' "$OUT/test_c.elf.log" || fail "no clean summary line"
echo "ffi bare metal: all checks passed"
