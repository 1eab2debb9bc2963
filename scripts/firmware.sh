#!/usr/bin/env bash
# Bare metal, for real: builds crates/firmware for thumbv7em-none-eabihf with defmt, runs the
# scripted listener session in qemu-system-arm (mps2-an386, semihosting), decodes its log with
# defmt-print, and checks the flash and static-RAM budgets with `size`. Then the same session
# with FPNN encryption (feature `encryption`: one curve, secp256r1, and AES-CFB), whose flash
# and RAM are reported next to the plaintext figures; the plaintext binaries are checked to
# contain no crypto code at all.
#
# Works on a fresh machine: it installs the target, qemu-system-arm (apt, as root, only when
# the binary is absent) and defmt-print (cargo install) when they are missing.
#
# Exit status 0 only when every check passed. Environment:
#   FIRMWARE_FLASH_BUDGET   listener flash budget in bytes (default 24576 = 24 KiB)
#   FIRMWARE_RAM_BUDGET     static RAM budget in bytes (default 10240 = 10 KiB)
set -euo pipefail
cd "$(dirname "$0")/.."

FW=crates/firmware
TARGET=thumbv7em-none-eabihf
FLASH_BUDGET=${FIRMWARE_FLASH_BUDGET:-24576}
RAM_BUDGET=${FIRMWARE_RAM_BUDGET:-10240}
source scripts/lib.sh
# The firmware is its own workspace: its outputs are in crates/firmware/target unless
# CARGO_TARGET_DIR says otherwise.
FW_TGT=${CARGO_TARGET_DIR:-$PWD/$FW/target}
OUT=$FW_TGT/$TARGET/release
RUN=$FW_TGT/run
apt_install() {
    installing "$2 (apt), for $1"
    [ "$(id -u)" = 0 ] || fail "$1 is missing; install it (apt-get install -y $2) or run as root"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

step "firmware toolchain: target, qemu-system-arm, defmt-print"
rustup target add "$TARGET" >/dev/null
command -v qemu-system-arm >/dev/null || apt_install qemu-system-arm qemu-system-arm
if ! command -v defmt-print >/dev/null; then
    installing "defmt-print (cargo install, a few minutes), to decode the firmware's defmt log"
    cargo install defmt-print --locked
fi
# size/nm for ARM ELF: arm-none-eabi-* if present, else the host binutils when they can read
# ARM (Debian's can; tried on the first binary built), else binutils-arm-none-eabi from apt.
pick_size() {
    if command -v arm-none-eabi-size >/dev/null; then
        SIZE=arm-none-eabi-size NM=arm-none-eabi-nm
    elif command -v size >/dev/null && command -v nm >/dev/null && size -A "$1" >/dev/null 2>&1; then
        SIZE=size NM=nm
    else
        apt_install arm-none-eabi-size binutils-arm-none-eabi
        SIZE=arm-none-eabi-size NM=arm-none-eabi-nm
    fi
    echo "size: $SIZE"
}
echo "qemu: $(qemu-system-arm --version | sed -n 1p); $(defmt-print --version | sed -n 1p)"
mkdir -p "$RUN"

# The secret the firmware signs with: it must never reach the log.
SECRET=$(sed -n 's/^const SECRET: &\[u8\] = b"\(.*\)";$/\1/p' "$FW/src/main.rs")
[ -n "$SECRET" ] || fail "could not read SECRET from $FW/src/main.rs"

# Runs an ELF in qemu (60 s limit); raw defmt stream to $2.raw, decoded log to $2.log.
# Sets RC to qemu's exit status (the firmware's semihosting exit status).
run_firmware() {
    local elf=$1 name=$2
    set +e
    timeout 60 "${QEMU_M4[@]}" "$elf" >"$RUN/$name.raw" 2>"$RUN/$name.stderr"
    RC=$?
    set -e
    [ "$RC" != 124 ] || fail "$name: qemu timed out after 60 s"
    defmt-print -e "$elf" <"$RUN/$name.raw" >"$RUN/$name.log" 2>&1 \
        || { cat "$RUN/$name.log"; fail "$name: defmt-print could not decode the log"; }
}

secret_in() { grep -aqF "$SECRET" "$RUN/$1.raw" "$RUN/$1.log"; }

# The checks on a session run (run_firmware NAME first), plaintext or encrypted: exit 0, the
# success line, no error, exactly the one engine warning the script provokes, the engine's
# events decoded through their derived defmt::Format, and no secret in the log.
check_session() { # name
    local name=$1 log=$RUN/$1.log unexpected_warn
    [ "$RC" = 0 ] || fail "$name: the firmware exited with status $RC"
    grep -q "INFO  firmware: all checks passed" "$log" || fail "$name: no success line in the decoded log"
    if grep -q "ERROR" "$log"; then fail "$name: errors in the log"; fi
    # The session sends one unknown method on purpose: the engine's warning for it is the only
    # warning allowed.
    unexpected_warn=$(grep "WARN " "$log" | grep -v "WARN  bad push: unknown method" || true)
    [ -z "$unexpected_warn" ] || fail "$name: unexpected warnings in the log: $unexpected_warn"
    [ "$(grep -c "WARN  bad push: unknown method" "$log")" = 1 ] \
        || fail "$name: expected exactly one engine warning for the unknown method"
    # The engine's public types derive defmt::Format: events decode with their fields.
    grep -q "event Message(MessageEvent { message: Message { target: P2P" "$log" \
        || fail "$name: no derived-Format event line in the decoded log"
    grep -q "event PushEvent(Event { pid: 80000071" "$log" \
        || fail "$name: no derived-Format pushevent line in the decoded log"
    if secret_in "$name"; then fail "$name: the secret appears in the log"; fi
    echo "ok: exit 0, success line, derived defmt::Format lines decoded, secret absent from the log"
}

# Prints a run's log without its DEBUG lines (one per event), and how many there were.
show_log() { # name
    grep -v " DEBUG " "$RUN/$1.log" || true
    echo "($(grep -c " DEBUG " "$RUN/$1.log" || true) DEBUG lines, one per event, in $RUN/$1.log)"
}

step "negative control: a broken expectation must exit 1 with a defmt error; a logged secret must be found"
(cd "$FW" && DEFMT_LOG=debug cargo build --release --bin rtm-listen-firmware --features negative-control)
cp "$OUT/rtm-listen-firmware" "$RUN/negative-control.elf"
run_firmware "$RUN/negative-control.elf" negative-control
[ "$RC" = 1 ] || { cat "$RUN/negative-control.log"; fail "negative control exited $RC, expected 1"; }
grep -q "ERROR" "$RUN/negative-control.log" || fail "negative control: no defmt ERROR line"
grep -q "all checks passed" "$RUN/negative-control.log" && fail "negative control: claims success"
secret_in negative-control || fail "negative control: the logged secret was not found; the secret check is blind"
echo "ok: exit 1, $(grep -m1 ERROR "$RUN/negative-control.log")"
echo "ok: the secret check finds a leaked secret"

step "build: session firmware and budget binaries (release, opt-level z, LTO), DEFMT_LOG=debug"
start=$(date +%s)
(cd "$FW" && DEFMT_LOG=debug cargo build --release)
echo "built in $(($(date +%s) - start)) s"
ELF=$OUT/rtm-listen-firmware
pick_size "$ELF"
"$SIZE" -A "$ELF" >/dev/null || fail "$SIZE cannot read the ARM ELF"

step "run: the scripted session in qemu-system-arm (mps2-an386, semihosting)"
start=$(date +%s%N)
run_firmware "$ELF" session
echo "qemu: exit status $RC in $((($(date +%s%N) - start) / 1000000)) ms; raw defmt stream $(wc -c <"$RUN/session.raw") bytes"
show_log session
check_session session

for b in budget-listener budget-baseline; do
    run_firmware "$OUT/$b" "$b"
    [ "$RC" = 0 ] || { cat "$RUN/$b.log"; fail "$b exited with status $RC"; }
done

step "build: the encrypted session firmware and budget build (feature encryption: secp256r1, AES-CFB)"
# Their own invocation: the feature turns on rtm-listen's crypto for what this command builds
# only, so the plaintext binaries above stay free of it (checked below).
start=$(date +%s)
(cd "$FW" && DEFMT_LOG=debug cargo build --release --features encryption \
    --bin rtm-listen-firmware-enc --bin budget-listener-enc)
echo "built in $(($(date +%s) - start)) s"
ELF_ENC=$OUT/rtm-listen-firmware-enc LE=$OUT/budget-listener-enc

step "run: the encrypted session in qemu-system-arm (key exchange, package mode + AES-128; reconnection, stream mode + AES-256)"
start=$(date +%s%N)
run_firmware "$ELF_ENC" session-enc
echo "qemu: exit status $RC in $((($(date +%s%N) - start) / 1000000)) ms; raw defmt stream $(wc -c <"$RUN/session-enc.raw") bytes"
show_log session-enc
check_session session-enc
grep -q "INFO  crypto: P-256 keys, shared secret, IV and AES-128/256-CFB match OpenSSL's known answers" \
    "$RUN/session-enc.log" || fail "session-enc: no known-answer line"
grep -q "INFO  connect: key exchange 1 done (Package mode, AES-128)" "$RUN/session-enc.log" \
    || fail "session-enc: no key exchange on the first connection"
grep -q "INFO  reconnect: key exchange 2 done (Stream mode, AES-256)" "$RUN/session-enc.log" \
    || fail "session-enc: no key exchange on the reconnection"
grep -q "key_exchanges: 2, key_exchange_failures: 0 }" "$RUN/session-enc.log" \
    || fail "session-enc: the final stats do not count two key exchanges"
echo "ok: OpenSSL known answers, two key exchanges (package/AES-128, stream/AES-256), every plaintext check"
run_firmware "$LE" budget-listener-enc
[ "$RC" = 0 ] || { cat "$RUN/budget-listener-enc.log"; fail "budget-listener-enc exited with status $RC"; }

step "budgets: size -A of the budget binaries (same runtime and driver, with and without the listener)"
# section SIZE of ELF (0 when absent)
sec() { "$SIZE" -A "$1" | awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }'; }
flash() { echo $(($(sec "$1" .vector_table) + $(sec "$1" .text) + $(sec "$1" .rodata) + $(sec "$1" .data))); }
ram() { echo $(($(sec "$1" .data) + $(sec "$1" .bss))); }
L=$OUT/budget-listener B=$OUT/budget-baseline
printf '%-24s %8s %8s %8s %8s %8s %8s\n' binary .text .rodata .data .bss flash ram
for f in "$L" "$B" "$ELF" "$LE" "$ELF_ENC"; do
    printf '%-24s %8d %8d %8d %8d %8d %8d\n' "$(basename "$f")" "$(sec "$f" .text)" \
        "$(sec "$f" .rodata)" "$(sec "$f" .data)" "$(sec "$f" .bss)" "$(flash "$f")" "$(ram "$f")"
done
d_text=$(($(sec "$L" .text) - $(sec "$B" .text)))
d_rodata=$(($(sec "$L" .rodata) - $(sec "$B" .rodata)))
d_data=$(($(sec "$L" .data) - $(sec "$B" .data)))
d_bss=$(($(sec "$L" .bss) - $(sec "$B" .bss)))
d_flash=$(($(flash "$L") - $(flash "$B")))
d_ram=$(($(ram "$L") - $(ram "$B")))
session_ram=$(ram "$ELF")
# The listener's storage (the singleton! static) and its size as the firmware reports it.
storage=$("$NM" -S -C -t d "$L" | awk '/^[0-9]+ [0-9]+ [bBdD] budget_listener::.*::VAR$/ && !f { print $2 + 0; f = 1 }')
listener_size=$(sed -n 's/.*Listener<4096, 1024> is \([0-9]*\) bytes.*/\1/p' "$RUN/session.log")
echo
echo "listener (budget-listener minus budget-baseline):"
echo "  .text ${d_text}  .rodata ${d_rodata}  .data ${d_data}  => flash ${d_flash} bytes (budget ${FLASH_BUDGET})"
echo "  .data + .bss ${d_ram} bytes of static RAM, of which the Listener static ${storage:-?}"
echo "  size_of::<Listener<4096, 1024>>() = ${listener_size:-?}: RX 4096 + TX 1024 + engine state $((${listener_size:-0} - 5120))"
echo "session firmware static RAM in total (.data + .bss, runtime included): ${session_ram} bytes (budget ${RAM_BUDGET})"
grep -o "init: .*\|stack: .*" "$RUN/session.log" | sed 's/^/  /'
# The session firmware's listener is a plain static of Listener::unconfigured(): in .bss only
# while that value is all zero bytes (a non-zero byte moves all 9 KB into .data and flash).
kind=$("$NM" -C "$ELF" | awk '$3 == "rtm_listen_firmware::LISTENER" { print $2 }')
case $kind in
    b | B) echo "ok: the listener static is in .bss (Listener::unconfigured() is all zero bytes)" ;;
    *) fail "the session firmware's LISTENER static is not in .bss (nm: '$kind')" ;;
esac

# The same with FPNN encryption: budget-listener-enc (the listener with encryption set up:
# the server key from raw X || Y, set_encryption, add_entropy) minus the same baseline.
e_text=$(($(sec "$LE" .text) - $(sec "$B" .text)))
e_rodata=$(($(sec "$LE" .rodata) - $(sec "$B" .rodata)))
e_data=$(($(sec "$LE" .data) - $(sec "$B" .data)))
e_flash=$(($(flash "$LE") - $(flash "$B")))
e_ram=$(($(ram "$LE") - $(ram "$B")))
session_ram_enc=$(ram "$ELF_ENC")
listener_size_enc=$(sed -n 's/.*Listener<4096, 1024> is \([0-9]*\) bytes.*/\1/p' "$RUN/session-enc.log")
echo
echo "listener with FPNN encryption (budget-listener-enc minus budget-baseline; secp256r1, AES-CFB, both modes and key sizes):"
echo "  .text ${e_text}  .rodata ${e_rodata}  .data ${e_data}  => flash ${e_flash} bytes ($((e_flash - d_flash)) more than the plaintext listener; reported, not budgeted)"
echo "  .data + .bss ${e_ram} bytes of static RAM ($((e_ram - d_ram)) more)"
echo "  size_of::<Listener<4096, 1024>>() = ${listener_size_enc:-?} ($((${listener_size_enc:-0} - ${listener_size:-0})) more: the encryption configuration, key generator and both ciphers)"
echo "encrypted session firmware static RAM in total: ${session_ram_enc} bytes"
grep -o "init: .*\|stack: .*\|encryption on for .*\|connect: key exchange.*\|reconnect: key exchange.*" \
    "$RUN/session-enc.log" | sed 's/^/  /'
kind=$("$NM" -C "$ELF_ENC" | awk '$3 == "rtm_listen_firmware_enc::session::LISTENER" { print $2 }')
case $kind in
    b | B) echo "ok: the encrypted listener static is in .bss too (Listener::unconfigured() is all zero bytes with the encryption feature)" ;;
    *) fail "the encrypted session firmware's LISTENER static is not in .bss (nm: '$kind')" ;;
esac

step "no crypto in the plaintext binaries (nm: no aes, sha2, p256, elliptic-curve or engine crypto symbols)"
# Demangled symbols of the crypto crates and of the engine's encryption code; the encrypted
# binaries must have them (or the check is blind), the plaintext ones none.
CRYPTO_RE='(^|[ <])(aes|sha2|p256|k256|p224|p192|primeorder|crypto_bigint|elliptic_curve|rtm_listen::crypto|rtm_listen::session::encryption)::|start_key_exchange'
crypto_symbols() { "$NM" -C "$1" | grep -cE "$CRYPTO_RE" || true; }
for f in "$LE" "$ELF_ENC"; do
    n=$(crypto_symbols "$f")
    [ "$n" -gt 0 ] || fail "$(basename "$f") has no crypto symbols: the check is blind"
    echo "  $(basename "$f"): $n crypto symbols (control)"
done
for f in "$L" "$B" "$ELF"; do
    n=$(crypto_symbols "$f")
    if [ "$n" != 0 ]; then
        "$NM" -C "$f" | grep -E "$CRYPTO_RE" | head -5
        fail "$(basename "$f") contains $n crypto symbols"
    fi
    echo "ok: $(basename "$f"): no crypto symbols"
done

# .text by crate of an ELF (demangled symbol paths; inlined code counts where it lands).
by_crate() {
    "$NM" -S -C -t d --size-sort "$1" | awk '
        $3 ~ /^[tT]$/ {
            name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            sub(/^<+/, "", name); sub(/^&(mut )?/, "", name)
            crate = name; sub(/(::| ).*/, "", crate)
            sum[crate] += $2; total += $2
        }
        END { for (c in sum) printf "  %7d  %s\n", sum[c], c; printf "  %7d  total .text symbols\n", total }
    ' | sort -rn | sed -n "1,${2}p"
}
step "breakdown: budget-listener .text by crate (demangled symbol paths; inlined code counts where it lands)"
by_crate "$L" 14
echo "largest functions:"
"$NM" -S -C -t d --size-sort "$L" | awk '$3 ~ /^[tT]$/' | tail -12 \
    | awk '{ name = $4; for (i = 5; i <= NF; i++) name = name " " $i; printf "  %7d  %s\n", $2, name }' | sort -rn
echo "budget-listener-enc .text by crate:"
by_crate "$LE" 16

step "budget checks"
ok=1
if [ "$d_flash" -le "$FLASH_BUDGET" ]; then
    echo "ok: listener flash ${d_flash} <= ${FLASH_BUDGET}"
else
    echo "FAIL: listener flash ${d_flash} bytes exceeds the budget of ${FLASH_BUDGET} (by $((d_flash - FLASH_BUDGET)))" >&2
    ok=0
fi
if [ "$session_ram" -le "$RAM_BUDGET" ] && [ "$d_ram" -le "$RAM_BUDGET" ]; then
    echo "ok: static RAM ${session_ram} (session firmware) and ${d_ram} (listener) <= ${RAM_BUDGET}"
else
    echo "FAIL: static RAM ${session_ram} (session firmware) / ${d_ram} (listener) exceeds the budget of ${RAM_BUDGET}" >&2
    ok=0
fi
echo "encrypted listener (reported, no budget): flash ${e_flash}, static RAM ${e_ram} (session firmware ${session_ram_enc})"
[ "$ok" = 1 ] || exit 1
echo "firmware: all checks passed"
